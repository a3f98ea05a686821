"""Resumed TLS sessions: a phone that resumes shows no certificate, and
devprov finds the one its session was made with by the session's master
secret (TLS up to 1.2), without hashing it again; never by the session
ID, which a TLS 1.2 client sends as it likes with a ticket.  Runs in the
mode DEVPROV_MOD_SSL selects (patched or stock)."""
import base64
import re
import subprocess

import pytest

from conftest import (check_log, make_server_fixture, s_client_get,
                      write_allowlist)
from test_devprov import trust

FROM_SESSION = "the certificate's key from its resumed TLS session"


def body(srv, pki):
    allow = write_allowlist(srv.dir / "allowlist", [
        f"{pki.mac(d)} {d}" for d in ("polycom-expired", "polycom-valid")])
    return srv.tls_vhost(
        "dp", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n"
              "DevprovDeny unlisted\nLogLevel devprov:trace1\n"
              "AddHandler cgi-script .cgi\n")


srv_resume = make_server_fixture("srv_resume", body)


def fetch(srv, pki, device, tls, extra):
    """/env.cgi over s_client: (the session report, DEVICE_MAC)."""
    _, out, _ = s_client_get(srv.port("dp"), pki, device, "/env.cgi", tls,
                             extra, quiet=False)
    m = re.search(r"^DEVICE_MAC=(.*)$", out, re.M)
    return out, m.group(1) if m else None


def reused(out):
    return re.search(r"^Reused, ", out, re.M) is not None


@pytest.mark.parametrize("how", ["ticket", "session-id"])
def test_resumed_tls12_session_keeps_each_phones_identity(srv_resume, pki,
                                                          tmp_path, how):
    """Two phones, each resuming its own session: each gets its own MAC,
    from its session's secret."""
    extra = ["-no_ticket"] if how == "session-id" else []
    sess = {}
    for dev in ("polycom-expired", "polycom-valid"):
        sess[dev] = tmp_path / f"{dev}.pem"
        out, mac = fetch(srv_resume, pki, dev, "-tls1_2",
                         extra + ["-sess_out", str(sess[dev])])
        assert not reused(out) and mac == pki.mac(dev), out
    srv_resume.mark()
    for dev in ("polycom-valid", "polycom-expired"):
        out, mac = fetch(srv_resume, pki, dev, "-tls1_2",
                         extra + ["-sess_in", str(sess[dev])])
        assert reused(out), out
        assert mac == pki.mac(dev), out
    assert srv_resume.new_log().count(FROM_SESSION) == 2


def session_id(path):
    out = subprocess.run(["openssl", "sess_id", "-in", str(path), "-noout",
                          "-text"], capture_output=True, text=True,
                         check=True).stdout
    return bytes.fromhex(re.search(r"Session-ID: ([0-9A-F]+)", out).group(1))


def test_ticket_with_another_phones_session_id(srv_resume, pki, tmp_path):
    """A client resumes its own ticket but sends another phone's session ID
    with it (IDs go in the clear in TLS 1.2; OpenSSL's server takes the
    client's): it is still itself, not the phone whose ID it sent."""
    me, other = "polycom-valid", "polycom-expired"
    mine, theirs = tmp_path / "mine.pem", tmp_path / "theirs.pem"
    fetch(srv_resume, pki, me, "-tls1_2", ["-sess_out", str(mine)])
    fetch(srv_resume, pki, other, "-tls1_2", ["-sess_out", str(theirs)])
    my_id, their_id = session_id(mine), session_id(theirs)
    assert len(my_id) == len(their_id) == 32 and my_id != their_id
    pem = mine.read_text()
    b64 = "".join(ln for ln in pem.splitlines() if not ln.startswith("-"))
    der = base64.b64decode(b64)
    assert der.count(my_id) == 1
    forged = tmp_path / "forged.pem"
    forged.write_text(
        "-----BEGIN SSL SESSION PARAMETERS-----\n"
        + base64.encodebytes(der.replace(my_id, their_id)).decode()
        + "-----END SSL SESSION PARAMETERS-----\n")
    assert session_id(forged) == their_id
    srv_resume.mark()
    out, mac = fetch(srv_resume, pki, me, "-tls1_2",
                     ["-sess_in", str(forged)])
    assert reused(out), out
    # the premise: the server resumed with the ID the client sent (it
    # echoes it in its ServerHello, and s_client reports that session)
    sid = re.search(r"^\s*Session-ID: ([0-9A-F]+)$", out, re.M)
    assert sid and bytes.fromhex(sid.group(1)) == their_id, out
    assert mac == pki.mac(me) != pki.mac(other), out
    assert FROM_SESSION in srv_resume.new_log()


def test_resumed_tls13_session_identified_from_its_certificate(
        srv_resume, pki, tmp_path):
    """TLS 1.3 resumes with a secret of each ticket: no session secret to
    key by, so the certificate kept in the session is hashed again, and
    the phone is still itself."""
    sess = tmp_path / "s13.pem"
    fetch(srv_resume, pki, "polycom-expired", "-tls1_3",
          ["-sess_out", str(sess)])
    srv_resume.mark()
    out, mac = fetch(srv_resume, pki, "polycom-expired", "-tls1_3",
                     ["-sess_in", str(sess)])
    assert reused(out), out
    assert mac == pki.mac("polycom-expired"), out
    assert FROM_SESSION not in srv_resume.new_log()
    check_log(srv_resume)
