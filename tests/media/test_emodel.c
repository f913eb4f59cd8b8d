/* Tests of the E-model: published points, hand-computed loss and delay values, labels. */
#include "testutil.h"

#include "media/emodel.h"

#define NEAR(a, b, eps) assert_true((a) - (b) < (eps) && (b) - (a) < (eps))

static double r_of(double loss, double delay, const struct emodel_codec *c)
{
    struct emodel_in in = {
        .codec = *c, .loss_pct = loss, .burst_r = 1, .delay_ms = delay};

    return emodel_r(&in);
}

static void test_mos_mapping(void **state)
{
    (void) state;
    /* G.107: the default R of 93.2 is MOS 4.41:
     * 1 + 0.035*93.2 + 93.2*33.2*6.8*7e-6 = 1 + 3.262 + 0.14729 = 4.40929 */
    NEAR(emodel_mos(93.2), 4.40929, 1e-4);
    NEAR(emodel_mos(-5), 1.0, 1e-12);
    NEAR(emodel_mos(101), 4.5, 1e-12);
    NEAR(emodel_mos(0), 1.0, 1e-12);
    NEAR(emodel_mos(100), 4.5, 1e-12);
    /* R = 50: 1 + 1.75 + 50*(-10)*50*7e-6 = 2.575 */
    NEAR(emodel_mos(50), 2.575, 1e-9);
    /* R = 80: 1 + 2.8 + 80*20*20*7e-6 = 4.024 */
    NEAR(emodel_mos(80), 4.024, 1e-9);
}

static void test_g711_clean(void **state)
{
    (void) state;
    /* G.711, no loss, 20 ms one way: R 93.2, MOS 4.41 */
    NEAR(r_of(0, 20, &emodel_g711), 93.2, 1e-9);
    NEAR(emodel_mos(r_of(0, 20, &emodel_g711)), 4.409, 1e-3);
}

static void test_loss(void **state)
{
    (void) state;
    /* Random loss (BurstR 1), G.711 with PLC (Bpl 25.1): Ie,eff = 95 P / (P + 25.1)
     *  1 %: 95/26.1  = 3.6398, R = 89.560, MOS = 4.328
     *  2 %: 190/27.1 = 7.0111, R = 86.189, MOS = 4.235
     *  5 %: 475/30.1 = 15.7807, R = 77.419, MOS = 3.923 */
    NEAR(emodel_ie_eff(&emodel_g711, 1, 1), 3.6398, 1e-4);
    NEAR(r_of(1, 0, &emodel_g711), 89.5602, 1e-3);
    NEAR(emodel_mos(r_of(1, 0, &emodel_g711)), 4.3281, 1e-3);
    NEAR(emodel_ie_eff(&emodel_g711, 2, 1), 7.0111, 1e-4);
    NEAR(emodel_mos(r_of(2, 0, &emodel_g711)), 4.2348, 1e-3);
    NEAR(emodel_ie_eff(&emodel_g711, 5, 1), 15.7807, 1e-4);
    NEAR(emodel_mos(r_of(5, 0, &emodel_g711)), 3.9228, 1e-3);
    /* Without PLC (Bpl 4.3), 2 %: 190 / 6.3 = 30.159, R = 63.04, MOS = 3.256 */
    NEAR(emodel_ie_eff(&emodel_g711_no_plc, 2, 1), 30.1587, 1e-4);
    NEAR(emodel_mos(r_of(2, 0, &emodel_g711_no_plc)), 3.2560, 1e-3);
    /* Bursty: 5 %, BurstR 2: 475 / (2.5 + 25.1) = 17.210 */
    NEAR(emodel_ie_eff(&emodel_g711, 5, 2), 17.2101, 1e-4);
    NEAR(emodel_ie_eff(&emodel_g711, 0, 1), 0, 1e-12);
}

static void test_delay(void **state)
{
    (void) state;
    /* Idd = 25 {(1+X^6)^(1/6) - 3 (1+(X/3)^6)^(1/6) + 2}, X = log2(Ta / 100)
     *  100 ms: 0
     *  150 ms: X = 0.58496, Idd = 0.1635, R = 93.036, MOS 4.406
     *  200 ms: X = 1,       Idd = 3.0444, R = 90.156, MOS 4.343
     *  300 ms: X = 1.58496, Idd = 14.7607, R = 78.439, MOS 3.964
     *  400 ms: X = 2,       Idd = 24.0701, R = 69.130, MOS 3.556 */
    NEAR(emodel_id(80), 0, 1e-12);
    NEAR(emodel_id(100), 0, 1e-12);
    NEAR(emodel_id(150), 0.16353, 1e-4);
    NEAR(emodel_id(200), 3.04441, 1e-4);
    NEAR(emodel_id(300), 14.76069, 1e-4);
    NEAR(emodel_id(400), 24.07009, 1e-4);
    NEAR(emodel_mos(r_of(0, 150, &emodel_g711)), 4.4061, 1e-3);
    NEAR(emodel_mos(r_of(0, 300, &emodel_g711)), 3.9637, 1e-3);
    NEAR(emodel_mos(r_of(0, 400, &emodel_g711)), 3.5559, 1e-3);
    /* both: 300 ms and 2 %: R = 93.2 - 14.7607 - 7.0111 = 71.428, MOS 3.663 */
    NEAR(r_of(2, 300, &emodel_g711), 71.4282, 1e-3);
    NEAR(emodel_mos(r_of(2, 300, &emodel_g711)), 3.6632, 1e-3);
    /* R never leaves 0..100 */
    NEAR(r_of(100, 2000, &emodel_g711_no_plc), 0, 1e-12);
}

static void test_labels(void **state)
{
    (void) state;
    assert_string_equal(media_quality_name(MEDIA_QUALITY_GOOD), "good");
    assert_string_equal(media_quality_name(MEDIA_QUALITY_ACCEPTABLE), "acceptable");
    assert_string_equal(media_quality_name(MEDIA_QUALITY_POOR), "poor");
    assert_int_equal(emodel_quality_mos(4.41), MEDIA_QUALITY_GOOD);
    assert_int_equal(emodel_quality_mos(4.0), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_mos(3.5), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_mos(3.49), MEDIA_QUALITY_POOR);
    assert_int_equal(emodel_quality_loss(0.5), MEDIA_QUALITY_GOOD);
    assert_int_equal(emodel_quality_loss(1.0), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_loss(3.0), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_loss(3.1), MEDIA_QUALITY_POOR);
    assert_int_equal(emodel_quality_jitter(19.9), MEDIA_QUALITY_GOOD);
    assert_int_equal(emodel_quality_jitter(20), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_jitter(50), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_jitter(50.1), MEDIA_QUALITY_POOR);
    assert_int_equal(emodel_quality_latency(149), MEDIA_QUALITY_GOOD);
    assert_int_equal(emodel_quality_latency(150), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_latency(300), MEDIA_QUALITY_ACCEPTABLE);
    assert_int_equal(emodel_quality_latency(301), MEDIA_QUALITY_POOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mos_mapping), cmocka_unit_test(test_g711_clean),
        cmocka_unit_test(test_loss),        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
