/* SDP parser (RFC 4566): text to an owned struct sdp_session, with errors that name the
 * line and the fault. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdp/sdp.h"
#include "sdp/sdp_int.h"

struct parser {
    struct sdp_session *s;
    struct sdp_error *err;
    unsigned lineno;
    char type;
    unsigned level; /* 0: session, 1 + i: media i */
    bool seen_c, seen_t;
    unsigned media_line[SDP_MAX_MEDIA];
    const char *attr; /* the known attribute being read, for the error's "(a=rtpmap)" */
};

/* ---- small text helpers ---- */

static bool is_token_char(unsigned char c)
{
    /* RFC 4566 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A /
     * %x5E-7E */
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
           c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
           (c >= 0x5e && c <= 0x7e);
}

static bool is_token(struct sk_str t)
{
    if (t.len == 0) return false;
    for (size_t i = 0; i < t.len; i++)
        if (!is_token_char((unsigned char) t.p[i])) return false;
    return true;
}

static bool is_visible(struct sk_str t)
{
    if (t.len == 0) return false;
    for (size_t i = 0; i < t.len; i++)
        if ((unsigned char) t.p[i] <= 0x20 || (unsigned char) t.p[i] >= 0x7f)
            return false;
    return true;
}

/* Quote untrusted text for a reason: printable ASCII only, at most 24 bytes. */
static const char *quote(char *dst, size_t cap, struct sk_str v)
{
    size_t n = 0, max = 24;

    for (size_t i = 0; i < v.len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char) v.p[i];
        if (i == max) {
            memcpy(dst + n, "...", 3);
            n += 3;
            break;
        }
        dst[n++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char) c : '?';
    }
    dst[n] = '\0';
    return dst;
}

static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!p->err) return EBADMSG;
    p->err->line = p->lineno;
    if (p->type && p->attr)
        n = snprintf(p->err->reason, sizeof(p->err->reason),
                     "line %u (a=%s): ", p->lineno, p->attr);
    else if (p->type)
        n = snprintf(p->err->reason, sizeof(p->err->reason), "line %u (%c=): ", p->lineno,
                     p->type);
    else if (p->lineno)
        n = snprintf(p->err->reason, sizeof(p->err->reason), "line %u: ", p->lineno);
    else
        n = 0;
    if (n < 0 || (size_t) n >= sizeof(p->err->reason)) n = 0;
    va_start(ap, fmt);
    vsnprintf(p->err->reason + n, sizeof(p->err->reason) - (size_t) n, fmt, ap);
    va_end(ap);
    return EBADMSG;
}

/* Next field separated by spaces (RFC 4566 says one SP; runs are accepted). */
static bool next_field(struct sk_str *rest, struct sk_str *f)
{
    size_t i = 0, start;

    while (i < rest->len && rest->p[i] == ' ')
        i++;
    if (i == rest->len) {
        rest->p += i;
        rest->len = 0;
        return false;
    }
    start = i;
    while (i < rest->len && rest->p[i] != ' ')
        i++;
    *f = sk_str_make(rest->p + start, i - start);
    rest->p += i;
    rest->len -= i;
    return true;
}

static struct sk_str skip_spaces(struct sk_str v)
{
    while (v.len && v.p[0] == ' ') {
        v.p++;
        v.len--;
    }
    return v;
}

static struct sk_str trim_spaces(struct sk_str v)
{
    v = skip_spaces(v);
    while (v.len && v.p[v.len - 1] == ' ')
        v.len--;
    return v;
}

static bool copy_bounded(char *dst, size_t cap, struct sk_str v)
{
    if (v.len >= cap) return false;
    if (v.len) memcpy(dst, v.p, v.len);
    dst[v.len] = '\0';
    return true;
}

int sdp_text_set(struct sdp_session *s, struct sdp_text *t, struct sk_str v)
{
    if (v.len > (size_t) (SDP_POOL_MAX - s->pool_len)) return ENOSPC;
    t->off = s->pool_len;
    t->len = (uint16_t) v.len;
    if (v.len) memcpy(s->pool + s->pool_len, v.p, v.len);
    s->pool_len = (uint16_t) (s->pool_len + v.len);
    return 0;
}

struct sk_str sdp_str(const struct sdp_session *s, struct sdp_text t)
{
    if (t.off > SDP_POOL_MAX || t.len > SDP_POOL_MAX - t.off) return sk_str_make("", 0);
    return sk_str_make(s->pool + t.off, t.len);
}

void sdp_session_init(struct sdp_session *s)
{
    memset(s, 0, offsetof(struct sdp_session, pool));
}

/* ---- static payload types (RFC 3551 tables 4 and 5) ---- */

static const struct {
    uint8_t pt;
    uint8_t channels;
    uint32_t clock;
    const char *enc;
} static_pts[] = {
    {0, 1, 8000, "PCMU"},   {3, 1, 8000, "GSM"},    {4, 1, 8000, "G723"},
    {5, 1, 8000, "DVI4"},   {6, 1, 16000, "DVI4"},  {7, 1, 8000, "LPC"},
    {8, 1, 8000, "PCMA"},   {9, 1, 8000, "G722"},   {10, 2, 44100, "L16"},
    {11, 1, 44100, "L16"},  {12, 1, 8000, "QCELP"}, {13, 1, 8000, "CN"},
    {14, 0, 90000, "MPA"},  {15, 1, 8000, "G728"},  {16, 1, 11025, "DVI4"},
    {17, 1, 22050, "DVI4"}, {18, 1, 8000, "G729"},  {25, 0, 90000, "CelB"},
    {26, 0, 90000, "JPEG"}, {28, 0, 90000, "nv"},   {31, 0, 90000, "H261"},
    {32, 0, 90000, "MPV"},  {33, 0, 90000, "MP2T"}, {34, 0, 90000, "H263"},
};

bool sdp_static_pt(int pt, const char **enc, uint32_t *clock, uint8_t *channels)
{
    for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++)
        if (static_pts[i].pt == pt) {
            *enc = static_pts[i].enc;
            *clock = static_pts[i].clock;
            *channels = static_pts[i].channels;
            return true;
        }
    return false;
}

/* ---- storage of kept lines and attributes ---- */

static int keep_line(struct parser *p, struct sk_str text)
{
    struct sdp_session *s = p->s;
    struct sdp_line *l;

    if (s->nline >= SDP_MAX_LINES)
        return fail(p, "more than %d lines of this kind", SDP_MAX_LINES);
    l = &s->line[s->nline];
    l->type = p->type;
    l->level = (uint8_t) p->level;
    l->t_index = (uint8_t) (p->type == 'r' ? s->ntime - 1 : 0);
    if (sdp_text_set(s, &l->text, text)) return fail(p, "description too large");
    s->nline++;
    return 0;
}

/* Remember where an attribute stood; a scalar one (ptime, direction...) keeps
 * the place of its first line when it is repeated. */
static void note_pos(struct parser *p, enum sdp_apos_kind kind, unsigned index)
{
    struct sdp_session *s = p->s;

    if (kind != SDP_APOS_KEPT && kind != SDP_APOS_RTPMAP && kind != SDP_APOS_FMTP)
        for (unsigned i = 0; i < s->napos; i++)
            if (s->apos[i].level == p->level && s->apos[i].kind == kind) return;
    if (s->napos >= SDP_MAX_APOS) return;
    s->apos[s->napos++] =
        (struct sdp_apos){(uint8_t) p->level, (uint8_t) kind, (uint8_t) index};
}

static int keep_attr(struct parser *p, struct sk_str name, bool has_value,
                     struct sk_str value)
{
    struct sdp_session *s = p->s;
    struct sdp_attr *a;

    if (s->nattr >= SDP_MAX_ATTRS)
        return fail(p, "more than %d unknown attributes", SDP_MAX_ATTRS);
    a = &s->attr[s->nattr];
    a->level = (uint8_t) p->level;
    a->has_value = has_value;
    if (sdp_text_set(s, &a->name, name) || sdp_text_set(s, &a->value, value))
        return fail(p, "description too large");
    note_pos(p, SDP_APOS_KEPT, s->nattr);
    s->nattr++;
    return 0;
}

/* ---- lines ---- */

static int parse_addrtype(struct parser *p, struct sk_str nettype, struct sk_str addrtype,
                          enum sdp_addrtype *out)
{
    char q[32];

    if (!sk_str_eq_cstr(nettype, "IN"))
        return fail(p, "network type \"%s\" unknown", quote(q, sizeof(q), nettype));
    if (sk_str_eq_cstr(addrtype, "IP4"))
        *out = SDP_ADDR_IP4;
    else if (sk_str_eq_cstr(addrtype, "IP6"))
        *out = SDP_ADDR_IP6;
    else
        return fail(p, "address type \"%s\" unknown", quote(q, sizeof(q), addrtype));
    return 0;
}

/* An address of the given type: an IP literal when it looks like one, else a
 * host name (RFC 4566 §9 allows FQDNs). */
static int check_addr(struct parser *p, enum sdp_addrtype type, struct sk_str a)
{
    char q[32], buf[SDP_ADDR_MAX];
    unsigned char bin[16];
    bool dotted = a.len > 0, has_colon = sk_str_chr(a, ':') != NULL;

    if (!is_visible(a) || a.len >= SDP_ADDR_MAX)
        return fail(p, "address \"%s\" invalid", quote(q, sizeof(q), a));
    for (size_t i = 0; i < a.len; i++)
        if (!((a.p[i] >= '0' && a.p[i] <= '9') || a.p[i] == '.')) dotted = false;
    sk_str_copy(buf, sizeof(buf), a);
    if (type == SDP_ADDR_IP4 && (dotted || has_colon) &&
        inet_pton(AF_INET, buf, bin) != 1)
        return fail(p, "IPv4 address \"%s\" invalid", quote(q, sizeof(q), a));
    if (type == SDP_ADDR_IP6 && (dotted || has_colon) &&
        inet_pton(AF_INET6, buf, bin) != 1)
        return fail(p, "IPv6 address \"%s\" invalid", quote(q, sizeof(q), a));
    if (!has_colon && !dotted) {
        for (size_t i = 0; i < a.len; i++) {
            char c = a.p[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                  (c >= 'A' && c <= 'Z') || c == '-' || c == '.'))
                return fail(p, "address \"%s\" invalid", quote(q, sizeof(q), a));
        }
    }
    return 0;
}

/* "IN IP4 192.0.2.1[/ttl[/n]]" (c= and the address part of a=rtcp) */
static int parse_conn(struct parser *p, struct sk_str v, struct sdp_conn *c)
{
    struct sk_str nettype, addrtype, addr, extra;
    const char *slash;
    char q[32];
    int rc;

    if (!next_field(&v, &nettype) || !next_field(&v, &addrtype) || !next_field(&v, &addr))
        return fail(p, "\"<nettype> <addrtype> <address>\" expected");
    if (next_field(&v, &extra))
        return fail(p, "text after the address: \"%s\"", quote(q, sizeof(q), extra));
    if ((rc = parse_addrtype(p, nettype, addrtype, &c->type))) return rc;
    c->suffix[0] = '\0';
    slash = sk_str_chr(addr, '/');
    if (slash) {
        struct sk_str suf = sk_str_make(slash, (size_t) (addr.p + addr.len - slash));
        bool ok = suf.len >= 2 && suf.len < sizeof(c->suffix);
        for (size_t i = 0; ok && i < suf.len; i++)
            ok = (suf.p[i] >= '0' && suf.p[i] <= '9') ||
                 (suf.p[i] == '/' && i + 1 < suf.len && suf.p[i + 1] != '/');
        if (!ok)
            return fail(p, "multicast suffix \"%s\" invalid", quote(q, sizeof(q), suf));
        copy_bounded(c->suffix, sizeof(c->suffix), suf);
        addr.len = (size_t) (slash - addr.p);
    }
    if ((rc = check_addr(p, c->type, addr))) return rc;
    copy_bounded(c->addr, sizeof(c->addr), addr);
    return 0;
}

static int parse_origin(struct parser *p, struct sk_str v)
{
    struct sdp_origin *o = &p->s->origin;
    struct sk_str user, id, ver, nettype, addrtype, addr, extra;
    char q[32];
    int rc;

    if (!next_field(&v, &user) || !next_field(&v, &id) || !next_field(&v, &ver) ||
        !next_field(&v, &nettype) || !next_field(&v, &addrtype) ||
        !next_field(&v, &addr) || next_field(&v, &extra))
        return fail(p, "6 fields expected: <username> <sess-id> <sess-version> <nettype> "
                       "<addrtype> <address>");
    if (!is_visible(user) || !copy_bounded(o->user, sizeof(o->user), user))
        return fail(p, "username \"%s\" invalid", quote(q, sizeof(q), user));
    if (sk_str_to_u64(id, UINT64_MAX, &o->sess_id))
        return fail(p, "sess-id \"%s\" not a number", quote(q, sizeof(q), id));
    if (sk_str_to_u64(ver, UINT64_MAX, &o->sess_version))
        return fail(p, "sess-version \"%s\" not a number", quote(q, sizeof(q), ver));
    if ((rc = parse_addrtype(p, nettype, addrtype, &o->type))) return rc;
    if ((rc = check_addr(p, o->type, addr))) return rc;
    copy_bounded(o->addr, sizeof(o->addr), addr);
    return 0;
}

static int parse_bw(struct parser *p, struct sk_str v, struct sdp_bw *bw, unsigned *nbw)
{
    const char *colon = sk_str_chr(v, ':');
    struct sk_str type, val;
    char q[32];

    if (!colon) return fail(p, "\"<bwtype>:<bandwidth>\" expected");
    type = sk_str_make(v.p, (size_t) (colon - v.p));
    val = sk_str_make(colon + 1, v.len - type.len - 1);
    if (!is_token(type) || type.len >= SDP_TOKEN_MAX)
        return fail(p, "bandwidth type \"%s\" invalid", quote(q, sizeof(q), type));
    if (*nbw >= SDP_MAX_BW) return fail(p, "more than %d b= lines", SDP_MAX_BW);
    if (sk_str_to_u64(val, UINT64_MAX, &bw[*nbw].value))
        return fail(p, "bandwidth \"%s\" not a number", quote(q, sizeof(q), val));
    copy_bounded(bw[*nbw].type, sizeof(bw[*nbw].type), type);
    (*nbw)++;
    return 0;
}

static int parse_time(struct parser *p, struct sk_str v)
{
    struct sdp_session *s = p->s;
    struct sk_str start, stop, extra;
    char q[32];

    if (!next_field(&v, &start) || !next_field(&v, &stop) || next_field(&v, &extra))
        return fail(p, "\"<start-time> <stop-time>\" expected");
    if (s->ntime >= SDP_MAX_TIMES) return fail(p, "more than %d t= lines", SDP_MAX_TIMES);
    if (sk_str_to_u64(start, UINT64_MAX, &s->time[s->ntime].start))
        return fail(p, "start time \"%s\" not a number", quote(q, sizeof(q), start));
    if (sk_str_to_u64(stop, UINT64_MAX, &s->time[s->ntime].stop))
        return fail(p, "stop time \"%s\" not a number", quote(q, sizeof(q), stop));
    s->ntime++;
    p->seen_t = true;
    return 0;
}

static bool is_proto(struct sk_str v)
{
    size_t start = 0;

    if (v.len == 0) return false;
    for (size_t i = 0; i <= v.len; i++) {
        if (i == v.len || v.p[i] == '/') {
            if (i == start) return false;
            start = i + 1;
        } else if (!is_token_char((unsigned char) v.p[i])) {
            return false;
        }
    }
    return true;
}

static enum sdp_media_kind media_kind(struct sk_str t)
{
    static const char *const names[] = {"audio",       "video",   "text",
                                        "application", "message", "image"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (sk_str_eq_cstr(t, names[i])) return (enum sdp_media_kind) i;
    return SDP_MEDIA_OTHER;
}

static int parse_pt(struct parser *p, struct sk_str v, int *pt)
{
    uint32_t n;
    char q[32];
    int rc = sk_str_to_u32(v, 127, &n);

    if (rc == EINVAL)
        return fail(p, "payload type \"%s\" not a number", quote(q, sizeof(q), v));
    if (rc)
        return fail(p, "payload type \"%s\" out of range (0-127)",
                    quote(q, sizeof(q), v));
    *pt = (int) n;
    return 0;
}

static int parse_media(struct parser *p, struct sk_str v)
{
    struct sdp_session *s = p->s;
    struct sdp_media *m;
    struct sk_str type, port, proto, f;
    const char *slash;
    uint32_t n;
    char q[32];
    int rc;

    if (!p->seen_t) return fail(p, "no t= line before the media");
    if (s->nmedia >= SDP_MAX_MEDIA)
        return fail(p, "more than %d m= lines", SDP_MAX_MEDIA);
    m = &s->media[s->nmedia];
    memset(m, 0, sizeof(*m));
    if (!next_field(&v, &type) || !next_field(&v, &port) || !next_field(&v, &proto))
        return fail(p, "\"<media> <port> <proto> <fmt> ...\" expected");
    if (!is_token(type) || type.len >= SDP_TOKEN_MAX)
        return fail(p, "media type \"%s\" invalid", quote(q, sizeof(q), type));
    copy_bounded(m->type, sizeof(m->type), type);
    m->kind = media_kind(type);
    slash = sk_str_chr(port, '/');
    if (slash) {
        struct sk_str num =
            sk_str_make(slash + 1, (size_t) (port.p + port.len - slash - 1));
        if (sk_str_to_u32(num, 65535, &n) || n == 0)
            return fail(p, "number of ports \"%s\" invalid", quote(q, sizeof(q), num));
        m->nports = (uint16_t) n;
        port.len = (size_t) (slash - port.p);
    }
    if (sk_str_to_u32(port, 65535, &n))
        return fail(p, "port \"%s\" invalid", quote(q, sizeof(q), port));
    m->port = (uint16_t) n;
    if (!is_proto(proto) || proto.len >= SDP_TOKEN_MAX)
        return fail(p, "protocol \"%s\" invalid", quote(q, sizeof(q), proto));
    copy_bounded(m->proto, sizeof(m->proto), proto);
    m->rtp = sk_str_iprefix(proto, "RTP/");
    while (next_field(&v, &f)) {
        struct sdp_fmt *fm;
        if (m->nfmt >= SDP_MAX_FORMATS)
            return fail(p, "more than %d formats", SDP_MAX_FORMATS);
        fm = &m->fmt[m->nfmt];
        if (!is_token(f) || f.len >= SDP_FMT_MAX)
            return fail(p, "format \"%s\" invalid", quote(q, sizeof(q), f));
        copy_bounded(fm->id, sizeof(fm->id), f);
        fm->pt = -1;
        if (m->rtp) {
            const char *enc;
            if ((rc = parse_pt(p, f, &fm->pt))) return rc;
            for (unsigned i = 0; i < m->nfmt; i++)
                if (m->fmt[i].pt == fm->pt)
                    return fail(p, "payload type %d listed twice", fm->pt);
            if (sdp_static_pt(fm->pt, &enc, &fm->clock, &fm->channels))
                sk_str_copy(fm->enc, sizeof(fm->enc), sk_str_cstr(enc));
        } else {
            for (unsigned i = 0; i < m->nfmt; i++)
                if (strcmp(m->fmt[i].id, fm->id) == 0)
                    return fail(p, "format \"%s\" listed twice", fm->id);
        }
        m->nfmt++;
    }
    if (m->nfmt == 0) return fail(p, "no formats");
    p->media_line[s->nmedia] = p->lineno;
    s->nmedia++;
    p->level = s->nmedia;
    return 0;
}

/* ---- attributes ---- */

static struct sdp_fmt *find_fmt(struct sdp_media *m, struct sk_str id, int pt)
{
    for (unsigned i = 0; i < m->nfmt; i++)
        if (m->rtp ? m->fmt[i].pt == pt : sk_str_eq_cstr(id, m->fmt[i].id))
            return &m->fmt[i];
    return NULL;
}

/* a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] */
static int parse_rtpmap(struct parser *p, struct sdp_media *m, struct sk_str v,
                        bool *kept)
{
    struct sk_str id, rest, enc, clock, ch;
    struct sdp_fmt *f;
    const char *s1, *s2;
    uint32_t n, c = 0;
    char q[32];
    int pt, rc;

    rest = v;
    if (!next_field(&rest, &id)) return fail(p, "payload type missing");
    if ((rc = parse_pt(p, id, &pt))) return rc;
    rest = trim_spaces(rest);
    s1 = sk_str_chr(rest, '/');
    if (!s1) return fail(p, "\"<encoding>/<clock rate>\" expected");
    enc = sk_str_make(rest.p, (size_t) (s1 - rest.p));
    clock = sk_str_make(s1 + 1, rest.len - enc.len - 1);
    s2 = sk_str_chr(clock, '/');
    ch = SK_STR_NULL;
    if (s2) {
        ch = sk_str_make(s2 + 1, (size_t) (clock.p + clock.len - s2 - 1));
        clock.len = (size_t) (s2 - clock.p);
    }
    if (!is_token(enc) || enc.len >= SDP_TOKEN_MAX)
        return fail(p, "encoding name \"%s\" invalid", quote(q, sizeof(q), enc));
    if (sk_str_to_u32(clock, UINT32_MAX, &n) || n == 0)
        return fail(p, "clock rate \"%s\" invalid", quote(q, sizeof(q), clock));
    if (s2 && (sk_str_to_u32(ch, 255, &c) || c == 0))
        return fail(p, "channels \"%s\" invalid", quote(q, sizeof(q), ch));
    f = find_fmt(m, id, pt);
    if (!f || f->rtpmap) {
        *kept = true; /* not one of this line's formats, or a second map: kept as text */
        return 0;
    }
    f->rtpmap = true;
    note_pos(p, SDP_APOS_RTPMAP, (unsigned) (f - m->fmt));
    copy_bounded(f->enc, sizeof(f->enc), enc);
    f->clock = n;
    f->channels = (uint8_t) c;
    return 0;
}

/* a=fmtp:<format> <format specific parameters> */
static int parse_fmtp(struct parser *p, struct sdp_media *m, struct sk_str v, bool *kept)
{
    struct sk_str rest = v, id;
    struct sdp_fmt *f;
    int pt = -1;

    if (!next_field(&rest, &id)) return fail(p, "format missing");
    uint32_t n;

    if (m->rtp && sk_str_to_u32(id, 127, &n) == 0) pt = (int) n;
    f = (m->rtp && pt < 0) ? NULL : find_fmt(m, id, pt);
    if (!f || f->has_fmtp) {
        *kept = true;
        return 0;
    }
    f->has_fmtp = true;
    note_pos(p, SDP_APOS_FMTP, (unsigned) (f - m->fmt));
    if (sdp_text_set(p->s, &f->fmtp, skip_spaces(rest)))
        return fail(p, "description too large");
    return 0;
}

/* a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1) */
static int parse_rtcp(struct parser *p, struct sdp_media *m, struct sk_str v)
{
    struct sk_str rest = v, port = SK_STR_NULL;
    uint32_t n;
    char q[32];
    int rc;

    if (!next_field(&rest, &port) || sk_str_to_u32(port, 65535, &n))
        return fail(p, "port \"%s\" invalid", quote(q, sizeof(q), port));
    memset(&m->rtcp_conn, 0, sizeof(m->rtcp_conn));
    rest = skip_spaces(rest);
    if (rest.len && (rc = parse_conn(p, rest, &m->rtcp_conn))) return rc;
    m->has_rtcp = true;
    m->rtcp_port = (uint16_t) n;
    note_pos(p, SDP_APOS_RTCP, 0);
    return 0;
}

static enum sdp_dir dir_from_name(struct sk_str n)
{
    for (int d = SDP_DIR_SENDRECV; d <= SDP_DIR_INACTIVE; d++)
        if (sk_str_eq_cstr(n, sdp_dir_name((enum sdp_dir) d))) return (enum sdp_dir) d;
    return SDP_DIR_UNSET;
}

static int parse_attr(struct parser *p, struct sk_str v)
{
    struct sdp_media *m = p->level ? &p->s->media[p->level - 1] : NULL;
    const char *colon = sk_str_chr(v, ':');
    struct sk_str name = colon ? sk_str_make(v.p, (size_t) (colon - v.p)) : v;
    struct sk_str val =
        colon ? sk_str_make(colon + 1, v.len - name.len - 1) : SK_STR_NULL;
    bool kept = false;
    enum sdp_dir d;
    uint32_t n;
    char q[32];
    int rc = 0;

    if (!is_token(name))
        return fail(p, "attribute name \"%s\" invalid", quote(q, sizeof(q), name));
    if (!colon && (d = dir_from_name(name)) != SDP_DIR_UNSET) {
        /* A later direction attribute at the same level replaces an earlier one. */
        if (m)
            m->dir = d;
        else
            p->s->dir = d;
        note_pos(p, SDP_APOS_DIR, 0);
    } else if (!m) {
        kept = true;
    } else if (colon && sk_str_eq_cstr(name, "rtpmap")) {
        p->attr = "rtpmap";
        rc = parse_rtpmap(p, m, val, &kept);
    } else if (colon && sk_str_eq_cstr(name, "fmtp")) {
        p->attr = "fmtp";
        rc = parse_fmtp(p, m, val, &kept);
    } else if (colon && sk_str_eq_cstr(name, "ptime") &&
               !sk_str_to_u32(val, 100000, &n)) {
        m->ptime = n;
        note_pos(p, SDP_APOS_PTIME, 0);
    } else if (colon && sk_str_eq_cstr(name, "maxptime") &&
               !sk_str_to_u32(val, 100000, &n)) {
        m->maxptime = n;
        note_pos(p, SDP_APOS_MAXPTIME, 0);
    } else if (colon && sk_str_eq_cstr(name, "rtcp")) {
        p->attr = "rtcp";
        rc = parse_rtcp(p, m, val);
    } else if (!colon && sk_str_eq_cstr(name, "rtcp-mux")) {
        m->rtcp_mux = true;
        note_pos(p, SDP_APOS_RTCP_MUX, 0);
    } else {
        kept = true; /* unknown, or a known name in a form we do not read (ptime:20.5) */
    }
    p->attr = NULL;
    if (rc == 0 && kept) rc = keep_attr(p, name, colon != NULL, val);
    return rc;
}

/* ---- the line loop ---- */

static int parse_line(struct parser *p, struct sk_str v)
{
    struct sdp_session *s = p->s;
    struct sdp_media *m = p->level ? &s->media[p->level - 1] : NULL;
    char q[32];

    if (p->lineno == 1) {
        if (p->type != 'v') return fail(p, "the first line must be v=0");
        if (!sk_str_eq_cstr(v, "0"))
            return fail(p, "version \"%s\" unsupported", quote(q, sizeof(q), v));
        return 0;
    }
    if (p->lineno == 2 && p->type != 'o')
        return fail(p, "o= line expected as the second line");
    if (p->lineno == 3 && p->type != 's')
        return fail(p, "s= line expected as the third line");
    if (m && strchr("vosuepzrt", p->type)) return fail(p, "not allowed after an m= line");
    switch (p->type) {
    case 'v': return fail(p, "more than one v= line");
    case 'o':
        return p->lineno == 2 ? parse_origin(p, v) : fail(p, "more than one o= line");
    case 's':
        if (p->lineno != 3) return fail(p, "more than one s= line");
        return sdp_text_set(s, &s->name, v) ? fail(p, "description too large") : 0;
    case 'c':
        if (m) {
            if (m->conn.type != SDP_ADDR_NONE)
                return keep_line(p, v); /* RFC 4566 §5.7: several for layered multicast */
            return parse_conn(p, v, &m->conn);
        }
        if (p->seen_c) return fail(p, "more than one c= line");
        p->seen_c = true;
        return parse_conn(p, v, &s->conn);
    case 'b': return m ? parse_bw(p, v, m->bw, &m->nbw) : parse_bw(p, v, s->bw, &s->nbw);
    case 't': return parse_time(p, v);
    case 'r':
        if (!p->seen_t) return fail(p, "r= line before any t= line");
        return keep_line(p, v);
    case 'm': return parse_media(p, v);
    case 'a': return parse_attr(p, v);
    default: return keep_line(p, v); /* i u e p z k, and types we do not know */
    }
}

static bool only_line_ends(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n') return false;
    return true;
}

int sdp_parse(struct sdp_session *s, const char *buf, size_t len, struct sdp_error *err)
{
    struct parser p = {.s = s, .err = err};
    size_t pos = 0;
    int rc;

    sdp_session_init(s);
    if (err) {
        err->line = 0;
        err->reason[0] = '\0';
    }
    if (len == 0) return fail(&p, "empty description");
    if (len > SDP_MAX_LEN)
        return fail(&p, "description larger than %d bytes", SDP_MAX_LEN);
    while (pos < len) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        size_t end = lf ? (size_t) (lf - buf) : len;
        size_t next = lf ? end + 1 : len;
        struct sk_str line = sk_str_make(buf + pos, end - pos);
        char q[32];

        if (line.len && line.p[line.len - 1] == '\r') line.len--;
        p.lineno++;
        p.type = 0;
        if (line.len == 0) {
            /* Blank lines are tolerated at the very end only (a body ending in CRLFCRLF).
             */
            if (only_line_ends(buf + pos, len - pos)) {
                p.lineno--;
                break;
            }
            return fail(&p, "empty line");
        }
        if (line.len > SDP_MAX_LINE)
            return fail(&p, "longer than %d bytes", SDP_MAX_LINE);
        if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
            return fail(&p, "\"%s\" is not a <type>=<value> line",
                        quote(q, sizeof(q), line));
        p.type = line.p[0];
        if (memchr(line.p, '\0', line.len)) return fail(&p, "NUL byte in the line");
        if (memchr(line.p, '\r', line.len)) return fail(&p, "CR without LF in the line");
        if ((rc = parse_line(&p, sk_str_make(line.p + 2, line.len - 2)))) return rc;
        pos = next;
    }
    /* Missing lines are faults of the description as a whole: line 0. */
    const unsigned nlines = p.lineno;
    p.type = 0;
    p.lineno = 0;
    if (nlines < 2) return fail(&p, "no o= line");
    if (nlines < 3) return fail(&p, "no s= line");
    if (!p.seen_t) return fail(&p, "no t= line");
    for (unsigned i = 0; i < s->nmedia; i++) {
        /* RFC 4566 §5.7: c= in every media or at session level. A rejected stream
         * (port 0) is exempt: answers often leave its c= out. */
        if (s->media[i].conn.type == SDP_ADDR_NONE && s->conn.type == SDP_ADDR_NONE &&
            s->media[i].port != 0) {
            p.lineno = p.media_line[i];
            p.type = 'm';
            return fail(&p, "no c= line for this media and none at session level");
        }
    }
    return 0;
}

/* ---- accessors ---- */

const char *sdp_dir_name(enum sdp_dir d)
{
    switch (d) {
    case SDP_DIR_SENDRECV: return "sendrecv";
    case SDP_DIR_SENDONLY: return "sendonly";
    case SDP_DIR_RECVONLY: return "recvonly";
    case SDP_DIR_INACTIVE: return "inactive";
    default: return "";
    }
}

enum sdp_dir sdp_media_dir(const struct sdp_session *s, const struct sdp_media *m)
{
    if (m && m->dir != SDP_DIR_UNSET) return m->dir;
    if (s->dir != SDP_DIR_UNSET) return s->dir;
    return SDP_DIR_SENDRECV;
}

const struct sdp_conn *sdp_media_conn(const struct sdp_session *s,
                                      const struct sdp_media *m)
{
    if (m && m->conn.type != SDP_ADDR_NONE) return &m->conn;
    if (s->conn.type != SDP_ADDR_NONE) return &s->conn;
    return NULL;
}

bool sdp_bw_get(const struct sdp_bw *bw, unsigned nbw, const char *type, uint64_t *value)
{
    for (unsigned i = 0; i < nbw && i < SDP_MAX_BW; i++)
        if (strcmp(bw[i].type, type) == 0) {
            *value = bw[i].value;
            return true;
        }
    return false;
}

const struct sdp_fmt *sdp_media_fmt(const struct sdp_media *m, int pt)
{
    for (unsigned i = 0; i < m->nfmt && i < SDP_MAX_FORMATS; i++)
        if (m->fmt[i].pt == pt) return &m->fmt[i];
    return NULL;
}

bool sdp_is_change(const struct sdp_session *prev, const struct sdp_session *next)
{
    const struct sdp_origin *a = &prev->origin, *b = &next->origin;

    return strcmp(a->user, b->user) != 0 || a->sess_id != b->sess_id ||
           a->type != b->type || strcmp(a->addr, b->addr) != 0 ||
           a->sess_version != b->sess_version;
}
