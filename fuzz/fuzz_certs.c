/* fuzz_certs.c - libFuzzer target for dp_certs_parse and dp_trust_add_mem
 * (vendor CA files and DevprovDenyKey files: admin input, PEM or DER).
 *
 * Invariants:
 *   - the return value is the number of certificates handed to the
 *     callback, or -1 with a message naming the input;
 *   - a callback refusing the first certificate stops the parse (-1, no
 *     further call), and nothing leaks (LeakSanitizer);
 *   - the caller's OpenSSL error queue is left as it was;
 *   - for input dp_certs_parse accepts, dp_trust_add_mem either adds the
 *     same number of certificates (the store holds at most that many) or
 *     refuses with a message naming the input (e.g. not a CA).
 */
#include <openssl/err.h>
#include <openssl/x509.h>

#include "fuzz_common.h"
#include "fuzz_err.h"
#include "dp_certs.h"
#include "dp_trust.h"

typedef struct counter {
    int n, stop_at;
} counter_t;

static int count_cb(X509 *x, const char *name, void *arg, char *err,
                    size_t errlen)
{
    counter_t *c = arg;

    FUZZ_CHECK(x != NULL && strcmp(name, "fuzz") == 0);
    X509_free(x);
    if (++c->n == c->stop_at) {
        snprintf(err, errlen, "fuzz: stop");
        return -1;
    }
    return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    counter_t c = { 0, 0 };
    char err[512];
    int rc, rc2;
    dp_trust_t *t;

    if (size > 65536)
        return 0;
    memset(err, 0, sizeof(err));
    err_sentinel();
    rc = dp_certs_parse(data, size, "fuzz", count_cb, &c, err, sizeof(err));
    err_check();
    if (rc < 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0);
    }
    else
        FUZZ_CHECK(rc == c.n && rc > 0);

    if (rc > 0) {
        counter_t s = { 0, 1 };
        err_sentinel();
        rc2 = dp_certs_parse(data, size, "fuzz", count_cb, &s, err,
                             sizeof(err));
        err_check();
        FUZZ_CHECK(rc2 == -1 && s.n == 1);
        FUZZ_CHECK(strcmp(err, "fuzz: stop") == 0);
    }

    if (rc < 0)
        return 0;       /* dp_trust_add_mem is the same parse: it fails too */
    t = dp_trust_new();
    FUZZ_CHECK(t != NULL);
    err_sentinel();
    rc2 = dp_trust_add_mem(t, data, size, "fuzz", err, sizeof(err));
    err_check();
    if (rc2 >= 0) {
        FUZZ_CHECK(rc2 == rc);      /* every certificate was filed */
        FUZZ_CHECK(dp_trust_anchor_count(t) + dp_trust_intermediate_count(t)
                   <= (size_t)rc2);
    }
    else
        FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0);
    dp_trust_free(t);
    return 0;
}
