/* Capture reader for `sipkit flow`: pcap/pcapng files and live capture turned into SIP
 * messages and UDP datagrams. */
#ifndef FLOW_CAPTURE_H
#define FLOW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sip/tp.h"

/* How the payload reached us. */
enum flow_transport {
    FLOW_UDP,  /* one UDP datagram (reassembled from IP fragments if it was fragmented) */
    FLOW_TCP,  /* one SIP message framed out of a reassembled TCP stream */
    FLOW_WS,   /* one WebSocket message (RFC 6455) on a TCP stream, RFC 7118 */
    FLOW_HEP,  /* the payload of a HEP v3 packet: addresses and time are the inner ones */
    FLOW_SCTP, /* one SCTP DATA chunk holding a whole message (RFC 4168) */
    FLOW_ICMP, /* an ICMP or ICMPv6 destination unreachable: see flow_packet.icmp */
};
const char *flow_transport_name(
    enum flow_transport t); /* "UDP", "TCP", "WS", "HEP", "SCTP", "ICMP" */

/* One thing handed up: a SIP message, or a non-SIP UDP datagram. */
struct flow_packet {
    uint64_t frame;       /* 1-based frame that completed it (like Wireshark's numbers) */
    uint64_t first_frame; /* frame holding its first byte (== frame unless reassembled) */
    uint64_t ts_ns; /* capture time of `frame`, ns since the epoch (HEP: inner time) */
    struct sk_sa src, dst;
    enum flow_transport transport;
    uint8_t ip_proto;    /* 17, 6 or 132; for HEP the inner protocol the agent reported */
    const uint8_t *data; /* valid during the callback only */
    size_t len;
    bool is_sip;    /* starts with a SIP request or status line */
    bool truncated; /* bytes are missing (snaplen cut the frame) */
    /* Every frame that carried its bytes: IP fragments in arrival order, TCP
     * segments in stream order (retransmitted copies left out), at most
     * FLOW_PACKET_MAX_FRAMES (the first ones); valid during the callback only.
     * nframes 0: `frame` alone (and `first_frame` when it differs). */
    const uint64_t *frames;
    size_t nframes;
    /* FLOW_ICMP (RFC 792 type 3, RFC 4443 type 1): the datagram the far host refused,
     * from the header it quoted back; data/len are the quoted bytes */
    struct {
        uint8_t type, code; /* as on the wire: v4 3/3 and v6 1/4 are port unreachable */
        bool port_unreachable;
        uint8_t proto; /* of the refused datagram: 17, 6, 132 */
        struct sk_sa src, dst;
    } icmp;
};
#define FLOW_PACKET_MAX_FRAMES 64

/* Kinds of problems, each counted in flow_stats.problems. */
enum flow_problem {
    FLOW_PROB_FILE,    /* the file is damaged or truncated; libpcap's error */
    FLOW_PROB_SNAPLEN, /* frame cut by the snapshot length (caplen < len) */
    FLOW_PROB_LINK,    /* unsupported link type or a broken link header */
    FLOW_PROB_IP,      /* broken IPv4/IPv6 header or length */
    FLOW_PROB_FRAG,    /* fragments: overlap with other data, never completed, limits */
    FLOW_PROB_UDP,     /* broken UDP header */
    FLOW_PROB_TCP,     /* broken TCP header */
    FLOW_PROB_TCP_GAP, /* stream bytes never seen (skipped) or overlapping with other data
                        */
    FLOW_PROB_TCP_LIMIT, /* stream table or buffers full */
    FLOW_PROB_SIP,       /* stream bytes that do not frame as SIP */
    FLOW_PROB_TLS,       /* an encrypted stream (noted once per stream) */
    FLOW_PROB_WS,        /* a broken WebSocket frame or message too large */
    FLOW_PROB_HEP,       /* a broken HEP v3 packet */
    FLOW_PROB_SCTP,      /* a broken SCTP packet, or a message in several chunks */
    FLOW_PROB__COUNT,
};
const char *flow_problem_name(enum flow_problem p); /* "file", "snaplen", ... */

struct flow_stats {
    uint64_t frames, bytes;     /* records read, captured bytes */
    uint64_t first_ns, last_ns; /* times of the first and the last frame */
    uint64_t ipv4, ipv6, udp, tcp, sctp, other_ip;
    uint64_t fragments, reassembled; /* IP fragments seen, datagrams rebuilt from them */
    uint64_t tcp_streams;            /* directions seen */
    uint64_t tcp_retransmissions;    /* segments whose bytes were all seen before */
    uint64_t sip_udp, sip_tcp, sip_ws, sip_hep, sip_sctp; /* SIP messages handed up */
    uint64_t other_udp;    /* non-SIP UDP datagrams handed up */
    uint64_t icmp_unreach; /* ICMP destination unreachable quoting UDP/TCP/SCTP */
    uint64_t problems[FLOW_PROB__COUNT];
};

/* Hard limits, with named defaults (flow_limits_default). Times are capture time. */
#define FLOW_FRAG_MAX_PENDING 256              /* datagrams being reassembled */
#define FLOW_FRAG_MAX_BYTES (4u * 1024 * 1024) /* bytes held by them */
#define FLOW_FRAG_TIMEOUT_NS                                                             \
    (30ull * 1000000000)                     /* RFC 791 suggests 15 s; Linux 30 s        \
                                              */
#define FLOW_TCP_MAX_STREAMS 4096            /* stream directions tracked at once */
#define FLOW_TCP_MAX_OOO_BYTES (256u * 1024) /* out-of-order bytes per direction */
#define FLOW_TCP_MAX_OOO_SEGMENTS 256        /* out-of-order segments per direction */
#define FLOW_TCP_GAP_TIMEOUT_NS                                                          \
    (5ull * 1000000000)                        /* a hole older than this is skipped */
#define FLOW_STREAM_MAX_BUFFER (320u * 1024)   /* unframed bytes per direction */
#define FLOW_WS_MAX_MESSAGE (256u * 1024)      /* a reassembled WebSocket message */
#define FLOW_TCP_MAX_BYTES (64u * 1024 * 1024) /* buffered by all streams together */

struct flow_limits {
    size_t frag_max_pending, frag_max_bytes;
    uint64_t frag_timeout_ns;
    size_t tcp_max_streams, tcp_max_ooo_bytes, tcp_max_ooo_segments;
    uint64_t tcp_gap_timeout_ns;
    size_t stream_max_buffer, ws_max_message;
    size_t tcp_max_bytes;
};
extern const struct flow_limits flow_limits_default;

/* What the reader calls. packet: every SIP message, every non-SIP UDP datagram,
 * and the non-SIP payloads of WebSocket messages and HEP packets, in the order
 * of the frames completing them (what the end of the capture flushes comes last).
 * warning: one problem, with the frame number (0 when it concerns no frame) and a line of
 * text. Either may be NULL. */
struct flow_sink {
    void (*packet)(void *arg, const struct flow_packet *p);
    void (*warning)(void *arg, uint64_t frame, enum flow_problem kind, const char *text);
    void *arg;
};

struct flow_capture;

/* Open a pcap or pcapng file ("-" is stdin). On failure err holds libpcap's or the
 * system's message. limits may be NULL (defaults). Returns 0, ENOENT, EIO (cannot
 * be read), EINVAL (not a capture file: libpcap's message), ENOMEM. */
int flow_capture_open_file(struct flow_capture **cp, const char *path,
                           const struct flow_limits *limits, char *err, size_t errlen);
/* The same from an open stream (fmemopen for captures in memory); the capture
 * closes fp when it is closed, also on failure. */
int flow_capture_open_fp(struct flow_capture **cp, FILE *fp,
                         const struct flow_limits *limits, char *err, size_t errlen);
/* Live capture on an interface ("any" for all), with an optional BPF filter. Needs
 * the rights to capture (root or CAP_NET_RAW). */
int flow_capture_open_live(struct flow_capture **cp, const char *iface,
                           const char *filter, const struct flow_limits *limits,
                           char *err, size_t errlen);
/* A capture with no source, fed frame by frame with flow_capture_feed (linktype
 * is a DLT_ value, e.g. 1 for Ethernet). */
int flow_capture_new(struct flow_capture **cp, int linktype,
                     const struct flow_limits *limits);
void flow_capture_close(struct flow_capture *c);

/* Bounds of one run; zeros mean none. */
struct flow_run_opts {
    uint64_t max_frames;  /* frames read */
    uint64_t max_seconds; /* wall clock; checked every 100 ms on a live capture */
};

/* Read until the end of the file (or a bound, or flow_capture_stop), handing
 * everything to sink, then flush what is still buffered (incomplete streams,
 * fragments) with warnings. Returns 0 (damage is reported through warnings, not
 * here), or EIO when a live capture fails. */
int flow_capture_run(struct flow_capture *c, const struct flow_sink *sink,
                     const struct flow_run_opts *opts);
/* Ask a running flow_capture_run to return soon; async-signal-safe. */
void flow_capture_stop(struct flow_capture *c);

/* One frame, as read from a capture of this linktype; frames are numbered in
 * the order they are fed. caplen bytes are at data, len is the length on the wire. */
void flow_capture_feed(struct flow_capture *c, const struct flow_sink *sink,
                       uint64_t ts_ns, const uint8_t *data, size_t caplen, size_t len);
/* Deliver what is still buffered (end of capture); flow_capture_run calls it. */
void flow_capture_flush(struct flow_capture *c, const struct flow_sink *sink);

const struct flow_stats *flow_capture_stats(const struct flow_capture *c);
int flow_capture_linktype(const struct flow_capture *c);

/* True when buf starts (after optional CRLFs) with a SIP request line
 * "METHOD sip:... SIP/2.0" (any URI scheme) or a status line "SIP/2.0 NNN ". */
bool flow_is_sip(const uint8_t *buf, size_t len);

#endif
