/* mod_devprov_check.c - "apache2 -t" refuses devprov setups that cannot
 * work (see mod_devprov_check.h; the logic is in src/dp_check.c).
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * mod_ssl's settings.  "apache2 -t" runs no post_config, so there is no
 * SSL_CTX to look at: the directives are read from the configuration
 * tree.  Sections that execute on read (<IfModule>, <IfDefine>,
 * <IfVersion>, Include, <Macro>/Use) are already resolved there, so the
 * children of a <VirtualHost> node are the vhost's directives and the
 * top-level nodes the main server's.  A vhost inherits each of
 * SSLEngine, SSLVerifyClient, SSLVerifyDepth, SSLCACertificateFile,
 * SSLCACertificatePath and SSLVerifyClientAcceptExpired from the main
 * server when it does not set it (mod_ssl's cfgMerge* in
 * ssl_engine_config.c); within one server the last one wins.  Defaults
 * as mod_ssl applies them after the merge: SSLVerifyClient none,
 * SSLVerifyDepth 1, SSLVerifyClientAcceptExpired off.  Directives in
 * <Directory>, <Location> and <Files> are per-directory verification
 * (renegotiation), which is not judged here.
 */
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_devprov_check.h"
#include "mod_devprov_private.h"
#include "mod_devprov_ssl.h"
#include "src/dp_check.h"

APLOG_USE_MODULE(devprov);

/* See mod_devprov_check.h. */
void devprov_check_view(server_rec *s, apr_pool_t *p,
                        devprov_check_view_t *out)
{
    const devprov_srv_t *sc = devprov_srv(s);
    devprov_check_vendor_t *v;
    int i;

    out->engine = devprov_engine_on(sc);
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


/* at most this many allowlist lines are reported at startup */
#define AL_REPORT_MAX 10

/* ------------------------------------------------------------------ */
/* mod_ssl's directives from the configuration tree                    */

typedef struct {
    const ap_directive_t *engine, *verify, *depth, *cafile, *capath,
                         *accept;
} ssl_dirs_t;

/* The directives of one level: the siblings from NODE on, without
 * descending into sections. */
static void read_level(const ap_directive_t *node, ssl_dirs_t *d)
{
    for (; node != NULL; node = node->next) {
        const char *n = node->directive;

        if (n[0] == '<')
            continue;
        if (!strcasecmp(n, "SSLEngine"))
            d->engine = node;
        else if (!strcasecmp(n, "SSLVerifyClient"))
            d->verify = node;
        else if (!strcasecmp(n, "SSLVerifyDepth"))
            d->depth = node;
        else if (!strcasecmp(n, "SSLCACertificateFile"))
            d->cafile = node;
        else if (!strcasecmp(n, "SSLCACertificatePath"))
            d->capath = node;
        else if (!strcasecmp(n, "SSLVerifyClientAcceptExpired"))
            d->accept = node;
    }
}

/* The <VirtualHost> node S was made from, searched in the whole tree. */
static const ap_directive_t *vhost_node(const ap_directive_t *node,
                                        const server_rec *s)
{
    for (; node != NULL; node = node->next) {
        const ap_directive_t *found;

        if (!strcasecmp(node->directive, "<VirtualHost")
            && (unsigned)node->line_num == s->defn_line_number
            && node->filename != NULL && s->defn_name != NULL
            && strcmp(node->filename, s->defn_name) == 0)
            return node;
        if (node->first_child != NULL
            && (found = vhost_node(node->first_child, s)) != NULL)
            return found;
    }
    return NULL;
}

/* S's mod_ssl settings, merged as mod_ssl merges them. */
static void ssl_dirs(const server_rec *s, ssl_dirs_t *d)
{
    ssl_dirs_t v;
    const ap_directive_t *node;

    memset(d, 0, sizeof(*d));
    read_level(ap_conftree, d);
    if (!s->is_virtual)
        return;
    memset(&v, 0, sizeof(v));
    node = vhost_node(ap_conftree, s);
    if (node != NULL)
        read_level(node->first_child, &v);
#define MERGE(f) if (v.f != NULL) d->f = v.f
    MERGE(engine);
    MERGE(verify);
    MERGE(depth);
    MERGE(cafile);
    MERGE(capath);
    MERGE(accept);
#undef MERGE
}

/* The first argument of NODE, or NULL. */
static const char *arg1(apr_pool_t *p, const ap_directive_t *node)
{
    const char *args = node ? node->args : NULL;
    const char *w;

    if (args == NULL)
        return NULL;
    w = ap_getword_conf(p, &args);
    return *w ? w : NULL;
}

static const char *at(apr_pool_t *p, const ap_directive_t *node)
{
    return apr_psprintf(p, "%s:%d", node->filename ? node->filename : "?",
                        node->line_num);
}

typedef enum { V_NONE, V_OPTIONAL, V_REQUIRE, V_OPTIONAL_NO_CA } verify_t;

static verify_t verify_mode(apr_pool_t *p, const ap_directive_t *node)
{
    const char *v = arg1(p, node);

    if (v == NULL || !strcasecmp(v, "none") || !strcasecmp(v, "off"))
        return V_NONE;
    if (!strcasecmp(v, "optional"))
        return V_OPTIONAL;
    if (!strcasecmp(v, "optional_no_ca"))
        return V_OPTIONAL_NO_CA;
    return V_REQUIRE;                   /* require, on (mod_ssl checked) */
}

/* "SSLVerifyClient optional (file:line)", or "... (mod_ssl's default)" */
static const char *said(apr_pool_t *p, const char *name,
                        const ap_directive_t *node, const char *dflt)
{
    if (node == NULL)
        return apr_psprintf(p, "%s %s (mod_ssl's default)", name, dflt);
    return apr_psprintf(p, "%s %s (%s)", name, node->args, at(p, node));
}

/* ------------------------------------------------------------------ */
/* the handshake's CA store against the vendors' CAs                   */

typedef struct {
    apr_pool_t *p;
    const char *vhost;
    const devprov_check_vendor_t *vendor;
    const char *store_desc;     /* "SSLCACertificateFile x (file:line)" */
    const char *why;            /* what the phones then see; NULL: only
                                 * the depth is judged */
    int errors;
    /* the deepest chain SSLVerifyDepth does not cover */
    int need_depth;
    const char *need_vendor, *need_ca, *need_where;
} hs_ctx_t;

static void hs_problem(void *arg, const dp_hs_problem_t *pr)
{
    hs_ctx_t *c = arg;

    if (pr->kind == DP_HS_DEPTH) {
        if (pr->need_depth > c->need_depth) {
            c->need_depth = pr->need_depth;
            c->need_vendor = c->vendor->name;
            c->need_ca = apr_pstrdup(c->p, pr->subject);
            c->need_where = c->vendor->where;
        }
        return;
    }
    if (c->why == NULL)
        return;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                 "devprov: virtual host %s: vendor '%s' (DevprovTrust %s): "
                 "its CA certificate '%s' %s the TLS handshake's CA store "
                 "(%s): %s: add %s%s to SSLCACertificateFile",
                 c->vhost, c->vendor->name, c->vendor->where, pr->subject,
                 pr->kind == DP_HS_NOT_IN_STORE
                 ? "is not in"
                 : apr_psprintf(c->p, "does not chain to a root (%s) in",
                                X509_verify_cert_error_string(pr->x509_err)),
                 c->store_desc, c->why, pr->subject,
                 X509_get_extension_flags(pr->ca) & EXFLAG_SS
                 ? "" : " (and its root)");
    c->errors++;
}

static int check_store(server_rec *s, const char *vhost, apr_pool_t *p,
                       const ssl_dirs_t *d, const devprov_check_view_t *view,
                       const char *why)
{
    const char *file = arg1(p, d->cafile), *dir = arg1(p, d->capath);
    const char *depth_s = arg1(p, d->depth);
    X509_STORE *hs;
    hs_ctx_t c;
    int i, depth = depth_s ? atoi(depth_s) : 1;

    memset(&c, 0, sizeof(c));
    c.p = p;
    c.vhost = vhost;
    c.why = why;
    c.store_desc = apr_pstrcat(p,
        d->cafile ? said(p, "SSLCACertificateFile", d->cafile, "")
                  : "SSLCACertificateFile none",
        ", ",
        d->capath ? said(p, "SSLCACertificatePath", d->capath, "")
                  : "SSLCACertificatePath none", NULL);
    if (file != NULL)
        file = ap_server_root_relative(p, file);
    if (dir != NULL)
        dir = ap_server_root_relative(p, dir);
    hs = X509_STORE_new();
    if (hs == NULL)
        return !OK;
    if ((file != NULL || dir != NULL)
        && X509_STORE_load_locations(hs, file, dir) != 1) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "devprov: virtual host %s: cannot read the TLS "
                     "handshake's CA store (%s): no certificates there",
                     vhost, c.store_desc);
        X509_STORE_free(hs);
        return !OK;
    }
    for (i = 0; i < view->nvendors; i++) {
        c.vendor = &view->vendors[i];
        if (c.vendor->trust == NULL)
            continue;
        if (dp_check_handshake_store(c.vendor->trust, hs, depth, hs_problem,
                                     &c) < 0) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "devprov: virtual host %s: out of memory checking "
                         "the TLS handshake's CA store", vhost);
            c.errors++;
            break;
        }
    }
    X509_STORE_free(hs);
    if (c.need_depth > 0) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "devprov: virtual host %s: %s is too small for vendor "
                     "'%s' (DevprovTrust %s): a phone certificate issued by "
                     "'%s' sits %d levels below its root, and mod_ssl "
                     "refuses longer chains than SSLVerifyDepth in the "
                     "handshake (\"Certificate Chain too long\"): set "
                     "SSLVerifyDepth %d", vhost,
                     said(p, "SSLVerifyDepth", d->depth, "1"), c.need_vendor,
                     c.need_where, c.need_ca, c.need_depth, c.need_depth);
        c.errors++;
    }
    (void)s;
    return c.errors ? !OK : OK;
}

int devprov_check_handshake(server_rec *s, const char *vhost,
                            apr_pool_t *ptemp)
{
    devprov_check_view_t view;
    ssl_dirs_t d;
    const char *engine;
    verify_t mode;
    int patched, rc = OK;

    /* file checks are skipped when httpd only dumps its configuration */
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP)
        return OK;
    if (ap_find_linked_module("mod_ssl.c") == NULL)
        return OK;
    devprov_check_view(s, ptemp, &view);
    if (!view.engine || view.nvendors == 0)
        return OK;
    ssl_dirs(s, &d);
    engine = arg1(ptemp, d.engine);
    if (engine == NULL || strcasecmp(engine, "on") != 0)
        return OK;                      /* no TLS here (mod_ssl's view) */
    mode = verify_mode(ptemp, d.verify);
    patched = devprov_mod_ssl_patched();
    if (patched) {
        if (mode == V_NONE)
            return OK;
        if (mode == V_OPTIONAL_NO_CA) {
            /* time errors and unknown CAs are waived, but a chain that
             * the store does build is still held to SSLVerifyDepth by
             * mod_ssl's callback, in every mode */
            if (d.cafile == NULL && d.capath == NULL)
                return OK;
            return check_store(s, vhost, ptemp, &d, &view, NULL);
        }
        {
            const char *acc = arg1(ptemp, d.accept);
            if (acc == NULL || strcasecmp(acc, "on") != 0) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0,
                             NULL, "devprov: virtual host %s: %s without "
                             "SSLVerifyClientAcceptExpired on%s: mod_ssl "
                             "then fails the TLS handshake of every phone "
                             "whose certificate has expired, which devprov "
                             "is there to let in: add "
                             "SSLVerifyClientAcceptExpired on, or use "
                             "SSLVerifyClient optional_no_ca", vhost,
                             said(ptemp, "SSLVerifyClient", d.verify, ""),
                             d.accept ? apr_psprintf(ptemp, " (%s says %s)",
                                                     at(ptemp, d.accept),
                                                     d.accept->args)
                                      : "");
                rc = !OK;
            }
        }
        if (check_store(s, vhost, ptemp, &d, &view,
                        "a phone that sends only its own certificate then "
                        "fails the TLS handshake with mod_ssl's error (an "
                        "unknown CA), before devprov sees it") != OK)
            rc = !OK;
        return rc;
    }
    /* stock mode: devprov waives a time error only in a chain that
     * otherwise verifies against SSLCACertificateFile/Path */
    if (mode == V_NONE)
        return OK;              /* no client certificate asked for here */
    if (d.cafile == NULL && d.capath == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "devprov: virtual host %s: stock mod_ssl with %s but no "
                     "SSLCACertificateFile or SSLCACertificatePath: devprov "
                     "can tolerate an expired phone certificate in the TLS "
                     "handshake only when it chains to a CA there, so "
                     "phones with expired certificates fail the handshake "
                     "with mod_ssl's \"certificate has expired\": add "
                     "SSLCACertificateFile with the vendors' CA "
                     "certificates (those of DevprovTrust)", vhost,
                     said(ptemp, "SSLVerifyClient", d.verify, ""));
        return !OK;
    }
    return check_store(s, vhost, ptemp, &d, &view,
                       "a phone that sends only its own certificate then "
                       "fails the TLS handshake with mod_ssl's \"certificate "
                       "has expired\" (or unknown CA) error, not devprov's, "
                       "since stock mode tolerates time errors only in "
                       "chains that verify there");
}

/* ------------------------------------------------------------------ */
/* allowlist vendor= against the configured vendors                    */

struct devprov_known {
    const char **names;
    size_t n;
    const char *list;           /* "polycom, yealink" */
};

const devprov_known_t *devprov_check_known(server_rec *s, apr_pool_t *p)
{
    devprov_known_t *k = apr_pcalloc(p, sizeof(*k));
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));
    char buf[1024];
    int i, j;

    for (; s != NULL; s = s->next) {
        devprov_check_view_t view;

        devprov_check_view(s, p, &view);
        for (i = 0; i < view.nvendors; i++) {
            const char *name = view.vendors[i].name;
            for (j = 0; j < names->nelts; j++)
                if (strcmp(APR_ARRAY_IDX(names, j, const char *), name) == 0)
                    break;
            if (j == names->nelts)
                APR_ARRAY_PUSH(names, const char *) = name;
        }
    }
    k->names = (const char **)names->elts;
    k->n = (size_t)names->nelts;
    k->list = apr_pstrdup(p, dp_check_name_list(k->names, k->n, buf,
                                                sizeof(buf)));
    return k;
}

const char *devprov_known_list(const devprov_known_t *k)
{
    return k->list;
}

int devprov_known_has(const devprov_known_t *k, const char *vendor)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (strcmp(k->names[i], vendor) == 0)
            return 1;
    return 0;
}

typedef struct {
    const devprov_known_t *k;
    const char *path, *where;
    long reported;
    /* re-read: the first one */
    uint32_t line;
    const char *vendor;
} al_ctx_t;

static void al_startup(void *arg, uint32_t line, const char *vendor)
{
    al_ctx_t *c = arg;

    if (c->reported++ >= AL_REPORT_MAX)
        return;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                 "devprov: %s:%u: vendor=%s names no vendor configured in "
                 "any virtual host (DevprovAllowlist %s; configured: %s): a "
                 "phone bound to it is never allowlisted: correct the name "
                 "or configure the vendor with DevprovTrust %s <file>",
                 c->path, (unsigned)line, vendor, c->where, c->k->list,
                 vendor);
}

int devprov_check_allowlist(const devprov_known_t *k, const dp_allowlist_t *al,
                            const char *path, const char *where,
                            apr_pool_t *ptemp)
{
    al_ctx_t c;
    long n;

    (void)ptemp;
    memset(&c, 0, sizeof(c));
    c.k = k;
    c.path = path;
    c.where = where;
    n = dp_check_allowlist_vendors(al, k->names, k->n, al_startup, &c);
    if (n < 0) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "devprov: DevprovAllowlist %s (%s): out of memory "
                     "checking its vendor= names", path, where);
        return !OK;
    }
    if (n > AL_REPORT_MAX)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     "devprov: %s: %ld more lines with a vendor= that names "
                     "no configured vendor (DevprovAllowlist %s)", path,
                     n - AL_REPORT_MAX, where);
    return n == 0 ? OK : !OK;
}

static void al_first(void *arg, uint32_t line, const char *vendor)
{
    al_ctx_t *c = arg;

    if (c->reported++ == 0) {
        c->line = line;
        c->vendor = vendor;
    }
}

int devprov_check_allowlist_reread(const void *list, const void *known,
                                   const char *path, char *err,
                                   size_t errlen)
{
    const devprov_known_t *k = known;
    al_ctx_t c;
    long n;

    memset(&c, 0, sizeof(c));
    n = dp_check_allowlist_vendors(list, k->names, k->n, al_first, &c);
    if (n == 0)
        return 0;
    if (n < 0)
        apr_snprintf(err, errlen, "%s: out of memory checking its vendor= "
                     "names", path);
    else
        apr_snprintf(err, errlen, "%s:%u: vendor=%s names no configured "
                     "vendor (configured: %s; %ld such line%s)", path,
                     (unsigned)c.line, c.vendor, k->list, n,
                     n == 1 ? "" : "s");
    return -1;
}
