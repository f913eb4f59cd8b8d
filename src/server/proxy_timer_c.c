/* Timer C of a proxy's INVITE branch (RFC 3261 §16.8), on top of the generic client transaction calls. */
#include "server/proxy_timer_c.h"

#include <stddef.h>

static void timer_c_fired(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    struct sk_proxy_timer_c *c = arg;
    (void) l, (void) tm;

    switch (sip_txn_state(c->ct)) {
    case SIP_TXN_PROCEEDING:
        /* §16.8: a provisional came: CANCEL the branch (nothing if one was sent) */
        sip_txn_cancel(c->ct, NULL);
        break;
    case SIP_TXN_CALLING:
        /* §16.8: none came: the branch is treated as a 408 */
        sip_txn_client_timeout(c->ct);
        break;
    default:
        break;
    }
}

static void timer_c_arm(struct sk_proxy_timer_c *c)
{
    if (sk_timer_start(sip_txn_loop(c->ct), &c->tm, c->ms))
        sip_txn_cancel(c->ct, NULL); /* no Timer C: end the branch rather than wait for ever */
}

void sk_proxy_timer_c_start(struct sk_proxy_timer_c *c, struct sip_txn *ct, uint32_t ms)
{
    sk_timer_init(&c->tm, timer_c_fired, c);
    c->ct = ct;
    c->ms = ms;
    if (ms)
        timer_c_arm(c);
}

void sk_proxy_timer_c_response(struct sk_proxy_timer_c *c, int status)
{
    if (!c->ct || !c->ms)
        return;
    if (status >= 200 || sip_txn_cancel_requested(c->ct))
        sk_proxy_timer_c_stop(c);
    else if (status > 100)
        timer_c_arm(c);
}

void sk_proxy_timer_c_stop(struct sk_proxy_timer_c *c)
{
    if (c->ct && c->ms) {
        sk_timer_stop(sip_txn_loop(c->ct), &c->tm);
        c->ms = 0; /* over: later responses (2xx retransmissions) restart nothing */
    }
}
