/* fuzz_err.h - the caller's OpenSSL error queue must survive a call into
 * devprov's core: a sentinel put on it before must still be the last
 * entry after. */
#ifndef FUZZ_ERR_H
#define FUZZ_ERR_H

#include <openssl/err.h>

#include "fuzz_common.h"

static inline void err_sentinel(void)
{
    ERR_clear_error();
    ERR_raise(ERR_LIB_USER, 77);
}

static inline void err_check(void)
{
    unsigned long e = ERR_peek_last_error();

    FUZZ_CHECK(ERR_GET_LIB(e) == ERR_LIB_USER && ERR_GET_REASON(e) == 77);
    ERR_clear_error();
}

#endif
