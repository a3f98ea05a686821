/* dp_stats.c - what devprov counts per virtual host, and the counters'
 * names. */
#include <stdio.h>
#include <string.h>

#include "dp_stats.h"

static const char *const top_names[DP_STAT_REASON] = {
    "requests", "verified", "verified_expired", "verified_not_yet_valid",
    "verified_pinned", "verified_password", "listed", "denied", "verdicts_made",
    "verdicts_reused", "idcache_hits"
};

size_t dp_stats_event(const dp_stats_event_t *ev, unsigned *idx, size_t max)
{
    unsigned tmp[DP_STATS_EVENT_MAX];
    size_t n = 0;
    int r = dp_reason_bucket(ev->reason);

    tmp[n++] = DP_STAT_REQUESTS;
    if (ev->verified) {
        tmp[n++] = DP_STAT_VERIFIED;
        if (ev->validity == 2)
            tmp[n++] = DP_STAT_VERIFIED_EXPIRED;
        else if (ev->validity == 1)
            tmp[n++] = DP_STAT_VERIFIED_NOT_YET_VALID;
        if (ev->pinned)
            tmp[n++] = DP_STAT_VERIFIED_PINNED;
        else if (ev->password)
            tmp[n++] = DP_STAT_VERIFIED_PASSWORD;
    }
    if (ev->listed)
        tmp[n++] = DP_STAT_LISTED;
    if (ev->deny != DP_DENY_NONE)
        tmp[n++] = DP_STAT_DENIED;
    if (ev->verdict_reused)
        tmp[n++] = DP_STAT_VERDICTS_REUSED;
    else {
        tmp[n++] = DP_STAT_VERDICTS_MADE;
        if (ev->idcache_hit)
            tmp[n++] = DP_STAT_IDCACHE_HITS;
    }
    if (r >= 0)
        tmp[n++] = DP_STAT_REASON + (unsigned)r;
    switch (ev->deny) {
    case DP_DENY_NONE:
        break;
    case DP_DENY_POLICY:
        tmp[n++] = DP_STAT_DENIED_BY
                   + (unsigned)(r >= 0 ? r
                                : dp_reason_bucket(DP_REASON_INTERNAL));
        break;
    case DP_DENY_UNAVAILABLE:
        tmp[n++] = DP_STAT_DENIED_BY
                   + (unsigned)dp_reason_bucket(DP_REASON_DB_UNAVAILABLE);
        break;
    case DP_DENY_BIND_PATH:
        tmp[n++] = DP_STAT_DENIED_BIND_PATH;
        break;
    }
    if (n > max)
        n = max;
    memcpy(idx, tmp, n * sizeof(*idx));
    return n;
}

const char *dp_stats_name(unsigned i)
{
    if (i < DP_STAT_REASON)
        return top_names[i];
    /* bucket b's counters are those of reason b + 1 (dp_reason.h) */
    if (i < DP_STAT_DENIED_BY)
        return dp_reason_info((dp_reason_t)(i - DP_STAT_REASON + 1))
               ->reason_counter;
    if (i < DP_STAT_DENIED_BIND_PATH)
        return dp_reason_info((dp_reason_t)(i - DP_STAT_DENIED_BY + 1))
               ->denied_counter;
    if (i == DP_STAT_DENIED_BIND_PATH)
        return "denied_bind_path";
    return NULL;
}

char *dp_stats_label(char *out, size_t outlen, const char *host,
                     unsigned port)
{
    char num[16];
    size_t n = 0, i, nl;

    if (outlen == 0)
        return out;
    if (host == NULL || *host == '\0')
        host = "_default_";
    for (i = 0; host[i] != '\0' && n + 1 < outlen; i++) {
        char c = host[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '.' || c == '-'
                 || c == '_' || c == '*';
        out[n++] = ok ? c : '_';
    }
    snprintf(num, sizeof(num), ":%u", port);
    nl = strlen(num);
    for (i = 0; i < nl && n + 1 < outlen; i++)
        out[n++] = num[i];
    out[n] = '\0';
    return out;
}

size_t dp_stats_json_escape(char *out, size_t outlen, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7];
        size_t k, elen;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        }
        else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        else {
            esc[0] = (char)c;
            elen = 1;
        }
        for (k = 0; k < elen; k++, n++)
            if (n + 1 < outlen)
                out[n] = esc[k];
    }
    if (outlen > 0)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}
