/* mod_devprov_fleetpage.c - DevprovFleet's record shown: the fleet page
 * (SetHandler devprov-fleet: HTML, ?json) and the fleet's gauges in the
 * devprov-status handler's Prometheus and OpenMetrics output.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The record is read by mod_devprov_fleet.c (devprov_fleet_read); this
 * file only shows it.  Everything a phone sent (User-Agent, address) is
 * stored as sent and shown through dp_fleet_html_text/dp_fleet_json_text:
 * text, never markup; the page carries no script and a
 * Content-Security-Policy that would stop one.
 */
#include <string.h>

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

#define DEFAULT_LIMIT 500
#define MAX_LIMIT 100000

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

static void print_json(request_rec *r, const devprov_fleet_view_t *w)
{
    const dp_fleet_summary_t *s = &w->sum;
    const dp_fleet_info_t *info = &w->info;
    size_t i;
    unsigned k;
    int sep;

    ap_rprintf(r, "{\"generated\": %ld, \"stale_days\": %ld, "
               "\"capacity\": %lu, \"created\": %ld, \"phones_recorded\": %lu,"
               " \"evicted\": %" APR_UINT64_T_FMT ", \"dropped_updates\": %"
               APR_UINT64_T_FMT ",\n \"states\": {",
               (long)w->now, (long)(w->stale / 86400),
               (unsigned long)info->capacity, (long)info->created,
               (unsigned long)s->phones, info->evictions, info->dropped);
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
               (unsigned long)(w->nwait + w->wait_more));
    for (i = 0; i < w->nwait; i++)
        json_rec(r, &w->wait[i], w->now, 0, i > 0);
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

static void print_html(request_rec *r, const devprov_fleet_view_t *w)
{
    const dp_fleet_summary_t *s = &w->sum;
    const dp_fleet_info_t *info = &w->info;
    size_t i, top = 1;
    unsigned k;
    int any = 0;

    ap_rputs(HEAD, r);
    ap_rprintf(r, "<h1>devprov fleet</h1>\n<p id=\"summary\">"
               "<span id=\"phones-recorded\">%lu</span> phones recorded "
               "(room for %lu; record kept since %s), "
               "<span id=\"waiting-total\">%lu</span> waiting for approval; "
               "generated %s.</p>\n", (unsigned long)s->phones,
               (unsigned long)info->capacity, when(r->pool, info->created),
               (unsigned long)(w->nwait + w->wait_more), when(r->pool, w->now));

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
    for (i = 0; i < w->nwait; i++)
        html_row(r, &w->wait[i], w->now, 0, 1);
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

/* The fleet's gauges, for the devprov-status handler's Prometheus and
 * OpenMetrics formats: the same numbers as the page's summary. */
void devprov_fleet_metrics(request_rec *r, dp_metrics_sink_t *sink)
{
    devprov_fleet_view_t w;
    unsigned k;
    int i;

    memset(&w, 0, sizeof(w));
    w.now = (time_t)apr_time_sec(r->request_time);
    w.state = -1;
    w.limit = 0;
    if (devprov_fleet_read(r, &w) != 0)
        return;
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
                     NULL, (double)(w.nwait + w.wait_more));
    dp_metrics_gauge(sink, "devprov_fleet_capacity", "Phones the record has "
                     "room for.", NULL, (double)w.info.capacity);
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
                       "seen of a set).", NULL, w.info.evictions);
    dp_metrics_counter(sink, "devprov_fleet_dropped_updates", "Requests not "
                       "recorded because their entry stayed busy.", NULL,
                       w.info.dropped);
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

static DEVPROV_NOINLINE int fleet_page(request_rec *r)
{
    devprov_fleet_view_t w;
    const char *v;
    int k;

    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    memset(&w, 0, sizeof(w));
    w.now = (time_t)apr_time_sec(r->request_time);
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
    if (devprov_fleet_read(r, &w) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov-fleet: no "
                      "record: DevprovFleet is not configured");
        return HTTP_NOT_FOUND;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (arg(r, "json") != NULL) {
        ap_set_content_type(r, "application/json");
        if (!r->header_only)
            print_json(r, &w);
    }
    else {
        ap_set_content_type(r, "text/html; charset=utf-8");
        /* nothing on the page runs or loads: what a phone sent stays
         * text even if an escape were missed */
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        if (!r->header_only)
            print_html(r, &w);
    }
    return OK;
}

static int fleet_handler(request_rec *r)
{
    return devprov_is_handler(r, "devprov-fleet") ? fleet_page(r) : DECLINED;
}

void devprov_fleet_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(fleet_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
