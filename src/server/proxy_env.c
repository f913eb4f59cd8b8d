/* The proxy's environment in sipkit serve: struct sk_server behind the sk_proxy_env
 * function table, and the server-facing proxy entry points. */
#include "server/proxy_env.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

#include "server/proxy.h"
#include "server/server_int.h"
#include "store/store.h"

static bool env_addr_is_ours(void *arg, struct sk_str host, uint16_t port)
{
    return sk_server_addr_is_ours(arg, host, port);
}

static const struct sip_listen *env_local(void *arg, enum sip_proto proto, int family)
{
    struct sk_server *s = arg;
    return sip_tpm_local(s->tpm, proto, family);
}

static int env_send(void *arg, const struct sip_dest *dst, const char *buf, size_t len)
{
    struct sk_server *s = arg;
    return sip_tpm_send(s->tpm, dst, buf, len);
}

static void env_respond(void *arg, struct sip_txn *st, struct sip_rx *rx, int code,
                        const char *reason, const char *extra)
{
    sk_server_respond(arg, st, rx, code, reason, extra);
}

static size_t env_lookup(void *arg, const char *aor, int64_t now, sk_loc_fn fn,
                         void *fn_arg)
{
    struct sk_server *s = arg;
    return sk_loc_lookup(s->loc, aor, now, fn, fn_arg);
}

static bool env_user_exists(void *arg, const char *user, const char *domain)
{
    struct sk_server *s = arg;
    struct sk_user_rec rec;

    return s->store && sk_store_user_get(s->store, user, domain, &rec) == 0;
}

static int env_authenticate(void *arg, const struct sip_rx *rx, struct sk_str user,
                            struct sk_str realm, struct sk_reg_result *res, int64_t now)
{
    struct sk_server *s = arg;
    return sk_registrar_authenticate(s->reg, rx, SIP_HDR_PROXY_AUTHORIZATION, user, realm,
                                     res, now, NULL);
}

static void env_count(void *arg, enum sk_proxy_counter which)
{
    struct sk_server *s = arg;

    switch (which) {
    case SK_PROXY_COUNT_RESPONSES: atomic_fetch_add(&s->st.responses, 1); break;
    case SK_PROXY_COUNT_PROXIED: atomic_fetch_add(&s->st.proxied, 1); break;
    case SK_PROXY_COUNT_STATELESS_FORWARDED:
        atomic_fetch_add(&s->st.stateless_forwarded, 1);
        break;
    case SK_PROXY_COUNT_LOOPS: atomic_fetch_add(&s->st.loops, 1); break;
    case SK_PROXY_COUNT_STRAY: atomic_fetch_add(&s->st.stray, 1); break;
    }
}

/* The proxy's events to the metrics (server/metrics.h). */
static void env_event(void *arg, const struct sk_proxy_event *ev)
{
    struct sk_server *s = arg;

    switch (ev->kind) {
    case SK_PROXY_EV_RESPONSE:
        sk_met_response(s->metrics, ev->method, ev->status, true);
        break;
    case SK_PROXY_EV_CALL_START:
        sk_met_call_start(s->metrics, ev->call_id, ev->from, ev->to);
        break;
    case SK_PROXY_EV_CALL_RINGING: sk_met_call_ringing(s->metrics, ev->call_id); break;
    case SK_PROXY_EV_CALL_ANSWERED: sk_met_call_answered(s->metrics, ev->call_id); break;
    case SK_PROXY_EV_CALL_FAILED:
        sk_met_call_failed(s->metrics, ev->call_id, ev->status);
        break;
    case SK_PROXY_EV_BYE: sk_met_call_bye(s->metrics, ev->call_id); break;
    }
}

static bool env_hide_users(void *arg, const struct sip_rx *rx)
{
    struct sk_server *s = arg;
    return s->protect && !sk_protect_trusted(s->protect, &rx->src);
}

static const struct sk_proxy_env_ops server_ops = {
    .addr_is_ours = env_addr_is_ours,
    .local = env_local,
    .send = env_send,
    .respond = env_respond,
    .lookup = env_lookup,
    .user_exists = env_user_exists,
    .authenticate = env_authenticate,
    .count = env_count,
    .event = env_event,
    .hide_users = env_hide_users,
};

int sk_proxy_env_server_init(struct sk_proxy_env *env, struct sk_server *s)
{
    struct sip_resolve_config rc = sip_resolve_config_default;
    struct sip_resolver *r;
    int err;

    /* RFC 3263 for other domains: one DNS channel and cache per worker loop; TLS
     * targets (sips, SIPS+D2T) when we can connect over TLS */
    struct sk_dns_config dns = {.servers = s->cfg.proxy.dns};
    rc.tls = sip_tpm_has_tls(s->tpm);
    err = sip_resolver_new_dns(&r, &rc, s->loops, s->nw, &dns);
    if (err == EINVAL && s->cfg.proxy.dns[0]) {
        SK_ERROR("dns %s: not a server list (ADDR[:PORT],...)", s->cfg.proxy.dns);
        return err;
    }
    if (err) {
        /* no DNS (c-ares would not start): IP literals only, as before */
        SK_WARN("DNS unavailable (%s): next hops by address only", strerror(err));
        if ((err = sip_resolver_new(&r, &rc, NULL))) return err;
    }
    *env = (struct sk_proxy_env){
        .ops = &server_ops,
        .arg = s,
        .cfg = &s->cfg.proxy,
        .self = &s->self,
        .domains = (const char(*)[256]) s->cfg.domains,
        .ndomains = s->cfg.ndomains,
        .txl = s->txl,
        .resolver = r,
    };
    return 0;
}

void sk_proxy_env_server_fini(struct sk_proxy_env *env)
{
    sip_resolver_free(env->resolver);
    env->resolver = NULL;
}

/* ---- The entry points server.c calls ---- */

int sk_proxy_route_prep(struct sk_server *s, struct sip_msg *m, struct sip_route_prep *pr,
                        int *status, char *reason, size_t reason_size)
{
    return sk_proxy_prep(&s->proxy, m, pr, status, reason, reason_size);
}

bool sk_proxy_loops(struct sk_server *s, struct sip_msg *m)
{
    return sk_proxy_detect_loop(&s->proxy, m);
}

void sk_proxy_request(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx,
                      const struct sip_route_prep *pr)
{
    sk_proxy_forward(&s->proxy, st, rx, pr);
}

void sk_proxy_ack(struct sk_server *s, struct sip_rx *rx)
{
    sk_proxy_forward_ack(&s->proxy, rx);
}

bool sk_proxy_cancel(struct sk_server *s, struct sip_txn *inv)
{
    return sk_proxy_cancel_branches(&s->proxy, inv);
}

void sk_proxy_server_gone(struct sk_server *s, struct sip_txn *st)
{
    sk_proxy_txn_gone(&s->proxy, st);
}

void sk_proxy_stray_response(struct sk_server *s, struct sip_rx *rx)
{
    sk_proxy_forward_response(&s->proxy, rx);
}
