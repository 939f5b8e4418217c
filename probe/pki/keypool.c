/*
 * keypool: a worker thread with a request queue and per-spec stocks. The loop thread
 * is woken through an eventfd the worker writes; no libevent call crosses threads.
 */
#include "pki/keypool.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "core/clock.h"
#include "core/xalloc.h"

#define KEYPOOL_MAX_SPECS 8

struct keypool_waiter {
	struct key_spec spec;
	keypool_cb *cb;
	void *arg;
	EVP_PKEY *key; /* set when served */
	uint64_t gen_us;
	struct keypool_waiter *next;
};

struct keypool_stock_entry {
	struct key_spec spec;
	EVP_PKEY *keys[16];
	unsigned n;
	bool broken; /* generation failed while stocking: stop trying for stock */
};

struct keypool {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	unsigned depth;
	int wake_fd;                    /* eventfd the worker writes when a key is served */
	struct event *wake;             /* persistent read event on wake_fd */
	struct keypool_waiter *waiting; /* need a key */
	struct keypool_waiter *served;  /* have a key, callback pending */
	struct keypool_stock_entry stocks[KEYPOOL_MAX_SPECS];
	unsigned n_stocks;
};

static bool key_spec_eq(const struct key_spec *a, const struct key_spec *b)
{
	return a->rsa_bits == b->rsa_bits && (a->rsa_bits > 0 || a->ec_nid == b->ec_nid);
}

EVP_PKEY *keypool_generate(const struct key_spec *spec)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	if (spec->rsa_bits > 0) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, spec->rsa_bits) <= 0)
			goto out;
	} else {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, spec->ec_nid) <= 0)
			goto out;
	}
	if (EVP_PKEY_generate(ctx, &key) <= 0)
		key = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void keypool_signal(struct keypool *pool)
{
	uint64_t one = 1;
	ssize_t r = write(pool->wake_fd, &one, sizeof one);

	(void)r; /* EAGAIN means a wake-up is already pending */
}

/* Under mu: the stock entry for spec, created on first use. */
static struct keypool_stock_entry *keypool_stock_for(struct keypool *pool,
                                                     const struct key_spec *spec)
{
	for (unsigned i = 0; i < pool->n_stocks; i++)
		if (key_spec_eq(&pool->stocks[i].spec, spec))
			return &pool->stocks[i];
	if (pool->n_stocks == KEYPOOL_MAX_SPECS)
		return NULL;
	memset(&pool->stocks[pool->n_stocks], 0, sizeof pool->stocks[0]);
	pool->stocks[pool->n_stocks].spec = *spec;
	return &pool->stocks[pool->n_stocks++];
}

/* Under mu: what the worker should make next; false when nothing is needed. */
static bool keypool_next_job(struct keypool *pool, struct key_spec *spec)
{
	if (pool->waiting != NULL) {
		*spec = pool->waiting->spec;
		return true;
	}
	for (unsigned i = 0; i < pool->n_stocks; i++) {
		if (!pool->stocks[i].broken && pool->stocks[i].n < pool->depth) {
			*spec = pool->stocks[i].spec;
			return true;
		}
	}
	return false;
}

/* Under mu: give key to the first waiter for spec, else stock it. */
static void keypool_place(struct keypool *pool, const struct key_spec *spec, EVP_PKEY *key,
                          uint64_t gen_us)
{
	struct keypool_waiter **pp = &pool->waiting;
	struct keypool_stock_entry *st;

	while (*pp != NULL && !key_spec_eq(&(*pp)->spec, spec))
		pp = &(*pp)->next;
	if (*pp != NULL) {
		struct keypool_waiter *w = *pp;
		*pp = w->next;
		w->key = key;
		w->gen_us = gen_us;
		w->next = pool->served;
		pool->served = w;
		keypool_signal(pool);
		return;
	}
	st = keypool_stock_for(pool, spec);
	if (key == NULL) {
		if (st != NULL)
			st->broken = true;
		return;
	}
	if (st != NULL && st->n < sizeof st->keys / sizeof st->keys[0])
		st->keys[st->n++] = key;
	else
		EVP_PKEY_free(key);
}

static void *keypool_worker(void *arg)
{
	struct keypool *pool = arg;
	struct key_spec spec;

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		EVP_PKEY *key;
		uint64_t t0;
		while (!pool->stop && !keypool_next_job(pool, &spec))
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->stop)
			break;
		pthread_mutex_unlock(&pool->mu);
		t0 = clock_now_us();
		key = keypool_generate(&spec);
		pthread_mutex_lock(&pool->mu);
		keypool_place(pool, &spec, key, clock_now_us() - t0);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

static void keypool_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct keypool *pool = arg;
	struct keypool_waiter *list;
	uint64_t count;
	ssize_t r = read(fd, &count, sizeof count);

	(void)r;
	(void)what;
	pthread_mutex_lock(&pool->mu);
	list = pool->served;
	pool->served = NULL;
	pthread_mutex_unlock(&pool->mu);
	/* served is LIFO; reverse to answer in request order */
	{
		struct keypool_waiter *rev = NULL;
		while (list != NULL) {
			struct keypool_waiter *n = list->next;
			list->next = rev;
			rev = list;
			list = n;
		}
		list = rev;
	}
	while (list != NULL) {
		struct keypool_waiter *w = list;
		list = w->next;
		w->cb(w->key, w->gen_us, w->arg);
		free(w);
	}
}

struct keypool *keypool_new(struct event_base *base, unsigned depth)
{
	struct keypool *pool = xcalloc(1, sizeof *pool);

	pool->depth = depth > 16 ? 16 : depth;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->wake_fd == -1)
		abort();
	pool->wake = event_new(base, pool->wake_fd, EV_READ | EV_PERSIST, keypool_wake_cb, pool);
	event_add(pool->wake, NULL);
	if (pthread_create(&pool->thread, NULL, keypool_worker, pool) != 0)
		abort();
	return pool;
}

void keypool_free(struct keypool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = true;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	pthread_join(pool->thread, NULL);
	while (pool->waiting != NULL) {
		struct keypool_waiter *w = pool->waiting;
		pool->waiting = w->next;
		free(w);
	}
	while (pool->served != NULL) {
		struct keypool_waiter *w = pool->served;
		pool->served = w->next;
		EVP_PKEY_free(w->key);
		free(w);
	}
	for (unsigned i = 0; i < pool->n_stocks; i++)
		for (unsigned j = 0; j < pool->stocks[i].n; j++)
			EVP_PKEY_free(pool->stocks[i].keys[j]);
	event_free(pool->wake);
	close(pool->wake_fd);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}

void keypool_stock(struct keypool *pool, const struct key_spec *spec)
{
	pthread_mutex_lock(&pool->mu);
	keypool_stock_for(pool, spec);
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

static void keypool_drop(struct keypool_waiter **pp, void *arg)
{
	while (*pp != NULL) {
		struct keypool_waiter *w = *pp;
		if (w->arg == arg) {
			*pp = w->next;
			EVP_PKEY_free(w->key);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void keypool_cancel(struct keypool *pool, void *arg)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	keypool_drop(&pool->waiting, arg);
	keypool_drop(&pool->served, arg);
	pthread_mutex_unlock(&pool->mu);
}

void keypool_get(struct keypool *pool, const struct key_spec *spec, keypool_cb *cb, void *arg)
{
	struct keypool_waiter *w = xcalloc(1, sizeof *w);
	struct keypool_stock_entry *st;

	w->spec = *spec;
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&pool->mu);
	st = keypool_stock_for(pool, spec);
	if (st != NULL && st->n > 0) {
		w->key = st->keys[--st->n];
		w->next = pool->served;
		pool->served = w;
		keypool_signal(pool);
	} else {
		struct keypool_waiter **pp = &pool->waiting;
		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = w;
	}
	pthread_cond_signal(&pool->cv); /* restock */
	pthread_mutex_unlock(&pool->mu);
}
