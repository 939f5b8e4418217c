/*
 * transaction: what every synthetic transaction produces — one primary status (the
 * failure that ended it, or TXN_OK), findings that do not end it (weak algorithms,
 * capability changes), per-step timings and facts for the report. Protocol code fills
 * a txn_result; report.c renders it; later the state module consumes it.
 */
#ifndef CERTPROBE_TRANSACTION_H
#define CERTPROBE_TRANSACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "transactions/transaction_status.h"

/* What a step function returns (HAProxy tcpcheck_eval_ret). */
enum step_ret {
	STEP_CONTINUE, /* go on with the next step now */
	STEP_WAIT,     /* an I/O or timer callback resumes the machine */
	STEP_DONE,     /* finished; the result is final */
};

#define TXN_MAX_STEPS 32
#define TXN_MAX_FINDINGS 8
#define TXN_MAX_FACTS 24
#define TXN_DETAIL_LEN 240

struct txn_step_record {
	const char *name;  /* static string */
	uint64_t start_us; /* offset from the transaction start */
	uint64_t duration_us;
	enum txn_status status;
	bool finished;
	char detail[TXN_DETAIL_LEN];
};

struct txn_finding {
	enum txn_status status;
	char detail[TXN_DETAIL_LEN];
};

struct txn_fact {
	char key[32];
	char value[TXN_DETAIL_LEN];
};

struct txn_result {
	char name[80];
	char target[256];
	const char *type;     /* "enrollment" */
	const char *protocol; /* "scep" */
	time_t started;       /* wall clock, for the report */
	uint64_t start_us;    /* monotonic */
	uint64_t duration_us;
	enum txn_status status;             /* TXN_OK or the failure that ended it */
	char status_detail[TXN_DETAIL_LEN]; /* context of status: "failInfo 2: ..." */
	enum result_class result;           /* worst of status and findings */
	struct txn_step_record steps[TXN_MAX_STEPS];
	size_t n_steps;
	struct txn_finding findings[TXN_MAX_FINDINGS];
	size_t n_findings;
	struct txn_fact facts[TXN_MAX_FACTS];
	size_t n_facts;
};

void txn_result_init(struct txn_result *r, const char *name, const char *target, const char *type,
                     const char *protocol);

/* Open a step; returns its index. Steps past TXN_MAX_STEPS share the last slot. */
size_t txn_step_begin(struct txn_result *r, const char *name);
/* Close step i with a status and an optional detail (printf format). */
void txn_step_end(struct txn_result *r, size_t i, enum txn_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a non-fatal finding (WARNING class) once per status. */
void txn_result_finding(struct txn_result *r, enum txn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the primary failure; the first one wins (later calls are ignored). */
void txn_result_fail(struct txn_result *r, enum txn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fact for the report ("caps", "cipher", "issued_serial", ...); a key set twice is replaced. */
void txn_result_fact(struct txn_result *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *txn_result_get_fact(const struct txn_result *r, const char *key);

/*
 * The status that explains the result class: the primary status when it failed, else
 * the first finding of the result's class (a working transaction with a WARNING). The
 * detail that goes with it is stored in *detail when detail is not NULL.
 */
enum txn_status txn_result_reason(const struct txn_result *r, const char **detail);

/*
 * The static string for a step name ("tls_handshake"), for results read back from a
 * file whose strings do not live on; "other" for a name no transaction records.
 */
const char *txn_step_name_intern(const char *name);

/* Close any open step as failed with the primary status, compute duration and result. */
void txn_result_finish(struct txn_result *r);

#endif
