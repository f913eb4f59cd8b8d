/* Tests of the jitter buffer: ordering, loss, late and duplicate packets, wrap, resets,
 * delay. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "media/jbuf.h"

#define SSRC 0x5555

static struct jbuf *make(bool adaptive, unsigned target)
{
    struct jbuf_config c;
    struct jbuf *jb;

    jbuf_config_default(&c);
    c.adaptive = adaptive;
    c.target_ms = target;
    assert_int_equal(jbuf_new(&jb, &c), 0);
    return jb;
}

/* Packet k: seq seq0+k, ts ts0+160k, payload = the low byte of k, 160 bytes. */
static int put(struct jbuf *jb, uint16_t seq0, uint32_t ts0, unsigned k, int64_t at_us)
{
    uint8_t p[160];

    memset(p, (int) (k & 0xFF), sizeof(p));
    return jbuf_put(jb, SSRC, (uint16_t) (seq0 + k), ts0 + 160u * k, false, p, sizeof(p),
                    at_us);
}

/* Ticks until the first frame; returns the frame's k (payload byte). */
static int next(struct jbuf *jb, enum jbuf_result *res)
{
    struct jbuf_frame f;

    *res = jbuf_get(jb, &f);
    if (*res != JBUF_FRAME) return -1;
    assert_int_equal(f.len, 160);
    return f.payload[0];
}

static void test_order_and_delay(void **state)
{
    struct jbuf *jb = make(false, 40);
    static const unsigned order[] = {0, 2, 1, 4, 3, 5, 7, 6, 8, 9};
    enum jbuf_result r;
    (void) state;

    for (size_t i = 0; i < 10; i++)
        assert_int_equal(put(jb, 100, 1000, order[i], 0), 0);
    /* target 40 ms: two ticks of waiting, then the frames in timestamp order */
    assert_int_equal(next(jb, &r), -1);
    assert_int_equal(r, JBUF_WAITING);
    assert_int_equal(next(jb, &r), -1);
    assert_int_equal(r, JBUF_WAITING);
    for (int k = 0; k < 10; k++)
        assert_int_equal(next(jb, &r), k);
    assert_int_equal(jbuf_get_stats(jb)->played, 10);
    /* nothing more: missing, then after JBUF_UNDERRUN_TICKS back to waiting */
    assert_int_equal(next(jb, &r), -1);
    assert_int_equal(r, JBUF_MISSING);
    for (int i = 0; i < JBUF_UNDERRUN_TICKS; i++)
        next(jb, &r);
    assert_int_equal(r, JBUF_WAITING);
    jbuf_free(jb);
}

static void test_loss_late_duplicate(void **state)
{
    struct jbuf *jb = make(false, 20);
    enum jbuf_result r;
    (void) state;

    put(jb, 1, 0, 0, 0);
    assert_int_equal(next(jb, &r), -1); /* 20 ms target: one tick waiting */
    put(jb, 1, 0, 1, 0);
    put(jb, 1, 0, 3, 0);
    assert_int_equal(put(jb, 1, 0, 3, 0), EEXIST);
    assert_int_equal(next(jb, &r), 0);
    assert_int_equal(next(jb, &r), 1);
    put(jb, 1, 0, 4, 0);
    assert_int_equal(next(jb, &r), -1); /* 2 is lost */
    assert_int_equal(r, JBUF_MISSING);
    /* 2 arrives now: too late */
    assert_int_equal(put(jb, 1, 0, 2, 0), ETIMEDOUT);
    assert_int_equal(next(jb, &r), 3);
    assert_int_equal(next(jb, &r), 4);
    assert_int_equal(jbuf_get_stats(jb)->late, 1);
    assert_int_equal(jbuf_get_stats(jb)->duplicates, 1);
    assert_int_equal(jbuf_get_stats(jb)->missing, 1);
    uint8_t big[JBUF_PAYLOAD_MAX + 1] = {0};
    assert_int_equal(jbuf_put(jb, SSRC, 9, 5 * 160, false, big, sizeof(big), 0),
                     EMSGSIZE);
    jbuf_free(jb);
}

static void test_wrap(void **state)
{
    struct jbuf *jb = make(false, 20);
    enum jbuf_result r;
    (void) state;

    /* seq 65533 .. 3 and ts wrapping at 2^32 (not on a frame boundary) */
    for (unsigned k = 0; k < 8; k++)
        assert_int_equal(put(jb, 65533, 0xFFFFFE00u, 7 - k, 0), 0);
    next(jb, &r);
    for (int k = 0; k < 8; k++)
        assert_int_equal(next(jb, &r), k);
    jbuf_free(jb);
}

static void test_resets(void **state)
{
    struct jbuf *jb = make(false, 20);
    enum jbuf_result r;
    uint8_t p[160] = {0x77};
    (void) state;

    for (unsigned k = 0; k < 3; k++)
        put(jb, 1, 0, k, 0);
    next(jb, &r);
    assert_int_equal(next(jb, &r), 0);
    /* the timestamp jumps 10 s ahead: buffering again from there */
    assert_int_equal(put(jb, 1, 80000, 0, 0), 0);
    assert_int_equal(jbuf_get_stats(jb)->resets, 1);
    assert_int_equal(next(jb, &r), -1);
    assert_int_equal(r, JBUF_WAITING);
    assert_int_equal(next(jb, &r), 0);
    /* and back 10 s: another reset, not "late" */
    assert_int_equal(put(jb, 1, 0, 50, 0), 0);
    assert_int_equal(jbuf_get_stats(jb)->resets, 2);
    assert_int_equal(jbuf_get_stats(jb)->late, 0);
    /* a new SSRC */
    assert_int_equal(jbuf_put(jb, 0xAAAA, 7, 123456, true, p, 160, 0), 0);
    assert_int_equal(jbuf_get_stats(jb)->resets, 3);
    next(jb, &r);
    {
        struct jbuf_frame f;

        assert_int_equal(jbuf_get(jb, &f), JBUF_FRAME);
        assert_int_equal(f.seq, 7);
        assert_int_equal(f.ts, 123456);
        assert_true(f.marker);
        assert_int_equal(f.payload[0], 0x77);
    }
    jbuf_free(jb);
}

/* Simulated network: packet k sent at 20k ms arrives at 20k + delay(k) ms; the player
 * ticks every 20 ms (offset 5 ms), taking what arrived by then. Returns late count. */
static uint64_t simulate(struct jbuf *jb, unsigned n, unsigned (*delay)(unsigned k),
                         unsigned *out_of_order)
{
    unsigned sent = 0, last = 0;
    bool first = true;
    enum jbuf_result r;

    *out_of_order = 0;
    for (unsigned t = 0; t < n + 40; t++) {
        int64_t now = 20000 * (int64_t) t + 5000;

        /* deliver in arrival order: every not-yet-delivered packet due by now */
        for (unsigned k = sent; k < n && k < t + 20; k++) {
            int64_t at = 20000 * (int64_t) k + 1000 * (int64_t) delay(k);

            if (at <= now && at > now - 20000) put(jb, 1, 0, k, at);
        }
        sent = t > 20 ? t - 20 : 0;
        int k = next(jb, &r);
        if (k >= 0) {
            if (!first && (unsigned) k != ((last + 1) & 0xFF))
                (*out_of_order) += ((unsigned) k & 0xFF) < ((last + 1) & 0xFF);
            first = false;
            last = (unsigned) k;
        }
    }
    return jbuf_get_stats(jb)->late;
}

static unsigned no_jitter(unsigned k)
{
    (void) k;
    return 30;
}

/* 0..80 ms pseudo-random extra delay */
static unsigned big_jitter(unsigned k)
{
    uint32_t h = k * 2654435761u;

    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return 10 + h % 81;
}

static void test_adaptive(void **state)
{
    struct jbuf *jb;
    unsigned ooo;
    uint64_t late;
    (void) state;

    /* clean network: the target comes down to the minimum, nothing late */
    jb = make(true, 40);
    late = simulate(jb, 1500, no_jitter, &ooo);
    assert_int_equal(late, 0);
    assert_int_equal(ooo, 0);
    assert_int_equal(jbuf_target_ms(jb), 20);
    assert_true(jbuf_get_stats(jb)->played >= 1490);
    jbuf_free(jb);

    /* 0-80 ms of jitter: the target grows (bounded), few late after it has */
    jb = make(true, 40);
    late = simulate(jb, 1500, big_jitter, &ooo);
    assert_int_equal(ooo, 0);
    assert_true(jbuf_target_ms(jb) >= 80 && jbuf_target_ms(jb) <= 200);
    assert_true(late < 30);
    assert_true(jbuf_jitter_ms(jb) > 15);
    jbuf_free(jb);

    /* the same with a fixed 40 ms: many late packets, target unchanged */
    jb = make(false, 40);
    late = simulate(jb, 1500, big_jitter, &ooo);
    assert_int_equal(jbuf_target_ms(jb), 40);
    assert_true(late > 200);
    jbuf_free(jb);

    struct jbuf_config c;
    jbuf_config_default(&c);
    c.ptime_ms = 5;
    assert_int_equal(jbuf_new(&jb, &c), EINVAL);
    jbuf_config_default(&c);
    c.target_ms = 300;
    assert_int_equal(jbuf_new(&jb, &c), EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_delay),
        cmocka_unit_test(test_loss_late_duplicate),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_resets),
        cmocka_unit_test(test_adaptive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
