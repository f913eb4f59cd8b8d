/* libFuzzer target: net/ws handshakes and frames, fed whole, bytewise and in pieces. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: byte 0 picks the mode (bits 0-1) and the Origin allow-list (bit 2),
 * byte 1 seeds the random split, the rest is what the peer sends:
 *   0 server, the peer's bytes from the Upgrade request on
 *   1 server, after a valid request (the bytes are frames)
 *   2 client with §1.3's key, the bytes from the server's response on
 *   3 client, after a valid 101 (the bytes are frames) */
enum { SERVER_RAW, SERVER_OPEN, CLIENT_RAW, CLIENT_OPEN };

static const char REQUEST[] =
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
    "Origin: https://ok.example\r\n\r\n";
static const char RESPONSE[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: sip\r\n\r\n";

/* What one run saw, folded into a hash so that runs can be compared. */
struct run {
    uint64_t events; /* kinds, lengths, codes, statuses, payloads */
    uint64_t out;    /* server: the output bytes; client (random masks): their count */
    size_t nevents;
    bool opened, closed;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull;
}

static uint64_t mix_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = mix(h, p[i]);
    return h;
}

static void drain(struct sk_ws *w, bool server, struct run *r)
{
    size_t len;
    const uint8_t *p = sk_ws_output(w, &len);

    if (!len) return;
    touch(p, len);
    if (server)
        r->out = mix_bytes(r->out, p, len);
    else
        r->out += len;
    sk_ws_output_done(w, len);
}

static void on_event(struct sk_ws *w, const struct sk_ws_config *cfg, bool server,
                     const struct sk_ws_event *ev, struct run *r)
{
    CHECK(!r->closed, "an event after CLOSED");
    r->nevents++;
    r->events = mix(mix(mix(r->events, ev->kind), ev->len), ev->code);
    r->events = mix(r->events, (uint64_t) ev->http_status);
    switch (ev->kind) {
    case SK_WS_EV_OPEN:
        CHECK(!r->opened, "OPEN twice");
        CHECK(sk_ws_state(w) == SK_WS_OPEN, "OPEN but not in SK_WS_OPEN");
        r->opened = true;
        if (server) {
            struct sk_str s = sk_ws_request_path(w);

            touch(s.p, s.len);
            s = sk_ws_request_host(w);
            CHECK(s.len > 0, "open without a Host");
            touch(s.p, s.len);
            s = sk_ws_request_origin(w);
            if (cfg->origins) CHECK(s.len > 0, "open without the allowed Origin");
            touch(s.p, s.len);
        }
        break;
    case SK_WS_EV_MESSAGE:
        CHECK(r->opened, "a message before OPEN");
        CHECK(ev->len <= cfg->max_message, "a message over max_message");
        CHECK(!ev->text || sk_ws_utf8_valid(ev->data, ev->len),
              "a text message not UTF-8");
        touch(ev->data, ev->len);
        r->events = mix(mix_bytes(r->events, ev->data, ev->len), ev->text);
        /* echo it: the encoder (and a client's masking) on fuzzed payloads */
        if (sk_ws_state(w) == SK_WS_OPEN)
            CHECK(sk_ws_send(w, ev->text, ev->data, ev->len) == 0, "echo failed");
        break;
    case SK_WS_EV_CLOSED:
        CHECK(ev->why != NULL, "CLOSED without a reason");
        touch(ev->why, strlen(ev->why));
        CHECK(sk_ws_state(w) == SK_WS_CLOSED, "CLOSED event but not in SK_WS_CLOSED");
        if (ev->code)
            CHECK(sk_ws_close_code_valid(ev->code) || ev->code == 1005,
                  "CLOSED with a code no one may send");
        touch(ev->data, ev->len);
        r->closed = true;
        break;
    default: CHECK(0, "an unknown event");
    }
}

/* Feed p in pieces: 0 whole, 1 byte by byte, else pseudo-random sizes from seed. */
static void feed(struct sk_ws *w, const struct sk_ws_config *cfg, bool server,
                 const uint8_t *p, size_t len, int how, uint32_t seed, struct run *r)
{
    size_t at = 0;

    while (at < len) {
        size_t n = len - at, off = 0;
        uint8_t *piece;

        if (how == 1) {
            n = 1;
        } else if (how == 2) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 40;
            if (n > len - at) n = len - at;
        }
        piece = dup_exact(p + at, n);
        while (off < n) {
            struct sk_ws_event ev;
            size_t used = sk_ws_input(w, piece + off, n - off, &ev);

            CHECK(used <= n - off, "consumed more than given");
            if (ev.kind == SK_WS_EV_NONE) {
                CHECK(used == n - off, "NONE without consuming everything");
            } else {
                CHECK(used > 0, "an event from no bytes");
                on_event(w, cfg, server, &ev, r);
            }
            off += used;
            drain(w, server, r);
        }
        free(piece);
        at += n;
    }
}

static void run_one(int mode, bool origins, const uint8_t *p, size_t len, int how,
                    uint32_t seed, struct run *r)
{
    static const char *const allow[] = {"https://ok.example", NULL};
    struct sk_ws_config cfg = {.max_handshake = 2048,
                               .max_headers = 16,
                               .max_frame = 1024,
                               .max_message = 4096,
                               .host = "h",
                               .key = "dGhlIHNhbXBsZSBub25jZQ=="};
    bool server = mode == SERVER_RAW || mode == SERVER_OPEN;
    struct sk_ws *w = NULL;

    if (origins) cfg.origins = allow;
    memset(r, 0, sizeof(*r));
    r->events = r->out = 0xcbf29ce484222325ull;
    CHECK(sk_ws_new(&w, server ? SK_WS_SERVER : SK_WS_CLIENT, &cfg) == 0,
          "sk_ws_new failed");
    drain(w, server, r);
    if (mode == SERVER_OPEN)
        feed(w, &cfg, server, (const uint8_t *) REQUEST, sizeof(REQUEST) - 1, 0, 0, r);
    else if (mode == CLIENT_OPEN)
        feed(w, &cfg, server, (const uint8_t *) RESPONSE, sizeof(RESPONSE) - 1, 0, 0, r);
    if (mode == SERVER_OPEN || mode == CLIENT_OPEN)
        CHECK(r->opened, "the fixed handshake did not open");
    feed(w, &cfg, server, p, len, how, seed, r);
    /* a ping and a close still encode (or are refused) in any state */
    {
        int rc = sk_ws_ping(w, p, len > 125 ? 125 : len);

        CHECK(rc == 0 || rc == ENOTCONN || rc == EPIPE, "ping: unexpected error");
        rc = sk_ws_close(w, 1000, "bye");
        CHECK(rc == 0 || rc == EPIPE, "close: unexpected error");
        CHECK(sk_ws_state(w) >= SK_WS_CLOSING, "not closing after sk_ws_close");
    }
    drain(w, server, r);
    sk_ws_free(w);
}

/* The pure header decoder on the raw input. */
static void check_frame_parse(const uint8_t *p, size_t n)
{
    struct sk_ws_frame f;
    const char *why = NULL;
    uint8_t *c = dup_exact(p, n);
    int rc = sk_ws_frame_parse(c, n, &f, &why);

    CHECK(rc == 0 || rc == EAGAIN || rc == EBADMSG, "frame_parse: unexpected result");
    CHECK(rc != EAGAIN || n < SK_WS_MAX_HEADER, "EAGAIN with a whole header's bytes");
    if (rc == EBADMSG) CHECK(why != NULL, "EBADMSG without why");
    if (rc == 0) {
        uint8_t out[SK_WS_MAX_HEADER];
        size_t h;

        CHECK(f.hdr_len >= 2 && f.hdr_len <= n && f.hdr_len <= SK_WS_MAX_HEADER,
              "frame_parse: header length out of range");
        CHECK(f.payload_len >> 63 == 0, "payload length with the top bit");
        h = sk_ws_frame_header_write(out, f.fin, f.opcode, f.masked ? f.mask : NULL,
                                     f.payload_len);
        /* the encoder writes the shortest form; a decoder fed it reads the same */
        CHECK(h <= f.hdr_len, "the encoder wrote a longer header than the input's");
        {
            struct sk_ws_frame g;

            CHECK(sk_ws_frame_parse(out, h, &g, &why) == 0,
                  "a written header does not parse");
            CHECK(g.hdr_len == h && g.fin == f.fin && g.opcode == f.opcode &&
                      g.masked == f.masked && g.payload_len == f.payload_len &&
                      (!f.masked || memcmp(g.mask, f.mask, 4) == 0),
                  "a written header parses differently");
        }
    }
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run a, b, c;
    int mode;
    bool origins;
    uint32_t seed;

    check_frame_parse(data, size);
    if (size < 2) return 0;
    mode = data[0] & 3;
    origins = (data[0] & 4) != 0;
    seed = data[1];
    data += 2;
    size -= 2;
    run_one(mode, origins, data, size, 0, seed, &a);
    run_one(mode, origins, data, size, 1, seed, &b);
    run_one(mode, origins, data, size, 2, seed, &c);
    CHECK(a.nevents == b.nevents && a.nevents == c.nevents,
          "the split of the input changed the number of events");
    CHECK(a.events == b.events && a.events == c.events,
          "the split of the input changed the events");
    CHECK(a.out == b.out && a.out == c.out, "the split of the input changed the output");
    return 0;
}
