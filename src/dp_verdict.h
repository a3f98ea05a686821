/* dp_verdict.h - from a device identity to the verdict on a client: the
 * allowlist (with pins and vendor binding), revocation, DevprovDeny and
 * the DEVICE_* variables.
 *
 * dp_identify() says what a certificate is; this unit says what the
 * server makes of it.  The glue (mod_devprov_conn.c's make_verdict() and
 * devprov_conn_export(), mod_devprov.c's check_revoked() and refuse())
 * and devprov-check (tools/) both use it, so
 * that the command cannot disagree with the server; the Apache-specific
 * parts (logging, caches, mutexes, the per-connection verdict, the
 * enrolment file writes) stay in the glue.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_VERDICT_H
#define DP_VERDICT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "dp_allowlist.h"
#include "dp_identify.h"
#include "dp_mac.h"
#include "dp_reason.h"
#include "dp_revoked.h"
#include "dp_stats.h"

typedef enum {
    DP_POLICY_OFF = 0,            /* export only */
    DP_POLICY_UNVERIFIED,         /* refuse unless a verified device */
    DP_POLICY_UNLISTED            /* refuse unless a verified, listed device */
} dp_policy_t;

/* DevprovDeny's value ("off", "unverified", "unlisted", in any case) into
 * *OUT; 0, or -1 for anything else. */
int dp_policy_parse(const char *s, dp_policy_t *out);

#define DP_LISTED_NONE (-1)     /* no allowlist configured */
#define DP_LISTED_DOWN (-2)     /* the allowlist source did not answer */

typedef struct dp_verdict {
    dp_identity_t id;           /* from dp_identify(), updated here */
    int listed;                 /* 1, 0, DP_LISTED_NONE, DP_LISTED_DOWN */
    dp_entry_t entry;           /* when listed == 1: points into the source */
    int revoked;                /* set by dp_verdict_revoke() */
    int conflict;               /* the authenticated user name names
                                 * another phone than the certificate
                                 * (dp_verdict_user): refused whatever
                                 * DevprovDeny says */
    char mac[DP_MAC_STRLEN + 1];        /* "" unless a device */
    char sha256[65];                    /* "" without a certificate */
} dp_verdict_t;

/* Start a verdict from ID (as dp_identify() left it, or as a cache of
 * identities kept it), then apply the allowlist: LOOKUP on SOURCE
 * (LOOKUP NULL: no allowlist configured).  CERT is nonzero if ID is that
 * of a client certificate (its fingerprint, ID's sha256, is then part of
 * the verdict); LEAF is that certificate, or NULL if there is none or ID
 * was not made from it just now (a cached identity: no pin lookup).  A
 * self-signed LEAF is tried against the allowlist's pins
 * (dp_identify_pinned); a device is looked up, its line's pin and
 * vendor= binding enforced.  NOW is used for a pinned certificate's
 * validity.  Never fails: an allowlist that cannot answer gives
 * listed == DP_LISTED_DOWN with the reason set.  When listed == 1,
 * v->entry points into SOURCE (see dp_verdict_keep_entry). */
void dp_verdict_make(const dp_vendor_t *const *vendors, size_t nvendors,
                     const dp_identity_t *id, int cert, X509 *leaf,
                     dp_lookup_fn lookup, void *source, time_t now,
                     dp_verdict_t *v);

/* DevprovUserIdentity: which clients without a device identity of
 * their certificate may be identified by an authenticated user name. */
enum {
    DP_USER_NO_CERT = 1 << 0,   /* no client certificate (or no TLS) */
    DP_USER_GENERIC = 1 << 1,   /* a generic certificate (DP_ST_GENERIC) */
    DP_USER_NO_MAC = 1 << 2,    /* a vendor's genuine certificate without
                                 * a MAC (DP_ST_NO_MAC) */
    DP_USER_UNVERIFIED = 1 << 3,        /* any other certificate */
    DP_USER_DEFAULT = DP_USER_NO_CERT | DP_USER_GENERIC | DP_USER_NO_MAC
};

/* The DP_USER_* class of a client whose certificate verdict is V, or 0
 * for a device (certificate or pin): that identity stands. */
unsigned dp_verdict_user_class(const dp_verdict_t *v);

/* Maps a user name that is not a MAC to one: 1 (MAC set), 0 (none), -1
 * (the source could not answer).  The file allowlist's user= index:
 * dp_allowlist_user(). */
typedef int (*dp_user_map_fn)(void *source, const char *user, size_t len,
                              dp_mac_t *mac);

typedef enum {
    DP_USER_NONE = 0,           /* USER names no phone, or this client
                                 * may not be identified by it: V is the
                                 * certificate's verdict */
    DP_USER_SAME,               /* a certificate device, and USER names
                                 * it too: V is the certificate's */
    DP_USER_CONFLICT,           /* a certificate device, USER names
                                 * another phone: V is the certificate's,
                                 * with conflict set (refused) */
    DP_USER_DEVICE              /* V is USER's password identity */
} dp_user_result_t;

/* The verdict on a client that httpd authenticated as USER (NUL-
 * terminated; NULL: not authenticated), whose certificate's verdict is
 * CERT (revocation not yet applied).  USER names a phone if it is a
 * unicast MAC in any form dp_mac_parse() takes, or if MAP (may be NULL)
 * maps it to one.  A certificate device keeps its identity (a user
 * naming another phone is a conflict); any other client of a class in
 * CLASSES gets USER's phone as its identity: a DEVICE with password set,
 * no vendor, CERT's fingerprint (if any), looked up by LOOKUP (NULL: no
 * allowlist) like a certificate's MAC, but a line with pin= or vendor=
 * (a certificate phone's) or with user= another name is not USER's
 * (DP_REASON_USER_MISMATCH).  Nothing of USER is kept in V but the MAC.
 * A MAP or LOOKUP that cannot answer gives listed == DP_LISTED_DOWN. */
dp_user_result_t dp_verdict_user(const dp_verdict_t *cert, const char *user,
                                 unsigned classes, dp_user_map_fn map,
                                 void *mapsrc, dp_lookup_fn lookup,
                                 void *source, dp_verdict_t *v);

/* Bytes needed to keep V's allowlist entry beyond its source's lifetime
 * (0 unless listed == 1), and the copy: the entry's text is copied into
 * BUF (that many bytes) and v->entry made to point into it. */
size_t dp_verdict_entry_size(const dp_verdict_t *v);
void dp_verdict_keep_entry(dp_verdict_t *v, char *buf);

/* Apply the revocation list RV (may be NULL): the certificate (if any)
 * by its fingerprint, a device (by certificate, pin or password) by its
 * MAC.  Sets and returns v->revoked. */
int dp_verdict_revoke(dp_verdict_t *v, const dp_revoked_t *rv);

/* 1 if DevprovDeny MODE refuses the client (a conflict, whatever
 * MODE). */
int dp_verdict_denied(const dp_verdict_t *v, dp_policy_t mode);

/* Why the client is refused or not a (listed) device: DP_REASON_REVOKED,
 * the identity's reason (DP_REASON_USER_CONFLICT for a conflict), or
 * DP_REASON_NONE. */
dp_reason_t dp_verdict_reason_code(const dp_verdict_t *v);

/* The same for messages: the revoked reason's or the identity's text, or
 * DP_REASON_NONE's wording ("not a device"). */
const char *dp_verdict_reason(const dp_verdict_t *v);

/* What the status counters count of V (dp_stats.h), as
 * dp_verdict_export() says it (DEVICE_VERIFIED, DEVICE_CERT_VALIDITY,
 * DEVICE_PINNED, DEVICE_ALLOWLISTED, DEVICE_REASON), into EV; the
 * request's part (deny, verdict_reused, idcache_hit) is left 0 for the
 * caller. */
void dp_verdict_stats(const dp_verdict_t *v, dp_stats_event_t *ev);

/* The DEVICE_* variables, in the order the module sets them: SET is
 * called once per variable (KEY and VALUE valid during the call only).
 * ENROLMENT (may be NULL) is DEVICE_ENROLMENT's value. */
typedef void (*dp_verdict_set_fn)(void *arg, const char *key,
                                  const char *value);
void dp_verdict_export(const dp_verdict_t *v, const char *enrolment,
                       dp_verdict_set_fn set, void *arg);

/* For DevprovEnrol: when V is an unverified self-signed certificate
 * and an allowlist answered, the MAC of an allowlisted phone whose line
 * has no pin in LEAF's subject (by any vendor's rules, in order), as the
 * module records it.  Returns the index of the vendor whose rules read
 * it (MAC set), or -1 if there is nothing to enrol. */
int dp_verdict_enrol_mac(const dp_vendor_t *const *vendors, size_t nvendors,
                         const dp_verdict_t *v, X509 *leaf,
                         dp_lookup_fn lookup, void *source, dp_mac_t *mac);

#endif
