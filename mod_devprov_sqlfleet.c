/* mod_devprov_sqlfleet.c - DevprovFleetSQL: the fleet record in a database.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * Each phone a server sees is written through mod_dbd with a configured
 * statement (an upsert: conf/sql/schema.sql), at most once per phone per
 * interval per process, so that N servers share one view of the fleet.
 * Runs in log_transaction, after the response: it never changes a
 * verdict, waits for no turn, and on PostgreSQL under statement_timeout
 * (mod_devprov_sql.c's helpers).  The API is in mod_devprov_sql.h.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "mod_dbd.h"

#include "mod_devprov_sql.h"
#include "src/dp_lcache.h"
#include "src/dp_mac.h"

APLOG_USE_MODULE(devprov);

#define FLEET_DEFAULT_INTERVAL 300
#define FLEET_DEFAULT_ENTRIES 100000
/* recordings at once per process: a phone's record is worth no more of
 * the workers than this, whatever the database does */
#define FLEET_AT_ONCE 2

struct devprov_sql_fleet {
    const char *label;                  /* its prepared statement's name */
    const char *statement;
    const char *where;                  /* "file:line" */
    ap_dbd_t *(*open)(apr_pool_t *, server_rec *);
    void (*close)(server_rec *, ap_dbd_t *);
    module *dbd;                        /* mod_dbd, for its records */
    apr_interval_time_t interval;
    long timeout_ms;
    long entries;
    /* per process, made in post_config, before the children fork */
    apr_thread_mutex_t *mutex;          /* guards everything below */
    dp_lcache_t *written;               /* MAC -> next write due */
    int busy;                           /* recordings running now */
    int failing;                        /* the last recording failed */
    apr_time_t failed_logged;           /* 0: none logged yet */
    unsigned long failures;             /* since the last log line */
};

const char *devprov_sql_fleet_open(cmd_parms *cmd, int argc,
                                   char *const argv[],
                                   devprov_sql_fleet_t **out)
{
    const char *name = cmd->cmd->name, *msg = NULL, *s;
    devprov_sql_fleet_t *f;
    long interval = FLEET_DEFAULT_INTERVAL, timeout = DEVPROV_SQL_TIMEOUT_MS;
    long entries = FLEET_DEFAULT_ENTRIES;
    int i, params = 0;

    if (argc < 1)
        return apr_psprintf(cmd->pool, "%s needs a statement", name);
    f = apr_pcalloc(cmd->pool, sizeof(*f));
    f->open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    f->close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    f->dbd = ap_find_linked_module("mod_dbd.c");
    if (f->open == NULL || f->close == NULL)
        return apr_psprintf(cmd->pool, "%s: mod_dbd is not loaded: load it "
                            "(LoadModule dbd_module ..., before this line) "
                            "and configure DBDriver and DBDParams", name);
    for (s = strchr(argv[0], '%'); s != NULL; s = strchr(s + 2, '%')) {
        if (s[1] == '%')
            continue;
        if (s[1] != 's')
            return apr_psprintf(cmd->pool, "%s: '%%%c' in the statement: "
                                "its parameters are written %%s", name,
                                s[1] ? s[1] : ' ');
        params++;
    }
    if (params != DEVPROV_FLEET_NPARAMS)
        return apr_psprintf(cmd->pool, "%s: the statement has %d %%s "
                            "parameters: it takes exactly %d, in this "
                            "order: " DEVPROV_FLEET_PARAM_NAMES, name, params,
                            DEVPROV_FLEET_NPARAMS);
    for (i = 1; i < argc && msg == NULL; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *key = eq ? apr_pstrmemdup(cmd->temp_pool, argv[i],
                                              (apr_size_t)(eq - argv[i]))
                             : argv[i];
        const char *val = eq ? eq + 1 : "";

        if (!strcmp(key, "interval"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 1,
                                         86400, &interval);
        else if (!strcmp(key, "timeout"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 10,
                                         600000, &timeout);
        else if (!strcmp(key, "entries"))
            msg = devprov_sql_number_arg(cmd->pool, name, key, val, 1,
                                         10000000, &entries);
        else
            msg = apr_psprintf(cmd->pool, "%s: unknown option '%s' (use "
                               "interval=, timeout=, entries=)", name,
                               argv[i]);
    }
    if (msg != NULL)
        return msg;
    f->statement = argv[0];
    f->interval = apr_time_from_sec(interval);
    f->timeout_ms = timeout;
    f->entries = entries;
    f->where = cmd->directive && cmd->directive->filename
               ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num)
               : "(command line)";
    f->label = apr_psprintf(cmd->pool, "devprov_fleet_%08x_%d",
                            apr_hashfunc_default(f->where,
                                                 &(apr_ssize_t){
                                                     APR_HASH_KEY_STRING }),
                            cmd->directive ? cmd->directive->line_num : 0);
    *out = f;
    return NULL;
}

const char *devprov_sql_fleet_check(const devprov_sql_fleet_t *f,
                                    const server_rec *s, const char *vhost,
                                    apr_pool_t *p)
{
    dbd_cfg_t *const *svr = f->dbd != NULL
                            ? ap_get_module_config(s->module_config, f->dbd)
                            : NULL;
    const dbd_cfg_t *cfg = svr != NULL ? *svr : NULL;

    if (cfg == NULL || cfg->name == NULL || cfg->params == NULL)
        return NULL;
    /* mod_dbd's "[DBDriver unset]": every write would fail */
    if (cfg->name[0] == '[')
        return apr_psprintf(p, "devprov: %s: DevprovFleetSQL (%s): no "
                            "DBDriver and DBDParams for this server or "
                            "virtual host: say which database the record "
                            "goes to", vhost, f->where);
    if (strcmp(cfg->name, "pgsql") == 0
        && strstr(cfg->params, "connect_timeout") == NULL)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "devprov: warning: %s: DevprovFleetSQL (%s): DBDParams "
                     "(pgsql) set no connect_timeout, so opening a "
                     "connection to a database that does not answer holds "
                     "a worker without bound: add connect_timeout=3 "
                     "(seconds) to DBDParams", vhost, f->where);
    return NULL;
}

apr_status_t devprov_sql_fleet_init(devprov_sql_fleet_t *f, server_rec *s,
                                    apr_pool_t *pconf)
{
    if (f->mutex != NULL)
        return APR_SUCCESS;             /* inherited: made already */
    if (apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT, pconf)
        != APR_SUCCESS
        || (f->written = dp_lcache_new((size_t)f->entries)) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: "
                     "DevprovFleetSQL (%s): out of memory for a map of %ld "
                     "phones (entries=)", f->where, f->entries);
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(pconf, f->written, devprov_sql_cleanup_cache,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* Run the statement on DBD with PARAMS: NULL, or why it failed. */
static const char *fleet_write(request_rec *r, devprov_sql_fleet_t *f,
                               ap_dbd_t *dbd, const char *const params[])
{
    apr_dbd_prepared_t *stmt;
    const char *err;
    int nrows = 0, rv;

    if (dbd == NULL)
        return "no connection: see mod_dbd's message";
    if ((err = devprov_sql_set_timeout(r, &f->timeout_ms, dbd, 0)) != NULL)
        return err;
    stmt = apr_hash_get(dbd->prepared, f->label, APR_HASH_KEY_STRING);
    if (stmt == NULL) {
        rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle,
                             f->statement, f->label, &stmt);
        if (rv != 0)
            return apr_pstrcat(r->pool, "preparing the statement: ",
                               devprov_sql_error(r, dbd, rv), NULL);
        apr_hash_set(dbd->prepared, f->label, APR_HASH_KEY_STRING, stmt);
    }
    rv = apr_dbd_pquery(dbd->driver, r->pool, dbd->handle, &nrows, stmt,
                        DEVPROV_FLEET_NPARAMS, (const char **)params);
    if (rv != 0) {
        err = devprov_sql_error(r, dbd, rv);
        /* a connection that lost the prepared statement in a database
         * restart prepares it again on its next use */
        apr_hash_set(dbd->prepared, f->label, APR_HASH_KEY_STRING, NULL);
        return err;
    }
    return NULL;
}

void devprov_sql_record(request_rec *r, devprov_sql_fleet_t *f,
                        const char *const params[], int nparams)
{
    const char *p[DEVPROV_FLEET_NPARAMS];
    apr_time_t now = apr_time_now();
    dp_mac_t mac;
    const char *err;
    ap_dbd_t *dbd;
    int due, i;

    if (f == NULL || f->mutex == NULL || nparams < 1 || params[0] == NULL
        || dp_mac_parse(params[0], strlen(params[0]), &mac) != 0)
        return;
    /* the fixed list: missing or NULL parameters are empty strings */
    for (i = 0; i < DEVPROV_FLEET_NPARAMS; i++)
        p[i] = i < nparams && params[i] != NULL ? params[i] : "";
    apr_thread_mutex_lock(f->mutex);
    /* written (or tried) within the interval: nothing to do; no turn
     * free: the phone's next request tries again */
    due = dp_lcache_get(f->written, &mac, now, NULL, 0, NULL) < 0
          && f->busy < (f->failing ? 1 : FLEET_AT_ONCE);
    if (due) {
        f->busy++;
        (void)dp_lcache_put(f->written, &mac, NULL, now + f->interval);
    }
    apr_thread_mutex_unlock(f->mutex);
    if (!due)
        return;
    dbd = f->open(r->pool, r->server);
    err = fleet_write(r, f, dbd, p);
    if (dbd != NULL)
        f->close(r->server, dbd);

    apr_thread_mutex_lock(f->mutex);
    f->busy--;
    f->failing = err != NULL;
    if (err != NULL) {
        int log = f->failed_logged == 0
                  || now - f->failed_logged >= f->interval;
        unsigned long n = ++f->failures;

        if (log) {
            f->failed_logged = now;
            f->failures = 0;
        }
        apr_thread_mutex_unlock(f->mutex);
        if (log)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "devprov: DevprovFleetSQL (%s): the phone's record "
                          "was not written (%s); %lu record(s) not written "
                          "since the last such line (said once per "
                          "interval=, %" APR_TIME_T_FMT " s); verdicts are "
                          "not affected", f->where, err, n,
                          apr_time_sec(f->interval));
        return;
    }
    apr_thread_mutex_unlock(f->mutex);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "devprov: fleet record written: %s", p[0]);
}

const char *devprov_sql_fleet_where(const devprov_sql_fleet_t *f)
{
    return f->where;
}
