/* dp_trust.h - a vendor trust store and chain verification "as of the
 * latest moment the chain was valid".
 *
 * Every configured CA certificate (self-signed root or issuing CA) is a
 * trust anchor, and a chain is built from the configured certificates
 * only: the certificates a client sends beside its own are ignored, so
 * that an unlisted CA (a sub-CA under the vendor root that the admin did
 * not configure, a phone certificate mis-issued with CA:TRUE) never
 * vouches for anyone.  A chain ends at a self-signed configured root when
 * there is one above the leaf; otherwise at the configured issuing CA
 * (OpenSSL's partial-chain verification, used only then; it stops at the
 * first configured certificate, so of two issuing CAs configured one
 * above the other without their root, only the lower one's validity and
 * key count for its phones, and an anchor's own signature is never
 * checked: it is trusted because it is configured).
 *
 * Time: instead of switching time checks off, verification finds the
 * latest moment t <= now at which every certificate of the chain was
 * valid at once (max notBefore <= t < min notAfter) and verifies as of t.
 * A chain without such a moment was never valid and is refused; a chain
 * that only becomes valid in the future is refused unless the caller
 * admits it (accept_future: then t is the moment it becomes valid).
 * Signatures, issuer names, basic constraints, key usage/purpose (TLS
 * client) and key/digest strength (security level) are checked as usual.
 * A leaf that is itself a CA (CA:TRUE or keyCertSign) is refused, and so
 * is a chain with a denied public key at any depth.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.  A built store is
 * read-only and may be shared between threads.
 */
#ifndef DP_TRUST_H
#define DP_TRUST_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "dp_keyset.h"
#include "dp_reason.h"

typedef struct dp_trust dp_trust_t;

dp_trust_t *dp_trust_new(void);
void dp_trust_free(dp_trust_t *t);

/* Add the CA certificates in PATH: a PEM file (one or more certificates), a
 * DER file, or a directory whose *.pem, *.crt, *.cer and *.der files are
 * read.  Every certificate must be a CA certificate.  Returns the number of
 * certificates added, or -1 with a reason (naming the file) in ERR. */
int dp_trust_add_path(dp_trust_t *t, const char *path, char *err,
                      size_t errlen);

/* Add certificates from memory (PEM or DER); NAME is used in errors. */
int dp_trust_add_mem(dp_trust_t *t, const unsigned char *buf, size_t len,
                     const char *name, char *err, size_t errlen);

/* The configured CA certificates, each once, in the order they were
 * added (all are trust anchors); how many of them are self-signed roots;
 * the I-th one (borrowed, 0 <= I < dp_trust_count). */
size_t dp_trust_count(const dp_trust_t *t);
size_t dp_trust_root_count(const dp_trust_t *t);
X509 *dp_trust_get(const dp_trust_t *t, size_t i);

typedef enum {
    DP_TIME_VALID = 0,
    DP_TIME_NOT_YET_VALID,
    DP_TIME_EXPIRED
} dp_time_status_t;

typedef enum {
    DP_CHAIN_OK = 0,            /* verified as of res->at */
    DP_CHAIN_UNVERIFIED,        /* no chain to a configured CA: x509_err */
    DP_CHAIN_CA_LEAF,           /* the leaf is a CA certificate */
    DP_CHAIN_DENIED_KEY,        /* a key of the chain is denied: at depth
                                 * err_depth, subject in SUBJECT */
    DP_CHAIN_NEVER_VALID,       /* no moment at which all were valid */
    DP_CHAIN_NOT_YET_VALID      /* valid only in the future, not admitted */
} dp_chain_status_t;

#define DP_CHAIN_SUBJECT_MAX 96

typedef struct dp_chain_result {
    dp_chain_status_t status;
    int verified;               /* status == DP_CHAIN_OK */
    int x509_err;               /* X509_V_ERR_* when UNVERIFIED */
    int err_depth;              /* depth the refusal is about, or -1;
                                 * NEVER_VALID: the latest notBefore's */
    dp_time_status_t time;      /* OK: worst over the chain at NOW */
    int time_depth;             /* depth of the first cert with that
                                 * status; NEVER_VALID: the depth of the
                                 * earliest notAfter */
    int depth;                  /* OK: number of CA certificates above the
                                 * leaf in the verified chain */
    time_t at;                  /* OK: the moment it was verified as of */
    time_t not_before, not_after;  /* latest notBefore, earliest notAfter
                                    * over the chain (signatures verified) */
    char subject[DP_CHAIN_SUBJECT_MAX];  /* of the cert at err_depth */
} dp_chain_result_t;

/* Verify LEAF against the store: only the store's certificates build the
 * chain.  DENY (may be NULL) is checked against the public key of every
 * certificate of the chain.  AUTH_LEVEL is the OpenSSL security level
 * (0-5) applied to keys and signature digests.  NOW is the server's clock;
 * ACCEPT_FUTURE admits a chain that becomes valid only after NOW.  Returns
 * 0 when the verification ran (see RES), -1 on an internal error (out of
 * memory). */
int dp_trust_verify(const dp_trust_t *t, X509 *leaf, const dp_keyset_t *deny,
                    int auth_level, time_t now, int accept_future,
                    dp_chain_result_t *res);

/* The time rules alone, for a certificate that is trusted by other means
 * (a pinned self-signed one): RES's status is DP_CHAIN_OK,
 * DP_CHAIN_NEVER_VALID, DP_CHAIN_NOT_YET_VALID (unless ACCEPT_FUTURE),
 * or DP_CHAIN_UNVERIFIED for an unreadable validity field.  Returns 0, or
 * -1 when out of memory. */
int dp_trust_time_alone(X509 *x, time_t now, int accept_future,
                        dp_chain_result_t *res);

/* Why RES (status != DP_CHAIN_OK) was refused, for DEVICE_REASON and
 * logs: returns the reason (dp_reason.h) and writes its text with the
 * details into BUF; VENDOR (may be NULL) names the vendor whose store it
 * was verified against.  For DP_CHAIN_OK: "verified", DP_REASON_NONE. */
dp_reason_t dp_chain_reason(const dp_chain_result_t *res, char *buf,
                            size_t len, const char *vendor);

/* The time status (a dp_time_status_t) of X at NOW, or -X509_V_ERR_* when
 * a validity field cannot be parsed (X509_cmp_time() answers 0 then,
 * which must not read as "in range"). */
int dp_cert_time_status(X509 *x, time_t now);

/* X's notAfter in seconds since the epoch into *OUT: 0, or -1 if it
 * cannot be read. */
int dp_cert_not_after(X509 *x, time_t *out);

const char *dp_time_status_string(dp_time_status_t st);

#endif
