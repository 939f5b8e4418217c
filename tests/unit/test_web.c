/*
 * test_web: the metrics listener on 127.0.0.1:18720-18729 driven by libcurl. A thread
 * runs one curl_easy_perform and then stops the loop that the test thread runs, so the
 * server is the real evhttp/OpenSSL code on a real socket. Certificates are throwaway
 * self-signed P-256 ones made in-process. Covers methods, limits, TLS (pinned CA,
 * plain HTTP on the TLS port, reload), basic auth, bind errors and what reaches the log,
 * and the descriptor budget: the connection cap and accept paused on EMFILE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "exporters/web.h"
#include "pki/pki.h"

#define PORT_PLAIN 18720
#define PORT_TLS 18721
#define PORT_AUTH 18722
#define PORT_AUTH_TLS 18723
#define PORT_RELOAD 18724
#define PORT_BUSY 18725
#define PORT_ANY 18726
#define PORT_LOCALHOST 18727
#define PORT_V6 18728

#define PASSWORD "hunter2-Sekr1t"

static struct {
	char dir[64];
	char a_crt[96], a_key[96], b_crt[96], b_key[96], junk[96], log[96];
} fx;

/* ---- fixture: certificates ---- */

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static void make_cert(const char *cn, long serial, const char *crt, const char *key)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;

	assert_non_null(k);
	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)cn, -1, -1, 0),
	                 1);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, &ctx, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(pki_cert_save(crt, x), 0);
	assert_int_equal(pki_key_save(key, k), 0);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(k);
}

static int group_setup(void **state)
{
	FILE *f;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	snprintf(fx.dir, sizeof fx.dir, "/tmp/test_web.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.a_crt, sizeof fx.a_crt, "%s/a.crt", fx.dir);
	snprintf(fx.a_key, sizeof fx.a_key, "%s/a.key", fx.dir);
	snprintf(fx.b_crt, sizeof fx.b_crt, "%s/b.crt", fx.dir);
	snprintf(fx.b_key, sizeof fx.b_key, "%s/b.key", fx.dir);
	snprintf(fx.junk, sizeof fx.junk, "%s/junk.pem", fx.dir);
	snprintf(fx.log, sizeof fx.log, "%s/stderr.log", fx.dir);
	make_cert("web test A", 1, fx.a_crt, fx.a_key);
	make_cert("web test B", 2, fx.b_crt, fx.b_key);
	f = fopen(fx.junk, "w");
	if (f == NULL)
		return -1;
	fputs("not a certificate\n", f);
	fclose(f);
	log_init("test_web", LOG_LEVEL_WARN);
	return 0;
}

static int group_teardown(void **state)
{
	const char *files[] = {fx.a_crt, fx.a_key, fx.b_crt, fx.b_key, fx.junk, fx.log};

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(files[i]);
	rmdir(fx.dir);
	curl_global_cleanup();
	return 0;
}

/* ---- fixture: the handler and the loop ---- */

struct server {
	struct event_base *base;
	struct web *web;
	unsigned calls;
	char last_uri[128];
};

static void handler(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	s->calls++;
	snprintf(s->last_uri, sizeof s->last_uri, "%s", evhttp_request_get_uri(req));
	evbuffer_add_printf(body, "hello %s\n", s->last_uri);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
}

static int server_setup(void **state)
{
	struct server *s = calloc(1, sizeof *s);

	if (s == NULL)
		return -1;
	s->base = event_base_new();
	if (s->base == NULL) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server *s = *state;

	web_free(s->web);
	event_base_free(s->base);
	free(s);
	log_set_level(LOG_LEVEL_WARN);
	return 0;
}

static void start(struct server *s, const struct web_conf *c)
{
	char err[256] = "";

	s->web = web_new(s->base, c, handler, s, err, sizeof err);
	if (s->web == NULL)
		fail_msg("web_new(%s): %s", c->listen, err);
}

struct fetch {
	/* in */
	struct event_base *base;
	const char *url;
	const char *method; /* NULL = GET */
	const char *cainfo; /* pinned CA for https */
	const char *userpwd;
	const char *header; /* one extra request header */
	/* out */
	CURLcode rc;
	long status;
	char www_auth[128];
	char allow[64];
	char body[256];
	size_t body_len;
};

static void header_value(const char *p, size_t len, size_t namelen, char *out, size_t outlen)
{
	const char *v = p + namelen;
	size_t l = len - namelen;

	while (l > 0 && *v == ' ')
		v++, l--;
	while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n'))
		l--;
	snprintf(out, outlen, "%.*s", (int)l, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;

	if (len > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0)
		header_value(p, len, 17, f->www_auth, sizeof f->www_auth);
	if (len > 6 && strncasecmp(p, "Allow:", 6) == 0)
		header_value(p, len, 6, f->allow, sizeof f->allow);
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n, room = sizeof f->body - 1 - f->body_len;

	memcpy(f->body + f->body_len, p, len < room ? len : room);
	f->body_len += len < room ? len : room;
	f->body[f->body_len] = '\0';
	return len;
}

static void *fetch_thread(void *arg)
{
	struct fetch *f = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;

	if (c == NULL) {
		f->rc = CURLE_FAILED_INIT;
		event_base_loopexit(f->base, NULL);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (f->method != NULL && strcmp(f->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (f->method != NULL && strcmp(f->method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1");
	if (f->cainfo != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, f->cainfo);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (f->userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, f->userpwd);
	}
	if (f->header != NULL) {
		hdrs = curl_slist_append(NULL, f->header);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	f->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	event_base_loopexit(f->base, NULL);
	return NULL;
}

/* One request against s, served by this thread's loop. */
static void fetch(struct server *s, struct fetch *f)
{
	pthread_t t;

	f->base = s->base;
	f->status = 0;
	f->www_auth[0] = '\0';
	f->allow[0] = '\0';
	f->body[0] = '\0';
	f->body_len = 0;
	assert_int_equal(pthread_create(&t, NULL, fetch_thread, f), 0);
	assert_int_not_equal(event_base_loop(s->base, 0), -1);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static long get_status(struct server *s, const char *url, const char *cainfo)
{
	struct fetch f = {.url = url, .cainfo = cainfo};

	fetch(s, &f);
	return f.rc == CURLE_OK ? f.status : -(long)f.rc;
}

/* ---- fixture: stderr capture (the log layer writes there) ---- */

static int capture_fd = -1;

static void capture_begin(void)
{
	int fd = open(fx.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	fflush(stderr);
	capture_fd = dup(STDERR_FILENO);
	assert_true(capture_fd != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	close(fd);
}

static void capture_end(char *buf, size_t len)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	assert_true(dup2(capture_fd, STDERR_FILENO) != -1);
	close(capture_fd);
	capture_fd = -1;
	f = fopen(fx.log, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* ---- tests ---- */

static void test_plain_get_head(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	struct fetch f = {.url = "http://127.0.0.1:18720/metrics"};

	start(s, &c);
	fetch(s, &f);
	assert_int_equal(f.rc, CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.body, "hello /metrics\n");
	assert_int_equal(s->calls, 1);

	f = (struct fetch){.url = "http://127.0.0.1:18720/metrics", .method = "HEAD"};
	fetch(s, &f);
	assert_int_equal(f.rc, CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_int_equal(f.body_len, 0);
	assert_int_equal(s->calls, 2);
}

static void test_post_is_405(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	struct fetch f = {.url = "http://127.0.0.1:18720/metrics", .method = "POST"};

	start(s, &c);
	fetch(s, &f);
	assert_int_equal(f.rc, CURLE_OK);
	assert_int_equal(f.status, 405);
	assert_string_equal(f.allow, "GET, HEAD");
	assert_int_equal(s->calls, 0);
}

static void test_header_cap(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	static char big[10000];
	struct fetch f = {.url = "http://127.0.0.1:18720/metrics", .header = big};

	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', sizeof big - 8);
	big[sizeof big - 1] = '\0';
	start(s, &c);
	fetch(s, &f);
	assert_true(f.rc != CURLE_OK || f.status >= 400);
	assert_int_equal(s->calls, 0);
	assert_int_equal(get_status(s, "http://127.0.0.1:18720/x", NULL), 200);
}

static void test_tls_get(void **state)
{
	struct server *s = *state;
	struct web_conf c = {
	    .listen = "127.0.0.1:18721", .tls_cert = fx.a_crt, .tls_key = fx.a_key};
	char log[4096];

	start(s, &c);
	assert_int_equal(get_status(s, "https://127.0.0.1:18721/metrics", fx.a_crt), 200);
	assert_int_equal(s->calls, 1);
	/* the wrong pin fails: the server really presents A */
	assert_int_equal(get_status(s, "https://127.0.0.1:18721/metrics", fx.b_crt),
	                 -(long)CURLE_PEER_FAILED_VERIFICATION);

	/* plain HTTP on the TLS port: refused, nothing at warning level, server survives */
	capture_begin();
	assert_true(get_status(s, "http://127.0.0.1:18721/metrics", NULL) < 0);
	capture_end(log, sizeof log);
	assert_string_equal(log, "");
	assert_int_equal(s->calls, 1);
	assert_int_equal(get_status(s, "https://127.0.0.1:18721/metrics", fx.a_crt), 200);

	/* ...and the failure is there at debug level */
	log_set_level(LOG_LEVEL_DEBUG);
	capture_begin();
	assert_true(get_status(s, "http://127.0.0.1:18721/", NULL) < 0);
	capture_end(log, sizeof log);
	log_set_level(LOG_LEVEL_WARN);
	if (strstr(log, "TLS handshake with 127.0.0.1:") == NULL)
		fail_msg("no debug line for the failed handshake: '%s'", log);
	assert_int_equal(get_status(s, "https://127.0.0.1:18721/", fx.a_crt), 200);
	assert_int_equal(s->calls, 3);
}

static void test_basic_auth(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18722", .username = "prom", .password = PASSWORD};
	const char *url = "http://127.0.0.1:18722/metrics";
	struct {
		const char *userpwd, *header;
	} bad[] = {
	    {NULL, NULL},
	    {"prometheus:" PASSWORD, NULL},
	    {"prom:hunter2", NULL},
	    {"prom:" PASSWORD "x", NULL},
	    {"prom:", NULL},
	    {NULL, "Authorization: Bearer cHJvbTpodW50ZXIyLVNla3IxdA=="},
	    {NULL, "Authorization: Basic !!!!"},
	    {NULL, "Authorization: Basic cHJvbTpodW50ZXIyLVNla3IxdA"}, /* no padding */
	    {NULL, "Authorization: Basic"},
	};
	struct fetch f;

	start(s, &c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f = (struct fetch){.url = url, .userpwd = bad[i].userpwd, .header = bad[i].header};
		fetch(s, &f);
		assert_int_equal(f.rc, CURLE_OK);
		if (f.status != 401)
			fail_msg("case %zu: status %ld", i, f.status);
		assert_string_equal(f.www_auth, "Basic realm=\"certprobe\"");
	}
	assert_int_equal(s->calls, 0);

	f = (struct fetch){.url = url, .userpwd = "prom:" PASSWORD};
	fetch(s, &f);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.www_auth, "");
	assert_int_equal(s->calls, 1);
	/* the scheme is case-insensitive; "prom:hunter2-Sekr1t" in base64 */
	f = (struct fetch){.url = url,
	                   .header = "Authorization: basic   cHJvbTpodW50ZXIyLVNla3IxdA== "};
	fetch(s, &f);
	assert_int_equal(f.status, 200);

	/* /-/healthy is open; nothing else near it is */
	assert_int_equal(get_status(s, "http://127.0.0.1:18722/-/healthy", NULL), 200);
	assert_int_equal(get_status(s, "http://127.0.0.1:18722/-/healthy?x=1", NULL), 200);
	assert_int_equal(get_status(s, "http://127.0.0.1:18722/-/healthy/", NULL), 401);
	assert_int_equal(get_status(s, "http://127.0.0.1:18722/-/healthyx", NULL), 401);
	assert_int_equal(s->calls, 4);

	/* credentials replaced at run time */
	assert_int_equal(web_set_auth(s->web, "other", "pw", NULL, 0), 0);
	f = (struct fetch){.url = url, .userpwd = "prom:" PASSWORD};
	fetch(s, &f);
	assert_int_equal(f.status, 401);
	f = (struct fetch){.url = url, .userpwd = "other:pw"};
	fetch(s, &f);
	assert_int_equal(f.status, 200);
	assert_int_equal(web_set_auth(s->web, NULL, NULL, NULL, 0), 0);
	assert_int_equal(get_status(s, url, NULL), 200);
}

static void test_basic_auth_tls(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18723",
	                     .tls_cert = fx.a_crt,
	                     .tls_key = fx.a_key,
	                     .username = "prom",
	                     .password = PASSWORD};
	struct fetch f = {.url = "https://127.0.0.1:18723/metrics", .cainfo = fx.a_crt};

	start(s, &c);
	fetch(s, &f);
	assert_int_equal(f.status, 401);
	f = (struct fetch){.url = "https://127.0.0.1:18723/metrics",
	                   .cainfo = fx.a_crt,
	                   .userpwd = "prom:" PASSWORD};
	fetch(s, &f);
	assert_int_equal(f.status, 200);
	assert_int_equal(s->calls, 1);
}

static void test_reload_tls(void **state)
{
	struct server *s = *state;
	struct web_conf c = {
	    .listen = "127.0.0.1:18724", .tls_cert = fx.a_crt, .tls_key = fx.a_key};
	const char *url = "https://127.0.0.1:18724/metrics";
	char err[256];

	start(s, &c);
	assert_int_equal(get_status(s, url, fx.a_crt), 200);

	assert_int_equal(web_reload_tls(s->web, "/nonexistent/b.crt", fx.b_key, err, sizeof err),
	                 -1);
	assert_string_equal(
	    err, "cannot load TLS certificate /nonexistent/b.crt: No such file or directory");
	{
		/* a FIFO would hold OpenSSL's fopen() (and the loop) until a writer came */
		char fifo[] = "/tmp/test_web_fifo.XXXXXX";
		int fd = mkstemp(fifo);
		assert_true(fd >= 0);
		close(fd);
		unlink(fifo);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_int_equal(web_reload_tls(s->web, fifo, fx.b_key, err, sizeof err), -1);
		assert_non_null(strstr(err, ": not a regular file (a FIFO)"));
		assert_int_equal(web_reload_tls(s->web, fx.b_crt, fifo, err, sizeof err), -1);
		assert_non_null(strstr(err, "cannot load TLS key"));
		unlink(fifo);
	}
	assert_int_equal(web_reload_tls(s->web, fx.junk, fx.b_key, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot load TLS certificate"));
	assert_non_null(strstr(err, ": no start line"));
	assert_int_equal(web_reload_tls(s->web, fx.b_crt, fx.junk, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot load TLS key"));
	assert_int_equal(web_reload_tls(s->web, fx.b_crt, fx.a_key, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(get_status(s, url, fx.a_crt), 200);

	assert_int_equal(web_reload_tls(s->web, fx.b_crt, fx.b_key, err, sizeof err), 0);
	assert_int_equal(get_status(s, url, fx.b_crt), 200);
	assert_int_equal(get_status(s, url, fx.a_crt), -(long)CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(s->calls, 3);
}

static void test_reload_plain_refused(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	char err[256];

	start(s, &c);
	assert_int_equal(web_reload_tls(s->web, fx.a_crt, fx.a_key, err, sizeof err), -1);
	assert_non_null(strstr(err, "without TLS"));
	assert_int_equal(get_status(s, "http://127.0.0.1:18720/", NULL), 200);
}

static void test_busy_port(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18725", .username = "u", .password = PASSWORD};
	char err[256] = "";

	start(s, &c);
	assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
	assert_string_equal(err, "cannot listen on 127.0.0.1:18725: Address already in use");
	assert_null(strstr(err, PASSWORD));
	assert_int_equal(get_status(s, "http://127.0.0.1:18725/-/healthy", NULL), 200);
}

static void test_bad_conf(void **state)
{
	struct server *s = *state;
	static const char *const bad_listen[] = {
	    "",          "127.0.0.1",       "127.0.0.1:",   "127.0.0.1:0",     "127.0.0.1:65536",
	    "::1:18729", "[::1]18729",      "[nope]:18729", ":18729",          "example.com:18729",
	    "[::1]:",    "127.0.0.1:18x29", "127.0.0.1:-1", "999.0.0.1:18729",
	};
	struct web_conf c = {.username = "u", .password = PASSWORD};
	char err[256], log[4096];

	capture_begin();
	for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
		c.listen = bad_listen[i];
		err[0] = '\0';
		assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
		if (strncmp(err, "bad listen address", 18) != 0 && strcmp(err, "no listen address"))
			fail_msg("%s: '%s'", bad_listen[i], err);
	}
	c.listen = NULL;
	assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
	assert_string_equal(err, "no listen address");

	c.listen = "127.0.0.1:18729";
	c.tls_cert = "/nonexistent/x.crt";
	c.tls_key = fx.a_key;
	assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
	assert_non_null(strstr(err, "cannot load TLS certificate /nonexistent/x.crt: "));
	assert_null(strstr(err, PASSWORD));
	c.tls_key = NULL;
	c.tls_cert = fx.a_crt;
	assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
	assert_string_equal(err, "TLS needs both a certificate and a key");

	c.tls_cert = NULL;
	c.username = "a:b";
	assert_null(web_new(s->base, &c, handler, s, err, sizeof err));
	assert_string_equal(err, "basic auth username must not contain ':'");
	capture_end(log, sizeof log);
	assert_null(strstr(log, PASSWORD));

	web_free(NULL);
}

static void test_clear_text_warning(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "0.0.0.0:18726", .username = "u", .password = PASSWORD};
	char log[4096];

	log_set_level(LOG_LEVEL_DEBUG);
	capture_begin();
	start(s, &c);
	assert_int_equal(get_status(s, "http://127.0.0.1:18726/metrics", NULL), 401);
	capture_end(log, sizeof log);
	assert_non_null(strstr(log, "warning: listener 0.0.0.0:18726: basic auth without TLS"));
	assert_null(strstr(log, PASSWORD));
	web_free(s->web);
	s->web = NULL;

	/* loopback, or TLS: no warning */
	c.listen = "127.0.0.1:18726";
	capture_begin();
	start(s, &c);
	web_free(s->web);
	c.listen = "0.0.0.0:18726";
	c.tls_cert = fx.a_crt;
	c.tls_key = fx.a_key;
	start(s, &c);
	capture_end(log, sizeof log);
	assert_null(strstr(log, "warning"));
	assert_null(strstr(log, PASSWORD));
}

static void test_localhost(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "localhost:18727"};

	start(s, &c);
	assert_int_equal(get_status(s, "http://127.0.0.1:18727/metrics", NULL), 200);
}

static void test_ipv6(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "[::1]:18728"};
	char err[256];

	s->web = web_new(s->base, &c, handler, s, err, sizeof err);
	if (s->web == NULL) {
		print_message("no IPv6 loopback here (%s)\n", err);
		skip();
	}
	assert_int_equal(get_status(s, "http://[::1]:18728/metrics", NULL), 200);
}

/* ---- the descriptor budget ---- */

/* A non-blocking connect to 127.0.0.1:port; the kernel completes it without accept. */
static int client_connect(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd != -1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

/* Run the loop for ms milliseconds. */
static void run_for(struct server *s, long ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(s->base, &tv);
	assert_int_not_equal(event_base_dispatch(s->base), -1);
}

static size_t count_lines(const char *log, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(log, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * With RLIMIT_NOFILE at 1024 the cap is 256 connections: 4 more are refused with a 503
 * and counted; once the clients go, the records go too and a request is served.
 */
static void test_connection_cap(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	struct rlimit old, rl;
	struct web_stats st;
	int fds[260];
	size_t told = 0;
	char buf[128];

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_max < 1024) {
		print_message("hard descriptor limit %ju < 1024\n", (uintmax_t)old.rlim_max);
		skip();
	}
	rl = old;
	rl.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	start(s, &c); /* the budget is taken from the limit now in force */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* in batches: a SYN beyond the listen backlog (128) is only retried after 1 s */
	for (size_t i = 0; i < 260; i++) {
		fds[i] = client_connect(18720);
		if (i % 50 == 49)
			run_for(s, 20);
	}
	for (int i = 0; i < 20; i++) {
		run_for(s, 50);
		web_get_stats(s->web, &st);
		if (st.open + st.refused >= 260)
			break;
	}
	web_get_stats(s->web, &st);
	assert_int_equal(st.open, 256);
	assert_int_equal(st.refused, 4);
	assert_int_equal(st.accept_paused, 0);
	for (size_t i = 0; i < 260; i++) {
		ssize_t n = recv(fds[i], buf, sizeof buf - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
			told++;
		}
		close(fds[i]);
	}
	assert_int_equal(told, 4);
	for (int i = 0; i < 20; i++) {
		run_for(s, 50);
		web_get_stats(s->web, &st);
		if (st.open == 0)
			break;
	}
	assert_int_equal(st.open, 0);
	assert_int_equal(get_status(s, "http://127.0.0.1:18720/metrics", NULL), 200);
}

/*
 * Out of descriptors: accept is paused, not retried in a loop (a pause lasts 500 ms, so
 * 1.2 s makes at most 4), one line is logged however often it fails, and the pending
 * connection is taken once descriptors are free again.
 */
static void test_accept_paused_on_emfile(void **state)
{
	struct server *s = *state;
	struct web_conf c = {.listen = "127.0.0.1:18720"};
	struct rlimit old, rl;
	struct web_stats st;
	int client, fill[256];
	size_t n_fill = 0;
	char log[4096];

	start(s, &c);
	client = client_connect(18720);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	capture_begin();
	for (;;) {
		int fd = dup(STDERR_FILENO);
		if (fd == -1)
			break;
		assert_true(n_fill < sizeof fill / sizeof fill[0]);
		fill[n_fill++] = fd;
	}
	run_for(s, 1200);
	web_get_stats(s->web, &st);
	while (n_fill > 0)
		close(fill[--n_fill]);
	capture_end(log, sizeof log);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (st.accept_paused < 1 || st.accept_paused > 4)
		fail_msg("accept paused %ju times in 1.2 s", (uintmax_t)st.accept_paused);
	assert_int_equal(st.open, 0);
	assert_int_equal(count_lines(log, "Too many open files"), 1);
	assert_non_null(strstr(log, "listener 127.0.0.1:18720: accept failed, paused for 500 ms"));
	for (int i = 0; i < 20; i++) {
		run_for(s, 50);
		web_get_stats(s->web, &st);
		if (st.open == 1)
			break;
	}
	assert_int_equal(st.open, 1);
	close(client);
	assert_int_equal(get_status(s, "http://127.0.0.1:18720/metrics", NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_get_head, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_post_is_405, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_header_cap, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_tls_get, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_basic_auth, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_basic_auth_tls, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_reload_tls, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_reload_plain_refused, server_setup,
	                                    server_teardown),
	    cmocka_unit_test_setup_teardown(test_busy_port, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_conf, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_clear_text_warning, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_localhost, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_connection_cap, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(test_accept_paused_on_emfile, server_setup,
	                                    server_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
