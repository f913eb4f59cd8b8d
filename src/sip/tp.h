/* The transport interface (RFC 3261 §18): protocols, addresses, destinations, the sender, received messages. */
#ifndef SIP_TP_H
#define SIP_TP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "net/addr.h"

enum sip_proto {
    SIP_PROTO_UDP,
    SIP_PROTO_TCP,
    SIP_PROTO_TLS, /* TLS over TCP (RFC 3261 §26.2, RFC 5630) */
    SIP_PROTO_WS,  /* WebSocket over TCP (RFC 7118): accepted, never connected */
    SIP_PROTO_WSS, /* WebSocket over TLS */
};
#define SIP_NPROTO (SIP_PROTO_WSS + 1)

static inline bool sip_proto_is_ws(enum sip_proto p)
{
    return p == SIP_PROTO_WS || p == SIP_PROTO_WSS;
}

static inline bool sip_proto_reliable(enum sip_proto p)
{
    return p != SIP_PROTO_UDP;
}

const char *sip_proto_name(enum sip_proto p); /* "UDP", "TCP", "TLS", "WS", "WSS" */
/* The port a transport uses when none is given (§19.1.2, §18.2.2): 5061 for TLS,
 * 80 and 443 for WebSocket (RFC 7118 §5). */
static inline uint16_t sip_proto_default_port(enum sip_proto p)
{
    return p == SIP_PROTO_TLS ? 5061 : p == SIP_PROTO_WS ? 80 : p == SIP_PROTO_WSS ? 443 : 5060;
}
/* A transport as a URI ("transport=tcp", §19.1.1), a Via ("SIP/2.0/TCP", §20.42)
 * or a stored binding names it, case-insensitively. 0, or EPROTONOSUPPORT for a
 * transport sipkit does not speak (SCTP, WSS...) or an empty name: callers
 * report it, never fall back to UDP. */
int sip_proto_from_str(struct sk_str name, enum sip_proto *p);

struct sk_conn; /* a stream connection (net/transport.h), reference counted by its transport */

/* Where a message goes: a protocol and an address, plus a connection to reuse
 * when the transport has one (responses on stream transports). */
#define SIP_DEST_NAME_MAX 96
struct sip_dest {
    enum sip_proto proto;
    struct sk_sa addr;
    struct sk_conn *conn; /* borrowed reference or NULL */
    /* TLS: the name a new connection's certificate must carry (RFC 5922 §7.3:
     * the domain of the URI, not the SRV target; or the IP literal); "" = the
     * address's IP */
    char name[SIP_DEST_NAME_MAX];
};

/* The sending side of the transports, as the transaction layer sees it.
 * send returns 0 or an errno (ECONNREFUSED, ENETUNREACH...), which the
 * transaction reports to its user as a transport error. */
struct sip_sender {
    int (*send)(void *arg, const struct sip_dest *dst, const char *buf, size_t len);
    void (*conn_ref)(void *arg, struct sk_conn *c);
    void (*conn_unref)(void *arg, struct sk_conn *c);
    void *arg;
};

struct sip_msg;
struct sk_loop;

/* A received message, as the transport hands it up (to the transaction layer
 * through the handler given to sip_tpm_new). */
struct sip_rx {
    struct sip_msg *msg;
    struct sk_loop *loop;   /* the worker it arrived on */
    enum sip_proto proto;
    struct sk_sa src;       /* where it came from */
    struct sk_sa local;     /* the address it arrived on */
    struct sk_conn *conn;  /* stream connection (borrowed), NULL for UDP */
};

/* RFC 3261 §18.2.2 / RFC 3581: where responses to this request go. */
int sip_response_dest(const struct sip_rx *rx, struct sip_dest *d);

/* RFC 3261 §8.1.1.7: "z9hG4bK" + 96 bits of randomness, hex; buf >= 32 bytes. */
void sip_branch_new(char *buf, size_t size);
/* prefix, a in 16 hex digits, the low b_digits hex digits of b, NUL (the empty
 * string when size is too small): the text of a branch parameter, no printf. */
void sip_branch_print(char *buf, size_t size, const char *prefix, uint64_t a, uint64_t b,
                      unsigned b_digits);

#endif
