/* dp_metrics.c - metrics in the Prometheus text format and OpenMetrics,
 * and devprov's status counters as metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_metrics.h"
#include "dp_stats.h"

const char *dp_metrics_content_type(dp_metrics_format_t format)
{
    return format == DP_METRICS_OPENMETRICS
           ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
           : "text/plain; version=0.0.4; charset=utf-8";
}

void dp_metrics_init(dp_metrics_sink_t *sink, dp_metrics_format_t format,
                     dp_metrics_write_fn write, void *ctx)
{
    memset(sink, 0, sizeof(*sink));
    sink->format = format;
    sink->write = write;
    sink->ctx = ctx;
}

static void put(dp_metrics_sink_t *sink, const char *s, size_t n)
{
    if (n > 0)
        sink->write(sink->ctx, s, n);
}

static void puts_(dp_metrics_sink_t *sink, const char *s)
{
    put(sink, s, strlen(s));
}

static int is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int valid_name(const char *s)
{
    size_t i;

    if (s == NULL || !(is_alpha_(s[0]) || s[0] == ':'))
        return 0;
    for (i = 1; s[i] != '\0'; i++)
        if (!(is_alpha_(s[i]) || is_digit(s[i]) || s[i] == ':'))
            return 0;
    return 1;
}

static int valid_label_name(const char *s)
{
    size_t i;

    if (s == NULL || !is_alpha_(s[0]) || strncmp(s, "__", 2) == 0)
        return 0;
    for (i = 1; s[i] != '\0'; i++)
        if (!(is_alpha_(s[i]) || is_digit(s[i])))
            return 0;
    return 1;
}

static int valid_labels(const dp_metrics_label_t *labels)
{
    size_t i, j;

    for (i = 0; labels != NULL && labels[i].name != NULL; i++) {
        if (!valid_label_name(labels[i].name) || labels[i].value == NULL)
            return 0;
        for (j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return 0;
    }
    return 1;
}

/* The length of the UTF-8 sequence at S (1 to 4), or 0 if S does not
 * start a valid one (a stray continuation byte, an overlong form, a
 * surrogate, beyond U+10FFFF, cut short: the NUL fails every
 * continuation test, so nothing is read past the end) */
static size_t utf8_len(const unsigned char *s)
{
#define CONT(b) (((b) & 0xC0) == 0x80)
    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xC2)
        return 0;
    if (s[0] < 0xE0)
        return CONT(s[1]) ? 2 : 0;
    if (s[0] < 0xF0) {
        if (!CONT(s[1]) || !CONT(s[2]) || (s[0] == 0xE0 && s[1] < 0xA0)
            || (s[0] == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (s[0] < 0xF5) {
        if (!CONT(s[1]) || !CONT(s[2]) || !CONT(s[3])
            || (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
#undef CONT
}

/* S escaped, through WRITE: backslash and newline always, the double
 * quote if QUOTE (label values in both formats, HELP in OpenMetrics
 * only: the Prometheus text parser rejects \" in HELP as an unknown
 * escape).  Both formats are UTF-8, and Prometheus' parser rejects the
 * whole answer for one label value that is not ("invalid label value"):
 * a byte that is not part of valid UTF-8 (a file name in Latin-1)
 * becomes U+FFFD. */
static void escape_to(dp_metrics_write_fn write, void *ctx, const char *s,
                      int quote)
{
    const char *run = s;

    while (*s != '\0') {
        size_t n = utf8_len((const unsigned char *)s);
        const char *esc = n == 0 ? "\xef\xbf\xbd"
                          : *s == '\\' ? "\\\\"
                          : *s == '\n' ? "\\n"
                          : *s == '"' && quote ? "\\\"" : NULL;

        if (esc == NULL) {
            s += n;
            continue;
        }
        if (s > run)
            write(ctx, run, (size_t)(s - run));
        write(ctx, esc, strlen(esc));
        s++;
        run = s;
    }
    if (s > run)
        write(ctx, run, (size_t)(s - run));
}

static void put_escaped(dp_metrics_sink_t *sink, const char *s, int quote)
{
    escape_to(sink->write, sink->ctx, s, quote);
}

/* The suffix of a TYPE's samples: the family "devprov_requests" has the
 * samples "devprov_requests_total" */
static const char *suffix(dp_metrics_type_t type)
{
    return type == DP_METRICS_COUNTER ? "_total"
           : type == DP_METRICS_INFO ? "_info" : "";
}

/* NAME (LEN bytes) with SUFFIX into OUT (DP_METRICS_NAME_MAX) */
static void joined(char *out, const char *name, size_t len, const char *sfx)
{
    memcpy(out, name, len);
    strcpy(out + len, sfx);
}

/* Do two families clash: the same family, or a family's name that is
 * another's sample name ("x_total" beside the counter "x"), which both
 * formats forbid */
static int clash(const char *fam_a, dp_metrics_type_t type_a,
                 const char *fam_b, dp_metrics_type_t type_b)
{
    char a[DP_METRICS_NAME_MAX], b[DP_METRICS_NAME_MAX];

    joined(a, fam_a, strlen(fam_a), suffix(type_a));
    joined(b, fam_b, strlen(fam_b), suffix(type_b));
    return strcmp(fam_a, fam_b) == 0 || strcmp(a, b) == 0
           || strcmp(a, fam_b) == 0 || strcmp(fam_a, b) == 0;
}

/* Opens the family NAME (LEN bytes) of TYPE if it is not the open one:
 * its HELP and TYPE lines.  -1 if it clashes with a closed family or is
 * the open one's name with another type. */
static int family(dp_metrics_sink_t *sink, const char *name, size_t len,
                  dp_metrics_type_t type, const char *help)
{
    /* the header names the family: in the Prometheus format, which has
     * neither family names nor an info type, the samples' name */
    int om = sink->format == DP_METRICS_OPENMETRICS;
    const char *kind = type == DP_METRICS_COUNTER ? "counter"
                       : type == DP_METRICS_INFO && om ? "info" : "gauge";
    char fam[DP_METRICS_NAME_MAX], head[DP_METRICS_NAME_MAX];
    unsigned i, slot;

    joined(fam, name, len, "");
    joined(head, name, len, om ? "" : suffix(type));
    if (sink->nfamilies > 0
        && strcmp(sink->families[sink->nfamilies - 1], fam) == 0
        && sink->types[sink->nfamilies - 1] == type)
        return 0;
    for (i = 0; i < sink->nfamilies; i++)
        if (clash(sink->families[i], (dp_metrics_type_t)sink->types[i],
                  fam, type))
            return -1;
    /* beyond DP_METRICS_FAMILIES_MAX, the open one at least (in the last
     * place) */
    slot = sink->nfamilies < DP_METRICS_FAMILIES_MAX ? sink->nfamilies++
           : DP_METRICS_FAMILIES_MAX - 1;
    strcpy(sink->families[slot], fam);
    sink->types[slot] = (unsigned char)type;
    if (help != NULL) {
        puts_(sink, "# HELP ");
        puts_(sink, head);
        puts_(sink, " ");
        put_escaped(sink, help, om);
        puts_(sink, "\n");
    }
    puts_(sink, "# TYPE ");
    puts_(sink, head);
    puts_(sink, " ");
    puts_(sink, kind);
    puts_(sink, "\n");
    return 0;
}

static void put_labels(dp_metrics_sink_t *sink,
                       const dp_metrics_label_t *labels)
{
    size_t i;

    if (labels == NULL || labels[0].name == NULL)
        return;
    puts_(sink, "{");
    for (i = 0; labels[i].name != NULL; i++) {
        puts_(sink, i ? ",": "");
        puts_(sink, labels[i].name);
        puts_(sink, "=\"");
        put_escaped(sink, labels[i].value, 1);
        puts_(sink, "\"");
    }
    puts_(sink, "}");
}

/* Checks NAME (of a family of TYPE, with or without its samples'
 * suffix) and the labels, opens the family, writes the sample's name
 * and labels.  -1 (nothing written) if any is wrong. */
static int begin(dp_metrics_sink_t *sink, const char *name,
                 dp_metrics_type_t type, const char *help,
                 const dp_metrics_label_t *labels)
{
    const char *sfx = suffix(type);
    size_t len, slen = strlen(sfx);

    if (sink->ended || !valid_name(name) || !valid_labels(labels))
        return -1;
    len = strlen(name);
    if (slen > 0 && len > slen && strcmp(name + len - slen, sfx) == 0)
        len -= slen;
    if (len + slen >= DP_METRICS_NAME_MAX)
        return -1;
    if (family(sink, name, len, type, help) != 0)
        return -1;
    put(sink, name, len);
    puts_(sink, sfx);
    put_labels(sink, labels);
    return 0;
}

int dp_metrics_counter(dp_metrics_sink_t *sink, const char *name,
                       const char *help, const dp_metrics_label_t *labels,
                       uint64_t value)
{
    char num[32];

    if (begin(sink, name, DP_METRICS_COUNTER, help, labels) != 0)
        return -1;
    snprintf(num, sizeof(num), " %llu\n", (unsigned long long)value);
    puts_(sink, num);
    return 0;
}

int dp_metrics_info(dp_metrics_sink_t *sink, const char *name,
                    const char *help, const dp_metrics_label_t *labels)
{
    if (begin(sink, name, DP_METRICS_INFO, help, labels) != 0)
        return -1;
    puts_(sink, " 1\n");
    return 0;
}

/* V as both formats spell a float: the shortest of %.15g and %.17g that
 * reads back as V, with "." as the decimal point whatever LC_NUMERIC
 * says (the formats want "."; a module may have set a locale) */
static void format_double(char *out, size_t outlen, double v)
{
    char *p, *q;

    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(out, outlen, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, outlen, "%.17g", v);
    /* the decimal point is what is neither digit, sign nor exponent */
    for (p = out; *p != '\0'; p++)
        if (!(is_digit(*p) || *p == '-' || *p == '+' || *p == 'e'))
            break;
    if (*p == '\0')
        return;
    for (q = p; *q != '\0' && !(is_digit(*q) || *q == 'e'); q++)
        ;
    *p = '.';
    memmove(p + 1, q, strlen(q) + 1);
}

int dp_metrics_gauge(dp_metrics_sink_t *sink, const char *name,
                     const char *help, const dp_metrics_label_t *labels,
                     double value)
{
    char num[40];

    if (begin(sink, name, DP_METRICS_GAUGE, help, labels) != 0)
        return -1;
    format_double(num, sizeof(num), value);
    puts_(sink, " ");
    puts_(sink, num);
    puts_(sink, "\n");
    return 0;
}

void dp_metrics_end(dp_metrics_sink_t *sink)
{
    if (sink->ended)
        return;
    sink->ended = 1;
    if (sink->format == DP_METRICS_OPENMETRICS)
        puts_(sink, "# EOF\n");
}

void dp_metrics_buf_write(void *ctx, const char *data, size_t len)
{
    dp_metrics_buf_t *b = ctx;
    size_t room;

    if (b->size == 0) {
        b->truncated = len > 0;
        return;
    }
    room = b->size - 1 - b->len;
    if (len > room) {
        len = room;
        b->truncated = 1;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
}

/* dp_metrics_escape_label()'s writer: as snprintf, counts all, keeps
 * what fits */
typedef struct {
    char *out;
    size_t outlen, n;
} counted_t;

static void counted_write(void *ctx, const char *data, size_t len)
{
    counted_t *c = ctx;
    size_t i;

    for (i = 0; i < len; i++, c->n++)
        if (c->n + 1 < c->outlen)
            c->out[c->n] = data[i];
}

size_t dp_metrics_escape_label(char *out, size_t outlen, const char *s)
{
    counted_t c = {out, outlen, 0};

    escape_to(counted_write, &c, s, 1);
    if (outlen > 0)
        out[c.n < outlen ? c.n : outlen - 1] = '\0';
    return c.n;
}

/* -- devprov's status counters ----------------------------------------- */

/* the counters before the ones by reason: family and HELP, in
 * dp_stats.h's order */
static const char *const top[DP_STAT_REASON][2] = {
    {"devprov_requests", "Initial requests devprov judged."},
    {"devprov_verified", "Requests with DEVICE_VERIFIED=1."},
    {"devprov_verified_expired", "Verified requests with "
     "DEVICE_CERT_VALIDITY=expired."},
    {"devprov_verified_not_yet_valid", "Verified requests with "
     "DEVICE_CERT_VALIDITY=not-yet-valid."},
    {"devprov_verified_pinned", "Verified requests with DEVICE_PINNED=1 "
     "(recognised by their allowlist pin)."},
    {"devprov_verified_password", "Verified requests with "
     "DEVICE_IDENTIFIED_BY=password (DevprovUserIdentity)."},
    {"devprov_listed", "Requests with DEVICE_ALLOWLISTED=1."},
    {"devprov_denied", "Requests refused by devprov itself (DevprovDeny, "
     "DevprovBindPath, DevprovAllowlistSQL unavailable=)."},
    {"devprov_verdicts_made", "Requests for which the connection's verdict "
     "was made."},
    {"devprov_verdicts_reused", "Requests that reused their connection's "
     "verdict."},
    {"devprov_idcache_hits", "Verdicts made from an identity in the "
     "process's cache."},
};

int dp_metrics_stat(unsigned i, const char **family_, const char **help,
                    const char **reason)
{
    const char *name = dp_stats_name(i);

    if (name == NULL)
        return -1;
    if (i < DP_STAT_REASON) {
        *family_ = top[i][0];
        *help = top[i][1];
        *reason = NULL;
    }
    else if (i < DP_STAT_DENIED_BY) {
        *family_ = "devprov_reason";
        *help = "Requests judged, by the category of their DEVICE_REASON.";
        *reason = name + strlen("reason_");
    }
    else {
        /* denied_<r> and denied_bind_path */
        *family_ = "devprov_denied_by_reason";
        *help = "Requests refused by devprov itself, by reason "
                "(sum: devprov_denied_total).";
        *reason = name + strlen("denied_");
    }
    return 0;
}

/* -- the handler's query string ------------------------------------------ */

static dp_output_t output_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        dp_output_t out;
    } names[] = {
        {"text", DP_OUTPUT_TEXT}, {"json", DP_OUTPUT_JSON},
        {"prometheus", DP_OUTPUT_PROMETHEUS},
        {"openmetrics", DP_OUTPUT_OPENMETRICS},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
            return names[i].out;
    return DP_OUTPUT_UNKNOWN;
}

dp_output_t dp_metrics_output(const char *args)
{
    const char *a = args, *end;

    while (a != NULL && *a != '\0') {
        size_t n;
        dp_output_t o;

        end = strchr(a, '&');
        n = end ? (size_t)(end - a) : strlen(a);
        if (n >= 7 && memcmp(a, "format=", 7) == 0)
            return output_name(a + 7, n - 7);
        /* the short forms; "?text" was never one (it gave text anyway) */
        o = output_name(a, n);
        if (o != DP_OUTPUT_UNKNOWN && o != DP_OUTPUT_TEXT)
            return o;
        a = end ? end + 1 : NULL;
    }
    return DP_OUTPUT_TEXT;
}
