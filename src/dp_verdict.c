/* dp_verdict.c - identity + allowlist + revocation -> verdict. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/x509_vfy.h>

#include "dp_verdict.h"


void dp_verdict_make(const dp_vendor_t *const *vendors, size_t nvendors,
                     const dp_identity_t *id, int cert, X509 *leaf,
                     dp_lookup_fn lookup, void *source, time_t now,
                     dp_verdict_t *v)
{
    int have_list = lookup != NULL, rc;
    dp_entry_t entry;

    memset(v, 0, sizeof(*v));
    v->id = *id;
    v->listed = have_list ? 0 : DP_LISTED_NONE;
    if (cert || leaf != NULL)
        dp_hex_sha256(v->id.sha256, v->sha256);
    if (leaf != NULL) {
        /* a self-signed built-in certificate pinned in the allowlist
         * (only self-signed ones are looked up: a certificate from an
         * unknown CA costs no lookup) */
        if (have_list
            && v->id.x509_err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
            && dp_identify_pinned(vendors, nvendors, lookup, source, leaf,
                                  now, &v->id) < 0) {
            v->listed = DP_LISTED_DOWN;
            dp_identity_reason(&v->id, DP_REASON_DB_UNAVAILABLE, NULL);
        }
    }
    if (v->id.status == DP_ST_DEVICE)
        dp_mac_format(&v->id.mac, v->mac);
    if (!have_list || v->listed == DP_LISTED_DOWN)
        return;
    rc = v->id.status == DP_ST_DEVICE ? lookup(source, &v->id.mac, &entry)
                                      : 0;
    if (rc < 0) {
        v->listed = DP_LISTED_DOWN;
        dp_identity_reason(&v->id, DP_REASON_DB_UNAVAILABLE, NULL);
    }
    else if (rc == 1) {
        const char *bound = dp_entry_attr(&entry, "vendor");

        if (dp_pin_mismatch(&entry, v->id.sha256)) {
            /* the line pins another certificate for this MAC */
            dp_identity_reason(&v->id, DP_REASON_PIN_MISMATCH, NULL);
            return;
        }
        if (bound != NULL && strcmp(bound, v->id.vendor->name) != 0) {
            /* listed for another vendor: a certificate from this
             * vendor's CA cannot claim that phone */
            dp_identity_reason(&v->id, DP_REASON_VENDOR_MISMATCH,
                               "%s, certificate from %s", bound,
                               v->id.vendor->name);
            return;
        }
        v->listed = 1;
        v->entry = entry;
    }
    else if (v->id.status == DP_ST_DEVICE) {
        dp_identity_reason(&v->id, DP_REASON_UNLISTED, NULL);
    }
}

unsigned dp_verdict_user_class(const dp_verdict_t *v)
{
    switch (v->id.status) {
    case DP_ST_NO_CERT:
        return DP_USER_NO_CERT;
    case DP_ST_GENERIC:
        return DP_USER_GENERIC;
    case DP_ST_NO_MAC:
        return DP_USER_NO_MAC;
    case DP_ST_UNVERIFIED:
        return DP_USER_UNVERIFIED;
    case DP_ST_DEVICE:
        break;
    }
    return 0;
}

/* USER's phone: 1 (MAC set), 0, or -1 (MAP could not answer). */
static int user_mac(const char *user, dp_user_map_fn map, void *mapsrc,
                    dp_mac_t *mac)
{
    size_t len = strlen(user);

    if (len == 0)
        return 0;
    if (dp_mac_parse(user, len, mac) == 0)
        return dp_mac_is_unicast(mac) ? 1 : 0;
    return map != NULL ? map(mapsrc, user, len, mac) : 0;
}

dp_user_result_t dp_verdict_user(const dp_verdict_t *cert, const char *user,
                                 unsigned classes, dp_user_map_fn map,
                                 void *mapsrc, dp_lookup_fn lookup,
                                 void *source, dp_verdict_t *v)
{
    dp_mac_t mac;
    dp_entry_t entry;
    const char *bound;
    int rc;

    *v = *cert;
    v->revoked = 0;
    if (user == NULL)
        return DP_USER_NONE;
    if (cert->id.status == DP_ST_DEVICE) {
        /* the certificate (or its pin) says who it is: a user name can
         * only agree with it */
        if (user_mac(user, map, mapsrc, &mac) != 1)
            return DP_USER_NONE;
        if (memcmp(&mac, &cert->id.mac, sizeof(mac)) == 0)
            return DP_USER_SAME;
        v->conflict = 1;
        v->listed = cert->listed == DP_LISTED_NONE ? DP_LISTED_NONE : 0;
        memset(&v->entry, 0, sizeof(v->entry));
        dp_identity_reason(&v->id, DP_REASON_USER_CONFLICT, NULL);
        return DP_USER_CONFLICT;
    }
    if ((dp_verdict_user_class(cert) & classes) == 0)
        return DP_USER_NONE;
    rc = user_mac(user, map, mapsrc, &mac);
    if (rc == 0)
        return DP_USER_NONE;
    if (rc < 0) {
        v->listed = DP_LISTED_DOWN;
        dp_identity_reason(&v->id, DP_REASON_DB_UNAVAILABLE, NULL);
        return DP_USER_NONE;
    }
    /* the password's phone, with what the client's certificate (a
     * generic one, say) was: its fingerprint, for revocation and logs */
    memset(&v->id, 0, sizeof(v->id));
    memset(&v->entry, 0, sizeof(v->entry));
    v->id.status = DP_ST_DEVICE;
    v->id.mac = mac;
    v->id.password = (int)dp_verdict_user_class(cert);
    memcpy(v->id.sha256, cert->id.sha256, sizeof(v->id.sha256));
    dp_mac_format(&mac, v->mac);
    v->listed = lookup != NULL ? 0 : DP_LISTED_NONE;
    if (lookup == NULL)
        return DP_USER_DEVICE;
    rc = lookup(source, &mac, &entry);
    if (rc < 0) {
        v->listed = DP_LISTED_DOWN;
        dp_identity_reason(&v->id, DP_REASON_DB_UNAVAILABLE, NULL);
    }
    else if (rc == 0)
        dp_identity_reason(&v->id, DP_REASON_UNLISTED, NULL);
    /* a certificate phone's line is not a password's to claim */
    else if (dp_entry_attr(&entry, "pin") != NULL)
        dp_identity_reason(&v->id, DP_REASON_USER_MISMATCH, "pin=");
    else if ((bound = dp_entry_attr(&entry, "vendor")) != NULL)
        dp_identity_reason(&v->id, DP_REASON_USER_MISMATCH, "vendor=%s",
                           bound);
    else if ((bound = dp_entry_attr(&entry, "user")) != NULL
             && strcmp(bound, user) != 0)
        dp_identity_reason(&v->id, DP_REASON_USER_MISMATCH, "user=%s",
                           bound);
    else {
        v->listed = 1;
        v->entry = entry;
    }
    return DP_USER_DEVICE;
}

size_t dp_verdict_entry_size(const dp_verdict_t *v)
{
    return v->listed == 1 ? dp_entry_size(&v->entry) : 0;
}

void dp_verdict_keep_entry(dp_verdict_t *v, char *buf)
{
    size_t size = dp_verdict_entry_size(v), llen;

    if (size == 0)
        return;
    llen = strlen(v->entry.label) + 1;
    /* label, NUL, then "key=value\0...\0" with its final NUL */
    memmove(buf, v->entry.label, llen);
    memmove(buf + llen, v->entry.attrs, size - llen);
    v->entry.label = buf;
    v->entry.attrs = buf + llen;
}

int dp_verdict_revoke(dp_verdict_t *v, const dp_revoked_t *rv)
{
    v->revoked = rv != NULL
                 && ((v->sha256[0] != '\0'
                      && dp_revoked_cert(rv, v->id.sha256))
                     || (v->id.status == DP_ST_DEVICE
                         && dp_revoked_mac(rv, &v->id.mac)));
    return v->revoked;
}

int dp_verdict_denied(const dp_verdict_t *v, dp_policy_t mode)
{
    if (v->conflict)
        return 1;
    switch (mode) {
    case DP_POLICY_OFF:
        return 0;
    case DP_POLICY_UNVERIFIED:
        return v->revoked || v->id.status != DP_ST_DEVICE;
    case DP_POLICY_UNLISTED:
        return v->revoked || v->id.status != DP_ST_DEVICE || v->listed != 1;
    }
    return 1;
}

dp_reason_t dp_verdict_reason_code(const dp_verdict_t *v)
{
    return v->revoked ? DP_REASON_REVOKED : v->id.reason_code;
}

const char *dp_verdict_reason(const dp_verdict_t *v)
{
    if (v->revoked)
        return dp_reason_info(DP_REASON_REVOKED)->log;
    return v->id.reason[0] ? v->id.reason
                           : dp_reason_info(DP_REASON_NONE)->log;
}

void dp_verdict_stats(const dp_verdict_t *v, dp_stats_event_t *ev)
{
    const dp_identity_t *id = &v->id;
    /* exactly as dp_verdict_export() sets DEVICE_VERIFIED, _PINNED,
     * _CERT_VALIDITY (of a verified device), _ALLOWLISTED and _REASON */
    int device = id->status == DP_ST_DEVICE && !v->revoked && !v->conflict;

    memset(ev, 0, sizeof(*ev));
    ev->verified = device;
    ev->validity = device && !id->password ? (int)id->time : 0;
    ev->pinned = device && id->pinned;
    ev->password = device && id->password;
    ev->listed = !v->revoked && v->listed == 1;
    /* a text without a code (none is written so) would be "other" */
    ev->reason = v->revoked ? DP_REASON_REVOKED
                 : !id->reason[0] ? DP_REASON_NONE
                 : id->reason_code != DP_REASON_NONE ? id->reason_code
                 : DP_REASON_INTERNAL;
}

int dp_policy_parse(const char *s, dp_policy_t *out)
{
    if (!strcasecmp(s, "off"))
        *out = DP_POLICY_OFF;
    else if (!strcasecmp(s, "unverified"))
        *out = DP_POLICY_UNVERIFIED;
    else if (!strcasecmp(s, "unlisted"))
        *out = DP_POLICY_UNLISTED;
    else
        return -1;
    return 0;
}

void dp_verdict_export(const dp_verdict_t *v, const char *enrolment,
                       dp_verdict_set_fn set, void *arg)
{
    const dp_identity_t *id = &v->id;
    int device = id->status == DP_ST_DEVICE && !v->revoked && !v->conflict;
    /* verified by a vendor CA (a pinned certificate is not, nor a
     * password) */
    int genuine = (id->status == DP_ST_DEVICE && !id->pinned
                   && !id->password && !v->conflict)
                  || id->status == DP_ST_NO_MAC;

    set(arg, "DEVICE_VERIFIED", device ? "1" : "0");
    if (device) {
        set(arg, "DEVICE_MAC", v->mac);
        set(arg, "DEVICE_IDENTIFIED_BY", dp_identity_method(id));
    }
    if (device && id->password)
        set(arg, "DEVICE_CERT_CLASS",
            id->password == DP_USER_GENERIC ? "generic"
            : id->password == DP_USER_NO_MAC ? "no-mac"
            : id->password == DP_USER_UNVERIFIED ? "unverified" : "no-cert");
    if (device && id->pinned) {
        set(arg, "DEVICE_PINNED", "1");
        set(arg, "DEVICE_CERT_VALIDITY", dp_time_status_string(id->time));
        set(arg, "DEVICE_CERT_EXPIRED",
            id->time == DP_TIME_EXPIRED ? "1" : "0");
    }
    if (genuine) {
        set(arg, "DEVICE_VENDOR", id->vendor->name);
        set(arg, "DEVICE_CERT_VALIDITY", dp_time_status_string(id->time));
        set(arg, "DEVICE_CERT_EXPIRED",
            id->time == DP_TIME_EXPIRED ? "1" : "0");
    }
    if (v->sha256[0])
        set(arg, "DEVICE_CERT_SHA256", v->sha256);
    if (enrolment != NULL)
        set(arg, "DEVICE_ENROLMENT", enrolment);
    if (v->revoked) {
        set(arg, "DEVICE_REVOKED", "1");
        set(arg, "DEVICE_REASON", dp_reason_info(DP_REASON_REVOKED)->text);
        if (v->listed != DP_LISTED_NONE)
            set(arg, "DEVICE_ALLOWLISTED", "0");
        return;
    }
    /* no answer from the database: DEVICE_ALLOWLISTED stays unset */
    if (v->listed == 0 || v->listed == 1)
        set(arg, "DEVICE_ALLOWLISTED", v->listed ? "1" : "0");
    if (v->listed == 1) {
        const char *cur = v->entry.attrs, *k, *val;
        size_t klen, i;
        char name[12 + DP_AL_KEY_MAX + 1];

        if (v->entry.label[0])
            set(arg, "DEVICE_LABEL", v->entry.label);
        while (dp_entry_next_attr(&cur, &k, &klen, &val)) {
            if (klen > DP_AL_KEY_MAX)
                klen = DP_AL_KEY_MAX;   /* the list's rules forbid it */
            memcpy(name, "DEVICE_ATTR_", 12);
            for (i = 0; i < klen; i++)
                name[12 + i] = (k[i] >= 'a' && k[i] <= 'z')
                               ? (char)(k[i] - 'a' + 'A') : k[i];
            name[12 + klen] = '\0';
            set(arg, name, val);
        }
    }
    if (id->reason[0])
        set(arg, "DEVICE_REASON", id->reason);
}

int dp_verdict_enrol_mac(const dp_vendor_t *const *vendors, size_t nvendors,
                         const dp_verdict_t *v, X509 *leaf,
                         dp_lookup_fn lookup, void *source, dp_mac_t *mac)
{
    dp_entry_t entry;
    size_t i;

    if (leaf == NULL || lookup == NULL || v->id.status != DP_ST_UNVERIFIED
        || v->listed == DP_LISTED_DOWN || v->listed == DP_LISTED_NONE
        || v->id.x509_err != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
        return -1;
    for (i = 0; i < nvendors; i++) {
        if (dp_mac_extract(vendors[i]->rules, vendors[i]->nrules,
                           X509_get_subject_name(leaf), mac) == DP_MAC_FOUND
            && lookup(source, mac, &entry) == 1
            && dp_entry_attr(&entry, "pin") == NULL)
            return (int)i;
    }
    return -1;
}
