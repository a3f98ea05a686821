/* check_fleet.c - devprov-check waiting|approve: the waiting list of
 * DevprovFleet's record, and approving phones from it into the allowlist.
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The record file is mapped read-only (the server's children write it;
 * the core's readers never write, dp_fleet.h).  Approving appends lines
 * to the allowlist file by writing a new version beside it and renaming
 * it over the old one, so the server (which re-reads the file when it
 * changes) never reads half a line; the file keeps its mode and owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/dp_fleet.h"
#include "src/dp_identify.h"
#include "src/dp_mac.h"
#include "tools/check_conf.h"
#include "tools/check_fleet.h"

#define PROG "devprov-check"
#define MAX_WAITING (1u << 20)

#define fleet_fail cc_fail

typedef struct {
    void *mem;
    size_t len;
    dp_fleet_t phones, queue;
} fleet_file_t;

static int open_fleet(const char *path, fleet_file_t *f)
{
    struct stat st;
    char err[256];
    size_t used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return fleet_fail("%s: %s (the DevprovFleet file, in the server's "
                          "DefaultRuntimeDir unless absolute)", path,
                          strerror(errno));
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return fleet_fail("%s: empty or unreadable", path);
    }
    f->len = (size_t)st.st_size;
    f->mem = mmap(NULL, f->len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (f->mem == MAP_FAILED)
        return fleet_fail("%s: cannot map it: %s", path, strerror(errno));
    if (dp_fleet_attach(&f->phones, f->mem, f->len, 0, &used, err,
                        sizeof(err)) != 0
        || dp_fleet_attach(&f->queue, (char *)f->mem + used, f->len - used,
                           0, NULL, err, sizeof(err)) != 0)
        return fleet_fail("%s: %s", path, err);
    return 0;
}

typedef struct {
    dp_fleet_rec_t *list;
    size_t n, max;
    const dp_fleet_t *phones;
} collect_t;

static int collect(const dp_fleet_rec_t *rec, void *arg)
{
    collect_t *c = arg;

    if (!dp_fleet_still_waiting(c->phones, rec))
        return 0;
    if (c->n < c->max)
        c->list[c->n++] = *rec;
    return 0;
}

static int by_first_seen(const void *a, const void *b)
{
    const dp_fleet_rec_t *x = a, *y = b;

    if (x->first_seen != y->first_seen)
        return x->first_seen < y->first_seen ? -1 : 1;
    return memcmp(x->mac, y->mac, 6);
}

static size_t waiting(const fleet_file_t *f, dp_fleet_rec_t **out)
{
    collect_t c = { NULL, 0, 0, &f->phones };
    dp_fleet_info_t info;

    dp_fleet_info(&f->queue, &info);
    c.max = info.capacity < MAX_WAITING ? info.capacity : MAX_WAITING;
    c.list = calloc(c.max ? c.max : 1, sizeof(*c.list));
    if (c.list == NULL)
        return 0;
    dp_fleet_each(&f->queue, collect, &c);
    qsort(c.list, c.n, sizeof(*c.list), by_first_seen);
    *out = c.list;
    return c.n;
}

static const char *when(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0)
        return "-";
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* What the phone sent, for a terminal: printable ASCII, the rest as
 * \xHH (a User-Agent could hold terminal escapes). */
static void print_text(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c < 0x7f && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
}

static void print_list(const dp_fleet_rec_t *list, size_t n, int json)
{
    size_t i;

    if (json)
        printf("[");
    for (i = 0; i < n; i++) {
        const dp_fleet_rec_t *r = &list[i];
        char mac[DP_MAC_STRLEN + 1], fp[65], a[32], b[32];
        dp_mac_t m;

        memcpy(m.b, r->mac, 6);
        dp_mac_format(&m, mac);
        dp_hex_sha256(r->sha256, fp);
        if (json) {
            char vendor[DP_FLEET_VENDOR_MAX * 6], addr[DP_FLEET_ADDR_MAX * 6],
                ua[DP_FLEET_UA_MAX * 6];

            dp_fleet_json_text(vendor, sizeof(vendor), r->vendor);
            dp_fleet_json_text(addr, sizeof(addr), r->addr);
            dp_fleet_json_text(ua, sizeof(ua), r->ua);
            printf("%s\n {\"mac\": \"%s\", \"vendor\": \"%s\", "
                   "\"first_seen\": %lld, \"last_seen\": %lld, "
                   "\"requests\": %u, \"sha256\": \"%s\", \"address\": "
                   "\"%s\", \"user_agent\": \"%s\"}", i ? "," : "", mac,
                   vendor, (long long)r->first_seen,
                   (long long)r->last_seen, r->requests, fp, addr, ua);
            continue;
        }
        printf("%s vendor=%s first=%s last=%s requests=%u sha256=%s "
               "address=", mac, r->vendor[0] ? r->vendor : "-",
               when(r->first_seen, a, sizeof(a)),
               when(r->last_seen, b, sizeof(b)), r->requests, fp);
        print_text(r->addr);
        printf(" user-agent=\"");
        print_text(r->ua);
        printf("\"\n");
    }
    if (json)
        printf("%s]\n", n ? "\n" : "");
}

/* Is MAC on a line of the allowlist text BUF?  (Its first word, in any
 * form dp_mac_parse reads.) */
static int listed_in(const char *buf, size_t len, const dp_mac_t *mac)
{
    const char *p = buf, *end = buf + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end, *w = p, *we;
        dp_mac_t m;

        while (w < eol && (*w == ' ' || *w == '\t'))
            w++;
        we = w;
        while (we < eol && *we != ' ' && *we != '\t' && *we != '\r')
            we++;
        if (we > w && *w != '#' && dp_mac_parse(w, (size_t)(we - w), &m) == 0
            && memcmp(m.b, mac->b, 6) == 0)
            return 1;
        p = eol + 1;
    }
    return 0;
}

static char *read_all(const char *path, size_t *len, struct stat *st)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, k;

    if (f == NULL)
        return NULL;
    if (fstat(fileno(f), st) != 0) {
        fclose(f);
        return NULL;
    }
    do {
        if (n + 65536 > cap) {
            char *nb = realloc(buf, cap = n + 65536 + cap);

            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        k = fread(buf + n, 1, cap - n, f);
        n += k;
    } while (k > 0);
    fclose(f);
    *len = n;
    return buf;
}

/* Write BUF, then LINES, to a new file beside PATH and rename it over
 * PATH, with ST's mode and owner. */
static int replace_file(const char *path, const char *buf, size_t len,
                        const char *lines, const struct stat *st)
{
    char *tmp = malloc(strlen(path) + 32);
    FILE *f;
    int fd, ok;

    if (tmp == NULL)
        return fleet_fail("out of memory");
    sprintf(tmp, "%s.approve.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;

        free(tmp);
        return fleet_fail("%s.approve.*: %s", path, strerror(e));
    }
    f = fdopen(fd, "wb");
    ok = f != NULL && fwrite(buf, 1, len, f) == len
         && (len == 0 || buf[len - 1] == '\n' || fputc('\n', f) != EOF)
         && fputs(lines, f) != EOF && fflush(f) == 0 && fsync(fd) == 0;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    if (ok && (fchmodat(AT_FDCWD, tmp, st->st_mode & 07777, 0) != 0
               || (chown(tmp, st->st_uid, st->st_gid) != 0 && errno != EPERM)))
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        free(tmp);
        return fleet_fail("%s: cannot write the new version: %s", path,
                          strerror(e));
    }
    free(tmp);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: " PROG " waiting FLEETFILE [--json]\n"
"       " PROG " approve FLEETFILE (--allowlist FILE | --sql)\n"
"                    [--label LABEL] (--all | MAC...)\n"
"\n"
"FLEETFILE is DevprovFleet's file (in the server's DefaultRuntimeDir,\n"
"e.g. /var/run/apache2/fleet.dat); it is only read.\n"
"\n"
"waiting   list the genuine phones of a configured vendor that asked but\n"
"          are not in the allowlist, oldest first\n"
"approve   add the waiting phones named (or --all) to the allowlist FILE,\n"
"          each as '<mac> [LABEL] vendor=<its vendor>', after a comment\n"
"          saying when and from what; the file is replaced atomically and\n"
"          the server re-reads it.  With --sql, print INSERT statements\n"
"          for conf/sql/schema.sql's phones table instead.\n"
"\n"
"Exit status: 0 done; 1 a MAC named is not waiting (nothing written);\n"
"2 usage or file error.\n");
}

/* A vendor name from the record as a word of an allowlist line or an SQL
 * string: what DevprovTrust accepts as a name, nothing else. */
static int safe_word(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || strchr("-_.", *s)))
            return 0;
    return 1;
}

static int approve(const fleet_file_t *ff, const char *allowlist, int sql,
                   const char *label, int all, char **macs, int nmacs)
{
    dp_fleet_rec_t *list = NULL;
    size_t n, i, len = 0, cap = 4096, used = 0;
    char *lines = NULL, *buf = NULL;
    struct stat st;
    int k, missing = 0, added = 0, rc = 0;
    unsigned char *pick = NULL;

    /* a label is a word of the line: what a vendor name may be */
    if (label != NULL && (label[0] == '\0' || !safe_word(label)))
        return fleet_fail("--label %s: use letters, digits, - _ .", label);
    n = waiting(ff, &list);
    lines = malloc(cap);
    pick = calloc(n ? n : 1, 1);
    if (list == NULL || lines == NULL || pick == NULL) {
        rc = fleet_fail("out of memory");
        goto done;
    }
    lines[0] = '\0';
    for (k = 0; k < nmacs; k++) {
        dp_mac_t m;
        int found = 0;

        if (dp_mac_parse(macs[k], strlen(macs[k]), &m) != 0) {
            rc = fleet_fail("%s: not a MAC", macs[k]);
            goto done;
        }
        for (i = 0; i < n; i++)
            if (memcmp(list[i].mac, m.b, 6) == 0)
                found = pick[i] = 1;
        if (!found) {
            fprintf(stderr, PROG ": %s is not waiting in the record\n",
                    macs[k]);
            missing = 1;
        }
    }
    if (missing) {
        rc = 1;
        goto done;
    }
    if (all)
        memset(pick, 1, n);
    if (!sql) {
        buf = read_all(allowlist, &len, &st);
        if (buf == NULL) {
            rc = fleet_fail("%s: %s", allowlist, strerror(errno));
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        char mac[DP_MAC_STRLEN + 1], fp[65], a[32], line[512];
        dp_mac_t m;
        int w;

        if (!pick[i])
            continue;
        memcpy(m.b, list[i].mac, 6);
        dp_mac_format(&m, mac);
        dp_hex_sha256(list[i].sha256, fp);
        if (!safe_word(list[i].vendor)) {
            fprintf(stderr, PROG ": %s: the record's vendor name is "
                    "damaged: not added\n", mac);
            continue;
        }
        if (!sql && listed_in(buf, len, &m)) {
            fprintf(stderr, PROG ": %s is already in %s: not added\n", mac,
                    allowlist);
            continue;
        }
        if (sql)
            w = snprintf(line, sizeof(line), "-- first seen %s, certificate "
                         "sha256 %s\nINSERT INTO phones (mac, label, vendor) "
                         "VALUES ('%s', %s%s%s, %s%s%s);\n",
                         when(list[i].first_seen, a, sizeof(a)), fp, mac,
                         label ? "'" : "", label ? label : "NULL",
                         label ? "'" : "", list[i].vendor[0] ? "'" : "",
                         list[i].vendor[0] ? list[i].vendor : "NULL",
                         list[i].vendor[0] ? "'" : "");
        else
            w = snprintf(line, sizeof(line), "# approved by " PROG " from "
                         "the waiting list: first seen %s, certificate "
                         "sha256 %s\n%s%s%s%s%s\n",
                         when(list[i].first_seen, a, sizeof(a)), fp, mac,
                         label ? " " : "", label ? label : "",
                         list[i].vendor[0] ? " vendor=" : "",
                         list[i].vendor);
        if (w < 0 || (size_t)w >= sizeof(line))
            continue;
        if (used + (size_t)w + 1 > cap) {
            char *nl = realloc(lines, cap = (used + (size_t)w + 1) * 2);

            if (nl == NULL) {
                rc = fleet_fail("out of memory");
                goto done;
            }
            lines = nl;
        }
        memcpy(lines + used, line, (size_t)w + 1);
        used += (size_t)w;
        added++;
    }
    if (sql)
        fputs(lines, stdout);
    else if (added == 0)
        printf("nothing to add to %s\n", allowlist);
    else if (replace_file(allowlist, buf, len, lines, &st) != 0)
        rc = 2;
    else
        printf("added %d phone(s) to %s\n", added, allowlist);
done:
    free(list);
    free(lines);
    free(buf);
    free(pick);
    return rc;
}

int check_fleet_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "allowlist", required_argument, NULL, 'a' },
        { "sql", no_argument, NULL, 's' },
        { "label", required_argument, NULL, 'l' },
        { "all", no_argument, NULL, 'A' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *cmd = argv[1], *allowlist = NULL, *label = NULL;
    int json = 0, sql = 0, all = 0, c;
    fleet_file_t ff;

    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'a':
            allowlist = optarg;
            break;
        case 's':
            sql = 1;
            break;
        case 'l':
            label = optarg;
            break;
        case 'A':
            all = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (open_fleet(argv[optind], &ff) != 0)
        return 2;
    optind++;
    if (strcmp(cmd, "waiting") == 0) {
        dp_fleet_rec_t *list = NULL;
        size_t n;

        if (optind != argc || allowlist || sql || label || all) {
            usage(stderr);
            return 2;
        }
        n = waiting(&ff, &list);
        print_list(list, n, json);
        free(list);
        munmap(ff.mem, ff.len);
        return 0;
    }
    if ((allowlist == NULL) == (sql == 0))
        return fleet_fail("approve: give --allowlist FILE or --sql");
    if (all == (optind < argc))
        return fleet_fail("approve: name the MACs to approve, or --all");
    if (json)
        return fleet_fail("approve: --json is for waiting");
    c = approve(&ff, allowlist, sql, label, all, argv + optind,
                argc - optind);
    munmap(ff.mem, ff.len);
    return c;
}
