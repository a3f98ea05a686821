"""mod_devprov end to end: a real apache2 with the patched mod_ssl and
mod_devprov, phones simulated with curl and openssl s_client, variables
read back through php-cgi and a plain CGI."""
import os
import re
import subprocess

import pytest

from conftest import (HANDSHAKE_FAIL_LOG, SSL_LOOKUP_EXPIRED,
                      WWW, Httpd, check_log, curl, fingerprint,
                      handshake_refuses, make_server_fixture, s_client_get,
                      write_allowlist)

ALLOW = [
    "# test allowlist",
    "0004F2000001 lobby site=hq vendor=polycom",
    "00:04:f2:00:00:02 expired-desk site=branch floor=2",
    "0004f2000003 not-yet",
    "0004f2000004",
    # listed for another vendor: a Polycom certificate cannot claim it
    "0004f2000006 yealink-only vendor=yealink",
]


def trust(pki):
    # root as PEM, the issuing CA as DER (as Polycom publishes it), the
    # expired second issuing CA as PEM
    return (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
            f"{pki / 'polycom/issuing.der'} "
            f"{pki / 'polycom/issuing-expired.pem'}\n")


def main_body(srv, pki):
    allow = write_allowlist(srv.dir / "allowlist", ALLOW)
    common = (f"DevprovEngine on\n{trust(pki)}"
              f"DevprovAllowlist {allow}\n"
              "AddHandler cgi-script .cgi\n")
    rewrite = ("RewriteEngine on\n"
               "RewriteRule ^/whoami$ /env.php "
               "[PT,E=DEVICE_REWRITE_SAW:%{ENV:DEVICE_MAC}]\n"
               "<Location /verified-only>\n"
               "  Require expr \"%{ENV:DEVICE_VERIFIED} == '1'\"\n"
               "</Location>\n"
               "Alias /verified-only " + str(WWW / "env.php") + "\n")
    http_port = srv.port("http")
    return (
        # mod_ssl checks against the vendor CA (as in production)
        srv.tls_vhost("export", common + rewrite)
        # no CA at all in mod_ssl: everything reaches devprov, which must
        # then refuse rogue, look-alike, forged and self-signed certs itself
        + srv.tls_vhost("open", common, cafile=None)
        + srv.tls_vhost("deny_unverified",
                        common + "DevprovDeny unverified\n", cafile=None)
        + srv.tls_vhost("deny_unlisted",
                        common + "DevprovDeny unlisted\n", cafile=None)
        # an admin-extended generic-key list: this phone's key is public
        + srv.tls_vhost("denykey", common + "DevprovDenyKey "
                        f"{pki.cert('polycom-valid')}\n", cafile=None)
        # a Yealink-only port: Polycom phones are nobody here
        + srv.tls_vhost("yealink",
                        f"DevprovEngine on\nDevprovTrust yealink "
                        f"{pki / 'yealink/root.pem'}\n", cafile=None)
        + f"Listen 127.0.0.1:{http_port}\n"
          f"<VirtualHost 127.0.0.1:{http_port}>\n"
          f"DocumentRoot {WWW}\nDevprovEngine on\n{trust(pki)}"
          "</VirtualHost>\n")


srv_main = make_server_fixture("srv_main", main_body)

DENIAL = [r"devprov: refused"]


def env(res):
    assert res.status == 200, res
    return res.json


# -- genuine phones ---------------------------------------------------------

def test_expired_genuine_phone_is_verified_and_flagged(srv_main):
    e = env(srv_main.curl("export", "/env.php", "polycom-expired"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "0004f2000002"
    assert e["DEVICE_VENDOR"] == "polycom"
    assert e["DEVICE_CERT_EXPIRED"] == "1"
    assert e["DEVICE_CERT_VALIDITY"] == "expired"
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert e["DEVICE_LABEL"] == "expired-desk"
    assert e["DEVICE_ATTR_SITE"] == "branch"
    assert e["DEVICE_ATTR_FLOOR"] == "2"
    assert "DEVICE_REASON" not in e
    assert re.fullmatch(r"[0-9a-f]{64}", e["DEVICE_CERT_SHA256"])
    assert e["SSL_CLIENT_VERIFY"] == "EXPIRED"


def test_valid_phone(srv_main):
    e = env(srv_main.curl("export", "/env.php", "polycom-valid"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "0004f2000001"
    assert e["DEVICE_CERT_EXPIRED"] == "0"
    assert e["DEVICE_CERT_VALIDITY"] == "valid"
    assert e["DEVICE_LABEL"] == "lobby"
    assert e["SSL_CLIENT_VERIFY"] == "SUCCESS"


def test_expired_intermediate(srv_main):
    e = env(srv_main.curl("export", "/env.php", "polycom-under-expired-ca"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "0004f2000004"
    assert e["DEVICE_CERT_VALIDITY"] == "expired"
    assert e["DEVICE_CERT_EXPIRED"] == "1"
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert "DEVICE_LABEL" not in e          # a line without label has none


def test_not_yet_valid_is_refused_by_default(srv_main, pki):
    """A certificate from the future is no device unless the vendor has
    DevprovAcceptNotYetValid on (t/test_trust.py tests the opt-in)."""
    since = pki.manifest["devices"]["polycom-notyet"]["not_before"]
    e = env(srv_main.curl("export", "/env.php", "polycom-notyet"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e and "DEVICE_LABEL" not in e
    assert e["DEVICE_REASON"] == (f"not yet valid (depth 0, from {since}): "
                                  "DevprovAcceptNotYetValid polycom off")


def test_lowercase_mac_subject_is_normalised(srv_main):
    e = env(srv_main.curl("open", "/env.php", "polycom-lowercase"))
    assert e["DEVICE_MAC"] == "0004f2000006"


def test_allowlist_vendor_binding(srv_main):
    """A line with vendor=X is only that vendor's phone."""
    e = env(srv_main.curl("open", "/env.php", "polycom-lowercase"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_ALLOWLISTED"] == "0"
    assert e["DEVICE_REASON"] == ("allowlisted for vendor yealink, "
                                  "certificate from polycom")
    assert "DEVICE_LABEL" not in e
    assert srv_main.curl("deny_unlisted", "/env.php",
                         "polycom-lowercase").status == 403
    ok = env(srv_main.curl("open", "/env.php", "polycom-valid"))
    assert ok["DEVICE_ALLOWLISTED"] == "1"
    assert ok["DEVICE_ATTR_VENDOR"] == "polycom"


@pytest.mark.parametrize("chain", [True, False])
def test_chain_sent_by_phone_changes_nothing(srv_main, chain):
    """The configured CAs verify the phone; what it sends along is
    ignored (t/test_trust.py: it never adds trust either)."""
    e = env(srv_main.curl("open", "/env.php", "polycom-expired", chain=chain))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "0004f2000002"


def test_plain_cgi_sees_the_variables(srv_main):
    res = srv_main.curl("export", "/env.cgi", "polycom-expired")
    assert res.status == 200
    assert "DEVICE_MAC=0004f2000002" in res.body.splitlines()
    assert "DEVICE_VERIFIED=1" in res.body.splitlines()


def test_unlisted_genuine_phone(srv_main):
    e = env(srv_main.curl("export", "/env.php", "polycom-unlisted"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "0004f2999999"
    assert e["DEVICE_ALLOWLISTED"] == "0"
    assert e["DEVICE_REASON"] == "not in allowlist"
    assert "DEVICE_LABEL" not in e


def test_genuine_cert_without_mac_is_not_a_device(srv_main):
    e = env(srv_main.curl("export", "/env.php", "polycom-notmac"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e
    assert e["DEVICE_VENDOR"] == "polycom"
    assert e["DEVICE_REASON"] == "no MAC in certificate subject"


def test_no_certificate(srv_main):
    e = env(srv_main.curl("export", "/env.php"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert e["DEVICE_REASON"] == "no client certificate"
    assert "DEVICE_MAC" not in e and "DEVICE_CERT_SHA256" not in e


# -- certificates that must not make a device -------------------------------

@pytest.mark.parametrize("device,reason", [
    ("rogue-polycom", "unable to get local issuer certificate"),
    ("rogue-expired", "unable to get local issuer certificate"),
    # the look-alike's authority key id names its own issuing CA
    ("lookalike-polycom", "unable to get local issuer certificate"),
    ("polycom-forged", "certificate signature failure"),
    ("polycom-selfsigned", "self-signed certificate"),
])
def test_devprov_refuses_what_mod_ssl_let_through(srv_main, expect_log,
                                                  device, reason):
    if handshake_refuses(device):
        # stock mode: mod_ssl refuses it first (the vhost has the CAs)
        expect_log(HANDSHAKE_FAIL_LOG)
        assert srv_main.curl("open", "/env.php", device).handshake_failed
        return
    e = env(srv_main.curl("open", "/env.php", device))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e
    assert "DEVICE_VENDOR" not in e
    assert e["DEVICE_REASON"] == "certificate not verified: " + reason


@pytest.mark.parametrize("device", ["multi-cn", "evil-cn-newline",
                                    "evil-cn-quote", "evil-cn-long"])
def test_hostile_subjects_are_not_devices(srv_main, device):
    e = env(srv_main.curl("open", "/env.php", device))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e


def test_generic_key_is_never_a_device(srv_main):
    """A certificate whose private key is public proves nothing, even when
    it chains to the vendor CA and carries a listed MAC."""
    e = env(srv_main.curl("denykey", "/env.php", "polycom-valid"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e
    assert e["DEVICE_REASON"].startswith("generic certificate")
    other = env(srv_main.curl("denykey", "/env.php", "polycom-expired"))
    assert other["DEVICE_VERIFIED"] == "1"
    # the other vhosts do not inherit that vhost's list
    assert env(srv_main.curl("open", "/env.php", "polycom-valid"))[
        "DEVICE_VERIFIED"] == "1"


def test_rogue_ca_under_vhost_ssl_check(srv_main, expect_log):
    """With mod_ssl checking the vendor CA, a rogue cert is GENEROUS/FAILED
    there and unverified in devprov (stock mode: an expired one is refused
    in the handshake, as stock mod_ssl does)."""
    if handshake_refuses("rogue-expired", has_ca=True):
        expect_log(HANDSHAKE_FAIL_LOG)
        assert srv_main.curl("export", "/env.php",
                             "rogue-expired").handshake_failed
        return
    e = env(srv_main.curl("export", "/env.php", "rogue-expired"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert e["SSL_CLIENT_VERIFY"].startswith("FAILED:")
    assert "DEVICE_MAC" not in e


def test_vendors_are_kept_apart(srv_main):
    e = env(srv_main.curl("yealink", "/env.php", "polycom-valid"))
    assert e["DEVICE_VERIFIED"] == "0"
    assert "DEVICE_MAC" not in e
    y = env(srv_main.curl("yealink", "/env.php", "yealink-valid"))
    assert y["DEVICE_VERIFIED"] == "1"
    assert y["DEVICE_VENDOR"] == "yealink"
    assert y["DEVICE_MAC"] == "001565000062"
    assert "DEVICE_ALLOWLISTED" not in y     # no allowlist on that vhost


def test_plain_http_is_never_a_device(srv_main):
    res = srv_main.http("http", "/env.php")
    e = env(res)
    assert e["DEVICE_VERIFIED"] == "0"
    assert e["DEVICE_REASON"] == "not a TLS connection"


# -- refusing ---------------------------------------------------------------

@pytest.mark.parametrize("device,status", [
    ("polycom-expired", 200), ("polycom-valid", 200),
    ("polycom-unlisted", 200), ("rogue-polycom", 403),
    ("lookalike-polycom", 403), ("polycom-selfsigned", 403),
    ("polycom-notmac", 403), (None, 403),
])
def test_deny_unverified(srv_main, device, status):
    res = srv_main.curl("deny_unverified", "/env.php", device)
    assert res.status == status, res


@pytest.mark.parametrize("device,status", [
    ("polycom-expired", 200), ("polycom-valid", 200),
    ("polycom-unlisted", 403), ("rogue-polycom", 403),
    ("lookalike-polycom", 403), (None, 403),
])
def test_deny_unlisted(srv_main, device, status):
    res = srv_main.curl("deny_unlisted", "/env.php", device)
    assert res.status == status, res


def test_refusal_closes_the_connection_visibly(srv_main):
    """httpd ends a connection after a refusal this early; the response
    says so, so that clients do not send the next request into it, and
    a listed phone's connection stays open."""
    res = srv_main.curl("deny_unlisted", "/env.php", "polycom-unlisted",
                        extra=["-i"])
    assert res.status == 403
    assert "\nConnection: close" in res.body.replace("\r", "")
    res = srv_main.curl("deny_unlisted", "/env.php", "polycom-expired",
                        extra=["-i"])
    assert res.status == 200
    assert "Connection: close" not in res.body


def test_denial_is_logged_once_with_reason(srv_main):
    res = srv_main.curl("deny_unlisted", "/env.php", "polycom-unlisted")
    assert res.status == 403
    lines = [l for l in srv_main.new_log().splitlines()
             if "devprov: refused" in l]
    assert len(lines) == 1, lines
    assert "[devprov:info]" in lines[0]
    assert "not in allowlist" in lines[0] and "0004f2999999" in lines[0]


# -- once per connection; Require expr, mod_rewrite, log formats ------------

def test_verified_once_per_connection(srv_main):
    res = srv_main.curl("export", "/env.php", "polycom-expired",
                        extra=["https://localhost:%d/env.cgi"
                               % srv_main.port("export")])
    assert res.rc == 0, res
    assert '"DEVICE_MAC":"0004f2000002"' in res.body         # env.php
    assert "\nDEVICE_MAC=0004f2000002\n" in res.body           # env.cgi
    verdicts = [l for l in srv_main.new_log().splitlines()
                if "connection verdict" in l]
    assert len(verdicts) == 1, verdicts
    assert "device 0004f2000002" in verdicts[0]
    assert "chain expired" in verdicts[0]


def test_require_expr_sees_the_variables(srv_main, expect_log):
    expect_log([r"AH01630"])
    assert srv_main.curl("export", "/verified-only",
                         "polycom-expired").status == 200
    if handshake_refuses("rogue-expired", has_ca=True):
        expect_log(HANDSHAKE_FAIL_LOG)
        assert srv_main.curl("export", "/verified-only",
                             "rogue-expired").handshake_failed
    else:
        assert srv_main.curl("export", "/verified-only",
                             "rogue-expired").status == 403


def test_mod_rewrite_sees_the_variables(srv_main):
    e = env(srv_main.curl("export", "/whoami", "polycom-expired"))
    # set by the rule on the first request, seen by php-cgi after
    # mod_actions' internal redirect
    assert e["REDIRECT_DEVICE_REWRITE_SAW"] == "0004f2000002"


def test_log_format_shows_the_device(srv_main):
    srv_main.curl("export", "/env.php", "polycom-expired")
    last = srv_main.access_log.read_text().splitlines()[-1]
    # %{SSL_CLIENT_VERIFY}x is mod_ssl's own lookup: SUCCESS in stock mode
    assert ("mac=0004f2000002 verified=1 validity=expired "
            f"ssl={SSL_LOOKUP_EXPIRED}") in last


def test_s_client_phone(srv_main, pki):
    status, out, err = s_client_get(srv_main.port("export"), pki,
                                    "polycom-expired", "/env.php")
    assert status == 200, err
    assert '"DEVICE_MAC":"0004f2000002"' in out


def test_deny_keys_add_up_across_server_and_vhost(workdir, pki):
    srv = Httpd(workdir, "denykeys", pki)
    srv.start(f"DevprovDenyKey {pki.cert('polycom-valid')}\n"
              + srv.tls_vhost("v", f"DevprovEngine on\n{trust(pki)}"
                              f"DevprovDenyKey {pki.cert('polycom-expired')}\n"))
    try:
        srv.mark()
        for device in ("polycom-valid", "polycom-expired"):
            e = env(srv.curl("v", "/env.php", device))
            assert e["DEVICE_VERIFIED"] == "0", device
            assert e["DEVICE_REASON"].startswith("generic certificate")
        assert env(srv.curl("v", "/env.php", "polycom-generic"))[
            "DEVICE_VERIFIED"] == "1"
        check_log(srv)
    finally:
        srv.stop()


def test_pinned_self_signed_phone(workdir, pki):
    """A phone with a self-signed built-in certificate is a device only
    when its allowlist line pins exactly that certificate; a pin also
    binds a CA-verified phone to one certificate."""
    srv = Httpd(workdir, "pinned", pki)
    allow = write_allowlist(srv.dir / "allowlist", [
        f"0004f2000005 builtin pin=sha256:{fingerprint(pki, 'polycom-selfsigned')}",
        # pins another certificate than the one polycom-valid presents
        f"0004f2000001 lobby pin=sha256:{fingerprint(pki, 'polycom-expired')}",
        "0004f2000002 expired",
    ])
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n",
        cafile=None))
    try:
        srv.mark()
        e = env(srv.curl("v", "/env.php", "polycom-selfsigned"))
        assert e["DEVICE_VERIFIED"] == "1"
        assert e["DEVICE_PINNED"] == "1"
        assert e["DEVICE_MAC"] == "0004f2000005"
        assert e["DEVICE_ALLOWLISTED"] == "1"
        assert e["DEVICE_LABEL"] == "builtin"
        assert e["DEVICE_CERT_VALIDITY"] == "valid"
        assert "DEVICE_VENDOR" not in e          # pinned, not CA-verified
        # a CA-verified phone whose line pins another certificate
        v = env(srv.curl("v", "/env.php", "polycom-valid"))
        assert v["DEVICE_VERIFIED"] == "1" and v["DEVICE_ALLOWLISTED"] == "0"
        assert v["DEVICE_REASON"] == "certificate does not match the " \
                                     "allowlist pin"
        # an unpinned line does not admit an unverified certificate
        if handshake_refuses("rogue-expired"):
            srv.expected.extend(HANDSHAKE_FAIL_LOG)
            assert srv.curl("v", "/env.php", "rogue-expired") \
                .handshake_failed
        else:
            r = env(srv.curl("v", "/env.php", "rogue-expired"))
            assert r["DEVICE_VERIFIED"] == "0" and "DEVICE_PINNED" not in r
        ok = env(srv.curl("v", "/env.php", "polycom-expired"))
        assert ok["DEVICE_VERIFIED"] == "1" and "DEVICE_PINNED" not in ok
        check_log(srv)
    finally:
        srv.stop()


def test_revocation_without_restart(workdir, pki):
    import time
    srv = Httpd(workdir, "revoked", pki)
    revoked = srv.dir / "revoked"
    revoked.write_text("# nobody yet\n")
    common = (f"DevprovEngine on\n{trust(pki)}"
              f"DevprovRevoked {revoked} 1\n")
    srv.start(srv.tls_vhost("v", common, cafile=None)
              + srv.tls_vhost("d", common + "DevprovDeny unverified\n",
                              cafile=None))

    def wait_for(device, verified):
        deadline = time.time() + 10
        while True:
            e = env(srv.curl("v", "/env.php", device))
            if e["DEVICE_VERIFIED"] == verified or time.time() > deadline:
                return e
            time.sleep(0.3)

    try:
        srv.mark()
        assert env(srv.curl("v", "/env.php", "polycom-valid"))[
            "DEVICE_VERIFIED"] == "1"
        # by MAC, in another spelling
        revoked.write_text("00:04:F2:00:00:01   # stolen 2026-11-23\n")
        e = wait_for("polycom-valid", "0")
        assert e["DEVICE_VERIFIED"] == "0" and e["DEVICE_REVOKED"] == "1"
        assert e["DEVICE_REASON"] == "revoked (DevprovRevoked)"
        assert "DEVICE_MAC" not in e
        assert srv.curl("d", "/env.php", "polycom-valid").status == 403
        assert "revoked (DevprovRevoked)" in srv.new_log()
        assert env(srv.curl("v", "/env.php", "polycom-expired"))[
            "DEVICE_VERIFIED"] == "1"
        # by certificate fingerprint; the MAC line is gone
        fp = fingerprint(pki, "polycom-expired")
        revoked.write_text(f"sha256:{fp}\n")
        assert wait_for("polycom-valid", "1")["DEVICE_VERIFIED"] == "1"
        assert env(srv.curl("v", "/env.php", "polycom-expired"))[
            "DEVICE_REVOKED"] == "1"
        # a malformed new file keeps the old list and is reported once
        srv.expected.append(r"DevprovRevoked: .*revoked:1: 'oops' is neither")
        revoked.write_text("oops\n")
        time.sleep(1.2)
        for _ in range(4):
            assert env(srv.curl("v", "/env.php", "polycom-expired"))[
                "DEVICE_REVOKED"] == "1"
            time.sleep(0.4)
        log = srv.new_log()
        # one line per child process at most (each re-reads on its own)
        assert 1 <= log.count("'oops' is neither") <= 2, log
        check_log(srv)
    finally:
        srv.stop()


def self_signed(path, cn):
    """A second self-signed certificate claiming CN (an impostor)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                         "Polycom Inc.")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    (path / "imp.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / "imp.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return path / "imp.pem", path / "imp.key"


def test_enrolment_records_first_certificate_for_review(workdir, pki):
    import pwd
    srv = Httpd(workdir, "enrol", pki)
    allow = write_allowlist(srv.dir / "allowlist",
                            ["0004f2000005 builtin", "0004f2000001 lobby"])
    enrol = srv.dir / "enrol"
    enrol.write_text("")
    www = pwd.getpwnam("www-data")
    os.chown(enrol, www.pw_uid, www.pw_gid)
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n"
             f"DevprovEnrol {enrol}\n", cafile=None))
    try:
        srv.mark()
        e = env(srv.curl("v", "/env.php", "polycom-selfsigned"))
        assert e["DEVICE_VERIFIED"] == "0"          # recording grants nothing
        assert e["DEVICE_ENROLMENT"] == "recorded"
        fp = fingerprint(pki, "polycom-selfsigned")
        lines = enrol.read_text().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"0004f2000005 sha256:{fp} ")
        assert lines[0].endswith(" polycom")
        assert env(srv.curl("v", "/env.php", "polycom-selfsigned"))[
            "DEVICE_ENROLMENT"] == "pending"
        # an impostor with the same MAC later: reported, not recorded
        srv.expected.append(r"presented another certificate")
        cert, key = self_signed(srv.dir, "0004F2000005")
        res = curl(f"https://localhost:{srv.port('v')}/env.php", pki,
                   port=srv.port("v"), extra=["--cert", str(cert),
                                              "--key", str(key)])
        assert res.json["DEVICE_ENROLMENT"] == "conflict"
        assert res.json["DEVICE_VERIFIED"] == "0"
        assert enrol.read_text().splitlines() == lines
        # a certificate from another CA is never enrolled
        r = env(srv.curl("v", "/env.php", "rogue-polycom"))
        assert "DEVICE_ENROLMENT" not in r
        assert len(enrol.read_text().splitlines()) == 1
        check_log(srv)
    finally:
        srv.stop()


def test_allowlist_live_reload(workdir, pki):
    """Phones added or removed are picked up without a restart; the
    parent re-reads the file once and the children share its image; a
    malformed new file keeps the old list in force and is reported once,
    with file:line."""
    import time
    srv = Httpd(workdir, "live", pki)
    allow = write_allowlist(srv.dir / "allowlist", ["0004f2000001 a"])
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow} 1\n"
             "DevprovDeny unlisted\n", cafile=None))

    # the parent checks with the MPM's maintenance, about every 10 s
    def status_after_change(device, want):
        deadline = time.time() + 30
        while True:
            st = srv.curl("v", "/env.php", device).status
            if st == want or time.time() > deadline:
                return st
            time.sleep(0.3)

    try:
        srv.mark()
        assert srv.curl("v", "/env.php", "polycom-expired").status == 403
        new = srv.dir / "allowlist.new"
        write_allowlist(new, ["0004f2000001 a", "0004f2000002 b"])
        new.rename(allow)                                   # atomic swap
        assert status_after_change("polycom-expired", 200) == 200
        assert env(srv.curl("v", "/env.php", "polycom-expired"))[
            "DEVICE_LABEL"] == "b"
        # read once, by the parent, and mapped by every child
        assert srv.new_log().count("ms, shared with the children") == 1
        assert list((srv.dir / "logs").glob("devprov-allowlist-*.img"))
        srv.expected.append(r"DevprovAllowlist: .*allowlist:2: 'bogus' is "
                            r"not a MAC")
        write_allowlist(new, ["0004f2000001 a", "bogus"])
        new.rename(allow)
        deadline = time.time() + 30
        while "'bogus' is not a MAC" not in srv.new_log():
            assert time.time() < deadline
            assert srv.curl("v", "/env.php", "polycom-expired").status == 200
            time.sleep(0.5)
        time.sleep(11)                  # the next check does not repeat it
        assert srv.curl("v", "/env.php", "polycom-expired").status == 200
        assert srv.new_log().count("'bogus' is not a MAC") == 1
        write_allowlist(new, ["0004f2000001 a"])
        new.rename(allow)
        assert status_after_change("polycom-expired", 403) == 403
        assert list((srv.dir / "logs").glob("devprov-allowlist-*.img"))
        check_log(srv)
    finally:
        srv.stop()
    # the image (MACs, labels) does not outlive the server
    assert not list((srv.dir / "logs").glob("devprov-allowlist-*.img"))


def test_allowlist_reload_refuses_unknown_vendor(workdir, pki):
    """A re-read allowlist whose vendor= names no configured vendor (a
    typo) is refused like a malformed one: the previous list stays in
    force, and the log names file:line once."""
    import time
    srv = Httpd(workdir, "live-vendor", pki)
    allow = write_allowlist(srv.dir / "allowlist", ["0004f2000001 a"])
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow} 1\n"
             "DevprovDeny unlisted\n", cafile=None))
    try:
        srv.mark()
        srv.expected.append(r"DevprovAllowlist: .*allowlist:2: "
                            r"vendor=polycon names no configured vendor "
                            r"\(configured: polycom; 1 such line\); keeping "
                            r"the 1 entries read before")
        new = srv.dir / "allowlist.new"
        # were it taken, polycom-valid (...01) would be unlisted
        write_allowlist(new, ["0004f2000002 b", "0004f2000003 c vendor=polycon"])
        new.rename(allow)
        deadline = time.time() + 30
        while "vendor=polycon names no configured vendor" not in srv.new_log():
            assert time.time() < deadline
            assert srv.curl("v", "/env.php", "polycom-valid").status == 200
            assert srv.curl("v", "/env.php", "polycom-expired").status == 403
            time.sleep(0.5)
        time.sleep(11)                  # the next check does not repeat it
        assert srv.curl("v", "/env.php", "polycom-valid").status == 200
        assert srv.new_log().count("vendor=polycon names no") == 1
        # corrected: taken
        write_allowlist(new, ["0004f2000002 b", "0004f2000003 c vendor=polycom"])
        new.rename(allow)
        deadline = time.time() + 30
        while srv.curl("v", "/env.php", "polycom-expired").status != 200:
            assert time.time() < deadline
            time.sleep(0.3)
        assert srv.curl("v", "/env.php", "polycom-valid").status == 403
        check_log(srv)
    finally:
        srv.stop()


def test_allowlist_reload_without_runtime_dir(workdir, pki):
    """Where the parent cannot write the shared image (DefaultRuntimeDir
    read-only: /sys, where not even root creates files), startup says so and each process re-reads the file
    itself instead."""
    import time
    srv = Httpd(workdir, "live-norun", pki)
    allow = write_allowlist(srv.dir / "allowlist", ["0004f2000001 a"])
    srv.expected.append(r"cannot write .*each Apache process will re-read")
    srv.start("DefaultRuntimeDir /sys\n" + srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow} 1\n"
             "DevprovDeny unlisted\n", cafile=None))
    try:
        assert "each Apache process will re-read" in srv.error_log.read_text()
        srv.mark()
        assert srv.curl("v", "/env.php", "polycom-expired").status == 403
        new = srv.dir / "allowlist.new"
        write_allowlist(new, ["0004f2000001 a", "0004f2000002 b"])
        new.rename(allow)
        deadline = time.time() + 10
        while srv.curl("v", "/env.php", "polycom-expired").status != 200:
            assert time.time() < deadline
            time.sleep(0.3)
        assert "shared with the children" not in srv.new_log()
        check_log(srv)
    finally:
        srv.stop()


# -- reload: a graceful restart re-reads the allowlist ----------------------

def test_graceful_restart_rereads_allowlist(workdir, pki):
    import signal, time
    srv = Httpd(workdir, "graceful", pki)
    allow = write_allowlist(srv.dir / "allowlist", ["0004f2000001 a"])
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n"))
    try:
        srv.mark()
        assert env(srv.curl("v", "/env.php", "polycom-expired"))[
            "DEVICE_ALLOWLISTED"] == "0"
        write_allowlist(allow, ["0004f2000001 a", "0004f2000002 b"])
        srv.proc.send_signal(signal.SIGUSR1)       # apache2 -k graceful
        deadline = time.time() + 20
        while True:
            e = env(srv.curl("v", "/env.php", "polycom-expired"))
            if e["DEVICE_ALLOWLISTED"] == "1" or time.time() > deadline:
                break
            time.sleep(0.2)
        assert e["DEVICE_ALLOWLISTED"] == "1" and e["DEVICE_LABEL"] == "b"
        check_log(srv)
    finally:
        srv.stop()


def two_on_one_connection(srv, pki, device, path1, path2, extra=()):
    """PATH1 and PATH2 of SRV's port "v" by one curl, as DEVICE: their
    bodies, once curl says both went over one connection."""
    base = f"https://localhost:{srv.port('v')}"
    p = subprocess.run(
        ["curl", "-sS", "--max-time", "20", *extra, "--resolve",
         f"localhost:{srv.port('v')}:127.0.0.1",
         "--cacert", str(pki / "server/ca.pem"),
         "--cert", str(pki.cert(device)), "--key", str(pki.key(device)),
         "-w", "connects=%{num_connects}\n", base + path1, base + path2],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p
    # BODY1 connects=1 BODY2 connects=0: one connection for both
    first, second, last = p.stdout.split("connects=")
    assert second.startswith("1\n") and last == "0\n", p.stdout
    return first, second


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_certificate_arriving_on_a_kept_alive_connection(workdir, pki, tls):
    """A verdict is reused only for the certificate it was made for: when
    a per-directory SSLVerifyClient makes mod_ssl ask for a certificate on
    a connection that had none (TLS 1.2 renegotiation, TLS 1.3
    post-handshake authentication), the next request is judged again."""
    srv = Httpd(workdir, f"reneg{tls}", pki)
    srv.start(srv.tls_vhost(
        "v", f"DevprovEngine on\n{trust(pki)}AddHandler cgi-script .cgi\n"
        f"Alias /cert/ {WWW}/\n"
        "<Location /cert/>\nSSLVerifyClient require\n</Location>\n",
        verify="none"))
    try:
        srv.mark()
        first, second = two_on_one_connection(
            srv, pki, "polycom-valid", "/env.cgi", "/cert/env.cgi",
            ["--tlsv" + tls, "--tls-max", tls])
        assert "DEVICE_REASON=no client certificate" in first
        assert "DEVICE_VERIFIED=0" in first
        assert "\nDEVICE_MAC=0004f2000001\n" in second
        assert "DEVICE_VERIFIED=1" in second
        verdicts = [l for l in srv.new_log().splitlines()
                    if "connection verdict" in l]
        assert len(verdicts) == 2, verdicts
    finally:
        srv.stop()


def test_exports_replace_what_an_earlier_module_set(workdir, pki):
    """A server-context SetEnvIf runs before devprov (post_read_request),
    so devprov's environment is then not empty: its DEVICE_* replace what
    that set (a configuration cannot make up a phone), other variables
    stay, on every request of a kept-alive connection (the first makes
    the connection's variables, the next reuse them)."""
    srv = Httpd(workdir, "env-before", pki)
    srv.start(
        'SetEnvIf Request_URI "env" DEVICE_MAC=0004f2999999 '
        "DEVICE_MADE_UP=1 DEVPROV_T_KEPT=yes\n"
        'LogFormat "%U other=%{DEVPROV_T_KEPT}e mac=%{DEVICE_MAC}e" envb\n'
        + srv.tls_vhost(
            "v", f"DevprovEngine on\n{trust(pki)}AddHandler cgi-script .cgi\n"
            f"CustomLog {srv.dir}/logs/envb.log envb\n"))
    try:
        first, second = two_on_one_connection(
            srv, pki, "polycom-valid", "/env.cgi", "/env.cgi?again")
        for body in (first, second):
            assert "\nDEVICE_MAC=0004f2000001\n" in "\n" + body, body
            assert "DEVICE_VERIFIED=1" in body
            assert "0004f2999999" not in body and "MADE_UP" not in body
        log = (srv.dir / "logs/envb.log").read_text().splitlines()
        assert log == ["/env.cgi other=yes mac=0004f2000001"] * 2, log
    finally:
        srv.stop()
