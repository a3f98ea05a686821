"""A headless Chromium for tests: a page of a test server as the browser
renders it (the DOM after its scripts ran) and a screenshot of it, kept in
the test artifact directory (build/test-artifacts/, or
$DEVPROV_BUILD/test-artifacts/) for a human to look at after the run.

    from browser import render, tables
    page = render("https://localhost:8443/fleet", "fleet",
                  server_cert=pki / "server/server.pem")
    assert "<h2>devprov</h2>" in page.dom
    rows = tables(page.dom)[0]              # [[cell text, ...], ...]

Each call starts Debian's chromium (/usr/bin/chromium) twice, once for
--dump-dom and once for --screenshot, with a profile of its own in a
temporary directory (nothing of root's home is read or written) and
bounded time: a page that does not load within TIMEOUT seconds fails the
test, and the browser's whole process group is killed.

HTTPS: Chromium does not read the test PKI's CA file, and its own trust
store is an NSS database we would have to create (libnss3-tools).  It
trusts exactly the key of SERVER_CERT instead
(--ignore-certificate-errors-spki-list: every other certificate error
stays an error), which is the test server's key; insecure=True ignores
every certificate error, for a server whose certificate a test does not
know.  Chromium offers no client certificate: a page behind
"SSLVerifyClient require" needs a vhost or <Location> without it (with
optional or optional_no_ca it loads, without a certificate).

Tests skip (pytest.skip, with the reason) only if chromium is not
installed; make deps installs it (scripts/install-deps.sh), so CI runs
them."""
import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import BUILD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = BUILD / "test-artifacts"
WINDOW = (1200, 900)


class Page:
    def __init__(self, url, dom, screenshot, html_file):
        self.url = url
        self.dom = dom                  # the rendered DOM, serialized
        self.screenshot = screenshot    # PNG in ARTIFACTS
        self.html_file = html_file      # the DOM, saved beside it

    def __repr__(self):
        return f"Page({self.url!r}, screenshot={self.screenshot})"


def have_chromium():
    return os.access(CHROMIUM, os.X_OK)


def need_chromium():
    """Skip the calling test if there is no chromium to run."""
    if not have_chromium():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package "
                    "chromium; make deps installs it)")


def spki_pin(cert_pem):
    """The base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as
    --ignore-certificate-errors-spki-list takes it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(Path(cert_pem).read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


# what headless Chromium says of a failed navigation (certificate
# refused, connection refused, timeout): it still exits 0, with an empty
# DOM or its error page's
LOAD_FAILED = re.compile(r"Page load failed: (\S+)")
ERROR_PAGE = re.compile(r'id="main-frame-error"')


def _noise(err):
    """stderr without the lines about the D-Bus a container lacks"""
    return "\n".join(ln for ln in err.splitlines()
                     if "dbus" not in ln and ln.strip())[-2000:]


def _check_loaded(what, url, rc, err, dom=None):
    failed = LOAD_FAILED.search(err)
    assert not failed, f"chromium could not load {url}: {failed.group(1)}" \
        f"\n{_noise(err)}"
    assert rc == 0, f"chromium {what} {url}: exit status {rc}\n{_noise(err)}"
    assert dom is None or (dom.strip() and not ERROR_PAGE.search(dom)), \
        f"chromium could not load {url} (an error page):\n{dom[:2000]}" \
        f"\n{_noise(err)}"


def _run(args, profile, timeout):
    """chromium ARGS in a session of its own; (rc, stdout, stderr).  On
    timeout the whole group (browser, zygote, renderers) is killed."""
    env = dict(os.environ, HOME=str(profile))
    p = subprocess.Popen([CHROMIUM, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        raise AssertionError(
            f"chromium did not finish within {timeout} s: {args[-1]}\n"
            + _noise(err.decode(errors="replace")))
    finally:
        # renderers that outlived the browser (they should not)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return p.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace")


def render(url, name, server_cert=None, insecure=False, timeout=30,
           window=WINDOW, artifacts=None):
    """Load URL in headless Chromium: a Page with the rendered DOM and a
    screenshot ARTIFACTS/NAME.png (the DOM beside it as NAME.html).  For
    https, SERVER_CERT (PEM) is the certificate whose key to trust, or
    INSECURE ignores certificate errors.  A navigation that fails (an
    error page instead of the server's) fails the test."""
    need_chromium()
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"artifact name {name!r}: letters, digits . _ -")
    if url.startswith("https:") and server_cert is None and not insecure:
        raise ValueError("https: give server_cert (the test server's "
                         "certificate) or insecure=True")
    out_dir = Path(artifacts or ARTIFACTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / f"{name}.png"
    html_file = out_dir / f"{name}.html"
    shot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="devprov-chromium-") as prof:
        common = ["--headless=new", "--no-sandbox", "--disable-gpu",
                  "--no-first-run", "--no-default-browser-check",
                  "--disable-extensions", "--disable-sync",
                  "--disable-background-networking",
                  "--disable-component-update", "--mute-audio",
                  # the flag below is honoured only with a profile
                  # directory of our own
                  f"--user-data-dir={prof}/profile",
                  f"--window-size={window[0]},{window[1]}",
                  # Chromium's own timer, under ours: it stops loading
                  # and dumps what it has
                  f"--timeout={int(timeout * 1000 * 2 / 3)}"]
        if insecure:
            common.append("--ignore-certificate-errors")
        elif server_cert is not None:
            common.append("--ignore-certificate-errors-spki-list="
                          + spki_pin(server_cert))
        rc, dom, err = _run(common + ["--dump-dom", url], prof, timeout)
        _check_loaded("--dump-dom", url, rc, err, dom)
        html_file.write_text(dom)
        rc, _, err = _run(common + ["--run-all-compositor-stages-before-draw",
                                    f"--screenshot={shot}", url],
                          prof, timeout)
        _check_loaded("--screenshot", url, rc, err)
        assert shot.exists() and shot.stat().st_size > 0, \
            f"chromium --screenshot {url}: no {shot}\n{_noise(err)}"
    return Page(url, dom, shot, html_file)


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self._open = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            t = []
            self.tables.append(t)
            self._open.append(t)
        elif tag == "tr" and self._open:
            self._open[-1].append([])
        elif tag in ("td", "th") and self._open and self._open[-1]:
            self._open[-1][-1].append("")

    def handle_endtag(self, tag):
        if tag == "table" and self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1] and self._open[-1][-1]:
            self._open[-1][-1][-1] += data


def tables(dom):
    """Every <table> of DOM in document order: rows of cell texts,
    stripped (an inner table's text is its own, not its cell's)."""
    p = _Tables()
    p.feed(dom)
    return [[[c.strip() for c in row] for row in t] for t in p.tables]
