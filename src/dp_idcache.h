/* dp_idcache.h - identities already made, by certificate bytes.
 *
 * Verifying a phone's chain and reading its MAC (dp_identify) costs far
 * more than the TLS handshake's own share on a busy provisioning server,
 * and phones reconnect many times (several files per boot, then polling).
 * This cache keeps the identity made for a client certificate (and the
 * chain sent with it), keyed by the SHA-256 of their exact bytes, for a
 * limited time, so that a phone's next connections skip the decoding and
 * the verification.  Different bytes are a different key: a forged or
 * altered certificate never meets another's answer.
 *
 * Fixed number of slots, in sets of 4; a full set drops the entry that
 * expires first.  Times in the caller's unit.  Not thread-safe: the
 * caller serialises (one cache per process and virtual host, under a
 * mutex).  Part of devprov's pure-C core.
 *
 * A thin wrapper of the generic cache (dp_cache.h), which the allowlist
 * answers' cache (dp_lcache.h) shares: this file gives it its key, its
 * value and its own type.
 */
#ifndef DP_IDCACHE_H
#define DP_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dp_identify.h"

#define DP_IDCACHE_KEYLEN 32

typedef struct dp_idcache dp_idcache_t;

/* A cache for at least ENTRIES identities; NULL if out of memory or 0. */
dp_idcache_t *dp_idcache_new(size_t entries);

void dp_idcache_free(dp_idcache_t *c);

/* 1 and *OUT if KEY has an identity that expires after NOW, else 0. */
int dp_idcache_get(dp_idcache_t *c, const unsigned char *key, int64_t now,
                   dp_identity_t *out);

/* Keep ID for KEY until EXPIRES. */
void dp_idcache_put(dp_idcache_t *c, const unsigned char *key,
                    const dp_identity_t *id, int64_t expires);

size_t dp_idcache_count(const dp_idcache_t *c);

#endif
