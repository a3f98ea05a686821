// A phone's HTTPS request over Java's JSSE (t/test_interop.py).
//
//   java -cp build/interop JsseClient [-t 1.0|1.2|1.3] -C CA.pem
//        -c CERT.pem -k KEY.pem [-n SERVERNAME] PORT PATH
//
// The same interface, stderr lines and exit codes as
// t/interop/mbedtls_client.c: 0 a
// response was read; 1 the handshake (or the exchange) failed; 2 usage;
// 3 the certificate, key or CA could not be loaded.  The PEM files are
// read as they are (KEY: PKCS#8, as certs/mkpki.py writes it).  The
// client presents its certificate whatever CAs the server names in its
// request, as phones do (the JDK's own key managers would send none when
// the issuer is not named).  Java's policy (jdk.tls.disabledAlgorithms,
// jdk.certpath.disabledAlgorithms) is the JDK's: a test lowers it with
// -Djava.security.properties=FILE, as an operator would.
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

public final class JsseClient {
    private JsseClient() {}

    /** Always the one certificate: a phone has no other. */
    static final class PhoneKeyManager extends X509ExtendedKeyManager {
        private final X509Certificate[] chain;
        private final PrivateKey key;

        PhoneKeyManager(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        @Override public String chooseClientAlias(String[] types,
                Principal[] issuers, Socket s) { return "phone"; }
        @Override public String chooseEngineClientAlias(String[] types,
                Principal[] issuers, SSLEngine e) { return "phone"; }
        @Override public String[] getClientAliases(String type,
                Principal[] issuers) { return new String[] {"phone"}; }
        @Override public X509Certificate[] getCertificateChain(String a) {
            return chain.clone();
        }
        @Override public PrivateKey getPrivateKey(String a) { return key; }
        @Override public String chooseServerAlias(String t, Principal[] i,
                Socket s) { return null; }
        @Override public String[] getServerAliases(String t,
                Principal[] i) { return null; }
    }

    static List<X509Certificate> certs(String file) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            for (Certificate c : cf.generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + ": no certificate");
        }
        return out;
    }

    static PrivateKey pkcs8(String file, String algorithm) throws Exception {
        String pem = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "")
                        .replaceAll("\\s", "");
        return KeyFactory.getInstance(algorithm)
                         .generatePrivate(new PKCS8EncodedKeySpec(
                             Base64.getDecoder().decode(b64)));
    }

    static int usage() {
        System.err.println("usage: JsseClient [-t 1.0|1.2|1.3] -C CA -c CERT"
                           + " -k KEY [-n SERVERNAME] PORT PATH");
        return 2;
    }

    static int run(String[] args) throws Exception {
        String tls = null, ca = null, cert = null, key = null;
        String name = "localhost";
        List<String> pos = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.length() == 2 && a.charAt(0) == '-') {
                if (++i >= args.length) {
                    return usage();
                }
                switch (a) {
                    case "-t": tls = args[i]; break;
                    case "-C": ca = args[i]; break;
                    case "-c": cert = args[i]; break;
                    case "-k": key = args[i]; break;
                    case "-n": name = args[i]; break;
                    default: return usage();
                }
            } else {
                pos.add(a);
            }
        }
        if (pos.size() != 2 || ca == null || cert == null || key == null) {
            return usage();
        }
        String[] protocols = null;
        if (tls != null) {
            switch (tls) {
                case "1.0": protocols = new String[] {"TLSv1"}; break;
                case "1.2": protocols = new String[] {"TLSv1.2"}; break;
                case "1.3": protocols = new String[] {"TLSv1.3"}; break;
                default: return usage();
            }
        }
        int port = Integer.parseInt(pos.get(0));
        String path = pos.get(1);

        SSLContext ctx;
        try {
            ctx = SSLContext.getInstance("TLS");
            System.err.printf(Locale.ROOT, "interop: library JSSE %s %s%n",
                              ctx.getProvider().getName(),
                              System.getProperty("java.runtime.version"));
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int n = 0;
            for (X509Certificate c : certs(ca)) {
                trust.setCertificateEntry("ca" + n++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(
                TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            List<X509Certificate> own = certs(cert);
            PrivateKey pk = pkcs8(key,
                                  own.get(0).getPublicKey().getAlgorithm());
            ctx.init(new KeyManager[] {new PhoneKeyManager(
                         own.toArray(new X509Certificate[0]), pk)},
                     tmf.getTrustManagers(), null);
        } catch (Exception e) {
            System.err.println("JsseClient: loading the PKI: " + e);
            return 3;
        }

        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress("127.0.0.1", port), 10000);
            raw.setSoTimeout(20000);
            // the host name given here is the SNI name and the name the
            // server certificate is checked against
            SSLSocket s = (SSLSocket) ctx.getSocketFactory()
                                         .createSocket(raw, name, port, true);
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (protocols != null) {
                p.setProtocols(protocols);
            }
            s.setSSLParameters(p);
            try {
                s.startHandshake();
            } catch (IOException e) {
                // an SSLException, or the server closing on us (TLS 1.3:
                // a refused client certificate)
                System.err.println("JsseClient: handshake: " + e);
                return 1;
            }
            System.err.printf(Locale.ROOT, "interop: tls %s %s%n",
                              s.getSession().getProtocol(),
                              s.getSession().getCipherSuite());
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + name
                       + "\r\nConnection: close\r\n\r\n")
                      .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            ByteArrayOutputStream resp = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(resp);
            } catch (IOException e) {
                // TLS 1.3: a refused client certificate shows as an alert
                // (or a reset) on the first read
                System.err.println("JsseClient: read: " + e);
                if (resp.size() == 0) {
                    return 1;
                }
            }
            return printResponse(resp.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /** The status line and the body (chunked coding undone). */
    static int printResponse(String r) {
        int eol = r.indexOf("\r\n");
        int body = r.indexOf("\r\n\r\n");
        if (!r.startsWith("HTTP/1.") || eol < 0 || body < 0) {
            System.err.println("interop: no HTTP response (" + r.length()
                               + " bytes)");
            return 1;
        }
        StringBuilder out = new StringBuilder(r.substring(0, eol)).append('\n');
        String headers = r.substring(eol, body).toLowerCase(Locale.ROOT);
        String rest = r.substring(body + 4);
        if (headers.matches("(?s).*\r\ntransfer-encoding:[^\r]*chunked.*")) {
            int i = 0;
            while (i < rest.length()) {
                int e = rest.indexOf("\r\n", i);
                if (e < 0) {
                    break;
                }
                int n = Integer.parseInt(rest.substring(i, e).split(";")[0]
                                             .trim(), 16);
                if (n == 0) {
                    break;
                }
                out.append(rest, e + 2, Math.min(e + 2 + n, rest.length()));
                i = e + 2 + n + 2;
            }
        } else {
            out.append(rest);
        }
        System.out.print(out);
        System.out.flush();
        return 0;
    }

    public static void main(String[] args) {
        int rc;
        try {
            rc = run(args);
        } catch (Exception e) {
            System.err.println("JsseClient: " + e);
            rc = 1;
        }
        System.exit(rc);
    }
}
