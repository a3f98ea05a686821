/* dp_conf.h - devprov's configuration model: what each directive's value
 * means, what is wrong with it and how a virtual host inherits from the
 * main server.
 *
 * The module's directive handlers (mod_devprov_config.c: resolve the path
 * against ServerRoot, check the context, hand over) and devprov-check's
 * options and dump reader (tools/check_conf.c) both use these, so that a
 * value is judged, and its error worded, in one place only.  Messages
 * start with the directive's name as the caller gives it (DIRECTIVE) and
 * are written into ERR (ERRLEN bytes; DP_CONF_ERR_MAX is enough).
 *
 * Part of devprov's pure-C core: OpenSSL and libc only (no httpd, no
 * apr): storage is malloc'd, and the caller frees what it made.
 */
#ifndef DP_CONF_H
#define DP_CONF_H

#include <stddef.h>

#include "dp_identify.h"
#include "dp_keyset.h"
#include "dp_macrule.h"

#define DP_CONF_UNSET (-1)
#define DP_CONF_ERR_MAX 1024

/* ---- one vendor (DevprovTrust, DevprovMacFrom, DevprovSecurityLevel,
 * DevprovAcceptNotYetValid) ------------------------------------------- */

typedef struct dp_conf_vendor {
    dp_vendor_t v;              /* what dp_identify() reads; v.rules is
                                 * RULES below */
    dp_macrule_t **rules;
    size_t rules_cap;
    int custom_rules;           /* DevprovMacFrom seen: presets replaced */
    char *where;                /* "file:line" of its first directive */
    char **trust_paths;         /* DevprovTrust's paths, as given to
                                 * dp_conf_vendor_trust(), in order */
    size_t ntrust_paths;
} dp_conf_vendor_t;

/* A new vendor NAME, first named by DIRECTIVE at WHERE: the name
 * checked, a preset's MAC rules in place, security level
 * DP_AUTH_LEVEL_DEFAULT.  NULL with the message in ERR. */
dp_conf_vendor_t *dp_conf_vendor_new(const char *directive, const char *name,
                                     const char *where, char *err,
                                     size_t errlen);
void dp_conf_vendor_free(dp_conf_vendor_t *vc);

/* DevprovTrust VENDOR PATH: add the CA certificates in PATH (a file or a
 * directory, already resolved by the caller). */
int dp_conf_vendor_trust(dp_conf_vendor_t *vc, const char *directive,
                         const char *path, char *err, size_t errlen);

/* DevprovMacFrom VENDOR ATTR [PATTERN]: the first one replaces the
 * preset's rules, the next ones add to it. */
int dp_conf_vendor_macfrom(dp_conf_vendor_t *vc, const char *directive,
                           const char *attr, const char *pattern, char *err,
                           size_t errlen);

/* DevprovSecurityLevel VENDOR 0-5 */
int dp_conf_vendor_seclevel(dp_conf_vendor_t *vc, const char *directive,
                            const char *level, char *err, size_t errlen);

/* DevprovAcceptNotYetValid VENDOR on|off */
int dp_conf_vendor_notyetvalid(dp_conf_vendor_t *vc, const char *directive,
                               const char *flag, char *err, size_t errlen);

/* ---- the server's own values ----------------------------------------- */

/* DevprovDeny off|unverified|unlisted into *OUT (a dp_policy_t). */
int dp_conf_deny(const char *directive, const char *arg, int *out, char *err,
                 size_t errlen);

/* DevprovDeny's value by name: "off", "unverified", "unlisted", or
 * "unset" for DP_CONF_UNSET. */
const char *dp_conf_deny_name(int deny);

/* DevprovUserIdentity off|on|<class> ...: the N words ARGV into *OUT, a
 * set of DP_USER_* classes (dp_verdict.h; 0 for off).  "on" is
 * no-cert generic no-mac; the classes are no-cert, generic, no-mac and
 * unverified, each at most once; off and on stand alone. */
int dp_conf_user_identity(const char *directive, int n,
                          const char *const *argv, int *out, char *err,
                          size_t errlen);

/* Its value by name, as the dump writes it ("unset", "off", or the
 * classes separated by blanks) into BUF (64 bytes are enough). */
const char *dp_conf_user_identity_name(int classes, char *buf, size_t len);

/* A list file's check interval (DevprovAllowlist, DevprovRevoked): SECS
 * (NULL: the default, 5) into *OUT, in seconds. */
#define DP_CONF_INTERVAL_DEFAULT 5
int dp_conf_interval(const char *directive, const char *secs, long *out,
                     char *err, size_t errlen);

/* DevprovDenyKey ARG (a file or directory already resolved, or
 * sha256:<hex>) into *KS, made when NULL (the caller frees it).  Returns
 * the number of keys added, or -1. */
int dp_conf_denykey(dp_keyset_t **ks, const char *directive, const char *arg,
                    char *err, size_t errlen);

/* DevprovEnrol PATH (resolved): its directory must exist (the file is
 * made on the first enrolment). */
int dp_conf_enrol(const char *directive, const char *path, char *err,
                  size_t errlen);

/* One allowlist per server, a file or a database.  DIRECTIVE (an
 * allowlist directive; SQL: it is DevprovAllowlistSQL) given where the
 * server already has FILE (the path of its DevprovAllowlist, or NULL)
 * or DB (where its DevprovAllowlistSQL is, or NULL): 0, or -1 and why. */
int dp_conf_allowlist_once(const char *directive, int sql, const char *file,
                           const char *db, char *err, size_t errlen);

/* DevprovRevoked given where the server already has one (HAVE). */
int dp_conf_revoked_once(const char *directive, int have, char *err,
                         size_t errlen);

/* ---- inheritance ------------------------------------------------------ */

/* The values of one server as the merge sees them; what a pointer points
 * to is the caller's (NULL: not set in this server). */
typedef struct dp_conf_layer {
    int engine;                 /* DP_CONF_UNSET, 0, 1 */
    int deny;                   /* DP_CONF_UNSET or dp_policy_t */
    int bind_path;              /* DP_CONF_UNSET, 0, 1 */
    int user_id;                /* DP_CONF_UNSET or DP_USER_* classes
                                 * (DevprovUserIdentity; 0: off) */
    int policy_here;            /* DevprovDeny/BindPath said in this very
                                 * server (never inherited) */
    void *vendors;              /* the vendor set */
    void *allow;                /* DevprovAllowlist */
    void *sql;                  /* DevprovAllowlistSQL */
    void *revoked;
    const char *enrol_path;
    dp_keyset_t *deny_keys;
} dp_conf_layer_t;

/* OUT: what a request to ADD sees, where BASE is the server above it
 * (mod_devprov's merge_srv).  A vhost that configures any vendor defines
 * its whole vendor set; the nearer allowlist (file or database) wins;
 * DevprovDenyKey lists add up: *MADE is then a new keyset (OUT's) that
 * the caller frees, else NULL.  Returns 0, or -1 when out of memory (OUT
 * then has ADD's keys, the stricter half). */
int dp_conf_merge(const dp_conf_layer_t *base, const dp_conf_layer_t *add,
                  dp_conf_layer_t *out, dp_keyset_t **made);

/* ---- cross-directive checks (apache2 -t) ------------------------------ */

typedef void (*dp_conf_report_fn)(void *arg, const char *msg);

/* A merged server's checks of its vendors and policies: each problem
 * is reported (a message starting "devprov: ") and counted.  VHOST names
 * the server in messages; IS_VIRTUAL: a <VirtualHost>.  Returns the
 * number of problems. */
int dp_conf_check_server(const dp_conf_layer_t *sc,
                         const dp_conf_vendor_t *const *vendors,
                         size_t nvendors, int is_virtual, const char *vhost,
                         dp_conf_report_fn report, void *arg);

/* ... and, where DevprovEngine is on, what it needs to work. */
int dp_conf_check_engine(const dp_conf_layer_t *sc, size_t nvendors,
                         const char *vhost, dp_conf_report_fn report,
                         void *arg);

#endif
