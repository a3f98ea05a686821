/* dp_keyset.h - public keys that prove nothing.
 *
 * Some firmware ships one client certificate, with its private key in
 * clear text in the firmware image, for every unit (Sipura/Cisco SPA
 * "sipurageneric", Grandstream "GXE50XX").  Anyone can present it, so a
 * certificate with such a key never yields a device identity, even when it
 * chains to a configured CA.  Keys are matched by the SHA-256 of the
 * certificate's SubjectPublicKeyInfo, so re-issued certificates for the
 * same key are caught too.  A built-in list covers the known generic
 * certificates (certs/vendors/generic/); admins add more.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_KEYSET_H
#define DP_KEYSET_H

#include <stddef.h>
#include <openssl/x509.h>

#define DP_SHA256_LEN 32

typedef struct dp_keyset dp_keyset_t;

dp_keyset_t *dp_keyset_new(void);
void dp_keyset_free(dp_keyset_t *ks);

/* Add the keys of the certificates in PATH (file or directory, PEM or
 * DER), or ARG "sha256:<64 hex digits>" (an SPKI hash).  Returns the
 * number of keys added or -1 with a reason in ERR. */
int dp_keyset_add(dp_keyset_t *ks, const char *arg, char *err,
                  size_t errlen);

size_t dp_keyset_count(const dp_keyset_t *ks);

/* The I-th key of KS (0 <= I < dp_keyset_count): an SPKI SHA-256 of
 * DP_SHA256_LEN bytes; "sha256:" and its hex add the same key again. */
const unsigned char *dp_keyset_get(const dp_keyset_t *ks, size_t i);

/* A new set holding the keys of A and B (either may be NULL); NULL when
 * out of memory. */
dp_keyset_t *dp_keyset_union(const dp_keyset_t *a, const dp_keyset_t *b);

/* SHA-256 of X's SubjectPublicKeyInfo; 0 on success. */
int dp_spki_sha256(X509 *x, unsigned char *md);

/* 1 if X's key is in KS (may be NULL) or in the built-in generic list. */
int dp_keyset_match(const dp_keyset_t *ks, const unsigned char *spki_md);

/* Number of built-in generic keys (for tests and startup messages). */
size_t dp_keyset_builtin_count(void);

#endif
