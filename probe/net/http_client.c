/*
 * http_client: libcurl multi-socket bridged into libevent (curl's ephiperfifo example
 * shape): curl tells us which sockets to watch and when its timer fires; libevent
 * tells curl when they are ready. Completed transfers are classified and handed back.
 */
#include "net/http_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "core/fileload.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "pki/tls_diag.h"

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	bool trace;
	struct http_request *requests; /* in flight */
};

/*
 * Response headers, all lines of all header blocks (1xx, 401 rounds) together: no valid
 * answer comes near it. Ours, so a flood is TXN_RESPONSE_TOO_LARGE, not libcurl's
 * "Out of memory" at its own caps (CURL_MAX_HTTP_HEADER per line).
 */
#define HTTP_HEADER_MAX (64 * 1024)

struct http_request {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	size_t header_bytes;  /* received so far, against HTTP_HEADER_MAX */
	bool header_toobig;   /* http_header_cb stopped the transfer */
	bool in_header_block; /* between a status line and the blank line that ends it */
	unsigned char *body_copy;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	http_done_cb *cb;
	void *arg;
	struct event *refused; /* delivers a failure found before libcurl started */
	struct http_request *next;
};

struct http_sock {
	struct event *ev;
	curl_socket_t fd;
};

int http_client_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_client_global_cleanup(void)
{
	curl_global_cleanup();
}

static void http_request_unlink(struct http_request *req)
{
	struct http_request **pp = &req->client->requests;

	while (*pp != NULL && *pp != req)
		pp = &(*pp)->next;
	if (*pp == req)
		*pp = req->next;
}

static void http_request_free(struct http_request *req)
{
	if (req->refused != NULL)
		event_free(req->refused);
	curl_multi_remove_handle(req->client->multi, req->easy);
	curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	free(req->body_copy);
	bbuf_free(&req->resp.body);
	free(req);
}

static enum txn_status http_classify(struct http_request *req, CURLcode rc)
{
	long oserr = 0;

	switch (rc) {
	case CURLE_OK:
		return TXN_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return TXN_DNS_NO_ANSWER;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(req->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED)
			return TXN_TCP_REFUSED;
		return TXN_TCP_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return TXN_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return req->resp.body.toobig || req->header_toobig ? TXN_RESPONSE_TOO_LARGE
		                                                   : TXN_PROBE_INTERNAL;
	case CURLE_OUT_OF_MEMORY:
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE:
#endif
		/*
		 * One header line past libcurl's own line cap never reaches http_header_cb:
		 * curl fails it as out of memory (too large since 8.6). Our allocations exit
		 * on failure, so inside a header block this is the peer's doing.
		 */
		if (req->in_header_block) {
			req->header_toobig = true;
			return TXN_RESPONSE_TOO_LARGE;
		}
		return TXN_PROBE_INTERNAL;
	case CURLE_PEER_FAILED_VERIFICATION:
		/* curl checks the host name itself after OpenSSL's chain verdict */
		if (strstr(req->errbuf, "subject name") != NULL ||
		    strstr(req->errbuf, "target host name") != NULL)
			return TXN_TLS_NAME_MISMATCH;
		curl_easy_getinfo(req->easy, CURLINFO_SSL_VERIFYRESULT,
		                  &req->resp.tls_verify_result);
		if (req->resp.tls_verify_result != 0)
			return tls_diag_verify_status(req->resp.tls_verify_result);
		return TXN_TLS_NAME_MISMATCH; /* curl's own host check */
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_USE_SSL_FAILED:
		curl_easy_getinfo(req->easy, CURLINFO_SSL_VERIFYRESULT,
		                  &req->resp.tls_verify_result);
		if (req->resp.tls_verify_result != 0)
			return tls_diag_verify_status(req->resp.tls_verify_result);
		return TXN_TLS_HANDSHAKE;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return TXN_PROBE_INTERNAL;
	case CURLE_PARTIAL_FILE:
		return TXN_RESPONSE_TRUNCATED;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return TXN_TCP_ERROR;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_HTTP2:
	case CURLE_BAD_CONTENT_ENCODING:
		return TXN_HTTP_PROTOCOL;
	case CURLE_URL_MALFORMAT:
		return TXN_PROBE_INTERNAL;
	default:
		return TXN_TCP_ERROR;
	}
}

static uint64_t http_info_us(CURL *easy, CURLINFO what)
{
	curl_off_t v = 0;

	curl_easy_getinfo(easy, what, &v);
	return v > 0 ? (uint64_t)v : 0;
}

static void http_parse_content_type(struct http_response *resp, const char *ct)
{
	size_t i = 0;
	const char *cs;

	resp->content_type[0] = '\0';
	resp->charset[0] = '\0';
	if (ct == NULL)
		return;
	while (ct[i] != '\0' && ct[i] != ';' && i + 1 < sizeof resp->content_type) {
		resp->content_type[i] = (char)tolower((unsigned char)ct[i]);
		i++;
	}
	while (i > 0 && isspace((unsigned char)resp->content_type[i - 1]))
		i--;
	resp->content_type[i] = '\0';
	cs = strstr(ct, "charset=");
	if (cs == NULL)
		cs = strstr(ct, "Charset=");
	if (cs != NULL) {
		cs += 8;
		i = 0;
		while (cs[i] != '\0' && cs[i] != ';' && !isspace((unsigned char)cs[i]) &&
		       i + 1 < sizeof resp->charset) {
			resp->charset[i] =
			    (char)tolower((unsigned char)(cs[i] == '"' ? ' ' : cs[i]));
			i++;
		}
		resp->charset[i] = '\0';
	}
}

static void http_finish(struct http_request *req, CURLcode rc)
{
	struct http_response *resp = &req->resp;
	char *ct = NULL;
	long reused = 0;

	resp->error = http_classify(req, rc);
	if (resp->error != TXN_OK) {
		if (resp->error == TXN_RESPONSE_TOO_LARGE && req->header_toobig)
			snprintf(resp->error_detail, sizeof resp->error_detail,
			         "response headers passed the %d-byte cap", HTTP_HEADER_MAX);
		else if (resp->error == TXN_RESPONSE_TOO_LARGE)
			snprintf(resp->error_detail, sizeof resp->error_detail,
			         "response passed the %zu-byte cap", resp->body.max);
		else
			snprintf(resp->error_detail, sizeof resp->error_detail, "%s",
			         req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(req->easy, CURLINFO_CONTENT_TYPE, &ct);
	http_parse_content_type(resp, ct);
	curl_easy_getinfo(req->easy, CURLINFO_NUM_CONNECTS, &reused);
	resp->reused_connection = reused == 0;
	resp->dns_us = http_info_us(req->easy, CURLINFO_NAMELOOKUP_TIME_T);
	resp->connect_us = http_info_us(req->easy, CURLINFO_CONNECT_TIME_T);
	resp->tls_us = http_info_us(req->easy, CURLINFO_APPCONNECT_TIME_T);
	resp->first_byte_us = http_info_us(req->easy, CURLINFO_STARTTRANSFER_TIME_T);
	resp->total_us = http_info_us(req->easy, CURLINFO_TOTAL_TIME_T);
	if (req->client->trace)
		log_info("http: done %s status=%ld bytes=%zu total=%.1fms%s%s",
		         txn_status_code(resp->error), resp->status, resp->body.len,
		         (double)resp->total_us / 1000.0, resp->error != TXN_OK ? " error=" : "",
		         resp->error != TXN_OK ? resp->error_detail : "");
	http_request_unlink(req);
	req->cb(resp, req->arg);
	http_request_free(req);
}

/* A request refused before it reached libcurl (resp.error is set): deliver it. */
static void http_refused_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_request *req = arg;

	(void)fd;
	(void)what;
	http_request_unlink(req);
	req->cb(&req->resp, req->arg);
	http_request_free(req);
}

static void http_check_multi_info(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct http_request *req = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		http_finish(req, msg->data.result);
	}
}

static void http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int action =
	    ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(c->multi, fd, action, &running);
	http_check_multi_info(c);
}

static void http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_multi_info(c);
}

static int http_multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

static int http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
	               ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		hs->fd = s;
		curl_multi_assign(c->multi, s, hs);
	} else {
		event_free(hs->ev);
	}
	hs->ev = event_new(c->base, s, kind, http_event_cb, c);
	event_add(hs->ev, NULL);
	return 0;
}

struct http_client *http_client_new(struct event_base *base)
{
	struct http_client *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		free(c);
		return NULL;
	}
	c->timer = evtimer_new(base, http_timer_cb, c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_multi_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	while (c->requests != NULL) {
		struct http_request *req = c->requests;
		c->requests = req->next;
		http_request_free(req);
	}
	curl_multi_cleanup(c->multi);
	event_free(c->timer);
	free(c);
}

void http_client_set_trace(struct http_client *c, bool on)
{
	c->trace = on;
}

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb;

	if (bbuf_append(&req->resp.body, ptr, n) == -1)
		return 0; /* curl turns this into CURLE_WRITE_ERROR */
	return n;
}

/* Each header line as it arrives (the blank line that ends a block too): count and cap. */
static size_t http_header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	size_t n = size * nmemb;

	if (n > HTTP_HEADER_MAX - req->header_bytes) {
		req->header_toobig = true;
		return 0; /* curl turns this into CURLE_WRITE_ERROR */
	}
	req->header_bytes += n;
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		req->in_header_block = true;
	else if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n'))
		req->in_header_block = false;
	return n;
}

/* -v trace: headers only, with credentials redacted; bodies as sizes. */
static int http_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
	const char *dir;
	size_t start = 0;

	(void)easy;
	(void)userp;
	switch (type) {
	case CURLINFO_HEADER_OUT:
		dir = ">";
		break;
	case CURLINFO_HEADER_IN:
		dir = "<";
		break;
	case CURLINFO_DATA_OUT:
		log_info("http: > [%zu bytes of body]", size);
		return 0;
	case CURLINFO_DATA_IN:
		log_info("http: < [%zu bytes of body]", size);
		return 0;
	case CURLINFO_TEXT:
		dir = "*";
		break;
	default:
		return 0;
	}
	while (start < size) {
		size_t end = start;
		int len;
		while (end < size && data[end] != '\n')
			end++;
		len = (int)(end - start);
		if (len > 0 && data[start + (size_t)len - 1] == '\r')
			len--;
		if (len > 0) {
			if (len > 14 && strncasecmp(data + start, "authorization:", 14) == 0)
				log_info("http: %s Authorization: [redacted]", dir);
			else if (len > 20 &&
			         strncasecmp(data + start, "proxy-authorization:", 20) == 0)
				log_info("http: %s Proxy-Authorization: [redacted]", dir);
			else if (len > 200)
				log_info("http: %s %.200s... [%d chars]", dir, data + start, len);
			else
				log_info("http: %s %.*s", dir, len, data + start);
		}
		start = end + 1;
	}
	return 0;
}

/*
 * libcurl opens a file it is given on this thread: stat it first (stat never waits for
 * a FIFO's writer), so a FIFO, a device or a huge file fails here, classified, instead
 * of holding the loop in open() or read(). True when req was refused (delivered on the
 * next loop turn).
 */
static bool http_file_refused(struct http_request *req, const char *path, const char *what)
{
	struct http_client *c = req->client;
	struct fileload_fail f;
	char why[160];

	if (path == NULL || fileload_check(path, FILELOAD_MAX_PEM_BUNDLE, NULL, &f) == 0)
		return false;
	req->resp.error = f.why == FILELOAD_NOT_REGULAR ? TXN_PROBE_FILE_NOT_REGULAR
	                  : f.why == FILELOAD_TOO_LARGE ? TXN_PROBE_FILE_TOO_LARGE
	                                                : TXN_PROBE_FILE_UNREADABLE;
	snprintf(req->resp.error_detail, sizeof req->resp.error_detail, "%s %s: %s", what, path,
	         fileload_describe(&f, FILELOAD_MAX_PEM_BUNDLE, why, sizeof why));
	req->refused = evtimer_new(c->base, http_refused_cb, req);
	req->next = c->requests;
	c->requests = req;
	event_active(req->refused, EV_TIMEOUT, 0);
	return true;
}

struct http_request *http_client_start(struct http_client *c, const struct http_request_opts *o,
                                       http_done_cb *cb, void *arg)
{
	struct http_request *req = xcalloc(1, sizeof *req);
	CURL *e;

	req->client = c;
	req->cb = cb;
	req->arg = arg;
	bbuf_init(&req->resp.body, o->max_body ? o->max_body : 1024 * 1024);
	e = curl_easy_init();
	if (e == NULL)
		abort();
	req->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	req->in_header_block = true; /* until the first block ends */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "certprobe/" CERTPROBE_VERSION);
	if (o->timeout_ms > 0) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
	}
	/* The CApath trap: a compiled-in CApath disables the CA store cache. */
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	if (http_file_refused(req, o->trust_store, "trust store") ||
	    http_file_refused(req, o->client_cert, "client certificate") ||
	    http_file_refused(req, o->client_key, "client key"))
		return req;
	if (o->trust_store != NULL) {
		curl_easy_setopt(e, CURLOPT_CAINFO, o->trust_store);
		/*
		 * libcurl keeps the parsed bundle for 24 h by default and knows it by its name
		 * only: a trust store replaced in place (a new root) would go unseen for a day.
		 * A minute keeps the parse off nearly every run and a change visible soon.
		 */
		curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 60L);
	}
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->client_cert != NULL) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->client_cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		if (o->client_key != NULL)
			curl_easy_setopt(e, CURLOPT_SSLKEY, o->client_key);
	}
	if (o->accept != NULL) {
		char *h = xasprintf("Accept: %s", o->accept);
		req->headers = curl_slist_append(req->headers, h);
		free(h);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	}
	if (o->post) {
		req->body_copy = xmalloc(o->body_len ? o->body_len : 1);
		if (o->body_len)
			memcpy(req->body_copy, o->body, o->body_len);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body_copy);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		if (o->content_type != NULL) {
			char *h = xasprintf("Content-Type: %s", o->content_type);
			req->headers = curl_slist_append(req->headers, h);
			free(h);
		}
		req->headers = curl_slist_append(req->headers, "Expect:");
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	}
	if (o->auth == HTTP_AUTH_WINDOWS) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)(CURLAUTH_NTLM | CURLAUTH_NEGOTIATE));
		if (o->username != NULL)
			curl_easy_setopt(e, CURLOPT_USERNAME, o->username);
		if (o->password != NULL)
			curl_easy_setopt(e, CURLOPT_PASSWORD, o->password);
	}
	if (o->auth == HTTP_AUTH_BASIC) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		if (o->username != NULL)
			curl_easy_setopt(e, CURLOPT_USERNAME, o->username);
		if (o->password != NULL)
			curl_easy_setopt(e, CURLOPT_PASSWORD, o->password);
	}
	if (c->trace) {
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, http_debug_cb);
	}
	req->next = c->requests;
	c->requests = req;
	curl_multi_add_handle(c->multi, e);
	return req;
}

void http_request_cancel(struct http_request *req)
{
	if (req == NULL)
		return;
	http_request_unlink(req);
	http_request_free(req);
}

char *http_query_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[j++] = (char)ch;
		} else {
			out[j++] = '%';
			out[j++] = hex[ch >> 4];
			out[j++] = hex[ch & 15];
		}
	}
	out[j] = '\0';
	return out;
}

const char *http_client_version(void)
{
	return LIBCURL_VERSION;
}
