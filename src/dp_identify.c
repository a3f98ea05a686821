/* dp_identify.c - certificate chain to device identity. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "dp_hex.h"
#include "dp_identify.h"

void dp_hex_sha256(const unsigned char *md, char *out)
{
    dp_hex_encode(md, 32, out);
}

void dp_identity_reason(dp_identity_t *id, dp_reason_t r, const char *fmt,
                        ...)
{
    va_list ap;

    va_start(ap, fmt);
    id->reason_code = dp_reason_vformat(id->reason, sizeof(id->reason), r,
                                        fmt, ap);
    va_end(ap);
}

int dp_identify(const dp_vendor_t *const *vendors, size_t nvendors,
                const dp_keyset_t *deny, X509 *leaf, time_t now,
                dp_identity_t *id)
{
    size_t i;
    unsigned int mdlen = 0;
    int first_err = X509_V_OK;
    dp_chain_result_t res;
    dp_mac_status_t ms;
    unsigned char spki[DP_SHA256_LEN];

    memset(id, 0, sizeof(*id));
    id->time = DP_TIME_VALID;
    id->time_depth = -1;
    if (leaf == NULL) {
        id->status = DP_ST_NO_CERT;
        dp_identity_reason(id, DP_REASON_NO_CERT, NULL);
        return 0;
    }
    if (X509_digest(leaf, EVP_sha256(), id->sha256, &mdlen) != 1
        || dp_spki_sha256(leaf, spki) != 0)
        return -1;
    if (dp_cert_not_after(leaf, &id->not_after) != 0)
        id->not_after = 0;
    /* the leaf's own key first: a generic certificate is one whatever
     * CA signed it, also one that no configured CA verifies */
    if (dp_keyset_match(deny, spki)) {
        id->status = DP_ST_GENERIC;
        dp_identity_reason(id, DP_REASON_GENERIC_KEY, NULL);
        return 0;
    }

    for (i = 0; i < nvendors; i++) {
        const dp_vendor_t *v = vendors[i];
        if (dp_trust_verify(v->trust, leaf, deny, v->auth_level, now,
                            v->accept_future, &res) != 0)
            return -1;
        if (res.status == DP_CHAIN_UNVERIFIED) {
            if (first_err == X509_V_OK)
                first_err = res.x509_err;
            continue;
        }
        /* the chain's signatures verified against this vendor's CAs: its
         * verdict stands, whatever the other vendors would say */
        if (res.status != DP_CHAIN_OK) {
            id->status = res.status == DP_CHAIN_DENIED_KEY ? DP_ST_GENERIC
                                                           : DP_ST_UNVERIFIED;
            id->x509_err = res.status == DP_CHAIN_NOT_YET_VALID
                           ? X509_V_ERR_CERT_NOT_YET_VALID
                           : res.status == DP_CHAIN_NEVER_VALID
                           ? X509_V_ERR_CERT_HAS_EXPIRED
                           : res.status == DP_CHAIN_CA_LEAF
                           ? X509_V_ERR_INVALID_PURPOSE
                           : X509_V_OK;
            id->reason_code = dp_chain_reason(&res, id->reason,
                                              sizeof(id->reason), v->name);
            return 0;
        }
        id->vendor = v;
        id->time = res.time;
        id->time_depth = res.time_depth;
        break;
    }
    if (id->vendor == NULL) {
        id->status = DP_ST_UNVERIFIED;
        id->x509_err = first_err;
        dp_identity_reason(id, DP_REASON_NOT_VERIFIED, "%s",
                           nvendors ? X509_verify_cert_error_string(first_err)
                                    : "no vendor trust store configured");
        return 0;
    }
    ms = dp_mac_extract(id->vendor->rules, id->vendor->nrules,
                        X509_get_subject_name(leaf), &id->mac);
    if (ms != DP_MAC_FOUND) {
        id->status = DP_ST_NO_MAC;
        memset(&id->mac, 0, sizeof(id->mac));
        dp_identity_reason(id, dp_mac_status_reason(ms), NULL);
        return 0;
    }
    id->status = DP_ST_DEVICE;
    return 0;
}

int dp_pin_mismatch(const dp_entry_t *entry, const unsigned char *sha256)
{
    const char *pin = dp_entry_attr(entry, "pin");
    char hex[65];

    if (pin == NULL)
        return 0;
    dp_hex_sha256(sha256, hex);
    /* dp_pin_valid() checked the form when the list was loaded */
    return strcasecmp(pin + 7, hex) != 0;
}

int dp_identify_pinned(const dp_vendor_t *const *vendors, size_t nvendors,
                       dp_lookup_fn lookup, void *source, X509 *leaf,
                       time_t now, dp_identity_t *id)
{
    size_t i;
    dp_mac_t mac;
    dp_entry_t entry;
    dp_chain_result_t res;
    int rc;

    if (id->status != DP_ST_UNVERIFIED || lookup == NULL || leaf == NULL)
        return 0;
    for (i = 0; i < nvendors; i++) {
        const dp_vendor_t *v = vendors[i];
        if (dp_mac_extract(v->rules, v->nrules, X509_get_subject_name(leaf),
                           &mac) != DP_MAC_FOUND)
            continue;
        rc = lookup(source, &mac, &entry);
        if (rc < 0)
            return -1;
        if (rc == 0 || dp_entry_attr(&entry, "pin") == NULL
            || dp_pin_mismatch(&entry, id->sha256))
            continue;
        /* pinned, so trusted as itself: the time rules still apply */
        if (dp_trust_time_alone(leaf, now, v->accept_future, &res) != 0)
            return -1;
        if (res.status != DP_CHAIN_OK) {
            if (res.status != DP_CHAIN_UNVERIFIED)  /* else: unreadable */
                id->reason_code = dp_chain_reason(&res, id->reason,
                                                  sizeof(id->reason),
                                                  v->name);
            return 0;
        }
        id->status = DP_ST_DEVICE;
        id->pinned = 1;
        id->vendor = v;
        id->mac = mac;
        id->time = res.time;
        id->time_depth = res.time_depth;
        id->x509_err = X509_V_OK;
        dp_identity_reason(id, DP_REASON_NONE, NULL);
        return 1;
    }
    return 0;
}

const char *dp_identity_method(const dp_identity_t *id)
{
    if (id->status != DP_ST_DEVICE)
        return NULL;
    return id->password ? "password" : id->pinned ? "pin" : "certificate";
}
