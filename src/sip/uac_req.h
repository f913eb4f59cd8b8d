/* Building the requests a user agent sends (RFC 3261 §8.1.1, §12.2.1.1): Via, From/To,
 * Route set, body. */
#ifndef SIP_UAC_REQ_H
#define SIP_UAC_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/hdr.h"
#include "sip/tp.h"
#include "sip/uri.h"

#define SIP_UAC_MAX_ROUTES 16   /* Route values one request may carry */
#define SIP_UAC_MAX_FORWARDS 70 /* §8.1.1.6 */
#define SIP_TAG_SIZE 17    /* 16 hex digits (64 random bits, §19.3 asks for 32) + NUL */
#define SIP_CALLID_SIZE 33 /* 32 hex digits (128 random bits, §8.1.1.4) + NUL */
#define SIP_BRANCH_SIZE 48 /* what sip_print_our_via writes, with room to spare */
#define SIP_CSEQ_MAX 0x7fffffffu /* §8.1.1.5: CSeq numbers stay below 2^31 */

/* Fresh identifiers, NUL-terminated (empty when size is too small). */
void sip_tag_new(char *buf, size_t size);
void sip_callid_new(char *buf, size_t size);
/* §8.1.1.5: a first CSeq number for a new call or dialog: random in 1..2^30, so
 * that at least 2^30 later requests fit below 2^31. */
uint32_t sip_cseq_initial(void);

/* What a UA adds to any request it sends, in a dialog or not. Unset slices
 * leave their header out. */
struct sip_req_common {
    enum sip_proto proto;        /* transport in our Via */
    const struct sk_sa *sent_by; /* Via sent-by: the address we listen on (required) */
    struct sk_str user_agent;    /* User-Agent value */
    struct sk_str allow;     /* Allow value, e.g. "INVITE, ACK, BYE, CANCEL, OPTIONS" */
    struct sk_str supported; /* Supported value */
    struct sk_str extra;     /* complete header lines, each ending in CRLF */
    struct sk_str ctype,
        body; /* body and its Content-Type (printed when body is not empty) */
};

/* What the printers hand back besides the bytes. */
struct sip_req_out {
    char branch[SIP_BRANCH_SIZE];  /* our Via branch (the client transaction's key) */
    char from_tag[SIP_TAG_SIZE];   /* the From tag, when a fresh one was made, else "" */
    char call_id[SIP_CALLID_SIZE]; /* the Call-ID, when a fresh one was made, else "" */
    uint32_t cseq;                 /* the CSeq number used */
    /* §8.1.2 / §12.2.1.1: where to send: the first Route's URI, else the
     * Request-URI. Slices into the inputs (sip_uac_print_request: the caller's
     * strings; sip_dlg_request: the dialog, valid until its route set changes). */
    struct sip_uri next_hop;
};

/* ---- A request outside any dialog (§8.1.1) ---- */
struct sip_uac_req {
    struct sk_str method; /* "INVITE", "OPTIONS", "REGISTER", "MESSAGE"... */
    struct sk_str ruri;   /* Request-URI */
    struct sk_str from;   /* name-addr without tag: "\"Alice\" <sip:alice@example.com>" */
    struct sk_str from_tag; /* unset: a fresh one (§8.1.1.3), returned in out->from_tag */
    struct sk_str to;       /* name-addr, normally without tag */
    struct sk_str call_id;  /* unset: a fresh one, returned in out->call_id */
    uint32_t cseq;          /* 0: sip_cseq_initial() */
    struct sk_str contact;  /* Contact value, e.g. "<sip:alice@192.0.2.1:5060>" */
    /* §8.1.1.1 pre-existing route set (an outbound proxy: "<sip:p.example.com;lr>"),
     * as Route values in order; routed per §12.2.1.1 (loose or strict). */
    const struct sk_str *routes;
    size_t nroutes;
    int max_forwards; /* 0: 70 */
    struct sip_req_common c;
};

/* Print the whole request into b (appended). Returns 0, EINVAL (missing or bad
 * method, URI, route, extra lines without CRLF, CSeq >= 2^31), E2BIG (more than
 * SIP_UAC_MAX_ROUTES routes) or ENOMEM; out is filled on 0. */
int sip_uac_print_request(struct sk_buf *b, const struct sip_uac_req *r,
                          struct sip_req_out *out);

/* ---- The printer both use (also for callers with parsed parts at hand) ----
 * Request-Line, Via, Max-Forwards, Route, From, To, Call-ID, CSeq, Contact,
 * User-Agent, Allow, Supported, extra lines, Content-Type, Content-Length, body. */
struct sip_req_parts {
    struct sk_str method;
    const struct sip_uri
        *target; /* the remote target (Request-URI when routing is loose) */
    const struct sip_addr *routes; /* the route set, in order (may be NULL) */
    size_t nroutes;
    struct sk_str from, from_tag; /* name-addr without tag, and the tag (unset: none) */
    struct sk_str to, to_tag;
    struct sk_str call_id;
    uint32_t cseq;
    struct sk_str contact; /* unset: no Contact */
    int max_forwards;      /* 0: 70 */
    const struct sip_req_common *c;
};

/* §12.2.1.1: a first route with `lr` (loose): Request-URI = target, Route = the
 * route set; without (strict): Request-URI = the first route's URI less the
 * parameters a Request-URI may not carry (method, headers; §19.1.1), Route =
 * the other routes then the target. No routes: Request-URI = target. branch
 * (>= 32 bytes) receives our Via branch, *next_hop (may be NULL) the URI to send to. */
int sip_req_print(struct sk_buf *b, const struct sip_req_parts *p, char *branch,
                  size_t branch_size, struct sip_uri *next_hop);

/* A name-addr as the dialog layer prints it: `"display" <uri>;params`, with the
 * tag parameter left out when drop_tag (and a display name holding control
 * characters left out, so the text is a clean C string). */
int sip_print_name_addr(struct sk_buf *b, const struct sip_addr *a, bool drop_tag);

#endif
