/* mod_devprov_watch.c - list files (DevprovAllowlist, DevprovRevoked)
 * re-read when they change, without a restart: by each process, or, for
 * an allowlist, once by the parent (the MPM's monitor hook), which
 * shares the new list with the children as an image file they map.
 *
 * Licensed under the Apache License, Version 2.0.
 */
#include <stdint.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_allowlist.h"
#include "src/dp_revoked.h"

APLOG_USE_MODULE(devprov);

/* a list file is read once it has not changed for this long */
#define SETTLE_TIME apr_time_from_msec(1000)

/* When W was last checked: set by the request threads of a process
 * (devprov_watch_acquire) and read without the mutex (devprov_watch_due),
 * hence atomic. */
static apr_time_t checked_at(const watched_t *w)
{
    return (apr_time_t)apr_atomic_read64(
        (volatile apr_uint64_t *)&w->checked);
}

static apr_status_t cleanup_watched(void *data)
{
    watched_t *w = data;

    w->destroy(w->list);
    w->list = NULL;
    return APR_SUCCESS;
}

/* Typed adapters for the lists a watched_t can hold. */
static void *load_allowlist(const char *path, char *err, size_t errlen)
{
    return dp_allowlist_load(path, err, errlen);
}

static void free_allowlist(void *list)
{
    dp_allowlist_free(list);
}

static size_t count_allowlist(const void *list)
{
    return dp_allowlist_count(list);
}

static void *load_revoked(const char *path, char *err, size_t errlen)
{
    return dp_revoked_load(path, err, errlen);
}

static void free_revoked(void *list)
{
    dp_revoked_free(list);
}

static size_t count_revoked(const void *list)
{
    return dp_revoked_count(list);
}

/* Read the list file PATH for the directive being processed and watch it
 * (re-read every SECS seconds, default 5, when it changed). */
static const char *watch_open(cmd_parms *cmd, const char *path,
                              const char *secs,
                              void *(*load)(const char *, char *, size_t),
                              void (*destroy)(void *),
                              size_t (*count)(const void *),
                              watched_t **out)
{
    watched_t *w;
    apr_finfo_t fi;
    char err[1024];
    long interval;

    if (dp_conf_interval(cmd->cmd->name, secs, &interval, err, sizeof(err))
        != 0)
        return apr_pstrdup(cmd->pool, err);
    w = apr_pcalloc(cmd->pool, sizeof(*w));
    w->directive = cmd->cmd->name;
    w->directive_where = devprov_cmd_where(cmd);
    w->load = load;
    w->destroy = destroy;
    w->count = count;
    w->path = ap_server_root_relative(cmd->pool, path);
    if (w->path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, path);
    w->interval = apr_time_from_sec(interval);
    w->list = load(w->path, err, sizeof(err));
    if (w->list == NULL)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    apr_pool_cleanup_register(cmd->pool, w, cleanup_watched,
                              apr_pool_cleanup_null);
    if (apr_stat(&fi, w->path, APR_FINFO_MTIME | APR_FINFO_SIZE
                 | APR_FINFO_INODE, cmd->temp_pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: %s: cannot stat the file",
                            cmd->cmd->name, w->path);
    if (apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT,
                                cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot create a mutex",
                            cmd->cmd->name);
    w->mtime = fi.mtime;
    w->size = fi.size;
    w->inode = fi.inode;
    w->checked = (apr_uint64_t)apr_time_now();
    *out = w;
    return NULL;
}

const char *devprov_watch_open(cmd_parms *cmd, const char *path,
                               const char *secs, devprov_list_kind_t kind,
                               watched_t **out)
{
    if (kind == DEVPROV_LIST_ALLOW)
        return watch_open(cmd, path, secs, load_allowlist, free_allowlist,
                          count_allowlist, out);
    return watch_open(cmd, path, secs, load_revoked, free_revoked,
                      count_revoked, out);
}

/* Can the parent write W's image?  (Also removes one left by an earlier
 * run.)  If not, each process re-reads the file itself, as under -X. */
static int image_dir_usable(server_rec *s, watched_t *w, apr_pool_t *ptemp)
{
    const char *probe = apr_pstrcat(ptemp, w->image, ".probe", NULL);
    apr_file_t *f;
    apr_status_t rv;

    apr_file_remove(w->image, ptemp);
    rv = apr_file_open(&f, probe, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                       | APR_FOPEN_TRUNCATE, APR_FPROT_UREAD
                       | APR_FPROT_UWRITE, ptemp);
    if (rv == APR_SUCCESS) {
        apr_file_close(f);
        apr_file_remove(probe, ptemp);
        return 1;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "devprov: %s %s (%s): "
                 "cannot write %s, so each Apache process will re-read the "
                 "file itself when it changes (more memory, more CPU); "
                 "DefaultRuntimeDir should name a directory the server can "
                 "write", w->directive, w->path, w->directive_where, probe);
    return 0;
}

/* An image, removed when the configuration that made it goes: at a stop
 * or restart (a restart removes the previous one anyway), so that the
 * MACs it holds do not outlive the server in the runtime directory. */
typedef struct {
    const char *path;
    pid_t       parent;
} watch_image_t;

static apr_status_t watch_image_remove(void *data)
{
    const watch_image_t *img = data;

    /* only the parent: a child exiting (its exit handlers destroy the
     * global pool, pconf with it) leaves the image to the others */
    if (getpid() == img->parent)
        (void)unlink(img->path);
    return APR_SUCCESS;
}

void devprov_watch_share(server_rec *s, watched_t *w, apr_pool_t *pconf,
                         apr_pool_t *ptemp)
{
    /* named after the directive: the same at every restart, its own for
     * each DevprovAllowlist; an image left by an earlier run is never
     * used */
    const char *key;
    apr_ssize_t len = APR_HASH_KEY_STRING;

    if (w->image != NULL)               /* vhosts share W: once */
        return;
    key = apr_pstrcat(ptemp, w->path, "|", w->directive_where, NULL);
    w->image = ap_runtime_dir_relative(pconf, apr_psprintf(
        ptemp, "devprov-allowlist-%08x.img",
        apr_hashfunc_default(key, &len)));
    if (w->image != NULL && !image_dir_usable(s, w, ptemp))
        w->image = NULL;
    if (w->image != NULL) {
        watch_image_t *img = apr_palloc(pconf, sizeof(*img));

        img->path = w->image;
        img->parent = getpid();
        apr_pool_cleanup_register(pconf, img, watch_image_remove,
                                  apr_pool_cleanup_null);
    }
}

/* Put FRESH in force in place of W's list, for the next verdicts (they
 * see the generation change); with the mutex held, or in the parent. */
static void swap_list(watched_t *w, void *fresh)
{
    void *old = w->list;

    w->list = fresh;
    /* read without the mutex (devprov_watch_generation) */
    apr_atomic_inc32(&w->generation);
    /* nobody else uses OLD: lists are used only under the mutex */
    w->destroy(old);
}

/* Swap in W's list from a newly written image (a child's side of a
 * parent re-read); called with the mutex held, maps with it released. */
static void image_refresh(request_rec *r, watched_t *w)
{
    apr_finfo_t fi;
    dp_allowlist_t *fresh;
    char err[1024];

    if (apr_stat(&fi, w->image, APR_FINFO_MTIME | APR_FINFO_INODE, r->pool)
        != APR_SUCCESS
        || (fi.mtime == w->img_mtime && fi.inode == w->img_inode))
        return;                         /* none yet, or the one we have */
    w->loading = 1;
    apr_thread_mutex_unlock(w->mutex);
    fresh = dp_allowlist_map_image(w->image, NULL, err, sizeof(err));
    apr_thread_mutex_lock(w->mutex);
    w->loading = 0;
    if (fresh == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "devprov: %s: %s; keeping "
                      "the %lu entries read before", w->directive, err,
                      (unsigned long)w->count(w->list));
        w->img_mtime = fi.mtime;        /* not again until it changes */
        w->img_inode = fi.inode;
        return;
    }
    swap_list(w, fresh);
    w->img_mtime = fi.mtime;
    w->img_inode = fi.inode;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "devprov: %s %s: now the "
                  "list the parent re-read, %lu entries", w->directive,
                  w->path, (unsigned long)w->count(w->list));
}

/* The parent's side of a shared list: write LIST (just read from the
 * file, described by FI) as W's image and map it, so that the children,
 * and the children forked later, use one copy.  Returns the list to
 * install: the mapped image, or LIST itself if it could not be shared
 * (logged; the children then keep what they have). */
static void *share_list(server_rec *s, apr_pool_t *p, watched_t *w,
                        void *list, const apr_finfo_t *fi, int *shared)
{
    uint64_t tag[3];
    dp_allowlist_t *mapped = NULL;
    apr_finfo_t ii;
    char err[1024];

    tag[0] = (uint64_t)fi->mtime;
    tag[1] = (uint64_t)fi->size;
    tag[2] = (uint64_t)fi->inode;
    if (dp_allowlist_save_image(list, w->image, tag, err, sizeof(err)) == 0)
        mapped = dp_allowlist_map_image(w->image, NULL, err, sizeof(err));
    if (mapped == NULL
        || apr_stat(&ii, w->image, APR_FINFO_MTIME | APR_FINFO_INODE, p)
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "devprov: %s %s: cannot "
                     "share the new list with the children (%s): they keep "
                     "the list they have", w->directive, w->path, err);
        dp_allowlist_free(mapped);
        return list;
    }
    *shared = 1;
    w->destroy(list);
    w->img_mtime = ii.mtime;
    w->img_inode = ii.inode;
    return mapped;
}

/* Re-read W's file if it changed.  LOCKED: called by a request thread
 * with the mutex held (it returns with it held; the file is read and
 * parsed with it released, so that the other threads of the process go
 * on with the current list meanwhile: a 1M entry list takes most of a
 * second, and one thread re-reads at a time).  Otherwise called by the
 * parent from the monitor hook, where W has an image to share. */
static void watched_reread(server_rec *s, apr_pool_t *p, watched_t *w,
                           int locked)
{
    apr_finfo_t fi;
    void *fresh;
    char err[1024];
    int shared = 0;
    apr_time_t took;

    if (apr_stat(&fi, w->path, APR_FINFO_MTIME | APR_FINFO_SIZE
                 | APR_FINFO_INODE, p) != APR_SUCCESS) {
        if (w->bad_mtime != -1)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "devprov: %s %s: cannot stat the file; keeping the "
                         "%lu entries read before", w->directive, w->path,
                         (unsigned long)w->count(w->list));
        w->bad_mtime = -1;
        return;
    }
    if (w->bad_mtime == -1)
        w->bad_mtime = 0;               /* stat works again */
    if ((fi.mtime == w->mtime && fi.size == w->size && fi.inode == w->inode)
        || (fi.mtime == w->bad_mtime && fi.size == w->bad_size))
        return;
    /* a file modified this very moment may be half written (or just
     * truncated by "cat new > list"): read it at the next check */
    if (apr_time_now() - fi.mtime < SETTLE_TIME
        && apr_time_now() >= fi.mtime) {        /* not a clock skew */
        /* check again soon */
        apr_atomic_set64(&w->checked, (apr_uint64_t)
                         (checked_at(w) - (w->interval - SETTLE_TIME)));
        return;
    }
    if (locked) {
        w->loading = 1;
        apr_thread_mutex_unlock(w->mutex);
    }
    took = apr_time_now();
    fresh = w->load(w->path, err, sizeof(err));
    if (fresh != NULL && w->accept != NULL
        && w->accept(fresh, w->accept_arg, w->path, err, sizeof(err)) != 0) {
        w->destroy(fresh);
        fresh = NULL;
    }
    if (fresh != NULL && !locked && w->image != NULL)
        fresh = share_list(s, p, w, fresh, &fi, &shared);
    took = apr_time_now() - took;
    if (locked) {
        apr_thread_mutex_lock(w->mutex);
        w->loading = 0;
    }
    if (fresh == NULL) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "devprov: %s: %s; keeping the %lu entries read before",
                     w->directive, err, (unsigned long)w->count(w->list));
        w->bad_mtime = fi.mtime;
        w->bad_size = fi.size;
        return;
    }
    swap_list(w, fresh);
    w->mtime = fi.mtime;
    w->size = fi.size;
    w->inode = fi.inode;
    w->bad_mtime = 0;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "devprov: %s %s re-read: %lu entries in %" APR_TIME_T_FMT
                 " ms%s", w->directive, w->path,
                 (unsigned long)w->count(w->list), apr_time_as_msec(took),
                 shared ? ", shared with the children" : "");
}

/* A request's check of W: at most once per interval and process, and by
 * one thread at a time; called with the mutex held. */
static void watched_refresh(request_rec *r, watched_t *w)
{
    apr_time_t now = apr_time_now();

    if (w->loading || now - checked_at(w) < w->interval)
        return;
    apr_atomic_set64(&w->checked, (apr_uint64_t)now);
    if (w->image != NULL)
        image_refresh(r, w);            /* the parent re-reads the file */
    else
        watched_reread(r->server, r->pool, w, 1);
}

/* The parent, about once a second (the MPM's monitor hook): re-read the
 * allowlists that changed and share them with the children. */
int devprov_watch_monitor(apr_pool_t *p, server_rec *s)
{
    apr_time_t now = apr_time_now();
    server_rec *v;

    for (v = s; v != NULL; v = v->next) {
        devprov_srv_t *sc = devprov_srv(v);
        watched_t *w = sc->allow;
        if (w == NULL || w->image == NULL
            || now - checked_at(w) < w->interval)
            continue;                   /* vhosts share W: once each */
        apr_atomic_set64(&w->checked, (apr_uint64_t)now);
        watched_reread(s, p, w, 0);
    }
    return DECLINED;
}

/* Lock W, refresh it if due, and return its current list; the caller
 * uses the list only until devprov_watch_release(). */
void *devprov_watch_acquire(request_rec *r, watched_t *w)
{
    apr_thread_mutex_lock(w->mutex);
    watched_refresh(r, w);
    return w->list;
}

void devprov_watch_release(watched_t *w)
{
    apr_thread_mutex_unlock(w->mutex);
}

/* Is a check of W due (watched_refresh) at NOW?  Read without the
 * mutex, so that a request that only needs the generation takes no
 * lock. */
int devprov_watch_due(const watched_t *w, apr_time_t now)
{
    return now - checked_at(w) >= w->interval;
}


apr_uint32_t devprov_watch_generation(const watched_t *w)
{
    return apr_atomic_read32((volatile apr_uint32_t *)&w->generation);
}
