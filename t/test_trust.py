"""Trust exactly as configured (issue 13): every DevprovTrust certificate is
an anchor and nothing else is; what the phone sends beside its leaf never
helps; a CA certificate is not a phone; DevprovDenyKey covers the whole
verified chain; a chain is verified as of the latest moment at which all
of it was valid, so a chain that never was valid is refused and a not yet
valid one only with DevprovAcceptNotYetValid.

Each case: the variables a page sees (php-cgi, as JSON) on a vhost that
only reports, and on a twin with DevprovDeny unverified the 403 with
exactly one "devprov: refused" line naming the reason.

The vhosts give mod_ssl no CA (patched mode: optional_no_ca lets every
certificate reach devprov); in stock mode conftest gives them every test
vendor's CAs (roots and issuing CAs), which holds every DevprovTrust
certificate below and the roots above them, as stock mode needs (mod_ssl
has no partial-chain verification, so even "anchor at the issuing CA"
needs root and issuing CA in SSLCACertificateFile for the handshake)."""
import re
import time

import pytest

from conftest import (HANDSHAKE_FAIL_LOG, SSL_PATCHED, Httpd, check_log,
                      fingerprint, make_server_fixture, write_allowlist)

POLY_ISS_1 = "/CN=Polycom Equipment Issuing CA 1/O=Polycom Inc."
POLY_ROOT = "/CN=Polycom Root CA/O=Polycom Inc."
NO_ISSUER = "certificate not verified: unable to get local issuer certificate"
A_CA = "a CA certificate (CA:TRUE or keyCertSign), not a phone's"
# patched mode: no CA in mod_ssl; stock mode: the handshake's CA file
OLDROOT_CAFILE = None if SSL_PATCHED else "polycom-oldroot/cafile.pem"
FUTURE_CAFILE = None if SSL_PATCHED else "polycom-future/cafile.pem"
DENIED = re.compile(r"^.*devprov: refused.*$", re.M)
UNVERIFIED = 'by=DevprovDeny:unverified detail="'


def full_trust(pki):
    """root, issuing CA 1, the expired issuing CA 2: all configured"""
    return (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
            f"{pki / 'polycom/issuing.pem'} "
            f"{pki / 'polycom/issuing-expired.pem'}\n")


def vhost_pair(srv, name, body, cafile=None):
    """NAME reports, NAME_deny refuses unverified clients."""
    body = "DevprovEngine on\n" + body
    return (srv.tls_vhost(name, body, cafile=cafile)
            + srv.tls_vhost(name + "_deny", body + "DevprovDeny unverified\n",
                            cafile=cafile))


def trust_body(srv, pki):
    full = full_trust(pki)
    future = (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
              f"{pki / 'polycom-future/issuing.pem'}\n")
    pins = write_allowlist(srv.dir / "pins", [
        f"0004f2000027 ss-notyet pin=sha256:"
        f"{fingerprint(pki, 'polycom-selfsigned-notyet')}",
        f"0004f2000028 ss-inverted pin=sha256:"
        f"{fingerprint(pki, 'polycom-selfsigned-inverted')}",
        "001565000062 yealink-desk vendor=yealink",
    ])
    return (
        vhost_pair(srv, "full", full)
        + vhost_pair(srv, "notyet_on",
                     full + "DevprovAcceptNotYetValid polycom on\n")
        # the issuing CA's key (depth 1) and the root's (depth 2) denied
        + vhost_pair(srv, "deny_issuing", full + "DevprovDenyKey "
                     f"{pki / 'polycom/issuing.pem'}\n")
        + vhost_pair(srv, "deny_root", full + "DevprovDenyKey "
                     f"{pki / 'polycom/root.pem'}\n")
        # an anchor at the issuing CA, no root configured
        + vhost_pair(srv, "issuing_only", "DevprovTrust polycom "
                     f"{pki / 'polycom/issuing.pem'}\n")
        # the root only: phones that send their issuing CA (migration)
        + vhost_pair(srv, "root_only", "DevprovTrust polycom "
                     f"{pki / 'polycom/root.pem'}\n")
        # a root that expired two years ago above a valid issuing CA (not
        # among the vendor CAs conftest gives stock mode: its own file)
        + vhost_pair(srv, "oldroot_full", "DevprovTrust polycom "
                     f"{pki / 'polycom-oldroot/root.pem'} "
                     f"{pki / 'polycom-oldroot/issuing.pem'}\n",
                     cafile=OLDROOT_CAFILE)
        + vhost_pair(srv, "oldroot_issuing", "DevprovTrust polycom "
                     f"{pki / 'polycom-oldroot/issuing.pem'}\n",
                     cafile=OLDROOT_CAFILE)
        # an issuing CA valid from ten days on
        + vhost_pair(srv, "future", future, cafile=FUTURE_CAFILE)
        + vhost_pair(srv, "future_on",
                     future + "DevprovAcceptNotYetValid polycom on\n",
                     cafile=FUTURE_CAFILE)
        + vhost_pair(srv, "pins", full + f"DevprovAllowlist {pins}\n")
        + vhost_pair(srv, "pins_on", full + f"DevprovAllowlist {pins}\n"
                     "DevprovAcceptNotYetValid polycom on\n")
        # the opt-in is per vendor: another vendor's does not count
        + vhost_pair(srv, "yealink_on", full + f"DevprovAllowlist {pins}\n"
                     f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n"
                     "DevprovAcceptNotYetValid yealink on\n"))


srv_trust = make_server_fixture("srv_trust", trust_body)


def handshake_refuses(device):
    """Does the handshake refuse DEVICE before devprov sees a request?
    Stock mode waives time errors only in chains that verify against
    SSLCACertificateFile: a self-signed certificate outside its validity
    is stock mod_ssl's refusal (as rogue-expired in conftest); the patched
    mod_ssl's optional_no_ca passes it on to devprov."""
    return not SSL_PATCHED and device in ("polycom-selfsigned-notyet",
                                          "polycom-selfsigned-inverted")


def env(res):
    assert res.status == 200, res
    return res.json


class Denials:
    """The "devprov: refused" lines SRV logs from now on (a test may ask
    several times; srv.mark() would also forget the expected lines)."""

    def __init__(self, srv):
        time.sleep(0.05)        # the last request's lines are written
        self.srv = srv
        self.pos = srv.error_log.stat().st_size

    def lines(self):
        time.sleep(0.05)
        with open(self.srv.error_log, "rb") as f:
            f.seek(self.pos)
            return DENIED.findall(f.read().decode(errors="replace"))


def unverified(srv, vhost, device, reason, chain=False, exact=True):
    """DEVICE is no device on VHOST, with REASON, and refused once with
    it on VHOST_deny.  Returns the variables (None if the handshake
    refused it, as it must then: handshake_refuses)."""
    denials = Denials(srv)
    if handshake_refuses(device):
        srv.expected.extend(HANDSHAKE_FAIL_LOG)
        for v in (vhost, vhost + "_deny"):
            res = srv.curl(v, "/env.php", device, chain=chain)
            assert res.handshake_failed, res
        assert denials.lines() == []
        return None
    e = env(srv.curl(vhost, "/env.php", device, chain=chain))
    assert e["DEVICE_VERIFIED"] == "0", e
    assert "DEVICE_MAC" not in e, e
    assert "DEVICE_PINNED" not in e, e
    if exact:
        assert e["DEVICE_REASON"] == reason, e
    else:
        assert reason in e["DEVICE_REASON"], e
    assert denials.lines() == []            # reporting refuses none
    res = srv.curl(vhost + "_deny", "/env.php", device, chain=chain)
    assert res.status == 403, res
    lines = denials.lines()
    assert len(lines) == 1, lines
    assert "[devprov:info]" in lines[0], lines[0]
    assert UNVERIFIED + (reason if exact else "") in lines[0], lines[0]
    assert reason in lines[0], lines[0]
    return e


def device(srv, vhost, dev, validity, chain=False):
    """DEV is a verified device on VHOST with VALIDITY, also let through
    by VHOST_deny, and nobody is refused."""
    denials = Denials(srv)
    e = env(srv.curl(vhost, "/env.php", dev, chain=chain))
    mac = srv.pki.mac(dev)
    assert e["DEVICE_VERIFIED"] == "1", e
    assert e["DEVICE_MAC"] == mac, e
    assert e["DEVICE_CERT_VALIDITY"] == validity, e
    assert e["DEVICE_CERT_EXPIRED"] == ("1" if validity == "expired"
                                        else "0"), e
    assert "DEVICE_REASON" not in e, e
    d = env(srv.curl(vhost + "_deny", "/env.php", dev, chain=chain))
    assert d["DEVICE_VERIFIED"] == "1" and d["DEVICE_MAC"] == mac, d
    assert denials.lines() == []
    return e


# -- what the phone sends never adds trust ------------------------------------

@pytest.mark.parametrize("chain", [True, False], ids=["sends-sub-ca", "leaf"])
def test_unconfigured_sub_ca_sent_by_the_phone(srv_trust, chain):
    """A sub-CA the Polycom root signed but nobody configured: the phone
    sends it along; it builds no chain."""
    unverified(srv_trust, "full", "polycom-via-unlisted-sub", NO_ISSUER,
               chain=chain)


def test_root_only_and_the_phone_sends_its_issuing_ca(srv_trust):
    """Migration: only the vendor root configured, the phone sends its
    issuing CA: no longer verified, until the issuing CA is listed."""
    for chain in (True, False):
        unverified(srv_trust, "root_only", "polycom-valid", NO_ISSUER,
                   chain=chain)
    device(srv_trust, "full", "polycom-valid", "valid", chain=True)


# -- a CA certificate is not a phone ------------------------------------------

@pytest.mark.parametrize("dev", ["polycom-ca-true", "polycom-keycertsign"])
def test_ca_certificate_is_not_a_phone(srv_trust, dev):
    """Issued by the configured issuing CA, with a MAC CN, but CA:TRUE
    (or keyCertSign): not a phone, whether it sends its chain or not."""
    for chain in (False, True):
        unverified(srv_trust, "full", dev, A_CA, chain=chain)


@pytest.mark.parametrize("chain", [True, False], ids=["sends-ca", "leaf"])
def test_phone_minted_by_a_ca_true_phone(srv_trust, chain):
    """A 'phone' the CA:TRUE phone certificate signed, sent with it: the
    sent certificate is no CA to devprov."""
    unverified(srv_trust, "full", "polycom-minted-by-phone", NO_ISSUER,
               chain=chain)


# -- DevprovDenyKey covers the whole chain -------------------------------------

@pytest.mark.parametrize("vhost,depth,subject", [
    ("deny_issuing", 1, POLY_ISS_1),
    ("deny_root", 2, POLY_ROOT),
])
@pytest.mark.parametrize("dev", ["polycom-valid", "polycom-expired"])
def test_deny_key_on_a_ca(srv_trust, vhost, depth, subject, dev):
    unverified(srv_trust, vhost, dev, f"denied key (DevprovDenyKey) at depth "
               f"{depth}: {subject}")


def test_deny_key_on_a_ca_spares_other_chains(srv_trust):
    # issuing CA 2 is not denied
    device(srv_trust, "deny_issuing", "polycom-under-expired-ca", "expired")
    # a vhost without the deny key
    device(srv_trust, "full", "polycom-valid", "valid")


# -- an anchor at an issuing CA -------------------------------------------------

@pytest.mark.parametrize("dev,validity", [("polycom-valid", "valid"),
                                          ("polycom-expired", "expired")])
@pytest.mark.parametrize("chain", [False, True], ids=["leaf", "sends-chain"])
def test_anchor_at_the_issuing_ca(srv_trust, dev, validity, chain):
    e = device(srv_trust, "issuing_only", dev, validity, chain=chain)
    assert e["DEVICE_VENDOR"] == "polycom"


def test_anchor_at_the_issuing_ca_only_that_ca(srv_trust):
    """The other issuing CA under the same root is not configured there."""
    unverified(srv_trust, "issuing_only", "polycom-under-expired-ca",
               NO_ISSUER)
    unverified(srv_trust, "issuing_only", "polycom-ca-true", A_CA)


def test_configured_root_above_the_issuing_ca_counts(srv_trust):
    """With the root configured the chain goes up to it, and the phone,
    issued after the root expired, was never valid with it; with only the
    issuing CA configured the chain ends there."""
    unverified(srv_trust, "oldroot_full", "polycom-under-old-root",
               "chain never valid: notBefore at depth 0 is not before "
               "notAfter at depth 2")
    device(srv_trust, "oldroot_issuing", "polycom-under-old-root", "valid")


# -- time: as of the latest moment the whole chain was valid -------------------

@pytest.mark.parametrize("dev,validity", [
    ("polycom-valid", "valid"),
    ("polycom-expired", "expired"),                   # leaf expired
    ("polycom-under-expired-ca", "expired"),          # issuing CA expired
])
@pytest.mark.parametrize("vhost", ["full", "notyet_on"])
def test_genuine_chain_once_valid_is_accepted(srv_trust, vhost, dev,
                                              validity):
    device(srv_trust, vhost, dev, validity)


@pytest.mark.parametrize("dev,reason", [
    # issued (notBefore 180 days ago) after its CA expired (a year ago)
    ("polycom-after-ca-expired", "chain never valid: notBefore at depth 0 "
                                 "is not before notAfter at depth 1"),
    # notBefore after notAfter
    ("polycom-inverted", "chain never valid: notBefore at depth 0 is not "
                         "before notAfter at depth 0"),
])
@pytest.mark.parametrize("vhost", ["full", "notyet_on"])
def test_chain_never_valid_is_refused(srv_trust, vhost, dev, reason):
    unverified(srv_trust, vhost, dev, reason)


def test_not_yet_valid_refused_by_default(srv_trust, pki):
    since = pki.manifest["devices"]["polycom-notyet"]["not_before"]
    unverified(srv_trust, "full", "polycom-notyet",
               f"not yet valid (depth 0, from {since}): "
               "DevprovAcceptNotYetValid polycom off")


def test_not_yet_valid_admitted_with_the_opt_in(srv_trust):
    e = device(srv_trust, "notyet_on", "polycom-notyet", "not-yet-valid")
    assert e["DEVICE_VENDOR"] == "polycom"


def test_not_yet_valid_issuing_ca(srv_trust, pki):
    """Not yet valid at depth 1: the phone's own certificate is valid, its
    (configured) issuing CA starts in ten days."""
    from cryptography import x509
    ca = x509.load_pem_x509_certificate(
        (pki / "polycom-future/issuing.pem").read_bytes())
    since = ca.not_valid_before.strftime("%Y-%m-%dT%H:%M:%SZ")
    unverified(srv_trust, "future", "polycom-under-future-ca",
               f"not yet valid (depth 1, from {since}): "
               "DevprovAcceptNotYetValid polycom off")
    device(srv_trust, "future_on", "polycom-under-future-ca", "not-yet-valid")


def test_not_yet_valid_opt_in_is_per_vendor(srv_trust, pki):
    since = pki.manifest["devices"]["polycom-notyet"]["not_before"]
    unverified(srv_trust, "yealink_on", "polycom-notyet",
               f"not yet valid (depth 0, from {since}): "
               "DevprovAcceptNotYetValid polycom off")
    unverified(srv_trust, "yealink_on", "polycom-selfsigned-notyet",
               "not yet valid (depth 0, from ", exact=False)
    device(srv_trust, "yealink_on", "yealink-valid", "valid")


# -- pinned self-signed certificates follow the same time rules ---------------

def test_pinned_not_yet_valid(srv_trust):
    unverified(srv_trust, "pins", "polycom-selfsigned-notyet",
               "not yet valid (depth 0, from ", exact=False)
    if handshake_refuses("polycom-selfsigned-notyet"):
        unverified(srv_trust, "pins_on", "polycom-selfsigned-notyet", "")
        return
    denials = Denials(srv_trust)
    for v in ("pins_on", "pins_on_deny"):
        e = env(srv_trust.curl(v, "/env.php", "polycom-selfsigned-notyet"))
        assert e["DEVICE_VERIFIED"] == "1", e
        assert e["DEVICE_PINNED"] == "1", e
        assert e["DEVICE_MAC"] == "0004f2000027", e
        assert e["DEVICE_CERT_VALIDITY"] == "not-yet-valid", e
        assert e["DEVICE_LABEL"] == "ss-notyet", e
    assert denials.lines() == []


@pytest.mark.parametrize("vhost", ["pins", "pins_on"])
def test_pinned_never_valid(srv_trust, vhost):
    unverified(srv_trust, vhost, "polycom-selfsigned-inverted",
               "never valid", exact=False)


# -- DevprovAcceptNotYetValid: where it is set ---------------------------------

def test_accept_not_yet_valid_from_the_main_server(workdir, pki):
    """Set in the main server: a vhost that configures no vendor inherits
    it; one that configures its own vendors does not (README: a vhost that
    configures any vendor defines its whole vendor set)."""
    srv = Httpd(workdir, "trust-notyet-main", pki)
    srv.start(full_trust(pki) + "DevprovAcceptNotYetValid polycom on\n"
              + srv.tls_vhost("inherits", "DevprovEngine on\n", cafile=None)
              + srv.tls_vhost("own", "DevprovEngine on\n" + full_trust(pki),
                              cafile=None))
    try:
        srv.mark()
        e = env(srv.curl("inherits", "/env.php", "polycom-notyet"))
        assert e["DEVICE_VERIFIED"] == "1", e
        assert e["DEVICE_CERT_VALIDITY"] == "not-yet-valid", e
        o = env(srv.curl("own", "/env.php", "polycom-notyet"))
        assert o["DEVICE_VERIFIED"] == "0", o
        assert o["DEVICE_REASON"].startswith("not yet valid (depth 0, from "), o
        check_log(srv)
    finally:
        srv.stop()


# -- configuration errors --------------------------------------------------------

@pytest.fixture
def cfg(workdir, pki, request):
    import os
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    return Httpd(workdir, f"trustcfg-{len(os.listdir(workdir))}-{name}", pki)


def configtest(srv, body):
    return srv.configtest(srv.tls_vhost("v", body))


@pytest.mark.parametrize("body", [
    "DevprovAcceptNotYetValid polycom on",
    "DevprovAcceptNotYetValid polycom off",
    "DevprovAcceptNotYetValid polycom On",
])
def test_accept_not_yet_valid_good_values(cfg, pki, body):
    res = configtest(cfg, f"DevprovEngine on\n{full_trust(pki)}{body}\n")
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


@pytest.mark.parametrize("line,needles", [
    ("DevprovAcceptNotYetValid polycom maybe",
     ["DevprovAcceptNotYetValid", "'maybe'"]),
    ("DevprovAcceptNotYetValid 'Bad Name' on",
     ["DevprovAcceptNotYetValid", "'Bad Name'"]),
    ("DevprovAcceptNotYetValid polycom",
     ["DevprovAcceptNotYetValid"]),
    ("DevprovAcceptNotYetValid polycom on off",
     ["DevprovAcceptNotYetValid"]),
])
def test_accept_not_yet_valid_bad_arguments(cfg, pki, line, needles):
    res = configtest(cfg, f"DevprovEngine on\n{full_trust(pki)}{line}\n")
    assert res.returncode != 0, res.stderr
    for n in needles:
        assert n in res.stderr, (n, res.stderr)
    assert "Syntax error on line" in res.stderr, res.stderr
    assert str(cfg.dir / "httpd.conf") in res.stderr, res.stderr


def test_accept_not_yet_valid_wrong_context(cfg, pki):
    res = configtest(cfg, f"DevprovEngine on\n{full_trust(pki)}"
                     "<Location /x>\nDevprovAcceptNotYetValid polycom on\n"
                     "</Location>\n")
    assert res.returncode != 0, res.stderr
    assert "DevprovAcceptNotYetValid not allowed in <Location>" in res.stderr


def test_issuing_ca_alone_is_a_vendor(cfg, pki):
    """No self-signed root needed any more (the old startup error 'gives no
    self-signed root CA' is gone)."""
    res = configtest(cfg, "DevprovEngine on\nDevprovTrust polycom "
                     f"{pki / 'polycom/issuing.pem'}\n")
    assert res.returncode == 0, res.stderr
    assert "self-signed root" not in res.stderr


# -- the status counters name each new refusal ---------------------------------

def test_status_counts_each_new_refusal(workdir, pki):
    from test_status import counters, label, status_vhost
    srv = Httpd(workdir, "trust-status", pki)
    body = ("DevprovEngine on\n" + full_trust(pki) + "DevprovDenyKey "
            f"{pki / 'polycom/issuing-expired.pem'}\nDevprovDeny unverified\n")
    srv.start(status_vhost(srv) + srv.tls_vhost("v", body, cafile=None))
    try:
        srv.mark()
        _, before = counters(srv)
        for dev, status in [("polycom-ca-true", 403),            # ca_leaf
                            ("polycom-under-expired-ca", 403),   # ca_key
                            ("polycom-inverted", 403),           # never valid
                            ("polycom-notyet", 403),             # from future
                            ("polycom-via-unlisted-sub", 403),   # not verified
                            ("polycom-valid", 200)]:
            res = srv.curl("v", "/env.php", dev, chain=True)
            assert res.status == status, (dev, res)
        _, after = counters(srv)
        b, a = before[label(srv, "v")], after[label(srv, "v")]
        d = {k: a[k] - b.get(k, 0) for k in a}
        for reason in ("ca_leaf", "ca_key", "never_valid", "not_yet_valid",
                       "not_verified"):
            assert d["reason_" + reason] == 1, (reason, d)
            assert d["denied_" + reason] == 1, (reason, d)
        assert d["verified"] == 1 and d["denied"] == 5, d
        assert d["reason_other"] == 0 and d["verified_not_yet_valid"] == 0, d
        check_log(srv)
    finally:
        srv.stop()
