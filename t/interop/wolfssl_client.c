/* A phone's HTTPS request over wolfSSL (t/test_interop.py).
 *
 *   wolfssl_client [-t 1.0|1.2|1.3] -C CA.pem -c CERT.pem -k KEY.pem
 *                  [-n SERVERNAME] PORT PATH
 *
 * The same interface and exit codes as mbedtls_client.c: 0 a response was
 * read; 1 the handshake (or the exchange) failed; 2 usage; 3 the
 * certificate, key or CA could not be loaded; 4 this library build cannot
 * do the TLS version asked for.  stderr gets "interop: library wolfSSL
 * <version>" first, "interop: tls <version> <cipher>" after the handshake,
 * and the library's error if there is one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "http_response.h"

static void lib_error(const char *what, WOLFSSL *ssl, int rc)
{
    char buf[WOLFSSL_MAX_ERROR_SZ];
    int err = ssl ? wolfSSL_get_error(ssl, rc) : rc;
    wolfSSL_ERR_error_string_n((unsigned long)err, buf, sizeof buf);
    fprintf(stderr, "wolfssl_client: %s: error %d: %s\n", what, err, buf);
}

int main(int argc, char **argv)
{
    struct client_args a;

    if (client_args_parse(argc, argv, &a) != 0)
        return 2;
    const char *tls = a.tls, *ca = a.ca, *cert = a.cert, *key = a.key;
    const char *name = a.name, *port = a.port, *path = a.path;
    const char *version = wolfSSL_lib_version();
    fprintf(stderr, "interop: library wolfSSL %s\n", version);

    /* the version pin: the library's own methods where it has them, the
     * generic method bounded to the version otherwise (TLS 1.0: Debian
     * builds wolfSSL without WOLFSSL_ALLOW_TLSV10, so there is no
     * wolfTLSv1_client_method; the bound is refused below) */
    WOLFSSL_METHOD *method;
    int pin = 0;
    if (!tls)
        method = wolfSSLv23_client_method();
    else if (strcmp(tls, "1.2") == 0)
        method = wolfTLSv1_2_client_method();
    else if (strcmp(tls, "1.3") == 0)
        method = wolfTLSv1_3_client_method();
    else if (strcmp(tls, "1.0") == 0) {
#ifdef WOLFSSL_ALLOW_TLSV10
        method = wolfTLSv1_client_method();
#else
        method = wolfSSLv23_client_method();
        pin = TLS1_VERSION;
#endif
    } else
        return client_usage(argv[0]);

    wolfSSL_Init();
    int status = 1, rc, fd = -1;
    WOLFSSL *ssl = NULL;
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(method);
    if (!ctx) {
        fprintf(stderr, "wolfssl_client: wolfSSL_CTX_new failed\n");
        goto out;
    }
    if (pin) {
        if ((rc = wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1))
                != WOLFSSL_SUCCESS
            || (rc = wolfSSL_CTX_set_max_proto_version(ctx, pin))
                != WOLFSSL_SUCCESS) {
            lib_error("TLS 1.0", NULL, rc);
            fprintf(stderr, "wolfssl_client: %s: TLS %s is not in this "
                    "build (no WOLFSSL_ALLOW_TLSV10)\n", version, tls);
            status = 4;
            goto out;
        }
    }
    status = 3;
    if ((rc = wolfSSL_CTX_load_verify_locations(ctx, ca, NULL))
            != WOLFSSL_SUCCESS) {
        lib_error(ca, NULL, rc);
        goto out;
    }
    if ((rc = wolfSSL_CTX_use_certificate_file(ctx, cert,
                                               WOLFSSL_FILETYPE_PEM))
            != WOLFSSL_SUCCESS) {
        lib_error(cert, NULL, rc);
        goto out;
    }
    if ((rc = wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM))
            != WOLFSSL_SUCCESS) {
        lib_error(key, NULL, rc);
        goto out;
    }
    status = 1;
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("wolfssl_client: connect");
        goto out;
    }
    ssl = wolfSSL_new(ctx);
    if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS
        || wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, name,
                          (unsigned short)strlen(name)) != WOLFSSL_SUCCESS
        || wolfSSL_check_domain_name(ssl, name) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "wolfssl_client: wolfSSL_new/set_fd/UseSNI failed\n");
        goto out;
    }
    if ((rc = wolfSSL_connect(ssl)) != WOLFSSL_SUCCESS) {
        lib_error("handshake", ssl, rc);
        goto out;
    }
    fprintf(stderr, "interop: tls %s %s\n", wolfSSL_get_version(ssl),
            wolfSSL_get_cipher(ssl));

    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n"
                     "Connection: close\r\n\r\n", path, name);
    if (n < 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "wolfssl_client: path too long\n");
        goto out;
    }
    if ((rc = wolfSSL_write(ssl, req, n)) != n) {
        lib_error("write", ssl, rc);
        goto out;
    }
    struct response resp;
    response_init(&resp);
    for (;;) {
        char buf[4096];
        rc = wolfSSL_read(ssl, buf, sizeof buf);
        if (rc > 0) {
            response_add(&resp, buf, (size_t)rc);
            continue;
        }
        int err = wolfSSL_get_error(ssl, rc);
        if (err != WOLFSSL_ERROR_ZERO_RETURN && err != SOCKET_PEER_CLOSED_E)
            lib_error("read", ssl, rc);
        break;
    }
    status = response_print(&resp) ? 0 : 1;
    response_free(&resp);
    wolfSSL_shutdown(ssl);
out:
    if (ssl)
        wolfSSL_free(ssl);
    if (fd >= 0)
        close(fd);
    if (ctx)
        wolfSSL_CTX_free(ctx);
    wolfSSL_Cleanup();
    return status;
}
