/* What the interop clients (t/interop/mbedtls_client.c,
 * wolfssl_client.c) share: their command line, and the HTTP side: collect
 * the response, then print its status line and its body (chunked
 * transfer coding undone), as t/test_interop.py reads them. */
#ifndef INTEROP_HTTP_RESPONSE_H
#define INTEROP_HTTP_RESPONSE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct response {
    char *buf;
    size_t len, cap;
};

static void response_init(struct response *r)
{
    r->buf = NULL;
    r->len = r->cap = 0;
}

static void response_add(struct response *r, const void *data, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 8192;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *p = realloc(r->buf, cap);
        if (!p) {
            perror("realloc");
            exit(1);
        }
        r->buf = p;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static void response_free(struct response *r)
{
    free(r->buf);
    response_init(r);
}

/* Prints "STATUS LINE\n" and the body; 0 if there is no HTTP response. */
static int response_print(const struct response *r)
{
    if (r->len < 12 || strncmp(r->buf, "HTTP/1.", 7) != 0) {
        fprintf(stderr, "interop: no HTTP response (%zu bytes)\n", r->len);
        return 0;
    }
    const char *eol = strstr(r->buf, "\r\n");
    const char *body = strstr(r->buf, "\r\n\r\n");
    if (!eol || !body) {
        fprintf(stderr, "interop: truncated HTTP response\n");
        return 0;
    }
    body += 4;
    printf("%.*s\n", (int)(eol - r->buf), r->buf);
    int chunked = 0;
    for (const char *h = eol + 2; h < body - 2;) {
        const char *e = strstr(h, "\r\n");
        if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
            strstr(h, "chunked") && strstr(h, "chunked") < e)
            chunked = 1;
        h = e + 2;
    }
    const char *end = r->buf + r->len;
    if (!chunked) {
        fwrite(body, 1, (size_t)(end - body), stdout);
        return 1;
    }
    while (body < end) {
        char *next;
        unsigned long n = strtoul(body, &next, 16);
        const char *data = strstr(next, "\r\n");
        if (!data || n == 0)
            break;
        data += 2;
        if (n > (size_t)(end - data))
            n = (size_t)(end - data);
        fwrite(data, 1, n, stdout);
        body = data + n + 2;
    }
    return 1;
}

/* The clients' command line: [-t 1.0|1.2|1.3] -C CA -c CERT -k KEY
 * [-n SERVERNAME] PORT PATH. */
struct client_args {
    const char *tls, *ca, *cert, *key, *name, *port, *path;
};

static int client_usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-t 1.0|1.2|1.3] -C CA -c CERT -k KEY "
            "[-n SERVERNAME] PORT PATH\n", prog);
    return 2;
}

/* 0, or -1 after the usage message */
static int client_args_parse(int argc, char **argv, struct client_args *a)
{
    int opt;

    memset(a, 0, sizeof(*a));
    a->name = "localhost";
    while ((opt = getopt(argc, argv, "t:C:c:k:n:")) != -1) {
        switch (opt) {
        case 't': a->tls = optarg; break;
        case 'C': a->ca = optarg; break;
        case 'c': a->cert = optarg; break;
        case 'k': a->key = optarg; break;
        case 'n': a->name = optarg; break;
        default: client_usage(argv[0]); return -1;
        }
    }
    if (argc - optind != 2 || !a->ca || !a->cert || !a->key) {
        client_usage(argv[0]);
        return -1;
    }
    a->port = argv[optind];
    a->path = argv[optind + 1];
    return 0;
}

#endif
