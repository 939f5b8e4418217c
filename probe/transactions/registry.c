/*
 * registry: the list of transaction types, and the type-independent wrapper of one run.
 * Adding a type is one line in txn_types[] below (and its folder).
 */
#include "transactions/txn_type.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/xalloc.h"
#include "transactions/certprov/certprov_txn.h"
#include "transactions/clientauth/clientauth_txn.h"
#include "transactions/scep/scep_txn.h"

const struct txn_type *const txn_types[] = {
    &scep_txn_type,
    &clientauth_txn_type,
    &certprov_txn_type,
    NULL,
};

const struct txn_type *txn_type_find(const char *name)
{
	for (size_t i = 0; txn_types[i] != NULL; i++)
		if (name != NULL && strcmp(txn_types[i]->name, name) == 0)
			return txn_types[i];
	return NULL;
}

static const char *const endpoint_kind_names[ENDPOINT_KIND_COUNT] = {
    [ENDPOINT_KIND_REGISTRAR] = "registrar",
    [ENDPOINT_KIND_WEB_SERVICE] = "web_service",
};

const char *endpoint_kind_name(enum endpoint_kind kind)
{
	return (unsigned)kind < ENDPOINT_KIND_COUNT ? endpoint_kind_names[kind] : "unknown";
}

int endpoint_kind_parse(const char *s, enum endpoint_kind *kind)
{
	for (unsigned i = 0; i < ENDPOINT_KIND_COUNT; i++)
		if (s != NULL && strcmp(endpoint_kind_names[i], s) == 0) {
			*kind = (enum endpoint_kind)i;
			return 0;
		}
	return -1;
}

struct txn {
	const struct txn_type *type;
	void *run;
};

struct txn *txn_start(const struct txn_env *env, const struct txn_conf *conf, txn_done_cb *cb,
                      void *arg)
{
	struct txn *t = xcalloc(1, sizeof *t);

	t->type = txn_conf_type(conf);
	t->run = t->type->start(env, conf, cb, arg);
	return t;
}

void txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	t->type->free(t->run);
	free(t);
}

void txn_result_init_for(struct txn_result *r, const struct txn_conf *conf)
{
	const struct txn_type *type = txn_conf_type(conf);
	char target[256];

	type->describe(conf, target, sizeof target);
	txn_result_init(r, conf->name, target, type->name, type->protocol(conf));
}

const struct txn_type *txn_conf_type(const struct txn_conf *conf)
{
	return conf->type;
}

const char *txn_conf_depends_on(const struct txn_conf *conf)
{
	return conf->type->depends_on != NULL ? conf->type->depends_on(conf) : NULL;
}

const char *txn_step_name_intern(const char *name)
{
	for (size_t i = 0; name != NULL && txn_types[i] != NULL; i++)
		for (const char *const *s = txn_types[i]->steps; *s != NULL; s++)
			if (strcmp(*s, name) == 0)
				return *s;
	return "other";
}
