/* Jitter buffer for playout: RTP frames in, one frame (or "missing") out per ptime tick.
 */
#ifndef MEDIA_JBUF_H
#define MEDIA_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBUF_SLOTS 64        /* frames held at most: 1.28 s of 20 ms frames */
#define JBUF_PAYLOAD_MAX 640 /* bytes per frame: 40 ms of 16-bit 8 kHz */
#define JBUF_TARGET_MS 40    /* starting target delay */
#define JBUF_MIN_MS 20
#define JBUF_MAX_MS 200
/* This many missing ticks with nothing queued: the stream stopped, buffer again. */
#define JBUF_UNDERRUN_TICKS 10

struct jbuf_config {
    uint32_t clock_rate;     /* RTP clock, 8000 for G.711 */
    unsigned ptime_ms;       /* frame length; every packet is one frame of it */
    bool adaptive;           /* false: the target delay stays target_ms */
    unsigned target_ms;      /* initial (adaptive) or fixed target delay */
    unsigned min_ms, max_ms; /* adaptive bounds */
};

/* 8000 Hz, 20 ms, adaptive, 40 ms start, 20..200 ms. */
void jbuf_config_default(struct jbuf_config *cfg);

struct jbuf_stats {
    uint64_t stored;     /* packets accepted */
    uint64_t played;     /* frames returned */
    uint64_t missing;    /* ticks that found no frame while playing */
    uint64_t late;       /* packets for a frame already played (dropped) */
    uint64_t duplicates; /* packets for a frame already held (dropped) */
    uint64_t too_big;    /* payloads over JBUF_PAYLOAD_MAX (dropped) */
    uint64_t resets;     /* SSRC change, timestamp jump, underrun: buffering again */
    uint64_t stretched;  /* ticks held back to grow the delay */
    uint64_t skipped;    /* frames dropped to shrink the delay */
};

struct jbuf_frame {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    const uint8_t *payload; /* valid until the next jbuf call */
    size_t len;
};

enum jbuf_result {
    JBUF_FRAME,   /* *frame is the next frame to play */
    JBUF_MISSING, /* a frame is due but absent (lost or late), or the buffer holds a
                     tick back to grow its delay: conceal it (silence or repeat) */
    JBUF_WAITING, /* nothing to play yet (buffering, or no stream): play silence */
};

struct jbuf;

/* EINVAL for a bad configuration (rate, ptime 10..60 ms, bounds), ENOMEM. */
int jbuf_new(struct jbuf **jp, const struct jbuf_config *cfg);
void jbuf_free(struct jbuf *jb);

/* One received RTP packet. 0 when held; EEXIST (duplicate), ETIMEDOUT (late),
 * EMSGSIZE (payload too big) when dropped. A new SSRC or a timestamp outside the
 * buffer's window (jump) empties the buffer and starts buffering from this packet.
 * arrival_us drives the adaptive delay (any monotonic clock in microseconds). */
int jbuf_put(struct jbuf *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, bool marker,
             const uint8_t *payload, size_t len, int64_t arrival_us);
/* Call once per ptime. */
enum jbuf_result jbuf_get(struct jbuf *jb, struct jbuf_frame *frame);

unsigned jbuf_target_ms(const struct jbuf *jb);
/* Interarrival jitter estimate (RFC 3550 §A.8), ms. */
double jbuf_jitter_ms(const struct jbuf *jb);
const struct jbuf_stats *jbuf_get_stats(const struct jbuf *jb);

#endif
