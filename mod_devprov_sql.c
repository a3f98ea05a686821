/* mod_devprov_sql.c - DevprovAllowlistSQL: the allowlist in a database.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The query runs on mod_dbd's pooled connections, which mod_dbd opens, and
 * re-opens when they die, by itself.  devprov prepares it on each
 * connection on first use (not mod_dbd, at connect: that PREPARE would
 * wait for a locked table without bound), after setting PostgreSQL's
 * statement_timeout to timeout=, and takes a connection only for the
 * lookup, a limited number at once (take_turn()), one at a time taking
 * it from the pool (open_in_turn()): a database that accepts connections
 * but does not answer holds a phone's request for a bounded time and
 * never all of a process's threads.  Each process keeps
 * its own cache of answers (created before the children fork, empty until
 * used); a failed lookup is never cached.
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
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "ap_mpm.h"
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
/* the key of a pooled connection's statement_timeout, in its hash of
 * prepared statements (see devprov_sql_set_timeout()) */
#define TIMEOUT_KEY "devprov statement_timeout"

/* What lookups change, for one database (see above); made in
 * post_config, before the children fork. */
typedef struct {
    const void *dbd_conf;               /* mod_dbd's record: the key */
    apr_thread_mutex_t *mutex;          /* guards everything below */
    dp_lcache_t *cache;                 /* NULL: ttl=0, no caching */
    apr_time_t down_since;              /* 0: up */
    apr_time_t down_logged;
    unsigned long failures;
    devprov_sql_turns_t *turns;         /* the process's, shared */
    int busy;                           /* lookups using the database now;
                                         * guarded by turns->mutex */
    int max;                            /* at most this many at once */
} sql_state_t;

/* The threads of a process that may wait for a database at once, over all
 * databases (see take_turn()). */
struct devprov_sql_turns {
    apr_thread_mutex_t *mutex;          /* guards busy, opening and
                                         * sql_state_t's busy */
    apr_thread_cond_t *ended;           /* signalled when a lookup ends or
                                         * a connection is taken */
    int busy;
    int max;
    int opening;                        /* a lookup is in ap_dbd_open() */
};

struct devprov_sql {
    const char *label;                  /* mod_dbd statement label */
    const char *query;
    const char *user_label;             /* users=: the user name's MAC */
    const char *user_query;             /* NULL: not configured */
    const char *where;                  /* "file:line" */
    ap_dbd_t *(*open)(apr_pool_t *, server_rec *);
    void (*close)(server_rec *, ap_dbd_t *);
    module *dbd;                        /* mod_dbd, for its records */
    apr_interval_time_t ttl, unlisted_ttl;
    long entries;                       /* cache size (entries=) */
    long timeout_ms;                    /* timeout= */
    apr_interval_time_t timeout;        /* the same */
    long connections;                   /* connections=, 0: the default */
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

/* mod_dbd's settings for S (driver, DBDParams, DBDMax).  mod_dbd.h
 * declares dbd_cfg_t but not the record that holds it, mod_dbd.c's
 * svr_cfg, whose first member is a dbd_cfg_t * (httpd 2.2 and 2.4).  Read
 * only: for apache2 -t's checks and the default of connections=. */
static const dbd_cfg_t *dbd_settings(const devprov_sql_t *q,
                                     const server_rec *s)
{
    dbd_cfg_t *const *svr = (dbd_cfg_t *const *)dbd_conf_of(q, s);
    const dbd_cfg_t *cfg = svr != NULL ? *svr : NULL;

    return cfg != NULL && cfg->name != NULL && cfg->params != NULL ? cfg
                                                                   : NULL;
}

apr_status_t devprov_sql_cleanup_cache(void *data)
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

const char *devprov_sql_number_arg(apr_pool_t *p, const char *directive,
                                   const char *key, const char *val,
                                   long min, long max, long *out)
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
    devprov_sql_t *q;
    long ttl = 60, unlisted_ttl = 10, entries = 50000;
    long timeout = DEVPROV_SQL_TIMEOUT_MS, connections = 0;
    int i;

    if (argc < 1)
        return apr_psprintf(cmd->pool, "%s needs a query", name);
    q = apr_pcalloc(cmd->pool, sizeof(*q));
    /* ap_dbd_open/close, not ap_dbd_acquire: the connection goes back to
     * the pool as soon as the lookup is done, not at the end of the
     * request (a phone's configuration may take long to render) */
    q->open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    q->close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    q->dbd = ap_find_linked_module("mod_dbd.c");
    if (q->open == NULL || q->close == NULL)
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
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 0,
                                         86400, &ttl);
        else if (!strcmp(key, "unlisted-ttl"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 0,
                                         86400, &unlisted_ttl);
        else if (!strcmp(key, "entries"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 1,
                                         10000000, &entries);
        else if (!strcmp(key, "timeout"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 10,
                                         600000, &timeout);
        else if (!strcmp(key, "connections"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 1,
                                         1000, &connections);
        else if (!strcmp(key, "unavailable")) {
            if (!strcmp(val, "continue"))
                q->unavailable = 0;
            else if ((msg = devprov_sql_number_arg(cmd->pool, name, key,
                                                   val, 400, 599, &n))
                     == NULL
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
                               "timeout=, connections=, unavailable=, "
                               "users=)", name, argv[i]);
        if (msg != NULL)
            return msg;
    }
    q->ttl = apr_time_from_sec(ttl);
    q->unlisted_ttl = apr_time_from_sec(unlisted_ttl);
    q->where = cmd->directive && cmd->directive->filename
               ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num)
               : "(command line)";
    /* the prepared statement's name too (PostgreSQL: at most 63
     * characters): unique per directive, and the same at every
     * restart */
    q->label = apr_psprintf(cmd->pool, "devprov_allowlist_%08x_%d",
                            apr_hashfunc_default(q->where,
                                                 &(apr_ssize_t){
                                                     APR_HASH_KEY_STRING }),
                            cmd->directive ? cmd->directive->line_num : 0);
    q->entries = entries;
    q->timeout_ms = timeout;
    q->timeout = apr_time_from_msec(timeout);
    q->connections = connections;
    q->states = apr_hash_make(cmd->pool);
    q->query = argv[0];
    /* not given to mod_dbd (ap_dbd_prepare): select_on() prepares them on
     * each connection on first use, within timeout= */
    if (q->user_query != NULL)
        q->user_label = apr_pstrcat(cmd->pool, q->label, "_u", NULL);
    *out = q;
    return NULL;
}

devprov_sql_turns_t *devprov_sql_turns_new(apr_pool_t *pconf)
{
    devprov_sql_turns_t *t = apr_pcalloc(pconf, sizeof(*t));
    int threads = 1;

    if (apr_thread_mutex_create(&t->mutex, APR_THREAD_MUTEX_DEFAULT, pconf)
        != APR_SUCCESS
        || apr_thread_cond_create(&t->ended, pconf) != APR_SUCCESS)
        return NULL;
    /* half the process's threads: the other half keeps serving whatever
     * the databases do (prefork: its one) */
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1)
        threads = 1;
    t->max = threads / 2 > 1 ? threads / 2 : 1;
    return t;
}

/* How many lookups of one database a process runs at once: connections=,
 * or DBDMax (a lookup beyond it would wait for a pooled connection
 * without bound). */
static int lookups_at_once(const devprov_sql_t *q, const server_rec *s)
{
    const dbd_cfg_t *cfg = dbd_settings(q, s);

    if (q->connections > 0)
        return (int)q->connections;
#if APR_HAS_THREADS
    if (cfg != NULL && cfg->persist != 0 && cfg->nmax > 0)
        return cfg->nmax;
#else
    (void)cfg;
#endif
    return 10;                          /* mod_dbd's default DBDMax */
}

void devprov_sql_check_server(const devprov_sql_t *q, const server_rec *s,
                              const char *vhost)
{
    const dbd_cfg_t *cfg = dbd_settings(q, s);

    if (cfg == NULL)
        return;
    /* libpq waits for a new connection as long as the kernel does (a
     * database that accepts TCP but does not answer: for ever) unless
     * connect_timeout says otherwise */
    if (strcmp(cfg->name, "pgsql") == 0
        && strstr(cfg->params, "connect_timeout") == NULL)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "devprov: warning: %s: DevprovAllowlistSQL (%s): "
                     "DBDParams (pgsql) set no connect_timeout, so opening a "
                     "connection to a database that does not answer holds "
                     "the phone's request without bound: add "
                     "connect_timeout=3 (seconds) to DBDParams", vhost,
                     q->where);
    else if (strcmp(cfg->name, "pgsql") != 0
             && strcmp(cfg->name, "sqlite3") != 0)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "devprov: warning: %s: DevprovAllowlistSQL (%s): "
                     "devprov cannot make the %s driver give up on a query "
                     "after timeout=%ld ms (it does for pgsql): set the "
                     "driver's own timeouts in DBDParams", vhost, q->where,
                     cfg->name, q->timeout_ms);
#if APR_HAS_THREADS
    if (q->connections > 0 && cfg->persist != 0 && cfg->nmax > 0
        && q->connections > cfg->nmax)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "devprov: warning: %s: DevprovAllowlistSQL (%s): "
                     "connections=%ld is more than DBDMax %d: the lookups "
                     "beyond it wait in mod_dbd for a free connection, "
                     "which timeout= does not bound; lower connections= "
                     "or raise DBDMax", vhost, q->where, q->connections,
                     cfg->nmax);
#endif
}

apr_status_t devprov_sql_init_server(devprov_sql_t *q, server_rec *s,
                                     devprov_sql_turns_t *turns,
                                     apr_pool_t *pconf)
{
    const void *conf = dbd_conf_of(q, s);
    sql_state_t *st;

    if (apr_hash_get(q->states, &conf, sizeof(conf)) != NULL)
        return APR_SUCCESS;             /* the same database */
    st = apr_pcalloc(pconf, sizeof(*st));
    st->dbd_conf = conf;
    st->max = lookups_at_once(q, s);
    st->turns = turns;
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
        apr_pool_cleanup_register(pconf, st->cache, devprov_sql_cleanup_cache,
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

static int is_down(sql_state_t *st)
{
    int down;

    apr_thread_mutex_lock(st->mutex);
    down = st->down_since != 0;
    apr_thread_mutex_unlock(st->mutex);
    return down;
}

/* Take a turn to use the database: wait for one until UNTIL (a quarter of
 * timeout= after the lookup began) while the database answers, and not at
 * all while it does not
 * (then one lookup at a time finds out whether it is back, and the others
 * are answered at once).  A turn needs a free one of the database's
 * (connections=, DBDMax) and of the process's (half its threads, over all
 * databases).  So stalled databases hold at most half of a process's
 * threads, each for timeout=, and the others for a quarter of it.
 * Returns 0 with the turn taken, or -1 (went_down() said why). */
static int take_turn(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                     apr_time_t until)
{
    devprov_sql_turns_t *t = st->turns;
    const char *why = NULL;

    apr_thread_mutex_lock(t->mutex);
    for (;;) {
        int down = is_down(st);
        apr_time_t now;

        if (st->busy < (down ? 1 : st->max) && t->busy < t->max) {
            st->busy++;
            t->busy++;
            break;
        }
        if (down) {
            why = "it did not answer the last lookup, and another one is "
                  "asking whether it is back";
            break;
        }
        now = apr_time_now();
        if (now >= until) {
            why = apr_psprintf(r->pool, "%d lookup(s) of it and %d of the "
                               "process's threads were waiting for a "
                               "database for %ld ms (a quarter of "
                               "timeout=)", st->busy, t->busy,
                               q->timeout_ms / 4);
            break;
        }
        apr_thread_cond_timedwait(t->ended, t->mutex, until - now);
    }
    apr_thread_mutex_unlock(t->mutex);
    if (why != NULL) {
        went_down(r, q, st, 0, why);
        return -1;
    }
    return 0;
}

/* Take a pooled connection, in the turn: one lookup of the process at a
 * time, waiting until UNTIL (the turn's deadline) for the one before.
 * mod_dbd's pool (apr_reslist) opens a new connection holding the pool's
 * lock, so the lookups behind an opening one would wait for it, each for
 * as long as its own opening takes, in turn, without bound; here they
 * wait for it at most until UNTIL.  Returns the connection, or NULL with
 * *WHY set (no connection at all: why is NULL; mod_dbd said why). */
static ap_dbd_t *open_in_turn(request_rec *r, devprov_sql_t *q,
                              sql_state_t *st, apr_time_t until,
                              const char **why)
{
    devprov_sql_turns_t *t = st->turns;
    ap_dbd_t *dbd;

    *why = NULL;
    apr_thread_mutex_lock(t->mutex);
    while (t->opening) {
        apr_time_t now = apr_time_now();

        if (now >= until) {
            apr_thread_mutex_unlock(t->mutex);
            *why = apr_psprintf(r->pool, "another lookup of the process was "
                                "still opening a connection to a database "
                                "after %ld ms (a quarter of timeout=)",
                                q->timeout_ms / 4);
            return NULL;
        }
        apr_thread_cond_timedwait(t->ended, t->mutex, until - now);
    }
    t->opening = 1;
    apr_thread_mutex_unlock(t->mutex);
    dbd = q->open(r->pool, r->server);
    apr_thread_mutex_lock(t->mutex);
    t->opening = 0;
    apr_thread_cond_broadcast(t->ended);
    apr_thread_mutex_unlock(t->mutex);
    return dbd;
}

static void end_turn(sql_state_t *st)
{
    devprov_sql_turns_t *t = st->turns;

    apr_thread_mutex_lock(t->mutex);
    st->busy--;
    t->busy--;
    /* all: while a database is down its waiters give up at once */
    apr_thread_cond_broadcast(t->ended);
    apr_thread_mutex_unlock(t->mutex);
}

/* The driver's message for RV, in R's pool, without libpq's newline. */
const char *devprov_sql_error(request_rec *r, ap_dbd_t *dbd, int rv)
{
    const char *e = apr_dbd_error(dbd->driver, dbd->handle, rv);
    char *m = apr_pstrdup(r->pool, e != NULL ? e : "(no message)");
    size_t n = strlen(m);

    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    return m;
}

/* PostgreSQL: let the server cancel a statement after timeout=, on this
 * connection, unless it already does (AGAIN: the connection may have been
 * reset, losing its settings).  Whether it does is kept with the
 * connection, in its hash of prepared statements, which mod_dbd makes
 * anew for each connection it opens and which is only ever read by
 * label: the key is none.  Returns 0, or an error message. */
const char *devprov_sql_set_timeout(request_rec *r, const long *timeout_ms,
                                    ap_dbd_t *dbd, int again)
{
    const long *set = apr_hash_get(dbd->prepared, TIMEOUT_KEY,
                                   APR_HASH_KEY_STRING);
    int nrows = 0, rv;

    if (strcmp(apr_dbd_name(dbd->driver), "pgsql") != 0)
        return NULL;
    if (!again && set != NULL && *set == *timeout_ms)
        return NULL;
    /* for the whole session: it bounds the other DBD users of these
     * DBDParams too (documented) */
    rv = apr_dbd_query(dbd->driver, dbd->handle, &nrows,
                       apr_psprintf(r->pool, "SET statement_timeout = %ld",
                                    *timeout_ms));
    if (rv != 0)
        return apr_pstrcat(r->pool, "SET statement_timeout: ",
                           devprov_sql_error(r, dbd, rv), NULL);
    apr_hash_set(dbd->prepared, TIMEOUT_KEY, APR_HASH_KEY_STRING,
                 timeout_ms);
    return NULL;
}

/* Run the prepared statement LABEL (QUERY's text) with PARAM on DBD, and
 * read its first row's columns into NAMES/VALUES (copies in r->pool; at
 * most MAX_COLS are read, *NCOLS says how many there are) and the number
 * of rows into *ROWS.  Returns 0, or -1 when the database could not
 * answer (went_down() said so). */
static int select_on(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                     ap_dbd_t *dbd, const char *label, const char *sql,
                     const char *param, const char **names,
                     const char **values, int *ncols, int *rows)
{
    apr_dbd_prepared_t *stmt;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_time_t start = apr_time_now();
    const char *err;
    int rv, i;

    *ncols = *rows = 0;
    if (dbd == NULL) {
        went_down(r, q, st, 0, "no connection: see mod_dbd's message");
        return -1;
    }
    if ((err = devprov_sql_set_timeout(r, &q->timeout_ms, dbd, 0)) != NULL) {
        went_down(r, q, st, 0, err);
        return -1;
    }
    /* prepared here, after the statement_timeout, rather than by mod_dbd
     * when it opens the connection: a PREPARE waits for a locked table as
     * the query does, and mod_dbd's would wait without bound */
    stmt = apr_hash_get(dbd->prepared, label, APR_HASH_KEY_STRING);
    if (stmt == NULL) {
        rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, sql, label,
                             &stmt);
        if (rv != 0) {
            went_down(r, q, st, 0,
                      apr_pstrcat(r->pool, "preparing the query: ",
                                  devprov_sql_error(r, dbd, rv), NULL));
            return -1;
        }
        apr_hash_set(dbd->prepared, label, APR_HASH_KEY_STRING, stmt);
    }
    rv = apr_dbd_pvselect(dbd->driver, r->pool, dbd->handle, &res, stmt, 1,
                          param, NULL);
    /* A statement that failed fast lost its connection or its prepared
     * query (below); one that took half of timeout= or more was cancelled
     * or is slow: running it again would double the wait. */
    if (rv != 0 && apr_time_now() - start < q->timeout / 2) {
        /* A database server that restarted broke the connection, or, if
         * mod_dbd's check already reconnected it (PostgreSQL: PQreset),
         * forgot the prepared statement and the statement_timeout.
         * Reconnect, set the timeout and prepare again and try once more,
         * so that each pooled connection heals itself. */
        apr_status_t ok;
        apr_dbd_prepared_t *again = NULL;

        err = devprov_sql_error(r, dbd, rv);
        ok = apr_dbd_check_conn(dbd->driver, r->pool, dbd->handle);
        if ((ok == APR_SUCCESS || ok == APR_ENOTIMPL)
            && devprov_sql_set_timeout(r, &q->timeout_ms, dbd, 1) == NULL
            && apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, sql,
                               label, &again) == 0) {
            apr_hash_set(dbd->prepared, label, APR_HASH_KEY_STRING, again);
            rv = apr_dbd_pvselect(dbd->driver, r->pool, dbd->handle, &res,
                                  again, 1, param, NULL);
            if (rv != 0)
                err = devprov_sql_error(r, dbd, rv);
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
    else if (rv != 0) {
        went_down(r, q, st, 0, apr_psprintf(r->pool, "no answer within %"
                                            APR_TIME_T_FMT " ms: %s",
                                            apr_time_as_msec(apr_time_now()
                                                             - start),
                                            devprov_sql_error(r, dbd, rv)));
        return -1;
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
        went_down(r, q, st, 0, devprov_sql_error(r, dbd, rv));
        return -1;
    }
    came_up(r, q, st);
    return 0;
}

/* select_on() in a turn (take_turn()), on a pooled connection taken for
 * this lookup only; at most one failure per request. */
static int select_row(request_rec *r, devprov_sql_t *q, sql_state_t *st,
                      const char *label, const char *sql, const char *param,
                      const char **names, const char **values, int *ncols,
                      int *rows)
{
    request_rec *first = r;
    const char *why;
    apr_time_t until;
    ap_dbd_t *dbd;
    int rc;

    *ncols = *rows = 0;
    /* Once per request: its internal redirects and subrequests (PHP
     * through mod_actions, ttl=0) would each look up again and wait again,
     * and a password phone's users= query is followed by the MAC's. */
    while (first->prev != NULL || first->main != NULL)
        first = first->prev != NULL ? first->prev : first->main;
    if (apr_table_get(first->notes, "devprov-sql-failed") != NULL)
        return -1;
    until = apr_time_now() + q->timeout / 4;
    if (take_turn(r, q, st, until) != 0) {
        apr_table_setn(first->notes, "devprov-sql-failed", "1");
        return -1;
    }
    dbd = open_in_turn(r, q, st, until, &why);
    if (why != NULL) {
        went_down(r, q, st, 0, why);
        rc = -1;
    }
    else
        rc = select_on(r, q, st, dbd, label, sql, param, names, values,
                       ncols, rows);
    if (dbd != NULL)
        q->close(r->server, dbd);
    end_turn(st);
    if (rc != 0)
        apr_table_setn(first->notes, "devprov-sql-failed", "1");
    return rc;
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
