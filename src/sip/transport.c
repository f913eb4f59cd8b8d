/* SIP over UDP and TCP (RFC 3261 §18): per-worker sockets, stream framing, keep-alives, limits. */
#include "sip/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "sip/msg.h"

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
};

#define MAX_LISTENERS 16
#define UDP_BATCH SIP_UDP_BATCH_MAX
#define UDP_BUF 65536
#define CONN_BUCKETS 1024

#define OUT_BUF 4096 /* a queued response; larger ones are sent at once */

/* Responses a worker produces while it handles one recvmmsg batch, sent with one
 * sendmmsg at the end of the batch. */
struct out_queue {
    bool active;
    int fd;
    unsigned n;
    struct sk_sa dst[UDP_BATCH];
    size_t len[UDP_BATCH];
    char buf[UDP_BATCH][OUT_BUF];
};

struct worker {
    struct sip_tpm *tpm;
    struct sk_loop *loop;
    unsigned index;
    struct sip_msg *msg;             /* reused for every message this worker parses */
    char *udp_bufs;                  /* UDP_BATCH x UDP_BUF */
    struct out_queue *out;
};

/* The worker whose recvmmsg batch this thread is handling, if any: udp_send
 * queues responses there. Thread-local by nature (a thread runs one worker). */
static _Thread_local struct worker *batching_worker;

/* A UDP socket of one worker, with its local address (read once, not per wakeup). */
struct udp_sock {
    struct worker *w;
    struct sk_sa local;
};

struct listener {
    struct sip_listen l;
    int *fds; /* one per worker */
    struct udp_sock *udp; /* UDP: one per worker */
};

enum conn_state { CONN_CONNECTING, CONN_OPEN, CONN_CLOSED };

struct sip_conn {
    struct sip_tpm *tpm;
    struct worker *w;      /* owner: reads, timers and closing happen on its loop */
    int fd;
    atomic_int refs;
    enum conn_state state;
    bool registered;       /* added to the owner's epoll */
    bool close_after_flush;
    struct sk_sa peer, local;
    struct sk_buf in;
    pthread_mutex_t out_lock;
    struct sk_buf out;
    size_t out_off;
    struct sk_timer idle;
    struct sip_conn *hnext; /* in the connection table, bucketed by peer IP */
};

struct sip_tpm {
    struct sip_tpm_config cfg;
    struct sip_tpm_handler h;
    struct worker *w;
    unsigned nw;
    struct listener lst[MAX_LISTENERS];
    unsigned nlst;
    pthread_mutex_t conn_lock;
    struct sip_conn *conns[CONN_BUCKETS];
    size_t nconns;
    struct {
        atomic_uint_fast64_t udp_rx, tcp_rx, malformed, accepted, refused, garbage, idle,
            overflow, pongs, send_errors;
    } st;
};

/* One function table per transport: the rest of this file, and every layer
 * above, never asks which protocol it is on. TLS and WebSocket add a table. */
struct tp_ops {
    enum sip_proto proto;
    int socktype;
    sk_io_fn readable; /* on the listening socket */
    void (*setup)(struct sip_tpm *t, int fd);
    int (*send)(struct sip_tpm *t, const struct sip_dest *d, const char *buf, size_t len);
};

static const struct tp_ops *tp_ops_of(enum sip_proto p);

/* ---- Addresses and listen specs ---- */

int sip_listen_parse(const char *spec, struct sip_listen *l)
{
    const char *p = spec, *colon;
    char host[64];
    unsigned long port = 5060;
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

/* ---- Connections ---- */

static unsigned ip_bucket(const struct sk_sa *a)
{
    uint64_t h = a->u.sa.sa_family == AF_INET6 ? sk_hash(&a->u.in6.sin6_addr, 16)
                                                : sk_hash(&a->u.in.sin_addr, 4);
    return (unsigned) (h % CONN_BUCKETS);
}

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    struct sk_sa x = *a, y = *b;
    sk_sa_set_port(&x, 0);
    sk_sa_set_port(&y, 0);
    return sk_sa_equal(&x, &y);
}

static void conn_ref(struct sip_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void conn_unref(struct sip_conn *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    pthread_mutex_destroy(&c->out_lock);
    free(c);
}

/* Count connections from the peer's IP; the caller holds conn_lock. */
static size_t conns_from_ip(struct sip_tpm *t, const struct sk_sa *peer)
{
    size_t n = 0;
    for (struct sip_conn *c = t->conns[ip_bucket(peer)]; c; c = c->hnext)
        n += same_ip(&c->peer, peer);
    return n;
}

static void table_add(struct sip_tpm *t, struct sip_conn *c)
{
    unsigned b = ip_bucket(&c->peer);
    c->hnext = t->conns[b];
    t->conns[b] = c;
    t->nconns++;
    conn_ref(c); /* the table's reference */
}

static bool table_del(struct sip_tpm *t, struct sip_conn *c)
{
    struct sip_conn **pp;
    pthread_mutex_lock(&t->conn_lock);
    for (pp = &t->conns[ip_bucket(&c->peer)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            t->nconns--;
            pthread_mutex_unlock(&t->conn_lock);
            return true;
        }
    }
    pthread_mutex_unlock(&t->conn_lock);
    return false;
}

/* An open connection to addr, with a reference, or NULL. */
static struct sip_conn *table_find(struct sip_tpm *t, const struct sk_sa *addr)
{
    struct sip_conn *c;
    pthread_mutex_lock(&t->conn_lock);
    for (c = t->conns[ip_bucket(addr)]; c; c = c->hnext) {
        if (c->state != CONN_CLOSED && sk_sa_equal(&c->peer, addr)) {
            conn_ref(c);
            break;
        }
    }
    pthread_mutex_unlock(&t->conn_lock);
    return c;
}

/* Close on the owner's loop. */
static void conn_close(struct sip_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    sk_timer_stop(c->w->loop, &c->idle);
    if (c->registered)
        sk_loop_del_fd(c->w->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    if (table_del(c->tpm, c))
        conn_unref(c);
}

static void conn_close_work(struct sk_loop *l, void *arg)
{
    (void) l;
    conn_close(arg);
    conn_unref(arg);
}

static void conn_idle(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    struct sip_conn *c = arg;
    (void) l, (void) tm;
    atomic_fetch_add(&c->tpm->st.idle, 1);
    conn_close(c);
}

/* Restart the idle timer. A connection whose idle timer cannot start would
 * stay open for ever: it is closed (the caller's job, on ENOMEM). */
static int conn_touch(struct sip_conn *c)
{
    return sk_timer_start(c->w->loop, &c->idle, c->tpm->cfg.tcp_idle_ms);
}

static void conn_io(struct sk_loop *l, int fd, uint32_t events, void *arg);

static struct sip_conn *conn_new(struct sip_tpm *t, struct worker *w, int fd,
                                 const struct sk_sa *peer, enum conn_state state)
{
    struct sip_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->tpm = t;
    c->w = w;
    c->fd = fd;
    atomic_init(&c->refs, 1);
    c->state = state;
    c->peer = *peer;
    c->local.len = sizeof(c->local.u);
    getsockname(fd, &c->local.u.sa, &c->local.len);
    sk_buf_init(&c->in);
    sk_buf_init(&c->out);
    pthread_mutex_init(&c->out_lock, NULL);
    sk_timer_init(&c->idle, conn_idle, c);
    return c;
}

/* Write what is queued; the caller holds out_lock. Returns 0, EAGAIN or an errno. */
static int flush_locked(struct sip_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? EAGAIN : errno;
        }
        c->out_off += (size_t) n;
    }
    sk_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

static void conn_want_write(struct sip_conn *c, bool on)
{
    if (c->registered && c->state != CONN_CLOSED)
        sk_loop_mod_fd(c->w->loop, c->fd, EPOLLIN | (on ? EPOLLOUT : 0), conn_io, c);
}

/* Queue and try to write, from any thread. */
static int conn_send(struct sip_conn *c, const char *buf, size_t len)
{
    int err = 0;

    pthread_mutex_lock(&c->out_lock);
    if (c->state == CONN_CLOSED) {
        err = ENOTCONN;
    } else if (c->out.len - c->out_off + len > c->tpm->cfg.tcp_max_buffered) {
        err = ENOBUFS;
        atomic_fetch_add(&c->tpm->st.overflow, 1);
    } else if (sk_buf_append(&c->out, buf, len)) {
        err = ENOMEM;
    } else if (c->state == CONN_OPEN) {
        err = flush_locked(c);
        if (err == EAGAIN) {
            conn_want_write(c, true);
            err = 0;
        }
    }
    pthread_mutex_unlock(&c->out_lock);
    if (err == ENOBUFS || (err && err != ENOTCONN)) {
        /* a peer that does not read, or a broken socket: close on the owner loop */
        conn_ref(c);
        if (sk_loop_post(c->w->loop, conn_close_work, c))
            conn_unref(c);
    }
    return err;
}

/* ---- Receiving ---- */

static void deliver(struct worker *w, struct sip_rx *rx, int rc, const struct sip_error *e)
{
    struct sip_tpm *t = w->tpm;
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

/* RFC 5626 §4.4.1: a CRLFCRLF ping between messages is answered with a CRLF pong;
 * a lone CRLF (a pong) is consumed. Returns the bytes of keep-alive at the start. */
static size_t stream_keepalive(struct sip_conn *c)
{
    size_t i = 0;
    const char *p = c->in.p;

    while (i + 1 < c->in.len && p[i] == '\r' && p[i + 1] == '\n') {
        if (i + 3 < c->in.len && p[i + 2] == '\r' && p[i + 3] == '\n') {
            atomic_fetch_add(&c->tpm->st.pongs, 1);
            conn_send(c, "\r\n", 2);
            i += 4;
        } else if (i + 2 < c->in.len || i + 2 == c->in.len) {
            /* a pong, or the first half of a ping still arriving */
            if (i + 2 == c->in.len)
                break;
            i += 2;
        }
    }
    return i;
}

static void stream_input(struct sip_conn *c)
{
    struct worker *w = c->w;
    size_t off = 0;

    for (;;) {
        struct sip_rx rx;
        struct sip_error e;
        size_t used = 0, ka;
        int rc;

        if (c->state == CONN_CLOSED)
            return;
        {
            /* keep-alives are judged on the unconsumed part */
            struct sk_buf view = c->in;
            view.p += off;
            view.len -= off;
            struct sk_buf saved = c->in;
            c->in = view;
            ka = stream_keepalive(c);
            c->in = saved;
        }
        off += ka;
        if (off >= c->in.len)
            break;
        rc = sip_msg_parse(w->msg, c->in.p + off, c->in.len - off, SIP_PARSE_STREAM,
                           &w->tpm->cfg.limits, &used, &e);
        if (rc == EAGAIN)
            break;
        memset(&rx, 0, sizeof(rx));
        rx.msg = w->msg;
        rx.loop = w->loop;
        rx.proto = SIP_PROTO_TCP;
        rx.src = c->peer;
        rx.local = c->local;
        rx.conn = c;
        atomic_fetch_add(&w->tpm->st.tcp_rx, 1);
        deliver(w, &rx, rc, &e);
        sip_msg_release(w->msg);
        if (rc != 0) {
            /* framing is lost: the rest of the stream cannot be trusted */
            atomic_fetch_add(&w->tpm->st.garbage, 1);
            c->close_after_flush = true;
            off = c->in.len;
            break;
        }
        off += used;
    }
    if (off) {
        memmove(c->in.p, c->in.p + off, c->in.len - off);
        c->in.len -= off;
    }
}

static void conn_readable(struct sip_conn *c)
{
    char buf[16384];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0) {
            conn_close(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_close(c);
            return;
        }
        if (c->in.len + (size_t) n > c->tpm->cfg.tcp_max_buffered ||
            sk_buf_append(&c->in, buf, (size_t) n)) {
            atomic_fetch_add(&c->tpm->st.overflow, 1);
            conn_close(c);
            return;
        }
        if (conn_touch(c)) {
            conn_close(c);
            return;
        }
        stream_input(c);
        if (c->state == CONN_CLOSED)
            return;
        if (c->close_after_flush) {
            bool empty;
            pthread_mutex_lock(&c->out_lock);
            empty = c->out.len == c->out_off;
            pthread_mutex_unlock(&c->out_lock);
            if (empty) {
                conn_close(c);
                return;
            }
        }
        if ((size_t) n < sizeof(buf))
            return;
    }
}

static void conn_writable(struct sip_conn *c)
{
    int err;
    bool done;

    pthread_mutex_lock(&c->out_lock);
    if (c->state == CONN_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            pthread_mutex_unlock(&c->out_lock);
            SK_DEBUG("tcp connect failed: %s", strerror(soerr));
            conn_close(c);
            return;
        }
        c->state = CONN_OPEN;
        c->local.len = sizeof(c->local.u);
        getsockname(c->fd, &c->local.u.sa, &c->local.len);
    }
    err = flush_locked(c);
    done = err == 0;
    if (err == 0 || err == EAGAIN)
        conn_want_write(c, !done);
    pthread_mutex_unlock(&c->out_lock);
    if (err && err != EAGAIN) {
        conn_close(c);
        return;
    }
    if (done && c->close_after_flush)
        conn_close(c);
}

static void conn_io(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct sip_conn *c = arg;
    (void) l, (void) fd;

    conn_ref(c);
    if (events & EPOLLOUT)
        conn_writable(c);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->state != CONN_CLOSED)
        conn_readable(c);
    conn_unref(c);
}

static void conn_register(struct sk_loop *l, void *arg)
{
    struct sip_conn *c = arg;
    uint32_t ev = EPOLLIN | (c->state == CONN_CONNECTING || c->out.len ? EPOLLOUT : 0);

    if (c->state != CONN_CLOSED) {
        if (sk_loop_add_fd(l, c->fd, ev, conn_io, c) == 0) {
            c->registered = true;
            if (conn_touch(c))
                conn_close(c);
        } else {
            conn_close(c);
        }
    }
    conn_unref(c);
}

static void tcp_accept(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct worker *w = arg;
    struct sip_tpm *t = w->tpm;
    (void) events;

    for (;;) {
        struct sk_sa peer;
        struct sip_conn *c;
        bool refuse;
        int one = 1, cfd;

        peer.len = sizeof(peer.u);
        cfd = accept4(fd, &peer.u.sa, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        pthread_mutex_lock(&t->conn_lock);
        refuse = t->nconns >= t->cfg.tcp_max_conns ||
                 conns_from_ip(t, &peer) >= t->cfg.tcp_max_conns_per_ip;
        c = refuse ? NULL : conn_new(t, w, cfd, &peer, CONN_OPEN);
        if (c)
            table_add(t, c);
        pthread_mutex_unlock(&t->conn_lock);
        if (!c) {
            atomic_fetch_add(&t->st.refused, 1);
            close(cfd);
            continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        atomic_fetch_add(&t->st.accepted, 1);
        if (sk_loop_add_fd(l, cfd, EPOLLIN, conn_io, c) == 0) {
            c->registered = true;
            if (conn_touch(c))
                conn_close(c);
        } else {
            conn_close(c);
        }
        conn_unref(c);
    }
}

static int tcp_connect(struct sip_tpm *t, const struct sk_sa *addr, struct sip_conn **cp)
{
    struct sip_conn *c;
    struct worker *w = &t->w[ip_bucket(addr) % t->nw];
    int fd, one = 1;

    fd = socket(addr->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, &addr->u.sa, addr->len) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return err;
    }
    pthread_mutex_lock(&t->conn_lock);
    if (t->nconns >= t->cfg.tcp_max_conns) {
        pthread_mutex_unlock(&t->conn_lock);
        close(fd);
        return EMFILE;
    }
    c = conn_new(t, w, fd, addr, CONN_CONNECTING);
    if (c)
        table_add(t, c);
    pthread_mutex_unlock(&t->conn_lock);
    if (!c) {
        close(fd);
        return ENOMEM;
    }
    conn_ref(c); /* for the registration work */
    if (sk_loop_post(w->loop, conn_register, c)) {
        conn_unref(c);
        conn_unref(c);
        return ENOMEM;
    }
    *cp = c; /* the caller gets the creation reference */
    return 0;
}

/* ---- UDP ---- */

static void out_flush(struct worker *w)
{
    struct out_queue *q = w->out;
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    unsigned done = 0;

    if (q->n == 1) {
        /* one response (the usual case at moderate load): sendto is the cheaper call */
        while (sendto(q->fd, q->buf[0], q->len[0], MSG_NOSIGNAL | MSG_DONTWAIT, &q->dst[0].u.sa,
                      q->dst[0].len) < 0) {
            if (errno != EINTR) {
                atomic_fetch_add(&w->tpm->st.send_errors, 1);
                break;
            }
        }
        q->n = 0;
        return;
    }
    for (unsigned i = 0; i < q->n; i++) {
        iov[i].iov_base = q->buf[i];
        iov[i].iov_len = q->len[i];
        memset(&mm[i], 0, sizeof(mm[i]));
        mm[i].msg_hdr.msg_name = &q->dst[i].u.sa;
        mm[i].msg_hdr.msg_namelen = q->dst[i].len;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    while (done < q->n) {
        int r = sendmmsg(q->fd, mm + done, q->n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r <= 0) {
            /* the datagram at done could not go (no route...): count it, go on */
            if (r < 0 && errno == EINTR)
                continue;
            atomic_fetch_add(&w->tpm->st.send_errors, 1);
            done++;
            continue;
        }
        done += (unsigned) r;
    }
    q->n = 0;
}

/* Queue a response during a batch; false when it must be sent at once. */
static bool out_queue(struct sip_tpm *t, const struct sip_dest *d, const char *buf, size_t len)
{
    struct worker *w = batching_worker;
    struct out_queue *q;

    if (!w || w->tpm != t || !w->out || !w->out->active || len > OUT_BUF || len < 8 ||
        memcmp(buf, "SIP/2.0 ", 8) != 0)
        return false; /* requests go at once: their send errors reach the transaction */
    q = w->out;
    if (q->n == UDP_BATCH)
        out_flush(w);
    q->dst[q->n] = d->addr;
    q->len[q->n] = len;
    memcpy(q->buf[q->n], buf, len);
    q->n++;
    return true;
}

/* One recvmmsg on a worker's UDP socket, and every datagram it brought handled;
 * the responses they produce leave in one send at the end. Returns how many
 * came, or -1. */
static int udp_receive(struct sk_loop *l, int fd, struct udp_sock *us, int flags)
{
    struct worker *w = us->w;
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sk_sa src[UDP_BATCH];
    unsigned batch = w->tpm->cfg.udp_batch < 1          ? 1
                     : w->tpm->cfg.udp_batch > UDP_BATCH ? UDP_BATCH
                                                         : w->tpm->cfg.udp_batch;
    int n;

    for (unsigned i = 0; i < batch; i++) {
        iov[i].iov_base = w->udp_bufs + (size_t) i * UDP_BUF;
        iov[i].iov_len = UDP_BUF;
        memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &src[i].u;
        mm[i].msg_hdr.msg_namelen = sizeof(src[i].u);
    }
    n = recvmmsg(fd, mm, batch, flags, NULL);
    if (n <= 0)
        return n;
    if (w->out) {
        /* responses leave from this worker's own socket, which has the same
         * local address as every socket of its listener */
        w->out->active = true;
        w->out->fd = fd;
        batching_worker = w;
    }
    for (int i = 0; i < n; i++) {
        const char *buf = iov[i].iov_base;
        size_t len = mm[i].msg_len, k = 0, used;
        struct sip_rx rx;
        struct sip_error e;
        int rc;

        /* a datagram of only CRLFs is a keep-alive (RFC 5626 §3.5.1 style) */
        while (k < len && (buf[k] == '\r' || buf[k] == '\n'))
            k++;
        if (k == len)
            continue;
        src[i].len = mm[i].msg_hdr.msg_namelen;
        atomic_fetch_add(&w->tpm->st.udp_rx, 1);
        rc = sip_msg_parse(w->msg, buf, len, SIP_PARSE_DATAGRAM, &w->tpm->cfg.limits, &used,
                           &e);
        memset(&rx, 0, sizeof(rx));
        rx.msg = w->msg;
        rx.loop = l;
        rx.proto = SIP_PROTO_UDP;
        rx.src = src[i];
        rx.local = us->local;
        deliver(w, &rx, rc, &e);
        sip_msg_release(w->msg);
    }
    if (w->out) {
        out_flush(w);
        w->out->active = false;
        batching_worker = NULL;
    }
    return n == (int) batch ? n : 0; /* 0: the socket is drained */
}

static void udp_readable(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    (void) events;
    while (udp_receive(l, fd, arg, MSG_DONTWAIT) > 0)
        ;
}

/* The direct wait: one receive that blocks for the first datagram (the socket is
 * in blocking mode, its timeout set by the loop) and takes what else is queued,
 * up to a batch. No second call to find the queue empty: the loop's next wait
 * returns at once if more came meanwhile. */
static void udp_wait(struct sk_loop *l, int fd, void *arg)
{
    udp_receive(l, fd, arg, MSG_WAITFORONE);
}

/* ---- Sockets ---- */

static int bind_socket(const struct sip_listen *l, int type)
{
    int fd, one = 1;

    fd = socket(l->addr.u.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (l->addr.u.sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, &l->addr.u.sa, l->addr.len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int sip_tpm_listen(struct sip_tpm *t, struct sip_listen *l)
{
    struct listener *ls;
    const struct tp_ops *ops = tp_ops_of(l->proto);
    int type;

    if (!ops)
        return EPROTONOSUPPORT;
    type = ops->socktype;
    if (t->nlst == MAX_LISTENERS)
        return ENOSPC;
    ls = &t->lst[t->nlst];
    ls->fds = calloc(t->nw, sizeof(int));
    ls->udp = type == SOCK_DGRAM ? calloc(t->nw, sizeof(*ls->udp)) : NULL;
    if (!ls->fds || (type == SOCK_DGRAM && !ls->udp)) {
        free(ls->fds);
        free(ls->udp);
        ls->fds = NULL;
        ls->udp = NULL;
        return ENOMEM;
    }
    for (unsigned i = 0; i < t->nw; i++)
        ls->fds[i] = -1;
    for (unsigned i = 0; i < t->nw; i++) {
        int fd = bind_socket(l, type), err;
        if (fd < 0) {
            err = -fd;
            goto fail;
        }
        ls->fds[i] = fd;
        if (i == 0 && sk_sa_port(&l->addr) == 0) {
            /* port 0: every worker binds the port the kernel picked for the first */
            struct sk_sa bound;
            bound.len = sizeof(bound.u);
            getsockname(fd, &bound.u.sa, &bound.len);
            sk_sa_set_port(&l->addr, sk_sa_port(&bound));
        }
        if (ops->setup)
            ops->setup(t, fd);
        /* registration from the caller's thread is safe: the loops are not running yet */
        if (ls->udp) {
            ls->udp[i].w = &t->w[i];
            ls->udp[i].local.len = sizeof(ls->udp[i].local.u);
            getsockname(fd, &ls->udp[i].local.u.sa, &ls->udp[i].local.len);
        }
        if (ls->udp && t->cfg.udp_direct)
            err = sk_loop_add_wait_fd(t->w[i].loop, fd, ops->readable, udp_wait, &ls->udp[i]);
        else
            err = sk_loop_add_fd(t->w[i].loop, fd, EPOLLIN, ops->readable,
                                 ls->udp ? (void *) &ls->udp[i] : (void *) &t->w[i]);
        if (err)
            goto fail;
        continue;
    fail:
        for (unsigned j = 0; j <= i && j < t->nw; j++) {
            if (ls->fds[j] >= 0) {
                sk_loop_del_fd(t->w[j].loop, ls->fds[j]);
                close(ls->fds[j]);
            }
        }
        free(ls->fds);
        free(ls->udp);
        ls->fds = NULL;
        ls->udp = NULL;
        return err;
    }
    ls->l = *l;
    t->nlst++;
    return 0;
}

const struct sip_listen *sip_tpm_local(struct sip_tpm *t, enum sip_proto proto, int family)
{
    for (unsigned i = 0; i < t->nlst; i++) {
        if (t->lst[i].l.proto == proto && t->lst[i].l.addr.u.sa.sa_family == family)
            return &t->lst[i].l;
    }
    return NULL;
}

/* ---- Sending ---- */

static int udp_send(struct sip_tpm *t, const struct sip_dest *d, const char *buf, size_t len)
{
    const struct sip_listen *l = sip_tpm_local(t, SIP_PROTO_UDP, d->addr.u.sa.sa_family);
    ssize_t n;

    if (!l)
        return EAFNOSUPPORT;
    if (out_queue(t, d, buf, len))
        return 0;
    for (unsigned i = 0; i < t->nlst; i++) {
        if (&t->lst[i].l == l) {
            /* sendto on one UDP socket from several threads is safe */
            n = sendto(t->lst[i].fds[0], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, &d->addr.u.sa,
                       d->addr.len);
            return n < 0 ? errno : 0;
        }
    }
    return EAFNOSUPPORT;
}

static int tcp_send(struct sip_tpm *t, const struct sip_dest *d, const char *buf, size_t len)
{
    struct sip_conn *c = NULL;
    int err;

    /* §18.2.2: the connection the request came on; if it is gone, one to the
     * same address, else a new one */
    if (d->conn && d->conn->state != CONN_CLOSED) {
        c = d->conn;
        conn_ref(c);
    } else {
        c = table_find(t, &d->addr);
    }
    if (!c && (err = tcp_connect(t, &d->addr, &c)))
        return err;
    err = conn_send(c, buf, len);
    conn_unref(c);
    return err;
}

static void udp_setup(struct sip_tpm *t, int fd)
{
    int sz = (int) t->cfg.udp_rcvbuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static const struct tp_ops udp_ops = {SIP_PROTO_UDP, SOCK_DGRAM, udp_readable, udp_setup,
                                      udp_send};
static const struct tp_ops tcp_ops = {SIP_PROTO_TCP, SOCK_STREAM, tcp_accept, NULL, tcp_send};

static const struct tp_ops *tp_ops_of(enum sip_proto p)
{
    switch (p) {
    case SIP_PROTO_UDP: return &udp_ops;
    case SIP_PROTO_TCP: return &tcp_ops;
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
    const struct tp_ops *ops = tp_ops_of(d->proto);
    int err = ops ? ops->send(t, d, buf, len) : EPROTONOSUPPORT;

    if (err)
        atomic_fetch_add(&t->st.send_errors, 1);
    return err;
}

static int sender_send(void *arg, const struct sip_dest *d, const char *buf, size_t len)
{
    return sip_tpm_send(arg, d, buf, len);
}

static void sender_ref(void *arg, struct sip_conn *c)
{
    (void) arg;
    conn_ref(c);
}

static void sender_unref(void *arg, struct sip_conn *c)
{
    (void) arg;
    conn_unref(c);
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

    if (!t || nloops == 0)
        goto fail;
    t->cfg = cfg ? *cfg : sip_tpm_config_default;
    t->h = *h;
    t->nw = nloops;
    pthread_mutex_init(&t->conn_lock, NULL);
    t->w = calloc(nloops, sizeof(*t->w));
    if (!t->w)
        goto fail;
    for (unsigned i = 0; i < nloops; i++) {
        struct worker *w = &t->w[i];
        w->tpm = t;
        w->loop = loops[i];
        w->index = i;
        w->msg = malloc(sizeof(*w->msg));
        w->udp_bufs = malloc((size_t) UDP_BATCH * UDP_BUF);
        w->out = t->cfg.udp_send_batch ? calloc(1, sizeof(*w->out)) : NULL;
        if (!w->msg || !w->udp_bufs || (t->cfg.udp_send_batch && !w->out))
            goto fail;
        sip_msg_init(w->msg);
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
    for (unsigned i = 0; i < t->nlst; i++) {
        for (unsigned j = 0; j < t->nw; j++) {
            if (t->lst[i].fds[j] >= 0) {
                sk_loop_del_fd(t->w[j].loop, t->lst[i].fds[j]);
                close(t->lst[i].fds[j]);
            }
        }
        free(t->lst[i].fds);
        free(t->lst[i].udp);
    }
    for (unsigned b = 0; b < CONN_BUCKETS; b++) {
        while (t->conns[b]) {
            struct sip_conn *c = t->conns[b];
            conn_ref(c);
            conn_close(c);
            conn_unref(c);
        }
    }
    if (t->w) {
        for (unsigned i = 0; i < t->nw; i++) {
            if (t->w[i].msg)
                sip_msg_release(t->w[i].msg);
            free(t->w[i].msg);
            free(t->w[i].udp_bufs);
            free(t->w[i].out);
        }
    }
    free(t->w);
    pthread_mutex_destroy(&t->conn_lock);
    free(t);
}

void sip_tpm_stats(struct sip_tpm *t, struct sip_tpm_stats *o)
{
    o->udp_rx = atomic_load(&t->st.udp_rx);
    o->tcp_rx = atomic_load(&t->st.tcp_rx);
    o->malformed = atomic_load(&t->st.malformed);
    o->tcp_accepted = atomic_load(&t->st.accepted);
    o->tcp_refused = atomic_load(&t->st.refused);
    o->tcp_closed_garbage = atomic_load(&t->st.garbage);
    o->tcp_closed_idle = atomic_load(&t->st.idle);
    o->tcp_closed_overflow = atomic_load(&t->st.overflow);
    o->keepalive_pongs = atomic_load(&t->st.pongs);
    o->send_errors = atomic_load(&t->st.send_errors);
}

size_t sip_tpm_conn_count(struct sip_tpm *t)
{
    size_t n;
    pthread_mutex_lock(&t->conn_lock);
    n = t->nconns;
    pthread_mutex_unlock(&t->conn_lock);
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
