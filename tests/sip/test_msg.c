/* SIP message parser: stream framing, guard-page safety, limits, printer round trip,
 * syntax corners, validation. */
#define TU_CHECKS
#include "testutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/hdr.h"
#include "sip/limits.h"
#include "sip/msg.h"
#include "sip/print.h"
#include "sip/uri.h"

/* ---- assertion helpers (print the case under test on failure) ---- */

static char g_ctx[160];

static void set_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_ctx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_ctx, sizeof(g_ctx), fmt, ap);
    va_end(ap);
}

/* Same bytes; an unset slice and an empty one count as equal. */
static void chk_same(struct sk_str s, struct sk_str t, const char *what, const char *file,
                     int line)
{
    if (s.len == 0 && t.len == 0) return;
    chk_str(s, t.p ? t.p : "", t.len, what, file, line);
}
#define CHK_SAME(s, t) chk_same((s), (t), #s, __FILE__, __LINE__)

/* rc must be EBADMSG with a usable error */
#define CHK_BAD(rc, err)                                                                 \
    do {                                                                                 \
        int rc_ = (rc);                                                                  \
        if (rc_ != EBADMSG)                                                              \
            fail_at(__FILE__, __LINE__, "%s returned %d, expected EBADMSG", #rc, rc_);   \
        if (!(err).reason || !(err).reason[0])                                           \
            fail_at(__FILE__, __LINE__, "no reason for %s", #rc);                        \
        if ((err).status < 400 || (err).status > 599)                                    \
            fail_at(__FILE__, __LINE__, "status %d for %s", (err).status, #rc);          \
    } while (0)

#define CHK_OK(rc, err)                                                                  \
    do {                                                                                 \
        int rc_ = (rc);                                                                  \
        if (rc_ != 0)                                                                    \
            fail_at(__FILE__, __LINE__,                                                  \
                    "%s returned %d (status %d, reason %s, pos %zu)", #rc, rc_,          \
                    (err).status, (err).reason ? (err).reason : "(null)", (err).pos);    \
    } while (0)

static bool str_has(struct sk_str s, const char *needle)
{
    size_t n = strlen(needle);
    return s.p && s.len >= n && memmem(s.p, s.len, needle, n) != NULL;
}

/* The reason names the header (case-insensitive, as a whole word). */
static bool mentions(const char *reason, const char *word)
{
    size_t n = strlen(word);
    if (!reason) return false;
    for (const char *p = reason; *p; p++)
        if (strncasecmp(p, word, n) == 0 &&
            (p == reason || !isalnum((unsigned char) p[-1])) &&
            !isalnum((unsigned char) p[n]))
            return true;
    return false;
}

/* ---- text builder ---- */

struct tb {
    char *p;
    size_t len, cap;
};

static void tb_addn(struct tb *t, const void *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->p = realloc(t->p, cap);
        assert_non_null(t->p);
        t->cap = cap;
    }
    if (n) memcpy(t->p + t->len, p, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void tb_add(struct tb *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tb_add(struct tb *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if ((size_t) n < sizeof(small)) {
        tb_addn(t, small, (size_t) n);
        return;
    }
    char *big = malloc((size_t) n + 1);
    assert_non_null(big);
    va_start(ap, fmt);
    vsnprintf(big, (size_t) n + 1, fmt, ap);
    va_end(ap);
    tb_addn(t, big, (size_t) n);
    free(big);
}

static void tb_rep(struct tb *t, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tb_addn(t, &c, 1);
}

static void tb_free(struct tb *t)
{
    free(t->p);
    memset(t, 0, sizeof(*t));
}

/* ---- messages ---- */

static struct sip_msg *msg_new(void)
{
    struct sip_msg *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    sip_msg_init(m);
    return m;
}

static void msg_free(struct sip_msg *m)
{
    sip_msg_release(m);
    free(m);
}

static int parse(struct sip_msg *m, const char *buf, size_t len, enum sip_parse_mode mode,
                 const struct sip_limits *lim, size_t *consumed, struct sip_error *err)
{
    size_t c = (size_t) -1;
    err->status = -1;
    err->reason = NULL;
    err->pos = (size_t) -1;
    int rc = sip_msg_parse(m, buf, len, mode, lim, consumed ? consumed : &c, err);
    return rc;
}

#define REQ_LINE "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define H_VIA "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
#define H_MF "Max-Forwards: 70\r\n"
#define H_TO "To: Bob <sip:bob@biloxi.example.com>\r\n"
#define H_FROM "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
#define H_CID "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
#define H_CSEQ "CSeq: 314159 INVITE\r\n"
#define REQ_HDRS H_VIA H_MF H_TO H_FROM H_CID H_CSEQ
#define REQ_NHDRS 6 /* + Content-Length */

/* REQ_LINE + REQ_HDRS + extra + Content-Length + body */
static void build_req(struct tb *t, const char *extra, const char *body)
{
    memset(t, 0, sizeof(*t));
    tb_add(t, "%s%s%sContent-Length: %zu\r\n\r\n%s", REQ_LINE, REQ_HDRS,
           extra ? extra : "", strlen(body ? body : ""), body ? body : "");
}

#define SDP                                                                              \
    "v=0\r\n"                                                                            \
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"                  \
    "s=Session SDP\r\n"                                                                  \
    "c=IN IP4 192.0.2.101\r\n"                                                           \
    "t=0 0\r\n"                                                                          \
    "m=audio 49172 RTP/AVP 0 8 101\r\n"                                                  \
    "a=rtpmap:0 PCMU/8000\r\n"                                                           \
    "a=rtpmap:8 PCMA/8000\r\n"                                                           \
    "a=rtpmap:101 telephone-event/8000\r\n"                                              \
    "a=fmtp:101 0-15\r\n"                                                                \
    "a=sendrecv\r\n"

/* A realistic INVITE as a proxy sees it. */
static void build_invite(struct tb *t)
{
    memset(t, 0, sizeof(*t));
    tb_add(
        t,
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP proxy.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;"
        "received=192.0.2.111\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport=5060;"
        "received=192.0.2.101\r\n"
        "Max-Forwards: 69\r\n"
        "Record-Route: <sip:proxy.atlanta.example.com;lr>\r\n"
        "Record-Route: <sip:edge.atlanta.example.com;lr>\r\n"
        "Route: <sip:edge.biloxi.example.com;lr>\r\n"
        "To: Bob <sip:bob@biloxi.example.com>\r\n"
        "From: \"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
        "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
        "CSeq: 2 INVITE\r\n"
        "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n"
        "Supported: replaces, timer\r\n"
        "User-Agent: sipkit-test/1.0\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: %zu\r\n"
        "\r\n" SDP,
        strlen(SDP));
}

/* ---- the RFC 4475 set ---- */

struct rfcmsg {
    const char *name;
    int parse; /* datagram verdict */
};

static const struct rfcmsg rfc[] = {
    {"wsinv", 0},         {"intmeth", 0},        {"esc01", 0},
    {"escnull", 0},       {"esc02", 0},          {"lwsdisp", 0},
    {"longreq", 0},       {"dblreq", 0},         {"semiuri", 0},
    {"transports", 0},    {"mpart01", 0},        {"unreason", 0},
    {"noreason", 0},      {"badinv01", EBADMSG}, {"clerr", EBADMSG},
    {"ncl", EBADMSG},     {"scalar02", EBADMSG}, {"scalarlg", EBADMSG},
    {"quotbal", EBADMSG}, {"ltgtruri", EBADMSG}, {"lwsruri", EBADMSG},
    {"lwsstart", 0},      {"trws", 0},           {"escruri", 0},
    {"baddate", 0},       {"regbadct", 0},       {"badaspec", 0},
    {"baddn", 0},         {"badvers", 0},        {"mismatch01", 0},
    {"mismatch02", 0},    {"bigcode", EBADMSG},  {"badbranch", 0},
    {"insuf", 0},         {"unkscm", 0},         {"novelsc", 0},
    {"unksm2", 0},        {"bext01", 0},         {"invut", 0},
    {"regaut01", 0},      {"multi01", 0},        {"mcl01", 0},
    {"bcast", 0},         {"zeromf", 0},         {"cparam01", 0},
    {"cparam02", 0},      {"regescrt", 0},       {"sdp01", 0},
    {"inv2543", 0},
};
#define NRFC (sizeof(rfc) / sizeof(rfc[0]))

static char *load(const char *name, size_t *len)
{
    char *b = tu_read_rfc4475(name, len);
    if (!b) fail_at(__FILE__, __LINE__, "cannot read %s.dat", name);
    return b;
}

/* ======================= stream framing ======================= */

static void test_stream_rfc4475_prefixes(void **state)
{
    struct sip_msg *m = msg_new(), *m2 = msg_new();
    struct sip_error err;
    size_t tested = 0;
    (void) state;

    for (size_t i = 0; i < NRFC; i++) {
        size_t len, consumed, c2;
        char *buf = load(rfc[i].name, &len);
        set_ctx("%s datagram", rfc[i].name);
        if (parse(m, buf, len, SIP_PARSE_DATAGRAM, NULL, &consumed, &err) != 0 ||
            !sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH)) {
            free(buf);
            continue;
        }
        if (m->count[SIP_HDR_CONTENT_LENGTH] > 1) {
            /* mcl01: conflicting lengths cannot frame a stream; refusing is fine, but a
             * success must agree with the datagram parse */
            set_ctx("%s stream (several Content-Length)", rfc[i].name);
            int rc = parse(m2, buf, len, SIP_PARSE_STREAM, NULL, &c2, &err);
            CHK(rc == 0 || rc == EBADMSG);
            if (rc == 0) CHK_INT(c2, consumed);
            free(buf);
            continue;
        }
        tested++;
        for (size_t k = 0; k < consumed; k++) {
            struct tu_guard g;
            char *d = tu_guard_copy(&g, buf, k);
            assert_non_null(d);
            set_ctx("%s stream prefix %zu/%zu", rfc[i].name, k, consumed);
            int rc = parse(m2, d, k, SIP_PARSE_STREAM, NULL, &c2, &err);
            if (rc != EAGAIN)
                fail_at(__FILE__, __LINE__,
                        "returned %d (status %d, %s), expected EAGAIN", rc, err.status,
                        err.reason ? err.reason : "(null)");
            tu_guard_free(&g);
        }
        set_ctx("%s stream full", rfc[i].name);
        struct tu_guard g;
        char *d = tu_guard_copy(&g, buf, consumed);
        assert_non_null(d);
        CHK_OK(parse(m2, d, consumed, SIP_PARSE_STREAM, NULL, &c2, &err), err);
        CHK_INT(c2, consumed);
        CHK_INT(m2->len, m->len);
        CHK_INT(m2->nhdr, m->nhdr);
        for (size_t h = 0; h < m->nhdr && h < m2->nhdr; h++)
            CHK_INT(m2->hdr[h].id, m->hdr[h].id);
        CHK_INT(m2->content_length, m->content_length);
        CHK_INT(m2->body.len, m->body.len);
        CHK(m2->body.len == 0 || memcmp(m2->body.p, m->body.p, m->body.len) == 0);
        CHK_INT(m2->is_request, m->is_request);
        {
            struct sip_error e1, e2;
            int v1 = sip_msg_validate(m, &e1), v2 = sip_msg_validate(m2, &e2);
            CHK_INT(v2, v1);
            if (v1 && v2) CHK_INT(e2.status, e1.status);
        }
        /* and with the rest of the file behind it, it stops at the same place */
        CHK_OK(parse(m2, buf, len, SIP_PARSE_STREAM, NULL, &c2, &err), err);
        CHK_INT(c2, consumed);
        tu_guard_free(&g);
        free(buf);
    }
    set_ctx("count");
    CHK_INT(tested, 38); /* 40 parse, inv2543 has no Content-Length, mcl01 has two */
    msg_free(m);
    msg_free(m2);
}

/* What a datagram parse refuses, a stream parse refuses too; clerr only waits for
 * the rest of its body. */
static void test_stream_rfc4475_rejects(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t n = 0;
    (void) state;
    for (size_t i = 0; i < NRFC; i++) {
        size_t len, c;
        if (rfc[i].parse != EBADMSG) continue;
        n++;
        char *buf = load(rfc[i].name, &len);
        set_ctx("%s stream", rfc[i].name);
        int rc = parse(m, buf, len, SIP_PARSE_STREAM, NULL, &c, &err);
        free(buf);
        if (strcmp(rfc[i].name, "clerr") == 0) {
            CHK_INT(rc, EAGAIN);
        } else {
            CHK_BAD(rc, err);
            CHK_INT(err.status, 400);
        }
    }
    CHK_INT(n, 9);
    msg_free(m);
}

static void test_stream_concatenated(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0};
    size_t c, off = 0;
    static const char *const names[] = {"wsinv", "esc01", "transports", "unreason"};
    size_t lens[4];
    (void) state;

    for (size_t i = 0; i < 4; i++) {
        char *b = load(names[i], &lens[i]);
        tb_addn(&t, b, lens[i]);
        free(b);
    }
    tb_add(&t, "OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;bra");
    for (size_t i = 0; i < 4; i++) {
        set_ctx("concatenated #%zu %s", i, names[i]);
        CHK_OK(parse(m, t.p + off, t.len - off, SIP_PARSE_STREAM, NULL, &c, &err), err);
        CHK_INT(c, lens[i]);
        CHK(m->buf == t.p + off);
        off += c;
    }
    set_ctx("concatenated tail");
    CHK_INT(parse(m, t.p + off, t.len - off, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    tb_free(&t);

    /* keep-alive CRLFs between two messages belong to the second */
    tb_add(&t, REQ_LINE REQ_HDRS "Content-Length: 0\r\n\r\n");
    size_t la = t.len;
    tb_add(&t, "\r\n\r\n" REQ_LINE REQ_HDRS "Content-Length: 0\r\n\r\n");
    set_ctx("CRLFs between messages");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, la);
    CHK_OK(parse(m, t.p + la, t.len - la, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, t.len - la);
    CHK(m->buf == t.p + la + 4);
    CHK_INT(m->len, la);
    tb_free(&t);

    /* two synthetic messages: a request with a body, then a response */
    tb_add(&t, REQ_LINE REQ_HDRS
           "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
    size_t first = t.len;
    tb_add(&t, "SIP/2.0 200 OK\r\n" H_VIA H_TO H_FROM H_CID H_CSEQ
               "Content-Length: 0\r\n\r\n");
    set_ctx("request then response");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, first);
    CHK(m->is_request);
    CHK_STR(m->body, "hello");
    CHK_OK(parse(m, t.p + c, t.len - c, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, t.len - first);
    CHK(!m->is_request);
    CHK_INT(m->status, 200);
    CHK_INT(m->body.len, 0);
    tb_free(&t);
    msg_free(m);
}

static void test_stream_split_every_byte(void **state)
{
    struct sip_msg *ref = msg_new(), *m = msg_new();
    struct sip_error err;
    struct tb t;
    size_t c;
    (void) state;

    build_invite(&t);
    set_ctx("reference");
    CHK_OK(parse(ref, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, t.len);
    for (size_t s = 1; s < t.len; s++) {
        struct tu_guard g;
        set_ctx("split at %zu/%zu", s, t.len);
        char *d = tu_guard_copy(&g, t.p, s);
        assert_non_null(d);
        CHK_INT(parse(m, d, s, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
        tu_guard_free(&g);
        /* the rest arrives: the receive buffer now holds both parts */
        char *whole = malloc(t.len);
        assert_non_null(whole);
        memcpy(whole, t.p, s);
        memcpy(whole + s, t.p + s, t.len - s);
        CHK_OK(parse(m, whole, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
        CHK_INT(c, t.len);
        CHK_INT(m->nhdr, ref->nhdr);
        for (size_t h = 0; h < m->nhdr && h < ref->nhdr; h++) {
            CHK_INT(m->hdr[h].id, ref->hdr[h].id);
            CHK_SAME(m->hdr[h].value, ref->hdr[h].value);
        }
        CHK_SAME(m->call_id, ref->call_id);
        CHK_SAME(m->via.branch, ref->via.branch);
        CHK_SAME(m->from.tag, ref->from.tag);
        CHK_INT(m->cseq.num, 2);
        CHK_INT(m->content_length, (long long) strlen(SDP));
        CHK_STR(m->body, SDP);
        free(whole);
    }
    tb_free(&t);
    msg_free(ref);
    msg_free(m);
}

static void test_stream_needs_content_length(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    (void) state;

    static const char req[] = REQ_LINE REQ_HDRS "\r\n";
    set_ctx("request without Content-Length");
    CHK_BAD(parse(m, req, sizeof(req) - 1, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(err.status, 400);
    /* the same bytes are a fine datagram */
    CHK_OK(parse(m, req, sizeof(req) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(m->content_length, -1);

    static const char resp[] = "SIP/2.0 200 OK\r\n" H_VIA H_TO H_FROM H_CID H_CSEQ "\r\n";
    set_ctx("response without Content-Length");
    CHK_BAD(parse(m, resp, sizeof(resp) - 1, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(err.status, 400);

    /* while the headers are incomplete, more data may still bring Content-Length */
    set_ctx("incomplete headers");
    CHK_INT(parse(m, req, sizeof(req) - 3, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    msg_free(m);
}

static void test_stream_leading_crlf(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0};
    size_t c;
    (void) state;

    tb_add(&t, "\r\n\r\n" REQ_LINE REQ_HDRS "Content-Length: 0\r\n\r\n");
    size_t mlen = t.len - 4;
    set_ctx("stream, CRLFs first");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, t.len);
    CHK(m->buf == t.p + 4);
    CHK_INT(m->len, mlen);
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    set_ctx("datagram, CRLFs first");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(c, t.len);
    CHK(m->buf == t.p + 4);
    CHK_INT(m->len, mlen);

    for (size_t k = 0; k < t.len; k++) {
        set_ctx("CRLFs first, prefix %zu", k);
        CHK_INT(parse(m, t.p, k, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    }
    set_ctx("keep-alive only");
    CHK_INT(parse(m, "\r\n\r\n", 4, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    CHK_INT(parse(m, "\r\n", 2, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    set_ctx("CRLFs then a partial start line");
    CHK_INT(parse(m, t.p, 10, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    tb_free(&t);
    msg_free(m);
}

static void test_stream_content_length_vs_body(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0};
    size_t c;
    (void) state;

    /* Content-Length 10, 4 body bytes so far */
    tb_add(&t, REQ_LINE REQ_HDRS
           "Content-Type: text/plain\r\nContent-Length: 10\r\n\r\nabcd");
    set_ctx("short body, stream");
    CHK_INT(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), EAGAIN);
    set_ctx("short body, datagram");
    CHK_BAD(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(err.status, 400);
    CHK(err.pos <= t.len);
    tb_free(&t);

    /* Content-Length 3, 6 bytes follow: the body is the first 3 */
    tb_add(&t, REQ_LINE REQ_HDRS "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
    size_t head = t.len;
    tb_add(&t, "abcdef");
    set_ctx("long body, stream");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, head + 3);
    CHK_STR(m->body, "abc");
    CHK_INT(m->content_length, 3);
    CHK_OK(sip_msg_validate(m, &err), err);
    set_ctx("long body, datagram");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(c, head + 3);
    CHK_STR(m->body, "abc");
    CHK_OK(sip_msg_validate(m, &err), err);
    tb_free(&t);

    /* Content-Length: 0 with nothing after the empty line */
    build_req(&t, NULL, NULL);
    set_ctx("zero body, stream");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, t.len);
    CHK_INT(m->body.len, 0);
    tb_free(&t);
    msg_free(m);
}

/* ======================= guard page: no reads past the end ======================= */

static const char *g_lo, *g_hi;

static void in_range(struct sk_str s, const char *what, int line)
{
    if (!s.p) return;
    if ((uintptr_t) s.p < (uintptr_t) g_lo || (uintptr_t) s.p + s.len > (uintptr_t) g_hi)
        fail_at(__FILE__, line, "%s (%zu bytes) lies outside the message", what, s.len);
}
#define INR(s) in_range((s), #s, __LINE__)

static void chk_uri(const struct sip_uri *u)
{
    INR(u->raw);
    INR(u->scheme_str);
    INR(u->user);
    INR(u->password);
    INR(u->host);
    INR(u->params);
    INR(u->headers);
    INR(u->opaque);
    INR(u->transport);
    INR(u->user_param);
    INR(u->maddr);
    INR(u->method);
    INR(u->ttl);
    struct sk_str v;
    (void) sip_uri_param(u, "transport", &v);
    (void) sip_uri_param(u, "lr", &v);
    (void) sip_uri_default_port(u);
}

static void walk_params(struct sk_str params)
{
    struct sk_str rest = params, name, value;
    int guard = 0;
    INR(params);
    while (sip_param_next(&rest, &name, &value)) {
        INR(name);
        INR(value);
        CHK(++guard < 10000);
    }
}

static void chk_via(const struct sip_via *v)
{
    INR(v->raw);
    INR(v->protocol);
    INR(v->version);
    INR(v->transport);
    INR(v->host);
    INR(v->params);
    INR(v->branch);
    INR(v->received);
    INR(v->maddr);
    INR(v->ttl);
    walk_params(v->params);
}

static void chk_addr(const struct sip_addr *a)
{
    INR(a->raw);
    INR(a->display);
    INR(a->params);
    INR(a->tag);
    CHK(a->q >= -1 && a->q <= 1000);
    CHK(a->expires >= -1);
    if (!a->star) chk_uri(&a->uri);
    walk_params(a->params);
}

/* An accessor's result agrees with the presence of the header. */
static void chk_acc(const struct sip_msg *m, int rc, enum sip_hdr_id id,
                    const struct sip_error *err, const char *what)
{
    bool present = sip_msg_hdr(m, id) != NULL;
    if (rc == 0 && present) return;
    if (rc == ENOENT && !present) return;
    if (rc == EBADMSG && present && err->reason && err->reason[0] && err->status >= 400 &&
        err->pos <= m->len)
        return;
    fail_at(__FILE__, __LINE__,
            "%s: rc %d with header %s (status %d, reason %s, pos %zu)", what, rc,
            present ? "present" : "absent", err->status,
            err->reason ? err->reason : "(null)", err->pos);
}

/* Call everything on a parsed message; every slice must stay inside it. */
static void exercise(struct sip_msg *m)
{
    struct sip_error err;
    size_t n;
    int rc;

    g_lo = m->buf;
    g_hi = m->buf + m->len;
    err.reason = NULL;
    rc = sip_msg_validate(m, &err);
    CHK(rc == 0 || (rc == EBADMSG && err.reason && err.status >= 400));

    INR(m->method);
    INR(m->ruri_raw);
    INR(m->reason);
    INR(m->version);
    INR(m->body);
    INR(m->call_id);
    INR(m->cseq.method);
    if (m->is_request) chk_uri(&m->ruri);
    CHK(m->nhdr <= SIP_MSG_HDR_CAP);
    for (size_t i = 0; i < m->nhdr; i++) {
        char name[256];
        INR(m->hdr[i].name);
        INR(m->hdr[i].value);
        CHK(m->hdr[i].id < SIP_HDR__COUNT);
        sk_str_copy(name, sizeof(name), m->hdr[i].name);
        if (m->hdr[i].name.len < sizeof(name) && !memchr(name, 0, m->hdr[i].name.len))
            CHK(sip_msg_hdr_by_name(m, name) != NULL);
    }
    for (unsigned id = 0; id < SIP_HDR__COUNT; id++) {
        size_t cnt = 0;
        if (id == SIP_HDR_OTHER) continue;
        for (const struct sip_hdr *h = sip_msg_hdr(m, (enum sip_hdr_id) id); h;
             h = sip_msg_hdr_next(m, h)) {
            CHK(h->id == id);
            CHK(++cnt <= m->nhdr);
        }
        CHK_INT(cnt, m->count[id]);
    }
    if (m->has_via) chk_via(&m->via);
    if (m->has_from) chk_addr(&m->from);
    if (m->has_to) chk_addr(&m->to);

    const struct sip_via *v;
    rc = sip_msg_vias(m, &v, &n, &err);
    chk_acc(m, rc, SIP_HDR_VIA, &err, "vias");
    if (rc == 0) {
        CHK(n > 0);
        for (size_t i = 0; i < n; i++)
            chk_via(&v[i]);
    }

    static const enum sip_hdr_id addr_ids[] = {
        SIP_HDR_CONTACT,
        SIP_HDR_ROUTE,
        SIP_HDR_RECORD_ROUTE,
        SIP_HDR_PATH,
        SIP_HDR_P_ASSERTED_IDENTITY,
        SIP_HDR_FROM,
        SIP_HDR_TO,
        SIP_HDR_REPLY_TO,
        SIP_HDR_REFER_TO,
        SIP_HDR_REFERRED_BY,
    };
    for (size_t k = 0; k < sizeof(addr_ids) / sizeof(addr_ids[0]); k++) {
        const struct sip_addr *a;
        rc = sip_msg_addrs(m, addr_ids[k], &a, &n, &err);
        chk_acc(m, rc, addr_ids[k], &err, "addrs");
        if (rc == 0) {
            CHK(n > 0);
            for (size_t i = 0; i < n; i++)
                chk_addr(&a[i]);
        }
    }

    static const enum sip_hdr_id tok_ids[] = {
        SIP_HDR_REQUIRE,
        SIP_HDR_SUPPORTED,
        SIP_HDR_PROXY_REQUIRE,
        SIP_HDR_UNSUPPORTED,
        SIP_HDR_ALLOW,
        SIP_HDR_ALLOW_EVENTS,
        SIP_HDR_CONTENT_ENCODING,
        SIP_HDR_CONTENT_LANGUAGE,
        SIP_HDR_ACCEPT_ENCODING,
        SIP_HDR_ACCEPT_LANGUAGE, /* Privacy: see test_tokens_privacy */
    };
    for (size_t k = 0; k < sizeof(tok_ids) / sizeof(tok_ids[0]); k++) {
        const struct sk_str *t;
        rc = sip_msg_tokens(m, tok_ids[k], &t, &n, &err);
        chk_acc(m, rc, tok_ids[k], &err, "tokens");
        if (rc == 0)
            for (size_t i = 0; i < n; i++)
                INR(t[i]);
    }

    static const enum sip_hdr_id ct_ids[] = {SIP_HDR_ACCEPT, SIP_HDR_CONTENT_TYPE};
    for (size_t k = 0; k < 2; k++) {
        const struct sip_ctype *ct;
        rc = sip_msg_ctypes(m, ct_ids[k], &ct, &n, &err);
        chk_acc(m, rc, ct_ids[k], &err, "ctypes");
        if (rc == 0)
            for (size_t i = 0; i < n; i++) {
                INR(ct[i].type);
                INR(ct[i].subtype);
                walk_params(ct[i].params);
            }
    }

    static const enum sip_hdr_id auth_ids[] = {
        SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION, SIP_HDR_WWW_AUTHENTICATE,
        SIP_HDR_PROXY_AUTHENTICATE};
    for (size_t k = 0; k < 4; k++) {
        const struct sip_auth *au;
        rc = sip_msg_auths(m, auth_ids[k], &au, &n, &err);
        chk_acc(m, rc, auth_ids[k], &err, "auths");
        if (rc == 0)
            for (size_t i = 0; i < n; i++) {
                INR(au[i].scheme);
                INR(au[i].params);
                INR(au[i].username);
                INR(au[i].realm);
                INR(au[i].nonce);
                INR(au[i].uri);
                INR(au[i].response);
                INR(au[i].algorithm);
                INR(au[i].cnonce);
                INR(au[i].opaque);
                INR(au[i].qop);
                INR(au[i].nc);
                INR(au[i].stale);
                INR(au[i].domain);
                INR(au[i].userhash);
            }
    }

    static const enum sip_hdr_id uint_ids[] = {
        SIP_HDR_EXPIRES, SIP_HDR_MIN_EXPIRES,  SIP_HDR_MIN_SE,
        SIP_HDR_RSEQ,    SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH};
    for (size_t k = 0; k < sizeof(uint_ids) / sizeof(uint_ids[0]); k++) {
        uint32_t u;
        rc = sip_msg_uint(m, uint_ids[k], &u, &err);
        chk_acc(m, rc, uint_ids[k], &err, "uint");
    }

    const struct sip_rack *rk;
    rc = sip_msg_rack(m, &rk, &err);
    chk_acc(m, rc, SIP_HDR_RACK, &err, "rack");
    if (rc == 0) INR(rk->method);
    const struct sip_event *ev;
    rc = sip_msg_event(m, &ev, &err);
    chk_acc(m, rc, SIP_HDR_EVENT, &err, "event");
    if (rc == 0) {
        INR(ev->package);
        INR(ev->id);
        walk_params(ev->params);
    }
    const struct sip_substate *ss;
    rc = sip_msg_substate(m, &ss, &err);
    chk_acc(m, rc, SIP_HDR_SUBSCRIPTION_STATE, &err, "substate");
    if (rc == 0) {
        INR(ss->state);
        INR(ss->reason);
    }
    const struct sip_replaces *rp;
    rc = sip_msg_replaces(m, &rp, &err);
    chk_acc(m, rc, SIP_HDR_REPLACES, &err, "replaces");
    if (rc == 0) {
        INR(rp->call_id);
        INR(rp->to_tag);
        INR(rp->from_tag);
    }
    const struct sip_session_expires *se;
    rc = sip_msg_session_expires(m, &se, &err);
    chk_acc(m, rc, SIP_HDR_SESSION_EXPIRES, &err, "session_expires");
    if (rc == 0) INR(se->refresher);
    const struct sip_retry_after *ra;
    rc = sip_msg_retry_after(m, &ra, &err);
    chk_acc(m, rc, SIP_HDR_RETRY_AFTER, &err, "retry_after");
    if (rc == 0) INR(ra->comment);
    const struct sip_timestamp *ts;
    rc = sip_msg_timestamp(m, &ts, &err);
    chk_acc(m, rc, SIP_HDR_TIMESTAMP, &err, "timestamp");
    if (rc == 0) {
        INR(ts->value);
        INR(ts->delay);
    }
    time_t when;
    rc = sip_msg_date(m, &when, &err);
    chk_acc(m, rc, SIP_HDR_DATE, &err, "date");

    static const enum sip_hdr_id text_ids[] = {SIP_HDR_USER_AGENT, SIP_HDR_SERVER,
                                               SIP_HDR_SUBJECT, SIP_HDR_ORGANIZATION};
    for (size_t k = 0; k < 4; k++) {
        struct sk_str tv;
        rc = sip_msg_text(m, text_ids[k], &tv);
        CHK(rc == 0 || rc == ENOENT);
        CHK((rc == 0) == (sip_msg_hdr(m, text_ids[k]) != NULL));
        if (rc == 0) INR(tv);
    }

    struct sip_error errs[8];
    size_t nerr = sip_msg_check_headers(m, errs, 8);
    for (size_t i = 0; i < nerr && i < 8; i++) {
        CHK(errs[i].reason && errs[i].reason[0]);
        CHK(errs[i].pos <= m->len);
    }

    struct sk_buf b;
    sk_buf_init(&b);
    CHK_INT(sip_msg_print(m, &b), 0);
    CHK(!b.failed);
    sk_buf_free(&b);
}

static void guard_one(struct sip_msg *m, const char *src, size_t len,
                      enum sip_parse_mode mode, int expect)
{
    struct tu_guard g;
    struct sip_error err;
    size_t c = 0;
    char *d = tu_guard_copy(&g, src, len);
    assert_non_null(d);
    int rc = parse(m, d, len, mode, NULL, &c, &err);
    if (expect >= 0 && rc != expect)
        fail_at(__FILE__, __LINE__, "returned %d, expected %d (%s)", rc, expect,
                err.reason ? err.reason : "(null)");
    if (rc == 0) {
        CHK(c <= len && c > 0);
        CHK(m->buf >= d && m->buf + m->len <= d + len);
        exercise(m);
    } else if (rc == EBADMSG) {
        CHK(err.reason && err.reason[0]);
        CHK(err.status >= 400 && err.status <= 599);
    } else {
        CHK_INT(rc, EAGAIN);
        CHK_INT(mode, SIP_PARSE_STREAM);
    }
    tu_guard_free(&g);
}

static void test_guard_rfc4475(void **state)
{
    struct sip_msg *m = msg_new();
    (void) state;
    for (size_t i = 0; i < NRFC; i++) {
        size_t len;
        char *buf = load(rfc[i].name, &len);
        set_ctx("%s full datagram", rfc[i].name);
        guard_one(m, buf, len, SIP_PARSE_DATAGRAM, rfc[i].parse);
        set_ctx("%s full stream", rfc[i].name);
        guard_one(m, buf, len, SIP_PARSE_STREAM, -1);
        for (size_t k = 0; k < len; k++) {
            set_ctx("%s prefix %zu datagram", rfc[i].name, k);
            guard_one(m, buf, k, SIP_PARSE_DATAGRAM, -1);
            set_ctx("%s prefix %zu stream", rfc[i].name, k);
            guard_one(m, buf, k, SIP_PARSE_STREAM, -1);
        }
        free(buf);
    }
    msg_free(m);
}

/* A few hand-made inputs that end in awkward places. */
static void test_guard_awkward_ends(void **state)
{
    struct sip_msg *m = msg_new();
    static const char *const inputs[] = {
        "INVITE",
        "INVITE ",
        "INVITE sip:",
        "INVITE sip:a@b SIP/2.0",
        "INVITE sip:a@b SIP/2.0\r",
        "INVITE sip:a@b SIP/2.0\r\nVia",
        "INVITE sip:a@b SIP/2.0\r\nVia:",
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=\"",
        "INVITE sip:a@b SIP/2.0\r\nTo: \"abc\\",
        "INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b",
        "INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@[::1",
        "INVITE sip:a@b SIP/2.0\r\nCSeq: 1\r\n ",
        "INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "SIP/2.0",
        "SIP/2.0 2",
        "SIP/2.0 200",
        "\r\n\r\n\r\n",
        "",
    };
    (void) state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        set_ctx("awkward #%zu datagram", i);
        guard_one(m, inputs[i], strlen(inputs[i]), SIP_PARSE_DATAGRAM, -1);
        set_ctx("awkward #%zu stream", i);
        guard_one(m, inputs[i], strlen(inputs[i]), SIP_PARSE_STREAM, -1);
    }
    msg_free(m);
}

/* ======================= limits ======================= */

static void test_limits_defaults(void **state)
{
    (void) state;
    set_ctx("defaults");
    CHK_INT(sip_limits_default.max_msg_size, SIP_DEFAULT_MAX_MSG_SIZE);
    CHK_INT(sip_limits_default.max_headers, SIP_DEFAULT_MAX_HEADERS);
    CHK_INT(sip_limits_default.max_line_len, SIP_DEFAULT_MAX_LINE_LEN);
    CHK_INT(sip_limits_default.max_uri_len, SIP_DEFAULT_MAX_URI_LEN);
    CHK_INT(sip_limits_default.max_body_size, SIP_DEFAULT_MAX_BODY_SIZE);
    CHK_INT(sip_limits_default.max_list_items, SIP_DEFAULT_MAX_LIST_ITEMS);
    CHK(SIP_DEFAULT_MAX_HEADERS <= SIP_MSG_HDR_CAP);
}

/* Parse in both modes; expect the same verdict. */
static void both_modes(const struct tb *t, const struct sip_limits *lim, bool ok,
                       const char *what)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    for (int mode = 0; mode < 2; mode++) {
        set_ctx("%s (%s)", what, mode ? "stream" : "datagram");
        int rc = parse(m, t->p, t->len, mode ? SIP_PARSE_STREAM : SIP_PARSE_DATAGRAM, lim,
                       &c, &err);
        if (ok) {
            CHK_OK(rc, err);
            CHK_INT(c, t->len);
        } else {
            CHK_BAD(rc, err);
        }
    }
    msg_free(m);
}

static void test_limits_headers(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* header count: base message has 7 header fields */
    lim.max_headers = 9;
    build_req(&t, "X-A: 1\r\nX-B: 2\r\n", NULL);
    both_modes(&t, &lim, true, "9 headers, max 9");
    tb_free(&t);
    build_req(&t, "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n", NULL);
    both_modes(&t, &lim, false, "10 headers, max 9");
    tb_free(&t);
    msg_free(m);
}

static void test_limits_line_len(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* header line length */
    lim.max_line_len = 120;
    tb_add(&x, "Subject: ");
    tb_rep(&x, 's', 60);
    tb_add(&x, "\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, &lim, true, "70-byte line, max 120");
    tb_free(&t);
    tb_free(&x);
    tb_add(&x, "Subject: ");
    tb_rep(&x, 's', 200);
    tb_add(&x, "\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, &lim, false, "209-byte line, max 120");
    tb_free(&t);
    tb_free(&x);
    /* folded: every physical line is short, the field is not */
    tb_add(&x, "Subject: ");
    for (int i = 0; i < 4; i++) {
        tb_rep(&x, 's', 50);
        tb_add(&x, "\r\n ");
    }
    tb_add(&x, "end\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, &lim, false, "folded 220-byte field, max 120");
    tb_free(&t);
    tb_free(&x);
    msg_free(m);
}

/* A header URI over the limit: refused by the parse (eager headers) or by the accessor.
 * Frees t and everything else before asserting, so a failure leaks nothing. */
static void long_hdr_uri(struct tb *t, const struct sip_limits *lim, enum sip_hdr_id id)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    int rc = parse(m, t->p, t->len, SIP_PARSE_DATAGRAM, lim, &c, &err);
    bool accessor = false;
    if (rc == 0) {
        const struct sip_addr *a;
        size_t n;
        err.reason = NULL;
        err.status = -1;
        rc = sip_msg_addrs(m, id, &a, &n, &err);
        accessor = true;
    }
    msg_free(m);
    tb_free(t);
    if (rc != EBADMSG)
        fail_at(__FILE__, __LINE__, "%s returned %d, expected EBADMSG",
                accessor ? "parse returned 0, then sip_msg_addrs" : "parse", rc);
    CHK(err.reason && err.reason[0]);
    CHK(err.status >= 400 && err.status <= 599);
}

static void test_limits_uri_len(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct tb t = {0};
    (void) state;

    lim.max_uri_len = 60;
    tb_add(&t, "INVITE sip:");
    tb_rep(&t, 'u', 80);
    tb_add(&t, "@biloxi.example.com SIP/2.0\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n");
    both_modes(&t, &lim, false, "103-byte Request-URI, max 60");
    tb_free(&t);
    build_req(&t, NULL, NULL);
    both_modes(&t, &lim, true, "short URIs, max 60");
    tb_free(&t);
}

static void test_limits_uri_len_to(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct tb t = {0};
    (void) state;

    lim.max_uri_len = 60;
    tb_add(&t, REQ_LINE H_VIA H_MF "To: <sip:");
    tb_rep(&t, 't', 100);
    tb_add(&t,
           "@biloxi.example.com>\r\n" H_FROM H_CID H_CSEQ "Content-Length: 0\r\n\r\n");
    set_ctx("123-byte To URI, max 60");
    long_hdr_uri(&t, &lim, SIP_HDR_TO);
}

static void test_limits_uri_len_contact(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct tb t = {0}, x = {0};
    (void) state;

    lim.max_uri_len = 60;
    tb_add(&x, "Contact: <sip:");
    tb_rep(&x, 'c', 100);
    tb_add(&x, "@pc33.atlanta.example.com>\r\n");
    build_req(&t, x.p, NULL);
    tb_free(&x);
    set_ctx("129-byte Contact URI, max 60");
    long_hdr_uri(&t, &lim, SIP_HDR_CONTACT);
}

static void test_limits_body_size(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* body size */
    lim.max_body_size = 16;
    build_req(&t, "Content-Type: text/plain\r\n", "0123456789abcdef");
    both_modes(&t, &lim, true, "16-byte body, max 16");
    tb_free(&t);
    build_req(&t, "Content-Type: text/plain\r\n", "0123456789abcdefg");
    both_modes(&t, &lim, false, "17-byte body, max 16");
    tb_free(&t);
    /* stream: refused as soon as the headers are in, not after waiting for the body */
    tb_add(&t, REQ_LINE REQ_HDRS
           "Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n");
    set_ctx("stream, Content-Length 100000 over max 16, no body yet");
    CHK_BAD(parse(m, t.p, t.len, SIP_PARSE_STREAM, &lim, &c, &err), err);
    tb_free(&t);
    msg_free(m);
}

static void test_limits_msg_size(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* whole message */
    lim.max_msg_size = 400;
    build_req(&t, "Content-Type: text/plain\r\n", "short body");
    CHK(t.len < 400);
    both_modes(&t, &lim, true, "small message, max 400");
    tb_free(&t);
    tb_add(&x, "%s", "");
    tb_rep(&x, 'b', 150);
    build_req(&t, "Content-Type: text/plain\r\n", x.p);
    CHK(t.len > 450);
    both_modes(&t, &lim, false, "message over max 400");
    tb_free(&t);
    tb_free(&x);
    /* stream: what follows the message does not count against it */
    build_req(&t, NULL, NULL);
    size_t first = t.len;
    tb_rep(&t, 'z', 1000);
    set_ctx("stream, small message then 1000 more bytes, max 400");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_STREAM, &lim, &c, &err), err);
    CHK_INT(c, first);
    tb_free(&t);
    /* stream: headers that never end must not be awaited forever */
    tb_add(&t, REQ_LINE REQ_HDRS);
    while (t.len < 600)
        tb_add(&t, "X-Filler: 0123456789\r\n");
    set_ctx("stream, unterminated headers past max 400");
    CHK_BAD(parse(m, t.p, t.len, SIP_PARSE_STREAM, &lim, &c, &err), err);
    tb_free(&t);
    tb_add(&t,
           REQ_LINE REQ_HDRS "Content-Type: text/plain\r\nContent-Length: 300\r\n\r\n");
    set_ctx("stream, headers + Content-Length past max 400, no body yet");
    CHK_BAD(parse(m, t.p, t.len, SIP_PARSE_STREAM, &lim, &c, &err), err);
    tb_free(&t);
    msg_free(m);
}

static void test_limits_list_items(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* list items */
    lim.max_list_items = 3;
    build_req(&t,
              "Route: <sip:r1@x.example.com;lr>, <sip:r2@x.example.com;lr>\r\n"
              "Route: <sip:r3@x.example.com;lr>\r\n",
              NULL);
    set_ctx("3 Routes, max 3");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, &lim, &c, &err), err);
    {
        const struct sip_addr *a;
        size_t n;
        CHK_OK(sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &n, &err), err);
        CHK_INT(n, 3);
    }
    tb_free(&t);
    build_req(&t,
              "Route: <sip:r1@x.example.com;lr>, <sip:r2@x.example.com;lr>\r\n"
              "Route: <sip:r3@x.example.com;lr>,<sip:r4@x.example.com;lr>\r\n",
              NULL);
    set_ctx("4 Routes, max 3");
    {
        int rc = parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, &lim, &c, &err);
        if (rc == 0) {
            const struct sip_addr *a;
            size_t n;
            err.reason = NULL;
            CHK_BAD(sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &n, &err), err);
        } else {
            CHK_BAD(rc, err);
        }
    }
    tb_free(&t);
    msg_free(m);
}

static void test_limits_hdr_cap(void **state)
{
    struct sip_limits lim = sip_limits_default;
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0}, x = {0};
    size_t c;
    (void) state;
    (void) err;
    (void) c;
    (void) x;

    /* a max_headers above the index capacity is still bounded by it */
    lim.max_headers = 1000;
    tb_add(&x, "%s", "");
    for (int i = 0; i < 300; i++)
        tb_add(&x, "X-H%d: %d\r\n", i, i);
    build_req(&t, x.p, NULL);
    both_modes(&t, &lim, false, "307 headers, max 1000, capacity 256");
    tb_free(&t);
    tb_free(&x);
    msg_free(m);
}

static void test_limits_default_values(void **state)
{
    struct tb t = {0}, x = {0};
    (void) state;

    /* 200 header fields pass, 201 do not (7 in the base message) */
    for (int i = 0; i < 193; i++)
        tb_add(&x, "X-H%d: %d\r\n", i, i);
    build_req(&t, x.p, NULL);
    both_modes(&t, NULL, true, "200 headers");
    both_modes(&t, &sip_limits_default, true, "200 headers (explicit defaults)");
    tb_free(&t);
    tb_add(&x, "X-Last: 1\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, NULL, false, "201 headers");
    tb_free(&t);
    tb_free(&x);

    /* header line length 8192 */
    tb_add(&x, "Subject: ");
    tb_rep(&x, 's', 8000);
    tb_add(&x, "\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, NULL, true, "8009-byte line");
    tb_free(&t);
    tb_free(&x);
    tb_add(&x, "Subject: ");
    tb_rep(&x, 's', 9000);
    tb_add(&x, "\r\n");
    build_req(&t, x.p, NULL);
    both_modes(&t, NULL, false, "9009-byte line");
    tb_free(&t);
    tb_free(&x);

    /* URI length 2048 */
    tb_add(&t, "INVITE sip:");
    tb_rep(&t, 'u', 1980);
    tb_add(&t, "@biloxi.example.com SIP/2.0\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n");
    both_modes(&t, NULL, true, "2003-byte Request-URI");
    tb_free(&t);
    tb_add(&t, "INVITE sip:");
    tb_rep(&t, 'u', 2100);
    tb_add(&t, "@biloxi.example.com SIP/2.0\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n");
    both_modes(&t, NULL, false, "2123-byte Request-URI");
    tb_free(&t);

    /* body 61440 */
    tb_rep(&x, 'b', SIP_DEFAULT_MAX_BODY_SIZE);
    build_req(&t, "Content-Type: text/plain\r\n", x.p);
    CHK(t.len < SIP_DEFAULT_MAX_MSG_SIZE);
    both_modes(&t, NULL, true, "61440-byte body");
    tb_free(&t);
    tb_add(&x, "b");
    build_req(&t, "Content-Type: text/plain\r\n", x.p);
    CHK(t.len < SIP_DEFAULT_MAX_MSG_SIZE);
    both_modes(&t, NULL, false, "61441-byte body");
    tb_free(&t);
    tb_free(&x);

    /* message 65535: ten 7000-byte headers, each within the other limits */
    for (int i = 0; i < 10; i++) {
        tb_add(&x, "X-Big%d: ", i);
        tb_rep(&x, 'x', 7000);
        tb_add(&x, "\r\n");
    }
    build_req(&t, x.p, NULL);
    CHK(t.len > SIP_DEFAULT_MAX_MSG_SIZE);
    both_modes(&t, NULL, false, "70 KB message");
    tb_free(&t);
    tb_free(&x);
}

/* ======================= printer ======================= */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Equal once every SP, HTAB, CR and LF is dropped. */
static bool ws_eq(struct sk_str a, struct sk_str b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.len && is_ws(a.p[i]))
            i++;
        while (j < b.len && is_ws(b.p[j]))
            j++;
        if (i == a.len || j == b.len) return i == a.len && j == b.len;
        if (a.p[i] != b.p[j]) return false;
        i++;
        j++;
    }
}

#define CHK_WS(a, b)                                                                     \
    do {                                                                                 \
        if (!ws_eq((a), (b)))                                                            \
            fail_at(__FILE__, __LINE__, "%s \"%.*s\" differs from %s \"%.*s\"", #a,      \
                    SK_STR_FMT(a), #b, SK_STR_FMT(b));                                   \
    } while (0)

static void same_addr(const struct sip_addr *a, const struct sip_addr *b)
{
    CHK_SAME(b->uri.raw, a->uri.raw);
    CHK_INT(b->uri.scheme, a->uri.scheme);
    CHK_INT(sk_str_isset(b->tag), sk_str_isset(a->tag));
    if (sk_str_isset(a->tag)) CHK_SAME(b->tag, a->tag);
    CHK_INT(sk_str_isset(b->display), sk_str_isset(a->display));
    CHK_WS(b->display, a->display);
    CHK_INT(b->display_quoted, a->display_quoted);
    CHK_WS(b->params, a->params);
    CHK_INT(b->q, a->q);
    CHK_INT(b->expires, a->expires);
    CHK_INT(b->star, a->star);
}

static void same_via(const struct sip_via *a, const struct sip_via *b)
{
    CHK_SAME(b->protocol, a->protocol);
    CHK_SAME(b->version, a->version);
    CHK_SAME(b->transport, a->transport);
    CHK_SAME(b->host, a->host);
    CHK_INT(b->host_type, a->host_type);
    CHK_INT(b->has_port, a->has_port);
    CHK_INT(b->port, a->port);
    CHK_INT(sk_str_isset(b->branch), sk_str_isset(a->branch));
    if (sk_str_isset(a->branch)) CHK_SAME(b->branch, a->branch);
    CHK_INT(sk_str_isset(b->received), sk_str_isset(a->received));
    CHK_INT(b->has_rport, a->has_rport);
    CHK_INT(b->rport, a->rport);
    CHK_WS(b->params, a->params);
}

/* m2 is the parse of m printed: same structure. */
static void same_msg(struct sip_msg *m, struct sip_msg *m2)
{
    struct sip_error e1, e2;
    size_t n1, n2;

    CHK_INT(m2->is_request, m->is_request);
    if (m->is_request) {
        CHK_INT(m2->method_id, m->method_id);
        CHK_SAME(m2->method, m->method);
        CHK_SAME(m2->ruri_raw, m->ruri_raw);
    } else {
        CHK_INT(m2->status, m->status);
        CHK_SAME(m2->reason, m->reason);
    }
    CHK_SAME(m2->version, m->version);

    /* headers: same ids in the same order, Content-Length aside */
    size_t i = 0, j = 0;
    for (;;) {
        while (i < m->nhdr && m->hdr[i].id == SIP_HDR_CONTENT_LENGTH)
            i++;
        while (j < m2->nhdr && m2->hdr[j].id == SIP_HDR_CONTENT_LENGTH)
            j++;
        if (i == m->nhdr || j == m2->nhdr) break;
        if (m2->hdr[j].id != m->hdr[i].id)
            fail_at(__FILE__, __LINE__, "header %zu (%.*s) became %zu (%.*s)", i,
                    SK_STR_FMT(m->hdr[i].name), j, SK_STR_FMT(m2->hdr[j].name));
        if (m->hdr[i].id == SIP_HDR_OTHER)
            CHK(sk_str_ieq(m2->hdr[j].name, m->hdr[i].name));
        CHK_WS(m2->hdr[j].value, m->hdr[i].value);
        i++;
        j++;
    }
    if (i != m->nhdr || j != m2->nhdr)
        fail_at(__FILE__, __LINE__, "header count %u became %u", m->nhdr, m2->nhdr);
    unsigned cl1 = m->count[SIP_HDR_CONTENT_LENGTH],
             cl2 = m2->count[SIP_HDR_CONTENT_LENGTH];
    CHK(cl2 == cl1 || (cl1 == 0 && cl2 == 1));
    if (cl2 > 0) {
        CHK_INT(m2->content_length, m2->body.len);
        for (const struct sip_hdr *h = sip_msg_hdr(m2, SIP_HDR_CONTENT_LENGTH); h;
             h = sip_msg_hdr_next(m2, h)) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", m2->body.len);
            CHK_STRC(h->value, num);
        }
    }

    CHK_INT(m2->body.len, m->body.len);
    CHK(m->body.len == 0 || memcmp(m2->body.p, m->body.p, m->body.len) == 0);

    CHK_INT(m2->has_via, m->has_via);
    if (m->has_via) same_via(&m->via, &m2->via);
    const struct sip_via *v1, *v2;
    int r1 = sip_msg_vias(m, &v1, &n1, &e1), r2 = sip_msg_vias(m2, &v2, &n2, &e2);
    CHK_INT(r2, r1);
    if (r1 == 0 && r2 == 0) {
        CHK_INT(n2, n1);
        for (size_t k = 0; k < n1 && k < n2; k++)
            same_via(&v1[k], &v2[k]);
    }
    CHK_INT(m2->has_from, m->has_from);
    if (m->has_from) same_addr(&m->from, &m2->from);
    CHK_INT(m2->has_to, m->has_to);
    if (m->has_to) same_addr(&m->to, &m2->to);
    CHK_INT(m2->has_call_id, m->has_call_id);
    if (m->has_call_id) CHK_SAME(m2->call_id, m->call_id);
    CHK_INT(m2->has_cseq, m->has_cseq);
    if (m->has_cseq) {
        CHK_INT(m2->cseq.num, m->cseq.num);
        CHK_SAME(m2->cseq.method, m->cseq.method);
    }
    CHK_INT(m2->max_forwards, m->max_forwards);

    const struct sip_addr *a1, *a2;
    r1 = sip_msg_addrs(m, SIP_HDR_CONTACT, &a1, &n1, &e1);
    r2 = sip_msg_addrs(m2, SIP_HDR_CONTACT, &a2, &n2, &e2);
    CHK_INT(r2, r1);
    if (r1 == 0 && r2 == 0) {
        CHK_INT(n2, n1);
        for (size_t k = 0; k < n1 && k < n2; k++)
            same_addr(&a1[k], &a2[k]);
    }
    struct sip_error ve1, ve2;
    r1 = sip_msg_validate(m, &ve1);
    r2 = sip_msg_validate(m2, &ve2);
    CHK_INT(r2, r1);
    if (r1 && r2) CHK_INT(ve2.status, ve1.status);
}

static void test_print_roundtrip_rfc4475(void **state)
{
    struct sip_msg *m = msg_new(), *m2 = msg_new(), *m3 = msg_new();
    struct sip_error err;
    size_t done = 0;
    (void) state;

    for (size_t i = 0; i < NRFC; i++) {
        size_t len, c;
        struct sk_buf b, b2;
        char *buf = load(rfc[i].name, &len);
        set_ctx("%s", rfc[i].name);
        if (parse(m, buf, len, SIP_PARSE_DATAGRAM, NULL, &c, &err) != 0) {
            free(buf);
            continue;
        }
        done++;
        sk_buf_init(&b);
        sk_buf_init(&b2);
        CHK_INT(sip_msg_print(m, &b), 0);
        CHK(!b.failed);
        set_ctx("%s reprinted", rfc[i].name);
        CHK_OK(parse(m2, b.p, b.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
        CHK_INT(c, b.len);
        same_msg(m, m2);
        /* the printed form frames on a stream too (several Content-Length values
         * cannot frame a stream: refusing them there is right) */
        if (m->count[SIP_HDR_CONTENT_LENGTH] <= 1) {
            CHK_OK(parse(m3, b.p, b.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
            CHK_INT(c, b.len);
        }
        /* a buffer too small for it: ENOMEM, marked failed */
        {
            struct sk_buf small;
            sk_buf_init(&small);
            small.max = b.len - 1;
            CHK_INT(sip_msg_print(m, &small), ENOMEM);
            CHK(small.failed);
            sk_buf_free(&small);
        }
        /* printing is canonical: printing the reparse gives the same bytes */
        CHK_INT(sip_msg_print(m2, &b2), 0);
        CHK_INT(b2.len, b.len);
        CHK(b2.len == b.len && memcmp(b2.p, b.p, b.len) == 0);
        sk_buf_free(&b);
        sk_buf_free(&b2);
        free(buf);
    }
    set_ctx("count");
    CHK_INT(done, 40);
    msg_free(m);
    msg_free(m2);
    msg_free(m3);
}

static void test_print_request_from_scratch(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct sk_buf b;
    struct tb exp = {0};
    const struct sip_ctype *ct;
    const struct sip_via *v;
    size_t c, n;
    (void) state;

    set_ctx("from scratch");
    sk_buf_init(&b);
    CHK_INT(sip_print_request_line(&b, SK_STR_LIT("INVITE"),
                                   SK_STR_LIT("sip:bob@biloxi.example.com")),
            0);
    CHK_INT(sip_print_hdr(
                &b, SIP_HDR_VIA,
                SK_STR_LIT("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8")),
            0);
    CHK_INT(sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, SK_STR_LIT("70")), 0);
    CHK_INT(sip_print_hdr(&b, SIP_HDR_TO, SK_STR_LIT("Bob <sip:bob@biloxi.example.com>")),
            0);
    CHK_INT(
        sip_print_hdr(&b, SIP_HDR_FROM,
                      SK_STR_LIT("Alice <sip:alice@atlanta.example.com>;tag=1928301774")),
        0);
    CHK_INT(sip_print_hdrf(&b, "Call-ID", "%s@%s", "a84b4c76e66710",
                           "pc33.atlanta.example.com"),
            0);
    CHK_INT(sip_print_hdrf(&b, "CSeq", "%u %s", 314159u, "INVITE"), 0);
    CHK_INT(sip_print_hdr(&b, SIP_HDR_CONTACT,
                          SK_STR_LIT("<sip:alice@pc33.atlanta.example.com>")),
            0);
    CHK_INT(sip_print_hdr_named(&b, SK_STR_LIT("X-Custom"), SK_STR_LIT("hello world")),
            0);
    CHK_INT(sip_print_body(&b, SK_STR_LIT("application/sdp"), SK_STR_LIT(SDP)), 0);
    CHK(!b.failed);

    tb_add(&exp,
           "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
           "Max-Forwards: 70\r\n"
           "To: Bob <sip:bob@biloxi.example.com>\r\n"
           "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
           "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
           "CSeq: 314159 INVITE\r\n"
           "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
           "X-Custom: hello world\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: %zu\r\n"
           "\r\n" SDP,
           strlen(SDP));
    CHK_STRC(sk_buf_str(&b), exp.p);
    tb_free(&exp);

    CHK_OK(parse(m, b.p, b.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, b.len);
    CHK_OK(sip_msg_validate(m, &err), err);
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    CHK_STR(m->ruri.user, "bob");
    CHK_INT(m->nhdr, 10);
    CHK_STR(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    CHK_INT(m->cseq.num, 314159);
    CHK_STR(m->from.tag, "1928301774");
    CHK_UNSET(m->to.tag);
    CHK_INT(m->max_forwards, 70);
    CHK_INT(sip_msg_vias(m, &v, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(v[0].branch, "z9hG4bKnashds8");
    CHK(sip_msg_hdr_by_name(m, "X-Custom") != NULL);
    CHK_STR(sip_msg_hdr_by_name(m, "x-custom")->value, "hello world");
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_STR(ct[0].type, "application");
    CHK_STR(ct[0].subtype, "sdp");
    CHK_INT(m->content_length, (long long) strlen(SDP));
    CHK_STR(m->body, SDP);
    sk_buf_free(&b);

    /* an empty body: no Content-Type even if one is given */
    sk_buf_init(&b);
    sip_print_request_line(&b, SK_STR_LIT("OPTIONS"),
                           SK_STR_LIT("sip:bob@biloxi.example.com"));
    sip_print_hdr(&b, SIP_HDR_CALL_ID, SK_STR_LIT("x@y"));
    CHK_INT(sip_print_body(&b, SK_STR_LIT("application/sdp"), SK_STR_NULL), 0);
    CHK_STR(sk_buf_str(&b), "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
                            "Call-ID: x@y\r\n"
                            "Content-Length: 0\r\n"
                            "\r\n");
    sk_buf_free(&b);

    /* a bounded buffer: the print fails cleanly and says so */
    sk_buf_init(&b);
    b.max = 40;
    sip_print_request_line(&b, SK_STR_LIT("OPTIONS"),
                           SK_STR_LIT("sip:bob@biloxi.example.com"));
    CHK_INT(sip_print_hdr(&b, SIP_HDR_CALL_ID, SK_STR_LIT("x@y")), ENOMEM);
    CHK(b.failed);
    sk_buf_free(&b);

    sk_buf_init(&b);
    CHK_INT(sip_print_status_line(&b, 404, "Not Found"), 0);
    CHK_STR(sk_buf_str(&b), "SIP/2.0 404 Not Found\r\n");
    sk_buf_free(&b);
    CHK(strcmp(sip_reason_phrase(180), "Ringing") == 0);
    CHK(strcmp(sip_reason_phrase(200), "OK") == 0);
    CHK(strcmp(sip_reason_phrase(486), "Busy Here") == 0);
    CHK(strcmp(sip_reason_phrase(299), "Unknown") == 0);
    msg_free(m);
}

#define RESP_REQ                                                                         \
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"                                      \
    "Via: SIP/2.0/UDP proxy2.example.com;branch=z9hG4bKp2, SIP/2.0/TCP "                 \
    "proxy1.example.com:5070;branch=z9hG4bKp1;received=192.0.2.3\r\n"                    \
    "Max-Forwards: 68\r\n"                                                               \
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKua;rport=5066;"             \
    "received=192.0.2.101\r\n"                                                           \
    "To: Bob <sip:bob@biloxi.example.com>\r\n"                                           \
    "From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"              \
    "Call-ID: resp1@pc33.atlanta.example.com\r\n"                                        \
    "CSeq: 314159 INVITE\r\n"                                                            \
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"                                  \
    "Content-Type: text/plain\r\n"                                                       \
    "Content-Length: 5\r\n"                                                              \
    "\r\n"                                                                               \
    "hello"

/* The top Via of a response (§18.2.1, RFC 3581): copied as it came when there is
 * nothing to replace, ;received added only when the source differs from sent-by,
 * rport and an old received rebuilt; the via-parms after it (same line or not) kept. */
static void via_case(const char *via_line, const char *src_ip, uint16_t src_port, const char *want)
{
    char req[1024];
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct sk_buf b;
    struct sk_sa src;
    size_t c;
    int n;

    set_ctx("top via %s from %s", via_line, src_ip);
    n = snprintf(req, sizeof(req),
                 "OPTIONS sip:127.0.0.1 SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n"
                 "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: v1\r\n"
                 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", via_line);
    CHK_OK(parse(m, req, (size_t) n, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK(m->has_via);
    CHK_INT(sk_sa_from_ip(&src, sk_str_cstr(src_ip), src_port), 0);
    sk_buf_init(&b);
    CHK_INT(sip_print_response_head_rx(&b, m, &m->via, &src, 200, NULL, SK_STR_NULL), 0);
    {
        const char *v = strstr(b.p, "Via: "), *e = strstr(b.p, "\r\nFrom:");
        CHK(v && e && e > v);
        if (v && e) {
            size_t want_len = strlen(want);
            if ((size_t) (e - v) != want_len || memcmp(v, want, want_len) != 0)
                fail_msg("%s: got [%.*s], want [%s]", via_line, (int) (e - v), v, want);
        }
    }
    sk_buf_free(&b);
    msg_free(m);
}

/* A CR or LF anywhere in a value (in the word-at-a-time part of the check or its
 * tail) is never printed: the header stays one line; TAB and bytes >= 0x80 are kept. */
static void test_print_value_line_breaks(void **state)
{
    (void) state;
    const char base[] = "abcdefghijklmnopqrstu"; /* 21: two words and a tail */
    set_ctx("line breaks");

    for (size_t i = 0; i < sizeof(base) - 1; i++) {
        for (int k = 0; k < 4; k++) {
            const char ins[] = {'\r', '\n', '\t', (char) 0xc3};
            char v[sizeof(base)];
            struct sk_buf b;
            struct sk_str out;
            memcpy(v, base, sizeof(base));
            v[i] = ins[k];
            sk_buf_init(&b);
            CHK_INT(sip_print_hdr_named(&b, SK_STR_LIT("X-A"), sk_str_make(v, sizeof(v) - 1)), 0);
            out = sk_buf_str(&b);
            CHK(out.len >= 7 && memcmp(out.p + out.len - 2, "\r\n", 2) == 0);
            CHK(memchr(out.p, '\r', out.len - 2) == NULL);
            CHK(memchr(out.p, '\n', out.len - 2) == NULL);
            if (k >= 2) /* kept as they are */
                CHK(out.len == 5 + sizeof(v) - 1 + 2 && memcmp(out.p + 5, v, sizeof(v) - 1) == 0);
            sk_buf_free(&b);
        }
    }
}

static void test_print_response_top_via(void **state)
{
    (void) state;
    /* sent-by is the source: the via-parm exactly as sent, odd spacing included */
    via_case("Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1", "127.0.0.1", 5061,
             "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1");
    via_case("Via: SIP / 2.0 / UDP 127.0.0.1 ; branch=z9hG4bK1", "127.0.0.1", 5060,
             "Via: SIP / 2.0 / UDP 127.0.0.1 ; branch=z9hG4bK1");
    /* another address, a name, a non-canonical literal of the same address */
    via_case("Via: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK1", "127.0.0.1", 5061,
             "Via: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK1;received=127.0.0.1");
    via_case("Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1", "127.0.0.2", 5060,
             "Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;received=127.0.0.2");
    via_case("Via: SIP/2.0/UDP 127.000.0.01:5061;branch=z9hG4bK1", "127.0.0.1", 5061,
             "Via: SIP/2.0/UDP 127.000.0.01:5061;branch=z9hG4bK1");
    via_case("Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1", "::1", 5061,
             "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1;received=::1");
    via_case("Via: SIP/2.0/UDP [::1]:5061;branch=z9hG4bK1", "::1", 5061,
             "Via: SIP/2.0/UDP [::1]:5061;branch=z9hG4bK1");
    via_case("Via: SIP/2.0/UDP [0:0::1]:5061;branch=z9hG4bK1", "::1", 5061,
             "Via: SIP/2.0/UDP [0:0::1]:5061;branch=z9hG4bK1");
    /* rport asked for (RFC 3581 §4): the port written after the name, received
     * always, even when it is sent-by; spacing, case and folding kept */
    via_case("Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK1", "127.0.0.1", 6000,
             "Via: SIP/2.0/UDP 127.0.0.1:5061;rport=6000;branch=z9hG4bK1;received=127.0.0.1");
    via_case("Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;rport", "127.0.0.1", 5060,
             "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;rport=5060;received=127.0.0.1");
    via_case("Via: SIP/2.0/UDP 127.0.0.1 ; RPort ; branch=z9hG4bK1", "127.0.0.1", 5062,
             "Via: SIP/2.0/UDP 127.0.0.1 ; RPort=5062 ; branch=z9hG4bK1;received=127.0.0.1");
    via_case("Via: SIP/2.0/UDP 127.0.0.1;rport\r\n ;branch=z9hG4bK1", "127.0.0.1", 5063,
             "Via: SIP/2.0/UDP 127.0.0.1;rport=5063 ;branch=z9hG4bK1;received=127.0.0.1");
    via_case("Via: SIP/2.0/UDP [::1]:5061;rport;branch=z9hG4bK1", "::1", 5064,
             "Via: SIP/2.0/UDP [::1]:5061;rport=5064;branch=z9hG4bK1;received=::1");
    /* the rest of the line after an rport Via: the next via-parm on its own */
    via_case("Via: SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK1, SIP/2.0/TCP 10.1.1.1;branch=z9hG4bK2",
             "127.0.0.1", 5065,
             "Via: SIP/2.0/UDP 127.0.0.1;rport=5065;branch=z9hG4bK1;received=127.0.0.1\r\n"
             "Via: SIP/2.0/TCP 10.1.1.1;branch=z9hG4bK2");
    /* rport with a value already, or a received to replace: rebuilt */
    via_case("Via: SIP/2.0/UDP 127.0.0.1:5061;rport=7;branch=z9hG4bK1", "127.0.0.1", 6000,
             "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1;received=127.0.0.1;rport=6000");
    via_case("Via: SIP/2.0/UDP 127.0.0.1:5061;rport;received=10.1.1.1;branch=z9hG4bK1",
             "127.0.0.1", 6000,
             "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1;received=127.0.0.1;rport=6000");
    via_case("Via: SIP/2.0/UDP 10.0.0.1;received=10.9.9.9;branch=z9hG4bK1", "127.0.0.1", 5060,
             "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=127.0.0.1");
    /* several via-parms on one line: the rest follows as a header of its own */
    via_case("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1 ,  SIP/2.0/TCP 10.1.1.1;branch=z9hG4bK2",
             "127.0.0.1", 5060,
             "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n"
             "Via: SIP/2.0/TCP 10.1.1.1;branch=z9hG4bK2");
    /* folded: one line out */
    via_case("Via: SIP/2.0/UDP 127.0.0.1\r\n ;branch=z9hG4bK1", "127.0.0.1", 5060,
             "Via: SIP/2.0/UDP 127.0.0.1 ;branch=z9hG4bK1");
}

/* sk_sa_from_ip reads dotted quads itself; what it refuses goes to inet_pton, so
 * the two must agree on every form. */
static void test_sa_from_ip(void **state)
{
    static const char *ok4[] = {"0.0.0.0", "127.0.0.1", "255.255.255.255", "192.0.2.10", "1.22.133.4"};
    static const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "256.1.1.1", "1.2.3.999",
                                "01.2.3.4", "1.2.3.04", "1..3.4", ".1.2.3", "1.2.3.4 ", "1.2.3.a",
                                "1234.1.1.1", "example.com"};
    struct sk_sa a;
    char out[64];
    (void) state;

    for (size_t i = 0; i < sizeof(ok4) / sizeof(ok4[0]); i++) {
        set_ctx("ipv4 %s", ok4[i]);
        CHK_INT(sk_sa_from_ip(&a, sk_str_cstr(ok4[i]), 5060), 0);
        CHK_INT(a.u.sa.sa_family, AF_INET);
        CHK_INT(sk_sa_port(&a), 5060);
        sk_sa_ip(&a, out, sizeof(out));
        CHK(strcmp(out, ok4[i]) == 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct in_addr x;
        char z[64];
        set_ctx("not ipv4 %s", bad[i]);
        snprintf(z, sizeof(z), "%s", bad[i]);
        CHK_INT(inet_pton(AF_INET, z, &x), 0); /* the reference agrees it is no quad */
        CHK(sk_sa_from_ip(&a, sk_str_cstr(bad[i]), 5060) != 0);
    }
    set_ctx("ipv6");
    CHK_INT(sk_sa_from_ip(&a, SK_STR_LIT("[2001:db8::1]"), 5061), 0);
    CHK_INT(a.u.sa.sa_family, AF_INET6);
    CHK_INT(sk_sa_from_ip(&a, SK_STR_LIT("::ffff:1.2.3.4"), 1), 0);
    CHK_INT(a.u.sa.sa_family, AF_INET6);
}

/* sk_sa_str: "ip:port", "[ip6]:port"; a buffer too small gives "" (never a cut address). */
static void test_sa_str(void **state)
{
    static const struct {
        const char *ip;
        uint16_t port;
        const char *want;
    } t[] = {
        {"127.0.0.1", 5060, "127.0.0.1:5060"}, {"0.0.0.0", 0, "0.0.0.0:0"},
        {"255.255.255.255", 65535, "255.255.255.255:65535"}, {"192.0.2.1", 9, "192.0.2.1:9"},
        {"[2001:db8::1]", 5061, "[2001:db8::1]:5061"}, {"::1", 10, "[::1]:10"},
    };
    struct sk_sa a;
    char out[80], small[8];
    (void) state;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        set_ctx("%s port %u", t[i].ip, t[i].port);
        CHK_INT(sk_sa_from_ip(&a, sk_str_cstr(t[i].ip), t[i].port), 0);
        CHK(strcmp(sk_sa_str(&a, out, sizeof(out)), t[i].want) == 0);
        /* exactly the size needed, and one byte less */
        size_t need = strlen(t[i].want) + 1;
        CHK(strcmp(sk_sa_str(&a, out, need), t[i].want) == 0);
        CHK(strcmp(sk_sa_str(&a, out, need - 1), "") == 0);
    }
    set_ctx("small buffer");
    CHK_INT(sk_sa_from_ip(&a, SK_STR_LIT("10.0.0.1"), 5060), 0);
    CHK(strcmp(sk_sa_str(&a, small, sizeof(small)), "") == 0);
}

static void test_print_response_head(void **state)
{
    struct sip_msg *req = msg_new(), *m = msg_new();
    struct sip_error err;
    struct sk_buf b;
    const struct sip_via *rv, *v;
    size_t c, rn, n;
    (void) state;

    set_ctx("180 to a 3-Via request");
    CHK_OK(parse(req, RESP_REQ, sizeof(RESP_REQ) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err),
           err);
    CHK_OK(sip_msg_vias(req, &rv, &rn, &err), err);
    CHK_INT(rn, 3);

    sk_buf_init(&b);
    CHK_INT(sip_print_response_head(&b, req, 180, NULL, SK_STR_LIT("a6c85cf")), 0);
    CHK_INT(sip_print_hdr(&b, SIP_HDR_CONTACT, SK_STR_LIT("<sip:bob@192.0.2.4>")), 0);
    CHK_INT(sip_print_body(&b, SK_STR_NULL, SK_STR_NULL), 0);
    CHK(!b.failed);
    CHK(b.len > 21 && memcmp(b.p, "SIP/2.0 180 Ringing\r\n", 21) == 0);
    CHK_OK(parse(m, b.p, b.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, b.len);
    CHK_OK(sip_msg_validate(m, &err), err);
    CHK(!m->is_request);
    CHK_INT(m->status, 180);
    CHK_STR(m->reason, "Ringing");
    CHK_OK(sip_msg_vias(m, &v, &n, &err), err);
    CHK_INT(n, 3);
    for (size_t i = 0; i < 3 && i < n; i++)
        same_via(&rv[i], &v[i]);
    CHK_STR(v[0].host, "proxy2.example.com");
    CHK_STR(v[1].host, "proxy1.example.com");
    CHK_STR(v[2].host, "pc33.atlanta.example.com");
    CHK_STR(v[2].received, "192.0.2.101");
    CHK_INT(v[2].rport, 5066);
    same_addr(&req->from, &m->from);
    CHK_STR(m->from.display, "Alice A.");
    CHK_SAME(m->to.uri.raw, req->to.uri.raw);
    CHK_STR(m->to.display, "Bob");
    CHK_STR(m->to.tag, "a6c85cf");
    CHK_STR(m->call_id, "resp1@pc33.atlanta.example.com");
    CHK_INT(m->cseq.num, 314159);
    CHK_STR(m->cseq.method, "INVITE");
    CHK_INT(m->count[SIP_HDR_CONTENT_LENGTH], 1);
    CHK_INT(m->content_length, 0);
    CHK_INT(m->body.len, 0);
    CHK_INT(m->count[SIP_HDR_CONTENT_TYPE], 0);
    CHK_INT(m->count[SIP_HDR_MAX_FORWARDS], 0);
    CHK_INT(m->count[SIP_HDR_CONTACT], 1);
    CHK_INT(m->count[SIP_HDR_FROM], 1);
    CHK_INT(m->count[SIP_HDR_TO], 1);
    sk_buf_free(&b);

    /* own reason phrase, no tag given: To stays untagged */
    set_ctx("486 without tag");
    sk_buf_init(&b);
    CHK_INT(sip_print_response_head(&b, req, 486, "Busy Here Now", SK_STR_NULL), 0);
    CHK_INT(sip_print_body(&b, SK_STR_NULL, SK_STR_NULL), 0);
    CHK_OK(parse(m, b.p, b.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(m->status, 486);
    CHK_STR(m->reason, "Busy Here Now");
    CHK_UNSET(m->to.tag);
    CHK_INT(m->content_length, 0);
    sk_buf_free(&b);
    msg_free(req);

    /* the request's To already has a tag: it is kept, no second tag */
    set_ctx("response to wsinv");
    size_t len;
    char *ws = load("wsinv", &len);
    req = msg_new();
    CHK_OK(parse(req, ws, len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    sk_buf_init(&b);
    CHK_INT(sip_print_response_head(&b, req, 200, NULL, SK_STR_LIT("othertag")), 0);
    CHK_INT(sip_print_body(&b, SK_STR_NULL, SK_STR_NULL), 0);
    CHK_OK(parse(m, b.p, b.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(c, b.len);
    CHK_OK(sip_msg_validate(m, &err), err);
    CHK_INT(m->status, 200);
    CHK_STR(m->reason, "OK");
    CHK_STR(m->to.tag, "1918181833n");
    {
        struct sk_str rest = m->to.params, name, value;
        int tags = 0;
        while (sip_param_next(&rest, &name, &value))
            if (sk_str_ieq_cstr(name, "tag")) tags++;
        CHK_INT(tags, 1);
    }
    CHK_STR(m->from.tag, "98asjd8");
    CHK_STR(m->from.display, "J Rosenberg \\\\\\\"");
    CHK_STR(m->call_id, "wsinv.ndaksdj@192.0.2.1");
    CHK_INT(m->cseq.num, 9);
    CHK_OK(sip_msg_vias(m, &v, &n, &err), err);
    CHK_INT(n, 3);
    CHK_STR(v[0].branch, "390skdjuw");
    CHK_STR(v[1].branch, "z9hG4bK9ikj8");
    CHK_STR(v[2].branch, "z9hG4bK30239");
    CHK_INT(m->content_length, 0);
    sk_buf_free(&b);
    free(ws);
    msg_free(req);
    msg_free(m);
}

/* ======================= no heap on a typical message ======================= */

static void test_no_heap_typical(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t;
    const struct sip_via *v;
    const struct sip_addr *a;
    size_t c, n;
    (void) state;

    build_invite(&t);
    for (int round = 0; round < 2; round++) {
        set_ctx("typical INVITE, round %d", round);
        CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
        CHK_OK(sip_msg_validate(m, &err), err);
        CHK_OK(sip_msg_vias(m, &v, &n, &err), err);
        CHK_INT(n, 2);
        CHK_STR(v[1].received, "192.0.2.101");
        CHK(v[1].rport_has_value);
        CHK_INT(v[1].rport, 5060);
        CHK_OK(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), err);
        CHK_INT(n, 1);
        CHK_STR(a[0].uri.transport, "udp");
        CHK_OK(sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &n, &err), err);
        CHK_INT(n, 1);
        CHK(a[0].uri.lr);
        CHK_OK(sip_msg_addrs(m, SIP_HDR_RECORD_ROUTE, &a, &n, &err), err);
        CHK_INT(n, 2);
        CHK_STR(a[1].uri.host, "edge.atlanta.example.com");
        CHK_INT(m->arena.heap_allocs, 0);
    }
    tb_free(&t);
    msg_free(m);
}

/* Privacy (RFC 3323): priv-values separated by ';', listed by sip_msg_tokens. */
static void test_tokens_privacy(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t;
    const struct sk_str *tk;
    size_t c, n;
    (void) state;

    build_req(&t, "Privacy: id\r\n", NULL);
    set_ctx("Privacy: id");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_tokens(m, SIP_HDR_PRIVACY, &tk, &n, &err), err);
    CHK_INT(n, 1);
    CHK_STR(tk[0], "id");
    tb_free(&t);

    build_req(&t, NULL, NULL);
    set_ctx("no Privacy");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(sip_msg_tokens(m, SIP_HDR_PRIVACY, &tk, &n, &err), ENOENT);
    tb_free(&t);
    msg_free(m);
}

/* Accessors cache: the second call returns the same array. */
static void test_accessor_cache(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t;
    const struct sip_via *v1, *v2;
    const struct sip_addr *a1, *a2;
    const struct sk_str *t1, *t2;
    size_t c, n1, n2;
    (void) state;

    build_invite(&t);
    set_ctx("cache");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_vias(m, &v1, &n1, &err), err);
    CHK_OK(sip_msg_vias(m, &v2, &n2, &err), err);
    CHK(v1 == v2 && n1 == n2);
    CHK_OK(sip_msg_addrs(m, SIP_HDR_RECORD_ROUTE, &a1, &n1, &err), err);
    CHK_OK(sip_msg_addrs(m, SIP_HDR_RECORD_ROUTE, &a2, &n2, &err), err);
    CHK(a1 == a2 && n1 == n2);
    CHK_OK(sip_msg_tokens(m, SIP_HDR_ALLOW, &t1, &n1, &err), err);
    CHK_INT(n1, 6);
    CHK_STR(t1[5], "UPDATE");
    CHK_OK(sip_msg_tokens(m, SIP_HDR_ALLOW, &t2, &n2, &err), err);
    CHK(t1 == t2 && n1 == n2);
    /* a new parse drops the cache */
    static const char other[] = REQ_LINE REQ_HDRS "Content-Length: 0\r\n\r\n";
    CHK_OK(parse(m, other, sizeof(other) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(sip_msg_tokens(m, SIP_HDR_ALLOW, &t2, &n2, &err), ENOENT);
    CHK_OK(sip_msg_vias(m, &v2, &n2, &err), err);
    CHK_INT(n2, 1);
    CHK_STR(v2[0].branch, "z9hG4bK776asdhds");
    tb_free(&t);
    msg_free(m);
}

/* ======================= syntax corners ======================= */

static void test_bare_lf(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    static const char msg[] = "OPTIONS sip:bob@example.com SIP/2.0\n"
                              "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKlf1\n"
                              "To: <sip:bob@example.com>\n"
                              "From: <sip:alice@example.com>;tag=lf\n"
                              "Call-ID: lf1@h.example.com\n"
                              "CSeq: 1 OPTIONS\n"
                              "Max-Forwards: 70\n"
                              "Subject: folded\n"
                              " continuation\n"
                              "Content-Length: 4\n"
                              "\n"
                              "abcd";
    (void) state;
    for (int mode = 0; mode < 2; mode++) {
        set_ctx("bare LF, %s", mode ? "stream" : "datagram");
        CHK_OK(parse(m, msg, sizeof(msg) - 1,
                     mode ? SIP_PARSE_STREAM : SIP_PARSE_DATAGRAM, NULL, &c, &err),
               err);
        CHK_INT(c, sizeof(msg) - 1);
        CHK_INT(m->method_id, SIP_METHOD_OPTIONS);
        CHK_STR(m->version, "SIP/2.0");
        CHK_INT(m->nhdr, 8);
        CHK_STR(m->call_id, "lf1@h.example.com");
        CHK_STR(m->via.branch, "z9hG4bKlf1");
        CHK_STR(m->from.tag, "lf");
        CHK_INT(m->cseq.num, 1);
        CHK_STR(m->cseq.method, "OPTIONS");
        CHK_INT(m->max_forwards, 70);
        const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_SUBJECT);
        CHK(h != NULL);
        CHK(str_has(h->value, "folded"));
        CHK(str_has(h->value, "continuation"));
        CHK_STR(m->body, "abcd");
        CHK_OK(sip_msg_validate(m, &err), err);
    }
    msg_free(m);
}

static void test_folding(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    static const char msg[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP\r\n"
                              " pc33.atlanta.example.com\r\n"
                              "\t;branch=z9hG4bKfold\r\n"
                              "Max-Forwards: 70\r\n"
                              "To: Bob\r\n"
                              " <sip:bob@biloxi.example.com>\r\n"
                              "From: Alice <sip:alice@atlanta.example.com>\r\n"
                              "  ;tag=1928301774\r\n"
                              "Call-ID: fold@pc33.atlanta.example.com\r\n"
                              "CSeq: 314159\r\n"
                              "\t INVITE\r\n"
                              "Subject: first\r\n"
                              " second\r\n"
                              "\tthird \t \r\n"
                              "X-Pad:\t  padded \t\r\n"
                              "Content-Length: 0\r\n"
                              "\r\n";
    (void) state;
    set_ctx("folding");
    CHK_OK(parse(m, msg, sizeof(msg) - 1, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(c, sizeof(msg) - 1);
    CHK_INT(m->nhdr, 9);
    CHK_STR(m->via.transport, "UDP");
    CHK_STR(m->via.host, "pc33.atlanta.example.com");
    CHK_STR(m->via.branch, "z9hG4bKfold");
    CHK_STR(m->to.display, "Bob");
    CHK_STR(m->to.uri.raw, "sip:bob@biloxi.example.com");
    CHK_STR(m->from.tag, "1928301774");
    CHK_INT(m->cseq.num, 314159);
    CHK_STR(m->cseq.method, "INVITE");
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_SUBJECT);
    CHK(h != NULL);
    CHK(h->value.len >= 5 && memcmp(h->value.p, "first", 5) == 0);
    CHK(h->value.len >= 5 && memcmp(h->value.p + h->value.len - 5, "third", 5) == 0);
    CHK(str_has(h->value, "second"));
    h = sip_msg_hdr_by_name(m, "X-Pad");
    CHK(h != NULL);
    CHK_STR(h->value, "padded");
    CHK_OK(sip_msg_validate(m, &err), err);
    msg_free(m);
}

static void test_compact_and_case(void **state)
{
    struct sip_msg *lm = msg_new(), *cm = msg_new();
    struct sip_error err;
    size_t c;
    static const char *const names[][2] = {
        {"Via", "v"},
        {"To", "t"},
        {"From", "f"},
        {"Call-ID", "i"},
        {"Contact", "m"},
        {"Content-Type", "c"},
        {"Subject", "s"},
        {"Supported", "k"},
        {"Content-Encoding", "e"},
        {"Event", "o"},
        {"Refer-To", "r"},
        {"Referred-By", "b"},
        {"Session-Expires", "x"},
        {"Allow-Events", "u"},
        {"Accept-Contact", "a"},
        {"Reject-Contact", "j"},
        {"Request-Disposition", "d"},
        {"Identity", "y"},
    };
    static const char *const values[] = {
        "SIP/2.0/UDP h.example.com;branch=z9hG4bKc1",
        "<sip:bob@example.com>",
        "<sip:alice@example.com>;tag=c1",
        "compact@h.example.com",
        "<sip:alice@h.example.com>",
        "text/plain",
        "hi",
        "timer",
        "gzip",
        "presence",
        "<sip:carol@example.com>",
        "<sip:dave@example.com>",
        "1800",
        "presence",
        "*;audio",
        "*;video",
        "proxy",
        "abc",
    };
    enum { N = sizeof(names) / sizeof(names[0]) };
    struct tb tl = {0}, tc = {0};
    (void) state;

    tb_add(&tl, "MESSAGE sip:bob@example.com SIP/2.0\r\nCSeq: 1 MESSAGE\r\n");
    tb_add(&tc, "MESSAGE sip:bob@example.com SIP/2.0\r\nCSeq: 1 MESSAGE\r\n");
    for (size_t i = 0; i < N; i++) {
        tb_add(&tl, "%s: %s\r\n", names[i][0], values[i]);
        /* alternate lower and upper case compact letters */
        tb_add(&tc, "%c: %s\r\n",
               i % 2 ? (char) toupper((unsigned char) names[i][1][0]) : names[i][1][0],
               values[i]);
    }
    tb_add(&tl, "Content-Length: 2\r\n\r\nhi");
    tb_add(&tc, "l: 2\r\n\r\nhi");
    set_ctx("long forms");
    CHK_OK(parse(lm, tl.p, tl.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    set_ctx("compact forms");
    CHK_OK(parse(cm, tc.p, tc.len, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_INT(cm->nhdr, N + 2);
    CHK_INT(lm->nhdr, N + 2);
    for (size_t i = 0; i < (size_t) N + 2 && i < cm->nhdr; i++) {
        set_ctx("compact header %zu", i);
        CHK_INT(cm->hdr[i].id, lm->hdr[i].id);
        CHK(cm->hdr[i].id != SIP_HDR_OTHER);
    }
    set_ctx("compact forms");
    CHK_OK(sip_msg_validate(cm, &err), err);
    CHK_STR(cm->via.branch, "z9hG4bKc1");
    CHK_STR(cm->from.tag, "c1");
    CHK_STR(cm->call_id, "compact@h.example.com");
    CHK_STR(cm->body, "hi");
    CHK(sip_msg_hdr_by_name(cm, "Session-Expires") ==
        sip_msg_hdr(cm, SIP_HDR_SESSION_EXPIRES));
    CHK(sip_msg_hdr_by_name(cm, "X") == sip_msg_hdr(cm, SIP_HDR_SESSION_EXPIRES));
    CHK(sip_msg_hdr_by_name(lm, "i") == sip_msg_hdr(lm, SIP_HDR_CALL_ID));
    tb_free(&tl);
    tb_free(&tc);

    /* header names in any case */
    static const char mixed[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
                                "vIA: SIP/2.0/UDP h.example.com;branch=z9hG4bKcase\r\n"
                                "TO: <sip:bob@example.com>\r\n"
                                "from: <sip:alice@example.com>;tag=lc\r\n"
                                "CALL-id: case@h.example.com\r\n"
                                "cseq: 5 OPTIONS\r\n"
                                "max-FORWARDS: 9\r\n"
                                "CONTENT-length: 0\r\n"
                                "\r\n";
    set_ctx("mixed case names");
    CHK_OK(parse(lm, mixed, sizeof(mixed) - 1, SIP_PARSE_STREAM, NULL, &c, &err), err);
    static const enum sip_hdr_id ids[] = {
        SIP_HDR_VIA,  SIP_HDR_TO,           SIP_HDR_FROM,          SIP_HDR_CALL_ID,
        SIP_HDR_CSEQ, SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH};
    CHK_INT(lm->nhdr, 7);
    for (size_t i = 0; i < 7 && i < lm->nhdr; i++)
        CHK_INT(lm->hdr[i].id, ids[i]);
    CHK_STR(lm->hdr[0].name, "vIA");
    CHK_INT(lm->max_forwards, 9);
    CHK_OK(sip_msg_validate(lm, &err), err);
    CHK(sip_msg_hdr_by_name(lm, "CALL-ID") == &lm->hdr[3]);
    CHK(sip_msg_hdr_by_name(lm, "call-id") == &lm->hdr[3]);

    msg_free(lm);
    msg_free(cm);
}

static void test_hdr_lookup(void **state)
{
    (void) state;
    set_ctx("lookup");
    CHK_INT(sip_hdr_lookup("Via", 3), SIP_HDR_VIA);
    CHK_INT(sip_hdr_lookup("vIa", 3), SIP_HDR_VIA);
    CHK_INT(sip_hdr_lookup("v", 1), SIP_HDR_VIA);
    CHK_INT(sip_hdr_lookup("V", 1), SIP_HDR_VIA);
    CHK_INT(sip_hdr_lookup("l", 1), SIP_HDR_CONTENT_LENGTH);
    CHK_INT(sip_hdr_lookup("WWW-Authenticate", 16), SIP_HDR_WWW_AUTHENTICATE);
    CHK_INT(sip_hdr_lookup("Vias", 4), SIP_HDR_OTHER);
    CHK_INT(sip_hdr_lookup("Vi", 2), SIP_HDR_OTHER);
    CHK_INT(sip_hdr_lookup("q", 1), SIP_HDR_OTHER);
    CHK_INT(sip_hdr_lookup("X-Foo", 5), SIP_HDR_OTHER);
    CHK_INT(sip_hdr_lookup("", 0), SIP_HDR_OTHER);
    CHK_INT(sip_hdr_lookup("Viax", 3), SIP_HDR_VIA); /* length-bounded */
    /* every canonical name in either case finds its id; a byte that differs from
     * it only in bit 5 but is no letter of the other case (CR for '-', a control
     * byte, '@' for '`'...) finds nothing */
    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        const char *name = sip_hdr_name((enum sip_hdr_id) id);
        char v[64];
        size_t n = name ? strlen(name) : 0;
        if (!name || n >= sizeof(v))
            continue;
        for (size_t i = 0; i <= n; i++)
            v[i] = (char) toupper((unsigned char) name[i]);
        CHK_INT(sip_hdr_lookup(v, n), id);
        for (size_t i = 0; i <= n; i++)
            v[i] = (char) tolower((unsigned char) name[i]);
        CHK_INT(sip_hdr_lookup(v, n), id);
        for (size_t i = 0; i < n; i++) {
            memcpy(v, name, n);
            if (isalpha((unsigned char) name[i]))
                continue;
            v[i] = (char) (name[i] ^ 0x20);
            CHK_INT(sip_hdr_lookup(v, n), SIP_HDR_OTHER);
        }
    }
    CHK_INT(sip_hdr_lookup("Call\rID", 7), SIP_HDR_OTHER);
    CHK(strcmp(sip_hdr_name(SIP_HDR_CALL_ID), "Call-ID") == 0);
    CHK(strcmp(sip_hdr_name(SIP_HDR_CSEQ), "CSeq") == 0);
    CHK(sip_hdr_name(SIP_HDR_OTHER) == NULL);
    CHK(sip_hdr_flags(SIP_HDR_VIA) & SIP_HF_LIST);
    CHK(sip_hdr_flags(SIP_HDR_CSEQ) & SIP_HF_SINGLE);
    CHK_INT(sip_method_lookup(SK_STR_LIT("INVITE")), SIP_METHOD_INVITE);
    CHK_INT(sip_method_lookup(SK_STR_LIT("PUBLISH")), SIP_METHOD_PUBLISH);
    CHK_INT(sip_method_lookup(SK_STR_LIT("invite")), SIP_METHOD_OTHER);
    CHK_INT(sip_method_lookup(SK_STR_LIT("INVITEX")), SIP_METHOD_OTHER);
    CHK(strcmp(sip_method_name(SIP_METHOD_REGISTER), "REGISTER") == 0);
}

static void test_repeated_and_lists(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c, n;
    const struct sip_addr *a;
    const struct sip_via *v;
    const struct sk_str *t;
    static const char msg[] =
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP "
        "b.example.com:5070;branch=z9hG4bK2\r\n"
        "Route: <sip:r1@x.example.com;lr>,\r\n <sip:r2@x.example.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
        "To: <sip:bob@biloxi.example.com>\r\n"
        "Route: <sip:r3@x.example.com;lr>\r\n"
        "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
        "Supported: timer, 100rel\r\n"
        "Call-ID: lists@a.example.com\r\n"
        "Supported: path\r\n"
        "CSeq: 1 INVITE\r\n"
        "Route: <sip:r4@x.example.com;lr>\r\n"
        "Contact: \"a, b\" <sip:x@y.example.com>, <sip:z@w.example.com>\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    (void) state;

    set_ctx("lists");
    CHK_OK(parse(m, msg, sizeof(msg) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_validate(m, &err), err);

    /* iteration over repeated header lines */
    CHK_INT(m->count[SIP_HDR_ROUTE], 3);
    const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_ROUTE);
    CHK(h != NULL && h == &m->hdr[1]);
    CHK(str_has(h->value, "r1@") && str_has(h->value, "r2@"));
    h = sip_msg_hdr_next(m, h);
    CHK(h != NULL && h == &m->hdr[5]);
    CHK_STR(h->value, "<sip:r3@x.example.com;lr>");
    CHK_INT(h->next, 11);
    h = sip_msg_hdr_next(m, h);
    CHK(h != NULL && h == &m->hdr[11]);
    CHK_INT(h->next, SIP_HDR_NONE);
    CHK(sip_msg_hdr_next(m, h) == NULL);
    CHK(sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE) == NULL);

    CHK_OK(sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &n, &err), err);
    CHK_INT(n, 4);
    for (size_t i = 0; i < 4 && i < n; i++) {
        char user[8];
        snprintf(user, sizeof(user), "r%zu", i + 1);
        CHK_STRC(a[i].uri.user, user);
        CHK(a[i].uri.lr);
    }
    CHK_OK(sip_msg_vias(m, &v, &n, &err), err);
    CHK_INT(n, 3);
    CHK_STR(v[0].host, "a.example.com");
    CHK_STR(v[1].host, "b.example.com");
    CHK_INT(v[1].port, 5070);
    CHK_STR(v[1].transport, "TCP");
    CHK_STR(v[2].branch, "z9hG4bK3");
    CHK_OK(sip_msg_tokens(m, SIP_HDR_SUPPORTED, &t, &n, &err), err);
    CHK_INT(n, 3);
    CHK_STR(t[0], "timer");
    CHK_STR(t[1], "100rel");
    CHK_STR(t[2], "path");

    /* a quoted comma does not split */
    CHK_OK(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), err);
    CHK_INT(n, 2);
    CHK(a[0].display_quoted);
    CHK_STR(a[0].display, "a, b");
    CHK_STR(a[0].uri.raw, "sip:x@y.example.com");
    CHK_STR(a[1].uri.raw, "sip:z@w.example.com");
    CHK_UNSET(a[1].display);
    msg_free(m);

    /* commas inside <> and escaped quotes inside a display name */
    static const char msg2[] = "REGISTER sip:example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKq\r\n"
                               "To: <sip:a@example.com>\r\n"
                               "From: <sip:a@example.com>;tag=1\r\n"
                               "Call-ID: q@a\r\n"
                               "CSeq: 2 REGISTER\r\n"
                               "Contact: <sip:a,b@example.com>, \"q \\\"x, y\\\"\" "
                               "<sip:c@example.com>;expires=60,"
                               "<sip:d@example.com>;q=0.5\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    m = msg_new();
    set_ctx("commas in <> and quotes");
    CHK_OK(parse(m, msg2, sizeof(msg2) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), err);
    CHK_INT(n, 3);
    CHK_STR(a[0].uri.user, "a,b");
    CHK_INT(a[0].expires, -1);
    CHK_STR(a[1].display, "q \\\"x, y\\\"");
    CHK_STR(a[1].uri.user, "c");
    CHK_INT(a[1].expires, 60);
    CHK_STR(a[2].uri.user, "d");
    CHK_INT(a[2].q, 500);
    msg_free(m);

    /* Contact: * */
    static const char msg3[] = "REGISTER sip:example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKs\r\n"
                               "To: <sip:a@example.com>\r\n"
                               "From: <sip:a@example.com>;tag=1\r\n"
                               "Call-ID: s@a\r\n"
                               "CSeq: 3 REGISTER\r\n"
                               "Contact: *\r\n"
                               "Expires: 0\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    m = msg_new();
    set_ctx("Contact star");
    CHK_OK(parse(m, msg3, sizeof(msg3) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), err);
    CHK_INT(n, 1);
    CHK(a[0].star);
    uint32_t ex = 99;
    CHK_OK(sip_msg_uint(m, SIP_HDR_EXPIRES, &ex, &err), err);
    CHK_INT(ex, 0);
    msg_free(m);
}

/* Lines that no SIP grammar allows: refused in both modes. */
static void test_reject_syntax(void **state)
{
    static const struct {
        const char *what, *text;
    } cases[] = {
        {"header without colon", REQ_LINE
         "Via SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n" H_MF H_TO H_FROM H_CID H_CSEQ
         "Content-Length: 0\r\n\r\n"},
        {"empty header name", REQ_LINE REQ_HDRS ": value\r\nContent-Length: 0\r\n\r\n"},
        {"space inside header name",
         REQ_LINE REQ_HDRS "X Header: value\r\nContent-Length: 0\r\n\r\n"},
        {"continuation right after the start line",
         REQ_LINE " folded\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n"},
        {"Request-URI without scheme",
         "INVITE bob SIP/2.0\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n"},
        {"method with a separator",
         "INV(ITE sip:bob@biloxi.example.com SIP/2.0\r\n" REQ_HDRS
         "Content-Length: 0\r\n\r\n"},
        {"no version",
         "INVITE sip:bob@biloxi.example.com\r\n" REQ_HDRS "Content-Length: 0\r\n\r\n"},
        {"two-digit status",
         "SIP/2.0 99 Odd\r\n" H_VIA H_TO H_FROM H_CID H_CSEQ "Content-Length: 0\r\n\r\n"},
        {"four-digit status", "SIP/2.0 1000 Odd\r\n" H_VIA H_TO H_FROM H_CID H_CSEQ
                              "Content-Length: 0\r\n\r\n"},
        {"status not a number", "SIP/2.0 2x0 Odd\r\n" H_VIA H_TO H_FROM H_CID H_CSEQ
                                "Content-Length: 0\r\n\r\n"},
    };
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int mode = 0; mode < 2; mode++) {
            set_ctx("%s (%s)", cases[i].what, mode ? "stream" : "datagram");
            int rc = parse(m, cases[i].text, strlen(cases[i].text),
                           mode ? SIP_PARSE_STREAM : SIP_PARSE_DATAGRAM, NULL, &c, &err);
            CHK_BAD(rc, err);
            CHK_INT(err.status, 400);
            CHK(err.pos < strlen(cases[i].text));
        }
    }

    /* not SIP at all: refused at parse (400/505), or at validation with 505 */
    static const char http[] = "INVITE sip:bob@biloxi.example.com HTTP/1.1\r\n" REQ_HDRS
                               "Content-Length: 0\r\n\r\n";
    set_ctx("HTTP/1.1 version");
    int rc = parse(m, http, sizeof(http) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err);
    if (rc == 0) {
        CHK_BAD(sip_msg_validate(m, &err), err);
        CHK_INT(err.status, 505);
    } else {
        CHK_BAD(rc, err);
        CHK(err.status == 400 || err.status == 505);
    }
    msg_free(m);
}

static void test_ipv6(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    const struct sip_via *v;
    const struct sip_addr *a;
    size_t c, n;
    static const char msg[] =
        "OPTIONS sip:bob@[2001:db8::10]:5062 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKv6;received=2001:db8::9:255;"
        "rport=5071\r\n"
        "Max-Forwards: 70\r\n"
        "To: <sip:bob@[2001:db8::10]>\r\n"
        "From: <sip:alice@[2001:db8::9:1]>;tag=v6\r\n"
        "Call-ID: v6@[2001:db8::9:1]\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Contact: <sip:alice@[2001:db8::9:1]:5070;transport=udp>\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    (void) state;
    set_ctx("IPv6");
    CHK_OK(parse(m, msg, sizeof(msg) - 1, SIP_PARSE_STREAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_validate(m, &err), err);
    CHK_STR(m->ruri.host, "2001:db8::10");
    CHK_INT(m->ruri.host_type, SIP_HOST_IPV6);
    CHK(m->ruri.has_port);
    CHK_INT(m->ruri.port, 5062);
    CHK_OK(sip_msg_vias(m, &v, &n, &err), err);
    CHK_INT(n, 1);
    CHK_STR(v[0].host, "2001:db8::9:1");
    CHK_INT(v[0].host_type, SIP_HOST_IPV6);
    CHK(v[0].has_port);
    CHK_INT(v[0].port, 5070);
    CHK_STR(v[0].received, "2001:db8::9:255");
    CHK(v[0].has_rport && v[0].rport_has_value);
    CHK_INT(v[0].rport, 5071);
    CHK_STR(m->to.uri.host, "2001:db8::10");
    CHK(!m->to.uri.has_port);
    CHK_OK(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), err);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.host, "2001:db8::9:1");
    CHK_INT(a[0].uri.port, 5070);
    CHK_STR(a[0].uri.transport, "udp");
    msg_free(m);
}

/* ======================= validation ======================= */

static const char *const base_lines[] = {H_VIA, H_MF, H_TO, H_FROM, H_CID, H_CSEQ};
static const char *const base_names[] = {"Via",  "Max-Forwards", "To",
                                         "From", "Call-ID",      "CSeq"};

static void test_validate_missing(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    size_t c;
    (void) state;

    for (size_t skip = 0; skip < 6; skip++) {
        struct tb t = {0};
        tb_add(&t, REQ_LINE);
        for (size_t i = 0; i < 6; i++)
            if (i != skip) tb_add(&t, "%s", base_lines[i]);
        tb_add(&t, "Content-Length: 0\r\n\r\n");
        set_ctx("missing %s", base_names[skip]);
        CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
        err.reason = NULL;
        int rc = sip_msg_validate(m, &err);
        if (skip == 1) {
            CHK_OK(rc,
                   err); /* Max-Forwards is not needed to process it (RFC 2543 peers) */
        } else {
            CHK_BAD(rc, err);
            CHK_INT(err.status, 400);
            if (!mentions(err.reason, base_names[skip]))
                fail_at(__FILE__, __LINE__, "reason \"%s\" does not name %s", err.reason,
                        base_names[skip]);
        }
        tb_free(&t);
    }

    /* all present: fine */
    struct tb t;
    build_req(&t, NULL, NULL);
    set_ctx("complete");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_validate(m, &err), err);
    tb_free(&t);

    /* a response needs them too, but its CSeq method is whatever the request was */
    static const char resp[] = "SIP/2.0 200 OK\r\n" H_VIA H_TO H_FROM H_CID
                               "CSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
    set_ctx("response");
    CHK_OK(parse(m, resp, sizeof(resp) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_OK(sip_msg_validate(m, &err), err);
    static const char resp2[] =
        "SIP/2.0 200 OK\r\n" H_VIA H_TO H_FROM "CSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
    set_ctx("response without Call-ID");
    CHK_OK(parse(m, resp2, sizeof(resp2) - 1, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK(mentions(err.reason, "Call-ID"));
    msg_free(m);
}

/* err.pos lies on the line of a header with this id */
static bool pos_on(const struct sip_msg *m, size_t pos, enum sip_hdr_id id)
{
    for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
        size_t s = sip_msg_offset(m, h->name.p);
        size_t e = sip_msg_offset(m, h->value.p) + h->value.len;
        if (pos >= s && pos <= e) return true;
    }
    return false;
}

static void test_validate_cseq(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0};
    size_t c;
    (void) state;

    /* duplicate CSeq, even with the same value */
    tb_add(&t, REQ_LINE REQ_HDRS H_CSEQ "Content-Length: 0\r\n\r\n");
    set_ctx("duplicate CSeq");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(m->count[SIP_HDR_CSEQ], 2);
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 400);
    CHK(pos_on(m, err.pos, SIP_HDR_CSEQ));
    tb_free(&t);

    /* duplicate Call-ID */
    tb_add(&t,
           REQ_LINE REQ_HDRS "Call-ID: other@example.com\r\nContent-Length: 0\r\n\r\n");
    set_ctx("duplicate Call-ID");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 400);
    CHK(pos_on(m, err.pos, SIP_HDR_CALL_ID));
    tb_free(&t);

    /* method mismatch */
    tb_add(&t, REQ_LINE H_VIA H_MF H_TO H_FROM H_CID
           "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n");
    set_ctx("CSeq method mismatch");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 400);
    CHK(pos_on(m, err.pos, SIP_HDR_CSEQ));
    tb_free(&t);

    /* methods are case-sensitive: "invite" is not INVITE */
    tb_add(&t, REQ_LINE H_VIA H_MF H_TO H_FROM H_CID
           "CSeq: 1 invite\r\nContent-Length: 0\r\n\r\n");
    set_ctx("CSeq method case");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_BAD(sip_msg_validate(m, &err), err);
    tb_free(&t);

    /* the number: 0 .. 2^31-1 */
    static const struct {
        const char *num;
        int rc;
    } nums[] = {{"0", 0},
                {"1", 0},
                {"2147483647", 0},
                {"2147483648", EBADMSG},
                {"4294967295", EBADMSG},
                {"4294967296", EBADMSG},
                {"99999999999999999999", EBADMSG},
                {"-1", EBADMSG},
                {"", EBADMSG}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        tb_add(&t,
               REQ_LINE H_VIA H_MF H_TO H_FROM H_CID "CSeq: %s INVITE\r\n"
                                                     "Content-Length: 0\r\n\r\n",
               nums[i].num);
        set_ctx("CSeq number \"%s\"", nums[i].num);
        int rc = parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err);
        if (nums[i].rc == 0) {
            CHK_OK(rc, err);
            CHK_INT(m->cseq.num, strtoul(nums[i].num, NULL, 10));
            CHK_OK(sip_msg_validate(m, &err), err);
        } else {
            CHK_BAD(rc, err);
            CHK_INT(err.status, 400);
            CHK(err.pos < t.len);
        }
        tb_free(&t);
    }
    msg_free(m);
}

static void test_validate_version_and_length(void **state)
{
    struct sip_msg *m = msg_new();
    struct sip_error err;
    struct tb t = {0};
    size_t c;
    (void) state;

    tb_add(&t, "INVITE sip:bob@biloxi.example.com SIP/3.0\r\n" REQ_HDRS
               "Content-Length: 0\r\n\r\n");
    set_ctx("SIP/3.0 request");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(m->version_major, 3);
    CHK_STR(m->version, "SIP/3.0");
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 505);
    tb_free(&t);

    tb_add(&t, "INVITE sip:bob@biloxi.example.com SIP/2.1\r\n" REQ_HDRS
               "Content-Length: 0\r\n\r\n");
    set_ctx("SIP/2.1 request");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    CHK_INT(m->version_minor, 1);
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 505);
    tb_free(&t);

    /* several Content-Length values */
    tb_add(&t, REQ_LINE REQ_HDRS "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    set_ctx("two Content-Length");
    CHK_OK(parse(m, t.p, t.len, SIP_PARSE_DATAGRAM, NULL, &c, &err), err);
    err.reason = NULL;
    CHK_BAD(sip_msg_validate(m, &err), err);
    CHK_INT(err.status, 400);
    CHK(pos_on(m, err.pos, SIP_HDR_CONTENT_LENGTH));
    tb_free(&t);

    /* Content-Length not a number */
    static const char *const bad_cl[] = {"abc", "-1", "1 2", "99999999999999999999999",
                                         "0x10"};
    for (size_t i = 0; i < sizeof(bad_cl) / sizeof(bad_cl[0]); i++) {
        tb_add(&t, REQ_LINE REQ_HDRS "Content-Length: %s\r\n\r\n", bad_cl[i]);
        for (int mode = 0; mode < 2; mode++) {
            set_ctx("Content-Length \"%s\" (%s)", bad_cl[i],
                    mode ? "stream" : "datagram");
            CHK_BAD(parse(m, t.p, t.len, mode ? SIP_PARSE_STREAM : SIP_PARSE_DATAGRAM,
                          NULL, &c, &err),
                    err);
            CHK_INT(err.status, 400);
        }
        tb_free(&t);
    }
    msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_rfc4475_prefixes),
        cmocka_unit_test(test_stream_rfc4475_rejects),
        cmocka_unit_test(test_stream_concatenated),
        cmocka_unit_test(test_stream_split_every_byte),
        cmocka_unit_test(test_stream_needs_content_length),
        cmocka_unit_test(test_stream_leading_crlf),
        cmocka_unit_test(test_stream_content_length_vs_body),
        cmocka_unit_test(test_guard_rfc4475),
        cmocka_unit_test(test_guard_awkward_ends),
        cmocka_unit_test(test_limits_defaults),
        cmocka_unit_test(test_limits_headers),
        cmocka_unit_test(test_limits_line_len),
        cmocka_unit_test(test_limits_uri_len),
        cmocka_unit_test(test_limits_uri_len_to),
        cmocka_unit_test(test_limits_uri_len_contact),
        cmocka_unit_test(test_limits_body_size),
        cmocka_unit_test(test_limits_msg_size),
        cmocka_unit_test(test_limits_list_items),
        cmocka_unit_test(test_limits_hdr_cap),
        cmocka_unit_test(test_limits_default_values),
        cmocka_unit_test(test_print_roundtrip_rfc4475),
        cmocka_unit_test(test_print_request_from_scratch),
        cmocka_unit_test(test_print_response_head),
        cmocka_unit_test(test_print_value_line_breaks),
        cmocka_unit_test(test_print_response_top_via),
        cmocka_unit_test(test_sa_from_ip),
        cmocka_unit_test(test_sa_str),
        cmocka_unit_test(test_no_heap_typical),
        cmocka_unit_test(test_tokens_privacy),
        cmocka_unit_test(test_accessor_cache),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_compact_and_case),
        cmocka_unit_test(test_hdr_lookup),
        cmocka_unit_test(test_repeated_and_lists),
        cmocka_unit_test(test_reject_syntax),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_validate_missing),
        cmocka_unit_test(test_validate_cseq),
        cmocka_unit_test(test_validate_version_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
