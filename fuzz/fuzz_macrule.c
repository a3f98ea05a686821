/* fuzz_macrule.c - libFuzzer target for MAC extraction from certificates
 * (dp_mac_extract with each vendor preset and custom rules) and for the
 * identification path (dp_identify, dp_identify_pinned).
 *
 * Input, by its first byte:
 *   0x30 (DER SEQUENCE)  a certificate (d2i_X509), else an X509_NAME
 *                        (d2i_X509_NAME): what a phone sends;
 *   anything else        a subject in a text form that reaches the rules
 *                        without going through OpenSSL's uninstrumented DER
 *                        parser: lines "<t><attr>=<value>", t a letter
 *                        a-j choosing the ASN.1 string type (see
 *                        name_from_text),
 *                        a leading '+' joining the previous RDN.
 *
 * Invariants, for every vendor's rules:
 *   - a FOUND MAC is unicast, round-trips through format/parse, and is
 *     written (in a form dp_mac_parse accepts) in the only entry of one of
 *     the rules' attributes; FOUND/NONE and the MAC do not depend on the
 *     order of the rules; the same call twice gives the same answer;
 *   - the status is one of the enum values and has a description;
 *   - the caller's OpenSSL error queue is left as it was;
 * and for certificates:
 *   - dp_identify: DEVICE only with a vendor whose rules find that MAC,
 *     NO_MAC only with a vendor whose rules find none, UNVERIFIED without
 *     one; the fingerprint is the certificate's SHA-256;
 *   - dp_identify_pinned (through dp_allowlist_lookup_fn) with an
 *     allowlist pinning this certificate for the
 *     MACs found makes an UNVERIFIED certificate a pinned DEVICE exactly
 *     when some vendor's rules find a MAC and the validity is readable; with
 *     a pin of another certificate, or no pin, it never does.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "fuzz_common.h"
#include "fuzz_err.h"
#include "dp_allowlist.h"
#include "dp_identify.h"
#include "dp_macrule.h"
#include "dp_trust.h"
#include "fuzz_ca.h"

#define NVENDORS 4
#define MAXRULES 6
#define NOW ((time_t)1700000000)        /* fixed: results must not drift */

typedef struct fvendor {
    const char *name;
    dp_rule_spec_t spec[MAXRULES + 1];
    ASN1_OBJECT *obj[MAXRULES];
    dp_macrule_t *rules[MAXRULES];
    dp_macrule_t *reversed[MAXRULES];
    size_t n;
    dp_vendor_t v;
} fvendor_t;

static fvendor_t vendors[NVENDORS];
static const dp_vendor_t *vlist[NVENDORS];

static void init(void)
{
    static int done;
    static const char *const preset[] = { "polycom", "cisco-spa", "yealink" };
    static const dp_rule_spec_t custom[] = {
        { "OU", "^none$|^id=([0-9A-Fa-f:.-]{12,17})$" },   /* group may not take part */
        { "2.5.4.5", NULL },                            /* serialNumber, by OID */
        { "1.3.6.1.4.1.99999.1", "([0-9a-fA-F]{12})" }, /* unknown to OpenSSL */
        { "localityName", "MAC ?([^ ]*)" },             /* any capture */
        { NULL, NULL }
    };
    static const unsigned char *const ca[NVENDORS] = {
        fuzz_ca_polycom, fuzz_ca_cisco, fuzz_ca_yealink, fuzz_ca_yealink
    };
    static const size_t calen[NVENDORS] = {
        sizeof(fuzz_ca_polycom), sizeof(fuzz_ca_cisco),
        sizeof(fuzz_ca_yealink), sizeof(fuzz_ca_yealink)
    };
    char err[256];
    size_t i, j;

    if (done)
        return;
    done = 1;
    for (i = 0; i < NVENDORS; i++) {
        fvendor_t *fv = &vendors[i];
        const dp_rule_spec_t *spec = i < 3 ? dp_vendor_preset(preset[i]) : custom;

        FUZZ_CHECK(spec != NULL);
        fv->name = i < 3 ? preset[i] : "custom";
        for (j = 0; spec[j].attr != NULL; j++) {
            FUZZ_CHECK(j < MAXRULES);
            fv->spec[j] = spec[j];
            fv->rules[j] = dp_macrule_new(spec[j].attr, spec[j].pattern, err,
                                          sizeof(err));
            FUZZ_CHECK(fv->rules[j] != NULL);
            FUZZ_CHECK(dp_macrule_describe(fv->rules[j])[0] != '\0');
            fv->obj[j] = OBJ_txt2obj(spec[j].attr, 0);
            FUZZ_CHECK(fv->obj[j] != NULL);
        }
        fv->n = j;
        for (j = 0; j < fv->n; j++)
            fv->reversed[j] = fv->rules[fv->n - 1 - j];
        fv->v.name = fv->name;
        fv->v.trust = dp_trust_new();
        FUZZ_CHECK(fv->v.trust != NULL);
        FUZZ_CHECK(dp_trust_add_mem(fv->v.trust, ca[i], calen[i], fv->name,
                                    err, sizeof(err)) == 1);
        fv->v.rules = fv->rules;
        fv->v.nrules = fv->n;
        fv->v.auth_level = DP_AUTH_LEVEL_DEFAULT;
        vlist[i] = &fv->v;
    }
    /* rules that must be refused */
    FUZZ_CHECK(dp_macrule_new("noSuchAttribute", NULL, err, sizeof(err)) == NULL);
    FUZZ_CHECK(dp_macrule_new("1.2.", NULL, err, sizeof(err)) == NULL);
    FUZZ_CHECK(dp_macrule_new("CN", "([0-9", err, sizeof(err)) == NULL);
    FUZZ_CHECK(dp_macrule_new("CN", "[0-9a-f]{12}", err, sizeof(err)) == NULL);
}


/* Is MAC written in the only entry of one of FV's attributes? */
static int mac_in_subject(const fvendor_t *fv, const X509_NAME *subj,
                          const dp_mac_t *mac)
{
    size_t r;

    for (r = 0; r < fv->n; r++) {
        int idx = X509_NAME_get_index_by_OBJ(subj, fv->obj[r], -1), len, i;
        unsigned char *u = NULL;
        int hit = 0;

        if (idx < 0 || X509_NAME_get_index_by_OBJ(subj, fv->obj[r], idx) >= 0)
            continue;
        len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
                                         X509_NAME_get_entry(subj, idx)));
        ERR_clear_error();
        if (len < 0)
            continue;
        for (i = 0; i < len && !hit; i++) {
            static const int lens[] = { 12, 14, 17 };
            size_t k;
            dp_mac_t m;
            for (k = 0; k < 3; k++)
                if (i + lens[k] <= len
                    && fz_mac_parse((const char *)u + i, (size_t)lens[k], &m) == 0
                    && fz_mac_eq(&m, mac))
                    hit = 1;
        }
        if (fv->spec[r].pattern == NULL) {          /* the whole value */
            dp_mac_t whole;
            hit = fz_mac_parse((const char *)u, (size_t)len, &whole) == 0
                  && fz_mac_eq(&whole, mac);
        }
        OPENSSL_free(u);
        if (hit)
            return 1;
    }
    return 0;
}

/* Extract with FV's rules; checks the invariants; returns the status. */
static dp_mac_status_t extract(const fvendor_t *fv, const X509_NAME *subj,
                               dp_mac_t *out)
{
    dp_mac_t m1, m2, m3;
    dp_mac_status_t s1, s2, s3;

    memset(&m1, 0, sizeof(m1));
    memset(&m2, 0, sizeof(m2));
    memset(&m3, 0, sizeof(m3));
    err_sentinel();
    s1 = dp_mac_extract(fv->rules, fv->n, subj, &m1);
    s2 = dp_mac_extract(fv->rules, fv->n, subj, &m2);
    s3 = dp_mac_extract(fv->reversed, fv->n, subj, &m3);
    err_check();
    FUZZ_CHECK(s1 == DP_MAC_FOUND || s1 == DP_MAC_NONE
               || s1 == DP_MAC_AMBIGUOUS || s1 == DP_MAC_BADVALUE);
    FUZZ_CHECK(strcmp(dp_mac_status_string(s1), "unknown") != 0);
    FUZZ_CHECK(s1 == s2);
    FUZZ_CHECK((s1 == DP_MAC_FOUND) == (s3 == DP_MAC_FOUND));
    FUZZ_CHECK((s1 == DP_MAC_NONE) == (s3 == DP_MAC_NONE));
    if (s1 == DP_MAC_FOUND) {
        FUZZ_CHECK(fz_mac_eq(&m1, &m2) && fz_mac_eq(&m1, &m3));
        FUZZ_CHECK(fz_unicast(&m1));
        fz_check_mac_roundtrip(&m1);
        FUZZ_CHECK(mac_in_subject(fv, subj, &m1));
        *out = m1;
    }
    return s1;
}

static void check_name(const X509_NAME *subj, dp_mac_status_t *st,
                       dp_mac_t *macs)
{
    size_t i;

    for (i = 0; i < NVENDORS; i++) {
        st[i] = extract(&vendors[i], subj, &macs[i]);
#ifdef FUZZ_DEBUG
        fprintf(stderr, "  %-9s %s\n", vendors[i].name, dp_mac_status_string(st[i]));
#endif
    }
    FUZZ_CHECK(dp_mac_extract(vendors[0].rules, 0, subj, &macs[NVENDORS])
               == DP_MAC_NONE);
}

static dp_allowlist_t *pin_list(const dp_mac_status_t *st, const dp_mac_t *macs,
                                const char *pin_hex)
{
    char text[NVENDORS * 128], m[DP_MAC_STRLEN + 1], err[256];
    size_t i, j, o = 0;
    dp_allowlist_t *al;

    text[0] = '\0';
    for (i = 0; i < NVENDORS; i++) {
        int dup = 0;
        if (st[i] != DP_MAC_FOUND)
            continue;
        for (j = 0; j < i; j++)
            if (st[j] == DP_MAC_FOUND && fz_mac_eq(&macs[j], &macs[i]))
                dup = 1;
        if (dup)
            continue;
        dp_mac_format(&macs[i], m);
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s fuzz%s%s\n", m,
                              pin_hex ? " pin=sha256:" : "",
                              pin_hex ? pin_hex : "");
    }
    al = dp_allowlist_parse(text, o, "pins", err, sizeof(err));
    FUZZ_CHECK(al != NULL);
    return al;
}

static int lookup_down(void *source, const dp_mac_t *mac, dp_entry_t *out)
{
    (void)source;
    (void)mac;
    (void)out;
    return -1;
}

static void check_identify(X509 *x, const dp_mac_status_t *st,
                           const dp_mac_t *macs)
{
    dp_identity_t id, id2;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    size_t i;
    int rc, ts, first = -1;

    err_sentinel();
    rc = dp_identify(vlist, NVENDORS, NULL, x, NOW, &id);
    err_check();
    if (rc != 0)
        return;                                 /* e.g. no public key */
#ifdef FUZZ_DEBUG
    fprintf(stderr, "identify: status %d vendor %s reason '%s' mac %02x%02x%02x%02x%02x%02x\n",
            (int)id.status, id.vendor ? id.vendor->name : "-", id.reason,
            id.mac.b[0], id.mac.b[1], id.mac.b[2], id.mac.b[3], id.mac.b[4], id.mac.b[5]);
#endif
    FUZZ_CHECK(X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32);
    FUZZ_CHECK(memcmp(md, id.sha256, 32) == 0);
    FUZZ_CHECK(id.pinned == 0);
    switch (id.status) {
    case DP_ST_DEVICE:
    case DP_ST_NO_MAC:
        FUZZ_CHECK(id.vendor != NULL);
        for (i = 0; i < NVENDORS; i++)
            if (id.vendor == vlist[i])
                break;
        FUZZ_CHECK(i < NVENDORS);
        if (id.status == DP_ST_DEVICE) {
            FUZZ_CHECK(st[i] == DP_MAC_FOUND && fz_mac_eq(&id.mac, &macs[i]));
            FUZZ_CHECK(id.reason[0] == '\0');
        }
        else
            FUZZ_CHECK(st[i] != DP_MAC_FOUND);
        return;
    case DP_ST_GENERIC:
        return;
    case DP_ST_UNVERIFIED:
        FUZZ_CHECK(id.vendor == NULL && id.reason[0] != '\0');
        break;
    default:
        FUZZ_CHECK(!"unexpected status");
    }

    for (i = 0; i < NVENDORS; i++)
        if (st[i] == DP_MAC_FOUND) {
            first = (int)i;
            break;
        }
    dp_hex_sha256(id.sha256, hex);
    ts = dp_cert_time_status(x, NOW);
    {
        /* pinned: this very certificate */
        dp_allowlist_t *al = pin_list(st, macs, hex);
        int want = first >= 0 && ts >= 0;
        id2 = id;
        err_sentinel();
        FUZZ_CHECK(dp_identify_pinned(vlist, NVENDORS, dp_allowlist_lookup_fn, al, x,
                                      NOW, &id2) == want);
#ifdef FUZZ_DEBUG
        fprintf(stderr, "pinned: want %d\n", want);
#endif
        err_check();
        if (want) {
            FUZZ_CHECK(id2.status == DP_ST_DEVICE && id2.pinned == 1);
            FUZZ_CHECK(id2.vendor == vlist[first]);
            FUZZ_CHECK(fz_mac_eq(&id2.mac, &macs[first]));
            FUZZ_CHECK((int)id2.time == ts);
        }
        else
            FUZZ_CHECK(memcmp(&id2, &id, sizeof(id)) == 0);
        dp_allowlist_free(al);
    }
    if (first >= 0) {
        /* another certificate's pin, and no pin at all: never a device */
        dp_allowlist_t *al;
        dp_entry_t e;
        hex[10] = hex[10] == '0' ? '1' : '0';
        al = pin_list(st, macs, hex);
        id2 = id;
        FUZZ_CHECK(dp_identify_pinned(vlist, NVENDORS, dp_allowlist_lookup_fn, al, x,
                                      NOW, &id2) == 0);
        FUZZ_CHECK(memcmp(&id2, &id, sizeof(id)) == 0);
        FUZZ_CHECK(dp_allowlist_lookup(al, &macs[first], &e) == 1);
        FUZZ_CHECK(dp_pin_mismatch(&e, id.sha256) == 1);
        dp_allowlist_free(al);
        /* a source that cannot answer: -1, nothing changed */
        id2 = id;
        FUZZ_CHECK(dp_identify_pinned(vlist, NVENDORS, lookup_down, NULL, x,
                                      NOW, &id2) == -1);
        FUZZ_CHECK(memcmp(&id2, &id, sizeof(id)) == 0);
        al = pin_list(st, macs, NULL);
        FUZZ_CHECK(dp_identify_pinned(vlist, NVENDORS, dp_allowlist_lookup_fn, al, x,
                                      NOW, &id2) == 0);
        FUZZ_CHECK(dp_allowlist_lookup(al, &macs[first], &e) == 1);
        FUZZ_CHECK(dp_pin_mismatch(&e, id.sha256) == 0);
        dp_allowlist_free(al);
    }
}

/* The text form: one entry per line, "<t><attr>=<value>". */
static X509_NAME *name_from_text(const uint8_t *data, size_t size)
{
    static const int types[10] = {
        MBSTRING_UTF8, MBSTRING_ASC, MBSTRING_BMP, V_ASN1_UTF8STRING,
        V_ASN1_BMPSTRING, V_ASN1_UNIVERSALSTRING, V_ASN1_T61STRING,
        V_ASN1_IA5STRING, V_ASN1_PRINTABLESTRING, V_ASN1_OCTET_STRING
    };
    X509_NAME *n = X509_NAME_new();
    size_t i = 0;

    FUZZ_CHECK(n != NULL);
    while (i < size && X509_NAME_entry_count(n) < 16) {
        size_t e = i, eq;
        int set = 0, type;
        char attr[64];

        while (e < size && data[e] != '\n')
            e++;
        if (i < e && data[i] == '+') {
            set = X509_NAME_entry_count(n) > 0 ? -1 : 0;
            i++;
        }
        if (i < e && data[i] >= 'a' && data[i] <= 'j') {
            type = types[data[i] - 'a'];
            for (eq = i + 1; eq < e && data[eq] != '='; eq++)
                ;
            if (eq < e && eq - i - 1 < sizeof(attr)) {
                memcpy(attr, data + i + 1, eq - i - 1);
                attr[eq - i - 1] = '\0';
                if (memchr(attr, '\0', eq - i - 1) == NULL)
                    X509_NAME_add_entry_by_txt(n, attr, type, data + eq + 1,
                                               (int)(e - eq - 1), -1, set);
            }
        }
        i = e + 1;
    }
    ERR_clear_error();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dp_mac_status_t st[NVENDORS];
    dp_mac_t macs[NVENDORS + 1];

    init();
    if (size > 16384)
        return 0;
    memset(macs, 0, sizeof(macs));
    ERR_clear_error();
    if (size > 0 && data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)size);
        if (x != NULL) {
            check_name(X509_get_subject_name(x), st, macs);
            check_identify(x, st, macs);
            X509_free(x);
        }
        else {
            X509_NAME *n;
            p = data;
            n = d2i_X509_NAME(NULL, &p, (long)size);
            if (n != NULL) {
                check_name(n, st, macs);
                X509_NAME_free(n);
            }
        }
    }
    else {
        X509_NAME *n = name_from_text(data, size);
        check_name(n, st, macs);
        X509_NAME_free(n);
    }
    ERR_clear_error();
    return 0;
}
