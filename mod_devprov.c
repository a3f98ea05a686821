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
#include <time.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mpm_common.h"                 /* ap_hook_monitor */
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_mac.h"
#include "src/dp_path.h"
#include "src/dp_revoked.h"

APLOG_USE_MODULE(devprov);

/* ------------------------------------------------------------------ */
/* per request                                                         */

/* A request's own part of the judgement, on a virtual host with
 * DevprovUserIdentity (r->request_config of the initial request): a
 * client without a device identity of its certificate is judged once
 * httpd has authenticated it (check_authz), or, if nothing asks for
 * authentication, before its handler (fixups); it is counted once its
 * judgement is final (a refusal, or log_transaction). */
typedef struct {
    int deferred;               /* the refusals wait for authentication */
    int judged;                 /* judged with the user name (or none) */
    int count_pending;          /* let through: counted in log_transaction */
    int own;                    /* V is the request's verdict, not the
                                 * connection's */
    const devprov_srv_t *conf;  /* the configuration V was made for */
    const char *user;           /* the authenticated user name judged */
    dp_verdict_t v;
} devprov_req_t;

static devprov_req_t *req_rec(request_rec *r, int make)
{
    devprov_req_t *rq = ap_get_module_config(r->request_config,
                                             &devprov_module);

    if (rq == NULL && make) {
        rq = apr_pcalloc(r->pool, sizeof(*rq));
        ap_set_module_config(r->request_config, &devprov_module, rq);
    }
    return rq;
}

/* The initial request R is part of (internal redirects, subrequests). */
static request_rec *initial_req(request_rec *r)
{
    for (;;) {
        if (r->prev != NULL)
            r = r->prev;
        else if (r->main != NULL)
            r = r->main;
        else
            return r;
    }
}

/* The last of R's internal redirects: its status is the answer's. */
static request_rec *final_req(request_rec *r)
{
    while (r->next != NULL)
        r = r->next;
    return r;
}

/* Is this request's client revoked?  Checked per request (not cached per
 * connection), so a revocation also ends a kept-alive connection's
 * access.  Sets and returns v->revoked. */
static int check_revoked(request_rec *r, const devprov_srv_t *sc,
                         dp_verdict_t *v)
{
    /* without a certificate or a device nothing is looked up: the list
     * is not even re-read */
    if (sc->revoked == NULL
        || (v->sha256[0] == '\0' && v->id.status != DP_ST_DEVICE))
        return dp_verdict_revoke(v, NULL);
    dp_verdict_revoke(v, devprov_watch_acquire(r, sc->revoked));
    devprov_watch_release(sc->revoked);
    return v->revoked;
}

static void export(request_rec *r, devprov_conn_t *dc, const dp_verdict_t *v)
{
    if (v == &dc->v)
        devprov_conn_export(r, dc);
    else
        devprov_conn_export_verdict(r, v);
}

/* ------------------------------------------------------------------ */
/* refusals: one log line each, in one stable format                   */

/* What the client sent (a user name, the URI) as a field of the refusal
 * line: at most MAX bytes of it, and every byte outside the URI's own
 * characters (a blank, a quote, a backslash, a control or non-ASCII
 * byte) as \xHH, so that no client text can look like another field
 * (or another line) to a log reader such as fail2ban. */
static const char *log_field(apr_pool_t *p, const char *s, size_t max)
{
    static const char keep[] = "-._~:/?#[]@!$&'()*+,;=%";
    size_t n = strlen(s), i, o = 0;
    char *out;

    if (n > max)
        n = max;
    out = apr_palloc(p, 4 * n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || (c != '\0' && strchr(keep, c)))
            out[o++] = (char)c;
        else {
            apr_snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

/* The one line devprov logs for each request it refuses (and for a
 * rejected password on a DevprovUserIdentity vhost), at level info:
 *
 *   devprov: refused status=<s> reason=<r> client=<address>
 *   identity=<how> mac=<mac> user="<name>" uri="<uri>" by=<who>
 *   detail="<text>"
 *
 * always these fields in this order (doc/operations.md, "Refusals";
 * conf/fail2ban/ matches it): reason is a status counter's name
 * (dp_reason.h) or bind_path / bad_password; client is the address as
 * mod_remoteip sees it; "-" where a field has no value.  What the client
 * sent (user name, URI) is cut to 64 characters and escaped (log_field);
 * the detail is devprov's own text, escaped as httpd escapes log items. */
static void log_refusal(request_rec *r, int status, const char *reason,
                        const char *by, const dp_verdict_t *v,
                        const char *user, const char *detail)
{
    const char *uri = r->unparsed_uri != NULL ? r->unparsed_uri : "-";

    /* for the fleet record (DevprovFleetSQL), in log_transaction */
    apr_table_setn(initial_req(r)->notes, "devprov-refused", reason);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "devprov: refused status=%d reason=%s client=%s "
                  "identity=%s mac=%s user=\"%s\" uri=\"%s\" by=%s "
                  "detail=\"%s\"",
                  status, reason, r->useragent_ip,
                  v != NULL && dp_identity_method(&v->id) != NULL
                      ? dp_identity_method(&v->id) : "none",
                  v != NULL && v->mac[0] ? v->mac : "-",
                  user != NULL ? log_field(r->pool, user, 64) : "-",
                  log_field(r->pool, uri, 64),
                  by, ap_escape_logitem(r->pool, detail));
}

/* DevprovBindPath: a request whose path names a per-MAC file of another
 * phone (or, from a client that is not a device, of any phone) is refused,
 * whatever its method (GET, PUT log uploads, POST, DELETE).  Runs in
 * post_read_request, before mod_rewrite, <Location>, aliases and any
 * handler, on the path exactly as the client sent it (r->unparsed_uri;
 * httpd has not yet decoded or normalised r->uri at this point), and for
 * a password identity after authentication, on both.
 * dp_path_check does not rely on that normalisation: it finds MACs in
 * every segment, also in ones ".." would remove, and decodes %XX itself,
 * repeatedly.  A revoked phone owns no file. */
/* 1 if R's uri is its unparsed_uri's path, byte for byte (one pass: a
 * phone's path is short, and strlen + strncmp were two calls). */
static int is_unparsed_path(const request_rec *r)
{
    const char *u = r->unparsed_uri, *p = r->uri;

    if (u == NULL)
        return 0;
    for (; *p != '\0' && *p == *u; p++, u++)
        ;
    return *p == '\0' && (*u == '\0' || *u == '?');
}

static int bind_path_check(request_rec *r, const devprov_srv_t *sc,
                           const dp_verdict_t *v, const char *user)
{
    const dp_mac_t *own;
    dp_mac_t found;
    char mac[DP_MAC_STRLEN + 1];
    int rc = 0;

    if (sc->bind_path != 1)
        return DECLINED;
    own = !v->revoked && v->id.status == DP_ST_DEVICE ? &v->id.mac : NULL;
    if (r->unparsed_uri != NULL)
        rc = dp_path_check(r->unparsed_uri, strlen(r->unparsed_uri), own,
                           &found);
    /* r->uri too, unless it is the path just checked (as it is before
     * httpd decodes it, for an origin-form request) */
    if (rc == 0 && r->uri != NULL && !is_unparsed_path(r))
        rc = dp_path_check(r->uri, strlen(r->uri), own, &found);
    if (rc == 0)
        return DECLINED;
    if (rc < 0) {
        log_refusal(r, HTTP_FORBIDDEN, "bind_path", "DevprovBindPath", v,
                    user, "out of memory checking the path");
        return HTTP_FORBIDDEN;
    }
    if (rc == DP_PATH_TOO_DEEP) {
        log_refusal(r, HTTP_FORBIDDEN, "bind_path", "DevprovBindPath", v,
                    user, "path still %-encoded after 4 rounds of decoding");
        return HTTP_FORBIDDEN;
    }
    dp_mac_format(&found, mac);
    log_refusal(r, HTTP_FORBIDDEN, "bind_path", "DevprovBindPath", v, user,
                apr_psprintf(r->pool, "path names MAC %s, %s%s", mac,
                             own ? "device is " : "not a device",
                             own ? v->mac : ""));
    return HTTP_FORBIDDEN;
}

/* Count the request in its virtual host's status counters, once, as
 * decided and exported (mod_devprov_status.c); returns STATUS.  A
 * request let through on a DevprovUserIdentity vhost is counted when it
 * is logged (RQ's count_pending), as finally judged. */
static int counted(request_rec *r, const devprov_srv_t *sc,
                   devprov_conn_t *dc, const dp_verdict_t *v,
                   devprov_req_t *rq, dp_deny_t deny, int status, int count)
{
    if (!count)
        return status;
    if (rq != NULL && status == DECLINED) {
        rq->count_pending = 1;
        return status;
    }
    if (rq != NULL)
        rq->count_pending = 0;
    devprov_status_request(r, sc->counters, v, deny, dc->reused,
                           dc->idcached, v == &dc->v ? &dc->stats : NULL);
    devprov_fleet_record(r, sc->fleet, v, deny);
    return status;
}

/* The refusals, on verdict V (the connection's or the request's own),
 * revocation already applied: DevprovAllowlistSQL's unavailable=,
 * DevprovDeny, DevprovBindPath. */
static int judge(request_rec *r, const devprov_srv_t *sc, devprov_conn_t *dc,
                 const dp_verdict_t *v, devprov_req_t *rq, const char *user,
                 int count)
{
    int status;

    if (v->listed == DP_LISTED_DOWN && !v->revoked
        && devprov_sql_unavailable_status(sc->sql) != 0) {
        status = devprov_sql_unavailable_status(sc->sql);
        log_refusal(r, status, "db_unavailable", "DevprovAllowlistSQL", v,
                    user, dp_reason_info(DP_REASON_DB_UNAVAILABLE)->log);
        return counted(r, sc, dc, v, rq, DP_DENY_UNAVAILABLE, status, count);
    }
    if (dp_verdict_denied(v, devprov_deny_mode(sc))) {
        const char *by = v->conflict ? "DevprovUserIdentity"
                         : devprov_deny_mode(sc) == DP_POLICY_UNLISTED
                           ? "DevprovDeny:unlisted" : "DevprovDeny:unverified";
        const char *ctr = dp_reason_counter(dp_verdict_reason_code(v));

        log_refusal(r, HTTP_FORBIDDEN, ctr != NULL ? ctr : "other", by, v,
                    user, v->sha256[0]
                          ? apr_pstrcat(r->pool, dp_verdict_reason(v),
                                        ", sha256 ", v->sha256, NULL)
                          : dp_verdict_reason(v));
        return counted(r, sc, dc, v, rq, DP_DENY_POLICY, HTTP_FORBIDDEN,
                       count);
    }
    status = bind_path_check(r, sc, v, user);
    return counted(r, sc, dc, v, rq, status == DECLINED ? DP_DENY_NONE
                                                        : DP_DENY_BIND_PATH,
                   status, count);
}

/* Initial requests: identify, export, and refuse if configured.  Running
 * this early lets mod_rewrite, "Require expr" and per-directory SetEnvIf
 * see the variables.  On a DevprovUserIdentity vhost a client of the
 * classes it names is judged after authentication instead. */
static int refuse(request_rec *r, const devprov_srv_t *sc, int count)
{
    devprov_conn_t *dc = devprov_conn_verdict(r, sc);
    devprov_req_t *rq = sc->user_id > 0 ? req_rec(r, 1) : NULL;
    int revoked = check_revoked(r, sc, &dc->v);

    devprov_conn_export(r, dc);
    if (rq != NULL && !revoked
        && (dp_verdict_user_class(&dc->v) & (unsigned)sc->user_id) != 0
        && !(dc->v.listed == DP_LISTED_DOWN
             && devprov_sql_unavailable_status(sc->sql) != 0)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "devprov: not a device by its certificate "
                      "(DevprovUserIdentity): judged after authentication");
        rq->deferred = 1;
        return DECLINED;
    }
    return judge(r, sc, dc, &dc->v, rq, NULL, count);
}

/* DevprovUserIdentity: judge initial request R with the user name USER
 * that httpd authenticated (NULL: none).  Returns DECLINED or the
 * refusal's status. */
static int judge_user(request_rec *r, const devprov_srv_t *sc,
                      devprov_req_t *rq, const char *user)
{
    devprov_conn_t *dc = devprov_conn_verdict(r, sc);
    dp_user_result_t res;

    rq->judged = 1;
    rq->user = user;
    rq->conf = sc;
    check_revoked(r, sc, &dc->v);
    res = devprov_user_verdict(r, sc, &dc->v, user, &rq->v);
    switch (res) {
    case DP_USER_CONFLICT:
    case DP_USER_DEVICE:
        rq->own = 1;
        check_revoked(r, sc, &rq->v);
        export(r, dc, &rq->v);
        return judge(r, sc, dc, &rq->v, rq, user, 1);
    case DP_USER_SAME:
    case DP_USER_NONE:
        break;
    }
    rq->own = 0;
    if (!rq->deferred)                  /* judged in post_read_request */
        return DECLINED;
    return judge(r, sc, dc, &dc->v, rq, user, 1);
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

/* After httpd's authentication (check_user_id) and before
 * mod_authz_core's "Require" with a user (so "Require expr" sees the
 * password identity's DEVICE_*): run only where authentication ran.
 * Only a user name an authentication module established counts
 * (r->ap_auth_type set: not mod_ssl's SSLUserName).  DECLINED unless
 * refusing, so the Require lines still decide. */
static int check_authz(request_rec *r)
{
    const devprov_srv_t *sc = devprov_srv(r->server);
    devprov_req_t *rq;
    int status;

    if (!devprov_engine_on(sc) || sc->user_id <= 0 || r->main != NULL
        || r->prev != NULL)
        return DECLINED;
    rq = req_rec(r, 1);
    if (rq->judged)
        return DECLINED;
    status = judge_user(r, sc, rq,
                        r->user != NULL && r->ap_auth_type != NULL
                            ? apr_pstrdup(r->pool, r->user) : NULL);
    if (status != DECLINED)
        r->connection->keepalive = AP_CONN_CLOSE;
    return status;
}

/* Internal redirects (mod_actions, ErrorDocument, DirectoryIndex) and
 * subrequests start with a fresh environment: export again, from the same
 * connection verdict (or the initial request's own).  An initial request
 * whose certificate arrived (or changed) during access checking is judged
 * again, refusals included; it is counted once.  One whose judgement
 * waited for an authentication that never came is judged now, without a
 * user name. */
static int fixups(request_rec *r)
{
    const devprov_srv_t *sc = devprov_srv(r->server);

    if (!devprov_engine_on(sc))
        return DECLINED;
    if (r->main == NULL && r->prev == NULL) {
        devprov_req_t *rq = req_rec(r, 0);
        int status = DECLINED;

        if (devprov_conn_peer_changed(r->connection)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "devprov: the client certificate changed during "
                          "access checking: judging the request again");
            if (rq != NULL) {
                rq->deferred = 1;       /* as if deferred: judged below */
                rq->judged = 0;
                devprov_conn_verdict(r, sc);
            }
            else
                status = refuse(r, sc, 0);
        }
        if (rq != NULL && rq->deferred && !rq->judged)
            status = judge_user(r, sc, rq, rq->user);
        if (status != DECLINED)
            r->connection->keepalive = AP_CONN_CLOSE;
        return status;
    }
    {
        devprov_conn_t *dc = devprov_conn_verdict(r, sc);
        devprov_req_t *rq = req_rec(initial_req(r), 0);

        if (rq != NULL && rq->own && rq->conf == sc) {
            check_revoked(r, sc, &rq->v);
            devprov_conn_export_verdict(r, &rq->v);
        }
        else {
            check_revoked(r, sc, &dc->v);
            devprov_conn_export(r, dc);
        }
    }
    return DECLINED;
}

/* DevprovUserIdentity vhosts: count a request let through as finally
 * judged; log a rejected password (a 401 to a request that carried
 * credentials: guessing shows up in the same format as the refusals). */
static void log_user_transaction(request_rec *r, const devprov_srv_t *sc)
{
    devprov_req_t *rq = req_rec(r, 0);
    request_rec *last = final_req(r);

    if (rq != NULL && rq->count_pending) {
        devprov_conn_t *dc = ap_get_module_config(r->connection->conn_config,
                                                  &devprov_module);

        rq->count_pending = 0;
        if (dc != NULL) {
            const dp_verdict_t *v = rq->own ? &rq->v : &dc->v;

            devprov_status_request(r, sc->counters, v, DP_DENY_NONE,
                                   dc->reused, dc->idcached,
                                   v == &dc->v ? &dc->stats : NULL);
            devprov_fleet_record(r, sc->fleet, v, DP_DENY_NONE);
        }
    }
    if ((r->status == HTTP_UNAUTHORIZED || last->status == HTTP_UNAUTHORIZED)
        && apr_table_get(r->headers_in, "Authorization") != NULL) {
        const char *chal = apr_table_get(r->err_headers_out,
                                         "WWW-Authenticate");

        /* mod_auth_digest's stale nonce: the client only retries */
        if (chal != NULL && ap_strcasestr(chal, "stale=true") != NULL)
            return;
        log_refusal(r, HTTP_UNAUTHORIZED, "bad_password", "authentication",
                    NULL, r->user, "httpd's authentication refused the "
                    "credentials");
    }
}

/* DevprovFleetSQL: the phone's record, in the fixed order of
 * mod_devprov_sql.h's parameters, from the request's verdict (or its
 * connection's). */
static void record_fleet(request_rec *r, const devprov_srv_t *sc)
{
    devprov_req_t *rq = req_rec(r, 0);
    devprov_conn_t *dc = ap_get_module_config(r->connection->conn_config,
                                              &devprov_module);
    const dp_verdict_t *v = rq != NULL && rq->own ? &rq->v
                            : dc != NULL ? &dc->v : NULL;
    const char *p[DEVPROV_FLEET_NPARAMS] = { NULL };
    char not_after[sizeof("2024-12-01T00:00:00Z")] = "";
    struct tm tm;

    if (v == NULL || v->mac[0] == '\0')
        return;                         /* not a phone */
    /* the leaf's notAfter, read once with its identity (dp_identify) */
    if (!v->id.password && v->id.not_after != 0
        && gmtime_r(&v->id.not_after, &tm) != NULL)
        strftime(not_after, sizeof(not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
    p[DEVPROV_FLEET_MAC] = v->mac;
    p[DEVPROV_FLEET_SERVER] = r->server->server_hostname;
    p[DEVPROV_FLEET_CLIENT] = r->useragent_ip;
    p[DEVPROV_FLEET_USER_AGENT] = apr_table_get(r->headers_in, "User-Agent");
    p[DEVPROV_FLEET_VENDOR] = v->id.vendor != NULL ? v->id.vendor->name
                                                   : NULL;
    p[DEVPROV_FLEET_IDENTIFIED_BY] = dp_identity_method(&v->id);
    p[DEVPROV_FLEET_NOT_AFTER] = not_after;
    p[DEVPROV_FLEET_VALIDITY] = v->id.password
                                ? NULL : dp_time_status_string(v->id.time);
    p[DEVPROV_FLEET_REFUSED] = apr_table_get(r->notes, "devprov-refused");
    p[DEVPROV_FLEET_STATUS] = apr_itoa(r->pool, final_req(r)->status);
    devprov_sql_record(r, sc->fleet_sql, p, DEVPROV_FLEET_NPARAMS);
}

static int log_transaction(request_rec *r)
{
    const devprov_srv_t *sc = devprov_srv(r->server);

    if (!devprov_engine_on(sc))
        return DECLINED;
    if (sc->user_id > 0)
        log_user_transaction(r, sc);
    if (sc->fleet_sql != NULL)
        record_fleet(r, sc);
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
    /* DevprovUserIdentity: after authentication, before mod_authz_core's
     * Require with a user (APR_HOOK_LAST); per configuration, as
     * mod_authz_core's own, so that it costs subrequests nothing */
    ap_hook_check_authz(check_authz, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_log_transaction(log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    /* status counters: mod_status section, devprov-status handler */
    devprov_status_register_hooks(p);
    /* DevprovFleet's page */
    devprov_fleet_register_hooks(p);
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

