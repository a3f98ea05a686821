/* allowlist_bench.c - load time, memory and lookup cost of the allowlist
 * (src/dp_allowlist.c) at 10k, 100k and 1M entries.
 *
 *   allowlist_bench [-o results.md] [-s seed] [-n N[,N...]]
 *       The benchmark: for each size, generate an allowlist file like a
 *       real deployment's (random unique unicast MACs, mostly from desk
 *       phone vendors' OUIs, in all the accepted spellings; some lines
 *       with a label, attributes, a pin; a few comments), then measure
 *         - dp_allowlist_load(): 3 runs, best and median;
 *         - memory: dp_allowlist_memory() and per entry, cross-checked
 *           against the growth of the resident set (/proc/self/statm)
 *           and its peak during the load (VmHWM, reset via clear_refs);
 *         - dp_allowlist_lookup(): ns per lookup over 1M random hits and
 *           1M random misses (unlisted MACs of the same vendors).
 *       A table on stdout, and as Markdown in -o (default
 *       bench/results/allowlist.md).  Exits 1 if a lookup is wrong.
 *
 *   allowlist_bench --gen N SEED FILE [FIRST-LINE]
 *       Write an allowlist of N generated entries to FILE (FIRST-LINE, if
 *       given, becomes the file's first line; its MAC is kept out of the
 *       generated ones).  Used by bench/reload_under_load.py.
 *
 *   allowlist_bench --load FILE [RUNS]
 *       Load FILE RUNS times (default 3) and print one line:
 *       "entries=N best_ms=X median_ms=Y memory=BYTES".
 *
 * Links build/libdpcore.a; see bench/bench.mk.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/dp_allowlist.h"
#include "src/dp_mac.h"

#define RUNS 3
#define LOOKUPS 1000000

/* -- random numbers (splitmix64: fast, and reproducible from a seed) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* -- a set of 48-bit MACs, to keep the generated ones unique ------------ */

typedef struct {
    uint64_t *slot;           /* MAC + 1; 0 is empty */
    size_t mask;
} macset_t;

static int set_init(macset_t *s, size_t n)
{
    size_t cap = 1024;

    while (cap < 2 * n)
        cap *= 2;
    s->slot = calloc(cap, sizeof(*s->slot));
    s->mask = cap - 1;
    return s->slot ? 0 : -1;
}

/* Add MAC; returns 0 if it was already there. */
static int set_add(macset_t *s, uint64_t mac)
{
    size_t j = (size_t)((mac * 0x9e3779b97f4a7c15ULL) >> 20) & s->mask;

    while (s->slot[j] != 0) {
        if (s->slot[j] == mac + 1)
            return 0;
        j = (j + 1) & s->mask;
    }
    s->slot[j] = mac + 1;
    return 1;
}

static int set_has(const macset_t *s, uint64_t mac)
{
    size_t j = (size_t)((mac * 0x9e3779b97f4a7c15ULL) >> 20) & s->mask;

    while (s->slot[j] != 0) {
        if (s->slot[j] == mac + 1)
            return 1;
        j = (j + 1) & s->mask;
    }
    return 0;
}

/* -- generated deployments ---------------------------------------------- */

/* Desk-phone vendors' OUIs: a real list is mostly a handful of OUIs,
 * which is what the table's hash has to spread. */
static const struct {
    uint32_t oui;
    const char *vendor;
} OUIS[] = {
    {0x0004F2, "polycom"}, {0x64167F, "polycom"},
    {0x805EC0, "yealink"}, {0x001565, "yealink"}, {0x249AD8, "yealink"},
    {0x000413, "snom"}, {0x000B82, "grandstream"},
};
#define NOUIS (sizeof(OUIS) / sizeof(OUIS[0]))

static const char *const SITES[] = {
    "berlin", "hamburg", "munich", "hq", "branch-3", "paris", "lab",
    "warehouse.north", "london", "remote/home-office",
};
#define NSITES (sizeof(SITES) / sizeof(SITES[0]))

/* A random unicast MAC: 85% under a phone vendor's OUI, the rest
 * anything with the group bit clear (never all-zero). */
static uint64_t random_mac(void)
{
    uint64_t m;

    if (rnd_below(100) < 85)
        return ((uint64_t)OUIS[rnd_below(NOUIS)].oui << 24)
            | (rnd() & 0xffffffULL);
    do
        m = rnd() & 0xfeffffffffffULL;       /* group bit of octet 0 clear */
    while (m == 0);
    return m;
}

static void mac_from_u64(uint64_t v, dp_mac_t *mac)
{
    int i;

    for (i = DP_MAC_LEN - 1; i >= 0; i--) {
        mac->b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/* Append MAC V to P in one of the accepted spellings. */
static char *put_mac(char *p, uint64_t v)
{
    unsigned b[6];
    int i, k = (int)rnd_below(100);

    for (i = 5; i >= 0; i--) {
        b[i] = (unsigned)(v & 0xff);
        v >>= 8;
    }
    if (k < 70)
        p += sprintf(p, "%02X%02X%02X%02X%02X%02X", b[0], b[1], b[2], b[3],
                     b[4], b[5]);
    else if (k < 85)
        p += sprintf(p, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                     b[3], b[4], b[5]);
    else if (k < 95)
        p += sprintf(p, "%02X-%02X-%02X-%02X-%02X-%02X", b[0], b[1], b[2],
                     b[3], b[4], b[5]);
    else
        p += sprintf(p, "%02x%02x.%02x%02x.%02x%02x", b[0], b[1], b[2], b[3],
                     b[4], b[5]);
    return p;
}

static const char *vendor_of(uint64_t mac)
{
    size_t i;

    for (i = 0; i < NOUIS; i++)
        if (OUIS[i].oui == (uint32_t)(mac >> 24))
            return OUIS[i].vendor;
    return NULL;
}

/* Append one allowlist line (with its newline) for MAC V. */
static char *put_line(char *p, uint64_t v, size_t n)
{
    int k = (int)rnd_below(100);
    const char *vendor = vendor_of(v);
    size_t i;

    p = put_mac(p, v);
    if (k < 30) {                                  /* bare MAC */
    }
    else if (k < 60) {                             /* MAC label */
        p += sprintf(p, " desk-%zu", n);
    }
    else if (k < 94) {                             /* label and attributes */
        p += sprintf(p, "  desk-%zu site=%s floor=%zu", n,
                     SITES[rnd_below(NSITES)], rnd_below(12));
        if (vendor != NULL && rnd_below(2) == 0)
            p += sprintf(p, " vendor=%s", vendor);
    }
    else if (k < 97) {                             /* pinned certificate */
        p += sprintf(p, " lab-%zu pin=sha256:", n);
        for (i = 0; i < 4; i++)
            p += sprintf(p, "%016llx", (unsigned long long)rnd());
    }
    else {                                         /* attributes, no label */
        p += sprintf(p, "\tsite=%s room=%zu owner=user%zu@example.org",
                     SITES[rnd_below(NSITES)], rnd_below(500), n);
    }
    if (rnd_below(50) == 0)
        p += sprintf(p, "   # added %zu", n);
    *p++ = '\n';
    return p;
}

#define LINE_BOUND 256                  /* no generated line is longer */

/* Generate N unique MACs into MACS (and SET), and the file text into a
 * malloc'd buffer.  FIRST, if not NULL, is the first line; its MAC
 * (already in SET) is not generated again. */
static char *generate(size_t n, uint64_t *macs, macset_t *set,
                      const char *first, size_t *len)
{
    char *buf = malloc((n / 100 + 2) * 64 + n * LINE_BOUND
                       + (first ? strlen(first) + 2 : 0) + 256);
    char *p = buf;
    size_t i;

    if (buf == NULL)
        return NULL;
    p += sprintf(p, "# devprov allowlist: %zu generated phones\n", n);
    if (first != NULL)
        p += sprintf(p, "%s\n", first);
    for (i = 0; i < n; i++) {
        uint64_t m;
        do
            m = random_mac();
        while (!set_add(set, m));
        macs[i] = m;
        if (i % 1000 == 999)
            p += sprintf(p, "\n# --- floor block %zu ---\n", i / 1000);
        p = put_line(p, m, i);
    }
    *len = (size_t)(p - buf);
    return buf;
}

static int write_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: write failed\n", path);
        return -1;
    }
    return 0;
}

/* -- measuring ------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long page_size;

/* Resident set size in bytes (/proc/self/statm, second field). */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * page_size;
}

/* Peak RSS (VmHWM) in bytes, and a way to reset it (Linux >= 4.0). */
static long hwm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static int reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Load PATH RUNS times; fills BEST and MEDIAN (seconds) and returns the
 * last list loaded (the caller frees it), NULL on error. */
static dp_allowlist_t *timed_load(const char *path, int runs, double *best,
                                  double *median)
{
    double t[16];
    dp_allowlist_t *al = NULL;
    char err[512];
    int i;

    if (runs > 16)
        runs = 16;
    for (i = 0; i < runs; i++) {
        double t0;
        dp_allowlist_free(al);
        malloc_trim(0);
        t0 = now_s();
        al = dp_allowlist_load(path, err, sizeof(err));
        t[i] = now_s() - t0;
        if (al == NULL) {
            fprintf(stderr, "load failed: %s\n", err);
            return NULL;
        }
    }
    qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
    *best = t[0];
    *median = t[runs / 2];
    return al;
}

typedef struct {
    size_t n;
    size_t file_bytes;
    double gen_s;
    double load_best, load_median;
    size_t memory;
    long rss_growth, hwm_growth;
    double ns_hit, ns_miss;
} result_t;

static volatile size_t sink;           /* keeps the lookups' results alive */

/* ns per lookup over the COUNT queries Q; each must give WANT. */
static double timed_lookups(const dp_allowlist_t *al, const dp_mac_t *q,
                            size_t count, int want, size_t *wrong)
{
    dp_entry_t e;
    size_t i, found = 0, sum = 0;
    double t0;

    for (i = 0; i < count / 10; i++)                /* warm-up */
        found += (size_t)dp_allowlist_lookup(al, &q[i], &e);
    found = 0;
    t0 = now_s();
    for (i = 0; i < count; i++)
        if (dp_allowlist_lookup(al, &q[i], &e)) {
            found++;
            sum += (unsigned char)e.label[0];       /* use the entry */
        }
    t0 = now_s() - t0;
    *wrong += want ? count - found : found;
    sink += sum;
    return t0 * 1e9 / (double)count;
}

static int run_size(size_t n, const char *dir, result_t *r)
{
    char path[4096];
    macset_t set;
    uint64_t *macs = malloc(n * sizeof(*macs));
    dp_mac_t *hits = malloc(LOOKUPS * sizeof(*hits));
    dp_mac_t *misses = malloc(LOOKUPS * sizeof(*misses));
    dp_allowlist_t *al;
    dp_entry_t e;
    char *buf;
    size_t len, i, wrong = 0;
    long rss0, rss1;
    double t0;

    memset(r, 0, sizeof(*r));
    r->n = n;
    if (macs == NULL || hits == NULL || misses == NULL
        || set_init(&set, n) != 0) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/allowlist-%zu", dir, n);
    t0 = now_s();
    buf = generate(n, macs, &set, NULL, &len);
    if (buf == NULL || write_file(path, buf, len) != 0)
        return -1;
    r->gen_s = now_s() - t0;
    r->file_bytes = len;
    free(buf);

    /* queries: listed MACs at random, and unlisted MACs of the same mix */
    for (i = 0; i < LOOKUPS; i++) {
        uint64_t m;
        mac_from_u64(macs[rnd_below(n)], &hits[i]);
        do
            m = random_mac();
        while (set_has(&set, m));
        mac_from_u64(m, &misses[i]);
    }

    al = timed_load(path, RUNS, &r->load_best, &r->load_median);
    if (al == NULL)
        return -1;
    if (dp_allowlist_count(al) != n) {
        fprintf(stderr, "%s: %zu entries, expected %zu\n", path,
                dp_allowlist_count(al), n);
        return -1;
    }
    /* every generated MAC is found */
    for (i = 0; i < n; i++) {
        dp_mac_t m;
        mac_from_u64(macs[i], &m);
        if (!dp_allowlist_lookup(al, &m, &e))
            wrong++;
    }
    dp_allowlist_free(al);
    free(macs);

    /* memory: RSS before and after one more load, with freed memory
     * handed back to the kernel on both sides */
    malloc_trim(0);
    rss0 = rss_bytes();
    reset_hwm();
    al = dp_allowlist_load(path, path, sizeof(path));
    if (al == NULL) {
        fprintf(stderr, "load failed: %s\n", path);
        return -1;
    }
    r->hwm_growth = hwm_bytes() - rss0;
    malloc_trim(0);
    rss1 = rss_bytes();
    r->rss_growth = rss1 - rss0;
    r->memory = dp_allowlist_memory(al);

    r->ns_hit = timed_lookups(al, hits, LOOKUPS, 1, &wrong);
    r->ns_miss = timed_lookups(al, misses, LOOKUPS, 0, &wrong);

    dp_allowlist_free(al);
    free(hits);
    free(misses);
    free(set.slot);
    unlink(path);
    if (wrong) {
        fprintf(stderr, "%zu entries: %zu wrong lookups\n", n, wrong);
        return -1;
    }
    return 0;
}

/* -- output ----------------------------------------------------------------- */

static void cpu_model(char *out, size_t outlen)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(out, outlen, "unknown CPU");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v != NULL) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = '\0';
                snprintf(out, outlen, "%s", v);
            }
            break;
        }
    fclose(f);
}

static char start_load[64] = "unknown";

/* The 1-minute load average before the run: other work on the machine
 * skews the numbers. */
static void loadavg(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", start_load);
}

static void read_loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char first[32];

    if (f == NULL)
        return;
    if (fscanf(f, "%31s", first) == 1)
        snprintf(start_load, sizeof(start_load), "%s", first);
    fclose(f);
}

static const char *human(size_t n, char *buf, size_t len)
{
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(buf, len, "%zuM", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(buf, len, "%zuk", n / 1000);
    else
        snprintf(buf, len, "%zu", n);
    return buf;
}

static void print_table(FILE *f, const result_t *r, size_t k, int md)
{
    static const char *const head[] = {
        "entries", "file MB", "load best ms", "load median ms",
        "memory MB", "B/entry", "RSS growth B/entry", "peak B/entry",
        "hit ns", "miss ns",
    };
    const size_t nh = sizeof(head) / sizeof(head[0]);
    size_t i;
    char h[32];

    if (md) {
        for (i = 0; i < nh; i++)
            fprintf(f, "| %s ", head[i]);
        fputs("|\n", f);
        for (i = 0; i < nh; i++)
            fputs(i == 0 ? "|---" : "|---:", f);
        fputs("|\n", f);
    }
    else {
        fprintf(f, "%-8s %8s %13s %15s %10s %8s %19s %13s %7s %7s\n",
                head[0], head[1], head[2], head[3], head[4], head[5],
                head[6], head[7], head[8], head[9]);
    }
    for (i = 0; i < k; i++) {
        const result_t *x = &r[i];
        double n = (double)x->n;
        const char *fmt = md
            ? "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f "
              "| %.0f |\n"
            : "%-8s %8.1f %13.1f %15.1f %10.1f %8.1f %19.1f %13.1f %7.0f "
              "%7.0f\n";
        fprintf(f, fmt, human(x->n, h, sizeof(h)),
                (double)x->file_bytes / 1e6, x->load_best * 1e3,
                x->load_median * 1e3, (double)x->memory / 1e6,
                (double)x->memory / n, (double)x->rss_growth / n,
                (double)x->hwm_growth / n, x->ns_hit, x->ns_miss);
    }
}

static int write_markdown(const char *path, const result_t *r, size_t k,
                          uint64_t seed)
{
    char cpu[256], date[64], load[64];
    time_t t = time(NULL);
    FILE *f;
    char dir[4096], *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: %s\n", dir, strerror(errno));
            return -1;
        }
    }
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    cpu_model(cpu, sizeof(cpu));
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
    loadavg(load, sizeof(load));
    fprintf(f, "# Allowlist benchmark\n\n"
            "`make bench-allowlist` (bench/allowlist_bench.c), %s, %s, "
            "%ld CPUs, load average before the run %s, seed %llu.\n\n",
            date, cpu, sysconf(_SC_NPROCESSORS_ONLN), load,
            (unsigned long long)seed);
    print_table(f, r, k, 1);
    fprintf(f, "\n"
            "- Generated lists: unique unicast MACs (85%% under seven desk-"
            "phone OUIs), in all accepted spellings; 30%% bare MAC, 30%% with "
            "a label, 34%% with label and attributes (site=, floor=, "
            "vendor=), 3%% with a pin=sha256:, 3%% attributes only; a comment "
            "line every 1000 entries.\n"
            "- load: dp_allowlist_load() (read + parse + build), %d runs.\n"
            "- memory: dp_allowlist_memory() (hash table + string arena "
            "capacity); RSS growth: resident set after minus before one "
            "load (/proc/self/statm, malloc_trim on both sides); peak: VmHWM "
            "during that load minus the RSS before it (includes the file "
            "buffer and the table doubling).\n"
            "- lookups: dp_allowlist_lookup() with the entry filled in, "
            "%d random listed MACs (hit) and %d random unlisted MACs of the "
            "same vendors (miss), in random order.\n",
            RUNS, LOOKUPS, LOOKUPS);
    return fclose(f) == 0 ? 0 : -1;
}

/* -- modes ------------------------------------------------------------------ */

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1000, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1000000, end++;
    if (*end != '\0' || v == 0 || v > 50000000)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int mode_gen(int argc, char **argv)
{
    size_t n, len;
    uint64_t *macs;
    macset_t set;
    char *buf;
    const char *first = argc > 5 ? argv[5] : NULL;

    if (argc < 5 || parse_size(argv[2], &n) != 0) {
        fprintf(stderr, "usage: %s --gen N SEED FILE [FIRST-LINE]\n",
                argv[0]);
        return 2;
    }
    rng_state = strtoull(argv[3], NULL, 0);
    macs = malloc(n * sizeof(*macs));
    if (macs == NULL || set_init(&set, n + 1) != 0)
        return 1;
    if (first != NULL) {
        dp_mac_t m;
        size_t l = strcspn(first, " \t");
        if (dp_mac_parse(first, l, &m) != 0) {
            fprintf(stderr, "FIRST-LINE must start with a MAC\n");
            return 2;
        }
        set_add(&set, dp_mac_to_u64(&m));
    }
    buf = generate(n, macs, &set, first, &len);
    if (buf == NULL || write_file(argv[4], buf, len) != 0)
        return 1;
    free(buf);
    free(macs);
    free(set.slot);
    return 0;
}

static int mode_load(int argc, char **argv)
{
    double best, median;
    dp_allowlist_t *al;
    int runs = argc > 3 ? atoi(argv[3]) : RUNS;

    if (argc < 3 || runs < 1) {
        fprintf(stderr, "usage: %s --load FILE [RUNS]\n", argv[0]);
        return 2;
    }
    al = timed_load(argv[2], runs, &best, &median);
    if (al == NULL)
        return 1;
    printf("entries=%zu best_ms=%.1f median_ms=%.1f memory=%zu\n",
           dp_allowlist_count(al), best * 1e3, median * 1e3,
           dp_allowlist_memory(al));
    dp_allowlist_free(al);
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = "bench/results/allowlist.md";
    size_t sizes[8] = {10000, 100000, 1000000}, nsizes = 3, i;
    result_t res[8];
    uint64_t seed = 20261123;
    char dir[] = "/tmp/devprov-bench-XXXXXX";
    double t0 = now_s();
    int c;

    page_size = sysconf(_SC_PAGESIZE);
    if (argc > 1 && strcmp(argv[1], "--gen") == 0)
        return mode_gen(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--load") == 0)
        return mode_load(argc, argv);

    while ((c = getopt(argc, argv, "o:s:n:")) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            seed = strtoull(optarg, NULL, 0);
            break;
        case 'n': {
            char *tok, *save = NULL;
            nsizes = 0;
            for (tok = strtok_r(optarg, ",", &save); tok && nsizes < 8;
                 tok = strtok_r(NULL, ",", &save))
                if (parse_size(tok, &sizes[nsizes++]) != 0) {
                    fprintf(stderr, "bad size '%s'\n", tok);
                    return 2;
                }
            break;
        }
        default:
            fprintf(stderr, "usage: %s [-o results.md] [-s seed] "
                    "[-n 10k,100k,1M]\n       %s --gen N SEED FILE "
                    "[FIRST-LINE]\n       %s --load FILE [RUNS]\n",
                    argv[0], argv[0], argv[0]);
            return 2;
        }
    }
    rng_state = seed;
    read_loadavg();
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    for (i = 0; i < nsizes; i++) {
        fprintf(stderr, "allowlist_bench: %zu entries...\n", sizes[i]);
        if (run_size(sizes[i], dir, &res[i]) != 0) {
            rmdir(dir);
            return 1;
        }
    }
    rmdir(dir);
    printf("devprov allowlist: load %d runs, %d hit + %d miss lookups "
           "(load average before: %s)\n\n", RUNS, LOOKUPS, LOOKUPS,
           start_load);
    print_table(stdout, res, nsizes, 0);
    if (write_markdown(out, res, nsizes, seed) != 0)
        return 1;
    printf("\n(%.1f s; written to %s)\n", now_s() - t0, out);
    return 0;
}
