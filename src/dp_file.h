/* dp_file.h - read a whole file, for the core units' list and
 * certificate files.
 *
 * Part of devprov's pure-C core: libc only.
 */
#ifndef DP_FILE_H
#define DP_FILE_H

#include <stddef.h>

/* Read all of PATH, at most MAX bytes, into a malloc'd buffer (*BUF,
 * *LEN bytes, NUL-terminated for convenience; free it).  Returns 0, or -1
 * with "PATH: reason" in ERR. */
int dp_read_file(const char *path, size_t max, char **buf, size_t *len,
                 char *err, size_t errlen);

#endif
