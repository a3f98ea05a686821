#!/usr/bin/python3
"""Allowlist reloads under load: a real apache2 (patched mod_ssl and
mod_devprov, started with the integration tests' harness t/conftest.py)
serves an allowlisted phone to N client threads while the allowlist file
is replaced again and again with lists of 100k-1M entries.

    DevprovAllowlist <file> 1        (checked at most every second)
    DevprovDeny unlisted             (a phone not in the list gets 403)

The phone is the test PKI's polycom-expired device (an expired but genuine
Polycom certificate).  Every list written contains it, so every request
must get 200: a non-200 status or a connection error is a failure.  The
clients use Python's ssl with the phone's certificate, half of them one
request per connection (a new TLS handshake and a new devprov verdict, so
the new list is consulted), half a kept-alive connection for 2-20
requests.

The lists are replaced as the README says (write a temporary file, then
rename it over the list) and, every fourth time, rewritten in place.  The
in-place rewrite never truncates the file first (open without O_TRUNC,
write in 1 MB chunks, truncate to the new length at the end) and every list
starts with the phone's line, so a process that reads a half-written
file sees either a list that still has the phone or a malformed one it
rejects (logged at error level: "keeping the N entries read before"); a
truncating rewrite (shell ">") could let a process install an empty list.

The parent process re-reads the file (checked about every 10 s, in the
MPM's maintenance loop) and shares it as an image that the children map;
a replacement overtaken by the next one before a check is never read.

Reported: requests, failures, the parent's re-reads and the children's
switches to them (error log), rejected half-written versions, client
latency (p50/p99/max, new and kept-alive connections), the server's
request durations (%D), the time from a replacement until the parent
re-read it and until the last child used it (error log timestamps), the
time the parent took to read the list and write its image (logged by it)
and, for comparison, the load time of each list alone, measured with the
same code (allowlist_bench --load).  Exit status 1 on any failure.
Needs root (apache2 runs its children as www-data) and a build (make all;
the generator and loader: make build/bench/allowlist_bench).

    /usr/bin/python3 bench/reload_under_load.py [-d 45] [-c 16]
        [--bench-bin build/bench/allowlist_bench] [-o bench/results/reload.md]
"""
import argparse
import datetime
import http.client
import os
import random
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "t"))

from conftest import (BAD_LEVEL, BENIGN, DEVPROV, MPM_DEBIAN, PATCHED_SSL,  # noqa
                      Httpd, cpu_model, make_pki)

PHONE = "polycom-expired"        # allowlisted in every list written
OTHER = "polycom-valid"          # in no list: must get 403 (sanity check)
# lists cycled through (entries); the phone's line comes first in each
POOL_SIZES = [100_000, 1_000_000, 250_000, 500_000, 1_000_000, 100_000,
              750_000, 1_000_000]
# Debian's mpm_event.conf, after the harness's test sizing (8 threads per
# process, at most 4 processes, surplus processes retired).  With the
# harness's sizing, 16 clients keep all of a process's workers busy now and
# then, and mpm_event then closes that process's idle kept-alive
# connections ("All workers busy": "kill'em all" in event.c), and it
# retires processes with their kept-alive connections: a client that sends
# its next request on such a connection gets no response (an HTTP client
# would retry it on a new connection).  That happens without any reload
# (--mpm harness --baseline shows it); with Debian's sizing, only a process
# whose every worker waits for a reload could do it.
# error-log lines (warn or worse) this benchmark may cause
EXPECTED_LOG = [r"devprov: DevprovAllowlist: .*; keeping the \d+ entries "
                r"read before"]
LOG_TIME = re.compile(r"^\[(\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{6} \d{4})\]"
                      r".*\[pid (\d+)")
# the parent re-reads the file and shares it; each child then switches
REREAD = re.compile(r"devprov: DevprovAllowlist (\S+) re-read: (\d+) entries "
                    r"in (\d+) ms")
SWITCH = re.compile(r"devprov: DevprovAllowlist (\S+): now the list the parent "
                    r"re-read, (\d+) entries")


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def log_time(stamp):
    return datetime.datetime.strptime(
        stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()


class PhoneConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1, with SNI and certificate check for localhost."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port),
                                        self.timeout)
        self.sock = self._context.wrap_socket(sock,
                                              server_hostname="localhost")


def client_context(pki, device):
    ctx = ssl.create_default_context(cafile=str(pki / "server/ca.pem"))
    ctx.load_cert_chain(str(pki.cert(device)), str(pki.key(device)))
    return ctx


def one_request(port, ctx, path="/ok.txt"):
    conn = PhoneConnection("localhost", port, context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


class Clients:
    def __init__(self, port, ctx, n, seconds):
        self.port, self.ctx, self.n, self.seconds = port, ctx, n, seconds
        self.lock = threading.Lock()
        self.lat_new, self.lat_kept = [], []
        self.requests = self.connections = 0
        self.failures = []                    # (time, description)

    def worker(self, seed, deadline):
        rng = random.Random(seed)
        lat_new, lat_kept, fails = [], [], []
        requests = connections = 0
        while time.time() < deadline:
            n = 1 if rng.random() < 0.5 else rng.randint(2, 20)
            conn = PhoneConnection("localhost", self.port, context=self.ctx,
                                   timeout=30)
            connections += 1
            i = 0
            try:
                for i in range(n):
                    last = i == n - 1 or time.time() >= deadline
                    t0 = time.perf_counter()
                    conn.request("GET", "/ok.txt", headers=(
                        {"Connection": "close"} if last else {}))
                    resp = conn.getresponse()
                    body = resp.read()
                    dt = time.perf_counter() - t0
                    requests += 1
                    (lat_new if i == 0 else lat_kept).append(dt)
                    if resp.status != 200 or body != b"ok\n":
                        fails.append((time.time(), f"status {resp.status} "
                                      f"(request {i + 1} of the connection)"))
                    if last:
                        break
            except (OSError, http.client.HTTPException) as e:
                requests += 1
                fails.append((time.time(), f"{type(e).__name__}: {e} "
                              f"(request {i + 1} of the connection)"))
            finally:
                conn.close()
        with self.lock:
            self.lat_new += lat_new
            self.lat_kept += lat_kept
            self.requests += requests
            self.connections += connections
            self.failures += fails

    def start(self):
        deadline = time.time() + self.seconds
        self.threads = [threading.Thread(target=self.worker,
                                         args=(i, deadline), daemon=True)
                        for i in range(self.n)]
        for t in self.threads:
            t.start()
        return deadline

    def join(self):
        for t in self.threads:
            t.join(60)


def write_in_place(src, dst):
    """Rewrite DST with SRC's bytes without truncating it first."""
    fd = os.open(dst, os.O_WRONLY)
    try:
        with open(src, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                os.write(fd, chunk)
        os.ftruncate(fd, os.path.getsize(src))
    finally:
        os.close(fd)


def replace_atomically(src, dst):
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.chmod(0o644)
    os.replace(tmp, dst)


def children_rss(pid):
    """VmRSS (kB) of each child process of PID."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            for line in (d / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[int(d.name)] = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-d", "--duration", type=float, default=45,
                    help="seconds of load (default 20)")
    ap.add_argument("-c", "--clients", type=int, default=16,
                    help="client threads (default 16)")
    ap.add_argument("--every", type=float, default=6,
                    help="seconds between replacements (default 1.2)")
    ap.add_argument("--mpm", choices=("debian", "harness"), default="debian",
                    help="server sizing: Debian's mpm_event.conf (default) "
                    "or the test harness's (8 threads per process)")
    ap.add_argument("--baseline", action="store_true",
                    help="the same load without replacing the list")
    ap.add_argument("--bench-bin", default=str(ROOT / "build/bench/"
                                               "allowlist_bench"))
    ap.add_argument("-o", "--output", default=str(ROOT / "bench/results/"
                                                  "reload.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    args = ap.parse_args()

    for p in (PATCHED_SSL, DEVPROV, Path(args.bench_bin)):
        if not Path(p).exists():
            sys.exit(f"{p} missing: run make all build/bench/allowlist_bench")
    if os.geteuid() != 0:
        sys.exit("needs root: apache2 runs its children as www-data")

    # SIGTERM/SIGINT: still stop the server in the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    work = Path(tempfile.mkdtemp(prefix="devprov-bench-"))
    work.chmod(0o755)
    started = []                           # the Httpd, once created
    try:
        return run(args, work, started)
    finally:
        for srv in started:
            srv.stop()                     # our own apache2, by its pid
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work, started):
    t_start = time.time()
    load_before = Path("/proc/loadavg").read_text().split()[0]
    print("reload_under_load: test PKI, lists...", file=sys.stderr)
    pki = make_pki(work / "pki", quiet=True)
    mac = pki.mac(PHONE)
    phone_line = f"{mac} bench-phone site=bench vendor=polycom"

    pool = work / "pool"
    pool.mkdir()
    pool.chmod(0o755)
    files = []
    for i, n in enumerate(POOL_SIZES):
        f = pool / f"list-{i}-{n}"
        subprocess.run([args.bench_bin, "--gen", str(n), str(1000 + i),
                        str(f), phone_line], check=True)
        f.chmod(0o644)
        files.append((f, n))
    load_ms = {}
    for f, n in files:
        out = subprocess.run([args.bench_bin, "--load", str(f), "3"],
                             check=True, capture_output=True, text=True)
        m = re.search(r"entries=(\d+) best_ms=([\d.]+) median_ms=([\d.]+) "
                      r"memory=(\d+)", out.stdout)
        assert m and int(m.group(1)) == n + 1, out.stdout
        load_ms.setdefault(n, []).append(float(m.group(3)))

    srv = Httpd(work, "reload", pki)
    started.append(srv)
    www = srv.dir / "www"
    www.mkdir()
    (www / "ok.txt").write_text("ok\n")
    for p in (www, www / "ok.txt"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    allow = srv.dir / "allowlist"
    shutil.copyfile(files[0][0], allow)
    allow.chmod(0o644)
    trust = (f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
             f"{pki / 'polycom/issuing.der'} "
             f"{pki / 'polycom/issuing-expired.pem'}\n")
    body = srv.tls_vhost("v", (
        "DevprovEngine on\n" + trust +
        f"DevprovAllowlist {allow} 1\n"
        "DevprovDeny unlisted\n"
        "KeepAlive on\nMaxKeepAliveRequests 1000\nKeepAliveTimeout 10\n"
        f"Alias /ok.txt {www}/ok.txt\n"
        f"<Directory {www}>\n    Require all granted\n</Directory>\n"
        # pid, duration (us), status, keep-alive count, begin (s.us)
        f'CustomLog {srv.dir}/logs/bench.log '
        '"%P %D %>s %k %{%s}t.%{usec_frac}t"\n'), cafile=None)
    # no per-connection lines: the log is for reloads and problems (and
    # mpm_event's "All workers busy", when it closes kept-alive connections)
    body = ("LogLevel info ssl:warn devprov:info mpm_event:debug\n"
            + (MPM_DEBIAN if args.mpm == "debian" else "") + body)
    print("reload_under_load: starting apache2...", file=sys.stderr)
    srv.start(body)
    srv.mark()
    port = srv.port("v")
    ctx = client_context(pki, PHONE)

    # sanity: the phone is served, a phone that is not listed is refused
    assert one_request(port, ctx) == 200, "listed phone not served"
    other = one_request(port, client_context(pki, OTHER))
    assert other == 403, f"unlisted phone got {other}, not 403"

    print(f"reload_under_load: {args.clients} clients for "
          f"{args.duration:.0f} s, " + ("no replacements (baseline)..."
          if args.baseline else f"replacing the list every {args.every} s..."),
          file=sys.stderr)
    clients = Clients(port, ctx, args.clients, args.duration)
    deadline = clients.start()
    replacements = []                   # (time, kind, entries)
    k = 1
    rng = random.Random(5)
    time.sleep(min(1.0, args.every))
    while time.time() < deadline - 0.5 and not args.baseline:
        f, n = files[k % len(files)]
        kind = "in place" if k % 4 == 0 else "rename"
        t = time.time()
        if kind == "rename":
            replace_atomically(f, allow)
        else:
            write_in_place(f, allow)
        replacements.append((t, time.time(), kind, n))
        k += 1
        time.sleep(max(0.0, min(deadline - time.time(),
                                args.every * rng.uniform(0.7, 1.3)
                                - (time.time() - t))))
    clients.join()
    # let every process see the last version (new connections do the check)
    end_wait = time.time() + 3
    while time.time() < end_wait:
        try:
            one_request(port, ctx)
        except OSError:
            pass
        time.sleep(0.1)
    rss = children_rss(srv.proc.pid)
    time.sleep(0.2)
    log = srv.new_log()
    unexpected = [line for line in log.splitlines()
                  if BAD_LEVEL.search(line) and not BENIGN.search(line)
                  and not any(re.search(p, line) for p in EXPECTED_LOG)]
    busy = log.count("All workers busy")
    rejected = sum(1 for line in log.splitlines()
                   if re.search(EXPECTED_LOG[0], line))
    srv.stop()

    # the parent's re-reads (time, pid, entries, ms) and the children's
    # switches to them (time, pid, entries), from the error log
    reloads, switches = [], []
    reload_ms = {}
    for line in log.splitlines():
        m, r, w = LOG_TIME.match(line), REREAD.search(line), SWITCH.search(line)
        if m and r:
            reloads.append((log_time(m.group(1)), int(m.group(2)),
                            int(r.group(2))))
            reload_ms.setdefault(int(r.group(2)) - 1, []).append(
                int(r.group(3)))
        elif m and w:
            switches.append((log_time(m.group(1)), int(m.group(2)),
                             int(w.group(2))))
    pids = sorted({p for _, p, _ in switches})
    # per replacement: delay until the parent re-read it / the last child
    # switched to it (a replacement overtaken by the next one before the
    # parent's check is never read: that is by design)
    first_delay, last_delay = [], []
    for i, (t0, t1, kind, n) in enumerate(replacements):
        nxt = replacements[i + 1][0] if i + 1 < len(replacements) else 1e18
        seen = [t for t, _, e in reloads if t1 <= t < nxt and e == n + 1]
        used = [t for t, _, e in switches if t1 <= t and e == n + 1]
        if seen:
            first_delay.append(min(seen) - t1)
        if seen and used:
            last_delay.append(max(used) - t1)

    durations = []                      # the server's request times, ms
    for line in (srv.dir / "logs/bench.log").read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[2] == "200":
            durations.append(int(parts[1]) / 1000)

    lat_all = clients.lat_new + clients.lat_kept
    ms = 1000
    failures = clients.failures
    problems = []
    if failures:
        problems.append(f"{len(failures)} failed requests")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected error-log lines")
    if not reloads and not args.baseline:
        problems.append("no reload seen in the error log")
    ok = not problems

    rows = [
        ("duration", f"{args.duration:.0f} s, {args.clients} client threads "
                     f"(half one request per connection, half kept-alive "
                     f"2-20)"),
        ("server", "mpm_event, " + (
            "Debian's sizing (2+ processes of 25 threads)"
            if args.mpm == "debian" else
            "the test harness's sizing (up to 4 processes of 8 threads)")),
        ("requests", f"{clients.requests} ({clients.requests / args.duration:.0f}/s) "
                     f"on {clients.connections} connections"),
        ("failures", f"{len(failures)}"),
        ("replacements", f"{len(replacements)} "
                         f"({sum(1 for r in replacements if r[2] == 'rename')} "
                         f"rename, "
                         f"{sum(1 for r in replacements if r[2] != 'rename')} "
                         f"in place), lists of "
                         f"{min(POOL_SIZES) // 1000}k-"
                         f"{max(POOL_SIZES) // 1000}k entries"),
        ("re-reads by the parent, switches by the children",
         f"{len(reloads)}, {len(switches)} in {len(pids)} children"),
        ("half-written versions rejected", f"{rejected}"),
        ("mpm_event \"All workers busy\" (kept-alive connections closed)",
         f"{busy}"),
        ("latency, all requests",
         f"p50 {pct(lat_all, 50) * ms:.1f} ms, p99 {pct(lat_all, 99) * ms:.1f} "
         f"ms, max {max(lat_all, default=0) * ms:.0f} ms"),
        ("latency, first request of a connection (TLS handshake)",
         f"p50 {pct(clients.lat_new, 50) * ms:.1f} ms, "
         f"p99 {pct(clients.lat_new, 99) * ms:.1f} ms"),
        ("latency, kept-alive requests",
         f"p50 {pct(clients.lat_kept, 50) * ms:.1f} ms, "
         f"p99 {pct(clients.lat_kept, 99) * ms:.1f} ms"),
        ("server request time (%D)",
         f"p50 {pct(durations, 50):.2f} ms, p99 {pct(durations, 99):.1f} ms, "
         f"max {max(durations, default=0):.0f} ms"),
        ("replacement to the parent's re-read (checks about every 10 s)",
         f"median {statistics.median(first_delay) * ms:.0f} ms, "
         f"max {max(first_delay) * ms:.0f} ms" if first_delay else "-"),
        ("replacement to the last child using it",
         f"median {statistics.median(last_delay) * ms:.0f} ms, "
         f"max {max(last_delay) * ms:.0f} ms" if last_delay else "-"),
        ("re-read and image write in the parent (logged), median / max",
         ", ".join(f"{n // 1000}k: {statistics.median(v):.0f} / "
                   f"{max(v):.0f} ms" for n, v in sorted(reload_ms.items()))
         or "-"),
        ("load time of a list alone (allowlist_bench --load, median of 3)",
         ", ".join(f"{n // 1000}k: {statistics.median(v):.0f} ms"
                   for n, v in sorted(load_ms.items()))),
        ("apache children RSS at the end",
         ", ".join(f"{v // 1024} MB" for _, v in sorted(rss.items()))),
        ("result", "PASS" if ok else "FAIL: " + "; ".join(problems)),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k_, v in rows:
        print(f"{k_:<{width}}  {v}")
    for t, what in failures[:20]:
        print(f"  failure at +{t - t_start:.1f} s: {what}")
    for line in unexpected[:20]:
        print(f"  unexpected log line: {line}")

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cpu = cpu_model()
    with open(out, "w") as f:
        f.write("# Allowlist reload under load\n\n"
                f"`make bench-allowlist` (bench/reload_under_load.py), "
                f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {cpu}, "
                f"{os.cpu_count()} CPUs, load average before the run "
                f"{load_before}; clients and server on the same machine."
                "\n\n"
                "apache2 (mpm_event) with "
                "`DevprovAllowlist <file> 1` and `DevprovDeny unlisted`; "
                f"every list contains the phone ({PHONE}, MAC {mac}), so "
                "every request must get 200.  Replacements: write a "
                "temporary file and rename it; every fourth one a rewrite "
                "in place (no truncation first, the phone's line first).\n\n"
                "| | |\n|---|---|\n")
        for k_, v in rows:
            f.write(f"| {k_} | {v} |\n")
        if failures:
            f.write("\nFailures:\n\n")
            for t, what in failures[:20]:
                f.write(f"- +{t - t_start:.1f} s: {what}\n")
        if unexpected:
            f.write("\nUnexpected error-log lines:\n\n")
            for line in unexpected[:20]:
                f.write(f"    {line}\n")
    print(f"\n({time.time() - t_start:.0f} s; written to {out})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
