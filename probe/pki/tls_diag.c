/* tls_diag: X509_V_ERR_* to txn_status (see tls_diag.h). */
#include "pki/tls_diag.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

enum txn_status tls_diag_verify_status(long v)
{
	switch (v) {
	case X509_V_OK:
		return TXN_OK;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return TXN_TLS_CHAIN_INCOMPLETE;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return TXN_TLS_SELF_SIGNED;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return TXN_TLS_UNTRUSTED_ROOT;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return TXN_TLS_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TXN_TLS_CERT_NOT_YET_VALID;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return TXN_TLS_NAME_MISMATCH;
	default:
		return TXN_TLS_VERIFY_FAILED;
	}
}

const char *tls_diag_verify_string(long v)
{
	return X509_verify_cert_error_string(v);
}
