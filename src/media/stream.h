/* One RTP/RTCP media stream of a call on the event loop: a port pair, G.711 send and receive, RFC 4733 DTMF, symmetric RTP, quality figures. */
#ifndef MEDIA_STREAM_H
#define MEDIA_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "net/loop.h"
#include "sip/tp.h"

/* The figures of one direction of a call (RFC 3550 §6.4, §A.3, §A.8; G.107). */
struct media_dir_report {
    bool known;             /* measured (rx) or reported by the peer's RTCP (tx) */
    uint64_t packets;       /* received (rx) / sent (tx) */
    int64_t lost;           /* cumulative, §A.3 (may be negative with duplicates) */
    double loss_pct;
    double jitter_ms;       /* interarrival jitter, §A.8 */
    double max_jitter_ms;
    uint64_t duplicates, out_of_order, late;
    double mos;             /* E-model with loss, jitter buffer and the RTT-based delay */
};

struct media_report {
    char codec[48];         /* "PCMU/8000" */
    unsigned pt;
    uint32_t ptime_ms;
    struct media_dir_report rx, tx;
    double rtt_ms;          /* from RTCP LSR/DLSR; < 0 unknown */
    double one_way_ms;      /* the delay the E-model used: rtt/2 + jitter buffer + packetisation */
    uint64_t rtcp_sent, rtcp_received, bad_packets;
    char dtmf_sent[64], dtmf_received[64];
    char local[64], remote[64]; /* "ip:port" of the RTP sockets */
};

struct media_stream_params {
    struct sk_sa remote_rtp, remote_rtcp; /* from the peer's SDP */
    unsigned pt;                /* the payload type to send (0 PCMU, 8 PCMA) */
    char codec[32];             /* "PCMU" or "PCMA" */
    uint32_t clock_rate;        /* 8000 */
    unsigned dtmf_pt;           /* telephone-event payload type, 0 = none */
    uint32_t ptime_ms;          /* 20 */
    bool send, recv;            /* directions the offer/answer allows */
};

struct media_stream_events {
    void (*dtmf)(void *arg, char digit, uint32_t duration_ms);
    /* No RTP for rtp_timeout_s while we expected some: the peer is gone. */
    void (*timeout)(void *arg);
    void *arg;
};

struct media_stream;

/* Bind an RTP/RTCP port pair (even port, port+1) on local_ip in [port_min,
 * port_max], starting near *next_port (advanced for the next stream).
 * play: "tone:HZ", "silence" or a WAV file (looped); record: a WAV file or NULL. */
int media_stream_new(struct media_stream **sp, struct sk_loop *loop, const struct sk_sa *local_ip,
                     uint16_t port_min, uint16_t port_max, uint16_t *next_port,
                     const char *play, const char *record, uint32_t rtp_timeout_s,
                     const struct media_stream_events *ev);
uint16_t media_stream_port(const struct media_stream *s);
/* Start (or change, on a re-INVITE) sending and receiving with these parameters. */
int media_stream_start(struct media_stream *s, const struct media_stream_params *p);
/* Queue RFC 4733 events for each digit (0-9 * # A-D), 100 ms each with 50 ms gaps. */
int media_stream_send_dtmf(struct media_stream *s, const char *digits);
/* Send RTCP BYE, stop sending; the figures stay readable. */
void media_stream_stop(struct media_stream *s);
void media_stream_report(struct media_stream *s, struct media_report *r);
void media_stream_free(struct media_stream *s);

#endif
