"""DevprovBindPath: a verified phone cannot read or overwrite another
phone's per-MAC files, however the path is spelled."""
import re

import pytest

from conftest import Httpd, make_server_fixture
from test_devprov import trust

OWN_DEV, OWN = "polycom-valid", "0004f2000001"
OTHER = "0004f2000002"           # polycom-expired's MAC

FILES = [f"{OWN}.cfg", f"{OTHER}.cfg", "000000000000.cfg",
         f"{OWN.upper()}.cfg", "00-04-f2-00-00-01.cfg",
         f"{OWN}/phone.cfg", f"{OTHER}/phone.cfg"]


def bind_body(srv, pki):
    files = srv.dir / "files"
    for name in FILES:
        p = files / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.parent.chmod(0o755)
        p.write_text(f"file {name}\n")
        p.chmod(0o644)
    common = (f"DevprovEngine on\n{trust(pki)}"
              f"Alias /files {files}\n"
              f"<Directory {files}>\n  Require all granted\n</Directory>\n"
              "AddHandler cgi-script .cgi\n")
    return (srv.tls_vhost("bind", common + "DevprovBindPath on\n",
                          cafile=None)
            + srv.tls_vhost("nobind", common, cafile=None))


srv_bind = make_server_fixture("srv_bind", bind_body)

DENIAL = re.compile(r'\[devprov:info\].*devprov: refused .* by=DevprovBindPath detail="'
                    r"path names MAC ([0-9a-f]{12}), "
                    r"(device is [0-9a-f]{12}|not a device)")


def get(srv, path, device=OWN_DEV, port="bind", extra=()):
    return srv.curl(port, path, device, extra=["--path-as-is", *extra])


def denials(srv):
    return DENIAL.findall(srv.new_log())


OTHER_SPELLINGS = [
    f"/files/{OTHER}.cfg",
    f"/files/{OTHER.upper()}.cfg",
    "/files/00-04-f2-00-00-02.cfg",
    "/files/00:04:F2:00:00:02.cfg",
    "/files/0004.f200.0002.cfg",
    f"/files/%30{OTHER[1:]}.cfg",                    # %30 is "0"
    "/files/%30%30%30%34%66%32%30%30%30%30%30%32.cfg",
    f"/files/%2530{OTHER[1:]}.cfg",                  # double-encoded
    f"//files//{OTHER}.cfg",
    f"/files/./{OTHER}.cfg",
    f"/files/x/../{OTHER}.cfg",
    f"/files/{OWN}/../{OTHER}.cfg",
    f"/files/{OTHER}.cfg/extra",                     # path info
    f"/files/{OTHER}.cfg.",                          # trailing dot
    f"/files/{OTHER}/phone.cfg",                     # directory segment
    f"/env.cgi/{OTHER}-app.log",                     # path info to a CGI
    f"/files/spa{OTHER}.cfg",
    f"/files/{OTHER}.cfg?mac={OWN}",
]


@pytest.mark.parametrize("path", OTHER_SPELLINGS)
def test_other_phones_file_refused(srv_bind, path):
    # without DevprovBindPath most of these are served (or 404)
    res = get(srv_bind, path)
    assert res.status == 403, res
    found = denials(srv_bind)
    assert len(found) == 1, srv_bind.new_log()
    assert found[0][1] == f"device is {OWN}"
    if "spa" not in path:
        assert found[0][0] == OTHER


def test_path_encoded_five_times_refused(srv_bind):
    """Four rounds of %-decoding are looked through; a path still encoded
    after that is refused whatever it names (a fifth decoding behind the
    server could reveal a MAC), and logged once."""
    path = OTHER
    for _ in range(5):
        path = "".join(f"%{ord(c):02X}" for c in path)
    res = get(srv_bind, f"/files/{path}.cfg")
    assert res.status == 403, res
    log = [ln for ln in srv_bind.new_log().splitlines()
           if "devprov: refused" in ln]
    assert len(log) == 1 and "after 4 rounds of decoding" in log[0], log


def test_other_phones_file_served_without_bindpath(srv_bind):
    res = get(srv_bind, f"/files/{OTHER}.cfg", port="nobind")
    assert res.status == 200, res
    assert denials(srv_bind) == []


@pytest.mark.parametrize("path,status", [
    (f"/files/{OWN}.cfg", 200),
    (f"/files/{OWN.upper()}.cfg", 200),
    ("/files/00-04-f2-00-00-01.cfg", 200),
    (f"/files/%30{OWN[1:]}.cfg", 200),
    (f"//files//{OWN}.cfg", 200),
    (f"/files/./{OWN}.cfg", 200),
    (f"/files/x/../{OWN}.cfg", 200),
    (f"/files/{OWN}/phone.cfg", 200),
    (f"/files/{OWN}.cfg?x={OTHER}", 200),   # the query is not checked
    (f"/files/{OWN}.cfg/extra", 404),       # no path info on static files
    (f"/files/{OWN}.cfg.", 404),
])
def test_own_file_allowed(srv_bind, path, status):
    res = get(srv_bind, path)
    assert res.status == status, res
    if status == 200:
        assert res.body.startswith("file ")
    assert denials(srv_bind) == []


@pytest.mark.parametrize("device", [OWN_DEV, "polycom-expired", None])
def test_shared_file_allowed(srv_bind, device):
    res = get(srv_bind, "/files/000000000000.cfg", device)
    assert res.status == 200, res
    assert res.body == "file 000000000000.cfg\n"
    assert denials(srv_bind) == []


def test_other_phone_gets_its_own(srv_bind):
    res = get(srv_bind, f"/files/{OTHER}.cfg", "polycom-expired")
    assert res.status == 200, res
    assert denials(srv_bind) == []


@pytest.mark.parametrize("device", [None, "rogue-polycom"])
@pytest.mark.parametrize("mac", [OWN, OTHER])
def test_unverified_client_refused_per_mac_path(srv_bind, device, mac):
    res = get(srv_bind, f"/files/{mac}.cfg", device)
    assert res.status == 403, res
    assert denials(srv_bind) == [(mac, "not a device")]


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_upload_to_other_phones_file_refused(srv_bind, method):
    # a Polycom log upload: PUT with Content-Range
    extra = ["-X", method, "-H", "Content-Range: bytes 0-4/5",
             "--data-binary", "hello"]
    res = get(srv_bind, f"/files/{OTHER}-app.log", extra=extra)
    assert res.status == 403, res
    assert denials(srv_bind) == [(OTHER, f"device is {OWN}")]
    # a CGI would have accepted it
    res = get(srv_bind, f"/env.cgi/{OTHER}-app.log", extra=extra)
    assert res.status == 403, res


def test_upload_to_own_file_passes_the_check(srv_bind):
    res = get(srv_bind, f"/files/{OWN}-app.log",
              extra=["-X", "PUT", "--data-binary", "hello"])
    assert res.status != 403, res          # no PUT handler here: 405
    assert denials(srv_bind) == []


# -- configuration ----------------------------------------------------------

@pytest.mark.parametrize("body,needle", [
    # httpd's own message for an AP_INIT_FLAG directive
    ("DevprovBindPath maybe", "DevprovBindPath must be On or Off"),
    ("<Location /x>\nDevprovBindPath on\n</Location>",
     "DevprovBindPath not allowed in <Location>"),
])
def test_bad_config(workdir, pki, body, needle):
    srv = Httpd(workdir, f"cfg-bindpath-{abs(hash(body))}", pki)
    res = srv.configtest(srv.tls_vhost("v", body))
    assert res.returncode != 0, res.stderr
    assert needle in res.stderr, res.stderr


def test_inherited_from_main_server(workdir, pki):
    srv = Httpd(workdir, "srv-bindpath-inherit", pki)
    body = ("DevprovBindPath on\n"
            + srv.tls_vhost("v", f"DevprovEngine on\n{trust(pki)}"))
    srv.start(body)
    try:
        res = get(srv, f"/{OTHER}.cfg", port="v")
        assert res.status == 403, res
        assert denials(srv) == [(OTHER, f"device is {OWN}")]
    finally:
        srv.stop()
