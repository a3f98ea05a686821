/* dp_certs.h - read X.509 certificates from files, directories or memory.
 *
 * PEM (any number of CERTIFICATE or X509 CERTIFICATE blocks, text around
 * them allowed) or DER (one certificate).  Any other PEM block - a private
 * key, a TRUSTED CERTIFICATE with OpenSSL trust settings, a CRL, ... - is
 * refused with an error naming it, never skipped.  The caller's entries in
 * the thread's OpenSSL error queue are left as they were.  A directory is read in name order, non-recursively,
 * taking its *.pem, *.crt, *.cer and *.der files.  Each certificate is
 * handed to a callback, which takes ownership of it.
 *
 * Part of devprov's pure-C core: OpenSSL and libc only.
 */
#ifndef DP_CERTS_H
#define DP_CERTS_H

#include <stddef.h>
#include <openssl/x509.h>

/* Called once per certificate; owns X.  NAME is the file (or memory
 * name) it came from.  Returns 0, or -1 with a reason in ERR to stop. */
typedef int (*dp_cert_cb)(X509 *x, const char *name, void *arg, char *err,
                          size_t errlen);

/* Returns the number of certificates read, or -1 with a reason naming the
 * file in ERR (also when there is none). */
int dp_certs_parse(const unsigned char *buf, size_t len, const char *name,
                   dp_cert_cb cb, void *arg, char *err, size_t errlen);
int dp_certs_load_path(const char *path, dp_cert_cb cb, void *arg,
                       char *err, size_t errlen);

#endif
