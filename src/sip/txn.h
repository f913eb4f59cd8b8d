/* The RFC 3261 §17 transaction layer with RFC 6026: four state machines, matching, timers. */
#ifndef SIP_TXN_H
#define SIP_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "net/loop.h"
#include "sip/msg.h"
#include "sip/tp.h"

enum sip_txn_kind {
    SIP_TXN_INVITE_CLIENT,
    SIP_TXN_NON_INVITE_CLIENT,
    SIP_TXN_INVITE_SERVER,
    SIP_TXN_NON_INVITE_SERVER,
};

enum sip_txn_state {
    SIP_TXN_CALLING,
    SIP_TXN_TRYING,
    SIP_TXN_PROCEEDING,
    SIP_TXN_COMPLETED,
    SIP_TXN_CONFIRMED,
    SIP_TXN_ACCEPTED, /* RFC 6026 */
    SIP_TXN_TERMINATED,
};

const char *sip_txn_state_name(enum sip_txn_state s);

struct sip_txn_config {
    uint32_t t1_ms;        /* RTT estimate, 500 */
    uint32_t t2_ms;        /* max non-INVITE / response retransmit interval, 4000 */
    uint32_t t4_ms;        /* max time a message stays in the network, 5000 */
    uint32_t trying_ms;    /* INVITE server: send 100 if the TU is silent this long, 200 */
    size_t buckets;        /* hash table size (power of two), 16384 */
    size_t max_txns;       /* refuse new transactions beyond this, 200000 */
};

extern const struct sip_txn_config sip_txn_config_default;

struct sip_txn;
struct sip_txl;

/* The user of one client transaction. */
struct sip_txn_user {
    /* A response, or rx NULL and status 408 (Timer B/F, sip_txn_client_timeout) /
     * 503 (transport error, or a timer of the transaction could not start). */
    void (*response)(struct sip_txn *t, void *arg, struct sip_rx *rx, int status);
    /* The transaction is over; no callback follows. May be NULL. */
    void (*terminated)(struct sip_txn *t, void *arg);
};

/* The user of the layer: receives new requests and stray responses. */
struct sip_txl_handler {
    /* A request that started a server transaction st; st is NULL for an ACK that
     * matched none (ACK for 2xx) or one in the RFC 6026 Accepted state. */
    void (*request)(void *arg, struct sip_txn *st, struct sip_rx *rx);
    /* A response that matched no client transaction (e.g. a 2xx retransmission
     * after the transaction ended). */
    void (*stray_response)(void *arg, struct sip_rx *rx);
    /* A server transaction ended without the TU's doing (Timer H: no ACK,
     * ETIMEDOUT; a transport error; ENOMEM when Timer G/H could not start).
     * May be NULL. */
    void (*server_failed)(void *arg, struct sip_txn *st, int err);
    void *arg;
};

struct sip_txl_stats {
    uint64_t server_created, client_created, retransmissions_absorbed, retransmits_sent,
        timeouts, transport_errors, stray_responses, dropped_busy;
};

int sip_txl_new(struct sip_txl **txlp, const struct sip_txn_config *cfg,
                const struct sip_sender *sender, const struct sip_txl_handler *h);
/* Terminates every transaction still alive and frees the layer: client
 * transactions' users get terminated(), server transactions with TU data get
 * server_failed(ECANCELED); no other callback runs. */
void sip_txl_free(struct sip_txl *txl);
size_t sip_txl_count(struct sip_txl *txl);
void sip_txl_stats(struct sip_txl *txl, struct sip_txl_stats *out);

/* Hand a parsed, validated message to the layer (on the worker rx->loop).
 * Requests are matched (§17.2.3) or start a server transaction; responses are
 * matched (§17.1.3) to client transactions. */
void sip_txl_receive(struct sip_txl *txl, struct sip_rx *rx);

/* ---- Client transactions ----
 * req is the complete request with our Via on top (branch with the magic cookie);
 * it is copied. The first transmission happens here; an immediate transport
 * error, or a Timer A/B/E/F that cannot start, is reported through
 * user->response (503, then terminated) before this returns 0. */
int sip_txn_client_new(struct sip_txl *txl, struct sk_loop *loop, const char *req, size_t len,
                       const struct sip_dest *dst, const struct sip_txn_user *user, void *arg,
                       struct sip_txn **tp);

/* The same for a request the caller has just built and whose transaction key it
 * knows (§17.1.3: the top Via branch and the method), so the request is not
 * parsed again. EINVAL for a branch without the magic cookie or an ACK. */
int sip_txn_client_new_keyed(struct sip_txl *txl, struct sk_loop *loop, const char *req,
                             size_t len, struct sk_str branch, struct sk_str method,
                             const struct sip_dest *dst, const struct sip_txn_user *user,
                             void *arg, struct sip_txn **tp);

/* §9.1 CANCEL of an INVITE client transaction (on its loop's thread): sent now
 * if a provisional response came, else with the first one. extra: header lines
 * to add (e.g. "Reason: ...\r\n"), or NULL. If no final response follows within
 * 64*T1, the user hears 408 and the transaction ends. EALREADY after a final. */
int sip_txn_cancel(struct sip_txn *t, const char *extra);
/* A CANCEL was asked for (sent, or waiting for the first provisional). */
bool sip_txn_cancel_requested(const struct sip_txn *t);
/* A timer of the TU's own for this client transaction ran out: before a final
 * response, the user hears 408 as for Timer B/F and the transaction ends, with
 * nothing sent (an INVITE that had a provisional should be cancelled instead).
 * EALREADY after a final response. */
int sip_txn_client_timeout(struct sip_txn *t);

/* ---- Server transactions ----
 * Send a response (complete message bytes, copied). Status drives the state machine. */
int sip_txn_respond(struct sip_txn *t, int status, const char *resp, size_t len);
/* The INVITE server transaction a CANCEL refers to (§9.2), with a reference, or NULL. */
struct sip_txn *sip_txl_find_invite(struct sip_txl *txl, struct sip_msg *cancel);

/* ---- Common ---- */
void sip_txn_ref(struct sip_txn *t);
void sip_txn_unref(struct sip_txn *t);
enum sip_txn_kind sip_txn_kind(const struct sip_txn *t);
enum sip_txn_state sip_txn_state(const struct sip_txn *t);
/* Last response status sent (server) or received (client); 0 if none. */
int sip_txn_status(const struct sip_txn *t);
/* Where responses go (server) or requests go (client). */
const struct sip_dest *sip_txn_dest(const struct sip_txn *t);
struct sk_loop *sip_txn_loop(const struct sip_txn *t);
/* TU-private pointer (the TU's state for this transaction). */
void sip_txn_set_data(struct sip_txn *t, void *data);
void *sip_txn_data(const struct sip_txn *t);

#endif
