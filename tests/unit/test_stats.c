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

static void test_reason_categories(void **state)
{
    (void)state;
    assert_int_equal(dp_stats_reason(NULL), -1);
    assert_int_equal(dp_stats_reason(""), -1);
    assert_int_equal(dp_stats_reason("no client certificate"),
                     DP_REASON_NO_CERT);
    assert_int_equal(dp_stats_reason("not a TLS connection"),
                     DP_REASON_NOT_TLS);
    assert_int_equal(dp_stats_reason("generic certificate: its private key "
                                     "is public (DevprovDenyKey)"),
                     DP_REASON_GENERIC_KEY);
    assert_int_equal(dp_stats_reason("certificate not verified: unable to "
                                     "get local issuer certificate"),
                     DP_REASON_NOT_VERIFIED);
    assert_int_equal(dp_stats_reason("unreadable client certificate"),
                     DP_REASON_NOT_VERIFIED);
    assert_int_equal(dp_stats_reason("no MAC in certificate subject"),
                     DP_REASON_NO_MAC);
    assert_int_equal(dp_stats_reason("ambiguous MAC in certificate "
                                     "subject"), DP_REASON_NO_MAC);
    assert_int_equal(dp_stats_reason("malformed certificate subject"),
                     DP_REASON_NO_MAC);
    assert_int_equal(dp_stats_reason("not in allowlist"), DP_REASON_UNLISTED);
    assert_int_equal(dp_stats_reason("allowlisted for vendor yealink, "
                                     "certificate from polycom"),
                     DP_REASON_VENDOR_MISMATCH);
    assert_int_equal(dp_stats_reason("certificate does not match the "
                                     "allowlist pin"),
                     DP_REASON_PIN_MISMATCH);
    assert_int_equal(dp_stats_reason("the allowlist database did not "
                                     "answer"), DP_REASON_DB_UNAVAILABLE);
    assert_int_equal(dp_stats_reason("a CA certificate (CA:TRUE or "
                                     "keyCertSign), not a phone's"),
                     DP_REASON_CA_LEAF);
    assert_int_equal(dp_stats_reason("denied key (DevprovDenyKey) at depth "
                                     "1: /CN=Polycom Issuing CA"),
                     DP_REASON_CA_KEY);
    assert_int_equal(dp_stats_reason("chain never valid: notBefore at "
                                     "depth 0 is not before notAfter at "
                                     "depth 1"), DP_REASON_NEVER_VALID);
    assert_int_equal(dp_stats_reason("not yet valid (depth 0, from "
                                     "2027-01-01T00:00:00Z): "
                                     "DevprovAcceptNotYetValid polycom off"),
                     DP_REASON_NOT_YET_VALID);
    assert_int_equal(dp_stats_reason("revoked (DevprovRevoked)"),
                     DP_REASON_REVOKED);
    assert_int_equal(dp_stats_reason("internal error while verifying"),
                     DP_REASON_OTHER);
    /* prefixes only where the reason carries a detail */
    assert_int_equal(dp_stats_reason("not in allowlist!"), DP_REASON_OTHER);
    assert_int_equal(dp_stats_reason("certificate not verified"),
                     DP_REASON_OTHER);
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
    ev.reason = "not in allowlist";
    ev.deny = DP_DENY_POLICY;
    assert_string_equal(touched(&ev), "requests verified denied "
                        "verdicts_made reason_unlisted denied_unlisted");
    /* the same, let through (DevprovDeny off): a reason, no refusal */
    ev.deny = DP_DENY_NONE;
    assert_string_equal(touched(&ev), "requests verified verdicts_made "
                        "reason_unlisted");
    /* no certificate, refused */
    memset(&ev, 0, sizeof(ev));
    ev.reason = "no client certificate";
    ev.deny = DP_DENY_POLICY;
    assert_string_equal(touched(&ev), "requests denied verdicts_made "
                        "reason_no_cert denied_no_cert");
    /* a refusal without a reason counts as other */
    ev.reason = NULL;
    assert_string_equal(touched(&ev), "requests denied verdicts_made "
                        "denied_other");
    /* the database did not answer: 503 */
    memset(&ev, 0, sizeof(ev));
    ev.verified = 1;
    ev.reason = "the allowlist database did not answer";
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
    ev.reason = "revoked (DevprovRevoked)";
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
    ev.reason = "not in allowlist";
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
    assert_string_equal(dp_stats_name(DP_STAT_REASON + DP_REASON_NO_CERT),
                        "reason_no_cert");
    assert_string_equal(dp_stats_name(DP_STAT_DENIED_BY
                                      + DP_REASON_VENDOR_MISMATCH),
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
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
