/* RFC 3261 §17 transactions (Figures 5-8) with RFC 6026's Accepted state, in a bucket-locked table. */
#include "sip/txn.h"
#include "sip/txn_key.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sip/print.h"

const struct sip_txn_config sip_txn_config_default = {
    .t1_ms = 500,
    .t2_ms = 4000,
    .t4_ms = 5000,
    .trying_ms = 200,
    .buckets = 16384,
    .max_txns = 200000,
};

struct sip_txn {
    struct sip_txl *txl;
    struct sk_loop *loop; /* owner: every state change happens on this loop's thread */
    enum sip_txn_kind kind;
    enum sip_txn_state state;
    atomic_int refs;
    /* Table linkage: key and hash are immutable once inserted. */
    char *key;
    uint64_t hash;
    struct sip_txn *hnext;
    bool in_table;
    struct sip_dest dest;
    bool reliable;
    struct sk_buf msg;     /* client: the request; server: the last response sent */
    struct sk_buf ack;     /* INVITE client: the ACK for a non-2xx final response */
    struct sk_buf trying;  /* INVITE server: the 100 Trying to send if the TU is silent */
    int status;
    bool rfc2543;          /* server: matched without the magic cookie */
    char *resp_to_tag;     /* rfc2543 INVITE server: To tag of the final response sent */
    bool tu_responded;
    bool cancel_pending;   /* INVITE client: CANCEL asked for before any provisional (§9.1) */
    bool cancelled;        /* INVITE client: CANCEL sent */
    char *cancel_extra;    /* header lines for the CANCEL (e.g. Reason) */
    uint32_t interval;     /* current retransmission interval (A, E, G) */
    struct sk_timer t_retx;    /* A, E, G */
    struct sk_timer t_timeout; /* B, F, H */
    struct sk_timer t_linger;  /* D, I, J, K, L, M */
    struct sk_timer t_trying;  /* INVITE server: 100 Trying after trying_ms */
    bool timer_failed;         /* a timer did not start: EV_TIMER_FAILED follows */
    const struct sip_txn_user *user;
    void *user_arg;
    void *data;
    char key_buf[]; /* the key's text, in the same allocation */
};

struct bucket {
    pthread_mutex_t lock;
    struct sip_txn *head;
};

struct sip_txl {
    struct sip_txn_config cfg;
    struct sip_sender sender;
    struct sip_txl_handler h;
    struct bucket *b;
    size_t mask;
    atomic_size_t count;
    struct {
        atomic_uint_fast64_t server_created, client_created, absorbed, retransmits, timeouts,
            transport_errors, stray, busy;
    } st;
};

const char *sip_txn_state_name(enum sip_txn_state s)
{
    static const char *const names[] = {"Calling",   "Trying",   "Proceeding", "Completed",
                                        "Confirmed", "Accepted", "Terminated"};
    return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- Table ---- */

/* Room for a transaction key on the stack: branch, sent-by and method fit. */
#define TXN_KEY_STACK 256

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct bucket *bucket_of(struct sip_txl *txl, uint64_t hash)
{
    return &txl->b[hash & txl->mask];
}

/* Find by key and take a reference. */
static struct sip_txn *table_find(struct sip_txl *txl, const char *key)
{
    uint64_t h = hash_key(key);
    struct bucket *b = bucket_of(txl, h);
    struct sip_txn *t;

    pthread_mutex_lock(&b->lock);
    for (t = b->head; t; t = t->hnext) {
        if (t->hash == h && strcmp(t->key, key) == 0) {
            atomic_fetch_add(&t->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return t;
}

/* Insert unless the key is there already; returns the existing one (with a ref) then. */
static struct sip_txn *table_insert(struct sip_txl *txl, struct sip_txn *t)
{
    struct bucket *b = bucket_of(txl, t->hash);
    struct sip_txn *o;

    pthread_mutex_lock(&b->lock);
    for (o = b->head; o; o = o->hnext) {
        if (o->hash == t->hash && strcmp(o->key, t->key) == 0) {
            atomic_fetch_add(&o->refs, 1);
            pthread_mutex_unlock(&b->lock);
            return o;
        }
    }
    t->hnext = b->head;
    b->head = t;
    t->in_table = true;
    atomic_fetch_add(&t->refs, 1); /* the table's reference */
    atomic_fetch_add(&txl->count, 1);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static void table_remove(struct sip_txl *txl, struct sip_txn *t)
{
    struct bucket *b = bucket_of(txl, t->hash);
    struct sip_txn **pp;
    bool removed = false;

    pthread_mutex_lock(&b->lock);
    for (pp = &b->head; *pp; pp = &(*pp)->hnext) {
        if (*pp == t) {
            *pp = t->hnext;
            t->in_table = false;
            removed = true;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    if (removed) {
        atomic_fetch_sub(&txl->count, 1);
        sip_txn_unref(t);
    }
}

/* ---- Lifetime ---- */

void sip_txn_ref(struct sip_txn *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void sip_txn_unref(struct sip_txn *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    if (t->dest.conn && t->txl->sender.conn_unref)
        t->txl->sender.conn_unref(t->txl->sender.arg, t->dest.conn);
    sk_buf_free(&t->msg);
    sk_buf_free(&t->ack);
    sk_buf_free(&t->trying);
    free(t->resp_to_tag);
    free(t->cancel_extra);
    free(t);
}

static void timer_retx(struct sk_loop *l, struct sk_timer *tm, void *arg);
static void timer_timeout(struct sk_loop *l, struct sk_timer *tm, void *arg);
static void timer_linger(struct sk_loop *l, struct sk_timer *tm, void *arg);
static void timer_trying(struct sk_loop *l, struct sk_timer *tm, void *arg);

static struct sip_txn *txn_alloc(struct sip_txl *txl, struct sk_loop *loop,
                                 enum sip_txn_kind kind, const struct sip_dest *dst,
                                 const char *key)
{
    size_t klen = strlen(key);
    struct sip_txn *t = calloc(1, sizeof(*t) + klen + 1);

    if (!t)
        return NULL;
    memcpy(t->key_buf, key, klen + 1);
    t->key = t->key_buf;
    t->hash = hash_key(key);
    t->txl = txl;
    t->loop = loop;
    t->kind = kind;
    atomic_init(&t->refs, 1);
    t->dest = *dst;
    if (t->dest.conn && txl->sender.conn_ref)
        txl->sender.conn_ref(txl->sender.arg, t->dest.conn);
    t->reliable = sip_proto_reliable(dst->proto);
    sk_buf_init(&t->msg);
    sk_buf_init(&t->ack);
    sk_buf_init(&t->trying);
    sk_timer_init(&t->t_retx, timer_retx, t);
    sk_timer_init(&t->t_timeout, timer_timeout, t);
    sk_timer_init(&t->t_linger, timer_linger, t);
    sk_timer_init(&t->t_trying, timer_trying, t);
    return t;
}

static void stop_timers(struct sip_txn *t)
{
    sk_timer_stop(t->loop, &t->t_retx);
    sk_timer_stop(t->loop, &t->t_timeout);
    sk_timer_stop(t->loop, &t->t_linger);
    sk_timer_stop(t->loop, &t->t_trying);
}

static void terminate(struct sip_txn *t)
{
    if (t->state == SIP_TXN_TERMINATED)
        return;
    t->state = SIP_TXN_TERMINATED;
    stop_timers(t);
    sip_txn_ref(t);
    table_remove(t->txl, t);
    if (t->user && t->user->terminated)
        t->user->terminated(t, t->user_arg);
    sip_txn_unref(t);
}

/* A timer that cannot start would leave the transaction waiting for ever: the
 * failure is remembered and becomes the event EV_TIMER_FAILED once the current
 * transition is done (txn_dispatch). */
static void timer_start(struct sip_txn *t, struct sk_timer *tm, uint32_t ms)
{
    if (sk_timer_start(t->loop, tm, ms))
        t->timer_failed = true;
}

/* The linger timers (D, I, J, K, L, M) only free state: lazy (net/loop.h). */
static void linger(struct sip_txn *t, uint32_t ms)
{
    if (sk_timer_start_lazy(t->loop, &t->t_linger, ms))
        t->timer_failed = true;
}

static uint32_t t64(const struct sip_txn *t)
{
    return 64u * t->txl->cfg.t1_ms;
}

static int send_buf(struct sip_txn *t, const struct sk_buf *b)
{
    const struct sip_sender *s = &t->txl->sender;
    return s->send(s->arg, &t->dest, b->p, b->len);
}

/* ---- The state machines ----
 * Each machine is a const table indexed by (state, event), as RFC 3261 Figures
 * 5-8 (with RFC 6026's Accepted state) draw them: an arrow is an action and the
 * state it leads to; txn_dispatch is the one place that follows arrows. Timers
 * and transport errors are events like messages. An event with no arrow from
 * the current state is ignored (a caller that asked for it, sip_txn_respond,
 * sip_txn_cancel or sip_txn_client_timeout, gets EINVAL/EALREADY). */

enum txn_event {
    EV_TU_REQUEST,      /* client: the TU's request, sent the first time */
    EV_TU_CANCEL,       /* INVITE client: the TU asks for a CANCEL (§9.1) */
    EV_TU_TIMEOUT,      /* client: the TU's own timer ran out (sip_txn_client_timeout) */
    EV_RX_1XX,          /* client: a response matched (§17.1.3) */
    EV_RX_2XX,
    EV_RX_300_699,
    EV_RX_REQUEST,      /* server: the request again (§17.2.3) */
    EV_RX_ACK,          /* INVITE server: an ACK */
    EV_TU_1XX,          /* server: the TU's response (sip_txn_respond), already sent */
    EV_TU_2XX,
    EV_TU_300_699,
    EV_TIMER_A,
    EV_TIMER_B,
    EV_TIMER_D,
    EV_TIMER_E,
    EV_TIMER_F,
    EV_TIMER_G,
    EV_TIMER_H,
    EV_TIMER_I,
    EV_TIMER_J,
    EV_TIMER_K,
    EV_TIMER_L,
    EV_TIMER_M,
    EV_TIMER_TRYING,    /* §17.2.1: the TU said nothing for 200 ms */
    EV_TIMER_FAILED,    /* a timer of this transaction could not start */
    EV_TRANSPORT_ERROR,
    EV_COUNT
};

/* What an event carries: the message (EV_RX_*), the errno (EV_TRANSPORT_ERROR). */
struct txn_ev {
    struct sip_rx *rx;
    int err;
};

typedef void (*txn_action)(struct sip_txn *t, const struct txn_ev *ev);

struct txn_arrow {
    bool defined;
    enum sip_txn_state next; /* entered before the action runs; Terminated after it */
    txn_action action;       /* NULL: the state change is all */
};

#define TXN_NSTATES (SIP_TXN_TERMINATED + 1)
#define GO(act, nxt) {true, SIP_TXN_##nxt, act}

typedef struct txn_arrow txn_table[TXN_NSTATES][EV_COUNT];

static void txn_dispatch(struct sip_txn *t, enum txn_event e, const struct txn_ev *ev);

/* ---- Actions ---- */

static void deliver(struct sip_txn *t, const struct txn_ev *ev)
{
    t->status = ev->rx->msg->status;
    if (t->user && t->user->response)
        t->user->response(t, t->user_arg, ev->rx, ev->rx->msg->status);
}

static void tell_user(struct sip_txn *t, int status)
{
    t->status = status;
    if (t->user && t->user->response)
        t->user->response(t, t->user_arg, NULL, status);
}

static void tell_server_failed(struct sip_txn *t, int err)
{
    if (t->txl->h.server_failed)
        t->txl->h.server_failed(t->txl->h.arg, t, err);
}

static void retransmit(struct sip_txn *t, const struct sk_buf *b)
{
    int err;

    atomic_fetch_add(&t->txl->st.retransmits, 1);
    if ((err = send_buf(t, b)))
        txn_dispatch(t, EV_TRANSPORT_ERROR, &(struct txn_ev){.err = err});
}

/* Timers B, F (the user hears 408, §17.1.1.2, §17.1.2.2) and the TU's own timeout. */
static void act_timeout(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    atomic_fetch_add(&t->txl->st.timeouts, 1);
    tell_user(t, 408);
}

/* §8.1.3.1: a transport error is a 503 for the client's user. */
static void act_transport_error(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    atomic_fetch_add(&t->txl->st.transport_errors, 1);
    tell_user(t, 503);
}

/* A timer that could not start: the request's outcome will never be known, which
 * the user hears as a local 503 (like a transport error) rather than never. */
static void act_local_failure(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    tell_user(t, 503);
}

static void act_absorb(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    atomic_fetch_add(&t->txl->st.absorbed, 1);
}

/* The first transmission, Timer A / E at T1 on unreliable transports and
 * Timer B / F at 64*T1 (§17.1.1.2, §17.1.2.2). Nothing is sent when a timer
 * cannot start: the transaction ends at once (EV_TIMER_FAILED). */
static void act_client_start(struct sip_txn *t, const struct txn_ev *ev)
{
    int err;
    (void) ev;

    if (!t->reliable) {
        t->interval = t->txl->cfg.t1_ms;
        timer_start(t, &t->t_retx, t->interval);
    }
    timer_start(t, &t->t_timeout, t64(t));
    if (!t->timer_failed && (err = send_buf(t, &t->msg)))
        txn_dispatch(t, EV_TRANSPORT_ERROR, &(struct txn_ev){.err = err});
}

/* §17.1.1.2: Timer A doubles each time (Timer B bounds it). */
static void act_retransmit_a(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    t->interval *= 2;
    timer_start(t, &t->t_retx, t->interval);
    retransmit(t, &t->msg);
}

/* §17.1.2.2: E doubles up to T2 in Trying, and is T2 in Proceeding. */
static void act_retransmit_e(struct sip_txn *t, const struct txn_ev *ev)
{
    const struct sip_txn_config *c = &t->txl->cfg;
    (void) ev;

    t->interval = t->state == SIP_TXN_PROCEEDING ? c->t2_ms
                  : t->interval * 2 > c->t2_ms   ? c->t2_ms
                                                 : t->interval * 2;
    timer_start(t, &t->t_retx, t->interval);
    retransmit(t, &t->msg);
}

/* §17.2.1: G doubles up to T2 while Completed. */
static void act_retransmit_g(struct sip_txn *t, const struct txn_ev *ev)
{
    const struct sip_txn_config *c = &t->txl->cfg;
    (void) ev;

    t->interval = t->interval * 2 > c->t2_ms ? c->t2_ms : t->interval * 2;
    timer_start(t, &t->t_retx, t->interval);
    retransmit(t, &t->msg);
}

static void send_cancel(struct sip_txn *t);

/* §17.1.1.2: a provisional stops Timer A (and B, unless it guards a CANCEL);
 * a CANCEL asked for in Calling leaves now (§9.1). */
static void act_ict_provisional(struct sip_txn *t, const struct txn_ev *ev)
{
    sk_timer_stop(t->loop, &t->t_retx);
    if (!t->cancelled)
        sk_timer_stop(t->loop, &t->t_timeout);
    deliver(t, ev);
    if (t->cancel_pending && t->state == SIP_TXN_PROCEEDING)
        send_cancel(t);
}

/* RFC 6026 §8.4: Accepted, Timer M = 64*T1; 2xx retransmissions reach the TU. */
static void act_ict_accept(struct sip_txn *t, const struct txn_ev *ev)
{
    sk_timer_stop(t->loop, &t->t_retx);
    sk_timer_stop(t->loop, &t->t_timeout);
    linger(t, t64(t));
    deliver(t, ev);
}

static void build_ack(struct sip_txn *t, const struct sip_msg *resp);

/* §17.1.1.2: ACK, Completed, Timer D (32 s unreliable, 0 reliable). */
static void act_ict_reject(struct sip_txn *t, const struct txn_ev *ev)
{
    int err;

    sk_timer_stop(t->loop, &t->t_retx);
    sk_timer_stop(t->loop, &t->t_timeout);
    build_ack(t, ev->rx->msg);
    linger(t, t->reliable ? 0 : (32000 > t64(t) ? 32000 : t64(t)));
    if (t->ack.len && (err = send_buf(t, &t->ack))) {
        deliver(t, ev);
        txn_dispatch(t, EV_TRANSPORT_ERROR, &(struct txn_ev){.err = err});
        return;
    }
    deliver(t, ev);
}

/* §17.1.1.2: a retransmitted final response is absorbed and ACKed again. */
static void act_ict_ack_again(struct sip_txn *t, const struct txn_ev *ev)
{
    act_absorb(t, ev);
    if (t->ack.len)
        retransmit(t, &t->ack);
}

/* §9.1: no CANCEL before a provisional response; it leaves with the first one. */
static void act_cancel_later(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    t->cancel_pending = true;
}

static void act_cancel_now(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    send_cancel(t);
}

/* §17.1.2.2: Completed, Timer K = T4 (unreliable) or 0. */
static void act_nict_final(struct sip_txn *t, const struct txn_ev *ev)
{
    sk_timer_stop(t->loop, &t->t_retx);
    sk_timer_stop(t->loop, &t->t_timeout);
    linger(t, t->reliable ? 0 : t->txl->cfg.t4_ms);
    deliver(t, ev);
}

/* §17.2.1/§17.2.2: a retransmitted request gets the last response again. */
static void act_resend_response(struct sip_txn *t, const struct txn_ev *ev)
{
    act_absorb(t, ev);
    if (t->msg.len)
        retransmit(t, &t->msg);
}

/* §17.2.1: the TU said nothing within 200 ms: the transaction sends 100 Trying. */
static void act_send_trying(struct sip_txn *t, const struct txn_ev *ev)
{
    int err;
    (void) ev;

    if (t->tu_responded || t->trying.len == 0)
        return;
    sk_buf_reset(&t->msg);
    sk_buf_append(&t->msg, t->trying.p, t->trying.len);
    t->status = 100;
    if ((err = send_buf(t, &t->msg)))
        txn_dispatch(t, EV_TRANSPORT_ERROR, &(struct txn_ev){.err = err});
}

/* RFC 6026 §8.5: Accepted, Timer L = 64*T1. */
static void act_start_l(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    linger(t, t64(t));
}

/* §17.2.1: Completed; G retransmits (unreliable), H waits for the ACK. */
static void act_start_g_h(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    if (!t->reliable) {
        t->interval = t->txl->cfg.t1_ms;
        timer_start(t, &t->t_retx, t->interval);
    }
    timer_start(t, &t->t_timeout, t64(t));
}

/* §17.2.1: ACK for our non-2xx: stop G and H, linger in Confirmed (Timer I). */
static void act_confirm(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    sk_timer_stop(t->loop, &t->t_retx);
    sk_timer_stop(t->loop, &t->t_timeout);
    linger(t, t->reliable ? 0 : t->txl->cfg.t4_ms);
}

/* RFC 6026 §8.7: an ACK matching the INVITE in Accepted goes to the TU. */
static void act_ack_to_tu(struct sip_txn *t, const struct txn_ev *ev)
{
    if (t->txl->h.request)
        t->txl->h.request(t->txl->h.arg, NULL, ev->rx);
}

/* §17.2.1: no ACK before Timer H; the TU is told (it may end the dialog). */
static void act_server_timeout(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    atomic_fetch_add(&t->txl->st.timeouts, 1);
    tell_server_failed(t, ETIMEDOUT);
}

static void act_server_transport_error(struct sip_txn *t, const struct txn_ev *ev)
{
    atomic_fetch_add(&t->txl->st.transport_errors, 1);
    tell_server_failed(t, ev->err);
}

/* Timer G or H could not start: the response would never be confirmed. */
static void act_server_local_failure(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    tell_server_failed(t, ENOMEM);
}

/* §17.2.2: Completed, Timer J = 64*T1 (unreliable) or 0. */
static void act_start_j(struct sip_txn *t, const struct txn_ev *ev)
{
    (void) ev;
    linger(t, t->reliable ? 0 : t64(t));
}

/* ---- The tables ---- */

/* RFC 3261 Figure 5 (INVITE client) with RFC 6026's Accepted state (§8.4). */
static const txn_table invite_client = {
    [SIP_TXN_CALLING] = {
        [EV_TU_REQUEST] = GO(act_client_start, CALLING),      /* INVITE from TU: INVITE sent */
        [EV_TIMER_A] = GO(act_retransmit_a, CALLING),         /* Timer A: INVITE sent */
        [EV_TIMER_B] = GO(act_timeout, TERMINATED),           /* Timer B: inform TU */
        [EV_RX_1XX] = GO(act_ict_provisional, PROCEEDING),    /* 1xx: 1xx to TU */
        [EV_RX_2XX] = GO(act_ict_accept, ACCEPTED),           /* 2xx: 2xx to TU (6026) */
        [EV_RX_300_699] = GO(act_ict_reject, COMPLETED),      /* 300-699: ACK sent, resp. to TU */
        [EV_TRANSPORT_ERROR] = GO(act_transport_error, TERMINATED), /* Transport Err.: inform TU */
        [EV_TU_CANCEL] = GO(act_cancel_later, CALLING),       /* §9.1: with the first 1xx */
        [EV_TU_TIMEOUT] = GO(act_timeout, TERMINATED),
        [EV_TIMER_FAILED] = GO(act_local_failure, TERMINATED),
    },
    [SIP_TXN_PROCEEDING] = {
        [EV_RX_1XX] = GO(act_ict_provisional, PROCEEDING),    /* 1xx: 1xx to TU */
        [EV_RX_2XX] = GO(act_ict_accept, ACCEPTED),           /* 2xx: 2xx to TU (6026) */
        [EV_RX_300_699] = GO(act_ict_reject, COMPLETED),      /* 300-699: ACK sent, resp. to TU */
        [EV_TRANSPORT_ERROR] = GO(act_transport_error, TERMINATED), /* as from Calling */
        [EV_TU_CANCEL] = GO(act_cancel_now, PROCEEDING),      /* §9.1 */
        [EV_TIMER_B] = GO(act_timeout, TERMINATED),           /* §9.1: 64*T1 after the CANCEL */
        [EV_TU_TIMEOUT] = GO(act_timeout, TERMINATED),
        [EV_TIMER_FAILED] = GO(act_local_failure, TERMINATED),
    },
    [SIP_TXN_COMPLETED] = {
        [EV_RX_300_699] = GO(act_ict_ack_again, COMPLETED),   /* 300-699: ACK sent */
        [EV_RX_1XX] = GO(act_absorb, COMPLETED),
        [EV_RX_2XX] = GO(act_absorb, COMPLETED),
        [EV_TRANSPORT_ERROR] = GO(act_transport_error, TERMINATED), /* Transport Err.: inform TU */
        [EV_TIMER_D] = GO(NULL, TERMINATED),                  /* Timer D */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* D cannot run: end now */
    },
    [SIP_TXN_ACCEPTED] = {
        [EV_RX_2XX] = GO(deliver, ACCEPTED),                  /* 2xx: 2xx to TU (6026 §8.4) */
        [EV_TIMER_M] = GO(NULL, TERMINATED),                  /* Timer M */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* M cannot run: end now */
    },
};

/* RFC 3261 Figure 6 (non-INVITE client). */
static const txn_table non_invite_client = {
    [SIP_TXN_TRYING] = {
        [EV_TU_REQUEST] = GO(act_client_start, TRYING),       /* Request from TU: send request */
        [EV_TIMER_E] = GO(act_retransmit_e, TRYING),          /* Timer E: send request */
        [EV_TIMER_F] = GO(act_timeout, TERMINATED),           /* Timer F: inform TU */
        [EV_RX_1XX] = GO(deliver, PROCEEDING),                /* 1xx: 1xx to TU */
        [EV_RX_2XX] = GO(act_nict_final, COMPLETED),          /* 200-699: resp. to TU */
        [EV_RX_300_699] = GO(act_nict_final, COMPLETED),
        [EV_TRANSPORT_ERROR] = GO(act_transport_error, TERMINATED), /* Transport Err.: inform TU */
        [EV_TU_TIMEOUT] = GO(act_timeout, TERMINATED),
        [EV_TIMER_FAILED] = GO(act_local_failure, TERMINATED),
    },
    [SIP_TXN_PROCEEDING] = {
        [EV_TIMER_E] = GO(act_retransmit_e, PROCEEDING),      /* Timer E: send request */
        [EV_TIMER_F] = GO(act_timeout, TERMINATED),           /* Timer F: inform TU */
        [EV_RX_1XX] = GO(deliver, PROCEEDING),                /* 1xx: 1xx to TU */
        [EV_RX_2XX] = GO(act_nict_final, COMPLETED),          /* 200-699: resp. to TU */
        [EV_RX_300_699] = GO(act_nict_final, COMPLETED),
        [EV_TRANSPORT_ERROR] = GO(act_transport_error, TERMINATED), /* Transport Err.: inform TU */
        [EV_TU_TIMEOUT] = GO(act_timeout, TERMINATED),
        [EV_TIMER_FAILED] = GO(act_local_failure, TERMINATED),
    },
    [SIP_TXN_COMPLETED] = {
        [EV_RX_1XX] = GO(act_absorb, COMPLETED),
        [EV_RX_2XX] = GO(act_absorb, COMPLETED),
        [EV_RX_300_699] = GO(act_absorb, COMPLETED),
        [EV_TIMER_K] = GO(NULL, TERMINATED),                  /* Timer K */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* K cannot run: end now */
    },
};

/* RFC 3261 Figure 7 (INVITE server) with RFC 6026's Accepted state (§8.5-§8.7). The TU's
 * response is sent by sip_txn_respond before its event; a send error is
 * EV_TRANSPORT_ERROR instead. */
static const txn_table invite_server = {
    [SIP_TXN_PROCEEDING] = {
        [EV_RX_REQUEST] = GO(act_resend_response, PROCEEDING), /* INVITE: send response */
        [EV_RX_ACK] = GO(act_absorb, PROCEEDING),
        [EV_TU_1XX] = GO(NULL, PROCEEDING),                   /* 101-199 from TU: send response */
        [EV_TU_2XX] = GO(act_start_l, ACCEPTED),              /* 2xx from TU: send response (6026) */
        [EV_TU_300_699] = GO(act_start_g_h, COMPLETED),       /* 300-699 from TU: send response */
        [EV_TIMER_TRYING] = GO(act_send_trying, PROCEEDING),  /* §17.2.1: 100 Trying */
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED), /* inform TU */
        [EV_TIMER_FAILED] = GO(act_send_trying, PROCEEDING),  /* no 200 ms wait: 100 now */
    },
    [SIP_TXN_COMPLETED] = {
        [EV_RX_REQUEST] = GO(act_resend_response, COMPLETED), /* INVITE: send response */
        [EV_RX_ACK] = GO(act_confirm, CONFIRMED),             /* ACK */
        [EV_TIMER_G] = GO(act_retransmit_g, COMPLETED),       /* Timer G: send response */
        [EV_TIMER_H] = GO(act_server_timeout, TERMINATED),    /* Timer H: inform TU */
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED), /* inform TU */
        [EV_TIMER_FAILED] = GO(act_server_local_failure, TERMINATED),
    },
    [SIP_TXN_CONFIRMED] = {
        [EV_RX_REQUEST] = GO(act_absorb, CONFIRMED),
        [EV_RX_ACK] = GO(act_absorb, CONFIRMED),
        [EV_TIMER_I] = GO(NULL, TERMINATED),                  /* Timer I */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* I cannot run: end now */
    },
    [SIP_TXN_ACCEPTED] = {
        [EV_RX_REQUEST] = GO(act_absorb, ACCEPTED),           /* INVITE: absorbed (6026) */
        [EV_RX_ACK] = GO(act_ack_to_tu, ACCEPTED),            /* ACK: to TU (6026 §8.7) */
        [EV_TU_2XX] = GO(NULL, ACCEPTED),                     /* 2xx from TU: send response */
        [EV_TIMER_L] = GO(NULL, TERMINATED),                  /* Timer L */
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED), /* a 2xx again failed */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* L cannot run: end now */
    },
};

/* RFC 3261 Figure 8 (non-INVITE server). */
static const txn_table non_invite_server = {
    [SIP_TXN_TRYING] = {
        [EV_RX_REQUEST] = GO(act_absorb, TRYING),             /* Request: absorbed */
        [EV_TU_1XX] = GO(NULL, PROCEEDING),                   /* 1xx from TU: send response */
        [EV_TU_2XX] = GO(act_start_j, COMPLETED),             /* 200-699 from TU: send response */
        [EV_TU_300_699] = GO(act_start_j, COMPLETED),
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED),
    },
    [SIP_TXN_PROCEEDING] = {
        [EV_RX_REQUEST] = GO(act_resend_response, PROCEEDING), /* Request: send response */
        [EV_TU_1XX] = GO(NULL, PROCEEDING),                   /* 1xx from TU: send response */
        [EV_TU_2XX] = GO(act_start_j, COMPLETED),             /* 200-699 from TU: send response */
        [EV_TU_300_699] = GO(act_start_j, COMPLETED),
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED), /* inform TU */
    },
    [SIP_TXN_COMPLETED] = {
        [EV_RX_REQUEST] = GO(act_resend_response, COMPLETED), /* Request: send response */
        [EV_TIMER_J] = GO(NULL, TERMINATED),                  /* Timer J */
        [EV_TRANSPORT_ERROR] = GO(act_server_transport_error, TERMINATED), /* inform TU */
        [EV_TIMER_FAILED] = GO(NULL, TERMINATED),             /* J cannot run: end now */
    },
};

static const txn_table *const txn_machines[] = {
    [SIP_TXN_INVITE_CLIENT] = &invite_client,
    [SIP_TXN_NON_INVITE_CLIENT] = &non_invite_client,
    [SIP_TXN_INVITE_SERVER] = &invite_server,
    [SIP_TXN_NON_INVITE_SERVER] = &non_invite_server,
};

static const struct txn_arrow *txn_arrow_of(const struct sip_txn *t, enum txn_event e)
{
    return &(*txn_machines[t->kind])[t->state][e];
}

/* The one dispatcher: follow the arrow for (state, event), if the figure has one. */
static void txn_dispatch(struct sip_txn *t, enum txn_event e, const struct txn_ev *ev)
{
    const struct txn_arrow *a = txn_arrow_of(t, e);
    static const struct txn_ev none;

    if (!a->defined)
        return;
    sip_txn_ref(t); /* the action's callbacks may drop the user's reference */
    if (a->next != SIP_TXN_TERMINATED)
        t->state = a->next;
    if (a->action)
        a->action(t, ev ? ev : &none);
    if (a->next == SIP_TXN_TERMINATED) {
        terminate(t);
    } else if (t->timer_failed && t->state != SIP_TXN_TERMINATED) {
        t->timer_failed = false;
        txn_dispatch(t, EV_TIMER_FAILED, NULL);
    }
    sip_txn_unref(t);
}

/* ---- Timers: which one fired depends on the machine (and, for the linger timer, the state) ---- */

/* The retransmission timer (A, E, G) and the timeout timer (B, F, H) of each machine;
 * EV_COUNT: the machine has no such timer. */
enum { TIMER_RETX, TIMER_TIMEOUT };
static const enum txn_event timer_event[2][4] = {
    [TIMER_RETX] = {
        [SIP_TXN_INVITE_CLIENT] = EV_TIMER_A,
        [SIP_TXN_NON_INVITE_CLIENT] = EV_TIMER_E,
        [SIP_TXN_INVITE_SERVER] = EV_TIMER_G,
        [SIP_TXN_NON_INVITE_SERVER] = EV_COUNT,
    },
    [TIMER_TIMEOUT] = {
        [SIP_TXN_INVITE_CLIENT] = EV_TIMER_B,
        [SIP_TXN_NON_INVITE_CLIENT] = EV_TIMER_F,
        [SIP_TXN_INVITE_SERVER] = EV_TIMER_H,
        [SIP_TXN_NON_INVITE_SERVER] = EV_COUNT,
    },
};

static void timer_fire(struct sip_txn *t, int which)
{
    enum txn_event e = timer_event[which][t->kind];

    if (e != EV_COUNT)
        txn_dispatch(t, e, NULL);
}

static void timer_retx(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    (void) l, (void) tm;
    timer_fire(arg, TIMER_RETX);
}

static void timer_timeout(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    (void) l, (void) tm;
    timer_fire(arg, TIMER_TIMEOUT);
}

static void timer_linger(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    struct sip_txn *t = arg;
    bool accepted = t->state == SIP_TXN_ACCEPTED;
    enum txn_event e;
    (void) l, (void) tm;

    switch (t->kind) {
    case SIP_TXN_INVITE_CLIENT:
        e = accepted ? EV_TIMER_M : EV_TIMER_D;
        break;
    case SIP_TXN_NON_INVITE_CLIENT:
        e = EV_TIMER_K;
        break;
    case SIP_TXN_INVITE_SERVER:
        e = accepted ? EV_TIMER_L : EV_TIMER_I;
        break;
    default:
        e = EV_TIMER_J;
        break;
    }
    txn_dispatch(t, e, NULL);
}

static void timer_trying(struct sk_loop *l, struct sk_timer *tm, void *arg)
{
    (void) l, (void) tm;
    txn_dispatch(arg, EV_TIMER_TRYING, NULL);
}

/* ---- Keys (§17.1.3, §17.2.3) ---- */

/* The keys are sip/txn_key's pure functions, printed as the table's text keys. */

/* A request's server transaction; an ACK's is its INVITE's. */
static int server_key(const struct sip_msg *m, struct sk_buf *k)
{
    struct sip_txn_key tk;
    int err = sip_txn_key_server(m, &tk);

    return err ? err : sip_txn_key_print(&tk, k);
}

/* §9.2: the INVITE server transaction a CANCEL targets. */
static int cancel_target_key(const struct sip_msg *cancel, struct sk_buf *k)
{
    struct sip_txn_key tk;
    int err = sip_txn_key_cancel_target(cancel, &tk);

    return err ? err : sip_txn_key_print(&tk, k);
}

static int client_key(struct sk_str branch, struct sk_str method, struct sk_buf *k)
{
    struct sip_txn_key tk;

    sip_txn_key_client_make(branch, method, &tk);
    return sip_txn_key_print(&tk, k);
}

/* ---- Layer ---- */

int sip_txl_new(struct sip_txl **txlp, const struct sip_txn_config *cfg,
                const struct sip_sender *sender, const struct sip_txl_handler *h)
{
    struct sip_txl *txl = calloc(1, sizeof(*txl));
    size_t n = 1;

    if (!txl)
        return ENOMEM;
    txl->cfg = cfg ? *cfg : sip_txn_config_default;
    while (n < txl->cfg.buckets)
        n <<= 1;
    txl->b = calloc(n, sizeof(*txl->b));
    if (!txl->b) {
        free(txl);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        pthread_mutex_init(&txl->b[i].lock, NULL);
    txl->mask = n - 1;
    txl->sender = *sender;
    txl->h = *h;
    *txlp = txl;
    return 0;
}

void sip_txl_free(struct sip_txl *txl)
{
    if (!txl)
        return;
    for (size_t i = 0; i <= txl->mask; i++) {
        struct sip_txn *t = txl->b[i].head, *next;
        for (; t; t = next) {
            next = t->hnext;
            stop_timers(t);
            t->state = SIP_TXN_TERMINATED;
            t->in_table = false;
            /* users that keep state per transaction hear that it is gone */
            if (t->user && t->user->terminated)
                t->user->terminated(t, t->user_arg);
            else if (t->data && txl->h.server_failed)
                txl->h.server_failed(txl->h.arg, t, ECANCELED);
            sip_txn_unref(t);
        }
        pthread_mutex_destroy(&txl->b[i].lock);
    }
    free(txl->b);
    free(txl);
}

size_t sip_txl_count(struct sip_txl *txl)
{
    return atomic_load(&txl->count);
}

void sip_txl_stats(struct sip_txl *txl, struct sip_txl_stats *o)
{
    o->server_created = atomic_load(&txl->st.server_created);
    o->client_created = atomic_load(&txl->st.client_created);
    o->retransmissions_absorbed = atomic_load(&txl->st.absorbed);
    o->retransmits_sent = atomic_load(&txl->st.retransmits);
    o->timeouts = atomic_load(&txl->st.timeouts);
    o->transport_errors = atomic_load(&txl->st.transport_errors);
    o->stray_responses = atomic_load(&txl->st.stray);
    o->dropped_busy = atomic_load(&txl->st.busy);
}

/* ---- Server side ---- */

static void server_retransmission(struct sip_txn *t, struct sip_rx *rx)
{
    struct sip_txl *txl = t->txl;
    bool ack = rx->msg->method_id == SIP_METHOD_ACK;

    /* §17.2.3: without the magic cookie, the ACK must also carry the To tag of
     * the response we sent; another tag means it is not ours */
    if (ack && t->kind == SIP_TXN_INVITE_SERVER && t->rfc2543 &&
        t->state == SIP_TXN_COMPLETED &&
        (!t->resp_to_tag || !sk_str_eq_cstr(rx->msg->to.tag, t->resp_to_tag))) {
        if (txl->h.request)
            txl->h.request(txl->h.arg, NULL, rx);
        return;
    }
    txn_dispatch(t, ack ? EV_RX_ACK : EV_RX_REQUEST, &(struct txn_ev){.rx = rx});
}

static void build_trying(struct sip_txn *t, const struct sip_msg *req)
{
    /* The 100 is built now, while the request is at hand; it is sent only if needed. */
    sip_print_response_head(&t->trying, req, 100, NULL, SK_STR_NULL);
    sip_print_body(&t->trying, SK_STR_NULL, SK_STR_NULL);
    if (t->trying.failed)
        sk_buf_reset(&t->trying);
}

/* A response to a request we refuse before any transaction exists (overload). */
static void send_stateless_503(struct sip_txl *txl, struct sip_rx *rx)
{
    struct sk_buf b;
    struct sip_dest d;

    if (rx->msg->method_id == SIP_METHOD_ACK || sip_response_dest(rx, &d))
        return;
    sk_buf_init(&b);
    sip_print_response_head(&b, rx->msg, 503, NULL, SK_STR_NULL);
    sk_buf_puts(&b, "Retry-After: 5\r\n");
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    if (!b.failed)
        txl->sender.send(txl->sender.arg, &d, b.p, b.len);
    sk_buf_free(&b);
}

/* ---- Work for a transaction owned by another worker ----
 * A transaction's timers and buffers belong to its loop's thread, so a message
 * that matches it on another worker is copied and re-received there. With
 * SO_REUSEPORT a source usually stays on one worker; this is the exception. */

struct repost {
    struct sip_txl *txl;
    struct sip_rx rx;
    size_t len;
    char buf[];
};

static void repost_run(struct sk_loop *l, void *arg)
{
    struct repost *r = arg;
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;

    if (m) {
        sip_msg_init(m);
        if (sip_msg_parse(m, r->buf, r->len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) == 0) {
            r->rx.msg = m;
            r->rx.loop = l;
            sip_txl_receive(r->txl, &r->rx);
        }
        sip_msg_release(m);
        free(m);
    }
    if (r->rx.conn && r->txl->sender.conn_unref)
        r->txl->sender.conn_unref(r->txl->sender.arg, r->rx.conn);
    free(r);
}

static void repost(struct sip_txl *txl, struct sk_loop *owner, const struct sip_rx *rx)
{
    struct repost *r = malloc(sizeof(*r) + rx->msg->len);

    if (!r)
        return; /* dropped like a lost datagram: the peer retransmits */
    r->txl = txl;
    r->rx = *rx;
    r->rx.msg = NULL;
    r->len = rx->msg->len;
    memcpy(r->buf, rx->msg->buf, r->len);
    if (r->rx.conn && txl->sender.conn_ref)
        txl->sender.conn_ref(txl->sender.arg, r->rx.conn);
    if (sk_loop_post(owner, repost_run, r)) {
        if (r->rx.conn && txl->sender.conn_unref)
            txl->sender.conn_unref(txl->sender.arg, r->rx.conn);
        free(r);
    }
}

static void receive_request(struct sip_txl *txl, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct sk_buf key;
    char key_mem[TXN_KEY_STACK]; /* a usual key fits: no heap per message */
    struct sip_txn *t, *existing;
    struct sip_dest d;
    bool invite = m->method_id == SIP_METHOD_INVITE;

    sk_buf_init_ext(&key, key_mem, sizeof(key_mem));
    if (server_key(m, &key))
        goto out;
    if ((t = table_find(txl, key.p))) {
        if (t->loop != rx->loop)
            repost(txl, t->loop, rx);
        else
            server_retransmission(t, rx);
        sip_txn_unref(t);
        goto out;
    }
    if (m->method_id == SIP_METHOD_CANCEL) {
        /* a CANCEL is handled on the worker of the INVITE it cancels */
        struct sip_txn *inv = sip_txl_find_invite(txl, m);
        bool elsewhere = inv && inv->loop != rx->loop;
        if (elsewhere)
            repost(txl, inv->loop, rx);
        sip_txn_unref(inv);
        if (elsewhere)
            goto out;
    }
    if (m->method_id == SIP_METHOD_ACK) {
        /* ACK for a 2xx is its own transaction-less request (§17.1.1.3, §13.2.2.4) */
        if (txl->h.request)
            txl->h.request(txl->h.arg, NULL, rx);
        goto out;
    }
    if (atomic_load(&txl->count) >= txl->cfg.max_txns) {
        atomic_fetch_add(&txl->st.busy, 1);
        send_stateless_503(txl, rx);
        goto out;
    }
    if (sip_response_dest(rx, &d))
        goto out;
    t = txn_alloc(txl, rx->loop, invite ? SIP_TXN_INVITE_SERVER : SIP_TXN_NON_INVITE_SERVER, &d,
                  key.p);
    if (!t)
        goto out;
    t->state = invite ? SIP_TXN_PROCEEDING : SIP_TXN_TRYING;
    t->rfc2543 = !sip_branch_is_rfc3261(m->via.branch);
    if (invite)
        build_trying(t, m);
    if ((existing = table_insert(txl, t))) {
        /* the same request won a race on another worker: this copy is a retransmission */
        sip_txn_unref(t);
        if (existing->loop != rx->loop)
            repost(txl, existing->loop, rx);
        else
            server_retransmission(existing, rx);
        sip_txn_unref(existing);
        goto out;
    }
    atomic_fetch_add(&txl->st.server_created, 1);
    if (invite && sk_timer_start(t->loop, &t->t_trying, txl->cfg.trying_ms))
        txn_dispatch(t, EV_TIMER_FAILED, NULL); /* the 100 Trying goes now instead */
    if (txl->h.request && t->state != SIP_TXN_TERMINATED)
        txl->h.request(txl->h.arg, t, rx);
    sip_txn_unref(t); /* the table keeps its own reference */
out:
    sk_buf_free(&key);
}

/* The To tag of the response in t->msg (RFC 2543 ACK matching needs it). */
static void remember_to_tag(struct sip_txn *t)
{
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;

    if (!m)
        return;
    sip_msg_init(m);
    free(t->resp_to_tag);
    t->resp_to_tag = NULL;
    if (sip_msg_parse(m, t->msg.p, t->msg.len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) == 0 &&
        m->has_to && sk_str_isset(m->to.tag)) {
        t->resp_to_tag = malloc(m->to.tag.len + 1);
        if (t->resp_to_tag)
            sk_str_copy(t->resp_to_tag, m->to.tag.len + 1, m->to.tag);
    }
    sip_msg_release(m);
    free(m);
}

int sip_txn_respond(struct sip_txn *t, int status, const char *resp, size_t len)
{
    enum txn_event e = status < 200 ? EV_TU_1XX : status < 300 ? EV_TU_2XX : EV_TU_300_699;
    int err;

    /* the response must be one the machine takes in this state (no arrow: EINVAL) */
    if (!txn_arrow_of(t, e)->defined)
        return EINVAL;
    t->tu_responded = true;
    sk_timer_stop(t->loop, &t->t_trying);
    if (sk_buf_set_exact(&t->msg, resp, len))
        return ENOMEM;
    t->status = status;
    if (t->rfc2543 && t->kind == SIP_TXN_INVITE_SERVER && status >= 300)
        remember_to_tag(t);
    sip_txn_ref(t);
    if ((err = send_buf(t, &t->msg)))
        txn_dispatch(t, EV_TRANSPORT_ERROR, &(struct txn_ev){.err = err});
    else
        txn_dispatch(t, e, NULL);
    sip_txn_unref(t);
    return err;
}

struct sip_txn *sip_txl_find_invite(struct sip_txl *txl, struct sip_msg *cancel)
{
    struct sk_buf key;
    char key_mem[TXN_KEY_STACK]; /* a usual key fits: no heap per message */
    struct sip_txn *t = NULL;

    sk_buf_init_ext(&key, key_mem, sizeof(key_mem));
    if (cancel_target_key(cancel, &key) == 0)
        t = table_find(txl, key.p);
    sk_buf_free(&key);
    return t;
}

/* ---- Client side ---- */

int sip_txn_client_new_keyed(struct sip_txl *txl, struct sk_loop *loop, const char *req,
                             size_t len, struct sk_str branch, struct sk_str method,
                             const struct sip_dest *dst, const struct sip_txn_user *user,
                             void *arg, struct sip_txn **tp)
{
    struct sk_buf key;
    char key_mem[TXN_KEY_STACK]; /* a usual key fits: no heap per message */
    struct sip_txn *t = NULL, *dup;
    bool invite = sk_str_eq_cstr(method, "INVITE");
    int err;

    if (!sip_branch_is_rfc3261(branch) || sk_str_eq_cstr(method, "ACK"))
        return EINVAL;
    sk_buf_init_ext(&key, key_mem, sizeof(key_mem));
    if ((err = client_key(branch, method, &key)))
        goto out;
    err = ENOMEM;
    t = txn_alloc(txl, loop, invite ? SIP_TXN_INVITE_CLIENT : SIP_TXN_NON_INVITE_CLIENT, dst,
                  key.p);
    if (!t || sk_buf_set_exact(&t->msg, req, len))
        goto out;
    t->user = user;
    t->user_arg = arg;
    t->state = invite ? SIP_TXN_CALLING : SIP_TXN_TRYING;
    if ((dup = table_insert(txl, t))) {
        sip_txn_unref(dup);
        err = EEXIST;
        goto out;
    }
    atomic_fetch_add(&txl->st.client_created, 1);
    *tp = t; /* the allocation's reference becomes the caller's */
    txn_dispatch(t, EV_TU_REQUEST, NULL);
    err = 0;
out:
    if (err && t)
        sip_txn_unref(t);
    sk_buf_free(&key);
    return err;
}

int sip_txn_client_new(struct sip_txl *txl, struct sk_loop *loop, const char *req, size_t len,
                       const struct sip_dest *dst, const struct sip_txn_user *user, void *arg,
                       struct sip_txn **tp)
{
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;
    size_t used;
    int err;

    if (!m)
        return ENOMEM;
    sip_msg_init(m);
    /* The request is ours: it must parse, and its top Via carries our branch. */
    err = sip_msg_parse(m, req, len, SIP_PARSE_DATAGRAM, NULL, &used, &e);
    if (err || !m->is_request || !m->has_via)
        err = EINVAL;
    else
        err = sip_txn_client_new_keyed(txl, loop, req, len, m->via.branch, m->method, dst, user,
                                       arg, tp);
    sip_msg_release(m);
    free(m);
    return err;
}

/* The ACK for a non-2xx (§17.1.1.3) and the CANCEL (§9.1) share the INVITE's
 * Request-URI, top Via, Route, From, Call-ID and CSeq number. */
static void print_from_invite(struct sk_buf *b, const struct sip_msg *req, const char *method,
                              struct sk_str to, const char *extra)
{
    const struct sip_hdr *h;

    sk_buf_reset(b);
    sip_print_request_line(b, sk_str_cstr(method), req->ruri_raw);
    sk_buf_puts(b, "Via: ");
    sk_buf_put_str(b, req->via.raw);
    sk_buf_puts(b, "\r\n");
    for (h = sip_msg_hdr(req, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(req, h))
        sip_print_hdr(b, SIP_HDR_ROUTE, h->value);
    if ((h = sip_msg_hdr(req, SIP_HDR_FROM)))
        sip_print_hdr(b, SIP_HDR_FROM, h->value);
    sip_print_hdr(b, SIP_HDR_TO, to);
    sip_print_hdr(b, SIP_HDR_CALL_ID, req->call_id);
    sk_buf_printf(b, "CSeq: %u %s\r\n", req->cseq.num, method);
    sk_buf_puts(b, "Max-Forwards: 70\r\n");
    if (extra)
        sk_buf_puts(b, extra);
    sip_print_body(b, SK_STR_NULL, SK_STR_NULL);
}

static struct sip_msg *parse_own_request(const struct sip_txn *t)
{
    struct sip_msg *req = malloc(sizeof(*req));
    struct sip_error e;

    if (!req)
        return NULL;
    sip_msg_init(req);
    if (sip_msg_parse(req, t->msg.p, t->msg.len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) == 0)
        return req;
    sip_msg_release(req);
    free(req);
    return NULL;
}

/* §17.1.1.3: the ACK for a non-2xx final response, built from the request. */
static void build_ack(struct sip_txn *t, const struct sip_msg *resp)
{
    struct sip_msg *req = parse_own_request(t);
    const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);

    if (!req)
        return;
    if (to)
        print_from_invite(&t->ack, req, "ACK", to->value, NULL);
    sip_msg_release(req);
    free(req);
}

/* §9.1: CANCEL as a non-INVITE client transaction of its own (same branch as the
 * INVITE, CSeq method CANCEL). If no final response comes within 64*T1 after
 * it, the INVITE is given up: its user hears 408 (§9.1, §16.10). */
static void send_cancel(struct sip_txn *t)
{
    struct sip_msg *req = parse_own_request(t);
    struct sip_txn *ct = NULL;
    struct sk_buf b;
    const struct sip_hdr *to;

    t->cancel_pending = false;
    t->cancelled = true;
    /* the guard runs even if the CANCEL could not be built (out of memory) */
    timer_start(t, &t->t_timeout, t64(t));
    if (!req)
        return;
    sk_buf_init(&b);
    if ((to = sip_msg_hdr(req, SIP_HDR_TO))) {
        print_from_invite(&b, req, "CANCEL", to->value, t->cancel_extra);
        if (!b.failed &&
            sip_txn_client_new(t->txl, t->loop, b.p, b.len, &t->dest, NULL, NULL, &ct) == 0)
            sip_txn_unref(ct);
    }
    sk_buf_free(&b);
    sip_msg_release(req);
    free(req);
}

int sip_txn_cancel(struct sip_txn *t, const char *extra)
{
    if (t->kind != SIP_TXN_INVITE_CLIENT)
        return EINVAL;
    if (!txn_arrow_of(t, EV_TU_CANCEL)->defined)
        return EALREADY; /* a final response came already */
    if (t->cancelled || t->cancel_pending)
        return 0;
    if (extra && !t->cancel_extra) {
        t->cancel_extra = strdup(extra);
        if (!t->cancel_extra)
            return ENOMEM;
    }
    txn_dispatch(t, EV_TU_CANCEL, NULL);
    return 0;
}

bool sip_txn_cancel_requested(const struct sip_txn *t)
{
    return t->cancelled || t->cancel_pending;
}

int sip_txn_client_timeout(struct sip_txn *t)
{
    if (t->kind != SIP_TXN_INVITE_CLIENT && t->kind != SIP_TXN_NON_INVITE_CLIENT)
        return EINVAL;
    if (!txn_arrow_of(t, EV_TU_TIMEOUT)->defined)
        return EALREADY;
    txn_dispatch(t, EV_TU_TIMEOUT, NULL);
    return 0;
}

static void client_response(struct sip_txn *t, struct sip_rx *rx)
{
    int status = rx->msg->status;
    enum txn_event e = status < 200 ? EV_RX_1XX : status < 300 ? EV_RX_2XX : EV_RX_300_699;

    txn_dispatch(t, e, &(struct txn_ev){.rx = rx});
}

static void receive_response(struct sip_txl *txl, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct sk_buf key;
    char key_mem[TXN_KEY_STACK]; /* a usual key fits: no heap per message */
    struct sip_txn *t = NULL;

    sk_buf_init_ext(&key, key_mem, sizeof(key_mem));
    {
        struct sip_txn_key tk;
        if (sip_txn_key_client(m, &tk) == 0 && sip_txn_key_print(&tk, &key) == 0)
            t = table_find(txl, key.p);
    }
    sk_buf_free(&key);
    if (!t) {
        atomic_fetch_add(&txl->st.stray, 1);
        if (txl->h.stray_response)
            txl->h.stray_response(txl->h.arg, rx);
        return;
    }
    if (t->loop != rx->loop)
        repost(txl, t->loop, rx);
    else
        client_response(t, rx);
    sip_txn_unref(t);
}

void sip_txl_receive(struct sip_txl *txl, struct sip_rx *rx)
{
    if (rx->msg->is_request)
        receive_request(txl, rx);
    else
        receive_response(txl, rx);
}

/* ---- Accessors ---- */

enum sip_txn_kind sip_txn_kind(const struct sip_txn *t) { return t->kind; }
enum sip_txn_state sip_txn_state(const struct sip_txn *t) { return t->state; }
int sip_txn_status(const struct sip_txn *t) { return t->status; }
const struct sip_dest *sip_txn_dest(const struct sip_txn *t) { return &t->dest; }
struct sk_loop *sip_txn_loop(const struct sip_txn *t) { return t->loop; }
void sip_txn_set_data(struct sip_txn *t, void *data) { t->data = data; }
void *sip_txn_data(const struct sip_txn *t) { return t->data; }
