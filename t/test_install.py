"""make install / make uninstall (packaging/install.mk), and the issue's
"Done when": a Debian 12 with Debian's own apache2 packages provisions a
phone with an EXPIRED factory certificate after only `make install`,
`a2enmod devprov` and the example vhost - with Debian's STOCK mod_ssl
(/usr/lib/apache2/modules/mod_ssl.so), not the patched build.

test_install_layout* install into a DESTDIR and check the exact files.

test_debian_apache_provisions_expired_phone installs for real (module,
CLI, man page, docs under /usr), but the Apache configuration goes into a
copy of /etc/apache2 (APACHE_CONFDIR, which make install, a2enmod,
a2ensite and apache2ctl all honour): the system's /etc/apache2 and its
apache2 service are never touched (the test checks that /etc/apache2 is
unchanged).  It runs Debian's apache2 from that copy with the copy's
envvars (run, lock and log directories moved into the test's directory,
ports moved to free 127.0.0.1 ports), stops it by its pid, and
uninstalls again.  It needs root, and is skipped where devprov is already
installed in /usr (it does not overwrite an installation it did not make)
and under the sanitizer/valgrind wrappers (DEVPROV_APACHE2: the installed
module is the one make install builds).
"""
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, curl, free_port, mod_ssl_is_patched

MAKE = ["make", "-s", "-C", str(ROOT), f"BUILD={BUILD}"]
SITE = "devprov-provisioning"
STOCK_SSL = Path("/usr/lib/apache2/modules/mod_ssl.so")
LISTED = "0004f2000002"          # polycom-expired, in allowlist.example

# what `make install DESTDIR=...` lays out, with the default variables:
# PREFIX=/usr/local as autotools projects do (dpkg owns /usr), the module
# where apxs says (Debian's apache2 module directory), the configuration
# where a2enmod looks
EXPECTED = {
    "etc/apache2/mods-available/devprov.load": 0o644,
    "etc/apache2/mods-available/devprov.conf": 0o644,
    f"etc/apache2/sites-available/{SITE}.conf": 0o644,
    "usr/lib/apache2/modules/mod_devprov.so": 0o644,
    "usr/local/bin/devprov-check": 0o755,
    "usr/local/share/man/man1/devprov-check.1": 0o644,
    "usr/local/share/doc/devprov/README": 0o644,
    "usr/local/share/doc/devprov/examples/allowlist.example": 0o644,
    "usr/local/share/doc/devprov/examples/revoked.example": 0o644,
    "usr/local/share/doc/devprov/examples/sql/schema.sql": 0o644,
    "usr/local/share/doc/devprov/examples/sql/phones.example.sql": 0o644,
    "usr/local/share/doc/devprov/examples/www/000000000000.cfg": 0o644,
    "usr/local/share/doc/devprov/examples/www/render.php": 0o644,
    "usr/local/share/doc/devprov/examples/www/firmware/README.txt": 0o644,
    "usr/local/share/doc/devprov/examples/bootstrap/000000000000.cfg": 0o644,
    "usr/local/share/doc/devprov/examples/bootstrap/bootstrap.cfg": 0o644,
    "usr/local/share/doc/devprov/examples/sites/mixed-fleet.conf.in": 0o644,
    "usr/local/share/doc/devprov/examples/allowlist.mixed.example": 0o644,
    "usr/local/share/doc/devprov/examples/fail2ban/filter.d/devprov.conf":
        0o644,
    "usr/local/share/doc/devprov/examples/fail2ban/jail.d/devprov.conf":
        0o644,
    # what make install put in the conffiles' places, to tell an
    # administrator's changes from our versions on the next install
    "usr/local/share/devprov/dist/mods-available/devprov.load": 0o644,
    "usr/local/share/devprov/dist/mods-available/devprov.conf": 0o644,
    f"usr/local/share/devprov/dist/sites-available/{SITE}.conf": 0o644,
}
# the manual: every doc/*.md, under doc/ beside the README (whose
# "doc/directives.md" and the pages' "../README" then hold where installed)
DOC_PAGES = sorted(p.name for p in (ROOT / "doc").glob("*.md"))
assert {"index.md", "directives.md", "variables.md", "operations.md",
        "stock-mode.md", "legacy-phones.md", "upgrading.md"} <= set(DOC_PAGES)
EXPECTED.update({f"usr/local/share/doc/devprov/doc/{p}": 0o644 for p in DOC_PAGES})

# PREFIX=/usr: the conffiles then name the examples exactly as conf/ does
PREFIX_USR = ("PREFIX=/usr",)
USR_EXPECTED = {f.replace("usr/local/", "usr/"): m for f, m in EXPECTED.items()}

sanitized = pytest.mark.skipif(
    bool(os.environ.get("DEVPROV_APACHE2")),
    reason="make install installs the normal build; this run uses "
    "sanitizer/valgrind builds (DEVPROV_APACHE2)")


def make(*args, env=None, check=True):
    p = subprocess.run(MAKE + list(args), capture_output=True, text=True,
                       timeout=600, env=env)
    if check:
        assert p.returncode == 0, f"make {' '.join(args)}:\n{p.stdout}{p.stderr}"
    return p


def files_under(root):
    root = Path(root)
    return {str(p.relative_to(root)): p.stat().st_mode & 0o7777
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


# --------------------------------------------------------------- DESTDIR
@sanitized
def test_install_layout(tmp_path):
    dest = tmp_path / "root"
    make("install", f"DESTDIR={dest}")
    assert files_under(dest) == EXPECTED
    a = dest / "etc/apache2/mods-available"
    # no "# Depends:": either mod_ssl (ssl, ssl_expired) will do, and
    # a2enmod would enable Debian's where the patched one is in use
    load = (a / "devprov.load").read_text().splitlines()
    assert [ln for ln in load if not ln.startswith("#")] == [
        "LoadModule devprov_module /usr/lib/apache2/modules/mod_devprov.so"]
    assert not [ln for ln in load if ln.startswith("# Depends:")]
    assert "/usr/local/share/doc/devprov/examples/" in (a / "devprov.conf").read_text()
    site = (dest / f"etc/apache2/sites-available/{SITE}.conf").read_text()
    assert f"a2ensite {SITE} " in site
    assert (dest / "usr/lib/apache2/modules/mod_devprov.so").read_bytes() \
        == (BUILD / "mod_devprov.so").read_bytes()
    # the test aid env.php is not shipped
    assert not list(dest.rglob("env.php"))
    # the man page is well-formed
    man = subprocess.run(["man", "--warnings", "-l", "-Tutf8",
                          str(dest / "usr/local/share/man/man1/devprov-check.1")],
                         capture_output=True, text=True)
    if man.returncode != 127 and shutil.which("man"):
        assert "devprov-check" in man.stdout

    # installing again changes nothing
    p = make("install", f"DESTDIR={dest}")
    assert files_under(dest) == EXPECTED
    assert "kept" not in p.stderr
    # the installed manual is the tree's
    for page in DOC_PAGES:
        assert (dest / "usr/local/share/doc/devprov/doc" / page).read_bytes() == \
            (ROOT / "doc" / page).read_bytes(), page

    # uninstall removes every file and our directories
    make("uninstall", f"DESTDIR={dest}")
    assert files_under(dest) == {}
    for d in ("usr/local/share/doc/devprov", "usr/local/share/devprov"):
        assert not (dest / d).exists(), d


@sanitized
def test_install_keeps_admins_conffiles(tmp_path):
    dest = tmp_path / "root"
    make("install", f"DESTDIR={dest}", *PREFIX_USR)
    conf = dest / "etc/apache2/mods-available/devprov.conf"
    conf.write_text(conf.read_text() + "DevprovEngine on  # the admin's\n")
    mine = conf.read_text()
    load = dest / "etc/apache2/mods-available/devprov.load"
    load.unlink()                        # deleted: installed again

    p = make("install", f"DESTDIR={dest}", *PREFIX_USR)
    assert conf.read_text() == mine      # kept
    new = Path(str(conf) + ".devprov-new")
    assert new.read_text() == (ROOT / "conf/devprov.conf").read_text()
    assert "kept " + str(conf) in p.stderr and "devprov-new" in p.stderr
    assert load.exists()
    assert set(files_under(dest)) == set(USR_EXPECTED) | {
        str(new.relative_to(dest))}

    # enabled: uninstall refuses
    enabled = dest / "etc/apache2/mods-enabled"
    enabled.mkdir(parents=True)
    (enabled / "devprov.load").symlink_to("../mods-available/devprov.load")
    p = make("uninstall", f"DESTDIR={dest}", *PREFIX_USR, check=False)
    assert p.returncode != 0 and "a2dismod devprov" in p.stderr
    assert files_under(dest) != {}
    (enabled / "devprov.load").unlink()

    # uninstall keeps the changed file, says so, and removes the rest
    p = make("uninstall", f"DESTDIR={dest}", *PREFIX_USR)
    assert "kept " + str(conf) in p.stderr
    assert set(files_under(dest)) == {
        "etc/apache2/mods-available/devprov.conf"}
    assert conf.read_text() == mine


@sanitized
def test_install_follows_prefix_and_moddir(tmp_path):
    dest = tmp_path / "root"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local",
         "MODDIR=/usr/local/lib/apache2/modules",
         "APACHE_CONFDIR=/etc/apache2-prov")
    got = set(files_under(dest))
    for f in ("usr/local/lib/apache2/modules/mod_devprov.so",
              "usr/local/bin/devprov-check",
              "usr/local/share/man/man1/devprov-check.1",
              "usr/local/share/doc/devprov/examples/www/render.php",
              "etc/apache2-prov/mods-available/devprov.load"):
        assert f in got, f
    assert not any(f.startswith("usr/lib") or f.startswith("etc/apache2/")
                   for f in got), got
    load = (dest / "etc/apache2-prov/mods-available/devprov.load").read_text()
    assert "LoadModule devprov_module " \
        "/usr/local/lib/apache2/modules/mod_devprov.so" in load
    assert "/usr/local/share/doc/devprov/examples/" in (
        dest / "etc/apache2-prov/mods-available/devprov.conf").read_text()
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local",
         "MODDIR=/usr/local/lib/apache2/modules",
         "APACHE_CONFDIR=/etc/apache2-prov")
    assert files_under(dest) == {}


@sanitized
def test_install_patched_ssl(tmp_path):
    """Optional: the patched mod_ssl beside Debian's, as the module
    "ssl_expired" (libapache2-mod-ssl-expired's layout), enabled by
    nothing; a2enmod refuses it while Debian's ssl is enabled."""
    built = BUILD / "mod_ssl.so"
    if not mod_ssl_is_patched(built):
        pytest.skip(f"no patched {built} (make mod_ssl)")
    dest = tmp_path / "root"
    mods = "/opt/m"
    # -o: install what is built, do not rebuild mod_ssl here
    make("-o", str(built), "install-patched-ssl", f"DESTDIR={dest}",
         f"MODDIR={mods}", "PREFIX=/usr/local")
    assert files_under(dest) == {
        "opt/m/mod_ssl_expired.so": 0o644,
        "etc/apache2/mods-available/ssl_expired.load": 0o644,
        "etc/apache2/mods-available/ssl_expired.conf": 0o644,
        "usr/local/share/devprov/dist/mods-available/ssl_expired.load": 0o644,
        "usr/local/share/devprov/dist/mods-available/ssl_expired.conf": 0o644}
    assert mod_ssl_is_patched(dest / "opt/m/mod_ssl_expired.so")
    a = dest / "etc/apache2/mods-available"
    load = (a / "ssl_expired.load").read_text()
    assert f"\nLoadModule ssl_module {mods}/mod_ssl_expired.so\n" in load
    head = load.split("\n<IfModule")[0].splitlines()
    assert "# Conflicts: ssl" in head
    assert "# Depends: setenvif mime socache_shmcb" in head
    assert "IncludeOptional /etc/apache2/mods-available/ssl.conf" in \
        (a / "ssl_expired.conf").read_text()

    # Debian's a2enmod, in a configuration directory of our own: the
    # patched module is refused while Debian's ssl is enabled
    if shutil.which("a2enmod") and Path("/etc/apache2/mods-available/ssl.load").exists():
        conf = tmp_path / "etc"
        (conf / "mods-enabled").mkdir(parents=True)
        shutil.copytree("/etc/apache2/mods-available", conf / "mods-available")
        shutil.copy(a / "ssl_expired.load", conf / "mods-available")
        shutil.copy(a / "ssl_expired.conf", conf / "mods-available")
        env = dict(os.environ, APACHE_CONFDIR=str(conf))
        a2 = lambda *args: subprocess.run(list(args), env=env,  # noqa: E731
                                          capture_output=True, text=True)
        assert a2("a2enmod", "-q", "ssl").returncode == 0
        p = a2("a2enmod", "ssl_expired")
        assert p.returncode != 0
        assert "Module ssl is enabled - cannot proceed due to conflicts" \
            in p.stdout + p.stderr
        assert not (conf / "mods-enabled/ssl_expired.load").exists()
        assert a2("a2dismod", "-q", "ssl").returncode == 0
        p = a2("a2enmod", "ssl_expired")
        assert p.returncode == 0, p.stdout + p.stderr
        assert (conf / "mods-enabled/ssl_expired.conf").exists()
        # and the other way, which a2enmod does not check: the
        # configuration is refused, naming both
        assert a2("a2enmod", "-q", "ssl").returncode == 0
        d = tmp_path / "run"
        d.mkdir()
        httpd = tmp_path / "httpd.conf"
        httpd.write_text(
            f"ServerRoot {d}\nServerName localhost\nPidFile {d}/pid\n"
            f"DefaultRuntimeDir {d}\nErrorLog {d}/error.log\n"
            "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"
            f"Include {conf}/mods-enabled/*.load\n")
        p = subprocess.run(["apache2", "-t", "-f", str(httpd)],
                           capture_output=True, text=True)
        assert p.returncode != 0
        assert "Debian's mod_ssl (a2enmod ssl) is enabled too" in p.stderr, \
            p.stderr

    # refused while enabled
    e = dest / "etc/apache2/mods-enabled"
    e.mkdir(parents=True)
    (e / "ssl_expired.load").symlink_to("../mods-available/ssl_expired.load")
    p = make("uninstall-patched-ssl", f"DESTDIR={dest}", f"MODDIR={mods}",
             "PREFIX=/usr/local", check=False)
    assert p.returncode != 0 and "ssl_expired is enabled" in p.stderr
    (e / "ssl_expired.load").unlink()
    e.rmdir()
    make("uninstall-patched-ssl", f"DESTDIR={dest}", f"MODDIR={mods}",
         "PREFIX=/usr/local")
    assert files_under(dest) == {}


# ------------------------------------------------ the real thing, Debian
SYSTEM_FILES = [Path("/usr/lib/apache2/modules/mod_devprov.so"),
                Path("/usr/bin/devprov-check"),
                Path("/usr/share/man/man1/devprov-check.1"),
                Path("/usr/share/doc/devprov"),
                Path("/usr/share/devprov")]


def tree_digest(root):
    """Names, link targets, modes and contents of everything under ROOT."""
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        st = p.lstat()
        h.update(f"{p}\0{st.st_mode:o}\0".encode())
        if p.is_symlink():
            h.update(os.readlink(p).encode())
        elif p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def mapped_files(pid):
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {line.split()[-1] for line in maps.splitlines()
            if line.split()[-1].startswith("/")}


@sanitized
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (make install)")
@pytest.mark.skipif(not (Path("/usr/sbin/apache2").exists()
                         and shutil.which("a2enmod")
                         and Path("/etc/apache2/apache2.conf").exists()),
                    reason="needs Debian's apache2 package")
def test_debian_apache_provisions_expired_phone(workdir, pki, tmp_path):
    # one run at a time: it installs into /usr
    lock = open("/run/lock/devprov-test-install.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    there = [str(p) for p in SYSTEM_FILES if p.exists()]
    if there:
        pytest.skip("devprov is installed on this system already, not "
                    "overwriting it: " + ", ".join(there))
    assert STOCK_SSL.exists() and not mod_ssl_is_patched(STOCK_SSL)
    etc_before = tree_digest("/etc/apache2")

    base = workdir / "install-test"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(mode=0o755)
    base.chmod(0o755)
    confdir = base / "apache2"               # the copy of /etc/apache2
    shutil.copytree("/etc/apache2", confdir, symlinks=True)
    for d in ("run", "lock", "log", "state"):
        (base / d).mkdir()
    www_data = pwd.getpwnam("www-data")

    # the copy's envvars: its own run/lock/log directories (the original
    # ones belong to the system's apache2 service)
    with open(confdir / "envvars", "a") as f:
        f.write(f"\n# devprov test instance\n"
                f"export APACHE_PID_FILE={base}/run/apache2.pid\n"
                f"export APACHE_RUN_DIR={base}/run\n"
                f"export APACHE_LOCK_DIR={base}/lock\n"
                f"export APACHE_LOG_DIR={base}/log\n")
    # ports: free ones on 127.0.0.1 (as an admin moves ports: ports.conf
    # and the default site)
    p80, p443, p8443 = free_port(), free_port(), free_port()
    (confdir / "ports.conf").write_text(
        f"Listen 127.0.0.1:{p80}\n"
        f"<IfModule ssl_module>\n\tListen 127.0.0.1:{p443}\n</IfModule>\n")
    default = confdir / "sites-available/000-default.conf"
    default.write_text(default.read_text().replace("*:80", f"*:{p80}"))

    env = dict(os.environ, APACHE_CONFDIR=str(confdir),
               APACHE_STATE_DIRECTORY=str(base / "state"))
    env.pop("DESTDIR", None)
    proc = None
    installed = False
    try:
        # 1. make install (for real, /usr; configuration in the copy)
        p = make("install", "PREFIX=/usr", f"APACHE_CONFDIR={confdir}",
                 env=env)
        installed = True
        for f in SYSTEM_FILES[:4]:
            assert f.exists(), f
        assert (confdir / "mods-available/devprov.load").exists()

        # 2. a2enmod ssl devprov: Debian's tool and Debian's own,
        # unmodified mod_ssl
        p = subprocess.run(["a2enmod", "ssl", "devprov"], env=env,
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Enabling module ssl" in p.stdout, p.stdout
        en = confdir / "mods-enabled"
        assert (en / "devprov.load").resolve() == \
            confdir / "mods-available/devprov.load"
        assert (en / "ssl.load").exists()
        ssl_load = (en / "ssl.load").read_text()
        assert f"LoadModule ssl_module {STOCK_SSL}" in ssl_load, ssl_load

        # 3. the example vhost, as the admin fills it in: the server's
        # certificate, the Polycom CAs, the allowlist, the document roots
        # copied from the examples, ports
        ex = Path("/usr/share/doc/devprov/examples")
        www, boot, varlib = base / "www", base / "bootstrap", base / "varlib"
        shutil.copytree(ex / "www", www)
        shutil.copytree(ex / "bootstrap", boot)
        # /var/lib/devprov as the site's header lists it: root's, with
        # the upload and DAV lock directories owned by www-data
        varlib.mkdir(mode=0o755)
        for d in (varlib / "logs", varlib / "davlock"):
            d.mkdir(mode=0o750)
            os.chown(d, www_data.pw_uid, www_data.pw_gid)
        for d in (www, boot):
            subprocess.run(["chmod", "-R", "a+rX", str(d)], check=True)
        site = confdir / f"sites-available/{SITE}.conf"
        text = site.read_text()
        subst = [
            ("Listen 8443", f"Listen 127.0.0.1:{p8443}"),
            ("<VirtualHost *:8443>", f"<VirtualHost *:{p8443}>"),
            ("<VirtualHost *:80>", f"<VirtualHost *:{p80}>"),
            ("ServerName provisioning.example.com", "ServerName localhost"),
            ("/etc/devprov/tls/server.pem", str(pki / "server/server.pem")),
            ("/etc/devprov/tls/server.key", str(pki / "server/server.key")),
            ("/etc/devprov/polycom/cafile.pem", str(pki / "polycom/cafile.pem")),
            ("/etc/devprov/polycom/root.pem", str(pki / "polycom/root.pem")),
            ("/etc/devprov/polycom/issuing-1.pem",
             str(pki / "polycom/issuing.pem")),
            ("/etc/devprov/polycom/issuing-2.pem",
             str(pki / "polycom/issuing-expired.pem")),
            ("/etc/devprov/allowlist", str(ex / "allowlist.example")),
            ("/etc/devprov/revoked", str(ex / "revoked.example")),
            ("/var/lib/devprov", str(varlib)),
            ("/var/www/devprov/https", str(www)),
            ("/var/www/devprov/bootstrap", str(boot)),
        ]
        for old, new in subst:
            assert old in text, old
            text = text.replace(old, new)
        site.write_text(text)
        # the modules the site's header comment lists
        m = re.search(r"^#\s+a2enmod ([a-z_ ]+)$", text, re.M)
        assert m, "the site names its modules"
        mods = m.group(1).split()
        for cmd in (["a2enmod"] + mods, ["a2ensite", SITE]):
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr

        p = subprocess.run(["apache2ctl", "configtest"], env=env,
                           capture_output=True, text=True)
        assert p.returncode == 0 and "Syntax OK" in p.stderr, p.stderr

        # 4. Debian's apache2, started as apache2ctl would (envvars, -d),
        # in the foreground: its pid is ours
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f'. "{confdir}/envvars" && exec '
             f'/usr/sbin/apache2 -d "{confdir}" -f apache2.conf -DFOREGROUND'],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        pidfile = base / "run/apache2.pid"
        deadline = time.time() + 30
        while not pidfile.exists():
            assert proc.poll() is None, (
                proc.stderr.read().decode() +
                (base / "log/error.log").read_text())
            assert time.time() < deadline, "apache2 wrote no pid file"
            time.sleep(0.05)
        assert int(pidfile.read_text()) == proc.pid
        maps = mapped_files(proc.pid)
        assert str(STOCK_SSL) in maps, "Debian's mod_ssl is loaded"
        assert "/usr/lib/apache2/modules/mod_devprov.so" in maps
        assert not any("mod_ssl_expired" in f or f.startswith(str(ROOT))
                       for f in maps), maps

        def https(path, device, chain=True):
            return curl(f"https://localhost:{p8443}{path}", pki,
                        device=device, chain=chain, port=p8443)

        # the expired genuine phone gets its rendered configuration
        r = https(f"/{LISTED}.cfg", "polycom-expired")
        assert r.status == 200, r
        assert 'reg.1.displayName="warehouse-desk"' in r.body, r
        assert "cert validity: expired" in r.body, r
        # also when it sends only its own certificate (most phones do)
        r = https(f"/{LISTED}.cfg", "polycom-expired", chain=False)
        assert r.status == 200 and "cert validity: expired" in r.body, r
        # ... and nothing of another phone's
        assert https("/0004f2000001.cfg", "polycom-expired").status == 403
        # it uploads its log (mod_dav_fs writes the lock database and the
        # file as www-data)
        upload = base / "upload.log"
        upload.write_text("boot ok\n")
        upload.chmod(0o644)
        r = curl(f"https://localhost:{p8443}/logs/{LISTED}-app.log", pki,
                 device="polycom-expired", port=p8443,
                 extra=["-T", str(upload)])
        assert r.status == 201, r
        assert (varlib / "logs" / f"{LISTED}-app.log").read_text() \
            == "boot ok\n"
        # a rogue CA's certificates, claiming listed MACs: refused (the
        # expired one already in the handshake, as stock mod_ssl does)
        r = https("/0004f2000001.cfg", "rogue-polycom")
        assert r.status == 403, r
        r = https(f"/{LISTED}.cfg", "rogue-expired")
        assert r.status in (0, 403), r
        # no certificate at all
        assert https("/000000000000.cfg", None).status == 403
        # the plain-HTTP bootstrap serves the master config only
        r = curl(f"http://localhost:{p80}/000000000000.cfg", None, port=p80)
        assert r.status == 200 and "bootstrap.cfg" in r.body, r
        r = curl(f"http://localhost:{p80}/{LISTED}.cfg", None, port=p80)
        assert r.status == 403, r

        # the installed CLI reads the same configuration and agrees
        def check(device):
            return subprocess.run(
                ["/bin/sh", "-c", f'. "{confdir}/envvars" && exec '
                 f'/usr/bin/devprov-check -f apache2.conf -d "{confdir}" '
                 f'"{pki.cert(device)}"'],
                env=env, capture_output=True, text=True)
        c = check("polycom-expired")
        assert c.returncode == 0, c.stdout + c.stderr
        assert "verdict: let in" in c.stdout, c.stdout
        c = check("rogue-polycom")
        assert c.returncode != 0 and "verdict: refused" in c.stdout, c.stdout

        log = (base / "log/provisioning_access.log").read_text()
        assert re.search(rf"GET /{LISTED}\.cfg HTTP/1\.1\" 200 .*"
                         rf"mac={LISTED} verified=1 validity=expired "
                         r"ssl_verify=EXPIRED", log), log
        errors = (base / "log/error.log").read_text()
        assert not re.search(r"\[[a-z_]*:(emerg|alert|crit)\]", errors), errors
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if installed:
            # as an admin would: disable, then uninstall
            subprocess.run(["a2dissite", "-q", SITE], env=env,
                           capture_output=True)
            subprocess.run(["a2dismod", "-q", "devprov"], env=env,
                           capture_output=True)
            p = make("uninstall", "PREFIX=/usr", f"APACHE_CONFDIR={confdir}",
                     env=env,
                     check=False)
        assert tree_digest("/etc/apache2") == etc_before, \
            "the system's /etc/apache2 changed"
        lock.close()
    assert p.returncode == 0, p.stdout + p.stderr
    for f in SYSTEM_FILES:
        assert not f.exists(), f"make uninstall left {f}"
    # the site was changed by the admin (us): kept, with a notice
    assert "kept " + str(site) in p.stderr
    assert not (confdir / "mods-available/devprov.load").exists()


# ------------------------------------------------------ the Debian package
@sanitized
@pytest.mark.skipif(not (shutil.which("dpkg-buildpackage")
                         and shutil.which("dh")
                         and shutil.which("dh_apache2")),
                    reason="needs dpkg-dev, debhelper and apache2-dev")
def test_deb_package(tmp_path, workdir, built_debs):
    deb = built_debs["libapache2-mod-devprov"]
    # debian/ is left clean (debian/rules clean)
    assert not (ROOT / "debian/libapache2-mod-devprov").exists()

    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True,
                             capture_output=True, text=True).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()
             if not line.startswith("d")}
    doc = "/usr/share/doc/libapache2-mod-devprov"
    want = set()
    for f in EXPECTED:
        f = "/" + f
        f = f.replace("/usr/local/", "/usr/")   # debian/rules: PREFIX=/usr
        if f.startswith("/usr/share/devprov/"):
            continue                         # dpkg records conffiles itself
        f = f.replace("/usr/share/doc/devprov", doc)
        if f.endswith("/README") or f.endswith(".1"):
            f += ".gz"                       # dh_compress
        elif f.startswith(f"{doc}/doc/") and \
                (ROOT / "doc" / Path(f).name).stat().st_size > 4096:
            f += ".gz"                       # dh_compress: docs over 4k
        want.add(f)
    want.add(f"{doc}/changelog.gz")
    want.add(f"{doc}/copyright")             # debian/copyright (DEP-5)
    # dh_compress: over 4k
    want.add(f"{doc}/README.Debian" + (
        ".gz" if (ROOT / "debian/README.Debian").stat().st_size > 4096 else ""))
    # debian/libapache2-mod-devprov.lintian-overrides (dh_lintian)
    want.add("/usr/share/lintian/overrides/libapache2-mod-devprov")
    assert files == want

    def field(name):
        return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True,
                              capture_output=True, text=True).stdout.strip()
    assert field("Package") == "libapache2-mod-devprov"
    assert "apache2-api-" in field("Depends")
    ctl = tmp_path / "ctl"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctl)], check=True)
    assert set((ctl / "conffiles").read_text().split()) == {
        "/etc/apache2/mods-available/devprov.load",
        "/etc/apache2/mods-available/devprov.conf",
        f"/etc/apache2/sites-available/{SITE}.conf"}
    # nothing is enabled on installation; disabled on removal
    assert not (ctl / "postinst").exists() or \
        "enmod" not in (ctl / "postinst").read_text()
    assert "dismod" in (ctl / "prerm").read_text()
    # upgrade: an Apache with devprov enabled is restarted, through
    # Debian's helper (configtest first, invoke-rc.d, policy-rc.d)
    postinst = (ctl / "postinst").read_text()
    assert re.search(r'if \[ -n "\$2" \].*\n.*apache2-maintscript-helper'
                     r'(.*\n)*.*a2query -q -m devprov(.*\n)*'
                     r'\s*apache2_reload restart', postinst), postinst
    # the example site's state directories, www-data's, when missing
    for d in ("logs", "davlock"):
        assert f"/var/lib/devprov/{d}" in postinst
    assert "install -d -o www-data -g www-data -m 0750" in postinst
    # remove/purge: the runtime allowlist images (MACs) go; dh_apache2's
    # purge sections are still there
    postrm = (ctl / "postrm").read_text()
    assert re.search(r'remove\|purge\)(.*\n)*\s*rm -f "\$rundir"/'
                     r'devprov-allowlist-\*\.img', postrm), postrm
    assert "apache2_invoke dismod" in postrm
    for script in ("postinst", "postrm", "prerm"):
        subprocess.run(["sh", "-n", str(ctl / script)], check=True)

    x = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
    assert (x / "etc/apache2/mods-available/devprov.load").read_text() \
        .splitlines()[-1] == \
        "LoadModule devprov_module /usr/lib/apache2/modules/mod_devprov.so"
    assert f"{doc}/examples/" in \
        (x / "etc/apache2/mods-available/devprov.conf").read_text()
    # dpkg-buildflags' hardening reached both links (lintian:
    # hardening-no-bindnow, hardening-no-relro)
    if shutil.which("readelf"):
        for elf in ("usr/bin/devprov-check",
                    "usr/lib/apache2/modules/mod_devprov.so"):
            dyn = subprocess.run(["readelf", "-d", "-l", "-W", str(x / elf)],
                                 check=True, capture_output=True,
                                 text=True).stdout
            assert re.search(r"\(FLAGS(_1)?\)\s.*\bNOW\b", dyn), (elf, dyn)
            assert "GNU_RELRO" in dyn, elf
    # the packaged (stripped) module loads into Debian's apache2 beside
    # Debian's mod_ssl
    d = workdir / "deb-configtest"
    d.mkdir(exist_ok=True)
    conf = d / "httpd.conf"
    conf.write_text(
        f"ServerRoot {d}\nServerName localhost\nPidFile {d}/pid\n"
        f"DefaultRuntimeDir {d}\nErrorLog {d}/error.log\n"
        "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"
        "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n"
        "LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so\n"
        f"LoadModule ssl_module {STOCK_SSL}\n"
        "LoadModule devprov_module "
        f"{x}/usr/lib/apache2/modules/mod_devprov.so\n"
        "DevprovEngine off\n")
    p = subprocess.run(["apache2", "-t", "-f", str(conf)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "Syntax OK" in p.stderr, p.stderr


# --------------------------------------------- files a Debian package owns
@sanitized
def test_install_refuses_dpkg_owned_files(tmp_path):
    """make install / uninstall (without DESTDIR) never overwrite or remove
    a file dpkg-query -S says a package owns, unless FORCE=1.  A stand-in
    dpkg-query claims the module; everything goes under tmp_path."""
    fake = tmp_path / "dpkg-query"
    fake.write_text("#!/bin/sh\n[ \"$1\" = -S ] || exit 2\nshift\n"
                    "for f; do case $f in */mod_devprov.so) "
                    "echo \"libapache2-mod-devprov: $f\";; *) "
                    "echo \"dpkg-query: no path found matching pattern $f\" >&2;;"
                    " esac; done\nexit 1\n")
    fake.chmod(0o755)
    root = tmp_path / "r"
    args = [f"DPKG_QUERY={fake}", f"PREFIX={root}/usr",
            f"MODDIR={root}/modules", f"APACHE_CONFDIR={root}/etc"]
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    p = make("install", *args, env=env, check=False)
    assert p.returncode != 0
    assert "refused" in p.stderr and \
        f"libapache2-mod-devprov: {root}/modules/mod_devprov.so" in p.stderr
    assert not root.exists(), "refused, yet it wrote"
    make("install", *args, "FORCE=1", env=env)
    assert (root / "modules/mod_devprov.so").exists()
    p = make("uninstall", *args, env=env, check=False)
    assert p.returncode != 0 and "refused" in p.stderr
    assert (root / "modules/mod_devprov.so").exists()
    make("uninstall", *args, "FORCE=1", env=env)
    assert not (root / "modules/mod_devprov.so").exists()
