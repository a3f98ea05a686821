/* mod_devprov_config.c - devprov's directives: the server config record,
 * its merge, the directive handlers and table, the cross-directive checks
 * (check_config, also under "apache2 -t") and each server's runtime state
 * (post_config).
 *
 * Licensed under the Apache License, Version 2.0.
 */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "util_cfgtree.h"               /* ap_conftree */
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_devprov_check.h"
#include "mod_devprov_private.h"
#include "src/dp_conf.h"
#include "src/dp_idcache.h"

APLOG_USE_MODULE(devprov);

static apr_status_t cleanup_keyset(void *data);

void *devprov_create_srv(apr_pool_t *p, server_rec *s)
{
    devprov_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->engine = UNSET;
    sc->deny = UNSET;
    sc->bind_path = UNSET;
    sc->user_id = UNSET;
    return sc;
}

/* SC's values as the core's model merges and checks them */
static void to_layer(const devprov_srv_t *sc, dp_conf_layer_t *l)
{
    l->engine = sc->engine;
    l->deny = sc->deny;
    l->bind_path = sc->bind_path;
    l->user_id = sc->user_id;
    l->policy_here = sc->policy_here;
    l->vendors = sc->vendors;
    l->allow = sc->allow;
    l->sql = sc->sql;
    l->revoked = sc->revoked;
    l->enrol_path = sc->enrol_path;
    l->deny_keys = sc->deny_keys;
}

/* Configuration only: the runtime state (ids, counters, ssl) is never
 * copied from BASE.  apr_pcalloc leaves it NULL, and post_config and
 * mod_devprov_ssl.c's init_server make it for this virtual host alone
 * (httpd calls this for every vhost: AP_MODULE_FLAG_ALWAYS_MERGE).  The
 * rules of inheritance are the core's (dp_conf_merge). */
void *devprov_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const devprov_srv_t *base = basev, *add = addv;
    devprov_srv_t *sc = apr_pcalloc(p, sizeof(*sc));
    dp_conf_layer_t b, a, m;
    dp_keyset_t *made;

    to_layer(base, &b);
    to_layer(add, &a);
    /* out of memory for the union of the deny keys: M keeps the
     * stricter half (ADD's) */
    (void)dp_conf_merge(&b, &a, &m, &made);
    if (made != NULL)
        apr_pool_cleanup_register(p, made, cleanup_keyset,
                                  apr_pool_cleanup_null);
    sc->engine = m.engine;
    sc->deny = m.deny;
    sc->bind_path = m.bind_path;
    sc->user_id = m.user_id;
    sc->user_id_where = m.user_id == add->user_id ? add->user_id_where
                                                  : base->user_id_where;
    sc->policy_here = m.policy_here;
    sc->vendors = m.vendors;
    sc->vendor_ptrs = m.vendors == add->vendors ? add->vendor_ptrs
                                                : base->vendor_ptrs;
    sc->allow = m.allow;
    sc->sql = m.sql;
    sc->fleet_sql = add->fleet_sql != NULL ? add->fleet_sql : base->fleet_sql;
    sc->revoked = m.revoked;
    sc->enrol_path = m.enrol_path;
    sc->deny_keys = m.deny_keys;
    /* set in the main server only (devprov_fleet_cmd): every vhost
     * records into it */
    sc->fleet = add->fleet != NULL ? add->fleet : base->fleet;
    return sc;
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
    return devprov_srv(cmd->server);
}

/* the core's verdict on a value: NULL, or its message for httpd */
static const char *said(cmd_parms *cmd, int rc, const char *err)
{
    return rc < 0 ? apr_pstrdup(cmd->pool, err) : NULL;
}

static apr_status_t cleanup_vendor(void *data)
{
    dp_conf_vendor_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_keyset(void *data)
{
    dp_keyset_free(data);
    return APR_SUCCESS;
}

static apr_status_t cleanup_idcache(void *data)
{
    struct idcache *ids = data;

    dp_idcache_free(ids->cache);
    dp_sesskeys_free(ids->sessions);
    return APR_SUCCESS;
}

/* Find or create the vendor NAME in the server being configured. */
static const char *get_vendor(cmd_parms *cmd, const char *name,
                              vendor_conf_t **out)
{
    devprov_srv_t *sc = devprov_srv(cmd->server);
    char err[DP_CONF_ERR_MAX];
    vendor_conf_t *vc;
    int i;

    for (i = 0; sc->vendors != NULL && i < sc->vendors->nelts; i++) {
        vc = APR_ARRAY_IDX(sc->vendors, i, vendor_conf_t *);
        if (strcmp(vc->v.name, name) == 0) {
            *out = vc;
            return NULL;
        }
    }
    vc = dp_conf_vendor_new(cmd->cmd->name, name, devprov_cmd_where(cmd),
                            err, sizeof(err));
    if (vc == NULL)
        return apr_pstrdup(cmd->pool, err);
    apr_pool_cleanup_register(cmd->pool, vc, cleanup_vendor,
                              apr_pool_cleanup_null);
    if (sc->vendors == NULL) {
        sc->vendors = apr_array_make(cmd->pool, 4, sizeof(vendor_conf_t *));
        sc->vendor_ptrs = apr_array_make(cmd->pool, 4,
                                         sizeof(const dp_vendor_t *));
    }
    APR_ARRAY_PUSH(sc->vendors, vendor_conf_t *) = vc;
    APR_ARRAY_PUSH(sc->vendor_ptrs, const dp_vendor_t *) = &vc->v;
    *out = vc;
    return NULL;
}

/* The vendor NAME a per-vendor directive configures (found or made),
 * or NULL with the reason in *ERR. */
static vendor_conf_t *vendor_for(cmd_parms *cmd, const char *name,
                                 const char **err)
{
    vendor_conf_t *vc = NULL;

    if ((*err = check_context(cmd)) == NULL)
        *err = get_vendor(cmd, name, &vc);
    return *err == NULL ? vc : NULL;
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
    const char *msg;
    vendor_conf_t *vc = vendor_for(cmd, vendor, &msg);
    char err[DP_CONF_ERR_MAX];
    const char *file;

    (void)dc;
    if (vc == NULL)
        return msg;
    file = ap_server_root_relative(cmd->pool, path);
    if (file == NULL)
        return apr_psprintf(cmd->pool, "%s %s: invalid path '%s'",
                            cmd->cmd->name, vendor, path);
    return said(cmd, dp_conf_vendor_trust(vc, cmd->cmd->name, file, err,
                                          sizeof(err)), err);
}

static const char *cmd_macfrom(cmd_parms *cmd, void *dc, const char *vendor,
                               const char *attr, const char *pattern)
{
    const char *msg;
    vendor_conf_t *vc = vendor_for(cmd, vendor, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (vc == NULL)
        return msg;
    return said(cmd, dp_conf_vendor_macfrom(vc, cmd->cmd->name, attr,
                                            pattern, err, sizeof(err)), err);
}

static const char *cmd_seclevel(cmd_parms *cmd, void *dc, const char *vendor,
                                const char *level)
{
    const char *msg;
    vendor_conf_t *vc = vendor_for(cmd, vendor, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (vc == NULL)
        return msg;
    return said(cmd, dp_conf_vendor_seclevel(vc, cmd->cmd->name, level, err,
                                             sizeof(err)), err);
}

static const char *cmd_notyetvalid(cmd_parms *cmd, void *dc,
                                   const char *vendor, const char *flag)
{
    const char *msg;
    vendor_conf_t *vc = vendor_for(cmd, vendor, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (vc == NULL)
        return msg;
    return said(cmd, dp_conf_vendor_notyetvalid(vc, cmd->cmd->name, flag,
                                                err, sizeof(err)), err);
}

/* DevprovAllowlist or DevprovAllowlistSQL (SQL) where the server may
 * already have one of them */
static const char *allowlist_once(cmd_parms *cmd, const devprov_srv_t *sc,
                                  int sql)
{
    char err[DP_CONF_ERR_MAX];

    return said(cmd, dp_conf_allowlist_once(cmd->cmd->name, sql,
                                            sc->allow ? sc->allow->path
                                                      : NULL,
                                            sc->sql ? devprov_sql_where(
                                                          sc->sql)
                                                    : NULL,
                                            err, sizeof(err)), err);
}

static const char *cmd_allowlist(cmd_parms *cmd, void *dc, const char *path,
                                 const char *secs)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if ((msg = allowlist_once(cmd, sc, 0)) != NULL)
        return msg;
    return devprov_watch_open(cmd, path, secs, DEVPROV_LIST_ALLOW,
                              &sc->allow);
}

static const char *cmd_allowlist_sql(cmd_parms *cmd, void *dc, int argc,
                                     char *const argv[])
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if ((msg = allowlist_once(cmd, sc, 1)) != NULL)
        return msg;
    return devprov_sql_open(cmd, argc, argv, &sc->sql);
}

static const char *cmd_fleet_sql(cmd_parms *cmd, void *dc, int argc,
                                 char *const argv[])
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    if (sc->fleet_sql != NULL)
        return apr_psprintf(cmd->pool, "%s: already set here, at %s: say "
                            "it once per server or virtual host",
                            cmd->cmd->name,
                            devprov_sql_fleet_where(sc->fleet_sql));
    return devprov_sql_fleet_open(cmd, argc, argv, &sc->fleet_sql);
}

static const char *cmd_denykey(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[DP_CONF_ERR_MAX];
    int had, rc;

    (void)dc;
    if (sc == NULL)
        return msg;
    if (strncmp(arg, "sha256:", 7) != 0) {
        arg = ap_server_root_relative(cmd->pool, arg);
        if (arg == NULL)
            return apr_psprintf(cmd->pool, "%s: invalid path",
                                cmd->cmd->name);
    }
    had = sc->deny_keys != NULL;
    rc = dp_conf_denykey(&sc->deny_keys, cmd->cmd->name, arg, err,
                         sizeof(err));
    if (!had && sc->deny_keys != NULL)
        apr_pool_cleanup_register(cmd->pool, sc->deny_keys, cleanup_keyset,
                                  apr_pool_cleanup_null);
    return said(cmd, rc, err);
}

static const char *cmd_revoked(cmd_parms *cmd, void *dc, const char *path,
                               const char *secs)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (sc == NULL)
        return msg;
    if ((msg = said(cmd, dp_conf_revoked_once(cmd->cmd->name,
                                              sc->revoked != NULL, err,
                                              sizeof(err)), err)) != NULL)
        return msg;
    return devprov_watch_open(cmd, path, secs, DEVPROV_LIST_REVOKED,
                              &sc->revoked);
}

static const char *cmd_enrol(cmd_parms *cmd, void *dc, const char *path)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[DP_CONF_ERR_MAX];
    const char *file;

    (void)dc;
    if (sc == NULL)
        return msg;
    file = ap_server_root_relative(cmd->pool, path);
    if (file == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, path);
    if ((msg = said(cmd, dp_conf_enrol(cmd->cmd->name, file, err,
                                       sizeof(err)), err)) != NULL)
        return msg;
    sc->enrol_path = file;
    return NULL;
}

static const char *cmd_deny(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (sc == NULL)
        return msg;
    if ((msg = said(cmd, dp_conf_deny(cmd->cmd->name, arg, &sc->deny, err,
                                      sizeof(err)), err)) != NULL)
        return msg;
    if (sc->deny != DP_POLICY_OFF)
        sc->policy_here = 1;
    return NULL;
}

static const char *cmd_useridentity(cmd_parms *cmd, void *dc, int argc,
                                    char *const argv[])
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);
    char err[DP_CONF_ERR_MAX];

    (void)dc;
    if (sc == NULL)
        return msg;
    if ((msg = said(cmd, dp_conf_user_identity(cmd->cmd->name, argc,
                                               (const char *const *)argv,
                                               &sc->user_id, err,
                                               sizeof(err)), err)) != NULL)
        return msg;
    sc->user_id_where = devprov_cmd_where(cmd);
    return NULL;
}

static const char *cmd_bindpath(cmd_parms *cmd, void *dc, int flag)
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    sc->bind_path = flag ? 1 : 0;
    if (sc->bind_path == 1)
        sc->policy_here = 1;
    return NULL;
}

static const char *cmd_fleet(cmd_parms *cmd, void *dc, int argc,
                             char *const argv[])
{
    const char *msg;
    devprov_srv_t *sc = conf_for(cmd, &msg);

    (void)dc;
    if (sc == NULL)
        return msg;
    return devprov_fleet_cmd(cmd, argc, argv, &sc->fleet);
}

const command_rec devprov_cmds[] = {
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
                      "[unlisted-ttl=<s>] [entries=<n>] [timeout=<ms>] "
                      "[connections=<n>] [unavailable=<status>|continue]: "
                      "the phones this server provisions, from a database "
                      "through mod_dbd"),
    AP_INIT_TAKE_ARGV("DevprovFleetSQL", cmd_fleet_sql, NULL, RSRC_CONF,
                      "\"<statement with " DEVPROV_FLEET_PARAM_NAMES
                      " as %s>\" [interval=<s>] [timeout=<ms>] "
                      "[entries=<n>]: record each phone in a database "
                      "through mod_dbd, once per interval per process"),
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
    AP_INIT_TAKE_ARGV("DevprovUserIdentity", cmd_useridentity, NULL,
                      RSRC_CONF,
                      "off, on, or the clients (no-cert generic no-mac "
                      "unverified) that httpd's authentication may "
                      "identify by their user name"),
    AP_INIT_TAKE_ARGV("DevprovFleet", cmd_fleet, NULL, RSRC_CONF,
                      "DevprovFleet <file> [entries=<phones>] "
                      "[waiting=<phones>] [stale=<days>]: record every "
                      "phone judged (main server only)"),
    AP_INIT_FLAG("DevprovBindPath", cmd_bindpath, NULL, RSRC_CONF,
                 "on|off: refuse a request whose path names another "
                 "phone's MAC"),
    { NULL }
};

/* a problem check_config found, logged as "apache2 -t" shows it */
static void report_emerg(void *arg, const char *msg)
{
    int *rc = arg;

    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "%s",
                 msg);
    *rc = !OK;
}

/* Cross-directive checks, run by "apache2 -t" too: the core's
 * (dp_conf_check_*) and those that need the rest of the server. */
/* The last "CacheQuickHandler" among the directives from D on (not
 * descending): 1 on, 0 off, -1 none. */
static int quick_handler_in(const ap_directive_t *d)
{
    int v = -1;

    for (; d != NULL; d = d->next)
        if (strcasecmp(d->directive, "CacheQuickHandler") == 0 && d->args)
            v = strcasecmp(d->args, "off") != 0;
    return v;
}

/* Does mod_cache serve S's requests from its quick handler (its default,
 * CacheQuickHandler on), that is before httpd checks authentication and
 * before devprov's fixups?  S's <VirtualHost> block, else the main
 * server's top level, says. */
static int cache_quick_handler(const server_rec *s)
{
    const ap_directive_t *d;
    int v = -1;

    if (ap_find_linked_module("mod_cache.c") == NULL)
        return 0;
    for (d = ap_conftree; s->is_virtual && d != NULL; d = d->next)
        if (strcasecmp(d->directive, "<VirtualHost") == 0
            && d->filename != NULL && s->defn_name != NULL
            && strcmp(d->filename, s->defn_name) == 0
            && d->line_num == (int)s->defn_line_number) {
            v = quick_handler_in(d->first_child);
            break;
        }
    if (v < 0)
        v = quick_handler_in(ap_conftree);
    return v != 0;
}

int devprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s)
{
    int rc = OK;
    /* vendor= in an allowlist may name a vendor of any server */
    const devprov_known_t *known = devprov_check_known(s, pconf);
    /* devprov.load no longer says "# Depends: ssl" (either mod_ssl will
     * do): without one, no vhost can give devprov a certificate */
    int no_ssl = ap_find_linked_module("mod_ssl.c") == NULL;
    /* DevprovUserIdentity takes who httpd authenticated: without an
     * authentication module nobody ever is */
    int no_authn = ap_find_linked_module("mod_auth_basic.c") == NULL
                   && ap_find_linked_module("mod_auth_digest.c") == NULL
                   && ap_find_linked_module("mod_auth_form.c") == NULL;

    (void)plog;
    for (; s != NULL; s = s->next) {
        const devprov_srv_t *sc = devprov_srv(s);
        const char *vhost = apr_psprintf(ptemp, "%s:%u (%s:%d)",
                                         s->server_hostname,
                                         s->addrs ? s->addrs->host_port
                                                  : s->port,
                                         s->defn_name ? s->defn_name : "?",
                                         s->defn_line_number);
        size_t nvendors = sc->vendors != NULL ? (size_t)sc->vendors->nelts
                                              : 0;
        dp_conf_layer_t l;

        to_layer(sc, &l);
        dp_conf_check_server(&l, nvendors
                                 ? (const dp_conf_vendor_t *const *)
                                       sc->vendors->elts
                                 : NULL,
                             nvendors, s->is_virtual, vhost, report_emerg,
                             &rc);
        /* each list once (vhosts inherit the main server's), and its
         * re-read versions the same way (mod_devprov_watch.c) */
        if (sc->allow != NULL && sc->allow->accept == NULL) {
            sc->allow->accept = devprov_check_allowlist_reread;
            sc->allow->accept_arg = known;
            if (devprov_check_allowlist(known, sc->allow->list,
                                        sc->allow->path,
                                        sc->allow->directive_where,
                                        ptemp) != OK)
                rc = !OK;
        }
        if (sc->sql != NULL) {
            devprov_sql_known_vendors(sc->sql, known);
            if (devprov_engine_on(sc))
                devprov_sql_check_server(sc->sql, s, vhost);
        }
        if (sc->fleet_sql != NULL && devprov_engine_on(sc)) {
            const char *why = devprov_sql_fleet_check(sc->fleet_sql, s, vhost,
                                                      ptemp);
            if (why != NULL)
                report_emerg(&rc, why);
        }
        if (devprov_check_handshake(s, vhost, ptemp) != OK)
            rc = !OK;
        dp_conf_check_engine(&l, nvendors, vhost, report_emerg, &rc);
        if (no_ssl && devprov_engine_on(sc)) {
            report_emerg(&rc, apr_psprintf(ptemp, "devprov: %s: "
                         "DevprovEngine on, but no mod_ssl is loaded, so no "
                         "phone can show a certificate: enable one, "
                         "\"a2enmod ssl\" (Debian's mod_ssl: stock mode) or "
                         "\"a2enmod ssl_expired\" (the patched mod_ssl, "
                         "package libapache2-mod-ssl-expired)", vhost));
            no_ssl = 0;    /* said once */
        }
        if (no_authn && devprov_engine_on(sc) && sc->user_id > 0) {
            report_emerg(&rc, apr_psprintf(ptemp, "devprov: %s: "
                         "DevprovUserIdentity (%s) identifies phones by the "
                         "user name httpd authenticated, but no "
                         "authentication module is loaded "
                         "(mod_auth_digest, mod_auth_basic or "
                         "mod_auth_form): \"a2enmod auth_digest\"", vhost,
                         sc->user_id_where ? sc->user_id_where : "?"));
            no_authn = 0;
        }
        /* a client waiting to be judged after authentication would be
         * served from the cache before it is */
        if (devprov_engine_on(sc) && sc->user_id > 0
            && cache_quick_handler(s)) {
            report_emerg(&rc, apr_psprintf(ptemp, "devprov: %s: "
                         "DevprovUserIdentity (%s) judges some clients only "
                         "after httpd's authentication, but mod_cache's "
                         "quick handler would serve them from the cache "
                         "before that: say \"CacheQuickHandler off\" in "
                         "this virtual host (or the main server)", vhost,
                         sc->user_id_where ? sc->user_id_where : "?"));
        }
    }
    return rc;
}

int devprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    /* under "apache2 -X" no monitor runs: the process re-reads itself */
    int shared = !ap_exists_config_define("ONE_PROCESS");
    /* status counters in shared memory, zero at every (re)start */
    devprov_status_t *stats = devprov_status_begin(pconf, ptemp, s);
    /* the threads a process lets wait for databases, over all of them */
    devprov_sql_turns_t *turns = NULL;

    (void)plog;
    /* the fleet record, once for the whole server (the main server's) */
    if (devprov_fleet_post_config(s, devprov_srv(s)->fleet, ptemp) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    for (; s != NULL; s = s->next) {
        devprov_srv_t *sc = devprov_srv(s);
        watched_t *w = sc->allow;

        /* every server_rec has a record of its own (ALWAYS_MERGE): its
         * own counters and identity cache */
        if (devprov_engine_on(sc))
            sc->counters = devprov_status_slot(stats, s);
        if (devprov_engine_on(sc)) {
            struct idcache *ids = apr_pcalloc(pconf, sizeof(*ids));
            ids->cache = dp_idcache_new(IDCACHE_ENTRIES);
            ids->sessions = dp_sesskeys_new(IDCACHE_ENTRIES);
            if (ids->cache == NULL || ids->sessions == NULL
                || apr_thread_mutex_create(&ids->mutex,
                                           APR_THREAD_MUTEX_DEFAULT, pconf)
                   != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: out "
                             "of memory for the identity cache");
                cleanup_idcache(ids);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            apr_pool_cleanup_register(pconf, ids, cleanup_idcache,
                                      apr_pool_cleanup_null);
            sc->ids = ids;
        }
        /* an inherited DevprovAllowlistSQL may query another database
         * here (this vhost's DBDParams): its answers are kept apart */
        if (devprov_engine_on(sc) && sc->sql != NULL && turns == NULL
            && (turns = devprov_sql_turns_new(pconf)) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: cannot "
                         "create a mutex for DevprovAllowlistSQL");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (devprov_engine_on(sc) && sc->sql != NULL
            && devprov_sql_init_server(sc->sql, s, turns, pconf)
               != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
        if (devprov_engine_on(sc) && sc->fleet_sql != NULL
            && devprov_sql_fleet_init(sc->fleet_sql, s, pconf) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;

        if (w != NULL && shared)
            devprov_watch_share(s, w, pconf, ptemp);
        if (!devprov_engine_on(sc))
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
