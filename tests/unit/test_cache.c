/* test_cache.c - the generic bounded cache behind dp_idcache and dp_lcache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_cache.h"

/* a value that owns memory, as dp_lcache's answers do */
typedef struct {
    char *text;
    int n;
} owned_t;

static int released;            /* release calls seen */

static void release_owned(void *value)
{
    owned_t *o = value;

    free(o->text);
    o->text = NULL;
    released++;
}

static owned_t owned(int n)
{
    owned_t o;
    char buf[32];

    snprintf(buf, sizeof(buf), "value %d", n);
    o.text = strdup(buf);
    o.n = n;
    return o;
}

static void test_hit_miss_expiry_replace(void **state)
{
    dp_cache_t *c = dp_cache_new(16, 3, sizeof(int), NULL);
    const unsigned char k1[3] = { 1, 2, 3 }, k2[3] = { 1, 2, 4 };
    int v = 7, *got;

    (void)state;
    assert_non_null(c);
    assert_null(dp_cache_get(c, k1, 0));
    dp_cache_put(c, k1, &v, 100);
    v = 8;
    dp_cache_put(c, k2, &v, 50);
    assert_int_equal(dp_cache_count(c), 2);
    got = dp_cache_get(c, k1, 99);
    assert_non_null(got);
    assert_int_equal(*got, 7);
    assert_int_equal(*(int *)dp_cache_get(c, k2, 49), 8);
    /* NOW at the expiry is expired, and the value is dropped */
    assert_null(dp_cache_get(c, k2, 50));
    assert_int_equal(dp_cache_count(c), 1);
    /* a put for a key it holds replaces the value in place */
    v = 9;
    dp_cache_put(c, k1, &v, 200);
    assert_int_equal(dp_cache_count(c), 1);
    assert_int_equal(*(int *)dp_cache_get(c, k1, 150), 9);
    dp_cache_clear(c);
    assert_int_equal(dp_cache_count(c), 0);
    assert_null(dp_cache_get(c, k1, 0));
    dp_cache_free(c);
}

/* Keys are compared in full, not only the bytes that choose the set. */
static void test_long_keys(void **state)
{
    dp_cache_t *c = dp_cache_new(64, 40, sizeof(int), NULL);
    unsigned char k[40], k2[40];
    int v = 1;

    (void)state;
    memset(k, 0xab, sizeof(k));
    memcpy(k2, k, sizeof(k2));
    k2[39] ^= 1;
    dp_cache_put(c, k, &v, 10);
    assert_null(dp_cache_get(c, k2, 0));
    v = 2;
    dp_cache_put(c, k2, &v, 10);
    assert_int_equal(*(int *)dp_cache_get(c, k, 0), 1);
    assert_int_equal(*(int *)dp_cache_get(c, k2, 0), 2);
    assert_int_equal(dp_cache_count(c), 2);
    dp_cache_free(c);
}

/* One set (4 entries): a full set drops the value expiring first, and
 * every value the cache drops is released exactly once. */
static void test_eviction_and_release(void **state)
{
    dp_cache_t *c = dp_cache_new(DP_CACHE_WAYS, sizeof(uint32_t),
                                 sizeof(owned_t), release_owned);
    const int64_t exp[5] = { 40, 10, 30, 20, 50 };
    owned_t o, *got;
    uint32_t k;

    (void)state;
    released = 0;
    assert_int_equal(dp_cache_capacity(c), DP_CACHE_WAYS);
    for (k = 0; k < 5; k++) {
        o = owned((int)k);
        dp_cache_put(c, &k, &o, exp[k]);
    }
    /* key 1 (expires at 10) made room for key 4 */
    assert_int_equal(released, 1);
    assert_int_equal(dp_cache_count(c), 4);
    k = 1;
    assert_null(dp_cache_get(c, &k, 0));
    for (k = 0; k < 5; k++) {
        if (k == 1)
            continue;
        got = dp_cache_get(c, &k, 0);
        assert_non_null(got);
        assert_int_equal(got->n, (int)k);
        assert_non_null(got->text);
    }
    /* replaced: the old value released */
    k = 0;
    o = owned(100);
    dp_cache_put(c, &k, &o, 60);
    assert_int_equal(released, 2);
    assert_string_equal(((owned_t *)dp_cache_get(c, &k, 0))->text,
                        "value 100");
    /* expired on lookup: released */
    k = 3;
    assert_null(dp_cache_get(c, &k, 20));
    assert_int_equal(released, 3);
    /* cleared: the other three */
    dp_cache_clear(c);
    assert_int_equal(released, 6);
    /* freed: what was put since */
    o = owned(5);
    dp_cache_put(c, &k, &o, 1);
    dp_cache_free(c);
    assert_int_equal(released, 7);
}

/* Many more keys than slots: never more than the capacity held, the
 * newest always there, and every answer the right one. */
static void test_bounded(void **state)
{
    dp_cache_t *c = dp_cache_new(1000, sizeof(uint64_t), sizeof(uint64_t),
                                 NULL);
    size_t cap = dp_cache_capacity(c), hits = 0;
    uint64_t i, *got;

    (void)state;
    assert_int_equal(cap, 1024);
    for (i = 0; i < 100000; i++) {
        uint64_t v = i * 3;
        dp_cache_put(c, &i, &v, (int64_t)(1000 + i));
        assert_true(dp_cache_count(c) <= cap);
    }
    assert_int_equal(dp_cache_count(c), cap);
    for (i = 0; i < 100000; i++) {
        got = dp_cache_get(c, &i, 0);
        if (got != NULL) {
            hits++;
            assert_true(*got == i * 3);
        }
    }
    assert_int_equal(hits, cap);
    i = 99999;
    assert_non_null(dp_cache_get(c, &i, 0));
    dp_cache_free(c);
}

/* Values come back aligned for their type, whatever the key length. */
static void test_value_alignment(void **state)
{
    size_t keylen;

    (void)state;
    for (keylen = 1; keylen <= 17; keylen++) {
        dp_cache_t *c = dp_cache_new(8, keylen, sizeof(max_align_t), NULL);
        unsigned char key[17] = { 0 };
        max_align_t v;
        size_t n;

        memset(&v, 0x5a, sizeof(v));
        for (n = 0; n < 8; n++) {
            void *got;
            key[0] = (unsigned char)n;
            dp_cache_put(c, key, &v, 10);
            got = dp_cache_get(c, key, 0);
            assert_non_null(got);
            assert_int_equal((uintptr_t)got % _Alignof(max_align_t), 0);
            assert_memory_equal(got, &v, sizeof(v));
        }
        dp_cache_free(c);
    }
}

static void test_new_limits(void **state)
{
    dp_cache_t *c;

    (void)state;
    assert_null(dp_cache_new(0, 8, 8, NULL));
    assert_null(dp_cache_new(DP_CACHE_MAX_ENTRIES + 1, 8, 8, NULL));
    assert_null(dp_cache_new(8, 0, 8, NULL));
    assert_null(dp_cache_new(8, 8, 0, NULL));
    assert_null(dp_cache_new(8, SIZE_MAX, 8, NULL));
    c = dp_cache_new(5, 8, 8, NULL);
    assert_int_equal(dp_cache_capacity(c), 8);
    dp_cache_free(c);
    c = dp_cache_new(1, 8, 8, NULL);
    assert_int_equal(dp_cache_capacity(c), DP_CACHE_WAYS);
    dp_cache_free(c);
    dp_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_expiry_replace),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_eviction_and_release),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_value_alignment),
        cmocka_unit_test(test_new_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
