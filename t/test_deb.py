"""The Debian packaging's own rules, checked without building anything
where possible:

- LICENSE is the Apache License 2.0 the sources name, and debian/copyright
  is a well-formed DEP-5 (machine-readable) file that covers every file of
  the source tree and says where the vendor CA certificates come from
  (what lintian's copyright checks look at, checked here too because
  lintian is not installed everywhere);
- every debian/*.lintian-overrides entry comes with its reason (a comment
  above it);
- lintian --pedantic on the package "make deb" builds reports no error or
  warning that is not overridden with a reason (skipped, saying so, where
  lintian is not installed).
"""
import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

DEBIAN = ROOT / "debian"
DEP5 = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"


def deb822(text):
    """Paragraphs of a deb822 file as lists of (field, value) pairs, a
    value's continuation lines joined with newlines (their leading space
    and a lone "." removed)."""
    paras, cur = [], []
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paras.append(cur)
                cur = []
            continue
        if line.startswith("#"):
            continue
        if line[0] in " \t":
            assert cur, f"continuation line without a field: {line!r}"
            cont = line.strip()
            cur[-1] = (cur[-1][0],
                       cur[-1][1] + "\n" + ("" if cont == "." else cont))
            continue
        m = re.match(r"([!-9;-~][!-9;-~]*):(.*)$", line)
        assert m, f"not a field: {line!r}"
        cur.append((m.group(1), m.group(2).strip()))
    if cur:
        paras.append(cur)
    return paras


def tracked_files():
    p = subprocess.run(["git", "-C", str(ROOT), "ls-files"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("not a git checkout: " + p.stderr.strip())
    return [f for f in p.stdout.splitlines() if (ROOT / f).exists()]


def test_license_is_apache_2():
    lic = ROOT / "LICENSE"
    assert lic.exists()
    text = lic.read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    common = Path("/usr/share/common-licenses/Apache-2.0")
    if common.exists():
        assert text == common.read_text()
    # what the sources say is what LICENSE is
    for c in ROOT.glob("mod_devprov*.c"):
        assert "Licensed under the Apache License, Version 2.0" in \
            c.read_text(), c


def test_copyright_is_dep5_and_covers_the_tree():
    paras = deb822((DEBIAN / "copyright").read_text())
    header = dict(paras[0])
    assert header.get("Format") == DEP5
    assert header.get("Upstream-Name") == "devprov"
    files_paras, licenses = [], {}
    for p in paras[1:]:
        f = dict(p)
        assert len(f) == len(p), f"repeated field in {p}"
        if "Files" in f:
            assert "Copyright" in f and "License" in f, p
            assert f["Copyright"].strip(), p
            files_paras.append(f)
        else:
            assert set(f) <= {"License", "Comment"} and "License" in f, p
            name, _, body = f["License"].partition("\n")
            assert body.strip(), f"stand-alone License {name} without text"
            licenses[name.strip()] = body
    assert files_paras and files_paras[0]["Files"].split() == ["*"], \
        "the first Files paragraph must be the catch-all *"
    for f in files_paras:
        name, _, body = f["License"].partition("\n")
        assert body.strip() or name.strip() in licenses, \
            f"License {name} has no text and no stand-alone paragraph"
    assert "/usr/share/common-licenses/Apache-2.0" in licenses["Apache-2.0"]

    files = tracked_files()
    # DEP-5: "*" matches "/" too, the last matching paragraph wins; every
    # pattern should match something (lintian: wildcard-matches-nothing)
    for f in files_paras:
        for pat in f["Files"].split():
            assert any(fnmatch.fnmatchcase(x, pat) for x in files), \
                f"debian/copyright: {pat} matches no file"

    def owner(path):
        hit = None
        for f in files_paras:
            if any(fnmatch.fnmatchcase(path, pat) for pat in f["Files"].split()):
                hit = f
        return hit
    vendors = [x for x in files if x.startswith("certs/vendors/")
               and x.endswith(".pem")]
    assert vendors
    for v in vendors:
        o = owner(v)
        assert o["License"].split("\n")[0] != "Apache-2.0", \
            f"{v}: a vendor certificate is not ours to license"
        # provenance stated, terms not invented
        assert "certs/vendors/README.md" in o["Comment"]
        assert "unknown" in o["Comment"]
    assert owner("mod_devprov.c")["License"] == "Apache-2.0"


def test_lintian_overrides_have_reasons():
    for ov in DEBIAN.glob("*lintian-overrides"):
        lines = ov.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() and not line.startswith("#"):
                assert i > 0 and lines[i - 1].startswith("#"), \
                    f"{ov.name}: override without a reason above it: {line}"


@pytest.mark.skipif(not shutil.which("lintian"),
                    reason="lintian is not installed here (Debian package "
                    "lintian; make deps installs it): the packages' lintian "
                    "check cannot run")
def test_lintian_pedantic_clean(built_debs):
    """Both binary packages: no lintian tag at all, at any level
    (--pedantic -I: errors, warnings, info, pedantic), that is not
    overridden in debian/*.lintian-overrides with its reason."""
    assert set(built_debs) == {"libapache2-mod-devprov",
                               "libapache2-mod-ssl-expired"}
    p = subprocess.run(["lintian", "--pedantic", "-I", "--fail-on", "none",
                        *map(str, built_debs.values())],
                       capture_output=True, text=True, timeout=600)
    tags = [line for line in p.stdout.splitlines()
            if re.match(r"[EWIPXC]: ", line)]
    assert p.returncode == 0, p.stdout + p.stderr
    assert not tags, "lintian, not overridden (debian/*.lintian-overrides " \
        "with a reason, or fix it):\n" + "\n".join(tags) + p.stderr


def deb_field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_ssl_expired_package(built_debs, tmp_path):
    """libapache2-mod-ssl-expired: the patched mod_ssl as the module
    "ssl_expired", its source named in Built-Using and in the build record,
    a trigger on Debian's mod_ssl.so, and the load check its postinst runs
    (passes for it, refuses Debian's unpatched mod_ssl)."""
    deb = built_debs["libapache2-mod-ssl-expired"]
    x = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
    rec = dict(line.split("=", 1) for line in
               (x / "usr/share/libapache2-mod-ssl-expired/build-info")
               .read_text().splitlines())
    assert deb_field(deb, "Built-Using") == f"apache2 (= {rec['source']})"
    assert f"apache2-bin (>= {rec['source']})" in deb_field(deb, "Depends")
    assert "apache2-api-20120211" in deb_field(deb, "Depends")
    # the same record as the tests' own build (same source, same machine)
    from conftest import BUILD
    own = BUILD / "mod_ssl.so.source"
    if own.exists():
        mine = dict(line.split("=", 1) for line in own.read_text().splitlines())
        assert (rec["source"], rec["installed"]) == \
            (mine["source"], mine["installed"])

    ctl = tmp_path / "ctl"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctl)], check=True)
    assert set((ctl / "conffiles").read_text().split()) == {
        "/etc/apache2/mods-available/ssl_expired.load",
        "/etc/apache2/mods-available/ssl_expired.conf"}
    assert [ln.split() for ln in (ctl / "triggers").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")] == \
        [["interest-noawait", "/usr/lib/apache2/modules/mod_ssl.so"]]
    for script in ("postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(ctl / script)], check=True)
    # nothing enabled on installation; disabled on removal
    assert "apache2_invoke enmod" not in (ctl / "postinst").read_text()
    assert re.search(r"for conf in ssl_expired\b.*\n\s*apache2_invoke dismod",
                     (ctl / "prerm").read_text())

    load = (x / "etc/apache2/mods-available/ssl_expired.load").read_text()
    assert load.splitlines()[-1] == \
        "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl_expired.so"
    mod = x / "usr/lib/apache2/modules/mod_ssl_expired.so"
    dyn = subprocess.run(["readelf", "-d", "-l", "-W", str(mod)], check=True,
                         capture_output=True, text=True).stdout
    assert re.search(r"\(FLAGS(_1)?\)\s.*\bNOW\b", dyn) and "GNU_RELRO" in dyn

    check = x / "usr/libexec/libapache2-mod-ssl-expired/check"
    env = dict(__import__("os").environ, DEVPROV_SSL_EXPIRED_INFO=str(
        x / "usr/share/libapache2-mod-ssl-expired/build-info"))
    p = subprocess.run([str(check), str(mod)], env=env, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"built from apache2 source {rec['source']}" in p.stdout
    # source and installed version differ here: said so
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                                "apache2-bin"], capture_output=True,
                               text=True).stdout
    assert ("WARNING" in p.stderr) == (installed != rec["source"]), p.stderr
    # Debian's own mod_ssl is not the patched one: refused, with apache2's
    # own message
    p = subprocess.run([str(check), "/usr/lib/apache2/modules/mod_ssl.so"],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 1
    assert "Invalid command 'SSLVerifyClientAcceptExpired'" in p.stderr
