/* test_lcache.c - the bounded cache of allowlist answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_lcache.h"

static dp_mac_t mac_n(uint64_t n)
{
    dp_mac_t m;
    int i;

    for (i = 0; i < DP_MAC_LEN; i++)
        m.b[i] = (unsigned char)(n >> (8 * (DP_MAC_LEN - 1 - i)));
    return m;
}

static const char REC[] = "desk-1\0site=hq\0pin=sha256:00\0";

static dp_entry_t rec_entry(void)
{
    dp_entry_t e = { REC, REC + 7 };
    return e;
}

static void test_hit_miss_expiry(void **state)
{
    dp_lcache_t *c = dp_lcache_new(16);
    dp_mac_t a = mac_n(0x0004f2000001), b = mac_n(0x0004f2000002);
    dp_entry_t e = rec_entry(), got;
    char buf[128];

    (void)state;
    assert_non_null(c);
    assert_int_equal(dp_lcache_get(c, &a, 0, buf, sizeof(buf), &got), -1);
    assert_int_equal(dp_lcache_put(c, &a, &e, 100), 0);
    assert_int_equal(dp_lcache_put(c, &b, NULL, 50), 0);
    assert_int_equal(dp_lcache_count(c), 2);

    /* listed, with the entry's text copied out */
    memset(&got, 0, sizeof(got));
    assert_int_equal(dp_lcache_get(c, &a, 99, buf, sizeof(buf), &got), 1);
    assert_string_equal(got.label, "desk-1");
    assert_string_equal(dp_entry_attr(&got, "site"), "hq");
    assert_string_equal(dp_entry_attr(&got, "pin"), "sha256:00");
    assert_ptr_equal(got.label, buf);

    /* not listed is an answer too */
    assert_int_equal(dp_lcache_get(c, &b, 49, buf, sizeof(buf), &got), 0);

    /* expired answers are gone */
    assert_int_equal(dp_lcache_get(c, &b, 50, buf, sizeof(buf), &got), -1);
    assert_int_equal(dp_lcache_get(c, &a, 100, buf, sizeof(buf), &got), -1);
    assert_int_equal(dp_lcache_count(c), 0);
    dp_lcache_free(c);
}

static void test_replace_and_small_buffer(void **state)
{
    dp_lcache_t *c = dp_lcache_new(4);
    dp_mac_t a = mac_n(0x0004f2abcdef);
    dp_entry_t e = rec_entry(), got;
    char buf[128];

    (void)state;
    assert_int_equal(dp_lcache_put(c, &a, &e, 100), 0);
    assert_int_equal(dp_lcache_put(c, &a, NULL, 200), 0);
    assert_int_equal(dp_lcache_count(c), 1);
    assert_int_equal(dp_lcache_get(c, &a, 150, buf, sizeof(buf), &got), 0);
    assert_int_equal(dp_lcache_put(c, &a, &e, 300), 0);
    /* a buffer too small for the entry is a miss, never a truncation */
    assert_int_equal(dp_lcache_get(c, &a, 0, buf, 8, &got), -1);
    assert_int_equal(dp_lcache_get(c, &a, 0, buf, sizeof(buf), &got), 1);
    dp_lcache_clear(c);
    assert_int_equal(dp_lcache_count(c), 0);
    assert_int_equal(dp_lcache_get(c, &a, 0, buf, sizeof(buf), &got), -1);
    dp_lcache_free(c);
}

/* However many answers go in, the cache holds at most its capacity, and
 * what it answers is always right. */
static void test_bounded(void **state)
{
    dp_lcache_t *c = dp_lcache_new(1000);
    dp_entry_t e = rec_entry(), got;
    char buf[128];
    size_t cap, hits = 0;
    uint64_t i;

    (void)state;
    cap = dp_lcache_capacity(c);
    assert_true(cap >= 1000 && cap < 4000);
    for (i = 0; i < 100000; i++) {
        dp_mac_t m = mac_n(0x0004f2000000 + i);
        assert_int_equal(dp_lcache_put(c, &m, (i & 1) ? NULL : &e,
                                       (int64_t)(1000 + i)), 0);
        assert_true(dp_lcache_count(c) <= cap);
    }
    assert_int_equal(dp_lcache_count(c), cap);
    for (i = 0; i < 100000; i++) {
        dp_mac_t m = mac_n(0x0004f2000000 + i);
        int rc = dp_lcache_get(c, &m, 0, buf, sizeof(buf), &got);
        if (rc >= 0) {
            hits++;
            assert_int_equal(rc, (i & 1) ? 0 : 1);
        }
    }
    /* a full set drops the answer expiring first: the newest stay */
    assert_int_equal(hits, cap);
    {
        dp_mac_t last = mac_n(0x0004f2000000 + 99999);
        assert_int_equal(dp_lcache_get(c, &last, 0, buf, sizeof(buf), &got),
                         0);
    }
    dp_lcache_free(c);
}

static void test_new_limits(void **state)
{
    (void)state;
    assert_null(dp_lcache_new(0));
    dp_lcache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_expiry),
        cmocka_unit_test(test_replace_and_small_buffer),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_new_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
