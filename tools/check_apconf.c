/* check_apconf.c - read the devprov directives out of an Apache httpd
 * configuration file, as httpd would: lines with "\" continuations,
 * arguments split and unquoted as ap_getword_conf() does, ${VAR} from
 * Define and the environment, Include/IncludeOptional (wildcards,
 * directories), ServerRoot, <VirtualHost>, <IfModule>/<IfDefine>/<IfFile>
 * evaluated, and devprov directives refused inside <Directory>,
 * <Location>, <Files>, <Limit>, ... as ap_check_cmd_context() does.
 * Every other directive is ignored.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/dp_file.h"
#include "tools/check_conf.h"

#define MAX_ARGS 64
#define MAX_DEPTH 32                    /* nested sections */
#define MAX_INCLUDE_DEPTH 32
#define CONF_FILE_MAX (16 * 1024 * 1024)
#define MAX_FILES 10000                 /* files read in all (Include loops) */

/* What a section does to the directives inside it. */
typedef enum {
    SEC_PLAIN = 0,              /* transparent: IfModule (true) ... */
    SEC_SKIP,                   /* false condition or <Macro>: ignored */
    SEC_VHOST,
    SEC_DIR                     /* per-directory: devprov not allowed */
} sec_kind_t;

typedef struct {
    sec_kind_t kind;
    char name[40];              /* as written, for messages */
} section_t;

typedef struct {
    cc_conf_t *conf;
    cc_srv_t *cur;              /* main or the vhost being read */
    section_t stack[MAX_DEPTH];
    int depth;
    int skipping;               /* depth of the outermost SEC_SKIP, or 0 */
    int include_depth;
    unsigned files;             /* files read so far */
} reader_t;

static int read_file(reader_t *rd, const char *path);

static void conf_error(reader_t *rd, const char *file, int line,
                       const char *msg)
{
    /* all of them, as far as a reader cares */
    if (rd->conf->errors < 50)
        fprintf(stderr, "%s: %s:%d: %s\n", rd->conf->prog, file, line, msg);
    else if (rd->conf->errors == 50)
        fprintf(stderr, "%s: more errors not shown\n", rd->conf->prog);
    rd->conf->errors++;
}

/* ap_server_root_relative() */
static char *root_relative(reader_t *rd, const char *path)
{
    if (path[0] == '/')
        return cc_strdup(path);
    return cc_printf("%s/%s", rd->conf->server_root, path);
}

static int is_defined(const cc_conf_t *conf, const char *name)
{
    size_t i;

    for (i = 0; i < conf->ndefines; i++)
        if (strcmp(conf->defines[i], name) == 0)
            return 1;
    return 0;
}

static void push_str(char ***arr, size_t *n, const char *s)
{
    char **p = realloc(*arr, (*n + 1) * sizeof(*p));

    if (p == NULL) {
        fprintf(stderr, "devprov-check: out of memory\n");
        exit(2);
    }
    p[(*n)++] = cc_strdup(s);
    *arr = p;
}

/* httpd's statically linked modules in Debian's apache2 (apache2 -l) */
static const char *const builtin_modules[] = {
    "core.c", "mod_so.c", "mod_watchdog.c", "http_core.c",
    "mod_log_config.c", "mod_logio.c", "mod_version.c", "mod_unixd.c",
    "core_module", "so_module", "watchdog_module", "http_module",
    "log_config_module", "logio_module", "version_module", "unixd_module",
    NULL
};

static int module_loaded(const cc_conf_t *conf, const char *name)
{
    size_t i;

    for (i = 0; builtin_modules[i] != NULL; i++)
        if (strcmp(builtin_modules[i], name) == 0)
            return 1;
    for (i = 0; i < conf->nmodules; i++)
        if (strcmp(conf->modules[i], name) == 0)
            return 1;
    return 0;
}

/* LoadModule foo_module .../mod_foo.so: known as foo_module and mod_foo.c */
static void note_module(cc_conf_t *conf, const char *id, const char *file)
{
    const char *base = strrchr(file, '/');
    char *c;

    push_str(&conf->modules, &conf->nmodules, id);
    base = base ? base + 1 : file;
    c = cc_strdup(base);
    if (strlen(c) > 3 && strcmp(c + strlen(c) - 3, ".so") == 0) {
        strcpy(c + strlen(c) - 3, ".c");
        push_str(&conf->modules, &conf->nmodules, c);
    }
    free(c);
}

/* ${VAR}: Define'd value, else the environment, else left as written
 * (httpd warns about it). */
static char *resolve_env(reader_t *rd, const char *s)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    const char *p = s;

    if (out == NULL)
        exit(2);
    while (*p) {
        const char *val = NULL, *end;
        size_t vlen;

        if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
            char name[256];
            size_t nlen = (size_t)(end - p - 2), i;

            if (nlen < sizeof(name)) {
                memcpy(name, p + 2, nlen);
                name[nlen] = '\0';
                /* Define NAME VALUE is stored as "NAME=VALUE" */
                for (i = 0; i < rd->conf->ndefines && val == NULL; i++) {
                    const char *d = rd->conf->defines[i];
                    if (strncmp(d, name, nlen) == 0 && d[nlen] == '=')
                        val = d + nlen + 1;
                }
                if (val == NULL)
                    val = getenv(name);
            }
            if (val != NULL) {
                vlen = strlen(val);
                if (len + vlen + 1 > cap) {
                    cap = len + vlen + strlen(end) + 1;
                    out = realloc(out, cap);
                    if (out == NULL)
                        exit(2);
                }
                memcpy(out + len, val, vlen);
                len += vlen;
                p = end + 1;
                continue;
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (out == NULL)
                exit(2);
        }
        out[len++] = *p++;
    }
    out[len] = '\0';
    return out;
}

/* ap_getword_conf(): one word, quoted with " or ' (a backslash escapes
 * the quote and itself) or up to white space (a backslash escapes
 * itself).  Returns NULL at the end of the line. */
static char *getword(char **line)
{
    char *s = *line, *start, *out, *o;
    char quote = 0;

    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s == '\0') {
        *line = s;
        return NULL;
    }
    if (*s == '"' || *s == '\'') {
        quote = *s++;
        start = s;
        while (*s && *s != quote) {
            if (*s == '\\' && (s[1] == quote || s[1] == '\\'))
                s += 2;
            else
                s++;
        }
    }
    else {
        start = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
    }
    out = o = malloc((size_t)(s - start) + 1);
    if (out == NULL)
        exit(2);
    for (char *p = start; p < s; p++) {
        if (*p == '\\' && p + 1 < s
            && (p[1] == '\\' || (quote && p[1] == quote)))
            p++;
        *o++ = *p;
    }
    *o = '\0';
    if (quote && *s == quote)
        s++;
    *line = s;
    return out;
}

static int has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory given to Include: its files and subdirectories, in name
 * order. */
static int read_dir(reader_t *rd, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        push_str(&names, &n, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        char *p = cc_printf("%s/%s", dir, names[i]);
        if (read_file(rd, p) != 0)
            rc = 1;
        free(p);
        free(names[i]);
    }
    free(names);
    return rc;
}

static void do_include(reader_t *rd, const char *file, int line,
                       const char *arg, int optional)
{
    char *path = root_relative(rd, arg);
    struct stat st;

    if (rd->files > MAX_FILES) {                /* reported once */
        free(path);
        return;
    }
    if (rd->include_depth >= MAX_INCLUDE_DEPTH) {
        conf_error(rd, file, line, "Exceeded the maximum include directory "
                   "nesting level (an Include loop?)");
        free(path);
        return;
    }
    rd->include_depth++;
    if (has_wildcard(path)) {
        glob_t g;
        int rc = glob(path, 0, NULL, &g);
        size_t i;

        if (rc == GLOB_NOMATCH) {
            if (!optional) {
                char *m = cc_printf("Include: no matches for the wildcard "
                                    "'%s', failing (use IncludeOptional if "
                                    "required)", path);
                conf_error(rd, file, line, m);
                free(m);
            }
        }
        else if (rc != 0) {
            char *m = cc_printf("Include %s: cannot expand the wildcard",
                                path);
            conf_error(rd, file, line, m);
            free(m);
        }
        else {
            for (i = 0; i < g.gl_pathc; i++)
                if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode))
                    read_dir(rd, g.gl_pathv[i]);
                else
                    read_file(rd, g.gl_pathv[i]);
            globfree(&g);
        }
    }
    else if (stat(path, &st) != 0) {
        if (!optional) {
            char *m = cc_printf("Could not open configuration file %s: %s",
                                path, strerror(errno));
            conf_error(rd, file, line, m);
            free(m);
        }
    }
    else if (S_ISDIR(st.st_mode)) {
        read_dir(rd, path);
    }
    else {
        read_file(rd, path);
    }
    rd->include_depth--;
    free(path);
}

static sec_kind_t section_kind(reader_t *rd, const char *name, char **argv,
                               int argc)
{
    static const char *const dir_like[] = {
        "Directory", "DirectoryMatch", "Files", "FilesMatch", "Location",
        "LocationMatch", "Limit", "LimitExcept", "If", "ElseIf", "Else",
        "Proxy", "ProxyMatch", NULL
    };
    int i, neg;
    const char *a;

    if (!strcasecmp(name, "VirtualHost"))
        return SEC_VHOST;
    for (i = 0; dir_like[i] != NULL; i++)
        if (!strcasecmp(name, dir_like[i]))
            return SEC_DIR;
    if (!strcasecmp(name, "Macro"))
        return SEC_SKIP;
    a = argc > 0 ? argv[0] : "";
    neg = a[0] == '!';
    if (neg)
        a++;
    if (!strcasecmp(name, "IfModule"))
        return (module_loaded(rd->conf, a) != neg) ? SEC_PLAIN : SEC_SKIP;
    if (!strcasecmp(name, "IfDefine")) {
        size_t n = strlen(a);
        size_t j;
        int found = 0;

        for (j = 0; j < rd->conf->ndefines; j++) {
            const char *d = rd->conf->defines[j];
            if (strncmp(d, a, n) == 0 && (d[n] == '\0' || d[n] == '='))
                found = 1;
        }
        return found != neg ? SEC_PLAIN : SEC_SKIP;
    }
    if (!strcasecmp(name, "IfFile")) {
        char *p = root_relative(rd, a);
        struct stat st;
        int exists = stat(p, &st) == 0;

        free(p);
        return exists != neg ? SEC_PLAIN : SEC_SKIP;
    }
    /* IfVersion, IfDirective, IfSection, RequireAll, ...: read through */
    if (!strncasecmp(name, "Require", 7) || !strcasecmp(name, "AuthnProviderAlias")
        || !strcasecmp(name, "AuthzProviderAlias"))
        return SEC_DIR;
    return SEC_PLAIN;
}

/* the innermost per-directory section, for context errors */
static const char *dir_section(const reader_t *rd)
{
    int i;

    for (i = rd->depth - 1; i >= 0; i--)
        if (rd->stack[i].kind == SEC_DIR)
            return rd->stack[i].name;
    return NULL;
}

static char *devprov_directive(reader_t *rd, const char *name, char **argv,
                               int argc, const char *where)
{
    cc_srv_t *sc = rd->cur;
    char *p, *msg;
    int i;

    if (!strcasecmp(name, "DevprovEngine")) {
        if (argc != 1 || (strcasecmp(argv[0], "on")
                          && strcasecmp(argv[0], "off")))
            return cc_printf("DevprovEngine must be On or Off");
        sc->engine = !strcasecmp(argv[0], "on");
        return NULL;
    }
    if (!strcasecmp(name, "DevprovTrust")) {
        if (argc < 2)
            return cc_printf("DevprovTrust requires at least two arguments, "
                             "<vendor> <file-or-directory> ...: the "
                             "vendor's CA certificates (PEM or DER)");
        for (i = 1; i < argc; i++) {
            p = root_relative(rd, argv[i]);
            msg = cc_trust(sc, argv[0], p, where);
            free(p);
            if (msg)
                return msg;
        }
        return NULL;
    }
    if (!strcasecmp(name, "DevprovMacFrom")) {
        if (argc < 2 || argc > 3)
            return cc_printf("DevprovMacFrom takes two or three arguments, "
                             "<vendor> <attribute> [<regex>]: where the "
                             "vendor's certificates carry the MAC");
        return cc_macfrom(sc, argv[0], argv[1], argc == 3 ? argv[2] : NULL,
                          where);
    }
    if (!strcasecmp(name, "DevprovSecurityLevel")) {
        if (argc != 2)
            return cc_printf("DevprovSecurityLevel takes two arguments, "
                             "<vendor> <0-5>: OpenSSL security level for "
                             "the vendor's chains");
        return cc_seclevel(sc, argv[0], argv[1], where);
    }
    if (!strcasecmp(name, "DevprovAcceptNotYetValid")) {
        if (argc != 2)
            return cc_printf("DevprovAcceptNotYetValid takes two arguments, "
                             "<vendor> on|off: admit the vendor's "
                             "certificate chains that become valid only in "
                             "the future (default off)");
        return cc_notyetvalid(sc, argv[0], argv[1], where);
    }
    if (!strcasecmp(name, "DevprovAllowlist")) {
        if (argc < 1 || argc > 2)
            return cc_printf("DevprovAllowlist takes one or two arguments, "
                             "<file> [<seconds>]");
        p = root_relative(rd, argv[0]);
        msg = cc_allowlist(sc, p, argc == 2 ? argv[1] : NULL);
        free(p);
        if (msg == NULL)
            sc->allow_where = cc_strdup(where);
        return msg;
    }
    if (!strcasecmp(name, "DevprovAllowlistSQL")) {
        if (argc < 1)
            return cc_printf("DevprovAllowlistSQL: needs a query");
        if (sc->sql_where != NULL)
            return cc_printf("DevprovAllowlistSQL: given twice in this "
                             "server (already %s)", sc->sql_where);
        if (sc->allow != NULL)
            return cc_printf("DevprovAllowlistSQL: this server already has "
                             "DevprovAllowlist %s: use one or the other",
                             sc->allow_path);
        /* the query and its options are mod_devprov_sql.c's business;
         * nothing is queried here */
        sc->sql_where = cc_strdup(where);
        return NULL;
    }
    if (!strcasecmp(name, "DevprovDenyKey")) {
        if (argc < 1)
            return cc_printf("DevprovDenyKey requires at least one argument");
        for (i = 0; i < argc; i++) {
            p = strncmp(argv[i], "sha256:", 7) == 0 ? cc_strdup(argv[i])
                                                    : root_relative(rd, argv[i]);
            msg = cc_denykey(sc, p);
            free(p);
            if (msg)
                return msg;
        }
        return NULL;
    }
    if (!strcasecmp(name, "DevprovRevoked")) {
        if (argc < 1 || argc > 2)
            return cc_printf("DevprovRevoked takes one or two arguments, "
                             "<file> [<seconds>]");
        p = root_relative(rd, argv[0]);
        msg = cc_revoked(sc, p, argc == 2 ? argv[1] : NULL);
        free(p);
        return msg;
    }
    if (!strcasecmp(name, "DevprovEnrol")) {
        if (argc != 1)
            return cc_printf("DevprovEnrol takes one argument, <file>");
        p = root_relative(rd, argv[0]);
        msg = cc_enrol(sc, p);
        free(p);
        return msg;
    }
    if (!strcasecmp(name, "DevprovDeny")) {
        if (argc != 1)
            return cc_printf("DevprovDeny takes one argument, "
                             "off|unverified|unlisted");
        return cc_deny(sc, argv[0]);
    }
    if (!strcasecmp(name, "DevprovBindPath")) {
        if (argc != 1)
            return cc_printf("DevprovBindPath takes one argument, on|off");
        if (!strcasecmp(argv[0], "on"))
            sc->bind_path = 1;
        else if (!strcasecmp(argv[0], "off"))
            sc->bind_path = 0;
        else
            return cc_printf("DevprovBindPath: unknown value '%s', use on "
                             "or off", argv[0]);
        if (sc->bind_path == 1)
            sc->policy_here = 1;
        return NULL;
    }
    return cc_printf("Invalid command '%s', perhaps misspelled or defined "
                     "by a module not included in the server configuration",
                     name);
}

static void add_name(cc_srv_t *sc, const char *name)
{
    if (sc->nnames < CC_MAX_NAMES)
        sc->names[sc->nnames++] = cc_strdup(name);
}

/* One logical line (continuations joined) of FILE at LINE. */
static void do_line(reader_t *rd, const char *file, int line, char *text)
{
    char *resolved = resolve_env(rd, text), *cur = resolved, *name;
    char *argv[MAX_ARGS];
    int argc = 0, i;

    name = getword(&cur);
    if (name == NULL || name[0] == '#') {
        free(name);
        free(resolved);
        return;
    }
    while (argc < MAX_ARGS && (argv[argc] = getword(&cur)) != NULL)
        argc++;

    if (name[0] == '<' && name[1] == '/') {             /* </Section> */
        size_t n = strlen(name);
        if (n > 0 && name[n - 1] == '>')
            name[n - 1] = '\0';
        if (rd->depth == 0 || strcasecmp(rd->stack[rd->depth - 1].name,
                                         name + 2) != 0) {
            char *m = rd->depth == 0
                ? cc_printf("%s> without matching <%s> section", name,
                            name + 2)
                : cc_printf("Expected </%s> but saw %s>",
                            rd->stack[rd->depth - 1].name, name);
            conf_error(rd, file, line, m);
            free(m);
        }
        else {
            rd->depth--;
            if (rd->skipping == rd->depth + 1)
                rd->skipping = 0;
            if (rd->stack[rd->depth].kind == SEC_VHOST && !rd->skipping)
                rd->cur = rd->conf->main;
        }
        goto done;
    }
    if (name[0] == '<') {                               /* <Section ...> */
        sec_kind_t kind;
        size_t n;

        /* the '>' ends the last argument (or the name) */
        if (argc > 0) {
            n = strlen(argv[argc - 1]);
            if (n > 0 && argv[argc - 1][n - 1] == '>')
                argv[argc - 1][n - 1] = '\0';
            if (argv[argc - 1][0] == '\0') {
                free(argv[--argc]);
            }
        }
        else {
            n = strlen(name);
            if (n > 0 && name[n - 1] == '>')
                name[n - 1] = '\0';
        }
        if (rd->depth >= MAX_DEPTH) {
            conf_error(rd, file, line, "sections nested too deeply");
            goto done;
        }
        kind = rd->skipping ? SEC_SKIP
                            : section_kind(rd, name + 1, argv, argc);
        rd->stack[rd->depth].kind = kind;
        snprintf(rd->stack[rd->depth].name, sizeof(rd->stack[0].name), "%s",
                 name + 1);
        rd->depth++;
        if (kind == SEC_SKIP && !rd->skipping)
            rd->skipping = rd->depth;
        if (kind == SEC_VHOST) {
            cc_srv_t *vh;
            cc_srv_t **grown;

            if (rd->cur != rd->conf->main) {
                conf_error(rd, file, line, "<VirtualHost> cannot occur "
                           "within <VirtualHost> section");
                goto done;
            }
            if (argc == 0) {
                conf_error(rd, file, line, "<VirtualHost> directive "
                           "requires additional arguments");
                goto done;
            }
            vh = cc_srv_new();
            vh->is_virtual = 1;
            vh->where = cc_printf("<VirtualHost");
            for (i = 0; i < argc; i++) {
                char *w = cc_printf("%s %s", vh->where, argv[i]);
                free(vh->where);
                vh->where = w;
                if (vh->naddrs < CC_MAX_NAMES)
                    vh->addrs[vh->naddrs++] = cc_strdup(argv[i]);
            }
            {
                char *w = cc_printf("%s> at %s:%d", vh->where, file, line);
                free(vh->where);
                vh->where = w;
            }
            grown = realloc(rd->conf->vhosts,
                            (rd->conf->nvhosts + 1) * sizeof(*grown));
            if (grown == NULL)
                exit(2);
            rd->conf->vhosts = grown;
            grown[rd->conf->nvhosts++] = vh;
            rd->cur = vh;
        }
        goto done;
    }
    if (rd->skipping)
        goto done;

    if (!strcasecmp(name, "Include") || !strcasecmp(name, "IncludeOptional")) {
        if (argc != 1)
            conf_error(rd, file, line, "Include takes one argument");
        else
            do_include(rd, file, line, argv[0],
                       !strcasecmp(name, "IncludeOptional"));
    }
    else if (!strcasecmp(name, "ServerRoot")) {
        if (argc == 1 && rd->cur == rd->conf->main) {
            free(rd->conf->server_root);
            rd->conf->server_root = cc_strdup(argv[0]);
        }
    }
    else if (!strcasecmp(name, "Define")) {
        if (argc >= 1 && rd->cur == rd->conf->main && !is_defined(rd->conf,
                                                                  argv[0])) {
            char *d = argc >= 2 ? cc_printf("%s=%s", argv[0], argv[1])
                                : cc_strdup(argv[0]);
            push_str(&rd->conf->defines, &rd->conf->ndefines, d);
            free(d);
        }
    }
    else if (!strcasecmp(name, "LoadModule")) {
        if (argc == 2)
            note_module(rd->conf, argv[0], argv[1]);
    }
    else if (!strcasecmp(name, "ServerName")) {
        if (argc >= 1)
            add_name(rd->cur, argv[0]);
    }
    else if (!strcasecmp(name, "ServerAlias")) {
        for (i = 0; i < argc; i++)
            add_name(rd->cur, argv[i]);
    }
    else if (!strncasecmp(name, "Devprov", 7)) {
        const char *sect = dir_section(rd);
        char *where = cc_printf("%s:%d", file, line);
        char *msg;

        if (sect != NULL)
            msg = cc_printf("%s cannot occur within <%s> section", name,
                            sect);
        else
            msg = devprov_directive(rd, name, argv, argc, where);
        if (msg != NULL) {
            conf_error(rd, file, line, msg);
            free(msg);
        }
        free(where);
    }
done:
    for (i = 0; i < argc; i++)
        free(argv[i]);
    free(name);
    free(resolved);
}

static int read_file(reader_t *rd, const char *path)
{
    char err[1024], *buf, *p, *end, *logical = NULL;
    size_t len, llen = 0;
    int line = 0, start_line = 0;
    size_t errors = rd->conf->errors;
    struct stat st;

    if (++rd->files > MAX_FILES) {
        if (rd->files == MAX_FILES + 1) {
            fprintf(stderr, "%s: %s: more than %d configuration files "
                    "read: an Include loop?\n", rd->conf->prog, path,
                    MAX_FILES);
            rd->conf->errors++;
        }
        return 1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "%s: %s: not a regular file\n", rd->conf->prog, path);
        rd->conf->errors++;
        return 1;
    }
    if (dp_read_file(path, CONF_FILE_MAX, &buf, &len, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", rd->conf->prog, err);
        rd->conf->errors++;
        return 1;
    }
    for (p = buf; p < buf + len; p = end + 1) {
        size_t n;
        char *grown;

        end = memchr(p, '\n', (size_t)(buf + len - p));
        if (end == NULL)
            end = buf + len;
        line++;
        n = (size_t)(end - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (memchr(p, '\0', n) != NULL) {
            conf_error(rd, path, line, "NUL byte in the configuration");
            continue;
        }
        if (logical == NULL)
            start_line = line;
        grown = realloc(logical, llen + n + 2);
        if (grown == NULL)
            exit(2);
        logical = grown;
        memcpy(logical + llen, p, n);
        llen += n;
        logical[llen] = '\0';
        /* a backslash at the end continues the line */
        if (llen > 0 && logical[llen - 1] == '\\' && end < buf + len) {
            logical[--llen] = '\0';
            continue;
        }
        do_line(rd, path, start_line, logical);
        free(logical);
        logical = NULL;
        llen = 0;
    }
    if (logical != NULL) {
        do_line(rd, path, start_line, logical);
        free(logical);
    }
    free(buf);
    return rd->conf->errors != errors;
}

int cc_read_apache(cc_conf_t *conf, const char *file)
{
    reader_t rd;
    char *path;
    int rc;

    memset(&rd, 0, sizeof(rd));
    rd.conf = conf;
    if (conf->main == NULL)
        conf->main = cc_srv_new();
    rd.cur = conf->main;
    path = root_relative(&rd, file);
    {
        /* as apache2 -f: relative to ServerRoot; a file that is not
         * there but in the current directory is taken from there */
        struct stat st;
        if (file[0] != '/' && stat(path, &st) != 0 && stat(file, &st) == 0) {
            free(path);
            path = cc_strdup(file);
        }
    }
    rc = read_file(&rd, path);
    if (rd.depth > 0 && rc == 0) {
        char *m = cc_printf("<%s> was not closed.",
                            rd.stack[rd.depth - 1].name);
        conf_error(&rd, path, 0, m);
        free(m);
    }
    free(path);
    return conf->errors != 0;
}
