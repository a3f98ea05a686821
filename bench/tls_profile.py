#!/usr/bin/python3
"""One new TLS connection, counted in instructions: Apache + mod_ssl
against nginx and against HAProxy terminating TLS in front of Apache.

The same certificates (RSA-2048 server, the test PKI's valid Polycom
phone as client certificate, verified optionally against the Polycom CA
file), TLS 1.2, one static file, an access log; each server with its
defaults for everything else (session tickets on in all three; Apache's
shmcb session cache as the example site configures it, nginx's none,
HAProxy's built-in one):

  apache   apache2 -X, mpm_event, no devprov, mod_ssl as built here from
           Debian's source with the patch (bench/instr.py's setup B:
           3,000 instructions a connection more than Debian's own build,
           setup A), so that its functions have names
  nginx    Debian's nginx, one process (master_process off)
  haproxy  Debian's HAProxy (one thread) terminating TLS, the request
           passed over plain HTTP to an Apache (apache2 -X, kept-alive
           backend connection): both processes counted
  apache-ecdsa  as apache, with an ECDSA P-256 server certificate beside
           the RSA one (the same CA and name): OpenSSL signs with it for
           a client that offers ECDSA, as this one does (checked:
           %{SSL_CIPHER}x); what the key type costs

Each is counted by callgrind from start to exit twice, with one
connection and with 1 + N connections of one request (this script's
client: Python's ssl module, as bench/instr.py); per connection = the
difference / N, by object (libcrypto, libssl, the server's own code,
APR, libc) and by function.  Making the RSA key's blinding values
(BN_BLINDING_create_param: random numbers, once per process and every
32 signatures) is not counted (callgrind --toggle-collect, collection
on from the start), as
bench/instr.py leaves it out.  What the table shows
is what each server's code asks of the CPU per connection; where Apache
asks more than the others, its own functions say what for.

Needs root, valgrind, nginx and haproxy (scripts/install-deps.sh --bench).

    /usr/bin/python3 bench/tls_profile.py [-n 20]
        [-o bench/results/tls-profile.md]
"""
import argparse
import datetime
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
sys.path.insert(0, str(ROOT / "bench"))

from conftest import (PATCHED_SSL, STOCK_SSL, cpu_model,  # noqa: E402
                      free_port, make_pki)
from callgrind import (CgHttpd, Profile, fmt, make_www,  # noqa: E402
                       wait_port_idle, write_report)
from instr import Client, vhost  # noqa: E402

PHONE = "polycom-valid"
SERVERS = ["apache", "nginx", "haproxy", "apache-ecdsa"]
LABEL = {"apache": "Apache + mod_ssl",
         "apache-ecdsa": "Apache + mod_ssl, an ECDSA certificate too",
         "nginx": "nginx",
         "haproxy": "HAProxy + Apache behind it"}
START_TIMEOUT = 120
# not counted (--toggle-collect: collection off inside it): making the
# RSA key's blinding values, random numbers
BLINDING = "BN_BLINDING_create_param"
# in this order: --toggle-collect also turns collection off at the start
NO_BLINDING = [f"--toggle-collect={BLINDING}", "--collect-atstart=yes"]


def listening(port):
    """Is PORT in LISTEN state on 127.0.0.1?  Read from /proc: a probe
    connection would be counted."""
    want = f"0100007F:{port:04X}"
    return any(ln.split()[1] == want and ln.split()[3] == "0A"
               for ln in Path("/proc/net/tcp").read_text().splitlines()[1:])


class Cg:
    """A program under callgrind, started in its own session."""

    def __init__(self, d, name, argv):
        self.out = d / f"{name}.callgrind"
        self.log = d / f"{name}.valgrind.log"
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--dump-instr=no", "--vgdb=no",
             *NO_BLINDING,
             f"--callgrind-out-file={self.out}", f"--log-file={self.log}"]
            + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def wait_listen(self, port):
        deadline = time.time() + START_TIMEOUT
        while not listening(port):
            if self.proc.poll() is not None or time.time() > deadline:
                self.kill()
                raise SystemExit(f"{self.out.name}: not listening on {port}: "
                                 + self.log.read_text()[-2000:])
            time.sleep(0.2)
        time.sleep(2)           # from bind() to its event loop

    def stop(self, sig=signal.SIGTERM):
        deadline = time.time() + 120
        while self.proc.poll() is None:
            if time.time() > deadline:
                self.kill()
                raise SystemExit(f"{self.out.name}: did not stop")
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def nginx_conf(d, pki, www, port):
    for sub in ("logs", "tmp"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    conf = d / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
master_process off;
daemon off;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {pki / 'server/server.pem'};
        ssl_certificate_key {pki / 'server/server.key'};
        ssl_client_certificate {pki / 'polycom/cafile.pem'};
        ssl_verify_client optional_no_ca;
        ssl_verify_depth 3;
        root {www};
    }}
}}
""")
    return ["nginx", "-p", str(d), "-c", str(conf)]


def haproxy_conf(d, pki, port, backend):
    crt = d / "server.pem"
    crt.write_bytes((pki / "server/server.pem").read_bytes()
                    + (pki / "server/server.key").read_bytes())
    crt.chmod(0o600)
    conf = d / "haproxy.cfg"
    conf.write_text(f"""
global
    nbthread 1
    maxconn 256
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend phones
    bind 127.0.0.1:{port} ssl crt {crt} ca-file {pki / 'polycom/cafile.pem'} verify optional
    default_backend apache

backend apache
    server a 127.0.0.1:{backend}
""")
    return ["haproxy", "-db", "-f", str(conf)]


def self_costs(path):
    """Self Ir per (function, object basename), from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", str(path)],
                         capture_output=True, text=True, check=True).stdout
    res = defaultdict(int)
    for ln in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", ln)
        if not m:
            continue
        mm = re.match(r"(.*?):(\S+)(?: \[(.*)\])?$", m.group(2))
        if not mm:
            continue
        res[(mm.group(2), Path(mm.group(3) or "?").name)] += \
            int(m.group(1).replace(",", ""))
    # lines of a function without its object: to the object that has it
    objs = defaultdict(set)
    for fn, obj in res:
        if obj != "?":
            objs[fn].add(obj)
    for fn, obj in [k for k in res if k[1] == "?"]:
        if len(objs[fn]) == 1:
            res[(fn, next(iter(objs[fn])))] += res.pop((fn, obj))
    return res


def group(obj):
    for key, name in (("libcrypto", "libcrypto (OpenSSL)"),
                      ("libssl", "libssl (OpenSSL)"),
                      ("libapr", "APR, APR-util"),
                      ("libc.so", "libc"), ("ld-linux", "ld.so")):
        if key in obj:
            return name
    if obj.startswith("mod_ssl"):
        return "mod_ssl"
    if obj in ("apache2",) or obj.startswith("mod_"):
        return "httpd (core, MPM, modules)"
    if obj in ("nginx", "haproxy"):
        return obj
    return "other"


def run(server, k, work, pki, www):
    """One count of SERVER with K connections: {"total", "self": {(fn,
    obj): Ir}}, summed over its processes."""
    d = work / f"{server}-{k}"
    d.mkdir()
    d.chmod(0o777)
    procs, cgs = [], []
    port = None
    try:
        if server in ("apache", "apache-ecdsa", "haproxy"):
            # the front: mod_ssl built here with symbols (its functions
            # named in the report); the backend speaks no TLS
            h = CgHttpd(work, f"{server}-{k}-httpd", pki,
                        ssl_module=STOCK_SSL if server == "haproxy"
                        else PATCHED_SSL, devprov=False)
            h.dir.chmod(0o777)
            out = h.dir / "callgrind.out"
            if server == "apache":
                body = vhost(h, pki, None, www, False)
            elif server == "apache-ecdsa":
                # both keys: OpenSSL signs with the ECDSA one for a
                # client that offers ECDSA (this one does; an RSA-only
                # phone still gets the RSA certificate)
                key = f"SSLCertificateKeyFile {pki / 'server/server.key'}\n"
                body = vhost(h, pki, None, www, False).replace(
                    key, key
                    + f"SSLCertificateFile {pki / 'server/server-ec.pem'}\n"
                    f"SSLCertificateKeyFile {pki / 'server/server-ec.key'}\n"
                    f'CustomLog {h.dir}/logs/cipher.log "%{{SSL_CIPHER}}x"\n')
                assert "server-ec.key" in body
            else:
                p = h.port("cg")
                body = (f"Listen 127.0.0.1:{p}\n<VirtualHost 127.0.0.1:{p}>\n"
                        f"ServerName localhost\nDocumentRoot {www}\n"
                        "KeepAlive on\nMaxKeepAliveRequests 1000\n"
                        "KeepAliveTimeout 60\n"
                        f"<Directory {www}>\nRequire all granted\n"
                        "</Directory>\n</VirtualHost>\n")
            h.start_callgrind(body, out, NO_BLINDING)
            procs.append(("httpd", h, out))
            port = h.port("cg")
        if server == "nginx":
            port = free_port()
            cg = Cg(d, "nginx", nginx_conf(d, pki, www, port))
            cg.wait_listen(port)
            cgs.append(cg)
        if server == "haproxy":
            backend, port = port, free_port()
            cg = Cg(d, "haproxy", haproxy_conf(d, pki, port, backend))
            cg.wait_listen(port)
            cgs.append(cg)
        cl = Client(pki, PHONE)
        for _ in range(k):
            cl.connect(port, 1)
        for cg in cgs:                          # the front first
            wait_port_idle(port)
            cg.stop()
        for _, h, _ in procs:
            h.wait_closed()
            h.stop_callgrind()
    finally:
        for cg in cgs:
            cg.kill()
        for _, h, _ in procs:
            h.stop()
    if server == "apache-ecdsa":
        ciphers = set((procs[0][1].dir / "logs/cipher.log").read_text()
                      .split())
        if not ciphers or any("ECDSA" not in c for c in ciphers):
            raise SystemExit(f"{server}: not the ECDSA certificate: "
                             f"{ciphers}")
    files = [cg.out for cg in cgs] + [out for _, _, out in procs]
    res = {"total": 0, "self": defaultdict(int), "modssl": defaultdict(int)}
    for f in files:
        prof = Profile(f)
        res["total"] += prof.total
        for name, v in prof.by_name("mod_ssl.so").items():
            res["modssl"][name] += v
        for key, v in self_costs(f).items():
            res["self"][key] += v
    print(f"  {server}, {k} connection(s): {res['total']:,} Ir",
          file=sys.stderr)
    return res


def per_conn(first, new, n):
    """Per connection: by (fn, obj), and the total."""
    fns = {key: (new["self"].get(key, 0) - first["self"].get(key, 0)) / n
           for key in set(first["self"]) | set(new["self"])}
    return (new["total"] - first["total"]) / n, fns


def report(args, res, out):
    ver = {}
    for tool, pat in (("apache2", r"Apache/(\S+)"), ("nginx", r"nginx/(\S+)"),
                      ("haproxy", r"version (\S+)"),
                      ("openssl", r"OpenSSL (\S+)")):
        p = subprocess.run([tool, "-v" if tool != "openssl" else "version"],
                           capture_output=True, text=True)
        m = re.search(pat, p.stdout + p.stderr)
        ver[tool] = m.group(1) if m else "?"
    L = ["# One new TLS connection: Apache + mod_ssl, nginx, HAProxy "
         "(callgrind)", "",
         f"`make bench-tls-profile` (`/usr/bin/python3 bench/tls_profile.py "
         f"-n {args.n}`), "
         f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC,"
         f" {cpu_model()}; apache2 {ver['apache2']}, nginx {ver['nginx']}, "
         f"HAProxy {ver['haproxy']}, OpenSSL {ver['openssl']}.", "",
         "Per new connection (full TLS 1.2 handshake with the phone's "
         "certificate, one GET of a static file): (1 + N connections - 1 "
         f"connection) / N, N = {args.n}, without making the RSA blinding "
         "values (random numbers, the same work in every server; not "
         "counted: callgrind --toggle-collect).  Self "
         "instructions, summed per object; HAProxy's row holds HAProxy "
         "and the Apache behind it.", "",
         "## Per connection, by object", ""]
    per = {s: per_conn(res[s][0], res[s][1], args.n) for s in SERVERS}
    groups = sorted({group(o) for s in SERVERS for (_, o) in per[s][1]},
                    key=lambda g: -max(sum(v for (f, o), v in per[s][1].items()
                                           if group(o) == g)
                                       for s in SERVERS))
    L += ["| | " + " | ".join(LABEL[s] for s in SERVERS) + " |",
          "|---|" + "---:|" * len(SERVERS)]
    for g in groups:
        vals = [sum(v for (f, o), v in per[s][1].items() if group(o) == g)
                for s in SERVERS]
        if max(abs(v) for v in vals) < 500:
            continue
        L.append(f"| {g} | " + " | ".join(fmt(v) for v in vals) + " |")
    L.append("| **total** | " + " | ".join(f"**{fmt(per[s][0])}**"
                                          for s in SERVERS) + " |")
    L += ["", "## Where Apache + mod_ssl spends more than nginx", "",
          "Functions by Apache's self instructions per connection minus "
          "nginx's (the same function in OpenSSL or libc, or Apache's "
          "own), the 25 largest differences.", "",
          "| function | object | Apache | nginx | difference |",
          "|---|---|---:|---:|---:|"]
    a, n_ = per["apache"][1], per["nginx"][1]
    keys = sorted(set(a) | set(n_), key=lambda k: -(a.get(k, 0)
                                                     - n_.get(k, 0)))
    for key in keys[:25]:
        L.append(f"| `{key[0]}` | {key[1]} | {fmt(a.get(key, 0))} | "
                 f"{fmt(n_.get(key, 0))} | "
                 f"{a.get(key, 0) - n_.get(key, 0):+,.0f} |")
    first, new = res["apache"]
    ms = {k: (new["modssl"].get(k, 0) - first["modssl"].get(k, 0)) / args.n
          for k in set(first["modssl"]) | set(new["modssl"])}
    L += ["", "## mod_ssl's functions per connection (Apache, inclusive)", "",
          "What mod_ssl's own functions cost with all they call (OpenSSL "
          "included; nested, so the rows overlap): where Apache's handshake "
          "work is asked for.", "",
          "| function | Ir |", "|---|---:|"]
    for k, v in sorted(ms.items(), key=lambda x: -x[1])[:20]:
        if v >= 1000:
            L.append(f"| `{k}` | {fmt(v)} |")
    L += ["", "## The largest per server", ""]
    for s in SERVERS:
        top = sorted(per[s][1].items(), key=lambda x: -x[1])[:12]
        L += [f"{LABEL[s]}:", "", "| function | object | Ir |",
              "|---|---|---:|"]
        L += [f"| `{f}` | {o} | {fmt(v)} |" for (f, o), v in top]
        L.append("")
    write_report(L, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("-o", "--output",
                    default=str(ROOT / "bench/results/tls-profile.md"))
    args = ap.parse_args()
    for tool in ("valgrind", "nginx", "haproxy", "callgrind_annotate"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: scripts/install-deps.sh "
                             "--bench")
    work = Path(tempfile.mkdtemp(prefix="devprov-tlsprof-"))
    work.chmod(0o755)
    try:
        pki = make_pki(work / "pki", quiet=True)
        www = make_www(work)
        res = {s: (run(s, 1, work, pki, www), run(s, 1 + args.n, work, pki,
                                                   www))
               for s in SERVERS}
        report(args, res, Path(args.output))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
