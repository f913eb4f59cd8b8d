/* DNS through c-ares on our loop: c-ares tells which sockets to watch (SOCK_STATE_CB),
 * the loop watches them and a timer covers c-ares' retransmissions; answers are parsed
 * here (so every record type has its TTL) and cached until the TTL runs out. */
#include "net/dns.h"

#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#define DNS_MAX_RR 16   /* records kept per answer (a SIP domain has a handful) */
#define DNS_MAX_FDS 16  /* sockets c-ares opens: one per server and transport */

struct dns_entry {
    char name[SK_DNS_NAME_MAX];
    uint16_t type;
    bool used;
    int err;          /* 0 or ENOENT */
    uint64_t expires; /* loop ms */
    size_t n;
    struct sk_dns_rr *rr;
};

struct sk_dns_query {
    struct sk_dns *d;
    struct sk_dns_query *prev, *next;
    sk_dns_fn cb; /* NULL: cancelled, freed when c-ares calls back */
    void *arg;
    char name[SK_DNS_NAME_MAX];
    uint16_t type;
};

struct sk_dns {
    struct sk_loop *loop;
    ares_channel ch;
    struct sk_dns_config cfg;
    struct sk_timer timer; /* c-ares' next timeout */
    int fds[DNS_MAX_FDS];
    size_t nfds;
    struct dns_entry *cache;
    struct sk_dns_query *pending;
    size_t npending;
    uint64_t sent, hits;
    struct sk_dns_query *starting; /* inside ares_query */
    bool started_done;             /* ... which called back at once */
    bool freeing;
};

static int init_ares(void)
{
    static bool done;
    /* c-ares' global init is needed once per process; the library counts calls */
    if (!done) {
        if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) return EIO;
        done = true;
    }
    return 0;
}

/* ---- The loop glue ---- */

static void rearm(struct sk_dns *d);

static void on_io(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct sk_dns *d = arg;
    (void) loop;

    ares_process_fd(d->ch, (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
                    (events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
    rearm(d);
}

static void on_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct sk_dns *d = arg;
    (void) loop;
    (void) t;

    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts only */
    rearm(d);
}

/* The timer follows c-ares' next deadline (retransmission, or a query's end). */
static void rearm(struct sk_dns *d)
{
    struct timeval tv, *tp;

    if (d->freeing) return;
    tp = ares_timeout(d->ch, NULL, &tv);
    if (!tp) {
        sk_timer_stop(d->loop, &d->timer);
        return;
    }
    sk_timer_start(d->loop, &d->timer, (uint64_t) tp->tv_sec * 1000 + tp->tv_usec / 1000 + 1);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct sk_dns *d = data;
    uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
    size_t i;

    for (i = 0; i < d->nfds && d->fds[i] != fd; i++)
        ;
    if (!ev) {
        if (i < d->nfds) {
            sk_loop_del_fd(d->loop, fd);
            d->fds[i] = d->fds[--d->nfds];
        }
        return;
    }
    if (i < d->nfds) {
        sk_loop_mod_fd(d->loop, fd, ev, on_io, d);
    } else if (d->nfds < DNS_MAX_FDS && sk_loop_add_fd(d->loop, fd, ev, on_io, d) == 0) {
        d->fds[d->nfds++] = fd;
    }
    /* else: not watched; the timer still drives c-ares, which then times out */
}

/* ---- Parsing (RFC 1035 §4.1) ---- */

/* A possibly compressed name at off into out (dotted, no final dot); the offset after
 * it in *end. 0, or -1. */
static int read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t size,
                     size_t *end)
{
    size_t o = 0, pos = off;
    int jumps = 0;
    bool jumped = false;

    for (;;) {
        if (pos >= len) return -1;
        uint8_t n = msg[pos];
        if ((n & 0xC0) == 0xC0) {
            if (pos + 1 >= len || ++jumps > 16) return -1;
            if (!jumped) *end = pos + 2;
            jumped = true;
            pos = ((size_t) (n & 0x3F) << 8) | msg[pos + 1];
            continue;
        }
        if (n & 0xC0) return -1;
        if (n == 0) {
            if (!jumped) *end = pos + 1;
            break;
        }
        if (pos + 1 + n > len || o + n + 2 > size) return -1;
        if (o) out[o++] = '.';
        memcpy(out + o, msg + pos + 1, n);
        o += n;
        pos += 1 + n;
    }
    out[o] = '\0';
    return 0;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* A <character-string> (RFC 1035 §3.3) at *pos, before lim. */
static int read_cstr(const uint8_t *msg, size_t *pos, size_t lim, char *out, size_t size)
{
    size_t n;

    if (*pos >= lim) return -1;
    n = msg[*pos];
    if (*pos + 1 + n > lim) return -1;
    if (n >= size) n = size - 1; /* a longer one than we need: cut (never used whole) */
    memcpy(out, msg + *pos + 1, n);
    out[n] = '\0';
    *pos += 1 + (size_t) msg[*pos];
    return 0;
}

static int parse_rdata(const uint8_t *msg, size_t len, size_t pos, size_t rdlen,
                       struct sk_dns_rr *r)
{
    size_t lim = pos + rdlen, end;

    switch (r->type) {
    case SK_DNS_A:
        if (rdlen != 4) return -1;
        memcpy(r->u.addr, msg + pos, 4);
        return 0;
    case SK_DNS_AAAA:
        if (rdlen != 16) return -1;
        memcpy(r->u.addr, msg + pos, 16);
        return 0;
    case SK_DNS_SRV:
        if (rdlen < 7) return -1;
        r->u.srv.priority = get16(msg + pos);
        r->u.srv.weight = get16(msg + pos + 2);
        r->u.srv.port = get16(msg + pos + 4);
        return read_name(msg, len, pos + 6, r->u.srv.target, sizeof(r->u.srv.target), &end);
    case SK_DNS_NAPTR: {
        char regexp[256];
        if (rdlen < 7) return -1;
        r->u.naptr.order = get16(msg + pos);
        r->u.naptr.preference = get16(msg + pos + 2);
        pos += 4;
        if (read_cstr(msg, &pos, lim, r->u.naptr.flags, sizeof(r->u.naptr.flags)) ||
            read_cstr(msg, &pos, lim, r->u.naptr.service, sizeof(r->u.naptr.service)) ||
            read_cstr(msg, &pos, lim, regexp, sizeof(regexp)))
            return -1;
        return read_name(msg, len, pos, r->u.naptr.replacement,
                         sizeof(r->u.naptr.replacement), &end);
    }
    }
    return -1;
}

int sk_dns_parse(const uint8_t *msg, size_t len, enum sk_dns_type type, struct sk_dns_rr *rr,
                 size_t max, uint32_t *neg_ttl)
{
    char name[SK_DNS_NAME_MAX];
    size_t pos = 12, end;
    unsigned qd, an, ns;
    int n = 0;

    *neg_ttl = UINT32_MAX;
    if (len < 12) return -1;
    qd = get16(msg + 4);
    an = get16(msg + 6);
    ns = get16(msg + 8);
    for (unsigned i = 0; i < qd; i++) {
        if (read_name(msg, len, pos, name, sizeof(name), &end) || end + 4 > len) return -1;
        pos = end + 4;
    }
    for (unsigned i = 0; i < an + ns; i++) {
        uint16_t t;
        uint32_t ttl;
        size_t rdlen;
        if (read_name(msg, len, pos, name, sizeof(name), &end) || end + 10 > len) return -1;
        t = get16(msg + end);
        ttl = get32(msg + end + 4);
        if (ttl > INT32_MAX) ttl = 0; /* RFC 2181 §8: treat as zero */
        rdlen = get16(msg + end + 8);
        pos = end + 10;
        if (pos + rdlen > len) return -1;
        if (i < an && t == type && (size_t) n < max) {
            struct sk_dns_rr *r = &rr[n];
            memset(r, 0, sizeof(*r));
            r->type = t;
            r->ttl = ttl;
            if (parse_rdata(msg, len, pos, rdlen, r) == 0) n++;
        } else if (i >= an && t == 6) {
            /* RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM) */
            size_t p = pos, e2;
            char tmp[SK_DNS_NAME_MAX];
            if (read_name(msg, len, p, tmp, sizeof(tmp), &e2) ||
                read_name(msg, len, e2, tmp, sizeof(tmp), &e2) || e2 + 20 > pos + rdlen)
                return -1;
            uint32_t min = get32(msg + e2 + 16);
            *neg_ttl = ttl < min ? ttl : min;
        }
        pos += rdlen;
    }
    return n;
}

/* ---- The cache ---- */

/* The cache's clock: the monotonic one read now, not sk_loop_now, which a loop in
 * direct-wait mode (sk_loop_add_wait_fd) leaves at the time before its blocking
 * receive while it handles what came: after an idle minute, every entry would look
 * a minute younger than it is. */
static uint64_t cache_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static struct dns_entry *cache_find(struct sk_dns *d, const char *name, uint16_t type)
{
    uint64_t now = cache_now();

    for (size_t i = 0; i < d->cfg.cache_max; i++) {
        struct dns_entry *e = &d->cache[i];
        if (!e->used || e->type != type || strcasecmp(e->name, name) != 0) continue;
        if (e->expires <= now) {
            free(e->rr);
            e->rr = NULL;
            e->used = false;
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* A free slot, else the entry that expires first (bounded size). */
static struct dns_entry *cache_slot(struct sk_dns *d)
{
    struct dns_entry *best = NULL;
    uint64_t now = cache_now();

    for (size_t i = 0; i < d->cfg.cache_max; i++) {
        struct dns_entry *e = &d->cache[i];
        if (!e->used || e->expires <= now) {
            best = e;
            break;
        }
        if (!best || e->expires < best->expires) best = e;
    }
    free(best->rr);
    memset(best, 0, sizeof(*best));
    return best;
}

static void cache_put(struct sk_dns *d, const char *name, uint16_t type, int err,
                      const struct sk_dns_rr *rr, size_t n, uint32_t ttl)
{
    struct dns_entry *e;

    if (ttl > d->cfg.max_ttl) ttl = d->cfg.max_ttl;
    if (ttl == 0) return; /* RFC 1035 §3.2.1: TTL 0, use once and not cache */
    if ((e = cache_find(d, name, type))) {
        free(e->rr);
        e->rr = NULL;
        e->used = false;
    }
    e = cache_slot(d);
    if (n && !(e->rr = malloc(n * sizeof(*rr)))) return;
    if (n) memcpy(e->rr, rr, n * sizeof(*rr));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->type = type;
    e->err = err;
    e->n = n;
    e->expires = cache_now() + (uint64_t) ttl * 1000;
    e->used = true;
}

/* ---- Queries ---- */

static void unlink_query(struct sk_dns_query *q)
{
    struct sk_dns *d = q->d;

    if (q->prev)
        q->prev->next = q->next;
    else
        d->pending = q->next;
    if (q->next) q->next->prev = q->prev;
    d->npending--;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct sk_dns_query *q = arg;
    struct sk_dns *d = q->d;
    struct sk_dns_rr rr[DNS_MAX_RR];
    struct sk_dns_answer a = {.err = EIO, .n = 0, .rr = rr};
    uint32_t neg = UINT32_MAX, ttl = UINT32_MAX;
    (void) timeouts;

    unlink_query(q);
    if (q == d->starting) d->started_done = true;
    if (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND) {
        int n = abuf ? sk_dns_parse(abuf, (size_t) alen, q->type, rr, DNS_MAX_RR, &neg) : -1;
        if (n > 0) {
            a.err = 0;
            a.n = (size_t) n;
            for (int i = 0; i < n; i++)
                if (rr[i].ttl < ttl) ttl = rr[i].ttl;
        } else if (n == 0 || status != ARES_SUCCESS) {
            a.err = ENOENT; /* NXDOMAIN, or the name without records of the type */
            ttl = neg != UINT32_MAX ? neg : d->cfg.neg_ttl;
        }
        if (!d->freeing && (a.err == 0 || a.err == ENOENT))
            cache_put(d, q->name, q->type, a.err, rr, a.n, ttl);
    } else if (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED) {
        a.err = ETIMEDOUT;
    } else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        a.err = ECANCELED;
    }
    if (q->cb && !d->freeing) q->cb(q->arg, &a);
    free(q);
}

int sk_dns_query(struct sk_dns *d, const char *name, enum sk_dns_type type, sk_dns_fn cb,
                 void *arg, struct sk_dns_query **qp)
{
    struct dns_entry *e;
    struct sk_dns_query *q;
    size_t len;

    *qp = NULL;
    if (!d || !name || !cb || (len = strlen(name)) == 0 || len >= SK_DNS_NAME_MAX)
        return EINVAL;
    if ((e = cache_find(d, name, (uint16_t) type))) {
        struct sk_dns_answer a = {.err = e->err, .n = e->n, .rr = e->rr};
        d->hits++;
        cb(arg, &a);
        return 0;
    }
    if (!(q = calloc(1, sizeof(*q)))) return ENOMEM;
    q->d = d;
    q->cb = cb;
    q->arg = arg;
    q->type = (uint16_t) type;
    memcpy(q->name, name, len + 1);
    q->next = d->pending;
    if (q->next) q->next->prev = q;
    d->pending = q;
    d->npending++;
    d->sent++;
    *qp = q;
    /* c-ares calls back during ares_query only on an immediate error; then q is
     * gone and the answer was given during this call */
    d->starting = q;
    d->started_done = false;
    ares_query(d->ch, name, 1 /* C_IN */, type, on_answer, q);
    d->starting = NULL;
    if (d->started_done) *qp = NULL;
    rearm(d);
    return 0;
}

void sk_dns_cancel(struct sk_dns_query *q)
{
    if (q) q->cb = NULL; /* c-ares cannot drop one query; its callback frees q */
}

void sk_dns_get_stats(const struct sk_dns *d, struct sk_dns_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->sent = d->sent;
    st->hits = d->hits;
    st->pending = d->npending;
    for (size_t i = 0; i < d->cfg.cache_max; i++)
        if (d->cache[i].used) st->cached++;
}

/* ---- Set-up ---- */

int sk_dns_new(struct sk_dns **dp, const struct sk_dns_config *cfg, struct sk_loop *loop)
{
    static const struct sk_dns_config none;
    struct ares_options opt;
    struct sk_dns *d;
    int err;

    if (!cfg) cfg = &none;
    if (!loop) return EINVAL;
    if ((err = init_ares())) return err;
    if (!(d = calloc(1, sizeof(*d)))) return ENOMEM;
    d->loop = loop;
    d->cfg = *cfg;
    d->cfg.servers = NULL; /* not kept: c-ares copies them */
    if (!d->cfg.timeout_ms) d->cfg.timeout_ms = 2000;
    if (!d->cfg.tries) d->cfg.tries = 2;
    if (!d->cfg.cache_max) d->cfg.cache_max = 512;
    if (!d->cfg.max_ttl) d->cfg.max_ttl = 3600;
    if (!d->cfg.neg_ttl) d->cfg.neg_ttl = 30;
    sk_timer_init(&d->timer, on_timer, d);
    if (!(d->cache = calloc(d->cfg.cache_max, sizeof(*d->cache)))) {
        free(d);
        return ENOMEM;
    }
    memset(&opt, 0, sizeof(opt));
    opt.sock_state_cb = on_sock_state;
    opt.sock_state_cb_data = d;
    opt.timeout = (int) d->cfg.timeout_ms;
    opt.tries = (int) d->cfg.tries;
    /* we cache ourselves, and a SIP name is never searched in local domains */
    opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    if (ares_init_options(&d->ch, &opt,
                          ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                              ARES_OPT_FLAGS) != ARES_SUCCESS) {
        free(d->cache);
        free(d);
        return EIO;
    }
    if (cfg->servers && *cfg->servers &&
        ares_set_servers_ports_csv(d->ch, cfg->servers) != ARES_SUCCESS) {
        ares_destroy(d->ch);
        free(d->cache);
        free(d);
        return EINVAL;
    }
    *dp = d;
    return 0;
}

void sk_dns_free(struct sk_dns *d)
{
    if (!d) return;
    d->freeing = true; /* callbacks of pending queries do not run */
    ares_destroy(d->ch);
    sk_timer_stop(d->loop, &d->timer);
    for (size_t i = 0; i < d->nfds; i++)
        sk_loop_del_fd(d->loop, d->fds[i]);
    for (size_t i = 0; i < d->cfg.cache_max; i++)
        free(d->cache[i].rr);
    free(d->cache);
    free(d);
}
