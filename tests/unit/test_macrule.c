/* test_macrule.c - MAC extraction rules, vendor presets, dp_mac_extract. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "src/dp_macrule.h"

/* ---- helpers ------------------------------------------------------------ */

/* Append ATTR=VALUE (UTF-8 text, through OpenSSL's string table). */
static void add_txt(X509_NAME *n, const char *attr, const char *value)
{
    if (X509_NAME_add_entry_by_txt(n, attr, MBSTRING_UTF8,
                                   (const unsigned char *)value, -1, -1,
                                   0) != 1)
        fail_msg("cannot add %s=%s", attr, value);
}

/* Append NID with raw bytes of ASN.1 string TYPE: no length limits or
 * character checks, so NULs, newlines and over-long values get through. */
static void add_raw(X509_NAME *n, int nid, int type, const void *bytes,
                    int len)
{
    X509_NAME_ENTRY *ne = X509_NAME_ENTRY_create_by_NID(
        NULL, nid, type, (const unsigned char *)bytes, len);

    assert_non_null(ne);
    assert_int_equal(X509_NAME_add_entry(n, ne, -1, 0), 1);
    X509_NAME_ENTRY_free(ne);
}

typedef struct rules {
    dp_macrule_t *r[8];
    size_t n;
} rules_t;

static void rules_from_spec(rules_t *rs, const dp_rule_spec_t *spec)
{
    char err[256];

    assert_non_null(spec);
    memset(rs, 0, sizeof(*rs));
    for (; spec->attr != NULL; spec++) {
        assert_true(rs->n < 8);
        rs->r[rs->n] = dp_macrule_new(spec->attr, spec->pattern, err,
                                      sizeof(err));
        if (rs->r[rs->n] == NULL)
            fail_msg("rule %s: %s", spec->attr, err);
        rs->n++;
    }
}

static void rules_free(rules_t *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++)
        dp_macrule_free(rs->r[i]);
    rs->n = 0;
}

/* Run the preset VENDOR over N; write the MAC in normal form into MAC. */
static dp_mac_status_t extract_preset(const char *vendor, const X509_NAME *n,
                                      char mac[DP_MAC_STRLEN + 1])
{
    rules_t rs;
    dp_mac_t m;
    dp_mac_status_t st;

    rules_from_spec(&rs, dp_vendor_preset(vendor));
    memset(&m, 0, sizeof(m));
    st = dp_mac_extract(rs.r, rs.n, n, &m);
    dp_mac_format(&m, mac);
    rules_free(&rs);
    return st;
}

/* One-attribute subject ATTR=VALUE through preset VENDOR. */
static dp_mac_status_t extract1(const char *vendor, const char *attr,
                                const char *value,
                                char mac[DP_MAC_STRLEN + 1])
{
    X509_NAME *n = X509_NAME_new();
    dp_mac_status_t st;

    assert_non_null(n);
    add_txt(n, attr, value);
    st = extract_preset(vendor, n, mac);
    X509_NAME_free(n);
    return st;
}

static void assert_found(dp_mac_status_t st, const char *mac,
                         const char *want)
{
    if (st != DP_MAC_FOUND)
        fail_msg("expected FOUND %s, got %d (%s)", want, st,
                 dp_mac_status_string(st));
    assert_string_equal(mac, want);
}

/* ---- presets ------------------------------------------------------------ */

static void test_preset_lookup(void **state)
{
    const char *names = dp_vendor_preset_names();

    (void)state;
    assert_null(dp_vendor_preset("nope"));
    assert_null(dp_vendor_preset(""));
    assert_null(dp_vendor_preset("Polycom"));       /* names are exact */
    assert_null(dp_vendor_preset("cisco"));
    assert_non_null(dp_vendor_preset("polycom"));
    assert_non_null(dp_vendor_preset("cisco-spa"));
    assert_non_null(dp_vendor_preset("yealink"));
    assert_non_null(strstr(names, "polycom"));
    assert_non_null(strstr(names, "cisco-spa"));
    assert_non_null(strstr(names, "yealink"));

    /* every preset compiles and is terminated */
    {
        static const char *const v[] = { "polycom", "cisco-spa", "yealink" };
        size_t i;
        for (i = 0; i < 3; i++) {
            rules_t rs;
            rules_from_spec(&rs, dp_vendor_preset(v[i]));
            assert_true(rs.n >= 1);
            rules_free(&rs);
        }
    }
}

static void test_polycom(void **state)
{
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    assert_found(extract1("polycom", "CN", "0004F2ABCDEF", mac), mac,
                 "0004f2abcdef");
    assert_found(extract1("polycom", "CN", "0004f2abcdef", mac), mac,
                 "0004f2abcdef");
    assert_found(extract1("polycom", "CN", "00:04:F2:AB:CD:EF", mac), mac,
                 "0004f2abcdef");
    assert_found(extract1("polycom", "CN", "00-04-f2-ab-cd-ef", mac), mac,
                 "0004f2abcdef");
    assert_found(extract1("polycom", "commonName", "0004.f2ab.cdef", mac),
                 mac, "0004f2abcdef");
    assert_int_equal(extract1("polycom", "CN", "SoundPoint", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("polycom", "CN", "0004F2ABCDEF0", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("polycom", "CN", " 0004F2ABCDEF", mac),
                     DP_MAC_NONE);
    {
        X509_NAME *n = X509_NAME_new();
        add_raw(n, NID_commonName, V_ASN1_UTF8STRING, "", 0);  /* empty CN */
        assert_int_equal(extract_preset("polycom", n, mac), DP_MAC_NONE);
        X509_NAME_free(n);
    }
    /* the MAC in another attribute is not Polycom's layout */
    assert_int_equal(extract1("polycom", "OU", "0004F2ABCDEF", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("polycom", "serialNumber", "0004F2ABCDEF",
                              mac), DP_MAC_NONE);
}

static void test_polycom_full_subject(void **state)
{
    X509_NAME *n = X509_NAME_new();
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    add_txt(n, "C", "US");
    add_txt(n, "O", "Polycom Inc.");
    add_txt(n, "OU", "VoIP Devices");
    add_txt(n, "CN", "0004F2ABCDEF");
    /* an unsafe value in an attribute no rule reads does not matter */
    add_raw(n, NID_localityName, V_ASN1_UTF8STRING, "a\nb", 3);
    assert_found(extract_preset("polycom", n, mac), mac, "0004f2abcdef");
    X509_NAME_free(n);
}

static void test_printable_and_bmp_strings(void **state)
{
    X509_NAME *n;
    char mac[DP_MAC_STRLEN + 1];
    /* "0004F2ABCDEF" as UCS-2 big-endian */
    unsigned char bmp[24];
    size_t i;

    (void)state;
    n = X509_NAME_new();
    add_raw(n, NID_commonName, V_ASN1_PRINTABLESTRING, "0004F2ABCDEF", 12);
    assert_found(extract_preset("polycom", n, mac), mac, "0004f2abcdef");
    X509_NAME_free(n);

    for (i = 0; i < 12; i++) {
        bmp[2 * i] = 0;
        bmp[2 * i + 1] = (unsigned char)"0004F2ABCDEF"[i];
    }
    n = X509_NAME_new();
    add_raw(n, NID_commonName, V_ASN1_BMPSTRING, bmp, 24);
    assert_found(extract_preset("polycom", n, mac), mac, "0004f2abcdef");
    X509_NAME_free(n);

    /* invalid UTF-8 in a UTF8String: bad encoding */
    n = X509_NAME_new();
    add_raw(n, NID_commonName, V_ASN1_UTF8STRING, "0004F2ABCDE\xff", 12);
    assert_int_equal(extract_preset("polycom", n, mac), DP_MAC_BADVALUE);
    X509_NAME_free(n);
}

static void test_cisco_spa(void **state)
{
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    assert_found(extract1("cisco-spa", "CN",
                          "SPA-962, MAC: 000e08abcdef, Serial: 88012BA01234",
                          mac), mac, "000e08abcdef");
    assert_found(extract1("cisco-spa", "CN", "SPA-962, MAC: 000E08ABCDEF",
                          mac), mac, "000e08abcdef");
    assert_found(extract1("cisco-spa", "CN", "SPA-962,MAC:000e08abcdef",
                          mac), mac, "000e08abcdef");
    assert_found(extract1("cisco-spa", "ST", "000e08abcdef", mac), mac,
                 "000e08abcdef");
    assert_found(extract1("cisco-spa", "stateOrProvinceName",
                          "00:0e:08:ab:cd:ef", mac), mac, "000e08abcdef");
    /* the MAC must be the 12-digit field, not anything containing hex */
    assert_int_equal(extract1("cisco-spa", "CN", "SPA-962, Serial: "
                              "000e08abcdef", mac), DP_MAC_NONE);
    assert_int_equal(extract1("cisco-spa", "CN", "SPA-962, MAC: "
                              "000e08abcdef0", mac), DP_MAC_NONE);
    assert_int_equal(extract1("cisco-spa", "CN", "000e08abcdef", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("cisco-spa", "ST", "California", mac),
                     DP_MAC_NONE);
}

static void test_cisco_spa_cn_and_st(void **state)
{
    X509_NAME *n;
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    /* agreeing */
    n = X509_NAME_new();
    add_txt(n, "CN", "SPA-962, MAC: 000e08abcdef, Serial: 88012BA01234");
    add_txt(n, "ST", "000E08ABCDEF");
    assert_found(extract_preset("cisco-spa", n, mac), mac, "000e08abcdef");
    X509_NAME_free(n);

    /* disagreeing */
    n = X509_NAME_new();
    add_txt(n, "CN", "SPA-962, MAC: 000e08abcdef, Serial: 88012BA01234");
    add_txt(n, "ST", "000e08abcde0");
    assert_int_equal(extract_preset("cisco-spa", n, mac), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    /* CN without a MAC, ST with one: ST decides */
    n = X509_NAME_new();
    add_txt(n, "CN", "SPA-962");
    add_txt(n, "ST", "000e08abcdef");
    assert_found(extract_preset("cisco-spa", n, mac), mac, "000e08abcdef");
    X509_NAME_free(n);

    /* the generic firmware certificate: no hex MAC anywhere */
    n = X509_NAME_new();
    add_txt(n, "CN", "SPA-2000, MAC: sipurageneric, Serial: sipurageneric");
    add_txt(n, "ST", "sipurageneric");
    add_txt(n, "L", "sipurageneric");
    assert_int_equal(extract_preset("cisco-spa", n, mac), DP_MAC_NONE);
    X509_NAME_free(n);

    /* an unsafe CN spoils the subject even though ST is fine */
    n = X509_NAME_new();
    add_raw(n, NID_commonName, V_ASN1_UTF8STRING,
            "SPA-962, MAC: 000e08abcdef\n", 27);
    add_txt(n, "ST", "000e08abcdef");
    assert_int_equal(extract_preset("cisco-spa", n, mac), DP_MAC_BADVALUE);
    X509_NAME_free(n);
}

static void test_yealink(void **state)
{
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    assert_found(extract1("yealink", "serialNumber",
                          "ffffffff-ffff-ffff-fff0-001565000062", mac), mac,
                 "001565000062");
    assert_found(extract1("yealink", "serialNumber",
                          "FFFFFFFF-FFFF-FFFF-FFF0-001565ABCDEF", mac), mac,
                 "001565abcdef");
    assert_int_equal(extract1("yealink", "serialNumber", "001565000062",
                              mac), DP_MAC_NONE);
    assert_int_equal(extract1("yealink", "serialNumber",
                              "ffffffff-ffff-ffff-fff0-00156500006", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("yealink", "CN",
                              "ffffffff-ffff-ffff-fff0-001565000062", mac),
                     DP_MAC_NONE);
}

/* ---- ambiguity and unsafe values ---------------------------------------- */

static void test_two_cns_ambiguous(void **state)
{
    X509_NAME *n;
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    n = X509_NAME_new();
    add_txt(n, "CN", "0004F2ABCDEF");
    add_txt(n, "CN", "0004F2000001");
    assert_int_equal(extract_preset("polycom", n, mac), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    /* even two identical CNs, or a second CN that is no MAC */
    n = X509_NAME_new();
    add_txt(n, "CN", "0004F2ABCDEF");
    add_txt(n, "CN", "0004F2ABCDEF");
    assert_int_equal(extract_preset("polycom", n, mac), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    n = X509_NAME_new();
    add_txt(n, "CN", "SoundPoint");
    add_txt(n, "CN", "0004F2ABCDEF");
    assert_int_equal(extract_preset("polycom", n, mac), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    /* two ST under the Cisco preset */
    n = X509_NAME_new();
    add_txt(n, "ST", "000e08abcdef");
    add_txt(n, "ST", "000e08abcdef");
    assert_int_equal(extract_preset("cisco-spa", n, mac), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);
}

static dp_mac_status_t polycom_raw_cn(int type, const char *bytes, int len)
{
    X509_NAME *n = X509_NAME_new();
    char mac[DP_MAC_STRLEN + 1];
    dp_mac_status_t st;

    add_raw(n, NID_commonName, type, bytes, len);
    st = extract_preset("polycom", n, mac);
    X509_NAME_free(n);
    return st;
}

static void test_badvalue(void **state)
{
    char buf[400];

    (void)state;
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2ABCDEF\n", 13),
                     DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2\nABCDEF", 13),
                     DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2ABCDEF\r", 13),
                     DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2ABCDEF\0", 13),
                     DP_MAC_BADVALUE);
    /* a NUL that would truncate a C string right after a valid MAC */
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING,
                                    "0004F2ABCDEF\0evil", 17),
                     DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_PRINTABLESTRING,
                                    "0004F2ABCDEF\0", 13), DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_PRINTABLESTRING,
                                    "0004F2ABCDEF\n", 13), DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "\t0004F2ABCDEF", 13),
                     DP_MAC_BADVALUE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2ABCDEF\x7f", 13),
                     DP_MAC_BADVALUE);

    /* over-long: 300 characters */
    memset(buf, 'A', 300);
    memcpy(buf, "0004F2ABCDEF", 12);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, buf, 300),
                     DP_MAC_BADVALUE);
    /* the limit itself: DP_ATTR_MAX is still looked at, one more is not */
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, buf, DP_ATTR_MAX),
                     DP_MAC_NONE);
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, buf, DP_ATTR_MAX + 1),
                     DP_MAC_BADVALUE);

    /* UTF-8 above ASCII is not a control character */
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "T\xc3\xa9l\xc3\xa9phone",
                                    11), DP_MAC_NONE);
    /* invalid UTF-8 is bad, and OpenSSL's complaint is not left behind */
    ERR_clear_error();
    assert_int_equal(polycom_raw_cn(V_ASN1_UTF8STRING, "0004F2ABCDE\xff",
                                    12), DP_MAC_BADVALUE);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_not_unicast_is_none(void **state)
{
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    assert_int_equal(extract1("polycom", "CN", "000000000000", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("polycom", "CN", "FFFFFFFFFFFF", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("polycom", "CN", "01005E000001", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("cisco-spa", "ST", "000000000000", mac),
                     DP_MAC_NONE);
    assert_int_equal(extract1("yealink", "serialNumber",
                              "ffffffff-ffff-ffff-fff0-000000000000", mac),
                     DP_MAC_NONE);
}

static void test_empty_and_null_subject(void **state)
{
    rules_t rs;
    dp_mac_t m;
    X509_NAME *n = X509_NAME_new();

    (void)state;
    rules_from_spec(&rs, dp_vendor_preset("polycom"));
    assert_int_equal(dp_mac_extract(rs.r, rs.n, NULL, &m), DP_MAC_NONE);
    assert_int_equal(dp_mac_extract(rs.r, rs.n, n, &m), DP_MAC_NONE);
    assert_int_equal(dp_mac_extract(rs.r, 0, n, &m), DP_MAC_NONE);
    add_txt(n, "CN", "0004F2ABCDEF");
    /* no rules: nothing can match */
    assert_int_equal(dp_mac_extract(rs.r, 0, n, &m), DP_MAC_NONE);
    assert_int_equal(dp_mac_extract(rs.r, rs.n, n, &m), DP_MAC_FOUND);
    rules_free(&rs);
    X509_NAME_free(n);
}

/* ---- custom rules and dp_macrule_new errors ----------------------------- */

static void test_custom_rules(void **state)
{
    char err[256] = "";
    dp_macrule_t *r[2];
    X509_NAME *n;
    dp_mac_t m;
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    r[0] = dp_macrule_new("OU", "^dev-([0-9a-f]{12})$", err, sizeof(err));
    assert_non_null(r[0]);
    assert_string_equal(dp_macrule_describe(r[0]),
                        "OU ~ /^dev-([0-9a-f]{12})$/");
    r[1] = dp_macrule_new("2.5.4.3", NULL, err, sizeof(err));   /* CN */
    assert_non_null(r[1]);
    assert_string_equal(dp_macrule_describe(r[1]), "CN is a MAC");

    n = X509_NAME_new();
    add_txt(n, "OU", "dev-00aabbccddee");
    assert_int_equal(dp_mac_extract(r, 2, n, &m), DP_MAC_FOUND);
    dp_mac_format(&m, mac);
    assert_string_equal(mac, "00aabbccddee");
    /* both rules agree */
    add_txt(n, "CN", "00:AA:BB:CC:DD:EE");
    assert_int_equal(dp_mac_extract(r, 2, n, &m), DP_MAC_FOUND);
    X509_NAME_free(n);

    /* both rules match, different MACs */
    n = X509_NAME_new();
    add_txt(n, "OU", "dev-00aabbccddee");
    add_txt(n, "CN", "00aabbccdd00");
    assert_int_equal(dp_mac_extract(r, 2, n, &m), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    /* the pattern is case sensitive as written */
    n = X509_NAME_new();
    add_txt(n, "OU", "dev-00AABBCCDDEE");
    assert_int_equal(dp_mac_extract(r, 1, n, &m), DP_MAC_NONE);
    X509_NAME_free(n);

    dp_macrule_free(r[0]);
    dp_macrule_free(r[1]);
    dp_macrule_free(NULL);
}

static void test_capture_not_a_mac(void **state)
{
    char err[256];
    dp_macrule_t *r = dp_macrule_new("CN", "^(.*)$", err, sizeof(err));
    X509_NAME *n = X509_NAME_new();
    dp_mac_t m;

    (void)state;
    assert_non_null(r);
    add_txt(n, "CN", "hello");
    assert_int_equal(dp_mac_extract(&r, 1, n, &m), DP_MAC_NONE);
    X509_NAME_free(n);
    n = X509_NAME_new();
    add_txt(n, "CN", "00-04-f2-ab-cd-ef");
    assert_int_equal(dp_mac_extract(&r, 1, n, &m), DP_MAC_FOUND);
    X509_NAME_free(n);
    dp_macrule_free(r);
}

/* A dotted OID OpenSSL has no name for (README promises dotted OIDs). */
static void test_unknown_dotted_oid(void **state)
{
    static const char oid[] = "1.3.6.1.4.1.99999.7";
    char err[256] = "";
    dp_macrule_t *r;
    ASN1_OBJECT *o;
    X509_NAME *n;
    dp_mac_t m;
    char mac[DP_MAC_STRLEN + 1];

    (void)state;
    r = dp_macrule_new(oid, "^mac=([0-9a-f]{12})$", err, sizeof(err));
    if (r == NULL)
        fail_msg("%s", err);
    assert_string_equal(dp_macrule_describe(r),
                        "1.3.6.1.4.1.99999.7 ~ /^mac=([0-9a-f]{12})$/");
    /* as given, to be compiled again (devprov-check reads a dump) */
    assert_string_equal(dp_macrule_attr(r), oid);
    assert_string_equal(dp_macrule_pattern(r), "^mac=([0-9a-f]{12})$");

    o = OBJ_txt2obj(oid, 1);
    assert_non_null(o);
    n = X509_NAME_new();
    add_txt(n, "CN", "not this one");
    assert_int_equal(X509_NAME_add_entry_by_OBJ(n, o, MBSTRING_UTF8,
                         (const unsigned char *)"mac=0004f2abcdef", -1, -1,
                         0), 1);
    assert_int_equal(dp_mac_extract(&r, 1, n, &m), DP_MAC_FOUND);
    dp_mac_format(&m, mac);
    assert_string_equal(mac, "0004f2abcdef");
    /* repeated, it is ambiguous like any attribute */
    assert_int_equal(X509_NAME_add_entry_by_OBJ(n, o, MBSTRING_UTF8,
                         (const unsigned char *)"mac=0004f2abcdef", -1, -1,
                         0), 1);
    assert_int_equal(dp_mac_extract(&r, 1, n, &m), DP_MAC_AMBIGUOUS);
    X509_NAME_free(n);

    /* absent: a subject with only a CN has no MAC for this rule */
    n = X509_NAME_new();
    add_txt(n, "CN", "0004f2abcdef");
    assert_int_equal(dp_mac_extract(&r, 1, n, &m), DP_MAC_NONE);
    X509_NAME_free(n);
    ASN1_OBJECT_free(o);
    dp_macrule_free(r);

    /* long names still work; no pattern, unknown OID */
    r = dp_macrule_new("commonName", NULL, err, sizeof(err));
    assert_non_null(r);
    assert_string_equal(dp_macrule_describe(r), "CN is a MAC");
    assert_string_equal(dp_macrule_attr(r), "commonName");
    assert_null(dp_macrule_pattern(r));
    dp_macrule_free(r);
    r = dp_macrule_new("2.25.1", NULL, err, sizeof(err));
    assert_non_null(r);
    assert_string_equal(dp_macrule_describe(r), "2.25.1 is a MAC");
    dp_macrule_free(r);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_macrule_new_errors(void **state)
{
    char err[256];

    (void)state;
    memset(err, 0, sizeof(err));
    assert_null(dp_macrule_new("bogusAttribute", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown certificate attribute"));
    assert_non_null(strstr(err, "bogusAttribute"));

    /* not names, not dotted OIDs (OBJ_txt2obj alone takes some of them) */
    {
        static const char *const bad[] = {
            "no such", "1.2.", "1..2", ".1.2", "1", "1.2.3 ", " 1.2.3",
            "3.5", "1.2.x", "", "CN "
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            memset(err, 0, sizeof(err));
            if (dp_macrule_new(bad[i], NULL, err, sizeof(err)) != NULL)
                fail_msg("'%s' accepted", bad[i]);
            assert_non_null(strstr(err, "unknown certificate attribute '"));
            assert_non_null(strstr(err, bad[i]));
        }
        /* and the caller's error queue is untouched */
        ERR_raise(ERR_LIB_USER, 42);
        assert_null(dp_macrule_new("no such", NULL, err, sizeof(err)));
        assert_int_equal(ERR_GET_LIB(ERR_peek_last_error()), ERR_LIB_USER);
        assert_int_equal(ERR_GET_REASON(ERR_get_error()), 42);
        assert_int_equal(ERR_peek_error(), 0);
    }

    memset(err, 0, sizeof(err));
    assert_null(dp_macrule_new("CN", "([0-9a-f]{12}", err, sizeof(err)));
    assert_non_null(strstr(err, "bad regular expression"));
    assert_non_null(strstr(err, "([0-9a-f]{12}"));

    memset(err, 0, sizeof(err));
    assert_null(dp_macrule_new("CN", "[0-9a-f", err, sizeof(err)));
    assert_non_null(strstr(err, "bad regular expression"));

    memset(err, 0, sizeof(err));
    assert_null(dp_macrule_new("CN", "^MAC: [0-9a-f]{12}$", err,
                               sizeof(err)));
    assert_non_null(strstr(err, "capture group"));

    /* a short error buffer is truncated, not overrun */
    {
        char small[8];
        memset(small, 'Z', sizeof(small));
        assert_null(dp_macrule_new("nope", NULL, small, 6));
        assert_int_equal(small[5], '\0');
        assert_int_equal(small[6], 'Z');
    }
}

static void test_vendor_name_valid(void **state)
{
    (void)state;
    assert_true(dp_vendor_name_valid("polycom"));
    assert_true(dp_vendor_name_valid("cisco-spa"));
    assert_true(dp_vendor_name_valid("v2"));
    assert_true(dp_vendor_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
    assert_false(dp_vendor_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
    assert_false(dp_vendor_name_valid(""));
    assert_false(dp_vendor_name_valid("Polycom"));
    assert_false(dp_vendor_name_valid("poly com"));
    assert_false(dp_vendor_name_valid("poly_com"));
    assert_false(dp_vendor_name_valid("../etc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preset_lookup),
        cmocka_unit_test(test_polycom),
        cmocka_unit_test(test_polycom_full_subject),
        cmocka_unit_test(test_printable_and_bmp_strings),
        cmocka_unit_test(test_cisco_spa),
        cmocka_unit_test(test_cisco_spa_cn_and_st),
        cmocka_unit_test(test_yealink),
        cmocka_unit_test(test_two_cns_ambiguous),
        cmocka_unit_test(test_badvalue),
        cmocka_unit_test(test_not_unicast_is_none),
        cmocka_unit_test(test_empty_and_null_subject),
        cmocka_unit_test(test_custom_rules),
        cmocka_unit_test(test_capture_not_a_mac),
        cmocka_unit_test(test_unknown_dotted_oid),
        cmocka_unit_test(test_macrule_new_errors),
        cmocka_unit_test(test_vendor_name_valid),
    };
    return cmocka_run_group_tests_name("dp_macrule", tests, NULL, NULL);
}
