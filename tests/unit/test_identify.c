/* test_identify.c - trust stores, chain verification as of the latest
 * moment the chain was valid (issue 13) and device identification,
 * against a PKI generated in memory. */
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

#include "src/dp_hex.h"
#include "src/dp_identify.h"
#include "tests/unit/pki.h"

/* ---- the PKI ------------------------------------------------------------ *
 *
 * Vendor A (Polycom-like, MAC in CN):
 *   rootA -> intA -> valid, expired, nyv, sha1, nomac, rsa1024,
 *                    server (serverAuth only)
 *   rootA -> oldA (expired intermediate) -> under_old, expired_under_old,
 *                                           nyv_under_old (never valid)
 * Vendor B (MAC in OU "dev-<mac>"):
 *   rootB -> b_polycomlike (CN=0004F2ABCDEF, no OU), b_dev, b_both
 * Attackers:
 *   rogue (self-signed CA) -> rogue_leaf
 *   laroot/laint: same names as rootA/intA, other keys -> lookalike
 *   selfsigned: a self-signed end-entity certificate
 *
 * The CAs are valid from 10 years ago: with time checks on, a leaf valid
 * before its CA was (the old fixture's CAs started a day ago, before the
 * 3-year-old expired leaf) would make a chain that was never valid.
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

/* A CA certificate valid from FROM to TO (relative to pki_now). */
static X509 *ca_cert(const char *subject, EVP_PKEY *key, X509 *issuer,
                     EVP_PKEY *issuer_key, long from, long to)
{
    pki_opts_t o = PKI_CA;

    o.from = from;
    o.to = to;
    return pki_issue(pki_name(subject), key, issuer, issuer_key, &o);
}

static int pki_setup(void **state)
{
    pki_opts_t ca = PKI_CA;

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

    ca.from = -10 * PKI_YEAR;
    P.rootA = pki_issue(pki_name(ROOT_A), P.k_rootA, NULL, NULL, &ca);
    P.intA = pki_issue(pki_name(INT_A), P.k_intA, P.rootA, P.k_rootA, &ca);
    P.oldA = ca_cert("/O=Acme Phones/CN=Acme 2015 Issuing CA", P.k_oldA,
                     P.rootA, P.k_rootA, -5 * PKI_YEAR, -PKI_YEAR);
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

/* A new store from the PEM bundle of the given certificates (a
 * NULL-terminated list). */
static dp_trust_t *store_of(X509 *first, ...)
{
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    int n, want = 0;
    va_list ap;
    X509 *x;

    assert_non_null(t);
    va_start(ap, first);
    for (x = first; x != NULL; x = va_arg(ap, X509 *)) {
        pki_pem_append(x, &buf, &len);
        want++;
    }
    va_end(ap);
    n = dp_trust_add_mem(t, buf, len, "bundle.pem", err, sizeof(err));
    free(buf);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, want);
    return t;
}

/* The old two-certificate form. */
static dp_trust_t *store_pem(X509 *a, X509 *b)
{
    return b != NULL ? store_of(a, b, NULL) : store_of(a, NULL);
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

/* A deny list holding the public key of X. */
static dp_keyset_t *deny_key_of(X509 *x)
{
    dp_keyset_t *ks = dp_keyset_new();
    unsigned char md[DP_SHA256_LEN];
    char arg[7 + 2 * DP_SHA256_LEN + 1], err[256] = "";

    assert_non_null(ks);
    assert_int_equal(dp_spki_sha256(x, md), 0);
    memcpy(arg, "sha256:", 7);
    dp_hex_encode(md, DP_SHA256_LEN, arg + 7);
    if (dp_keyset_add(ks, arg, err, sizeof(err)) != 1)
        fail_msg("dp_keyset_add: %s", err);
    return ks;
}

static dp_chain_result_t verify_full(const dp_trust_t *t, X509 *cert,
                                     const dp_keyset_t *deny, int level,
                                     time_t now, int accept_future)
{
    dp_chain_result_t r;

    memset(&r, 0x5a, sizeof(r));
    assert_int_equal(dp_trust_verify(t, cert, deny, level, now,
                                     accept_future, &r), 0);
    return r;
}

static dp_chain_result_t verify(const dp_trust_t *t, X509 *cert, int level)
{
    return verify_full(t, cert, NULL, level, pki_now, 0);
}

static dp_chain_result_t verify_at(const dp_trust_t *t, X509 *cert,
                                   time_t now, int accept_future)
{
    return verify_full(t, cert, NULL, 1, now, accept_future);
}

/* The assertions below report the caller's line (FILE, LINE). */
#define EQ(a, b) _assert_int_equal(cast_to_largest_integral_type(a), \
                                   cast_to_largest_integral_type(b), \
                                   file, line)
#define FAIL_AT(...) do { print_error(__VA_ARGS__); _fail(file, line); } \
                     while (0)

static void assert_verified_(const dp_chain_result_t *r,
                             dp_time_status_t ts, int depth,
                             const char *file, int line)
{
    if (!r->verified)
        FAIL_AT("not verified: status %d, %d %s at depth %d\n", r->status,
                r->x509_err, X509_verify_cert_error_string(r->x509_err),
                r->err_depth);
    EQ(r->status, DP_CHAIN_OK);
    EQ(r->x509_err, X509_V_OK);
    EQ(r->err_depth, -1);
    EQ(r->time, ts);
    EQ(r->time_depth, depth);
}
#define assert_verified(r, ts, depth) \
    assert_verified_(r, ts, depth, __FILE__, __LINE__)

/* Verified, with CA_DEPTH CA certificates above the leaf, as of AT. */
static void assert_ok_(const dp_chain_result_t *r, dp_time_status_t ts,
                       int time_depth, int ca_depth, time_t at,
                       const char *file, int line)
{
    assert_verified_(r, ts, time_depth, file, line);
    EQ(r->depth, ca_depth);
    if (r->at != at)
        FAIL_AT("verified as of %+ld s from now, expected %+ld\n",
                (long)(r->at - pki_now), (long)(at - pki_now));
}
#define assert_ok(r, ts, td, d, at) \
    assert_ok_(r, ts, td, d, at, __FILE__, __LINE__)

static void assert_rejected_(const dp_chain_result_t *r, int x509_err,
                             const char *file, int line)
{
    if (r->verified)
        FAIL_AT("verified, expected error %d (%s)\n", x509_err,
                X509_verify_cert_error_string(x509_err));
    if (r->status != DP_CHAIN_UNVERIFIED)
        FAIL_AT("status %d, expected UNVERIFIED (error %d, %s)\n",
                r->status, x509_err,
                X509_verify_cert_error_string(x509_err));
    if (x509_err != X509_V_OK && r->x509_err != x509_err)
        FAIL_AT("error %d (%s) at depth %d, expected %d (%s)\n",
                r->x509_err, X509_verify_cert_error_string(r->x509_err),
                r->err_depth, x509_err,
                X509_verify_cert_error_string(x509_err));
    if (r->x509_err == X509_V_OK)
        FAIL_AT("unverified without an error\n");
    EQ(r->time, DP_TIME_VALID);
    EQ(r->time_depth, -1);
}
#define assert_rejected(r, e) assert_rejected_(r, e, __FILE__, __LINE__)

/* The reason code a chain refused with STATUS (the key at DEPTH) has */
static dp_reason_t chain_code(dp_chain_status_t status, int depth)
{
    switch (status) {
    case DP_CHAIN_OK:           return DP_REASON_NONE;
    case DP_CHAIN_UNVERIFIED:   return DP_REASON_NOT_VERIFIED;
    case DP_CHAIN_CA_LEAF:      return DP_REASON_CA_LEAF;
    case DP_CHAIN_DENIED_KEY:   return depth == 0 ? DP_REASON_GENERIC_KEY
                                                  : DP_REASON_CA_KEY;
    case DP_CHAIN_NEVER_VALID:  return DP_REASON_NEVER_VALID;
    case DP_CHAIN_NOT_YET_VALID: return DP_REASON_NOT_YET_VALID;
    }
    return DP_REASON_COUNT;
}

/* dp_chain_reason's text is WANT, its code the one for the status, and
 * the text is that code's (read back through the table of reasons) */
static void assert_reason_(const dp_chain_result_t *r, const char *vendor,
                           const char *want, const char *file, int line)
{
    char buf[DP_REASON_MAX];
    dp_reason_t code = dp_chain_reason(r, buf, sizeof(buf), vendor);

    _assert_string_equal(buf, want, file, line);
    EQ(code, chain_code(r->status, r->err_depth));
    if (r->status != DP_CHAIN_OK)
        EQ(dp_reason_parse(buf), (int)code);
}
#define assert_reason(r, v, w) assert_reason_(r, v, w, __FILE__, __LINE__)

/* Refused after the chain verified (signatures and constraints): STATUS
 * about the certificate at ERR_DEPTH, with the reason WANT for vendor
 * "acme". */
static void assert_refused_(const dp_chain_result_t *r,
                            dp_chain_status_t status, int err_depth,
                            const char *want, const char *file, int line)
{
    if (r->status != status)
        FAIL_AT("status %d (x509 %d %s at depth %d), expected %d\n",
                r->status, r->x509_err,
                X509_verify_cert_error_string(r->x509_err), r->err_depth,
                status);
    EQ(r->verified, 0);
    EQ(r->err_depth, err_depth);
    assert_reason_(r, "acme", want, file, line);
}
#define assert_refused(r, st, d, w) \
    assert_refused_(r, st, d, w, __FILE__, __LINE__)

/* "YYYY-MM-DDTHH:MM:SSZ" of T, as the reasons print it. */
static const char *iso(time_t t)
{
    static char buf[32];
    struct tm tm;

    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
    return buf;
}

static time_t not_after(X509 *x)
{
    struct tm tm;

    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
    return timegm(&tm);
}

/* ---- dp_trust_add_mem ---------------------------------------------------- */

static void test_add_mem_pem_bundle(void **state)
{
    dp_trust_t *t;

    (void)state;
    /* every configured certificate is kept, in order; the self-signed
     * ones are the roots (issue 13: all of them are anchors, so the old
     * anchor/intermediate counts are now count/root_count) */
    t = store_pem(P.rootA, P.intA);
    assert_int_equal(dp_trust_count(t), 2);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(X509_cmp(dp_trust_get(t, 0), P.rootA), 0);
    assert_int_equal(X509_cmp(dp_trust_get(t, 1), P.intA), 0);
    assert_null(dp_trust_get(t, 2));
    dp_trust_free(t);

    /* order in the bundle does not matter for the counts, and is kept */
    t = store_pem(P.intA, P.rootA);
    assert_int_equal(dp_trust_count(t), 2);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(X509_cmp(dp_trust_get(t, 0), P.intA), 0);
    assert_int_equal(X509_cmp(dp_trust_get(t, 1), P.rootA), 0);
    dp_trust_free(t);

    /* an issuing CA alone: no root (it is an anchor all the same, see
     * test_verify_partial_chain) */
    t = store_pem(P.intA, NULL);
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 0);
    assert_int_equal(X509_cmp(dp_trust_get(t, 0), P.intA), 0);
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
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 1);
    /* a DER intermediate added to it */
    der = pki_der(P.intA, &len);
    assert_int_equal(dp_trust_add_mem(t, der, len, "int.der", err,
                                      sizeof(err)), 1);
    OPENSSL_free(der);
    assert_int_equal(dp_trust_count(t), 2);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(X509_cmp(dp_trust_get(t, 1), P.intA), 0);
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
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 1);
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
    assert_int_equal(dp_trust_count(t), 0);
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
    assert_int_equal(dp_trust_count(t), 0);
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

    assert_int_equal(dp_trust_count(t), 0);
    assert_int_equal(dp_trust_root_count(t), 0);
    dp_trust_free(t);
}

static void test_add_same_anchor_twice(void **state)
{
    /* the same root from two places (file and directory) is one anchor,
     * recorded once: also when it comes as PEM and then as DER, and when
     * a bundle holds it twice */
    dp_trust_t *t = store_pem(P.rootA, NULL);
    unsigned char *buf = NULL, *der;
    size_t len = 0;
    char err[256] = "";

    (void)state;
    pki_pem_append(P.rootA, &buf, &len);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "again.pem", err,
                                      sizeof(err)), 1);
    free(buf);
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(ERR_peek_error(), 0);

    der = pki_der(P.rootA, &len);
    assert_int_equal(dp_trust_add_mem(t, der, len, "again.der", err,
                                      sizeof(err)), 1);
    OPENSSL_free(der);
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(ERR_peek_error(), 0);
    dp_trust_free(t);

    /* an issuing CA: DER first, then a PEM bundle with it twice and a
     * root; the order of first appearance is kept */
    t = store_der(P.intA);
    buf = NULL;
    len = 0;
    pki_pem_append(P.intA, &buf, &len);
    pki_pem_append(P.rootA, &buf, &len);
    pki_pem_append(P.intA, &buf, &len);
    assert_int_equal(dp_trust_add_mem(t, buf, len, "dup.pem", err,
                                      sizeof(err)), 3);
    free(buf);
    assert_int_equal(dp_trust_count(t), 2);
    assert_int_equal(dp_trust_root_count(t), 1);
    assert_int_equal(X509_cmp(dp_trust_get(t, 0), P.intA), 0);
    assert_int_equal(X509_cmp(dp_trust_get(t, 1), P.rootA), 0);
    assert_int_equal(ERR_peek_error(), 0);
    /* and it still verifies, to the root */
    {
        dp_chain_result_t r = verify(t, P.valid, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    }
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
    assert_int_equal(dp_trust_verify(t, P.valid, NULL, 1, pki_now, 0, &r),
                     0);
    assert_int_equal(r.verified, 1);
    assert_only_callers_error();
    /* expired: verified a second time, as of its last valid moment */
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.expired, NULL, 1, pki_now, 0, &r),
                     0);
    assert_int_equal(r.verified, 1);
    assert_only_callers_error();
    /* refused after the chain verified: not yet valid */
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.nyv, NULL, 1, pki_now, 0, &r), 0);
    assert_int_equal(r.status, DP_CHAIN_NOT_YET_VALID);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.rogue_leaf, NULL, 1, pki_now, 0,
                                     &r),
                     0);
    assert_int_equal(r.verified, 0);
    assert_only_callers_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(dp_trust_verify(t, P.selfsigned, NULL, 1, pki_now, 0,
                                     &r),
                     0);
    assert_int_equal(r.verified, 0);
    assert_only_callers_error();
    dp_trust_free(t);
}

/* ---- dp_trust_verify: time ---------------------------------------------- */

static void test_verify_times(void **state)
{
    /* issue 13: oldA is configured (the phone's copy of it used to be
     * taken from what it sent; nothing it sends is used now) */
    dp_trust_t *t = store_of(P.rootA, P.intA, P.oldA, NULL);
    dp_trust_t *t2;
    dp_chain_result_t r;
    char want[DP_REASON_MAX];

    (void)state;
    r = verify(t, P.valid, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    /* the window: the leaf's notBefore is the latest, its notAfter the
     * earliest */
    assert_int_equal(r.not_before, pki_now - PKI_DAY);
    assert_int_equal(r.not_after, pki_now + PKI_YEAR);

    /* genuine, expired leaf: accepted, verified as of its last second */
    r = verify(t, P.expired, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - PKI_DAY - 1);

    /* not yet valid: refused unless the vendor admits it (issue 13; with
     * time checks off it used to be accepted as "not-yet-valid") */
    r = verify(t, P.nyv, 1);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + PKI_DAY));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 0, want);
    assert_string_equal(r.subject, "/CN=0004F2000003");
    assert_int_equal(r.time, DP_TIME_NOT_YET_VALID);
    assert_int_equal(r.time_depth, 0);
    r = verify_at(t, P.nyv, pki_now, 1);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 0, 2, pki_now + PKI_DAY);

    /* NOW is what the times are compared with */
    r = verify_at(t, P.valid, pki_now + 2 * PKI_YEAR, 0);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now + PKI_YEAR - 1);
    r = verify_at(t, P.valid, pki_now - 2 * PKI_DAY, 0);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now - PKI_DAY));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 0, want);
    r = verify_at(t, P.valid, pki_now - 2 * PKI_DAY, 1);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 0, 2, pki_now - PKI_DAY);
    /* long after: the whole chain expired, the leaf-most is reported and
     * the leaf's end is the moment verified as of */
    r = verify_at(t, P.valid, pki_now + 20 * PKI_YEAR, 0);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now + PKI_YEAR - 1);
    /* two years ago the expired leaf was valid, its CAs too */
    r = verify_at(t, P.expired, pki_now - 2 * PKI_YEAR, 0);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now - 2 * PKI_YEAR);
    /* before the leaf existed (3 years ago: the latest notBefore, at
     * depth 0); refused, or admitted as of the moment it became valid */
    r = verify_at(t, P.expired, pki_now - 4 * PKI_YEAR, 0);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off",
             iso(pki_now - 3 * PKI_YEAR));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 0, want);
    assert_string_equal(r.subject, "/CN=0004F2000002");
    assert_int_equal(r.time, DP_TIME_NOT_YET_VALID);
    assert_int_equal(r.time_depth, 0);
    r = verify_at(t, P.expired, pki_now - 4 * PKI_YEAR, 1);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 0, 2, pki_now - 3 * PKI_YEAR);
    /* before the CAs existed: intA and rootA start at the same second,
     * the leaf-most of them (intA, depth 1) is named */
    {
        X509 *early = leaf("/CN=0004F2000027", P.intA, P.k_intA,
                           -12 * PKI_YEAR, PKI_YEAR, NULL);

        r = verify_at(t, early, pki_now - 11 * PKI_YEAR, 0);
        snprintf(want, sizeof(want), "not yet valid (depth 1, from %s): "
                 "DevprovAcceptNotYetValid acme off",
                 iso(pki_now - 10 * PKI_YEAR));
        assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 1, want);
        assert_string_equal(r.subject, INT_A);
        assert_int_equal(r.time, DP_TIME_NOT_YET_VALID);
        assert_int_equal(r.time_depth, 1);
        r = verify_at(t, early, pki_now - 11 * PKI_YEAR, 1);
        assert_ok(&r, DP_TIME_NOT_YET_VALID, 1, 2, pki_now - 10 * PKI_YEAR);
        X509_free(early);
    }

    /* the expired intermediate (it used to be sent by the phone) */
    r = verify(t, P.under_old, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 1, 2, pki_now - PKI_YEAR - 1);
    /* both expired: the leaf-most is reported, the leaf ended first */
    r = verify(t, P.expired_under_old, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 2 * PKI_YEAR - 1);
    /* a leaf valid only after its CA expired: never valid, whatever
     * accept_future says (with time checks off it was "expired at depth
     * 1", expired outranking not-yet-valid) */
    r = verify(t, P.nyv_under_old, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 1");
    assert_int_equal(r.time_depth, 1);
    assert_int_equal(r.not_before, pki_now + PKI_DAY);
    assert_int_equal(r.not_after, pki_now - PKI_YEAR);
    r = verify_at(t, P.nyv_under_old, pki_now, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 1");
    dp_trust_free(t);

    /* ...and oldA not configured: the issuer is unknown */
    t2 = store_pem(P.rootA, P.intA);
    r = verify(t2, P.under_old, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    assert_reason(&r, "acme", "certificate not verified: unable to get "
                  "local issuer certificate");
    dp_trust_free(t2);
}

/* Never valid at one moment: notBefore is inclusive, notAfter exclusive
 * (OpenSSL's own rule), err_depth is the depth of the latest notBefore,
 * time_depth that of the earliest notAfter. */
static void test_verify_never_valid(void **state)
{
    dp_trust_t *t = store_of(P.rootA, P.intA, P.oldA, NULL);
    EVP_PKEY *k_fut = pki_key();
    X509 *fut = ca_cert("/O=Acme Phones/CN=Acme Future Issuing CA", k_fut,
                        P.rootA, P.k_rootA, 2 * PKI_DAY, 10 * PKI_YEAR);
    dp_trust_t *tf = store_of(P.rootA, fut, NULL);
    X509 *after, *inverted, *empty, *second, *from_now, *to_now, *before;
    dp_chain_result_t r;

    (void)state;
    /* a leaf issued after its CA expired */
    after = leaf("/CN=0004F2000020", P.oldA, P.k_oldA, -PKI_DAY, PKI_YEAR,
                 NULL);
    r = verify(t, after, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 1");
    assert_int_equal(r.time_depth, 1);
    assert_int_equal(r.not_before, pki_now - PKI_DAY);
    assert_int_equal(r.not_after, pki_now - PKI_YEAR);

    /* the leaf's own validity inverted: notBefore after notAfter */
    inverted = leaf("/CN=0004F2000021", P.intA, P.k_intA, -PKI_DAY,
                    -2 * PKI_DAY, NULL);
    r = verify(t, inverted, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 0");
    assert_int_equal(r.time_depth, 0);
    r = verify_at(t, inverted, pki_now - 2 * PKI_YEAR, 1);
    assert_int_equal(r.status, DP_CHAIN_NEVER_VALID);

    /* notBefore == notAfter: not one second (notAfter is exclusive) */
    empty = leaf("/CN=0004F2000022", P.intA, P.k_intA, -PKI_DAY, -PKI_DAY,
                 NULL);
    r = verify(t, empty, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 0");
    /* ...one second is enough: verified as of that second */
    second = leaf("/CN=0004F2000023", P.intA, P.k_intA, -10 * PKI_DAY,
                  -10 * PKI_DAY + 1, NULL);
    r = verify(t, second, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 10 * PKI_DAY);

    /* the edges at NOW: notBefore == now is valid, notAfter == now is
     * expired, verified as of the second before */
    from_now = leaf("/CN=0004F2000024", P.intA, P.k_intA, 0, PKI_YEAR,
                    NULL);
    r = verify(t, from_now, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    to_now = leaf("/CN=0004F2000025", P.intA, P.k_intA, -PKI_YEAR, 0, NULL);
    r = verify(t, to_now, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 1);

    /* an issuing CA not yet valid above a leaf that has expired: the CA's
     * notBefore (depth 1) is not before the leaf's notAfter (depth 0) */
    before = leaf("/CN=0004F2000026", fut, k_fut, -3 * PKI_YEAR,
                  -2 * PKI_YEAR, NULL);
    r = verify_at(tf, before, pki_now, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 1, "chain never valid: "
                   "notBefore at depth 1 is not before notAfter at depth 0");
    assert_int_equal(r.time_depth, 0);

    X509_free(after);
    X509_free(inverted);
    X509_free(empty);
    X509_free(second);
    X509_free(from_now);
    X509_free(to_now);
    X509_free(before);
    X509_free(fut);
    EVP_PKEY_free(k_fut);
    dp_trust_free(tf);
    dp_trust_free(t);
}

/* A not-yet-valid issuing CA: the latest notBefore is at depth 1. */
static void test_verify_not_yet_valid_intermediate(void **state)
{
    EVP_PKEY *k_fut = pki_key();
    X509 *fut = ca_cert("/O=Acme Phones/CN=Acme Future Issuing CA", k_fut,
                        P.rootA, P.k_rootA, 2 * PKI_DAY, 10 * PKI_YEAR);
    dp_trust_t *t = store_of(P.rootA, fut, NULL);
    X509 *now_leaf = leaf("/CN=0004F2000030", fut, k_fut, -PKI_DAY,
                          PKI_YEAR, NULL);
    X509 *later = leaf("/CN=0004F2000031", fut, k_fut, 3 * PKI_DAY,
                       PKI_YEAR, NULL);
    dp_chain_result_t r;
    char want[DP_REASON_MAX];

    (void)state;
    r = verify(t, now_leaf, 1);
    snprintf(want, sizeof(want), "not yet valid (depth 1, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + 2 * PKI_DAY));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 1, want);
    assert_string_equal(r.subject,
                        "/O=Acme Phones/CN=Acme Future Issuing CA");
    assert_int_equal(r.time, DP_TIME_NOT_YET_VALID);
    assert_int_equal(r.time_depth, 1);
    r = verify_at(t, now_leaf, pki_now, 1);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 1, 2, pki_now + 2 * PKI_DAY);

    /* both in the future: the leaf starts last, and is the leaf-most */
    r = verify(t, later, 1);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + 3 * PKI_DAY));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 0, want);
    assert_int_equal(r.time_depth, 0);
    r = verify_at(t, later, pki_now, 1);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 0, 2, pki_now + 3 * PKI_DAY);

    /* the reason without a vendor name */
    r = verify(t, later, 1);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid <vendor> off",
             iso(pki_now + 3 * PKI_DAY));
    assert_reason(&r, NULL, want);

    X509_free(now_leaf);
    X509_free(later);
    X509_free(fut);
    EVP_PKEY_free(k_fut);
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
    r = verify(t, x, 1);
    assert_rejected(&r, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
    assert_int_equal(r.err_depth, 0);
    r = verify_at(t, x, pki_now, 1);
    assert_rejected(&r, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
    X509_free(x);
    dp_trust_free(t);
}

/* The time rules alone (a pinned self-signed certificate). */
static void test_time_alone(void **state)
{
    X509 *nyv, *expired, *never, *bad;
    dp_chain_result_t r;
    char want[DP_REASON_MAX];
    pki_opts_t o = PKI_LEAF;

    (void)state;
    memset(&r, 0x5a, sizeof(r));
    assert_int_equal(dp_trust_time_alone(P.selfsigned, pki_now, 0, &r), 0);
    assert_ok(&r, DP_TIME_VALID, -1, 0, pki_now);

    o.from = -3 * PKI_YEAR;
    o.to = -PKI_DAY;
    expired = pki_issue(pki_name("/CN=0004F2000040"), P.k_self, NULL, NULL,
                        &o);
    assert_int_equal(dp_trust_time_alone(expired, pki_now, 0, &r), 0);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 0, pki_now - PKI_DAY - 1);

    o.from = PKI_DAY;
    o.to = PKI_YEAR;
    nyv = pki_issue(pki_name("/CN=0004F2000041"), P.k_self, NULL, NULL, &o);
    assert_int_equal(dp_trust_time_alone(nyv, pki_now, 0, &r), 0);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + PKI_DAY));
    assert_refused(&r, DP_CHAIN_NOT_YET_VALID, 0, want);
    assert_string_equal(r.subject, "/CN=0004F2000041");
    assert_int_equal(dp_trust_time_alone(nyv, pki_now, 1, &r), 0);
    assert_ok(&r, DP_TIME_NOT_YET_VALID, 0, 0, pki_now + PKI_DAY);

    o.from = -PKI_DAY;
    o.to = -PKI_DAY;
    never = pki_issue(pki_name("/CN=0004F2000042"), P.k_self, NULL, NULL,
                      &o);
    assert_int_equal(dp_trust_time_alone(never, pki_now, 1, &r), 0);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 0");
    assert_int_equal(r.time_depth, 0);

    o = (pki_opts_t)PKI_LEAF;
    bad = pki_issue(pki_name("/CN=0004F2000043"), P.k_self, NULL, NULL, &o);
    assert_int_equal(ASN1_STRING_set(X509_getm_notAfter(bad),
                                     "991231235959Zjunk", -1), 1);
    assert_int_equal(dp_trust_time_alone(bad, pki_now, 1, &r), 0);
    assert_int_equal(r.status, DP_CHAIN_UNVERIFIED);
    assert_false(r.verified);
    assert_int_equal(r.x509_err, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
    assert_int_equal(r.err_depth, 0);

    X509_free(expired);
    X509_free(nyv);
    X509_free(never);
    X509_free(bad);
}

/* ---- dp_trust_verify: which certificates build the chain ---------------- */

/* Issue 13: only configured certificates build the chain.  The old test
 * (test_verify_intermediate_from_store_or_peer) showed the phone could
 * supply the intermediate and that an intermediate alone was no anchor;
 * both are reversed now. */
static void test_verify_intermediate_from_store_only(void **state)
{
    dp_trust_t *root_only = store_der(P.rootA);
    dp_chain_result_t r;

    (void)state;
    /* the store must have intA: a root-only configuration refuses the
     * phone (the migration case: list the issuing CA in DevprovTrust) */
    r = verify(root_only, P.valid, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    assert_reason(&r, "acme", "certificate not verified: unable to get "
                  "local issuer certificate");
    dp_trust_free(root_only);

    /* an issuing CA alone is an anchor now (partial chain) */
    {
        dp_trust_t *int_only = store_pem(P.intA, NULL);
        r = verify(int_only, P.valid, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
        dp_trust_free(int_only);
    }
}

/* A sub-CA under the configured root that the admin did not configure
 * (the client would send it; the API no longer even takes it). */
static void test_verify_unconfigured_intermediate(void **state)
{
    EVP_PKEY *k_sub = pki_key(), *k_phone = pki_key();
    X509 *sub = ca_cert("/O=Acme Phones/CN=Acme Retired Sub CA", k_sub,
                        P.rootA, P.k_rootA, -5 * PKI_YEAR, 5 * PKI_YEAR);
    X509 *under_sub = leaf("/CN=0004F2000050", sub, k_sub, -PKI_DAY,
                           PKI_YEAR, NULL);
    X509 *phone_ca, *minted;
    dp_trust_t *root_only = store_der(P.rootA);
    dp_trust_t *vendor = store_pem(P.rootA, P.intA);
    dp_trust_t *with_sub = store_pem(P.rootA, sub);
    dp_trust_t *sub_only = store_pem(sub, NULL);
    dp_chain_result_t r;
    pki_opts_t o = PKI_LEAF;

    (void)state;
    r = verify(root_only, under_sub, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    assert_reason(&r, "acme", "certificate not verified: unable to get "
                  "local issuer certificate");
    r = verify(vendor, under_sub, 0);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    /* the admin lists it: then it counts, up to the root or alone */
    r = verify(with_sub, under_sub, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    r = verify(sub_only, under_sub, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    /* the configured issuing CA and root accept their own phones */
    r = verify(vendor, P.valid, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);

    /* a phone certificate mis-issued with CA:TRUE never mints phones */
    o.bc = "critical,CA:TRUE";
    o.ku = "critical,digitalSignature,keyCertSign";
    phone_ca = pki_issue(pki_name("/CN=0004F2000051"), k_phone, P.intA,
                         P.k_intA, &o);
    minted = leaf("/CN=0004F2000052", phone_ca, k_phone, -PKI_DAY, PKI_YEAR,
                  NULL);
    r = verify(vendor, minted, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    r = verify(vendor, phone_ca, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, "a CA certificate (CA:TRUE or "
                   "keyCertSign), not a phone's");

    X509_free(minted);
    X509_free(phone_ca);
    X509_free(under_sub);
    X509_free(sub);
    EVP_PKEY_free(k_sub);
    EVP_PKEY_free(k_phone);
    dp_trust_free(root_only);
    dp_trust_free(vendor);
    dp_trust_free(with_sub);
    dp_trust_free(sub_only);
}

/* Anchored at an issuing CA only: the chain ends there; with the root
 * configured above it, the chain goes to the root and the root's
 * validity counts. */
static void test_verify_partial_chain(void **state)
{
    EVP_PKEY *k_rootX = pki_key(), *k_intX = pki_key();
    X509 *rootX = ca_cert("/O=Xeno/CN=Xeno Root 2010", k_rootX, NULL, NULL,
                          -10 * PKI_YEAR, -PKI_YEAR);
    X509 *intX = ca_cert("/O=Xeno/CN=Xeno Issuing CA", k_intX, rootX,
                         k_rootX, -9 * PKI_YEAR, 5 * PKI_YEAR);
    X509 *older = leaf("/CN=0004F2000060", intX, k_intX, -2 * PKI_YEAR,
                       PKI_YEAR, NULL);
    X509 *newer = leaf("/CN=0004F2000061", intX, k_intX, -PKI_DAY,
                       PKI_YEAR, NULL);
    dp_trust_t *int_only = store_pem(P.intA, NULL);
    dp_trust_t *int_and_other = store_pem(P.intA, P.rootB);
    dp_trust_t *full = store_pem(P.rootA, P.intA);
    dp_trust_t *x_int = store_pem(intX, NULL);
    dp_trust_t *x_full = store_pem(rootX, intX);
    dp_chain_result_t r;

    (void)state;
    r = verify(int_only, P.valid, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    r = verify(int_only, P.expired, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 1, pki_now - PKI_DAY - 1);
    /* another vendor's root beside it is not above it: still partial */
    r = verify(int_and_other, P.valid, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    /* vendor B's devices do not verify through A's issuing CA */
    r = verify(int_only, P.b_dev, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    r = verify(int_and_other, P.b_dev, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    /* the root configured too: the chain goes up to it */
    r = verify(full, P.valid, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);

    /* a root that expired a year ago: it does not count when only the
     * issuing CA is configured... */
    r = verify(x_int, older, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    r = verify(x_int, newer, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    /* ...and does once configured: expired at depth 2, verified as of
     * the root's last second; or never valid for a leaf issued after it */
    r = verify(x_full, older, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 2, 2, not_after(rootX) - 1);
    assert_int_equal(not_after(rootX), pki_now - PKI_YEAR);
    r = verify(x_full, newer, 1);
    assert_refused(&r, DP_CHAIN_NEVER_VALID, 0, "chain never valid: "
                   "notBefore at depth 0 is not before notAfter at depth 2");
    assert_int_equal(r.time_depth, 2);

    X509_free(older);
    X509_free(newer);
    X509_free(intX);
    X509_free(rootX);
    EVP_PKEY_free(k_rootX);
    EVP_PKEY_free(k_intX);
    dp_trust_free(int_only);
    dp_trust_free(int_and_other);
    dp_trust_free(full);
    dp_trust_free(x_int);
    dp_trust_free(x_full);
}

/* An issuing CA renewed with the same name and key (a common practice):
 * both certificates configured, the old one expired before the leaf was
 * issued.  A valid chain through the renewed one exists now.  (With time
 * checks off OpenSSL took whichever came first, and one of the two orders
 * read a good chain as never valid: fixed in dp_trust.c.) */
static void test_verify_renewed_ca(void **state)
{
    X509 *int_old = ca_cert(INT_A, P.k_intA, P.rootA, P.k_rootA,
                            -10 * PKI_YEAR, -5 * PKI_YEAR);
    X509 *int_new = ca_cert(INT_A, P.k_intA, P.rootA, P.k_rootA,
                            -4 * PKI_YEAR, 10 * PKI_YEAR);
    X509 *recent = leaf("/CN=0004F2000070", int_new, P.k_intA, -PKI_DAY,
                        PKI_YEAR, NULL);
    X509 *ancient = leaf("/CN=0004F2000071", int_old, P.k_intA,
                         -9 * PKI_YEAR, -6 * PKI_YEAR, NULL);
    dp_trust_t *old_first = store_of(P.rootA, int_old, int_new, NULL);
    dp_trust_t *new_first = store_of(P.rootA, int_new, int_old, NULL);
    dp_chain_result_t r;

    (void)state;
    r = verify(new_first, recent, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    r = verify(old_first, recent, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    /* a leaf from the old CA's time: expired, through the old one */
    r = verify(old_first, ancient, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 6 * PKI_YEAR - 1);
    r = verify(new_first, ancient, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 6 * PKI_YEAR - 1);

    /* re-keyed under the same name (no key identifiers to tell them
     * apart): the version valid at the leaf's moment is the one tried */
    {
        EVP_PKEY *k2 = pki_key();
        X509 *int_k2 = ca_cert(INT_A, k2, P.rootA, P.k_rootA,
                               -4 * PKI_YEAR, 10 * PKI_YEAR);
        X509 *under_k2 = leaf("/CN=0004F2000072", int_k2, k2, -PKI_DAY,
                              PKI_YEAR, NULL);
        dp_trust_t *k2_first = store_of(P.rootA, int_k2, int_old, NULL);
        dp_trust_t *k1_first = store_of(P.rootA, int_old, int_k2, NULL);

        r = verify(k2_first, ancient, 1);
        assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 6 * PKI_YEAR - 1);
        r = verify(k1_first, ancient, 1);
        assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - 6 * PKI_YEAR - 1);
        r = verify(k2_first, under_k2, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
        r = verify(k1_first, under_k2, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
        X509_free(under_k2);
        X509_free(int_k2);
        EVP_PKEY_free(k2);
        dp_trust_free(k2_first);
        dp_trust_free(k1_first);
    }

    X509_free(recent);
    X509_free(ancient);
    X509_free(int_old);
    X509_free(int_new);
    dp_trust_free(old_first);
    dp_trust_free(new_first);
}

/* A leaf that is itself a CA certificate is not a phone's. */
static void test_verify_ca_leaf(void **state)
{
    static const char *const reason = "a CA certificate (CA:TRUE or "
                                      "keyCertSign), not a phone's";
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    dp_trust_t *int_only = store_pem(P.intA, NULL);
    EVP_PKEY *k_cca = pki_key(), *k_cca2 = pki_key();
    X509 *ca_true, *ca_true_no_ku, *kcs, *kcs_no_bc, *cca, *cca2,
         *under_cca, *rogue_ca;
    dp_trust_t *cca_only, *cca_full, *cca2_partial;
    dp_chain_result_t r;
    pki_opts_t o = PKI_LEAF;

    (void)state;
    /* CA:TRUE, with the key usages of a TLS client */
    o.bc = "critical,CA:TRUE";
    o.ku = "critical,digitalSignature,keyCertSign";
    ca_true = pki_issue(pki_name("/CN=0004F2000080"), P.k_leaf, P.intA,
                        P.k_intA, &o);
    r = verify(t, ca_true, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);
    assert_string_equal(r.subject, "/CN=0004F2000080");
    r = verify_full(t, ca_true, NULL, 1, pki_now + 2 * PKI_YEAR, 1);
    assert_int_equal(r.status, DP_CHAIN_CA_LEAF);
    /* CA:TRUE without a keyUsage */
    o.ku = "";
    ca_true_no_ku = pki_issue(pki_name("/CN=0004F2000081"), P.k_leaf,
                              P.intA, P.k_intA, &o);
    r = verify(t, ca_true_no_ku, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);
    /* keyCertSign without CA:TRUE (CA:FALSE, or no basicConstraints) */
    o.bc = NULL;
    o.ku = "critical,digitalSignature,keyCertSign";
    kcs = pki_issue(pki_name("/CN=0004F2000082"), P.k_leaf, P.intA,
                    P.k_intA, &o);
    r = verify(t, kcs, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);
    o.bc = "";
    kcs_no_bc = pki_issue(pki_name("/CN=0004F2000083"), P.k_leaf, P.intA,
                          P.k_intA, &o);
    r = verify(t, kcs_no_bc, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);
    /* from an unknown CA it is not verified in the first place */
    o = (pki_opts_t)PKI_LEAF;
    o.bc = "critical,CA:TRUE";
    o.ku = "critical,digitalSignature,keyCertSign";
    rogue_ca = pki_issue(pki_name("/CN=0004F2000084"), P.k_leaf, P.rogue,
                         P.k_rogue, &o);
    r = verify(t, rogue_ca, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    /* configured CAs presented as the leaf: their keyUsage (keyCertSign,
     * cRLSign) is not a TLS client's */
    r = verify(t, P.intA, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, P.rootA, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(r.err_depth, 0);
    /* an issuing CA configured alone, presented as the leaf: its issuer
     * (rootA) is not configured, so no partial chain is tried */
    r = verify(int_only, P.intA, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(r.err_depth, 0);
    /* a configured CA whose keyUsage would pass for a client's */
    o = (pki_opts_t)PKI_CA;
    o.ku = "critical,digitalSignature,keyCertSign,cRLSign";
    cca = pki_issue(pki_name("/O=Acme Phones/CN=Acme Lax Issuing CA"), k_cca,
                    P.rootA, P.k_rootA, &o);
    cca2 = pki_issue(pki_name("/O=Acme Phones/CN=Acme Lax Sub CA"), k_cca2,
                     P.intA, P.k_intA, &o);
    under_cca = leaf("/CN=0004F2000085", cca, k_cca, -PKI_DAY, PKI_YEAR,
                     NULL);
    cca_only = store_pem(cca, NULL);
    cca_full = store_pem(P.rootA, cca);
    cca2_partial = store_pem(P.intA, cca2);
    r = verify(cca_only, under_cca, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    /* alone, with its issuer not configured: not verified */
    r = verify(cca_only, cca, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    /* below a configured root: verified, then refused as a CA */
    r = verify(cca_full, cca, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);
    /* below a configured issuing CA, no root: with the partial chain it
     * is its own anchor; refused as a CA */
    r = verify(cca2_partial, cca2, 1);
    assert_refused(&r, DP_CHAIN_CA_LEAF, 0, reason);

    X509_free(ca_true);
    X509_free(ca_true_no_ku);
    X509_free(kcs);
    X509_free(kcs_no_bc);
    X509_free(rogue_ca);
    X509_free(under_cca);
    X509_free(cca);
    X509_free(cca2);
    EVP_PKEY_free(k_cca);
    EVP_PKEY_free(k_cca2);
    dp_trust_free(cca2_partial);
    dp_trust_free(cca_only);
    dp_trust_free(cca_full);
    dp_trust_free(int_only);
    dp_trust_free(t);
}

/* DevprovDenyKey at any depth of the verified chain. */
static void test_verify_denied_key(void **state)
{
    dp_trust_t *t = store_of(P.rootA, P.intA, P.oldA, NULL);
    dp_trust_t *int_only = store_pem(P.intA, NULL);
    dp_keyset_t *deny_int = deny_key_of(P.intA);
    dp_keyset_t *deny_root = deny_key_of(P.rootA);
    dp_keyset_t *deny_leaf = deny_key_of(P.valid);
    dp_keyset_t *deny_old = deny_key_of(P.oldA);
    dp_chain_result_t r;

    (void)state;
    r = verify_full(t, P.valid, deny_int, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 1, "denied key (DevprovDenyKey) "
                   "at depth 1: /C=US/O=Acme Phones/CN=Acme Device Issuing "
                   "CA");
    assert_string_equal(r.subject, INT_A);
    assert_int_equal(r.x509_err, X509_V_OK);
    /* the other issuing CA's phones are not concerned */
    r = verify_full(t, P.under_old, deny_int, 1, pki_now, 0);
    assert_ok(&r, DP_TIME_EXPIRED, 1, 2, pki_now - PKI_YEAR - 1);
    /* an expired chain is refused by its CA's key all the same */
    r = verify_full(t, P.under_old, deny_old, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 1, "denied key (DevprovDenyKey) "
                   "at depth 1: /O=Acme Phones/CN=Acme 2015 Issuing CA");

    /* the root, configured above the issuing CA: depth 2 */
    r = verify_full(t, P.valid, deny_root, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 2, "denied key (DevprovDenyKey) "
                   "at depth 2: /C=US/O=Acme Phones/CN=Acme Device Root CA");
    assert_string_equal(r.subject, ROOT_A);
    r = verify_full(t, P.under_old, deny_root, 1, pki_now, 0);
    assert_int_equal(r.status, DP_CHAIN_DENIED_KEY);
    assert_int_equal(r.err_depth, 2);
    /* ...not part of the chain when only the issuing CA is configured */
    r = verify_full(int_only, P.valid, deny_root, 1, pki_now, 0);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    r = verify_full(int_only, P.valid, deny_int, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 1, "denied key (DevprovDenyKey) "
                   "at depth 1: /C=US/O=Acme Phones/CN=Acme Device Issuing "
                   "CA");

    /* the leaf's key (shared by every leaf of this PKI): the generic
     * reason, at depth 0 */
    r = verify_full(t, P.valid, deny_leaf, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 0, "generic certificate: its "
                   "private key is public (DevprovDenyKey)");
    assert_string_equal(r.subject, "/O=Acme Phones/CN=0004F2ABCDEF");
    /* a chain that does not verify says so, denied key or not */
    r = verify_full(t, P.rogue_leaf, deny_leaf, 1, pki_now, 0);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    dp_keyset_free(deny_int);
    dp_keyset_free(deny_root);
    dp_keyset_free(deny_leaf);
    dp_keyset_free(deny_old);
    dp_trust_free(int_only);
    dp_trust_free(t);
}

/* The built-in generic firmware keys need no DevprovDenyKey. */
static X509 *generic_leaf(const char *subject)
{
    FILE *f = fopen("certs/vendors/generic/"
                    "generic_client_SPA-2000_sipurageneric.pem", "r");
    X509 *g, *x;
    EVP_PKEY *pub;
    pki_opts_t o = PKI_LEAF;

    if (f == NULL)
        fail_msg("cannot open the generic certificate (run from the "
                 "repository root)");
    g = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(g);
    pub = X509_get_pubkey(g);
    assert_non_null(pub);
    /* the public key is enough: intA signs it */
    x = pki_issue(pki_name(subject), pub, P.intA, P.k_intA, &o);
    EVP_PKEY_free(pub);
    X509_free(g);
    return x;
}

static void test_verify_builtin_generic_key(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    X509 *g = generic_leaf("/CN=0004F2000090");
    dp_chain_result_t r;

    (void)state;
    r = verify_full(t, g, NULL, 1, pki_now, 0);
    assert_refused(&r, DP_CHAIN_DENIED_KEY, 0, "generic certificate: its "
                   "private key is public (DevprovDenyKey)");
    X509_free(g);
    dp_trust_free(t);
}

static void test_verify_attackers(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    dp_chain_result_t r;

    (void)state;
    /* another CA's certificate (the old test also had the rogue CA sent
     * by the client: SELF_SIGNED_CERT_IN_CHAIN; nothing sent is looked at
     * now, see test_verify_unconfigured_intermediate) */
    r = verify(t, P.rogue_leaf, 1);
    assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    r = verify(t, P.rogue_leaf, 0);
    assert_rejected(&r, X509_V_OK);                  /* any error */

    /* look-alike root and intermediate: same names, other keys; the
     * configured intA (same name) does not verify the leaf's signature
     * (this was the case "the real intermediate sent with the look-alike
     * leaf"; a sent look-alike chain is not looked at now) */
    r = verify(t, P.lookalike, 1);
    assert_rejected(&r, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, P.lookalike, 0);
    assert_rejected(&r, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    r = verify_at(t, P.lookalike, pki_now, 1);
    assert_rejected(&r, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    /* the look-alike intermediate offered as trust for it: it would not
     * chain to the configured root */
    {
        dp_trust_t *la = store_pem(P.rootA, P.laint);
        r = verify(la, P.lookalike, 1);
        assert_rejected(&r, X509_V_ERR_CERT_SIGNATURE_FAILURE);
        assert_int_equal(r.err_depth, 1);
        dp_trust_free(la);
    }

    /* a self-signed device certificate */
    r = verify(t, P.selfsigned, 1);
    assert_rejected(&r, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_int_equal(r.err_depth, 0);

    /* a genuine certificate for TLS servers only */
    r = verify(t, P.server, 1);
    assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
    assert_int_equal(r.err_depth, 0);

    /* vendor B's store knows nothing of vendor A (the old variant with
     * intA sent by the client is gone with the sent chain) */
    {
        dp_trust_t *tb = store_der(P.rootB);
        r = verify(tb, P.valid, 1);
        assert_rejected(&r, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        assert_int_equal(r.err_depth, 0);
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
    r = verify(t, P.sha1, 1);
    assert_rejected(&r, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, P.sha1, 0);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);

    /* RSA-1024 leaf key: 80 bits, fine at level 1, too small at level 2 */
    r = verify(t, P.rsa1024, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    r = verify(t, P.rsa1024, 2);
    assert_rejected(&r, X509_V_ERR_EE_KEY_TOO_SMALL);
    assert_int_equal(r.err_depth, 0);

    /* P-256 and SHA-256 pass up to level 3 */
    r = verify(t, P.valid, 3);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    dp_trust_free(t);
}

/* An expired chain is verified again as of its last valid moment, with
 * every rule but the clock: the security level still refuses it. */
static void test_verify_expired_chain_rules(void **state)
{
    dp_trust_t *t = store_pem(P.rootA, P.intA);
    X509 *sha1_old = leaf("/CN=0004F20000A0", P.intA, P.k_intA,
                          -3 * PKI_YEAR, -PKI_DAY, EVP_sha1());
    X509 *rsa_old;
    dp_chain_result_t r;
    pki_opts_t o = PKI_LEAF;

    (void)state;
    r = verify(t, sha1_old, 1);
    assert_rejected(&r, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_int_equal(r.err_depth, 0);
    r = verify(t, sha1_old, 0);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - PKI_DAY - 1);

    o.from = -3 * PKI_YEAR;
    o.to = -PKI_DAY;
    rsa_old = pki_issue(pki_name("/CN=0004F20000A1"), P.k_rsa1024, P.intA,
                        P.k_intA, &o);
    r = verify(t, rsa_old, 2);
    assert_rejected(&r, X509_V_ERR_EE_KEY_TOO_SMALL);
    r = verify(t, rsa_old, 1);
    assert_ok(&r, DP_TIME_EXPIRED, 0, 2, pki_now - PKI_DAY - 1);
    /* ...and the wrong purpose */
    {
        X509 *srv;

        o = (pki_opts_t)PKI_LEAF;
        o.from = -3 * PKI_YEAR;
        o.to = -PKI_DAY;
        o.eku = "serverAuth";
        srv = pki_issue(pki_name("/CN=0004F20000A2"), P.k_leaf, P.intA,
                        P.k_intA, &o);
        r = verify(t, srv, 1);
        assert_rejected(&r, X509_V_ERR_INVALID_PURPOSE);
        X509_free(srv);
    }
    X509_free(sha1_old);
    X509_free(rsa_old);
    dp_trust_free(t);
}

/* The security level applies to the configured issuing CA too, when it
 * ends the chain (partial) as when a root is above it. */
static void test_verify_auth_level_anchor(void **state)
{
    EVP_PKEY *k_weak = pki_rsa_key(1024), *k_s = pki_key();
    X509 *weak = ca_cert("/O=Acme Phones/CN=Acme RSA-1024 Issuing CA",
                         k_weak, P.rootA, P.k_rootA, -5 * PKI_YEAR,
                         5 * PKI_YEAR);
    X509 *under_weak = leaf("/CN=0004F20000B0", weak, k_weak, -PKI_DAY,
                            PKI_YEAR, NULL);
    X509 *s1, *under_s1;
    dp_trust_t *weak_only = store_pem(weak, NULL);
    dp_trust_t *weak_full = store_pem(P.rootA, weak);
    dp_trust_t *s1_only, *s1_full;
    dp_chain_result_t r;
    pki_opts_t o = PKI_CA;

    (void)state;
    /* the anchor's key: 80 bits, fine at level 1, not at level 2 */
    r = verify(weak_only, under_weak, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    r = verify(weak_only, under_weak, 2);
    assert_rejected(&r, X509_V_ERR_CA_KEY_TOO_SMALL);
    assert_int_equal(r.err_depth, 1);
    r = verify(weak_full, under_weak, 2);
    assert_rejected(&r, X509_V_ERR_CA_KEY_TOO_SMALL);
    assert_int_equal(r.err_depth, 1);
    r = verify(weak_full, under_weak, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);

    /* an issuing CA signed with SHA-1: refused below a configured root
     * at level 1; as the anchor itself its own signature is not verified
     * (OpenSSL checks the signature level of every certificate but the
     * trust anchor's, which is trusted as configured) */
    o.from = -5 * PKI_YEAR;
    o.md = EVP_sha1();
    s1 = pki_issue(pki_name("/O=Acme Phones/CN=Acme SHA-1 Issuing CA"), k_s,
                   P.rootA, P.k_rootA, &o);
    under_s1 = leaf("/CN=0004F20000B1", s1, k_s, -PKI_DAY, PKI_YEAR, NULL);
    s1_only = store_pem(s1, NULL);
    s1_full = store_pem(P.rootA, s1);
    r = verify(s1_full, under_s1, 1);
    assert_rejected(&r, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_int_equal(r.err_depth, 1);
    r = verify(s1_full, under_s1, 0);
    assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
    r = verify(s1_only, under_s1, 1);
    assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);

    X509_free(under_weak);
    X509_free(weak);
    X509_free(under_s1);
    X509_free(s1);
    EVP_PKEY_free(k_weak);
    EVP_PKEY_free(k_s);
    dp_trust_free(weak_only);
    dp_trust_free(weak_full);
    dp_trust_free(s1_only);
    dp_trust_free(s1_full);
}

static void test_chain_reason_texts(void **state)
{
    dp_chain_result_t r;
    char buf[DP_REASON_MAX];

    (void)state;
    memset(&r, 0, sizeof(r));
    r.status = DP_CHAIN_OK;
    assert_int_equal(dp_chain_reason(&r, buf, sizeof(buf), "acme"),
                     DP_REASON_NONE);
    assert_string_equal(buf, "verified");
    r.status = DP_CHAIN_UNVERIFIED;
    r.x509_err = X509_V_ERR_CERT_SIGNATURE_FAILURE;
    dp_chain_reason(&r, buf, sizeof(buf), NULL);
    assert_string_equal(buf, "certificate not verified: certificate "
                        "signature failure");
    /* a short buffer is cut, NUL-terminated */
    r.status = DP_CHAIN_CA_LEAF;
    assert_int_equal(dp_chain_reason(&r, buf, 12, NULL), DP_REASON_CA_LEAF);
    assert_string_equal(buf, "a CA certif");
    /* details are cut too */
    r.status = DP_CHAIN_DENIED_KEY;
    r.err_depth = 2;
    snprintf(r.subject, sizeof(r.subject), "/CN=Root");
    assert_int_equal(dp_chain_reason(&r, buf, 40, NULL), DP_REASON_CA_KEY);
    assert_string_equal(buf, "denied key (DevprovDenyKey) at depth 2:");
    assert_int_equal(dp_chain_reason(&r, buf, sizeof(buf), NULL),
                     DP_REASON_CA_KEY);
    assert_string_equal(buf, "denied key (DevprovDenyKey) at depth 2: "
                        "/CN=Root");
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
    assert_int_equal(dp_trust_count(t), 4);
    assert_int_equal(dp_trust_root_count(t), 2);
    {
        dp_chain_result_t r = verify(t, P.valid, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 2, pki_now);
        r = verify(t, P.under_old, 1);
        assert_ok(&r, DP_TIME_EXPIRED, 1, 2, pki_now - PKI_YEAR - 1);
        r = verify(t, P.b_dev, 1);
        assert_ok(&r, DP_TIME_VALID, -1, 1, pki_now);
    }
    dp_trust_free(t);

    /* a single file */
    t = dp_trust_new();
    assert_int_equal(dp_trust_add_path(t, join(p, sizeof(p), dir,
                                               "a-root.pem"), err,
                                       sizeof(err)), 1);
    assert_int_equal(dp_trust_count(t), 1);
    assert_int_equal(dp_trust_root_count(t), 1);
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
    assert_int_equal(dp_trust_count(t), 0);
    dp_trust_free(t);
}

typedef struct vendors {
    dp_vendor_t a, b;
    dp_macrule_t *a_rules[4], *b_rules[1];
    const dp_vendor_t *list[2];
} vendors_t;

/* Vendor "acme" (Polycom preset, rootA+intA+oldA: the expired 2015
 * issuing CA is configured, since a phone's copy of it is no longer used)
 * and vendor "beta" (its own root, MAC in OU). */
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
    v->a.trust = store_of(P.rootA, P.intA, P.oldA, NULL);
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

static dp_identity_t identify_deny(const dp_vendor_t *const *list, size_t n,
                                   const dp_keyset_t *deny, X509 *cert)
{
    dp_identity_t id;

    memset(&id, 0x5a, sizeof(id));
    assert_int_equal(dp_identify(list, n, deny, cert, pki_now, &id), 0);
    return id;
}

static dp_identity_t identify(const dp_vendor_t *const *list, size_t n,
                              X509 *cert)
{
    return identify_deny(list, n, NULL, cert);
}

/* Not a device: STATUS, no vendor, no MAC, the reason WANT. */
static void assert_not_device_(const dp_identity_t *id, dp_status_t status,
                               int x509_err, const char *want,
                               const char *file, int line)
{
    static const unsigned char zero[DP_MAC_LEN] = { 0 };

    if (id->status != status)
        FAIL_AT("status %d, expected %d; reason '%s'\n", id->status, status,
                id->reason);
    if (id->vendor != NULL)
        FAIL_AT("vendor %s set\n", id->vendor->name);
    _assert_memory_equal(id->mac.b, zero, DP_MAC_LEN, file, line);
    EQ(id->x509_err, x509_err);
    EQ(id->time, DP_TIME_VALID);
    EQ(id->time_depth, -1);
    EQ(id->pinned, 0);
    _assert_string_equal(id->reason, want, file, line);
    /* a code, and the text is the code's */
    if (id->reason_code == DP_REASON_NONE)
        FAIL_AT("reason '%s' without a code\n", id->reason);
    EQ(dp_reason_parse(id->reason), (int)id->reason_code);
}
#define assert_not_device(id, st, e, w) \
    assert_not_device_(id, st, e, w, __FILE__, __LINE__)

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
    assert_int_equal(id->reason_code, DP_REASON_NONE);
}

static void test_identify_device(void **state)
{
    vendors_t v;
    dp_identity_t id;
    char want[DP_REASON_MAX];

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.valid);
    assert_device(&id, &v.a, "0004f2abcdef");
    assert_int_equal(id.time, DP_TIME_VALID);
    assert_int_equal(id.time_depth, -1);
    assert_int_equal(id.x509_err, X509_V_OK);

    /* genuine but expired is still the device; the time says so */
    id = identify(v.list, 2, P.expired);
    assert_device(&id, &v.a, "0004f2000002");
    assert_int_equal(id.time, DP_TIME_EXPIRED);
    assert_int_equal(id.time_depth, 0);

    /* not yet valid: a device only with DevprovAcceptNotYetValid on
     * (issue 13; it used to be one by default) */
    id = identify(v.list, 2, P.nyv);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + PKI_DAY));
    assert_not_device(&id, DP_ST_UNVERIFIED, X509_V_ERR_CERT_NOT_YET_VALID,
                      want);
    v.a.accept_future = 1;
    id = identify(v.list, 2, P.nyv);
    assert_device(&id, &v.a, "0004f2000003");
    assert_int_equal(id.time, DP_TIME_NOT_YET_VALID);
    assert_int_equal(id.time_depth, 0);
    v.a.accept_future = 0;

    /* under the expired issuing CA, now configured (it used to be sent) */
    id = identify(v.list, 2, P.under_old);
    assert_device(&id, &v.a, "0004f2000004");
    assert_int_equal(id.time, DP_TIME_EXPIRED);
    assert_int_equal(id.time_depth, 1);
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
    id = identify(v.list, 2, P.b_dev);
    assert_device(&id, &v.b, "00aabbccddee");

    /* a Polycom-looking subject under vendor B's CA is read with vendor
     * B's rule: no OU, no MAC - never the CN Polycom would use */
    id = identify(v.list, 2, P.b_polycomlike);
    assert_int_equal(id.status, DP_ST_NO_MAC);
    assert_ptr_equal(id.vendor, &v.b);
    assert_string_equal(id.reason, "no MAC in certificate subject");
    {
        static const unsigned char zero[DP_MAC_LEN] = { 0 };
        assert_memory_equal(id.mac.b, zero, DP_MAC_LEN);
    }

    /* both layouts present: B's rule decides */
    id = identify(v.list, 2, P.b_both);
    assert_device(&id, &v.b, "00aabbccddee");

    /* configuration order does not change who vouches for what */
    reversed[0] = &v.b;
    reversed[1] = &v.a;
    id = identify(reversed, 2, P.valid);
    assert_device(&id, &v.a, "0004f2abcdef");
    id = identify(reversed, 2, P.b_both);
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
        id = identify(list, 2, P.valid);
        assert_int_equal(id.status, DP_ST_NO_MAC);
        assert_ptr_equal(id.vendor, &a2);
        list[0] = &v.a;
        list[1] = &a2;
        id = identify(list, 2, P.valid);
        assert_device(&id, &v.a, "0004f2abcdef");
    }

    /* with vendor A alone, B's devices are unverified */
    id = identify(v.list, 1, P.b_polycomlike);
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
    id = identify(v.list, 2, NULL);
    assert_int_equal(id.status, DP_ST_NO_CERT);
    assert_null(id.vendor);
    assert_memory_equal(id.sha256, zero, 32);
    assert_non_null(strstr(id.reason, "no client certificate"));
    assert_int_equal(id.reason_code, DP_REASON_NO_CERT);
    vendors_free(&v);
}

static void test_identify_unverified(void **state)
{
    vendors_t v;
    dp_identity_t id;
    const char *want;

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.rogue_leaf);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_null(id.vendor);
    assert_int_equal(id.x509_err,
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    want = X509_verify_cert_error_string(id.x509_err);
    if (strstr(id.reason, want) == NULL)
        fail_msg("reason '%s' lacks '%s'", id.reason, want);
    assert_int_equal(id.reason_code, DP_REASON_NOT_VERIFIED);
    {
        static const unsigned char zero[DP_MAC_LEN] = { 0 };
        assert_memory_equal(id.mac.b, zero, DP_MAC_LEN);
    }

    id = identify(v.list, 2, P.selfsigned);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_int_equal(id.x509_err, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_non_null(strstr(id.reason, X509_verify_cert_error_string(
                                          X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)));

    /* the look-alike chain can no longer be sent beside the leaf; the
     * configured intA of the same name does not verify its signature */
    id = identify(v.list, 2, P.lookalike);
    assert_not_device(&id, DP_ST_UNVERIFIED,
                      X509_V_ERR_CERT_SIGNATURE_FAILURE,
                      "certificate not verified: certificate signature "
                      "failure");

    /* SHA-1 at the vendor's level 1, and the vendor lowered to level 0 */
    id = identify(v.list, 2, P.sha1);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_int_equal(id.x509_err, X509_V_ERR_CA_MD_TOO_WEAK);
    assert_non_null(strstr(id.reason, X509_verify_cert_error_string(
                                          X509_V_ERR_CA_MD_TOO_WEAK)));
    v.a.auth_level = 0;
    id = identify(v.list, 2, P.sha1);
    assert_device(&id, &v.a, "0004f2000008");

    /* no vendors at all */
    id = identify(v.list, 0, P.valid);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_non_null(strstr(id.reason, "no vendor trust store"));
    assert_int_equal(id.reason_code, DP_REASON_NOT_VERIFIED);
    assert_string_equal(id.reason, "certificate not verified: no vendor "
                        "trust store configured");
    vendors_free(&v);
}

static void test_identify_no_mac(void **state)
{
    vendors_t v;
    dp_identity_t id;

    (void)state;
    vendors_init(&v);
    id = identify(v.list, 2, P.nomac);
    assert_int_equal(id.status, DP_ST_NO_MAC);
    assert_ptr_equal(id.vendor, &v.a);
    assert_int_equal(id.time, DP_TIME_VALID);
    assert_string_equal(id.reason, dp_mac_status_string(DP_MAC_NONE));
    assert_int_equal(id.reason_code, DP_REASON_NO_MAC);
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

        id = identify(v.list, 2, certs[i]);
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

/* Refusals of a chain that verified against a vendor's CAs, as
 * DEVICE_REASON gives them. */
static void test_identify_refusals(void **state)
{
    vendors_t v;
    dp_identity_t id;
    dp_keyset_t *deny_int = deny_key_of(P.intA);
    dp_keyset_t *deny_leaf = deny_key_of(P.valid);
    X509 *ca_leaf, *after, *generic;
    pki_opts_t o = PKI_LEAF;

    (void)state;
    vendors_init(&v);
    /* a CA certificate presented as the phone's */
    o.bc = "critical,CA:TRUE";
    o.ku = "critical,digitalSignature,keyCertSign";
    ca_leaf = pki_issue(pki_name("/CN=0004F20000C0"), P.k_leaf, P.intA,
                        P.k_intA, &o);
    id = identify(v.list, 2, ca_leaf);
    assert_not_device(&id, DP_ST_UNVERIFIED, X509_V_ERR_INVALID_PURPOSE,
                      "a CA certificate (CA:TRUE or keyCertSign), not a "
                      "phone's");
    assert_int_equal(id.reason_code, DP_REASON_CA_LEAF);

    /* never valid */
    after = leaf("/CN=0004F20000C1", P.oldA, P.k_oldA, -PKI_DAY, PKI_YEAR,
                 NULL);
    id = identify(v.list, 2, after);
    assert_not_device(&id, DP_ST_UNVERIFIED, X509_V_ERR_CERT_HAS_EXPIRED,
                      "chain never valid: notBefore at depth 0 is not "
                      "before notAfter at depth 1");
    assert_int_equal(id.reason_code, DP_REASON_NEVER_VALID);

    /* a denied issuing CA: the verified chain is refused */
    id = identify_deny(v.list, 2, deny_int, P.valid);
    assert_not_device(&id, DP_ST_GENERIC, X509_V_OK,
                      "denied key (DevprovDenyKey) at depth 1: /C=US/O=Acme "
                      "Phones/CN=Acme Device Issuing CA");
    assert_int_equal(id.reason_code, DP_REASON_CA_KEY);
    /* ...not the other issuing CA's phones */
    id = identify_deny(v.list, 2, deny_int, P.under_old);
    assert_device(&id, &v.a, "0004f2000004");

    /* the leaf's own key: the generic reason, whatever CA signed it, also
     * one that no configured CA verifies */
    id = identify_deny(v.list, 2, deny_leaf, P.valid);
    assert_not_device(&id, DP_ST_GENERIC, X509_V_OK, "generic certificate: "
                      "its private key is public (DevprovDenyKey)");
    assert_int_equal(id.reason_code, DP_REASON_GENERIC_KEY);
    id = identify_deny(v.list, 2, deny_leaf, P.rogue_leaf);
    assert_not_device(&id, DP_ST_GENERIC, X509_V_OK, "generic certificate: "
                      "its private key is public (DevprovDenyKey)");
    /* the built-in generic firmware keys, without any DevprovDenyKey */
    generic = generic_leaf("/CN=0004F20000C2");
    id = identify(v.list, 2, generic);
    assert_not_device(&id, DP_ST_GENERIC, X509_V_OK, "generic certificate: "
                      "its private key is public (DevprovDenyKey)");
    assert_int_equal(id.reason_code, DP_REASON_GENERIC_KEY);

    X509_free(ca_leaf);
    X509_free(after);
    X509_free(generic);
    dp_keyset_free(deny_int);
    dp_keyset_free(deny_leaf);
    vendors_free(&v);
}

/* A chain that verified against vendor A's CAs but was refused there is
 * A's verdict: vendor B is not asked.  An unverified chain is. */
static void test_identify_refused_not_retried(void **state)
{
    vendors_t v;
    dp_identity_t id;
    dp_vendor_t x, x_int, acme_future;
    const dp_vendor_t *list[2];
    EVP_PKEY *k_rootX = pki_key(), *k_intX = pki_key();
    X509 *rootX = ca_cert("/O=Xeno/CN=Xeno Root 2010", k_rootX, NULL, NULL,
                          -10 * PKI_YEAR, -PKI_YEAR);
    X509 *intX = ca_cert("/O=Xeno/CN=Xeno Issuing CA", k_intX, rootX,
                         k_rootX, -9 * PKI_YEAR, 5 * PKI_YEAR);
    X509 *newer = leaf("/CN=0004F20000D0", intX, k_intX, -PKI_DAY,
                       PKI_YEAR, NULL);
    dp_keyset_t *deny_rootA = deny_key_of(P.rootA);
    char want[DP_REASON_MAX];

    (void)state;
    vendors_init(&v);
    /* "xeno" trusts its expired root and the issuing CA; "xeno-int" the
     * issuing CA alone (both with the Polycom rules) */
    x = v.a;
    x.name = "xeno";
    x.trust = store_pem(rootX, intX);
    x_int = v.a;
    x_int.name = "xeno-int";
    x_int.trust = store_pem(intX, NULL);

    /* never valid under xeno: xeno-int is not asked */
    list[0] = &x;
    list[1] = &x_int;
    id = identify(list, 2, newer);
    assert_not_device(&id, DP_ST_UNVERIFIED, X509_V_ERR_CERT_HAS_EXPIRED,
                      "chain never valid: notBefore at depth 0 is not "
                      "before notAfter at depth 2");
    list[0] = &x_int;
    list[1] = &x;
    id = identify(list, 2, newer);
    assert_device(&id, &x_int, "0004f20000d0");

    /* a denied root under acme (depth 2): not retried with xeno-int...
     * which would not verify it anyway; with acme's issuing CA alone it
     * would be a device */
    {
        dp_vendor_t a_int = v.a;

        a_int.name = "acme-int";
        a_int.trust = store_pem(P.intA, NULL);
        list[0] = &v.a;
        list[1] = &a_int;
        id = identify_deny(list, 2, deny_rootA, P.valid);
        assert_not_device(&id, DP_ST_GENERIC, X509_V_OK,
                          "denied key (DevprovDenyKey) at depth 2: /C=US/"
                          "O=Acme Phones/CN=Acme Device Root CA");
        list[0] = &a_int;
        list[1] = &v.a;
        id = identify_deny(list, 2, deny_rootA, P.valid);
        assert_device(&id, &a_int, "0004f2abcdef");
        dp_trust_free(a_int.trust);
    }

    /* not yet valid under acme (off): the same CAs admitting it under
     * another vendor name are not asked */
    acme_future = v.a;
    acme_future.name = "acme-future";
    acme_future.accept_future = 1;
    list[0] = &v.a;
    list[1] = &acme_future;
    id = identify(list, 2, P.nyv);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid acme off", iso(pki_now + PKI_DAY));
    assert_not_device(&id, DP_ST_UNVERIFIED, X509_V_ERR_CERT_NOT_YET_VALID,
                      want);
    list[0] = &acme_future;
    list[1] = &v.a;
    id = identify(list, 2, P.nyv);
    assert_device(&id, &acme_future, "0004f2000003");
    assert_int_equal(id.time, DP_TIME_NOT_YET_VALID);

    /* unverified under xeno: beta is asked and knows it */
    list[0] = &x;
    list[1] = &v.b;
    id = identify(list, 2, P.b_dev);
    assert_device(&id, &v.b, "00aabbccddee");
    /* unverified everywhere: the first vendor's error */
    id = identify(list, 2, P.rogue_leaf);
    assert_not_device(&id, DP_ST_UNVERIFIED,
                      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                      "certificate not verified: unable to get local issuer "
                      "certificate");

    X509_free(newer);
    X509_free(intX);
    X509_free(rootX);
    EVP_PKEY_free(k_rootX);
    EVP_PKEY_free(k_intX);
    dp_keyset_free(deny_rootA);
    dp_trust_free(x.trust);
    dp_trust_free(x_int.trust);
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

    /* pinned: the self-signed certificate becomes the device (its
     * "not verified" reason gone with the code) */
    fake_pin(&src, "0004f2000007", P.selfsigned);
    id = identify(v.list, 2, P.selfsigned);
    assert_int_equal(id.reason_code, DP_REASON_NOT_VERIFIED);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), 1);
    assert_device(&id, &v.a, "0004f2000007");
    assert_true(id.pinned);

    /* pinned to another certificate: not a device */
    fake_pin(&src, "0004f2000007", P.valid);
    id = identify(v.list, 2, P.selfsigned);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), 0);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);

    /* the source cannot answer: -1 and the identity left alone */
    fake_pin(&src, "0004f2000007", P.selfsigned);
    src.fail = 1;
    id = identify(v.list, 2, P.selfsigned);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.selfsigned, pki_now, &id), -1);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_false(id.pinned);

    /* a CA-verified device never asks the source */
    src.calls = 0;
    id = identify(v.list, 2, P.valid);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src,
                                        P.valid, pki_now, &id), 0);
    assert_int_equal(src.calls, 0);
    assert_device(&id, &v.a, "0004f2abcdef");
    assert_false(id.pinned);
    vendors_free(&v);
}

/* A pinned certificate's own validity: the vendor whose MAC rules read
 * it decides whether a not-yet-valid one is admitted. */
static void test_identify_pinned_times(void **state)
{
    vendors_t v;
    dp_identity_t id;
    fake_source_t src;
    X509 *nyv, *never;
    pki_opts_t o = PKI_LEAF;
    char want[DP_REASON_MAX];

    (void)state;
    vendors_init(&v);
    /* read by beta's rule (OU), not by acme's (no MAC in the CN) */
    o.from = PKI_DAY;
    nyv = pki_issue(pki_name("/OU=dev-00aabbccdd01/CN=Beta Desk"), P.k_self,
                    NULL, NULL, &o);
    fake_pin(&src, "00aabbccdd01", nyv);
    v.a.accept_future = 1;                  /* not the one that counts */
    id = identify(v.list, 2, nyv);
    assert_int_equal(id.x509_err, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src, nyv,
                                        pki_now, &id), 0);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_false(id.pinned);
    assert_null(id.vendor);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid beta off", iso(pki_now + PKI_DAY));
    assert_string_equal(id.reason, want);
    assert_int_equal(id.reason_code, DP_REASON_NOT_YET_VALID);
    v.a.accept_future = 0;
    v.b.accept_future = 1;
    id = identify(v.list, 2, nyv);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src, nyv,
                                        pki_now, &id), 1);
    assert_device(&id, &v.b, "00aabbccdd01");
    assert_true(id.pinned);
    assert_int_equal(id.time, DP_TIME_NOT_YET_VALID);
    assert_int_equal(id.time_depth, 0);

    /* never valid: refused whatever the vendor admits */
    o.from = -PKI_DAY;
    o.to = -PKI_DAY;
    never = pki_issue(pki_name("/OU=dev-00aabbccdd02/CN=Beta Desk"),
                      P.k_self, NULL, NULL, &o);
    fake_pin(&src, "00aabbccdd02", never);
    id = identify(v.list, 2, never);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src, never,
                                        pki_now, &id), 0);
    assert_int_equal(id.status, DP_ST_UNVERIFIED);
    assert_false(id.pinned);
    assert_string_equal(id.reason, "chain never valid: notBefore at depth 0 "
                        "is not before notAfter at depth 0");
    assert_int_equal(id.reason_code, DP_REASON_NEVER_VALID);

    /* expired: the device, as before */
    o.from = -3 * PKI_YEAR;
    o.to = -PKI_DAY;
    X509_free(never);
    never = pki_issue(pki_name("/OU=dev-00aabbccdd03/CN=Beta Desk"),
                      P.k_self, NULL, NULL, &o);
    fake_pin(&src, "00aabbccdd03", never);
    id = identify(v.list, 2, never);
    assert_int_equal(dp_identify_pinned(v.list, 2, fake_lookup, &src, never,
                                        pki_now, &id), 1);
    assert_device(&id, &v.b, "00aabbccdd03");
    assert_int_equal(id.time, DP_TIME_EXPIRED);
    assert_int_equal(id.time_depth, 0);

    X509_free(nyv);
    X509_free(never);
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
        cmocka_unit_test(test_verify_never_valid),
        cmocka_unit_test(test_verify_not_yet_valid_intermediate),
        cmocka_unit_test(test_verify_unparseable_validity),
        cmocka_unit_test(test_time_alone),
        cmocka_unit_test(test_verify_intermediate_from_store_only),
        cmocka_unit_test(test_verify_unconfigured_intermediate),
        cmocka_unit_test(test_verify_partial_chain),
        cmocka_unit_test(test_verify_renewed_ca),
        cmocka_unit_test(test_verify_ca_leaf),
        cmocka_unit_test(test_verify_denied_key),
        cmocka_unit_test(test_verify_builtin_generic_key),
        cmocka_unit_test(test_verify_attackers),
        cmocka_unit_test(test_verify_auth_level),
        cmocka_unit_test(test_verify_expired_chain_rules),
        cmocka_unit_test(test_verify_auth_level_anchor),
        cmocka_unit_test(test_chain_reason_texts),
        cmocka_unit_test(test_time_status_strings),
        cmocka_unit_test_teardown(test_add_path_dir, rm_tmpdir),
        cmocka_unit_test(test_add_path_missing),
        cmocka_unit_test(test_identify_device),
        cmocka_unit_test(test_identify_vendor_by_ca),
        cmocka_unit_test(test_identify_no_cert),
        cmocka_unit_test(test_identify_unverified),
        cmocka_unit_test(test_identify_no_mac),
        cmocka_unit_test(test_identify_refusals),
        cmocka_unit_test(test_identify_refused_not_retried),
        cmocka_unit_test(test_identify_fingerprint),
        cmocka_unit_test(test_identify_pinned_source),
        cmocka_unit_test(test_identify_pinned_times),
    };
    return cmocka_run_group_tests_name("dp_identify", tests, pki_setup,
                                       pki_teardown);
}
