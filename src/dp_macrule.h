/* dp_macrule.h - where a vendor puts the MAC in its device certificates.
 *
 * A rule names one subject attribute (CN, ST, serialNumber, ...) and an
 * optional POSIX extended regular expression whose first capture group
 * must capture a MAC.  Without a pattern the whole attribute value must
 * be a MAC.  A vendor has an ordered list of rules; vendor presets exist for
 * Polycom, Cisco SPA and Yealink.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_MACRULE_H
#define DP_MACRULE_H

#include <stddef.h>
#include <openssl/x509.h>
#include "dp_mac.h"
#include "dp_reason.h"

/* Longest attribute value looked at; longer values are not a device. */
#define DP_ATTR_MAX 256

typedef struct dp_macrule dp_macrule_t;

/* Compile a rule.  ATTR is an OpenSSL short or long name or a dotted OID of
 * a subject attribute; PATTERN may be NULL.  On error returns NULL and
 * writes a reason into ERR. */
dp_macrule_t *dp_macrule_new(const char *attr, const char *pattern,
                             char *err, size_t errlen);
void dp_macrule_free(dp_macrule_t *rule);

/* Human-readable form, e.g. "CN ~ /MAC: ([0-9A-Fa-f]{12})/". */
const char *dp_macrule_describe(const dp_macrule_t *rule);

/* The attribute and pattern (NULL if none) exactly as given to
 * dp_macrule_new(): dp_macrule_new(attr, pattern) makes the same rule. */
const char *dp_macrule_attr(const dp_macrule_t *rule);
const char *dp_macrule_pattern(const dp_macrule_t *rule);

typedef struct dp_rule_spec {
    const char *attr;
    const char *pattern;
} dp_rule_spec_t;

/* The preset rules of a known vendor ("polycom", "cisco-spa", "yealink"),
 * terminated by an entry with attr == NULL; NULL for an unknown vendor. */
const dp_rule_spec_t *dp_vendor_preset(const char *vendor);

/* A comma-separated list of the preset names, for error messages. */
const char *dp_vendor_preset_names(void);

/* Is NAME a valid vendor name: 1-32 characters of a-z, 0-9 and '-'? */
int dp_vendor_name_valid(const char *name);

typedef enum {
    DP_MAC_FOUND = 0,
    DP_MAC_NONE,          /* no rule matched: not a device */
    DP_MAC_AMBIGUOUS,     /* attribute repeated, or rules disagree */
    DP_MAC_BADVALUE       /* control character, NUL, over-long, bad encoding */
} dp_mac_status_t;

/* Extract the MAC from SUBJECT using RULES in order.  Every rule whose
 * attribute is present is evaluated: all matches must agree, a repeated
 * attribute or an unsafe value makes the subject ambiguous/bad.  A MAC that
 * is not unicast (all-zero, broadcast, multicast) is not a device. */
dp_mac_status_t dp_mac_extract(dp_macrule_t *const *rules, size_t nrules,
                               const X509_NAME *subject, dp_mac_t *out);

/* The reason a subject with status ST (not DP_MAC_FOUND) is not a
 * device; DP_REASON_NONE for DP_MAC_FOUND. */
dp_reason_t dp_mac_status_reason(dp_mac_status_t st);

/* ST as words: "MAC found", or its reason's text (dp_reason.h). */
const char *dp_mac_status_string(dp_mac_status_t st);

#endif
