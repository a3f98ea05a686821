/* test_verdict.c - dp_verdict: identity + allowlist + revocation ->
 * verdict and DEVICE_* variables, against a PKI generated in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "src/dp_verdict.h"
#include "tests/unit/pki.h"

static struct {
    EVP_PKEY *k_root, *k_int, *k_leaf, *k_self, *k_rogue;
    X509 *root, *intr, *valid, *expired, *nomac, *self, *rogue_leaf, *rogue;
    X509 *self_never, *self_nyv, *self_expired;   /* self-signed, pinned */
    dp_trust_t *trust;
    dp_macrule_t *rules[4];
    dp_vendor_t v;
    const dp_vendor_t *list[1];
    char self_fp[65], valid_fp[65];
    char never_fp[65], nyv_fp[65], sexp_fp[65];
} P;

static int setup(void **state)
{
    pki_opts_t ca = PKI_CA, lf = PKI_LEAF;
    const dp_rule_spec_t *spec = dp_vendor_preset("polycom");
    unsigned char *pem = NULL, md[32];
    size_t len = 0;
    unsigned int mdlen;
    char err[256];

    (void)state;
    pki_init();
    P.k_root = pki_key();
    P.k_int = pki_key();
    P.k_leaf = pki_key();
    P.k_self = pki_key();
    P.k_rogue = pki_key();
    /* the CAs predate the expired leaf: with time checks on, a leaf valid
     * before its CA was would make a chain that was never valid */
    ca.from = -10 * PKI_YEAR;
    P.root = pki_issue(pki_name("/O=Acme/CN=Acme Root"), P.k_root, NULL,
                       NULL, &ca);
    P.intr = pki_issue(pki_name("/O=Acme/CN=Acme Issuing"), P.k_int, P.root,
                       P.k_root, &ca);
    P.valid = pki_issue(pki_name("/CN=0004F2000001"), P.k_leaf, P.intr,
                        P.k_int, &lf);
    lf.from = -3 * PKI_YEAR;
    lf.to = -PKI_DAY;
    P.expired = pki_issue(pki_name("/CN=0004F2000002"), P.k_leaf, P.intr,
                          P.k_int, &lf);
    lf = (pki_opts_t)PKI_LEAF;
    P.nomac = pki_issue(pki_name("/CN=SoundPoint"), P.k_leaf, P.intr,
                        P.k_int, &lf);
    P.self = pki_issue(pki_name("/CN=0004F2000005"), P.k_self, NULL, NULL,
                       &lf);
    P.rogue = pki_issue(pki_name("/CN=Rogue"), P.k_rogue, NULL, NULL, &ca);
    lf.from = -PKI_DAY;                 /* notBefore after notAfter */
    lf.to = -2 * PKI_DAY;
    P.self_never = pki_issue(pki_name("/CN=0004F2000006"), P.k_self, NULL,
                             NULL, &lf);
    lf.from = PKI_DAY;
    lf.to = PKI_YEAR;
    P.self_nyv = pki_issue(pki_name("/CN=0004F2000007"), P.k_self, NULL,
                           NULL, &lf);
    lf.from = -3 * PKI_YEAR;
    lf.to = -PKI_DAY;
    P.self_expired = pki_issue(pki_name("/CN=0004F2000008"), P.k_self, NULL,
                               NULL, &lf);
    lf = (pki_opts_t)PKI_LEAF;
    P.rogue_leaf = pki_issue(pki_name("/CN=0004F2000001"), P.k_leaf,
                             P.rogue, P.k_rogue, &lf);

    P.trust = dp_trust_new();
    pki_pem_append(P.root, &pem, &len);
    pki_pem_append(P.intr, &pem, &len);
    assert_int_equal(dp_trust_add_mem(P.trust, pem, len, "mem", err,
                                      sizeof(err)), 2);
    free(pem);
    for (; spec->attr != NULL; spec++) {
        P.rules[P.v.nrules] = dp_macrule_new(spec->attr, spec->pattern, err,
                                             sizeof(err));
        assert_non_null(P.rules[P.v.nrules]);
        P.v.nrules++;
    }
    P.v.name = "polycom";
    P.v.trust = P.trust;
    P.v.rules = P.rules;
    P.v.auth_level = DP_AUTH_LEVEL_DEFAULT;
    P.list[0] = &P.v;

    X509_digest(P.self, EVP_sha256(), md, &mdlen);
    dp_hex_sha256(md, P.self_fp);
    X509_digest(P.valid, EVP_sha256(), md, &mdlen);
    dp_hex_sha256(md, P.valid_fp);
    X509_digest(P.self_never, EVP_sha256(), md, &mdlen);
    dp_hex_sha256(md, P.never_fp);
    X509_digest(P.self_nyv, EVP_sha256(), md, &mdlen);
    dp_hex_sha256(md, P.nyv_fp);
    X509_digest(P.self_expired, EVP_sha256(), md, &mdlen);
    dp_hex_sha256(md, P.sexp_fp);
    return 0;
}

static int teardown(void **state)
{
    X509 *certs[] = { P.root, P.intr, P.valid, P.expired, P.nomac, P.self,
                      P.rogue_leaf, P.rogue, P.self_never, P.self_nyv,
                      P.self_expired };
    EVP_PKEY *keys[] = { P.k_root, P.k_int, P.k_leaf, P.k_self, P.k_rogue };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    for (i = 0; i < P.v.nrules; i++)
        dp_macrule_free(P.rules[i]);
    dp_trust_free(P.trust);
    return 0;
}

/* ---- helpers --------------------------------------------------------------- */

typedef struct {
    char text[2048];            /* "KEY=value\n" ... */
} vars_t;

static void collect(void *arg, const char *key, const char *value)
{
    vars_t *vs = arg;
    size_t n = strlen(vs->text);

    snprintf(vs->text + n, sizeof(vs->text) - n, "%s=%s\n", key, value);
}

static dp_allowlist_t *list_of(const char *text)
{
    char err[256];
    dp_allowlist_t *al = dp_allowlist_parse(text, strlen(text), "list", err,
                                            sizeof(err));
    if (al == NULL)
        fail_msg("%s", err);
    return al;
}

static void verdict(X509 *leaf, dp_allowlist_t *al, dp_verdict_t *v)
{
    dp_identity_t id;

    assert_int_equal(dp_identify(P.list, 1, NULL, leaf, pki_now, &id),
                     0);
    dp_verdict_make(P.list, 1, &id, leaf != NULL, leaf,
                    al ? dp_allowlist_lookup_fn : NULL, al, pki_now, v);
}

/* The value of KEY in VS, NULL if it was not exported */
static const char *var(const vars_t *vs, const char *key, char *buf,
                       size_t len)
{
    const char *p = vs->text;
    size_t klen = strlen(key);

    for (; *p != '\0'; p = strchr(p, '\n') + 1)
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = strcspn(p + klen + 1, "\n");
            snprintf(buf, len, "%.*s", (int)n, p + klen + 1);
            return buf;
        }
    return NULL;
}

static int is(const char *val, const char *want)
{
    return val != NULL && strcmp(val, want) == 0;
}

/* What the status counters take from V (dp_verdict_stats) is what its
 * exported variables say, read as the module once read them back from
 * the request's environment */
static void assert_stats_as_exported(const dp_verdict_t *v,
                                     const vars_t *vs)
{
    dp_stats_event_t ev;
    char buf[DP_REASON_MAX + 1];
    const char *val;

    dp_verdict_stats(v, &ev);
    assert_int_equal(ev.verified, is(var(vs, "DEVICE_VERIFIED", buf,
                                         sizeof(buf)), "1"));
    val = var(vs, "DEVICE_CERT_VALIDITY", buf, sizeof(buf));
    if (ev.verified)
        assert_int_equal(ev.validity, is(val, "expired") ? 2
                                      : is(val, "not-yet-valid") ? 1 : 0);
    assert_int_equal(ev.pinned, is(var(vs, "DEVICE_PINNED", buf,
                                       sizeof(buf)), "1"));
    assert_int_equal(ev.listed, is(var(vs, "DEVICE_ALLOWLISTED", buf,
                                       sizeof(buf)), "1"));
    assert_int_equal(ev.reason, dp_reason_parse(var(vs, "DEVICE_REASON", buf,
                                                    sizeof(buf))));
    assert_int_equal(ev.reason, dp_verdict_reason_code(v));
    assert_int_equal(ev.deny, DP_DENY_NONE);
    assert_int_equal(ev.verdict_reused, 0);
    assert_int_equal(ev.idcache_hit, 0);
}

static const char *exported(const dp_verdict_t *v, const char *enrol,
                            vars_t *vs)
{
    vs->text[0] = '\0';
    dp_verdict_export(v, enrol, collect, vs);
    assert_stats_as_exported(v, vs);
    return vs->text;
}

static int down(void *source, const dp_mac_t *mac, dp_entry_t *out)
{
    (void)source; (void)mac; (void)out;
    return -1;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_listed_device(void **state)
{
    dp_allowlist_t *al;
    dp_verdict_t v;
    vars_t vs;
    char want[1024];

    (void)state;
    al = list_of("0004f2000001 lobby site=hq floor_x=2\n");
    verdict(P.valid, al, &v);
    snprintf(want, sizeof(want),
             "DEVICE_VERIFIED=1\nDEVICE_MAC=0004f2000001\n"
             "DEVICE_IDENTIFIED_BY=certificate\n"
             "DEVICE_VENDOR=polycom\nDEVICE_CERT_VALIDITY=valid\n"
             "DEVICE_CERT_EXPIRED=0\nDEVICE_CERT_SHA256=%s\n"
             "DEVICE_ALLOWLISTED=1\nDEVICE_LABEL=lobby\n"
             "DEVICE_ATTR_SITE=hq\nDEVICE_ATTR_FLOOR_X=2\n", P.valid_fp);
    assert_string_equal(exported(&v, NULL, &vs), want);
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    dp_allowlist_free(al);
}

static void test_no_list_and_unlisted(void **state)
{
    dp_allowlist_t *al = list_of("0004f2000009\n");
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    verdict(P.expired, NULL, &v);
    assert_int_equal(v.listed, DP_LISTED_NONE);
    assert_null(strstr(exported(&v, NULL, &vs), "DEVICE_ALLOWLISTED"));
    assert_non_null(strstr(vs.text, "DEVICE_CERT_VALIDITY=expired\n"
                                    "DEVICE_CERT_EXPIRED=1\n"));
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNLISTED));

    verdict(P.expired, al, &v);
    assert_int_equal(v.listed, 0);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_ALLOWLISTED=0\n"
                                    "DEVICE_REASON=not in allowlist\n"));
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    assert_false(dp_verdict_denied(&v, DP_POLICY_OFF));
    assert_string_equal(dp_verdict_reason(&v), "not in allowlist");
    assert_int_equal(dp_verdict_reason_code(&v), DP_REASON_UNLISTED);
    dp_allowlist_free(al);
}

static void test_vendor_binding_and_pin_mismatch(void **state)
{
    dp_allowlist_t *al = list_of(
        "0004f2000001 x vendor=yealink\n"
        "0004f2000002 y pin=sha256:"
        "abababababababababababababababababababababababababababababababab\n");
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    verdict(P.valid, al, &v);
    assert_int_equal(v.listed, 0);
    assert_string_equal(v.id.reason, "allowlisted for vendor yealink, "
                                     "certificate from polycom");
    assert_int_equal(v.id.reason_code, DP_REASON_VENDOR_MISMATCH);
    assert_null(strstr(exported(&v, NULL, &vs), "DEVICE_LABEL"));
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=1\n"));

    verdict(P.expired, al, &v);
    assert_int_equal(v.listed, 0);
    assert_string_equal(v.id.reason,
                        "certificate does not match the allowlist pin");
    assert_int_equal(v.id.reason_code, DP_REASON_PIN_MISMATCH);
    exported(&v, NULL, &vs);
    dp_allowlist_free(al);
}

static void test_pinned_self_signed(void **state)
{
    char text[256];
    dp_allowlist_t *al;
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    snprintf(text, sizeof(text), "0004f2000005 desk pin=sha256:%s\n",
             P.self_fp);
    al = list_of(text);
    verdict(P.self, al, &v);
    assert_int_equal(v.id.status, DP_ST_DEVICE);
    assert_true(v.id.pinned);
    assert_int_equal(v.listed, 1);
    assert_int_equal(v.id.reason_code, DP_REASON_NONE);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=1\nDEVICE_MAC="
                                    "0004f2000005\nDEVICE_IDENTIFIED_BY=pin\n"
                                    "DEVICE_PINNED=1\n"));
    assert_null(strstr(vs.text, "DEVICE_VENDOR"));
    dp_allowlist_free(al);

    /* not pinned: unverified, and a candidate for enrolment */
    al = list_of("0004f2000005 desk\n");
    verdict(P.self, al, &v);
    assert_int_equal(v.id.status, DP_ST_UNVERIFIED);
    {
        dp_mac_t mac;
        char m[13];
        assert_int_equal(dp_verdict_enrol_mac(P.list, 1, &v, P.self,
                                              dp_allowlist_lookup_fn, al,
                                              &mac), 0);
        dp_mac_format(&mac, m);
        assert_string_equal(m, "0004f2000005");
        /* a certificate from an unknown CA is never enrolled */
        verdict(P.rogue_leaf, al, &v);
        assert_int_equal(dp_verdict_enrol_mac(P.list, 1, &v, P.rogue_leaf,
                                              dp_allowlist_lookup_fn, al,
                                              &mac), -1);
    }
    exported(&v, "recorded", &vs);
    assert_non_null(strstr(vs.text, "DEVICE_ENROLMENT=recorded\n"));
    dp_allowlist_free(al);
}

/* A pinned self-signed certificate follows the time rules for its own
 * validity (issue 13): never valid is refused, not yet valid is refused
 * unless the vendor whose rules read its MAC admits it, expired is a
 * device as before. */
static void test_pinned_self_signed_times(void **state)
{
    char text[512], want[1024], when[32];
    dp_allowlist_t *al;
    dp_verdict_t v;
    vars_t vs;
    time_t nb = pki_now + PKI_DAY;
    struct tm tm;

    (void)state;
    snprintf(text, sizeof(text),
             "0004f2000006 never pin=sha256:%s\n"
             "0004f2000007 future pin=sha256:%s\n"
             "0004f2000008 old pin=sha256:%s\n",
             P.never_fp, P.nyv_fp, P.sexp_fp);
    al = list_of(text);

    verdict(P.self_never, al, &v);
    assert_int_equal(v.id.status, DP_ST_UNVERIFIED);
    assert_false(v.id.pinned);
    assert_int_equal(v.listed, 0);
    assert_string_equal(v.id.reason, "chain never valid: notBefore at depth "
                        "0 is not before notAfter at depth 0");
    snprintf(want, sizeof(want),
             "DEVICE_VERIFIED=0\nDEVICE_CERT_SHA256=%s\n"
             "DEVICE_ALLOWLISTED=0\nDEVICE_REASON=chain never valid: "
             "notBefore at depth 0 is not before notAfter at depth 0\n",
             P.never_fp);
    assert_string_equal(exported(&v, NULL, &vs), want);
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));

    /* not yet valid: refused with the vendor's directive named... */
    assert_non_null(gmtime_r(&nb, &tm));
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    verdict(P.self_nyv, al, &v);
    assert_int_equal(v.id.status, DP_ST_UNVERIFIED);
    assert_false(v.id.pinned);
    snprintf(want, sizeof(want), "not yet valid (depth 0, from %s): "
             "DevprovAcceptNotYetValid polycom off", when);
    assert_string_equal(v.id.reason, want);
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    /* ...and admitted with it on */
    P.v.accept_future = 1;
    verdict(P.self_nyv, al, &v);
    P.v.accept_future = 0;
    assert_int_equal(v.id.status, DP_ST_DEVICE);
    assert_true(v.id.pinned);
    assert_int_equal(v.listed, 1);
    assert_int_equal(v.id.time, DP_TIME_NOT_YET_VALID);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=1\nDEVICE_MAC="
                                    "0004f2000007\nDEVICE_IDENTIFIED_BY=pin\n"
                                    "DEVICE_PINNED=1\n"
                                    "DEVICE_CERT_VALIDITY=not-yet-valid\n"
                                    "DEVICE_CERT_EXPIRED=0\n"));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNLISTED));

    /* expired: a device as before, the validity says so */
    verdict(P.self_expired, al, &v);
    assert_int_equal(v.id.status, DP_ST_DEVICE);
    assert_true(v.id.pinned);
    assert_int_equal(v.listed, 1);
    assert_int_equal(v.id.time, DP_TIME_EXPIRED);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=1\nDEVICE_MAC="
                                    "0004f2000008\nDEVICE_IDENTIFIED_BY=pin\n"
                                    "DEVICE_PINNED=1\n"
                                    "DEVICE_CERT_VALIDITY=expired\n"
                                    "DEVICE_CERT_EXPIRED=1\n"));
    assert_non_null(strstr(vs.text, "DEVICE_LABEL=old\n"));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    dp_allowlist_free(al);
}

/* A genuine expired chain is a device, as before; a CA-verified chain
 * that is never valid or not yet valid is not, with the reason. */
static void test_chain_times(void **state)
{
    dp_allowlist_t *al = list_of("0004f2000002 old\n0004f2000003 new\n"
                                 "0004f2000004 bad\n");
    pki_opts_t lf = PKI_LEAF;
    X509 *nyv, *never;
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    verdict(P.expired, al, &v);
    assert_int_equal(v.id.status, DP_ST_DEVICE);
    assert_int_equal(v.listed, 1);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=1\nDEVICE_MAC="
                                    "0004f2000002\nDEVICE_IDENTIFIED_BY="
                                    "certificate\nDEVICE_VENDOR=polycom\n"
                                    "DEVICE_CERT_VALIDITY=expired\n"
                                    "DEVICE_CERT_EXPIRED=1\n"));

    lf.from = PKI_DAY;
    nyv = pki_issue(pki_name("/CN=0004F2000003"), P.k_leaf, P.intr, P.k_int,
                    &lf);
    verdict(nyv, al, &v);
    assert_int_equal(v.id.status, DP_ST_UNVERIFIED);
    assert_int_equal(v.listed, 0);
    assert_non_null(strstr(v.id.reason, "DevprovAcceptNotYetValid polycom "
                                        "off"));
    exported(&v, NULL, &vs);
    assert_null(strstr(vs.text, "DEVICE_MAC"));
    assert_null(strstr(vs.text, "DEVICE_CERT_VALIDITY"));
    P.v.accept_future = 1;
    verdict(nyv, al, &v);
    P.v.accept_future = 0;
    assert_int_equal(v.id.status, DP_ST_DEVICE);
    assert_int_equal(v.listed, 1);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_CERT_VALIDITY=not-yet-valid\n"
                                    "DEVICE_CERT_EXPIRED=0\n"));

    lf.from = -PKI_DAY;
    lf.to = -PKI_DAY;
    never = pki_issue(pki_name("/CN=0004F2000004"), P.k_leaf, P.intr,
                      P.k_int, &lf);
    verdict(never, al, &v);
    assert_int_equal(v.id.status, DP_ST_UNVERIFIED);
    assert_string_equal(v.id.reason, "chain never valid: notBefore at depth "
                        "0 is not before notAfter at depth 0");
    assert_int_equal(v.listed, 0);
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    X509_free(nyv);
    X509_free(never);
    dp_allowlist_free(al);
}

static void test_revoked(void **state)
{
    char text[256], err[256];
    dp_revoked_t *rv;
    dp_allowlist_t *al = list_of("0004f2000001 lobby\n");
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    rv = dp_revoked_parse("0004f2000001\n", 13, "rv", err, sizeof(err));
    assert_non_null(rv);
    verdict(P.valid, al, &v);
    assert_true(dp_verdict_revoke(&v, rv));
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    assert_false(dp_verdict_denied(&v, DP_POLICY_OFF));
    assert_string_equal(dp_verdict_reason(&v), "revoked (DevprovRevoked)");
    assert_int_equal(dp_verdict_reason_code(&v), DP_REASON_REVOKED);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VERIFIED=0\n"));
    assert_null(strstr(vs.text, "DEVICE_MAC"));
    assert_non_null(strstr(vs.text, "DEVICE_REVOKED=1\nDEVICE_REASON="
                                    "revoked (DevprovRevoked)\n"
                                    "DEVICE_ALLOWLISTED=0\n"));
    assert_null(strstr(vs.text, "DEVICE_LABEL"));
    dp_revoked_free(rv);

    /* by fingerprint, also for a certificate that is no device */
    snprintf(text, sizeof(text), "sha256:%s\n", P.valid_fp);
    rv = dp_revoked_parse(text, strlen(text), "rv", err, sizeof(err));
    assert_non_null(rv);
    verdict(P.valid, al, &v);
    assert_true(dp_verdict_revoke(&v, rv));
    verdict(P.expired, al, &v);
    assert_false(dp_verdict_revoke(&v, rv));
    assert_false(dp_verdict_revoke(&v, NULL));
    dp_revoked_free(rv);
    dp_allowlist_free(al);
}

static void test_not_devices(void **state)
{
    dp_allowlist_t *al = list_of("0004f2000001 lobby\n");
    dp_identity_t id;
    dp_verdict_t v;
    vars_t vs;

    (void)state;
    /* no certificate */
    verdict(NULL, al, &v);
    assert_string_equal(exported(&v, NULL, &vs),
                        "DEVICE_VERIFIED=0\nDEVICE_ALLOWLISTED=0\n"
                        "DEVICE_REASON=no client certificate\n");
    assert_string_equal(v.sha256, "");
    /* genuine, no MAC: the vendor is exported */
    verdict(P.nomac, al, &v);
    exported(&v, NULL, &vs);
    assert_non_null(strstr(vs.text, "DEVICE_VENDOR=polycom\n"));
    assert_non_null(strstr(vs.text, "DEVICE_REASON=no MAC in certificate "
                                    "subject\n"));
    /* a rogue CA claiming a listed MAC is not looked up */
    verdict(P.rogue_leaf, al, &v);
    assert_int_equal(v.listed, 0);
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    assert_string_equal(v.mac, "");
    /* a source that cannot answer */
    assert_int_equal(dp_identify(P.list, 1, NULL, P.valid, pki_now, &id), 0);
    dp_verdict_make(P.list, 1, &id, 1, P.valid, down, NULL, pki_now, &v);
    assert_int_equal(v.listed, DP_LISTED_DOWN);
    assert_string_equal(v.id.reason, "the allowlist database did not answer");
    assert_int_equal(v.id.reason_code, DP_REASON_DB_UNAVAILABLE);
    assert_null(strstr(exported(&v, NULL, &vs), "DEVICE_ALLOWLISTED"));
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    dp_allowlist_free(al);
}

/* The module's way: an identity from its cache (no certificate at hand)
 * and an entry kept beyond the allowlist it came from. */
static void test_cached_identity_and_kept_entry(void **state)
{
    dp_allowlist_t *al = list_of("0004f2000001 lobby site=hq\n");
    dp_identity_t id;
    dp_verdict_t v;
    dp_mac_t mac;
    vars_t vs;
    char *buf, want[1024];

    (void)state;
    assert_int_equal(dp_identify(P.list, 1, NULL, P.valid, pki_now, &id), 0);
    dp_verdict_make(P.list, 1, &id, 1, NULL, dp_allowlist_lookup_fn, al,
                    pki_now, &v);
    assert_string_equal(v.sha256, P.valid_fp);
    assert_int_equal(v.listed, 1);
    assert_int_equal(dp_verdict_entry_size(&v), dp_entry_size(&v.entry));
    buf = malloc(dp_verdict_entry_size(&v));
    assert_non_null(buf);
    dp_verdict_keep_entry(&v, buf);
    dp_allowlist_free(al);
    snprintf(want, sizeof(want),
             "DEVICE_VERIFIED=1\nDEVICE_MAC=0004f2000001\n"
             "DEVICE_IDENTIFIED_BY=certificate\n"
             "DEVICE_VENDOR=polycom\nDEVICE_CERT_VALIDITY=valid\n"
             "DEVICE_CERT_EXPIRED=0\nDEVICE_CERT_SHA256=%s\n"
             "DEVICE_ENROLMENT=pending\n"
             "DEVICE_ALLOWLISTED=1\nDEVICE_LABEL=lobby\n"
             "DEVICE_ATTR_SITE=hq\n", P.valid_fp);
    assert_string_equal(exported(&v, "pending", &vs), want);
    free(buf);

    /* not listed: nothing to keep; no certificate: no fingerprint */
    dp_verdict_make(P.list, 1, &id, 0, NULL, NULL, NULL, pki_now, &v);
    assert_int_equal(dp_verdict_entry_size(&v), 0);
    assert_string_equal(v.sha256, "");
    assert_null(strstr(exported(&v, NULL, &vs), "DEVICE_CERT_SHA256"));

    /* without an allowlist nothing is enrolled, whatever the lookup */
    assert_int_equal(dp_identify(P.list, 1, NULL, P.self, pki_now, &id), 0);
    dp_verdict_make(P.list, 1, &id, 1, P.self, NULL, NULL, pki_now, &v);
    assert_int_equal(v.listed, DP_LISTED_NONE);
    assert_int_equal(dp_verdict_enrol_mac(P.list, 1, &v, P.self, down, NULL,
                                          &mac), -1);
}

/* DevprovDeny's values, as the module and the CLI read them */
static int map_al(void *source, const char *user, size_t len, dp_mac_t *mac)
{
    return dp_allowlist_user(source, user, len, mac);
}

/* DevprovUserIdentity: a password identity for clients the certificate
 * does not identify, judged as a certificate's would be */
static void test_user_identity(void **state)
{
    dp_allowlist_t *al = list_of(
        "0004f2000001 cert-phone vendor=polycom\n"
        "0004f2000003 pw-phone ext=203\n"
        "0004f2000004 named user=gs-lobby\n"
        "0004f2000005 pinned pin=sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    dp_verdict_t cert, v;
    vars_t vs;
    char buf[DP_REASON_MAX + 1];

    (void)state;
    /* no certificate, a MAC as user name (any form): that phone */
    verdict(NULL, al, &cert);
    assert_int_equal(dp_verdict_user(&cert, "00-04-F2-00-00-03",
                                     DP_USER_DEFAULT, map_al, al,
                                     dp_allowlist_lookup_fn, al, &v),
                     DP_USER_DEVICE);
    exported(&v, NULL, &vs);
    assert_true(is(var(&vs, "DEVICE_VERIFIED", buf, sizeof(buf)), "1"));
    assert_true(is(var(&vs, "DEVICE_MAC", buf, sizeof(buf)), "0004f2000003"));
    assert_true(is(var(&vs, "DEVICE_IDENTIFIED_BY", buf, sizeof(buf)),
                   "password"));
    assert_true(is(var(&vs, "DEVICE_ATTR_EXT", buf, sizeof(buf)), "203"));
    assert_true(is(var(&vs, "DEVICE_CERT_CLASS", buf, sizeof(buf)),
                   "no-cert"));
    assert_null(var(&vs, "DEVICE_VENDOR", buf, sizeof(buf)));
    assert_null(var(&vs, "DEVICE_CERT_VALIDITY", buf, sizeof(buf)));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    {
        dp_stats_event_t ev;

        dp_verdict_stats(&v, &ev);
        assert_true(ev.password);
        assert_false(ev.pinned);
    }
    /* a user= name maps to its line; the MAC form of that line does
     * not (the line names its user) */
    assert_int_equal(dp_verdict_user(&cert, "gs-lobby", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    assert_string_equal(v.mac, "0004f2000004");
    assert_int_equal(v.listed, 1);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000004", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    assert_int_equal(v.listed, 0);
    assert_int_equal(v.id.reason_code, DP_REASON_USER_MISMATCH);
    assert_string_equal(v.id.reason, "allowlisted for another "
                        "identification: user=gs-lobby");
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNLISTED));
    assert_false(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    /* a certificate phone's line (vendor=, pin=) is not a password's */
    assert_int_equal(dp_verdict_user(&cert, "0004f2000001", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    assert_string_equal(v.id.reason, "allowlisted for another "
                        "identification: vendor=polycom");
    assert_int_equal(dp_verdict_user(&cert, "0004f2000005", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    assert_string_equal(v.id.reason, "allowlisted for another "
                        "identification: pin=");
    /* unlisted, and no allowlist at all */
    assert_int_equal(dp_verdict_user(&cert, "0004f2000009", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    assert_int_equal(v.id.reason_code, DP_REASON_UNLISTED);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000009", DP_USER_DEFAULT,
                                     NULL, NULL, NULL, NULL, &v),
                     DP_USER_DEVICE);
    assert_int_equal(v.listed, DP_LISTED_NONE);
    /* a lookup that cannot answer */
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003", DP_USER_DEFAULT,
                                     NULL, NULL, down, NULL, &v),
                     DP_USER_DEVICE);
    assert_int_equal(v.listed, DP_LISTED_DOWN);
    /* names of nobody: not a device, nothing of the name kept */
    assert_int_equal(dp_verdict_user(&cert, "admin", DP_USER_DEFAULT, map_al,
                                     al, dp_allowlist_lookup_fn, al, &v),
                     DP_USER_NONE);
    exported(&v, NULL, &vs);
    assert_null(strstr(vs.text, "admin"));
    assert_true(is(var(&vs, "DEVICE_VERIFIED", buf, sizeof(buf)), "0"));
    assert_int_equal(dp_verdict_user(&cert, "ff:ff:ff:ff:ff:ff",
                                     DP_USER_DEFAULT, map_al, al,
                                     dp_allowlist_lookup_fn, al, &v),
                     DP_USER_NONE);
    assert_int_equal(dp_verdict_user(&cert, "", DP_USER_DEFAULT, map_al, al,
                                     dp_allowlist_lookup_fn, al, &v),
                     DP_USER_NONE);
    assert_int_equal(dp_verdict_user(&cert, NULL, DP_USER_DEFAULT, map_al,
                                     al, dp_allowlist_lookup_fn, al, &v),
                     DP_USER_NONE);
    /* the classes: no certificate is one; a rogue certificate only with
     * "unverified" */
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003", DP_USER_GENERIC,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_NONE);
    verdict(P.rogue_leaf, al, &cert);
    assert_int_equal(dp_verdict_user_class(&cert), DP_USER_UNVERIFIED);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_NONE);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003",
                                     DP_USER_UNVERIFIED, map_al, al,
                                     dp_allowlist_lookup_fn, al, &v),
                     DP_USER_DEVICE);
    /* the certificate's fingerprint stays (revocation, logs) */
    assert_string_equal(v.sha256, cert.sha256);
    verdict(P.nomac, al, &cert);
    assert_int_equal(dp_verdict_user_class(&cert), DP_USER_NO_MAC);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003", DP_USER_NO_MAC,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_DEVICE);
    exported(&v, NULL, &vs);
    assert_true(is(var(&vs, "DEVICE_CERT_CLASS", buf, sizeof(buf)),
                   "no-mac"));
    /* a certificate device: the same phone agrees, another conflicts
     * (refused whatever DevprovDeny says), a non-phone name is nothing */
    verdict(P.valid, al, &cert);
    assert_int_equal(dp_verdict_user_class(&cert), 0);
    assert_int_equal(dp_verdict_user(&cert, "0004F2000001", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_SAME);
    assert_int_equal(dp_verdict_user(&cert, "admin", DP_USER_DEFAULT,
                                     map_al, al, dp_allowlist_lookup_fn, al,
                                     &v), DP_USER_NONE);
    assert_int_equal(dp_verdict_user(&cert, "gs-lobby", 0, map_al, al,
                                     dp_allowlist_lookup_fn, al, &v),
                     DP_USER_CONFLICT);
    assert_true(v.conflict);
    assert_true(dp_verdict_denied(&v, DP_POLICY_OFF));
    assert_int_equal(dp_verdict_reason_code(&v), DP_REASON_USER_CONFLICT);
    exported(&v, NULL, &vs);
    assert_true(is(var(&vs, "DEVICE_VERIFIED", buf, sizeof(buf)), "0"));
    assert_null(var(&vs, "DEVICE_MAC", buf, sizeof(buf)));
    dp_allowlist_free(al);
}

/* A password identity is revoked by its MAC (it has no certificate of
 * its own) */
static void test_user_revoked(void **state)
{
    dp_verdict_t cert, v;
    char err[256];
    dp_revoked_t *rv = dp_revoked_parse("0004f2000003\n", 13, "rv", err,
                                        sizeof(err));

    (void)state;
    assert_non_null(rv);
    verdict(NULL, NULL, &cert);
    assert_int_equal(dp_verdict_user(&cert, "0004f2000003", DP_USER_DEFAULT,
                                     NULL, NULL, NULL, NULL, &v),
                     DP_USER_DEVICE);
    assert_true(dp_verdict_revoke(&v, rv));
    assert_true(dp_verdict_denied(&v, DP_POLICY_UNVERIFIED));
    assert_false(dp_verdict_revoke(&cert, rv));
    dp_revoked_free(rv);
}

static void test_policy_parse(void **state)
{
    dp_policy_t p = DP_POLICY_OFF;

    (void)state;
    assert_int_equal(dp_policy_parse("unlisted", &p), 0);
    assert_int_equal(p, DP_POLICY_UNLISTED);
    assert_int_equal(dp_policy_parse("UnVerified", &p), 0);
    assert_int_equal(p, DP_POLICY_UNVERIFIED);
    assert_int_equal(dp_policy_parse("off", &p), 0);
    assert_int_equal(p, DP_POLICY_OFF);
    assert_int_equal(dp_policy_parse("on", &p), -1);
    assert_int_equal(dp_policy_parse("", &p), -1);
    assert_int_equal(dp_policy_parse("unlisted ", &p), -1);
    assert_int_equal(p, DP_POLICY_OFF);         /* unchanged on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_device),
        cmocka_unit_test(test_no_list_and_unlisted),
        cmocka_unit_test(test_vendor_binding_and_pin_mismatch),
        cmocka_unit_test(test_pinned_self_signed),
        cmocka_unit_test(test_pinned_self_signed_times),
        cmocka_unit_test(test_chain_times),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_not_devices),
        cmocka_unit_test(test_cached_identity_and_kept_entry),
        cmocka_unit_test(test_user_identity),
        cmocka_unit_test(test_user_revoked),
        cmocka_unit_test(test_policy_parse),
    };
    return cmocka_run_group_tests_name("dp_verdict", tests, setup, teardown);
}
