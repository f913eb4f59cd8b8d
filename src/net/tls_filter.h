/* TLS as a stream filter (net/transport.h) over a TCP connection: the sk_tls engine
 * between the socket and the SIP framer, so that TLS connections get TCP's
 * connection table, limits, idle and handshake deadlines. */
#ifndef SK_NET_TLS_FILTER_H
#define SK_NET_TLS_FILTER_H

#include "net/tls.h"
#include "net/transport.h"

/* The filter_arg of a TLS transport (borrowed contexts, alive as long as it).
 * server: for connections we accept (NULL: accepting is refused);
 * client: for connections we open (NULL: opening is refused). */
struct sk_tls_filter_arg {
    struct sk_tls_ctx *server;
    struct sk_tls_ctx *client;
};

/* Plaintext waiting for the handshake to finish, at most (then ENOBUFS). */
#define SK_TLS_FILTER_PENDING_MAX (256u * 1024u)

extern const struct sk_stream_filter sk_tls_filter;

#endif
