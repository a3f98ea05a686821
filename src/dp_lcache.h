/* dp_lcache.h - a bounded cache of allowlist answers, with expiry.
 *
 * A database-backed allowlist asks the database once per phone and keeps
 * the answer (listed with its entry, or not listed) until it expires, so
 * that a burst of phones rebooting costs one query per phone, not one per
 * request.  The cache has a fixed number of slots chosen at creation, in
 * sets of DP_LCACHE_WAYS; a full set drops the answer that expires first.
 * Lookups and inserts are O(1).
 *
 * Times are whatever monotonic or wall-clock unit the caller uses
 * consistently (mod_devprov: apr_time_t microseconds).
 *
 * Part of devprov's pure-C core: libc only.  Not thread-safe: the caller
 * serialises access (one cache per process, under a mutex).
 *
 * A thin wrapper of the generic cache (dp_cache.h), which the identity
 * cache (dp_idcache.h) shares: this file gives it its key (the MAC), its
 * value (the entry's text, owned by the cache) and its own type.
 */
#ifndef DP_LCACHE_H
#define DP_LCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dp_allowlist.h"
#include "dp_mac.h"

#define DP_LCACHE_WAYS 4

typedef struct dp_lcache dp_lcache_t;

/* A cache for at least ENTRIES answers (rounded up to a power of two
 * number of sets).  NULL when out of memory or ENTRIES is 0. */
dp_lcache_t *dp_lcache_new(size_t entries);

void dp_lcache_free(dp_lcache_t *c);

/* The answer for MAC if one is cached and NOW < its expiry: returns 1
 * (listed: ENTRY's text copied into BUF, BUFLEN bytes, and OUT pointing
 * into it), 0 (cached as not listed) or -1 (nothing usable cached, or BUF
 * too small). */
int dp_lcache_get(dp_lcache_t *c, const dp_mac_t *mac, int64_t now,
                  char *buf, size_t buflen, dp_entry_t *out);

/* Cache an answer for MAC until EXPIRES: ENTRY is the entry if listed,
 * NULL if not listed.  Returns 0, or -1 when out of memory (nothing is
 * cached then). */
int dp_lcache_put(dp_lcache_t *c, const dp_mac_t *mac,
                  const dp_entry_t *entry, int64_t expires);

/* Drop every answer. */
void dp_lcache_clear(dp_lcache_t *c);

/* Answers held, expired or not, and the slots there are. */
size_t dp_lcache_count(const dp_lcache_t *c);
size_t dp_lcache_capacity(const dp_lcache_t *c);

#endif
