/* RTP (RFC 3550 §5.1) header parse and write, RFC 4733 telephone events: packets, sender,
 * receiver. */
#ifndef MEDIA_RTP_H
#define MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/media_error.h"

#define RTP_HEADER_MIN 12
#define RTP_MAX_CSRC 15

/* A parsed RTP header. Pointers are slices into the parsed buffer. */
struct rtp_hdr {
    uint8_t version; /* always 2 after a successful parse */
    bool padding;
    bool extension;
    uint8_t cc; /* CSRC count */
    bool marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint32_t csrc[RTP_MAX_CSRC];
    /* RFC 3550 §5.3.1 header extension (when extension is set) */
    uint16_t ext_profile;
    const uint8_t *ext; /* ext_len bytes (a multiple of 4) after the 4-byte ext header */
    size_t ext_len;
    const uint8_t *payload; /* may be empty (payload_len 0) */
    size_t payload_len;
    uint8_t pad_len; /* padding bytes removed, counting the count byte itself */
};

/* Parse buf[0..len). EBADMSG with err set for anything RFC 3550 forbids: length below
 * 12, version not 2, CSRC list or extension longer than the packet, padding count 0 or
 * longer than what follows the header. */
int rtp_parse(struct rtp_hdr *h, const uint8_t *buf, size_t len, struct media_error *err);

/* Write version 2, h's marker, pt, seq, ts, ssrc, cc CSRCs, the extension when
 * h->extension (ext_len must be a multiple of 4), the payload and, when h->pad_len > 0,
 * that many padding bytes (P bit set). ENOSPC when out[0..size) is too small, EINVAL
 * for a bad cc/pt/extension; *outlen gets the packet length. */
int rtp_write(const struct rtp_hdr *h, const uint8_t *payload, size_t payload_len,
              uint8_t *out, size_t size, size_t *outlen);

/* ---- RFC 4733 telephone-event payload ---- */

#define RTP_EVENT_LEN 4
#define RTP_EVENT_MAX_DURATION 0xFFFFu
#define RTP_EVENT_END_REPEATS 3 /* RFC 4733 §2.5.1.4: the final packet sent 3 times */
#define RTP_EVENT_DEFAULT_VOLUME 10 /* -10 dBm0 */

struct rtp_event {
    uint8_t event;     /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others per RFC 4734 */
    bool end;          /* E bit */
    uint8_t volume;    /* 0..63, -dBm0 */
    uint16_t duration; /* timestamp units since the event's (segment's) timestamp */
};

/* Parse the first event of a telephone-event payload (len >= 4; the R bit is ignored as
 * §2.3.4 says). */
int rtp_event_parse(struct rtp_event *ev, const uint8_t *p, size_t len,
                    struct media_error *err);
/* Build the 4 bytes; EINVAL when volume > 63. */
int rtp_event_build(const struct rtp_event *ev, uint8_t out[RTP_EVENT_LEN]);
/* '0'-'9', '*', '#', 'A'-'D' for events 0-15; 0 for any other event. */
char rtp_event_char(uint8_t event);
/* The event code of a DTMF character (lower-case a-d accepted); EINVAL otherwise. */
int rtp_event_code(char c, uint8_t *event);

/* One telephone-event packet to send: the caller adds seq, ssrc and the negotiated pt,
 * and sends it with rtp_write(..., payload, RTP_EVENT_LEN, ...). */
struct rtp_dtmf_pkt {
    uint32_t ts;
    bool marker;
    struct rtp_event ev;
    uint8_t payload[RTP_EVENT_LEN];
};

/* Sender state machine (RFC 4733 §2.5.1): call rtp_dtmf_tx_tick once per packet
 * interval (ptime) while rtp_dtmf_tx_active. The first packet has the marker bit;
 * every packet of an event carries the event's timestamp and the duration so far;
 * the last carries E and goes out RTP_EVENT_END_REPEATS times. An event longer than
 * 0xFFFF units is split (§2.5.1.3): a segment ends at 0xFFFF (sent 3 times, E clear),
 * the next starts at timestamp + 0xFFFF without the marker bit. */
#define RTP_DTMF_TX_MAX_PKTS 2

struct rtp_dtmf_tx {
    uint32_t rate; /* clock rate */
    uint32_t step; /* timestamp units per tick */
    bool active;
    uint8_t event, volume;
    uint32_t ts;           /* timestamp of the current segment */
    uint64_t total;        /* event duration in timestamp units */
    uint64_t elapsed;      /* duration sent so far, from the event's start */
    uint64_t seg_start;    /* elapsed at the current segment's start */
    bool started;          /* the marker packet went out */
    unsigned end_left;     /* E packets still to send */
    unsigned seg_end_left; /* repeats of a finished segment's last packet still to send */
    uint32_t seg_end_ts;
};

/* clock_rate (8000 for telephone-event/8000) and ptime_ms (packet interval, 1..200). */
int rtp_dtmf_tx_init(struct rtp_dtmf_tx *tx, uint32_t clock_rate, unsigned ptime_ms);
/* Start a digit of duration_ms (> 0) at RTP timestamp ts (the media clock now).
 * EBUSY while an event is being sent, EINVAL for a character that is not DTMF. */
int rtp_dtmf_tx_start(struct rtp_dtmf_tx *tx, char digit, unsigned duration_ms,
                      uint8_t volume, uint32_t ts);
bool rtp_dtmf_tx_active(const struct rtp_dtmf_tx *tx);
/* End the current event early (a key released): the next tick sends the E packets
 * with the duration reached so far (at least one tick). */
void rtp_dtmf_tx_end(struct rtp_dtmf_tx *tx);
/* The packets for this tick (0..RTP_DTMF_TX_MAX_PKTS) into pkts, count in *n. */
void rtp_dtmf_tx_tick(struct rtp_dtmf_tx *tx,
                      struct rtp_dtmf_pkt pkts[RTP_DTMF_TX_MAX_PKTS], size_t *n);

/* Receiver: reports each event once, with its duration, however many of its packets
 * arrive (retransmitted ends, lost start or end packets, reordering, long-event
 * segments). An event is reported at its first E packet, or when a packet of a later
 * event shows it is over, or by rtp_dtmf_rx_flush (e.g. after 1 s of silence). */
struct rtp_dtmf_digit {
    char c; /* rtp_event_char(event), 0 for non-DTMF events */
    uint8_t event;
    uint32_t ts;       /* timestamp of the event's first segment */
    uint32_t duration; /* timestamp units, segments added up */
    bool ended;        /* an E packet was seen (false: end inferred) */
};

struct rtp_dtmf_rx {
    bool active;    /* an event is in progress and not yet reported */
    bool have_last; /* last_ts names a reported (finished) event */
    uint8_t event;
    uint32_t ts;       /* current segment's timestamp */
    uint32_t first_ts; /* event's first timestamp */
    uint32_t base;     /* duration of the finished segments */
    uint16_t duration; /* highest duration seen in the current segment */
    uint32_t last_ts;  /* segment timestamp of the last reported event */
};

void rtp_dtmf_rx_init(struct rtp_dtmf_rx *rx);
/* Feed one telephone-event packet (its RTP timestamp and parsed payload); up to two
 * digits are reported (the one a new event ends, and the new one when it is a single
 * E packet) into out, count in *n. */
void rtp_dtmf_rx_packet(struct rtp_dtmf_rx *rx, uint32_t ts, const struct rtp_event *ev,
                        struct rtp_dtmf_digit out[2], size_t *n);
/* Report an event still in progress (its end packets were all lost); 0 or ENOENT. */
int rtp_dtmf_rx_flush(struct rtp_dtmf_rx *rx, struct rtp_dtmf_digit *out);

#endif
