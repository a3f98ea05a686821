/* dp_keyset.c - public keys that prove nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "dp_certs.h"
#include "dp_hex.h"
#include "dp_keyset.h"

/* SHA-256 of the SubjectPublicKeyInfo of the generic client certificates
 * in certs/vendors/generic/ (tests/unit/test_keyset.c checks them
 * against those files). */
static const unsigned char builtin[][DP_SHA256_LEN] = {
    /* Sipura/Cisco SPA "sipurageneric" client certificate (RSA-1024) */
    { 0xdc, 0x2e, 0x6a, 0x25, 0xdf, 0xa4, 0x74, 0x1a, 0x93, 0xda, 0x61,
      0xe4, 0xaf, 0x14, 0x37, 0x5b, 0xb0, 0x42, 0x08, 0x00, 0x95, 0x00,
      0xad, 0xce, 0x37, 0xdd, 0xf6, 0xa2, 0x08, 0x47, 0x6c, 0x12 },
    /* Grandstream "GXE50XX" /etc/default.pem (both issues share the key) */
    { 0x87, 0xfb, 0xf6, 0xeb, 0x96, 0xa1, 0xed, 0xcf, 0xae, 0x94, 0x1c,
      0xf3, 0x05, 0x5d, 0x78, 0x6b, 0x34, 0x1e, 0xdc, 0x73, 0xc3, 0xaf,
      0xfb, 0xbe, 0x30, 0xf5, 0xb0, 0x4f, 0xd5, 0x05, 0x6c, 0xcd },
};

struct dp_keyset {
    unsigned char (*keys)[DP_SHA256_LEN];
    size_t n, cap;
};

dp_keyset_t *dp_keyset_new(void)
{
    return calloc(1, sizeof(dp_keyset_t));
}

void dp_keyset_free(dp_keyset_t *ks)
{
    if (ks == NULL)
        return;
    free(ks->keys);
    free(ks);
}

size_t dp_keyset_count(const dp_keyset_t *ks)
{
    return ks->n;
}

const unsigned char *dp_keyset_get(const dp_keyset_t *ks, size_t i)
{
    return i < ks->n ? ks->keys[i] : NULL;
}

size_t dp_keyset_builtin_count(void)
{
    return sizeof(builtin) / sizeof(builtin[0]);
}

int dp_spki_sha256(X509 *x, unsigned char *md)
{
    unsigned char *der = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    int ok;

    if (len <= 0)
        return -1;
    ok = EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok == 1 ? 0 : -1;
}

static int add_hash(dp_keyset_t *ks, const unsigned char *md)
{
    size_t i;

    for (i = 0; i < ks->n; i++)
        if (memcmp(ks->keys[i], md, DP_SHA256_LEN) == 0)
            return 0;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 8;
        void *nk = realloc(ks->keys, cap * DP_SHA256_LEN);
        if (nk == NULL)
            return -1;
        ks->keys = nk;
        ks->cap = cap;
    }
    memcpy(ks->keys[ks->n++], md, DP_SHA256_LEN);
    return 0;
}

dp_keyset_t *dp_keyset_union(const dp_keyset_t *a, const dp_keyset_t *b)
{
    dp_keyset_t *u = dp_keyset_new();
    const dp_keyset_t *src[2] = { a, b };
    size_t i, j;

    if (u == NULL)
        return NULL;
    for (i = 0; i < 2; i++)
        for (j = 0; src[i] != NULL && j < src[i]->n; j++)
            if (add_hash(u, src[i]->keys[j]) != 0) {
                dp_keyset_free(u);
                return NULL;
            }
    return u;
}

static int add_cert_key(X509 *x, const char *name, void *arg, char *err,
                        size_t errlen)
{
    unsigned char md[DP_SHA256_LEN];
    int rc = dp_spki_sha256(x, md);

    X509_free(x);
    if (rc != 0 || add_hash(arg, md) != 0) {
        snprintf(err, errlen, "%s: cannot hash the public key", name);
        return -1;
    }
    return 0;
}

int dp_keyset_add(dp_keyset_t *ks, const char *arg, char *err,
                  size_t errlen)
{
    if (strncmp(arg, "sha256:", 7) == 0) {
        unsigned char md[DP_SHA256_LEN];
        const char *h = arg + 7;

        if (strlen(h) != 2 * DP_SHA256_LEN
            || dp_hex_decode(h, DP_SHA256_LEN, md) != 0) {
            snprintf(err, errlen, "'%s': expected sha256: and 64 hex digits",
                     arg);
            return -1;
        }
        if (add_hash(ks, md) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 1;
    }
    return dp_certs_load_path(arg, add_cert_key, ks, err, errlen);
}

int dp_keyset_match(const dp_keyset_t *ks, const unsigned char *md)
{
    size_t i;

    for (i = 0; i < dp_keyset_builtin_count(); i++)
        if (memcmp(builtin[i], md, DP_SHA256_LEN) == 0)
            return 1;
    if (ks != NULL)
        for (i = 0; i < ks->n; i++)
            if (memcmp(ks->keys[i], md, DP_SHA256_LEN) == 0)
                return 1;
    return 0;
}
