/* The user agent core: one loop, its transports and transaction layer, request building and dispatch. */
#include "ua/ua_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/rand.h"
#include "net/tls.h"
#include "sip/print.h"
#include "sip/resolve.h"
#include "sip/route.h"

#define UA_NAME "sipkit/" "0.1.0"

/* The lines without the option tags of our config; u->caps is what we send. */
const char ua_capabilities[] =
    "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE\r\n"
    "Accept: application/sdp\r\n"
    "Supported: replaces\r\n";

void ua_config_defaults(struct ua_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen.proto = SIP_PROTO_UDP;
    sk_sa_from_ip(&c->listen.addr, sk_str_cstr("127.0.0.1"), 0);
    c->expires = 3600;
    c->keepalive_s = 30;
    c->tls_verify = true;
    c->auto_answer_ms = -1;
    c->max_calls = 1;
    c->no_answer_s = 60;
    c->rtp_timeout_s = 30;
    c->txn = sip_txn_config_default;
    c->txn.buckets = 256;
    c->txn.max_txns = 4096;
    c->rtp_port_min = 10000;
    c->rtp_port_max = 20000;
    snprintf(c->play, sizeof(c->play), "tone:440");
    snprintf(c->codecs, sizeof(c->codecs), "PCMU,PCMA");
    c->ptime_ms = 20;
    c->max_redirects = 5;
    c->forward_after_s = 20;
    c->rel100 = UA_REL100_SUPPORTED;
    c->min_se = 90;
}

const char *ua_event_name(enum ua_event_type t)
{
    switch (t) {
    case UA_EV_REGISTERED: return "registered";
    case UA_EV_REG_FAILED: return "registration-failed";
    case UA_EV_UNREGISTERED: return "unregistered";
    case UA_EV_INCOMING: return "incoming";
    case UA_EV_CALLING: return "calling";
    case UA_EV_RINGING: return "ringing";
    case UA_EV_EARLY_MEDIA: return "early-media";
    case UA_EV_ANSWERED: return "answered";
    case UA_EV_DTMF: return "dtmf-received";
    case UA_EV_HUNGUP: return "hungup";
    case UA_EV_INFO: return "info";
    case UA_EV_HELD: return "held";
    case UA_EV_RESUMED: return "resumed";
    case UA_EV_REMOTE_HOLD: return "remote-hold";
    case UA_EV_REMOTE_RESUME: return "remote-resume";
    case UA_EV_HOLD_FAILED: return "hold-failed";
    case UA_EV_MESSAGE: return "message-received";
    case UA_EV_MESSAGE_SENT: return "message-sent";
    case UA_EV_REDIRECTED: return "redirected";
    case UA_EV_FORWARDED: return "forwarded";
    case UA_EV_PRACK: return "prack";
    case UA_EV_SESSION_REFRESHED: return "session-refreshed";
    }
    return "?";
}

void ua_emit(struct ua *u, const struct ua_event *ev)
{
    if (u->ev)
        u->ev(u->ev_arg, ev);
}

void ua_new_tag(struct ua *u, char *buf, size_t size)
{
    (void) u;
    if (size < 17) {
        if (size)
            buf[0] = '\0';
        return;
    }
    sk_hex(buf, sk_rand64(), 16);
    buf[16] = '\0';
}

void ua_new_call_id(struct ua *u, char *buf, size_t size)
{
    char a[17], b[17];
    sk_hex(a, sk_rand64(), 16);
    sk_hex(b, sk_rand64(), 16);
    a[16] = b[16] = '\0';
    snprintf(buf, size, "%s%s@%s", a, b, u->tag_prefix);
}

/* ---- Destinations ---- */

/* RFC 6761 §6.3: "localhost" names never go to DNS. */
static bool is_localhost(const struct sip_hop *h)
{
    static const char suffix[] = ".localhost";
    size_t n = sizeof(suffix) - 1;
    return sk_str_ieq_cstr(h->host, "localhost") ||
           (h->host.len > n && strncasecmp(h->host.p + h->host.len - n, suffix, n) == 0);
}

/* §8.1.2 / §12.2.1.1 next hops through the sip layer's resolve step (sip/resolve.h):
 * IP literals; names by RFC 3263 (NAPTR, SRV, A/AAAA in DNS, then the system
 * resolver) unless DNS is off or the name is localhost: then getaddrinfo in our
 * family. A UA listens on one transport: a URI without transport= goes over it,
 * and one asking for another cannot be reached; nor can a target whose records
 * name only other transports. Every target found, in RFC 3263 order, goes to res. */
static int dest_targets(struct ua *u, const struct sip_uri *uri, struct sip_resolve_result *res)
{
    struct sip_resolve_config rc = {
        .default_proto = u->local.proto,
        .family = u->local.addr.u.sa.sa_family,
        .names = SIP_RESOLVE_NAMES_BLOCKING,
        .tls = u->local.proto == SIP_PROTO_TLS,
    };
    struct sk_dns_config dc = {0};
    struct sip_hop h;
    size_t n = 0;
    int err;

    if ((err = sip_uri_hop(uri, &h)))
        return err;
    /* sips needs TLS (never downgraded); none, or udp: the transport we listen on,
     * as before; we listen on one transport */
    if ((h.secure && u->local.proto != SIP_PROTO_TLS) ||
        (h.proto_given && h.proto != SIP_PROTO_UDP && h.proto != u->local.proto))
        return EPROTONOSUPPORT;
    if (strcmp(u->cfg.dns, "off") == 0 || is_localhost(&h)) {
        err = sip_resolve_now(&rc, uri, res);
    } else {
        dc.servers = u->cfg.dns;
        dc.timeout_ms = 1000;
        err = sip_resolve_wait(&rc, &dc, uri, 4000, res);
    }
    if (err)
        return err;
    for (size_t i = 0; i < res->n; i++) {
        struct sip_dest *d = &res->dest[i];
        /* an explicit transport=udp on a TCP phone: ours, as before */
        if (h.proto_given || h.secure ? false : d->proto != u->local.proto)
            continue;
        d->proto = u->local.proto;
        d->conn = NULL;
        res->dest[n++] = *d;
    }
    res->n = n;
    return n ? 0 : EPROTONOSUPPORT;
}

int ua_dest_direct(struct ua *u, const struct sip_uri *uri, struct sip_dest *d)
{
    struct sip_resolve_result res;
    int err;

    memset(d, 0, sizeof(*d));
    if ((err = dest_targets(u, uri, &res)))
        return err;
    *d = res.dest[0];
    return 0;
}

int ua_dest_for_uri(struct ua *u, const struct sip_uri *uri, struct sip_dest *d)
{
    if (u->have_proxy) {
        *d = u->proxy_dst;
        return 0;
    }
    return ua_dest_direct(u, uri, d);
}

/* "host[:port]" or "sip:host[:port];params" as a URI, whose slices point into text. */
static int parse_target(const char *s, char *text, size_t size, struct sip_uri *uri)
{
    struct sip_error e;

    if (strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0)
        snprintf(text, size, "%s", s);
    else
        snprintf(text, size, "sip:%s", s);
    return sip_uri_parse(uri, text, strlen(text), &e);
}

/* "host[:port]", "sip:host[:port];params" */
int ua_dest_for_str(struct ua *u, const char *s, struct sip_dest *d, char *uri_out, size_t uri_size)
{
    char text[UA_STR_MAX + 8];
    struct sip_uri uri;
    int err;

    if ((err = parse_target(s, text, sizeof(text), &uri)))
        return err;
    if (uri_out)
        snprintf(uri_out, uri_size, "%s", text);
    return ua_dest_direct(u, &uri, d);
}

void ua_normalise_target(struct ua *u, const char *in, char *out, size_t size)
{
    if (strncmp(in, "sip:", 4) == 0 || strncmp(in, "sips:", 5) == 0 || strncmp(in, "tel:", 4) == 0)
        snprintf(out, size, "%s", in);
    else if (strchr(in, '@'))
        snprintf(out, size, "sip:%s", in);
    else
        snprintf(out, size, "sip:%s@%s", in, u->domain);
}

/* ---- Building and sending ---- */

int ua_print_request_head(struct ua *u, struct sk_buf *b, const char *method, const char *ruri,
                          const char *from_tag, const char *to, const char *to_tag,
                          const char *call_id, uint32_t cseq, char *branch, size_t branch_size)
{
    sip_print_request_line(b, sk_str_cstr(method), sk_str_cstr(ruri));
    sip_print_our_via(b, u->local.proto, &u->local.addr, branch, branch_size);
    sk_buf_puts(b, "Max-Forwards: 70\r\n");
    if (u->route[0])
        sip_print_hdrf(b, "Route", "%s", u->route);
    if (u->cfg.display_name[0])
        sip_print_hdrf(b, "From", "\"%s\" <%s>;tag=%s", u->cfg.display_name, u->cfg.aor,
                       from_tag);
    else
        sip_print_hdrf(b, "From", "<%s>;tag=%s", u->cfg.aor, from_tag);
    if (to_tag && to_tag[0])
        sip_print_hdrf(b, "To", "<%s>;tag=%s", to, to_tag);
    else
        sip_print_hdrf(b, "To", "<%s>", to);
    sip_print_hdrf(b, "Call-ID", "%s", call_id);
    sip_print_hdrf(b, "CSeq", "%u %s", cseq, method);
    sip_print_hdrf(b, "Contact", "%s", u->contact);
    sk_buf_puts(b, "User-Agent: " UA_NAME "\r\n");
    return b->failed ? ENOMEM : 0;
}

int ua_send_request(struct ua *u, struct sk_buf *b, const struct sip_dest *d,
                    const struct sip_txn_user *user, void *arg, struct sip_txn **tp)
{
    if (b->failed)
        return ENOMEM;
    return sip_txn_client_new(u->txl, u->loop, b->p, b->len, d, user, arg, tp);
}

int ua_respond(struct ua *u, struct sip_txn *st, struct sip_rx *rx, int code, const char *reason,
               const char *to_tag, const char *extra, const char *ctype, struct sk_str body)
{
    struct sip_msg *m = rx->msg;
    struct sk_buf b;
    char mem[2048];
    int err;

    sk_buf_init_ext(&b, mem, sizeof(mem));
    sip_print_response_head_rx(&b, m, m->has_via ? &m->via : NULL, &rx->src, code,
                               reason ? reason : sip_reason_phrase(code),
                               to_tag ? sk_str_cstr(to_tag) : SK_STR_NULL);
    sk_buf_puts(&b, "Server: " UA_NAME "\r\n");
    if (extra)
        sk_buf_puts(&b, extra);
    sip_print_body(&b, ctype ? sk_str_cstr(ctype) : SK_STR_NULL, body);
    if (b.failed) {
        sk_buf_free(&b);
        return ENOMEM;
    }
    if (st)
        err = sip_txn_respond(st, code, b.p, b.len);
    else
        err = sip_tpm_send_response(u->tpm, rx, b.p, b.len);
    sk_buf_free(&b);
    return err;
}

/* ---- What arrives ---- */

static void on_message(void *arg, struct sip_rx *rx)
{
    struct ua *u = arg;
    sip_txl_receive(u->txl, rx);
}

static void on_malformed(void *arg, struct sip_rx *rx, const struct sip_error *err)
{
    struct ua *u = arg;
    struct sip_msg *m = rx->msg;
    char phrase[200], from[64];

    sip_error_phrase(err, phrase, sizeof(phrase));
    if (!m->is_request || m->nhdr == 0 || m->method_id == SIP_METHOD_ACK) {
        SK_INFO("dropped malformed message from %s: %s",
                sk_sa_str(&rx->src, from, sizeof(from)), phrase);
        return;
    }
    SK_INFO("malformed %.*s from %s: %s", SK_STR_FMT(m->method),
            sk_sa_str(&rx->src, from, sizeof(from)), phrase);
    ua_respond(u, NULL, rx, err->status ? err->status : 400, phrase, NULL, NULL, NULL,
               SK_STR_NULL);
}

static void on_request(void *arg, struct sip_txn *st, struct sip_rx *rx)
{
    struct ua *u = arg;
    struct sip_msg *m = rx->msg;
    char tag[24];

    switch (m->method_id) {
    case SIP_METHOD_INVITE:
    case SIP_METHOD_ACK:
    case SIP_METHOD_BYE:
    case SIP_METHOD_CANCEL:
    case SIP_METHOD_INFO:
    case SIP_METHOD_UPDATE:
    case SIP_METHOD_PRACK:
        ua_call_request(u, st, rx);
        return;
    case SIP_METHOD_MESSAGE:
        ua_message_request(u, st, rx);
        return;
    case SIP_METHOD_OPTIONS:
        /* §11.2: what we can do; in a dialog or not, the same answer */
        ua_new_tag(u, tag, sizeof(tag));
        ua_respond(u, st, rx, 200, NULL, sk_str_isset(m->to.tag) ? NULL : tag, u->caps,
                   NULL, SK_STR_NULL);
        return;
    default:
        break;
    }
    if (!st)
        return;
    if (sk_str_isset(m->to.tag)) {
        /* §12.2.2: an in-dialog request for a dialog we do not have */
        ua_respond(u, st, rx, 481, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    ua_new_tag(u, tag, sizeof(tag));
    /* §8.2.1: 405 for a method we know but do not serve, 501 for one we don't know */
    if (m->method_id != SIP_METHOD_OTHER)
        ua_respond(u, st, rx, 405, NULL, tag, u->caps, NULL, SK_STR_NULL);
    else
        ua_respond(u, st, rx, 501, NULL, tag, NULL, NULL, SK_STR_NULL);
}

static void on_stray_response(void *arg, struct sip_rx *rx)
{
    struct ua *u = arg;
    ua_call_stray_response(u, rx);
}

/* ---- Life cycle ---- */

static int parse_identity(struct ua *u)
{
    struct sip_uri uri;
    struct sip_error e;
    char host[UA_STR_MAX];

    if (sip_uri_parse(&uri, u->cfg.aor, strlen(u->cfg.aor), &e) != 0 ||
        uri.scheme != SIP_URI_SIP || !sk_str_isset(uri.user) || !uri.host.len)
        return EINVAL;
    sk_str_copy(u->user, sizeof(u->user), uri.user);
    sk_str_copy(host, sizeof(host), uri.host);
    if (uri.has_port)
        snprintf(u->domain, sizeof(u->domain), "%s%s%s:%u",
                 uri.host_type == SIP_HOST_IPV6 ? "[" : "", host,
                 uri.host_type == SIP_HOST_IPV6 ? "]" : "", uri.port);
    else
        snprintf(u->domain, sizeof(u->domain), "%s%s%s", uri.host_type == SIP_HOST_IPV6 ? "[" : "",
                 host, uri.host_type == SIP_HOST_IPV6 ? "]" : "");
    snprintf(u->auth_user, sizeof(u->auth_user), "%s",
             u->cfg.auth_user[0] ? u->cfg.auth_user : u->user);
    return 0;
}

/* Our Contact: the address we listen on, or the one the registrar saw (rport/received). */
static void make_contact(struct ua *u)
{
    if (!u->contact_host[0])
        sk_sa_str(&u->local.addr, u->contact_host, sizeof(u->contact_host));
    snprintf(u->contact, sizeof(u->contact), "<sip:%s@%s%s>", u->user, u->contact_host,
             u->local.proto == SIP_PROTO_TCP   ? ";transport=tcp"
             : u->local.proto == SIP_PROTO_TLS ? ";transport=tls"
                                               : "");
}

void ua_set_contact_host(struct ua *u, const char *hostport)
{
    snprintf(u->contact_host, sizeof(u->contact_host), "%s", hostport);
    make_contact(u);
}

/* The registrar's targets (RFC 3263), kept for failover; registrar_dst is the first. */
static int registrar_targets(struct ua *u, const char *s)
{
    char text[UA_STR_MAX + 8];
    struct sip_uri uri;
    int err;

    if ((err = parse_target(s, text, sizeof(text), &uri)))
        return err;
    if ((err = dest_targets(u, &uri, &u->registrar_targets)))
        return err;
    u->registrar_next = 1;
    u->registrar_dst = u->registrar_targets.dest[0];
    if (u->registrar_targets.n > 1)
        SK_INFO("registrar %s: %zu targets (RFC 3263), failing over in order", s,
                u->registrar_targets.n);
    return 0;
}

static int setup_routes(struct ua *u)
{
    int err;

    if (u->cfg.outbound_proxy[0]) {
        char uri[UA_STR_MAX];
        if ((err = ua_dest_for_str(u, u->cfg.outbound_proxy, &u->proxy_dst, uri, sizeof(uri)))) {
            SK_ERROR("outbound proxy %s: %s", u->cfg.outbound_proxy, strerror(err));
            return err;
        }
        u->have_proxy = true;
        /* RFC 3261 §8.1.2: a pre-existing route set of one loose router */
        snprintf(u->route, sizeof(u->route), "<%s%s>", uri, strstr(uri, ";lr") ? "" : ";lr");
    }
    u->do_register = strcmp(u->cfg.registrar, "none") != 0;
    if (u->do_register) {
        const char *r = u->cfg.registrar[0] ? u->cfg.registrar : u->domain;
        /* §10.2: the Request-URI names the domain of the registrar (the AOR's);
         * --registrar says where that registrar is */
        if ((err = registrar_targets(u, r))) {
            SK_ERROR("registrar %s: %s", r, strerror(err));
            return err;
        }
        snprintf(u->registrar_uri, sizeof(u->registrar_uri), "sip:%s", u->domain);
        if (u->have_proxy)
            u->registrar_dst = u->proxy_dst;
    }
    return 0;
}

/* A phone on TLS: a client context for the registrar and proxy (their certificates
 * checked against their names unless tls_verify is off), and a server one only with
 * a certificate of our own. */
static int tls_setup(struct ua *u, struct sip_tpm_config *tc)
{
    struct sk_tls_config cc = {.role = SK_TLS_CLIENT}, sc = {.role = SK_TLS_SERVER};
    char err[256];
    int rc;

    if (u->local.proto != SIP_PROTO_TLS)
        return 0;
    cc.ca_file = u->cfg.tls_ca[0] ? u->cfg.tls_ca : NULL;
    cc.verify = u->cfg.tls_verify ? SK_TLS_VERIFY_ON : SK_TLS_VERIFY_OFF;
    cc.cert_file = u->cfg.tls_cert[0] ? u->cfg.tls_cert : NULL;
    cc.key_file = u->cfg.tls_key[0] ? u->cfg.tls_key : NULL;
    if ((rc = sk_tls_ctx_new(&u->tls_client, &cc, err, sizeof(err)))) {
        SK_ERROR("tls: %s", err);
        return rc;
    }
    if (u->cfg.tls_cert[0]) {
        sc.cert_file = u->cfg.tls_cert;
        sc.key_file = cc.key_file;
        sc.ca_file = cc.ca_file;
        sc.require_cert = true;
        if ((rc = sk_tls_ctx_new(&u->tls_server, &sc, err, sizeof(err)))) {
            SK_ERROR("tls: %s", err);
            return rc;
        }
    }
    tc->tls_client = u->tls_client;
    tc->tls_server = u->tls_server;
    return 0;
}

int ua_new(struct ua **up, struct sk_loop *loop, const struct ua_config *cfg, ua_event_fn fn,
           void *arg)
{
    struct ua *u = calloc(1, sizeof(*u));
    struct sip_tpm_config tc = sip_tpm_config_default;
    struct sip_tpm_handler ph;
    struct sip_txl_handler th;
    int err;

    if (!u)
        return ENOMEM;
    u->loop = loop;
    u->cfg = *cfg;
    u->ev = fn;
    u->ev_arg = arg;
    u->local = cfg->listen;
    u->next_call = 1;
    sk_hex(u->tag_prefix, sk_rand64(), 8);
    u->tag_prefix[8] = '\0';
    u->next_rtp_port = (uint16_t) (cfg->rtp_port_min +
                                   ((sk_rand64() % ((cfg->rtp_port_max - cfg->rtp_port_min) / 2 + 1)) * 2));
    sk_timer_init(&u->t_shutdown, NULL, NULL);
    sk_timer_init(&u->reg.t_refresh, NULL, NULL);
    sk_timer_init(&u->reg.t_keepalive, NULL, NULL);
    if ((err = parse_identity(u))) {
        SK_ERROR("not a sip: address of record with a user: %s", cfg->aor);
        goto fail;
    }
    tc.udp_direct = false; /* the phone's loop also waits on stdin and RTP sockets */
    tc.udp_send_batch = false;
    tc.tcp_max_conns = 64;
    if ((err = tls_setup(u, &tc)))
        goto fail;
    ph = (struct sip_tpm_handler){on_message, on_malformed, u, NULL};
    if ((err = sip_tpm_new(&u->tpm, &tc, &u->loop, 1, &ph)))
        goto fail;
    th = (struct sip_txl_handler){on_request, on_stray_response, NULL, u};
    {
        /* the transactions send straight through our transports */
        struct sip_sender snd = sip_tpm_sender(u->tpm);
        if ((err = sip_txl_new(&u->txl, &cfg->txn, &snd, &th)))
            goto fail;
    }
    if ((err = sip_tpm_listen(u->tpm, &u->local))) {
        char a[80];
        SK_ERROR("cannot listen on %s:%s: %s", sip_proto_name(u->local.proto),
                 sk_sa_str(&u->local.addr, a, sizeof(a)), strerror(err));
        goto fail;
    }
    make_contact(u);
    /* RFC 3262 §4 / RFC 4028 §3: PRACK and 100rel unless off; timer always (we
     * honour a peer's Session-Expires) */
    snprintf(u->caps, sizeof(u->caps),
             "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE%s\r\n"
             "Accept: application/sdp\r\n"
             "Supported: replaces%s, timer\r\n",
             cfg->rel100 == UA_REL100_OFF ? "" : ", PRACK",
             cfg->rel100 == UA_REL100_OFF ? "" : ", 100rel");
    if ((err = setup_routes(u)))
        goto fail;
    *up = u;
    return 0;
fail:
    ua_free(u);
    return err;
}

void ua_free(struct ua *u)
{
    if (!u)
        return;
    u->freeing = true;
    sk_timer_stop(u->loop, &u->t_shutdown);
    ua_calls_detach(u);
    ua_reg_free(u);
    if (u->txl)
        sip_txl_free(u->txl); /* client transactions' users hear terminated() now */
    ua_calls_free(u);
    ua_messages_free(u);
    ua_info_jobs_free(u);
    if (u->tpm)
        sip_tpm_free(u->tpm);
    sk_tls_ctx_free(u->tls_client);
    sk_tls_ctx_free(u->tls_server);
    free(u);
}

int ua_start(struct ua *u)
{
    return u->do_register ? ua_reg_start(u) : 0;
}

static void shutdown_finish(struct ua *u)
{
    void (*done)(void *) = u->shutdown_done;
    u->shutdown_done = NULL;
    sk_timer_stop(u->loop, &u->t_shutdown);
    if (done)
        done(u->shutdown_arg);
}

static void shutdown_check(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua *u = arg;
    static const unsigned step_ms = 50;
    (void) t;
    /* done when no call is left but ended ones (whose transactions only linger:
     * RFC 6026 Timer M, Timer K) and no REGISTER, or after the deadline */
    if ((ua_call_count(u) == 0 && !ua_reg_busy(u)) || sk_loop_now(loop) >= u->shutdown_deadline) {
        shutdown_finish(u);
        return;
    }
    if (sk_timer_start(loop, &u->t_shutdown, step_ms))
        shutdown_finish(u); /* cannot wait any longer */
}

void ua_shutdown(struct ua *u, void (*done)(void *arg), void *arg)
{
    u->shutting_down = true;
    u->shutdown_done = done;
    u->shutdown_arg = arg;
    ua_calls_hangup_all(u);
    if (u->do_register)
        ua_reg_stop(u);
    /* 4 s is enough for a BYE and an un-REGISTER to be answered on any sane network */
    u->shutdown_deadline = sk_loop_now(u->loop) + 4000;
    sk_timer_init(&u->t_shutdown, shutdown_check, u);
    if (sk_timer_start(u->loop, &u->t_shutdown, 0))
        shutdown_finish(u); /* cannot wait: done now */
}

void ua_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg)
{
    if (u->do_register)
        ua_reg_status(u, fn, arg);
    ua_calls_status(u, fn, arg);
}

const struct sip_listen *ua_listen_addr(const struct ua *u)
{
    return &u->local;
}
