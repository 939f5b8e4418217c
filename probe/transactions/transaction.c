/* transaction: result bookkeeping shared by every transaction type (see transaction.h). */
#include "transactions/transaction.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"

void txn_result_init(struct txn_result *r, const char *name, const char *target, const char *type,
                     const char *protocol)
{
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->target, sizeof r->target, "%s", target);
	r->type = type;
	r->protocol = protocol;
	r->started = time(NULL);
	r->start_us = clock_now_us();
	r->status = TXN_OK;
	r->result = RESULT_OK;
}

size_t txn_step_begin(struct txn_result *r, const char *name)
{
	size_t i = r->n_steps < TXN_MAX_STEPS ? r->n_steps++ : TXN_MAX_STEPS - 1;
	struct txn_step_record *s = &r->steps[i];

	memset(s, 0, sizeof *s);
	s->name = name;
	s->start_us = clock_now_us() - r->start_us;
	return i;
}

void txn_step_end(struct txn_result *r, size_t i, enum txn_status status, const char *fmt, ...)
{
	struct txn_step_record *s = &r->steps[i < TXN_MAX_STEPS ? i : TXN_MAX_STEPS - 1];
	va_list ap;

	if (s->finished)
		return;
	s->duration_us = clock_now_us() - r->start_us - s->start_us;
	s->status = status;
	s->finished = true;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(s->detail, sizeof s->detail, fmt, ap);
		va_end(ap);
	}
}

void txn_result_finding(struct txn_result *r, enum txn_status status, const char *fmt, ...)
{
	struct txn_finding *f;
	va_list ap;

	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].status == status)
			return;
	if (r->n_findings == TXN_MAX_FINDINGS)
		return;
	f = &r->findings[r->n_findings++];
	f->status = status;
	f->detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(f->detail, sizeof f->detail, fmt, ap);
		va_end(ap);
	}
}

void txn_result_fail(struct txn_result *r, enum txn_status status, const char *fmt, ...)
{
	va_list ap;

	if (r->status != TXN_OK || status == TXN_OK)
		return;
	r->status = status;
	r->status_detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(r->status_detail, sizeof r->status_detail, fmt, ap);
		va_end(ap);
	}
}

void txn_result_fact(struct txn_result *r, const char *key, const char *fmt, ...)
{
	struct txn_fact *f = NULL;
	va_list ap;

	for (size_t i = 0; i < r->n_facts; i++)
		if (strcmp(r->facts[i].key, key) == 0)
			f = &r->facts[i];
	if (f == NULL) {
		if (r->n_facts == TXN_MAX_FACTS)
			return;
		f = &r->facts[r->n_facts++];
		snprintf(f->key, sizeof f->key, "%s", key);
	}
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof f->value, fmt, ap);
	va_end(ap);
}

const char *txn_result_get_fact(const struct txn_result *r, const char *key)
{
	for (size_t i = 0; i < r->n_facts; i++)
		if (strcmp(r->facts[i].key, key) == 0)
			return r->facts[i].value;
	return NULL;
}

enum txn_status txn_result_reason(const struct txn_result *r, const char **detail)
{
	if (r->status == TXN_OK) {
		for (size_t i = 0; i < r->n_findings; i++)
			if (txn_status_result(r->findings[i].status) == r->result) {
				if (detail != NULL)
					*detail = r->findings[i].detail;
				return r->findings[i].status;
			}
	}
	if (detail != NULL)
		*detail = r->status_detail;
	return r->status;
}

void txn_result_finish(struct txn_result *r)
{
	enum result_class worst = txn_status_result(r->status);

	for (size_t i = 0; i < r->n_steps; i++)
		if (!r->steps[i].finished)
			txn_step_end(r, i, r->status == TXN_OK ? TXN_PROBE_INTERNAL : r->status,
			             NULL);
	for (size_t i = 0; i < r->n_findings; i++) {
		enum result_class c = txn_status_result(r->findings[i].status);
		if (c > worst)
			worst = c;
	}
	r->result = worst;
	r->duration_us = clock_now_us() - r->start_us;
}
