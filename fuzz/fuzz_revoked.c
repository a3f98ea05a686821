/* fuzz_revoked.c - libFuzzer target for dp_revoked_parse and lookups.
 *
 * Input: a revocation list file (admin input).
 *
 * Invariants, against an independent reading of the format in
 * src/dp_revoked.h:
 *   - the parser accepts exactly the files the oracle accepts;
 *   - count == number of entry lines;
 *   - every listed MAC and fingerprint is found; their neighbours are
 *     found only if listed too;
 *   - a refusal is reported as "fuzz:LINE: reason".
 */
#include "fuzz_common.h"
#include "dp_revoked.h"

#define MAX_ENTRIES 8192

typedef struct oentry {
    int is_fp;
    dp_mac_t mac;
    unsigned char fp[32];
} oentry_t;

static int oracle_line(const char *p, size_t n, oentry_t *e)
{
    size_t i = 0, j, k;

    if (n > 1024 || memchr(p, '\0', n) != NULL)
        return -1;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == n || p[i] == '#')
        return 0;
    j = i;
    while (j < n && p[j] != ' ' && p[j] != '\t')
        j++;
    for (k = j; k < n && (p[k] == ' ' || p[k] == '\t'); k++)
        ;
    if (k < n && p[k] != '#')
        return -1;                              /* a second field */
    if (j - i > 7 && memcmp(p + i, "sha256:", 7) == 0) {
        if (j - i != 7 + 64)
            return -1;
        for (k = 0; k < 32; k++) {
            int hi = fz_hexval((unsigned char)p[i + 7 + 2 * k]);
            int lo = fz_hexval((unsigned char)p[i + 8 + 2 * k]);
            if (hi < 0 || lo < 0)
                return -1;
            e->fp[k] = (unsigned char)(hi * 16 + lo);
        }
        e->is_fp = 1;
        return 1;
    }
    if (fz_mac_parse_checked(p + i, j - i, &e->mac) != 0)
        return -1;
    e->is_fp = 0;
    return 1;
}

/* Sorted copies of the entries, for "is it listed?" (the oracle's own
 * bsearch over its own arrays, not the parser's). */
static unsigned char sorted[MAX_ENTRIES][33];
static size_t nsorted;

static void key_of(const oentry_t *e, unsigned char *k)
{
    memset(k, 0, 33);
    k[0] = (unsigned char)e->is_fp;
    if (e->is_fp)
        memcpy(k + 1, e->fp, 32);
    else
        memcpy(k + 1, e->mac.b, DP_MAC_LEN);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, 33);
}

static void sort_entries(const oentry_t *es, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        key_of(&es[i], sorted[i]);
    nsorted = n;
    if (n > 0)
        qsort(sorted, n, 33, cmp_key);
}

static int listed(const oentry_t *es, size_t n, const oentry_t *q)
{
    unsigned char k[33];

    (void)es;
    (void)n;
    key_of(q, k);
    return nsorted > 0 && bsearch(k, sorted, nsorted, 33, cmp_key) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static oentry_t es[MAX_ENTRIES];
    const char *buf = (const char *)data, *p = buf, *end = buf + size;
    char err[512];
    dp_revoked_t *rv;
    size_t n = 0, i, j;
    int ok = 1;

    if (size > 256 * 1024)
        return 0;
    memset(err, 0, sizeof(err));
    rv = dp_revoked_parse(buf, size, "fuzz", err, sizeof(err));
    while (p < end && ok == 1) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int r;

        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (n == MAX_ENTRIES) {
            ok = -1;
            break;
        }
        r = oracle_line(p, len, &es[n]);
        if (r < 0)
            ok = 0;
        else if (r > 0)
            n++;
        p = nl ? nl + 1 : end;
    }
    if (rv == NULL) {
        FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0 && strlen(err) > 7);
        FUZZ_CHECK(ok == 0);
        return 0;
    }
    FUZZ_CHECK(ok != 0);
    if (ok < 0) {
        dp_revoked_free(rv);
        return 0;
    }
    FUZZ_CHECK(dp_revoked_count(rv) == n);
    sort_entries(es, n);
    for (i = 0; i < n; i++) {
        oentry_t q = es[i];
        if (q.is_fp) {
            FUZZ_CHECK(dp_revoked_cert(rv, q.fp) == 1);
            for (j = 0; j < 32; j += 31) {
                q = es[i];
                q.fp[j] ^= 1;
                FUZZ_CHECK(dp_revoked_cert(rv, q.fp) == listed(es, n, &q));
            }
        }
        else {
            if (i < 8)
                fz_check_mac_roundtrip(&q.mac);
            FUZZ_CHECK(dp_revoked_mac(rv, &q.mac) == 1);
            for (j = 0; j < DP_MAC_LEN; j++) {
                q = es[i];
                q.mac.b[j] ^= 0x80;
                FUZZ_CHECK(dp_revoked_mac(rv, &q.mac) == listed(es, n, &q));
            }
        }
    }
    {
        oentry_t q;
        memset(&q, 0, sizeof(q));
        FUZZ_CHECK(dp_revoked_mac(rv, &q.mac) == listed(es, n, &q));
        q.is_fp = 1;
        FUZZ_CHECK(dp_revoked_cert(rv, q.fp) == listed(es, n, &q));
    }
    dp_revoked_free(rv);
    return 0;
}
