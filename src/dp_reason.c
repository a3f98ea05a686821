/* dp_reason.c - the table of reasons: DEVICE_REASON texts, status
 * counters, log wording. */
#include <stdio.h>
#include <string.h>

#include "dp_reason.h"

/* A reason with counters of its own (named "reason_" CTR and "denied_"
 * CTR), or one counted as AS.  DET: the text is followed by details. */
#define BUCKET(code, txt, det, ctr) \
    [code] = { txt, det, code, ctr, "reason_" ctr, "denied_" ctr, txt }
#define ALSO(code, txt, det, as) \
    [code] = { txt, det, as, NULL, NULL, NULL, txt }

/* The texts are what DEVICE_REASON has always said (README, "Variables";
 * scripts and monitoring match them), the counter names what the status
 * output has always shown: neither may change.  BUCKET rows are in the
 * counters' output order. */
static const dp_reason_info_t dp_reason_table[DP_REASON_COUNT] = {
    [DP_REASON_NONE] = { "", 0, DP_REASON_NONE, NULL, NULL, NULL,
                         "not a device" },
    BUCKET(DP_REASON_NO_CERT, "no client certificate", 0, "no_cert"),
    BUCKET(DP_REASON_NOT_TLS, "not a TLS connection", 0, "not_tls"),
    BUCKET(DP_REASON_GENERIC_KEY, "generic certificate: its private key "
           "is public (DevprovDenyKey)", 0, "generic_key"),
    /* + X509_verify_cert_error_string() */
    BUCKET(DP_REASON_NOT_VERIFIED, "certificate not verified: ", 1,
           "not_verified"),
    BUCKET(DP_REASON_NO_MAC, "no MAC in certificate subject", 0, "no_mac"),
    BUCKET(DP_REASON_UNLISTED, "not in allowlist", 0, "unlisted"),
    /* + "<bound vendor>, certificate from <vendor>" */
    BUCKET(DP_REASON_VENDOR_MISMATCH, "allowlisted for vendor ", 1,
           "vendor_mismatch"),
    BUCKET(DP_REASON_PIN_MISMATCH, "certificate does not match the "
           "allowlist pin", 0, "pin_mismatch"),
    BUCKET(DP_REASON_DB_UNAVAILABLE, "the allowlist database did not "
           "answer", 0, "db_unavailable"),
    BUCKET(DP_REASON_REVOKED, "revoked (DevprovRevoked)", 0, "revoked"),
    BUCKET(DP_REASON_CA_LEAF, "a CA certificate (CA:TRUE or keyCertSign), "
           "not a phone's", 0, "ca_leaf"),
    /* + "<depth>: <subject>" */
    BUCKET(DP_REASON_CA_KEY, "denied key (DevprovDenyKey) at depth ", 1,
           "ca_key"),
    /* + "notBefore at depth D1 is not before notAfter at depth D2" */
    BUCKET(DP_REASON_NEVER_VALID, "chain never valid: ", 1, "never_valid"),
    /* + "depth D, from <time>): DevprovAcceptNotYetValid <vendor> off" */
    BUCKET(DP_REASON_NOT_YET_VALID, "not yet valid (", 1, "not_yet_valid"),
    BUCKET(DP_REASON_USER_CONFLICT, "the user name names another phone "
           "than the certificate", 0, "user_conflict"),
    /* + "pin=", "vendor=<vendor>" or "user=<name>" */
    BUCKET(DP_REASON_USER_MISMATCH, "allowlisted for another "
           "identification: ", 1, "user_mismatch"),
    BUCKET(DP_REASON_INTERNAL, "internal error while verifying", 0,
           "other"),
    ALSO(DP_REASON_UNREADABLE, "unreadable client certificate", 0,
         DP_REASON_NOT_VERIFIED),
    ALSO(DP_REASON_AMBIGUOUS_MAC, "ambiguous MAC in certificate subject", 0,
         DP_REASON_NO_MAC),
    ALSO(DP_REASON_BAD_SUBJECT, "malformed certificate subject", 0,
         DP_REASON_NO_MAC),
    ALSO(DP_REASON_SQL_NOT_CHECKED, "not checked: database allowlist", 0,
         DP_REASON_DB_UNAVAILABLE),
};

const dp_reason_info_t *dp_reason_info(dp_reason_t r)
{
    if ((unsigned)r >= DP_REASON_COUNT)
        r = DP_REASON_INTERNAL;
    return &dp_reason_table[r];
}

const char *dp_reason_counter(dp_reason_t r)
{
    return dp_reason_info(dp_reason_info(r)->counted_as)->counter;
}

int dp_reason_bucket(dp_reason_t r)
{
    dp_reason_t as = dp_reason_info(r)->counted_as;

    return as == DP_REASON_NONE ? -1 : (int)as - 1;
}

dp_reason_t dp_reason_vformat(char *buf, size_t len, dp_reason_t r,
                              const char *fmt, va_list ap)
{
    const dp_reason_info_t *e = dp_reason_info(r);
    int n;

    if (len == 0)
        return r;
    n = snprintf(buf, len, "%s", e->text);
    if (fmt != NULL && e->detail && n >= 0 && (size_t)n < len - 1)
        vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    return r;
}

dp_reason_t dp_reason_format(char *buf, size_t len, dp_reason_t r,
                             const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dp_reason_vformat(buf, len, r, fmt, ap);
    va_end(ap);
    return r;
}

int dp_reason_parse(const char *text)
{
    unsigned i;

    if (text == NULL || *text == '\0')
        return DP_REASON_NONE;
    for (i = DP_REASON_NONE + 1; i < DP_REASON_COUNT; i++) {
        const dp_reason_info_t *e = &dp_reason_table[i];

        if (e->detail ? strncmp(text, e->text, strlen(e->text)) == 0
                        && text[strlen(e->text)] != '\0'
                      : strcmp(text, e->text) == 0)
            return (int)i;
    }
    return -1;
}
