/* test_metrics.c - dp_metrics: the Prometheus text format and
 * OpenMetrics, escaping, families, devprov's counters as metrics and the
 * handler's format option. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_metrics.h"
#include "src/dp_stats.h"

typedef struct {
    dp_metrics_sink_t sink;
    dp_metrics_buf_t b;
    char mem[8192];
} out_t;

static void out_init(out_t *o, dp_metrics_format_t f)
{
    o->b.buf = o->mem;
    o->b.size = sizeof(o->mem);
    o->b.len = 0;
    o->b.truncated = 0;
    o->mem[0] = '\0';
    dp_metrics_init(&o->sink, f, dp_metrics_buf_write, &o->b);
}

static const dp_metrics_label_t *vhost(const char *v)
{
    static dp_metrics_label_t l[2];

    l[0].name = "vhost";
    l[0].value = v;
    l[1].name = NULL;
    l[1].value = NULL;
    return l;
}

static void test_counter_prometheus(void **state)
{
    out_t o;

    (void)state;
    out_init(&o, DP_METRICS_PROMETHEUS);
    assert_int_equal(dp_metrics_counter(&o.sink, "devprov_requests",
                                        "Requests.", vhost("a:443"), 3), 0);
    /* the same family again: no second header; "_total" may be given */
    assert_int_equal(dp_metrics_counter(&o.sink, "devprov_requests_total",
                                        "Requests.", vhost("b:443"),
                                        UINT64_MAX), 0);
    dp_metrics_end(&o.sink);
    assert_string_equal(o.mem,
        "# HELP devprov_requests_total Requests.\n"
        "# TYPE devprov_requests_total counter\n"
        "devprov_requests_total{vhost=\"a:443\"} 3\n"
        "devprov_requests_total{vhost=\"b:443\"} 18446744073709551615\n");
    assert_false(o.b.truncated);
}

static void test_counter_openmetrics(void **state)
{
    out_t o;

    (void)state;
    out_init(&o, DP_METRICS_OPENMETRICS);
    assert_int_equal(dp_metrics_counter(&o.sink, "devprov_requests",
                                        "Requests.", vhost("a:443"), 3), 0);
    assert_int_equal(dp_metrics_gauge(&o.sink, "devprov_start_time_seconds",
                                      "Start.", NULL, 1795446245.0), 0);
    dp_metrics_end(&o.sink);
    dp_metrics_end(&o.sink);                    /* once only */
    /* the family is named without "_total", the sample with it */
    assert_string_equal(o.mem,
        "# HELP devprov_requests Requests.\n"
        "# TYPE devprov_requests counter\n"
        "devprov_requests_total{vhost=\"a:443\"} 3\n"
        "# HELP devprov_start_time_seconds Start.\n"
        "# TYPE devprov_start_time_seconds gauge\n"
        "devprov_start_time_seconds 1795446245\n"
        "# EOF\n");
    /* nothing after the end */
    assert_int_equal(dp_metrics_gauge(&o.sink, "x", NULL, NULL, 1), -1);
    assert_string_equal(o.mem + strlen(o.mem) - 6, "# EOF\n");
}

static void test_info(void **state)
{
    out_t o;
    const dp_metrics_label_t l[] = {{"defined", "a.conf:3"}, {NULL, NULL}};

    (void)state;
    /* OpenMetrics' info type; "_info" may be given */
    out_init(&o, DP_METRICS_OPENMETRICS);
    assert_int_equal(dp_metrics_info(&o.sink, "devprov_vhost", "Where.", l),
                     0);
    assert_int_equal(dp_metrics_info(&o.sink, "devprov_vhost_info", "Where.",
                                     l), 0);
    dp_metrics_end(&o.sink);
    assert_string_equal(o.mem,
        "# HELP devprov_vhost Where.\n"
        "# TYPE devprov_vhost info\n"
        "devprov_vhost_info{defined=\"a.conf:3\"} 1\n"
        "devprov_vhost_info{defined=\"a.conf:3\"} 1\n"
        "# EOF\n");
    /* the Prometheus format has no info type: a gauge named _info */
    out_init(&o, DP_METRICS_PROMETHEUS);
    assert_int_equal(dp_metrics_info(&o.sink, "devprov_vhost", "Where.", l),
                     0);
    assert_string_equal(o.mem,
        "# HELP devprov_vhost_info Where.\n"
        "# TYPE devprov_vhost_info gauge\n"
        "devprov_vhost_info{defined=\"a.conf:3\"} 1\n");
}

/* families whose names would be confused with each other's samples */
static void test_clashes(void **state)
{
    out_t o;

    (void)state;
    out_init(&o, DP_METRICS_OPENMETRICS);
    assert_int_equal(dp_metrics_counter(&o.sink, "x", NULL, NULL, 1), 0);
    assert_int_equal(dp_metrics_gauge(&o.sink, "x_total", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_gauge(&o.sink, "x", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_info(&o.sink, "x", NULL, NULL), -1);
    assert_int_equal(dp_metrics_gauge(&o.sink, "y_info", NULL, NULL, 1), 0);
    assert_int_equal(dp_metrics_info(&o.sink, "y", NULL, NULL), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "y_info", NULL, NULL, 1),
                     -1);
    /* the open gauge y_info goes on */
    assert_int_equal(dp_metrics_gauge(&o.sink, "y_info", NULL, NULL, 2), 0);
    /* the counter "x_total_total" is the family "x_total": the name of
     * x's samples */
    assert_int_equal(dp_metrics_counter(&o.sink, "x_total_total", NULL,
                                        NULL, 1), -1);
    assert_string_equal(o.mem, "# TYPE x counter\nx_total 1\n"
                        "# TYPE y_info gauge\ny_info 1\ny_info 2\n");
}

static void test_escaping(void **state)
{
    out_t o;
    const dp_metrics_label_t l[] = {
        {"path", "C:\\dir\n\"x\""}, {"b", ""}, {NULL, NULL}
    };

    (void)state;
    out_init(&o, DP_METRICS_PROMETHEUS);
    assert_int_equal(dp_metrics_gauge(&o.sink, "m", "a \\ \"b\"\nc", l, 1),
                     0);
    /* HELP: \\ and \n, a quote as it is (the text parser knows no \") */
    assert_string_equal(o.mem,
        "# HELP m a \\\\ \"b\"\\nc\n"
        "# TYPE m gauge\n"
        "m{path=\"C:\\\\dir\\n\\\"x\\\"\",b=\"\"} 1\n");
    out_init(&o, DP_METRICS_OPENMETRICS);
    assert_int_equal(dp_metrics_gauge(&o.sink, "m", "a \\ \"b\"\nc", l, 1),
                     0);
    assert_string_equal(o.mem,
        "# HELP m a \\\\ \\\"b\\\"\\nc\n"
        "# TYPE m gauge\n"
        "m{path=\"C:\\\\dir\\n\\\"x\\\"\",b=\"\"} 1\n");
}

static void test_escape_label(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(dp_metrics_escape_label(buf, sizeof(buf), "a\"b\\c\nd"),
                     10);
    assert_string_equal(buf, "a\\\"b\\\\c\\nd");
    assert_int_equal(dp_metrics_escape_label(buf, 4, "a\"b\\c"), 7);
    assert_string_equal(buf, "a\\\"");
    assert_int_equal(dp_metrics_escape_label(buf, sizeof(buf), "plain"), 5);
    assert_string_equal(buf, "plain");
    assert_int_equal(dp_metrics_escape_label(NULL, 0, "\\\\"), 4);
}

/* what is not UTF-8 becomes U+FFFD, byte by byte; UTF-8 stays */
static void test_utf8(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"caf\xc3\xa9", "caf\xc3\xa9"},                 /* U+00E9 */
        {"\xe2\x82\xac \xf0\x9f\x93\x9e", "\xe2\x82\xac \xf0\x9f\x93\x9e"},
        {"\xef\xbf\xbf", "\xef\xbf\xbf"},               /* U+FFFF */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},       /* U+10FFFF */
        {"a\xe9z", "a\xef\xbf\xbdz"},                   /* Latin-1 */
        {"\x80", "\xef\xbf\xbd"},                       /* stray */
        {"\xc3", "\xef\xbf\xbd"},                       /* cut short */
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},       /* overlong / */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},  /* D800 */
        {"\xf4\x90\x80\x80",                            /* > U+10FFFF */
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xff\"", "\xef\xbf\xbd\\\""},
    };
    char buf[64];
    size_t i;
    out_t o;
    const dp_metrics_label_t l[] = {{"v", "x\xff"}, {NULL, NULL}};

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dp_metrics_escape_label(buf, sizeof(buf),
                                                 cases[i].in),
                         strlen(cases[i].out));
        assert_string_equal(buf, cases[i].out);
    }
    /* and in a sample's label and HELP */
    out_init(&o, DP_METRICS_OPENMETRICS);
    assert_int_equal(dp_metrics_gauge(&o.sink, "g", "h\xfe", l, 1), 0);
    assert_string_equal(o.mem, "# HELP g h\xef\xbf\xbd\n# TYPE g gauge\n"
                        "g{v=\"x\xef\xbf\xbd\"} 1\n");
}

static void test_refused(void **state)
{
    out_t o;
    const dp_metrics_label_t twice[] = {{"a", "1"}, {"a", "2"}, {NULL, NULL}};
    const dp_metrics_label_t reserved[] = {{"__name__", "x"}, {NULL, NULL}};
    const dp_metrics_label_t badname[] = {{"0a", "x"}, {NULL, NULL}};
    const dp_metrics_label_t novalue[] = {{"a", NULL}, {NULL, NULL}};
    char longname[DP_METRICS_NAME_MAX + 1];

    (void)state;
    out_init(&o, DP_METRICS_PROMETHEUS);
    assert_int_equal(dp_metrics_counter(&o.sink, "", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, NULL, NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "9x", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "a-b", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "a b", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "x", NULL, twice, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "x", NULL, reserved, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "x", NULL, badname, 1), -1);
    assert_int_equal(dp_metrics_counter(&o.sink, "x", NULL, novalue, 1), -1);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(dp_metrics_gauge(&o.sink, longname, NULL, NULL, 1), -1);
    assert_string_equal(o.mem, "");             /* nothing written */
    /* colons are allowed in names (recording rules use them) */
    assert_int_equal(dp_metrics_gauge(&o.sink, "a:b_c", NULL, NULL, 1), 0);
    /* an open family of another type, a closed family reopened */
    assert_int_equal(dp_metrics_counter(&o.sink, "a:b_c", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_gauge(&o.sink, "g", NULL, NULL, 1), 0);
    assert_int_equal(dp_metrics_gauge(&o.sink, "a:b_c", NULL, NULL, 1), -1);
    assert_int_equal(dp_metrics_gauge(&o.sink, "g", NULL, NULL, 2), 0);
    assert_string_equal(o.mem, "# TYPE a:b_c gauge\na:b_c 1\n"
                        "# TYPE g gauge\ng 1\ng 2\n");
}

static void test_many_families(void **state)
{
    out_t o;
    char name[16];
    int i;

    (void)state;
    out_init(&o, DP_METRICS_PROMETHEUS);
    /* more than the sink remembers: all written, the open one still
     * continued without a second header */
    for (i = 0; i < DP_METRICS_FAMILIES_MAX + 5; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        assert_int_equal(dp_metrics_gauge(&o.sink, name, NULL, NULL, i), 0);
    }
    assert_int_equal(dp_metrics_gauge(&o.sink, name, NULL, NULL, 1), 0);
    assert_int_equal(dp_metrics_gauge(&o.sink, "f3", NULL, NULL, 1), -1);
    assert_non_null(strstr(o.mem, "# TYPE f68 gauge\nf68 68\nf68 1\n"));
    assert_false(o.b.truncated);
}

static const char *gauge_text(double v)
{
    static out_t o;

    out_init(&o, DP_METRICS_PROMETHEUS);
    assert_int_equal(dp_metrics_gauge(&o.sink, "g", NULL, NULL, v), 0);
    return o.mem + strlen("# TYPE g gauge\ng ");
}

static void test_gauge_values(void **state)
{
    (void)state;
    assert_string_equal(gauge_text(0), "0\n");
    assert_string_equal(gauge_text(-2.5), "-2.5\n");
    assert_string_equal(gauge_text(0.1), "0.1\n");
    assert_string_equal(gauge_text(1.0 / 3), "0.33333333333333331\n");
    assert_string_equal(gauge_text(1e300), "1e+300\n");
    assert_string_equal(gauge_text(NAN), "NaN\n");
    assert_string_equal(gauge_text(INFINITY), "+Inf\n");
    assert_string_equal(gauge_text(-INFINITY), "-Inf\n");
    /* a locale with a decimal comma, if this system has one */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL
        || setlocale(LC_NUMERIC, "C.UTF-8@decimal-comma") != NULL) {
        assert_string_equal(gauge_text(-2.5), "-2.5\n");
        setlocale(LC_NUMERIC, "C");
    }
}

static void test_buf_truncated(void **state)
{
    char mem[8];
    dp_metrics_buf_t b = {mem, sizeof(mem), 0, 0};

    (void)state;
    dp_metrics_buf_write(&b, "abc", 3);
    assert_false(b.truncated);
    dp_metrics_buf_write(&b, "defghij", 7);
    assert_true(b.truncated);
    assert_int_equal(b.len, 7);
    assert_string_equal(mem, "abcdefg");
}

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(dp_metrics_content_type(DP_METRICS_PROMETHEUS),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(dp_metrics_content_type(DP_METRICS_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; "
                        "charset=utf-8");
}

/* every status counter is a metric; families come in runs, so counter
 * by counter writing never reopens one, and the reason labels are the
 * counters' categories */
static void test_stats_as_metrics(void **state)
{
    const char *fam, *help, *reason;
    unsigned i;
    out_t o;

    (void)state;
    out_init(&o, DP_METRICS_OPENMETRICS);
    for (i = 0; i < DP_STAT_COUNT; i++) {
        dp_metrics_label_t l[3] = {{"vhost", "v:1"}, {NULL, NULL},
                                   {NULL, NULL}};

        assert_int_equal(dp_metrics_stat(i, &fam, &help, &reason), 0);
        assert_non_null(help);
        assert_int_equal(strncmp(fam, "devprov_", 8), 0);
        if (reason != NULL) {
            l[1].name = "reason";
            l[1].value = reason;
        }
        /* -1 if a family were reopened */
        assert_int_equal(dp_metrics_counter(&o.sink, fam, help, l, i), 0);
    }
    dp_metrics_end(&o.sink);
    assert_false(o.b.truncated);
    assert_int_equal(dp_metrics_stat(DP_STAT_COUNT, &fam, &help, &reason),
                     -1);

    assert_int_equal(dp_metrics_stat(DP_STAT_REQUESTS, &fam, &help, &reason),
                     0);
    assert_string_equal(fam, "devprov_requests");
    assert_null(reason);
    assert_int_equal(dp_metrics_stat(DP_STAT_VERIFIED_EXPIRED, &fam, &help,
                                     &reason), 0);
    assert_string_equal(fam, "devprov_verified_expired");
    assert_int_equal(dp_metrics_stat(DP_STAT_REASON
                                     + dp_reason_bucket(DP_REASON_NO_CERT),
                                     &fam, &help, &reason), 0);
    assert_string_equal(fam, "devprov_reason");
    assert_string_equal(reason, "no_cert");
    assert_int_equal(dp_metrics_stat(DP_STAT_DENIED_BY
                                     + dp_reason_bucket(DP_REASON_UNLISTED),
                                     &fam, &help, &reason), 0);
    assert_string_equal(fam, "devprov_denied_by_reason");
    assert_string_equal(reason, "unlisted");
    assert_int_equal(dp_metrics_stat(DP_STAT_DENIED_BIND_PATH, &fam, &help,
                                     &reason), 0);
    assert_string_equal(fam, "devprov_denied_by_reason");
    assert_string_equal(reason, "bind_path");

    assert_non_null(strstr(o.mem, "# TYPE devprov_reason counter\n"));
    assert_non_null(strstr(o.mem, "devprov_reason_total{vhost=\"v:1\","
                                  "reason=\"no_cert\"} "));
    /* one header per family */
    {
        const char *p = strstr(o.mem, "# TYPE devprov_reason ");
        assert_null(strstr(p + 1, "# TYPE devprov_reason "));
    }
}

static void test_output_option(void **state)
{
    (void)state;
    assert_int_equal(dp_metrics_output(NULL), DP_OUTPUT_TEXT);
    assert_int_equal(dp_metrics_output(""), DP_OUTPUT_TEXT);
    assert_int_equal(dp_metrics_output("json"), DP_OUTPUT_JSON);
    assert_int_equal(dp_metrics_output("json&x=1"), DP_OUTPUT_JSON);
    assert_int_equal(dp_metrics_output("x=1&json"), DP_OUTPUT_JSON);
    assert_int_equal(dp_metrics_output("prometheus"), DP_OUTPUT_PROMETHEUS);
    assert_int_equal(dp_metrics_output("openmetrics"), DP_OUTPUT_OPENMETRICS);
    assert_int_equal(dp_metrics_output("format=prometheus"),
                     DP_OUTPUT_PROMETHEUS);
    assert_int_equal(dp_metrics_output("format=openmetrics&a"),
                     DP_OUTPUT_OPENMETRICS);
    assert_int_equal(dp_metrics_output("format=json"), DP_OUTPUT_JSON);
    assert_int_equal(dp_metrics_output("format=text&json"), DP_OUTPUT_TEXT);
    assert_int_equal(dp_metrics_output("a&format=prometheus&json"),
                     DP_OUTPUT_PROMETHEUS);
    assert_int_equal(dp_metrics_output("format=xml"), DP_OUTPUT_UNKNOWN);
    assert_int_equal(dp_metrics_output("format="), DP_OUTPUT_UNKNOWN);
    assert_int_equal(dp_metrics_output("format=prometheusx"),
                     DP_OUTPUT_UNKNOWN);
    /* other arguments are ignored, as they always were */
    assert_int_equal(dp_metrics_output("jsonx"), DP_OUTPUT_TEXT);
    assert_int_equal(dp_metrics_output("text"), DP_OUTPUT_TEXT);
    assert_int_equal(dp_metrics_output("xformat=json"), DP_OUTPUT_TEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_prometheus),
        cmocka_unit_test(test_counter_openmetrics),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_clashes),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_escape_label),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_many_families),
        cmocka_unit_test(test_gauge_values),
        cmocka_unit_test(test_buf_truncated),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_stats_as_metrics),
        cmocka_unit_test(test_output_option),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
