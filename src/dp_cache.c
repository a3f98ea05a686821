/* dp_cache.c - bounded, set-associative cache with expiry.
 *
 * One allocation of slots, DP_CACHE_WAYS consecutive slots a set, so a
 * lookup reads one contiguous stretch of memory.  A slot is
 *
 *     int64_t expires | key (keylen bytes) | padding | value (vallen bytes)
 *
 * with the value at an offset aligned for its type and the slot size a
 * multiple of that alignment and of int64_t's.  Which slots are in use is
 * a byte per slot beside them: a key is arbitrary bytes, so no key value
 * can mark a free slot.
 */
#include <stdlib.h>
#include <string.h>

#include "dp_cache.h"

struct dp_cache {
    unsigned char *slots;
    unsigned char *used;        /* one byte per slot: 1 if it holds a value */
    size_t stride;              /* bytes per slot */
    size_t keylen, vallen;
    size_t val_off;             /* offset of the value in a slot */
    size_t set_mask;            /* number of sets - 1 */
    size_t count;
    dp_cache_release_fn *release;
};

#define CACHE_KEY_OFF sizeof(int64_t)

static uint64_t cache_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t cache_round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

/* The alignment a value of VALLEN bytes needs: any type's size is a
 * multiple of its alignment, so the largest power of two dividing VALLEN
 * (no more than max_align_t's) is enough for whatever type it is. */
static size_t cache_value_align(size_t vallen)
{
    size_t a = 1;

    while (a < _Alignof(max_align_t) && vallen % (a * 2) == 0)
        a *= 2;
    return a;
}

dp_cache_t *dp_cache_new(size_t entries, size_t keylen, size_t vallen,
                         dp_cache_release_fn *release)
{
    dp_cache_t *c;
    size_t sets = 1, align;

    if (entries == 0 || entries > DP_CACHE_MAX_ENTRIES || keylen == 0
        || vallen == 0 || keylen > SIZE_MAX / 4 || vallen > SIZE_MAX / 4)
        return NULL;
    while (sets * DP_CACHE_WAYS < entries)
        sets *= 2;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    align = cache_value_align(vallen);
    c->keylen = keylen;
    c->vallen = vallen;
    c->val_off = cache_round_up(CACHE_KEY_OFF + keylen, align);
    c->stride = cache_round_up(c->val_off + vallen,
                               align > _Alignof(int64_t) ? align
                                                         : _Alignof(int64_t));
    c->set_mask = sets - 1;
    c->release = release;
    /* calloc checks the products for overflow */
    c->slots = calloc(sets * DP_CACHE_WAYS, c->stride);
    c->used = calloc(sets * DP_CACHE_WAYS, 1);
    if (c->slots == NULL || c->used == NULL) {
        free(c->slots);
        free(c->used);
        free(c);
        return NULL;
    }
    return c;
}

static unsigned char *cache_slot(const dp_cache_t *c, size_t i)
{
    return c->slots + i * c->stride;
}

static int64_t cache_expires(const dp_cache_t *c, size_t i)
{
    int64_t e;

    memcpy(&e, cache_slot(c, i), sizeof(e));
    return e;
}

/* A key's first 8 bytes (fewer, zero-padded, if it is shorter): they
 * choose its set and, compared as one integer, reject almost every slot
 * that is not KEY's before any memcmp. */
static inline uint64_t cache_prefix(const dp_cache_t *c,
                                    const unsigned char *key)
{
    uint64_t p = 0;

    if (c->keylen >= sizeof(p))
        memcpy(&p, key, sizeof(p));
    else
        memcpy(&p, key, c->keylen);
    return p;
}

/* the first slot of the set of a key with PREFIX */
static size_t cache_set_of(const dp_cache_t *c, uint64_t prefix)
{
    return ((size_t)cache_mix(prefix) & c->set_mask) * DP_CACHE_WAYS;
}

/* inline: called for every way of a set on every lookup and insert */
static inline int cache_holds(const dp_cache_t *c, size_t i,
                              const unsigned char *key, uint64_t prefix)
{
    const unsigned char *k = cache_slot(c, i) + CACHE_KEY_OFF;

    return c->used[i] && cache_prefix(c, k) == prefix
           && (c->keylen <= sizeof(prefix)
               || memcmp(k + sizeof(prefix), key + sizeof(prefix),
                         c->keylen - sizeof(prefix)) == 0);
}

static void cache_drop(dp_cache_t *c, size_t i)
{
    if (!c->used[i])
        return;
    if (c->release != NULL)
        c->release(cache_slot(c, i) + c->val_off);
    /* a key may be a secret (dp_sesskeys): none outlives its entry */
    memset(cache_slot(c, i) + CACHE_KEY_OFF, 0, c->keylen);
    c->used[i] = 0;
    c->count--;
}

void dp_cache_clear(dp_cache_t *c)
{
    size_t i;

    for (i = 0; i < dp_cache_capacity(c); i++)
        cache_drop(c, i);
}

void dp_cache_free(dp_cache_t *c)
{
    if (c == NULL)
        return;
    dp_cache_clear(c);
    /* not removable as a store to memory about to be freed */
    explicit_bzero(c->slots, dp_cache_capacity(c) * c->stride);
    free(c->slots);
    free(c->used);
    free(c);
}

void *dp_cache_get(dp_cache_t *c, const void *key, int64_t now)
{
    uint64_t prefix = cache_prefix(c, key);
    size_t set = cache_set_of(c, prefix), i;

    for (i = set; i < set + DP_CACHE_WAYS; i++) {
        if (!cache_holds(c, i, key, prefix))
            continue;
        if (now >= cache_expires(c, i)) {
            cache_drop(c, i);
            return NULL;
        }
        return cache_slot(c, i) + c->val_off;
    }
    return NULL;
}

void dp_cache_put(dp_cache_t *c, const void *key, const void *value,
                  int64_t expires)
{
    uint64_t prefix = cache_prefix(c, key);
    size_t set = cache_set_of(c, prefix), i, victim = SIZE_MAX;
    unsigned char *s;

    /* KEY's own slot, else a free one, else the one expiring first */
    for (i = set; i < set + DP_CACHE_WAYS && victim == SIZE_MAX; i++)
        if (cache_holds(c, i, key, prefix))
            victim = i;
    for (i = set; i < set + DP_CACHE_WAYS && victim == SIZE_MAX; i++)
        if (!c->used[i])
            victim = i;
    if (victim == SIZE_MAX) {
        victim = set;
        for (i = set + 1; i < set + DP_CACHE_WAYS; i++)
            if (cache_expires(c, i) < cache_expires(c, victim))
                victim = i;
    }
    cache_drop(c, victim);
    s = cache_slot(c, victim);
    memcpy(s, &expires, sizeof(expires));
    memcpy(s + CACHE_KEY_OFF, key, c->keylen);
    memcpy(s + c->val_off, value, c->vallen);
    c->used[victim] = 1;
    c->count++;
}

size_t dp_cache_count(const dp_cache_t *c)
{
    return c->count;
}

size_t dp_cache_capacity(const dp_cache_t *c)
{
    return (c->set_mask + 1) * DP_CACHE_WAYS;
}
