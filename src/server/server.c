/* sipkit serve: workers, transports and transactions, and the request checks of RFC 3261 §8.2 / §16.3. */
#include "server/server.h"

#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "server/audit.h"
#include "server/location.h"
#include "sip/print.h"
#include "server/server_int.h"
#include "store/store.h"

void sk_server_config_defaults(struct sk_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    sip_listen_parse("udp:127.0.0.1:5060", &cfg->listen[0]);
    sip_listen_parse("tcp:127.0.0.1:5060", &cfg->listen[1]);
    cfg->nlisten = 2;
    snprintf(cfg->domains[0], sizeof(cfg->domains[0]), "localhost");
    cfg->ndomains = 1;
    if (gethostname(cfg->domains[1], sizeof(cfg->domains[1]) - 1) == 0 &&
        cfg->domains[1][0] != '\0')
        cfg->ndomains = 2;
    cfg->txn = sip_txn_config_default;
    cfg->tp = sip_tpm_config_default;
    cfg->reg = sk_registrar_config_default;
    cfg->proxy = sk_proxy_config_default;
    cfg->tls.verify_server = true;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "data");
    cfg->flush_ms = 1000;
    cfg->sched_batch = true;
    sk_protect_config_defaults(&cfg->protect);
}

size_t sk_server_stats_list(struct sk_server *s, const struct sk_server_stats *st,
                            struct sk_server_stat *out, size_t max)
{
    const struct sk_server_stat all[] = {
        {"requests", st->requests},
        {"responses_sent", st->responses_sent},
        {"malformed_requests", st->malformed_requests},
        {"malformed_responses_dropped", st->malformed_responses_dropped},
        {"stray_responses_dropped", st->stray_responses_dropped},
        {"transactions_server", st->txn.server_created},
        {"transactions_client", st->txn.client_created},
        {"transactions_live", st->txns_live},
        {"timers_live", st->timers_live},
        {"retransmissions_absorbed", st->txn.retransmissions_absorbed},
        {"proxied", st->proxied},
        {"forwarded_statelessly", st->stateless_forwarded},
        {"loops_detected", st->loops_detected},
        {"challenges_stateless", st->stateless_challenges},
        {"register_retransmissions", sk_loc_retransmissions(s->loc)},
        {"bindings", sk_loc_count(s->loc)},
        {"protect_dropped", st->protect_dropped},
        {"protect_blocks", st->protect_blocks},
        {"protect_overload_503", st->protect_overload},
        {"protect_users_slowed", st->protect_users_slowed},
    };
    size_t n = sizeof(all) / sizeof(all[0]) < max ? sizeof(all) / sizeof(all[0]) : max;

    memcpy(out, all, n * sizeof(all[0]));
    return n;
}

struct sk_loc *sk_server_location(struct sk_server *s)
{
    return s->loc;
}

struct sk_protect *sk_server_protect(struct sk_server *s)
{
    return s->protect;
}

struct sk_audit *sk_server_audit(struct sk_server *s)
{
    return s->audit;
}

const struct sk_server_config *sk_server_config(const struct sk_server *s)
{
    return &s->cfg;
}

/* ---- Is a URI ours? (§16.4, §16.5: our domains, or one of our addresses) ---- */

bool sk_server_uri_is_local(const struct sk_server *s, const struct sip_uri *u)
{
    return sk_loc_is_self(&s->self, u);
}

static bool sa_is_wildcard(const struct sk_sa *a)
{
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
    return a->u.sa.sa_family == AF_INET6 &&
           memcmp(&a->u.in6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

/* A listen address names us; a wildcard one also every local address of its
 * family (as the interfaces have them at start), with its port. The wildcard
 * itself stays: without IP_PKTINFO our Record-Route and Via may carry it. */
static void self_add_listen(struct sk_loc_self *self, const struct sk_sa *a)
{
    struct ifaddrs *ifs, *ifa;
    bool full = sk_loc_self_add_addr(self, a) != 0;

    if (sa_is_wildcard(a) && getifaddrs(&ifs) == 0) {
        for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
            struct sk_sa x;
            if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != a->u.sa.sa_family)
                continue;
            memset(&x, 0, sizeof(x));
            x.len = a->len;
            memcpy(&x.u, ifa->ifa_addr, a->len);
            sk_sa_set_port(&x, sk_sa_port(a));
            full |= sk_loc_self_add_addr(self, &x) != 0;
        }
        freeifaddrs(ifs);
    }
    if (full)
        SK_WARN("more than %d local addresses: requests to the others are not taken as ours",
                SK_LOC_SELF_MAX_ADDRS);
}

bool sk_server_addr_is_ours(const struct sk_server *s, struct sk_str host, uint16_t port)
{
    struct sk_sa a;

    if (sk_sa_from_ip(&a, host, port ? port : 5060) != 0)
        return false;
    for (unsigned i = 0; i < s->cfg.nlisten; i++) {
        if (sk_sa_equal(&a, &s->cfg.listen[i].addr))
            return true;
    }
    return false;
}

void sk_server_tag(struct sk_server *s, char *buf, size_t size)
{
    unsigned long long seq = (unsigned long long) atomic_fetch_add(&s->tag_seq, 1);
    size_t n = strlen(s->tag_prefix), k = 0;
    char hex[16];

    /* prefix + the counter in hex, without printf: every response runs this */
    do {
        hex[k++] = "0123456789abcdef"[seq & 15];
        seq >>= 4;
    } while (seq);
    if (size == 0)
        return;
    if (n + k + 1 > size) {
        snprintf(buf, size, "%s", s->tag_prefix);
        return;
    }
    memcpy(buf, s->tag_prefix, n);
    while (k)
        buf[n++] = hex[--k];
    buf[n] = '\0';
}

/* A To tag for a stateless response (§8.2.7): the same request, retransmitted,
 * gets the same tag. A hash of the fields that identify the request (top Via
 * branch and sent-by, Call-ID, From tag, CSeq), after the process's prefix. */
static void stateless_tag(const struct sk_server *s, const struct sip_msg *m, char *buf,
                          size_t size)
{
    uint64_t h = sk_hash_init();
    /* only what this message's parse set: a malformed message leaves the typed
     * fields of the one before it (whose buffer may be gone) behind the has_ flags */
    const struct sk_str parts[] = {
        sk_str_cstr(s->tag_prefix),
        m->has_via ? m->via.branch : SK_STR_NULL,
        m->has_via ? m->via.host : SK_STR_NULL,
        m->has_call_id ? m->call_id : SK_STR_NULL,
        m->has_from ? m->from.tag : SK_STR_NULL,
        m->has_cseq ? m->cseq.method : SK_STR_NULL,
    };

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        h = sk_hash_bytes(h, parts[i].p, parts[i].p ? parts[i].len : 0);
    h = sk_hash_final(sk_hash_u64(h, (m->has_cseq ? m->cseq.num : 0) |
                                         ((uint64_t) (m->has_via ? m->via.port : 0) << 32)));
    /* up to 8 characters of the prefix, then 16 hex digits, without printf: every
     * stateless response (OPTIONS pings, 401 challenges) runs this */
    if (size == 0)
        return;
    size_t n = strnlen(s->tag_prefix, 8);
    if (n + 16 + 1 > size) {
        buf[0] = '\0';
        return;
    }
    memcpy(buf, s->tag_prefix, n);
    sk_hex(buf + n, h, 16);
    buf[n + 16] = '\0';
}

/* ---- Responses ---- */

/* A response to rx's request, through st when there is one, else stateless. */
void sk_server_respond(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx, int code,
                       const char *reason, const char *extra)
{
    struct sip_msg *m = rx->msg;
    struct sk_buf b;
    char tag[48], mem[1500]; /* most responses fit; bigger ones move to the heap */
    int err;

    /* protection: the 4xx budget and the 403/404 ratio of an untrusted source;
     * only a stateless answer may be left out (a transaction needs its final) */
    if (s->protect && !sk_protect_response(s->protect, &rx->src, code, sk_protect_clock_ms()) &&
        !st)
        return;
    /* §19.3: a To tag of our own for every response (unique: prefix + counter);
     * a stateless one gives a retransmission the same tag (§8.2.7) */
    if (st)
        sk_server_tag(s, tag, sizeof(tag));
    else
        stateless_tag(s, m, tag, sizeof(tag));
    sk_buf_init_ext(&b, mem, sizeof(mem));
    sip_print_response_head_rx(&b, m, m->has_via ? &m->via : NULL, &rx->src, code, reason,
                               sk_str_cstr(tag));
    sk_buf_puts(&b, "Server: " SERVER_NAME "\r\n");
    if (extra)
        sk_buf_puts(&b, extra);
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    if (b.failed) {
        sk_buf_free(&b);
        return;
    }
    if (st)
        err = sip_txn_respond(st, code, b.p, b.len);
    else
        err = sip_tpm_send_response(s->tpm, rx, b.p, b.len);
    if (err) {
        SK_DEBUG("response %d not sent: %s", code, strerror(err));
    } else {
        atomic_fetch_add(&s->st.responses, 1);
        sk_met_response(s->metrics, m->method_id, code, false);
    }
    sk_buf_free(&b);
}

/* 420 Bad Extension listing every option we do not support (§8.2.2.3, §16.3 step 6). */
static bool reject_extensions(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx,
                              enum sip_hdr_id id)
{
    const struct sk_str *opts;
    struct sip_error e;
    struct sk_buf extra;
    size_t n;
    int rc;

    if (rx->msg->count[id] == 0)
        return false; /* the usual request: no list to parse */
    rc = sip_msg_tokens(rx->msg, id, &opts, &n, &e);
    if (rc == ENOENT || (rc == 0 && n == 0))
        return false;
    if (rc) {
        char phrase[160];
        sk_server_respond(s, st, rx, 400, sip_error_phrase(&e, phrase, sizeof(phrase)), NULL);
        return true;
    }
    /* Proxy-Require: a proxy understands none yet; Require: path and outbound
     * are what the registrar implements */
    sk_buf_init(&extra);
    {
        size_t unknown = 0;
        for (size_t i = 0; i < n; i++) {
            if (id == SIP_HDR_REQUIRE &&
                (sk_str_ieq_cstr(opts[i], "path") || sk_str_ieq_cstr(opts[i], "outbound")))
                continue;
            sk_buf_puts(&extra, unknown++ ? ", " : "Unsupported: ");
            sk_buf_put_str(&extra, opts[i]);
        }
        if (unknown == 0) {
            sk_buf_free(&extra);
            return false;
        }
    }
    sk_buf_puts(&extra, "\r\n");
    sk_server_respond(s, st, rx, 420, NULL, extra.failed ? NULL : extra.p);
    sk_buf_free(&extra);
    return true;
}

/* ---- The handler chain (sip/tu.h) ----
 * Registered in this order by sk_server_new (server_handlers_add):
 *   sanity     §16.3 / §8.2.2 checks of every request: 416, Route (§16.4), 483,
 *              Proxy-Require 420, loop 482, Require 420 for what is for us
 *   cancel     CANCEL of an INVITE transaction we have: 200, and 487 or branches
 * cancelled options    OPTIONS for us: 200 (statelessly when no Route, §8.2.7) registrar
 * REGISTER for our domains (every REGISTER skips the transaction layer) proxy everything
 * not for us: proxied or redirected (proxy.c); also ACKs without a transaction, stray
 * responses, failed server transactions default    what is left for us: 501 unknown
 * method, 481 BYE/CANCEL (no dialog or transaction), 405 for the rest */

/* A request on its way down the server's chain: what sanity worked out about it. */
struct sk_req {
    struct sip_tu_req tu; /* first: handlers get &tu */
    struct sip_route_prep pr;
    bool local;  /* the Request-URI names us once Route is processed (§16.5) */
    bool for_us; /* answered by the server itself, not proxied */
};

static struct sk_req *req_of(struct sip_tu_req *tr)
{
    return (struct sk_req *) (void *) ((char *) tr - offsetof(struct sk_req, tu));
}

static void req_respond(struct sk_server *s, struct sk_req *r, int code,
                        const char *reason, const char *extra)
{
    sk_server_respond(s, r->tu.st, r->tu.rx, code, reason, extra);
}

static enum sip_tu_result sanity_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_server *s = arg;
    struct sk_req *r = req_of(tr);
    struct sip_msg *m = tr->rx->msg;
    char reason[160];
    int rc;

    /* §16.3 step 2 / §8.2.2.1: only SIP and SIPS Request-URIs are served */
    if (m->ruri.scheme != SIP_URI_SIP && m->ruri.scheme != SIP_URI_SIPS) {
        req_respond(s, r, 416, NULL, NULL);
        return SIP_TU_HANDLED;
    }
    /* §16.4: our own Route entries, and a Request-URI from a strict router */
    if (sk_proxy_route_prep(s, m, &r->pr, &rc, reason, sizeof(reason))) {
        req_respond(s, r, rc, reason, NULL);
        return SIP_TU_HANDLED;
    }
    r->local = r->pr.ruri_local;
    /* what the server answers itself: REGISTER for its domains, and requests
     * for the domain or the server with no user; everything else is proxied */
    r->for_us = r->local &&
                (m->method_id == SIP_METHOD_REGISTER || !sk_str_isset(r->pr.ruri->user));
    /* §16.3 step 3: a request that would be forwarded with Max-Forwards 0 */
    if (!r->for_us && m->max_forwards == 0) {
        req_respond(s, r, 483, NULL, NULL);
        return SIP_TU_HANDLED;
    }
    /* §16.3 step 6: Proxy-Require names options this proxy must understand */
    if (reject_extensions(s, tr->st, tr->rx, SIP_HDR_PROXY_REQUIRE))
        return SIP_TU_HANDLED;
    /* §16.3 step 4 with RFC 5393: a request coming back unchanged is a loop */
    if (!r->for_us && sk_proxy_loops(s, m)) {
        req_respond(s, r, 482, NULL, NULL);
        return SIP_TU_HANDLED;
    }
    /* §8.2.2.3: Require applies to everything but ACK and CANCEL; a method we do
     * not know gets its 501 (default) first */
    if (r->for_us && m->method_id != SIP_METHOD_OTHER &&
        m->method_id != SIP_METHOD_CANCEL && m->method_id != SIP_METHOD_ACK &&
        reject_extensions(s, tr->st, tr->rx, SIP_HDR_REQUIRE))
        return SIP_TU_HANDLED;
    return SIP_TU_PASS;
}

/* The INVITE shares Via, From, To, Call-ID and the CSeq number with its CANCEL
 * (§9.1), so its 487 is built from the CANCEL with CSeq INVITE. */
static void respond_487(struct sk_server *s, struct sip_txn *inv, struct sip_msg *m)
{
    struct sk_buf b;
    const struct sip_hdr *h;
    char tag[48];

    sk_buf_init(&b);
    sip_print_status_line(&b, 487, NULL);
    for (h = sip_msg_hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h))
        sip_print_hdr(&b, SIP_HDR_VIA, h->value);
    sip_print_hdr(&b, SIP_HDR_FROM, sip_msg_hdr(m, SIP_HDR_FROM)->value);
    sk_buf_puts(&b, "To: ");
    sk_buf_put_str(&b, m->to.raw);
    if (!sk_str_isset(m->to.tag)) {
        sk_server_tag(s, tag, sizeof(tag));
        sk_buf_printf(&b, ";tag=%s", tag);
    }
    sk_buf_puts(&b, "\r\n");
    sip_print_hdr(&b, SIP_HDR_CALL_ID, m->call_id);
    sk_buf_printf(&b, "CSeq: %u INVITE\r\n", m->cseq.num);
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    if (!b.failed) sip_txn_respond(inv, 487, b.p, b.len);
    sk_buf_free(&b);
}

/* §9.2 / §16.10: 200 for the CANCEL; a proxied INVITE has its branches
 * cancelled (their 487 goes upstream), one we answer ourselves gets 487. A
 * CANCEL of no transaction passes: the proxy sends it on its way (§16.10), the
 * default answers 481 for one to us. */
static enum sip_tu_result cancel_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_server *s = arg;
    struct sip_txn *inv;

    if (tr->rx->msg->method_id != SIP_METHOD_CANCEL ||
        !(inv = sip_txl_find_invite(s->txl, tr->rx->msg)))
        return SIP_TU_PASS;
    sk_server_respond(s, tr->st, tr->rx, 200, NULL, NULL);
    /* the transaction layer runs a CANCEL on its INVITE's worker */
    if (sk_proxy_cancel(s, inv)) {
        /* proxied: the branches answer */
    } else if (sip_txn_state(inv) == SIP_TXN_PROCEEDING) {
        respond_487(s, inv, tr->rx->msg);
    }
    sip_txn_unref(inv);
    return SIP_TU_HANDLED;
}

/* RFC 3261 §8.2.7: OPTIONS aimed at the server itself (the keep-alive pings
 * phones and peers send all day) are answered statelessly: a retransmission
 * gets the same answer again, and nothing is kept for Timer J's 32 s. */
static bool options_stateless(void *arg, const struct sip_rx *rx)
{
    const struct sip_msg *m = rx->msg;

    return m->is_request && m->method_id == SIP_METHOD_OPTIONS &&
           !sk_str_isset(m->ruri.user) &&
           (m->ruri.scheme == SIP_URI_SIP || m->ruri.scheme == SIP_URI_SIPS) &&
           m->count[SIP_HDR_ROUTE] == 0 && sk_server_uri_is_local(arg, &m->ruri);
}

static enum sip_tu_result options_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_req *r = req_of(tr);

    if (!r->for_us || tr->rx->msg->method_id != SIP_METHOD_OPTIONS) return SIP_TU_PASS;
    req_respond(arg, r, 200, NULL,
                "Allow: " SERVER_ALLOW "\r\n"
                "Accept: application/sdp\r\n"
                "Accept-Language: en\r\n"
                "Supported: " SERVER_SUPPORTED "\r\n");
    return SIP_TU_HANDLED;
}

/* §8.2.7: the registrar is a stateless UAS, as Kamailio's and OpenSIPS's are:
 * no server transaction, so nothing waits 32 s for Timer J per REGISTER (a
 * flood of them, or of challenges, holds no memory). A retransmission is
 * processed again and must get the same answer: a challenge is an error that
 * changes nothing; a REGISTER that was applied is recognised by the location
 * service (same Call-ID, CSeq and top Via transaction as the bindings it set,
 * sk_loc_reg.req_id) and answered with the bindings as they are; its repeated
 * nonce-count is accepted for that and nothing else. The To tag of a stateless
 * answer is a hash of the request, so it repeats too. Every REGISTER takes this
 * path; one for another domain gets its 403 from the proxy handler. */
static bool registrar_stateless(void *arg, const struct sip_rx *rx)
{
    (void) arg;
    return rx->msg->is_request && rx->msg->method_id == SIP_METHOD_REGISTER;
}

static enum sip_tu_result registrar_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_server *s = arg;
    struct sk_req *r = req_of(tr);
    struct sk_reg_result res;
    char hdr_mem[768]; /* Contact lines and Date of a usual 200 */

    if (!r->for_us || tr->rx->msg->method_id != SIP_METHOD_REGISTER) return SIP_TU_PASS;
    sk_buf_init_ext(&res.headers, hdr_mem, sizeof(hdr_mem));
    sk_registrar_handle(s->reg, tr->rx, &res, (int64_t) time(NULL));
    if (!tr->st && res.status == 401) atomic_fetch_add(&s->st.stateless_challenges, 1);
    req_respond(s, r, res.status, res.reason, res.headers.failed ? NULL : res.headers.p);
    sk_buf_free(&res.headers);
    return SIP_TU_HANDLED;
}

/* Everything not for us: proxied, or redirected (§8.3), by proxy.c. */
static enum sip_tu_result proxy_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_server *s = arg;
    struct sk_req *r = req_of(tr);
    struct sip_msg *m = tr->rx->msg;

    if (r->for_us) return SIP_TU_PASS;
    if (m->method_id == SIP_METHOD_CANCEL) {
        /* §16.10: no response context here: the CANCEL goes on its way */
        sk_proxy_request(s, tr->st, tr->rx, &r->pr);
    } else if (m->method_id == SIP_METHOD_OTHER && !r->local) {
        /* a method this server does not know is carried to our own users, but
         * not relayed to other domains (RFC 4475 esc02, intmeth) */
        req_respond(s, r, 501, NULL, "Allow: " SERVER_ALLOW "\r\n");
    } else if (m->method_id == SIP_METHOD_REGISTER) {
        /* registering with another domain through us: not offered */
        req_respond(s, r, 403, "Domain Not Served Here", NULL);
    } else if (!tr->st) {
        req_respond(s, r, 500, "No Transaction", NULL);
    } else {
        sk_proxy_request(s, tr->st, tr->rx, &r->pr);
    }
    return SIP_TU_HANDLED;
}

/* An ACK without a server transaction (for a 2xx, or in RFC 6026 Accepted):
 * proxied statelessly by Route, or absorbed. */
static enum sip_tu_result proxy_ack(void *arg, struct sip_rx *rx)
{
    sk_proxy_ack(arg, rx);
    return SIP_TU_HANDLED;
}

/* Forwarded statelessly when its top Via is ours (§16.7, §16.11), else dropped. */
static enum sip_tu_result proxy_response(void *arg, struct sip_rx *rx)
{
    sk_proxy_stray_response(arg, rx);
    return SIP_TU_HANDLED;
}

static void proxy_server_failed(void *arg, struct sip_txn *st, int err)
{
    (void) err;
    sk_proxy_server_gone(arg, st);
}

/* What no handler took: a request for us with a method nobody here serves. */
static enum sip_tu_result default_request(void *arg, struct sip_tu_req *tr)
{
    struct sk_req *r = req_of(tr);

    switch (tr->rx->msg->method_id) {
    case SIP_METHOD_OTHER:
        req_respond(arg, r, 501, NULL, "Allow: " SERVER_ALLOW "\r\n");
        break;
    case SIP_METHOD_BYE:    /* §15.1.2: no such dialog */
    case SIP_METHOD_CANCEL: /* §9.2: no such transaction */
        req_respond(arg, r, 481, NULL, NULL);
        break;
    default:
        /* the domain itself is no user agent */
        req_respond(arg, r, 405, NULL, "Allow: OPTIONS, REGISTER\r\n");
        break;
    }
    return SIP_TU_HANDLED;
}

static int server_handlers_add(struct sk_server *s)
{
    const struct sip_tu_handler hs[] = {
        {.name = "sanity", .request = sanity_request, .arg = s},
        {.name = "cancel", .request = cancel_request, .arg = s},
        {.name = "options",
         .stateless = options_stateless,
         .request = options_request,
         .arg = s},
        {.name = "registrar",
         .stateless = registrar_stateless,
         .request = registrar_request,
         .arg = s},
        {.name = "proxy",
         .request = proxy_request,
         .ack = proxy_ack,
         .response = proxy_response,
         .server_failed = proxy_server_failed,
         .arg = s},
        {.name = "default", .request = default_request, .arg = s},
    };
    int err;

    sip_tu_init(&s->tu);
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        if ((err = sip_tu_add(&s->tu, &hs[i], NULL))) return err;
    }
    return 0;
}

/* A request down the chain: through its server transaction st, or statelessly
 * when st is NULL (a handler's stateless hook chose that, see on_message). */
static void dispatch_request(struct sk_server *s, struct sip_txn *st, struct sip_rx *rx)
{
    struct sk_req r = {.tu = {.st = st, .rx = rx}};

    atomic_fetch_add(&s->st.requests, 1);
    sk_met_request(s->metrics, rx->msg->method_id, rx->proto);
    SK_DEBUG("%.*s %.*s from %s", SK_STR_FMT(rx->msg->method),
             SK_STR_FMT(rx->msg->ruri_raw), sk_sa_str(&rx->src, (char[64]){0}, 64));
    if (!sip_tu_request(&s->tu, &r.tu))
        sk_server_respond(s, st, rx, 500, "No Handler",
                          NULL); /* a chain without a default */
}

static void on_request(void *arg, struct sip_txn *st, struct sip_rx *rx)
{
    struct sk_server *s = arg;

    if (!st) {
        /* an ACK that matched no transaction: ACKs are never answered */
        sk_met_request(s->metrics, rx->msg->method_id, rx->proto);
        sip_tu_ack(&s->tu, rx);
        return;
    }
    dispatch_request(s, st, rx);
}

static void on_stray_response(void *arg, struct sip_rx *rx)
{
    struct sk_server *s = arg;

    if (!sip_tu_response(&s->tu, rx)) atomic_fetch_add(&s->st.stray, 1);
}

static void on_server_failed(void *arg, struct sip_txn *st, int err)
{
    struct sk_server *s = arg;

    SK_DEBUG("server transaction failed: %s", strerror(err));
    sip_tu_server_failed(&s->tu, st, err);
}

/* ---- Protection (protect.h) ----
 * A datagram is screened before its parse (on_screen: ACLs, block list, the
 * buckets of its class by the start line alone); a stream message, which must
 * be parsed to be framed, right after it. What passes is inspected once parsed
 * (User-Agent, user-name sweeps) and, for a new INVITE, checked against the
 * overload mark, all before any transaction exists. Blocked sources get
 * nothing back; over budget: dropped, or 503 with --flood-action 503. */

/* The screen's verdict for the datagram being handled on this worker, for
 * on_message / on_malformed right after (the same call stack). */
static _Thread_local struct {
    bool valid;
    enum sk_protect_verdict v;
    enum sk_protect_rule rule;
} tl_screen;

static void log_block(struct sk_server *s, const struct sk_sa *src, enum sk_protect_rule rule)
{
    char addr[64];

    SK_WARN("protect: blocking %s (%s)", sk_sa_ip(src, addr, sizeof(addr)),
            sk_protect_rule_name(rule));
    sk_audit_block(s->audit, src, sk_protect_rule_name(rule), s->cfg.protect.block_time);
}

static bool on_screen(void *arg, const struct sk_sa *src, const char *buf, size_t len)
{
    struct sk_server *s = arg;
    enum sk_protect_class cls = SK_PROT_NCLASS;

    if (!s->protect) return true;
    if (!sk_protect_classify(buf, len, &cls)) cls = SK_PROT_NCLASS;
    tl_screen.v = sk_protect_source(s->protect, src, cls, sk_protect_clock_ms(), &tl_screen.rule);
    if (tl_screen.rule == SK_RULE_FLOOD) log_block(s, src, tl_screen.rule);
    if (tl_screen.v == SK_PROT_DROP ||
        (tl_screen.v == SK_PROT_OVER && !s->cfg.protect.flood_503))
        return false;
    tl_screen.valid = true;
    return true;
}

static void respond_503(struct sk_server *s, struct sip_rx *rx)
{
    char extra[48];

    snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", s->cfg.protect.retry_after);
    sk_server_respond(s, NULL, rx, 503, NULL, extra);
}

/* The user name a request is aimed at, for sweep detection: the AOR of a
 * REGISTER, the Request-URI user of an initial request. */
static struct sk_str aimed_user(const struct sip_msg *m)
{
    if (m->method_id == SIP_METHOD_REGISTER) return m->to.uri.user;
    if (m->method_id == SIP_METHOD_ACK || sk_str_isset(m->to.tag)) return SK_STR_NULL;
    return m->ruri.user;
}

/* True when rx may go on to the transaction layer and the handlers. */
static bool protect_admit(struct sk_server *s, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    enum sk_protect_verdict v;
    enum sk_protect_rule rule = SK_RULE_NONE;
    int64_t now = sk_protect_clock_ms();

    if (tl_screen.valid) {
        v = tl_screen.v;
        tl_screen.valid = false;
    } else {
        enum sk_protect_class cls = SK_PROT_NCLASS;
        if (m->is_request)
            cls = m->method_id == SIP_METHOD_REGISTER ? SK_PROT_REGISTER
                  : m->method_id == SIP_METHOD_INVITE ? SK_PROT_INVITE
                                                      : SK_PROT_OTHER;
        v = sk_protect_source(s->protect, &rx->src, cls, now, &rule);
        if (rule == SK_RULE_FLOOD) log_block(s, &rx->src, rule);
        if (v == SK_PROT_DROP) return false;
    }
    if (!m->is_request) return v != SK_PROT_DROP;
    if (v == SK_PROT_OVER) {
        /* --flood-action 503 (the screen dropped it otherwise); never for an ACK */
        if (s->cfg.protect.flood_503 && m->method_id != SIP_METHOD_ACK) respond_503(s, rx);
        return false;
    }
    if (v == SK_PROT_PASS) {
        struct sk_str ua = SK_STR_NULL;
        sip_msg_text(m, SIP_HDR_USER_AGENT, &ua);
        v = sk_protect_inspect(s->protect, &rx->src, ua, aimed_user(m), now, &rule);
        if (v == SK_PROT_DROP) {
            if (rule != SK_RULE_BLOCKED) log_block(s, &rx->src, rule);
            return false;
        }
    }
    /* overload: new INVITEs wait, everything in a dialog, ACK, BYE, CANCEL and
     * REGISTER go on (RFC 7339 in spirit); no transaction is made for them */
    if (m->method_id == SIP_METHOD_INVITE && !sk_str_isset(m->to.tag) &&
        sk_protect_overloaded(s->protect, sip_txl_count(s->txl))) {
        respond_503(s, rx);
        return false;
    }
    return true;
}

static void on_message(void *arg, struct sip_rx *rx)
{
    struct sk_server *s = arg;

    if (s->protect && !protect_admit(s, rx)) return;
    if (rx->msg->is_request && sip_tu_stateless(&s->tu, rx)) {
        dispatch_request(s, NULL, rx);
        return;
    }
    sip_txl_receive(s->txl, rx);
}

static void on_malformed(void *arg, struct sip_rx *rx, const struct sip_error *err)
{
    struct sk_server *s = arg;
    struct sip_msg *m = rx->msg;
    char phrase[200], from[64];

    if (s->protect) {
        /* a datagram screened as over budget gets no answer; a stream message
         * was not screened: its source's block list entry is checked here */
        enum sk_protect_rule rule;
        bool screened = tl_screen.valid, over = screened && tl_screen.v == SK_PROT_OVER;
        tl_screen.valid = false;
        if (over || (!screened && sk_protect_source(s->protect, &rx->src, SK_PROT_NCLASS,
                                                    sk_protect_clock_ms(),
                                                    &rule) == SK_PROT_DROP))
            return;
    }
    sip_error_phrase(err, phrase, sizeof(phrase));
    if (!m->is_request || m->nhdr == 0 || m->method_id == SIP_METHOD_ACK) {
        /* a bad response, or something we cannot answer: dropped and counted */
        atomic_fetch_add(&s->st.bad_responses, 1);
        SK_INFO("dropped malformed message from %s: %s",
                sk_sa_str(&rx->src, from, sizeof(from)), phrase);
        return;
    }
    atomic_fetch_add(&s->st.bad_requests, 1);
    SK_INFO("malformed %.*s from %s: %s", SK_STR_FMT(m->method),
            sk_sa_str(&rx->src, from, sizeof(from)), phrase);
    sk_server_respond(s, NULL, rx, err->status ? err->status : 400, phrase, NULL);
}

/* ---- Lifetime ---- */

static int server_sender(void *arg, const struct sip_dest *d, const char *buf, size_t len)
{
    struct sk_server *s = arg;
    return sip_tpm_send(s->tpm, d, buf, len);
}

static void server_conn_ref(void *arg, struct sk_conn *c)
{
    struct sk_server *s = arg;
    struct sip_sender snd = sip_tpm_sender(s->tpm);
    snd.conn_ref(snd.arg, c);
}

static void server_conn_unref(void *arg, struct sk_conn *c)
{
    struct sk_server *s = arg;
    struct sip_sender snd = sip_tpm_sender(s->tpm);
    snd.conn_unref(snd.arg, c);
}

/* The workers' loops (one per core unless configured). */
static int loops_new(struct sk_server *s)
{
    int err;

    s->nw = s->cfg.workers ? s->cfg.workers : (unsigned) sysconf(_SC_NPROCESSORS_ONLN);
    if (s->nw == 0) s->nw = 1;
    s->loops = calloc(s->nw, sizeof(*s->loops));
    s->threads = calloc(s->nw, sizeof(*s->threads));
    if (!s->loops || !s->threads) {
        err = ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < s->nw; i++) {
        if ((err = sk_loop_new(&s->loops[i], 0))) goto out;
    }
    return 0;
out:
    if (s->loops) {
        for (unsigned i = 0; i < s->nw && s->loops[i]; i++)
            sk_loop_free(s->loops[i]);
    }
    free(s->loops);
    free(s->threads);
    return err;
}

static void loops_free(struct sk_server *s)
{
    for (unsigned i = 0; i < s->nw; i++)
        sk_loop_free(s->loops[i]);
    free(s->loops);
    free(s->threads);
}

/* The server context of tls: listeners: --tls-cert, or the zero-config self-signed
 * certificate in the data directory (said in the log with its fingerprint). */
static int tls_server_ctx(struct sk_server *s)
{
    const struct sk_server_tls *t = &s->cfg.tls;
    char ips[SK_SERVER_MAX_LISTEN][64], err[256];
    const char *ipv[SK_SERVER_MAX_LISTEN];
    struct sk_tls_config tc = {.role = SK_TLS_SERVER};
    size_t nip = 0;
    int rc;

    for (unsigned i = 0; i < s->cfg.nlisten; i++) {
        sk_sa_ip(&s->cfg.listen[i].addr, ips[nip], sizeof(ips[nip]));
        ipv[nip] = ips[nip];
        nip++;
    }
    tc.cert_file = t->cert[0] ? t->cert : NULL;
    tc.key_file = t->key[0] ? t->key : NULL;
    tc.ca_file = t->ca[0] ? t->ca : NULL;
    tc.verify = t->verify_client;
    tc.require_cert = t->require_cert;
    tc.data_dir = s->cfg.data_dir[0] ? s->cfg.data_dir : NULL;
    tc.domain = s->cfg.ndomains ? s->cfg.domains[0] : "localhost";
    tc.listen_ips = ipv;
    tc.n_listen_ips = nip;
    if (!tc.cert_file && !tc.data_dir && !t->require_cert) {
        SK_ERROR("tls: no --tls-cert, and no --data directory to keep a self-signed one in");
        return EINVAL;
    }
    if ((rc = sk_tls_ctx_new(&s->tls_server, &tc, err, sizeof(err)))) {
        SK_ERROR("tls: %s", err);
        return rc;
    }
    if (sk_tls_ctx_self_signed(s->tls_server))
        SK_WARN("tls: no --tls-cert: serving the self-signed certificate in %s "
                "(SHA-256 fingerprint %s); clients must trust or pin it, "
                "--tls-require-cert refuses to start without a real one",
                s->cfg.data_dir, sk_tls_ctx_fingerprint(s->tls_server));
    else
        SK_INFO("tls: certificate %s, SHA-256 fingerprint %s", t->cert,
                sk_tls_ctx_fingerprint(s->tls_server));
    return 0;
}

/* TLS contexts: the server's when a tls: listener is asked for; the client's
 * always, so that sips and transport=tls next hops are reached over TLS with
 * their certificate checked against their domain (RFC 5922), never downgraded. */
static int tls_setup(struct sk_server *s)
{
    struct sk_tls_config cc = {.role = SK_TLS_CLIENT};
    bool want_server = false;
    char err[256];
    int rc;

    for (unsigned i = 0; i < s->cfg.nlisten; i++)
        want_server |= s->cfg.listen[i].proto == SIP_PROTO_TLS ||
                       s->cfg.listen[i].proto == SIP_PROTO_WSS;
    if (want_server && (rc = tls_server_ctx(s))) return rc;
    cc.ca_file = s->cfg.tls.ca[0] ? s->cfg.tls.ca : NULL;
    cc.verify = s->cfg.tls.verify_server ? SK_TLS_VERIFY_ON : SK_TLS_VERIFY_OFF;
    /* our certificate for servers that ask for one (mutual TLS) */
    cc.cert_file = s->cfg.tls.cert[0] ? s->cfg.tls.cert : NULL;
    cc.key_file = s->cfg.tls.key[0] ? s->cfg.tls.key : NULL;
    if ((rc = sk_tls_ctx_new(&s->tls_client, &cc, err, sizeof(err)))) {
        SK_ERROR("tls client: %s", err);
        return rc;
    }
    s->cfg.tp.tls_server = s->tls_server;
    s->cfg.tp.tls_client = s->tls_client;
    return 0;
}

static void tls_free(struct sk_server *s)
{
    sk_tls_ctx_free(s->tls_server);
    sk_tls_ctx_free(s->tls_client);
    s->tls_server = s->tls_client = NULL;
}

/* The transports and the transaction layer above them, on the workers' loops. */
static int layers_new(struct sk_server *s)
{
    struct sip_tpm_handler ph = {on_message, on_malformed, s, on_screen};
    struct sip_sender sender = {server_sender, server_conn_ref, server_conn_unref, s};
    struct sip_txl_handler th = {on_request, on_stray_response, on_server_failed, s};
    int err;

    if (s->cfg.nws_origins) {
        for (unsigned i = 0; i < s->cfg.nws_origins; i++)
            s->cfg.ws_origin_list[i] = s->cfg.ws_origins[i];
        s->cfg.ws_origin_list[s->cfg.nws_origins] = NULL;
        s->cfg.tp.ws_origins = s->cfg.ws_origin_list;
    }
    if ((err = tls_setup(s))) {
        tls_free(s);
        return err;
    }
    if ((err = sip_tpm_new(&s->tpm, &s->cfg.tp, s->loops, s->nw, &ph))) {
        tls_free(s);
        return err;
    }
    if ((err = sip_txl_new(&s->txl, &s->cfg.txn, &sender, &th))) {
        sip_tpm_free(s->tpm);
        tls_free(s);
        return err;
    }
    return 0;
}

/* DATA/audit.log unless --audit-log names another file or "off". */
static void audit_open(struct sk_server *s)
{
    char path[1100];
    int err;

    if (strcmp(s->cfg.audit_log, "off") == 0 || (!s->cfg.audit_log[0] && !s->cfg.data_dir[0]))
        return;
    if (s->cfg.audit_log[0])
        snprintf(path, sizeof(path), "%s", s->cfg.audit_log);
    else
        snprintf(path, sizeof(path), "%s/audit.log", s->cfg.data_dir);
    if ((err = sk_audit_open(&s->audit, path, SK_AUDIT_MAX_BYTES, SK_AUDIT_KEEP)))
        SK_WARN("no audit log at %s: %s", path, strerror(err));
}

static int store_open(struct sk_server *s)
{
    size_t nu = 0;
    int err;

    if (!s->cfg.data_dir[0] && !s->cfg.store[0]) return 0; /* memory only */
    if ((err = sk_store_open_url(&s->store, s->cfg.store, s->cfg.data_dir))) {
        SK_ERROR("cannot open the store %s: %s", s->cfg.store[0] ? s->cfg.store : s->cfg.data_dir,
                 strerror(err));
        return err;
    }
    if (sk_store_user_cache_warm(s->store, &nu) == 0)
        SK_DEBUG("user cache: %zu users loaded", nu);
    return 0;
}

/* Bind every listen address, then say who we are: once the addresses are bound
 * (a port 0 has its number now). The workers do not run yet, so nothing is
 * received before the AOR rule and the bindings are in place. */
static int listen_all(struct sk_server *s)
{
    int err;

    for (unsigned i = 0; i < s->cfg.nlisten; i++) {
        char addr[80];
        if ((err = sip_tpm_listen(s->tpm, &s->cfg.listen[i]))) {
            SK_ERROR("cannot listen on %s:%s: %s", sip_proto_name(s->cfg.listen[i].proto),
                     sk_sa_str(&s->cfg.listen[i].addr, addr, sizeof(addr)), strerror(err));
            return err;
        }
    }
    sk_loc_self_init(&s->self);
    for (unsigned i = 0; i < s->cfg.nlisten; i++)
        self_add_listen(&s->self, &s->cfg.listen[i].addr);
    for (unsigned i = 0; i < s->cfg.ndomains; i++)
        sk_loc_self_add_domain(&s->self, s->cfg.domains[i]);
    return 0;
}

/* The location service with the stored bindings, and the registrar on it. */
static int registrar_open(struct sk_server *s)
{
    int err;

    if ((err = sk_loc_new(&s->loc, s->store, s->cfg.flush_ms))) return err;
    sk_loc_set_trim_keep(s->loc, s->cfg.heap_keep);
    if ((err = sk_loc_load(s->loc, &s->self, (int64_t) time(NULL))) ||
        (err = sk_registrar_new(&s->reg, &s->cfg.reg, &s->self, s->loc, s->store))) {
        sk_loc_free(s->loc);
        return err;
    }
    return 0;
}

static void tag_prefix_init(struct sk_server *s)
{
    unsigned char rnd[8];

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(s->tag_prefix + 2 * i, 3, "%02x", rnd[i]);
}

int sk_server_new(struct sk_server **sp, const struct sk_server_config *cfg)
{
    struct sk_server *s = calloc(1, sizeof(*s));
    int err;

    if (!s) return ENOMEM;
    s->cfg = *cfg;
    tag_prefix_init(s);
    if ((err = loops_new(s))) goto out;
    if ((err = sk_metrics_new(&s->metrics, s->loops, s->nw))) {
        loops_free(s);
        goto out;
    }
    if ((err = layers_new(s))) goto out_loops;
    if ((err = store_open(s))) goto out_layers;
    if ((err = listen_all(s)) || (err = registrar_open(s))) goto out_store;
    audit_open(s); /* after the store: the data directory exists */
    sk_registrar_set_audit(s->reg, s->audit);
    if (s->cfg.protect.enabled) {
        if ((err = sk_protect_new(&s->protect, &s->cfg.protect))) goto out_registrar;
        sk_registrar_set_protect(s->reg, s->protect);
    }
    if ((err = sk_proxy_env_server_init(&s->proxy, s))) goto out_registrar;
    /* the chain before any worker runs: nothing is received until sk_server_start */
    if ((err = server_handlers_add(s))) goto out_proxy;
    *sp = s;
    return 0;
out_proxy:
    sk_proxy_env_server_fini(&s->proxy);
out_registrar:
    sk_protect_free(s->protect);
    sk_registrar_free(s->reg);
    sk_loc_free(s->loc);
out_store:
    sk_audit_close(s->audit);
    sk_store_close(s->store);
out_layers:
    sip_txl_free(s->txl);
    sip_tpm_free(s->tpm);
    tls_free(s);
out_loops:
    loops_free(s);
    sk_metrics_free(s->metrics);
out:
    free(s);
    return err;
}

int sk_server_handler_add(struct sk_server *s, const struct sip_tu_handler *h,
                          const char *before)
{
    if (s->started) return EBUSY; /* the workers read the chain without a lock */
    return sip_tu_add(&s->tu, h, before);
}

const struct sip_tu *sk_server_handlers(const struct sk_server *s)
{
    return &s->tu;
}

static void *worker_main(void *arg)
{
    sk_loop_run(arg);
    return NULL;
}

/* Workers run SCHED_BATCH: a worker woken by a datagram does not preempt the
 * task running on its core, it runs when that task sleeps or its slice ends
 * (sched(7)). On a core of its own nothing changes; on a core it shares with a
 * busy process it handles the requests queued meanwhile in one turn instead of
 * waking once per request. Measured in bench/: with SIPp on the worker's core,
 * the normal policy woke 0.52 times per OPTIONS (SIPp's bursts of ~8 taken one
 * by one) and SCHED_BATCH 0.13 times, 11% less CPU per transaction; Kamailio
 * wakes 0.14 times per request with either policy. Unprivileged, and reversible
 * with --sched normal. */
static void set_batch(struct sk_server *s, pthread_t t)
{
    struct sched_param sp = {.sched_priority = 0};
    int err;

    if (!s->cfg.sched_batch)
        return;
    if ((err = pthread_setschedparam(t, SCHED_BATCH, &sp)))
        SK_WARN("workers stay on the normal scheduling policy: SCHED_BATCH: %s", strerror(err));
}

int sk_server_start(struct sk_server *s)
{
    for (unsigned i = 0; i < s->nw; i++) {
        int err = pthread_create(&s->threads[i], NULL, worker_main, s->loops[i]);
        if (err) {
            for (unsigned j = 0; j < i; j++) {
                sk_loop_stop(s->loops[j]);
                pthread_join(s->threads[j], NULL);
            }
            return err;
        }
        set_batch(s, s->threads[i]);
        char name[16];
        snprintf(name, sizeof(name), "sk-worker-%u", i % 1000u);
        pthread_setname_np(s->threads[i], name);
    }
    s->started = true;
    if (sk_metrics_start(s->metrics))
        SK_WARN("no event-loop lag probes: out of memory");
    atomic_store(&s->ready, true);
    return 0;
}

void sk_server_stop(struct sk_server *s)
{
    if (!s->started)
        return;
    atomic_store(&s->ready, false);
    for (unsigned i = 0; i < s->nw; i++)
        sk_loop_stop(s->loops[i]);
    for (unsigned i = 0; i < s->nw; i++)
        pthread_join(s->threads[i], NULL);
    s->started = false;
}

void sk_server_free(struct sk_server *s)
{
    if (!s)
        return;
    sk_server_stop(s);
    sip_txl_free(s->txl);
    sk_proxy_env_server_fini(&s->proxy);
    sip_tpm_free(s->tpm);
    tls_free(s);
    sk_registrar_free(s->reg);
    sk_protect_free(s->protect);
    sk_loc_free(s->loc); /* writes what is still queued */
    sk_audit_close(s->audit);
    sk_store_close(s->store);
    loops_free(s);
    sk_metrics_free(s->metrics); /* the lag probes' timers were on the loops */
    free(s);
}

void sk_server_stats(struct sk_server *s, struct sk_server_stats *o)
{
    memset(o, 0, sizeof(*o));
    sip_txl_stats(s->txl, &o->txn);
    sip_tpm_stats(s->tpm, &o->tp);
    o->requests = atomic_load(&s->st.requests);
    o->responses_sent = atomic_load(&s->st.responses);
    o->malformed_requests = atomic_load(&s->st.bad_requests);
    o->malformed_responses_dropped = atomic_load(&s->st.bad_responses);
    o->stray_responses_dropped = atomic_load(&s->st.stray);
    o->proxied = atomic_load(&s->st.proxied);
    o->stateless_forwarded = atomic_load(&s->st.stateless_forwarded);
    o->stateless_challenges = atomic_load(&s->st.stateless_challenges);
    o->loops_detected = atomic_load(&s->st.loops);
    o->txns_live = sip_txl_count(s->txl);
    if (s->protect) {
        struct sk_protect_stats ps;
        sk_protect_stats(s->protect, &ps);
        for (unsigned i = 0; i < SK_RULE_COUNT; i++) {
            if (i != SK_RULE_OVERLOAD) o->protect_dropped += ps.dropped[i];
            o->protect_blocks += ps.blocks[i];
        }
        o->protect_overload = ps.dropped[SK_RULE_OVERLOAD];
        o->protect_users_slowed = ps.users_slowed;
    }
    for (unsigned i = 0; i < s->nw; i++)
        o->timers_live += sk_loop_timer_count(s->loops[i]); /* a snapshot: read racily */
}
