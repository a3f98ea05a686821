/* test_fleet.c - the fleet record: layout, updates, eviction, locks,
 * states and summaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/dp_fleet.h"
#include "src/dp_trust.h"

static dp_mac_t mac_n(uint64_t n)
{
    dp_mac_t m;
    int i;

    for (i = 0; i < DP_MAC_LEN; i++)
        m.b[i] = (unsigned char)(n >> (8 * (DP_MAC_LEN - 1 - i)));
    return m;
}

static void *table(size_t entries, dp_fleet_t *f, size_t *bytes)
{
    size_t n = dp_fleet_bytes(entries);
    /* shared, as the server's file mapping is, so forked writers meet */
    void *mem = mmap(NULL, n, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    assert_true(mem != MAP_FAILED);
    memset(mem, 0x5a, n);               /* format must not need zeroes */
    dp_fleet_format(f, mem, entries, 1000);
    if (bytes)
        *bytes = n;
    return mem;
}

static dp_fleet_obs_t seen(uint64_t mac, time_t now)
{
    static const unsigned char fp[32] = { 0xab, 0xcd };
    dp_fleet_obs_t o;

    memset(&o, 0, sizeof(o));
    o.mac = mac_n(mac);
    o.now = now;
    o.identified = 1;
    o.by = DP_FLEET_BY_CERT;
    o.listed = 1;
    o.validity = DP_TIME_VALID;
    o.not_after = now + 86400;
    o.sha256 = fp;
    o.vendor = "polycom";
    o.addr = "192.0.2.7";
    o.ua = "PolycomVVX-VVX_410-UA/5.9.5.0614";
    return o;
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(dp_fleet_bytes(0), 0);
    /* a quarter more room, in whole sets of 16: 12 phones fit one set,
     * 13 need two */
    assert_int_equal(dp_fleet_bytes(1), dp_fleet_bytes(12));
    assert_true(dp_fleet_bytes(13) > dp_fleet_bytes(12));
    assert_int_equal(dp_fleet_bytes(13), dp_fleet_bytes(25));
    /* what doc/directives.md says 1M phones cost: 78,125 sets of 16
     * entries of 256 bytes (305.2 MiB) and their locks */
    assert_int_equal(dp_fleet_bytes(1000000),
                     64 + (78125 * 8 + 63) / 64 * 64 + 78125u * 16 * 256);
    assert_int_equal(sizeof(dp_fleet_rec_t), DP_FLEET_REC_SIZE);
}

static void test_attach(void **state)
{
    dp_fleet_t f, g;
    size_t bytes, used = 0;
    char err[200];
    unsigned char *mem = table(100, &f, &bytes);
    dp_fleet_obs_t o = seen(0x0004f2000001, 2000);
    dp_fleet_rec_t r;

    (void)state;
    assert_int_equal(dp_fleet_update(&f, &o), 0);
    /* another process (a restart, devprov-check) finds the entry */
    assert_int_equal(dp_fleet_attach(&g, mem, bytes, 100, &used, err,
                                     sizeof(err)), 0);
    assert_int_equal(used, bytes);
    assert_int_equal(dp_fleet_get(&g, &o.mac, &r), 1);
    assert_int_equal(r.requests, 1);
    /* any size rounding to the same sets is the same table */
    assert_int_equal(dp_fleet_attach(&g, mem, bytes, 101, NULL, err,
                                     sizeof(err)), 0);
    /* another size is refused, with the reason */
    assert_int_equal(dp_fleet_attach(&g, mem, bytes, 1000, NULL, err,
                                     sizeof(err)), -1);
    assert_non_null(strstr(err, "a fleet table for 128 phones, not 1264"));
    /* a cut file */
    assert_int_equal(dp_fleet_attach(&g, mem, bytes - 1, 0, NULL, err,
                                     sizeof(err)), -1);
    assert_non_null(strstr(err, "damaged"));
    /* a damaged header: more sets than the file holds */
    mem[20] ^= 3;
    assert_int_equal(dp_fleet_attach(&g, mem, bytes, 0, NULL, err,
                                     sizeof(err)), -1);
    mem[20] ^= 3;
    mem[0] = 'X';
    assert_int_equal(dp_fleet_attach(&g, mem, bytes, 0, NULL, err,
                                     sizeof(err)), -1);
    assert_non_null(strstr(err, "not a devprov fleet table"));
    munmap(mem, bytes);
}

static void test_update_and_claims(void **state)
{
    dp_fleet_t f;
    size_t bytes;
    void *mem = table(64, &f, &bytes);
    dp_fleet_obs_t o = seen(0x0004f2000001, 2000), claim;
    dp_fleet_rec_t r;

    (void)state;
    dp_fleet_update(&f, &o);
    o.now = 2100;
    o.addr = "192.0.2.8";
    dp_fleet_update(&f, &o);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(r.first_seen, 2000);
    assert_int_equal(r.last_seen, 2100);
    assert_int_equal(r.last_ok, 2100);
    assert_int_equal(r.requests, 2);
    assert_int_equal(r.refused, 0);
    assert_string_equal(r.addr, "192.0.2.8");
    assert_string_equal(r.vendor, "polycom");
    assert_int_equal(r.by, DP_FLEET_BY_CERT);
    assert_int_equal(r.sha256[0], 0xab);

    /* a forged certificate naming the phone's MAC: counted and refused,
     * but the genuine phone's address, firmware, certificate stay */
    memset(&claim, 0, sizeof(claim));
    claim.mac = o.mac;
    claim.now = 2200;
    claim.addr = "203.0.113.66";
    claim.ua = "<script>";
    claim.validity = -1;
    claim.refusal = DP_FLEET_REFUSAL_REASON + DP_REASON_NOT_VERIFIED;
    dp_fleet_update(&f, &claim);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(r.requests, 3);
    assert_int_equal(r.refused, 1);
    assert_int_equal(r.last_refused, 2200);
    assert_int_equal(r.last_ok, 2100);
    assert_string_equal(r.addr, "192.0.2.8");
    assert_string_equal(r.ua, "PolycomVVX-VVX_410-UA/5.9.5.0614");
    assert_string_equal(dp_fleet_refusal_name(r.refusal), "not_verified");
    assert_int_equal(dp_fleet_state(&r, 2200, 0), DP_FLEET_REFUSED);
    /* refused and let through in the same second: the last one counts */
    o.now = 2200;
    dp_fleet_update(&f, &o);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(dp_fleet_state(&r, 2200, 0), DP_FLEET_NORMAL);
    dp_fleet_update(&f, &claim);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(dp_fleet_state(&r, 2200, 0), DP_FLEET_REFUSED);
    /* the phone provisions again: no longer refused */
    o.now = 2300;
    dp_fleet_update(&f, &o);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(dp_fleet_state(&r, 2300, 0), DP_FLEET_NORMAL);

    /* a User-Agent longer than kept is cut, NUL-terminated */
    {
        char ua[300];

        memset(ua, 'U', sizeof(ua) - 1);
        ua[sizeof(ua) - 1] = '\0';
        o.ua = ua;
        dp_fleet_update(&f, &o);
        assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
        assert_int_equal(strlen(r.ua), DP_FLEET_UA_MAX - 1);
    }
    assert_int_equal(dp_fleet_remove(&f, &o.mac), 1);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 0);
    assert_int_equal(dp_fleet_remove(&f, &o.mac), 0);
    munmap(mem, bytes);
}

static int count_cb(const dp_fleet_rec_t *rec, void *arg)
{
    (void)rec;
    ++*(size_t *)arg;
    return 0;
}

static void test_still_waiting(void **state)
{
    dp_fleet_t phones, queue;
    size_t b1, b2;
    void *m1 = table(64, &phones, &b1), *m2 = table(64, &queue, &b2);
    dp_fleet_obs_t o = seen(0x0004f2999999, 2000);
    dp_fleet_rec_t w;

    (void)state;
    o.listed = 0;
    dp_fleet_update(&queue, &o);
    assert_int_equal(dp_fleet_get(&queue, &o.mac, &w), 1);
    assert_true(dp_fleet_still_waiting(&phones, &w));
    /* refused as a phone before (an entry, never let through): waiting */
    o.refusal = DP_FLEET_REFUSAL_REASON + DP_REASON_REVOKED;
    o.now = 2100;
    dp_fleet_update(&phones, &o);
    assert_true(dp_fleet_still_waiting(&phones, &w));
    /* approved and let in, after it waited: no longer */
    o.refusal = 0;
    o.listed = 1;
    o.now = 2200;
    dp_fleet_update(&phones, &o);
    assert_false(dp_fleet_still_waiting(&phones, &w));
    munmap(m1, b1);
    munmap(m2, b2);
}

static void test_full_drops_oldest(void **state)
{
    dp_fleet_t f;
    size_t bytes, n = 0;
    void *mem = table(12, &f, &bytes);          /* one set */
    dp_fleet_info_t info;
    dp_fleet_rec_t r;
    dp_mac_t m;
    int i;

    (void)state;
    for (i = 0; i < DP_FLEET_WAYS; i++) {
        dp_fleet_obs_t o = seen(0x0004f2000100 + (uint64_t)i, 5000 + i);

        assert_int_equal(dp_fleet_update(&f, &o), 0);
    }
    /* the first phone comes back: now the newest */
    {
        dp_fleet_obs_t o = seen(0x0004f2000100, 6000);

        dp_fleet_update(&f, &o);
    }
    /* a new phone into the full table: it is recorded, the one seen
     * least recently (the second, at 5001) is dropped */
    {
        dp_fleet_obs_t o = seen(0x0004f2000999, 6001);

        assert_int_equal(dp_fleet_update(&f, &o), 0);
    }
    m = mac_n(0x0004f2000999);
    assert_int_equal(dp_fleet_get(&f, &m, &r), 1);
    m = mac_n(0x0004f2000101);
    assert_int_equal(dp_fleet_get(&f, &m, &r), 0);
    m = mac_n(0x0004f2000100);
    assert_int_equal(dp_fleet_get(&f, &m, &r), 1);
    assert_int_equal(r.requests, 2);
    dp_fleet_each(&f, count_cb, &n);
    assert_int_equal(n, DP_FLEET_WAYS);
    dp_fleet_info(&f, &info);
    assert_int_equal(info.capacity, DP_FLEET_WAYS);
    assert_int_equal(info.inserts, DP_FLEET_WAYS);
    assert_int_equal(info.evictions, 1);
    assert_int_equal(info.created, 1000);
    munmap(mem, bytes);
}

static void test_two_choices(void **state)
{
    dp_fleet_t f;
    size_t bytes;
    void *mem = table(25, &f, &bytes);          /* two sets */
    dp_fleet_info_t info;
    dp_fleet_rec_t r;
    int i;

    (void)state;
    /* as many phones as entries: each goes to the emptier of its two
     * sets, so all fit (with one choice, one set would overflow) */
    for (i = 0; i < 2 * DP_FLEET_WAYS; i++) {
        dp_fleet_obs_t o = seen(0x0004f2100000 + (uint64_t)i * 7919,
                                5000 + i);

        assert_int_equal(dp_fleet_update(&f, &o), 0);
    }
    dp_fleet_info(&f, &info);
    assert_int_equal(info.evictions, 0);
    assert_int_equal(info.inserts, 2 * DP_FLEET_WAYS);
    for (i = 0; i < 2 * DP_FLEET_WAYS; i++) {
        dp_mac_t m = mac_n(0x0004f2100000 + (uint64_t)i * 7919);

        assert_int_equal(dp_fleet_get(&f, &m, &r), 1);
        assert_int_equal(r.last_seen, 5000 + i);
        /* an update finds it where it is: no second entry */
        {
            dp_fleet_obs_t o = seen(0x0004f2100000 + (uint64_t)i * 7919,
                                    6000);

            dp_fleet_update(&f, &o);
        }
    }
    dp_fleet_info(&f, &info);
    assert_int_equal(info.inserts, 2 * DP_FLEET_WAYS);
    /* one more: the oldest of all 32 goes (the first phone, now seen at
     * 6000 like the others: any of them; exactly one) */
    {
        dp_fleet_obs_t o = seen(0x0004f2999999, 7000);

        dp_fleet_update(&f, &o);
    }
    dp_fleet_info(&f, &info);
    assert_int_equal(info.evictions, 1);
    munmap(mem, bytes);
}

static void test_locks(void **state)
{
    dp_fleet_t f;
    size_t bytes;
    uint64_t *word;
    void *mem = table(12, &f, &bytes);          /* one set */
    dp_fleet_obs_t o = seen(0x0004f2000001, 2000);
    dp_fleet_info_t info;
    dp_fleet_rec_t r;
    pid_t dead;

    (void)state;
    word = f.locks;                     /* the only set's */
    /* held by a live process (this one's parent): the update is
     * dropped, bounded, and counted; reads give up too */
    *word = (uint64_t)getppid() << 32 | 1;
    assert_int_equal(dp_fleet_update(&f, &o), -1);
    dp_fleet_info(&f, &info);
    assert_int_equal(info.dropped, 1);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 0);
    /* held by a process that died: taken over */
    dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    *word = (uint64_t)dead << 32 | 7;
    assert_int_equal(dp_fleet_update(&f, &o), 0);
    assert_int_equal(*word & 1, 0);
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    munmap(mem, bytes);
}

static void test_processes(void **state)
{
    dp_fleet_t f;
    size_t bytes;
    void *mem = table(256, &f, &bytes);
    enum { PROCS = 4, EACH = 20000, MACS = 8 };
    dp_fleet_rec_t r;
    unsigned long total = 0, dropped;
    dp_fleet_info_t info;
    int p, i;

    (void)state;
    for (p = 0; p < PROCS; p++) {
        if (fork() == 0) {
            dp_fleet_t g;
            char err[100];

            dp_fleet_attach(&g, mem, bytes, 0, NULL, err, sizeof(err));
            for (i = 0; i < EACH; i++) {
                dp_fleet_obs_t o = seen(0x0004f2000000 + (uint64_t)(i % MACS),
                                        3000 + i);

                dp_fleet_update(&g, &o);
            }
            _exit(0);
        }
    }
    for (p = 0; p < PROCS; p++)
        wait(NULL);
    for (i = 0; i < MACS; i++) {
        dp_mac_t m = mac_n(0x0004f2000000 + (uint64_t)i);

        assert_int_equal(dp_fleet_get(&f, &m, &r), 1);
        total += r.requests;
    }
    /* every update counted once: none lost to a race (a dropped one
     * is counted as dropped) */
    dp_fleet_info(&f, &info);
    dropped = (unsigned long)info.dropped;
    assert_int_equal(total + dropped, (unsigned long)PROCS * EACH);
    assert_int_equal(info.inserts, MACS);
    munmap(mem, bytes);
}

static void test_garbage_strings(void **state)
{
    dp_fleet_t f;
    size_t bytes;
    void *mem = table(12, &f, &bytes);          /* one set */
    dp_fleet_obs_t o = seen(0x0004f2000001, 2000);
    dp_fleet_rec_t r;
    int w;

    (void)state;
    dp_fleet_update(&f, &o);
    /* a damaged file: no NUL anywhere in the strings */
    for (w = 0; w < DP_FLEET_WAYS; w++) {
        memset(f.recs[w].ua, 'A', sizeof(f.recs[w].ua));
        memset(f.recs[w].addr, 'B', sizeof(f.recs[w].addr));
        memset(f.recs[w].vendor, 'C', sizeof(f.recs[w].vendor));
    }
    assert_int_equal(dp_fleet_get(&f, &o.mac, &r), 1);
    assert_int_equal(strlen(r.ua), DP_FLEET_UA_MAX - 1);
    assert_int_equal(strlen(r.addr), DP_FLEET_ADDR_MAX - 1);
    assert_int_equal(strlen(r.vendor), DP_FLEET_VENDOR_MAX - 1);
    munmap(mem, bytes);
}

static void test_states_and_summary(void **state)
{
    /* 2026-12-15 00:00 UTC */
    const time_t now = 1797292800;
    dp_fleet_rec_t r;
    dp_fleet_summary_t s;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.used = 1;
    r.by = DP_FLEET_BY_CERT;
    r.validity = DP_TIME_VALID + 1;
    r.last_seen = r.last_ok = now - 60;
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_NORMAL);
    r.validity = DP_TIME_EXPIRED + 1;
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_TOLERANCE);
    r.validity = DP_TIME_NOT_YET_VALID + 1;
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_TOLERANCE);
    r.by = DP_FLEET_BY_PIN;
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_PINNED);
    r.by = DP_FLEET_BY_PASSWORD;        /* no certificate validity */
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_NORMAL);
    r.last_refused = r.last_ok;         /* refused last, same second */
    r.refusal = DP_FLEET_REFUSAL_BIND_PATH;
    r.refused_last = 1;
    assert_int_equal(dp_fleet_state(&r, now, 86400), DP_FLEET_REFUSED);
    /* not seen for longer than the stale interval, whatever else */
    assert_int_equal(dp_fleet_state(&r, now, 30), DP_FLEET_STALE);
    assert_int_equal(dp_fleet_state(&r, now, 0), DP_FLEET_REFUSED);
    assert_string_equal(dp_fleet_state_name(DP_FLEET_TOLERANCE), "tolerance");
    assert_null(dp_fleet_state_name(DP_FLEET_STATES));
    assert_string_equal(dp_fleet_by_name(DP_FLEET_BY_PIN), "pin");
    assert_null(dp_fleet_by_name(DP_FLEET_BY_NONE));
    assert_null(dp_fleet_refusal_name(0));
    assert_null(dp_fleet_refusal_name(DP_FLEET_REFUSALS));
    assert_string_equal(dp_fleet_refusal_name(DP_FLEET_REFUSAL_REASON
                                              + DP_REASON_UNLISTED),
                        "unlisted");

    /* months: December 2026 is 0, January 2027 is 1 */
    assert_int_equal(dp_fleet_month(now, now), 0);
    assert_int_equal(dp_fleet_month(1798761600 /* 2027-01-01 */, now), 1);
    assert_int_equal(dp_fleet_month(1796083200 /* 2026-12-01 */, now), 0);
    assert_int_equal(dp_fleet_month(1796083199 /* 2026-11-30 23:59:59 */,
                                    now), -1);
    /* beyond gmtime: clamped, never undefined */
    assert_true(dp_fleet_month((time_t)INT64_MAX, now) > 0);
    assert_true(dp_fleet_month((time_t)INT64_MIN, now) < 0);
    dp_fleet_summary_init(&s, now);
    assert_int_equal(s.year0, 2026);
    assert_int_equal(s.month0, 12);
    r.not_after = 1798761600;
    r.requests = 5;
    r.refused = 1;
    dp_fleet_summary_add(&s, &r, now, 86400);
    r.not_after = 1735689600;           /* 2025-01-01: long expired */
    r.refused_last = 0;
    dp_fleet_summary_add(&s, &r, now, 86400);
    r.not_after = now + 86400L * 365 * 3;
    dp_fleet_summary_add(&s, &r, now, 86400);
    r.not_after = 0;                    /* unknown: not in the timeline */
    dp_fleet_summary_add(&s, &r, now, 86400);
    assert_int_equal(s.phones, 4);
    assert_int_equal(s.expiry[1], 1);
    assert_int_equal(s.expired_before, 1);
    assert_int_equal(s.expiry_later, 1);
    assert_int_equal(s.state[DP_FLEET_REFUSED], 1);
    assert_int_equal(s.state[DP_FLEET_NORMAL], 3);
    assert_int_equal(s.refusals[DP_FLEET_REFUSAL_BIND_PATH], 1);
    assert_int_equal(s.requests, 20);
    assert_int_equal(s.refused, 4);
}

static void test_shown_text(void **state)
{
    char out[256];
    size_t n;

    (void)state;
    n = dp_fleet_json_text(out, sizeof(out),
                           "a\"b\\c</script><img src=x onerror='1'>&\n\xff");
    assert_string_equal(out, "a\\u0022b\\u005cc\\u003c/script\\u003e"
                        "\\u003cimg src=x onerror=\\u00271\\u0027\\u003e"
                        "\\u0026\\u000a\\u00ff");
    assert_int_equal(n, strlen(out));
    n = dp_fleet_html_text(out, sizeof(out), "<b onclick=\"x\">'&\x01\xe9");
    assert_string_equal(out, "&#60;b onclick=&#34;x&#34;&#62;&#39;&#38;&#1;"
                        "&#233;");
    /* cut to fit, NUL-terminated, the length needed returned */
    n = dp_fleet_html_text(out, 5, "<<<<");
    assert_int_equal(n, 20);
    assert_int_equal(strlen(out), 4);
    n = dp_fleet_json_text(NULL, 0, "ab");
    assert_int_equal(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_attach),
        cmocka_unit_test(test_update_and_claims),
        cmocka_unit_test(test_still_waiting),
        cmocka_unit_test(test_full_drops_oldest),
        cmocka_unit_test(test_two_choices),
        cmocka_unit_test(test_locks),
        cmocka_unit_test(test_processes),
        cmocka_unit_test(test_garbage_strings),
        cmocka_unit_test(test_states_and_summary),
        cmocka_unit_test(test_shown_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
