/* Call analysis for `sipkit flow`: SIP transactions, dialogs, calls, registrations and
 * RTP/RTCP streams built from the packets the capture reader hands up. */
#ifndef FLOW_MODEL_H
#define FLOW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/capture.h"
#include "media/rtp.h"
#include "media/rtpstats.h"
#include "sdp/sdp.h"
#include "sip/msg.h"

/* Hard limits, with named defaults (flow_model_limits_default). Memory is bounded by
 * them, not by the capture's size: a kept message costs 192 bytes (+ 160 for an SDP
 * summary), a transaction 270, an item (Call-ID) 1.1 KB, a stream 1.8 KB (with its plot
 * series), an SDP address 340, each with its hash entry; RTP packets cost nothing once
 * their stream exists. With the defaults that is at most about 96 + 16 + 67 + 55 + 36 +
 * 17 MB, plus the message copies (64 MB): under 350 MB whatever the capture holds, and in
 * practice about 0.5 KB per SIP message plus its copy (up to 4 KB), of which only the
 * lines no earlier message had are stored (4 bytes a line more): on sipkit call --load
 * traffic through a proxy, 39 MB of copies take about 13 MB. Past a limit, what
 * does not fit is counted in flow_model_counts.dropped_* and left out: messages past
 * max_messages still update their transaction, call and streams but are not kept for
 * the ladder; messages past max_text_bytes are kept without their copy. */
#define FLOW_MODEL_MAX_MESSAGES 500000                /* message records (ladder) */
#define FLOW_MODEL_MAX_SDP 100000                     /* SDP summaries kept */
#define FLOW_MODEL_MAX_TEXT_BYTES (64u * 1024 * 1024) /* copies of messages, together */
#define FLOW_MODEL_MAX_MSG_COPY 4096                  /* bytes kept of one message */
#define FLOW_MODEL_MAX_TXNS 250000                    /* transactions */
#define FLOW_MODEL_MAX_ITEMS 50000                    /* calls, registrations, others */
#define FLOW_MODEL_MAX_STREAMS 20000                  /* RTP streams */
#define FLOW_MODEL_MAX_MEDIA 50000                    /* SDP media addresses remembered */
#define FLOW_MODEL_MAX_DIALOGS 8                      /* dialogs (To tags) per call */
#define FLOW_MODEL_RTP_PENDING 4096 /* flows watched for RTP that no SDP announced */
#define FLOW_MODEL_MAX_CHAIN 64     /* hash chain entries compared before giving up */

struct flow_model_limits {
    size_t max_messages, max_sdp, max_text_bytes, max_msg_copy;
    size_t max_txns, max_items, max_streams, max_media;
};
extern const struct flow_model_limits flow_model_limits_default;

#define FLOW_MODEL_CALLID_MAX 96 /* Call-ID bytes kept (+ NUL) */
#define FLOW_MODEL_NAME_MAX 80   /* user@host of From/To */
#define FLOW_MODEL_TAG_MAX 48
#define FLOW_MODEL_REASON_MAX 48
#define FLOW_MODEL_METHOD_MAX 16
#define FLOW_MODEL_DIGITS_MAX 32

/* What one SDP body said (its first audio media, or the first media). */
struct flow_sdp {
    bool offer;     /* in a request (an answer when in a response) */
    char media[12]; /* "audio" */
    char codec[24]; /* first format: "PCMU/8000" */
    char pts[48];   /* every payload type, "0 8 101" */
    char addr[SDP_ADDR_MAX];
    uint16_t port;    /* 0: rejected or held media */
    enum sdp_dir dir; /* sdp_media_dir (session level applied) */
    bool bad;         /* the body did not parse as SDP */
};

/* One SIP message as seen on the wire. */
struct flow_msg {
    uint64_t frame, ts_ns;
    uint64_t first_frame; /* its first byte's frame (fragments, TCP segments) */
    uint64_t ordinal; /* 1-based place among the SIP messages fed (flow_export finds it
                         again by it: several messages may complete in one frame) */
    struct sk_sa src, dst;
    enum flow_transport transport;
    bool request;
    enum sip_method method; /* request method, or the CSeq method of a response */
    char method_name[FLOW_MODEL_METHOD_MAX];
    int status;                         /* responses */
    char reason[FLOW_MODEL_REASON_MAX]; /* responses */
    uint32_t cseq;
    bool retrans; /* a retransmission (the same request or response seen before) */
    int32_t item; /* flow_item index, -1: none (no Call-ID) */
    int32_t txn;  /* flow_txn index, -1: none */
    int32_t sdp;  /* flow_sdp index, -1: none kept (retransmissions point at none) */
    bool has_sdp; /* the body is SDP */
    uint32_t text_off, text_len; /* its copy (first max_msg_copy bytes), text_len bytes
                                    (0: none); text_off is the model's own */
    int32_t next_in_item;        /* the item's next kept message, -1: none */
};

/* RFC 3261 §17: one transaction on one hop, keyed by the top Via branch, the Via
 * sent-by and the method (ACK of a non-2xx final and CANCEL matched to the INVITE,
 * §17.2.3); RFC 2543 requests without a magic-cookie branch by Call-ID, From tag,
 * CSeq number and the top Via's branch and sent-by (the keys of sip/txn_key.h;
 * key is their hash). */
struct flow_txn {
    uint64_t key;
    enum sip_method method;
    char method_name[FLOW_MODEL_METHOD_MAX];
    uint32_t cseq;
    bool rfc2543;
    int32_t item;
    struct sk_sa client, server; /* source and destination of the first request */
    uint64_t first_frame, first_ns;
    uint64_t provisional_ns; /* first 1xx, 0: none */
    int final_status;        /* 0: none seen */
    uint64_t final_frame, final_ns;
    unsigned requests, responses;
    unsigned req_retrans;  /* retransmitted by the client */
    unsigned resp_retrans; /* retransmitted by the server */
    bool acked;            /* the ACK of a non-2xx final was seen */
    int32_t invite_txn;    /* CANCEL: the INVITE transaction it cancels, else -1 */
    bool has_auth;         /* the request carried Authorization/Proxy-Authorization */
    int32_t next_in_item;  /* the item's next transaction, -1: none */
    uint64_t seen_resp[8]; /* fingerprints of responses seen, for retransmissions */
};

enum flow_item_kind {
    FLOW_ITEM_CALL,         /* an INVITE dialog (with its forks and hops) */
    FLOW_ITEM_REGISTRATION, /* REGISTER requests of one Call-ID */
    FLOW_ITEM_OTHER,        /* OPTIONS, MESSAGE, SUBSCRIBE/NOTIFY... */
};
const char *
flow_item_kind_name(enum flow_item_kind k); /* "call", "registration", "other" */

/* How a call ended. */
enum flow_end {
    FLOW_END_NONE,       /* still up at the end of the capture, or never answered */
    FLOW_END_CALLER_BYE, /* the caller sent BYE */
    FLOW_END_CALLEE_BYE, /* the callee sent BYE */
    FLOW_END_CANCEL,     /* the caller cancelled before an answer */
    FLOW_END_REJECTED,   /* a final 3xx-6xx to the INVITE */
};
const char *flow_end_name(enum flow_end e); /* "none", "caller BYE", ... */

/* A dialog of a call: the caller's From tag with one To tag (§12). */
struct flow_dialog {
    char to_tag[FLOW_MODEL_TAG_MAX];
    int status;     /* highest status that carried this tag (1xx early, 2xx confirmed) */
    uint64_t frame; /* of the first message with the tag */
};

/* Everything of one Call-ID. Times are capture times (ns since the epoch), 0 when
 * not seen. */
struct flow_item {
    enum flow_item_kind kind;
    char call_id[FLOW_MODEL_CALLID_MAX];
    uint64_t cid_hash;
    char method_name[FLOW_MODEL_METHOD_MAX];                 /* of the first request */
    char from[FLOW_MODEL_NAME_MAX], to[FLOW_MODEL_NAME_MAX]; /* URI user@host */
    char from_tag[FLOW_MODEL_TAG_MAX];
    struct sk_sa caller;                     /* source of the first request */
    uint64_t first_frame, start_ns, last_ns; /* first and last SIP message */
    uint64_t media_last_ns;                  /* last RTP packet of its streams */
    unsigned messages;
    uint32_t invite_cseq; /* CSeq of the latest initial INVITE (new after a 401/407) */
    uint64_t ringing_ns;  /* first 18x to the initial INVITE */
    uint64_t answer_ns;   /* first 2xx to the initial INVITE */
    uint64_t end_ns;      /* BYE, or the final 3xx-6xx */
    uint64_t end_frame;
    int final_status; /* to the initial INVITE (calls) or the latest request (others) */
    char final_reason[FLOW_MODEL_REASON_MAX];
    uint64_t final_frame;
    enum flow_end ended;
    bool cancelled;
    uint64_t cancel_frame;
    unsigned reinvites;
    unsigned hops;       /* hops the initial INVITE crossed (proxies on the way) */
    unsigned challenges; /* 401/407 responses */
    unsigned retrans;    /* retransmitted messages */
    unsigned ndialogs;
    struct flow_dialog dialog[FLOW_MODEL_MAX_DIALOGS];
    unsigned forks; /* 2xx with different To tags, beyond the first */
    unsigned streams;
    int64_t expires; /* registration: granted in the 2xx (Contact or Expires), -1 */
    /* its transactions and streams in table order, chained by their next_in_item
     * (-1: none), so that outputs and rules need not scan the whole tables */
    int32_t first_txn, last_txn, first_stream, last_stream, first_msg, last_msg;
};

/* A stream's quality over time, for plots (sipkit flow --html): at most
 * FLOW_SERIES_MAX points, each FLOW_SERIES_STEP_NS wide at first; when a stream outlasts
 * them, neighbouring points are merged in pairs and the width doubles, so a point of a
 * long call covers more time and the memory stays 12 bytes a point (752 bytes a stream).
 */
#define FLOW_SERIES_MAX 60
#define FLOW_SERIES_STEP_NS 1000000000ull /* 1 s */

struct flow_series_point {
    uint32_t packets;  /* RTP packets that arrived in the interval (events too) */
    uint32_t expected; /* growth of the §A.3 expected count over the interval */
    float jitter_ms;   /* highest §A.8 jitter after an audio packet of the interval */
};

struct flow_series {
    uint64_t start_ns; /* the stream's first packet: point k starts at start + k * step */
    uint64_t step_ns;  /* width of a point, 0 before the first packet */
    uint32_t n;        /* points in use */
    int64_t last_expected;
    struct flow_series_point pt[FLOW_SERIES_MAX];
};

/* One packet at ts_ns: expected is the stream's §A.3 expected count after it, jitter_ms
 * its jitter after it, or a negative value when the packet does not count for jitter
 * (RFC 4733 events). */
void flow_series_add(struct flow_series *se, uint64_t ts_ns, int64_t expected,
                     double jitter_ms);
/* Lost in a point: expected - arrived, never negative (duplicates, probation). */
uint32_t flow_series_lost(const struct flow_series_point *p);

/* One RTP stream: one SSRC from one address to another. */
struct flow_stream {
    struct sk_sa src, dst;
    uint32_t ssrc;
    unsigned segment;     /* 1, 2...: a codec change the SDP announced starts a new one */
    int32_t item;         /* -1: no SDP announced the addresses */
    int32_t next_in_item; /* the item's next stream, -1: none */
    bool from_sdp;        /* associated through an SDP offer or answer */
    uint8_t pt;           /* first payload type */
    char codec[24];       /* "PCMU" (from the SDP, else the static table), "" unknown */
    uint32_t clock;
    char payloads[64]; /* every payload type seen, names as in tshark: "PCMU,
                          telephone-event" */
    bool pt_change;    /* more than one (audio) payload type */
    uint64_t first_frame, first_ns, last_ns;
    struct rtp_stats seq; /* every packet: sequence, loss, order, duplicates */
    struct rtp_stats jit; /* audio only (RFC 4733 events left out): jitter */
    uint64_t last_audio_ns,
        max_delta_ns; /* delta: audio packets, talkspurt starts left out */
    int event_pt;     /* telephone-event payload type, -1 */
    uint64_t events;  /* telephone-event packets */
    struct rtp_dtmf_rx dtmf;
    char digits[FLOW_MODEL_DIGITS_MAX + 1];
    /* RTCP (RFC 3550 §6.4) about or from this source */
    uint64_t rtcp_sr, rtcp_rr; /* SRs it sent, reports about it received */
    uint32_t sr_packets, sr_octets;
    bool has_rr;
    uint8_t rr_fraction;
    int32_t rr_cum_lost;
    double rr_jitter_ms;
    bool has_rtt;
    double rtt_ms;
    uint32_t last_sr_mid;      /* the middle 32 bits of its last SR's NTP time */
    uint64_t last_sr_ns;       /* when that SR was captured */
    struct flow_series series; /* jitter and loss over time */
};

/* Figures derived from a stream. */
struct flow_stream_figures {
    uint64_t packets;
    int64_t expected; /* RFC 3550 §A.3 */
    int64_t lost;     /* expected - distinct packets received, >= 0 (QUALITY.md) */
    int64_t lost_raw; /* §A.3 expected - received: duplicates make it negative */
    double loss_pct;
    uint64_t duplicates, out_of_order;
    double max_delta_ms, jitter_ms, max_jitter_ms, mean_jitter_ms;
    bool has_mos;    /* G.711 only */
    double r, mos;   /* G.107: G.711 with PLC (Bpl 25.1), BurstR 1, delay RTT/2 or 0 */
    double delay_ms; /* the one-way delay used: RTT/2 from RTCP, else 0 */
};
void flow_stream_figures(const struct flow_stream *s, struct flow_stream_figures *f);

/* An ICMP destination unreachable: a host refused a datagram (RFC 792, RFC 4443). */
struct flow_unreach {
    uint64_t frame, ts_ns;
    struct sk_sa reporter; /* who sent the ICMP error */
    struct sk_sa src, dst; /* the refused datagram */
    uint8_t proto;         /* its protocol: 17, 6, 132 */
    bool port;             /* port unreachable: nobody listens on dst */
    unsigned count;        /* the same datagram flow refused again (first frame kept) */
};

#define FLOW_MODEL_DNS_NAME_MAX 96

/* One DNS query over UDP (RFC 1035 §4.1) and its reply. */
struct flow_dns {
    uint64_t frame, ts_ns;          /* the first query */
    uint64_t reply_frame, reply_ns; /* 0: no reply in the capture */
    struct sk_sa client, server;
    uint16_t id, qtype; /* qtype: 1 A, 28 AAAA, 33 SRV, 35 NAPTR... */
    int rcode;          /* -1: no reply; 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN */
    uint16_t answers;
    unsigned retries; /* the query sent again before a reply */
    char name[FLOW_MODEL_DNS_NAME_MAX];
};
/* "A", "AAAA", "SRV", "NAPTR", ... or "TYPEn" into buf */
const char *flow_dns_qtype_name(uint16_t qtype, char *buf, size_t size);
/* "NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", ..., "no reply" */
const char *flow_dns_rcode_name(int rcode);

struct flow_model_counts {
    uint64_t sip, sip_bad; /* SIP messages, of which could not be read at all */
    uint64_t sip_lenient;  /* refused by the strict parser, read leniently */
    uint64_t udp_other;    /* non-SIP datagrams */
    uint64_t rtp, rtcp;    /* of those: RTP packets put in a stream, RTCP compounds */
    uint64_t dropped_messages, dropped_text, dropped_txns, dropped_items, dropped_streams,
        dropped_media, dropped_sdp;
    uint64_t first_ns, last_ns; /* times of the first and the last packet fed */
    uint64_t icmp_unreach, dns; /* ICMP errors and DNS queries kept */
    uint64_t dropped_net;       /* ICMP errors or DNS queries past the limit */
};

struct flow_model;

/* limits may be NULL (defaults). ENOMEM. */
int flow_model_new(struct flow_model **mp, const struct flow_model_limits *limits);
void flow_model_free(struct flow_model *m);
/* One packet from the capture reader (a flow_sink's packet callback can pass it on). */
void flow_model_feed(struct flow_model *m, const struct flow_packet *p);
/* End of the capture: report DTMF digits still in progress. */
void flow_model_finish(struct flow_model *m);

const struct flow_model_counts *flow_model_counts(const struct flow_model *m);
/* The tables, in order of first appearance. Pointers stay valid until the next feed. */
const struct flow_item *flow_model_items(const struct flow_model *m, size_t *n);
const struct flow_txn *flow_model_txns(const struct flow_model *m, size_t *n);
const struct flow_msg *flow_model_msgs(const struct flow_model *m, size_t *n);
const struct flow_stream *flow_model_streams(const struct flow_model *m, size_t *n);
/* ICMP destination unreachable errors and DNS queries, in capture order. */
const struct flow_unreach *flow_model_unreach(const struct flow_model *m, size_t *n);
const struct flow_dns *flow_model_dns(const struct flow_model *m, size_t *n);
const struct flow_sdp *flow_model_sdp(const struct flow_model *m, int32_t index);
/* The kept copy of a message (NULL when none; *len may be below the message's length),
 * put together from the model's store of lines: valid until the next call. */
const char *flow_model_msg_text(const struct flow_model *m, const struct flow_msg *msg,
                                size_t *len);
/* Index of the item with this Call-ID, or -1. */
int32_t flow_model_find_call_id(const struct flow_model *m, const char *call_id);

/* ---- diagnosis (flow_diagnose.c) ---- */

#define FLOW_FINDING_MAX_FRAMES 4
#define FLOW_MAX_FINDINGS 8

enum flow_severity { FLOW_SEV_INFO, FLOW_SEV_WARNING, FLOW_SEV_ERROR };

/* One thing found about an item, with the frames that show it and what to do. */
struct flow_finding {
    enum flow_severity severity;
    char code[24];    /* stable identifier: "status-486", "one-way-audio", "auth-loop" */
    char summary[96]; /* the verdict column: "failed: 486 Busy Here" */
    char detail[200]; /* what it means, in plain words */
    char fix[200];    /* what to check or change */
    uint64_t frames[FLOW_FINDING_MAX_FRAMES];
    unsigned nframes;
};

/* Apply the rules to item `index` and fill up to max findings (most important first);
 * returns how many. The rules (docs/flow-rules.md): a final 3xx-6xx in plain words,
 * credentials refused, codec mismatch (488/415/606), slow setup, INVITE timeouts, no
 * 100 Trying, Timer C, 2xx never ACKed, CANCEL after the answer, 481, loops, 503,
 * one-way audio (and behind NAT), no ringback, 423, expired bindings, NAT rebinding. */
size_t flow_diagnose(const struct flow_model *m, size_t index, struct flow_finding *out,
                     size_t max);
/* Plain-words meaning of a final status and a fix hint; NULL for an unknown status. */
const char *flow_status_meaning(int status, const char **fix);

/* Where an address belongs: RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598 shared
 * (100.64/10) and RFC 4193 (fc00::/7) are private; loopback, link-local and the
 * unspecified address are local; the rest public. */
enum flow_addr_scope { FLOW_ADDR_PUBLIC, FLOW_ADDR_PRIVATE, FLOW_ADDR_LOCAL };
enum flow_addr_scope flow_addr_scope(const struct sk_sa *a);
/* The codec names known to sipkit found in free text (a Warning header's), as
 * "G729, G722" into out; returns how many. */
size_t flow_codecs_in_text(const char *text, size_t len, char *out, size_t cap);

#endif
