/* dp_check.h - configuration checks that compare devprov's settings with
 * what the rest of the server does with them.
 *
 * The TLS handshake (mod_ssl) judges a phone's chain before devprov sees
 * it, against its own CA store (SSLCACertificateFile/Path), with its own
 * depth limit (SSLVerifyDepth).  Where the handshake tolerates only time
 * errors (stock mode always, the patched mod_ssl with SSLVerifyClient
 * optional or require), a phone that sends only its own certificate
 * passes it only if the CA that issued it is in that store, chains to a
 * root there and is near enough to it.  dp_check_handshake_store() tells,
 * per configured CA of a vendor, whether it is.
 *
 * dp_check_allowlist_vendors() finds allowlist lines whose vendor=
 * attribute names no configured vendor (a typo binds the phone to a
 * vendor that never verifies it).
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_CHECK_H
#define DP_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "dp_allowlist.h"
#include "dp_trust.h"

typedef enum {
    DP_HS_NOT_IN_STORE = 1,     /* no certificate with the CA's subject and
                                 * public key in the handshake store */
    DP_HS_UNVERIFIED,           /* it is there but does not chain to a
                                 * root of the store */
    DP_HS_DEPTH                 /* it chains, but too far for the depth */
} dp_hs_kind_t;

typedef struct dp_hs_problem {
    dp_hs_kind_t kind;
    X509 *ca;                   /* the configured CA certificate (borrowed) */
    const char *subject;        /* its subject, one line (RFC 2253) */
    int x509_err;               /* DP_HS_UNVERIFIED: X509_V_ERR_* */
    int need_depth;             /* DP_HS_DEPTH: the SSLVerifyDepth a leaf
                                 * under CA needs (the chain's length) */
} dp_hs_problem_t;

typedef void (*dp_hs_report_fn)(void *arg, const dp_hs_problem_t *p);

/* Check every CA certificate of T (dp_trust_get) against HS, the store
 * the TLS handshake verifies client chains with, as a chain "leaf (sent
 * alone) -> CA -> ... -> root" would be verified there: time ignored
 * (X509_V_FLAG_NO_CHECK_TIME), no partial chains, no untrusted
 * certificates.  VERIFY_DEPTH is the handshake's depth limit (the leaf
 * is depth 0); < 0: not checked.  Each problem is reported through FN.
 * Returns the number of problems, or -1 when out of memory. */
int dp_check_handshake_store(const dp_trust_t *t, X509_STORE *hs,
                             int verify_depth, dp_hs_report_fn fn,
                             void *arg);

/* A line of an allowlist whose vendor= names none of the vendors. */
typedef void (*dp_al_vendor_fn)(void *arg, uint32_t line,
                                const char *vendor);

/* Report, in line order, every entry of AL whose vendor= attribute is
 * none of the N NAMES.  Returns the number of such lines, or -1 when out
 * of memory. */
long dp_check_allowlist_vendors(const dp_allowlist_t *al,
                                const char *const *names, size_t n,
                                dp_al_vendor_fn fn, void *arg);

/* "name1, name2, ..." of the N NAMES into BUF (cut with "..." if too
 * long); "none" when N is 0.  Returns BUF. */
char *dp_check_name_list(const char *const *names, size_t n, char *buf,
                         size_t buflen);

#endif
