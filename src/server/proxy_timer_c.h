/* Timer C of a proxy's INVITE branch (RFC 3261 §16.6 step 11, §16.7 step 2, §16.8), on the branch's loop. */
#ifndef SK_PROXY_TIMER_C_H
#define SK_PROXY_TIMER_C_H

#include <stdint.h>

#include "net/loop.h"
#include "sip/txn.h"

/* Embedded in the branch; zero it (or sk_proxy_timer_c_start it) before use. */
struct sk_proxy_timer_c {
    struct sk_timer tm;
    struct sip_txn *ct; /* the branch's INVITE client transaction (borrowed) */
    uint32_t ms;        /* 0: not armed */
};

/* Arm Timer C (greater than 3 minutes, §16.6 step 11) for ct, on ct's loop. When it
 * fires, a branch that had a provisional response is cancelled, one that had
 * none is treated as 408 (§16.8). If the timer cannot start, the branch is
 * cancelled at once (the CANCEL leaves with its first provisional, §9.1), so it
 * still ends: ct's own guards bound it then. */
void sk_proxy_timer_c_start(struct sk_proxy_timer_c *c, struct sip_txn *ct, uint32_t ms);
/* Every response of the branch: a 101-199 restarts it (§16.7 step 2) unless a
 * CANCEL was asked for; a final response stops it. */
void sk_proxy_timer_c_response(struct sk_proxy_timer_c *c, int status);
/* Stop it (the branch's transaction is over). Safe on a zeroed or stopped one. */
void sk_proxy_timer_c_stop(struct sk_proxy_timer_c *c);

#endif
