/* Tests of the re-INVITE rules (ua/reinvite.h): the glare retry timer of RFC 3261 §14.1,
 * the directions we offer and answer for hold and resume through real offer/answer
 * exchanges (RFC 3264 §6.1, §8.4), and the events an exchange gives. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"
#include "ua/reinvite.h"

static void test_glare_owner_range(void **state)
{
    (void) state;
    /* the ends of the range and every 10 ms step between them */
    assert_int_equal(ua_glare_retry_ms(true, 0), 2100);
    assert_int_equal(ua_glare_retry_ms(true, 190), 4000);
    assert_int_equal(ua_glare_retry_ms(true, 191), 2100);
    for (uint64_t r = 0; r < 5000; r++) {
        uint32_t ms = ua_glare_retry_ms(true, r * 7919u + (r << 40));
        TU_ASSERT_MSG(ms >= 2100 && ms <= 4000 && ms % 10 == 0, "owner: %u ms", ms);
    }
    assert_int_equal(ua_glare_retry_ms(true, UINT64_MAX) % 10, 0);
}

static void test_glare_other_range(void **state)
{
    (void) state;
    assert_int_equal(ua_glare_retry_ms(false, 0), 0);
    assert_int_equal(ua_glare_retry_ms(false, 200), 2000);
    assert_int_equal(ua_glare_retry_ms(false, 201), 0);
    for (uint64_t r = 0; r < 5000; r++) {
        uint32_t ms = ua_glare_retry_ms(false, r * 104729u);
        TU_ASSERT_MSG(ms <= 2000 && ms % 10 == 0, "other: %u ms", ms);
    }
}

/* Every step of both ranges is reachable, so two UACs never keep colliding. */
static void test_glare_covers_all_steps(void **state)
{
    bool seen_owner[191] = {false}, seen_other[201] = {false};
    (void) state;
    for (uint64_t r = 0; r < 191 * 201; r++) {
        seen_owner[(ua_glare_retry_ms(true, r) - 2100) / 10] = true;
        seen_other[ua_glare_retry_ms(false, r) / 10] = true;
    }
    for (unsigned i = 0; i < 191; i++)
        TU_ASSERT_MSG(seen_owner[i], "owner step %u never chosen", i);
    for (unsigned i = 0; i < 201; i++)
        TU_ASSERT_MSG(seen_other[i], "other step %u never chosen", i);
    /* the owner always waits longer than the other side */
    assert_true(ua_glare_retry_ms(true, 0) > ua_glare_retry_ms(false, 200));
}

static void test_offer_and_answer_dirs(void **state)
{
    (void) state;
    assert_int_equal(ua_offer_dir(false, false), SDP_DIR_SENDRECV);
    assert_int_equal(ua_offer_dir(false, true), SDP_DIR_SENDRECV);
    assert_int_equal(ua_offer_dir(true, false), SDP_DIR_SENDONLY);
    assert_int_equal(ua_offer_dir(true, true), SDP_DIR_INACTIVE);
    assert_int_equal(ua_answer_dir(false), SDP_DIR_SENDRECV);
    assert_int_equal(ua_answer_dir(true), SDP_DIR_SENDONLY);
}

/* One re-INVITE exchange between two sdp_locals: A offers with its hold
 * state, B answers with its own; returns the answer's direction and the
 * negotiated send/recv of both sides. */
struct xchg {
    struct sdp_local a, b;
    struct sdp_session offer, answer, parsed;
    struct sdp_neg neg_a, neg_b;
};

static enum sdp_dir exchange(struct xchg *x, bool a_hold, bool a_held, bool b_hold)
{
    struct sdp_oa_fail fail;
    struct sdp_error err;
    struct sk_buf b;
    uint64_t v0 = x->a.sess_version;

    x->a.dir = ua_offer_dir(a_hold, a_held);
    assert_int_equal(sdp_offer_new(&x->a, &x->offer), 0);
    /* on the wire and back, as the peer sees it */
    sk_buf_init(&b);
    assert_int_equal(sdp_print(&x->offer, &b), 0);
    assert_int_equal(sdp_parse(&x->parsed, b.p, b.len, &err), 0);
    sk_buf_free(&b);
    /* RFC 3264 §8: same session, the version moves by one when anything changed */
    assert_true(x->offer.origin.sess_version == v0 ||
                x->offer.origin.sess_version == v0 + 1);
    x->b.dir = ua_answer_dir(b_hold);
    assert_int_equal(sdp_answer_new(&x->parsed, &x->b, &x->answer, &x->neg_b, &fail), 0);
    assert_int_equal(sdp_answer_apply(&x->offer, &x->answer, &x->neg_a, &fail), 0);
    return x->answer.media[0].dir;
}

static void test_hold_exchanges(void **state)
{
    struct xchg *x = calloc(1, sizeof(*x));
    uint64_t v;
    (void) state;
    assert_non_null(x);
    assert_int_equal(sdp_local_init(&x->a, "127.0.0.1", 20000), 0);
    assert_int_equal(sdp_local_init(&x->b, "127.0.0.1", 20002), 0);

    /* the call: sendrecv both ways */
    assert_int_equal(exchange(x, false, false, false), SDP_DIR_SENDRECV);
    assert_true(x->neg_a.send && x->neg_a.recv && x->neg_b.send && x->neg_b.recv);
    v = x->offer.origin.sess_version;
    assert_int_equal(x->offer.origin.sess_id, x->a.sess_id);

    /* A holds: sendonly -> recvonly; B stops sending, A keeps sending */
    assert_int_equal(exchange(x, true, false, false), SDP_DIR_RECVONLY);
    assert_int_equal(x->offer.media[0].dir, SDP_DIR_SENDONLY);
    assert_true(x->offer.origin.sess_version == v + 1);
    assert_true(x->neg_a.send && !x->neg_a.recv);
    assert_true(!x->neg_b.send && x->neg_b.recv);
    assert_true(ua_offer_holds(&x->neg_b));

    /* B holds too, in an answer to A's repeated offer: inactive both ways */
    assert_int_equal(exchange(x, true, false, true), SDP_DIR_INACTIVE);
    assert_true(!x->neg_a.send && !x->neg_a.recv && !x->neg_b.send && !x->neg_b.recv);

    /* A offers again knowing B holds it: inactive -> inactive */
    assert_int_equal(exchange(x, true, true, true), SDP_DIR_INACTIVE);
    assert_int_equal(x->offer.media[0].dir, SDP_DIR_INACTIVE);
    assert_true(ua_offer_holds(&x->neg_b));

    /* A resumes while B still holds: sendrecv -> sendonly; B sends, A does not */
    assert_int_equal(exchange(x, false, true, true), SDP_DIR_SENDONLY);
    assert_true(!x->neg_a.send && x->neg_a.recv);
    assert_true(x->neg_b.send && !x->neg_b.recv);
    assert_false(ua_offer_holds(&x->neg_b));

    /* both resumed: sendrecv again, version + 1 */
    v = x->offer.origin.sess_version;
    assert_int_equal(exchange(x, false, false, false), SDP_DIR_SENDRECV);
    assert_true(x->neg_a.send && x->neg_a.recv && x->neg_b.send && x->neg_b.recv);
    /* sendrecv offered twice: no change */
    assert_true(x->offer.origin.sess_version == v);
    free(x);
}

static void test_hold_change(void **state)
{
    (void) state;
    assert_int_equal(ua_hold_change(false, true, false, false), UA_HOLD_HELD);
    assert_int_equal(ua_hold_change(true, false, true, true), UA_HOLD_RESUMED);
    assert_int_equal(ua_hold_change(false, false, false, true), UA_HOLD_REMOTE_HOLD);
    assert_int_equal(ua_hold_change(true, true, true, false), UA_HOLD_REMOTE_RESUME);
    assert_int_equal(ua_hold_change(true, true, true, true), UA_HOLD_NONE);
    assert_int_equal(ua_hold_change(false, false, false, false), UA_HOLD_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glare_owner_range),
        cmocka_unit_test(test_glare_other_range),
        cmocka_unit_test(test_glare_covers_all_steps),
        cmocka_unit_test(test_offer_and_answer_dirs),
        cmocka_unit_test(test_hold_exchanges),
        cmocka_unit_test(test_hold_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
