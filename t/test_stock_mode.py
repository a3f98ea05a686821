"""Stock mode: Debian's unmodified mod_ssl (whatever DEVPROV_MOD_SSL says)
with mod_devprov, which tolerates expired / not-yet-valid client
certificates in the handshake of vhosts with DevprovEngine on (the
optional hook ssl_init_server wraps mod_ssl's verify callback) and
reports SSL_CLIENT_VERIFY=EXPIRED in the request environment.

Everything else must stay exactly as stock mod_ssl: each case is also
sent to a vhost of the same server without DevprovEngine."""
import re
import time

import pytest

from conftest import (STOCK_SSL, WWW, make_server_fixture,
                      mod_ssl_is_patched, s_client_get, write_allowlist)

ALLOW = ["0004F2000001 lobby", "0004F2000002 expired-desk",
         "0004F2000003 not-yet", "0004F2000004 under-expired-ca"]

HANDSHAKE_FAIL = [r"AH02039|AH02276|AH02010|AH02008|SSL Library Error",
                  r"Certificate Verification: Error"]
SNI_NAME = "phones.test"


def trust(pki):
    return (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
            f"{pki / 'polycom/issuing.der'} "
            f"{pki / 'polycom/issuing-expired.pem'}\n")


def sni_vhosts(srv, pki, allow):
    """Two name-based vhosts on one port: the default one (localhost)
    without devprov, phones.test with it."""
    port = srv.port("sni")
    common = (f"DocumentRoot {WWW}\nSSLEngine on\n"
              f"SSLCertificateFile {pki / 'server/server.pem'}\n"
              f"SSLCertificateKeyFile {pki / 'server/server.key'}\n"
              "SSLVerifyClient optional_no_ca\nSSLVerifyDepth 3\n"
              f"SSLCACertificateFile {pki / 'polycom/cafile.pem'}\n"
              "SSLOptions +StdEnvVars\nAddHandler cgi-script .cgi\n")
    return (f"Listen 127.0.0.1:{port}\n"
            f"<VirtualHost 127.0.0.1:{port}>\nServerName localhost\n"
            f"{common}</VirtualHost>\n"
            f"<VirtualHost 127.0.0.1:{port}>\nServerName {SNI_NAME}\n"
            f"{common}DevprovEngine on\n{trust(pki)}"
            f"DevprovAllowlist {allow}\n</VirtualHost>\n")


def body(srv, pki):
    allow = write_allowlist(srv.dir / "allowlist", ALLOW)
    dp = (f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n"
          "AddHandler cgi-script .cgi\n")
    plain = "AddHandler cgi-script .cgi\n"
    return (srv.tls_vhost("dp", dp)
            + srv.tls_vhost("plain", plain)
            + srv.tls_vhost("dp_req", dp, verify="require")
            + srv.tls_vhost("plain_req", plain, verify="require")
            + srv.tls_vhost("dp_opt", dp, verify="optional")
            + srv.tls_vhost("plain_opt", plain, verify="optional")
            + srv.tls_vhost("dp_none", dp, verify="none")
            + sni_vhosts(srv, pki, allow))


srv_stockmode = make_server_fixture("srv_stockmode", body,
                                    ssl_module=STOCK_SSL)


def env(res):
    assert res.status == 200, res
    return res.json


def test_stock_mod_ssl_is_stock():
    assert not mod_ssl_is_patched(STOCK_SSL)


def test_startup_log_names_the_mode(srv_stockmode):
    log = srv_stockmode.error_log.read_text()
    assert re.search(r"\[devprov:notice\].*devprov: mode: stock mod_ssl", log)
    assert len(re.findall(r"devprov: mode: ", log)) == 1
    # one line per vhost with DevprovEngine on: dp, dp_req, dp_opt, SNI
    lines = re.findall(r"devprov: stock mod_ssl: .*:(\d+) \(.*tolerates "
                       r"expired", log)
    ports = {srv_stockmode.port(n) for n in ("dp", "dp_req", "dp_opt",
                                             "sni")}
    assert sorted(int(p) for p in lines) == sorted(ports)
    # SSLVerifyClient none: no tolerance is claimed where none can happen
    none = re.findall(r"devprov: stock mod_ssl: .*:(\d+) \(.*asks for no "
                      r"client certificate in the TLS handshake "
                      r"\(SSLVerifyClient none\)", log)
    assert [int(p) for p in none] == [srv_stockmode.port("dp_none")]


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@pytest.mark.parametrize("vhost", ["dp", "dp_req", "dp_opt"])
@pytest.mark.parametrize("device,validity,waived", [
    ("polycom-expired", "expired", "certificate has expired (depth 0)"),
    # the handshake tolerates it; devprov's policy refuses a certificate
    # from the future unless DevprovAcceptNotYetValid (t/test_trust.py)
    ("polycom-notyet", None, "certificate is not yet valid (depth 0)"),
    ("polycom-under-expired-ca", "expired",
     "certificate has expired (depth 1)"),
])
def test_time_errors_tolerated_and_reported(srv_stockmode, vhost, device,
                                            validity, waived, tls):
    e = env(srv_stockmode.curl(vhost, "/env.php", device, tls=tls))
    if validity is None:
        assert e["DEVICE_VERIFIED"] == "0"
        assert e["DEVICE_REASON"].startswith("not yet valid (depth 0, from ")
    else:
        assert e["DEVICE_VERIFIED"] == "1"
        assert e["DEVICE_CERT_VALIDITY"] == validity
    assert e["SSL_CLIENT_VERIFY"] == "EXPIRED"
    assert e["SSL_CLIENT_VERIFY_WAIVED"] == waived
    # a plain CGI (no internal redirect) sees the same
    res = srv_stockmode.curl(vhost, "/env.cgi", device, tls=tls)
    assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body, res


@pytest.mark.parametrize("vhost", ["dp", "dp_req"])
def test_valid_phone_is_plain_success(srv_stockmode, vhost):
    e = env(srv_stockmode.curl(vhost, "/env.php", "polycom-valid"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_CERT_VALIDITY"] == "valid"
    assert e["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert "SSL_CLIENT_VERIFY_WAIVED" not in e


def test_no_certificate(srv_stockmode):
    e = env(srv_stockmode.curl("dp", "/env.php"))
    assert e["SSL_CLIENT_VERIFY"] == "NONE"
    assert e["DEVICE_VERIFIED"] == "0"


def s_client(port, pki, device, tls, extra=()):
    """/env.cgi over openssl s_client, with its report of the session."""
    return s_client_get(port, pki, device, "/env.cgi", tls, extra,
                        quiet=False)[1]


@pytest.mark.parametrize("tls", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("device,waived", [
    ("polycom-expired", "certificate has expired (depth 0)"),
    ("polycom-under-expired-ca", "certificate has expired (depth 1)"),
])
def test_resumed_session_still_expired(srv_stockmode, pki, tmp_path, tls,
                                       device, waived):
    sess = tmp_path / "sess.pem"
    port = srv_stockmode.port("dp")
    first = s_client(port, pki, device, tls, ["-sess_out", str(sess)])
    assert "SSL_CLIENT_VERIFY=EXPIRED" in first, first
    assert sess.exists()
    again = s_client(port, pki, device, tls, ["-sess_in", str(sess)])
    assert re.search(r"^Reused, ", again, re.M), again
    assert "DEVICE_VERIFIED=1" in again
    assert "DEVICE_CERT_VALIDITY=expired" in again
    assert "SSL_CLIENT_VERIFY=EXPIRED" in again, again
    assert "SSL_CLIENT_VERIFY=SUCCESS" not in again
    assert f"SSL_CLIENT_VERIFY_WAIVED={waived}" in again


def test_resumed_session_valid_stays_success(srv_stockmode, pki, tmp_path):
    sess = tmp_path / "sess.pem"
    port = srv_stockmode.port("dp")
    s_client(port, pki, "polycom-valid", "-tls1_2", ["-sess_out", str(sess)])
    again = s_client(port, pki, "polycom-valid", "-tls1_2",
                     ["-sess_in", str(sess)])
    assert re.search(r"^Reused, ", again, re.M), again
    assert "SSL_CLIENT_VERIFY=SUCCESS" in again
    assert "SSL_CLIENT_VERIFY_WAIVED" not in again


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@pytest.mark.parametrize("vhost", ["plain", "plain_req", "plain_opt"])
def test_vhost_without_devprov_refuses_expired(srv_stockmode, expect_log,
                                               vhost, tls):
    """the tolerance is per vhost: the same server's other vhosts stay
    stock (bug 60028)"""
    srv_stockmode.mark()
    expect_log(HANDSHAKE_FAIL)
    res = srv_stockmode.curl(vhost, "/env.cgi", "polycom-expired", tls=tls)
    assert res.handshake_failed, res
    time.sleep(0.1)
    # mod_ssl's AH02039, logged as AH02276 at LogLevel ssl:info
    assert re.search(r"AH0(2039|2276): Certificate Verification: Error "
                     r"\(10\): certificate has expired",
                     srv_stockmode.new_log())


def outcome(res):
    """what a client got: the handshake failed, or SSL_CLIENT_VERIFY"""
    if res.handshake_failed:
        return "refused"
    m = re.search(r"^SSL_CLIENT_VERIFY=(.*)$", res.body, re.M)
    return m.group(1) if m else "?"


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@pytest.mark.parametrize("verify", ["", "_req", "_opt"])
@pytest.mark.parametrize("device", [
    "rogue-polycom", "rogue-expired", "polycom-forged", "polycom-selfsigned",
    "lookalike-polycom", "polycom-serverauth", "polycom-valid"])
def test_everything_else_exactly_as_stock(srv_stockmode, expect_log, device,
                                          verify, tls):
    expect_log(HANDSHAKE_FAIL)
    dp = srv_stockmode.curl("dp" + verify, "/env.cgi", device, tls=tls)
    plain = srv_stockmode.curl("plain" + verify, "/env.cgi", device, tls=tls)
    assert outcome(dp) == outcome(plain), (dp, plain)
    assert outcome(dp) != "EXPIRED"


def test_expired_from_unknown_ca_refused_as_stock(srv_stockmode, expect_log):
    """an expired certificate from a CA not in SSLCACertificateFile is not
    'a chain that otherwise verifies': refused, as stock mod_ssl does"""
    expect_log(HANDSHAKE_FAIL)
    assert srv_stockmode.curl("dp", "/env.cgi", "rogue-expired") \
        .handshake_failed


def sni_curl(srv, name, device, tls=None):
    from conftest import curl
    port = srv.port("sni")
    return curl(f"https://{name}:{port}/env.cgi", srv.pki, device=device,
                tls=tls, extra=("-k", "--resolve", f"{name}:{port}:127.0.0.1"))


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_sni_to_devprov_vhost(srv_stockmode, expect_log, tls):
    expect_log(HANDSHAKE_FAIL)
    res = sni_curl(srv_stockmode, SNI_NAME, "polycom-expired", tls)
    assert res.status == 200, res
    assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
    assert "DEVICE_VERIFIED=1" in res.body
    assert "DEVICE_CERT_VALIDITY=expired" in res.body
    # the default vhost of the same port has no DevprovEngine
    assert sni_curl(srv_stockmode, "localhost", "polycom-expired",
                    tls).handshake_failed


def test_access_log_lookup_is_mod_ssls(srv_stockmode):
    """documented limit: mod_ssl's own lookup (%{SSL_CLIENT_VERIFY}x)
    still says SUCCESS in stock mode; the environment says EXPIRED"""
    srv_stockmode.curl("dp", "/env.cgi", "polycom-expired")
    time.sleep(0.2)
    last = srv_stockmode.access_log.read_text().splitlines()[-1]
    assert "validity=expired" in last and "ssl=SUCCESS" in last, last


def test_patched_mod_ssl_installs_nothing(workdir, pki):
    """with the patched mod_ssl devprov logs the patched mode and wraps no
    callback (the patch does the work)"""
    from conftest import ROOT, PATCHED_SSL, Httpd
    patched = PATCHED_SSL
    if not mod_ssl_is_patched(patched):
        patched = ROOT / "build" / "mod_ssl.so"
    if not mod_ssl_is_patched(patched):
        pytest.skip("no patched mod_ssl.so built")
    srv = Httpd(workdir, "stockmode-patched", pki, ssl_module=patched)
    try:
        srv.start(srv.tls_vhost("v", f"DevprovEngine on\n{trust(pki)}"
                                "AddHandler cgi-script .cgi\n"))
        log = srv.error_log.read_text()
        assert "devprov: mode: patched mod_ssl" in log
        assert "devprov: stock mod_ssl:" not in log
        res = srv.curl("v", "/env.cgi", "polycom-expired")
        assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
    finally:
        srv.stop()


def test_no_sslengine_behaves_as_before(workdir, pki):
    """DevprovEngine on in a vhost without SSLEngine: nothing to wrap"""
    from conftest import Httpd
    srv = Httpd(workdir, "stockmode-http", pki, ssl_module=STOCK_SSL)
    port = srv.port("http")
    try:
        srv.start(f"Listen 127.0.0.1:{port}\n"
                  f"<VirtualHost 127.0.0.1:{port}>\nDocumentRoot {WWW}\n"
                  f"DevprovEngine on\n{trust(pki)}"
                  "AddHandler cgi-script .cgi\n</VirtualHost>\n")
        log = srv.error_log.read_text()
        assert "devprov: mode: stock mod_ssl" in log
        assert "devprov: stock mod_ssl:" not in log
        res = srv.http("http", "/env.cgi")
        assert "DEVICE_VERIFIED=0" in res.body
    finally:
        srv.stop()


def test_graceful_restart_keeps_and_moves_the_tolerance(workdir, pki):
    """The module is unloaded and loaded again at a restart, mod_ssl makes
    new SSL_CTXs: the tolerance follows the new configuration (here moved
    from one vhost to the other) and the mode is logged again."""
    import signal
    from conftest import Httpd, check_log
    srv = Httpd(workdir, "stockmode-graceful", pki, ssl_module=STOCK_SSL)
    dp = f"DevprovEngine on\n{trust(pki)}AddHandler cgi-script .cgi\n"
    plain = "AddHandler cgi-script .cgi\n"

    def conf(a, b):
        return srv.tls_vhost("a", a) + srv.tls_vhost("b", b)

    def wait_for(vhost, accepted):
        deadline = time.time() + 20
        while True:
            res = srv.curl(vhost, "/env.cgi", "polycom-expired")
            if (not res.handshake_failed) == accepted \
                    or time.time() > deadline:
                return res
            time.sleep(0.2)

    srv.start(conf(dp, plain))
    try:
        srv.mark()
        srv.expected.extend(HANDSHAKE_FAIL)
        assert "SSL_CLIENT_VERIFY=EXPIRED" in \
            srv.curl("a", "/env.cgi", "polycom-expired").body
        assert srv.curl("b", "/env.cgi", "polycom-expired").handshake_failed
        srv.write(conf(plain, dp))
        srv.proc.send_signal(signal.SIGUSR1)       # apache2 -k graceful
        res = wait_for("b", True)
        assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body, res
        assert wait_for("a", False).handshake_failed
        time.sleep(0.1)
        log = srv.new_log()
        assert "devprov: mode: stock mod_ssl" in log
        assert f":{srv.port('b')} (" in log and \
            f":{srv.port('a')} (" not in log
        check_log(srv)
    finally:
        srv.stop()


def test_documented_limit_mod_ssl_lookups_say_success(workdir, pki):
    """documented limits: mod_ssl's own lookups are not corrected in stock
    mode: "Require ssl-verify-client" grants an expired certificate and
    %{SSL:SSL_CLIENT_VERIFY} says SUCCESS; DEVICE_* and the environment
    are right"""
    from conftest import Httpd, check_log
    srv = Httpd(workdir, "stockmode-limits", pki, ssl_module=STOCK_SSL)
    try:
        srv.start(srv.tls_vhost(
            "v", f"DevprovEngine on\n{trust(pki)}AddHandler cgi-script .cgi\n"
            "<Location /env.cgi>\nRequire ssl-verify-client\n</Location>\n"
            "RewriteEngine on\n"
            "RewriteRule ^/lookup$ /env.cgi "
            "[PT,E=SSL_CLIENT_VERIFY_LOOKUP:%{SSL:SSL_CLIENT_VERIFY}]\n"))
        srv.mark()
        res = srv.curl("v", "/env.cgi", "polycom-expired")
        assert res.status == 200, res
        assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
        res = srv.curl("v", "/lookup", "polycom-expired")
        assert "SSL_CLIENT_VERIFY_LOOKUP=SUCCESS" in res.body, res
        assert "DEVICE_CERT_VALIDITY=expired" in res.body
        check_log(srv)
    finally:
        srv.stop()
