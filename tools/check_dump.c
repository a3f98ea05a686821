/* check_dump.c - devprov-check's server configurations from httpd's own
 * parse: runs "apache2 -t -D DUMP_DEVPROV" (mod_devprov_dump.c) on the
 * Apache configuration, or reads its saved output, and builds one merged
 * cc_srv_t per server from it (doc/dump-format.md).  httpd has applied
 * Include, Define, <IfModule>, <IfVersion>, <Macro>, the merge of every
 * virtual host and devprov's check_config by then: nothing here reads
 * Apache's configuration language.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "src/dp_file.h"
#include "src/dp_hex.h"
#include "tools/check_conf.h"

#define DUMP_HEADER "devprov-dump 1"
#define DUMP_MAX (256 * 1024 * 1024)    /* of a dump, and of httpd's
                                         * messages */
#define FIELDS_MAX 8

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "devprov-check: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- running httpd ----------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len;
    int open;
} sink_t;

static int sink_read(sink_t *s, int fd)
{
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof(tmp));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        s->open = 0;
        return 0;
    }
    if (s->len + (size_t)n > DUMP_MAX)
        return -1;
    s->buf = xrealloc(s->buf, s->len + (size_t)n + 1);
    memcpy(s->buf + s->len, tmp, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return 0;
}

/* Run ARGV, collecting its standard output and error; its exit status,
 * or -1 (with the reason printed) when it could not be run. */
static int run_collect(char *const argv[], sink_t *out, sink_t *err)
{
    int po[2], pe[2], status;
    pid_t pid;

    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        fprintf(stderr, "devprov-check: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "devprov-check: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);

        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->open = err->open = 1;
    while (out->open || err->open) {
        struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };

        fds[0].fd = out->open ? po[0] : -1;
        fds[1].fd = err->open ? pe[0] : -1;
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if ((fds[0].revents && sink_read(out, po[0]) != 0)
            || (fds[1].revents && sink_read(err, pe[0]) != 0)) {
            fprintf(stderr, "devprov-check: %s: over %d bytes of output\n",
                    argv[0], DUMP_MAX);
            kill(pid, SIGKILL);
            break;
        }
    }
    close(po[0]);
    close(pe[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (out->open || err->open)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* One line of httpd's messages, as devprov-check says it: "Syntax error
 * on line N of FILE: MSG" (the innermost, when an Include nests them)
 * becomes "FILE:N: MSG", as every other message of the command names
 * the place; a log line's "[time] [module:level] [pid]" is dropped. */
static void say_httpd_line(const char *line, const char *next,
                           int *used_next)
{
    static const char se[] = "Syntax error on line ";
    const char *p, *q, *of, *file = NULL, *msg = NULL;
    int flen = 0;
    long n = 0;

    *used_next = 0;
    /* the innermost complete "Syntax error on line N of FILE: " (httpd
     * cuts a long message, an Include loop's, at 8 KB) */
    for (p = line; (p = strstr(p, se)) != NULL; p += sizeof(se) - 1) {
        char *end;
        long ln = strtol(p + sizeof(se) - 1, &end, 10);

        if (ln <= 0 || strncmp(end, " of ", 4) != 0)
            continue;
        of = end + 4;
        q = strstr(of, ": ");
        if (q != NULL) {
            file = of;
            flen = (int)(q - of);
            msg = q + 2;
            n = ln;
        }
        else if (*of != '\0' && of[strlen(of) - 1] == ':') {
            /* AH00526: the message is on the next line */
            file = of;
            flen = (int)strlen(of) - 1;
            msg = next != NULL ? next : "";
            *used_next = next != NULL;
            n = ln;
        }
    }
    if (file != NULL) {
        fprintf(stderr, "devprov-check: %.*s:%ld: %s\n", flen, file, n, msg);
        return;
    }
    while (*line == '[') {
        q = strchr(line, ']');
        if (q == NULL)
            break;
        line = q + 1 + (q[1] == ' ');
    }
    fprintf(stderr, "devprov-check: %s\n", line);
}

static void say_httpd(char *text)
{
    char **lines = NULL, *save = NULL, *l;
    size_t n = 0, i;
    int used;

    for (l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        lines = xrealloc(lines, (n + 1) * sizeof(*lines));
        lines[n++] = l;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(lines[i], "Syntax OK") == 0)
            continue;
        say_httpd_line(lines[i], i + 1 < n ? lines[i + 1] : NULL, &used);
        i += (size_t)used;
    }
    free(lines);
}

static int is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- reading a dump ---------------------------------------------------- */

typedef struct {
    cc_conf_t *conf;
    const char *name;           /* the dump, for messages */
    long line;
    cc_srv_t *cur;
    size_t nservers;
} rd_t;

/* Undo doc/dump-format.md's escaping in place; "-" is no value (NULL). */
static char *unesc(char *f)
{
    char *o = f, *i = f;

    if (strcmp(f, "-") == 0)
        return NULL;
    while (*i != '\0') {
        if (i[0] == '%' && i[1] != '\0') {
            int hi = dp_hexval(i[1]), lo = dp_hexval(i[2]);
            if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
                *o++ = (char)(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        *o++ = *i++;
    }
    *o = '\0';
    return f;
}

static int bad(rd_t *r, const char *what)
{
    fprintf(stderr, "devprov-check: %s:%ld: %s\n", r->name, r->line, what);
    r->conf->errors++;
    return -1;
}

static int said(rd_t *r, char *msg)
{
    fprintf(stderr, "devprov-check: %s:%ld: %s\n", r->name, r->line, msg);
    free(msg);
    r->conf->errors++;
    return -1;
}

static cc_vendor_t *find_vendor(cc_srv_t *sc, const char *name)
{
    size_t i;

    for (i = 0; i < sc->nvendors; i++)
        if (strcmp(sc->vendors[i]->v.name, name) == 0)
            return sc->vendors[i];
    return NULL;
}

static int on_off(const char *v, int *out)
{
    if (strcmp(v, "on") == 0)
        *out = 1;
    else if (strcmp(v, "off") == 0)
        *out = 0;
    else if (strcmp(v, "unset") == 0)
        *out = CC_UNSET;
    else
        return -1;
    return 0;
}

static void add_addr(cc_srv_t *sc, const char *host, const char *port)
{
    char *a = strcmp(port, "0") == 0 ? cc_strdup(host ? host : "*")
                                     : cc_printf("%s:%s", host ? host : "*",
                                                 port);
    size_t i;

    /* "*" is an IPv4 and an IPv6 address: one name */
    for (i = 0; i < sc->naddrs; i++)
        if (strcmp(sc->addrs[i], a) == 0) {
            free(a);
            return;
        }
    if (sc->naddrs < CC_MAX_NAMES)
        sc->addrs[sc->naddrs++] = a;
    else
        free(a);
}

/* "ca VENDOR SHA256 BASE64": the certificate itself, checked against its
 * fingerprint, added to the vendor's store in the dump's order. */
static int add_ca(rd_t *r, cc_vendor_t *vc, const char *sha, const char *b64)
{
    size_t n = strlen(b64), len;
    unsigned char *der, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const unsigned char *pp;
    char hex[2 * EVP_MAX_MD_SIZE + 1], err[1024];
    X509 *x;

    if (n == 0 || n % 4 != 0)
        return bad(r, "ca: not base64");
    der = xrealloc(NULL, n / 4 * 3 + 1);
    if (EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n) < 0) {
        free(der);
        return bad(r, "ca: not base64");
    }
    len = n / 4 * 3 - (b64[n - 1] == '=') - (b64[n - 2] == '=');
    pp = der;
    x = d2i_X509(NULL, &pp, (long)len);
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
        X509_free(x);
        free(der);
        return bad(r, "ca: not a certificate");
    }
    X509_free(x);
    dp_hex_encode(md, mdlen, hex);
    if (strcasecmp(hex, sha) != 0) {
        free(der);
        return bad(r, "ca: the certificate does not match its SHA-256");
    }
    if (vc->v.trust == NULL && (vc->v.trust = dp_trust_new()) == NULL) {
        free(der);
        return bad(r, "out of memory");
    }
    if (dp_trust_add_mem(vc->v.trust, der, len, vc->v.name, err,
                         sizeof(err)) < 0) {
        free(der);
        return said(r, cc_printf("ca %s: %s", vc->v.name, err));
    }
    free(der);
    return 0;
}

/* A list already read for an earlier server (inherited, or the same
 * directive): shared, as the server shares it, and read once. */
static const cc_srv_t *same_list(const rd_t *r, const char *where, int allow)
{
    size_t i;
    const cc_conf_t *c = r->conf;

    for (i = 0; i <= c->nvhosts; i++) {
        const cc_srv_t *o = i == 0 ? c->main : c->vhosts[i - 1];
        if (o == NULL || o == r->cur)
            continue;
        if (allow && o->allow != NULL && o->allow_where != NULL
            && strcmp(o->allow_where, where) == 0)
            return o;
        if (!allow && o->revoked != NULL && o->revoked_where != NULL
            && strcmp(o->revoked_where, where) == 0)
            return o;
    }
    return NULL;
}

/* "allowlist PATH SECONDS WHERE" (ALLOW) or "revoked ...": the list
 * read, or shared with the earlier server that has the same one */
static int take_list(rd_t *r, char **f, int allow)
{
    cc_srv_t *sc = r->cur;
    const cc_srv_t *o = f[3] ? same_list(r, f[3], allow) : NULL;
    char *msg;

    if (o != NULL && allow) {
        sc->allow = o->allow;
        sc->allow_path = o->allow_path;
    }
    else if (o != NULL) {
        sc->revoked = o->revoked;
        sc->revoked_path = o->revoked_path;
    }
    else if ((msg = allow ? cc_allowlist(sc, f[1], f[2])
                          : cc_revoked(sc, f[1], f[2])) != NULL) {
        return said(r, msg);
    }
    *(allow ? &sc->allow_where : &sc->revoked_where)
        = f[3] ? cc_strdup(f[3]) : NULL;
    return 0;
}

static int dump_line(rd_t *r, char **f, int nf)
{
    cc_srv_t *sc = r->cur;
    const char *k = f[0];
    cc_vendor_t *vc;
    char *msg = NULL;
    int i;

    for (i = 1; i < nf; i++)
        f[i] = unesc(f[i]);
    if (strcmp(k, "server") == 0) {
        if (nf != 6 || sc != NULL)
            return bad(r, "server: malformed, or the previous one not ended");
        sc = r->cur = cc_srv_new();
        sc->is_virtual = f[3] != NULL && strcmp(f[3], "1") == 0;
        if (f[2] != NULL)
            sc->names[sc->nnames++] = cc_strdup(f[2]);
        /* file:line of its <VirtualHost>, completed at "end" */
        sc->where = sc->is_virtual
                    ? cc_printf("%s:%s", f[4] ? f[4] : "?", f[5] ? f[5] : "?")
                    : NULL;
        if (r->nservers == 0 && sc->is_virtual)
            return bad(r, "server: the first one must be the main server");
        if (r->nservers > 0 && !sc->is_virtual)
            return bad(r, "server: a second main server");
        return 0;
    }
    if (sc == NULL)
        return bad(r, "a setting outside a server record");
    if (strcmp(k, "end") == 0) {
        if (sc->is_virtual) {
            char *w = cc_strdup("<VirtualHost"), *g;
            size_t j;
            for (j = 0; j < sc->naddrs; j++) {
                g = cc_printf("%s %s", w, sc->addrs[j]);
                free(w);
                w = g;
            }
            g = cc_printf("%s> at %s", w, sc->where);
            free(w);
            free(sc->where);
            sc->where = g;
            r->conf->vhosts = xrealloc(r->conf->vhosts,
                                       (r->conf->nvhosts + 1)
                                       * sizeof(cc_srv_t *));
            r->conf->vhosts[r->conf->nvhosts++] = sc;
        }
        else {
            r->conf->main = sc;
        }
        r->nservers++;
        r->cur = NULL;
        return 0;
    }
    if (strcmp(k, "addr") == 0 && nf == 4) {
        add_addr(sc, f[1], f[2] ? f[2] : "0");
    }
    else if (strcmp(k, "alias") == 0 && nf == 2 && f[1] != NULL) {
        if (sc->nnames < CC_MAX_NAMES)
            sc->names[sc->nnames++] = cc_strdup(f[1]);
    }
    else if (strcmp(k, "engine") == 0 && nf == 2 && f[1] != NULL) {
        if (on_off(f[1], &sc->engine) != 0)
            return bad(r, "engine: on, off or unset");
    }
    else if (strcmp(k, "bindpath") == 0 && nf == 2 && f[1] != NULL) {
        if (on_off(f[1], &sc->bind_path) != 0)
            return bad(r, "bindpath: on, off or unset");
    }
    else if (strcmp(k, "deny") == 0 && nf == 2 && f[1] != NULL) {
        dp_policy_t p;
        if (strcmp(f[1], "unset") == 0)
            sc->deny = CC_UNSET;
        else if (dp_policy_parse(f[1], &p) == 0)
            sc->deny = p;
        else
            return bad(r, "deny: off, unverified, unlisted or unset");
    }
    else if (strcmp(k, "vendor") == 0 && nf == 5 && f[1] && f[3] && f[4]) {
        const char *where = f[2] ? f[2] : "?";
        if (find_vendor(sc, f[1]) != NULL)
            return bad(r, "vendor: given twice");
        if ((msg = cc_seclevel(sc, f[1], f[3], where)) != NULL
            || (msg = cc_notyetvalid(sc, f[1], f[4], where)) != NULL)
            return said(r, msg);
    }
    else if (strcmp(k, "trust") == 0 && nf == 3 && f[1] && f[2]) {
        /* as configured, for the reader; the store is built from the
         * "ca" lines, the certificates httpd read */
        if (find_vendor(sc, f[1]) == NULL)
            return bad(r, "trust: no such vendor");
    }
    else if (strcmp(k, "ca") == 0 && nf == 4 && f[1] && f[2] && f[3]) {
        if ((vc = find_vendor(sc, f[1])) == NULL)
            return bad(r, "ca: no such vendor");
        return add_ca(r, vc, f[2], f[3]);
    }
    else if (strcmp(k, "macrule") == 0 && nf == 4 && f[1] && f[2]) {
        /* the vendor's rules as in force: the first one replaces the
         * presets (cc_macfrom), so the result is exactly these */
        if ((vc = find_vendor(sc, f[1])) == NULL)
            return bad(r, "macrule: no such vendor");
        if ((msg = cc_macfrom(sc, f[1], f[2], f[3], vc->where)) != NULL)
            return said(r, msg);
    }
    else if (strcmp(k, "allowlist") == 0 && nf == 4 && f[1] && f[2]) {
        return take_list(r, f, 1);
    }
    else if (strcmp(k, "allowlist-sql") == 0 && nf == 2) {
        sc->sql_where = cc_strdup(f[1] ? f[1] : "?");
    }
    else if (strcmp(k, "denykey") == 0 && nf == 2 && f[1]) {
        char *arg = cc_printf("sha256:%s", f[1]);
        msg = cc_denykey(sc, arg);
        free(arg);
        if (msg != NULL)
            return said(r, msg);
    }
    else if (strcmp(k, "revoked") == 0 && nf == 4 && f[1] && f[2]) {
        return take_list(r, f, 0);
    }
    else if (strcmp(k, "enrol") == 0 && nf == 2 && f[1]) {
        if ((msg = cc_enrol(sc, f[1])) != NULL)
            return said(r, msg);
    }
    else {
        /* a later minor revision may add records: a known keyword with
         * the wrong fields is an error, an unknown one is skipped */
        static const char *const known[] = {
            "addr", "alias", "engine", "bindpath", "deny", "vendor", "trust",
            "ca", "macrule", "allowlist", "allowlist-sql", "denykey",
            "revoked", "enrol", NULL
        };
        for (i = 0; known[i] != NULL; i++)
            if (strcmp(k, known[i]) == 0)
                return said(r, cc_printf("%s: malformed", k));
    }
    return 0;
}

int cc_read_dump(cc_conf_t *conf, char *buf, size_t len, const char *name)
{
    rd_t r;
    char *line = buf, *nl, *f[FIELDS_MAX + 1];
    int done = 0;

    memset(&r, 0, sizeof(r));
    r.conf = conf;
    r.name = name;
    if (memchr(buf, '\0', len) != NULL) {
        fprintf(stderr, "devprov-check: %s: NUL byte: not a devprov dump\n",
                name);
        return -1;
    }
    for (; line < buf + len; line = nl + 1) {
        int nf = 0;
        char *save = NULL, *tok;

        r.line++;
        nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (nl == NULL)
            nl = buf + len;
        *nl = '\0';
        if (r.line == 1) {
            if (strcmp(line, DUMP_HEADER) != 0) {
                fprintf(stderr, "devprov-check: %s: not a devprov dump of "
                        "this version (the first line is not \""
                        DUMP_HEADER "\")\n", name);
                return -1;
            }
            continue;
        }
        if (done)
            return bad(&r, "after the last line (done)");
        for (tok = strtok_r(line, " ", &save); tok != NULL && nf <= FIELDS_MAX;
             tok = strtok_r(NULL, " ", &save))
            f[nf++] = tok;
        if (nf == 0)
            continue;
        if (nf > FIELDS_MAX)
            return bad(&r, "too many fields");
        if (strcmp(f[0], "done") == 0) {
            if (nf != 2 || r.cur != NULL
                || strtoul(f[1], NULL, 10) != r.nservers)
                return bad(&r, "done: not the number of servers read");
            done = 1;
            continue;
        }
        if (dump_line(&r, f, nf) != 0)
            return -1;
    }
    if (!done || conf->main == NULL) {
        fprintf(stderr, "devprov-check: %s: truncated devprov dump (no "
                "\"done\" line)\n", name);
        return -1;
    }
    return 0;
}

int cc_load_dump_file(cc_conf_t *conf, const char *path)
{
    char *buf = NULL, err[1024];
    size_t len = 0;
    int rc;

    if (strcmp(path, "-") == 0) {
        sink_t in;
        memset(&in, 0, sizeof(in));
        in.open = 1;
        while (in.open)
            if (sink_read(&in, STDIN_FILENO) != 0) {
                fprintf(stderr, "devprov-check: (stdin): over %d bytes\n",
                        DUMP_MAX);
                free(in.buf);
                return -1;
            }
        buf = in.buf ? in.buf : cc_strdup("");
        len = in.len;
        path = "(stdin)";
    }
    else if (!is_file(path)) {
        fprintf(stderr, "devprov-check: %s: %s\n", path,
                access(path, F_OK) == 0 ? "not a regular file"
                                        : strerror(errno));
        return -1;
    }
    else if (dp_read_file(path, DUMP_MAX, &buf, &len, err, sizeof(err))
             != 0) {
        fprintf(stderr, "devprov-check: %s\n", err);
        return -1;
    }
    rc = cc_read_dump(conf, buf, len, path);
    free(buf);
    return rc;
}

int cc_load_httpd(cc_conf_t *conf, const char *file)
{
    const char *httpd = conf->httpd ? conf->httpd : "apache2";
    const char *root = conf->server_root ? conf->server_root : "/etc/apache2";
    char **argv, *path, *envvars = NULL;
    size_t n = 0, i;
    sink_t out, err;
    int rc;

    /* as apache2 -f: relative to ServerRoot; a file that is not there
     * but in the current directory is taken from there */
    path = file[0] == '/' ? cc_strdup(file) : cc_printf("%s/%s", root, file);
    if (file[0] != '/' && access(path, F_OK) != 0 && access(file, F_OK) == 0) {
        char cwd[4096];
        free(path);
        path = getcwd(cwd, sizeof(cwd)) ? cc_printf("%s/%s", cwd, file)
                                        : cc_strdup(file);
    }
    /* as apache2ctl: Debian's apache2.conf needs the APACHE_* variables
     * of its envvars file (APACHE_RUN_DIR, APACHE_LOG_DIR, ...) */
    if (conf->envvars != NULL) {
        if (*conf->envvars != '\0')
            envvars = cc_strdup(conf->envvars);
    }
    else if (strstr(httpd, "apache2ctl") != NULL
             || strstr(httpd, "apachectl") != NULL) {
        /* it sources them itself (and makes APACHE_RUN_DIR) */
    }
    else if (getenv("APACHE_ENVVARS") != NULL
             && is_file(getenv("APACHE_ENVVARS"))) {
        envvars = cc_strdup(getenv("APACHE_ENVVARS"));
    }
    else {
        char *dir = cc_strdup(path), *slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = '\0';
            envvars = cc_printf("%s/envvars", dir);
            if (!is_file(envvars)) {
                free(envvars);
                envvars = NULL;
            }
        }
        free(dir);
    }
    if (envvars != NULL && envvars[0] != '/') {  /* "." searches PATH */
        char *e = cc_printf("./%s", envvars);
        free(envvars);
        envvars = e;
    }
    argv = xrealloc(NULL, (14 + 2 * conf->ndefines) * sizeof(*argv));
    if (envvars != NULL) {
        argv[n++] = "/bin/sh";
        argv[n++] = "-c";
        argv[n++] = ". \"$0\" && exec \"$@\"";
        argv[n++] = envvars;
    }
    argv[n++] = (char *)httpd;
    argv[n++] = "-t";
    argv[n++] = "-D";
    argv[n++] = "DUMP_DEVPROV";
    if (conf->server_root != NULL) {
        argv[n++] = "-d";
        argv[n++] = conf->server_root;
    }
    for (i = 0; i < conf->ndefines; i++) {
        argv[n++] = "-D";
        argv[n++] = conf->defines[i];
    }
    argv[n++] = "-f";
    argv[n++] = path;
    argv[n] = NULL;
    rc = run_collect(argv, &out, &err);
    free(argv);
    free(envvars);
    if (rc < 0) {
        free(out.buf);
        free(err.buf);
        free(path);
        return -1;
    }
    if (err.buf != NULL)
        say_httpd(err.buf);
    if (rc == 127) {
        /* exec failed (here or in the shell that sourced envvars) */
        fprintf(stderr, "devprov-check: %s: could not run %s (give the "
                "httpd binary with --httpd or APACHE_HTTPD)\n", file, httpd);
        rc = -1;
    }
    else if (rc != 0) {
        fprintf(stderr, "devprov-check: %s: configuration error(s), as %s "
                "-t reports them\n", file, httpd);
        rc = -1;
    }
    else if (out.buf == NULL
             || strncmp(out.buf, DUMP_HEADER "\n",
                        sizeof(DUMP_HEADER)) != 0) {
        fprintf(stderr, "devprov-check: %s: %s -t -D DUMP_DEVPROV printed "
                "no devprov settings: is mod_devprov loaded there "
                "(LoadModule devprov_module)?\n", file, httpd);
        rc = -1;
    }
    else {
        rc = cc_read_dump(conf, out.buf, out.len,
                          cc_printf("%s -t -D DUMP_DEVPROV", httpd));
    }
    free(out.buf);
    free(err.buf);
    free(path);
    return rc;
}
