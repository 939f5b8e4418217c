/*
 * scep_ca: what GetCACert returned, and the checks made on it and on the certificate
 * the CA issues. Chooses the RA encryption and signing certificates by key usage
 * (jscep's rule), never refusing a single candidate for its key usage (NDES and
 * micromdm CAs carry incomplete KU).
 */
#ifndef CERTPROBE_SCEP_CA_H
#define CERTPROBE_SCEP_CA_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "transactions/transaction_status.h"

struct scep_ca {
	STACK_OF(X509) *certs;   /* everything GetCACert returned (owned) */
	X509 *ca;                /* issuing CA (borrowed from certs) */
	X509 *recipient;         /* encrypt requests to this one */
	X509 *signer;            /* CertReps are signed by this one */
	bool ra_split;           /* recipient or signer is not the CA */
	STACK_OF(X509) *signers; /* signer (+ CA) for CertRep verification, borrowed refs */
	long warn_days;          /* scep_ca_check reports CA/RA certificates expiring within
	                            this many days; scep_ca_parse sets 30; 0 = never */
};

/*
 * Parse a GetCACert body: one DER certificate (application/x-x509-ca-cert) or a
 * degenerate SignedData (application/x-x509-ca-ra-cert), whatever the media type says;
 * a PEM body is accepted too. Fills ca (clear with scep_ca_clear).
 */
enum txn_status scep_ca_parse(const unsigned char *body, size_t len, struct scep_ca *ca,
                              char *detail, size_t dlen);
void scep_ca_clear(struct scep_ca *ca);
/*
 * dst (uninitialised) becomes a copy of src sharing its certificates (each gets a new
 * reference): clear both independently. The copy made after scep_ca_parse stands in for
 * parsing the same bytes again.
 */
void scep_ca_dup(const struct scep_ca *src, struct scep_ca *dst);

/*
 * Pin (NULL = none), validity and RA chain. May set ca->ca to the pinned cert.
 * Returns the first failure; *expiring_days is set (>= 0) when a CA/RA certificate
 * expires within 30 days, else -1.
 */
enum txn_status scep_ca_check(struct scep_ca *ca, const unsigned char *pin_sha256,
                              long *expiring_days, char *detail, size_t dlen);

/*
 * The certificate issued for key among certs; verifies key, validity and chain to
 * the CA. *issued gets a new reference. *subject_ok tells whether every requested
 * RDN is present (order-insensitive: CAs reorder RDNs).
 */
enum txn_status scep_issued_check(STACK_OF(X509) *certs, EVP_PKEY *key, const struct scep_ca *ca,
                                  const X509_NAME *requested, X509 **issued, bool *subject_ok,
                                  char *detail, size_t dlen);

#endif
