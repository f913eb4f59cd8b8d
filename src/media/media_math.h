/* Private math helpers for src/media, so the library needs no libm (sipkit_lib links
 * none). */
#ifndef MEDIA_MATH_H
#define MEDIA_MATH_H

#define MEDIA_PI 3.14159265358979323846

/* Accurate to a few ulp over the ranges media uses (|x| < 1e9, x > 0 for logs). */
double media_sin(double x);
double media_cos(double x);
double media_sqrt(double x);
double media_log2(double x);
double media_exp2(double x);
/* x^y for x > 0 */
double media_pow(double x, double y);
double media_fabs(double x);

#endif
