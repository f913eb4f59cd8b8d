/* Route sets and next hops (RFC 3261 §16.4, §16.6 steps 6-7, §12.2.1.1, §19.1): pure
 * functions over parsed messages and URIs. */
#ifndef SIP_ROUTE_H
#define SIP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/msg.h"
#include "sip/tp.h"
#include "sip/uri.h"

/* Does u name one of the caller's domains or addresses (with no port, or one it
 * listens on)? The caller's rule (a proxy: sk_loc_is_self); route.c only asks. */
typedef bool (*sip_route_is_local_fn)(void *arg, const struct sip_uri *u);

/* Does u name the caller as a hop (a Route or Record-Route value it put in): a
 * sip/sips URI without a user part that is_local accepts. */
bool sip_route_uri_is_us(const struct sip_uri *u, sip_route_is_local_fn is_local,
                         void *arg);

/* The Route set of a received request after §16.4: our own entries at the top
 * removed, and a Request-URI that is our Record-Route value (an upstream strict
 * router) replaced by the last Route entry. Slices into the message. */
struct sip_route_prep {
    const struct sip_uri *ruri;    /* the Request-URI to work with */
    const struct sip_addr *routes; /* every Route element received */
    size_t first, last;            /* the ones that remain: [first, last) */
    bool strict_fix;               /* the Request-URI came from the last Route */
    /* §16.5: no Route remains and the Request-URI names us (is_local): an AOR of
     * ours, to be looked up. Not for a request in a dialog that came along our
     * Record-Route: its Request-URI is the peer's Contact (a remote target,
     * §12.2), forwarded as it is, even when it is our address without a port (a
     * UA on port 5060 of our host, sip:x@127.0.0.1, while we listen on 5070). */
    bool ruri_local;
};

/* §16.4 on m (its Route header parsed through the message's accessor cache).
 * 0, or EBADMSG with err set when the Route header is malformed. */
int sip_route_prep(struct sip_msg *m, sip_route_is_local_fn is_local, void *arg,
                   struct sip_route_prep *pr, struct sip_error *err);

/* §16.6 steps 6-7 (and §12.2.1.1 for a UA's route set): what a request to one
 * target carries and where it goes. */
struct sip_route_next {
    struct sk_str ruri;        /* the Request-URI to send */
    const struct sip_uri *hop; /* the URI the request goes to (§16.6 step 7) */
    size_t first; /* received Route entries kept: pr->routes[first, pr->last) */
    /* step 6: the next hop is a strict router: it became the Request-URI and the
     * target goes to the end of the Route set as "<target>" (unset: not so) */
    struct sk_str strict_tail;
};

/* target: the branch's Request-URI (its raw text is what is sent); path_hop: the
 * first Path value of the binding (RFC 3327, sent as the first Route), or NULL.
 * The next hop is path_hop, else the first remaining Route, else the target. */
void sip_route_next(const struct sip_route_prep *pr, const struct sip_uri *target,
                    const struct sip_uri *path_hop, struct sip_route_next *out);

/* §18.1.1 / §19.1.2 without DNS: the transport, host and port a URI asks for. */
struct sip_hop {
    struct sk_str host;   /* maddr, else the host; IPv6 without brackets */
    uint16_t port;        /* the URI's port, else the transport's: 5061 for TLS, 5060 */
    enum sip_proto proto; /* transport=udp/tcp/tls; without one: UDP (sip), TLS (sips) */
    bool proto_given;     /* the URI has a transport parameter */
    bool secure;          /* sips: only over TLS (proto is then always TLS) */
};

/* 0, or EPROTONOSUPPORT: not a sip/sips URI, a transport other than UDP, TCP and
 * TLS and WS (SCTP, WSS: not yet), or sips over UDP. */
int sip_uri_hop(const struct sip_uri *u, struct sip_hop *h);

#endif
