/* scep_caps: capability keywords (see scep_caps.h). */
#include "transactions/scep/scep_caps.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *word;
	unsigned flag;
} scep_cap_words[] = {
    {"AES", SCEP_CAP_AES},
    {"DES3", SCEP_CAP_DES3},
    {"GetNextCACert", SCEP_CAP_GET_NEXT_CA_CERT},
    {"POSTPKIOperation", SCEP_CAP_POST_PKI_OPERATION},
    {"Renewal", SCEP_CAP_RENEWAL},
    {"SHA-1", SCEP_CAP_SHA1},
    {"SHA-224", SCEP_CAP_SHA224},
    {"SHA-256", SCEP_CAP_SHA256},
    {"SHA-384", SCEP_CAP_SHA384},
    {"SHA-512", SCEP_CAP_SHA512},
    {"SCEPStandard", SCEP_CAP_SCEP_STANDARD},
    {"Update", SCEP_CAP_UPDATE},
};

unsigned scep_caps_parse(const char *body, size_t len)
{
	unsigned caps = 0;
	size_t i = 0;

	while (i < len) {
		size_t start = i, end;
		while (i < len && body[i] != '\n')
			i++;
		end = i;
		i++;
		while (end > start &&
		       (body[end - 1] == '\r' || body[end - 1] == ' ' || body[end - 1] == '\t'))
			end--;
		while (start < end && (body[start] == ' ' || body[start] == '\t'))
			start++;
		for (size_t k = 0; k < sizeof scep_cap_words / sizeof scep_cap_words[0]; k++) {
			size_t wl = strlen(scep_cap_words[k].word);
			if (end - start == wl &&
			    strncasecmp(body + start, scep_cap_words[k].word, wl) == 0)
				caps |= scep_cap_words[k].flag;
		}
	}
	if (caps & SCEP_CAP_SCEP_STANDARD)
		caps |= SCEP_CAP_AES | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_SHA256;
	return caps;
}

void scep_caps_string(unsigned caps, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < sizeof scep_cap_words / sizeof scep_cap_words[0]; k++) {
		if (!(caps & scep_cap_words[k].flag))
			continue;
		int n =
		    snprintf(buf + off, len - off, "%s%s", off ? "," : "", scep_cap_words[k].word);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, len, "none");
}

const char *scep_caps_cipher_name(unsigned caps)
{
	if (caps & SCEP_CAP_AES)
		return "AES-128-CBC";
	return "DES-EDE3-CBC";
}

const char *scep_caps_digest_name(unsigned caps)
{
	if (caps & SCEP_CAP_SHA256)
		return "SHA256";
	if (caps & SCEP_CAP_SHA512)
		return "SHA512";
	return "SHA1";
}
