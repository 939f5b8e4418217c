/*
 * test_snapshot_since: snapshot_copy_since() copies again only the rows marked changed
 * and shares the others, strings and all, with the copy before; each copy stays intact
 * when the other is freed, and when the daemon's rows change under it (run under ASan in
 * the test build). A different row count or no changed[] makes a full copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "exporters/snapshot.h"

#define N 4

struct live {
	struct snapshot_txn rows[N];
	char detail[N][32];
	char name[N][16];
};

static void live_init(struct live *l, struct snapshot *s)
{
	memset(l, 0, sizeof *l);
	for (int i = 0; i < N; i++) {
		snprintf(l->name[i], sizeof l->name[i], "t%d", i);
		snprintf(l->detail[i], sizeof l->detail[i], "detail %d a", i);
		l->rows[i].name = l->name[i];
		l->rows[i].type = "client-auth";
		l->rows[i].detail = l->detail[i];
		l->rows[i].certs[CERT_ROLE_CLIENT].subject = l->detail[i];
		l->rows[i].duration_us = (uint64_t)i;
	}
	memset(s, 0, sizeof *s);
	s->txns = l->rows;
	s->n_txns = N;
}

static void test_unchanged_rows_shared(void **state)
{
	struct live l;
	struct snapshot s, *a, *b;
	uint8_t changed[N] = {0, 1, 0, 0};

	(void)state;
	live_init(&l, &s);
	a = snapshot_copy(&s);
	snprintf(l.detail[1], sizeof l.detail[1], "detail 1 b");
	l.rows[1].duration_us = 100;
	b = snapshot_copy_since(&s, a, changed, 0);
	/* the changed row is new, the others point at a's strings */
	assert_string_equal(b->txns[1].detail, "detail 1 b");
	assert_int_equal(b->txns[1].duration_us, 100);
	assert_ptr_not_equal(b->txns[1].detail, a->txns[1].detail);
	assert_ptr_equal(b->txns[0].detail, a->txns[0].detail);
	assert_ptr_equal(b->txns[3].name, a->txns[3].name);
	assert_string_equal(a->txns[1].detail, "detail 1 a");
	/* the live strings change: neither copy sees it */
	snprintf(l.detail[0], sizeof l.detail[0], "gone");
	snprintf(l.name[0], sizeof l.name[0], "gone");
	snapshot_unref(a); /* b keeps the shared strings alive */
	assert_string_equal(b->txns[0].detail, "detail 0 a");
	assert_string_equal(b->txns[0].certs[CERT_ROLE_CLIENT].subject, "detail 0 a");
	assert_string_equal(b->txns[0].name, "t0");
	assert_string_equal(b->txns[2].type, "client-auth");
	snapshot_unref(b);
}

static void test_chain_of_copies(void **state)
{
	struct live l;
	struct snapshot s, *c;
	uint8_t changed[N];

	(void)state;
	live_init(&l, &s);
	c = snapshot_copy(&s);
	for (int k = 0; k < 20; k++) {
		struct snapshot *next;
		int i = k % N;
		memset(changed, 0, sizeof changed);
		changed[i] = 1;
		snprintf(l.detail[i], sizeof l.detail[i], "detail %d run %d", i, k);
		next = snapshot_copy_since(&s, c, changed, 0);
		snapshot_unref(c);
		c = next;
	}
	for (int i = 0; i < N; i++)
		assert_string_equal(c->txns[i].detail, l.detail[i]);
	snapshot_unref(c);
}

static void test_full_copy_when_rows_differ(void **state)
{
	struct live l;
	struct snapshot s, *a, *b;
	uint8_t changed[N] = {0};

	(void)state;
	live_init(&l, &s);
	a = snapshot_copy(&s);
	s.n_txns = N - 1; /* another row set: nothing is shared */
	b = snapshot_copy_since(&s, a, changed, 0);
	assert_ptr_not_equal(b->txns[0].detail, a->txns[0].detail);
	snapshot_unref(b);
	b = snapshot_copy_since(&s, NULL, NULL, 0);
	assert_string_equal(b->txns[2].detail, "detail 2 a");
	snapshot_unref(b);
	snapshot_unref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unchanged_rows_shared),
	    cmocka_unit_test(test_chain_of_copies),
	    cmocka_unit_test(test_full_copy_when_rows_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
