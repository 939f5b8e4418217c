/*
 * test_keypool: the key pool on a real libevent loop. Keys arrive through callbacks on
 * the loop thread, in request order, never from inside keypool_get; stock is served
 * without generation; freeing a pool with work in flight leaks nothing (ASan/LSan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "pki/keypool.h"

#define MAX_KEYS 16
#define SAFETY_SECONDS 30

struct delivery {
	struct keypool *pool;
	pthread_t loop_thread;
	bool in_get;      /* set around keypool_get calls */
	bool bad_context; /* a callback ran inside keypool_get or off the loop thread */
	int count;
	int order[MAX_KEYS]; /* request index, in delivery order */
	EVP_PKEY *keys[MAX_KEYS];
	uint64_t gen_us[MAX_KEYS];
	bool chain; /* the first callback asks for one more key */
};

struct request {
	struct delivery *d;
	int index;
};

static const struct key_spec spec_ec = {.rsa_bits = 0, .ec_nid = NID_X9_62_prime256v1};
static const struct key_spec spec_rsa = {.rsa_bits = 2048, .ec_nid = 0};

static void on_key(EVP_PKEY *key, uint64_t gen_us, void *arg);

static void get_key(struct delivery *d, struct request *r, const struct key_spec *spec)
{
	d->in_get = true;
	keypool_get(d->pool, spec, on_key, r);
	d->in_get = false;
}

static void on_key(EVP_PKEY *key, uint64_t gen_us, void *arg)
{
	struct request *r = arg;
	struct delivery *d = r->d;

	if (d->in_get || !pthread_equal(pthread_self(), d->loop_thread))
		d->bad_context = true;
	if (d->count < MAX_KEYS) {
		d->order[d->count] = r->index;
		d->keys[d->count] = key;
		d->gen_us[d->count] = gen_us;
	} else {
		EVP_PKEY_free(key);
	}
	d->count++;
	if (d->chain) {
		/* asking for another key from inside a callback must not deadlock */
		static struct request again;
		d->chain = false;
		again.d = d;
		again.index = 99;
		get_key(d, &again, &spec_ec);
	}
}

static void on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Run the loop until want keys arrived; false on the 30 s safety timeout. */
static bool run_until(struct event_base *base, struct delivery *d, int want)
{
	bool timed_out = false;
	struct event *safety = evtimer_new(base, on_safety, &timed_out);
	struct timeval tv = {SAFETY_SECONDS, 0};

	evtimer_add(safety, &tv);
	while (d->count < want && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(safety);
	return !timed_out;
}

static void delivery_free(struct delivery *d)
{
	for (int i = 0; i < d->count && i < MAX_KEYS; i++)
		EVP_PKEY_free(d->keys[i]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool is_p256(EVP_PKEY *k)
{
	char group[64];
	size_t n = 0;

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	if (EVP_PKEY_get_group_name(k, group, sizeof group, &n) != 1)
		return false;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

static bool is_rsa2048(EVP_PKEY *k)
{
	return k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) == 2048;
}

static int group_setup(void **state)
{
	(void)state;
	return evthread_use_pthreads();
}

static void test_keypool_generate(void **state)
{
	EVP_PKEY *ec = keypool_generate(&spec_ec);
	EVP_PKEY *rsa = keypool_generate(&spec_rsa);
	struct key_spec bad = {.rsa_bits = 0, .ec_nid = NID_sha256};

	(void)state;
	assert_true(is_p256(ec));
	assert_true(is_rsa2048(rsa));
	assert_null(keypool_generate(&bad));
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void test_keypool_delivers_on_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct delivery d = {0};
	struct request req[3];

	(void)state;
	assert_non_null(base);
	d.loop_thread = pthread_self();
	d.pool = keypool_new(base, 0);
	assert_non_null(d.pool);
	for (int i = 0; i < 3; i++) {
		req[i].d = &d;
		req[i].index = i;
	}
	get_key(&d, &req[0], &spec_ec);
	get_key(&d, &req[1], &spec_ec);
	get_key(&d, &req[2], &spec_rsa);
	assert_int_equal(d.count, 0); /* nothing before the loop runs */

	assert_true(run_until(base, &d, 3));
	assert_int_equal(d.count, 3);
	assert_false(d.bad_context);
	/* in request order */
	assert_int_equal(d.order[0], 0);
	assert_int_equal(d.order[1], 1);
	assert_int_equal(d.order[2], 2);
	assert_true(is_p256(d.keys[0]));
	assert_true(is_p256(d.keys[1]));
	assert_true(is_rsa2048(d.keys[2]));
	assert_int_equal(EVP_PKEY_eq(d.keys[0], d.keys[1]), 0); /* two different keys */
	assert_true(d.gen_us[2] > 0);                           /* generated, not from stock */

	keypool_free(d.pool);
	delivery_free(&d);
	event_base_free(base);
}

static void test_keypool_stock_served_later(void **state)
{
	struct event_base *base = event_base_new();
	struct delivery d = {0};
	struct request r = {&d, 0};
	bool ok;

	(void)state;
	d.loop_thread = pthread_self();
	d.pool = keypool_new(base, 1);
	keypool_stock(d.pool, &spec_ec);
	/* a P-256 key takes about a millisecond; give the worker ample time */
	sleep_ms(1500);
	get_key(&d, &r, &spec_ec);
	/* even a key that is ready is handed over by the loop, not by keypool_get */
	assert_int_equal(d.count, 0);
	ok = run_until(base, &d, 1);
	assert_true(ok);
	assert_int_equal(d.count, 1);
	assert_false(d.bad_context);
	assert_true(is_p256(d.keys[0]));
	assert_int_equal(d.gen_us[0], 0); /* came ready from the pool */
	keypool_free(d.pool);
	delivery_free(&d);
	event_base_free(base);
}

static void test_keypool_many_and_chained(void **state)
{
	struct event_base *base = event_base_new();
	struct delivery d = {0};
	struct request req[8];

	(void)state;
	d.loop_thread = pthread_self();
	d.pool = keypool_new(base, 2);
	d.chain = true;
	for (int i = 0; i < 8; i++) {
		req[i].d = &d;
		req[i].index = i;
		get_key(&d, &req[i], &spec_ec);
	}
	assert_true(run_until(base, &d, 9));
	assert_int_equal(d.count, 9);
	assert_false(d.bad_context);
	for (int i = 0; i < 9; i++)
		assert_true(is_p256(d.keys[i]));
	/* the eight requests in order; the chained one somewhere after the first */
	for (int i = 0, want = 0; i < 9; i++) {
		if (d.order[i] == 99)
			continue;
		assert_int_equal(d.order[i], want++);
	}
	keypool_free(d.pool);
	delivery_free(&d);
	event_base_free(base);
}

static void test_keypool_generation_failure(void **state)
{
	struct event_base *base = event_base_new();
	struct delivery d = {0};
	struct request r = {&d, 0};
	struct key_spec bad = {.rsa_bits = 0, .ec_nid = NID_sha256};

	(void)state;
	d.loop_thread = pthread_self();
	d.pool = keypool_new(base, 1);
	get_key(&d, &r, &bad);
	assert_true(run_until(base, &d, 1));
	assert_int_equal(d.count, 1);
	assert_null(d.keys[0]); /* a failed generation is reported as NULL */
	/* the pool still works for good specs */
	get_key(&d, &r, &spec_ec);
	assert_true(run_until(base, &d, 2));
	assert_true(is_p256(d.keys[1]));
	keypool_free(d.pool);
	delivery_free(&d);
	event_base_free(base);
}

static void test_keypool_free_with_pending_work(void **state)
{
	struct event_base *base = event_base_new();
	struct delivery d = {0};
	struct request r[2] = {{&d, 0}, {&d, 1}};

	(void)state;
	d.loop_thread = pthread_self();
	keypool_free(NULL); /* NULL-safe */

	/* stock in progress (RSA takes a while), a waiter, and a served key whose
	 * callback never gets to run: all freed, nothing called */
	d.pool = keypool_new(base, 4);
	keypool_stock(d.pool, &spec_rsa);
	keypool_stock(d.pool, &spec_ec);
	get_key(&d, &r[0], &spec_ec);
	sleep_ms(50);
	get_key(&d, &r[1], &spec_rsa);
	keypool_free(d.pool);
	assert_int_equal(d.count, 0);

	/* the loop still runs cleanly after the pool's event is gone */
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);

	/* a pool freed right after creation, worker still starting */
	d.pool = keypool_new(base, 16);
	keypool_free(d.pool);

	/* a pool with full stock */
	d.pool = keypool_new(base, 3);
	keypool_stock(d.pool, &spec_ec);
	sleep_ms(500);
	keypool_free(d.pool);
	assert_int_equal(d.count, 0);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keypool_generate),
	    cmocka_unit_test(test_keypool_delivers_on_loop),
	    cmocka_unit_test(test_keypool_stock_served_later),
	    cmocka_unit_test(test_keypool_many_and_chained),
	    cmocka_unit_test(test_keypool_generation_failure),
	    cmocka_unit_test(test_keypool_free_with_pending_work),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
