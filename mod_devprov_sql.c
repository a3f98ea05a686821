/* mod_devprov_sql.c - DevprovAllowlistSQL: the allowlist in a database.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The query is registered with mod_dbd the way mod_authn_dbd registers
 * AuthDBDUserPWQuery: mod_dbd prepares it on every connection it opens, in
 * every child, and re-opens dead connections by itself.  Each process
 * keeps its own cache of answers (created before the children fork, empty
 * until used); a failed lookup is never cached.
 *
 * A virtual host that inherits the directive may still use a database of
 * its own (its own DBDParams: mod_dbd runs the inherited query there), so
 * the answers and the up/down state are kept per database, never per
 * directive: one sql_state_t per mod_dbd server configuration record.
 * Virtual hosts without any DBD directive share that record with the
 * server they inherit from (mod_dbd does not set ALWAYS_MERGE), and so
 * their cache; any DBD directive gives a vhost a record, and a cache, of
 * its own.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_dbd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "mod_dbd.h"

#include "mod_devprov_check.h"
#include "mod_devprov_sql.h"
#include "src/dp_lcache.h"
#include "src/dp_mac.h"

APLOG_USE_MODULE(devprov);

/* an entry's text is at most a label and 32 attributes of 32+128 bytes */
#define REC_MAX 8192
#define MAX_COLS 34
#define DOWN_LOG_INTERVAL apr_time_from_sec(60)

/* What lookups change, for one database (see above); made in
 * post_config, before the children fork. */
typedef struct {
    const void *dbd_conf;               /* mod_dbd's record: the key */
    apr_thread_mutex_t *mutex;          /* guards everything below */
    dp_lcache_t *cache;                 /* NULL: ttl=0, no caching */
    apr_time_t down_since;              /* 0: up */
    apr_time_t down_logged;
    unsigned long failures;
} sql_state_t;

struct devprov_sql {
    const char *label;                  /* mod_dbd statement label */
    const char *query;
    const char *user_label;             /* users=: the user name's MAC */
    const char *user_query;             /* NULL: not configured */
    const char *where;                  /* "file:line" */
    ap_dbd_t *(*acquire)(request_rec *);
    module *dbd;                        /* mod_dbd, for its records */
    apr_interval_time_t ttl, unlisted_ttl;
    long entries;                       /* cache size (entries=) */
    int unavailable;                    /* HTTP status, 0: continue */
    apr_hash_t *states;                 /* sql_state_t * by dbd_conf; filled
                                         * in post_config, then read only */
    const devprov_known_t *known;       /* NULL: not checked */
};

/* mod_dbd's server configuration record of S: which database S uses. */
static const void *dbd_conf_of(const devprov_sql_t *q, const server_rec *s)
{
    return q->dbd != NULL ? ap_get_module_config(s->module_config, q->dbd)
                          : NULL;
}

static apr_status_t cleanup_cache(void *data)
{
    dp_lcache_free(data);
    return APR_SUCCESS;
}

/* The query must take the MAC as its only parameter: one %s, and no
 * other apr_dbd conversion (%% is a literal percent sign). */
/* QUERY takes exactly one parameter, %s: WHAT it is given. */
static const char *check_query(apr_pool_t *p, const char *query,
                               const char *what)
{
    const char *s;
    int params = 0;

    for (s = strchr(query, '%'); s != NULL; s = strchr(s + 2, '%')) {
        if (s[1] == '%')
            continue;
        if (s[1] != 's')
            return apr_psprintf(p, "'%%%c' in the query: the only parameter "
                                "is %s, written %%s", s[1] ? s[1] : ' ',
                                what);
        params++;
    }
    if (params != 1)
        return apr_psprintf(p, "the query has %d %%s parameters: it needs "
                            "exactly one, for %s", params, what);
    return NULL;
}

static const char *number_arg(apr_pool_t *p, const char *directive,
                              const char *key, const char *val, long min,
                              long max, long *out)
{
    char *end;
    long n = strtol(val, &end, 10);

    if (*val == '\0' || *end != '\0' || n < min || n > max)
        return apr_psprintf(p, "%s: %s=%s: use a number from %ld to %ld",
                            directive, key, val, min, max);
    *out = n;
    return NULL;
}

const char *devprov_sql_open(cmd_parms *cmd, int argc, char *const argv[],
                             devprov_sql_t **out)
{
    const char *name = cmd->cmd->name, *msg;
    void (*prepare)(server_rec *, const char *, const char *);
    devprov_sql_t *q;
    long ttl = 60, unlisted_ttl = 10, entries = 50000;
    int i;

    if (argc < 1)
        return apr_psprintf(cmd->pool, "%s needs a query", name);
    prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    q = apr_pcalloc(cmd->pool, sizeof(*q));
    q->acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    q->dbd = ap_find_linked_module("mod_dbd.c");
    if (prepare == NULL || q->acquire == NULL)
        return apr_psprintf(cmd->pool, "%s: mod_dbd is not loaded: load it "
                            "(LoadModule dbd_module ..., before this line) "
                            "and configure DBDriver and DBDParams", name);
    msg = check_query(cmd->pool, argv[0], "the MAC (12 lower-case hex "
                      "digits, as in DEVICE_MAC)");
    if (msg != NULL)
        return apr_psprintf(cmd->pool, "%s: %s", name, msg);
    q->unavailable = HTTP_SERVICE_UNAVAILABLE;
    for (i = 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *key = eq ? apr_pstrmemdup(cmd->temp_pool, argv[i],
                                              (apr_size_t)(eq - argv[i]))
                             : argv[i];
        const char *val = eq ? eq + 1 : "";
        long n;

        if (!strcmp(key, "ttl"))
            msg = number_arg(cmd->pool, name, key, val, 0, 86400, &ttl);
        else if (!strcmp(key, "unlisted-ttl"))
            msg = number_arg(cmd->pool, name, key, val, 0, 86400,
                             &unlisted_ttl);
        else if (!strcmp(key, "entries"))
            msg = number_arg(cmd->pool, name, key, val, 1, 10000000,
                             &entries);
        else if (!strcmp(key, "unavailable")) {
            if (!strcmp(val, "continue"))
                q->unavailable = 0;
            else if ((msg = number_arg(cmd->pool, name, key, val, 400, 599,
                                       &n)) == NULL
                     /* httpd answers 500 for a status it does not know */
                     && strncmp(ap_get_status_line((int)n), val, 3) == 0)
                q->unavailable = (int)n;
            else
                msg = apr_psprintf(cmd->pool, "%s: unavailable=%s: use an "
                                   "HTTP status from 400 to 599 that httpd "
                                   "knows (default 503) or 'continue'", name,
                                   val);
        }
        else if (!strcmp(key, "users")) {
            if ((msg = check_query(cmd->pool, val, "the user name httpd "
                                   "authenticated")) != NULL)
                msg = apr_psprintf(cmd->pool, "%s: users=: %s", name, msg);
            q->user_query = val;
        }
        else
            msg = apr_psprintf(cmd->pool, "%s: unknown option '%s' (use "
                               "ttl=, unlisted-ttl=, entries=, "
                               "unavailable=, users=)", name, argv[i]);
        if (msg != NULL)
            return msg;
    }
    q->ttl = apr_time_from_sec(ttl);
    q->unlisted_ttl = apr_time_from_sec(unlisted_ttl);
    q->where = cmd->directive && cmd->directive->filename
               ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num)
               : "(command line)";
    /* mod_dbd also names the prepared statement by it (PostgreSQL: at
     * most 63 characters): unique per directive, and the same at every
     * restart */
    q->label = apr_psprintf(cmd->pool, "devprov_allowlist_%08x_%d",
                            apr_hashfunc_default(q->where,
                                                 &(apr_ssize_t){
                                                     APR_HASH_KEY_STRING }),
                            cmd->directive ? cmd->directive->line_num : 0);
    q->entries = entries;
    q->states = apr_hash_make(cmd->pool);
    q->query = argv[0];
    prepare(cmd->server, q->query, q->label);
    if (q->user_query != NULL) {
        q->user_label = apr_pstrcat(cmd->pool, q->label, "_u", NULL);
        prepare(cmd->server, q->user_query, q->user_label);
    }
    *out = q;
    return NULL;
}

apr_status_t devprov_sql_init_server(devprov_sql_t *q, server_rec *s,
                                     apr_pool_t *pconf)
{
    const void *conf = dbd_conf_of(q, s);
    sql_state_t *st;

    if (apr_hash_get(q->states, &conf, sizeof(conf)) != NULL)
        return APR_SUCCESS;             /* the same database */
    st = apr_pcalloc(pconf, sizeof(*st));
    st->dbd_conf = conf;
    if (apr_thread_mutex_create(&st->mutex, APR_THREAD_MUTEX_DEFAULT, pconf)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: "
                     "DevprovAllowlistSQL (%s): cannot create a mutex",
                     q->where);
        return APR_EGENERAL;
    }
    if (q->ttl > 0 || q->unlisted_ttl > 0) {
        st->cache = dp_lcache_new((size_t)q->entries);
        if (st->cache == NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: "
                         "DevprovAllowlistSQL (%s): out of memory for a "
                         "cache of %ld entries (entries=)", q->where,
                         q->entries);
            return APR_ENOMEM;
        }
        apr_pool_cleanup_register(pconf, st->cache, cleanup_cache,
                                  apr_pool_cleanup_null);
    }
    apr_hash_set(q->states, &st->dbd_conf, sizeof(st->dbd_conf), st);
    return APR_SUCCESS;
}

/* The lookup failed: count it, and say so once per interval. */
static void went_down(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                      apr_status_t rv, const char *why)
{
    apr_time_t now = apr_time_now();
    unsigned long failures;
    int log;

    apr_thread_mutex_lock(st->mutex);
    if (st->down_since == 0)
        st->down_since = now;
    failures = ++st->failures;
    log = st->down_logged == 0 || now - st->down_logged >= DOWN_LOG_INTERVAL;
    if (log)
        st->down_logged = now;
    apr_thread_mutex_unlock(st->mutex);
    if (log)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "devprov: DevprovAllowlistSQL (%s): the database cannot "
                      "answer (%s): %s; %lu lookup(s) failed so far (said "
                      "once a minute while it lasts)", q->where, why,
                      q->unavailable ? apr_psprintf(r->pool, "answering %d",
                                                    q->unavailable)
                                     : "continuing unlisted",
                      failures);
}

static void came_up(request_rec *r, devprov_sql_t *q, sql_state_t *st)
{
    apr_time_t since;
    unsigned long failures;

    apr_thread_mutex_lock(st->mutex);
    since = st->down_since;
    failures = st->failures;
    st->down_since = 0;
    st->down_logged = 0;
    st->failures = 0;
    apr_thread_mutex_unlock(st->mutex);
    if (since != 0)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "devprov: DevprovAllowlistSQL (%s): the database "
                      "answers again, after %" APR_TIME_T_FMT " s and %lu "
                      "failed lookup(s)", q->where,
                      apr_time_sec(apr_time_now() - since), failures);
}

/* Run the prepared statement LABEL (QUERY's text) with PARAM, and read
 * its first row's columns into NAMES/VALUES (copies in r->pool; at most
 * MAX_COLS are read, *NCOLS says how many there are) and the number of
 * rows into *ROWS.  Returns 0, or -1 when the database could not answer
 * (went_down() said so). */
static int select_row(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                      const char *label, const char *sql, const char *param,
                      const char **names, const char **values, int *ncols,
                      int *rows)
{
    ap_dbd_t *dbd = q->acquire(r);
    apr_dbd_prepared_t *stmt;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv, i;

    *ncols = *rows = 0;
    if (dbd == NULL) {
        went_down(r, q, st, 0, "no connection: see mod_dbd's message");
        return -1;
    }
    stmt = apr_hash_get(dbd->prepared, label, APR_HASH_KEY_STRING);
    if (stmt == NULL) {
        went_down(r, q, st, 0, "the query is not prepared on this connection");
        return -1;
    }
    rv = apr_dbd_pvselect(dbd->driver, r->pool, dbd->handle, &res, stmt, 1,
                          param, NULL);
    if (rv != 0) {
        /* A database server that restarted broke the connection, or, if
         * mod_dbd's check already reconnected it (PostgreSQL: PQreset),
         * forgot the prepared statement.  Reconnect, prepare again and
         * try once more, so that each pooled connection heals itself. */
        const char *err = apr_pstrdup(r->pool, apr_dbd_error(dbd->driver,
                                                             dbd->handle, rv));
        apr_status_t ok = apr_dbd_check_conn(dbd->driver, r->pool,
                                             dbd->handle);
        apr_dbd_prepared_t *again = NULL;

        if ((ok == APR_SUCCESS || ok == APR_ENOTIMPL)
            && apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, sql,
                               label, &again) == 0) {
            apr_hash_set(dbd->prepared, label, APR_HASH_KEY_STRING, again);
            rv = apr_dbd_pvselect(dbd->driver, r->pool, dbd->handle, &res,
                                  again, 1, param, NULL);
            if (rv != 0)
                err = apr_dbd_error(dbd->driver, dbd->handle, rv);
            else
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "devprov: DevprovAllowlistSQL (%s): query "
                              "prepared again on a reconnected database "
                              "connection (it had failed: %s)", q->where,
                              err);
        }
        if (rv != 0) {
            went_down(r, q, st, 0, err);
            return -1;
        }
    }
    *ncols = apr_dbd_num_cols(dbd->driver, res);
    /* Random access (1 above): the result arrives whole, and a failure
     * is reported by the select itself.  The PostgreSQL driver's
     * sequential mode reports a connection lost while fetching as the
     * end of the rows, which would read as "not listed". */
    while ((rv = apr_dbd_get_row(dbd->driver, r->pool, res, &row, -1))
           == 0) {
        if (++*rows > 1 || *ncols > MAX_COLS)
            continue;
        /* Copies of both: the result the strings point into is freed by
         * the driver when the loop reads past the last row (PostgreSQL:
         * PQclear on random-access results), before they are used. */
        for (i = 0; i < *ncols; i++) {
            names[i] = apr_dbd_get_name(dbd->driver, res, i);
            values[i] = apr_dbd_get_entry(dbd->driver, row, i);
            names[i] = names[i] != NULL ? apr_pstrdup(r->pool, names[i])
                                        : "?";
            if (values[i] != NULL)
                values[i] = apr_pstrdup(r->pool, values[i]);
        }
    }
    if (rv != -1) {
        went_down(r, q, st, 0, apr_dbd_error(dbd->driver, dbd->handle, rv));
        return -1;
    }
    came_up(r, q, st);
    return 0;
}

/* Run the query for MAC (normal form M).  Returns 1, 0 or -1 as
 * devprov_sql_lookup(). */
static int query(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                 const char *m, char *buf, dp_entry_t *out)
{
    const char *names[MAX_COLS], *values[MAX_COLS];
    char why[256];
    int ncols = 0, rows = 0, rc;

    if (select_row(r, q, st, q->label, q->query, m, names, values, &ncols,
                   &rows) != 0)
        return -1;
    if (rows == 0)
        return 0;
    if (ncols > MAX_COLS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "devprov: DevprovAllowlistSQL (%s): the query returns "
                      "%d columns, at most %d are read: %s counts as not "
                      "listed", q->where, ncols, MAX_COLS, m);
        return 0;
    }
    if (rows > 1) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "devprov: DevprovAllowlistSQL (%s): %d rows for %s, "
                      "which is ambiguous: it counts as not listed until the "
                      "database has one", q->where, rows, m);
        return 0;
    }
    rc = dp_entry_from_fields(names, values, (size_t)ncols, buf, REC_MAX,
                              out, why, sizeof(why));
    if (rc < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "devprov: DevprovAllowlistSQL (%s): the row for %s: %s; "
                      "it counts as not listed", q->where, m, why);
        return 0;
    }
    if (rc == 1 && q->known != NULL) {
        const char *v = dp_entry_attr(out, "vendor");
        if (v != NULL && !devprov_known_has(q->known, v))
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "devprov: DevprovAllowlistSQL (%s): the row for %s "
                          "has vendor=%s, which names no configured vendor "
                          "(configured: %s): no certificate can match it, "
                          "so the phone is not allowlisted; correct the "
                          "row", q->where, m, v,
                          devprov_known_list(q->known));
    }
    return rc;
}

void devprov_sql_known_vendors(devprov_sql_t *q,
                               const struct devprov_known *known)
{
    q->known = known;
}

int devprov_sql_lookup(request_rec *r, devprov_sql_t *q, const dp_mac_t *mac,
                       dp_entry_t *out)
{
    char *buf = apr_palloc(r->pool, REC_MAX);
    char m[DP_MAC_STRLEN + 1];
    apr_time_t now = apr_time_now();
    const void *conf = dbd_conf_of(q, r->server);
    sql_state_t *st = apr_hash_get(q->states, &conf, sizeof(conf));
    int rc = -1;

    dp_mac_format(mac, m);
    if (st == NULL) {
        /* devprov_sql_init_server() was not run for this server (cannot
         * happen): no answer, rather than another database's */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov: "
                      "DevprovAllowlistSQL (%s): not set up for this "
                      "virtual host: %s not looked up", q->where, m);
        return -1;
    }
    if (st->cache != NULL) {
        apr_thread_mutex_lock(st->mutex);
        rc = dp_lcache_get(st->cache, mac, now, buf, REC_MAX, out);
        apr_thread_mutex_unlock(st->mutex);
        if (rc >= 0) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                          "devprov: allowlist cache: %s %s", m,
                          rc ? "listed" : "not listed");
            return rc;
        }
    }
    rc = query(r, q, st, m, buf, out);
    if (rc >= 0 && st->cache != NULL) {
        apr_interval_time_t ttl = rc ? q->ttl : q->unlisted_ttl;
        if (ttl > 0) {
            apr_thread_mutex_lock(st->mutex);
            dp_lcache_put(st->cache, mac, rc ? out : NULL, now + ttl);
            apr_thread_mutex_unlock(st->mutex);
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "devprov: allowlist database: %s %s", m,
                  rc > 0 ? "listed" : rc == 0 ? "not listed" : "no answer");
    return rc;
}

int devprov_sql_user(request_rec *r, devprov_sql_t *q, const char *user,
                     dp_mac_t *mac)
{
    const void *conf = dbd_conf_of(q, r->server);
    sql_state_t *st = apr_hash_get(q->states, &conf, sizeof(conf));
    const char *names[MAX_COLS], *values[MAX_COLS];
    int ncols = 0, rows = 0, i;

    if (q->user_query == NULL)
        return 0;
    if (st == NULL || select_row(r, q, st, q->user_label, q->user_query,
                                 user, names, values, &ncols, &rows) != 0)
        return -1;
    if (rows == 0)
        return 0;
    for (i = 0; i < ncols && i < MAX_COLS; i++)
        if (strcasecmp(names[i], "mac") == 0)
            break;
    if (rows > 1 || i == ncols || i == MAX_COLS || values[i] == NULL
        || dp_mac_parse(values[i], strlen(values[i]), mac) != 0
        || !dp_mac_is_unicast(mac)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "devprov: DevprovAllowlistSQL (%s): users= gives %s "
                      "for a user name: it names no phone (one row with a "
                      "column mac, a unicast MAC, is needed)", q->where,
                      rows > 1 ? "several rows" : "no MAC");
        return 0;
    }
    return 1;
}

int devprov_sql_unavailable_status(const devprov_sql_t *q)
{
    return q->unavailable;
}

apr_interval_time_t devprov_sql_ttl(const devprov_sql_t *q)
{
    return q->ttl < q->unlisted_ttl ? q->ttl : q->unlisted_ttl;
}

const char *devprov_sql_where(const devprov_sql_t *q)
{
    return q->where;
}
