/* mod_devprov_private.h - what the Apache glue files of mod_devprov share.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The glue is split by concern, as mod_ssl's ssl_engine_*.c and mod_tls's
 * tls_*.c are:
 *
 *   mod_devprov.c         the module, its hooks, the request phase
 *   mod_devprov_config.c  directives, create/merge, check_config,
 *                         post_config
 *   mod_devprov_conn.c    the connection record and its verdict, the
 *                         DEVICE_* export, mod_ssl's SSL*
 *   mod_devprov_enrol.c   DevprovEnrol's file
 *   mod_devprov_user.c    DevprovUserIdentity: the password identity
 *   mod_devprov_watch.c   list files re-read when they change, the
 *                         parent's shared images, its monitor hook
 *   mod_devprov_fleet.c   DevprovFleet: the per-phone record, its file
 *   mod_devprov_fleetpage.c  the record shown: the devprov-fleet page,
 *                         the fleet's gauges
 *   mod_devprov_status.c  status counters, mod_status, devprov-status
 *   mod_devprov_sql.c     DevprovAllowlistSQL through mod_dbd
 *   mod_devprov_sqlfleet.c  DevprovFleetSQL: the fleet record, too
 *   mod_devprov_check.c   apache2 -t checks against mod_ssl's setup
 *   mod_devprov_ssl.c     stock mode (Debian's unpatched mod_ssl)
 *   mod_devprov_dump.c    apache2 -t -D DUMP_DEVPROV: each server's
 *                         merged settings, for devprov-check
 *
 * Calls between them go one way only (tests/glue_layers.py fails the
 * build on a cycle): mod_devprov.c calls config, conn, watch, status, sql,
 * ssl, dump, user, fleet, fleetpage and sqlfleet; config calls watch,
 * status, sql, sqlfleet, check and fleet; status calls fleetpage;
 * fleetpage calls fleet; conn calls enrol, watch and sql; user calls
 * watch and sql; sqlfleet calls sql; sql calls check; check calls ssl;
 * dump calls sql.
 *
 * The accessors below are inline so that every file can read a server's
 * configuration without calling into mod_devprov_config.c.
 */
#ifndef MOD_DEVPROV_PRIVATE_H
#define MOD_DEVPROV_PRIVATE_H

#include <openssl/ssl.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_atomic.h"
#include "apr_hooks.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "mod_ssl.h"                  /* SSL_DECLARE, for the hooks */

#include "mod_devprov_sql.h"
#include "mod_devprov_ssl.h"
#include "mod_devprov_status.h"
#include "src/dp_conf.h"
#include "src/dp_fleet.h"
#include "src/dp_idcache.h"
#include "src/dp_identify.h"
#include "src/dp_keyset.h"
#include "src/dp_macrule.h"
#include "src/dp_verdict.h"

extern module AP_MODULE_DECLARE_DATA devprov_module;

/* From httpd's modules/ssl/mod_ssl_openssl.h (2.4.x), which Debian's
 * apache2-dev does not install: mod_ssl runs this optional hook for each
 * SSL-enabled server, with its SSL_CTX, once that context is set up
 * (ssl_init_Module in ssl_engine_init.c); used by stock mode
 * (mod_devprov_ssl.c).  Declared exactly as there. */
#ifndef __MOD_SSL_OPENSSL_H__
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx))
/* ... and this one for each connection, with its SSL, before the
 * handshake (ssl_init_ssl_connection in mod_ssl.c), in both modes
 * (mod_devprov_conn.c). */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, pre_handshake,
                          (conn_rec *c, SSL *ssl, int is_proxy))
#endif


#define UNSET (-1)
/* the identity cache of a virtual host, per process (dp_idcache) */
#define IDCACHE_ENTRIES 4096

/* One vendor as configured in one server: the core's model of it (the
 * dp_vendor_t dp_identify reads, its MAC rules, where it was configured,
 * its DevprovTrust paths; src/dp_conf.h), freed with the pool that
 * configured it. */
typedef dp_conf_vendor_t vendor_conf_t;

/* A list file (DevprovAllowlist, DevprovRevoked) re-read when it
 * changes, checked at most every INTERVAL, so that changes take effect
 * without a restart.  A malformed new version leaves the previous list in
 * force and is reported once.  Read at startup, the list is shared by all
 * children (copy-on-write).
 *
 * The allowlist (which can hold a million phones) is re-read once, by the
 * parent process in the MPM's monitor hook, and written as an image file
 * (IMAGE) that every child maps: one copy in memory, shared through the
 * page cache, and one parse, whatever the number of children.  The
 * revocation list (small) and everything under "apache2 -X" (no monitor
 * runs there) are re-read by each process itself.  A list is used only
 * under MUTEX (devprov_watch_acquire). */
typedef struct {
    const char *directive;
    const char *directive_where;         /* file:line */
    const char *path;
    apr_interval_time_t interval;
    void *(*load)(const char *path, char *err, size_t errlen);
    void (*destroy)(void *list);
    size_t (*count)(const void *list);
    apr_thread_mutex_t *mutex;          /* guards everything below */
    void *list;
    apr_uint64_t checked;               /* apr_time_t of the last check;
                                         * apr_atomic_*64 */
    apr_time_t mtime;
    apr_off_t size;
    apr_ino_t inode;
    apr_time_t bad_mtime;               /* a rejected version, logged, */
    apr_off_t bad_size;                 /* not read again; -1: no stat */
    apr_uint32_t generation;            /* bumped by every re-read
                                         * (apr_atomic_*32) */
    int loading;                        /* a thread is re-reading it */
    const char *image;                  /* NULL: each process re-reads */
    apr_time_t img_mtime;               /* the image this process maps */
    apr_ino_t img_inode;
    /* a re-read list is refused (as a malformed one) unless ACCEPT says
     * 0 (set by check_config; NULL: any list that parses) */
    int (*accept)(const void *list, const void *arg, const char *path,
                  char *err, size_t errlen);
    const void *accept_arg;
} watched_t;

typedef struct {
    int engine;                 /* UNSET, 0, 1 */
    int deny;                   /* UNSET or dp_policy_t (DevprovDeny) */
    apr_array_header_t *vendors;        /* vendor_conf_t *, NULL = unset */
    apr_array_header_t *vendor_ptrs;    /* const dp_vendor_t *, same order */
    watched_t *allow;                   /* dp_allowlist_t, NULL = unset */
    devprov_sql_t *sql;                 /* NULL = unset; never both */
    devprov_sql_fleet_t *fleet_sql;     /* DevprovFleetSQL, NULL = unset */
    dp_keyset_t *deny_keys;             /* NULL = unset (built-ins only) */
    watched_t *revoked;                 /* dp_revoked_t, NULL = unset */
    const char *enrol_path;             /* NULL = unset: enrolment off */
    int bind_path;              /* UNSET, 0, 1: DevprovBindPath */
    int user_id;                /* UNSET or DP_USER_* classes (0: off):
                                 * DevprovUserIdentity */
    const char *user_id_where;  /* its file:line */
    int policy_here;            /* DevprovDeny/BindPath said in this very
                                 * server (not inherited), for checks */
    /* runtime state of this very vhost, never inherited (merge_srv) */
    struct idcache *ids;        /* made in post_config; per process */
    devprov_counters_t *counters;   /* status counters (shared memory,
                                     * post_config); NULL: none */
    struct devprov_fleet *fleet;        /* DevprovFleet: the main server's,
                                         * shared by every vhost; NULL:
                                         * not recording */
    devprov_ssl_t *ssl;         /* stock mod_ssl: this vhost's handshake
                                 * tolerance (mod_devprov_ssl.c), set by
                                 * mod_ssl's ssl_init_server hook */
} devprov_srv_t;

/* Identities by certificate bytes (dp_idcache), one per virtual host with
 * the engine on, filled by each child process on its own. */
struct idcache {
    dp_idcache_t *cache;
    dp_sesskeys_t *sessions;    /* the certificate key by TLS session */
    apr_thread_mutex_t *mutex;  /* guards both */
};

/* The verdict on one TLS connection, made once and reused by every request
 * on it (re-made if a renegotiation changed the certificate, or if a
 * request on it is served by a vhost with another configuration). */
typedef struct {
    SSL *ssl;                   /* the connection's TLS state, from mod_ssl's
                                 * pre_handshake hook; NULL if unknown */
    X509 *peer;                 /* with SSL: the client certificate it was
                                 * made for (a reference), NULL if none */
    const devprov_srv_t *conf;
    const char *pem;            /* without SSL: the client certificate
                                 * (PEM) it was made for, "" if none */
    apr_time_t made;
    apr_uint32_t allow_gen;     /* DevprovAllowlist generation it used */
    dp_verdict_t v;             /* its allowlist entry copied to c->pool;
                                 * v.revoked is per request: set by
                                 * check_revoked() before every use */
    const char *enrol;          /* DevprovEnrol outcome, NULL if none */
    apr_table_t *vars;          /* DEVICE_* of the verdict when not
                                 * revoked, in c->pool; NULL until first
                                 * exported */
    int idcached;               /* made from a cached identity */
    int reused;                 /* reused by the current request */
    devprov_stat_memo_t stats;  /* the counters v adds to */
    /* the connection's, kept when the verdict is made again: */
    const char *waived;         /* stock mode: the time error its handshake
                                 * let through, as SSL_CLIENT_VERIFY_WAIVED
                                 * ("" none), in c->pool; NULL not known */
} devprov_conn_t;

/* Is R for handler NAME?  Every request asks each of devprov's handlers
 * (the static file's too): the first byte answers most of them without
 * a call.  Their pages are in functions of their own (DEVPROV_NOINLINE),
 * so that declining costs no more than this. */
static inline int devprov_is_handler(const request_rec *r, const char *name)
{
    return r->handler != NULL && r->handler[0] == name[0]
           && strcmp(r->handler, name) == 0;
}

#if defined(__GNUC__)
#define DEVPROV_NOINLINE __attribute__((noinline))
#else
#define DEVPROV_NOINLINE
#endif

/* ------------------------------------------------------------------ */
/* reading the configuration (inline: no calls into the config file)   */

static inline devprov_srv_t *devprov_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &devprov_module);
}

/* Defaults are applied where the values are read, never by zeroing. */
static inline int devprov_engine_on(const devprov_srv_t *sc)
{
    return sc->engine == 1;
}

static inline dp_policy_t devprov_deny_mode(const devprov_srv_t *sc)
{
    return sc->deny == UNSET ? DP_POLICY_OFF : (dp_policy_t)sc->deny;
}

/* Stock mode (mod_devprov_ssl.c): where virtual host S keeps its
 * handshake tolerance, or NULL when DevprovEngine is not on there. */
static inline devprov_ssl_t **devprov_ssl_slot(server_rec *s)
{
    devprov_srv_t *sc = devprov_srv(s);

    return devprov_engine_on(sc) ? &sc->ssl : NULL;
}

/* Does any server have DevprovEngine on? */
static inline int devprov_ssl_engine_anywhere(server_rec *s)
{
    for (; s != NULL; s = s->next)
        if (devprov_engine_on(devprov_srv(s)))
            return 1;
    return 0;
}

/* "file:line" of the directive CMD is processing, for messages. */
static inline const char *devprov_cmd_where(cmd_parms *cmd)
{
    if (cmd->directive && cmd->directive->filename)
        return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
    return "(command line)";
}

/* ------------------------------------------------------------------ */
/* mod_devprov_config.c                                                */

void *devprov_create_srv(apr_pool_t *p, server_rec *s);
void *devprov_merge_srv(apr_pool_t *p, void *basev, void *addv);
extern const command_rec devprov_cmds[];
/* check_config: cross-directive checks, run by "apache2 -t" too */
int devprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s);
/* post_config: each server's runtime state (counters, identity cache,
 * allowlist images) */
int devprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s);

/* ------------------------------------------------------------------ */
/* mod_devprov_dump.c                                                  */

/* register the test_config hook behind "apache2 -t -D DUMP_DEVPROV" */
void devprov_dump_register_hooks(apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* mod_devprov_watch.c                                                 */

typedef enum {
    DEVPROV_LIST_ALLOW,         /* DevprovAllowlist: dp_allowlist_t */
    DEVPROV_LIST_REVOKED        /* DevprovRevoked: dp_revoked_t */
} devprov_list_kind_t;

/* A directive's handler: read the list file PATH (relative to
 * ServerRoot) and watch it, re-read every SECS seconds (NULL: 5) when it
 * changed.  NULL, or the message. */
const char *devprov_watch_open(cmd_parms *cmd, const char *path,
                               const char *secs, devprov_list_kind_t kind,
                               watched_t **out);

/* post_config: give W (a DevprovAllowlist) the image file its re-read
 * versions are shared through, unless it has one or none can be written
 * (then each process re-reads the file itself, as under -X). */
void devprov_watch_share(server_rec *s, watched_t *w, apr_pool_t *pconf,
                         apr_pool_t *ptemp);

/* The MPM's monitor hook (the parent, about once a second). */
int devprov_watch_monitor(apr_pool_t *p, server_rec *s);

/* Lock W, re-read it if due, and return its current list; the caller
 * uses the list only until devprov_watch_release(). */
void *devprov_watch_acquire(request_rec *r, watched_t *w);
void devprov_watch_release(watched_t *w);

/* Is a check of W due?  Without the lock. */
int devprov_watch_due(const watched_t *w, apr_time_t now);

/* W's generation, bumped by every re-read; without the lock. */
apr_uint32_t devprov_watch_generation(const watched_t *w);

/* ------------------------------------------------------------------ */
/* mod_devprov_conn.c                                                  */

/* The verdict on R's connection for the configuration SC: reused if
 * still good, else made (and kept in the connection). */
devprov_conn_t *devprov_conn_verdict(request_rec *r,
                                     const devprov_srv_t *sc);

/* Export DC's verdict to R's environment, replacing any DEVICE_*. */
void devprov_conn_export(request_rec *r, devprov_conn_t *dc);

/* Export verdict V (not a connection's: a request's own, such as a
 * password identity) to R's environment, replacing any DEVICE_*. */
void devprov_conn_export_verdict(request_rec *r, const dp_verdict_t *v);

/* Did the client certificate change since C's verdict was made? */
int devprov_conn_peer_changed(const conn_rec *c);

/* The SSL of connection C (from the pre_handshake hook), or NULL. */
static inline SSL *devprov_conn_get_ssl(const conn_rec *c)
{
    const devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                                    &devprov_module);

    return dc != NULL ? dc->ssl : NULL;
}

/* mod_ssl's pre_handshake hook, in both modes: keep the connection's
 * SSL, so that the certificate is read as OpenSSL holds it. */
int devprov_conn_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy);

/* ------------------------------------------------------------------ */
/* mod_devprov_enrol.c                                                 */

/* DevprovEnrol: record LEAF if verdict VD (an unverified self-signed
 * certificate, LOOKUP answering for the allowlist) finds an allowlisted,
 * unpinned MAC in its subject.  Returns the outcome for
 * DEVICE_ENROLMENT, or NULL when there is nothing to enrol. */
const char *devprov_enrol(request_rec *r, const devprov_srv_t *sc,
                          dp_lookup_fn lookup, void *source,
                          const dp_verdict_t *vd, X509 *leaf);

/* ------------------------------------------------------------------ */
/* mod_devprov_fleet.c                                                 */

typedef struct devprov_fleet devprov_fleet_t;

/* DevprovFleet <file> [entries=<n>] [waiting=<n>] [stale=<days>], in the
 * main server only: into *OUT (NULL, or the message). */
const char *devprov_fleet_cmd(cmd_parms *cmd, int argc, char *const argv[],
                              devprov_fleet_t **out);

/* post_config: map FC's file (kept across restarts when its layout is
 * the configured one).  OK, or an error (logged). */
int devprov_fleet_post_config(server_rec *s, devprov_fleet_t *fc,
                              apr_pool_t *ptemp);

/* Record request R, judged with verdict V and answered as DENY, in FC
 * (NULL: not recording): a device listed (or with no allowlist) in the
 * phones' table, a genuine unlisted one in the waiting list. */
void devprov_fleet_record(request_rec *r, devprov_fleet_t *fc,
                          const dp_verdict_t *v, dp_deny_t deny);

/* One read of the record, for the page and the metrics */
typedef struct {
    time_t now;                 /* set by the caller */
    int state;                  /* the phones listed: one dp_fleet_state_t,
                                 * -1 all (set by the caller) */
    size_t limit;               /* at most this many listed (caller) */
    time_t stale;               /* DevprovFleet stale=, in seconds */
    dp_fleet_summary_t sum;     /* of every phone */
    dp_fleet_info_t info;       /* the phones' table's own numbers */
    dp_fleet_rec_t *list;       /* the phones listed, most recent first */
    size_t shown, more;         /* listed; of STATE but over LIMIT */
    dp_fleet_rec_t *wait;       /* waiting, not approved since, most
                                 * recent first */
    size_t nwait, wait_more;
} devprov_fleet_view_t;

/* Read R's server's record into V (lists in r->pool): 0, or -1 without
 * DevprovFleet. */
int devprov_fleet_read(request_rec *r, devprov_fleet_view_t *v);

/* ------------------------------------------------------------------ */
/* mod_devprov_fleetpage.c                                             */

/* The fleet's gauges (phones by state, waiting, certificates expiring
 * by month, ...) into SINK, for the devprov-status handler's
 * Prometheus/OpenMetrics output; nothing without DevprovFleet. */
struct dp_metrics_sink;
void devprov_fleet_metrics(request_rec *r, struct dp_metrics_sink *sink);

/* register_hooks: the devprov-fleet handler */
void devprov_fleet_register_hooks(apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* mod_devprov_user.c                                                  */

/* The verdict on R (whose connection's verdict is CERT) for the user
 * name USER httpd authenticated (NULL: none), by SC's
 * DevprovUserIdentity, into V (its allowlist entry copied to r->pool). */
dp_user_result_t devprov_user_verdict(request_rec *r,
                                      const devprov_srv_t *sc,
                                      const dp_verdict_t *cert,
                                      const char *user, dp_verdict_t *v);

#endif
