/*
 * host: the one syntax check for a host the probe connects to or names, wherever the
 * configuration gives one (a URL's authority, the registrar's host, domain and tls_name).
 * Pure functions, no allocation; needs neither libyaml nor curl.
 */
#ifndef CERTPROBE_HOST_H
#define CERTPROBE_HOST_H

#include <stddef.h>

/* Where the host text comes from, which decides how an IPv6 literal is written. */
enum host_syntax {
	HOST_BARE, /* a key's value: a DNS name, an IPv4 address or a bare IPv6 address */
	HOST_URL,  /* a URL's host: a DNS name, an IPv4 address or [IPv6] in brackets */
};

/*
 * Check the len bytes at s (not NUL-terminated; a NUL inside is refused) as a host:
 * - a DNS name of RFC 1123 labels: letters, digits and '-', 1 to 63 bytes each, not
 *   starting or ending with '-', at most 253 bytes in all, an optional trailing dot;
 *   its last label is not all digits (that would be a broken IPv4 address);
 * - an IPv4 address: exactly four decimal numbers from 0 to 255 without leading zeros;
 * - an IPv6 address, bare or in brackets as syntax says.
 * Returns NULL when s is one, else a static reason that reads after "the host"
 * ("is not a valid IPv4 address ...", "has an empty label").
 */
const char *host_problem(const char *s, size_t len, enum host_syntax syntax);

#endif
