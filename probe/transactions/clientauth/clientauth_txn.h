/*
 * clientauth_txn: the client-auth transaction, what a device does after enrollment:
 * find the registrar (static, or DNS SRV in device order with A-record fallbacks),
 * connect, mutual-TLS handshake verified against a device-like trust store, SIP
 * REGISTER (or OPTIONS) with the certificate's identity, follow a redirect to the home
 * pool, then un-REGISTER so no binding is left behind. One deadline covers it all; it
 * ends with exactly one callback.
 */
#ifndef CERTPROBE_CLIENTAUTH_TXN_H
#define CERTPROBE_CLIENTAUTH_TXN_H

#include "config/config.h"
#include "transactions/txn_type.h"

/*
 * The client-auth type: its ops are the only way in (registry.c lists it). Start needs
 * env->base, dns, tls and state_dir.
 */
extern const struct txn_type clientauth_txn_type;

#endif
