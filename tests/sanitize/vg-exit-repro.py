#!/usr/bin/python3
"""Repeated short runs of `apache2 -X` under valgrind (memcheck, through
tests/sanitize/apache2-valgrind, as `make test-valgrind` runs it), each
stopped with SIGTERM, counting the runs that die of a signal (the SIGSEGV
in apache2's exit handlers of issue 15) for each mod_ssl given, with and
without mod_devprov loaded.

Each run: the test harness's configuration (t/conftest.py's Httpd: the
same modules, mod_cgid included), one TLS vhost (a devprov one with
mod_devprov: DevprovEngine on, the test Polycom CA), REQS requests by the
polycom-expired phone (one connection each, curl), SIGTERM right after
the last response, then the valgrind logs are read: the exit status, a
"terminating with default action of signal" record and its stack, of the
process started or of any other (mod_cgid's daemon, the children without
-X), except the SIGTERM that stops mod_cgid's daemon.  Whatever is left
of the run's process group afterwards (mod_cgid's daemon, when apache2
died before its pool cleanup stopped it) is killed.

    /usr/bin/python3 tests/sanitize/vg-exit-repro.py [-n 40] [-j 2]
        [--reqs 3] [--ssl NAME=PATH[@PRELOAD] ...] [--devprov both|on|off]
        [--no-X] [--keep DIR] [--args 'more valgrind args']

  --ssl NAME=PATH@PRELOAD  that mod_ssl, with PRELOAD in LD_PRELOAD (e.g.
                the nodlclose.so of tests/sanitize/nodlclose.c: no module
                is unloaded at exit)
  --no-X        apache2 without -X: a parent and its children (the wrapper
                adds -X for "-DFOREGROUND"; this passes "-D FOREGROUND")

Needs root (apache2's children run as www-data), valgrind, make all.

Finding (issue 15; apache2 2.4.71-1~deb12u1, mod_ssl built with apxs from
the 2.4.68-1~deb12u1 source): the crash is httpd's, in -X mode only, not
the patch's nor mod_devprov's.  Stack, the same in all 9 crashes:

    Invalid read of size 8 at apache2+0x714a0   queue_info_cleanup()
      by apr_pool_destroy                       pruntime (mpm_event)
      by apr_pool_destroy                       pconf
      by apr_pool_destroy                       ap_pglobal
      by apache2+0x868b9                        ap_terminate() (unixd.c)
      by __run_exit_handlers <- exit <- clean_child_exit (mpm_event)
    Address ... is not stack'd, malloc'd or (recently) free'd

In one-process mode only, ap_unixd_mpm_set_signals() registers
atexit(ap_terminate), which destroys pconf at exit.  mpm_event's pruntime
(holding the worker queue info) and its transaction pools (ptrans, each
with its own allocator) are both children of pconf; the ptrans pools are
younger, so they are destroyed (unmapped) first, then pruntime's
queue_info_cleanup() walks the list of recycled ptrans pools, whose nodes
live in those pools.  The list is normally empty by then (the listener's
close_listeners() frees the idle pools), but a worker that is recycling
the last connection's pool at that moment (ap_queue_info_push_pool(): the
count check, apr_pool_clear(), then the push) can put it back afterwards;
the slow apr_pool_clear() of a TLS connection under valgrind makes that
window wide enough to hit.  Without -X the children exit without
destroying pconf, and the parent has no pruntime.  Counts (this script,
-j 2, --reqs 3; "died" = SIGSEGV with the stack above):

    -X, mod_devprov not loaded:  patched 4/50, unpatched 2.4.68 1/50,
                                 Debian's 2.4.71 0/50,
                                 patched + nodlclose.so 4/50
    without -X (--no-X), not loaded: patched 0/60

nodlclose.so does not change it (nothing is called in an unloaded module:
the faulting code is apache2's own, reading unmapped pool memory), the
unpatched 2.4.68 build has it too, and it is gone without -X (8 of 100
-X runs of the patched module vs 0 of 60, p ~ 0.02).  0/50 with Debian's
mod_ssl against 4/50 is not a significant difference (Fisher p ~ 0.12):
the rate depends on how long the connection pool's cleanup takes.  In
`make test-valgrind` the record is third-party code and not counted
(check-valgrind.py).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "t"))

from conftest import (PATCHED_SSL, STOCK_SSL, Httpd,  # noqa: E402
                      make_pki)

WRAPPER = ROOT / "tests" / "sanitize" / "apache2-valgrind"
PHONE = "polycom-expired"
START_TIMEOUT = 120


def one_run(work, pki, name, ssl, devprov, i, reqs, vgargs, preload=None,
            single=True):
    srv = Httpd(work, f"{name}-{'dp' if devprov else 'nodp'}-{i}", pki,
                ssl_module=ssl, devprov=devprov)
    body = ""
    if devprov:
        body = (f"DevprovEngine on\n"
                f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
                f"{pki / 'polycom/issuing.pem'}\n")
    conf = srv.write(srv.tls_vhost("v", body))
    vgdir = srv.dir / "vg"
    env = dict(os.environ, DEVPROV_VG_LOGDIR=str(vgdir),
               DEVPROV_VG_ARGS=vgargs)
    if preload:
        env["LD_PRELOAD"] = preload
    # the wrapper adds -X for "-DFOREGROUND"; "-D FOREGROUND" (two
    # arguments) is the same define without it: a parent and its children
    fg = ["-DFOREGROUND"] if single else ["-D", "FOREGROUND"]
    proc = subprocess.Popen([str(WRAPPER), "-f", str(conf)] + fg,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        pidfile = srv.dir / "httpd.pid"
        deadline = time.time() + START_TIMEOUT
        while not pidfile.exists():
            if proc.poll() is not None or time.time() > deadline:
                return ("nostart", proc.poll(), "", "", [])
            time.sleep(0.2)
        codes = []
        for _ in range(reqs):
            r = srv.curl("v", "/", device=PHONE, chain=True)
            codes.append(r.status)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return ("hung", None, "", "", [])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        # what is left of the session: mod_cgid's daemon (and, without -X,
        # the children), orphaned when apache2 died before its pool
        # cleanups stopped them
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # the log of the process we started first; mod_cgid's daemon and the
    # children have their own: a signal in one of them counts too, except
    # the SIGTERM that stops mod_cgid's daemon (its parent's pool cleanup
    # sends it, and it may arrive while the daemon runs its exit handlers)
    main_log = vgdir / f"vg.{proc.pid}"
    logs = [main_log] + sorted(q for q in vgdir.glob("vg.*")
                               if q != main_log)
    log, m, text = main_log, None, ""
    for q in logs:
        t = q.read_text(errors="replace") if q.exists() else ""
        mm = re.search(r"^==\d+== Process terminating with default action "
                       r"of signal (\d+).*?(?=^==\d+== \n|^==\d+== HEAP)",
                       t, re.S | re.M)
        if mm and (q == main_log or mm.group(1) != "15"):
            log, m, text = q, mm, t
            break
    stack = ""
    if m:
        # the invalid jump/read record just before, if any, and the stack
        j = text.rfind("Jump to the invalid address", 0, m.start())
        stack = (text[j - 60:m.end()] if j >= 0 else m.group(0))
    # 143: SIGTERM handled and exit; 0 also fine
    kind = f"signal {m.group(1)}" if m else "ok"
    return (kind, rc, stack, str(log), codes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--reqs", type=int, default=3)
    ap.add_argument("--ssl", action="append", default=[],
                    help="NAME=PATH of a mod_ssl.so (default: patched= "
                    "the build's, debian= the installed one)")
    ap.add_argument("--devprov", choices=("both", "on", "off"),
                    default="both")
    ap.add_argument("--keep", help="keep the work directory here")
    ap.add_argument("--no-X", dest="single", action="store_false",
                    help="run apache2 without -X: a parent and its "
                    "children, the parent gets SIGTERM")
    ap.add_argument("--args", default="",
                    help="more valgrind arguments (DEVPROV_VG_ARGS)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    # NAME=PATH[@PRELOAD]: PRELOAD goes into LD_PRELOAD (nodlclose.so)
    ssls = []
    for spec in args.ssl:
        n, p = spec.split("=", 1)
        p, _, pre = p.partition("@")
        ssls.append([n, str(Path(p).resolve()),
                     str(Path(pre).resolve()) if pre else None])
    ssls = ssls or [["patched", str(PATCHED_SSL), None],
                    ["debian", str(STOCK_SSL), None]]
    dps = {"both": [False, True], "on": [True], "off": [False]}[args.devprov]
    work = Path(args.keep) if args.keep else \
        Path(tempfile.mkdtemp(prefix="devprov-vgexit-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    pki = make_pki(work / "pki", quiet=True)
    jobs = [(name, path, pre, dp, i) for name, path, pre in ssls
            for dp in dps for i in range(args.n)]
    # interleave the configurations, so that a change of load over time
    # affects all of them alike
    jobs.sort(key=lambda j: (j[4], j[0], j[3]))
    results = {}
    with ThreadPoolExecutor(args.j) as ex:
        futs = {ex.submit(one_run, work, pki, name, path, dp, i, args.reqs,
                          args.args, pre, args.single): (name, dp, i)
                for name, path, pre, dp, i in jobs}
        for f, key in futs.items():
            try:
                res = f.result()
            except Exception as e:          # noqa: BLE001
                res = ("error", None, repr(e))
            results[key] = res
            if res[0] not in ("ok",):
                print(f"{key}: {res[0]} rc={res[1]} {res[3:]}\n{res[2]}",
                      flush=True)
    print("\n| mod_ssl | mod_devprov | runs | died of a signal | other |")
    print("|---|---|---:|---:|---:|")
    for name, *_ in ssls:
        for dp in dps:
            rs = [v for (n, d, _), v in results.items()
                  if n == name and d == dp]
            sig = sum(1 for r in rs if r[0].startswith("signal"))
            other = sum(1 for r in rs if r[0] not in ("ok",)
                        and not r[0].startswith("signal"))
            print(f"| {name} | {'loaded' if dp else 'not loaded'} | "
                  f"{len(rs)} | {sig} | {other} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
