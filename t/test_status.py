"""Status counters: per virtual host, summed over every child process and
thread, shown by mod_status (/server-status?auto and HTML) and by the
devprov-status handler (text and ?json), reset by a restart."""
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (APACHE2, ROOT, Httpd, check_log, fingerprint,
                      make_server_fixture, write_allowlist)
from test_devprov import trust

STATUS_MODULE = "/usr/lib/apache2/modules/mod_status.so"

# several processes of few threads, so that the traffic below is served
# by more than one process
MPM_SMALL = """StartServers 4
ServerLimit 4
ThreadsPerChild 2
MaxRequestWorkers 8
MinSpareThreads 2
MaxSpareThreads 8
"""

ZERO_KEYS = None        # every counter name, from the first answer


def status_vhost(srv):
    port = srv.port("status")
    return (f"LoadModule status_module {STATUS_MODULE}\n"
            f"Listen 127.0.0.1:{port}\n"
            f"<VirtualHost 127.0.0.1:{port}>\n"
            "ServerName localhost\n"
            "<Location /server-status>\n"
            "    SetHandler server-status\n"
            "    Require ip 127.0.0.1\n"
            "</Location>\n"
            "<Location /devprov-status>\n"
            "    SetHandler devprov-status\n"
            "    Require ip 127.0.0.1\n"
            "</Location>\n"
            "</VirtualHost>\n")


def docs(srv, name):
    d = srv.dir / "docs"
    d.mkdir(exist_ok=True)
    d.chmod(0o755)
    (d / "ok.txt").write_text("ok\n")
    (d / "ok.txt").chmod(0o644)
    return (f"Alias /ok.txt {d / 'ok.txt'}\n"
            f"CustomLog {srv.dir / 'logs' / (name + '_access.log')} "
            "\"%P %>s %{DEVICE_VERIFIED}e %{DEVICE_CERT_VALIDITY}e "
            "\\\"%{DEVICE_REASON}e\\\"\"\n")


def example_logformat():
    """The commented LogFormat example in conf/devprov.conf, as it is."""
    for line in (ROOT / "conf/devprov.conf").read_text().splitlines():
        line = line.strip()
        if line.startswith("#LogFormat") and line.endswith("devprov_short"):
            return line[1:]
    raise AssertionError("no LogFormat example in conf/devprov.conf")


def status_body(srv, pki):
    allow = write_allowlist(srv.dir / "allowlist", [
        "0004f2000001 valid",
        "0004f2000002 expired",
        "0004f2000004 revoked-one",
        f"0004f2000005 builtin pin=sha256:"
        f"{fingerprint(pki, 'polycom-selfsigned')}",
        "0004f2000006 yealink-only vendor=yealink",
        f"0004f2000003 pinned-other pin=sha256:"
        f"{fingerprint(pki, 'polycom-valid')}",
    ])
    revoked = write_allowlist(srv.dir / "revoked", ["0004f2000004"])
    # polycom-notyet is a device here (counted verified_not_yet_valid):
    # not yet valid certificates are refused unless the vendor opts in
    notyet = "DevprovAcceptNotYetValid polycom on\n"
    strict = (f"DevprovEngine on\n{trust(pki)}{notyet}"
              f"DevprovAllowlist {allow}\n"
              f"DevprovRevoked {revoked}\n"
              f"DevprovDenyKey {pki.cert('evil-cn-long')}\n"
              "DevprovDeny unlisted\n"
              "DevprovBindPath on\n" + docs(srv, "strict")
              + example_logformat() + "\n"
              f"CustomLog {srv.dir / 'logs' / 'short.log'} devprov_short\n")
    # yealink is configured in the other vhost only: the allowlist's
    # vendor=yealink names a vendor of the server (checked at startup)
    open_ = (f"DevprovEngine on\n{trust(pki)}{notyet}"
             f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n"
             + docs(srv, "open"))
    return (MPM_SMALL + status_vhost(srv)
            + srv.tls_vhost("strict", strict, cafile=None)
            + srv.tls_vhost("open", open_, cafile=None))


srv_status = make_server_fixture("srv_status", status_body)


# -- clients -------------------------------------------------------------

def fetch(srv, path):
    port = srv.port("status")
    p = subprocess.run(["curl", "-sS", "--max-time", "20", "-o", "-", "-w",
                        "\n%{http_code}", f"http://127.0.0.1:{port}{path}"],
                       capture_output=True, text=True, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    assert code == "200", (code, body, p.stderr)
    return body


def parse_lines(text):
    """'devprov:<vhost>:<counter>: <n>' lines -> (since, {vhost: {c: n}})"""
    since, out = None, {}
    for line in text.splitlines():
        if not line.startswith("devprov:"):
            continue
        key, _, value = line.rpartition(": ")
        key = key[len("devprov:"):]
        if key == "since":
            since = int(value)
            continue
        vhost, _, counter = key.rpartition(":")
        out.setdefault(vhost, {})[counter] = int(value)
    return since, out


def counters(srv):
    """The counters by vhost label, read in all three ways, which must
    agree; and the start time."""
    since, auto = parse_lines(fetch(srv, "/server-status?auto"))
    since2, text = parse_lines(fetch(srv, "/devprov-status"))
    js = json.loads(fetch(srv, "/devprov-status?json"))
    from_json = {v["vhost"]: v["counters"] for v in js["vhosts"]}
    assert auto == text == from_json
    assert since == since2 == js["since"]
    return since, auto


# new connections curl made, by port name: each is one verdict made (a
# kept-alive connection the server closed, e.g. after a refusal or when
# the MPM stops an idle process, is opened again)
CONNECTS = {}


def get(srv, port_name, device=None, paths=("/ok.txt",)):
    """One curl: every path on one connection (kept alive while the server
    keeps it).  Returns the status codes."""
    port = srv.port(port_name)
    cmd = ["curl", "-sS", "--max-time", "20",
           "-w", "%{http_code} %{num_connects}\n",
           "--resolve", f"localhost:{port}:127.0.0.1",
           "--cacert", str(srv.pki / "server/ca.pem"), "--path-as-is"]
    if device:
        cmd += ["--cert", str(srv.pki.cert(device)),
                "--key", str(srv.pki.key(device))]
    for path in paths:
        cmd += ["-o", "/dev/null", f"https://localhost:{port}{path}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    out = [line.split() for line in p.stdout.splitlines()]
    CONNECTS[port_name] = (CONNECTS.get(port_name, 0)
                           + sum(int(n) for _, n in out))
    return [int(code) for code, _ in out]


def label(srv, port_name):
    return f"localhost:{srv.port(port_name)}"


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after}


def expect(**nonzero):
    """Every counter 0 except NONZERO."""
    return {k: nonzero.get(k, 0) for k in ZERO_KEYS}


@pytest.fixture(autouse=True)
def _names(srv_status):
    global ZERO_KEYS
    if ZERO_KEYS is None:
        _, c = counters(srv_status)
        ZERO_KEYS = list(c[label(srv_status, "strict")])


DENIAL = [r"devprov: refused"]


# -- tests ---------------------------------------------------------------

def test_names_and_both_vhosts_listed(srv_status):
    since, c = counters(srv_status)
    assert set(c) == {label(srv_status, "strict"),
                      label(srv_status, "open")}
    assert abs(since - time.time()) < 600
    assert ZERO_KEYS[:11] == [
        "requests", "verified", "verified_expired",
        "verified_not_yet_valid", "verified_pinned", "verified_password",
        "listed", "denied", "verdicts_made", "verdicts_reused",
        "idcache_hits"]
    assert "denied_bind_path" in ZERO_KEYS
    assert "reason_db_unavailable" in ZERO_KEYS
    # in configuration order
    js = json.loads(fetch(srv_status, "/devprov-status?json"))
    assert [v["vhost"] for v in js["vhosts"]] == [
        label(srv_status, "strict"), label(srv_status, "open")]


def test_exact_counts_per_vhost(srv_status, expect_log):
    expect_log(DENIAL)
    s = srv_status
    _, before = counters(s)
    CONNECTS.clear()
    ok = "/ok.txt"

    # strict: DevprovDeny unlisted, DevprovBindPath, revocation, deny key
    assert get(s, "strict", "polycom-valid", [ok] * 3) == [200] * 3
    assert get(s, "strict", "polycom-expired", [ok] * 4) == [200] * 4
    assert get(s, "strict", "polycom-expired") == [200]
    assert get(s, "strict", "polycom-expired") == [200]
    assert get(s, "strict", "polycom-selfsigned") == [200]      # pinned
    assert get(s, "strict", "polycom-unlisted") == [403]
    assert get(s, "strict", "polycom-unlisted") == [403]
    assert get(s, "strict", None) == [403]
    assert get(s, "strict", None) == [403]
    assert get(s, "strict", "rogue-polycom") == [403]
    assert get(s, "strict", "polycom-notmac") == [403]
    assert get(s, "strict", "polycom-lowercase") == [403]   # vendor bound
    assert get(s, "strict", "polycom-notyet") == [403]      # pin mismatch
    assert get(s, "strict", "polycom-under-expired-ca") == [403]  # revoked
    assert get(s, "strict", "evil-cn-long") == [403]  # DenyKey
    assert get(s, "strict", "polycom-valid",
               ["/0004f2000002.cfg"]) == [403]              # BindPath

    # open: DevprovDeny off, no allowlist: reasons, but no refusal
    assert get(s, "open", "polycom-expired", [ok] * 2) == [200] * 2
    assert get(s, "open", "polycom-expired", [ok] * 2) == [200] * 2
    assert get(s, "open", "polycom-notyet") == [200]
    assert get(s, "open", None, [ok] * 3) == [200] * 3
    assert get(s, "open", "polycom-selfsigned") == [200]
    assert get(s, "open", "polycom-valid") == [200]

    _, after = counters(s)
    strict = delta(before[label(s, "strict")], after[label(s, "strict")])
    open_ = delta(before[label(s, "open")], after[label(s, "open")])

    # identities come from each process's cache or not, depending on
    # which process took the connection: at most one miss per
    # certificate and process
    assert strict["idcache_hits"] <= strict["verdicts_made"]
    assert open_["idcache_hits"] <= open_["verdicts_made"]
    strict.pop("idcache_hits")
    open_.pop("idcache_hits")
    want_strict = expect(
        requests=21, verified=15, verified_expired=6,
        verified_not_yet_valid=1, verified_pinned=1, listed=11, denied=11,
        verdicts_made=CONNECTS["strict"],
        verdicts_reused=21 - CONNECTS["strict"],
        reason_unlisted=2, reason_no_cert=2, reason_not_verified=1,
        reason_no_mac=1, reason_vendor_mismatch=1, reason_pin_mismatch=1,
        reason_revoked=1, reason_generic_key=1,
        denied_unlisted=2, denied_no_cert=2, denied_not_verified=1,
        denied_no_mac=1, denied_vendor_mismatch=1, denied_pin_mismatch=1,
        denied_revoked=1, denied_generic_key=1, denied_bind_path=1)
    want_strict.pop("idcache_hits")
    assert strict == want_strict
    # unless the server closed a kept-alive connection: 16 new ones
    assert CONNECTS["strict"] >= 16 and CONNECTS["open"] >= 6
    want_open = expect(
        requests=10, verified=6, verified_expired=4,
        verified_not_yet_valid=1, verdicts_made=CONNECTS["open"],
        verdicts_reused=10 - CONNECTS["open"],
        reason_no_cert=3, reason_not_verified=1)
    want_open.pop("idcache_hits")
    assert open_ == want_open

    # the LogFormat example of conf/devprov.conf logged the same outcomes
    short = (s.dir / "logs" / "short.log").read_text().splitlines()[-21:]
    assert sum(' 200 ' in x and x.endswith(' 1 valid "-"')
               for x in short) == 4                # valid (3), pinned
    assert sum(' 0004f2000002 1 expired "-"' in x for x in short) == 6
    assert sum(x.endswith(' - 0 - "no client certificate"')
               for x in short) == 2
    assert sum(x.endswith(' 0004f2000003 1 not-yet-valid "certificate does '
                          'not match the allowlist pin"') for x in short) == 1
    assert sum(x.endswith('"revoked (DevprovRevoked)"') for x in short) == 1


def test_html_section(srv_status):
    html = fetch(srv_status, "/server-status")
    assert "<h2>devprov</h2>" in html
    assert f"<th title=\"{srv_status.dir / 'httpd.conf'}:" in html
    assert f">{label(srv_status, 'strict')}</th>" in html
    assert "<td>verified_expired</td>" in html
    notable = fetch(srv_status, "/server-status?notable")
    assert f"<b>{label(srv_status, 'open')}</b>" in notable


def test_handler_json_and_head(srv_status):
    js = json.loads(fetch(srv_status, "/devprov-status?json"))
    assert js["since_text"].endswith(" GMT")
    v = {x["vhost"]: x for x in js["vhosts"]}
    assert v[label(srv_status, "open")]["defined"].startswith(
        str(srv_status.dir / "httpd.conf") + ":")
    p = subprocess.run(["curl", "-sSI", "http://127.0.0.1:"
                        f"{srv_status.port('status')}/devprov-status"],
                       capture_output=True, text=True, timeout=30)
    assert p.stdout.startswith("HTTP/1.1 200")
    assert "text/plain" in p.stdout
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code}", "-X", "POST", "http://127.0.0.1:"
                        f"{srv_status.port('status')}/devprov-status"],
                       capture_output=True, text=True, timeout=30)
    assert p.stdout == "405"


def test_counts_add_up_across_processes(srv_status, expect_log):
    """Many concurrent connections on 4 processes of 2 threads: the counts
    are the sum over all of them, and match the access log."""
    # 12 clients on 8 workers: the parent says so, once per generation
    expect_log([r"AH00484: server reached MaxRequestWorkers",
                r"AH10159: server is within MinSpareThreads of "
                r"MaxRequestWorkers"])
    s = srv_status
    log = s.dir / "logs" / "open_access.log"
    _, before = counters(s)
    lines_before = len(log.read_text().splitlines())

    def one(_):
        return get(s, "open", "polycom-expired")

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, range(60)))
    assert results == [[200]] * 60
    # the parent logs the above in its maintenance pass, once a second:
    # let it do so within this test, not in the next one's log
    time.sleep(1.5)
    _, after = counters(s)
    d = delta(before[label(s, "open")], after[label(s, "open")])
    assert d["requests"] == 60
    assert d["verified"] == 60
    assert d["verified_expired"] == 60
    assert d["verdicts_made"] == 60
    new = log.read_text().splitlines()[lines_before:]
    assert len(new) == 60
    assert all(line.split()[1:4] == ["200", "1", "expired"] for line in new)
    pids = {line.split()[0] for line in new}
    # (the valgrind wrapper runs every server as apache2 -X)
    if "valgrind" not in APACHE2:
        assert len(pids) >= 2, "served by one process only: " + str(pids)
    # and over the whole run, the access log and the counters agree
    total = after[label(s, "open")]["requests"]
    assert total == len(log.read_text().splitlines())


def test_not_counted_without_engine(srv_status):
    """The status vhost itself (no devprov) has no counters, and asking
    for them counts nothing."""
    _, a = counters(srv_status)
    _, b = counters(srv_status)
    assert a == b


# -- restarts and a single process ------------------------------------------

def small_body(srv, pki):
    return (status_vhost(srv)
            + srv.tls_vhost("dev", f"DevprovEngine on\n{trust(pki)}"
                            + docs(srv, "dev"), cafile=None))


def wait_since_changes(srv, old, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        since, c = counters(srv)
        if since != old:
            return since, c
        time.sleep(0.2)
    raise AssertionError("counters were not reset")


def test_graceful_restart_resets_counters(workdir, pki):
    srv = Httpd(workdir, "srv_status_restart", pki)
    srv.start(small_body(srv, pki))
    try:
        srv.mark()
        dev = label(srv, "dev")
        CONNECTS.clear()
        assert get(srv, "dev", "polycom-expired", ["/ok.txt"] * 3) \
            == [200] * 3
        since, c = counters(srv)
        assert c[dev]["requests"] == 3
        assert c[dev]["verdicts_made"] == CONNECTS["dev"]
        assert c[dev]["verdicts_reused"] == 3 - CONNECTS["dev"]
        time.sleep(1.1)                 # "since" has 1 s resolution
        os.kill(srv.proc.pid, signal.SIGUSR1)           # graceful
        since2, c = wait_since_changes(srv, since)
        assert since2 > since
        assert set(c[dev].values()) == {0}
        assert get(srv, "dev", "polycom-valid") == [200]
        _, c = counters(srv)
        assert c[dev]["requests"] == 1
        assert c[dev]["verified"] == 1
        assert c[dev]["verified_expired"] == 0
        # a hard restart (SIGHUP) too
        time.sleep(1.1)
        os.kill(srv.proc.pid, signal.SIGHUP)
        wait_since_changes(srv, since2)
        check_log(srv)
    finally:
        srv.stop()


def test_single_process_mode(workdir, pki):
    """apache2 -X: one process, the same counters."""
    srv = Httpd(workdir, "srv_status_x", pki)
    conf = srv.write(small_body(srv, pki))
    res = subprocess.run([APACHE2, "-t", "-f", str(conf)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    srv.proc = subprocess.Popen([APACHE2, "-f", str(conf), "-X"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not (srv.dir / "httpd.pid").exists():
            assert srv.proc.poll() is None, srv.proc.stderr.read()
            assert time.time() < deadline
            time.sleep(0.05)
        srv.mark()
        dev = label(srv, "dev")
        CONNECTS.clear()
        for _ in range(3):
            assert get(srv, "dev", "polycom-expired",
                       ["/ok.txt"] * 2) == [200] * 2
        assert get(srv, "dev", None) == [200]
        _, c = counters(srv)
        want = {k: 0 for k in c[dev]}
        # one process: the second and third connections find the identity
        # in its cache
        made = CONNECTS["dev"]          # 4, unless a connection was closed
        want.update(requests=7, verified=6, verified_expired=6,
                    verdicts_made=made, verdicts_reused=7 - made,
                    idcache_hits=made - 2,  # all but the first expired/none
                    reason_no_cert=1)
        assert c[dev] == want
        check_log(srv)
    finally:
        srv.stop()


def test_example_site_serves_the_counters(workdir, pki):
    """conf/sites/provisioning.conf.in: the bootstrap vhost answers
    /devprov-status to the server itself, with the phones' vhost's
    counters."""
    from test_example_site import LISTED, site_body
    srv = Httpd(workdir, "srv_status_site", pki)
    srv.start(site_body(srv, pki))
    try:
        srv.mark()
        res = srv.curl("https", f"/{LISTED}.cfg", "polycom-expired")
        assert res.status == 200, res
        res = srv.http("http", "/devprov-status")
        assert res.status == 200, res
        since, c = parse_lines(res.body)
        https = label(srv, "https")
        assert set(c) == {https}               # bootstrap: engine off
        assert c[https]["requests"] == 1
        assert c[https]["verified_expired"] == 1
        assert c[https]["listed"] == 1
        check_log(srv)
    finally:
        srv.stop()
