/*
 * tls_diag: turns an X.509 verification result into our status, naming the missing
 * link precisely (incomplete chain vs untrusted root vs expiry).
 */
#ifndef CERTPROBE_TLS_DIAG_H
#define CERTPROBE_TLS_DIAG_H

#include "transactions/transaction_status.h"

enum txn_status tls_diag_verify_status(long x509_verify_result);
/* OpenSSL's text for the result, e.g. "certificate has expired" */
const char *tls_diag_verify_string(long x509_verify_result);

#endif
