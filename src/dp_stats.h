/* dp_stats.h - what devprov counts per virtual host, and the counters'
 * names.
 *
 * Part of devprov's pure-C core: libc only, no httpd headers.  The glue
 * (mod_devprov_status.c) keeps one array of DP_STAT_COUNT 64-bit counters
 * per virtual host in shared memory and adds 1 to each counter that
 * dp_stats_event() names, once per request, at the point where devprov
 * decides (post_read_request); this unit says which counters an outcome
 * touches, how they are named, and how names appear in machine-readable
 * output.
 *
 * Counters (see doc/operations.md):
 *   requests                 every initial request devprov judged
 *   verified                 of which DEVICE_VERIFIED=1
 *   verified_expired         ... and DEVICE_CERT_VALIDITY=expired
 *   verified_not_yet_valid   ... and DEVICE_CERT_VALIDITY=not-yet-valid
 *   verified_pinned          ... and DEVICE_PINNED=1
 *   verified_password        ... and DEVICE_IDENTIFIED_BY=password
 *   listed                   DEVICE_ALLOWLISTED=1
 *   denied                   refused by devprov itself (DevprovDeny,
 *                            DevprovBindPath, DevprovAllowlistSQL
 *                            unavailable=<status>)
 *   verdicts_made            requests for which the connection's verdict
 *                            was made (new connection, new certificate,
 *                            allowlist changed, answer older than its ttl)
 *   verdicts_reused          requests that reused the connection's verdict
 *   idcache_hits             verdicts made from a cached identity
 *   reason_<r>               requests whose DEVICE_REASON is of category r
 *                            (dp_reason.h: the reason's counter name)
 *   denied_<r>               refused requests, by category r (the reason
 *                            logged with the refusal; a refusal without
 *                            one is "other"), and bind_path
 */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "dp_reason.h"

enum {
    DP_STAT_REQUESTS = 0,
    DP_STAT_VERIFIED,
    DP_STAT_VERIFIED_EXPIRED,
    DP_STAT_VERIFIED_NOT_YET_VALID,
    DP_STAT_VERIFIED_PINNED,
    DP_STAT_VERIFIED_PASSWORD,
    DP_STAT_LISTED,
    DP_STAT_DENIED,
    DP_STAT_VERDICTS_MADE,
    DP_STAT_VERDICTS_REUSED,
    DP_STAT_IDCACHE_HITS,
    DP_STAT_REASON,                     /* + dp_reason_bucket() */
    DP_STAT_DENIED_BY = DP_STAT_REASON + DP_REASON_BUCKETS,  /* + bucket */
    DP_STAT_DENIED_BIND_PATH = DP_STAT_DENIED_BY + DP_REASON_BUCKETS,
    DP_STAT_COUNT
};

/* How devprov itself answered the request */
typedef enum {
    DP_DENY_NONE = 0,           /* let through (the application decides) */
    DP_DENY_POLICY,             /* 403 by DevprovDeny unverified|unlisted */
    DP_DENY_UNAVAILABLE,        /* DevprovAllowlistSQL unavailable=<status> */
    DP_DENY_BIND_PATH           /* 403 by DevprovBindPath */
} dp_deny_t;

/* One judged request, as exported to its environment (from its verdict:
 * dp_verdict_stats()) */
typedef struct {
    int verified;               /* DEVICE_VERIFIED=1 */
    int validity;               /* of a verified device: 0 valid, 1 not
                                 * yet valid, 2 expired (dp_time_status_t) */
    int pinned;                 /* DEVICE_PINNED=1 */
    int password;               /* DEVICE_IDENTIFIED_BY=password */
    int listed;                 /* DEVICE_ALLOWLISTED=1 */
    dp_reason_t reason;         /* DEVICE_REASON's; DP_REASON_NONE if
                                 * unset */
    dp_deny_t deny;
    int verdict_reused;         /* the connection's verdict was reused */
    int idcache_hit;            /* a fresh verdict from a cached identity */
} dp_stats_event_t;

/* The counters EV adds 1 to, written to IDX (at most MAX of them, in
 * increasing order); returns how many.  12 is always enough. */
#define DP_STATS_EVENT_MAX 12
size_t dp_stats_event(const dp_stats_event_t *ev, unsigned *idx, size_t max);

/* The name of counter I ("verified", "denied_no_cert", ...), NULL if I
 * is out of range.  Names are [a-z_]. */
const char *dp_stats_name(unsigned i);

/* A virtual host's label for output: HOST (NULL: "_default_") with every
 * character other than A-Z a-z 0-9 . - _ * replaced by '_', ":" and PORT.
 * Written NUL-terminated to OUT (truncated to fit); returns OUT. */
char *dp_stats_label(char *out, size_t outlen, const char *host,
                     unsigned port);

/* S as the body of a JSON string (without quotes), NUL-terminated, in at
 * most OUTLEN bytes; returns the length needed (as snprintf), so a result
 * >= OUTLEN means truncated. */
size_t dp_stats_json_escape(char *out, size_t outlen, const char *s);

#endif
