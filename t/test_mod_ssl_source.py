"""Which apache2 source the patched mod_ssl is built from
(scripts/build-mod-ssl.sh, doc/mod-ssl-source.md): exactly the installed
version's when apt serves it; otherwise a stop naming both versions, or,
with DEVPROV_ALLOW_OLDER_SOURCE=1, the newest older source, a loud warning
and a record (mod_ssl.so.source, and the module's own line at every
start).

The selection runs against a fake apt: stub dpkg-query, apt-get and
apt-cache first on PATH, answering from FAKE_* variables."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (APACHE2, PATCHED_SSL, ROOT, SSL_SOURCE, BUILD, Httpd,
                      needs_patched_ssl)

SCRIPT = ROOT / "scripts" / "build-mod-ssl.sh"
NEW, OLD = "2.4.71-1~deb12u1", "2.4.68-1~deb12u1"

STUBS = {
    "dpkg-query": r"""#!/bin/sh
[ -n "${FAKE_INSTALLED:-}" ] || {
    echo "dpkg-query: no packages found matching apache2" >&2; exit 1; }
printf '%s' "$FAKE_INSTALLED"
""",
    # apt-get source --download-only apache2=VER: a .dsc for a version in
    # FAKE_SERVED (the real package files if FAKE_REAL_DL has them), a 404
    # for any other
    "apt-get": r"""#!/bin/sh
echo "apt-get $*" >>"$FAKE_APT_LOG"
want=
for a; do case $a in apache2=*) want=${a#apache2=} ;; esac; done
for v in $FAKE_SERVED; do
    [ "$v" = "$want" ] || continue
    if [ -n "${FAKE_REAL_DL:-}" ] && [ -f "$FAKE_REAL_DL/apache2_$v.dsc" ]; then
        cp "$FAKE_REAL_DL"/* .
    else
        printf -- '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nFormat: 3.0 (quilt)\nSource: apache2\nVersion: %s\n' "$v" >"apache2_$v.dsc"
    fi
    exit 0
done
echo "E: Failed to fetch apache2_$want.dsc  404  Not Found" >&2
exit 100
""",
    # apt-cache showsrc apache2: one record per version in FAKE_LISTED
    "apt-cache": r"""#!/bin/sh
[ "$1 $2" = "showsrc apache2" ] || exit 100
for v in $FAKE_LISTED; do
    printf 'Package: apache2\nBinary: apache2, apache2-bin\nVersion: %s\nStandards-Version: 4.6.2\n\n' "$v"
done
""",
}


@pytest.fixture
def fake_apt(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in STUBS.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    log = tmp_path / "apt.log"
    log.touch()

    def run(installed, listed, served, allow=None, build=None, select=True,
            extra_env=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("DEVPROV_ALLOW_OLDER_SOURCE", "APACHE2_DSC",
                            "APXS_EXTRA")}
        env.update(PATH=f"{bindir}:{env['PATH']}", FAKE_INSTALLED=installed,
                   FAKE_LISTED=" ".join(listed), FAKE_SERVED=" ".join(served),
                   FAKE_APT_LOG=str(log), APACHE2="/usr/sbin/apache2")
        if allow is not None:
            env["DEVPROV_ALLOW_OLDER_SOURCE"] = allow
        env.update(extra_env or {})
        build = build or tmp_path / "build"
        cmd = ["sh", str(SCRIPT)] + (["--select-only"] if select else []) \
            + [str(build)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=600)
        p.record = dict(line.split("=", 1) for line in p.stdout.splitlines()
                        if "=" in line and not line.startswith(
                            "build-mod-ssl:"))
        p.apt = [ln for ln in log.read_text().splitlines()]
        p.build = build
        log.write_text("")
        return p
    return run


def fetched(p):
    return [re.search(r"apache2=(\S+)", ln).group(1) for ln in p.apt]


def test_installed_version_served_is_used(fake_apt):
    p = fake_apt(NEW, [NEW, OLD], [NEW, OLD])
    assert p.returncode == 0, p.stderr
    assert p.record["source"] == NEW and p.record["installed"] == NEW
    assert p.record["older_source"] == "no"
    assert fetched(p) == [NEW]               # asked for exactly that one
    assert "WARNING" not in p.stderr
    dl = p.build / "apache2-dl"
    assert [f.name for f in dl.glob("*.dsc")] == [f"apache2_{NEW}.dsc"]


def test_not_served_stops_naming_both_versions(fake_apt):
    # the index lists the installed version, but its files answer 404
    p = fake_apt(NEW, [NEW, OLD], [OLD])
    assert p.returncode != 0
    assert NEW in p.stderr and OLD in p.stderr, p.stderr
    assert "STOP" in p.stderr
    assert "DEVPROV_ALLOW_OLDER_SOURCE=1" in p.stderr
    assert "doc/mod-ssl-source.md" in p.stderr
    assert fetched(p)[0] == NEW              # the installed version first
    assert "source=" not in p.stdout
    assert not (p.build / "mod_ssl.so.source").exists()


@pytest.mark.parametrize("allow", ["", "0", "no"])
def test_not_served_without_allowance_values(fake_apt, allow):
    p = fake_apt(NEW, [OLD], [OLD], allow=allow)
    assert p.returncode != 0 and "STOP" in p.stderr


def test_not_served_with_allowance_warns_and_records(fake_apt):
    p = fake_apt(NEW, [NEW, OLD], [OLD], allow="1")
    assert p.returncode == 0, p.stderr
    assert p.record["source"] == OLD and p.record["installed"] == NEW
    assert p.record["older_source"] == "yes"
    assert re.search(rf"WARNING: building mod_ssl from the OLDER apache2 "
                     rf"source {re.escape(OLD)}", p.stderr), p.stderr
    assert NEW in p.stderr
    assert fetched(p) == [NEW, OLD]


def test_typo_in_allowance_is_refused(fake_apt):
    p = fake_apt(NEW, [OLD], [OLD], allow="on")
    assert p.returncode != 0
    assert "DEVPROV_ALLOW_OLDER_SOURCE must be 1 or 0" in p.stderr
    assert p.apt == []


def test_newest_older_in_dpkg_order_and_served(fake_apt):
    # 2.4.68-1 > 2.4.68-1~deb12u1 (sort -V says otherwise); a listed
    # version whose files are missing is skipped for the next older one
    listed = ["2.4.62-1~deb12u2", OLD, "2.4.68-1", "2.4.70-1", NEW]
    p = fake_apt(NEW, listed, ["2.4.62-1~deb12u2", OLD, "2.4.68-1"],
                 allow="1")
    assert p.returncode == 0, p.stderr
    assert p.record["source"] == "2.4.68-1"
    assert fetched(p) == [NEW, "2.4.70-1", "2.4.68-1"]


def test_cache_is_reused_only_for_the_chosen_version(fake_apt, tmp_path):
    build = tmp_path / "build"
    p = fake_apt(NEW, [NEW, OLD], [OLD], allow="1", build=build)
    assert p.record["source"] == OLD
    # the same again: the cached older source is reused, but apt is still
    # asked for the installed version first (it may be served by now)
    p = fake_apt(NEW, [NEW, OLD], [OLD], allow="1", build=build)
    assert p.record["source"] == OLD and fetched(p) == [NEW]
    # now it is: the cache is replaced by the installed version's source
    p = fake_apt(NEW, [NEW, OLD], [NEW, OLD], build=build)
    assert p.returncode == 0, p.stderr
    assert p.record["source"] == NEW and fetched(p) == [NEW]
    assert [f.name for f in (build / "apache2-dl").glob("*.dsc")] == \
        [f"apache2_{NEW}.dsc"]
    # and once cached, apt is not asked at all
    p = fake_apt(NEW, [NEW, OLD], [NEW, OLD], build=build)
    assert p.record["source"] == NEW and p.apt == []


def test_only_newer_source_says_upgrade(fake_apt):
    p = fake_apt("2.4.62-1~deb12u2", [OLD], [OLD], allow="1")
    assert p.returncode != 0
    assert "upgrade apache2" in p.stderr and OLD in p.stderr


def test_no_source_at_all(fake_apt):
    p = fake_apt(NEW, [], [], allow="1")
    assert p.returncode != 0
    assert NEW in p.stderr and "deb-src" in p.stderr


def test_apache2_not_installed(fake_apt):
    p = fake_apt("", [OLD], [OLD], allow="1")
    assert p.returncode != 0 and "apache2 is not installed" in p.stderr


def test_apache2_dsc_is_checked_too(fake_apt, tmp_path):
    dsc = tmp_path / f"apache2_{OLD}.dsc"
    dsc.write_text(f"Format: 3.0 (quilt)\nSource: apache2\nVersion: {OLD}\n")
    p = fake_apt(NEW, [], [], extra_env={"APACHE2_DSC": str(dsc)})
    assert p.returncode != 0 and NEW in p.stderr and OLD in p.stderr
    p = fake_apt(NEW, [], [], allow="1", extra_env={"APACHE2_DSC": str(dsc)})
    assert p.returncode == 0 and p.record["source"] == OLD
    p = fake_apt(OLD, [], [], extra_env={"APACHE2_DSC": str(dsc)})
    assert p.returncode == 0 and p.record["older_source"] == "no"
    assert p.apt == []


def real_source_package():
    """A real apache2 source package downloaded by the normal build."""
    for d in (BUILD / "apache2-dl", ROOT / "build" / "apache2-dl"):
        dscs = sorted(d.glob("apache2_*.dsc"))
        if dscs:
            return d, dscs[-1]
    return None, None


def test_full_build_records_the_older_source(fake_apt, tmp_path):
    """The whole build, from the fake apt serving a real (older) source
    package: the module and the record beside it name that source."""
    dl, dsc = real_source_package()
    if dsc is None:
        pytest.skip("no apache2 source package in build/apache2-dl")
    ver = re.search(r"^Version:\s*(\S+)", dsc.read_text(), re.M).group(1)
    newer = ver + "+devprovtest1"            # a newer "installed" apache2
    p = fake_apt(newer, [newer, ver], [ver], allow="1", select=False,
                 extra_env={"FAKE_REAL_DL": str(dl)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "WARNING: building mod_ssl from the OLDER" in p.stderr
    rec = (p.build / "mod_ssl.so.source").read_text()
    assert f"source={ver}\n" in rec and f"installed={newer}\n" in rec
    assert "older_source=yes\n" in rec
    so = (p.build / "mod_ssl.so").read_bytes()
    assert ver.encode() + b"\0" in so and newer.encode() + b"\0" in so
    assert f"built from apache2 source {ver}" in p.stdout
    # up to date: not rebuilt; but another installed apache2 rebuilds it
    before = (p.build / "mod_ssl.so").stat().st_mtime_ns
    p = fake_apt(newer, [ver], [ver], allow="1", select=False,
                 extra_env={"FAKE_REAL_DL": str(dl)})
    assert p.returncode == 0 and "is up to date" in p.stdout, p.stderr
    assert (p.build / "mod_ssl.so").stat().st_mtime_ns == before
    newer2 = ver + "+devprovtest2"
    p = fake_apt(newer2, [ver], [ver], allow="1", select=False,
                 extra_env={"FAKE_REAL_DL": str(dl)})
    assert p.returncode == 0 and f"building {p.build}/mod_ssl.so" in p.stdout
    assert f"installed={newer2}\n" in \
        (p.build / "mod_ssl.so.source").read_text()
    # and without the allowance the build stops, even with a tree at hand
    p = fake_apt(newer2, [ver], [ver], select=False,
                 extra_env={"FAKE_REAL_DL": str(dl)})
    assert p.returncode != 0 and "STOP" in p.stderr


def server_revision():
    out = subprocess.run([APACHE2, "-v"], capture_output=True,
                         text=True).stdout
    return tuple(int(x) for x in
                 re.search(r"Apache/(\d+)\.(\d+)\.(\d+)", out).groups())


def upstream(debian_version):
    v = debian_version.split(":", 1)[-1]
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", v).groups())


@needs_patched_ssl
def test_module_logs_its_source_at_start(workdir, pki):
    """The patched mod_ssl says at every start which source it was built
    from, and warns when that is not the running server's release."""
    if not SSL_SOURCE:
        pytest.skip(f"no {PATCHED_SSL}.source (not built by "
                    "scripts/build-mod-ssl.sh)")
    srv = Httpd(workdir, "ssl-source", pki, devprov=False)
    srv.start(srv.tls_vhost("v", ""))
    try:
        log = srv.error_log.read_text()
    finally:
        srv.stop()
    src, inst = SSL_SOURCE["source"], SSL_SOURCE["installed"]
    notices = re.findall(
        r"\[ssl:notice\].*patched mod_ssl \(devprov\) built from apache2 "
        rf"source {re.escape(src)} \(installed then: {re.escape(inst)}\), "
        r"server is Apache/\d", log)
    assert len(notices) == 1, log     # once per start, not per config pass
    warns = [ln for ln in log.splitlines()
             if "[ssl:warn]" in ln and "patched mod_ssl (devprov)" in ln]
    run = server_revision()
    if upstream(src) < run:
        assert len(warns) == 1 and "older than the running server " \
            "%d.%d.%d" % run in warns[0], log
        assert "security fixes included, are missing" in warns[0]
    elif upstream(src) > run:
        assert len(warns) == 1 and "newer than the running server" \
            in warns[0], log
    elif src != inst:
        assert len(warns) == 1 and f"not {inst}" in warns[0], log
    else:
        assert warns == [], log
