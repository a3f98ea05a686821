/* dp_path.h - does a request path name another phone's per-MAC file?
 *
 * Part of devprov's pure-C core: libc only, no httpd headers.  Used by
 * DevprovBindPath.  The check does not try to guess which file a server
 * will map the path to; it is strict instead: every MAC written anywhere
 * in the path, in any segment (including ones that "..", "//" or "/./"
 * normalisation would remove), in any case, with or without
 * %-encoding (decoded up to 4 times; a path still encoded after that is
 * refused), must be the device's own or a shared
 * (non-unicast, e.g. the all-zero master configuration) address.
 *
 * What counts as a MAC:
 *   - the forms dp_mac_parse accepts (0004f2abcdef, 00:04:f2:ab:cd:ef,
 *     00-04-f2-ab-cd-ef, 0004.f2ab.cdef) at any position;
 *   - every window of 12 hex digits in a longer run of hex digits
 *     ("spa0004f2abcdef.cfg" is a run of 13: a0004f2abcde, 004f2abcdef...).
 *     A run of 13 to 23 hex digits that contains the device's own MAC is
 *     accepted (its other windows overlap the device's MAC and a
 *     vendor prefix such as Cisco's "spa" ends in a hex digit); a run of
 *     24 or more hex digits is accepted only if none of its windows is a
 *     unicast MAC.
 */
#ifndef DP_PATH_H
#define DP_PATH_H

#include <stddef.h>

#include "dp_mac.h"

#define DP_PATH_TOO_DEEP 2

/* Check the LEN bytes at PATH (stop at '?' if present; the query string is
 * not checked).  OWN is the verified device's MAC or NULL for a client
 * that is not a device.  Returns 0 if the path names no MAC but OWN's and
 * shared ones, 1 if it names another unicast MAC (written to *FOUND if
 * FOUND is not NULL), DP_PATH_TOO_DEEP if it is still %-encoded after 4
 * rounds of decoding (refuse it: no phone sends that, and a fifth
 * decoding elsewhere could reveal a MAC), -1 on allocation failure
 * (treat as a refusal). */
int dp_path_check(const char *path, size_t len, const dp_mac_t *own,
                  dp_mac_t *found);

#endif
