/* dp_fleet.h - the fleet record: one entry per phone devprov judged, in
 * memory that every process of the server shares.
 *
 * Part of devprov's pure-C core: libc only, no httpd headers.  The glue
 * (mod_devprov_fleet.c) maps a file in the server's runtime directory
 * and lays two tables out in it with this unit: the phones (allowlisted,
 * or verified where no allowlist is configured) and the waiting list
 * (genuine phones of a configured vendor that are not listed yet).
 * devprov-check maps the same file read-only to list and approve the
 * waiting phones.
 *
 * A table is set-associative, as a CPU cache is, with two choices: a
 * MAC hashes to two sets of DP_FLEET_WAYS entries and lives in one of
 * them; a new phone takes a free entry of the emptier set.  Only when
 * both are full does it take the entry seen least recently of the two,
 * so a full table drops the oldest entries (of the 32 a new phone could
 * take) and never refuses a phone; with two choices the sets fill evenly
 * and nothing is dropped until the table is nearly full
 * (bench/results/fleet.md measures it).
 * Its size is fixed when it is made: room for the phones asked for and a
 * quarter more, DP_FLEET_REC_SIZE bytes per entry (dp_fleet_bytes() says
 * the total; 1M phones take 305 MiB).
 *
 * Each set has one 64-bit lock word: a sequence number (odd while a
 * writer holds it) and the writer's process id.  Writers take the two
 * sets' words in index order with a compare-and-swap, bounded: after DP_FLEET_SPIN_MAX tries the update is
 * dropped (and counted), so that no request waits on the record; a set
 * held by a process that died is taken over.  Readers never write: they
 * copy a set and keep the copy only if its sequence number did not change
 * (a seqlock), so a read-only mapping can be read.  Every string in an
 * entry is NUL-terminated by the reader's copy, whatever the file holds.
 */
#ifndef DP_FLEET_H
#define DP_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dp_mac.h"
#include "dp_reason.h"

#define DP_FLEET_WAYS 16
#define DP_FLEET_REC_SIZE 256
#define DP_FLEET_SPIN_MAX 2000
#define DP_FLEET_VENDOR_MAX 24          /* bytes kept, with the NUL */
#define DP_FLEET_ADDR_MAX 46            /* INET6_ADDRSTRLEN */
#define DP_FLEET_UA_MAX 90              /* of a User-Agent, with the NUL */

/* How the phone was last identified (DEVICE_IDENTIFIED_BY) */
typedef enum {
    DP_FLEET_BY_NONE = 0,       /* never identified: claims only */
    DP_FLEET_BY_CERT,
    DP_FLEET_BY_PIN,
    DP_FLEET_BY_PASSWORD
} dp_fleet_by_t;

/* A last refusal: 0 none, else one of these or DP_FLEET_REFUSAL_REASON +
 * the dp_reason_t logged with it (DevprovDeny, DevprovUserIdentity) */
enum {
    DP_FLEET_REFUSAL_NONE = 0,
    DP_FLEET_REFUSAL_BIND_PATH,         /* DevprovBindPath */
    DP_FLEET_REFUSAL_DB_UNAVAILABLE,    /* DevprovAllowlistSQL unavailable= */
    DP_FLEET_REFUSAL_REASON = 8,
    DP_FLEET_REFUSALS = DP_FLEET_REFUSAL_REASON + DP_REASON_COUNT
};

/* One phone (DP_FLEET_REC_SIZE bytes).  Times are seconds since 1970,
 * 0 for never. */
typedef struct dp_fleet_rec {
    uint8_t mac[6];
    uint8_t used;               /* 0: a free entry */
    uint8_t by;                 /* dp_fleet_by_t, of the last request
                                 * identified */
    uint8_t validity;           /* certificate's dp_time_status_t + 1 at
                                 * that request; 0: no certificate */
    uint8_t refusal;            /* the last refusal's code (above) */
    uint8_t listed;             /* the last identified request was
                                 * allowlisted */
    uint8_t refused_last;       /* the last request was refused */
    int64_t first_seen;
    int64_t last_seen;          /* any request naming this MAC */
    int64_t last_ok;            /* let through */
    int64_t last_refused;
    int64_t not_after;          /* the leaf certificate's notAfter */
    uint32_t requests;          /* requests recorded (saturating) */
    uint32_t refused;           /* of which refused */
    unsigned char sha256[32];   /* the leaf certificate's fingerprint */
    char vendor[DP_FLEET_VENDOR_MAX];
    char addr[DP_FLEET_ADDR_MAX];   /* last client address */
    char ua[DP_FLEET_UA_MAX];       /* last User-Agent, as sent (cut) */
} dp_fleet_rec_t;

/* One request, as devprov judged it */
typedef struct {
    dp_mac_t mac;
    time_t now;
    int identified;             /* the verdict identified this very
                                 * phone (certificate, pin or password):
                                 * only then are address, User-Agent,
                                 * vendor and certificate taken; a claim
                                 * (a certificate that did not verify
                                 * naming a listed MAC) counts only as a
                                 * request and its refusal */
    dp_fleet_by_t by;
    int listed;
    int validity;               /* dp_time_status_t, -1: no certificate */
    time_t not_after;           /* 0: unknown */
    const unsigned char *sha256;        /* 32 bytes, NULL: none */
    const char *vendor, *addr, *ua;     /* NULL: none */
    int refusal;                /* DP_FLEET_REFUSAL_*; NONE: let through */
} dp_fleet_obs_t;

/* A table in memory the caller maps (fixed layout: the same in every
 * process, and in devprov-check) */
typedef struct {
    struct dp_fleet_hdr *hdr;
    uint64_t *locks;
    dp_fleet_rec_t *recs;
    uint32_t nsets;
    uint32_t pid;               /* the writer's process id */
} dp_fleet_t;

/* Bytes of a table for ENTRIES phones (room for a quarter more, in
 * whole sets of DP_FLEET_WAYS); 0 if ENTRIES is 0 or too large. */
size_t dp_fleet_bytes(size_t entries);

/* Lay an empty table for ENTRIES phones out in MEM (dp_fleet_bytes()
 * bytes, zeroed or not) and attach F to it.  NOW: its creation time. */
void dp_fleet_format(dp_fleet_t *f, void *mem, size_t entries, time_t now);

/* Attach F to the table at MEM (LEN bytes available): 0 and *USED set
 * to its bytes, or -1 with the reason in ERR if MEM holds no table of
 * this layout (another version, a foreign or cut file).  ENTRIES, if not
 * 0, must give the table's number of sets, as dp_fleet_format() was
 * given it. */
int dp_fleet_attach(dp_fleet_t *f, void *mem, size_t len, size_t entries,
                    size_t *used, char *err, size_t errlen);

/* Record OBS.  Returns 0, or -1 if the entry's set stayed locked
 * (dropped, and counted).  Safe from any thread of any process. */
int dp_fleet_update(dp_fleet_t *f, const dp_fleet_obs_t *obs);

/* Forget MAC's entry (approved from the waiting list); 1 if there was one. */
int dp_fleet_remove(dp_fleet_t *f, const dp_mac_t *mac);

/* Call FN with a consistent copy of every used entry (strings
 * NUL-terminated), set by set; stops when FN returns nonzero.  Returns
 * the number of entries skipped because their set kept changing. */
size_t dp_fleet_each(const dp_fleet_t *f,
                     int (*fn)(const dp_fleet_rec_t *rec, void *arg),
                     void *arg);

/* The copy of MAC's entry into OUT: 1, or 0 if there is none. */
int dp_fleet_get(const dp_fleet_t *f, const dp_mac_t *mac,
                 dp_fleet_rec_t *out);

/* Is REC, an entry of a waiting list, still waiting?  Not once its
 * phone has been approved and let in since (its entry in PHONES was let
 * through at or after REC's last request). */
int dp_fleet_still_waiting(const dp_fleet_t *phones,
                           const dp_fleet_rec_t *rec);

/* The table's own numbers */
typedef struct {
    size_t capacity;
    time_t created;
    uint64_t inserts, evictions, dropped;
} dp_fleet_info_t;
void dp_fleet_info(const dp_fleet_t *f, dp_fleet_info_t *out);

/* ------------------------------------------------------------------ */
/* what the fleet page and the metrics show                            */

typedef enum {
    DP_FLEET_NORMAL = 0,        /* provisioning, certificate valid today
                                 * (or a password phone) */
    DP_FLEET_TOLERANCE,         /* on the expired (or not yet valid)
                                 * certificate tolerance */
    DP_FLEET_PINNED,            /* a pinned self-signed certificate */
    DP_FLEET_REFUSED,           /* its last request was refused */
    DP_FLEET_STALE,             /* not seen for the stale interval */
    DP_FLEET_STATES
} dp_fleet_state_t;

/* REC's state at NOW, with STALE seconds as "not seen for long". */
dp_fleet_state_t dp_fleet_state(const dp_fleet_rec_t *rec, time_t now,
                                time_t stale);

/* "normal", "tolerance", "pinned", "refused", "stale"; NULL if out of
 * range. */
const char *dp_fleet_state_name(dp_fleet_state_t s);

/* The name of refusal code C ("bind_path", "not_verified", ...): a
 * status counter's "<r>" (dp_reason_counter); NULL for NONE or an
 * unknown code. */
const char *dp_fleet_refusal_name(unsigned c);

/* "certificate", "pin", "password", NULL for NONE */
const char *dp_fleet_by_name(unsigned by);

#define DP_FLEET_MONTHS 24
typedef struct {
    size_t phones;
    size_t state[DP_FLEET_STATES];
    /* certificates by the month their notAfter falls in: the calendar
     * month of NOW (UTC) and the DP_FLEET_MONTHS - 1 after it; before
     * it (already expired) and after those; phones without a known
     * notAfter are not counted */
    size_t expired_before;
    size_t expiry[DP_FLEET_MONTHS];
    size_t expiry_later;
    int year0, month0;          /* NOW's year and month (1-12) */
    size_t refusals[DP_FLEET_REFUSALS];         /* refused phones by the
                                                 * code of their last
                                                 * refusal */
    uint64_t requests, refused;
} dp_fleet_summary_t;

void dp_fleet_summary_init(dp_fleet_summary_t *s, time_t now);
/* Add REC to S. */
void dp_fleet_summary_add(dp_fleet_summary_t *s, const dp_fleet_rec_t *rec,
                          time_t now, time_t stale);

/* The month index of T for a summary begun at NOW: 0 for NOW's month,
 * negative before it. */
int dp_fleet_month(time_t t, time_t now);

/* ------------------------------------------------------------------ */
/* what a client sent (a User-Agent), shown: never interpreted         */

/* S as the body of a JSON string, NUL-terminated in at most OUTLEN
 * bytes: quote, backslash, < > & ' and every byte outside printable
 * ASCII as \u00XX (a byte above 0x7f as the Latin-1 character: the
 * output is ASCII, valid JSON whatever S holds, and safe inside HTML).
 * Returns the length needed, as snprintf. */
size_t dp_fleet_json_text(char *out, size_t outlen, const char *s);

/* S as HTML text (also inside a quoted attribute): & < > " ' and every
 * byte outside printable ASCII as &#N;.  As dp_fleet_json_text. */
size_t dp_fleet_html_text(char *out, size_t outlen, const char *s);

#endif
