/* Route sets and next hops: §16.4 route preprocessing, §16.6 steps 6-7, and the
 * transport, host and port of a URI. */
#include "sip/route.h"

#include <errno.h>
#include <string.h>

bool sip_route_uri_is_us(const struct sip_uri *u, sip_route_is_local_fn is_local,
                         void *arg)
{
    return !sk_str_isset(u->user) &&
           (u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS) && is_local(arg, u);
}

/* A Route entry of ours: as above, or one of our addresses with a user part and
 * the "ob" parameter, which is what our Record-Route with a flow token looks like
 * (RFC 5626 §5.3 puts the token in the user part; "ob" marks an edge proxy's flow
 * URI). Any other user part is a target, not us. */
static bool route_is_ours(const struct sip_uri *u, sip_route_is_local_fn is_local, void *arg)
{
    struct sk_str v;

    return sip_route_uri_is_us(u, is_local, arg) ||
           (u->lr && sip_uri_param(u, "ob", &v) &&
            (u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS) && is_local(arg, u));
}

int sip_route_prep(struct sip_msg *m, sip_route_is_local_fn is_local, void *arg,
                   struct sip_route_prep *pr, struct sip_error *err)
{
    size_t n = 0;
    bool along_our_rr;
    int rc;

    memset(pr, 0, sizeof(*pr));
    pr->ruri = &m->ruri;
    rc = sip_msg_addrs(m, SIP_HDR_ROUTE, &pr->routes, &n, err);
    if (rc == ENOENT) {
        n = 0;
        pr->routes = NULL;
    } else if (rc) {
        return EBADMSG;
    }
    pr->last = n;
    /* §16.4: a Request-URI that is a Record-Route value of ours came from a strict
     * router: the real Request-URI is the last Route value */
    if (n > 0 && m->ruri.lr && sip_route_uri_is_us(&m->ruri, is_local, arg)) {
        pr->ruri = &pr->routes[n - 1].uri;
        pr->last = n - 1;
        pr->strict_fix = true;
    }
    /* our own entries at the top (two when we record-routed across transports,
     * RFC 5658) */
    for (int i = 0; i < 2 && pr->first < pr->last &&
                    route_is_ours(&pr->routes[pr->first].uri, is_local, arg);
         i++)
        pr->first++;
    along_our_rr =
        (pr->first > 0 || pr->strict_fix) && m->has_to && sk_str_isset(m->to.tag);
    pr->ruri_local = pr->first >= pr->last && !along_our_rr && is_local(arg, pr->ruri);
    return 0;
}

void sip_route_next(const struct sip_route_prep *pr, const struct sip_uri *target,
                    const struct sip_uri *path_hop, struct sip_route_next *out)
{
    out->ruri = target->raw;
    out->first = pr->first;
    out->strict_tail = SK_STR_NULL;
    /* §16.6 step 7: the next hop is the first Route (a Path first), else the target */
    if (path_hop) {
        out->hop = path_hop;
    } else if (pr->first < pr->last) {
        out->hop = &pr->routes[pr->first].uri;
        if (!out->hop->lr) {
            /* §16.6 step 6 (§12.2.1.1 for a UA): a strict router next gets the
             * Route value as its Request-URI, and the target goes to the end of
             * the Route set */
            out->strict_tail = target->raw;
            out->ruri = out->hop->raw;
            out->first++;
        }
    } else {
        out->hop = target;
    }
}

int sip_uri_hop(const struct sip_uri *u, struct sip_hop *h)
{
    struct sk_str host = sk_str_isset(u->maddr) ? u->maddr : u->host;

    memset(h, 0, sizeof(*h));
    if (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) return EPROTONOSUPPORT;
    h->secure = u->scheme == SIP_URI_SIPS;
    h->proto_given = sk_str_isset(u->transport);
    if (!h->proto_given)
        h->proto = h->secure ? SIP_PROTO_TLS : SIP_PROTO_UDP;
    else if (sip_proto_from_str(u->transport, &h->proto))
        return EPROTONOSUPPORT; /* SCTP */
    /* RFC 5630 §3.1: sips over TCP is TLS (transport=tcp, or the deprecated
     * transport=tls); sips is never sent over a transport without TLS */
    if (h->secure && h->proto == SIP_PROTO_TCP)
        h->proto = SIP_PROTO_TLS;
    if (h->secure && h->proto == SIP_PROTO_WS)
        h->proto = SIP_PROTO_WSS; /* RFC 7118 §5.2: sips with transport=ws */
    if (h->secure && h->proto != SIP_PROTO_TLS && h->proto != SIP_PROTO_WSS)
        return EPROTONOSUPPORT;
    /* maddr may be an IPv6 reference in brackets; the host is stored without */
    if (host.len > 2 && host.p[0] == '[') {
        host.p++;
        host.len -= 2;
    }
    h->host = host;
    /* §19.1.2: the transport's default port (5061 for TLS, also sip:...;transport=tls) */
    h->port = u->has_port ? u->port : sip_proto_default_port(h->proto);
    return 0;
}
