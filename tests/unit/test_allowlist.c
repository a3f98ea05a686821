/* test_allowlist.c - allowlist parsing, errors, lookup, size, loading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/dp_allowlist.h"

#define NAME "phones.txt"

/* ---- helpers ------------------------------------------------------------ */

static dp_allowlist_t *parse_ok(const char *text)
{
    char err[512] = "";
    dp_allowlist_t *al = dp_allowlist_parse(text, strlen(text), NAME, err,
                                            sizeof(err));

    if (al == NULL)
        fail_msg("parse failed: %s", err);
    return al;
}

/* Parse LEN bytes that must fail; ERR receives the message. */
static void parse_fail_len(const char *text, size_t len, char *err,
                           size_t errlen)
{
    dp_allowlist_t *al;

    err[0] = '\0';
    al = dp_allowlist_parse(text, len, NAME, err, errlen);
    if (al != NULL) {
        dp_allowlist_free(al);
        fail_msg("parse of '%.*s' should fail", (int)len, text);
    }
    assert_true(err[0] != '\0');
}

/* TEXT must fail with an error starting "phones.txt:LINE: " and containing
 * WHAT. */
static void assert_parse_error(const char *text, unsigned line,
                               const char *what)
{
    char err[512], prefix[64];

    parse_fail_len(text, strlen(text), err, sizeof(err));
    snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, prefix);
    if (strstr(err, what) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, what);
}

static int lookup(const dp_allowlist_t *al, const char *mac, dp_entry_t *e)
{
    dp_mac_t m;

    if (dp_mac_parse(mac, strlen(mac), &m) != 0)
        fail_msg("bad MAC in test: %s", mac);
    return dp_allowlist_lookup(al, &m, e);
}

/* ---- parsing ------------------------------------------------------------ */

static void test_parse_basic(void **state)
{
    static const char text[] =
        "# devprov allowlist\n"
        "\n"
        "   \t  \n"
        "0004f2000001\n"
        "0004F2000002 lobby-phone\n"
        "  00:04:f2:00:00:03\tconf.room_1 site=hq floor=3  # a comment\n"
        "00-04-F2-00-00-04 site=branch\n"
        "0004.f200.0005 user@example.org/x+y:z-1\n"
        "    # indented comment\n"
        "0004f2000006 # only a comment after the MAC\n"
        "0004f2000007 last-line-without-newline";
    dp_allowlist_t *al = parse_ok(text);
    dp_entry_t e;

    (void)state;
    assert_int_equal(dp_allowlist_count(al), 7);

    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(e.label, "");
    assert_string_equal(e.attrs, "");

    assert_int_equal(lookup(al, "0004f2000002", &e), 1);
    assert_string_equal(e.label, "lobby-phone");
    assert_string_equal(e.attrs, "");

    assert_int_equal(lookup(al, "0004f2000003", &e), 1);
    assert_string_equal(e.label, "conf.room_1");
    assert_string_equal(dp_entry_attr(&e, "site"), "hq");
    assert_string_equal(dp_entry_attr(&e, "floor"), "3");
    assert_null(dp_entry_attr(&e, "comment"));
    assert_null(dp_entry_attr(&e, "sit"));
    assert_null(dp_entry_attr(&e, "sites"));

    /* attribute without a label: the label is empty */
    assert_int_equal(lookup(al, "0004f2000004", &e), 1);
    assert_string_equal(e.label, "");
    assert_string_equal(dp_entry_attr(&e, "site"), "branch");

    assert_int_equal(lookup(al, "0004f2000005", &e), 1);
    assert_string_equal(e.label, "user@example.org/x+y:z-1");

    assert_int_equal(lookup(al, "0004f2000006", &e), 1);
    assert_string_equal(e.label, "");
    assert_int_equal(lookup(al, "0004f2000007", &e), 1);
    assert_string_equal(e.label, "last-line-without-newline");

    /* absent MACs */
    assert_int_equal(lookup(al, "0004f2000000", &e), 0);
    assert_int_equal(lookup(al, "0004f2000008", &e), 0);
    assert_int_equal(lookup(al, "0104f2000001", NULL), 0);
    /* OUT may be NULL */
    assert_int_equal(lookup(al, "0004f2000001", NULL), 1);
    dp_allowlist_free(al);
}

static void test_other_forms_same_entry(void **state)
{
    dp_allowlist_t *al = parse_ok("00:04:F2:AB:CD:EF desk-42\n");
    static const char *const forms[] = {
        "0004f2abcdef", "0004F2ABCDEF", "00:04:f2:ab:cd:ef",
        "00-04-F2-AB-CD-EF", "0004.f2ab.cdef",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        dp_entry_t e;
        assert_int_equal(lookup(al, forms[i], &e), 1);
        assert_string_equal(e.label, "desk-42");
    }
    dp_allowlist_free(al);
}

static void test_crlf(void **state)
{
    dp_allowlist_t *al = parse_ok("# windows\r\n"
                                  "\r\n"
                                  "0004f2000001 alpha\r\n"
                                  "0004f2000002 beta k=v\r\n"
                                  "0004f2000003\r\n");
    dp_entry_t e;

    (void)state;
    assert_int_equal(dp_allowlist_count(al), 3);
    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(e.label, "alpha");          /* no trailing CR */
    assert_int_equal(lookup(al, "0004f2000002", &e), 1);
    assert_string_equal(e.label, "beta");
    assert_string_equal(dp_entry_attr(&e, "k"), "v");
    assert_int_equal(lookup(al, "0004f2000003", &e), 1);
    dp_allowlist_free(al);
}

static void test_attr_order(void **state)
{
    dp_allowlist_t *al =
        parse_ok("0004f2000001 lbl zeta=1 alpha=two mid_3=x.y a=b\n"
                 "0004f2000002 k=v\n");
    dp_entry_t e;
    const char *cur, *key, *value;
    size_t klen;
    static const char *const keys[] = { "zeta", "alpha", "mid_3", "a" };
    static const char *const values[] = { "1", "two", "x.y", "b" };
    size_t i = 0;

    (void)state;
    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(e.label, "lbl");
    cur = e.attrs;
    while (dp_entry_next_attr(&cur, &key, &klen, &value)) {
        assert_true(i < 4);
        assert_int_equal(klen, strlen(keys[i]));
        assert_memory_equal(key, keys[i], klen);
        assert_string_equal(value, values[i]);
        i++;
    }
    assert_int_equal(i, 4);
    /* the end stays the end */
    assert_int_equal(dp_entry_next_attr(&cur, &key, &klen, &value), 0);
    assert_string_equal(dp_entry_attr(&e, "a"), "b");
    assert_string_equal(dp_entry_attr(&e, "alpha"), "two");

    assert_int_equal(lookup(al, "0004f2000002", &e), 1);
    assert_string_equal(e.label, "");
    cur = e.attrs;
    assert_int_equal(dp_entry_next_attr(&cur, &key, &klen, &value), 1);
    assert_int_equal(klen, 1);
    assert_memory_equal(key, "k", 1);
    assert_string_equal(value, "v");
    assert_int_equal(dp_entry_next_attr(&cur, &key, &klen, &value), 0);
    dp_allowlist_free(al);
}

static void test_empty_inputs(void **state)
{
    char err[256] = "";
    dp_allowlist_t *al;
    dp_entry_t e;

    (void)state;
    al = dp_allowlist_parse("", 0, NAME, err, sizeof(err));
    assert_non_null(al);
    assert_int_equal(dp_allowlist_count(al), 0);
    assert_int_equal(lookup(al, "0004f2abcdef", &e), 0);
    dp_allowlist_free(al);

    al = parse_ok("# nothing\n\n\n# here\n");
    assert_int_equal(dp_allowlist_count(al), 0);
    dp_allowlist_free(al);

    /* LEN is honoured: the second line is outside the buffer */
    {
        static const char text[] = "0004f2000001\n0004f2000002\n";
        al = dp_allowlist_parse(text, 13, NAME, err, sizeof(err));
        assert_non_null(al);
        assert_int_equal(dp_allowlist_count(al), 1);
        assert_int_equal(lookup(al, "0004f2000002", NULL), 0);
        dp_allowlist_free(al);
    }
    dp_allowlist_free(NULL);
}

static void test_limits_accepted(void **state)
{
    char line[DP_AL_LINE_MAX + 64], label[DP_AL_VALUE_MAX + 1];
    char key[DP_AL_KEY_MAX + 1];
    dp_allowlist_t *al;
    dp_entry_t e;
    int i;

    (void)state;
    /* label and value of exactly DP_AL_VALUE_MAX, key of DP_AL_KEY_MAX */
    memset(label, 'L', DP_AL_VALUE_MAX);
    label[DP_AL_VALUE_MAX] = '\0';
    memset(key, 'k', DP_AL_KEY_MAX);
    key[DP_AL_KEY_MAX] = '\0';
    snprintf(line, sizeof(line), "0004f2000001 %s %s=%s\n", label, key,
             label);
    al = parse_ok(line);
    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(e.label, label);
    assert_string_equal(dp_entry_attr(&e, key), label);
    dp_allowlist_free(al);

    /* a line of exactly DP_AL_LINE_MAX characters (plus CRLF) */
    memset(line, 0, sizeof(line));
    strcpy(line, "0004f2000001 #");
    memset(line + strlen(line), 'c', DP_AL_LINE_MAX - strlen(line));
    assert_int_equal(strlen(line), DP_AL_LINE_MAX);
    strcat(line, "\r\n");
    al = parse_ok(line);
    assert_int_equal(dp_allowlist_count(al), 1);
    dp_allowlist_free(al);

    /* 32 attributes are fine */
    strcpy(line, "0004f2000001");
    for (i = 0; i < 32; i++)
        sprintf(line + strlen(line), " a%d=%d", i, i);
    al = parse_ok(line);
    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(dp_entry_attr(&e, "a31"), "31");
    dp_allowlist_free(al);
}

/* ---- errors ------------------------------------------------------------- */

static void test_error_not_a_mac(void **state)
{
    (void)state;
    assert_parse_error("# header\n0004f2000001\nnot-a-mac label\n", 3,
                       "'not-a-mac' is not a MAC address");
    assert_parse_error("0004f2abcdeg\n", 1, "is not a MAC address");
    assert_parse_error("0004f2abcdef0\n", 1, "is not a MAC address");
    assert_parse_error("00:04:f2-ab:cd:ef\n", 1, "is not a MAC address");
    assert_parse_error("label 0004f2abcdef\n", 1, "is not a MAC address");
    assert_parse_error("0004f2abcdef#c\n", 1, "is not a MAC address");
    /* a long junk token is quoted, shortened */
    {
        char text[300], err[512];
        memset(text, 'z', 200);
        strcpy(text + 200, "\n");
        parse_fail_len(text, strlen(text), err, sizeof(err));
        assert_non_null(strstr(err, NAME ":1: "));
        assert_true(strlen(err) < 150);
    }
}

static void test_error_not_a_device_mac(void **state)
{
    (void)state;
    assert_parse_error("0004f2000001\n000000000000 master\n", 2,
                       "not a device MAC");
    assert_parse_error("ffffffffffff\n", 1, "not a device MAC");
    assert_parse_error("01:00:5e:00:00:01\n", 1, "not a device MAC");
    assert_parse_error("3333.0000.0001\n", 1, "not a device MAC");
}

static void test_error_duplicate_mac(void **state)
{
    (void)state;
    assert_parse_error("# list\n"
                       "0004f2000001 a\n"
                       "0004f2abcdef b\n"
                       "\n"
                       "00:04:F2:AB:CD:EF c\n", 5,
                       "0004f2abcdef listed twice (first on line 3)");
    assert_parse_error("0004f2000001\n0004.f200.0001\n", 2,
                       "(first on line 1)");
}

static void test_error_label_chars(void **state)
{
    static const char bad[] = "\"';$`\\<>*?!&|(){}[]=,%#~^";
    char text[64], err[512], want[32];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != '\0'; i++) {
        if (bad[i] == '#' || bad[i] == '=')
            continue;                   /* comment, attribute: tested apart */
        snprintf(text, sizeof(text), "0004f2000001 ab%cc\n", bad[i]);
        parse_fail_len(text, strlen(text), err, sizeof(err));
        snprintf(want, sizeof(want), "0x%02x", (unsigned char)bad[i]);
        if (strncmp(err, NAME ":1: label", strlen(NAME ":1: label")) != 0
            || strstr(err, want) == NULL)
            fail_msg("label with '%c': error '%s'", bad[i], err);
    }
    /* a non-ASCII byte */
    assert_parse_error("0004f2000001 t\xc3\xa9l\n", 1, "0xc3");
    /* a space inside the label makes a second bare word */
    assert_parse_error("0004f2000001 front desk\n", 1,
                       "label must come right after the MAC");
    /* over-long label */
    {
        char line[300];
        strcpy(line, "0004f2000001 ");
        memset(line + strlen(line), 'L', DP_AL_VALUE_MAX + 1);
        line[13 + DP_AL_VALUE_MAX + 1] = '\0';
        assert_parse_error(line, 1, "label longer than 128");
    }
}

static void test_error_label_position(void **state)
{
    dp_allowlist_t *al;
    dp_entry_t e;

    (void)state;
    /* attribute first is fine: the label is empty */
    al = parse_ok("0004f2000001 site=hq\n");
    assert_int_equal(lookup(al, "0004f2000001", &e), 1);
    assert_string_equal(e.label, "");
    assert_string_equal(dp_entry_attr(&e, "site"), "hq");
    dp_allowlist_free(al);
    /* but then no label may follow */
    assert_parse_error("0004f2000001 site=hq desk\n", 1,
                       "label must come right after the MAC");
    assert_parse_error("0004f2000001 lbl site=hq desk\n", 1,
                       "label must come right after the MAC");
}

static void test_error_bad_key(void **state)
{
    char line[200];

    (void)state;
    assert_parse_error("0004f2000001 l Site=hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l 1site=hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l _site=hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l =hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l si-te=hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l si.te=hq\n", 1, "attribute name");
    assert_parse_error("0004f2000001 l siTe=hq\n", 1, "attribute name");
    snprintf(line, sizeof(line), "0004f2000001 l %s=v\n",
             "k23456789012345678901234567890123");           /* 33 chars */
    assert_parse_error(line, 1, "attribute name");
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    assert_parse_error("0004f2000001 l site=hq floor=2 site=hq\n", 1,
                       "attribute 'site' given twice");
    assert_parse_error("0004f2000001 a=1 a=2\n", 1, "'a' given twice");
    /* a key that is a prefix of another is not a duplicate */
    {
        dp_allowlist_t *al = parse_ok("0004f2000001 a=1 ab=2 abc=3\n");
        dp_entry_t e;
        assert_int_equal(lookup(al, "0004f2000001", &e), 1);
        assert_string_equal(dp_entry_attr(&e, "a"), "1");
        assert_string_equal(dp_entry_attr(&e, "ab"), "2");
        assert_string_equal(dp_entry_attr(&e, "abc"), "3");
        dp_allowlist_free(al);
    }
}

static void test_pin_form(void **state)
{
    const char *good = "sha256:00112233445566778899aabbccddeeff"
                       "00112233445566778899AABBCCDDEEFF";
    char buf[200], err[256];
    dp_allowlist_t *al;

    (void)state;
    assert_true(dp_pin_valid(good, strlen(good)));
    assert_false(dp_pin_valid(good, strlen(good) - 1));          /* short */
    assert_false(dp_pin_valid(good + 1, strlen(good) - 1));      /* prefix */
    assert_false(dp_pin_valid("sha256:zz112233445566778899aabbccddeeff"
                              "00112233445566778899aabbccddeeff", 71));
    assert_false(dp_pin_valid("sha1:00112233445566778899aabbccddeeff0011"
                              "2233", 44));

    snprintf(buf, sizeof(buf), "0004f2000001 a pin=%s\n", good);
    al = dp_allowlist_parse(buf, strlen(buf), "pins", err, sizeof(err));
    assert_non_null(al);
    dp_allowlist_free(al);
    snprintf(buf, sizeof(buf), "0004f2000001 a pin=sha256:1234\n");
    al = dp_allowlist_parse(buf, strlen(buf), "pins", err, sizeof(err));
    assert_null(al);
    assert_non_null(strstr(err, "pins:1: pin: expected sha256:"));
}

static void test_error_values(void **state)
{
    char line[400];

    (void)state;
    assert_parse_error("0004f2000001 l site=\n", 1,
                       "attribute 'site': value must be 1-128");
    assert_parse_error("0004f2000001 l site=a;b\n", 1, "0x3b");
    assert_parse_error("0004f2000001 l site=a=b\n", 1, "0x3d");
    assert_parse_error("0004f2000001 l site=\"hq\"\n", 1, "0x22");
    snprintf(line, sizeof(line), "0004f2000001 l k=");
    memset(line + strlen(line), 'v', DP_AL_VALUE_MAX + 1);
    line[17 + DP_AL_VALUE_MAX + 1] = '\0';
    assert_parse_error(line, 1, "value must be 1-128");
    /* too many attributes */
    {
        int i;
        strcpy(line, "0004f2000001");
        for (i = 0; i < 33; i++)
            sprintf(line + strlen(line), " a%d=%d", i, i);
        assert_parse_error(line, 1, "more than 32 attributes");
    }
}

static void test_error_long_line(void **state)
{
    char *line = malloc(DP_AL_LINE_MAX + 64);

    (void)state;
    strcpy(line, "0004f2000001\n0004f2000002 #");
    memset(line + strlen(line), 'c', DP_AL_LINE_MAX + 1 - 14);
    line[13 + DP_AL_LINE_MAX + 1] = '\0';
    assert_int_equal(strlen(line) - 13, DP_AL_LINE_MAX + 1);
    assert_parse_error(line, 2, "line longer than 4096 characters");
    free(line);
}

static void test_error_control_chars(void **state)
{
    static const char nul[] = "0004f2000001\n0004f2000002 ab\0cd\n";
    char err[512];

    (void)state;
    parse_fail_len(nul, sizeof(nul) - 1, err, sizeof(err));
    assert_string_equal(err, NAME ":2: control character in line");

    /* a NUL that hides the rest of the line from C string functions */
    {
        static const char hide[] = "0004f2000001\0 bad;label\n";
        parse_fail_len(hide, sizeof(hide) - 1, err, sizeof(err));
        assert_string_equal(err, NAME ":1: control character in line");
    }
    /* a lone CR inside the line (old Mac line ends) */
    assert_parse_error("0004f2000001\r0004f2000002\n", 1,
                       "control character in line");
    /* CR CR LF: only one CR belongs to the line end */
    assert_parse_error("0004f2000001\r\r\n", 1, "control character");
}

/* ---- scale -------------------------------------------------------------- */

#define BIG 200000

static void big_mac(unsigned i, int present, char *out)
{
    /* present: Polycom OUI; absent: same low bits in a Cisco OUI, plus a
     * range of Polycom MACs after the listed ones */
    if (present)
        sprintf(out, "0004f2%06x", i * 37u % 0x1000000u);
    else if (i % 2)
        sprintf(out, "000e08%06x", i * 37u % 0x1000000u);
    else
        sprintf(out, "0004f2%06x", (BIG + i) * 37u % 0x1000000u);
}

static void test_big_table(void **state)
{
    size_t cap = (size_t)BIG * 14 + 1, len = 0;
    char *text = malloc(cap), err[256] = "", mac[16];
    dp_allowlist_t *al;
    unsigned i;
    size_t mem;
    dp_entry_t e;

    (void)state;
    assert_non_null(text);
    for (i = 0; i < BIG; i++) {
        big_mac(i, 1, mac);
        memcpy(text + len, mac, 12);
        text[len + 12] = '\n';
        len += 13;
    }
    al = dp_allowlist_parse(text, len, NAME, err, sizeof(err));
    if (al == NULL)
        fail_msg("%s", err);
    free(text);

    assert_int_equal(dp_allowlist_count(al), BIG);
    for (i = 0; i < BIG; i++) {
        big_mac(i, 1, mac);
        if (lookup(al, mac, &e) != 1)
            fail_msg("%s not found", mac);
        assert_string_equal(e.label, "");
        big_mac(i, 0, mac);
        if (lookup(al, mac, NULL) != 0)
            fail_msg("%s found but not listed", mac);
    }
    mem = dp_allowlist_memory(al);
    printf("    allowlist: %u entries, %zu bytes, %.1f bytes/entry\n",
           BIG, mem, (double)mem / BIG);
    assert_true(mem >= (size_t)BIG * 8);     /* it does hold the MACs */
    assert_true(mem / BIG < 64);
    dp_allowlist_free(al);
}

/* ---- loading ------------------------------------------------------------ */

/* The file of test_load_file, removed by its teardown. */
static char tmpfile_path[64];

static int rm_tmpfile(void **state)
{
    (void)state;
    if (tmpfile_path[0] != '\0')
        unlink(tmpfile_path);
    tmpfile_path[0] = '\0';
    return 0;
}

static void test_load_file(void **state)
{
    char *path = tmpfile_path;
    char err[512] = "";
    int fd;
    static const char text[] = "# file\n0004f2abcdef desk site=hq\n"
                               "000e08abcdef\n";
    dp_allowlist_t *al;
    dp_entry_t e;

    (void)state;
    strcpy(tmpfile_path, "/tmp/dp_allowlist_test_XXXXXX");
    fd = mkstemp(tmpfile_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)(sizeof(text) - 1));
    close(fd);
    al = dp_allowlist_load(path, err, sizeof(err));
    if (al == NULL)
        fail_msg("%s", err);
    assert_int_equal(dp_allowlist_count(al), 2);
    assert_int_equal(lookup(al, "00:04:f2:ab:cd:ef", &e), 1);
    assert_string_equal(e.label, "desk");
    assert_string_equal(dp_entry_attr(&e, "site"), "hq");
    assert_int_equal(lookup(al, "000e08abcdef", NULL), 1);
    dp_allowlist_free(al);

    /* errors name the file */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0004f2abcdef\nbogus\n", 19), 19);
    close(fd);
    assert_null(dp_allowlist_load(path, err, sizeof(err)));
    {
        char want[128];
        snprintf(want, sizeof(want), "%s:2: 'bogus' is not a MAC address",
                 path);
        assert_string_equal(err, want);
    }
}

static void test_load_missing(void **state)
{
    const char *path = "/nonexistent-dir/devprov/phones.txt";
    char err[512] = "";

    (void)state;
    assert_null(dp_allowlist_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));
}

/* ---- database rows ------------------------------------------------------ */

static int row(const char *const *names, const char *const *values, size_t n,
               char *buf, size_t buflen, dp_entry_t *e, char *why)
{
    why[0] = '\0';
    return dp_entry_from_fields(names, values, n, buf, buflen, e, why, 256);
}

static void test_fields_to_entry(void **state)
{
    char buf[512], why[256];
    dp_entry_t e;
    const char *pin = "sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    (void)state;
    {   /* names are case-insensitive; NULL and "" attributes are unset */
        const char *n[] = { "Allowed", "LABEL", "Site", "pin", "room" };
        const char *v[] = { "t", "desk-7", "berlin", pin, NULL };
        assert_int_equal(row(n, v, 5, buf, sizeof(buf), &e, why), 1);
        assert_string_equal(e.label, "desk-7");
        assert_string_equal(dp_entry_attr(&e, "site"), "berlin");
        assert_string_equal(dp_entry_attr(&e, "pin"), pin);
        assert_null(dp_entry_attr(&e, "room"));
        assert_null(dp_entry_attr(&e, "allowed"));
        assert_null(dp_entry_attr(&e, "label"));
        assert_int_equal(dp_entry_size(&e), 7 + 12 + 4 + strlen(pin) + 1 + 1);
    }
    {   /* no columns at all: the row itself lists the phone */
        assert_int_equal(row(NULL, NULL, 0, buf, sizeof(buf), &e, why), 1);
        assert_string_equal(e.label, "");
        assert_null(dp_entry_attr(&e, "x"));
    }
    {   /* allowed false, 0 or NULL: not listed */
        const char *n[] = { "allowed", "label" };
        const char *f[] = { "f", "x" }, *z[] = { "0", "x" },
                   *nul[] = { NULL, "x" }, *no[] = { "FALSE", "x" };
        assert_int_equal(row(n, f, 2, buf, sizeof(buf), &e, why), 0);
        assert_int_equal(row(n, z, 2, buf, sizeof(buf), &e, why), 0);
        assert_int_equal(row(n, nul, 2, buf, sizeof(buf), &e, why), 0);
        assert_int_equal(row(n, no, 2, buf, sizeof(buf), &e, why), 0);
    }
    {   /* the file format's rules hold for rows too */
        const char *n1[] = { "allowed" }, *v1[] = { "maybe" };
        const char *n2[] = { "label" }, *v2[] = { "desk 7" };
        const char *n3[] = { "1" }, *v3[] = { "1" };
        const char *n4[] = { "pin" }, *v4[] = { "sha1:abc" };
        const char *n5[] = { "site", "SITE" }, *v5[] = { "a", "b" };
        const char *n6[] = { "note" }, *v6[] = { "a;rm -rf /" };
        assert_int_equal(row(n1, v1, 1, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "boolean"));
        assert_int_equal(row(n2, v2, 1, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "label: character 0x20"));
        assert_int_equal(row(n3, v3, 1, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "attribute name '1'"));
        assert_int_equal(row(n4, v4, 1, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "pin"));
        assert_int_equal(row(n5, v5, 2, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "given twice"));
        assert_int_equal(row(n6, v6, 1, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "0x3b"));
    }
    {   /* a bad column name is an error even where the value is NULL */
        const char *n[] = { "label", "x y" }, *v[] = { "desk", NULL };
        assert_int_equal(row(n, v, 2, buf, sizeof(buf), &e, why), -1);
        assert_non_null(strstr(why, "attribute name 'x y'"));
    }
    {   /* at most DP_AL_ATTRS_MAX attributes, as on a file line */
        const char *n[DP_AL_ATTRS_MAX + 1], *v[DP_AL_ATTRS_MAX + 1];
        static char names[DP_AL_ATTRS_MAX + 1][8];
        char big[8192];
        int i;
        for (i = 0; i <= DP_AL_ATTRS_MAX; i++) {
            snprintf(names[i], sizeof(names[i]), "a%d", i);
            n[i] = names[i];
            v[i] = "1";
        }
        assert_int_equal(row(n, v, DP_AL_ATTRS_MAX, big, sizeof(big), &e,
                             why), 1);
        assert_int_equal(row(n, v, DP_AL_ATTRS_MAX + 1, big, sizeof(big), &e,
                             why), -1);
        assert_non_null(strstr(why, "more than 32 attributes"));
    }
    {   /* a buffer too small is an error, never a truncated entry */
        const char *n[] = { "label", "site" }, *v[] = { "desk-7", "berlin" };
        assert_int_equal(row(n, v, 2, buf, 10, &e, why), -1);
        assert_non_null(strstr(why, "longer than"));
        assert_int_equal(row(n, v, 2, buf, 7 + 12 + 1, &e, why), 1);
    }
}

/* ---- images shared between processes ------------------------------------ */

static void image_path(char *path, size_t n)
{
    snprintf(path, n, "/tmp/dp-image-test.%ld", (long)getpid());
}

static void test_image_round_trip(void **state)
{
    static const char text[] =
        "0004f2000001 lobby site=hq\n"
        "00:04:f2:00:00:02\n"
        "0004f2000003 desk-3 pin=sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    dp_allowlist_t *al = parse_ok(text), *img;
    uint64_t tag[3] = { 1700000000, 4242, 77 }, got[3] = { 0, 0, 0 };
    char path[64], err[512];
    dp_entry_t e;
    dp_mac_t m;
    unsigned i;

    (void)state;
    image_path(path, sizeof(path));
    assert_int_equal(dp_allowlist_save_image(al, path, tag, err,
                                             sizeof(err)), 0);
    img = dp_allowlist_map_image(path, got, err, sizeof(err));
    if (img == NULL)
        fail_msg("map: %s", err);
    assert_memory_equal(got, tag, sizeof(tag));
    assert_int_equal(dp_allowlist_count(img), 3);
    assert_int_equal(lookup(img, "0004f2000001", &e), 1);
    assert_string_equal(e.label, "lobby");
    assert_string_equal(dp_entry_attr(&e, "site"), "hq");
    assert_int_equal(lookup(img, "0004f2000002", &e), 1);
    assert_string_equal(e.label, "");
    assert_int_equal(lookup(img, "0004f2000003", &e), 1);
    assert_non_null(dp_entry_attr(&e, "pin"));
    assert_int_equal(lookup(img, "0004f2000004", &e), 0);
    /* every MAC the parsed list knows, the image knows, and no other */
    for (i = 0; i < 4096; i++) {
        memset(&m, 0, sizeof(m));
        m.b[0] = 0x00; m.b[1] = 0x04; m.b[2] = 0xf2;
        m.b[4] = (unsigned char)(i >> 8);
        m.b[5] = (unsigned char)i;
        assert_int_equal(dp_allowlist_lookup(img, &m, NULL),
                         dp_allowlist_lookup(al, &m, NULL));
    }
    dp_allowlist_free(img);
    dp_allowlist_free(al);

    /* an empty list makes an image too */
    al = parse_ok("# nobody\n");
    assert_int_equal(dp_allowlist_save_image(al, path, tag, err,
                                             sizeof(err)), 0);
    img = dp_allowlist_map_image(path, NULL, err, sizeof(err));
    assert_non_null(img);
    assert_int_equal(dp_allowlist_count(img), 0);
    assert_int_equal(lookup(img, "0004f2000001", &e), 0);
    dp_allowlist_free(img);
    dp_allowlist_free(al);
    unlink(path);
}

/* user=: the user name a password phone logs in with, one line each */
static void test_users(void **state)
{
    static const char text[] =
        "0004f2000001 lobby user=alice\n"
        "0004f2000002 user=bob@site.example vendor=x\n"
        "0004f2000003 desk\n";
    dp_allowlist_t *al = parse_ok(text), *img;
    uint64_t tag[3] = { 0, 0, 0 };
    char path[64], err[512], m[DP_MAC_STRLEN + 1];
    dp_mac_t mac;
    unsigned i;

    (void)state;
    image_path(path, sizeof(path));
    assert_int_equal(dp_allowlist_save_image(al, path, tag, err,
                                             sizeof(err)), 0);
    img = dp_allowlist_map_image(path, NULL, err, sizeof(err));
    if (img == NULL)
        fail_msg("map: %s", err);
    for (i = 0; i < 2; i++) {
        const dp_allowlist_t *l = i == 0 ? al : img;

        assert_int_equal(dp_allowlist_user(l, "alice", 5, &mac), 1);
        dp_mac_format(&mac, m);
        assert_string_equal(m, "0004f2000001");
        assert_int_equal(dp_allowlist_user(l, "bob@site.example", 16, &mac),
                         1);
        dp_mac_format(&mac, m);
        assert_string_equal(m, "0004f2000002");
        /* exactly: no prefix, no other case, no label */
        assert_int_equal(dp_allowlist_user(l, "alic", 4, &mac), 0);
        assert_int_equal(dp_allowlist_user(l, "Alice", 5, &mac), 0);
        assert_int_equal(dp_allowlist_user(l, "desk", 4, &mac), 0);
        assert_int_equal(dp_allowlist_user(l, "", 0, &mac), 0);
    }
    dp_allowlist_free(img);
    dp_allowlist_free(al);
    /* a list without user= has no index, and finds nobody */
    al = parse_ok("0004f2000001 lobby\n");
    assert_int_equal(dp_allowlist_user(al, "lobby", 5, &mac), 0);
    assert_int_equal(dp_allowlist_save_image(al, path, tag, err,
                                             sizeof(err)), 0);
    img = dp_allowlist_map_image(path, NULL, err, sizeof(err));
    assert_non_null(img);
    assert_int_equal(dp_allowlist_user(img, "lobby", 5, &mac), 0);
    dp_allowlist_free(img);
    dp_allowlist_free(al);
    unlink(path);
    /* one user name names one phone; a MAC is not a user= */
    assert_parse_error("0004f2000001 user=alice\n# x\n"
                       "0004f2000002 user=alice\n", 3,
                       "user=alice already given on line 1");
    assert_parse_error("0004f2000001 user=00:04:f2:00:00:02\n", 1,
                       "is a MAC");
}

/* Write the image of TEXT, let DAMAGE change its bytes, and expect the
 * map to refuse it. */
static void assert_damaged_image_refused(const char *text,
                                         void (*damage)(char *, size_t *))
{
    dp_allowlist_t *al = parse_ok(text);
    uint64_t tag[3] = { 0, 0, 0 };
    char path[64], err[512], buf[1 << 16];
    size_t len;
    FILE *f;

    image_path(path, sizeof(path));
    assert_int_equal(dp_allowlist_save_image(al, path, tag, err,
                                             sizeof(err)), 0);
    dp_allowlist_free(al);
    f = fopen(path, "rb");
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    damage(buf, &len);
    f = fopen(path, "wb");
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
    err[0] = '\0';
    assert_null(dp_allowlist_map_image(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    unlink(path);
}

static void cut_short(char *buf, size_t *len)
{
    (void)buf;
    *len -= 1;
}

static void bad_magic(char *buf, size_t *len)
{
    (void)len;
    buf[0] ^= 1;
}

static void offset_outside(char *buf, size_t *len)
{
    size_t i;
    /* header is 80 bytes; slots of 16 bytes follow: move the first used
     * slot's offset past the arena */
    for (i = 80; i + 16 <= *len; i += 16) {
        uint64_t mac;
        memcpy(&mac, buf + i, 8);
        if (mac != UINT64_MAX) {
            uint32_t off = 0x7fffffff;
            memcpy(buf + i + 8, &off, 4);
            return;
        }
    }
}

static void no_equals(char *buf, size_t *len)
{
    char *eq = memrchr(buf, '=', *len);        /* in the arena, at the end */
    if (eq != NULL)
        *eq = '_';                      /* "site=hq" becomes "site_hq" */
}

static void no_end(char *buf, size_t *len)
{
    /* the last record loses its terminators */
    buf[*len - 1] = 'x';
    buf[*len - 2] = 'x';
}

/* the user index (after the slots) names a MAC no line has */
static void user_of_nobody(char *buf, size_t *len)
{
    uint64_t mask, umask, mac = 0x0004f2999999ULL, v;
    size_t i, at;

    (void)len;
    memcpy(&mask, buf + 24, 8);
    memcpy(&umask, buf + 72, 8);
    at = 80 + (size_t)(mask + 1) * 16;
    for (i = 0; i <= umask; i++) {
        memcpy(&v, buf + at + i * 8, 8);
        if (v != UINT64_MAX) {
            memcpy(buf + at + i * 8, &mac, 8);
            return;
        }
    }
}

static void test_image_damage_refused(void **state)
{
    (void)state;
    assert_damaged_image_refused("0004f2000001 lobby site=hq\n", no_equals);
    assert_damaged_image_refused("0004f2000001 lobby site=hq\n", no_end);
    assert_damaged_image_refused("0004f2000001 a\n", cut_short);
    assert_damaged_image_refused("0004f2000001 a\n", bad_magic);
    assert_damaged_image_refused("0004f2000001 a\n", offset_outside);
    assert_damaged_image_refused("0004f2000001 a user=alice\n",
                                 user_of_nobody);
}

static void test_image_deterministic(void **state)
{
    static const char text[] = "0004f2000001 lobby site=hq\n0004f2000002\n";
    dp_allowlist_t *a1 = parse_ok(text), *a2 = parse_ok(text);
    uint64_t tag[3] = { 1, 2, 3 };
    char p1[64], p2[80], err[512], b1[1 << 15], b2[1 << 15];
    size_t n1, n2;
    FILE *f;

    (void)state;
    image_path(p1, sizeof(p1));
    snprintf(p2, sizeof(p2), "%s.2", p1);
    assert_int_equal(dp_allowlist_save_image(a1, p1, tag, err, sizeof(err)),
                     0);
    assert_int_equal(dp_allowlist_save_image(a2, p2, tag, err, sizeof(err)),
                     0);
    f = fopen(p1, "rb");
    n1 = fread(b1, 1, sizeof(b1), f);
    fclose(f);
    f = fopen(p2, "rb");
    n2 = fread(b2, 1, sizeof(b2), f);
    fclose(f);
    /* nothing but the list in it: no uninitialised memory written out */
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    unlink(p1);
    unlink(p2);
    dp_allowlist_free(a1);
    dp_allowlist_free(a2);
}

static void test_image_missing(void **state)
{
    char err[512];

    (void)state;
    assert_null(dp_allowlist_map_image("/nonexistent/dp.img", NULL, err,
                                       sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_other_forms_same_entry),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_attr_order),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_error_not_a_mac),
        cmocka_unit_test(test_error_not_a_device_mac),
        cmocka_unit_test(test_error_duplicate_mac),
        cmocka_unit_test(test_error_label_chars),
        cmocka_unit_test(test_error_label_position),
        cmocka_unit_test(test_error_bad_key),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_error_values),
        cmocka_unit_test(test_error_long_line),
        cmocka_unit_test(test_error_control_chars),
        cmocka_unit_test(test_big_table),
        cmocka_unit_test(test_pin_form),
        cmocka_unit_test(test_fields_to_entry),
        cmocka_unit_test(test_image_round_trip),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_image_damage_refused),
        cmocka_unit_test(test_image_deterministic),
        cmocka_unit_test(test_image_missing),
        cmocka_unit_test_teardown(test_load_file, rm_tmpfile),
        cmocka_unit_test(test_load_missing),
    };
    return cmocka_run_group_tests_name("dp_allowlist", tests, NULL, NULL);
}
