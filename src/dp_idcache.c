/* dp_idcache.c - bounded cache of identities by certificate bytes: the
 * generic cache (dp_cache.c) with DP_IDCACHE_KEYLEN-byte keys (SHA-256)
 * and dp_identity_t values, which own no memory; and the same cache of
 * certificate keys by TLS session secret. */
#include <string.h>

#include "dp_cache.h"
#include "dp_idcache.h"

/* the bound this cache always had */
#define IDCACHE_MAX_ENTRIES ((size_t)1 << 24)

/* A dp_idcache_t is a dp_cache_t under its own name (struct dp_idcache is
 * never defined): the header keeps its own type, so an identity cache
 * cannot be handed to an allowlist cache's functions by mistake, and no
 * second allocation or indirection is needed.  Pointers to structures
 * convert to one another and back unchanged (C11 6.2.5p28). */
static dp_cache_t *idcache_c(dp_idcache_t *c)
{
    return (dp_cache_t *)c;
}

dp_idcache_t *dp_idcache_new(size_t entries)
{
    if (entries > IDCACHE_MAX_ENTRIES)
        return NULL;
    return (dp_idcache_t *)dp_cache_new(entries, DP_IDCACHE_KEYLEN,
                                        sizeof(dp_identity_t), NULL);
}

void dp_idcache_free(dp_idcache_t *c)
{
    dp_cache_free(idcache_c(c));
}

int dp_idcache_get(dp_idcache_t *c, const unsigned char *key, int64_t now,
                   dp_identity_t *out)
{
    const dp_identity_t *id = dp_cache_get(idcache_c(c), key, now);

    if (id == NULL)
        return 0;
    *out = *id;
    return 1;
}

void dp_idcache_put(dp_idcache_t *c, const unsigned char *key,
                    const dp_identity_t *id, int64_t expires)
{
    dp_cache_put(idcache_c(c), key, id, expires);
}

size_t dp_idcache_count(const dp_idcache_t *c)
{
    return dp_cache_count((const dp_cache_t *)c);
}

/* dp_sesskeys_t, as dp_idcache_t: a dp_cache_t under its own name */
static dp_cache_t *sesskeys_c(dp_sesskeys_t *c)
{
    return (dp_cache_t *)c;
}

dp_sesskeys_t *dp_sesskeys_new(size_t entries)
{
    if (entries > IDCACHE_MAX_ENTRIES)
        return NULL;
    return (dp_sesskeys_t *)dp_cache_new(entries, DP_SESSKEY_SECRETLEN,
                                         DP_IDCACHE_KEYLEN, NULL);
}

void dp_sesskeys_free(dp_sesskeys_t *c)
{
    dp_cache_free(sesskeys_c(c));
}

int dp_sesskeys_get(dp_sesskeys_t *c, const unsigned char *secret,
                    size_t len, int64_t now, unsigned char *key)
{
    const unsigned char *k;

    if (len != DP_SESSKEY_SECRETLEN)
        return 0;
    k = dp_cache_get(sesskeys_c(c), secret, now);
    if (k == NULL)
        return 0;
    memcpy(key, k, DP_IDCACHE_KEYLEN);
    return 1;
}

void dp_sesskeys_put(dp_sesskeys_t *c, const unsigned char *secret,
                     size_t len, const unsigned char *key, int64_t expires)
{
    if (len == DP_SESSKEY_SECRETLEN)
        dp_cache_put(sesskeys_c(c), secret, key, expires);
}
