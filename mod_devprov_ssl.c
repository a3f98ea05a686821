/* mod_devprov_ssl.c - "stock mode": expired phone certificates through
 * Debian's unmodified mod_ssl (see mod_devprov_ssl.h and the README,
 * "Stock mod_ssl (no rebuild)").
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The handshake.  mod_ssl runs its optional hook ssl_init_server for each
 * SSL-enabled virtual host after it has set up the vhost's SSL_CTX,
 * including SSL_CTX_set_verify(ctx, mode, ssl_callback_SSLVerify)
 * (ssl_init_ctx_verify, from ssl_init_ConfigureServer; the hook runs in
 * ssl_init_Module after all servers are configured).  On vhosts with
 * "DevprovEngine on" we replace that callback by ours and keep mod_ssl's
 * in the SSL_CTX's ex_data, so each SSL_CTX knows its own original.  The
 * SNI switch (ssl_find_vhost -> set_vhost_ctx) copies the new vhost
 * context's verify mode and callback to the SSL, so a handshake is judged
 * by the callback of the vhost it ends up in: ours for vhosts with the
 * engine on, mod_ssl's own elsewhere.
 *
 * Our callback (verify_cb) tolerates X509_V_ERR_CERT_HAS_EXPIRED and
 * X509_V_ERR_CERT_NOT_YET_VALID, at any depth, if no other error was let
 * through earlier in the same verification (a chain that otherwise
 * verifies against SSLCACertificateFile/Path): it sets the store ctx's
 * error back to X509_V_OK and returns 1; OpenSSL then signals the same
 * certificate as good (verify_cb(1)), and mod_ssl's callback applies its
 * depth and OCSP checks there.  The error must become X509_V_OK: it is
 * what SSL_get_verify_result() returns after the handshake, and
 * ssl_io_filter_handshake() aborts the connection ("SSL client
 * authentication failed") for any result but X509_V_OK, unless the result
 * is one of ssl_verify_error_is_optional() under optional_no_ca; time
 * errors are not.  X509_V_OK hides nothing: a time error is waived only
 * when no error at all was let through before it, so the error was
 * X509_V_OK before OpenSSL set the time error.  Every other call (ok=1,
 * and every other error, and a time error after another error was let
 * through, e.g. an unknown CA under optional_no_ca) goes to mod_ssl's
 * callback unchanged, so optional_no_ca/GENEROUS, depth, CRL and OCSP
 * handling stay exactly stock.
 *
 * The request.  mod_ssl still says SSL_CLIENT_VERIFY=SUCCESS for such a
 * certificate (the verify result is X509_V_OK).  After mod_ssl's fixup
 * (which exports SSL_* with SSLOptions +StdEnvVars) we replace SUCCESS by
 * EXPIRED and add SSL_CLIENT_VERIFY_WAIVED ("certificate has expired
 * (depth 0)"), as the patched mod_ssl does.  The waived error is the one
 * our callback recorded in the connection's notes, or, when the callback
 * did not run (a resumed TLS session), found by checking the client
 * certificate again ourselves: its chain is built from the vhost's
 * SSL_CTX store and the certificates the client sent, and the first time
 * error in OpenSSL's order (from the root down) is taken.
 *
 * What cannot be corrected: mod_ssl's own variable lookup
 * (%{SSL:SSL_CLIENT_VERIFY} in mod_rewrite and expressions, SSLRequire,
 * %{SSL_CLIENT_VERIFY}x in log formats) still says SUCCESS; per-directory
 * SSLVerifyClient (renegotiation, TLS 1.3 post-handshake auth) installs
 * mod_ssl's own callback on the SSL, so only vhost-level SSLVerifyClient
 * is covered.
 *
 * State: the ex_data indexes (SSL_CTX: the original callback; store ctx:
 * "an error was let through") are allocated by the parent at the first
 * configuration and kept in statics; they only name slots, hold no
 * pointers to configuration, and are valid for every configuration cycle
 * of this copy of the module.  If the module is unloaded and loaded again
 * at a restart, the new copy allocates new indexes (OpenSSL never reuses
 * one; a few ints per restart).  Everything else lives in pconf, as the
 * SSL_CTXs themselves do: both are freed when pconf is cleared.
 */
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "http_ssl.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "mod_ssl.h"

#include "mod_devprov_private.h"
#include "mod_devprov_ssl.h"

APLOG_USE_MODULE(devprov);

/* the directive only the patched mod_ssl has */
#define PATCHED_DIRECTIVE "SSLVerifyClientAcceptExpired"

struct devprov_ssl {
    SSL_verify_cb orig;         /* mod_ssl's ssl_callback_SSLVerify */
    SSL_CTX *ctx;               /* the vhost's context (owned by mod_ssl) */
    server_rec *s;
};

static int ctx_idx = -1;        /* SSL_CTX ex_data: devprov_ssl_t * */
static int sctx_idx = -1;       /* X509_STORE_CTX ex_data: non-NULL once an
                                 * error was let through */

static int is_time_error(int err)
{
    return err == X509_V_ERR_CERT_HAS_EXPIRED
           || err == X509_V_ERR_CERT_NOT_YET_VALID;
}

static const char *waived_string(apr_pool_t *p, int err, int depth)
{
    return apr_psprintf(p, "%s (depth %d)",
                        X509_verify_cert_error_string(err), depth);
}

/* The verify callback of vhosts with DevprovEngine on (stock mode). */
static int verify_cb(int ok, X509_STORE_CTX *sctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(
        sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    const devprov_ssl_t *st = NULL;
    int err = X509_STORE_CTX_get_error(sctx);

    if (ssl != NULL && ctx_idx >= 0)
        st = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
    if (st == NULL || st->orig == NULL) {
        /* not a context we wrapped (cannot happen): judge strictly */
        return ok;
    }
    if (!ok && is_time_error(err)
        && X509_STORE_CTX_get_ex_data(sctx, sctx_idx) == NULL) {
        conn_rec *c = SSL_get_app_data(ssl);    /* set by mod_ssl */
        int depth = X509_STORE_CTX_get_error_depth(sctx);

        if (c != NULL) {
            /* made by devprov's pre_handshake hook; without it the fixup
             * checks the chain again */
            devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                                      &devprov_module);

            if (dc != NULL && dc->waived == NULL)
                dc->waived = waived_string(c->pool, err, depth);
            ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                          "devprov: stock mod_ssl: tolerating client "
                          "certificate error at depth %d: %s", depth,
                          X509_verify_cert_error_string(err));
        }
        X509_STORE_CTX_set_error(sctx, X509_V_OK);
        /* OpenSSL goes on with verify_cb(1) for this very certificate
         * (internal_verify, after check_cert_time): mod_ssl's callback
         * applies its depth and OCSP checks to it there, once */
        return 1;
    }
    ok = st->orig(ok, sctx);
    if (ok && X509_STORE_CTX_get_error(sctx) != X509_V_OK)
        X509_STORE_CTX_set_ex_data(sctx, sctx_idx, (void *)st);
    return ok;
}

/* Is the loaded mod_ssl the patched one? */
int devprov_mod_ssl_patched(void)
{
    module *m = ap_top_module;          /* where the search starts */

    return ap_find_command_in_modules(PATCHED_DIRECTIVE, &m) != NULL;
}

static int real_startup(void)
{
    /* the first configuration pass at startup only checks; log once */
    return ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
}

/* mod_ssl's ssl_init_server hook: wrap the vhost's verify callback. */
static int init_server(server_rec *s, apr_pool_t *p, int is_proxy,
                       SSL_CTX *ctx)
{
    devprov_ssl_t **slot;
    devprov_ssl_t *st;
    SSL_verify_cb orig;

    if (is_proxy || ctx == NULL || (slot = devprov_ssl_slot(s)) == NULL
        || devprov_mod_ssl_patched())
        return OK;
    orig = SSL_CTX_get_verify_callback(ctx);
    if (orig == verify_cb)              /* already ours */
        return OK;
    if (ctx_idx < 0)
        ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (sctx_idx < 0)
        sctx_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                   NULL);
    if (ctx_idx < 0 || sctx_idx < 0 || orig == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: cannot "
                     "install the expired-certificate tolerance in the TLS "
                     "handshake of %s:%u (%s)", s->server_hostname,
                     s->addrs ? s->addrs->host_port : s->port,
                     orig == NULL ? "mod_ssl set no verify callback"
                                  : "no OpenSSL ex_data index");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->orig = orig;
    st->ctx = ctx;
    st->s = s;
    if (!SSL_CTX_set_ex_data(ctx, ctx_idx, st)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: cannot "
                     "install the expired-certificate tolerance (out of "
                     "memory)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
    *slot = st;
    /* check_config (mod_devprov_check.c) refused the setups where the
     * tolerance cannot happen (no CA file, a vendor CA missing from it,
     * SSLVerifyDepth too small); say what remains true */
    if (real_startup() && (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER))
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: stock "
                     "mod_ssl: %s:%u (%s:%d) tolerates expired and not yet "
                     "valid client certificates in the TLS handshake, in "
                     "chains that verify against its SSLCACertificateFile/"
                     "Path", s->server_hostname,
                     s->addrs ? s->addrs->host_port : s->port,
                     s->defn_name ? s->defn_name : "?", s->defn_line_number);
    else if (real_startup())
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: stock "
                     "mod_ssl: %s:%u (%s:%d) asks for no client certificate "
                     "in the TLS handshake (SSLVerifyClient none), so there "
                     "is nothing to tolerate there; a per-directory "
                     "SSLVerifyClient runs mod_ssl's own check, which "
                     "refuses expired certificates", s->server_hostname,
                     s->addrs ? s->addrs->host_port : s->port,
                     s->defn_name ? s->defn_name : "?", s->defn_line_number);
    return OK;
}

/* Say once which mode is active (before mod_ssl configures the vhosts). */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog; (void)ptemp;
    if (!real_startup() || !devprov_ssl_engine_anywhere(s))
        return OK;
    if (ap_find_linked_module("mod_ssl.c") == NULL)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: mod_ssl is "
                     "not loaded: no TLS, no client certificates");
    else if (devprov_mod_ssl_patched())
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: mode: "
                     "patched mod_ssl (it has " PATCHED_DIRECTIVE "): "
                     "mod_ssl tolerates expired client certificates itself");
    else
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: mode: stock "
                     "mod_ssl (no " PATCHED_DIRECTIVE "): devprov tolerates "
                     "expired and not yet valid client certificates in the "
                     "TLS handshake of virtual hosts with DevprovEngine on "
                     "and reports them as SSL_CLIENT_VERIFY=EXPIRED");
    return OK;
}

/* ------------------------------------------------------------------ */
/* the request: SSL_CLIENT_VERIFY=EXPIRED                              */

typedef struct {
    int err;
    int depth;
} first_time_error_t;

/* Records the first time error; lets everything through (the handshake
 * has decided about trust: this only looks at validity periods). */
static int recheck_cb(int ok, X509_STORE_CTX *sctx)
{
    first_time_error_t *t = X509_STORE_CTX_get_app_data(sctx);
    int err = X509_STORE_CTX_get_error(sctx);

    (void)ok;
    if (t != NULL && t->err == X509_V_OK && is_time_error(err)) {
        t->err = err;
        t->depth = X509_STORE_CTX_get_error_depth(sctx);
    }
    return 1;
}

/* The first time error of the client's chain, checked again (a resumed
 * session: our callback did not run), as SSL_CLIENT_VERIFY_WAIVED, or ""
 * when there is none. */
static const char *recheck(request_rec *r, const devprov_ssl_t *st)
{
    conn_rec *c = r->connection;
    SSL *ssl = devprov_conn_get_ssl(c);
    X509 *leaf = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    X509_STORE_CTX *sctx;
    first_time_error_t t = { X509_V_OK, 0 };

    if (leaf == NULL)
        return "";
    sctx = X509_STORE_CTX_new();
    /* on a server, the chain the client sent, without its certificate */
    if (sctx != NULL
        && X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(st->ctx), leaf,
                               SSL_get_peer_cert_chain(ssl))) {
        X509_STORE_CTX_set_default(sctx, "ssl_client");
        X509_STORE_CTX_set_app_data(sctx, &t);
        X509_STORE_CTX_set_verify_cb(sctx, recheck_cb);
        (void)X509_verify_cert(sctx);
    }
    else {
        /* cannot re-check the chain: at least the certificate itself */
        if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0)
            t.err = X509_V_ERR_CERT_NOT_YET_VALID;
        else if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
            t.err = X509_V_ERR_CERT_HAS_EXPIRED;
    }
    X509_STORE_CTX_free(sctx);
    return t.err == X509_V_OK ? "" : waived_string(c->pool, t.err, t.depth);
}

/* After mod_ssl's fixup: never a plain SUCCESS for a certificate whose
 * time error was waived. */
static int fixups(request_rec *r)
{
    conn_rec *c = r->connection;
    devprov_ssl_t **slot = devprov_ssl_slot(r->server);
    /* a TLS connection has one with its SSL from devprov's pre_handshake
     * hook; one without (plain HTTP, or an HTTP/2 stream's secondary
     * connection) asks mod_ssl */
    devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                              &devprov_module);
    const char *v, *waived;

    if (slot == NULL || *slot == NULL
        || ((dc == NULL || dc->ssl == NULL) && !ap_ssl_conn_is_ssl(c)))
        return DECLINED;
    v = apr_table_get(r->subprocess_env, "SSL_CLIENT_VERIFY");
    if (v == NULL || strcmp(v, "SUCCESS") != 0)
        return DECLINED;
    waived = dc != NULL ? dc->waived : NULL;
    if (waived == NULL) {
        waived = recheck(r, *slot);
        if (dc != NULL)
            dc->waived = waived;
        if (*waived != '\0')
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "devprov: stock "
                          "mod_ssl: client certificate checked again (a "
                          "resumed session?): %s", waived);
    }
    if (*waived == '\0')
        return DECLINED;
    apr_table_setn(r->subprocess_env, "SSL_CLIENT_VERIFY", "EXPIRED");
    apr_table_setn(r->subprocess_env, "SSL_CLIENT_VERIFY_WAIVED", waived);
    return DECLINED;
}

void devprov_ssl_register_hooks(apr_pool_t *p)
{
    static const char *const ssl[] = { "mod_ssl.c", NULL };

    (void)p;
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
    /* before mod_ssl's post_config (which runs init_server) */
    ap_hook_post_config(post_config, NULL, ssl, APR_HOOK_MIDDLE);
    /* after mod_ssl's fixup, which exports SSL_CLIENT_VERIFY */
    ap_hook_fixups(fixups, ssl, NULL, APR_HOOK_MIDDLE);
}
