/* test_mac.c - dp_mac_parse / format / is_unicast / to_u64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_mac.h"

static const unsigned char EXPECT[DP_MAC_LEN] = {
    0x00, 0x04, 0xf2, 0xab, 0xcd, 0xef
};

/* Parse a NUL-terminated string (length without the NUL). */
static int parse(const char *s, dp_mac_t *out)
{
    return dp_mac_parse(s, strlen(s), out);
}

static void assert_parses_to_expect(const char *s)
{
    dp_mac_t m;

    memset(&m, 0x55, sizeof(m));
    if (parse(s, &m) != 0)
        fail_msg("'%s' should parse", s);
    assert_memory_equal(m.b, EXPECT, DP_MAC_LEN);
}

static void assert_rejected_len(const char *s, size_t len)
{
    dp_mac_t m;

    if (dp_mac_parse(s, len, &m) != -1)
        fail_msg("'%.*s' (len %zu) should be rejected", (int)len, s, len);
}

static void assert_rejected(const char *s)
{
    assert_rejected_len(s, strlen(s));
}

static void test_parse_plain_hex(void **state)
{
    (void)state;
    assert_parses_to_expect("0004f2abcdef");
    assert_parses_to_expect("0004F2ABCDEF");
    assert_parses_to_expect("0004F2aBcDeF");
}

static void test_parse_colon_dash(void **state)
{
    (void)state;
    assert_parses_to_expect("00:04:f2:ab:cd:ef");
    assert_parses_to_expect("00:04:F2:AB:CD:EF");
    assert_parses_to_expect("00-04-f2-ab-cd-ef");
    assert_parses_to_expect("00-04-F2-Ab-cD-EF");
}

static void test_parse_cisco_dotted(void **state)
{
    (void)state;
    assert_parses_to_expect("0004.f2ab.cdef");
    assert_parses_to_expect("0004.F2AB.CDEF");
}

static void test_parse_only_len_bytes_are_read(void **state)
{
    dp_mac_t m;

    (void)state;
    /* LEN bounds the input: a longer buffer is fine if LEN is exact */
    assert_int_equal(dp_mac_parse("0004f2abcdefXYZ", 12, &m), 0);
    assert_memory_equal(m.b, EXPECT, DP_MAC_LEN);
    assert_int_equal(dp_mac_parse("00:04:f2:ab:cd:ef:01", 17, &m), 0);
    assert_memory_equal(m.b, EXPECT, DP_MAC_LEN);
}

static void test_reject_mixed_separators(void **state)
{
    (void)state;
    assert_rejected("00:04-f2:ab:cd:ef");
    assert_rejected("00-04:f2-ab-cd-ef");
    assert_rejected("00:04:f2:ab:cd-ef");
    assert_rejected("0004:f2ab.cdef");
    assert_rejected("0004.f2ab:cdef");
    /* right length, wrong separator kind for the grouping */
    assert_rejected("00.04.f2.ab.cd.ef");
    assert_rejected("0004:f2ab:cdef");
    assert_rejected("0004-f2ab-cdef");
    assert_rejected("00 04 f2 ab cd ef");
    /* separators in the wrong places */
    assert_rejected("000:4f2:abc:def");     /* 15 chars */
    assert_rejected("0:004:f2:ab:cd:ef");   /* 17 chars, misplaced */
    assert_rejected("00040.f2a.bcdef");
    assert_rejected("000.4f2ab.cdef");      /* 14 chars, misplaced */
}

static void test_reject_wrong_lengths(void **state)
{
    (void)state;
    assert_rejected("");
    assert_rejected("0");
    assert_rejected("0004f2abcde");          /* 11 */
    assert_rejected("0004f2abcdef0");        /* 13 digits */
    assert_rejected("0004f2abcdef00");       /* 14 digits, no dots */
    assert_rejected("00:04:f2:ab:cd");
    assert_rejected("00:04:f2:ab:cd:ef:");
    assert_rejected("00:04:f2:ab:cd:e");
    assert_rejected("0004.f2ab.cde");
    assert_rejected("0004.f2ab.cdef.");
    assert_rejected("0004f2abcdef0004f2abcdef");
}

static void test_reject_non_hex(void **state)
{
    (void)state;
    assert_rejected("0004f2abcdeg");
    assert_rejected("g004f2abcdef");
    assert_rejected("0x04f2abcdef");
    assert_rejected("00:04:f2:ab:cd:eG");
    assert_rejected("00-04-f2-ab-zz-ef");
    assert_rejected("0004.f2ab.cdeX");
    assert_rejected("+004f2abcdef");
    assert_rejected("0004f2abcd\xc3\xa9");   /* UTF-8 e-acute */
    assert_rejected("sipurageneri");        /* 12 letters */
}

static void test_reject_spaces(void **state)
{
    (void)state;
    assert_rejected(" 0004f2abcdef");
    assert_rejected("0004f2abcdef ");
    assert_rejected(" 0004f2abcde");         /* 12 chars incl. space */
    assert_rejected("0004f2abcde ");
    assert_rejected("\t0004f2abcdef");
    assert_rejected("0004f2abcdef\n");
    assert_rejected(" 00:04:f2:ab:cd:ef");
    assert_rejected("00:04:f2:ab:cd:ef ");
    assert_rejected(" 0004.f2ab.cdef");
    assert_rejected("0004.f2ab.cdef\r");
}

static void test_reject_embedded_nul(void **state)
{
    (void)state;
    /* LEN counts the NUL, so the NUL is part of the input */
    assert_rejected_len("0004f2abcdef\0", 13);
    assert_rejected_len("0004f2abcde\0", 12);
    assert_rejected_len("0004f2\0bcdef", 12);
    assert_rejected_len("\0" "004f2abcdef", 12);
    assert_rejected_len("00:04:f2:ab:cd:e\0", 17);
    assert_rejected_len("00:04:f2\0ab:cd:ef", 17);
    assert_rejected_len("00:04:f2:ab:cd:ef\0", 18);
    assert_rejected_len("0004.f2ab.cde\0", 14);
    assert_rejected_len("0004\0f2ab.cdef", 14);
}

static void test_reject_null(void **state)
{
    dp_mac_t m;

    (void)state;
    assert_int_equal(dp_mac_parse(NULL, 12, &m), -1);
    assert_int_equal(dp_mac_parse(NULL, 0, &m), -1);
    assert_int_equal(dp_mac_parse("0004f2abcdef", 12, NULL), -1);
    assert_int_equal(dp_mac_parse("", 0, &m), -1);
}

static void test_format_normal_form(void **state)
{
    dp_mac_t m;
    char out[DP_MAC_STRLEN + 2];

    (void)state;
    memset(out, 'X', sizeof(out));
    assert_int_equal(parse("00:04:F2:AB:CD:EF", &m), 0);
    dp_mac_format(&m, out);
    assert_string_equal(out, "0004f2abcdef");
    assert_int_equal(out[DP_MAC_STRLEN], '\0');
    assert_int_equal(out[DP_MAC_STRLEN + 1], 'X');   /* no overrun */
    assert_int_equal(strlen(out), DP_MAC_STRLEN);

    {
        dp_mac_t ff = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
        dp_mac_t z = { { 0 } };
        dp_mac_t mixed = { { 0x0a, 0xb0, 0x09, 0x90, 0xc1, 0x1c } };
        dp_mac_format(&ff, out);
        assert_string_equal(out, "ffffffffffff");
        dp_mac_format(&z, out);
        assert_string_equal(out, "000000000000");
        dp_mac_format(&mixed, out);
        assert_string_equal(out, "0ab00990c11c");
    }
}

static void test_round_trip(void **state)
{
    static const char *const forms[] = {
        "0004F2ABCDEF", "00:04:f2:ab:cd:ef", "00-04-F2-AB-CD-EF",
        "0004.f2ab.cdef", "0004f2abcdef",
    };
    size_t i;
    unsigned v;

    (void)state;
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        dp_mac_t m, m2;
        char out[DP_MAC_STRLEN + 1];
        assert_int_equal(parse(forms[i], &m), 0);
        dp_mac_format(&m, out);
        assert_string_equal(out, "0004f2abcdef");
        assert_int_equal(parse(out, &m2), 0);
        assert_memory_equal(m.b, m2.b, DP_MAC_LEN);
    }
    /* every byte value survives format -> parse */
    for (v = 0; v < 256; v++) {
        dp_mac_t m, m2;
        char out[DP_MAC_STRLEN + 1];
        size_t k;
        for (k = 0; k < DP_MAC_LEN; k++)
            m.b[k] = (unsigned char)(v + 37 * k);
        dp_mac_format(&m, out);
        assert_int_equal(dp_mac_parse(out, DP_MAC_STRLEN, &m2), 0);
        assert_memory_equal(m.b, m2.b, DP_MAC_LEN);
    }
}

static int unicast(const char *s)
{
    dp_mac_t m;

    if (parse(s, &m) != 0)
        fail_msg("'%s' should parse", s);
    return dp_mac_is_unicast(&m);
}

static void test_is_unicast(void **state)
{
    (void)state;
    assert_true(unicast("0004f2abcdef"));
    assert_true(unicast("000e08abcdef"));
    assert_true(unicast("001565000062"));
    assert_true(unicast("000000000001"));      /* only the last bit set */
    assert_true(unicast("020000000000"));      /* locally administered */
    assert_true(unicast("feffffffffff"));      /* group bit clear */
    assert_false(unicast("000000000000"));     /* Polycom master config */
    assert_false(unicast("ffffffffffff"));     /* broadcast */
    assert_false(unicast("01005e000001"));     /* IPv4 multicast */
    assert_false(unicast("01005e7ffffa"));
    assert_false(unicast("333300000001"));     /* IPv6 multicast */
    assert_false(unicast("0180c2000000"));     /* STP */
    assert_false(unicast("010000000000"));
}

static void test_to_u64(void **state)
{
    dp_mac_t m;

    (void)state;
    assert_int_equal(parse("0004f2abcdef", &m), 0);
    assert_true(dp_mac_to_u64(&m) == UINT64_C(0x0004f2abcdef));
    assert_int_equal(parse("ffffffffffff", &m), 0);
    assert_true(dp_mac_to_u64(&m) == UINT64_C(0xffffffffffff));
    assert_int_equal(parse("000000000000", &m), 0);
    assert_true(dp_mac_to_u64(&m) == 0);
    assert_int_equal(parse("010203040506", &m), 0);
    assert_true(dp_mac_to_u64(&m) == UINT64_C(0x010203040506));
    /* big-endian order: the first byte is the most significant */
    {
        dp_mac_t a, b;
        assert_int_equal(parse("000000000001", &a), 0);
        assert_int_equal(parse("010000000000", &b), 0);
        assert_true(dp_mac_to_u64(&a) < dp_mac_to_u64(&b));
        assert_true(dp_mac_to_u64(&b) == UINT64_C(1) << 40);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain_hex),
        cmocka_unit_test(test_parse_colon_dash),
        cmocka_unit_test(test_parse_cisco_dotted),
        cmocka_unit_test(test_parse_only_len_bytes_are_read),
        cmocka_unit_test(test_reject_mixed_separators),
        cmocka_unit_test(test_reject_wrong_lengths),
        cmocka_unit_test(test_reject_non_hex),
        cmocka_unit_test(test_reject_spaces),
        cmocka_unit_test(test_reject_embedded_nul),
        cmocka_unit_test(test_reject_null),
        cmocka_unit_test(test_format_normal_form),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_is_unicast),
        cmocka_unit_test(test_to_u64),
    };
    return cmocka_run_group_tests_name("dp_mac", tests, NULL, NULL);
}
