/* Tests of the RFC 3262 rules (ua/prack.h): negotiation (420/421), RSeq, the UAS's
 * retransmission schedule and queue, RAck matching (481), the 2xx held back for an
 * offer, and the UAC's RSeq order. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "ua/prack.h"

static const struct sk_str invite = SK_STR_LIT("INVITE");

static void test_decide(void **state)
{
    (void) state;
    /* §4: Require: 100rel from the UAC */
    assert_int_equal(ua_prack_decide(UA_REL100_OFF, true, true), UA_PRACK_REJECT_420);
    assert_int_equal(ua_prack_decide(UA_REL100_SUPPORTED, true, false),
                     UA_PRACK_RELIABLE);
    assert_int_equal(ua_prack_decide(UA_REL100_REQUIRED, true, true), UA_PRACK_RELIABLE);
    /* only Supported: reliable when we require it */
    assert_int_equal(ua_prack_decide(UA_REL100_SUPPORTED, false, true),
                     UA_PRACK_UNRELIABLE);
    assert_int_equal(ua_prack_decide(UA_REL100_OFF, false, true), UA_PRACK_UNRELIABLE);
    assert_int_equal(ua_prack_decide(UA_REL100_REQUIRED, false, true), UA_PRACK_RELIABLE);
    /* we require it, the UAC cannot: 421 */
    assert_int_equal(ua_prack_decide(UA_REL100_REQUIRED, false, false),
                     UA_PRACK_REJECT_421);
    assert_int_equal(ua_prack_decide(UA_REL100_SUPPORTED, false, false),
                     UA_PRACK_UNRELIABLE);
}

static void test_opt_has(void **state)
{
    struct sk_str tags[] = {SK_STR_LIT("timer"), SK_STR_LIT("100REL")};
    (void) state;
    assert_true(ua_opt_has(tags, 2, "100rel"));
    assert_true(ua_opt_has(tags, 2, "Timer"));
    assert_false(ua_opt_has(tags, 2, "replaces"));
    assert_false(ua_opt_has(tags, 0, "timer"));
}

static void test_rseq_initial_range(void **state)
{
    (void) state;
    assert_int_equal(ua_prack_rseq_initial(0), 1);
    assert_int_equal(ua_prack_rseq_initial(UA_RSEQ_MAX - 1), UA_RSEQ_MAX);
    assert_int_equal(ua_prack_rseq_initial(UA_RSEQ_MAX), 1);
    for (uint64_t r = 0; r < 10000; r++) {
        uint32_t v = ua_prack_rseq_initial(r * 0x9e3779b97f4a7c15ull);
        TU_ASSERT_MSG(v >= 1 && v <= UA_RSEQ_MAX, "rseq %u", v);
    }
}

/* §3: T1, 2T1, 4T1... and the 5xx after 64*T1 without a PRACK. */
static void test_uas_retransmit_schedule(void **state)
{
    struct ua_prack_uas s;
    int status;
    bool offer;
    uint32_t rseq, wait, total = 0, sends = 1;
    (void) state;

    ua_prack_uas_init(&s, 500, 41);
    assert_int_equal(ua_prack_uas_queue(&s, 180, false), 0);
    assert_true(ua_prack_uas_next(&s, &status, &offer, &rseq, &wait));
    assert_int_equal(status, 180);
    assert_int_equal(rseq, 42);
    assert_int_equal(wait, 500);
    uint32_t expect = 500;
    for (;;) {
        total += wait;
        enum ua_prack_tick t = ua_prack_uas_tick(&s, &wait);
        if (t == UA_PRACK_TICK_GIVE_UP) break;
        assert_int_equal(t, UA_PRACK_TICK_RETRANSMIT);
        expect *= 2;
        assert_int_equal(wait, expect);
        sends++;
        assert_true(sends < 20);
    }
    /* 0.5 + 1 + 2 + 4 + 8 + 16 + 32 = 63.5 s: the 7th wait reaches 64*T1 */
    assert_int_equal(sends, 7);
    assert_true(total >= 64u * 500);
}

static void test_uas_prack_stops_it(void **state)
{
    struct ua_prack_uas s;
    int status;
    bool offer = true;
    uint32_t rseq, wait;
    (void) state;

    ua_prack_uas_init(&s, 100, 999);
    ua_prack_uas_queue(&s, 183, false);
    assert_true(ua_prack_uas_next(&s, &status, &offer, &rseq, &wait));
    /* wrong RSeq, wrong CSeq, wrong method: 481 (ENOENT), still in flight */
    assert_int_equal(ua_prack_uas_rx(&s, rseq + 1, 7, invite, 7, &offer), ENOENT);
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 8, invite, 7, &offer), ENOENT);
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 7, sk_str_cstr("BYE"), 7, &offer), ENOENT);
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 7, sk_str_cstr("invite"), 7, &offer),
                     ENOENT);
    assert_int_equal(ua_prack_uas_tick(&s, &wait), UA_PRACK_TICK_RETRANSMIT);
    /* the right one */
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 7, invite, 7, &offer), 0);
    assert_false(offer);
    assert_int_equal(ua_prack_uas_tick(&s, &wait), UA_PRACK_TICK_IDLE);
    /* a second PRACK for the same RSeq (a new transaction): 481 */
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 7, invite, 7, &offer), ENOENT);
}

/* §3: one unacknowledged reliable provisional at a time; the next waits, RSeq + 1. */
static void test_uas_queue_in_order(void **state)
{
    struct ua_prack_uas s;
    int status;
    bool offer;
    uint32_t r1, r2, r3, wait;
    (void) state;

    ua_prack_uas_init(&s, 500, 5);
    assert_int_equal(ua_prack_uas_queue(&s, 180, false), 0);
    assert_int_equal(ua_prack_uas_queue(&s, 183, true), 0);
    assert_int_equal(ua_prack_uas_queue(&s, 182, false), 0);
    assert_true(ua_prack_uas_next(&s, &status, &offer, &r1, &wait));
    assert_int_equal(status, 180);
    assert_false(ua_prack_uas_next(&s, &status, &offer, &r2, &wait));
    assert_int_equal(ua_prack_uas_rx(&s, r1, 1, invite, 1, &offer), 0);
    assert_true(ua_prack_uas_next(&s, &status, &offer, &r2, &wait));
    assert_int_equal(status, 183);
    assert_true(offer);
    assert_int_equal(r2, r1 + 1);
    /* the 2xx waits for the PRACK of the provisional with the offer */
    assert_false(ua_prack_uas_may_answer(&s));
    assert_int_equal(ua_prack_uas_rx(&s, r2, 1, invite, 1, &offer), 0);
    assert_true(offer);
    assert_true(ua_prack_uas_may_answer(&s));
    assert_true(ua_prack_uas_next(&s, &status, &offer, &r3, &wait));
    assert_int_equal(r3, r2 + 1);
    assert_int_equal(status, 182);
}

static void test_uas_queue_limits(void **state)
{
    struct ua_prack_uas s;
    int status;
    bool offer;
    uint32_t rseq, wait;
    (void) state;

    ua_prack_uas_init(&s, 500, 0);
    assert_int_equal(ua_prack_uas_queue(&s, 100, false), EINVAL);
    assert_int_equal(ua_prack_uas_queue(&s, 200, false), EINVAL);
    for (int i = 0; i < UA_PRACK_QUEUE; i++)
        assert_int_equal(ua_prack_uas_queue(&s, 180, false), 0);
    assert_int_equal(ua_prack_uas_queue(&s, 180, false), ENOSPC);
    assert_true(ua_prack_uas_next(&s, &status, &offer, &rseq, &wait));
    /* the final response: nothing more goes out or is retransmitted */
    ua_prack_uas_final(&s);
    assert_int_equal(ua_prack_uas_tick(&s, &wait), UA_PRACK_TICK_IDLE);
    assert_false(ua_prack_uas_next(&s, &status, &offer, &rseq, &wait));
    assert_int_equal(ua_prack_uas_queue(&s, 180, false), EALREADY);
    assert_int_equal(ua_prack_uas_rx(&s, rseq, 1, invite, 1, &offer), ENOENT);
}

/* Without an offer in the provisional the 2xx need not wait. */
static void test_uas_answer_without_offer(void **state)
{
    struct ua_prack_uas s;
    int status;
    bool offer;
    uint32_t rseq, wait;
    (void) state;

    ua_prack_uas_init(&s, 500, 77);
    assert_true(ua_prack_uas_may_answer(&s));
    ua_prack_uas_queue(&s, 180, false);
    ua_prack_uas_next(&s, &status, &offer, &rseq, &wait);
    assert_true(ua_prack_uas_may_answer(&s));
}

/* §4: the first RSeq sets the base, then only +1; retransmissions and gaps are dropped.
 */
static void test_uac_order(void **state)
{
    struct ua_prack_uac s;
    struct sk_str tag = SK_STR_LIT("abc");
    (void) state;

    ua_prack_uac_init(&s);
    assert_int_equal(ua_prack_uac_rx(&s, tag, false, true, 5), UA_PRACK_NONE);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, false, 0), UA_PRACK_BAD);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 100), UA_PRACK_SEND);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 100), UA_PRACK_IGNORE);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 102), UA_PRACK_IGNORE);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 99), UA_PRACK_IGNORE);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 101), UA_PRACK_SEND);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 101), UA_PRACK_IGNORE);
    assert_int_equal(ua_prack_uac_rx(&s, tag, true, true, 102), UA_PRACK_SEND);
    /* another early dialog (fork): its own RSeq space */
    assert_int_equal(ua_prack_uac_rx(&s, sk_str_cstr("other"), true, true, 7),
                     UA_PRACK_SEND);
    assert_int_equal(ua_prack_uac_rx(&s, sk_str_cstr("other"), true, true, 8),
                     UA_PRACK_SEND);
}

static void test_rack_line(void **state)
{
    char buf[64];
    (void) state;
    assert_int_equal(ua_prack_rack_line(buf, sizeof(buf), 776656, 1, "INVITE"), 0);
    assert_string_equal(buf, "RAck: 776656 1 INVITE\r\n");
    assert_int_equal(ua_prack_rack_line(buf, 10, 776656, 1, "INVITE"), ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_opt_has),
        cmocka_unit_test(test_rseq_initial_range),
        cmocka_unit_test(test_uas_retransmit_schedule),
        cmocka_unit_test(test_uas_prack_stops_it),
        cmocka_unit_test(test_uas_queue_in_order),
        cmocka_unit_test(test_uas_queue_limits),
        cmocka_unit_test(test_uas_answer_without_offer),
        cmocka_unit_test(test_uac_order),
        cmocka_unit_test(test_rack_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
