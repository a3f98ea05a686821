"""Every misconfiguration fails `apache2 -t` with a message naming the
directive, the file and the reason."""
import os
import re

import pytest

from conftest import Httpd, write_allowlist


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


def test_trust_without_root(srv, pki):
    assert_fails(srv, vhost(srv, "DevprovEngine on\nDevprovTrust polycom "
                            f"{pki / 'polycom/issuing.pem'}"),
                 "vendor 'polycom'", "no self-signed root CA")


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
