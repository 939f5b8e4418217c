/*
 * test_cfg_mask: secret masking (config/cfg_mask) as the error echo (config/cfg_source)
 * prints it, driven by a test-only schema whose secret key, "pin", no production table
 * has: what is masked follows the CFG_SECRET flags of the tables the masker is given,
 * and nothing else; the production secret names ("value", "challenge", "password") mean
 * nothing to it here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_mask.h"
#include "config/cfg_source.h"
#include "config/cfg_walk.h"

/* A Lync PIN logon: auth: {pin: SECRET, phone: ...} under lync:. */
static const struct cfg_key pin_keys[] = {
    {.key = "pin", .kind = CFG_SCALAR, .flags = CFG_SECRET},
    {.key = "phone", .kind = CFG_SCALAR},
    {.key = NULL},
};

static const struct cfg_key lync_keys[] = {
    {.key = "auth", .kind = CFG_MAPPING, .sub = pin_keys},
    {.key = "pool", .kind = CFG_SCALAR},
    {.key = NULL},
};

static const struct cfg_key root_keys[] = {
    {.key = "lync", .kind = CFG_MAPPING, .sub = lync_keys},
    {.key = NULL},
};

/* Echo every line of text as an error report would, masked by the schema rooted at root. */
static char *echo(const char *text, const struct cfg_key *root)
{
	struct cfg_source src;
	struct cfg_span *masks = NULL;
	size_t nmasks = 0, len = 0;
	char *out = NULL;
	FILE *f;

	assert_int_equal(cfg_source_init(&src, "t.yaml", (const unsigned char *)text, strlen(text)),
	                 0);
	for (unsigned line = 1; line <= src.nlines; line++)
		cfg_source_error(&src, line, 1, NULL, "line %u", line);
	cfg_source_index_chars(&src);
	cfg_mask_compute(&src, root, &masks, &nmasks);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	cfg_source_report(&src, f, masks, nmasks);
	fclose(f);
	free(masks);
	cfg_source_free(&src);
	return out;
}

static void expect_echo(const char *text, const char *want)
{
	char *out = echo(text, root_keys);

	if (strstr(out, want) == NULL)
		fail_msg("input:\n%s\nwanted the line:\n%s\ngot:\n%s", text, want, out);
	free(out);
}

static void test_secret_flag_masks(void **state)
{
	(void)state;
	/* the flagged key's value only; its siblings and the rest of the line stay */
	expect_echo("lync: {auth: {pin: 1234, phone: 5551234}, pool: p1}\n",
	            "  lync: {auth: {pin: ********, phone: 5551234}, pool: p1}\n");
	expect_echo("lync:\n  auth:\n    pin: 1234\n    phone: 5551234\n", "      pin: ********\n");
	expect_echo("lync:\n  auth:\n    pin: 1234\n    phone: 5551234\n",
	            "      phone: 5551234\n");
	/* a stray key in the holder may be the secret: key and value masked */
	expect_echo("lync: {auth: {pin: 1234, pni: 9876}}\n",
	            "  lync: {auth: {pin: ********, ********: ********}}\n");
	/* the holder in the wrong shape: a scalar or a list where the mapping goes */
	expect_echo("lync: {auth: 1234}\n", "  lync: {auth: ********}\n");
	expect_echo("lync: {auth: [1234, 5678]}\n", "  lync: {auth: [********, ********]}\n");
	expect_echo("lync: {auth: {pin: [1234]}}\n", "  lync: {auth: {pin: [********]}}\n");
	/* an alias in a secret place masks what its anchor marked */
	expect_echo("x: &p 1234\nlync: {auth: {pin: *p}}\n", "  x: ********\n");
}

static void test_no_key_names_in_the_masker(void **state)
{
	(void)state;
	/* the production secrets' names are ordinary keys under this schema */
	expect_echo("lync: {pool: p1, value: hunter2, challenge: hunter3, password: hunter4}\n",
	            "  lync: {pool: p1, value: hunter2, challenge: hunter3, password: hunter4}\n");
	expect_echo("challenge: {value: hunter2}\n", "  challenge: {value: hunter2}\n");
	/* a key no table of its mapping knows is judged by what its name means in the schema */
	expect_echo("other: {pin: 1234, value: hunter2}\n",
	            "  other: {pin: ********, value: hunter2}\n");
	expect_echo("other: {auth: {pni: 1234}}\n", "  other: {auth: {********: ********}}\n");
	/* the same text under no schema at all: nothing is a secret */
	{
		static const struct cfg_key none[] = {{.key = NULL}};
		char *out = echo("lync: {auth: {pin: 1234}}\n", none);
		assert_non_null(strstr(out, "  lync: {auth: {pin: 1234}}\n"));
		free(out);
	}
}

static void test_after_scanner_error(void **state)
{
	(void)state;
	/* inside the secret: everything after it */
	expect_echo("lync: {auth: {pin: \"1234\n", "  lync: {auth: {pin: ********\n");
	/* before it: from the first name of a secret or a holder of one */
	expect_echo("x: \"open\nlync: {auth: {pin: 1234}}\n", "  lync: {********\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_flag_masks),
	    cmocka_unit_test(test_no_key_names_in_the_masker),
	    cmocka_unit_test(test_after_scanner_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
