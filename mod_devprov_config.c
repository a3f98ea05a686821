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
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_devprov_check.h"
#include "mod_devprov_private.h"
#include "src/dp_idcache.h"
#include "src/dp_trust.h"

APLOG_USE_MODULE(devprov);

static apr_status_t cleanup_keyset(void *data);

void *devprov_create_srv(apr_pool_t *p, server_rec *s)
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
void *devprov_merge_srv(apr_pool_t *p, void *basev, void *addv)
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
    devprov_srv_t *sc = devprov_srv(cmd->server);
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
    vc->where = devprov_cmd_where(cmd);
    vc->rules = apr_array_make(cmd->pool, 2, sizeof(dp_macrule_t *));
    vc->trust_paths = apr_array_make(cmd->pool, 2, sizeof(const char *));
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
    APR_ARRAY_PUSH(vc->trust_paths, const char *) = file;
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
    return devprov_watch_open(cmd, path, secs, DEVPROV_LIST_REVOKED,
                              &sc->revoked);
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

/* Cross-directive checks, run by "apache2 -t" too. */
int devprov_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s)
{
    int rc = OK;
    /* vendor= in an allowlist may name a vendor of any server */
    const devprov_known_t *known = devprov_check_known(s, pconf);

    (void)plog;
    for (; s != NULL; s = s->next) {
        const devprov_srv_t *sc = devprov_srv(s);
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
            && devprov_deny_mode(sc) != DP_POLICY_OFF) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovDeny in virtual host %s has no "
                         "effect without DevprovEngine on (say "
                         "DevprovEngine off to disable it explicitly)",
                         vhost);
            rc = !OK;
        }
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
        if (sc->sql != NULL)
            devprov_sql_known_vendors(sc->sql, known);
        if (devprov_check_handshake(s, vhost, ptemp) != OK)
            rc = !OK;
        if (!devprov_engine_on(sc))
            continue;
        if (sc->vendors == NULL || sc->vendors->nelts == 0) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: DevprovEngine on in virtual host %s but "
                         "no DevprovTrust for it or the main server", vhost);
            rc = !OK;
        }
        if (devprov_deny_mode(sc) == DP_POLICY_UNLISTED && sc->allow == NULL
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
int devprov_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    /* under "apache2 -X" no monitor runs: the process re-reads itself */
    int shared = !ap_exists_config_define("ONE_PROCESS");
    /* status counters in shared memory, zero at every (re)start */
    devprov_status_t *stats = devprov_status_begin(pconf, ptemp, s);

    (void)plog;
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
        if (devprov_engine_on(sc) && sc->sql != NULL
            && devprov_sql_init_server(sc->sql, s, pconf) != APR_SUCCESS)
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
