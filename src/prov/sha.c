/*
 * prov/sha — the bulk SHA-256 behind model IDs and file digests.
 *
 * libsodium's SHA-256 is portable C: about 185 MB/s per core on the
 * development machine (AMD EPYC, 2 cores), so hashing a 1.9 GB model takes
 * over 5 s on both cores, more than reading it twice from disk (about 2 s)
 * — the speed the genealogy issue asks for. OpenSSL's libcrypto uses the
 * SHA extensions (SHA-NI) where the CPU has them: about 1.65 GB/s per core
 * there (`openssl speed -evp sha256`), so bulk hashing uses libcrypto;
 * libsodium remains the fallback (allocation failure, or
 * HEARTH_SHA256=sodium). Both compute the same standard digest (the
 * unit tests compare them). Small digests elsewhere (key ids, record
 * names) stay on libsodium. Not here: anything but SHA-256.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "prov/prov_int.h"

/* libcrypto unless HEARTH_SHA256=sodium (the tests compare the two) */
static bool use_evp(void)
{
	const char *force = getenv("HEARTH_SHA256");
	return !(force && !strcmp(force, "sodium"));
}

const char *prov_sha_backend(void)
{
	return use_evp() ? "openssl" : "libsodium";
}

const char *hrt_prov_sha_backend(void)
{
	return prov_sha_backend();
}

void prov_sha_init(struct prov_sha *s)
{
	s->evp = NULL;
	if (use_evp() && (s->evp = EVP_MD_CTX_new()) &&
	    EVP_DigestInit_ex(s->evp, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->evp);
		s->evp = NULL; /* fall back to libsodium */
	}
	if (!s->evp)
		crypto_hash_sha256_init(&s->st);
}

void prov_sha_update(struct prov_sha *s, const void *p, size_t n)
{
	if (s->evp) {
		EVP_DigestUpdate(s->evp, p, n);
		return;
	}
	const uint8_t *b = p;
	while (n) {
		size_t c = n < (1u << 30) ? n : (1u << 30);
		crypto_hash_sha256_update(&s->st, b, (unsigned long long)c);
		b += c;
		n -= c;
	}
}

void prov_sha_final(struct prov_sha *s, uint8_t out[32])
{
	if (s->evp) {
		unsigned int len = 32;
		EVP_DigestFinal_ex(s->evp, out, &len);
		EVP_MD_CTX_free(s->evp);
		s->evp = NULL;
		return;
	}
	crypto_hash_sha256_final(&s->st, out);
}

void prov_sha256(const void *p, size_t n, uint8_t out[32])
{
	struct prov_sha s;
	prov_sha_init(&s);
	prov_sha_update(&s, p, n);
	prov_sha_final(&s, out);
}
