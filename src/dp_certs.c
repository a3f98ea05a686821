/* dp_certs.c - read certificates from PEM/DER files and directories. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dp_certs.h"
#include "dp_file.h"

/* Largest certificate file read; vendor bundles are a few KiB. */
#define DP_CERTS_FILE_MAX (4 * 1024 * 1024)

/* The certificate in one PEM block of type TYPE, or NULL with a reason in
 * ERR: only certificates are read, and a key, OpenSSL trust settings or
 * anything else is refused rather than skipped. */
static X509 *pem_block_cert(const char *file, const char *type,
                            const unsigned char *data, long dlen, int n,
                            char *err, size_t errlen)
{
    size_t tlen = strlen(type);

    if (strcmp(type, PEM_STRING_X509) == 0
        || strcmp(type, PEM_STRING_X509_OLD) == 0) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, dlen);

        if (x == NULL || p != data + dlen) {
            X509_free(x);
            snprintf(err, errlen, "%s: malformed PEM certificate after %d "
                     "good one(s)", file, n);
            return NULL;
        }
        return x;
    }
    if (strcmp(type, PEM_STRING_X509_TRUSTED) == 0) {
        snprintf(err, errlen, "%s: TRUSTED CERTIFICATE blocks (OpenSSL trust "
                 "settings) are not supported: convert with openssl x509 "
                 "-in f -out g", file);
        return NULL;
    }
    if (tlen >= 11 && strcmp(type + tlen - 11, "PRIVATE KEY") == 0) {
        snprintf(err, errlen, "%s: holds a private key (%s block): a private "
                 "key does not belong in a CA/deny file", file, type);
        return NULL;
    }
    snprintf(err, errlen, "%s: unsupported PEM block '%.64s' (only "
             "CERTIFICATE blocks are read)", file, type);
    return NULL;
}

static int parse_pem(const unsigned char *buf, size_t len, const char *name,
                     dp_cert_cb cb, void *arg, char *err, size_t errlen)
{
    BIO *bio;
    X509 *x;
    char *type, *header;
    unsigned char *data;
    long dlen;
    int n = 0;

    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    for (;;) {
        type = header = NULL;
        data = NULL;
        dlen = 0;
        if (PEM_read_bio(bio, &type, &header, &data, &dlen) != 1) {
            /* running out of PEM blocks ends the loop with a "no start
             * line" error; anything else means a damaged block */
            unsigned long e = ERR_peek_last_error();

            BIO_free(bio);
            if (!(ERR_GET_LIB(e) == ERR_LIB_PEM
                  && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                snprintf(err, errlen, "%s: malformed PEM certificate after "
                         "%d good one(s)", name, n);
                return -1;
            }
            break;
        }
        x = pem_block_cert(name, type, data, dlen, n, err, errlen);
        OPENSSL_free(type);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, (size_t)dlen);     /* may be a key */
        if (x == NULL || cb(x, name, arg, err, errlen) != 0) {
            BIO_free(bio);
            return -1;
        }
        n++;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: contains no certificate", name);
        return -1;
    }
    return n;
}

static int parse(const unsigned char *buf, size_t len, const char *name,
                 dp_cert_cb cb, void *arg, char *err, size_t errlen)
{
    const unsigned char *p = buf;
    X509 *x;

    if (len > DP_CERTS_FILE_MAX) {
        snprintf(err, errlen, "%s: file too large", name);
        return -1;
    }
    if (len == 0) {
        snprintf(err, errlen, "%s: file is empty", name);
        return -1;
    }
    if (memmem(buf, len, "-----BEGIN", 10) != NULL)
        return parse_pem(buf, len, name, cb, arg, err, errlen);
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != buf + len) {
        X509_free(x);
        snprintf(err, errlen, "%s: neither a PEM nor a DER certificate",
                 name);
        return -1;
    }
    if (cb(x, name, arg, err, errlen) != 0)
        return -1;
    return 1;
}

int dp_certs_parse(const unsigned char *buf, size_t len, const char *name,
                   dp_cert_cb cb, void *arg, char *err, size_t errlen)
{
    int rc;

    /* the thread's error queue is shared with mod_ssl: leave the caller's
     * entries alone and take our own away */
    ERR_set_mark();
    rc = parse(buf, len, name, cb, arg, err, errlen);
    ERR_pop_to_mark();
    return rc;
}

static int load_file(const char *path, dp_cert_cb cb, void *arg, char *err,
                     size_t errlen)
{
    char *buf;
    size_t len;
    int rc;

    if (dp_read_file(path, DP_CERTS_FILE_MAX, &buf, &len, err, errlen) != 0)
        return -1;
    rc = dp_certs_parse((const unsigned char *)buf, len, path, cb, arg, err,
                        errlen);
    free(buf);
    return rc;
}

static int is_cert_name(const char *name)
{
    static const char *const exts[] = { ".pem", ".crt", ".cer", ".der" };
    size_t i, n = strlen(name);

    if (name[0] == '.')
        return 0;
    for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (n > 4 && strcasecmp(name + n - 4, exts[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(const char *path, dp_cert_cb cb, void *arg, char *err,
                    size_t errlen)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int total = 0, rc = 0;

    d = opendir(path);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open directory: %s", path,
                 strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (!is_cert_name(de->d_name))
            continue;
        if (n == cap) {
            char **nn;
            cap = cap ? 2 * cap : 16;
            nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL) {
                rc = -1;
                break;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: directory holds no *.pem, *.crt, *.cer "
                 "or *.der file", path);
        rc = -1;
        goto done;
    }
    /* deterministic order, so that errors and stores do not depend on
     * the file system */
    qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        char file[4096];
        struct stat st;
        int added;

        if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, names[i])
            >= sizeof(file)) {
            snprintf(err, errlen, "%s/%s: path too long", path, names[i]);
            rc = -1;
            goto done;
        }
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        added = load_file(file, cb, arg, err, errlen);
        if (added < 0) {
            rc = -1;
            goto done;
        }
        total += added;
    }
    rc = total;
done:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int dp_certs_load_path(const char *path, dp_cert_cb cb, void *arg,
                       char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return load_dir(path, cb, arg, err, errlen);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file or directory", path);
        return -1;
    }
    return load_file(path, cb, arg, err, errlen);
}
