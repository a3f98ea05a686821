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
                    "lintian): the package's lintian check cannot run")
@pytest.mark.skipif(not (shutil.which("dpkg-buildpackage")
                         and shutil.which("dh")),
                    reason="needs dpkg-dev and debhelper to build the package")
def test_lintian_pedantic_clean(tmp_path):
    out = tmp_path / "b"
    p = subprocess.run(["make", "-s", "-C", str(ROOT), f"BUILD={out}", "deb"],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    debs = sorted((out / "deb").glob("*.deb"))
    debs = [d for d in debs if "-dbgsym_" not in d.name]
    assert debs
    p = subprocess.run(["lintian", "--pedantic", "-I", "--fail-on", "none",
                        *map(str, debs)],
                       capture_output=True, text=True, timeout=600)
    tags = [line for line in p.stdout.splitlines()
            if re.match(r"[EWIPX]: ", line)]
    bad = [t for t in tags if t[0] in "EW"]
    assert not bad, "lintian, not overridden (debian/*.lintian-overrides " \
        "with a reason, or fix it):\n" + "\n".join(tags) + p.stderr
