/* SIP messages (RFC 3261 §7): parsed in place, every header indexed as slices into the buffer. */
#ifndef SIP_MSG_H
#define SIP_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/arena.h"
#include "base/str.h"
#include "sip/error.h"
#include "sip/hdr.h"
#include "sip/limits.h"
#include "sip/uri.h"

enum sip_method {
    SIP_METHOD_OTHER = 0,
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_REGISTER,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_INFO,
    SIP_METHOD_PRACK,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_UPDATE,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_REFER,
    SIP_METHOD_PUBLISH,
};

/* Methods are case-sensitive (RFC 3261 §7.1). */
enum sip_method sip_method_lookup(struct sk_str name);
const char *sip_method_name(enum sip_method m);

enum sip_parse_mode {
    SIP_PARSE_DATAGRAM, /* buf holds one datagram: bytes after Content-Length are ignored */
    SIP_PARSE_STREAM,   /* buf holds the start of a stream: Content-Length is required,
                           EAGAIN until the whole message is there */
};

#define SIP_HDR_NONE UINT16_MAX

struct sip_hdr {
    struct sk_str name;  /* as written, e.g. "v" or "Via" */
    struct sk_str value; /* after ':' and LWS, trailing LWS removed; may hold folded CRLF+WS */
    uint16_t id;         /* enum sip_hdr_id */
    uint16_t next;       /* index of the next header with the same id, or SIP_HDR_NONE */
};

/* Cached result of a lazy typed accessor. */
struct sip_cache {
    void *items;
    uint32_t n;
    struct sip_error err;
};

#define SIP_MSG_ARENA_INLINE 3072

struct sip_msg {
    const char *buf; /* start of this message (after any leading CRLFs) */
    size_t len;      /* bytes of this message: start line + headers + body */
    bool is_request;

    /* Request line */
    struct sk_str method;
    enum sip_method method_id;
    struct sk_str ruri_raw;
    struct sip_uri ruri;
    /* Response status line */
    int status;
    struct sk_str reason;
    /* Both */
    struct sk_str version; /* "SIP/2.0" as written */
    unsigned version_major, version_minor;

    /* Header index, in order of appearance */
    struct sip_hdr hdr[SIP_MSG_HDR_CAP];
    uint16_t nhdr;
    uint16_t first[SIP_HDR__COUNT]; /* first header with each id, or SIP_HDR_NONE */
    uint16_t count[SIP_HDR__COUNT]; /* header lines with each id */

    struct sk_str body;

    /* Parsed eagerly (RFC 3261 §17 needs them on every message); valid when the
     * header is present, see has_*. */
    struct sip_via via; /* top Via */
    bool has_via;
    struct sip_addr from, to;
    bool has_from, has_to;
    struct sk_str call_id;
    bool has_call_id;
    struct sip_cseq cseq;
    bool has_cseq;
    int max_forwards;      /* -1 when absent */
    int64_t content_length; /* -1 when absent */

    const struct sip_limits *limits;

    /* Lazy typed accessors cache here, allocating from the arena. */
    uint8_t cache_state[SIP_HDR__COUNT]; /* 0 not parsed, 1 ok, 2 error */
    struct sip_cache cache[SIP_HDR__COUNT];
    struct sk_arena arena;
    _Alignas(16) char arena_buf[SIP_MSG_ARENA_INLINE];
};

/* Prepare a message struct for (repeated) parsing. Never fails. */
void sip_msg_init(struct sip_msg *m);
/* Free what accessors took from the heap (only for very large messages). */
void sip_msg_release(struct sip_msg *m);

/* Parse the message at the start of buf. limits may be NULL (defaults).
 * Returns 0 with *consumed = bytes used (including leading empty lines),
 * EAGAIN (stream mode: the message is not complete yet), or EBADMSG with err
 * set (status 400, 505, 513...). The message keeps pointers into buf. */
int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_parse_mode mode,
                  const struct sip_limits *limits, size_t *consumed, struct sip_error *err);

/* The checks that a transaction layer relies on (RFC 3261 §8.2, §16.3): the
 * mandatory headers present exactly once, CSeq method equal to the request
 * method, SIP/2.0, a single Content-Length consistent with the body.
 * err->pos points at the offending header. */
int sip_msg_validate(const struct sip_msg *m, struct sip_error *err);

/* ---- Header access ---- */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h);
/* Any header by name (case-insensitive, compact forms resolved). */
const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, const char *name);
/* Byte offset of a position inside the message (for error reports). */
static inline size_t sip_msg_offset(const struct sip_msg *m, const char *p)
{
    return (size_t) (p - m->buf);
}

/* ---- Typed accessors: parsed on first use, cached until the next parse ----
 * All return 0, ENOENT (header absent), EBADMSG (malformed; err set, pos is a
 * message offset) or ENOMEM. Lists gather the elements of every instance of
 * the header in order. */
int sip_msg_vias(struct sip_msg *m, const struct sip_via **v, size_t *n, struct sip_error *err);
/* Contact, Route, Record-Route, Path, P-Asserted-Identity (lists) and From, To,
 * Reply-To, Refer-To, Referred-By (single). */
int sip_msg_addrs(struct sip_msg *m, enum sip_hdr_id id, const struct sip_addr **a, size_t *n,
                  struct sip_error *err);
/* Require, Supported, Proxy-Require, Unsupported, Allow, Allow-Events,
 * Content-Encoding, Content-Language, Accept-Encoding, Accept-Language, Privacy. */
int sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id, const struct sk_str **t, size_t *n,
                   struct sip_error *err);
/* Accept (a list) and Content-Type (one). */
int sip_msg_ctypes(struct sip_msg *m, enum sip_hdr_id id, const struct sip_ctype **c,
                   size_t *n, struct sip_error *err);
/* Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate:
 * one element per header line. */
int sip_msg_auths(struct sip_msg *m, enum sip_hdr_id id, const struct sip_auth **a, size_t *n,
                  struct sip_error *err);
/* Expires, Min-Expires, Min-SE, RSeq, Max-Forwards, Content-Length: delta values. */
int sip_msg_uint(struct sip_msg *m, enum sip_hdr_id id, uint32_t *v, struct sip_error *err);
int sip_msg_rack(struct sip_msg *m, const struct sip_rack **r, struct sip_error *err);
int sip_msg_event(struct sip_msg *m, const struct sip_event **e, struct sip_error *err);
int sip_msg_substate(struct sip_msg *m, const struct sip_substate **s, struct sip_error *err);
int sip_msg_replaces(struct sip_msg *m, const struct sip_replaces **r, struct sip_error *err);
int sip_msg_session_expires(struct sip_msg *m, const struct sip_session_expires **s,
                            struct sip_error *err);
int sip_msg_retry_after(struct sip_msg *m, const struct sip_retry_after **r,
                        struct sip_error *err);
int sip_msg_timestamp(struct sip_msg *m, const struct sip_timestamp **t, struct sip_error *err);
/* Date (RFC 1123 form, GMT). Lenient: other zones are an error here only. */
int sip_msg_date(struct sip_msg *m, time_t *t, struct sip_error *err);
/* Free-text headers (User-Agent, Server, Subject, Organization, ...): the raw value. */
int sip_msg_text(const struct sip_msg *m, enum sip_hdr_id id, struct sk_str *v);


/* Run the typed accessor of every header present (what `sipkit lint` checks).
 * Fills up to max errors (message offsets) and returns how many were found. */
size_t sip_msg_check_headers(struct sip_msg *m, struct sip_error *errs, size_t max);

#endif
