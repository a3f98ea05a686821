"""The shipped example provisioning site (conf/sites/provisioning.conf.in
with conf/www, conf/bootstrap and conf/allowlist.example), end to end with
the PHP renderer behind php-cgi."""
import pytest

from conftest import ROOT, make_server_fixture

LISTED = "0004f2000002"          # polycom-expired, in allowlist.example


def site_body(srv, pki):
    tpl = (ROOT / "conf/sites/provisioning.conf.in").read_text()
    subst = {
        "@LISTEN_ADDR@": "127.0.0.1",
        "@HTTPS_PORT@": str(srv.port("https")),
        "@HTTP_PORT@": str(srv.port("http")),
        "@PKI@": str(pki.root),
        "@ALLOWLIST@": str(ROOT / "conf/allowlist.example"),
        "@WWW@": str(ROOT / "conf/www"),
        "@BOOTSTRAP@": str(ROOT / "conf/bootstrap"),
    }
    for k, v in subst.items():
        tpl = tpl.replace(k, v)
    assert "@" not in "".join(l for l in tpl.splitlines()
                              if not l.lstrip().startswith("#"))
    return tpl


srv_site = make_server_fixture("srv_site", site_body)


def test_expired_phone_gets_its_rendered_config(srv_site):
    res = srv_site.curl("https", f"/{LISTED}.cfg", "polycom-expired")
    assert res.status == 200, res
    assert "<PHONE_CONFIG>" in res.body
    assert 'reg.1.displayName="warehouse-desk"' in res.body
    assert 'reg.1.address="202"' in res.body
    assert "cert validity: expired" in res.body


def test_phone_specific_file_and_upper_case_name(srv_site):
    res = srv_site.curl("https", f"/{LISTED.upper()}-phone.cfg",
                        "polycom-expired")
    assert res.status == 200, res
    assert "phone configuration for 0004f2000002" in res.body


def test_valid_phone(srv_site):
    res = srv_site.curl("https", "/0004f2000001.cfg", "polycom-valid")
    assert res.status == 200, res
    assert "cert validity: valid" in res.body


def test_other_phones_file_is_refused(srv_site):
    res = srv_site.curl("https", "/0004f2000001.cfg", "polycom-expired")
    assert res.status == 403
    # DevprovBindPath refuses it before render.php (which would too:
    # "this file belongs to another phone")
    assert ("devprov: denied (DevprovBindPath): path names MAC "
            "0004f2000001, device is 0004f2000002") in srv_site.new_log()


@pytest.mark.parametrize("device", ["polycom-unlisted", "rogue-polycom",
                                    "rogue-expired", "polycom-selfsigned",
                                    None])
def test_strangers_get_nothing(srv_site, device):
    for path in (f"/{LISTED}.cfg", "/000000000000.cfg", "/firmware/"):
        assert srv_site.curl("https", path, device).status == 403, path
    assert "devprov: denied" in srv_site.new_log()


def test_shared_master_config_for_listed_phone(srv_site):
    res = srv_site.curl("https", "/000000000000.cfg", "polycom-expired")
    assert res.status == 200


def test_renderer_not_reachable_directly(srv_site, expect_log):
    expect_log([r"AH01630"])
    assert srv_site.curl("https", "/render.php", "polycom-expired").status \
        == 403


def test_bootstrap_serves_master_config_only(srv_site, expect_log):
    expect_log([r"AH01630|AH01797"])
    assert srv_site.http("http", "/000000000000.cfg").status == 200
    for path in (f"/{LISTED}.cfg", f"/{LISTED.upper()}-phone.cfg",
                 "/render.php", "/env.php", f"/x/../{LISTED}.cfg"):
        assert srv_site.http("http", path).status in (403, 404), path
    assert srv_site.http("http", f"/{LISTED}.cfg").status == 403
