/* test_stats.c - dp_stats: which counters a request touches, names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_stats.h"

/* the counters EV touches, as "name name ..." */
static const char *touched(const dp_stats_event_t *ev)
{
    static char buf[1024];
    unsigned idx[DP_STATS_EVENT_MAX];
    size_t n = dp_stats_event(ev, idx, DP_STATS_EVENT_MAX), i;

    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i > 0)
            assert_true(idx[i] > idx[i - 1]);       /* increasing */
        strcat(buf, i ? " " : "");
        strcat(buf, dp_stats_name(idx[i]));
    }
    return buf;
}

/* The counter "<r>" a DEVICE_REASON text is counted in, read back
 * through the table of reasons: "-" for none, "?" for a text the table
 * does not make. */
static const char *category(const char *text)
{
    int r = dp_reason_parse(text);

    if (r < 0)
        return "?";
    if (r == DP_REASON_NONE)
        return "-";
    return dp_reason_counter((dp_reason_t)r);
}

/* Every text devprov writes is in the category it has always been in
 * (the status counters and README's table say so) */
static void test_reason_categories(void **state)
{
    (void)state;
    assert_string_equal(category(NULL), "-");
    assert_string_equal(category(""), "-");
    assert_string_equal(category("no client certificate"), "no_cert");
    assert_string_equal(category("not a TLS connection"), "not_tls");
    assert_string_equal(category("generic certificate: its private key "
                                 "is public (DevprovDenyKey)"),
                        "generic_key");
    assert_string_equal(category("certificate not verified: unable to "
                                 "get local issuer certificate"),
                        "not_verified");
    assert_string_equal(category("unreadable client certificate"),
                        "not_verified");
    assert_string_equal(category("no MAC in certificate subject"),
                        "no_mac");
    assert_string_equal(category("ambiguous MAC in certificate subject"),
                        "no_mac");
    assert_string_equal(category("malformed certificate subject"),
                        "no_mac");
    assert_string_equal(category("not in allowlist"), "unlisted");
    assert_string_equal(category("allowlisted for vendor yealink, "
                                 "certificate from polycom"),
                        "vendor_mismatch");
    assert_string_equal(category("certificate does not match the "
                                 "allowlist pin"), "pin_mismatch");
    assert_string_equal(category("the allowlist database did not "
                                 "answer"), "db_unavailable");
    assert_string_equal(category("a CA certificate (CA:TRUE or "
                                 "keyCertSign), not a phone's"), "ca_leaf");
    assert_string_equal(category("denied key (DevprovDenyKey) at depth "
                                 "1: /CN=Polycom Issuing CA"), "ca_key");
    assert_string_equal(category("chain never valid: notBefore at "
                                 "depth 0 is not before notAfter at "
                                 "depth 1"), "never_valid");
    assert_string_equal(category("not yet valid (depth 0, from "
                                 "2027-01-01T00:00:00Z): "
                                 "DevprovAcceptNotYetValid polycom off"),
                        "not_yet_valid");
    assert_string_equal(category("revoked (DevprovRevoked)"), "revoked");
    assert_string_equal(category("internal error while verifying"),
                        "other");
    /* prefixes only where the reason carries a detail */
    assert_string_equal(category("not in allowlist!"), "?");
    assert_string_equal(category("certificate not verified"), "?");
    assert_string_equal(category("certificate not verified: "), "?");
}

static void test_events(void **state)
{
    dp_stats_event_t ev;

    (void)state;
    /* a listed phone with an expired certificate, first request */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.validity = 2;
    ev.listed = 1;
    assert_string_equal(touched(&ev), "requests verified verified_expired "
                        "listed verdicts_made");
    /* the same on a kept-alive connection */
    ev.verdict_reused = 1;
    ev.idcache_hit = 1;                 /* ignored for a reused verdict */
    assert_string_equal(touched(&ev), "requests verified verified_expired "
                        "listed verdicts_reused");
    /* a pinned, not-yet-valid one from the identity cache */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.validity = 1;
    ev.pinned = 1;
    ev.idcache_hit = 1;
    assert_string_equal(touched(&ev), "requests verified "
                        "verified_not_yet_valid verified_pinned "
                        "verdicts_made idcache_hits");
    /* a verified phone that is not listed, refused by DevprovDeny */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.reason = DP_REASON_UNLISTED;
    ev.deny = DP_DENY_POLICY;
    assert_string_equal(touched(&ev), "requests verified denied "
                        "verdicts_made reason_unlisted denied_unlisted");
    /* the same, let through (DevprovDeny off): a reason, no refusal */
    ev.deny = DP_DENY_NONE;
    assert_string_equal(touched(&ev), "requests verified verdicts_made "
                        "reason_unlisted");
    /* no certificate, refused */
    memset(&ev, 0, sizeof(ev));
    ev.reason = DP_REASON_NO_CERT;
    ev.deny = DP_DENY_POLICY;
    assert_string_equal(touched(&ev), "requests denied verdicts_made "
                        "reason_no_cert denied_no_cert");
    /* a refusal without a reason counts as other */
    ev.reason = DP_REASON_NONE;
    assert_string_equal(touched(&ev), "requests denied verdicts_made "
                        "denied_other");
    /* the database did not answer: 503 */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.reason = DP_REASON_DB_UNAVAILABLE;
    ev.deny = DP_DENY_UNAVAILABLE;
    assert_string_equal(touched(&ev), "requests verified denied "
                        "verdicts_made reason_db_unavailable "
                        "denied_db_unavailable");
    /* a listed phone asking for another phone's file */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.listed = 1;
    ev.verdict_reused = 1;
    ev.deny = DP_DENY_BIND_PATH;
    assert_string_equal(touched(&ev), "requests verified listed denied "
                        "verdicts_reused denied_bind_path");
    /* revoked: not verified */
    memset(&ev, 0, sizeof(ev));
    ev.reason = DP_REASON_REVOKED;
    ev.deny = DP_DENY_POLICY;
    assert_string_equal(touched(&ev), "requests denied verdicts_made "
                        "reason_revoked denied_revoked");
}

static void test_event_max(void **state)
{
    dp_stats_event_t ev;
    unsigned idx[DP_STATS_EVENT_MAX];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.verified = ev.pinned = ev.listed = ev.idcache_hit = 1;
    ev.validity = 2;
    ev.reason = DP_REASON_UNLISTED;
    ev.deny = DP_DENY_POLICY;
    assert_true(dp_stats_event(&ev, idx, DP_STATS_EVENT_MAX)
                <= DP_STATS_EVENT_MAX);
    assert_int_equal(dp_stats_event(&ev, idx, 2), 2);
    assert_int_equal(idx[0], DP_STAT_REQUESTS);
    assert_int_equal(idx[1], DP_STAT_VERIFIED);
}

static void test_names(void **state)
{
    unsigned i, j;

    (void)state;
    assert_string_equal(dp_stats_name(DP_STAT_REQUESTS), "requests");
    assert_string_equal(dp_stats_name(DP_STAT_REASON
                                      + dp_reason_bucket(DP_REASON_NO_CERT)),
                        "reason_no_cert");
    assert_string_equal(dp_stats_name(DP_STAT_DENIED_BY
                                      + dp_reason_bucket(
                                          DP_REASON_VENDOR_MISMATCH)),
                        "denied_vendor_mismatch");
    assert_string_equal(dp_stats_name(DP_STAT_DENIED_BIND_PATH),
                        "denied_bind_path");
    assert_null(dp_stats_name(DP_STAT_COUNT));
    /* every name is [a-z_] and unique */
    for (i = 0; i < DP_STAT_COUNT; i++) {
        const char *n = dp_stats_name(i);
        assert_non_null(n);
        assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz_"),
                         strlen(n));
        for (j = 0; j < i; j++)
            assert_string_not_equal(n, dp_stats_name(j));
    }
}

/* The counters' names and order, as the status output has always shown
 * them (monitoring reads them): the table of reasons must not rename or
 * reorder them; new ones (0.4.0: verified_password, user_conflict,
 * user_mismatch) only join them */
static void test_names_unchanged(void **state)
{
    static const char *const want[] = {
        "requests", "verified", "verified_expired", "verified_not_yet_valid",
        "verified_pinned", "verified_password", "listed", "denied",
        "verdicts_made", "verdicts_reused", "idcache_hits",
        "reason_no_cert", "reason_not_tls", "reason_generic_key",
        "reason_not_verified", "reason_no_mac", "reason_unlisted",
        "reason_vendor_mismatch", "reason_pin_mismatch",
        "reason_db_unavailable", "reason_revoked", "reason_ca_leaf",
        "reason_ca_key", "reason_never_valid", "reason_not_yet_valid",
        "reason_user_conflict", "reason_user_mismatch", "reason_other",
        "denied_no_cert", "denied_not_tls", "denied_generic_key",
        "denied_not_verified", "denied_no_mac", "denied_unlisted",
        "denied_vendor_mismatch", "denied_pin_mismatch",
        "denied_db_unavailable", "denied_revoked", "denied_ca_leaf",
        "denied_ca_key", "denied_never_valid", "denied_not_yet_valid",
        "denied_user_conflict", "denied_user_mismatch", "denied_other",
        "denied_bind_path"
    };
    unsigned i;

    (void)state;
    assert_int_equal(DP_STAT_COUNT, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < DP_STAT_COUNT; i++)
        assert_string_equal(dp_stats_name(i), want[i]);
}

static void test_label(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(dp_stats_label(buf, sizeof(buf), "prov.example.com",
                                       8443), "prov.example.com:8443");
    assert_string_equal(dp_stats_label(buf, sizeof(buf), NULL, 443),
                        "_default_:443");
    assert_string_equal(dp_stats_label(buf, sizeof(buf), "a b:c\n<x>", 1),
                        "a_b_c__x_:1");
    assert_string_equal(dp_stats_label(buf, 8, "prov.example.com", 8443),
                        "prov.ex");
    assert_string_equal(dp_stats_label(buf, 1, "x", 1), "");
}

static void test_json_escape(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(dp_stats_json_escape(buf, sizeof(buf), "plain"), 5);
    assert_string_equal(buf, "plain");
    assert_int_equal(dp_stats_json_escape(buf, sizeof(buf), "a\"b\\c\n"),
                     13);
    assert_string_equal(buf, "a\\\"b\\\\c\\u000a");
    assert_int_equal(dp_stats_json_escape(buf, 4, "abcdef"), 6);
    assert_string_equal(buf, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_categories),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_event_max),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_names_unchanged),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
