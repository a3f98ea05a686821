/* dp_trust.c - vendor trust stores; chains verified from configured
 * certificates only, as of the latest moment they were valid together. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "dp_certs.h"
#include "dp_trust.h"

struct dp_trust {
    X509_STORE *store;              /* every configured certificate */
    STACK_OF(X509) *certs;          /* the same, in configuration order */
    size_t roots;
};

dp_trust_t *dp_trust_new(void)
{
    dp_trust_t *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->store = X509_STORE_new();
    t->certs = sk_X509_new_null();
    if (t->store == NULL || t->certs == NULL) {
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
    sk_X509_pop_free(t->certs, X509_free);
    free(t);
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
    {
        int ok;

        /* every configured certificate is an anchor: a vendor may be
         * trusted at its issuing CA, and nothing the client sends is ever
         * used (the same certificate twice, e.g. file and directory, is
         * harmless: OpenSSL 3 ignores it, older versions report it) */
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

/* Seconds since the epoch of an ASN1_TIME; -1 if it cannot be read. */
static int asn1_time_t(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;

    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return -1;
    *out = timegm(&tm);
    return 0;
}

int dp_cert_not_after(X509 *x, time_t *out)
{
    return asn1_time_t(X509_get0_notAfter(x), out);
}

/* One run of X509_verify_cert over the store's certificates only: at
 * NOW with time checks off (AT == NULL), or as of *AT.  PARTIAL: let a
 * configured issuing CA end the chain.  On success the chain is handed
 * over in *CHAIN (the caller frees it); otherwise *ERR and *DEPTH say
 * why.  Returns 1 verified, 0 not, -1 out of memory. */
static int verify_run(const dp_trust_t *t, X509 *leaf, int auth_level,
                      const time_t *at, int partial, STACK_OF(X509) **chain,
                      int *err, int *depth)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_VERIFY_PARAM *param;
    unsigned long flags = 0;
    int rc = -1;

    *chain = NULL;
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, leaf, NULL))
        goto out;
    param = X509_STORE_CTX_get0_param(ctx);
    if (at == NULL)
        flags |= X509_V_FLAG_NO_CHECK_TIME;
    else
        X509_VERIFY_PARAM_set_time(param, *at);
    if (partial)
        flags |= X509_V_FLAG_PARTIAL_CHAIN;
    X509_VERIFY_PARAM_set_flags(param, flags);
    X509_VERIFY_PARAM_set_auth_level(param, auth_level);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(ctx) == 1) {
        *chain = X509_STORE_CTX_get1_chain(ctx);
        rc = *chain != NULL ? 1 : -1;
    }
    else {
        *err = X509_STORE_CTX_get_error(ctx);
        *depth = X509_STORE_CTX_get_error_depth(ctx);
        if (*err == X509_V_OK)                  /* should not happen */
            *err = X509_V_ERR_UNSPECIFIED;
        rc = 0;
    }
out:
    X509_STORE_CTX_free(ctx);
    return rc;
}

/* The moment nearest NOW at which X is valid: NOW, the last second
 * before its notAfter, or its notBefore.  -1 if never valid or its
 * validity cannot be read. */
static int leaf_moment(X509 *x, time_t now, time_t *at)
{
    time_t nb, na;

    if (asn1_time_t(X509_get0_notBefore(x), &nb) != 0
        || asn1_time_t(X509_get0_notAfter(x), &na) != 0 || nb >= na)
        return -1;
    *at = na <= now ? na - 1 : nb > now ? nb : now;
    return 0;
}

/* verify_run, up to a configured root above the leaf if there is one,
 * else (*PARTIAL set) ending at the configured issuing CA. */
static int build_chain(const dp_trust_t *t, X509 *leaf, int auth_level,
                       const time_t *at, int *partial,
                       STACK_OF(X509) **chain, int *err, int *depth)
{
    int ok = verify_run(t, leaf, auth_level, at, 0, chain, err, depth);

    *partial = 0;
    if (ok == 0 && *err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        && t->roots < dp_trust_count(t)) {
        *partial = 1;
        ok = verify_run(t, leaf, auth_level, at, 1, chain, err, depth);
    }
    return ok;
}

/* Is X a CA certificate (it may sign others), whatever it claims to be
 * otherwise?  CA:TRUE, or a keyUsage that allows certificate signing. */
static int is_ca_cert(X509 *x)
{
    uint32_t flags = X509_get_extension_flags(x);

    return (flags & EXFLAG_CA) != 0
           || ((flags & EXFLAG_KUSAGE) != 0
               && (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) != 0);
}

static void set_subject(dp_chain_result_t *res, X509 *x)
{
    X509_NAME_oneline(X509_get_subject_name(x), res->subject,
                      (int)sizeof(res->subject));
}

/* The window of CHAIN: the latest notBefore and the earliest notAfter,
 * with the depth each comes from.  -1 with *BAD the depth of an
 * unreadable validity field. */
static int chain_window(STACK_OF(X509) *chain, dp_chain_result_t *res,
                        int *nb_depth, int *na_depth, int *bad_err)
{
    int i;

    for (i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        time_t nb, na;

        if (asn1_time_t(X509_get0_notBefore(x), &nb) != 0) {
            *bad_err = X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
            res->err_depth = i;
            return -1;
        }
        if (asn1_time_t(X509_get0_notAfter(x), &na) != 0) {
            *bad_err = X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
            res->err_depth = i;
            return -1;
        }
        if (i == 0 || nb > res->not_before) {
            res->not_before = nb;
            *nb_depth = i;
        }
        if (i == 0 || na < res->not_after) {
            res->not_after = na;
            *na_depth = i;
        }
    }
    return 0;
}

/* The time status of CHAIN at NOW: expired outranks not-yet-valid; the
 * leaf-most certificate with it. */
static void chain_time_status(STACK_OF(X509) *chain, time_t now,
                              dp_chain_result_t *res)
{
    int i;

    res->time = DP_TIME_VALID;
    res->time_depth = -1;
    for (i = 0; i < sk_X509_num(chain); i++) {
        int ts = dp_cert_time_status(sk_X509_value(chain, i), now);

        if (ts > (int)res->time) {
            res->time = (dp_time_status_t)ts;
            res->time_depth = i;
        }
    }
}

int dp_trust_verify(const dp_trust_t *t, X509 *leaf, const dp_keyset_t *deny,
                    int auth_level, time_t now, int accept_future,
                    dp_chain_result_t *res)
{
    STACK_OF(X509) *chain = NULL;
    int partial = 0, ok, err = X509_V_OK, depth = -1, i, rc = -1;
    int nb_depth = 0, na_depth = 0, verified_at = 0;
    time_t at;

    /* the thread's error queue is shared with mod_ssl: leave the caller's
     * entries alone and take our own away on every return */
    ERR_set_mark();
    memset(res, 0, sizeof(*res));
    res->status = DP_CHAIN_UNVERIFIED;
    res->time = DP_TIME_VALID;
    res->time_depth = -1;
    res->err_depth = -1;

    /* first as of the moment nearest NOW at which the leaf itself is
     * valid: no chain was valid later than that, and with time checks on
     * OpenSSL picks, of two configured certificates with the same name and
     * key (a CA renewed), the one valid then; time checks off, it takes
     * whichever comes first, and a good chain could read as never valid */
    if (leaf_moment(leaf, now, &at) == 0) {
        ok = build_chain(t, leaf, auth_level, &at, &partial, &chain, &err,
                         &depth);
        if (ok < 0)
            goto out;
        verified_at = ok == 1;
    }
    /* else the chain, from configured certificates only, signatures and
     * constraints checked, time aside: up to a configured root if one is
     * above the leaf, else ending at the configured issuing CA */
    if (!verified_at) {
        ok = build_chain(t, leaf, auth_level, NULL, &partial, &chain, &err,
                         &depth);
        if (ok < 0)
            goto out;
    }
    if (ok == 0) {
        res->x509_err = err;
        res->err_depth = depth;
        rc = 0;
        goto out;
    }

    /* a CA certificate is not a phone's, even one configured as a CA
     * (with partial chains it would be its own anchor) */
    if (is_ca_cert(leaf)) {
        res->status = DP_CHAIN_CA_LEAF;
        res->err_depth = 0;
        set_subject(res, leaf);
        rc = 0;
        goto out;
    }
    /* a denied key anywhere in the chain: a leaked or mis-issuing CA is
     * shut out by its key */
    for (i = 0; i < sk_X509_num(chain); i++) {
        unsigned char spki[DP_SHA256_LEN];
        X509 *x = sk_X509_value(chain, i);

        if (dp_spki_sha256(x, spki) != 0)
            goto out;
        if (dp_keyset_match(deny, spki)) {
            res->status = DP_CHAIN_DENIED_KEY;
            res->err_depth = i;
            set_subject(res, x);
            rc = 0;
            goto out;
        }
    }

    /* was the chain ever valid as a whole?  notBefore is inclusive and
     * notAfter exclusive for OpenSSL: a moment t with
     * max(notBefore) <= t < min(notAfter) */
    if (chain_window(chain, res, &nb_depth, &na_depth, &err) != 0) {
        res->x509_err = err;
        rc = 0;
        goto out;
    }
    if (res->not_before >= res->not_after) {
        res->status = DP_CHAIN_NEVER_VALID;
        res->err_depth = nb_depth;
        res->time_depth = na_depth;
        rc = 0;
        goto out;
    }
    chain_time_status(chain, now, res);
    if (res->not_before > now) {
        if (!accept_future) {
            res->status = DP_CHAIN_NOT_YET_VALID;
            res->err_depth = nb_depth;
            set_subject(res, sk_X509_value(chain, nb_depth));
            rc = 0;
            goto out;
        }
        at = res->not_before;               /* the moment it becomes valid */
    }
    else {
        at = res->not_after <= now ? res->not_after - 1 : now;
    }

    /* verify as of that moment, time checks on, so that time semantics
     * stay coherent; a chain verified as of the leaf's moment needs no
     * second run (that moment is the one found: the leaf bounds the
     * window, and the chain was valid then) */
    if (!verified_at) {
        sk_X509_pop_free(chain, X509_free);
        ok = verify_run(t, leaf, auth_level, &at, partial, &chain, &err,
                        &depth);
        if (ok < 0)
            goto out;
        if (ok == 0) {
            res->x509_err = err;
            res->err_depth = depth;
            res->time = DP_TIME_VALID;
            res->time_depth = -1;
            rc = 0;
            goto out;
        }
    }
    res->status = DP_CHAIN_OK;
    res->verified = 1;
    res->x509_err = X509_V_OK;
    res->err_depth = -1;
    res->at = at;
    res->depth = sk_X509_num(chain) - 1;
    rc = 0;
out:
    sk_X509_pop_free(chain, X509_free);
    ERR_pop_to_mark();
    return rc;
}

int dp_trust_time_alone(X509 *x, time_t now, int accept_future,
                        dp_chain_result_t *res)
{
    STACK_OF(X509) *one = sk_X509_new_null();
    int nb_depth = 0, na_depth = 0, err = X509_V_OK;

    memset(res, 0, sizeof(*res));
    res->status = DP_CHAIN_UNVERIFIED;
    res->time = DP_TIME_VALID;
    res->time_depth = -1;
    res->err_depth = -1;
    if (one == NULL || sk_X509_push(one, x) <= 0) {
        sk_X509_free(one);
        return -1;
    }
    if (chain_window(one, res, &nb_depth, &na_depth, &err) != 0)
        res->x509_err = err;
    else if (res->not_before >= res->not_after) {
        res->status = DP_CHAIN_NEVER_VALID;
        res->err_depth = 0;
        res->time_depth = 0;
    }
    else {
        chain_time_status(one, now, res);
        if (res->not_before > now && !accept_future) {
            res->status = DP_CHAIN_NOT_YET_VALID;
            res->err_depth = 0;
            set_subject(res, x);
        }
        else {
            res->status = DP_CHAIN_OK;
            res->verified = 1;
            res->at = res->not_before > now ? res->not_before
                      : res->not_after <= now ? res->not_after - 1 : now;
        }
    }
    sk_X509_free(one);
    return 0;
}

static void iso_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "?");
}

dp_reason_t dp_chain_reason(const dp_chain_result_t *res, char *buf,
                            size_t len, const char *vendor)
{
    char when[32];

    switch (res->status) {
    case DP_CHAIN_OK:
        snprintf(buf, len, "verified");
        return DP_REASON_NONE;
    case DP_CHAIN_UNVERIFIED:
        break;
    case DP_CHAIN_CA_LEAF:
        return dp_reason_format(buf, len, DP_REASON_CA_LEAF, NULL);
    case DP_CHAIN_DENIED_KEY:
        /* the leaf's own key: a generic certificate */
        if (res->err_depth == 0)
            return dp_reason_format(buf, len, DP_REASON_GENERIC_KEY, NULL);
        return dp_reason_format(buf, len, DP_REASON_CA_KEY, "%d: %s",
                                res->err_depth, res->subject);
    case DP_CHAIN_NEVER_VALID:
        return dp_reason_format(buf, len, DP_REASON_NEVER_VALID,
                                "notBefore at depth %d is not before "
                                "notAfter at depth %d", res->err_depth,
                                res->time_depth);
    case DP_CHAIN_NOT_YET_VALID:
        iso_time(res->not_before, when, sizeof(when));
        return dp_reason_format(buf, len, DP_REASON_NOT_YET_VALID,
                                "depth %d, from %s): "
                                "DevprovAcceptNotYetValid %s off",
                                res->err_depth, when,
                                vendor != NULL ? vendor : "<vendor>");
    }
    /* UNVERIFIED (and a status this switch does not know) */
    return dp_reason_format(buf, len, DP_REASON_NOT_VERIFIED, "%s",
                            X509_verify_cert_error_string(res->x509_err));
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
