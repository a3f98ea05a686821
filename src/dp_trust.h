/* dp_trust.h - a vendor trust store and chain verification without a time
 * check.
 *
 * Self-signed CA certificates become trust anchors; other CA certificates
 * only help to build the chain (a phone usually sends just its own
 * certificate).  Verification checks signatures, issuer names, basic
 * constraints, key usage/purpose (TLS client) and key/digest strength at the
 * configured security level, and ignores notBefore/notAfter; the time status
 * of the verified chain is reported separately so that the caller can tell
 * "genuine but expired" from "genuine and valid".
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.  A built store is
 * read-only and may be shared between threads.
 */
#ifndef DP_TRUST_H
#define DP_TRUST_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

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
 * added; how many of them are self-signed roots; the I-th one (borrowed,
 * 0 <= I < dp_trust_count). */
size_t dp_trust_count(const dp_trust_t *t);
size_t dp_trust_root_count(const dp_trust_t *t);
X509 *dp_trust_get(const dp_trust_t *t, size_t i);

size_t dp_trust_anchor_count(const dp_trust_t *t);
size_t dp_trust_intermediate_count(const dp_trust_t *t);

typedef enum {
    DP_TIME_VALID = 0,
    DP_TIME_NOT_YET_VALID,
    DP_TIME_EXPIRED
} dp_time_status_t;

typedef struct dp_chain_result {
    int verified;               /* chain reaches an anchor (time ignored) */
    int x509_err;               /* X509_V_ERR_* when not verified */
    int err_depth;
    dp_time_status_t time;      /* worst over the verified chain */
    int time_depth;             /* depth of the first cert with that status */
} dp_chain_result_t;

/* Verify LEAF using the certificates the peer sent (SENT, may be NULL) and
 * the store's intermediates.  AUTH_LEVEL is the OpenSSL security level
 * (0-5) applied to keys and signature digests.  NOW is the time the
 * validity periods are compared with.  Returns 0 when the verification ran
 * (see RES), -1 on an internal error (out of memory). */
int dp_trust_verify(const dp_trust_t *t, X509 *leaf, STACK_OF(X509) *sent,
                    int auth_level, time_t now, dp_chain_result_t *res);

/* The time status (a dp_time_status_t) of X at NOW, or -X509_V_ERR_* when
 * a validity field cannot be parsed (X509_cmp_time() answers 0 then,
 * which must not read as "in range"). */
int dp_cert_time_status(X509 *x, time_t now);

const char *dp_time_status_string(dp_time_status_t st);

#endif
