#!/usr/bin/python3
"""Soak and faults: a real apache2 with the patched mod_ssl and mod_devprov
and a real PostgreSQL, under C concurrent clients on 127.0.0.1 for D
seconds, then the same load while things go wrong.

Clients are phones and strangers, chosen at random per connection:

  polycom-expired   listed everywhere          200, X-Device-Mac its own
  polycom-valid     listed everywhere          200, X-Device-Mac its own
  polycom-unlisted  genuine, in no list        403
  rogue-polycom     claims a listed MAC        403
  (no certificate)                             403
  polycom-expired asking for polycom-valid's file (DevprovBindPath)  403

against two virtual hosts: "file" (DevprovAllowlist) and "sql"
(DevprovAllowlistSQL on PostgreSQL, ttl=5).  The server echoes DEVICE_MAC
in a response header, so a request answered with another phone's identity
is caught.  Half the connections carry one request, half 2-20 (kept
alive).

Phase 1, steady: no faults; the children's RSS is sampled every few
seconds and must stay flat (growth over the second half below 16 MB for
all children together: httpd's 250 threads and their allocators still
warm up; "--steady-only --only plain", the same load on a vhost without
devprov, shows the same slow growth).
Phase 2, faults, with the load still running:
  - the allowlist file replaced by rename, and rewritten in place by
    truncation ("cat new > list"), repeatedly;
  - "apache2 -k graceful" (SIGUSR1), twice;
  - a DevprovTrust CA file removed: "apache2 -t" must fail naming the
    directive and the file, and the running server must keep serving;
    then the file is put back;
  - PostgreSQL stopped for a while and started again: listed phones on
    "sql" get 200 or 503 (never 403), others never 200.

A wrong answer is a 200 for a client that must not get one, a 200 with
another DEVICE_MAC, or a 403 for a listed phone (where a 503 is allowed:
the database is down).  A failed request is a connection error or any
other status.  A kept-alive connection that the server closes before
answering (a graceful restart retires its process) is retried once on a
new connection, as HTTP clients do for idempotent requests (RFC 9112
9.3.1); such retries are counted and reported, not failed.

Exit status 1 on any wrong answer, failed request, unexpected error-log
line or RSS growth.  Needs root and a build (make all).

    /usr/bin/python3 tests/soak.py [-c 100] [-d 60] [-o bench/results/soak.md]
"""
import argparse
import datetime
import http.client
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "t"))
sys.path.insert(0, str(ROOT / "bench"))

from conftest import (BAD_LEVEL, BENIGN, MODDIR, Httpd, Postgres,  # noqa
                      cpu_model, make_pki)
from reload_under_load import (PhoneConnection, children_rss,  # noqa
                               replace_atomically)

LISTED = {"polycom-expired": "0004f2000002", "polycom-valid": "0004f2000001"}
KINDS = ["polycom-expired", "polycom-valid", "polycom-unlisted",
         "rogue-polycom", None, "bindpath"]
QUERY = "SELECT allowed, label FROM phones WHERE mac = %s"
# ServerLimit leaves room for two generations of children: with 8, the
# second of two graceful restarts 4 s apart found the scoreboard full of
# the first one's finishing children and some new connections were closed
# unanswered (httpd's capacity, seen with and without devprov's vhosts)
MPM_SOAK = """StartServers 4
ServerLimit 16
ThreadsPerChild 50
MaxRequestWorkers 400
MinSpareThreads 50
MaxSpareThreads 400
AsyncRequestWorkerFactor 4
MaxMemFree 256
"""
# error-log lines the faults cause (and only those)
EXPECTED_LOG = [
    r"DevprovAllowlistSQL .*cannot answer",
    r"\[dbd:error\]",
    # a child started while the database is down: mod_dbd sets up its
    # pool at the first lookup instead
    r"\[dbd:crit\].*AH00636: child init failed",
]


class Load:
    def __init__(self, srv, pki, clients):
        self.srv, self.pki, self.n = srv, pki, clients
        self.ctx = {}
        for kind in KINDS:
            ctx = ssl.create_default_context(
                cafile=str(pki / "server/ca.pem"))
            dev = "polycom-expired" if kind == "bindpath" else kind
            if dev:
                ctx.load_cert_chain(str(pki.cert(dev)), str(pki.key(dev)))
            self.ctx[kind] = ctx
        self.vhosts, self.kinds = ["file", "sql"], KINDS
        self.lock = threading.Lock()
        self.db_down = threading.Event()
        self.stop = threading.Event()
        self.reset()

    def reset(self):
        self.phase_start = time.time()
        with self.lock:
            self.requests = self.connections = self.retries = 0
            self.wrong, self.failed = [], []

    def judge(self, vhost, kind, status, mac):
        """None if right, else why it is wrong ('wrong' or 'failed')."""
        if vhost == "plain":            # no devprov: a baseline
            return None if status == 200 and mac in ("", "(null)") else (
                "failed", f"{kind} got {status} {mac!r} without devprov")
        listed = kind in LISTED
        db_down = vhost == "sql" and self.db_down.is_set()
        if status == 200:
            if not listed:
                return "wrong", f"{kind} got 200"
            if mac != LISTED[kind]:
                return "wrong", f"{kind} got 200 as {mac!r}"
            return None
        if status == 403:
            if listed:
                return "wrong", f"{kind} (listed) got 403"
            return None
        if status == 503 and (db_down or self.db_grace()):
            return None                 # the database did not answer
        return "failed", f"{kind} got {status}"

    def db_grace(self):
        return time.time() < getattr(self, "db_grace_until", 0)

    def worker(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            vhost = rng.choice(self.vhosts)
            kind = rng.choice(self.kinds)
            n = 1 if rng.random() < 0.5 else rng.randint(2, 20)
            path = "/0004f2000001.cfg" if kind == "bindpath" else "/ok.txt"
            self.connection(vhost, kind, path, n)

    def connection(self, vhost, kind, path, n):
        port = self.srv.port(vhost)
        conn = PhoneConnection("localhost", port, context=self.ctx[kind],
                               timeout=30)
        done, reqs, retries, bad = 0, 0, 0, []
        try:
            while done < n and not self.stop.is_set():
                last = done == n - 1
                try:
                    conn.request("GET", path, headers=(
                        {"Connection": "close"} if last else {}))
                    resp = conn.getresponse()
                    resp.read()
                except (http.client.RemoteDisconnected,
                        ConnectionResetError, BrokenPipeError,
                        ssl.SSLEOFError) as e:
                    if done > 0 and retries == 0:
                        # closed while idle between requests: retry once
                        retries += 1
                        conn.close()
                        conn = PhoneConnection("localhost", port,
                                               context=self.ctx[kind],
                                               timeout=30)
                        continue
                    bad.append(("failed", f"{kind} on {vhost}: "
                                f"{type(e).__name__}: {e}"))
                    reqs += 1
                    break
                reqs += 1
                done += 1
                verdict = self.judge(vhost, kind, resp.status,
                                     resp.getheader("X-Device-Mac", ""))
                if verdict:
                    bad.append((verdict[0], f"{verdict[1]} on {vhost} "
                                f"{path}"))
                if resp.will_close:
                    break
        except (OSError, http.client.HTTPException) as e:
            reqs += 1
            bad.append(("failed", f"{kind} on {vhost}: {type(e).__name__}: "
                        f"{e}"))
        finally:
            conn.close()
        with self.lock:
            self.requests += reqs
            self.connections += 1
            self.retries += retries
            stamp = time.time()
            for what, msg in bad:
                msg = f"+{stamp - self.phase_start:.1f} s: {msg}"
                (self.wrong if what == "wrong" else self.failed).append(
                    (stamp, msg))

    def start(self):
        self.threads = [threading.Thread(target=self.worker, args=(i,),
                                         daemon=True) for i in range(self.n)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def fleet_view(srv):
    """The fleet page's JSON: the phones of the load are recorded (the
    two listed ones, the genuine unlisted one waiting, no other), with
    the table's own numbers; {"error": ...} if not."""
    import json
    import urllib.request
    url = f"http://127.0.0.1:{srv.port('fleet')}/devprov-fleet?json"
    try:
        with urllib.request.urlopen(url, timeout=30) as res:
            doc = json.loads(res.read())
    except Exception as e:              # noqa: BLE001 (reported)
        return {"error": f"{url}: {e!r}"}
    phones = {p["mac"]: p for p in doc["phones"]}
    waiting = sorted(p["mac"] for p in doc["waiting"])
    summary = (f"{doc['phones_recorded']} phones "
               + ", ".join(f"{m} {p['requests']} requests "
                           f"({p['refused']} refused, {p['state']})"
                           for m, p in sorted(phones.items()))
               + f"; waiting {waiting}; capacity {doc['capacity']}, "
               f"evicted {doc['evicted']}, dropped updates "
               f"{doc['dropped_updates']}")
    if sorted(phones) != ["0004f2000001", "0004f2000002"] \
            or waiting != ["0004f2999999"]:
        return {"error": "unexpected phones: " + summary}
    return {"summary": summary}


def rss_total(pid):
    return sum(children_rss(pid).values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--clients", type=int, default=100)
    ap.add_argument("-d", "--duration", type=int, default=60,
                    help="seconds of steady load (the faults take as long)")
    ap.add_argument("-o", "--output",
                    default=str(ROOT / "bench/results/soak.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (logs) for inspection")
    ap.add_argument("--only", metavar="VHOST:KIND,...",
                    help="diagnosis: only these vhosts (file, sql, plain: "
                    "the same without devprov) and "
                    "client kinds (e.g. file:rogue-polycom,none)")
    ap.add_argument("--steady-only", action="store_true",
                    help="diagnosis: no fault phase")
    ap.add_argument("--fault-seconds", type=int, default=None,
                    help="seconds of the fault phase (default: as long as "
                    "the steady phase)")
    ap.add_argument("--fleet", action="store_true",
                    help="with DevprovFleet (the per-phone record) on, "
                    "and its page checked after each phase")
    a = ap.parse_args()
    t_start = time.time()
    fleet_seen = []
    work = Path(tempfile.mkdtemp(prefix="devprov-soak-"))
    work.chmod(0o755)
    srv = pg = load = None
    try:
        pki = make_pki(work / "pki")

        pg = Postgres(work / "pg")
        pg.sql("CREATE DATABASE provisioning")
        pg.sql((ROOT / "conf/sql/schema.sql").read_text()
               + "CREATE ROLE devprov LOGIN PASSWORD 'ro';"
               "GRANT SELECT ON phones TO devprov;"
               "INSERT INTO phones (mac, label) VALUES "
               "('0004f2000001', 'valid'), ('0004f2000002', 'expired')",
               db="provisioning")

        srv = Httpd(work, "httpd", pki)
        www = work / "www"
        www.mkdir()
        (www / "ok.txt").write_text("ok\n")
        (www / "0004f2000001.cfg").write_text("valid's file\n")
        allow = work / "allowlist"
        lists = [work / "list-a", work / "list-b"]
        for i, f in enumerate(lists):
            f.write_text("0004f2000001 valid\n0004f2000002 expired\n"
                         + "".join(f"0004f2{0x200000 + j:06x} filler-{i}\n"
                                   for j in range(50000 * (i + 1))))
            f.chmod(0o644)
        shutil.copyfile(lists[0], allow)
        allow.chmod(0o644)
        ca_dir = work / "ca"
        ca_dir.mkdir()
        for name in ("root.pem", "issuing.pem"):
            shutil.copyfile(pki / "polycom" / name, ca_dir / name)
        common = ("LogLevel info ssl:warn\n"
                  f"DocumentRoot {www}\n<Directory {www}>\nRequire all "
                  "granted\n</Directory>\n"
                  'Header always set X-Device-Mac "%{DEVICE_MAC}e"\n'
                  f"DevprovEngine on\nDevprovTrust polycom {ca_dir}/root.pem "
                  f"{ca_dir}/issuing.pem\n"
                  "DevprovDeny unlisted\nDevprovBindPath on\n")
        # mpm_event:debug: how often it closes kept-alive connections
        conf = ("LogLevel info ssl:warn devprov:info mpm_event:debug\n"
                f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n"
                f"LoadModule headers_module {MODDIR}/mod_headers.so\n"
                # sized for the load: with Debian's sizing, 100 clients
                # on 2 cores make mpm_event refuse new connections and
                # close kept-alive ones ("Too many open connections"),
                # which is httpd's overload behaviour, not devprov's
                + MPM_SOAK
                + "KeepAlive on\nMaxKeepAliveRequests 100\n"
                + srv.tls_vhost("file", common
                                + f"DevprovAllowlist {allow} 1\n",
                                cafile=None)
                # the same without devprov, a baseline (--only plain)
                + srv.tls_vhost("plain", common.split("DevprovEngine")[0],
                                cafile=None)
                + srv.tls_vhost("sql", common
                                + "DBDriver pgsql\nDBDParams \"host=127.0.0.1"
                                f" port={pg.port} dbname=provisioning "
                                "user=devprov password=ro connect_timeout=2\"\n"
                                f'DevprovAllowlistSQL "{QUERY}" ttl=5 '
                                "unlisted-ttl=2\n", cafile=None))
        if a.fleet:
            fport = srv.port("fleet")
            conf = ("DevprovFleet fleet.dat entries=20000\n"
                    f"Listen 127.0.0.1:{fport}\n"
                    f"<VirtualHost 127.0.0.1:{fport}>\n"
                    "<Location /devprov-fleet>\nSetHandler devprov-fleet\n"
                    "Require ip 127.0.0.1\n</Location>\n</VirtualHost>\n"
                    + conf)
        srv.start(conf)
        srv.mark()
        pid = srv.proc.pid
        load = Load(srv, pki, a.clients)
        if a.only:
            v, _, k = a.only.partition(":")
            load.vhosts = v.split(",")
            if k:
                load.kinds = [None if x == "none" else x
                              for x in k.split(",")]

        # ---- phase 1: steady
        print(f"soak: {a.clients} clients, {a.duration} s steady...",
              file=sys.stderr, flush=True)
        load.start()
        rss = []
        t0 = time.time()
        while time.time() - t0 < a.duration:
            time.sleep(min(5, a.duration - (time.time() - t0)))
            rss.append((time.time() - t0, rss_total(pid),
                        len(children_rss(pid))))
        steady = dict(requests=load.requests, connections=load.connections,
                      retries=load.retries, wrong=list(load.wrong),
                      failed=list(load.failed), seconds=time.time() - t0)
        if a.fleet:
            fleet_seen.append(("steady", fleet_view(srv)))
        load.reset()

        # ---- phase 2: faults under the same load
        print("soak: faults...", file=sys.stderr, flush=True)
        events = []

        def event(what):
            events.append((time.time() - t0, what))
            print(f"soak: {what}", file=sys.stderr, flush=True)

        t0 = time.time()
        fault_s = a.fault_seconds if a.fault_seconds else a.duration
        fault_end = t0 + fault_s
        configtest = None
        if a.steady_only:
            fault_end = t0
        else:
            step = max(fault_s / 8, 3)
            # 1. list replaced by rename, and rewritten by truncation
            for k in range(3):
                replace_atomically(lists[(k + 1) % 2], allow)
                event("allowlist replaced (rename)")
                time.sleep(step / 3)
                with open(allow, "w") as f:        # cat new > list
                    f.write(lists[k % 2].read_text())
                event("allowlist rewritten in place (truncate, write)")
                time.sleep(step / 3)
            # 2. graceful restarts
            for _ in range(2):
                srv.proc.send_signal(signal.SIGUSR1)
                event("apache2 -k graceful")
                time.sleep(step / 2)
            # 3. a CA file removed before a restart
            (ca_dir / "issuing.pem").rename(ca_dir / "issuing.pem.moved")
            t = subprocess.run(["apache2", "-t", "-f", str(srv.dir / "httpd.conf")],
                               capture_output=True, text=True, timeout=60)
            configtest = (t.returncode, t.stderr.strip().splitlines()[-1:]
                          if t.stderr else [])
            event(f"CA file removed: apache2 -t exit {t.returncode}: "
                  f"{' '.join(configtest[1])[:160]}")
            time.sleep(step / 2)
            (ca_dir / "issuing.pem.moved").rename(ca_dir / "issuing.pem")
            event("CA file put back")
            # 4. the database stopped and started
            load.db_down.set()
            pg.stop()
            event("PostgreSQL stopped")
            time.sleep(step)
            pg.start()
            # answers may be 503 until each pooled connection heals
            load.db_grace_until = time.time() + 5
            load.db_down.clear()
            event("PostgreSQL started")
        while time.time() < fault_end:
            time.sleep(0.5)
        load.finish()
        faults = dict(requests=load.requests, connections=load.connections,
                      retries=load.retries, wrong=list(load.wrong),
                      failed=list(load.failed), seconds=time.time() - t0)
        time.sleep(0.3)
        if a.fleet:
            fleet_seen.append(("faults", fleet_view(srv)))
        log = srv.new_log()
        srv.stop()
        srv = None
    finally:
        if load is not None:
            load.finish()
        if srv is not None:
            srv.stop()
        if pg is not None:
            pg.destroy()
        if a.keep:
            print(f"soak: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    unexpected = [ln for ln in log.splitlines() if BAD_LEVEL.search(ln)
                  and not BENIGN.search(ln)
                  and not any(re.search(p, ln) for p in EXPECTED_LOG)]
    # a process started or retired changes the total: compare samples
    # with as many processes as at the end
    half = [r for t, r, n in rss if t >= a.duration / 2 and n == rss[-1][2]]
    growth = (max(half) - min(half)) if half else 0
    rss_ok = growth < 16 * 1024            # kB, across all children
    configtest_ok = configtest is None or (
        configtest[0] != 0 and "DevprovTrust" in " ".join(configtest[1])
        and "issuing.pem" in " ".join(configtest[1]))
    problems = []
    for name, view in fleet_seen:
        if view.get("error"):
            problems.append(f"fleet page after {name}: {view['error']}")
    for name, ph in (("steady", steady), ("faults", faults)):
        if ph["wrong"]:
            problems.append(f"{len(ph['wrong'])} wrong answers ({name})")
        if ph["failed"]:
            problems.append(f"{len(ph['failed'])} failed requests ({name})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected error-log lines")
    if not rss_ok:
        problems.append(f"children's RSS grew {growth // 1024} MB in the "
                        "second half of the steady phase")
    if not configtest_ok:
        problems.append(f"apache2 -t with a CA file missing: {configtest}")

    cpu = cpu_model()
    out = [
        "# Soak and faults",
        "",
        f"`make {'soak-fleet' if a.fleet else 'soak'}` (tests/soak.py "
        f"{' '.join(sys.argv[1:])}), "
        f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {cpu}, "
        f"{os.cpu_count()} CPUs; {a.clients} client threads, apache2 "
        "event MPM (4 processes of 50 threads) and PostgreSQL on the same "
        "machine.",
        "",
        "| phase | seconds | requests | connections | wrong answers | "
        "failed | retried (closed kept-alive) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ph in (("steady", steady), ("faults", faults)):
        out.append(f"| {name} | {ph['seconds']:.0f} | {ph['requests']} | "
                   f"{ph['connections']} | {len(ph['wrong'])} | "
                   f"{len(ph['failed'])} | {ph['retries']} |")
    # a long run: about 30 of its samples (every one is in the check)
    shown = rss[::max(1, len(rss) // 30)]
    if rss and shown[-1] is not rss[-1]:
        shown.append(rss[-1])
    out += ["", "Children's RSS (all children, MB) during the steady phase"
            + (f" (every {max(1, len(rss) // 30)}th of {len(rss)} samples)"
               if len(shown) < len(rss) else "") + ": "
            + ", ".join(f"{t:.0f} s: {r / 1024:.0f} ({n} processes)"
                        for t, r, n in shown)
            + f"; growth over the second half {growth / 1024:.1f} MB.",
            "", "Faults (seconds into the phase):", ""]
    out += [f"- {t:.1f} s: {what}" for t, what in events]
    for name, ph in (("steady", steady), ("faults", faults)):
        for t, msg in (ph["wrong"] + ph["failed"])[:15]:
            out.append(f"- {name}: {msg}")
    for ln in unexpected[:15]:
        out.append(f"- unexpected log line: {ln}")
    for name, view in fleet_seen:
        out += ["", f"Fleet record (DevprovFleet) after the {name} phase: "
                + view.get("summary", view.get("error", "?"))]
    out += ["", "Result: " + ("PASS" if not problems
                             else "FAIL: " + "; ".join(problems))]
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    Path(a.output).write_text("\n".join(out) + "\n")
    print("\n".join(out))
    print(f"({time.time() - t_start:.0f} s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
