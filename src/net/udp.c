/* UDP transport: one SO_REUSEPORT socket per worker and listen address, recvmmsg batches,
 * the direct wait, and the responses of a batch sent in one sendmmsg. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sock.h"
#include "net/transport.h"

#define MAX_LISTENERS 16
#define UDP_BATCH SK_UDP_BATCH_MAX
#define UDP_BUF 65536
#define OUT_BUF 4096 /* a queued datagram; larger ones are sent at once */

struct udp;

/* Datagrams a worker sends while it handles one recvmmsg batch (SK_TP_DEFER),
 * sent with one sendmmsg at the end of the batch. */
struct out_queue {
    bool active;
    int fd;
    unsigned n;
    struct sk_sa dst[UDP_BATCH];
    size_t len[UDP_BATCH];
    char buf[UDP_BATCH][OUT_BUF];
};

struct udp_worker {
    struct udp *udp;
    struct sk_loop *loop;
    unsigned index;
    char *bufs; /* UDP_BATCH x UDP_BUF */
    struct out_queue *out;
};

/* The worker whose recvmmsg batch this thread is handling, if any: udp_send
 * queues deferred datagrams there. Thread-local by nature (a thread runs one worker). */
static _Thread_local struct udp_worker *batching_worker;

/* A UDP socket of one worker, with its local address (read once, not per wakeup). */
struct udp_sock {
    struct udp_worker *w;
    struct sk_sa local;
};

struct udp_listener {
    struct sk_sa addr;
    int *fds;             /* one per worker */
    struct udp_sock *sock; /* one per worker */
};

struct udp {
    struct sk_tp base;
    struct sk_udp_config cfg;
    struct sk_tp_upcall up;
    struct udp_worker *w;
    unsigned nw;
    struct udp_listener lst[MAX_LISTENERS];
    unsigned nlst;
    atomic_uint_fast64_t send_errors; /* deferred datagrams that could not go */
};

/* ---- Sending a batch ---- */

static void out_flush(struct udp_worker *w)
{
    struct out_queue *q = w->out;
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    unsigned done = 0;

    if (q->n == 1) {
        /* one datagram (the usual case at moderate load): sendto is the cheaper call */
        while (sendto(q->fd, q->buf[0], q->len[0], MSG_NOSIGNAL | MSG_DONTWAIT, &q->dst[0].u.sa,
                      q->dst[0].len) < 0) {
            if (errno != EINTR) {
                atomic_fetch_add(&w->udp->send_errors, 1);
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
            atomic_fetch_add(&w->udp->send_errors, 1);
            done++;
            continue;
        }
        done += (unsigned) r;
    }
    q->n = 0;
}

/* Queue a deferred datagram during a batch; false when it must be sent at once. */
static bool out_queue(struct udp *u, const struct sk_sa *dst, const char *buf, size_t len)
{
    struct udp_worker *w = batching_worker;
    struct out_queue *q;

    if (!w || w->udp != u || !w->out || !w->out->active || len > OUT_BUF)
        return false;
    q = w->out;
    if (q->n == UDP_BATCH)
        out_flush(w);
    q->dst[q->n] = *dst;
    q->len[q->n] = len;
    memcpy(q->buf[q->n], buf, len);
    q->n++;
    return true;
}

/* ---- Receiving ---- */

/* One recvmmsg on a worker's UDP socket, and every datagram it brought handed
 * up; what they make us send (deferred) leaves in one send at the end. Returns
 * how many came when the batch was full, 0 when the socket is drained, or -1. */
static int udp_receive(struct sk_loop *l, int fd, struct udp_sock *us, int flags)
{
    struct udp_worker *w = us->w;
    struct udp *u = w->udp;
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sk_sa src[UDP_BATCH];
    unsigned batch = u->cfg.batch < 1           ? 1
                     : u->cfg.batch > UDP_BATCH ? UDP_BATCH
                                                : u->cfg.batch;
    int n;

    for (unsigned i = 0; i < batch; i++) {
        iov[i].iov_base = w->bufs + (size_t) i * UDP_BUF;
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
    if (flags & MSG_WAITFORONE)
        sk_loop_clock_update(l); /* the direct wait may have slept for long */
    if (w->out) {
        /* deferred datagrams leave from this worker's own socket, which has the
         * same local address as every socket of its listener */
        w->out->active = true;
        w->out->fd = fd;
        batching_worker = w;
    }
    for (int i = 0; i < n; i++) {
        src[i].len = mm[i].msg_hdr.msg_namelen;
        u->up.datagram(u->up.arg, w->index, l, iov[i].iov_base, mm[i].msg_len, &src[i],
                       &us->local);
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

/* ---- The function table ---- */

static void listener_free(struct udp *u, struct udp_listener *ls, unsigned registered)
{
    for (unsigned j = 0; j < u->nw && ls->fds; j++) {
        if (ls->fds[j] < 0)
            continue;
        if (j < registered)
            sk_loop_del_fd(u->w[j].loop, ls->fds[j]);
        close(ls->fds[j]);
    }
    free(ls->fds);
    free(ls->sock);
    ls->fds = NULL;
    ls->sock = NULL;
}

static int udp_listen(struct sk_tp *tp, struct sk_sa *addr)
{
    struct udp *u = (struct udp *) tp;
    struct udp_listener *ls;
    int err = 0, sz = (int) u->cfg.rcvbuf;

    if (u->nlst == MAX_LISTENERS)
        return ENOSPC;
    ls = &u->lst[u->nlst];
    ls->fds = calloc(u->nw, sizeof(int));
    ls->sock = calloc(u->nw, sizeof(*ls->sock));
    if (!ls->fds || !ls->sock) {
        free(ls->fds);
        free(ls->sock);
        ls->fds = NULL;
        ls->sock = NULL;
        return ENOMEM;
    }
    err = sk_sock_bind_all(addr, SOCK_DGRAM, u->nw, ls->fds);
    if (err) {
        listener_free(u, ls, 0);
        return err;
    }
    for (unsigned i = 0; i < u->nw; i++) {
        int fd = ls->fds[i];
        struct udp_sock *us = &ls->sock[i];

        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        us->w = &u->w[i];
        us->local.len = sizeof(us->local.u);
        getsockname(fd, &us->local.u.sa, &us->local.len);
        /* registration from the caller's thread is safe: the loops are not running yet */
        if (u->cfg.direct)
            err = sk_loop_add_wait_fd(u->w[i].loop, fd, udp_readable, udp_wait, us);
        else
            err = sk_loop_add_fd(u->w[i].loop, fd, EPOLLIN, udp_readable, us);
        if (err) {
            listener_free(u, ls, i);
            return err;
        }
    }
    ls->addr = *addr;
    u->nlst++;
    return 0;
}

static int udp_send(struct sk_tp *tp, struct sk_conn *conn, const struct sk_sa *dst,
                    const char *name, const char *buf, size_t len, unsigned flags)
{
    struct udp *u = (struct udp *) tp;
    (void) conn;
    (void) name;

    for (unsigned i = 0; i < u->nlst; i++) {
        if (u->lst[i].addr.u.sa.sa_family != dst->u.sa.sa_family)
            continue;
        if ((flags & SK_TP_DEFER) && out_queue(u, dst, buf, len))
            return 0;
        /* sendto on one UDP socket from several threads is safe */
        ssize_t n = sendto(u->lst[i].fds[0], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, &dst->u.sa,
                           dst->len);
        return n < 0 ? errno : 0;
    }
    return EAFNOSUPPORT;
}

static void udp_conn_ref(struct sk_conn *c)
{
    (void) c; /* UDP has no connections */
}

static void udp_close(struct sk_tp *tp)
{
    struct udp *u = (struct udp *) tp;

    if (!u)
        return;
    for (unsigned i = 0; i < u->nlst; i++)
        listener_free(u, &u->lst[i], u->nw);
    if (u->w) {
        for (unsigned i = 0; i < u->nw; i++) {
            free(u->w[i].bufs);
            free(u->w[i].out);
        }
    }
    free(u->w);
    free(u);
}

static void udp_stats(struct sk_tp *tp, struct sk_tp_stats *o)
{
    struct udp *u = (struct udp *) tp;

    memset(o, 0, sizeof(*o));
    o->send_errors = atomic_load(&u->send_errors);
}

static size_t udp_conn_count(struct sk_tp *tp)
{
    (void) tp;
    return 0;
}

static const struct sk_tp_ops udp_ops = {
    .name = "UDP",
    .listen = udp_listen,
    .send = udp_send,
    .conn_ref = udp_conn_ref,
    .conn_unref = udp_conn_ref,
    .close = udp_close,
    .stats = udp_stats,
    .conn_count = udp_conn_count,
};

int sk_udp_new(struct sk_tp **tp, const struct sk_udp_config *cfg, struct sk_loop **loops,
               unsigned nloops, const struct sk_tp_upcall *up)
{
    struct udp *u;

    if (nloops == 0)
        return EINVAL;
    u = calloc(1, sizeof(*u));
    if (!u)
        return ENOMEM;
    u->base.ops = &udp_ops;
    u->cfg = *cfg;
    u->up = *up;
    u->nw = nloops;
    u->w = calloc(nloops, sizeof(*u->w));
    if (!u->w)
        goto fail;
    for (unsigned i = 0; i < nloops; i++) {
        struct udp_worker *w = &u->w[i];
        w->udp = u;
        w->loop = loops[i];
        w->index = i;
        w->bufs = malloc((size_t) UDP_BATCH * UDP_BUF);
        w->out = cfg->send_batch ? calloc(1, sizeof(*w->out)) : NULL;
        if (!w->bufs || (cfg->send_batch && !w->out))
            goto fail;
    }
    *tp = &u->base;
    return 0;
fail:
    udp_close(&u->base);
    return ENOMEM;
}
