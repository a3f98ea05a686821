/* check_conf.h - devprov-check's reading of the devprov directives, from
 * an Apache configuration file or from command-line options, into one
 * server configuration per server (main and <VirtualHost>), merged as
 * mod_devprov_config.c's devprov_merge_srv() does.
 */
#ifndef TOOLS_CHECK_CONF_H
#define TOOLS_CHECK_CONF_H

#include <stddef.h>

#include "src/dp_allowlist.h"
#include "src/dp_identify.h"
#include "src/dp_keyset.h"
#include "src/dp_macrule.h"
#include "src/dp_revoked.h"
#include "src/dp_trust.h"
#include "src/dp_verdict.h"

#define CC_UNSET (-1)
#define CC_MAX_VENDORS 64
#define CC_MAX_RULES 16
#define CC_MAX_NAMES 32

typedef struct cc_vendor {
    dp_vendor_t v;
    dp_macrule_t *rules[CC_MAX_RULES];
    int custom_rules;           /* DevprovMacFrom seen: presets replaced */
    char *where;                /* file:line of its first directive */
} cc_vendor_t;

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
    char *enrol_path;
} cc_srv_t;

typedef struct cc_conf {
    char *server_root;
    cc_srv_t *main;
    cc_srv_t **vhosts;
    size_t nvhosts;
    /* -D names and Define'd names, LoadModule'd module names */
    char **defines;
    size_t ndefines;
    char **modules;
    size_t nmodules;
    size_t errors;                      /* configuration errors reported */
    const char *prog;                   /* for messages */
} cc_conf_t;

cc_srv_t *cc_srv_new(void);

/* The server configuration a request to ADD sees: BASE's values where
 * ADD sets none (mod_devprov_config.c devprov_merge_srv()).  Returns NULL when out of
 * memory. */
cc_srv_t *cc_merge(const cc_srv_t *base, const cc_srv_t *add);

/* Read the Apache configuration FILE (relative to CONF->server_root if
 * not absolute), following Include/IncludeOptional.  Errors are printed
 * to stderr as "FILE:LINE: reason" and counted in CONF->errors; returns
 * 0 if none. */
int cc_read_apache(cc_conf_t *conf, const char *file);

/* mod_devprov_config.c devprov_check_config(): cross-directive checks of one merged
 * server; each problem is printed and counted. */
void cc_check_server(cc_conf_t *conf, const cc_srv_t *merged);

/* Allowlist lines whose vendor= names none of the vendors of the N
 * merged SERVERS (mod_devprov_config.c devprov_check_config(), src/dp_check.h): each
 * list once, each such line printed and counted. */
void cc_check_allowlists(cc_conf_t *conf, cc_srv_t *const *servers,
                         size_t n);

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

#endif
