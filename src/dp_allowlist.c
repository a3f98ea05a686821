/* dp_allowlist.c - allowlist parsing and O(1) lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_allowlist.h"
#include "dp_file.h"

#define EMPTY_SLOT UINT64_MAX     /* MACs are 48-bit: never equal */

typedef struct slot {
    uint64_t mac;
    uint32_t off;                 /* entry text in the arena */
    uint32_t line;                /* for duplicate reports */
} slot_t;

struct dp_allowlist {
    slot_t *slots;
    size_t mask;                  /* capacity - 1, capacity a power of 2 */
    size_t count;
    /* user= values: the MACs of the lines that have one, by the value's
     * hash (open addressing, EMPTY_SLOT free; NULL when no line has
     * one, else at least one free slot) */
    uint64_t *users;
    size_t umask;
    size_t ucount;
    char *arena;
    size_t arena_len, arena_cap;
    void *map;                    /* an image: slots and arena point here */
    size_t map_len;
};

static uint64_t mix(uint64_t x)
{
    /* splitmix64 finaliser: vendor OUIs share high bits */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static int grow_table(dp_allowlist_t *al)
{
    size_t cap = al->slots ? 2 * (al->mask + 1) : 1024, i;
    slot_t *ns = malloc(cap * sizeof(*ns));

    if (ns == NULL)
        return -1;
    /* whole slots: an image written from the table has no stray bytes */
    memset(ns, 0, cap * sizeof(*ns));
    for (i = 0; i < cap; i++)
        ns[i].mac = EMPTY_SLOT;
    if (al->slots) {
        for (i = 0; i <= al->mask; i++) {
            size_t j;
            if (al->slots[i].mac == EMPTY_SLOT)
                continue;
            j = (size_t)mix(al->slots[i].mac) & (cap - 1);
            while (ns[j].mac != EMPTY_SLOT)
                j = (j + 1) & (cap - 1);
            ns[j] = al->slots[i];
        }
        free(al->slots);
    }
    al->slots = ns;
    al->mask = cap - 1;
    return 0;
}

static slot_t *find_slot(const dp_allowlist_t *al, uint64_t mac)
{
    size_t j = (size_t)mix(mac) & al->mask;

    while (al->slots[j].mac != EMPTY_SLOT && al->slots[j].mac != mac)
        j = (j + 1) & al->mask;
    return &al->slots[j];
}

static int arena_put(dp_allowlist_t *al, const char *s, size_t n)
{
    if (al->arena_len + n > al->arena_cap) {
        size_t cap = al->arena_cap ? al->arena_cap : 4096;
        char *na;
        while (cap < al->arena_len + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            return -1;
        na = realloc(al->arena, cap);
        if (na == NULL)
            return -1;
        al->arena = na;
        al->arena_cap = cap;
    }
    memcpy(al->arena + al->arena_len, s, n);
    al->arena_len += n;
    return 0;
}

static int is_value_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
        || c == '@' || c == '/' || c == '+' || c == '-';
}

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int dp_pin_valid(const char *v, size_t len)
{
    size_t i;

    if (len != 7 + 64 || memcmp(v, "sha256:", 7) != 0)
        return 0;
    for (i = 7; i < len; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')
              || (v[i] >= 'A' && v[i] <= 'F')))
            return 0;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The rules a label and an attribute obey, wherever they come from. */
static int check_label(const char *s, size_t len, char *why, size_t whylen)
{
    size_t i;

    if (len > DP_AL_VALUE_MAX) {
        snprintf(why, whylen, "label longer than %d characters",
                 DP_AL_VALUE_MAX);
        return -1;
    }
    for (i = 0; i < len; i++)
        if (!is_value_char(s[i])) {
            snprintf(why, whylen, "label: character 0x%02x not allowed (use "
                     "A-Z a-z 0-9 . _ : @ / + -)", (unsigned char)s[i]);
            return -1;
        }
    return 0;
}

static int check_key(const char *k, size_t klen, char *why, size_t whylen)
{
    size_t i;
    int ok = klen > 0 && klen <= DP_AL_KEY_MAX && k[0] >= 'a' && k[0] <= 'z';

    for (i = 0; ok && i < klen; i++)
        ok = is_key_char(k[i]);
    if (!ok) {
        snprintf(why, whylen, "attribute name '%.*s' must be 1-%d "
                 "characters of a-z 0-9 _ starting with a letter",
                 (int)(klen > 40 ? 40 : klen), k, DP_AL_KEY_MAX);
        return -1;
    }
    return 0;
}

static int check_attr(const char *k, size_t klen, const char *v,
                      size_t vlen, char *why, size_t whylen)
{
    size_t i;

    if (check_key(k, klen, why, whylen) != 0)
        return -1;
    if (vlen == 0 || vlen > DP_AL_VALUE_MAX) {
        snprintf(why, whylen, "attribute '%.*s': value must be 1-%d "
                 "characters", (int)klen, k, DP_AL_VALUE_MAX);
        return -1;
    }
    for (i = 0; i < vlen; i++)
        if (!is_value_char(v[i])) {
            snprintf(why, whylen, "attribute '%.*s': character 0x%02x not "
                     "allowed (use A-Z a-z 0-9 . _ : @ / + -)", (int)klen, k,
                     (unsigned char)v[i]);
            return -1;
        }
    if (klen == 4 && memcmp(k, "user", 4) == 0) {
        dp_mac_t m;

        if (dp_mac_parse(v, vlen, &m) == 0) {
            snprintf(why, whylen, "user: '%.*s' is a MAC; a user name that "
                     "is a MAC already names that phone (leave user= out)",
                     (int)vlen, v);
            return -1;
        }
    }
    if (klen == 3 && memcmp(k, "pin", 3) == 0 && !dp_pin_valid(v, vlen)) {
        snprintf(why, whylen, "pin: expected sha256: and the 64 hex digits "
                 "of the certificate's SHA-256 fingerprint");
        return -1;
    }
    return 0;
}

/* Parse one line (without its newline) into the list.  Returns 0, or -1
 * with a reason in WHY. */
static int parse_line(dp_allowlist_t *al, const char *p, size_t len,
                      uint32_t lineno, char *why, size_t whylen)
{
    const char *end = p + len, *tok;
    size_t tlen, i;
    dp_mac_t mac;
    uint64_t key;
    slot_t *slot;
    uint32_t off;
    int have_label = 0, fields = 0;
    char keys[DP_AL_ATTRS_MAX][DP_AL_KEY_MAX + 1];
    size_t nkeys = 0;

    /* a record is "label\0k=v\0k=v\0\0": label first, then attributes */
    size_t start = al->arena_len;

    while (p < end) {
        while (p < end && is_blank(*p))
            p++;
        if (p == end || *p == '#')
            break;
        tok = p;
        while (p < end && !is_blank(*p))
            p++;
        tlen = (size_t)(p - tok);

        if (fields == 0) {
            if (dp_mac_parse(tok, tlen, &mac) != 0) {
                snprintf(why, whylen, "'%.*s' is not a MAC address",
                         (int)(tlen > 40 ? 40 : tlen), tok);
                return -1;
            }
            if (!dp_mac_is_unicast(&mac)) {
                snprintf(why, whylen, "'%.*s' is not a device MAC "
                         "(all-zero, broadcast or multicast)", (int)tlen, tok);
                return -1;
            }
            fields++;
            continue;
        }
        if (tlen > DP_AL_KEY_MAX + 1 + DP_AL_VALUE_MAX) {
            snprintf(why, whylen, "field %d too long", fields + 1);
            return -1;
        }
        {
            const char *eq = memchr(tok, '=', tlen);
            if (eq == NULL) {
                if (fields != 1 || have_label) {
                    snprintf(why, whylen, "field %d ('%.*s'): the label must "
                             "come right after the MAC; other fields are "
                             "key=value", fields + 1, (int)tlen, tok);
                    return -1;
                }
                if (check_label(tok, tlen, why, whylen) != 0)
                    return -1;
                if (arena_put(al, tok, tlen) != 0)
                    goto oom;
                have_label = 1;
            }
            else {
                size_t klen = (size_t)(eq - tok), vlen = tlen - klen - 1;
                if (fields == 1 && !have_label) {
                    have_label = 1;            /* empty label */
                }
                if (check_attr(tok, klen, eq + 1, vlen, why, whylen) != 0)
                    return -1;
                for (i = 0; i < nkeys; i++)
                    if (strlen(keys[i]) == klen
                        && memcmp(keys[i], tok, klen) == 0) {
                        snprintf(why, whylen, "attribute '%.*s' given twice",
                                 (int)klen, tok);
                        return -1;
                    }
                if (nkeys == sizeof(keys) / sizeof(keys[0])) {
                    snprintf(why, whylen, "more than %d attributes",
                             (int)(sizeof(keys) / sizeof(keys[0])));
                    return -1;
                }
                memcpy(keys[nkeys], tok, klen);
                keys[nkeys++][klen] = '\0';
                if (nkeys == 1 && arena_put(al, "", 1) != 0)  /* end label */
                    goto oom;
                if (arena_put(al, tok, tlen) != 0 || arena_put(al, "", 1) != 0)
                    goto oom;
            }
        }
        fields++;
    }
    if (fields == 0)
        return 0;                               /* blank or comment */

    /* terminate the record: label NUL (unless attributes did), attrs NUL */
    if (nkeys == 0 && arena_put(al, "", 1) != 0)
        goto oom;
    if (arena_put(al, "", 1) != 0)
        goto oom;
    off = (uint32_t)start;

    key = dp_mac_to_u64(&mac);
    if ((al->count + 1) * 10 > (al->mask + 1) * 7 && grow_table(al) != 0)
        goto oom;
    slot = find_slot(al, key);
    if (slot->mac == key) {
        char m[DP_MAC_STRLEN + 1];
        dp_mac_format(&mac, m);
        snprintf(why, whylen, "%s listed twice (first on line %u)", m,
                 slot->line);
        return -1;
    }
    slot->mac = key;
    slot->off = off;
    slot->line = lineno;
    al->count++;
    return 0;
oom:
    snprintf(why, whylen, "out of memory");
    return -1;
}

/* ---- user names: user=<name> on a line ----------------------------- */

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a, then mixed */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return mix(h);
}

static const char *slot_user(const dp_allowlist_t *al, const slot_t *slot)
{
    dp_entry_t e;

    e.label = al->arena + slot->off;
    e.attrs = e.label + strlen(e.label) + 1;
    return dp_entry_attr(&e, "user");
}

/* The MAC of the line with user=NAME (LEN bytes): its table slot, or
 * the free slot where it would go; NULL without an index. */
static uint64_t *find_user(const dp_allowlist_t *al, const char *name,
                           size_t len)
{
    size_t j;

    if (al->users == NULL)
        return NULL;
    j = (size_t)hash_name(name, len) & al->umask;
    while (al->users[j] != EMPTY_SLOT) {
        const slot_t *slot = find_slot(al, al->users[j]);
        const char *u = slot->mac != EMPTY_SLOT ? slot_user(al, slot) : NULL;

        if (u != NULL && strlen(u) == len && memcmp(u, name, len) == 0)
            break;
        j = (j + 1) & al->umask;
    }
    return &al->users[j];
}

/* After parsing: index the lines' user= values, each given once. */
static int build_users(dp_allowlist_t *al, const char *name, char *err,
                       size_t errlen)
{
    size_t i, n = 0, cap = 16;

    for (i = 0; i <= al->mask; i++)
        if (al->slots[i].mac != EMPTY_SLOT
            && slot_user(al, &al->slots[i]) != NULL)
            n++;
    if (n == 0)
        return 0;
    while (cap * 7 < n * 10 + 7)            /* load at most 0.7, one free */
        cap *= 2;
    al->users = malloc(cap * sizeof(*al->users));
    if (al->users == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    for (i = 0; i < cap; i++)
        al->users[i] = EMPTY_SLOT;
    al->umask = cap - 1;
    for (i = 0; i <= al->mask; i++) {
        const slot_t *slot = &al->slots[i];
        const char *u;
        uint64_t *at;

        if (slot->mac == EMPTY_SLOT || (u = slot_user(al, slot)) == NULL)
            continue;
        at = find_user(al, u, strlen(u));
        if (*at != EMPTY_SLOT) {
            const slot_t *other = find_slot(al, *at);
            uint32_t a = other->line < slot->line ? other->line : slot->line;
            uint32_t b = other->line < slot->line ? slot->line : other->line;

            snprintf(err, errlen, "%s:%u: user=%s already given on line %u "
                     "(one user name names one phone)", name, b, u, a);
            return -1;
        }
        *at = slot->mac;
        al->ucount++;
    }
    return 0;
}

int dp_allowlist_user(const dp_allowlist_t *al, const char *name,
                      size_t len, dp_mac_t *mac)
{
    const uint64_t *at = find_user(al, name, len);
    uint64_t v;
    int i;

    if (at == NULL || *at == EMPTY_SLOT)
        return 0;
    for (v = *at, i = DP_MAC_LEN - 1; i >= 0; i--, v >>= 8)
        mac->b[i] = (unsigned char)(v & 0xff);
    return 1;
}

dp_allowlist_t *dp_allowlist_parse(const char *buf, size_t len,
                                   const char *name, char *err,
                                   size_t errlen)
{
    dp_allowlist_t *al = calloc(1, sizeof(*al));
    const char *p = buf, *end = buf + len;
    uint32_t lineno = 0;
    char why[256];

    if (al == NULL || grow_table(al) != 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        dp_allowlist_free(al);
        return NULL;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        lineno++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > DP_AL_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line longer than %d characters",
                     name, lineno, DP_AL_LINE_MAX);
            dp_allowlist_free(al);
            return NULL;
        }
        if (memchr(p, '\0', n) != NULL || memchr(p, '\r', n) != NULL) {
            snprintf(err, errlen, "%s:%u: control character in line", name,
                     lineno);
            dp_allowlist_free(al);
            return NULL;
        }
        if (parse_line(al, p, n, lineno, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
            dp_allowlist_free(al);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    if (build_users(al, name, err, errlen) != 0) {
        dp_allowlist_free(al);
        return NULL;
    }
    return al;
}

dp_allowlist_t *dp_allowlist_load(const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    dp_allowlist_t *al;

    if (dp_read_file(path, SIZE_MAX, &buf, &len, err, errlen) != 0)
        return NULL;
    al = dp_allowlist_parse(buf, len, path, err, errlen);
    free(buf);
    return al;
}

void dp_allowlist_free(dp_allowlist_t *al)
{
    if (al == NULL)
        return;
    if (al->map != NULL) {
        munmap(al->map, al->map_len);
    }
    else {
        free(al->slots);
        free(al->users);
        free(al->arena);
    }
    free(al);
}

size_t dp_allowlist_count(const dp_allowlist_t *al)
{
    return al->count;
}

size_t dp_allowlist_memory(const dp_allowlist_t *al)
{
    if (al->map != NULL)
        return sizeof(*al) + al->map_len;
    return sizeof(*al) + (al->mask + 1) * sizeof(slot_t)
           + (al->users != NULL ? (al->umask + 1) * sizeof(uint64_t) : 0)
           + al->arena_cap;
}

/* ---- images: a list shared between processes ----------------------- */

/* header, slots, user index (none when ucount is 0), arena */
#define IMAGE_MAGIC "DPALIMG2"

typedef struct image_header {
    char magic[8];
    uint32_t slot_size;           /* sizeof(slot_t), a layout check */
    uint32_t pad;
    uint64_t count, mask, arena_len;
    uint64_t tag[3];
    uint64_t ucount, umask;
} image_header_t;

int dp_allowlist_save_image(const dp_allowlist_t *al, const char *path,
                            const uint64_t tag[3], char *err, size_t errlen)
{
    image_header_t h;
    char tmp[4096];
    const char *parts[4];
    size_t lens[4], i;
    int fd;

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, IMAGE_MAGIC, 8);
    h.slot_size = (uint32_t)sizeof(slot_t);
    h.count = al->count;
    h.mask = al->mask;
    h.arena_len = al->arena_len;
    memcpy(h.tag, tag, sizeof(h.tag));
    h.ucount = al->ucount;
    h.umask = al->users != NULL ? al->umask : 0;
    parts[0] = (const char *)&h;
    lens[0] = sizeof(h);
    parts[1] = (const char *)al->slots;
    lens[1] = (al->mask + 1) * sizeof(slot_t);
    parts[2] = (const char *)al->users;
    lens[2] = al->users != NULL ? (al->umask + 1) * sizeof(uint64_t) : 0;
    parts[3] = al->arena;
    lens[3] = al->arena_len;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
                         (long)getpid()) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    for (i = 0; i < 4; i++) {
        const char *p = parts[i];
        size_t n = lens[i];
        while (n > 0) {
            ssize_t w = write(fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                snprintf(err, errlen, "%s: %s", tmp,
                         w < 0 ? strerror(errno) : "short write");
                close(fd);
                unlink(tmp);
                return -1;
            }
            p += w;
            n -= (size_t)w;
        }
    }
    /* fchmod: the umask must not make it unreadable for the children */
    if (fchmod(fd, 0644) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* A record as parse_line() writes it, within N bytes: a label, then
 * "key=value" strings, then an empty string. */
static int record_ok(const char *p, size_t n)
{
    const char *end = p + n, *nul = memchr(p, '\0', n);
    int first = 1;

    while (nul != NULL) {
        size_t len = (size_t)(nul - p);
        if (!first && len == 0)
            return 1;                   /* the end of the attributes */
        if (!first && memchr(p, '=', len) == NULL)
            return 0;
        first = 0;
        p = nul + 1;
        nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
    }
    return 0;
}

dp_allowlist_t *dp_allowlist_map_image(const char *path, uint64_t tag[3],
                                       char *err, size_t errlen)
{
    dp_allowlist_t *al = NULL;
    image_header_t h;
    struct stat st;
    void *map = MAP_FAILED;
    size_t slots_len, users_len, i;
    const slot_t *slots;
    const uint64_t *users;
    const char *arena;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(h)) {
        snprintf(err, errlen, "%s: not an allowlist image (too short)",
                 path);
        goto fail;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        goto fail;
    }
    memcpy(&h, map, sizeof(h));
    /* the image is ours, but it is checked as if it were not: a lookup
     * never reads outside it */
    if (memcmp(h.magic, IMAGE_MAGIC, 8) != 0
        || h.slot_size != sizeof(slot_t)
        || h.mask >= ((uint64_t)1 << 40) || ((h.mask + 1) & h.mask) != 0
        || h.count > h.mask || h.arena_len > UINT32_MAX
        || h.umask >= ((uint64_t)1 << 40) || ((h.umask + 1) & h.umask) != 0
        || (h.ucount == 0 ? h.umask != 0 : h.ucount > h.umask)
        || h.ucount > h.count) {
        snprintf(err, errlen, "%s: not an allowlist image of this build",
                 path);
        goto fail;
    }
    slots_len = (size_t)(h.mask + 1) * sizeof(slot_t);
    users_len = h.ucount > 0 ? (size_t)(h.umask + 1) * sizeof(uint64_t) : 0;
    if ((uint64_t)st.st_size
        != sizeof(h) + slots_len + users_len + h.arena_len) {
        snprintf(err, errlen, "%s: allowlist image of the wrong size", path);
        goto fail;
    }
    slots = (const slot_t *)((const char *)map + sizeof(h));
    users = (const uint64_t *)((const char *)map + sizeof(h) + slots_len);
    arena = (const char *)map + sizeof(h) + slots_len + users_len;
    /* every record ends inside the arena: it ends in two NULs */
    if (h.count > 0 && (h.arena_len < 2 || arena[h.arena_len - 1] != '\0'
                        || arena[h.arena_len - 2] != '\0')) {
        snprintf(err, errlen, "%s: allowlist image damaged", path);
        goto fail;
    }
    {
        size_t used = 0;
        for (i = 0; i <= h.mask; i++) {
            if (slots[i].mac == EMPTY_SLOT)
                continue;
            if (slots[i].mac >= ((uint64_t)1 << 48)
                || slots[i].off >= h.arena_len
                || !record_ok(arena + slots[i].off,
                              (size_t)h.arena_len - slots[i].off)) {
                snprintf(err, errlen, "%s: allowlist image damaged", path);
                goto fail;
            }
            used++;
        }
        if (used != h.count || used == h.mask + 1) {
            snprintf(err, errlen, "%s: allowlist image damaged", path);
            goto fail;
        }
    }
    al = calloc(1, sizeof(*al));
    if (al == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    al->slots = (slot_t *)slots;
    al->mask = (size_t)h.mask;
    al->arena = (char *)arena;
    al->arena_len = al->arena_cap = (size_t)h.arena_len;
    /* the user index names lines that have a user= (a lookup compares
     * the name itself, so a wrong slot can only fail to find one) */
    if (h.ucount > 0) {
        size_t used = 0;

        for (i = 0; i <= h.umask; i++) {
            const slot_t *slot;

            if (users[i] == EMPTY_SLOT)
                continue;
            slot = users[i] < ((uint64_t)1 << 48) ? find_slot(al, users[i])
                                                  : NULL;
            if (slot == NULL || slot->mac == EMPTY_SLOT
                || slot_user(al, slot) == NULL) {
                snprintf(err, errlen, "%s: allowlist image damaged", path);
                free(al);
                al = NULL;
                goto fail;
            }
            used++;
        }
        if (used != h.ucount) {
            snprintf(err, errlen, "%s: allowlist image damaged", path);
            free(al);
            al = NULL;
            goto fail;
        }
        al->users = (uint64_t *)users;
        al->umask = (size_t)h.umask;
        al->ucount = (size_t)h.ucount;
    }
    close(fd);
    al->map = map;
    al->map_len = (size_t)st.st_size;
    al->count = (size_t)h.count;
    if (tag != NULL)
        memcpy(tag, h.tag, sizeof(h.tag));
    return al;
fail:
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    close(fd);
    return NULL;
}

int dp_allowlist_lookup(const dp_allowlist_t *al, const dp_mac_t *mac,
                        dp_entry_t *out)
{
    const slot_t *slot = find_slot(al, dp_mac_to_u64(mac));

    if (slot->mac == EMPTY_SLOT)
        return 0;
    if (out != NULL) {
        out->label = al->arena + slot->off;
        out->attrs = out->label + strlen(out->label) + 1;
    }
    return 1;
}

int dp_entry_next_attr(const char **cursor, const char **key, size_t *klen,
                       const char **value)
{
    const char *p = *cursor, *eq;

    if (*p == '\0')
        return 0;
    eq = strchr(p, '=');
    *key = p;
    *klen = eq != NULL ? (size_t)(eq - p) : strlen(p);
    *value = eq != NULL ? eq + 1 : "";
    *cursor = p + strlen(p) + 1;
    return 1;
}

const char *dp_entry_attr(const dp_entry_t *entry, const char *key)
{
    const char *cur = entry->attrs, *k, *v;
    size_t klen;

    while (dp_entry_next_attr(&cur, &k, &klen, &v))
        if (klen == strlen(key) && memcmp(k, key, klen) == 0)
            return v;
    return NULL;
}

int dp_allowlist_each(const dp_allowlist_t *al,
                      int (*fn)(void *arg, uint32_t line,
                                const dp_entry_t *entry),
                      void *arg)
{
    size_t i;
    int rc;

    for (i = 0; i <= al->mask; i++) {
        const slot_t *slot = &al->slots[i];
        dp_entry_t e;

        if (slot->mac == EMPTY_SLOT)
            continue;
        e.label = al->arena + slot->off;
        e.attrs = e.label + strlen(e.label) + 1;
        if ((rc = fn(arg, slot->line, &e)) != 0)
            return rc;
    }
    return 0;
}

int dp_allowlist_lookup_fn(void *al, const dp_mac_t *mac, dp_entry_t *out)
{
    return dp_allowlist_lookup(al, mac, out);
}

/* "allowed" column values: SQL booleans as drivers render them */
static int truth(const char *v)
{
    static const char *const yes[] = { "1", "t", "true", "y", "yes", "on" };
    static const char *const no[] = { "0", "f", "false", "n", "no", "off" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return -1;
}

int dp_entry_from_fields(const char *const *names, const char *const *values,
                         size_t n, char *buf, size_t buflen, dp_entry_t *out,
                         char *why, size_t whylen)
{
    size_t i, j, used = 0, label_len = 0;
    const char *label = "";
    int allowed = 1, nattrs = 0;

    for (i = 0; i < n; i++) {
        const char *k = names[i], *v = values[i];
        size_t klen = strlen(k);

        for (j = 0; j < i; j++)
            if (strcasecmp(names[j], k) == 0) {
                snprintf(why, whylen, "column '%.40s' given twice", k);
                return -1;
            }
        if (strcasecmp(k, "allowed") == 0) {
            int t = v != NULL ? truth(v) : 0;   /* NULL: not allowed */
            if (t < 0) {
                snprintf(why, whylen, "column allowed: '%.20s' is not a "
                         "boolean (use 1/0, t/f, true/false)", v);
                return -1;
            }
            allowed = allowed && t;
            continue;
        }
        if (strcasecmp(k, "label") == 0) {
            if (v != NULL) {
                label = v;
                label_len = strlen(v);
                if (check_label(v, label_len, why, whylen) != 0)
                    return -1;
            }
            continue;
        }
        if (klen > DP_AL_KEY_MAX) {
            snprintf(why, whylen, "column name '%.40s' longer than %d "
                     "characters", k, DP_AL_KEY_MAX);
            return -1;
        }
        {
            char key[DP_AL_KEY_MAX + 1];
            for (j = 0; j < klen; j++)  /* SQL names are case-insensitive */
                key[j] = (char)((k[j] >= 'A' && k[j] <= 'Z') ? k[j] + 32
                                                             : k[j]);
            key[klen] = '\0';
            /* the name is checked whatever the value: a bad column is an
             * error in the query, not in one row */
            if (check_key(key, klen, why, whylen) != 0)
                return -1;
            if (v == NULL || *v == '\0')
                continue;               /* NULL: attribute not set */
            if (check_attr(key, klen, v, strlen(v), why, whylen) != 0)
                return -1;
            if (++nattrs > DP_AL_ATTRS_MAX) {
                snprintf(why, whylen, "more than %d attributes",
                         DP_AL_ATTRS_MAX);
                return -1;
            }
        }
    }
    if (!allowed)
        return 0;
    /* the record: label NUL, then "k=v" NUL each, then NUL */
    if (label_len + 1 > buflen)
        goto small;
    memcpy(buf, label, label_len);
    buf[label_len] = '\0';
    used = label_len + 1;
    for (i = 0; i < n; i++) {
        const char *k = names[i], *v = values[i];
        size_t klen = strlen(k), vlen;

        if (strcasecmp(k, "allowed") == 0 || strcasecmp(k, "label") == 0
            || v == NULL || *v == '\0')
            continue;
        vlen = strlen(v);
        if (used + klen + 1 + vlen + 1 + 1 > buflen)
            goto small;
        for (j = 0; j < klen; j++)
            buf[used + j] = (char)((k[j] >= 'A' && k[j] <= 'Z') ? k[j] + 32
                                                                : k[j]);
        buf[used + klen] = '=';
        memcpy(buf + used + klen + 1, v, vlen + 1);
        used += klen + 1 + vlen + 1;
    }
    if (used + 1 > buflen)
        goto small;
    buf[used] = '\0';
    out->label = buf;
    out->attrs = buf + label_len + 1;
    return 1;
small:
    snprintf(why, whylen, "row longer than %lu bytes", (unsigned long)buflen);
    return -1;
}

size_t dp_entry_size(const dp_entry_t *entry)
{
    const char *p = entry->attrs;

    while (*p != '\0')
        p += strlen(p) + 1;
    return strlen(entry->label) + 1 + (size_t)(p - entry->attrs) + 1;
}
