/* Two stream filters stacked: bytes from the socket go through the lower filter,
 * then the upper; bytes from above through the upper, then the lower. What the upper
 * filter answers by itself (a WebSocket pong, its 101) goes through the lower one. */
#include "net/filter_chain.h"

#include <errno.h>
#include <stdlib.h>

struct chain_state {
    const struct sk_filter_chain_arg *a;
    void *lower, *upper;
    struct sk_buf mid; /* between the two: plaintext of the lower, wire of the upper */
    struct sk_buf up_wire;
};

static int ch_open(void **state, void *arg, struct sk_conn *c, bool server,
                   const char *peer_name, struct sk_buf *wire)
{
    const struct sk_filter_chain_arg *a = arg;
    struct chain_state *s = calloc(1, sizeof(*s));
    int err;

    if (!s) return ENOMEM;
    s->a = a;
    sk_buf_init(&s->mid);
    sk_buf_init(&s->up_wire);
    if ((err = a->lower->open(&s->lower, a->lower_arg, c, server, peer_name, wire)))
        goto fail;
    if ((err = a->upper->open(&s->upper, a->upper_arg, c, server, peer_name,
                              &s->up_wire))) {
        a->lower->close(s->lower);
        goto fail;
    }
    /* the upper filter's first words (a client's Upgrade) go through the lower */
    if (s->up_wire.len &&
        (err = a->lower->output(s->lower, s->up_wire.p, s->up_wire.len, wire))) {
        a->upper->close(s->upper);
        a->lower->close(s->lower);
        goto fail;
    }
    sk_buf_reset(&s->up_wire);
    *state = s;
    return 0;
fail:
    sk_buf_free(&s->mid);
    sk_buf_free(&s->up_wire);
    free(s);
    return err;
}

static int ch_input(void *state, const char *in, size_t len, struct sk_buf *plain,
                    struct sk_buf *wire)
{
    struct chain_state *s = state;
    int err, uerr = 0;

    err = s->a->lower->input(s->lower, in, len, &s->mid, wire);
    if (err && err != EPIPE) return err;
    if (s->mid.len) {
        uerr = s->a->upper->input(s->upper, s->mid.p, s->mid.len, plain, &s->up_wire);
        sk_buf_reset(&s->mid);
        if (uerr && uerr != EPIPE) return uerr;
    }
    if (s->up_wire.len) {
        int oerr = s->a->lower->output(s->lower, s->up_wire.p, s->up_wire.len, wire);
        sk_buf_reset(&s->up_wire);
        if (oerr) return oerr;
    }
    return err ? err : uerr;
}

static int ch_output(void *state, const char *in, size_t len, struct sk_buf *wire)
{
    struct chain_state *s = state;
    int err;

    if ((err = s->a->upper->output(s->upper, in, len, &s->up_wire))) return err;
    err = s->a->lower->output(s->lower, s->up_wire.p, s->up_wire.len, wire);
    sk_buf_reset(&s->up_wire);
    return err;
}

static void ch_close(void *state)
{
    struct chain_state *s = state;

    s->a->upper->close(s->upper);
    s->a->lower->close(s->lower);
    sk_buf_free(&s->mid);
    sk_buf_free(&s->up_wire);
    free(s);
}

static bool ch_ready(void *state)
{
    const struct chain_state *s = state;
    bool lo = !s->a->lower->ready || s->a->lower->ready(s->lower);
    bool up = !s->a->upper->ready || s->a->upper->ready(s->upper);
    return lo && up;
}

const struct sk_stream_filter sk_filter_chain = {
    .name = "chain",
    .open = ch_open,
    .input = ch_input,
    .output = ch_output,
    .close = ch_close,
    .ready = ch_ready,
};
