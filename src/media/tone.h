/* Sample sources (sine tone, silence) and analysis (Goertzel, dominant frequency, RMS,
 * xcorr). */
#ifndef MEDIA_TONE_H
#define MEDIA_TONE_H

#include <stddef.h>
#include <stdint.h>

#define TONE_SCAN_LO_HZ 100
#define TONE_SCAN_HI_HZ 3900
#define TONE_SCAN_STEP_HZ 10
#define TONE_ANALYSE_MAX_S 2 /* tone_dominant looks at the first 2 s at most */

/* A sine at hz, phase-continuous across calls (20 ms frames join without clicks). */
struct tone_gen {
    double phase; /* radians, in [0, 2 pi) */
    double step;  /* radians per sample */
    double amp;
};

/* hz in (0, rate/2), amplitude 0..32767 (peak); EINVAL otherwise. */
int tone_init(struct tone_gen *g, double hz, double amplitude, uint32_t rate);
void tone_fill(struct tone_gen *g, int16_t *out, size_t n);
void tone_silence(int16_t *out, size_t n);

/* Goertzel power at hz over s[0..n), scaled so that a sine of amplitude A at exactly
 * hz (a whole number of cycles) gives A^2. */
double tone_goertzel(const int16_t *s, size_t n, double hz, uint32_t rate);
/* The strongest frequency in s: Hann-windowed Goertzel scanned over 100..3900 Hz in
 * 10 Hz steps (5 Hz resolution blocks, averaged), then refined in 1 Hz steps over up
 * to TONE_ANALYSE_MAX_S. *amplitude estimates the sine's peak amplitude. ENODATA for
 * fewer than 20 ms of samples, ENOMEM. */
int tone_dominant(const int16_t *s, size_t n, uint32_t rate, double *hz,
                  double *amplitude);
/* Root mean square, and the same in dB relative to full scale (32768; -inf as -200). */
double tone_rms(const int16_t *s, size_t n);
double tone_dbfs(double rms);

/* Normalised cross-correlation: the lag L in [-max_lag, max_lag] samples maximising
 * sum a[i] b[i+L] / sqrt(sum a[i]^2 * sum b[i+L]^2) over the overlap (positive L: b
 * is a delayed by L), and that coefficient (-1..1). Only lags whose overlap is at
 * least half the shorter buffer count. Coarse search at half rate, then every lag
 * within 4 samples of the 4 best coarse peaks. ENODATA when no lag qualifies or a side is
 * silent. */
int tone_xcorr(const int16_t *a, size_t na, const int16_t *b, size_t nb, size_t max_lag,
               long *lag, double *coef);

#endif
