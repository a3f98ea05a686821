/* dp_file.c - read a whole file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_file.h"

int dp_read_file(const char *path, size_t max, char **out, size_t *outlen,
                 char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    do {
        if (cap - len < 4096) {
            char *nb;
            cap = cap ? 2 * cap : 65536;
            nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > max) {
            snprintf(err, errlen, "%s: file too large", path);
            goto fail;
        }
    } while (got > 0);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}
