/* Tests of the DTMF-in-INFO body parsers (application/dtmf-relay, application/dtmf) and of the 3xx Contact order and loop guard. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua/ua_int.h"

static int relay(const char *body, char *d, uint32_t *ms, const char **why)
{
    struct tu_guard g;
    size_t n = strlen(body);
    /* the body ends at an unreadable page: any over-read faults */
    char *p = tu_guard_copy(&g, body, n);
    int rc = ua_dtmf_relay_parse(p, n, d, ms, why);
    tu_guard_free(&g);
    return rc;
}

static void test_relay_good(void **state)
{
    char d = 0;
    uint32_t ms = 1;
    const char *why;
    (void) state;
    assert_int_equal(relay("Signal=5\r\nDuration=160\r\n", &d, &ms, &why), 0);
    assert_int_equal(d, '5');
    assert_int_equal(ms, 160);
    /* no final line end, spaces, other case, LF only, keys we do not know */
    assert_int_equal(relay("signal = #\nduration= 250", &d, &ms, &why), 0);
    assert_int_equal(d, '#');
    assert_int_equal(ms, 250);
    assert_int_equal(relay("Signal=*\r\n", &d, &ms, &why), 0);
    assert_int_equal(d, '*');
    assert_int_equal(ms, 0);
    assert_int_equal(relay("Foo=bar\r\nSignal=a\r\n\r\n", &d, &ms, &why), 0);
    assert_int_equal(d, 'A');
    /* RFC 4733 event codes: 10 is *, 11 is #, 12..15 are A..D */
    assert_int_equal(relay("Signal=11\r\nDuration=100\r\n", &d, &ms, &why), 0);
    assert_int_equal(d, '#');
    assert_int_equal(relay("Signal=15", &d, &ms, &why), 0);
    assert_int_equal(d, 'D');
}

static void test_relay_bad(void **state)
{
    static const struct { const char *body, *why; } bad[] = {
        {"", "no Signal"},
        {"\r\n\r\n", "no Signal"},
        {"Duration=160\r\n", "no Signal"},
        {"Signal=\r\n", "Signal is not a DTMF key"},
        {"Signal=E\r\n", "Signal is not a DTMF key"},
        {"Signal=16\r\n", "Signal is not a DTMF key"},
        {"Signal=55\r\n", "Signal is not a DTMF key"},
        {"Signal=1\r\nSignal=2\r\n", "Signal given twice"},
        {"Signal=1\r\nDuration=abc\r\n", "Duration is not a number of ms up to 60000"},
        {"Signal=1\r\nDuration=-5\r\n", "Duration is not a number of ms up to 60000"},
        {"Signal=1\r\nDuration=99999999999999999999\r\n",
         "Duration is not a number of ms up to 60000"},
        {"Signal=1\r\nDuration=\r\n", "Duration is not a number of ms up to 60000"},
        {"Signal=1\r\nDuration=1\r\nDuration=2\r\n", "Duration given twice"},
        {"Signal 5\r\n", "a line without '='"},
    };
    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char d = 0;
        uint32_t ms = 0;
        const char *why = NULL;
        TU_ASSERT_MSG(relay(bad[i].body, &d, &ms, &why) == EINVAL, "accepted %s", bad[i].body);
        TU_ASSERT_MSG(why && strcmp(why, bad[i].why) == 0, "%s: why '%s'", bad[i].body,
                      why ? why : "(null)");
    }
    /* a NUL inside is just a byte that is not a key */
    {
        char d;
        uint32_t ms;
        const char *why;
        assert_int_equal(ua_dtmf_relay_parse("Signal=\0", 8, &d, &ms, &why), EINVAL);
    }
}

static void test_plain(void **state)
{
    char d = 0;
    const char *why;
    (void) state;
    assert_int_equal(ua_dtmf_plain_parse("7", 1, &d, &why), 0);
    assert_int_equal(d, '7');
    assert_int_equal(ua_dtmf_plain_parse(" b\r\n", 4, &d, &why), 0);
    assert_int_equal(d, 'B');
    assert_int_equal(ua_dtmf_plain_parse("10\r\n", 4, &d, &why), 0);
    assert_int_equal(d, '*');
    assert_int_equal(ua_dtmf_plain_parse("", 0, &d, &why), EINVAL);
    assert_string_equal(why, "empty");
    assert_int_equal(ua_dtmf_plain_parse("\r\n", 2, &d, &why), EINVAL);
    assert_string_equal(why, "empty");
    assert_int_equal(ua_dtmf_plain_parse("12 3", 4, &d, &why), EINVAL);
    assert_string_equal(why, "not a DTMF key");
    assert_int_equal(ua_dtmf_plain_parse("x", 1, &d, &why), EINVAL);
    assert_int_equal(ua_dtmf_plain_parse("Signal=5", 8, &d, &why), EINVAL);
}

/* The Contacts of a 302, parsed as the phone parses them. */
struct contacts {
    char *text;
    struct sip_msg m;
    const struct sip_addr *a;
    size_t n;
};

static void contacts_of(struct contacts *c, const char *contact_lines)
{
    char buf[2048];
    size_t used;
    struct sip_error e;
    int len = snprintf(buf, sizeof(buf),
                       "SIP/2.0 302 Moved Temporarily\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
                       "From: <sip:a@localhost>;tag=1\r\nTo: <sip:b@localhost>;tag=2\r\n"
                       "Call-ID: c@x\r\nCSeq: 2 INVITE\r\n%sContent-Length: 0\r\n\r\n",
                       contact_lines);
    c->text = strdup(buf);
    assert_non_null(c->text);
    sip_msg_init(&c->m);
    assert_int_equal(sip_msg_parse(&c->m, c->text, (size_t) len, SIP_PARSE_DATAGRAM, NULL, &used,
                                   &e),
                     0);
    assert_int_equal(sip_msg_addrs(&c->m, SIP_HDR_CONTACT, &c->a, &c->n, &e), 0);
}

static void contacts_free(struct contacts *c)
{
    sip_msg_release(&c->m);
    free(c->text);
}

static void test_redirect_q_order(void **state)
{
    struct ua_redirect *r = malloc(sizeof(*r));
    struct contacts c;
    char next[UA_STR_MAX];
    (void) state;
    assert_non_null(r);
    ua_redirect_init(r, "sip:bob@localhost");
    /* §8.1.3.4: highest q first; no q is 1.0; equal q keep their order; tel:
     * and sips: are left out (we call sip: only) */
    contacts_of(&c, "Contact: <sip:low@h>;q=0.1, <sip:first@h>, <tel:+123>\r\n"
                    "Contact: <sip:mid@h>;q=0.5, <sip:second@h>;q=1.0, <sips:s@h>;q=0.9\r\n"
                    "Contact: <sip:zero@h>;q=0\r\n");
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 5), 5);
    contacts_free(&c);
    static const char *const want[] = {"sip:first@h", "sip:second@h", "sip:mid@h", "sip:low@h",
                                       "sip:zero@h"};
    for (size_t i = 0; i < 5; i++) {
        assert_true(ua_redirect_next(r, next, sizeof(next)));
        assert_string_equal(next, want[i]);
    }
    assert_false(ua_redirect_next(r, next, sizeof(next)));
    free(r);
}

static void test_redirect_loop_guard(void **state)
{
    struct ua_redirect *r = malloc(sizeof(*r));
    struct contacts c;
    char next[UA_STR_MAX];
    (void) state;
    assert_non_null(r);
    ua_redirect_init(r, "sip:bob@localhost");
    /* a 302 back to where we started, and the same URI twice: each once */
    contacts_of(&c, "Contact: <sip:bob@LOCALHOST>, <sip:carol@h>, <SIP:carol@H>\r\n");
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 2), 1);
    contacts_free(&c);
    assert_true(ua_redirect_next(r, next, sizeof(next)));
    assert_string_equal(next, "sip:carol@h");
    /* carol redirects back to bob and to carol: nothing new to try */
    contacts_of(&c, "Contact: <sip:carol@h>, <sip:bob@localhost>\r\n");
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 2), 0);
    assert_false(ua_redirect_next(r, next, sizeof(next)));
    /* the limit: a third 3xx is not followed even with a new URI */
    contacts_free(&c);
    contacts_of(&c, "Contact: <sip:dave@h>\r\n");
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 2), 0);
    assert_false(ua_redirect_next(r, next, sizeof(next)));
    contacts_free(&c);
    /* with max 0 none is followed at all */
    ua_redirect_init(r, "sip:bob@localhost");
    contacts_of(&c, "Contact: <sip:dave@h>\r\n");
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 0), 0);
    contacts_free(&c);
    free(r);
}

static void test_redirect_bounded(void **state)
{
    struct ua_redirect *r = malloc(sizeof(*r));
    struct contacts c;
    char lines[1800] = "", next[UA_STR_MAX];
    size_t got = 0;
    (void) state;
    assert_non_null(r);
    ua_redirect_init(r, "sip:bob@localhost");
    /* 40 Contacts: at most UA_REDIRECT_MAX_URIS kept, and as many tried in all */
    for (int i = 0; i < 40; i++) {
        size_t n = strlen(lines);
        snprintf(lines + n, sizeof(lines) - n, "Contact: <sip:u%d@h>\r\n", i);
    }
    contacts_of(&c, lines);
    assert_int_equal(ua_redirect_add(r, c.a, c.n, 5), UA_REDIRECT_MAX_URIS);
    contacts_free(&c);
    while (ua_redirect_next(r, next, sizeof(next)))
        got++;
    assert_int_equal(got, UA_REDIRECT_MAX_URIS - 1); /* the first URI is one of those tried */
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_good),        cmocka_unit_test(test_relay_bad),
        cmocka_unit_test(test_plain),             cmocka_unit_test(test_redirect_q_order),
        cmocka_unit_test(test_redirect_loop_guard), cmocka_unit_test(test_redirect_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
