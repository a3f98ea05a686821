"""devprov-check, the operator command: the verdict on a certificate file
against a devprov configuration (options or an Apache configuration file),
its exit status, configuration errors with file:line, hostile input files,
and agreement with a running server for the same certificates and
configuration."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (APACHE2, BUILD, DEVPROV, MODDIR, PATCHED_SSL,
                      fingerprint, make_server_fixture, s_client_get,
                      write_allowlist)

try:                    # the suite's stock mode (tests/stock.mk), if any
    from conftest import SSL_PATCHED
except ImportError:
    SSL_PATCHED = True

CLI = Path(os.environ.get("DEVPROV_CLI", BUILD / "devprov-check"))

LET_IN, REFUSED, ERROR = 0, 1, 2

ALLOW = [
    "# devprov-check tests",
    "0004F2000001 lobby site=hq vendor=polycom",
    "00:04:f2:00:00:02 expired-desk site=branch floor=2",
    "0004f2000003 not-yet",
    "0004f2000004",
    "0004f2000006 yealink-only vendor=yealink",
    "0004f2000007 server-auth",
    "000e08abcdef spa-md5 vendor=cisco-spa",
    "000e08abcd01 spa-sha1",
]


@pytest.fixture(scope="module", autouse=True)
def cli_built():
    if not CLI.exists():
        pytest.fail(f"not built: {CLI} (run make tools)")


# under make test-asan the command is a sanitizer build: a report must
# fail the test (exit 86, never 1 or 2); the configuration it keeps until
# exit is not a leak worth reporting
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=0:exitcode=86",
           "UBSAN_OPTIONS": "halt_on_error=1:exitcode=86:print_stacktrace=1"}


# -f runs apache2 -t -D DUMP_DEVPROV: the suite's apache2 (a wrapper under
# make test-asan), as the servers are run
HTTPD_ENV = {"APACHE_HTTPD": APACHE2}


def run(*args, stdin=None):
    p = subprocess.run([str(CLI), *map(str, args)], capture_output=True,
                       text=True, timeout=60, input=stdin,
                       env=dict(os.environ, **SAN_ENV, **HTTPD_ENV))
    # a crash (signal) or a sanitizer report is never acceptable
    assert p.returncode in (0, 1, 2), p
    return p


def env_of(p):
    lines = p.stdout.splitlines()
    assert all(re.match(r"^DEVICE_[A-Z0-9_]+=", ln) for ln in lines), lines
    return dict(ln.split("=", 1) for ln in lines)


def verdict(p):
    m = re.search(r"^verdict: (.*)$", p.stdout, re.M)
    assert m, p
    return m.group(1)


@pytest.fixture(scope="module")
def lists(workdir, pki):
    d = workdir / "cli"
    d.mkdir(exist_ok=True)
    pin = fingerprint(pki, "polycom-selfsigned")
    allow = write_allowlist(d / "allowlist", ALLOW + [
        f"0004f2000005 selfsigned-desk pin=sha256:{pin}"])
    # listed with a pin of another certificate
    pinned_other = write_allowlist(d / "allowlist-pin", [
        "0004f2000001 pinned-elsewhere pin=sha256:" + "ab" * 32])
    revoked = write_allowlist(d / "revoked", [
        "0004f2000004        # stolen",
        "sha256:" + fingerprint(pki, "polycom-lowercase")])
    # for configurations that trust Polycom only: a vendor= that no
    # server configures is a configuration error (as for apache2 -t)
    allow_polycom = write_allowlist(d / "allowlist-polycom", [
        ln for ln in ALLOW + [f"0004f2000005 selfsigned-desk pin=sha256:{pin}"]
        if "vendor=" not in ln or "vendor=polycom" in ln])
    return {"dir": d, "allow": allow, "allow_polycom": allow_polycom,
            "revoked": revoked,
            "pinned_other": pinned_other}


def polycom_trust(pki):
    return ["--trust", f"polycom={pki / 'polycom/root.pem'},"
            f"{pki / 'polycom/issuing.der'},"
            f"{pki / 'polycom/issuing-expired.pem'}"]


def opts(pki, lists, *more, deny="unlisted"):
    return [*polycom_trust(pki), "--allowlist", lists["allow"],
            "--revoked", lists["revoked"], "--deny", deny, *more]


# -- verdicts from options ---------------------------------------------------

def test_genuine_expired_phone_is_let_in(pki, lists):
    p = run(*opts(pki, lists), pki.cert("polycom-expired"))
    assert p.returncode == LET_IN, p
    assert verdict(p) == "let in"
    for line in ("DEVICE_VERIFIED        1", "DEVICE_MAC             0004f2000002",
                 "DEVICE_VENDOR          polycom",
                 "DEVICE_CERT_VALIDITY   expired",
                 "DEVICE_CERT_EXPIRED    1", "DEVICE_ALLOWLISTED     1",
                 "DEVICE_LABEL           expired-desk",
                 "DEVICE_ATTR_SITE       branch", "DEVICE_ATTR_FLOOR      2"):
        assert line in p.stdout, p.stdout
    assert "DEVICE_REASON" not in p.stdout
    assert re.search(r"^pinned +no$", p.stdout, re.M)
    assert re.search(r"^revoked +no$", p.stdout, re.M)


def test_env_output_is_key_value_only(pki, lists):
    p = run("--env", *opts(pki, lists), pki.chain("polycom-expired"))
    assert p.returncode == LET_IN, p
    e = env_of(p)
    assert e["DEVICE_MAC"] == "0004f2000002"
    assert e["DEVICE_CERT_SHA256"] == fingerprint(pki, "polycom-expired")
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert e["DEVICE_ATTR_FLOOR"] == "2"
    assert "DEVICE_REASON" not in e


def test_expired_intermediate_and_not_yet_valid(pki, lists):
    # (0004f2000004 is revoked in opts(): trust only here)
    p = run("-e", *polycom_trust(pki), pki.chain("polycom-under-expired-ca"))
    assert p.returncode == LET_IN
    e = env_of(p)
    assert e["DEVICE_CERT_VALIDITY"] == "expired"
    assert e["DEVICE_VERIFIED"] == "1"
    # a certificate from the future: refused unless the vendor opts in
    since = pki.manifest["devices"]["polycom-notyet"]["not_before"]
    p = run("-e", *opts(pki, lists), pki.cert("polycom-notyet"))
    assert p.returncode == REFUSED, p
    e = env_of(p)
    assert e["DEVICE_VERIFIED"] == "0" and "DEVICE_MAC" not in e
    assert e["DEVICE_REASON"] == (f"not yet valid (depth 0, from {since}): "
                                  "DevprovAcceptNotYetValid polycom off")
    p = run("-e", *opts(pki, lists, "--accept-not-yet-valid", "polycom"),
            pki.cert("polycom-notyet"))
    assert p.returncode == LET_IN, p
    assert env_of(p)["DEVICE_CERT_VALIDITY"] == "not-yet-valid"


@pytest.mark.parametrize("device,reason", [
    ("rogue-polycom", "certificate not verified: unable to get local "
                      "issuer certificate"),
    ("rogue-expired", "certificate not verified: unable to get local "
                      "issuer certificate"),
    ("polycom-forged", "certificate not verified: certificate signature "
                       "failure"),
    ("lookalike-polycom", "certificate not verified: "),
    ("polycom-selfsigned", None),       # listed, but by allowlist below
    ("polycom-serverauth", "certificate not verified: unsuitable "
                           "certificate purpose"),
    ("polycom-notmac", "no MAC in certificate subject"),
    ("multi-cn", "ambiguous MAC in certificate subject"),
    ("evil-cn-newline", None),
])
def test_impostors_are_refused(pki, lists, device, reason):
    # no allowlist here: only the certificate decides
    p = run(*polycom_trust(pki), "--deny", "unverified", pki.chain(device))
    assert p.returncode == REFUSED, p
    assert verdict(p).startswith("refused: "), p.stdout
    assert "DEVICE_VERIFIED        0" in p.stdout
    assert "DEVICE_MAC" not in p.stdout
    if reason:
        assert verdict(p).startswith("refused: " + reason), p.stdout


def test_lookalike_chain_is_refused_with_its_intermediate(pki, lists):
    p = run("-e", *opts(pki, lists), pki.chain("lookalike-polycom"))
    assert p.returncode == REFUSED
    e = env_of(p)
    assert e["DEVICE_VERIFIED"] == "0"
    assert e["DEVICE_ALLOWLISTED"] == "0"
    assert e["DEVICE_REASON"].startswith("certificate not verified")


def test_deny_off_lets_in_unverified(pki, lists):
    p = run(*opts(pki, lists, deny="off"), pki.cert("rogue-polycom"))
    assert p.returncode == REFUSED, p
    assert verdict(p) == ("let in, unverified (DevprovDeny off): certificate "
                          "not verified: unable to get local issuer "
                          "certificate")


def test_unlisted_phone(pki, lists):
    p = run(*opts(pki, lists), pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED
    assert verdict(p) == "refused: not in allowlist"
    assert "DEVICE_ALLOWLISTED     0" in p.stdout
    assert "DEVICE_MAC             0004f2999999" in p.stdout
    p = run(*opts(pki, lists, deny="unverified"), pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED
    assert verdict(p) == ("let in, not listed (DevprovDeny unverified): not "
                          "in allowlist")
    # without any allowlist a genuine phone is enough
    p = run(*polycom_trust(pki), pki.cert("polycom-unlisted"))
    assert p.returncode == LET_IN and verdict(p) == "let in"
    assert "DEVICE_ALLOWLISTED" not in p.stdout


def test_vendor_bound_line(pki, lists):
    p = run("-e", *opts(pki, lists), pki.cert("polycom-lowercase"))
    # 0004f2000006 is listed for yealink only; this is also revoked by
    # fingerprint: revocation wins
    e = env_of(p)
    assert p.returncode == REFUSED
    assert e["DEVICE_REVOKED"] == "1"
    assert e["DEVICE_REASON"] == "revoked (DevprovRevoked)"
    p = run("-e", *polycom_trust(pki), "--allowlist", lists["allow"],
            "--deny", "unlisted", pki.cert("polycom-lowercase"))
    e = env_of(p)
    assert p.returncode == REFUSED
    assert e["DEVICE_REASON"] == ("allowlisted for vendor yealink, "
                                  "certificate from polycom")
    assert e["DEVICE_ALLOWLISTED"] == "0"
    assert "DEVICE_LABEL" not in e


def test_pin_of_another_certificate(pki, lists):
    p = run(*polycom_trust(pki), "--allowlist", lists["pinned_other"],
            "--deny", "unlisted", pki.cert("polycom-valid"))
    assert p.returncode == REFUSED
    assert verdict(p) == ("refused: certificate does not match the allowlist "
                          "pin")


def test_self_signed_pinned_phone(pki, lists):
    p = run(*opts(pki, lists), pki.cert("polycom-selfsigned"))
    assert p.returncode == LET_IN, p
    assert verdict(p) == "let in"
    assert "DEVICE_PINNED          1" in p.stdout
    assert re.search(r"^pinned +yes$", p.stdout, re.M)
    assert "DEVICE_VENDOR" not in p.stdout
    # without the pin it is an unknown self-signed certificate
    p = run(*polycom_trust(pki), "--deny", "unverified",
            pki.cert("polycom-selfsigned"))
    assert p.returncode == REFUSED
    assert verdict(p) == ("refused: certificate not verified: self-signed "
                          "certificate")


def test_revoked_by_mac(pki, lists):
    p = run(*opts(pki, lists), pki.chain("polycom-under-expired-ca"))
    assert p.returncode == REFUSED
    assert verdict(p) == "refused: revoked (DevprovRevoked)"
    assert re.search(r"^revoked +yes$", p.stdout, re.M)
    assert "DEVICE_REVOKED         1" in p.stdout
    assert "DEVICE_ALLOWLISTED     0" in p.stdout
    assert "DEVICE_VERIFIED        0" in p.stdout


def test_deny_key(pki, lists):
    p = run(*opts(pki, lists, "--deny-key", pki.cert("polycom-valid")),
            pki.cert("polycom-valid"))
    assert p.returncode == REFUSED
    assert verdict(p).startswith("refused: generic certificate: its private "
                                 "key is public")


def cisco(pki, *more):
    return ["-e", "--trust", f"cisco-spa={pki / 'cisco/root.pem'}", *more]


def test_legacy_cisco_security_levels(pki, lists):
    # MD5 and SHA-1 phone certificates fail at the default level 1
    for dev in ("cisco-md5", "cisco-sha1"):
        p = run(*cisco(pki, "--deny", "unverified"), pki.cert(dev))
        assert p.returncode == REFUSED
        assert env_of(p)["DEVICE_REASON"].startswith(
            "certificate not verified: ")
        assert "too weak" in env_of(p)["DEVICE_REASON"]
    # a SHA-256 certificate under the RSA-1024/SHA-1 root passes level 1
    p = run(*cisco(pki), pki.cert("cisco-sha256"))
    assert p.returncode == LET_IN
    assert env_of(p)["DEVICE_MAC"] == "000e08abcd02"
    # level 0, for this vendor only
    p = run(*cisco(pki, "--security-level", "cisco-spa=0", "--allowlist",
                   lists["allow"], "--deny", "unlisted"), pki.cert("cisco-md5"))
    assert p.returncode == LET_IN, p
    e = env_of(p)
    assert e["DEVICE_MAC"] == "000e08abcdef"
    assert e["DEVICE_CERT_VALIDITY"] == "expired"
    assert e["DEVICE_LABEL"] == "spa-md5"
    assert e["DEVICE_ATTR_VENDOR"] == "cisco-spa"


def test_mac_from_custom_rule(pki, lists):
    # an "acme" vendor whose MAC is in ST, with the Cisco root
    p = run("-e", "--trust", f"acme={pki / 'cisco/root.pem'}",
            "--mac-from", "acme=ST=^([0-9a-f]{12})$", pki.cert("cisco-sha256"))
    assert p.returncode == LET_IN, p
    assert env_of(p)["DEVICE_VENDOR"] == "acme"
    # a non-preset vendor needs DevprovMacFrom
    p = run("--trust", f"acme={pki / 'cisco/root.pem'}",
            pki.cert("cisco-sha256"))
    assert p.returncode == ERROR
    assert "is not a preset" in p.stderr


def test_enrol_is_read_only(pki, lists):
    enrol = lists["dir"] / "enrol.txt"
    enrol.unlink(missing_ok=True)
    allow = write_allowlist(lists["dir"] / "allow-enrol",
                            ["0004f2000005 new-desk"])
    p = run(*polycom_trust(pki), "--allowlist", allow, "--enrol", enrol,
            "--deny", "unlisted", pki.cert("polycom-selfsigned"))
    assert p.returncode == REFUSED
    assert "DEVICE_ENROLMENT       recorded" in p.stdout
    assert re.search(r"^enrolment +recorded .*writes nothing", p.stdout, re.M)
    assert not enrol.exists()
    fp = fingerprint(pki, "polycom-selfsigned")
    enrol.write_text(f"0004f2000005 sha256:{fp} 2026-01-01 polycom\n")
    p = run("-e", *polycom_trust(pki), "--allowlist", allow, "--enrol",
            enrol, pki.cert("polycom-selfsigned"))
    assert env_of(p)["DEVICE_ENROLMENT"] == "pending"
    enrol.write_text("0004f2000005 sha256:" + "00" * 32 + " x polycom\n")
    p = run("-e", *polycom_trust(pki), "--allowlist", allow, "--enrol",
            enrol, pki.cert("polycom-selfsigned"))
    assert env_of(p)["DEVICE_ENROLMENT"] == "conflict"


def test_stdin_and_der(pki, lists, tmp_path):
    p = run("-e", *opts(pki, lists), "-",
            stdin=pki.cert("polycom-expired").read_text())
    assert p.returncode == LET_IN
    der = tmp_path / "phone.der"
    subprocess.run(["openssl", "x509", "-in", str(pki.cert("polycom-valid")),
                    "-outform", "DER", "-out", str(der)], check=True)
    p = run("-e", *opts(pki, lists), der)
    assert p.returncode == LET_IN
    assert env_of(p)["DEVICE_LABEL"] == "lobby"


# -- usage and hostile input -------------------------------------------------

def test_usage_errors(pki):
    assert run().returncode == ERROR
    p = run("--help")
    assert p.returncode == 0 and "Exit status" in p.stdout
    p = run(pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "no vendor configured" in p.stderr
    p = run("--trust", "polycom", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "--trust" in p.stderr
    p = run(*polycom_trust(pki), "--deny", "sometimes",
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "unknown value 'sometimes'" in p.stderr
    p = run(*polycom_trust(pki), "--security-level", "polycom=9",
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "invalid level '9'" in p.stderr
    p = run("--trust", f"polycom={pki / 'devices/polycom-valid.pem'}",
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "DevprovTrust polycom" in p.stderr
    p = run(*polycom_trust(pki), "--allowlist", "/dev/zero",
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "not a regular file" in p.stderr
    p = run(*polycom_trust(pki), "--vhost", "x", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "needs -f" in p.stderr


def test_bad_allowlist_option_names_file_and_line(pki, lists):
    bad = write_allowlist(lists["dir"] / "bad-allow",
                          ["0004f2000001 ok", "0004f2zzzzzz broken"])
    p = run(*polycom_trust(pki), "--allowlist", bad,
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR
    assert f"{bad}:2:" in p.stderr


def hostile_files(pki, d):
    files = {}
    rnd = os.urandom(4096)
    (d / "random.bin").write_bytes(rnd)
    files["random"] = d / "random.bin"
    (d / "empty").write_bytes(b"")
    files["empty"] = d / "empty"
    pem = pki.cert("polycom-valid").read_text()
    (d / "truncated.pem").write_text(pem[: len(pem) // 2])
    files["truncated PEM"] = d / "truncated.pem"
    body = pem.splitlines()
    body[3] = "!!!!" + body[3][4:]
    (d / "badbase64.pem").write_text("\n".join(body) + "\n")
    files["bad base64"] = d / "badbase64.pem"
    (d / "key.pem").write_text(pki.key("polycom-valid").read_text())
    files["private key"] = d / "key.pem"
    der = subprocess.run(["openssl", "x509", "-in",
                          str(pki.cert("polycom-valid")), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    (d / "cut.der").write_bytes(der[:-20])
    files["truncated DER"] = d / "cut.der"
    (d / "der-trailing.der").write_bytes(der[:4] + b"\xff" * 64)
    files["DER garbage"] = d / "der-trailing.der"
    (d / "huge.pem").write_bytes(b"A" * (2 * 1024 * 1024))
    files["huge"] = d / "huge.pem"
    (d / "many.pem").write_text(pem * 40)
    files["40 certificates"] = d / "many.pem"
    (d / "nul.pem").write_bytes(pem.encode()[:100] + b"\0" + pem.encode()[100:])
    files["NUL inside"] = d / "nul.pem"
    os.mkfifo(d / "fifo")
    files["fifo"] = d / "fifo"
    files["directory"] = d
    files["/dev/zero"] = Path("/dev/zero")
    os.symlink("/dev/zero", d / "zero-link.pem")
    files["symlink to /dev/zero"] = d / "zero-link.pem"
    files["missing"] = d / "nonexistent.pem"
    return files


def test_hostile_certificate_files(pki, lists, tmp_path):
    for what, path in hostile_files(pki, tmp_path).items():
        p = run(*opts(pki, lists), path)
        assert p.returncode == ERROR, (what, p)
        assert p.stderr.startswith("devprov-check: "), (what, p.stderr)
        assert p.stdout == "", (what, p.stdout)


# -- Apache configuration files ----------------------------------------------

def write_conf(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def httpd_head(root, modules=()):
    """What apache2 -t needs before devprov's directives: an MPM, mod_ssl
    and mod_devprov loaded (MODULES: more of Debian's), a ServerName and
    an ErrorLog directory that exists."""
    mods = ["mpm_event", "authz_core", *modules]
    return ("".join(f"LoadModule {m}_module {MODDIR}/mod_{m}.so\n"
                    for m in mods)
            + f"LoadModule ssl_module {PATCHED_SSL}\n"
            f"LoadModule devprov_module {DEVPROV}\n"
            f"ServerRoot {root}\n"
            "ServerName localhost\n"
            f"ErrorLog {root}/error.log\n")


def wrap(conf, modules=()):
    """An httpd configuration that loads the modules and Includes CONF,
    so that CONF's own line numbers are the ones messages name."""
    return write_conf(conf.with_name(conf.name + ".httpd"),
                      httpd_head(conf.parent, modules)
                      + f"Include {conf}\n")


@pytest.fixture
def site(tmp_path, pki, lists):
    """A Debian-like layout: apache2.conf including sites-enabled/*.conf,
    the trust store in the main server, per-vhost policies."""
    root = tmp_path / "apache2"
    write_conf(root / "apache2.conf",
               "# main server\n"
               "ServerName main.example\n"
               + httpd_head(root).replace("ServerName localhost\n", "") +
               "<IfModule devprov_module>\n"
               f"  DevprovTrust polycom {pki / 'polycom/root.pem'} \\\n"
               f"      {pki / 'polycom/issuing.pem'}\n"
               "  DevprovDeny unverified\n"
               "</IfModule>\n"
               "<IfModule nonexistent_module>\n"
               "  DevprovDeny off\n"
               "</IfModule>\n"
               "IncludeOptional conf-enabled/*.conf\n"
               "IncludeOptional sites-enabled/*.conf\n")
    write_conf(root / "sites-enabled" / "provisioning.conf",
               "Listen 8443\n"
               "<VirtualHost *:8443>\n"
               "    ServerName prov.example.com\n"
               "    ServerAlias prov\n"
               "    DevprovEngine on\n"
               f"    DevprovAllowlist \"{lists['allow_polycom']}\" 10\n"
               f"    DevprovRevoked {lists['revoked']}\n"
               "    DevprovDeny unlisted\n"
               "    <Location /public>\n"
               "        Require all granted\n"
               "    </Location>\n"
               "</VirtualHost>\n"
               "<VirtualHost *:80>\n"
               "    ServerName bootstrap.example.com\n"
               "</VirtualHost>\n")
    return root


def test_config_file_vhost_inherits_main_server(site, pki):
    p = run("-d", site, "-f", "apache2.conf", pki.cert("polycom-expired"))
    assert p.returncode == LET_IN, p
    assert "<VirtualHost *:8443> at " in p.stdout
    assert "sites-enabled/provisioning.conf:2" in p.stdout
    assert re.search(r"vendor polycom +1 root\(s\), 1 issuing CA", p.stdout)
    assert "DevprovDeny    unlisted" in p.stdout
    assert verdict(p) == "let in"
    p = run("-d", site, "-f", "apache2.conf", pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED
    assert verdict(p) == "refused: not in allowlist"


def test_config_vhost_choice(site, pki):
    cert = pki.cert("polycom-valid")
    for name in ("prov.example.com", "prov", "*:8443", ":8443"):
        p = run("-d", site, "-f", "apache2.conf", "--vhost", name, cert)
        assert p.returncode == LET_IN, (name, p)
    # the bootstrap vhost has no DevprovEngine: devprov does nothing there
    p = run("-d", site, "-f", "apache2.conf", "--vhost",
            "bootstrap.example.com", cert)
    assert p.returncode == REFUSED
    assert "DevprovEngine off" in verdict(p)
    p = run("-d", site, "-f", "apache2.conf", "--vhost", "nowhere", cert)
    assert p.returncode == ERROR
    assert "no <VirtualHost> named or listening on 'nowhere'" in p.stderr
    # options over the chosen vhost's settings
    p = run("-d", site, "-f", "apache2.conf", "--deny", "off",
            pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED
    assert verdict(p) == ("let in, not listed (DevprovDeny off): not in "
                          "allowlist")


def test_config_ambiguous_vhost(site, pki):
    write_conf(site / "sites-enabled" / "second.conf",
               "<VirtualHost *:8444>\n"
               "    ServerName second.example.com\n"
               "    DevprovEngine on\n"
               "</VirtualHost>\n")
    p = run("-d", site, "-f", "apache2.conf", pki.cert("polycom-valid"))
    assert p.returncode == ERROR
    assert "several DevprovEngine on virtual hosts match" in p.stderr
    assert "prov.example.com" in p.stderr and "second.example.com" in p.stderr
    p = run("-d", site, "-f", "apache2.conf", "--vhost", "second.example.com",
            "-e", pki.cert("polycom-unlisted"))
    # inherits DevprovDeny unverified and the trust store, no allowlist
    assert p.returncode == LET_IN, p
    assert "DEVICE_ALLOWLISTED" not in env_of(p)


def test_config_sql_allowlist_is_not_checked(tmp_path, pki):
    conf = write_conf(tmp_path / "sql.conf",
                      "<VirtualHost 127.0.0.1:9443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
                      f"{pki / 'polycom/issuing.pem'}\n"
                      "DBDriver sqlite3\n"
                      'DevprovAllowlistSQL "SELECT label FROM phones WHERE '
                      'mac = %s" ttl=60\n'
                      "DevprovDeny unlisted\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf, ["dbd"]), pki.cert("polycom-valid"))
    assert p.returncode == REFUSED
    assert "not checked: database allowlist" in p.stdout
    assert verdict(p) == ("let in only if the database lists it (not "
                          "checked: database allowlist)")
    p = run("-f", wrap(conf, ["dbd"]), "-e", pki.cert("polycom-valid"))
    assert "not checked: database allowlist" in p.stderr
    assert "DEVICE_ALLOWLISTED" not in env_of(p)
    # a file given as an option replaces the database
    allow = write_allowlist(tmp_path / "export", ["0004f2000001 desk"])
    p = run("-f", wrap(conf, ["dbd"]), "--allowlist", allow, pki.cert("polycom-valid"))
    assert p.returncode == LET_IN, p


@pytest.mark.parametrize("body,line,message", [
    ("DevprovEngine on\nDevprovDeny sometimes\n", 3,
     "DevprovDeny: unknown value 'sometimes'"),
    ("DevprovEngine on\nDevprovTrust polycom /nonexistent/ca.pem\n", 3,
     "DevprovTrust polycom: /nonexistent/ca.pem: No such file or directory"),
    ("DevprovEngine maybe\n", 2, "DevprovEngine must be On or Off"),
    ("<Location />\nDevprovDeny unlisted\n</Location>\n", 3,
     "DevprovDeny not allowed in <Location> context"),
    ("DevprovSecurityLevel polycom 7\n", 2, "invalid level '7'"),
    ("DevprovAllowlist {bad}\n", 2, "{bad}:2: "),
    ("DevprovRevoked {bad}\n", 2, "DevprovRevoked: {bad}:1: "),
    ("DevprovMacFrom acme CN \"([0-9a-f]{{12}}\"\n", 2, "DevprovMacFrom acme"),
    ("Include nowhere/*.conf\n", 2,
     "Include/IncludeOptional: Could not open directory"),
])
def test_config_errors_name_file_and_line(tmp_path, pki, body, line, message):
    bad = write_allowlist(tmp_path / "bad-list",
                          ["0004f2000001 ok", "zzzz bad line"])
    conf = write_conf(tmp_path / "site.conf",
                      "<VirtualHost *:8443>\n" + body.format(bad=bad)
                      + "</VirtualHost>\n")
    p = run("-f", wrap(conf), *polycom_trust(pki), pki.cert("polycom-valid"))
    assert p.returncode == ERROR, p
    assert f"devprov-check: {conf}:{line}: " in p.stderr, p.stderr
    assert message.format(bad=bad) in p.stderr, p.stderr
    assert p.stdout == ""


def test_config_allowlist_vendor_typo(tmp_path, pki):
    """vendor= naming no vendor of any server is an error, as apache2 -t
    says it; a vendor of another vhost is fine."""
    allow = tmp_path / "allow"
    allow.write_text("0004f2000001 a vendor=polycom\n"
                     "001565000062 y vendor=yealink\n"
                     "0004f2000002 b vendor=polycon\n")
    conf = write_conf(tmp_path / "x.conf",
                      f"DevprovAllowlist {allow}\n"
                      "<VirtualHost *:8443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom {pki / 'polycom'}\n"
                      "</VirtualHost>\n"
                      "<VirtualHost *:8444>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf), pki.cert("polycom-valid"))
    assert p.returncode == ERROR
    assert (f"devprov: {allow}:3: vendor=polycon names no vendor configured "
            f"in any virtual host (DevprovAllowlist {conf}:1; configured: "
            "yealink, polycom)") in p.stderr, p.stderr
    assert f"{allow}:2:" not in p.stderr
    assert p.stderr.count("names no vendor") == 1
    # given as an option, the list may serve servers the command does not
    # see: not judged
    p = run("--trust", f"polycom={pki / 'polycom'}", "--allowlist", allow,
            pki.cert("polycom-valid"))
    assert "names no vendor" not in p.stderr, p.stderr


def test_config_cross_checks(tmp_path, pki):
    conf = write_conf(tmp_path / "x.conf",
                      "<VirtualHost *:8443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom {pki / 'polycom/issuing.pem'}\n"
                      "DevprovDeny unlisted\n"
                      "</VirtualHost>\n"
                      "<VirtualHost *:8444>\n"
                      "DevprovDeny unverified\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf), pki.cert("polycom-valid"))
    assert p.returncode == ERROR
    # an issuing CA alone is a valid vendor (trust anchor) now
    assert "self-signed root" not in p.stderr
    assert "needs a DevprovAllowlist or DevprovAllowlistSQL" in p.stderr
    assert ("DevprovDeny in virtual host localhost:8444 "
            f"({conf}:6) has no effect without DevprovEngine on") in p.stderr


def test_config_unreadable_or_looping(tmp_path, pki):
    p = run("-f", tmp_path / "none.conf", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "none.conf" in p.stderr
    loop = write_conf(tmp_path / "loop.conf", f"Include {tmp_path}/loop.conf\n")
    p = run("-f", loop, pki.cert("polycom-valid"))
    assert p.returncode == ERROR
    # (httpd cuts its message, "Exceeded maximum include depth", at 8 KB)
    assert f"devprov-check: {loop}:1: " in p.stderr
    p = run("-f", "/dev/zero", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "not a regular file" in p.stderr
    # no httpd to read it
    p = run("-f", loop, "--httpd", tmp_path / "no-apache2",
            pki.cert("polycom-valid"))
    assert p.returncode == ERROR and p.stdout == ""
    assert f"could not run {tmp_path / 'no-apache2'}" in p.stderr, p.stderr


# -- the CLI and a running server agree --------------------------------------

# (not polycom-serverauth: mod_ssl refuses its handshake, whatever devprov)
AGREE_DEVICES = ["polycom-valid", "polycom-expired", "polycom-notyet",
                 "polycom-under-expired-ca", "polycom-unlisted",
                 "polycom-selfsigned", "polycom-notmac", "polycom-lowercase",
                 "polycom-forged", "rogue-polycom",
                 "rogue-expired", "lookalike-polycom", "yealink-valid",
                 "multi-cn", "evil-cn-quote",
                 # trust exactly as configured (t/test_trust.py)
                 "polycom-via-unlisted-sub", "polycom-ca-true",
                 "polycom-minted-by-phone", "polycom-keycertsign",
                 "polycom-after-ca-expired", "polycom-inverted"]


def agree_body(srv, pki):
    d = srv.dir
    pin = fingerprint(pki, "polycom-selfsigned")
    allow = write_allowlist(d / "allowlist", ALLOW + [
        f"0004f2000005 selfsigned-desk pin=sha256:{pin}",
        "001565000062 yealink-desk vendor=yealink"])
    revoked = write_allowlist(d / "revoked", [
        "0004f2000004",
        "sha256:" + fingerprint(pki, "polycom-lowercase")])
    trust = (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
             f"{pki / 'polycom/issuing.der'} "
             f"{pki / 'polycom/issuing-expired.pem'}\n"
             f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n")
    cgi = "AddHandler cgi-script .cgi\n"
    return (
        # the main server: vendors and revocation, inherited
        trust + f"DevprovRevoked {revoked}\n"
        + srv.tls_vhost("off", "DevprovEngine on\n"
                        f"DevprovAllowlist {allow}\n" + cgi, cafile=None)
        + srv.tls_vhost("unlisted", "DevprovEngine on\n"
                        f"DevprovAllowlist {allow}\nDevprovDeny unlisted\n"
                        + cgi, cafile=None)
        + srv.tls_vhost("unverified", "DevprovEngine on\n"
                        "DevprovDeny unverified\n"
                        f"DevprovDenyKey {pki.cert('polycom-valid')}\n" + cgi,
                        cafile=None)
        # legacy phones (doc/legacy-phones.md): their own vendor set,
        # with and without DevprovSecurityLevel 0
        + srv.tls_vhost("legacy0", "SSLProtocol all\n"
                        "SSLCipherSuite DEFAULT@SECLEVEL=0\n"
                        "DevprovEngine on\n"
                        f"DevprovTrust cisco-spa {pki / 'cisco/root.pem'}\n"
                        "DevprovSecurityLevel cisco-spa 0\n"
                        f"DevprovAllowlist {allow}\nDevprovDeny unlisted\n"
                        + cgi, cafile="cisco/cafile.pem")
        + srv.tls_vhost("legacy1", "SSLProtocol all\n"
                        "SSLCipherSuite DEFAULT@SECLEVEL=0\n"
                        "DevprovEngine on\n"
                        f"DevprovTrust cisco-spa {pki / 'cisco/root.pem'}\n"
                        + cgi, cafile="cisco/cafile.pem"))


srv_cli = make_server_fixture("srv_cli", agree_body)


def server_env(res):
    return dict(ln.split("=", 1) for ln in res.body.splitlines()
                if ln.startswith("DEVICE_"))


@pytest.mark.parametrize("vhost", ["off", "unlisted", "unverified"])
def test_cli_and_server_agree(srv_cli, vhost):
    pki = srv_cli.pki
    conf = srv_cli.dir / "httpd.conf"
    addr = f"127.0.0.1:{srv_cli.port(vhost)}"
    checked = 0
    for dev in AGREE_DEVICES:
        # the phone sends its chain; the forged one only its certificate
        # (with the real issuing CA after it, mod_ssl fails the handshake)
        chain = dev != "polycom-forged"
        cert = pki.chain(dev) if chain else pki.cert(dev)
        res = srv_cli.curl(vhost, "/env.cgi", dev, chain=chain)
        if res.handshake_failed:
            # mod_ssl refused it before devprov saw it (stock mod_ssl
            # refuses a bad signature even under optional_no_ca): nothing
            # the command claims to know
            assert not SSL_PATCHED, (dev, res)
            continue
        assert res.status in (200, 403), (dev, res)
        p = run("-f", conf, "--vhost", addr, "-e", cert)
        assert p.returncode in (LET_IN, REFUSED), (dev, p)
        q = run("-f", conf, "--vhost", addr, cert)
        refused = verdict(q).startswith("refused")
        assert refused == (res.status == 403), (dev, vhost, res, q.stdout)
        if res.status == 200:
            assert server_env(res) == env_of(p), (dev, vhost)
            checked += 1
    assert checked >= 3


def test_config_define_and_ifdefine(tmp_path, pki, lists):
    conf = write_conf(tmp_path / "def.conf",
                      f"Define PKI {pki.root}\n"
                      "<VirtualHost *:8443>\n"
                      "  DevprovEngine on\n"
                      "  DevprovTrust polycom ${PKI}/polycom/root.pem "
                      "'${PKI}/polycom/issuing.pem'\n"
                      "  <IfDefine STRICT>\n"
                      f"    DevprovAllowlist {lists['allow_polycom']}\n"
                      "    DevprovDeny unlisted\n"
                      "  </IfDefine>\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf), pki.cert("polycom-unlisted"))
    assert p.returncode == LET_IN, p
    p = run("-f", wrap(conf), "-D", "STRICT", pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED
    assert verdict(p) == "refused: not in allowlist"


@pytest.mark.parametrize("vhost", ["legacy0", "legacy1"])
def test_cli_and_server_agree_on_legacy_phones(srv_cli, vhost):
    """TLS 1.0 phones with RSA-1024 MD5/SHA-1 certificates, through
    openssl s_client at the client's SECLEVEL=0 (as t/test_legacy.py)."""
    pki = srv_cli.pki
    conf = srv_cli.dir / "httpd.conf"
    addr = f"127.0.0.1:{srv_cli.port(vhost)}"
    seen = {}
    for dev in ("cisco-md5", "cisco-sha1", "cisco-sha256"):
        status, out, err = s_client_get(srv_cli.port(vhost), pki, dev,
                                        "/env.cgi", tls="-tls1",
                                        extra=["-cipher", "DEFAULT@SECLEVEL=0"])
        assert status in (200, 403), (dev, out[-300:], err[-300:])
        p = run("-f", conf, "--vhost", addr, "-e", pki.cert(dev))
        q = run("-f", conf, "--vhost", addr, pki.cert(dev))
        assert verdict(q).startswith("refused") == (status == 403), (dev, q)
        if status == 200:
            # (text mode: the CRLFs of the response are newlines here)
            body = re.split(r"\r?\n\r?\n", out, maxsplit=1)[1]
            server = dict(ln.split("=", 1) for ln in body.splitlines()
                          if ln.startswith("DEVICE_"))
            assert server == env_of(p), (dev, vhost)
        seen[dev] = (status, p.returncode)
    if vhost == "legacy0":
        # listed MD5/SHA-1 phones are let in; the SHA-256 one is unlisted
        assert seen == {"cisco-md5": (200, LET_IN), "cisco-sha1": (200, LET_IN),
                        "cisco-sha256": (403, REFUSED)}
    else:
        # default level 1: MD5/SHA-1 signatures are too weak (not refused:
        # no DevprovDeny), the SHA-256 one verifies
        assert seen == {"cisco-md5": (200, REFUSED),
                        "cisco-sha1": (200, REFUSED),
                        "cisco-sha256": (200, LET_IN)}


# -- httpd's own parse: what a second parser got wrong -----------------------

def dump_of(conf, *args):
    """apache2 -t -D DUMP_DEVPROV: the servers (doc/dump-format.md), each
    a dict of its record's lines (keyword -> list of field lists)."""
    p = subprocess.run([APACHE2, "-t", "-D", "DUMP_DEVPROV", *map(str, args),
                        "-f", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "devprov-dump 1", lines[:3]
    servers, cur = [], None
    for ln in lines[1:]:
        f = ln.split(" ")
        if f[0] == "server":
            cur = {"server": f[1:]}
        elif f[0] == "end":
            servers.append(cur)
            cur = None
        elif f[0] == "done":
            assert int(f[1]) == len(servers) and cur is None
        else:
            cur.setdefault(f[0], []).append(f[1:])
    assert lines[-1] == f"done {len(servers)}"
    return p.stdout, servers


def unesc(field):
    return None if field == "-" else re.sub(
        r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), field)


def test_config_ifversion_both_arms(tmp_path, pki, lists):
    """The old parser read both arms of <IfVersion> and found the
    allowlist "given twice"; httpd reads the arm of its version."""
    conf = write_conf(tmp_path / "v.conf",
                      "<VirtualHost *:8443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom {pki / 'polycom'}\n"
                      "<IfVersion >= 2.4>\n"
                      f"  DevprovAllowlist {lists['allow_polycom']}\n"
                      "  DevprovDeny unlisted\n"
                      "</IfVersion>\n"
                      "<IfVersion < 2.4>\n"
                      f"  DevprovAllowlist {lists['revoked']}\n"
                      "  DevprovDeny off\n"
                      "</IfVersion>\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf), pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED, p
    assert "given twice" not in p.stderr
    assert verdict(p) == "refused: not in allowlist"
    assert f"allowlist      {lists['allow_polycom']}" in p.stdout
    p = run("-f", wrap(conf), pki.cert("polycom-valid"))
    assert p.returncode == LET_IN, p


def macro_conf(tmp_path, pki, lists):
    return write_conf(
        tmp_path / "macro.conf",
        f"LoadModule macro_module {MODDIR}/mod_macro.so\n"
        "<Macro Provisioning $port $deny>\n"
        "  <VirtualHost *:$port>\n"
        "    ServerName prov$port.example.com\n"
        "    DevprovEngine on\n"
        f"    DevprovTrust polycom {pki / 'polycom'}\n"
        f"    DevprovAllowlist {lists['allow_polycom']}\n"
        "    DevprovDeny $deny\n"
        "  </VirtualHost>\n"
        "</Macro>\n"
        "Use Provisioning 8443 unlisted\n"
        "Use Provisioning 8444 off\n"
        "UndefMacro Provisioning\n")


def test_config_macro_use(tmp_path, pki, lists):
    """devprov directives inside a <Macro> used with Use (mod_macro): the
    old parser skipped <Macro> and saw no virtual host at all."""
    conf = wrap(macro_conf(tmp_path, pki, lists))
    cert = pki.cert("polycom-unlisted")
    p = run("-f", conf, "--vhost", "prov8443.example.com", cert)
    assert p.returncode == REFUSED, p
    assert verdict(p) == "refused: not in allowlist"
    p = run("-f", conf, "--vhost", ":8444", cert)
    assert p.returncode == REFUSED, p
    assert verdict(p) == ("let in, not listed (DevprovDeny off): not in "
                          "allowlist")
    # both have DevprovEngine on: no default
    p = run("-f", conf, cert)
    assert p.returncode == ERROR
    assert "several DevprovEngine on virtual hosts match" in p.stderr
    assert "prov8443.example.com" in p.stderr
    assert "prov8444.example.com" in p.stderr


@pytest.mark.parametrize("loaded", [True, False])
def test_config_ifmodule(tmp_path, pki, lists, loaded):
    """<IfModule> as httpd judges it, by the modules really loaded (the
    old parser guessed from a list of Debian's static modules)."""
    conf = write_conf(tmp_path / "m.conf",
                      "<VirtualHost *:8443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom {pki / 'polycom'}\n"
                      f"DevprovAllowlist {lists['allow_polycom']}\n"
                      "<IfModule rewrite_module>\n"
                      "  DevprovDeny unlisted\n"
                      "</IfModule>\n"
                      "<IfModule !mod_rewrite.c>\n"
                      "  DevprovDeny unverified\n"
                      "</IfModule>\n"
                      "<IfModule !devprov_module>\n"
                      "  DevprovDeny off\n"
                      "</IfModule>\n"
                      "</VirtualHost>\n")
    p = run("-f", wrap(conf, ["rewrite"] if loaded else []),
            pki.cert("polycom-unlisted"))
    assert p.returncode == REFUSED, p
    if loaded:
        assert verdict(p) == "refused: not in allowlist"
    else:
        assert verdict(p) == ("let in, not listed (DevprovDeny unverified): "
                              "not in allowlist")


def test_config_saved_dump_and_escaping(tmp_path, pki, lists):
    """--dump reads a saved apache2 -t -D DUMP_DEVPROV; a path with
    spaces and a percent sign survives it."""
    d = tmp_path / "odd dir %20"
    d.mkdir()
    allow = d / "allow list"
    allow.write_text(Path(lists["allow_polycom"]).read_text())
    conf = write_conf(tmp_path / "s.conf",
                      "<VirtualHost *:8443>\n"
                      "DevprovEngine on\n"
                      f"DevprovTrust polycom \"{pki / 'polycom'}\"\n"
                      f"DevprovAllowlist \"{allow}\"\n"
                      "DevprovMacFrom polycom CN \"^([0-9A-F]{12})$\"\n"
                      "DevprovDeny unlisted\n"
                      "</VirtualHost>\n")
    text, servers = dump_of(wrap(conf))
    vh = [s for s in servers if s["server"][2] == "1"]
    assert len(vh) == 1
    assert unesc(vh[0]["allowlist"][0][0]) == str(allow)
    assert " " not in vh[0]["allowlist"][0][0]
    assert vh[0]["macrule"] == [["polycom", "CN", "^([0-9A-F]{12})$"]]
    saved = tmp_path / "dump.txt"
    saved.write_text(text)
    for dev, rc in (("polycom-valid", LET_IN), ("polycom-unlisted", REFUSED)):
        p = run("-f", wrap(conf), dev and pki.cert(dev))
        q = run("--dump", saved, pki.cert(dev))
        assert p.returncode == q.returncode == rc, (p, q)
        # the same report, but for the name of the source
        assert (p.stdout.split("\n", 1)[1] == q.stdout.split("\n", 1)[1]), \
            (p.stdout, q.stdout)
    p = run("--dump", "-", pki.cert("polycom-valid"), stdin=text)
    assert p.returncode == LET_IN, p
    # a dump cut short, or of another version, is refused
    (tmp_path / "cut").write_text(text[: len(text) // 2])
    p = run("--dump", tmp_path / "cut", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and p.stdout == ""
    (tmp_path / "v2").write_text(text.replace("devprov-dump 1", "devprov-dump 2"))
    p = run("--dump", tmp_path / "v2", pki.cert("polycom-valid"))
    assert p.returncode == ERROR and "not a devprov dump" in p.stderr


def vhosts_of_httpd(conf, *args):
    """The virtual hosts as core's -D DUMP_VHOSTS lists them: file:line of
    each <VirtualHost>."""
    p = subprocess.run([APACHE2, "-t", "-D", "DUMP_VHOSTS", *map(str, args),
                        "-f", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"^\S+\s+\S+ \((.+:\d+)\)$", p.stdout, re.M)
               + re.findall(r"^\s+(?:default server|port \d+ namevhost) "
                            r"\S+ \((.+:\d+)\)$", p.stdout, re.M))


def check_dump_agrees(conf, cert, *args):
    """The dump lists every virtual host of CONF, and devprov-check -f
    reports each one's settings as the dump says them."""
    _, servers = dump_of(conf, *args)
    assert servers[0]["server"][2] == "0"            # the main server first
    vhosts = servers[1:]
    assert all(s["server"][2] == "1" for s in vhosts)
    assert {f"{unesc(s['server'][3])}:{s['server'][4]}" for s in vhosts} \
        == vhosts_of_httpd(conf, *args)
    for s in vhosts:
        where = f"{unesc(s['server'][3])}:{s['server'][4]}"
        addr = s["addr"][0]
        p = run(*args, "-f", conf, "--vhost",
                f"{unesc(addr[0])}:{addr[1]}" if addr[1] != "0"
                else unesc(s["server"][1]), cert)
        if p.returncode == ERROR and "several" in p.stderr:
            # two with the same address: by its ServerName
            p = run(*args, "-f", conf, "--vhost", unesc(s["server"][1]), cert)
        assert p.returncode in (LET_IN, REFUSED), (where, p)
        assert f" at {where}" in p.stdout.splitlines()[0], (where, p.stdout)
        engine = s["engine"][0][0]
        assert re.search(r"^  DevprovEngine +%s$" % ("on" if engine == "on"
                                                       else "off"),
                         p.stdout, re.M), (where, p.stdout)
        deny = s["deny"][0][0]
        assert re.search(r"^  DevprovDeny +%s$" % (deny if deny != "unset"
                                                     else "off"),
                         p.stdout, re.M), (where, p.stdout)
        vendors = [v[0] for v in s.get("vendor", [])]
        assert re.findall(r"^  vendor (\S+)", p.stdout, re.M) == vendors
        for v in s.get("vendor", []):
            cas = len([c for c in s.get("ca", []) if c[0] == v[0]])
            m = re.search(r"^  vendor %s +(\d+) root\(s\), (\d+) issuing"
                          % re.escape(v[0]), p.stdout, re.M)
            assert int(m.group(1)) + int(m.group(2)) == cas, (where, v)
            assert (f"security level {v[2]}," in p.stdout), (where, v)
        if "allowlist" in s:
            assert f"  allowlist      {unesc(s['allowlist'][0][0])} (" \
                in p.stdout, (where, p.stdout)
        elif "allowlist-sql" in s:
            assert "DevprovAllowlistSQL" in p.stdout
        else:
            assert re.search(r"^  allowlist +none$", p.stdout, re.M)
        if "revoked" in s:
            assert f"  revoked        {unesc(s['revoked'][0][0])} (" \
                in p.stdout
        keys = len(s.get("denykey", []))
        assert f"{keys} configured" in p.stdout, (where, p.stdout)
    return servers


def test_dump_agrees_on_every_vhost_site(site, pki):
    servers = check_dump_agrees(site / "apache2.conf", pki.cert("polycom-valid"),
                                "-d", site)
    assert len(servers) == 3


def test_dump_agrees_on_every_vhost_macro(tmp_path, pki, lists):
    servers = check_dump_agrees(wrap(macro_conf(tmp_path, pki, lists)),
                                pki.cert("polycom-valid"))
    assert len(servers) == 3


def test_dump_agrees_on_every_vhost_server(srv_cli):
    servers = check_dump_agrees(srv_cli.dir / "httpd.conf",
                                srv_cli.pki.cert("polycom-valid"))
    assert len(servers) == 6
