/* dp_metrics.h - metrics in the Prometheus text exposition format (0.0.4)
 * and in OpenMetrics 1.0.0, and devprov's status counters as metrics.
 *
 * Part of devprov's pure-C core: libc only, no httpd headers.  The glue
 * (mod_devprov_status.c) makes a sink that writes through a callback
 * (ap_rwrite) and calls dp_metrics_counter()/dp_metrics_gauge() for each
 * sample; this unit writes the names, the # HELP and # TYPE lines, the
 * escaped labels and the values, so that a scraper parses what we mean.
 *
 * The two formats differ in details that parsers check:
 *
 *                      Prometheus text 0.0.4     OpenMetrics 1.0.0
 *   counter family     devprov_requests_total    devprov_requests
 *   (HELP/TYPE lines)
 *   counter sample     devprov_requests_total    devprov_requests_total
 *   info family        devprov_vhost_info gauge  devprov_vhost info
 *   info sample        devprov_vhost_info        devprov_vhost_info
 *   HELP escapes       \\ and \n                 \\, \n and \"
 *   label value        \\, \n and \"             \\, \n and \"
 *   end                (nothing)                 "# EOF" (mandatory)
 *   (both are UTF-8: a byte that is not is written as U+FFFD)
 *
 * Both need every sample of a family together after its one HELP/TYPE
 * header: a caller writes a family's samples in one run (for a counter
 * per virtual host: for each counter, for each virtual host).  The sink
 * refuses to reopen a family it has closed, or to change a family's type,
 * rather than write output a scraper rejects as a whole.
 */
#ifndef DP_METRICS_H
#define DP_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DP_METRICS_PROMETHEUS = 0,  /* text/plain; version=0.0.4 */
    DP_METRICS_OPENMETRICS      /* application/openmetrics-text;
                                 * version=1.0.0 */
} dp_metrics_format_t;

/* The Content-Type of an answer in FORMAT */
const char *dp_metrics_content_type(dp_metrics_format_t format);

/* Where a sink's output goes: LEN bytes at DATA (not NUL-terminated) */
typedef void (*dp_metrics_write_fn)(void *ctx, const char *data,
                                    size_t len);

/* Longest metric name, with "_total" (longer names are refused), and
 * the families a sink remembers to refuse reopening one (beyond that
 * many, a reopened family is not detected) */
#define DP_METRICS_NAME_MAX 96
#define DP_METRICS_FAMILIES_MAX 64

typedef enum {
    DP_METRICS_COUNTER = 0,
    DP_METRICS_GAUGE,
    DP_METRICS_INFO
} dp_metrics_type_t;

/* A sink: on the caller's stack (about 6 KiB), set up by
 * dp_metrics_init(); its fields are this unit's. */
typedef struct dp_metrics_sink {
    dp_metrics_format_t format;
    dp_metrics_write_fn write;
    void *ctx;
    int ended;
    unsigned nfamilies;         /* families[nfamilies - 1] is open */
    unsigned char types[DP_METRICS_FAMILIES_MAX];
    char families[DP_METRICS_FAMILIES_MAX][DP_METRICS_NAME_MAX];
} dp_metrics_sink_t;

/* A label: NAME ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", which
 * Prometheus reserves) and VALUE (any bytes but NUL: backslash, double
 * quote and newline are escaped here, and each byte that is not part of
 * valid UTF-8 becomes U+FFFD, as both formats are UTF-8).  A
 * sample's labels are an array ended by an entry with NAME NULL. */
typedef struct {
    const char *name;
    const char *value;
} dp_metrics_label_t;

void dp_metrics_init(dp_metrics_sink_t *sink, dp_metrics_format_t format,
                     dp_metrics_write_fn write, void *ctx);

/* One counter sample: NAME is the family's name ([a-zA-Z_:][a-zA-Z0-9_:]*),
 * with or without "_total" (the sample's name has it in both formats);
 * HELP (NULL: no HELP line) is written with the family's first sample;
 * LABELS may be NULL.  Returns 0, or -1 with nothing written: a bad name
 * or label name, a label given twice, NAME the name of an earlier family
 * or of the open one with another type, a family or sample name that is
 * another family's sample or family name (a gauge "x_total" beside the
 * counter "x"), or the sink ended. */
int dp_metrics_counter(dp_metrics_sink_t *sink, const char *name,
                       const char *help, const dp_metrics_label_t *labels,
                       uint64_t value);

/* One gauge sample, the same way (NAME as it is; NaN and infinities are
 * written as the formats spell them) */
int dp_metrics_gauge(dp_metrics_sink_t *sink, const char *name,
                     const char *help, const dp_metrics_label_t *labels,
                     double value);

/* One info sample: a constant 1 whose labels are the information (where
 * a virtual host is defined, a version).  OpenMetrics has a type for it
 * (# TYPE NAME info, the sample NAME_info); the Prometheus format has
 * not: a gauge NAME_info, as its exporters write.  NAME with or without
 * "_info"; otherwise as dp_metrics_counter(). */
int dp_metrics_info(dp_metrics_sink_t *sink, const char *name,
                    const char *help, const dp_metrics_label_t *labels);

/* The end of the answer: "# EOF\n" in OpenMetrics, nothing in the
 * Prometheus format.  Later samples are refused. */
void dp_metrics_end(dp_metrics_sink_t *sink);

/* A sink's callback writing into a caller's buffer (CTX: a dp_metrics_buf_t),
 * kept NUL-terminated; what does not fit is dropped and TRUNCATED set. */
typedef struct {
    char *buf;
    size_t size, len;
    int truncated;
} dp_metrics_buf_t;
void dp_metrics_buf_write(void *ctx, const char *data, size_t len);

/* S escaped as a label value (\\, \" and \n, U+FFFD for bytes that are
 * not UTF-8), NUL-terminated in at most OUTLEN bytes; returns the length
 * needed (as snprintf). */
size_t dp_metrics_escape_label(char *out, size_t outlen, const char *s);

/* Status counter I (dp_stats.h) as a metric: its family (without
 * "_total"), its HELP text and, for the counters by reason
 * (reason_<r>, denied_<r>, denied_bind_path), the value of its "reason"
 * label (NULL for the others).  Returns -1 if I is out of range.  The
 * families are in the counters' order, each family's counters together,
 * so writing counter by counter keeps families whole. */
int dp_metrics_stat(unsigned i, const char **family, const char **help,
                    const char **reason);

/* The handler's output for a query string (NULL: none): "json" or
 * "format=json", "prometheus" or "format=prometheus", "openmetrics" or
 * "format=openmetrics", "format=text", among other '&'-separated
 * arguments, which are ignored; the first that names a format counts.
 * A "format=" naming no format gives DP_OUTPUT_UNKNOWN. */
typedef enum {
    DP_OUTPUT_TEXT = 0,         /* devprov:<vhost>:<counter>: <n> lines */
    DP_OUTPUT_JSON,
    DP_OUTPUT_PROMETHEUS,
    DP_OUTPUT_OPENMETRICS,
    DP_OUTPUT_UNKNOWN
} dp_output_t;
dp_output_t dp_metrics_output(const char *args);

#endif
