/* RFC 3263 §4.3 failover pieces of the proxy: the failover rule and a small list of
 * dead next hops with expiry. */
#include "server/proxy_failover.h"

#include <string.h>

bool sk_px_failover_wanted(int status, bool from_network, bool provisional)
{
    if (from_network) return status == 503;
    return (status == 408 || status == 503) && !provisional;
}

static bool same_dest(const struct sip_dest *a, const struct sk_sa *addr, enum sip_proto proto)
{
    return a->proto == proto && a->addr.len == addr->len &&
           memcmp(&a->addr.u, &addr->u, addr->len) == 0;
}

void sk_px_dead_add(struct sk_px_dead *d, const struct sip_dest *dst, uint64_t now)
{
    size_t slot = 0;

    for (size_t i = 0; i < SK_PX_DEAD_MAX; i++) {
        if (d->e[i].until && same_dest(dst, &d->e[i].addr, d->e[i].proto)) {
            slot = i;
            break;
        }
        if (d->e[i].until < d->e[slot].until) slot = i; /* free (0) or oldest */
    }
    d->e[slot].addr = dst->addr;
    d->e[slot].proto = dst->proto;
    d->e[slot].until = now + SK_PX_DEAD_MS;
}

bool sk_px_dead_has(const struct sk_px_dead *d, const struct sip_dest *dst, uint64_t now)
{
    for (size_t i = 0; i < SK_PX_DEAD_MAX; i++)
        if (d->e[i].until > now && same_dest(dst, &d->e[i].addr, d->e[i].proto)) return true;
    return false;
}

size_t sk_px_order_targets(const struct sk_px_dead *d, struct sip_dest *dst, size_t n,
                           uint64_t now)
{
    struct sip_dest dead[16];
    size_t live = 0, ndead = 0;

    for (size_t i = 0; i < n; i++) {
        if (ndead < 16 && sk_px_dead_has(d, &dst[i], now))
            dead[ndead++] = dst[i];
        else
            dst[live++] = dst[i];
    }
    memcpy(&dst[live], dead, ndead * sizeof(*dead));
    return live;
}
