/* dp_revoked.h - phones shut out at once: revocation by MAC or by
 * certificate fingerprint.
 *
 * File format, one entry per line:
 *
 *     # comment
 *     0004F2ABCDEF          # a MAC, in any form dp_mac_parse() accepts
 *     sha256:<64 hex>       # a certificate, by its SHA-256 fingerprint
 *
 * Anything after the first field must be a comment.  Errors are reported
 * as "name:line: reason".  Lookups are binary searches.
 *
 * Part of devprov's pure-C core: libc only.  A loaded list is read-only.
 */
#ifndef DP_REVOKED_H
#define DP_REVOKED_H

#include <stddef.h>
#include "dp_mac.h"

typedef struct dp_revoked dp_revoked_t;

dp_revoked_t *dp_revoked_parse(const char *buf, size_t len, const char *name,
                               char *err, size_t errlen);
dp_revoked_t *dp_revoked_load(const char *path, char *err, size_t errlen);
void dp_revoked_free(dp_revoked_t *rv);

size_t dp_revoked_count(const dp_revoked_t *rv);
int dp_revoked_mac(const dp_revoked_t *rv, const dp_mac_t *mac);
int dp_revoked_cert(const dp_revoked_t *rv, const unsigned char *sha256);

#endif
