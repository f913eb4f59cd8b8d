/* WebSocket for SIP (RFC 6455, RFC 7118) as a pure filter: bytes in, events out. */
#ifndef SK_NET_WS_H
#define SK_NET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* ---- frames (RFC 6455 §5), pure functions ---- */

enum sk_ws_opcode {
    SK_WS_OP_CONT = 0x0,
    SK_WS_OP_TEXT = 0x1,
    SK_WS_OP_BINARY = 0x2,
    SK_WS_OP_CLOSE = 0x8,
    SK_WS_OP_PING = 0x9,
    SK_WS_OP_PONG = 0xa,
};

/* The longest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define SK_WS_MAX_HEADER 14
/* §5.5: a control frame carries at most 125 bytes; a close reason 123. */
#define SK_WS_MAX_CONTROL 125

struct sk_ws_frame {
    bool fin, masked;
    uint8_t opcode;
    uint8_t mask[4];
    size_t hdr_len;       /* bytes of header, payload follows */
    uint64_t payload_len; /* < 2^63 */
};

/* Decode the frame header at p (§5.2). Returns 0 with f filled, EAGAIN (need
 * more bytes: never with SK_WS_MAX_HEADER bytes or more), or EBADMSG with *why:
 * reserved bits set, a reserved opcode, a 64-bit length with its top bit set, a
 * control frame longer than 125 bytes or fragmented. Says nothing about masking
 * or message order: those depend on who reads (an endpoint, or `sipkit flow`). */
int sk_ws_frame_parse(const uint8_t *p, size_t len, struct sk_ws_frame *f,
                      const char **why);

/* Write a frame header (the shortest length form, §5.2) to out; mask NULL
 * means unmasked. Returns the header length (2..14). */
size_t sk_ws_frame_header_write(uint8_t out[SK_WS_MAX_HEADER], bool fin, uint8_t opcode,
                                const uint8_t *mask, uint64_t payload_len);

/* XOR p[0..len) with the masking key, p[0] being byte `offset` of the payload (§5.3). */
void sk_ws_mask(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t offset);

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF). */
bool sk_ws_utf8_valid(const uint8_t *p, size_t len);

/* A close status a peer may send (§7.4: 1000-1003, 1007-1014, 3000-4999). */
bool sk_ws_close_code_valid(unsigned code);

/* Sec-WebSocket-Accept for a key (§4.2.2: base64 of the SHA-1 of the key and
 * the protocol's GUID): 28 characters and a NUL in out. 0 or EIO (OpenSSL). */
int sk_ws_accept_value(const char *key, size_t key_len, char out[29]);

/* ---- close status codes (§7.4.1) ---- */

enum {
    SK_WS_CLOSE_NORMAL = 1000,
    SK_WS_CLOSE_GOING_AWAY = 1001,
    SK_WS_CLOSE_PROTOCOL = 1002,
    SK_WS_CLOSE_UNSUPPORTED = 1003,
    SK_WS_CLOSE_NO_STATUS = 1005, /* never sent: the peer's close had no code */
    SK_WS_CLOSE_INVALID_DATA = 1007,
    SK_WS_CLOSE_POLICY = 1008,
    SK_WS_CLOSE_TOO_BIG = 1009,
    SK_WS_CLOSE_INTERNAL = 1011,
};

/* ---- a connection: handshake, then messages ---- */

enum sk_ws_role {
    SK_WS_SERVER, /* reads the Upgrade request, answers 101; client frames must be masked
                   */
    SK_WS_CLIENT, /* sends the Upgrade request, checks the 101; masks its frames */
};

enum sk_ws_state {
    SK_WS_HANDSHAKE, /* before the 101 */
    SK_WS_OPEN,
    SK_WS_CLOSING, /* we sent a close and wait for the peer's */
    SK_WS_CLOSED,  /* flush the output, then close the TCP connection */
};

/* Zero fields take the defaults in brackets. */
struct sk_ws_config {
    size_t max_handshake; /* bytes of the request or response head [8192] */
    unsigned max_headers; /* header lines in it [64] */
    size_t max_frame;     /* payload bytes in one data frame [65536] */
    size_t max_message;   /* bytes in one (reassembled) message [65536] */
    /* Server: NULL-terminated list of allowed Origin values (exact, case-insensitive);
     * NULL accepts any Origin or none (SIP phones outside a browser send none).
     * Borrowed: the list and its strings must outlive the connection. */
    const char *const *origins;
    /* Client: the request's Host, target [/] and Origin (NULL: none sent). */
    const char *host, *path, *origin;
    /* Client: the Sec-WebSocket-Key to send (24 base64 characters); NULL, the
     * normal case, draws 16 random bytes. Only tests and the fuzz target set it. */
    const char *key;
};

struct sk_ws;

/* A connection in SK_WS_HANDSHAKE. A client's Upgrade request is at once in the
 * output. 0, EINVAL (a client without host, a value with control characters, a
 * bad key) or ENOMEM. */
int sk_ws_new(struct sk_ws **wp, enum sk_ws_role role, const struct sk_ws_config *cfg);
void sk_ws_free(struct sk_ws *w);

enum sk_ws_event_kind {
    SK_WS_EV_NONE,    /* all the input was consumed, nothing to report */
    SK_WS_EV_OPEN,    /* handshake done (a server has put its 101 in the output) */
    SK_WS_EV_MESSAGE, /* one complete message: one SIP message (RFC 7118 §5) */
    SK_WS_EV_CLOSED,  /* the connection is over: flush the output, then close */
};

struct sk_ws_event {
    enum sk_ws_event_kind kind;
    bool text; /* MESSAGE: a text message (valid UTF-8), else binary */
    /* MESSAGE: the payload; CLOSED by the peer: its close reason. Valid until
     * the next sk_ws_input or sk_ws_free. */
    const uint8_t *data;
    size_t len;
    /* CLOSED: the close status (received, or sent when we failed the connection;
     * 1005 for a close without one; 0 when the handshake failed). */
    unsigned code;
    /* CLOSED during the handshake: the HTTP status sent (server) or received (client). */
    int http_status;
    const char *why; /* CLOSED: what happened, a static string */
};

/* Feed bytes read from the connection. Returns how many were consumed: at most
 * up to and including the one that completed the event in *ev; call again with
 * the rest. Any split of the bytes gives the same events. Once CLOSED, input is
 * consumed and ignored. Then send what sk_ws_output holds. */
size_t sk_ws_input(struct sk_ws *w, const uint8_t *p, size_t len, struct sk_ws_event *ev);

/* The bytes waiting to be written (NULL and 0 when none), and how many were
 * written (they leave the buffer). */
const uint8_t *sk_ws_output(const struct sk_ws *w, size_t *len);
void sk_ws_output_done(struct sk_ws *w, size_t n);

/* Queue one message as one frame (masked by a client). 0, ENOTCONN (handshake
 * not done), EPIPE (closing or closed), EIO (no random bytes), ENOMEM. */
int sk_ws_send(struct sk_ws *w, bool text, const void *p, size_t len);
/* Queue a ping (at most 125 bytes, else EINVAL); the peer's pong is ignored. */
int sk_ws_ping(struct sk_ws *w, const void *p, size_t len);
/* Start the close handshake (§7.1.2): queue a close frame with code (a valid
 * code, else EINVAL) and a reason (cut to 123 bytes; may be NULL); state CLOSING
 * until the peer's close arrives (SK_WS_EV_CLOSED). During the handshake a
 * server or client just stops (CLOSED). */
int sk_ws_close(struct sk_ws *w, unsigned code, const char *reason);

enum sk_ws_state sk_ws_state(const struct sk_ws *w);

/* Server, once open: the request's target, Host and Origin (unset when absent),
 * slices valid until sk_ws_free. */
struct sk_str sk_ws_request_path(const struct sk_ws *w);
struct sk_str sk_ws_request_host(const struct sk_ws *w);
struct sk_str sk_ws_request_origin(const struct sk_ws *w);

#endif
