/* ITU-T G.107 E-model (Idd, Ie,eff, R to MOS) and the quality thresholds of call reports.
 */
#include "media/emodel.h"

#include "media/media_math.h"

const struct emodel_codec emodel_g711 = {EMODEL_G711_IE, EMODEL_G711_BPL_PLC};
const struct emodel_codec emodel_g711_no_plc = {EMODEL_G711_IE, EMODEL_G711_BPL_NO_PLC};

double emodel_ie_eff(const struct emodel_codec *codec, double loss_pct, double burst_r)
{
    double ppl = loss_pct, denom;

    if (ppl <= 0) return codec->ie;
    if (ppl > 100) ppl = 100;
    if (burst_r < 1)
        burst_r = 1; /* G.107: BurstR is 1 for random loss and above for bursts */
    denom = ppl / burst_r + codec->bpl;
    if (denom <= 0) return 95;
    return codec->ie + (95 - codec->ie) * ppl / denom;
}

double emodel_id(double delay_ms)
{
    const double mt = 100; /* mT: ms; sT = 1 */
    double x, x6, x3_6;

    if (delay_ms <= mt) return 0;
    x = media_log2(delay_ms / mt);
    x6 = media_pow(x, 6);
    x3_6 = media_pow(x / 3, 6);
    return 25 * (media_pow(1 + x6, 1.0 / 6) - 3 * media_pow(1 + x3_6, 1.0 / 6) + 2);
}

double emodel_r(const struct emodel_in *in)
{
    double r = EMODEL_R_DEFAULT - emodel_id(in->delay_ms) -
               emodel_ie_eff(&in->codec, in->loss_pct, in->burst_r) + in->a;

    if (r < 0) r = 0;
    if (r > 100) r = 100;
    return r;
}

double emodel_mos(double r)
{
    if (r < 0) return 1;
    if (r > 100) return 4.5;
    return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

const char *media_quality_name(enum media_quality q)
{
    switch (q) {
    case MEDIA_QUALITY_GOOD: return "good";
    case MEDIA_QUALITY_ACCEPTABLE: return "acceptable";
    case MEDIA_QUALITY_POOR: return "poor";
    }
    return "?";
}

/* Higher is better: good above hi, poor below lo. */
static enum media_quality rate_up(double v, double lo, double hi)
{
    if (v > hi) return MEDIA_QUALITY_GOOD;
    if (v < lo) return MEDIA_QUALITY_POOR;
    return MEDIA_QUALITY_ACCEPTABLE;
}

/* Lower is better: good below lo, poor above hi. */
static enum media_quality rate_down(double v, double lo, double hi)
{
    if (v < lo) return MEDIA_QUALITY_GOOD;
    if (v > hi) return MEDIA_QUALITY_POOR;
    return MEDIA_QUALITY_ACCEPTABLE;
}

enum media_quality emodel_quality_mos(double mos)
{
    return rate_up(mos, 3.5, 4.0);
}

enum media_quality emodel_quality_loss(double loss_pct)
{
    return rate_down(loss_pct, 1, 3);
}

enum media_quality emodel_quality_jitter(double jitter_ms)
{
    return rate_down(jitter_ms, 20, 50);
}

enum media_quality emodel_quality_latency(double latency_ms)
{
    return rate_down(latency_ms, 150, 300);
}
