/* Unit tests for dp_keyset: generic firmware keys never identify a phone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "src/dp_keyset.h"

#define GENERIC "certs/vendors/generic/"

static X509 *read_pem(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root)", path);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static int file_matches(const dp_keyset_t *ks, const char *path)
{
    unsigned char md[DP_SHA256_LEN];
    X509 *x = read_pem(path);
    int m;

    assert_int_equal(dp_spki_sha256(x, md), 0);
    m = dp_keyset_match(ks, md);
    X509_free(x);
    return m;
}

/* The built-in list is exactly the shipped generic client certificates. */
static void test_builtin_generic_keys(void **state)
{
    (void)state;
    assert_int_equal(dp_keyset_builtin_count(), 2);
    assert_true(file_matches(NULL,
                             GENERIC "generic_client_SPA-2000_sipurageneric.pem"));
    assert_true(file_matches(NULL, GENERIC "generic_default_GXE50XX.pem"));
    assert_true(file_matches(NULL, GENERIC "generic_default_GXE50XX_2008.pem"));
    /* the CA that issued GXE50XX is not itself a generic client key */
    assert_false(file_matches(NULL, GENERIC "grandstream_vpn_ca.pem"));
    assert_false(file_matches(NULL, "certs/vendors/cisco-mic/crca2048.pem"));
}

static void test_add_files_and_hashes(void **state)
{
    dp_keyset_t *ks = dp_keyset_new();
    char err[256];
    const char *ca = "certs/vendors/cisco-mic/crca2048.pem";
    unsigned char md[DP_SHA256_LEN];
    char arg[7 + 64 + 1];
    X509 *x;
    size_t i;

    (void)state;
    assert_non_null(ks);
    assert_false(file_matches(ks, ca));
    assert_int_equal(dp_keyset_add(ks, ca, err, sizeof(err)), 1);
    assert_true(file_matches(ks, ca));
    /* the same key twice is stored once */
    assert_int_equal(dp_keyset_add(ks, ca, err, sizeof(err)), 1);
    assert_int_equal(dp_keyset_count(ks), 1);

    /* sha256:<hex>, upper case accepted */
    x = read_pem("certs/vendors/cisco-mic/crcam2.pem");
    assert_int_equal(dp_spki_sha256(x, md), 0);
    X509_free(x);
    strcpy(arg, "sha256:");
    for (i = 0; i < DP_SHA256_LEN; i++)
        sprintf(arg + 7 + 2 * i, "%02X", md[i]);
    assert_int_equal(dp_keyset_add(ks, arg, err, sizeof(err)), 1);
    assert_true(dp_keyset_match(ks, md));
    assert_int_equal(dp_keyset_count(ks), 2);
    /* the keys can be read back, in the order added */
    assert_memory_equal(dp_keyset_get(ks, 1), md, DP_SHA256_LEN);
    assert_non_null(dp_keyset_get(ks, 0));
    assert_null(dp_keyset_get(ks, 2));

    /* a directory: every *.pem in it */
    assert_int_equal(dp_keyset_add(ks, "certs/vendors/generic", err,
                                   sizeof(err)), 4);
    assert_true(file_matches(ks, GENERIC "grandstream_vpn_ca.pem"));
    dp_keyset_free(ks);
}

static void test_add_errors(void **state)
{
    dp_keyset_t *ks = dp_keyset_new();
    char err[256];

    (void)state;
    assert_int_equal(dp_keyset_add(ks, "sha256:abcd", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64 hex digits"));
    assert_int_equal(dp_keyset_add(ks, "sha256:"
                                   "zz2e6a25dfa4741a93da61e4af14375bb04208009500"
                                   "adce37ddf6a208476c12", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64 hex digits"));
    assert_int_equal(dp_keyset_add(ks, "/nonexistent.pem", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent.pem"));
    assert_int_equal(dp_keyset_add(ks, "README", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "README"));
    assert_int_equal(dp_keyset_count(ks), 0);
    dp_keyset_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_generic_keys),
        cmocka_unit_test(test_add_files_and_hashes),
        cmocka_unit_test(test_add_errors),
    };
    return cmocka_run_group_tests_name("dp_keyset", tests, NULL, NULL);
}
