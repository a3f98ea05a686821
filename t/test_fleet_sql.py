"""DevprovFleetSQL: the fleet record in the database, shared by servers.

Two apache2 servers, one PostgreSQL: each serves other phones, and the
phone_seen table of conf/sql/schema.sql shows every phone once, with the
server that saw it last.  A recording statement that fails, or waits for a
locked table, never changes what the phone is answered, is logged once per
interval and holds nothing beyond its timeout."""
import re
import time

import pytest

from conftest import ROOT, Httpd, check_log
from test_devprov import trust
from test_sql import DBD, QUERY
from test_sql_stall import TableLock, pgdb, plain_vhost, timed  # noqa: F401

SCHEMA = (ROOT / "conf/sql/schema.sql").read_text()


def schema_table():
    return re.search(r"CREATE TABLE phone_seen \(.*?\n\);", SCHEMA,
                     re.S).group(0)


def schema_statement():
    """The upsert, as conf/sql/schema.sql documents it."""
    block = re.search(r"-- BEGIN DevprovFleetSQL\n(.*?)-- END DevprovFleetSQL",
                      SCHEMA, re.S).group(1)
    return " ".join(ln[3:].strip() for ln in block.splitlines())


@pytest.fixture(scope="module")
def fleetdb(pgdb):
    pgdb.pg.sql("DROP TABLE IF EXISTS phone_seen; " + schema_table()
                + "; GRANT SELECT, INSERT, UPDATE ON phone_seen TO devprov",
                db="provisioning")
    return pgdb


def seen(db):
    out = db.pg.sql("SELECT mac, server, writes, coalesce(last_refused, '-'),"
                    " identified_by, coalesce(vendor, '-'), validity,"
                    " not_after, last_status, user_agent, client "
                    "FROM phone_seen ORDER BY mac", db="provisioning")
    return {f[0]: f for f in (ln.split("|") for ln in out.splitlines())}


def fleet_server(workdir, pki, db, name, statement=None, args="timeout=1000"):
    srv = Httpd(workdir, name, pki)
    # one process: "once per interval" is per process
    body = ("ServerLimit 1\nMaxRequestWorkers 8\n" + DBD + srv.tls_vhost(
        "main",
        f"ServerName {name}\n"
        f"DBDriver pgsql\nDBDParams \"{db.params}\"\n"
        f"DevprovEngine on\n{trust(pki)}"
        f"DevprovAllowlistSQL \"{QUERY}\" ttl=0 unlisted-ttl=0\n"
        f"DevprovDeny unlisted\n"
        f"DevprovFleetSQL \"{statement or schema_statement()}\" {args}\n"
        "LogLevel devprov:trace1\n", cafile=None) + plain_vhost(srv))
    srv.start(body)
    return srv


def ua(device):
    return ["-A", f"phone/{device}"]


def test_two_servers_one_fleet_view(workdir, pki, fleetdb):
    a = fleet_server(workdir, pki, fleetdb, "prov-a")
    b = fleet_server(workdir, pki, fleetdb, "prov-b")
    try:
        a.mark()
        b.mark()
        # A: a listed phone (3 requests) and a disabled one (refused)
        for _ in range(3):
            assert a.curl("main", "/env.php", "polycom-expired",
                          extra=ua("expired")).status == 200
        for _ in range(2):
            assert a.curl("main", "/env.php", "polycom-valid").status == 403
        # B: a pinned phone and an unlisted one
        for _ in range(2):
            assert b.curl("main", "/env.php", "polycom-selfsigned").status \
                == 200
        assert b.curl("main", "/env.php", "polycom-unlisted").status == 403
        time.sleep(0.3)
        # the first phone moves to B (its record is due there)
        assert b.curl("main", "/env.php", "polycom-expired",
                      extra=ua("expired-b")).status == 200
        time.sleep(0.5)                 # log_transaction runs after the reply
        rows = seen(fleetdb)
        macs = {d: pki.mac(d) for d in ("polycom-expired", "polycom-valid",
                                        "polycom-selfsigned",
                                        "polycom-unlisted")}
        assert set(rows) == set(macs.values()), rows
        exp = rows[macs["polycom-expired"]]
        # once per server: A wrote it once (3 requests), then B
        assert exp[1] == "prov-b" and exp[2] == "2", exp
        assert exp[3] == "-" and exp[4] == "certificate", exp
        assert exp[5] == "polycom" and exp[6] == "expired", exp
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", exp[7]), exp
        assert exp[8] == "200" and exp[9] == "phone/expired-b", exp
        assert exp[10] == "127.0.0.1", exp
        val = rows[macs["polycom-valid"]]
        assert val[1] == "prov-a" and val[2] == "1", val
        assert val[3] == "unlisted" and val[8] == "403", val
        pin = rows[macs["polycom-selfsigned"]]
        assert pin[1] == "prov-b" and pin[2] == "1" and pin[4] == "pin", pin
        unl = rows[macs["polycom-unlisted"]]
        assert unl[1] == "prov-b" and unl[3] == "unlisted", unl
        for srv in (a, b):
            check_log(srv)
    finally:
        a.stop()
        b.stop()


def test_failing_statement_never_changes_the_verdict(workdir, pki, fleetdb):
    """A statement the database refuses (its table is missing): phones are
    answered as without DevprovFleetSQL, and the failure is logged once
    per interval however many phones come."""
    bad = schema_statement().replace("phone_seen", "phone_gone")
    srv = fleet_server(workdir, pki, fleetdb, "prov-bad", statement=bad)
    try:
        srv.mark()
        srv.expected += [r"DevprovFleetSQL .*not written"]
        for dev, status in (("polycom-expired", 200), ("polycom-valid", 403),
                            ("polycom-selfsigned", 200),
                            ("polycom-unlisted", 403),
                            ("polycom-expired", 200)):
            assert srv.curl("main", "/env.php", dev).status == status, dev
        time.sleep(0.3)
        lines = [ln for ln in srv.new_log().splitlines()
                 if "DevprovFleetSQL" in ln and "not written" in ln]
        assert len(lines) == 1, lines
        assert "phone_gone" in lines[0] and ":error]" in lines[0], lines
        check_log(srv)
    finally:
        srv.stop()


def test_stalled_statement_is_bounded(workdir, pki, fleetdb):
    """phone_seen locked by another session: the phones are answered as
    ever, the write gives up after timeout= and the server keeps serving."""
    srv = fleet_server(workdir, pki, fleetdb, "prov-stall")
    lock = None
    try:
        srv.mark()
        srv.expected += [r"DevprovFleetSQL .*not written"]
        lock = TableLock(fleetdb.pg, "phone_seen")
        t0 = time.monotonic()
        s, res = timed(srv.curl, "main", "/env.php", "polycom-expired")
        assert res.status == 200, res
        assert s < 1.0, s               # the reply does not wait for it
        # other phones meanwhile: answered, at most 2 writes wait at once
        for dev in ("polycom-selfsigned", "polycom-valid",
                    "polycom-unlisted"):
            s, res = timed(srv.curl, "main", "/env.php", dev)
            assert res.status in (200, 403) and s < 1.0, (dev, s, res)
        s, res = timed(srv.http, "plain", "/server-status")
        assert res.status == 200 and s < 1.0, (s, res)
        while time.monotonic() - t0 < 3.0 and "not written" not in \
                srv.new_log():
            time.sleep(0.05)
        waited = time.monotonic() - t0
        lock.release()
        log = srv.new_log()
        print(f"\nfleet write gave up after {waited:.2f} s (timeout=1000)")
        assert "statement timeout" in log, log
        assert waited < 1.0 + 1.0, waited
        check_log(srv)
    finally:
        if lock is not None:
            lock.release()
        srv.stop()


@pytest.mark.parametrize("args,message", [
    ('"INSERT INTO phone_seen (mac) VALUES (%s)"',
     "has 1 %s parameters: it takes exactly 10, in this order: mac, server"),
    ('"INSERT INTO t VALUES (%d)"', "'%d' in the statement"),
    ('"{stmt}" interval=0', "interval=0: use a number from 1 to 86400"),
    ('"{stmt}" every=5', "unknown option 'every=5'"),
])
def test_fleet_directive_errors(workdir, pki, args, message):
    srv = Httpd(workdir, "fleet_cfg", pki)
    args = args.replace("{stmt}", schema_statement())
    res = srv.configtest(DBD + srv.tls_vhost(
        "x", f"DevprovEngine on\n{trust(pki)}DevprovFleetSQL {args}\n",
        cafile=None))
    assert res.returncode != 0
    assert message in res.stderr and "DevprovFleetSQL" in res.stderr, \
        res.stderr


def test_fleet_needs_a_database(workdir, pki, fleetdb):
    """A server with DevprovFleetSQL but no DBDriver: every write would
    fail, so apache2 -t refuses it; pgsql DBDParams without
    connect_timeout get a warning."""
    srv = Httpd(workdir, "fleet_cfg_nodb", pki)
    res = srv.configtest(DBD + srv.tls_vhost(
        "x", f"DevprovEngine on\n{trust(pki)}"
        f"DevprovFleetSQL \"{schema_statement()}\"\n", cafile=None))
    assert res.returncode != 0
    assert re.search(r"DevprovFleetSQL \(.*httpd\.conf:\d+\): no DBDriver",
                     res.stderr), res.stderr
    params = fleetdb.params.replace(" connect_timeout=3", "")
    res = srv.configtest(DBD + srv.tls_vhost(
        "x", f"DBDriver pgsql\nDBDParams \"{params}\"\n"
        f"DevprovEngine on\n{trust(pki)}"
        f"DevprovFleetSQL \"{schema_statement()}\"\n", cafile=None))
    assert res.returncode == 0, res.stderr
    assert re.search(r"devprov: warning: .*DevprovFleetSQL .*no "
                     r"connect_timeout", res.stderr), res.stderr
