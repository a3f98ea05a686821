#!/usr/bin/python3
"""Server instructions per new, resumed and kept-alive TLS connection,
with and without devprov, in patched and stock mode: devprov's share,
counted by callgrind (deterministic where requests/s are not).

Six setups, each one apache2 -X under valgrind --tool=callgrind with the
same TLS vhost (mpm_event, SSLVerifyClient optional_no_ca, RSA-2048
certificates, a static file, SSLSessionCache shmcb, session tickets on,
no SSLOptions but in E and F, LogLevel warn):

  A  Debian's mod_ssl, no devprov (the floor; a valid phone certificate:
     stock mod_ssl refuses an expired one)
  B  the patched mod_ssl, no devprov (the valid phone)
  C  devprov, patched mod_ssl: DevprovEngine on, DevprovTrust, an
     allowlist of 10,002 MACs, DevprovDeny unlisted, DevprovBindPath on;
     the expired genuine phone
  D  devprov, stock mod_ssl (stock mode), as C
  E  C with SSLOptions +StdEnvVars (mod_ssl's variables in the
     environment of every request)
  F  C with SSLOptions +StdEnvVars +ExportCertData (the certificates as
     PEM too): what the example site had until issue 18

The client is this script (Python's ssl module, OpenSSL), TLS 1.2, the
phone's certificate and chain.  Per setup five servers, each counted
from start to exit:

  first   one connection, one request
  new     1 + N connections of one request, each a full handshake
  sid     one full connection, then N resumed by session ID (the client
          sends no ticket extension, so the server's session cache is used)
  ticket  one full connection, then N resumed by session ticket
  ka      one connection of 1 + M requests (kept alive)

per unit: new connection = (new - first) / N, resumed = (sid - first) / N
and (ticket - first) / N, kept-alive request = (ka - first) / M; start-up,
shut-down and the first connection cancel.  A full handshake's count
varies by as much as 180,000 instructions from one to the next (the RSA
signature's blinding and the ECDHE key are random numbers, and big-number
arithmetic on them takes more or fewer steps): spread over the M requests
of the kept-alive run that would be thousands of instructions a request,
so the kept-alive unit leaves out what OpenSSL's SSL_accept() counts
(inclusive, in both runs: the one handshake each has).  Most of that
variation is in making the RSA key's blinding values (a modular inverse
of a random number, once per process and then every 32 signatures): the
other units leave out BN_BLINDING_create_param() (inclusive), the same
work in every setup.  Each resumption is checked
twice: the client's session_reused, and the server's access log
(%{SSL_SESSION_RESUMED}x).  devprov's own cost is the inclusive count of
its entry points (bench/callgrind.py's ENTRY: its hooks and its
connection cleanup, all they call); C - B and D - A are the whole
server's difference to the control, which also holds what the expired
certificate costs mod_ssl.  --repeat 2 counts every setup twice and shows
the largest difference between the two: how deterministic the figures
are.

Needs root (apache2's children run as www-data), valgrind and a build
(make all).

    /usr/bin/python3 bench/instr.py [-n 20] [-m 50] [--repeat 1]
        [-o bench/results/instr.md] [--keep]
"""
import argparse
import datetime
import platform
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "t"))
sys.path.insert(0, str(ROOT / "bench"))

from conftest import (APACHE2, DEVPROV, PATCHED_SSL, STOCK_SSL,  # noqa: E402
                      cpu_model, make_pki)
from callgrind import (ENTRY, CgHttpd, Profile,  # noqa: E402
                       check_error_log, finish,
                       fmt, make_allowlist, make_www, preflight,
                       write_report)

PHONE = "polycom-expired"       # genuine, expired, allowlisted
VALID = "polycom-valid"         # genuine, valid: the controls' phone

# name -> (label, mod_ssl, devprov, phone, SSLOptions)
SETUPS = {
    "A": ("stock mod_ssl, no devprov", STOCK_SSL, False, VALID, ""),
    "B": ("patched mod_ssl, no devprov", PATCHED_SSL, False, VALID, ""),
    "C": ("devprov, patched mod_ssl", PATCHED_SSL, True, PHONE, ""),
    "D": ("devprov, stock mod_ssl", STOCK_SSL, True, PHONE, ""),
    # what mod_ssl's exports cost on top of C: the example site's options
    # (conf/sites/provisioning.conf), before and after issue 18
    "E": ("C with SSLOptions +StdEnvVars", PATCHED_SSL, True, PHONE,
          "+StdEnvVars"),
    "F": ("C with SSLOptions +StdEnvVars +ExportCertData", PATCHED_SSL,
          True, PHONE, "+StdEnvVars +ExportCertData"),
}
# setup -> the setup it adds SSLOptions to
EXPORTS = {"E": "C", "F": "C"}
# devprov setup -> its control
CONTROL = {"C": "B", "D": "A"}
RUNS = ["first", "new", "sid", "ticket", "ka"]
# unit -> (run, divisor attribute), all against "first"
UNITS = [("new connection (full handshake)", "new", "n"),
         ("resumed connection (session ID)", "sid", "n"),
         ("resumed connection (session ticket)", "ticket", "n"),
         ("kept-alive request", "ka", "m")]
# devprov's share of the whole server: the targets, per unit
TARGET = {"new": 0.5, "sid": 2.0, "ticket": 2.0, "ka": 2.0}
REQUEST = b"GET /ok.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


# -- the client --------------------------------------------------------------

class Client:
    """A phone: TLS 1.2, its certificate and chain, the test server CA;
    tickets or not (OP_NO_TICKET: the server's session cache, by ID)."""

    def __init__(self, pki, phone, tickets=True):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_verify_locations(str(pki / "server/ca.pem"))
        self.ctx.load_cert_chain(str(pki.chain(phone)), str(pki.key(phone)))
        if not tickets:
            self.ctx.options |= ssl.OP_NO_TICKET
        self.session = None

    def connect(self, port, requests, resume=False):
        """One connection of REQUESTS requests; resuming the last session
        if RESUME.  Returns whether the session was reused."""
        raw = socket.create_connection(("127.0.0.1", port), timeout=120)
        s = self.ctx.wrap_socket(raw, server_hostname="localhost",
                                 session=self.session if resume else None)
        try:
            for _ in range(requests):
                s.sendall(REQUEST)
                status = read_response(s)
                if status != 200:
                    raise SystemExit(f"HTTP {status}")
            reused = s.session_reused
            self.session = s.session
            try:
                s.unwrap()          # close_notify: the session stays good
            except (OSError, ssl.SSLError):
                pass
        finally:
            s.close()
        return reused


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"connection closed in the headers: {buf!r}")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    if not m:
        raise SystemExit(f"no Content-Length: {head!r}")
    need = int(m.group(1))
    while len(body) < need:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed in the body")
        body += chunk
    if len(body) != need:
        raise SystemExit("more than one response")
    return status


# -- one server ---------------------------------------------------------------

def vhost(srv, pki, allow, www, devprov, options=""):
    common = (f"DocumentRoot {www}\n"
              "KeepAlive on\nMaxKeepAliveRequests 1000\n"
              "KeepAliveTimeout 60\n"
              f"<Directory {www}>\nRequire all granted\n</Directory>\n"
              f'CustomLog {srv.dir}/logs/cg.log "%{{remote}}p %>s %k '
              '%{SSL_SESSION_RESUMED}x mac=%{DEVICE_MAC}e"\n')
    if devprov:
        common += (f"DevprovEngine on\n"
                   f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
                   f"{pki / 'polycom/issuing.pem'}\n"
                   f"DevprovAllowlist {allow}\nDevprovDeny unlisted\n"
                   "DevprovBindPath on\n")
    return srv.tls_vhost("cg", common).replace(
        "SSLOptions +StdEnvVars\n",
        f"SSLOptions {options}\n" if options else "")


def run_one(work, pki, allow, www, args, setup, run, rep):
    label, ssl_mod, devprov, phone, options = SETUPS[setup]
    n, m = args.n, args.m
    srv = CgHttpd(work, f"{setup}-{run}-{rep}", pki, ssl_module=ssl_mod,
                  devprov=devprov)
    srv.dir.chmod(0o777)            # the profile is written as www-data
    outfile = srv.dir / "callgrind.out"
    args.started.append(srv)
    srv.start_callgrind(vhost(srv, pki, allow, www, devprov, options),
                        outfile)
    port = srv.port("cg")
    cl = Client(pki, phone, tickets=(run != "sid"))
    t0 = time.time()
    if run == "ka":
        cl.connect(port, 1 + m)
        conns, reqs, resumed = 1, 1 + m, 0
    else:
        k = 1 if run == "first" else 1 + n
        got = [cl.connect(port, 1, resume=(i > 0 and run in
                                          ("sid", "ticket")))
               for i in range(k)]
        resumed = k - 1 if run in ("sid", "ticket") else 0
        if sum(got) != resumed:
            raise SystemExit(f"{setup}/{run}: {sum(got)} of {k} connections "
                             f"resumed, not {resumed}")
        conns, reqs = k, k
    elapsed = time.time() - t0
    srv.wait_closed()
    rc = srv.stop_callgrind()
    args.started.remove(srv)
    if not outfile.exists():
        raise SystemExit(f"{setup}/{run}: no profile written (apache2 exit "
                         f"{rc})" + srv.log_tail())
    prof = Profile(outfile)
    lines = (srv.dir / "logs/cg.log").read_text().splitlines()
    ports = {ln.split()[0] for ln in lines}
    n_res = sum(1 for ln in lines if " Resumed" in ln)
    bad = [ln for ln in lines if " 200 " not in ln
           or (devprov and f"mac={pki.mac(phone)}" not in ln)]
    # %k counts the requests before this one on its connection
    if len(lines) != reqs or len(ports) != conns or bad or \
            n_res != resumed:
        raise SystemExit(f"{setup}/{run}: the access log does not show "
                         f"{conns} connections, {reqs} requests, {resumed} "
                         f"resumed: {len(lines)} lines, {len(ports)} "
                         f"connections, {n_res} resumed, {bad[:3]}")
    check_error_log(srv, f"{setup}/{run}")
    own = sum(prof.entry(*e) for e in ENTRY)
    print(f"  {setup} {run} #{rep + 1}: {conns} connection(s), {reqs} "
          f"request(s), {elapsed:.1f} s, total {prof.total:,} Ir, devprov "
          f"{own:,}", file=sys.stderr)
    if args.keep:
        print(f"  profile kept: {outfile}", file=sys.stderr)
    else:
        outfile.unlink()
    # the handshake (SSL_accept, all it calls: the verification callbacks
    # too), left out of the kept-alive unit
    hs = prof.by_name("libssl.so.3").get("SSL_accept", 0)
    if hs == 0:
        raise SystemExit(f"{setup}/{run}: no SSL_accept() in the profile")
    # making the RSA key's blinding values (once per process and then
    # every 32 signatures), left out of every unit
    blind = prof.by_name("libcrypto.so.3").get("BN_BLINDING_create_param", 0)
    return {"total": prof.total, "own": own, "hs": hs, "blind": blind,
            "fns": prof.by_name() if devprov else {}}


# -- the figures ---------------------------------------------------------------

def per_unit(res, args):
    """{setup: {run: {"total", "own", "fns"}}} -> {setup: {unit run:
    (whole server Ir, devprov Ir, {fn: Ir})}} per unit."""
    out = {}
    for s, runs in res.items():
        base = runs["first"]
        out[s] = {}
        for _, run, div in UNITS:
            d = getattr(args, div)
            r = runs[run]
            fns = {f: (r["fns"].get(f, 0) - base["fns"].get(f, 0)) / d
                   for f in set(r["fns"]) | set(base["fns"])}
            # the kept-alive run's one handshake against first's one; the
            # others without the blinding values (in the handshakes too)
            skip = r["hs"] - base["hs"] if run == "ka" \
                else r["blind"] - base["blind"]
            out[s][run] = ((r["total"] - base["total"] - skip) / d,
                           (r["own"] - base["own"]) / d, fns)
    return out


def pct(a, b):
    return f"{100 * a / b:.2f}%" if b else "-"


def report(args, reps, out):
    units = [per_unit(r, args) for r in reps]
    u = units[0]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                             "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    vg = subprocess.run(["valgrind", "--version"], capture_output=True,
                        text=True).stdout.strip()
    apv = re.search(r"Apache/([\d.]+)", subprocess.run(
        [APACHE2, "-v"], capture_output=True, text=True).stdout)
    ossl = subprocess.run(["openssl", "version"], capture_output=True,
                          text=True).stdout.split()[1]
    cmd = "/usr/bin/python3 bench/instr.py " + " ".join(args.argv)
    L = [
        "# Instructions per connection and request: devprov's share "
        "(callgrind)", "",
        f"`make bench-instr` (`{cmd.strip()}`), commit `{commit}`"
        + (" (with uncommitted changes)" if dirty else "") + ", "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC,"
        f" {cpu_model()}, {vg}, apache2 {apv.group(1) if apv else '?'}, "
        f"OpenSSL {ossl}, {platform.machine()}.", "",
        "One `apache2 -X` (mpm_event) per run under `valgrind "
        "--tool=callgrind`, counted from start to exit; a TLS vhost with "
        "SSLVerifyClient optional_no_ca, RSA-2048 certificates, "
        "SSLSessionCache shmcb, session tickets on, no SSLOptions "
        "(but in E and F), LogLevel warn, a static file.  The client: Python's "
        "ssl module, TLS 1.2, the phone's certificate and chain.", "",
        "| setup | mod_ssl | devprov | phone | SSLOptions |",
        "|---|---|---|---|---|"]
    dp_on = ("on: DevprovTrust, an allowlist of 10,002 MACs, DevprovDeny "
             "unlisted, DevprovBindPath on")
    for s, (label, mod, dp, phone, opts) in SETUPS.items():
        which = "patched" if mod == PATCHED_SSL else "Debian"
        L.append(f"| {s} | {which} | {dp_on if dp else 'not loaded'} | "
                 f"{phone} | {opts or 'none'} |")
    L += ["", f"Per unit, against the run of one connection and one "
          f"request: new = (1 + {args.n} full connections - first) / "
          f"{args.n}; resumed = (1 full + {args.n} resumed - first) / "
          f"{args.n}, by session ID (no ticket extension) and by ticket, "
          f"each resumption checked by the client and in the access log "
          f"(`%{{SSL_SESSION_RESUMED}}x`); kept-alive = (one connection of "
          f"1 + {args.m} requests - first) / {args.m}, leaving out both "
          f"runs' one handshake (OpenSSL's SSL_accept(), inclusive): its "
          f"count varies by as much as 180,000 instructions with the random "
          f"numbers it works on.  Most of that is making the RSA key's "
          f"blinding values (a modular inverse of a random number, once "
          f"per process and every 32 signatures, the same work in every "
          f"setup): the other units leave out BN_BLINDING_create_param() "
          f"(inclusive).", "",
          "## The whole server, instructions (Ir) per unit", "",
          "| | " + " | ".join(SETUPS) + " | B - A (the patch) |",
          "|---|" + "---:|" * (len(SETUPS) + 1)]
    for name, run, _ in UNITS:
        L.append(f"| {name} | " + " | ".join(
            fmt(u[s][run][0]) for s in SETUPS)
            + f" | {u['B'][run][0] - u['A'][run][0]:+,.0f} |")
    L += ["", "## devprov's share, against the targets", "",
          "devprov's own = the inclusive count of its entry points (its "
          "hooks and connection cleanup and everything they call, mod_ssl "
          "and OpenSSL included); the difference = the whole server's, to "
          "its control (it also holds what mod_ssl spends on an expired "
          "certificate's errors).  Share = of the devprov setup's whole "
          "server.", "",
          "| mode | unit | whole server | devprov's own | share | "
          "difference to control | share | target | met |",
          "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    met_all = {}
    for s, c in CONTROL.items():
        mode = "patched (C - B)" if s == "C" else "stock (D - A)"
        for name, run, _ in UNITS:
            tot, own, _ = u[s][run]
            diff = tot - u[c][run][0]
            ok = 100 * own / tot <= TARGET[run] if tot else False
            met_all[(s, run)] = ok
            L.append(f"| {mode} | {name} | {fmt(tot)} | {fmt(own)} | "
                     f"{pct(own, tot)} | {diff:+,.0f} | {pct(diff, tot)} | "
                     f"{TARGET[run]}% | {'yes' if ok else 'no'} |")
    # what mod_ssl's exports cost
    L += ["", "## What mod_ssl's exports cost (SSLOptions, on top of C)", "",
          "The whole server's difference to C, and its share of C's "
          "whole server: what the example site's SSLOptions cost beside "
          "devprov's own (it needs neither: DEVICE_* are exported "
          "without them).", "",
          "| setup | " + " | ".join(n for n, _, _ in UNITS) + " |",
          "|---|" + "---:|" * len(UNITS)]
    for s, c in EXPORTS.items():
        L.append(f"| {s}: {SETUPS[s][4]} | " + " | ".join(
            f"{u[s][run][0] - u[c][run][0]:+,.0f} "
            f"({pct(u[s][run][0] - u[c][run][0], u[c][run][0])})"
            for _, run, _ in UNITS) + " |")
    # where devprov's part goes, patched mode
    L += ["", "## Where devprov's own part goes (C, inclusive per unit, "
          "nested)", "",
          "| function | " + " | ".join(n for n, _, _ in UNITS) + " |",
          "|---|" + "---:|" * len(UNITS)]
    fns = {run: u["C"][run][2] for _, run, _ in UNITS}
    top = sorted({f for d in fns.values() for f, v in
                  sorted(d.items(), key=lambda x: -x[1])[:10]},
                 key=lambda f: -max(d.get(f, 0) for d in fns.values()))
    for f in top:
        if max(abs(d.get(f, 0)) for d in fns.values()) < 50:
            continue
        L.append(f"| `{f}` | " + " | ".join(
            fmt(fns[run].get(f, 0)) for _, run, _ in UNITS) + " |")
    if len(units) > 1:
        L += ["", f"## Determinism: {len(units)} counts of every setup",
              "", "The largest difference between the repetitions, per "
              "cell, relative to the first count.", "",
              "| | " + " | ".join(f"{s} whole" for s in SETUPS) + " | "
              + " | ".join(f"{s} devprov" for s in CONTROL) + " |",
              "|---|" + "---:|" * (len(SETUPS) + len(CONTROL))]
        worst = 0.0
        cols = [(s, 0) for s in SETUPS] + [(s, 1) for s in CONTROL]
        for name, run, _ in UNITS:
            cells = []
            for s, k in cols:
                vals = [x[s][run][k] for x in units]
                d = (max(vals) - min(vals)) / vals[0] if vals[0] else 0
                worst = max(worst, d)
                cells.append(f"{100 * d:.2f}%")
            L.append(f"| {name} | " + " | ".join(cells) + " |")
        L += ["", f"Largest: {100 * worst:.2f}%."]
    L += ["", "Not met: " + (", ".join(
        f"{s} {run}" for (s, run), ok in met_all.items() if not ok)
        or "none") + ".", ""]
    write_report(L, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20,
                    help="new and resumed connections after the first "
                    "(default 20)")
    ap.add_argument("-m", type=int, default=50,
                    help="kept-alive requests after the first (default 50)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="count every setup this many times (default 1)")
    ap.add_argument("-o", "--output",
                    default=str(ROOT / "bench/results/instr.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory and the profiles")
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if not 1 <= args.m <= 998 or args.n < 1 or args.repeat < 1:
        sys.exit("-n >= 1, 1 <= -m <= 998, --repeat >= 1")
    work = preflight(args, ("valgrind", APACHE2),
                     (PATCHED_SSL, STOCK_SSL, DEVPROV), PATCHED_SSL,
                     "devprov-instr-")
    try:
        print("bench-instr: test PKI...", file=sys.stderr)
        pki = make_pki(work / "pki", quiet=True)
        www = make_www(work)
        allow = make_allowlist(work, [pki.mac(PHONE), pki.mac(VALID)])
        reps = []
        for rep in range(args.repeat):
            res = {s: {} for s in SETUPS}
            # alternating the setups run by run: what drifts spreads evenly
            for run in RUNS:
                for s in SETUPS:
                    res[s][run] = run_one(work, pki, allow, www, args, s,
                                          run, rep)
            reps.append(res)
        report(args, reps, Path(args.output))
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    finally:
        finish(args, work)


if __name__ == "__main__":
    sys.exit(main())
