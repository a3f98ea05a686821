/* mod_devprov.c - Apache glue for devprov: directives, hooks, variables.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * Per virtual host, devprov re-verifies the client certificate chain a desk
 * phone presented against the configured vendor CAs (only those: nothing
 * else the phone sends), as of the latest moment the chain was valid,
 * extracts the phone's MAC, looks it up in an allowlist and exports the
 * result (DEVICE_MAC, DEVICE_VERIFIED, ...) to the request environment,
 * where CGI/PHP handlers, "Require expr", mod_rewrite, per-directory
 * SetEnvIf and log formats see it.  It can also refuse requests itself
 * (DevprovDeny).
 *
 * The work is done by the pure-C core in src/ (no httpd headers); this file
 * only reads configuration, caches one verdict per TLS connection and
 * exports it.  No global state: configuration lives in the server config
 * (pconf), verdicts in the connection config (c->pool).
 */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mpm_common.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "mod_devprov_check.h"
#include "mod_devprov_sql.h"
#include "mod_devprov_status.h"
#include "mod_devprov_ssl.h"
#include "src/dp_allowlist.h"
#include "src/dp_enrol.h"
#include "src/dp_idcache.h"
#include "src/dp_identify.h"
#include "src/dp_keyset.h"
#include "src/dp_mac.h"
#include "src/dp_macrule.h"
#include "src/dp_path.h"
#include "src/dp_revoked.h"
#include "src/dp_trust.h"
#include "src/dp_verdict.h"

module AP_MODULE_DECLARE_DATA devprov_module;
APLOG_USE_MODULE(devprov);

#define UNSET (-1)
/* identities made from a certificate's bytes are kept this long, per
 * process and virtual host (DP_IDCACHE: at most IDCACHE_ENTRIES) */
#define IDCACHE_TTL apr_time_from_sec(60)
#define IDCACHE_ENTRIES 4096
/* a list file is read once it has not changed for this long */
#define SETTLE_TIME apr_time_from_msec(1000)

/* One vendor as configured in one server: the core's dp_vendor_t plus
 * where it was configured, for messages. */
typedef struct {
    dp_vendor_t v;
    apr_array_header_t *rules;  /* dp_macrule_t * */
    int custom_rules;           /* DevprovMacFrom seen: presets replaced */
    const char *where;          /* "file:line" of its first directive */
} vendor_conf_t;

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
 * under MUTEX (watched_acquire). */
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
    apr_time_t checked;
    apr_time_t mtime;
    apr_off_t size;
    apr_ino_t inode;
    apr_time_t bad_mtime;               /* a rejected version, logged, */
    apr_off_t bad_size;                 /* not read again; -1: no stat */
    unsigned long generation;           /* bumped by every re-read */
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
    dp_keyset_t *deny_keys;             /* NULL = unset (built-ins only) */
    watched_t *revoked;                 /* dp_revoked_t, NULL = unset */
    const char *enrol_path;             /* NULL = unset: enrolment off */
    int bind_path;              /* UNSET, 0, 1: DevprovBindPath */
    int policy_here;            /* DevprovDeny/BindPath said in this very
                                 * server (not inherited), for checks */
    /* runtime state of this very vhost, never inherited (merge_srv) */
    struct idcache *ids;        /* made in post_config; per process */
    devprov_counters_t *counters;   /* status counters (shared memory,
                                     * post_config); NULL: none */
    devprov_ssl_t *ssl;         /* stock mod_ssl: this vhost's handshake
                                 * tolerance (mod_devprov_ssl.c), set by
                                 * mod_ssl's ssl_init_server hook */
} devprov_srv_t;

/* Identities by certificate bytes (dp_idcache), one per virtual host with
 * the engine on, filled by each child process on its own. */
struct idcache {
    dp_idcache_t *cache;
    apr_thread_mutex_t *mutex;
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
    const char *pem;            /* client certificate it was made for */
    apr_time_t made;
    unsigned long allow_gen;    /* DevprovAllowlist generation it used */
    dp_verdict_t v;             /* its allowlist entry copied to c->pool;
                                 * v.revoked is per request: set by
                                 * check_revoked() before every use */
    const char *enrol;          /* DevprovEnrol outcome, NULL if none */
    apr_array_header_t *vars;   /* DEVICE_* of the verdict when not
                                 * revoked, key and value in turn, in
                                 * c->pool; NULL until first exported */
    int idcached;               /* made from a cached identity */
    int reused;                 /* reused by the current request */
} devprov_conn_t;

/* ------------------------------------------------------------------ */
/* configuration                                                       */

static apr_status_t cleanup_keyset(void *data);

static void *create_srv(apr_pool_t *p, server_rec *s)
{
    devprov_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->engine = UNSET;
    sc->deny = UNSET;
    sc->bind_path = UNSET;
    return sc;
}

/* Configuration only: the runtime state (ids, counters, ssl) is never
 * copied from BASE.  apr_pcalloc leaves it NULL, and post_config and
 * mod_devprov_ssl.c's init_server make it for this virtual host alone
 * (httpd calls this for every vhost: AP_MODULE_FLAG_ALWAYS_MERGE). */
static void *merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const devprov_srv_t *base = basev, *add = addv;
    devprov_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->engine = add->engine != UNSET ? add->engine : base->engine;
    sc->deny = add->deny != UNSET ? add->deny : base->deny;
    sc->policy_here = add->policy_here;
    sc->bind_path = add->bind_path != UNSET ? add->bind_path
                                            : base->bind_path;
    /* a vhost that configures any vendor defines its whole vendor set */
    if (add->vendors != NULL) {
        sc->vendors = add->vendors;
        sc->vendor_ptrs = add->vendor_ptrs;
    }
    else {
        sc->vendors = base->vendors;
        sc->vendor_ptrs = base->vendor_ptrs;
    }
    sc->revoked = add->revoked != NULL ? add->revoked : base->revoked;
    sc->enrol_path = add->enrol_path ? add->enrol_path : base->enrol_path;
    /* deny lists add up: a vhost's keys never re-admit the server's */
    if (add->deny_keys != NULL && base->deny_keys != NULL) {
        sc->deny_keys = dp_keyset_union(base->deny_keys, add->deny_keys);
        if (sc->deny_keys != NULL)
            apr_pool_cleanup_register(p, sc->deny_keys, cleanup_keyset,
                                      apr_pool_cleanup_null);
        else                    /* out of memory: keep the stricter half */
            sc->deny_keys = add->deny_keys;
    }
    else {
        sc->deny_keys = add->deny_keys != NULL ? add->deny_keys
                                               : base->deny_keys;
    }
    /* the allowlist is a file or a database: the nearer one wins */
    if (add->allow != NULL || add->sql != NULL) {
        sc->allow = add->allow;
        sc->sql = add->sql;
    }
    else {
        sc->allow = base->allow;
        sc->sql = base->sql;
    }
    return sc;
}

/* Defaults are applied where the values are read, never by zeroing. */
static int engine_on(const devprov_srv_t *sc)
{
    return sc->engine == 1;
}

/* For mod_devprov_ssl.c (stock mod_ssl): see mod_devprov_ssl.h. */
devprov_ssl_t **devprov_ssl_slot(server_rec *s)
{
    devprov_srv_t *sc = ap_get_module_config(s->module_config,
                                             &devprov_module);

    return engine_on(sc) ? &sc->ssl : NULL;
}

int devprov_ssl_engine_anywhere(server_rec *s)
{
    for (; s != NULL; s = s->next)
        if (devprov_ssl_slot(s) != NULL)
            return 1;
    return 0;
}

static dp_policy_t deny_mode(const devprov_srv_t *sc)
{
    return sc->deny == UNSET ? DP_POLICY_OFF : (dp_policy_t)sc->deny;
}

static const char *where(cmd_parms *cmd)
{
    if (cmd->directive && cmd->directive->filename)
        return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
    return "(command line)";
}

static const char *check_context(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE | NOT_IN_LIMIT);
}

/* The server config a directive sets, or NULL with the reason in *ERR
 * when the directive stands where it does not belong. */
static devprov_srv_t *conf_for(cmd_parms *cmd, const char **err)
{
    *err = check_context(cmd);
    if (*err != NULL)
        return NULL;
    return ap_get_module_config(cmd->server->module_config, &devprov_module);
}

static apr_status_t cleanup_trust(void *data)
{
    dp_trust_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_rule(void *data)
{
    dp_macrule_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_keyset(void *data)
{
    dp_keyset_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_idcache(void *data)
{
    dp_idcache_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_watched(void *data)
{
    watched_t *w = data;

    w->destroy(w->list);
    w->list = NULL;
    return APR_SUCCESS;
}

/* Typed adapters for the lists a watched_t can hold. */
static void *load_allowlist(const char *path, char *err, size_t errlen)
{
    return dp_allowlist_load(path, err, errlen);
}

static void free_allowlist(void *list)
{
    dp_allowlist_free(list);
}

static size_t count_allowlist(const void *list)
{
    return dp_allowlist_count(list);
}

static void *load_revoked(const char *path, char *err, size_t errlen)
{
    return dp_revoked_load(path, err, errlen);
}

static void free_revoked(void *list)
{
    dp_revoked_free(list);
}

static size_t count_revoked(const void *list)
{
    return dp_revoked_count(list);
}

/* Read the list file PATH for the directive being processed and watch it
 * (re-read every SECS seconds, default 5, when it changed). */
static const char *watched_open(cmd_parms *cmd, const char *path,
                                const char *secs,
                                void *(*load)(const char *, char *, size_t),
                                void (*destroy)(void *),
                                size_t (*count)(const void *),
                                watched_t **out)
{
    watched_t *w;
    apr_finfo_t fi;
    char err[1024];
    long interval = 5;

    if (secs != NULL) {
        char *end;
        interval = strtol(secs, &end, 10);
        if (*secs == '\0' || *end != '\0' || interval < 1 || interval > 3600)
            return apr_psprintf(cmd->pool, "%s: invalid check interval '%s', "
                                "use 1-3600 seconds (default 5)",
                                cmd->cmd->name, secs);
    }
    w = apr_pcalloc(cmd->pool, sizeof(*w));
    w->directive = cmd->cmd->name;
    w->directive_where = where(cmd);
    w->load = load;
    w->destroy = destroy;
    w->count = count;
    w->path = ap_server_root_relative(cmd->pool, path);
    if (w->path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, path);
    w->interval = apr_time_from_sec(interval);
    w->list = load(w->path, err, sizeof(err));
    if (w->list == NULL)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    apr_pool_cleanup_register(cmd->pool, w, cleanup_watched,
                              apr_pool_cleanup_null);
    if (apr_stat(&fi, w->path, APR_FINFO_MTIME | APR_FINFO_SIZE
                 | APR_FINFO_INODE, cmd->temp_pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: %s: cannot stat the file",
                            cmd->cmd->name, w->path);
    if (apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT,
                                cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot create a mutex",
                            cmd->cmd->name);
    w->mtime = fi.mtime;
    w->size = fi.size;
    w->inode = fi.inode;
    w->checked = apr_time_now();
    *out = w;
    return NULL;
}

static const char *add_rule(cmd_parms *cmd, vendor_conf_t *vc,
                            const char *attr, const char *pattern)
{
    char err[512];
    dp_macrule_t *rule = dp_macrule_new(attr, pattern, err, sizeof(err));

    if (rule == NULL)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name,
                            vc->v.name, err);
    apr_pool_cleanup_register(cmd->pool, rule, cleanup_rule,
                              apr_pool_cleanup_null);
    APR_ARRAY_PUSH(vc->rules, dp_macrule_t *) = rule;
    vc->v.rules = (dp_macrule_t **)vc->rules->elts;
    vc->v.nrules = (size_t)vc->rules->nelts;
    return NULL;
}

/* Find or create the vendor NAME in the server being configured. */
static const char *get_vendor(cmd_parms *cmd, const char *name,
                              vendor_conf_t **out)
{
    devprov_srv_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &devprov_module);
    const dp_rule_spec_t *preset;
    vendor_conf_t *vc;
    int i;

    if (!dp_vendor_name_valid(name))
        return apr_psprintf(cmd->pool, "%s: invalid vendor name '%s': use "
                            "1-32 characters of a-z, 0-9 and '-' (presets: "
                            "%s)", cmd->cmd->name, name,
                            dp_vendor_preset_names());
    if (sc->vendors == NULL) {
        sc->vendors = apr_array_make(cmd->pool, 4, sizeof(vendor_conf_t *));
        sc->vendor_ptrs = apr_array_make(cmd->pool, 4,
                                         sizeof(const dp_vendor_t *));
    }
    for (i = 0; i < sc->vendors->nelts; i++) {
        vc = APR_ARRAY_IDX(sc->vendors, i, vendor_conf_t *);
        if (strcmp(vc->v.name, name) == 0) {
            *out = vc;
            return NULL;
        }
    }
    vc = apr_pcalloc(cmd->pool, sizeof(*vc));
    vc->v.name = apr_pstrdup(cmd->pool, name);
    vc->v.auth_level = DP_AUTH_LEVEL_DEFAULT;
    vc->where = where(cmd);
    vc->rules = apr_array_make(cmd->pool, 2, sizeof(dp_macrule_t *));
    preset = dp_vendor_preset(name);
    for (; preset != NULL && preset->attr != NULL; preset++) {
        const char *msg = add_rule(cmd, vc, preset->attr, preset->pattern);
        if (msg != NULL)
            return msg;
    }
    APR_ARRAY_PUSH(sc->vendors, vendor_conf_t *) = vc;
    APR_ARRAY_PUSH(sc->vendor_ptrs, const dp_vendor_t *) = &vc->v;
    *out = vc;
    return NULL;
}

static const char *cmd_engine(cmd_parms *cmd, void *dc, int flag)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    sc->engine = flag ? 1 : 0;
    return NULL;
}

static const char *cmd_trust(cmd_parms *cmd, void *dc, const char *vendor,
                             const char *path)
{
    const char *msg = check_context(cmd);
    vendor_conf_t *vc;
    char err[1024];
    const char *file;

    (void)dc;
    if (msg || (msg = get_vendor(cmd, vendor, &vc)) != NULL)
        return msg;
    file = ap_server_root_relative(cmd->pool, path);
    if (file == NULL)
        return apr_psprintf(cmd->pool, "%s %s: invalid path '%s'",
                            cmd->cmd->name, vendor, path);
    if (vc->v.trust == NULL) {
        vc->v.trust = dp_trust_new();
        if (vc->v.trust == NULL)
            return apr_psprintf(cmd->pool, "%s: out of memory",
                                cmd->cmd->name);
        apr_pool_cleanup_register(cmd->pool, vc->v.trust, cleanup_trust,
                                  apr_pool_cleanup_null);
    }
    if (dp_trust_add_path(vc->v.trust, file, err, sizeof(err)) < 0)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, vendor,
                            err);
    return NULL;
}

static const char *cmd_macfrom(cmd_parms *cmd, void *dc, const char *vendor,
                               const char *attr, const char *pattern)
{
    const char *msg = check_context(cmd);
    vendor_conf_t *vc;

    (void)dc;
    if (msg || (msg = get_vendor(cmd, vendor, &vc)) != NULL)
        return msg;
    if (!vc->custom_rules) {            /* the first one replaces presets */
        vc->custom_rules = 1;
        apr_array_clear(vc->rules);
        vc->v.nrules = 0;
    }
    return add_rule(cmd, vc, attr, pattern);
}

static const char *cmd_seclevel(cmd_parms *cmd, void *dc, const char *vendor,
                                const char *level)
{
    const char *msg = check_context(cmd);
    vendor_conf_t *vc;

    (void)dc;
    if (msg || (msg = get_vendor(cmd, vendor, &vc)) != NULL)
        return msg;
    if (strlen(level) != 1 || level[0] < '0' || level[0] > '5')
        return apr_psprintf(cmd->pool, "%s %s: invalid level '%s', use 0-5 "
                            "(OpenSSL security level; default %d)",
                            cmd->cmd->name, vendor, level,
                            DP_AUTH_LEVEL_DEFAULT);
    vc->v.auth_level = level[0] - '0';
    return NULL;
}

static const char *cmd_notyetvalid(cmd_parms *cmd, void *dc,
                                   const char *vendor, const char *flag)
{
    const char *msg = check_context(cmd);
    vendor_conf_t *vc;

    (void)dc;
    if (msg || (msg = get_vendor(cmd, vendor, &vc)) != NULL)
        return msg;
    if (!strcasecmp(flag, "on"))
        vc->v.accept_future = 1;
    else if (!strcasecmp(flag, "off"))
        vc->v.accept_future = 0;
    else
        return apr_psprintf(cmd->pool, "%s %s: unknown value '%s', use on "
                            "or off (default off)", cmd->cmd->name, vendor,
                            flag);
    return NULL;
}

static const char *cmd_allowlist(cmd_parms *cmd, void *dc, const char *path,
                                 const char *secs)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (sc->allow != NULL)
        return apr_psprintf(cmd->pool, "%s: given twice in this server "
                            "(already %s)", cmd->cmd->name, sc->allow->path);
    if (sc->sql != NULL)
        return apr_psprintf(cmd->pool, "%s: this server already has "
                            "DevprovAllowlistSQL (%s): use one or the other",
                            cmd->cmd->name, devprov_sql_where(sc->sql));
    return watched_open(cmd, path, secs, load_allowlist, free_allowlist,
                        count_allowlist, &sc->allow);
}

static const char *cmd_allowlist_sql(cmd_parms *cmd, void *dc, int argc,
                                     char *const argv[])
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (sc->sql != NULL)
        return apr_psprintf(cmd->pool, "%s: given twice in this server "
                            "(already %s)", cmd->cmd->name,
                            devprov_sql_where(sc->sql));
    if (sc->allow != NULL)
        return apr_psprintf(cmd->pool, "%s: this server already has "
                            "DevprovAllowlist %s: use one or the other",
                            cmd->cmd->name, sc->allow->path);
    return devprov_sql_open(cmd, argc, argv, &sc->sql);
}

static const char *cmd_denykey(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[1024];

    (void)dc;
    if (sc == NULL)
        return msg;
    if (sc->deny_keys == NULL) {
        sc->deny_keys = dp_keyset_new();
        if (sc->deny_keys == NULL)
            return apr_psprintf(cmd->pool, "%s: out of memory",
                                cmd->cmd->name);
        apr_pool_cleanup_register(cmd->pool, sc->deny_keys, cleanup_keyset,
                                  apr_pool_cleanup_null);
    }
    if (strncmp(arg, "sha256:", 7) != 0) {
        arg = ap_server_root_relative(cmd->pool, arg);
        if (arg == NULL)
            return apr_psprintf(cmd->pool, "%s: invalid path",
                                cmd->cmd->name);
    }
    if (dp_keyset_add(sc->deny_keys, arg, err, sizeof(err)) < 0)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    return NULL;
}

static const char *cmd_revoked(cmd_parms *cmd, void *dc, const char *path,
                               const char *secs)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (sc->revoked != NULL)
        return apr_psprintf(cmd->pool, "%s: given twice in this server",
                            cmd->cmd->name);
    return watched_open(cmd, path, secs, load_revoked, free_revoked,
                        count_revoked, &sc->revoked);
}

static const char *cmd_enrol(cmd_parms *cmd, void *dc, const char *path)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    const char *file;
    apr_finfo_t fi;

    (void)dc;
    if (sc == NULL)
        return msg;
    file = ap_server_root_relative(cmd->pool, path);
    if (file == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, path);
    if (apr_stat(&fi, ap_make_dirstr_parent(cmd->temp_pool, file),
                 APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR)
        return apr_psprintf(cmd->pool, "%s: %s: its directory does not exist",
                            cmd->cmd->name, file);
    sc->enrol_path = file;
    return NULL;
}

static const char *cmd_deny(cmd_parms *cmd, void *dc, const char *arg)
{
    dp_policy_t p;
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (dp_policy_parse(arg, &p) != 0)
        return apr_psprintf(cmd->pool, "%s: unknown value '%s', use off, "
                            "unverified or unlisted", cmd->cmd->name, arg);
    sc->deny = p;
    if (sc->deny != DP_POLICY_OFF)
        sc->policy_here = 1;
    return NULL;
}

static const char *cmd_bindpath(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (!strcasecmp(arg, "on"))
        sc->bind_path = 1;
    else if (!strcasecmp(arg, "off"))
        sc->bind_path = 0;
    else
        return apr_psprintf(cmd->pool, "%s: unknown value '%s', use on or "
                            "off", cmd->cmd->name, arg);
    if (sc->bind_path == 1)
        sc->policy_here = 1;
    return NULL;
}

static const command_rec devprov_cmds[] = {
    AP_INIT_FLAG("DevprovEngine", cmd_engine, NULL, RSRC_CONF,
                 "on|off: identify phones by their client certificate"),
    AP_INIT_ITERATE2("DevprovTrust", cmd_trust, NULL, RSRC_CONF,
                     "<vendor> <file-or-directory> ...: the vendor's CA "
                     "certificates (PEM or DER)"),
    AP_INIT_TAKE23("DevprovMacFrom", cmd_macfrom, NULL, RSRC_CONF,
                   "<vendor> <attribute> [<regex>]: where the vendor's "
                   "certificates carry the MAC"),
    AP_INIT_TAKE2("DevprovSecurityLevel", cmd_seclevel, NULL, RSRC_CONF,
                  "<vendor> <0-5>: OpenSSL security level for the vendor's "
                  "chains"),
    AP_INIT_TAKE2("DevprovAcceptNotYetValid", cmd_notyetvalid, NULL,
                  RSRC_CONF,
                  "<vendor> on|off: admit the vendor's certificate chains "
                  "that become valid only in the future (default off)"),
    AP_INIT_TAKE12("DevprovAllowlist", cmd_allowlist, NULL, RSRC_CONF,
                   "<file> [<seconds>]: the phones this server provisions, "
                   "re-read when the file changes"),
    AP_INIT_TAKE_ARGV("DevprovAllowlistSQL", cmd_allowlist_sql, NULL,
                      RSRC_CONF,
                      "\"<query with one %s for the MAC>\" [ttl=<s>] "
                      "[unlisted-ttl=<s>] [entries=<n>] "
                      "[unavailable=<status>|continue]: the phones this "
                      "server provisions, from a database through mod_dbd"),
    AP_INIT_ITERATE("DevprovDenyKey", cmd_denykey, NULL, RSRC_CONF,
                    "<file-or-dir>|sha256:<hex> ...: public keys that never "
                    "identify a phone (besides the built-in generic ones)"),
    AP_INIT_TAKE12("DevprovRevoked", cmd_revoked, NULL, RSRC_CONF,
                   "<file> [<seconds>]: MACs and sha256: fingerprints shut "
                   "out, re-read when the file changes"),
    AP_INIT_TAKE1("DevprovEnrol", cmd_enrol, NULL, RSRC_CONF,
                  "<file>: record the first certificate of allowlisted "
                  "phones no CA verifies, for the admin to pin"),
    AP_INIT_TAKE1("DevprovDeny", cmd_deny, NULL, RSRC_CONF,
                  "off|unverified|unlisted: refuse such requests with 403"),
    AP_INIT_TAKE1("DevprovBindPath", cmd_bindpath, NULL, RSRC_CONF,
                  "on|off: refuse a request whose path names another "
                  "phone's MAC"),
    { NULL }
};

/* For mod_devprov_check.c: see mod_devprov_check.h. */
void devprov_check_view(server_rec *s, apr_pool_t *p,
                        devprov_check_view_t *out)
{
    const devprov_srv_t *sc = ap_get_module_config(s->module_config,
                                                   &devprov_module);
    devprov_check_vendor_t *v;
    int i;

    out->engine = engine_on(sc);
    out->nvendors = sc->vendors != NULL ? sc->vendors->nelts : 0;
    out->vendors = v = apr_pcalloc(p, (out->nvendors + 1) * sizeof(*v));
    for (i = 0; i < out->nvendors; i++) {
        const vendor_conf_t *vc = APR_ARRAY_IDX(sc->vendors, i,
                                                vendor_conf_t *);
        v[i].name = vc->v.name;
        v[i].trust = vc->v.trust;
        v[i].where = vc->where;
    }
}

/* Cross-directive checks, run by "apache2 -t" too. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    int rc = OK;
    /* vendor= in an allowlist may name a vendor of any server */
    const devprov_known_t *known = devprov_check_known(s, pconf);

    (void)plog;
    for (; s != NULL; s = s->next) {
        const devprov_srv_t *sc = ap_get_module_config(s->module_config,
                                                       &devprov_module);
        const char *vhost = apr_psprintf(ptemp, "%s:%u (%s:%d)",
                                         s->server_hostname,
                                         s->addrs ? s->addrs->host_port
                                                  : s->port,
                                         s->defn_name ? s->defn_name : "?",
                                         s->defn_line_number);
        int i;

        if (sc->vendors != NULL) {
            for (i = 0; i < sc->vendors->nelts; i++) {
                const vendor_conf_t *vc =
                    APR_ARRAY_IDX(sc->vendors, i, vendor_conf_t *);
                if (vc->v.trust == NULL
                    || dp_trust_count(vc->v.trust) == 0) {
                    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0,
                                 NULL, "devprov: vendor '%s' (%s) has no CA "
                                 "certificate: add DevprovTrust %s "
                                 "<file-or-directory> with the vendor's "
                                 "issuing CA(s), and its root if known",
                                 vc->v.name, vc->where, vc->v.name);
                    rc = !OK;
                }
                if (vc->v.nrules == 0) {
                    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0,
                                 NULL, "devprov: vendor '%s' (%s) is not a "
                                 "preset (%s): say where its MAC is with "
                                 "DevprovMacFrom %s <attribute> [<regex>]",
                                 vc->v.name, vc->where,
                                 dp_vendor_preset_names(), vc->v.name);
                    rc = !OK;
                }
            }
        }
        /* a virtual host that asks for a policy but never enables the
         * engine would silently enforce nothing (the main server may set
         * defaults for the vhosts that enable it) */
        if (s->is_virtual && sc->policy_here && sc->engine == UNSET
            && sc->bind_path == 1) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovBindPath on in virtual host %s has "
                         "no effect without DevprovEngine on", vhost);
            rc = !OK;
        }
        if (s->is_virtual && sc->policy_here && sc->engine == UNSET
            && deny_mode(sc) != DP_POLICY_OFF) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovDeny in virtual host %s has no "
                         "effect without DevprovEngine on (say "
                         "DevprovEngine off to disable it explicitly)",
                         vhost);
            rc = !OK;
        }
        /* each list once (vhosts inherit the main server's), and its
         * re-read versions the same way (watched_reread) */
        if (sc->allow != NULL && sc->allow->accept == NULL) {
            sc->allow->accept = devprov_check_allowlist_reread;
            sc->allow->accept_arg = known;
            if (devprov_check_allowlist(known, sc->allow->list,
                                        sc->allow->path,
                                        sc->allow->directive_where,
                                        ptemp) != OK)
                rc = !OK;
        }
        if (sc->sql != NULL)
            devprov_sql_known_vendors(sc->sql, known);
        if (devprov_check_handshake(s, vhost, ptemp) != OK)
            rc = !OK;
        if (!engine_on(sc))
            continue;
        if (sc->vendors == NULL || sc->vendors->nelts == 0) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovEngine on in virtual host %s but "
                         "no DevprovTrust for it or the main server", vhost);
            rc = !OK;
        }
        if (deny_mode(sc) == DP_POLICY_UNLISTED && sc->allow == NULL
            && sc->sql == NULL) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovDeny unlisted in virtual host %s "
                         "needs a DevprovAllowlist or DevprovAllowlistSQL",
                         vhost);
            rc = !OK;
        }
    }
    return rc;
}

/* Can the parent write W's image?  (Also removes one left by an earlier
 * run.)  If not, each process re-reads the file itself, as under -X. */
static int image_dir_usable(server_rec *s, watched_t *w, apr_pool_t *ptemp)
{
    const char *probe = apr_pstrcat(ptemp, w->image, ".probe", NULL);
    apr_file_t *f;
    apr_status_t rv;

    apr_file_remove(w->image, ptemp);
    rv = apr_file_open(&f, probe, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                       | APR_FOPEN_TRUNCATE, APR_FPROT_UREAD
                       | APR_FPROT_UWRITE, ptemp);
    if (rv == APR_SUCCESS) {
        apr_file_close(f);
        apr_file_remove(probe, ptemp);
        return 1;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "devprov: %s %s (%s): "
                 "cannot write %s, so each Apache process will re-read the "
                 "file itself when it changes (more memory, more CPU); "
                 "DefaultRuntimeDir should name a directory the server can "
                 "write", w->directive, w->path, w->directive_where, probe);
    return 0;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    /* under "apache2 -X" no monitor runs: the process re-reads itself */
    int shared = !ap_exists_config_define("ONE_PROCESS");
    /* status counters in shared memory, zero at every (re)start */
    devprov_status_t *stats = devprov_status_begin(pconf, ptemp, s);

    (void)plog;
    for (; s != NULL; s = s->next) {
        devprov_srv_t *sc = ap_get_module_config(s->module_config,
                                                 &devprov_module);
        watched_t *w = sc->allow;

        /* every server_rec has a record of its own (ALWAYS_MERGE): its
         * own counters and identity cache */
        if (engine_on(sc))
            sc->counters = devprov_status_slot(stats, s);
        if (engine_on(sc)) {
            struct idcache *ids = apr_pcalloc(pconf, sizeof(*ids));
            ids->cache = dp_idcache_new(IDCACHE_ENTRIES);
            if (ids->cache == NULL
                || apr_thread_mutex_create(&ids->mutex,
                                           APR_THREAD_MUTEX_DEFAULT, pconf)
                   != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: out "
                             "of memory for the identity cache");
                dp_idcache_free(ids->cache);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            apr_pool_cleanup_register(pconf, ids->cache, cleanup_idcache,
                                      apr_pool_cleanup_null);
            sc->ids = ids;
        }
        /* an inherited DevprovAllowlistSQL may query another database
         * here (this vhost's DBDParams): its answers are kept apart */
        if (engine_on(sc) && sc->sql != NULL
            && devprov_sql_init_server(sc->sql, s, pconf) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;

        if (w != NULL && w->image == NULL && shared) {
            /* named after the directive: the same at every restart, its
             * own for each DevprovAllowlist; an image left by an earlier
             * run is never used */
            const char *key = apr_pstrcat(ptemp, w->path, "|",
                                            w->directive_where, NULL);
            apr_ssize_t len = APR_HASH_KEY_STRING;
            w->image = ap_runtime_dir_relative(pconf, apr_psprintf(
                ptemp, "devprov-allowlist-%08x.img",
                apr_hashfunc_default(key, &len)));
            if (w->image != NULL && !image_dir_usable(s, w, ptemp))
                w->image = NULL;
        }
        if (!engine_on(sc))
            continue;
        if (sc->allow != NULL)
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                         "devprov: %s:%u: %d vendor(s), allowlist %s with "
                         "%lu phone(s)", s->server_hostname,
                         s->addrs ? s->addrs->host_port : s->port,
                         sc->vendors->nelts, sc->allow->path,
                         (unsigned long)dp_allowlist_count(sc->allow->list));
        else if (sc->sql != NULL)
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                         "devprov: %s:%u: %d vendor(s), allowlist in the "
                         "database (%s)", s->server_hostname,
                         s->addrs ? s->addrs->host_port : s->port,
                         sc->vendors->nelts, devprov_sql_where(sc->sql));
        else
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                         "devprov: %s:%u: %d vendor(s), no allowlist",
                         s->server_hostname,
                         s->addrs ? s->addrs->host_port : s->port,
                         sc->vendors->nelts);
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* per connection                                                      */

static X509 *pem_to_x509(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x;

    if (bio == NULL)
        return NULL;
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

static const char *ssl_var(request_rec *r, const char *name)
{
    return ap_ssl_var_lookup(r->pool, r->server, r->connection, r, name);
}

/* The identity cache's key: SHA-256 over the exact certificate bytes.
 * Only the leaf counts: nothing else the phone sends is looked at
 * (dp_trust.h). */
static int cert_key(const char *pem, unsigned char *key)
{
    unsigned int len = 0;

    return EVP_Digest(pem, strlen(pem), key, &len, EVP_sha256(), NULL)
           && len == DP_IDCACHE_KEYLEN ? 0 : -1;
}

/* Put FRESH in force in place of W's list, for the next verdicts (they
 * see the generation change); with the mutex held, or in the parent. */
static void swap_list(watched_t *w, void *fresh)
{
    void *old = w->list;

    w->list = fresh;
    /* read without the mutex by verdict_stale() */
    __atomic_add_fetch(&w->generation, 1, __ATOMIC_RELEASE);
    /* nobody else uses OLD: lists are used only under the mutex */
    w->destroy(old);
}

/* Swap in W's list from a newly written image (a child's side of a
 * parent re-read); called with the mutex held, maps with it released. */
static void image_refresh(request_rec *r, watched_t *w)
{
    apr_finfo_t fi;
    dp_allowlist_t *fresh;
    char err[1024];

    if (apr_stat(&fi, w->image, APR_FINFO_MTIME | APR_FINFO_INODE, r->pool)
        != APR_SUCCESS
        || (fi.mtime == w->img_mtime && fi.inode == w->img_inode))
        return;                         /* none yet, or the one we have */
    w->loading = 1;
    apr_thread_mutex_unlock(w->mutex);
    fresh = dp_allowlist_map_image(w->image, NULL, err, sizeof(err));
    apr_thread_mutex_lock(w->mutex);
    w->loading = 0;
    if (fresh == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov: %s: %s; keeping "
                      "the %lu entries read before", w->directive, err,
                      (unsigned long)w->count(w->list));
        w->img_mtime = fi.mtime;        /* not again until it changes */
        w->img_inode = fi.inode;
        return;
    }
    swap_list(w, fresh);
    w->img_mtime = fi.mtime;
    w->img_inode = fi.inode;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov: %s %s: now the "
                  "list the parent re-read, %lu entries", w->directive,
                  w->path, (unsigned long)w->count(w->list));
}

/* The parent's side of a shared list: write LIST (just read from the
 * file, described by FI) as W's image and map it, so that the children,
 * and the children forked later, use one copy.  Returns the list to
 * install: the mapped image, or LIST itself if it could not be shared
 * (logged; the children then keep what they have). */
static void *share_list(server_rec *s, apr_pool_t *p, watched_t *w,
                        void *list, const apr_finfo_t *fi, int *shared)
{
    uint64_t tag[3];
    dp_allowlist_t *mapped = NULL;
    apr_finfo_t ii;
    char err[1024];

    tag[0] = (uint64_t)fi->mtime;
    tag[1] = (uint64_t)fi->size;
    tag[2] = (uint64_t)fi->inode;
    if (dp_allowlist_save_image(list, w->image, tag, err, sizeof(err)) == 0)
        mapped = dp_allowlist_map_image(w->image, NULL, err, sizeof(err));
    if (mapped == NULL
        || apr_stat(&ii, w->image, APR_FINFO_MTIME | APR_FINFO_INODE, p)
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "devprov: %s %s: cannot "
                     "share the new list with the children (%s): they keep "
                     "the list they have", w->directive, w->path, err);
        dp_allowlist_free(mapped);
        return list;
    }
    *shared = 1;
    w->destroy(list);
    w->img_mtime = ii.mtime;
    w->img_inode = ii.inode;
    return mapped;
}

/* Re-read W's file if it changed.  LOCKED: called by a request thread
 * with the mutex held (it returns with it held; the file is read and
 * parsed with it released, so that the other threads of the process go
 * on with the current list meanwhile: a 1M entry list takes most of a
 * second, and one thread re-reads at a time).  Otherwise called by the
 * parent from the monitor hook, where W has an image to share. */
static void watched_reread(server_rec *s, apr_pool_t *p, watched_t *w,
                           int locked)
{
    apr_finfo_t fi;
    void *fresh;
    char err[1024];
    int shared = 0;
    apr_time_t took;

    if (apr_stat(&fi, w->path, APR_FINFO_MTIME | APR_FINFO_SIZE
                 | APR_FINFO_INODE, p) != APR_SUCCESS) {
        if (w->bad_mtime != -1)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "devprov: %s %s: cannot stat the file; keeping the "
                         "%lu entries read before", w->directive, w->path,
                         (unsigned long)w->count(w->list));
        w->bad_mtime = -1;
        return;
    }
    if (w->bad_mtime == -1)
        w->bad_mtime = 0;               /* stat works again */
    if ((fi.mtime == w->mtime && fi.size == w->size && fi.inode == w->inode)
        || (fi.mtime == w->bad_mtime && fi.size == w->bad_size))
        return;
    /* a file modified this very moment may be half written (or just
     * truncated by "cat new > list"): read it at the next check */
    if (apr_time_now() - fi.mtime < SETTLE_TIME
        && apr_time_now() >= fi.mtime) {        /* not a clock skew */
        /* check again soon */
        __atomic_store_n(&w->checked, w->checked - (w->interval - SETTLE_TIME),
                         __ATOMIC_RELAXED);
        return;
    }
    if (locked) {
        w->loading = 1;
        apr_thread_mutex_unlock(w->mutex);
    }
    took = apr_time_now();
    fresh = w->load(w->path, err, sizeof(err));
    if (fresh != NULL && w->accept != NULL
        && w->accept(fresh, w->accept_arg, w->path, err, sizeof(err)) != 0) {
        w->destroy(fresh);
        fresh = NULL;
    }
    if (fresh != NULL && !locked && w->image != NULL)
        fresh = share_list(s, p, w, fresh, &fi, &shared);
    took = apr_time_now() - took;
    if (locked) {
        apr_thread_mutex_lock(w->mutex);
        w->loading = 0;
    }
    if (fresh == NULL) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "devprov: %s: %s; keeping the %lu entries read before",
                     w->directive, err, (unsigned long)w->count(w->list));
        w->bad_mtime = fi.mtime;
        w->bad_size = fi.size;
        return;
    }
    swap_list(w, fresh);
    w->mtime = fi.mtime;
    w->size = fi.size;
    w->inode = fi.inode;
    w->bad_mtime = 0;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "devprov: %s %s re-read: %lu entries in %" APR_TIME_T_FMT
                 " ms%s", w->directive, w->path,
                 (unsigned long)w->count(w->list), apr_time_as_msec(took),
                 shared ? ", shared with the children" : "");
}

/* A request's check of W: at most once per interval and process, and by
 * one thread at a time; called with the mutex held. */
static void watched_refresh(request_rec *r, watched_t *w)
{
    apr_time_t now = apr_time_now();

    if (w->loading || now - w->checked < w->interval)
        return;
    __atomic_store_n(&w->checked, now, __ATOMIC_RELAXED);
    if (w->image != NULL)
        image_refresh(r, w);            /* the parent re-reads the file */
    else
        watched_reread(r->server, r->pool, w, 1);
}

/* The parent, about once a second (the MPM's monitor hook): re-read the
 * allowlists that changed and share them with the children. */
static int monitor(apr_pool_t *p, server_rec *s)
{
    apr_time_t now = apr_time_now();
    server_rec *v;

    for (v = s; v != NULL; v = v->next) {
        devprov_srv_t *sc = ap_get_module_config(v->module_config,
                                                 &devprov_module);
        watched_t *w = sc->allow;
        if (w == NULL || w->image == NULL || now - w->checked < w->interval)
            continue;                   /* vhosts share W: once each */
        w->checked = now;
        watched_reread(s, p, w, 0);
    }
    return DECLINED;
}

/* Lock W, refresh it if due, and return its current list; the caller
 * uses the list only until watched_release(). */
static void *watched_acquire(request_rec *r, watched_t *w)
{
    apr_thread_mutex_lock(w->mutex);
    watched_refresh(r, w);
    return w->list;
}

static void watched_release(watched_t *w)
{
    apr_thread_mutex_unlock(w->mutex);
}

/* Is a check of W due (watched_refresh)?  Read without the mutex, so that
 * a request that only needs the generation takes no lock. */
static int watched_due(const watched_t *w)
{
    return apr_time_now() - __atomic_load_n(&w->checked, __ATOMIC_RELAXED)
           >= w->interval;
}

/* Where a verdict looks phones up: the allowlist file as it was when the
 * verdict began (held under its mutex), or the database. */
typedef struct {
    request_rec *r;
    const dp_allowlist_t *file;
    devprov_sql_t *sql;
} source_t;

static int source_lookup(void *data, const dp_mac_t *mac, dp_entry_t *out)
{
    source_t *src = data;

    if (src->file != NULL)
        return dp_allowlist_lookup(src->file, mac, out);
    return devprov_sql_lookup(src->r, src->sql, mac, out);
}

/* Record LEAF for enrolment if verdict VD (an unverified self-signed
 * certificate, the allowlist answering) finds an allowlisted, unpinned
 * MAC in its subject (dp_verdict_enrol_mac).  Returns the outcome for
 * DEVICE_ENROLMENT, or NULL when there is nothing to enrol. */
static const char *enrol(request_rec *r, const devprov_srv_t *sc,
                         source_t *src, const dp_verdict_t *vd, X509 *leaf)
{
    const dp_vendor_t *const *v =
        (const dp_vendor_t *const *)sc->vendor_ptrs->elts;
    const dp_identity_t *id = &vd->id;
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    apr_status_t rv;
    dp_mac_t mac;
    char *buf, line[256], when[APR_RFC822_DATE_LEN], fp[65];
    const char *outcome = NULL;
    char m[DP_MAC_STRLEN + 1];
    apr_size_t n;
    int i;

    i = dp_verdict_enrol_mac(v, (size_t)sc->vendor_ptrs->nelts, vd, leaf,
                             source_lookup, src, &mac);
    if (i < 0)
        return NULL;
    dp_mac_format(&mac, m);
    rv = apr_file_open(&f, sc->enrol_path, APR_FOPEN_READ | APR_FOPEN_WRITE
                       | APR_FOPEN_APPEND | APR_FOPEN_CREATE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD,
                       r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "devprov: DevprovEnrol %s: cannot open it to record %s",
                      sc->enrol_path, m);
        return "error";
    }
    rv = apr_file_lock(f, APR_FLOCK_EXCLUSIVE);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size > 16 * 1024 * 1024) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "devprov: DevprovEnrol %s: cannot record %s (lock, "
                      "stat or size over 16 MiB)", sc->enrol_path, m);
        apr_file_close(f);              /* also releases the lock */
        return "error";
    }
    buf = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    n = (apr_size_t)fi.size;
    if (n > 0 && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS)
        n = 0;
    dp_hex_sha256(id->sha256, fp);
    switch (dp_enrol_find(buf, n, &mac, id->sha256)) {
    case DP_ENROL_SAME:
        outcome = "pending";
        break;
    case DP_ENROL_OTHER:
        outcome = "conflict";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "devprov: DevprovEnrol: %s presented another "
                      "certificate (sha256 %s) than the one recorded in %s: "
                      "not recorded; check the phone", m, fp,
                      sc->enrol_path);
        break;
    case DP_ENROL_ABSENT:
        apr_rfc822_date(when, apr_time_now());
        n = dp_enrol_line(line, sizeof(line), &mac, id->sha256, when,
                          v[i]->name);
        if (n > 0 && apr_file_write_full(f, line, n, NULL) == APR_SUCCESS) {
            outcome = "recorded";
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "devprov: DevprovEnrol: recorded %s for review in "
                          "%s; approve by adding its pin=sha256:... to the "
                          "allowlist", m, sc->enrol_path);
        }
        else {
            outcome = "error";
        }
        break;
    }
    apr_file_unlock(f);
    apr_file_close(f);
    return outcome;
}

static void make_verdict(request_rec *r, const devprov_srv_t *sc,
                         const char *pem, devprov_conn_t *dc)
{
    conn_rec *c = r->connection;
    const dp_vendor_t *const *vendors =
        (const dp_vendor_t *const *)sc->vendor_ptrs->elts;
    size_t nvendors = (size_t)sc->vendor_ptrs->nelts;
    X509 *leaf = NULL;
    dp_identity_t id;
    source_t src = { r, NULL, sc->sql };
    int have_list = sc->allow != NULL || sc->sql != NULL;
    int cached = 0, have_key = 0;
    size_t size;
    unsigned char key[DP_IDCACHE_KEYLEN];

    {
        /* the connection's, not the verdict's */
        SSL *ssl = dc->ssl;
        X509 *peer = dc->peer;

        memset(dc, 0, sizeof(*dc));
        dc->ssl = ssl;
        dc->peer = peer;
    }
    memset(&id, 0, sizeof(id));
    dc->conf = sc;
    dc->made = apr_time_now();
    dc->pem = apr_pstrdup(c->pool, pem);

    if (*pem != '\0') {
        /* a phone seen lately on another connection: its identity, made
         * from these very bytes, without decoding or verifying again */
        if (sc->ids != NULL && cert_key(pem, key) == 0) {
            have_key = 1;
            apr_thread_mutex_lock(sc->ids->mutex);
            cached = dp_idcache_get(sc->ids->cache, key, apr_time_now(),
                                    &id);
            apr_thread_mutex_unlock(sc->ids->mutex);
        }
        if (!cached) {
            leaf = pem_to_x509(pem);
            if (leaf == NULL) {
                id.status = DP_ST_UNVERIFIED;
                dp_identity_reason(&id, DP_REASON_UNREADABLE, NULL);
            }
        }
    }
    if (!cached && (leaf != NULL || *pem == '\0')) {
        if (dp_identify(vendors, nvendors, sc->deny_keys, leaf, time(NULL),
                        &id) != 0) {
            id.status = DP_ST_UNVERIFIED;
            dp_identity_reason(&id, DP_REASON_INTERNAL, NULL);
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "devprov: out of memory verifying a client "
                          "certificate");
        }
        /* kept unless the allowlist may still pin it (self-signed: the
         * pin is looked up per connection, from the certificate) */
        else if (have_key && leaf != NULL
                 && !(id.status == DP_ST_UNVERIFIED
                      && id.x509_err
                         == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)) {
            apr_thread_mutex_lock(sc->ids->mutex);
            dp_idcache_put(sc->ids->cache, key, &id,
                           apr_time_now() + IDCACHE_TTL);
            apr_thread_mutex_unlock(sc->ids->mutex);
        }
    }
    if (cached) {
        dc->idcached = 1;
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "devprov: identity of this certificate from the "
                      "cache");
    }
    /* the allowlist as it is now (re-read if its file changed), held
     * until the verdict is made */
    if (sc->allow != NULL) {
        src.file = watched_acquire(r, sc->allow);
        dc->allow_gen = sc->allow->generation;
    }
    /* pins, the allowlist lookup, its pin and vendor= binding (a cached
     * identity is never that of a self-signed certificate: no pin to
     * look up, so no certificate needed) */
    dp_verdict_make(vendors, nvendors, &id, cached || leaf != NULL, leaf,
                    have_list ? source_lookup : NULL, &src, time(NULL),
                    &dc->v);
    /* only phones' own built-in certificates are enrolled, never one
     * issued by some other CA */
    if (sc->enrol_path != NULL)
        dc->enrol = enrol(r, sc, &src, &dc->v, leaf);
    X509_free(leaf);
    /* the entry outlives the allowlist it came from (a file re-read, a
     * database row in r->pool) */
    size = dp_verdict_entry_size(&dc->v);
    if (size > 0)
        dp_verdict_keep_entry(&dc->v, apr_palloc(c->pool, size));

    if (src.file != NULL)
        watched_release(sc->allow);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "devprov: connection verdict: %s%s, vendor %s, chain %s, "
                  "allowlist %s, sha256 %s%s%s",
                  dc->v.id.status == DP_ST_DEVICE ? "device "
                                                  : "not a device",
                  dc->v.mac, dc->v.id.vendor ? dc->v.id.vendor->name : "-",
                  dc->v.id.vendor ? dp_time_status_string(dc->v.id.time)
                                  : "-",
                  dc->v.listed == DP_LISTED_NONE ? "-"
                  : dc->v.listed == DP_LISTED_DOWN ? "unanswered"
                  : dc->v.listed ? "listed" : "unlisted",
                  dc->v.sha256[0] ? dc->v.sha256 : "-",
                  dc->v.id.reason[0] ? ": " : "", dc->v.id.reason);
}

/* A verdict is made again on a kept-alive connection when the allowlist
 * it used may have changed: the file was re-read since, the database's
 * answer is older than its cache TTL, or the database did not answer. */
static int verdict_stale(request_rec *r, const devprov_srv_t *sc,
                         const devprov_conn_t *dc)
{
    if (dc->v.listed == DP_LISTED_DOWN)
        return 1;
    if (sc->sql != NULL)
        return apr_time_now() - dc->made >= devprov_sql_ttl(sc->sql);
    if (sc->allow == NULL)
        return 0;
    if (watched_due(sc->allow)) {
        watched_acquire(r, sc->allow);          /* re-reads if changed */
        watched_release(sc->allow);
    }
    return __atomic_load_n(&sc->allow->generation, __ATOMIC_ACQUIRE)
           != dc->allow_gen;
}

/* mod_devprov_ssl.c, from mod_ssl's pre_handshake hook: the TLS state of
 * connection C, so that a kept-alive connection's certificate is compared
 * as OpenSSL holds it rather than encoded again as SSL_CLIENT_CERT on
 * every request (most of what reusing a verdict used to cost). */
void devprov_conn_ssl(conn_rec *c, SSL *ssl)
{
    devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                              &devprov_module);

    if (dc == NULL) {
        dc = apr_pcalloc(c->pool, sizeof(*dc));
        ap_set_module_config(c->conn_config, &devprov_module, dc);
    }
    dc->ssl = ssl;
}

/* For mod_devprov_ssl.c: the SSL of connection C, or NULL. */
SSL *devprov_conn_get_ssl(const conn_rec *c)
{
    const devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                                    &devprov_module);

    return dc != NULL ? dc->ssl : NULL;
}

/* Is the client certificate X the one DC's verdict was made for?  The
 * same object (the verdict holds a reference to it, so its address cannot
 * have been reused), or an equal one: X509_cmp compares the cached SHA-1
 * of both and then their whole to-be-signed encodings. */
static int same_peer(const X509 *x, const devprov_conn_t *dc)
{
    if (x == dc->peer)
        return 1;
    if (x == NULL || dc->peer == NULL)
        return 0;
    return X509_cmp(x, dc->peer) == 0;
}

static apr_status_t peer_free(void *data)
{
    devprov_conn_t *dc = data;

    X509_free(dc->peer);
    dc->peer = NULL;
    return APR_SUCCESS;
}

/* Remember X (or none) as the certificate of DC's new verdict. */
static void keep_peer(conn_rec *c, devprov_conn_t *dc, X509 *x)
{
    if (dc->peer == NULL && x != NULL)
        apr_pool_cleanup_register(c->pool, dc, peer_free,
                                  apr_pool_cleanup_null);
    else if (dc->peer != NULL && x == NULL)
        apr_pool_cleanup_kill(c->pool, dc, peer_free);
    X509_free(dc->peer);
    if (x != NULL)
        X509_up_ref(x);
    dc->peer = x;
}

/* The client certificate as mod_ssl exports it (PEM), "" if none. */
static const char *client_pem(request_rec *r)
{
    const char *pem = NULL;

    if (ap_ssl_conn_is_ssl(r->connection))
        pem = ssl_var(r, "SSL_CLIENT_CERT");
    return pem != NULL ? pem : "";
}

static devprov_conn_t *get_verdict(request_rec *r, const devprov_srv_t *sc)
{
    conn_rec *c = r->connection;
    devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                              &devprov_module);
    const char *pem = "";
    X509 *peer = NULL;
    int same;

    if (dc != NULL && dc->ssl != NULL) {
        peer = SSL_get0_peer_certificate(dc->ssl);
        same = dc->conf == sc && same_peer(peer, dc);
    }
    else {
        /* without mod_ssl's hook: the certificate as mod_ssl exports it */
        pem = client_pem(r);
        same = dc != NULL && dc->conf == sc && strcmp(dc->pem, pem) == 0;
    }
    if (same && !verdict_stale(r, sc, dc)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "devprov: reusing this connection's verdict");
        dc->reused = 1;
        return dc;
    }
    if (dc == NULL) {
        dc = apr_pcalloc(c->pool, sizeof(*dc));
        ap_set_module_config(c->conn_config, &devprov_module, dc);
    }
    if (dc->ssl != NULL) {
        pem = client_pem(r);
        keep_peer(c, dc, peer);
    }
    make_verdict(r, sc, pem, dc);
    if (!ap_ssl_conn_is_ssl(c))
        dp_identity_reason(&dc->v.id, DP_REASON_NOT_TLS, NULL);
    return dc;
}

/* ------------------------------------------------------------------ */
/* per request                                                         */

static int drop_device_var(void *data, const char *key, const char *val)
{
    (void)val;
    if (strncasecmp(key, "DEVICE_", 7) == 0)
        APR_ARRAY_PUSH((apr_array_header_t *)data, const char *) = key;
    return 1;
}

static void set_device_var(void *arg, const char *key, const char *value)
{
    apr_table_set(arg, key, value);
}

typedef struct {
    apr_array_header_t *vars;
    apr_pool_t *pool;
} var_list_t;

/* As apr_table_set would: a key set again keeps its place, with the new
 * value (the list is made once per verdict). */
static void add_device_var(void *arg, const char *key, const char *value)
{
    var_list_t *l = arg;
    int i;

    for (i = 0; i < l->vars->nelts; i += 2)
        if (strcasecmp(APR_ARRAY_IDX(l->vars, i, const char *), key) == 0) {
            APR_ARRAY_IDX(l->vars, i + 1, const char *) =
                apr_pstrdup(l->pool, value);
            return;
        }
    APR_ARRAY_PUSH(l->vars, const char *) = apr_pstrdup(l->pool, key);
    APR_ARRAY_PUSH(l->vars, const char *) = apr_pstrdup(l->pool, value);
}

/* Export the verdict, replacing whatever DEVICE_* an earlier verdict (or
 * an inherited environment) left.  The request's revocation
 * (check_revoked()) must be in dc->v.  The variables of a verdict are
 * listed once, in c->pool, and every request on the connection gets
 * them without copies; a revoked client's (rare) are made afresh. */
static void export_verdict(request_rec *r, devprov_conn_t *dc)
{
    apr_table_t *e = r->subprocess_env;
    apr_array_header_t *old = NULL;
    const apr_array_header_t *h = apr_table_elts(e);
    const apr_table_entry_t *ent = (const apr_table_entry_t *)h->elts;
    int i;

    for (i = 0; i < h->nelts; i++)
        if (ent[i].key != NULL && strncasecmp(ent[i].key, "DEVICE_", 7) == 0)
            break;
    if (i < h->nelts) {
        old = apr_array_make(r->pool, 8, sizeof(char *));
        apr_table_do(drop_device_var, old, e, NULL);
        for (i = 0; i < old->nelts; i++)
            apr_table_unset(e, APR_ARRAY_IDX(old, i, const char *));
    }
    if (dc->v.revoked) {
        dp_verdict_export(&dc->v, dc->enrol, set_device_var, e);
        return;
    }
    if (dc->vars == NULL) {
        var_list_t l;

        l.pool = r->connection->pool;
        l.vars = apr_array_make(l.pool, 24, sizeof(const char *));
        dp_verdict_export(&dc->v, dc->enrol, add_device_var, &l);
        dc->vars = l.vars;
    }
    /* no DEVICE_* is left in E and the list has no key twice: added
     * without apr_table_setn's search for the key */
    for (i = 0; i + 1 < dc->vars->nelts; i += 2)
        apr_table_addn(e, APR_ARRAY_IDX(dc->vars, i, const char *),
                       APR_ARRAY_IDX(dc->vars, i + 1, const char *));
}

/* Is this request's client revoked?  Checked per request (not cached per
 * connection), so a revocation also ends a kept-alive connection's
 * access.  Sets and returns dc->v.revoked. */
static int check_revoked(request_rec *r, const devprov_srv_t *sc,
                         devprov_conn_t *dc)
{
    /* without a certificate nothing is looked up: the list is not even
     * re-read */
    if (sc->revoked == NULL || dc->v.sha256[0] == '\0')
        return dp_verdict_revoke(&dc->v, NULL);
    dp_verdict_revoke(&dc->v, watched_acquire(r, sc->revoked));
    watched_release(sc->revoked);
    return dc->v.revoked;
}

/* DevprovBindPath: a request whose path names a per-MAC file of another
 * phone (or, from a client that is not a device, of any phone) is refused,
 * whatever its method (GET, PUT log uploads, POST, DELETE).  Runs in
 * post_read_request, before mod_rewrite, <Location>, aliases and any
 * handler, on the path exactly as the client sent it (r->unparsed_uri;
 * httpd has not yet decoded or normalised r->uri at this point).
 * dp_path_check does not rely on that normalisation: it finds MACs in
 * every segment, also in ones ".." would remove, and decodes %XX itself,
 * repeatedly.  A revoked phone owns no file. */
static int bind_path_check(request_rec *r, const devprov_srv_t *sc,
                           const devprov_conn_t *dc, int revoked)
{
    const dp_mac_t *own;
    dp_mac_t found;
    char mac[DP_MAC_STRLEN + 1];
    int rc = 0;

    if (sc->bind_path != 1)
        return DECLINED;
    own = !revoked && dc->v.id.status == DP_ST_DEVICE ? &dc->v.id.mac : NULL;
    if (r->unparsed_uri != NULL)
        rc = dp_path_check(r->unparsed_uri, strlen(r->unparsed_uri), own,
                           &found);
    if (rc == 0 && r->uri != NULL)
        rc = dp_path_check(r->uri, strlen(r->uri), own, &found);
    if (rc == 0)
        return DECLINED;
    if (rc < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "devprov: denied (DevprovBindPath): out of memory "
                      "checking the path");
        return HTTP_FORBIDDEN;
    }
    if (rc == DP_PATH_TOO_DEEP) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "devprov: denied (DevprovBindPath): path still "
                      "%%-encoded after 4 rounds of decoding");
        return HTTP_FORBIDDEN;
    }
    dp_mac_format(&found, mac);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "devprov: denied (DevprovBindPath): path names MAC %s, "
                  "%s%s", mac, own ? "device is " : "not a device",
                  own ? dc->v.mac : "");
    return HTTP_FORBIDDEN;
}

/* Count the request in its virtual host's status counters, once, as
 * decided and exported (mod_devprov_status.c); returns STATUS. */
static int counted(request_rec *r, const devprov_srv_t *sc,
                   devprov_conn_t *dc, dp_deny_t deny, int status,
                   int count)
{
    if (count)
        devprov_status_request(r, sc->counters, &dc->v, deny, dc->reused,
                               dc->idcached);
    return status;
}

/* Initial requests: identify, export, and refuse if configured.  Running
 * this early lets mod_rewrite, "Require expr" and per-directory SetEnvIf
 * see the variables. */
static int refuse(request_rec *r, const devprov_srv_t *sc, int count)
{
    devprov_conn_t *dc = get_verdict(r, sc);
    int revoked = check_revoked(r, sc, dc), status;

    export_verdict(r, dc);
    if (dc->v.listed == DP_LISTED_DOWN && !revoked
        && devprov_sql_unavailable_status(sc->sql) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "devprov: refused with %d (DevprovAllowlistSQL "
                      "unavailable=): %s%s%s",
                      devprov_sql_unavailable_status(sc->sql),
                      dp_reason_info(DP_REASON_DB_UNAVAILABLE)->log,
                      dc->v.mac[0] ? " for mac " : "", dc->v.mac);
        return counted(r, sc, dc, DP_DENY_UNAVAILABLE,
                       devprov_sql_unavailable_status(sc->sql), count);
    }
    if (dp_verdict_denied(&dc->v, deny_mode(sc))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "devprov: denied (DevprovDeny %s): %s%s%s%s%s",
                      deny_mode(sc) == DP_POLICY_UNLISTED ? "unlisted"
                                                          : "unverified",
                      dp_verdict_reason(&dc->v),
                      dc->v.mac[0] ? ", mac " : "", dc->v.mac,
                      dc->v.sha256[0] ? ", sha256 " : "", dc->v.sha256);
        return counted(r, sc, dc, DP_DENY_POLICY, HTTP_FORBIDDEN, count);
    }
    status = bind_path_check(r, sc, dc, revoked);
    return counted(r, sc, dc, status == DECLINED ? DP_DENY_NONE
                                                 : DP_DENY_BIND_PATH, status,
                   count);
}

static int post_read_request(request_rec *r)
{
    const devprov_srv_t *sc = ap_get_module_config(r->server->module_config,
                                                   &devprov_module);
    int status;

    if (!engine_on(sc))
        return DECLINED;
    status = refuse(r, sc, 1);
    /* httpd ends the connection after an error from this phase: say so
     * in the response (Connection: close), so that a client does not
     * send its next request into a closed connection */
    if (status != DECLINED)
        r->connection->keepalive = AP_CONN_CLOSE;
    return status;
}

/* Did the client certificate change since the verdict was made?  A
 * per-directory SSLVerifyClient makes mod_ssl ask for one while checking
 * access (a TLS 1.2 renegotiation or TLS 1.3 post-handshake
 * authentication), after post_read_request has judged the request. */
static int peer_changed(const conn_rec *c)
{
    const devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                                    &devprov_module);

    return dc != NULL && dc->ssl != NULL && dc->conf != NULL
           && !same_peer(SSL_get0_peer_certificate(dc->ssl), dc);
}

/* Internal redirects (mod_actions, ErrorDocument, DirectoryIndex) and
 * subrequests start with a fresh environment: export again, from the same
 * connection verdict.  An initial request whose certificate arrived (or
 * changed) during access checking is judged again, refusals included;
 * it is counted once, by post_read_request. */
static int fixups(request_rec *r)
{
    const devprov_srv_t *sc = ap_get_module_config(r->server->module_config,
                                                   &devprov_module);

    if (!engine_on(sc))
        return DECLINED;
    if (r->main == NULL && r->prev == NULL) {
        int status;

        if (!peer_changed(r->connection))
            return DECLINED;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "devprov: the client certificate changed during "
                      "access checking: judging the request again");
        status = refuse(r, sc, 0);
        if (status != DECLINED)
            r->connection->keepalive = AP_CONN_CLOSE;
        return status;
    }
    {
        devprov_conn_t *dc = get_verdict(r, sc);

        check_revoked(r, sc, dc);
        export_verdict(r, dc);
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    /* after mod_ssl's own checks (SNI/Host, plain HTTP on a TLS port).
     * mod_ssl itself runs after mod_setenvif's server-context SetEnvIf,
     * so only per-directory SetEnvIf (header_parser) sees DEVICE_*. */
    static const char *const pre[] = { "mod_ssl.c", NULL };

    (void)p;
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(post_read_request, pre, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* status counters: mod_status section, devprov-status handler */
    devprov_status_register_hooks(p);
    /* stock mod_ssl: the handshake tolerance, SSL_CLIENT_VERIFY=EXPIRED */
    devprov_ssl_register_hooks(p);
}

module AP_MODULE_DECLARE_DATA devprov_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config: none */
    NULL,
    create_srv,
    merge_srv,
    devprov_cmds,
    register_hooks,
    /* as mod_ssl, mod_md and mod_tls: the server config holds per-vhost
     * runtime state (status counters, identity cache, stock mode's
     * handshake tolerance), so every vhost needs a record of its own.
     * Without this flag httpd gives a vhost that has no Devprov
     * directive the main server's record itself (merge_srv is not
     * called), and all such vhosts share that state. */
    AP_MODULE_FLAG_ALWAYS_MERGE
};
