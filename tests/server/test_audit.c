/* The audit log (server/audit.h): one JSON object per line whatever a header carried, and
 * rotation by size. */
#define TU_CHECKS
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/audit.h"

static const char *g_ctx = "";

static char *read_all(const char *path, size_t *len)
{
    char *p = tu_read_file(path, len);
    if (!p) fail_msg("cannot read %s", path);
    return p;
}

static size_t count_char(const char *p, size_t len, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += p[i] == c;
    return n;
}

static void test_lines(void **state)
{
    struct tu_datadir d;
    struct sk_audit *a;
    struct sk_sa src;
    char path[128];
    size_t len;
    /* what a folded or hostile User-Agent can bring: CR LF, quotes, braces, a
     * backslash, a control byte, bytes that are not UTF-8 */
    static const char ua[] = "evil\r\n {\"event\":\"register\"}\\ \x01 \xff\xfe end";
    (void) state;
    g_ctx = "lines";

    tu_datadir_make(&d, "audit");
    snprintf(path, sizeof(path), "%s/audit.log", d.path);
    CHK_INT(sk_audit_open(&a, path, 0, 3), 0);
    CHK_INT(sk_sa_from_ip(&src, sk_str_cstr("192.0.2.1"), 5062), 0);
    sk_audit_register(a, sk_str_cstr("sip:alice@example.com"), &src,
                      sk_str_make(ua, sizeof(ua) - 1), 1, false);
    sk_audit_register(a, sk_str_cstr("sip:alice@example.com"), &src, SK_STR_NULL, 0,
                      true);
    sk_audit_auth_failed(a, sk_str_cstr("al\"ice\n"), sk_str_cstr("example.com"), &src,
                         "REGISTER", "bad");
    sk_audit_block(a, &src, "scanner-ua", 600);
    sk_audit_unblock(a, &src, "ctl");
    sk_audit_close(a);
    sk_audit_register(NULL, sk_str_cstr("x"), &src, SK_STR_NULL, 0,
                      false); /* no log: nothing */

    char *p = read_all(path, &len);
    CHK_INT(count_char(p, len, '\n'), 5);
    /* base/json.h's compact form: "key": value,"key": value */
    CHK(strncmp(p, "{\"ts\": \"", 8) == 0);
    CHK(strstr(p, "\"event\": \"register\",\"aor\": \"sip:alice@example.com\","
                  "\"source\": \"192.0.2.1\",\"port\": 5062,\"contacts\": 1,"
                  "\"user_agent\": \"evil\\r\\n {\\\"event\\\":\\\"register\\\"}\\\\ "
                  "\\u0001 \\ufffd\\ufffd end\"}\n") != NULL);
    CHK(strstr(p, "\"event\": \"unregister\"") != NULL);
    CHK(strstr(p, "\"user_agent\": null") != NULL);
    CHK(strstr(p, "\"user\": \"al\\\"ice\\n\"") != NULL);
    CHK(strstr(p, "\"event\": \"block\",\"source\": \"192.0.2.1\",\"port\": 5062,"
                  "\"rule\": \"scanner-ua\",\"seconds\": 600}") != NULL);
    CHK(strstr(p, "\"event\": \"unblock\"") != NULL);
    /* every line is one object */
    for (char *l = p; l < p + len;) {
        char *e = memchr(l, '\n', (size_t) (p + len - l));
        CHK(e && l[0] == '{' && e[-1] == '}');
        if (!e) break;
        l = e + 1;
    }
    free(p);
    unlink(path);
    tu_datadir_remove(&d);
}

static void test_rotation(void **state)
{
    struct tu_datadir d;
    struct sk_audit *a;
    struct sk_sa src;
    char path[128], p1[140], p3[140], p4[140];
    size_t len;
    (void) state;
    g_ctx = "rotation";

    tu_datadir_make(&d, "auditrot");
    snprintf(path, sizeof(path), "%s/audit.log", d.path);
    snprintf(p1, sizeof(p1), "%s.1", path);
    snprintf(p3, sizeof(p3), "%s.3", path);
    snprintf(p4, sizeof(p4), "%s.4", path);
    CHK_INT(sk_sa_from_ip(&src, sk_str_cstr("192.0.2.1"), 5060), 0);
    CHK_INT(sk_audit_open(&a, path, 300, 3), 0);
    for (unsigned i = 0; i < 40; i++)
        sk_audit_block(a, &src, "flood", i);
    sk_audit_close(a);
    CHK(access(p1, F_OK) == 0);
    CHK(access(p3, F_OK) == 0);
    CHK(access(p4, F_OK) != 0); /* only keep files */
    char *p = read_all(path, &len);
    CHK(len <= 300);
    CHK(strstr(p, "\"seconds\": 39}") != NULL); /* the newest line is in the live file */
    free(p);
    p = read_all(p1, &len);
    CHK(len <= 300 && len > 0 && p[len - 1] == '\n');
    free(p);
    unlink(p1);
    unlink(p3);
    snprintf(p1, sizeof(p1), "%s.2", path);
    unlink(p1);
    unlink(path);
    tu_datadir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
