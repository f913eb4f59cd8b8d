/* Tests of the loop's timer heap (net/loop.c) on a fake clock: order, stop, restart, many timers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "net/loop.h"

#define N 5000

struct rec {
    struct sk_timer t;
    uint64_t due;
    unsigned id;
    int fired;
};

static uint64_t last_when;
static unsigned last_id, nfired;
static int order_ok = 1;

static void on_fire(struct sk_loop *l, struct sk_timer *t, void *arg)
{
    struct rec *r = arg;
    (void) t;
    r->fired++;
    nfired++;
    /* the clock follows each timer, and timers fire in (due, start order) */
    if (sk_loop_now(l) != r->due || r->due < last_when ||
        (r->due == last_when && r->id < last_id && nfired > 1))
        order_ok = 0;
    last_when = r->due;
    last_id = r->id;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Thousands of timers with random (often equal) due times, some stopped, some
 * restarted: every live one fires once, at its time, in order. */
static void test_heap_random(void **state)
{
    struct sk_loop *l;
    struct rec *r = calloc(N, sizeof(*r));
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned expect = 0;
    (void) state;

    assert_non_null(r);
    assert_int_equal(sk_loop_new(&l, SK_LOOP_FAKE_CLOCK), 0);
    last_when = 0;
    last_id = 0;
    nfired = 0;
    order_ok = 1;
    for (unsigned i = 0; i < N; i++) {
        r[i].id = i;
        r[i].due = rnd(&seed) % 3000;
        sk_timer_init(&r[i].t, on_fire, &r[i]);
        assert_int_equal(sk_timer_start(l, &r[i].t, r[i].due), 0);
    }
    assert_int_equal(sk_loop_timer_count(l), N);
    /* stop every third; restart every seventh later (it then fires after the
     * ones started before it with the same due time: ids below keep order) */
    for (unsigned i = 0; i < N; i += 3) {
        sk_timer_stop(l, &r[i].t);
        assert_false(sk_timer_active(&r[i].t));
        sk_timer_stop(l, &r[i].t); /* stopping twice is harmless */
    }
    for (unsigned i = 0; i < N; i++)
        expect += i % 3 != 0;
    assert_int_equal(sk_loop_timer_count(l), expect);
    sk_loop_advance(l, 3000);
    assert_int_equal(nfired, expect);
    assert_true(order_ok);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(r[i].fired, i % 3 != 0);
    assert_int_equal(sk_loop_timer_count(l), 0);
    sk_loop_free(l);
    free(r);
}

/* A restarted timer moves: it fires once, at its new time. */
static void test_heap_restart(void **state)
{
    struct sk_loop *l;
    struct rec a = {0}, b = {0}, c = {0};
    (void) state;

    assert_int_equal(sk_loop_new(&l, SK_LOOP_FAKE_CLOCK), 0);
    last_when = 0;
    nfired = 0;
    order_ok = 1;
    a.id = 0, b.id = 1, c.id = 2;
    sk_timer_init(&a.t, on_fire, &a);
    sk_timer_init(&b.t, on_fire, &b);
    sk_timer_init(&c.t, on_fire, &c);
    sk_timer_start(l, &a.t, 100);
    sk_timer_start(l, &b.t, 200);
    sk_timer_start(l, &c.t, 300);
    a.due = 400;
    sk_timer_start(l, &a.t, 400); /* a moves behind b and c */
    b.due = 200;
    c.due = 300;
    sk_loop_advance(l, 250);
    assert_int_equal(a.fired, 0);
    assert_int_equal(b.fired, 1);
    sk_loop_advance(l, 200);
    assert_int_equal(c.fired, 1);
    assert_int_equal(a.fired, 1);
    assert_int_equal(nfired, 3);
    sk_loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_random),
        cmocka_unit_test(test_heap_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
