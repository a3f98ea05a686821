"""The shipped example provisioning site (conf/sites/provisioning.conf.in
with conf/www, conf/bootstrap and conf/allowlist.example), end to end with
the PHP renderer behind php-cgi."""
import os
import re

import pytest

from conftest import (HANDSHAKE_FAIL_LOG, MODDIR, ROOT, Httpd,
                      handshake_refuses, s_client_get)

LISTED = "0004f2000002"          # polycom-expired, in allowlist.example


def uploads(srv):
    import pwd
    d = srv.dir / "uploads"
    d.mkdir(exist_ok=True)
    www = pwd.getpwnam("www-data")
    os.chown(d, www.pw_uid, www.pw_gid)
    return d


def sql_database(backend, srv, request):
    """The example phones (conf/sql/phones.example.sql) in a database made
    from conf/sql/schema.sql: (DBDriver, DBDParams)."""
    schema = (ROOT / "conf/sql/schema.sql").read_text()
    phones = (ROOT / "conf/sql/phones.example.sql").read_text()
    if backend == "sqlite":
        import sqlite3
        path = srv.dir / "phones.db"
        with sqlite3.connect(path) as c:
            c.executescript(schema + phones)
        path.chmod(0o644)
        return "sqlite3", str(path)
    pg = request.getfixturevalue("postgres")
    pg.sql("CREATE DATABASE example_site")
    pg.sql(schema + phones + "CREATE ROLE example_ro LOGIN PASSWORD 'ro';"
           "GRANT SELECT ON phones TO example_ro", db="example_site")
    return "pgsql", (f"host=127.0.0.1 port={pg.port} dbname=example_site "
                     "user=example_ro password=ro")


def site_body(srv, pki, backend="file", request=None):
    tpl = (ROOT / "conf/sites/provisioning.conf.in").read_text()
    driver, params = "none", "none"
    if backend != "file":
        driver, params = sql_database(backend, srv, request)
        tpl = ("Define DEVPROV_SQL\n"
               f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n" + tpl)
    subst = {
        "@SQLDRIVER@": driver,
        "@SQLPARAMS@": params,
        "@LISTEN_ADDR@": "127.0.0.1",
        "@HTTPS_PORT@": str(srv.port("https")),
        "@HTTP_PORT@": str(srv.port("http")),
        "@PKI@": str(pki.root),
        "@ALLOWLIST@": str(ROOT / "conf/allowlist.example"),
        "@WWW@": str(ROOT / "conf/www"),
        "@BOOTSTRAP@": str(ROOT / "conf/bootstrap"),
        "@UPLOADS@": str(uploads(srv)),
        "@REVOKED@": str(ROOT / "conf/revoked.example"),
    }
    for k, v in subst.items():
        tpl = tpl.replace(k, v)
    assert "@" not in "".join(l for l in tpl.splitlines()
                              if not l.lstrip().startswith("#"))
    return tpl


@pytest.fixture(scope="module", params=["file", "sqlite", "pgsql"])
def srv_site(request, workdir, pki):
    """The example site with the phones in conf/allowlist.example, or the
    same phones in SQLite or PostgreSQL (-D DEVPROV_SQL)."""
    srv = Httpd(workdir, f"srv_site_{request.param}", pki)
    srv.start(site_body(srv, pki, request.param, request))
    yield srv
    srv.stop()


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
    assert ('by=DevprovBindPath detail="path names MAC '
            "0004f2000001, device is 0004f2000002") in srv_site.new_log()


@pytest.mark.parametrize("tls,extra,bits", [
    ("-tls1_2", [], 256),                       # offers ECDSA: the EC key
    ("-tls1_3", [], 256),
    # a phone that offers only RSA key exchange and signatures
    ("-tls1_2", ["-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                 "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256"], 2048),
    ("-tls1_2", ["-cipher", "AES128-SHA"], 2048),
])
def test_server_key_by_what_the_phone_offers(srv_site, pki, tls, extra,
                                             bits):
    """The site has an RSA and an ECDSA certificate: a phone that offers
    ECDSA gets the cheaper ECDSA handshake, one that offers only RSA the
    RSA certificate; both provision."""
    _, out, err = s_client_get(srv_site.port("https"), pki,
                               "polycom-expired", f"/{LISTED}.cfg",
                               tls=tls, extra=extra, quiet=False)
    # TLS 1.3: s_client prints the session tickets it gets into the
    # response, which then does not start a line
    assert "HTTP/1.1 200 OK" in out and "0004f2000002" in out, (out, err)
    assert f"Server public key is {bits} bit" in out, out


@pytest.mark.parametrize("device", ["polycom-unlisted", "rogue-polycom",
                                    "rogue-expired", "polycom-selfsigned",
                                    None])
def test_strangers_get_nothing(srv_site, expect_log, device):
    if handshake_refuses(device, has_ca=True):
        # stock mode: an expired certificate from an unknown CA is refused
        # in the handshake, as stock mod_ssl does
        expect_log(HANDSHAKE_FAIL_LOG)
        assert srv_site.curl("https", f"/{LISTED}.cfg", device) \
            .handshake_failed
        return
    for path in (f"/{LISTED}.cfg", "/000000000000.cfg", "/firmware/"):
        assert srv_site.curl("https", path, device).status == 403, path
    assert "devprov: refused" in srv_site.new_log()


def test_fleet_page_shows_the_phones(srv_site, pki):
    # the phones of the tests above, on the bootstrap vhost's fleet page
    # (Require local), from the record DevprovFleet keeps
    import json
    res = srv_site.http("http", "/devprov-fleet?json")
    assert res.status == 200, res
    doc = json.loads(res.body)
    phones = {p["mac"]: p for p in doc["phones"]}
    assert phones[LISTED]["vendor"] == "polycom"
    assert phones[LISTED]["cert_validity"] == "expired"
    assert phones["0004f2000001"]["cert_validity"] == "valid"
    # the genuine phone that is not listed waits for approval (in stock
    # mode too: its CA is configured, only its MAC is unknown)
    assert [w["mac"] for w in doc["waiting"]] \
        == [pki.mac("polycom-unlisted").lower()]
    html = srv_site.http("http", "/devprov-fleet")
    assert html.status == 200 and LISTED in html.body
    # and in Prometheus' format, beside the status counters
    prom = srv_site.http("http", "/devprov-status?format=prometheus")
    assert prom.status == 200, prom
    assert "devprov_fleet_waiting 1\n" in prom.body
    states = {s: n for s, n in doc["states"].items()}
    for state, n in states.items():
        assert f'devprov_fleet_phones{{state="{state}"}} {n}\n' in prom.body


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


def test_phone_uploads_its_own_log_only(srv_site, expect_log, tmp_path):
    expect_log([r"AH01630|AH00126|AH01797",
                r"error occurred while reading the request body"])
    own = f"/logs/{LISTED}-app.log"
    body = tmp_path / "log"
    body.write_text("boot ok\n")
    body.chmod(0o644)
    res = srv_site.curl("https", own, "polycom-expired",
                        extra=["-T", str(body)])
    assert res.status in (201, 204), res
    up = srv_site.dir / "uploads" / f"{LISTED}-app.log"
    assert up.read_text() == "boot ok\n"
    # appending, as Polycom phones do, with Content-Range
    more = tmp_path / "more"
    more.write_text("app up\n")
    res = srv_site.curl("https", own, "polycom-expired",
                        extra=["-T", str(more), "-H",
                               "Content-Range: bytes 8-14/15"])
    assert res.status in (201, 204), res
    assert up.read_text() == "boot ok\napp up\n"
    # another phone's log: refused before any handler, nothing written
    other = srv_site.curl("https", "/logs/0004f2000001-app.log",
                          "polycom-expired", extra=["-T", str(body)])
    assert other.status == 403
    assert not (srv_site.dir / "uploads" / "0004f2000001-app.log").exists()
    # reading logs back, or writing other names, is not allowed
    assert srv_site.curl("https", own, "polycom-expired").status == 403
    assert srv_site.curl("https", "/logs/evil.php", "polycom-expired",
                         extra=["-T", str(body)]).status == 403
    # over the size limit
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1048576 + 1))
    assert srv_site.curl("https", own, "polycom-expired",
                         extra=["-T", str(big)]).status == 413


def production_site(srv, pki, varlib):
    """conf/sites/provisioning.conf (the file admins copy) with its paths
    pointed at test files and /var/lib/devprov at VARLIB."""
    text = (ROOT / "conf/sites/provisioning.conf").read_text()
    https, http = srv.port("https"), srv.port("http")
    subst = [
        ("Listen 8443", f"Listen 127.0.0.1:{https}"),
        ("<VirtualHost *:8443>", f"<VirtualHost 127.0.0.1:{https}>"),
        ("<VirtualHost *:80>", f"<VirtualHost 127.0.0.1:{http}>"),
        ("${APACHE_LOG_DIR}", str(srv.dir / "logs")),
        ("/etc/devprov/tls/server.pem", str(pki / "server/server.pem")),
        ("/etc/devprov/tls/server.key", str(pki / "server/server.key")),
        ("/etc/devprov/polycom/cafile.pem", str(pki / "polycom/cafile.pem")),
        ("/etc/devprov/polycom/root.pem", str(pki / "polycom/root.pem")),
        ("/etc/devprov/polycom/issuing-1.pem", str(pki / "polycom/issuing.pem")),
        ("/etc/devprov/polycom/issuing-2.pem",
         str(pki / "polycom/issuing-expired.pem")),
        ("/etc/devprov/allowlist", str(ROOT / "conf/allowlist.example")),
        ("/etc/devprov/revoked", str(ROOT / "conf/revoked.example")),
        ("/var/lib/devprov", str(varlib)),
        ("/var/www/devprov/https", str(ROOT / "conf/www")),
        ("/var/www/devprov/bootstrap", str(ROOT / "conf/bootstrap")),
    ]
    for old, new in subst:
        assert old in text, old
        text = text.replace(old, new)
    # a Listen for the bootstrap port (Debian's ports.conf has "Listen 80")
    text = f"Listen 127.0.0.1:{http}\n" + text
    (srv.dir / "logs").mkdir(exist_ok=True)
    (srv.dir / "logs" / "provisioning_error.log").touch()
    return text


def test_production_example_passes_configtest(workdir, pki):
    """conf/sites/provisioning.conf (the file admins copy) stays valid:
    with its paths pointed at test files it passes apache2 -t."""
    srv = Httpd(workdir, "prod-example", pki)
    res = srv.configtest(production_site(srv, pki, srv.dir))
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_production_example_works_with_the_files_its_header_lists(
        workdir, pki, tmp_path):
    """/var/lib/devprov as the production header says (root's, with
    logs/ and davlock/ owned by www-data): an expired phone gets its
    configuration and uploads its log, and the access log's ssl_verify
    says EXPIRED for it in both modes (the environment, not mod_ssl's
    own lookup, which says SUCCESS in stock mode)."""
    import pwd
    www = pwd.getpwnam("www-data")
    srv = Httpd(workdir, "prod-example-run", pki)
    varlib = srv.dir / "varlib"
    varlib.mkdir()
    varlib.chmod(0o755)
    for d in ("logs", "davlock"):
        (varlib / d).mkdir()
        os.chown(varlib / d, www.pw_uid, www.pw_gid)
        (varlib / d).chmod(0o750)
    srv.start(production_site(srv, pki, varlib))
    try:
        res = srv.curl("https", f"/{LISTED}.cfg", "polycom-expired")
        assert res.status == 200 and "cert validity: expired" in res.body, res
        body = tmp_path / "log"
        body.write_text("boot ok\n")
        body.chmod(0o644)
        res = srv.curl("https", f"/logs/{LISTED}-app.log", "polycom-expired",
                       extra=["-T", str(body)])
        assert res.status == 201, res
        assert (varlib / "logs" / f"{LISTED}-app.log").read_text() \
            == "boot ok\n"
        assert srv.curl("https", "/0004f2000001.cfg", "polycom-valid") \
            .status == 200
        # refused before the fixups: no SSL_CLIENT_VERIFY in the
        # environment, the DEVICE_* fields say why
        assert srv.curl("https", f"/{LISTED}.cfg", "polycom-unlisted") \
            .status == 403
    finally:
        srv.stop()
    log = (srv.dir / "logs" / "provisioning_access.log").read_text()
    assert re.search(rf'"GET /{LISTED}\.cfg HTTP/1\.1" 200 .* mac={LISTED} '
                     r"verified=1 validity=expired ssl_verify=EXPIRED listed=1",
                     log), log
    assert re.search(rf'"PUT /logs/{LISTED}-app\.log HTTP/1\.1" 201 .* '
                     r"ssl_verify=EXPIRED", log), log
    assert re.search(r'"GET /0004f2000001\.cfg HTTP/1\.1" 200 .* '
                     r"validity=valid ssl_verify=SUCCESS", log), log
    assert re.search(rf'"GET /{LISTED}\.cfg HTTP/1\.1" 403 .* verified=1 '
                     r'validity=valid ssl_verify=- listed=0 '
                     r'reason="not in allowlist"', log), log
