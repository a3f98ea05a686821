"""Legacy phones (Cisco SPA): TLS 1.0 only, RSA-1024 keys, MD5/SHA-1
signed certificates.  OpenSSL 3 (Debian 12: security level 2) refuses all
of that; the security level is lowered in the legacy virtual host only
(handshake: SSLCipherSuite ...@SECLEVEL=0, re-verification:
DevprovSecurityLevel cisco-spa 0), and every other virtual host of the
same server keeps Debian's defaults."""
import json
import os
import subprocess
import time

import pytest

from conftest import make_server_fixture, s_client_get

# what an old SPA can do: TLS 1.0 only.  The client itself must lower its
# level too, or OpenSSL 3 will not even load the RSA-1024 key ("ee key too
# small") nor offer the MD5-SHA1/SHA-1 signatures TLS 1.0 needs.
TLS1 = dict(tls="-tls1", extra=["-cipher", "DEFAULT@SECLEVEL=0"])
TLS12_LOWCLIENT = dict(tls="-tls1_2", extra=["-cipher", "DEFAULT@SECLEVEL=0"])

CISCO = {"cisco-md5": ("000e08abcdef", "1", "EXPIRED"),
         "cisco-sha1": ("000e08abcd01", "0", "SUCCESS")}


def cisco_trust(pki):
    return f"DevprovEngine on\nDevprovTrust cisco-spa {pki / 'cisco/root.pem'}\n"


def body(srv, pki):
    lowered = cisco_trust(pki) + "DevprovSecurityLevel cisco-spa 0\n"
    return (
        # the documented legacy vhost
        srv.tls_vhost("legacy",
                      "SSLProtocol all\n"
                      "SSLCipherSuite DEFAULT@SECLEVEL=0\n" + lowered,
                      cafile="cisco/cafile.pem")
        # the same with SSLOpenSSLConfCmd instead of SSLProtocol/CipherSuite
        + srv.tls_vhost("legacy_confcmd",
                        "SSLOpenSSLConfCmd MinProtocol TLSv1\n"
                        "SSLOpenSSLConfCmd CipherString DEFAULT@SECLEVEL=0\n"
                        + lowered,
                        cafile="cisco/cafile.pem")
        # handshake lowered, devprov's re-verification left at its default
        + srv.tls_vhost("legacy_default_level",
                        "SSLProtocol all\n"
                        "SSLCipherSuite DEFAULT@SECLEVEL=0\n" + cisco_trust(pki),
                        cafile="cisco/cafile.pem")
        # an ordinary vhost on the same server: no SSL changes at all
        + srv.tls_vhost("normal",
                        "DevprovEngine on\n"
                        f"DevprovTrust polycom {pki / 'polycom/root.pem'} "
                        f"{pki / 'polycom/issuing.der'}\n"))


srv_legacy = make_server_fixture("srv_legacy", body)


def env(res):
    status, out, err = res
    assert status == 200, (status, out[-500:], err[-500:])
    return json.loads(out.strip().splitlines()[-1])


def wait_log(srv, needle, timeout=3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if needle in srv.new_log():
            return True
        time.sleep(0.05)
    return False


# -- 1. the legacy vhost provisions TLS-1.0 phones with weak certificates ----

@pytest.mark.parametrize("vhost", ["legacy", "legacy_confcmd"])
@pytest.mark.parametrize("device", sorted(CISCO))
def test_legacy_vhost_verifies_tls10_weak_cert_phone(srv_legacy, pki, vhost,
                                                      device):
    mac, expired, ssl_verify = CISCO[device]
    e = env(s_client_get(srv_legacy.port(vhost), pki, device, "/env.php",
                         **TLS1))
    assert e["DEVICE_VERIFIED"] == "1", e
    assert e["DEVICE_VENDOR"] == "cisco-spa"
    assert e["DEVICE_MAC"] == mac
    assert e["DEVICE_CERT_EXPIRED"] == expired
    assert "DEVICE_REASON" not in e
    # mod_ssl verified the weak chain too, at the vhost's level 0
    assert e["SSL_CLIENT_VERIFY"] == ssl_verify


def test_curl_as_legacy_phone_needs_openssl_conf(srv_legacy, pki, tmp_path):
    """curl cannot lower the level with --ciphers early enough: loading the
    RSA-1024 key fails.  An OPENSSL_CONF with CipherString
    DEFAULT@SECLEVEL=0 works."""
    port = srv_legacy.port("legacy")
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
           "--max-time", "20", "--tlsv1.0", "--tls-max", "1.0",
           "--resolve", f"localhost:{port}:127.0.0.1",
           "--cacert", str(pki / "server/ca.pem"),
           "--cert", str(pki.cert("cisco-md5")),
           "--key", str(pki.key("cisco-md5")),
           f"https://localhost:{port}/env.php"]
    p = subprocess.run(cmd + ["--ciphers", "DEFAULT@SECLEVEL=0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 58 and "ee key too small" in p.stderr, p

    cnf = tmp_path / "legacy-openssl.cnf"
    cnf.write_text("openssl_conf = openssl_init\n"
                   "[openssl_init]\nssl_conf = ssl_sect\n"
                   "[ssl_sect]\nsystem_default = system_default_sect\n"
                   "[system_default_sect]\n"
                   "CipherString = DEFAULT@SECLEVEL=0\n")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "OPENSSL_CONF": str(cnf)})
    body, _, code = p.stdout.rpartition("\n")
    assert code == "200", p
    e = json.loads(body)
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "000e08abcdef"
    assert e["DEVICE_CERT_EXPIRED"] == "1"


# -- 2. without DevprovSecurityLevel the re-verification refuses, visibly ----

@pytest.mark.parametrize("device", sorted(CISCO))
def test_default_devprov_level_refuses_weak_signatures(srv_legacy, pki,
                                                       device):
    e = env(s_client_get(srv_legacy.port("legacy_default_level"), pki,
                         device, "/env.php", **TLS1))
    # the handshake (vhost at SECLEVEL=0) and mod_ssl's check passed ...
    assert e["SSL_CLIENT_VERIFY"] == CISCO[device][2]
    # ... but devprov's chain check at level 1 refuses the MD5/SHA-1
    # signature on the phone certificate
    assert e["DEVICE_VERIFIED"] == "0"
    assert e["DEVICE_REASON"] == ("certificate not verified: "
                                  "CA signature digest algorithm too weak")
    assert "DEVICE_MAC" not in e and "DEVICE_VENDOR" not in e


def test_default_devprov_level_accepts_sha256_leaf_under_weak_root(
        srv_legacy, pki):
    """Level 1 allows RSA-1024 and does not check the self-signature of a
    trust anchor: an SPA with a SHA-256 certificate under the RSA-1024/SHA-1
    Cisco root needs no DevprovSecurityLevel (only the handshake
    lowering, for TLS 1.0)."""
    e = env(s_client_get(srv_legacy.port("legacy_default_level"), pki,
                         "cisco-sha256", "/env.php", **TLS1))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_MAC"] == "000e08abcd02"


# -- 3. the lowering is scoped to the legacy vhost ---------------------------

def test_normal_vhost_refuses_tls10(srv_legacy, pki):
    # even a modern phone certificate, and even though SSLProtocol allows
    # TLSv1 by default: at Debian's level 2 there is no signature
    # algorithm usable in TLS 1.0 (MD5-SHA1/SHA-1)
    status, out, err = s_client_get(srv_legacy.port("normal"), pki,
                                    "polycom-valid", "/env.php", **TLS1)
    assert status == 0, out
    assert wait_log(srv_legacy, "no suitable signature algorithm")
    status, out, err = s_client_get(srv_legacy.port("normal"), pki,
                                    "cisco-md5", "/env.php", **TLS1)
    assert status == 0, out
    # the same client commands work on the legacy vhost of this server
    assert s_client_get(srv_legacy.port("legacy"), pki, "polycom-valid",
                        "/env.php", **TLS1)[0] == 200


def test_normal_vhost_refuses_weak_cert_over_tls12(srv_legacy, pki):
    # optional_no_ca waives unknown CAs and (patched) time errors, not a
    # key below the security level
    status, out, err = s_client_get(srv_legacy.port("normal"), pki,
                                    "cisco-md5", "/env.php",
                                    **TLS12_LOWCLIENT)
    assert status == 0, out
    assert "bad certificate" in err
    assert wait_log(srv_legacy, "EE certificate key too weak")


def test_normal_vhost_still_serves_modern_phone(srv_legacy, pki):
    e = env(s_client_get(srv_legacy.port("normal"), pki, "polycom-valid",
                         "/env.php", tls="-tls1_2"))
    assert e["DEVICE_VERIFIED"] == "1"
    assert e["DEVICE_VENDOR"] == "polycom"
    assert e["DEVICE_MAC"] == pki.mac("polycom-valid")
    assert e["SSL_CLIENT_VERIFY"] == "SUCCESS"
