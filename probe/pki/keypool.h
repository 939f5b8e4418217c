/*
 * keypool: private keys made off the transaction path. One worker thread generates
 * keys (RSA keygen costs 0.1–0.7 s and must never block the event loop or sit inside a
 * transaction's timing); finished keys are handed to callbacks on the loop thread.
 * Each key spec keeps up to `depth` keys ready.
 */
#ifndef CERTPROBE_KEYPOOL_H
#define CERTPROBE_KEYPOOL_H

#include <stdint.h>

#include <openssl/evp.h>

struct event_base;
struct keypool;

struct key_spec {
	int rsa_bits; /* > 0: RSA with this many bits */
	int ec_nid;   /* else: EC curve NID */
};

/*
 * key: owned by the callee from now on (NULL when generation failed);
 * gen_us: wall time the worker spent making it (0 if it came ready from the pool).
 */
typedef void keypool_cb(EVP_PKEY *key, uint64_t gen_us, void *arg);

/* The pool keeps one persistent event on base: run the loop until your own work is done. */
struct keypool *keypool_new(struct event_base *base, unsigned depth);
/* Stops the worker (waits for the key in progress) and frees ready keys. NULL-safe. */
void keypool_free(struct keypool *pool);

/* Make sure spec is stocked (up to depth keys), without asking for one. */
void keypool_stock(struct keypool *pool, const struct key_spec *spec);
/* Ask for a key; cb runs later on the loop thread, never from inside this call. */
void keypool_get(struct keypool *pool, const struct key_spec *spec, keypool_cb *cb, void *arg);

/*
 * Forget every request made with arg (waiting, or served with its callback not yet run):
 * their callbacks never run and served keys are freed. Call it on the loop thread, e.g.
 * before freeing arg.
 */
void keypool_cancel(struct keypool *pool, void *arg);

/* Generate one key synchronously (for the worker and for tests). */
EVP_PKEY *keypool_generate(const struct key_spec *spec);

#endif
