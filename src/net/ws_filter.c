/* WebSocket as a stream filter: the Upgrade handshake, frames in and out, close
 * codes; each message goes up as one length-prefixed unit. Server side only: sipkit
 * accepts WebSocket clients (browsers) and never connects to one. */
#include "net/ws_filter.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"

struct ws_state {
    struct sk_ws *ws;
    struct sk_conn *conn;
    bool open;
};

static int drain(struct ws_state *s, struct sk_buf *wire)
{
    size_t n;
    const uint8_t *p = sk_ws_output(s->ws, &n);

    if (p && n) {
        if (sk_buf_append(wire, p, n)) return ENOMEM;
        sk_ws_output_done(s->ws, n);
    }
    return 0;
}

static int wf_open(void **state, void *arg, struct sk_conn *c, bool server,
                   const char *peer_name, struct sk_buf *wire)
{
    const struct sk_ws_filter_arg *a = arg;
    struct ws_state *s;
    int err;

    (void) peer_name;
    (void) wire;
    if (!server) return EPROTONOSUPPORT; /* we never connect to a WebSocket server */
    if (!(s = calloc(1, sizeof(*s)))) return ENOMEM;
    if ((err = sk_ws_new(&s->ws, SK_WS_SERVER, &a->ws))) {
        free(s);
        return err;
    }
    s->conn = c;
    *state = s;
    return 0;
}

static int unit(struct sk_buf *plain, const uint8_t *p, size_t len)
{
    uint8_t h[SK_WS_UNIT_HEADER] = {(uint8_t) (len >> 24), (uint8_t) (len >> 16),
                                    (uint8_t) (len >> 8), (uint8_t) len};

    if (sk_buf_append(plain, h, sizeof(h)) || sk_buf_append(plain, p, len)) return ENOMEM;
    return 0;
}

static int wf_input(void *state, const char *in, size_t len, struct sk_buf *plain,
                    struct sk_buf *wire)
{
    struct ws_state *s = state;
    const uint8_t *p = (const uint8_t *) in;
    char peer[80];
    int err;

    while (len) {
        struct sk_ws_event ev;
        size_t used = sk_ws_input(s->ws, p, len, &ev);
        p += used;
        len -= used;
        if ((err = drain(s, wire))) return err;
        switch (ev.kind) {
        case SK_WS_EV_OPEN:
            s->open = true;
            SK_DEBUG("ws from %s: open", sk_sa_str(&s->conn->peer, peer, sizeof(peer)));
            break;
        case SK_WS_EV_MESSAGE:
            /* RFC 7118 §5: one SIP message per WebSocket message, text or binary */
            if (ev.len && (err = unit(plain, ev.data, ev.len))) return err;
            break;
        case SK_WS_EV_CLOSED:
            SK_INFO("ws from %s: closed (%u%s%s%s)",
                    sk_sa_str(&s->conn->peer, peer, sizeof(peer)), ev.code,
                    ev.http_status ? ", HTTP " : "", ev.http_status ? "error" : "",
                    ev.why ? "" : "");
            if (ev.why) SK_DEBUG("ws close reason: %s", ev.why);
            return EPIPE; /* the close frame or HTTP answer goes out, then we close */
        case SK_WS_EV_NONE: break;
        }
        if (used == 0 && ev.kind == SK_WS_EV_NONE) break;
    }
    return 0;
}

static int wf_output(void *state, const char *in, size_t len, struct sk_buf *wire)
{
    struct ws_state *s = state;
    int err;

    /* RFC 7118 §5: SIP goes as text frames (it is UTF-8 in practice; a peer must
     * accept either) */
    if ((err = sk_ws_send(s->ws, true, in, len))) return err;
    return drain(s, wire);
}

static void wf_close(void *state)
{
    struct ws_state *s = state;

    sk_ws_free(s->ws);
    free(s);
}

static bool wf_ready(void *state)
{
    const struct ws_state *s = state;
    return sk_ws_state(s->ws) != SK_WS_HANDSHAKE;
}

const struct sk_stream_filter sk_ws_filter = {
    .name = "ws",
    .open = wf_open,
    .input = wf_input,
    .output = wf_output,
    .close = wf_close,
    .ready = wf_ready,
};
