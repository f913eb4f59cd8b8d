/* Where a SIP URI goes (RFC 3261 §18.1.1, RFC 3263 later): an asynchronous resolve step
 * with a list of targets for failover. */
#ifndef SIP_RESOLVE_H
#define SIP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "net/dns.h"
#include "net/loop.h"
#include "sip/tp.h"
#include "sip/uri.h"

/* Targets one resolution hands back, in the order to try them (RFC 3263 §4.3:
 * SRV priority and weight, then the addresses of each). */
#define SIP_RESOLVE_MAX_TARGETS 8

enum sip_resolve_names {
    SIP_RESOLVE_NAMES_NONE,     /* a host name is EHOSTUNREACH (tests; the proxy without DNS) */
    SIP_RESOLVE_NAMES_BLOCKING, /* A/AAAA through getaddrinfo, blocking (the UA today) */
    SIP_RESOLVE_NAMES_DNS,      /* RFC 3263 NAPTR/SRV/A/AAAA (sip_resolver_new_dns) */
};

struct sip_resolve_config {
    enum sip_proto default_proto; /* without a transport parameter (sip:): UDP */
    int family;                   /* AF_UNSPEC, or the family names are looked up in */
    enum sip_resolve_names names;
    /* Deliver every result from the loop, never inside sip_resolve_start: what
     * a DNS resolver does; tests use it for the waiting path. Needs a loop. */
    bool defer;
    /* TLS can be spoken (a TLS transport exists): sips URIs and SIPS+D2T /
     * _sips._tcp records resolve to TLS targets; without it a sips URI has none */
    bool tls;
};

extern const struct sip_resolve_config sip_resolve_config_default;

struct sip_resolve_result {
    size_t n;
    struct sip_dest dest[SIP_RESOLVE_MAX_TARGETS]; /* conn NULL */
};

/* err 0: res holds n >= 1 targets (valid during the call). Else no target:
 * EHOSTUNREACH (a name not resolved), EPROTONOSUPPORT (scheme or transport:
 * sips needs TLS, which does not exist yet). */
typedef void (*sip_resolve_fn)(void *arg, int err, const struct sip_resolve_result *res);

/* The synchronous part: what can be answered now (an IP literal, or a name with
 * SIP_RESOLVE_NAMES_BLOCKING). 0 with out filled, or an error as above. */
int sip_resolve_now(const struct sip_resolve_config *cfg, const struct sip_uri *u,
                    struct sip_resolve_result *out);

/* RFC 3263 for a caller with no loop to wait on (a phone starting up, dialing a
 * domain): a private loop and DNS resolver run until the answer, at most
 * timeout_ms (0: 5000). A name whose NAPTR/SRV/A/AAAA lookups in DNS give nothing
 * is then looked up by the system resolver (getaddrinfo in cfg->family:
 * /etc/hosts, "localhost") at the URI's port, as before DNS. Blocks the caller.
 * 0 with out filled; ETIMEDOUT, or an error as for sip_resolve_fn. */
int sip_resolve_wait(const struct sip_resolve_config *cfg,
                     const struct sk_dns_config *dns, const struct sip_uri *u,
                     unsigned timeout_ms, struct sip_resolve_result *out);

struct sip_resolver;
struct sip_resolve; /* one resolution that waits */

/* loop: where deferred results are delivered (NULL: none are; defer needs one).
 * A resolver is used on its loop's thread; without a loop it keeps no state and
 * may be shared by threads. */
int sip_resolver_new(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                     struct sk_loop *loop);
/* RFC 3263 through DNS: one sk_dns channel (dns: its servers, cache) per loop of loops;
 * a resolution runs on the loop it is started on (sip_resolve_start_on), which must be
 * one of them and its thread. cfg->names is taken as SIP_RESOLVE_NAMES_DNS. */
int sip_resolver_new_dns(struct sip_resolver **rp, const struct sip_resolve_config *cfg,
                         struct sk_loop *const *loops, size_t nloops,
                         const struct sk_dns_config *dns);
/* Pending resolutions are cancelled (their callbacks never run). */
void sip_resolver_free(struct sip_resolver *r);

/* Resolve u and call cb exactly once, unless cancelled first: during this call
 * (*qp = NULL: nothing to cancel) or later from the loop (*qp = the pending
 * resolution, valid until cb runs or it is cancelled). u need not outlive the
 * call. 0, or ENOMEM / EINVAL and then cb is not called. */
int sip_resolve_start(struct sip_resolver *r, const struct sip_uri *u, sip_resolve_fn cb,
                      void *arg, struct sip_resolve **qp);
/* The same on a given loop of a DNS resolver (any other resolver: its own loop). */
int sip_resolve_start_on(struct sip_resolver *r, struct sk_loop *loop, const struct sip_uri *u,
                         sip_resolve_fn cb, void *arg, struct sip_resolve **qp);
/* Cancel a pending resolution: its callback does not run. */
void sip_resolve_cancel(struct sip_resolve *q);
/* Resolutions waiting (for tests and statistics). */
size_t sip_resolver_pending(const struct sip_resolver *r);

/* ---- RFC 3263 target selection, pure (resolve.c; tests) ---- */

/* A uniform random number in [0, bound]. */
typedef uint32_t (*sip_rand_fn)(void *arg, uint32_t bound);

/* RFC 2782: priority ascending; within a priority, repeatedly pick a record with
 * probability weight/sum (weight 0 records first in the running sum, so they are
 * picked rarely). Sorts srv in place. */
void sip_srv_order(struct sk_dns_srv *srv, size_t n, sip_rand_fn rnd, void *rnd_arg);

/* One transport a NAPTR service (RFC 3263 §4.1) or SRV name stands for. */
struct sip_naptr_choice {
    enum sip_proto proto;
    bool tls;
    char srv_name[SK_DNS_NAME_MAX]; /* the replacement: an SRV name */
};

/* RFC 3263 §4.1: the NAPTR records for SIP over a transport we speak (secure: only
 * SIPS+; tls: whether TLS is one we speak), flag "S", in order then preference.
 * Returns how many (at most max). */
size_t sip_naptr_select(const struct sk_dns_naptr *rr, size_t n, bool secure, bool tls,
                        struct sip_naptr_choice *out, size_t max);

/* RFC 3263 §4.1: the SRV name for a transport: _sip._udp.HOST, _sip._tcp.HOST,
 * _sips._tcp.HOST (tls, or proto TLS). 0, ENAMETOOLONG, EPROTONOSUPPORT. */
int sip_srv_name(char *buf, size_t size, struct sk_str host, enum sip_proto proto, bool tls);

#endif
