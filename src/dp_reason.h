/* dp_reason.h - why a client is not a (listed) device: one code per
 * reason, and one table giving each code's DEVICE_REASON text, its status
 * counter and its log wording.
 *
 * Every reason devprov gives (the module and devprov-check alike) is made
 * from this table: the code travels with the identity and the verdict
 * (dp_identity_t.reason_code), the text (DEVICE_REASON, with details
 * such as a depth or a subject appended where the reason has them) is
 * written from it, and the status counters (dp_stats.h) are indexed by
 * it, never by reading the text back.
 *
 * Part of devprov's pure-C core: libc only, no httpd headers.
 */
#ifndef DP_REASON_H
#define DP_REASON_H

#include <stdarg.h>
#include <stddef.h>

/* Bytes for a reason's text with its details (dp_identity_t.reason) */
#define DP_REASON_MAX 160

typedef enum {
    DP_REASON_NONE = 0,         /* a device, nothing to say: no
                                 * DEVICE_REASON */
    /* One status counter each (reason_<r>, denied_<r>), in the counters'
     * output order: DP_REASON_NONE + 1 ... DP_REASON_NONE +
     * DP_REASON_BUCKETS. */
    DP_REASON_NO_CERT,          /* no client certificate */
    DP_REASON_NOT_TLS,          /* not a TLS connection */
    DP_REASON_GENERIC_KEY,      /* the leaf's key is denied (DevprovDenyKey
                                 * or built in) */
    DP_REASON_NOT_VERIFIED,     /* no chain to a vendor's CAs: + the
                                 * OpenSSL error */
    DP_REASON_NO_MAC,           /* no MAC in the subject */
    DP_REASON_UNLISTED,         /* a device, not in the allowlist */
    DP_REASON_VENDOR_MISMATCH,  /* listed with vendor= another vendor */
    DP_REASON_PIN_MISMATCH,     /* listed with a pin of another cert */
    DP_REASON_DB_UNAVAILABLE,   /* the allowlist database did not answer */
    DP_REASON_REVOKED,          /* DevprovRevoked */
    DP_REASON_CA_LEAF,          /* the leaf is a CA certificate */
    DP_REASON_CA_KEY,           /* a CA's key of the chain is denied */
    DP_REASON_NEVER_VALID,      /* no moment at which all were valid */
    DP_REASON_NOT_YET_VALID,    /* valid only in the future, not admitted */
    DP_REASON_USER_CONFLICT,    /* DevprovUserIdentity: the user name names
                                 * another phone than the certificate */
    DP_REASON_USER_MISMATCH,    /* a password identity for a line that is
                                 * not for it (pin=, vendor=, another
                                 * user=): + the attribute */
    DP_REASON_INTERNAL,         /* out of memory while verifying */
    /* Counted with one of the above (dp_reason_info()->counted_as) */
    DP_REASON_UNREADABLE,       /* as NOT_VERIFIED: undecodable cert */
    DP_REASON_AMBIGUOUS_MAC,    /* as NO_MAC: two different MACs */
    DP_REASON_BAD_SUBJECT,      /* as NO_MAC: a malformed MAC attribute */
    DP_REASON_SQL_NOT_CHECKED,  /* as DB_UNAVAILABLE: devprov-check does
                                 * not query a DevprovAllowlistSQL */
    DP_REASON_COUNT
} dp_reason_t;

/* How many reasons have a status counter of their own */
#define DP_REASON_BUCKETS ((unsigned)DP_REASON_INTERNAL)

typedef struct dp_reason_info {
    const char *text;           /* DEVICE_REASON ("" for NONE); with
                                 * DETAIL, the start of it */
    int detail;                 /* the text goes on with details */
    dp_reason_t counted_as;     /* the reason whose counters count this
                                 * one (itself for the first
                                 * DP_REASON_BUCKETS; NONE for NONE) */
    /* The status counters, in rows with COUNTED_AS the row itself (NULL
     * in the others: see their COUNTED_AS's row, or dp_reason_counter) */
    const char *counter;        /* "<r>" ("no_cert") */
    const char *reason_counter; /* "reason_<r>" */
    const char *denied_counter; /* "denied_<r>" */
    const char *log;            /* for messages: the text, except for
                                 * NONE ("not a device") */
} dp_reason_info_t;

/* The table's entry for R; an unknown R is taken as DP_REASON_INTERNAL.
 * Never NULL. */
const dp_reason_info_t *dp_reason_info(dp_reason_t r);

/* The "<r>" of R's status counters ("no_cert", "not_verified" for
 * DP_REASON_UNREADABLE), NULL for DP_REASON_NONE. */
const char *dp_reason_counter(dp_reason_t r);

/* The status counter bucket of R, 0 .. DP_REASON_BUCKETS - 1 (in
 * output order), or -1 for DP_REASON_NONE. */
int dp_reason_bucket(dp_reason_t r);

/* R's text into BUF (LEN bytes, NUL-terminated, cut to fit), then, for a
 * reason with details, FMT's (printf) output; FMT is NULL for a reason
 * without.  Returns R. */
dp_reason_t dp_reason_format(char *buf, size_t len, dp_reason_t r,
                             const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
dp_reason_t dp_reason_vformat(char *buf, size_t len, dp_reason_t r,
                              const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* The code of a DEVICE_REASON value as the table writes it (the whole
 * text, or for a reason with details, its start): DP_REASON_NONE for
 * NULL or "", -1 for a text the table does not make.  For tests and for
 * reading logged reasons back; devprov itself never classifies text. */
int dp_reason_parse(const char *text);

#endif
