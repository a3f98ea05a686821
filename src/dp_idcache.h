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

/* Which certificate a TLS session was made with.
 *
 * A client that resumes a TLS (up to 1.2) session shows no certificate:
 * the session holds the one it showed when the session was made.  This
 * cache maps the session's master secret (48 bytes, random, known only
 * to the server and the client that proved it in the resumed handshake's
 * Finished messages) to that certificate's identity cache key, so that
 * a resumed connection finds its identity without hashing the
 * certificate again.  Keyed by the secret, never by the session ID: a
 * TLS 1.2 client chooses the ID it sends with a ticket, and could name
 * another phone's.  Keys are compared in full.  Same bounds and
 * serialisation as the identity cache; the secrets are wiped when
 * dropped and when the cache is freed. */
#define DP_SESSKEY_SECRETLEN 48

typedef struct dp_sesskeys dp_sesskeys_t;

/* A cache for at least ENTRIES sessions; NULL if out of memory or 0. */
dp_sesskeys_t *dp_sesskeys_new(size_t entries);
void dp_sesskeys_free(dp_sesskeys_t *c);

/* 1 and the certificate's key in KEY (DP_IDCACHE_KEYLEN bytes) if the
 * session with master secret SECRET (LEN bytes) has one that expires
 * after NOW, else 0 (also for a LEN other than DP_SESSKEY_SECRETLEN). */
int dp_sesskeys_get(dp_sesskeys_t *c, const unsigned char *secret,
                    size_t len, int64_t now, unsigned char *key);

/* Keep KEY for the session with master secret SECRET (LEN bytes; any
 * other length than DP_SESSKEY_SECRETLEN is not kept) until EXPIRES. */
void dp_sesskeys_put(dp_sesskeys_t *c, const unsigned char *secret,
                     size_t len, const unsigned char *key, int64_t expires);

#endif
