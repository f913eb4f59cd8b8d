/* The transaction user's handler chain: handlers in order, each consumes a message or
 * passes it on. */
#include "sip/tu.h"

#include <errno.h>
#include <string.h>

void sip_tu_init(struct sip_tu *tu)
{
    memset(tu, 0, sizeof(*tu));
}

static int index_of(const struct sip_tu *tu, const char *name)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (strcmp(tu->h[i].name, name) == 0) return (int) i;
    }
    return -1;
}

int sip_tu_add(struct sip_tu *tu, const struct sip_tu_handler *h, const char *before)
{
    int at = (int) tu->n;

    if (!h->name ||
        (!h->stateless && !h->request && !h->ack && !h->response && !h->server_failed))
        return EINVAL;
    if (before && (at = index_of(tu, before)) < 0) return EINVAL;
    if (tu->n >= SIP_TU_MAX_HANDLERS) return ENOSPC;
    memmove(&tu->h[at + 1], &tu->h[at], (tu->n - (unsigned) at) * sizeof(tu->h[0]));
    tu->h[at] = *h;
    tu->n++;
    return 0;
}

const struct sip_tu_handler *sip_tu_find(const struct sip_tu *tu, const char *name)
{
    int i = index_of(tu, name);
    return i < 0 ? NULL : &tu->h[i];
}

bool sip_tu_stateless(const struct sip_tu *tu, const struct sip_rx *rx)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (tu->h[i].stateless && tu->h[i].stateless(tu->h[i].arg, rx)) return true;
    }
    return false;
}

const struct sip_tu_handler *sip_tu_request(const struct sip_tu *tu,
                                            struct sip_tu_req *req)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (tu->h[i].request && tu->h[i].request(tu->h[i].arg, req) == SIP_TU_HANDLED)
            return &tu->h[i];
    }
    return NULL;
}

const struct sip_tu_handler *sip_tu_ack(const struct sip_tu *tu, struct sip_rx *rx)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (tu->h[i].ack && tu->h[i].ack(tu->h[i].arg, rx) == SIP_TU_HANDLED)
            return &tu->h[i];
    }
    return NULL;
}

const struct sip_tu_handler *sip_tu_response(const struct sip_tu *tu, struct sip_rx *rx)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (tu->h[i].response && tu->h[i].response(tu->h[i].arg, rx) == SIP_TU_HANDLED)
            return &tu->h[i];
    }
    return NULL;
}

void sip_tu_server_failed(const struct sip_tu *tu, struct sip_txn *st, int err)
{
    for (unsigned i = 0; i < tu->n; i++) {
        if (tu->h[i].server_failed) tu->h[i].server_failed(tu->h[i].arg, st, err);
    }
}
