"""DevprovFleet: the per-phone record (who checked in, when, with what
firmware and certificate), the waiting list of genuine unlisted phones,
the fleet page (HTML and ?json), kept across restarts."""
import json
import os
import re
import signal
import subprocess
import time

import pytest
from cryptography import x509

from conftest import (APACHE2, Httpd, curl, fingerprint, make_server_fixture,
                      write_allowlist)
from test_cli import CLI
from test_devprov import trust

ALLOW = [
    "0004f2000001 lobby",
    "0004f2000002 expired-desk",
    "0004f2000004 revoked-one",
]

UA_VALID = "FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614"
EVIL_UA = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


def fleet_vhost(srv):
    port = srv.port("fleet")
    return (f"Listen 127.0.0.1:{port}\n"
            f"<VirtualHost 127.0.0.1:{port}>\n"
            "ServerName localhost\n"
            "<Location /devprov-fleet>\n"
            "    SetHandler devprov-fleet\n"
            "    Require ip 127.0.0.1\n"
            "</Location>\n"
            "<Location /devprov-status>\n"
            "    SetHandler devprov-status\n"
            "    Require ip 127.0.0.1\n"
            "</Location>\n"
            "</VirtualHost>\n")


def body(srv, pki, fleet_opts=""):
    allow = write_allowlist(srv.dir / "allowlist", ALLOW)
    fp = fingerprint(pki, "polycom-selfsigned")
    with open(allow, "a") as f:
        f.write(f"0004f2000005 builtin pin=sha256:{fp}\n")
    revoked = write_allowlist(srv.dir / "revoked", ["0004f2000004"])
    docs = srv.dir / "docs"
    docs.mkdir(exist_ok=True)
    docs.chmod(0o755)
    (docs / "phone.cfg").write_text("config\n")
    (docs / "phone.cfg").chmod(0o644)
    phones = (f"Alias /phone.cfg {docs / 'phone.cfg'}\n"
              f"Alias /0004f2000001.cfg {docs / 'phone.cfg'}\n"
              f"DevprovEngine on\n{trust(pki)}"
              f"DevprovAllowlist {allow}\n"
              f"DevprovRevoked {revoked}\n"
              "DevprovDeny unlisted\n"
              "DevprovBindPath on\n")
    return (f"DevprovFleet fleet.dat {fleet_opts}\n" + fleet_vhost(srv)
            + srv.tls_vhost("phones", phones, cafile=None))


srv_fleet = make_server_fixture("srv_fleet", body)


def phone(srv, device, path="/phone.cfg", ua=UA_VALID):
    return srv.curl("phones", path, device=device,
                    extra=["-H", f"User-Agent: {ua}"])


def page(srv, query=""):
    r = curl(f"http://127.0.0.1:{srv.port('fleet')}/devprov-fleet{query}",
             None)
    assert r.status == 200, r
    return r.body


def fleet(srv):
    return json.loads(page(srv, "?json"))


def by_mac(doc, key="phones"):
    return {p["mac"]: p for p in doc[key]}


def not_after(pki, device):
    cert = x509.load_pem_x509_certificate(pki.cert(device).read_bytes())
    return int(cert.not_valid_after.replace(
        tzinfo=__import__("datetime").timezone.utc).timestamp())


@pytest.fixture(scope="module")
def traffic(srv_fleet):
    """One round of phones, once for the module."""
    srv = srv_fleet
    out = {
        "valid": phone(srv, "polycom-valid"),
        "valid2": phone(srv, "polycom-valid"),
        "expired": phone(srv, "polycom-expired"),
        "pinned": phone(srv, "polycom-selfsigned"),
        "unlisted": phone(srv, "polycom-unlisted"),
        "rogue": phone(srv, "rogue-polycom"),
        "revoked": phone(srv, "polycom-valid", ua=UA_VALID),
        "other_file": phone(srv, "polycom-expired",
                            path="/0004f2000001.cfg"),
    }
    return out


def test_phones_recorded(srv_fleet, pki, traffic, expect_log):
    expect_log([r"devprov: refused"])
    doc = fleet(srv_fleet)
    phones = by_mac(doc)
    valid = phones["0004f2000001"]
    assert valid["vendor"] == "polycom"
    assert valid["identified_by"] == "certificate"
    assert valid["listed"] is True
    assert valid["address"] == "127.0.0.1"
    assert valid["user_agent"] == UA_VALID
    assert valid["cert_validity"] == "valid"
    assert valid["cert_not_after"] == not_after(pki, "polycom-valid")
    assert valid["sha256"] == fingerprint(pki, "polycom-valid")
    assert valid["requests"] == 3 and valid["refused"] == 0
    assert valid["state"] == "normal"
    assert valid["first_seen"] <= valid["last_seen"] <= time.time() + 1


def test_internal_redirect_recorded_once(srv_fleet, traffic):
    # env.php runs php-cgi through mod_actions: an internal redirect,
    # which runs devprov's request phase again; one request all the same
    before = by_mac(fleet(srv_fleet))["0004f2000005"]["requests"]
    r = phone(srv_fleet, "polycom-selfsigned", path="/env.php")
    assert r.status == 200 and r.json["DEVICE_MAC"] == "0004f2000005", r
    assert by_mac(fleet(srv_fleet))["0004f2000005"]["requests"] == before + 1


def test_states(srv_fleet, traffic, expect_log):
    expect_log([r"devprov: refused"])
    phones = by_mac(fleet(srv_fleet))
    # the expired certificate provisions on the tolerance, until its
    # request for another phone's file was refused
    exp = phones["0004f2000002"]
    assert exp["cert_validity"] == "expired"
    assert exp["state"] == "refused"
    assert exp["last_refusal"] == "bind_path"
    assert exp["requests"] == 2 and exp["refused"] == 1
    assert exp["last_ok"] <= exp["last_refused"]
    pinned = phones["0004f2000005"]
    assert pinned["identified_by"] == "pin" and pinned["state"] == "pinned"


def test_tolerance_state(srv_fleet, traffic, expect_log):
    # the expired phone fetches its own file again: back on the tolerance
    assert phone(srv_fleet, "polycom-expired").status == 200
    exp = by_mac(fleet(srv_fleet))["0004f2000002"]
    assert exp["state"] == "tolerance"
    doc = fleet(srv_fleet)
    assert doc["states"]["tolerance"] >= 1


def test_waiting_list(srv_fleet, pki, traffic, expect_log):
    expect_log([r"devprov: refused"])
    doc = fleet(srv_fleet)
    # genuine, of a configured vendor, not listed: waiting, not a phone
    assert "0004f2999999" not in by_mac(doc)
    waiting = by_mac(doc, "waiting")
    assert set(waiting) == {"0004f2999999"}
    w = waiting["0004f2999999"]
    assert w["sha256"] == fingerprint(pki, "polycom-unlisted")
    assert w["vendor"] == "polycom"
    assert doc["waiting_total"] == 1


def test_rogue_not_recorded(srv_fleet, pki, traffic):
    # a certificate no vendor CA verifies names a MAC of its own choice
    # (here the lobby phone's): it is never recorded, so it can neither
    # fill the table nor rewrite the genuine phone's entry
    assert traffic["rogue"].status == 403
    rogue = pki.mac("rogue-polycom").lower()
    assert rogue == "0004f2000001"
    doc = fleet(srv_fleet)
    assert rogue not in by_mac(doc, "waiting")
    assert by_mac(doc)[rogue]["refused"] == 0


def test_revoked_is_refused(srv_fleet, traffic, expect_log):
    expect_log([r"devprov: refused"])
    # revoked 0004f2000004 has no certificate here: revoke a listed one
    # by adding it to the revocation list
    rev = srv_fleet.dir / "revoked"
    rev.write_text("0004f2000004\n0004f2000001\n")
    os.utime(rev, (time.time() + 10, time.time() + 10))
    deadline = time.time() + 15
    while phone(srv_fleet, "polycom-valid").status != 403:
        assert time.time() < deadline, "revocation not picked up"
        time.sleep(0.5)
    try:
        valid = by_mac(fleet(srv_fleet))["0004f2000001"]
        assert valid["state"] == "refused"
        assert valid["last_refusal"] == "revoked"
        assert valid["listed"] is False
        doc = fleet(srv_fleet)
        assert doc["refused_by_reason"].get("revoked") == 1
    finally:
        rev.write_text("0004f2000004\n")
        os.utime(rev, (time.time() + 20, time.time() + 20))
        deadline = time.time() + 15
        while phone(srv_fleet, "polycom-valid").status != 200:
            assert time.time() < deadline, "revocation not lifted"
            time.sleep(0.5)


def test_user_agent_escaped(srv_fleet, traffic):
    long_ua = "A" * 500
    assert phone(srv_fleet, "polycom-selfsigned", ua=EVIL_UA).status == 200
    html = page(srv_fleet)
    assert "<script" not in html and "<img" not in html
    assert "&#60;script&#62;alert(1)&#60;/script&#62;" in html
    doc_text = page(srv_fleet, "?json")
    assert "<" not in doc_text and ">" not in doc_text
    assert by_mac(json.loads(doc_text))["0004f2000005"]["user_agent"] \
        == EVIL_UA
    # cut, never more than the record keeps
    assert phone(srv_fleet, "polycom-selfsigned", ua=long_ua).status == 200
    ua = by_mac(fleet(srv_fleet))["0004f2000005"]["user_agent"]
    assert ua == "A" * 89


def test_page_in_chromium(srv_fleet, traffic):
    """The fleet page as a browser renders it (Debian's chromium,
    headless): the numbers, the chart, the waiting list, and a phone's
    hostile User-Agent as text, never as an element.  The screenshot is
    kept in build/test-artifacts/fleet-page.png."""
    from browser import need_chromium, render, tables
    need_chromium()
    assert phone(srv_fleet, "polycom-selfsigned", ua=EVIL_UA).status == 200
    doc = fleet(srv_fleet)
    page = render(f"http://127.0.0.1:{srv_fleet.port('fleet')}"
                  "/devprov-fleet", "fleet-page")
    dom = page.dom
    # no element came from what a phone sent
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    t = tables(dom)
    states = {row[0].split(" (")[0]: int(row[1]) for row in t[0][1:]}
    assert states == doc["states"]
    waiting = t[2]
    assert len(waiting) == 2 and waiting[1][0] == "0004f2999999"
    phones = {row[0]: row for row in t[3][1:]}
    assert phones["0004f2000005"][1] == "pinned"
    assert phones["0004f2000005"][11] == EVIL_UA
    assert phones["0004f2000002"][9].endswith("expired")
    # the expiry chart: one bar per month, with its count
    months = re.findall(r'<g class="month" data-month="(\d{4}-\d\d)" '
                        r'data-count="(\d+)"', dom)
    assert [m for m, _ in months] == [
        m["month"] for m in doc["expiry"]["months"]]
    assert [int(n) for _, n in months] == [
        m["certificates"] for m in doc["expiry"]["months"]]
    assert page.screenshot.stat().st_size > 1000


def test_page_headers_and_summary(srv_fleet, traffic):
    r = curl(f"http://127.0.0.1:{srv_fleet.port('fleet')}/devprov-fleet",
             None, extra=["-D", "-"])
    assert r.status == 200
    assert re.search(r"(?im)^content-security-policy: default-src 'none'",
                     r.body)
    assert re.search(r"(?im)^cache-control: no-store", r.body)
    html = page(srv_fleet)
    assert re.search(r'<span id="phones-recorded">3</span>', html)
    assert 'id="waiting"' in html and "0004f2999999" in html
    assert '<svg id="expiry"' in html
    # a state filter shows only those phones
    only = page(srv_fleet, "?state=pinned")
    assert "0004f2000005" in only.split('id="phones"')[1]
    assert "0004f2000001" not in only.split('id="phones"')[1]
    bad = curl(f"http://127.0.0.1:{srv_fleet.port('fleet')}"
               "/devprov-fleet?state=nonsense", None)
    assert bad.status == 400


def test_expiry_timeline(srv_fleet, pki, traffic):
    doc = fleet(srv_fleet)
    exp = doc["expiry"]
    total = (exp["expired_before"] + exp["later"]
             + sum(m["certificates"] for m in exp["months"]))
    # every phone recorded with a certificate: 3 of them
    assert total == 3
    assert len(exp["months"]) == 24
    assert exp["months"][0]["month"] == time.strftime("%Y-%m", time.gmtime())
    # the expired one's notAfter is before this month
    assert exp["expired_before"] >= 1


def metrics(srv, fmt="prometheus"):
    r = curl(f"http://127.0.0.1:{srv.port('fleet')}/devprov-status"
             f"?format={fmt}", None)
    assert r.status == 200, r
    out = {}
    for line in r.body.splitlines():
        if line.startswith("devprov_fleet_"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return r.body, out


def test_metrics(srv_fleet, traffic):
    doc = fleet(srv_fleet)
    text, m = metrics(srv_fleet)
    for state, n in doc["states"].items():
        assert m[f'devprov_fleet_phones{{state="{state}"}}'] == n
    assert m["devprov_fleet_waiting"] == doc["waiting_total"] == 1
    assert m["devprov_fleet_capacity"] == doc["capacity"]
    month = doc["expiry"]["months"][0]["month"]
    assert m[f'devprov_fleet_certs_expiring{{month="{month}"}}'] == \
        doc["expiry"]["months"][0]["certificates"]
    assert m["devprov_fleet_certs_expired_before_month"] == \
        doc["expiry"]["expired_before"]
    for reason, n in doc["refused_by_reason"].items():
        assert m[f'devprov_fleet_refused_phones{{reason="{reason}"}}'] == n
    assert m["devprov_fleet_evicted_total"] == 0
    # one series per reason name, and a valid exposition
    names = [k for k in m if k.startswith("devprov_fleet_refused_phones")]
    assert len(names) == len(set(names))
    from test_prometheus import PROMTOOL
    import shutil
    if shutil.which(PROMTOOL):
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and not p.stdout.strip() \
            and not p.stderr.strip(), (p.stdout, p.stderr)
    om, m2 = metrics(srv_fleet, "openmetrics")
    assert om.endswith("# EOF\n")
    assert m2["devprov_fleet_waiting"] == 1


def test_prometheus_shows_the_fleet(srv_fleet, traffic, tmp_path):
    from test_prometheus import PROMETHEUS, Prometheus
    import shutil
    if not shutil.which(PROMETHEUS):
        pytest.skip("prometheus is not installed (make deps installs it)")
    doc = fleet(srv_fleet)
    prom = Prometheus(tmp_path / "prometheus",
                      f"127.0.0.1:{srv_fleet.port('fleet')}")
    try:
        want = {"prometheus": doc["states"]["pinned"],
                "openmetrics": doc["states"]["pinned"]}
        prom.wait(lambda: prom.query(
            'devprov_fleet_phones{state="pinned"}') == want)
        assert prom.query("devprov_fleet_waiting") == {
            "prometheus": 1, "openmetrics": 1}
        assert prom.query("sum(devprov_fleet_phones)") == {
            None: 2 * doc["phones_recorded"]}
    finally:
        prom.stop()


def test_survives_restarts(srv_fleet, traffic, expect_log):
    # a plain restart (SIGHUP) stops the children at once: the event MPM
    # may say so of a connection it was still closing (the earlier
    # tests' Prometheus and Chromium kept theirs alive): httpd's message,
    # not the record's
    expect_log([r"AH03093: process_socket: apr_pollset_add failure"])
    before = by_mac(fleet(srv_fleet))["0004f2000001"]["requests"]
    pid = int((srv_fleet.dir / "httpd.pid").read_text())
    for sig in (signal.SIGUSR1, signal.SIGHUP):
        srv_fleet.mark()
        os.kill(pid, sig)
        deadline = time.time() + 20
        while "resuming normal operations" not in srv_fleet.new_log():
            assert time.time() < deadline, "no restart"
            time.sleep(0.2)
        time.sleep(0.5)
        doc = fleet(srv_fleet)
        assert by_mac(doc)["0004f2000001"]["requests"] == before
        assert by_mac(doc, "waiting")


def test_stop_start_keeps_and_resize_starts_empty(workdir, pki):
    srv = Httpd(workdir, "srv_fleet_resize", pki)
    srv.start(body(srv, pki))
    try:
        assert phone(srv, "polycom-valid").status == 200
        assert "0004f2000001" in by_mac(fleet(srv))
    finally:
        srv.stop()
    srv.start(body(srv, pki))
    try:
        assert by_mac(fleet(srv))["0004f2000001"]["requests"] == 1
        assert "kept the record" in srv.error_log.read_text()
    finally:
        srv.stop()
    # another size: a new, empty record, said in the log
    srv.start(body(srv, pki, "entries=64"))
    try:
        doc = fleet(srv)
        assert doc["phones"] == [] and doc["capacity"] == 80
        assert "starting an empty record" in srv.error_log.read_text()
    finally:
        srv.stop()


def start_fails(srv, conf):
    """Start SRV with CONF, which must fail in post_config (apache2 -t
    does not open the record): its error log.  A server that starts after
    all is stopped, children included, and fails the test."""
    srv.write(conf)
    p = subprocess.Popen([APACHE2, "-f", str(srv.dir / "httpd.conf"),
                          "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(20)
        raise AssertionError("apache2 started")
    assert rc != 0
    return srv.error_log.read_text()


def test_file_must_be_private(workdir, pki):
    srv = Httpd(workdir, "srv_fleet_mode", pki)
    conf = body(srv, pki)
    f = srv.dir / "logs" / "fleet.dat"
    f.write_bytes(b"")
    f.chmod(0o644)
    log = start_fails(srv, conf)
    assert re.search(r"DevprovFleet \(.*httpd.conf:\d+\): .*fleet.dat: owned "
                     r"by uid 0 with mode 0644", log), log


def test_file_system_without_room(workdir, pki):
    """A record that does not fit its file system (a small tmpfs) stops
    the start, naming the directive; it never becomes a sparse file whose
    first write past the room would kill a child with SIGBUS."""
    srv = Httpd(workdir, "srv_fleet_room", pki)
    mnt = srv.dir / "small-tmpfs"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        log = start_fails(srv, body(srv, pki).replace(
            "DevprovFleet fleet.dat ", f"DevprovFleet {mnt}/fleet.dat "))
        assert re.search(r"DevprovFleet \(.*httpd.conf:\d+\): .*fleet.dat: "
                         r"no room for its \d+ bytes", log), log
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize("line, message", [
    ("<VirtualHost 127.0.0.1:1>\nDevprovFleet f.dat\n</VirtualHost>",
     "set it in the main server configuration"),
    ("DevprovFleet f.dat entries=3", "entries=3: use a number from 16"),
    ("DevprovFleet f.dat colour=red", "unknown option 'colour=red'"),
    ("DevprovFleet f.dat\nDevprovFleet g.dat", "set more than once"),
    ("DevprovFleet", "needs a file name"),
])
def test_config_errors(workdir, pki, line, message):
    srv = Httpd(workdir, "srv_fleet_conf", pki)
    res = srv.configtest(line + "\n")
    assert res.returncode != 0
    assert "DevprovFleet" in res.stderr and message in res.stderr, res.stderr
    assert re.search(r"httpd.conf", res.stderr), res.stderr


def cli(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_waiting_then_approved(srv_fleet, pki, traffic, expect_log):
    expect_log([r"devprov: refused"])
    record = srv_fleet.dir / "logs" / "fleet.dat"
    allow = srv_fleet.dir / "allowlist"
    listed = cli("waiting", record, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [w["mac"] for w in json.loads(listed.stdout)] == ["0004f2999999"]
    text = cli("waiting", record)
    assert text.stdout.startswith("0004f2999999 vendor=polycom first=")
    assert f"sha256={fingerprint(pki, 'polycom-unlisted')}" in text.stdout
    # a MAC that is not waiting: nothing is written
    before = allow.read_text()
    p = cli("approve", record, "--allowlist", allow, "0004f2999999",
            "0004f2000abc")
    assert p.returncode == 1 and "0004f2000abc is not waiting" in p.stderr
    assert allow.read_text() == before
    # the SQL form for a database allowlist
    p = cli("approve", record, "--sql", "--label", "new-desk", "--all")
    assert p.returncode == 0, p.stderr
    assert ("INSERT INTO phones (mac, label, vendor) VALUES "
            "('0004f2999999', 'new-desk', 'polycom');") in p.stdout
    # approved into the file the server reads: the phone provisions
    assert phone(srv_fleet, "polycom-unlisted").status == 403
    p = cli("approve", record, "--allowlist", allow, "--label", "new-desk",
            "00-04-F2-99-99-99")
    assert p.returncode == 0, p.stderr
    assert "added 1 phone(s)" in p.stdout
    text = allow.read_text()
    assert text.startswith(before)
    assert text.endswith("\n0004f2999999 new-desk vendor=polycom\n")
    assert oct(allow.stat().st_mode & 0o777) == "0o644"
    deadline = time.time() + 20
    while phone(srv_fleet, "polycom-unlisted").status != 200:
        assert time.time() < deadline, "the approved phone is still refused"
        time.sleep(0.5)
    doc = fleet(srv_fleet)
    assert "0004f2999999" in by_mac(doc)
    assert doc["waiting"] == [] and doc["waiting_total"] == 0
    assert json.loads(cli("waiting", record, "--json").stdout) == []
    # approving again adds nothing
    p = cli("approve", record, "--allowlist", allow, "--all")
    assert p.returncode == 0 and "nothing to add" in p.stdout
