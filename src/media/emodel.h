/* ITU-T G.107 E-model, simplified for VoIP call quality: R factor, MOS, and quality
 * labels. */
#ifndef MEDIA_EMODEL_H
#define MEDIA_EMODEL_H

#include <stdint.h>

/* G.107 defaults: R0 - Is = 93.2 with every other parameter at its default, A = 0. */
#define EMODEL_R_DEFAULT 93.2
/* G.113 Appendix I, G.711: Ie = 0; Bpl 4.3 without packet loss concealment, 25.1 with. */
#define EMODEL_G711_IE 0.0
#define EMODEL_G711_BPL_PLC 25.1
#define EMODEL_G711_BPL_NO_PLC 4.3

/* Equipment impairment of a codec. */
struct emodel_codec {
    double ie;  /* Ie, impairment with no loss */
    double bpl; /* Bpl, packet-loss robustness */
};

/* G.711 with PLC (Bpl 25.1): what the phones at the other end of our calls use
 * (baresip, Asterisk, hardware phones all conceal), so it is the figure that predicts
 * what a listener hears; G.711 without PLC is for a receiver that plays silence. */
extern const struct emodel_codec emodel_g711;
extern const struct emodel_codec emodel_g711_no_plc;

/* The inputs. loss_pct is Ppl in percent (0..100); burst_r is BurstR (1 for random
 * loss, > 1 burstier); delay_ms is the one-way mouth-to-ear delay Ta; a is the
 * advantage factor (0 for wired phones). */
struct emodel_in {
    struct emodel_codec codec;
    double loss_pct;
    double burst_r;
    double delay_ms;
    double a;
};

/* Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)   (G.107 §7.5) */
double emodel_ie_eff(const struct emodel_codec *codec, double loss_pct, double burst_r);
/* Id from the one-way delay (G.107 §7.4): only Idd, with mT = 100 ms, sT = 1:
 * 0 for Ta <= 100 ms, else 25 {(1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2},
 * X = lg(Ta/mT) / lg 2. Idte and Idle (echo) are taken as 0: with echo cancelling
 * phones and the default TELR of 65 dB they are negligible. */
double emodel_id(double delay_ms);
/* R = R0 - Is - Id - Ie,eff + A, clamped to 0..100 */
double emodel_r(const struct emodel_in *in);
/* G.107 Annex B: MOS = 1 for R < 0, 4.5 for R > 100, else
 * 1 + 0.035 R + R (R - 60) (100 - R) 7e-6. */
double emodel_mos(double r);

/* Quality labels of the figures a call report shows. */
enum media_quality {
    MEDIA_QUALITY_GOOD,
    MEDIA_QUALITY_ACCEPTABLE,
    MEDIA_QUALITY_POOR,
};
/* "good", "acceptable", "poor" */
const char *media_quality_name(enum media_quality q);
/* MOS: good > 4.0, acceptable 3.5..4.0, poor < 3.5 */
enum media_quality emodel_quality_mos(double mos);
/* loss: good < 1 %, acceptable 1..3 %, poor > 3 % */
enum media_quality emodel_quality_loss(double loss_pct);
/* jitter: good < 20 ms, acceptable 20..50 ms, poor > 50 ms */
enum media_quality emodel_quality_jitter(double jitter_ms);
/* one-way latency: good < 150 ms, acceptable 150..300 ms, poor > 300 ms */
enum media_quality emodel_quality_latency(double latency_ms);

#endif
