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
 *     refuses with a message naming the input (e.g. not a CA);
 *   - every certificate the store keeps is a CA certificate, each once,
 *     and none of them verifies as a client's own certificate (a CA is
 *     never a phone).
 */
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fuzz_common.h"
#include "fuzz_err.h"
#include "dp_certs.h"
#include "dp_trust.h"

#define NOW ((time_t)1767225600)        /* fixed: runs are reproducible */

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
        size_t i, n = dp_trust_count(t);

        /* each certificate filed once (duplicates merge), all of them CAs */
        FUZZ_CHECK(n <= (size_t)rc2 && dp_trust_root_count(t) <= n);
        for (i = 0; i < n; i++) {
            X509 *ca = dp_trust_get(t, i);
            dp_chain_result_t res;

            FUZZ_CHECK(ca != NULL && X509_check_ca(ca) >= 1);
            /* a configured CA presented as a client's own certificate is
             * never a phone's, whatever its validity or signature */
            FUZZ_CHECK(dp_trust_verify(t, ca, NULL, 0, NOW, 1, &res) == 0);
            FUZZ_CHECK(res.status != DP_CHAIN_OK && !res.verified);
        }
        FUZZ_CHECK(dp_trust_get(t, n) == NULL);
    }
    else
        FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0);
    dp_trust_free(t);
    return 0;
}
