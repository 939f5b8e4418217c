/*
 * http_client: asynchronous HTTP(S) on the event loop through libcurl's multi-socket
 * API. The only file that includes curl. One client per process keeps one connection
 * cache and one CA-store cache (CAPATH is cleared: Debian's compiled-in CApath would
 * otherwise disable the store cache and reload the CA bundle per connection).
 * Transport failures are classified here into enum txn_status.
 */
#ifndef CERTPROBE_HTTP_CLIENT_H
#define CERTPROBE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bbuf.h"
#include "transactions/transaction_status.h"

struct event_base;
struct http_client;
struct http_request;

enum http_auth {
	HTTP_AUTH_NONE = 0,
	HTTP_AUTH_WINDOWS, /* NTLM or Negotiate */
	HTTP_AUTH_BASIC,
};

struct http_request_opts {
	const char *url;
	bool post;        /* POST body, else GET */
	const void *body; /* POST body; copied */
	size_t body_len;
	const char *content_type; /* POST Content-Type */
	uint64_t timeout_ms;      /* whole request; 0 = none (callers pass the deadline's rest) */
	size_t max_body;          /* response cap; past it: TXN_RESPONSE_TOO_LARGE */
	const char *trust_store;  /* CA bundle for https; NULL = system bundle */
	enum http_auth auth;
	const char *username; /* with HTTP_AUTH_WINDOWS or HTTP_AUTH_BASIC */
	const char *password; /* copied by libcurl; never logged */
	const char *accept;   /* an Accept header ("application/json"); NULL = none */
	/* a TLS client certificate (PEM) and its key (PEM, unencrypted); NULL = none */
	const char *client_cert;
	const char *client_key;
};

struct http_response {
	enum txn_status error; /* TXN_OK when an HTTP response arrived (any status code) */
	char error_detail[200];
	long status;            /* HTTP status code, 0 if none */
	char content_type[128]; /* lower-cased media type without parameters */
	char charset[32];       /* lower-cased charset parameter, "" if none */
	struct bbuf body;       /* owned by the response */
	long tls_verify_result; /* X509_V_OK (0) unless verification failed */
	uint64_t dns_us, connect_us, tls_us, first_byte_us, total_us; /* phase ends, from start */
	bool reused_connection;
};

/* Called once per request on the loop thread; resp is freed after the callback returns. */
typedef void http_done_cb(struct http_response *resp, void *arg);

/* Global libcurl init; call once before any thread starts. 0 or -1. */
int http_client_global_init(void);
void http_client_global_cleanup(void);

struct http_client *http_client_new(struct event_base *base);
/* Cancels every request in flight without calling their callbacks. NULL-safe. */
void http_client_free(struct http_client *c);
/* -v wire trace to stderr: request line, headers (credentials redacted), body sizes. */
void http_client_set_trace(struct http_client *c, bool on);

/* Start a request. Returns a handle valid until the callback runs or it is cancelled. */
struct http_request *http_client_start(struct http_client *c, const struct http_request_opts *o,
                                       http_done_cb *cb, void *arg);
/* Cancel without calling the callback. NULL-safe. */
void http_request_cancel(struct http_request *req);

/* Percent-encode for a query value (RFC 3986 unreserved kept). malloced. */
char *http_query_escape(const char *s);

/* The libcurl version this was built with ("7.88.1"), for build info. */
const char *http_client_version(void);

#endif
