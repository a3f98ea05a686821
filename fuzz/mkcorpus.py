#!/usr/bin/python3
"""mkcorpus.py - (re)generate the fuzz seed corpora and fuzz/fuzz_ca.h.

    /usr/bin/python3 fuzz/mkcorpus.py          (from the top directory)

Certificates are signed by throwaway vendor CAs whose private keys exist
only while this script runs; fuzz_ca.h holds the CA certificates so that
fuzz_macrule can run dp_identify() on the seeds (a seed signed by a CA
verifies; a mutated one does not).  Validity periods never matter: the
targets pass a fixed "now" and verification ignores time.  Rerunning the
script makes new keys, so commit fuzz_ca.h together with the corpora.
"""
import datetime
import os
import shutil
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
T0 = datetime.datetime(2020, 1, 1)
T_END = datetime.datetime(9999, 12, 31, 23, 59, 59)

UNKNOWN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")


def attr(oid, value, typ=None):
    if typ is None:
        return x509.NameAttribute(oid, value, _validate=False)
    return x509.NameAttribute(oid, value, typ, _validate=False)


def name(*attrs):
    return x509.Name([x509.RelativeDistinguishedName([a]) for a in attrs])


def key():
    return ec.generate_private_key(ec.SECP256R1())


def ca(cn):
    k = key()
    n = name(attr(NameOID.ORGANIZATION_NAME, "Fuzz Vendor"),
             attr(NameOID.COMMON_NAME, cn))
    c = (x509.CertificateBuilder().subject_name(n).issuer_name(n)
         .public_key(k.public_key()).serial_number(1)
         .not_valid_before(T0).not_valid_after(T_END)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True,
                                      True, False, False), True)
         .sign(k, hashes.SHA256()))
    return k, c


def leaf(subject, issuer_key=None, issuer=None, serial=2, not_after=T_END):
    k = key()
    b = (x509.CertificateBuilder().subject_name(subject)
         .public_key(k.public_key()).serial_number(serial)
         .not_valid_before(T0).not_valid_after(not_after)
         .add_extension(x509.ExtendedKeyUsage(
             [ExtendedKeyUsageOID.CLIENT_AUTH]), False))
    if issuer is None:
        return b.issuer_name(subject).sign(k, hashes.SHA256())
    return b.issuer_name(issuer.subject).sign(issuer_key, hashes.SHA256())


def der(c):
    return c.public_bytes(serialization.Encoding.DER)


def write(sub, fname, data):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def c_array(label, data):
    lines = [", ".join("0x%02x" % b for b in data[i:i + 12])
             for i in range(0, len(data), 12)]
    return ("static const unsigned char %s[] = {\n    %s\n};\n"
            % (label, ",\n    ".join(lines)))


def macrule():
    O, CN, ST, OU, SN, L = (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME,
                            NameOID.STATE_OR_PROVINCE_NAME,
                            NameOID.ORGANIZATIONAL_UNIT_NAME,
                            NameOID.SERIAL_NUMBER, NameOID.LOCALITY_NAME)
    from cryptography.x509.name import _ASN1Type as T
    cas = {v: ca("%s Fuzz Root" % v) for v in ("polycom", "cisco", "yealink")}
    subjects = {
        "polycom": [
            name(attr(O, "Polycom Inc."), attr(CN, "0004F2ABCDEF")),
            name(attr(CN, "00:04:f2:12:34:56")),
            name(attr(CN, "0004.f2ab.cdef"), attr(OU, "VVX")),
            name(attr(CN, "010203040506")),             # multicast
            name(attr(CN, "000000000000")),             # all-zero
            name(attr(CN, "0004F2ABCDEF"), attr(CN, "0004F2ABCDEE")),
            name(attr(CN, "0004F2ABCDEF", T.BMPString)),
            name(attr(CN, "0004F2ABCDEF\n")),           # control char
        ],
        "cisco": [
            name(attr(O, "Cisco Systems"),
                 attr(CN, "SPA-962, MAC: 000e08abcdef, Serial: FM1234"),
                 attr(ST, "000e08abcdef")),
            name(attr(CN, "SPA-504G, MAC: 000E08123456")),
            name(attr(CN, "SPA-962, MAC: 000e08abcdef"),
                 attr(ST, "000e08abcdee")),             # rules disagree
            name(attr(ST, "00-0e-08-ab-cd-ef")),
            name(attr(CN, "SPA-962, MAC: 000e08abcdef", T.PrintableString)),
        ],
        "yealink": [
            name(attr(O, "Yealink"), attr(CN, "Yealink Device"),
                 attr(SN, "ffffffff-ffff-ffff-fff0-001565000062")),
            name(attr(SN, "00000000-0000-0000-0000-80:15:65:00:00:62")),
            name(attr(SN, "001565000062")),
            name(attr(OU, "id=00:11:22:33:44:55"), attr(OU, "none")),
            name(attr(OU, "id=0011.2233.4455"),
                 attr(UNKNOWN_OID, "mac 001122334455")),
            name(attr(L, "MAC 00-11-22-33-44-55"),
                 attr(SN, "001122334455")),
            name(attr(CN, "x" * 300)),                  # over-long
        ],
    }
    n = 0
    for vendor, names in subjects.items():
        k, c = cas[vendor]
        for i, s in enumerate(names):
            n += 1
            write("macrule", "%02d-%s-signed.der" % (n, vendor),
                  der(leaf(s, k, c, serial=100 + n)))
            n += 1
            write("macrule", "%02d-%s-selfsigned.der" % (n, vendor),
                  der(leaf(s, serial=100 + n)))
            n += 1
            write("macrule", "%02d-%s-name.der" % (n, vendor),
                  s.public_bytes())
    # an expired device certificate (time is reported, never refused here)
    k, c = cas["polycom"]
    write("macrule", "%02d-polycom-expired.der" % (n + 1),
          der(leaf(name(attr(CN, "0004F2ABCD01")), k, c, serial=999,
                   not_after=datetime.datetime(2021, 1, 1))))
    # a CA certificate itself
    write("macrule", "%02d-ca.der" % (n + 2), der(cas["cisco"][1]))
    # text form (see fuzz_macrule.c): <type letter><attr>=<value> per line
    texts = [
        "aCN=0004F2ABCDEF\naO=Polycom\n",
        "aCN=SPA-962, MAC: 000e08abcdef, Serial: x\naST=000e08abcdef\n",
        "aserialNumber=ffffffff-ffff-ffff-fff0-001565000062\n",
        "dOU=id=00:11:22:33:44:55\n+aL=MAC 001122334455\n",
        "e1.3.6.1.4.1.99999.1=\x000\x000\x001\x001\x002\x002\x003\x003"
        "\x004\x004\x005\x005\n",
        "fCN=\x00\x00\x000\x00\x00\x000\x00\x00\x000\x00\x00\x004\n",
        "iCN=0004f2abcdef\niCN=0004f2abcdef\n",
        "hST=000e08abcdef\ngCN=SPA, MAC: 000e08abcdef\n",
        "cCN=\x00\x30\x00\x30\n",
        "jCN=0004f2abcdef\n",
        "bOU=none\nbserialNumber=00-15-65-00-00-62\n",
    ]
    for i, t in enumerate(texts):
        write("macrule", "t%02d.txt" % i, t.encode("latin-1"))
    with open(os.path.join(HERE, "fuzz_ca.h"), "w") as f:
        f.write("/* fuzz_ca.h - generated by fuzz/mkcorpus.py: the throwaway "
                "vendor CAs that\n * signed the seeds in fuzz/corpus/macrule/ "
                "(certificates only; the keys\n * were discarded). */\n")
        for v, (k, c) in cas.items():
            f.write(c_array("fuzz_ca_" + v, der(c)))


def allowlist():
    pin = "sha256:" + "ab" * 32
    files = {
        "basic.txt": "# phones\n0004F2ABCDEF lobby\n00:04:f2:12:34:56 "
                     "desk-1 site=hq\n",
        "attrs.txt": "0004f2000001 vvx-1 site=hq floor=3 profile=exec\n"
                     "0004f2000002 site=lab\n0004f2000003\n",
        "pin.txt": "000e08abcdef spa pin=%s\n001565000062 pin=%s\n"
                   % (pin, pin.upper().replace("SHA256", "sha256")),
        "forms.txt": "0004.f2ab.cd01 a\n00-04-F2-AB-CD-02 b\n"
                     "00:04:f2:ab:cd:03\tc\tk_1=v.1@x/y+z:w-q\n",
        "crlf.txt": "0004f2abcd01 a\r\n0004f2abcd02 b\r\n",
        "comments.txt": "   # indented comment\n\n\t\n0004f2abcd01 a # note\n",
        "dup.txt": "0004f2abcd01 a\n0004F2ABCD01 b\n",
        "badpin.txt": "0004f2abcd01 pin=sha256:abcd\n",
        "twice.txt": "0004f2abcd01 a=1 a=2\n",
        "multicast.txt": "0104f2abcd01\n",
        "labelafter.txt": "0004f2abcd01 k=v label\n",
        "noeol.txt": "0004f2abcd01 last",
        "many-attrs.txt": "0004f2abcd01 x " + " ".join(
            "k%d=v" % i for i in range(32)) + "\n",
        "long-value.txt": "0004f2abcd01 " + "v" * 128 + " key=" + "w" * 128
                          + "\n",
    }
    # one list big enough to make the table grow (1024 slots, load 0.7)
    files["big.txt"] = "".join("0004f2%06x p%d\n" % (i * 2, i)
                               for i in range(800))
    for f, t in files.items():
        write("allowlist", f, t)


def path():
    paths = [
        "/0004f2abcdef.cfg", "/0004F2ABCDEF-phone.cfg",
        "/000000000000.cfg", "/spa000e08abcdef.xml",
        "/cfg/00:04:f2:ab:cd:ef.cfg", "/0004.f2ab.cdef/boot",
        "/%30%30%30%34f2abcdef.cfg", "/%2530004f2abcdef.cfg",
        "/a/../0004f2abcdef.cfg", "//0004f2abcdef.cfg",
        "/logs/0004f2abcdef-app.log", "/y001565000062.boot?mac=0004f2abcdef",
        "/00-04-f2-ab-cd-ef.cfg", "/0004f2abcdef0004f2abcdee.cfg",
        "/deadbeefcafe.cfg", "/firmware/sip.ld", "/directory/%2F..%2F",
        "/ffffffffffff.cfg", "/010203040506.cfg", "/a%3ab%3Ac",
        "/0004f2abcde%66.cfg", "/%25%32%35%33%30004f2abcdef",
    ]
    for i, p in enumerate(paths):
        write("path", "p%02d" % i, p)


def revoked():
    fp = "sha256:" + "0123456789abcdef" * 4
    files = {
        "basic.txt": "# revoked\n0004F2ABCDEF\n%s\n" % fp,
        "forms.txt": "00:04:f2:ab:cd:ef  # lost\n0004.f2ab.cd01\n"
                     "00-04-F2-AB-CD-02\t# stolen\n",
        "fps.txt": "%s\n%s\n" % (fp, fp.upper().replace("SHA256", "sha256")),
        "crlf.txt": "0004f2abcdef\r\n%s\r\n" % fp,
        "dup.txt": "0004f2abcdef\n0004F2ABCDEF\n",
        "two-fields.txt": "0004f2abcdef extra\n",
        "short-fp.txt": "sha256:abcd\n",
        "blank.txt": "\n\n   \n\t# x\n",
        "noeol.txt": "0004f2abcdef",
        "multicast.txt": "ffffffffffff\n000000000000\n",
    }
    files["many.txt"] = "".join("0004f2%06x\n" % i for i in range(100))
    for f, t in files.items():
        write("revoked", f, t)


def enrol():
    fp = "0123456789abcdef" * 4
    files = {
        "one.txt": "0004f2abcdef sha256:%s 2024-01-02T03:04:05Z polycom\n"
                   % fp,
        "two.txt": "0004f2abcdef sha256:%s 2024-01-02T03:04:05Z polycom\n"
                   "000e08abcdef sha256:%s 2024-01-03T00:00:00Z cisco-spa\n"
                   % (fp, fp[::-1]),
        "comment.txt": "# enrolled\n#0004f2abcdef sha256:%s x y\n" % fp,
        "upper.txt": "0004F2ABCDEF sha256:%s t v\n" % fp.upper(),
        "short.txt": "0004f2abcdef sha256:abc\n",
        "forms.txt": "00:04:f2:ab:cd:ef sha256:%s t v\n" % fp,
        "crlf.txt": "0004f2abcdef sha256:%s t v\r\n" % fp,
        "noeol.txt": "0004f2abcdef sha256:%s" % fp,
        "empty.txt": "",
    }
    for f, t in files.items():
        write("enrol", f, t)


def certs():
    k, c = ca("Fuzz Certs Root")
    lk, lc = key(), None
    lc = leaf(name(attr(NameOID.COMMON_NAME, "0004F2ABCDEF")), k, c)
    pem = lambda x: x.public_bytes(serialization.Encoding.PEM).decode()
    write("certs", "ca.der", der(c))
    write("certs", "ca.pem", pem(c))
    write("certs", "bundle.pem", "Fuzz root\n" + pem(c) + "text\n" + pem(lc))
    write("certs", "key.pem", lk.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    write("certs", "trusted.pem", pem(c).replace("CERTIFICATE",
                                                 "TRUSTED CERTIFICATE"))
    write("certs", "x509old.pem", pem(c).replace("CERTIFICATE",
                                                 "X509 CERTIFICATE"))
    write("certs", "crl-like.pem", "-----BEGIN X509 CRL-----\nAAAA\n"
                                   "-----END X509 CRL-----\n")
    write("certs", "truncated.pem", pem(c)[:300])
    write("certs", "leaf.der", der(lc))
    write("certs", "trailing.der", der(lc) + b"\x00")


def fields():
    pin = "sha256:" + "ab" * 32
    rows = {
        "basic": "allowed=1\nlabel=lobby\nsite=hq\n",
        "case-null": "ALLOWED=t\nLabel=desk-1\nSite=HQ\nfloor=3\nprofile\nnote=\n",
        "not-allowed": "allowed=f\nlabel=x\n",
        "allowed-null": "allowed\nlabel=x\n",
        "pin": "pin=%s\nlabel=pinned\n" % pin,
        "badpin": "pin=sha256:abcd\n",
        "badlabel": "label=a b\n",
        "dup": "site=hq\nSITE=lab\n",
        "badbool": "allowed=maybe\n",
        "nolabel": "label\nmac=0004f2abcdef\nvlan=12\nfirmware=4.0.1\n",
        "many": "".join("k%d=1\n" % i for i in range(1, 41)),
        "longname": "averyveryverylongcolumnnamethatislongerthan32=1\n",
        "longname-null": "averyveryverylongcolumnnamethatislongerthan32\n",
        "very-long-name": "N" * 600 + "=x\nlabel=y\n",
        "badkey": "1bad=x\n",
        "longlabel": "label=" + "v" * 129 + "\n",
        "empty": "",
    }
    for f, t in rows.items():
        write("fields", f, t)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    macrule()
    allowlist()
    path()
    revoked()
    enrol()
    certs()
    fields()
    for d in sorted(os.listdir(CORPUS)):
        print("%-10s %d files" % (d, len(os.listdir(os.path.join(CORPUS, d)))))


if __name__ == "__main__":
    sys.exit(main())
