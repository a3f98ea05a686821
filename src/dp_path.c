/* dp_path.c - does a request path name another phone's per-MAC file? */
#include <stdlib.h>
#include <string.h>

#include "dp_hex.h"
#include "dp_path.h"

#define DECODE_ROUNDS 4         /* %253030 -> %3030 -> 030 ... */

/* Every byte of every request's path is classified: by a table, in
 * about four instructions, where the comparisons took twenty. */
enum { HEX = 1, SEP = 2 };
static const unsigned char mac_class[256] = {
    ['0'] = HEX, ['1'] = HEX, ['2'] = HEX, ['3'] = HEX, ['4'] = HEX,
    ['5'] = HEX, ['6'] = HEX, ['7'] = HEX, ['8'] = HEX, ['9'] = HEX,
    ['a'] = HEX, ['b'] = HEX, ['c'] = HEX, ['d'] = HEX, ['e'] = HEX,
    ['f'] = HEX, ['A'] = HEX, ['B'] = HEX, ['C'] = HEX, ['D'] = HEX,
    ['E'] = HEX, ['F'] = HEX, [':'] = SEP, ['-'] = SEP, ['.'] = SEP,
};

static int is_hex(char c)
{
    return mac_class[(unsigned char)c] & HEX;
}

static int is_mac_char(char c)
{
    return mac_class[(unsigned char)c] != 0;
}

static int same(const dp_mac_t *a, const dp_mac_t *b)
{
    return b != NULL && memcmp(a->b, b->b, DP_MAC_LEN) == 0;
}

/* 1 if M is a MAC that OWN may not ask for. */
static int foreign(const dp_mac_t *m, const dp_mac_t *own, dp_mac_t *found)
{
    if (!dp_mac_is_unicast(m) || same(m, own))
        return 0;
    if (found != NULL)
        *found = *m;
    return 1;
}

/* A maximal run of hex digits S[0..n). */
static int check_hex_run(const char *s, size_t n, const dp_mac_t *own,
                         dp_mac_t *found)
{
    dp_mac_t m;
    size_t i;

    if (n < DP_MAC_STRLEN)
        return 0;
    if (n > DP_MAC_STRLEN && n < 2 * DP_MAC_STRLEN && own != NULL) {
        for (i = 0; i + DP_MAC_STRLEN <= n; i++)
            if (dp_mac_parse(s + i, DP_MAC_STRLEN, &m) == 0 && same(&m, own))
                return 0;
    }
    for (i = 0; i + DP_MAC_STRLEN <= n; i++)
        if (dp_mac_parse(s + i, DP_MAC_STRLEN, &m) == 0 &&
            foreign(&m, own, found))
            return 1;
    return 0;
}

/* A maximal run of hex digits and separators S[0..n). */
static int check_run(const char *s, size_t n, const dp_mac_t *own,
                     dp_mac_t *found)
{
    static const size_t sep_lens[] = { 17, 14 };
    dp_mac_t m;
    size_t i, j, k;

    /* separated forms at every position */
    for (k = 0; k < sizeof(sep_lens) / sizeof(sep_lens[0]); k++)
        for (i = 0; i + sep_lens[k] <= n; i++)
            if (dp_mac_parse(s + i, sep_lens[k], &m) == 0 &&
                foreign(&m, own, found))
                return 1;
    /* plain hex digits */
    for (i = 0; i < n; i = j) {
        for (; i < n && !is_hex(s[i]); i++)
            ;
        for (j = i; j < n && is_hex(s[j]); j++)
            ;
        if (j > i && check_hex_run(s + i, j - i, own, found))
            return 1;
    }
    return 0;
}

static int check_plain(const char *s, size_t n, const dp_mac_t *own,
                       dp_mac_t *found)
{
    size_t i, j;

    for (i = 0; i < n; i = j) {
        for (; i < n && !is_mac_char(s[i]); i++)
            ;
        for (j = i; j < n && is_mac_char(s[j]); j++)
            ;
        /* a shorter run holds no MAC in any form */
        if (j - i >= DP_MAC_STRLEN && check_run(s + i, j - i, own, found))
            return 1;
    }
    return 0;
}

/* Decode valid %XX sequences of S[0..n) into OUT; returns the new length
 * and sets *changed. */
static size_t decode(const char *s, size_t n, char *out, int *changed)
{
    size_t i, o = 0;

    *changed = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n &&
            dp_hexval(s[i + 1]) >= 0 && dp_hexval(s[i + 2]) >= 0) {
            out[o++] = (char)((dp_hexval(s[i + 1]) << 4) | dp_hexval(s[i + 2]));
            i += 2;
            *changed = 1;
        }
        else {
            out[o++] = s[i];
        }
    }
    return o;
}

int dp_path_check(const char *path, size_t len, const dp_mac_t *own,
                  dp_mac_t *found)
{
    char *buf[DECODE_ROUNDS + 1], *all;
    size_t n[DECODE_ROUNDS + 1];
    const char *q;
    int i, last = 0, changed, ret = 0;

    if (path == NULL)
        return 0;
    q = memchr(path, '?', len);
    if (q != NULL)
        len = (size_t)(q - path);
    /* nothing to decode (every phone's path): the path as given is the
     * only form, checked in place */
    if (memchr(path, '%', len) == NULL)
        return check_plain(path, len, own, found);
    /* buf[0] is the path as given, buf[i] after i rounds of decoding
     * (none is longer than the path) */
    all = malloc((DECODE_ROUNDS + 1) * (len + 1));
    if (all == NULL)
        return -1;
    for (i = 0; i <= DECODE_ROUNDS; i++)
        buf[i] = all + (size_t)i * (len + 1);
    memcpy(buf[0], path, len);
    n[0] = len;
    for (i = 1; i <= DECODE_ROUNDS; i++) {
        n[i] = decode(buf[i - 1], n[i - 1], buf[i], &changed);
        if (!changed)
            break;
        last = i;
    }
    /* still %-encoded after every round: no phone sends that, and
     * something behind the server that decodes once more could find a
     * MAC no round here saw; refused (fail closed) */
    if (last == DECODE_ROUNDS) {
        n[0] = decode(buf[DECODE_ROUNDS], n[DECODE_ROUNDS], buf[0], &changed);
        if (changed) {
            ret = DP_PATH_TOO_DEEP;
            goto done;
        }
        n[0] = len;
        memcpy(buf[0], path, len);
    }
    /* the most decoded form first: it reports the MAC the way a server
     * sees it ("%30004f2..." is 0004f2..., not 30004f...) */
    for (i = last; i >= 0; i--)
        if (check_plain(buf[i], n[i], own, found)) {
            ret = 1;
            break;
        }
done:
    free(all);
    return ret;
}
