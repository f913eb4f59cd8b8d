/* What the proxy needs from the server around it: a small function table and the objects
 * it shares, so proxy.c never sees struct sk_server. */
#ifndef SK_PROXY_ENV_H
#define SK_PROXY_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "server/location.h"
#include "server/registrar.h"
#include "server/server.h"
#include "sip/resolve.h"
#include "sip/transport.h"
#include "sip/txn.h"

/* The server's statistics the proxy moves (sk_server_stats). */
enum sk_proxy_counter {
    SK_PROXY_COUNT_RESPONSES,           /* a final response upstream */
    SK_PROXY_COUNT_PROXIED,             /* a request forwarded statefully */
    SK_PROXY_COUNT_STATELESS_FORWARDED, /* an ACK or stray response sent on */
    SK_PROXY_COUNT_LOOPS,               /* a request that looped (482) */
    SK_PROXY_COUNT_STRAY,               /* a stray response dropped */
};

/* What the proxy reports to the metrics (sk_proxy_env_ops.event). */
enum sk_proxy_event_kind {
    SK_PROXY_EV_RESPONSE,      /* a received response sent upstream: method, status */
    SK_PROXY_EV_CALL_START,    /* an INVITE without To tag forwarded: call_id, from, to */
    SK_PROXY_EV_CALL_RINGING,  /* a 180-189 of it sent upstream: call_id */
    SK_PROXY_EV_CALL_ANSWERED, /* its first 2xx sent upstream: call_id */
    SK_PROXY_EV_CALL_FAILED,   /* its final upstream was no 2xx: call_id, status */
    SK_PROXY_EV_BYE,           /* a BYE forwarded: call_id */
};

struct sk_proxy_event {
    enum sk_proxy_event_kind kind;
    enum sip_method method;
    int status;
    struct sk_str call_id, from, to;
};

struct sk_proxy_env_ops {
    /* Is host:port (an IP literal; port 0 = 5060) one of our listening addresses? */
    bool (*addr_is_ours)(void *arg, struct sk_str host, uint16_t port);
    /* The address we listen on for a protocol and family, or NULL (sip_tpm_local). */
    const struct sip_listen *(*local)(void *arg, enum sip_proto proto, int family);
    /* Send without a transaction (stateless ACK and response forwarding). */
    int (*send)(void *arg, const struct sip_dest *dst, const char *buf, size_t len);
    /* Our own response to rx's request, through st (NULL: stateless). */
    void (*respond)(void *arg, struct sip_txn *st, struct sip_rx *rx, int code,
                    const char *reason, const char *extra);
    /* §16.5: the bindings of an AOR (sk_loc_lookup); returns how many. */
    size_t (*lookup)(void *arg, const char *aor, int64_t now, sk_loc_fn fn, void *fn_arg);
    /* Is user@domain in the users table (404 or 480)? */
    bool (*user_exists)(void *arg, const char *user, const char *domain);
    /* §22.3: sk_registrar_authenticate on Proxy-Authorization for user (unset:
     * any of ours) in realm; 0 or a challenge in res. */
    int (*authenticate)(void *arg, const struct sip_rx *rx, struct sk_str user,
                        struct sk_str realm, struct sk_reg_result *res, int64_t now);
    void (*count)(void *arg, enum sk_proxy_counter which);
    void (*event)(void *arg, const struct sk_proxy_event *ev); /* NULL: not reported */
    /* Optional: true when rx's source must not learn which users exist (an
     * untrusted source under protection): an unknown user gets the 480 of a
     * known one with no binding, not 404. NULL: never. */
    bool (*hide_users)(void *arg, const struct sip_rx *rx);
};

struct sk_proxy_env {
    const struct sk_proxy_env_ops *ops;
    void *arg; /* the ops' argument (the server) */
    const struct sk_proxy_config *cfg;
    const struct sk_loc_self *self; /* what names us: §16.4, §16.5, AORs (sk_loc_aor) */
    const char (*domains)[256]; /* served domains: realms whose credentials we consume */
    unsigned ndomains;
    struct sip_txl *txl;           /* client transactions of the branches */
    struct sip_resolver *resolver; /* next hops (sip_resolve_start) */
};

/* The environment of sipkit serve's proxy, over the server s (proxy_env.c; called
 * once the server's transports, transaction layer and self are set up). */
struct sk_server;
int sk_proxy_env_server_init(struct sk_proxy_env *env, struct sk_server *s);
void sk_proxy_env_server_fini(struct sk_proxy_env *env);

#endif
