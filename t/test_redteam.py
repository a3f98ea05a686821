"""Red team: a hardened production phone port (no CA in mod_ssl, so every
certificate reaches devprov; DevprovDeny unlisted; DevprovBindPath on; a
generic firmware key denied) attacked with hostile certificates and paths.

Every MAC a hostile certificate claims is in the allowlist, so a refusal
can never be explained by "not listed": each test asserts the 403 AND
exactly one new "devprov: refused" line naming the right reason."""
import re

import pytest

from conftest import (HANDSHAKE_FAIL_LOG, handshake_refuses,
                      make_server_fixture, write_allowlist)
from test_devprov import trust

VALID, VALID_MAC = "polycom-valid", "0004f2000001"
EXPIRED, EXPIRED_MAC = "polycom-expired", "0004f2000002"
YEALINK, YEALINK_MAC = "yealink-valid", "001565000062"
GENERIC = "polycom-generic"      # plays generic firmware: 0004f2000012

ALLOW = [
    "# hardened production allowlist",
    f"{VALID_MAC} lobby vendor=polycom",
    f"{EXPIRED_MAC} expired-desk vendor=polycom",
    "0004f2000012 generic-fw vendor=polycom",
    # certificates that must not make a phone although the vendor's root
    # signed their chain (t/test_trust.py has the same cases in detail)
    "0004f2000003 from-the-future vendor=polycom",
    "0004f2000004 under-leaked-ca vendor=polycom",
    "0004f2000021 via-unlisted-sub-ca vendor=polycom",
    "0004f2000022 ca-true vendor=polycom",
    "0004f2000023 minted-by-ca-true vendor=polycom",
    "0004f2000024 keycertsign vendor=polycom",
    "0004f2000025 after-ca-expired vendor=polycom",
    "0004f2000026 inverted vendor=polycom",
    f"{YEALINK_MAC} yealink-desk vendor=yealink",
    # MACs the hostile certificates claim (the rogue and look-alike ones
    # copy 0004f2000001/2, listed above)
    "0004f2000008 multi-cn-a",
    "0004f2000009 multi-cn-b",
    "0004f2000010 evil-newline",
    "0004f2000011 evil-quote",
]

FILE_MACS = [VALID_MAC, EXPIRED_MAC, YEALINK_MAC]


def redteam_body(srv, pki):
    allow = write_allowlist(srv.dir / "allowlist", ALLOW)
    files = srv.dir / "files"
    files.mkdir()
    files.chmod(0o755)
    for mac in FILE_MACS:
        p = files / f"{mac}.cfg"
        p.write_text(f"file {mac}\n")
        p.chmod(0o644)
    yealink_trust = f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n"
    hardened = (f"DevprovAllowlist {allow}\n"
                "DevprovDeny unlisted\n"
                "DevprovBindPath on\n"
                f"Alias /files {files}\n"
                f"<Directory {files}>\n  Require all granted\n</Directory>\n")
    return (
        srv.tls_vhost("prod", "DevprovEngine on\nLogLevel devprov:trace1\n"
                      + trust(pki)
                      + yealink_trust
                      + f"DevprovDenyKey {pki.cert(GENERIC)}\n" + hardened,
                      cafile=None)
        # a Yealink-only port with the same allowlist
        + srv.tls_vhost("yealink", "DevprovEngine on\n" + yealink_trust
                        + hardened, cafile=None)
        # the key of the retired issuing CA 2 leaked: denied at any depth
        + srv.tls_vhost("leaked", "DevprovEngine on\n" + trust(pki)
                        + f"DevprovDenyKey {pki / 'polycom/issuing-expired.pem'}\n"
                        + hardened, cafile=None))


srv_redteam = make_server_fixture("srv_redteam", redteam_body)

DENIED = re.compile(r"^.*devprov: refused.*$", re.M)


def one_denial(srv, res, fragment):
    """The request was refused and exactly one denial names fragment."""
    assert res.status == 403, res
    lines = DENIED.findall(srv.new_log())
    assert len(lines) == 1, lines
    assert "[devprov:info]" in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    return lines[0]


def no_denial(srv):
    assert DENIED.findall(srv.new_log()) == []


def refused_in_handshake(srv, res, device):
    """Stock mode: mod_ssl refuses DEVICE before devprov sees a request
    (conftest.handshake_refuses); True if it did, as it must."""
    if not handshake_refuses(device):
        return False
    assert res.handshake_failed, res
    no_denial(srv)
    return True


UNLISTED = 'by=DevprovDeny:unlisted detail="'
BINDPATH = 'by=DevprovBindPath detail="'
NOT_VERIFIED = UNLISTED + "certificate not verified: "


# -- certificates that chain to nothing we trust ----------------------------

@pytest.mark.parametrize("device,reason", [
    ("rogue-polycom", "unable to get local issuer certificate"),
    ("rogue-expired", "unable to get local issuer certificate"),
    ("lookalike-polycom", "unable to get local issuer certificate"),
    ("polycom-forged", "certificate signature failure"),
    ("polycom-selfsigned", "self-signed certificate"),   # not pinned
])
def test_untrusted_certificate_refused(srv_redteam, expect_log, device,
                                      reason):
    expect_log(HANDSHAKE_FAIL_LOG if handshake_refuses(device) else [])
    res = srv_redteam.curl("prod", "/env.php", device)
    if refused_in_handshake(srv_redteam, res, device):
        return
    line = one_denial(srv_redteam, res, NOT_VERIFIED + reason)
    # the MAC the certificate claims is never reported as the device's
    assert "device is" not in line


@pytest.mark.parametrize("device", ["rogue-polycom", "lookalike-polycom"])
def test_untrusted_certificate_sending_chain_refused(srv_redteam, device):
    """Sending the (rogue / look-alike) chain along changes nothing."""
    res = srv_redteam.curl("prod", "/env.php", device, chain=True)
    one_denial(srv_redteam, res, NOT_VERIFIED)


def test_forged_certificate_sending_chain_fails_the_handshake(srv_redteam):
    """With the real issuing CA sent along, mod_ssl itself sees the bad
    signature (not an error optional_no_ca tolerates) and aborts the
    handshake: no request, so no devprov denial either."""
    res = srv_redteam.curl("prod", "/env.php", "polycom-forged", chain=True)
    assert res.handshake_failed, res
    assert "file " not in res.body
    no_denial(srv_redteam)


@pytest.mark.parametrize("device", ["rogue-polycom", "lookalike-polycom",
                                    "polycom-forged"])
def test_untrusted_certificate_asking_for_victims_file(srv_redteam,
                                                      expect_log, device):
    """A forgery claiming 0004f2000001 asks for that phone's file: refused
    once, and never served."""
    expect_log(HANDSHAKE_FAIL_LOG if handshake_refuses(device) else [])
    res = srv_redteam.curl("prod", f"/files/{VALID_MAC}.cfg", device)
    if refused_in_handshake(srv_redteam, res, device):
        return
    # DevprovDeny refuses it first; DevprovBindPath does not log it again
    one_denial(srv_redteam, res, NOT_VERIFIED)
    assert f"file {VALID_MAC}" not in res.body


# -- genuine certificates of another vendor ---------------------------------

def test_polycom_phone_on_yealink_only_port(srv_redteam):
    res = srv_redteam.curl("yealink", "/env.php", VALID)
    one_denial(srv_redteam, res,
               NOT_VERIFIED + "unable to get local issuer certificate")


def test_yealink_phone_asking_for_polycom_file(srv_redteam):
    res = srv_redteam.curl("prod", f"/files/{VALID_MAC}.cfg", YEALINK)
    one_denial(srv_redteam, res, BINDPATH + f"path names MAC {VALID_MAC}, "
               f"device is {YEALINK_MAC}")


def test_yealink_phone_gets_its_own_file(srv_redteam):
    res = srv_redteam.curl("prod", f"/files/{YEALINK_MAC}.cfg", YEALINK)
    assert res.status == 200, res
    assert res.body == f"file {YEALINK_MAC}\n"
    no_denial(srv_redteam)


# -- hostile subjects under the genuine vendor CA ---------------------------

@pytest.mark.parametrize("device,reason", [
    ("evil-cn-newline", "malformed certificate subject"),
    ("evil-cn-quote", "no MAC in certificate subject"),
    ("evil-cn-long", "no MAC in certificate subject"),
    ("multi-cn", "ambiguous MAC in certificate subject"),
])
def test_hostile_subject_refused(srv_redteam, device, reason):
    res = srv_redteam.curl("prod", "/env.php", device)
    line = one_denial(srv_redteam, res, UNLISTED + reason)
    # nothing of the subject leaks into the log line
    assert "X-Injected" not in line and "rm -rf" not in line
    for mac in ("0004f2000008", "0004f2000009", "0004f2000010",
                "0004f2000011"):
        assert mac not in line.lower()


# -- generic firmware certificate --------------------------------------------

@pytest.mark.parametrize("path", ["/env.php", "/files/0004f2000012.cfg"])
def test_generic_certificate_refused(srv_redteam, path):
    res = srv_redteam.curl("prod", path, GENERIC)
    one_denial(srv_redteam, res, UNLISTED + "generic certificate: its "
               "private key is public (DevprovDenyKey)")


# -- CA certificates the phone sends, and CA certificates as phones ----------
# (issue 13: before, OpenSSL built the chain through whatever CA:TRUE
# certificate the client sent, if the vendor root had signed it)

@pytest.mark.parametrize("device,reason", [
    # a sub-CA the Polycom root signed, configured nowhere
    ("polycom-via-unlisted-sub", NOT_VERIFIED + "unable to get local issuer "
                                 "certificate"),
    # a "phone" signed by a phone certificate mis-issued with CA:TRUE
    ("polycom-minted-by-phone", NOT_VERIFIED + "unable to get local issuer "
                                "certificate"),
    # that CA:TRUE certificate itself, and one with keyCertSign
    ("polycom-ca-true", UNLISTED + "a CA certificate (CA:TRUE or "
                       "keyCertSign), not a phone's"),
    ("polycom-keycertsign", UNLISTED + "a CA certificate (CA:TRUE or "
                           "keyCertSign), not a phone's"),
])
@pytest.mark.parametrize("chain", [True, False], ids=["sends-chain", "leaf"])
def test_ca_certificates_mint_no_phones(srv_redteam, device, reason, chain):
    res = srv_redteam.curl("prod", "/env.php", device, chain=chain)
    line = one_denial(srv_redteam, res, reason)
    assert "device is" not in line


@pytest.mark.parametrize("device", ["polycom-via-unlisted-sub",
                                    "polycom-minted-by-phone"])
def test_minted_phone_asking_for_victims_file(srv_redteam, device):
    res = srv_redteam.curl("prod", f"/files/{VALID_MAC}.cfg", device,
                           chain=True)
    one_denial(srv_redteam, res, NOT_VERIFIED)
    assert f"file {VALID_MAC}" not in res.body


def test_leaked_ca_key_refuses_its_phones(srv_redteam):
    """A denied key at depth 1: every phone under that CA is refused,
    phones under the other issuing CA are not."""
    res = srv_redteam.curl("leaked", "/env.php", "polycom-under-expired-ca")
    one_denial(srv_redteam, res, UNLISTED + "denied key (DevprovDenyKey) at "
               "depth 1: /CN=Polycom Equipment Issuing CA 2/O=Polycom Inc.")
    srv_redteam.mark()
    res = srv_redteam.curl("leaked", f"/files/{VALID_MAC}.cfg", VALID)
    assert res.status == 200 and res.body == f"file {VALID_MAC}\n", res
    no_denial(srv_redteam)


# -- time: never valid, and certificates from the future ---------------------

@pytest.mark.parametrize("device,reason", [
    # issued after its CA expired: there was no moment the chain was valid
    ("polycom-after-ca-expired", "chain never valid: notBefore at depth 0 "
                                 "is not before notAfter at depth 1"),
    ("polycom-inverted", "chain never valid: notBefore at depth 0 is not "
                         "before notAfter at depth 0"),
    # not valid before next month: refused without the vendor's opt-in
    ("polycom-notyet", "not yet valid (depth 0, from "),
])
def test_chain_not_valid_by_its_dates_refused(srv_redteam, device, reason):
    res = srv_redteam.curl("prod", f"/files/{srv_redteam.pki.mac(device)}"
                           ".cfg", device)
    line = one_denial(srv_redteam, res, UNLISTED + reason)
    if device == "polycom-notyet":
        assert line.split(UNLISTED)[1].startswith(
            reason + srv_redteam.pki.manifest["devices"][device][
                "not_before"] + "): DevprovAcceptNotYetValid polycom off"), \
            line


# -- no certificate -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/env.php", f"/files/{VALID_MAC}.cfg"])
def test_no_certificate_refused(srv_redteam, path):
    res = srv_redteam.curl("prod", path)
    # on a per-MAC path too: DevprovDeny refuses first, logged once
    one_denial(srv_redteam, res, UNLISTED + "no client certificate")
    assert f"file {VALID_MAC}" not in res.body


# -- a genuine, listed phone asking for another phone's file ----------------

OTHER_SPELLINGS = [
    f"/files/{VALID_MAC.upper()}.cfg",
    f"/files/%30{VALID_MAC[1:]}.cfg",
    f"/files/%2530{VALID_MAC[1:]}.cfg",
    f"//files//{VALID_MAC}.cfg",
    f"/files/x/../{VALID_MAC}.cfg",
    f"/files/{EXPIRED_MAC}/../{VALID_MAC}.cfg",
    "/files/00:04:F2:00:00:01.cfg",
    "/files/00-04-f2-00-00-01.cfg",
    "/files/0004.f200.0001.cfg",
]


@pytest.mark.parametrize("path", OTHER_SPELLINGS)
def test_expired_phone_cannot_read_other_phones_file(srv_redteam, path):
    res = srv_redteam.curl("prod", path, EXPIRED, extra=["--path-as-is"])
    one_denial(srv_redteam, res, BINDPATH + f"path names MAC {VALID_MAC}, "
               f"device is {EXPIRED_MAC}")
    assert f"file {VALID_MAC}" not in res.body


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_valid_phone_cannot_write_other_phones_file(srv_redteam, method):
    res = srv_redteam.curl("prod", f"/files/{EXPIRED_MAC}-app.log", VALID,
                           extra=["-X", method, "--data-binary", "hello"])
    one_denial(srv_redteam, res, BINDPATH + f"path names MAC {EXPIRED_MAC}, "
               f"device is {VALID_MAC}")


# -- controls -----------------------------------------------------------------

@pytest.mark.parametrize("path,status", [
    (f"/files/{EXPIRED_MAC}.cfg", 200),
    (f"//files/./{EXPIRED_MAC}.cfg", 200),
    # its own MAC in upper case passes the check (the file system then
    # has no such name)
    (f"/files/{EXPIRED_MAC.upper()}.cfg", 404),
])
def test_expired_genuine_phone_gets_its_own_file(srv_redteam, path, status):
    res = srv_redteam.curl("prod", path, EXPIRED, extra=["--path-as-is"])
    assert res.status == status, res
    if status == 200:
        assert res.body == f"file {EXPIRED_MAC}\n"
    no_denial(srv_redteam)


def test_expired_genuine_phone_is_a_listed_device(srv_redteam):
    res = srv_redteam.curl("prod", "/env.php", EXPIRED)
    assert res.status == 200, res
    e = res.json
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == EXPIRED_MAC
    assert e["DEVICE_CERT_VALIDITY"] == "expired"
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert e["DEVICE_LABEL"] == "expired-desk"
    no_denial(srv_redteam)


# -- the identity cache ------------------------------------------------------

def test_identity_cache_never_serves_another_certificate(srv_redteam):
    """A genuine phone's identity is kept for its next connections, by
    the exact bytes of its certificate: the rogue, look-alike and forged
    certificates that claim the same MAC right after it are judged on
    their own, the cached answer keeps the expiry, and a second
    connection of the genuine phone is answered from the cache."""
    def cached_lines():
        return srv_redteam.new_log().count(
            "identity of this certificate from the cache")

    for _ in range(2):
        res = srv_redteam.curl("prod", "/env.php", VALID)
        assert res.status == 200, res
    assert cached_lines() >= 1
    for device in ("rogue-polycom", "lookalike-polycom", "polycom-forged"):
        srv_redteam.mark()
        srv_redteam.expected.extend(HANDSHAKE_FAIL_LOG
                                    if handshake_refuses(device) else [])
        res = srv_redteam.curl("prod", "/env.php", device)
        if not refused_in_handshake(srv_redteam, res, device):
            one_denial(srv_redteam, res, NOT_VERIFIED)
    srv_redteam.mark()
    for _ in range(2):
        e = srv_redteam.curl("prod", "/env.php", EXPIRED).json
        assert e["DEVICE_MAC"] == EXPIRED_MAC
        assert e["DEVICE_CERT_EXPIRED"] == "1"
        assert e["DEVICE_CERT_SHA256"]
    assert cached_lines() >= 1
