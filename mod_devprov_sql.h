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

#endif
