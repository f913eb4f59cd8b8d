/* ITU-T G.711 µ-law and A-law: 16-bit linear samples to 8-bit codes and back. */
#ifndef MEDIA_G711_H
#define MEDIA_G711_H

#include <stddef.h>
#include <stdint.h>

/* RTP static payload types (RFC 3551 §6) */
#define G711_PT_PCMU 0
#define G711_PT_PCMA 8

/* One sample. µ-law decodes to -32124..+32124, A-law to -32256..+32256. */
uint8_t g711_ulaw_encode(int16_t sample);
int16_t g711_ulaw_decode(uint8_t code);
uint8_t g711_alaw_encode(int16_t sample);
int16_t g711_alaw_decode(uint8_t code);

/* n samples from in to out (the buffers must not overlap). */
void g711_ulaw_encode_block(const int16_t *in, uint8_t *out, size_t n);
void g711_ulaw_decode_block(const uint8_t *in, int16_t *out, size_t n);
void g711_alaw_encode_block(const int16_t *in, uint8_t *out, size_t n);
void g711_alaw_decode_block(const uint8_t *in, int16_t *out, size_t n);

#endif
