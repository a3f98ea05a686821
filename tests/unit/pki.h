/* pki.h - a tiny in-memory PKI for the unit tests (OpenSSL 3 API).
 *
 *   EVP_PKEY *k = pki_key();                          EC P-256
 *   X509_NAME *n = pki_name("/O=Acme/CN=Acme Root");
 *   pki_opts_t o = PKI_CA;  o.to = 5 * PKI_YEAR;
 *   X509 *root = pki_issue(n, k, NULL, NULL, &o);     self-signed
 *
 * Validity is given in seconds relative to pki_now, a fixed instant taken
 * once, so that tests pass the same "now" to the code under test.
 */
#ifndef TESTS_UNIT_PKI_H
#define TESTS_UNIT_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define PKI_DAY  (24L * 3600L)
#define PKI_YEAR (365L * PKI_DAY)

static time_t pki_now;

typedef struct pki_opts {
    int ca;                 /* basicConstraints CA:TRUE, keyCertSign */
    long from, to;          /* notBefore, notAfter relative to pki_now */
    const EVP_MD *md;       /* signature digest; NULL means SHA-256 */
    int keyids;             /* add subject/authority key identifiers */
    const char *eku;        /* leaf extendedKeyUsage; NULL: clientAuth */
    const char *bc;         /* basicConstraints instead of the default
                             * for CA or leaf; "" leaves it out */
    const char *ku;         /* keyUsage likewise ("" leaves it out) */
} pki_opts_t;

/* Valid from a day ago: CAs for 10 years, leaves for one. */
#define PKI_CA   { 1, -PKI_DAY, 10 * PKI_YEAR, NULL, 0, NULL, NULL, NULL }
#define PKI_LEAF { 0, -PKI_DAY, PKI_YEAR, NULL, 0, NULL, NULL, NULL }

static inline void pki_init(void)
{
    if (pki_now == 0)
        pki_now = time(NULL);
}

static inline EVP_PKEY *pki_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    if (k == NULL)
        abort();
    return k;
}

static inline EVP_PKEY *pki_rsa_key(unsigned bits)
{
    EVP_PKEY *k = EVP_RSA_gen(bits);

    if (k == NULL)
        abort();
    return k;
}

/* "/O=Acme Phones/OU=dev-00aabbccddee/CN=0004F2ABCDEF": '/'-separated
 * ATTR=VALUE pairs, values taken as UTF-8. */
static inline X509_NAME *pki_name(const char *spec)
{
    X509_NAME *n = X509_NAME_new();
    char *copy = strdup(spec), *save = NULL, *tok;

    if (n == NULL || copy == NULL)
        abort();
    for (tok = strtok_r(copy, "/", &save); tok != NULL;
         tok = strtok_r(NULL, "/", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            abort();
        *eq = '\0';
        if (X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8,
                                       (unsigned char *)eq + 1, -1, -1,
                                       0) != 1)
            abort();
    }
    free(copy);
    return n;
}

static inline void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
        abort();
    X509_EXTENSION_free(ext);
}

/* Issue a certificate for SUBJECT/KEY, signed by ISSUER/ISSUER_KEY, or
 * self-signed when ISSUER is NULL.  Takes ownership of SUBJECT. */
static inline X509 *pki_issue(X509_NAME *subject, EVP_PKEY *key,
                              X509 *issuer, EVP_PKEY *issuer_key,
                              const pki_opts_t *o)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509 *signer_cert;

    pki_init();
    if (x == NULL)
        abort();
    if (issuer == NULL) {
        issuer_key = key;
    }
    signer_cert = issuer ? issuer : x;
    if (X509_set_version(x, X509_VERSION_3) != 1
        || ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) != 1
        || X509_set_subject_name(x, subject) != 1
        || X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                          : subject) != 1
        || X509_time_adj_ex(X509_getm_notBefore(x), 0, o->from,
                            &pki_now) == NULL
        || X509_time_adj_ex(X509_getm_notAfter(x), 0, o->to,
                            &pki_now) == NULL
        || X509_set_pubkey(x, key) != 1)
        abort();
    {
        const char *bc = o->bc ? o->bc : o->ca ? "critical,CA:TRUE"
                                               : "critical,CA:FALSE";
        const char *ku = o->ku ? o->ku
                               : o->ca ? "critical,keyCertSign,cRLSign"
                                       : "critical,digitalSignature";

        if (*bc != '\0')
            pki_ext(x, signer_cert, NID_basic_constraints, bc);
        if (*ku != '\0')
            pki_ext(x, signer_cert, NID_key_usage, ku);
        if (!o->ca)
            pki_ext(x, signer_cert, NID_ext_key_usage,
                    o->eku ? o->eku : "clientAuth");
    }
    if (o->keyids) {
        pki_ext(x, signer_cert, NID_subject_key_identifier, "hash");
        pki_ext(x, signer_cert, NID_authority_key_identifier,
                "keyid:always");
    }
    if (X509_sign(x, issuer_key, o->md ? o->md : EVP_sha256()) <= 0)
        abort();
    X509_NAME_free(subject);
    return x;
}

/* Append X as PEM to *BUF (realloc'ed, *LEN bytes, not NUL-terminated). */
static inline void pki_pem_append(X509 *x, unsigned char **buf, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;

    if (b == NULL || PEM_write_bio_X509(b, x) != 1)
        abort();
    n = BIO_get_mem_data(b, &data);
    *buf = realloc(*buf, *len + (size_t)n);
    if (*buf == NULL)
        abort();
    memcpy(*buf + *len, data, (size_t)n);
    *len += (size_t)n;
    BIO_free(b);
}

/* DER of X, malloc'ed; free with OPENSSL_free. */
static inline unsigned char *pki_der(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    if (n <= 0)
        abort();
    *len = (size_t)n;
    return der;
}

static inline int pki_write_file(const char *path, const void *buf,
                                 size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(buf, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

#endif
