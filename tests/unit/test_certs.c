/* test_certs.c - dp_certs_parse: which PEM blocks are read, which refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "src/dp_certs.h"
#include "tests/unit/pki.h"

static EVP_PKEY *ca_key, *rsa_key;
static X509 *ca;

static int setup(void **state)
{
    pki_opts_t o = PKI_CA;

    (void)state;
    ca_key = pki_key();
    rsa_key = pki_rsa_key(1024);
    ca = pki_issue(pki_name("/O=Acme/CN=Acme Root"), ca_key, NULL, NULL, &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(rsa_key);
    return 0;
}

/* ---- building files --------------------------------------------------- */

typedef struct {
    unsigned char *buf;
    size_t len;
} file_t;

static void add_bytes(file_t *f, const void *p, size_t n)
{
    f->buf = realloc(f->buf, f->len + n);
    assert_non_null(f->buf);
    memcpy(f->buf + f->len, p, n);
    f->len += n;
}

static void add_text(file_t *f, const char *s)
{
    add_bytes(f, s, strlen(s));
}

static void add_bio(file_t *f, BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);

    add_bytes(f, data, (size_t)n);
    BIO_free(b);
}

static void add_cert(file_t *f)
{
    pki_pem_append(ca, &f->buf, &f->len);
}

/* A PEM block of TYPE around the DER of the CA, plus EXTRA junk bytes. */
static void add_block(file_t *f, const char *type, size_t extra)
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *der;
    size_t len;

    der = pki_der(ca, &len);
    der = OPENSSL_realloc(der, len + extra);
    assert_non_null(der);
    memset(der + len, 0, extra);
    assert_non_null(b);
    assert_true(PEM_write_bio(b, type, "", der, (long)(len + extra)) > 0);
    OPENSSL_free(der);
    add_bio(f, b);
}

static void add_trusted(file_t *f)
{
    BIO *b = BIO_new(BIO_s_mem());

    assert_non_null(b);
    assert_int_equal(PEM_write_bio_X509_AUX(b, ca), 1);
    add_bio(f, b);
}

typedef enum { K_PKCS8, K_ENCRYPTED, K_EC, K_RSA } key_kind_t;

static void add_key(file_t *f, key_kind_t kind)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = 0;

    assert_non_null(b);
    switch (kind) {
    case K_PKCS8:
        ok = PEM_write_bio_PrivateKey(b, ca_key, NULL, NULL, 0, NULL, NULL);
        break;
    case K_ENCRYPTED:
        ok = PEM_write_bio_PKCS8PrivateKey(b, ca_key, EVP_aes_128_cbc(),
                                           "secret", 6, NULL, NULL);
        break;
    case K_EC:
        ok = PEM_write_bio_PrivateKey_traditional(b, ca_key, NULL, NULL, 0,
                                                  NULL, NULL);
        break;
    case K_RSA:
        ok = PEM_write_bio_PrivateKey_traditional(b, rsa_key, NULL, NULL, 0,
                                                  NULL, NULL);
        break;
    }
    assert_int_equal(ok, 1);
    add_bio(f, b);
}

/* ---- parsing ---------------------------------------------------------- */

static int count_cb(X509 *x, const char *name, void *arg, char *err,
                    size_t errlen)
{
    (void)name;
    (void)err;
    (void)errlen;
    assert_int_equal(X509_cmp(x, ca), 0);
    X509_free(x);
    (*(int *)arg)++;
    return 0;
}

/* Parse F as "f.pem"; returns the result, *SEEN the callbacks made.  The
 * caller's error queue entry must survive, and nothing else be added. */
static int parse(file_t *f, int *seen, char *err, size_t errlen)
{
    int rc;
    unsigned long e;

    *seen = 0;
    err[0] = '\0';
    ERR_clear_error();
    ERR_raise(ERR_LIB_USER, 42);
    rc = dp_certs_parse(f->buf, f->len, "f.pem", count_cb, seen, err,
                        errlen);
    e = ERR_get_error();
    assert_int_equal(ERR_GET_LIB(e), ERR_LIB_USER);
    assert_int_equal(ERR_GET_REASON(e), 42);
    assert_int_equal(ERR_peek_error(), 0);
    free(f->buf);
    f->buf = NULL;
    f->len = 0;
    return rc;
}

static void assert_refused(file_t *f, const char *what, int max_seen)
{
    char err[512];
    int seen;

    assert_int_equal(parse(f, &seen, err, sizeof(err)), -1);
    if (strncmp(err, "f.pem: ", 7) != 0 || strstr(err, what) == NULL)
        fail_msg("error '%s' should name the file and say '%s'", err, what);
    assert_true(seen <= max_seen);
}

static void test_certificate_blocks(void **state)
{
    file_t f = { NULL, 0 };
    char err[256];
    int seen;

    (void)state;
    add_text(&f, "Certificate:\n    Data: ...\n");
    add_cert(&f);
    add_text(&f, "between\n");
    add_block(&f, "X509 CERTIFICATE", 0);
    add_text(&f, "after\n");
    assert_int_equal(parse(&f, &seen, err, sizeof(err)), 2);
    assert_int_equal(seen, 2);
}

static void test_trailing_bytes_in_block(void **state)
{
    file_t f = { NULL, 0 };

    (void)state;
    add_cert(&f);
    add_block(&f, "CERTIFICATE", 1);
    assert_refused(&f, "malformed PEM certificate after 1 good one(s)", 1);
    add_block(&f, "X509 CERTIFICATE", 3);
    assert_refused(&f, "malformed PEM certificate after 0 good one(s)", 0);
}

static void test_trusted_certificate(void **state)
{
    static const char msg[] = "f.pem: TRUSTED CERTIFICATE blocks (OpenSSL "
        "trust settings) are not supported: convert with openssl x509 -in f "
        "-out g";
    file_t f = { NULL, 0 };
    char err[512];
    int seen;

    (void)state;
    /* only such roots: not "contains no certificate" */
    add_trusted(&f);
    assert_int_equal(parse(&f, &seen, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
    assert_int_equal(seen, 0);
    /* in a bundle: not dropped silently */
    add_cert(&f);
    add_trusted(&f);
    assert_int_equal(parse(&f, &seen, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
}

static void test_private_keys(void **state)
{
    static const struct {
        key_kind_t kind;
        const char *type;
    } keys[] = {
        { K_PKCS8, "PRIVATE KEY" },
        { K_ENCRYPTED, "ENCRYPTED PRIVATE KEY" },
        { K_EC, "EC PRIVATE KEY" },
        { K_RSA, "RSA PRIVATE KEY" },
    };
    file_t f = { NULL, 0 };
    char type[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(type, sizeof(type), "(%s block)", keys[i].type);
        /* a key followed by a certificate (a server's key+cert file) */
        add_key(&f, keys[i].kind);
        add_cert(&f);
        assert_refused(&f, "a private key does not belong in a CA/deny "
                       "file", 0);
        add_key(&f, keys[i].kind);
        assert_refused(&f, type, 0);
        /* after a certificate */
        add_cert(&f);
        add_key(&f, keys[i].kind);
        assert_refused(&f, type, 1);
    }
}

static void test_unknown_blocks(void **state)
{
    file_t f = { NULL, 0 };
    BIO *b;

    (void)state;
    add_block(&f, "X509 CRL", 0);
    add_cert(&f);
    assert_refused(&f, "unsupported PEM block 'X509 CRL'", 0);

    b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, ca_key), 1);
    add_bio(&f, b);
    add_cert(&f);
    assert_refused(&f, "'PUBLIC KEY'", 0);
}

static void test_kept_errors(void **state)
{
    file_t f = { NULL, 0 };
    unsigned char *der;
    size_t len;

    (void)state;
    add_text(&f, "just words\n");
    assert_refused(&f, "neither a PEM nor a DER certificate", 0);
    add_text(&f, "-----BEGIN CERTIFICATE----- is what you need\n");
    assert_refused(&f, "contains no certificate", 0);
    add_text(&f, "-----BEGIN CERTIFICATE-----\n!!!\n"
                 "-----END CERTIFICATE-----\n");
    assert_refused(&f, "malformed PEM certificate after 0 good one(s)", 0);
    /* a block without its end */
    add_cert(&f);
    add_text(&f, "-----BEGIN CERTIFICATE-----\nMIIB\n");
    assert_refused(&f, "malformed PEM certificate after 1 good one(s)", 1);

    der = pki_der(ca, &len);
    add_bytes(&f, der, len);
    add_bytes(&f, "", 1);
    assert_refused(&f, "neither a PEM nor a DER certificate", 0);
    add_bytes(&f, der, len);
    {
        char err[256];
        int seen;
        assert_int_equal(parse(&f, &seen, err, sizeof(err)), 1);
        assert_int_equal(seen, 1);
    }
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_blocks),
        cmocka_unit_test(test_trailing_bytes_in_block),
        cmocka_unit_test(test_trusted_certificate),
        cmocka_unit_test(test_private_keys),
        cmocka_unit_test(test_unknown_blocks),
        cmocka_unit_test(test_kept_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
