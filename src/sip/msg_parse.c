/* SIP message parsing in place (RFC 3261 §7): framing, start line, header index, eager headers. */
#include "sip/msg.h"

#include <stddef.h>

#include "sip/scan.h"

static const struct {
    const char *name;
    unsigned char len;
    enum sip_method id;
} methods[] = {
    {"INVITE", 6, SIP_METHOD_INVITE},       {"ACK", 3, SIP_METHOD_ACK},
    {"BYE", 3, SIP_METHOD_BYE},             {"CANCEL", 6, SIP_METHOD_CANCEL},
    {"REGISTER", 8, SIP_METHOD_REGISTER},   {"OPTIONS", 7, SIP_METHOD_OPTIONS},
    {"INFO", 4, SIP_METHOD_INFO},           {"PRACK", 5, SIP_METHOD_PRACK},
    {"SUBSCRIBE", 9, SIP_METHOD_SUBSCRIBE}, {"NOTIFY", 6, SIP_METHOD_NOTIFY},
    {"UPDATE", 6, SIP_METHOD_UPDATE},       {"MESSAGE", 7, SIP_METHOD_MESSAGE},
    {"REFER", 5, SIP_METHOD_REFER},         {"PUBLISH", 7, SIP_METHOD_PUBLISH},
};

enum sip_method sip_method_lookup(struct sk_str name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].len == name.len && methods[i].name[0] == name.p[0] &&
            memcmp(methods[i].name, name.p, name.len) == 0)
            return methods[i].id;
    }
    return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].id == m)
            return methods[i].name;
    }
    return NULL;
}

void sip_msg_init(struct sip_msg *m)
{
    memset(m, 0, offsetof(struct sip_msg, arena));
    sk_arena_init(&m->arena, m->arena_buf, sizeof(m->arena_buf));
    m->limits = &sip_limits_default;
}

void sip_msg_release(struct sip_msg *m)
{
    sk_arena_reset(&m->arena);
}

static void msg_reset(struct sip_msg *m, const struct sip_limits *limits)
{
    sk_arena_reset(&m->arena);
    m->limits = limits ? limits : &sip_limits_default;
    m->buf = NULL;
    m->len = 0;
    m->is_request = false;
    m->method = m->ruri_raw = m->reason = m->version = m->body = m->call_id = SK_STR_NULL;
    m->method_id = SIP_METHOD_OTHER;
    m->status = 0;
    m->version_major = m->version_minor = 0;
    m->nhdr = 0;
    memset(m->first, 0xff, sizeof(m->first));
    memset(m->count, 0, sizeof(m->count));
    memset(m->cache_state, 0, sizeof(m->cache_state));
    m->has_via = m->has_from = m->has_to = m->has_call_id = m->has_cseq = false;
    m->max_forwards = -1;
    m->content_length = -1;
}

/* Error at a point of the message, naming what was being parsed. */
static int fail_at(struct sip_error *err, int status, const char *where, const char *reason,
                   size_t pos)
{
    sip_fail(err, status, reason, pos);
    if (err)
        err->where = where;
    return EBADMSG;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (case-insensitive literal) */
static bool parse_version(struct sip_msg *m, struct sk_str v)
{
    const char *p = v.p + 4, *end = v.p + v.len, *q;
    uint32_t major, minor;

    if (v.len == 7 && memcmp(v.p, "SIP/2.0", 7) == 0) {
        /* what nearly every message says */
        m->version = v;
        m->version_major = 2;
        m->version_minor = 0;
        return true;
    }
    if (v.len < 7 || !sk_str_iprefix(v, "SIP/"))
        return false;
    q = sc_skip_class(p, end, SC_DIGIT);
    if (q == p || q >= end || *q != '.' ||
        sk_str_to_u32(sk_str_make(p, (size_t) (q - p)), 255, &major))
        return false;
    p = q + 1;
    q = sc_skip_class(p, end, SC_DIGIT);
    if (q == p || q != end || sk_str_to_u32(sk_str_make(p, (size_t) (q - p)), 255, &minor))
        return false;
    m->version = v;
    m->version_major = major;
    m->version_minor = minor;
    return true;
}

static int parse_status_line(struct sip_msg *m, const char *p, const char *end,
                             struct sip_error *err)
{
    const char *q = p;
    uint32_t code;

    while (q < end && *q != ' ')
        q++;
    if (!parse_version(m, sk_str_make(p, (size_t) (q - p))))
        return fail_at(err, 400, "Status-Line", "invalid SIP version", sip_msg_offset(m, p));
    p = q;
    while (p < end && *p == ' ')
        p++;
    q = sc_skip_class(p, end, SC_DIGIT);
    if (q - p != 3 || (q < end && *q != ' '))
        return fail_at(err, 400, "Status-Line", "status code must be 3 digits",
                       sip_msg_offset(m, p));
    code = (uint32_t) (p[0] - '0') * 100 + (uint32_t) (p[1] - '0') * 10 + (uint32_t) (p[2] - '0');
    if (code < 100 || code > 699)
        return fail_at(err, 400, "Status-Line", "status code out of range",
                       sip_msg_offset(m, p));
    m->status = (int) code;
    /* Reason-Phrase may be empty (RFC 4475 noreason) and may hold UTF-8 (unreason). */
    p = q < end ? q + 1 : q;
    m->reason = sk_str_make(p, (size_t) (end - p));
    while (m->reason.len && m->reason.p[m->reason.len - 1] == ' ')
        m->reason.len--;
    return 0;
}

static int parse_request_line(struct sip_msg *m, const char *p, const char *end,
                              struct sip_error *err)
{
    const char *q;
    struct sip_error uerr;

    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p || q >= end || *q != ' ')
        return fail_at(err, 400, "Request-Line", "malformed method", sip_msg_offset(m, p));
    m->method = sk_str_make(p, (size_t) (q - p));
    m->method_id = sip_method_lookup(m->method);
    m->is_request = true; /* even if the rest fails: a server may answer it */
    /* RFC 3261 wants single spaces; several are tolerated (RFC 4475 lwsstart). */
    for (p = q; p < end && *p == ' '; p++)
        ;
    if (p < end && *p == '<')
        return fail_at(err, 400, "Request-Line", "Request-URI must not be enclosed in <>",
                       sip_msg_offset(m, p));
    for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
        ;
    m->ruri_raw = sk_str_make(p, (size_t) (q - p));
    if (m->ruri_raw.len == 0)
        return fail_at(err, 400, "Request-Line", "missing Request-URI", sip_msg_offset(m, p));
    if (m->ruri_raw.len > m->limits->max_uri_len)
        return fail_at(err, 414, "Request-Line", "Request-URI too long", sip_msg_offset(m, p));
    /* The version is the last word; text between it and the URI means LWS inside
     * the Request-URI (RFC 4475 lwsruri). A trailing SP is tolerated (trws). */
    while (end > q && end[-1] == ' ')
        end--;
    for (p = end; p > q && p[-1] != ' ' && p[-1] != '\t'; p--)
        ;
    if (p == q)
        return fail_at(err, 400, "Request-Line", "missing SIP version", sip_msg_offset(m, q));
    for (const char *s2 = q; s2 < p; s2++) {
        if (*s2 != ' ')
            return fail_at(err, 400, "Request-Line", "whitespace inside the Request-URI",
                           sip_msg_offset(m, q));
    }
    if (!parse_version(m, sk_str_make(p, (size_t) (end - p))))
        return fail_at(err, 400, "Request-Line", "invalid SIP version", sip_msg_offset(m, p));
    if (sip_uri_parse(&m->ruri, m->ruri_raw.p, m->ruri_raw.len, &uerr))
        return fail_at(err, 400, "Request-URI", uerr.reason,
                       sip_msg_offset(m, m->ruri_raw.p) + uerr.pos);
    return 0;
}

static int parse_start_line(struct sip_msg *m, const char *p, const char *end,
                            struct sip_error *err)
{
    if (end > p && end[-1] == '\r')
        end--;
    if ((size_t) (end - p) > m->limits->max_line_len)
        return fail_at(err, 513, "start line", "start line too long", sip_msg_offset(m, p));
    /* "SIP/" in any case: a status line (letters fold exactly under OR 0x20) */
    if (end - p >= 4 && (p[0] | 0x20) == 's' && (p[1] | 0x20) == 'i' && (p[2] | 0x20) == 'p' &&
        p[3] == '/')
        return parse_status_line(m, p, end, err);
    return parse_request_line(m, p, end, err);
}

/* Index one header field starting at p; *next gets the start of the following line.
 * Returns 0, EAGAIN (line not complete) or EBADMSG. */
static int index_header(struct sip_msg *m, const char *p, const char *end, const char **next,
                        uint16_t *last, struct sip_error *err)
{
    const char *name = p, *q, *val, *lf, *vend;
    struct sip_hdr *h;
    size_t max_hdrs = m->limits->max_headers < SIP_MSG_HDR_CAP ? m->limits->max_headers
                                                               : SIP_MSG_HDR_CAP;
    enum sip_hdr_id id;

    /* The value may continue on lines starting with SP/HT (folding). */
    for (q = p;; q = lf + 1) {
        lf = memchr(q, '\n', (size_t) (end - q));
        if (!lf || lf + 1 >= end)
            return EAGAIN; /* also when the next char (folding or not) is unknown */
        if (lf[1] != ' ' && lf[1] != '\t')
            break;
    }
    *next = lf + 1;
    vend = lf;
    if ((size_t) (vend - name) > m->limits->max_line_len)
        return fail_at(err, 513, "header", "header field too long", sip_msg_offset(m, name));
    if (sc_is(*p, SC_WS))
        return fail_at(err, 400, "header", "line starts with whitespace", sip_msg_offset(m, p));
    q = sc_skip_class(p, vend, SC_TOKEN);
    if (q == p)
        return fail_at(err, 400, "header", "invalid header name", sip_msg_offset(m, p));
    id = sip_hdr_lookup(name, (size_t) (q - name));
    val = q;
    while (val < vend && (*val == ' ' || *val == '\t'))
        val++;
    if (val >= vend || *val != ':')
        return fail_at(err, 400, "header", "missing ':' after header name",
                       sip_msg_offset(m, val));
    val = sc_skip_ws(val + 1, vend);
    while (vend > val && sc_is(vend[-1], SC_WS))
        vend--;
    if (m->nhdr >= max_hdrs)
        return fail_at(err, 513, "header", "too many header fields", sip_msg_offset(m, name));
    h = &m->hdr[m->nhdr];
    h->name = sk_str_make(name, (size_t) (q - name));
    h->value = sk_str_make(val, (size_t) (vend - val));
    h->id = (uint16_t) id;
    h->next = SIP_HDR_NONE;
    if (m->first[id] == SIP_HDR_NONE)
        m->first[id] = m->nhdr;
    else
        m->hdr[last[id]].next = m->nhdr;
    last[id] = m->nhdr;
    m->count[id]++;
    m->nhdr++;
    return 0;
}

static int parse_eager(struct sip_msg *m, struct sip_error *err);

/* Content-Length and the body (RFC 3261 §18.3, §20.14). */
static int frame_body(struct sip_msg *m, const char *body, const char *end,
                      enum sip_parse_mode mode, struct sip_error *err)
{
    const struct sip_hdr *cl = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
    size_t avail = (size_t) (end - body);
    uint32_t n;
    struct sip_error e;

    if (cl) {
        if (sip_parse_uint(cl->value, UINT32_MAX, &n, &e, "Content-Length"))
            return fail_at(err, 400, "Content-Length", e.reason,
                           sip_msg_offset(m, cl->value.p) + e.pos);
        if (mode == SIP_PARSE_STREAM && m->count[SIP_HDR_CONTENT_LENGTH] > 1)
            return fail_at(err, 400, "Content-Length", "several Content-Length headers",
                           sip_msg_offset(m, cl->name.p));
        if (n > m->limits->max_body_size)
            return fail_at(err, 513, "Content-Length", "body too large",
                           sip_msg_offset(m, cl->value.p));
        if ((size_t) (body - m->buf) + n > m->limits->max_msg_size)
            return fail_at(err, 513, "message", "message too large", 0);
        m->content_length = n;
        if (n > avail) {
            if (mode == SIP_PARSE_STREAM)
                return EAGAIN;
            return fail_at(err, 400, "Content-Length", "larger than the message",
                           sip_msg_offset(m, cl->value.p));
        }
        m->body = sk_str_make(body, n);
    } else {
        if (mode == SIP_PARSE_STREAM)
            return fail_at(err, 400, "Content-Length",
                           "missing (required on stream transports)", sip_msg_offset(m, body));
        if (avail > m->limits->max_body_size)
            return fail_at(err, 513, "message", "body too large", sip_msg_offset(m, body));
        m->body = sk_str_make(body, avail);
    }
    m->len = (size_t) (body - m->buf) + m->body.len;
    return 0;
}

/* A request whose start line is bad still deserves a 400 (RFC 4475 ltgtruri,
 * lwsruri): index what headers can be indexed and parse the ones a response
 * copies, ignoring every further error. The message stays "failed". */
static void salvage_headers(struct sip_msg *m, const char *p, const char *end, uint16_t *last)
{
    const char *next;
    struct sip_error ignored;

    while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
        if (index_header(m, p, end, &next, last, &ignored))
            break;
        p = next;
    }
    parse_eager(m, &ignored); /* sets has_via etc. for the headers that parse */
}

int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_parse_mode mode,
                  const struct sip_limits *limits, size_t *consumed, struct sip_error *err)
{
    const char *p = buf, *end = buf + len, *lf, *next = NULL;
    uint16_t last[SIP_HDR__COUNT];
    int rc;

    msg_reset(m, limits);
    limits = m->limits;
    if (mode == SIP_PARSE_DATAGRAM && len > limits->max_msg_size)
        return fail_at(err, 513, "message", "message too large", 0);
    /* RFC 3261 §7.5: empty lines before the start line are ignored. */
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    m->buf = p;
    if (mode == SIP_PARSE_STREAM && (size_t) (end - p) > limits->max_msg_size)
        end = p + limits->max_msg_size + 1; /* a complete message must fit before this */

    lf = p < end ? memchr(p, '\n', (size_t) (end - p)) : NULL;
    if (!lf)
        goto incomplete;
    if ((rc = parse_start_line(m, p, lf, err))) {
        if (m->is_request)
            salvage_headers(m, lf + 1, end, last);
        return rc;
    }
    p = lf + 1;
    for (;;) {
        if (p < end && *p == '\n') {
            p++;
            break;
        }
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
            p += 2;
            break;
        }
        if (p >= end || (p + 1 == end && *p == '\r'))
            goto incomplete;
        rc = index_header(m, p, end, &next, last, err);
        if (rc == EAGAIN)
            goto incomplete;
        if (rc)
            return rc;
        p = next;
    }
    rc = frame_body(m, p, end, mode, err);
    if (rc == EAGAIN)
        goto incomplete;
    if (rc)
        return rc;
    if ((rc = parse_eager(m, err)))
        return rc;
    if (consumed)
        *consumed = (size_t) (m->buf - buf) + m->len;
    return 0;

incomplete:
    if (mode == SIP_PARSE_DATAGRAM)
        return fail_at(err, 400, "message", "truncated: no empty line after the headers",
                       (size_t) (p - m->buf));
    if ((size_t) (end - m->buf) > limits->max_msg_size)
        return fail_at(err, 513, "message", "message too large", 0);
    return EAGAIN;
}

/* The headers every transaction needs: top Via, From, To, Call-ID, CSeq, Max-Forwards. */
static int parse_eager(struct sip_msg *m, struct sip_error *err)
{
    const struct sip_hdr *h;
    struct sip_error e;
    const char *p;
    uint32_t v;

#define EAGER_FAIL(hname)                                                                   \
    fail_at(err, 400, hname, e.reason, sip_msg_offset(m, h->value.p) + e.pos)

    if ((h = sip_msg_hdr(m, SIP_HDR_VIA))) {
        p = h->value.p;
        if (sip_parse_via(&p, h->value.p + h->value.len, &m->via, &e))
            return EAGER_FAIL("Via");
        m->has_via = true;
    }
    if ((h = sip_msg_hdr(m, SIP_HDR_FROM))) {
        p = h->value.p;
        if (sip_parse_addr(&p, h->value.p + h->value.len, false, false, &m->from, &e))
            return EAGER_FAIL("From");
        if (m->from.uri.raw.len > m->limits->max_uri_len)
            return fail_at(err, 400, "From", "URI too long", sip_msg_offset(m, m->from.uri.raw.p));
        m->has_from = true;
    }
    if ((h = sip_msg_hdr(m, SIP_HDR_TO))) {
        p = h->value.p;
        if (sip_parse_addr(&p, h->value.p + h->value.len, false, false, &m->to, &e))
            return EAGER_FAIL("To");
        if (m->to.uri.raw.len > m->limits->max_uri_len)
            return fail_at(err, 400, "To", "URI too long", sip_msg_offset(m, m->to.uri.raw.p));
        m->has_to = true;
    }
    if ((h = sip_msg_hdr(m, SIP_HDR_CALL_ID))) {
        if (sip_parse_callid(h->value, &e))
            return EAGER_FAIL("Call-ID");
        m->call_id = h->value;
        m->has_call_id = true;
    }
    if ((h = sip_msg_hdr(m, SIP_HDR_CSEQ))) {
        if (sip_parse_cseq(h->value, &m->cseq, &e))
            return EAGER_FAIL("CSeq");
        m->has_cseq = true;
    }
    if ((h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS))) {
        if (sip_parse_uint(h->value, 255, &v, &e, "Max-Forwards"))
            return EAGER_FAIL("Max-Forwards");
        m->max_forwards = (int) v;
    }
#undef EAGER_FAIL
    return 0;
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
    uint16_t i = m->first[id];
    return i == SIP_HDR_NONE ? NULL : &m->hdr[i];
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h)
{
    return h->next == SIP_HDR_NONE ? NULL : &m->hdr[h->next];
}

const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, const char *name)
{
    enum sip_hdr_id id = sip_hdr_lookup(name, strlen(name));

    if (id != SIP_HDR_OTHER)
        return sip_msg_hdr(m, id);
    for (uint16_t i = m->first[SIP_HDR_OTHER]; i != SIP_HDR_NONE; i = m->hdr[i].next) {
        if (sk_str_ieq_cstr(m->hdr[i].name, name))
            return &m->hdr[i];
    }
    return NULL;
}
