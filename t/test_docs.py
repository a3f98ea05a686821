"""The reference documentation keeps up with the code.

Every directive the module registers (each AP_INIT_*("Devprov...") entry of
a command table, in whichever mod_devprov*.c file it lives) has its own
section in doc/directives.md, and every section there names a directive
that exists, in httpd's manual form (Description, Syntax, Default,
Context, Module).  The patched mod_ssl's one new directive is documented in
doc/ too, and the pages the README and doc/index.md point to exist.

Reads files only: no server, no build."""
import re

import pytest

from conftest import ROOT

DOC = ROOT / "doc"
DIRECTIVES_MD = DOC / "directives.md"
FIELDS = ("Description", "Syntax", "Default", "Context", "Module")

# the directive's name is the first argument of the AP_INIT_* macro; the
# arguments may be wrapped onto the next line
AP_INIT = re.compile(r'\bAP_INIT_[A-Z0-9_]+\s*\(\s*"([A-Za-z0-9]+)"')


def code_directives():
    """Directive name -> the glue file registering it, over every
    mod_devprov*.c at the top of the tree (the table may move between
    them)."""
    found = {}
    files = sorted(ROOT.glob("mod_devprov*.c"))
    assert files, "no mod_devprov*.c at the top of the tree"
    for f in files:
        for name in AP_INIT.findall(f.read_text()):
            if not name.startswith("Devprov"):
                continue
            assert name not in found, \
                f"{name} registered twice ({found[name]}, {f.name})"
            found[name] = f.name
    return found


def doc_sections():
    """'## ' heading -> the lines of its section, in file order."""
    sections, cur = {}, None
    in_code = False
    for line in DIRECTIVES_MD.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            if cur is not None:
                sections[cur].append(line)
            continue
        if line.startswith("## "):
            cur = line[3:].strip()
            assert cur not in sections, f"section '{cur}' given twice"
            sections[cur] = []
        elif line.startswith("# ") and cur is not None:
            cur = None                     # a new top-level part
        elif cur is not None:
            sections[cur].append(line)
    return sections


def fields_of(lines):
    """The manual-form table: '| Field | value |' rows, in order."""
    rows = []
    for line in lines:
        m = re.match(r"^\|\s*([A-Za-z]+)\s*\|\s*(.*?)\s*\|\s*$", line)
        if m and m.group(1) in FIELDS:
            rows.append((m.group(1), m.group(2)))
    return rows


def test_directive_table_is_found():
    # the collection itself must see the table, or every check below
    # would pass on nothing
    names = code_directives()
    assert len(names) >= 12, names
    assert "DevprovEngine" in names and "DevprovAllowlistSQL" in names


def test_every_directive_has_a_reference_entry():
    documented = set(doc_sections())
    missing = sorted(set(code_directives()) - documented)
    assert not missing, \
        f"directives without a '## <name>' section in doc/directives.md: {missing}"


def test_every_entry_names_an_existing_directive():
    unknown = sorted(set(doc_sections()) - set(code_directives()))
    assert not unknown, \
        f"doc/directives.md sections naming no directive of the module: {unknown}"


MAIN_SERVER_ONLY = {"DevprovFleet"}


@pytest.mark.parametrize("name", sorted(code_directives()))
def test_entry_has_the_manual_fields(name):
    sections = doc_sections()
    if name not in sections:
        pytest.fail(f"{name}: no section in doc/directives.md")
    rows = fields_of(sections[name])
    got = [f for f, _ in rows]
    assert got == list(FIELDS), \
        f"{name}: fields {got}, want {list(FIELDS)} in this order"
    values = dict(rows)
    for f in FIELDS:
        assert values[f], f"{name}: empty {f}"
    assert values["Syntax"].strip("`").startswith(name + " ") or \
        values["Syntax"].strip("`") == name, \
        f"{name}: Syntax does not start with the directive: {values['Syntax']}"
    assert values["Module"] == "mod_devprov", f"{name}: {values['Module']}"
    # the main server's only (apache2 -t refuses it in a <VirtualHost>:
    # t/test_fleet.py::test_config_errors)
    want = ("server config" if name in MAIN_SERVER_ONLY
            else "server config, virtual host")
    assert values["Context"] == want, f"{name}: {values['Context']}"
    # some text beyond the table
    text = [l for l in sections[name] if l.strip() and not l.startswith("|")]
    assert text, f"{name}: no description text"


def test_every_heading_is_in_manual_form():
    # also sections that would fail the name checks above: each '## '
    # heading carries the five fields
    for name, lines in doc_sections().items():
        assert [f for f, _ in fields_of(lines)] == list(FIELDS), name


def test_patched_mod_ssl_directive_is_documented():
    patch = (ROOT / "mod_ssl_expired.patch").read_text()
    new = set(re.findall(r'^\+.*\bAP_INIT_[A-Z0-9_]+\s*\(\s*"?(SSL[A-Za-z]+)',
                         patch, re.M))
    new |= set(re.findall(r'^\+.*SSL_CMD_SRV\(\s*([A-Za-z]+)', patch, re.M))
    new = {n if n.startswith("SSL") else "SSL" + n for n in new}
    assert "SSLVerifyClientAcceptExpired" in new, new
    docs = "\n".join(p.read_text() for p in DOC.glob("*.md"))
    for n in sorted(new):
        assert re.search(rf"^#+ .*\b{n}\b", docs, re.M), \
            f"{n} (mod_ssl_expired.patch) has no heading in doc/*.md"


def test_index_lists_every_page():
    index = (DOC / "index.md").read_text()
    for page in sorted(DOC.glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name})" in index, \
                f"doc/index.md does not link {page.name}"


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("page", ["README"] + sorted(
    f"doc/{p.name}" for p in DOC.glob("*.md")))
def test_relative_links_resolve(page):
    path = ROOT / page
    text = path.read_text()
    targets = LINK.findall(text)
    if page == "README":
        # plain text: the pages it sends the reader to, written as paths
        targets = [(t, "") for t in re.findall(
            r"\b((?:doc|bench/results|fuzz|t)/[A-Za-z0-9_.-]+\.(?:md|1))\b",
            text)]
        assert any(t.startswith("doc/") for t, _ in targets)
    for target, anchor in targets:
        if re.match(r"[a-z]+:", target):
            continue
        dest = path.parent / target
        assert dest.exists(), f"{page}: {target} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor[1:] in anchors(dest), \
                f"{page}: {target}{anchor}: no such heading"
    # links within the page
    for anchor in re.findall(r"\]\(#([^)\s]+)\)", text):
        assert anchor in anchors(path), f"{page}: #{anchor}: no such heading"


def anchors(md):
    """The heading anchors of a Markdown page, as GitHub makes them."""
    out, in_code = set(), False
    for line in md.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"^#+\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            out.add(slug)
    return out
