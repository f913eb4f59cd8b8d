/* SDP (RFC 4566): an owned, copyable session description, its parser and printer, and RFC
 * 3264 offer/answer. */
#ifndef SK_SDP_H
#define SK_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/tp.h"

/* Hard limits. A description beyond one of them is refused with an error that
 * names the limit, never truncated. */
#define SDP_MAX_LEN 16384  /* bytes of a whole description */
#define SDP_MAX_LINE 4096  /* bytes of one line, without its CRLF */
#define SDP_MAX_MEDIA 8    /* m= lines */
#define SDP_MAX_FORMATS 32 /* formats on one m= line */
#define SDP_MAX_ATTRS 64   /* a= lines kept as text (unknown ones), all levels */
#define SDP_MAX_LINES 32   /* other lines kept as text: i u e p r z k, more c=, unknown */
#define SDP_MAX_APOS 128   /* a= lines whose place is remembered for printing */
#define SDP_MAX_BW 4       /* b= lines per level */
#define SDP_MAX_TIMES 4    /* t= lines */
#define SDP_TOKEN_MAX 32   /* media type, proto, encoding name, bwtype: bytes + NUL */
#define SDP_FMT_MAX 16     /* one format token of an m= line + NUL */
#define SDP_USER_MAX 64    /* o= username + NUL */
#define SDP_ADDR_MAX 64    /* an address (IPv6 text, a host name) + NUL */
#define SDP_POOL_MAX SDP_MAX_LEN /* text kept verbatim: never more than the input */
#define SDP_REASON_MAX 128
#define SDP_MAX_CODECS 8 /* codecs in a struct sdp_local */
#define SDP_PTIME_MIN 10 /* packet times (ms) we send and play; an a=ptime outside */
#define SDP_PTIME_MAX 60 /* them is answered with our own (sdp_local.ptime) */

/* A piece of text kept in the session's own pool (offsets, not pointers, so a
 * struct sdp_session can be copied with memcpy or `=`). */
struct sdp_text {
    uint16_t off, len;
};

enum sdp_addrtype {
    SDP_ADDR_NONE = 0, /* no c= line at this level */
    SDP_ADDR_IP4,
    SDP_ADDR_IP6,
};

/* Direction attributes (RFC 4566 §6, RFC 3264 §5.1). UNSET: no attribute at this level.
 */
enum sdp_dir {
    SDP_DIR_UNSET = 0,
    SDP_DIR_SENDRECV,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
};

struct sdp_conn {
    enum sdp_addrtype type;  /* NONE: no c= line */
    char addr[SDP_ADDR_MAX]; /* "192.0.2.1", "2001:db8::1", or a host name */
    char suffix[24]; /* "/127" or "/127/3" (multicast TTL, count) as written, or "" */
};

/* b=<type>:<value>; AS, CT, RR, RS (kbit/s or bit/s, RFC 3556) and TIAS (RFC 3890)
 * are the known types, any other token is kept too. */
struct sdp_bw {
    char type[SDP_TOKEN_MAX];
    uint64_t value;
};

struct sdp_time {
    uint64_t start, stop;
};

/* One format of an m= line with what its rtpmap/fmtp attributes said. */
struct sdp_fmt {
    char id[SDP_FMT_MAX]; /* as written in m= */
    int pt;               /* 0..127 on RTP profiles, -1 otherwise */
    bool rtpmap;          /* an a=rtpmap line was given (else enc comes from RFC 3551) */
    char enc[SDP_TOKEN_MAX]; /* encoding name, "" when unknown */
    uint32_t clock;          /* 0 when unknown */
    uint8_t channels;        /* 0: not given (means 1 for audio) */
    bool has_fmtp;
    struct sdp_text fmtp; /* a=fmtp parameters */
};

enum sdp_media_kind {
    SDP_MEDIA_AUDIO,
    SDP_MEDIA_VIDEO,
    SDP_MEDIA_TEXT,
    SDP_MEDIA_APPLICATION,
    SDP_MEDIA_MESSAGE,
    SDP_MEDIA_IMAGE,
    SDP_MEDIA_OTHER,
};

struct sdp_media {
    char type[SDP_TOKEN_MAX]; /* "audio" */
    enum sdp_media_kind kind;
    uint16_t port;
    uint16_t nports;           /* m=audio 49170/2: 2; 0 when not written */
    char proto[SDP_TOKEN_MAX]; /* "RTP/AVP" */
    bool rtp;                  /* proto starts with "RTP/": formats are payload types */
    unsigned nfmt;
    struct sdp_fmt fmt[SDP_MAX_FORMATS];
    struct sdp_conn conn; /* this level's c=; NONE: the session's applies */
    unsigned nbw;
    struct sdp_bw bw[SDP_MAX_BW];
    enum sdp_dir dir;         /* this level's attribute; see sdp_media_dir */
    uint32_t ptime, maxptime; /* ms, 0: not given */
    bool has_rtcp;            /* a=rtcp (RFC 3605) */
    uint16_t rtcp_port;
    struct sdp_conn rtcp_conn; /* its optional address */
    bool rtcp_mux;             /* a=rtcp-mux (RFC 5761) */
};

/* An attribute kept as text: unknown ones, and rtpmap/fmtp for a format the m=
 * line does not list. level 0 is the session, 1 + i the media i. value unset
 * (has_value false) for a property attribute ("a=foo"). */
struct sdp_attr {
    uint8_t level;
    bool has_value;
    struct sdp_text name, value;
};

/* Where an a= line stood among those of its level, so that printing puts every
 * attribute back in place. Presentation only: sdp_session_equal ignores it, and
 * a description built by code (napos 0) prints its attributes in a fixed order:
 * rtpmap/fmtp per format, ptime, maxptime, rtcp, rtcp-mux, direction, then the
 * kept ones. index: the format (RTPMAP, FMTP) or the attr[] entry (KEPT). */
enum sdp_apos_kind {
    SDP_APOS_KEPT,
    SDP_APOS_RTPMAP,
    SDP_APOS_FMTP,
    SDP_APOS_PTIME,
    SDP_APOS_MAXPTIME,
    SDP_APOS_RTCP,
    SDP_APOS_RTCP_MUX,
    SDP_APOS_DIR,
};

struct sdp_apos {
    uint8_t level, kind, index;
};

/* A line kept as text: i u e p r z k, a second c= in a media, unknown types.
 * t_index: the t= an r= line follows. */
struct sdp_line {
    char type;
    uint8_t level;
    uint8_t t_index;
    struct sdp_text text;
};

struct sdp_origin {
    char user[SDP_USER_MAX];
    uint64_t sess_id, sess_version;
    enum sdp_addrtype type;
    char addr[SDP_ADDR_MAX];
};

/* A whole description, owning all its text (about 38 KB: keep it on the heap or
 * in a long-lived object). Known lines and attributes are typed fields; everything
 * else is kept in attr[] and line[] and printed back at its level, in its order. */
struct sdp_session {
    struct sdp_origin origin;
    struct sdp_text name; /* s= */
    struct sdp_conn conn;
    unsigned nbw;
    struct sdp_bw bw[SDP_MAX_BW];
    unsigned ntime;
    struct sdp_time time[SDP_MAX_TIMES];
    enum sdp_dir dir; /* session-level direction attribute */
    unsigned nmedia;
    struct sdp_media media[SDP_MAX_MEDIA];
    unsigned nattr;
    struct sdp_attr attr[SDP_MAX_ATTRS];
    unsigned nline;
    struct sdp_line line[SDP_MAX_LINES];
    unsigned napos; /* past SDP_MAX_APOS a= lines the rest print in the fixed order */
    struct sdp_apos apos[SDP_MAX_APOS];
    uint16_t pool_len;
    char pool[SDP_POOL_MAX];
};

/* A parse error: the 1-based line (0: the description as a whole) and a reason
 * that names the line and the fault, fit for "400 Bad SDP: <reason>" (printable
 * ASCII only), e.g. `line 4 (c=): address type "IP5" unknown`. */
struct sdp_error {
    unsigned line;
    char reason[SDP_REASON_MAX];
};

/* ---- parse, print, compare (sdp_parse.c, sdp_print.c) ---- */

/* Parse buf[0..len) (CRLF or LF line ends) into *s. Returns 0, or EBADMSG with
 * *err filled (err may be NULL) and *s unspecified. Pure: no I/O, no allocation;
 * *s owns copies of all its text, buf may go away afterwards. */
int sdp_parse(struct sdp_session *s, const char *buf, size_t len, struct sdp_error *err);

/* Append the description as CRLF lines in RFC 4566 order. 0, ENOMEM, or EINVAL
 * (a field holds CR, LF or NUL, or a count is over its limit). */
int sdp_print(const struct sdp_session *s, struct sk_buf *out);

/* Every field equal (text compared by content). */
bool sdp_session_equal(const struct sdp_session *a, const struct sdp_session *b);

/* The text of a pooled field. */
struct sk_str sdp_str(const struct sdp_session *s, struct sdp_text t);
/* Store text in the pool (for descriptions built by code). 0 or ENOSPC. */
int sdp_text_set(struct sdp_session *s, struct sdp_text *t, struct sk_str v);
/* Empty session: v=0, no lines yet. */
void sdp_session_init(struct sdp_session *s);

/* The direction that applies to a media line: its own attribute, else the
 * session's, else sendrecv (RFC 3264 §5.1). */
enum sdp_dir sdp_media_dir(const struct sdp_session *s, const struct sdp_media *m);
/* The connection that applies: the media's c=, else the session's (NULL if none). */
const struct sdp_conn *sdp_media_conn(const struct sdp_session *s,
                                      const struct sdp_media *m);
/* A b= value of a type ("AS", "TIAS"...) at one level; false when absent. */
bool sdp_bw_get(const struct sdp_bw *bw, unsigned nbw, const char *type, uint64_t *value);
/* "sendrecv", "sendonly", "recvonly", "inactive" ("" for UNSET). */
const char *sdp_dir_name(enum sdp_dir d);
/* The RFC 3551 table 4/5 entry of a static payload type: false if pt has none. */
bool sdp_static_pt(int pt, const char **enc, uint32_t *clock, uint8_t *channels);
/* Format by payload type / by id on a media line (NULL if absent). */
const struct sdp_fmt *sdp_media_fmt(const struct sdp_media *m, int pt);

/* RFC 3264 §8: is `next` (received now) a change from `prev` (received before)?
 * True when the origin's user, sess-id or address differ (another session) or
 * the sess-version differs; false for the same version (which §8 says must be
 * the same description), so a re-INVITE repeating the SDP needs no media change. */
bool sdp_is_change(const struct sdp_session *prev, const struct sdp_session *next);

/* ---- offer/answer (sdp_oa.c) ---- */

struct sdp_codec {
    uint8_t pt;
    char name[SDP_TOKEN_MAX]; /* "PCMU" */
    uint32_t clock;           /* 8000 */
    uint8_t channels;         /* 0 or 1: mono */
};

/* Our side of the audio session. sdp_local_init sets the defaults; the origin
 * fields persist across offers and answers of one session (RFC 3264 §8). */
struct sdp_local {
    enum sdp_addrtype af;
    char addr[SDP_ADDR_MAX]; /* our RTP address, an IP literal */
    uint16_t port;           /* our audio RTP port (RTCP on port + 1) */
    unsigned ncodec;
    struct sdp_codec codec[SDP_MAX_CODECS]; /* our preference order */
    uint8_t te_pt;    /* telephone-event (RFC 4733) payload type, 0: none */
    uint32_t ptime;   /* ms */
    enum sdp_dir dir; /* SENDRECV; SENDONLY or INACTIVE to hold */
    /* origin state */
    char user[SDP_USER_MAX]; /* "-" */
    uint64_t sess_id, sess_version;
    bool sent;          /* a description was built with these */
    uint64_t sent_hash; /* hash of the last one without its sess-version */
};

/* Why an offer or answer cannot be used: for the SIP layer's 488 and its
 * Warning header (RFC 3261 §20.43: `Warning: 305 host "text"`). */
struct sdp_oa_fail {
    int status;    /* 488 */
    int warn_code; /* 304 media type not available, 305 incompatible media format,
                      301 incompatible network address formats, 300 proto */
    char text[SDP_REASON_MAX];
};

/* What was agreed for the first accepted audio stream. */
struct sdp_neg {
    bool active;            /* an audio stream was accepted */
    unsigned media_index;   /* its m= line */
    struct sk_sa rtp, rtcp; /* where the peer receives RTP and RTCP */
    struct sdp_codec codec; /* the codec, with the offerer's payload type */
    uint8_t te_pt;          /* telephone-event payload type, 0: none */
    uint32_t ptime;         /* packetization to send with, ms */
    bool send;              /* we may send RTP */
    bool recv;              /* we should expect RTP */
    bool remote_hold;       /* the peer holds us: c=0.0.0.0, or sendonly/inactive */
    enum sdp_dir local_dir, remote_dir;
};

/* Defaults: PCMU/0 and PCMA/8, telephone-event 101, ptime 20, sendrecv, user "-",
 * a random sess-id below 2^31 and sess-version equal to it (RFC 4566 §5.2 asks
 * only for a number unique per user). EINVAL if addr is no IPv4/IPv6 literal.
 * Change codec[], te_pt, ptime, dir, port, addr (keep af right) freely later:
 * the next offer or answer bumps the version if that changes what we send. */
int sdp_local_init(struct sdp_local *l, const char *addr, uint16_t port);

/* Build our offer. sess-version is bumped by one when the description differs
 * from the last one built from l (hold, resume, a new port or address), kept
 * otherwise. 0, EINVAL (bad local config) or ENOSPC. */
int sdp_offer_new(struct sdp_local *l, struct sdp_session *offer);

/* Answer an offer (RFC 3264 §6): m= lines kept in order and count, lines we cannot
 * take answered with port 0, the audio codec is the first of the offerer's that we
 * support, telephone-event if both have it, direction per §6.1, ptime echoed.
 * 0 with *answer and *neg filled; EPROTO when no line could be accepted
 * (*fail: 488 with 304 or 305); EINVAL for a bad local config. */
int sdp_answer_new(const struct sdp_session *offer, struct sdp_local *l,
                   struct sdp_session *answer, struct sdp_neg *neg,
                   struct sdp_oa_fail *fail);

/* The offerer's side: check the answer against our offer (same m= count, media
 * types, an offered codec) and fill *neg. 0, or EPROTO with *fail explaining. */
int sdp_answer_apply(const struct sdp_session *offer, const struct sdp_session *answer,
                     struct sdp_neg *neg, struct sdp_oa_fail *fail);

#endif
