"""Integration test harness: real apache2 instances on 127.0.0.1 with the
freshly built mod_ssl.so (patched) and mod_devprov.so, a test PKI generated
per run, and real clients (curl, openssl s_client).

Every test gets its server's error log checked afterwards: a line at
[warn] or worse that the test did not declare with ``expect_log`` fails it.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("DEVPROV_BUILD", ROOT / "build"))
MODDIR = Path("/usr/lib/apache2/modules")
PATCHED_SSL = Path(os.environ.get("DEVPROV_MOD_SSL", BUILD / "mod_ssl.so"))
STOCK_SSL = MODDIR / "mod_ssl.so"
DEVPROV = BUILD / "mod_devprov.so"
WWW = ROOT / "t" / "www"
PHP_CGI = shutil.which("php-cgi") or "/usr/bin/php-cgi"


def mod_ssl_is_patched(path):
    """Is the mod_ssl.so at PATH built with mod_ssl_expired.patch?  (Only
    the patched one has the directive SSLVerifyClientAcceptExpired.)"""
    try:
        return b"SSLVerifyClientAcceptExpired" in Path(path).read_bytes()
    except OSError:
        return False


def mod_ssl_source(path):
    """The record scripts/build-mod-ssl.sh writes beside a patched
    mod_ssl.so (PATH.source): which apache2 source it was built from
    ("source"), the apache2 installed then ("installed"), "older_source"
    yes/no.  {} if there is none."""
    try:
        text = Path(str(path) + ".source").read_text()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line)


def installed_apache2():
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "apache2"],
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "not installed"


# Which mod_ssl the suite loads (DEVPROV_MOD_SSL): the patched one
# (default) or Debian's stock one ("stock mode": devprov tolerates expired
# client certificates in the handshake itself; make check-stock).
SSL_PATCHED = mod_ssl_is_patched(PATCHED_SSL)
SSL_MODE = "patched" if SSL_PATCHED else "stock"
SSL_SOURCE = mod_ssl_source(PATCHED_SSL) if SSL_PATCHED else {}


def ssl_source_line():
    """What the run says about its mod_ssl: the tests' results hold for
    that source (doc/mod-ssl-source.md)."""
    if not SSL_PATCHED:
        return (f"devprov: mod_ssl {PATCHED_SSL}: stock (Debian's build of "
                f"the installed apache2 {installed_apache2()})")
    if not SSL_SOURCE:
        return (f"devprov: mod_ssl {PATCHED_SSL}: patched, apache2 source "
                f"unknown (no {PATCHED_SSL}.source); installed apache2 "
                f"{installed_apache2()}")
    older = (", OLDER than the installed apache2: "
             "DEVPROV_ALLOW_OLDER_SOURCE=1"
             if SSL_SOURCE.get("older_source") == "yes" else "")
    return (f"devprov: mod_ssl {PATCHED_SSL}: patched, built from apache2 "
            f"source {SSL_SOURCE.get('source')} for the installed apache2 "
            f"{SSL_SOURCE.get('installed')}{older}; installed now: "
            f"{installed_apache2()}")


def pytest_report_header(config):
    return ssl_source_line()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # with -q (make check, CI) the header above is not shown
    if config.getoption("verbose") < 0:
        terminalreporter.write_line(ssl_source_line())
# for tests that need the patched mod_ssl's own behaviour
needs_patched_ssl = pytest.mark.skipif(
    not SSL_PATCHED, reason=f"needs the patched mod_ssl "
    f"(SSLVerifyClientAcceptExpired); the suite loads {PATCHED_SSL}, a "
    f"stock mod_ssl (stock mode)")
# mod_ssl's lines for a client certificate refused in the handshake
HANDSHAKE_FAIL_LOG = [r"AH02039|AH02276|AH02010|AH02008|SSL Library Error",
                      r"Certificate Verification: Error"]


# Httpd.tls_vhost's default SSLCACertificateFile (see there)
DEFAULT_CAFILE = object()


def handshake_refuses(device, has_ca=False):
    """Does the TLS handshake of a devprov vhost with optional_no_ca refuse
    DEVICE's certificate in this mode?  HAS_CA: the test gave the vhost
    the vendor's SSLCACertificateFile (stock mode gives every devprov vhost
    the vendor CAs, see Httpd.tls_vhost).  Stock mode refuses an expired
    certificate from an unknown CA (its chain does not verify, so the time
    error is not waived: stock mod_ssl's own refusal), where the patched
    mod_ssl's optional_no_ca lets it reach devprov; a forged signature
    under a known CA is fatal in both."""
    if device == "polycom-forged":
        return has_ca or not SSL_PATCHED
    if device == "rogue-expired":
        return not SSL_PATCHED
    return False


# mod_ssl's own variable lookup (%{SSL_CLIENT_VERIFY}x in log formats,
# %{SSL:...} in expressions) for an expired genuine phone: the patched
# mod_ssl says EXPIRED; in stock mode only the request environment is
# corrected, mod_ssl itself still says SUCCESS
SSL_LOOKUP_EXPIRED = "EXPIRED" if SSL_PATCHED else "SUCCESS"

# the apache2 command: a wrapper may run it under a sanitizer runtime or
# valgrind (tests/sanitize.mk); only apache2 gets the wrapper's environment
APACHE2 = os.environ.get("DEVPROV_APACHE2", "apache2")

BASE_MODULES = ["mpm_event", "authz_core", "authz_host", "mime", "alias",
                "rewrite", "actions", "cgid", "env", "setenvif",
                "socache_shmcb", "dir", "dav", "dav_fs"]

# Debian's mpm_event.conf sizing, for load runs (the harness's own sizing
# is small: at most 4 processes of 8 threads)
MPM_DEBIAN = """StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 150
"""

# log lines at these levels fail a test unless it expects them
BAD_LEVEL = re.compile(r"\[[a-z_0-9]*:(warn|error|crit|alert|emerg)\]")
# never a failure: Debian's stock mod_ssl.so warns that it was built
# against another OpenSSL 3.0.x release than the one loaded (AH01882); the
# patched mod_ssl warns at every start when it was built from another
# apache2 source than the server's (DEVPROV_ALLOW_OLDER_SOURCE=1;
# t/test_mod_ssl_source.py checks that warning)
BENIGN = re.compile(r"AH01882|patched mod_ssl \(devprov\) is built from "
                    r"apache2 source")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def workdir():
    # apache's children and php-cgi run as www-data: the tree must be
    # readable by them (pytest's tmp dirs are 0700)
    d = Path(tempfile.mkdtemp(prefix="devprov-t-"))
    d.chmod(0o755)
    yield d
    if not os.environ.get("DEVPROV_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def built_debs(workdir):
    """The two binary packages "make deb" builds (debian/), built once per
    test run into a build directory of the run's own: {package: .deb}.
    The apache2 source "make mod_ssl" downloaded is reused (copied), so
    that the package's patched mod_ssl is built from the same source as
    the tests' build/mod_ssl.so.  One debian/ build at a time (a lock):
    dpkg-buildpackage works in the source tree."""
    import fcntl
    if os.environ.get("DEVPROV_MOD_SSL") or os.environ.get("DEVPROV_APACHE2"):
        pytest.skip("the packages do not depend on the mod_ssl or apache2 "
                    "wrapper the suite runs with (DEVPROV_MOD_SSL, "
                    "DEVPROV_APACHE2): built and tested once, in the plain "
                    "run")
    if not (shutil.which("dpkg-buildpackage") and shutil.which("dh")
            and shutil.which("dh_apache2")):
        pytest.skip("needs dpkg-dev, debhelper and apache2-dev")
    out = workdir / "debbuild"
    if not (out / "deb").exists():
        dl = BUILD / "apache2-dl"
        if dl.is_dir():
            shutil.copytree(dl, out / "apache2-dl")
        lock = open("/run/lock/devprov-test-install.lock", "w") \
            if os.access("/run/lock", os.W_OK) else None
        try:
            if lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
            p = subprocess.run(["make", "-s", "-C", str(ROOT),
                                f"BUILD={out}", "deb"],
                               capture_output=True, text=True, timeout=900)
        finally:
            if lock:
                lock.close()
        if p.returncode != 0:
            pytest.fail("make deb: " + p.stdout[-3000:] + p.stderr[-3000:])
    debs = {}
    for d in (out / "deb").glob("*.deb"):
        if "-dbgsym_" not in d.name:
            debs[d.name.split("_")[0]] = d
    return debs


def make_pki(out, *args, quiet=False):
    """A test PKI generated now (certs/mkpki.py OUT ARGS), its directories
    readable by apache's children and php-cgi (www-data)."""
    subprocess.run(["/usr/bin/python3", str(ROOT / "certs" / "mkpki.py"),
                    str(out), *args], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    for p in Path(out).rglob("*"):
        if p.is_dir():
            p.chmod(0o755)
    return Pki(out)


def cpu_model():
    """The CPU's model name, for benchmark reports."""
    return next((ln.split(":", 1)[1].strip() for ln in
                 Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")), "unknown CPU")


@pytest.fixture(scope="session")
def pki(workdir):
    return make_pki(workdir / "pki")


class Pki:
    def __init__(self, root):
        self.root = Path(root)
        self.manifest = json.loads((self.root / "manifest.json").read_text())

    def __truediv__(self, rel):
        return self.root / rel

    def cert(self, name):
        return self.root / "devices" / f"{name}.pem"

    def key(self, name):
        return self.root / "devices" / f"{name}.key"

    def chain(self, name):
        return self.root / "devices" / f"{name}.chain.pem"

    def mac(self, name):
        return self.manifest["devices"][name]["mac"]

    def all_vendor_cafile(self):
        """Every test vendor's CAs in one file (stock mode)."""
        out = self.root / "all-vendors-cafile.pem"
        if not out.exists():
            out.write_bytes(b"".join(
                (self.root / v / "cafile.pem").read_bytes()
                for v in ("polycom", "yealink", "cisco")))
            out.chmod(0o644)
        return out


class Result:
    def __init__(self, rc, status, body, stderr):
        self.rc, self.status, self.body, self.stderr = rc, status, body, stderr

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def handshake_failed(self):
        return self.status == 0

    def __repr__(self):
        return (f"Result(rc={self.rc}, status={self.status}, "
                f"body={self.body[:300]!r}, stderr={self.stderr[-300:]!r})")


class Httpd:
    """One apache2 instance of our own, started in the foreground."""

    def __init__(self, workdir, name, pki, ssl_module=PATCHED_SSL,
                 devprov=True):
        self.dir = workdir / name
        if self.dir.exists():
            shutil.rmtree(self.dir)
        (self.dir / "logs").mkdir(parents=True)
        self.dir.chmod(0o755)
        self.pki = pki
        self.ssl_module = ssl_module
        self.devprov = devprov
        self.proc = None
        self.ports = {}
        self.log_pos = 0
        self.expected = []

    # -- configuration -------------------------------------------------
    def port(self, name):
        if name not in self.ports:
            # the kernel may hand out a port it gave us before (it is free
            # again once free_port() closed it): never twice in one server
            port = free_port()
            while port in self.ports.values():
                port = free_port()
            self.ports[name] = port
        return self.ports[name]

    @property
    def error_log(self):
        return self.dir / "logs" / "error.log"

    @property
    def access_log(self):
        return self.dir / "logs" / "access.log"

    def head(self):
        mods = "\n".join(
            f"LoadModule {m}_module {MODDIR}/mod_{m}.so" for m in BASE_MODULES)
        lines = [
            f"ServerRoot {self.dir}",
            "ServerName localhost",
            f"PidFile {self.dir}/httpd.pid",
            f"DefaultRuntimeDir {self.dir}/logs",
            f"ErrorLog {self.dir}/logs/error.log",
            "LogLevel info ssl:info" + (" devprov:debug" if self.devprov
                                        else ""),
            mods,
            f"LoadModule ssl_module {self.ssl_module}",
        ]
        if self.devprov:
            lines.append(f"LoadModule devprov_module {DEVPROV}")
        lines += [
            "User www-data",
            "Group www-data",
            f"Mutex file:{self.dir} default",
            f"ScriptSock {self.dir}/cgid.sock",
            "StartServers 1",
            "ServerLimit 4",
            "MinSpareThreads 4",
            "MaxSpareThreads 16",
            "ThreadsPerChild 8",
            "MaxRequestWorkers 32",
            "TypesConfig /etc/mime.types",
            f"SSLSessionCache shmcb:{self.dir}/scache(512000)",
            'LogFormat "%h %>s %U mac=%{DEVICE_MAC}e verified='
            '%{DEVICE_VERIFIED}e validity=%{DEVICE_CERT_VALIDITY}e '
            'ssl=%{SSL_CLIENT_VERIFY}x" devprov',
            f"CustomLog {self.dir}/logs/access.log devprov",
            # php-cgi behind mod_actions, as Debian's php-cgi configuration
            f"ScriptAlias /php-cgi-bin/php-cgi {PHP_CGI}",
            "<Location /php-cgi-bin>",
            "    Require env REDIRECT_STATUS",
            "</Location>",
            "AddHandler application/x-httpd-php .php",
            "Action application/x-httpd-php /php-cgi-bin/php-cgi virtual",
            f"<Directory {WWW}>",
            "    Options +ExecCGI",
            "    Require all granted",
            "</Directory>",
        ]
        return "\n".join(lines) + "\n"

    def tls_vhost(self, port_name, body, verify="optional_no_ca",
                  cafile=DEFAULT_CAFILE):
        stock_devprov = ("DevprovEngine on" in body
                         and not mod_ssl_is_patched(self.ssl_module))
        if cafile is DEFAULT_CAFILE:
            # the default: Polycom's CAs, except for a devprov vhost in
            # stock mode, where "apache2 -t" refuses a CA file without the
            # CAs of every vendor the vhost trusts (tests trust several)
            cafile = None if stock_devprov else "polycom/cafile.pem"
        if cafile is None and stock_devprov:
            # stock mode tolerates time errors only in chains that verify
            # against SSLCACertificateFile: a devprov vhost "without a CA"
            # gets every test vendor's CAs (doc/stock-mode.md); other
            # certificates still reach devprov as GENEROUS
            cafile = self.pki.all_vendor_cafile()
        ca = f"SSLCACertificateFile {self.pki / cafile}\n" if cafile else ""
        return (
            f"Listen 127.0.0.1:{self.port(port_name)}\n"
            f"<VirtualHost 127.0.0.1:{self.port(port_name)}>\n"
            f"ServerName localhost\n"
            f"DocumentRoot {WWW}\n"
            f"SSLEngine on\n"
            f"SSLCertificateFile {self.pki / 'server/server.pem'}\n"
            f"SSLCertificateKeyFile {self.pki / 'server/server.key'}\n"
            f"SSLVerifyClient {verify}\n"
            f"SSLVerifyDepth 3\n"
            f"{ca}"
            f"SSLOptions +StdEnvVars\n"
            f"{body}\n"
            f"</VirtualHost>\n")

    def write(self, body):
        conf = self.dir / "httpd.conf"
        conf.write_text(self.head() + body)
        return conf

    def configtest(self, body):
        conf = self.write(body)
        return subprocess.run([APACHE2, "-t", "-f", str(conf)],
                              capture_output=True, text=True, timeout=60)

    # -- lifecycle -----------------------------------------------------
    def start(self, body):
        res = self.configtest(body)
        assert res.returncode == 0, res.stderr
        pidfile = self.dir / "httpd.pid"
        pidfile.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [APACHE2, "-f", str(self.dir / "httpd.conf"), "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # under the sanitizer and valgrind wrappers (DEVPROV_APACHE2) a start
        # takes several times as long, more so on a loaded machine
        deadline = time.time() + (60 if os.environ.get("DEVPROV_APACHE2")
                                  else 20)
        try:
            for port in self.ports.values():
                while True:
                    assert self.proc.poll() is None, (
                        "apache2 exited: " + self.proc.stderr.read().decode()
                        + self.error_log.read_text())
                    try:
                        socket.create_connection(("127.0.0.1", port), 1).close()
                        break
                    except OSError:
                        assert time.time() < deadline, f"port {port} not up"
                        time.sleep(0.05)
            # the ports listen before the modules' post_config (and its log
            # lines) is over; the PidFile is written after it
            while not pidfile.exists():
                assert self.proc.poll() is None, "apache2 exited"
                assert time.time() < deadline, "no PidFile"
                time.sleep(0.05)
        except BaseException:
            # never leave a server behind a failed start: the next test
            # (and the next run) would find its ports taken
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    # -- error log -----------------------------------------------------
    def mark(self):
        self.log_pos = self.error_log.stat().st_size if \
            self.error_log.exists() else 0
        self.expected = []

    def new_log(self):
        if not self.error_log.exists():
            return ""
        with open(self.error_log, "rb") as f:
            f.seek(self.log_pos)
            return f.read().decode(errors="replace")

    def unexpected_log_lines(self):
        bad = []
        for line in self.new_log().splitlines():
            if BAD_LEVEL.search(line) and not BENIGN.search(line) \
                    and not any(
                    re.search(p, line) for p in self.expected):
                bad.append(line)
        return bad

    # -- clients -------------------------------------------------------
    def curl(self, port_name, path="/", device=None, chain=False,
             tls=None, extra=(), host="localhost", key=None):
        url = f"https://{host}:{self.port(port_name)}{path}"
        return curl(url, self.pki, device=device, chain=chain, tls=tls,
                    extra=extra, port=self.port(port_name), key=key)

    def http(self, port_name, path="/"):
        return curl(f"http://localhost:{self.port(port_name)}{path}", None,
                    port=self.port(port_name))


def curl(url, pki, device=None, chain=False, tls=None, extra=(), port=None,
         key=None):
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
           "--max-time", "20"]
    if port is not None:
        cmd += ["--resolve", f"localhost:{port}:127.0.0.1"]
    if pki is not None:
        cmd += ["--cacert", str(pki / "server/ca.pem")]
    if device:
        cert = pki.chain(device) if chain else pki.cert(device)
        cmd += ["--cert", str(cert), "--key", str(key or pki.key(device))]
    if tls == "1.2":
        cmd += ["--tlsv1.2", "--tls-max", "1.2"]
    elif tls == "1.3":
        cmd += ["--tlsv1.3"]
    cmd += list(extra) + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    return Result(p.returncode, int(code or 0), body, p.stderr)


def s_client_get(port, pki, device, path="/", tls="-tls1_2", extra=(),
                 quiet=True):
    """An HTTP/1.0 request over `openssl s_client`, as a phone would send.
    Returns (status, output, stderr): the output is the response, preceded
    by s_client's report of the handshake (session, reuse) unless QUIET."""
    cmd = ["openssl", "s_client"] + (["-quiet"] if quiet else []) + [
        "-ign_eof", "-connect", f"127.0.0.1:{port}",
        "-servername", "localhost", "-CAfile", str(pki / "server/ca.pem"),
        tls, "-cert", str(pki.cert(device)), "-key", str(pki.key(device))]
    cmd += list(extra)
    req = f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"
    p = subprocess.run(cmd, input=req, capture_output=True, text=True,
                       timeout=30)
    m = re.search(r"^HTTP/1\.\d (\d{3})", p.stdout, re.M)
    return (int(m.group(1)) if m else 0), p.stdout, p.stderr


@pytest.fixture(scope="session", autouse=True)
def built():
    missing = [str(p) for p in (PATCHED_SSL, DEVPROV) if not p.exists()]
    if missing:
        pytest.exit("not built: " + ", ".join(missing) + " (run make)", 2)


def check_log(server):
    bad = server.unexpected_log_lines()
    assert not bad, "unexpected error log lines:\n" + "\n".join(bad)


def _servers(request):
    return [request.getfixturevalue(n) for n in request.fixturenames
            if n.startswith("srv_")]


@pytest.fixture
def expect_log(request):
    """Declare error-log lines (regexes) a test is expected to cause."""
    def add(patterns):
        for s in _servers(request):
            s.expected.extend(patterns)
    return add


def make_server_fixture(name, build_body, **kw):
    """A module-scoped server fixture (its name must start with srv_) whose
    error log is checked after each test."""
    assert name.startswith("srv_")

    @pytest.fixture(scope="module", name=name)
    def _server(workdir, pki):
        srv = Httpd(workdir, name, pki, **kw)
        srv.start(build_body(srv, pki))
        yield srv
        srv.stop()

    return _server


@pytest.fixture(autouse=True)
def _log_check(request):
    servers = _servers(request)
    for s in servers:
        s.mark()
    yield
    for s in servers:
        if s.proc is not None:
            # let the server flush lines of the last request
            time.sleep(0.05)
            check_log(s)


def fingerprint(pki, device):
    """SHA-256 fingerprint (hex) of a test device's certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    cert = x509.load_pem_x509_certificate(pki.cert(device).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex()


class Postgres:
    """A PostgreSQL server of our own: a fresh cluster in DIR, listening on
    127.0.0.1 only, with password authentication.  Run as the 'postgres'
    user when we are root (the server refuses to run as root)."""

    SUPERUSER_PASSWORD = "devprov-test-admin"

    def __init__(self, root, options=""):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            pytest.skip("PostgreSQL is not installed (Debian package "
                        "postgresql; make deps installs it)")
        self.bin = bins[-1].parent
        self.dir = Path(root)
        self.data = self.dir / "data"
        self.port = free_port()
        self.options = options          # more server options (-c ...)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        pw = self.dir / "pwfile"
        pw.write_text(self.SUPERUSER_PASSWORD + "\n")
        if self.as_user:
            shutil.chown(pw, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres",
                  f"--pwfile={pw}", "-A", "scram-sha-256", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        self.start()

    def _run(self, prog, *args, timeout=120):
        p = subprocess.run(self.as_user + [str(self.bin / prog), *args],
                           capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, f"{prog} failed: {p.stdout}{p.stderr}"
        return p

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l",
                  str(self.dir / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                  " -c fsync=off -c full_page_writes=off " + self.options,
                  "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self):
        return subprocess.run(self.as_user + [str(self.bin / "pg_ctl"),
                              "-D", str(self.data), "status"],
                              capture_output=True).returncode == 0

    def sql(self, statements, db="postgres"):
        env = dict(os.environ, PGPASSWORD=self.SUPERUSER_PASSWORD)
        p = subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c",
                            statements],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def destroy(self):
        if self.running():
            self.stop()


@pytest.fixture(scope="session")
def postgres(workdir):
    pg = Postgres(workdir / "postgres")
    yield pg
    pg.destroy()


def write_allowlist(path, lines):
    Path(path).write_text("\n".join(lines) + "\n")
    Path(path).chmod(0o644)
    return path
