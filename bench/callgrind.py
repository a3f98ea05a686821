#!/usr/bin/python3
"""Instructions devprov costs per new TLS connection and per kept-alive
request, counted by callgrind: repeatable where requests/s are not.

One apache2 -X (one process, so callgrind sees every request) runs under
valgrind --tool=callgrind with the patched mod_ssl and mod_devprov: a TLS
vhost as bench/compare.py's setup b (DevprovEngine on, DevprovTrust for the
test Polycom CA, an allowlist holding the phone and FILLER more MACs,
DevprovDeny unlisted, DevprovBindPath on, SSLVerifyClient optional_no_ca,
no SSLOptions +StdEnvVars), serving a static file to the test PKI's
polycom-expired phone (genuine, expired, allowlisted), which sends its
chain.  The client is curl (TLS 1.2 by default, as ab in compare.py), one
process per connection, so no session is ever resumed.

Five runs, each its own server, each stopped with SIGTERM (once it holds
no connection, so that the last one's pool cleanup is counted) so that
callgrind writes its profile:

  idle     no request: start-up and shut-down
  first    one connection, one request: the identity cache misses
  new      1 + N connections of one request each: the first misses, the
           N others hit the identity cache
  other    one connection by the phone, then one by a second phone
           (polycom-valid): a miss in a process already serving
  ka       one connection of 1 + M requests

and the differences: first - idle (the first connection of a process),
(new - first) / N (a new connection, steady state), other - first (a new
connection whose identity is not cached), (ka - first) / M (a kept-alive
request).  For each of devprov's entry points (ENTRY) the inclusive count
(the function and all it calls) is taken from the profile, with every
call into mod_devprov.so from another object as a cross-check (an entry
point missing from ENTRY shows as a difference); the process total says
what the whole server spent.  The identity cache's hits and misses are
read from the calls to dp_idcache_get/dp_idcache_put.  The report also
breaks devprov's part down by function and by call out of the module.

Needs root (apache2's children run as www-data), valgrind and a build
(make all).

    /usr/bin/python3 bench/callgrind.py [-n 50] [-m 50] [--tls 1.2]
        [--stock] [-o bench/results/callgrind.md] [--keep]
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "t"))

from conftest import (APACHE2, DEVPROV, PATCHED_SSL, STOCK_SSL,  # noqa: E402
                      Httpd, cpu_model, make_pki, mod_ssl_is_patched)

PHONE = "polycom-expired"       # genuine, expired, allowlisted
OTHER = "polycom-valid"         # genuine, valid, allowlisted: a second phone
FILLER = 10000                  # more MACs in the allowlist, as compare.py
# devprov's entry points: (source file, function).  Static functions: the
# file tells the two fixups apart (Profile.entry); -g gives their names.
ENTRY = [
    ("mod_devprov_conn.c", "devprov_conn_pre_handshake"),
    ("mod_devprov_ssl.c", "pre_handshake"),       # older builds
    ("mod_devprov.c", "post_read_request"),
    ("mod_devprov.c", "fixups"),
    ("mod_devprov.c", "check_authz"),            # DevprovUserIdentity only
    ("mod_devprov.c", "log_transaction"),
    ("mod_devprov_ssl.c", "verify_cb"),           # stock mode only
    ("mod_devprov_ssl.c", "fixups"),              # stock mode's export
    ("mod_devprov_status.c", "status_handler"),   # declines, per request
    ("mod_devprov_fleetpage.c", "fleet_handler"),  # declines, per request
    ("mod_devprov_conn.c", "peer_free"),          # connection pool cleanup
]
CACHE_FNS = ["dp_idcache_get", "dp_idcache_put"]
# valgrind's start-up and a callgrind dump of apache2 are slow: generous
START_TIMEOUT = 120
STOP_TIMEOUT = 120
THREADS = 8                     # the harness's ThreadsPerChild


# -- the profile -------------------------------------------------------------

class Profile:
    """A callgrind output file (format version 1, event Ir), read into
    inclusive counts per function and call counts per function name.
    Inclusive = the function's own cost plus the cost of the calls it
    makes, as callgrind records each call's inclusive cost after its
    calls= line; a function calling itself would be counted twice, none
    of the entry points does.

    A function is callgrind's function node (its compressed id), found by
    its object (mod_devprov.so), its name and, where the name is not
    unique there (the static fixups of mod_devprov.c and
    mod_devprov_ssl.c), a source file its code comes from (fl=, fi=, fe=
    inside it).  Not by fl= alone: that is the file of the function's
    first instruction, which can be an inline function's header
    (post_read_request's is mod_devprov_private.h)."""

    def __init__(self, path):
        names = {"ob": {}, "fl": {}, "fn": {}}
        kind = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl",
                "cfi": "fl", "cfl": "fl", "fn": "fn", "cfn": "fn"}
        self.total = None
        self.incl = defaultdict(int)       # fn id -> Ir
        self.name = {}                     # fn id -> name
        self.files = defaultdict(set)      # fn id -> file basenames
        self.obj = {}                      # fn id -> object basename
        # calls into mod_devprov.so from other objects: fn id -> Ir
        self.cross = defaultdict(int)
        # calls out of it: (caller id, callee id) -> Ir
        self.out = defaultdict(int)
        self.calls = defaultdict(int)      # callee fn name -> calls
        cur_ob = cur_fl = cur_fn = None
        cfn = cob = call_ob = None
        pending_call = False
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line[0] == "#":
                    continue
                c = line[0]
                if c.isdigit() or c in "+-*":
                    if cur_fn is None:
                        continue
                    parts = line.split()
                    cost = int(parts[1]) if len(parts) > 1 else 0
                    if pending_call:
                        pending_call = False
                        if cfn != cur_fn:          # not a recursion
                            self.incl[cur_fn] += cost
                        if call_ob == DEVPROV.name and \
                                cur_ob != DEVPROV.name:
                            self.cross[cfn] += cost
                        elif cur_ob == DEVPROV.name and \
                                call_ob != DEVPROV.name:
                            self.out[(cur_fn, cfn)] += cost
                    else:
                        self.incl[cur_fn] += cost
                    continue
                k, sep, v = line.partition("=")
                if sep and k in kind:
                    m = re.match(r"\((\d+)\)(?: (.*))?$", v)
                    ident = v
                    if m:
                        ident = m.group(1)
                        table = names[kind[k]]
                        if m.group(2) is not None:
                            table[ident] = m.group(2)
                        v = table.get(ident, ident)
                    if k == "ob":
                        cur_ob = cob = os.path.basename(v)
                    elif k == "cob":
                        cob = os.path.basename(v)
                    elif k == "fl":
                        cur_fl = os.path.basename(v)
                    elif k in ("fi", "fe") and cur_fn is not None:
                        self.files[cur_fn].add(os.path.basename(v))
                    elif k == "fn":
                        cur_fn = ident
                        self.name[ident] = v
                        self.files[ident].add(cur_fl)
                        self.obj[ident] = cur_ob
                        cob = cur_ob
                    elif k == "cfn":
                        cfn = ident
                        self.name.setdefault(ident, v)
                        self.obj.setdefault(ident, cob)
                    continue
                if k == "calls":
                    self.calls[self.name.get(cfn, cfn)] += int(v.split()[0])
                    pending_call = True
                    call_ob = cob
                    cob = cur_ob            # cob= holds for one call
                    continue
                m = re.match(r"(totals|summary): (\d+)", line)
                if m and (m.group(1) == "totals" or self.total is None):
                    self.total = int(m.group(2))
        if self.total is None:
            raise SystemExit(f"{path}: no totals/summary line: incomplete "
                             f"profile")

    def by_name(self, obj=DEVPROV.name):
        """Inclusive Ir per function name of OBJ (same-named statics
        summed)."""
        out = defaultdict(int)
        for i, n in self.name.items():
            if self.obj.get(i) == obj:
                out[n] += self.incl.get(i, 0)
        return out

    def calls_out(self):
        """Inclusive Ir of devprov's calls into other objects (httpd, APR,
        mod_ssl, OpenSSL), per "caller -> callee" name."""
        out = defaultdict(int)
        for (a, b), v in self.out.items():
            out[f"{self.name.get(a, a)} -> {self.name.get(b, b)}"] += v
        return out

    def entry(self, fl, fn, obj=DEVPROV.name):
        ids = [i for i, n in self.name.items()
               if n == fn and self.obj.get(i) == obj]
        if len(ids) > 1:
            ids = [i for i in ids if fl in self.files[i]]
        if len(ids) > 1:
            raise SystemExit(f"{fl}:{fn}: {len(ids)} functions in the "
                             f"profile")
        return self.incl.get(ids[0], 0) if ids else 0


# -- the server --------------------------------------------------------------

def busy(port):
    """Connections of local PORT other than its listener and those in
    TIME_WAIT, from /proc (a probe connection would be counted)."""
    want = f":{port:04X}"
    n = 0
    for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = ln.split()
        # local address, state: not LISTEN (0A), TIME_WAIT (06)
        if f[1].endswith(want) and f[3] not in ("0A", "06"):
            n += 1
    return n


def wait_port_idle(port, timeout=60):
    """Until no connection of PORT is open (busy), and a second more for
    the server to finish with the last one."""
    deadline = time.time() + timeout
    while busy(port):
        if time.time() > deadline:
            raise SystemExit(f"connections of port {port} still open after "
                             f"{timeout} s")
        time.sleep(0.2)
    time.sleep(1)


class CgHttpd(Httpd):
    """The harness's server, for one process under callgrind: no mod_cgid
    (its daemon is a fork callgrind would follow), LogLevel warn (debug
    lines would be counted as devprov's cost)."""

    def head(self):
        out = []
        for ln in super().head().splitlines():
            if "cgid" in ln or ln.startswith("ScriptSock"):
                continue
            if ln.startswith("LogLevel "):
                ln = "LogLevel warn"
            if ln.startswith("ThreadsPerChild "):
                ln = f"ThreadsPerChild {THREADS}"
            out.append(ln)
        return "\n".join(out) + "\n"

    def start_callgrind(self, body, outfile, valgrind_args=()):
        res = self.configtest(body)
        if res.returncode != 0:
            raise SystemExit(f"apache2 -t: {res.stderr}")
        # callgrind creates the file at start (as root) and writes it at
        # exit, by then as www-data: a file www-data owns already
        Path(outfile).touch()
        shutil.chown(outfile, "www-data", "www-data")
        cmd = ["valgrind", "--tool=callgrind", "--dump-instr=no",
               "--vgdb=no", *valgrind_args,
               f"--callgrind-out-file={outfile}",
               "--log-file=" + str(self.dir / "logs" / "valgrind.log"),
               APACHE2, "-X", "-f", str(self.dir / "httpd.conf")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        pidfile = self.dir / "httpd.pid"
        deadline = time.time() + START_TIMEOUT
        # up: the PidFile (written after post_config, the port bound
        # before it) and every thread of the child (ThreadsPerChild
        # workers, the listener, the main thread waiting for signals; a
        # SIGTERM before that may go unanswered).  No probe connection:
        # it would be counted.
        tasks = Path(f"/proc/{self.proc.pid}/task")
        want = THREADS + 2
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("apache2 under callgrind exited: "
                                 + self.log_tail())
            try:
                n = len(os.listdir(tasks))
            except OSError:
                n = 0
            if pidfile.exists() and n >= want:
                break
            if time.time() > deadline:
                raise SystemExit("apache2 under callgrind not up after "
                                 f"{START_TIMEOUT} s ({n} threads): "
                                 + self.log_tail())
            time.sleep(0.2)
        time.sleep(1)

    def wait_closed(self, timeout=60):
        """Until the server holds no connection of its port: the last
        connection's pool (and devprov's cleanup of it, peer_free) is
        gone before SIGTERM, which would leave it unfreed (and uncounted)
        when it comes first."""
        wait_port_idle(self.port("cg"), timeout)

    def log_tail(self):
        out = ""
        for p in (self.error_log, self.dir / "logs" / "valgrind.log"):
            if p.exists():
                out += f"\n--- {p}:\n" + p.read_text(errors="replace")[-3000:]
        return out

    def stop_callgrind(self):
        """SIGTERM: apache2 -X shuts down and exits, callgrind writes the
        profile on exit."""
        if self.proc is None:
            return None
        # a SIGTERM is now and then not acted on under valgrind (seen
        # once in a few dozen runs): send it again until it is
        deadline = time.time() + STOP_TIMEOUT
        while self.proc.poll() is None:
            if time.time() > deadline:
                self.stop()
                raise SystemExit("apache2 under callgrind did not stop: "
                                 + self.log_tail())
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                print("  apache2 still running: SIGTERM again",
                      file=sys.stderr)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def stop(self):
        # on errors: the process we started, by its pid (its session)
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.proc = None


# -- the clients -------------------------------------------------------------

def curl_cmd(srv, pki, tls, urls, phone):
    port = srv.port("cg")
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n",
           "--max-time", "120", "--connect-timeout", "60",
           "--resolve", f"localhost:{port}:127.0.0.1",
           "--cacert", str(pki / "server/ca.pem"),
           "--cert", str(pki.chain(phone)), "--key", str(pki.key(phone))]
    cmd += ["--tlsv1.2", "--tls-max", "1.2"] if tls == "1.2" else \
        ["--tlsv1.3"]
    # -o for each URL: every response to /dev/null
    for u in urls[1:]:
        cmd += ["-o", "/dev/null"]
    return cmd + [f"https://localhost:{port}{u}" for u in urls]


def fetch(srv, pki, tls, count, phone):
    """COUNT requests of the static file on one connection by PHONE (curl
    reuses its connection for the URLs of one command line)."""
    urls = ["/ok.txt"] * count
    p = subprocess.run(curl_cmd(srv, pki, tls, urls, phone),
                       capture_output=True,
                       text=True, timeout=120 + 5 * count)
    codes = p.stdout.split()
    if p.returncode != 0 or codes != ["200"] * count:
        raise SystemExit(f"curl failed (rc {p.returncode}): "
                         f"{codes[:5]}... {p.stderr[-500:]}"
                         + srv.log_tail())


def run_one(work, pki, allow, www, args, name, conns, per_conn,
            phones=None):
    """One server under callgrind, CONNS connections of PER_CONN requests
    each, by PHONES (one a connection; default: PHONE); returns its
    Profile, having checked the access log."""
    phones = phones or [PHONE] * conns
    ssl = STOCK_SSL if args.stock else PATCHED_SSL
    srv = CgHttpd(work, f"cg-{name}", pki, ssl_module=ssl)
    srv.dir.chmod(0o777)            # the profile is written as www-data
    trust = (f"DevprovEngine on\n"
             f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
             f"{pki / 'polycom/issuing.pem'}\n"
             f"DevprovAllowlist {allow}\nDevprovDeny unlisted\n"
             "DevprovBindPath on\n")
    common = (f"DocumentRoot {www}\n"
              "KeepAlive on\nMaxKeepAliveRequests 1000\n"
              "KeepAliveTimeout 60\n"
              f"<Directory {www}>\nRequire all granted\n</Directory>\n"
              # the client port tells connections apart
              f'CustomLog {srv.dir}/logs/cg.log "%{{remote}}p %>s %k '
              'mac=%{DEVICE_MAC}e verified=%{DEVICE_VERIFIED}e"\n')
    body = srv.tls_vhost("cg", common + trust).replace(
        "SSLOptions +StdEnvVars\n", "")
    if args.fleet:
        # the per-phone record, main server (its file in the run's
        # DefaultRuntimeDir)
        body = "DevprovFleet fleet.dat entries=20000\n" + body
    outfile = srv.dir / "callgrind.out"
    args.started.append(srv)
    srv.start_callgrind(body, outfile)
    t0 = time.time()
    for phone in phones:
        fetch(srv, pki, args.tls, per_conn, phone)
    elapsed = time.time() - t0
    srv.wait_closed()
    rc = srv.stop_callgrind()
    args.started.remove(srv)
    if not outfile.exists():
        raise SystemExit(f"{name}: no profile written (apache2 exit "
                         f"{rc})" + srv.log_tail())
    prof = Profile(outfile)
    lines = (srv.dir / "logs/cg.log").read_text().splitlines() \
        if conns else []
    ports = {ln.split()[0] for ln in lines}
    macs = {pki.mac(ph) for ph in phones}
    bad = [ln for ln in lines if " 200 " not in ln
           or not any(f"mac={mac}" in ln for mac in macs)]
    if len(lines) != conns * per_conn or len(ports) != conns or bad:
        raise SystemExit(f"{name}: the access log does not show {conns} "
                         f"connections of {per_conn} requests by the "
                         f"phone: {len(lines)} lines, {len(ports)} "
                         f"connections, {bad[:3]}")
    check_error_log(srv, name)
    print(f"  {name}: {conns} connection(s) x {per_conn} request(s), "
          f"{elapsed:.1f} s, total {prof.total:,} Ir", file=sys.stderr)
    if args.keep:
        print(f"  profile kept: {outfile}", file=sys.stderr)
    return prof


# -- the report --------------------------------------------------------------

def check_error_log(srv, what):
    """No error (or worse) in SRV's error log: a count of a server that
    failed at something is not a count of the setup."""
    errors = [ln for ln in srv.error_log.read_text().splitlines()
              if re.search(r"\[[a-z_0-9]*:(error|crit|alert|emerg)\]", ln)]
    if errors:
        raise SystemExit(f"{what}: errors in the error log:\n"
                         + "\n".join(errors[:10]))


def make_www(work):
    """WORK/www with the file every count serves (ok.txt: the size of a
    small Polycom configuration), readable by www-data."""
    www = work / "www"
    www.mkdir()
    (www / "ok.txt").write_text(
        "<PHONE_CONFIG><ALL device.set=\"1\" /></PHONE_CONFIG>\n" * 6)
    for p in (www, www / "ok.txt"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return www


def make_allowlist(work, macs):
    """WORK/allowlist: MACS (the phones of the count) and FILLER more."""
    allow = work / "allowlist"
    allow.write_text("".join(
        f"{m} bench-phone{'-' + str(i + 1) if i else ''}\n"
        for i, m in enumerate(macs)) + "".join(
        f"0004f2{i:06x} desk-{i}\n"
        for i in range(0x100000, 0x100000 + FILLER)))
    allow.chmod(0o644)
    return allow


def preflight(args, tools, files, patched, prefix):
    """What every count needs (TOOLS on PATH, FILES built, PATCHED the
    patched mod_ssl if not None, root), SIGTERM turned into an exit that
    still stops the servers, and a new work directory (returned).
    args.started: the servers to stop."""
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    for p in files:
        if not Path(p).exists():
            sys.exit(f"{p} missing: run make all")
    if patched is not None and not mod_ssl_is_patched(patched):
        sys.exit(f"{patched} is not the patched mod_ssl")
    if os.geteuid() != 0:
        sys.exit("needs root: apache2 runs as www-data")
    # SIGTERM/SIGINT: still stop the servers in the caller's finally
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o755)
    args.started = []
    return work


def finish(args, work):
    """The caller's finally: every server still running stopped, WORK
    removed unless --keep."""
    for srv in args.started:
        srv.stop()
    if getattr(args, "keep", False):
        print(f"work directory kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)


def write_report(lines, out):
    """The report: to OUT (its directory made) and stdout."""
    text = "\n".join(lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


def fmt(x):
    return f"{x:,.0f}"


def report(args, prof, out):
    n, m = args.n, args.m
    entries = [e for e in ENTRY
               if any(p.entry(*e) for p in prof.values())]
    cols = [("first connection", lambda p, e: (p["first"], p["idle"], 1)),
            ("new connection, steady state", lambda p, e:
             (p["new"], p["first"], n)),
            ("new connection, another phone", lambda p, e:
             (p["other"], p["first"], 1)),
            ("kept-alive request", lambda p, e: (p["ka"], p["first"], m))]

    def delta(fn, a, b, div):
        return (fn(a) - fn(b)) / div

    rows = []
    for fl, fnm in entries:
        cells = []
        for _, sel in cols:
            a, b, div = sel(prof, None)
            cells.append(fmt(delta(lambda p: p.entry(fl, fnm), a, b, div)))
        rows.append((f"`{fl}:{fnm}`", cells))

    def dp_sum(p):
        return sum(p.entry(*e) for e in entries)

    sums = []
    tots = []
    for _, sel in cols:
        a, b, div = sel(prof, None)
        sums.append(delta(dp_sum, a, b, div))
        tots.append(delta(lambda p: p.total, a, b, div))

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                             "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    vg = subprocess.run(["valgrind", "--version"], capture_output=True,
                        text=True).stdout.strip()
    ap2 = subprocess.run([APACHE2, "-v"], capture_output=True,
                         text=True).stdout
    apv = re.search(r"Apache/([\d.]+)", ap2)
    ossl = subprocess.run(["openssl", "version"], capture_output=True,
                          text=True).stdout.split()[1]
    mode = "stock mod_ssl (Debian's)" if args.stock else \
        "patched mod_ssl (build/mod_ssl.so)"
    cmd = "/usr/bin/python3 bench/callgrind.py " + " ".join(args.argv)
    L = [
        "# Instructions per connection and per request (callgrind, "
        + ("stock mode)" if args.stock else "patched mod_ssl)"),
        "",
        f"`make bench-callgrind` (`{cmd.strip()}`), commit `{commit}`"
        + (" (with uncommitted changes)" if dirty else "") + ", "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC,"
        f" {cpu_model()}, {vg}, apache2 "
        f"{apv.group(1) if apv else '?'}, OpenSSL {ossl}, "
        f"{platform.machine()}.",
        "",
        f"One `apache2 -X` under `valgrind --tool=callgrind`, {mode}, "
        f"mpm_event; a TLS vhost as compare.py's setup b (DevprovEngine on, "
        f"DevprovTrust polycom root + issuing CA, an allowlist of "
        f"{FILLER + 1} MACs, DevprovDeny unlisted, DevprovBindPath on, "
        f"SSLVerifyClient optional_no_ca, no SSLOptions +StdEnvVars, "
        f"LogLevel warn"
        + (", DevprovFleet on (the per-phone record)" if args.fleet
           else "") + "), a static file; the client: curl, TLS "
        f"{args.tls}, the {PHONE} phone (genuine, expired, allowlisted) "
        f"sending its chain, one curl process per connection (no session "
        f"resumption).  Five servers: idle (no request), first (one "
        f"connection, one request), new (1 + {n} connections of one "
        f"request), other (one connection by {PHONE}, then one by "
        f"{OTHER}, genuine, valid and allowlisted too), ka (one "
        f"connection of 1 + {m} requests).",
        "",
        "Instructions (Ir), inclusive: the function and everything it "
        "calls.  First connection = first - idle; new connection, steady "
        f"state = (new - first) / {n} (the identity cache hits); "
        f"another phone = other - first (a new connection in a process "
        f"already serving, whose identity cache misses); kept-alive "
        f"request = (ka - first) / {m}.",
        "",
        "| | " + " | ".join(c for c, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for name, cells in rows:
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L.append("| **devprov, all entry points** | "
             + " | ".join(f"**{fmt(s)}**" for s in sums) + " |")
    xs = []
    for _, sel in cols:
        a, b, div = sel(prof, None)
        xs.append(delta(lambda p: sum(p.cross.values()), a, b, div))
    L.append("| (cross-check: every call into mod_devprov.so from another "
             "object) | " + " | ".join(fmt(x) for x in xs) + " |")
    L.append("| whole process (apache2, mod_ssl, OpenSSL, ...) | "
             + " | ".join(fmt(t) for t in tots) + " |")
    L.append("| devprov's share | "
             + " | ".join(f"{100 * s / t:.1f}%" if t else "-"
                          for s, t in zip(sums, tots)) + " |")
    if args.fleet:
        rec = []
        for _, sel in cols:
            a, b, div = sel(prof, None)
            rec.append(delta(lambda p: p.by_name().get(
                "devprov_fleet_record", 0), a, b, div))
        L.append("| of which DevprovFleet's record (`devprov_fleet_record`,"
                 " inclusive) | " + " | ".join(fmt(x) for x in rec) + " |")
        L.append("| the record's share of the whole process | "
                 + " | ".join(f"{100 * x / t:.2f}%" if t else "-"
                              for x, t in zip(rec, tots)) + " |")
    # where it goes: devprov's functions, and its calls out of the module
    for title, get, k in (
            ("Where devprov's part goes: its functions with the largest "
             "inclusive counts (nested: a function's count includes those "
             "it calls)", lambda p: p.by_name(), 12),
            ("Its calls out of mod_devprov.so (httpd, APR, mod_ssl, "
             "OpenSSL) with the largest inclusive counts, by caller",
             lambda p: p.calls_out(), 8)):
        L += ["", title + ":", "",
              "| function | " + " | ".join(c for c, _ in cols) + " |",
              "|---|" + "---:|" * len(cols)]
        bn = {r: get(p) for r, p in prof.items()}
        per = []
        for _, sel in cols:
            a, b, div = sel(bn, None)
            per.append({f: (a.get(f, 0) - b.get(f, 0)) / div
                        for f in set(a) | set(b)})
        top = sorted({f for d in per for f, v in
                      sorted(d.items(), key=lambda x: -x[1])[:k]},
                     key=lambda f: -max(d.get(f, 0) for d in per))
        for f in top:
            if max(abs(d.get(f, 0)) for d in per) < 100:
                continue
            L.append(f"| `{f}` | "
                     + " | ".join(fmt(d.get(f, 0)) for d in per) + " |")
    L += ["", "Identity cache (calls in each run's profile):", "",
          "| run | connections | requests | " + " | ".join(
              f"`{c}` calls" for c in CACHE_FNS) + " | total Ir |",
          "|---|---:|---:|" + "---:|" * (len(CACHE_FNS) + 1)]
    shape = {"idle": (0, 0), "first": (1, 1), "new": (1 + n, 1 + n),
             "other": (2, 2), "ka": (1, 1 + m)}
    for k in ("idle", "first", "new", "other", "ka"):
        c, r = shape[k]
        L.append(f"| {k} | {c} | {r} | " + " | ".join(
            str(prof[k].calls.get(fn, 0)) for fn in CACHE_FNS)
            + f" | {prof[k].total:,} |")
    L += ["", "A put is a miss (the identity computed and stored), a get "
          "without a put a hit.  Counts are deterministic to within a "
          "few hundred instructions per connection (the event loop's "
          "timers); the whole-process figures include mod_ssl's and "
          "OpenSSL's handshake and shift more with the timing than "
          "devprov's.", ""]
    write_report(L, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=50,
                    help="new connections after the first (default 50)")
    ap.add_argument("-m", type=int, default=50,
                    help="kept-alive requests after the first (default 50)")
    ap.add_argument("--tls", choices=("1.2", "1.3"), default="1.2")
    ap.add_argument("--stock", action="store_true",
                    help="Debian's mod_ssl (stock mode) instead of the "
                    "patched one")
    ap.add_argument("--fleet", action="store_true",
                    help="with DevprovFleet (the per-phone record) on: "
                    "its cost is shown as a row of its own")
    ap.add_argument("-o", "--output",
                    default=str(ROOT / "bench/results/callgrind.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory and the profiles")
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if not 1 <= args.m <= 998 or args.n < 1:
        sys.exit("-n >= 1, 1 <= -m <= 998 (MaxKeepAliveRequests 1000)")
    ssl = STOCK_SSL if args.stock else PATCHED_SSL
    work = preflight(args, ("valgrind", "curl", APACHE2), (ssl, DEVPROV),
                     None if args.stock else ssl, "devprov-callgrind-")
    try:
        print("callgrind: test PKI...", file=sys.stderr)
        pki = make_pki(work / "pki", quiet=True)
        www = make_www(work)
        allow = make_allowlist(work, [pki.mac(PHONE), pki.mac(OTHER)])
        prof = {}
        for name, conns, per, phones in (
                ("idle", 0, 0, None), ("first", 1, 1, None),
                ("new", 1 + args.n, 1, None),
                ("other", 2, 1, [PHONE, OTHER]),
                ("ka", 1, 1 + args.m, None)):
            prof[name] = run_one(work, pki, allow, www, args, name, conns,
                                 per, phones)
        report(args, prof, Path(args.output))
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    finally:
        finish(args, work)


if __name__ == "__main__":
    sys.exit(main())
