/* dp_fleet.c - the fleet record (dp_fleet.h).
 *
 * Part of devprov's pure-C core: libc only.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dp_fleet.h"
#include "dp_trust.h"

_Static_assert(sizeof(dp_fleet_rec_t) == DP_FLEET_REC_SIZE,
               "an entry is DP_FLEET_REC_SIZE bytes: the file layout");

#define MAGIC "DPFLEET1"
#define VERSION 1u

struct dp_fleet_hdr {
    char magic[8];
    uint32_t version, rec_size, ways, nsets;
    int64_t created;
    uint64_t inserts, evictions, dropped;     /* __atomic */
    uint64_t reserved;
};
_Static_assert(sizeof(struct dp_fleet_hdr) == 64, "the header is 64 bytes");

/* the most sets: 2^26 sets of 16 = 1G entries, 256 GiB */
#define MAX_SETS (1u << 26)

/* Room for ENTRIES and a quarter more: with two choices per phone the
 * sets fill evenly, but a table filled to the last entry still drops
 * some (bench/results/fleet.md) */
static uint32_t sets_for(size_t entries)
{
    size_t room;

    if (entries == 0 || entries > (size_t)MAX_SETS * DP_FLEET_WAYS / 2)
        return 0;
    room = entries + (entries + 3) / 4;
    return (uint32_t)((room + DP_FLEET_WAYS - 1) / DP_FLEET_WAYS);
}

static size_t bytes_for(uint32_t nsets)
{
    /* the lock words in whole cache lines, the entries after them */
    size_t locks = ((size_t)nsets * sizeof(uint64_t) + 63) / 64 * 64;

    return sizeof(struct dp_fleet_hdr) + locks
           + (size_t)nsets * DP_FLEET_WAYS * sizeof(dp_fleet_rec_t);
}

size_t dp_fleet_bytes(size_t entries)
{
    uint32_t n = sets_for(entries);

    return n ? bytes_for(n) : 0;
}

static void layout(dp_fleet_t *f, void *mem, uint32_t nsets)
{
    size_t locks = ((size_t)nsets * sizeof(uint64_t) + 63) / 64 * 64;

    f->hdr = mem;
    f->locks = (uint64_t *)((char *)mem + sizeof(struct dp_fleet_hdr));
    f->recs = (dp_fleet_rec_t *)((char *)f->locks + locks);
    f->nsets = nsets;
    f->pid = (uint32_t)getpid();
}

void dp_fleet_format(dp_fleet_t *f, void *mem, size_t entries, time_t now)
{
    uint32_t n = sets_for(entries);

    memset(mem, 0, bytes_for(n));
    layout(f, mem, n);
    memcpy(f->hdr->magic, MAGIC, 8);
    f->hdr->version = VERSION;
    f->hdr->rec_size = DP_FLEET_REC_SIZE;
    f->hdr->ways = DP_FLEET_WAYS;
    f->hdr->nsets = n;
    f->hdr->created = (int64_t)now;
}

int dp_fleet_attach(dp_fleet_t *f, void *mem, size_t len, size_t entries,
                    size_t *used, char *err, size_t errlen)
{
    const struct dp_fleet_hdr *h = mem;
    uint32_t n;

    if (len < sizeof(*h) || memcmp(h->magic, MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a devprov fleet table (no %s header)",
                 MAGIC);
        return -1;
    }
    n = h->nsets;
    if (h->version != VERSION || h->rec_size != DP_FLEET_REC_SIZE
        || h->ways != DP_FLEET_WAYS) {
        snprintf(err, errlen, "a fleet table of another layout (version "
                 "%u, %u-byte entries, %u ways; this is version %u, %u, "
                 "%u)", h->version, h->rec_size, h->ways, VERSION,
                 DP_FLEET_REC_SIZE, DP_FLEET_WAYS);
        return -1;
    }
    if (n == 0 || n > MAX_SETS || bytes_for(n) > len) {
        snprintf(err, errlen, "a damaged fleet table (%u sets in %zu "
                 "bytes)", n, len);
        return -1;
    }
    if (entries != 0 && sets_for(entries) != n) {
        snprintf(err, errlen, "a fleet table for %zu phones, not %zu",
                 (size_t)n * DP_FLEET_WAYS,
                 (size_t)sets_for(entries) * DP_FLEET_WAYS);
        return -1;
    }
    layout(f, mem, n);
    if (used != NULL)
        *used = bytes_for(n);
    return 0;
}

/* ------------------------------------------------------------------ */
/* the sets' lock words: sequence number (low 32 bits, odd: held) and
 * the holder's process id (high 32 bits)                              */

/* The two sets MAC may live in (two choices: a new phone goes to the
 * emptier, so that sets overflow only when the table is nearly full);
 * one set when the table has only one. */
static void sets_of(const dp_fleet_t *f, const dp_mac_t *mac, uint32_t *a,
                    uint32_t *b)
{
    uint64_t x = 0;
    int i;

    for (i = 0; i < DP_MAC_LEN; i++)
        x = x << 8 | mac->b[i];
    /* splitmix64's finaliser: neighbouring MACs (one vendor's OUI, serial
     * numbers in a row) spread over all sets */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    /* each half of the hash onto 0 .. nsets - 1 (multiply and shift: any
     * number of sets) */
    *a = (uint32_t)(((x & 0xffffffffu) * f->nsets) >> 32);
    *b = (uint32_t)(((x >> 32) * f->nsets) >> 32);
    if (*b == *a && f->nsets > 1)
        *b = (*a + 1) % f->nsets;
}

static int holder_dead(uint64_t w)
{
    pid_t pid = (pid_t)(w >> 32);

    return pid > 0 && kill(pid, 0) == -1 && errno == ESRCH;
}

/* Take set I's lock: its word as taken, or 0 (not taken: dropped). */
static uint64_t lock_set(dp_fleet_t *f, uint32_t i)
{
    uint64_t *word = &f->locks[i];
    int spin;

    for (spin = 0; spin < DP_FLEET_SPIN_MAX; spin++) {
        uint64_t w = __atomic_load_n(word, __ATOMIC_RELAXED);
        uint64_t mine = (uint64_t)f->pid << 32;

        if ((w & 1) == 0) {
            mine |= (uint32_t)w + 1;
            if (__atomic_compare_exchange_n(word, &w, mine, 0,
                                            __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return mine;
        }
        else if (spin >= 64 && holder_dead(w)) {
            /* a process died holding it (the set may be half written:
             * its entries are bounded, and the reader's copy ends every
             * string) */
            mine |= (uint32_t)w + 2;
            if (__atomic_compare_exchange_n(word, &w, mine, 0,
                                            __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return mine;
        }
        if (spin >= 16)
            sched_yield();
    }
    __atomic_fetch_add(&f->hdr->dropped, 1, __ATOMIC_RELAXED);
    return 0;
}

static void unlock_set(dp_fleet_t *f, uint32_t i, uint64_t held)
{
    __atomic_store_n(&f->locks[i], (uint64_t)(uint32_t)(held + 1),
                     __ATOMIC_RELEASE);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strnlen(src, size - 1) : 0;

    memcpy(dst, src != NULL ? src : "", n);
    memset(dst + n, 0, size - n);
}

static void saturating_inc(uint32_t *n)
{
    if (*n != UINT32_MAX)
        (*n)++;
}

/* Lock the sets A and B (in index order, so that two writers never
 * wait on each other crosswise): 0, or -1 (dropped: neither held). */
static int lock_pair(dp_fleet_t *f, uint32_t a, uint32_t b, uint64_t *ha,
                     uint64_t *hb)
{
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t hlo = lock_set(f, lo), hhi = 0;

    if (hlo == 0)
        return -1;
    if (hi != lo && (hhi = lock_set(f, hi)) == 0) {
        unlock_set(f, lo, hlo);
        return -1;
    }
    *ha = a == lo ? hlo : hhi;
    *hb = a == lo ? hhi : hlo;
    return 0;
}

static void unlock_pair(dp_fleet_t *f, uint32_t a, uint32_t b, uint64_t ha,
                        uint64_t hb)
{
    if (b != a)
        unlock_set(f, b, hb);
    unlock_set(f, a, ha);
}

/* MAC's entry in set I, or NULL */
static dp_fleet_rec_t *find(dp_fleet_rec_t *set, const unsigned char *mac)
{
    int w;

    for (w = 0; w < DP_FLEET_WAYS; w++)
        if (set[w].used && memcmp(set[w].mac, mac, 6) == 0)
            return &set[w];
    return NULL;
}

/* A free entry of SET, or its entry seen least recently; *FREE counts
 * its free entries. */
static dp_fleet_rec_t *victim(dp_fleet_rec_t *set, int *nfree)
{
    dp_fleet_rec_t *e = NULL, *oldest = NULL;
    int w;

    *nfree = 0;
    for (w = 0; w < DP_FLEET_WAYS; w++) {
        if (!set[w].used) {
            if (e == NULL)
                e = &set[w];
            ++*nfree;
        }
        else if (oldest == NULL || set[w].last_seen < oldest->last_seen)
            oldest = &set[w];
    }
    return e != NULL ? e : oldest;
}

int dp_fleet_update(dp_fleet_t *f, const dp_fleet_obs_t *obs)
{
    uint32_t a, b;
    dp_fleet_rec_t *sa, *sb, *e;
    uint64_t ha = 0, hb = 0;

    sets_of(f, &obs->mac, &a, &b);
    if (lock_pair(f, a, b, &ha, &hb) != 0)
        return -1;
    sa = &f->recs[(size_t)a * DP_FLEET_WAYS];
    sb = &f->recs[(size_t)b * DP_FLEET_WAYS];
    e = find(sa, obs->mac.b);
    if (e == NULL && b != a)
        e = find(sb, obs->mac.b);
    if (e == NULL) {
        /* the emptier of the two sets; when both are full, the entry
         * seen least recently of the two */
        int fa, fb;
        dp_fleet_rec_t *va = victim(sa, &fa), *vb = b != a
                                                    ? victim(sb, &fb) : va;

        if (b == a)
            fb = fa;
        if (fa > 0 || fb > 0)
            e = fb > fa ? vb : va;
        else
            e = vb->last_seen < va->last_seen ? vb : va;
        __atomic_fetch_add(e->used ? &f->hdr->evictions : &f->hdr->inserts,
                           1, __ATOMIC_RELAXED);
        memset(e, 0, sizeof(*e));
        memcpy(e->mac, obs->mac.b, 6);
        e->used = 1;
        e->first_seen = (int64_t)obs->now;
    }
    e->last_seen = (int64_t)obs->now;
    saturating_inc(&e->requests);
    if (obs->refusal != DP_FLEET_REFUSAL_NONE) {
        saturating_inc(&e->refused);
        e->last_refused = (int64_t)obs->now;
        e->refusal = (uint8_t)obs->refusal;
    }
    else
        e->last_ok = (int64_t)obs->now;
    e->refused_last = obs->refusal != DP_FLEET_REFUSAL_NONE;
    /* what only the phone itself says: never from a claim, so that a
     * forged certificate naming a listed MAC cannot rewrite the genuine
     * phone's address, firmware or certificate */
    if (obs->identified) {
        e->by = (uint8_t)obs->by;
        e->listed = obs->listed ? 1 : 0;
        e->validity = obs->validity >= 0 ? (uint8_t)(obs->validity + 1) : 0;
        e->not_after = (int64_t)obs->not_after;
        if (obs->sha256 != NULL)
            memcpy(e->sha256, obs->sha256, 32);
        else
            memset(e->sha256, 0, 32);
        copy_str(e->vendor, sizeof(e->vendor), obs->vendor);
        copy_str(e->addr, sizeof(e->addr), obs->addr);
        copy_str(e->ua, sizeof(e->ua), obs->ua);
    }
    unlock_pair(f, a, b, ha, hb);
    return 0;
}

int dp_fleet_remove(dp_fleet_t *f, const dp_mac_t *mac)
{
    uint32_t a, b, k;
    uint64_t ha = 0, hb = 0;
    int found = 0;

    sets_of(f, mac, &a, &b);
    if (lock_pair(f, a, b, &ha, &hb) != 0)
        return 0;
    for (k = 0; k < (b != a ? 2u : 1u); k++) {
        dp_fleet_rec_t *e = find(&f->recs[(size_t)(k ? b : a)
                                          * DP_FLEET_WAYS], mac->b);

        if (e != NULL) {
            memset(e, 0, sizeof(*e));
            found = 1;
        }
    }
    unlock_pair(f, a, b, ha, hb);
    return found;
}

/* A consistent copy of set I into OUT: 0, or -1 if it kept changing. */
static int read_set(const dp_fleet_t *f, uint32_t i, dp_fleet_rec_t *out)
{
    const uint64_t *word = &f->locks[i];
    int tries, w;

    for (tries = 0; tries < DP_FLEET_SPIN_MAX; tries++) {
        uint64_t a = __atomic_load_n(word, __ATOMIC_ACQUIRE), b;

        if (a & 1) {
            if (tries >= 64 && holder_dead(a))
                break;          /* never released: as torn */
            if (tries >= 16)
                sched_yield();
            continue;
        }
        memcpy(out, &f->recs[(size_t)i * DP_FLEET_WAYS],
               DP_FLEET_WAYS * sizeof(*out));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        b = __atomic_load_n(word, __ATOMIC_RELAXED);
        if ((uint32_t)a == (uint32_t)b) {
            for (w = 0; w < DP_FLEET_WAYS; w++) {
                out[w].vendor[sizeof(out[w].vendor) - 1] = '\0';
                out[w].addr[sizeof(out[w].addr) - 1] = '\0';
                out[w].ua[sizeof(out[w].ua) - 1] = '\0';
            }
            return 0;
        }
    }
    return -1;
}

size_t dp_fleet_each(const dp_fleet_t *f,
                     int (*fn)(const dp_fleet_rec_t *rec, void *arg),
                     void *arg)
{
    dp_fleet_rec_t set[DP_FLEET_WAYS];
    size_t skipped = 0;
    uint32_t i;
    int w;

    for (i = 0; i < f->nsets; i++) {
        if (read_set(f, i, set) != 0) {
            skipped += DP_FLEET_WAYS;
            continue;
        }
        for (w = 0; w < DP_FLEET_WAYS; w++)
            if (set[w].used && fn(&set[w], arg) != 0)
                return skipped;
    }
    return skipped;
}

int dp_fleet_get(const dp_fleet_t *f, const dp_mac_t *mac,
                 dp_fleet_rec_t *out)
{
    dp_fleet_rec_t set[DP_FLEET_WAYS];
    uint32_t ab[2], k;
    int w;

    sets_of(f, mac, &ab[0], &ab[1]);
    for (k = 0; k < (ab[1] != ab[0] ? 2u : 1u); k++) {
        if (read_set(f, ab[k], set) != 0)
            continue;
        for (w = 0; w < DP_FLEET_WAYS; w++)
            if (set[w].used && memcmp(set[w].mac, mac->b, 6) == 0) {
                *out = set[w];
                return 1;
            }
    }
    return 0;
}

int dp_fleet_still_waiting(const dp_fleet_t *phones,
                           const dp_fleet_rec_t *rec)
{
    dp_fleet_rec_t now;
    dp_mac_t m;

    memcpy(m.b, rec->mac, 6);
    return !(dp_fleet_get(phones, &m, &now) && now.last_ok != 0
             && now.last_ok >= rec->last_seen);
}

void dp_fleet_info(const dp_fleet_t *f, dp_fleet_info_t *out)
{
    out->capacity = (size_t)f->nsets * DP_FLEET_WAYS;
    out->created = (time_t)f->hdr->created;
    out->inserts = __atomic_load_n(&f->hdr->inserts, __ATOMIC_RELAXED);
    out->evictions = __atomic_load_n(&f->hdr->evictions, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&f->hdr->dropped, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* states and summaries                                                */

dp_fleet_state_t dp_fleet_state(const dp_fleet_rec_t *rec, time_t now,
                                time_t stale)
{
    if (stale > 0 && rec->last_seen < (int64_t)now - (int64_t)stale)
        return DP_FLEET_STALE;
    if (rec->refused_last)
        return DP_FLEET_REFUSED;
    if (rec->by == DP_FLEET_BY_PIN)
        return DP_FLEET_PINNED;
    if (rec->by == DP_FLEET_BY_CERT
        && (rec->validity == DP_TIME_EXPIRED + 1
            || rec->validity == DP_TIME_NOT_YET_VALID + 1))
        return DP_FLEET_TOLERANCE;
    return DP_FLEET_NORMAL;
}

const char *dp_fleet_state_name(dp_fleet_state_t s)
{
    static const char *const names[DP_FLEET_STATES] = {
        "normal", "tolerance", "pinned", "refused", "stale"
    };

    return (unsigned)s < DP_FLEET_STATES ? names[s] : NULL;
}

const char *dp_fleet_refusal_name(unsigned c)
{
    if (c == DP_FLEET_REFUSAL_BIND_PATH)
        return "bind_path";
    if (c == DP_FLEET_REFUSAL_DB_UNAVAILABLE)
        return "db_unavailable";
    if (c > DP_FLEET_REFUSAL_REASON && c < DP_FLEET_REFUSALS)
        return dp_reason_counter((dp_reason_t)(c - DP_FLEET_REFUSAL_REASON));
    return NULL;
}

const char *dp_fleet_by_name(unsigned by)
{
    switch (by) {
    case DP_FLEET_BY_CERT:
        return "certificate";
    case DP_FLEET_BY_PIN:
        return "pin";
    case DP_FLEET_BY_PASSWORD:
        return "password";
    default:
        return NULL;
    }
}

int dp_fleet_month(time_t t, time_t now)
{
    /* a notAfter from a damaged record (or year 9999) may be beyond what
     * gmtime_r can say, or the difference beyond an int: clamped */
    const long long far = 1000000;
    struct tm a, b;
    long long m;

    if (gmtime_r(&now, &a) == NULL || gmtime_r(&t, &b) == NULL)
        return t < now ? (int)-far : (int)far;
    m = ((long long)b.tm_year - a.tm_year) * 12 + (b.tm_mon - a.tm_mon);
    return (int)(m < -far ? -far : m > far ? far : m);
}

void dp_fleet_summary_init(dp_fleet_summary_t *s, time_t now)
{
    struct tm tm;

    memset(s, 0, sizeof(*s));
    gmtime_r(&now, &tm);
    s->year0 = tm.tm_year + 1900;
    s->month0 = tm.tm_mon + 1;
}

void dp_fleet_summary_add(dp_fleet_summary_t *s, const dp_fleet_rec_t *rec,
                          time_t now, time_t stale)
{
    dp_fleet_state_t st = dp_fleet_state(rec, now, stale);

    s->phones++;
    s->state[st]++;
    s->requests += rec->requests;
    s->refused += rec->refused;
    if (st == DP_FLEET_REFUSED && rec->refusal < DP_FLEET_REFUSALS)
        s->refusals[rec->refusal]++;
    if (rec->not_after != 0) {
        int m = dp_fleet_month((time_t)rec->not_after, now);

        if (m < 0)
            s->expired_before++;
        else if (m < DP_FLEET_MONTHS)
            s->expiry[m]++;
        else
            s->expiry_later++;
    }
}

/* ------------------------------------------------------------------ */
/* shown text                                                          */

static size_t put(char *out, size_t outlen, size_t n, const char *s,
                  size_t len)
{
    size_t k;

    for (k = 0; k < len; k++, n++)
        if (n + 1 < outlen)
            out[n] = s[k];
    return n;
}

static size_t finish(char *out, size_t outlen, size_t n)
{
    if (outlen > 0)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

size_t dp_fleet_json_text(char *out, size_t outlen, const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];

        if (c >= 0x20 && c < 0x7f && !strchr("\"\\<>&'", c))
            n = put(out, outlen, n, (const char *)&c, 1);
        else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            n = put(out, outlen, n, esc, 6);
        }
    }
    return finish(out, outlen, n);
}

size_t dp_fleet_html_text(char *out, size_t outlen, const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];

        if (c >= 0x20 && c < 0x7f && !strchr("&<>\"'", c))
            n = put(out, outlen, n, (const char *)&c, 1);
        else
            n = put(out, outlen, n, esc,
                    (size_t)snprintf(esc, sizeof(esc), "&#%u;", c));
    }
    return finish(out, outlen, n);
}
