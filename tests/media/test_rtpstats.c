/* Tests of RTP receiver statistics: RFC 3550 §A.1/§A.3 loss and §A.8 jitter on crafted
 * sequences. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "media/rtpstats.h"

#define SSRC 0x1234

/* Packet k of a 20 ms G.711 stream: seq seq0+k, ts ts0+160k, arriving at 20k ms. */
static int feed(struct rtp_stats *s, uint16_t seq0, uint32_t ts0, unsigned k,
                int64_t extra_us)
{
    return rtp_stats_update(s, SSRC, (uint16_t) (seq0 + k), ts0 + 160u * k,
                            1000000 + 20000 * (int64_t) k + extra_us, 160);
}

static void test_in_order(void **state)
{
    struct rtp_stats s;
    struct rtcp_report_block rb;
    (void) state;

    rtp_stats_init(&s, 8000);
    assert_int_equal(feed(&s, 1000, 5000, 0, 0), EAGAIN); /* probation */
    for (unsigned k = 1; k < 100; k++)
        assert_int_equal(feed(&s, 1000, 5000, k, 0), 0);
    assert_int_equal(s.packets, 100);
    assert_int_equal(s.bytes, 16000);
    /* §A.1: the first probation packet is outside base_seq..max */
    assert_int_equal(rtp_stats_expected(&s), 99);
    assert_int_equal(s.received, 99);
    assert_int_equal(rtp_stats_lost(&s), 0);
    assert_int_equal(rtp_stats_ext_max(&s), 1099);
    /* constant transit: no jitter at all */
    assert_true(s.jitter == 0.0);
    assert_true(rtp_stats_max_delta_ms(&s) == 20.0);
    assert_int_equal(s.duplicates + s.out_of_order, 0);
    rtp_stats_report(&s, &rb);
    assert_int_equal(rb.ssrc, SSRC);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cum_lost, 0);
    assert_int_equal(rb.ext_high_seq, 1099);
    assert_int_equal(rb.jitter, 0);
}

static void test_loss_and_fraction(void **state)
{
    struct rtp_stats s;
    struct rtcp_report_block rb;
    (void) state;

    rtp_stats_init(&s, 8000);
    for (unsigned k = 0; k < 100; k++)
        if (k != 10 && k != 11 && k != 50) feed(&s, 1000, 0, k, 0);
    assert_int_equal(rtp_stats_expected(&s), 99);
    assert_int_equal(rtp_stats_lost(&s), 3);
    assert_true(rtp_stats_loss_percent(&s) > 3.03 && rtp_stats_loss_percent(&s) < 3.04);
    rtp_stats_report(&s, &rb);
    /* 3 lost of 99 expected in the interval: 3 * 256 / 99 = 7.76 -> 7 */
    assert_int_equal(rb.fraction_lost, 7);
    assert_int_equal(rb.cum_lost, 3);
    /* next interval: 50 more, one lost: 256 / 50 = 5.12 -> 5; cumulative 4 */
    for (unsigned k = 100; k < 150; k++)
        if (k != 120) feed(&s, 1000, 0, k, 0);
    rtp_stats_report(&s, &rb);
    assert_int_equal(rb.fraction_lost, 5);
    assert_int_equal(rb.cum_lost, 4);
    /* an interval with no loss */
    for (unsigned k = 150; k < 160; k++)
        feed(&s, 1000, 0, k, 0);
    rtp_stats_report(&s, &rb);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cum_lost, 4);
}

static void test_reorder_and_duplicates(void **state)
{
    struct rtp_stats s;
    struct rtcp_report_block rb;
    (void) state;

    rtp_stats_init(&s, 8000);
    for (unsigned k = 0; k < 20; k++)
        feed(&s, 1000, 0, k, 0);
    /* 21 before 20: one packet out of order, nothing lost */
    feed(&s, 1000, 0, 21, 0);
    feed(&s, 1000, 0, 20, 0);
    feed(&s, 1000, 0, 22, 0);
    assert_int_equal(s.out_of_order, 1);
    assert_int_equal(s.duplicates, 0);
    assert_int_equal(rtp_stats_lost(&s), 0);
    /* the highest twice, and an older one again: duplicates, lost goes negative */
    feed(&s, 1000, 0, 22, 0);
    feed(&s, 1000, 0, 5, 0);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.out_of_order, 1);
    assert_int_equal(rtp_stats_expected(&s), 22);
    assert_int_equal(s.received, 24);
    assert_int_equal(rtp_stats_lost(&s), -2);
    rtp_stats_report(&s, &rb);
    assert_int_equal(rb.cum_lost, -2);
    assert_int_equal(rb.fraction_lost, 0); /* negative interval loss reports 0 */
    /* a late packet that was lost before: out of order, and it fills the hole */
    for (unsigned k = 23; k < 30; k++)
        if (k != 25) feed(&s, 1000, 0, k, 0);
    assert_int_equal(rtp_stats_lost(&s), -1);
    feed(&s, 1000, 0, 25, 0);
    assert_int_equal(s.out_of_order, 2);
    assert_int_equal(rtp_stats_lost(&s), -2);
}

static void test_wrap(void **state)
{
    struct rtp_stats s;
    (void) state;

    rtp_stats_init(&s, 8000);
    /* 65530 .. 65535, 0 .. 13 and the timestamp wrapping too */
    for (unsigned k = 0; k < 20; k++)
        assert_int_equal(feed(&s, 65530, 0xFFFFFC00u, k, 0), k == 0 ? EAGAIN : 0);
    assert_int_equal(s.cycles, 65536);
    assert_int_equal(rtp_stats_ext_max(&s), 0x1000D);
    assert_int_equal(rtp_stats_expected(&s), 19);
    assert_int_equal(rtp_stats_lost(&s), 0);
    assert_true(s.jitter == 0.0);
    /* reordering across the wrap: 65535 again is a duplicate, not a new cycle */
    rtp_stats_update(&s, SSRC, 65535, 0, 0, 0);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.cycles, 65536);
}

static void test_ssrc_change_and_jump(void **state)
{
    struct rtp_stats s;
    (void) state;

    rtp_stats_init(&s, 8000);
    for (unsigned k = 0; k < 10; k++)
        feed(&s, 1000, 0, k, 0);
    /* a new SSRC: counters start again */
    for (unsigned k = 0; k < 10; k++)
        rtp_stats_update(&s, 0xBEEF, (uint16_t) (40000 + k), 160 * k, 2000000 + 20000 * k,
                         160);
    assert_int_equal(s.ssrc, 0xBEEF);
    assert_int_equal(s.ssrc_changes, 1);
    assert_int_equal(s.packets, 10);
    assert_int_equal(rtp_stats_expected(&s), 9);
    assert_int_equal(rtp_stats_ext_max(&s), 40009);

    /* §A.1: one packet far ahead is ignored; a second one after it restarts */
    assert_int_equal(rtp_stats_update(&s, 0xBEEF, 50000, 0, 3000000, 160), EAGAIN);
    assert_int_equal(s.bad_seq_packets, 1);
    assert_int_equal(rtp_stats_ext_max(&s), 40009);
    assert_int_equal(rtp_stats_update(&s, 0xBEEF, 40010, 0, 3000000, 160), 0);
    assert_int_equal(rtp_stats_update(&s, 0xBEEF, 50000, 0, 3000000, 160), EAGAIN);
    assert_int_equal(rtp_stats_update(&s, 0xBEEF, 50001, 0, 3000000, 160), 0);
    assert_int_equal(s.seq_restarts, 1);
    assert_int_equal(rtp_stats_ext_max(&s), 50001);
    assert_int_equal(rtp_stats_expected(&s), 1);
    /* a gap below MAX_DROPOUT is loss, not a jump */
    assert_int_equal(rtp_stats_update(&s, 0xBEEF, 52000, 0, 3000000, 160), 0);
    assert_int_equal(rtp_stats_lost(&s), 1998); /* 50002..51999 */
}

static void test_jitter(void **state)
{
    struct rtp_stats s;
    double j = 0;
    (void) state;

    /* Transit alternates between 0 and +10 ms (80 units): |D| = 80 for every packet
     * after the first, so J_n = 80 (1 - (15/16)^(n-1)), converging to 80 = 10 ms. */
    rtp_stats_init(&s, 8000);
    for (unsigned k = 0; k < 10; k++) {
        feed(&s, 1, 0, k, (k % 2) ? 10000 : 0);
        if (k > 0) j += (80 - j) / 16;
    }
    /* after 10 packets: 80 * (1 - (15/16)^9) = 35.246... units */
    assert_true(s.jitter > 35.245 && s.jitter < 35.247);
    assert_true(s.jitter - j < 1e-9 && j - s.jitter < 1e-9);
    for (unsigned k = 10; k < 400; k++)
        feed(&s, 1, 0, k, (k % 2) ? 10000 : 0);
    assert_true(rtp_stats_jitter_ms(&s) > 9.999 && rtp_stats_jitter_ms(&s) <= 10.0);
    assert_true(rtp_stats_max_jitter_ms(&s) >= rtp_stats_jitter_ms(&s));
    assert_true(rtp_stats_max_delta_ms(&s) == 30.0);

    /* one 40 ms late packet in a clean stream: D = 320 then 320 back: J = 20, 38.75 */
    rtp_stats_init(&s, 8000);
    feed(&s, 1, 0, 0, 0);
    feed(&s, 1, 0, 1, 40000);
    assert_true(s.jitter == 20.0);
    feed(&s, 1, 0, 2, 0);
    assert_true(s.jitter == 20.0 + (320 - 20.0) / 16);
    assert_true(rtp_stats_max_delta_ms(&s) == 60.0);
    /* silence suppression: a timestamp gap that matches the arrival gap is no jitter */
    rtp_stats_init(&s, 8000);
    feed(&s, 1, 0, 0, 0);
    rtp_stats_update(&s, SSRC, 2, 8000, 1000000 + 1000000, 160);
    assert_true(s.jitter == 0.0);
}

/* 300 packets of a 20 ms stream with random extra delays of 0-25 ms, in arrival order
 * (30 reordered), made by tests/data/media/rtp_jitter_ws.py. Wireshark 4.0.17 (tshark
 * -z rtp,streams) on the same packets as a pcap: Max Delta 45.000 ms, Mean Jitter
 * 8.180 ms, Max Jitter 14.964 ms, 0 lost. */
static void test_wireshark_agrees(void **state)
{
    char path[512];
    FILE *f;
    unsigned seq, ts;
    long long arrival;
    struct rtp_stats s;
    (void) state;

    snprintf(path, sizeof(path), "%s/media/rtp_jitter_ws.txt", SIPKIT_TEST_DATA);
    f = fopen(path, "r");
    assert_non_null(f);
    rtp_stats_init(&s, 8000);
    while (fscanf(f, "%u %u %lld", &seq, &ts, &arrival) == 3)
        rtp_stats_update(&s, SSRC, (uint16_t) seq, ts, arrival, 160);
    fclose(f);
    assert_int_equal(s.packets, 300);
    assert_int_equal(rtp_stats_lost(&s), 0);
    assert_true(rtp_stats_max_delta_ms(&s) > 44.9995 &&
                rtp_stats_max_delta_ms(&s) < 45.0005);
    assert_true(rtp_stats_max_jitter_ms(&s) > 14.9635 &&
                rtp_stats_max_jitter_ms(&s) < 14.9645);
    assert_true(rtp_stats_mean_jitter_ms(&s) > 8.1795 &&
                rtp_stats_mean_jitter_ms(&s) < 8.1805);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_loss_and_fraction),
        cmocka_unit_test(test_reorder_and_duplicates),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_ssrc_change_and_jump),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_wireshark_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
