/* dp_lcache.c - bounded, set-associative cache of allowlist answers. */
#include <stdlib.h>
#include <string.h>

#include "dp_lcache.h"

#define EMPTY UINT64_MAX        /* MACs are 48-bit: never equal */

typedef struct {
    uint64_t mac;
    int64_t expires;
    char *rec;                  /* entry text; NULL: cached "not listed" */
    size_t len;
} way_t;

struct dp_lcache {
    way_t *ways;
    size_t set_mask;            /* number of sets - 1 */
    size_t count;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

dp_lcache_t *dp_lcache_new(size_t entries)
{
    dp_lcache_t *c;
    size_t sets = 1, i;

    if (entries == 0 || entries > ((size_t)1 << 30))
        return NULL;
    while (sets * DP_LCACHE_WAYS < entries)
        sets *= 2;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->ways = calloc(sets * DP_LCACHE_WAYS, sizeof(way_t));
    if (c->ways == NULL) {
        free(c);
        return NULL;
    }
    for (i = 0; i < sets * DP_LCACHE_WAYS; i++)
        c->ways[i].mac = EMPTY;
    c->set_mask = sets - 1;
    return c;
}

static void drop(dp_lcache_t *c, way_t *w)
{
    if (w->mac == EMPTY)
        return;
    free(w->rec);
    w->rec = NULL;
    w->mac = EMPTY;
    c->count--;
}

void dp_lcache_clear(dp_lcache_t *c)
{
    size_t i;

    for (i = 0; i < dp_lcache_capacity(c); i++)
        drop(c, &c->ways[i]);
}

void dp_lcache_free(dp_lcache_t *c)
{
    if (c == NULL)
        return;
    dp_lcache_clear(c);
    free(c->ways);
    free(c);
}

static way_t *set_of(const dp_lcache_t *c, uint64_t key)
{
    return &c->ways[((size_t)mix(key) & c->set_mask) * DP_LCACHE_WAYS];
}

int dp_lcache_get(dp_lcache_t *c, const dp_mac_t *mac, int64_t now,
                  char *buf, size_t buflen, dp_entry_t *out)
{
    uint64_t key = dp_mac_to_u64(mac);
    way_t *set = set_of(c, key);
    size_t i;

    for (i = 0; i < DP_LCACHE_WAYS; i++) {
        way_t *w = &set[i];
        if (w->mac != key)
            continue;
        if (now >= w->expires) {
            drop(c, w);
            return -1;
        }
        if (w->rec == NULL)
            return 0;
        if (w->len > buflen)
            return -1;
        memcpy(buf, w->rec, w->len);
        out->label = buf;
        out->attrs = buf + strlen(buf) + 1;
        return 1;
    }
    return -1;
}

int dp_lcache_put(dp_lcache_t *c, const dp_mac_t *mac,
                  const dp_entry_t *entry, int64_t expires)
{
    uint64_t key = dp_mac_to_u64(mac);
    way_t *set = set_of(c, key), *victim = NULL;
    char *rec = NULL;
    size_t i, len = 0;

    if (entry != NULL) {
        size_t llen = strlen(entry->label);
        len = dp_entry_size(entry);
        rec = malloc(len);
        if (rec == NULL)
            return -1;
        memcpy(rec, entry->label, llen + 1);
        memcpy(rec + llen + 1, entry->attrs, len - llen - 1);
    }
    /* the same MAC, else a free way, else the one expiring first */
    for (i = 0; i < DP_LCACHE_WAYS; i++)
        if (set[i].mac == key) {
            victim = &set[i];
            break;
        }
    for (i = 0; victim == NULL && i < DP_LCACHE_WAYS; i++)
        if (set[i].mac == EMPTY)
            victim = &set[i];
    if (victim == NULL) {
        victim = &set[0];
        for (i = 1; i < DP_LCACHE_WAYS; i++)
            if (set[i].expires < victim->expires)
                victim = &set[i];
    }
    drop(c, victim);
    victim->mac = key;
    victim->expires = expires;
    victim->rec = rec;
    victim->len = len;
    c->count++;
    return 0;
}

size_t dp_lcache_count(const dp_lcache_t *c)
{
    return c->count;
}

size_t dp_lcache_capacity(const dp_lcache_t *c)
{
    return (c->set_mask + 1) * DP_LCACHE_WAYS;
}
