"""The scale-out setup of the README: Apache servers behind a TCP load
balancer that passes connections through (TLS ends at Apache, so devprov
sees the phone's certificate) and prepends the PROXY protocol header, read
by mod_remoteip; phones are then logged and judged by their own address."""
import socket
import ssl

from conftest import MODDIR, make_server_fixture
from test_devprov import trust

PHONE_ADDR = "192.0.2.77"       # the phone, as the load balancer saw it


def body(srv, pki):
    return (f"LoadModule remoteip_module {MODDIR}/mod_remoteip.so\n"
            + srv.tls_vhost(
                "lb", "RemoteIPProxyProtocol On\n"
                f"DevprovEngine on\n{trust(pki)}"
                'LogFormat "%a %>s mac=%{DEVICE_MAC}e" lb\n'
                f"CustomLog {srv.dir}/logs/lb.log lb\n"
                # only the load balancer may speak to this port
                "<Location />\n  Require ip 127.0.0.1 192.0.2.0/24\n"
                "</Location>\n",
                cafile=None))


srv_lb = make_server_fixture("srv_lb", body)


def proxied_get(srv, device, path="/env.php"):
    """What HAProxy's "server ... send-proxy" does: a PROXY v1 line, then
    the phone's own bytes (its TLS handshake) unchanged."""
    pki = srv.pki
    raw = socket.create_connection(("127.0.0.1", srv.port("lb")), 20)
    raw.sendall(f"PROXY TCP4 {PHONE_ADDR} 127.0.0.1 40000 "
                f"{srv.port('lb')}\r\n".encode())
    ctx = ssl.create_default_context(cafile=str(pki / "server/ca.pem"))
    ctx.load_cert_chain(str(pki.cert(device)), str(pki.key(device)))
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"
                    .encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return data.decode(errors="replace")


def test_phone_behind_tcp_load_balancer(srv_lb):
    res = proxied_get(srv_lb, "polycom-expired")
    assert res.startswith("HTTP/1.1 200"), res[:200]
    assert '"DEVICE_MAC":"0004f2000002"' in res
    assert '"DEVICE_CERT_EXPIRED":"1"' in res
    log = (srv_lb.dir / "logs/lb.log").read_text().splitlines()
    assert log[-1] == f"{PHONE_ADDR} 200 mac=0004f2000002", log[-3:]


def test_connection_without_proxy_header_is_refused(srv_lb, expect_log):
    """Behind the balancer, a client that bypasses it and speaks TLS
    directly gets nothing (mod_remoteip requires the header)."""
    expect_log([r"AH03507|RemoteIPProxyProtocol|PROXY"])
    r = srv_lb.curl("lb", "/env.php", "polycom-expired")
    assert r.status == 0
