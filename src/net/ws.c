/* WebSocket for SIP (RFC 6455, RFC 7118): frames, the Upgrade handshake, reassembly. */
#include "net/ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/buf.h"

/* Bytes of message buffer a connection keeps between messages (most SIP
 * messages fit). */
#define WS_KEEP_MESSAGE_BUFFER 8192

/* §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ================================================================== frames */

int sk_ws_frame_parse(const uint8_t *p, size_t len, struct sk_ws_frame *f,
                      const char **why)
{
    size_t need = 2;
    uint64_t plen;

    if (len < 2) return EAGAIN;
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->masked = (p[1] & 0x80) != 0;
    plen = p[1] & 0x7f;
    if (p[0] & 0x70) {
        /* RSV bits are only set by negotiated extensions (permessage-deflate). */
        *why = "reserved bits set (a compression extension?)";
        return EBADMSG;
    }
    if (plen == 126)
        need += 2;
    else if (plen == 127)
        need += 8;
    if (f->masked) need += 4;
    if (len < need) return EAGAIN;
    if (plen == 126) {
        plen = (uint64_t) p[2] << 8 | p[3];
    } else if (plen == 127) {
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        /* §5.2: the most significant bit MUST be 0. */
        if (plen >> 63) {
            *why = "64-bit payload length with the top bit set";
            return EBADMSG;
        }
    }
    if (f->masked)
        for (int i = 0; i < 4; i++)
            f->mask[i] = p[need - 4 + (size_t) i];
    if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode >= 11) {
        *why = "reserved opcode";
        return EBADMSG;
    }
    /* §5.5: control frames are short and never fragmented. */
    if (f->opcode >= 8 && (plen > SK_WS_MAX_CONTROL || !f->fin)) {
        *why = "control frame longer than 125 bytes or fragmented";
        return EBADMSG;
    }
    f->hdr_len = need;
    f->payload_len = plen;
    return 0;
}

size_t sk_ws_frame_header_write(uint8_t out[SK_WS_MAX_HEADER], bool fin, uint8_t opcode,
                                const uint8_t *mask, uint64_t payload_len)
{
    size_t n = 2;

    out[0] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0f));
    out[1] = mask ? 0x80 : 0;
    if (payload_len < 126) {
        out[1] |= (uint8_t) payload_len;
    } else if (payload_len <= 0xffff) {
        out[1] |= 126;
        out[2] = (uint8_t) (payload_len >> 8);
        out[3] = (uint8_t) payload_len;
        n = 4;
    } else {
        out[1] |= 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t) (payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void sk_ws_mask(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++)
        p[i] ^= mask[(offset + i) & 3];
}

/* Continuation bytes 10xxxxxx; the second byte's range narrows for the first
 * bytes whose shortest forms or code points are limited (RFC 3629 §4). */
bool sk_ws_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = p[i];
        uint8_t lo = 0x80, hi = 0xbf;
        size_t more;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0) lo = 0xa0; /* overlong */
            if (c == 0xed) hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0) lo = 0x90; /* overlong */
            if (c == 0xf4) hi = 0x8f; /* past U+10FFFF */
        } else {
            return false;
        }
        if (len - i - 1 < more) return false;
        if (p[i + 1] < lo || p[i + 1] > hi) return false;
        for (size_t k = 2; k <= more; k++)
            if ((p[i + k] & 0xc0) != 0x80) return false;
        i += more + 1;
    }
    return true;
}

bool sk_ws_close_code_valid(unsigned code)
{
    /* 1004-1006 and 1015 are reserved and never sent; 1012-1014 are registered
     * with IANA since RFC 6455. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int sk_ws_accept_value(const char *key, size_t key_len, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (!ctx) return EIO;
    ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
         EVP_DigestUpdate(ctx, key, key_len) &&
         EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) &&
         EVP_DigestFinal_ex(ctx, md, &md_len) && md_len == 20;
    EVP_MD_CTX_free(ctx);
    if (!ok) return EIO;
    EVP_EncodeBlock((unsigned char *) out, md, 20);
    return 0;
}

/* =============================================================== the state */

struct sk_ws {
    enum sk_ws_role role;
    enum sk_ws_state state;
    struct sk_ws_config cfg;

    /* handshake head, kept for the request's slices */
    char *hs;
    size_t hs_len, hs_cap;
    struct sk_str path, host, origin;
    char accept[29]; /* client: the value the server must send */

    /* frame decoder */
    uint8_t hdr[SK_WS_MAX_HEADER];
    size_t hdr_len;
    bool in_frame; /* header decoded, payload being read */
    struct sk_ws_frame f;
    uint64_t got; /* payload bytes of f read so far */

    /* message being reassembled (§5.4) */
    uint8_t *msg;
    size_t msg_len, msg_cap;
    bool in_msg, msg_text;

    uint8_t ctl[SK_WS_MAX_CONTROL];
    bool close_sent;

    struct sk_buf out;
};

static void config_defaults(struct sk_ws_config *c)
{
    if (!c->max_handshake) c->max_handshake = 8192;
    if (!c->max_headers) c->max_headers = 64;
    if (!c->max_frame) c->max_frame = 65536;
    if (!c->max_message) c->max_message = 65536;
    if (!c->path) c->path = "/";
}

/* A value for a request line or header: printable ASCII and spaces only. */
static bool header_safe(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f) return false;
    return true;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* §4.1: a nonce of 16 bytes in base64 is 22 characters and "==". */
static bool key_valid(struct sk_str k)
{
    if (k.len != 24 || k.p[22] != '=' || k.p[23] != '=') return false;
    for (size_t i = 0; i < 22; i++)
        if (!b64_char(k.p[i])) return false;
    return true;
}

static int client_request(struct sk_ws *w)
{
    char key[32];
    struct sk_buf *b = &w->out;

    if (w->cfg.key) {
        if (!key_valid(sk_str_cstr(w->cfg.key))) return EINVAL;
        memcpy(key, w->cfg.key, 25);
    } else {
        unsigned char nonce[16];

        if (RAND_bytes(nonce, sizeof(nonce)) != 1) return EIO;
        EVP_EncodeBlock((unsigned char *) key, nonce, sizeof(nonce));
    }
    if (sk_ws_accept_value(key, 24, w->accept)) return EIO;
    sk_buf_printf(b,
                  "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n",
                  w->cfg.path, w->cfg.host, key);
    if (w->cfg.origin) sk_buf_printf(b, "Origin: %s\r\n", w->cfg.origin);
    sk_buf_puts(b, "\r\n");
    return b->failed ? ENOMEM : 0;
}

int sk_ws_new(struct sk_ws **wp, enum sk_ws_role role, const struct sk_ws_config *cfg)
{
    struct sk_ws *w;
    int err;

    w = calloc(1, sizeof(*w));
    if (!w) return ENOMEM;
    if (cfg) w->cfg = *cfg;
    config_defaults(&w->cfg);
    w->role = role;
    w->state = SK_WS_HANDSHAKE;
    sk_buf_init(&w->out);
    if (role == SK_WS_CLIENT) {
        err = EINVAL;
        if (!w->cfg.host || !*w->cfg.host || !header_safe(w->cfg.host) ||
            !header_safe(w->cfg.path) || !*w->cfg.path || strchr(w->cfg.path, ' ') ||
            !header_safe(w->cfg.origin))
            goto out;
        err = client_request(w);
        if (err) goto out;
    }
    *wp = w;
    return 0;
out:
    sk_ws_free(w);
    return err;
}

void sk_ws_free(struct sk_ws *w)
{
    if (!w) return;
    free(w->hs);
    free(w->msg);
    sk_buf_free(&w->out);
    free(w);
}

enum sk_ws_state sk_ws_state(const struct sk_ws *w)
{
    return w->state;
}

struct sk_str sk_ws_request_path(const struct sk_ws *w)
{
    return w->path;
}

struct sk_str sk_ws_request_host(const struct sk_ws *w)
{
    return w->host;
}

struct sk_str sk_ws_request_origin(const struct sk_ws *w)
{
    return w->origin;
}

const uint8_t *sk_ws_output(const struct sk_ws *w, size_t *len)
{
    *len = w->out.len;
    return w->out.len ? (const uint8_t *) w->out.p : NULL;
}

void sk_ws_output_done(struct sk_ws *w, size_t n)
{
    if (n >= w->out.len) {
        sk_buf_reset(&w->out);
        return;
    }
    memmove(w->out.p, w->out.p + n, w->out.len - n);
    w->out.len -= n;
    w->out.p[w->out.len] = '\0';
}

/* ============================================================ frames out */

static int put_frame(struct sk_ws *w, bool fin, uint8_t opcode, const void *p, size_t len)
{
    uint8_t hdr[SK_WS_MAX_HEADER], key[4];
    size_t hlen, at;
    char *dst;

    /* §5.3: a client masks every frame with a fresh, unpredictable key. */
    if (w->role == SK_WS_CLIENT && RAND_bytes(key, sizeof(key)) != 1) return EIO;
    hlen = sk_ws_frame_header_write(hdr, fin, opcode,
                                    w->role == SK_WS_CLIENT ? key : NULL, len);
    at = w->out.len;
    dst = sk_buf_extend(&w->out, hlen + len);
    if (!dst) {
        /* keep what was queued before: the failed buffer would refuse all else */
        w->out.failed = false;
        w->out.len = at;
        return ENOMEM;
    }
    memcpy(dst, hdr, hlen);
    if (len) memcpy(dst + hlen, p, len);
    if (w->role == SK_WS_CLIENT) sk_ws_mask((uint8_t *) dst + hlen, len, key, 0);
    return 0;
}

/* A close frame: the code (0: none) and up to 123 bytes of reason. */
static int put_close(struct sk_ws *w, unsigned code, const char *reason, size_t rlen)
{
    uint8_t pl[SK_WS_MAX_CONTROL];
    size_t n = 0;

    if (code) {
        pl[0] = (uint8_t) (code >> 8);
        pl[1] = (uint8_t) code;
        n = 2;
        if (rlen > SK_WS_MAX_CONTROL - 2) rlen = SK_WS_MAX_CONTROL - 2;
        if (rlen) memcpy(pl + 2, reason, rlen);
        n += rlen;
    }
    w->close_sent = true;
    return put_frame(w, true, SK_WS_OP_CLOSE, pl, n);
}

int sk_ws_send(struct sk_ws *w, bool text, const void *p, size_t len)
{
    if (w->state == SK_WS_HANDSHAKE) return ENOTCONN;
    if (w->state != SK_WS_OPEN) return EPIPE;
    return put_frame(w, true, text ? SK_WS_OP_TEXT : SK_WS_OP_BINARY, p, len);
}

int sk_ws_ping(struct sk_ws *w, const void *p, size_t len)
{
    if (len > SK_WS_MAX_CONTROL) return EINVAL;
    if (w->state == SK_WS_HANDSHAKE) return ENOTCONN;
    if (w->state != SK_WS_OPEN) return EPIPE;
    return put_frame(w, true, SK_WS_OP_PING, p, len);
}

int sk_ws_close(struct sk_ws *w, unsigned code, const char *reason)
{
    if (!sk_ws_close_code_valid(code)) return EINVAL;
    if (w->state == SK_WS_HANDSHAKE) {
        w->state = SK_WS_CLOSED;
        return 0;
    }
    if (w->state != SK_WS_OPEN) return EPIPE;
    w->state = SK_WS_CLOSING;
    return put_close(w, code, reason, reason ? strlen(reason) : 0);
}

/* ============================================================ handshake */

/* One line of the head: [*at, end of line), *at moves past its CR LF. */
static bool next_line(const char *p, size_t len, size_t *at, struct sk_str *line)
{
    const char *s = p + *at, *nl = memchr(s, '\n', len - *at);

    if (!nl || nl == s || nl[-1] != '\r') return false;
    *line = sk_str_make(s, (size_t) (nl - 1 - s));
    *at = (size_t) (nl + 1 - p);
    return true;
}

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value" (RFC 9110 §5): a token, a colon, the value without its OWS. */
static bool split_header(struct sk_str line, struct sk_str *name, struct sk_str *value)
{
    const char *colon = sk_str_chr(line, ':');
    size_t i;

    if (!colon || colon == line.p) return false;
    *name = sk_str_make(line.p, (size_t) (colon - line.p));
    for (i = 0; i < name->len; i++)
        if (!tchar(name->p[i])) return false;
    *value = sk_str_trim(sk_str_make(colon + 1, line.len - name->len - 1));
    for (i = 0; i < value->len; i++)
        if ((unsigned char) value->p[i] < 0x20 && value->p[i] != '\t') return false;
    return true;
}

/* A comma-separated list (Connection, Upgrade, Sec-WebSocket-Protocol) holding tok. */
static bool list_has(struct sk_str v, const char *tok)
{
    while (v.len) {
        const char *comma = sk_str_chr(v, ',');
        size_t n = comma ? (size_t) (comma - v.p) : v.len;

        if (sk_str_ieq_cstr(sk_str_trim(sk_str_make(v.p, n)), tok)) return true;
        if (!comma) break;
        v = sk_str_make(comma + 1, v.len - n - 1);
    }
    return false;
}

/* What the head says, header by header. */
struct head {
    struct sk_str start; /* request or status line */
    struct sk_str host, key, version, origin, accept, protocol, extensions;
    bool upgrade, connection, protocol_sip;
    unsigned dup_host, dup_key, dup_version, dup_origin, dup_accept;
};

static void note_header(struct head *h, struct sk_str name, struct sk_str value)
{
    if (sk_str_ieq_cstr(name, "Host")) {
        h->dup_host += sk_str_isset(h->host);
        h->host = value;
    } else if (sk_str_ieq_cstr(name, "Upgrade")) {
        h->upgrade |= list_has(value, "websocket");
    } else if (sk_str_ieq_cstr(name, "Connection")) {
        h->connection |= list_has(value, "upgrade");
    } else if (sk_str_ieq_cstr(name, "Sec-WebSocket-Key")) {
        h->dup_key += sk_str_isset(h->key);
        h->key = value;
    } else if (sk_str_ieq_cstr(name, "Sec-WebSocket-Version")) {
        h->dup_version += sk_str_isset(h->version);
        h->version = value;
    } else if (sk_str_ieq_cstr(name, "Origin")) {
        h->dup_origin += sk_str_isset(h->origin);
        h->origin = value;
    } else if (sk_str_ieq_cstr(name, "Sec-WebSocket-Accept")) {
        h->dup_accept += sk_str_isset(h->accept);
        h->accept = value;
    } else if (sk_str_ieq_cstr(name, "Sec-WebSocket-Protocol")) {
        /* §4.1: the header may appear more than once, its values add up */
        h->protocol_sip |= list_has(value, "sip");
        h->protocol = value;
    } else if (sk_str_ieq_cstr(name, "Sec-WebSocket-Extensions")) {
        h->extensions = value;
    }
}

/* Split the head (ending in an empty line) into its start line and headers.
 * Returns NULL, or what is wrong with it and *status (400, 431). */
static const char *parse_head(const struct sk_ws *w, struct head *h, int *status)
{
    size_t at = 0;
    unsigned n = 0;
    struct sk_str line, name, value;

    memset(h, 0, sizeof(*h));
    *status = 400;
    if (!next_line(w->hs, w->hs_len, &at, &h->start)) return "malformed first line";
    for (;;) {
        if (!next_line(w->hs, w->hs_len, &at, &line)) return "a line without CR LF";
        if (line.len == 0) return NULL;
        if (++n > w->cfg.max_headers) {
            *status = 431;
            return "too many header lines";
        }
        if (line.p[0] == ' ' || line.p[0] == '\t') return "a folded header line";
        if (!split_header(line, &name, &value)) return "a malformed header line";
        note_header(h, name, value);
    }
}

/* The server's checks (§4.2.1, RFC 7118 §4), in order; NULL when all pass. */
static const char *check_request(struct sk_ws *w, const struct head *h, int *status)
{
    struct sk_str s = h->start;
    const char *sp1 = sk_str_chr(s, ' '), *sp2;

    *status = 400;
    if (!sp1) return "malformed request line";
    if ((size_t) (sp1 - s.p) != 3 || memcmp(s.p, "GET", 3) != 0)
        return "method is not GET";
    sp2 = sk_str_chr(sk_str_make(sp1 + 1, s.len - 4), ' ');
    if (!sp2 || sp2 == sp1 + 1) return "malformed request line";
    if (!sk_str_eq_cstr(sk_str_make(sp2 + 1, (size_t) (s.p + s.len - sp2 - 1)),
                        "HTTP/1.1"))
        return "not HTTP/1.1";
    w->path = sk_str_make(sp1 + 1, (size_t) (sp2 - sp1 - 1));
    for (size_t i = 0; i < w->path.len; i++)
        if ((unsigned char) w->path.p[i] <= 0x20 || w->path.p[i] == 0x7f)
            return "malformed request line";
    if (!sk_str_isset(h->host) || !h->host.len) return "no Host header";
    if (h->dup_host) return "more than one Host header";
    if (!h->upgrade) return "Upgrade is not websocket";
    if (!h->connection) return "Connection does not list Upgrade";
    if (h->dup_version || !sk_str_eq_cstr(h->version, "13")) {
        *status = 426;
        return "Sec-WebSocket-Version is not 13";
    }
    if (!sk_str_isset(h->key)) return "no Sec-WebSocket-Key header";
    if (h->dup_key || !key_valid(h->key))
        return "Sec-WebSocket-Key is not 16 bytes in base64";
    if (w->cfg.origins) {
        bool ok = false;

        *status = 403;
        if (!sk_str_isset(h->origin)) return "no Origin header";
        for (const char *const *o = w->cfg.origins; *o && !ok; o++)
            ok = !h->dup_origin && sk_str_ieq_cstr(h->origin, *o);
        if (!ok) return "Origin not allowed";
        *status = 400;
    }
    if (!h->protocol_sip) return "the sip subprotocol is not offered (RFC 7118)";
    w->host = h->host;
    w->origin = h->origin;
    return NULL;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 403: return "Forbidden";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Bad Request";
    }
}

/* A refusal: the status, the fault in a text body, and Connection: close. */
static void server_refuse(struct sk_ws *w, int status, const char *why,
                          struct sk_ws_event *ev)
{
    sk_buf_printf(&w->out, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
    if (status == 426) sk_buf_puts(&w->out, "Sec-WebSocket-Version: 13\r\n");
    sk_buf_printf(&w->out,
                  "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n%s\r\n",
                  strlen(why) + 2, why);
    w->state = SK_WS_CLOSED;
    ev->kind = SK_WS_EV_CLOSED;
    ev->http_status = status;
    ev->why = why;
}

static void server_handshake(struct sk_ws *w, struct sk_ws_event *ev)
{
    struct head h;
    char accept[29];
    int status;
    const char *why = parse_head(w, &h, &status);

    if (!why) why = check_request(w, &h, &status);
    if (!why && sk_ws_accept_value(h.key.p, h.key.len, accept)) {
        status = 500;
        why = "no SHA-1";
    }
    if (why) {
        server_refuse(w, status, why, ev);
        return;
    }
    sk_buf_printf(&w->out,
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                  "Sec-WebSocket-Protocol: sip\r\n\r\n",
                  accept);
    if (w->out.failed) {
        w->state = SK_WS_CLOSED;
        ev->kind = SK_WS_EV_CLOSED;
        ev->why = "out of memory";
        return;
    }
    w->state = SK_WS_OPEN;
    ev->kind = SK_WS_EV_OPEN;
}

/* The client's checks of the server's answer (§4.1, the list at its end). */
static const char *check_response(const struct sk_ws *w, const struct head *h,
                                  int *status)
{
    struct sk_str s = h->start;

    *status = 0;
    if (s.len < 12 || memcmp(s.p, "HTTP/1.1 ", 9) != 0 || s.p[9] < '1' || s.p[9] > '5' ||
        s.p[10] < '0' || s.p[10] > '9' || s.p[11] < '0' || s.p[11] > '9' ||
        (s.len > 12 && s.p[12] != ' '))
        return "malformed status line";
    *status = (s.p[9] - '0') * 100 + (s.p[10] - '0') * 10 + (s.p[11] - '0');
    if (*status != 101) return "the server refused the upgrade";
    if (!h->upgrade) return "Upgrade is not websocket";
    if (!h->connection) return "Connection does not list Upgrade";
    if (h->dup_accept || !sk_str_eq_cstr(h->accept, w->accept))
        return "wrong Sec-WebSocket-Accept";
    if (sk_str_isset(h->extensions)) return "an extension the client did not offer";
    if (!sk_str_eq_cstr(h->protocol, "sip")) return "the server did not choose sip";
    return NULL;
}

static void client_handshake(struct sk_ws *w, struct sk_ws_event *ev)
{
    struct head h;
    int status;
    const char *why = parse_head(w, &h, &status);

    status = 0;
    if (!why) why = check_response(w, &h, &status);
    if (why) {
        w->state = SK_WS_CLOSED;
        ev->kind = SK_WS_EV_CLOSED;
        ev->http_status = status;
        ev->why = why;
        return;
    }
    w->state = SK_WS_OPEN;
    ev->kind = SK_WS_EV_OPEN;
}

/* Gather the head up to its empty line, within max_handshake; then judge it. */
static size_t handshake_input(struct sk_ws *w, const uint8_t *p, size_t len,
                              struct sk_ws_event *ev)
{
    size_t room = w->cfg.max_handshake - w->hs_len, take = len < room ? len : room;
    size_t from = w->hs_len > 3 ? w->hs_len - 3 : 0;
    const char *end;

    if (w->hs_cap < w->hs_len + take) {
        size_t cap = w->hs_cap ? w->hs_cap : 512;
        char *n;

        while (cap < w->hs_len + take)
            cap *= 2;
        if (cap > w->cfg.max_handshake) cap = w->cfg.max_handshake;
        n = realloc(w->hs, cap);
        if (!n) {
            w->state = SK_WS_CLOSED;
            ev->kind = SK_WS_EV_CLOSED;
            ev->why = "out of memory";
            return len;
        }
        w->hs = n;
        w->hs_cap = cap;
    }
    memcpy(w->hs + w->hs_len, p, take);
    end = memmem(w->hs + from, w->hs_len + take - from, "\r\n\r\n", 4);
    if (!end) {
        w->hs_len += take;
        if (w->hs_len < w->cfg.max_handshake) return take;
        if (w->role == SK_WS_SERVER) {
            server_refuse(w, 431, "handshake request too large", ev);
        } else {
            w->state = SK_WS_CLOSED;
            ev->kind = SK_WS_EV_CLOSED;
            ev->why = "handshake response too large";
        }
        return len;
    }
    take = (size_t) (end + 4 - (w->hs + w->hs_len));
    w->hs_len += take;
    if (w->role == SK_WS_SERVER)
        server_handshake(w, ev);
    else
        client_handshake(w, ev);
    return take;
}

/* ============================================================ frames in */

/* Fail the connection (§7.1.7): send a close with the code, stop reading. */
static void fail(struct sk_ws *w, unsigned code, const char *why, struct sk_ws_event *ev)
{
    if (!w->close_sent) put_close(w, code, why, strlen(why));
    w->state = SK_WS_CLOSED;
    memset(ev, 0, sizeof(*ev));
    ev->kind = SK_WS_EV_CLOSED;
    ev->code = code;
    ev->why = why;
}

/* Judge a new frame's header against the endpoint's rules; false when it failed. */
static bool frame_start(struct sk_ws *w, struct sk_ws_event *ev)
{
    const struct sk_ws_frame *f = &w->f;

    /* §5.1: clients mask every frame, servers none */
    if (w->role == SK_WS_SERVER && !f->masked) {
        fail(w, SK_WS_CLOSE_PROTOCOL, "unmasked frame from the client", ev);
        return false;
    }
    if (w->role == SK_WS_CLIENT && f->masked) {
        fail(w, SK_WS_CLOSE_PROTOCOL, "masked frame from the server", ev);
        return false;
    }
    if (f->opcode >= 8) return true; /* length and FIN checked by the parser */
    if (f->opcode == SK_WS_OP_CONT && !w->in_msg) {
        fail(w, SK_WS_CLOSE_PROTOCOL, "continuation frame without a message", ev);
        return false;
    }
    if (f->opcode != SK_WS_OP_CONT && w->in_msg) {
        fail(w, SK_WS_CLOSE_PROTOCOL, "new message inside a fragmented one", ev);
        return false;
    }
    if (f->payload_len > w->cfg.max_frame) {
        fail(w, SK_WS_CLOSE_TOO_BIG, "frame too large", ev);
        return false;
    }
    if (f->opcode != SK_WS_OP_CONT) {
        w->in_msg = true;
        w->msg_text = f->opcode == SK_WS_OP_TEXT;
        w->msg_len = 0;
    }
    if (f->payload_len > w->cfg.max_message - w->msg_len) {
        fail(w, SK_WS_CLOSE_TOO_BIG, "message too large", ev);
        return false;
    }
    if (w->msg_len + f->payload_len > w->msg_cap) {
        size_t cap = w->msg_cap ? w->msg_cap : 1024;
        uint8_t *n;

        while (cap < w->msg_len + f->payload_len)
            cap *= 2;
        n = realloc(w->msg, cap);
        if (!n) {
            fail(w, SK_WS_CLOSE_INTERNAL, "out of memory", ev);
            return false;
        }
        w->msg = n;
        w->msg_cap = cap;
    }
    return true;
}

/* §5.5.1: the peer's close, answered with the same code if we sent none. */
static void on_close(struct sk_ws *w, struct sk_ws_event *ev)
{
    size_t n = (size_t) w->f.payload_len;
    unsigned code = SK_WS_CLOSE_NO_STATUS;
    bool ours = w->close_sent;

    if (n == 1) {
        fail(w, SK_WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload", ev);
        return;
    }
    if (n >= 2) {
        code = (unsigned) w->ctl[0] << 8 | w->ctl[1];
        if (!sk_ws_close_code_valid(code)) {
            fail(w, SK_WS_CLOSE_PROTOCOL, "close frame with an invalid status code", ev);
            return;
        }
        if (!sk_ws_utf8_valid(w->ctl + 2, n - 2)) {
            fail(w, SK_WS_CLOSE_INVALID_DATA, "close reason is not UTF-8", ev);
            return;
        }
    }
    if (!ours) put_close(w, n >= 2 ? code : 0, NULL, 0);
    w->state = SK_WS_CLOSED;
    ev->kind = SK_WS_EV_CLOSED;
    ev->code = code;
    ev->data = n > 2 ? w->ctl + 2 : NULL;
    ev->len = n > 2 ? n - 2 : 0;
    ev->why = ours ? "close handshake complete" : "closed by the peer";
}

/* A frame's payload is all in: act on it. */
static void frame_done(struct sk_ws *w, struct sk_ws_event *ev)
{
    w->in_frame = false;
    switch (w->f.opcode) {
    case SK_WS_OP_CLOSE: on_close(w, ev); return;
    case SK_WS_OP_PING:
        /* §5.5.2: a pong with the ping's payload, unless we are closing */
        if (w->state == SK_WS_OPEN &&
            put_frame(w, true, SK_WS_OP_PONG, w->ctl, (size_t) w->f.payload_len))
            fail(w, SK_WS_CLOSE_INTERNAL, "out of memory", ev);
        return;
    case SK_WS_OP_PONG: return; /* §5.5.3: an unsolicited pong needs no answer */
    default: break;
    }
    w->msg_len += (size_t) w->f.payload_len;
    if (!w->f.fin) return;
    w->in_msg = false;
    /* §8.1: a text message is UTF-8 as a whole (a character may span frames) */
    if (w->msg_text && !sk_ws_utf8_valid(w->msg, w->msg_len)) {
        fail(w, SK_WS_CLOSE_INVALID_DATA, "text message is not UTF-8", ev);
        return;
    }
    ev->kind = SK_WS_EV_MESSAGE;
    ev->text = w->msg_text;
    ev->data = w->msg;
    ev->len = w->msg_len;
}

/* Header bytes into w->hdr until a header decodes; how many of p were used. */
static size_t header_input(struct sk_ws *w, const uint8_t *p, size_t len,
                           struct sk_ws_event *ev)
{
    size_t k = SK_WS_MAX_HEADER - w->hdr_len, had = w->hdr_len;
    const char *why = NULL;
    int rc;

    if (k > len) k = len;
    memcpy(w->hdr + w->hdr_len, p, k);
    rc = sk_ws_frame_parse(w->hdr, w->hdr_len + k, &w->f, &why);
    if (rc == EAGAIN) {
        w->hdr_len += k; /* k == len: a full header never needs more */
        return k;
    }
    if (rc) {
        fail(w, SK_WS_CLOSE_PROTOCOL, why, ev);
        return len;
    }
    w->hdr_len = 0;
    w->got = 0;
    if (!frame_start(w, ev)) return len;
    w->in_frame = true;
    if (w->f.payload_len == 0) frame_done(w, ev);
    return w->f.hdr_len - had;
}

static size_t payload_input(struct sk_ws *w, const uint8_t *p, size_t len,
                            struct sk_ws_event *ev)
{
    uint64_t left = w->f.payload_len - w->got;
    size_t n = left < len ? (size_t) left : len;
    uint8_t *dst = w->f.opcode >= 8 ? w->ctl + w->got : w->msg + w->msg_len + w->got;

    memcpy(dst, p, n);
    if (w->f.masked) sk_ws_mask(dst, n, w->f.mask, w->got);
    w->got += n;
    if (w->got == w->f.payload_len) frame_done(w, ev);
    return n;
}

size_t sk_ws_input(struct sk_ws *w, const uint8_t *p, size_t len, struct sk_ws_event *ev)
{
    size_t used = 0;

    memset(ev, 0, sizeof(*ev));
    /* A connection keeps a buffer for its usual messages; one grown for a large
     * message (up to max_message) goes once that message has been handed up. */
    if (!w->in_msg && w->msg_cap > WS_KEEP_MESSAGE_BUFFER) {
        free(w->msg);
        w->msg = NULL;
        w->msg_cap = 0;
    }
    if (w->state == SK_WS_CLOSED) return len;
    if (w->state == SK_WS_HANDSHAKE) return len ? handshake_input(w, p, len, ev) : 0;
    while (used < len && ev->kind == SK_WS_EV_NONE) {
        if (w->in_frame)
            used += payload_input(w, p + used, len - used, ev);
        else
            used += header_input(w, p + used, len - used, ev);
    }
    if (w->state == SK_WS_CLOSED) return len;
    return used;
}
