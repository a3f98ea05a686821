/* mod_devprov_status.h - devprov's status counters (Apache glue).
 *
 * Per virtual host with "DevprovEngine on", one array of counters
 * (src/dp_stats.h says which) in shared memory that the parent creates in
 * post_config, so that every child process and thread adds to the same
 * numbers, with lock-free atomic increments (apr_atomic_inc64: no lock
 * in the request path).
 * Counters start at zero at every start and restart (graceful too): the
 * output says since when.  Shown by mod_status (/server-status, and
 * "devprov:<vhost>:<counter>: <n>" lines with ?auto) and by the handler
 * "SetHandler devprov-status" (text/plain, ?json for JSON).
 */
#ifndef MOD_DEVPROV_STATUS_H
#define MOD_DEVPROV_STATUS_H

#include "httpd.h"

#include "src/dp_stats.h"
#include "src/dp_verdict.h"

/* The counters of one generation (start or restart), in pconf. */
typedef struct devprov_status devprov_status_t;
/* One virtual host's counters, in shared memory. */
typedef struct devprov_counters devprov_counters_t;

/* post_config: the counters of this generation, with room for every
 * server_rec from S on; NULL (logged) if no shared memory could be had,
 * and devprov then runs without counters. */
devprov_status_t *devprov_status_begin(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s);

/* post_config: a slot for S (a server with the engine on); NULL if ST
 * is NULL. */
devprov_counters_t *devprov_status_slot(devprov_status_t *st, server_rec *s);

/* The counters a connection's verdict adds to, worked out by its first
 * request and used by the next ones while the request's part of them
 * (revocation, refusal, reuse) is the same: the kept-alive requests of a
 * phone.  Zeroed with the verdict (devprov_conn_t). */
typedef struct {
    unsigned key;               /* 0: none yet */
    unsigned n;
    unsigned idx[DP_STATS_EVENT_MAX];
} devprov_stat_memo_t;

/* Count request R once, when devprov has decided (post_read_request),
 * from the verdict V it exported (the request's revocation applied) and
 * how devprov answered: what the DEVICE_* variables say is taken from V
 * (dp_verdict_stats), never read back from r->subprocess_env.  MEMO:
 * V's memo if V is a connection's verdict, else NULL. */
void devprov_status_request(request_rec *r, devprov_counters_t *c,
                            const dp_verdict_t *v, dp_deny_t deny,
                            int verdict_reused, int idcache_hit,
                            devprov_stat_memo_t *memo);

/* register_hooks: mod_status's status_hook and the devprov-status
 * handler. */
void devprov_status_register_hooks(apr_pool_t *p);

#endif
