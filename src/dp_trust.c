/* dp_trust.c - vendor trust stores and time-agnostic chain verification. */
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
#include <openssl/x509v3.h>

#include "dp_trust.h"

/* Largest certificate file read; vendor bundles are a few KiB. */
#define DP_TRUST_FILE_MAX (4 * 1024 * 1024)

struct dp_trust {
    X509_STORE *store;              /* anchors only */
    STACK_OF(X509) *intermediates;  /* chain-building helpers */
};

dp_trust_t *dp_trust_new(void)
{
    dp_trust_t *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->store = X509_STORE_new();
    t->intermediates = sk_X509_new_null();
    if (t->store == NULL || t->intermediates == NULL) {
        dp_trust_free(t);
        return NULL;
    }
    return t;
}

void dp_trust_free(dp_trust_t *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t);
}

/* The store holds anchors only, each once. */
size_t dp_trust_anchor_count(const dp_trust_t *t)
{
    return (size_t)sk_X509_OBJECT_num(X509_STORE_get0_objects(t->store));
}

size_t dp_trust_intermediate_count(const dp_trust_t *t)
{
    return (size_t)sk_X509_num(t->intermediates);
}

static void subject_str(X509 *x, char *buf, size_t len)
{
    X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len);
}

/* Take ownership of X and file it as anchor or intermediate. */
static int add_cert(dp_trust_t *t, X509 *x, const char *name, char *err,
                    size_t errlen)
{
    char subj[256];

    if (X509_check_ca(x) < 1) {
        subject_str(x, subj, sizeof(subj));
        snprintf(err, errlen, "%s: certificate '%s' is not a CA certificate",
                 name, subj);
        X509_free(x);
        return -1;
    }
    if (X509_self_signed(x, 1) == 1) {
        /* the same anchor twice (e.g. file and directory) is harmless:
         * OpenSSL 3 ignores it, older versions report it */
        if (X509_STORE_add_cert(t->store, x) != 1
            && ERR_GET_REASON(ERR_peek_last_error())
               != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
            snprintf(err, errlen, "%s: cannot add certificate to store",
                     name);
            X509_free(x);
            return -1;
        }
        ERR_clear_error();
        X509_free(x);                       /* the store holds a reference */
        return 0;
    }
    if (sk_X509_push(t->intermediates, x) <= 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        X509_free(x);
        return -1;
    }
    return 0;
}

int dp_trust_add_mem(dp_trust_t *t, const unsigned char *buf, size_t len,
                     const char *name, char *err, size_t errlen)
{
    BIO *bio;
    X509 *x;
    int n = 0;

    if (len > DP_TRUST_FILE_MAX) {
        snprintf(err, errlen, "%s: file too large", name);
        return -1;
    }
    if (len == 0) {
        snprintf(err, errlen, "%s: file is empty", name);
        return -1;
    }
    if (memmem(buf, len, "-----BEGIN", 10) != NULL) {
        bio = BIO_new_mem_buf(buf, (int)len);
        if (bio == NULL) {
            snprintf(err, errlen, "%s: out of memory", name);
            return -1;
        }
        while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (add_cert(t, x, name, err, errlen) != 0) {
                BIO_free(bio);
                return -1;
            }
            n++;
        }
        BIO_free(bio);
        /* running out of PEM blocks ends the loop with a "no start line"
         * error; anything else means a damaged block */
        {
            unsigned long e = ERR_peek_last_error();
            if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM
                            && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                ERR_clear_error();
                snprintf(err, errlen, "%s: malformed PEM certificate after "
                         "%d good one(s)", name, n);
                return -1;
            }
        }
        ERR_clear_error();
    }
    else {
        const unsigned char *p = buf;
        x = d2i_X509(NULL, &p, (long)len);
        if (x == NULL || p != buf + len) {
            X509_free(x);
            ERR_clear_error();
            snprintf(err, errlen, "%s: neither a PEM nor a DER certificate",
                     name);
            return -1;
        }
        if (add_cert(t, x, name, err, errlen) != 0)
            return -1;
        n = 1;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: contains no certificate", name);
        return -1;
    }
    return n;
}

static int add_file(dp_trust_t *t, const char *path, char *err,
                    size_t errlen)
{
    FILE *f;
    unsigned char *buf;
    long size;
    size_t got;
    int rc;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (size > DP_TRUST_FILE_MAX) {
        snprintf(err, errlen, "%s: file too large", path);
        fclose(f);
        return -1;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        snprintf(err, errlen, "%s: short read", path);
        free(buf);
        return -1;
    }
    rc = dp_trust_add_mem(t, buf, got, path, err, errlen);
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

static int add_dir(dp_trust_t *t, const char *path, char *err, size_t errlen)
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
        added = add_file(t, file, err, errlen);
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

int dp_trust_add_path(dp_trust_t *t, const char *path, char *err,
                      size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return add_dir(t, path, err, errlen);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file or directory", path);
        return -1;
    }
    return add_file(t, path, err, errlen);
}

/* The time status of X, or -X509_V_ERR_* when a validity field cannot be
 * parsed (X509_cmp_time() returns 0 then, which must not read as "in
 * range"). */
static int time_status(X509 *x, time_t now)
{
    int nb = X509_cmp_time(X509_get0_notBefore(x), &now);
    int na = X509_cmp_time(X509_get0_notAfter(x), &now);

    if (nb == 0)
        return -X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
    if (na == 0)
        return -X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
    if (nb > 0)
        return DP_TIME_NOT_YET_VALID;
    if (na < 0)
        return DP_TIME_EXPIRED;
    return DP_TIME_VALID;
}

int dp_trust_verify(const dp_trust_t *t, X509 *leaf, STACK_OF(X509) *sent,
                    int auth_level, time_t now, dp_chain_result_t *res)
{
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509_VERIFY_PARAM *param;
    STACK_OF(X509) *chain;
    int i, rc = -1;

    memset(res, 0, sizeof(*res));
    res->time = DP_TIME_VALID;
    res->time_depth = -1;
    res->err_depth = -1;

    untrusted = sent ? sk_X509_dup(sent) : sk_X509_new_null();
    if (untrusted == NULL)
        goto out;
    for (i = 0; i < sk_X509_num(t->intermediates); i++)
        if (sk_X509_push(untrusted, sk_X509_value(t->intermediates, i)) <= 0)
            goto out;

    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, leaf, untrusted))
        goto out;
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    X509_VERIFY_PARAM_set_auth_level(param, auth_level);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);

    if (X509_verify_cert(ctx) == 1) {
        res->verified = 1;
        res->x509_err = X509_V_OK;
        chain = X509_STORE_CTX_get0_chain(ctx);
        for (i = 0; i < sk_X509_num(chain); i++) {
            int ts = time_status(sk_X509_value(chain, i), now);
            if (ts < 0) {                       /* unreadable validity */
                res->verified = 0;
                res->x509_err = -ts;
                res->err_depth = i;
                res->time = DP_TIME_VALID;
                res->time_depth = -1;
                break;
            }
            /* expired outranks not-yet-valid; report the leaf-most one */
            if (ts > (int)res->time) {
                res->time = (dp_time_status_t)ts;
                res->time_depth = i;
            }
        }
    }
    else {
        res->x509_err = X509_STORE_CTX_get_error(ctx);
        res->err_depth = X509_STORE_CTX_get_error_depth(ctx);
        if (res->x509_err == X509_V_OK)       /* should not happen */
            res->x509_err = X509_V_ERR_UNSPECIFIED;
    }
    ERR_clear_error();
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return rc;
}

const char *dp_time_status_string(dp_time_status_t st)
{
    switch (st) {
    case DP_TIME_VALID:         return "valid";
    case DP_TIME_NOT_YET_VALID: return "not-yet-valid";
    case DP_TIME_EXPIRED:       return "expired";
    }
    return "unknown";
}
