/* fuzz_enrol.c - libFuzzer target for dp_enrol_find and dp_enrol_line.
 *
 * Input: the contents of an enrolment file (written by the server, read
 * back on every unverified request; an admin may edit it).
 *
 * Invariants, against an independent reading of the format in
 * src/dp_enrol.h (the first line whose first space-separated field is
 * the MAC decides; "sha256:" and the fingerprint, hex in either case,
 * right after the space means SAME):
 *   - dp_enrol_find agrees with the oracle for a fixed MAC/fingerprint and
 *     for the MACs (and fingerprints) that the file's first lines name;
 *   - after appending dp_enrol_line() for a MAC not yet in the file, the
 *     MAC is found as SAME (and OTHER for another fingerprint);
 *   - dp_enrol_line never overflows and refuses a short buffer.
 */
#include "fuzz_common.h"
#include "dp_enrol.h"

#define MAX_QUERIES 8

/* 64 hex digits at A equal the lower-case ones at WANT, in any case */
static int same_hex(const char *a, const char *want)
{
    int k;

    for (k = 0; k < 64; k++) {
        int c = (unsigned char)a[k];
        if (c >= 'A' && c <= 'F')
            c += 'a' - 'A';
        if (c != want[k])
            return 0;
    }
    return 1;
}

static dp_enrol_state_t oracle(const char *buf, size_t len,
                               const dp_mac_t *mac, const unsigned char *fp)
{
    static const char hex[] = "0123456789abcdef";
    char want[64];
    size_t i = 0, k;

    for (k = 0; k < 32; k++) {
        want[2 * k] = hex[fp[k] >> 4];
        want[2 * k + 1] = hex[fp[k] & 15];
    }
    while (i < len) {
        size_t e = i, sp;
        dp_mac_t m;

        while (e < len && buf[e] != '\n')
            e++;
        for (sp = i; sp < e && buf[sp] != ' '; sp++)
            ;
        if (sp < e && buf[i] != '#'
            && fz_mac_parse_checked(buf + i, sp - i, &m) == 0
            && fz_mac_eq(&m, mac)) {
            if (e - sp - 1 >= 71 && memcmp(buf + sp + 1, "sha256:", 7) == 0
                && same_hex(buf + sp + 8, want))
                return DP_ENROL_SAME;
            return DP_ENROL_OTHER;
        }
        i = e + 1;
    }
    return DP_ENROL_ABSENT;
}

static void check(const char *buf, size_t len, const dp_mac_t *mac,
                  const unsigned char *fp)
{
    dp_enrol_state_t st = dp_enrol_find(buf, len, mac, fp);

    FUZZ_CHECK(st == oracle(buf, len, mac, fp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dp_mac_t fixed = { { 0x00, 0x04, 0xf2, 0xab, 0xcd, 0xef } };
    unsigned char fp0[32], fp[32];
    dp_mac_t macs[MAX_QUERIES];
    unsigned char fps[MAX_QUERIES][32];
    int has_fp[MAX_QUERIES];
    size_t nq = 0, i, k;
    const char *buf;
    char *copy;

    if (size > 64 * 1024)
        return 0;
    /* an exact-size copy without a terminating NUL: reads past the end
     * are caught by ASan */
    copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    buf = copy;

    for (k = 0; k < 32; k++)
        fp0[k] = (unsigned char)(k * 7 + 1);
    check(buf, size, &fixed, fp0);

    /* every MAC and fingerprint the lines name */
    for (i = 0; i < size && nq < MAX_QUERIES;) {
        size_t e = i, sp;
        while (e < size && buf[e] != '\n')
            e++;
        for (sp = i; sp < e && buf[sp] != ' '; sp++)
            ;
        if (fz_mac_parse(buf + i, sp - i, &macs[nq]) == 0) {
            has_fp[nq] = 0;
            if (e - sp >= 72 && memcmp(buf + sp + 1, "sha256:", 7) == 0) {
                has_fp[nq] = 1;
                for (k = 0; k < 32; k++) {
                    int hi = fz_hexval((unsigned char)buf[sp + 8 + 2 * k]);
                    int lo = fz_hexval((unsigned char)buf[sp + 9 + 2 * k]);
                    if (hi < 0 || lo < 0)
                        has_fp[nq] = 0;
                    fps[nq][k] = (unsigned char)(hi * 16 + lo);
                }
            }
            nq++;
        }
        i = e + 1;
    }
    for (i = 0; i < nq; i++) {
        check(buf, size, &macs[i], fp0);
        if (has_fp[i])
            check(buf, size, &macs[i], fps[i]);
    }

    /* append a record for a MAC the file does not name */
    {
        dp_mac_t m = fixed;
        char line[256], tiny[40];
        size_t n, total;
        char *grown;

        for (k = 0; k < 16 && oracle(buf, size, &m, fp0) != DP_ENROL_ABSENT; k++)
            m.b[5] = (unsigned char)(m.b[5] + 1);
        if (k < 16) {
            memcpy(fp, fp0, sizeof(fp));
            fp[0] ^= 0xff;
            n = dp_enrol_line(line, sizeof(line), &m, fp,
                              "2024-01-02T03:04:05Z", "polycom");
            FUZZ_CHECK(n > 0 && n < sizeof(line) && line[n - 1] == '\n');
            FUZZ_CHECK(strlen(line) == n);
            FUZZ_CHECK(dp_enrol_line(tiny, sizeof(tiny), &m, fp, "t", "v") == 0);
            FUZZ_CHECK(dp_enrol_line(line, n, &m, fp, "2024-01-02T03:04:05Z",
                                     "polycom") == 0);
            n = dp_enrol_line(line, n + 1, &m, fp, "2024-01-02T03:04:05Z",
                              "polycom");
            FUZZ_CHECK(n > 0);
            total = size + 1 + n;
            grown = malloc(total);
            FUZZ_CHECK(grown != NULL);
            memcpy(grown, buf, size);
            k = size;
            if (size > 0 && buf[size - 1] != '\n')
                grown[k++] = '\n';
            memcpy(grown + k, line, n);
            k += n;
            FUZZ_CHECK(dp_enrol_find(grown, k, &m, fp) == DP_ENROL_SAME);
            FUZZ_CHECK(dp_enrol_find(grown, k, &m, fp0) == DP_ENROL_OTHER);
            check(grown, k, &fixed, fp0);
            free(grown);
        }
    }
    free(copy);
    return 0;
}
