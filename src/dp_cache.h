/* dp_cache.h - a bounded, set-associative cache with expiry.
 *
 * The one implementation behind devprov's two caches: identities by
 * certificate hash (dp_idcache.h) and allowlist answers by MAC
 * (dp_lcache.h).  Both want the same thing: a fixed memory bound chosen at
 * creation, O(1) lookups and inserts, answers that expire, and a full
 * set dropping the answer that expires first.  They differ only in the
 * key's length and the value's size and in whether a value owns memory,
 * which are parameters here.
 *
 * Keys are KEYLEN bytes compared exactly; values are VALLEN bytes copied
 * in and handed back in place.  The set is chosen from the key's first 8
 * bytes (fewer if the key is shorter), mixed: keys that differ only after
 * their 8th byte share a set, so put the varying bytes first (a hash, a
 * MAC as an integer).  A value that owns memory names a RELEASE function,
 * called whenever the cache drops it (replaced, evicted, expired, cleared,
 * freed).
 *
 * Slots come in sets of DP_CACHE_WAYS, the number of sets a power of two.
 * Times are whatever unit the caller uses consistently.  Not thread-safe:
 * the caller serialises.  Part of devprov's pure-C core: libc only.
 */
#ifndef DP_CACHE_H
#define DP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define DP_CACHE_WAYS 4
#define DP_CACHE_MAX_ENTRIES ((size_t)1 << 30)

typedef struct dp_cache dp_cache_t;

/* Frees what VALUE (a value in the cache) owns, not VALUE itself. */
typedef void dp_cache_release_fn(void *value);

/* A cache for at least ENTRIES values (rounded up to a power of two
 * number of sets of DP_CACHE_WAYS).  NULL when out of memory, ENTRIES is
 * 0 or above DP_CACHE_MAX_ENTRIES, or KEYLEN or VALLEN is 0.  RELEASE may
 * be NULL. */
dp_cache_t *dp_cache_new(size_t entries, size_t keylen, size_t vallen,
                         dp_cache_release_fn *release);

/* Releases every value, then frees the cache.  NULL is a no-op. */
void dp_cache_free(dp_cache_t *c);

/* The value cached for KEY if it expires after NOW, else NULL; an expired
 * value is dropped.  The pointer (suitably aligned for any type) is valid
 * until the next put, clear or free of C. */
void *dp_cache_get(dp_cache_t *c, const void *key, int64_t now);

/* Keep a copy of VALUE's VALLEN bytes for KEY until EXPIRES: in KEY's
 * slot if it has one, else a free slot of its set, else the slot of that
 * set that expires first.  The value it replaces is released. */
void dp_cache_put(dp_cache_t *c, const void *key, const void *value,
                  int64_t expires);

/* Drop (and release) every value. */
void dp_cache_clear(dp_cache_t *c);

/* Values held, expired or not, and the slots there are. */
size_t dp_cache_count(const dp_cache_t *c);
size_t dp_cache_capacity(const dp_cache_t *c);

#endif
