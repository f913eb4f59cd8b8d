/* RFC 3263 §4.3 failover for the proxy: when to try a branch's next target, and the
 * next hops found dead lately (skipped for a while), as pure functions. */
#ifndef SK_PROXY_FAILOVER_H
#define SK_PROXY_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/tp.h"

/* How long a dead next hop is tried last, and how many are remembered. */
#define SK_PX_DEAD_MS 30000
#define SK_PX_DEAD_MAX 8

struct sk_px_dead {
    struct {
        struct sk_sa addr;
        enum sip_proto proto;
        uint64_t until; /* loop ms; 0: a free entry */
    } e[SK_PX_DEAD_MAX];
};

/* §4.3: a 503 from the target, or (rx NULL) a transport error or Timer B/F: the next
 * target gets the request. Not Timer C's 408 on a branch that rang (provisional): the
 * target is alive, the callee did not answer. */
bool sk_px_failover_wanted(int status, bool from_network, bool provisional);

/* Remember dst as dead until now + SK_PX_DEAD_MS (the oldest entry makes room). */
void sk_px_dead_add(struct sk_px_dead *d, const struct sip_dest *dst, uint64_t now);
bool sk_px_dead_has(const struct sk_px_dead *d, const struct sip_dest *dst, uint64_t now);
/* The live targets first, the dead ones after them, each in their order (a dead one
 * is still tried when nothing else is left). Returns how many are live. */
size_t sk_px_order_targets(const struct sk_px_dead *d, struct sip_dest *dst, size_t n,
                           uint64_t now);

#endif
