/* test_identify.c - trust stores, time-agnostic chain verification and
 * device identification, against a PKI generated in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "src/dp_identify.h"
#include "tests/unit/pki.h"

/* ---- the PKI ------------------------------------------------------------ *
 *
 * Vendor A (Polycom-like, MAC in CN):
 *   rootA -> intA -> valid, expired, nyv, sha1, nomac, rsa1024,
 *                    server (serverAuth only)
 *   rootA -> oldA (expired intermediate) -> under_old, expired_under_old,
 *                                           nyv_under_old
 * Vendor B (MAC in OU "dev-<mac>"):
 *   rootB -> b_polycomlike (CN=0004F2ABCDEF, no OU), b_dev, b_both
 * Attackers:
 *   rogue (self-signed CA) -> rogue_leaf
 *   laroot/laint: same names as rootA/intA, other keys -> lookalike
 *   selfsigned: a self-signed end-entity certificate
 */
static struct {
    EVP_PKEY *k_rootA, *k_intA, *k_oldA, *k_rootB, *k_rogue, *k_laroot,
             *k_laint, *k_leaf, *k_self, *k_rsa1024;
    X509 *rootA, *intA, *oldA, *rootB, *rogue, *laroot, *laint;
    X509 *valid, *expired, *nyv, *sha1, *nomac, *rsa1024, *server;
    X509 *under_old, *expired_under_old, *nyv_under_old;
    X509 *b_polycomlike, *b_dev, *b_both;
    X509 *rogue_leaf, *lookalike, *selfsigned;
} P;

#define ROOT_A "/C=US/O=Acme Phones/CN=Acme Device Root CA"
#define INT_A  "/C=US/O=Acme Phones/CN=Acme Device Issuing CA"

static X509 *leaf(const char *subject, X509 *issuer, EVP_PKEY *issuer_key,
                  long from, long to, const EVP_MD *md)
{
    pki_opts_t o = PKI_LEAF;

    o.from = from;
    o.to = to;
    o.md = md;
    return pki_issue(pki_name(subject), P.k_leaf, issuer, issuer_key, &o);
}

static int pki_setup(void **state)
{
    pki_opts_t ca = PKI_CA, old = PKI_CA;

    (void)state;
    pki_init();
    P.k_rootA = pki_key();
    P.k_intA = pki_key();
    P.k_oldA = pki_key();
    P.k_rootB = pki_key();
    P.k_rogue = pki_key();
    P.k_laroot = pki_key();
    P.k_laint = pki_key();
    P.k_leaf = pki_key();
    P.k_self = pki_key();
    P.k_rsa1024 = pki_rsa_key(1024);

    P.rootA = pki_issue(pki_name(ROOT_A), P.k_rootA, NULL, NULL, &ca);
    P.intA = pki_issue(pki_name(INT_A), P.k_intA, P.rootA, P.k_rootA, &ca);
    old.from = -5 * PKI_YEAR;
    old.to = -PKI_YEAR;
    P.oldA = pki_issue(pki_name("/O=Acme Phones/CN=Acme 2015 Issuing CA"),
                       P.k_oldA, P.rootA, P.k_rootA, &old);
    P.rootB = pki_issue(pki_name("/O=Beta Telecom/CN=Beta Root"), P.k_rootB,
                        NULL, NULL, &ca);
    P.rogue = pki_issue(pki_name("/O=Rogue/CN=Rogue CA"), P.k_rogue, NULL,
                        NULL, &ca);
    P.laroot = pki_issue(pki_name(ROOT_A), P.k_laroot, NULL, NULL, &ca);
    P.laint = pki_issue(pki_name(INT_A), P.k_laint, P.laroot, P.k_laroot,
                        &ca);

    P.valid = leaf("/O=Acme Phones/CN=0004F2ABCDEF", P.intA, P.k_intA,
                   -PKI_DAY, PKI_YEAR, NULL);
    P.expired = leaf("/CN=0004F2000002", P.intA, P.k_intA,
                     -3 * PKI_YEAR, -PKI_DAY, NULL);
    P.nyv = leaf("/CN=0004F2000003", P.intA, P.k_intA,
                 PKI_DAY, PKI_YEAR, NULL);
    P.sha1 = leaf("/CN=0004F2000008", P.intA, P.k_intA, -PKI_DAY, PKI_YEAR,
                  EVP_sha1());
    P.nomac = leaf("/O=Acme Phones/CN=SoundPoint IP 550", P.intA, P.k_intA,
                   -PKI_DAY, PKI_YEAR, NULL);
    {
        pki_opts_t o = PKI_LEAF;
        P.rsa1024 = pki_issue(pki_name("/CN=0004F2000009"), P.k_rsa1024,
                              P.intA, P.k_intA, &o);
    }
    {
        pki_opts_t o = PKI_LEAF;
        o.eku = "serverAuth";
        P.server = pki_issue(pki_name("/CN=0004F200000C"), P.k_leaf, P.intA,
                             P.k_intA, &o);
    }
    P.under_old = leaf("/CN=0004F2000004", P.oldA, P.k_oldA,
                       -4 * PKI_YEAR, 5 * PKI_YEAR, NULL);
    P.expired_under_old = leaf("/CN=0004F200000A", P.oldA, P.k_oldA,
                               -4 * PKI_YEAR, -2 * PKI_YEAR, NULL);
    P.nyv_under_old = leaf("/CN=0004F200000B", P.oldA, P.k_oldA,
                           PKI_DAY, 5 * PKI_YEAR, NULL);

    P.b_polycomlike = leaf("/O=Beta Telecom/CN=0004F2ABCDEF", P.rootB,
                           P.k_rootB, -PKI_DAY, PKI_YEAR, NULL);
    P.b_dev = leaf("/O=Beta Telecom/OU=dev-00aabbccddee/CN=Beta Desk 5",
                   P.rootB, P.k_rootB, -PKI_DAY, PKI_YEAR, NULL);
    P.b_both = leaf("/OU=dev-00aabbccddee/CN=0004F2ABCDEF", P.rootB,
                    P.k_rootB, -PKI_DAY, PKI_YEAR, NULL);

    P.rogue_leaf = leaf("/CN=0004F2000005", P.rogue, P.k_rogue, -PKI_DAY,
                        PKI_YEAR, NULL);
    P.lookalike = leaf("/CN=0004F2000006", P.laint, P.k_laint, -PKI_DAY,
                       PKI_YEAR, NULL);
    {
        pki_opts_t o = PKI_LEAF;
        P.selfsigned = pki_issue(pki_name("/CN=0004F2000007"), P.k_self,
                                 NULL, NULL, &o);
    }
    return 0;
}

static int pki_teardown(void **state)
{
    X509 *certs[] = {
        P.rootA, P.intA, P.oldA, P.rootB, P.rogue, P.laroot, P.laint,
        P.valid, P.expired, P.nyv, P.sha1, P.nomac, P.rsa1024, P.server,
        P.under_old,
        P.expired_under_old, P.nyv_under_old, P.b_polycomlike, P.b_dev,
        P.b_both, P.rogue_leaf, P.lookalike, P.selfsigned,
    };
    EVP_PKEY *keys[] = {
        P.k_rootA, P.k_intA, P.k_oldA, P.k_rootB, P.k_rogue, P.k_laroot,
        P.k_laint, P.k_leaf, P.k_self, P.k_rsa1024,
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    memset(&P, 0, sizeof(P));
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* A new store from the PEM bundle of the given certificates. */
static dp_trust_t *store_pem(X509 *a, X509 *b)
{
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    int n;

    assert_non_null(t);
    pki_pem_append(a, &buf, &len);
    if (b != NULL)
        pki_pem_append(b, &buf, &len);
    n = dp_trust_add_mem(t, buf, len, "bundle.pem", err, sizeof(err));
    free(buf);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, b ? 2 : 1);
    return t;
}

/* A new store from the DER of CERT. */
static dp_trust_t *store_der(X509 *cert)
{
    dp_trust_t *t = dp_trust_new();
    size_t len;
    unsigned char *der = pki_der(cert, &len);
    char err[256] = "";
    int n;

    assert_non_null(t);
    n = dp_trust_add_mem(t, der, len, "root.der", err, sizeof(err));
    OPENSSL_free(der);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, 1);
    return t;
}

/* A stack of the given certificates (borrowed), NULL-terminated list. */
static STACK_OF(X509) *chain(X509 *first, ...)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    va_list ap;
    X509 *x;

    assert_non_null(sk);
    va_start(ap, first);
    for (x = first; x != NULL; x = va_arg(ap, X509 *))
        assert_true(sk_X509_push(sk, x) > 0);
    va_end(ap);
    return sk;
}

static dp_chain_result_t verify(const dp_trust_t *t, X509 *cert,
                                STACK_OF(X509) *sent, int level)
{
    dp_chain_result_t r;

    memset(&r, 0x5a, sizeof(r));
    assert_int_equal(dp_trust_verify(t, cert, sent, level, pki_now, &r), 0);
    return r;
}

static void assert_verified(const dp_chain_result_t *r, dp_time_status_t ts,
                            int depth)
{
    if (!r->verified)
        fail_msg("not verified: %d %s at depth %d", r->x509_err,
                 X509_verify_cert_error_string(r->x509_err), r->err_depth);
    assert_int_equal(r->x509_err, X509_V_OK);
    assert_int_equal(r->time, ts);
    assert_int_equal(r->time_depth, depth);
}

static void assert_rejected(const dp_chain_result_t *r, int x509_err)
{
    if (r->verified)
        fail_msg("verified, expected error %d (%s)", x509_err,
                 X509_verify_cert_error_string(x509_err));
    if (x509_err != X509_V_OK && r->x509_err != x509_err)
        fail_msg("error %d (%s), expected %d (%s)", r->x509_err,
                 X509_verify_cert_error_string(r->x509_err), x509_err,
                 X509_verify_cert_error_string(x509_err));
    assert_int_not_equal(r->x509_err, X509_V_OK);
    assert_int_equal(r->time, DP_TIME_VALID);
    assert_int_equal(r->time_depth, -1);
}

/* ---- dp_trust_add_mem ---------------------------------------------------- */

static void test_add_mem_pem_bundle(void **state)
{
    dp_trust_t *t;

    (void)state;
    t = store_pem(P.rootA, P.intA);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    assert_int_equal(dp_trust_intermediate_count(t), 1);
    dp_trust_free(t);

    /* order in the bundle does not matter */
    t = store_pem(P.intA, P.rootA);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    assert_int_equal(dp_trust_intermediate_count(t), 1);
    dp_trust_free(t);

    /* an intermediate alone is no anchor */
    t = store_pem(P.intA, NULL);
    assert_int_equal(dp_trust_anchor_count(t), 0);
    assert_int_equal(dp_trust_intermediate_count(t), 1);
    dp_trust_free(t);
    dp_trust_free(NULL);
}

static void test_add_mem_der_root(void **state)
{
    dp_trust_t *t;
    char err[256] = "";
    size_t len;
    unsigned char *der;

    (void)state;
    t = store_der(P.rootB);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    assert_int_equal(dp_trust_intermediate_count(t), 0);
    /* a DER intermediate added to it */
    der = pki_der(P.intA, &len);
    assert_int_equal(dp_trust_add_mem(t, der, len, "int.der", err,
                                      sizeof(err)), 1);
    OPENSSL_free(der);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    assert_int_equal(dp_trust_intermediate_count(t), 1);
    dp_trust_free(t);
}

static void test_add_mem_pem_with_text(void **state)
{
    /* openssl x509 -text output around the cert is fine */
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    static const char pre[] = "Certificate:\n    Subject: whatever\n";
    static const char post[] = "trailing words\n";

    (void)state;
    buf = malloc(sizeof(pre) - 1);
    memcpy(buf, pre, sizeof(pre) - 1);
    len = sizeof(pre) - 1;
    pki_pem_append(P.rootA, &buf, &len);
    buf = realloc(buf, len + sizeof(post) - 1);
    memcpy(buf + len, post, sizeof(post) - 1);
    len += sizeof(post) - 1;
    assert_int_equal(dp_trust_add_mem(t, buf, len, "mixed.pem", err,
                                      sizeof(err)), 1);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    free(buf);
    dp_trust_free(t);
}

static void test_add_mem_pem_other_block_refused(void **state)
{
    /* a PUBLIC KEY block next to the cert is refused, not skipped */
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    BIO *b = BIO_new(BIO_s_mem());
    char *key;
    long klen;

    (void)state;
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, P.k_rootA), 1);
    klen = BIO_get_mem_data(b, &key);
    buf = malloc((size_t)klen);
    memcpy(buf, key, (size_t)klen);
    len = (size_t)klen;
    BIO_free(b);
    pki_pem_append(P.rootA, &buf, &len);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "mixed.pem", err,
                                      sizeof(err)), -1);
    if (strstr(err, "mixed.pem: ") != err || strstr(err, "'PUBLIC KEY'")
        == NULL)
        fail_msg("unexpected error '%s'", err);
    assert_int_equal(dp_trust_anchor_count(t), 0);
    assert_int_equal(ERR_peek_error(), 0);
    free(buf);
    dp_trust_free(t);
}

static void assert_add_mem_fails(const void *buf, size_t len,
                                 const char *what)
{
    dp_trust_t *t = dp_trust_new();
    char err[256] = "";

    assert_int_equal(dp_trust_add_mem(t, buf, len, "junk.pem", err,
                                      sizeof(err)), -1);
    if (strncmp(err, "junk.pem: ", 10) != 0 || strstr(err, what) == NULL)
        fail_msg("error '%s' should name the file and say '%s'", err, what);
    assert_int_equal(dp_trust_anchor_count(t), 0);
    assert_int_equal(ERR_peek_error(), 0);          /* queue left clean */
    dp_trust_free(t);
}

static void test_add_mem_garbage(void **state)
{
    static const char text[] = "hello, world\n";
    static const char badpem[] = "-----BEGIN CERTIFICATE-----\n"
                                 "!!!! not base64 !!!!\n"
                                 "-----END CERTIFICATE-----\n";
    static const char foo[] = "-----BEGIN FOO-----\n"
                              "aGVsbG8=\n"
                              "-----END FOO-----\n";
    static const char nocert[] = "see -----BEGIN CERTIFICATE----- below\n"
                                 "(there is nothing below)\n";
    unsigned char *der, *buf;
    size_t len;

    (void)state;
    assert_add_mem_fails(text, sizeof(text) - 1, "neither a PEM nor a DER");
    assert_add_mem_fails(badpem, sizeof(badpem) - 1, "malformed PEM");
    assert_add_mem_fails(foo, sizeof(foo) - 1, "unsupported PEM block 'FOO'");
    assert_add_mem_fails(nocert, sizeof(nocert) - 1,
                         "contains no certificate");
    assert_add_mem_fails("", 0, "empty");

    /* DER with trailing bytes, and truncated DER */
    der = pki_der(P.rootA, &len);
    buf = malloc(len + 1);
    memcpy(buf, der, len);
    buf[len] = 0;
    assert_add_mem_fails(buf, len + 1, "neither a PEM nor a DER");
    assert_add_mem_fails(buf, len - 1, "neither a PEM nor a DER");
    free(buf);
    OPENSSL_free(der);

    /* a good certificate followed by a damaged one */
    buf = NULL;
    len = 0;
    pki_pem_append(P.rootA, &buf, &len);
    buf = realloc(buf, len + sizeof(badpem) - 1);
    memcpy(buf + len, badpem, sizeof(badpem) - 1);
    len += sizeof(badpem) - 1;
    {
        dp_trust_t *t = dp_trust_new();
        char err[256] = "";
        assert_int_equal(dp_trust_add_mem(t, buf, len, "two.pem", err,
                                          sizeof(err)), -1);
        assert_non_null(strstr(err, "two.pem: malformed PEM"));
        assert_non_null(strstr(err, "after 1 good one"));
        dp_trust_free(t);
    }
    free(buf);
}

static void test_add_mem_not_a_ca(void **state)
{
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL, *der;
    size_t len = 0;
    char err[256] = "";

    (void)state;
    /* a device certificate offered as trust */
    pki_pem_append(P.valid, &buf, &len);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "leaf.pem", err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "leaf.pem: "));
    assert_non_null(strstr(err, "not a CA"));
    assert_non_null(strstr(err, "0004F2ABCDEF"));   /* names the subject */
    free(buf);

    /* a self-signed end-entity certificate, in DER */
    der = pki_der(P.selfsigned, &len);
    assert_int_equal(dp_trust_add_mem(t, der, len, "self.der", err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "not a CA"));
    OPENSSL_free(der);

    assert_int_equal(dp_trust_anchor_count(t), 0);
    assert_int_equal(dp_trust_intermediate_count(t), 0);
    dp_trust_free(t);
}

static void test_add_same_anchor_twice(void **state)
{
    /* the same root from two places (file and directory) is one anchor */
    dp_trust_t *t = store_pem(P.rootA, NULL);
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    (void)state;
    pki_pem_append(P.rootA, &buf, &len);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "again.pem", err,
                                      sizeof(err)), 1);
    free(buf);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    assert_int_equal(ERR_peek_error(), 0);
    dp_trust_free(t);
}

/* The thread's error queue is shared with mod_ssl: the trust code takes
 * its own errors away and leaves the caller's alone. */
static void assert_only_callers_error(void)
{
    unsigned long e = ERR_get_error();

    assert_int_equal(ERR_GET_LIB(e), ERR_LIB_USER);
    assert_int_equal(ERR_GET_REASON(e), 42);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_trust_keeps_callers_errors(void **state)
{
    static const char badpem[] = "-----BEGIN CERTIFICATE-----\n"
                                 "!!!! not base64 !!!!\n"
                                 "-----END CERTIFICATE-----\n";
    dp_trust_t *t;
    dp_chain_result_t r;
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256];

    (void)state;
    ERR_clear_error();
    /* adding: good, damaged, the same anchor again, DER junk */
    t = dp_trust_new();
    pki_pem_append(P.rootA, &buf, &len);
    pki_pem_append(P.intA, &buf, &len);
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "ok.pem", err,
                                      sizeof(err)), 2);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "again.pem", err,
                                      sizeof(err)), 2);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_add_mem(t, (const unsigned char *)badpem,
                                      sizeof(badpem) - 1,
                                      "bad.pem", err, sizeof(err)), -1);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_add_mem(t, (const unsigned char *)"junk", 4,
                                      "bad.der", err,
                                      sizeof(err)), -1);
    assert_only_callers_error();
    free(buf);

    /* verifying: success and failure */
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.valid, NULL, 1, pki_now, &r), 0);
    assert_int_equal(r.verified, 1);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.rogue_leaf, NULL, 1, pki_now, &r),
                     0);
    assert_int_equal(r.verified, 0);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.selfsigned, NULL, 1, pki_now, &r),
                     0);
    assert_int_equal(r.verified, 0);
    assert_only_callers_error();
    dp_trust_free(t);
}

/* ---- dp_trust_verify ------------------------------------------------------ */

static void test_verify_times(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    dp_chain_result_t r;
    STACK_OF(X509) *sent;

    (void)state;
    r = verify(t, P.valid, NULL, 1);
    assert_verified(&r, DP_TIME_VALID, -1);
    assert_int_equal(r.err_depth, -1);

    r = verify(t, P.expired, NULL, 1);
    assert_verified(&r, DP_TIME_EXPIRED, 0);

    r = verify(t, P.nyv, NULL, 1);
    assert_verified(&r, DP_TIME_NOT_YET_VALID, 0);

    /* NOW is what the times are compared with */
    {
        dp_chain_result_t r2;
        assert_int_equal(dp_trust_verify(t, P.valid, NULL, 1,
                                         pki_now + 2 * PKI_YEAR, &r2), 0);
        assert_verified(&r2, DP_TIME_EXPIRED, 0);
        assert_int_equal(dp_trust_verify(t, P.valid, NULL, 1,
                                         pki_now - 2 * PKI_DAY, &r2), 0);
        assert_verified(&r2, DP_TIME_NOT_YET_VALID, 0);
        /* long after: the whole chain expired, the leaf-most is reported */
        assert_int_equal(dp_trust_verify(t, P.valid, NULL, 1,
                                         pki_now + 20 * PKI_YEAR, &r2), 0);
        assert_verified(&r2, DP_TIME_EXPIRED, 0);
        assert_int_equal(dp_trust_verify(t, P.expired, NULL, 1,
                                         pki_now - 2 * PKI_YEAR, &r2), 0);
        assert_verified(&r2, DP_TIME_NOT_YET_VALID, 1);   /* intA */
    }

    /* the expired intermediate, sent by the phone */
    sent = chain(P.oldA, NULL);
    r = verify(t, P.under_old, sent, 1);
    assert_verified(&r, DP_TIME_EXPIRED, 1);
    r = verify(t, P.expired_under_old, sent, 1);
    assert_verified(&r, DP_TIME_EXPIRED, 0);
    /* expired outranks not-yet-valid */
    r = verify(t, P.nyv_under_old, sent, 1);
    assert_verified(&r, DP_TIME_EXPIRED, 1);
    sk_X509_free(sent);

    /* ...and not sent: the issuer is unknown */
    r = verify(t, P.under_old, NULL, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    dp_trust_free(t);
}

/* X509_cmp_time() cannot parse this notAfter and answers 0: that must not
 * read as "within the validity period" (OpenSSL's own check says 14). */
static void test_verify_unparseable_validity(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    X509 *x = leaf("/O=Acme Phones/CN=0004f2000099", P.intA, P.k_intA,
                   -PKI_DAY, PKI_YEAR, NULL);
    dp_chain_result_t r;

    (void)state;
    assert_int_equal(ASN1_STRING_set(X509_getm_notAfter(x),
                                     "991231235959Zjunk", -1), 1);
    assert_true(X509_sign(x, P.k_intA, EVP_sha256()) > 0);
    r = verify(t, x, NULL, 1);
    assert_rejected(&r, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
    assert_int_equal(r.err_depth, 0);
    X509_free(x);
    dp_trust_free(t);
}

static void test_verify_intermediate_from_store_or_peer(void **state)
{
    dp_trust_t *root_only = store_der(P.rootA);
    dp_chain_result_t r;
    STACK_OF(X509) *sent;

    (void)state;
    /* the phone sends only its certificate: the store must have intA */
    r = verify(root_only, P.valid, NULL, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    /* ...or the phone sends it */
    sent = chain(P.intA, NULL);
    r = verify(root_only, P.valid, sent, 1);
    assert_verified(&r, DP_TIME_VALID, -1);
    /* the caller's stack is not modified */
    assert_int_equal(sk_X509_num(sent), 1);
    sk_X509_free(sent);
    /* an empty stack is fine */
    sent = sk_X509_new_null();
    r = verify(root_only, P.valid, sent, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    sk_X509_free(sent);
    dp_trust_free(root_only);

    /* an intermediate is no trust anchor (no partial chains) */
    {
        dp_trust_t *int_only = store_pem(P.intA, NULL);
        r = verify(int_only, P.valid, NULL, 1);
        assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        assert_int_equal(r.err_depth, 1);
        dp_trust_free(int_only);
    }
}

static void test_verify_attackers(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    dp_chain_result_t r;
    STACK_OF(X509) *sent;

    (void)state;
    /* another CA's certificate */
    r = verify(t, P.rogue_leaf, NULL, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    sent = chain(P.rogue, NULL);
    r = verify(t, P.rogue_leaf, sent, 1);
    assert_rejected(&r, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
    sk_X509_free(sent);
    r = verify(t, P.rogue_leaf, NULL, 0);
    assert_rejected(&r, X509_V_OK);                  /* any error */

    /* look-alike root and intermediate: same names, other keys */
    sent = chain(P.laint, P.laroot, NULL);
    r = verify(t, P.lookalike, sent, 1);
    print_message("    look-alike chain: %d (%s) at depth %d\n", r.x509_err,
                  X509_verify_cert_error_string(r.x509_err), r.err_depth);
    assert_rejected(&r, X509_V_OK);
    r = verify(t, P.lookalike, sent, 0);
    assert_rejected(&r, X509_V_OK);
    sk_X509_free(sent);
    r = verify(t, P.lookalike, NULL, 1);
    assert_rejected(&r, X509_V_OK);
    /* the real intermediate sent with the look-alike leaf */
    sent = chain(P.intA, NULL);
    r = verify(t, P.lookalike, sent, 1);
    assert_rejected(&r, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    sk_X509_free(sent);

    /* a self-signed device certificate */
    r = verify(t, P.selfsigned, NULL, 1);
    assert_rejected(&r, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_int_equal(r.err_depth, 0);

    /* a CA certificate (keyCertSign only) presented as a client
     * certificate: not fit for TLS client authentication */
    r = verify(t, P.intA, NULL, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, P.rootA, NULL, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);

    /* a genuine certificate for TLS servers only */
    r = verify(t, P.server, NULL, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(r.err_depth, 0);

    /* vendor B's store knows nothing of vendor A */
    {
        dp_trust_t *tb = store_der(P.rootB);
        r = verify(tb, P.valid, NULL, 1);
        assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        sent = chain(P.intA, NULL);
        r = verify(tb, P.valid, sent, 1);
        assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        assert_int_equal(r.err_depth, 1);
        sk_X509_free(sent);
        dp_trust_free(tb);
    }
    dp_trust_free(t);
}

static void test_verify_auth_level(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    dp_chain_result_t r;

    (void)state;
    /* SHA-1 signature: too weak at level 1, accepted at level 0 */
    r = verify(t, P.sha1, NULL, 1);
    assert_rejected(&r, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, P.sha1, NULL, 0);
    assert_verified(&r, DP_TIME_VALID, -1);

    /* RSA-1024 leaf key: 80 bits, fine at level 1, too small at level 2 */
    r = verify(t, P.rsa1024, NULL, 1);
    assert_verified(&r, DP_TIME_VALID, -1);
    r = verify(t, P.rsa1024, NULL, 2);
    assert_rejected(&r, X509_V_ERR_EE_KEY_TOO_SMALL);
    assert_int_equal(r.err_depth, 0);

    /* P-256 and SHA-256 pass up to level 3 */
    r = verify(t, P.valid, NULL, 3);
    assert_verified(&r, DP_TIME_VALID, -1);
    dp_trust_free(t);
}

static void test_time_status_strings(void **state)
{
    (void)state;
    assert_string_equal(dp_time_status_string(DP_TIME_VALID), "valid");
    assert_string_equal(dp_time_status_string(DP_TIME_EXPIRED), "expired");
    assert_string_equal(dp_time_status_string(DP_TIME_NOT_YET_VALID),
                        "not-yet-valid");
}

/* ---- dp_trust_add_path ------------------------------------------------- */

static char *join(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

static void write_pem(const char *path, X509 *x)
{
    unsigned char *buf = NULL;
    size_t len = 0;

    pki_pem_append(x, &buf, &len);
    assert_int_equal(pki_write_file(path, buf, len), 0);
    free(buf);
}

static void write_der(const char *path, X509 *x)
{
    size_t len;
    unsigned char *der = pki_der(x, &len);

    assert_int_equal(pki_write_file(path, der, len), 0);
    OPENSSL_free(der);
}

/* The directory of test_add_path_dir, removed by its teardown even when an
 * assertion fails half-way. */
static char tmpdir[64];

static int rm_tmpdir(void **state)
{
    DIR *d;
    struct dirent *de;
    char p[512];

    (void)state;
    if (tmpdir[0] == '\0' || (d = opendir(tmpdir)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
    tmpdir[0] = '\0';
    return 0;
}

static void test_add_path_dir(void **state)
{
    char *dir = tmpdir, p[512], err[512] = "";
    dp_trust_t *t;
    static const char junk[] = "this is not a certificate\n";

    (void)state;
    strcpy(tmpdir, "/tmp/dp_trust_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));

    /* empty directory */
    t = dp_trust_new();
    assert_int_equal(dp_trust_add_path(t, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "no *.pem"));
    dp_trust_free(t);

    /* only files that are not read */
    assert_int_equal(pki_write_file(join(p, sizeof(p), dir, "README.txt"),
                                    junk, sizeof(junk) - 1), 0);
    assert_int_equal(pki_write_file(join(p, sizeof(p), dir, "e.pem.bak"),
                                    junk, sizeof(junk) - 1), 0);
    assert_int_equal(pki_write_file(join(p, sizeof(p), dir, ".hidden.pem"),
                                    junk, sizeof(junk) - 1), 0);
    assert_int_equal(pki_write_file(join(p, sizeof(p), dir, "pem"),
                                    junk, sizeof(junk) - 1), 0);
    assert_int_equal(pki_write_file(join(p, sizeof(p), dir, "f.key"),
                                    junk, sizeof(junk) - 1), 0);
    t = dp_trust_new();
    assert_int_equal(dp_trust_add_path(t, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "no *.pem"));
    dp_trust_free(t);

    /* the certificates, in every accepted form, and a sub-directory whose
     * name looks like a certificate */
    write_pem(join(p, sizeof(p), dir, "a-root.pem"), P.rootA);
    write_pem(join(p, sizeof(p), dir, "b-int.crt"), P.intA);
    write_der(join(p, sizeof(p), dir, "c-beta.CER"), P.rootB);
    write_der(join(p, sizeof(p), dir, "d-old.der"), P.oldA);
    assert_int_equal(mkdir(join(p, sizeof(p), dir, "sub.pem"), 0700), 0);

    t = dp_trust_new();
    err[0] = '\0';
    if (dp_trust_add_path(t, dir, err, sizeof(err)) != 4)
        fail_msg("add_path: %s", err);
    assert_int_equal(dp_trust_anchor_count(t), 2);
    assert_int_equal(dp_trust_intermediate_count(t), 2);
    {
        dp_chain_result_t r = verify(t, P.valid, NULL, 1);
        assert_verified(&r, DP_TIME_VALID, -1);
        r = verify(t, P.under_old, NULL, 1);
        assert_verified(&r, DP_TIME_EXPIRED, 1);
        r = verify(t, P.b_dev, NULL, 1);
        assert_verified(&r, DP_TIME_VALID, -1);
    }
    dp_trust_free(t);

    /* a single file */
    t = dp_trust_new();
    assert_int_equal(dp_trust_add_path(t, join(p, sizeof(p), dir,
                                               "a-root.pem"), err,
                                       sizeof(err)), 1);
    assert_int_equal(dp_trust_anchor_count(t), 1);
    dp_trust_free(t);

    /* a device certificate in the directory spoils it, named */
    write_pem(join(p, sizeof(p), dir, "z-leaf.pem"), P.valid);
    t = dp_trust_new();
    assert_int_equal(dp_trust_add_path(t, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, join(p, sizeof(p), dir, "z-leaf.pem")));
    assert_non_null(strstr(err, "not a CA"));
    dp_trust_free(t);

}

static void test_add_path_missing(void **state)
{
    const char *path = "/nonexistent-dir/devprov/vendor-ca.pem";
    dp_trust_t *t = dp_trust_new();
    char err[512] = "";

    (void)state;
    assert_int_equal(dp_trust_add_path(t, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));
    /* not a regular file or directory */
    assert_int_equal(dp_trust_add_path(t, "/dev/null", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/dev/null"));
    assert_int_equal(dp_trust_anchor_count(t), 0);
    dp_trust_free(t);
}

/* ---- dp_identify ----------------------------------------------------------- */

typedef struct vendors {
    dp_vendor_t a, b;
    dp_macrule_t *a_rules[4], *b_rules[1];
    const dp_vendor_t *list[2];
} vendors_t;

/* Vendor "acme" (Polycom preset, rootA+intA) and vendor "beta" (its own
 * root, MAC in OU). */
static void vendors_init(vendors_t *v)
{
    const dp_rule_spec_t *spec = dp_vendor_preset("polycom");
    char err[256];

    memset(v, 0, sizeof(*v));
    for (; spec->attr != NULL; spec++) {
        v->a_rules[v->a.nrules] = dp_macrule_new(spec->attr, spec->pattern,
                                                 err, sizeof(err));
        assert_non_null(v->a_rules[v->a.nrules]);
        v->a.nrules++;
    }
    v->a.name = "acme";
    v->a.trust = store_pem(P.rootA, P.intA);
    v->a.rules = v->a_rules;
    v->a.auth_level = DP_AUTH_LEVEL_DEFAULT;

    v->b_rules[0] = dp_macrule_new("OU", "^dev-([0-9a-f]{12})$", err,
                                   sizeof(err));
    assert_non_null(v->b_rules[0]);
    v->b.name = "beta";
    v->b.trust = store_der(P.rootB);
    v->b.rules = v->b_rules;
    v->b.nrules = 1;
    v->b.auth_level = DP_AUTH_LEVEL_DEFAULT;

    v->list[0] = &v->a;
    v->list[1] = &v->b;
}

static void vendors_free(vendors_t *v)
{
    size_t i;

    for (i = 0; i < v->a.nrules; i++)
        dp_macrule_free(v->a_rules[i]);
    dp_macrule_free(v->b_rules[0]);
    dp_trust_free(v->a.trust);
    dp_trust_free(v->b.trust);
}

static dp_identity_t identify(const dp_vendor_t *const *list, size_t n,
                              X509 *cert, STACK_OF(X509) *sent)
{
    dp_identity_t id;

    memset(&id, 0x5a, sizeof(id));
    assert_int_equal(dp_identify(list, n, NULL, cert, sent, pki_now, &id), 0);
    return id;
}

static void assert_device(const dp_identity_t *id, const dp_vendor_t *v,
                          const char *mac)
{
    char m[DP_MAC_STRLEN + 1];

    if (id->status != DP_ST_DEVICE)
        fail_msg("status %d, reason '%s'", id->status, id->reason);
    assert_ptr_equal(id->vendor, v);
    dp_mac_format(&id->mac, m);
    assert_string_equal(m, mac);
    assert_string_equal(id->reason, "");
}

static void test_identify_device(void **state)
{
    vendors_t v;
    dp_identity_t id;

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.valid, NULL);
    assert_device(&id, &v.a, "0004f2abcdef");
    assert_int_equal(id.time, DP_TIME_VALID);
    assert_int_equal(id.time_depth, -1);
    assert_int_equal(id.x509_err, X509_V_OK);

    /* genuine but expired is still the device; the time says so */
    id = identify(v.list, 2, P.expired, NULL);
    assert_device(&id, &v.a, "0004f2000002");
    assert_int_equal(id.time, DP_TIME_EXPIRED);
    assert_int_equal(id.time_depth, 0);

    id = identify(v.list, 2, P.nyv, NULL);
    assert_device(&id, &v.a, "0004f2000003");
    assert_int_equal(id.time, DP_TIME_NOT_YET_VALID);

    {
        STACK_OF(X509) *sent = chain(P.oldA, NULL);
        id = identify(v.list, 2, P.under_old, sent);
        assert_device(&id, &v.a, "0004f2000004");
        assert_int_equal(id.time, DP_TIME_EXPIRED);
        assert_int_equal(id.time_depth, 1);
        sk_X509_free(sent);
    }
    vendors_free(&v);
}

static void test_identify_vendor_by_ca(void **state)
{
    vendors_t v;
    dp_identity_t id;
    const dp_vendor_t *reversed[2];

    (void)state;
    vendors_init(&v);
    /* vendor B's device */
    id = identify(v.list, 2, P.b_dev, NULL);
    assert_device(&id, &v.b, "00aabbccddee");

    /* a Polycom-looking subject under vendor B's CA is read with vendor
     * B's rule: no OU, no MAC - never the CN Polycom would use */
    id = identify(v.list, 2, P.b_polycomlike, NULL);
    assert_int_equal(id.status, DP_ST_NO_MAC);
    assert_ptr_equal(id.vendor, &v.b);
    assert_string_equal(id.reason, "no MAC in certificate subject");
    {
        static const unsigned char zero[DP_MAC_LEN] = { 0 };
        assert_memory_equal(id.mac.b, zero, DP_MAC_LEN);
    }

    /* both layouts present: B's rule decides */
    id = identify(v.list, 2, P.b_both, NULL);
    assert_device(&id, &v.b, "00aabbccddee");

    /* configuration order does not change who vouches for what */
    reversed[0] = &v.b;
    reversed[1] = &v.a;
    id = identify(reversed, 2, P.valid, NULL);
    assert_device(&id, &v.a, "0004f2abcdef");
    id = identify(reversed, 2, P.b_both, NULL);
    assert_device(&id, &v.b, "00aabbccddee");

    /* two vendors vouched for by the same CA: the first configured one
     * that verifies is used, with its own rules only */
    {
        dp_vendor_t a2 = v.b;                  /* B's rules, A's CA */
        const dp_vendor_t *list[2];
        a2.name = "acme-ou";
        a2.trust = v.a.trust;
        list[0] = &a2;
        list[1] = &v.a;
        id = identify(list, 2, P.valid, NULL);
        assert_int_equal(id.status, DP_ST_NO_MAC);
        assert_ptr_equal(id.vendor, &a2);
        list[0] = &v.a;
        list[1] = &a2;
        id = identify(list, 2, P.valid, NULL);
        assert_device(&id, &v.a, "0004f2abcdef");
    }

    /* with vendor A alone, B's devices are unverified */
    id = identify(v.list, 1, P.b_polycomlike, NULL);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_null(id.vendor);
    vendors_free(&v);
}

static void test_identify_no_cert(void **state)
{
    vendors_t v;
    dp_identity_t id;
    static const unsigned char zero[32] = { 0 };

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, NULL, NULL);
    assert_int_equal(id.status, DP_ST_NO_CERT);
    assert_null(id.vendor);
    assert_memory_equal(id.sha256, zero, 32);
    assert_non_null(strstr(id.reason, "no client certificate"));
    vendors_free(&v);
}

static void test_identify_unverified(void **state)
{
    vendors_t v;
    dp_identity_t id;
    const char *want;

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.rogue_leaf, NULL);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_null(id.vendor);
    assert_int_equal(id.x509_err,
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    want = X509_verify_cert_error_string(id.x509_err);
    if (strstr(id.reason, want) == NULL)
        fail_msg("reason '%s' lacks '%s'", id.reason, want);
    {
        static const unsigned char zero[DP_MAC_LEN] = { 0 };
        assert_memory_equal(id.mac.b, zero, DP_MAC_LEN);
    }

    id = identify(v.list, 2, P.selfsigned, NULL);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_int_equal(id.x509_err, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_non_null(strstr(id.reason, X509_verify_cert_error_string(
                                          X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)));

    {
        STACK_OF(X509) *sent = chain(P.laint, P.laroot, NULL);
        id = identify(v.list, 2, P.lookalike, sent);
        assert_int_equal(id.status, DP_ST_UNVERIFIED);
        assert_int_not_equal(id.x509_err, X509_V_OK);
        sk_X509_free(sent);
    }

    /* SHA-1 at the vendor's level 1, and the vendor lowered to level 0 */
    id = identify(v.list, 2, P.sha1, NULL);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_int_equal(id.x509_err, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_non_null(strstr(id.reason, X509_verify_cert_error_string(
                                          X509_V_ERR_CA_MD_TOO_WEAK)));
    v.a.auth_level = 0;
    id = identify(v.list, 2, P.sha1, NULL);
    assert_device(&id, &v.a, "0004f2000008");

    /* no vendors at all */
    id = identify(v.list, 0, P.valid, NULL);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_non_null(strstr(id.reason, "no vendor trust store"));
    vendors_free(&v);
}

static void test_identify_no_mac(void **state)
{
    vendors_t v;
    dp_identity_t id;

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.nomac, NULL);
    assert_int_equal(id.status, DP_ST_NO_MAC);
    assert_ptr_equal(id.vendor, &v.a);
    assert_int_equal(id.time, DP_TIME_VALID);
    assert_string_equal(id.reason, dp_mac_status_string(DP_MAC_NONE));
    vendors_free(&v);
}

static void test_identify_fingerprint(void **state)
{
    vendors_t v;
    dp_identity_t id;
    X509 *certs[] = { P.valid, P.rogue_leaf, P.b_dev };
    size_t i;

    (void)state;
    vendors_init(&v);
    for (i = 0; i < 3; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char hex[65], want[65];
        size_t k;

        id = identify(v.list, 2, certs[i], NULL);
        assert_int_equal(X509_digest(certs[i], EVP_sha256(), md, &mdlen), 1);
        assert_int_equal(mdlen, 32);
        assert_memory_equal(id.sha256, md, 32);
        dp_hex_sha256(id.sha256, hex);
        for (k = 0; k < 32; k++)
            sprintf(want + 2 * k, "%02x", md[k]);
        assert_string_equal(hex, want);
    }
    vendors_free(&v);
}

/* ---- dp_identify_pinned ---------------------------------------------------- */

/* A lookup source answering from a fixed entry for one MAC, or failing. */
typedef struct {
    const char *mac;            /* the one MAC listed */
    char rec[256];              /* its entry: "label\0pin=...\0\0" */
    int fail;                   /* answer -1 (a database down) */
    int calls;
} fake_source_t;

static int fake_lookup(void *data, const dp_mac_t *mac, dp_entry_t *out)
{
    fake_source_t *src = data;
    char m[DP_MAC_STRLEN + 1];

    src->calls++;
    if (src->fail)
        return -1;
    dp_mac_format(mac, m);
    if (strcmp(m, src->mac) != 0)
        return 0;
    out->label = src->rec;
    out->attrs = src->rec + strlen(src->rec) + 1;
    return 1;
}

static void fake_pin(fake_source_t *src, const char *mac, X509 *cert)
{
    unsigned char md[32];
    unsigned int n;
    char hex[65];
    int len;

    memset(src, 0, sizeof(*src));
    src->mac = mac;
    assert_true(X509_digest(cert, EVP_sha256(), md, &n) && n == 32);
    dp_hex_sha256(md, hex);
    len = snprintf(src->rec, sizeof(src->rec), "desk%cpin=sha256:%s%c", 0,
                   hex, 0);
    assert_true(len > 0 && (size_t)len < sizeof(src->rec) - 1);
}

static void test_identify_pinned_source(void **state)
{
    vendors_t v;
    dp_identity_t id;
    fake_source_t src;

    (void)state;
    vendors_init(&v);

    /* pinned: the self-signed certificate becomes the device */
    fake_pin(&src, "0004f2000007", P.selfsigned);
    id = identify(v.list, 2, P.selfsigned, NULL);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), 1);
    assert_device(&id, &v.a, "0004f2000007");
    assert_true(id.pinned);

    /* pinned to another certificate: not a device */
    fake_pin(&src, "0004f2000007", P.valid);
    id = identify(v.list, 2, P.selfsigned, NULL);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), 0);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);

    /* the source cannot answer: -1 and the identity left alone */
    fake_pin(&src, "0004f2000007", P.selfsigned);
    src.fail = 1;
    id = identify(v.list, 2, P.selfsigned, NULL);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), -1);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_false(id.pinned);

    /* a CA-verified device never asks the source */
    src.calls = 0;
    id = identify(v.list, 2, P.valid, NULL);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.valid, pki_now, &id), 0);
    assert_int_equal(src.calls, 0);
    assert_device(&id, &v.a, "0004f2abcdef");
    assert_false(id.pinned);
    vendors_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_mem_pem_bundle),
        cmocka_unit_test(test_add_mem_der_root),
        cmocka_unit_test(test_add_mem_pem_with_text),
        cmocka_unit_test(test_add_mem_pem_other_block_refused),
        cmocka_unit_test(test_trust_keeps_callers_errors),
        cmocka_unit_test(test_add_mem_garbage),
        cmocka_unit_test(test_add_mem_not_a_ca),
        cmocka_unit_test(test_add_same_anchor_twice),
        cmocka_unit_test(test_verify_times),
        cmocka_unit_test(test_verify_unparseable_validity),
        cmocka_unit_test(test_verify_intermediate_from_store_or_peer),
        cmocka_unit_test(test_verify_attackers),
        cmocka_unit_test(test_verify_auth_level),
        cmocka_unit_test(test_time_status_strings),
        cmocka_unit_test_teardown(test_add_path_dir, rm_tmpdir),
        cmocka_unit_test(test_add_path_missing),
        cmocka_unit_test(test_identify_device),
        cmocka_unit_test(test_identify_vendor_by_ca),
        cmocka_unit_test(test_identify_no_cert),
        cmocka_unit_test(test_identify_unverified),
        cmocka_unit_test(test_identify_no_mac),
        cmocka_unit_test(test_identify_fingerprint),
        cmocka_unit_test(test_identify_pinned_source),
    };
    return cmocka_run_group_tests_name("dp_identify", tests, pki_setup,
                                       pki_teardown);
}
