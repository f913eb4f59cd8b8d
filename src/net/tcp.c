/* TCP transport: per-worker listeners, accept/connect, a connection table with limits,
 * idle timeouts, and the stream filter hook (TLS, WebSocket) between the socket and the
 * framer above. */
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "net/sock.h"
#include "net/transport.h"

#define MAX_LISTENERS 16
#define CONN_BUCKETS 1024

struct tcp;

struct tcp_worker {
    struct tcp *tcp;
    struct sk_loop *loop;
    unsigned index;
};

enum conn_state { CONN_CONNECTING, CONN_OPEN, CONN_CLOSED };

struct tcp_conn {
    struct sk_conn base;  /* peer, local, closed: what the layers above see */
    struct tcp_worker *w; /* owner: reads, timers and closing happen on its loop */
    int fd;
    atomic_int refs;
    enum conn_state state;
    bool registered; /* added to the owner's epoll */
    bool close_after_flush;
    struct sk_buf in; /* after the filter: what the framer has not consumed */
    pthread_mutex_t out_lock;
    struct sk_buf out; /* wire bytes */
    size_t out_off;
    void *filter_state; /* the stream filter's, when the transport has one */
    struct sk_timer idle;
    uint64_t opened_at; /* loop clock at the first conn_touch: the handshake deadline's
                           start */
    struct tcp_conn *hnext; /* in the connection table, bucketed by peer IP */
};

struct tcp {
    struct sk_tp base;
    struct sk_tcp_config cfg;
    struct sk_tp_upcall up;
    struct tcp_worker *w;
    unsigned nw;
    int *lfds[MAX_LISTENERS]; /* listening sockets, one per worker */
    unsigned nlst;
    pthread_mutex_t conn_lock;
    struct tcp_conn *conns[CONN_BUCKETS];
    size_t nconns;
    struct {
        atomic_uint_fast64_t accepted, refused, idle, overflow, handshake;
    } st;
};

static const struct sk_tp_ops tcp_ops;

static struct tcp_conn *tc(struct sk_conn *c)
{
    return (struct tcp_conn *) c;
}

/* ---- The connection table ---- */

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

static void conn_ref(struct tcp_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void conn_unref(struct tcp_conn *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    pthread_mutex_destroy(&c->out_lock);
    free(c);
}

/* Count connections from the peer's IP; the caller holds conn_lock. */
static size_t conns_from_ip(struct tcp *t, const struct sk_sa *peer)
{
    size_t n = 0;
    for (struct tcp_conn *c = t->conns[ip_bucket(peer)]; c; c = c->hnext)
        n += same_ip(&c->base.peer, peer);
    return n;
}

static void table_add(struct tcp *t, struct tcp_conn *c)
{
    unsigned b = ip_bucket(&c->base.peer);
    c->hnext = t->conns[b];
    t->conns[b] = c;
    t->nconns++;
    conn_ref(c); /* the table's reference */
}

static bool table_del(struct tcp *t, struct tcp_conn *c)
{
    struct tcp_conn **pp;
    pthread_mutex_lock(&t->conn_lock);
    for (pp = &t->conns[ip_bucket(&c->base.peer)]; *pp; pp = &(*pp)->hnext) {
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
static struct tcp_conn *table_find(struct tcp *t, const struct sk_sa *addr)
{
    struct tcp_conn *c;
    pthread_mutex_lock(&t->conn_lock);
    for (c = t->conns[ip_bucket(addr)]; c; c = c->hnext) {
        if (c->state != CONN_CLOSED && sk_sa_equal(&c->base.peer, addr)) {
            conn_ref(c);
            break;
        }
    }
    pthread_mutex_unlock(&t->conn_lock);
    return c;
}

/* ---- Connections ---- */

static struct tcp *conn_tcp(struct tcp_conn *c)
{
    return (struct tcp *) c->base.tp;
}

/* Close on the owner's loop. */
static void conn_close(struct tcp_conn *c)
{
    if (c->state == CONN_CLOSED) return;
    c->state = CONN_CLOSED;
    c->base.closed = true;
    sk_timer_stop(c->w->loop, &c->idle);
    if (c->registered) sk_loop_del_fd(c->w->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    if (c->filter_state) {
        conn_tcp(c)->cfg.filter->close(c->filter_state);
        c->filter_state = NULL;
    }
    if (table_del(conn_tcp(c), c)) conn_unref(c);
}

static void conn_close_work(struct sk_loop *l, void *arg)
{
    (void) l;
    conn_close(arg);
    conn_unref(arg);
}

/* Whether c's filter still has its handshake to finish, under a deadline. */
static bool conn_in_handshake(struct tcp_conn *c)
{
    const struct sk_tcp_config *cfg = &conn_tcp(c)->cfg;
    return cfg->filter && cfg->filter->ready && cfg->handshake_ms && c->filter_state &&
           !cfg->filter->ready(c->filter_state);
}

static void conn_idle(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    struct tcp_conn *c = arg;
    (void) l, (void) tm;
    if (conn_in_handshake(c))
        atomic_fetch_add(&conn_tcp(c)->st.handshake, 1);
    else
        atomic_fetch_add(&conn_tcp(c)->st.idle, 1);
    conn_close(c);
}

/* Restart the idle timer: idle_ms, or what is left of the handshake deadline
 * while the filter's handshake is not done (reads do not extend it). A
 * connection whose timer cannot start would stay open for ever: it is closed
 * (the caller's job, on ENOMEM). On the owner's loop. */
static int conn_touch(struct tcp_conn *c)
{
    const struct sk_tcp_config *cfg = &conn_tcp(c)->cfg;
    uint64_t now = sk_loop_now(c->w->loop);
    uint32_t ms = cfg->idle_ms;

    if (!c->opened_at) c->opened_at = now ? now : 1;
    if (conn_in_handshake(c)) {
        uint64_t end = c->opened_at + cfg->handshake_ms;
        uint32_t left = end > now ? (uint32_t) (end - now) : 1;
        if (left < ms) ms = left;
    }
    return sk_timer_start(c->w->loop, &c->idle, ms);
}

static void conn_io(struct sk_loop *l, int fd, uint32_t events, void *arg);

static struct tcp_conn *conn_new(struct tcp *t, struct tcp_worker *w, int fd,
                                 const struct sk_sa *peer, enum conn_state state)
{
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->base.ops = &tcp_ops;
    c->base.tp = &t->base;
    c->w = w;
    c->fd = fd;
    atomic_init(&c->refs, 1);
    c->state = state;
    c->base.peer = *peer;
    c->base.local.len = sizeof(c->base.local.u);
    getsockname(fd, &c->base.local.u.sa, &c->base.local.len);
    sk_buf_init(&c->in);
    sk_buf_init(&c->out);
    pthread_mutex_init(&c->out_lock, NULL);
    sk_timer_init(&c->idle, conn_idle, c);
    return c;
}

/* The filter's first bytes (a ClientHello), before anything is read or sent. */
static int conn_filter_open(struct tcp_conn *c, bool server, const char *peer_name)
{
    const struct sk_stream_filter *f = conn_tcp(c)->cfg.filter;
    int err;

    if (!f) return 0;
    pthread_mutex_lock(&c->out_lock);
    err =
        f->open(&c->filter_state, conn_tcp(c)->cfg.filter_arg, &c->base, server, peer_name,
                &c->out);
    pthread_mutex_unlock(&c->out_lock);
    return err;
}

/* Write what is queued; the caller holds out_lock. Returns 0, EAGAIN or an errno. */
static int flush_locked(struct tcp_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n =
            send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? EAGAIN : errno;
        }
        c->out_off += (size_t) n;
    }
    sk_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

static void conn_want_write(struct tcp_conn *c, bool on)
{
    if (c->registered && c->state != CONN_CLOSED)
        sk_loop_mod_fd(c->w->loop, c->fd, EPOLLIN | (on ? EPOLLOUT : 0), conn_io, c);
}

/* Append bytes from above to the output, through the filter; the caller holds out_lock.
 */
static int out_append_locked(struct tcp_conn *c, const char *buf, size_t len)
{
    const struct sk_stream_filter *f = conn_tcp(c)->cfg.filter;

    if (f && c->filter_state) return f->output(c->filter_state, buf, len, &c->out);
    return sk_buf_append(&c->out, buf, len) ? ENOMEM : 0;
}

/* Queue and try to write, from any thread. */
static int conn_send(struct tcp_conn *c, const char *buf, size_t len)
{
    struct tcp *t = conn_tcp(c);
    int err = 0;

    pthread_mutex_lock(&c->out_lock);
    if (c->state == CONN_CLOSED) {
        err = ENOTCONN;
    } else if (c->out.len - c->out_off + len > t->cfg.max_buffered) {
        err = ENOBUFS;
        atomic_fetch_add(&t->st.overflow, 1);
    } else if ((err = out_append_locked(c, buf, len)) != 0) {
        /* ENOMEM, or the filter's error */
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
        if (sk_loop_post(c->w->loop, conn_close_work, c)) conn_unref(c);
    }
    return err;
}

/* ---- Receiving ---- */

/* Hand what has arrived to the framer above; drop what it consumed. */
static void stream_input(struct tcp_conn *c)
{
    struct tcp *t = conn_tcp(c);
    bool close_after = false;
    size_t used;

    if (c->in.len == 0) return;
    used = t->up.stream(t->up.arg, c->w->index, c->w->loop, &c->base, c->in.p, c->in.len,
                        &close_after);
    if (close_after) {
        /* framing is lost: the rest of the stream cannot be trusted */
        c->close_after_flush = true;
        used = c->in.len;
    }
    if (used > c->in.len) used = c->in.len;
    if (used) {
        memmove(c->in.p, c->in.p + used, c->in.len - used);
        c->in.len -= used;
    }
}

/* Bytes read from the socket, to c->in: as they are, or through the filter
 * (which may also queue bytes of its own to send). 0, or an errno to close. */
static int conn_take(struct tcp_conn *c, const char *buf, size_t n)
{
    struct tcp *t = conn_tcp(c);
    const struct sk_stream_filter *f = t->cfg.filter;
    int err = 0;

    if (!f || !c->filter_state) {
        if (c->in.len + n > t->cfg.max_buffered || sk_buf_append(&c->in, buf, n)) {
            atomic_fetch_add(&t->st.overflow, 1);
            return ENOBUFS;
        }
        return 0;
    }
    pthread_mutex_lock(&c->out_lock);
    err = f->input(c->filter_state, buf, n, &c->in, &c->out);
    if (err == EPIPE) {
        /* the filter is done (a WebSocket close, a TLS close_notify): what it
         * wrote last goes out, then the connection closes */
        c->close_after_flush = true;
        err = 0;
    }
    if (err == 0 && c->out.len > c->out_off && c->state == CONN_OPEN) {
        err = flush_locked(c);
        if (err == EAGAIN) {
            conn_want_write(c, true);
            err = 0;
        }
    }
    pthread_mutex_unlock(&c->out_lock);
    if (err == 0 && c->in.len > t->cfg.max_buffered) {
        atomic_fetch_add(&t->st.overflow, 1);
        err = ENOBUFS;
    }
    return err;
}

static void conn_readable(struct tcp_conn *c)
{
    char buf[16384];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0) {
            conn_close(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) conn_close(c);
            return;
        }
        if (conn_take(c, buf, (size_t) n)) {
            conn_close(c);
            return;
        }
        if (conn_touch(c)) {
            conn_close(c);
            return;
        }
        stream_input(c);
        if (c->state == CONN_CLOSED) return;
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
        if ((size_t) n < sizeof(buf)) return;
    }
}

static void conn_writable(struct tcp_conn *c)
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
        c->base.local.len = sizeof(c->base.local.u);
        getsockname(c->fd, &c->base.local.u.sa, &c->base.local.len);
    }
    err = flush_locked(c);
    done = err == 0;
    if (err == 0 || err == EAGAIN) conn_want_write(c, !done);
    pthread_mutex_unlock(&c->out_lock);
    if (err && err != EAGAIN) {
        conn_close(c);
        return;
    }
    if (done && c->close_after_flush) conn_close(c);
}

static void conn_io(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct tcp_conn *c = arg;
    (void) l, (void) fd;

    conn_ref(c);
    if (events & EPOLLOUT) conn_writable(c);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->state != CONN_CLOSED)
        conn_readable(c);
    conn_unref(c);
}

static void conn_register(struct sk_loop *l, void *arg)
{
    struct tcp_conn *c = arg;
    uint32_t ev = EPOLLIN | (c->state == CONN_CONNECTING || c->out.len ? EPOLLOUT : 0);

    if (c->state != CONN_CLOSED) {
        if (sk_loop_add_fd(l, c->fd, ev, conn_io, c) == 0) {
            c->registered = true;
            if (conn_touch(c)) conn_close(c);
        } else {
            conn_close(c);
        }
    }
    conn_unref(c);
}

static void tcp_accept(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct tcp_worker *w = arg;
    struct tcp *t = w->tcp;
    (void) events;

    for (;;) {
        struct sk_sa peer;
        struct tcp_conn *c;
        bool refuse;
        int one = 1, cfd;

        peer.len = sizeof(peer.u);
        cfd = accept4(fd, &peer.u.sa, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        pthread_mutex_lock(&t->conn_lock);
        refuse = t->nconns >= t->cfg.max_conns ||
                 conns_from_ip(t, &peer) >= t->cfg.max_conns_per_ip;
        c = refuse ? NULL : conn_new(t, w, cfd, &peer, CONN_OPEN);
        if (c) table_add(t, c);
        pthread_mutex_unlock(&t->conn_lock);
        if (!c) {
            atomic_fetch_add(&t->st.refused, 1);
            close(cfd);
            continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        atomic_fetch_add(&t->st.accepted, 1);
        if (conn_filter_open(c, true, NULL) == 0 &&
            sk_loop_add_fd(l, cfd, EPOLLIN, conn_io, c) == 0) {
            c->registered = true;
            if (conn_touch(c))
                conn_close(c);
            else if (c->out.len)
                conn_want_write(c, true); /* the filter has something to say first */
        } else {
            conn_close(c);
        }
        conn_unref(c);
    }
}

static int tcp_connect(struct tcp *t, const struct sk_sa *addr, const char *name,
                       struct tcp_conn **cp)
{
    struct tcp_conn *c;
    struct tcp_worker *w = &t->w[ip_bucket(addr) % t->nw];
    int fd, one = 1;

    fd = socket(addr->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, &addr->u.sa, addr->len) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return err;
    }
    pthread_mutex_lock(&t->conn_lock);
    if (t->nconns >= t->cfg.max_conns) {
        pthread_mutex_unlock(&t->conn_lock);
        close(fd);
        return EMFILE;
    }
    c = conn_new(t, w, fd, addr, CONN_CONNECTING);
    if (c) table_add(t, c);
    pthread_mutex_unlock(&t->conn_lock);
    if (!c) {
        close(fd);
        return ENOMEM;
    }
    if (conn_filter_open(c, false, name)) {
        conn_ref(c);
        if (sk_loop_post(w->loop, conn_close_work, c)) conn_unref(c);
        conn_unref(c);
        return ECONNABORTED;
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

/* ---- The function table ---- */

static int tcp_listen(struct sk_tp *tp, struct sk_sa *addr)
{
    struct tcp *t = (struct tcp *) tp;
    int *fds, err;

    if (t->nlst == MAX_LISTENERS) return ENOSPC;
    fds = calloc(t->nw, sizeof(int));
    if (!fds) return ENOMEM;
    err = sk_sock_bind_all(addr, SOCK_STREAM, t->nw, fds);
    for (unsigned i = 0; !err && i < t->nw; i++) {
        /* registration from the caller's thread is safe: the loops are not running yet */
        err = sk_loop_add_fd(t->w[i].loop, fds[i], EPOLLIN, tcp_accept, &t->w[i]);
        if (err) {
            for (unsigned j = 0; j < i; j++)
                sk_loop_del_fd(t->w[j].loop, fds[j]);
            for (unsigned j = 0; j < t->nw; j++)
                close(fds[j]);
        }
    }
    if (err) {
        free(fds);
        return err;
    }
    t->lfds[t->nlst++] = fds;
    return 0;
}

static int tcp_send(struct sk_tp *tp, struct sk_conn *conn, const struct sk_sa *dst,
                    const char *name, const char *buf, size_t len, unsigned flags)
{
    struct tcp *t = (struct tcp *) tp;
    struct tcp_conn *c = NULL;
    int err;
    (void) flags;

    /* §18.2.2: the connection the request came on; if it is gone, one to the
     * same address, else a new one */
    if (conn && tc(conn)->state != CONN_CLOSED) {
        c = tc(conn);
        conn_ref(c);
    } else {
        c = table_find(t, dst);
    }
    if (!c && (err = tcp_connect(t, dst, name, &c))) return err;
    err = conn_send(c, buf, len);
    conn_unref(c);
    return err;
}

static void tcp_conn_ref(struct sk_conn *c)
{
    conn_ref(tc(c));
}

static void tcp_conn_unref(struct sk_conn *c)
{
    conn_unref(tc(c));
}

static void tcp_close(struct sk_tp *tp)
{
    struct tcp *t = (struct tcp *) tp;

    if (!t) return;
    for (unsigned i = 0; i < t->nlst; i++) {
        for (unsigned j = 0; j < t->nw; j++) {
            sk_loop_del_fd(t->w[j].loop, t->lfds[i][j]);
            close(t->lfds[i][j]);
        }
        free(t->lfds[i]);
    }
    for (unsigned b = 0; b < CONN_BUCKETS; b++) {
        while (t->conns[b]) {
            struct tcp_conn *c = t->conns[b];
            conn_ref(c);
            conn_close(c);
            conn_unref(c);
        }
    }
    free(t->w);
    pthread_mutex_destroy(&t->conn_lock);
    free(t);
}

static void tcp_stats(struct sk_tp *tp, struct sk_tp_stats *o)
{
    struct tcp *t = (struct tcp *) tp;

    memset(o, 0, sizeof(*o));
    o->accepted = atomic_load(&t->st.accepted);
    o->refused = atomic_load(&t->st.refused);
    o->closed_idle = atomic_load(&t->st.idle);
    o->closed_handshake = atomic_load(&t->st.handshake);
    o->closed_overflow = atomic_load(&t->st.overflow);
}

static size_t tcp_conn_count(struct sk_tp *tp)
{
    struct tcp *t = (struct tcp *) tp;
    size_t n;

    pthread_mutex_lock(&t->conn_lock);
    n = t->nconns;
    pthread_mutex_unlock(&t->conn_lock);
    return n;
}

static const struct sk_tp_ops tcp_ops = {
    .name = "TCP",
    .listen = tcp_listen,
    .send = tcp_send,
    .conn_ref = tcp_conn_ref,
    .conn_unref = tcp_conn_unref,
    .close = tcp_close,
    .stats = tcp_stats,
    .conn_count = tcp_conn_count,
};

int sk_tcp_new(struct sk_tp **tp, const struct sk_tcp_config *cfg, struct sk_loop **loops,
               unsigned nloops, const struct sk_tp_upcall *up)
{
    struct tcp *t;

    if (nloops == 0) return EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t) return ENOMEM;
    t->base.ops = &tcp_ops;
    t->cfg = *cfg;
    t->up = *up;
    t->nw = nloops;
    pthread_mutex_init(&t->conn_lock, NULL);
    t->w = calloc(nloops, sizeof(*t->w));
    if (!t->w) {
        tcp_close(&t->base);
        return ENOMEM;
    }
    for (unsigned i = 0; i < nloops; i++) {
        t->w[i].tcp = t;
        t->w[i].loop = loops[i];
        t->w[i].index = i;
    }
    *tp = &t->base;
    return 0;
}
