/* Building SIP messages from scratch and re-serialising parsed ones. */
#ifndef SIP_PRINT_H
#define SIP_PRINT_H

#include "base/buf.h"
#include "sip/msg.h"
#include "sip/tp.h"

/* Standard reason phrase for a status code ("Unknown" for codes without one). */
const char *sip_reason_phrase(int code);

int sip_print_request_line(struct sk_buf *b, struct sk_str method, struct sk_str uri);
int sip_print_status_line(struct sk_buf *b, int code, const char *reason);
/* "Name: value\r\n" with the canonical name of a known header. */
int sip_print_hdr(struct sk_buf *b, enum sip_hdr_id id, struct sk_str value);
int sip_print_hdr_named(struct sk_buf *b, struct sk_str name, struct sk_str value);
int sip_print_hdrf(struct sk_buf *b, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "Content-Length: len" and its CRLF, without printf. */
int sip_print_content_length(struct sk_buf *b, size_t len);
/* Ends the headers: Content-Type (when ctype is set and the body is not empty),
 * Content-Length, the empty line, then the body. */
int sip_print_body(struct sk_buf *b, struct sk_str ctype, struct sk_str body);

/* Re-serialise a parsed message: canonical header names, folded lines joined,
 * single spaces in the start line, Content-Length set to the body length.
 * Parsing the output gives the same structure. */
int sip_msg_print(const struct sip_msg *m, struct sk_buf *out);

/* A response to req per RFC 3261 §8.2.6.2: Via (all), From, To (with to_tag
 * added when set and To has none), Call-ID, CSeq copied; the headers are
 * left open, so the caller adds more and ends with sip_print_body(). */
int sip_print_response_head(struct sk_buf *b, const struct sip_msg *req, int code,
                            const char *reason, struct sk_str to_tag);

/* The same, with the top Via rewritten from top_via: received= the source IP of
 * `received` when sent-by differs from it (§18.2.1), and rport= its port when the
 * request asked for it (RFC 3581). */
int sip_print_response_head_rx(struct sk_buf *b, const struct sip_msg *req,
                               const struct sip_via *top_via, const struct sk_sa *received,
                               int code, const char *reason, struct sk_str to_tag);
/* One via-parm; with received set, received/rport as above. */
int sip_print_via(struct sk_buf *b, const struct sip_via *v, const struct sk_sa *received);

#endif
