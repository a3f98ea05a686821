"""Interoperability: the TLS stacks desk phones run, against devprov.

Phones do not run curl.  Each stack here is a real client of its own:
OpenSSL (openssl s_client), GnuTLS (gnutls-cli), mbedTLS, wolfSSL (the C
clients t/interop/*_client.c) and Java's JSSE (t/interop/JsseClient.java),
as Debian 12 builds them (make interop builds the last three into
build/interop/).  Each presents a phone's certificate and key, trusts the
test server CA only, checks the server's name and sends GET ... HTTP/1.1.

For every stack:
  (a) a genuine phone with an EXPIRED certificate is provisioned on an
      ordinary devprov vhost, over TLS 1.2 and over TLS 1.3;
  (b) a Cisco SPA (TLS 1.0, RSA-1024, MD5-signed and expired) is
      provisioned on the legacy vhost of t/test_legacy.py, over TLS 1.0;
  (c) a rogue certificate (a listed phone's subject, signed by a CA that
      is not the vendor's) is refused: 403 from DevprovDeny, or in the
      handshake where this mode's mod_ssl refuses it
      (conftest.handshake_refuses).
Where a stack as Debian builds it cannot do what the phone does, the test
asserts that stack's own refusal (and what it takes), and the matrix says
so.  The matrix each run saw, with the library versions, is written to
build/interop/matrix-<mode>.md; doc/interop.md records it.
"""
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BUILD, HANDSHAKE_FAIL_LOG, ROOT, SSL_MODE,
                      handshake_refuses, make_server_fixture)
from test_devprov import trust
from test_legacy import cisco_trust

INTEROP = BUILD / "interop"
STACKS = ("openssl", "gnutls", "mbedtls", "wolfssl", "jsse")

EXPIRED = "polycom-expired"          # genuine Polycom phone, leaf expired
LEGACY = "cisco-md5"                 # SPA: RSA-1024, MD5, expired
LEGACY_MAC = "000e08abcdef"
ROGUE = "rogue-expired"              # 0004F2000002's subject, rogue CA
DENIAL = ('by=DevprovDeny:unverified detail="certificate not '
          'verified: unable to get local issuer certificate')


def body(srv, pki):
    return (
        # an ordinary devprov vhost: mod_ssl's defaults, Polycom's CAs
        srv.tls_vhost("normal", "DevprovEngine on\n" + trust(pki))
        # the documented legacy vhost (as t/test_legacy.py's "legacy")
        + srv.tls_vhost("legacy",
                        "SSLProtocol all\n"
                        "SSLCipherSuite DEFAULT@SECLEVEL=0\n"
                        + cisco_trust(pki)
                        + "DevprovSecurityLevel cisco-spa 0\n",
                        cafile="cisco/cafile.pem")
        # a production port: no CA in mod_ssl, unverified devices denied
        + srv.tls_vhost("deny", "DevprovEngine on\n" + trust(pki)
                        + "DevprovDeny unverified\n", cafile=None))


srv_interop = make_server_fixture("srv_interop", body)


# -- the stacks ---------------------------------------------------------

# what a stack needs: a file or command, and the Debian package with it
# (scripts/install-deps.sh installs them all)
NEEDS = {
    "openssl": ("openssl", "openssl"),
    "gnutls": ("gnutls-cli", "gnutls-bin"),
    "mbedtls": ("/usr/include/mbedtls/ssl.h", "libmbedtls-dev"),
    "wolfssl": ("/usr/include/wolfssl/ssl.h", "libwolfssl-dev"),
    "jsse": ("javac", "default-jdk-headless"),
}
TARGETS = {"mbedtls": "mbedtls_client", "wolfssl": "wolfssl_client",
           "jsse": "JsseClient.class"}
_built = {}


def need(stack):
    """Skip (with the reason) if STACK's library is not installed; in CI,
    which installs them (scripts/install-deps.sh), fail instead.  Builds
    the stack's client (make interop) once."""
    what, pkg = NEEDS[stack]
    have = Path(what).exists() if what.startswith("/") else shutil.which(what)
    if not have:
        reason = f"{stack}: no {what} (Debian package {pkg}; make deps)"
        if os.environ.get("CI"):
            pytest.fail(reason + ", and CI must run every stack")
        pytest.skip(reason)
    if stack in TARGETS and stack not in _built:
        p = subprocess.run(["make", "-s", "-C", str(ROOT), f"BUILD={BUILD}",
                            f"{INTEROP}/{TARGETS[stack]}"],
                           capture_output=True, text=True, timeout=300)
        _built[stack] = p
    if stack in _built:
        p = _built[stack]
        assert p.returncode == 0, f"make interop ({stack}): {p.stdout}{p.stderr}"


class Outcome:
    def __init__(self, rc, out, stderr, proto, library, raw_http=False):
        """OUT: what the client printed (bytes): the raw HTTP response
        (RAW_HTTP: s_client, gnutls-cli) or, from the clients of
        t/interop/, the status line and the body."""
        self.rc, self.stderr = rc, stderr
        self.proto = proto                # "1.0", "1.2", "1.3" or None
        self.library = library            # as the stack reported it
        if raw_http:
            self.status, self.body = parse_http(out)
        else:
            line, _, body = out.decode(errors="replace").partition("\n")
            m = re.fullmatch(r"HTTP/1\.\d (\d{3}).*", line)
            self.status = int(m.group(1)) if m else 0
            self.body = body if m else ""

    @property
    def json(self):
        return json.loads(self.body.strip().splitlines()[-1])

    def __repr__(self):
        return (f"Outcome(rc={self.rc}, status={self.status}, proto="
                f"{self.proto}, body={self.body[:300]!r}, "
                f"stderr={self.stderr[-600:]!r})")


def parse_http(raw):
    """(status, body) of the HTTP response in RAW (bytes), chunked coding
    undone, what follows the body cut off; (0, "") if there is none."""
    m = re.search(rb"HTTP/1\.\d (\d{3})[^\r\n]*\r?\n", raw)
    if not m:
        return 0, ""
    status = int(m.group(1))
    head, sep, rest = raw[m.start():].partition(b"\r\n\r\n")
    if not sep:
        return status, ""
    if not re.search(rb"(?im)^transfer-encoding:.*chunked", head):
        # Apache sends a Content-Length when it has the whole body at once
        # (CGI output), chunks otherwise; gnutls-cli prints its own lines
        # ("- Peer has closed the GnuTLS connection") after the data
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if m:
            rest = rest[:int(m.group(1))]
        return status, rest.decode(errors="replace")
    out = b""
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out, rest = out + rest[:n], rest[n + 2:]
    return status, out.decode(errors="replace")


def short_proto(text):
    """'TLSv1.2', 'TLS1.2', 'TLSv1' -> '1.2', '1.2', '1.0'."""
    m = re.search(r"\bTLSv?(1(?:\.[0-3])?)\b", text or "")
    if not m:
        return None
    return m.group(1) if "." in m.group(1) else "1.0"


def tool_version(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return (p.stdout or p.stderr).splitlines()[0].strip()


REQUEST = ("GET {path} HTTP/1.1\r\nHost: localhost\r\n"
           "Connection: close\r\n\r\n")


def connect(stack, port, pki, device, tls=None, path="/env.php",
            java_security=None, legacy_client=False):
    """One request by STACK as the phone DEVICE.  TLS: pin the version
    ("1.0", "1.2", "1.3") or the stack's default.  LEGACY_CLIENT: the
    stack's own knob for weak keys and signatures (OpenSSL's
    @SECLEVEL=0).  JAVA_SECURITY: a java.security override file."""
    ca = str(pki / "server/ca.pem")
    cert, key = str(pki.cert(device)), str(pki.key(device))
    req = REQUEST.format(path=path).encode()
    if stack == "openssl":
        cmd = ["openssl", "s_client", "-brief", "-ign_eof",
               "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
               "-verify_hostname", "localhost", "-verify_return_error",
               "-CAfile", ca, "-cert", cert, "-key", key]
        if tls:
            cmd.append({"1.0": "-tls1", "1.2": "-tls1_2",
                        "1.3": "-tls1_3"}[tls])
        if legacy_client:
            cmd += ["-cipher", "DEFAULT@SECLEVEL=0"]
        p = subprocess.run(cmd, input=req, capture_output=True, timeout=30)
        err = p.stderr.decode(errors="replace")
        m = re.search(r"^Protocol version: (\S+)", err, re.M)
        return Outcome(p.returncode, p.stdout, err,
                       short_proto(m and m.group(1)),
                       " ".join(tool_version(["openssl", "version"])
                                .split()[:2]), raw_http=True)
    if stack == "gnutls":
        prio = "NORMAL"
        if tls:
            prio += ":-VERS-ALL:+VERS-TLS" + tls
        cmd = ["gnutls-cli", "127.0.0.1", "-p", str(port),
               "--sni-hostname", "localhost", "--verify-hostname",
               "localhost", "--x509cafile", ca, "--x509certfile", cert,
               "--x509keyfile", key, "--priority", prio]
        p = subprocess.run(cmd, input=req, capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        m = re.search(r"^- Description: \((TLS[0-9.]+)", out, re.M)
        return Outcome(p.returncode, p.stdout,
                       p.stderr.decode(errors="replace") + out[-2000:],
                       short_proto(m and m.group(1)),
                       tool_version(["gnutls-cli", "--version"]),
                       raw_http=True)
    if stack == "jsse":
        cmd = ["java"]
        if java_security:
            cmd.append(f"-Djava.security.properties={java_security}")
        cmd += ["-cp", str(INTEROP), "JsseClient"]
    else:
        cmd = [str(INTEROP / TARGETS[stack])]
    if tls:
        cmd += ["-t", tls]
    cmd += ["-C", ca, "-c", cert, "-k", key, str(port), path]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    lib = re.search(r"^interop: library (.*)$", err, re.M)
    tls_line = re.search(r"^interop: tls (\S+)", err, re.M)
    return Outcome(p.returncode, p.stdout, err,
                   short_proto(tls_line and tls_line.group(1)),
                   lib and lib.group(1))


# -- the matrix this run saw (build/interop/matrix-<mode>.md) ------------

MATRIX = []


def record(stack, case, tls, o, result):
    MATRIX.append((stack, o.library or "", case, tls or "default",
                   o.proto or "-", result))


@pytest.fixture(scope="module", autouse=True)
def _write_matrix():
    yield
    if not MATRIX:
        return
    INTEROP.mkdir(parents=True, exist_ok=True)
    lines = [f"# interop matrix, {SSL_MODE} mode "
             f"({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})",
             "", "| stack | library | case | TLS asked | TLS negotiated "
             "| result |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in MATRIX]
    (INTEROP / f"matrix-{SSL_MODE}.md").write_text("\n".join(lines) + "\n")


def provisioned(o, mac, vendor, tls):
    assert o.status == 200, o
    assert o.proto == tls, o
    e = o.json
    assert e["DEVICE_VERIFIED"] == "1", e
    assert e["DEVICE_MAC"] == mac, e
    assert e["DEVICE_VENDOR"] == vendor, e
    assert e["DEVICE_CERT_VALIDITY"] == "expired", e
    assert e["DEVICE_CERT_EXPIRED"] == "1", e
    assert "DEVICE_REASON" not in e, e
    return e


# -- (a) an expired genuine phone, TLS 1.2 and 1.3 -------------------------

# what a stack, as Debian 12 builds it, cannot do: (TLS, the stack's own
# words for it)
CANNOT = {
    ("mbedtls", "1.3"): "TLS 1.3 is not in this build "
                        "(MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL is not "
                        "enabled)",
    ("wolfssl", "1.0"): "TLS 1.0 is not in this build "
                        "(no WOLFSSL_ALLOW_TLSV10)",
}


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
@pytest.mark.parametrize("stack", STACKS)
def test_expired_phone_is_provisioned(srv_interop, pki, stack, tls):
    need(stack)
    o = connect(stack, srv_interop.port("normal"), pki, EXPIRED, tls=tls)
    if (stack, tls) in CANNOT:
        # the library itself says so (mbedtls_version_check_feature): the
        # client refuses before connecting, exit status 4
        assert o.rc == 4 and CANNOT[stack, tls] in o.stderr, o
        assert o.status == 0
        record(stack, "expired phone", tls, o,
               "cannot: " + CANNOT[stack, tls])
        return
    provisioned(o, pki.mac(EXPIRED), "polycom", tls)
    record(stack, "expired phone", tls, o,
           "200, verified, validity=expired")


# -- (b) a Cisco SPA on the legacy vhost, TLS 1.0 ---------------------------

def java_legacy_policy(path):
    """The JDK's own java.security jdk.tls.disabledAlgorithms with TLSv1
    taken out (nothing else: the phone's MD5-signed RSA-1024 certificate
    needs no more), as a -Djava.security.properties file."""
    p = subprocess.run(["java", "-XshowSettings:properties", "-version"],
                       capture_output=True, text=True)
    home = re.search(r"^\s*java\.home = (.+)$", p.stderr, re.M).group(1)
    text = (Path(home) / "conf/security/java.security").read_text()
    text = re.sub(r"\\\n\s*", "", text)          # continuation lines
    value = re.search(r"^jdk\.tls\.disabledAlgorithms=(.*)$", text,
                      re.M).group(1)
    algs = [a.strip() for a in value.split(",")]
    assert "TLSv1" in algs, algs
    path.write_text("jdk.tls.disabledAlgorithms="
                    + ", ".join(a for a in algs if a != "TLSv1") + "\n")
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_legacy_phone_over_tls10(srv_interop, pki, stack, tmp_path):
    need(stack)
    port = srv_interop.port("legacy")
    if (stack, "1.0") in CANNOT:
        o = connect(stack, port, pki, LEGACY, tls="1.0")
        assert o.rc == 4 and CANNOT[stack, "1.0"] in o.stderr, o
        assert "Bad function argument" in o.stderr, o
        record(stack, "SPA (RSA-1024, MD5)", "1.0", o,
               "cannot: " + CANNOT[stack, "1.0"])
        # the weak certificate itself is no obstacle: the same phone over
        # TLS 1.2 on the same vhost is provisioned
        o = connect(stack, port, pki, LEGACY, tls="1.2")
        provisioned(o, LEGACY_MAC, "cisco-spa", "1.2")
        record(stack, "SPA (RSA-1024, MD5)", "1.2", o,
               "200, verified, validity=expired (the certificate loads; "
               "only TLS 1.0 is missing)")
        return
    java_security = None
    if stack == "jsse":
        # the JDK's default policy disables TLSv1: refused before a byte
        # is sent
        o = connect(stack, port, pki, LEGACY, tls="1.0")
        assert o.rc == 1 and o.status == 0, o
        assert "No appropriate protocol (protocol is disabled" in o.stderr, o
        record(stack, "SPA (RSA-1024, MD5)", "1.0", o,
               "refused by the JDK's default policy (jdk.tls."
               "disabledAlgorithms has TLSv1)")
        java_security = java_legacy_policy(tmp_path / "legacy.security")
    o = connect(stack, port, pki, LEGACY, tls="1.0",
                legacy_client=(stack == "openssl"),
                java_security=java_security)
    provisioned(o, LEGACY_MAC, "cisco-spa", "1.0")
    how = {"openssl": " (client at -cipher DEFAULT@SECLEVEL=0: OpenSSL 3 "
                      "will not load the RSA-1024 key otherwise)",
           "jsse": " (policy lowered: TLSv1 taken out of "
                   "jdk.tls.disabledAlgorithms)"}.get(stack, "")
    record(stack, "SPA (RSA-1024, MD5)", "1.0", o,
           "200, verified, validity=expired" + how)


def test_openssl_client_needs_its_level_lowered(srv_interop, pki):
    """OpenSSL's side of (b): at Debian's default level 2 the client
    itself refuses the phone's RSA-1024 key."""
    need("openssl")
    o = connect("openssl", srv_interop.port("legacy"), pki, LEGACY,
                tls="1.0")
    assert o.status == 0 and o.rc != 0, o
    assert "ee key too small" in o.stderr, o


# -- (c) a rogue certificate ----------------------------------------------

def wait_denials(srv, timeout=3):
    deadline = time.time() + timeout
    while True:
        lines = re.findall(r"^.*devprov: refused.*$", srv.new_log(), re.M)
        if lines or time.time() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize("stack", STACKS)
def test_rogue_certificate_is_refused(srv_interop, pki, stack, expect_log):
    need(stack)
    refused_in_handshake = handshake_refuses(ROGUE)
    expect_log(HANDSHAKE_FAIL_LOG if refused_in_handshake else [])
    # the stack's default version: what a phone with that stack would use
    o = connect(stack, srv_interop.port("deny"), pki, ROGUE)
    if refused_in_handshake:
        # stock mode: mod_ssl refuses the expired chain that does not
        # verify (TLS 1.3: the client learns it on its first read)
        assert o.status == 0 and o.rc != 0, o
        assert wait_denials(srv_interop, timeout=0.3) == []
        record(stack, "rogue CA", None, o, "refused in the handshake")
        return
    assert o.status == 403, o
    lines = wait_denials(srv_interop)
    assert len(lines) == 1 and DENIAL in lines[0], lines
    # the MAC the certificate claims is never reported as the device's
    assert "device is" not in lines[0]
    record(stack, "rogue CA", None, o, "403 (DevprovDeny unverified)")
