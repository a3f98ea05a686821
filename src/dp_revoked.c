/* dp_revoked.c - revocation by MAC or certificate fingerprint. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_file.h"
#include "dp_hex.h"
#include "dp_revoked.h"

#define FP_LEN 32
#define LINE_MAX_LEN 1024

struct dp_revoked {
    uint64_t *macs;
    size_t nmacs, capmacs;
    unsigned char (*fps)[FP_LEN];
    size_t nfps, capfps;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(a, b, FP_LEN);
}

static int push_mac(dp_revoked_t *rv, uint64_t m)
{
    if (rv->nmacs == rv->capmacs) {
        size_t cap = rv->capmacs ? 2 * rv->capmacs : 64;
        uint64_t *n = realloc(rv->macs, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        rv->macs = n;
        rv->capmacs = cap;
    }
    rv->macs[rv->nmacs++] = m;
    return 0;
}

static int push_fp(dp_revoked_t *rv, const unsigned char *fp)
{
    if (rv->nfps == rv->capfps) {
        size_t cap = rv->capfps ? 2 * rv->capfps : 16;
        void *n = realloc(rv->fps, cap * FP_LEN);
        if (n == NULL)
            return -1;
        rv->fps = n;
        rv->capfps = cap;
    }
    memcpy(rv->fps[rv->nfps++], fp, FP_LEN);
    return 0;
}

/* One line without its newline: 0, or -1 with WHY. */
static int parse_line(dp_revoked_t *rv, const char *p, size_t len, char *why,
                      size_t whylen)
{
    const char *end = p + len, *tok;
    size_t tlen;

    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end || *p == '#')
        return 0;
    tok = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    tlen = (size_t)(p - tok);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p != end && *p != '#') {
        snprintf(why, whylen, "one MAC or sha256:<fingerprint> per line "
                 "(a comment may follow after #)");
        return -1;
    }
    if (tlen > 7 && memcmp(tok, "sha256:", 7) == 0) {
        unsigned char fp[FP_LEN];
        if (tlen != 7 + 2 * FP_LEN || dp_hex_decode(tok + 7, FP_LEN, fp) != 0)
            goto badfp;
        if (push_fp(rv, fp) != 0)
            goto oom;
        return 0;
    }
    {
        dp_mac_t mac;
        if (dp_mac_parse(tok, tlen, &mac) != 0) {
            snprintf(why, whylen, "'%.*s' is neither a MAC nor "
                     "sha256:<fingerprint>", (int)(tlen > 40 ? 40 : tlen),
                     tok);
            return -1;
        }
        if (push_mac(rv, dp_mac_to_u64(&mac)) != 0)
            goto oom;
        return 0;
    }
badfp:
    snprintf(why, whylen, "sha256: must be followed by 64 hex digits");
    return -1;
oom:
    snprintf(why, whylen, "out of memory");
    return -1;
}

dp_revoked_t *dp_revoked_parse(const char *buf, size_t len, const char *name,
                               char *err, size_t errlen)
{
    dp_revoked_t *rv = calloc(1, sizeof(*rv));
    const char *p = buf, *end = buf + len;
    unsigned line = 0;
    char why[160];

    if (rv == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        line++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > LINE_MAX_LEN || memchr(p, '\0', n) != NULL) {
            snprintf(err, errlen, "%s:%u: line too long or not text", name,
                     line);
            dp_revoked_free(rv);
            return NULL;
        }
        if (parse_line(rv, p, n, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", name, line, why);
            dp_revoked_free(rv);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    if (rv->nmacs)
        qsort(rv->macs, rv->nmacs, sizeof(*rv->macs), cmp_u64);
    if (rv->nfps)
        qsort(rv->fps, rv->nfps, FP_LEN, cmp_fp);
    return rv;
}

dp_revoked_t *dp_revoked_load(const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    dp_revoked_t *rv;

    if (dp_read_file(path, SIZE_MAX, &buf, &len, err, errlen) != 0)
        return NULL;
    rv = dp_revoked_parse(buf, len, path, err, errlen);
    free(buf);
    return rv;
}

void dp_revoked_free(dp_revoked_t *rv)
{
    if (rv == NULL)
        return;
    free(rv->macs);
    free(rv->fps);
    free(rv);
}

size_t dp_revoked_count(const dp_revoked_t *rv)
{
    return rv->nmacs + rv->nfps;
}

int dp_revoked_mac(const dp_revoked_t *rv, const dp_mac_t *mac)
{
    uint64_t key = dp_mac_to_u64(mac);

    return rv->nmacs != 0
        && bsearch(&key, rv->macs, rv->nmacs, sizeof(*rv->macs),
                   cmp_u64) != NULL;
}

int dp_revoked_cert(const dp_revoked_t *rv, const unsigned char *sha256)
{
    return rv->nfps != 0
        && bsearch(sha256, rv->fps, rv->nfps, FP_LEN, cmp_fp) != NULL;
}
