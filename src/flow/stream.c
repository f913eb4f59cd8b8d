/* What runs on a TCP stream: SIP framed with the parser's stream mode, WebSocket after an
 * HTTP Upgrade (RFC 6455, RFC 7118), TLS noted and skipped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/flow_int.h"

#define FLOW_HTTP_MAX_HEAD 16384 /* HTTP request or response head before WebSocket */
#define FLOW_RESYNC_MAX                                                                  \
    (64u * 1024) /* bytes searched for a SIP start line before giving up */
#define FLOW_START_LINE_MAX 8192

enum step { STEP_NEED, STEP_AGAIN };

static void mark_add(struct flow_app *a, uint64_t off, uint64_t frame)
{
    if (a->nmarks && a->marks[a->nmarks - 1].frame == frame) return;
    if (a->nmarks == FLOW_STREAM_MARKS) {
        memmove(a->marks, a->marks + 1, (FLOW_STREAM_MARKS - 1) * sizeof(a->marks[0]));
        a->nmarks--;
    }
    a->marks[a->nmarks].off = off;
    a->marks[a->nmarks].frame = frame;
    a->nmarks++;
}

/* The frame that carried the stream byte at off. */
static uint64_t frame_at(const struct flow_app *a, uint64_t off)
{
    uint64_t f = a->nmarks ? a->marks[0].frame : 0;

    for (size_t i = 0; i < a->nmarks && a->marks[i].off <= off; i++)
        f = a->marks[i].frame;
    return f;
}

/* The frames that carried the stream bytes [off, off + len), in order (the marks
 * still held: FLOW_STREAM_MARKS per direction); returns how many. */
static size_t frames_in(const struct flow_app *a, uint64_t off, size_t len, uint64_t *out)
{
    size_t n = 0;
    uint64_t first = frame_at(a, off);

    if (first) out[n++] = first;
    for (size_t i = 0; i < a->nmarks && n < FLOW_PACKET_MAX_FRAMES; i++)
        if (a->marks[i].off > off && a->marks[i].off < off + len &&
            (n == 0 || a->marks[i].frame != out[n - 1]))
            out[n++] = a->marks[i].frame;
    return n;
}

static void consume(struct flow_app *a, size_t n)
{
    if (n > a->len) n = a->len;
    if (n == 0) return;
    memmove(a->buf, a->buf + n, a->len - n);
    a->len -= n;
    a->base += n;
    while (a->nmarks >= 2 && a->marks[1].off <= a->base) {
        memmove(a->marks, a->marks + 1, (a->nmarks - 1) * sizeof(a->marks[0]));
        a->nmarks--;
    }
}

static void drop_all(struct flow_app *a)
{
    consume(a, a->len);
}

static void set_mode(struct flow_app *a, enum flow_app_mode m)
{
    a->mode = m;
    if (m == FLOW_APP_TLS || m == FLOW_APP_OTHER) drop_all(a);
}

static void emit_stream(struct flow_capture *c, struct flow_half *h,
                        enum flow_transport t, const uint8_t *p, size_t len,
                        uint64_t first, uint64_t done, bool is_sip,
                        const uint64_t *frames, size_t nframes)
{
    struct flow_packet pk;

    memset(&pk, 0, sizeof(pk));
    pk.frames = frames;
    pk.nframes = nframes;
    pk.frame = done;
    pk.first_frame = first && first < done ? first : done;
    pk.ts_ns = c->now_ns;
    pk.src = h->src;
    pk.dst = h->dst;
    pk.transport = t;
    pk.ip_proto = 6;
    pk.data = p;
    pk.len = len;
    pk.is_sip = is_sip;
    flow_emit(c, &pk);
}

/* RFC 3261 §7.5: CRLFs before a message (and RFC 5626 keep-alives) are not part of it. */
static void skip_crlf(struct flow_app *a)
{
    size_t n = 0;

    while (n < a->len && (a->buf[n] == '\r' || a->buf[n] == '\n'))
        n++;
    consume(a, n);
}

static bool has_prefix_ci(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);

    return len >= n && strncasecmp((const char *) p, s, n) == 0;
}

static const uint8_t *find_ci(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp((const char *) p + i, s, n) == 0) return p + i;
    return NULL;
}

int flow_sip_start(const uint8_t *p, size_t len);

/* Deciding what the stream carries, or finding the next SIP message after lost bytes. */
static enum step step_unknown(struct flow_capture *c, struct flow_half *h)
{
    struct flow_app *a = &h->app;
    size_t keep;
    char pair[128];
    int r;

    skip_crlf(a);
    if (a->len == 0) return STEP_NEED;
    if (a->unknown_bytes == 0 && a->buf[0] >= 0x14 && a->buf[0] <= 0x17) {
        if (a->len < 3) return STEP_NEED;
        if (a->buf[1] == 0x03 && a->buf[2] <= 0x04) {
            /* A TLS record header (RFC 8446 §5.1): nothing readable follows. */
            flow_warn(c, frame_at(a, a->base), FLOW_PROB_TLS,
                      "TCP %s: TLS, encrypted, not readable; stream skipped",
                      flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
            set_mode(a, FLOW_APP_TLS);
            return STEP_NEED;
        }
    }
    if (a->base == 0 && (has_prefix_ci(a->buf, a->len, "GET ") ||
                         has_prefix_ci(a->buf, a->len, "HTTP/"))) {
        set_mode(a, FLOW_APP_HTTP);
        return STEP_AGAIN;
    }
    if (a->base == 0 && a->len < 5 &&
        (strncasecmp((const char *) a->buf, "GET ", a->len) == 0 ||
         strncasecmp((const char *) a->buf, "HTTP/", a->len) == 0))
        return STEP_NEED;
    if (a->unknown_bytes == 0 && has_prefix_ci(a->buf, a->len, "HEP3")) {
        set_mode(a, FLOW_APP_HEP);
        return STEP_AGAIN;
    }
    if ((a->buf[0] & 0x7f) == 0x01 || (a->buf[0] & 0x7f) == 0x02) {
        /* A WebSocket text or binary frame (the capture missed the Upgrade): one
         * that holds a SIP start line puts the stream in WebSocket mode. A SIP
         * stream never starts with these bytes. */
        struct flow_ws_frame f;
        const char *why;
        uint8_t head[256];
        size_t n;

        r = flow_ws_frame_parse(a->buf, a->len, &f, &why);
        if (r == EAGAIN && a->len < 14) return STEP_NEED;
        if (r == 0) {
            n = f.payload_len < sizeof(head) ? (size_t) f.payload_len : sizeof(head);
            if (n > a->len - f.hdr_len) {
                if (a->len < f.hdr_len + sizeof(head)) return STEP_NEED;
                n = a->len - f.hdr_len;
            }
            for (size_t i = 0; i < n; i++)
                head[i] = a->buf[f.hdr_len + i] ^ (f.masked ? f.mask[i % 4] : 0);
            if (flow_sip_start(head, n) == 1) {
                a->mode = FLOW_APP_WS;
                return STEP_AGAIN;
            }
        }
    }
    r = flow_sip_start(a->buf, a->len);
    if (r > 0) {
        if (a->unknown_bytes && !a->sync_noted)
            flow_warn(
                c, frame_at(a, a->base), FLOW_PROB_SIP,
                "TCP %s: %zu bytes before the first SIP message skipped (the capture "
                "began inside the stream?)",
                flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), a->unknown_bytes);
        a->sync_noted = true;
        set_mode(a, FLOW_APP_SIP);
        a->unknown_bytes = 0;
        return STEP_AGAIN;
    }
    if (r < 0) return STEP_NEED;
    /* Not at a message start: skip to the first later line that could begin one,
     * or else keep only a last, unfinished line. */
    keep = 0;
    for (size_t i = 0; i < a->len; i++)
        if (a->buf[i] == '\n' && flow_sip_start(a->buf + i + 1, a->len - i - 1) != 0) {
            keep = i + 1;
            break;
        }
    if (keep == 0) {
        const uint8_t *nl = memrchr(a->buf, '\n', a->len);

        keep =
            nl ? (size_t) (nl - a->buf) + 1 : (a->len > FLOW_START_LINE_MAX ? a->len : 0);
    }
    if (keep == 0) return STEP_NEED;
    a->unknown_bytes += keep;
    consume(a, keep);
    if (a->unknown_bytes > FLOW_RESYNC_MAX) {
        set_mode(a, FLOW_APP_OTHER);
        return STEP_NEED;
    }
    return STEP_AGAIN;
}

static enum step step_sip(struct flow_capture *c, struct flow_half *h, uint64_t done)
{
    struct flow_app *a = &h->app;
    struct sip_error err;
    size_t consumed = 0;
    char pair[128];
    int rc;

    skip_crlf(a);
    if (a->len == 0) return STEP_NEED;
    rc = sip_msg_parse(c->msg, (const char *) a->buf, a->len, SIP_PARSE_STREAM, NULL,
                       &consumed, &err);
    if (rc == EAGAIN) return STEP_NEED;
    if (rc == 0 && consumed > 0) {
        const uint8_t *m = (const uint8_t *) c->msg->buf;
        uint64_t off = a->base + (uint64_t) (m - a->buf);
        uint64_t first = frame_at(a, off);
        uint64_t frames[FLOW_PACKET_MAX_FRAMES];
        size_t nframes = frames_in(a, off, c->msg->len, frames);

        emit_stream(c, h, FLOW_TCP, m, c->msg->len, first, done, true, frames, nframes);
        sip_msg_release(c->msg);
        consume(a, consumed);
        return STEP_AGAIN;
    }
    sip_msg_release(c->msg);
    if (rc == EBADMSG) {
        char phrase[160];

        flow_warn(c, done, FLOW_PROB_SIP,
                  "TCP %s: message at stream offset %llu does not frame as SIP (%s, at "
                  "byte %zu); looking for the next one",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)),
                  (unsigned long long) a->base,
                  sip_error_phrase(&err, phrase, sizeof(phrase)), err.pos);
    } else {
        flow_warn(c, done, FLOW_PROB_SIP, "TCP %s: cannot frame SIP (%s)",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), strerror(rc));
    }
    consume(a, 1);
    a->mode = FLOW_APP_UNKNOWN;
    a->unknown_bytes = 1;
    return STEP_AGAIN;
}

static enum step step_http(struct flow_capture *c, struct flow_half *h)
{
    struct flow_app *a = &h->app;
    const uint8_t *end = NULL;
    size_t n;

    (void) c;
    for (size_t i = 0; i + 4 <= a->len; i++)
        if (memcmp(a->buf + i, "\r\n\r\n", 4) == 0) {
            end = a->buf + i + 4;
            break;
        }
    if (!end) {
        if (a->len > FLOW_HTTP_MAX_HEAD) set_mode(a, FLOW_APP_OTHER);
        return STEP_NEED;
    }
    n = (size_t) (end - a->buf);
    /* RFC 6455 §4.1/§4.2.2: "Upgrade: websocket" in the request and in the 101. */
    if (find_ci(a->buf, n, "\nupgrade:") && find_ci(a->buf, n, "websocket")) {
        consume(a, n);
        a->mode = FLOW_APP_WS;
        return STEP_AGAIN;
    }
    set_mode(a, FLOW_APP_OTHER);
    return STEP_NEED;
}

static enum step step_ws(struct flow_capture *c, struct flow_half *h, uint64_t done)
{
    struct flow_app *a = &h->app;
    struct flow_ws_frame f;
    const char *why = NULL;
    char pair[128];
    uint8_t *pl;
    size_t plen;
    int rc;

    if (a->len == 0) return STEP_NEED;
    rc = flow_ws_frame_parse(a->buf, a->len, &f, &why);
    if (rc == EAGAIN) return STEP_NEED;
    if (rc == 0 && f.payload_len > c->lim.ws_max_message) {
        rc = EBADMSG;
        why = "frame larger than the message limit";
    }
    if (rc) {
        flow_warn(c, done, FLOW_PROB_WS, "WebSocket %s: %s; rest of the stream skipped",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), why);
        set_mode(a, FLOW_APP_OTHER);
        return STEP_NEED;
    }
    if (a->len - f.hdr_len < f.payload_len) return STEP_NEED;
    pl = a->buf + f.hdr_len;
    plen = (size_t) f.payload_len;
    /* §5.3: client-to-server payloads are XORed with the masking key. */
    if (f.masked)
        for (size_t i = 0; i < plen; i++)
            pl[i] ^= f.mask[i % 4];
    if (f.opcode >= 8) {
        consume(a, f.hdr_len + plen);
        return STEP_AGAIN;
    }
    if (f.opcode != 0) {
        if (a->ws_in_msg)
            flow_warn(c, done, FLOW_PROB_WS,
                      "WebSocket %s: new message before the fragmented one ended",
                      flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
        a->ws_in_msg = true;
        a->ws_len = 0;
        a->ws_first_frame = frame_at(a, a->base);
    } else if (!a->ws_in_msg) {
        flow_warn(c, done, FLOW_PROB_WS,
                  "WebSocket %s: continuation frame without a message",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
        consume(a, f.hdr_len + plen);
        return STEP_AGAIN;
    }
    if (a->ws_len + plen > c->lim.ws_max_message) {
        flow_warn(c, done, FLOW_PROB_WS, "WebSocket %s: message over %zu bytes dropped",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)),
                  c->lim.ws_max_message);
        a->ws_in_msg = false;
        consume(a, f.hdr_len + plen);
        return STEP_AGAIN;
    }
    if (a->ws_len + plen > a->ws_cap) {
        size_t cap = a->ws_cap ? a->ws_cap : 4096;
        uint8_t *n;

        while (cap < a->ws_len + plen)
            cap *= 2;
        n = realloc(a->ws, cap);
        if (!n) {
            flow_warn(c, done, FLOW_PROB_WS, "WebSocket: out of memory, message dropped");
            a->ws_in_msg = false;
            consume(a, f.hdr_len + plen);
            return STEP_AGAIN;
        }
        c->tcp.bytes += cap - a->ws_cap;
        a->ws = n;
        a->ws_cap = cap;
    }
    if (plen) memcpy(a->ws + a->ws_len, pl, plen);
    a->ws_len += plen;
    consume(a, f.hdr_len + plen);
    if (f.fin) {
        a->ws_in_msg = false;
        emit_stream(c, h, FLOW_WS, a->ws, a->ws_len, a->ws_first_frame, done,
                    flow_is_sip(a->ws, a->ws_len), NULL, 0);
    }
    return STEP_AGAIN;
}

/* HEP v3 over TCP: each packet carries its length in bytes 4-5. */
static enum step step_hep(struct flow_capture *c, struct flow_half *h, uint64_t done)
{
    struct flow_app *a = &h->app;
    struct flow_packet pk;
    char pair[128];
    size_t n;

    if (a->len < 6) return STEP_NEED;
    n = (size_t) a->buf[4] << 8 | a->buf[5];
    if (memcmp(a->buf, "HEP3", 4) != 0 || n < 6) {
        flow_warn(c, done, FLOW_PROB_HEP, "TCP %s: lost the HEP3 framing; rest skipped",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
        set_mode(a, FLOW_APP_OTHER);
        return STEP_NEED;
    }
    if (a->len < n) return STEP_NEED;
    memset(&pk, 0, sizeof(pk));
    pk.frame = done;
    pk.first_frame = frame_at(a, a->base);
    if (!pk.first_frame || pk.first_frame > done) pk.first_frame = done;
    pk.ts_ns = c->now_ns;
    pk.src = h->src;
    pk.dst = h->dst;
    pk.transport = FLOW_TCP;
    pk.ip_proto = 6;
    pk.data = a->buf;
    pk.len = n;
    flow_hep_deliver(c, &pk);
    consume(a, n);
    return STEP_AGAIN;
}

static void process(struct flow_capture *c, struct flow_half *h, uint64_t done)
{
    enum step s = STEP_AGAIN;

    /* Every step consumes bytes, changes mode or returns STEP_NEED; the count
     * bounds the loop even so. */
    for (size_t guard = 0; s == STEP_AGAIN && guard < 1000000; guard++) {
        switch (h->app.mode) {
        case FLOW_APP_UNKNOWN: s = step_unknown(c, h); break;
        case FLOW_APP_SIP: s = step_sip(c, h, done); break;
        case FLOW_APP_HTTP: s = step_http(c, h); break;
        case FLOW_APP_WS: s = step_ws(c, h, done); break;
        case FLOW_APP_HEP: s = step_hep(c, h, done); break;
        case FLOW_APP_TLS:
        case FLOW_APP_OTHER:
            drop_all(&h->app);
            s = STEP_NEED;
            break;
        }
    }
}

void flow_app_data(struct flow_capture *c, struct flow_half *h, const uint8_t *p,
                   size_t len, uint64_t frame, uint64_t done)
{
    struct flow_app *a = &h->app;
    char pair[128];

    if (a->mode == FLOW_APP_TLS || a->mode == FLOW_APP_OTHER) {
        a->base += len;
        return;
    }
    if (a->len + len > c->lim.stream_max_buffer) {
        flow_warn(c, done, FLOW_PROB_SIP,
                  "TCP %s: %zu bytes without a complete message; dropped",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), a->len);
        drop_all(a);
        if (a->mode == FLOW_APP_SIP)
            a->mode = FLOW_APP_UNKNOWN;
        else if (a->mode != FLOW_APP_UNKNOWN)
            set_mode(a, FLOW_APP_OTHER);
        if (len > c->lim.stream_max_buffer) {
            a->base += len;
            return;
        }
    }
    if (a->len + len > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        uint8_t *n;

        while (cap < a->len + len)
            cap *= 2;
        n = realloc(a->buf, cap);
        if (!n) {
            flow_warn(c, done, FLOW_PROB_TCP_LIMIT,
                      "TCP %s: out of memory, bytes dropped",
                      flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
            flow_app_gap(c, h, len);
            return;
        }
        c->tcp.bytes += cap - a->cap;
        a->buf = n;
        a->cap = cap;
    }
    mark_add(a, a->base + a->len, frame);
    memcpy(a->buf + a->len, p, len);
    a->len += len;
    process(c, h, done);
}

void flow_app_gap(struct flow_capture *c, struct flow_half *h, uint64_t n)
{
    struct flow_app *a = &h->app;

    (void) c;
    drop_all(a);
    a->base += n;
    a->ws_in_msg = false;
    switch (a->mode) {
    case FLOW_APP_SIP: a->mode = FLOW_APP_UNKNOWN; break;
    case FLOW_APP_UNKNOWN:
    case FLOW_APP_TLS:
    case FLOW_APP_OTHER: break;
    case FLOW_APP_HTTP:
    case FLOW_APP_HEP:
    case FLOW_APP_WS: a->mode = FLOW_APP_OTHER; break;
    }
    a->unknown_bytes = 0;
}

void flow_app_close(struct flow_capture *c, struct flow_half *h)
{
    struct flow_app *a = &h->app;
    char pair[128];

    if (a->mode == FLOW_APP_SIP) {
        skip_crlf(a);
        if (a->len)
            flow_warn(
                c, frame_at(a, a->base), FLOW_PROB_SIP,
                "TCP %s: incomplete SIP message (%zu bytes) at the end of the stream",
                flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), a->len);
    }
    if (a->mode == FLOW_APP_WS && (a->ws_in_msg || a->len))
        flow_warn(c, frame_at(a, a->base), FLOW_PROB_WS,
                  "WebSocket %s: incomplete message at the end of the stream",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
    c->tcp.bytes -= a->cap + a->ws_cap;
    free(a->buf);
    free(a->ws);
    memset(a, 0, sizeof(*a));
}
