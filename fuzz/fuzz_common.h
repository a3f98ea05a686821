/* fuzz_common.h - helpers shared by the libFuzzer targets in fuzz/.
 *
 * Every target defines LLVMFuzzerTestOneInput().  An invariant violation
 * calls FUZZ_CHECK's abort() so that libFuzzer (or the standalone replay
 * driver, fuzz/replay_main.c) reports it with the input that caused it.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_mac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

static inline int fz_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline int fz_mac_eq(const dp_mac_t *a, const dp_mac_t *b)
{
    return memcmp(a->b, b->b, DP_MAC_LEN) == 0;
}

/* Independent unicast test: not all-zero, group bit clear. */
static inline int fz_unicast(const dp_mac_t *m)
{
    static const unsigned char zero[DP_MAC_LEN];

    return memcmp(m->b, zero, DP_MAC_LEN) != 0 && (m->b[0] & 1) == 0;
}

/* MAC invariants shared by all targets: the normal form is 12 lower-case
 * hex digits, and every written form parses back to the same MAC. */
static inline void fz_check_mac_roundtrip(const dp_mac_t *m)
{
    char s[DP_MAC_STRLEN + 1], t[32];
    dp_mac_t back;
    size_t i;
    uint64_t u = 0;

    memset(s, 'X', sizeof(s));
    dp_mac_format(m, s);
    FUZZ_CHECK(s[DP_MAC_STRLEN] == '\0');
    for (i = 0; i < DP_MAC_STRLEN; i++)
        FUZZ_CHECK((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
    FUZZ_CHECK(dp_mac_parse(s, DP_MAC_STRLEN, &back) == 0);
    FUZZ_CHECK(fz_mac_eq(&back, m));
    for (i = 0; i < DP_MAC_LEN; i++)
        u = (u << 8) | m->b[i];
    FUZZ_CHECK(dp_mac_to_u64(m) == u);
    FUZZ_CHECK(dp_mac_is_unicast(m) == fz_unicast(m));

    snprintf(t, sizeof(t), "%02X:%02X:%02X:%02X:%02X:%02X", m->b[0], m->b[1],
             m->b[2], m->b[3], m->b[4], m->b[5]);
    FUZZ_CHECK(dp_mac_parse(t, 17, &back) == 0 && fz_mac_eq(&back, m));
    snprintf(t, sizeof(t), "%02x-%02x-%02X-%02x-%02X-%02x", m->b[0], m->b[1],
             m->b[2], m->b[3], m->b[4], m->b[5]);
    FUZZ_CHECK(dp_mac_parse(t, 17, &back) == 0 && fz_mac_eq(&back, m));
    snprintf(t, sizeof(t), "%02x%02X.%02x%02x.%02X%02x", m->b[0], m->b[1],
             m->b[2], m->b[3], m->b[4], m->b[5]);
    FUZZ_CHECK(dp_mac_parse(t, 14, &back) == 0 && fz_mac_eq(&back, m));
    /* mixed separators are not a MAC */
    snprintf(t, sizeof(t), "%02x:%02x-%02x:%02x:%02x:%02x", m->b[0], m->b[1],
             m->b[2], m->b[3], m->b[4], m->b[5]);
    FUZZ_CHECK(dp_mac_parse(t, 17, &back) != 0);
}

/* Independent MAC parser (the spec of dp_mac_parse in dp_mac.h), used to
 * cross-check it: 12 hex digits, 6 pairs joined by one of ':' '-', or 3
 * quads joined by '.'. */
static inline int fz_mac_parse(const char *s, size_t len, dp_mac_t *out)
{
    char d[DP_MAC_STRLEN];
    size_t i, nd = 0, group;
    char sep;

    if (len == 12) {
        group = 12;
        sep = 0;
    }
    else if (len == 17 && (s[2] == ':' || s[2] == '-')) {
        group = 2;
        sep = s[2];
    }
    else if (len == 14) {
        group = 4;
        sep = '.';
    }
    else
        return -1;
    for (i = 0; i < len; i++) {
        if (group != 12 && i % (group + 1) == group) {
            if (s[i] != sep)
                return -1;
            continue;
        }
        if (fz_hexval((unsigned char)s[i]) < 0)
            return -1;
        d[nd++] = s[i];
    }
    if (nd != DP_MAC_STRLEN)
        return -1;
    for (i = 0; i < DP_MAC_LEN; i++)
        out->b[i] = (unsigned char)(fz_hexval((unsigned char)d[2 * i]) << 4
                                    | fz_hexval((unsigned char)d[2 * i + 1]));
    return 0;
}

/* dp_mac_parse must agree with the spec on S[0..LEN). */
static inline int fz_mac_parse_checked(const char *s, size_t len,
                                       dp_mac_t *out)
{
    dp_mac_t a, b;
    int ra = dp_mac_parse(s, len, &a), rb = fz_mac_parse(s, len, &b);

    FUZZ_CHECK(ra == rb);
    if (ra == 0) {
        FUZZ_CHECK(fz_mac_eq(&a, &b));
        if (out != NULL)
            *out = a;
    }
    return ra;
}

/* The allowlist format's rules (src/dp_allowlist.h), read independently:
 * a value is 0..DP_AL_VALUE_MAX characters of A-Z a-z 0-9 . _ : @ / + -
 * (callers that need one character check N themselves); a key 1..32 of
 * a-z 0-9 _ starting with a letter. */
static inline int fz_value_ok(const char *v, size_t n, size_t max)
{
    size_t i;

    if (n > max)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || (c && strchr("._:@/+-", c))))
            return 0;
    }
    return 1;
}

static inline int fz_key_ok(const char *k, size_t n, size_t max)
{
    size_t i;

    if (n < 1 || n > max || !(k[0] >= 'a' && k[0] <= 'z'))
        return 0;
    for (i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9')
              || k[i] == '_'))
            return 0;
    return 1;
}

#endif
