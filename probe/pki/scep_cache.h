/*
 * scep_cache: what an enrollment keeps in memory between its runs (issue 11), one entry
 * per state directory, so the files there are read once after a start and written only
 * when their content changes: the reused key with its run count and PEM text, the
 * self-signed signer, CSR and transactionID made for that key, the last GetCACert body
 * with its parsed certificates, and the capabilities last stored. Entries live as long as
 * the process and belong to the loop thread; scep_txn fills and reads them.
 */
#ifndef CERTPROBE_SCEP_CACHE_H
#define CERTPROBE_SCEP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/scep_ca.h"

struct scep_cache {
	struct scep_cache *next;
	char dir[512];  /* the transaction's state directory: the key of the entry */
	bool dir_ready; /* the directory exists and the old layout is gone */
	bool disk_read; /* key.pem and key-runs were read (after a start) */
	/* the reused key (NULL: none yet, or reuse is off) */
	EVP_PKEY *key;
	unsigned key_runs; /* runs it has served, as key-runs says */
	bool key_saved;    /* key.pem holds it */
	char *key_pem;     /* its PEM (identity.pem starts with it); wiped on change */
	size_t key_pem_len;
	/* made for key: valid while key, subject and digest are the same */
	X509 *signer;
	time_t signer_made;
	int signer_md;      /* digest NID it was signed with */
	char *subject;      /* the configured subject they were made for */
	unsigned char *csr; /* DER (OPENSSL_malloc) */
	size_t csr_len;
	int csr_md;
	unsigned char csr_challenge[32]; /* SHA-256 of the challenge it carries */
	bool csr_has_challenge;
	char tid[80]; /* transactionID of key; "" = not made */
	/* the last GetCACert answer: parsed again only when its bytes change */
	unsigned char *ca_body;
	size_t ca_body_len;
	struct scep_ca ca; /* as scep_ca_parse left it, before scep_ca_check */
	bool ca_saved;     /* ca.pem holds ca_body's CA */
	/* the capabilities last stored in "caps" */
	char caps[256];
	bool caps_read; /* caps holds the file's content ("" when there is none) */
};

/* The entry of state directory dir, made (empty) on first use; never NULL. */
struct scep_cache *scep_cache_get(const char *dir);

/* Replace the reused key (a new reference is taken; NULL drops it) and forget what was
 * made for the old one. runs and saved describe the new key. */
void scep_cache_set_key(struct scep_cache *c, EVP_PKEY *key, unsigned runs, bool saved);

/* Forget the GetCACert answer. */
void scep_cache_forget_ca(struct scep_cache *c);

/* Free every entry (tests; a process may simply exit). */
void scep_cache_free_all(void);

#endif
