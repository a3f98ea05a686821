"""Both Debian packages on a clean Debian 12, for real: installed,
enabled, used by an expired phone through the system's apache2, upgraded
from the previous release, the patched mod_ssl switched on, Debian's
apache2 changed underneath it, removed and purged; afterwards nothing is
left but the admin's own files.

The system is a chroot made by mmdebstrap from Debian's archive (bookworm,
bookworm-updates, bookworm-security: apache2, curl, openssl and what they
need; cached in $BUILD/chroot/, made again when missing).  Everything in
it runs inside namespaces of the test's own (network: only a loopback of
its own, so the system apache2 listens on its usual ports without touching
the machine's; mount, pid with a reaping pid 1), started with invoke-rc.d
as the maintainer scripts do; the chroot gets a policy-rc.d that allows
it, as a booted system would.

The previous release is built from git: the tree of the last commit
before debian/changelog's newest version (skipped, saying so, without git
history).  Runs in about three minutes; needs root, network access to
deb.debian.org (mmdebstrap) and the packages "make deb" builds.
"""
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, make_pki

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, "
                       "namespaces)"),
    pytest.mark.skipif(not shutil.which("mmdebstrap"),
                       reason="needs mmdebstrap (make deps installs it)"),
    pytest.mark.skipif(bool(os.environ.get("DEVPROV_APACHE2")),
                       reason="the packages are the plain build: not under "
                       "the sanitizer/valgrind wrappers"),
]

SUITES = ["deb http://deb.debian.org/debian bookworm main",
          "deb http://deb.debian.org/debian bookworm-updates main",
          "deb http://deb.debian.org/debian-security bookworm-security main"]
INCLUDE = "apache2,curl,openssl,ca-certificates"
PORT = 8443
SITE = "phones"
# what the admin writes (kept by purge), beside the packages' files
ADMIN_FILES = {"/etc/devprov", "/srv/phones",
               f"/etc/apache2/sites-available/{SITE}.conf",
               "/usr/sbin/policy-rc.d", "/root/badmagic.so"}
# state outside the packages that any system accumulates
VOLATILE = ("/proc", "/dev", "/run", "/tmp", "/var/log", "/var/cache",
            "/var/lib/dpkg", "/var/lib/apt", "/var/backups", "/root/debs",
            "/var/lib/apache2", "/etc/apache2/mods-enabled",
            "/etc/apache2/sites-enabled", "/etc/apache2/conf-enabled",
            "/etc/ld.so.cache")


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


# ------------------------------------------------------------ the system
def root_tarball():
    """The clean Debian 12 (mmdebstrap), made once and kept in BUILD."""
    tar = BUILD / "chroot" / "bookworm-apache2.tar"
    if not tar.exists():
        tar.parent.mkdir(parents=True, exist_ok=True)
        part = tar.with_suffix(".part")
        # the apt cache is kept: apache2-bin's .deb, for "apache2 changed
        # underneath" below
        p = run(["mmdebstrap", "--mode=root", "--variant=apt",
                 "--format=tar", f"--include={INCLUDE}",
                 "--skip=cleanup/apt/cache", "bookworm", str(part), *SUITES],
                timeout=900)
        if p.returncode != 0:
            pytest.fail("mmdebstrap: " + p.stderr[-3000:])
        part.rename(tar)
    return tar


class System:
    """The chroot and the namespaces it runs in."""

    def __init__(self, root):
        self.root = root
        r = str(root)
        reaper = ("import os,time\n"
                  "while True:\n"
                  "    try: os.wait()\n"
                  "    except ChildProcessError: time.sleep(0.2)\n")
        self.ns = subprocess.Popen(
            ["unshare", "--net", "--mount", "--pid", "--fork",
             f"--mount-proc={r}/proc", "sh", "-c",
             f"ip link set lo up && mount --rbind /dev {r}/dev && "
             f"exec /usr/bin/python3 -c '{reaper}'"],
            start_new_session=True)
        for _ in range(100):
            kids = run(["pgrep", "-P", str(self.ns.pid)]).stdout.split()
            if kids and "python3" in Path(f"/proc/{kids[0]}/cmdline") \
                    .read_bytes().decode(errors="replace"):
                self.init = int(kids[0])
                break
            time.sleep(0.1)
        else:
            pytest.fail("the namespaces did not come up")

    def sh(self, script, check=True, timeout=300):
        p = run(["nsenter", "-t", str(self.init), "-n", "-m", "-p",
                 "chroot", str(self.root), "/bin/sh", "-ec", script],
                timeout=timeout,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                     "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"})
        if check and p.returncode != 0:
            pytest.fail(f"in the chroot: {script}\nrc={p.returncode}\n"
                        f"{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        return p

    def path(self, p):
        return self.root / p.lstrip("/")

    def stop(self):
        self.sh("invoke-rc.d apache2 stop || true", check=False)
        os.killpg(self.ns.pid, signal.SIGKILL)
        self.ns.wait()

    def apache_pid(self):
        p = self.sh("cat /run/apache2/apache2.pid 2>/dev/null || true")
        return int(p.stdout) if p.stdout.strip() else None

    def files(self):
        """Every path of the system, less the volatile parts."""
        out = set()
        for dirpath, dirs, names in os.walk(self.root):
            rel = "/" + os.path.relpath(dirpath, self.root)
            rel = "/" if rel == "/." else rel
            dirs[:] = [d for d in dirs
                       if not (rel.rstrip("/") + "/" + d).startswith(VOLATILE)]
            for n in names + dirs:
                out.add(rel.rstrip("/") + "/" + n)
        return out


def phone_get(system, name, path):
    """The phone NAME fetches PATH through the system's apache2: status."""
    p = system.sh(f"curl -sk -o /dev/null -w '%{{http_code}}' "
                  f"--cert /etc/devprov/devices/{name}.pem "
                  f"--key /etc/devprov/devices/{name}.key "
                  f"https://127.0.0.1:{PORT}{path}", check=False)
    return p.stdout.strip()


SITE_CONF = f"""# the admin's provisioning site (t/test_deb_chroot.py)
Listen 127.0.0.1:{PORT}
<VirtualHost 127.0.0.1:{PORT}>
    ServerName localhost
    DocumentRoot /srv/phones
    <Directory /srv/phones>
        Require all granted
    </Directory>
    SSLEngine on
    SSLCertificateFile /etc/devprov/server/server.pem
    SSLCertificateKeyFile /etc/devprov/server/server.key
    SSLVerifyClient optional_no_ca
    SSLVerifyDepth 3
    SSLCACertificateFile /etc/devprov/polycom/cafile.pem
    DevprovEngine on
    DevprovTrust polycom /etc/devprov/polycom/root.pem /etc/devprov/polycom/issuing.pem
    DevprovAllowlist /etc/devprov/allowlist
    DevprovDeny unlisted
    DevprovBindPath on
</VirtualHost>
"""


def previous_release(tmp):
    """The .deb of the release before debian/changelog's newest entry,
    built from git."""
    newest = run(["dpkg-parsechangelog", "-l", str(ROOT / "debian/changelog"),
                  "-S", "Version"]).stdout.strip()
    intro = run(["git", "-C", str(ROOT), "log", "-1", "--format=%H",
                 f"-Sdevprov ({newest})", "--", "debian/changelog"])
    rev = intro.stdout.strip()
    if intro.returncode != 0 or not rev or \
            run(["git", "-C", str(ROOT), "cat-file", "-e", rev + "^"]).returncode:
        pytest.skip("no git history here: the previous release cannot be "
                    "built, so the upgrade from it is not tested")
    src = tmp / "prev"
    src.mkdir()
    arch = run(["git", "-C", str(ROOT), "archive", "--format=tar", rev + "^"],
               text=False)
    assert arch.returncode == 0, arch.stderr
    (tmp / "prev.tar").write_bytes(arch.stdout)
    with tarfile.open(tmp / "prev.tar") as t:
        t.extractall(src)
    version = run(["dpkg-parsechangelog", "-l", str(src / "debian/changelog"),
                   "-S", "Version"]).stdout.strip()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=900,
            env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck"))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    debs = list(tmp.glob(f"libapache2-mod-devprov_{version}_*.deb"))
    assert len(debs) == 1, list(tmp.iterdir())
    return version, debs[0]


@pytest.fixture(scope="module")
def system(tmp_path_factory, built_debs):
    tmp = tmp_path_factory.mktemp("chroot")
    tmp.chmod(0o755)
    prev_version, prev_deb = previous_release(tmp)
    tar = root_tarball()
    root = tmp / "root"
    root.mkdir()
    p = run(["tar", "-C", str(root), "-xf", str(tar)])
    assert p.returncode == 0, p.stderr
    # a booted system's init would let the maintainer scripts start and
    # restart services; a chroot's invoke-rc.d blocks them by default
    rc = root / "usr/sbin/policy-rc.d"
    rc.write_text("#!/bin/sh\nexit 0\n")
    rc.chmod(0o755)
    # the admin's files: a test PKI, made now, the allowlist, the site
    pki = make_pki(tmp / "pki", quiet=True)
    etc = root / "etc/devprov"
    shutil.copytree(pki.root, etc)
    (etc / "allowlist").write_text(
        f"{pki.mac('polycom-expired').replace(':', '').lower()} desk "
        "vendor=polycom\n")
    www = root / "srv/phones"
    www.mkdir(parents=True)
    mac = pki.mac("polycom-expired").replace(":", "").lower()
    (www / f"{mac}.cfg").write_text("<phone/>\n")
    (www / "0004f2aaaaaa.cfg").write_text("<another phone/>\n")
    debs = root / "root/debs"
    debs.mkdir(parents=True)
    for d in list(built_debs.values()) + [prev_deb]:
        shutil.copy(d, debs)
    # a patched mod_ssl for another apache2 API (tests/deb/badmagic.c)
    b = tmp / "badmagic"
    b.mkdir()
    shutil.copy(ROOT / "tests/deb/badmagic.c", b)
    p = run(["apxs", "-c", "badmagic.c"], cwd=b)
    assert p.returncode == 0, p.stderr
    shutil.copy(b / ".libs/badmagic.so", root / "root/badmagic.so")

    s = System(root)
    s.mac = mac
    s.prev = (prev_version, prev_deb.name)
    s.new = {k: v.name for k, v in built_debs.items()}
    s.new_version = built_debs["libapache2-mod-devprov"].name.split("_")[1]
    s.clean = s.files()
    try:
        yield s
    finally:
        s.stop()
        if not os.environ.get("DEVPROV_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


def enabled_mods(system):
    return {p.name[:-5] for p in
            system.path("/etc/apache2/mods-enabled").glob("*.load")}


def devprov_mapped(system):
    """The mod_devprov.so the running apache2 parent has mapped, and
    whether that file has been replaced since (dpkg upgraded it and
    Apache was not restarted)."""
    pid = system.apache_pid()
    assert pid, "apache2 is not running"
    # the pid as the host sees it
    host = run(["sh", "-c", f"for p in $(pgrep -x apache2); do "
                f"[ \"$(awk '/^NSpid/ {{print $3}}' /proc/$p/status)\" = {pid} ] "
                f"&& echo $p; done"]).stdout.split()
    assert host, f"apache2 {pid} not found"
    maps = Path(f"/proc/{host[0]}/maps").read_text()
    return [ln for ln in maps.splitlines() if "mod_devprov.so" in ln]


# --------------------------------------------------------------- the test
def test_previous_release_provisions_expired_phone(system):
    v, deb = system.prev
    system.sh(f"apt-get install -y -q /root/debs/{deb}",
              timeout=600)
    # as that release's README says: a2enmod devprov (its devprov.load
    # depends on Debian's ssl)
    system.sh(f"a2enmod devprov && a2ensite {SITE} 2>/dev/null || true",
              check=False)
    system.path(f"/etc/apache2/sites-available/{SITE}.conf").write_text(
        SITE_CONF)
    system.sh(f"a2ensite {SITE} && invoke-rc.d apache2 restart")
    assert {"ssl", "devprov"} <= enabled_mods(system)
    assert phone_get(system, "polycom-expired", f"/{system.mac}.cfg") == "200"
    assert phone_get(system, "polycom-expired", "/0004f2aaaaaa.cfg") == "403"
    assert phone_get(system, "rogue-expired", f"/{system.mac}.cfg") in ("403", "000")


def test_upgrade_restarts_apache_with_the_new_module(system):
    before = system.apache_pid()
    p = system.sh("apt-get install -y -q "
                  + " ".join(f"/root/debs/{d}" for d in system.new.values()),
                  timeout=600)
    # no conffile prompt (the admin did not change devprov.load), and the
    # running Apache now maps the new module: restarted by the postinst
    assert "Configuration file" not in p.stdout
    maps = devprov_mapped(system)
    assert maps and not any("(deleted)" in ln for ln in maps), maps
    assert system.apache_pid() is not None
    st = system.sh("dpkg-query -W -f='${Version}' libapache2-mod-devprov")
    assert st.stdout == system.new_version
    # nothing enabled by the new package
    assert "ssl_expired" not in enabled_mods(system)
    assert phone_get(system, "polycom-expired", f"/{system.mac}.cfg") == "200"
    # the example site's state directories, www-data's
    for d in ("logs", "davlock"):
        st = system.path(f"/var/lib/devprov/{d}").stat()
        assert (st.st_mode & 0o777) == 0o750
    del before


def test_switch_to_the_patched_mod_ssl(system):
    # a2enmod refuses while Debian's is enabled
    p = system.sh("a2enmod ssl_expired", check=False)
    assert p.returncode != 0
    assert "Module ssl is enabled - cannot proceed due to conflicts" in \
        p.stdout + p.stderr
    system.sh("a2dismod -q ssl && a2enmod -q ssl_expired && "
              "apache2ctl configtest && invoke-rc.d apache2 restart")
    assert "ssl_expired" in enabled_mods(system) and \
        "ssl" not in enabled_mods(system)
    assert phone_get(system, "polycom-expired", f"/{system.mac}.cfg") == "200"
    log = system.path("/var/log/apache2/error.log").read_text()
    assert "devprov: mode: patched mod_ssl" in log.split("resuming normal")[-1] \
        or "devprov: mode: patched mod_ssl" in log
    assert "patched mod_ssl (devprov) built from apache2 source" in log
    # enabling Debian's again as well is refused by the configuration,
    # with a message naming both (a2enmod does not look that way)
    system.sh("a2enmod -q ssl")
    p = system.sh("apache2ctl configtest", check=False)
    assert p.returncode != 0
    assert "Debian's mod_ssl (a2enmod ssl) is enabled too" in p.stderr
    system.sh("a2dismod -q ssl && apache2ctl configtest")


def test_apache2_changed_underneath(system):
    """apache2-bin reinstalled (as an upgrade would) while the patched
    module no longer fits it (badmagic.so in its place): the trigger
    switches to Debian's mod_ssl, Apache runs, the expired phone still
    provisions (stock mode)."""
    # replaced as dpkg would (rename), not overwritten under the running
    # server's mapping
    system.sh("cp /root/badmagic.so /usr/lib/apache2/modules/.new && "
              "mv /usr/lib/apache2/modules/.new "
              "/usr/lib/apache2/modules/mod_ssl_expired.so")
    before = system.apache_pid()
    p = system.sh("dpkg -i /var/cache/apt/archives/apache2-bin_*.deb",
                  timeout=600)
    out = p.stdout + p.stderr
    assert "not compatible with this version of Apache" in out, out
    assert "disabling ssl_expired and enabling Debian's mod_ssl" in out, out
    mods = enabled_mods(system)
    assert "ssl" in mods and "ssl_expired" not in mods
    system.sh("apache2ctl configtest")
    # restarted by the trigger, now with Debian's mod_ssl
    assert system.apache_pid() not in (None, before)
    assert phone_get(system, "polycom-expired", f"/{system.mac}.cfg") == "200"
    log = system.path("/var/log/apache2/error.log").read_text()
    assert "devprov: mode: stock mod_ssl" in log
    # configuring the package against it is refused, Debian's mod_ssl
    # untouched
    p = system.sh("dpkg-reconfigure libapache2-mod-ssl-expired", check=False)
    assert p.returncode != 0
    assert "not configured: the patched mod_ssl does not load" in \
        p.stdout + p.stderr
    system.sh("apache2ctl configtest")
    # the real one again
    d = system.new["libapache2-mod-ssl-expired"]
    system.sh(f"apt-get install -y -q --reinstall /root/debs/{d}")


def test_remove_and_purge_leave_only_the_admins_files(system):
    # the patched module enabled, then the packages removed: Debian's
    # mod_ssl takes its place
    system.sh("a2dismod -q ssl && a2enmod -q ssl_expired && "
              "invoke-rc.d apache2 restart")
    # an allowlist image a killed server left behind (the module writes
    # one at a re-read, removes it when Apache stops): it holds MACs
    system.sh("echo 0004f2000002 > /run/apache2/devprov-allowlist-0badf00d.img")
    system.sh(f"a2dissite -q {SITE}")
    p = system.sh("apt-get remove -y -q libapache2-mod-devprov "
                  "libapache2-mod-ssl-expired", timeout=600)
    assert "enabling Debian's mod_ssl in its place" in p.stdout + p.stderr
    mods = enabled_mods(system)
    assert "ssl" in mods and not {"ssl_expired", "devprov"} & mods
    assert not list(system.path("/run/apache2").glob("devprov-allowlist-*"))
    system.sh("apache2ctl configtest")
    # conffiles stay until purge
    assert system.path("/etc/apache2/mods-available/devprov.load").exists()
    system.sh("apt-get purge -y -q libapache2-mod-devprov "
              "libapache2-mod-ssl-expired", timeout=600)
    p = system.sh("dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' "
                  "'libapache2-mod-*' || true")
    assert not re.search(r"^[a-z][a-z]\S* libapache2-mod-(devprov|ssl-expired)",
                         "\n".join(ln for ln in p.stdout.splitlines()
                                   if not ln.startswith("un ")), re.M), p.stdout
    left = system.files() - system.clean
    admin = {f for f in left if any(f == a or f.startswith(a + "/")
                                    for a in ADMIN_FILES)}
    assert left - admin == set(), sorted(left - admin)
    for f in ("/usr/lib/apache2/modules/mod_devprov.so",
              "/usr/lib/apache2/modules/mod_ssl_expired.so",
              "/etc/apache2/mods-available/ssl_expired.load",
              "/var/lib/devprov"):
        assert not system.path(f).exists(), f
    # the admin's files are there
    assert system.path("/etc/devprov/allowlist").exists()
