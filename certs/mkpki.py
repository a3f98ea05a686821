#!/usr/bin/python3
"""Generate a vendor-like test PKI for devprov's tests.

Usage: /usr/bin/python3 certs/mkpki.py [--force] OUTDIR

Everything is generated at test time with dates relative to "now" (UTC), so
expired / not-yet-valid cases stay expired / not-yet-valid whenever the tests
run.  Nothing produced here is ever committed.  See certs/README.

Idempotent: if OUTDIR/manifest.json exists and is newer than this script,
exit 0 without doing anything (unless --force).  manifest.json is written
last, so an interrupted run is redone next time.  Concurrent runs on the same
OUTDIR are serialised with a lock file.

Needs only the Python standard library and python3-cryptography (Debian 12
ships 38.x).  Notes on what cryptography 38 allows:
  * RSA-1024 keys and SHA-1 / MD5 signatures can still be *created*; MD5
    emits a CryptographyDeprecationWarning, which is silenced here.
  * Names: NameAttribute accepts a newline, quotes and a 64-character CN as a
    UTF8String without complaint, and several CN attributes in one Name, so
    no _validate=False tricks are needed.  Each attribute is its own RDN.
"""

import argparse
import datetime
import fcntl
import ipaddress
import json
import os
import sys
import tempfile
import warnings

from cryptography import utils as _cutils
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
DAY = datetime.timedelta(days=1)
YEAR = datetime.timedelta(days=365)

POLY_O = "Polycom Inc."


# ---------------------------------------------------------------- helpers

# RSA-2048 generation is the only slow part (~0.3 s a key on a slow CI box,
# ~30 keys).  Keys are therefore generated up front in parallel worker
# processes, and cryptography's redundant RSA_check_key on keys OpenSSL has
# just generated is skipped through the backend's test hook
# (_rsa_skip_check_key, which cryptography's own test suite uses; guarded so a
# cryptography without it simply runs the check).
N_KEYS = {2048: 44, 1024: 3}    # what generate() uses; a shortfall is made up serially
_pool = {2048: [], 1024: []}


def _skip_rsa_check():
    try:
        from cryptography.hazmat.backends.openssl.backend import backend
    except ImportError:
        return
    if isinstance(getattr(backend, "_rsa_skip_check_key", None), bool):
        backend._rsa_skip_check_key = True


def _gen_der(bits):
    _skip_rsa_check()
    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return bits, k.private_bytes(serialization.Encoding.DER,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def fill_key_pool():
    _skip_rsa_check()
    jobs = [b for b, n in sorted(N_KEYS.items(), reverse=True) for _ in range(n)]
    try:
        ncpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        ncpu = os.cpu_count() or 1
    if ncpu < 2:
        return
    try:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=min(ncpu, 8)) as ex:
            results = list(ex.map(_gen_der, jobs))
    except (OSError, ImportError, RuntimeError):
        return          # no usable multiprocessing here: generate serially
    for bits, der in results:
        _pool[bits].append(serialization.load_der_private_key(der, None))


def key(bits=2048):
    if _pool.get(bits):
        return _pool[bits].pop()
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(*attrs):
    """name(("CN", "x"), ("O", "y")) -> x509.Name, one RDN per attribute."""
    oids = {
        "C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "L": NameOID.LOCALITY_NAME, "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME,
        "serialNumber": NameOID.SERIAL_NUMBER,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs])


def sign(builder, signing_key, digest):
    with warnings.catch_warnings():
        # MD5 signing is deprecated in cryptography 38 but still works.
        warnings.simplefilter("ignore", _cutils.CryptographyDeprecationWarning)
        return builder.sign(signing_key, digest)


class CA:
    def __init__(self, cert, key_):
        self.cert = cert
        self.key = key_


def make_cert(subject, pub_key, issuer, signing_key, not_before, not_after, *,
              ca=False, pathlen=None, eku=None, san=None,
              digest=None, aki_key=None, key_cert_sign=False,
              phone_ku=False):
    """Build and sign one certificate.

    issuer: x509.Name of the issuer.  signing_key: private key that signs.
    aki_key: public key whose SKI goes into AuthorityKeyIdentifier (defaults
    to signing_key's public key; the forged leaf points it at the real CA).
    key_cert_sign: a CA:FALSE certificate whose keyUsage still has
    keyCertSign (a mis-issued phone certificate).  phone_ku: with ca, a
    phone's keyUsage (digitalSignature, keyEncipherment) plus keyCertSign,
    as a phone certificate mis-issued with CA:TRUE would carry (it can
    still authenticate a TLS client, and sign certificates).
    """
    digest = digest or hashes.SHA256()
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer)
         .public_key(pub_key)
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after))
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
    if ca and not phone_ku:
        ku = dict(digital_signature=False, key_encipherment=False, key_cert_sign=True,
                  crl_sign=True)
    else:
        ku = dict(digital_signature=True, key_encipherment=True,
                  key_cert_sign=ca or key_cert_sign, crl_sign=False)
    b = b.add_extension(x509.KeyUsage(content_commitment=False, data_encipherment=False,
                                      key_agreement=False, encipher_only=False,
                                      decipher_only=False, **ku), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub_key), critical=False)
    aki_key = aki_key or signing_key.public_key()
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key),
                        critical=False)
    return sign(b, signing_key, digest)


def make_root(subject, not_before, not_after, bits=2048, digest=None):
    k = key(bits)
    c = make_cert(subject, k.public_key(), subject, k, not_before, not_after,
                  ca=True, digest=digest)
    return CA(c, k)


def make_sub(subject, parent, not_before, not_after, pathlen=0):
    k = key()
    c = make_cert(subject, k.public_key(), parent.cert.subject, parent.key,
                  not_before, not_after, ca=True, pathlen=pathlen)
    return CA(c, k)


def _der_len(b, i):
    """The length of the DER element whose length octets start at b[i]:
    (length, index of its first content octet)."""
    n = b[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7F
    return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k


def _der_seq(content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(nb)]) + nb
    return b"\x30" + head + content


def with_inverted_validity(cert, signing_key):
    """CERT with its notBefore and notAfter swapped, signed again by
    SIGNING_KEY (RSA, PKCS#1 v1.5, SHA-256, as make_cert signs).
    cryptography's CertificateBuilder refuses notAfter before notBefore,
    so the two Time values are swapped in the DER of the TBSCertificate
    (both UTCTime of the same length: nothing else moves)."""
    from cryptography.hazmat.primitives.asymmetric import padding

    def utc(dt):
        return b"\x17\x0d" + dt.strftime("%y%m%d%H%M%SZ").encode()

    nb, na = utc(cert.not_valid_before), utc(cert.not_valid_after)
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(nb + na) == 1, "validity not found in the TBS"
    tbs = tbs.replace(nb + na, na + nb)
    der = cert.public_bytes(serialization.Encoding.DER)
    _, i = _der_len(der, 1)                     # into the Certificate
    n, j = _der_len(der, i + 1)                 # the TBSCertificate
    alg_start = j + n
    n, j = _der_len(der, alg_start + 1)         # signatureAlgorithm
    alg = der[alg_start:j + n]
    sig = signing_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    bits = b"\x00" + sig
    bitstr = b"\x03" + _der_seq(bits)[1:]      # same length encoding
    out = x509.load_der_x509_certificate(_der_seq(tbs + alg + bitstr))
    assert out.not_valid_before > out.not_valid_after
    return out


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def write(path, data, mode=0o644):
    """Atomically write bytes to path with the given mode."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the PKI

def generate(out, fleet=0):
    fill_key_pool()
    files = {}          # relative path -> (bytes, mode)
    cas = {}

    def put(rel, data, mode=0o644):
        files[rel] = (data, mode)

    # ---- test server CA and server certificate
    srv_ca = make_root(name(("CN", "devprov Test Server CA"), ("O", "devprov tests")),
                       NOW - DAY, NOW + 10 * YEAR)
    srv_key = key()
    srv = make_cert(name(("CN", "localhost")), srv_key.public_key(), srv_ca.cert.subject,
                    srv_ca.key, NOW - DAY, NOW + 2 * YEAR,
                    eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                    san=[x509.DNSName("localhost"),
                         x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                         x509.IPAddress(ipaddress.ip_address("::1"))])
    put("server/ca.pem", pem(srv_ca.cert))
    put("server/server.pem", pem(srv))
    put("server/server.key", key_pem(srv_key), 0o600)
    # the same name with an ECDSA P-256 key, for a server that offers both
    # (bench/tls_profile.py: what the key type costs a handshake)
    srv_ec_key = ec.generate_private_key(ec.SECP256R1())
    srv_ec = make_cert(name(("CN", "localhost")), srv_ec_key.public_key(),
                       srv_ca.cert.subject, srv_ca.key, NOW - DAY,
                       NOW + 2 * YEAR, eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                       san=[x509.DNSName("localhost"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                            x509.IPAddress(ipaddress.ip_address("::1"))])
    put("server/server-ec.pem", pem(srv_ec))
    put("server/server-ec.key", key_pem(srv_ec_key), 0o600)

    # ---- Polycom
    poly_root_n = name(("CN", "Polycom Root CA"), ("O", POLY_O))
    poly_iss_n = name(("CN", "Polycom Equipment Issuing CA 1"), ("O", POLY_O))
    poly_root = make_root(poly_root_n, NOW - 20 * YEAR, NOW + 20 * YEAR)
    # no pathLenConstraint on the issuing CA (vendors' issuing CAs often
    # have none): a CA:TRUE certificate under it can sign chains OpenSSL
    # would accept if devprov took CAs from what the phone sends
    poly_iss = make_sub(poly_iss_n, poly_root, NOW - 18 * YEAR, NOW + 18 * YEAR,
                        pathlen=None)
    poly_iss2 = make_sub(name(("CN", "Polycom Equipment Issuing CA 2"), ("O", POLY_O)),
                         poly_root, NOW - 20 * YEAR, NOW - YEAR)
    put("polycom/root.pem", pem(poly_root.cert))
    put("polycom/issuing.pem", pem(poly_iss.cert))
    put("polycom/issuing-expired.pem", pem(poly_iss2.cert))
    put("polycom/issuing.der", poly_iss.cert.public_bytes(serialization.Encoding.DER))
    put("polycom/cafile.pem", pem(poly_root.cert) + pem(poly_iss.cert) + pem(poly_iss2.cert))
    cas.update({"polycom_root": "polycom/root.pem",
                "polycom_issuing": "polycom/issuing.pem",
                "polycom_issuing_expired": "polycom/issuing-expired.pem",
                "polycom_issuing_der": "polycom/issuing.der",
                "polycom_cafile": "polycom/cafile.pem"})

    # ---- a sub-CA that Polycom's root signed but the configuration does not
    # list (not in polycom/cafile.pem, not in polycom/): a phone that sends
    # it along must not be verified through it
    poly_unlisted = make_sub(name(("CN", "Polycom Unlisted Sub CA"), ("O", POLY_O)),
                             poly_root, NOW - 10 * YEAR, NOW + 10 * YEAR)
    put("polycom-unlisted/sub-ca.pem", pem(poly_unlisted.cert))
    cas["polycom_unlisted_sub"] = "polycom-unlisted/sub-ca.pem"

    # ---- a Polycom tree whose root expired two years ago while its issuing
    # CA runs on: a phone issued a year ago under it verifies up to the
    # root (never valid: notBefore after the root's notAfter) when the root
    # is configured, and ends at the issuing CA when only that is
    old_root = make_root(name(("CN", "Polycom Old Root CA"), ("O", POLY_O)),
                         NOW - 20 * YEAR, NOW - 2 * YEAR)
    old_iss = make_sub(name(("CN", "Polycom Old Issuing CA"), ("O", POLY_O)),
                       old_root, NOW - 10 * YEAR, NOW + 10 * YEAR)
    put("polycom-oldroot/root.pem", pem(old_root.cert))
    put("polycom-oldroot/issuing.pem", pem(old_iss.cert))
    put("polycom-oldroot/cafile.pem", pem(old_root.cert) + pem(old_iss.cert))
    cas.update({"polycom_oldroot_root": "polycom-oldroot/root.pem",
                "polycom_oldroot_issuing": "polycom-oldroot/issuing.pem",
                "polycom_oldroot_cafile": "polycom-oldroot/cafile.pem"})

    # ---- an issuing CA under the Polycom root that starts in ten days, and
    # a phone under it whose own certificate started a year ago: not yet
    # valid at depth 1
    future_iss = make_sub(name(("CN", "Polycom Future Issuing CA"), ("O", POLY_O)),
                          poly_root, NOW + 10 * DAY, NOW + 10 * YEAR)
    put("polycom-future/issuing.pem", pem(future_iss.cert))
    put("polycom-future/cafile.pem", pem(poly_root.cert) + pem(future_iss.cert))
    cas.update({"polycom_future_issuing": "polycom-future/issuing.pem",
                "polycom_future_cafile": "polycom-future/cafile.pem"})

    # ---- Yealink
    yea_root = make_root(name(("CN", "Yealink Root CA"), ("O", "Yealink")),
                         NOW - 20 * YEAR, NOW + 20 * YEAR)
    put("yealink/root.pem", pem(yea_root.cert))
    put("yealink/cafile.pem", pem(yea_root.cert))
    cas.update({"yealink_root": "yealink/root.pem", "yealink_cafile": "yealink/cafile.pem"})

    # ---- Cisco SPA / Sipura (legacy: RSA-1024, SHA-1)
    cis_root = make_root(name(("CN", "Sipura Technology Client Root Authority 1"),
                              ("O", "Sipura Technology")),
                         NOW - 20 * YEAR, NOW + 20 * YEAR, bits=1024, digest=hashes.SHA1())
    put("cisco/root.pem", pem(cis_root.cert))
    put("cisco/cafile.pem", pem(cis_root.cert))
    cas.update({"cisco_root": "cisco/root.pem", "cisco_cafile": "cisco/cafile.pem"})

    # ---- rogue CA
    rogue = make_root(name(("CN", "Rogue Root CA"), ("O", "Evil")),
                      NOW - 5 * YEAR, NOW + 20 * YEAR)
    put("rogue/root.pem", pem(rogue.cert))
    cas["rogue_root"] = "rogue/root.pem"

    # ---- look-alike Polycom chain: same names, fresh keys
    look_root = make_root(poly_root_n, NOW - 20 * YEAR, NOW + 20 * YEAR)
    look_iss = make_sub(poly_iss_n, look_root, NOW - 18 * YEAR, NOW + 18 * YEAR)
    put("lookalike/root.pem", pem(look_root.cert))
    put("lookalike/issuing.pem", pem(look_iss.cert))
    cas.update({"lookalike_root": "lookalike/root.pem",
                "lookalike_issuing": "lookalike/issuing.pem"})

    # ---- devices
    devices = {}
    client = [ExtendedKeyUsageOID.CLIENT_AUTH]
    valid = (NOW - YEAR, NOW + 14 * YEAR)

    def device(dname, subject, issuer, nb_na, *, mac, vendor, expect,
               bits=2048, digest=None, eku=client, forge_key=None,
               ca=False, key_cert_sign=False, invert=False):
        """issuer: a CA object, or None for self-signed.  ca: a phone
        certificate mis-issued with CA:TRUE; key_cert_sign: CA:FALSE with
        keyCertSign; invert: notBefore and notAfter swapped (NB_NA in
        order, the certificate gets notBefore=NA, notAfter=NB).  Returns
        the device as a CA object (certificate and key)."""
        k = key(bits)
        nb, na = nb_na
        kw = dict(eku=eku, digest=digest, ca=ca, phone_ku=ca,
                  key_cert_sign=key_cert_sign)
        if issuer is None:
            c = make_cert(subject, k.public_key(), subject, k, nb, na, **kw)
            if invert:
                c = with_inverted_validity(c, k)
            chain, issuer_rel = [c], None
        elif forge_key is not None:
            # Issuer name and AKI of the real CA, signature by an unrelated key.
            c = make_cert(subject, k.public_key(), issuer.cert.subject, forge_key, nb, na,
                          eku=eku, digest=digest, aki_key=issuer.key.public_key())
            chain, issuer_rel = [c, issuer.cert], ca_path[id(issuer)]
        else:
            c = make_cert(subject, k.public_key(), issuer.cert.subject, issuer.key, nb, na,
                          **kw)
            if invert:
                c = with_inverted_validity(c, issuer.key)
            issuer_rel = ca_path[id(issuer)]
            # A phone sends leaf + intermediate(s), never the root.
            chain = [c] + ([issuer.cert] if issuer in intermediates else [])
        put(f"devices/{dname}.pem", pem(c))
        put(f"devices/{dname}.key", key_pem(k), 0o600)
        put(f"devices/{dname}.chain.pem", b"".join(pem(x) for x in chain))
        devices[dname] = {
            "cert": f"devices/{dname}.pem",
            "key": f"devices/{dname}.key",
            "chain": f"devices/{dname}.chain.pem",
            "mac": mac,
            "vendor": vendor,
            "issuer_ca": issuer_rel,
            "not_before": iso(c.not_valid_before),
            "not_after": iso(c.not_valid_after),
            "expect": expect,
        }
        return CA(c, k)

    ca_path = {id(poly_iss): "polycom/issuing.pem",
               id(poly_iss2): "polycom/issuing-expired.pem",
               id(yea_root): "yealink/root.pem",
               id(cis_root): "cisco/root.pem",
               id(rogue): "rogue/root.pem",
               id(look_iss): "lookalike/issuing.pem",
               id(poly_unlisted): "polycom-unlisted/sub-ca.pem",
               id(old_iss): "polycom-oldroot/issuing.pem",
               id(future_iss): "polycom-future/issuing.pem"}
    intermediates = [poly_iss, poly_iss2, look_iss, poly_unlisted, old_iss,
                     future_iss]

    def poly(cn):
        return name(("CN", cn), ("O", POLY_O))

    device("polycom-valid", poly("0004F2000001"), poly_iss, valid,
           mac="0004f2000001", vendor="polycom", expect="accept")
    device("polycom-expired", poly("0004F2000002"), poly_iss,
           (NOW - 15 * YEAR, NOW - 30 * DAY),
           mac="0004f2000002", vendor="polycom",
           expect="accept only when expired certs are tolerated (leaf expired)")
    device("polycom-notyet", poly("0004F2000003"), poly_iss,
           (NOW + 30 * DAY, NOW + 15 * YEAR),
           mac="0004f2000003", vendor="polycom",
           expect="reject by default (leaf not yet valid); accept with "
                  "DevprovAcceptNotYetValid")
    device("polycom-under-expired-ca", poly("0004F2000004"), poly_iss2,
           (NOW - 2 * YEAR, NOW + 10 * YEAR),
           mac="0004f2000004", vendor="polycom",
           expect="accept only when expired certs are tolerated (intermediate expired)")
    device("polycom-unlisted", poly("0004F2999999"), poly_iss, valid,
           mac="0004f2999999", vendor="polycom",
           expect="genuine chain; reject if MAC not in allowlist")
    device("polycom-selfsigned", poly("0004F2000005"), None, valid,
           mac="0004f2000005", vendor="polycom", expect="reject: self-signed leaf")
    device("polycom-notmac", poly("SoundPoint IP 650"), poly_iss, valid,
           mac=None, vendor="polycom", expect="reject: CN is not a MAC")
    device("polycom-lowercase", poly("0004f2000006"), poly_iss, valid,
           mac="0004f2000006", vendor="polycom", expect="accept: MAC in lowercase hex")
    device("polycom-serverauth", poly("0004F2000007"), poly_iss, valid,
           mac="0004f2000007", vendor="polycom",
           eku=[ExtendedKeyUsageOID.SERVER_AUTH],
           expect="reject: EKU serverAuth only (wrong purpose)")
    device("polycom-forged", poly("0004F2000001"), poly_iss, valid,
           mac="0004f2000001", vendor="polycom", forge_key=key(),
           expect="reject: bad signature (issuer name/AKI of real issuing CA)")
    device("rogue-polycom", poly("0004F2000001"), rogue, valid,
           mac="0004f2000001", vendor="polycom", expect="reject: untrusted rogue CA")
    device("rogue-expired", poly("0004F2000002"), rogue,
           (NOW - 15 * YEAR, NOW - 30 * DAY),
           mac="0004f2000002", vendor="polycom",
           expect="reject: untrusted rogue CA, even when expiry is tolerated")
    device("lookalike-polycom", poly("0004F2000001"), look_iss, valid,
           mac="0004f2000001", vendor="polycom",
           expect="reject: look-alike CA (same names, different keys)")
    device("polycom-generic", poly("0004F2000012"), poly_iss, valid,
           mac="0004f2000012", vendor="polycom",
           expect="genuine and valid; plays a generic firmware certificate "
                  "(reject when its key is denied with DevprovDenyKey)")

    # ---- trust exactly as configured (issue 13)
    device("polycom-via-unlisted-sub", poly("0004F2000021"), poly_unlisted, valid,
           mac="0004f2000021", vendor="polycom",
           expect="reject: issued by a sub-CA under the Polycom root that is "
                  "not configured (the chain file sends it along)")
    phone_ca = device("polycom-ca-true", poly("0004F2000022"), poly_iss, valid,
                      mac="0004f2000022", vendor="polycom", ca=True,
                      expect="reject: a phone certificate mis-issued with "
                             "CA:TRUE is a CA, not a phone")
    ca_path[id(phone_ca)] = "devices/polycom-ca-true.pem"
    intermediates.append(phone_ca)
    device("polycom-minted-by-phone", poly("0004F2000023"), phone_ca, valid,
           mac="0004f2000023", vendor="polycom",
           expect="reject: issued by the CA:TRUE phone certificate (the chain "
                  "file sends it along)")
    device("polycom-keycertsign", poly("0004F2000024"), poly_iss, valid,
           mac="0004f2000024", vendor="polycom", key_cert_sign=True,
           expect="reject: CA:FALSE but keyUsage keyCertSign")
    device("polycom-after-ca-expired", poly("0004F2000025"), poly_iss2,
           (NOW - 180 * DAY, NOW + 5 * YEAR),
           mac="0004f2000025", vendor="polycom",
           expect="reject: issued after its CA expired (never valid as a chain)")
    device("polycom-inverted", poly("0004F2000026"), poly_iss,
           (NOW - 60 * DAY, NOW - 30 * DAY), invert=True,
           mac="0004f2000026", vendor="polycom",
           expect="reject: notBefore after notAfter (never valid)")
    device("polycom-under-old-root", poly("0004F2000029"), old_iss,
           (NOW - YEAR, NOW + 5 * YEAR),
           mac="0004f2000029", vendor="polycom",
           expect="reject when polycom-oldroot/root.pem is configured (issued "
                  "after the root expired); accept with the issuing CA alone")
    device("polycom-under-future-ca", poly("0004F2000030"), future_iss, valid,
           mac="0004f2000030", vendor="polycom",
           expect="reject by default (its issuing CA is not yet valid); accept "
                  "with DevprovAcceptNotYetValid")
    device("polycom-selfsigned-notyet", poly("0004F2000027"), None,
           (NOW + 30 * DAY, NOW + 15 * YEAR),
           mac="0004f2000027", vendor="polycom",
           expect="pinned self-signed, not yet valid: accept only with "
                  "DevprovAcceptNotYetValid")
    device("polycom-selfsigned-inverted", poly("0004F2000028"), None,
           (NOW - 60 * DAY, NOW - 30 * DAY), invert=True,
           mac="0004f2000028", vendor="polycom",
           expect="reject even when pinned: self-signed, notBefore after "
                  "notAfter (never valid)")

    device("yealink-valid",
           name(("CN", "yealink.com"),
                ("serialNumber", "ffffffff-ffff-ffff-fff0-001565000062"),
                ("O", "Yealink")),
           yea_root, (NOW - YEAR, NOW + 10 * YEAR),
           mac="001565000062", vendor="yealink",
           expect="accept: MAC from serialNumber")

    def spa(mac, serial="88012BA01234", model="SPA-962"):
        return name(("C", "US"), ("ST", mac), ("L", serial), ("O", "Sipura Technology"),
                    ("OU", model), ("CN", f"{model}, MAC: {mac}, Serial: {serial}"))

    device("cisco-md5", spa("000e08abcdef"), cis_root, (NOW - 16 * YEAR, NOW - YEAR),
           mac="000e08abcdef", vendor="cisco-spa", bits=1024, digest=hashes.MD5(),
           expect="legacy: RSA-1024, MD5, expired; accept only if MD5 and expiry tolerated")
    device("cisco-sha1", spa("000e08abcd01"), cis_root, (NOW - YEAR, NOW + 10 * YEAR),
           mac="000e08abcd01", vendor="cisco-spa", bits=1024, digest=hashes.SHA1(),
           expect="legacy: RSA-1024, SHA-1, valid; accept at a low security level")
    device("cisco-sha256", spa("000e08abcd02"), cis_root, (NOW - YEAR, NOW + 10 * YEAR),
           mac="000e08abcd02", vendor="cisco-spa",
           expect="accept: modern control (RSA-2048, SHA-256; root is RSA-1024/SHA-1)")
    device("multi-cn",
           name(("CN", "0004F2000008"), ("CN", "0004F2000009"), ("O", POLY_O)),
           poly_iss, valid, mac=None, vendor="polycom",
           expect="reject: two CN attributes (ambiguous identity)")
    device("evil-cn-newline", poly("0004F2000010\nX-Injected: 1"), poly_iss, valid,
           mac=None, vendor="polycom",
           expect="reject: CN with newline (header injection)")
    device("evil-cn-quote", poly('0004F2000011"; rm -rf /'), poly_iss, valid,
           mac=None, vendor="polycom", expect="reject: CN with quote/shell metachars")
    device("evil-cn-long", poly(("0004F2" * 11)[:64]), poly_iss, valid,
           mac=None, vendor="polycom", expect="reject: 64-hex-digit CN is not a MAC")

    # ---- a fleet for benchmarks: N genuine Polycom phones with expired
    # certificates, MACs 0004f2100000 and up, sharing one key (the
    # handshake costs the same; devprov keys nothing on it)
    fleet_macs = []
    if fleet:
        fk = key()
        put("fleet/key.pem", key_pem(fk), 0o600)
        for i in range(fleet):
            mac = f"0004f2{0x100000 + i:06x}"
            c = make_cert(poly(mac.upper()), fk.public_key(),
                          poly_iss.cert.subject, poly_iss.key,
                          NOW - 15 * YEAR, NOW - 30 * DAY, eku=client)
            put(f"fleet/{mac}.pem", pem(c))
            fleet_macs.append(mac)

    # ---- write everything, manifest last
    if any(_pool.values()):
        print("mkpki: note: N_KEYS is larger than needed", file=sys.stderr)
    for rel, (data, mode) in sorted(files.items()):
        write(os.path.join(out, rel), data, mode)
    manifest = {"generated": iso(NOW), "cas": cas,
                "server": {"ca": "server/ca.pem", "cert": "server/server.pem",
                           "key": "server/server.key"},
                "devices": devices, "fleet": fleet_macs}
    write(os.path.join(out, "manifest.json"),
          (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    ap.add_argument("--fleet", type=int, default=0, metavar="N",
                    help="also N expired Polycom phones in fleet/ (benchmarks)")
    a = ap.parse_args(argv)

    out = os.path.abspath(a.outdir)
    manifest = os.path.join(out, "manifest.json")

    def fresh():
        try:
            with open(manifest) as f:
                if len(json.load(f).get("fleet", [])) != a.fleet:
                    return False
            return os.path.getmtime(manifest) > os.path.getmtime(os.path.abspath(__file__))
        except (OSError, ValueError):
            return False

    if not a.force and fresh():
        return 0
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not a.force and fresh():     # another run finished while we waited
            return 0
        generate(out, a.fleet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
