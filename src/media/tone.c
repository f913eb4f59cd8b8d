/* Tone generation and the analysis helpers tests and wavcheck use to compare audio. */
#include "media/tone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_math.h"

#define TWO_PI (2 * MEDIA_PI)

int tone_init(struct tone_gen *g, double hz, double amplitude, uint32_t rate)
{
    memset(g, 0, sizeof(*g));
    if (rate == 0 || !(hz > 0) || hz >= rate / 2.0 || !(amplitude >= 0) ||
        amplitude > 32767)
        return EINVAL;
    g->step = TWO_PI * hz / rate;
    g->amp = amplitude;
    return 0;
}

void tone_fill(struct tone_gen *g, int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = g->amp * media_sin(g->phase);

        out[i] = (int16_t) (v < 0 ? v - 0.5 : v + 0.5);
        g->phase += g->step;
        if (g->phase >= TWO_PI) g->phase -= TWO_PI;
    }
}

void tone_silence(int16_t *out, size_t n)
{
    memset(out, 0, n * sizeof(*out));
}

/* |X(hz)|^2 of x[0..n) by the Goertzel recurrence. */
static double goertzel_raw(const double *x, const int16_t *s, size_t n, double hz,
                           uint32_t rate)
{
    double coeff = 2 * media_cos(TWO_PI * hz / rate), s1 = 0, s2 = 0;

    for (size_t i = 0; i < n; i++) {
        double v = (x ? x[i] : s[i]) + coeff * s1 - s2;

        s2 = s1;
        s1 = v;
    }
    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

double tone_goertzel(const int16_t *s, size_t n, double hz, uint32_t rate)
{
    if (n == 0 || rate == 0) return 0;
    return goertzel_raw(NULL, s, n, hz, rate) * 4 / ((double) n * n);
}

/* x = s * Hann window; returns the window's sum (its coherent gain times n). */
static double hann(const int16_t *s, size_t n, double *x)
{
    double sum = 0;

    for (size_t i = 0; i < n; i++) {
        double w = 0.5 - 0.5 * media_cos(TWO_PI * (double) i / (double) (n - 1));

        x[i] = w * s[i];
        sum += w;
    }
    return sum;
}

int tone_dominant(const int16_t *s, size_t n, uint32_t rate, double *hz,
                  double *amplitude)
{
    size_t block = rate / 5, nblocks, full = n;
    double *x, best_p = -1, best_f = 0, gain, hi = TONE_SCAN_HI_HZ;
    *hz = 0;
    *amplitude = 0;
    if (rate < 1000 || n < rate / 50) return ENODATA;
    if (full > (size_t) rate * TONE_ANALYSE_MAX_S)
        full = (size_t) rate * TONE_ANALYSE_MAX_S;
    if (block > full) block = full;
    if (hi > rate / 2.0 - TONE_SCAN_STEP_HZ) hi = rate / 2.0 - TONE_SCAN_STEP_HZ;
    x = malloc(full * sizeof(*x));
    if (!x) return ENOMEM;
    /* Coarse: 200 ms blocks (5 Hz bins, Hann main lobe +-10 Hz, so a 10 Hz grid never
     * misses a tone), power summed over the blocks. */
    nblocks = full / block;
    for (size_t b = 0; b < nblocks; b++)
        hann(s + b * block, block, x + b * block);
    for (double f = TONE_SCAN_LO_HZ; f <= hi; f += TONE_SCAN_STEP_HZ) {
        double p = 0;

        for (size_t b = 0; b < nblocks; b++)
            p += goertzel_raw(x + b * block, NULL, block, f, rate);
        if (p > best_p) {
            best_p = p;
            best_f = f;
        }
    }
    /* Fine: 1 Hz steps around it over the whole span analysed. */
    gain = hann(s, full, x);
    best_p = -1;
    for (double f = best_f - TONE_SCAN_STEP_HZ; f <= best_f + TONE_SCAN_STEP_HZ; f += 1) {
        double p;

        if (f <= 0) continue;
        p = goertzel_raw(x, NULL, full, f, rate);
        if (p > best_p) {
            best_p = p;
            *hz = f;
        }
    }
    /* a sine of amplitude A gives |X| = A * sum(w) / 2 */
    *amplitude = gain > 0 ? 2 * media_sqrt(best_p) / gain : 0;
    free(x);
    return 0;
}

double tone_rms(const int16_t *s, size_t n)
{
    double sum = 0;

    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        sum += (double) s[i] * s[i];
    return media_sqrt(sum / (double) n);
}

double tone_dbfs(double rms)
{
    if (rms <= 0) return -200;
    /* 20 log10(rms / 32768) = 20 log10(2) * log2(rms / 32768) */
    return 20 * 0.30102999566398120 * media_log2(rms / 32768.0);
}

/* ---- cross-correlation ---- */

/* prefix[i] = sum of x[k]^2 for k < i */
static double *energy_prefix(const double *x, size_t n)
{
    double *p = malloc((n + 1) * sizeof(*p));

    if (!p) return NULL;
    p[0] = 0;
    for (size_t i = 0; i < n; i++)
        p[i + 1] = p[i] + x[i] * x[i];
    return p;
}

struct xc_sig {
    const double *a, *b;
    size_t na, nb;
    const double *ea, *eb; /* energy prefixes */
    size_t min_overlap;
};

/* Coefficient at lag L, or -2 when the overlap is too short or silent. */
static double xc_at(const struct xc_sig *x, long lag)
{
    long lo = lag < 0 ? -lag : 0;
    long hi = (long) x->na;
    double dot = 0, ea, eb;

    if ((long) x->nb - lag < hi) hi = (long) x->nb - lag;
    if (hi - lo < (long) x->min_overlap || hi <= lo) return -2;
    for (long i = lo; i < hi; i++)
        dot += x->a[i] * x->b[i + lag];
    ea = x->ea[hi] - x->ea[lo];
    eb = x->eb[hi + lag] - x->eb[lo + lag];
    if (ea <= 0 || eb <= 0) return -2;
    return dot / media_sqrt(ea * eb);
}

static double *to_double(const int16_t *s, size_t n, size_t decim)
{
    size_t m = n / decim;
    double *d = malloc((m ? m : 1) * sizeof(*d));

    if (!d) return NULL;
    for (size_t i = 0; i < m; i++) {
        double sum = 0;

        for (size_t k = 0; k < decim; k++)
            sum += s[i * decim + k];
        d[i] = sum / (double) decim;
    }
    return d;
}

static int xc_prepare(struct xc_sig *x, const int16_t *a, size_t na, const int16_t *b,
                      size_t nb, size_t decim)
{
    double *da = to_double(a, na, decim), *db = to_double(b, nb, decim);

    memset(x, 0, sizeof(*x));
    x->a = da;
    x->b = db;
    x->na = na / decim;
    x->nb = nb / decim;
    x->min_overlap = (x->na < x->nb ? x->na : x->nb) / 2;
    if (x->min_overlap == 0) x->min_overlap = 1;
    if (da && db) {
        x->ea = energy_prefix(da, x->na);
        x->eb = energy_prefix(db, x->nb);
    }
    return (da && db && x->ea && x->eb) ? 0 : ENOMEM;
}

static void xc_free(struct xc_sig *x)
{
    free((void *) x->a);
    free((void *) x->b);
    free((void *) x->ea);
    free((void *) x->eb);
}

/* The best few coarse lags, kept apart so that one broad peak does not fill them all. */
#define XC_CANDIDATES 4

struct xc_cand {
    long lag[XC_CANDIDATES];
    double c[XC_CANDIDATES];
    size_t n;
};

static void cand_add(struct xc_cand *k, long lag, double c, long apart)
{
    size_t worst = 0;

    for (size_t i = 0; i < k->n; i++) {
        if (lag - k->lag[i] <= apart && k->lag[i] - lag <= apart) {
            if (c > k->c[i]) {
                k->c[i] = c;
                k->lag[i] = lag;
            }
            return;
        }
    }
    if (k->n < XC_CANDIDATES) {
        k->lag[k->n] = lag;
        k->c[k->n++] = c;
        return;
    }
    for (size_t i = 1; i < k->n; i++)
        if (k->c[i] < k->c[worst]) worst = i;
    if (c > k->c[worst]) {
        k->c[worst] = c;
        k->lag[worst] = lag;
    }
}

int tone_xcorr(const int16_t *a, size_t na, const int16_t *b, size_t nb, size_t max_lag,
               long *lag, double *coef)
{
    const size_t decim = 2;
    struct xc_sig x;
    struct xc_cand cand = {.n = 0};
    long best = 0, span = 2 * (long) decim;
    double best_c = -2;
    int rc;

    *lag = 0;
    *coef = 0;
    if (max_lag > (size_t) 1 << 30) max_lag = (size_t) 1 << 30;
    /* coarse, at half the rate (pairs averaged: a gentle low-pass) */
    if (na >= 64 * decim && nb >= 64 * decim) {
        long m = (long) (max_lag / decim);

        rc = xc_prepare(&x, a, na, b, nb, decim);
        if (rc == 0) {
            for (long l = -m; l <= m; l++) {
                double c = xc_at(&x, l);

                if (c > -1.5) cand_add(&cand, l * (long) decim, c, 2 * (long) decim);
            }
        }
        xc_free(&x);
        if (rc) return rc;
    } else {
        /* short buffers: every lag at full rate */
        cand.lag[0] = 0;
        cand.n = 1;
        span = (long) max_lag;
    }
    /* fine, at full rate around each candidate */
    rc = xc_prepare(&x, a, na, b, nb, 1);
    for (size_t k = 0; rc == 0 && k < cand.n; k++) {
        for (long l = cand.lag[k] - span; l <= cand.lag[k] + span; l++) {
            double c;

            if (l < -(long) max_lag || l > (long) max_lag) continue;
            c = xc_at(&x, l);
            if (c > best_c) {
                best_c = c;
                best = l;
            }
        }
    }
    xc_free(&x);
    if (rc) return rc;
    if (best_c < -1.5) return ENODATA;
    *lag = best;
    *coef = best_c;
    return 0;
}
