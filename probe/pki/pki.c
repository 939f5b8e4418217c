/* pki: providers, names, fingerprints, PEM files (see pki.h). */
#include "pki/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/fileload.h"
#include "core/log.h"
#include "core/xalloc.h"

static OSSL_PROVIDER *pki_default_provider;
/*
 * The legacy provider lives in a library context of its own, beside a second default
 * provider: loaded into the default context it makes every decoder and key-management
 * look-up there (each certificate decoded, each TLS handshake) walk it too.
 */
static OSSL_LIB_CTX *pki_legacy_ctx;
static OSSL_PROVIDER *pki_legacy_default, *pki_legacy_provider;

/* Fetched once (a fetch by name per use takes the store's locks every time). */
static const char *const pki_md_names[] = {"SHA1", "SHA256", "SHA384", "SHA512", NULL};
static const char *const pki_cipher_names[] = {"AES-128-CBC", "AES-256-CBC", "DES-EDE3-CBC", NULL};
static EVP_MD *pki_mds[4];
static EVP_CIPHER *pki_ciphers[3];

int pki_init(void)
{
	pki_default_provider = OSSL_PROVIDER_load(NULL, "default");
	if (pki_default_provider == NULL)
		return -1;
	pki_legacy_ctx = OSSL_LIB_CTX_new();
	if (pki_legacy_ctx != NULL) {
		pki_legacy_default = OSSL_PROVIDER_load(pki_legacy_ctx, "default");
		pki_legacy_provider = OSSL_PROVIDER_load(pki_legacy_ctx, "legacy");
	}
	if (pki_legacy_provider == NULL) {
		ERR_clear_error();
		log_warn("OpenSSL legacy provider not available: single-DES SCEP replies cannot be "
		         "read");
	}
	for (size_t i = 0; pki_md_names[i] != NULL; i++)
		pki_mds[i] = EVP_MD_fetch(NULL, pki_md_names[i], NULL);
	for (size_t i = 0; pki_cipher_names[i] != NULL; i++)
		pki_ciphers[i] = EVP_CIPHER_fetch(NULL, pki_cipher_names[i], NULL);
	ERR_clear_error();
	return 0;
}

void pki_cleanup(void)
{
	for (size_t i = 0; pki_md_names[i] != NULL; i++) {
		EVP_MD_free(pki_mds[i]);
		pki_mds[i] = NULL;
	}
	for (size_t i = 0; pki_cipher_names[i] != NULL; i++) {
		EVP_CIPHER_free(pki_ciphers[i]);
		pki_ciphers[i] = NULL;
	}
	if (pki_legacy_provider != NULL)
		OSSL_PROVIDER_unload(pki_legacy_provider);
	if (pki_legacy_default != NULL)
		OSSL_PROVIDER_unload(pki_legacy_default);
	OSSL_LIB_CTX_free(pki_legacy_ctx);
	if (pki_default_provider != NULL)
		OSSL_PROVIDER_unload(pki_default_provider);
	pki_legacy_provider = NULL;
	pki_legacy_default = NULL;
	pki_legacy_ctx = NULL;
	pki_default_provider = NULL;
}

OSSL_LIB_CTX *pki_legacy_libctx(void)
{
	return pki_legacy_provider != NULL ? pki_legacy_ctx : NULL;
}

const EVP_MD *pki_md(const char *name)
{
	for (size_t i = 0; pki_md_names[i] != NULL; i++)
		if (pki_mds[i] != NULL && strcmp(pki_md_names[i], name) == 0)
			return pki_mds[i];
	return EVP_get_digestbyname(name);
}

const EVP_CIPHER *pki_cipher(const char *name)
{
	for (size_t i = 0; pki_cipher_names[i] != NULL; i++)
		if (pki_ciphers[i] != NULL && strcmp(pki_cipher_names[i], name) == 0)
			return pki_ciphers[i];
	return EVP_get_cipherbyname(name);
}

X509_NAME *pki_name_parse(const char *subject)
{
	X509_NAME *name = X509_NAME_new();
	const char *p = subject;
	char buf[512];

	while (*p != '\0') {
		size_t n = 0;
		char *eq;
		while (*p != '\0' && *p != ',' && n + 1 < sizeof buf) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf[n++] = *p++;
		}
		buf[n] = '\0';
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
		while (*p == ' ')
			p++;
		eq = strchr(buf, '=');
		if (eq == NULL || eq == buf || eq[1] == '\0')
			goto bad;
		*eq = '\0';
		if (X509_NAME_add_entry_by_txt(name, buf, MBSTRING_UTF8, (unsigned char *)eq + 1,
		                               -1, -1, 0) != 1)
			goto bad;
	}
	if (X509_NAME_entry_count(name) == 0)
		goto bad;
	return name;
bad:
	ERR_clear_error();
	X509_NAME_free(name);
	return NULL;
}

void pki_name_string(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_get_mem_data(b, &data);
	snprintf(buf, len, "%.*s", (int)n, data);
	BIO_free(b);
}

int pki_md5(const void *data, size_t len, unsigned char out[16])
{
	unsigned int n = 16;

	return EVP_Digest(data, len, out, &n, EVP_md5(), NULL) == 1 && n == 16 ? 0 : -1;
}

void pki_cert_sha256(X509 *cert, unsigned char out[32])
{
	unsigned int n = 32;

	X509_digest(cert, EVP_sha256(), out, &n);
}

void pki_cert_fingerprint_string(X509 *cert, char *buf, size_t len)
{
	unsigned char md[32];
	size_t off;

	pki_cert_sha256(cert, md);
	off = (size_t)snprintf(buf, len, "sha256:");
	for (int i = 0; i < 32 && off + 2 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%02x", md[i]);
}

bool pki_cert_is_ca(X509 *cert)
{
	return X509_check_ca(cert) != 0;
}

bool pki_cert_is_self_signed(X509 *cert)
{
	return X509_self_signed(cert, 0) == 1;
}

bool pki_cert_has_ku(X509 *cert, unsigned long ku)
{
	uint32_t have = X509_get_key_usage(cert);

	return (have & ku) == ku;
}

void pki_time_string(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

long pki_cert_seconds_left(X509 *cert, long *notbefore_in)
{
	int days = 0, secs = 0;

	if (notbefore_in != NULL) {
		*notbefore_in = 0;
		if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(cert)) == 1)
			*notbefore_in = (long)days * 86400 + secs;
	}
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1)
		return -1;
	return (long)days * 86400 + secs;
}

/* The PEM of path in a memory BIO (bounded, regular file, O_NONBLOCK: core/fileload.h). */
static BIO *pki_pem_bio(const char *path, char **pem, size_t *len)
{
	struct fileload_fail f;
	BIO *b;

	if (fileload_read(path, FILELOAD_MAX_PEM, pem, len, &f) == -1)
		return NULL;
	b = BIO_new_mem_buf(*pem, (int)*len);
	if (b == NULL) {
		explicit_bzero(*pem, *len);
		free(*pem);
		*pem = NULL;
	}
	return b;
}

EVP_PKEY *pki_key_load(const char *path)
{
	EVP_PKEY *k;
	char *pem;
	size_t len;
	BIO *b = pki_pem_bio(path, &pem, &len);

	if (b == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	explicit_bzero(pem, len);
	free(pem);
	return k;
}

X509 *pki_cert_load(const char *path)
{
	X509 *c;
	char *pem;
	size_t len;
	BIO *b = pki_pem_bio(path, &pem, &len);

	if (b == NULL)
		return NULL;
	c = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	return c;
}

/* Write through a 0600 temp file and rename, so a reader never sees half a key. */
static int pki_write_pem(const char *path, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = NULL;
	int rc = -1;

	if (fd == -1)
		goto out;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	if (key != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (cert != NULL && PEM_write_X509(f, cert) != 1)
		goto out;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (PEM_write_X509(f, sk_X509_value(chain, i)) != 1)
			goto out;
	if (fflush(f) != 0 || fsync(fileno(f)) == -1)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		int e = errno;
		if (f != NULL)
			fclose(f);
		unlink(tmp);
		errno = e;
	}
	free(tmp);
	return rc;
}

int pki_key_save(const char *path, EVP_PKEY *key)
{
	return pki_write_pem(path, key, NULL, NULL);
}

int pki_cert_save(const char *path, X509 *cert)
{
	return pki_write_pem(path, NULL, cert, NULL);
}

int pki_identity_save(const char *path, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain)
{
	return pki_write_pem(path, key, cert, chain);
}

int pki_identity_pem(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, char **pem, size_t *len)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data;
	long n;
	int rc = -1;

	*pem = NULL;
	*len = 0;
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return -1;
	if (key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (cert != NULL && PEM_write_bio_X509(b, cert) != 1)
		goto out;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (PEM_write_bio_X509(b, sk_X509_value(chain, i)) != 1)
			goto out;
	n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		goto out;
	*pem = xmalloc((size_t)n + 1);
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*len = (size_t)n;
	rc = 0;
out:
	BIO_free(b); /* a secmem BIO clears its buffer when freed */
	return rc;
}

const char *pki_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "no OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

const char *pki_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION_STRING);
}

int pki_random(unsigned char *buf, size_t len)
{
	return len <= INT_MAX && RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}
