/* The transport function table: UDP and TCP today, TLS and WebSocket as layers over TCP
 * later. sip/transport (the manager) calls it and never asks which transport it is on. */
#ifndef SK_NET_TRANSPORT_H
#define SK_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/addr.h"
#include "net/loop.h"

struct sk_tp;
struct sk_tp_ops;

/* A stream connection. Every transport's connection starts with this header, so
 * the layers above can reach its transport (ref/unref, send) and addresses
 * without knowing which one it is. Reference counted by its transport. */
struct sk_conn {
    const struct sk_tp_ops *ops;
    struct sk_tp *tp;
    struct sk_sa peer, local;
    bool closed; /* set on the owner's loop when the connection closes */
};

/* What a transport hands up, always on the loop thread of the worker (index
 * into the loops given to the constructor) it arrived on. */
struct sk_tp_upcall {
    /* One datagram from src, received on the socket bound to local. */
    void (*datagram)(void *arg, unsigned worker, struct sk_loop *loop, const char *buf,
                     size_t len, const struct sk_sa *src, const struct sk_sa *local);
    /* The bytes received on c and not consumed yet (after the connection's byte
     * filter, if it has one). Returns how many it consumed (whole messages,
     * keep-alives); the rest comes again with more. Sets *close when the stream
     * can no longer be framed: c closes once its queued output is written. */
    size_t (*stream)(void *arg, unsigned worker, struct sk_loop *loop, struct sk_conn *c,
                     const char *buf, size_t len, bool *close);
    void *arg;
};

/* Counters a transport keeps itself (the manager counts messages). */
struct sk_tp_stats {
    uint64_t accepted, refused, closed_idle, closed_overflow;
    uint64_t closed_handshake; /* a filter's handshake not done within handshake_ms */
    uint64_t
        send_errors; /* sends that failed after send() had returned (batched datagrams) */
};

/* send flags */
#define SK_TP_DEFER                                                                      \
    1u /* may wait for the end of the current receive batch (a response) */

struct sk_tp_ops {
    const char *name;
    /* Bind on every worker (one SO_REUSEPORT socket each). Port 0 picks a free
     * port, shared by all workers; the bound address is written back. */
    int (*listen)(struct sk_tp *tp, struct sk_sa *addr);
    /* From any thread. A stream transport uses conn when it is open, else an
     * open connection to dst, else connects. name: what a new connection's
     * filter checks the peer against (TLS: the target domain, RFC 5922 §7.3),
     * or NULL. 0 or an errno. */
    int (*send)(struct sk_tp *tp, struct sk_conn *conn, const struct sk_sa *dst,
                const char *name, const char *buf, size_t len, unsigned flags);
    void (*conn_ref)(struct sk_conn *c);
    void (*conn_unref)(struct sk_conn *c);
    /* Stop listening, close every connection and free; with the loops stopped. */
    void (*close)(struct sk_tp *tp);
    void (*stats)(struct sk_tp *tp, struct sk_tp_stats *out);
    size_t (*conn_count)(struct sk_tp *tp);
};

/* Every transport's handle starts with this. */
struct sk_tp {
    const struct sk_tp_ops *ops;
};

static inline void sk_conn_ref(struct sk_conn *c)
{
    c->ops->conn_ref(c);
}

static inline void sk_conn_unref(struct sk_conn *c)
{
    if (c) c->ops->conn_unref(c);
}

/* The stream filter hook: a byte filter between a connection's socket and the
 * framer above it. TLS (records <-> plaintext) and WebSocket (frames <->
 * messages) are filters over a TCP connection, so framing, limits, idle
 * timeouts and the connection table stay net/tcp.c's. Each callback returns 0
 * or an errno, which closes the connection. */
struct sk_stream_filter {
    const char *name;
    /* A connection opened (server: accepted, else we connected). arg is the
     * transport's filter_arg (the filter's configuration: a TLS context); *state
     * is the filter's own; bytes it must send first (a ClientHello) go to wire.
     * peer_name: the name given to send for a connection we open, else NULL. */
    int (*open)(void **state, void *arg, struct sk_conn *c, bool server,
                const char *peer_name, struct sk_buf *wire);
    /* Bytes read from the socket: what the framer should see is appended to
     * plain, what the filter answers by itself (handshake, ping) to wire.
     * EPIPE: the filter is done (its last words are in wire): the connection
     * closes once they are written. */
    int (*input)(void *state, const char *in, size_t len, struct sk_buf *plain,
                 struct sk_buf *wire);
    /* Bytes the layers above send: their wire form is appended to wire. */
    int (*output)(void *state, const char *in, size_t len, struct sk_buf *wire);
    void (*close)(void *state);
    /* NULL, or whether the filter's handshake is done. Until it is, the
     * connection has handshake_ms from its opening to finish it, however slowly
     * it trickles bytes (slow-loris); then the idle timeout applies. */
    bool (*ready)(void *state);
};

/* UDP (net/udp.c): recvmmsg batches, responses of a batch in one sendmmsg. */
#define SK_UDP_BATCH_MAX 16u
struct sk_udp_config {
    size_t rcvbuf;   /* SO_RCVBUF */
    unsigned batch;  /* datagrams per recvmmsg (1..SK_UDP_BATCH_MAX) */
    bool send_batch; /* SK_TP_DEFER sends of a batch leave in one sendmmsg */
    bool direct;     /* a worker with only its UDP socket waits in recvmmsg */
};
int sk_udp_new(struct sk_tp **tp, const struct sk_udp_config *cfg, struct sk_loop **loops,
               unsigned nloops, const struct sk_tp_upcall *up);

/* TCP (net/tcp.c): accept/connect, a connection table with limits, idle timeouts. */
struct sk_tcp_config {
    size_t max_conns;                      /* all connections */
    size_t max_conns_per_ip;               /* accepted from one source address */
    size_t max_buffered;                   /* bytes buffered per connection, in or out */
    uint32_t idle_ms;                      /* close a connection idle this long */
    const struct sk_stream_filter *filter; /* NULL: bytes go to the framer as read */
    void *filter_arg;                      /* given to filter->open */
    uint32_t handshake_ms; /* a filter with ready(): close a connection not ready by then;
                              0: off */
};
int sk_tcp_new(struct sk_tp **tp, const struct sk_tcp_config *cfg, struct sk_loop **loops,
               unsigned nloops, const struct sk_tp_upcall *up);

#endif
