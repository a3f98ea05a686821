/* check_conf.h - devprov-check's reading of the devprov directives, from
 * an Apache configuration file or from command-line options, into one
 * server configuration per server (main and <VirtualHost>), merged as
 * mod_devprov_config.c's devprov_merge_srv() does.
 */
#ifndef TOOLS_CHECK_CONF_H
#define TOOLS_CHECK_CONF_H

#include <stddef.h>

#include "src/dp_allowlist.h"
#include "src/dp_conf.h"
#include "src/dp_identify.h"
#include "src/dp_keyset.h"
#include "src/dp_macrule.h"
#include "src/dp_revoked.h"
#include "src/dp_trust.h"
#include "src/dp_verdict.h"

#define CC_UNSET DP_CONF_UNSET
#define CC_MAX_VENDORS 64
#define CC_MAX_NAMES 32

/* a vendor: the core's model of it (src/dp_conf.h) */
typedef dp_conf_vendor_t cc_vendor_t;

typedef struct cc_srv {
    int is_virtual;
    char *where;                        /* "<VirtualHost ...>" file:line */
    char *names[CC_MAX_NAMES];          /* ServerName, ServerAlias */
    size_t nnames;
    char *addrs[CC_MAX_NAMES];          /* <VirtualHost> arguments */
    size_t naddrs;

    int engine;                         /* CC_UNSET, 0, 1 */
    int deny;                           /* CC_UNSET or dp_policy_t */
    int bind_path;
    int policy_here;
    int vendors_set;                    /* this server configures vendors */
    cc_vendor_t *vendors[CC_MAX_VENDORS];
    size_t nvendors;
    const dp_vendor_t *vendor_ptrs[CC_MAX_VENDORS];
    dp_allowlist_t *allow;              /* NULL = unset */
    char *allow_path;
    char *allow_where;                  /* its directive's file:line */
    char *sql_where;                    /* DevprovAllowlistSQL, NULL = unset */
    dp_keyset_t *deny_keys;
    size_t deny_key_count;              /* keys added by DevprovDenyKey */
    dp_revoked_t *revoked;
    char *revoked_path;
    char *revoked_where;                /* its directive's file:line */
    char *enrol_path;
} cc_srv_t;

typedef struct cc_conf {
    char *server_root;                  /* apache2 -d; NULL: its default */
    const char *httpd;                  /* the apache2 binary; NULL:
                                         * "apache2" */
    const char *envvars;                /* sourced before it; NULL: as
                                         * apache2ctl, "" none */
    cc_srv_t *main;                     /* the main server, and */
    cc_srv_t **vhosts;                  /* the virtual hosts, each merged
                                         * with it by httpd */
    size_t nvhosts;
    char **defines;                     /* apache2 -D */
    size_t ndefines;
    size_t errors;                      /* configuration errors reported */
    const char *prog;                   /* for messages */
} cc_conf_t;

cc_srv_t *cc_srv_new(void);

/* The server configuration a request to ADD sees: BASE's values where
 * ADD sets none, by the module's rules (dp_conf_merge).  Returns NULL
 * when out of memory. */
cc_srv_t *cc_merge(const cc_srv_t *base, const cc_srv_t *add);

/* The servers of the Apache configuration FILE as httpd reads them:
 * runs CONF->httpd -t -D DUMP_DEVPROV (with CONF's -d and -D) and reads
 * its dump into CONF->main and CONF->vhosts (check_dump.c).  httpd's
 * messages are printed, a syntax error's as "FILE:LINE: reason"; returns
 * 0, or -1 when httpd refused the configuration or printed no dump. */
int cc_load_httpd(cc_conf_t *conf, const char *file);

/* The same from a saved dump (doc/dump-format.md): the file PATH, or
 * standard input for "-". */
int cc_load_dump_file(cc_conf_t *conf, const char *path);

/* The dump in BUF (LEN bytes, changed in place), NAME for messages. */
int cc_read_dump(cc_conf_t *conf, char *buf, size_t len, const char *name);

/* The module's cross-directive checks (dp_conf_check_server/_engine) of
 * one merged server; each problem is printed and counted. */
void cc_check_server(cc_conf_t *conf, const cc_srv_t *merged);

/* Directive handlers shared by the file reader and the options: each
 * returns NULL or a malloc'd message. */
char *cc_trust(cc_srv_t *sc, const char *vendor, const char *path,
               const char *where);
char *cc_macfrom(cc_srv_t *sc, const char *vendor, const char *attr,
                 const char *pattern, const char *where);
char *cc_notyetvalid(cc_srv_t *sc, const char *vendor, const char *flag,
                     const char *where);
char *cc_seclevel(cc_srv_t *sc, const char *vendor, const char *level,
                  const char *where);
char *cc_allowlist(cc_srv_t *sc, const char *path, const char *secs);
char *cc_denykey(cc_srv_t *sc, const char *arg);
char *cc_revoked(cc_srv_t *sc, const char *path, const char *secs);
char *cc_enrol(cc_srv_t *sc, const char *path);
char *cc_deny(cc_srv_t *sc, const char *arg);

char *cc_strdup(const char *s);
char *cc_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "devprov-check: <message>" on stderr; returns 2 (a usage,
 * configuration or file error), for "return cc_fail(...)". */
int cc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
