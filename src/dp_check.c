/* dp_check.c - checks of devprov's settings against the TLS handshake's
 * and against each other (see dp_check.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "dp_check.h"

/* Is a certificate with CA's subject and public key in the store?  The
 * lookup goes through the store's lookups, so that a hashed directory
 * (SSLCACertificatePath) is searched as the handshake would. */
static int in_store(X509_STORE *hs, X509 *ca, int *oom)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *found = NULL;
    int i, yes = 0;

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, hs, NULL, NULL)) {
        X509_STORE_CTX_free(ctx);
        *oom = 1;
        return 0;
    }
    found = X509_STORE_CTX_get1_certs(ctx, X509_get_subject_name(ca));
    for (i = 0; found != NULL && i < sk_X509_num(found) && !yes; i++) {
        EVP_PKEY *a = X509_get0_pubkey(sk_X509_value(found, i));
        EVP_PKEY *b = X509_get0_pubkey(ca);
        yes = a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
    }
    sk_X509_pop_free(found, X509_free);
    X509_STORE_CTX_free(ctx);
    return yes;
}

/* Verify CA against HS as the handshake would verify a leaf's issuer:
 * returns 1 (verified; *LEN: the chain's length, CA included), 0 (not;
 * *ERR), -1 (out of memory). */
static int verify_in_store(X509_STORE *hs, X509 *ca, int *len, int *err)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc;

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, hs, ca, NULL)) {
        X509_STORE_CTX_free(ctx);
        return -1;
    }
    /* time is tolerated; no purpose: CA is a CA, not the TLS client; the
     * depth is judged by the caller, as mod_ssl's callback does */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    X509_STORE_CTX_set_depth(ctx, 100);
    rc = X509_verify_cert(ctx);
    if (rc == 1) {
        *len = sk_X509_num(X509_STORE_CTX_get0_chain(ctx));
    }
    else {
        *err = X509_STORE_CTX_get_error(ctx);
        rc = *err == X509_V_ERR_OUT_OF_MEM ? -1 : 0;
    }
    X509_STORE_CTX_free(ctx);
    return rc;
}

int dp_check_handshake_store(const dp_trust_t *t, X509_STORE *hs,
                             int verify_depth, dp_hs_report_fn fn,
                             void *arg)
{
    size_t i, n = dp_trust_count(t);
    int problems = 0;

    for (i = 0; i < n; i++) {
        X509 *ca = dp_trust_get(t, i);
        dp_hs_problem_t p;
        char subject[512];
        BIO *b;
        int oom = 0, len = 0, err = X509_V_OK, rc;

        memset(&p, 0, sizeof(p));
        b = BIO_new(BIO_s_mem());
        if (b == NULL)
            return -1;
        if (X509_NAME_print_ex(b, X509_get_subject_name(ca), 0,
                               XN_FLAG_RFC2253) < 0) {
            BIO_free(b);
            return -1;
        }
        rc = BIO_read(b, subject, (int)sizeof(subject) - 1);
        subject[rc > 0 ? rc : 0] = '\0';
        BIO_free(b);
        p.ca = ca;
        p.subject = subject;
        if (!in_store(hs, ca, &oom)) {
            if (oom)
                return -1;
            p.kind = DP_HS_NOT_IN_STORE;
            fn(arg, &p);
            problems++;
            continue;
        }
        rc = verify_in_store(hs, ca, &len, &err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            p.kind = DP_HS_UNVERIFIED;
            p.x509_err = err;
            fn(arg, &p);
            problems++;
        }
        else if (verify_depth >= 0 && len > verify_depth) {
            p.kind = DP_HS_DEPTH;
            p.need_depth = len;
            fn(arg, &p);
            problems++;
        }
    }
    return problems;
}

typedef struct {
    const char *const *names;
    size_t n;
    uint32_t *lines;
    const char **vendors;
    size_t count, cap;
    int oom;
} al_scan_t;

static int scan_entry(void *arg, uint32_t line, const dp_entry_t *e)
{
    al_scan_t *s = arg;
    const char *v = dp_entry_attr(e, "vendor");
    size_t i;

    if (v == NULL)
        return 0;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->names[i], v) == 0)
            return 0;
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        uint32_t *l = realloc(s->lines, cap * sizeof(*l));
        const char **vv;
        if (l == NULL) {
            s->oom = 1;
            return 1;
        }
        s->lines = l;
        vv = realloc(s->vendors, cap * sizeof(*vv));
        if (vv == NULL) {
            s->oom = 1;
            return 1;
        }
        s->vendors = vv;
        s->cap = cap;
    }
    s->lines[s->count] = line;
    s->vendors[s->count++] = v;
    return 0;
}

long dp_check_allowlist_vendors(const dp_allowlist_t *al,
                                const char *const *names, size_t n,
                                dp_al_vendor_fn fn, void *arg)
{
    al_scan_t s;
    size_t i, j;
    long rc;

    memset(&s, 0, sizeof(s));
    s.names = names;
    s.n = n;
    (void)dp_allowlist_each(al, scan_entry, &s);
    if (s.oom) {
        rc = -1;
        goto done;
    }
    /* few (typos): sort them by line with an insertion sort */
    for (i = 1; i < s.count; i++) {
        uint32_t l = s.lines[i];
        const char *v = s.vendors[i];
        for (j = i; j > 0 && s.lines[j - 1] > l; j--) {
            s.lines[j] = s.lines[j - 1];
            s.vendors[j] = s.vendors[j - 1];
        }
        s.lines[j] = l;
        s.vendors[j] = v;
    }
    for (i = 0; i < s.count; i++)
        fn(arg, s.lines[i], s.vendors[i]);
    rc = (long)s.count;
done:
    free(s.lines);
    free(s.vendors);
    return rc;
}

char *dp_check_name_list(const char *const *names, size_t n, char *buf,
                         size_t buflen)
{
    size_t i, used = 0;

    if (buflen == 0)
        return buf;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, buflen, "none");
        return buf;
    }
    for (i = 0; i < n; i++) {
        int w = snprintf(buf + used, buflen - used, "%s%s", i ? ", " : "",
                         names[i]);
        if (w < 0 || (size_t)w >= buflen - used) {
            if (buflen > 4)
                memcpy(buf + buflen - 4, "...", 4);
            break;
        }
        used += (size_t)w;
    }
    return buf;
}
