/*
 * certrep_identity: the fixed test identity (RSA-2048 key, self-signed CA valid to
 * 2126) of the CertRep fuzzer. gen_certrep_corpus.c signs the seeds in
 * corpus/certrep/ with it and fuzz_certrep.c trusts and decrypts with it, so both
 * include this one copy. Header-only: both stay one-file programs (the corpus
 * generator is built by hand).
 */
#ifndef CERTPROBE_CERTREP_IDENTITY_H
#define CERTPROBE_CERTREP_IDENTITY_H

#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const char certrep_identity_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCS+ukNpV98I6wN\n"
    "s+uRGuLmP/gyBgOjhrmEMb5ICnFP1eD6Yf/PhOC8nt0z2BHi13r76qjikMydSryN\n"
    "iZbgxzdyFChcltaUuhby4iptDnUBBlsY/0niYRldaEC7GUPCj2gw5Zakqq1EcJvQ\n"
    "4J9OmjC29C7Wr0hAcPR2PEvOkFj9JhlTH22Iv+SJBhAbfQNYlHlKveO1fv1bcpnT\n"
    "W/8Bn8VmvjCQqdf7PhcD7ycNLqeMARYT/LrzvbFFwR5bY9mQDikgGDq/KGtaPkH3\n"
    "686iIuDL32UIhUr2FoSmBhAd5S4KQW+ZO2UlO2zbnRZkZ3QS7tv8lT+aiHbsixt3\n"
    "IDlQ4GkfAgMBAAECggEAR2k8CSLDmTt1sTSs69Pd0RPcgWV1qCJhiU5nznWwZyMZ\n"
    "y10I3mkHje07uSAuVIHwIWx6QJYsq/FvWe8zDKQOFtGfaJjqydj+JGTpSxI+m9Bc\n"
    "O3FxktktazonVSAp0WI+s58gyYGZbIqv0dUI4bY9m+5YwXrpRlH7HGUgSczNR7TZ\n"
    "wTd5MAXfyZv8efuzTjfw8wsDVZYwuZ1dVYnr/gy/1GcjFMLTHt8CJTFBnIIyZIuX\n"
    "9ZMX685OuA6TE+ixQUdUSjUtTVWNx8gh8upkjr5cDN/cPfRuS0Lir845vAIXMHMa\n"
    "a9QvG6Qy/44jiIh9/fcjgZ/IcDuuXrZfmzguz82u7QKBgQDNr0p9oJu3If2a01i3\n"
    "lgks1Xhh5F+rOYsn/pzwKaUiHUxbfqJR9khHRjVMKIOTlwWe6y3ajGBbuoWFppz5\n"
    "GKYGxZTas6LsCg9ihlMbv4z//xDrHeiOaqDfdzcaB5Ntn67LKy1+rWV5VCj4o1Yk\n"
    "AQjpnwIaV1x1Gae36ZzfKN9C0wKBgQC271PxZvkY9RQTMjtaEUShnKvEPr/H9zQw\n"
    "bo/of3qQfyF+mEyYNkBWJCZtJ9OSQbC6LIrMppaBUFKZ89S9fEMcOhfGLcWz0Y+E\n"
    "hmehx372V0HMayfSzCWCPHkLHARXtp+H+0XeuBh3trwTcRRIhVdK2YW8ELFjDule\n"
    "MYkDD5yZBQKBgF9+Ycw/s+vraQ3nz8m0a+AX4AM6/zvExJm1+XD7NMLI7XmRKpV5\n"
    "DYehzf7k1GnCdQaaU7ii8d3ElFc/yqNP0U1VkE2Vly+VYB0zFgTNAw6bgmRWh3EP\n"
    "ik8Vz0xTdhwwRfvnuQCWSoVxEHCXjNe8b0Hf5B8Mrk1jst2NJZrqI/WnAoGAXDpi\n"
    "9tT0hymgOmFb3PfRwyzqyGDebaFrFXPYZ95FW65Mo7eC/kZzvzowiV3H4/fscqBc\n"
    "RftC6+UkD+wHeJS6fPOo4shW4Wao1aaxfrXGg8nQKZBonnU//94fJIO2iMZQvczo\n"
    "F/Z2l3xwa9jZ4gofzWPHcd50oD13WH7e1cU8LUUCgYEAmxHTF9VPvYJbPzCN8AaE\n"
    "RBdxzusbLcqQvxoYw1qgKOpsRLJMNtQaR1hSojGTLxRxb8QLFtN1bIYhh06zI7hL\n"
    "oVdMiNIdUNgEEmq3gvsliZ2/O5g8gRB8Imi5zzNqoOeSEmf1Kn3sym6F/fKoJSju\n"
    "5wBrbKiV5KolU/m+idFC4/w=\n"
    "-----END PRIVATE KEY-----\n";

static const char certrep_identity_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDXTCCAkWgAwIBAgIUbV5cxu6c4ivyrCFG96bB5BHkDGwwDQYJKoZIhvcNAQEL\n"
    "BQAwNTEaMBgGA1UEAwwRY2VydHByb2JlIGZ1enogQ0ExFzAVBgNVBAoMDkNlcnRw\n"
    "cm9iZSBUZXN0MCAXDTI2MTEyMjAxNDkwNVoYDzIxMjYxMDI5MDE0OTA1WjA1MRow\n"
    "GAYDVQQDDBFjZXJ0cHJvYmUgZnV6eiBDQTEXMBUGA1UECgwOQ2VydHByb2JlIFRl\n"
    "c3QwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCS+ukNpV98I6wNs+uR\n"
    "GuLmP/gyBgOjhrmEMb5ICnFP1eD6Yf/PhOC8nt0z2BHi13r76qjikMydSryNiZbg\n"
    "xzdyFChcltaUuhby4iptDnUBBlsY/0niYRldaEC7GUPCj2gw5Zakqq1EcJvQ4J9O\n"
    "mjC29C7Wr0hAcPR2PEvOkFj9JhlTH22Iv+SJBhAbfQNYlHlKveO1fv1bcpnTW/8B\n"
    "n8VmvjCQqdf7PhcD7ycNLqeMARYT/LrzvbFFwR5bY9mQDikgGDq/KGtaPkH3686i\n"
    "IuDL32UIhUr2FoSmBhAd5S4KQW+ZO2UlO2zbnRZkZ3QS7tv8lT+aiHbsixt3IDlQ\n"
    "4GkfAgMBAAGjYzBhMB0GA1UdDgQWBBSkrEV62XNvgxx0shHKMNBc4ILsrjAfBgNV\n"
    "HSMEGDAWgBSkrEV62XNvgxx0shHKMNBc4ILsrjAPBgNVHRMBAf8EBTADAQH/MA4G\n"
    "A1UdDwEB/wQEAwIBpjANBgkqhkiG9w0BAQsFAAOCAQEAOTlI61SIkJ1Hi/ON6wwF\n"
    "c2E5XzHFCSnmCtuey7a3ZKICsOy5wI+u/zhf9nHA4Gr2tEQIo92jkopJYXl+Pnf/\n"
    "MBLIhSMDJ3hhCIRPU8XUBtivLyq0u8Pm8OD+nizx3a2GNMwrWBC223RIhOIfenHe\n"
    "Ie9tAypohm9aYOTH7pBaKQGi7xH2+gfLPFh4nYRGIi7F+bl+124zte9YBz127wY7\n"
    "yTSXxlRStRFF/c8T4An10biibT/ZUgAffliMWX2TLQoa9tMD4+0luZjtiGmV5wSa\n"
    "vN8zqQFETxH2cQksq2v/Sjzy1BUx+xZNFW3xJ4hlMHLARugO7wt1e7MrzKu3bBoR\n"
    "sg==\n"
    "-----END CERTIFICATE-----\n";

/* Parses the identity into *key and *cert, which the caller frees. Returns 0, or -1
 * (both NULL) when either does not parse. */
static inline int certrep_identity_load(EVP_PKEY **key, X509 **cert)
{
	BIO *b;

	b = BIO_new_mem_buf(certrep_identity_key_pem, -1);
	*key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	b = BIO_new_mem_buf(certrep_identity_cert_pem, -1);
	*cert = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (*key != NULL && *cert != NULL)
		return 0;
	EVP_PKEY_free(*key);
	X509_free(*cert);
	*key = NULL;
	*cert = NULL;
	return -1;
}

#endif
