/* check_conf.c - the devprov directives for devprov-check's options and
 * dump reader: thin adapters over the module's own configuration model
 * (src/dp_conf.h: every value's check and message, the merge, the
 * cross-directive checks), plus what only a command needs (no FIFO or
 * device read as a list, fixed-size storage).  The servers of an Apache
 * configuration come from httpd (check_dump.c).
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

/* SC's values as the core's model merges and checks them; the vendor
 * set is SC's own arrays, known by SC itself */
static void to_layer(const cc_srv_t *sc, dp_conf_layer_t *l)
{
    l->engine = sc->engine;
    l->deny = sc->deny;
    l->bind_path = sc->bind_path;
    l->user_id = DP_CONF_UNSET;         /* not in the dump's model */
    l->policy_here = sc->policy_here;
    l->vendors = sc->vendors_set ? (void *)sc : NULL;
    l->allow = sc->allow;
    l->sql = sc->sql_where;
    l->revoked = sc->revoked;
    l->enrol_path = sc->enrol_path;
    l->deny_keys = sc->deny_keys;
}

cc_srv_t *cc_merge(const cc_srv_t *base, const cc_srv_t *add)
{
    cc_srv_t *sc = xcalloc(1, sizeof(*sc));
    const cc_srv_t *from;
    dp_conf_layer_t b, a, m;
    dp_keyset_t *made;

    /* names and addresses are the vhost's own */
    *sc = *add;
    to_layer(base, &b);
    to_layer(add, &a);
    if (dp_conf_merge(&b, &a, &m, &made) != 0)
        return NULL;
    sc->engine = m.engine;
    sc->deny = m.deny;
    sc->bind_path = m.bind_path;
    sc->policy_here = m.policy_here;
    if (m.vendors != NULL && m.vendors != add) {
        from = m.vendors;
        sc->vendors_set = 1;
        sc->nvendors = from->nvendors;
        memcpy(sc->vendors, from->vendors, sizeof(sc->vendors));
        memcpy(sc->vendor_ptrs, from->vendor_ptrs, sizeof(sc->vendor_ptrs));
    }
    from = m.allow == add->allow && m.sql == add->sql_where ? add : base;
    sc->allow = from->allow;
    sc->allow_path = from->allow_path;
    sc->allow_where = from->allow_where;
    sc->sql_where = from->sql_where;
    from = m.revoked == add->revoked ? add : base;
    sc->revoked = from->revoked;
    sc->revoked_path = from->revoked_path;
    sc->revoked_where = from->revoked_where;
    sc->enrol_path = (char *)m.enrol_path;
    sc->deny_keys = m.deny_keys;
    sc->deny_key_count = m.deny_keys != NULL ? dp_keyset_count(m.deny_keys)
                                             : 0;
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

/* the core's verdict on a value: NULL, or its message */
static char *said(int rc, const char *err)
{
    return rc < 0 ? cc_strdup(err) : NULL;
}

static char *get_vendor(cc_srv_t *sc, const char *directive,
                        const char *name, const char *where,
                        cc_vendor_t **out)
{
    char err[DP_CONF_ERR_MAX];
    cc_vendor_t *vc;
    size_t i;

    for (i = 0; i < sc->nvendors; i++) {
        if (strcmp(sc->vendors[i]->v.name, name) == 0) {
            sc->vendors_set = 1;
            *out = sc->vendors[i];
            return NULL;
        }
    }
    vc = dp_conf_vendor_new(directive, name, where, err, sizeof(err));
    if (vc == NULL)
        return cc_strdup(err);
    if (sc->nvendors >= CC_MAX_VENDORS) {
        dp_conf_vendor_free(vc);
        return cc_printf("%s: more than %d vendors", directive,
                         CC_MAX_VENDORS);
    }
    sc->vendors_set = 1;
    sc->vendors[sc->nvendors] = vc;
    sc->vendor_ptrs[sc->nvendors++] = &vc->v;
    *out = vc;
    return NULL;
}

char *cc_trust(cc_srv_t *sc, const char *vendor, const char *path,
               const char *where)
{
    cc_vendor_t *vc;
    char err[DP_CONF_ERR_MAX], *msg;

    if ((msg = get_vendor(sc, "DevprovTrust", vendor, where, &vc)) != NULL
        || (msg = check_file("DevprovTrust", path, 1)) != NULL)
        return msg;
    return said(dp_conf_vendor_trust(vc, "DevprovTrust", path, err,
                                     sizeof(err)), err);
}

char *cc_macfrom(cc_srv_t *sc, const char *vendor, const char *attr,
                 const char *pattern, const char *where)
{
    cc_vendor_t *vc;
    char err[DP_CONF_ERR_MAX], *msg;

    if ((msg = get_vendor(sc, "DevprovMacFrom", vendor, where, &vc)) != NULL)
        return msg;
    return said(dp_conf_vendor_macfrom(vc, "DevprovMacFrom", attr, pattern,
                                       err, sizeof(err)), err);
}

char *cc_seclevel(cc_srv_t *sc, const char *vendor, const char *level,
                  const char *where)
{
    cc_vendor_t *vc;
    char err[DP_CONF_ERR_MAX], *msg;

    if ((msg = get_vendor(sc, "DevprovSecurityLevel", vendor, where, &vc))
        != NULL)
        return msg;
    return said(dp_conf_vendor_seclevel(vc, "DevprovSecurityLevel", level,
                                        err, sizeof(err)), err);
}

char *cc_notyetvalid(cc_srv_t *sc, const char *vendor, const char *flag,
                     const char *where)
{
    cc_vendor_t *vc;
    char err[DP_CONF_ERR_MAX], *msg;

    if ((msg = get_vendor(sc, "DevprovAcceptNotYetValid", vendor, where,
                          &vc)) != NULL)
        return msg;
    return said(dp_conf_vendor_notyetvalid(vc, "DevprovAcceptNotYetValid",
                                           flag, err, sizeof(err)), err);
}

char *cc_allowlist(cc_srv_t *sc, const char *path, const char *secs)
{
    char err[DP_CONF_ERR_MAX], *msg;
    long interval;

    if (dp_conf_allowlist_once("DevprovAllowlist", 0,
                               sc->allow ? sc->allow_path : NULL,
                               sc->sql_where, err, sizeof(err)) != 0
        || dp_conf_interval("DevprovAllowlist", secs, &interval, err,
                            sizeof(err)) != 0)
        return cc_strdup(err);
    if ((msg = check_file("DevprovAllowlist", path, 0)) != NULL)
        return msg;
    sc->allow = dp_allowlist_load(path, err, sizeof(err));
    if (sc->allow == NULL)
        return cc_printf("DevprovAllowlist: %s", err);
    sc->allow_path = cc_strdup(path);
    return NULL;
}

char *cc_denykey(cc_srv_t *sc, const char *arg)
{
    char err[DP_CONF_ERR_MAX], *msg;
    int n;

    if (strncmp(arg, "sha256:", 7) != 0
        && (msg = check_file("DevprovDenyKey", arg, 1)) != NULL)
        return msg;
    n = dp_conf_denykey(&sc->deny_keys, "DevprovDenyKey", arg, err,
                        sizeof(err));
    if (sc->deny_keys != NULL)
        sc->deny_key_count = dp_keyset_count(sc->deny_keys);
    return said(n, err);
}

char *cc_revoked(cc_srv_t *sc, const char *path, const char *secs)
{
    char err[DP_CONF_ERR_MAX], *msg;
    long interval;

    if (dp_conf_revoked_once("DevprovRevoked", sc->revoked != NULL, err,
                             sizeof(err)) != 0
        || dp_conf_interval("DevprovRevoked", secs, &interval, err,
                            sizeof(err)) != 0)
        return cc_strdup(err);
    if ((msg = check_file("DevprovRevoked", path, 0)) != NULL)
        return msg;
    sc->revoked = dp_revoked_load(path, err, sizeof(err));
    if (sc->revoked == NULL)
        return cc_printf("DevprovRevoked: %s", err);
    sc->revoked_path = cc_strdup(path);
    return NULL;
}

char *cc_enrol(cc_srv_t *sc, const char *path)
{
    char err[DP_CONF_ERR_MAX];

    if (dp_conf_enrol("DevprovEnrol", path, err, sizeof(err)) != 0)
        return cc_strdup(err);
    sc->enrol_path = cc_strdup(path);
    return NULL;
}

char *cc_deny(cc_srv_t *sc, const char *arg)
{
    char err[DP_CONF_ERR_MAX];

    if (dp_conf_deny("DevprovDeny", arg, &sc->deny, err, sizeof(err)) != 0)
        return cc_strdup(err);
    if (sc->deny != DP_POLICY_OFF)
        sc->policy_here = 1;
    return NULL;
}

static void problem(void *arg, const char *msg)
{
    cc_conf_t *conf = arg;

    fprintf(stderr, "%s: %s\n", conf->prog, msg);
    conf->errors++;
}

void cc_check_server(cc_conf_t *conf, const cc_srv_t *sc)
{
    const char *vhost = sc->where ? sc->where : "main server";
    dp_conf_layer_t l;

    to_layer(sc, &l);
    dp_conf_check_server(&l, (const dp_conf_vendor_t *const *)sc->vendors,
                         sc->vendors_set ? sc->nvendors : 0, sc->is_virtual,
                         vhost, problem, conf);
    dp_conf_check_engine(&l, sc->nvendors, vhost, problem, conf);
}

int cc_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "devprov-check: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}
