/* Tests of the tone generator and the analysis helpers: Goertzel, dominant frequency,
 * RMS, xcorr. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/g711.h"
#include "media/tone.h"

#define NEAR(a, b, eps) assert_true((a) - (b) < (eps) && (b) - (a) < (eps))

static void test_generator(void **state)
{
    struct tone_gen g, h;
    int16_t one[1600], frames[1600];
    (void) state;

    /* 1000 Hz at 8 kHz: 8 samples a cycle, peak 10000 */
    assert_int_equal(tone_init(&g, 1000, 10000, 8000), 0);
    tone_fill(&g, one, 1600);
    assert_int_equal(one[0], 0);
    assert_int_equal(one[2], 10000);
    assert_int_equal(one[4], 0);
    assert_int_equal(one[6], -10000);
    assert_int_equal(one[1], 7071);
    /* phase-continuous: 80 frames of 20 ms equal one long run */
    assert_int_equal(tone_init(&h, 1000, 10000, 8000), 0);
    for (size_t i = 0; i < 10; i++)
        tone_fill(&h, frames + 160 * i, 160);
    assert_memory_equal(one, frames, sizeof(one));
    /* an odd frequency across odd frame sizes */
    tone_init(&g, 437, 20000, 8000);
    tone_init(&h, 437, 20000, 8000);
    tone_fill(&g, one, 1600);
    for (size_t off = 0; off < 1600; off += 123)
        tone_fill(&h, frames + off, off + 123 <= 1600 ? 123 : 1600 - off);
    assert_memory_equal(one, frames, sizeof(one));
    tone_silence(one, 1600);
    assert_true(tone_rms(one, 1600) == 0);
    assert_int_equal(tone_init(&g, 4000, 100, 8000), EINVAL);
    assert_int_equal(tone_init(&g, 0, 100, 8000), EINVAL);
    assert_int_equal(tone_init(&g, 440, 40000, 8000), EINVAL);
}

static void test_goertzel_and_rms(void **state)
{
    struct tone_gen g;
    int16_t s[8000];
    (void) state;

    tone_init(&g, 1000, 8000, 8000);
    tone_fill(&g, s, 8000);
    /* A^2 at the tone, almost nothing elsewhere */
    NEAR(tone_goertzel(s, 8000, 1000, 8000), 8000.0 * 8000.0, 8000.0 * 80);
    assert_true(tone_goertzel(s, 8000, 1500, 8000) < 1.0);
    /* RMS of a sine is A / sqrt 2; -9.2 dBFS for A = 8000... 20 log10(5656.9/32768) */
    NEAR(tone_rms(s, 8000), 5656.85, 1.0);
    NEAR(tone_dbfs(tone_rms(s, 8000)), -15.257, 0.01);
    NEAR(tone_dbfs(32768), 0, 1e-9);
    assert_true(tone_dbfs(0) == -200);
}

static void test_dominant(void **state)
{
    static const double freqs[] = {100, 300, 440, 1000, 1234, 2713, 3400, 3900};
    int16_t *s = malloc(16000 * sizeof(*s));
    struct tone_gen g;
    double hz, amp;
    (void) state;

    assert_non_null(s);
    for (size_t k = 0; k < sizeof(freqs) / sizeof(freqs[0]); k++) {
        tone_init(&g, freqs[k], 12000, 8000);
        tone_fill(&g, s, 16000);
        assert_int_equal(tone_dominant(s, 16000, 8000, &hz, &amp), 0);
        NEAR(hz, freqs[k], 1.01);
        NEAR(amp, 12000, 600);
    }
    /* through G.711 and with a weaker second tone and noise, still the strong one */
    tone_init(&g, 770, 9000, 8000);
    tone_fill(&g, s, 8000);
    {
        struct tone_gen g2;
        int16_t t[8000];
        unsigned r = 1;

        tone_init(&g2, 1800, 3000, 8000);
        tone_fill(&g2, t, 8000);
        for (size_t i = 0; i < 8000; i++) {
            r = r * 1103515245u + 12345u;
            s[i] = g711_ulaw_decode(g711_ulaw_encode(
                (int16_t) (s[i] + t[i] + (int) ((r >> 16) % 2001) - 1000)));
        }
    }
    assert_int_equal(tone_dominant(s, 8000, 8000, &hz, &amp), 0);
    NEAR(hz, 770, 1.01);
    /* too short to say */
    assert_int_equal(tone_dominant(s, 100, 8000, &hz, &amp), ENODATA);
    free(s);
}

/* A speech-like test signal: low-passed noise (no period to alias onto) under a
 * syllable-rate envelope. */
static void babble(int16_t *s, size_t n, unsigned seed)
{
    double y = 0, env = 0;

    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        if (i % 800 == 0) env = (double) ((seed >> 8) % 7) / 6.0;
        y = 0.8 * y + (double) ((int) ((seed >> 16) % 20001) - 10000);
        s[i] = (int16_t) (env * y / 3);
    }
}

static void test_xcorr(void **state)
{
    const size_t n = 16000;
    int16_t *a = malloc(n * sizeof(*a)), *b = calloc(n + 4000, sizeof(*b));
    long lag;
    double c;
    (void) state;

    assert_non_null(a);
    assert_non_null(b);
    babble(a, n, 7);
    /* b = a delayed 1234 samples (154.25 ms), through A-law, half as loud */
    for (size_t i = 0; i < n; i++)
        b[i + 1234] = g711_alaw_decode(g711_alaw_encode((int16_t) (a[i] / 2)));
    assert_int_equal(tone_xcorr(a, n, b, n + 4000, 4000, &lag, &c), 0);
    assert_int_equal(lag, 1234);
    assert_true(c > 0.99);
    /* the other way round: a negative lag */
    assert_int_equal(tone_xcorr(b, n + 4000, a, n, 4000, &lag, &c), 0);
    assert_int_equal(lag, -1234);
    assert_true(c > 0.99);
    /* outside the lag range: the best inside is a poor match */
    assert_int_equal(tone_xcorr(a, n, b, n + 4000, 1000, &lag, &c), 0);
    assert_true(c < 0.5);
    /* an unrelated signal correlates poorly */
    babble(b, n, 99);
    for (size_t i = 0; i < n; i++)
        b[i] = (int16_t) (b[i] + ((i * 7919u) % 3001) - 1500);
    assert_int_equal(tone_xcorr(a, n, b, n, 800, &lag, &c), 0);
    assert_true(c < 0.5);
    /* silence has nothing to correlate */
    memset(b, 0, n * sizeof(*b));
    assert_int_equal(tone_xcorr(a, n, b, n, 800, &lag, &c), ENODATA);
    /* short buffers take the exact path */
    for (size_t i = 0; i < 100; i++)
        b[i + 3] = a[i];
    assert_int_equal(tone_xcorr(a, 100, b, 103, 10, &lag, &c), 0);
    assert_int_equal(lag, 3);
    NEAR(c, 1.0, 1e-9);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_goertzel_and_rms),
        cmocka_unit_test(test_dominant),
        cmocka_unit_test(test_xcorr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
