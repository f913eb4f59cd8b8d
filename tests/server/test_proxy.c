/* The proxy's request path (proxy.h) over a fake environment: a real transaction layer on
 * a fake clock and transport, fake location service and users. */
#define TU_CHECKS
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/loop.h"
#include "server/proxy.h"
#include "sip/msg.h"
#include "sip/resolve.h"

static const char *g_ctx = "";
static int g_branch = 1; /* the upstream Via branch: z9hG4bKup<n> */

#define MAX_SENT 32
#define MAX_BINDINGS 4

struct sent {
    char *buf;
    size_t len;
    struct sip_dest dst;
    bool stateless; /* through env->ops->send, not a transaction */
};

static struct {
    struct sk_loop *loop;
    struct sip_txl *txl;
    struct sip_resolver *resolver;
    struct sk_loc_self self;
    struct sk_proxy_config cfg;
    char domains[1][256];
    struct sk_proxy_env env;
    struct sip_listen udp, tcp;
    struct sent sent[MAX_SENT];
    size_t nsent;
    int responded[8]; /* our own responses, in order */
    size_t nresponded;
    unsigned counts[5];
    struct sk_loc_binding bindings[MAX_BINDINGS];
    size_t nbindings;
    bool hide_users; /* the source is untrusted under protection */
} G;

/* ---- The fake environment ---- */

static void keep_sent(const struct sip_dest *dst, const char *buf, size_t len,
                      bool stateless)
{
    struct sent *s;

    CHK(G.nsent < MAX_SENT);
    if (G.nsent >= MAX_SENT) return;
    s = &G.sent[G.nsent++];
    s->buf = malloc(len + 1);
    CHK(s->buf != NULL);
    memcpy(s->buf, buf, len);
    s->buf[len] = '\0';
    s->len = len;
    s->dst = *dst;
    s->stateless = stateless;
}

static int fake_send(void *arg, const struct sip_dest *dst, const char *buf, size_t len)
{
    (void) arg;
    keep_sent(dst, buf, len, false);
    return 0;
}

static void fake_conn(void *arg, struct sk_conn *c)
{
    (void) arg;
    (void) c;
}

static const struct sip_sender fake_sender = {fake_send, fake_conn, fake_conn, NULL};

static bool env_addr_is_ours(void *arg, struct sk_str host, uint16_t port)
{
    (void) arg;
    return sk_str_eq_cstr(host, "127.0.0.1") && (port == 0 || port == 5060);
}

static const struct sip_listen *env_local(void *arg, enum sip_proto proto, int family)
{
    (void) arg;
    if (family != AF_INET) return NULL;
    return proto == SIP_PROTO_UDP ? &G.udp : &G.tcp;
}

static int env_send(void *arg, const struct sip_dest *dst, const char *buf, size_t len)
{
    (void) arg;
    keep_sent(dst, buf, len, true);
    return 0;
}

static void env_respond(void *arg, struct sip_txn *st, struct sip_rx *rx, int code,
                        const char *reason, const char *extra)
{
    (void) arg;
    (void) st;
    (void) rx;
    (void) reason;
    (void) extra;
    if (G.nresponded < 8) G.responded[G.nresponded++] = code;
}

static size_t env_lookup(void *arg, const char *aor, int64_t now, sk_loc_fn fn,
                         void *fn_arg)
{
    size_t n = 0;
    (void) arg;
    (void) now;
    for (size_t i = 0; i < G.nbindings; i++) {
        if (strcmp(G.bindings[i].aor, aor) == 0) {
            fn(fn_arg, &G.bindings[i]);
            n++;
        }
    }
    return n;
}

static bool env_user_exists(void *arg, const char *user, const char *domain)
{
    (void) arg;
    return strcmp(domain, "example.com") == 0 &&
           (!strcmp(user, "bob") || !strcmp(user, "dave"));
}

static int env_authenticate(void *arg, const struct sip_rx *rx, struct sk_str user,
                            struct sk_str realm, struct sk_reg_result *res, int64_t now)
{
    (void) arg;
    (void) rx;
    (void) user;
    (void) realm;
    (void) now;
    res->status = 407;
    return EACCES;
}

static void env_count(void *arg, enum sk_proxy_counter which)
{
    (void) arg;
    G.counts[which]++;
}

static bool env_hide_users(void *arg, const struct sip_rx *rx)
{
    (void) arg;
    (void) rx;
    return G.hide_users;
}

static const struct sk_proxy_env_ops fake_ops = {
    env_addr_is_ours, env_local,       env_send,         env_respond,
    env_lookup,       env_user_exists, env_authenticate, env_count,
    NULL, /* event: the metrics are not looked at here */
    env_hide_users,
};

/* The transaction user: §16.3 as server.c does it (the 483 and 482 checks
 * before forwarding), then the proxy. */
static void on_request(void *arg, struct sip_txn *st, struct sip_rx *rx)
{
    struct sip_route_prep pr;
    int status;
    char reason[160];
    (void) arg;

    if (sk_proxy_prep(&G.env, rx->msg, &pr, &status, reason, sizeof(reason)) != 0) {
        env_respond(NULL, st, rx, status, reason, NULL);
        return;
    }
    if (!st) {
        sk_proxy_forward_ack(&G.env, rx);
        return;
    }
    if (rx->msg->max_forwards == 0) {
        env_respond(NULL, st, rx, 483, NULL, NULL);
        return;
    }
    if (sk_proxy_detect_loop(&G.env, rx->msg)) {
        env_respond(NULL, st, rx, 482, NULL, NULL);
        return;
    }
    if (rx->msg->method_id == SIP_METHOD_CANCEL) {
        struct sip_txn *inv = sip_txl_find_invite(G.txl, rx->msg);
        if (inv) {
            sk_proxy_cancel_branches(&G.env, inv);
            sip_txn_unref(inv);
        }
        return;
    }
    sk_proxy_forward(&G.env, st, rx, &pr);
}

static void on_stray(void *arg, struct sip_rx *rx)
{
    (void) arg;
    sk_proxy_forward_response(&G.env, rx);
}

static void on_server_failed(void *arg, struct sip_txn *st, int err)
{
    (void) arg;
    (void) err;
    sk_proxy_txn_gone(&G.env, st);
}

static const struct sip_txl_handler handler = {on_request, on_stray, on_server_failed,
                                               NULL};

static int setup_with(bool defer)
{
    struct sip_resolve_config rc = sip_resolve_config_default;
    struct sk_sa a;

    memset(&G, 0, sizeof(G));
    g_branch = 1;
    rc.defer = defer;
    if (sk_loop_new(&G.loop, SK_LOOP_FAKE_CLOCK) ||
        sip_txl_new(&G.txl, &sip_txn_config_default, &fake_sender, &handler) ||
        sip_resolver_new(&G.resolver, &rc, G.loop))
        return -1;
    G.udp.proto = SIP_PROTO_UDP;
    G.tcp.proto = SIP_PROTO_TCP;
    sk_sa_from_ip(&G.udp.addr, SK_STR_LIT("127.0.0.1"), 5060);
    G.tcp.addr = G.udp.addr;
    sk_loc_self_init(&G.self);
    sk_sa_from_ip(&a, SK_STR_LIT("127.0.0.1"), 5060);
    sk_loc_self_add_addr(&G.self, &a);
    sk_loc_self_add_domain(&G.self, "example.com");
    snprintf(G.domains[0], sizeof(G.domains[0]), "example.com");
    G.cfg = sk_proxy_config_default;
    G.cfg.auth = false;
    G.env = (struct sk_proxy_env){
        &fake_ops, NULL,  &G.cfg,    &G.self, (const char(*)[256]) G.domains,
        1,         G.txl, G.resolver};
    return 0;
}

static int setup(void **state)
{
    (void) state;
    return setup_with(false);
}

static int setup_deferred(void **state)
{
    (void) state;
    return setup_with(true);
}

static int teardown(void **state)
{
    (void) state;
    sip_txl_free(G.txl);
    sip_resolver_free(G.resolver);
    sk_loop_free(G.loop);
    for (size_t i = 0; i < G.nsent; i++)
        free(G.sent[i].buf);
    return 0;
}

static void add_binding(const char *aor, const char *uri, int q, const char *src_ip,
                        uint16_t port)
{
    struct sk_loc_binding *b = &G.bindings[G.nbindings++];
    memset(b, 0, sizeof(*b));
    b->aor = aor;
    b->uri = uri;
    b->q = q;
    b->proto = SIP_PROTO_UDP;
    b->expires_at = 1 << 30;
    sk_sa_from_ip(&b->src, sk_str_cstr(src_ip), port);
}

/* ---- Feeding messages ---- */

static void deliver(const char *text)
{
    size_t len = strlen(text);
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;
    struct sip_rx rx;

    CHK(m != NULL);
    sip_msg_init(m);
    if (sip_msg_parse(m, text, len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) != 0)
        fail_msg("does not parse: %s", text);
    memset(&rx, 0, sizeof(rx));
    rx.msg = m;
    rx.loop = G.loop;
    rx.proto = SIP_PROTO_UDP;
    sk_sa_from_ip(&rx.src, SK_STR_LIT("127.0.0.9"), 5099);
    sk_sa_from_ip(&rx.local, SK_STR_LIT("127.0.0.1"), 5060);
    sip_txl_receive(G.txl, &rx);
    sip_msg_release(m);
    free(m);
}

static char g_req[2048];

static const char *request(const char *method, const char *ruri, const char *extra)
{
    snprintf(
        g_req, sizeof(g_req),
        "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bKup%d;rport\r\n"
        "From: <sip:alice@example.net>;tag=a1\r\nTo: <%s>\r\nCall-ID: call-1\r\n"
        "CSeq: 1 %s\r\nContact: <sip:alice@127.0.0.9:5099>\r\nMax-Forwards: 70\r\n%s"
        "Content-Length: 0\r\n\r\n",
        method, ruri, g_branch, ruri, method, extra ? extra : "");
    return g_req;
}

/* The k-th request sent with this method (0-based), or NULL. */
static const struct sent *sent_req(const char *method, size_t k)
{
    size_t ml = strlen(method);
    for (size_t i = 0; i < G.nsent; i++) {
        if (strncmp(G.sent[i].buf, method, ml) == 0 && G.sent[i].buf[ml] == ' ' &&
            k-- == 0)
            return &G.sent[i];
    }
    return NULL;
}

static size_t count_req(const char *method)
{
    size_t n = 0;
    while (sent_req(method, n))
        n++;
    return n;
}

static bool has_line(const struct sent *s, const char *line)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    return s && strstr(s->buf, want) != NULL;
}

static void chk_dst(const struct sent *s, const char *ip, uint16_t port,
                    enum sip_proto proto)
{
    char buf[64];
    CHK(s != NULL);
    if (!s) return;
    CHK(strcmp(sk_sa_ip(&s->dst.addr, buf, sizeof(buf)), ip) == 0);
    CHK_INT(sk_sa_port(&s->dst.addr), port);
    CHK_INT(s->dst.proto, proto);
}

/* A response to a request we sent: its Vias, From, To (with a tag), Call-ID, CSeq. */
static void answer(const struct sent *s, int code, const char *reason)
{
    char out[2048];
    size_t n;
    const char *p = strstr(s->buf, "\r\n") + 2;

    n = (size_t) snprintf(out, sizeof(out), "SIP/2.0 %d %s\r\n", code, reason);
    while (*p && strncmp(p, "\r\n", 2) != 0) {
        const char *e = strstr(p, "\r\n");
        size_t l = (size_t) (e - p);
        if (!strncmp(p, "Via:", 4) || !strncmp(p, "From:", 5) ||
            !strncmp(p, "Call-ID:", 8) || !strncmp(p, "CSeq:", 5)) {
            n += (size_t) snprintf(out + n, sizeof(out) - n, "%.*s\r\n", (int) l, p);
        } else if (!strncmp(p, "To:", 3)) {
            n += (size_t) snprintf(out + n, sizeof(out) - n, "%.*s;tag=callee\r\n",
                                   (int) l, p);
        }
        p = e + 2;
    }
    snprintf(out + n, sizeof(out) - n, "Content-Length: 0\r\n\r\n");
    deliver(out);
}

/* ---- The tests ---- */

/* §16.6: a request for another domain (an IP literal) goes there with our Via,
 * our Record-Route, Max-Forwards one less, and received on the Via we got. */
static void test_forward_literal(void **state)
{
    const struct sent *s;
    (void) state;

    g_ctx = "forward";
    deliver(request("INVITE", "sip:carol@127.0.0.2:5062", NULL));
    CHK_INT(G.nresponded, 0);
    CHK_INT(G.counts[SK_PROXY_COUNT_PROXIED], 1);
    CHK_INT(count_req("INVITE"), 1);
    s = sent_req("INVITE", 0);
    chk_dst(s, "127.0.0.2", 5062, SIP_PROTO_UDP);
    CHK(strncmp(s->buf, "INVITE sip:carol@127.0.0.2:5062 SIP/2.0\r\n", 41) == 0);
    /* §16.6 step 8: our branch: the magic cookie, "sk", the loop hash, 64 random bits */
    CHK(strstr(s->buf, "\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsk") != NULL);
    {
        const char *b = strstr(s->buf, ";branch=z9hG4bKsk") + strlen(";branch=z9hG4bKsk");
        size_t hex = strspn(b, "0123456789abcdef");
        CHK_INT(hex, 32);
    }
    CHK(has_line(s, "Record-Route: <sip:127.0.0.1:5060;lr>"));
    CHK(has_line(s, "Max-Forwards: 69"));
    /* §18.2.1 and RFC 3581: received and rport on the Via we got */
    CHK(strstr(s->buf,
               "\r\nVia: SIP/2.0/UDP "
               "127.0.0.9:5099;branch=z9hG4bKup1;received=127.0.0.9;rport=5099") != NULL);

    /* a 200 goes upstream without our Via, and counts as the final response */
    answer(s, 200, "OK");
    CHK_INT(G.counts[SK_PROXY_COUNT_RESPONSES], 1);
}

/* §16.3 step 4 / RFC 5393: the request we forwarded, back unchanged: a loop;
 * Max-Forwards 0 would go out as -1 (483 before the proxy). */
static void test_loop_and_max_forwards(void **state)
{
    char back[2048];
    const struct sent *s;
    (void) state;

    g_ctx = "loop";
    deliver(request("OPTIONS", "sip:carol@127.0.0.2:5062", NULL));
    s = sent_req("OPTIONS", 0);
    CHK(s != NULL);
    if (!s) return;
    snprintf(back, sizeof(back), "%s", s->buf);
    deliver(back);
    CHK_INT(G.nresponded, 1);
    CHK_INT(G.responded[0], 482);
    CHK_INT(G.counts[SK_PROXY_COUNT_LOOPS], 1);
    CHK_INT(count_req("OPTIONS"), 1);

    g_ctx = "a spiral: the same request to another Request-URI is not a loop";
    {
        char *ru = strstr(back, "carol@127.0.0.2");
        char *br = strstr(back, ";branch=z9hG4bKsk") + strlen(";branch=z9hG4bKsk") + 31;
        memcpy(ru, "carla", 5);
        *br =
            *br == '0' ? '1' : '0'; /* a new transaction: the random part of our branch */
    }
    deliver(back);
    CHK_INT(G.nresponded, 1);
    CHK_INT(count_req("OPTIONS"), 2);

    g_ctx = "Max-Forwards 0";
    {
        char mf0[2048];
        snprintf(mf0, sizeof(mf0), "%s",
                 request("OPTIONS", "sip:carol@127.0.0.2:5062", NULL));
        memcpy(strstr(mf0, "Max-Forwards: 70"), "Max-Forwards: 00", 16);
        memcpy(strstr(mf0, "z9hG4bKup1"), "z9hG4bKup2", 10);
        deliver(mf0);
    }
    CHK_INT(G.responded[G.nresponded - 1], 483);
    CHK_INT(count_req("OPTIONS"), 2);
}

/* §16.6: targets in groups of equal q, highest first; the next group after
 * every branch of one failed. */
static void test_forking_by_q(void **state)
{
    const struct sent *a, *b, *c;
    (void) state;

    add_binding("sip:bob@example.com", "sip:bob@127.0.0.5:5070", 500, "127.0.0.5", 5070);
    add_binding("sip:bob@example.com", "sip:bob@127.0.0.6:5070", 1000, "127.0.0.6", 5070);
    add_binding("sip:bob@example.com", "sip:bob@127.0.0.7:5070", 1000, "127.0.0.7", 5070);
    g_ctx = "first group";
    deliver(request("INVITE", "sip:bob@example.com", NULL));
    CHK_INT(count_req("INVITE"), 2);
    a = sent_req("INVITE", 0);
    b = sent_req("INVITE", 1);
    chk_dst(a, "127.0.0.6", 5070, SIP_PROTO_UDP);
    chk_dst(b, "127.0.0.7", 5070, SIP_PROTO_UDP);
    CHK(strncmp(a->buf, "INVITE sip:bob@127.0.0.6:5070 SIP/2.0", 37) == 0);

    g_ctx = "second group after both failed";
    answer(a, 486, "Busy Here");
    CHK_INT(count_req("INVITE"), 2);
    answer(b, 480, "Temporarily Unavailable");
    CHK_INT(count_req("INVITE"), 3);
    c = sent_req("INVITE", 2);
    chk_dst(c, "127.0.0.5", 5070, SIP_PROTO_UDP);
    CHK_INT(G.counts[SK_PROXY_COUNT_RESPONSES], 0);
    answer(c, 486, "Busy Here");
    CHK_INT(G.counts[SK_PROXY_COUNT_RESPONSES], 1);
}

/* §16.5: 404 for a user we do not know, 480 for one with no binding now; a
 * name we cannot resolve yet: 404 (no DNS). */
static void test_not_found(void **state)
{
    (void) state;

    g_ctx = "unknown user";
    deliver(request("INVITE", "sip:nobody@example.com", NULL));
    g_ctx = "known user without bindings";
    deliver(request("MESSAGE", "sip:dave@example.com", NULL));
    g_ctx = "a host name";
    deliver(request("OPTIONS", "sip:x@example.org", NULL));
    CHK_INT(G.nresponded, 3);
    CHK_INT(G.responded[0], 404);
    CHK_INT(G.responded[1], 480);
    CHK_INT(G.responded[2], 404);
    CHK_INT(G.nsent, 0);

    /* an untrusted source under protection cannot tell them apart (svwar) */
    G.hide_users = true;
    g_branch = 2; /* new transactions */
    g_ctx = "unknown user, hidden";
    deliver(request("INVITE", "sip:nobody@example.com", NULL));
    g_ctx = "known user, hidden";
    deliver(request("MESSAGE", "sip:dave@example.com", NULL));
    CHK_INT(G.nresponded, 5);
    CHK_INT(G.responded[3], 480);
    CHK_INT(G.responded[4], 480);
}

/* §16.6 step 6: a strict router next: it becomes the Request-URI and the target
 * goes to the end of the Route set. */
static void test_strict_next_hop(void **state)
{
    const struct sent *s;
    (void) state;

    g_ctx = "strict";
    deliver(request(
        "MESSAGE", "sip:carol@127.0.0.2:5062",
        "Route: <sip:127.0.0.1;lr>, <sip:127.0.0.3:5064>, <sip:127.0.0.4;lr>\r\n"));
    s = sent_req("MESSAGE", 0);
    chk_dst(s, "127.0.0.3", 5064, SIP_PROTO_UDP);
    CHK(s && strncmp(s->buf, "MESSAGE sip:127.0.0.3:5064 SIP/2.0\r\n", 36) == 0);
    CHK(has_line(s, "Route: <sip:127.0.0.4;lr>, <sip:carol@127.0.0.2:5062>"));

    g_ctx = "maddr and transport on a loose route";
    g_branch = 2;
    deliver(request("MESSAGE", "sip:carol@127.0.0.2:5062",
                    "Route: <sip:p.example.net;maddr=127.0.0.8;transport=tcp;lr>\r\n"));
    s = sent_req("MESSAGE", 1);
    chk_dst(s, "127.0.0.8", 5060, SIP_PROTO_TCP);
    CHK(s && strstr(s->buf, "\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=") != NULL);
}

/* §16.11: an ACK for a 2xx goes on statelessly; with Max-Forwards 0 it is absorbed. */
static void test_ack_stateless(void **state)
{
    char ack[2048];
    const struct sent *s;
    (void) state;

    g_ctx = "ACK";
    snprintf(ack, sizeof(ack), "%s",
             request("ACK", "sip:carol@127.0.0.2:5062", "Route: <sip:127.0.0.1;lr>\r\n"));
    deliver(ack);
    s = sent_req("ACK", 0);
    chk_dst(s, "127.0.0.2", 5062, SIP_PROTO_UDP);
    CHK(s && s->stateless);
    CHK_INT(G.counts[SK_PROXY_COUNT_STATELESS_FORWARDED], 1);

    memcpy(strstr(ack, "Max-Forwards: 70"), "Max-Forwards: 00", 16);
    deliver(ack);
    CHK_INT(count_req("ACK"), 1);
}

/* The resolve step answering later, from the loop (as DNS will): the branch
 * goes out then; a CANCEL meanwhile ends it as 487 without sending. */
static void test_deferred_resolution(void **state)
{
    (void) state;

    g_ctx = "deferred";
    deliver(request("INVITE", "sip:carol@127.0.0.2:5062", NULL));
    CHK_INT(count_req("INVITE"), 0);
    CHK_INT(sip_resolver_pending(G.resolver), 1);
    sk_loop_advance(G.loop, 1);
    CHK_INT(count_req("INVITE"), 1);
    chk_dst(sent_req("INVITE", 0), "127.0.0.2", 5062, SIP_PROTO_UDP);
    CHK(has_line(sent_req("INVITE", 0), "Record-Route: <sip:127.0.0.1:5060;lr>"));

    g_ctx = "cancelled while resolving";
    {
        char inv[2048], cancel[2048];
        snprintf(inv, sizeof(inv), "%s",
                 request("INVITE", "sip:carol@127.0.0.3:5062", NULL));
        memcpy(strstr(inv, "z9hG4bKup1"), "z9hG4bKup3", 10);
        memcpy(strstr(inv, "call-1"), "call-2", 6);
        deliver(inv);
        CHK_INT(sip_resolver_pending(G.resolver), 1);
        snprintf(cancel, sizeof(cancel), "%s",
                 request("CANCEL", "sip:carol@127.0.0.3:5062", NULL));
        memcpy(strstr(cancel, "z9hG4bKup1"), "z9hG4bKup3", 10);
        memcpy(strstr(cancel, "call-1"), "call-2", 6);
        deliver(cancel);
    }
    CHK_INT(sip_resolver_pending(G.resolver), 0);
    CHK_INT(G.nresponded, 1);
    CHK_INT(G.responded[0], 487);
    sk_loop_advance(G.loop, 10);
    CHK_INT(count_req("INVITE"), 1);
}

/* A name that cannot be resolved, answered later: 404 then. */
static void test_deferred_failure(void **state)
{
    (void) state;

    g_ctx = "deferred failure";
    deliver(request("OPTIONS", "sip:x@example.org", NULL));
    CHK_INT(G.nresponded, 0);
    sk_loop_advance(G.loop, 1);
    CHK_INT(G.nresponded, 1);
    CHK_INT(G.responded[0], 404);
    CHK_INT(G.nsent, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_and_max_forwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forking_by_q, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_next_hop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_stateless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_resolution, setup_deferred,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deferred_failure, setup_deferred, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
