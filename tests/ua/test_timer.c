/* Tests of the RFC 4028 rules (ua/timer.h): reading Session-Expires/Min-SE/Supported,
 * the UAS's choice (422, refresher, Require), the UAC's reading of a 2xx and a 422, and
 * when the refresh and the BYE are due. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip/msg.h"
#include "ua/timer.h"

static int read_hdrs(const char *extra, struct ua_se_hdrs *h)
{
    char buf[1024];
    struct sip_msg m;
    struct sip_error e;
    size_t used;
    int rc;

    snprintf(buf, sizeof(buf),
             "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
             "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\n"
             "Call-ID: x@y\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
             "Contact: <sip:a@127.0.0.1>\r\n%sContent-Length: 0\r\n\r\n",
             extra);
    sip_msg_init(&m);
    rc = sip_msg_parse(&m, buf, strlen(buf), SIP_PARSE_DATAGRAM, NULL, &used, &e);
    if (rc == 0) rc = ua_se_read(&m, h);
    sip_msg_release(&m);
    return rc;
}

static void test_read(void **state)
{
    struct ua_se_hdrs h;
    (void) state;

    assert_int_equal(read_hdrs("", &h), 0);
    assert_false(h.has_se);
    assert_false(h.supported);
    assert_int_equal(read_hdrs("Session-Expires: 1800;refresher=uas\r\nMin-SE: 120\r\n"
                               "Supported: 100rel, timer\r\nRequire: timer\r\n",
                               &h),
                     0);
    assert_true(h.has_se);
    assert_int_equal(h.se, 1800);
    assert_int_equal(h.refresher, UA_REFRESHER_UAS);
    assert_true(h.has_min_se);
    assert_int_equal(h.min_se, 120);
    assert_true(h.supported);
    assert_true(h.required);
    /* the compact form x, refresher in another case */
    assert_int_equal(read_hdrs("x: 90;REFRESHER=UAC\r\nk: timer\r\n", &h), 0);
    assert_int_equal(h.se, 90);
    assert_int_equal(h.refresher, UA_REFRESHER_UAC);
    assert_true(h.supported);
    /* malformed: 400 */
    assert_int_equal(read_hdrs("Session-Expires: soon\r\n", &h), EBADMSG);
    assert_int_equal(read_hdrs("Session-Expires: 0\r\n", &h), EBADMSG);
    assert_int_equal(read_hdrs("Session-Expires: 100;refresher=both\r\n", &h), EBADMSG);
    assert_int_equal(read_hdrs("Min-SE: -1\r\n", &h), EBADMSG);
}

static const struct ua_se_config no_timer = {0, 90};

/* §9: too small and the UAC supports timers: 422 with our Min-SE. */
static void test_uas_422(void **state)
{
    struct ua_se_hdrs h = {.has_se = true, .se = 60, .supported = true};
    struct ua_se_config cfg = {0, 120};
    struct ua_se_result r;
    (void) state;

    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.status, 422);
    assert_int_equal(r.min_se, 120);
    assert_false(r.active);
    /* the request's own Min-SE, when higher, is what Min-SE says */
    h.has_min_se = true;
    h.min_se = 150;
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.status, 422);
    assert_int_equal(r.min_se, 150);
    /* a UAC without timer support cannot retry: we take our minimum and refresh */
    h.supported = false;
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.status, 0);
    assert_true(r.active);
    assert_int_equal(r.interval, 150);
    assert_int_equal(r.refresher, UA_REFRESHER_UAS);
    assert_false(r.require);
    /* exactly the minimum is fine */
    h = (struct ua_se_hdrs){.has_se = true, .se = 120, .supported = true};
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.interval, 120);
}

/* §9: the refresher the request named stays; none named: uac when it can, else uas. */
static void test_uas_refresher(void **state)
{
    struct ua_se_hdrs h = {
        .has_se = true, .se = 1800, .supported = true, .refresher = UA_REFRESHER_UAS};
    struct ua_se_result r;
    (void) state;

    ua_se_uas(&no_timer, &h, &r);
    assert_true(r.active);
    assert_int_equal(r.interval, 1800);
    assert_int_equal(r.refresher, UA_REFRESHER_UAS);
    assert_true(r.require);
    assert_true(ua_se_we_refresh(&r, false));
    assert_false(ua_se_we_refresh(&r, true));
    h.refresher = UA_REFRESHER_UAC;
    ua_se_uas(&no_timer, &h, &r);
    assert_int_equal(r.refresher, UA_REFRESHER_UAC);
    assert_false(ua_se_we_refresh(&r, false));
    h.refresher = UA_REFRESHER_NONE;
    ua_se_uas(&no_timer, &h, &r);
    assert_int_equal(r.refresher, UA_REFRESHER_UAC);
    h.supported = false;
    ua_se_uas(&no_timer, &h, &r);
    assert_int_equal(r.refresher, UA_REFRESHER_UAS);
    assert_false(r.require);
}

/* No Session-Expires in the request: no timer, unless we want one. */
static void test_uas_insert(void **state)
{
    struct ua_se_hdrs h = {.supported = true};
    struct ua_se_config cfg = {600, 90};
    struct ua_se_result r;
    (void) state;

    ua_se_uas(&no_timer, &h, &r);
    assert_false(r.active);
    assert_int_equal(r.status, 0);
    ua_se_uas(&cfg, &h, &r);
    assert_true(r.active);
    assert_int_equal(r.interval, 600);
    assert_int_equal(r.refresher, UA_REFRESHER_UAC);
    h.has_min_se = true;
    h.min_se = 900;
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.interval, 900);
    /* §9: we may lower a request's interval, not below its Min-SE */
    h = (struct ua_se_hdrs){.has_se = true,
                            .se = 3600,
                            .has_min_se = true,
                            .min_se = 1000,
                            .supported = true};
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.interval, 1000);
    h.has_min_se = false;
    ua_se_uas(&cfg, &h, &r);
    assert_int_equal(r.interval, 600);
}

static void test_uac_2xx(void **state)
{
    struct ua_se_hdrs h = {0};
    struct ua_se_result r;
    (void) state;

    ua_se_uac_2xx(&h, &r);
    assert_false(r.active);
    assert_false(ua_se_we_refresh(&r, true));
    h = (struct ua_se_hdrs){.has_se = true, .se = 90, .refresher = UA_REFRESHER_UAS};
    ua_se_uac_2xx(&h, &r);
    assert_true(r.active);
    assert_int_equal(r.interval, 90);
    assert_false(ua_se_we_refresh(&r, true));
    assert_true(ua_se_we_refresh(&r, false));
    h.refresher = UA_REFRESHER_NONE;
    ua_se_uac_2xx(&h, &r);
    assert_int_equal(r.refresher, UA_REFRESHER_UAC);
    assert_true(ua_se_we_refresh(&r, true));
}

/* §7.3: retry with the 422's Min-SE; nothing to retry with otherwise. */
static void test_after_422(void **state)
{
    struct ua_se_hdrs h = {.has_min_se = true, .min_se = 300};
    (void) state;
    assert_int_equal(ua_se_after_422(&h, 90), 300);
    assert_int_equal(ua_se_after_422(&h, 300), 0);
    assert_int_equal(ua_se_after_422(&h, 600), 0);
    h.min_se = 30;
    assert_int_equal(ua_se_after_422(&h, 0), 0);
    h.has_min_se = false;
    assert_int_equal(ua_se_after_422(&h, 90), 0);
}

/* §10: refresh at half; the BYE at interval - min(32, interval/3). */
static void test_deadlines(void **state)
{
    (void) state;
    assert_int_equal(ua_se_refresh_ms(90), 45000);
    assert_int_equal(ua_se_refresh_ms(1800), 900000);
    assert_int_equal(ua_se_expiry_ms(90), 60000);     /* 90 - 30 */
    assert_int_equal(ua_se_expiry_ms(96), 64000);     /* 96 - 32 */
    assert_int_equal(ua_se_expiry_ms(1800), 1768000); /* 1800 - 32 */
    for (uint32_t i = 90; i < 5000; i++)
        TU_ASSERT_MSG(ua_se_refresh_ms(i) < ua_se_expiry_ms(i), "interval %u", i);
}

static void test_line(void **state)
{
    char buf[64];
    (void) state;
    assert_int_equal(ua_se_line(buf, sizeof(buf), 1800, UA_REFRESHER_UAC), 0);
    assert_string_equal(buf, "Session-Expires: 1800;refresher=uac\r\n");
    assert_int_equal(ua_se_line(buf, sizeof(buf), 90, UA_REFRESHER_UAS), 0);
    assert_string_equal(buf, "Session-Expires: 90;refresher=uas\r\n");
    assert_int_equal(ua_se_line(buf, sizeof(buf), 90, UA_REFRESHER_NONE), 0);
    assert_string_equal(buf, "Session-Expires: 90\r\n");
    assert_int_equal(ua_se_line(buf, 8, 90, UA_REFRESHER_NONE), ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),          cmocka_unit_test(test_uas_422),
        cmocka_unit_test(test_uas_refresher), cmocka_unit_test(test_uas_insert),
        cmocka_unit_test(test_uac_2xx),       cmocka_unit_test(test_after_422),
        cmocka_unit_test(test_deadlines),     cmocka_unit_test(test_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
