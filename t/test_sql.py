"""DevprovAllowlistSQL: the allowlist in a real database through mod_dbd.

The same behaviour is checked against SQLite (Debian's APR DBD driver) and a
real PostgreSQL server started for the run on 127.0.0.1, including a
database that stops and starts again while Apache keeps serving."""
import http.client
import re
import socket
import sqlite3
import ssl
import time

import pytest

from conftest import (MODDIR, Httpd, check_log, fingerprint)
from test_devprov import trust

DBD = f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n"

# The example schema of the README: MAC as DEVICE_MAC writes it.
SCHEMA = """CREATE TABLE phones (
    mac     CHAR(12) PRIMARY KEY,
    label   VARCHAR(128),
    pin     VARCHAR(71),
    vendor  VARCHAR(32),
    site    VARCHAR(128),
    allowed BOOLEAN NOT NULL DEFAULT TRUE
)"""
QUERY = "SELECT allowed, label, pin, vendor, site FROM phones WHERE mac = %s"


def rows(pki):
    return [
        # mac, label, pin, vendor, site, allowed
        ("0004f2000002", "expired-desk", None, None, "branch", True),
        ("0004f2000001", "disabled", None, None, None, False),
        ("0004f2000005", "builtin",
         "sha256:" + fingerprint(pki, "polycom-selfsigned"), None, None,
         True),
        ("0004f2000006", "bad label", None, None, None, True),
        ("0004f2000004", "yealink-only", None, "yealink", None, True),
    ]


class SqliteDb:
    driver = "sqlite3"

    def __init__(self, path, pki):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o755)
        with sqlite3.connect(path) as c:
            c.execute(SCHEMA)
            c.executemany("INSERT INTO phones VALUES (?,?,?,?,?,?)", rows(pki))
        path.chmod(0o644)

    params = property(lambda self: str(self.path))

    def execute(self, sql, args=()):
        with sqlite3.connect(self.path) as c:
            c.execute(sql.replace("%s", "?"), args)


class PgDb:
    driver = "pgsql"

    def __init__(self, pg, pki):
        self.pg = pg
        pg.sql("CREATE DATABASE provisioning")
        pg.sql("CREATE ROLE devprov LOGIN PASSWORD 'phones-ro'; " + SCHEMA
               + "; GRANT SELECT ON phones TO devprov", db="provisioning")
        for r in rows(pki):
            self.execute("INSERT INTO phones VALUES (%s,%s,%s,%s,%s,%s)", r)

    @property
    def params(self):
        # a read-only role, as the README recommends
        return (f"host=127.0.0.1 port={self.pg.port} dbname=provisioning "
                "user=devprov password=phones-ro connect_timeout=3")

    def execute(self, sql, args=()):
        def lit(v):
            if v is None:
                return "NULL"
            if isinstance(v, bool):
                return "TRUE" if v else "FALSE"
            return "'" + str(v).replace("'", "''") + "'"
        self.pg.sql(sql % tuple(lit(a) for a in args), db="provisioning")


def vhost(srv, pki, name, db, sql_args="ttl=2 unlisted-ttl=1",
          deny="unlisted", params=None):
    return srv.tls_vhost(
        name,
        f"DBDriver {db.driver}\nDBDParams \"{params or db.params}\"\n"
        f"DevprovEngine on\n{trust(pki)}"
        f"DevprovTrust yealink {pki / 'yealink/root.pem'}\n"
        f"DevprovAllowlistSQL \"{QUERY}\" {sql_args}\n"
        f"DevprovDeny {deny}\nLogLevel devprov:trace1\n",
        cafile=None)


@pytest.fixture(scope="module", params=["sqlite", "pgsql"])
def db(request, workdir, pki):
    if request.param == "sqlite":
        return SqliteDb(workdir / "sql" / "phones.db", pki)
    return PgDb(request.getfixturevalue("postgres"), pki)


@pytest.fixture(scope="module")
def srv_sql(db, workdir, pki):
    srv = Httpd(workdir, f"srv_sql_{db.driver}", pki)
    body = DBD + vhost(srv, pki, "main", db)
    srv.start(body)
    yield srv
    srv.stop()


def env(res):
    assert res.status == 200, res
    return res.json


# -- the database answers ----------------------------------------------------

def test_listed_phone_gets_its_row(srv_sql):
    e = env(srv_sql.curl("main", "/env.php", "polycom-expired"))
    assert e["DEVICE_MAC"] == "0004f2000002"
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_CERT_EXPIRED"] == "1"
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert e["DEVICE_LABEL"] == "expired-desk"
    assert e["DEVICE_ATTR_SITE"] == "branch"
    # NULL columns and the allowed column are not attributes
    assert "DEVICE_ATTR_PIN" not in e and "DEVICE_ATTR_VENDOR" not in e
    assert "DEVICE_ATTR_ALLOWED" not in e


@pytest.mark.parametrize("device,reason", [
    ("polycom-valid", "not in allowlist"),          # allowed = false
    ("polycom-unlisted", "not in allowlist"),       # no row
    ("polycom-under-expired-ca", "allowlisted for vendor yealink"),
])
def test_refused_phones(srv_sql, device, reason):
    srv_sql.mark()
    assert srv_sql.curl("main", "/env.php", device).status == 403
    time.sleep(0.1)
    denials = [ln for ln in srv_sql.new_log().splitlines()
               if "devprov: refused" in ln]
    assert len(denials) == 1 and reason in denials[0], denials


def test_row_vendor_unknown_logged_per_fetch(srv_sql, db, expect_log):
    """A row whose vendor names no configured vendor (a typo) binds the
    phone to nobody: refused, and the log says so once per database fetch,
    not on the cache hits that follow (ttl=2)."""
    line = (r"DevprovAllowlistSQL \(.*\): the row for 0004f2999999 has "
            r"vendor=polycon, which names no configured vendor \(configured: "
            r"polycom, yealink\)")
    db.execute("INSERT INTO phones (mac, label, vendor) VALUES (%s, %s, %s)",
               ("0004f2999999", "typo", "polycon"))
    time.sleep(1.1)         # an earlier "not listed" (unlisted-ttl=1) expires
    srv_sql.mark()
    expect_log([line])
    try:
        for _ in range(3):
            assert srv_sql.curl("main", "/env.php",
                                "polycom-unlisted").status == 403
        time.sleep(0.1)
        assert len(re.findall(line, srv_sql.new_log())) == 1
    finally:
        db.execute("DELETE FROM phones WHERE mac = %s", ("0004f2999999",))
        time.sleep(2.1)                 # the cached answer expires


def test_invalid_row_is_refused_and_named(srv_sql, expect_log):
    """A row breaking the allowlist rules (a blank in the label) lists
    nobody, and the log names the MAC and the rule."""
    expect_log([r"the row for 0004f2000006: label: character 0x20"])
    assert srv_sql.curl("main", "/env.php", "polycom-lowercase").status == 403


def test_pinned_self_signed_phone(srv_sql):
    e = env(srv_sql.curl("main", "/env.php", "polycom-selfsigned"))
    assert e["DEVICE_MAC"] == "0004f2000005"
    assert e["DEVICE_PINNED"] == "1"
    assert "DEVICE_VENDOR" not in e


def test_answers_are_cached_per_process(srv_sql, db):
    """The second connection within the TTL is answered from the cache,
    without a query."""
    db.execute("INSERT INTO phones (mac, label) VALUES (%s, %s)",
               ("0004f2000012", "cache-me"))
    time.sleep(1.2)                     # past unlisted-ttl
    srv_sql.mark()
    for _ in range(3):
        assert env(srv_sql.curl("main", "/env.php", "polycom-generic"))[
            "DEVICE_LABEL"] == "cache-me"
    time.sleep(0.1)
    log = srv_sql.new_log()
    asked = log.count("allowlist database: 0004f2000012 listed")
    cached = log.count("allowlist cache: 0004f2000012 listed")
    # one child process here; another could ask once more
    assert 1 <= asked <= 2 and asked + cached == 3, log


def test_changes_take_effect_within_the_ttl(srv_sql, db):
    """A phone added is let in after unlisted-ttl, one disabled is shut
    out after ttl, also on a connection kept alive across the change."""
    db.execute("DELETE FROM phones WHERE mac = %s", ("0004f2000012",))
    time.sleep(2.2)
    assert srv_sql.curl("main", "/env.php", "polycom-generic").status == 403
    db.execute("INSERT INTO phones (mac, label) VALUES (%s, %s)",
               ("0004f2000012", "added"))
    time.sleep(1.2)
    conn = keepalive(srv_sql, "main", "polycom-generic")
    assert get(conn, "/env.php")[0] == 200
    db.execute("UPDATE phones SET allowed = %s WHERE mac = %s",
               (False, "0004f2000012"))
    time.sleep(2.2)
    status, _ = get(conn, "/env.php")   # same TLS connection
    assert status == 403
    conn.close()


def keepalive(srv, port_name, device):
    ctx = ssl.create_default_context(cafile=str(srv.pki / "server/ca.pem"))
    ctx.load_cert_chain(str(srv.pki.cert(device)), str(srv.pki.key(device)))
    conn = http.client.HTTPSConnection("localhost", srv.port(port_name),
                                       context=ctx, timeout=20)
    conn.sock = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", srv.port(port_name)), 20),
        server_hostname="localhost")
    return conn


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


# -- the database cannot answer -----------------------------------------------

def test_unreachable_database_answers_503_and_logs_once(workdir, pki):
    """Phones are told to come back later (503), not refused as unlisted;
    devprov says so once however many phones ask; unavailable=continue
    lets the application decide instead."""
    srv = Httpd(workdir, "srv_sql_down", pki)
    gone = SqliteDbParams(workdir / "no-such-dir" / "phones.db")
    body = (DBD + vhost(srv, pki, "down", gone)
            + vhost(srv, pki, "cont", gone, deny="unverified",
                    sql_args="unavailable=continue")
            + vhost(srv, pki, "busy", gone, sql_args="unavailable=429"))
    srv.start(body)
    try:
        srv.mark()
        for dev in ("polycom-expired", "polycom-valid", "polycom-expired"):
            res = srv.curl("down", "/env.php", dev)
            assert res.status == 503, res
        assert srv.curl("busy", "/env.php", "polycom-valid").status == 429
        e = env(srv.curl("cont", "/env.php", "polycom-expired"))
        assert e["DEVICE_VERIFIED"] == "1"
        assert "DEVICE_ALLOWLISTED" not in e
        assert e["DEVICE_REASON"] == "the allowlist database did not answer"
        # a client without a certificate needs no answer: still 403
        assert srv.curl("down", "/env.php").status == 403
        # nor does a certificate from an unknown CA (only self-signed
        # ones can be pinned)
        assert srv.curl("down", "/env.php", "rogue-polycom").status == 403
        # a self-signed one naming a MAC might be pinned in the database:
        # without an answer it is not refused as unlisted either
        assert srv.curl("down", "/env.php",
                        "polycom-selfsigned").status == 503
        time.sleep(0.2)
        log = srv.new_log()
        mine = [ln for ln in log.splitlines()
                if "DevprovAllowlistSQL" in ln and "cannot answer" in ln]
        # one line per vhost (each has its own query), not per request
        assert len(mine) == 3, mine
        assert all(":error]" in ln for ln in mine)
        srv.expected += [r"DevprovAllowlistSQL .*cannot answer",
                         r"dbd", r"AH0063[0-9]", r"AH00629"]
        check_log(srv)
    finally:
        srv.stop()


class SqliteDbParams:
    driver = "sqlite3"

    def __init__(self, path):
        self.params = str(path)


def test_postgres_stops_and_starts_mid_run(workdir, pki, postgres):
    """The database goes away while Apache serves: phones with a cached
    answer keep working until it expires, others get 503, devprov logs it
    once; when the database is back every pooled connection heals by
    itself and devprov says so once."""
    db = PgDb.__new__(PgDb)
    db.pg = postgres
    postgres.sql("SELECT 1")
    if postgres.sql("SELECT 1 FROM pg_database WHERE datname = "
                    "'provisioning'").strip() != "1":
        PgDb.__init__(db, postgres, pki)
    srv = Httpd(workdir, "srv_sql_pgrestart", pki)
    srv.start(DBD + vhost(srv, pki, "main", db, sql_args="ttl=3"))
    try:
        srv.mark()
        # warm: several pooled connections hold prepared statements
        for _ in range(4):
            assert srv.curl("main", "/env.php", "polycom-expired").status \
                == 200
        postgres.stop()
        # within its TTL the cached answer still serves the known phone
        assert srv.curl("main", "/env.php", "polycom-expired").status == 200
        # a phone never seen: 503, never 403 and never 200
        for _ in range(3):
            assert srv.curl("main", "/env.php",
                            "polycom-selfsigned").status == 503
        time.sleep(3.2)                 # the cached answer expires
        assert srv.curl("main", "/env.php", "polycom-expired").status == 503
        postgres.start()
        # back: the first request after the restart already works
        for dev in ("polycom-expired", "polycom-selfsigned",
                    "polycom-expired", "polycom-selfsigned"):
            res = srv.curl("main", "/env.php", dev)
            assert res.status == 200, (res, srv.new_log())
        assert srv.curl("main", "/env.php", "polycom-valid").status == 403
        # a restart while Apache is idle: the pooled connections are dead
        # or, once mod_dbd reconnects them, lack the prepared query; the
        # very next phone is served all the same
        postgres.stop()
        postgres.start()
        res = srv.curl("main", "/env.php", "polycom-unlisted")
        assert res.status == 403 and "DEVICE_" not in res.body, res
        assert srv.curl("main", "/env.php", "polycom-selfsigned").status \
            == 200
        time.sleep(0.2)
        log = srv.new_log()
        down = [ln for ln in log.splitlines() if "cannot answer" in ln]
        up = [ln for ln in log.splitlines() if "answers again" in ln]
        assert len(down) == 1, down
        assert len(up) == 1 and ":notice]" in up[0], up
        srv.expected += [r"DevprovAllowlistSQL .*cannot answer",
                         r"AH00629|AH00632|AH00633|AH00639|AH02655",
                         r"dbd", r"pgsql", r"PQ"]
        check_log(srv)
    finally:
        srv.stop()
        if not postgres.running():
            postgres.start()


# -- configuration errors -----------------------------------------------------

@pytest.mark.parametrize("directive,message", [
    (f'DevprovAllowlistSQL "{QUERY}"',
     "mod_dbd is not loaded"),
])
def test_sql_needs_mod_dbd(workdir, pki, directive, message):
    srv = Httpd(workdir, "sql_cfg_nodbd", pki)
    res = srv.configtest(srv.tls_vhost(
        "x", f"DevprovEngine on\n{trust(pki)}{directive}\n", cafile=None))
    assert res.returncode != 0
    assert message in res.stderr and "DevprovAllowlistSQL" in res.stderr
    assert "httpd.conf" in res.stderr


@pytest.mark.parametrize("args,message", [
    ('"SELECT label FROM phones"', "needs exactly one, for the MAC"),
    ('"SELECT label FROM phones WHERE mac = %s OR mac = %s"',
     "has 2 %s parameters"),
    ('"SELECT label FROM phones WHERE mac = %d"', "'%d' in the query"),
    (f'"{QUERY}" ttl=soon', "ttl=soon: use a number from 0 to 86400"),
    (f'"{QUERY}" entries=0', "entries=0"),
    (f'"{QUERY}" unavailable=200', "unavailable=200: use an HTTP status"),
    (f'"{QUERY}" unavailable=599', "unavailable=599: use an HTTP status"),
    (f'"{QUERY}" cache=on', "unknown option 'cache=on'"),
])
def test_sql_directive_errors(workdir, pki, args, message):
    srv = Httpd(workdir, "sql_cfg", pki)
    res = srv.configtest(DBD + srv.tls_vhost(
        "x", f"DevprovEngine on\n{trust(pki)}DevprovAllowlistSQL {args}\n",
        cafile=None))
    assert res.returncode != 0
    assert message in res.stderr, res.stderr
    assert "DevprovAllowlistSQL" in res.stderr


def test_file_and_database_lists_exclude_each_other(workdir, pki):
    srv = Httpd(workdir, "sql_cfg_both", pki)
    allow = srv.dir / "allow"
    allow.write_text("0004f2000001\n")
    res = srv.configtest(DBD + srv.tls_vhost(
        "x", f"DevprovEngine on\n{trust(pki)}DevprovAllowlist {allow}\n"
        f'DevprovAllowlistSQL "{QUERY}"\n', cafile=None))
    assert res.returncode != 0
    assert re.search(r"already has DevprovAllowlist .*use one or the other",
                     res.stderr), res.stderr


def test_vhost_database_list_overrides_main_file_list(workdir, pki):
    """The nearer allowlist wins: a vhost with DevprovAllowlistSQL does not
    also consult the main server's file, and DevprovDeny unlisted is
    satisfied by either."""
    srv = Httpd(workdir, "sql_cfg_merge", pki)
    allow = srv.dir / "allow"
    allow.write_text("0004f2000002 from-file\n")
    allow.chmod(0o644)
    db = SqliteDb(workdir / "sql-merge" / "phones.db", pki)
    db.execute("UPDATE phones SET label = %s WHERE mac = %s",
               ("from-db", "0004f2000002"))
    body = (DBD + f"DevprovAllowlist {allow}\n"
            + vhost(srv, pki, "db", db)
            + srv.tls_vhost("file", f"DevprovEngine on\n{trust(pki)}"
                            "DevprovDeny unlisted\n", cafile=None))
    srv.start(body)
    try:
        assert env(srv.curl("db", "/env.php", "polycom-expired"))[
            "DEVICE_LABEL"] == "from-db"
        assert env(srv.curl("file", "/env.php", "polycom-expired"))[
            "DEVICE_LABEL"] == "from-file"
    finally:
        srv.stop()
