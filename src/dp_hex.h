/* dp_hex.h - hexadecimal helpers shared by the core units.
 *
 * Part of devprov's pure-C core: libc only.
 */
#ifndef DP_HEX_H
#define DP_HEX_H

#include <stddef.h>

/* Value of hex digit C (either case), or -1.  Inline: the path check
 * (DevprovBindPath) asks it of every byte of every request's path. */
static inline int dp_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode the 2*N hex digits at S into N bytes; 0, or -1 on a non-hex
 * character (OUT is then undefined). */
int dp_hex_decode(const char *s, size_t n, unsigned char *out);

/* Lower-case hex of the N bytes at IN, NUL-terminated, into OUT (2*N+1). */
void dp_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
