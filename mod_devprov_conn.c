/* mod_devprov_conn.c - the verdict on one TLS connection: the client
 * certificate (from mod_ssl's SSL* when devprov has it), its identity
 * (cached per vhost by the certificate's bytes), the allowlist lookup,
 * the export of DEVICE_* to each request, and mod_ssl's pre_handshake
 * hook that hands over the SSL*.
 *
 * Licensed under the Apache License, Version 2.0.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_ssl.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_allowlist.h"
#include "src/dp_idcache.h"

APLOG_USE_MODULE(devprov);

/* identities made from a certificate's bytes are kept this long, per
 * process and virtual host (IDCACHE_ENTRIES: in mod_devprov_private.h) */
#define IDCACHE_TTL apr_time_from_sec(60)

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

/* The identity cache's key: SHA-256 of the leaf's DER encoding (what
 * the phone sent, whichever way devprov got it).  Only the leaf counts:
 * nothing else the phone sends is looked at (dp_trust.h). */
static int cert_key(X509 *x, unsigned char *key)
{
    unsigned int len = 0;

    return X509_digest(x, EVP_sha256(), key, &len)
           && len == DP_IDCACHE_KEYLEN ? 0 : -1;
}

/* The master secret of DC's TLS session into SECRET: its length, or 0 if
 * there is none to key the session by.  TLS 1.3 has none: it resumes
 * with a secret of each ticket, not of the session the ticket came
 * from. */
static size_t session_secret(const devprov_conn_t *dc, unsigned char *secret)
{
    SSL_SESSION *sess;

    if (dc->ssl == NULL || SSL_version(dc->ssl) > TLS1_2_VERSION
        || SSL_version(dc->ssl) < TLS1_VERSION
        || (sess = SSL_get_session(dc->ssl)) == NULL
        || SSL_SESSION_get_master_key(sess, NULL, 0) != DP_SESSKEY_SECRETLEN)
        return 0;
    return SSL_SESSION_get_master_key(sess, secret, DP_SESSKEY_SECRETLEN);
}

/* The identity cache's key for LEAF, PEER the connection's certificate
 * (or NULL), into KEY; 0, or -1 if there is none.  A resumed session's
 * certificate is the one it was made with: its key, kept by the session's
 * secret, is not computed again. */
static int leaf_key(request_rec *r, const devprov_srv_t *sc,
                    const devprov_conn_t *dc, X509 *peer, X509 *leaf,
                    unsigned char *key)
{
    unsigned char secret[DP_SESSKEY_SECRETLEN];
    size_t n = peer != NULL ? session_secret(dc, secret) : 0;
    int found = 0;

    if (n > 0 && SSL_session_reused(dc->ssl)) {
        apr_thread_mutex_lock(sc->ids->mutex);
        found = dp_sesskeys_get(sc->ids->sessions, secret, n, apr_time_now(),
                                key);
        apr_thread_mutex_unlock(sc->ids->mutex);
        if (found)
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "devprov: the "
                          "certificate's key from its resumed TLS session");
    }
    if (!found) {
        if (cert_key(leaf, key) != 0) {
            OPENSSL_cleanse(secret, sizeof(secret));
            return -1;
        }
        if (n > 0) {
            apr_thread_mutex_lock(sc->ids->mutex);
            dp_sesskeys_put(sc->ids->sessions, secret, n, key,
                            apr_time_now() + IDCACHE_TTL);
            apr_thread_mutex_unlock(sc->ids->mutex);
        }
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return 0;
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

/* Make DC's verdict for the client certificate PEER (the connection's,
 * as OpenSSL holds it: no copy, no decoding), or, when devprov has no
 * SSL* for the connection, PEM (mod_ssl's SSL_CLIENT_CERT, "" if none;
 * PEER is then NULL). */
static void make_verdict(request_rec *r, const devprov_srv_t *sc,
                         X509 *peer, const char *pem, devprov_conn_t *dc)
{
    conn_rec *c = r->connection;
    const dp_vendor_t *const *vendors =
        (const dp_vendor_t *const *)sc->vendor_ptrs->elts;
    size_t nvendors = (size_t)sc->vendor_ptrs->nelts;
    X509 *leaf = NULL;
    dp_identity_t id;
    source_t src = { r, NULL, sc->sql };
    int have_list = sc->allow != NULL || sc->sql != NULL;
    int cached = 0, have_key = 0, unreadable = 0;
    size_t size;
    unsigned char key[DP_IDCACHE_KEYLEN];

    {
        /* the connection's, not the verdict's */
        SSL *ssl = dc->ssl;
        X509 *kept = dc->peer;
        const char *waived = dc->waived;

        memset(dc, 0, sizeof(*dc));
        dc->ssl = ssl;
        dc->peer = kept;
        dc->waived = waived;
    }
    memset(&id, 0, sizeof(id));
    dc->conf = sc;
    dc->made = apr_time_now();
    dc->pem = apr_pstrdup(c->pool, pem);

    if (peer != NULL) {
        X509_up_ref(peer);
        leaf = peer;
    }
    else if (*pem != '\0') {
        leaf = pem_to_x509(pem);
        if (leaf == NULL) {
            unreadable = 1;
            id.status = DP_ST_UNVERIFIED;
            dp_identity_reason(&id, DP_REASON_UNREADABLE, NULL);
        }
    }
    /* a phone seen lately on another connection: its identity, made from
     * this very certificate, without verifying it again */
    if (leaf != NULL && sc->ids != NULL
        && leaf_key(r, sc, dc, peer, leaf, key) == 0) {
        have_key = 1;
        apr_thread_mutex_lock(sc->ids->mutex);
        cached = dp_idcache_get(sc->ids->cache, key, apr_time_now(), &id);
        apr_thread_mutex_unlock(sc->ids->mutex);
    }
    if (cached) {                       /* judged as before: from the */
        X509_free(leaf);                /* identity alone */
        leaf = NULL;
    }
    if (!cached && !unreadable) {
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
        src.file = devprov_watch_acquire(r, sc->allow);
        dc->allow_gen = devprov_watch_generation(sc->allow);
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
        dc->enrol = devprov_enrol(r, sc, source_lookup, &src, &dc->v,
                                  leaf);
    X509_free(leaf);
    /* the entry outlives the allowlist it came from (a file re-read, a
     * database row in r->pool) */
    size = dp_verdict_entry_size(&dc->v);
    if (size > 0)
        dp_verdict_keep_entry(&dc->v, apr_palloc(c->pool, size));

    if (src.file != NULL)
        devprov_watch_release(sc->allow);
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
    /* the request's start (r->request_time) is now enough for intervals
     * of a second and more, and costs no clock read */
    if (sc->sql != NULL)
        return r->request_time - dc->made >= devprov_sql_ttl(sc->sql);
    if (sc->allow == NULL)
        return 0;
    if (devprov_watch_due(sc->allow, r->request_time)) {
        devprov_watch_acquire(r, sc->allow);          /* re-reads if changed */
        devprov_watch_release(sc->allow);
    }
    return devprov_watch_generation(sc->allow) != dc->allow_gen;
}

/* From mod_ssl's pre_handshake hook: the TLS state of
 * connection C, so that a kept-alive connection's certificate is compared
 * as OpenSSL holds it rather than encoded again as SSL_CLIENT_CERT on
 * every request (most of what reusing a verdict used to cost). */
static void conn_ssl(conn_rec *c, SSL *ssl)
{
    devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                              &devprov_module);

    if (dc == NULL) {
        dc = apr_pcalloc(c->pool, sizeof(*dc));
        ap_set_module_config(c->conn_config, &devprov_module, dc);
    }
    dc->ssl = ssl;
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

devprov_conn_t *devprov_conn_verdict(request_rec *r,
                                     const devprov_srv_t *sc)
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
    if (dc->ssl != NULL)
        keep_peer(c, dc, peer);
    make_verdict(r, sc, peer, pem, dc);
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

/* Export the verdict, replacing whatever DEVICE_* an earlier verdict (or
 * an inherited environment) left.  The request's revocation
 * (check_revoked()) must be in dc->v.  The variables of a verdict are
 * made once, as a table in c->pool, and every request on the connection
 * gets them without copies of the strings; a revoked client's (rare)
 * are made afresh. */
static void drop_device_vars(request_rec *r)
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
}

void devprov_conn_export_verdict(request_rec *r, const dp_verdict_t *v)
{
    drop_device_vars(r);
    dp_verdict_export(v, NULL, set_device_var, r->subprocess_env);
}

void devprov_conn_export(request_rec *r, devprov_conn_t *dc)
{
    const apr_array_header_t *h;
    const apr_table_entry_t *ent;
    int i;

    if (dc->v.revoked) {
        drop_device_vars(r);
        dp_verdict_export(&dc->v, dc->enrol, set_device_var,
                          r->subprocess_env);
        return;
    }
    if (dc->vars == NULL) {
        /* room for what httpd and the handlers add (CGI: some 30) */
        dc->vars = apr_table_make(r->connection->pool, 32);
        dp_verdict_export(&dc->v, dc->enrol, set_device_var, dc->vars);
    }
    /* an initial request's environment is empty here unless a module
     * before this one set something (SetEnvIf): then it is the
     * connection's table, copied in one piece (entries, key checksums
     * and hash index: some 150 instructions where ten apr_table_addn()
     * took 550) */
    if (apr_is_empty_table(r->subprocess_env)) {
        r->subprocess_env = apr_table_copy(r->pool, dc->vars);
        return;
    }
    /* no DEVICE_* is left and the table has no key twice: added without
     * apr_table_setn's search for the key */
    drop_device_vars(r);
    h = apr_table_elts(dc->vars);
    ent = (const apr_table_entry_t *)h->elts;
    for (i = 0; i < h->nelts; i++)
        apr_table_addn(r->subprocess_env, ent[i].key, ent[i].val);
}

/* See mod_devprov_private.h. */
int devprov_conn_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    if (!is_proxy)
        conn_ssl(c, ssl);
    return DECLINED;
}

/* A per-directory SSLVerifyClient makes mod_ssl ask for a certificate
 * while checking access (a TLS 1.2 renegotiation or TLS 1.3
 * post-handshake authentication), after post_read_request has judged the
 * request. */
int devprov_conn_peer_changed(const conn_rec *c)
{
    const devprov_conn_t *dc = ap_get_module_config(c->conn_config,
                                                    &devprov_module);

    return dc != NULL && dc->ssl != NULL && dc->conf != NULL
           && !same_peer(SSL_get0_peer_certificate(dc->ssl), dc);
}
