/* fuzz_allowlist.c - libFuzzer target for dp_allowlist_parse.
 *
 * Input: an allowlist file (admin input; also what the SQL allowlist
 * backend renders).
 *
 * Invariants, checked against an independent reading of the format in
 * src/dp_allowlist.h when the parser accepts the file:
 *   - count == number of entry lines, and every listed MAC is found, with
 *     the label and key=value attributes of its line, in order;
 *   - dp_entry_next_attr() terminates and yields only well-formed keys and
 *     values (each key once); dp_entry_attr() finds each of them;
 *   - every pin=... value satisfies dp_pin_valid();
 *   - MACs that are not listed (neighbours of listed ones, multicast,
 *     all-zero) are not found;
 *   - every listed MAC is unicast and round-trips through format/parse;
 *   - every user=<name> finds its line's MAC (dp_allowlist_user), names
 *     are never MACs and never on two lines, and a name no line has (or
 *     a prefix of one) finds nothing.
 * When the parser refuses the file, the message is "fuzz:LINE: reason"
 * and the line really is bad or a duplicate (checked loosely: the oracle
 * must not accept the whole file).
 */
#include "fuzz_common.h"
#include "dp_allowlist.h"

#define MAX_ENTRIES 4096
#define MAX_FIELDS 40

typedef struct oline {
    dp_mac_t mac;
    const char *tok[MAX_FIELDS];
    size_t tlen[MAX_FIELDS];
    size_t ntok;
} oline_t;

static int key_ok(const char *k, size_t n)
{
    return fz_key_ok(k, n, DP_AL_KEY_MAX);
}

static int value_ok(const char *v, size_t n)
{
    return n >= 1 && fz_value_ok(v, n, DP_AL_VALUE_MAX);
}

static int pin_ok(const char *v, size_t n)
{
    size_t i;

    if (n != 71 || memcmp(v, "sha256:", 7) != 0)
        return 0;
    for (i = 7; i < n; i++)
        if (fz_hexval((unsigned char)v[i]) < 0)
            return 0;
    return 1;
}

/* Tokenise one line per the format; returns 1 for an entry, 0 for a blank
 * or comment line, -1 for a line the format does not allow. */
static int oracle_line(const char *p, size_t n, oline_t *ol)
{
    size_t i = 0, j, k;
    int have_label = 0;

    ol->ntok = 0;
    if (n > DP_AL_LINE_MAX)
        return -1;
    for (j = 0; j < n; j++)
        if (p[j] == '\0' || p[j] == '\r')
            return -1;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == n || p[i] == '#')
            break;
        j = i;
        while (j < n && p[j] != ' ' && p[j] != '\t')
            j++;
        if (ol->ntok == MAX_FIELDS)
            return -1;
        ol->tok[ol->ntok] = p + i;
        ol->tlen[ol->ntok++] = j - i;
        i = j;
    }
    if (ol->ntok == 0)
        return 0;
    if (fz_mac_parse_checked(ol->tok[0], ol->tlen[0], &ol->mac) != 0
        || !fz_unicast(&ol->mac))
        return -1;
    if (ol->ntok > 33 + 1)
        return -1;
    for (k = 1; k < ol->ntok; k++) {
        const char *t = ol->tok[k], *eq = memchr(t, '=', ol->tlen[k]);
        size_t l;
        if (eq == NULL) {
            if (k != 1 || !value_ok(t, ol->tlen[k]))
                return -1;
            have_label = 1;
            continue;
        }
        if (k - (size_t)have_label > 32)        /* 33rd attribute */
            return -1;
        if (!key_ok(t, (size_t)(eq - t))
            || !value_ok(eq + 1, ol->tlen[k] - (size_t)(eq - t) - 1))
            return -1;
        if (eq - t == 3 && memcmp(t, "pin", 3) == 0
            && !pin_ok(eq + 1, ol->tlen[k] - 4))
            return -1;
        if (eq - t == 4 && memcmp(t, "user", 4) == 0) {
            dp_mac_t m;

            if (dp_mac_parse(eq + 1, ol->tlen[k] - 5, &m) == 0)
                return -1;                      /* a MAC is no user= */
        }
        for (l = 1; l < k; l++) {
            const char *u = ol->tok[l], *ue = memchr(u, '=', ol->tlen[l]);
            if (ue != NULL && ue - u == eq - t && memcmp(u, t, (size_t)(eq - t)) == 0)
                return -1;
        }
    }
    return 1;
}

/* the line's user= value, or NULL (LEN set) */
static const char *user_of(const oline_t *ol, size_t *len)
{
    size_t k;

    for (k = 1; k < ol->ntok; k++)
        if (ol->tlen[k] > 5 && memcmp(ol->tok[k], "user=", 5) == 0) {
            *len = ol->tlen[k] - 5;
            return ol->tok[k] + 5;
        }
    return NULL;
}

static uint64_t keys[MAX_ENTRIES];

static uint64_t key_of(const dp_mac_t *m)
{
    uint64_t k = 0;
    size_t i;

    for (i = 0; i < DP_MAC_LEN; i++)
        k = k << 8 | m->b[i];
    return k;
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int is_listed(size_t n, const dp_mac_t *m)
{
    uint64_t k = key_of(m);

    return n > 0 && bsearch(&k, keys, n, sizeof(keys[0]), cmp_key) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static oline_t lines[MAX_ENTRIES];
    const char *buf = (const char *)data, *p = buf, *end = buf + size;
    char err[512];
    dp_allowlist_t *al;
    size_t nent = 0, i, j;
    int oracle_ok = 1;

    if (size > 256 * 1024)
        return 0;
    memset(err, 0, sizeof(err));
    al = dp_allowlist_parse(buf, size, "fuzz", err, sizeof(err));

    /* the oracle's reading of the file */
    while (p < end && oracle_ok) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int r;

        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (nent == MAX_ENTRIES) {
            oracle_ok = -1;                     /* too big to cross-check */
            break;
        }
        r = oracle_line(p, n, &lines[nent]);
        if (r < 0)
            oracle_ok = 0;
        else if (r > 0) {
            keys[nent] = key_of(&lines[nent].mac);
            nent++;
        }
        p = nl ? nl + 1 : end;
    }
    if (nent > 0) {
        qsort(keys, nent, sizeof(keys[0]), cmp_key);
        for (i = 1; i < nent; i++)
            if (keys[i] == keys[i - 1])
                oracle_ok = 0;                  /* listed twice */
        /* a user name on two lines */
        for (i = 0; i < nent && oracle_ok == 1; i++) {
            size_t ul, vl;
            const char *u = user_of(&lines[i], &ul);

            for (j = 0; u != NULL && j < i; j++) {
                const char *v = user_of(&lines[j], &vl);
                if (v != NULL && vl == ul && memcmp(u, v, ul) == 0)
                    oracle_ok = 0;
            }
        }
    }

    if (al == NULL) {
        FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0);
        FUZZ_CHECK(strlen(err) > 7);
        FUZZ_CHECK(oracle_ok != 1);
        return 0;
    }
    FUZZ_CHECK(oracle_ok != 0);
    if (oracle_ok < 0) {
        dp_allowlist_free(al);
        return 0;
    }
    FUZZ_CHECK(dp_allowlist_count(al) == nent);
    FUZZ_CHECK(dp_allowlist_memory(al) >= 16 * nent);

    for (i = 0; i < nent; i++) {
        const oline_t *ol = &lines[i];
        dp_entry_t e;
        const char *cur, *k, *v;
        size_t klen, nattr = 0, t = 1;
        dp_mac_t other;

        if (i < 8)
            fz_check_mac_roundtrip(&ol->mac);
        FUZZ_CHECK(dp_mac_is_unicast(&ol->mac));
        memset(&e, 0, sizeof(e));
        FUZZ_CHECK(dp_allowlist_lookup(al, &ol->mac, &e) == 1);
        FUZZ_CHECK(dp_allowlist_lookup(al, &ol->mac, NULL) == 1);
        {
            size_t ul;
            const char *u = user_of(ol, &ul);
            dp_mac_t um;

            if (u != NULL) {
                FUZZ_CHECK(dp_allowlist_user(al, u, ul, &um) == 1);
                FUZZ_CHECK(memcmp(&um, &ol->mac, sizeof(um)) == 0);
                /* a prefix is another name */
                if (ul > 1 && dp_allowlist_user(al, u, ul - 1, &um) == 1)
                    FUZZ_CHECK(memcmp(&um, &ol->mac, sizeof(um)) != 0);
            }
        }
        FUZZ_CHECK(e.label != NULL && e.attrs != NULL);
        /* label */
        if (ol->ntok > 1 && memchr(ol->tok[1], '=', ol->tlen[1]) == NULL) {
            FUZZ_CHECK(strlen(e.label) == ol->tlen[1]
                       && memcmp(e.label, ol->tok[1], ol->tlen[1]) == 0);
            t = 2;
        }
        else
            FUZZ_CHECK(e.label[0] == '\0');
        /* attributes, in order */
        cur = e.attrs;
        while (dp_entry_next_attr(&cur, &k, &klen, &v)) {
            size_t vlen = strlen(v);
            FUZZ_CHECK(++nattr <= 32);
            FUZZ_CHECK(t < ol->ntok);
            FUZZ_CHECK(klen + 1 + vlen == ol->tlen[t]);
            FUZZ_CHECK(memcmp(k, ol->tok[t], ol->tlen[t]) == 0);
            FUZZ_CHECK(key_ok(k, klen) && value_ok(v, vlen));
            if (klen == 3 && memcmp(k, "pin", 3) == 0)
                FUZZ_CHECK(dp_pin_valid(v, vlen));
            {
                char key[DP_AL_KEY_MAX + 1];
                memcpy(key, k, klen);
                key[klen] = '\0';
                FUZZ_CHECK(dp_entry_attr(&e, key) == v);
            }
            t++;
        }
        FUZZ_CHECK(t == ol->ntok);
        FUZZ_CHECK(dp_entry_attr(&e, "no_such_key") == NULL);

        /* neighbours that are not listed are not found */
        for (j = 0; j < DP_MAC_LEN; j++) {
            other = ol->mac;
            other.b[j] ^= (unsigned char)(j == 0 ? 0x02 : 0x01);
            FUZZ_CHECK(dp_allowlist_lookup(al, &other, NULL)
                       == is_listed(nent, &other));
        }
        other = ol->mac;
        other.b[0] |= 1;                        /* multicast */
        FUZZ_CHECK(dp_allowlist_lookup(al, &other, NULL) == 0);
    }
    {
        static const dp_mac_t zero, bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff } };
        FUZZ_CHECK(dp_allowlist_lookup(al, &zero, NULL) == 0);
        FUZZ_CHECK(dp_allowlist_lookup(al, &bcast, NULL) == 0);
    }
    dp_allowlist_free(al);
    return 0;
}
