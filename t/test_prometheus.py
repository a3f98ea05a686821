"""The status counters in the Prometheus text format and OpenMetrics:
the devprov-status handler's ?prometheus and ?openmetrics answers, linted
by promtool and scraped by Debian's real Prometheus (both formats, one
scrape job each), whose query API must show the numbers the server
counted."""
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, make_server_fixture
from test_devprov import trust
from test_status import fetch, parse_lines, status_vhost

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROM_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# the phones' vhost is defined in a file whose directory has a double
# quote, a backslash and a letter beyond ASCII in its name:
# devprov_vhost_info's "defined" label must arrive in Prometheus exactly
# as it is (escaping and UTF-8, end to end)
WEIRD_DIR = 'conf "quoted" back\\slash caf\u00e9'


def prom_body(srv, pki):
    d = srv.dir / WEIRD_DIR
    d.mkdir()
    d.chmod(0o755)
    docs = srv.dir / "docs"
    docs.mkdir()
    docs.chmod(0o755)
    (docs / "ok.txt").write_text("ok\n")
    (docs / "ok.txt").chmod(0o644)
    inc = d / "phones.conf"
    inc.write_text(srv.tls_vhost(
        "dev", f"DevprovEngine on\n{trust(pki)}"
        f"Alias /ok.txt {docs / 'ok.txt'}\n", cafile=None))
    inc.chmod(0o644)
    # httpd's quoted strings take \" and \\ as the characters
    quoted = str(inc).replace("\\", "\\\\").replace('"', '\\"')
    return status_vhost(srv) + f'Include "{quoted}"\n'


srv_prom = make_server_fixture("srv_prom", prom_body)


def get_raw(srv, query, head=False):
    """(status, content type, body) of /devprov-status?QUERY"""
    url = f"http://127.0.0.1:{srv.port('status')}/devprov-status?{query}"
    req = urllib.request.Request(url, method="HEAD" if head else "GET")
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return (res.status, res.headers["Content-Type"],
                    res.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def phone(srv, device=None, n=1):
    """N requests to the phones' vhost, one connection each"""
    port = srv.port("dev")
    cmd = ["curl", "-sS", "--max-time", "20", "-o", "/dev/null",
           "-w", "%{http_code}\n", "--resolve", f"localhost:{port}:127.0.0.1",
           "--cacert", str(srv.pki / "server/ca.pem")]
    if device:
        cmd += ["--cert", str(srv.pki.cert(device)),
                "--key", str(srv.pki.key(device))]
    for _ in range(n):
        p = subprocess.run(cmd + [f"https://localhost:{port}/ok.txt"],
                           capture_output=True, text=True, timeout=60)
        assert p.stdout.strip() == "200", (p.stdout, p.stderr)


def samples(text):
    """'name{labels} value' lines -> {(name, frozenset(labels)): value}
    (for the values we write: label values without ',' or '}')"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        name, _, labels = key.partition("{")
        pairs = frozenset(tuple(kv.split("=", 1))
                          for kv in labels.rstrip("}").split(",") if kv)
        out[(name, pairs)] = float(value)
    return out


def dev(srv):
    return f"localhost:{srv.port('dev')}"


def lbl(**kw):
    return frozenset((k, f'"{v}"') for k, v in kw.items())


# -- the handler's answers ------------------------------------------------

def test_formats_agree_with_the_text_lines(srv_prom):
    s = srv_prom
    phone(s, "polycom-expired", 2)
    phone(s, None)
    since, text = parse_lines(fetch(s, "/devprov-status"))
    status, ctype, prom = get_raw(s, "prometheus")
    assert (status, ctype) == (200, PROM_TYPE)
    status, ctype, om = get_raw(s, "format=openmetrics")
    assert (status, ctype) == (200, OM_TYPE)
    assert get_raw(s, "format=prometheus")[2] == prom
    assert get_raw(s, "openmetrics")[2] == om

    p, o = samples(prom), samples(om)
    assert p == o
    v = dev(s)
    assert p[("devprov_start_time_seconds", frozenset())] == since
    assert p[("devprov_requests_total", lbl(vhost=v))] == 3
    assert p[("devprov_verified_expired_total", lbl(vhost=v))] == 2
    assert p[("devprov_reason_total", lbl(vhost=v, reason="no_cert"))] == 1
    # every counter of the text lines, under its metric's name
    for counter, n in text[v].items():
        if counter.startswith("reason_"):
            key = ("devprov_reason_total",
                   lbl(vhost=v, reason=counter[len("reason_"):]))
        elif counter.startswith("denied_") and counter != "denied":
            key = ("devprov_denied_by_reason_total",
                   lbl(vhost=v, reason=counter[len("denied_"):]))
        else:
            key = (f"devprov_{counter}_total", lbl(vhost=v))
        assert p.pop(key) == n, counter
    info = [k for k in p if k[0] == "devprov_vhost_info"]
    assert len(info) == 1 and p.pop(info[0]) == 1
    assert list(p) == [("devprov_start_time_seconds", frozenset())]

    # the families' headers in each format's spelling
    assert "# TYPE devprov_requests_total counter\n" in prom
    assert "# HELP devprov_requests_total " in prom
    assert "# TYPE devprov_requests counter\n" in om
    assert "# HELP devprov_requests " in om
    assert "# TYPE devprov_start_time_seconds gauge\n" in om
    # OpenMetrics' info type, a gauge in the Prometheus format
    assert "# TYPE devprov_vhost info\n" in om
    assert "# TYPE devprov_vhost_info gauge\n" in prom
    assert om.endswith("\n# EOF\n") and "# EOF" not in prom
    # the "defined" label, escaped: \\ and \"
    path = str(s.dir / WEIRD_DIR / "phones.conf")
    esc = path.replace("\\", "\\\\").replace('"', '\\"')
    assert f'devprov_vhost_info{{vhost="{v}",defined="{esc}:' in prom


def test_promtool_check_metrics(srv_prom):
    """promtool's linter (the Prometheus text format; it has no
    OpenMetrics parser) finds nothing to say"""
    if not shutil.which(PROMTOOL):
        pytest.skip("promtool is not installed (Debian package "
                    "prometheus; make deps installs it)")
    _, _, prom = get_raw(srv_prom, "prometheus")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=prom,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() \
        and not p.stderr.strip(), (p.stdout, p.stderr)


def test_unknown_format_and_head(srv_prom):
    status, _, _ = get_raw(srv_prom, "format=xml")
    assert status == 400
    status, ctype, body = get_raw(srv_prom, "openmetrics", head=True)
    assert (status, ctype, body) == (200, OM_TYPE, "")
    # the older options are as they were
    assert get_raw(srv_prom, "json")[1] == "application/json"
    assert get_raw(srv_prom, "foo")[1] == "text/plain; charset=us-ascii"


# -- Prometheus itself ----------------------------------------------------

class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping TARGET once a second
    with one job per format, its storage in DIR."""

    def __init__(self, d, target):
        self.dir = d
        d.mkdir()
        self.port = free_port()
        jobs = "".join(
            f"  - job_name: {fmt}\n"
            "    metrics_path: /devprov-status\n"
            f"    params:\n      format: [{fmt}]\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
            for fmt in ("prometheus", "openmetrics"))
        self.config = d / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 1s\n"
                               "  scrape_timeout: 1s\n"
                               f"scrape_configs:\n{jobs}")
        self.log = open(d / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}",
             f"--storage.tsdb.path={d / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = (f"http://127.0.0.1:{self.port}/api/v1/{path}?"
               + urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=5) as res:
            body = json.loads(res.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, q):
        """{job: value} of an instant query"""
        return {r["metric"].get("job"): float(r["value"][1])
                for r in self.api("query", query=q)["result"]}

    def wait(self, what, timeout=30):
        """WHAT() until it is true (not an exception), at most TIMEOUT s"""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if what():
                    return
            except (OSError, ValueError, KeyError, AssertionError) as e:
                last = e
            time.sleep(0.5)
        raise AssertionError(f"prometheus: not within {timeout} s "
                             f"({last!r}):\n{self.output()}")

    def output(self):
        self.log.flush()
        return (self.dir / "prometheus.log").read_text()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture
def prometheus(srv_prom):
    if not shutil.which(PROMETHEUS):
        pytest.skip("prometheus is not installed (Debian package "
                    "prometheus; make deps installs it)")
    prom = Prometheus(srv_prom.dir / "prometheus",
                      f"127.0.0.1:{srv_prom.port('status')}")
    yield prom
    prom.stop()


def test_prometheus_scrapes_both_formats(srv_prom, prometheus):
    s, prom = srv_prom, prometheus
    phone(s, "polycom-expired", 2)
    phone(s, "polycom-valid")
    since, text = parse_lines(fetch(s, "/devprov-status"))
    counted = text[dev(s)]
    assert counted["verified_expired"] >= 2

    want = {"prometheus": counted["requests"],
            "openmetrics": counted["requests"]}
    q = f'devprov_requests_total{{vhost="{dev(s)}"}}'
    prom.wait(lambda: prom.query(q) == want)

    targets = prom.api("targets")["activeTargets"]
    assert sorted(t["labels"]["job"] for t in targets) == [
        "openmetrics", "prometheus"]
    for t in targets:
        assert t["health"] == "up", t
        assert t["lastError"] == "", t
        assert f"format={t['labels']['job']}" in t["scrapeUrl"]

    # the other counters and the gauges arrived as counted
    both = lambda n: {"prometheus": n, "openmetrics": n}   # noqa: E731
    assert prom.query(f'devprov_verified_expired_total{{vhost="{dev(s)}"}}') \
        == both(counted["verified_expired"])
    assert prom.query(f'devprov_reason_total{{vhost="{dev(s)}",'
                      'reason="no_cert"}') == both(counted["reason_no_cert"])
    assert prom.query("devprov_start_time_seconds") == both(since)
    # the escaped label, as Prometheus read it back
    info = prom.api("query", query="devprov_vhost_info")["result"]
    path = str(s.dir / WEIRD_DIR / "phones.conf")
    assert {r["metric"]["job"] for r in info} == {"prometheus",
                                                  "openmetrics"}
    for r in info:
        assert r["metric"]["vhost"] == dev(s)
        file, _, line = r["metric"]["defined"].rpartition(":")
        assert file == path and line.isdigit(), r["metric"]
