/* mod_devprov_check.h - "apache2 -t" checks of devprov against mod_ssl's
 * settings and of allowlists against the configured vendors.
 *
 * Part of mod_devprov's Apache glue (the logic is in src/dp_check.c).
 * mod_devprov_config.c's check_config hook calls these.  "apache2 -t" runs the
 * check_config hooks but not post_config, so mod_ssl's SSL_CTX does not
 * exist then: mod_ssl's directives are read from the parsed
 * configuration tree (ap_conftree), with mod_ssl's merge rules, and the
 * handshake's CA store is built from SSLCACertificateFile/Path here.
 */
#ifndef MOD_DEVPROV_CHECK_H
#define MOD_DEVPROV_CHECK_H

#include "httpd.h"
#include "http_config.h"

#include "src/dp_allowlist.h"
#include "src/dp_trust.h"

/* One vendor as configured in (or inherited by) a server. */
typedef struct {
    const char *name;
    const dp_trust_t *trust;
    const char *where;          /* "file:line" of its first directive */
} devprov_check_vendor_t;

/* What devprov has configured in a server, merged. */
typedef struct {
    int engine;                 /* DevprovEngine on */
    const devprov_check_vendor_t *vendors;
    int nvendors;
} devprov_check_view_t;

/* S's view, allocated from P. */
void devprov_check_view(server_rec *s, apr_pool_t *p,
                        devprov_check_view_t *out);

/* The names of the vendors configured in any server of the chain S. */
typedef struct devprov_known devprov_known_t;

const devprov_known_t *devprov_check_known(server_rec *s, apr_pool_t *p);

/* "polycom, yealink": for messages. */
const char *devprov_known_list(const devprov_known_t *k);

/* Startup: report (APLOG_STARTUP) every line of the allowlist AL (file
 * PATH, of the directive at WHERE) whose vendor= names none of K's
 * vendors.  Returns OK or !OK. */
int devprov_check_allowlist(const devprov_known_t *k, const dp_allowlist_t *al,
                            const char *path, const char *where,
                            apr_pool_t *ptemp);

/* Re-read: 0 if the fresh list LIST (a dp_allowlist_t) names only known
 * vendors (KNOWN: a devprov_known_t), else -1 with "path:line: reason"
 * in ERR. */
int devprov_check_allowlist_reread(const void *list, const void *known,
                                   const char *path, char *err,
                                   size_t errlen);

/* Is VENDOR (a database row's vendor column) one of K's? */
int devprov_known_has(const devprov_known_t *k, const char *vendor);

/* Startup: the checks of server S (VHOST: its name for messages) against
 * mod_ssl's settings for it.  Returns OK or !OK. */
int devprov_check_handshake(server_rec *s, const char *vhost,
                            apr_pool_t *ptemp);

#endif
