/* The registration client (RFC 3261 §10.2): REGISTER with digest, refresh before expiry, NAT-learned Contact, unregister. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sip/print.h"
#include "ua/ua_int.h"

/* How long to wait before trying again after a failure (RFC 5626 §4.5 uses
 * a backoff; a fixed 30 s is what most phones do). */
#define REG_RETRY_MS 30000u

static void reg_send(struct ua *u);

static void reg_emit(struct ua *u, enum ua_event_type type, int status, const char *reason)
{
    struct ua_event ev = {.type = type, .status = status, .reason = reason,
                          .expires = u->reg.granted, .text = u->contact};
    ua_emit(u, &ev);
}

/* §10.2.4: refresh before the binding expires: halfway for short bindings,
 * a minute early for long ones. */
static uint64_t refresh_ms(uint32_t granted)
{
    uint32_t s = granted > 120 ? granted - 60 : granted / 2;
    return (uint64_t) (s ? s : 1) * 1000u;
}

static void on_refresh(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua *u = arg;
    (void) loop;
    (void) t;
    if (u->reg.state == REG_UNREGISTERING || u->reg.state == REG_DONE)
        return;
    u->reg.auth_tries = 0;
    reg_send(u);
}

/* RFC 5626 §4.4.1: a CRLF ping keeps a TCP flow (and the NAT binding on it) alive. */
static void on_keepalive(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua *u = arg;
    if (u->reg.state == REG_UP)
        sip_tpm_send(u->tpm, &u->registrar_dst, "\r\n\r\n", 4);
    if (sk_timer_start(loop, t, (uint64_t) u->cfg.keepalive_s * 1000u))
        SK_WARN("no timer for the TCP keep-alive: the flow is no longer pinged");
}

/* The expiry the registrar granted our contact (§10.2.4): the contact's expires
 * parameter in the 200, else the Expires header, else what we asked for. */
static uint32_t granted_expires(struct ua *u, struct sip_msg *m)
{
    const struct sip_addr *c;
    struct sip_error e;
    size_t n = 0;
    uint32_t v;

    if (sip_msg_addrs(m, SIP_HDR_CONTACT, &c, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++) {
            char host[80];
            if (!sk_str_eq_cstr(c[i].uri.user, u->user) || c[i].expires < 0)
                continue;
            /* ours if host:port is what we advertise */
            if (c[i].uri.host_type == SIP_HOST_IPV6)
                snprintf(host, sizeof(host), "[%.*s]:%u", SK_STR_FMT(c[i].uri.host),
                         c[i].uri.has_port ? c[i].uri.port : 5060);
            else
                snprintf(host, sizeof(host), "%.*s:%u", SK_STR_FMT(c[i].uri.host),
                         c[i].uri.has_port ? c[i].uri.port : 5060);
            if (strcmp(host, u->contact_host) == 0)
                return (uint32_t) c[i].expires;
        }
    }
    if (sip_msg_uint(m, SIP_HDR_EXPIRES, &v, &e) == 0)
        return v;
    return u->reg.expires;
}

/* RFC 3581 §4 / RFC 5626 §5: the registrar saw us at received:rport. When that
 * is not what our Contact says (a NAT between us), register that address
 * instead, once, and remove the old contact in the same request. */
static bool learn_address(struct ua *u, struct sip_msg *m)
{
    char seen[80], ip[64];
    const struct sip_via *v = &m->via;
    uint16_t port;

    if (!m->has_via || u->reg.old_contact[0])
        return false;
    if (!sk_str_isset(v->received) && !v->rport_has_value)
        return false;
    port = v->rport_has_value ? v->rport : (v->has_port ? v->port : 5060);
    if (sk_str_isset(v->received))
        sk_str_copy(ip, sizeof(ip), v->received);
    else
        sk_str_copy(ip, sizeof(ip), v->host);
    if (strchr(ip, ':'))
        snprintf(seen, sizeof(seen), "[%s]:%u", ip, port);
    else
        snprintf(seen, sizeof(seen), "%s:%u", ip, port);
    if (strcmp(seen, u->contact_host) == 0)
        return false;
    snprintf(u->reg.old_contact, sizeof(u->reg.old_contact), "%s", u->contact);
    SK_INFO("registrar sees us at %s, not %s: registering that address", seen, u->contact_host);
    ua_set_contact_host(u, seen);
    return true;
}

static void reg_failed(struct ua *u, int status, const char *reason)
{
    if (u->reg.state == REG_UNREGISTERING) {
        u->reg.state = REG_DONE;
        reg_emit(u, UA_EV_UNREGISTERED, status, reason);
        return;
    }
    u->reg.state = REG_FAILED;
    reg_emit(u, UA_EV_REG_FAILED, status, reason);
    u->reg.auth_tries = 0;
    if (sk_timer_start(u->loop, &u->reg.t_refresh, REG_RETRY_MS))
        SK_ERROR("no timer to retry the registration: it stays failed");
}

/* RFC 3263 §4.3: a REGISTER that timed out, failed at the transport or got 503
 * goes to the registrar's next target, with a new transaction; once every target
 * failed the registration fails and the retry starts again from the first. */
static bool reg_failover(struct ua *u, int status, const char *reason)
{
    const struct sip_resolve_result *tg = &u->registrar_targets;
    char was[64], next[64];

    if (u->have_proxy || tg->n < 2)
        return false;
    if (u->registrar_next >= tg->n) {
        u->registrar_dst = tg->dest[0]; /* the retry starts at the first again */
        u->registrar_next = 1;
        return false;
    }
    sk_sa_str(&u->registrar_dst.addr, was, sizeof(was));
    u->registrar_dst = tg->dest[u->registrar_next++];
    sk_sa_str(&u->registrar_dst.addr, next, sizeof(next));
    SK_WARN("registrar at %s: %d %s; trying its next target %s (RFC 3263 4.3)", was,
            status, reason, next);
    reg_send(u);
    return true;
}

static void on_reg_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua *u = arg;
    struct sip_msg *m = rx ? rx->msg : NULL;
    char reason[128];
    uint32_t v;
    struct sip_error e;

    (void) t;
    if (status < 200)
        return;
    if (m)
        sk_str_copy(reason, sizeof(reason), m->reason);
    else
        snprintf(reason, sizeof(reason), "%s", status == 408 ? "no answer from the registrar"
                                                              : "transport error");
    if ((!m || status == 503) && reg_failover(u, status, reason))
        return;
    if (status == 401 || status == 407) {
        struct sip_digest_client dc;
        int err;
        if (!u->cfg.password[0]) {
            reg_failed(u, status, "authentication required and no password given");
            return;
        }
        if ((err = sip_digest_client_pick(m, &dc))) {
            reg_failed(u, status, "no digest challenge we can answer");
            return;
        }
        /* No auth loop: the same credentials get one try per challenge; only a
         * stale nonce (RFC 7616 §3.3: the password was right) earns another. */
        if (u->reg.auth_tries >= 1 && !dc.stale) {
            reg_failed(u, status, "authentication failed (wrong user name or password?)");
            return;
        }
        if (u->reg.auth_tries >= 3) {
            reg_failed(u, status, "authentication failed: challenged again and again");
            return;
        }
        u->reg.auth_tries++;
        u->reg.dc = dc;
        u->reg.have_dc = true;
        reg_send(u);
        return;
    }
    if (status == 423 && m && sip_msg_uint(m, SIP_HDR_MIN_EXPIRES, &v, &e) == 0 &&
        v > u->reg.expires && u->reg.state != REG_UNREGISTERING) {
        /* §10.2.8: ask again with at least Min-Expires */
        u->reg.expires = v;
        reg_send(u);
        return;
    }
    if (status >= 300) {
        reg_failed(u, status, reason);
        return;
    }
    u->reg.auth_tries = 0;
    if (u->reg.state == REG_UNREGISTERING) {
        u->reg.state = REG_DONE;
        u->reg.granted = 0;
        reg_emit(u, UA_EV_UNREGISTERED, status, reason);
        return;
    }
    if (learn_address(u, m)) {
        reg_send(u);
        return;
    }
    u->reg.old_contact[0] = '\0';
    u->reg.granted = granted_expires(u, m);
    if (u->reg.granted == 0) {
        reg_failed(u, status, "the registrar kept no binding for our contact");
        return;
    }
    /* a binding we cannot refresh would silently expire: a failure now instead */
    if (sk_timer_start(u->loop, &u->reg.t_refresh, refresh_ms(u->reg.granted))) {
        reg_failed(u, status, "no timer for the refresh");
        return;
    }
    u->reg.state = REG_UP;
    reg_emit(u, UA_EV_REGISTERED, status, reason);
    if (sip_proto_reliable(u->local.proto) && u->cfg.keepalive_s &&
        !sk_timer_active(&u->reg.t_keepalive) &&
        sk_timer_start(u->loop, &u->reg.t_keepalive, (uint64_t) u->cfg.keepalive_s * 1000u))
        SK_WARN("no timer for the TCP keep-alive: the flow is not pinged");
}

static void on_reg_terminated(struct sip_txn *t, void *arg)
{
    struct ua *u = arg;
    if (u->reg.txn == t)
        u->reg.txn = NULL;
    sip_txn_unref(t);
}

static const struct sip_txn_user reg_user = {on_reg_response, on_reg_terminated};

static void reg_send(struct ua *u)
{
    struct ua_reg *r = &u->reg;
    struct sk_buf b;
    char branch[40], to[UA_STR_MAX];
    uint32_t expires = r->state == REG_UNREGISTERING ? 0 : r->expires;
    struct sip_txn *t = NULL;
    int err;

    snprintf(to, sizeof(to), "%s", u->cfg.aor);
    sk_buf_init(&b);
    /* §10.2: the same Call-ID for every REGISTER to this registrar, CSeq up by one */
    r->cseq++;
    ua_print_request_head(u, &b, "REGISTER", u->registrar_uri, r->from_tag, to, NULL, r->call_id,
                          r->cseq, branch, sizeof(branch));
    if (r->old_contact[0])
        sip_print_hdrf(&b, "Contact", "%s;expires=0", r->old_contact);
    sip_print_hdrf(&b, "Expires", "%u", expires);
    sk_buf_puts(&b, ua_capabilities);
    if (r->have_dc)
        sip_digest_client_authorize(&b, &r->dc, u->auth_user, u->cfg.password,
                                    sk_str_cstr("REGISTER"), sk_str_cstr(u->registrar_uri), NULL);
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    if (r->state != REG_UNREGISTERING)
        r->state = REG_SENDING;
    err = ua_send_request(u, &b, &u->registrar_dst, &reg_user, u, &t);
    sk_buf_free(&b);
    if (err) {
        reg_failed(u, 503, strerror(err));
        return;
    }
    r->txn = t;
}

int ua_reg_start(struct ua *u)
{
    struct ua_reg *r = &u->reg;

    ua_new_call_id(u, r->call_id, sizeof(r->call_id));
    ua_new_tag(u, r->from_tag, sizeof(r->from_tag));
    r->cseq = 0;
    r->expires = u->cfg.expires;
    sk_timer_init(&r->t_refresh, on_refresh, u);
    sk_timer_init(&r->t_keepalive, on_keepalive, u);
    reg_send(u);
    return 0;
}

void ua_reg_stop(struct ua *u)
{
    struct ua_reg *r = &u->reg;

    sk_timer_stop(u->loop, &r->t_refresh);
    sk_timer_stop(u->loop, &r->t_keepalive);
    if (r->state == REG_UP || r->state == REG_SENDING) {
        /* §10.2.2: Expires 0 for our contact removes exactly our binding */
        r->state = REG_UNREGISTERING;
        r->auth_tries = 0;
        reg_send(u);
    } else {
        r->state = REG_DONE;
    }
}

bool ua_reg_busy(const struct ua *u)
{
    return u->reg.state == REG_UNREGISTERING;
}

void ua_reg_free(struct ua *u)
{
    sk_timer_stop(u->loop, &u->reg.t_refresh);
    sk_timer_stop(u->loop, &u->reg.t_keepalive);
}

void ua_reg_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg)
{
    static const char *const names[] = {"idle", "registering", "registered", "failed",
                                        "unregistering", "unregistered"};
    char line[UA_STR_MAX * 6];
    snprintf(line, sizeof(line), "registration %s as %s at %s, contact %s, expires %u",
             names[u->reg.state], u->cfg.aor, u->registrar_uri, u->contact, u->reg.granted);
    fn(arg, line);
}
