/* mod_devprov_status.c - devprov's status counters: shared memory, the
 * mod_status section and the devprov-status handler.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The parent creates one shared memory segment per generation (every
 * start and restart) in post_config, with one slot of DP_STAT_COUNT
 * 64-bit counters per virtual host that has the engine on; the children
 * inherit the mapping when they are forked and add to it with atomic
 * increments, so the numbers are the sum over every process and thread,
 * with no lock.
 *
 * The increments are APR's (apr_atomic_inc64, apr_atomic_read64), as
 * httpd's own modules count.  That is right across processes only
 * because APR implements them with the compiler's lock-free builtins
 * (atomic/unix/builtins64.c: __atomic_fetch_add, __atomic_load_n):
 * APR's fallback for platforms without them (mutex64.c) takes a mutex
 * of the calling process, which would not order two children.  Debian
 * 12's libapr1 1.7.2 on x86_64 uses the builtins: apr_atomic_inc64 is a
 * "lock xadd", apr_atomic_read64 a plain 8-byte load, and
 * apr_atomic_init() sets up no mutex at all (checked with objdump -d on
 * libapr-1.so.0).  The generation's table (labels, slot addresses,
 * start time) lives in pconf, found by the hooks as pconf user data: no
 * global variable.  A restart clears pconf, which unmaps the parent's
 * segment and makes a new one at zero; children of the old generation
 * still finishing requests keep their own mapping of the old segment
 * (never shown again), so they neither crash nor spoil the new numbers.
 */
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_atomic.h"
#include "apr_optional_hooks.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "mod_status.h"

#include "src/dp_metrics.h"
#include "mod_devprov_private.h"
#include "mod_devprov_status.h"

APLOG_USE_MODULE(devprov);

#define USERDATA_KEY "devprov-status"
/* a slot is a whole number of 64-byte cache lines: no false sharing
 * between virtual hosts */
#define SLOT_WORDS ((DP_STAT_COUNT + 7) / 8 * 8)

struct devprov_counters {
    apr_uint64_t c[SLOT_WORDS];
};

typedef struct {
    const char *label;          /* "host:port", unique in the table */
    const char *where;          /* "file:line" of the <VirtualHost> */
    int vhost;                  /* 0: the main server */
    devprov_counters_t *counters;
} slot_t;

struct devprov_status {
    apr_shm_t *shm;
    devprov_counters_t *base;
    int nslots, used;
    slot_t *slots;
    apr_time_t since;
};

devprov_status_t *devprov_status_begin(apr_pool_t *pconf, apr_pool_t *ptemp,
                                       server_rec *s)
{
    devprov_status_t *st = apr_pcalloc(pconf, sizeof(*st));
    server_rec *v;
    apr_size_t size;
    apr_status_t rv;
    const char *name = NULL;

    for (v = s; v != NULL; v = v->next)
        st->nslots++;
    size = (apr_size_t)st->nslots * sizeof(devprov_counters_t);
    /* anonymous shared memory where the platform has it (Linux does),
     * else a file in DefaultRuntimeDir, made afresh */
    rv = apr_shm_create(&st->shm, size, NULL, pconf);
    if (rv == APR_ENOTIMPL) {
        name = ap_runtime_dir_relative(pconf, apr_psprintf(ptemp,
                                       "devprov-status.%ld.shm",
                                       (long)getpid()));
        if (name != NULL) {
            apr_shm_remove(name, ptemp);
            rv = apr_shm_create(&st->shm, size, name, pconf);
        }
    }
    if (rv != APR_SUCCESS || st->shm == NULL) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "devprov: cannot create "
                     "shared memory for the status counters%s%s: running "
                     "without them", name ? " in " : "", name ? name : "");
        return NULL;
    }
    st->base = apr_shm_baseaddr_get(st->shm);
    memset(st->base, 0, size);
    st->slots = apr_pcalloc(pconf, (apr_size_t)st->nslots * sizeof(slot_t));
    st->since = apr_time_now();
    apr_pool_userdata_set(st, USERDATA_KEY, apr_pool_cleanup_null, pconf);
    return st;
}

devprov_counters_t *devprov_status_slot(devprov_status_t *st, server_rec *s)
{
    apr_pool_t *p;
    slot_t *slot;
    char label[256];
    const char *l;
    int i, dup = 1;

    if (st == NULL || st->used >= st->nslots)
        return NULL;
    p = apr_shm_pool_get(st->shm);
    dp_stats_label(label, sizeof(label), s->server_hostname,
                   s->addrs ? s->addrs->host_port : s->port);
    l = apr_pstrdup(p, label);
    /* two vhosts with one name and port: tell them apart */
    for (i = 0; i < st->used; i++)
        if (strcmp(st->slots[i].label, l) == 0) {
            l = apr_psprintf(p, "%s#%d", label, ++dup);
            i = -1;
        }
    /* httpd chains the virtual hosts in reverse order of definition:
     * show them in configuration order (the main server first) */
    i = st->used > 0 && !st->slots[0].vhost ? 1 : 0;
    memmove(&st->slots[i + 1], &st->slots[i],
            (apr_size_t)(st->used - i) * sizeof(slot_t));
    slot = &st->slots[i];
    slot->vhost = s->is_virtual;
    slot->label = l;
    slot->where = s->defn_name
                  ? apr_psprintf(p, "%s:%d", s->defn_name,
                                 s->defn_line_number)
                  : "main server";
    slot->counters = &st->base[st->used];       /* any free one */
    st->used++;
    return slot->counters;
}

void devprov_status_request(request_rec *r, devprov_counters_t *c,
                            const dp_verdict_t *v, dp_deny_t deny,
                            int verdict_reused, int idcache_hit,
                            devprov_stat_memo_t *memo)
{
    dp_stats_event_t ev;
    unsigned idx[DP_STATS_EVENT_MAX];
    const unsigned *use = idx;
    unsigned key;
    size_t n, i;

    /* httpd runs post_read_request again for internal redirects
     * (mod_rewrite [PT], mod_actions, ErrorDocument): one request, counted
     * once, as the client sent it */
    if (c == NULL || r->prev != NULL || r->main != NULL)
        return;
    /* all of the event that is not the connection's verdict itself */
    key = 1u | (unsigned)deny << 1 | (verdict_reused != 0) << 3
          | (idcache_hit != 0) << 4 | (v->revoked != 0) << 5
          | (v->conflict != 0) << 6;
    if (memo != NULL && memo->key == key) {
        n = memo->n;
        use = memo->idx;
    }
    else {
        /* what was exported (and what a log format shows) */
        dp_verdict_stats(v, &ev);
        ev.deny = deny;
        ev.verdict_reused = verdict_reused;
        ev.idcache_hit = idcache_hit;
        n = dp_stats_event(&ev, idx, DP_STATS_EVENT_MAX);
        if (memo != NULL) {
            memo->key = key;
            memo->n = (unsigned)n;
            memcpy(memo->idx, idx, n * sizeof(idx[0]));
        }
    }
    for (i = 0; i < n; i++)
        apr_atomic_inc64(&c->c[use[i]]);
}

static devprov_status_t *current(request_rec *r)
{
    void *st = NULL;

    apr_pool_userdata_get(&st, USERDATA_KEY, r->server->process->pconf);
    return st;
}

static apr_uint64_t get(const slot_t *slot, unsigned i)
{
    return apr_atomic_read64(&slot->counters->c[i]);
}

/* "devprov:<vhost>:<counter>: <n>" lines, as mod_status ?auto prints */
static void print_lines(request_rec *r, const devprov_status_t *st)
{
    int i;
    unsigned k;

    ap_rprintf(r, "devprov:since: %" APR_TIME_T_FMT "\n",
               apr_time_sec(st->since));
    for (i = 0; i < st->used; i++)
        for (k = 0; k < DP_STAT_COUNT; k++)
            ap_rprintf(r, "devprov:%s:%s: %" APR_UINT64_T_FMT "\n",
                       st->slots[i].label, dp_stats_name(k),
                       (apr_uint64_t)get(&st->slots[i], k));
}

static const char *json_str(apr_pool_t *p, const char *s)
{
    size_t n = dp_stats_json_escape(NULL, 0, s);
    char *out = apr_palloc(p, n + 1);

    dp_stats_json_escape(out, n + 1, s);
    return out;
}

static void print_json(request_rec *r, const devprov_status_t *st)
{
    char date[APR_RFC822_DATE_LEN];
    int i;
    unsigned k;

    apr_rfc822_date(date, st->since);
    ap_rprintf(r, "{\"since\": %" APR_TIME_T_FMT ", \"since_text\": \"%s\", "
               "\"vhosts\": [", apr_time_sec(st->since), date);
    for (i = 0; i < st->used; i++) {
        ap_rprintf(r, "%s\n  {\"vhost\": \"%s\", \"defined\": \"%s\", "
                   "\"counters\": {", i ? "," : "",
                   json_str(r->pool, st->slots[i].label),
                   json_str(r->pool, st->slots[i].where));
        for (k = 0; k < DP_STAT_COUNT; k++)
            ap_rprintf(r, "%s\"%s\": %" APR_UINT64_T_FMT, k ? ", " : "",
                       dp_stats_name(k),
                       (apr_uint64_t)get(&st->slots[i], k));
        ap_rputs("}}", r);
    }
    ap_rputs("\n]}\n", r);
}

static void print_html(request_rec *r, const devprov_status_t *st,
                       int flags)
{
    char date[APR_RFC822_DATE_LEN];
    int i;
    unsigned k;

    apr_rfc822_date(date, st->since);
    ap_rprintf(r, "<hr />\n<h2>devprov</h2>\n<p>Requests judged per virtual "
               "host since %s (counters start at zero at every restart)"
               "</p>\n", date);
    if (st->used == 0) {
        ap_rputs("<p>No virtual host has DevprovEngine on.</p>\n", r);
        return;
    }
    if (flags & AP_STATUS_NOTABLE) {
        for (i = 0; i < st->used; i++) {
            ap_rprintf(r, "<p><b>%s</b> (%s):", st->slots[i].label,
                       ap_escape_html(r->pool, st->slots[i].where));
            for (k = 0; k < DP_STAT_COUNT; k++)
                ap_rprintf(r, "%s %s %" APR_UINT64_T_FMT, k ? "," : "",
                           dp_stats_name(k),
                           (apr_uint64_t)get(&st->slots[i], k));
            ap_rputs("</p>\n", r);
        }
        return;
    }
    ap_rputs("<table border=\"1\">\n<tr><th>counter</th>", r);
    for (i = 0; i < st->used; i++)
        ap_rprintf(r, "<th title=\"%s\">%s</th>",
                   ap_escape_html(r->pool, st->slots[i].where),
                   st->slots[i].label);
    ap_rputs("</tr>\n", r);
    for (k = 0; k < DP_STAT_COUNT; k++) {
        ap_rprintf(r, "<tr><td>%s</td>", dp_stats_name(k));
        for (i = 0; i < st->used; i++)
            ap_rprintf(r, "<td align=\"right\">%" APR_UINT64_T_FMT "</td>",
                       (apr_uint64_t)get(&st->slots[i], k));
        ap_rputs("</tr>\n", r);
    }
    ap_rputs("</table>\n", r);
}

static void metrics_write(void *ctx, const char *data, size_t len)
{
    ap_rwrite(data, (int)len, ctx);
}

/* Prometheus text format or OpenMetrics (dp_metrics.h): each counter a
 * family (the ones by reason a family with a "reason" label), one
 * sample per virtual host; the generation's start as a gauge, so that a
 * restart is seen as one even where no counter went down.  A metric
 * more is one dp_metrics_gauge()/_counter()/_info() call per sample
 * here, all samples of a family one after the other (dp_metrics refuses
 * a family reopened: the output would be refused whole). */
static void print_metrics(request_rec *r, const devprov_status_t *st,
                          dp_metrics_format_t format)
{
    dp_metrics_sink_t sink;
    const char *family, *help, *reason;
    int i;
    unsigned k;

    dp_metrics_init(&sink, format, metrics_write, r);
    if (dp_metrics_gauge(&sink, "devprov_start_time_seconds", "Unix time "
                         "the counters started at (the last start or "
                         "restart).", NULL,
                         (double)apr_time_sec(st->since)) != 0)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov-status: "
                      "devprov_start_time_seconds refused by dp_metrics");
    for (k = 0; k < DP_STAT_COUNT; k++) {
        if (dp_metrics_stat(k, &family, &help, &reason) != 0)
            continue;
        for (i = 0; i < st->used; i++) {
            const dp_metrics_label_t labels[] = {
                {"vhost", st->slots[i].label},
                {reason ? "reason" : NULL, reason},
                {NULL, NULL}
            };
            /* refused only for a bug here (a family split or
             * misnamed): say which; dp_metrics wrote nothing for it, so
             * the rest is still an answer a scraper accepts */
            if (dp_metrics_counter(&sink, family, help, labels,
                                   (uint64_t)get(&st->slots[i], k)) != 0)
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov-status:"
                              " counter %s refused by dp_metrics",
                              dp_stats_name(k));
        }
    }
    /* where each virtual host is defined, as an info metric (a constant
     * 1 with the text as a label; a path may hold any byte: the one
     * label here that needs escaping) */
    for (i = 0; i < st->used; i++) {
        const dp_metrics_label_t labels[] = {
            {"vhost", st->slots[i].label},
            {"defined", st->slots[i].where},
            {NULL, NULL}
        };
        if (dp_metrics_info(&sink, "devprov_vhost", "The virtual hosts "
                            "with DevprovEngine on: where each is defined "
                            "(file:line).", labels) != 0)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov-status: "
                          "devprov_vhost_info refused by dp_metrics");
    }
    /* DevprovFleet's gauges, if it is configured */
    devprov_fleet_metrics(r, &sink);
    dp_metrics_end(&sink);
}

/* mod_status's /server-status (HTML, or lines with ?auto) */
static int status_hook(request_rec *r, int flags)
{
    devprov_status_t *st = current(r);

    if (st == NULL)
        return OK;
    if (flags & AP_STATUS_SHORT)
        print_lines(r, st);
    else
        print_html(r, st, flags);
    return OK;
}

/* SetHandler devprov-status: text/plain lines, JSON with ?json, the
 * Prometheus text format with ?prometheus, OpenMetrics with
 * ?openmetrics (or ?format=<name>) */
static DEVPROV_NOINLINE int status_page(request_rec *r)
{
    devprov_status_t *st;
    dp_output_t out;

    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    out = dp_metrics_output(r->args);
    if (out == DP_OUTPUT_UNKNOWN) {
        /* a scraper configured with a typo gets an error, not lines it
         * cannot parse */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov-status: "
                      "unknown format in \"%s\" (text, json, prometheus, "
                      "openmetrics)", r->args);
        return HTTP_BAD_REQUEST;
    }
    st = current(r);
    if (st == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov-status: no "
                      "counters (no shared memory at startup)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    switch (out) {
    case DP_OUTPUT_JSON:
        ap_set_content_type(r, "application/json");
        break;
    case DP_OUTPUT_PROMETHEUS:
        ap_set_content_type(r, dp_metrics_content_type(
                                   DP_METRICS_PROMETHEUS));
        break;
    case DP_OUTPUT_OPENMETRICS:
        ap_set_content_type(r, dp_metrics_content_type(
                                   DP_METRICS_OPENMETRICS));
        break;
    default:
        ap_set_content_type(r, "text/plain; charset=us-ascii");
        break;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only)
        return OK;
    switch (out) {
    case DP_OUTPUT_JSON:
        print_json(r, st);
        break;
    case DP_OUTPUT_PROMETHEUS:
        print_metrics(r, st, DP_METRICS_PROMETHEUS);
        break;
    case DP_OUTPUT_OPENMETRICS:
        print_metrics(r, st, DP_METRICS_OPENMETRICS);
        break;
    default:
        print_lines(r, st);
        break;
    }
    return OK;
}

static int status_handler(request_rec *r)
{
    return devprov_is_handler(r, "devprov-status") ? status_page(r)
                                                   : DECLINED;
}

void devprov_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
