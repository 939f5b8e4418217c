/*
 * host: one validator for host names and address literals (contract in host.h). Both
 * the URL loader and the registrar keys call it, so a host one of them takes is never
 * refused by the other.
 */
#include "core/host.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#define HOST_NAME_MAX_LEN 253
#define HOST_LABEL_MAX_LEN 63

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ldh(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Exactly four decimal parts 0-255, no sign, no leading zero, no trailing dot. */
static bool is_ipv4(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return false;
			start = ++i;
		}
		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
	}
	return i == len;
}

static bool is_ipv6(const char *s, size_t len)
{
	char buf[64];
	unsigned char addr[16];

	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* Only digits and dots: an IPv4 address or nothing (never a name, RFC 1123 2.1). */
static bool numeric(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	return true;
}

static const char *dns_name_problem(const char *s, size_t len)
{
	size_t label = 0;
	bool all_digits = true;

	if (s[len - 1] == '.')
		len--; /* the root: "example.com." */
	if (len == 0)
		return "has an empty label";
	if (len > HOST_NAME_MAX_LEN)
		return "is longer than 253 characters";
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0)
				return "has an empty label";
			if (s[i - 1] == '-')
				return "has a label ending with '-'";
			if (i == len && all_digits)
				return "is not a valid IPv4 address (four numbers from 0 to 255) "
				       "nor a "
				       "DNS name (its last label is all digits)";
			label = 0;
			all_digits = true;
			continue;
		}
		if (!is_ldh(s[i]))
			return "has a character other than letters, digits, '-' and '.'";
		if (label == 0 && s[i] == '-')
			return "has a label starting with '-'";
		if (++label > HOST_LABEL_MAX_LEN)
			return "has a label longer than 63 characters";
		if (!is_digit(s[i]))
			all_digits = false;
	}
	return NULL;
}

const char *host_problem(const char *s, size_t len, enum host_syntax syntax)
{
	if (len == 0)
		return "is empty";
	if (memchr(s, '\0', len) != NULL)
		return "has a NUL byte";
	if (s[0] == '[') {
		if (syntax != HOST_URL)
			return "is an IPv6 address in brackets (write it without them)";
		if (s[len - 1] != ']' || !is_ipv6(s + 1, len - 2))
			return "is not a valid IPv6 address";
		return NULL;
	}
	if (memchr(s, ':', len) != NULL) {
		if (syntax == HOST_URL)
			return "has a ':' (an IPv6 address goes in brackets)";
		if (!is_ipv6(s, len))
			return "is not a valid IPv6 address";
		return NULL;
	}
	if (numeric(s, len)) {
		if (!is_ipv4(s, len))
			return "is not a valid IPv4 address (four numbers from 0 to 255)";
		return NULL;
	}
	return dns_name_problem(s, len);
}
