"""The headless Chromium harness (t/browser.py) on a real page: mod_status's
/server-status with devprov's section, over HTTPS with the test PKI,
rendered by Chromium after phones were counted; the screenshot is kept in
build/test-artifacts/."""
import pytest

from browser import need_chromium, render, tables
from conftest import make_server_fixture
from test_devprov import trust
from test_status import STATUS_MODULE, docs


def browser_body(srv, pki):
    # /server-status on an HTTPS vhost that asks for no client
    # certificate (Chromium has none to give); the phones' vhost beside it
    status = srv.tls_vhost(
        "status", "<Location /server-status>\n"
        "    SetHandler server-status\n"
        "    Require ip 127.0.0.1\n"
        "</Location>\n", verify="none", cafile=None)
    phones = srv.tls_vhost("dev", f"DevprovEngine on\n{trust(pki)}"
                           + docs(srv, "dev"), cafile=None)
    return f"LoadModule status_module {STATUS_MODULE}\n" + status + phones


srv_browser = make_server_fixture("srv_browser", browser_body)


@pytest.fixture(autouse=True)
def _chromium():
    need_chromium()


def test_server_status_in_chromium(srv_browser):
    s = srv_browser
    for _ in range(3):
        res = s.curl("dev", "/ok.txt", "polycom-expired")
        assert res.status == 200, res
    res = s.curl("dev", "/ok.txt")                      # no certificate
    assert res.status == 200, res

    page = render(f"https://localhost:{s.port('status')}/server-status",
                  "server-status", server_cert=s.pki / "server/server.pem",
                  # tall enough for the devprov section below
                  # mod_status's own tables
                  window=(1200, 2400))
    assert "<h2>devprov</h2>" in page.dom
    assert "Apache Server Status" in page.dom

    # devprov's table: a header row of virtual hosts, a row per counter
    table = next(t for t in tables(page.dom)
                 if t and t[0] and t[0][0] == "counter")
    dev = f"localhost:{s.port('dev')}"
    assert table[0] == ["counter", dev]
    rows = {row[0]: row[1:] for row in table[1:]}
    assert rows["requests"] == ["4"]
    assert rows["verified_expired"] == ["3"]
    assert rows["reason_no_cert"] == ["1"]
    assert page.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.screenshot.stat().st_size > 5000


def test_untrusted_certificate_fails(srv_browser, tmp_path):
    """The pin is the only trust given: another certificate (a phone's)
    as SERVER_CERT, and the page does not load."""
    with pytest.raises(AssertionError, match="could not load"):
        render(f"https://localhost:{srv_browser.port('status')}/"
               "server-status", "untrusted",
               server_cert=srv_browser.pki.cert("polycom-valid"),
               artifacts=tmp_path, timeout=30)
