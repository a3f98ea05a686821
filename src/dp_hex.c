/* dp_hex.c - hexadecimal helpers. */
#include "dp_hex.h"

int dp_hex_decode(const char *s, size_t n, unsigned char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int hi = dp_hexval(s[2 * i]), lo = dp_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)((hi << 4) | lo);
    }
    return 0;
}

void dp_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}
