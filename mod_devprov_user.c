/* mod_devprov_user.c - DevprovUserIdentity: a phone identified by the
 * user name httpd's own authentication established (mod_auth_digest, or
 * mod_auth_basic with any authn provider: devprov checks no password of
 * its own), for a client whose certificate gives no device identity (none,
 * a generic one, a vendor's without a MAC, ...).
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The user name is a MAC in any accepted form, or the user= of an
 * allowlist line (DevprovAllowlist's index of them; DevprovAllowlistSQL's
 * users= query).  The password identity is then looked
 * up and judged as a certificate's would be (dp_verdict_user in the
 * core); mod_devprov.c applies revocation, DevprovDeny and
 * DevprovBindPath to it.  The verdict is per request (every request
 * carries its credentials), in r->pool.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"

#include "mod_devprov_private.h"
#include "src/dp_allowlist.h"

APLOG_USE_MODULE(devprov);

/* Where the password's phone is looked up: the allowlist file as it was
 * when the verdict began (held under its mutex), or the database. */
typedef struct {
    request_rec *r;
    const dp_allowlist_t *file;
    devprov_sql_t *sql;
} user_source_t;

static int map_user(void *data, const char *user, size_t len, dp_mac_t *mac)
{
    user_source_t *src = data;

    if (src->file != NULL)
        return dp_allowlist_user(src->file, user, len, mac);
    /* USER is NUL-terminated (dp_verdict_user's) */
    return src->sql != NULL && strlen(user) == len
           ? devprov_sql_user(src->r, src->sql, user, mac) : 0;
}

static int lookup(void *data, const dp_mac_t *mac, dp_entry_t *out)
{
    user_source_t *src = data;

    if (src->file != NULL)
        return dp_allowlist_lookup(src->file, mac, out);
    return devprov_sql_lookup(src->r, src->sql, mac, out);
}

dp_user_result_t devprov_user_verdict(request_rec *r,
                                      const devprov_srv_t *sc,
                                      const dp_verdict_t *cert,
                                      const char *user, dp_verdict_t *v)
{
    user_source_t src = { r, NULL, sc->sql };
    int have_list = sc->allow != NULL || sc->sql != NULL;
    dp_user_result_t res;
    size_t size;

    if (sc->allow != NULL)
        src.file = devprov_watch_acquire(r, sc->allow);
    res = dp_verdict_user(cert, user, (unsigned)sc->user_id, map_user, &src,
                          have_list ? lookup : NULL, &src, v);
    /* a password identity's entry points into the list (or a database
     * row): copied before the list is let go; the others are the
     * connection verdict's, already kept in c->pool */
    size = res == DP_USER_DEVICE ? dp_verdict_entry_size(v) : 0;
    if (size > 0)
        dp_verdict_keep_entry(v, apr_palloc(r->pool, size));
    if (src.file != NULL)
        devprov_watch_release(sc->allow);
    return res;
}
