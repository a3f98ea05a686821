/* mod_devprov.c - Apache glue for devprov: the module, its hooks and the
 * request phase.
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
 * The work is done by the pure-C core in src/ (no httpd headers); the
 * glue around it is split by concern (mod_devprov_private.h lists the
 * files).  This file judges each request from its connection's verdict
 * (mod_devprov_conn.c): revocation, DevprovDeny, DevprovBindPath, the
 * status counters.  No global state: configuration lives in the server
 * config (pconf), verdicts in the connection config (c->pool).
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mpm_common.h"                 /* ap_hook_monitor */

#include "mod_devprov_private.h"
#include "src/dp_mac.h"
#include "src/dp_path.h"
#include "src/dp_revoked.h"

APLOG_USE_MODULE(devprov);

/* ------------------------------------------------------------------ */
/* per request                                                         */

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
    dp_verdict_revoke(&dc->v, devprov_watch_acquire(r, sc->revoked));
    devprov_watch_release(sc->revoked);
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
    devprov_conn_t *dc = devprov_conn_verdict(r, sc);
    int revoked = check_revoked(r, sc, dc), status;

    devprov_conn_export(r, dc);
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
    if (dp_verdict_denied(&dc->v, devprov_deny_mode(sc))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "devprov: denied (DevprovDeny %s): %s%s%s%s%s",
                      devprov_deny_mode(sc) == DP_POLICY_UNLISTED ? "unlisted"
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
    const devprov_srv_t *sc = devprov_srv(r->server);
    int status;

    if (!devprov_engine_on(sc))
        return DECLINED;
    status = refuse(r, sc, 1);
    /* httpd ends the connection after an error from this phase: say so
     * in the response (Connection: close), so that a client does not
     * send its next request into a closed connection */
    if (status != DECLINED)
        r->connection->keepalive = AP_CONN_CLOSE;
    return status;
}

/* Internal redirects (mod_actions, ErrorDocument, DirectoryIndex) and
 * subrequests start with a fresh environment: export again, from the same
 * connection verdict.  An initial request whose certificate arrived (or
 * changed) during access checking is judged again, refusals included;
 * it is counted once, by post_read_request. */
static int fixups(request_rec *r)
{
    const devprov_srv_t *sc = devprov_srv(r->server);

    if (!devprov_engine_on(sc))
        return DECLINED;
    if (r->main == NULL && r->prev == NULL) {
        int status;

        if (!devprov_conn_peer_changed(r->connection))
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
        devprov_conn_t *dc = devprov_conn_verdict(r, sc);

        check_revoked(r, sc, dc);
        devprov_conn_export(r, dc);
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
    ap_hook_check_config(devprov_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(devprov_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(devprov_watch_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(post_read_request, pre, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* status counters: mod_status section, devprov-status handler */
    devprov_status_register_hooks(p);
    /* apache2 -t -D DUMP_DEVPROV: the merged settings, for devprov-check */
    devprov_dump_register_hooks(p);
    /* in both modes: the connection's SSL, from mod_ssl */
    APR_OPTIONAL_HOOK(ssl, pre_handshake, devprov_conn_pre_handshake, NULL,
                      NULL, APR_HOOK_MIDDLE);
    /* stock mod_ssl: the handshake tolerance, SSL_CLIENT_VERIFY=EXPIRED */
    devprov_ssl_register_hooks(p);
}

module AP_MODULE_DECLARE_DATA devprov_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config: none */
    NULL,
    devprov_create_srv,
    devprov_merge_srv,
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

