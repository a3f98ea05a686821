/* mod_devprov_sql.h - the allowlist in an SQL database, through mod_dbd.
 *
 * Part of mod_devprov's Apache glue.  DevprovAllowlistSQL names a query
 * that mod_dbd prepares on each of its connections; a lookup runs it with
 * the phone's MAC and turns the row into an allowlist entry by the rules
 * of dp_entry_from_fields().  Answers are cached per process and
 * database (dp_lcache) for a TTL, so a burst of phones costs one query per
 * phone.
 */
#ifndef MOD_DEVPROV_SQL_H
#define MOD_DEVPROV_SQL_H

#include "httpd.h"
#include "http_config.h"

#include "apr_dbd.h"
#include "mod_dbd.h"

#include "src/dp_allowlist.h"

typedef struct devprov_sql devprov_sql_t;

/* DevprovAllowlistSQL "<query>" [ttl=<s>] [unlisted-ttl=<s>]
 * [entries=<n>] [timeout=<ms>] [connections=<n>]
 * [unavailable=<status>|continue] ["users=<query>"]: check the arguments
 * and register the query with mod_dbd for CMD's server. */
const char *devprov_sql_open(cmd_parms *cmd, int argc, char *const argv[],
                             devprov_sql_t **out);

/* check_config (apache2 -t), for each server S that uses Q (VHOST names
 * it): warn where the wait for the database has no bound that devprov can
 * enforce (pgsql DBDParams without connect_timeout, a driver whose
 * queries devprov cannot time out, connections= above DBDMax). */
void devprov_sql_check_server(const devprov_sql_t *q, const server_rec *s,
                              const char *vhost);

/* How many threads of a process may wait for databases at once (half of
 * them), over all DevprovAllowlistSQL: made once, in post_config; NULL if
 * out of resources. */
typedef struct devprov_sql_turns devprov_sql_turns_t;
devprov_sql_turns_t *devprov_sql_turns_new(apr_pool_t *pconf);

/* post_config, for each server S with DevprovEngine on that uses Q: the
 * cache and up/down state of S's database (one per mod_dbd configuration
 * record, shared by the servers that share that record), which takes its
 * turns from TURNS.  Logs and returns an error if they cannot be made. */
apr_status_t devprov_sql_init_server(devprov_sql_t *q, server_rec *s,
                                     devprov_sql_turns_t *turns,
                                     apr_pool_t *pconf);

/* Look MAC up: 1 (listed, OUT valid for R's lifetime), 0 (not listed) or
 * -1 (the database could not answer; logged once a minute while that
 * lasts, and its recovery once).  A lookup that asks the database takes
 * at most 1.25 x timeout= (PostgreSQL) plus, when a new connection must
 * be opened, its connect_timeout. */
int devprov_sql_lookup(request_rec *r, devprov_sql_t *q, const dp_mac_t *mac,
                       dp_entry_t *out);

/* DevprovAllowlistSQL's users= query: the phone whose user name is USER,
 * from the one row's column "mac".  1 (MAC set), 0 (none, or users= not
 * configured), -1 (the database could not answer).  Not cached: the
 * allowlist lookup of the MAC that follows is. */
int devprov_sql_user(request_rec *r, devprov_sql_t *q, const char *user,
                     dp_mac_t *mac);

/* The HTTP status for requests whose lookup failed, or 0 to let them
 * through without DEVICE_ALLOWLISTED (unavailable=continue). */
int devprov_sql_unavailable_status(const devprov_sql_t *q);

/* How long a connection may keep an answer before asking again. */
apr_interval_time_t devprov_sql_ttl(const devprov_sql_t *q);

/* The vendors configured in any server (mod_devprov_check.h), set by
 * check_config: a fetched row whose vendor column names none of them is
 * logged, once per fetch. */
struct devprov_known;
void devprov_sql_known_vendors(devprov_sql_t *q,
                               const struct devprov_known *known);

/* "file:line" of the directive, for messages. */
const char *devprov_sql_where(const devprov_sql_t *q);

/* Shared with mod_devprov_sqlfleet.c. */
#define DEVPROV_SQL_TIMEOUT_MS 2000     /* timeout='s default */
/* KEY=VAL of DIRECTIVE as a number from MIN to MAX into *OUT: NULL, or
 * the message. */
const char *devprov_sql_number_arg(apr_pool_t *p, const char *directive,
                                   const char *key, const char *val,
                                   long min, long max, long *out);
/* The driver's message for RV, in R's pool, without libpq's newline. */
const char *devprov_sql_error(request_rec *r, ap_dbd_t *dbd, int rv);
/* PostgreSQL: statement_timeout = *TIMEOUT_MS on DBD unless it is set
 * already (AGAIN: set it anyway); NULL, or the message. */
const char *devprov_sql_set_timeout(request_rec *r, const long *timeout_ms,
                                    ap_dbd_t *dbd, int again);
/* A pool cleanup freeing a dp_lcache_t. */
apr_status_t devprov_sql_cleanup_cache(void *data);

/* DevprovFleetSQL (mod_devprov_sqlfleet.c): the fleet record, written to
 * the database through mod_dbd so that N servers share one view of the
 * phones.
 *
 * The statement (an upsert, conf/sql/schema.sql) takes exactly
 * DEVPROV_FLEET_NPARAMS parameters, each written %s, always in this
 * order; an empty string where a value is unknown:
 *
 *   1 mac            12 lower-case hex digits (DEVICE_MAC)
 *   2 server         the server that saw the phone (its ServerName)
 *   3 client         the client's address (r->useragent_ip)
 *   4 user_agent     its User-Agent header
 *   5 vendor         the vendor whose CAs verified it (DEVICE_VENDOR)
 *   6 identified_by  certificate, pin or password (DEVICE_IDENTIFIED_BY)
 *   7 not_after      the certificate's notAfter, ISO 8601 UTC
 *                    (2024-12-01T00:00:00Z)
 *   8 validity       valid, expired, not-yet-valid (DEVICE_CERT_VALIDITY)
 *   9 refused        the refusal's reason= (unlisted, ...), "" if served
 *  10 status         the response's HTTP status, as decimal text
 *
 * A phone is written at most once per interval= per Apache process (a
 * bounded map of MAC -> next write, per process); while the database
 * cannot take it, the record is dropped (verdicts never depend on it) and
 * the failure logged once per interval=. */
#define DEVPROV_FLEET_NPARAMS 10
#define DEVPROV_FLEET_PARAM_NAMES "mac, server, client, user_agent, " \
    "vendor, identified_by, not_after, validity, refused, status"
enum {
    DEVPROV_FLEET_MAC, DEVPROV_FLEET_SERVER, DEVPROV_FLEET_CLIENT,
    DEVPROV_FLEET_USER_AGENT, DEVPROV_FLEET_VENDOR,
    DEVPROV_FLEET_IDENTIFIED_BY, DEVPROV_FLEET_NOT_AFTER,
    DEVPROV_FLEET_VALIDITY, DEVPROV_FLEET_REFUSED, DEVPROV_FLEET_STATUS
};

typedef struct devprov_sql_fleet devprov_sql_fleet_t;

/* DevprovFleetSQL "<statement>" [interval=<s>] [timeout=<ms>]
 * [entries=<n>]: check the arguments (the statement's parameters are
 * counted; the options as DevprovAllowlistSQL's). */
const char *devprov_sql_fleet_open(cmd_parms *cmd, int argc,
                                   char *const argv[],
                                   devprov_sql_fleet_t **out);

/* check_config (apache2 -t), for each server S with the engine on that
 * uses F (VHOST names it): the reason to refuse the configuration (S has
 * no database: no DBDriver), or NULL; warns where a new connection has no
 * bound (pgsql DBDParams without connect_timeout). */
const char *devprov_sql_fleet_check(const devprov_sql_fleet_t *f,
                                    const server_rec *s, const char *vhost,
                                    apr_pool_t *p);

/* post_config, once per directive (servers that inherit it share it):
 * the per-process map and its mutex.  Logs and returns an error if they
 * cannot be made. */
apr_status_t devprov_sql_fleet_init(devprov_sql_fleet_t *f, server_rec *s,
                                    apr_pool_t *pconf);

/* Record the phone PARAMS[0] with PARAMS (NPARAMS of them, in the order
 * above; fewer, or NULL ones, count as empty) through R's server's
 * database, unless this process wrote it within interval= (then nothing
 * happens).  For the log_transaction hook: it waits for no other
 * recording (at most 2 run at once per process, one while the database
 * fails; a phone skipped is tried on its next request), takes a pooled
 * connection only for the statement and, on PostgreSQL, lets it run at
 * most timeout= (statement_timeout).  Never fails: errors are logged once
 * per interval=.  F NULL: nothing. */
void devprov_sql_record(request_rec *r, devprov_sql_fleet_t *f,
                        const char *const params[], int nparams);

/* "file:line" of the directive, for messages. */
const char *devprov_sql_fleet_where(const devprov_sql_fleet_t *f);

#endif
