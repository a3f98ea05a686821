/* mod_devprov_fleet.c - DevprovFleet: the per-phone record, its file in
 * the runtime directory, and the fleet page (SetHandler devprov-fleet).
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The record itself is the core's (src/dp_fleet.h): two tables, the
 * phones and the waiting list, laid out in one file that the parent maps
 * (MAP_SHARED) before the children fork, so that every child and thread
 * writes to the same entries without a lock of httpd's.  The mapping is
 * kept in the process pool, not pconf: a graceful (or plain) restart
 * with the same DevprovFleet keeps it and every entry; children of the
 * old generation keep writing to the same, identical layout.  A stop and
 * start finds the file again and keeps it if its layout is the one
 * configured.  Another size (or a damaged file) makes a new, empty one,
 * said in the error log.
 *
 * The file is made by root with mode 0600 before the children drop their
 * privileges: they write through the inherited mapping, never open it.
 * devprov-check maps it read-only (doc/devprov-check.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_fleet.h"
#include "src/dp_metrics.h"

APLOG_USE_MODULE(devprov);

#define DEFAULT_ENTRIES 100000
#define DEFAULT_WAITING 1000
#define DEFAULT_STALE_DAYS 7
#define DEFAULT_LIMIT 500
#define MAX_LIMIT 100000

/* The mapping of one file, for the parent's lifetime (process pool) */
typedef struct {
    void *mem;
    size_t len;
    size_t entries, waiting;
    dev_t dev;
    ino_t ino;
} fleet_map_t;

struct devprov_fleet {
    const char *path;           /* as configured */
    const char *file;           /* absolute (DefaultRuntimeDir) */
    const char *where;          /* file:line */
    size_t entries, waiting;
    apr_time_t stale;
    /* runtime, set by post_config */
    dp_fleet_t phones, queue;
    int ready;
};

/* ------------------------------------------------------------------ */
/* the directive                                                       */

static const char *size_arg(apr_pool_t *p, const char *key, const char *val,
                            long min, long max, long *out)
{
    char *end;
    long n = strtol(val, &end, 10);

    if (*val == '\0' || *end != '\0' || n < min || n > max)
        return apr_psprintf(p, "DevprovFleet: %s=%s: use a number from %ld "
                            "to %ld", key, val, min, max);
    *out = n;
    return NULL;
}

const char *devprov_fleet_cmd(cmd_parms *cmd, int argc, char *const argv[],
                              devprov_fleet_t **out)
{
    devprov_fleet_t *fc;
    long entries = DEFAULT_ENTRIES, waiting = DEFAULT_WAITING;
    long stale = DEFAULT_STALE_DAYS;
    const char *msg = NULL;
    int i;

    if (cmd->server->is_virtual)
        return "DevprovFleet: one record serves the whole server: set it "
               "in the main server configuration, outside <VirtualHost> "
               "(every virtual host with DevprovEngine on records into it)";
    if (argc < 1)
        return "DevprovFleet needs a file name (relative names are in "
               "DefaultRuntimeDir)";
    if (*out != NULL)
        return "DevprovFleet: set more than once";
    for (i = 1; i < argc && msg == NULL; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *val = eq ? eq + 1 : "";
        size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

        if (klen == 7 && !strncmp(argv[i], "entries", 7))
            msg = size_arg(cmd->pool, "entries", val, 16, 16777216,
                           &entries);
        else if (klen == 7 && !strncmp(argv[i], "waiting", 7))
            msg = size_arg(cmd->pool, "waiting", val, 16, 1048576, &waiting);
        else if (klen == 5 && !strncmp(argv[i], "stale", 5))
            msg = size_arg(cmd->pool, "stale", val, 1, 3650, &stale);
        else
            msg = apr_psprintf(cmd->pool, "DevprovFleet: unknown option "
                               "'%s' (use entries=<phones>, waiting=<phones>, "
                               "stale=<days>)", argv[i]);
    }
    if (msg != NULL)
        return msg;
    fc = apr_pcalloc(cmd->pool, sizeof(*fc));
    fc->path = argv[0];
    fc->file = ap_runtime_dir_relative(cmd->pool, argv[0]);
    if (fc->file == NULL)
        return apr_psprintf(cmd->pool, "DevprovFleet: invalid file name "
                            "'%s'", argv[0]);
    fc->where = devprov_cmd_where(cmd);
    fc->entries = (size_t)entries;
    fc->waiting = (size_t)waiting;
    fc->stale = apr_time_from_sec((apr_time_t)stale * 86400);
    *out = fc;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the file                                                            */

static apr_status_t unmap(void *data)
{
    fleet_map_t *m = data;

    munmap(m->mem, m->len);
    return APR_SUCCESS;
}

/* Attach FC's tables to M's memory: 0, or -1 with the reason in ERR. */
static int attach(devprov_fleet_t *fc, const fleet_map_t *m, char *err,
                  size_t errlen)
{
    size_t used = 0, more = 0;

    if (dp_fleet_attach(&fc->phones, m->mem, m->len, fc->entries, &used,
                        err, errlen) != 0)
        return -1;
    if (dp_fleet_attach(&fc->queue, (char *)m->mem + used, m->len - used,
                        fc->waiting, &more, err, errlen) != 0)
        return -1;
    if (used + more != m->len) {
        apr_snprintf(err, errlen, "%lu bytes, not the %lu of its tables",
                     (unsigned long)m->len, (unsigned long)(used + more));
        return -1;
    }
    return 0;
}

/* Map FC's file for the process pool PPROC, keeping what it holds when
 * it is a record of this layout.  NULL, or the reason. */
static const char *map_file(server_rec *s, devprov_fleet_t *fc,
                            apr_pool_t *pproc, fleet_map_t **out)
{
    size_t a = dp_fleet_bytes(fc->entries), b = dp_fleet_bytes(fc->waiting);
    fleet_map_t *m = apr_pcalloc(pproc, sizeof(*m));
    struct stat st;
    char err[256];
    int fd, fresh = 0, had = 0;

    if (a == 0 || b == 0)
        return "sizes out of range";
    m->len = a + b;
    m->entries = fc->entries;
    m->waiting = fc->waiting;
    fd = open(fc->file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return apr_psprintf(pproc, "cannot open it: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return "not a regular file";
    }
    /* only root's own file: it is written by every child */
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        return apr_psprintf(pproc, "owned by uid %lu with mode %04o: it "
                            "must be this server's own (uid %lu, mode "
                            "0600); remove it", (unsigned long)st.st_uid,
                            (unsigned)(st.st_mode & 07777),
                            (unsigned long)geteuid());
    }
    if ((size_t)st.st_size != m->len) {
        fresh = 1;
        had = st.st_size > 0;
        if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)m->len) != 0) {
            const char *why = strerror(errno);

            close(fd);
            return apr_psprintf(pproc, "cannot size it to %lu bytes: %s",
                                (unsigned long)m->len, why);
        }
    }
    m->mem = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m->mem == MAP_FAILED)
        return apr_psprintf(pproc, "cannot map it: %s", strerror(errno));
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    apr_pool_cleanup_register(pproc, m, unmap, apr_pool_cleanup_null);
    if (!fresh && attach(fc, m, err, sizeof(err)) == 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "devprov: DevprovFleet "
                     "(%s): kept the record in %s", fc->where, fc->file);
    else {
        if (!fresh || had)
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: "
                         "DevprovFleet (%s): %s held %s: starting an empty "
                         "record", fc->where, fc->file,
                         had ? apr_psprintf(pproc, "%lu bytes, a record of "
                                            "another size (entries=, "
                                            "waiting=)",
                                            (unsigned long)st.st_size)
                             : err);
        dp_fleet_format(&fc->phones, m->mem, fc->entries,
                        (time_t)apr_time_sec(apr_time_now()));
        dp_fleet_format(&fc->queue, (char *)m->mem + a, fc->waiting,
                        (time_t)apr_time_sec(apr_time_now()));
    }
    *out = m;
    return NULL;
}

int devprov_fleet_post_config(server_rec *s, devprov_fleet_t *fc,
                              apr_pool_t *ptemp)
{
    apr_pool_t *pproc = s->process->pool;
    const char *key;
    fleet_map_t *m = NULL;
    char err[256];
    struct stat st;

    if (fc == NULL)
        return OK;
    /* the mapping of an earlier generation, if it is still this file
     * with this layout */
    key = apr_pstrcat(ptemp, "devprov-fleet:", fc->file, NULL);
    apr_pool_userdata_get((void **)&m, key, pproc);
    if (m != NULL && (m->entries != fc->entries || m->waiting != fc->waiting
                      || stat(fc->file, &st) != 0 || st.st_dev != m->dev
                      || st.st_ino != m->ino))
        m = NULL;           /* the old one stays mapped for its children */
    if (m != NULL && attach(fc, m, err, sizeof(err)) != 0)
        m = NULL;
    if (m == NULL) {
        const char *why = map_file(s, fc, pproc, &m);

        if (why != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: "
                         "DevprovFleet (%s): %s: %s", fc->where, fc->file,
                         why);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_userdata_set(m, apr_pstrdup(pproc, key),
                              apr_pool_cleanup_null, pproc);
    }
    else
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "devprov: DevprovFleet "
                     "(%s): the record in %s carries on", fc->where,
                     fc->file);
    /* the lock owner: each child sets its own process id when it first
     * records (the copy of FC is its own after the fork) */
    fc->phones.pid = fc->queue.pid = 0;
    fc->ready = 1;
    return OK;
}

/* ------------------------------------------------------------------ */
/* recording                                                           */

void devprov_fleet_record(request_rec *r, devprov_fleet_t *fc,
                          const dp_verdict_t *v, dp_deny_t deny)
{
    const dp_identity_t *id = &v->id;
    dp_fleet_obs_t o;
    dp_fleet_t *t;

    if (fc == NULL || !fc->ready || id->status != DP_ST_DEVICE)
        return;
    /* the allowlist did not answer: neither listed nor waiting */
    if (v->listed == DP_LISTED_DOWN)
        return;
    /* a genuine phone that is not listed waits for approval; the
     * waiting list has room for a bounded number of them, apart from
     * the phones' */
    t = v->listed == 0 && !v->revoked ? &fc->queue : &fc->phones;
    if (t->pid == 0)
        t->pid = (uint32_t)getpid();
    memset(&o, 0, sizeof(o));
    o.mac = id->mac;
    o.now = (time_t)apr_time_sec(r->request_time);
    o.identified = 1;
    o.by = id->password ? DP_FLEET_BY_PASSWORD
           : id->pinned ? DP_FLEET_BY_PIN : DP_FLEET_BY_CERT;
    o.listed = v->listed == 1 && !v->revoked;
    o.validity = id->password ? -1 : (int)id->time;
    o.not_after = id->password ? 0 : id->not_after;
    o.sha256 = v->sha256[0] && !id->password ? id->sha256 : NULL;
    o.vendor = id->vendor != NULL ? id->vendor->name : NULL;
    o.addr = r->useragent_ip;
    o.ua = apr_table_get(r->headers_in, "User-Agent");
    switch (deny) {
    case DP_DENY_NONE:
        o.refusal = DP_FLEET_REFUSAL_NONE;
        break;
    case DP_DENY_BIND_PATH:
        o.refusal = DP_FLEET_REFUSAL_BIND_PATH;
        break;
    case DP_DENY_UNAVAILABLE:
        o.refusal = DP_FLEET_REFUSAL_DB_UNAVAILABLE;
        break;
    default:
        o.refusal = DP_FLEET_REFUSAL_REASON + (int)dp_verdict_reason_code(v);
        break;
    }
    if (dp_fleet_update(t, &o) != 0)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "devprov: DevprovFleet: "
                      "the record of %s was busy: this request is not "
                      "recorded", v->mac);
}

/* ------------------------------------------------------------------ */
/* the fleet page                                                      */

typedef struct {
    request_rec *r;
    time_t now, stale;
    dp_fleet_summary_t sum;
    int state;                  /* -1: every state */
    size_t limit, shown, more;
    dp_fleet_rec_t *list;
} walk_t;

static int walk_phone(const dp_fleet_rec_t *rec, void *arg)
{
    walk_t *w = arg;

    dp_fleet_summary_add(&w->sum, rec, w->now, w->stale);
    if (w->state >= 0
        && (int)dp_fleet_state(rec, w->now, w->stale) != w->state)
        return 0;
    if (w->shown < w->limit)
        w->list[w->shown++] = *rec;
    else
        w->more++;
    return 0;
}

static int by_last_seen(const void *a, const void *b)
{
    const dp_fleet_rec_t *x = a, *y = b;

    if (x->last_seen != y->last_seen)
        return x->last_seen < y->last_seen ? 1 : -1;
    return memcmp(x->mac, y->mac, 6);
}

static const char *html(apr_pool_t *p, const char *s)
{
    size_t n = dp_fleet_html_text(NULL, 0, s);
    char *out = apr_palloc(p, n + 1);

    dp_fleet_html_text(out, n + 1, s);
    return out;
}

static const char *json(apr_pool_t *p, const char *s)
{
    size_t n = dp_fleet_json_text(NULL, 0, s);
    char *out = apr_palloc(p, n + 1);

    dp_fleet_json_text(out, n + 1, s);
    return out;
}

static const char *mac_text(const dp_fleet_rec_t *rec, char *buf)
{
    dp_mac_t m;

    memcpy(m.b, rec->mac, 6);
    dp_mac_format(&m, buf);
    return buf;
}

static const char *when(apr_pool_t *p, int64_t t)
{
    apr_time_exp_t x;
    char buf[32];
    apr_size_t n;

    if (t == 0)
        return "-";
    apr_time_exp_gmt(&x, apr_time_from_sec((apr_time_t)t));
    apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &x);
    return apr_pstrdup(p, buf);
}

static const char *fingerprint(apr_pool_t *p, const dp_fleet_rec_t *rec)
{
    static const unsigned char zero[32];
    char hex[65];

    if (memcmp(rec->sha256, zero, 32) == 0)
        return "";
    dp_hex_sha256(rec->sha256, hex);
    return apr_pstrdup(p, hex);
}

static const char *validity_name(unsigned v)
{
    return v == DP_TIME_VALID + 1 ? "valid"
           : v == DP_TIME_EXPIRED + 1 ? "expired"
           : v == DP_TIME_NOT_YET_VALID + 1 ? "not-yet-valid" : "";
}

static const char *month_name(apr_pool_t *p, const dp_fleet_summary_t *s,
                              int i)
{
    int m = s->month0 - 1 + i;

    return apr_psprintf(p, "%04d-%02d", s->year0 + m / 12, m % 12 + 1);
}

static void json_rec(request_rec *r, const dp_fleet_rec_t *rec, time_t now,
                     time_t stale, int sep)
{
    char mac[DP_MAC_STRLEN + 1];
    const char *by = dp_fleet_by_name(rec->by);
    const char *why = dp_fleet_refusal_name(rec->refusal);

    ap_rprintf(r, "%s\n  {\"mac\": \"%s\", \"state\": \"%s\", "
               "\"first_seen\": %" APR_INT64_T_FMT ", \"last_seen\": %"
               APR_INT64_T_FMT ", \"last_ok\": %" APR_INT64_T_FMT
               ", \"last_refused\": %" APR_INT64_T_FMT ", \"requests\": %u, "
               "\"refused\": %u, \"last_refusal\": %s%s%s, "
               "\"identified_by\": %s%s%s, \"listed\": %s, \"vendor\": \"%s\","
               " \"cert_not_after\": %" APR_INT64_T_FMT ", "
               "\"cert_validity\": \"%s\", \"sha256\": \"%s\", "
               "\"address\": \"%s\", \"user_agent\": \"%s\"}",
               sep ? "," : "", mac_text(rec, mac),
               dp_fleet_state_name(dp_fleet_state(rec, now, stale)),
               rec->first_seen, rec->last_seen, rec->last_ok,
               rec->last_refused, rec->requests, rec->refused,
               why ? "\"" : "", why ? why : "null", why ? "\"" : "",
               by ? "\"" : "", by ? by : "null", by ? "\"" : "",
               rec->listed ? "true" : "false",
               json(r->pool, rec->vendor), rec->not_after,
               validity_name(rec->validity), fingerprint(r->pool, rec),
               json(r->pool, rec->addr), json(r->pool, rec->ua));
}

static void print_json(request_rec *r, devprov_fleet_t *fc, walk_t *w,
                       const dp_fleet_rec_t *wait, size_t nwait,
                       size_t wait_more)
{
    const dp_fleet_summary_t *s = &w->sum;
    dp_fleet_info_t info;
    size_t i;
    unsigned k;
    int sep;

    dp_fleet_info(&fc->phones, &info);
    ap_rprintf(r, "{\"generated\": %ld, \"stale_days\": %ld, "
               "\"capacity\": %lu, \"created\": %ld, \"phones_recorded\": %lu,"
               " \"evicted\": %" APR_UINT64_T_FMT ", \"dropped_updates\": %"
               APR_UINT64_T_FMT ",\n \"states\": {",
               (long)w->now, (long)(w->stale / 86400),
               (unsigned long)info.capacity, (long)info.created,
               (unsigned long)s->phones, info.evictions, info.dropped);
    for (k = 0; k < DP_FLEET_STATES; k++)
        ap_rprintf(r, "%s\"%s\": %lu", k ? ", " : "",
                   dp_fleet_state_name((dp_fleet_state_t)k),
                   (unsigned long)s->state[k]);
    ap_rprintf(r, "},\n \"expiry\": {\"expired_before\": %lu, \"later\": %lu,"
               " \"months\": [", (unsigned long)s->expired_before,
               (unsigned long)s->expiry_later);
    for (i = 0; i < DP_FLEET_MONTHS; i++)
        ap_rprintf(r, "%s{\"month\": \"%s\", \"certificates\": %lu}",
                   i ? ", " : "", month_name(r->pool, s, (int)i),
                   (unsigned long)s->expiry[i]);
    ap_rputs("]},\n \"refused_by_reason\": {", r);
    for (k = 0, sep = 0; k < DP_FLEET_REFUSALS; k++)
        if (s->refusals[k] != 0 && dp_fleet_refusal_name(k) != NULL) {
            ap_rprintf(r, "%s\"%s\": %lu", sep++ ? ", " : "",
                       dp_fleet_refusal_name(k),
                       (unsigned long)s->refusals[k]);
        }
    ap_rprintf(r, "},\n \"waiting_total\": %lu, \"waiting\": [",
               (unsigned long)(nwait + wait_more));
    for (i = 0; i < nwait; i++)
        json_rec(r, &wait[i], w->now, 0, i > 0);
    ap_rprintf(r, "],\n \"phones_shown\": %lu, \"phones_not_shown\": %lu, "
               "\"phones\": [", (unsigned long)w->shown,
               (unsigned long)w->more);
    for (i = 0; i < w->shown; i++)
        json_rec(r, &w->list[i], w->now, w->stale, i > 0);
    ap_rputs("]}\n", r);
}

static void html_row(request_rec *r, const dp_fleet_rec_t *rec, time_t now,
                     time_t stale, int waiting)
{
    char mac[DP_MAC_STRLEN + 1];
    const char *by = dp_fleet_by_name(rec->by);
    const char *why = dp_fleet_refusal_name(rec->refusal);
    const char *st = waiting ? "waiting"
                     : dp_fleet_state_name(dp_fleet_state(rec, now, stale));

    ap_rprintf(r, "<tr class=\"phone %s\" data-mac=\"%s\"><td class=\"mac\">"
               "%s</td><td class=\"state\">%s</td><td>%s</td><td>%s</td>"
               "<td>%s</td><td>%s</td><td class=\"n\">%u</td>"
               "<td class=\"n\">%u</td><td>%s</td><td>%s %s</td>"
               "<td class=\"addr\">%s</td><td class=\"ua\">%s</td>"
               "<td class=\"fp\">%s</td></tr>\n",
               st, mac_text(rec, mac), mac, st,
               html(r->pool, rec->vendor), by ? by : "-",
               when(r->pool, rec->first_seen), when(r->pool, rec->last_seen),
               rec->requests, rec->refused, why ? why : "-",
               rec->not_after ? when(r->pool, rec->not_after) : "-",
               validity_name(rec->validity), html(r->pool, rec->addr),
               html(r->pool, rec->ua), fingerprint(r->pool, rec));
}

static const char HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>devprov fleet</title>\n<style>"
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}"
    "td,th{border:1px solid #bbb;padding:2px 6px;font-size:90%}"
    "td.n{text-align:right}td.ua,td.fp{font-family:monospace;"
    "font-size:80%}tr.refused td.state{color:#a00}"
    "tr.tolerance td.state{color:#a60}tr.stale td.state{color:#666}"
    "svg text{font-size:10px}"
    "</style></head><body>\n";

static const char COLUMNS[] =
    "<tr><th>MAC</th><th>state</th><th>vendor</th><th>identified by</th>"
    "<th>first seen</th><th>last seen</th><th>requests</th>"
    "<th>refused</th><th>last refusal</th><th>certificate notAfter</th>"
    "<th>address</th><th>User-Agent</th><th>SHA-256</th></tr>\n";

static void print_html(request_rec *r, devprov_fleet_t *fc, walk_t *w,
                       const dp_fleet_rec_t *wait, size_t nwait,
                       size_t wait_more)
{
    const dp_fleet_summary_t *s = &w->sum;
    dp_fleet_info_t info;
    size_t i, top = 1;
    unsigned k;
    int any = 0;

    dp_fleet_info(&fc->phones, &info);
    ap_rputs(HEAD, r);
    ap_rprintf(r, "<h1>devprov fleet</h1>\n<p id=\"summary\">"
               "<span id=\"phones-recorded\">%lu</span> phones recorded "
               "(room for %lu; record kept since %s), "
               "<span id=\"waiting-total\">%lu</span> waiting for approval; "
               "generated %s.</p>\n", (unsigned long)s->phones,
               (unsigned long)info.capacity, when(r->pool, info.created),
               (unsigned long)(nwait + wait_more), when(r->pool, w->now));

    ap_rputs("<h2>Phones by state</h2>\n<table id=\"states\">"
             "<tr><th>state</th><th>phones</th></tr>\n", r);
    for (k = 0; k < DP_FLEET_STATES; k++) {
        const char *n = dp_fleet_state_name((dp_fleet_state_t)k);

        ap_rprintf(r, "<tr id=\"state-%s\"><td><a href=\"?state=%s\">%s</a>"
                   "%s</td><td class=\"n\">%lu</td></tr>\n", n, n, n,
                   k == DP_FLEET_STALE
                       ? apr_psprintf(r->pool, " (not seen for %ld days)",
                                      (long)(w->stale / 86400)) : "",
                   (unsigned long)s->state[k]);
    }
    ap_rputs("</table>\n", r);

    /* the next wave: certificates by the month they expire in */
    for (i = 0; i < DP_FLEET_MONTHS; i++)
        if (s->expiry[i] > top)
            top = s->expiry[i];
    ap_rprintf(r, "<h2>Certificate expiry</h2>\n<p>Already expired before "
               "this month: <span id=\"expired-before\">%lu</span>; later "
               "than shown: <span id=\"expiry-later\">%lu</span>.</p>\n"
               "<svg id=\"expiry\" width=\"%d\" height=\"150\" "
               "role=\"img\" aria-label=\"certificates expiring per month\">\n",
               (unsigned long)s->expired_before,
               (unsigned long)s->expiry_later, DP_FLEET_MONTHS * 40 + 10);
    for (i = 0; i < DP_FLEET_MONTHS; i++) {
        unsigned long n = (unsigned long)s->expiry[i];
        int h = (int)(n * 100 / top);
        const char *m = month_name(r->pool, s, (int)i);

        ap_rprintf(r, "<g class=\"month\" data-month=\"%s\" data-count=\"%lu\">"
                   "<title>%s: %lu</title><rect x=\"%d\" y=\"%d\" "
                   "width=\"30\" height=\"%d\" fill=\"#c60\"/>"
                   "<text x=\"%d\" y=\"%d\">%lu</text>"
                   "<text x=\"%d\" y=\"145\">%s</text></g>\n", m, n, m, n,
                   (int)i * 40 + 5, 115 - h, h, (int)i * 40 + 8,
                   112 - h, n, (int)i * 40 + 2, m + 2);
    }
    ap_rputs("</svg>\n", r);

    ap_rputs("<h2>Refused phones by reason</h2>\n<table id=\"refusals\">"
             "<tr><th>last refusal</th><th>phones</th></tr>\n", r);
    for (k = 0; k < DP_FLEET_REFUSALS; k++)
        if (s->refusals[k] != 0 && dp_fleet_refusal_name(k) != NULL) {
            ap_rprintf(r, "<tr id=\"refusal-%s\"><td>%s</td><td class=\"n\">"
                       "%lu</td></tr>\n", dp_fleet_refusal_name(k),
                       dp_fleet_refusal_name(k),
                       (unsigned long)s->refusals[k]);
            any = 1;
        }
    if (!any)
        ap_rputs("<tr><td colspan=\"2\">none</td></tr>\n", r);
    ap_rputs("</table>\n", r);

    ap_rputs("<h2>Waiting for approval</h2>\n<p>Genuine phones of a "
             "configured vendor that are not in the allowlist: review, then "
             "<code>devprov-check approve</code>.</p>\n<table id=\"waiting\">",
             r);
    ap_rputs(COLUMNS, r);
    for (i = 0; i < nwait; i++)
        html_row(r, &wait[i], w->now, 0, 1);
    ap_rputs("</table>\n", r);

    ap_rprintf(r, "<h2>Phones%s%s</h2>\n<table id=\"phones\">",
               w->state >= 0 ? ": " : "",
               w->state >= 0
                   ? dp_fleet_state_name((dp_fleet_state_t)w->state) : "");
    ap_rputs(COLUMNS, r);
    for (i = 0; i < w->shown; i++)
        html_row(r, &w->list[i], w->now, w->stale, 0);
    ap_rputs("</table>\n", r);
    if (w->more)
        ap_rprintf(r, "<p id=\"not-shown\">%lu more not shown (limit=%lu)."
                   "</p>\n", (unsigned long)w->more,
                   (unsigned long)w->limit);
    ap_rputs("</body></html>\n", r);
}

typedef struct {
    dp_fleet_rec_t *list;
    size_t n, max, more;
    const dp_fleet_t *phones;
} wait_walk_t;

static int walk_waiting(const dp_fleet_rec_t *rec, void *arg)
{
    wait_walk_t *w = arg;
    dp_fleet_rec_t now;
    dp_mac_t m;

    /* approved since: the phone's own entry is newer */
    memcpy(m.b, rec->mac, 6);
    if (dp_fleet_get(w->phones, &m, &now) && now.last_ok >= rec->last_seen)
        return 0;
    if (w->n < w->max)
        w->list[w->n++] = *rec;
    else
        w->more++;
    return 0;
}

/* Walk FC's tables into W (the summary and up to W->limit phones of
 * W->state) and WW (the waiting phones not approved since). */
static void read_record(request_rec *r, devprov_fleet_t *fc, walk_t *w,
                        wait_walk_t *ww)
{
    size_t skipped;

    dp_fleet_summary_init(&w->sum, w->now);
    w->list = apr_palloc(r->pool, (w->limit ? w->limit : 1)
                                  * sizeof(*w->list));
    skipped = dp_fleet_each(&fc->phones, walk_phone, w);
    qsort(w->list, w->shown, sizeof(*w->list), by_last_seen);
    memset(ww, 0, sizeof(*ww));
    ww->max = fc->waiting;
    ww->list = apr_palloc(r->pool, ww->max * sizeof(*ww->list));
    ww->phones = &fc->phones;
    skipped += dp_fleet_each(&fc->queue, walk_waiting, ww);
    qsort(ww->list, ww->n, sizeof(*ww->list), by_last_seen);
    if (skipped)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "devprov-fleet: %lu "
                      "entries changed while read: not shown",
                      (unsigned long)skipped);
}

/* The fleet's gauges, for the devprov-status handler's Prometheus and
 * OpenMetrics formats: the same numbers as the page's summary. */
void devprov_fleet_metrics(request_rec *r, dp_metrics_sink_t *sink)
{
    devprov_fleet_t *fc = devprov_srv(r->server)->fleet;
    dp_fleet_info_t info;
    walk_t w;
    wait_walk_t ww;
    unsigned k;
    int i;

    if (fc == NULL || !fc->ready)
        return;
    memset(&w, 0, sizeof(w));
    w.r = r;
    w.now = (time_t)apr_time_sec(r->request_time);
    w.stale = (time_t)apr_time_sec(fc->stale);
    w.state = -1;
    w.limit = 0;
    read_record(r, fc, &w, &ww);
    dp_fleet_info(&fc->phones, &info);
    for (k = 0; k < DP_FLEET_STATES; k++) {
        const dp_metrics_label_t l[] = {
            { "state", dp_fleet_state_name((dp_fleet_state_t)k) },
            { NULL, NULL }
        };
        dp_metrics_gauge(sink, "devprov_fleet_phones", "Phones in the "
                         "fleet record (DevprovFleet), by state.", l,
                         (double)w.sum.state[k]);
    }
    dp_metrics_gauge(sink, "devprov_fleet_waiting", "Genuine phones of a "
                     "configured vendor waiting for approval (not listed).",
                     NULL, (double)(ww.n + ww.more));
    dp_metrics_gauge(sink, "devprov_fleet_capacity", "Phones the record has "
                     "room for.", NULL, (double)info.capacity);
    dp_metrics_gauge(sink, "devprov_fleet_certs_expired_before_month",
                     "Recorded certificates whose notAfter is before this "
                     "calendar month (UTC).", NULL,
                     (double)w.sum.expired_before);
    for (i = 0; i < DP_FLEET_MONTHS; i++) {
        const dp_metrics_label_t l[] = {
            { "month", month_name(r->pool, &w.sum, i) },
            { NULL, NULL }
        };
        dp_metrics_gauge(sink, "devprov_fleet_certs_expiring", "Recorded "
                         "certificates by the calendar month (UTC) their "
                         "notAfter falls in: this month and the 23 after.",
                         l, (double)w.sum.expiry[i]);
    }
    /* by name: reasons counted as another share its name (one series) */
    for (k = 0; k < DP_FLEET_REFUSALS; k++) {
        const char *name = dp_fleet_refusal_name(k);
        const dp_metrics_label_t l[] = {
            { "reason", name }, { NULL, NULL }
        };
        size_t n = 0;
        unsigned j;
        int seen = 0;

        if (name == NULL)
            continue;
        for (j = 0; j < DP_FLEET_REFUSALS; j++)
            if (dp_fleet_refusal_name(j) != NULL
                && strcmp(dp_fleet_refusal_name(j), name) == 0) {
                if (j < k)
                    seen = 1;
                n += w.sum.refusals[j];
            }
        if (!seen)
            dp_metrics_gauge(sink, "devprov_fleet_refused_phones", "Phones "
                             "whose last request was refused, by reason.",
                             l, (double)n);
    }
    dp_metrics_counter(sink, "devprov_fleet_evicted", "Entries dropped "
                       "because the record was full (the least recently "
                       "seen of a set).", NULL, info.evictions);
    dp_metrics_counter(sink, "devprov_fleet_dropped_updates", "Requests not "
                       "recorded because their entry stayed busy.", NULL,
                       info.dropped);
}

/* "name=value" of R's query, NULL if absent */
static const char *arg(request_rec *r, const char *name)
{
    const char *a = r->args;
    size_t n = strlen(name);

    while (a != NULL && *a != '\0') {
        const char *end = strchr(a, '&');
        size_t len = end ? (size_t)(end - a) : strlen(a);

        if (len >= n && strncmp(a, name, n) == 0
            && (len == n || a[n] == '='))
            return apr_pstrmemdup(r->pool, a + (len > n ? n + 1 : n),
                                  len > n ? len - n - 1 : 0);
        a = end ? end + 1 : NULL;
    }
    return NULL;
}

static int fleet_handler(request_rec *r)
{
    devprov_fleet_t *fc;
    walk_t w;
    wait_walk_t ww;
    const char *v;
    int k;

    if (r->handler == NULL || strcmp(r->handler, "devprov-fleet") != 0)
        return DECLINED;
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    fc = devprov_srv(r->server)->fleet;
    if (fc == NULL || !fc->ready) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov-fleet: no "
                      "record: DevprovFleet is not configured");
        return HTTP_NOT_FOUND;
    }
    memset(&w, 0, sizeof(w));
    w.r = r;
    w.now = (time_t)apr_time_sec(r->request_time);
    w.stale = (time_t)apr_time_sec(fc->stale);
    w.state = -1;
    w.limit = DEFAULT_LIMIT;
    if ((v = arg(r, "state")) != NULL) {
        for (k = 0; k < DP_FLEET_STATES; k++)
            if (strcmp(v, dp_fleet_state_name((dp_fleet_state_t)k)) == 0)
                w.state = k;
        if (w.state < 0)
            return HTTP_BAD_REQUEST;
    }
    if ((v = arg(r, "limit")) != NULL) {
        char *end;
        long n = strtol(v, &end, 10);

        if (*v == '\0' || *end != '\0' || n < 0 || n > MAX_LIMIT)
            return HTTP_BAD_REQUEST;
        w.limit = (size_t)n;
    }
    read_record(r, fc, &w, &ww);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (arg(r, "json") != NULL) {
        ap_set_content_type(r, "application/json");
        if (!r->header_only)
            print_json(r, fc, &w, ww.list, ww.n, ww.more);
    }
    else {
        ap_set_content_type(r, "text/html; charset=utf-8");
        /* nothing on the page runs or loads: what a phone sent stays
         * text even if an escape were missed */
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        if (!r->header_only)
            print_html(r, fc, &w, ww.list, ww.n, ww.more);
    }
    return OK;
}

void devprov_fleet_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(fleet_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
