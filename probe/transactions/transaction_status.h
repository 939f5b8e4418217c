/*
 * transaction_status: the one status taxonomy. Every failure class of every
 * transaction is one enum value with one row (result class, short code, what went
 * wrong, what to do). The report, logs, metric labels, SNMP enums and plugin text
 * all read that row; nothing else spells a status.
 */
#ifndef CERTPROBE_TRANSACTION_STATUS_H
#define CERTPROBE_TRANSACTION_STATUS_H

/* Ordered by severity so that "worst wins" is a max(); values are Nagios exit codes. */
enum result_class {
	RESULT_OK = 0,
	RESULT_WARNING = 1,
	RESULT_CRITICAL = 2,
	RESULT_UNKNOWN = 3,
};

enum txn_status {
	TXN_OK = 0,

	/* the probe itself: UNKNOWN, the target is not to blame */
	TXN_PROBE_INTERNAL,
	TXN_PROBE_SECRET_UNAVAILABLE,
	TXN_PROBE_KEY_FAILED,
	TXN_PROBE_STATE_WRITE,

	/* transport */
	TXN_TIMEOUT,
	TXN_DNS_NO_ANSWER,
	TXN_TCP_REFUSED,
	TXN_TCP_UNREACHABLE,
	TXN_TCP_ERROR,
	TXN_TLS_HANDSHAKE,
	TXN_TLS_CHAIN_INCOMPLETE,
	TXN_TLS_UNTRUSTED_ROOT,
	TXN_TLS_CERT_EXPIRED,
	TXN_TLS_CERT_NOT_YET_VALID,
	TXN_TLS_NAME_MISMATCH,
	TXN_TLS_VERIFY_FAILED,
	TXN_HTTP_PROTOCOL,
	TXN_HTTP_NOT_FOUND,
	TXN_HTTP_QUERY_TOO_LONG,
	TXN_HTTP_METHOD_REJECTED,
	TXN_HTTP_AUTH_REJECTED,
	TXN_HTTP_SERVER_ERROR,
	TXN_HTTP_STATUS,
	TXN_RESPONSE_TOO_LARGE,
	TXN_RESPONSE_TRUNCATED,

	/* NDES one-time challenge page */
	TXN_NDES_PASSWORD_CACHE_FULL,
	TXN_NDES_NO_PERMISSION,
	TXN_NDES_PAGE_UNRECOGNISED,

	/* SCEP: CA and its capabilities */
	TXN_SCEP_CAPS_MISSING,
	TXN_SCEP_CAPS_CHANGED,
	TXN_SCEP_CACERT_MALFORMED,
	TXN_SCEP_CA_PIN_MISMATCH,
	TXN_SCEP_CA_EXPIRED,
	TXN_SCEP_CA_EXPIRING,
	TXN_SCEP_RA_CHAIN_INVALID,
	TXN_SCEP_GET_TOO_LONG,
	TXN_SCEP_RENEWAL_UNSUPPORTED,

	/* SCEP: the CertRep */
	TXN_SCEP_CERTREP_CONTENT_TYPE,
	TXN_SCEP_CERTREP_MALFORMED,
	TXN_SCEP_CERTREP_UNSIGNED,
	TXN_SCEP_CERTREP_SIGNATURE,
	TXN_SCEP_MESSAGE_TYPE_MISMATCH,
	TXN_SCEP_TRANSACTION_ID_MISMATCH,
	TXN_SCEP_RECIPIENT_NONCE_MISMATCH,
	TXN_SCEP_DECRYPT_FAILED,
	TXN_SCEP_WEAK_CIPHER,
	TXN_SCEP_WEAK_DIGEST,
	TXN_SCEP_FAILURE_BAD_ALG,
	TXN_SCEP_FAILURE_BAD_MESSAGE_CHECK,
	TXN_SCEP_FAILURE_BAD_REQUEST,
	TXN_SCEP_FAILURE_BAD_TIME,
	TXN_SCEP_FAILURE_BAD_CERT_ID,
	TXN_SCEP_FAILURE_OTHER,
	TXN_SCEP_PENDING_TIMEOUT,
	TXN_SCEP_PENDING,

	/* SCEP: the issued certificate */
	TXN_SCEP_ISSUED_MISSING,
	TXN_SCEP_ISSUED_KEY_MISMATCH,
	TXN_SCEP_ISSUED_UNTRUSTED,
	TXN_SCEP_ISSUED_VALIDITY,
	TXN_SCEP_ISSUED_SUBJECT_MISMATCH,
	TXN_SCEP_ISSUED_EXPIRING,

	/* client-auth: discovery, our certificate, the server's certificate */
	TXN_DISCOVERY_NO_RECORD,
	TXN_CLIENT_CERT_UNAVAILABLE,
	TXN_CLIENT_CERT_REQUIRED,
	TXN_CLIENT_CERT_REJECTED,
	TXN_CLIENT_CERT_EXPIRED,
	TXN_CLIENT_CERT_UNTRUSTED,
	TXN_CLIENT_CERT_EXPIRING,
	TXN_TLS_SELF_SIGNED,
	TXN_TLS_CERT_EXPIRING,

	/* client-auth: the registrar's SIP answer */
	TXN_REGISTRAR_CLOSED,
	TXN_REGISTRAR_PROTOCOL,
	TXN_REGISTRAR_REDIRECT,
	TXN_REGISTRAR_UNAUTHORIZED,
	TXN_REGISTRAR_TLS_DSK_REQUIRED,
	TXN_REGISTRAR_AUTH_REJECTED,
	TXN_REGISTRAR_USER_NOT_FOUND,
	TXN_REGISTRAR_REQUEST_TIMEOUT,
	TXN_REGISTRAR_USER_UNAVAILABLE,
	TXN_REGISTRAR_UNAVAILABLE,
	TXN_REGISTRAR_SERVER_TIMEOUT,
	TXN_REGISTRAR_STATUS,
	TXN_REGISTRAR_UNREGISTER_FAILED,

	/* thresholds (warn:) */
	TXN_STEP_SLOW,

	TXN_STATUS_COUNT
};

struct txn_status_info {
	enum result_class result;
	const char *code;        /* stable snake_case id: metric label, JSON, SNMP enum label */
	const char *description; /* the Error line: what went wrong, in the seeds' terms */
	const char *action;      /* the Diagnosis line: what a person should check */
};

/* The row of status s; never NULL (an out-of-range value maps to TXN_PROBE_INTERNAL). */
const struct txn_status_info *txn_status_info(enum txn_status s);
const char *txn_status_code(enum txn_status s);
enum result_class txn_status_result(enum txn_status s);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" */
const char *result_class_name(enum result_class r);
/* The inverse of result_class_name(): 0, or -1 when s names no class. */
int result_class_parse(const char *s, enum result_class *out);

#endif
