/* A phone's HTTPS request over mbedTLS (t/test_interop.py).
 *
 *   mbedtls_client [-t 1.0|1.2|1.3] -C CA.pem -c CERT.pem -k KEY.pem
 *                  [-n SERVERNAME] PORT PATH
 *
 * Connects to 127.0.0.1:PORT, presents CERT/KEY, trusts CA only, checks
 * the server's name (SERVERNAME, default localhost, also sent as SNI),
 * sends "GET PATH HTTP/1.1" and prints the response's status line and body
 * on stdout.  stderr gets "interop: library <name> <version>" first,
 * "interop: tls <version> <cipher>" after the handshake, and the
 * library's error if there is one.
 *
 * Exit: 0 a response was read; 1 the handshake (or the exchange) failed;
 * 2 usage; 3 the certificate, key or CA could not be loaded; 4 this
 * library build cannot do the TLS version asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "http_response.h"

static void lib_error(const char *what, int rc)
{
    char buf[256];
    mbedtls_strerror(rc, buf, sizeof buf);
    fprintf(stderr, "mbedtls_client: %s: -0x%04x %s\n", what,
            (unsigned)-rc, buf);
}

/* TLS version -> minor version; 0 if this library build lacks it (the
 * library's own answer: mbedtls_version_check_feature) */
static int minor_for(const char *tls, const char **feature)
{
    int minor;
    if (strcmp(tls, "1.0") == 0) {
        *feature = "MBEDTLS_SSL_PROTO_TLS1";
        minor = MBEDTLS_SSL_MINOR_VERSION_1;
    } else if (strcmp(tls, "1.2") == 0) {
        *feature = "MBEDTLS_SSL_PROTO_TLS1_2";
        minor = MBEDTLS_SSL_MINOR_VERSION_3;
    } else if (strcmp(tls, "1.3") == 0) {
        *feature = "MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL";
        minor = MBEDTLS_SSL_MINOR_VERSION_4;
    } else {
        *feature = NULL;
        return -1;
    }
    return mbedtls_version_check_feature(*feature) == 0 ? minor : 0;
}

int main(int argc, char **argv)
{
    struct client_args a;

    if (client_args_parse(argc, argv, &a) != 0)
        return 2;
    const char *tls = a.tls, *ca = a.ca, *cert = a.cert, *key = a.key;
    const char *name = a.name, *port = a.port, *path = a.path;

    char version[32];
    mbedtls_version_get_string_full(version);
    fprintf(stderr, "interop: library %s\n", version);

    int minor = 0;
    if (tls) {
        const char *feature;
        minor = minor_for(tls, &feature);
        if (minor < 0)
            return client_usage(argv[0]);
        if (minor == 0) {
            fprintf(stderr, "mbedtls_client: %s: TLS %s is not in this "
                    "build (%s is not enabled)\n", version, tls, feature);
            return 4;
        }
    }

    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt cacert, own;
    mbedtls_pk_context pk;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_net_init(&net);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&cacert);
    mbedtls_x509_crt_init(&own);
    mbedtls_pk_init(&pk);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);

    int rc, status = 1;
    if ((rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                    NULL, 0)) != 0) {
        lib_error("ctr_drbg_seed", rc);
        goto out;
    }
    status = 3;
    if ((rc = mbedtls_x509_crt_parse_file(&cacert, ca)) != 0) {
        lib_error(ca, rc);
        goto out;
    }
    if ((rc = mbedtls_x509_crt_parse_file(&own, cert)) != 0) {
        lib_error(cert, rc);
        goto out;
    }
    if ((rc = mbedtls_pk_parse_keyfile(&pk, key, NULL)) != 0) {
        lib_error(key, rc);
        goto out;
    }
    status = 1;
    if ((rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
                                          MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        lib_error("ssl_config_defaults", rc);
        goto out;
    }
    if (minor) {
        mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     minor);
        mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     minor);
    }
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &cacert, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    if ((rc = mbedtls_ssl_conf_own_cert(&conf, &own, &pk)) != 0) {
        lib_error("ssl_conf_own_cert", rc);
        status = 3;
        goto out;
    }
    if ((rc = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
        (rc = mbedtls_ssl_set_hostname(&ssl, name)) != 0) {
        lib_error("ssl_setup", rc);
        goto out;
    }
    if ((rc = mbedtls_net_connect(&net, "127.0.0.1", port,
                                  MBEDTLS_NET_PROTO_TCP)) != 0) {
        lib_error("connect", rc);
        goto out;
    }
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv,
                        NULL);
    while ((rc = mbedtls_ssl_handshake(&ssl)) != 0) {
        if (rc != MBEDTLS_ERR_SSL_WANT_READ &&
            rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
            lib_error("handshake", rc);
            uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
            if (flags != 0 && flags != (uint32_t)-1) {
                char vbuf[512];
                mbedtls_x509_crt_verify_info(vbuf, sizeof vbuf, "  ", flags);
                fprintf(stderr, "mbedtls_client: server certificate:\n%s",
                        vbuf);
            }
            goto out;
        }
    }
    fprintf(stderr, "interop: tls %s %s\n", mbedtls_ssl_get_version(&ssl),
            mbedtls_ssl_get_ciphersuite(&ssl));

    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n"
                     "Connection: close\r\n\r\n", path, name);
    if (n < 0 || (size_t)n >= sizeof req)
        return client_usage(argv[0]);
    for (size_t off = 0; off < (size_t)n;) {
        rc = mbedtls_ssl_write(&ssl, (const unsigned char *)req + off,
                               (size_t)n - off);
        if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
            rc == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (rc < 0) {
            lib_error("write", rc);
            goto out;
        }
        off += (size_t)rc;
    }
    struct response resp;
    response_init(&resp);
    for (;;) {
        unsigned char buf[4096];
        rc = mbedtls_ssl_read(&ssl, buf, sizeof buf);
        if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
            rc == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            break;
        if (rc < 0) {
            lib_error("read", rc);
            break;
        }
        response_add(&resp, buf, (size_t)rc);
    }
    status = response_print(&resp) ? 0 : 1;
    response_free(&resp);
    mbedtls_ssl_close_notify(&ssl);
out:
    mbedtls_net_free(&net);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&cacert);
    mbedtls_x509_crt_free(&own);
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return status;
}
