/* Tests of net/ws: RFC 6455 §1.3 and §5.7 examples, the server's handshake checks, every
 * close path, byte-by-byte and split feeding, limits, and a client/server round trip. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "net/ws.h"

/* §1.3's example key, offered with the sip subprotocol (RFC 7118 §4). */
#define REQ_HEAD                                                                         \
    "GET /chat HTTP/1.1\r\n"                                                             \
    "Host: server.example.com\r\n"                                                       \
    "Upgrade: websocket\r\n"                                                             \
    "Connection: Upgrade\r\n"                                                            \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                    \
    "Origin: http://example.com\r\n"                                                     \
    "Sec-WebSocket-Protocol: sip\r\n"                                                    \
    "Sec-WebSocket-Version: 13\r\n"
#define REQ REQ_HEAD "\r\n"

static const char ACCEPT_101[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                 "Sec-WebSocket-Protocol: sip\r\n\r\n";

/* ------------------------------------------------------------------ helpers */

#define MAXEV 64

struct rec {
    enum sk_ws_event_kind kind;
    bool text;
    unsigned code;
    int http_status;
    const char *why;
    size_t len;
    uint8_t data[256]; /* the first bytes of a message or close reason */
};

struct log {
    struct rec ev[MAXEV];
    size_t n;
};

static void record(struct log *lg, const struct sk_ws_event *ev)
{
    struct rec *r;

    assert_true(lg->n < MAXEV);
    r = &lg->ev[lg->n++];
    r->kind = ev->kind;
    r->text = ev->text;
    r->code = ev->code;
    r->http_status = ev->http_status;
    r->why = ev->why;
    r->len = ev->len;
    if (ev->len)
        memcpy(r->data, ev->data, ev->len < sizeof(r->data) ? ev->len : sizeof(r->data));
    if (ev->kind == SK_WS_EV_CLOSED) assert_non_null(ev->why);
}

/* Feed p in pieces of `chunk` bytes (0: all at once; SIZE_MAX: pseudo-random
 * pieces from seed), each piece copied to a guard buffer so an over-read faults. */
static void feed(struct sk_ws *w, const void *p, size_t len, size_t chunk, uint32_t seed,
                 struct log *lg)
{
    const uint8_t *b = p;
    size_t at = 0;

    while (at < len) {
        size_t n = len - at, off = 0;
        struct tu_guard g;
        const uint8_t *piece;

        if (chunk == SIZE_MAX) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % 23;
            if (n > len - at) n = len - at;
        } else if (chunk && chunk < n) {
            n = chunk;
        }
        piece = (const uint8_t *) tu_guard_copy(&g, b + at, n);
        while (off < n) {
            struct sk_ws_event ev;
            size_t used = sk_ws_input(w, piece + off, n - off, &ev);

            assert_true(used <= n - off);
            if (ev.kind != SK_WS_EV_NONE)
                record(lg, &ev);
            else
                assert_int_equal(used, n - off); /* NONE: all consumed */
            off += used;
        }
        tu_guard_free(&g);
        at += n;
    }
}

/* Take the whole output as a string (NUL-terminated copy in out). */
static size_t take_output(struct sk_ws *w, uint8_t *out, size_t cap)
{
    size_t len;
    const uint8_t *p = sk_ws_output(w, &len);

    assert_true(len < cap);
    if (len) memcpy(out, p, len);
    out[len] = 0;
    sk_ws_output_done(w, len);
    return len;
}

static struct sk_ws *server_with(const struct sk_ws_config *cfg)
{
    struct sk_ws *w = NULL;

    assert_int_equal(sk_ws_new(&w, SK_WS_SERVER, cfg), 0);
    return w;
}

/* A server past its handshake (the 101 taken from the output). */
static struct sk_ws *open_server(const struct sk_ws_config *cfg)
{
    struct sk_ws *w = server_with(cfg);
    struct log lg = {0};
    uint8_t out[1024];

    feed(w, REQ, sizeof(REQ) - 1, 0, 0, &lg);
    assert_int_equal(lg.n, 1);
    assert_int_equal(lg.ev[0].kind, SK_WS_EV_OPEN);
    take_output(w, out, sizeof(out));
    assert_string_equal((char *) out, ACCEPT_101);
    return w;
}

/* A frame as a client (masked with key) or server (key NULL) sends it. */
static size_t mk_frame(uint8_t *out, bool fin, uint8_t op, const uint8_t *key,
                       const void *pl, size_t len)
{
    size_t h = sk_ws_frame_header_write(out, fin, op, key, len);

    if (len) memcpy(out + h, pl, len);
    if (key) sk_ws_mask(out + h, len, key, 0);
    return h + len;
}

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Feed one client frame to an open server; the one event it must produce. */
static struct rec one_event(struct sk_ws *w, const uint8_t *frame, size_t len)
{
    struct log lg = {0};

    feed(w, frame, len, 0, 0, &lg);
    assert_int_equal(lg.n, 1);
    return lg.ev[0];
}

/* The server failed with code: the event says so and a close frame with that
 * code is the output. */
static void expect_fail(struct sk_ws *w, const uint8_t *frame, size_t len, unsigned code)
{
    struct rec r = one_event(w, frame, len);
    uint8_t out[256];
    size_t n;

    assert_int_equal(r.kind, SK_WS_EV_CLOSED);
    assert_int_equal(r.code, code);
    n = take_output(w, out, sizeof(out));
    assert_true(n >= 4);
    assert_int_equal(out[0], 0x88);         /* FIN + close */
    assert_int_equal(out[1] & 0x80, 0);     /* a server does not mask */
    assert_int_equal(out[1] & 0x7f, n - 2); /* short payload */
    assert_int_equal(out[2] << 8 | out[3], code);
    assert_int_equal(sk_ws_state(w), SK_WS_CLOSED);
    /* nothing more is read or answered */
    feed(w, frame, len, 0, 0, &(struct log){0});
    assert_int_equal(take_output(w, out, sizeof(out)), 0);
}

/* ------------------------------------------------------------ pure parts */

static void test_accept_example(void **state)
{
    char out[29];

    (void) state;
    /* RFC 6455 §1.3 */
    assert_int_equal(sk_ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},
        {"INVITE sip:bob@example.com SIP/2.0", true},
        {"\xc3\xa9", true},         /* é */
        {"\xe2\x82\xac", true},     /* € */
        {"\xf0\x9f\x98\x80", true}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", true}, /* U+10FFFF */
        {"\xc0\x80", false},        /* overlong NUL */
        {"\xc1\xbf", false},
        {"\xe0\x80\x80", false},     /* overlong */
        {"\xed\xa0\x80", false},     /* U+D800 surrogate */
        {"\xf0\x80\x80\x80", false}, /* overlong */
        {"\xf4\x90\x80\x80", false}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", false},
        {"\x80", false}, /* lone continuation */
        {"\xc3", false}, /* cut short */
        {"\xe2\x82", false},
        {"\xe2\x28\xa1", false},
        {"\xff", false},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TU_ASSERT_MSG(sk_ws_utf8_valid((const uint8_t *) cases[i].s,
                                       strlen(cases[i].s)) == cases[i].ok,
                      "case %zu", i);
}

static void test_close_codes(void **state)
{
    static const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                    1010, 1011, 1012, 1013, 1014, 3000, 4999};
    static const unsigned bad[] = {0,    999,  1004, 1005, 1006,
                                   1015, 1016, 2999, 5000, 65535};

    (void) state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        TU_ASSERT_MSG(sk_ws_close_code_valid(good[i]), "%u", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TU_ASSERT_MSG(!sk_ws_close_code_valid(bad[i]), "%u", bad[i]);
}

/* §5.7's frames decode, every prefix of their headers asks for more, and the
 * encoder writes the same headers. */
static void test_rfc_example_headers(void **state)
{
    static const struct {
        uint8_t b[14];
        size_t hlen;
        bool fin, masked;
        uint8_t op;
        uint64_t plen;
    } ex[] = {
        {{0x81, 0x05}, 2, true, false, 1, 5},
        {{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}, 6, true, true, 1, 5},
        {{0x01, 0x03}, 2, false, false, 1, 3},
        {{0x80, 0x02}, 2, true, false, 0, 2},
        {{0x89, 0x05}, 2, true, false, 9, 5},
        {{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}, 6, true, true, 10, 5},
        {{0x82, 0x7e, 0x01, 0x00}, 4, true, false, 2, 256},
        {{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, 10, true, false, 2, 65536},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        struct sk_ws_frame f;
        const char *why = NULL;
        uint8_t out[SK_WS_MAX_HEADER];

        for (size_t k = 0; k < ex[i].hlen; k++)
            TU_ASSERT_MSG(sk_ws_frame_parse(ex[i].b, k, &f, &why) == EAGAIN,
                          "ex %zu k %zu", i, k);
        assert_int_equal(sk_ws_frame_parse(ex[i].b, ex[i].hlen, &f, &why), 0);
        assert_int_equal(f.hdr_len, ex[i].hlen);
        assert_int_equal(f.fin, ex[i].fin);
        assert_int_equal(f.masked, ex[i].masked);
        assert_int_equal(f.opcode, ex[i].op);
        assert_int_equal(f.payload_len, ex[i].plen);
        if (f.masked) assert_memory_equal(f.mask, KEY, 4);
        assert_int_equal(sk_ws_frame_header_write(out, ex[i].fin, ex[i].op,
                                                  ex[i].masked ? KEY : NULL, ex[i].plen),
                         ex[i].hlen);
        assert_memory_equal(out, ex[i].b, ex[i].hlen);
    }
}

static void test_parse_errors(void **state)
{
    static const struct {
        uint8_t b[10];
        size_t len;
        const char *why;
    } bad[] = {
        {{0xc1, 0x80}, 2, "reserved bits"}, /* RSV1 */
        {{0xa1, 0x80}, 2, "reserved bits"}, /* RSV2 */
        {{0x91, 0x80}, 2, "reserved bits"}, /* RSV3 */
        {{0x83, 0x80}, 6, "reserved opcode"},
        {{0x87, 0x80}, 6, "reserved opcode"},
        {{0x8b, 0x80}, 6, "reserved opcode"},
        {{0x8f, 0x80}, 6, "reserved opcode"},
        {{0x89, 0xfe, 0, 126}, 8, "control frame"}, /* ping of 126 bytes */
        {{0x09, 0x80}, 6, "control frame"},         /* fragmented ping */
        {{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, "top bit"},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sk_ws_frame f;
        const char *why = NULL;
        uint8_t b[16] = {0};

        memcpy(b, bad[i].b, sizeof(bad[i].b));
        TU_ASSERT_MSG(sk_ws_frame_parse(b, bad[i].len, &f, &why) == EBADMSG, "case %zu",
                      i);
        TU_ASSERT_MSG(why && strstr(why, bad[i].why), "case %zu: %s", i, why ? why : "-");
    }
}

/* ------------------------------------------------------------- handshake */

static void test_server_handshake_bytewise(void **state)
{
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t in[sizeof(REQ) + sizeof(hello)];
    uint8_t out[1024];
    struct sk_ws *w = server_with(NULL);
    struct log lg = {0};

    (void) state;
    /* the request and the first frame in one read, fed one byte at a time */
    memcpy(in, REQ, sizeof(REQ) - 1);
    memcpy(in + sizeof(REQ) - 1, hello, sizeof(hello));
    feed(w, in, sizeof(REQ) - 1 + sizeof(hello), 1, 0, &lg);
    assert_int_equal(lg.n, 2);
    assert_int_equal(lg.ev[0].kind, SK_WS_EV_OPEN);
    assert_int_equal(lg.ev[1].kind, SK_WS_EV_MESSAGE);
    assert_true(lg.ev[1].text);
    assert_int_equal(lg.ev[1].len, 5);
    assert_memory_equal(lg.ev[1].data, "Hello", 5);
    take_output(w, out, sizeof(out));
    assert_string_equal((char *) out, ACCEPT_101);
    assert_true(sk_str_eq_cstr(sk_ws_request_path(w), "/chat"));
    assert_true(sk_str_eq_cstr(sk_ws_request_host(w), "server.example.com"));
    assert_true(sk_str_eq_cstr(sk_ws_request_origin(w), "http://example.com"));
    sk_ws_free(w);
}

/* A request the server takes, though written differently from §1.3's. */
static void test_server_handshake_variants(void **state)
{
    static const char *const ok[] = {
        /* lists, case, and the subprotocol in a second header line */
        "GET / HTTP/1.1\r\nhost: h\r\nupgrade: WebSocket\r\n"
        "connection: keep-alive, Upgrade\r\nsec-websocket-key: "
        "dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "sec-websocket-version: 13\r\nSec-WebSocket-Protocol: chat\r\n"
        "Sec-WebSocket-Protocol: foo, sip\r\n\r\n",
        /* a Connection header line that does not list Upgrade, then one that does */
        "GET /ws?x=1 HTTP/1.1\r\nHost: h:8080\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive\r\nConnection: upgrade\r\n"
        "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==  \r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Extensions: "
        "permessage-deflate\r\n\r\n",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct sk_ws *w = server_with(NULL);
        struct log lg = {0};
        uint8_t out[1024];

        feed(w, ok[i], strlen(ok[i]), SIZE_MAX, (uint32_t) i, &lg);
        assert_int_equal(lg.n, 1);
        TU_ASSERT_MSG(lg.ev[0].kind == SK_WS_EV_OPEN, "case %zu: %s", i,
                      lg.ev[0].why ? lg.ev[0].why : "");
        take_output(w, out, sizeof(out));
        /* the extension is not taken up: the 101 names none */
        assert_string_equal((char *) out, ACCEPT_101);
        sk_ws_free(w);
    }
}

/* Each fault gets its status and a reason that names it, then the connection ends. */
static void test_server_refusals(void **state)
{
    static const char *const allow[] = {"https://phone.example.com", NULL};
    static const struct {
        const char *req;
        int status;
        const char *why;
        bool origins;
    } cases[] = {
        {"POST /chat HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method is not GET", false},
        {"GET /chat HTTP/1.0\r\nHost: h\r\n\r\n", 400, "not HTTP/1.1", false},
        {"GET HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line", false},
        {"GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line", false},
        {"GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line", false},
        {"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 400, "no Host", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host",
         false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n", 400,
         "Upgrade is not websocket", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", 400,
         "Upgrade is not websocket", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
         400, "Connection does not list Upgrade", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
         426, "Sec-WebSocket-Version is not 13", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
         426, "Sec-WebSocket-Version is not 13", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         400, "no Sec-WebSocket-Key", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n",
         400, "Sec-WebSocket-Key is not 16 bytes", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ!=\r\n\r\n",
         400, "Sec-WebSocket-Key is not 16 bytes", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
         400, "sip subprotocol", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Protocol: chat, sipx\r\n\r\n",
         400, "sip subprotocol", false},
        {REQ, 403, "Origin not allowed", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Protocol: sip\r\n\r\n",
         403, "no Origin", true},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "folded", false},
        {"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "malformed header", false},
        {"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, "malformed header", false},
        {"GET / HTTP/1.1\r\nHost: a\nUpgrade: websocket\r\n\r\n", 400, "without CR LF",
         false},
        {"\r\n\r\n", 400, "malformed request line", false},
        {"\n\r\n\r\n", 400, "malformed first line", false},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_ws_config cfg = {.origins = cases[i].origins ? allow : NULL};
        struct sk_ws *w = server_with(&cfg);
        struct log lg = {0};
        uint8_t out[1024];
        char line[64];

        feed(w, cases[i].req, strlen(cases[i].req), 0, 0, &lg);
        TU_ASSERT_MSG(lg.n == 1 && lg.ev[0].kind == SK_WS_EV_CLOSED, "case %zu", i);
        TU_ASSERT_MSG(lg.ev[0].http_status == cases[i].status, "case %zu: %d", i,
                      lg.ev[0].http_status);
        TU_ASSERT_MSG(strstr(lg.ev[0].why, cases[i].why), "case %zu: %s", i,
                      lg.ev[0].why);
        assert_int_equal(sk_ws_state(w), SK_WS_CLOSED);
        take_output(w, out, sizeof(out));
        snprintf(line, sizeof(line), "HTTP/1.1 %d ", cases[i].status);
        TU_ASSERT_MSG(strncmp((char *) out, line, strlen(line)) == 0, "case %zu: %s", i,
                      out);
        TU_ASSERT_MSG(strstr((char *) out, cases[i].why), "case %zu: body %s", i, out);
        assert_non_null(strstr((char *) out, "Connection: close\r\n"));
        assert_true((cases[i].status == 426) ==
                    (strstr((char *) out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL));
        assert_null(strstr((char *) out, "101"));
        /* what follows is ignored */
        feed(w, "x", 1, 0, 0, &lg);
        assert_int_equal(lg.n, 1);
        sk_ws_free(w);
    }
}

static void test_server_origin_allowed(void **state)
{
    static const char *const allow[] = {"https://a.example", "HTTP://EXAMPLE.COM", NULL};
    struct sk_ws_config cfg = {.origins = allow};
    struct sk_ws *w;

    (void) state;
    w = open_server(&cfg); /* REQ's Origin is http://example.com */
    sk_ws_free(w);
}

static void test_server_limits(void **state)
{
    struct sk_ws_config cfg = {.max_handshake = 200, .max_headers = 4};
    char big[400];
    struct log lg = {0};
    struct sk_ws *w = server_with(&cfg);

    (void) state;
    /* the head never ends within 200 bytes */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    feed(w, big, sizeof(big), 7, 0, &lg);
    assert_int_equal(lg.n, 1);
    assert_int_equal(lg.ev[0].http_status, 431);
    assert_non_null(strstr(lg.ev[0].why, "too large"));
    sk_ws_free(w);

    /* REQ has 7 header lines */
    cfg.max_handshake = 0;
    w = server_with(&cfg);
    lg.n = 0;
    feed(w, REQ, sizeof(REQ) - 1, 0, 0, &lg);
    assert_int_equal(lg.n, 1);
    assert_int_equal(lg.ev[0].http_status, 431);
    assert_non_null(strstr(lg.ev[0].why, "too many header lines"));
    sk_ws_free(w);

    /* exactly at the limits it passes */
    cfg.max_handshake = sizeof(REQ) - 1;
    cfg.max_headers = 7;
    w = open_server(&cfg);
    sk_ws_free(w);
}

/* ---------------------------------------------------------------- frames */

/* §5.7: "Hello" masked, and the 256-byte and 64 KiB binary messages. */
static void test_server_rfc_frames(void **state)
{
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct sk_ws *w = open_server(NULL);
    uint8_t *big = malloc(65536 + 14), *pl = malloc(65536);
    struct rec r;
    size_t n;

    (void) state;
    r = one_event(w, hello, sizeof(hello));
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    assert_true(r.text);
    assert_memory_equal(r.data, "Hello", 5);

    for (size_t i = 0; i < 65536; i++)
        pl[i] = (uint8_t) (i * 7);
    n = mk_frame(big, true, SK_WS_OP_BINARY, KEY, pl, 256);
    assert_int_equal(n, 8 + 256);
    r = one_event(w, big, n);
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    assert_false(r.text);
    assert_int_equal(r.len, 256);
    assert_memory_equal(r.data, pl, 256);

    n = mk_frame(big, true, SK_WS_OP_BINARY, KEY, pl, 65536);
    assert_int_equal(n, 14 + 65536);
    {
        struct log lg = {0};
        struct sk_ws_event ev;
        size_t used = sk_ws_input(w, big, n, &ev);

        (void) lg;
        assert_int_equal(used, n);
        assert_int_equal(ev.kind, SK_WS_EV_MESSAGE);
        assert_int_equal(ev.len, 65536);
        assert_memory_equal(ev.data, pl, 65536);
    }
    /* the large buffer is given back; the next message still arrives */
    r = one_event(w, hello, sizeof(hello));
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    assert_memory_equal(r.data, "Hello", 5);
    free(big);
    free(pl);
    sk_ws_free(w);
}

/* §5.4: fragments, a ping and a pong between them, a character split across
 * frames; the pong answers the ping with its payload. */
static void test_server_fragments(void **state)
{
    static const char euro[] = "\xe2\x82\xac";
    uint8_t in[256], out[256];
    size_t n = 0, len;
    struct log lg = {0};
    struct sk_ws *w = open_server(NULL);

    (void) state;
    n += mk_frame(in + n, false, SK_WS_OP_TEXT, KEY, "MESSAGE sip:a ", 14);
    n += mk_frame(in + n, false, SK_WS_OP_CONT, KEY, euro, 1);
    n += mk_frame(in + n, true, SK_WS_OP_PING, KEY, "Hello", 5);
    n += mk_frame(in + n, true, SK_WS_OP_PONG, KEY, "x", 1);
    n += mk_frame(in + n, false, SK_WS_OP_CONT, KEY, NULL, 0);
    n += mk_frame(in + n, true, SK_WS_OP_CONT, KEY, euro + 1, 2);
    feed(w, in, n, 0, 0, &lg);
    assert_int_equal(lg.n, 1);
    assert_int_equal(lg.ev[0].kind, SK_WS_EV_MESSAGE);
    assert_true(lg.ev[0].text);
    assert_int_equal(lg.ev[0].len, 17);
    assert_memory_equal(lg.ev[0].data, "MESSAGE sip:a \xe2\x82\xac", 17);
    /* §5.7: the pong to an unmasked "Hello" ping, sent unmasked by the server */
    len = take_output(w, out, sizeof(out));
    assert_int_equal(len, 7);
    assert_memory_equal(out, "\x8a\x05Hello", 7);
    assert_int_equal(sk_ws_state(w), SK_WS_OPEN);
    sk_ws_free(w);
}

static void test_server_binary_not_utf8(void **state)
{
    uint8_t in[64];
    struct sk_ws *w = open_server(NULL);
    struct rec r;

    (void) state;
    r = one_event(w, in, mk_frame(in, true, SK_WS_OP_BINARY, KEY, "\xff\xfe", 2));
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    assert_false(r.text);
    assert_int_equal(r.len, 2);
    /* an empty text message is one too */
    r = one_event(w, in, mk_frame(in, true, SK_WS_OP_TEXT, KEY, NULL, 0));
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    assert_int_equal(r.len, 0);
    sk_ws_free(w);
}

/* Every way a client's frames make the server fail the connection. */
static void test_server_fail_paths(void **state)
{
    struct sk_ws_config cfg = {.max_frame = 100, .max_message = 150};
    uint8_t f[512], pl[200];
    size_t n;
    struct sk_ws *w;

    (void) state;
    memset(pl, 'a', sizeof(pl));
#define FAIL_CASE(code, ...)                                                             \
    do {                                                                                 \
        w = open_server(&cfg);                                                           \
        n = 0;                                                                           \
        __VA_ARGS__;                                                                     \
        expect_fail(w, f, n, (code));                                                    \
        sk_ws_free(w);                                                                   \
    } while (0)

    /* 1002: an unmasked client frame (§5.1): §5.7's unmasked "Hello" */
    FAIL_CASE(1002, memcpy(f, "\x81\x05Hello", 7); n = 7);
    /* 1002: reserved bits, reserved opcodes (data and control) */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_TEXT, KEY, "a", 1); f[0] |= 0x40);
    FAIL_CASE(1002, n = mk_frame(f, true, 3, KEY, "a", 1));
    FAIL_CASE(1002, n = mk_frame(f, true, 0xb, KEY, "a", 1));
    /* 1002: a control frame over 125 bytes, a fragmented one */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_PING, KEY, pl, 126));
    FAIL_CASE(1002, n = mk_frame(f, false, SK_WS_OP_PING, KEY, "a", 1));
    /* 1002: continuation without a message; a new message inside one */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CONT, KEY, "a", 1));
    FAIL_CASE(1002, n = mk_frame(f, false, SK_WS_OP_TEXT, KEY, "a", 1);
              n += mk_frame(f + n, true, SK_WS_OP_BINARY, KEY, "b", 1));
    /* 1002: a 64-bit length with the top bit set */
    FAIL_CASE(1002, memcpy(f, "\x82\xff\x80\0\0\0\0\0\0\0\1\2\3\4", 14); n = 14);
    /* 1007: a text message that is not UTF-8, in one frame or over two */
    FAIL_CASE(1007, n = mk_frame(f, true, SK_WS_OP_TEXT, KEY, "ok\xc0\x80", 4));
    FAIL_CASE(1007, n = mk_frame(f, false, SK_WS_OP_TEXT, KEY, "\xe2\x82", 2);
              n += mk_frame(f + n, true, SK_WS_OP_CONT, KEY, "x", 1));
    /* 1009: a frame over max_frame; fragments adding up past max_message */
    FAIL_CASE(1009, n = mk_frame(f, true, SK_WS_OP_BINARY, KEY, pl, 101));
    FAIL_CASE(1009, n = mk_frame(f, false, SK_WS_OP_BINARY, KEY, pl, 100);
              n += mk_frame(f + n, true, SK_WS_OP_CONT, KEY, pl, 51));
    /* 1002: a close with one byte, or a status no one may send */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03", 1));
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03\xed", 2)); /* 1005 */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03\xee", 2)); /* 1006 */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03\xe7", 2)); /* 999 */
    FAIL_CASE(1002, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x0b\xb7", 2)); /* 2999 */
    /* 1007: a close reason that is not UTF-8 */
    FAIL_CASE(1007, n = mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03\xe8\xff", 3));
#undef FAIL_CASE
    /* at the limits exactly, the message passes */
    w = open_server(&cfg);
    n = mk_frame(f, false, SK_WS_OP_BINARY, KEY, pl, 100);
    n += mk_frame(f + n, true, SK_WS_OP_CONT, KEY, pl, 50);
    {
        struct rec r = one_event(w, f, n);

        assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
        assert_int_equal(r.len, 150);
    }
    sk_ws_free(w);
}

/* The client closes: the server echoes its code (§5.5.1) and is done. */
static void test_server_peer_close(void **state)
{
    uint8_t f[64], out[64];
    struct sk_ws *w = open_server(NULL);
    struct rec r;
    size_t n;

    (void) state;
    r = one_event(w, f,
                  mk_frame(f, true, SK_WS_OP_CLOSE, KEY,
                           "\x03\xe8"
                           "bye",
                           5));
    assert_int_equal(r.kind, SK_WS_EV_CLOSED);
    assert_int_equal(r.code, 1000);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.data, "bye", 3);
    n = take_output(w, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x88\x02\x03\xe8", 4);
    assert_int_equal(sk_ws_state(w), SK_WS_CLOSED);
    assert_int_equal(sk_ws_send(w, true, "x", 1), EPIPE);
    sk_ws_free(w);

    /* a close without a status: 1005 reported, an empty close echoed */
    w = open_server(NULL);
    r = one_event(w, f, mk_frame(f, true, SK_WS_OP_CLOSE, KEY, NULL, 0));
    assert_int_equal(r.kind, SK_WS_EV_CLOSED);
    assert_int_equal(r.code, 1005);
    n = take_output(w, out, sizeof(out));
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\x88\x00", 2);
    sk_ws_free(w);

    /* an application code (4000) is valid */
    w = open_server(NULL);
    r = one_event(w, f, mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x0f\xa0", 2));
    assert_int_equal(r.code, 4000);
    n = take_output(w, out, sizeof(out));
    assert_memory_equal(out, "\x88\x02\x0f\xa0", 4);
    sk_ws_free(w);
}

/* The server closes first; messages still arrive until the client's close. */
static void test_server_initiated_close(void **state)
{
    uint8_t f[64], out[64];
    struct sk_ws *w = open_server(NULL);
    struct rec r;
    size_t n;

    (void) state;
    assert_int_equal(sk_ws_close(w, 999, NULL), EINVAL);
    assert_int_equal(sk_ws_close(w, 1001, "shutting down"), 0);
    assert_int_equal(sk_ws_state(w), SK_WS_CLOSING);
    n = take_output(w, out, sizeof(out));
    assert_int_equal(n, 4 + 13);
    assert_memory_equal(out, "\x88\x0f\x03\xe9shutting down", n);
    assert_int_equal(sk_ws_send(w, true, "x", 1), EPIPE);
    assert_int_equal(sk_ws_close(w, 1000, NULL), EPIPE);

    r = one_event(w, f, mk_frame(f, true, SK_WS_OP_TEXT, KEY, "late", 4));
    assert_int_equal(r.kind, SK_WS_EV_MESSAGE);
    /* no pong once closing */
    n = mk_frame(f, true, SK_WS_OP_PING, KEY, "p", 1);
    feed(w, f, n, 0, 0, &(struct log){0});
    assert_int_equal(take_output(w, out, sizeof(out)), 0);

    r = one_event(w, f, mk_frame(f, true, SK_WS_OP_CLOSE, KEY, "\x03\xe9", 2));
    assert_int_equal(r.kind, SK_WS_EV_CLOSED);
    assert_int_equal(r.code, 1001);
    assert_non_null(strstr(r.why, "complete"));
    /* no second close */
    assert_int_equal(take_output(w, out, sizeof(out)), 0);
    assert_int_equal(sk_ws_state(w), SK_WS_CLOSED);
    sk_ws_free(w);
}

/* A whole session fed at once, byte by byte and in random pieces gives the
 * same events (and the same output). */
static void test_any_split(void **state)
{
    uint8_t in[4096], pl[300];
    size_t n = 0;
    struct log ref = {0};
    uint8_t ref_out[1024];
    size_t ref_len = 0;

    (void) state;
    for (size_t i = 0; i < sizeof(pl); i++)
        pl[i] = (uint8_t) ('a' + i % 26);
    memcpy(in, REQ, sizeof(REQ) - 1);
    n = sizeof(REQ) - 1;
    n += mk_frame(in + n, true, SK_WS_OP_TEXT, KEY, "OPTIONS sip:x SIP/2.0\r\n\r\n", 25);
    n += mk_frame(in + n, false, SK_WS_OP_BINARY, KEY, pl, 200);
    n += mk_frame(in + n, true, SK_WS_OP_PING, KEY, "ka", 2);
    n += mk_frame(in + n, true, SK_WS_OP_CONT, KEY, pl + 200, 100);
    n += mk_frame(in + n, true, SK_WS_OP_TEXT, KEY, NULL, 0);
    n += mk_frame(in + n, true, SK_WS_OP_CLOSE, KEY, "\x03\xe8", 2);
    n += mk_frame(in + n, true, SK_WS_OP_TEXT, KEY, "after", 5); /* ignored */

    for (int mode = 0; mode < 3 + 20; mode++) {
        struct sk_ws *w = server_with(NULL);
        struct log lg = {0};
        uint8_t out[1024];
        size_t len;

        if (mode == 0)
            feed(w, in, n, 0, 0, &lg);
        else if (mode == 1)
            feed(w, in, n, 1, 0, &lg);
        else if (mode == 2)
            feed(w, in, n, 3, 0, &lg);
        else
            feed(w, in, n, SIZE_MAX, (uint32_t) mode, &lg);
        len = take_output(w, out, sizeof(out));
        if (mode == 0) {
            ref = lg;
            memcpy(ref_out, out, len);
            ref_len = len;
            assert_int_equal(lg.n, 5);
            assert_int_equal(lg.ev[0].kind, SK_WS_EV_OPEN);
            assert_int_equal(lg.ev[1].kind, SK_WS_EV_MESSAGE);
            assert_int_equal(lg.ev[1].len, 25);
            assert_int_equal(lg.ev[2].kind, SK_WS_EV_MESSAGE);
            assert_int_equal(lg.ev[2].len, 300);
            assert_memory_equal(lg.ev[2].data, pl, 256);
            assert_int_equal(lg.ev[3].kind, SK_WS_EV_MESSAGE);
            assert_int_equal(lg.ev[3].len, 0);
            assert_int_equal(lg.ev[4].kind, SK_WS_EV_CLOSED);
            assert_int_equal(lg.ev[4].code, 1000);
            /* 101, pong "ka", close echo */
            assert_int_equal(len, sizeof(ACCEPT_101) - 1 + 4 + 4);
            sk_ws_free(w);
            continue;
        }
        TU_ASSERT_MSG(lg.n == ref.n, "mode %d: %zu events", mode, lg.n);
        for (size_t i = 0; i < lg.n; i++) {
            TU_ASSERT_MSG(lg.ev[i].kind == ref.ev[i].kind &&
                              lg.ev[i].len == ref.ev[i].len &&
                              lg.ev[i].code == ref.ev[i].code &&
                              memcmp(lg.ev[i].data, ref.ev[i].data,
                                     lg.ev[i].len < 256 ? lg.ev[i].len : 256) == 0,
                          "mode %d event %zu", mode, i);
        }
        assert_int_equal(len, ref_len);
        assert_memory_equal(out, ref_out, len);
        sk_ws_free(w);
    }
}

/* ---------------------------------------------------------------- client */

static struct sk_ws *client_with(const char *key)
{
    struct sk_ws_config cfg = {.host = "server.example.com",
                               .path = "/chat",
                               .key = key,
                               .origin = "http://example.com"};
    struct sk_ws *c = NULL;

    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), 0);
    return c;
}

/* The client's request opens a server, the server's 101 opens the client, and
 * messages cross both ways (masked one way only). */
static void test_client_round_trip(void **state)
{
    struct sk_ws *c = client_with(NULL), *s = server_with(NULL);
    uint8_t buf[2048];
    size_t n;
    struct log lc = {0}, ls = {0};

    (void) state;
    assert_int_equal(sk_ws_send(c, true, "x", 1), ENOTCONN);
    n = take_output(c, buf, sizeof(buf));
    assert_non_null(
        strstr((char *) buf, "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
    assert_non_null(strstr((char *) buf, "\r\nSec-WebSocket-Protocol: sip\r\n"));
    assert_non_null(strstr((char *) buf, "\r\nOrigin: http://example.com\r\n"));
    feed(s, buf, n, 1, 0, &ls);
    assert_int_equal(ls.n, 1);
    assert_int_equal(ls.ev[0].kind, SK_WS_EV_OPEN);

    n = take_output(s, buf, sizeof(buf));
    feed(c, buf, n, SIZE_MAX, 7, &lc);
    assert_int_equal(lc.n, 1);
    TU_ASSERT_MSG(lc.ev[0].kind == SK_WS_EV_OPEN, "%s", lc.ev[0].why ? lc.ev[0].why : "");
    assert_int_equal(sk_ws_state(c), SK_WS_OPEN);

    /* client to server: masked, two frames with keys of their own */
    assert_int_equal(sk_ws_send(c, true, "REGISTER", 8), 0);
    assert_int_equal(sk_ws_send(c, false, "\x00\x01", 2), 0);
    assert_int_equal(sk_ws_ping(c, "p", 1), 0);
    n = take_output(c, buf, sizeof(buf));
    assert_int_equal(n, 6 + 8 + 6 + 2 + 6 + 1);
    assert_int_equal(buf[0], 0x81);
    assert_int_equal(buf[1], 0x80 | 8);
    assert_memory_not_equal(buf + 6, "REGISTER", 8);
    feed(s, buf, n, 0, 0, &ls);
    assert_int_equal(ls.n, 3);
    assert_memory_equal(ls.ev[1].data, "REGISTER", 8);
    assert_true(ls.ev[1].text);
    assert_false(ls.ev[2].text);
    assert_memory_equal(ls.ev[2].data, "\x00\x01", 2);

    /* server to client: unmasked; the pong to the client's ping comes first */
    assert_int_equal(sk_ws_send(s, true, "SIP/2.0 200 OK", 14), 0);
    n = take_output(s, buf, sizeof(buf));
    assert_int_equal(n, 3 + 16);
    assert_memory_equal(buf, "\x8a\x01p\x81\x0eSIP/2.0 200 OK", n);
    feed(c, buf, n, 1, 0, &lc);
    assert_int_equal(lc.n, 2);
    assert_memory_equal(lc.ev[1].data, "SIP/2.0 200 OK", 14);

    /* the client closes, the server echoes, both are done */
    assert_int_equal(sk_ws_close(c, 1000, NULL), 0);
    n = take_output(c, buf, sizeof(buf));
    feed(s, buf, n, 0, 0, &ls);
    assert_int_equal(ls.ev[ls.n - 1].kind, SK_WS_EV_CLOSED);
    n = take_output(s, buf, sizeof(buf));
    feed(c, buf, n, 0, 0, &lc);
    assert_int_equal(lc.ev[lc.n - 1].kind, SK_WS_EV_CLOSED);
    assert_int_equal(lc.ev[lc.n - 1].code, 1000);
    assert_int_equal(take_output(c, buf, sizeof(buf)), 0);
    sk_ws_free(c);
    sk_ws_free(s);
}

/* A client with §1.3's key: the answers it refuses. */
static void test_client_refusals(void **state)
{
    static const struct {
        const char *resp;
        int status;
        const char *why;
    } cases[] = {
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 403, "refused"},
        {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", 426,
         "refused"},
        {"HTTP/1.0 101 Switching Protocols\r\n\r\n", 0, "malformed status line"},
        {"HTTP/1.1 1x1 Switching\r\n\r\n", 0, "malformed status line"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\n"
         "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
         "Sec-WebSocket-Protocol: sip\r\n\r\n",
         101, "wrong Sec-WebSocket-Accept"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         101, "did not choose sip"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Extensions: "
         "permessage-deflate\r\n\r\n",
         101, "did not offer"},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: sip\r\n\r\n",
         101, "Upgrade is not websocket"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: sip\r\n\r\n",
         101, "Connection does not list Upgrade"},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_ws *c = client_with("dGhlIHNhbXBsZSBub25jZQ==");
        struct log lg = {0};
        uint8_t buf[1024];

        take_output(c, buf, sizeof(buf));
        assert_non_null(
            strstr((char *) buf, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        feed(c, cases[i].resp, strlen(cases[i].resp), 0, 0, &lg);
        TU_ASSERT_MSG(lg.n == 1 && lg.ev[0].kind == SK_WS_EV_CLOSED, "case %zu", i);
        TU_ASSERT_MSG(lg.ev[0].http_status == cases[i].status, "case %zu: %d", i,
                      lg.ev[0].http_status);
        TU_ASSERT_MSG(strstr(lg.ev[0].why, cases[i].why), "case %zu: %s", i,
                      lg.ev[0].why);
        assert_int_equal(take_output(c, buf, sizeof(buf)), 0); /* no frames, no close */
        sk_ws_free(c);
    }
}

/* §1.3's 101 opens the client; a frame right behind it in the same read is
 * decoded; a masked frame from the server fails the connection (§5.1). */
static void test_client_frames(void **state)
{
    uint8_t in[512], out[64];
    size_t n = sizeof(ACCEPT_101) - 1, len;
    struct log lg = {0};
    struct sk_ws *c = client_with("dGhlIHNhbXBsZSBub25jZQ==");

    (void) state;
    take_output(c, in, sizeof(in)); /* the request */
    memcpy(in, ACCEPT_101, n);
    memcpy(in + n, "\x01\x03Hel\x89\x00\x80\x02lo", 11); /* §5.7, with a ping between */
    n += 11;
    n += mk_frame(in + n, true, SK_WS_OP_TEXT, KEY, "Hello", 5);
    feed(c, in, n, 0, 0, &lg);
    assert_int_equal(lg.n, 3);
    assert_int_equal(lg.ev[0].kind, SK_WS_EV_OPEN);
    assert_int_equal(lg.ev[1].kind, SK_WS_EV_MESSAGE);
    assert_memory_equal(lg.ev[1].data, "Hello", 5);
    assert_int_equal(lg.ev[2].kind, SK_WS_EV_CLOSED);
    assert_int_equal(lg.ev[2].code, 1002);
    assert_non_null(strstr(lg.ev[2].why, "masked frame from the server"));
    /* a masked pong (to the empty ping), then a masked close 1002 */
    len = take_output(c, out, sizeof(out));
    assert_true(len > 6);
    assert_int_equal(out[0], 0x8a);
    assert_int_equal(out[1], 0x80);
    assert_int_equal(out[6], 0x88);
    assert_int_equal(out[7] & 0x80, 0x80);
    sk_ws_free(c);
}

/* A response head that never ends within max_handshake. */
static void test_client_limit(void **state)
{
    struct sk_ws_config cfg = {.host = "h", .max_handshake = 100};
    struct sk_ws *c = NULL;
    struct log lg = {0};
    char resp[300];

    (void) state;
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), 0);
    memset(resp, 'x', sizeof(resp));
    memcpy(resp, "HTTP/1.1 101 ", 13);
    feed(c, resp, sizeof(resp), 9, 0, &lg);
    assert_int_equal(lg.n, 1);
    assert_int_equal(lg.ev[0].kind, SK_WS_EV_CLOSED);
    assert_non_null(strstr(lg.ev[0].why, "too large"));
    sk_ws_free(c);
}

static void test_client_bad_config(void **state)
{
    struct sk_ws *c = NULL;
    struct sk_ws_config cfg = {0};

    (void) state;
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), EINVAL);
    cfg.host = "a\r\nX: y";
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), EINVAL);
    cfg.host = "a";
    cfg.path = "/a b";
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), EINVAL);
    cfg.path = NULL;
    cfg.key = "short==";
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), EINVAL);
    cfg.key = NULL;
    assert_int_equal(sk_ws_new(&c, SK_WS_CLIENT, &cfg), 0);
    assert_int_equal(sk_ws_ping(c, "x", 1), ENOTCONN);
    assert_int_equal(sk_ws_close(c, 1000, NULL), 0); /* during the handshake: just stop */
    assert_int_equal(sk_ws_state(c), SK_WS_CLOSED);
    sk_ws_free(c);
}

static void test_ping_limits(void **state)
{
    uint8_t pl[126] = {0}, out[256];
    struct sk_ws *w = open_server(NULL);

    (void) state;
    assert_int_equal(sk_ws_ping(w, pl, 126), EINVAL);
    assert_int_equal(sk_ws_ping(w, pl, 125), 0);
    assert_int_equal(take_output(w, out, sizeof(out)), 2 + 125);
    assert_int_equal(out[0], 0x89);
    assert_int_equal(out[1], 125);
    /* the output drains in parts */
    assert_int_equal(sk_ws_send(w, false, "abcdef", 6), 0);
    sk_ws_output_done(w, 3);
    assert_int_equal(take_output(w, out, sizeof(out)), 5);
    assert_memory_equal(out, "bcdef", 5);
    sk_ws_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_example),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_rfc_example_headers),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_server_handshake_bytewise),
        cmocka_unit_test(test_server_handshake_variants),
        cmocka_unit_test(test_server_refusals),
        cmocka_unit_test(test_server_origin_allowed),
        cmocka_unit_test(test_server_limits),
        cmocka_unit_test(test_server_rfc_frames),
        cmocka_unit_test(test_server_fragments),
        cmocka_unit_test(test_server_binary_not_utf8),
        cmocka_unit_test(test_server_fail_paths),
        cmocka_unit_test(test_server_peer_close),
        cmocka_unit_test(test_server_initiated_close),
        cmocka_unit_test(test_any_split),
        cmocka_unit_test(test_client_round_trip),
        cmocka_unit_test(test_client_refusals),
        cmocka_unit_test(test_client_frames),
        cmocka_unit_test(test_client_limit),
        cmocka_unit_test(test_client_bad_config),
        cmocka_unit_test(test_ping_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
