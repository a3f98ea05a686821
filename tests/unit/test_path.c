/* test_path.c - dp_path_check: MACs anywhere in a request path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_path.h"

static const dp_mac_t OWN = { { 0x00, 0x04, 0xf2, 0x00, 0x00, 0x01 } };
static const dp_mac_t OTHER = { { 0x00, 0x04, 0xf2, 0x00, 0x00, 0x02 } };

static int check(const char *path, const dp_mac_t *own, dp_mac_t *found)
{
    return dp_path_check(path, strlen(path), own, found);
}

static void assert_allowed(const char *path, const dp_mac_t *own)
{
    if (check(path, own, NULL) != 0)
        fail_msg("'%s' should be allowed", path);
}

/* refused, and the MAC reported is the other phone's */
static void assert_other(const char *path, const dp_mac_t *own)
{
    dp_mac_t m;

    memset(&m, 0x55, sizeof(m));
    if (check(path, own, &m) != 1)
        fail_msg("'%s' should be refused", path);
    assert_memory_equal(m.b, OTHER.b, DP_MAC_LEN);
}

static void refused(const char *path, const dp_mac_t *own)
{
    if (check(path, own, NULL) != 1)
        fail_msg("'%s' should be refused", path);
}

static const char *const OTHER_SPELLINGS[] = {
    "/0004f2000002.cfg",
    "/0004F2000002.cfg",
    "/0004f2000002-phone.cfg",
    "/0004f2000002-app.log",
    "/00-04-f2-00-00-02.cfg",
    "/00:04:F2:00:00:02.cfg",
    "/0004.f200.0002.cfg",
    "/%30004f2000002.cfg",              /* %30 is '0' */
    "/%2530004f2000002.cfg",            /* double-encoded */
    "/0004f2%30%30%30%30%302.cfg",
    "/%30%30%30%34%66%32%30%30%30%30%30%32.cfg",
    "//0004f2000002.cfg",
    "/./0004f2000002.cfg",
    "/x/../0004f2000002.cfg",
    "/0004f2000001/../0004f2000002.cfg",
    "/0004f2000002.cfg/extra",          /* path info */
    "/0004f2000002.cfg.",               /* trailing dot */
    "/0004f2000002.cfg...",
    "/0004f2000002/phone.cfg",          /* directory segment */
    "/logs/0004f2000002/app.log",
    "/a%2F0004f2000002.cfg",            /* encoded slash */
    "/SEP0004F2000002.cnf.xml",
    "/0004f2000002",
    "0004f2000002",
    "/0004f2000001-0004f2000002.cfg",   /* own MAC does not excuse it */
    "/cfg/0004f2000002.cfg?mac=0004f2000001",
    "https://localhost/0004f2000002.cfg",
};

static void other_phone_refused(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(OTHER_SPELLINGS) / sizeof(OTHER_SPELLINGS[0]); i++)
        assert_other(OTHER_SPELLINGS[i], &OWN);
}

static void not_a_device_refused(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(OTHER_SPELLINGS) / sizeof(OTHER_SPELLINGS[0]); i++)
        refused(OTHER_SPELLINGS[i], NULL);
    refused("/0004f2000001.cfg", NULL);
    refused("/prov/spa0004f2000002.cfg", NULL);
}

static void own_file_allowed(void **state)
{
    (void)state;
    assert_allowed("/0004f2000001.cfg", &OWN);
    assert_allowed("/0004F2000001.CFG", &OWN);
    assert_allowed("/0004f2000001-phone.cfg", &OWN);
    assert_allowed("/00-04-f2-00-00-01.cfg", &OWN);
    assert_allowed("/00:04:f2:00:00:01.cfg", &OWN);
    assert_allowed("/0004.f200.0001.cfg", &OWN);
    assert_allowed("/%30004f2000001.cfg", &OWN);
    assert_allowed("//0004f2000001.cfg", &OWN);
    assert_allowed("/./0004f2000001.cfg", &OWN);
    assert_allowed("/x/../0004f2000001.cfg", &OWN);
    assert_allowed("/0004f2000001.cfg/extra", &OWN);
    assert_allowed("/0004f2000001.cfg.", &OWN);
    assert_allowed("/0004f2000001/app.log", &OWN);
    assert_allowed("/spa0004f2000001.cfg", &OWN);
    assert_allowed("/SEP0004F2000001.cnf.xml", &OWN);
    assert_allowed("/0004f2000001.cfg?x=0004f2000002", &OWN);
}

static void shared_and_unrelated_allowed(void **state)
{
    static const dp_mac_t *const owners[] = { &OWN, NULL };
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        const dp_mac_t *o = owners[i];
        assert_allowed("/000000000000.cfg", o);
        assert_allowed("/000000000000-phone.cfg", o);
        assert_allowed("/00-00-00-00-00-00.cfg", o);
        assert_allowed("/ffffffffffff.cfg", o);        /* broadcast */
        assert_allowed("/010000000001.cfg", o);        /* multicast */
        assert_allowed("/", o);
        assert_allowed("", o);
        assert_allowed("/env.php", o);
        assert_allowed("/sip.ld", o);
        assert_allowed("/3111-40250-001.sip.ld", o);
        assert_allowed("/firmware/4.1.10/update.bin", o);
        assert_allowed("/dead/beef/cafe.cfg", o);
        assert_allowed("/abcdef12345.cfg", o);          /* 11 digits */
        assert_allowed("/2024-11-23/x.log", o);
        assert_allowed("/%", o);
        assert_allowed("/%3", o);
        assert_allowed("/%zz", o);
    }
}

static void long_hex_runs(void **state)
{
    (void)state;
    /* 24 or more hex digits: any unicast window refuses, even with OWN */
    refused("/0004f20000010004f2000001.cfg", &OWN);
    refused("/da39a3ee5e6b4b0d3255bfef95601890afd80709", &OWN);
    /* ... unless every window is shared */
    assert_allowed("/000000000000000000000000.cfg", &OWN);
    /* 13..23 with own MAC inside */
    assert_allowed("/abc0004f2000001.cfg", &OWN);
    assert_allowed("/0004f2000001abc.cfg", &OWN);
    /* 13..23 without it */
    refused("/abc0004f2000003.cfg", &OWN);
    /* a hex prefix: a run of 13 (the MAC reported may be a0004f200000) */
    refused("/prov/spa0004f2000002.cfg", &OWN);
}

static void length_is_respected(void **state)
{
    const char *p = "/0004f2000001.cfg0004f2000002";

    (void)state;
    assert_int_equal(dp_path_check(p, 17, &OWN, NULL), 0);
    assert_int_equal(dp_path_check(p, strlen(p), &OWN, NULL), 1);
    assert_int_equal(dp_path_check(NULL, 0, &OWN, NULL), 0);
}

/* Encode every character of S as %XX, ROUNDS times. */
static void encode(const char *s, int rounds, char *out, size_t outlen)
{
    char tmp[8192];
    int r;

    snprintf(out, outlen, "%s", s);
    for (r = 0; r < rounds; r++) {
        size_t i, o = 0;
        for (i = 0; out[i] != '\0' && o + 4 < sizeof(tmp); i++)
            o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%%%02X",
                                  (unsigned char)out[i]);
        tmp[o] = '\0';
        snprintf(out, outlen, "%s", tmp);
    }
}

static void too_deeply_encoded(void **state)
{
    char p[8192];
    dp_mac_t m;

    (void)state;
    /* four rounds are decoded: the other phone's MAC is found */
    encode("0004f2000002", 4, p, sizeof(p));
    assert_other(p, &OWN);
    /* five: still encoded after four rounds, refused without a MAC, even
     * the phone's own */
    encode("0004f2000002", 5, p, sizeof(p));
    memset(&m, 0x55, sizeof(m));
    assert_int_equal(check(p, &OWN, &m), DP_PATH_TOO_DEEP);
    assert_int_equal(m.b[0], 0x55);                 /* untouched */
    encode("0004f2000001.cfg", 5, p, sizeof(p));
    assert_int_equal(check(p, &OWN, NULL), DP_PATH_TOO_DEEP);
    encode("/index.html", 5, p, sizeof(p));
    assert_int_equal(check(p, NULL, NULL), DP_PATH_TOO_DEEP);
    /* exactly four rounds deep, and nothing left: allowed */
    assert_allowed("/a%25252541.txt", &OWN);
    /* five: refused */
    assert_int_equal(check("/a%2525252541.txt", &OWN, NULL),
                     DP_PATH_TOO_DEEP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_phone_refused),
        cmocka_unit_test(not_a_device_refused),
        cmocka_unit_test(own_file_allowed),
        cmocka_unit_test(shared_and_unrelated_allowed),
        cmocka_unit_test(long_hex_runs),
        cmocka_unit_test(length_is_respected),
        cmocka_unit_test(too_deeply_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
