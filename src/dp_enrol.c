/* dp_enrol.c - the enrolment file (trust on first use, for review). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dp_enrol.h"
#include "dp_hex.h"

dp_enrol_state_t dp_enrol_find(const char *buf, size_t len,
                               const dp_mac_t *mac,
                               const unsigned char *sha256)
{
    const char *p = buf, *end = buf + len;
    char want[65];

    dp_hex_encode(sha256, 32, want);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *sp = memchr(p, ' ', n);
        dp_mac_t m;

        if (sp != NULL && p[0] != '#'
            && dp_mac_parse(p, (size_t)(sp - p), &m) == 0
            && memcmp(m.b, mac->b, DP_MAC_LEN) == 0) {
            size_t rest = n - (size_t)(sp - p) - 1;
            /* hex in either case: the admin may have edited the line */
            if (rest >= 7 + 64 && memcmp(sp + 1, "sha256:", 7) == 0
                && strncasecmp(sp + 8, want, 64) == 0)
                return DP_ENROL_SAME;
            return DP_ENROL_OTHER;
        }
        p = nl ? nl + 1 : end;
    }
    return DP_ENROL_ABSENT;
}

size_t dp_enrol_line(char *out, size_t outlen, const dp_mac_t *mac,
                     const unsigned char *sha256, const char *when,
                     const char *vendor)
{
    char m[DP_MAC_STRLEN + 1], fp[65];
    int n;

    dp_mac_format(mac, m);
    dp_hex_encode(sha256, 32, fp);
    n = snprintf(out, outlen, "%s sha256:%s %s %s\n", m, fp, when, vendor);
    if (n < 0 || (size_t)n >= outlen)
        return 0;
    return (size_t)n;
}
