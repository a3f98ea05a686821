/* dp_macrule.c - MAC extraction rules and vendor presets. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "dp_macrule.h"

struct dp_macrule {
    ASN1_OBJECT *obj;     /* subject attribute, possibly unknown to OpenSSL */
    int has_re;
    regex_t re;
    char desc[DP_ATTR_MAX + 64];
    /* as given, so that a rule can be written out and compiled again
     * (apache2 -t -D DUMP_DEVPROV, read back by devprov-check) */
    char *attr_text;
    char *pattern_text;         /* NULL: no pattern */
};

/* Presets follow the vendors' published certificate layouts (see
 * certs/vendors/README.md). */
static const dp_rule_spec_t preset_polycom[] = {
    { "CN", NULL },                               /* CN=0004F2ABCDEF */
    { NULL, NULL }
};
static const dp_rule_spec_t preset_cisco_spa[] = {
    /* CN="SPA-962, MAC: 000e08abcdef, Serial: ...", ST=000e08abcdef */
    { "CN", "^[^,]*, *MAC: *([0-9A-Fa-f]{12})(,.*)?$" },
    { "ST", NULL },
    { NULL, NULL }
};
static const dp_rule_spec_t preset_yealink[] = {
    /* serialNumber=ffffffff-ffff-ffff-fff0-001565000062 */
    { "serialNumber", "^[0-9A-Fa-f-]*-([0-9A-Fa-f]{12})$" },
    { NULL, NULL }
};

static const struct {
    const char *name;
    const dp_rule_spec_t *rules;
} presets[] = {
    { "polycom", preset_polycom },
    { "cisco-spa", preset_cisco_spa },
    { "yealink", preset_yealink },
};

const dp_rule_spec_t *dp_vendor_preset(const char *vendor)
{
    size_t i;

    for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
        if (strcmp(presets[i].name, vendor) == 0)
            return presets[i].rules;
    return NULL;
}

int dp_vendor_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 32)
        return 0;
    for (i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
            return 0;
    return 1;
}

const char *dp_vendor_preset_names(void)
{
    return "polycom, cisco-spa, yealink";
}

/* A dotted OID in strict form: two or more arcs of digits, one dot between
 * arcs, nothing else (OBJ_txt2obj() alone also takes "1.2." or "1..2"). */
static int is_dotted_oid(const char *s)
{
    int arcs = 0;

    for (;;) {
        if (*s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
        arcs++;
        if (*s == '\0')
            return arcs >= 2;
        if (*s != '.')
            return 0;
        s++;
    }
}

/* The subject attribute ATTR names (short name, long name or dotted OID),
 * or NULL.  Leaves the caller's OpenSSL error queue as it was. */
static ASN1_OBJECT *attr_object(const char *attr)
{
    ASN1_OBJECT *obj = NULL;

    ERR_set_mark();
    if (OBJ_sn2nid(attr) != NID_undef || OBJ_ln2nid(attr) != NID_undef
        || is_dotted_oid(attr))
        obj = OBJ_txt2obj(attr, 0);
    ERR_pop_to_mark();
    return obj;
}

/* Short name of OBJ, or its dotted form if OpenSSL does not know it. */
static void attr_name(const ASN1_OBJECT *obj, char *buf, size_t len)
{
    int nid = OBJ_obj2nid(obj);

    if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
        snprintf(buf, len, "%s", OBJ_nid2sn(nid));
    else if (OBJ_obj2txt(buf, (int)len, obj, 1) <= 0)
        snprintf(buf, len, "?");
}

dp_macrule_t *dp_macrule_new(const char *attr, const char *pattern,
                             char *err, size_t errlen)
{
    dp_macrule_t *rule;
    ASN1_OBJECT *obj;
    char aname[DP_ATTR_MAX];
    int rc;

    obj = attr_object(attr);
    if (obj == NULL) {
        snprintf(err, errlen, "unknown certificate attribute '%s' "
                 "(use e.g. CN, ST, L, O, OU, serialNumber)", attr);
        return NULL;
    }
    rule = calloc(1, sizeof(*rule));
    if (rule == NULL) {
        ASN1_OBJECT_free(obj);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rule->obj = obj;
    rule->attr_text = strdup(attr);
    rule->pattern_text = pattern != NULL ? strdup(pattern) : NULL;
    if (rule->attr_text == NULL
        || (pattern != NULL && rule->pattern_text == NULL)) {
        dp_macrule_free(rule);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    attr_name(obj, aname, sizeof(aname));
    if (pattern != NULL) {
        rc = regcomp(&rule->re, pattern, REG_EXTENDED);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &rule->re, msg, sizeof(msg));
            snprintf(err, errlen, "bad regular expression '%s': %s",
                     pattern, msg);
            dp_macrule_free(rule);
            return NULL;
        }
        rule->has_re = 1;
        if (rule->re.re_nsub < 1) {
            snprintf(err, errlen, "regular expression '%s' needs a capture "
                     "group around the MAC", pattern);
            dp_macrule_free(rule);
            return NULL;
        }
        snprintf(rule->desc, sizeof(rule->desc), "%s ~ /%s/", aname,
                 pattern);
    }
    else {
        snprintf(rule->desc, sizeof(rule->desc), "%s is a MAC", aname);
    }
    return rule;
}

void dp_macrule_free(dp_macrule_t *rule)
{
    if (rule == NULL)
        return;
    if (rule->has_re)
        regfree(&rule->re);
    ASN1_OBJECT_free(rule->obj);
    free(rule->attr_text);
    free(rule->pattern_text);
    free(rule);
}

const char *dp_macrule_describe(const dp_macrule_t *rule)
{
    return rule->desc;
}

const char *dp_macrule_attr(const dp_macrule_t *rule)
{
    return rule->attr_text;
}

const char *dp_macrule_pattern(const dp_macrule_t *rule)
{
    return rule->pattern_text;
}

typedef enum { R_ABSENT, R_NOMATCH, R_MATCH, R_AMBIGUOUS, R_BAD } rule_result_t;

static rule_result_t apply_rule(const dp_macrule_t *rule,
                                const X509_NAME *subject, dp_mac_t *mac)
{
    int idx, again, len, i;
    const X509_NAME_ENTRY *ne;
    unsigned char *utf8 = NULL;
    rule_result_t res = R_NOMATCH;

    idx = X509_NAME_get_index_by_OBJ(subject, rule->obj, -1);
    if (idx < 0)
        return R_ABSENT;
    again = X509_NAME_get_index_by_OBJ(subject, rule->obj, idx);
    if (again >= 0)
        return R_AMBIGUOUS;        /* two CNs: which one is the phone? */

    ne = X509_NAME_get_entry(subject, idx);
    ERR_set_mark();             /* bad encodings must not reach the caller */
    len = ASN1_STRING_to_UTF8(&utf8,
                              X509_NAME_ENTRY_get_data(ne));
    ERR_pop_to_mark();
    if (len < 0)
        return R_BAD;
    if (len > DP_ATTR_MAX) {
        res = R_BAD;
        goto out;
    }
    for (i = 0; i < len; i++) {
        if (utf8[i] < 0x20 || utf8[i] == 0x7f) {     /* NUL, CR, LF, ... */
            res = R_BAD;
            goto out;
        }
    }

    if (!rule->has_re) {
        if (dp_mac_parse((const char *)utf8, (size_t)len, mac) == 0)
            res = R_MATCH;
    }
    else {
        regmatch_t m[2];
        if (regexec(&rule->re, (const char *)utf8, 2, m, 0) == 0
            && m[1].rm_so >= 0
            && dp_mac_parse((const char *)utf8 + m[1].rm_so,
                            (size_t)(m[1].rm_eo - m[1].rm_so), mac) == 0)
            res = R_MATCH;
    }
out:
    OPENSSL_free(utf8);
    return res;
}

dp_mac_status_t dp_mac_extract(dp_macrule_t *const *rules, size_t nrules,
                               const X509_NAME *subject, dp_mac_t *out)
{
    size_t i;
    int found = 0;
    dp_mac_t mac;

    if (subject == NULL)
        return DP_MAC_NONE;
    for (i = 0; i < nrules; i++) {
        switch (apply_rule(rules[i], subject, &mac)) {
        case R_ABSENT:
        case R_NOMATCH:
            break;
        case R_AMBIGUOUS:
            return DP_MAC_AMBIGUOUS;
        case R_BAD:
            return DP_MAC_BADVALUE;
        case R_MATCH:
            if (found && memcmp(out->b, mac.b, DP_MAC_LEN) != 0)
                return DP_MAC_AMBIGUOUS;
            *out = mac;
            found = 1;
            break;
        }
    }
    if (!found || !dp_mac_is_unicast(out))
        return DP_MAC_NONE;
    return DP_MAC_FOUND;
}

dp_reason_t dp_mac_status_reason(dp_mac_status_t st)
{
    switch (st) {
    case DP_MAC_FOUND:     return DP_REASON_NONE;
    case DP_MAC_NONE:      return DP_REASON_NO_MAC;
    case DP_MAC_AMBIGUOUS: return DP_REASON_AMBIGUOUS_MAC;
    case DP_MAC_BADVALUE:  return DP_REASON_BAD_SUBJECT;
    }
    return DP_REASON_INTERNAL;
}

const char *dp_mac_status_string(dp_mac_status_t st)
{
    switch (st) {
    case DP_MAC_FOUND:
        return "MAC found";
    case DP_MAC_NONE:
    case DP_MAC_AMBIGUOUS:
    case DP_MAC_BADVALUE:
        return dp_reason_info(dp_mac_status_reason(st))->text;
    }
    return "unknown";
}
