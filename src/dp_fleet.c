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

/* the most sets: 2^26 sets of 16 = 1G phones, 256 GiB */
#define MAX_SETS (1u << 26)

static uint32_t sets_for(size_t entries)
{
    uint32_t n = 1;

    if (entries == 0 || entries > (size_t)MAX_SETS * DP_FLEET_WAYS)
        return 0;
    while ((size_t)n * DP_FLEET_WAYS < entries)
        n <<= 1;
    return n;
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
    if (n == 0 || n > MAX_SETS || (n & (n - 1)) != 0
        || bytes_for(n) > len) {
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

static uint32_t set_of(const dp_fleet_t *f, const dp_mac_t *mac)
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
    return (uint32_t)x & (f->nsets - 1);
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

int dp_fleet_update(dp_fleet_t *f, const dp_fleet_obs_t *obs)
{
    uint32_t i = set_of(f, &obs->mac);
    dp_fleet_rec_t *set = &f->recs[(size_t)i * DP_FLEET_WAYS], *e = NULL;
    uint64_t held = lock_set(f, i);
    int w;

    if (held == 0)
        return -1;
    for (w = 0; w < DP_FLEET_WAYS; w++)
        if (set[w].used && memcmp(set[w].mac, obs->mac.b, 6) == 0) {
            e = &set[w];
            break;
        }
    if (e == NULL) {
        /* a free entry, else the one seen least recently */
        for (w = 0; w < DP_FLEET_WAYS; w++)
            if (!set[w].used || e == NULL
                || set[w].last_seen < e->last_seen) {
                e = &set[w];
                if (!e->used)
                    break;
            }
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
    unlock_set(f, i, held);
    return 0;
}

int dp_fleet_remove(dp_fleet_t *f, const dp_mac_t *mac)
{
    uint32_t i = set_of(f, mac);
    dp_fleet_rec_t *set = &f->recs[(size_t)i * DP_FLEET_WAYS];
    uint64_t held = lock_set(f, i);
    int w, found = 0;

    if (held == 0)
        return 0;
    for (w = 0; w < DP_FLEET_WAYS; w++)
        if (set[w].used && memcmp(set[w].mac, mac->b, 6) == 0) {
            memset(&set[w], 0, sizeof(set[w]));
            found = 1;
        }
    unlock_set(f, i, held);
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
    int w;

    if (read_set(f, set_of(f, mac), set) != 0)
        return 0;
    for (w = 0; w < DP_FLEET_WAYS; w++)
        if (set[w].used && memcmp(set[w].mac, mac->b, 6) == 0) {
            *out = set[w];
            return 1;
        }
    return 0;
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
