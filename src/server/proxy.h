/* The stateful forking proxy and redirect server over a struct sk_proxy_env (RFC 3261
 * §16, §8.3). */
#ifndef SK_PROXY_H
#define SK_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "server/proxy_env.h"
#include "sip/route.h"

/* §16.4 with the environment's rule for "us" (sk_loc_is_self). 0, or EBADMSG
 * when the Route header is malformed: then *status is the answer (400) and
 * reason says why. */
int sk_proxy_prep(const struct sk_proxy_env *env, struct sip_msg *m,
                  struct sip_route_prep *pr, int *status, char *reason,
                  size_t reason_size);
/* §16.3 step 4 (RFC 5393): does the request carry a Via of ours with the branch
 * we would give it now? Then it loops (482). */
bool sk_proxy_detect_loop(const struct sk_proxy_env *env, struct sip_msg *m);
/* Forward a request statefully through its server transaction st (§16.5-16.7),
 * or redirect it (§8.3); pr: sk_proxy_prep's result for rx->msg. */
void sk_proxy_forward(const struct sk_proxy_env *env, struct sip_txn *st,
                      struct sip_rx *rx, const struct sip_route_prep *pr);
/* An ACK without a server transaction (for a 2xx): forwarded statelessly by Route. */
void sk_proxy_forward_ack(const struct sk_proxy_env *env, struct sip_rx *rx);
/* A CANCEL for the INVITE server transaction inv (on its loop): true when inv is
 * being proxied, and then every pending branch is cancelled (§16.10). */
bool sk_proxy_cancel_branches(const struct sk_proxy_env *env, struct sip_txn *inv);
/* The server transaction of a proxied request failed or the layer is freed. */
void sk_proxy_txn_gone(const struct sk_proxy_env *env, struct sip_txn *st);
/* A response that matched no client transaction: forwarded statelessly when its
 * top Via is ours (§16.7, §16.11), else dropped. */
void sk_proxy_forward_response(const struct sk_proxy_env *env, struct sip_rx *rx);

#endif
