/* check_conf.c - the devprov directives for devprov-check: the directive
 * handlers (as mod_devprov_config.c's cmd_* functions, on the same core units),
 * the merge and the cross-directive checks of the options' layer.  The
 * servers of an Apache configuration come from httpd (check_dump.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tools/check_conf.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (p == NULL) {
        fprintf(stderr, "devprov-check: out of memory\n");
        exit(2);
    }
    return p;
}

char *cc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xcalloc(1, n);

    memcpy(p, s, n);
    return p;
}

char *cc_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p = xcalloc(1, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

cc_srv_t *cc_srv_new(void)
{
    cc_srv_t *sc = xcalloc(1, sizeof(*sc));

    sc->engine = CC_UNSET;
    sc->deny = CC_UNSET;
    sc->bind_path = CC_UNSET;
    return sc;
}

cc_srv_t *cc_merge(const cc_srv_t *base, const cc_srv_t *add)
{
    cc_srv_t *sc = xcalloc(1, sizeof(*sc));

    /* names and addresses are the vhost's own */
    *sc = *add;
    sc->engine = add->engine != CC_UNSET ? add->engine : base->engine;
    sc->deny = add->deny != CC_UNSET ? add->deny : base->deny;
    sc->policy_here = add->policy_here;
    sc->bind_path = add->bind_path != CC_UNSET ? add->bind_path
                                               : base->bind_path;
    /* a vhost that configures any vendor defines its whole vendor set */
    if (!add->vendors_set) {
        sc->vendors_set = base->vendors_set;
        sc->nvendors = base->nvendors;
        memcpy(sc->vendors, base->vendors, sizeof(sc->vendors));
        memcpy(sc->vendor_ptrs, base->vendor_ptrs, sizeof(sc->vendor_ptrs));
    }
    sc->revoked = add->revoked ? add->revoked : base->revoked;
    sc->revoked_path = add->revoked ? add->revoked_path : base->revoked_path;
    sc->enrol_path = add->enrol_path ? add->enrol_path : base->enrol_path;
    /* deny lists add up: a vhost's keys never re-admit the server's */
    if (add->deny_keys != NULL && base->deny_keys != NULL) {
        sc->deny_keys = dp_keyset_union(base->deny_keys, add->deny_keys);
        if (sc->deny_keys == NULL)
            return NULL;
        sc->deny_key_count = dp_keyset_count(sc->deny_keys);
    }
    else if (add->deny_keys == NULL) {
        sc->deny_keys = base->deny_keys;
        sc->deny_key_count = base->deny_key_count;
    }
    /* the allowlist is a file or a database: the nearer one wins */
    if (add->allow == NULL && add->sql_where == NULL) {
        sc->allow = base->allow;
        sc->allow_path = base->allow_path;
        sc->allow_where = base->allow_where;
        sc->sql_where = base->sql_where;
    }
    return sc;
}

/* A FIFO or a device given as a list or CA file would block or never
 * end: only regular files (and directories where ALLOW_DIR) are read.
 * A missing file is left to the reader, for its own message. */
static char *check_file(const char *directive, const char *path,
                        int allow_dir)
{
    struct stat st;

    if (stat(path, &st) != 0 || S_ISREG(st.st_mode)
        || (allow_dir && S_ISDIR(st.st_mode)))
        return NULL;
    return cc_printf("%s: %s: not a regular file%s", directive, path,
                     allow_dir ? " or directory" : "");
}

static char *add_rule(const char *directive, cc_vendor_t *vc,
                      const char *attr, const char *pattern)
{
    char err[512];
    dp_macrule_t *rule;

    if (vc->v.nrules >= CC_MAX_RULES)
        return cc_printf("%s %s: more than %d MAC rules", directive,
                         vc->v.name, CC_MAX_RULES);
    rule = dp_macrule_new(attr, pattern, err, sizeof(err));
    if (rule == NULL)
        return cc_printf("%s %s: %s", directive, vc->v.name, err);
    vc->rules[vc->v.nrules++] = rule;
    vc->v.rules = vc->rules;
    return NULL;
}

static char *get_vendor(cc_srv_t *sc, const char *directive,
                        const char *name, const char *where,
                        cc_vendor_t **out)
{
    const dp_rule_spec_t *preset;
    cc_vendor_t *vc;
    size_t i;

    if (!dp_vendor_name_valid(name))
        return cc_printf("%s: invalid vendor name '%s': use 1-32 characters "
                         "of a-z, 0-9 and '-' (presets: %s)", directive,
                         name, dp_vendor_preset_names());
    sc->vendors_set = 1;
    for (i = 0; i < sc->nvendors; i++) {
        if (strcmp(sc->vendors[i]->v.name, name) == 0) {
            *out = sc->vendors[i];
            return NULL;
        }
    }
    if (sc->nvendors >= CC_MAX_VENDORS)
        return cc_printf("%s: more than %d vendors", directive,
                         CC_MAX_VENDORS);
    vc = xcalloc(1, sizeof(*vc));
    vc->v.name = cc_strdup(name);
    vc->v.auth_level = DP_AUTH_LEVEL_DEFAULT;
    vc->v.rules = vc->rules;
    vc->where = cc_strdup(where);
    preset = dp_vendor_preset(name);
    for (; preset != NULL && preset->attr != NULL; preset++) {
        char *msg = add_rule(directive, vc, preset->attr, preset->pattern);
        if (msg != NULL)
            return msg;
    }
    sc->vendors[sc->nvendors] = vc;
    sc->vendor_ptrs[sc->nvendors++] = &vc->v;
    *out = vc;
    return NULL;
}

char *cc_trust(cc_srv_t *sc, const char *vendor, const char *path,
               const char *where)
{
    cc_vendor_t *vc;
    char err[1024], *msg;

    if ((msg = get_vendor(sc, "DevprovTrust", vendor, where, &vc)) != NULL
        || (msg = check_file("DevprovTrust", path, 1)) != NULL)
        return msg;
    if (vc->v.trust == NULL) {
        vc->v.trust = dp_trust_new();
        if (vc->v.trust == NULL)
            return cc_printf("DevprovTrust: out of memory");
    }
    if (dp_trust_add_path(vc->v.trust, path, err, sizeof(err)) < 0)
        return cc_printf("DevprovTrust %s: %s", vendor, err);
    return NULL;
}

char *cc_macfrom(cc_srv_t *sc, const char *vendor, const char *attr,
                 const char *pattern, const char *where)
{
    cc_vendor_t *vc;
    char *msg;
    size_t i;

    if ((msg = get_vendor(sc, "DevprovMacFrom", vendor, where, &vc)) != NULL)
        return msg;
    if (!vc->custom_rules) {            /* the first one replaces presets */
        vc->custom_rules = 1;
        for (i = 0; i < vc->v.nrules; i++)
            dp_macrule_free(vc->rules[i]);
        vc->v.nrules = 0;
    }
    return add_rule("DevprovMacFrom", vc, attr, pattern);
}

char *cc_seclevel(cc_srv_t *sc, const char *vendor, const char *level,
                  const char *where)
{
    cc_vendor_t *vc;
    char *msg;

    if ((msg = get_vendor(sc, "DevprovSecurityLevel", vendor, where, &vc))
        != NULL)
        return msg;
    if (strlen(level) != 1 || level[0] < '0' || level[0] > '5')
        return cc_printf("DevprovSecurityLevel %s: invalid level '%s', use "
                         "0-5 (OpenSSL security level; default %d)", vendor,
                         level, DP_AUTH_LEVEL_DEFAULT);
    vc->v.auth_level = level[0] - '0';
    return NULL;
}

char *cc_notyetvalid(cc_srv_t *sc, const char *vendor, const char *flag,
                     const char *where)
{
    cc_vendor_t *vc;
    char *msg;

    if ((msg = get_vendor(sc, "DevprovAcceptNotYetValid", vendor, where,
                          &vc)) != NULL)
        return msg;
    if (!strcasecmp(flag, "on"))
        vc->v.accept_future = 1;
    else if (!strcasecmp(flag, "off"))
        vc->v.accept_future = 0;
    else
        return cc_printf("DevprovAcceptNotYetValid %s: unknown value '%s', "
                         "use on or off (default off)", vendor, flag);
    return NULL;
}

static char *check_interval(const char *directive, const char *secs)
{
    char *end;
    long interval;

    if (secs == NULL)
        return NULL;
    interval = strtol(secs, &end, 10);
    if (*secs == '\0' || *end != '\0' || interval < 1 || interval > 3600)
        return cc_printf("%s: invalid check interval '%s', use 1-3600 "
                         "seconds (default 5)", directive, secs);
    return NULL;
}

char *cc_allowlist(cc_srv_t *sc, const char *path, const char *secs)
{
    char err[1024], *msg;

    if (sc->allow != NULL)
        return cc_printf("DevprovAllowlist: given twice in this server "
                         "(already %s)", sc->allow_path);
    if (sc->sql_where != NULL)
        return cc_printf("DevprovAllowlist: this server already has "
                         "DevprovAllowlistSQL (%s): use one or the other",
                         sc->sql_where);
    if ((msg = check_interval("DevprovAllowlist", secs)) != NULL
        || (msg = check_file("DevprovAllowlist", path, 0)) != NULL)
        return msg;
    sc->allow = dp_allowlist_load(path, err, sizeof(err));
    if (sc->allow == NULL)
        return cc_printf("DevprovAllowlist: %s", err);
    sc->allow_path = cc_strdup(path);
    return NULL;
}

char *cc_denykey(cc_srv_t *sc, const char *arg)
{
    char err[1024], *msg;
    int n;

    if (strncmp(arg, "sha256:", 7) != 0
        && (msg = check_file("DevprovDenyKey", arg, 1)) != NULL)
        return msg;
    if (sc->deny_keys == NULL) {
        sc->deny_keys = dp_keyset_new();
        if (sc->deny_keys == NULL)
            return cc_printf("DevprovDenyKey: out of memory");
    }
    n = dp_keyset_add(sc->deny_keys, arg, err, sizeof(err));
    if (n < 0)
        return cc_printf("DevprovDenyKey: %s", err);
    sc->deny_key_count = dp_keyset_count(sc->deny_keys);
    return NULL;
}

char *cc_revoked(cc_srv_t *sc, const char *path, const char *secs)
{
    char err[1024], *msg;

    if (sc->revoked != NULL)
        return cc_printf("DevprovRevoked: given twice in this server");
    if ((msg = check_interval("DevprovRevoked", secs)) != NULL
        || (msg = check_file("DevprovRevoked", path, 0)) != NULL)
        return msg;
    sc->revoked = dp_revoked_load(path, err, sizeof(err));
    if (sc->revoked == NULL)
        return cc_printf("DevprovRevoked: %s", err);
    sc->revoked_path = cc_strdup(path);
    return NULL;
}

char *cc_enrol(cc_srv_t *sc, const char *path)
{
    char *dir = cc_strdup(path), *slash = strrchr(dir, '/');
    struct stat st;
    int ok;

    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    if (!ok)
        return cc_printf("DevprovEnrol: %s: its directory does not exist",
                         path);
    sc->enrol_path = cc_strdup(path);
    return NULL;
}

char *cc_deny(cc_srv_t *sc, const char *arg)
{
    dp_policy_t p;

    if (dp_policy_parse(arg, &p) != 0)
        return cc_printf("DevprovDeny: unknown value '%s', use off, "
                         "unverified or unlisted", arg);
    sc->deny = p;
    if (sc->deny != DP_POLICY_OFF)
        sc->policy_here = 1;
    return NULL;
}

static void problem(cc_conf_t *conf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(cc_conf_t *conf, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", conf->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    conf->errors++;
}

void cc_check_server(cc_conf_t *conf, const cc_srv_t *sc)
{
    const char *vhost = sc->where ? sc->where : "main server";
    int deny = sc->deny == CC_UNSET ? DP_POLICY_OFF : sc->deny;
    size_t i;

    for (i = 0; sc->vendors_set && i < sc->nvendors; i++) {
        const cc_vendor_t *vc = sc->vendors[i];
        if (vc->v.trust == NULL || dp_trust_count(vc->v.trust) == 0)
            problem(conf, "devprov: vendor '%s' (%s) has no CA certificate: "
                    "add DevprovTrust %s <file-or-directory> with the "
                    "vendor's issuing CA(s), and its root if known",
                    vc->v.name, vc->where, vc->v.name);
        if (vc->v.nrules == 0)
            problem(conf, "devprov: vendor '%s' (%s) is not a preset (%s): "
                    "say where its MAC is with DevprovMacFrom %s "
                    "<attribute> [<regex>]", vc->v.name, vc->where,
                    dp_vendor_preset_names(), vc->v.name);
    }
    if (sc->is_virtual && sc->policy_here && sc->engine == CC_UNSET
        && sc->bind_path == 1)
        problem(conf, "devprov: DevprovBindPath on in virtual host %s has no "
                "effect without DevprovEngine on", vhost);
    if (sc->is_virtual && sc->policy_here && sc->engine == CC_UNSET
        && deny != DP_POLICY_OFF)
        problem(conf, "devprov: DevprovDeny in virtual host %s has no effect "
                "without DevprovEngine on (say DevprovEngine off to disable "
                "it explicitly)", vhost);
    if (sc->engine != 1)
        return;
    if (sc->nvendors == 0)
        problem(conf, "devprov: DevprovEngine on in virtual host %s but no "
                "DevprovTrust for it or the main server", vhost);
    if (deny == DP_POLICY_UNLISTED && sc->allow == NULL
        && sc->sql_where == NULL)
        problem(conf, "devprov: DevprovDeny unlisted in virtual host %s "
                "needs a DevprovAllowlist or DevprovAllowlistSQL", vhost);
}
