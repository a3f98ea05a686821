/* dp_conf.c - devprov's configuration model (see dp_conf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dp_conf.h"
#include "dp_trust.h"
#include "dp_verdict.h"

static char *conf_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static int oom(const char *directive, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: out of memory", directive);
    return -1;
}

static int add_rule(dp_conf_vendor_t *vc, const char *directive,
                    const char *attr, const char *pattern, char *err,
                    size_t errlen)
{
    char why[512];
    dp_macrule_t *rule;

    if (vc->v.nrules == vc->rules_cap) {
        size_t cap = vc->rules_cap ? 2 * vc->rules_cap : 4;
        dp_macrule_t **g = realloc(vc->rules, cap * sizeof(*g));

        if (g == NULL)
            return oom(directive, err, errlen);
        vc->rules = g;
        vc->rules_cap = cap;
    }
    rule = dp_macrule_new(attr, pattern, why, sizeof(why));
    if (rule == NULL) {
        snprintf(err, errlen, "%s %s: %s", directive, vc->v.name, why);
        return -1;
    }
    vc->rules[vc->v.nrules++] = rule;
    vc->v.rules = vc->rules;
    return 0;
}

dp_conf_vendor_t *dp_conf_vendor_new(const char *directive, const char *name,
                                     const char *where, char *err,
                                     size_t errlen)
{
    const dp_rule_spec_t *preset;
    dp_conf_vendor_t *vc;

    if (!dp_vendor_name_valid(name)) {
        snprintf(err, errlen, "%s: invalid vendor name '%s': use 1-32 "
                 "characters of a-z, 0-9 and '-' (presets: %s)", directive,
                 name, dp_vendor_preset_names());
        return NULL;
    }
    vc = calloc(1, sizeof(*vc));
    if (vc == NULL
        || (vc->v.name = conf_strdup(name)) == NULL
        || (vc->where = conf_strdup(where ? where : "?")) == NULL) {
        dp_conf_vendor_free(vc);
        oom(directive, err, errlen);
        return NULL;
    }
    vc->v.auth_level = DP_AUTH_LEVEL_DEFAULT;
    for (preset = dp_vendor_preset(name); preset != NULL && preset->attr;
         preset++)
        if (add_rule(vc, directive, preset->attr, preset->pattern, err,
                     errlen) != 0) {
            dp_conf_vendor_free(vc);
            return NULL;
        }
    return vc;
}

void dp_conf_vendor_free(dp_conf_vendor_t *vc)
{
    size_t i;

    if (vc == NULL)
        return;
    for (i = 0; i < vc->v.nrules; i++)
        dp_macrule_free(vc->rules[i]);
    free(vc->rules);
    for (i = 0; i < vc->ntrust_paths; i++)
        free(vc->trust_paths[i]);
    free(vc->trust_paths);
    dp_trust_free(vc->v.trust);
    free((char *)vc->v.name);
    free(vc->where);
    free(vc);
}

int dp_conf_vendor_trust(dp_conf_vendor_t *vc, const char *directive,
                         const char *path, char *err, size_t errlen)
{
    char why[DP_CONF_ERR_MAX];
    char **g, *copy;

    if (vc->v.trust == NULL && (vc->v.trust = dp_trust_new()) == NULL)
        return oom(directive, err, errlen);
    if (dp_trust_add_path(vc->v.trust, path, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s %s: %s", directive, vc->v.name, why);
        return -1;
    }
    g = realloc(vc->trust_paths, (vc->ntrust_paths + 1) * sizeof(*g));
    if (g == NULL)
        return oom(directive, err, errlen);
    vc->trust_paths = g;
    if ((copy = conf_strdup(path)) == NULL)
        return oom(directive, err, errlen);
    vc->trust_paths[vc->ntrust_paths++] = copy;
    return 0;
}

int dp_conf_vendor_macfrom(dp_conf_vendor_t *vc, const char *directive,
                           const char *attr, const char *pattern, char *err,
                           size_t errlen)
{
    size_t i;

    if (!vc->custom_rules) {            /* the first one replaces presets */
        vc->custom_rules = 1;
        for (i = 0; i < vc->v.nrules; i++)
            dp_macrule_free(vc->rules[i]);
        vc->v.nrules = 0;
    }
    return add_rule(vc, directive, attr, pattern, err, errlen);
}

int dp_conf_vendor_seclevel(dp_conf_vendor_t *vc, const char *directive,
                            const char *level, char *err, size_t errlen)
{
    if (strlen(level) != 1 || level[0] < '0' || level[0] > '5') {
        snprintf(err, errlen, "%s %s: invalid level '%s', use 0-5 (OpenSSL "
                 "security level; default %d)", directive, vc->v.name, level,
                 DP_AUTH_LEVEL_DEFAULT);
        return -1;
    }
    vc->v.auth_level = level[0] - '0';
    return 0;
}

int dp_conf_vendor_notyetvalid(dp_conf_vendor_t *vc, const char *directive,
                               const char *flag, char *err, size_t errlen)
{
    if (!strcasecmp(flag, "on")) {
        vc->v.accept_future = 1;
    }
    else if (!strcasecmp(flag, "off")) {
        vc->v.accept_future = 0;
    }
    else {
        snprintf(err, errlen, "%s %s: unknown value '%s', use on or off "
                 "(default off)", directive, vc->v.name, flag);
        return -1;
    }
    return 0;
}

int dp_conf_deny(const char *directive, const char *arg, int *out, char *err,
                 size_t errlen)
{
    dp_policy_t p;

    if (dp_policy_parse(arg, &p) != 0) {
        snprintf(err, errlen, "%s: unknown value '%s', use off, unverified "
                 "or unlisted", directive, arg);
        return -1;
    }
    *out = (int)p;
    return 0;
}

static const struct {
    const char *name;
    int bit;
} user_classes[] = {
    { "no-cert", DP_USER_NO_CERT },
    { "generic", DP_USER_GENERIC },
    { "no-mac", DP_USER_NO_MAC },
    { "unverified", DP_USER_UNVERIFIED },
};

int dp_conf_user_identity(const char *directive, int n,
                          const char *const *argv, int *out, char *err,
                          size_t errlen)
{
    int i, set = 0;
    size_t j;

    if (n < 1) {
        snprintf(err, errlen, "%s: takes off, on, or the classes of "
                 "clients that may be identified by password (no-cert "
                 "generic no-mac unverified)", directive);
        return -1;
    }
    if (n == 1 && (!strcasecmp(argv[0], "off") || !strcasecmp(argv[0], "on"))) {
        *out = !strcasecmp(argv[0], "on") ? DP_USER_DEFAULT : 0;
        return 0;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < sizeof(user_classes) / sizeof(user_classes[0]); j++)
            if (!strcasecmp(argv[i], user_classes[j].name))
                break;
        if (j == sizeof(user_classes) / sizeof(user_classes[0])) {
            snprintf(err, errlen, "%s: '%s' is not a class of clients: use "
                     "no-cert, generic, no-mac or unverified (or on = "
                     "no-cert generic no-mac, or off alone)", directive,
                     argv[i]);
            return -1;
        }
        if (set & user_classes[j].bit) {
            snprintf(err, errlen, "%s: %s given twice", directive,
                     user_classes[j].name);
            return -1;
        }
        set |= user_classes[j].bit;
    }
    *out = set;
    return 0;
}

const char *dp_conf_user_identity_name(int classes, char *buf, size_t len)
{
    size_t j, used = 0;

    if (classes == DP_CONF_UNSET)
        snprintf(buf, len, "unset");
    else if (classes == 0)
        snprintf(buf, len, "off");
    else {
        buf[0] = '\0';
        for (j = 0; j < sizeof(user_classes) / sizeof(user_classes[0]); j++)
            if ((classes & user_classes[j].bit) && used < len) {
                int w = snprintf(buf + used, len - used, "%s%s",
                                 used ? " " : "", user_classes[j].name);
                used += w > 0 ? (size_t)w : 0;
            }
    }
    return buf;
}

const char *dp_conf_deny_name(int deny)
{
    switch (deny) {
    case DP_CONF_UNSET:
        return "unset";
    case DP_POLICY_UNVERIFIED:
        return "unverified";
    case DP_POLICY_UNLISTED:
        return "unlisted";
    default:
        return "off";
    }
}

int dp_conf_interval(const char *directive, const char *secs, long *out,
                     char *err, size_t errlen)
{
    char *end;
    long interval;

    if (secs == NULL) {
        *out = DP_CONF_INTERVAL_DEFAULT;
        return 0;
    }
    errno = 0;
    interval = strtol(secs, &end, 10);
    if (*secs == '\0' || *end != '\0' || errno != 0 || interval < 1
        || interval > 3600) {
        snprintf(err, errlen, "%s: invalid check interval '%s', use 1-3600 "
                 "seconds (default %d)", directive, secs,
                 DP_CONF_INTERVAL_DEFAULT);
        return -1;
    }
    *out = interval;
    return 0;
}

int dp_conf_denykey(dp_keyset_t **ks, const char *directive, const char *arg,
                    char *err, size_t errlen)
{
    char why[DP_CONF_ERR_MAX];
    int n;

    if (*ks == NULL && (*ks = dp_keyset_new()) == NULL)
        return oom(directive, err, errlen);
    n = dp_keyset_add(*ks, arg, why, sizeof(why));
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", directive, why);
        return -1;
    }
    return n;
}

int dp_conf_enrol(const char *directive, const char *path, char *err,
                  size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    struct stat st;
    int ok;

    if (slash == NULL)
        dir = conf_strdup(".");
    else if (slash == path)
        dir = conf_strdup("/");
    else if ((dir = malloc((size_t)(slash - path) + 1)) != NULL) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    if (dir == NULL)
        return oom(directive, err, errlen);
    ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    if (!ok) {
        snprintf(err, errlen, "%s: %s: its directory does not exist",
                 directive, path);
        return -1;
    }
    return 0;
}

int dp_conf_allowlist_once(const char *directive, int sql, const char *file,
                           const char *db, char *err, size_t errlen)
{
    const char *same = sql ? db : file;

    if (same != NULL) {
        snprintf(err, errlen, "%s: given twice in this server (already %s)",
                 directive, same);
        return -1;
    }
    if (sql && file != NULL) {
        snprintf(err, errlen, "%s: this server already has DevprovAllowlist "
                 "%s: use one or the other", directive, file);
        return -1;
    }
    if (!sql && db != NULL) {
        snprintf(err, errlen, "%s: this server already has "
                 "DevprovAllowlistSQL (%s): use one or the other", directive,
                 db);
        return -1;
    }
    return 0;
}

int dp_conf_revoked_once(const char *directive, int have, char *err,
                         size_t errlen)
{
    if (have) {
        snprintf(err, errlen, "%s: given twice in this server", directive);
        return -1;
    }
    return 0;
}

int dp_conf_merge(const dp_conf_layer_t *base, const dp_conf_layer_t *add,
                  dp_conf_layer_t *out, dp_keyset_t **made)
{
    int rc = 0;

    *made = NULL;
    out->engine = add->engine != DP_CONF_UNSET ? add->engine : base->engine;
    out->deny = add->deny != DP_CONF_UNSET ? add->deny : base->deny;
    out->bind_path = add->bind_path != DP_CONF_UNSET ? add->bind_path
                                                     : base->bind_path;
    out->user_id = add->user_id != DP_CONF_UNSET ? add->user_id
                                                 : base->user_id;
    out->policy_here = add->policy_here;
    /* a vhost that configures any vendor defines its whole vendor set */
    out->vendors = add->vendors != NULL ? add->vendors : base->vendors;
    out->revoked = add->revoked != NULL ? add->revoked : base->revoked;
    out->enrol_path = add->enrol_path != NULL ? add->enrol_path
                                              : base->enrol_path;
    /* the allowlist is a file or a database: the nearer one wins */
    if (add->allow != NULL || add->sql != NULL) {
        out->allow = add->allow;
        out->sql = add->sql;
    }
    else {
        out->allow = base->allow;
        out->sql = base->sql;
    }
    /* deny lists add up: a vhost's keys never re-admit the server's */
    if (add->deny_keys != NULL && base->deny_keys != NULL) {
        *made = dp_keyset_union(base->deny_keys, add->deny_keys);
        out->deny_keys = *made != NULL ? *made : add->deny_keys;
        rc = *made != NULL ? 0 : -1;
    }
    else {
        out->deny_keys = add->deny_keys != NULL ? add->deny_keys
                                                : base->deny_keys;
    }
    return rc;
}

static int report(dp_conf_report_fn fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int report(dp_conf_report_fn fn, void *arg, const char *fmt, ...)
{
    char msg[2 * DP_CONF_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fn(arg, msg);
    return 1;
}

static int deny_mode(const dp_conf_layer_t *sc)
{
    return sc->deny == DP_CONF_UNSET ? DP_POLICY_OFF : sc->deny;
}

int dp_conf_check_server(const dp_conf_layer_t *sc,
                         const dp_conf_vendor_t *const *vendors,
                         size_t nvendors, int is_virtual, const char *vhost,
                         dp_conf_report_fn fn, void *arg)
{
    int n = 0;
    size_t i;

    for (i = 0; i < nvendors; i++) {
        const dp_conf_vendor_t *vc = vendors[i];

        if (vc->v.trust == NULL || dp_trust_count(vc->v.trust) == 0)
            n += report(fn, arg, "devprov: vendor '%s' (%s) has no CA "
                        "certificate: add DevprovTrust %s "
                        "<file-or-directory> with the vendor's issuing "
                        "CA(s), and its root if known", vc->v.name,
                        vc->where, vc->v.name);
        if (vc->v.nrules == 0)
            n += report(fn, arg, "devprov: vendor '%s' (%s) is not a preset "
                        "(%s): say where its MAC is with DevprovMacFrom %s "
                        "<attribute> [<regex>]", vc->v.name, vc->where,
                        dp_vendor_preset_names(), vc->v.name);
    }
    /* a virtual host that asks for a policy but never enables the engine
     * would silently enforce nothing (the main server may set defaults
     * for the vhosts that enable it) */
    if (is_virtual && sc->policy_here && sc->engine == DP_CONF_UNSET
        && sc->bind_path == 1)
        n += report(fn, arg, "devprov: DevprovBindPath on in virtual host %s "
                    "has no effect without DevprovEngine on", vhost);
    if (is_virtual && sc->policy_here && sc->engine == DP_CONF_UNSET
        && deny_mode(sc) != DP_POLICY_OFF)
        n += report(fn, arg, "devprov: DevprovDeny in virtual host %s has no "
                    "effect without DevprovEngine on (say DevprovEngine off "
                    "to disable it explicitly)", vhost);
    return n;
}

int dp_conf_check_engine(const dp_conf_layer_t *sc, size_t nvendors,
                         const char *vhost, dp_conf_report_fn fn, void *arg)
{
    int n = 0;

    if (sc->engine != 1)
        return 0;
    if (nvendors == 0)
        n += report(fn, arg, "devprov: DevprovEngine on in virtual host %s "
                    "but no DevprovTrust for it or the main server", vhost);
    if (deny_mode(sc) == DP_POLICY_UNLISTED && sc->allow == NULL
        && sc->sql == NULL)
        n += report(fn, arg, "devprov: DevprovDeny unlisted in virtual host "
                    "%s needs a DevprovAllowlist or DevprovAllowlistSQL",
                    vhost);
    return n;
}
