/* mod_devprov_fleet.c - DevprovFleet: the per-phone record, its file in
 * the runtime directory, and reading it for the page (shown by
 * mod_devprov_fleetpage.c).
 *
 * Licensed under the Apache License, Version 2.0.
 *
 * The record itself is the core's (src/dp_fleet.h): two tables, the
 * phones and the waiting list, laid out in one file that the parent maps
 * (MAP_SHARED) before the children fork, so that every child and thread
 * writes to the same entries without a lock of httpd's.  The mapping is
 * kept in the process pool, not pconf: a graceful (or plain) restart
 * with the same DevprovFleet keeps it and every entry; children of the
 * old generation keep writing to the same, identical layout.  A stop and
 * start finds the file again and keeps it if its layout is the one
 * configured.  Another size (or a damaged file) makes a new, empty one,
 * said in the error log.
 *
 * The file is made by root with mode 0600 before the children drop their
 * privileges: they write through the inherited mapping, never open it.
 * devprov-check maps it read-only (doc/devprov-check.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_fleet.h"

APLOG_USE_MODULE(devprov);

#define DEFAULT_ENTRIES 100000
#define DEFAULT_WAITING 1000
#define DEFAULT_STALE_DAYS 7

/* The mapping of one file, for the parent's lifetime (process pool) */
typedef struct {
    void *mem;
    size_t len;
    size_t entries, waiting;
    dev_t dev;
    ino_t ino;
} fleet_map_t;

struct devprov_fleet {
    const char *file;           /* absolute (DefaultRuntimeDir) */
    const char *where;          /* file:line */
    size_t entries, waiting;
    apr_time_t stale;
    /* runtime, set by post_config */
    dp_fleet_t phones, queue;
    int ready;
};

/* ------------------------------------------------------------------ */
/* the directive                                                       */

static const char *size_arg(apr_pool_t *p, const char *key, const char *val,
                            long min, long max, long *out)
{
    char *end;
    long n = strtol(val, &end, 10);

    if (*val == '\0' || *end != '\0' || n < min || n > max)
        return apr_psprintf(p, "DevprovFleet: %s=%s: use a number from %ld "
                            "to %ld", key, val, min, max);
    *out = n;
    return NULL;
}

const char *devprov_fleet_cmd(cmd_parms *cmd, int argc, char *const argv[],
                              devprov_fleet_t **out)
{
    devprov_fleet_t *fc;
    long entries = DEFAULT_ENTRIES, waiting = DEFAULT_WAITING;
    long stale = DEFAULT_STALE_DAYS;
    const char *msg = NULL;
    int i;

    if (cmd->server->is_virtual)
        return "DevprovFleet: one record serves the whole server: set it "
               "in the main server configuration, outside <VirtualHost> "
               "(every virtual host with DevprovEngine on records into it)";
    if (argc < 1)
        return "DevprovFleet needs a file name (relative names are in "
               "DefaultRuntimeDir)";
    if (*out != NULL)
        return "DevprovFleet: set more than once";
    for (i = 1; i < argc && msg == NULL; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *val = eq ? eq + 1 : "";
        size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

        if (klen == 7 && !strncmp(argv[i], "entries", 7))
            msg = size_arg(cmd->pool, "entries", val, 16, 16777216,
                           &entries);
        else if (klen == 7 && !strncmp(argv[i], "waiting", 7))
            msg = size_arg(cmd->pool, "waiting", val, 16, 1048576, &waiting);
        else if (klen == 5 && !strncmp(argv[i], "stale", 5))
            msg = size_arg(cmd->pool, "stale", val, 1, 3650, &stale);
        else
            msg = apr_psprintf(cmd->pool, "DevprovFleet: unknown option "
                               "'%s' (use entries=<phones>, waiting=<phones>, "
                               "stale=<days>)", argv[i]);
    }
    if (msg != NULL)
        return msg;
    fc = apr_pcalloc(cmd->pool, sizeof(*fc));
    fc->file = ap_runtime_dir_relative(cmd->pool, argv[0]);
    if (fc->file == NULL)
        return apr_psprintf(cmd->pool, "DevprovFleet: invalid file name "
                            "'%s'", argv[0]);
    fc->where = devprov_cmd_where(cmd);
    fc->entries = (size_t)entries;
    fc->waiting = (size_t)waiting;
    fc->stale = apr_time_from_sec((apr_time_t)stale * 86400);
    *out = fc;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the file                                                            */

static apr_status_t unmap(void *data)
{
    fleet_map_t *m = data;

    munmap(m->mem, m->len);
    return APR_SUCCESS;
}

/* Attach FC's tables to M's memory: 0, or -1 with the reason in ERR. */
static int attach(devprov_fleet_t *fc, const fleet_map_t *m, char *err,
                  size_t errlen)
{
    size_t used = 0, more = 0;

    if (dp_fleet_attach(&fc->phones, m->mem, m->len, fc->entries, &used,
                        err, errlen) != 0)
        return -1;
    if (dp_fleet_attach(&fc->queue, (char *)m->mem + used, m->len - used,
                        fc->waiting, &more, err, errlen) != 0)
        return -1;
    if (used + more != m->len) {
        apr_snprintf(err, errlen, "%lu bytes, not the %lu of its tables",
                     (unsigned long)m->len, (unsigned long)(used + more));
        return -1;
    }
    return 0;
}

/* Map FC's file for the process pool PPROC, keeping what it holds when
 * it is a record of this layout.  NULL, or the reason. */
static const char *map_file(server_rec *s, devprov_fleet_t *fc,
                            apr_pool_t *pproc, fleet_map_t **out)
{
    size_t a = dp_fleet_bytes(fc->entries), b = dp_fleet_bytes(fc->waiting);
    fleet_map_t *m = apr_pcalloc(pproc, sizeof(*m));
    struct stat st;
    char err[256];
    int fd, fresh = 0, had = 0;

    if (a == 0 || b == 0)
        return "sizes out of range";
    m->len = a + b;
    m->entries = fc->entries;
    m->waiting = fc->waiting;
    fd = open(fc->file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return apr_psprintf(pproc, "cannot open it: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return "not a regular file";
    }
    /* only root's own file: it is written by every child */
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        return apr_psprintf(pproc, "owned by uid %lu with mode %04o: it "
                            "must be this server's own (uid %lu, mode "
                            "0600); remove it", (unsigned long)st.st_uid,
                            (unsigned)(st.st_mode & 07777),
                            (unsigned long)geteuid());
    }
    if ((size_t)st.st_size != m->len) {
        fresh = 1;
        had = st.st_size > 0;
        if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)m->len) != 0) {
            const char *why = strerror(errno);

            close(fd);
            return apr_psprintf(pproc, "cannot size it to %lu bytes: %s",
                                (unsigned long)m->len, why);
        }
    }
    /* every page backed now: a file system (a tmpfs) without room for
     * it fails the start here, instead of killing a child with SIGBUS
     * when it first writes to a page of a sparse file */
    if ((errno = posix_fallocate(fd, 0, (off_t)m->len)) != 0
        && errno != EOPNOTSUPP && errno != EINVAL) {
        const char *why = strerror(errno);

        close(fd);
        return apr_psprintf(pproc, "no room for its %lu bytes: %s "
                            "(entries= and waiting= size it)",
                            (unsigned long)m->len, why);
    }
    m->mem = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m->mem == MAP_FAILED)
        return apr_psprintf(pproc, "cannot map it: %s", strerror(errno));
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    apr_pool_cleanup_register(pproc, m, unmap, apr_pool_cleanup_null);
    if (!fresh && attach(fc, m, err, sizeof(err)) == 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "devprov: DevprovFleet "
                     "(%s): kept the record in %s", fc->where, fc->file);
    else {
        if (!fresh || had)
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "devprov: "
                         "DevprovFleet (%s): %s held %s: starting an empty "
                         "record", fc->where, fc->file,
                         had ? apr_psprintf(pproc, "%lu bytes, a record of "
                                            "another size (entries=, "
                                            "waiting=)",
                                            (unsigned long)st.st_size)
                             : err);
        dp_fleet_format(&fc->phones, m->mem, fc->entries,
                        (time_t)apr_time_sec(apr_time_now()));
        dp_fleet_format(&fc->queue, (char *)m->mem + a, fc->waiting,
                        (time_t)apr_time_sec(apr_time_now()));
    }
    *out = m;
    return NULL;
}

int devprov_fleet_post_config(server_rec *s, devprov_fleet_t *fc,
                              apr_pool_t *ptemp)
{
    apr_pool_t *pproc = s->process->pool;
    const char *key;
    fleet_map_t *m = NULL;
    char err[256];
    struct stat st;

    if (fc == NULL)
        return OK;
    /* the mapping of an earlier generation, if it is still this file
     * with this layout */
    key = apr_pstrcat(ptemp, "devprov-fleet:", fc->file, NULL);
    apr_pool_userdata_get((void **)&m, key, pproc);
    if (m != NULL && (m->entries != fc->entries || m->waiting != fc->waiting
                      || stat(fc->file, &st) != 0 || st.st_dev != m->dev
                      || st.st_ino != m->ino))
        m = NULL;           /* the old one stays mapped for its children */
    if (m != NULL && attach(fc, m, err, sizeof(err)) != 0)
        m = NULL;
    if (m == NULL) {
        const char *why = map_file(s, fc, pproc, &m);

        if (why != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "devprov: "
                         "DevprovFleet (%s): %s: %s", fc->where, fc->file,
                         why);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_userdata_set(m, apr_pstrdup(pproc, key),
                              apr_pool_cleanup_null, pproc);
    }
    else
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "devprov: DevprovFleet "
                     "(%s): the record in %s carries on", fc->where,
                     fc->file);
    /* the lock owner: each child sets its own process id when it first
     * records (the copy of FC is its own after the fork) */
    fc->phones.pid = fc->queue.pid = 0;
    fc->ready = 1;
    return OK;
}

/* ------------------------------------------------------------------ */
/* recording                                                           */

void devprov_fleet_record(request_rec *r, devprov_fleet_t *fc,
                          const dp_verdict_t *v, dp_deny_t deny)
{
    const dp_identity_t *id = &v->id;
    dp_fleet_obs_t o;
    dp_fleet_t *t;

    /* one request, recorded once, as the client sent it: httpd runs
     * post_read_request again for internal redirects (mod_actions'
     * php-cgi, mod_rewrite [PT], ErrorDocument) */
    if (fc == NULL || !fc->ready || id->status != DP_ST_DEVICE
        || r->prev != NULL || r->main != NULL)
        return;
    /* the allowlist did not answer: neither listed nor waiting */
    if (v->listed == DP_LISTED_DOWN)
        return;
    /* a genuine phone that is not listed waits for approval; the
     * waiting list has room for a bounded number of them, apart from
     * the phones' */
    t = v->listed == 0 && !v->revoked ? &fc->queue : &fc->phones;
    if (t->pid == 0)
        t->pid = (uint32_t)getpid();
    memset(&o, 0, sizeof(o));
    o.mac = id->mac;
    o.now = (time_t)apr_time_sec(r->request_time);
    o.identified = 1;
    o.by = id->password ? DP_FLEET_BY_PASSWORD
           : id->pinned ? DP_FLEET_BY_PIN : DP_FLEET_BY_CERT;
    o.listed = v->listed == 1 && !v->revoked;
    o.validity = id->password ? -1 : (int)id->time;
    o.not_after = id->password ? 0 : id->not_after;
    o.sha256 = v->sha256[0] && !id->password ? id->sha256 : NULL;
    o.vendor = id->vendor != NULL ? id->vendor->name : NULL;
    o.addr = r->useragent_ip;
    o.ua = apr_table_get(r->headers_in, "User-Agent");
    switch (deny) {
    case DP_DENY_NONE:
        o.refusal = DP_FLEET_REFUSAL_NONE;
        break;
    case DP_DENY_BIND_PATH:
        o.refusal = DP_FLEET_REFUSAL_BIND_PATH;
        break;
    case DP_DENY_UNAVAILABLE:
        o.refusal = DP_FLEET_REFUSAL_DB_UNAVAILABLE;
        break;
    default:
        o.refusal = DP_FLEET_REFUSAL_REASON + (int)dp_verdict_reason_code(v);
        break;
    }
    if (dp_fleet_update(t, &o) != 0)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "devprov: DevprovFleet: "
                      "the record of %s was busy: this request is not "
                      "recorded", v->mac);
}

/* ------------------------------------------------------------------ */
/* reading it                                                          */

static int walk_phone(const dp_fleet_rec_t *rec, void *arg)
{
    devprov_fleet_view_t *w = arg;

    dp_fleet_summary_add(&w->sum, rec, w->now, w->stale);
    if (w->state >= 0
        && (int)dp_fleet_state(rec, w->now, w->stale) != w->state)
        return 0;
    if (w->shown < w->limit)
        w->list[w->shown++] = *rec;
    else
        w->more++;
    return 0;
}

static int by_last_seen(const void *a, const void *b)
{
    const dp_fleet_rec_t *x = a, *y = b;

    if (x->last_seen != y->last_seen)
        return x->last_seen < y->last_seen ? 1 : -1;
    return memcmp(x->mac, y->mac, 6);
}

typedef struct {
    devprov_fleet_view_t *v;
    size_t max;
    const dp_fleet_t *phones;
} wait_walk_t;

static int walk_waiting(const dp_fleet_rec_t *rec, void *arg)
{
    wait_walk_t *w = arg;

    if (!dp_fleet_still_waiting(w->phones, rec))
        return 0;
    if (w->v->nwait < w->max)
        w->v->wait[w->v->nwait++] = *rec;
    else
        w->v->wait_more++;
    return 0;
}

int devprov_fleet_read(request_rec *r, devprov_fleet_view_t *v)
{
    devprov_fleet_t *fc = devprov_srv(r->server)->fleet;
    wait_walk_t ww;
    size_t skipped;

    if (fc == NULL || !fc->ready)
        return -1;
    v->stale = (time_t)apr_time_sec(fc->stale);
    v->shown = v->more = v->nwait = v->wait_more = 0;
    dp_fleet_summary_init(&v->sum, v->now);
    dp_fleet_info(&fc->phones, &v->info);
    v->list = apr_palloc(r->pool, (v->limit ? v->limit : 1)
                                  * sizeof(*v->list));
    skipped = dp_fleet_each(&fc->phones, walk_phone, v);
    qsort(v->list, v->shown, sizeof(*v->list), by_last_seen);
    ww.v = v;
    ww.max = fc->waiting;
    ww.phones = &fc->phones;
    v->wait = apr_palloc(r->pool, ww.max * sizeof(*v->wait));
    skipped += dp_fleet_each(&fc->queue, walk_waiting, &ww);
    qsort(v->wait, v->nwait, sizeof(*v->wait), by_last_seen);
    if (skipped)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "devprov-fleet: %lu "
                      "entries changed while read: not shown",
                      (unsigned long)skipped);
    return 0;
}
