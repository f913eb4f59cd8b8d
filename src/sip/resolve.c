/* The resolve step: IP literals (and, for the UA, names through getaddrinfo) now; RFC
 * 3263 NAPTR/SRV fills the waiting path later. */
#include "sip/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

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
    if (h.secure) return EPROTONOSUPPORT; /* sips needs TLS */
    if (!h.proto_given) h.proto = cfg->default_proto;
    d->proto = h.proto;
    d->conn = NULL;
    if (sk_sa_from_ip(&d->addr, h.host, h.port) == 0) {
        out->n = 1;
        return 0;
    }
    if (cfg->names == SIP_RESOLVE_NAMES_BLOCKING)
        return lookup_name(h.host, h.port, cfg->family, h.proto, out);
    return EHOSTUNREACH; /* a name: DNS (RFC 3263) comes later */
}

/* ---- Resolutions that wait ---- */

struct sip_resolve {
    struct sip_resolver *r;
    struct sip_resolve *prev, *next;
    struct sk_timer timer; /* delivers the result on the loop */
    sip_resolve_fn cb;
    void *arg;
    int err;
    struct sip_resolve_result res;
};

struct sip_resolver {
    struct sip_resolve_config cfg;
    struct sk_loop *loop;
    struct sip_resolve *pending; /* a list, for cancelling at free */
    size_t npending;
};

int sip_resolver_new(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                     struct sk_loop *loop)
{
    struct sip_resolver *r;

    if (!cfg) cfg = &sip_resolve_config_default;
    if (cfg->defer && !loop) return EINVAL;
    if (!(r = calloc(1, sizeof(*r)))) return ENOMEM;
    r->cfg = *cfg;
    r->loop = loop;
    *rp = r;
    return 0;
}

static void unlink_query(struct sip_resolve *q)
{
    struct sip_resolver *r = q->r;

    if (q->prev)
        q->prev->next = q->next;
    else
        r->pending = q->next;
    if (q->next) q->next->prev = q->prev;
    r->npending--;
}

void sip_resolve_cancel(struct sip_resolve *q)
{
    if (!q) return;
    sk_timer_stop(q->r->loop, &q->timer);
    unlink_query(q);
    free(q);
}

void sip_resolver_free(struct sip_resolver *r)
{
    if (!r) return;
    while (r->pending)
        sip_resolve_cancel(r->pending);
    free(r);
}

size_t sip_resolver_pending(const struct sip_resolver *r)
{
    return r->npending;
}

static void on_deliver(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct sip_resolve *q = arg;
    (void) loop;
    (void) t;

    /* unlinked first: the callback may start or cancel other resolutions */
    unlink_query(q);
    q->cb(q->arg, q->err, q->err ? NULL : &q->res);
    free(q);
}

int sip_resolve_start(struct sip_resolver *r, const struct sip_uri *u, sip_resolve_fn cb,
                      void *arg, struct sip_resolve **qp)
{
    struct sip_resolve_result now;
    struct sip_resolve *q;
    int err;

    *qp = NULL;
    if (!r || !u || !cb) return EINVAL;
    if (!r->cfg.defer) {
        /* the fast path: no allocation, the answer during the call */
        err = sip_resolve_now(&r->cfg, u, &now);
        cb(arg, err, err ? NULL : &now);
        return 0;
    }
    if (!(q = calloc(1, sizeof(*q)))) return ENOMEM;
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    q->err = sip_resolve_now(&r->cfg, u, &q->res);
    sk_timer_init(&q->timer, on_deliver, q);
    if (sk_timer_start(r->loop, &q->timer, 0) != 0) {
        free(q); /* never linked: a resolution whose delivery cannot start would never end
                  */
        return ENOMEM;
    }
    q->next = r->pending;
    if (q->next) q->next->prev = q;
    r->pending = q;
    r->npending++;
    *qp = q;
    return 0;
}
