/* dp_allowlist.h - the list of phones a provisioning server knows.
 *
 * File format, one phone per line:
 *
 *     # comment
 *     <MAC> [<label>] [<key>=<value> ...]
 *
 * MAC in any form dp_mac_parse() accepts; label and values are 1-128
 * characters of [A-Za-z0-9._:@/+-]; keys are 1-32 characters of
 * [a-z0-9_] starting with a letter.  Fields are separated by blanks.  A
 * MAC listed twice, an unknown character or an over-long line is an error
 * reported as "file:line: reason".  Attributes the list itself gives a
 * meaning to: pin= (a certificate pin), vendor= (the vendor whose
 * certificates may claim the line) and user= (the user name a phone
 * identified by password logs in with: one line each, never a MAC).
 *
 * Lookups are O(1) (open addressing on the 48-bit MAC, load factor at
 * most 0.7); labels and attributes live in one string arena.  An entry
 * costs 16 bytes per table slot (about 23-45 bytes per entry, depending
 * on where the table's doubling falls) plus its text.
 *
 * Part of devprov's pure-C core: libc only.  A loaded list is read-only
 * and may be shared between threads.
 */
#ifndef DP_ALLOWLIST_H
#define DP_ALLOWLIST_H

#include <stddef.h>
#include <stdint.h>
#include "dp_mac.h"

#define DP_AL_LINE_MAX 4096
#define DP_AL_VALUE_MAX 128
#define DP_AL_KEY_MAX 32
#define DP_AL_ATTRS_MAX 32        /* attributes per entry */

typedef struct dp_allowlist dp_allowlist_t;

typedef struct dp_entry {
    const char *label;          /* "" when the line has none */
    const char *attrs;          /* "key=value\0key=value\0\0" */
} dp_entry_t;

/* Parse BUF (LEN bytes, need not be NUL-terminated).  NAME is used in
 * error messages ("NAME:LINE: reason").  Returns NULL on error. */
dp_allowlist_t *dp_allowlist_parse(const char *buf, size_t len,
                                   const char *name, char *err,
                                   size_t errlen);

/* Read and parse the file at PATH. */
dp_allowlist_t *dp_allowlist_load(const char *path, char *err,
                                  size_t errlen);

void dp_allowlist_free(dp_allowlist_t *al);

size_t dp_allowlist_count(const dp_allowlist_t *al);

/* Bytes of memory held by the list (table and arena). */
size_t dp_allowlist_memory(const dp_allowlist_t *al);

/* Write AL as an image file at PATH (a temporary file renamed over it)
 * that other processes map with dp_allowlist_map_image(): one copy in
 * memory, shared through the page cache, instead of one per process.
 * TAG is stored with it (the source file's mtime, size and inode, say).
 * Returns 0, or -1 with the reason in ERR. */
int dp_allowlist_save_image(const dp_allowlist_t *al, const char *path,
                            const uint64_t tag[3], char *err, size_t errlen);

/* Map the image at PATH read-only.  Its layout and bounds are checked
 * (an image from another build or a damaged one is refused).  TAG, if
 * not NULL, receives the stored tag.  Free with dp_allowlist_free(). */
dp_allowlist_t *dp_allowlist_map_image(const char *path, uint64_t tag[3],
                                       char *err, size_t errlen);

/* The phone whose line says user=NAME (LEN bytes, compared exactly):
 * returns 1 and sets MAC, or 0.  A user= value is given on one line at
 * most and is never itself a MAC (dp_allowlist_parse refuses both). */
int dp_allowlist_user(const dp_allowlist_t *al, const char *name,
                      size_t len, dp_mac_t *mac);

/* Find MAC; returns 1 and fills OUT (pointers into the list) if listed. */
int dp_allowlist_lookup(const dp_allowlist_t *al, const dp_mac_t *mac,
                        dp_entry_t *out);

/* A source of entries: returns 1 and fills OUT if MAC is listed, 0 if it
 * is not, -1 if the source could not answer (a database is down).  OUT's
 * pointers stay valid as long as the source says (a loaded list: until
 * it is freed). */
typedef int (*dp_lookup_fn)(void *source, const dp_mac_t *mac,
                            dp_entry_t *out);

/* Call FN for every entry of AL with the line it was read from (table
 * order, not line order).  Stops at the first non-zero answer of FN and
 * returns it; 0 when FN said 0 to every entry. */
int dp_allowlist_each(const dp_allowlist_t *al,
                      int (*fn)(void *arg, uint32_t line,
                                const dp_entry_t *entry),
                      void *arg);

/* dp_allowlist_lookup() as a dp_lookup_fn (SOURCE: a dp_allowlist_t). */
int dp_allowlist_lookup_fn(void *source, const dp_mac_t *mac,
                           dp_entry_t *out);

/* An entry from named fields instead of a file line: a database row.
 * Each of the N fields NAMES[i] = VALUES[i] (VALUES[i] NULL for SQL NULL)
 * is, by its name (case-insensitive):
 *   allowed   a boolean (1/0, t/f, true/false, yes/no, on/off; NULL is
 *             false): the row lists the phone only if it is true;
 *   label     the label (NULL: none);
 *   any other an attribute of that name, lower-cased (NULL or "": unset).
 * Labels, names and values obey the rules of the file format (names are
 * checked even where the value is NULL; at most DP_AL_ATTRS_MAX
 * attributes).  The entry
 * is written into BUF (BUFLEN bytes) and OUT points into it.  Returns 1
 * (listed), 0 (the row says not allowed) or -1 with the reason in WHY. */
int dp_entry_from_fields(const char *const *names, const char *const *values,
                         size_t n, char *buf, size_t buflen, dp_entry_t *out,
                         char *why, size_t whylen);

/* Bytes ENTRY's text takes (label, attributes and terminators), the
 * size to copy it elsewhere. */
size_t dp_entry_size(const dp_entry_t *entry);

/* Iterate over an entry's attributes: *CURSOR starts at entry->attrs.
 * Returns 0 at the end, else 1 with KEY/KLEN and VALUE set. */
int dp_entry_next_attr(const char **cursor, const char **key, size_t *klen,
                       const char **value);

/* True if V (LEN bytes) is a certificate pin: "sha256:" and 64 hex
 * digits (the attribute pin=... of an allowlist line). */
int dp_pin_valid(const char *v, size_t len);

/* Value of attribute KEY of ENTRY, or NULL. */
const char *dp_entry_attr(const dp_entry_t *entry, const char *key);

#endif
