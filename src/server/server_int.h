/* Inside sipkit serve: the server context shared by the request handling (server.c) and the proxy (proxy.c). */
#ifndef SK_SERVER_INT_H
#define SK_SERVER_INT_H

#include <stdatomic.h>
#include <pthread.h>

#include "server/location.h"
#include "server/metrics.h"
#include "server/proxy_env.h"
#include "server/registrar.h"
#include "server/server.h"
#include "sip/route.h"
#include "sip/tu.h"
#include "store/store.h"

#define SERVER_NAME "sipkit/0.1.0"
/* What this server implements itself, as listed in Allow and 200 OK to OPTIONS. */
#define SERVER_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"
#define SERVER_SUPPORTED "path, outbound"

struct sk_server {
    struct sk_server_config cfg;
    unsigned nw;
    struct sk_loop **loops;
    pthread_t *threads;
    bool started;
    struct sip_tpm *tpm;
    struct sk_tls_ctx *tls_server, *tls_client; /* TLS contexts (tls_setup), or NULL */
    struct sip_txl *txl;
    struct sk_store *store;
    struct sk_loc *loc;
    struct sk_registrar *reg;
    struct sk_protect *protect; /* NULL when off (protect.h) */
    struct sk_audit *audit;     /* NULL when off (audit.h) */
    struct sip_tu tu; /* the handler chain (server.c), fixed before the workers start */
    /* What names us in a URI (listen addresses as bound, served domains): the one
     * rule for "for us" and for the AOR (sk_loc_is_self, sk_loc_aor) */
    struct sk_loc_self self;
    char tag_prefix[17]; /* random per process; with tag_seq, To tags unique per response */
    atomic_uint_fast64_t tag_seq;
    struct {
        atomic_uint_fast64_t requests, responses, bad_requests, bad_responses, stray, proxied,
            stateless_forwarded, loops, stateless_challenges;
    } st;
    struct sk_proxy_env proxy; /* what proxy.c sees of the server (proxy_env.c) */
    struct sk_metrics *metrics; /* what the workers count for /metrics (metrics.h) */
    atomic_bool ready;          /* the workers run: /health/ready (monitor.c) */
};

/* Is the URI one of our domains or addresses, with no port or one we listen on
 * (§16.4, §16.5; sk_loc_is_self)? */
bool sk_server_uri_is_local(const struct sk_server *s, const struct sip_uri *u);
/* Is host:port (an IP literal; port 0 = 5060) one of our listening addresses? */
bool sk_server_addr_is_ours(const struct sk_server *s, struct sk_str host, uint16_t port);
/* A response to rx's request through st, or stateless when st is NULL. extra: header lines. */
void sk_server_respond(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx, int code,
                       const char *reason, const char *extra);
/* A To tag unique to this process (§19.3). */
void sk_server_tag(struct sk_server *s, char *buf, size_t size);

/* ---- The proxy (proxy.c, through proxy_env.c) ---- */

/* §16.4 (sip_route_prep) with the server's rule for "us". 0, or EBADMSG with
 * *status (400) and reason set when the Route header is malformed. */
int sk_proxy_route_prep(struct sk_server *s, struct sip_msg *m, struct sip_route_prep *pr,
                        int *status, char *reason, size_t reason_size);
/* §16.3 step 4 (RFC 5393): does the request carry a Via of ours with the branch
 * we would give it now? Then it loops (482). */
bool sk_proxy_loops(struct sk_server *s, struct sip_msg *m);
/* Forward a request statefully (§16.5-16.7), or redirect it (§8.3). */
void sk_proxy_request(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx,
                      const struct sip_route_prep *pr);
/* An ACK without a server transaction (for a 2xx): forwarded statelessly by Route. */
void sk_proxy_ack(struct sk_server *s, struct sip_rx *rx);
/* A CANCEL for the INVITE server transaction inv (on its loop): true when inv is
 * being proxied, and then every pending branch is cancelled (§16.10). */
bool sk_proxy_cancel(struct sk_server *s, struct sip_txn *inv);
/* The server transaction of a proxied request failed or the layer is freed. */
void sk_proxy_server_gone(struct sk_server *s, struct sip_txn *st);
/* A response that matched no client transaction: forwarded statelessly when its
 * top Via is ours (§16.7, §16.11), else dropped. */
void sk_proxy_stray_response(struct sk_server *s, struct sip_rx *rx);

#endif
