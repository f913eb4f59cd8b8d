/* Two stream filters stacked on one TCP connection: WebSocket over TLS (WSS). The
 * lower one faces the socket, the upper one the framer. */
#ifndef SK_NET_FILTER_CHAIN_H
#define SK_NET_FILTER_CHAIN_H

#include "net/transport.h"

/* The filter_arg of a chained transport (borrowed for its life). */
struct sk_filter_chain_arg {
    const struct sk_stream_filter *lower, *upper;
    void *lower_arg, *upper_arg;
};

extern const struct sk_stream_filter sk_filter_chain;

#endif
