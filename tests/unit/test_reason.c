/* test_reason.c - dp_reason: the table of reasons is complete and
 * unambiguous, and the texts it writes read back to their codes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_reason.h"

static void test_every_reason_has_an_entry(void **state)
{
    unsigned i;

    (void)state;
    for (i = DP_REASON_NONE + 1; i < DP_REASON_COUNT; i++) {
        const dp_reason_info_t *e = dp_reason_info((dp_reason_t)i);
        const dp_reason_info_t *b;

        assert_non_null(e->text);
        if (e->text[0] == '\0')
            fail_msg("reason %u has no text", i);
        assert_non_null(e->log);
        if (e->log[0] == '\0')
            fail_msg("reason %u has no log wording", i);
        assert_non_null(dp_reason_counter((dp_reason_t)i));
        if (dp_reason_counter((dp_reason_t)i)[0] == '\0')
            fail_msg("reason %u has no counter name", i);
        /* counted in a bucket row, which counts itself */
        assert_true(e->counted_as > DP_REASON_NONE
                    && e->counted_as <= (dp_reason_t)DP_REASON_BUCKETS);
        b = dp_reason_info(e->counted_as);
        assert_int_equal(b->counted_as, e->counted_as);
        assert_non_null(b->reason_counter);
        assert_non_null(b->denied_counter);
        assert_int_equal(dp_reason_bucket((dp_reason_t)i),
                         (int)e->counted_as - 1);
        if (i <= DP_REASON_BUCKETS) {
            /* the first DP_REASON_BUCKETS rows are the buckets, in the
             * counters' order; only they name counters */
            assert_int_equal(e->counted_as, i);
            assert_non_null(e->counter);
        }
        else {
            assert_null(e->counter);
            assert_null(e->reason_counter);
            assert_null(e->denied_counter);
        }
        /* a text with details ends in the separator before them */
        if (e->detail)
            assert_non_null(strchr(" (", e->text[strlen(e->text) - 1]));
    }
}

static void test_none(void **state)
{
    const dp_reason_info_t *e = dp_reason_info(DP_REASON_NONE);

    (void)state;
    assert_string_equal(e->text, "");
    assert_string_equal(e->log, "not a device");
    assert_null(dp_reason_counter(DP_REASON_NONE));
    assert_int_equal(dp_reason_bucket(DP_REASON_NONE), -1);
    /* out of range: taken as an internal error, never NULL */
    assert_ptr_equal(dp_reason_info(DP_REASON_COUNT),
                     dp_reason_info(DP_REASON_INTERNAL));
    assert_ptr_equal(dp_reason_info((dp_reason_t)-1),
                     dp_reason_info(DP_REASON_INTERNAL));
}

/* Texts unique, none the start of another (so that a DEVICE_REASON reads
 * back to one code), counter names unique and [a-z_] */
static void test_unique(void **state)
{
    unsigned i, j;

    (void)state;
    for (i = DP_REASON_NONE + 1; i < DP_REASON_COUNT; i++) {
        const dp_reason_info_t *a = dp_reason_info((dp_reason_t)i);

        for (j = DP_REASON_NONE + 1; j < DP_REASON_COUNT; j++) {
            const dp_reason_info_t *b = dp_reason_info((dp_reason_t)j);

            if (i == j)
                continue;
            if (strncmp(a->text, b->text, strlen(a->text)) == 0)
                fail_msg("reason %u's text \"%s\" starts reason %u's \"%s\"",
                         i, a->text, j, b->text);
            if (a->counter != NULL && b->counter != NULL)
                assert_string_not_equal(a->counter, b->counter);
        }
        if (a->counter != NULL) {
            char want[64];

            assert_int_equal(strspn(a->counter,
                                    "abcdefghijklmnopqrstuvwxyz_"),
                             strlen(a->counter));
            snprintf(want, sizeof(want), "reason_%s", a->counter);
            assert_string_equal(a->reason_counter, want);
            snprintf(want, sizeof(want), "denied_%s", a->counter);
            assert_string_equal(a->denied_counter, want);
        }
    }
}

/* The reasons that share a counter, and the buckets at both ends */
static void test_counters(void **state)
{
    (void)state;
    assert_string_equal(dp_reason_counter(DP_REASON_UNREADABLE),
                        "not_verified");
    assert_string_equal(dp_reason_counter(DP_REASON_AMBIGUOUS_MAC),
                        "no_mac");
    assert_string_equal(dp_reason_counter(DP_REASON_BAD_SUBJECT), "no_mac");
    assert_string_equal(dp_reason_counter(DP_REASON_SQL_NOT_CHECKED),
                        "db_unavailable");
    assert_string_equal(dp_reason_counter(DP_REASON_INTERNAL), "other");
    assert_int_equal(dp_reason_bucket(DP_REASON_NO_CERT), 0);
    assert_int_equal(dp_reason_bucket(DP_REASON_INTERNAL),
                     DP_REASON_BUCKETS - 1);
}

static void test_format(void **state)
{
    char buf[DP_REASON_MAX];

    (void)state;
    assert_int_equal(dp_reason_format(buf, sizeof(buf), DP_REASON_UNLISTED,
                                      NULL), DP_REASON_UNLISTED);
    assert_string_equal(buf, "not in allowlist");
    /* details only where the reason has them */
    dp_reason_format(buf, sizeof(buf), DP_REASON_UNLISTED, "%s", "!");
    assert_string_equal(buf, "not in allowlist");
    dp_reason_format(buf, sizeof(buf), DP_REASON_VENDOR_MISMATCH,
                     "%s, certificate from %s", "yealink", "polycom");
    assert_string_equal(buf, "allowlisted for vendor yealink, certificate "
                        "from polycom");
    dp_reason_format(buf, sizeof(buf), DP_REASON_NONE, NULL);
    assert_string_equal(buf, "");
    /* cut to fit, NUL-terminated, text and details alike */
    dp_reason_format(buf, 8, DP_REASON_UNLISTED, NULL);
    assert_string_equal(buf, "not in ");
    dp_reason_format(buf, 26, DP_REASON_VENDOR_MISMATCH, "%s", "yealink");
    assert_string_equal(buf, "allowlisted for vendor ye");
    dp_reason_format(buf, 10, DP_REASON_VENDOR_MISMATCH, "%s", "yealink");
    assert_string_equal(buf, "allowlist");
    buf[0] = 'x';
    dp_reason_format(buf, 0, DP_REASON_UNLISTED, NULL);
    assert_int_equal(buf[0], 'x');
}

/* Every code's text, with a detail where it takes one, reads back to the
 * code; other texts to none of them */
static void test_parse(void **state)
{
    char buf[DP_REASON_MAX];
    unsigned i;

    (void)state;
    for (i = DP_REASON_NONE + 1; i < DP_REASON_COUNT; i++) {
        dp_reason_format(buf, sizeof(buf), (dp_reason_t)i, "%s", "x");
        assert_int_equal(dp_reason_parse(buf), (int)i);
        /* a detailed reason's bare start is not that reason */
        if (dp_reason_info((dp_reason_t)i)->detail)
            assert_int_equal(dp_reason_parse(
                                 dp_reason_info((dp_reason_t)i)->text), -1);
    }
    assert_int_equal(dp_reason_parse(NULL), DP_REASON_NONE);
    assert_int_equal(dp_reason_parse(""), DP_REASON_NONE);
    assert_int_equal(dp_reason_parse("not in allowlist "), -1);
    assert_int_equal(dp_reason_parse("not a device"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reason_has_an_entry),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
