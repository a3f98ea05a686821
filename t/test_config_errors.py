"""Every misconfiguration fails `apache2 -t` with a message naming the
directive, the file and the reason."""
import os
import re

import pytest

from conftest import SSL_PATCHED, Httpd, write_allowlist


@pytest.fixture
def srv(workdir, pki, request):
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    return Httpd(workdir, f"cfg-{len(os.listdir(workdir))}-{name}", pki)


def vhost(srv, body):
    return srv.tls_vhost("v", body)


def assert_fails(srv, body, *needles):
    res = srv.configtest(body)
    assert res.returncode != 0, res.stderr
    for n in needles:
        assert n in res.stderr, (n, res.stderr)
    return res.stderr


def test_good_config_passes(srv, pki):
    allow = write_allowlist(srv.dir / "allow", ["0004f2000001 a"])
    res = srv.configtest(vhost(srv, f"DevprovEngine on\n"
                               f"DevprovTrust polycom {pki / 'polycom'}\n"
                               f"DevprovAllowlist {allow}\n"
                               "DevprovDeny unlisted\n"))
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_missing_trust_file(srv):
    err = assert_fails(srv, vhost(srv, "DevprovTrust polycom /nonexistent.pem"),
                       "DevprovTrust polycom: /nonexistent.pem: "
                       "No such file or directory")
    assert str(srv.dir / "httpd.conf") in err        # file and line


def test_unreadable_trust_path(srv):
    # root reads any file, so use a path through a regular file
    assert_fails(srv, vhost(srv, "DevprovTrust polycom /etc/hostname/ca.pem"),
                 "DevprovTrust polycom: /etc/hostname/ca.pem: Not a directory")


def test_trust_file_not_a_ca(srv, pki):
    assert_fails(srv, vhost(srv, "DevprovTrust polycom "
                            f"{pki.cert('polycom-valid')}"),
                 "DevprovTrust polycom:", "is not a CA certificate")


def test_trust_file_garbage(srv):
    bad = srv.dir / "garbage.pem"
    bad.write_text("hello\n")
    assert_fails(srv, vhost(srv, f"DevprovTrust polycom {bad}"),
                 f"{bad}: neither a PEM nor a DER certificate")


def test_trust_dir_empty(srv):
    d = srv.dir / "emptydir"
    d.mkdir()
    assert_fails(srv, vhost(srv, f"DevprovTrust polycom {d}"),
                 f"{d}: directory holds no")


def test_vendor_without_ca(srv, pki):
    """A vendor named only by another directive has no CA to verify its
    phones with.  (A vendor trusted at its issuing CA alone, without the
    root, is fine now: test_trust.py.)"""
    assert_fails(srv, vhost(srv, "DevprovEngine on\nDevprovTrust polycom "
                            f"{pki / 'polycom/cafile.pem'}\n"
                            "DevprovSecurityLevel yealink 0"),
                 "vendor 'yealink'", "has no CA certificate",
                 "DevprovTrust yealink")


def test_engine_without_trust(srv):
    assert_fails(srv, vhost(srv, "DevprovEngine on"),
                 "DevprovEngine on in virtual host", "no DevprovTrust")


def test_custom_vendor_needs_macfrom(srv, pki):
    assert_fails(srv, vhost(srv, "DevprovEngine on\nDevprovTrust acme "
                            f"{pki / 'polycom/root.pem'}"),
                 "vendor 'acme'", "DevprovMacFrom acme")


def test_bad_vendor_name(srv, pki):
    assert_fails(srv, vhost(srv, "DevprovTrust 'Bad Name' "
                            f"{pki / 'polycom/root.pem'}"),
                 "DevprovTrust: invalid vendor name 'Bad Name'")


def test_macfrom_bad_attribute(srv):
    assert_fails(srv, vhost(srv, "DevprovMacFrom acme nosuchattr"),
                 "DevprovMacFrom acme: unknown certificate attribute "
                 "'nosuchattr'")


def test_macfrom_bad_regex(srv):
    assert_fails(srv, vhost(srv, "DevprovMacFrom acme CN \"([0-9a-f\""),
                 "DevprovMacFrom acme: bad regular expression")


def test_macfrom_regex_without_group(srv):
    assert_fails(srv, vhost(srv, "DevprovMacFrom acme CN \"^[0-9a-f]{12}$\""),
                 "needs a capture group")


def test_bad_security_level(srv):
    assert_fails(srv, vhost(srv, "DevprovSecurityLevel polycom 9"),
                 "DevprovSecurityLevel polycom: invalid level '9', use 0-5")


def test_bad_deny_value(srv):
    assert_fails(srv, vhost(srv, "DevprovDeny maybe"),
                 "DevprovDeny: unknown value 'maybe', use off, unverified "
                 "or unlisted")


@pytest.mark.parametrize("arg,needle", [
    ("sha256:1234", "DevprovDenyKey: 'sha256:1234': expected sha256: and 64 "
                    "hex digits"),
    ("/nonexistent.pem", "DevprovDenyKey: /nonexistent.pem: No such file"),
])
def test_bad_deny_key(srv, arg, needle):
    assert_fails(srv, vhost(srv, f"DevprovDenyKey {arg}"), needle)


def test_deny_without_engine(srv, pki):
    allow = write_allowlist(srv.dir / "allow", ["0004f2000001 a"])
    assert_fails(srv, vhost(srv, f"DevprovAllowlist {allow}\n"
                            "DevprovDeny unlisted"),
                 "DevprovDeny in virtual host", "without DevprovEngine on")
    ok = srv.configtest(vhost(srv, f"DevprovAllowlist {allow}\n"
                              "DevprovEngine off\nDevprovDeny unlisted"))
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("args,needle", [
    ("/nonexistent-revoked", "DevprovRevoked: /nonexistent-revoked: cannot "
                             "open: No such file or directory"),
    ("{bad}", ":2: 'not-a-mac' is neither a MAC nor sha256:<fingerprint>"),
    ("{bad} 0", "DevprovRevoked: invalid check interval '0', use 1-3600"),
])
def test_bad_revoked(srv, args, needle):
    bad = write_allowlist(srv.dir / "revoked", ["0004f2000001", "not-a-mac"])
    assert_fails(srv, vhost(srv, "DevprovRevoked " + args.format(bad=bad)),
                 needle)


def test_bindpath_without_engine(srv):
    assert_fails(srv, vhost(srv, "DevprovBindPath on"),
                 "DevprovBindPath on in virtual host",
                 "without DevprovEngine on")


def test_deny_unlisted_needs_allowlist(srv, pki):
    assert_fails(srv, vhost(srv, "DevprovEngine on\nDevprovTrust polycom "
                            f"{pki / 'polycom'}\nDevprovDeny unlisted"),
                 "DevprovDeny unlisted", "needs a DevprovAllowlist")


@pytest.mark.parametrize("lines,needle", [
    (["0004f2000001 ok", "", "not-a-mac label"],
     ":3: 'not-a-mac' is not a MAC address"),
    (["0004f2000001 a", "00-04-F2-00-00-01 b"],
     ":2: 0004f2000001 listed twice (first on line 1)"),
    (["0004f2000001 bad\"label"], ":1: label: character 0x22 not allowed"),
    (["0004f2000001 a site=$(reboot)"],
     ":1: attribute 'site': character 0x24 not allowed"),
    (["000000000000 master"], ":1: '000000000000' is not a device MAC"),
    (["0004f2000001 a pin=sha256:1234"], ":1: pin: expected sha256: and the "
                                         "64 hex digits"),
])
def test_malformed_allowlist(srv, lines, needle):
    allow = write_allowlist(srv.dir / "allow", lines)
    assert_fails(srv, vhost(srv, f"DevprovAllowlist {allow}"),
                 f"DevprovAllowlist: {allow}{needle}")


def test_bad_allowlist_interval(srv):
    allow = write_allowlist(srv.dir / "allow", ["0004f2000001 a"])
    assert_fails(srv, vhost(srv, f"DevprovAllowlist {allow} soon"),
                 "DevprovAllowlist: invalid check interval 'soon', use "
                 "1-3600 seconds")


def test_missing_allowlist(srv):
    assert_fails(srv, vhost(srv, "DevprovAllowlist /nonexistent-allow"),
                 "DevprovAllowlist: /nonexistent-allow: cannot open: "
                 "No such file or directory")


@pytest.mark.parametrize("directive", [
    "DevprovEngine on", "DevprovAllowlist /x", "DevprovDeny off",
    "DevprovTrust polycom /x", "DevprovMacFrom polycom CN",
])
def test_wrong_context(srv, directive):
    body = vhost(srv, f"<Location /x>\n{directive}\n</Location>")
    assert_fails(srv, body, directive.split()[0] + " not allowed in <Location>")


def test_error_names_line(srv):
    err = assert_fails(srv, vhost(srv, "DevprovDeny maybe"),
                       "Syntax error on line")
    assert os.path.basename(str(srv.dir / "httpd.conf")) in err


# -- devprov against mod_ssl's handshake settings ------------------------
#
# Where the handshake tolerates only time errors (stock mode always, the
# patched mod_ssl with SSLVerifyClient optional/require), a phone that
# sends only its own certificate must chain in the handshake's CA store.

POLY_ISSUING = "O=Polycom Inc.,CN=Polycom Equipment Issuing CA 1"
# the settings under which the handshake depends on SSLCACertificateFile
STRICT = ({"verify": "optional"} if SSL_PATCHED else {})
STRICT_BODY = "SSLVerifyClientAcceptExpired on\n" if SSL_PATCHED else ""


def two_vendors(pki):
    return (f"DevprovEngine on\n{STRICT_BODY}"
            f"DevprovTrust polycom {pki / 'polycom'}\n"
            f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n")


def test_handshake_store_lacks_a_vendor(srv, pki):
    body = srv.tls_vhost("v", two_vendors(pki), cafile="polycom/cafile.pem",
                         **STRICT)
    err = assert_fails(srv, body,
                       "devprov: virtual host localhost:",
                       "vendor 'yealink' (DevprovTrust "
                       f"{srv.dir / 'httpd.conf'}:",
                       "is not in the TLS handshake's CA store "
                       f"(SSLCACertificateFile {pki / 'polycom/cafile.pem'} "
                       f"({srv.dir / 'httpd.conf'}:",
                       "SSLCACertificatePath none",
                       # a root has no root to add
                       "add O=Yealink,CN=Yealink Root CA to "
                       "SSLCACertificateFile")
    assert "vendor 'polycom'" not in err
    # what the phones would see
    assert ("certificate has expired" in err) != SSL_PATCHED
    assert "Syntax OK" not in err


def test_handshake_store_lacks_the_issuing_ca(srv, pki):
    body = srv.tls_vhost("v", two_vendors(pki), cafile="polycom/root.pem",
                         **STRICT)
    assert_fails(srv, body, "vendor 'polycom'",
                 f"its CA certificate '{POLY_ISSUING}' is not in the TLS "
                 "handshake's CA store",
                 f"add {POLY_ISSUING} (and its root) to SSLCACertificateFile")


def test_handshake_store_without_root(srv, pki):
    body = srv.tls_vhost("v", "DevprovEngine on\n" + STRICT_BODY
                         + f"DevprovTrust polycom {pki / 'polycom'}\n",
                         cafile="polycom/issuing.pem", **STRICT)
    assert_fails(srv, body, f"'{POLY_ISSUING}' does not chain to a root "
                 "(unable to get local issuer certificate) in the TLS "
                 "handshake's CA store")


def test_handshake_store_complete_passes(srv, pki):
    # every vendor's CAs; the CA file inherited from the main server, as
    # mod_ssl merges it, and read through <IfModule>
    top = (f"<IfModule ssl_module>\nSSLCACertificateFile "
           f"{pki.all_vendor_cafile()}\n</IfModule>\n")
    body = top + srv.tls_vhost("v", two_vendors(pki) + (
        "<Location /x>\nSSLVerifyDepth 1\n</Location>\n"), cafile="",
        **STRICT)
    res = srv.configtest(body)
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_handshake_store_inherited_from_main_server(srv, pki):
    top = f"SSLCACertificateFile {pki / 'polycom/cafile.pem'}\n"
    body = top + srv.tls_vhost("v", two_vendors(pki), cafile="", **STRICT)
    # the main server's line is named: the fix goes there
    assert_fails(srv, body, "vendor 'yealink'",
                 f"SSLCACertificateFile {pki / 'polycom/cafile.pem'} "
                 f"({srv.dir / 'httpd.conf'}:")


@pytest.mark.skipif(SSL_PATCHED, reason="stock mode only")
def test_stock_mode_needs_a_ca_file(srv, pki):
    body = srv.tls_vhost("v", two_vendors(pki), cafile="")
    assert_fails(srv, body, "devprov: virtual host localhost:",
                 "stock mod_ssl with SSLVerifyClient optional_no_ca (",
                 "but no SSLCACertificateFile or SSLCACertificatePath",
                 "\"certificate has expired\"",
                 "add SSLCACertificateFile with the vendors' CA certificates")


@pytest.mark.skipif(not SSL_PATCHED, reason="patched mod_ssl only")
def test_patched_optional_no_ca_needs_no_ca_file(srv, pki):
    """optional_no_ca: the patched handshake waives time errors and unknown
    CAs, so the CA file does not matter (devprov verifies)."""
    body = srv.tls_vhost("v", two_vendors(pki), cafile="")
    res = srv.configtest(body)
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(SSL_PATCHED, reason="stock mode only")
def test_stock_mode_verify_none_not_judged(srv, pki):
    body = srv.tls_vhost("v", two_vendors(pki), cafile="", verify="none")
    res = srv.configtest(body)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("verify", ["optional_no_ca", "optional",
                                    "require"])
def test_verify_depth_too_small(srv, pki, verify):
    """mod_ssl's callback holds every chain the store builds to
    SSLVerifyDepth, in both modes and even under optional_no_ca."""
    # root -> issuing CA -> phone: the root sits at depth 2
    accept = "SSLVerifyClientAcceptExpired on\n" if SSL_PATCHED else ""
    body = srv.tls_vhost("v", f"DevprovEngine on\n{accept}"
                         f"DevprovTrust polycom {pki / 'polycom'}\n"
                         "SSLVerifyDepth 1\n", verify=verify)
    err = assert_fails(srv, body, "devprov: virtual host localhost:",
                       f"SSLVerifyDepth 1 ({srv.dir / 'httpd.conf'}:",
                       "is too small for vendor 'polycom' (DevprovTrust ",
                       "issued by 'O=Polycom Inc.,CN=Polycom Equipment "
                       "Issuing CA ", "sits 2 levels below",
                       "\"Certificate Chain too long\"",
                       "set SSLVerifyDepth 2")
    assert err.count("SSLVerifyDepth 1 (") == 1         # one line
    ok = srv.configtest(srv.tls_vhost(
        "v", f"DevprovEngine on\n{accept}DevprovTrust polycom "
        f"{pki / 'polycom'}\nSSLVerifyDepth 2\n", verify=verify))
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif(not SSL_PATCHED, reason="patched mod_ssl only")
@pytest.mark.parametrize("verify,accept", [
    ("optional", ""), ("require", ""),
    ("optional", "SSLVerifyClientAcceptExpired off\n"),
])
def test_patched_strict_verify_needs_accept_expired(srv, pki, verify,
                                                    accept):
    body = srv.tls_vhost("v", f"DevprovEngine on\n{accept}"
                         f"DevprovTrust polycom {pki / 'polycom'}\n",
                         verify=verify)
    err = assert_fails(srv, body, "devprov: virtual host localhost:",
                       f"SSLVerifyClient {verify} ({srv.dir / 'httpd.conf'}:",
                       "without SSLVerifyClientAcceptExpired on",
                       "fails the TLS handshake of every phone whose "
                       "certificate has expired",
                       "add SSLVerifyClientAcceptExpired on, or use "
                       "SSLVerifyClient optional_no_ca")
    assert ("(" + str(srv.dir / "httpd.conf") + ":" in
            err.split("without SSLVerifyClientAcceptExpired on")[1]) \
        == bool(accept)


@pytest.mark.skipif(not SSL_PATCHED, reason="patched mod_ssl only")
def test_patched_accept_expired_passes(srv, pki):
    body = srv.tls_vhost("v", "DevprovEngine on\nSSLVerifyClientAcceptExpired"
                         f" on\nDevprovTrust polycom {pki / 'polycom'}\n",
                         verify="require")
    res = srv.configtest(body)
    assert res.returncode == 0, res.stderr


# -- allowlist vendor= against the configured vendors ----------------------

def test_allowlist_vendor_typo(srv, pki):
    allow = write_allowlist(srv.dir / "allow", [
        "0004f2000001 a vendor=polycom", "# x", "0004f2000002 b vendor=polycon"])
    body = srv.tls_vhost("v", f"DevprovEngine on\n"
                         f"DevprovTrust polycom {pki / 'polycom'}\n"
                         f"DevprovAllowlist {allow}\n")
    err = assert_fails(srv, body,
                       f"devprov: {allow}:3: vendor=polycon names no vendor "
                       "configured in any virtual host (DevprovAllowlist "
                       f"{srv.dir / 'httpd.conf'}:",
                       "configured: polycom)",
                       "DevprovTrust polycon <file>")
    assert f"{allow}:1:" not in err


def test_allowlist_vendor_of_another_vhost_passes(srv, pki):
    """One list may serve vhosts of different vendors."""
    allow = write_allowlist(srv.dir / "allow", [
        "0004f2000001 a vendor=polycom", "001565000062 y vendor=yealink"])
    top = f"DevprovAllowlist {allow}\n"
    body = (top + srv.tls_vhost("p", "DevprovEngine on\nDevprovTrust polycom "
                                f"{pki / 'polycom'}\n")
            + srv.tls_vhost("y", "DevprovEngine on\nDevprovTrust yealink "
                            f"{pki / 'yealink/root.pem'}\n", cafile=None))
    res = srv.configtest(body)
    assert res.returncode == 0, res.stderr
    # the same list where no server has yealink
    body = top + srv.tls_vhost("p", "DevprovEngine on\nDevprovTrust polycom "
                               f"{pki / 'polycom'}\n")
    assert_fails(srv, body, f"{allow}:2: vendor=yealink names no vendor")
