/* dp_enrol.h - trust on first use, for review: the enrolment file.
 *
 * When enrolment is on, the first certificate seen for an allowlisted MAC
 * that no vendor CA verifies and no pin covers is recorded, one line per
 * MAC:
 *
 *     <mac> sha256:<fingerprint> <ISO time> <vendor rules that read the MAC>
 *
 * Recording grants nothing: the admin reviews the file and approves a
 * phone by copying its pin=sha256:... into the allowlist.  A later,
 * different certificate for a recorded MAC is reported, never recorded.
 *
 * Part of devprov's pure-C core: libc only.
 */
#ifndef DP_ENROL_H
#define DP_ENROL_H

#include <stddef.h>
#include "dp_mac.h"

typedef enum {
    DP_ENROL_ABSENT = 0,        /* no line for the MAC: record it */
    DP_ENROL_SAME,              /* recorded with this fingerprint */
    DP_ENROL_OTHER              /* recorded with another fingerprint */
} dp_enrol_state_t;

/* Look MAC up in the enrolment file contents BUF (LEN bytes). */
dp_enrol_state_t dp_enrol_find(const char *buf, size_t len,
                               const dp_mac_t *mac,
                               const unsigned char *sha256);

/* Format the line to append (with its newline) into OUT; returns its
 * length, or 0 if OUTLEN is too small.  WHEN is an ISO 8601 time. */
size_t dp_enrol_line(char *out, size_t outlen, const dp_mac_t *mac,
                     const unsigned char *sha256, const char *when,
                     const char *vendor);

#endif
