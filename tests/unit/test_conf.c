/* test_conf.c - the configuration model (src/dp_conf.c): each directive's
 * value, its message, the merge, the cross-directive checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/dp_conf.h"
#include "src/dp_trust.h"
#include "src/dp_verdict.h"

#define CA "certs/vendors/cisco-mic/crcam2.pem"

static void test_vendor_new(void **state)
{
    char err[DP_CONF_ERR_MAX];
    dp_conf_vendor_t *vc;

    (void)state;
    vc = dp_conf_vendor_new("DevprovTrust", "Polycom", "f:1", err,
                            sizeof(err));
    assert_null(vc);
    assert_string_equal(err, "DevprovTrust: invalid vendor name 'Polycom': "
                        "use 1-32 characters of a-z, 0-9 and '-' (presets: "
                        "polycom, cisco-spa, yealink)");
    /* a preset comes with its rules, an unknown vendor with none */
    vc = dp_conf_vendor_new("DevprovTrust", "polycom", "f:1", err,
                            sizeof(err));
    assert_non_null(vc);
    assert_string_equal(vc->v.name, "polycom");
    assert_string_equal(vc->where, "f:1");
    assert_int_equal(vc->v.auth_level, DP_AUTH_LEVEL_DEFAULT);
    assert_int_equal(vc->v.nrules, 1);
    assert_string_equal(dp_macrule_describe(vc->v.rules[0]), "CN is a MAC");
    dp_conf_vendor_free(vc);
    vc = dp_conf_vendor_new("DevprovMacFrom", "acme", "f:2", err,
                            sizeof(err));
    assert_non_null(vc);
    assert_int_equal(vc->v.nrules, 0);
    dp_conf_vendor_free(vc);
}

static void test_vendor_values(void **state)
{
    char err[DP_CONF_ERR_MAX];
    dp_conf_vendor_t *vc = dp_conf_vendor_new("X", "cisco-spa", "f:1", err,
                                              sizeof(err));

    (void)state;
    assert_non_null(vc);
    assert_true(vc->v.nrules > 1);
    /* the first DevprovMacFrom replaces the presets, the next ones add */
    assert_int_equal(dp_conf_vendor_macfrom(vc, "DevprovMacFrom", "ST",
                                            NULL, err, sizeof(err)), 0);
    assert_int_equal(vc->v.nrules, 1);
    assert_int_equal(dp_conf_vendor_macfrom(vc, "DevprovMacFrom", "CN",
                                            "^x([0-9a-f]{12})$", err,
                                            sizeof(err)), 0);
    assert_int_equal(vc->v.nrules, 2);
    assert_string_equal(dp_macrule_attr(vc->v.rules[0]), "ST");
    assert_int_equal(dp_conf_vendor_macfrom(vc, "DevprovMacFrom", "CN",
                                            "([0-9a-f]{12}", err,
                                            sizeof(err)), -1);
    assert_true(strncmp(err, "DevprovMacFrom cisco-spa: bad regular "
                        "expression '([0-9a-f]{12}'", 56) == 0);
    assert_int_equal(vc->v.nrules, 2);

    assert_int_equal(dp_conf_vendor_seclevel(vc, "DevprovSecurityLevel", "0",
                                             err, sizeof(err)), 0);
    assert_int_equal(vc->v.auth_level, 0);
    assert_int_equal(dp_conf_vendor_seclevel(vc, "DevprovSecurityLevel",
                                             "7", err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovSecurityLevel cisco-spa: invalid level "
                        "'7', use 0-5 (OpenSSL security level; default 1)");
    assert_int_equal(dp_conf_vendor_seclevel(vc, "X", "10", err,
                                             sizeof(err)), -1);
    assert_int_equal(vc->v.auth_level, 0);

    assert_int_equal(dp_conf_vendor_notyetvalid(vc, "D", "ON", err,
                                                sizeof(err)), 0);
    assert_int_equal(vc->v.accept_future, 1);
    assert_int_equal(dp_conf_vendor_notyetvalid(vc, "D", "maybe", err,
                                                sizeof(err)), -1);
    assert_string_equal(err, "D cisco-spa: unknown value 'maybe', use on or "
                        "off (default off)");
    assert_int_equal(vc->v.accept_future, 1);

    /* CA certificates, and where they came from */
    assert_int_equal(dp_conf_vendor_trust(vc, "DevprovTrust", CA, err,
                                          sizeof(err)), 0);
    assert_int_equal(dp_trust_count(vc->v.trust), 1);
    assert_int_equal(vc->ntrust_paths, 1);
    assert_string_equal(vc->trust_paths[0], CA);
    assert_int_equal(dp_conf_vendor_trust(vc, "DevprovTrust", "/nonexistent",
                                          err, sizeof(err)), -1);
    assert_true(strncmp(err, "DevprovTrust cisco-spa: /nonexistent", 36)
                == 0);
    assert_int_equal(vc->ntrust_paths, 1);
    dp_conf_vendor_free(vc);
}

static void test_server_values(void **state)
{
    char err[DP_CONF_ERR_MAX];
    dp_keyset_t *ks = NULL;
    int v = -5;
    long secs = 0;

    (void)state;
    assert_int_equal(dp_conf_deny("DevprovDeny", "UNLISTED", &v, err,
                                  sizeof(err)), 0);
    assert_int_equal(v, DP_POLICY_UNLISTED);
    assert_int_equal(dp_conf_deny("DevprovDeny", "sometimes", &v, err,
                                  sizeof(err)), -1);
    assert_string_equal(err, "DevprovDeny: unknown value 'sometimes', use "
                        "off, unverified or unlisted");
    assert_string_equal(dp_conf_deny_name(DP_POLICY_UNLISTED), "unlisted");
    assert_string_equal(dp_conf_deny_name(DP_POLICY_OFF), "off");
    assert_string_equal(dp_conf_deny_name(DP_CONF_UNSET), "unset");

    assert_int_equal(dp_conf_interval("DevprovRevoked", NULL, &secs, err,
                                      sizeof(err)), 0);
    assert_int_equal(secs, 5);
    assert_int_equal(dp_conf_interval("DevprovRevoked", "3600", &secs, err,
                                      sizeof(err)), 0);
    assert_int_equal(secs, 3600);
    assert_int_equal(dp_conf_interval("DevprovAllowlist", "0", &secs, err,
                                      sizeof(err)), -1);
    assert_string_equal(err, "DevprovAllowlist: invalid check interval '0', "
                        "use 1-3600 seconds (default 5)");
    assert_int_equal(dp_conf_interval("D", "", &secs, err, sizeof(err)), -1);
    assert_int_equal(dp_conf_interval("D", "5s", &secs, err, sizeof(err)),
                     -1);
    assert_int_equal(dp_conf_interval("D", "99999999999999999999", &secs,
                                      err, sizeof(err)), -1);
    assert_int_equal(secs, 3600);

    assert_int_equal(dp_conf_denykey(&ks, "DevprovDenyKey", CA, err,
                                     sizeof(err)), 1);
    assert_non_null(ks);
    assert_int_equal(dp_conf_denykey(&ks, "DevprovDenyKey", "sha256:00",
                                     err, sizeof(err)), -1);
    assert_true(strncmp(err, "DevprovDenyKey: ", 16) == 0);
    assert_int_equal(dp_keyset_count(ks), 1);
    dp_keyset_free(ks);

    assert_int_equal(dp_conf_enrol("DevprovEnrol", "/tmp/enrol.txt", err,
                                   sizeof(err)), 0);
    assert_int_equal(dp_conf_enrol("DevprovEnrol", "/nonexistent/e.txt",
                                   err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovEnrol: /nonexistent/e.txt: its "
                        "directory does not exist");
}

static void test_once(void **state)
{
    char err[DP_CONF_ERR_MAX];

    (void)state;
    assert_int_equal(dp_conf_allowlist_once("DevprovAllowlist", 0, NULL,
                                            NULL, err, sizeof(err)), 0);
    assert_int_equal(dp_conf_allowlist_once("DevprovAllowlist", 0, "/a",
                                            NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovAllowlist: given twice in this server "
                        "(already /a)");
    assert_int_equal(dp_conf_allowlist_once("DevprovAllowlist", 0, NULL,
                                            "f:3", err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovAllowlist: this server already has "
                        "DevprovAllowlistSQL (f:3): use one or the other");
    assert_int_equal(dp_conf_allowlist_once("DevprovAllowlistSQL", 1, NULL,
                                            "f:3", err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovAllowlistSQL: given twice in this "
                        "server (already f:3)");
    assert_int_equal(dp_conf_allowlist_once("DevprovAllowlistSQL", 1, "/a",
                                            NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "DevprovAllowlistSQL: this server already has "
                        "DevprovAllowlist /a: use one or the other");
    assert_int_equal(dp_conf_revoked_once("DevprovRevoked", 0, err,
                                          sizeof(err)), 0);
    assert_int_equal(dp_conf_revoked_once("DevprovRevoked", 1, err,
                                          sizeof(err)), -1);
    assert_string_equal(err, "DevprovRevoked: given twice in this server");
}

static dp_conf_layer_t layer(void)
{
    dp_conf_layer_t l;

    memset(&l, 0, sizeof(l));
    l.engine = l.deny = l.bind_path = l.user_id = DP_CONF_UNSET;
    return l;
}

static void test_user_identity(void **state)
{
    static const char *const on[] = { "On" };
    static const char *const off[] = { "off" };
    static const char *const two[] = { "no-cert", "unverified" };
    static const char *const twice[] = { "generic", "GENERIC" };
    static const char *const bad[] = { "no-cert", "on" };
    static const char *const typo[] = { "nocert" };
    char err[DP_CONF_ERR_MAX], name[64];
    int v = 99;
    dp_conf_layer_t base = layer(), add = layer(), out;
    dp_keyset_t *made;

    (void)state;
    assert_int_equal(dp_conf_user_identity("D", 1, on, &v, err,
                                           sizeof(err)), 0);
    assert_int_equal(v, DP_USER_DEFAULT);
    assert_string_equal(dp_conf_user_identity_name(v, name, sizeof(name)),
                        "no-cert generic no-mac");
    assert_int_equal(dp_conf_user_identity("D", 1, off, &v, err,
                                           sizeof(err)), 0);
    assert_int_equal(v, 0);
    assert_string_equal(dp_conf_user_identity_name(v, name, sizeof(name)),
                        "off");
    assert_int_equal(dp_conf_user_identity("D", 2, two, &v, err,
                                           sizeof(err)), 0);
    assert_int_equal(v, DP_USER_NO_CERT | DP_USER_UNVERIFIED);
    assert_string_equal(dp_conf_user_identity_name(v, name, sizeof(name)),
                        "no-cert unverified");
    assert_string_equal(dp_conf_user_identity_name(DP_CONF_UNSET, name,
                                                   sizeof(name)), "unset");
    assert_int_equal(dp_conf_user_identity("D", 2, twice, &v, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "D: generic given twice"));
    assert_int_equal(dp_conf_user_identity("D", 2, bad, &v, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "D: 'on' is not a class"));
    assert_int_equal(dp_conf_user_identity("D", 1, typo, &v, err,
                                           sizeof(err)), -1);
    assert_int_equal(dp_conf_user_identity("D", 0, NULL, &v, err,
                                           sizeof(err)), -1);
    /* inherited unless the vhost says it; off in a vhost is off */
    base.user_id = DP_USER_DEFAULT;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_int_equal(out.user_id, DP_USER_DEFAULT);
    add.user_id = 0;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_int_equal(out.user_id, 0);
}

static void test_merge(void **state)
{
    char err[DP_CONF_ERR_MAX];
    dp_conf_layer_t base = layer(), add = layer(), out;
    dp_keyset_t *made, *kb = NULL, *ka = NULL;
    int vb, va, ab, aa, sa;

    (void)state;
    base.engine = 1;
    base.deny = DP_POLICY_UNVERIFIED;
    base.policy_here = 1;
    base.vendors = &vb;
    base.allow = &ab;
    base.enrol_path = "/e";
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_null(made);
    assert_int_equal(out.engine, 1);
    assert_int_equal(out.deny, DP_POLICY_UNVERIFIED);
    assert_int_equal(out.bind_path, DP_CONF_UNSET);
    assert_int_equal(out.policy_here, 0);       /* never inherited */
    assert_ptr_equal(out.vendors, &vb);
    assert_ptr_equal(out.allow, &ab);
    assert_string_equal(out.enrol_path, "/e");

    /* the nearer vendor set wins whole; a database replaces a file */
    add.engine = 0;
    add.vendors = &va;
    add.sql = &sa;
    add.bind_path = 1;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_int_equal(out.engine, 0);
    assert_int_equal(out.bind_path, 1);
    assert_ptr_equal(out.vendors, &va);
    assert_null(out.allow);
    assert_ptr_equal(out.sql, &sa);
    add.sql = NULL;
    add.allow = &aa;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_ptr_equal(out.allow, &aa);
    assert_null(out.sql);

    /* deny keys add up */
    assert_int_equal(dp_conf_denykey(&kb, "K", CA, err, sizeof(err)), 1);
    assert_int_equal(dp_conf_denykey(&ka, "K", "sha256:" "0123456789abcdef"
                                     "0123456789abcdef0123456789abcdef"
                                     "0123456789abcdef", err, sizeof(err)),
                     1);
    base.deny_keys = kb;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_null(made);
    assert_ptr_equal(out.deny_keys, kb);
    add.deny_keys = ka;
    assert_int_equal(dp_conf_merge(&base, &add, &out, &made), 0);
    assert_non_null(made);
    assert_ptr_equal(out.deny_keys, made);
    assert_int_equal(dp_keyset_count(made), 2);
    dp_keyset_free(made);
    dp_keyset_free(ka);
    dp_keyset_free(kb);
}

typedef struct {
    int n;
    char last[2 * DP_CONF_ERR_MAX];
} got_t;

static void got(void *arg, const char *msg)
{
    got_t *g = arg;

    g->n++;
    snprintf(g->last, sizeof(g->last), "%s", msg);
}

static void test_checks(void **state)
{
    char err[DP_CONF_ERR_MAX];
    dp_conf_layer_t sc = layer();
    dp_conf_vendor_t *acme = dp_conf_vendor_new("D", "acme", "f:4", err,
                                                sizeof(err));
    const dp_conf_vendor_t *vendors[1];
    got_t g = { 0, "" };
    int allow;

    (void)state;
    assert_non_null(acme);
    vendors[0] = acme;
    /* no CA, not a preset: two problems */
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 0, "main", got,
                                          &g), 2);
    assert_string_equal(g.last, "devprov: vendor 'acme' (f:4) is not a "
                        "preset (polycom, cisco-spa, yealink): say where its "
                        "MAC is with DevprovMacFrom acme <attribute> "
                        "[<regex>]");
    assert_int_equal(dp_conf_vendor_trust(acme, "D", CA, err, sizeof(err)),
                     0);
    assert_int_equal(dp_conf_vendor_macfrom(acme, "D", "CN", NULL, err,
                                            sizeof(err)), 0);
    g.n = 0;
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 0, "main", got,
                                          &g), 0);

    /* a policy in a vhost without DevprovEngine */
    sc.policy_here = 1;
    sc.deny = DP_POLICY_UNVERIFIED;
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 0, "main", got,
                                          &g), 0);
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 1, "v:1 (f:9)",
                                          got, &g), 1);
    assert_string_equal(g.last, "devprov: DevprovDeny in virtual host v:1 "
                        "(f:9) has no effect without DevprovEngine on (say "
                        "DevprovEngine off to disable it explicitly)");
    sc.deny = DP_CONF_UNSET;
    sc.bind_path = 1;
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 1, "v:1", got,
                                          &g), 1);
    assert_string_equal(g.last, "devprov: DevprovBindPath on in virtual host "
                        "v:1 has no effect without DevprovEngine on");
    sc.engine = 0;                      /* said off explicitly: fine */
    assert_int_equal(dp_conf_check_server(&sc, vendors, 1, 1, "v:1", got,
                                          &g), 0);

    /* what the engine needs */
    assert_int_equal(dp_conf_check_engine(&sc, 0, "v:1", got, &g), 0);
    sc.engine = 1;
    assert_int_equal(dp_conf_check_engine(&sc, 0, "v:1", got, &g), 1);
    assert_string_equal(g.last, "devprov: DevprovEngine on in virtual host "
                        "v:1 but no DevprovTrust for it or the main server");
    sc.deny = DP_POLICY_UNLISTED;
    assert_int_equal(dp_conf_check_engine(&sc, 1, "v:1", got, &g), 1);
    assert_string_equal(g.last, "devprov: DevprovDeny unlisted in virtual "
                        "host v:1 needs a DevprovAllowlist or "
                        "DevprovAllowlistSQL");
    sc.allow = &allow;
    assert_int_equal(dp_conf_check_engine(&sc, 1, "v:1", got, &g), 0);
    dp_conf_vendor_free(acme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendor_new),
        cmocka_unit_test(test_vendor_values),
        cmocka_unit_test(test_server_values),
        cmocka_unit_test(test_once),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_user_identity),
        cmocka_unit_test(test_checks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
