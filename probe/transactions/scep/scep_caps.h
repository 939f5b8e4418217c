/*
 * scep_caps: GetCACaps (RFC 8894 §3.5.2) parsing and the algorithm choice it drives.
 * Pure: bytes in, flags out.
 */
#ifndef CERTPROBE_SCEP_CAPS_H
#define CERTPROBE_SCEP_CAPS_H

#include <stddef.h>

enum scep_cap {
	SCEP_CAP_AES = 1u << 0,
	SCEP_CAP_DES3 = 1u << 1,
	SCEP_CAP_GET_NEXT_CA_CERT = 1u << 2,
	SCEP_CAP_POST_PKI_OPERATION = 1u << 3,
	SCEP_CAP_RENEWAL = 1u << 4,
	SCEP_CAP_SHA1 = 1u << 5,
	SCEP_CAP_SHA256 = 1u << 6,
	SCEP_CAP_SHA512 = 1u << 7,
	SCEP_CAP_SCEP_STANDARD = 1u << 8,
	SCEP_CAP_SHA224 = 1u << 9,
	SCEP_CAP_SHA384 = 1u << 10,
	SCEP_CAP_UPDATE = 1u << 11,
};

/* Case-insensitive keywords split on LF/CRLF; unknown lines ignored. SCEPStandard
 * implies AES, POSTPKIOperation and SHA-256. */
unsigned scep_caps_parse(const char *body, size_t len);
/* "AES,POSTPKIOperation,..." in a fixed order into buf; "none" when 0. */
void scep_caps_string(unsigned caps, char *buf, size_t len);

/* RFC preference: AES-128-CBC over 3DES; SHA-256 over SHA-512/SHA-1. No caps: 3DES/SHA-1. */
const char *scep_caps_cipher_name(unsigned caps); /* OpenSSL name: "AES-128-CBC", "DES-EDE3-CBC" */
const char *scep_caps_digest_name(unsigned caps); /* "SHA256", "SHA512", "SHA1" */

#endif
