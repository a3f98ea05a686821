/* test_check.c - the handshake-store and allowlist-vendor checks of
 * dp_check.c, against a PKI generated in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/x509_vfy.h>

#include "src/dp_check.h"
#include "tests/unit/pki.h"

/* rootA -> intA (the vendor's chain); oldA: an expired issuing CA under
 * rootA; laint: intA's subject with another key, under rootA */
static struct {
    EVP_PKEY *k_rootA, *k_intA, *k_oldA, *k_laint;
    X509 *rootA, *intA, *oldA, *laint;
} P;

#define ROOT_A "/C=US/O=Acme Phones/CN=Acme Device Root CA"
#define INT_A  "/C=US/O=Acme Phones/CN=Acme Device Issuing CA"

static int pki_setup(void **state)
{
    pki_opts_t ca = PKI_CA, old = PKI_CA;

    (void)state;
    pki_init();
    P.k_rootA = pki_key();
    P.k_intA = pki_key();
    P.k_oldA = pki_key();
    P.k_laint = pki_key();
    P.rootA = pki_issue(pki_name(ROOT_A), P.k_rootA, NULL, NULL, &ca);
    P.intA = pki_issue(pki_name(INT_A), P.k_intA, P.rootA, P.k_rootA, &ca);
    old.from = -5 * PKI_YEAR;
    old.to = -PKI_YEAR;
    P.oldA = pki_issue(pki_name("/O=Acme Phones/CN=Acme 2015 Issuing CA"),
                       P.k_oldA, P.rootA, P.k_rootA, &old);
    P.laint = pki_issue(pki_name(INT_A), P.k_laint, P.rootA, P.k_rootA, &ca);
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    X509_free(P.rootA);
    X509_free(P.intA);
    X509_free(P.oldA);
    X509_free(P.laint);
    EVP_PKEY_free(P.k_rootA);
    EVP_PKEY_free(P.k_intA);
    EVP_PKEY_free(P.k_oldA);
    EVP_PKEY_free(P.k_laint);
    return 0;
}

/* a vendor trust store of the given certificates, in order */
static dp_trust_t *trust_of(X509 *a, X509 *b, X509 *c)
{
    dp_trust_t *t = dp_trust_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256];

    assert_non_null(t);
    pki_pem_append(a, &buf, &len);
    if (b != NULL)
        pki_pem_append(b, &buf, &len);
    if (c != NULL)
        pki_pem_append(c, &buf, &len);
    assert_true(dp_trust_add_mem(t, buf, len, "vendor.pem", err,
                                 sizeof(err)) > 0);
    free(buf);
    return t;
}

/* a handshake store (SSLCACertificateFile) of the given certificates */
static X509_STORE *store_of(X509 *a, X509 *b)
{
    X509_STORE *hs = X509_STORE_new();

    assert_non_null(hs);
    if (a != NULL)
        assert_int_equal(X509_STORE_add_cert(hs, a), 1);
    if (b != NULL)
        assert_int_equal(X509_STORE_add_cert(hs, b), 1);
    return hs;
}

#define MAX_SEEN 8
typedef struct {
    int n;
    dp_hs_kind_t kind[MAX_SEEN];
    char subject[MAX_SEEN][256];
    int need[MAX_SEEN];
    int err[MAX_SEEN];
} seen_t;

static void record(void *arg, const dp_hs_problem_t *p)
{
    seen_t *s = arg;

    assert_true(s->n < MAX_SEEN);
    assert_non_null(p->ca);
    s->kind[s->n] = p->kind;
    snprintf(s->subject[s->n], sizeof(s->subject[0]), "%s", p->subject);
    s->need[s->n] = p->need_depth;
    s->err[s->n] = p->x509_err;
    s->n++;
}

static int run(dp_trust_t *t, X509_STORE *hs, int depth, seen_t *s)
{
    int rc;

    memset(s, 0, sizeof(*s));
    rc = dp_check_handshake_store(t, hs, depth, record, s);
    assert_int_equal(rc, s->n);
    return rc;
}

static void test_hs_complete(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs = store_of(P.rootA, P.intA);
    seen_t s;

    (void)state;
    /* leaf -> intA -> rootA: depth 2 is enough */
    assert_int_equal(run(t, hs, 2, &s), 0);
    assert_int_equal(run(t, hs, 9, &s), 0);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_depth(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs = store_of(P.rootA, P.intA);
    seen_t s;

    (void)state;
    /* mod_ssl's default SSLVerifyDepth 1: the root sits at depth 2 */
    assert_int_equal(run(t, hs, 1, &s), 1);
    assert_int_equal(s.kind[0], DP_HS_DEPTH);
    assert_int_equal(s.need[0], 2);
    assert_non_null(strstr(s.subject[0], "CN=Acme Device Issuing CA"));
    /* a root alone needs depth 1 (leaf 0, root 1) */
    assert_int_equal(run(t, hs, 0, &s), 2);
    assert_int_equal(s.need[0], 1);
    assert_int_equal(s.need[1], 2);
    /* < 0: depth not judged */
    assert_int_equal(run(t, hs, -1, &s), 0);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_missing_intermediate(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs = store_of(P.rootA, NULL);
    seen_t s;

    (void)state;
    /* the handshake cannot build leaf -> intA from a root alone when the
     * phone sends only its leaf */
    assert_int_equal(run(t, hs, 5, &s), 1);
    assert_int_equal(s.kind[0], DP_HS_NOT_IN_STORE);
    assert_non_null(strstr(s.subject[0], "CN=Acme Device Issuing CA"));
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_missing_root(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs = store_of(P.intA, NULL);
    seen_t s;

    (void)state;
    /* intA is there, but mod_ssl sets no partial chain: not an anchor */
    assert_int_equal(run(t, hs, 5, &s), 2);
    assert_int_equal(s.kind[0], DP_HS_NOT_IN_STORE);
    assert_non_null(strstr(s.subject[0], "CN=Acme Device Root CA"));
    assert_int_equal(s.kind[1], DP_HS_UNVERIFIED);
    assert_int_equal(s.err[1], X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_lookalike(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs = store_of(P.rootA, P.laint);
    seen_t s;

    (void)state;
    /* same subject, another key: the vendor's leaves do not chain */
    assert_int_equal(run(t, hs, 5, &s), 1);
    assert_int_equal(s.kind[0], DP_HS_NOT_IN_STORE);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_expired_ca(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.oldA, NULL);
    X509_STORE *hs = store_of(P.rootA, P.oldA);
    seen_t s;

    (void)state;
    /* time is what the handshake tolerates */
    assert_int_equal(run(t, hs, 2, &s), 0);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

static void test_hs_empty_store(void **state)
{
    dp_trust_t *t = trust_of(P.rootA, P.intA, P.oldA);
    X509_STORE *hs = store_of(NULL, NULL);
    seen_t s;

    (void)state;
    assert_int_equal(run(t, hs, 5, &s), 3);
    assert_int_equal(s.kind[0], DP_HS_NOT_IN_STORE);
    assert_int_equal(s.kind[1], DP_HS_NOT_IN_STORE);
    assert_int_equal(s.kind[2], DP_HS_NOT_IN_STORE);
    dp_trust_free(t);
    X509_STORE_free(hs);
}

/* SSLCACertificatePath: a hashed directory, searched on demand */
static void write_hashed(const char *dir, X509 *x)
{
    char path[512];
    unsigned char *buf = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%08lx.0", dir,
             X509_NAME_hash_ex(X509_get_subject_name(x), NULL, NULL, NULL));
    pki_pem_append(x, &buf, &len);
    assert_int_equal(pki_write_file(path, buf, len), 0);
    free(buf);
}

static void test_hs_hashed_dir(void **state)
{
    char dir[] = "/tmp/dp-check-XXXXXX", cmd[600];
    dp_trust_t *t = trust_of(P.rootA, P.intA, NULL);
    X509_STORE *hs;
    seen_t s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_hashed(dir, P.rootA);
    hs = store_of(NULL, NULL);
    assert_int_equal(X509_STORE_load_path(hs, dir), 1);
    assert_int_equal(run(t, hs, 2, &s), 1);
    assert_int_equal(s.kind[0], DP_HS_NOT_IN_STORE);
    X509_STORE_free(hs);

    write_hashed(dir, P.intA);
    hs = store_of(NULL, NULL);
    assert_int_equal(X509_STORE_load_path(hs, dir), 1);
    assert_int_equal(run(t, hs, 2, &s), 0);
    X509_STORE_free(hs);
    dp_trust_free(t);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- allowlist vendor= ------------------------------------------------ */

typedef struct {
    int n;
    uint32_t line[8];
    char vendor[8][40];
} al_seen_t;

static void al_record(void *arg, uint32_t line, const char *vendor)
{
    al_seen_t *s = arg;

    assert_true(s->n < 8);
    s->line[s->n] = line;
    snprintf(s->vendor[s->n], sizeof(s->vendor[0]), "%s", vendor);
    s->n++;
}

static void test_al_vendors(void **state)
{
    static const char list[] =
        "# phones\n"
        "0004f2000001 desk1 vendor=polycom\n"
        "0004f2000002\n"
        "805ec0000003 vendor=yealink\n"
        "805ec0000004 vendor=yealnk\n"
        "\n"
        "0004f2000005 lobby vendor=polycon room=12\n"
        "0004f2000006 room=14\n";
    const char *names[] = { "polycom", "yealink" };
    char err[256];
    dp_allowlist_t *al = dp_allowlist_parse(list, sizeof(list) - 1,
                                            "list", err, sizeof(err));
    al_seen_t s;
    long n;

    (void)state;
    assert_non_null(al);
    memset(&s, 0, sizeof(s));
    n = dp_check_allowlist_vendors(al, names, 2, al_record, &s);
    assert_int_equal(n, 2);
    assert_int_equal(s.n, 2);
    /* in line order, whatever the table's order */
    assert_int_equal(s.line[0], 5);
    assert_string_equal(s.vendor[0], "yealnk");
    assert_int_equal(s.line[1], 7);
    assert_string_equal(s.vendor[1], "polycon");

    /* every vendor configured: nothing to say */
    {
        const char *all[] = { "yealnk", "polycom", "polycon", "yealink" };
        memset(&s, 0, sizeof(s));
        assert_int_equal(dp_check_allowlist_vendors(al, all, 4, al_record,
                                                    &s), 0);
        assert_int_equal(s.n, 0);
    }
    /* no vendor configured: every vendor= line */
    memset(&s, 0, sizeof(s));
    assert_int_equal(dp_check_allowlist_vendors(al, NULL, 0, al_record, &s),
                     4);
    assert_int_equal(s.line[0], 2);
    assert_int_equal(s.line[3], 7);
    dp_allowlist_free(al);
}

static void test_al_vendors_many(void **state)
{
    /* more bad lines than the first buffer holds, across table growth */
    size_t cap = 3000 * 40, len = 0;
    char *buf = malloc(cap), err[256];
    const char *names[] = { "polycom" };
    dp_allowlist_t *al;
    al_seen_t s;
    int i;

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < 3000; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "0004f2%06x vendor=%s\n", i + 1,
                                i == 2999 ? "polycon" : "polycom");
    al = dp_allowlist_parse(buf, len, "big", err, sizeof(err));
    assert_non_null(al);
    memset(&s, 0, sizeof(s));
    assert_int_equal(dp_check_allowlist_vendors(al, names, 1, al_record,
                                                &s), 1);
    assert_int_equal(s.line[0], 3000);
    dp_allowlist_free(al);
    free(buf);
}

static void test_name_list(void **state)
{
    const char *names[] = { "polycom", "yealink", "cisco-spa" };
    char buf[64], tiny[12];

    (void)state;
    assert_string_equal(dp_check_name_list(names, 3, buf, sizeof(buf)),
                        "polycom, yealink, cisco-spa");
    assert_string_equal(dp_check_name_list(names, 0, buf, sizeof(buf)),
                        "none");
    dp_check_name_list(names, 3, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_string_equal(tiny + sizeof(tiny) - 4, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs_complete),
        cmocka_unit_test(test_hs_depth),
        cmocka_unit_test(test_hs_missing_intermediate),
        cmocka_unit_test(test_hs_missing_root),
        cmocka_unit_test(test_hs_lookalike),
        cmocka_unit_test(test_hs_expired_ca),
        cmocka_unit_test(test_hs_empty_store),
        cmocka_unit_test(test_hs_hashed_dir),
        cmocka_unit_test(test_al_vendors),
        cmocka_unit_test(test_al_vendors_many),
        cmocka_unit_test(test_name_list),
    };

    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
