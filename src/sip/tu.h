/* The transaction user (RFC 3261 §17): an ordered chain of handlers that receive what the
 * transaction layer passes up. */
#ifndef SIP_TU_H
#define SIP_TU_H

#include <stdbool.h>

/* Handlers one chain holds: a server has about eight. */
#define SIP_TU_MAX_HANDLERS 16

struct sip_txn;
struct sip_rx;

/* What a handler did with a message: consumed it (it answered, forwarded or
 * absorbed it; the chain stops), or left it to the handlers after it. */
enum sip_tu_result {
    SIP_TU_PASS = 0,
    SIP_TU_HANDLED,
};

/* One request on its way down the chain. A user of the chain that needs to hand
 * handlers more (what an earlier handler worked out about the request, e.g. its
 * Route set) embeds this as the first member of its own request struct. */
struct sip_tu_req {
    struct sip_txn *st; /* its server transaction; NULL when answered statelessly */
    struct sip_rx *rx;
};

/* A handler: any hook may be NULL (the handler takes no part in that event). */
struct sip_tu_handler {
    const char *name; /* for logs and tests: "sanity", "registrar", ... */
    /* Asked before the transaction layer: true when this handler answers rx
     * without a server transaction (§8.2.7 stateless UAS); then every handler's
     * request hook runs with st NULL. The first that says true decides. */
    bool (*stateless)(void *arg, const struct sip_rx *rx);
    /* A new request (through a server transaction or statelessly). */
    enum sip_tu_result (*request)(void *arg, struct sip_tu_req *req);
    /* An ACK that matched no transaction (for a 2xx, §13.2.2.4; or RFC 6026 Accepted). */
    enum sip_tu_result (*ack)(void *arg, struct sip_rx *rx);
    /* A response that matched no client transaction (§17.1.3, §16.7). */
    enum sip_tu_result (*response)(void *arg, struct sip_rx *rx);
    /* A server transaction ended without a final response from us (transport
     * error, Timer H, the layer freed). Every handler with this hook hears it. */
    void (*server_failed)(void *arg, struct sip_txn *st, int err);
    void *arg;
};

struct sip_tu {
    struct sip_tu_handler h[SIP_TU_MAX_HANDLERS];
    unsigned n;
};

/* An empty chain. */
void sip_tu_init(struct sip_tu *tu);
/* Adds a copy of h before the handler named before, or at the end (before NULL).
 * EINVAL: no name, no hook, or no handler named before; ENOSPC: chain full. */
int sip_tu_add(struct sip_tu *tu, const struct sip_tu_handler *h, const char *before);
/* The handler named name, or NULL. */
const struct sip_tu_handler *sip_tu_find(const struct sip_tu *tu, const char *name);

/* Does a handler answer rx without a transaction? */
bool sip_tu_stateless(const struct sip_tu *tu, const struct sip_rx *rx);
/* Run the chain; each return the handler that consumed the message, or NULL
 * when every one passed (a request nobody answered, an ACK or response dropped). */
const struct sip_tu_handler *sip_tu_request(const struct sip_tu *tu,
                                            struct sip_tu_req *req);
const struct sip_tu_handler *sip_tu_ack(const struct sip_tu *tu, struct sip_rx *rx);
const struct sip_tu_handler *sip_tu_response(const struct sip_tu *tu, struct sip_rx *rx);
/* Tell every handler that has the hook. */
void sip_tu_server_failed(const struct sip_tu *tu, struct sip_txn *st, int err);

#endif
