/* test_idcache.c - identities by certificate bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_idcache.h"

static void key_n(unsigned char *key, uint32_t n)
{
    uint32_t i, x = n * 2654435761u + 1;

    for (i = 0; i < DP_IDCACHE_KEYLEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        key[i] = (unsigned char)x;
    }
}

static dp_identity_t device(unsigned char last)
{
    dp_identity_t id;

    memset(&id, 0, sizeof(id));
    id.status = DP_ST_DEVICE;
    id.mac.b[2] = 0xf2;
    id.mac.b[5] = last;
    id.time = DP_TIME_EXPIRED;
    snprintf(id.reason, sizeof(id.reason), "r%u", last);
    return id;
}

static void test_hit_miss_expiry(void **state)
{
    dp_idcache_t *c = dp_idcache_new(8);
    unsigned char k1[DP_IDCACHE_KEYLEN], k2[DP_IDCACHE_KEYLEN];
    dp_identity_t a = device(1), got;

    (void)state;
    key_n(k1, 1);
    key_n(k2, 2);
    assert_int_equal(dp_idcache_get(c, k1, 0, &got), 0);
    dp_idcache_put(c, k1, &a, 100);
    assert_int_equal(dp_idcache_get(c, k1, 99, &got), 1);
    assert_memory_equal(&got, &a, sizeof(a));
    /* one byte of the key differs: another certificate */
    memcpy(k2, k1, sizeof(k2));
    k2[31] ^= 1;
    assert_int_equal(dp_idcache_get(c, k2, 0, &got), 0);
    /* expired */
    assert_int_equal(dp_idcache_get(c, k1, 100, &got), 0);
    assert_int_equal(dp_idcache_count(c), 0);
    /* replaced in place */
    dp_idcache_put(c, k1, &a, 10);
    a = device(2);
    dp_idcache_put(c, k1, &a, 20);
    assert_int_equal(dp_idcache_count(c), 1);
    assert_int_equal(dp_idcache_get(c, k1, 15, &got), 1);
    assert_int_equal(got.mac.b[5], 2);
    dp_idcache_free(c);
}

static void test_bounded_and_right(void **state)
{
    dp_idcache_t *c = dp_idcache_new(64);
    unsigned char k[DP_IDCACHE_KEYLEN];
    dp_identity_t got;
    uint32_t n, hits = 0;

    (void)state;
    for (n = 0; n < 10000; n++) {
        dp_identity_t id = device((unsigned char)n);
        key_n(k, n);
        dp_idcache_put(c, k, &id, 1000 + n);
        assert_true(dp_idcache_count(c) <= 64);
    }
    for (n = 0; n < 10000; n++) {
        key_n(k, n);
        if (dp_idcache_get(c, k, 0, &got)) {
            hits++;
            assert_int_equal(got.mac.b[5], (unsigned char)n);
        }
    }
    assert_int_equal(hits, 64);
    dp_idcache_free(c);
    assert_null(dp_idcache_new(0));
    assert_null(dp_idcache_new(((size_t)1 << 24) + 1));
    dp_idcache_free(NULL);
}

/* A session's certificate key comes back for its full secret only:
 * another secret, one differing in its last byte (past the 8 bytes that
 * choose the set), or a secret of another length finds nothing. */
static void test_session_keys(void **state)
{
    dp_sesskeys_t *c = dp_sesskeys_new(16);
    unsigned char secret[DP_SESSKEY_SECRETLEN], other[DP_SESSKEY_SECRETLEN];
    unsigned char key[DP_IDCACHE_KEYLEN], got[DP_IDCACHE_KEYLEN];

    (void)state;
    assert_non_null(c);
    memset(secret, 0x5a, sizeof(secret));
    key_n(key, 7);
    assert_int_equal(dp_sesskeys_get(c, secret, sizeof(secret), 0, got), 0);
    dp_sesskeys_put(c, secret, sizeof(secret), key, 100);
    memset(got, 0, sizeof(got));
    assert_int_equal(dp_sesskeys_get(c, secret, sizeof(secret), 99, got), 1);
    assert_memory_equal(got, key, sizeof(key));
    memcpy(other, secret, sizeof(other));
    other[DP_SESSKEY_SECRETLEN - 1] ^= 1;
    assert_int_equal(dp_sesskeys_get(c, other, sizeof(other), 99, got), 0);
    /* a shorter secret (its first bytes the same) is not the session's */
    assert_int_equal(dp_sesskeys_get(c, secret, 32, 99, got), 0);
    dp_sesskeys_put(c, other, 32, key, 100);
    assert_int_equal(dp_sesskeys_get(c, other, 32, 99, got), 0);
    /* expired */
    assert_int_equal(dp_sesskeys_get(c, secret, sizeof(secret), 100, got), 0);
    dp_sesskeys_free(c);
    dp_sesskeys_free(NULL);
    assert_null(dp_sesskeys_new(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_expiry),
        cmocka_unit_test(test_bounded_and_right),
        cmocka_unit_test(test_session_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
