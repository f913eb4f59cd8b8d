/* The resolve step: IP literals (and, for the UA, names through getaddrinfo) now; names
 * through DNS as RFC 3263 §4 says (NAPTR, SRV, A/AAAA) on the waiting path. */
#include "sip/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sip/route.h"

const struct sip_resolve_config sip_resolve_config_default = {
    .default_proto = SIP_PROTO_UDP,
    .family = AF_UNSPEC,
    .names = SIP_RESOLVE_NAMES_NONE,
    .defer = false,
};

/* A/AAAA through getaddrinfo, every address in the order it gives them. */
static int lookup_name(struct sk_str host, uint16_t port, int family,
                       enum sip_proto proto, struct sip_resolve_result *out)
{
    char name[256];
    struct addrinfo hints, *res = NULL, *ai;

    if (host.len >= sizeof(name)) return EINVAL;
    sk_str_copy(name, sizeof(name), host);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_DGRAM;
    /* RFC 3263 (NAPTR/SRV) comes with the DNS work; a name here is looked up as
     * A/AAAA at the port the URI gives (or 5060), which is what a phone pointed
     * at "localhost" or a host name needs. */
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res) return EHOSTUNREACH;
    out->n = 0;
    for (ai = res; ai && out->n < SIP_RESOLVE_MAX_TARGETS; ai = ai->ai_next) {
        struct sip_dest *d = &out->dest[out->n];
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(d->addr.u))
            continue;
        memset(d, 0, sizeof(*d));
        d->proto = proto;
        snprintf(d->name, sizeof(d->name), "%s", name);
        memcpy(&d->addr.u.sa, ai->ai_addr, ai->ai_addrlen);
        d->addr.len = ai->ai_addrlen;
        sk_sa_set_port(&d->addr, port);
        out->n++;
    }
    freeaddrinfo(res);
    return out->n ? 0 : EHOSTUNREACH;
}

int sip_resolve_now(const struct sip_resolve_config *cfg, const struct sip_uri *u,
                    struct sip_resolve_result *out)
{
    struct sip_dest *d = &out->dest[0];
    struct sip_hop h;
    int err;

    out->n = 0;
    if ((err = sip_uri_hop(u, &h))) return err;
    if ((h.secure || h.proto == SIP_PROTO_TLS) && !cfg->tls)
        return EPROTONOSUPPORT; /* sips needs TLS: never a downgrade */
    if (!h.proto_given && !h.secure) h.proto = cfg->default_proto;
    d->proto = h.proto;
    d->conn = NULL;
    sk_str_copy(d->name, sizeof(d->name), h.host);
    if (sk_sa_from_ip(&d->addr, h.host, h.port) == 0) {
        out->n = 1;
        return 0;
    }
    if (cfg->names == SIP_RESOLVE_NAMES_BLOCKING)
        return lookup_name(h.host, h.port, cfg->family, h.proto, out);
    return EHOSTUNREACH; /* a name: DNS only on the waiting path (sip_resolve_start) */
}

/* ---- RFC 3263 target selection (pure) ---- */

/* The transports a NAPTR service names (RFC 3263 §4.1, RFC 3261 §26); the TLS one is
 * spoken when the resolver's configuration says so (a TLS transport exists). */
static const struct {
    const char *service;
    const char *srv_prefix;
    enum sip_proto proto;
    bool tls;
    bool spoken;
} transports[] = {
    {"SIP+D2U", "_sip._udp.", SIP_PROTO_UDP, false, true},
    {"SIP+D2T", "_sip._tcp.", SIP_PROTO_TCP, false, true},
    {"SIPS+D2T", "_sips._tcp.", SIP_PROTO_TLS, true, true},
};
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

int sip_srv_name(char *buf, size_t size, struct sk_str host, enum sip_proto proto, bool tls)
{
    if (proto == SIP_PROTO_TLS) tls = true;
    for (size_t i = 0; i < NTRANSPORTS; i++) {
        if (transports[i].tls != tls) continue;
        if (!tls && transports[i].proto != proto) continue;
        int n = snprintf(buf, size, "%s%.*s", transports[i].srv_prefix, (int) host.len,
                         host.p);
        return n > 0 && (size_t) n < size ? 0 : ENAMETOOLONG;
    }
    return EPROTONOSUPPORT;
}

static int cmp_naptr(const void *a, const void *b)
{
    const struct sk_dns_naptr *x = *(const struct sk_dns_naptr *const *) a;
    const struct sk_dns_naptr *y = *(const struct sk_dns_naptr *const *) b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    if (x->preference != y->preference) return x->preference < y->preference ? -1 : 1;
    return 0;
}

size_t sip_naptr_select(const struct sk_dns_naptr *rr, size_t n, bool secure, bool tls,
                        struct sip_naptr_choice *out, size_t max)
{
    const struct sk_dns_naptr *sorted[32];
    size_t m = 0, k = 0;

    for (size_t i = 0; i < n && m < 32; i++)
        sorted[m++] = &rr[i];
    qsort(sorted, m, sizeof(sorted[0]), cmp_naptr);
    for (size_t i = 0; i < m && k < max; i++) {
        const struct sk_dns_naptr *x = sorted[i];
        /* RFC 3263 §4.1: "S" points at SRV records; other flags are not for SIP */
        if (strcasecmp(x->flags, "s") != 0 || !x->replacement[0]) continue;
        for (size_t t = 0; t < NTRANSPORTS; t++) {
            if (strcasecmp(x->service, transports[t].service) != 0) continue;
            /* a sips URI only over TLS (§4.1); and only transports we speak */
            if ((secure && !transports[t].tls) || !transports[t].spoken ||
                (transports[t].tls && !tls))
                break;
            out[k].proto = transports[t].proto;
            out[k].tls = transports[t].tls;
            snprintf(out[k].srv_name, sizeof(out[k].srv_name), "%s", x->replacement);
            k++;
            break;
        }
    }
    return k;
}

static int cmp_srv_prio(const void *a, const void *b)
{
    const struct sk_dns_srv *x = a, *y = b;
    if (x->priority != y->priority) return x->priority < y->priority ? -1 : 1;
    /* RFC 2782: weight 0 records first within a priority, for the running sum */
    if ((x->weight == 0) != (y->weight == 0)) return x->weight == 0 ? -1 : 1;
    return 0;
}

void sip_srv_order(struct sk_dns_srv *srv, size_t n, sip_rand_fn rnd, void *rnd_arg)
{
    size_t i = 0;

    qsort(srv, n, sizeof(*srv), cmp_srv_prio);
    while (i < n) {
        size_t end = i;
        while (end < n && srv[end].priority == srv[i].priority)
            end++;
        /* RFC 2782: pick from the unordered records of this priority: a random number
         * in [0, sum of weights], the first whose running sum reaches it */
        for (size_t k = i; k + 1 < end; k++) {
            uint32_t sum = 0, pick, run = 0;
            size_t j;
            for (j = k; j < end; j++)
                sum += srv[j].weight;
            pick = rnd(rnd_arg, sum);
            for (j = k; j < end; j++) {
                run += srv[j].weight;
                if (run >= pick) break;
            }
            if (j >= end) j = end - 1;
            struct sk_dns_srv tmp = srv[j];
            memmove(&srv[k + 1], &srv[k], (j - k) * sizeof(*srv));
            srv[k] = tmp;
        }
        i = end;
    }
}

/* ---- Resolutions that wait ---- */

#define MAX_JOBS SIP_RESOLVE_MAX_TARGETS

/* One name to look up as A/AAAA, and where its addresses go. */
struct addr_job {
    char name[SK_DNS_NAME_MAX];
    uint16_t port;
    enum sip_proto proto;
};

enum rs_step {
    RS_NAPTR, /* the NAPTR query of the host */
    RS_SRV,   /* SRV queries: srvs[isrv] */
    RS_A,     /* A of jobs[ijob] */
    RS_AAAA,  /* AAAA of jobs[ijob] */
};

struct resolver_slot {
    struct sk_loop *loop;
    struct sk_dns *dns;
    struct sip_resolve *pending; /* a list, for cancelling at free */
    size_t npending;
    uint64_t rnd; /* xorshift state for RFC 2782 weights */
};

struct sip_resolve {
    struct sip_resolver *r;
    struct resolver_slot *slot;
    struct sip_resolve *prev, *next;
    struct sk_timer timer; /* delivers the result on the loop */
    sip_resolve_fn cb;
    void *arg;
    int err;
    struct sip_resolve_result res;
    /* RFC 3263 through DNS */
    struct sk_dns_query *dq;
    enum rs_step step;
    char host[SK_DNS_NAME_MAX];
    enum sip_proto proto; /* the default for the A/AAAA fallback */
    struct sip_naptr_choice srvs[NTRANSPORTS * 2];
    size_t nsrvs, isrv;
    struct addr_job jobs[MAX_JOBS];
    size_t njobs, ijob;
    bool in_start, done;
    bool secure; /* a sips URI: TLS targets only */
};

struct sip_resolver {
    struct sip_resolve_config cfg;
    struct resolver_slot *slots;
    size_t nslots;
};

static int resolver_alloc(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                          size_t nslots)
{
    struct sip_resolver *r;

    if (!(r = calloc(1, sizeof(*r)))) return ENOMEM;
    if (!(r->slots = calloc(nslots, sizeof(*r->slots)))) {
        free(r);
        return ENOMEM;
    }
    r->cfg = *cfg;
    r->nslots = nslots;
    for (size_t i = 0; i < nslots; i++)
        r->slots[i].rnd = ((uint64_t) time(NULL) << 16) ^ (uintptr_t) &r->slots[i] ^ i;
    *rp = r;
    return 0;
}

int sip_resolver_new(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                     struct sk_loop *loop)
{
    int err;

    if (!cfg) cfg = &sip_resolve_config_default;
    if (cfg->defer && !loop) return EINVAL;
    if (cfg->names == SIP_RESOLVE_NAMES_DNS) return EINVAL; /* sip_resolver_new_dns */
    if ((err = resolver_alloc(rp, cfg, 1))) return err;
    (*rp)->slots[0].loop = loop;
    return 0;
}

int sip_resolver_new_dns(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                         struct sk_loop *const *loops, size_t nloops,
                         const struct sk_dns_config *dns)
{
    struct sip_resolver *r;
    int err;

    if (!cfg) cfg = &sip_resolve_config_default;
    if (!nloops || !loops) return EINVAL;
    if ((err = resolver_alloc(&r, cfg, nloops))) return err;
    r->cfg.names = SIP_RESOLVE_NAMES_DNS;
    for (size_t i = 0; i < nloops; i++) {
        r->slots[i].loop = loops[i];
        if ((err = sk_dns_new(&r->slots[i].dns, dns, loops[i]))) {
            sip_resolver_free(r);
            return err;
        }
    }
    *rp = r;
    return 0;
}

static void unlink_query(struct sip_resolve *q)
{
    struct resolver_slot *sl = q->slot;

    if (q->prev)
        q->prev->next = q->next;
    else
        sl->pending = q->next;
    if (q->next) q->next->prev = q->prev;
    sl->npending--;
}

void sip_resolve_cancel(struct sip_resolve *q)
{
    if (!q) return;
    sk_timer_stop(q->slot->loop, &q->timer);
    sk_dns_cancel(q->dq);
    unlink_query(q);
    free(q);
}

void sip_resolver_free(struct sip_resolver *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nslots; i++) {
        while (r->slots[i].pending)
            sip_resolve_cancel(r->slots[i].pending);
        sk_dns_free(r->slots[i].dns);
    }
    free(r->slots);
    free(r);
}

size_t sip_resolver_pending(const struct sip_resolver *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nslots; i++)
        n += r->slots[i].npending;
    return n;
}

static void deliver(struct sip_resolve *q)
{
    /* unlinked first: the callback may start or cancel other resolutions */
    unlink_query(q);
    q->cb(q->arg, q->err, q->err ? NULL : &q->res);
    free(q);
}

static void on_deliver(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    (void) loop;
    (void) t;
    deliver(arg);
}

static uint32_t slot_rand(void *arg, uint32_t bound)
{
    struct resolver_slot *sl = arg;
    uint64_t x = sl->rnd;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sl->rnd = x;
    return bound == UINT32_MAX ? (uint32_t) x : (uint32_t) (x % ((uint64_t) bound + 1));
}

/* The resolution is complete: now from the loop, or at the end of sip_resolve_start. */
static void finish(struct sip_resolve *q, int err)
{
    q->dq = NULL;
    q->err = q->res.n ? 0 : err;
    if (q->in_start)
        q->done = true;
    else
        deliver(q);
}

static void run(struct sip_resolve *q);

static void add_job(struct sip_resolve *q, const char *name, uint16_t port,
                    enum sip_proto proto)
{
    struct addr_job *j;

    if (q->njobs >= MAX_JOBS || !name[0]) return; /* RFC 2782: "." = no such service */
    j = &q->jobs[q->njobs++];
    snprintf(j->name, sizeof(j->name), "%s", name);
    j->port = port;
    j->proto = proto;
}

static void add_addr(struct sip_resolve *q, const struct addr_job *j, int family,
                     const uint8_t *a)
{
    struct sip_dest *d;

    if (q->res.n >= SIP_RESOLVE_MAX_TARGETS) return;
    d = &q->res.dest[q->res.n];
    memset(d, 0, sizeof(*d));
    d->proto = j->proto;
    snprintf(d->name, sizeof(d->name), "%s", q->host); /* RFC 5922 §7.3: the URI's domain */
    if (family == AF_INET) {
        d->addr.u.in.sin_family = AF_INET;
        memcpy(&d->addr.u.in.sin_addr, a, 4);
        d->addr.len = sizeof(d->addr.u.in);
    } else {
        d->addr.u.in6.sin6_family = AF_INET6;
        memcpy(&d->addr.u.in6.sin6_addr, a, 16);
        d->addr.len = sizeof(d->addr.u.in6);
    }
    sk_sa_set_port(&d->addr, j->port);
    /* the same address twice (two names for one host) is one target */
    for (size_t i = 0; i < q->res.n; i++)
        if (q->res.dest[i].proto == d->proto && q->res.dest[i].addr.len == d->addr.len &&
            memcmp(&q->res.dest[i].addr.u, &d->addr.u, d->addr.len) == 0)
            return;
    q->res.n++;
}

static void on_dns(void *arg, const struct sk_dns_answer *a)
{
    struct sip_resolve *q = arg;
    struct sk_dns_srv srv[16];
    size_t n = 0;

    q->dq = NULL;
    switch (q->step) {
    case RS_NAPTR: {
        struct sk_dns_naptr nap[16];
        for (size_t i = 0; a->err == 0 && i < a->n && n < 16; i++)
            nap[n++] = a->rr[i].u.naptr;
        q->nsrvs = sip_naptr_select(nap, n, q->secure, q->r->cfg.tls, q->srvs,
                                    NTRANSPORTS * 2);
        if (q->nsrvs == 0) {
            /* RFC 3263 §4.1: no (usable) NAPTR: SRV for each transport we speak,
             * TLS last; for sips only TLS */
            for (size_t t = 0; t < NTRANSPORTS; t++) {
                struct sip_naptr_choice *c = &q->srvs[q->nsrvs];
                if (!transports[t].spoken || (transports[t].tls && !q->r->cfg.tls) ||
                    (q->secure && !transports[t].tls))
                    continue;
                c->proto = transports[t].proto;
                c->tls = transports[t].tls;
                snprintf(c->srv_name, sizeof(c->srv_name), "%s%s", transports[t].srv_prefix,
                         q->host);
                q->nsrvs++;
            }
        }
        q->step = RS_SRV;
        q->isrv = 0;
        break;
    }
    case RS_SRV:
        for (size_t i = 0; a->err == 0 && i < a->n && n < 16; i++)
            srv[n++] = a->rr[i].u.srv;
        sip_srv_order(srv, n, slot_rand, q->slot);
        for (size_t i = 0; i < n; i++)
            add_job(q, srv[i].target, srv[i].port, q->srvs[q->isrv].proto);
        q->isrv++;
        break;
    case RS_A:
    case RS_AAAA:
        for (size_t i = 0; a->err == 0 && i < a->n; i++)
            add_addr(q, &q->jobs[q->ijob], q->step == RS_A ? AF_INET : AF_INET6,
                     a->rr[i].u.addr);
        if (q->step == RS_A && q->r->cfg.family != AF_INET) {
            q->step = RS_AAAA;
        } else {
            q->ijob++;
            q->step = RS_A;
        }
        break;
    }
    run(q);
}

/* The next query of the resolution, or its end. */
static void run(struct sip_resolve *q)
{
    struct resolver_slot *sl = q->slot;
    const char *name;
    enum sk_dns_type type;
    int err;

    if (q->step == RS_SRV && q->isrv >= q->nsrvs) {
        /* RFC 3263 §4.2: no SRV records: A/AAAA of the host at the default port */
        if (q->njobs == 0) add_job(q, q->host, sip_proto_default_port(q->proto), q->proto);
        q->step = RS_A;
        q->ijob = 0;
    }
    if (q->step == RS_A && q->r->cfg.family == AF_INET6) q->step = RS_AAAA;
    if ((q->step == RS_A || q->step == RS_AAAA) &&
        (q->ijob >= q->njobs || q->res.n >= SIP_RESOLVE_MAX_TARGETS)) {
        finish(q, EHOSTUNREACH);
        return;
    }
    switch (q->step) {
    case RS_NAPTR: name = q->host; type = SK_DNS_NAPTR; break;
    case RS_SRV: name = q->srvs[q->isrv].srv_name; type = SK_DNS_SRV; break;
    case RS_A: name = q->jobs[q->ijob].name; type = SK_DNS_A; break;
    default: name = q->jobs[q->ijob].name; type = SK_DNS_AAAA; break;
    }
    if ((q->step == RS_A || q->step == RS_AAAA)) {
        struct sip_dest d;
        /* an SRV target that is an address literal needs no query */
        if (sk_sa_from_ip(&d.addr, sk_str_cstr(name), q->jobs[q->ijob].port) == 0) {
            if (q->res.n < SIP_RESOLVE_MAX_TARGETS) {
                d.proto = q->jobs[q->ijob].proto;
                d.conn = NULL;
                snprintf(d.name, sizeof(d.name), "%s", q->host);
                q->res.dest[q->res.n++] = d;
            }
            q->ijob++;
            q->step = RS_A;
            run(q);
            return;
        }
    }
    if ((err = sk_dns_query(sl->dns, name, type, on_dns, q, &q->dq))) {
        struct sk_dns_answer none = {.err = err, .n = 0, .rr = NULL};
        on_dns(q, &none);
    }
}

/* Set a DNS resolution going: the step §4 of RFC 3263 starts with. */
static void start_dns(struct sip_resolve *q, const struct sip_uri *u)
{
    struct sip_hop h;
    int err;

    if ((err = sip_uri_hop(u, &h)) ||
        ((h.secure || h.proto == SIP_PROTO_TLS) && !q->r->cfg.tls)) {
        /* sips: TLS targets only (§4.1); without TLS: none, never a downgrade */
        finish(q, err ? err : EPROTONOSUPPORT);
        return;
    }
    q->secure = h.secure;
    q->proto = h.proto_given || h.secure ? h.proto : q->r->cfg.default_proto;
    if (h.host.len == 0 || h.host.len >= sizeof(q->host)) {
        finish(q, EHOSTUNREACH);
        return;
    }
    sk_str_copy(q->host, sizeof(q->host), h.host);
    if (u->has_port) {
        /* §4.2: a port given: A/AAAA only */
        add_job(q, q->host, h.port, q->proto);
        q->step = RS_A;
    } else if (h.proto_given) {
        /* §4.1: a transport given: SRV for it */
        q->nsrvs = 1;
        q->srvs[0].proto = h.proto;
        q->srvs[0].tls = h.proto == SIP_PROTO_TLS;
        if (sip_srv_name(q->srvs[0].srv_name, sizeof(q->srvs[0].srv_name), h.host, h.proto,
                         q->srvs[0].tls)) {
            finish(q, EHOSTUNREACH);
            return;
        }
        q->step = RS_SRV;
    } else {
        q->step = RS_NAPTR;
    }
    run(q);
}

static struct resolver_slot *slot_of(struct sip_resolver *r, struct sk_loop *loop)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].loop == loop) return &r->slots[i];
    return NULL;
}

int sip_resolve_start_on(struct sip_resolver *r, struct sk_loop *loop, const struct sip_uri *u,
                         sip_resolve_fn cb, void *arg, struct sip_resolve **qp)
{
    struct sip_resolve_result now;
    struct resolver_slot *sl;
    struct sip_resolve *q;
    bool dns;
    int err;

    *qp = NULL;
    if (!r || !u || !cb) return EINVAL;
    if (!(sl = r->cfg.names == SIP_RESOLVE_NAMES_DNS ? slot_of(r, loop) : &r->slots[0]))
        return EINVAL;
    err = sip_resolve_now(&r->cfg, u, &now);
    dns = err == EHOSTUNREACH && r->cfg.names == SIP_RESOLVE_NAMES_DNS;
    if (!r->cfg.defer && !dns) {
        /* the fast path: no allocation, the answer during the call */
        cb(arg, err, err ? NULL : &now);
        return 0;
    }
    if (!(q = calloc(1, sizeof(*q)))) return ENOMEM;
    q->r = r;
    q->slot = sl;
    q->cb = cb;
    q->arg = arg;
    sk_timer_init(&q->timer, on_deliver, q);
    q->next = sl->pending;
    if (q->next) q->next->prev = q;
    sl->pending = q;
    sl->npending++;
    if (dns) {
        q->in_start = true;
        start_dns(q, u);
        q->in_start = false;
    } else {
        q->err = err;
        q->res = now;
        q->done = true;
    }
    if (q->done && !r->cfg.defer) {
        deliver(q); /* every answer was in the cache */
        return 0;
    }
    if (q->done && sk_timer_start(sl->loop, &q->timer, 0) != 0) {
        /* a resolution whose delivery cannot start would never end */
        unlink_query(q);
        free(q);
        return ENOMEM;
    }
    *qp = q;
    return 0;
}

int sip_resolve_start(struct sip_resolver *r, const struct sip_uri *u, sip_resolve_fn cb,
                      void *arg, struct sip_resolve **qp)
{
    *qp = NULL;
    if (!r) return EINVAL;
    return sip_resolve_start_on(r, r->slots[0].loop, u, cb, arg, qp);
}

/* ---- Waiting for an answer, for callers without a loop ---- */

struct wait_state {
    bool done;
    int err;
    struct sip_resolve_result *out;
};

static void wait_done(void *arg, int err, const struct sip_resolve_result *res)
{
    struct wait_state *w = arg;
    w->done = true;
    w->err = err;
    if (!err) *w->out = *res;
}

int sip_resolve_wait(const struct sip_resolve_config *cfg,
                     const struct sk_dns_config *dns, const struct sip_uri *u,
                     unsigned timeout_ms, struct sip_resolve_result *out)
{
    struct sip_resolve_config lit = *cfg;
    struct wait_state w = {false, 0, out};
    struct sip_resolver *r = NULL;
    struct sip_resolve *q = NULL;
    struct sk_loop *loop = NULL;
    struct sip_hop h;
    uint64_t end;
    int err;

    lit.names = SIP_RESOLVE_NAMES_NONE;
    err = sip_resolve_now(&lit, u, out);
    if (err != EHOSTUNREACH) return err; /* an IP literal, or a URI we cannot use */
    if ((err = sk_loop_new(&loop, 0))) return err;
    if ((err = sip_resolver_new_dns(&r, cfg, &loop, 1, dns))) goto out;
    if ((err = sip_resolve_start(r, u, wait_done, &w, &q))) goto out;
    end = sk_loop_now(loop) + (timeout_ms ? timeout_ms : 5000);
    while (!w.done && sk_loop_now(loop) < end)
        sk_loop_run_once(loop, 50);
    if (!w.done) {
        sip_resolve_cancel(q);
        err = ETIMEDOUT;
    } else {
        err = w.err;
    }
out:
    sip_resolver_free(r);
    sk_loop_free(loop);
    if (err == EHOSTUNREACH && sip_uri_hop(u, &h) == 0) {
        if (!h.proto_given && !h.secure) h.proto = cfg->default_proto;
        err = lookup_name(h.host, h.port, cfg->family, h.proto, out);
    }
    return err;
}
