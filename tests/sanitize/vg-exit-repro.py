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
the last response, then the valgrind log is read: the exit status, a
"terminating with default action of signal" record and its stack.

    /usr/bin/python3 tests/sanitize/vg-exit-repro.py [-n 40] [-j 2]
        [--reqs 3] [--ssl NAME=PATH ...] [--devprov both|on|off]
        [--keep DIR] [--args 'more valgrind args']

Needs root (apache2's children run as www-data), valgrind, make all.
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


def one_run(work, pki, name, ssl, devprov, i, reqs, vgargs):
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
    proc = subprocess.Popen([str(WRAPPER), "-f", str(conf), "-DFOREGROUND"],
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
    # the log of the process we started (mod_cgid's daemon has its own)
    log = vgdir / f"vg.{proc.pid}"
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"^==\d+== Process terminating with default action of "
                  r"signal (\d+).*?(?=^==\d+== \n|^==\d+== HEAP)", text,
                  re.S | re.M)
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
    ap.add_argument("--args", default="",
                    help="more valgrind arguments (DEVPROV_VG_ARGS)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    ssls = [[n, str(Path(p).resolve())] for n, p in
            (s.split("=", 1) for s in args.ssl)] or [
        ["patched", str(PATCHED_SSL)], ["debian", str(STOCK_SSL)]]
    dps = {"both": [False, True], "on": [True], "off": [False]}[args.devprov]
    work = Path(args.keep) if args.keep else \
        Path(tempfile.mkdtemp(prefix="devprov-vgexit-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    pki = make_pki(work / "pki", quiet=True)
    jobs = [(name, path, dp, i) for name, path in ssls for dp in dps
            for i in range(args.n)]
    # interleave the configurations, so that a change of load over time
    # affects all of them alike
    jobs.sort(key=lambda j: (j[3], j[0], j[2]))
    results = {}
    with ThreadPoolExecutor(args.j) as ex:
        futs = {ex.submit(one_run, work, pki, name, path, dp, i, args.reqs,
                          args.args): (name, dp, i)
                for name, path, dp, i in jobs}
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
    for name, _ in ssls:
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
