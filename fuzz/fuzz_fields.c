/* fuzz_fields.c - libFuzzer target for dp_entry_from_fields (an allowlist
 * entry from a database row, DevprovAllowlistSQL) and the answer cache
 * dp_lcache that keeps such entries.
 *
 * Input: the row, one column per line, "name=value" ("name" alone: SQL
 * NULL); at most 64 columns.
 *
 * Invariants, against an independent reading of src/dp_allowlist.h:
 *   - the answer (1 listed, 0 not allowed, -1 refused) is the oracle's;
 *   - a listed entry has the row's label and its non-empty columns as
 *     attributes, names lower-cased, in column order; dp_entry_size,
 *     dp_entry_attr and dp_entry_next_attr agree with it;
 *   - the same entry written as an allowlist file line (when it has at most
 *     32 attributes) parses to byte-identical text;
 *   - the entry fits a buffer of exactly dp_entry_size bytes and is refused
 *     (-1, never an overflow) by one byte less;
 *   - dp_lcache returns the entry byte-identical until it expires, refuses
 *     a buffer too small, and caches "not listed".
 */
#include <strings.h>

#include "fuzz_common.h"
#include "dp_allowlist.h"
#include "dp_lcache.h"

#define MAXCOLS 64
#define BIG 16384

static int value_ok(const char *v, size_t n)
{
    return fz_value_ok(v, n, DP_AL_VALUE_MAX);
}

static int key_ok(const char *k)
{
    return fz_key_ok(k, strlen(k), DP_AL_KEY_MAX);
}

static int boolean(const char *v)
{
    static const char *const t[] = { "1", "t", "true", "y", "yes", "on" };
    static const char *const f[] = { "0", "f", "false", "n", "no", "off" };
    size_t i;

    for (i = 0; i < 6; i++) {
        if (strcasecmp(v, t[i]) == 0)
            return 1;
        if (strcasecmp(v, f[i]) == 0)
            return 0;
    }
    return -1;
}

static void lower(const char *s, char *out)
{
    for (; *s; s++)
        *out++ = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    *out = '\0';
}

/* The oracle: 1, 0 or -1; the expected record (label NUL, k=v NUL..., NUL)
 * into REC, its size into *RLEN, the number of attributes into *NATTR. */
static int oracle(char **names, char **values, size_t n, char *rec,
                  size_t *rlen, size_t *nattr)
{
    size_t i, j, o = 0;
    int allowed = 1, bad = 0, attrs = 0;
    const char *label = "";

    *nattr = 0;
    for (i = 0; i < n; i++) {
        char key[DP_AL_KEY_MAX + 1];
        for (j = 0; j < i; j++)
            if (strcasecmp(names[i], names[j]) == 0)
                bad = 1;
        if (strcasecmp(names[i], "allowed") == 0) {
            int b = values[i] ? boolean(values[i]) : 0;
            if (b < 0)
                bad = 1;
            allowed = allowed && b == 1;
            continue;
        }
        if (strcasecmp(names[i], "label") == 0) {
            if (values[i] != NULL) {
                if (!value_ok(values[i], strlen(values[i])))
                    bad = 1;
                label = values[i];
            }
            continue;
        }
        if (strlen(names[i]) > DP_AL_KEY_MAX) {
            bad = 1;                        /* refused even when NULL */
            continue;
        }
        lower(names[i], key);
        if (!key_ok(key))
            bad = 1;                        /* refused even when NULL */
        if (values[i] == NULL || values[i][0] == '\0')
            continue;
        if (++attrs > DP_AL_ATTRS_MAX)
            bad = 1;
        if (strlen(values[i]) < 1 || !value_ok(values[i], strlen(values[i])))
            bad = 1;
        if (strcmp(key, "pin") == 0 && !dp_pin_valid(values[i],
                                                     strlen(values[i])))
            bad = 1;
    }
    if (bad)
        return -1;
    if (!allowed)
        return 0;
    o = (size_t)sprintf(rec, "%s", label) + 1;
    for (i = 0; i < n; i++) {
        char key[DP_AL_KEY_MAX + 1];        /* names checked above */
        if (strcasecmp(names[i], "allowed") == 0
            || strcasecmp(names[i], "label") == 0
            || values[i] == NULL || values[i][0] == '\0')
            continue;
        lower(names[i], key);
        o += (size_t)sprintf(rec + o, "%s=%s", key, values[i]) + 1;
        (*nattr)++;
    }
    rec[o++] = '\0';
    *rlen = o;
    return 1;
}

static void check_cache(const dp_entry_t *e, size_t size)
{
    static const dp_mac_t mac = { { 0x00, 0x04, 0xf2, 0xab, 0xcd, 0xef } };
    static const dp_mac_t other = { { 0x00, 0x04, 0xf2, 0xab, 0xcd, 0xee } };
    dp_lcache_t *c = dp_lcache_new(4);
    char *buf = malloc(size);
    dp_entry_t got;

    FUZZ_CHECK(c != NULL && buf != NULL);
    FUZZ_CHECK(dp_lcache_put(c, &mac, e, 100) == 0);
    FUZZ_CHECK(dp_lcache_put(c, &other, NULL, 100) == 0);
    FUZZ_CHECK(dp_lcache_count(c) == 2);
    FUZZ_CHECK(dp_lcache_get(c, &mac, 99, buf, size, &got) == 1);
    FUZZ_CHECK(got.label == buf && dp_entry_size(&got) == size);
    FUZZ_CHECK(memcmp(buf, e->label, strlen(e->label) + 1) == 0);
    FUZZ_CHECK(memcmp(got.attrs, e->attrs, size - strlen(e->label) - 1) == 0);
    FUZZ_CHECK(dp_lcache_get(c, &mac, 99, buf, size - 1, &got) == -1);
    FUZZ_CHECK(dp_lcache_get(c, &other, 0, buf, size, &got) == 0);
    FUZZ_CHECK(dp_lcache_get(c, &mac, 100, buf, size, &got) == -1);
    FUZZ_CHECK(dp_lcache_count(c) == 1);
    FUZZ_CHECK(dp_lcache_get(c, &mac, 0, buf, size, &got) == -1);
    dp_lcache_clear(c);
    FUZZ_CHECK(dp_lcache_count(c) == 0);
    dp_lcache_free(c);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[BIG], rec[BIG], line[2 * BIG];
    char *copy, *names[MAXCOLS] = { 0 }, *values[MAXCOLS] = { 0 }, *p, *end;
    char why[256];
    size_t n = 0, rlen = 0, nattr = 0, esize;
    int rc, want;
    dp_entry_t e;

    if (size > 8192)
        return 0;
    copy = malloc(size + 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    if (memchr(copy, '\0', size) != NULL) {     /* C strings only */
        free(copy);
        return 0;
    }
    for (p = copy, end = copy + size; p < end && n < MAXCOLS;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
        if (nl != NULL)
            *nl = '\0';
        eq = strchr(p, '=');
        if (eq != NULL)
            *eq = '\0';
        names[n] = p;
        values[n] = eq != NULL ? eq + 1 : NULL;
        n++;
        p = nl != NULL ? nl + 1 : end;
    }

    why[0] = '\0';
    rc = dp_entry_from_fields((const char *const *)names,
                              (const char *const *)values, n, buf, sizeof(buf),
                              &e, why, sizeof(why));
    want = oracle(names, values, n, rec, &rlen, &nattr);
    FUZZ_CHECK(rc == want);
    if (rc < 0)
        FUZZ_CHECK(why[0] != '\0');
    if (rc != 1) {
        free(copy);
        return 0;
    }
    esize = dp_entry_size(&e);
    FUZZ_CHECK(e.label == buf && esize == rlen);
    FUZZ_CHECK(memcmp(buf, rec, rlen) == 0);
    {
        const char *cur = e.attrs, *k, *v;
        size_t klen, count = 0;
        while (dp_entry_next_attr(&cur, &k, &klen, &v)) {
            char key[DP_AL_KEY_MAX + 1];
            FUZZ_CHECK(++count <= nattr && klen <= DP_AL_KEY_MAX);
            memcpy(key, k, klen);
            key[klen] = '\0';
            FUZZ_CHECK(key_ok(key));
            FUZZ_CHECK(dp_entry_attr(&e, key) == v);
        }
        FUZZ_CHECK(count == nattr);
    }
    /* an exact buffer, and one byte less */
    {
        char *exact = malloc(esize);
        dp_entry_t e2;
        FUZZ_CHECK(exact != NULL);
        FUZZ_CHECK(dp_entry_from_fields((const char *const *)names,
                                        (const char *const *)values, n, exact,
                                        esize, &e2, why, sizeof(why)) == 1);
        FUZZ_CHECK(memcmp(exact, rec, rlen) == 0);
        FUZZ_CHECK(dp_entry_from_fields((const char *const *)names,
                                        (const char *const *)values, n, exact,
                                        esize - 1, &e2, why, sizeof(why)) == -1);
        free(exact);
    }
    /* the same entry from an allowlist file line */
    if (nattr <= 32) {
        const char *r = rec + strlen(rec) + 1;
        size_t o = (size_t)sprintf(line, "0004f2abcdef");
        dp_allowlist_t *al;
        dp_entry_t fe;
        static const dp_mac_t mac = { { 0x00, 0x04, 0xf2, 0xab, 0xcd, 0xef } };
        char err[256];

        if (rec[0] != '\0')
            o += (size_t)snprintf(line + o, sizeof(line) - o, " %s", rec);
        for (; *r != '\0'; r += strlen(r) + 1)
            o += (size_t)snprintf(line + o, sizeof(line) - o, " %s", r);
        al = dp_allowlist_parse(line, o, "row", err, sizeof(err));
        FUZZ_CHECK(al != NULL);
        FUZZ_CHECK(dp_allowlist_lookup(al, &mac, &fe) == 1);
        FUZZ_CHECK(dp_entry_size(&fe) == esize);
        FUZZ_CHECK(strcmp(fe.label, e.label) == 0);
        FUZZ_CHECK(memcmp(fe.attrs, e.attrs, esize - strlen(e.label) - 1) == 0);
        dp_allowlist_free(al);
    }
    check_cache(&e, esize);
    free(copy);
    return 0;
}
