/* SIP transports (RFC 3261 §18), the manager: listeners, a transport per protocol (net/udp, net/tcp), SIP framing, handing messages up. */
#ifndef SIP_TRANSPORT_H
#define SIP_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/loop.h"
#include "sip/error.h"
#include "sip/limits.h"
#include "sip/tp.h"

struct sk_tls_ctx;

struct sip_tpm_config {
    size_t udp_rcvbuf;            /* SO_RCVBUF for UDP sockets, 4 MiB */
    unsigned udp_batch;           /* datagrams per recvmmsg call (1..16), 16 */
    bool udp_send_batch;          /* responses to a recvmmsg batch leave in one sendmmsg, on */
    bool udp_direct;              /* a worker with only its UDP socket waits in recvmmsg, on */
    size_t tcp_max_conns;         /* all TCP connections, 4096 */
    size_t tcp_max_conns_per_ip;  /* from one source address, 256 */
    size_t tcp_max_buffered;      /* bytes buffered per connection (in or out), 256 KiB */
    uint32_t tcp_idle_ms;         /* close a connection idle this long, 5 min */
    struct sip_limits limits;
    /* TLS (net/tls_filter over TCP): a transport exists when either context is
     * given (borrowed; they must outlive the manager). server: for tls:
     * listeners; client: for connections to TLS next hops. */
    struct sk_tls_ctx *tls_server;
    struct sk_tls_ctx *tls_client;
    uint32_t tls_handshake_ms; /* a handshake not done by then is closed (slow-loris), 10 s */
    /* WebSocket (net/ws_filter over TCP, ws: listeners): Origin values allowed
     * (NULL-terminated, borrowed; NULL = any), the largest message, 64 KiB */
    const char *const *ws_origins;
    size_t ws_max_message;
};

extern const struct sip_tpm_config sip_tpm_config_default;

struct sip_listen {
    enum sip_proto proto;
    struct sk_sa addr;
};

/* "udp:127.0.0.1:5060", "tcp:[::1]:5070", "tls:127.0.0.1" (port 5061), "127.0.0.1"
 * (udp, port 5060). */
int sip_listen_parse(const char *spec, struct sip_listen *l);

/* What arrives from the network, after framing and parsing. */
struct sip_tpm_handler {
    /* A message that parsed: hand it to the transaction layer. */
    void (*message)(void *arg, struct sip_rx *rx);
    /* A message that did not parse: rx->msg holds what could be indexed (the
     * start line and headers up to the fault), err says why. The handler may
     * answer a request with err->status; a bad response is dropped. */
    void (*malformed)(void *arg, struct sip_rx *rx, const struct sip_error *err);
    void *arg;
    /* Optional, for datagrams: called before the parse with the source and the
     * bytes (from the start line on); false drops the datagram unparsed, so a
     * flood from a blocked or over-budget source costs no parse. */
    bool (*screen)(void *arg, const struct sk_sa *src, const char *buf, size_t len);
};

struct sip_tpm_stats {
    uint64_t udp_rx, tcp_rx, malformed, tcp_accepted, tcp_refused, tcp_closed_garbage,
        tcp_closed_idle, tcp_closed_overflow, keepalive_pongs, send_errors;
    /* TLS connections (tcp_* count TCP only; tcp_rx counts messages on both) */
    uint64_t tls_accepted, tls_refused, tls_closed_idle, tls_closed_handshake;
};

struct sip_tpm;

/* loops: one per worker; their threads are the caller's. */
int sip_tpm_new(struct sip_tpm **tp, const struct sip_tpm_config *cfg, struct sk_loop **loops,
                unsigned nloops, const struct sip_tpm_handler *h);
/* Binds on every worker (UDP: one SO_REUSEPORT socket per worker; TCP: one
 * listening socket per worker, also SO_REUSEPORT). Port 0 picks a free port,
 * shared by all workers; the bound address is written back to l. */
int sip_tpm_listen(struct sip_tpm *t, struct sip_listen *l);
/* Stops listening and closes every connection; call with the loops stopped. */
void sip_tpm_free(struct sip_tpm *t);

/* Send from any worker thread. Stream destinations reuse dst->conn when it is
 * alive, else an open connection to dst->addr, else connect. */
int sip_tpm_send(struct sip_tpm *t, const struct sip_dest *dst, const char *buf, size_t len);
struct sip_sender sip_tpm_sender(struct sip_tpm *t);
/* A response to rx's request sent without a transaction: where §18.2.2 and
 * RFC 3581 say (sip_response_dest), or back to the source when the request
 * has no usable Via (it is what was malformed). */
int sip_tpm_send_response(struct sip_tpm *t, const struct sip_rx *rx, const char *buf, size_t len);
void sip_tpm_stats(struct sip_tpm *t, struct sip_tpm_stats *out);
/* The address we listen on for a protocol and family (for Via sent-by), or NULL. */
const struct sip_listen *sip_tpm_local(struct sip_tpm *t, enum sip_proto proto, int family);
/* Whether TLS can be sent (a client context exists). */
bool sip_tpm_has_tls(const struct sip_tpm *t);
/* Number of open TCP and TLS connections. */
size_t sip_tpm_conn_count(struct sip_tpm *t);

/* RFC 3261 §18.1.1: a request within 200 bytes of the path MTU (1500 assumed)
 * goes over a congestion-controlled transport: UDP becomes TCP. */
#define SIP_UDP_MTU 1500u
enum sip_proto sip_tp_select(enum sip_proto wanted, size_t request_len);

/* Our Via for a request (§18.1.1, RFC 3581): "SIP/2.0/<proto> <sent-by>;branch=<branch>;rport".
 * Writes the branch it generates into branch (>= 32 bytes). */
int sip_print_our_via(struct sk_buf *b, enum sip_proto proto, const struct sk_sa *sent_by,
                      char *branch, size_t branch_size);

#endif
