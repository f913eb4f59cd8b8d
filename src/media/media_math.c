/* Private math helpers for src/media: sine, square root, log2 and exp2 without libm. */
#include "media/media_math.h"

#include <math.h> /* frexp and ldexp, which glibc has in libc itself */

double media_fabs(double x)
{
    return x < 0 ? -x : x;
}

/* Taylor series around 0, for |x| <= pi/4: the terms fall below 1e-17 by x^17. */
static double sin_core(double x)
{
    double x2 = x * x, term = x, sum = x;

    for (int k = 1; k <= 8; k++) {
        term *= -x2 / ((2.0 * k) * (2.0 * k + 1));
        sum += term;
    }
    return sum;
}

static double cos_core(double x)
{
    double x2 = x * x, term = 1, sum = 1;

    for (int k = 1; k <= 9; k++) {
        term *= -x2 / ((2.0 * k - 1) * (2.0 * k));
        sum += term;
    }
    return sum;
}

double media_sin(double x)
{
    /* Reduce to a quadrant q and a remainder r in [-pi/4, pi/4]. */
    double half_pi = MEDIA_PI / 2;
    double n = x / half_pi;
    long long q = (long long) (n < 0 ? n - 0.5 : n + 0.5);
    double r = x - (double) q * half_pi;

    switch (q & 3) {
    case 0: return sin_core(r);
    case 1: return cos_core(r);
    case 2: return -sin_core(r);
    default: return -cos_core(r);
    }
}

double media_cos(double x)
{
    return media_sin(x + MEDIA_PI / 2);
}

double media_sqrt(double x)
{
    int e;
    double m, y;

    if (x <= 0) return 0;
    /* Start from 2^(e/2), then Newton: each step doubles the correct digits. */
    m = frexp(x, &e);
    y = ldexp(m < 0.5 ? 0.7 : 0.85, e / 2);
    for (int i = 0; i < 8; i++)
        y = 0.5 * (y + x / y);
    return y;
}

double media_log2(double x)
{
    int e;
    double m, t, t2, sum, term;

    if (x <= 0) return -1e300;
    /* x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh((m-1)/(m+1)). */
    m = frexp(x, &e);
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    t = (m - 1) / (m + 1);
    t2 = t * t;
    sum = 0;
    term = t;
    for (int k = 0; k < 20; k++) {
        sum += term / (2 * k + 1);
        term *= t2;
    }
    return e + 2 * sum / 0.69314718055994531;
}

double media_exp2(double x)
{
    double n, f, y, term, sum;

    if (x > 1000) return 1e300;
    if (x < -1000) return 0;
    /* 2^x = 2^n * e^(f ln 2) with f in [-0.5, 0.5]. */
    n = (double) (long) (x < 0 ? x - 0.5 : x + 0.5);
    f = x - n;
    y = f * 0.69314718055994531;
    term = 1;
    sum = 1;
    for (int k = 1; k < 20; k++) {
        term *= y / k;
        sum += term;
    }
    return ldexp(sum, (int) n);
}

double media_pow(double x, double y)
{
    if (x <= 0) return 0;
    return media_exp2(y * media_log2(x));
}
