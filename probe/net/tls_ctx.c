/*
 * tls_ctx: the client TLS context cache (contract in tls_ctx.h). The loop stats the
 * files (stat never waits for a FIFO) and compares what it saw with the last load; a
 * load reads and parses on the loader thread and is swapped in on the loop.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "net/tls_ctx.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/errbuf.h"
#include "core/fileload.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "pki/pki.h"

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

enum { F_TRUST, F_CERT, F_KEY, F_COUNT };

struct waiter {
	tls_ctx_cb *cb;
	void *arg;
	struct waiter *next;
};

struct tls_ctx {
	struct tls_ctx_cache *cache;
	char *cache_key;
	/* the context in use: replaced only by a newer good one, freed with the cache */
	SSL_CTX *ssl;
	bool has_cert;
	struct tls_cert_facts client;
	struct tls_leaf_memo memo;
	/* the last load that ended, good or bad, and what its files looked like */
	bool loaded;
	struct file_id ids[F_COUNT];
	bool failed;
	enum txn_status fail_st;
	char fail_err[TXN_DETAIL_LEN];
	bool loading;
	struct waiter *waiters;    /* for the load in progress */
	struct waiter *delivering; /* woken now: tls_ctx_cancel() still reaches them */
	struct tls_ctx *next;
};

struct tls_ctx_cache {
	struct offload *loader;
	struct tls_ctx *ctxs;
};

/* One load, on the loader thread: copies of the paths in, a context or a failure out. */
struct load_job {
	struct tls_ctx *entry; /* touched only by load_done, on the loop */
	char *path[F_COUNT];
	enum tls_max_version max_version;
	struct file_id ids[F_COUNT];
	SSL_CTX *ssl;
	bool has_cert;
	struct tls_cert_facts client;
	enum txn_status st;
	char err[TXN_DETAIL_LEN];
};

struct tls_ctx_cache *tls_ctx_cache_new(struct offload *loader)
{
	struct tls_ctx_cache *c = xcalloc(1, sizeof *c);

	c->loader = loader;
	return c;
}

static void waiters_free(struct waiter *w)
{
	while (w != NULL) {
		struct waiter *n = w->next;
		free(w);
		w = n;
	}
}

void tls_ctx_cache_free(struct tls_ctx_cache *cache)
{
	struct tls_ctx *t, *n;

	if (cache == NULL)
		return;
	for (t = cache->ctxs; t != NULL; t = n) {
		n = t->next;
		SSL_CTX_free(t->ssl); /* connections still using it hold their own reference */
		X509_free(t->memo.leaf);
		sk_X509_pop_free(t->memo.chain, X509_free);
		waiters_free(t->waiters);
		waiters_free(t->delivering);
		free(t->cache_key);
		free(t);
	}
	free(cache);
}

void *tls_ctx_ssl(const struct tls_ctx *ctx)
{
	return ctx->ssl;
}

bool tls_ctx_has_cert(const struct tls_ctx *ctx)
{
	return ctx->has_cert;
}

struct tls_leaf_memo *tls_ctx_leaf_memo(struct tls_ctx *ctx)
{
	return &ctx->memo;
}

/* ---- certificate facts ---- */

static void cert_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char one[INET6_ADDRSTRLEN + 8];
		int n;

		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;
			snprintf(one, sizeof one, "%.*s",
			         ASN1_STRING_length(s) > 200 ? 200 : ASN1_STRING_length(s),
			         (const char *)ASN1_STRING_get0_data(s));
		} else if (g->type == GEN_IPADD && g->d.iPAddress->length == 4) {
			inet_ntop(AF_INET, g->d.iPAddress->data, one, sizeof one);
		} else if (g->type == GEN_IPADD && g->d.iPAddress->length == 16) {
			inet_ntop(AF_INET6, g->d.iPAddress->data, one, sizeof one);
		} else if (g->type == GEN_URI) {
			const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
			snprintf(one, sizeof one, "%.*s",
			         ASN1_STRING_length(s) > 40 ? 40 : ASN1_STRING_length(s),
			         (const char *)ASN1_STRING_get0_data(s));
		} else {
			continue;
		}
		for (char *p = one; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		n = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "", one);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	GENERAL_NAMES_free(gens);
}

void tls_cert_facts_of(void *x509, struct tls_cert_facts *f)
{
	X509 *x = x509;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	memset(f, 0, sizeof *f);
	pki_name_string(X509_get_subject_name(x), f->subject, sizeof f->subject);
	pki_name_string(X509_get_issuer_name(x), f->issuer, sizeof f->issuer);
	snprintf(f->serial, sizeof f->serial, "%s", hex != NULL ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	pki_time_string(X509_get0_notBefore(x), f->not_before, sizeof f->not_before);
	pki_time_string(X509_get0_notAfter(x), f->not_after, sizeof f->not_after);
	pki_cert_fingerprint_string(x, f->fingerprint, sizeof f->fingerprint);
	cert_names(x, f->names, sizeof f->names);
	f->seconds_left = pki_cert_seconds_left(x, &f->not_before_in);
}

/* ---- files ---- */

static const char *const file_role[F_COUNT] = {"trust store", "client certificate", "client key"};

static size_t file_max(int which)
{
	return which == F_TRUST || which == F_CERT ? FILELOAD_MAX_PEM_BUNDLE : FILELOAD_MAX_PEM;
}

static enum txn_status fileload_status(const struct fileload_fail *f)
{
	switch (f->why) {
	case FILELOAD_NOT_REGULAR:
		return TXN_PROBE_FILE_NOT_REGULAR;
	case FILELOAD_TOO_LARGE:
		return TXN_PROBE_FILE_TOO_LARGE;
	default:
		return TXN_PROBE_FILE_UNREADABLE;
	}
}

static void file_fail(enum txn_status *st, char *err, size_t errlen, int which, const char *path,
                      const struct fileload_fail *f)
{
	char why[160];

	*st = fileload_status(f);
	errbuf_set(err, errlen, "%s %s: %s", file_role[which], path,
	           fileload_describe(f, file_max(which), why, sizeof why));
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* ---- a load, on the loader thread ---- */

static int load_trust(struct load_job *j, SSL_CTX *ctx)
{
	STACK_OF(X509_INFO) *infos = NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	struct fileload_fail f;
	char *pem = NULL, ebuf[200];
	size_t len, n = 0;
	BIO *b;

	if (fileload_read(j->path[F_TRUST], file_max(F_TRUST), &pem, &len, &f) == -1) {
		file_fail(&j->st, j->err, sizeof j->err, F_TRUST, j->path[F_TRUST], &f);
		return -1;
	}
	b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL)
		infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *in = sk_X509_INFO_value(infos, i);
		if (in->x509 != NULL && X509_STORE_add_cert(store, in->x509) == 1)
			n++;
		if (in->crl != NULL)
			X509_STORE_add_crl(store, in->crl);
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(b);
	free(pem);
	if (n == 0) {
		j->st = TXN_PROBE_INTERNAL;
		errbuf_set(j->err, sizeof j->err,
		           "cannot load trust store %s: no certificate in it (%s)",
		           j->path[F_TRUST], pki_last_error(ebuf, sizeof ebuf));
		return -1;
	}
	ERR_clear_error();
	return 0;
}

static int load_cert(struct load_job *j, SSL_CTX *ctx)
{
	struct fileload_fail f;
	char *pem = NULL, *kpem = NULL, ebuf[200];
	size_t len = 0, klen = 0;
	bool same = strcmp(j->path[F_CERT], j->path[F_KEY]) == 0;
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL, *x;
	int rc = -1;
	BIO *b = NULL;

	if (fileload_read(j->path[F_CERT], file_max(F_CERT), &pem, &len, &f) == -1) {
		file_fail(&j->st, j->err, sizeof j->err, F_CERT, j->path[F_CERT], &f);
		goto out;
	}
	if (!same && fileload_read(j->path[F_KEY], file_max(F_KEY), &kpem, &klen, &f) == -1) {
		file_fail(&j->st, j->err, sizeof j->err, F_KEY, j->path[F_KEY], &f);
		goto out;
	}
	j->st = TXN_CLIENT_CERT_UNAVAILABLE;
	b = BIO_new_mem_buf(pem, (int)len);
	leaf = b != NULL ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	if (leaf == NULL || SSL_CTX_use_certificate(ctx, leaf) != 1) {
		errbuf_set(j->err, sizeof j->err, "cannot load client certificate %s: %s",
		           j->path[F_CERT], pki_last_error(ebuf, sizeof ebuf));
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			X509_free(x);
	ERR_clear_error(); /* the end of the PEM data */
	BIO_free(b);
	b = same ? BIO_new_mem_buf(pem, (int)len) : BIO_new_mem_buf(kpem, (int)klen);
	key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	if (key == NULL || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		errbuf_set(j->err, sizeof j->err, "cannot use client key %s with %s: %s",
		           j->path[F_KEY], j->path[F_CERT], pki_last_error(ebuf, sizeof ebuf));
		goto out;
	}
	tls_cert_facts_of(leaf, &j->client);
	j->has_cert = true;
	rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(leaf);
	BIO_free(b);
	if (pem != NULL)
		explicit_bzero(pem, len);
	if (kpem != NULL)
		explicit_bzero(kpem, klen);
	free(pem);
	free(kpem);
	return rc;
}

static void load_work(void *arg)
{
	struct load_job *j = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char ebuf[200];

	if (ctx == NULL) {
		j->st = TXN_PROBE_INTERNAL;
		errbuf_set(j->err, sizeof j->err, "SSL_CTX_new: %s",
		           pki_last_error(ebuf, sizeof ebuf));
		return;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (j->max_version == TLS_MAX_1_2)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	/* every run is a full handshake: that is what a device logging on does */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	/*
	 * Whole socket buffers instead of a header and then a body per record (25 reads per
	 * client-auth become about 8); tls_conn checks SSL_has_pending before it waits.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* tls_conn sets its callback per SSL */
	if (load_trust(j, ctx) == -1 || (j->path[F_CERT] != NULL && load_cert(j, ctx) == -1)) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return;
	}
	j->ssl = ctx;
}

static void load_job_free(void *arg)
{
	struct load_job *j = arg;

	SSL_CTX_free(j->ssl);
	for (int i = 0; i < F_COUNT; i++)
		free(j->path[i]);
	free(j);
}

/* On the loop: swap the result in and wake whoever waited. */
static void load_done(void *arg)
{
	struct load_job *j = arg;
	struct tls_ctx *t = j->entry;
	struct waiter *w;

	t->loading = false;
	t->loaded = true;
	memcpy(t->ids, j->ids, sizeof t->ids);
	if (j->ssl != NULL) {
		SSL_CTX_free(t->ssl);
		t->ssl = j->ssl;
		j->ssl = NULL;
		t->has_cert = j->has_cert;
		t->client = j->client;
		t->failed = false;
		log_debug("tls: loaded context %s", t->cache_key);
	} else {
		t->failed = true;
		t->fail_st = j->st;
		snprintf(t->fail_err, sizeof t->fail_err, "%s", j->err);
	}
	load_job_free(j);
	/* one at a time: a callback may cancel (free) another waiter, or start a new load */
	t->delivering = t->waiters;
	t->waiters = NULL;
	while ((w = t->delivering) != NULL) {
		t->delivering = w->next;
		w->cb(w->arg);
		free(w);
	}
}

/* ---- acquire ---- */

static int stat_files(const struct tls_ctx_params *p, struct file_id ids[F_COUNT],
                      enum txn_status *st, char *err, size_t errlen)
{
	const char *path[F_COUNT] = {p->trust_store, p->cert, p->key};

	memset(ids, 0, sizeof(struct file_id) * F_COUNT);
	for (int i = 0; i < F_COUNT; i++) {
		struct fileload_fail f;
		struct stat sb;
		if (path[i] == NULL && i != F_TRUST)
			continue;
		if (fileload_check(path[i], file_max(i), &sb, &f) == -1) {
			file_fail(st, err, errlen, i, path[i] != NULL ? path[i] : "(none)", &f);
			return -1;
		}
		ids[i].dev = sb.st_dev;
		ids[i].ino = sb.st_ino;
		ids[i].size = sb.st_size;
		ids[i].mtime = sb.st_mtim;
	}
	return 0;
}

static bool ids_eq(const struct file_id a[F_COUNT], const struct file_id b[F_COUNT])
{
	for (int i = 0; i < F_COUNT; i++)
		if (!file_id_eq(&a[i], &b[i]))
			return false;
	return true;
}

static void load_start(struct tls_ctx_cache *cache, struct tls_ctx *t,
                       const struct tls_ctx_params *p, const struct file_id ids[F_COUNT])
{
	struct load_job *j = xcalloc(1, sizeof *j);

	j->entry = t;
	j->path[F_TRUST] = xstrdup(p->trust_store);
	if (p->cert != NULL) {
		j->path[F_CERT] = xstrdup(p->cert);
		j->path[F_KEY] = xstrdup(p->key != NULL ? p->key : p->cert);
	}
	j->max_version = p->max_version;
	memcpy(j->ids, ids, sizeof j->ids);
	t->loading = true;
	if (cache->loader == NULL) {
		load_work(j);
		load_done(j);
		return;
	}
	offload_submit(cache->loader, j, load_work, load_done, load_job_free);
}

enum tls_ctx_ret tls_ctx_acquire(struct tls_ctx_cache *cache, const struct tls_ctx_params *p,
                                 tls_ctx_cb *cb, void *arg, struct tls_ctx **out,
                                 struct tls_cert_facts *client, enum txn_status *st, char *err,
                                 size_t errlen)
{
	struct file_id ids[F_COUNT];
	struct tls_ctx *t;
	char key[1200];

	*out = NULL;
	if (p->trust_store == NULL || (p->cert != NULL) != (p->key != NULL)) {
		*st = TXN_PROBE_INTERNAL;
		errbuf_set(err, errlen, "no trust store, or a certificate without its key");
		return TLS_CTX_FAILED;
	}
	if (stat_files(p, ids, st, err, errlen) == -1)
		return TLS_CTX_FAILED;
	snprintf(key, sizeof key, "%s|%s|%s|%d", p->trust_store, p->cert ? p->cert : "",
	         p->key ? p->key : "", (int)p->max_version);
	for (t = cache->ctxs; t != NULL; t = t->next)
		if (strcmp(t->cache_key, key) == 0)
			break;
	if (t == NULL) {
		t = xcalloc(1, sizeof *t);
		t->cache = cache;
		t->cache_key = xstrdup(key);
		t->next = cache->ctxs;
		cache->ctxs = t;
	}
	if (!t->loading && !(t->loaded && ids_eq(t->ids, ids)))
		load_start(cache, t, p, ids); /* without a loader it has ended on return */
	if (!t->loading) {
		if (t->failed) {
			*st = t->fail_st;
			errbuf_set(err, errlen, "%s", t->fail_err);
			return TLS_CTX_FAILED;
		}
		if (client != NULL)
			*client = t->client;
		*out = t;
		return TLS_CTX_READY;
	}
	{
		struct waiter *w = xcalloc(1, sizeof *w);
		w->cb = cb;
		w->arg = arg;
		w->next = t->waiters;
		t->waiters = w;
	}
	return TLS_CTX_PENDING;
}

static void waiters_cancel(struct waiter **pp, void *arg)
{
	while (*pp != NULL) {
		struct waiter *w = *pp;
		if (w->arg == arg) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void tls_ctx_cancel(struct tls_ctx_cache *cache, void *arg)
{
	for (struct tls_ctx *t = cache != NULL ? cache->ctxs : NULL; t != NULL; t = t->next) {
		waiters_cancel(&t->waiters, arg);
		waiters_cancel(&t->delivering, arg);
	}
}
