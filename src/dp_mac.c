/* dp_mac.c - MAC address parsing and normal form. */
#include "dp_hex.h"
#include "dp_mac.h"

int dp_mac_parse(const char *s, size_t len, dp_mac_t *out)
{
    char digits[DP_MAC_STRLEN];
    size_t i, group, nd = 0;
    char sep;

    if (s == NULL || out == NULL)
        return -1;
    switch (len) {
    case 12:                        /* 0004f2abcdef */
        return dp_hex_decode(s, DP_MAC_LEN, out->b);
    case 17:                        /* 00:04:f2:ab:cd:ef or 00-04-... */
        sep = s[2];
        group = 2;
        if (sep != ':' && sep != '-')
            return -1;
        break;
    case 14:                        /* 0004.f2ab.cdef */
        sep = '.';
        group = 4;
        break;
    default:
        return -1;
    }
    for (i = 0; i < len; i++) {
        if ((i + 1) % (group + 1) == 0) {
            if (s[i] != sep)
                return -1;
        }
        else {
            digits[nd++] = s[i];
        }
    }
    if (nd != DP_MAC_STRLEN)
        return -1;
    return dp_hex_decode(digits, DP_MAC_LEN, out->b);
}

int dp_mac_is_unicast(const dp_mac_t *mac)
{
    size_t i;
    int zero = 1;

    for (i = 0; i < DP_MAC_LEN; i++)
        if (mac->b[i] != 0)
            zero = 0;
    if (zero)
        return 0;
    return (mac->b[0] & 0x01) == 0;   /* group bit clear (also excludes broadcast) */
}

void dp_mac_format(const dp_mac_t *mac, char *out)
{
    dp_hex_encode(mac->b, DP_MAC_LEN, out);
}

uint64_t dp_mac_to_u64(const dp_mac_t *mac)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < DP_MAC_LEN; i++)
        v = (v << 8) | mac->b[i];
    return v;
}
