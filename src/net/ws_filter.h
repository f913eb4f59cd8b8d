/* WebSocket as a stream filter (net/transport.h) over a TCP connection (RFC 6455,
 * RFC 7118): the sk_ws engine between the socket and the SIP framer. A WebSocket
 * message is one SIP message (RFC 7118 §5), with or without Content-Length, so the
 * framer above gets units, not a byte stream: a 4-byte big-endian length, then the
 * message. */
#ifndef SK_NET_WS_FILTER_H
#define SK_NET_WS_FILTER_H

#include "net/transport.h"
#include "net/ws.h"

/* The filter_arg of a WebSocket transport: the engine's configuration (origins
 * allowed, frame and message limits), borrowed for the transport's life. */
struct sk_ws_filter_arg {
    struct sk_ws_config ws;
};

/* The length prefix of each unit handed up. */
#define SK_WS_UNIT_HEADER 4u

extern const struct sk_stream_filter sk_ws_filter;

#endif
