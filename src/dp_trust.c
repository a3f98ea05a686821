/* dp_trust.c - vendor trust stores and time-agnostic chain verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "dp_certs.h"
#include "dp_trust.h"

struct dp_trust {
    X509_STORE *store;              /* anchors only */
    STACK_OF(X509) *intermediates;  /* chain-building helpers */
    STACK_OF(X509) *certs;          /* every configured one, in order */
    size_t roots;
};

dp_trust_t *dp_trust_new(void)
{
    dp_trust_t *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->store = X509_STORE_new();
    t->intermediates = sk_X509_new_null();
    t->certs = sk_X509_new_null();
    if (t->store == NULL || t->intermediates == NULL || t->certs == NULL) {
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
    sk_X509_pop_free(t->certs, X509_free);
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

size_t dp_trust_count(const dp_trust_t *t)
{
    return (size_t)sk_X509_num(t->certs);
}

size_t dp_trust_root_count(const dp_trust_t *t)
{
    return t->roots;
}

X509 *dp_trust_get(const dp_trust_t *t, size_t i)
{
    return i < dp_trust_count(t) ? sk_X509_value(t->certs, (int)i) : NULL;
}

/* Is X (or a certificate with the same encoding) configured already? */
static int have_cert(const dp_trust_t *t, X509 *x)
{
    int i;

    for (i = 0; i < sk_X509_num(t->certs); i++)
        if (X509_cmp(sk_X509_value(t->certs, i), x) == 0)
            return 1;
    return 0;
}

/* Record X (a new reference) among the configured certificates. */
static int record_cert(dp_trust_t *t, X509 *x, int root)
{
    if (!X509_up_ref(x))
        return -1;
    if (sk_X509_push(t->certs, x) <= 0) {
        X509_free(x);
        return -1;
    }
    if (root)
        t->roots++;
    return 0;
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
    if (have_cert(t, x)) {              /* the same one twice: harmless */
        X509_free(x);
        return 0;
    }
    if (record_cert(t, x, X509_self_signed(x, 1) == 1) != 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        X509_free(x);
        return -1;
    }
    if (X509_self_signed(x, 1) == 1) {
        int ok;

        /* the same anchor twice (e.g. file and directory) is harmless:
         * OpenSSL 3 ignores it, older versions report it */
        ERR_set_mark();
        ok = X509_STORE_add_cert(t->store, x) == 1
             || ERR_GET_REASON(ERR_peek_last_error())
                == X509_R_CERT_ALREADY_IN_HASH_TABLE;
        ERR_pop_to_mark();
        X509_free(x);                       /* the store holds a reference */
        if (!ok) {
            snprintf(err, errlen, "%s: cannot add certificate to store",
                     name);
            return -1;
        }
        return 0;
    }
    if (sk_X509_push(t->intermediates, x) <= 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        X509_free(x);
        return -1;
    }
    return 0;
}

static int add_cert_cb(X509 *x, const char *name, void *arg, char *err,
                       size_t errlen)
{
    return add_cert(arg, x, name, err, errlen);
}

int dp_trust_add_mem(dp_trust_t *t, const unsigned char *buf, size_t len,
                     const char *name, char *err, size_t errlen)
{
    return dp_certs_parse(buf, len, name, add_cert_cb, t, err, errlen);
}

int dp_trust_add_path(dp_trust_t *t, const char *path, char *err,
                      size_t errlen)
{
    return dp_certs_load_path(path, add_cert_cb, t, err, errlen);
}

int dp_cert_time_status(X509 *x, time_t now)
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

    /* the thread's error queue is shared with mod_ssl: leave the caller's
     * entries alone and take our own away on every return */
    ERR_set_mark();
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
            int ts = dp_cert_time_status(sk_X509_value(chain, i), now);
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
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    ERR_pop_to_mark();
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
