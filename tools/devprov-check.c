/* devprov-check - would this phone be let in, and why?
 *
 * Reads a client certificate (PEM or DER; in PEM the leaf may be followed
 * by the chain the phone sends) and a devprov configuration (a server of
 * an Apache configuration, as httpd itself reads and merges it under
 * "apache2 -t -D DUMP_DEVPROV" (check_dump.c), or the same settings as
 * options), and prints the DEVICE_* variables mod_devprov would export
 * and its verdict.  It runs the module's own core code (libdpcore:
 * dp_identify, dp_verdict, ...), so it cannot disagree with the server.
 *
 * Exit status: 0 let in as a verified device (and listed, when an
 * allowlist is configured); 1 anything else (refused, or let in without
 * being a verified/listed device); 2 usage, configuration or input error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "src/dp_certs.h"
#include "src/dp_enrol.h"
#include "src/dp_file.h"
#include "src/dp_identify.h"
#include "src/dp_verdict.h"
#include "tools/check_conf.h"
#include "tools/check_fleet.h"

#define PROG "devprov-check"
#define CERT_FILE_MAX (1024 * 1024)
#define CHAIN_MAX 16                    /* as SSL_CLIENT_CERT_CHAIN_0..15 */
#define ENROL_FILE_MAX (16 * 1024 * 1024)

#define EXIT_LET_IN 0
#define EXIT_REFUSED 1
#define EXIT_ERROR 2

static void usage(FILE *f)
{
    fprintf(f,
"usage: " PROG " [options] CERTIFICATE\n"
"       " PROG " waiting|approve FLEETFILE ...  (" PROG " waiting --help)\n"
"\n"
"Would mod_devprov let this phone in, and why?  CERTIFICATE is a PEM or DER\n"
"file (\"-\": standard input); in PEM the leaf may be followed by the chain\n"
"the phone sends.\n"
"\n"
"Configuration from Apache's files, as httpd reads them:\n"
"  -f, --config FILE        run apache2 -t -D DUMP_DEVPROV -f FILE (relative\n"
"                           to ServerRoot) and use the servers it prints\n"
"  -d, --server-root DIR    as apache2 -d DIR (ServerRoot)\n"
"  -D, --define NAME        as apache2 -D NAME, for <IfDefine>\n"
"      --httpd CMD          the apache2 binary (default $APACHE_HTTPD, or\n"
"                           apache2)\n"
"      --envvars FILE       sourced before it, as apache2ctl does (default\n"
"                           $APACHE_ENVVARS, or the envvars file beside\n"
"                           FILE if there is one; \"\" for none)\n"
"      --dump FILE          instead of -f: a saved output of apache2 -t -D\n"
"                           DUMP_DEVPROV (\"-\": standard input)\n"
"      --vhost NAME         the <VirtualHost>, by ServerName/ServerAlias,\n"
"                           its address (addr:port) or :port (default: the\n"
"                           only one with DevprovEngine on); \"main\" for\n"
"                           the main server\n"
"Settings (alone, or over the chosen virtual host's):\n"
"      --trust VENDOR=PATH[,PATH...]     DevprovTrust (repeatable)\n"
"      --mac-from VENDOR=ATTR[=REGEX]    DevprovMacFrom (repeatable)\n"
"      --security-level VENDOR=N         DevprovSecurityLevel\n"
"      --accept-not-yet-valid VENDOR     DevprovAcceptNotYetValid VENDOR on\n"
"      --deny-key PATH|sha256:HEX        DevprovDenyKey (repeatable)\n"
"      --allowlist FILE                  DevprovAllowlist\n"
"      --revoked FILE                    DevprovRevoked\n"
"      --enrol FILE                      DevprovEnrol (read, never written)\n"
"      --deny off|unverified|unlisted    DevprovDeny\n"
"Output:\n"
"  -e, --env                print the DEVICE_* variables only, KEY=value\n"
"  -q, --quiet              print nothing; the exit status says it\n"
"  -h, --help\n"
"\n"
"Exit status: 0 let in as a verified device (listed, when an allowlist is\n"
"configured); 1 refused, or let in without being one; 2 usage,\n"
"configuration or certificate error.\n");
}

/* EXIT_ERROR, with the message */
#define fail cc_fail

/* ---- the certificate file --------------------------------------------- */

typedef struct {
    X509 *leaf;
    STACK_OF(X509) *sent;
    int too_many;
} certs_t;

static int take_cert(X509 *x, const char *name, void *arg, char *err,
                     size_t errlen)
{
    certs_t *c = arg;

    if (c->leaf == NULL) {
        c->leaf = x;
        return 0;
    }
    if (sk_X509_num(c->sent) >= CHAIN_MAX) {
        X509_free(x);
        snprintf(err, errlen, "%s: more than %d certificates after the "
                 "leaf (a phone's chain has a few)", name, CHAIN_MAX);
        return -1;
    }
    if (sk_X509_push(c->sent, x) <= 0) {
        X509_free(x);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

/* Read at most MAX bytes of a regular file (or of standard input for
 * "-"), without blocking on a FIFO or opening a device. */
static int read_input(const char *path, unsigned char **out, size_t *outlen,
                      char *err, size_t errlen)
{
    int fd;
    struct stat st;
    size_t len = 0, cap = 64 * 1024;
    unsigned char *buf;
    ssize_t n;

    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
    }
    else {
        fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%s: not a regular file", path);
            close(fd);
            return -1;
        }
        if (st.st_size > CERT_FILE_MAX) {
            snprintf(err, errlen, "%s: over %d bytes: not a certificate",
                     path, CERT_FILE_MAX);
            close(fd);
            return -1;
        }
    }
    buf = malloc(cap);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto bad;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *g;
            if (cap >= CERT_FILE_MAX + 1) {
                snprintf(err, errlen, "%s: over %d bytes: not a certificate",
                         path, CERT_FILE_MAX);
                goto bad;
            }
            cap *= 2;
            if (cap > CERT_FILE_MAX + 1)
                cap = CERT_FILE_MAX + 1;
            g = realloc(buf, cap);
            if (g == NULL) {
                snprintf(err, errlen, "out of memory");
                goto bad;
            }
            buf = g;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto bad;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > CERT_FILE_MAX) {
        snprintf(err, errlen, "%s: over %d bytes: not a certificate", path,
                 CERT_FILE_MAX);
        goto bad;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *out = buf;
    *outlen = len;
    return 0;
bad:
    free(buf);
    if (fd != STDIN_FILENO)
        close(fd);
    return -1;
}

static int load_certs(const char *path, certs_t *c, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    int n;

    memset(c, 0, sizeof(*c));
    c->sent = sk_X509_new_null();
    if (c->sent == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (read_input(path, &buf, &len, err, errlen) != 0)
        return -1;
    if (len == 0) {
        snprintf(err, errlen, "%s: empty file", path);
        free(buf);
        return -1;
    }
    n = dp_certs_parse(buf, len, strcmp(path, "-") ? path : "(stdin)",
                       take_cert, c, err, errlen);
    free(buf);
    ERR_clear_error();
    return n < 0 ? -1 : 0;
}

/* ---- options ----------------------------------------------------------- */

static char *split_eq(char *s)
{
    char *eq = strchr(s, '=');

    if (eq == NULL)
        return NULL;
    *eq = '\0';
    return eq + 1;
}

typedef struct {
    cc_srv_t *sc;               /* the options' own layer */
    int any;                    /* some setting was given */
} optlayer_t;

static int opt_error(const char *opt, char *msg)
{
    fprintf(stderr, PROG ": %s: %s\n", opt, msg);
    free(msg);
    return EXIT_ERROR;
}

/* ---- output ------------------------------------------------------------ */

typedef struct {
    int env;
    int quiet;
    const char *sql_note;       /* DEVICE_ALLOWLISTED replaced by a note */
} out_t;

static void print_var(void *arg, const char *key, const char *value)
{
    const out_t *o = arg;

    if (o->quiet)
        return;
    if (o->env)
        printf("%s=%s\n", key, value);
    else
        printf("  %-22s %s\n", key, value);
}

static void print_name(const char *label, const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long len;

    if (b == NULL)
        return;
    /* RFC 2253 with escapes: a control character in a forged subject is
     * printed escaped, never raw */
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB
                                    & ~XN_FLAG_DN_REV);
    len = BIO_get_mem_data(b, &p);
    printf("%-16s %.*s\n", label, (int)(len > 400 ? 400 : len), p);
    BIO_free(b);
}

static void print_config(const char *source, const cc_srv_t *sc)
{
    size_t i;

    printf("%-16s %s\n", "configuration", source);
    if (sc->nnames > 0)
        printf("%-16s %s\n", "  ServerName", sc->names[0]);
    printf("%-16s %s\n", "  DevprovEngine",
           sc->engine == 1 ? "on" : "off");
    for (i = 0; i < sc->nvendors; i++) {
        const cc_vendor_t *vc = sc->vendors[i];
        size_t r;

        size_t ncas = vc->v.trust ? dp_trust_count(vc->v.trust) : 0;
        size_t nroots = vc->v.trust ? dp_trust_root_count(vc->v.trust) : 0;

        printf("  vendor %-7s  %zu root(s), %zu issuing CA(s), "
               "security level %d,%s MAC from", vc->v.name, nroots,
               ncas - nroots, vc->v.auth_level,
               vc->v.accept_future ? " not yet valid admitted," : "");
        for (r = 0; r < vc->v.nrules; r++)
            printf("%s %s", r ? " or" : "",
                   dp_macrule_describe(vc->v.rules[r]));
        printf("\n");
    }
    if (sc->allow != NULL)
        printf("%-16s %s (%zu phones)\n", "  allowlist", sc->allow_path,
               dp_allowlist_count(sc->allow));
    else if (sc->sql_where != NULL)
        printf("%-16s DevprovAllowlistSQL (%s): %s\n", "  allowlist",
               sc->sql_where,
               dp_reason_info(DP_REASON_SQL_NOT_CHECKED)->text);
    else
        printf("%-16s none\n", "  allowlist");
    if (sc->revoked != NULL)
        printf("%-16s %s (%zu entries)\n", "  revoked", sc->revoked_path,
               dp_revoked_count(sc->revoked));
    printf("%-16s %zu built-in, %zu configured\n", "  deny keys",
           dp_keyset_builtin_count(), sc->deny_key_count);
    if (sc->enrol_path != NULL)
        printf("%-16s %s (read only)\n", "  DevprovEnrol", sc->enrol_path);
    printf("%-16s %s\n", "  DevprovDeny",
           dp_conf_deny_name(sc->deny == CC_UNSET ? DP_POLICY_OFF : sc->deny));
}

/* ---- choosing the server ----------------------------------------------- */

static int vhost_matches(const cc_srv_t *vh, const char *want)
{
    size_t i;
    const char *colon;

    for (i = 0; i < vh->naddrs; i++) {
        if (strcasecmp(vh->addrs[i], want) == 0)
            return 1;
        colon = strrchr(vh->addrs[i], ':');
        if (want[0] == ':' && colon != NULL && strcmp(colon, want) == 0)
            return 1;
    }
    for (i = 0; i < vh->nnames; i++) {
        if (strcasecmp(vh->names[i], want) == 0)
            return 1;
        /* ServerName host:port */
        colon = strrchr(vh->names[i], ':');
        if (colon != NULL && (size_t)(colon - vh->names[i]) == strlen(want)
            && strncasecmp(vh->names[i], want, strlen(want)) == 0)
            return 1;
    }
    return 0;
}

static const cc_srv_t *choose(cc_conf_t *conf, cc_srv_t **merged,
                              const char *want, const char *file)
{
    size_t i, n = 0, hit = 0;

    if (want != NULL && strcmp(want, "main") == 0)
        return conf->main;
    for (i = 0; i < conf->nvhosts; i++) {
        int ok = want != NULL ? vhost_matches(conf->vhosts[i], want)
                              : merged[i]->engine == 1;
        if (ok) {
            if (n == 0)
                hit = i;
            n++;
        }
    }
    /* among several with the same name, the one(s) with devprov on */
    if (n > 1 && want != NULL) {
        size_t m = 0;
        for (i = 0; i < conf->nvhosts; i++)
            if (vhost_matches(conf->vhosts[i], want)
                && merged[i]->engine == 1) {
                if (m == 0)
                    hit = i;
                m++;
            }
        if (m >= 1)
            n = m;
    }
    if (n == 1)
        return merged[hit];
    if (n == 0 && want != NULL) {
        fprintf(stderr, PROG ": %s: no <VirtualHost> named or listening "
                "on '%s'\n", file, want);
        return NULL;
    }
    if (n == 0) {
        if (conf->main->engine == 1)
            return conf->main;
        fprintf(stderr, PROG ": %s: no virtual host has DevprovEngine on; "
                "choose one with --vhost\n", file);
        return NULL;
    }
    fprintf(stderr, PROG ": %s: %s virtual hosts match; choose one with "
            "--vhost (ServerName or addr:port):\n", file,
            want ? "several" : "several DevprovEngine on");
    for (i = 0; i < conf->nvhosts; i++)
        if (want ? vhost_matches(conf->vhosts[i], want)
                 : merged[i]->engine == 1)
            fprintf(stderr, "  %s%s%s\n", conf->vhosts[i]->where,
                    conf->vhosts[i]->nnames ? " ServerName " : "",
                    conf->vhosts[i]->nnames ? conf->vhosts[i]->names[0]
                                            : "");
    return NULL;
}

/* ---- main -------------------------------------------------------------- */

/* The allowlist database is never queried: every lookup "cannot answer". */
static int sql_unchecked(void *source, const dp_mac_t *mac, dp_entry_t *out)
{
    (void)source; (void)mac; (void)out;
    return -1;
}

static const char *enrolment(const cc_srv_t *sc, const dp_verdict_t *v,
                             X509 *leaf, dp_lookup_fn lookup, void *source)
{
    dp_mac_t mac;
    char *buf = NULL, err[512];
    size_t len = 0;
    const char *out;
    struct stat st;

    if (sc->enrol_path == NULL
        || dp_verdict_enrol_mac((const dp_vendor_t *const *)sc->vendor_ptrs,
                                sc->nvendors, v, leaf, lookup, source,
                                &mac) < 0)
        return NULL;
    /* the server would append a line now; this command writes nothing */
    if (stat(sc->enrol_path, &st) != 0)
        return "recorded";
    if (!S_ISREG(st.st_mode)
        || dp_read_file(sc->enrol_path, ENROL_FILE_MAX, &buf, &len, err,
                        sizeof(err)) != 0)
        return "error";
    switch (dp_enrol_find(buf, len, &mac, v->id.sha256)) {
    case DP_ENROL_SAME:
        out = "pending";
        break;
    case DP_ENROL_OTHER:
        out = "conflict";
        break;
    default:
        out = "recorded";
        break;
    }
    free(buf);
    return out;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'f' },
        { "server-root", required_argument, NULL, 'd' },
        { "define", required_argument, NULL, 'D' },
        { "vhost", required_argument, NULL, 'V' },
        { "httpd", required_argument, NULL, 'H' },
        { "envvars", required_argument, NULL, 'N' },
        { "dump", required_argument, NULL, 'u' },
        { "trust", required_argument, NULL, 't' },
        { "mac-from", required_argument, NULL, 'm' },
        { "security-level", required_argument, NULL, 's' },
        { "accept-not-yet-valid", required_argument, NULL, 'F' },
        { "deny-key", required_argument, NULL, 'k' },
        { "allowlist", required_argument, NULL, 'a' },
        { "revoked", required_argument, NULL, 'r' },
        { "enrol", required_argument, NULL, 'E' },
        { "deny", required_argument, NULL, 'n' },
        { "env", no_argument, NULL, 'e' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    cc_conf_t conf;
    optlayer_t opts;
    out_t out;
    const char *config = NULL, *dump = NULL, *vhost = NULL, *certfile;
    const cc_srv_t *chosen;
    cc_srv_t *sc, *empty, **merged = NULL;
    certs_t certs;
    dp_identity_t id;
    dp_verdict_t v;
    dp_lookup_fn lookup = NULL;
    void *source = NULL;
    const char *enrol, *source_desc;
    char err[1024], *msg;
    int c, rc, denied, deny;
    size_t i;
    time_t now = time(NULL);

    /* the fleet record's waiting list: commands of their own */
    if (argc >= 2 && (strcmp(argv[1], "waiting") == 0
                      || strcmp(argv[1], "approve") == 0))
        return check_fleet_main(argc, argv);
    memset(&conf, 0, sizeof(conf));
    memset(&out, 0, sizeof(out));
    conf.prog = PROG;
    conf.httpd = getenv("APACHE_HTTPD");
    opts.sc = cc_srv_new();
    opts.any = 0;

    while ((c = getopt_long(argc, argv, "f:d:D:eqh", longopts, NULL)) != -1) {
        char *arg = optarg, *val;

        switch (c) {
        case 'f':
            config = optarg;
            break;
        case 'd':
            free(conf.server_root);
            conf.server_root = cc_strdup(optarg);
            break;
        case 'H':
            conf.httpd = optarg;
            break;
        case 'N':
            conf.envvars = optarg;
            break;
        case 'u':
            dump = optarg;
            break;
        case 'D': {
            char **g = realloc(conf.defines,
                               (conf.ndefines + 1) * sizeof(*g));
            if (g == NULL)
                return EXIT_ERROR;
            conf.defines = g;
            g[conf.ndefines++] = cc_strdup(optarg);
            break;
        }
        case 'V':
            vhost = optarg;
            break;
        case 't': {
            char *p, *save = NULL;
            val = split_eq(arg);
            if (val == NULL || *val == '\0')
                return fail("--trust %s: use --trust VENDOR=PATH[,PATH...]",
                            optarg);
            for (p = strtok_r(val, ",", &save); p != NULL;
                 p = strtok_r(NULL, ",", &save))
                if ((msg = cc_trust(opts.sc, arg, p, "--trust")) != NULL)
                    return opt_error("--trust", msg);
            opts.any = 1;
            break;
        }
        case 'm': {
            char *pattern;
            val = split_eq(arg);
            if (val == NULL || *val == '\0')
                return fail("--mac-from %s: use --mac-from "
                            "VENDOR=ATTRIBUTE[=REGEX]", optarg);
            pattern = split_eq(val);
            if ((msg = cc_macfrom(opts.sc, arg, val, pattern, "--mac-from"))
                != NULL)
                return opt_error("--mac-from", msg);
            opts.any = 1;
            break;
        }
        case 's':
            val = split_eq(arg);
            if (val == NULL)
                return fail("--security-level %s: use --security-level "
                            "VENDOR=0-5", optarg);
            if ((msg = cc_seclevel(opts.sc, arg, val, "--security-level"))
                != NULL)
                return opt_error("--security-level", msg);
            opts.any = 1;
            break;
        case 'F':
            if ((msg = cc_notyetvalid(opts.sc, arg, "on",
                                      "--accept-not-yet-valid")) != NULL)
                return opt_error("--accept-not-yet-valid", msg);
            opts.any = 1;
            break;
        case 'k':
            if ((msg = cc_denykey(opts.sc, arg)) != NULL)
                return opt_error("--deny-key", msg);
            opts.any = 1;
            break;
        case 'a':
            if ((msg = cc_allowlist(opts.sc, arg, NULL)) != NULL)
                return opt_error("--allowlist", msg);
            opts.any = 1;
            break;
        case 'r':
            if ((msg = cc_revoked(opts.sc, arg, NULL)) != NULL)
                return opt_error("--revoked", msg);
            opts.any = 1;
            break;
        case 'E':
            if ((msg = cc_enrol(opts.sc, arg)) != NULL)
                return opt_error("--enrol", msg);
            opts.any = 1;
            break;
        case 'n':
            if ((msg = cc_deny(opts.sc, arg)) != NULL)
                return opt_error("--deny", msg);
            opts.any = 1;
            break;
        case 'e':
            out.env = 1;
            break;
        case 'q':
            out.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return EXIT_ERROR;
    }
    certfile = argv[optind];

    /* the configuration: a server as httpd reads the Apache files, with
     * the options over it as if they were one more level of
     * <VirtualHost> */
    empty = cc_srv_new();
    if (config != NULL && dump != NULL)
        return fail("-f and --dump: give one of them");
    if (dump != NULL && strcmp(dump, "-") == 0 && strcmp(certfile, "-") == 0)
        return fail("--dump - and certificate -: only one can be standard "
                    "input");
    if (config != NULL || dump != NULL) {
        const char *name = config != NULL ? config : dump;

        /* httpd has merged every virtual host and run devprov's
         * check_config (the cross-directive checks): a configuration it
         * refuses never gets here */
        if ((config != NULL ? cc_load_httpd(&conf, config)
                            : cc_load_dump_file(&conf, dump)) != 0)
            return EXIT_ERROR;
        /* httpd keeps its virtual hosts last one first: in the
         * configuration's order, for the lists below */
        for (i = 0; i < conf.nvhosts / 2; i++) {
            cc_srv_t *t = conf.vhosts[i];
            conf.vhosts[i] = conf.vhosts[conf.nvhosts - 1 - i];
            conf.vhosts[conf.nvhosts - 1 - i] = t;
        }
        merged = conf.vhosts;
        chosen = choose(&conf, merged, vhost, name);
        if (chosen == NULL)
            return EXIT_ERROR;
        source_desc = chosen->where
            ? cc_printf("%s, %s", name, chosen->where)
            : cc_printf("%s, main server", name);
    }
    else {
        if (vhost != NULL)
            return fail("--vhost %s needs -f/--config or --dump", vhost);
        chosen = empty;
        empty->engine = 1;              /* the options are the settings */
        source_desc = "command-line options";
    }
    sc = opts.any ? cc_merge(chosen, opts.sc) : (cc_srv_t *)chosen;
    if (sc == NULL)
        return EXIT_ERROR;
    if (opts.any) {
        sc->engine = chosen->engine == CC_UNSET && config == NULL
                     && dump == NULL ? 1 : chosen->engine;
        sc->where = chosen->where;
        memcpy(sc->names, chosen->names, sizeof(sc->names));
        sc->nnames = chosen->nnames;
        cc_check_server(&conf, sc);
        if (conf.errors != 0)
            return EXIT_ERROR;
    }
    deny = sc->deny == CC_UNSET ? DP_POLICY_OFF : sc->deny;
    if (sc->nvendors == 0 && sc->engine == 1)
        return fail("no vendor configured: give -f with a DevprovTrust, or "
                    "--trust VENDOR=PATH");

    if (load_certs(certfile, &certs, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_ERROR;
    }
    if (sc->engine != 1) {
        /* the module does nothing in this server */
        if (!out.quiet && !out.env) {
            print_config(source_desc, sc);
            printf("verdict: let in, unverified (DevprovEngine off: "
                   "devprov does not look at this server's clients)\n");
        }
        else if (out.env)
            fprintf(stderr, PROG ": DevprovEngine off: no DEVICE_* "
                    "variables\n");
        return EXIT_REFUSED;
    }

    /* the module's steps: identify, allowlist (pins), revocation */
    if (dp_identify((const dp_vendor_t *const *)sc->vendor_ptrs,
                    sc->nvendors, sc->deny_keys, certs.leaf, now, &id) != 0) {
        fprintf(stderr, PROG ": out of memory verifying the certificate\n");
        return EXIT_ERROR;
    }
    if (sc->allow != NULL) {
        lookup = dp_allowlist_lookup_fn;
        source = sc->allow;
    }
    else if (sc->sql_where != NULL) {
        lookup = sql_unchecked;
        out.sql_note = dp_reason_info(DP_REASON_SQL_NOT_CHECKED)->text;
    }
    dp_verdict_make((const dp_vendor_t *const *)sc->vendor_ptrs,
                    sc->nvendors, &id, certs.leaf != NULL, certs.leaf, lookup,
                    source, now, &v);
    if (out.sql_note != NULL && v.listed == DP_LISTED_DOWN)
        dp_identity_reason(&v.id, DP_REASON_SQL_NOT_CHECKED, NULL);
    enrol = out.sql_note ? NULL
                         : enrolment(sc, &v, certs.leaf, lookup, source);
    dp_verdict_revoke(&v, sc->revoked);
    denied = dp_verdict_denied(&v, (dp_policy_t)deny);

    if (!out.quiet && !out.env) {
        print_config(source_desc, sc);
        printf("%-16s %s: %d certificate(s) after the leaf%s\n",
               "certificate", certfile, sk_X509_num(certs.sent),
               sk_X509_num(certs.sent) > 0
               ? " (not used: only DevprovTrust's CAs build the chain)" : "");
        print_name("  subject", X509_get_subject_name(certs.leaf));
        print_name("  issuer", X509_get_issuer_name(certs.leaf));
        printf("variables\n");
    }
    if (out.env && out.sql_note)
        fprintf(stderr, PROG ": DevprovAllowlistSQL (%s): %s\n",
                sc->sql_where, out.sql_note);
    dp_verdict_export(&v, enrol, print_var, &out);

    if (v.id.status == DP_ST_DEVICE && !v.revoked
        && (v.listed == 1 || v.listed == DP_LISTED_NONE))
        rc = EXIT_LET_IN;
    else
        rc = EXIT_REFUSED;
    if (!out.quiet && !out.env) {
        int device = v.id.status == DP_ST_DEVICE && !v.revoked;

        if (out.sql_note && device)
            printf("  %-22s (%s)\n", "DEVICE_ALLOWLISTED", out.sql_note);
        printf("%-16s %s\n", "pinned", v.id.pinned && device ? "yes" : "no");
        printf("%-16s %s\n", "revoked", v.revoked ? "yes" : "no");
        if (enrol != NULL)
            printf("%-16s %s (as the server would say; %s writes "
                   "nothing)\n", "enrolment", enrol, PROG);
        if (out.sql_note && device && v.listed == DP_LISTED_DOWN)
            printf("verdict: %s if the database lists it (%s)\n",
                   deny == DP_POLICY_UNLISTED ? "let in only"
                                            : "let in; listed only",
                   out.sql_note);
        else if (denied)
            printf("verdict: refused: %s\n", dp_verdict_reason(&v));
        else if (rc == EXIT_LET_IN)
            printf("verdict: let in\n");
        else if (!device)
            printf("verdict: let in, unverified (DevprovDeny %s): %s\n",
                   dp_conf_deny_name(deny), dp_verdict_reason(&v));
        else
            printf("verdict: let in, not listed (DevprovDeny %s): %s\n",
                   dp_conf_deny_name(deny), dp_verdict_reason(&v));
    }
    X509_free(certs.leaf);
    sk_X509_pop_free(certs.sent, X509_free);
    return rc;
}
