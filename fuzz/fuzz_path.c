/* fuzz_path.c - libFuzzer target for dp_path_check (DevprovBindPath).
 *
 * Input: a request path (bytes as sent, query string included).
 *
 * Invariants, checked against an independent oracle written from the
 * specification in src/dp_path.h:
 *   - a path that a 5th round would still decode is refused as too deep
 *     (DP_PATH_TOO_DEEP), whatever it names;
 *   - otherwise the answer is exactly "some decoding (0..4 rounds of %XX
 *     decoding, after cutting at the first '?') contains a foreign unicast
 *     MAC",
 *     where a 12-hex-digit window in a run of 13..23 hex digits that also
 *     contains OWN is not foreign;
 *   - a reported MAC is unicast, not OWN, one of those foreign MACs, and
 *     comes from the most decoded form that has any;
 *   - passing FOUND == NULL gives the same answer;
 *   - OWN's own per-MAC file is accepted, in every written form.
 * Checked for OWN = NULL, a fixed Polycom MAC and the MAC reported for
 * OWN = NULL (the device asking for "its own" file).
 */
#include "fuzz_common.h"
#include "dp_path.h"

#define ROUNDS 4
#define MAXPATH 8192

/* One round of %XX decoding; returns 1 if anything was decoded. */
static int oracle_decode(const unsigned char *s, size_t n, unsigned char *out,
                         size_t *on)
{
    size_t i = 0, o = 0;
    int changed = 0;

    while (i < n) {
        if (s[i] == '%' && n - i >= 3 && fz_hexval(s[i + 1]) >= 0
            && fz_hexval(s[i + 2]) >= 0) {
            out[o++] = (unsigned char)(16 * fz_hexval(s[i + 1])
                                       + fz_hexval(s[i + 2]));
            i += 3;
            changed = 1;
        }
        else
            out[o++] = s[i++];
    }
    *on = o;
    return changed;
}

static int is_hex(unsigned char c)
{
    return fz_hexval(c) >= 0;
}

/* A window of a decoding that dp_mac_parse accepts as a unicast MAC, with
 * the maximal run of hex digits around it (for 12-digit windows). */
typedef struct cand {
    dp_mac_t m;
    size_t pos, len, run_a, run_b;
} cand_t;

typedef struct decodings {
    unsigned char *s[ROUNDS + 1];
    size_t n[ROUNDS + 1];
    cand_t *c[ROUNDS + 1];
    size_t nc[ROUNDS + 1];
    int last;
    int deeper;                 /* a 5th round would still decode */
} decodings_t;

/* Every unicast MAC written in S[0..n), in any form, at any position. */
static void find_cands(const unsigned char *s, size_t n, cand_t **out,
                       size_t *nout)
{
    static const size_t lens[] = { 12, 14, 17 };
    size_t i, k, a = 0, cap = 0, nc = 0;
    cand_t *c = NULL;
    dp_mac_t m;

    for (i = 0; i < n; i++) {
        if (!is_hex(s[i])) {
            a = i + 1;                          /* start of the next run */
            continue;
        }
        for (k = 0; k < 3; k++) {
            size_t L = lens[k], b;
            if (i + L > n)
                continue;
            /* every parse is cross-checked against the spec; the cheap
             * pre-test only skips windows that cannot be a MAC */
            if ((L == 12 && !is_hex(s[i + 11]))
                || (L == 14 && s[i + 4] != '.')
                || (L == 17 && s[i + 2] != ':' && s[i + 2] != '-'))
                continue;
            if (fz_mac_parse_checked((const char *)s + i, L, &m) != 0
                || !fz_unicast(&m))
                continue;
            if (nc == cap) {
                cap = cap ? 2 * cap : 16;
                c = realloc(c, cap * sizeof(*c));
                FUZZ_CHECK(c != NULL);
            }
            c[nc].m = m;
            c[nc].pos = i;
            c[nc].len = L;
            c[nc].run_a = a;
            for (b = i + 1; b < n && is_hex(s[b]); b++)
                ;
            c[nc].run_b = b;
            nc++;
        }
    }
    *out = c;
    *nout = nc;
}

/* Is candidate C of S foreign for OWN (per src/dp_path.h)? */
static int cand_foreign(const unsigned char *s, const cand_t *c,
                        const dp_mac_t *own)
{
    size_t w;
    dp_mac_t o;

    if (own != NULL && fz_mac_eq(&c->m, own))
        return 0;
    if (c->len == 12 && own != NULL && c->run_b - c->run_a > 12
        && c->run_b - c->run_a < 24) {
        for (w = c->run_a; w + 12 <= c->run_b; w++)
            if (fz_mac_parse((const char *)s + w, 12, &o) == 0
                && fz_mac_eq(&o, own))
                return 0;                       /* a run holding OWN */
    }
    return 1;
}

/* Foreign MACs in decoding I for OWN; *HIT set if WANT is one of them. */
static int oracle_foreign(const decodings_t *d, int r, const dp_mac_t *own,
                          const dp_mac_t *want, int *hit)
{
    size_t i;
    int any = 0;

    for (i = 0; i < d->nc[r]; i++)
        if (cand_foreign(d->s[r], &d->c[r][i], own)) {
            any = 1;
            if (want != NULL && fz_mac_eq(&d->c[r][i].m, want))
                *hit = 1;
        }
    return any;
}

static void decodings_make(decodings_t *d, const unsigned char *p, size_t len)
{
    const unsigned char *q = memchr(p, '?', len);
    int i;

    if (q != NULL)
        len = (size_t)(q - p);
    memset(d, 0, sizeof(*d));
    d->s[0] = malloc(len + 1);
    FUZZ_CHECK(d->s[0] != NULL);
    memcpy(d->s[0], p, len);
    d->n[0] = len;
    for (i = 1; i <= ROUNDS; i++) {
        d->s[i] = malloc(len + 1);
        FUZZ_CHECK(d->s[i] != NULL);
        if (!oracle_decode(d->s[i - 1], d->n[i - 1], d->s[i], &d->n[i]))
            break;
        d->last = i;
    }
    if (d->last == ROUNDS) {
        unsigned char *t = malloc(d->n[ROUNDS] + 1);
        size_t tn;
        FUZZ_CHECK(t != NULL);
        d->deeper = oracle_decode(d->s[ROUNDS], d->n[ROUNDS], t, &tn);
        free(t);
    }
    for (i = 0; i <= d->last; i++)
        find_cands(d->s[i], d->n[i], &d->c[i], &d->nc[i]);
}

static void decodings_free(decodings_t *d)
{
    int i;

    for (i = 0; i <= ROUNDS; i++) {
        free(d->s[i]);
        free(d->c[i]);
    }
}

/* Returns dp_path_check's answer; the MAC it reported into *OUT. */
static int check_with_own(const uint8_t *data, size_t size,
                          const decodings_t *d, const dp_mac_t *own,
                          int also_null, dp_mac_t *out)
{
    dp_mac_t found, before;
    int ret, expect = 0, i, hit = 0, top = -1;

    memset(&found, 0xa5, sizeof(found));
    before = found;
    ret = dp_path_check((const char *)data, size, own, &found);
    FUZZ_CHECK(ret == 0 || ret == 1 || ret == DP_PATH_TOO_DEEP);
    if (also_null)
        FUZZ_CHECK(dp_path_check((const char *)data, size, own, NULL) == ret);
    /* encoded more deeply than 4 rounds: refused, whatever it names */
    FUZZ_CHECK((ret == DP_PATH_TOO_DEEP) == d->deeper);
    if (d->deeper) {
        FUZZ_CHECK(fz_mac_eq(&found, &before));     /* untouched */
        return DP_PATH_TOO_DEEP;
    }
    for (i = d->last; i >= 0; i--)
        if (oracle_foreign(d, i, own, NULL, NULL)) {
            expect = 1;
            if (top < 0)
                top = i;
        }
    FUZZ_CHECK(ret == expect);
    if (ret == 0) {
        FUZZ_CHECK(fz_mac_eq(&found, &before));     /* untouched */
        return 0;
    }
    FUZZ_CHECK(fz_unicast(&found));
    FUZZ_CHECK(own == NULL || !fz_mac_eq(&found, own));
    fz_check_mac_roundtrip(&found);
    /* reported from the most decoded form that names a foreign MAC */
    oracle_foreign(d, top, own, &found, &hit);
    FUZZ_CHECK(hit);
    if (out != NULL)
        *out = found;
    return 1;
}

/* OWN's own file, in several spellings, must be accepted for OWN. */
static void check_own_files(const dp_mac_t *own)
{
    char p[128], m[DP_MAC_STRLEN + 1];
    const unsigned char *b = own->b;

    dp_mac_format(own, m);
    snprintf(p, sizeof(p), "/%s.cfg", m);
    FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    snprintf(p, sizeof(p), "/phones/%s-phone.cfg?mac=%s", m, "001565000062");
    FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    snprintf(p, sizeof(p), "/spa%02X%02X%02X%02X%02X%02X.xml", b[0], b[1], b[2],
             b[3], b[4], b[5]);
    FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    snprintf(p, sizeof(p), "/y%02x:%02x:%02x:%02x:%02x:%02x.boot", b[0], b[1],
             b[2], b[3], b[4], b[5]);
    FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    {
        size_t i, o = 0;
        o += (size_t)snprintf(p + o, sizeof(p) - o, "/");
        for (i = 0; i < DP_MAC_STRLEN; i++)     /* %-encoded, twice for one */
            o += (size_t)snprintf(p + o, sizeof(p) - o,
                                  i == 5 ? "%%25%02X" : "%%%02X",
                                  (unsigned char)m[i]);
        snprintf(p + o, sizeof(p) - o, "/000000000000.cfg");
        FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    }
    snprintf(p, sizeof(p), "/logs/%s-app.log", m);
    FUZZ_CHECK(dp_path_check(p, strlen(p), own, NULL) == 0);
    /* and refused for a client that is not that device */
    snprintf(p, sizeof(p), "/%s.cfg", m);
    FUZZ_CHECK(dp_path_check(p, strlen(p), NULL, NULL) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dp_mac_t polycom = { { 0x00, 0x04, 0xf2, 0xab, 0xcd, 0xef } };
    decodings_t d;
    dp_mac_t found;

    if (size > MAXPATH)
        return 0;
    decodings_make(&d, data, size);
    check_with_own(data, size, &d, &polycom, 0, NULL);
    if (check_with_own(data, size, &d, NULL, 1, &found) == 1) {
        check_with_own(data, size, &d, &found, 0, NULL);
        /* the own-file checks depend only on the MAC: a few bytes pick
         * when to run them, so they do not dominate the time per input */
        if (size < 2 || data[size / 2] % 8 == 0)
            check_own_files(&found);
    }
    decodings_free(&d);
    return 0;
}
