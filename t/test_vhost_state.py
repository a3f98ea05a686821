"""Per-vhost state stays per vhost.

A <VirtualHost> with no Devprov directive of its own inherits the main
server's DevprovEngine, DevprovTrust and DevprovAllowlist, but keeps its
own runtime state: its status counters, its identity cache and (stock
mode) its own handshake tolerance, which re-checks resumed sessions
against that vhost's own SSLCACertificateFile.  (Without
AP_MODULE_FLAG_ALWAYS_MERGE httpd gave such vhosts the main server's
config record itself, and all of them shared that state: requests were
counted under whichever inheriting vhost post_config saw last.)  An
inherited DevprovAllowlistSQL answers from the database of the vhost
that asks (its own DBDParams), never from another database's cache."""
import json
import re
import sqlite3
import time

import pytest

from conftest import (HANDSHAKE_FAIL_LOG, SSL_PATCHED, STOCK_SSL, WWW, Httpd,
                      check_log, s_client_get, write_allowlist)
from test_status import CONNECTS, counters, delta, docs, get, label, \
    status_vhost

ALLOW = ["0004f2000001 lobby", "0004f2000002 expired-desk",
         "0004f2000004 under-expired-ca"]
OK = "/ok.txt"

# one child process (of 8 threads): the identity cache is per process, so
# that its hits are exact numbers
ONE_PROCESS = "ServerLimit 1\nMaxRequestWorkers 8\n"


def main_server(srv, pki):
    """The main server's devprov configuration, inherited by every vhost
    below that says nothing about devprov."""
    allow = write_allowlist(srv.dir / "allowlist", ALLOW)
    return ("DevprovEngine on\n"
            f"DevprovTrust polycom {pki / 'polycom/cafile.pem'}\n"
            f"DevprovAllowlist {allow}\n")


def inherit_body(srv, pki):
    # the status vhost is the only one that says anything about devprov:
    # engine off (as conf/sites' bootstrap vhost), else it would count its
    # own fetches and the three reads that counters() compares would differ
    status = status_vhost(srv).replace(
        "ServerName localhost\n", "ServerName localhost\nDevprovEngine off\n")
    return (ONE_PROCESS + main_server(srv, pki)
            + srv.tls_vhost("one", docs(srv, "one"))
            + srv.tls_vhost("two", docs(srv, "two"))
            + status)


@pytest.fixture(scope="module")
def srv_inherit(workdir, pki):
    srv = Httpd(workdir, "srv_inherit", pki)
    srv.start(inherit_body(srv, pki))
    yield srv
    srv.stop()


def test_every_inheriting_vhost_has_its_own_counters(srv_inherit):
    s = srv_inherit
    _, c = counters(s)
    assert label(s, "one") in c and label(s, "two") in c
    # the status vhost has the engine off: no counters of its own
    assert label(s, "status") not in c
    # the main server (engine on) has its own slot too: one, two, main
    assert len(c) == 3, sorted(c)


def test_requests_counted_under_the_vhost_that_served_them(srv_inherit):
    s = srv_inherit
    one, two = label(s, "one"), label(s, "two")
    _, before = counters(s)
    CONNECTS.clear()
    assert get(s, "one", "polycom-expired", [OK] * 3) == [200] * 3
    assert get(s, "one", "polycom-valid", [OK] * 2) == [200] * 2
    assert get(s, "one", None) == [200]
    _, mid = counters(s)
    d1 = delta(before[one], mid[one])
    d2 = delta(before[two], mid[two])
    assert d1["requests"] == 6, d1
    assert d1["verified"] == 5
    assert d1["verified_expired"] == 3
    assert d1["listed"] == 5
    assert d1["reason_no_cert"] == 1
    assert d1["denied"] == 0
    assert d1["verdicts_made"] == CONNECTS["one"]
    assert d1["verdicts_reused"] == 6 - CONNECTS["one"]
    # vhost two served nothing
    assert set(d2.values()) == {0}, d2

    CONNECTS.clear()
    assert get(s, "two", "polycom-valid", [OK] * 2) == [200] * 2
    assert get(s, "two", "polycom-expired") == [200]
    _, after = counters(s)
    d1 = delta(mid[one], after[one])
    d2 = delta(mid[two], after[two])
    assert d2["requests"] == 3, d2
    assert d2["verified"] == 3
    assert d2["verified_expired"] == 1
    assert d2["listed"] == 3
    assert d2["verdicts_made"] == CONNECTS["two"]
    assert set(d1.values()) == {0}, d1
    # nothing counted under the main server, which served nothing
    main = (set(after) - {one, two}).pop()
    assert set(after[main].values()) == {0}, after[main]


def test_identity_cache_per_vhost(srv_inherit):
    """A phone known to vhost one's identity cache is new to vhost two:
    two's first connection verifies the chain itself (no cache hit), its
    second finds the identity in two's own cache."""
    s = srv_inherit
    one, two = label(s, "one"), label(s, "two")
    dev = "polycom-under-expired-ca"    # used by no other test here
    steps = [("one", 0), ("one", 1), ("two", 0), ("two", 1)]
    for vhost, hit in steps:
        _, before = counters(s)
        CONNECTS.clear()
        assert get(s, vhost, dev) == [200]
        assert CONNECTS[vhost] == 1
        _, after = counters(s)
        d = delta(before[label(s, vhost)], after[label(s, vhost)])
        other = delta(before[two if vhost == "one" else one],
                      after[two if vhost == "one" else one])
        assert d["verdicts_made"] == 1, (vhost, d)
        assert d["idcache_hits"] == hit, (vhost, hit, d)
        assert d["verified_expired"] == 1
        assert set(other.values()) == {0}, (vhost, other)


# -- stock mode: each vhost's own handshake tolerance --------------------

def stock_body(srv, pki, order):
    # both vhosts' SSLCACertificateFile hold every DevprovTrust CA (apache2
    # -t requires it in stock mode); "wide"'s also holds the rogue root
    # and a chain (issuing CA under a root that expired) that no vendor
    # has, so that the two handshake stores differ in what they verify
    wide = srv.dir / "wide-ca.pem"
    wide.write_bytes((pki / "polycom/cafile.pem").read_bytes()
                     + (pki / "rogue/root.pem").read_bytes()
                     + (pki / "polycom-oldroot/cafile.pem").read_bytes())
    vhosts = {
        "narrow": srv.tls_vhost("narrow", "AddHandler cgi-script .cgi\n",
                                cafile="polycom/cafile.pem"),
        "wide": srv.tls_vhost("wide", "AddHandler cgi-script .cgi\n",
                              cafile=str(wide)),
    }
    return main_server(srv, pki) + "".join(vhosts[v] for v in order)


# both orders of definition: before the fix the shared record kept the
# tolerance of whichever vhost mod_ssl configured last, and httpd
# configures the vhosts in reverse order of definition
@pytest.fixture(scope="module",
                params=[("wide", "narrow"), ("narrow", "wide")],
                ids=["wide-first", "narrow-first"])
def srv_stock_vhosts(workdir, pki, request):
    srv = Httpd(workdir, "srv_stock_vhosts_" + "_".join(request.param), pki,
                ssl_module=STOCK_SSL)
    srv.start(stock_body(srv, pki, request.param))
    yield srv
    srv.stop()


def test_stock_each_vhost_tolerates_in_its_own_handshake(srv_stock_vhosts):
    log = srv_stock_vhosts.error_log.read_text()
    ports = re.findall(r"devprov: stock mod_ssl: localhost:(\d+) \(.*"
                       r"tolerates expired", log)
    assert sorted(int(p) for p in ports) == sorted(
        srv_stock_vhosts.port(n) for n in ("narrow", "wide"))


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_stock_expired_phone_per_vhost_ca(srv_stock_vhosts, expect_log,
                                          tls):
    s = srv_stock_vhosts
    for vhost in ("narrow", "wide"):
        res = s.curl(vhost, "/env.cgi", "polycom-expired", tls=tls)
        assert res.status == 200, (vhost, res)
        assert "DEVICE_VERIFIED=1" in res.body
        assert "DEVICE_CERT_VALIDITY=expired" in res.body
        assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
        assert ("SSL_CLIENT_VERIFY_WAIVED=certificate has expired "
                "(depth 0)" in res.body)
    # an expired certificate of the rogue CA verifies in wide's handshake
    # store only: tolerated there (devprov then refuses it: the rogue CA
    # is no vendor's), a stock refusal in narrow's handshake
    res = s.curl("wide", "/env.cgi", "rogue-expired", tls=tls)
    assert res.status == 200, res
    assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
    assert "DEVICE_VERIFIED=0" in res.body
    assert "DEVICE_REASON=certificate not verified" in res.body
    expect_log(HANDSHAKE_FAIL_LOG)
    assert s.curl("narrow", "/env.cgi", "rogue-expired",
                  tls=tls).handshake_failed


@pytest.mark.parametrize("tls", ["-tls1_2", "-tls1_3"])
def test_stock_resumed_session_checked_with_its_own_vhost_ca(
        srv_stock_vhosts, tmp_path, tls):
    """A resumed session skips the handshake's verification: devprov
    checks the chain again, with the store of the vhost the session
    belongs to.  The phone's chain (its issuing CA, under a root that has
    expired) is only in vhost wide's SSLCACertificateFile; with vhost
    narrow's the chain would end at the phone's own certificate, which is
    valid: a plain SUCCESS."""
    s = srv_stock_vhosts
    sess = tmp_path / "sess.pem"
    port = s.port("wide")
    dev = "polycom-under-old-root"
    first = s_client_get(port, s.pki, dev, "/env.cgi", tls,
                         ["-sess_out", str(sess)], quiet=False)[1]
    assert "SSL_CLIENT_VERIFY=EXPIRED" in first, first
    again = s_client_get(port, s.pki, dev, "/env.cgi", tls,
                         ["-sess_in", str(sess)], quiet=False)[1]
    assert re.search(r"^Reused, ", again, re.M), again
    assert "SSL_CLIENT_VERIFY=EXPIRED" in again, again
    assert ("SSL_CLIENT_VERIFY_WAIVED=certificate has expired (depth 2)"
            in again), again


# -- the main server alone ----------------------------------------------

def main_only_body(srv, pki):
    port = srv.port("main")
    return (f"LoadModule status_module "
            f"/usr/lib/apache2/modules/mod_status.so\n"
            f"Listen 127.0.0.1:{port}\n"
            f"DocumentRoot {WWW}\n"
            "SSLEngine on\n"
            f"SSLCertificateFile {pki / 'server/server.pem'}\n"
            f"SSLCertificateKeyFile {pki / 'server/server.key'}\n"
            "SSLVerifyClient optional_no_ca\n"
            "SSLVerifyDepth 3\n"
            f"SSLCACertificateFile {pki / 'polycom/cafile.pem'}\n"
            "SSLOptions +StdEnvVars\n"
            "AddHandler cgi-script .cgi\n"
            "<Location /devprov-status>\n"
            "    SetHandler devprov-status\n"
            "    Require ip 127.0.0.1\n"
            "</Location>\n"
            + main_server(srv, pki))


def test_main_server_without_vhosts(workdir, pki):
    """DevprovEngine on in a main server that has no <VirtualHost>: it
    judges, counts (its own requests, the status fetch included) and, in
    stock mode, tolerates expired phones in its own handshake."""
    srv = Httpd(workdir, "srv_main_only", pki)
    srv.start(main_only_body(srv, pki))
    try:
        srv.mark()
        for _ in range(2):
            res = srv.curl("main", "/env.cgi", "polycom-expired")
            assert res.status == 200, res
            assert "DEVICE_VERIFIED=1" in res.body
            assert "DEVICE_CERT_VALIDITY=expired" in res.body
            assert "DEVICE_ALLOWLISTED=1" in res.body
            assert "SSL_CLIENT_VERIFY=EXPIRED" in res.body
        res = srv.curl("main", "/devprov-status?json")
        assert res.status == 200, res
        vhosts = json.loads(res.body)["vhosts"]
        assert len(vhosts) == 1, vhosts
        assert vhosts[0]["defined"] == "main server"
        c = vhosts[0]["counters"]
        # the fetch itself is counted before it answers
        assert c["requests"] == 3, c
        assert c["verified_expired"] == 2
        assert c["listed"] == 2
        assert c["reason_no_cert"] == 1
        if not SSL_PATCHED:
            log = srv.error_log.read_text()
            assert re.search(r"devprov: stock mod_ssl: .* tolerates "
                             r"expired", log), log
        check_log(srv)
    finally:
        srv.stop()


# -- DevprovAllowlistSQL: answers per database ---------------------------

def sqlite_db(path, rows):
    from test_sql import SCHEMA
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as c:
        c.execute(SCHEMA)
        c.executemany("INSERT INTO phones VALUES (?,?,?,?,?,?)", rows)
    path.chmod(0o644)
    return path


def allowlisted(res):
    """(DEVICE_ALLOWLISTED, DEVICE_LABEL) of an /env.cgi answer"""
    assert res.status == 200, res
    env = dict(line.split("=", 1) for line in res.body.splitlines()
               if "=" in line)
    return env.get("DEVICE_ALLOWLISTED"), env.get("DEVICE_LABEL")


def test_inherited_sql_allowlist_answers_from_each_vhosts_database(
        workdir, pki):
    """The main server's DevprovAllowlistSQL, inherited by three vhosts:
    one and three use the main server's database, two has DBDParams of its
    own.  Each is answered from its own database, also while another
    database's answer for the same MAC is cached (ttl=60); one and three,
    one database, share one cache."""
    from test_sql import QUERY
    a = sqlite_db(workdir / "sql_vhosts" / "a.db",
                  [("0004f2000002", "in-a", None, None, None, True)])
    b = sqlite_db(workdir / "sql_vhosts" / "b.db",
                  [("0004f2000001", "in-b", None, None, None, True)])
    srv = Httpd(workdir, "srv_sql_vhosts", pki)
    cgi = "AddHandler cgi-script .cgi\n"
    body = (ONE_PROCESS
            + f"LoadModule dbd_module /usr/lib/apache2/modules/mod_dbd.so\n"
            "LogLevel info ssl:info devprov:trace1\n"
            f"DBDriver sqlite3\nDBDParams {a}\n"
            "DevprovEngine on\n"
            f"DevprovTrust polycom {pki / 'polycom/cafile.pem'}\n"
            f"DevprovAllowlistSQL \"{QUERY}\" ttl=60 unlisted-ttl=60\n"
            + srv.tls_vhost("one", cgi)
            + srv.tls_vhost("two", cgi + f"DBDParams {b}\n")
            + srv.tls_vhost("three", cgi))
    srv.start(body)
    try:
        srv.mark()
        expired, valid = "polycom-expired", "polycom-valid"
        assert allowlisted(srv.curl("one", "/env.cgi", expired)) \
            == ("1", "in-a")
        # database b does not list it, whatever a said a moment ago
        assert allowlisted(srv.curl("two", "/env.cgi", expired)) \
            == ("0", None)
        assert allowlisted(srv.curl("two", "/env.cgi", valid)) \
            == ("1", "in-b")
        assert allowlisted(srv.curl("one", "/env.cgi", valid)) \
            == ("0", None)
        # three asks database a too: its answers come from the cache that
        # one filled
        pos = srv.error_log.stat().st_size
        assert allowlisted(srv.curl("three", "/env.cgi", expired)) \
            == ("1", "in-a")
        assert allowlisted(srv.curl("three", "/env.cgi", valid)) \
            == ("0", None)
        time.sleep(0.1)
        with open(srv.error_log, "rb") as f:
            f.seek(pos)
            log = f.read().decode(errors="replace")
        assert "devprov: allowlist cache: 0004f2000002 listed" in log, log
        assert "devprov: allowlist cache: 0004f2000001 not listed" in log
        assert "devprov: allowlist database:" not in log
        check_log(srv)
    finally:
        srv.stop()
