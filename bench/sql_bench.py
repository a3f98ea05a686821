#!/usr/bin/python3
"""What a provisioning server costs per phone, and what the database sees.

A real apache2 (patched mod_ssl + mod_devprov, the integration tests'
harness t/conftest.py) and a real PostgreSQL on 127.0.0.1 serve a fleet of
genuine Polycom phones with expired certificates (certs/mkpki.py --fleet).
Four virtual hosts, side by side in the same server, measured in
alternating rounds so that noise hits all of them alike:

  tls        SSLVerifyClient optional_no_ca, DevprovEngine off
  file       + devprov, DevprovAllowlist (the fleet), DevprovDeny unlisted
  sql        + devprov, DevprovAllowlistSQL ttl=60 (per-process cache)
  sql-nocache  DevprovAllowlistSQL ttl=0 unlisted-ttl=0
  sql-record   sql + DevprovFleetSQL (the upsert of conf/sql/schema.sql
               into phone_seen, interval=300)

1. Handshakes: "openssl s_time -new" (one TLS handshake with a client
   certificate and one GET of a small static file per connection, one
   connection at a time) for ROUND seconds per vhost and round.  Reported:
   connections per second, the server's CPU time per connection (utime +
   stime of every apache2 process, from /proc) and so handshakes per
   second per server core, and database transactions per connection
   (pg_stat_database.xact_commit of the allowlist database).
2. Fleet boot: every phone of the fleet makes REQS requests, each on a new
   connection (as phones do after a power cut), from C client threads in
   random order, once against "sql", "sql-nocache" and "sql-record":
   database queries per phone and per second, and for "sql-record" the
   phone_seen writes per phone and per second.

Needs root (apache2's children run as www-data, PostgreSQL as postgres),
a build (make all) and Debian's postgresql.  Bounded: about 2 minutes.

    /usr/bin/python3 bench/sql_bench.py [--round 5] [--rounds 3]
        [--fleet 300] [-o bench/results/sql.md]
"""
import argparse
import datetime
import os
import platform
import queue
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "t"))

from conftest import (MODDIR, MPM_DEBIAN, Httpd, Postgres,  # noqa: E402
                      cpu_model, make_pki)
from cpumeter import tree_seconds  # noqa: E402

QUERY = ("SELECT allowed, label, pin, vendor, ext FROM phones "
         "WHERE mac = %s")
VHOSTS = ["tls", "file", "sql", "sql-nocache", "sql-record"]


def xacts(pg):
    """Executions of devprov's query so far (pg_stat_statements counts
    them as they finish; pg_stat_database lags up to 10 s behind)."""
    return int(pg.sql("SELECT coalesce(sum(calls), 0) FROM "
                      "pg_stat_statements WHERE query LIKE "
                      "'%FROM phones WHERE mac%'", db="provisioning"))


def writes(pg):
    """DevprovFleetSQL's writes so far, as the upsert counts them in each
    row's writes column"""
    return int(pg.sql("SELECT coalesce(sum(writes), 0) FROM phone_seen",
                      db="provisioning"))


def fleet_statement():
    """The upsert, as conf/sql/schema.sql documents it"""
    schema = (ROOT / "conf/sql/schema.sql").read_text()
    block = re.search(r"-- BEGIN DevprovFleetSQL\n(.*?)-- END "
                      r"DevprovFleetSQL", schema, re.S).group(1)
    return " ".join(ln[3:].strip() for ln in block.splitlines())


def settle_stats():
    time.sleep(0.2)


def s_time(port, pki, cert, key, seconds):
    p = subprocess.run(
        ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new",
         "-CAfile", str(pki / "server/ca.pem"), "-cert", str(cert),
         "-key", str(key), "-www", "/ok.txt", "-time", str(int(seconds))],
        capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"(\d+) connections in ([\d.]+)s", p.stdout)
    assert m and p.returncode == 0, p.stdout + p.stderr
    return int(m.group(1)), float(m.group(2))


def fleet_boot(port, pki, macs, reqs, clients):
    """Each phone makes REQS requests, each on a new TLS connection.
    Returns (requests, failures, seconds)."""
    work = queue.Queue()
    jobs = [m for m in macs for _ in range(reqs)]
    random.shuffle(jobs)
    for m in jobs:
        work.put(m)
    fails = []
    ctxs = {}

    def ctx_for(mac):
        c = ctxs.get(mac)
        if c is None:
            c = ssl.create_default_context(cafile=str(pki / "server/ca.pem"))
            c.load_cert_chain(str(pki / f"fleet/{mac}.pem"),
                              str(pki / "fleet/key.pem"))
            ctxs[mac] = c
        return c

    for m in macs:                      # contexts built before timing
        ctx_for(m)

    def worker():
        while True:
            try:
                mac = work.get_nowait()
            except queue.Empty:
                return
            try:
                with socket.create_connection(("127.0.0.1", port), 20) as s, \
                        ctxs[mac].wrap_socket(s, server_hostname="localhost") \
                        as t:
                    t.sendall(b"GET /ok.txt HTTP/1.0\r\nHost: localhost\r\n"
                              b"\r\n")
                    data = b""
                    while True:
                        chunk = t.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                if not data.startswith(b"HTTP/1.1 200"):
                    fails.append((mac, data[:40]))
            except OSError as e:
                fails.append((mac, str(e)))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(jobs), fails, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--round", type=int, default=5,
                    help="seconds per vhost and round (default 5)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fleet", type=int, default=300)
    ap.add_argument("--reqs", type=int, default=5,
                    help="requests (connections) per phone in the boot")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("-o", "--output", default=str(ROOT / "bench/results/"
                                                   "sql.md"))
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="devprov-sqlbench-"))
    work.chmod(0o755)
    srv = pg = None
    try:
        pki = make_pki(work / "pki", "--fleet", str(a.fleet))
        macs = pki.manifest["fleet"]

        pg = Postgres(work / "pg", options="-c shared_preload_libraries="
                      "pg_stat_statements")
        pg.sql("CREATE DATABASE provisioning")
        pg.sql("CREATE EXTENSION pg_stat_statements", db="provisioning")
        rows = ",".join(f"('{m}', 'desk-{i}', '{200 + i}')"
                        for i, m in enumerate(macs))
        pg.sql((ROOT / "conf/sql/schema.sql").read_text()
               + "CREATE ROLE devprov LOGIN PASSWORD 'ro';"
               "GRANT SELECT ON phones TO devprov;"
               "GRANT SELECT, INSERT, UPDATE ON phone_seen TO devprov;"
               f"INSERT INTO phones (mac, label, ext) VALUES {rows}",
               db="provisioning")
        dbd = (f"DBDriver pgsql\nDBDParams \"host=127.0.0.1 port={pg.port} "
               "dbname=provisioning user=devprov password=ro\"\n")

        srv = Httpd(work, "httpd", pki)
        www = work / "www"
        www.mkdir()
        (www / "ok.txt").write_text("ok\n")
        allow = work / "allowlist"
        allow.write_text("".join(f"{m} desk-{i} ext={200 + i}\n"
                                 for i, m in enumerate(macs)))
        allow.chmod(0o644)
        trust = (f"DevprovEngine on\nDevprovTrust polycom "
                 f"{pki / 'polycom/root.pem'} {pki / 'polycom/issuing.pem'}\n"
                 "DevprovDeny unlisted\n")
        bodies = {
            "tls": "",
            "file": trust + f"DevprovAllowlist {allow}\n",
            "sql": trust + dbd + f'DevprovAllowlistSQL "{QUERY}" ttl=60\n',
            "sql-nocache": trust + dbd + f'DevprovAllowlistSQL "{QUERY}" '
                                         "ttl=0 unlisted-ttl=0\n",
            "sql-record": trust + dbd + f'DevprovAllowlistSQL "{QUERY}" '
                                        "ttl=60\n"
                                        f'DevprovFleetSQL "{fleet_statement()}"'
                                        " interval=300\n",
        }
        conf = f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n" + MPM_DEBIAN
        for name in VHOSTS:
            # the harness logs at info/debug; a line per handshake would
            # cost more than what is measured
            conf += srv.tls_vhost(name, "LogLevel warn\n"
                                  f"DocumentRoot {www}\n"
                                  f"<Directory {www}>\nRequire all granted\n"
                                  f"</Directory>\n" + bodies[name])
        srv.start(conf)
        apache_pid = srv.proc.pid         # -DFOREGROUND: the parent

        cert = pki / f"fleet/{macs[0]}.pem"
        key = pki / "fleet/key.pem"
        # warm every vhost (process start, first query, caches)
        for name in VHOSTS:
            s_time(srv.port(name), pki, cert, key, 1)

        res = {n: {"conns": 0, "secs": 0.0, "cpu": 0.0, "xacts": 0}
               for n in VHOSTS}
        for rnd in range(a.rounds):
            order = VHOSTS[rnd % len(VHOSTS):] + VHOSTS[:rnd % len(VHOSTS)]
            for name in order:
                settle_stats()
                x0, c0 = xacts(pg), tree_seconds([apache_pid])
                n, secs = s_time(srv.port(name), pki, cert, key, a.round)
                c1 = tree_seconds([apache_pid])
                settle_stats()
                x1 = xacts(pg)
                r = res[name]
                r["conns"] += n
                r["secs"] += secs
                r["cpu"] += c1 - c0
                r["xacts"] += x1 - x0
                print(f"round {rnd + 1} {name:12s} {n / secs:7.0f} conn/s "
                      f"{1000 * (c1 - c0) / max(n, 1):6.2f} ms CPU/conn "
                      f"{(x1 - x0) / max(n, 1):5.2f} queries/conn",
                      flush=True)

        boot = {}
        for name in ("sql", "sql-nocache", "sql-record"):
            settle_stats()
            x0, w0 = xacts(pg), writes(pg)
            n, fails, secs = fleet_boot(srv.port(name), pki, macs, a.reqs,
                                        a.clients)
            # the record is written after the response (log_transaction)
            time.sleep(1)
            x1, w1 = xacts(pg), writes(pg)
            boot[name] = (n, len(fails), secs, x1 - x0, w1 - w0)
            print(f"fleet boot {name}: {n} requests in {secs:.1f} s, "
                  f"{len(fails)} failed, {x1 - x0} queries, {w1 - w0} "
                  "phone_seen writes", flush=True)
            if fails:
                print("  e.g.", fails[:3])

        report(a, res, boot, len(macs))
        bad = sum(b[1] for b in boot.values())
        return 1 if bad else 0
    finally:
        if srv is not None:
            srv.stop()
        if pg is not None:
            pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


def report(a, res, boot, fleet):
    cpu = cpu_model()
    base = res["tls"]
    base_rate = base["conns"] / base["secs"]
    lines = [
        "# Handshakes and database queries",
        "",
        f"`make bench-sql` (bench/sql_bench.py), "
        f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {cpu}, "
        f"{os.cpu_count()} CPUs, {platform.release()}; apache2 event MPM (Debian's sizing) and "
        "PostgreSQL on the same machine as the client.",
        "",
        f"## New TLS connections (openssl s_time -new, {a.rounds} rounds of "
        f"{a.round:g} s per vhost, alternating)",
        "",
        "| vhost | conn/s | vs tls | server CPU ms/conn | handshakes/s per "
        "server core | DB queries/conn |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in VHOSTS:
        r = res[name]
        rate = r["conns"] / r["secs"]
        per_conn = r["cpu"] / max(r["conns"], 1)
        lines.append(
            f"| {name} | {rate:.0f} | {rate / base_rate:.2f} | "
            f"{1000 * per_conn:.2f} | "
            f"{1 / per_conn if per_conn else float('nan'):.0f} | "
            f"{r['xacts'] / max(r['conns'], 1):.3f} |")
    lines += [
        "",
        f"## Fleet boot: {fleet} phones x {a.reqs} requests, each on a new "
        f"connection, {a.clients} clients",
        "",
        "| vhost | requests | failed | seconds | requests/s | DB queries | "
        "queries/phone | queries/s | phone_seen writes | writes/phone | "
        "writes/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (n, failed, secs, q, w) in boot.items():
        lines.append(f"| {name} | {n} | {failed} | {secs:.1f} | "
                     f"{n / secs:.0f} | {q} | {q / fleet:.2f} | "
                     f"{q / secs:.0f} | {w} | {w / fleet:.2f} | "
                     f"{w / secs:.0f} |")
    lines += [
        "",
        "- s_time runs one connection at a time with one phone's "
        "certificate: the conn/s column is bounded by the client and by "
        "latency; the server CPU per connection is the cost that matters "
        "for sizing, and handshakes/s per server core is its inverse.",
        "- DB queries: executions of the allowlist query counted by "
        "PostgreSQL (pg_stat_statements).",
        "- The cache is per Apache process: with it, a phone costs at most "
        "one query per process that serves it within the TTL.",
        "- phone_seen writes: DevprovFleetSQL's upserts (sql-record), "
        "counted by the rows' writes column: at most one per phone per "
        "process that serves it within interval=, like the cached "
        "allowlist queries.",
        "- The fleet boot uses Python clients (ssl module); its requests/s "
        "is bounded by the client on this 2-core machine, its query counts "
        "are exact.",
    ]
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    Path(a.output).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
