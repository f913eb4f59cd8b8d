/* The transport manager (RFC 3261 §18): listeners, a transport by protocol, SIP framing of what they
 * receive, handing messages up. The transports themselves are net/udp.c and net/tcp.c. */
#include "sip/transport.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "net/filter_chain.h"
#include "net/tls_filter.h"
#include "net/ws_filter.h"
#include "net/transport.h"
#include "sip/msg.h"

_Static_assert(SIP_UDP_BATCH_MAX == SK_UDP_BATCH_MAX, "one batch limit");

const struct sip_tpm_config sip_tpm_config_default = {
    .udp_rcvbuf = 4u << 20,
    .udp_batch = SIP_UDP_BATCH_MAX,
    .udp_send_batch = true,
    .udp_direct = true,
    .tcp_max_conns = SIP_DEFAULT_TCP_MAX_CONNS,
    .tcp_max_conns_per_ip = SIP_DEFAULT_TCP_MAX_CONNS_PER_IP,
    .tcp_max_buffered = 256u << 10,
    .tcp_idle_ms = SIP_DEFAULT_TCP_IDLE_S * 1000u,
    .limits = SIP_LIMITS_DEFAULT_INIT,
    .tls_handshake_ms = 10000,
    .ws_max_message = 65536,
};

#define MAX_LISTENERS 16
#define NPROTO SIP_NPROTO

/* The upcall argument of one transport: which protocol it speaks. */
struct tp_slot {
    struct sip_tpm *tpm;
    enum sip_proto proto;
    struct sk_tp *tp;
};

struct sip_tpm {
    struct sip_tpm_config cfg;
    struct sip_tpm_handler h;
    struct sip_msg **msg; /* one per worker, reused for every message it parses */
    unsigned nw;
    struct tp_slot tp[NPROTO]; /* indexed by enum sip_proto */
    struct sip_listen lst[MAX_LISTENERS];
    unsigned nlst;
    struct sk_tls_filter_arg tls_arg; /* the TLS transport's filter_arg */
    struct sk_ws_filter_arg ws_arg;   /* the WebSocket transport's */
    struct sk_filter_chain_arg wss_arg; /* WebSocket over TLS */
    struct {
        atomic_uint_fast64_t udp_rx, tcp_rx, malformed, garbage, pongs, send_errors;
    } st;
};

static struct sk_tp *tp_of(struct sip_tpm *t, enum sip_proto p)
{
    return (unsigned) p < NPROTO ? t->tp[p].tp : NULL;
}

/* ---- Addresses and listen specs ---- */

int sip_listen_parse(const char *spec, struct sip_listen *l)
{
    const char *p = spec, *colon;
    char host[64];
    unsigned long port;
    size_t hlen;

    static const char *const transports[] = {"udp", "tcp", "tls", "sctp", "ws", "wss"};

    memset(l, 0, sizeof(*l));
    l->proto = SIP_PROTO_UDP;
    /* "PROTO:" first, by the one name mapping; a transport we do not speak yet is
     * refused, not read as a host name */
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        size_t n = strlen(transports[i]);
        if (strncasecmp(p, transports[i], n) == 0 && p[n] == ':') {
            if (sip_proto_from_str((struct sk_str){p, n}, &l->proto))
                return EPROTONOSUPPORT;
            p += n + 1;
            break;
        }
    }
    port = sip_proto_default_port(l->proto);
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close)
            return EINVAL;
        hlen = (size_t) (close - p - 1);
        if (hlen >= sizeof(host))
            return EINVAL;
        memcpy(host, p + 1, hlen);
        host[hlen] = '\0';
        colon = close[1] == ':' ? close + 1 : NULL;
        if (!colon && close[1] != '\0')
            return EINVAL;
    } else {
        colon = strrchr(p, ':');
        hlen = colon ? (size_t) (colon - p) : strlen(p);
        if (hlen >= sizeof(host))
            return EINVAL;
        memcpy(host, p, hlen);
        host[hlen] = '\0';
    }
    if (colon) {
        char *end;
        port = strtoul(colon + 1, &end, 10);
        if (*end != '\0' || colon[1] == '\0' || port > 65535)
            return EINVAL;
    }
    return sk_sa_from_ip(&l->addr, sk_str_cstr(host), (uint16_t) port);
}

/* ---- Receiving ---- */

static void deliver(struct sip_tpm *t, struct sip_rx *rx, int rc, const struct sip_error *e)
{
    struct sip_error verr;

    if (rc == 0 && sip_msg_validate(rx->msg, &verr) != 0) {
        rc = EBADMSG;
        e = &verr;
    }
    if (rc == 0) {
        t->h.message(t->h.arg, rx);
    } else {
        atomic_fetch_add(&t->st.malformed, 1);
        if (t->h.malformed)
            t->h.malformed(t->h.arg, rx, e);
    }
}

static void on_datagram(void *arg, unsigned worker, struct sk_loop *loop, const char *buf,
                        size_t len, const struct sk_sa *src, const struct sk_sa *local)
{
    struct tp_slot *s = arg;
    struct sip_tpm *t = s->tpm;
    struct sip_msg *m = t->msg[worker];
    size_t k = 0, used;
    struct sip_rx rx;
    struct sip_error e;
    int rc;

    /* a datagram of only CRLFs is a keep-alive (RFC 5626 §3.5.1 style) */
    while (k < len && (buf[k] == '\r' || buf[k] == '\n'))
        k++;
    if (k == len)
        return;
    atomic_fetch_add(&t->st.udp_rx, 1);
    if (t->h.screen && !t->h.screen(t->h.arg, src, buf + k, len - k))
        return;
    rc = sip_msg_parse(m, buf, len, SIP_PARSE_DATAGRAM, &t->cfg.limits, &used, &e);
    memset(&rx, 0, sizeof(rx));
    rx.msg = m;
    rx.loop = loop;
    rx.proto = s->proto;
    rx.src = *src;
    rx.local = *local;
    deliver(t, &rx, rc, &e);
    sip_msg_release(m);
}

/* A message parsed from stream c (TCP, TLS, WebSocket) handed up, then released. */
static void deliver_stream(struct tp_slot *s, struct sk_loop *loop, struct sk_conn *c,
                           struct sip_msg *m, int rc, const struct sip_error *e)
{
    struct sip_rx rx;

    memset(&rx, 0, sizeof(rx));
    rx.msg = m;
    rx.loop = loop;
    rx.proto = s->proto;
    rx.src = c->peer;
    rx.local = c->local;
    rx.conn = c;
    atomic_fetch_add(&s->tpm->st.tcp_rx, 1);
    deliver(s->tpm, &rx, rc, e);
    sip_msg_release(m);
}

/* RFC 5626 §4.4.1: a CRLFCRLF ping between messages is answered with a CRLF pong;
 * a lone CRLF (a pong) is consumed. Returns the bytes of keep-alive at the start. */
static size_t stream_keepalive(struct tp_slot *s, struct sk_conn *c, const char *p, size_t len)
{
    size_t i = 0;

    while (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n') {
        if (i + 3 < len && p[i + 2] == '\r' && p[i + 3] == '\n') {
            atomic_fetch_add(&s->tpm->st.pongs, 1);
            s->tp->ops->send(s->tp, c, &c->peer, NULL, "\r\n", 2, 0);
            i += 4;
        } else {
            /* a pong, or the first half of a ping still arriving */
            if (i + 2 == len)
                break;
            i += 2;
        }
    }
    return i;
}

/* The SIP framer over a stream (TCP, and TLS/WebSocket once their filters exist):
 * keep-alives, then whole messages by the parser's stream mode. */
static size_t on_stream(void *arg, unsigned worker, struct sk_loop *loop, struct sk_conn *c,
                        const char *buf, size_t len, bool *close)
{
    struct tp_slot *s = arg;
    struct sip_tpm *t = s->tpm;
    struct sip_msg *m = t->msg[worker];
    size_t off = 0;

    for (;;) {
        struct sip_error e;
        size_t used = 0;
        int rc;

        if (c->closed)
            return off;
        off += stream_keepalive(s, c, buf + off, len - off);
        if (off >= len)
            break;
        rc = sip_msg_parse(m, buf + off, len - off, SIP_PARSE_STREAM, &t->cfg.limits, &used, &e);
        if (rc == EAGAIN)
            break;
        deliver_stream(s, loop, c, m, rc, &e);
        if (rc != 0) {
            /* framing is lost: the rest of the stream cannot be trusted */
            atomic_fetch_add(&t->st.garbage, 1);
            *close = true;
            return len;
        }
        off += used;
    }
    return off;
}

/* The SIP framer over WebSocket: units of a 4-byte length and one message each
 * (net/ws_filter.h); a message is whole by itself (RFC 7118 §5), so it is parsed
 * as a datagram: no Content-Length needed, a bad one never loses the framing. */
static size_t on_ws_stream(void *arg, unsigned worker, struct sk_loop *loop, struct sk_conn *c,
                           const char *buf, size_t len, bool *close)
{
    struct tp_slot *s = arg;
    struct sip_tpm *t = s->tpm;
    struct sip_msg *m = t->msg[worker];
    size_t off = 0;

    (void) close;
    while (len - off >= SK_WS_UNIT_HEADER && !c->closed) {
        const uint8_t *h = (const uint8_t *) buf + off;
        size_t n = (size_t) h[0] << 24 | (size_t) h[1] << 16 | (size_t) h[2] << 8 | h[3];
        struct sip_error e;
        size_t used;
        int rc;

        if (len - off - SK_WS_UNIT_HEADER < n)
            break;
        off += SK_WS_UNIT_HEADER;
        rc = sip_msg_parse(m, buf + off, n, SIP_PARSE_DATAGRAM, &t->cfg.limits, &used, &e);
        deliver_stream(s, loop, c, m, rc, &e);
        off += n;
    }
    return off;
}

/* ---- Listening and sending ---- */

int sip_tpm_listen(struct sip_tpm *t, struct sip_listen *l)
{
    struct sk_tp *tp = tp_of(t, l->proto);
    int err;

    /* a TLS listener without a server context (a phone without a certificate)
     * binds, for its address, and refuses what connects to it */
    if (!tp)
        return EPROTONOSUPPORT;
    if (t->nlst == MAX_LISTENERS)
        return ENOSPC;
    if ((err = tp->ops->listen(tp, &l->addr)))
        return err;
    t->lst[t->nlst++] = *l;
    return 0;
}

const struct sip_listen *sip_tpm_local(struct sip_tpm *t, enum sip_proto proto, int family)
{
    for (unsigned i = 0; i < t->nlst; i++) {
        if (t->lst[i].proto == proto && t->lst[i].addr.u.sa.sa_family == family)
            return &t->lst[i];
    }
    return NULL;
}

int sip_tpm_send_response(struct sip_tpm *t, const struct sip_rx *rx, const char *buf, size_t len)
{
    struct sip_dest d;
    int err = 0;

    if (rx->msg->has_via) {
        err = sip_response_dest(rx, &d);
    } else {
        memset(&d, 0, sizeof(d));
        d.proto = rx->proto;
        d.addr = rx->src;
        d.conn = rx->conn;
    }
    return err ? err : sip_tpm_send(t, &d, buf, len);
}

int sip_tpm_send(struct sip_tpm *t, const struct sip_dest *d, const char *buf, size_t len)
{
    struct sk_tp *tp = tp_of(t, d->proto);
    /* a response may wait for the end of the receive batch; a request goes at
     * once, so that its send error reaches its transaction */
    unsigned flags = len >= 8 && memcmp(buf, "SIP/2.0 ", 8) == 0 ? SK_TP_DEFER : 0;
    int err = tp ? tp->ops->send(tp, d->conn, &d->addr, d->name, buf, len, flags)
                 : EPROTONOSUPPORT;

    if (err)
        atomic_fetch_add(&t->st.send_errors, 1);
    return err;
}

static int sender_send(void *arg, const struct sip_dest *d, const char *buf, size_t len)
{
    return sip_tpm_send(arg, d, buf, len);
}

static void sender_ref(void *arg, struct sk_conn *c)
{
    (void) arg;
    sk_conn_ref(c);
}

static void sender_unref(void *arg, struct sk_conn *c)
{
    (void) arg;
    sk_conn_unref(c);
}

struct sip_sender sip_tpm_sender(struct sip_tpm *t)
{
    struct sip_sender s = {sender_send, sender_ref, sender_unref, t};
    return s;
}

/* ---- Lifetime ---- */

int sip_tpm_new(struct sip_tpm **tp, const struct sip_tpm_config *cfg, struct sk_loop **loops,
                unsigned nloops, const struct sip_tpm_handler *h)
{
    struct sip_tpm *t = calloc(1, sizeof(*t));
    struct sk_udp_config ucfg;
    struct sk_tcp_config tcfg;
    struct sk_tp_upcall up = {on_datagram, on_stream, NULL};

    if (!t || nloops == 0)
        goto fail;
    t->cfg = cfg ? *cfg : sip_tpm_config_default;
    t->h = *h;
    t->nw = nloops;
    t->msg = calloc(nloops, sizeof(*t->msg));
    if (!t->msg)
        goto fail;
    for (unsigned i = 0; i < nloops; i++) {
        t->msg[i] = malloc(sizeof(*t->msg[i]));
        if (!t->msg[i])
            goto fail;
        sip_msg_init(t->msg[i]);
    }
    ucfg = (struct sk_udp_config){t->cfg.udp_rcvbuf, t->cfg.udp_batch, t->cfg.udp_send_batch,
                                  t->cfg.udp_direct};
    tcfg = (struct sk_tcp_config){t->cfg.tcp_max_conns, t->cfg.tcp_max_conns_per_ip,
                                  t->cfg.tcp_max_buffered, t->cfg.tcp_idle_ms, NULL, NULL, 0};
    for (unsigned p = 0; p < NPROTO; p++) {
        t->tp[p].tpm = t;
        t->tp[p].proto = (enum sip_proto) p;
    }
    up.arg = &t->tp[SIP_PROTO_UDP];
    if (sk_udp_new(&t->tp[SIP_PROTO_UDP].tp, &ucfg, loops, nloops, &up))
        goto fail;
    up.arg = &t->tp[SIP_PROTO_TCP];
    if (sk_tcp_new(&t->tp[SIP_PROTO_TCP].tp, &tcfg, loops, nloops, &up))
        goto fail;
    {
        /* WebSocket: TCP's connections with the WebSocket filter and the message
         * framer; the Upgrade handshake has the TLS one's deadline */
        struct sk_tcp_config wcfg = tcfg;
        struct sk_tp_upcall wup = {on_datagram, on_ws_stream, &t->tp[SIP_PROTO_WS]};
        t->ws_arg.ws.origins = t->cfg.ws_origins;
        t->ws_arg.ws.max_message = t->cfg.ws_max_message;
        t->ws_arg.ws.max_frame = t->cfg.ws_max_message;
        wcfg.filter = &sk_ws_filter;
        wcfg.filter_arg = &t->ws_arg;
        wcfg.handshake_ms = t->cfg.tls_handshake_ms;
        if (sk_tcp_new(&t->tp[SIP_PROTO_WS].tp, &wcfg, loops, nloops, &wup))
            goto fail;
        if (t->cfg.tls_server) {
            /* WSS: the WebSocket filter over the TLS one */
            t->wss_arg = (struct sk_filter_chain_arg){&sk_tls_filter, &sk_ws_filter,
                                                      &t->tls_arg, &t->ws_arg};
            wcfg.filter = &sk_filter_chain;
            wcfg.filter_arg = &t->wss_arg;
            wup.arg = &t->tp[SIP_PROTO_WSS];
            if (sk_tcp_new(&t->tp[SIP_PROTO_WSS].tp, &wcfg, loops, nloops, &wup))
                goto fail;
        }
    }
    if (t->cfg.tls_server || t->cfg.tls_client) {
        /* TLS: TCP's connections with the TLS filter between socket and framer */
        t->tls_arg.server = t->cfg.tls_server;
        t->tls_arg.client = t->cfg.tls_client;
        tcfg.filter = &sk_tls_filter;
        tcfg.filter_arg = &t->tls_arg;
        tcfg.handshake_ms = t->cfg.tls_handshake_ms;
        up.arg = &t->tp[SIP_PROTO_TLS];
        if (sk_tcp_new(&t->tp[SIP_PROTO_TLS].tp, &tcfg, loops, nloops, &up))
            goto fail;
    }
    *tp = t;
    return 0;
fail:
    sip_tpm_free(t);
    return ENOMEM;
}

void sip_tpm_free(struct sip_tpm *t)
{
    if (!t)
        return;
    for (unsigned p = 0; p < NPROTO; p++) {
        if (t->tp[p].tp)
            t->tp[p].tp->ops->close(t->tp[p].tp);
    }
    if (t->msg) {
        for (unsigned i = 0; i < t->nw; i++) {
            if (t->msg[i])
                sip_msg_release(t->msg[i]);
            free(t->msg[i]);
        }
    }
    free(t->msg);
    free(t);
}

void sip_tpm_stats(struct sip_tpm *t, struct sip_tpm_stats *o)
{
    struct sk_tp_stats u, s, l = {0};
    struct sk_tp *tls = t->tp[SIP_PROTO_TLS].tp;

    t->tp[SIP_PROTO_UDP].tp->ops->stats(t->tp[SIP_PROTO_UDP].tp, &u);
    t->tp[SIP_PROTO_TCP].tp->ops->stats(t->tp[SIP_PROTO_TCP].tp, &s);
    o->udp_rx = atomic_load(&t->st.udp_rx);
    o->tcp_rx = atomic_load(&t->st.tcp_rx);
    o->malformed = atomic_load(&t->st.malformed);
    o->tcp_accepted = s.accepted;
    o->tcp_refused = s.refused;
    o->tcp_closed_garbage = atomic_load(&t->st.garbage);
    o->tcp_closed_idle = s.closed_idle;
    o->tcp_closed_overflow = s.closed_overflow;
    o->keepalive_pongs = atomic_load(&t->st.pongs);
    if (tls)
        tls->ops->stats(tls, &l);
    o->tls_accepted = l.accepted;
    o->tls_refused = l.refused;
    o->tls_closed_idle = l.closed_idle;
    o->tls_closed_handshake = l.closed_handshake;
    o->send_errors =
        atomic_load(&t->st.send_errors) + u.send_errors + s.send_errors + l.send_errors;
}

bool sip_tpm_has_tls(const struct sip_tpm *t)
{
    return t->cfg.tls_client != NULL;
}

size_t sip_tpm_conn_count(struct sip_tpm *t)
{
    size_t n = 0;
    for (unsigned p = 0; p < NPROTO; p++)
        if (t->tp[p].tp)
            n += t->tp[p].tp->ops->conn_count(t->tp[p].tp);
    return n;
}

enum sip_proto sip_tp_select(enum sip_proto wanted, size_t request_len)
{
    if (wanted == SIP_PROTO_UDP && request_len > SIP_UDP_MTU - 200)
        return SIP_PROTO_TCP;
    return wanted;
}

int sip_print_our_via(struct sk_buf *b, enum sip_proto proto, const struct sk_sa *sent_by,
                      char *branch, size_t branch_size)
{
    char addr[80];

    sip_branch_new(branch, branch_size);
    sk_buf_printf(b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", sip_proto_name(proto),
                  sk_sa_str(sent_by, addr, sizeof(addr)), branch);
    return b->failed ? ENOMEM : 0;
}
