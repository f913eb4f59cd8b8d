/* Tests of G.711: ITU reference code points, every code round-trips, decoding is
 * monotonic. */
#include "testutil.h"

#include <string.h>

#include "media/g711.h"

static void test_ulaw_reference(void **state)
{
    (void) state;
    /* G.711 Table 2: code 0xFF (after inversion 0x00) is zero, 0x80 and 0x00 the peaks.
     */
    assert_int_equal(g711_ulaw_decode(0xFF), 0);
    assert_int_equal(g711_ulaw_decode(0x7F), 0);
    assert_int_equal(g711_ulaw_decode(0x80), 32124);
    assert_int_equal(g711_ulaw_decode(0x00), -32124);
    assert_int_equal(g711_ulaw_encode(0), 0xFF);
    assert_int_equal(g711_ulaw_encode(32124), 0x80);
    assert_int_equal(g711_ulaw_encode(32767), 0x80);
    assert_int_equal(g711_ulaw_encode(-32124), 0x00);
    assert_int_equal(g711_ulaw_encode(-32768), 0x00);
    /* Segment end points: segment s starts at (132 << s) - 132. */
    assert_int_equal(g711_ulaw_decode(0xEF), 132);   /* segment 1, step 0 */
    assert_int_equal(g711_ulaw_decode(0xDF), 396);   /* segment 2 */
    assert_int_equal(g711_ulaw_decode(0xCF), 924);   /* segment 3 */
    assert_int_equal(g711_ulaw_decode(0xBF), 1980);  /* segment 4 */
    assert_int_equal(g711_ulaw_decode(0xAF), 4092);  /* segment 5 */
    assert_int_equal(g711_ulaw_decode(0x9F), 8316);  /* segment 6 */
    assert_int_equal(g711_ulaw_decode(0x8F), 16764); /* segment 7 */
    assert_int_equal(g711_ulaw_decode(0xF0), 120);   /* top of segment 0 */
    assert_int_equal(g711_ulaw_decode(0xFE), 8);     /* smallest step */
    assert_int_equal(g711_ulaw_decode(0x7E), -8);
    assert_int_equal(g711_ulaw_encode(8), 0xFE);
    assert_int_equal(g711_ulaw_encode(-8), 0x7E);
    assert_int_equal(g711_ulaw_encode(3), 0xFF); /* decision levels halfway: 0..3 -> 0 */
    assert_int_equal(g711_ulaw_encode(4), 0xFE);
}

static void test_alaw_reference(void **state)
{
    (void) state;
    assert_int_equal(g711_alaw_decode(0xD5), 8);
    assert_int_equal(g711_alaw_decode(0x55), -8);
    assert_int_equal(g711_alaw_decode(0xAA), 32256);
    assert_int_equal(g711_alaw_decode(0x2A), -32256);
    assert_int_equal(g711_alaw_encode(0), 0xD5);
    assert_int_equal(g711_alaw_encode(8), 0xD5);
    assert_int_equal(g711_alaw_encode(-1), 0x55);
    assert_int_equal(g711_alaw_encode(-8), 0x55);
    assert_int_equal(g711_alaw_encode(32256), 0xAA);
    assert_int_equal(g711_alaw_encode(32767), 0xAA);
    assert_int_equal(g711_alaw_encode(-32256), 0x2A);
    assert_int_equal(g711_alaw_encode(-32768), 0x2A);
    /* Segment starts: 264 << (s-1) - 8 ... segment 1 begins at 264, 2 at 528. */
    assert_int_equal(g711_alaw_decode(0x80 ^ 0x10 ^ 0x55), 264);
    assert_int_equal(g711_alaw_decode(0x80 ^ 0x20 ^ 0x55), 528);
    assert_int_equal(g711_alaw_decode(0x80 ^ 0x70 ^ 0x55), 16896);
    assert_int_equal(g711_alaw_decode(0x80 ^ 0x0F ^ 0x55), 248); /* top of segment 0 */
}

static void test_roundtrip_every_code(void **state)
{
    (void) state;
    for (int c = 0; c < 256; c++) {
        int16_t u = g711_ulaw_decode((uint8_t) c), a = g711_alaw_decode((uint8_t) c);

        if (c == 0x7F)
            assert_int_equal(g711_ulaw_encode(u), 0xFF); /* negative zero */
        else
            assert_int_equal(g711_ulaw_encode(u), c);
        assert_int_equal(g711_alaw_encode(a), c);
    }
}

/* Decoded values in code order (sign-magnitude after un-inverting) rise strictly. */
static void test_monotonic(void **state)
{
    int prev_u = -40000, prev_a = -40000;
    (void) state;

    /* Most negative to most positive: µ-law codes 0x00..0x7F then 0xFF..0x80. */
    for (int i = 0; i < 256; i++) {
        int code = i < 128 ? i : 0xFF - (i - 128);
        int v = g711_ulaw_decode((uint8_t) code);

        if (code == 0xFF)
            assert_int_equal(v, prev_u); /* 0x7F and 0xFF are both zero */
        else
            assert_true(v > prev_u);
        prev_u = v;
    }
    /* A-law, un-XORed: negatives 0x7F..0x00 (largest magnitude first), then 0x80..0xFF.
     */
    for (int i = 0; i < 256; i++) {
        int raw = i < 128 ? 0x7F - i : i;
        int v = g711_alaw_decode((uint8_t) (raw ^ 0x55));

        assert_true(v > prev_a);
        prev_a = v;
    }
    /* Encoding is monotonic over every 16-bit input too. */
    prev_u = -40000;
    for (int x = -32768; x <= 32767; x++) {
        int v = g711_ulaw_decode(g711_ulaw_encode((int16_t) x));

        assert_true(v >= prev_u);
        prev_u = v;
        /* quantisation error within half the largest step (1024 for segment 7) */
        assert_true(v - x <= 1024 && x - v <= 1024 + 643);
    }
}

static void test_blocks(void **state)
{
    int16_t in[256], out[256];
    uint8_t codes[256];
    (void) state;

    for (int i = 0; i < 256; i++)
        in[i] = g711_alaw_decode((uint8_t) i);
    g711_alaw_encode_block(in, codes, 256);
    g711_alaw_decode_block(codes, out, 256);
    assert_memory_equal(in, out, sizeof(in));
    for (int i = 0; i < 256; i++)
        in[i] = g711_ulaw_decode((uint8_t) i);
    g711_ulaw_encode_block(in, codes, 256);
    g711_ulaw_decode_block(codes, out, 256);
    assert_memory_equal(in, out, sizeof(in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulaw_reference),
        cmocka_unit_test(test_alaw_reference),
        cmocka_unit_test(test_roundtrip_every_code),
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
