/* RFC 3261 §17 (Figures 5-8) and RFC 6026 transaction state machines, transition by transition, on a fake clock and a fake transport. */
#define TU_CHECKS
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "net/loop.h"
#include "server/proxy_timer_c.h"
#include "sip/msg.h"
#include "sip/print.h"
#include "sip/tp.h"
#include "sip/txn.h"

/* ---- assertion helpers (print the case under test on failure) ---- */

static const char *g_ctx = ""; /* testutil.h TU_CHECKS: no case name here */

#define CHK_STATE(t, s)                                                                  \
    do {                                                                                 \
        enum sip_txn_state got_ = sip_txn_state(t), want_ = (s);                         \
        if (got_ != want_)                                                               \
            fail_at(__FILE__, __LINE__, "state of %s at t=%llu is %s, expected %s", #t,  \
                    (unsigned long long) now(), sip_txn_state_name(got_),                \
                    sip_txn_state_name(want_));                                          \
    } while (0)

/* ---- the fixture: fake loop, fake transport, recording TU ---- */

#define FAKE_CONN ((struct sk_conn *) &fake_conn_obj)
static char fake_conn_obj;

struct sent {
    char *buf;
    size_t len;
    uint64_t at;
    struct sip_dest dst;
};

struct resp_ev {
    struct sip_txn *t;
    uint64_t at, seq;
    int status;      /* the status argument */
    bool has_rx;
    int msg_status;  /* rx->msg->status when rx is set */
    char to_tag[32];
    enum sip_txn_state state;
};

struct term_ev {
    struct sip_txn *t;
    uint64_t at, seq;
};

struct req_ev {
    struct sip_txn *st; /* with a reference held by the fixture, or NULL */
    uint64_t at;
    enum sip_method method;
    enum sip_txn_kind kind;
    enum sip_txn_state state;
    char call_id[64];
};

struct fail_ev {
    struct sip_txn *st;
    uint64_t at;
    int err;
};

#define MAXEV 128

static struct {
    struct sk_loop *loop;
    struct sip_txl *txl;
    struct sent *sent;
    size_t nsent, capsent;
    int fail_next;       /* errno for the next send, then back to 0 */
    size_t failed_sends;
    long conn_refs;      /* conn_ref minus conn_unref */
    size_t conn_ref_calls;
    uint64_t seq;
    struct resp_ev resp[MAXEV];
    size_t nresp;
    struct term_ev term[MAXEV];
    size_t nterm;
    struct req_ev req[MAXEV];
    size_t nreq;
    int stray_status[MAXEV];
    uint64_t stray_at[MAXEV];
    size_t nstray;
    struct fail_ev fail[MAXEV];
    size_t nfail;
    struct sip_txn *held[MAXEV]; /* references the test owns */
    size_t nheld;
    void *allocs[4 * MAXEV];     /* strings freed at teardown */
    size_t nallocs;
    struct sip_msg *msgs[2 * MAXEV]; /* parsed messages freed at teardown */
    size_t nmsgs;
    struct {                     /* Timer C, as a proxy runs it (timer_c_set) */
        struct sip_txn *t;
        struct sk_proxy_timer_c c;
    } tc[8];
    size_t ntc;
} G;

static uint64_t now(void)
{
    return sk_loop_now(G.loop);
}

static void *track(void *p)
{
    CHK(p != NULL);
    CHK(G.nallocs < sizeof(G.allocs) / sizeof(G.allocs[0]));
    G.allocs[G.nallocs++] = p;
    return p;
}

static void hold(struct sip_txn *t)
{
    CHK(G.nheld < MAXEV);
    G.held[G.nheld++] = t;
}

static int fake_send(void *arg, const struct sip_dest *dst, const char *buf, size_t len)
{
    (void) arg;
    if (G.fail_next) {
        int e = G.fail_next;
        G.fail_next = 0;
        G.failed_sends++;
        return e;
    }
    if (G.nsent == G.capsent) {
        size_t n = G.capsent ? 2 * G.capsent : 64;
        struct sent *v = realloc(G.sent, n * sizeof(*v));
        CHK(v != NULL);
        G.sent = v;
        G.capsent = n;
    }
    struct sent *s = &G.sent[G.nsent++];
    s->buf = malloc(len + 1);
    CHK(s->buf != NULL);
    memcpy(s->buf, buf, len);
    s->buf[len] = '\0';
    s->len = len;
    s->at = sk_loop_now(G.loop);
    s->dst = *dst;
    return 0;
}

static void fake_conn_ref(void *arg, struct sk_conn *c)
{
    (void) arg;
    CHK(c == FAKE_CONN);
    G.conn_refs++;
    G.conn_ref_calls++;
}

static void fake_conn_unref(void *arg, struct sk_conn *c)
{
    (void) arg;
    CHK(c == FAKE_CONN);
    G.conn_refs--;
}

static const struct sip_sender fake_sender = {
    .send = fake_send,
    .conn_ref = fake_conn_ref,
    .conn_unref = fake_conn_unref,
};

static struct sk_proxy_timer_c *timer_c_of(const struct sip_txn *t)
{
    for (size_t i = 0; i < G.ntc; i++)
        if (G.tc[i].t == t)
            return &G.tc[i].c;
    return NULL;
}

static void on_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct sk_proxy_timer_c *tc = timer_c_of(t);

    CHK(arg == &G);
    CHK(G.nresp < MAXEV);
    struct resp_ev *e = &G.resp[G.nresp++];
    memset(e, 0, sizeof(*e));
    e->t = t;
    e->at = now();
    e->seq = G.seq++;
    e->status = status;
    e->has_rx = rx != NULL;
    e->state = sip_txn_state(t);
    if (rx) {
        CHK(rx->msg != NULL);
        e->msg_status = rx->msg->status;
        sk_str_copy(e->to_tag, sizeof(e->to_tag), rx->msg->to.tag);
    }
    if (tc)
        sk_proxy_timer_c_response(tc, status);
}

static void on_terminated(struct sip_txn *t, void *arg)
{
    struct sk_proxy_timer_c *tc = timer_c_of(t);

    if (tc)
        sk_proxy_timer_c_stop(tc);
    CHK(arg == &G);
    CHK(G.nterm < MAXEV);
    G.term[G.nterm].t = t;
    G.term[G.nterm].at = now();
    G.term[G.nterm].seq = G.seq++;
    G.nterm++;
}

static const struct sip_txn_user fake_user = {on_response, on_terminated};

/* Timer C (§16.6 step 11) for a client transaction of fake_user, run the way the
 * proxy runs it (server/proxy_timer_c); 0 stops it. */
static void timer_c_set(struct sip_txn *t, uint32_t ms)
{
    struct sk_proxy_timer_c *tc = timer_c_of(t);

    if (!tc) {
        CHK(G.ntc < sizeof(G.tc) / sizeof(G.tc[0]));
        G.tc[G.ntc].t = t;
        tc = &G.tc[G.ntc++].c;
        memset(tc, 0, sizeof(*tc));
    }
    if (ms)
        sk_proxy_timer_c_start(tc, t, ms);
    else
        sk_proxy_timer_c_stop(tc);
}

static void on_request(void *arg, struct sip_txn *st, struct sip_rx *rx)
{
    CHK(arg == &G);
    CHK(G.nreq < MAXEV);
    struct req_ev *e = &G.req[G.nreq++];
    memset(e, 0, sizeof(*e));
    e->st = st;
    e->at = now();
    e->method = rx->msg->method_id;
    sk_str_copy(e->call_id, sizeof(e->call_id), rx->msg->call_id);
    if (st) {
        sip_txn_ref(st);
        hold(st);
        e->kind = sip_txn_kind(st);
        e->state = sip_txn_state(st);
    }
}

static void on_stray(void *arg, struct sip_rx *rx)
{
    CHK(arg == &G);
    CHK(G.nstray < MAXEV);
    G.stray_status[G.nstray] = rx->msg->status;
    G.stray_at[G.nstray] = now();
    G.nstray++;
}

static void on_server_failed(void *arg, struct sip_txn *st, int err)
{
    CHK(arg == &G);
    CHK(G.nfail < MAXEV);
    G.fail[G.nfail].st = st;
    G.fail[G.nfail].at = now();
    G.fail[G.nfail].err = err;
    G.nfail++;
}

static const struct sip_txl_handler fake_handler = {
    .request = on_request,
    .stray_response = on_stray,
    .server_failed = on_server_failed,
    .arg = &G,
};

static int setup(void **state)
{
    (void) state;
    memset(&G, 0, sizeof(G));
    if (sk_loop_new(&G.loop, SK_LOOP_FAKE_CLOCK))
        return -1;
    if (sip_txl_new(&G.txl, &sip_txn_config_default, &fake_sender, &fake_handler))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    /* Drop the test's references first: a transaction holding a connection calls
     * back into the layer's sender when it is freed. */
    for (size_t i = 0; i < G.nheld; i++)
        sip_txn_unref(G.held[i]);
    sip_txl_free(G.txl);
    sk_loop_free(G.loop);
    for (size_t i = 0; i < G.nsent; i++)
        free(G.sent[i].buf);
    free(G.sent);
    for (size_t i = 0; i < G.nmsgs; i++) {
        sip_msg_release(G.msgs[i]);
        free(G.msgs[i]);
    }
    for (size_t i = 0; i < G.nallocs; i++)
        free(G.allocs[i]);
    return 0;
}

/* ---- clock ---- */

static void advance_to(uint64_t t)
{
    CHK(t >= now());
    sk_loop_advance(G.loop, t - now());
    CHK_INT(now(), t);
}

/* ---- messages ---- */

struct mspec {
    const char *method;      /* a request when set */
    int code;                /* otherwise a response with this status */
    const char *ruri;        /* sip:bob@example.com */
    const char *via;         /* top Via value */
    const char *via2;        /* a second Via header line, optional */
    const char *from_tag;    /* a1 */
    const char *to_tag;      /* none */
    const char *call_id;     /* c1@192.0.2.1 */
    unsigned cseq;           /* 1 */
    const char *cseq_method; /* the request's method; INVITE for responses */
    const char *extra;       /* more header lines, each ending in CRLF */
};

static char *build(struct mspec s)
{
    struct sk_buf b;
    const char *cm = s.cseq_method ? s.cseq_method : s.method ? s.method : "INVITE";

    sk_buf_init(&b);
    if (s.method)
        sk_buf_printf(&b, "%s %s SIP/2.0\r\n", s.method, s.ruri ? s.ruri : "sip:bob@example.com");
    else
        sk_buf_printf(&b, "SIP/2.0 %d %s\r\n", s.code, sip_reason_phrase(s.code));
    sk_buf_printf(&b, "Via: %s\r\n", s.via);
    if (s.via2)
        sk_buf_printf(&b, "Via: %s\r\n", s.via2);
    if (s.method)
        sk_buf_puts(&b, "Max-Forwards: 70\r\n");
    sk_buf_printf(&b, "From: Alice <sip:alice@example.com>;tag=%s\r\n",
                  s.from_tag ? s.from_tag : "a1");
    if (s.to_tag)
        sk_buf_printf(&b, "To: Bob <sip:bob@example.com>;tag=%s\r\n", s.to_tag);
    else
        sk_buf_puts(&b, "To: Bob <sip:bob@example.com>\r\n");
    sk_buf_printf(&b, "Call-ID: %s\r\n", s.call_id ? s.call_id : "c1@192.0.2.1");
    sk_buf_printf(&b, "CSeq: %u %s\r\n", s.cseq ? s.cseq : 1, cm);
    if (s.extra)
        sk_buf_puts(&b, s.extra);
    sk_buf_puts(&b, "Content-Length: 0\r\n\r\n");
    CHK(!b.failed);
    sk_buf_putc(&b, '\0');
    char *out = strdup(b.p);
    sk_buf_free(&b);
    return track(out);
}

#define MSG(...) build((struct mspec){__VA_ARGS__})

static struct sip_msg *parse_n(const char *text, size_t len)
{
    struct sip_msg *m = calloc(1, sizeof(*m));
    struct sip_error e;
    size_t used = 0;
    int rc;

    CHK(m != NULL);
    sip_msg_init(m);
    rc = sip_msg_parse(m, text, len, SIP_PARSE_DATAGRAM, NULL, &used, &e);
    if (rc)
        fail_at(__FILE__, __LINE__, "parse failed (%d, %s) on:\n%s", rc,
                e.reason ? e.reason : "?", text);
    rc = sip_msg_validate(m, &e);
    if (rc)
        fail_at(__FILE__, __LINE__, "validation failed (%s) on:\n%s", e.reason ? e.reason : "?",
                text);
    return m;
}

/* A parsed message kept until teardown (text must live as long). */
static struct sip_msg *parse_kept(const char *text)
{
    struct sip_msg *m = parse_n(text, strlen(text));
    CHK(G.nmsgs < sizeof(G.msgs) / sizeof(G.msgs[0]));
    G.msgs[G.nmsgs++] = m;
    return m;
}

static void make_rx(struct sip_rx *rx, struct sip_msg *m, enum sip_proto proto, uint16_t port)
{
    memset(rx, 0, sizeof(*rx));
    rx->msg = m;
    rx->loop = G.loop;
    rx->proto = proto;
    CHK_INT(sk_sa_from_ip(&rx->src, SK_STR_LIT("127.0.0.1"), port), 0);
    CHK_INT(sk_sa_from_ip(&rx->local, SK_STR_LIT("127.0.0.1"), 5060), 0);
    rx->conn = proto == SIP_PROTO_TCP ? FAKE_CONN : NULL;
}

/* Parse text into a calloc'd message, hand it to the layer, free it at once (the
 * layer must not keep pointers into a received message). */
static void deliver_from(enum sip_proto proto, const char *text, uint16_t port)
{
    size_t len = strlen(text);
    char *copy = malloc(len);
    struct sip_rx rx;

    CHK(copy != NULL);
    memcpy(copy, text, len);
    struct sip_msg *m = parse_n(copy, len);
    make_rx(&rx, m, proto, port);
    sip_txl_receive(G.txl, &rx);
    sip_msg_release(m);
    memset(m, 0xa5, sizeof(*m));
    free(m);
    memset(copy, 'x', len);
    free(copy);
}

static void deliver(enum sip_proto proto, const char *text)
{
    deliver_from(proto, text, 5070);
}

static struct sip_msg *sent_msg(size_t i)
{
    CHK(i < G.nsent);
    return parse_kept(G.sent[i].buf);
}

static struct sk_str hval(const struct sip_msg *m, enum sip_hdr_id id)
{
    const struct sip_hdr *h = sip_msg_hdr(m, id);
    return h ? h->value : SK_STR_NULL;
}

static struct sk_str sent_str(size_t i)
{
    CHK(i < G.nsent);
    return sk_str_make(G.sent[i].buf, G.sent[i].len);
}

/* Exactly n messages were sent so far, at these times. */
static void expect_times_at(const char *file, int line, const uint64_t *times, size_t n)
{
    char got[1024];
    size_t o = 0;
    bool ok = G.nsent == n;

    for (size_t i = 0; i < G.nsent && o < sizeof(got) - 24; i++)
        o += (size_t) snprintf(got + o, sizeof(got) - o, " %llu",
                               (unsigned long long) G.sent[i].at);
    got[o] = '\0';
    for (size_t i = 0; ok && i < n; i++)
        ok = G.sent[i].at == times[i];
    if (!ok)
        fail_at(file, line, "sent %zu messages at t =%s; expected %zu", G.nsent, got, n);
}

#define EXPECT_TIMES(...)                                                                \
    expect_times_at(__FILE__, __LINE__, (const uint64_t[]){__VA_ARGS__},                 \
                    sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))
#define EXPECT_NOTHING_SENT() expect_times_at(__FILE__, __LINE__, NULL, 0)

/* Message i is a byte-for-byte copy of message j. */
#define CHK_SAME_BYTES(i, j) CHK(sk_str_eq(sent_str(i), sent_str(j)))

static struct sip_txl_stats stats(void)
{
    struct sip_txl_stats s;
    memset(&s, 0xff, sizeof(s));
    sip_txl_stats(G.txl, &s);
    return s;
}

static bool dest_is(const struct sip_dest *d, enum sip_proto proto, const char *ip, uint16_t port)
{
    struct sk_sa a;
    CHK_INT(sk_sa_from_ip(&a, sk_str_cstr(ip), port), 0);
    return d->proto == proto && sk_sa_equal(&d->addr, &a);
}

/* ---- client side helpers ---- */

static struct sip_dest peer(enum sip_proto proto)
{
    struct sip_dest d;
    memset(&d, 0, sizeof(d));
    d.proto = proto;
    CHK_INT(sk_sa_from_ip(&d.addr, SK_STR_LIT("192.0.2.2"), 5060), 0);
    return d;
}

/* Our top Via with a fresh branch. */
static const char *our_via(enum sip_proto proto)
{
    char br[32];
    char *v = malloc(128);
    if (!v)
        abort(); /* out of memory in a test: nothing sensible to report */
    sip_branch_new(br, sizeof(br));
    snprintf(v, 128, "SIP/2.0/%s 192.0.2.1:5060;branch=%s", sip_proto_name(proto), br);
    return track(v);
}

static struct sip_txn *client_on(enum sip_proto proto, struct sk_conn *conn, const char *req)
{
    struct sip_dest d = peer(proto);
    struct sip_txn *t = NULL;

    d.conn = conn;

    CHK_INT(sip_txn_client_new(G.txl, G.loop, req, strlen(req), &d, &fake_user, &G, &t), 0);
    CHK(t != NULL);
    hold(t); /* the caller's reference */
    return t;
}

static struct sip_txn *client(enum sip_proto proto, const char *req)
{
    return client_on(proto, NULL, req);
}

static void respond(struct sip_txn *st, int code, const char *text)
{
    CHK_INT(sip_txn_respond(st, code, text, strlen(text)), 0);
}

/* The server transaction of the last request the handler saw. */
static struct sip_txn *last_st(void)
{
    CHK(G.nreq > 0);
    CHK(G.req[G.nreq - 1].st != NULL);
    return G.req[G.nreq - 1].st;
}

/* ======================================================================
 * INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §7.2)
 * ====================================================================== */

static void test_ict_udp_timer_a_b(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    CHK_INT(sip_txn_kind(t), SIP_TXN_INVITE_CLIENT);
    CHK_STATE(t, SIP_TXN_CALLING);
    CHK_INT(sip_txl_count(G.txl), 1);
    EXPECT_TIMES(0);
    CHK(sk_str_eq(sent_str(0), sk_str_cstr(inv)));
    CHK(dest_is(&G.sent[0].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));

    /* Timer A: T1, then doubling with no cap (§17.1.1.2): 500, 1000, 2000, 4000, 8000, 16000 */
    advance_to(499);
    EXPECT_TIMES(0);
    advance_to(31999);
    EXPECT_TIMES(0, 500, 1500, 3500, 7500, 15500, 31500);
    for (size_t i = 1; i < G.nsent; i++) {
        CHK_SAME_BYTES(i, 0);
        CHK(dest_is(&G.sent[i].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));
    }
    CHK_STATE(t, SIP_TXN_CALLING);
    CHK_INT(G.nresp, 0);
    CHK_INT(G.nterm, 0);

    /* Timer B = 64*T1: 408 to the TU, then terminated */
    advance_to(32000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 408);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.resp[0].at, 32000);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 32000);
    CHK(G.term[0].t == t);
    CHK(G.resp[0].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_status(t), 408);
    CHK_INT(sip_txl_count(G.txl), 0);

    advance_to(200000);
    CHK_INT(G.nsent, 7);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 1);
    CHK_INT(sk_loop_timer_count(G.loop), 0);

    struct sip_txl_stats s = stats();
    CHK_INT(s.client_created, 1);
    CHK_INT(s.retransmits_sent, 6);
    CHK_INT(s.timeouts, 1);
    CHK_INT(s.stray_responses, 0);
    CHK_INT(s.retransmissions_absorbed, 0);
}

static void test_ict_tcp_no_retransmissions(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = our_via(SIP_PROTO_TCP));
    struct sip_txn *t = client(SIP_PROTO_TCP, inv);

    advance_to(31999);
    EXPECT_TIMES(0);
    CHK(G.sent[0].dst.proto == SIP_PROTO_TCP);
    CHK_STATE(t, SIP_TXN_CALLING);
    CHK_INT(G.nresp, 0);
    advance_to(32000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 408);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.resp[0].at, 32000);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 32000);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().retransmits_sent, 0);
    CHK_INT(stats().timeouts, 1);
}

static void test_ict_1xx_proceeding(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));

    advance_to(600); /* one Timer A retransmission at 500 */
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1"));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 180);
    CHK(G.resp[0].has_rx);
    CHK_INT(G.resp[0].msg_status, 180);
    CHK_INT(G.resp[0].at, 600);
    CHK_INT(sip_txn_status(t), 180);
    CHK_INT(sip_txn_respond(t, 200, "x", 1), EINVAL); /* not a server transaction */

    /* Proceeding: no more retransmissions and no Timer B (it only runs in Calling) */
    advance_to(100000);
    EXPECT_TIMES(0, 500);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 0);

    /* further provisionals are passed up too */
    deliver(SIP_PROTO_UDP, MSG(.code = 183, .via = via, .to_tag = "b1"));
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 183);
    CHK_STATE(t, SIP_TXN_PROCEEDING);

    /* Proceeding -> Accepted on 2xx, Timer M ends it */
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .to_tag = "b1"));
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.resp[2].status, 200);
    advance_to(100000 + 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nsent, 2);
    CHK_INT(stats().timeouts, 0);
}

/* Checks the ACK the transaction built for a non-2xx final response (§17.1.1.3). */
static void check_ack(size_t i, const char *inv_text, const char *to_tag, bool has_route)
{
    struct sip_msg *inv = parse_kept(inv_text);
    struct sip_msg *ack = sent_msg(i);

    CHK(ack->is_request);
    CHK_INT(ack->method_id, SIP_METHOD_ACK);
    CHK_STR(ack->method, "ACK");
    CHK(sk_str_eq(ack->ruri_raw, inv->ruri_raw));
    CHK_STR(ack->version, "SIP/2.0");
    /* exactly one Via, equal to the INVITE's top Via */
    CHK_INT(ack->count[SIP_HDR_VIA], 1);
    {
        const struct sip_via *vs;
        size_t nv;
        struct sip_error e;
        CHK_INT(sip_msg_vias(ack, &vs, &nv, &e), 0);
        CHK_INT(nv, 1);
    }
    CHK(sk_str_eq(ack->via.raw, inv->via.raw));
    CHK(sk_str_eq(ack->via.branch, inv->via.branch));
    /* From and Call-ID of the INVITE, To of the response */
    CHK(sk_str_eq(hval(ack, SIP_HDR_FROM), hval(inv, SIP_HDR_FROM)));
    CHK(sk_str_eq(ack->call_id, inv->call_id));
    CHK_STRC(ack->to.tag, to_tag);
    CHK(sk_str_eq(ack->to.uri.raw, inv->to.uri.raw));
    /* CSeq: the INVITE's number, method ACK */
    CHK_INT(ack->cseq.num, inv->cseq.num);
    CHK_STR(ack->cseq.method, "ACK");
    /* Route copied from the INVITE */
    if (has_route) {
        CHK_INT(ack->count[SIP_HDR_ROUTE], inv->count[SIP_HDR_ROUTE]);
        const struct sip_hdr *a = sip_msg_hdr(ack, SIP_HDR_ROUTE);
        const struct sip_hdr *b = sip_msg_hdr(inv, SIP_HDR_ROUTE);
        for (; a && b; a = sip_msg_hdr_next(ack, a), b = sip_msg_hdr_next(inv, b))
            CHK(sk_str_eq(a->value, b->value));
        CHK(!a && !b);
    } else {
        CHK_INT(ack->count[SIP_HDR_ROUTE], 0);
    }
    CHK_INT(ack->body.len, 0);
}

static void test_ict_non2xx_completed_ack(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *upstream = "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKupstream1";
    const char *inv =
        MSG(.method = "INVITE", .via = via, .via2 = upstream, .cseq = 7,
            .extra = "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                     "Route: <sip:p3.example.com;lr>\r\n"
                     "Contact: <sip:alice@192.0.2.1>\r\n");
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);
    const char *busy = MSG(.code = 486, .via = via, .via2 = upstream, .to_tag = "b1", .cseq = 7);

    advance_to(1000);
    EXPECT_TIMES(0, 500);
    deliver(SIP_PROTO_UDP, busy);
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 486);
    CHK(G.resp[0].has_rx);
    CHK_INT(G.resp[0].state, SIP_TXN_COMPLETED);
    CHK_INT(sip_txn_status(t), 486);
    EXPECT_TIMES(0, 500, 1000);
    CHK(dest_is(&G.sent[2].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));
    check_ack(2, inv, "b1", true);

    /* a retransmitted final response: the ACK again, nothing to the TU */
    advance_to(2000);
    EXPECT_TIMES(0, 500, 1000); /* Timer A stopped */
    deliver(SIP_PROTO_UDP, busy);
    EXPECT_TIMES(0, 500, 1000, 2000);
    CHK_SAME_BYTES(3, 2);
    CHK(dest_is(&G.sent[3].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));
    CHK_INT(G.nresp, 1);
    CHK_STATE(t, SIP_TXN_COMPLETED);

    /* Timer D: 32 s after entering Completed over UDP */
    advance_to(1000 + 32000 - 1);
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nterm, 0);
    CHK_INT(sip_txl_count(G.txl), 1);
    advance_to(1000 + 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 33000);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nresp, 1); /* no 408 */
    CHK_INT(G.nsent, 4);

    struct sip_txl_stats s = stats();
    CHK_INT(s.retransmits_sent, 2);         /* Timer A once, the ACK once */
    /* the 486 retransmission was absorbed (not passed up), as the non-INVITE client and
     * both server transactions count theirs */
    CHK_INT(s.retransmissions_absorbed, 1);
    CHK_INT(s.timeouts, 0);
}

static void test_ict_non2xx_from_proceeding(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 3);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    deliver(SIP_PROTO_UDP, MSG(.code = 100, .via = via, .cseq = 3));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(5000);
    EXPECT_TIMES(0);
    deliver(SIP_PROTO_UDP, MSG(.code = 603, .via = via, .to_tag = "x9", .cseq = 3));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    EXPECT_TIMES(0, 5000);
    check_ack(1, inv, "x9", false);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 603);
    advance_to(5000 + 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_ict_non2xx_tcp_timer_d_zero(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_TCP, inv);

    advance_to(100);
    deliver(SIP_PROTO_TCP, MSG(.code = 404, .via = via, .to_tag = "nf"));
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 404);
    EXPECT_TIMES(0, 100);
    check_ack(1, inv, "nf", false);
    CHK(G.sent[1].dst.proto == SIP_PROTO_TCP);
    /* Timer D = 0 on a reliable transport: gone on the next turn */
    sk_loop_advance(G.loop, 0);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 100);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_ict_2xx_accepted(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));
    const char *ok = MSG(.code = 200, .via = via, .to_tag = "b1");

    advance_to(700);
    deliver(SIP_PROTO_UDP, ok);
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 200);
    CHK(G.resp[0].has_rx);
    CHK_INT(G.resp[0].state, SIP_TXN_ACCEPTED);
    CHK_INT(sip_txn_status(t), 200);
    /* the transaction does not ACK a 2xx (the TU does, §13.2.2.4), and A stopped */
    advance_to(5000);
    EXPECT_TIMES(0, 500);

    /* RFC 6026 §7.2: 2xx retransmissions (and other forks' 2xx) go to the TU */
    deliver(SIP_PROTO_UDP, ok);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 200);
    CHK(G.resp[1].has_rx);
    CHK_INT(G.resp[1].at, 5000);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .to_tag = "fork2"));
    CHK_INT(G.nresp, 3);
    CHK(strcmp(G.resp[2].to_tag, "fork2") == 0);
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    EXPECT_TIMES(0, 500);
    CHK_INT(G.nstray, 0);

    /* Timer M = 64*T1 from entering Accepted */
    advance_to(700 + 32000 - 1);
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    CHK_INT(G.nterm, 0);
    advance_to(700 + 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 32700);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nresp, 3); /* no 408 */

    /* a 2xx after the end matches nothing: a stray response for the core */
    deliver(SIP_PROTO_UDP, ok);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.nstray, 1);
    CHK_INT(G.stray_status[0], 200);
    CHK_INT(stats().stray_responses, 1);
    CHK_INT(stats().timeouts, 0);
}

static void test_ict_transport_error_first_send(void **state)
{
    (void) state;
    G.fail_next = ECONNREFUSED;
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_UDP)));

    CHK_INT(G.failed_sends, 1);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 503);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.nterm, 1);
    CHK(G.resp[0].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
    CHK_INT(stats().transport_errors, 1);
    advance_to(100000);
    EXPECT_NOTHING_SENT();
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 1);
}

static void test_ict_transport_error_on_retransmit(void **state)
{
    (void) state;
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_UDP)));

    advance_to(1000);
    G.fail_next = ENETUNREACH;
    advance_to(2000); /* Timer A at 1500 fails */
    EXPECT_TIMES(0, 500);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 503);
    CHK_INT(G.resp[0].at, 1500);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(100000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nsent, 2);
}

/* ======================================================================
 * Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6)
 * ====================================================================== */

static void test_nict_udp_timer_e_f(void **state)
{
    (void) state;
    const char *req = MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_UDP));
    struct sip_txn *t = client(SIP_PROTO_UDP, req);

    CHK_INT(sip_txn_kind(t), SIP_TXN_NON_INVITE_CLIENT);
    CHK_STATE(t, SIP_TXN_TRYING);
    advance_to(31999);
    /* E: 500, 1000, 2000, 4000, then capped at T2 = 4000 */
    EXPECT_TIMES(0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500);
    for (size_t i = 1; i < G.nsent; i++)
        CHK_SAME_BYTES(i, 0);
    CHK_STATE(t, SIP_TXN_TRYING);
    CHK_INT(G.nresp, 0);
    advance_to(32000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 408);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.resp[0].at, 32000);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(100000);
    CHK_INT(G.nsent, 11);
    CHK_INT(stats().retransmits_sent, 10);
    CHK_INT(stats().timeouts, 1);
}

static void test_nict_proceeding_t2(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "REGISTER", .via = via));

    advance_to(100);
    deliver(SIP_PROTO_UDP, MSG(.code = 100, .via = via, .cseq_method = "REGISTER"));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 100);
    CHK(G.resp[0].has_rx);
    /* the pending E fires at 500, then every T2 while Proceeding */
    advance_to(31999);
    EXPECT_TIMES(0, 500, 4500, 8500, 12500, 16500, 20500, 24500, 28500);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    /* Timer F still bounds the transaction in Proceeding */
    advance_to(32000);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 408);
    CHK(!G.resp[1].has_rx);
    CHK_INT(G.nterm, 1);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_nict_final_completed_timer_k(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = via));
    const char *ok = MSG(.code = 200, .via = via, .to_tag = "o1", .cseq_method = "OPTIONS");

    advance_to(700);
    deliver(SIP_PROTO_UDP, ok);
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 200);
    CHK_INT(G.resp[0].state, SIP_TXN_COMPLETED);
    /* retransmitted finals are absorbed */
    advance_to(800);
    deliver(SIP_PROTO_UDP, ok);
    deliver(SIP_PROTO_UDP, ok);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nstray, 0);
    CHK_INT(stats().retransmissions_absorbed, 2);
    /* Timer K = T4 */
    advance_to(700 + 5000 - 1);
    CHK_STATE(t, SIP_TXN_COMPLETED);
    EXPECT_TIMES(0, 500); /* E stopped */
    advance_to(700 + 5000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 5700);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(100000);
    CHK_INT(G.nresp, 1); /* no 408 from F */
    CHK_INT(G.nsent, 2);
    CHK_INT(stats().timeouts, 0);
}

static void test_nict_final_from_proceeding(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "BYE", .via = via, .to_tag = "b1"));

    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1", .cseq_method = "BYE"));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(1000);
    deliver(SIP_PROTO_UDP, MSG(.code = 481, .via = via, .to_tag = "b1", .cseq_method = "BYE"));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 481);
    /* a late provisional in Completed is absorbed too */
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1", .cseq_method = "BYE"));
    CHK_INT(G.nresp, 2);
    advance_to(6000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.term[0].at, 6000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_nict_tcp(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    struct sip_txn *t = client(SIP_PROTO_TCP, MSG(.method = "OPTIONS", .via = via));
    struct sip_txn *t2 =
        client(SIP_PROTO_TCP, MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_TCP), .cseq = 2));

    advance_to(300);
    EXPECT_TIMES(0, 0); /* no Timer E over TCP */
    deliver(SIP_PROTO_TCP, MSG(.code = 200, .via = via, .to_tag = "o", .cseq_method = "OPTIONS"));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 1);
    sk_loop_advance(G.loop, 0); /* Timer K = 0 */
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.term[0].at, 300);
    CHK_INT(sip_txl_count(G.txl), 1);
    /* the other one times out at F */
    advance_to(31999);
    CHK_STATE(t2, SIP_TXN_TRYING);
    advance_to(32000);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 408);
    CHK_STATE(t2, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nsent, 2);
    CHK_INT(stats().retransmits_sent, 0);
}

/* ======================================================================
 * INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §7.1)
 * ====================================================================== */

#define SRV_VIA "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsrvinv1"
#define SRV_VIA2 "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKfirsthop;received=10.1.1.2"

static void test_ist_100_trying_at_200(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA, .via2 = SRV_VIA2, .cseq = 5,
                          .extra = "Contact: <sip:alice@192.0.2.10>\r\n");

    deliver(SIP_PROTO_UDP, inv);
    CHK_INT(G.nreq, 1);
    struct sip_txn *st = last_st();
    CHK_INT(G.req[0].method, SIP_METHOD_INVITE);
    CHK_INT(G.req[0].kind, SIP_TXN_INVITE_SERVER);
    CHK_INT(G.req[0].state, SIP_TXN_PROCEEDING);
    CHK_INT(sip_txl_count(G.txl), 1);
    CHK_INT(stats().server_created, 1);
    /* responses go to the source IP and the sent-by port (§18.2.2) */
    CHK(dest_is(sip_txn_dest(st), SIP_PROTO_UDP, "127.0.0.1", 5062));

    advance_to(199);
    EXPECT_NOTHING_SENT();
    advance_to(200);
    EXPECT_TIMES(200);
    CHK(dest_is(&G.sent[0].dst, SIP_PROTO_UDP, "127.0.0.1", 5062));
    {
        struct sip_msg *req = parse_kept(inv);
        struct sip_msg *r = sent_msg(0);
        CHK(!r->is_request);
        CHK_INT(r->status, 100);
        CHK_INT(r->count[SIP_HDR_VIA], 2);
        const struct sip_hdr *a = sip_msg_hdr(r, SIP_HDR_VIA), *b = sip_msg_hdr(req, SIP_HDR_VIA);
        CHK(sk_str_eq(a->value, b->value));
        CHK(sk_str_eq(sip_msg_hdr_next(r, a)->value, sip_msg_hdr_next(req, b)->value));
        CHK(sk_str_eq(hval(r, SIP_HDR_FROM), hval(req, SIP_HDR_FROM)));
        CHK(sk_str_eq(hval(r, SIP_HDR_TO), hval(req, SIP_HDR_TO)));
        CHK(!sk_str_isset(r->to.tag));
        CHK(sk_str_eq(r->call_id, req->call_id));
        CHK(sk_str_eq(hval(r, SIP_HDR_CSEQ), hval(req, SIP_HDR_CSEQ)));
        CHK_INT(r->cseq.num, 5);
    }
    CHK_STATE(st, SIP_TXN_PROCEEDING);
    CHK_INT(sip_txn_status(st), 100);

    /* a retransmitted INVITE re-sends the last provisional, and is not passed up */
    advance_to(300);
    deliver(SIP_PROTO_UDP, inv);
    EXPECT_TIMES(200, 300);
    CHK_SAME_BYTES(1, 0);
    CHK_INT(G.nreq, 1);
    CHK_INT(stats().retransmissions_absorbed, 1);

    /* the TU's 180 replaces it */
    advance_to(400);
    const char *ringing = MSG(.code = 180, .via = SRV_VIA, .via2 = SRV_VIA2, .to_tag = "s1", .cseq = 5);
    respond(st, 180, ringing);
    CHK_STATE(st, SIP_TXN_PROCEEDING);
    EXPECT_TIMES(200, 300, 400);
    CHK(sk_str_eq(sent_str(2), sk_str_cstr(ringing)));
    advance_to(500);
    deliver(SIP_PROTO_UDP, inv);
    EXPECT_TIMES(200, 300, 400, 500);
    CHK_SAME_BYTES(3, 2);
    CHK_INT(G.nreq, 1);
    /* no retransmission of provisionals by the transaction itself */
    advance_to(10000);
    CHK_INT(G.nsent, 4);

    /* end: 200 -> Accepted -> Timer L */
    respond(st, 200, MSG(.code = 200, .via = SRV_VIA, .via2 = SRV_VIA2, .to_tag = "s1", .cseq = 5));
    CHK_STATE(st, SIP_TXN_ACCEPTED);
    advance_to(10000 + 32000);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nfail, 0);
}

static void test_ist_no_100_when_tu_responded(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA);

    deliver(SIP_PROTO_UDP, inv);
    struct sip_txn *st = last_st();
    advance_to(50);
    respond(st, 180, MSG(.code = 180, .via = SRV_VIA, .to_tag = "s1"));
    advance_to(5000);
    EXPECT_TIMES(50);
    CHK_INT(G.nresp, 0); /* no client events */
    {
        struct sip_msg *r = sent_msg(0);
        CHK_INT(r->status, 180);
    }
    CHK_INT(sip_txn_status(st), 180);
    /* end with a 2xx */
    respond(st, 200, MSG(.code = 200, .via = SRV_VIA, .to_tag = "s1"));
    advance_to(5000 + 32000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_ist_486_timer_g_ack_confirmed_timer_i(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA);
    const char *busy = MSG(.code = 486, .via = SRV_VIA, .to_tag = "s1");
    const char *ack = MSG(.method = "ACK", .via = SRV_VIA, .to_tag = "s1");

    deliver(SIP_PROTO_UDP, inv);
    struct sip_txn *st = last_st();
    respond(st, 486, busy);
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK_INT(sip_txn_status(st), 486);
    /* G: T1, doubling, capped at T2 */
    advance_to(15999);
    EXPECT_TIMES(0, 500, 1500, 3500, 7500, 11500, 15500);
    for (size_t i = 0; i < G.nsent; i++) {
        CHK(sk_str_eq(sent_str(i), sk_str_cstr(busy)));
        CHK(dest_is(&G.sent[i].dst, SIP_PROTO_UDP, "127.0.0.1", 5062));
    }
    CHK_INT(stats().retransmits_sent, 6);

    /* the ACK: Confirmed, retransmissions stop, the TU does not see it */
    advance_to(16000);
    deliver(SIP_PROTO_UDP, ack);
    CHK_STATE(st, SIP_TXN_CONFIRMED);
    CHK_INT(G.nreq, 1);
    advance_to(17000);
    deliver(SIP_PROTO_UDP, inv); /* absorbed */
    advance_to(17500);
    deliver(SIP_PROTO_UDP, ack); /* absorbed */
    CHK_INT(G.nreq, 1);
    CHK_STATE(st, SIP_TXN_CONFIRMED);
    CHK_INT(stats().retransmissions_absorbed, 2);
    /* Timer I = T4 from the ACK */
    advance_to(16000 + 5000 - 1);
    CHK_STATE(st, SIP_TXN_CONFIRMED);
    CHK_INT(sip_txl_count(G.txl), 1);
    advance_to(16000 + 5000);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    EXPECT_TIMES(0, 500, 1500, 3500, 7500, 11500, 15500);
    advance_to(100000);
    CHK_INT(G.nsent, 7);
    CHK_INT(G.nfail, 0); /* H did not fire */
    CHK_INT(stats().timeouts, 0);
    CHK_INT(sip_txn_respond(st, 200, busy, strlen(busy)), EINVAL);
}

static void test_ist_486_timer_h(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA);
    const char *busy = MSG(.code = 486, .via = SRV_VIA, .to_tag = "s1");

    advance_to(1000);
    deliver(SIP_PROTO_UDP, inv);
    struct sip_txn *st = last_st();
    respond(st, 486, busy);
    /* a retransmitted INVITE in Completed re-sends the final response */
    advance_to(1200);
    deliver(SIP_PROTO_UDP, inv);
    EXPECT_TIMES(1000, 1200);
    CHK_INT(G.nreq, 1);
    /* a non-2xx cannot be followed by another final */
    CHK_INT(sip_txn_respond(st, 500, busy, strlen(busy)), EINVAL);
    advance_to(1000 + 32000 - 1);
    EXPECT_TIMES(1000, 1200, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500, 32500);
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK_INT(G.nfail, 0);
    advance_to(1000 + 32000);
    CHK_INT(G.nfail, 1);
    CHK(G.fail[0].st == st);
    CHK_INT(G.fail[0].err, ETIMEDOUT);
    CHK_INT(G.fail[0].at, 33000);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(100000);
    CHK_INT(G.nsent, 12);
    CHK_INT(stats().timeouts, 1);
    CHK_INT(stats().retransmits_sent, 11); /* 10 by Timer G, 1 for the INVITE retransmission */
}

static void test_ist_200_accepted_timer_l(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA);
    const char *ok = MSG(.code = 200, .via = SRV_VIA, .to_tag = "s1",
                         .extra = "Contact: <sip:bob@192.0.2.20>\r\n");

    deliver(SIP_PROTO_UDP, inv);
    struct sip_txn *st = last_st();
    advance_to(100);
    respond(st, 200, ok);
    CHK_STATE(st, SIP_TXN_ACCEPTED);
    CHK_INT(sip_txn_status(st), 200);
    EXPECT_TIMES(100);

    /* the transaction does not retransmit 2xx (the TU does) */
    advance_to(590);
    EXPECT_TIMES(100);
    /* RFC 6026 §7.1: a retransmitted INVITE is absorbed: not to the TU, nothing sent */
    advance_to(600);
    deliver(SIP_PROTO_UDP, inv);
    EXPECT_TIMES(100);
    CHK_INT(G.nreq, 1);
    CHK_INT(stats().retransmissions_absorbed, 1);
    /* the TU retransmits its 2xx through the transaction */
    advance_to(1000);
    respond(st, 200, ok);
    EXPECT_TIMES(100, 1000);
    CHK_SAME_BYTES(1, 0);
    CHK_STATE(st, SIP_TXN_ACCEPTED);
    /* ...but may not send a non-2xx now */
    CHK_INT(sip_txn_respond(st, 486, ok, strlen(ok)), EINVAL);
    CHK_INT(sip_txn_respond(st, 180, ok, strlen(ok)), EINVAL);
    EXPECT_TIMES(100, 1000);

    /* an ACK with the INVITE's branch goes to the TU, outside any transaction */
    advance_to(1500);
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = SRV_VIA, .to_tag = "s1"));
    CHK_INT(G.nreq, 2);
    CHK(G.req[1].st == NULL);
    CHK_INT(G.req[1].method, SIP_METHOD_ACK);
    CHK_STATE(st, SIP_TXN_ACCEPTED);
    /* as does the usual ACK for a 2xx, with its own branch */
    deliver(SIP_PROTO_UDP,
            MSG(.method = "ACK", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKack2xx",
                .to_tag = "s1"));
    CHK_INT(G.nreq, 3);
    CHK(G.req[2].st == NULL);
    CHK_INT(sip_txl_count(G.txl), 1);

    /* Timer L = 64*T1 from entering Accepted (not restarted by the 2xx retransmission) */
    advance_to(100 + 32000 - 1);
    CHK_STATE(st, SIP_TXN_ACCEPTED);
    advance_to(100 + 32000);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nfail, 0);
    CHK_INT(stats().timeouts, 0);
}

static void test_ist_tcp(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKsrvtcp1";
    const char *inv = MSG(.method = "INVITE", .via = via);
    const char *busy = MSG(.code = 486, .via = via, .to_tag = "s1");

    deliver(SIP_PROTO_TCP, inv);
    struct sip_txn *st = last_st();
    CHK(sip_txn_dest(st)->conn == FAKE_CONN);
    CHK(sip_txn_dest(st)->proto == SIP_PROTO_TCP);
    CHK_INT(G.conn_refs, 1);
    advance_to(10);
    respond(st, 486, busy);
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK(G.sent[0].dst.conn == FAKE_CONN);
    CHK(G.sent[0].dst.proto == SIP_PROTO_TCP);
    advance_to(1000);
    EXPECT_TIMES(10); /* no Timer G */
    deliver(SIP_PROTO_TCP, MSG(.method = "ACK", .via = via, .to_tag = "s1"));
    CHK_STATE(st, SIP_TXN_CONFIRMED);
    sk_loop_advance(G.loop, 0); /* Timer I = 0 */
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nfail, 0);

    /* Timer H still runs over TCP */
    const char *via2 = "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKsrvtcp2";
    deliver(SIP_PROTO_TCP, MSG(.method = "INVITE", .via = via2, .call_id = "c2"));
    struct sip_txn *st2 = last_st();
    respond(st2, 500, MSG(.code = 500, .via = via2, .call_id = "c2", .to_tag = "s2"));
    advance_to(1000 + 32000 - 1);
    CHK_INT(G.nfail, 0);
    EXPECT_TIMES(10, 1000);
    advance_to(1000 + 32000);
    CHK_INT(G.nfail, 1);
    CHK_INT(G.fail[0].err, ETIMEDOUT);
    CHK_STATE(st2, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().retransmits_sent, 0);
}

static void test_ist_transport_error_on_respond(void **state)
{
    (void) state;
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    struct sip_txn *st = last_st();
    G.fail_next = EHOSTUNREACH;
    const char *busy = MSG(.code = 486, .via = SRV_VIA, .to_tag = "s1");
    CHK_INT(sip_txn_respond(st, 486, busy, strlen(busy)), EHOSTUNREACH);
    CHK_INT(G.nfail, 1);
    CHK(G.fail[0].st == st);
    CHK_INT(G.fail[0].err, EHOSTUNREACH);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().transport_errors, 1);
    advance_to(100000);
    EXPECT_NOTHING_SENT();
}

/* ======================================================================
 * Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8)
 * ====================================================================== */

#define NIST_VIA "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsrvopt1"

static void test_nist_udp(void **state)
{
    (void) state;
    const char *req = MSG(.method = "OPTIONS", .via = NIST_VIA);
    const char *trying = MSG(.code = 100, .via = NIST_VIA, .cseq_method = "OPTIONS");
    const char *ok = MSG(.code = 200, .via = NIST_VIA, .to_tag = "s1", .cseq_method = "OPTIONS");

    deliver(SIP_PROTO_UDP, req);
    CHK_INT(G.nreq, 1);
    struct sip_txn *st = last_st();
    CHK_INT(G.req[0].kind, SIP_TXN_NON_INVITE_SERVER);
    CHK_INT(G.req[0].state, SIP_TXN_TRYING);
    CHK_INT(G.req[0].method, SIP_METHOD_OPTIONS);

    /* Trying: a retransmission is absorbed, nothing sent (and no 100 of its own) */
    advance_to(100);
    deliver(SIP_PROTO_UDP, req);
    CHK_INT(G.nreq, 1);
    advance_to(1000);
    EXPECT_NOTHING_SENT();
    CHK_STATE(st, SIP_TXN_TRYING);
    CHK_INT(stats().retransmissions_absorbed, 1);

    /* TU 1xx: Proceeding; a retransmission re-sends it */
    respond(st, 100, trying);
    CHK_STATE(st, SIP_TXN_PROCEEDING);
    EXPECT_TIMES(1000);
    advance_to(1100);
    deliver(SIP_PROTO_UDP, req);
    EXPECT_TIMES(1000, 1100);
    CHK_SAME_BYTES(1, 0);
    CHK_INT(G.nreq, 1);

    /* TU final: Completed; a retransmission re-sends the final */
    advance_to(2000);
    respond(st, 200, ok);
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK_INT(sip_txn_status(st), 200);
    EXPECT_TIMES(1000, 1100, 2000);
    CHK(sk_str_eq(sent_str(2), sk_str_cstr(ok)));
    CHK(dest_is(&G.sent[2].dst, SIP_PROTO_UDP, "127.0.0.1", 5062));
    advance_to(2500);
    deliver(SIP_PROTO_UDP, req);
    EXPECT_TIMES(1000, 1100, 2000, 2500);
    CHK_SAME_BYTES(3, 2);
    CHK_INT(G.nreq, 1);
    CHK_INT(sip_txn_respond(st, 200, ok, strlen(ok)), EINVAL);
    CHK_INT(stats().retransmissions_absorbed, 3);
    CHK_INT(stats().retransmits_sent, 2);

    /* no retransmission on its own; Timer J = 64*T1 */
    advance_to(2000 + 32000 - 1);
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK_INT(G.nsent, 4);
    advance_to(2000 + 32000);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.nfail, 0);
}

static void test_nist_final_from_trying_tcp(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKsrvopt2";
    deliver(SIP_PROTO_TCP, MSG(.method = "REGISTER", .via = via));
    struct sip_txn *st = last_st();
    CHK_STATE(st, SIP_TXN_TRYING);
    advance_to(40);
    respond(st, 200, MSG(.code = 200, .via = via, .to_tag = "r", .cseq_method = "REGISTER"));
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK(G.sent[0].dst.conn == FAKE_CONN);
    sk_loop_advance(G.loop, 0); /* Timer J = 0 */
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    EXPECT_TIMES(40);
}

/* ======================================================================
 * Matching (RFC 3261 §17.1.3, §17.2.3, §9.2)
 * ====================================================================== */

static void test_match_client_responses(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *inv = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));

    /* another branch */
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = our_via(SIP_PROTO_UDP), .to_tag = "b1"));
    CHK_INT(G.nresp, 0);
    CHK_INT(G.nstray, 1);
    CHK_INT(G.stray_status[0], 180);
    /* the same branch, another CSeq method */
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .to_tag = "b1", .cseq_method = "CANCEL"));
    CHK_INT(G.nresp, 0);
    CHK_INT(G.nstray, 2);
    CHK_INT(stats().stray_responses, 2);
    CHK_STATE(inv, SIP_TXN_CALLING);

    /* a CANCEL client transaction shares the branch; each gets its own responses */
    struct sip_txn *can = client(SIP_PROTO_UDP, MSG(.method = "CANCEL", .via = via));
    CHK_INT(sip_txl_count(G.txl), 2);
    CHK_INT(sip_txn_kind(can), SIP_TXN_NON_INVITE_CLIENT);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .to_tag = "b1", .cseq_method = "CANCEL"));
    CHK_INT(G.nresp, 1);
    CHK(G.resp[0].t == can);
    CHK_STATE(can, SIP_TXN_COMPLETED);
    CHK_STATE(inv, SIP_TXN_CALLING);
    deliver(SIP_PROTO_UDP, MSG(.code = 487, .via = via, .to_tag = "b1"));
    CHK_INT(G.nresp, 2);
    CHK(G.resp[1].t == inv);
    CHK_STATE(inv, SIP_TXN_COMPLETED);
    CHK_INT(G.nstray, 2);

    /* a client request with a branch already in use is refused */
    {
        const char *dup = MSG(.method = "INVITE", .via = via);
        struct sip_dest d = peer(SIP_PROTO_UDP);
        struct sip_txn *t = NULL;
        CHK_INT(sip_txn_client_new(G.txl, G.loop, dup, strlen(dup), &d, &fake_user, &G, &t),
                EEXIST);
    }
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_match_cancel_server(void **state)
{
    (void) state;
    const char *inv = MSG(.method = "INVITE", .via = SRV_VIA);
    const char *cancel_text = MSG(.method = "CANCEL", .via = SRV_VIA);

    deliver(SIP_PROTO_UDP, inv);
    struct sip_txn *ist = last_st();
    deliver(SIP_PROTO_UDP, cancel_text);
    CHK_INT(G.nreq, 2);
    struct sip_txn *cst = last_st();
    CHK(cst != ist);
    CHK_INT(G.req[1].method, SIP_METHOD_CANCEL);
    CHK_INT(G.req[1].kind, SIP_TXN_NON_INVITE_SERVER);
    CHK_INT(G.req[1].state, SIP_TXN_TRYING);
    CHK_INT(sip_txl_count(G.txl), 2);
    CHK_STATE(ist, SIP_TXN_PROCEEDING);

    struct sip_msg *cancel = parse_kept(cancel_text);
    struct sip_txn *found = sip_txl_find_invite(G.txl, cancel);
    CHK(found == ist);
    sip_txn_unref(found);
    /* a CANCEL for something else finds nothing */
    struct sip_msg *other = parse_kept(
        MSG(.method = "CANCEL", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKnone"));
    CHK(sip_txl_find_invite(G.txl, other) == NULL);

    /* a retransmitted CANCEL goes to the CANCEL transaction, not the INVITE one */
    respond(cst, 200, MSG(.code = 200, .via = SRV_VIA, .to_tag = "s1", .cseq_method = "CANCEL"));
    advance_to(100);
    deliver(SIP_PROTO_UDP, cancel_text);
    CHK_INT(G.nreq, 2);
    CHK_INT(G.nsent, 2); /* the 200 (CANCEL), its re-send */
    CHK_INT(sk_str_eq(sent_str(1), sent_str(0)), true);
    respond(ist, 487, MSG(.code = 487, .via = SRV_VIA, .to_tag = "s1"));
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = SRV_VIA, .to_tag = "s1"));
    CHK_STATE(ist, SIP_TXN_CONFIRMED);
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* RFC 2543 peers: no magic cookie, matched on Request-URI, From tag, Call-ID, CSeq, top Via. */
static void test_match_rfc2543(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/UDP 192.0.2.10:5062";
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 1);

    deliver(SIP_PROTO_UDP, inv);
    CHK_INT(G.nreq, 1);
    struct sip_txn *st1 = last_st();
    /* retransmission: absorbed */
    deliver(SIP_PROTO_UDP, inv);
    CHK_INT(G.nreq, 1);
    CHK_INT(sip_txl_count(G.txl), 1);
    CHK_INT(stats().retransmissions_absorbed, 1);
    /* another CSeq number: a new transaction */
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .cseq = 2));
    CHK_INT(G.nreq, 2);
    struct sip_txn *st2 = last_st();
    CHK(st2 != st1);
    /* another From tag, Call-ID or Request-URI: new transactions */
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .from_tag = "zz"));
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .call_id = "other"));
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .ruri = "sip:carol@example.com"));
    CHK_INT(G.nreq, 5);
    /* another sent-by: a new transaction */
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = "SIP/2.0/UDP 192.0.2.11:5062"));
    CHK_INT(G.nreq, 6);
    CHK_INT(sip_txl_count(G.txl), 6);

    /* a CANCEL without a cookie finds its INVITE by the same fields (§9.2) and is a
     * transaction of its own */
    const char *cancel = MSG(.method = "CANCEL", .via = via, .cseq = 1);
    CHK(sip_txl_find_invite(G.txl, parse_kept(MSG(.method = "CANCEL", .via = via, .cseq = 3))) ==
        NULL);
    struct sip_txn *found = sip_txl_find_invite(G.txl, parse_kept(cancel));
    CHK(found == st1);
    sip_txn_unref(found);
    deliver(SIP_PROTO_UDP, cancel);
    CHK_INT(G.nreq, 7);
    CHK_INT(G.req[6].kind, SIP_TXN_NON_INVITE_SERVER);
    respond(G.req[6].st, 200, MSG(.code = 200, .via = via, .to_tag = "s1", .cseq_method = "CANCEL"));

    /* the ACK for a non-2xx matches the INVITE (CSeq number, not method) */
    respond(st1, 404, MSG(.code = 404, .via = via, .to_tag = "s1"));
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = via, .to_tag = "s1"));
    CHK_STATE(st1, SIP_TXN_CONFIRMED);
    CHK_INT(G.nreq, 7);

    /* end them all */
    for (size_t i = 1; i < 6; i++)
        respond(G.req[i].st, 200, MSG(.code = 200, .via = via, .to_tag = "s"));
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* §17.2.3: the ACK of an RFC 2543 peer matches only if its To tag is the one of our response. */
static void test_match_rfc2543_ack_to_tag(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/UDP 192.0.2.10:5062";

    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));
    struct sip_txn *st = last_st();
    respond(st, 486, MSG(.code = 486, .via = via, .to_tag = "s1"));
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = via, .to_tag = "wrong"));
    CHK_STATE(st, SIP_TXN_COMPLETED);
    CHK_INT(G.nreq, 2);
    CHK(G.req[1].st == NULL);
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = via, .to_tag = "s1"));
    CHK_STATE(st, SIP_TXN_CONFIRMED);
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* RFC 4475 §3.3.15 badbranch: "z9hG4bK" alone is not an RFC 3261 branch. */
static void test_match_badbranch(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK";
    const char *a = MSG(.method = "OPTIONS", .via = via, .call_id = "bb1");
    const char *b = MSG(.method = "OPTIONS", .via = via, .call_id = "bb2");

    deliver(SIP_PROTO_UDP, a);
    deliver(SIP_PROTO_UDP, b);
    CHK_INT(G.nreq, 2);
    CHK(G.req[0].st != G.req[1].st);
    CHK_INT(sip_txl_count(G.txl), 2);
    deliver(SIP_PROTO_UDP, a);
    CHK_INT(G.nreq, 2);
    CHK_INT(stats().retransmissions_absorbed, 1);
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = via, .call_id = "bb1", .cseq = 2));
    CHK_INT(G.nreq, 3);
    /* the INVITE too */
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .call_id = "bb3"));
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via, .call_id = "bb4"));
    CHK_INT(G.nreq, 5);
    CHK_INT(sip_txl_count(G.txl), 5);
    for (size_t i = 0; i < 3; i++)
        respond(G.req[i].st, 200, MSG(.code = 200, .via = via, .cseq_method = "OPTIONS"));
    for (size_t i = 3; i < 5; i++)
        respond(G.req[i].st, 200, MSG(.code = 200, .via = via, .to_tag = "t"));
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_match_sent_by_and_method(void **state)
{
    (void) state;
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsame1"));
    /* same branch, other sent-by host, other sent-by port */
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.12:5062;branch=z9hG4bKsame1"));
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.10:5064;branch=z9hG4bKsame1"));
    CHK_INT(G.nreq, 3);
    /* same branch and sent-by, another method (not ACK/CANCEL... CANCEL is its own too) */
    deliver(SIP_PROTO_UDP, MSG(.method = "INFO", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsame1"));
    CHK_INT(G.nreq, 4);
    /* the very first again: absorbed; the host compares case-insensitively */
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsame1"));
    CHK_INT(G.nreq, 4);
    deliver(SIP_PROTO_UDP, MSG(.method = "MESSAGE", .via = "SIP/2.0/UDP host.EXAMPLE.com:5062;branch=z9hG4bKsame1"));
    deliver(SIP_PROTO_UDP, MSG(.method = "MESSAGE", .via = "SIP/2.0/UDP HOST.example.COM:5062;branch=z9hG4bKsame1"));
    CHK_INT(G.nreq, 5);
    CHK_INT(sip_txl_count(G.txl), 5);
    for (size_t i = 0; i < G.nreq; i++)
        respond(G.req[i].st, 200,
                MSG(.code = 200, .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsame1",
                    .cseq_method = "OPTIONS"));
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

static void test_match_ack_for_2xx(void **state)
{
    (void) state;
    deliver(SIP_PROTO_UDP, MSG(.method = "ACK", .via = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKlone",
                               .to_tag = "s9"));
    CHK_INT(G.nreq, 1);
    CHK(G.req[0].st == NULL);
    CHK_INT(G.req[0].method, SIP_METHOD_ACK);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().server_created, 0);
    advance_to(100000);
    EXPECT_NOTHING_SENT();
}

/* ======================================================================
 * CANCEL of an INVITE client transaction (RFC 3261 §9.1) and Timer C
 * (§16.6 step 11, §16.8)
 * ====================================================================== */

#define REASON_487 "SIP;cause=487;text=\"Request Terminated\""

/* How many sent messages are requests with this method. */
static size_t nsent_method(const char *method)
{
    size_t n = 0, ml = strlen(method);
    for (size_t i = 0; i < G.nsent; i++)
        n += G.sent[i].len > ml && memcmp(G.sent[i].buf, method, ml) == 0 &&
             G.sent[i].buf[ml] == ' ';
    return n;
}

/* Checks the CANCEL the transaction built for the INVITE inv_text (§9.1): Request-URI,
 * the top Via only (same branch), Route, From, To, Call-ID of the INVITE, CSeq
 * <n> CANCEL, Max-Forwards 70, and the Reason value given (NULL: none). */
static void check_cancel(size_t i, const char *inv_text, const char *reason)
{
    struct sip_msg *inv = parse_kept(inv_text);
    struct sip_msg *can = sent_msg(i); /* parsed and validated (CSeq method = CANCEL) */

    CHK(can->is_request);
    CHK_INT(can->method_id, SIP_METHOD_CANCEL);
    CHK_STR(can->method, "CANCEL");
    CHK(sk_str_eq(can->ruri_raw, inv->ruri_raw));
    CHK_STR(can->version, "SIP/2.0");
    CHK_INT(can->count[SIP_HDR_VIA], 1);
    {
        const struct sip_via *vs;
        size_t nv;
        struct sip_error e;
        CHK_INT(sip_msg_vias(can, &vs, &nv, &e), 0);
        CHK_INT(nv, 1);
    }
    CHK(sk_str_eq(can->via.raw, inv->via.raw));
    CHK(sk_str_eq(can->via.branch, inv->via.branch));
    CHK(sk_str_eq(hval(can, SIP_HDR_FROM), hval(inv, SIP_HDR_FROM)));
    CHK(sk_str_eq(hval(can, SIP_HDR_TO), hval(inv, SIP_HDR_TO)));
    CHK(!sk_str_isset(can->to.tag));
    CHK(sk_str_eq(can->call_id, inv->call_id));
    CHK_INT(can->cseq.num, inv->cseq.num);
    CHK_STR(can->cseq.method, "CANCEL");
    CHK_INT(can->max_forwards, 70);
    CHK_INT(can->count[SIP_HDR_ROUTE], inv->count[SIP_HDR_ROUTE]);
    {
        const struct sip_hdr *a = sip_msg_hdr(can, SIP_HDR_ROUTE);
        const struct sip_hdr *b = sip_msg_hdr(inv, SIP_HDR_ROUTE);
        for (; a && b; a = sip_msg_hdr_next(can, a), b = sip_msg_hdr_next(inv, b))
            CHK(sk_str_eq(a->value, b->value));
        CHK(!a && !b);
    }
    /* nothing of the INVITE that does not belong in a CANCEL */
    CHK_INT(can->count[SIP_HDR_CONTACT], 0);
    if (reason) {
        CHK_INT(can->count[SIP_HDR_REASON], 1);
        CHK_STRC(hval(can, SIP_HDR_REASON), reason);
    } else {
        CHK_INT(can->count[SIP_HDR_REASON], 0);
    }
    CHK_INT(can->content_length, 0);
    CHK_INT(can->body.len, 0);
}

/* Proceeding: the CANCEL leaves at once, is retransmitted by Timer E, its 200 is
 * absorbed by its own transaction; the 487 ends the INVITE as usual. */
static void test_cancel_proceeding(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *upstream = "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKupstream1";
    const char *inv =
        MSG(.method = "INVITE", .via = via, .via2 = upstream, .cseq = 7,
            .extra = "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                     "Route: <sip:p3.example.com;lr>\r\n"
                     "Contact: <sip:alice@192.0.2.1>\r\n");
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    advance_to(600);
    deliver(SIP_PROTO_UDP,
            MSG(.code = 180, .via = via, .via2 = upstream, .to_tag = "b1", .cseq = 7));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(2000);
    EXPECT_TIMES(0, 500);

    CHK_INT(sip_txn_cancel(t, "Reason: " REASON_487 "\r\n"), 0);
    EXPECT_TIMES(0, 500, 2000);
    CHK(dest_is(&G.sent[2].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));
    check_cancel(2, inv, REASON_487);
    CHK_INT(sip_txl_count(G.txl), 2); /* the CANCEL is a transaction of its own */
    CHK_INT(stats().client_created, 2);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    CHK_INT(G.nresp, 1); /* the user hears nothing of the CANCEL itself */
    /* a second call sends no second CANCEL */
    CHK_INT(sip_txn_cancel(t, NULL), 0);
    EXPECT_TIMES(0, 500, 2000);

    /* Timer E for the CANCEL: T1, doubling up to T2; the INVITE is not re-sent */
    advance_to(13999);
    EXPECT_TIMES(0, 500, 2000, 2500, 3500, 5500, 9500, 13500);
    for (size_t i = 3; i < G.nsent; i++) {
        CHK_SAME_BYTES(i, 2);
        CHK(dest_is(&G.sent[i].dst, SIP_PROTO_UDP, "192.0.2.2", 5060));
    }
    CHK_INT(nsent_method("INVITE"), 2);
    CHK_INT(nsent_method("CANCEL"), 6);

    /* the 200 to the CANCEL: taken by the CANCEL transaction, not the INVITE's user,
     * not a stray; its retransmissions stop */
    advance_to(14000);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .via2 = upstream, .to_tag = "b1",
                               .cseq = 7, .cseq_method = "CANCEL"));
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nstray, 0);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(19000 - 1);
    CHK_INT(G.nsent, 8);
    CHK_INT(sip_txl_count(G.txl), 2);
    advance_to(19000); /* Timer K (T4) of the CANCEL */
    CHK_INT(sip_txl_count(G.txl), 1);
    CHK_INT(G.nterm, 0); /* the CANCEL has no user */

    /* the 487: the INVITE completes normally (ACK, user hears 487), the 64*T1 guard
     * that the CANCEL started is stopped */
    advance_to(20000);
    deliver(SIP_PROTO_UDP,
            MSG(.code = 487, .via = via, .via2 = upstream, .to_tag = "b1", .cseq = 7));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 487);
    CHK(G.resp[1].has_rx);
    EXPECT_TIMES(0, 500, 2000, 2500, 3500, 5500, 9500, 13500, 20000);
    check_ack(8, inv, "b1", true);
    advance_to(2000 + 32000);
    CHK_INT(G.nresp, 2); /* no 408 */
    CHK_STATE(t, SIP_TXN_COMPLETED);
    advance_to(20000 + 32000); /* Timer D */
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 52000);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(200000);
    CHK_INT(G.nsent, 9);
    CHK_INT(G.nresp, 2);

    struct sip_txl_stats s = stats();
    CHK_INT(s.retransmits_sent, 6); /* the INVITE once, the CANCEL 5 times */
    CHK_INT(s.timeouts, 0);
    CHK_INT(s.stray_responses, 0);
}

/* No final response within 64*T1 of the CANCEL: the user hears 408 (rx NULL). */
static void test_cancel_guard_408(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 2);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    advance_to(1000);
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1", .cseq = 2));
    advance_to(1500);
    CHK_INT(sip_txn_cancel(t, NULL), 0);
    EXPECT_TIMES(0, 500, 1500);
    check_cancel(2, inv, NULL);

    /* a provisional after the CANCEL is passed up but does not move the guard */
    advance_to(20000);
    deliver(SIP_PROTO_UDP, MSG(.code = 183, .via = via, .to_tag = "b1", .cseq = 2));
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 183);
    CHK_STATE(t, SIP_TXN_PROCEEDING);

    advance_to(1500 + 32000 - 1);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.nterm, 0);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(1500 + 32000);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.resp[2].status, 408);
    CHK(!G.resp[2].has_rx);
    CHK(G.resp[2].t == t);
    CHK_INT(G.resp[2].at, 33500);
    CHK_INT(G.nterm, 1);
    CHK(G.term[0].t == t);
    CHK_INT(G.term[0].at, 33500);
    CHK(G.resp[2].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_status(t), 408);
    /* the CANCEL was re-sent by Timer E until its own Timer F (also 64*T1) */
    EXPECT_TIMES(0, 500, 1500, 2000, 3000, 5000, 9000, 13000, 17000, 21000, 25000, 29000,
                 33000);
    for (size_t i = 3; i < G.nsent; i++)
        CHK_SAME_BYTES(i, 2);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().timeouts, 2); /* the guard and the CANCEL's Timer F */
    advance_to(200000);
    CHK_INT(G.nsent, 13);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.nterm, 1);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
}

/* The usual race: the 2xx comes after the CANCEL. The INVITE goes to Accepted as
 * usual and the guard no longer applies: no 408, Timer M ends it. */
static void test_cancel_then_2xx(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));

    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1"));
    advance_to(1500);
    CHK_INT(sip_txn_cancel(t, NULL), 0);
    EXPECT_TIMES(0, 1500);
    advance_to(3000);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .to_tag = "b1"));
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 200);
    CHK(G.resp[1].has_rx);
    advance_to(3000 + 32000 - 1);
    CHK_STATE(t, SIP_TXN_ACCEPTED);
    CHK_INT(G.nresp, 2); /* no 408 at 1500 + 32000 */
    CHK_INT(G.nterm, 0);
    advance_to(3000 + 32000);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 35000);
    CHK_INT(G.nresp, 2);
    CHK_INT(sip_txn_status(t), 200);
    CHK_INT(nsent_method("CANCEL"), 11); /* no 200 to it: Timer E until its Timer F */
    CHK_INT(nsent_method("ACK"), 0);      /* the TU ACKs a 2xx */
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* Calling: no CANCEL before a provisional (§9.1); it leaves with the first one, a
 * 100 included, and the guard runs from then (Timer B no longer applies). */
static void test_cancel_deferred_until_provisional(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 4);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    advance_to(200);
    CHK_INT(sip_txn_cancel(t, "Reason: Q.850;cause=16\r\n"), 0);
    CHK_INT(sip_txn_cancel(t, NULL), 0);
    CHK_STATE(t, SIP_TXN_CALLING);
    CHK_INT(sip_txl_count(G.txl), 1);
    /* Timer A goes on */
    advance_to(2000);
    EXPECT_TIMES(0, 500, 1500);
    CHK_INT(nsent_method("CANCEL"), 0);

    deliver(SIP_PROTO_UDP, MSG(.code = 100, .via = via, .cseq = 4));
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 100);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    EXPECT_TIMES(0, 500, 1500, 2000);
    check_cancel(3, inv, "Q.850;cause=16");
    CHK_INT(sip_txl_count(G.txl), 2);
    /* more provisionals send no second CANCEL */
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1", .cseq = 4));
    CHK_INT(G.nresp, 2);
    CHK_INT(G.nsent, 4);

    /* Timer B (would be 32000) is gone; the guard is 64*T1 after the CANCEL */
    advance_to(2000 + 32000 - 1);
    CHK_INT(G.nresp, 2);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    CHK_INT(nsent_method("INVITE"), 3);
    CHK_INT(nsent_method("CANCEL"), 11); /* 2000, 2500, 3500, 5500, 9500 ... 33500 */
    advance_to(2000 + 32000);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.resp[2].status, 408);
    CHK(!G.resp[2].has_rx);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* A CANCEL asked for in Calling is never sent if a final response comes first. */
static void test_cancel_deferred_then_final(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);

    advance_to(100);
    CHK_INT(sip_txn_cancel(t, "Reason: " REASON_487 "\r\n"), 0);
    advance_to(700);
    deliver(SIP_PROTO_UDP, MSG(.code = 486, .via = via, .to_tag = "b1"));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 486);
    EXPECT_TIMES(0, 500, 700);
    check_ack(2, inv, "b1", false);
    advance_to(200000);
    EXPECT_TIMES(0, 500, 700);
    CHK_INT(nsent_method("CANCEL"), 0);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 700 + 32000);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().client_created, 1);
}

/* EINVAL for anything but an INVITE client transaction, EALREADY after a final. */
static void test_cancel_return_values(void **state)
{
    (void) state;
    const char *v1 = our_via(SIP_PROTO_UDP), *v2 = our_via(SIP_PROTO_UDP);
    const char *v3 = our_via(SIP_PROTO_UDP);
    struct sip_txn *nict = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_UDP)));
    struct sip_txn *busy = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = v1, .call_id = "r1"));
    struct sip_txn *ok = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = v2, .call_id = "r2"));
    struct sip_txn *lost = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = v3, .call_id = "r3"));

    CHK_INT(sip_txn_cancel(nict, NULL), EINVAL);
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    CHK_INT(sip_txn_cancel(last_st(), NULL), EINVAL);
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = NIST_VIA));
    CHK_INT(sip_txn_cancel(last_st(), NULL), EINVAL);

    deliver(SIP_PROTO_UDP, MSG(.code = 486, .via = v1, .call_id = "r1", .to_tag = "b1"));
    CHK_STATE(busy, SIP_TXN_COMPLETED);
    CHK_INT(sip_txn_cancel(busy, "Reason: " REASON_487 "\r\n"), EALREADY);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = v2, .call_id = "r2", .to_tag = "b2"));
    CHK_STATE(ok, SIP_TXN_ACCEPTED);
    CHK_INT(sip_txn_cancel(ok, NULL), EALREADY);
    advance_to(32000); /* Timer B for the third */
    CHK_STATE(lost, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_cancel(lost, NULL), EALREADY);
    CHK_INT(nsent_method("CANCEL"), 0);
    CHK_INT(stats().client_created, 4);
    advance_to(200000);
    CHK_INT(nsent_method("CANCEL"), 0);
}

/* Timer C fires before any provisional: the user hears 408, nothing is sent. */
static void test_timer_c_calling_408(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));

    timer_c_set(t, 10000);
    advance_to(9999);
    CHK_INT(G.nresp, 0);
    CHK_STATE(t, SIP_TXN_CALLING);
    advance_to(10000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 408);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.resp[0].at, 10000);
    CHK_INT(G.nterm, 1);
    CHK_INT(G.term[0].at, 10000);
    CHK(G.resp[0].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_status(t), 408);
    CHK_INT(sip_txl_count(G.txl), 0);
    /* no CANCEL (no provisional came), Timer A and B are gone */
    advance_to(200000);
    EXPECT_TIMES(0, 500, 1500, 3500, 7500);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 1);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
}

/* Timer C set to 0 is stopped: Timer B decides. */
static void test_timer_c_zero_stops(void **state)
{
    (void) state;
    struct sip_txn *t = client(SIP_PROTO_TCP, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_TCP)));

    timer_c_set(t, 5000);
    advance_to(1000);
    timer_c_set(t, 0);
    advance_to(31999);
    CHK_INT(G.nresp, 0);
    CHK_STATE(t, SIP_TXN_CALLING);
    advance_to(32000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 408);
    CHK_INT(G.resp[0].at, 32000);
    EXPECT_TIMES(0);
}

/* Timer C fires in Proceeding: CANCEL (over the INVITE's connection), then the
 * 64*T1 guard. A 100 does not restart it. */
static void test_timer_c_not_restarted_by_100(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 9);
    struct sip_txn *t = client_on(SIP_PROTO_TCP, FAKE_CONN, inv);

    timer_c_set(t, 20000);
    advance_to(1000);
    deliver(SIP_PROTO_TCP, MSG(.code = 100, .via = via, .cseq = 9));
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    advance_to(19000);
    deliver(SIP_PROTO_TCP, MSG(.code = 100, .via = via, .cseq = 9));
    advance_to(19999);
    EXPECT_TIMES(0);
    advance_to(20000);
    EXPECT_TIMES(0, 20000);
    check_cancel(1, inv, NULL);
    CHK(G.sent[1].dst.conn == FAKE_CONN);
    CHK(G.sent[1].dst.proto == SIP_PROTO_TCP);
    CHK_INT(G.conn_refs, 2); /* the CANCEL transaction holds the connection too */
    CHK_INT(G.nresp, 2);     /* the two 100s; no 408 yet */
    CHK_STATE(t, SIP_TXN_PROCEEDING);

    advance_to(20000 + 32000 - 1);
    CHK_INT(G.nresp, 2);
    EXPECT_TIMES(0, 20000); /* TCP: no retransmission, Timer C does not fire again */
    advance_to(20000 + 32000);
    CHK_INT(G.nresp, 3);
    CHK_INT(G.resp[2].status, 408);
    CHK(!G.resp[2].has_rx);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.conn_refs, 1); /* only the caller's reference to the INVITE remains */
}

/* Every 101-199 restarts Timer C, a 100 does not; after the CANCEL nothing restarts it. */
static void test_timer_c_restarted_by_provisional(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_TCP, inv);

    timer_c_set(t, 20000);
    advance_to(5000);
    deliver(SIP_PROTO_TCP, MSG(.code = 180, .via = via, .to_tag = "b1")); /* due 25000 */
    advance_to(10000);
    deliver(SIP_PROTO_TCP, MSG(.code = 101, .via = via, .to_tag = "b1")); /* due 30000 */
    advance_to(29000);
    deliver(SIP_PROTO_TCP, MSG(.code = 100, .via = via)); /* still 30000 */
    CHK_INT(G.nresp, 3);
    advance_to(29999);
    EXPECT_TIMES(0);
    advance_to(30000);
    EXPECT_TIMES(0, 30000);
    check_cancel(1, inv, NULL);
    CHK_STATE(t, SIP_TXN_PROCEEDING);

    /* after the CANCEL a 183 restarts nothing: one CANCEL, the guard at 30000+32000 */
    advance_to(40000);
    deliver(SIP_PROTO_TCP, MSG(.code = 183, .via = via, .to_tag = "b1"));
    CHK_INT(G.nresp, 4);
    advance_to(62000 - 1);
    EXPECT_TIMES(0, 30000);
    CHK_INT(G.nresp, 4);
    advance_to(62000);
    CHK_INT(G.nresp, 5);
    CHK_INT(G.resp[4].status, 408);
    CHK(!G.resp[4].has_rx);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    advance_to(200000);
    EXPECT_TIMES(0, 30000);
}

/* A final response stops Timer C: no CANCEL, no 408 later. */
static void test_timer_c_stopped_by_final(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *via2 = our_via(SIP_PROTO_UDP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_UDP, inv);
    struct sip_txn *t2 = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via2, .call_id = "c2"));

    timer_c_set(t, 20000);
    timer_c_set(t2, 20000);
    advance_to(1000);
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1"));
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via2, .call_id = "c2", .to_tag = "b2"));
    advance_to(5000);
    deliver(SIP_PROTO_UDP, MSG(.code = 486, .via = via, .to_tag = "b1"));
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via2, .call_id = "c2", .to_tag = "b2"));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    CHK_STATE(t2, SIP_TXN_ACCEPTED);
    /* what is left: Timer D of one and Timer M of the other */
    CHK_INT(sk_loop_timer_count(G.loop), 2);
    EXPECT_TIMES(0, 0, 500, 500, 5000);
    check_ack(4, inv, "b1", false);
    advance_to(200000);
    CHK_INT(G.nsent, 5);
    CHK_INT(nsent_method("CANCEL"), 0);
    CHK_INT(G.nresp, 4); /* 180, 180, 486, 200: no 408 */
    CHK_INT(G.nterm, 2);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().timeouts, 0);
}

/* sip_txn_client_new_keyed: branch and method given, the request not parsed. */
static void test_client_start(void **state)
{
    (void) state;
    const char *via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKstart1";
    const char *inv = MSG(.method = "INVITE", .via = via, .cseq = 3);
    const char *opt = MSG(.method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKstart2");
    struct sip_dest d = peer(SIP_PROTO_UDP);
    struct sip_txn *t = NULL, *o = NULL, *x = NULL;

    /* refused: no magic cookie, the cookie alone, ACK; nothing sent, nothing created */
    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, inv, strlen(inv), SK_STR_LIT("start1"),
                                 SK_STR_LIT("INVITE"), &d, &fake_user, &G, &x),
            EINVAL);
    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, inv, strlen(inv), SK_STR_LIT("z9hG4bK"),
                                 SK_STR_LIT("INVITE"), &d, &fake_user, &G, &x),
            EINVAL);
    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, inv, strlen(inv), SK_STR_LIT("z9hG4bKstart9"),
                                 SK_STR_LIT("ACK"), &d, &fake_user, &G, &x),
            EINVAL);
    CHK(x == NULL);
    EXPECT_NOTHING_SENT();
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().client_created, 0);

    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, inv, strlen(inv), SK_STR_LIT("z9hG4bKstart1"),
                                 SK_STR_LIT("INVITE"), &d, &fake_user, &G, &t),
            0);
    CHK(t != NULL);
    hold(t);
    CHK_INT(sip_txn_kind(t), SIP_TXN_INVITE_CLIENT);
    CHK_STATE(t, SIP_TXN_CALLING);
    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, opt, strlen(opt), SK_STR_LIT("z9hG4bKstart2"),
                                 SK_STR_LIT("OPTIONS"), &d, &fake_user, &G, &o),
            0);
    CHK(o != NULL);
    hold(o);
    CHK_INT(sip_txn_kind(o), SIP_TXN_NON_INVITE_CLIENT);
    CHK_STATE(o, SIP_TXN_TRYING);
    EXPECT_TIMES(0, 0);
    CHK(sk_str_eq(sent_str(0), sk_str_cstr(inv)));
    CHK(sk_str_eq(sent_str(1), sk_str_cstr(opt)));
    CHK_INT(sip_txl_count(G.txl), 2);
    /* the same branch and method again */
    CHK_INT(sip_txn_client_new_keyed(G.txl, G.loop, inv, strlen(inv), SK_STR_LIT("z9hG4bKstart1"),
                                 SK_STR_LIT("INVITE"), &d, &fake_user, &G, &x),
            EEXIST);
    CHK(x == NULL);

    /* retransmitted (Timer A, Timer E) and matched by the given branch */
    advance_to(500);
    EXPECT_TIMES(0, 0, 500, 500);
    advance_to(600);
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1", .cseq = 3));
    CHK_INT(G.nresp, 1);
    CHK(G.resp[0].t == t);
    CHK_STATE(t, SIP_TXN_PROCEEDING);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKstart2",
                               .cseq_method = "OPTIONS"));
    CHK_INT(G.nresp, 2);
    CHK(G.resp[1].t == o);
    CHK_STATE(o, SIP_TXN_COMPLETED);
    /* and cancellable */
    CHK_INT(sip_txn_cancel(t, NULL), 0);
    CHK_INT(G.nsent, 5);
    check_cancel(4, inv, NULL);
    CHK_STR(sent_msg(4)->via.branch, "z9hG4bKstart1");
    deliver(SIP_PROTO_UDP, MSG(.code = 487, .via = via, .to_tag = "b1", .cseq = 3));
    CHK_STATE(t, SIP_TXN_COMPLETED);
    advance_to(200000);
    CHK_INT(sip_txl_count(G.txl), 0);
}

/* sip_txl_free: users of live client transactions (any state but Terminated) hear
 * terminated() once; server transactions with TU data get server_failed(ECANCELED);
 * no other callback runs, and the transactions' CANCEL (no user) is just freed. */
static void test_txl_free_notifies_users(void **state)
{
    (void) state;
    static int tu_data;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *nvia = our_via(SIP_PROTO_UDP);
    const char *gvia = our_via(SIP_PROTO_TCP);
    struct sip_txn *ict = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = via));
    struct sip_txn *nict = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = nvia));
    struct sip_txn *gone = client(SIP_PROTO_TCP, MSG(.method = "OPTIONS", .via = gvia));

    /* one client transaction is over already (its user heard terminated() then) */
    deliver(SIP_PROTO_TCP, MSG(.code = 200, .via = gvia, .cseq_method = "OPTIONS"));
    sk_loop_advance(G.loop, 0); /* Timer K = 0 */
    CHK_STATE(gone, SIP_TXN_TERMINATED);
    CHK_INT(G.nterm, 1);
    CHK(G.term[0].t == gone);
    /* the INVITE is in Proceeding with a CANCEL in flight and Timer C running */
    advance_to(100);
    deliver(SIP_PROTO_UDP, MSG(.code = 180, .via = via, .to_tag = "b1"));
    timer_c_set(ict, 100000);
    CHK_INT(sip_txn_cancel(ict, NULL), 0);
    /* the OPTIONS is in Completed (Timer K pending): still alive */
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = nvia, .cseq_method = "OPTIONS"));
    CHK_STATE(nict, SIP_TXN_COMPLETED);
    /* server transactions: one with TU data, one without */
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    struct sip_txn *with_data = last_st();
    sip_txn_set_data(with_data, &tu_data);
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = NIST_VIA));
    advance_to(1000);
    CHK_INT(sip_txl_count(G.txl), 5); /* ict, its CANCEL, nict, two server */
    CHK_INT(G.nresp, 3);              /* 200, 180, 200 */
    CHK_INT(G.nterm, 1);
    CHK_INT(G.nfail, 0);

    for (size_t i = 0; i < G.nheld; i++)
        sip_txn_unref(G.held[i]);
    G.nheld = 0;
    sip_txl_free(G.txl);
    G.txl = NULL;
    CHK_INT(G.nterm, 3);
    {
        size_t n_ict = 0, n_nict = 0, n_gone = 0;
        for (size_t i = 1; i < G.nterm; i++) {
            n_ict += G.term[i].t == ict;
            n_nict += G.term[i].t == nict;
            n_gone += G.term[i].t == gone;
            CHK_INT(G.term[i].at, 1000);
        }
        CHK_INT(n_ict, 1);
        CHK_INT(n_nict, 1);
        CHK_INT(n_gone, 0);
    }
    CHK_INT(G.nfail, 1);
    CHK(G.fail[0].st == with_data);
    CHK_INT(G.fail[0].err, ECANCELED);
    CHK_INT(G.fail[0].at, 1000);
    CHK_INT(G.nresp, 3); /* no 408 or 503 */
    CHK_INT(sk_loop_timer_count(G.loop), 0);
    advance_to(300000);
    CHK_INT(G.nterm, 3);
    CHK_INT(G.nfail, 1);
    CHK_INT(G.nresp, 3);
}

/* ======================================================================
 * Housekeeping
 * ====================================================================== */

static void test_txl_free_with_live_transactions(void **state)
{
    (void) state;
    /* one of each kind, some over TCP with a connection reference */
    struct sip_txn *c[3];
    c[0] = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_UDP)));
    c[1] = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_UDP)));
    c[2] = client_on(SIP_PROTO_TCP, FAKE_CONN,
                     MSG(.method = "INVITE", .via = our_via(SIP_PROTO_TCP)));
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    deliver(SIP_PROTO_TCP, MSG(.method = "INVITE", .via = "SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKlive1"));
    deliver(SIP_PROTO_TCP, MSG(.method = "OPTIONS", .via = "SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKlive2"));
    respond(G.req[0].st, 486, MSG(.code = 486, .via = SRV_VIA, .to_tag = "s"));
    CHK_INT(sip_txl_count(G.txl), 6);
    CHK_INT(G.conn_refs, 3);
    CHK(sk_loop_timer_count(G.loop) > 0);

    /* drop our references, then free the layer with everything in flight */
    for (size_t i = 0; i < G.nheld; i++)
        sip_txn_unref(G.held[i]);
    G.nheld = 0;
    sip_txl_free(G.txl);
    G.txl = NULL;
    CHK_INT(sk_loop_timer_count(G.loop), 0);
    CHK_INT(G.conn_refs, 0);
    /* each client transaction's user hears terminated() once; the server ones have
     * no TU data, so server_failed is not called; nothing else runs */
    CHK_INT(G.nterm, 3);
    for (size_t k = 0; k < 3; k++) {
        size_t n = 0;
        for (size_t i = 0; i < G.nterm; i++)
            n += G.term[i].t == c[k];
        CHK_INT(n, 1);
    }
    CHK_INT(G.nresp, 0);
    CHK_INT(G.nfail, 0);
    advance_to(100000);
    CHK_INT(G.nterm, 3);
}

/* A finished client transaction is freed once the caller drops its reference: the
 * connection reference it took is given back (a leak detector without ASan). */
static void test_client_txn_freed(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    struct sip_txn *a = client_on(SIP_PROTO_TCP, FAKE_CONN, MSG(.method = "OPTIONS", .via = via));
    struct sip_txn *b =
        client_on(SIP_PROTO_TCP, FAKE_CONN, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_TCP)));

    CHK_INT(G.conn_refs, 2);
    CHK(G.sent[0].dst.conn == FAKE_CONN);
    deliver(SIP_PROTO_TCP, MSG(.code = 200, .via = via, .cseq_method = "OPTIONS"));
    sk_loop_advance(G.loop, 0);
    CHK_STATE(a, SIP_TXN_TERMINATED);
    advance_to(32000); /* Timer B */
    CHK_STATE(b, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(G.conn_refs, 2); /* the caller still holds both */
    for (size_t i = 0; i < G.nheld; i++)
        sip_txn_unref(G.held[i]);
    G.nheld = 0;
    CHK_INT(G.conn_refs, 0);
}

static void test_stats_counters(void **state)
{
    (void) state;
    struct sip_txl_stats s = stats();
    CHK_INT(s.server_created, 0);
    CHK_INT(s.client_created, 0);
    CHK_INT(s.retransmissions_absorbed, 0);
    CHK_INT(s.retransmits_sent, 0);
    CHK_INT(s.timeouts, 0);
    CHK_INT(s.transport_errors, 0);
    CHK_INT(s.stray_responses, 0);
    CHK_INT(s.dropped_busy, 0);

    const char *via = our_via(SIP_PROTO_UDP);
    client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = via));
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = NIST_VIA));
    deliver(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = NIST_VIA));
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = our_via(SIP_PROTO_UDP), .cseq_method = "OPTIONS"));
    advance_to(1600);
    s = stats();
    CHK_INT(s.client_created, 1);
    CHK_INT(s.server_created, 1);
    CHK_INT(s.retransmissions_absorbed, 1);
    CHK_INT(s.retransmits_sent, 2);
    CHK_INT(s.stray_responses, 1);
    CHK_INT(s.timeouts, 0);
    advance_to(32000);
    s = stats();
    CHK_INT(s.timeouts, 1);
    respond(last_st(), 200, MSG(.code = 200, .via = NIST_VIA, .cseq_method = "OPTIONS"));
    advance_to(100000);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(stats().transport_errors, 0);
    CHK_INT(stats().dropped_busy, 0);
}

static void test_branch_new(void **state)
{
    (void) state;
    char a[32], b[32];

    memset(a, 'X', sizeof(a));
    memset(b, 'X', sizeof(b));
    sip_branch_new(a, sizeof(a));
    sip_branch_new(b, sizeof(b));
    CHK_INT(strlen(a), 31);
    CHK_INT(strlen(b), 31);
    CHK(strncmp(a, "z9hG4bK", 7) == 0);
    CHK(strncmp(b, "z9hG4bK", 7) == 0);
    for (size_t i = 7; i < 31; i++)
        CHK(strchr("0123456789abcdef", a[i]) != NULL && a[i] != '\0');
    CHK(strcmp(a, b) != 0);
    /* the formatter behind it: prefix, 16 digits, b's low digits; too small -> "" */
    {
        char c[48];
        sip_branch_print(c, sizeof(c), "z9hG4bKsk", 0x0123456789abcdefull, 0xfedcba9876543210ull, 16);
        CHK(strcmp(c, "z9hG4bKsk0123456789abcdeffedcba9876543210") == 0);
        sip_branch_print(c, sizeof(c), "z9hG4bK", 1, 0xabcdef12u, 8);
        CHK(strcmp(c, "z9hG4bK0000000000000001abcdef12") == 0);
        sip_branch_print(c, 31, "z9hG4bK", 1, 2, 8);
        CHK(c[0] == '\0');
    }
    /* usable as a client branch */
    client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_UDP)));
    CHK_INT(sip_txl_count(G.txl), 1);
}

static void rdest(const char *via, enum sip_proto proto, uint16_t src_port, struct sip_dest *d)
{
    struct sip_msg *m = parse_kept(MSG(.method = "OPTIONS", .via = via));
    struct sip_rx rx;
    make_rx(&rx, m, proto, src_port);
    CHK_INT(sip_response_dest(&rx, d), 0);
}

static void test_response_dest(void **state)
{
    (void) state;
    struct sip_dest d;

    /* UDP without rport: source IP, sent-by port */
    rdest("SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKd1", SIP_PROTO_UDP, 40000, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "127.0.0.1", 5062));
    CHK(d.conn == NULL);
    rdest("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKd2", SIP_PROTO_UDP, 40000, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "127.0.0.1", 5060));
    /* RFC 3581 rport: source IP and port */
    rdest("SIP/2.0/UDP 192.0.2.10:5062;rport;branch=z9hG4bKd3", SIP_PROTO_UDP, 40000, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "127.0.0.1", 40000));
    rdest("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKd4;rport", SIP_PROTO_UDP, 40001, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "127.0.0.1", 40001));
    /* maddr: there, at the sent-by port (5060 when absent) */
    rdest("SIP/2.0/UDP 192.0.2.10:5062;maddr=239.255.0.1;ttl=1;branch=z9hG4bKd5", SIP_PROTO_UDP,
          40000, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "239.255.0.1", 5062));
    rdest("SIP/2.0/UDP 192.0.2.10;maddr=192.0.2.99;branch=z9hG4bKd6", SIP_PROTO_UDP, 40000, &d);
    CHK(dest_is(&d, SIP_PROTO_UDP, "192.0.2.99", 5060));
    /* TCP: the connection; its fallback address is the source IP (§18.2.2) */
    rdest("SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKd7", SIP_PROTO_TCP, 40000, &d);
    CHK(d.proto == SIP_PROTO_TCP);
    CHK(d.conn == FAKE_CONN);
    {
        char ip[64];
        CHK(strcmp(sk_sa_ip(&d.addr, ip, sizeof(ip)), "127.0.0.1") == 0);
    }
    rdest("SIP/2.0/TCP 192.0.2.10:5062;rport;branch=z9hG4bKd8", SIP_PROTO_TCP, 40000, &d);
    CHK(d.conn == FAKE_CONN);
    CHK(dest_is(&d, SIP_PROTO_TCP, "127.0.0.1", 40000));
}

/* ======================================================================
 * A timer that cannot start (sk_loop_fail_timer_start): the transaction ends
 * and says so, instead of waiting for ever
 * ====================================================================== */

/* INVITE over TCP: Timer B is its only timer. It cannot start: nothing is sent,
 * the user hears 503 then terminated(), and nothing is left. */
static void test_timer_b_cannot_start(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    struct sip_txn *t;

    sk_loop_fail_timer_start(G.loop, 1);
    t = client(SIP_PROTO_TCP, MSG(.method = "INVITE", .via = via));
    EXPECT_NOTHING_SENT();
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 503);
    CHK(!G.resp[0].has_rx);
    CHK_INT(G.nterm, 1);
    CHK(G.resp[0].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_status(t), 503);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
    /* a response that comes anyway is a stray one */
    deliver(SIP_PROTO_TCP, MSG(.code = 180, .via = via));
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nstray, 1);
    advance_to(200000);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.nterm, 1);
}

/* Non-INVITE over UDP: Timer E starts, Timer F (the second start) does not. */
static void test_timer_f_cannot_start(void **state)
{
    (void) state;
    struct sip_txn *t;

    sk_loop_fail_timer_start(G.loop, 2);
    t = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = our_via(SIP_PROTO_UDP)));
    EXPECT_NOTHING_SENT();
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 503);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0); /* Timer E went with it */
    advance_to(200000);
    EXPECT_NOTHING_SENT();
    CHK_INT(G.nresp, 1);
}

/* Timer A cannot be restarted: the retransmission still leaves, then the
 * transaction ends with 503 rather than waiting for Timer B alone. */
static void test_timer_a_restart_fails(void **state)
{
    (void) state;
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = our_via(SIP_PROTO_UDP)));

    sk_loop_fail_timer_start(G.loop, 1);
    advance_to(500);
    EXPECT_TIMES(0, 500);
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 503);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
}

/* Timer K cannot start after the final response: the user has its response,
 * then the transaction ends at once. */
static void test_timer_k_cannot_start(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = via));

    sk_loop_fail_timer_start(G.loop, 1);
    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = via, .cseq_method = "OPTIONS"));
    CHK_INT(G.nresp, 1);
    CHK_INT(G.resp[0].status, 200);
    CHK(G.resp[0].has_rx);
    CHK_INT(G.nterm, 1);
    CHK(G.resp[0].seq < G.term[0].seq);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
}

/* INVITE server: Timer G (the first start after a 486 over UDP) cannot start:
 * the TU hears server_failed(ENOMEM) and the transaction is gone. */
static void test_timer_g_cannot_start(void **state)
{
    (void) state;
    struct sip_txn *st;

    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    st = last_st();
    sk_loop_fail_timer_start(G.loop, 1);
    respond(st, 486, "SIP/2.0 486 Busy Here\r\n\r\n");
    CHK_INT(G.nsent, 1);
    CHK_INT(G.nfail, 1);
    CHK(G.fail[0].st == st);
    CHK_INT(G.fail[0].err, ENOMEM);
    CHK_STATE(st, SIP_TXN_TERMINATED);
    CHK_INT(sip_txl_count(G.txl), 0);
    CHK_INT(sk_loop_timer_count(G.loop), 0);
}

/* INVITE server: the 200 ms wait for the TU cannot be timed: the 100 Trying
 * goes at once, and the transaction carries on. */
static void test_trying_timer_cannot_start(void **state)
{
    (void) state;
    sk_loop_fail_timer_start(G.loop, 1);
    deliver(SIP_PROTO_UDP, MSG(.method = "INVITE", .via = SRV_VIA));
    EXPECT_TIMES(0);
    CHK_INT(sent_msg(0)->status, 100);
    CHK_INT(G.nreq, 1);
    CHK_STATE(last_st(), SIP_TXN_PROCEEDING);
    advance_to(1000);
    EXPECT_TIMES(0);
    CHK_INT(sip_txl_count(G.txl), 1);
}

/* The proxy's Timer C cannot start: the branch is cancelled instead (the CANCEL
 * leaves with the first provisional, and the 64*T1 guard bounds it). */
static void test_timer_c_cannot_start(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_TCP);
    const char *inv = MSG(.method = "INVITE", .via = via);
    struct sip_txn *t = client(SIP_PROTO_TCP, inv);

    sk_loop_fail_timer_start(G.loop, 1);
    timer_c_set(t, 20000);
    CHK(sip_txn_cancel_requested(t));
    advance_to(1000);
    deliver(SIP_PROTO_TCP, MSG(.code = 180, .via = via, .to_tag = "b1"));
    EXPECT_TIMES(0, 1000);
    check_cancel(1, inv, NULL);
    advance_to(1000 + 32000);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 408);
    CHK_STATE(t, SIP_TXN_TERMINATED);
}

/* sip_txn_client_timeout: the TU's own timer, 408 before a final, EALREADY after. */
static void test_client_timeout(void **state)
{
    (void) state;
    const char *via = our_via(SIP_PROTO_UDP);
    const char *dvia = our_via(SIP_PROTO_UDP);
    struct sip_txn *t = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = via));
    struct sip_txn *done = client(SIP_PROTO_UDP, MSG(.method = "OPTIONS", .via = dvia));

    deliver(SIP_PROTO_UDP, MSG(.code = 200, .via = dvia, .cseq_method = "OPTIONS"));
    CHK_STATE(done, SIP_TXN_COMPLETED);
    CHK_INT(sip_txn_client_timeout(done), EALREADY);
    CHK_INT(sip_txn_client_timeout(t), 0);
    CHK_INT(G.nresp, 2);
    CHK_INT(G.resp[1].status, 408);
    CHK(!G.resp[1].has_rx);
    CHK_INT(G.nterm, 1);
    CHK_STATE(t, SIP_TXN_TERMINATED);
    CHK_INT(sip_txn_client_timeout(t), EALREADY);
    CHK_INT(stats().timeouts, 1);
    advance_to(200000);
    CHK_INT(G.nresp, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_ict_udp_timer_a_b),
        T(test_ict_tcp_no_retransmissions),
        T(test_ict_1xx_proceeding),
        T(test_ict_non2xx_completed_ack),
        T(test_ict_non2xx_from_proceeding),
        T(test_ict_non2xx_tcp_timer_d_zero),
        T(test_ict_2xx_accepted),
        T(test_ict_transport_error_first_send),
        T(test_ict_transport_error_on_retransmit),
        T(test_nict_udp_timer_e_f),
        T(test_nict_proceeding_t2),
        T(test_nict_final_completed_timer_k),
        T(test_nict_final_from_proceeding),
        T(test_nict_tcp),
        T(test_ist_100_trying_at_200),
        T(test_ist_no_100_when_tu_responded),
        T(test_ist_486_timer_g_ack_confirmed_timer_i),
        T(test_ist_486_timer_h),
        T(test_ist_200_accepted_timer_l),
        T(test_ist_tcp),
        T(test_ist_transport_error_on_respond),
        T(test_nist_udp),
        T(test_nist_final_from_trying_tcp),
        T(test_match_client_responses),
        T(test_match_cancel_server),
        T(test_match_rfc2543),
        T(test_match_rfc2543_ack_to_tag),
        T(test_match_badbranch),
        T(test_match_sent_by_and_method),
        T(test_match_ack_for_2xx),
        T(test_cancel_proceeding),
        T(test_cancel_guard_408),
        T(test_cancel_then_2xx),
        T(test_cancel_deferred_until_provisional),
        T(test_cancel_deferred_then_final),
        T(test_cancel_return_values),
        T(test_timer_c_calling_408),
        T(test_timer_c_zero_stops),
        T(test_timer_c_not_restarted_by_100),
        T(test_timer_c_restarted_by_provisional),
        T(test_timer_c_stopped_by_final),
        T(test_client_start),
        T(test_txl_free_with_live_transactions),
        T(test_txl_free_notifies_users),
        T(test_client_txn_freed),
        T(test_stats_counters),
        T(test_branch_new),
        T(test_response_dest),
        T(test_timer_b_cannot_start),
        T(test_timer_f_cannot_start),
        T(test_timer_a_restart_fails),
        T(test_timer_k_cannot_start),
        T(test_timer_g_cannot_start),
        T(test_trying_timer_cannot_start),
        T(test_timer_c_cannot_start),
        T(test_client_timeout),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
