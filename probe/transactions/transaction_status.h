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

/*
 * Every status has a fixed number: it becomes the SNMP enumeration and is kept in
 * state files, so a number is never changed or reused. A new status is appended at
 * the end with the next number, whatever its layer (TXN_STATUS_COUNT follows the
 * last one; the table's _Static_assert catches a number above it). Gaps are
 * allowed: a retired status leaves its number unused (no row: it reads as
 * probe_internal) and tests/unit/test_transaction_status.c, whose golden list pins
 * every number to its code, lists it as retired.
 */
enum txn_status {
	TXN_OK = 0,

	/* the probe itself: UNKNOWN, the target is not to blame */
	TXN_PROBE_INTERNAL = 1,
	TXN_PROBE_SECRET_UNAVAILABLE = 2,
	TXN_PROBE_KEY_FAILED = 3,
	TXN_PROBE_STATE_WRITE = 4,

	/* transport */
	TXN_TIMEOUT = 5,
	TXN_DNS_NO_ANSWER = 6,
	TXN_TCP_REFUSED = 7,
	TXN_TCP_UNREACHABLE = 8,
	TXN_TCP_ERROR = 9,
	TXN_TLS_HANDSHAKE = 10,
	TXN_TLS_CHAIN_INCOMPLETE = 11,
	TXN_TLS_UNTRUSTED_ROOT = 12,
	TXN_TLS_CERT_EXPIRED = 13,
	TXN_TLS_CERT_NOT_YET_VALID = 14,
	TXN_TLS_NAME_MISMATCH = 15,
	TXN_TLS_VERIFY_FAILED = 16,
	TXN_HTTP_PROTOCOL = 17,
	TXN_HTTP_NOT_FOUND = 18,
	TXN_HTTP_QUERY_TOO_LONG = 19,
	TXN_HTTP_METHOD_REJECTED = 20,
	TXN_HTTP_AUTH_REJECTED = 21,
	TXN_HTTP_SERVER_ERROR = 22,
	TXN_HTTP_STATUS = 23,
	TXN_RESPONSE_TOO_LARGE = 24,
	TXN_RESPONSE_TRUNCATED = 25,

	/* NDES one-time challenge page */
	TXN_NDES_PASSWORD_CACHE_FULL = 26,
	TXN_NDES_NO_PERMISSION = 27,
	TXN_NDES_PAGE_UNRECOGNISED = 28,

	/* SCEP: CA and its capabilities */
	TXN_SCEP_CAPS_MISSING = 29,
	TXN_SCEP_CAPS_CHANGED = 30,
	TXN_SCEP_CACERT_MALFORMED = 31,
	TXN_SCEP_CA_PIN_MISMATCH = 32,
	TXN_SCEP_CA_EXPIRED = 33,
	TXN_SCEP_CA_EXPIRING = 34,
	TXN_SCEP_RA_CHAIN_INVALID = 35,
	TXN_SCEP_GET_TOO_LONG = 36,
	TXN_SCEP_RENEWAL_UNSUPPORTED = 37,

	/* SCEP: the CertRep */
	TXN_SCEP_CERTREP_CONTENT_TYPE = 38,
	TXN_SCEP_CERTREP_MALFORMED = 39,
	TXN_SCEP_CERTREP_UNSIGNED = 40,
	TXN_SCEP_CERTREP_SIGNATURE = 41,
	TXN_SCEP_MESSAGE_TYPE_MISMATCH = 42,
	TXN_SCEP_TRANSACTION_ID_MISMATCH = 43,
	TXN_SCEP_RECIPIENT_NONCE_MISMATCH = 44,
	TXN_SCEP_DECRYPT_FAILED = 45,
	TXN_SCEP_WEAK_CIPHER = 46,
	TXN_SCEP_WEAK_DIGEST = 47,
	TXN_SCEP_FAILURE_BAD_ALG = 48,
	TXN_SCEP_FAILURE_BAD_MESSAGE_CHECK = 49,
	TXN_SCEP_FAILURE_BAD_REQUEST = 50,
	TXN_SCEP_FAILURE_BAD_TIME = 51,
	TXN_SCEP_FAILURE_BAD_CERT_ID = 52,
	TXN_SCEP_FAILURE_OTHER = 53,
	TXN_SCEP_PENDING_TIMEOUT = 54,
	TXN_SCEP_PENDING = 55,

	/* SCEP: the issued certificate */
	TXN_SCEP_ISSUED_MISSING = 56,
	TXN_SCEP_ISSUED_KEY_MISMATCH = 57,
	TXN_SCEP_ISSUED_UNTRUSTED = 58,
	TXN_SCEP_ISSUED_VALIDITY = 59,
	TXN_SCEP_ISSUED_SUBJECT_MISMATCH = 60,
	TXN_SCEP_ISSUED_EXPIRING = 61,

	/* client-auth: discovery, our certificate, the server's certificate */
	TXN_DISCOVERY_NO_RECORD = 62,
	TXN_CLIENT_CERT_UNAVAILABLE = 63,
	TXN_CLIENT_CERT_REQUIRED = 64,
	TXN_CLIENT_CERT_REJECTED = 65,
	TXN_CLIENT_CERT_EXPIRED = 66,
	TXN_CLIENT_CERT_UNTRUSTED = 67,
	TXN_CLIENT_CERT_EXPIRING = 68,
	TXN_TLS_SELF_SIGNED = 69,
	TXN_TLS_CERT_EXPIRING = 70,

	/* client-auth: the registrar's SIP answer */
	TXN_REGISTRAR_CLOSED = 71,
	TXN_REGISTRAR_PROTOCOL = 72,
	TXN_REGISTRAR_REDIRECT = 73,
	TXN_REGISTRAR_UNAUTHORIZED = 74,
	TXN_REGISTRAR_TLS_DSK_REQUIRED = 75,
	TXN_REGISTRAR_AUTH_REJECTED = 76,
	TXN_REGISTRAR_USER_NOT_FOUND = 77,
	TXN_REGISTRAR_REQUEST_TIMEOUT = 78,
	TXN_REGISTRAR_USER_UNAVAILABLE = 79,
	TXN_REGISTRAR_UNAVAILABLE = 80,
	TXN_REGISTRAR_SERVER_TIMEOUT = 81,
	TXN_REGISTRAR_STATUS = 82,
	TXN_REGISTRAR_UNREGISTER_FAILED = 83,

	/* thresholds (warn:) */
	TXN_STEP_SLOW = 84,

	/* files the probe is configured with (trust store, certificate, key): its own side */
	TXN_PROBE_FILE_NOT_REGULAR = 85,
	TXN_PROBE_FILE_TOO_LARGE = 86,
	TXN_PROBE_FILE_UNREADABLE = 87,

	/* phone-bootstrap: DHCP discovery (INFORM with vendor class MS-UC-Client, 43 + 120) */
	TXN_DHCP_NO_RESPONSE = 88,
	TXN_DHCP_OPT43_MISSING = 89,
	TXN_DHCP_OPT43_TRUNCATED = 90,
	TXN_DHCP_OPT43_MALFORMED = 91,
	TXN_DHCP_OPT120_MISSING = 92,
	TXN_DHCP_OPT120_ADDRESSES = 93,
	TXN_DHCP_OPT120_MALFORMED = 94,
	TXN_PROBE_DHCP_SOCKET = 95,

	/*
	 * phone-bootstrap (Lync/Skype CertProv, lync-certprov.md §8): web services, root chain,
	 * web ticket, GetAndPublishCert. 88-95 are the DHCP discovery rows.
	 */
	TXN_CERTPROV_UNREACHABLE = 96,
	TXN_CERTPROV_ROOT_CHAIN_FAILED = 97,
	TXN_CERTPROV_WEBSVC_UNTRUSTED = 98,
	TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE = 99,
	TXN_CERTPROV_METADATA_BAD = 100,
	TXN_WEBTICKET_NO_RESPONSE = 101,
	TXN_WEBTICKET_PIN_REJECTED = 102,
	TXN_WEBTICKET_PIN_DISABLED = 103,
	TXN_WEBTICKET_USER_LOCKED = 104,
	TXN_WEBTICKET_USER_NOT_ENABLED = 105,
	TXN_WEBTICKET_FAULT = 106,
	TXN_CERTPROV_PUBLISH_FAILED = 107,
	TXN_CERTPROV_TICKET_REJECTED = 108,
	TXN_CERTPROV_SERVICE_DOWN = 109,
	TXN_CERTPROV_FAULT = 110,
	TXN_CERTPROV_CERT_INVALID = 111,
	TXN_CERTPROV_REGISTRAR_PROBLEM = 112,

	/*
	 * client-auth, auth: tls-dsk (Lync/Skype TLS-DSK, MS-SIPAE), after the phone-bootstrap
	 * rows (88-112). The golden list in tests/unit/test_transaction_status.c and the MIB's
	 * generated enumeration follow these numbers.
	 */
	TXN_REGISTRAR_NO_TLS_DSK = 113,
	TXN_REGISTRAR_DSK_CERT_REJECTED = 114,
	TXN_REGISTRAR_DSK_TLS_ALERT = 115,
	TXN_REGISTRAR_DSK_FORBIDDEN = 116,
	TXN_REGISTRAR_DSK_USER_NOT_ENABLED = 117,
	TXN_REGISTRAR_DSK_TIMEOUT = 118,
	TXN_REGISTRAR_DSK_BAD_RSPAUTH = 119,
	TXN_REGISTRAR_DSK_PROTOCOL = 120,
	TXN_REGISTRAR_NOT_DISCOVERED = 121,

	TXN_STATUS_COUNT /* one past the highest number; not a status */
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
