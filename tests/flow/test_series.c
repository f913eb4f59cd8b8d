/* Tests of the per-stream quality series behind the --html plots: points per second,
 * loss per point, merging in pairs past FLOW_SERIES_MAX, clock steps and events. */
#include <string.h>

#include "testutil.h"

#include "flow/model.h"

#define S_NS 1000000000ull
#define T0 (1700000000ull * S_NS)

static uint64_t sum_packets(const struct flow_series *se)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < se->n; i++)
        n += se->pt[i].packets;
    return n;
}

/* 50 packets a second for 10 s; `expected` as §A.3 counts it (the first packet is on
 * probation: 0), packets 260..279 lost. */
static void test_per_second_loss(void **state)
{
    struct flow_series se;
    int64_t expected = 0;

    (void) state;
    memset(&se, 0, sizeof(se));
    for (int i = 0; i < 500; i++) {
        if (i >= 260 && i < 280) continue;
        expected = i;
        flow_series_add(&se, T0 + (uint64_t) i * 20000000ull, expected,
                        0.5 + (i / 50) * 0.1);
    }
    assert_int_equal(se.n, 10);
    assert_int_equal(se.step_ns, S_NS);
    assert_int_equal(se.start_ns, T0);
    assert_int_equal(sum_packets(&se), 480);
    assert_int_equal(se.pt[0].packets, 50);
    assert_int_equal(flow_series_lost(&se.pt[0]), 0); /* 49 expected: never negative */
    assert_int_equal(se.pt[5].packets, 30);
    assert_int_equal(se.pt[5].expected, 50);
    assert_int_equal(flow_series_lost(&se.pt[5]), 20);
    for (int k = 1; k < 10; k++)
        if (k != 5) assert_int_equal(flow_series_lost(&se.pt[k]), 0);
    assert_true(se.pt[9].jitter_ms > 1.39f && se.pt[9].jitter_ms < 1.41f);
}

/* 200 s at one packet a second: pairs merge until 200 s fit in 60 points (4 s each). */
static void test_merge_in_pairs(void **state)
{
    struct flow_series se;
    uint32_t expected = 0;

    (void) state;
    memset(&se, 0, sizeof(se));
    for (int i = 0; i < 200; i++)
        flow_series_add(&se, T0 + (uint64_t) i * S_NS, i, i == 77 ? 9.0 : 1.0);
    assert_true(se.n <= FLOW_SERIES_MAX);
    assert_int_equal(se.step_ns, 4 * S_NS);
    assert_int_equal(se.n, 50);
    assert_int_equal(sum_packets(&se), 200);
    for (uint32_t i = 0; i < se.n; i++) {
        assert_int_equal(se.pt[i].packets, 4);
        expected += se.pt[i].expected;
    }
    assert_int_equal(expected, 199);
    assert_true(se.pt[77 / 4].jitter_ms > 8.9f); /* the peak survives the merging */
    assert_true(se.pt[0].jitter_ms < 1.1f);
}

/* A clock stepping back counts in the first point; events (jitter < 0) leave the
 * jitter alone; a stream restarted (§A.1) does not count negative growth. */
static void test_odd_input(void **state)
{
    struct flow_series se;

    (void) state;
    memset(&se, 0, sizeof(se));
    flow_series_add(&se, T0 + 5 * S_NS, 0, 2.0);
    flow_series_add(&se, T0, 1, 3.0); /* before the first packet */
    flow_series_add(&se, T0 + 5 * S_NS + 1, 2, -1);
    flow_series_add(&se, T0 + 6 * S_NS, 1, -1); /* expected went back */
    flow_series_add(&se, T0 + 6 * S_NS + 1, 3, 1.0);
    assert_int_equal(se.n, 2);
    assert_int_equal(se.pt[0].packets, 3);
    assert_int_equal(se.pt[0].expected, 2);
    assert_true(se.pt[0].jitter_ms > 2.9f && se.pt[0].jitter_ms < 3.1f);
    assert_int_equal(se.pt[1].packets, 2);
    assert_int_equal(se.pt[1].expected, 2);
    assert_true(se.pt[1].jitter_ms > 0.9f && se.pt[1].jitter_ms < 1.1f);
    /* a day-long stream still fits */
    for (int i = 0; i < 86400; i += 7)
        flow_series_add(&se, T0 + 5 * S_NS + (uint64_t) i * S_NS, 4 + i, 0.1);
    assert_true(se.n <= FLOW_SERIES_MAX && se.n > FLOW_SERIES_MAX / 2);
    assert_int_equal(sum_packets(&se), 5 + (86400 + 6) / 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_second_loss),
        cmocka_unit_test(test_merge_in_pairs),
        cmocka_unit_test(test_odd_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
