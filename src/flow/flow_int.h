/* What the parts of the capture reader share: the capture state, IP fragments, TCP
 * streams, stream framing. */
#ifndef FLOW_INT_H
#define FLOW_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/capture.h"
#include "sip/msg.h"

struct flow_capture;

/* ---- IP fragment reassembly (frag.c) ---- */

#define FLOW_FRAG_MAX_DATAGRAM                                                           \
    65535 /* the end of a reassembled payload, IPv4 and IPv6                             \
           */
#define FLOW_FRAG_BLOCKS ((FLOW_FRAG_MAX_DATAGRAM + 7) / 8)

struct flow_frag_key {
    uint8_t family; /* 4 or 6 */
    uint8_t
        proto; /* IPv4 protocol; 0 for IPv6 (the next header is in the first fragment) */
    uint8_t src[16], dst[16];
    uint32_t id;
};

struct flow_frag {
    struct flow_frag *next;
    struct flow_frag_key key;
    uint8_t *data; /* payload bytes, cap grown up to the highest fragment end */
    size_t cap;    /* bytes allocated */
    size_t total;  /* payload length, once the last fragment (MF=0) was seen */
    bool have_last;
    uint8_t next_header; /* IPv6: from the fragment with offset 0 */
    bool have_first;
    uint64_t first_frame, first_ns;
    uint64_t frames[FLOW_PACKET_MAX_FRAMES]; /* the fragments' frames, in arrival order */
    size_t nframes;
    uint8_t covered[FLOW_FRAG_BLOCKS / 8 + 1]; /* one bit per 8-byte block */
};

struct flow_frag_table {
    struct flow_frag *head; /* oldest first */
    size_t pending, bytes;
};

/* A reassembled payload, owned by the caller (flow_frag_free). */
struct flow_frag_done {
    uint8_t *data;
    size_t len;
    uint8_t next_header;
    uint64_t first_frame;
    uint64_t frames[FLOW_PACKET_MAX_FRAMES]; /* the frames of its fragments */
    size_t nframes;
};

/* Add one fragment: payload bytes [off, off+len), more = MF flag. Returns 0 with
 * *done set when the datagram is complete (done->data to free), EAGAIN while it
 * is not, EBADMSG (malformed: *why set), ENOSPC (limits: dropped). */
int flow_frag_add(struct flow_capture *c, const struct flow_frag_key *k, size_t off,
                  const uint8_t *p, size_t len, bool more, uint8_t next_header,
                  struct flow_frag_done *done, const char **why);
/* Drop datagrams older than the timeout (all of them with all = true), with a warning. */
void flow_frag_expire(struct flow_capture *c, bool all);
void flow_frag_clear(struct flow_frag_table *t);

/* ---- TCP streams (tcp.c) and what runs on them (stream.c) ---- */

#define FLOW_STREAM_MARKS 64 /* frame numbers remembered per direction's buffer */

enum flow_app_mode {
    FLOW_APP_UNKNOWN, /* not decided yet (or lost sync): look for SIP, TLS, HTTP */
    FLOW_APP_SIP,
    FLOW_APP_HTTP, /* HTTP headers: an Upgrade to WebSocket or not */
    FLOW_APP_WS,
    FLOW_APP_TLS,   /* encrypted: skipped */
    FLOW_APP_OTHER, /* not SIP: skipped */
    FLOW_APP_HEP,   /* HEP v3 packets one after the other (an agent sending over TCP) */
};

struct flow_mark {
    uint64_t off, frame; /* stream offset where the bytes of frame begin */
};

struct flow_app {
    enum flow_app_mode mode;
    uint8_t *buf; /* bytes not framed yet */
    size_t len, cap;
    uint64_t base; /* stream offset of buf[0] */
    struct flow_mark marks[FLOW_STREAM_MARKS];
    size_t nmarks;
    size_t unknown_bytes; /* bytes skipped while looking for SIP */
    bool sync_noted;
    /* WebSocket message being reassembled (RFC 6455 §5.4) */
    uint8_t *ws;
    size_t ws_len, ws_cap;
    bool ws_in_msg;
    uint64_t ws_first_frame;
};

struct flow_seg {
    struct flow_seg *next;
    uint32_t seq, len;
    uint64_t frame, ns;
    uint8_t data[];
};

struct flow_half {
    struct flow_half *hnext;         /* hash chain */
    struct flow_half *older, *newer; /* LRU list */
    struct sk_sa src, dst;
    uint32_t next_seq, fin_seq;
    bool have_seq, fin;
    bool closed;          /* FIN reached: kept so that retransmissions are recognised */
    struct flow_seg *ooo; /* out of order, sorted by seq, not overlapping */
    size_t ooo_bytes, ooo_n;
    uint64_t last_ns;
    struct flow_app app;
};

#define FLOW_TCP_HASH 1024

struct flow_tcp_table {
    struct flow_half *hash[FLOW_TCP_HASH];
    struct flow_half *oldest, *newest;
    size_t n;
    size_t bytes; /* buffered by all directions: out-of-order segments, framing buffers */
};

struct flow_tcp_seg {
    struct sk_sa src, dst;
    uint32_t seq;
    bool syn, fin, rst;
    const uint8_t *data;
    size_t len;     /* captured payload bytes */
    size_t missing; /* payload bytes after them that the snaplen cut off */
};

void flow_tcp_segment(struct flow_capture *c, const struct flow_tcp_seg *s);
/* End of capture: skip the holes, deliver what is buffered, report what is incomplete. */
void flow_tcp_flush(struct flow_capture *c);
void flow_tcp_clear(struct flow_capture *c);

/* Bytes of a direction in stream order; frame is the frame they came in, done the
 * frame that completed them (the current one, or theirs when flushing). */
void flow_app_data(struct flow_capture *c, struct flow_half *h, const uint8_t *p,
                   size_t len, uint64_t frame, uint64_t done);
/* n bytes of the stream will never be seen: drop the partial message, resync. */
void flow_app_gap(struct flow_capture *c, struct flow_half *h, uint64_t n);
/* The direction ends: report what is left unframed, free the buffers. */
void flow_app_close(struct flow_capture *c, struct flow_half *h);

/* ---- HEP v3 (hep.c) ---- */

struct flow_hep {
    uint8_t family;     /* 2 (AF_INET) or 10 (AF_INET6), as HEP writes them */
    uint8_t ip_proto;   /* 17, 6 ... */
    uint8_t proto_type; /* 1 = SIP */
    struct sk_sa src, dst;
    bool has_ts;
    uint64_t ts_ns;
    const uint8_t *payload;
    size_t plen;
};

/* Decode a HEP v3 packet (it starts with "HEP3"). Returns 0, or EBADMSG with *why. */
int flow_hep_parse(const uint8_t *p, size_t len, struct flow_hep *h, const char **why);
/* Hand up what the HEP packet in outer->data carries (a warning if it is broken). */
void flow_hep_deliver(struct flow_capture *c, const struct flow_packet *outer);

/* ---- WebSocket frame header (ws.c) ---- */

struct flow_ws_frame {
    bool fin, masked;
    uint8_t opcode;
    uint8_t mask[4];
    size_t hdr_len;
    uint64_t payload_len;
};

/* Returns 0 with f filled, EAGAIN (need more bytes), EBADMSG (*why set). */
int flow_ws_frame_parse(const uint8_t *p, size_t len, struct flow_ws_frame *f,
                        const char **why);

/* ---- decoding helpers shared by capture.c and sctp.c ---- */

static inline uint32_t flow_be16(const uint8_t *p)
{
    return (uint32_t) p[0] << 8 | p[1];
}

static inline uint32_t flow_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* One IP payload: its addresses and bytes (len captured, wire on the wire). */
struct flow_ip {
    struct sk_sa src, dst;
    uint8_t proto;
    const uint8_t *p;
    size_t len, wire;
    uint64_t first_frame;
    const uint64_t *frames; /* reassembled: the fragments' frames (nframes of them) */
    size_t nframes;
};

/* ---- ICMP (icmp.c) ---- */

/* An ICMP (ip->proto 1) or ICMPv6 (58) packet: a destination unreachable quoting a
 * UDP, TCP or SCTP header is handed up as FLOW_ICMP; the rest is counted as other IP. */
void flow_icmp_packet(struct flow_capture *c, const struct flow_ip *ip);

/* ---- SCTP (sctp.c) ---- */

#define FLOW_SCTP_MAX_PENDING                                                            \
    64 /* messages in several DATA chunks being put together                             \
        */

struct flow_sctp_msg {
    struct flow_sctp_msg *next;
    struct sk_sa src, dst; /* with the ports */
    uint16_t sid, ssn;
    uint32_t next_tsn;
    uint8_t *data;
    size_t len;
    uint64_t first_frame;
};

struct flow_sctp_table {
    struct flow_sctp_msg *head;
    size_t n;
};

void flow_sctp_packet(struct flow_capture *c, const struct flow_ip *ip);
void flow_sctp_flush(struct flow_capture *c);
void flow_sctp_clear(struct flow_capture *c);

/* ---- The capture ---- */

struct pcap;

struct flow_capture {
    struct pcap *pcap;
    bool live;
    int linktype;
    struct flow_limits lim;
    struct flow_stats st;
    uint64_t frame;  /* number of the current frame */
    uint64_t now_ns; /* its time */
    const struct flow_sink *sink;
    struct flow_frag_table frags;
    struct flow_tcp_table tcp;
    struct flow_sctp_table sctp;
    struct sip_msg *msg; /* reused for stream framing */
    volatile sig_atomic_t stop;
};

void flow_warn(struct flow_capture *c, uint64_t frame, enum flow_problem kind,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Hand one packet to the sink and count it. */
void flow_emit(struct flow_capture *c, const struct flow_packet *p);
/* "1.2.3.4:5 -> 6.7.8.9:10" for warnings. */
const char *flow_pair_str(const struct sk_sa *a, const struct sk_sa *b, char *buf,
                          size_t size);

#endif
