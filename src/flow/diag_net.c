/* Diagnosis rules about the network under the SIP: a hop or a media port that refuses
 * datagrams (ICMP port unreachable), and name lookups that held the call up (DNS). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "flow/diag_int.h"

/* DNS queries this long before an item's first message may be the lookup for it. */
#define DIAG_DNS_BEFORE_NS (10 * DIAG_NS_PER_S)
/* A lookup slower than this delays the call noticeably (RFC 3263 lookups are often
 * three in a row: NAPTR, SRV, A). */
#define DIAG_DNS_SLOW_NS (1 * DIAG_NS_PER_S)
#define DIAG_MAX_HOSTS 8

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    if (a->u.sa.sa_family == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
}

/* Index of the first entry at or after time t in an array in capture order, whose
 * entries hold their time as a uint64_t ts_ns at offset ts_off. */
static size_t first_at(const void *arr, size_t n, size_t size, size_t ts_off, uint64_t t)
{
    const char *p = arr;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t ts;
        memcpy(&ts, p + mid * size + ts_off, sizeof(ts));
        if (ts < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
#define FIRST_AT(arr, n, t) \
    first_at((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), ts_ns), (t))

static uint64_t item_until(const struct flow_item *it)
{
    uint64_t t = it->last_ns > it->media_last_ns ? it->last_ns : it->media_last_ns;
    return t + DIAG_NS_PER_S;
}

/* Rule: a SIP request of the item refused by its destination: nothing listens there
 * (a stale registered Contact, a phone that is gone, a wrong port). */
static void rule_sip_unreachable(struct diag *d, const struct flow_unreach *u, size_t nu)
{
    const struct flow_item *it = d->it;
    const struct flow_msg *fm;
    uint64_t until = item_until(it);

    for (size_t k = FIRST_AT(u, nu, it->start_ns); k < nu && u[k].ts_ns <= until;
         k++) {
        if (!u[k].port || u[k].proto != 17) continue;
        for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
            struct flow_finding *f;
            char dst[64], rep[64];

            if (!fm->request || fm->transport != FLOW_UDP ||
                !sk_sa_equal(&fm->dst, &u[k].dst) || !sk_sa_equal(&fm->src, &u[k].src) ||
                fm->ts_ns > u[k].ts_ns)
                continue;
            f = diag_add(d, FLOW_SEV_ERROR, "sip-unreachable");
            if (!f) return;
            diag_printf(f->summary, sizeof(f->summary), "%s unreachable: nothing listens",
                        sk_sa_str(&u[k].dst, dst, sizeof(dst)));
            diag_printf(
                f->detail, sizeof(f->detail),
                "%s refused the %s to %s with ICMP port unreachable (%u time%s): no "
                "SIP endpoint listens on that address and port",
                sk_sa_ip(&u[k].reporter, rep, sizeof(rep)), fm->method_name,
                sk_sa_str(&u[k].dst, dst, sizeof(dst)), u[k].count,
                u[k].count == 1 ? "" : "s");
            diag_printf(
                f->fix, sizeof(f->fix),
                "the target is stale or wrong: a registered Contact that outlived "
                "its phone (unregister on exit, shorter expiry, keep-alives), a "
                "moved NAT binding, or a wrong port in the configuration");
            diag_frame(f, fm->frame);
            diag_frame(f, u[k].frame);
            return;
        }
    }
}

/* Rule: RTP of the call refused by its destination: the SDP named a port nobody
 * listens on. ICMP after the hang-up (the far side closed first) is normal. */
static void rule_rtp_unreachable(struct diag *d, const struct flow_unreach *u, size_t nu)
{
    const struct flow_item *it = d->it;
    const struct flow_stream *s = d->streams;
    uint64_t until = it->end_ns && it->answer_ns ? it->end_ns : item_until(it);

    if (it->kind != FLOW_ITEM_CALL) return;
    for (size_t k = FIRST_AT(u, nu, it->start_ns); k < nu && u[k].ts_ns < until;
         k++) {
        if (!u[k].port || u[k].proto != 17) continue;
        for (size_t i = 0; i < d->nstreams; i++) {
            struct flow_finding *f;
            char src[64], dst[64];

            if (s[i].item != (int32_t) d->index || !sk_sa_equal(&s[i].dst, &u[k].dst) ||
                !sk_sa_equal(&s[i].src, &u[k].src))
                continue;
            f = diag_add(d, FLOW_SEV_ERROR, "rtp-unreachable");
            if (!f) return;
            diag_printf(f->summary, sizeof(f->summary),
                        "RTP to a port nobody listens on");
            diag_printf(
                f->detail, sizeof(f->detail),
                "RTP from %s to %s was refused with ICMP port unreachable (%u "
                "time%s): the SDP names a port the other side does not listen on, "
                "so that direction is silent",
                sk_sa_str(&s[i].src, src, sizeof(src)),
                sk_sa_str(&s[i].dst, dst, sizeof(dst)), u[k].count,
                u[k].count == 1 ? "" : "s");
            diag_printf(f->fix, sizeof(f->fix),
                        "compare the c=/m= lines with the port the phone really uses: a "
                        "SIP ALG or NAT rewriting the SDP, a closed media socket, or a "
                        "firewall; disable the ALG or use a media relay");
            diag_frame(f, s[i].first_frame);
            diag_frame(f, u[k].frame);
            return;
        }
    }
}

/* Rule: a name lookup by a host of the item that was slow, retried, failed or never
 * answered, around the item's start: the call (or registration) waited for it. */
static void rule_dns(struct diag *d, const struct flow_dns *q, size_t nq)
{
    const struct flow_item *it = d->it;
    const struct flow_msg *fm;
    struct sk_sa hosts[DIAG_MAX_HOSTS];
    size_t nh = 0;
    const struct flow_dns *worst = NULL;
    uint64_t worst_ns = 0, from, until = item_until(it);
    struct flow_finding *f;
    char qt[16], srv[64];

    for (size_t i = d->msg_first;
         (fm = diag_next_msg(d, &i)) != NULL && nh < DIAG_MAX_HOSTS; i++) {
        bool seen = false;
        for (size_t h = 0; h < nh && !seen; h++)
            seen = same_ip(&hosts[h], &fm->src);
        if (!seen) hosts[nh++] = fm->src;
    }
    from = it->start_ns > DIAG_DNS_BEFORE_NS ? it->start_ns - DIAG_DNS_BEFORE_NS : 0;
    for (size_t k = FIRST_AT(q, nq, from); k < nq && q[k].ts_ns <= until; k++) {
        uint64_t took = q[k].reply_frame ? q[k].reply_ns - q[k].ts_ns : UINT64_MAX;
        bool mine = false, bad = q[k].rcode == 2 || q[k].rcode == 5 || q[k].rcode == -1;

        for (size_t h = 0; h < nh && !mine; h++)
            mine = same_ip(&hosts[h], &q[k].client);
        /* a lookup before the item must have ended (answered or given up) by its start */
        if (!mine || (q[k].ts_ns < it->start_ns && q[k].reply_frame &&
                      q[k].reply_ns > it->start_ns + DIAG_NS_PER_S))
            continue;
        if (!bad && took < DIAG_DNS_SLOW_NS && !q[k].retries) continue;
        if (!worst || took > worst_ns) {
            worst = &q[k];
            worst_ns = took;
        }
    }
    if (!worst) return;
    f = diag_add(
        d, worst->reply_frame && worst->rcode == 0 ? FLOW_SEV_WARNING : FLOW_SEV_ERROR,
        worst->reply_frame && worst->rcode == 0 ? "dns-slow" : "dns-failure");
    if (!f) return;
    snprintf(qt, sizeof(qt), "%s", flow_dns_qtype_name(worst->qtype, srv, sizeof(srv)));
    sk_sa_str(&worst->server, srv, sizeof(srv));
    if (worst->reply_frame && worst->rcode != 0)
        diag_printf(f->summary, sizeof(f->summary), "DNS %s of %s: %s", qt, worst->name,
                    flow_dns_rcode_name(worst->rcode));
    else if (worst->reply_frame)
        diag_printf(f->summary, sizeof(f->summary), "DNS %s of %s took %.1f s", qt,
                    worst->name, diag_secs(worst_ns));
    else
        diag_printf(f->summary, sizeof(f->summary), "DNS %s of %s never answered", qt,
                    worst->name);
    if (worst->reply_frame && worst->rcode != 0)
        diag_printf(f->detail, sizeof(f->detail),
                    "the %s lookup of %s at %s was answered %s: the server could not "
                    "resolve it, so the resolver had to try again (or give up) before "
                    "the %s could go on",
                    qt, worst->name, srv, flow_dns_rcode_name(worst->rcode),
                    it->kind == FLOW_ITEM_CALL ? "call setup" : "request");
    else if (worst->reply_frame)
        diag_printf(f->detail, sizeof(f->detail),
                    "the %s lookup of %s at %s was answered %s after %.1f s (%u "
                    "retr%s); the %s waited for it",
                    qt, worst->name, srv, flow_dns_rcode_name(worst->rcode),
                    diag_secs(worst_ns), worst->retries,
                    worst->retries == 1 ? "y" : "ies",
                    it->kind == FLOW_ITEM_CALL ? "call setup" : "request");
    else
        diag_printf(f->detail, sizeof(f->detail),
                    "the %s lookup of %s at %s got no reply (%u retr%s); the %s waited "
                    "for it",
                    qt, worst->name, srv, worst->retries,
                    worst->retries == 1 ? "y" : "ies",
                    it->kind == FLOW_ITEM_CALL ? "call setup" : "request");
    diag_printf(f->fix, sizeof(f->fix),
                "check the resolver the host uses (/etc/resolv.conf: is the first "
                "nameserver up and near?), add a local cache, fix the zone "
                "(NAPTR/SRV/A records of the SIP domain), or configure the hop by IP");
    diag_frame(f, worst->frame);
    if (worst->reply_frame) diag_frame(f, worst->reply_frame);
}

void diag_rules_net(struct diag *d)
{
    size_t nu, nq;
    const struct flow_unreach *u = flow_model_unreach(d->m, &nu);
    const struct flow_dns *q = flow_model_dns(d->m, &nq);

    if (nu) {
        rule_sip_unreachable(d, u, nu);
        rule_rtp_unreachable(d, u, nu);
    }
    if (nq) rule_dns(d, q, nq);
}
