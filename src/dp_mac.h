/* dp_mac.h - MAC address parsing and normal form.
 *
 * Part of devprov's pure-C core: no httpd headers.  The normal form used
 * everywhere devprov exports or compares a MAC is 12 lower-case hex digits
 * without separators ("0004f2abcdef"), the form Polycom, Cisco and Yealink
 * use in per-phone configuration file names.
 */
#ifndef DP_MAC_H
#define DP_MAC_H

#include <stddef.h>
#include <stdint.h>

#define DP_MAC_LEN 6
#define DP_MAC_STRLEN 12          /* normal form, without the NUL */

typedef struct dp_mac {
    unsigned char b[DP_MAC_LEN];
} dp_mac_t;

/* Parse exactly the LEN bytes at S as a MAC.  Accepted forms (hex digits in
 * either case):  0004F2ABCDEF   00:04:f2:ab:cd:ef   00-04-F2-AB-CD-EF
 * 0004.f2ab.cdef.  One separator kind per address; nothing else may
 * surround or follow it.  Returns 0 on success, -1 if S is not a MAC. */
int dp_mac_parse(const char *s, size_t len, dp_mac_t *out);

/* True if the MAC can belong to a single device: not all-zero (Polycom's
 * "000000000000" master configuration), not broadcast, not multicast. */
int dp_mac_is_unicast(const dp_mac_t *mac);

/* Write the normal form and a NUL into OUT (DP_MAC_STRLEN + 1 bytes). */
void dp_mac_format(const dp_mac_t *mac, char *out);

/* The MAC as a 48-bit integer, for hashing and ordering. */
uint64_t dp_mac_to_u64(const dp_mac_t *mac);

#endif
