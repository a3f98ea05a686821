/* fuzz_fleet.c - libFuzzer target for the fleet record (dp_fleet).
 *
 * The first input byte chooses what the rest is:
 *   0  a record file, as devprov-check maps it (a damaged or foreign one):
 *      attach must refuse it or read it safely; every entry read has
 *      NUL-terminated strings and names a known state; a MAC's get agrees
 *      with the walk.
 *   1  a sequence of observations (8 bytes each: MAC index, time step,
 *      refusal, flags) applied to a one-set table, checked against a model
 *      of the specification in src/dp_fleet.h: a MAC seen is found with
 *      its request and refusal counts and times; a full set drops the
 *      entry seen least recently; no more than DP_FLEET_WAYS entries.
 *   2  text: dp_fleet_json_text and dp_fleet_html_text output only
 *      printable ASCII without the characters they escape, at the length
 *      they return, and decode back to the input.
 */
#include "fuzz_common.h"
#include "dp_fleet.h"

#define MAXFILE 8192

static int walk(const dp_fleet_rec_t *rec, void *arg)
{
    size_t *n = arg;

    FUZZ_CHECK(strlen(rec->ua) < sizeof(rec->ua));
    FUZZ_CHECK(strlen(rec->addr) < sizeof(rec->addr));
    FUZZ_CHECK(strlen(rec->vendor) < sizeof(rec->vendor));
    FUZZ_CHECK(dp_fleet_state_name(dp_fleet_state(rec, 1800000000, 86400))
               != NULL);
    (void)dp_fleet_refusal_name(rec->refusal);
    (void)dp_fleet_by_name(rec->by);
    ++*n;
    return 0;
}

static void file_mode(const uint8_t *data, size_t size)
{
    static uint64_t buf[MAXFILE / 8];
    dp_fleet_t f;
    dp_fleet_info_t info;
    dp_fleet_summary_t s;
    size_t used = 0, n = 0, i;
    char err[256];

    if (size > MAXFILE)
        return;
    memset(buf, 0, sizeof(buf));
    memcpy(buf, data, size);
    if (dp_fleet_attach(&f, buf, size, 0, &used, err, sizeof(err)) != 0) {
        FUZZ_CHECK(strlen(err) > 0);
        return;
    }
    FUZZ_CHECK(used <= size);
    /* a lock word held by a live process would make every read wait
     * out its bound: not what is being fuzzed here */
    for (i = 0; i < f.nsets; i++)
        f.locks[i] &= ~(uint64_t)1;
    dp_fleet_info(&f, &info);
    FUZZ_CHECK(info.capacity == (size_t)f.nsets * DP_FLEET_WAYS);
    FUZZ_CHECK(dp_fleet_each(&f, walk, &n) == 0);
    FUZZ_CHECK(n <= info.capacity);
    dp_fleet_summary_init(&s, 1800000000);
    for (i = 0; i < info.capacity; i++)
        if (f.recs[i].used) {
            dp_fleet_rec_t r;
            dp_mac_t m;

            memcpy(m.b, f.recs[i].mac, 6);
            /* a damaged file may hold a MAC in a set it does not hash
             * to (then get does not find it) or twice: whatever get
             * finds is that MAC's */
            if (dp_fleet_get(&f, &m, &r) == 1)
                FUZZ_CHECK(memcmp(r.mac, m.b, 6) == 0 && r.used);
            dp_fleet_summary_add(&s, &f.recs[i], 1800000000, 86400);
        }
    FUZZ_CHECK(s.phones == n);
}

typedef struct {
    int used;
    uint8_t mac;
    int64_t first, last, last_ok, last_refused;
    uint32_t requests, refused;
} model_t;

static void obs_mode(const uint8_t *data, size_t size)
{
    static uint64_t mem[(64 + 64 + DP_FLEET_WAYS * DP_FLEET_REC_SIZE) / 8];
    model_t model[DP_FLEET_WAYS];
    dp_fleet_t f;
    time_t now = 1000;
    size_t i;
    int k;

    /* 12 phones and a quarter more: one set */
    FUZZ_CHECK(dp_fleet_bytes(12) <= sizeof(mem));
    dp_fleet_format(&f, mem, 12, 1);
    memset(model, 0, sizeof(model));
    for (i = 0; i + 8 <= size; i += 8) {
        dp_fleet_obs_t o;
        model_t *e = NULL;
        uint8_t which = data[i] % 40;

        memset(&o, 0, sizeof(o));
        o.mac.b[0] = 0x00;
        o.mac.b[1] = 0x04;
        o.mac.b[2] = 0xf2;
        o.mac.b[5] = which;
        now += data[i + 1] % 3;         /* time stands still, or moves */
        o.now = now;
        o.refusal = data[i + 2] % 4 == 0 ? DP_FLEET_REFUSAL_BIND_PATH : 0;
        o.identified = data[i + 3] & 1;
        o.by = (dp_fleet_by_t)(data[i + 3] >> 1 & 3);
        o.validity = (int)(data[i + 4] % 4) - 1;
        o.not_after = (time_t)data[i + 5] * 86400;
        o.ua = (const char *)"fuzz";
        FUZZ_CHECK(dp_fleet_update(&f, &o) == 0);
        for (k = 0; k < DP_FLEET_WAYS; k++)
            if (model[k].used && model[k].mac == which)
                e = &model[k];
        if (e == NULL) {
            for (k = 0; k < DP_FLEET_WAYS; k++)
                if (!model[k].used) {
                    e = &model[k];
                    break;
                }
            if (e == NULL) {
                /* full: the one seen least recently goes (ties: any) */
                int64_t oldest = INT64_MAX;

                for (k = 0; k < DP_FLEET_WAYS; k++)
                    if (model[k].last < oldest)
                        oldest = model[k].last;
                for (k = 0; k < DP_FLEET_WAYS; k++) {
                    dp_mac_t m = o.mac;
                    dp_fleet_rec_t r;

                    m.b[5] = model[k].mac;
                    if (model[k].last == oldest && !dp_fleet_get(&f, &m, &r))
                        e = &model[k];
                }
                FUZZ_CHECK(e != NULL);
            }
            memset(e, 0, sizeof(*e));
            e->used = 1;
            e->mac = which;
            e->first = now;
        }
        e->last = now;
        e->requests++;
        if (o.refusal) {
            e->refused++;
            e->last_refused = now;
        }
        else
            e->last_ok = now;
    }
    for (k = 0; k < DP_FLEET_WAYS; k++) {
        dp_fleet_rec_t r;
        dp_mac_t m = { { 0x00, 0x04, 0xf2, 0, 0, model[k].mac } };

        if (!model[k].used)
            continue;
        FUZZ_CHECK(dp_fleet_get(&f, &m, &r) == 1);
        FUZZ_CHECK(r.requests == model[k].requests);
        FUZZ_CHECK(r.refused == model[k].refused);
        FUZZ_CHECK(r.first_seen == model[k].first);
        FUZZ_CHECK(r.last_seen == model[k].last);
        FUZZ_CHECK(r.last_ok == model[k].last_ok);
        FUZZ_CHECK(r.last_refused == model[k].last_refused);
    }
}

static int unhex(const char *s)
{
    return fz_hexval(s[0]) * 16 + fz_hexval(s[1]);
}

static void text_mode(const uint8_t *data, size_t size)
{
    char in[1024], out[1024 * 6 + 1], back[1024];
    size_t n, i, j;

    if (size >= sizeof(in))
        return;
    memcpy(in, data, size);
    in[size] = '\0';
    n = dp_fleet_json_text(out, sizeof(out), in);
    FUZZ_CHECK(n == strlen(out));
    for (i = 0, j = 0; out[i]; j++) {
        unsigned char c = (unsigned char)out[i];

        FUZZ_CHECK(c >= 0x20 && c < 0x7f && !strchr("\"<>&'", c));
        if (c == '\\') {
            FUZZ_CHECK(out[i + 1] == 'u' && out[i + 2] == '0'
                       && out[i + 3] == '0');
            back[j] = (char)unhex(out + i + 4);
            i += 6;
        }
        else
            back[j] = out[i++];
    }
    FUZZ_CHECK(j == strlen(in) && memcmp(back, in, j) == 0);
    n = dp_fleet_html_text(out, sizeof(out), in);
    FUZZ_CHECK(n == strlen(out));
    for (i = 0, j = 0; out[i]; j++) {
        unsigned char c = (unsigned char)out[i];

        FUZZ_CHECK(c >= 0x20 && c < 0x7f && !strchr("\"<>'", c));
        if (c == '&') {
            char *end;
            long v;

            FUZZ_CHECK(out[i + 1] == '#');
            v = strtol(out + i + 2, &end, 10);
            FUZZ_CHECK(*end == ';' && v > 0 && v < 256);
            back[j] = (char)v;
            i = (size_t)(end - out) + 1;
        }
        else
            back[j] = out[i++];
    }
    FUZZ_CHECK(j == strlen(in) && memcmp(back, in, j) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        file_mode(data + 1, size - 1);
        break;
    case 1:
        obs_mode(data + 1, size - 1);
        break;
    default:
        text_mode(data + 1, size - 1);
        break;
    }
    return 0;
}
