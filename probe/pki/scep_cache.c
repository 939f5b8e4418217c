/* scep_cache: an enrollment's state kept in memory between runs (see scep_cache.h). */
#include "pki/scep_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/xalloc.h"

/*
 * A list: a daemon has a few SCEP transactions per site, and the entry is found once per
 * run (at start), next to an RSA signature.
 */
static struct scep_cache *scep_cache_head;

struct scep_cache *scep_cache_get(const char *dir)
{
	struct scep_cache *c;

	for (c = scep_cache_head; c != NULL; c = c->next)
		if (strcmp(c->dir, dir) == 0)
			return c;
	c = xcalloc(1, sizeof *c);
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	c->next = scep_cache_head;
	scep_cache_head = c;
	return c;
}

static void scep_cache_clear_made(struct scep_cache *c)
{
	X509_free(c->signer);
	c->signer = NULL;
	OPENSSL_free(c->csr);
	c->csr = NULL;
	c->csr_len = 0;
	free(c->subject);
	c->subject = NULL;
	c->tid[0] = '\0';
	if (c->key_pem != NULL) {
		explicit_bzero(c->key_pem, c->key_pem_len);
		free(c->key_pem);
	}
	c->key_pem = NULL;
	c->key_pem_len = 0;
}

void scep_cache_set_key(struct scep_cache *c, EVP_PKEY *key, unsigned runs, bool saved)
{
	if (key != c->key) {
		scep_cache_clear_made(c);
		if (key != NULL)
			EVP_PKEY_up_ref(key);
		EVP_PKEY_free(c->key);
		c->key = key;
	}
	c->key_runs = runs;
	c->key_saved = saved;
}

void scep_cache_forget_ca(struct scep_cache *c)
{
	free(c->ca_body);
	c->ca_body = NULL;
	c->ca_body_len = 0;
	scep_ca_clear(&c->ca);
	c->ca_saved = false;
}

void scep_cache_free_all(void)
{
	while (scep_cache_head != NULL) {
		struct scep_cache *c = scep_cache_head;
		scep_cache_head = c->next;
		scep_cache_set_key(c, NULL, 0, false);
		scep_cache_forget_ca(c);
		free(c);
	}
}
