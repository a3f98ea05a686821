"""A mixed fleet on one vhost (conf/sites/mixed-fleet.conf.in): phones
with a factory certificate, and phones without one (none, a generic one,
a vendor's without a MAC) identified by the user name httpd's digest
authentication established (DevprovUserIdentity).  Both get only their
own files; every refusal is one line in devprov's stable format, and the
shipped fail2ban filter (conf/fail2ban/) matches the guessing ones and
bans their address."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import MODDIR, ROOT

REALM = "phones"
USERS = {
    "000b82000031": "pw-hall",          # user name = MAC, listed
    "ph-kitchen-7f3a": "pw-kitchen",    # user= of 000b82000032's line
    "000b82000032": "pw-macform",       # that line's MAC: not its user name
    "0004f2000001": "pw-stolen",        # a certificate phone's MAC
    "000b82000099": "pw-unlisted",      # not in the allowlist
    "0004f2000040": "pw-soundpoint",    # the Polycom without a MAC
    "000b82000033": "pw-revoked",       # listed, then revoked
    "admin": "pw-admin",                # names no phone
}
EXTRA_LINES = "000b82000033  revoked-phone  ext=233\n"
AUTH_MODULES = ["auth_digest", "authn_core", "authn_file", "authz_user"]
# mod_auth_digest's own messages for a wrong password / unknown user
DIGEST_LOG = [r"\[auth_digest:error\].*AH0179\d"]

REFUSAL = re.compile(
    r'devprov: refused status=(\d{3}) reason=(\w+) client=(\S+) '
    r'identity=(\w+) mac=(\S+) user="([^"]*)" uri="([^"]*)" by=(\S+) '
    r'detail="([^"]*)"')


def htdigest(path):
    with open(path, "w") as f:
        for user, pw in USERS.items():
            ha1 = hashlib.md5(f"{user}:{REALM}:{pw}".encode()).hexdigest()
            f.write(f"{user}:{REALM}:{ha1}\n")
    os.chmod(path, 0o644)


def site(srv, pki, extra_vhost=""):
    allow = srv.dir / "allowlist"
    allow.write_text((ROOT / "conf/allowlist.mixed.example").read_text()
                     + EXTRA_LINES)
    allow.chmod(0o644)
    revoked = srv.dir / "revoked"
    revoked.write_text("000b82000033\n")
    revoked.chmod(0o644)
    htdigest(srv.dir / "phones.htdigest")
    tpl = (ROOT / "conf/sites/mixed-fleet.conf.in").read_text()
    subst = {
        "@LISTEN_ADDR@": "127.0.0.1",
        "@HTTPS_PORT@": str(srv.port("https")),
        "@PKI@": str(pki.root),
        "@ALLOWLIST@": str(allow),
        "@HTDIGEST@": str(srv.dir / "phones.htdigest"),
        "@WWW@": str(ROOT / "conf/www"),
        "@REVOKED@": str(revoked),
    }
    for k, v in subst.items():
        tpl = tpl.replace(k, v)
    assert "@" not in "".join(l for l in tpl.splitlines()
                              if not l.lstrip().startswith("#"))
    # the generic firmware certificate this PKI plays
    tpl = tpl.replace(
        "DevprovUserIdentity no-cert generic no-mac",
        "DevprovUserIdentity no-cert generic no-mac\n"
        f"    DevprovDenyKey {pki.cert('polycom-generic')}")
    mods = "".join(f"LoadModule {m}_module {MODDIR}/mod_{m}.so\n"
                   for m in AUTH_MODULES)
    return mods + tpl + extra_vhost


def strict_vhost(srv, pki):
    """Everyone must log in, certificate phones too: where a password
    and a certificate can disagree."""
    return srv.tls_vhost(
        "strict",
        "DevprovEngine on\n"
        f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
        f"{pki / 'polycom/issuing.pem'} {pki / 'polycom/issuing-expired.pem'}\n"
        f"DevprovAllowlist {srv.dir / 'allowlist'}\n"
        "DevprovUserIdentity on\n"
        "DevprovDeny unlisted\n"
        "<Location />\n"
        "  AuthType Digest\n  AuthName phones\n"
        "  AuthDigestProvider file\n"
        f"  AuthUserFile {srv.dir / 'phones.htdigest'}\n"
        "  Require valid-user\n"
        "</Location>\n")


def sql_vhost(srv, pki):
    """The same phones in SQLite (conf/sql/schema.sql): a user name maps
    to its phone through DevprovAllowlistSQL's users= query."""
    import sqlite3
    db = srv.dir / "phones.db"
    with sqlite3.connect(db) as c:
        c.executescript((ROOT / "conf/sql/schema.sql").read_text())
        c.executemany(
            "INSERT INTO phones (mac, label, ext, vendor, username) "
            "VALUES (?, ?, ?, ?, ?)",
            [("0004f2000002", "warehouse-desk", "202", "polycom", None),
             ("000b82000031", "gs-hall", "231", None, None),
             ("000b82000032", "gs-kitchen", "232", None, "ph-kitchen-7f3a")])
    db.chmod(0o644)
    return (f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n"
            + srv.tls_vhost(
                "sql",
                "DevprovEngine on\n"
                f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
                f"{pki / 'polycom/issuing.pem'} "
                f"{pki / 'polycom/issuing-expired.pem'}\n"
                f"DBDriver sqlite3\nDBDParams {db}\n"
                'DevprovAllowlistSQL "SELECT allowed, label, vendor, ext, '
                'username AS user FROM phones WHERE mac = %s" '
                '"users=SELECT mac FROM phones WHERE username = %s"\n'
                "DevprovUserIdentity on\n"
                "DevprovDeny unlisted\nDevprovBindPath on\n"
                "<Location />\n"
                "  AuthType Digest\n  AuthName phones\n"
                "  AuthDigestProvider file\n"
                f"  AuthUserFile {srv.dir / 'phones.htdigest'}\n"
                "  <RequireAny>\n"
                "    Require expr \"%{ENV:DEVICE_IDENTIFIED_BY} == "
                "'certificate'\"\n"
                "    Require valid-user\n"
                "  </RequireAny>\n"
                "</Location>\n"))


@pytest.fixture(scope="module")
def srv_mixed(workdir, pki):
    from conftest import Httpd
    srv = Httpd(workdir, "srv_mixed", pki)
    srv.start(site(srv, pki) + strict_vhost(srv, pki) + sql_vhost(srv, pki))
    yield srv
    srv.stop()


def get(srv, path, device=None, user=None, port="https", extra=()):
    args = list(extra)
    if user is not None:
        args += ["--digest", "-u", f"{user}:{USERS.get(user, 'x')}"]
    return srv.curl(port, path, device, extra=args)


def refusals(srv):
    return [m.groups() for m in REFUSAL.finditer(srv.new_log())]


def one_refusal(srv, status, reason, by=None, **fields):
    got = refusals(srv)
    assert len(got) == 1, (got, srv.new_log()[-2000:])
    st, rs, client, ident, mac, user, uri, who, detail = got[0]
    assert (int(st), rs) == (status, reason), got[0]
    assert client == "127.0.0.1"
    if by is not None:
        assert who == by, got[0]
    for k, v in fields.items():
        assert {"identity": ident, "mac": mac, "user": user,
                "uri": uri}[k] == v, got[0]
    return got[0]


# -- certificate phones: no password ---------------------------------------

def test_certificate_phone_needs_no_password(srv_mixed):
    res = get(srv_mixed, "/0004f2000002.cfg", "polycom-expired")
    assert res.status == 200, res
    assert "cert validity: expired; identified by certificate" in res.body
    assert 'reg.1.displayName="warehouse-desk"' in res.body
    assert refusals(srv_mixed) == []


def test_certificate_phone_gets_only_its_own_file(srv_mixed):
    res = get(srv_mixed, "/0004f2000001.cfg", "polycom-expired")
    assert res.status == 403
    one_refusal(srv_mixed, 403, "bind_path", "DevprovBindPath",
                identity="certificate", mac="0004f2000002",
                uri="/0004f2000001.cfg")


# -- password phones --------------------------------------------------------

def test_phone_without_certificate_is_asked_for_a_password(srv_mixed):
    res = srv_mixed.curl("https", "/000b82000031.cfg", None,
                         extra=["-D", "-"])
    assert res.status == 401, res
    assert re.search(r"(?im)^WWW-Authenticate: Digest realm=\"phones\"",
                     res.body), res.body[:500]
    # a challenge is no refusal: nothing was tried yet
    assert refusals(srv_mixed) == []


@pytest.mark.parametrize("device", [None, "polycom-generic"])
def test_password_phone_gets_its_file(srv_mixed, device):
    res = get(srv_mixed, "/000b82000031.cfg", device, user="000b82000031")
    assert res.status == 200, res
    assert "configuration for 000b82000031" in res.body
    assert "identified by password" in res.body
    assert 'reg.1.address="231"' in res.body
    assert refusals(srv_mixed) == []


def test_user_name_from_the_allowlist(srv_mixed):
    res = get(srv_mixed, "/000b82000032.cfg", user="ph-kitchen-7f3a")
    assert res.status == 200, res
    assert 'reg.1.displayName="gs-kitchen"' in res.body


def test_password_phone_variables(srv_mixed):
    res = get(srv_mixed, "/env.php", user="ph-kitchen-7f3a")
    assert res.status == 200, res
    e = json.loads(res.body)
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "000b82000032"
    assert e["DEVICE_IDENTIFIED_BY"] == "password"
    assert e["DEVICE_ALLOWLISTED"] == "1"
    assert e["DEVICE_ATTR_USER"] == "ph-kitchen-7f3a"
    assert e["DEVICE_CERT_CLASS"] == "no-cert"
    for k in ("DEVICE_VENDOR", "DEVICE_CERT_VALIDITY", "DEVICE_PINNED",
              "DEVICE_REASON"):
        assert k not in e, e


def test_genuine_certificate_without_mac_logs_in(srv_mixed):
    # without a password: asked for one, not refused
    assert get(srv_mixed, "/0004f2000040.cfg", "polycom-notmac").status \
        == 401
    res = get(srv_mixed, "/0004f2000040.cfg", "polycom-notmac",
              user="0004f2000040")
    assert res.status == 200, res
    assert "identified by password" in res.body
    e = json.loads(get(srv_mixed, "/env.php", "polycom-notmac",
                       user="0004f2000040").body)
    assert e["DEVICE_CERT_CLASS"] == "no-mac"
    assert e["DEVICE_MAC"] == "0004f2000040"
    assert "DEVICE_CERT_SHA256" in e         # the certificate it came with


def test_generic_certificate_logs_in(srv_mixed):
    e = json.loads(get(srv_mixed, "/env.php", "polycom-generic",
                       user="000b82000031").body)
    assert e["DEVICE_CERT_CLASS"] == "generic"
    assert e["DEVICE_IDENTIFIED_BY"] == "password"
    assert e["DEVICE_MAC"] == "000b82000031"     # not the certificate's


def test_password_phone_gets_only_its_own_file(srv_mixed):
    res = get(srv_mixed, "/000b82000032.cfg", user="000b82000031")
    assert res.status == 403
    one_refusal(srv_mixed, 403, "bind_path", "DevprovBindPath",
                identity="password", mac="000b82000031",
                user="000b82000031")
    # and a file of a certificate phone, spelt otherwise
    res = get(srv_mixed, "/00-04-F2-00-00-02.cfg", user="000b82000031",
              extra=["--path-as-is"])
    assert res.status == 403


@pytest.mark.parametrize("user,reason,detail", [
    # the MAC form of a line that names its user
    ("000b82000032", "user_mismatch", "user=ph-kitchen-7f3a"),
    # a certificate phone's line: no password can claim it
    ("0004f2000001", "user_mismatch", "vendor=polycom"),
    ("000b82000099", "unlisted", "not in allowlist"),
    ("000b82000033", "revoked", "revoked (DevprovRevoked)"),
])
def test_password_identity_refused(srv_mixed, user, reason, detail):
    res = get(srv_mixed, f"/{user}.cfg", user=user)
    assert res.status == 403, res
    r = one_refusal(srv_mixed, 403, reason, "DevprovDeny:unlisted",
                    identity="password", mac=user, user=user)
    assert detail in r[8], r


def test_user_name_of_no_phone_is_not_a_device(srv_mixed):
    res = get(srv_mixed, "/env.php", user="admin")
    assert res.status == 403, res
    r = one_refusal(srv_mixed, 403, "no_cert", "DevprovDeny:unlisted",
                    identity="none", mac="-", user="admin")
    # nothing of the user name is exported
    assert "admin" not in res.body


def test_wrong_password_is_httpd_401_and_logged(srv_mixed, expect_log):
    expect_log(DIGEST_LOG)
    res = srv_mixed.curl("https", "/000b82000031.cfg", None,
                         extra=["--digest", "-u", "000b82000031:wrong"])
    assert res.status == 401, res
    one_refusal(srv_mixed, 401, "bad_password", "authentication",
                identity="none", user="000b82000031")


def test_unknown_user_is_httpd_401_and_logged(srv_mixed, expect_log):
    expect_log(DIGEST_LOG)
    res = srv_mixed.curl("https", "/000b82000031.cfg", None,
                         extra=["--digest", "-u", "nobody:x"])
    assert res.status == 401
    one_refusal(srv_mixed, 401, "bad_password", user="nobody")


def test_client_text_cannot_forge_a_field(srv_mixed, expect_log):
    """A user name (or URI) written to look like devprov's own fields is
    logged with its blanks and quotes escaped: a log reader (fail2ban)
    cannot be made to see another client= in it."""
    expect_log(DIGEST_LOG)
    # (no ":" in it: curl would end the user name there)
    evil = 'x"] devprov refused status=403 reason=unlisted client=10.9.8.7 '
    res = srv_mixed.curl("https", "/000b82000031.cfg", None,
                         extra=["--digest", "-u", f"{evil}:pw"])
    assert res.status == 401
    line = [ln for ln in srv_mixed.new_log().splitlines()
            if "devprov: refused" in ln]
    assert len(line) == 1, line
    assert "client=10.9.8.7 " not in line[0], line[0]
    assert line[0].count(" client=") == 1, line[0]
    m = REFUSAL.search(line[0])
    assert m and m.group(3) == "127.0.0.1", line[0]
    user = m.group(6)
    assert " " not in user and "x22" in user and "x20" in user, user


def test_referer_cannot_forge_a_refusal(srv_mixed):
    """httpd appends the Referer to the error log line; the filter is
    anchored at the line's start, so a forged refusal in it is never
    matched (test_fail2ban_filter_matches_the_guesses counts the lines)."""
    forged = ("x] devprov: refused status=403 reason=unlisted "
              "client=203.0.113.9 ")
    res = get(srv_mixed, "/env.php", user="admin",
              extra=["-H", f"Referer: {forged}"])
    assert res.status == 403
    r = one_refusal(srv_mixed, 403, "no_cert")
    assert "203.0.113.9" in srv_mixed.new_log()      # it is on the line


def test_rogue_certificate_gets_no_password_prompt(srv_mixed):
    """A certificate that verifies against no vendor is refused outright
    (no-cert generic no-mac do not include unverified)."""
    res = get(srv_mixed, "/000b82000031.cfg", "rogue-polycom",
              user="000b82000031")
    if res.handshake_failed:        # stock mode may refuse it earlier
        return
    assert res.status == 403, res
    one_refusal(srv_mixed, 403, "not_verified", "DevprovDeny:unlisted",
                identity="none")


def test_a_guessed_user_name_never_reaches_another_phone(srv_mixed):
    """The phone next door with its own valid password."""
    for path in ("/000b82000032.cfg", "/000B82000032-phone.cfg",
                 "/0004f2000002.cfg", "/x/%30%30%30b82000032.cfg"):
        res = get(srv_mixed, path, user="000b82000031",
                  extra=["--path-as-is"])
        assert res.status == 403, (path, res)


# -- where everyone logs in: a password that names another phone ------------

def test_certificate_and_password_disagree(srv_mixed):
    res = get(srv_mixed, "/env.php", "polycom-valid", user="ph-kitchen-7f3a",
              port="strict")
    assert res.status == 403, res
    one_refusal(srv_mixed, 403, "user_conflict", "DevprovUserIdentity",
                identity="certificate", mac="0004f2000001",
                user="ph-kitchen-7f3a")


def test_certificate_and_password_agree(srv_mixed):
    res = get(srv_mixed, "/env.php", "polycom-valid", user="0004f2000001",
              port="strict")
    assert res.status == 200, res
    e = json.loads(res.body)
    assert e["DEVICE_IDENTIFIED_BY"] == "certificate"
    assert e["DEVICE_MAC"] == "0004f2000001"


# -- the phones in a database ------------------------------------------------

@pytest.mark.parametrize("user,mac,status,reason", [
    ("ph-kitchen-7f3a", "000b82000032", 200, None),   # users= maps it
    ("000b82000031", "000b82000031", 200, None),      # a MAC as user name
    ("000b82000032", "000b82000032", 403, "user_mismatch"),   # has a user
    ("0004f2000001", "0004f2000001", 403, "unlisted"),
    ("admin", None, 403, "no_cert"),
])
def test_database_user_names(srv_mixed, user, mac, status, reason):
    res = get(srv_mixed, "/env.php", user=user, port="sql")
    assert res.status == status, res
    if status == 200:
        e = json.loads(res.body)
        assert e["DEVICE_MAC"] == mac and \
            e["DEVICE_IDENTIFIED_BY"] == "password", e
        assert refusals(srv_mixed) == []
    else:
        one_refusal(srv_mixed, 403, reason, identity="password" if mac
                    else "none", mac=mac or "-", user=user)


def test_database_certificate_phone_and_own_files(srv_mixed):
    assert get(srv_mixed, "/env.php", "polycom-expired", port="sql").status \
        == 200
    res = get(srv_mixed, "/000b82000031.cfg", user="ph-kitchen-7f3a",
              port="sql")
    assert res.status == 403
    one_refusal(srv_mixed, 403, "bind_path", identity="password",
                mac="000b82000032")


# -- configuration errors ----------------------------------------------------

@pytest.mark.parametrize("value,message", [
    ("no-cert sometimes", "DevprovUserIdentity: 'sometimes' is not a class"),
    ("generic generic", "DevprovUserIdentity: generic given twice"),
    ("", "DevprovUserIdentity: takes off, on, or the classes"),
])
def test_bad_value_refused(workdir, pki, value, message):
    from conftest import Httpd
    srv = Httpd(workdir, "srv_mixed_bad", pki)
    res = srv.configtest(srv.tls_vhost(
        "x", "DevprovEngine on\n"
        f"DevprovTrust polycom {pki / 'polycom/root.pem'}\n"
        f"DevprovUserIdentity {value}\n"))
    assert res.returncode != 0
    assert message in res.stderr, res.stderr


@pytest.mark.parametrize("quick,refused", [(None, True), ("on", True),
                                           ("off", False)])
def test_cache_quick_handler_refused(workdir, pki, quick, refused):
    """mod_cache's quick handler runs before authentication: it would serve
    a client devprov has not judged yet."""
    from conftest import Httpd
    srv = Httpd(workdir, "srv_mixed_cache", pki)
    res = srv.configtest(
        "".join(f"LoadModule {m}_module {MODDIR}/mod_{m}.so\n"
                for m in AUTH_MODULES + ["cache"])
        + srv.tls_vhost(
            "x", "DevprovEngine on\n"
            f"DevprovTrust polycom {pki / 'polycom/root.pem'}\n"
            "DevprovUserIdentity on\n"
            + (f"CacheQuickHandler {quick}\n" if quick else "")))
    if refused:
        assert res.returncode != 0
        assert "CacheQuickHandler off" in res.stderr, res.stderr
    else:
        assert res.returncode == 0, res.stderr


def test_users_query_checked(workdir, pki):
    from conftest import Httpd
    srv = Httpd(workdir, "srv_mixed_badsql", pki)
    res = srv.configtest(
        f"LoadModule dbd_module {MODDIR}/mod_dbd.so\n" + srv.tls_vhost(
            "x", "DevprovEngine on\n"
            f"DevprovTrust polycom {pki / 'polycom/root.pem'}\n"
            "DBDriver sqlite3\nDBDParams /nonexistent.db\n"
            'DevprovAllowlistSQL "SELECT label FROM phones WHERE mac = %s" '
            '"users=SELECT mac FROM phones"\n'))
    assert res.returncode != 0
    assert "DevprovAllowlistSQL: users=: the query has 0 %s parameters" \
        in res.stderr, res.stderr


def test_needs_an_authentication_module(workdir, pki):
    from conftest import Httpd
    srv = Httpd(workdir, "srv_mixed_noauth", pki)
    res = srv.configtest(srv.tls_vhost(
        "x", "DevprovEngine on\n"
        f"DevprovTrust polycom {pki / 'polycom/root.pem'}\n"
        "DevprovUserIdentity on\n"))
    assert res.returncode != 0
    assert "no authentication module is loaded" in res.stderr, res.stderr
    assert "httpd.conf:" in res.stderr      # names the directive's place


# -- fail2ban: the filter matches the suite's refusals, the jail bans --------

FILTER = ROOT / "conf/fail2ban/filter.d/devprov.conf"
JAIL = ROOT / "conf/fail2ban/jail.d/devprov.conf"
GUESSES = {"unlisted", "bad_password", "bind_path", "user_conflict",
           "user_mismatch", "vendor_mismatch", "pin_mismatch",
           "not_verified", "generic_key", "ca_leaf", "ca_key"}


def fail2ban_regex(log):
    p = subprocess.run(["fail2ban-regex", "--print-all-matched",
                        str(log), str(FILTER)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"^Lines: \d+ lines, \d+ ignored, (\d+) matched",
                  p.stdout, re.M)
    assert m, p.stdout
    return int(m.group(1)), p.stdout


@pytest.mark.skipif(shutil.which("fail2ban-regex") is None,
                    reason="fail2ban not installed (scripts/install-deps.sh "
                           "installs it)")
def test_fail2ban_filter_matches_the_guesses(srv_mixed):
    log = srv_mixed.error_log.read_text(errors="replace")
    lines = [m for m in REFUSAL.finditer(log)]
    reasons = {m.group(2) for m in lines}
    # the tests above made every kind of guess this site can see
    assert {"unlisted", "bad_password", "bind_path", "user_mismatch",
            "user_conflict", "not_verified"} <= reasons, reasons
    want = sum(1 for m in lines if m.group(2) in GUESSES)
    got, out = fail2ban_regex(srv_mixed.error_log)
    assert got == want, out[-3000:]
    # each matched line is one of ours, with its address
    assert "<HOST>" not in out
    matched = [ln for ln in out.splitlines()
               if ln.startswith("|  [") and "devprov: refused status=" in ln]
    assert matched and all("client=127.0.0.1" in ln for ln in matched)
    # the forged refusal in a Referer (test_referer_...) is on the log,
    # on a no_cert line the filter must not match at all (the user name
    # of test_client_text_... is on a bad_password line it does match,
    # for 127.0.0.1: the count above)
    assert "203.0.113.9" in log
    assert not [ln for ln in matched if "203.0.113.9" in ln], matched
    # and the refusals it leaves out are the ones it says it leaves out
    assert all(m.group(2) not in GUESSES for m in lines
               if m.group(2) in {"revoked", "no_cert", "db_unavailable"})


@pytest.mark.skipif(shutil.which("fail2ban-server") is None,
                    reason="fail2ban not installed")
def test_fail2ban_jail_bans_a_guesser(srv_mixed, tmp_path):
    """Debian's fail2ban with the shipped jail (its action replaced by
    'dummy', which only records the ban, and the loopback address not
    ignored) bans the address that keeps guessing."""
    conf = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", conf)
    shutil.copy(FILTER, conf / "filter.d/devprov.conf")
    for f in (conf / "jail.d").glob("*"):
        f.unlink()
    jail = JAIL.read_text().replace("/var/log/apache2/error.log",
                                    str(srv_mixed.error_log))
    jail = re.sub(r"(?m)^maxretry *=.*$", "maxretry = 3", jail)
    jail = re.sub(r"(?m)^backend *=.*$", "backend = polling", jail)
    assert "maxretry = 3" in jail and "backend = polling" in jail
    jail += "action = dummy\nignoreself = false\nignoreip =\n"
    (conf / "jail.d/devprov.conf").write_text(jail)
    sock, pid = tmp_path / "f2b.sock", tmp_path / "f2b.pid"
    (conf / "fail2ban.local").write_text(
        f"[Definition]\nsocket = {sock}\npidfile = {pid}\n"
        f"dbfile = :memory:\nlogtarget = {tmp_path / 'f2b.log'}\n")
    (conf / "jail.local").write_text("[DEFAULT]\nenabled = false\n"
                                     "[devprov]\nenabled = true\n")
    client = ["fail2ban-client", "-c", str(conf), "-s", str(sock)]
    server = subprocess.Popen(["fail2ban-server", "-f", "-x", "-c",
                               str(conf), "-s", str(sock), "-p", str(pid)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if subprocess.run(client + ["ping"], capture_output=True
                              ).returncode == 0:
                break
            time.sleep(0.3)
        subprocess.run(client + ["reload"], capture_output=True, timeout=30)
        st = subprocess.run(client + ["status", "devprov"],
                            capture_output=True, text=True, timeout=30)
        assert st.returncode == 0, st.stdout + st.stderr
        time.sleep(1.5)                 # it reads the log from now on
        for i in range(4):
            get(srv_mixed, f"/000b820001{i:02d}.cfg", user="000b82000099")
        deadline = time.time() + 30
        while time.time() < deadline:
            st = subprocess.run(client + ["status", "devprov"],
                                capture_output=True, text=True, timeout=30)
            if "127.0.0.1" in st.stdout:
                break
            time.sleep(0.5)
        assert re.search(r"Banned IP list:\s*127\.0\.0\.1", st.stdout), \
            st.stdout + (tmp_path / "f2b.log").read_text(errors="replace")
    finally:
        subprocess.run(client + ["stop"], capture_output=True, timeout=30)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
