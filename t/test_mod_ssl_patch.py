"""mod_ssl_expired.patch: bug 60028 reproduced with Debian's stock mod_ssl
and fixed by the patched build; what SSL_CLIENT_VERIFY reports in each
case; what stays fatal."""
import pytest

from conftest import (STOCK_SSL, Httpd, check_log, make_server_fixture,
                      needs_patched_ssl, s_client_get)

ENV_LOC = "AddHandler cgi-script .cgi\n"


def body(verify_vhosts):
    def build(srv, pki):
        return "".join(srv.tls_vhost(name, ENV_LOC + extra, verify=verify)
                       for name, verify, extra in verify_vhosts)
    return build


VHOSTS = [
    ("nocaopt", "optional_no_ca", ""),
    ("opt", "optional", ""),
    ("req", "require", ""),
    ("req_exp", "require", "SSLVerifyClientAcceptExpired on"),
    ("opt_exp", "optional", "SSLVerifyClientAcceptExpired on"),
]

srv_stock = make_server_fixture(
    "srv_stock", body([("nocaopt", "optional_no_ca", "")]),
    ssl_module=STOCK_SSL, devprov=False)
srv_patched = make_server_fixture("srv_patched", body(VHOSTS), devprov=False)

# mod_ssl logs refused client certificates at [info] only; the handshake
# failures below are expected at these levels
HANDSHAKE_FAIL = [r"AH02039|AH02276|AH02010|SSL Library Error",
                  r"Certificate Verification: Error"]


def env(res):
    return dict(line.split("=", 1) for line in res.body.splitlines()
                if "=" in line)


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_bug_60028_stock_mod_ssl_refuses_expired(srv_stock, tls):
    res = srv_stock.curl("nocaopt", "/env.cgi", "polycom-expired", tls=tls)
    assert res.handshake_failed, res
    ok = srv_stock.curl("nocaopt", "/env.cgi", "polycom-valid", tls=tls)
    assert ok.status == 200 and env(ok)["SSL_CLIENT_VERIFY"] == "SUCCESS"


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@pytest.mark.parametrize("device,waived", [
    ("polycom-expired", "certificate has expired (depth 0)"),
    ("polycom-notyet", "certificate is not yet valid (depth 0)"),
    ("polycom-under-expired-ca", "certificate has expired (depth 1)"),
])
@needs_patched_ssl
def test_optional_no_ca_accepts_time_errors(srv_patched, device, waived, tls):
    res = srv_patched.curl("nocaopt", "/env.cgi", device, tls=tls)
    assert res.status == 200, res
    e = env(res)
    assert e["SSL_CLIENT_VERIFY"] == "EXPIRED"
    assert e["SSL_CLIENT_VERIFY_WAIVED"] == waived


@needs_patched_ssl
def test_valid_cert_is_plain_success(srv_patched):
    e = env(srv_patched.curl("nocaopt", "/env.cgi", "polycom-valid"))
    assert e["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert "SSL_CLIENT_VERIFY_WAIVED" not in e or \
        e["SSL_CLIENT_VERIFY_WAIVED"] == ""


@needs_patched_ssl
def test_no_certificate(srv_patched):
    e = env(srv_patched.curl("nocaopt", "/env.cgi"))
    assert e["SSL_CLIENT_VERIFY"] == "NONE"


@pytest.mark.parametrize("device,reason", [
    ("rogue-polycom", "FAILED:unable to"),
    # an expired certificate from an unknown CA must not look like a
    # genuine expired one: the chain error is reported, not the expiry
    ("rogue-expired", "FAILED:unable to"),
    ("polycom-selfsigned", "FAILED:self-signed certificate"),
    # same CA names, other keys: its key identifiers point elsewhere, so
    # mod_ssl finds no issuer (as stock)
    ("lookalike-polycom", "FAILED:unable to"),
])
@needs_patched_ssl
def test_unverified_certs_are_reported_failed(srv_patched, device, reason):
    res = srv_patched.curl("nocaopt", "/env.cgi", device)
    assert res.status == 200, res
    assert env(res)["SSL_CLIENT_VERIFY"].startswith(reason)


@pytest.mark.parametrize("vhost,device", [
    ("nocaopt", "polycom-forged"), ("nocaopt", "polycom-serverauth"),
    ("req_exp", "polycom-forged"), ("req_exp", "polycom-serverauth"),
    ("req_exp", "lookalike-polycom"),
])
@needs_patched_ssl
def test_forged_lookalike_wrong_purpose_stay_fatal(srv_patched, expect_log,
                                                   vhost, device):
    expect_log(HANDSHAKE_FAIL)
    res = srv_patched.curl(vhost, "/env.cgi", device)
    assert res.handshake_failed, res


@pytest.mark.parametrize("vhost", ["opt", "req"])
@needs_patched_ssl
def test_require_and_optional_refuse_expired_by_default(srv_patched,
                                                        expect_log, vhost):
    expect_log(HANDSHAKE_FAIL)
    assert srv_patched.curl(vhost, "/env.cgi", "polycom-expired") \
        .handshake_failed
    ok = srv_patched.curl(vhost, "/env.cgi", "polycom-valid")
    assert env(ok)["SSL_CLIENT_VERIFY"] == "SUCCESS"


@pytest.mark.parametrize("vhost", ["opt_exp", "req_exp"])
@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@needs_patched_ssl
def test_accept_expired_opt_in(srv_patched, vhost, tls):
    for device in ("polycom-expired", "polycom-under-expired-ca",
                   "polycom-notyet"):
        res = srv_patched.curl(vhost, "/env.cgi", device, tls=tls)
        assert res.status == 200, (device, res)
        assert env(res)["SSL_CLIENT_VERIFY"] == "EXPIRED"


@pytest.mark.parametrize("device", ["rogue-polycom", "rogue-expired",
                                    "polycom-selfsigned"])
@needs_patched_ssl
def test_accept_expired_still_requires_a_known_ca(srv_patched, expect_log,
                                                  device):
    expect_log(HANDSHAKE_FAIL)
    assert srv_patched.curl("req_exp", "/env.cgi", device).handshake_failed


@needs_patched_ssl
def test_expired_does_not_satisfy_require_ssl_verify_client(workdir, pki):
    srv = Httpd(workdir, "patched-authz", pki, devprov=False)
    srv.start(srv.tls_vhost("v", ENV_LOC + "<Location />\n"
                            "Require ssl-verify-client\n</Location>\n",
                            verify="optional_no_ca"))
    try:
        srv.mark()
        srv.expected.append(r"AH01630")   # authz_core's denial line
        assert srv.curl("v", "/env.cgi", "polycom-valid").status == 200
        assert srv.curl("v", "/env.cgi", "polycom-expired").status == 403
        check_log(srv)
    finally:
        srv.stop()


@needs_patched_ssl
def test_s_client_expired_phone_tls12(srv_patched, pki):
    status, out, err = s_client_get(srv_patched.port("nocaopt"), pki,
                                    "polycom-expired", "/env.cgi")
    assert status == 200, err
    assert "SSL_CLIENT_VERIFY=EXPIRED" in out


@needs_patched_ssl
def test_directive_is_rejected_in_directory_context(workdir, pki):
    srv = Httpd(workdir, "patched-ctx", pki, devprov=False)
    res = srv.configtest(srv.tls_vhost(
        "v", "<Location />\nSSLVerifyClientAcceptExpired on\n</Location>\n"))
    assert res.returncode != 0
    assert "SSLVerifyClientAcceptExpired" in res.stderr
