/* dp_identify.h - from a client certificate chain to a device identity.
 *
 * A vendor is a trust store plus the rules saying where its MAC is.  A
 * certificate is a device of vendor V only if its chain verifies against
 * V's own trust store (as of a moment it was valid, dp_trust.h) and V's
 * rules find exactly one unicast MAC in its subject.  Vendors are tried
 * in configuration order and never mixed: vendor A's CA cannot vouch for
 * a certificate read with vendor B's rules.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_IDENTIFY_H
#define DP_IDENTIFY_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "dp_allowlist.h"
#include "dp_keyset.h"
#include "dp_mac.h"
#include "dp_macrule.h"
#include "dp_reason.h"
#include "dp_trust.h"

#define DP_AUTH_LEVEL_DEFAULT 1

typedef struct dp_vendor {
    const char *name;
    dp_trust_t *trust;
    dp_macrule_t **rules;
    size_t nrules;
    int auth_level;             /* OpenSSL security level for the chain */
    int accept_future;          /* DevprovAcceptNotYetValid: admit a chain
                                 * that becomes valid only in the future */
} dp_vendor_t;

typedef enum {
    DP_ST_NO_CERT = 0,          /* no client certificate */
    DP_ST_UNVERIFIED,           /* chain does not verify against any vendor */
    DP_ST_GENERIC,              /* a key shared by every unit: proves nothing */
    DP_ST_NO_MAC,               /* genuine, but no usable MAC in the subject */
    DP_ST_DEVICE                /* genuine device with a MAC */
} dp_status_t;

typedef struct dp_identity {
    dp_status_t status;
    const dp_vendor_t *vendor;          /* set for NO_MAC and DEVICE */
    dp_mac_t mac;                       /* set for DEVICE */
    dp_time_status_t time;              /* of the verified chain */
    int time_depth;
    int x509_err;                       /* for UNVERIFIED */
    int pinned;                         /* DEVICE by allowlist pin, not CA */
    int password;                       /* DEVICE by an authenticated user
                                         * name (dp_verdict_user), not by
                                         * a certificate: vendor NULL;
                                         * the DP_USER_* class of the
                                         * certificate it came with */
    unsigned char sha256[32];           /* leaf fingerprint (if a cert) */
    time_t not_after;                   /* the leaf's notAfter, 0 if
                                         * none or unreadable */
    dp_reason_t reason_code;            /* why not a (listed) device, from
                                         * the table of reasons, or
                                         * DP_REASON_NONE */
    char reason[DP_REASON_MAX];         /* its text with details (as
                                         * DEVICE_REASON says), "" for
                                         * NONE; both set only by
                                         * dp_identity_reason() */
} dp_identity_t;

/* Set ID's reason to R, its text from the table with, for a reason with
 * details, FMT's output appended (FMT NULL otherwise). */
void dp_identity_reason(dp_identity_t *id, dp_reason_t r, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

/* Identify LEAF (may be NULL: no certificate).  Only the vendors' own
 * configured CA certificates build its chain (whatever else the client
 * sent is not looked at; see dp_trust.h).  A chain with a public key in
 * DENY (may be NULL) or in the built-in list of generic firmware keys, at
 * any depth, is never a device.  Returns 0, or -1 on an internal error
 * (out of memory). */
int dp_identify(const dp_vendor_t *const *vendors, size_t nvendors,
                const dp_keyset_t *deny, X509 *leaf, time_t now,
                dp_identity_t *id);

/* Phones without a factory certificate present a self-signed built-in
 * one.  An allowlist line can pin it: pin=sha256:<its SHA-256
 * fingerprint>.  For an identity that dp_identify() left UNVERIFIED, try
 * each vendor's MAC rules on LEAF's subject; if the allowlist entry for
 * the MAC found (LOOKUP on SOURCE) pins exactly this certificate, the
 * identity becomes a DEVICE with pinned set (vendor: the one whose rules
 * read the MAC; time: the leaf's own validity).  Returns 1 if pinned, 0 if
 * not (ID unchanged), -1 if LOOKUP could not answer (ID unchanged). */
int dp_identify_pinned(const dp_vendor_t *const *vendors, size_t nvendors,
                       dp_lookup_fn lookup, void *source, X509 *leaf,
                       time_t now, dp_identity_t *id);

/* 1 if ENTRY pins a certificate and it is not the one with fingerprint
 * SHA256 (32 bytes); 0 if it pins none or this one. */
int dp_pin_mismatch(const dp_entry_t *entry, const unsigned char *sha256);

/* How ID identified a device: "certificate" (a vendor CA), "pin" or
 * "password" (DEVICE_IDENTIFIED_BY's values); NULL if ID is no device. */
const char *dp_identity_method(const dp_identity_t *id);

/* Lower-case hex of the fingerprint into OUT (65 bytes). */
void dp_hex_sha256(const unsigned char *md, char *out);

#endif
