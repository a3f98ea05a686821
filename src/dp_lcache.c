/* dp_lcache.c - bounded cache of allowlist answers: the generic cache
 * (dp_cache.c) keyed by the MAC as a 64-bit integer, whose values own a
 * copy of the entry's text (NULL for "not listed"), freed when the cache
 * drops them. */
#include <stdlib.h>
#include <string.h>

#include "dp_cache.h"
#include "dp_lcache.h"

_Static_assert(DP_LCACHE_WAYS == DP_CACHE_WAYS,
               "dp_lcache.h's DP_LCACHE_WAYS is the generic cache's");

typedef struct {
    char *rec;                  /* label NUL attrs; NULL: "not listed" */
    size_t len;
} lcache_answer_t;

/* A dp_lcache_t is a dp_cache_t under its own name, as dp_idcache_t is
 * (dp_idcache.c says why). */
static dp_cache_t *lcache_c(dp_lcache_t *c)
{
    return (dp_cache_t *)c;
}

static void lcache_release(void *value)
{
    free(((lcache_answer_t *)value)->rec);
}

dp_lcache_t *dp_lcache_new(size_t entries)
{
    return (dp_lcache_t *)dp_cache_new(entries, sizeof(uint64_t),
                                       sizeof(lcache_answer_t),
                                       lcache_release);
}

void dp_lcache_clear(dp_lcache_t *c)
{
    dp_cache_clear(lcache_c(c));
}

void dp_lcache_free(dp_lcache_t *c)
{
    dp_cache_free(lcache_c(c));
}

int dp_lcache_get(dp_lcache_t *c, const dp_mac_t *mac, int64_t now,
                  char *buf, size_t buflen, dp_entry_t *out)
{
    uint64_t key = dp_mac_to_u64(mac);
    const lcache_answer_t *a = dp_cache_get(lcache_c(c), &key, now);

    if (a == NULL)
        return -1;
    if (a->rec == NULL)
        return 0;
    if (a->len > buflen)
        return -1;
    memcpy(buf, a->rec, a->len);
    out->label = buf;
    out->attrs = buf + strlen(buf) + 1;
    return 1;
}

int dp_lcache_put(dp_lcache_t *c, const dp_mac_t *mac,
                  const dp_entry_t *entry, int64_t expires)
{
    uint64_t key = dp_mac_to_u64(mac);
    lcache_answer_t a = { NULL, 0 };

    if (entry != NULL) {
        size_t llen = strlen(entry->label);
        a.len = dp_entry_size(entry);
        a.rec = malloc(a.len);
        if (a.rec == NULL)
            return -1;
        memcpy(a.rec, entry->label, llen + 1);
        memcpy(a.rec + llen + 1, entry->attrs, a.len - llen - 1);
    }
    dp_cache_put(lcache_c(c), &key, &a, expires);
    return 0;
}

size_t dp_lcache_count(const dp_lcache_t *c)
{
    return dp_cache_count((const dp_cache_t *)c);
}

size_t dp_lcache_capacity(const dp_lcache_t *c)
{
    return dp_cache_capacity((const dp_cache_t *)c);
}
