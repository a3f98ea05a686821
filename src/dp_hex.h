/* dp_hex.h - hexadecimal helpers shared by the core units.
 *
 * Part of devprov's pure-C core: libc only.
 */
#ifndef DP_HEX_H
#define DP_HEX_H

#include <stddef.h>

/* Value of hex digit C (either case), or -1. */
int dp_hexval(char c);

/* Decode the 2*N hex digits at S into N bytes; 0, or -1 on a non-hex
 * character (OUT is then undefined). */
int dp_hex_decode(const char *s, size_t n, unsigned char *out);

/* Lower-case hex of the N bytes at IN, NUL-terminated, into OUT (2*N+1). */
void dp_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
