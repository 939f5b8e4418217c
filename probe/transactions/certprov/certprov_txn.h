/*
 * certprov_txn: the phone-bootstrap transaction (Lync Phone Edition sign-in by PIN,
 * Test-CsPhoneBootstrap) as a resumable step machine with one overall deadline:
 * discover → root chain over anonymous HTTP → HTTPS verification of Web Services
 * against the device trust store and that chain → /mex → web ticket (PIN or
 * UsernameToken, cached until 60 s before it expires) → CSR → GetAndPublishCert →
 * verify → store. It reaches the network only through http_client and keys only
 * through keypool; it ends with exactly one callback.
 */
#ifndef CERTPROBE_CERTPROV_TXN_H
#define CERTPROBE_CERTPROV_TXN_H

#include "transactions/txn_type.h"

/*
 * The phone-bootstrap type: its ops are the only way in (registry.c lists it). Start
 * needs env->base, http, keys and state_dir. Its issued certificate and key are left in
 * the state directory for a client-auth (certificate: {from: NAME}).
 */
extern const struct txn_type certprov_txn_type;

/* Forget every cached web ticket (tests; a reload keeps them). */
void certprov_txn_ticket_cache_clear(void);

#endif
