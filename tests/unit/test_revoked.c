/* Unit tests for dp_revoked: revocation by MAC or fingerprint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_revoked.h"

#define FP "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static dp_revoked_t *parse(const char *text, char *err, size_t errlen)
{
    return dp_revoked_parse(text, strlen(text), "revoked", err, errlen);
}

static void test_lookup(void **state)
{
    char err[256];
    dp_mac_t mac;
    unsigned char fp[32];
    size_t i;
    dp_revoked_t *rv = parse("# stolen phones\r\n"
                             "00:04:F2:00:00:01   # lobby\n"
                             "\n"
                             "  0004.f200.0003\n"
                             "sha256:" FP "\n"
                             "0004f2000002", err, sizeof(err));

    (void)state;
    assert_non_null(rv);
    assert_int_equal(dp_revoked_count(rv), 4);
    assert_int_equal(dp_mac_parse("0004f2000001", 12, &mac), 0);
    assert_true(dp_revoked_mac(rv, &mac));
    assert_int_equal(dp_mac_parse("0004F2000003", 12, &mac), 0);
    assert_true(dp_revoked_mac(rv, &mac));
    assert_int_equal(dp_mac_parse("0004f2000002", 12, &mac), 0);
    assert_true(dp_revoked_mac(rv, &mac));
    assert_int_equal(dp_mac_parse("0004f2000004", 12, &mac), 0);
    assert_false(dp_revoked_mac(rv, &mac));
    for (i = 0; i < 32; i++) {
        unsigned v;
        sscanf(FP + 2 * i, "%2x", &v);
        fp[i] = (unsigned char)v;
    }
    assert_true(dp_revoked_cert(rv, fp));
    fp[31] ^= 1;
    assert_false(dp_revoked_cert(rv, fp));
    dp_revoked_free(rv);
}

static void test_empty(void **state)
{
    char err[256];
    dp_mac_t mac;
    unsigned char fp[32] = { 0 };
    dp_revoked_t *rv = parse("", err, sizeof(err));

    (void)state;
    assert_non_null(rv);
    assert_int_equal(dp_revoked_count(rv), 0);
    assert_int_equal(dp_mac_parse("0004f2000001", 12, &mac), 0);
    assert_false(dp_revoked_mac(rv, &mac));
    assert_false(dp_revoked_cert(rv, fp));
    dp_revoked_free(rv);
}

static void test_errors(void **state)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "0004f2000001\nnot-a-mac\n",
          "revoked:2: 'not-a-mac' is neither a MAC nor sha256:" },
        { "0004f2000001 lobby\n", "revoked:1: one MAC or sha256:" },
        { "sha256:abcd\n", "revoked:1: sha256: must be followed by 64 hex" },
        { "sha256:" FP "00\n", "revoked:1: sha256: must be followed" },
    };
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_null(parse(cases[i].text, err, sizeof(err)));
        if (strstr(err, cases[i].needle) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
    }
    assert_null(dp_revoked_load("/nonexistent/revoked", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/revoked: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("dp_revoked", tests, NULL, NULL);
}
