/* ITU-T G.711 µ-law and A-law companding on 16-bit linear samples, computed per sample.
 */
#include "media/g711.h"

/* µ-law works on magnitudes biased by 0x84 (132), so that every segment starts at a
 * power of two; the largest magnitude that still fits segment 7 is 32635. */
#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

/* Index of the highest set bit of v (v > 0). */
static int top_bit(unsigned v)
{
    int n = 0;

    while (v >>= 1)
        n++;
    return n;
}

uint8_t g711_ulaw_encode(int16_t sample)
{
    int x = sample;
    unsigned sign = 0, mag, seg, mant;

    if (x < 0) {
        sign = 0x80;
        x = -x;
    }
    if (x > ULAW_CLIP) x = ULAW_CLIP;
    mag = (unsigned) x + ULAW_BIAS; /* 132..32767: bit 7 up to bit 14 */
    seg = (unsigned) top_bit(mag) - 7;
    mant = (mag >> (seg + 3)) & 0x0F;
    /* G.711 transmits µ-law codes with every bit inverted: 0 is 0xFF. */
    return (uint8_t) ~(sign | (seg << 4) | mant);
}

int16_t g711_ulaw_decode(uint8_t code)
{
    unsigned c = (uint8_t) ~code;
    unsigned seg = (c >> 4) & 7, mant = c & 0x0F;
    int x = (int) ((((mant << 3) + ULAW_BIAS) << seg) - ULAW_BIAS);

    return (int16_t) ((c & 0x80) ? -x : x);
}

uint8_t g711_alaw_encode(int16_t sample)
{
    int x = sample;
    unsigned sign, mag, seg, mant;

    /* A-law is sign-magnitude on 13 bits; negative values are one's complement, so
     * -1..-8 share a code with 0..7 mirrored (the decoder gives -8 and +8). */
    if (x >= 0) {
        sign = 0x80;
    } else {
        sign = 0;
        x = -x - 1;
    }
    mag = (unsigned) x >> 3; /* 0..4095 */
    if (mag < 32) {
        seg = 0;
        mant = mag >> 1;
    } else {
        seg = (unsigned) top_bit(mag) - 4;
        mant = (mag >> seg) & 0x0F;
    }
    /* G.711: even bits inverted on the line. */
    return (uint8_t) ((sign | (seg << 4) | mant) ^ 0x55);
}

int16_t g711_alaw_decode(uint8_t code)
{
    unsigned c = code ^ 0x55u;
    unsigned seg = (c >> 4) & 7, mant = c & 0x0F;
    int x = (int) ((mant << 4) + 8);

    if (seg > 0) x = (x + 0x100) << (seg - 1);
    return (int16_t) ((c & 0x80) ? x : -x);
}

void g711_ulaw_encode_block(const int16_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g711_ulaw_encode(in[i]);
}

void g711_ulaw_decode_block(const uint8_t *in, int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g711_ulaw_decode(in[i]);
}

void g711_alaw_encode_block(const int16_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g711_alaw_encode(in[i]);
}

void g711_alaw_decode_block(const uint8_t *in, int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g711_alaw_decode(in[i]);
}
