/* Unit tests for dp_enrol: the enrolment file's lines and lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/dp_enrol.h"

static void test_line_and_find(void **state)
{
    unsigned char fp[32], other[32];
    char buf[1024], line[256];
    dp_mac_t mac, mac2;
    size_t n, len;

    (void)state;
    memset(fp, 0xab, sizeof(fp));
    memset(other, 0xcd, sizeof(other));
    assert_int_equal(dp_mac_parse("0004F2000005", 12, &mac), 0);
    assert_int_equal(dp_mac_parse("0004f2000006", 12, &mac2), 0);

    n = dp_enrol_line(line, sizeof(line), &mac, fp, "Mon, 23 Nov 2026",
                      "polycom");
    assert_true(n > 0);
    assert_int_equal(strncmp(line, "0004f2000005 sha256:abababab", 28), 0);
    assert_int_equal(line[n - 1], '\n');
    assert_non_null(strstr(line, " Mon, 23 Nov 2026 polycom\n"));
    {
        char small[20];
        assert_int_equal(dp_enrol_line(small, sizeof(small), &mac, fp, "x",
                                       "v"), 0);
    }

    len = (size_t)snprintf(buf, sizeof(buf), "# reviewed below\n%s", line);
    n = dp_enrol_line(line, sizeof(line), &mac2, other, "t", "yealink");
    memcpy(buf + len, line, n);
    len += n;

    assert_int_equal(dp_enrol_find(buf, len, &mac, fp), DP_ENROL_SAME);
    assert_int_equal(dp_enrol_find(buf, len, &mac, other), DP_ENROL_OTHER);
    assert_int_equal(dp_enrol_find(buf, len, &mac2, other), DP_ENROL_SAME);
    assert_int_equal(dp_mac_parse("0004f2000007", 12, &mac2), 0);
    assert_int_equal(dp_enrol_find(buf, len, &mac2, fp), DP_ENROL_ABSENT);
    assert_int_equal(dp_enrol_find("", 0, &mac, fp), DP_ENROL_ABSENT);
    /* a line edited by hand with upper-case hex is the same certificate */
    {
        char up[200];
        size_t i, m = (size_t)snprintf(up, sizeof(up),
                                       "0004f2000005 sha256:");
        for (i = 0; i < 32; i++)
            m += (size_t)snprintf(up + m, sizeof(up) - m, "%02X", fp[i]);
        m += (size_t)snprintf(up + m, sizeof(up) - m, " t polycom\n");
        assert_int_equal(dp_enrol_find(up, m, &mac, fp), DP_ENROL_SAME);
        assert_int_equal(dp_enrol_find(up, m, &mac, other), DP_ENROL_OTHER);
    }
    /* a damaged line for the MAC counts as another certificate */
    assert_int_equal(dp_enrol_find("0004f2000005 junk\n", 18, &mac, fp),
                     DP_ENROL_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_and_find),
    };
    return cmocka_run_group_tests_name("dp_enrol", tests, NULL, NULL);
}
