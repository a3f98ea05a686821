/* mod_devprov_dump.c - "apache2 -t -D DUMP_DEVPROV": every server's merged
 * devprov settings on standard output, in the line-based form of
 * doc/dump-format.md, so that devprov-check reads httpd's own parse of
 * the configuration (Include, Define, <IfModule>, <IfVersion>, <Macro>,
 * the merge of each virtual host) instead of parsing it a second time.
 * As mod_ssl's -D DUMP_CERTS and core's -D DUMP_VHOSTS, it runs in the
 * test_config hook: after check_config (a configuration httpd refuses is
 * never dumped) and only under -t.
 *
 * Licensed under the Apache License, Version 2.0.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"             /* ap_exists_config_define */
#include "apr_file_io.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_hex.h"
#include "src/dp_trust.h"

/* the first line; the number changes only with an incompatible format */
#define DUMP_HEADER "devprov-dump 1"

/* A field: bytes 0x21-0x7e as they are, except '%'; every other byte as
 * %XX (upper case), so that a path with spaces, tabs or newlines stays
 * one field of one line.  "-" is no value (NULL or empty); a value that
 * is "-" itself is written %2D. */
static const char *dump_esc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u;
    char *out, *o;

    if (s == NULL || *s == '\0')
        return "-";
    if (strcmp(s, "-") == 0)
        return "%2D";
    out = o = apr_palloc(p, 3 * strlen(s) + 1);
    for (u = (const unsigned char *)s; *u != '\0'; u++) {
        if (*u > 0x20 && *u < 0x7f && *u != '%') {
            *o++ = (char)*u;
        }
        else {
            *o++ = '%';
            *o++ = hex[*u >> 4];
            *o++ = hex[*u & 15];
        }
    }
    *o = '\0';
    return out;
}

static const char *dump_tristate(int v)
{
    return v == UNSET ? "unset" : v ? "on" : "off";
}

static const char *dump_hex(apr_pool_t *p, const unsigned char *md,
                            size_t n)
{
    char *out = apr_palloc(p, 2 * n + 1);

    dp_hex_encode(md, n, out);
    return out;
}

/* "ca VENDOR SHA256 BASE64-DER": the CA itself, so that the reader
 * builds the very same store (the same certificates, in the same order)
 * whatever became of the files since. */
static void dump_ca(apr_file_t *out, apr_pool_t *p, const char *vendor,
                    X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
    unsigned int mdlen = 0;
    unsigned char *b64;
    int len = i2d_X509(x, &der);

    if (len <= 0 || X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
        OPENSSL_free(der);
        /* an unreadable line, never a silently shorter store */
        apr_file_printf(out, "ca %s ? ?\n", vendor);
        return;
    }
    b64 = apr_palloc(p, 4 * (((size_t)len + 2) / 3) + 1);
    EVP_EncodeBlock(b64, der, len);
    OPENSSL_free(der);
    apr_file_printf(out, "ca %s %s %s\n", vendor, dump_hex(p, md, mdlen),
                    (const char *)b64);
}

static void dump_vendor(apr_file_t *out, apr_pool_t *p,
                        const vendor_conf_t *vc)
{
    const char *name = dump_esc(p, vc->v.name);
    size_t i;

    apr_file_printf(out, "vendor %s %s %d %s\n", name,
                    dump_esc(p, vc->where), vc->v.auth_level,
                    vc->v.accept_future ? "on" : "off");
    for (i = 0; i < vc->ntrust_paths; i++)
        apr_file_printf(out, "trust %s %s\n", name,
                        dump_esc(p, vc->trust_paths[i]));
    for (i = 0; vc->v.trust != NULL && i < dp_trust_count(vc->v.trust); i++)
        dump_ca(out, p, name, dp_trust_get(vc->v.trust, i));
    for (i = 0; i < vc->v.nrules; i++)
        apr_file_printf(out, "macrule %s %s %s\n", name,
                        dump_esc(p, dp_macrule_attr(vc->v.rules[i])),
                        dump_esc(p, dp_macrule_pattern(vc->v.rules[i])));
}

static void dump_names(apr_file_t *out, apr_pool_t *p,
                       const apr_array_header_t *names)
{
    int i;

    for (i = 0; names != NULL && i < names->nelts; i++)
        apr_file_printf(out, "alias %s\n",
                        dump_esc(p, APR_ARRAY_IDX(names, i, const char *)));
}

/* "KEYWORD PATH SECONDS WHERE" of a watched list file, if W */
static void dump_list(apr_file_t *out, apr_pool_t *p, const char *keyword,
                      const watched_t *w)
{
    if (w != NULL)
        apr_file_printf(out, "%s %s %" APR_TIME_T_FMT " %s\n", keyword,
                        dump_esc(p, w->path), apr_time_sec(w->interval),
                        dump_esc(p, w->directive_where));
}

static void dump_server(apr_file_t *out, apr_pool_t *p, const server_rec *s,
                        int n)
{
    const devprov_srv_t *sc = devprov_srv(s);
    const server_addr_rec *a;
    int i;

    apr_file_printf(out, "server %d %s %d %s %d\n", n,
                    dump_esc(p, s->server_hostname), s->is_virtual ? 1 : 0,
                    dump_esc(p, s->defn_name), s->defn_line_number);
    for (a = s->addrs; a != NULL; a = a->next) {
        char *ip = NULL;

        if (a->host_addr == NULL
            || apr_sockaddr_ip_get(&ip, a->host_addr) != APR_SUCCESS)
            ip = NULL;
        /* as written in <VirtualHost>, and the address it resolved to
         * ("*" is 0.0.0.0 and ::) */
        apr_file_printf(out, "addr %s %u %s\n", dump_esc(p, a->virthost),
                        (unsigned)a->host_port, dump_esc(p, ip));
    }
    dump_names(out, p, s->names);
    dump_names(out, p, s->wild_names);
    apr_file_printf(out, "engine %s\n", dump_tristate(sc->engine));
    apr_file_printf(out, "deny %s\n", dp_conf_deny_name(sc->deny));
    apr_file_printf(out, "bindpath %s\n", dump_tristate(sc->bind_path));
    {
        char classes[64];

        apr_file_printf(out, "useridentity %s\n",
                        dp_conf_user_identity_name(sc->user_id, classes,
                                                   sizeof(classes)));
    }
    for (i = 0; sc->vendors != NULL && i < sc->vendors->nelts; i++)
        dump_vendor(out, p, APR_ARRAY_IDX(sc->vendors, i, vendor_conf_t *));
    dump_list(out, p, "allowlist", sc->allow);
    if (sc->sql != NULL)
        apr_file_printf(out, "allowlist-sql %s\n",
                        dump_esc(p, devprov_sql_where(sc->sql)));
    if (sc->deny_keys != NULL) {
        size_t k;

        for (k = 0; k < dp_keyset_count(sc->deny_keys); k++)
            apr_file_printf(out, "denykey %s\n",
                            dump_hex(p, dp_keyset_get(sc->deny_keys, k),
                                     DP_SHA256_LEN));
    }
    dump_list(out, p, "revoked", sc->revoked);
    if (sc->enrol_path != NULL)
        apr_file_printf(out, "enrol %s\n", dump_esc(p, sc->enrol_path));
    apr_file_printf(out, "end\n");
}

static void dump_test_config(apr_pool_t *pconf, server_rec *s)
{
    apr_file_t *out;
    apr_pool_t *p;
    int n = 0;

    if (!ap_exists_config_define("DUMP_DEVPROV"))
        return;
    if (apr_file_open_stdout(&out, pconf) != APR_SUCCESS
        || apr_pool_create(&p, pconf) != APR_SUCCESS)
        return;
    apr_file_printf(out, DUMP_HEADER "\n");
    /* server_rec order: the main server first, then the virtual hosts in
     * the order of the configuration */
    for (; s != NULL; s = s->next) {
        dump_server(out, p, s, n++);
        apr_pool_clear(p);
    }
    apr_file_printf(out, "done %d\n", n);
    apr_file_flush(out);
    apr_pool_destroy(p);
}

void devprov_dump_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_test_config(dump_test_config, NULL, NULL, APR_HOOK_MIDDLE);
}
