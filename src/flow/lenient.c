/* A lenient reading of SIP messages the strict parser refuses, for `sipkit flow`: the
 * fields the call analysis needs, found line by line. */
#include <string.h>

#include "flow/model_int.h"

static struct sk_str span(const char *b, const char *e)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return sk_str_make(b, (size_t) (e - b));
}

/* The value of ";name=" in s (up to ';', ',', '>' or a blank), unset when absent. */
static struct sk_str param_of(struct sk_str s, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + n + 1 < s.len; i++) {
        size_t k = i + 1 + n, e;

        if (s.p[i] != ';' || s.p[k] != '=' ||
            !sk_str_ieq(sk_str_make(s.p + i + 1, n), sk_str_cstr(name)))
            continue;
        e = ++k;
        while (e < s.len && !strchr(";,> \t", s.p[e]))
            e++;
        return sk_str_make(s.p + k, e - k);
    }
    return SK_STR_NULL;
}

/* host[:port]; IPv6 with brackets, or without (several colons: no port) */
static void host_port(struct sk_str hp, struct sk_str *host, uint16_t *port,
                      bool *has_port)
{
    const char *colon = NULL;
    unsigned colons = 0;
    uint32_t v;

    *has_port = false;
    *port = 0;
    *host = hp;
    if (hp.len && hp.p[0] == '[') {
        const char *rb = memchr(hp.p, ']', hp.len);
        size_t at;

        if (!rb) return;
        at = (size_t) (rb - hp.p);
        *host = sk_str_make(hp.p + 1, at - 1);
        if (at + 2 < hp.len && rb[1] == ':' &&
            sk_str_to_u32(sk_str_make(rb + 2, hp.len - at - 2), 65535, &v) == 0) {
            *port = (uint16_t) v;
            *has_port = true;
        }
        return;
    }
    for (size_t i = 0; i < hp.len; i++)
        if (hp.p[i] == ':') {
            colon = hp.p + i;
            colons++;
        }
    if (colons == 1 &&
        sk_str_to_u32(sk_str_make(colon + 1, hp.len - (size_t) (colon + 1 - hp.p)), 65535,
                      &v) == 0) {
        *host = sk_str_make(hp.p, (size_t) (colon - hp.p));
        *port = (uint16_t) v;
        *has_port = true;
    }
}

static void lenient_addr(struct sip_addr *a, struct sk_str v)
{
    const char *lt = v.len ? memchr(v.p, '<', v.len) : NULL, *gt = NULL;
    struct sk_str uri = v, tail = v;

    memset(a, 0, sizeof(*a));
    a->raw = v;
    a->expires = -1;
    a->q = -1;
    if (lt) gt = memchr(lt, '>', v.len - (size_t) (lt - v.p));
    if (lt && gt) {
        uri = sk_str_make(lt + 1, (size_t) (gt - lt - 1));
        tail = sk_str_make(gt, v.len - (size_t) (gt - v.p));
    } else {
        const char *semi = v.len ? memchr(v.p, ';', v.len) : NULL;
        if (semi) uri.len = (size_t) (semi - v.p);
    }
    a->tag = param_of(tail, "tag");
    a->uri.raw = uri;
    if (sk_str_iprefix(uri, "sip:") || sk_str_iprefix(uri, "sips:")) {
        const char *end = uri.p + uri.len,
                   *p = (const char *) memchr(uri.p, ':', uri.len) + 1;
        const char *at = memchr(p, '@', (size_t) (end - p)), *semi;

        if (at) {
            a->uri.user = sk_str_make(p, (size_t) (at - p));
            p = at + 1;
        }
        semi = memchr(p, ';', (size_t) (end - p));
        a->uri.host = sk_str_make(p, (size_t) ((semi ? semi : end) - p));
    }
}

static bool start_line(struct sip_msg *sm, const char *p, const char *le)
{
    struct sk_str line = sk_str_make(p, (size_t) (le - p));
    const char *sp = memchr(p, ' ', line.len);
    uint32_t st;

    if (!sp) return false;
    if (sk_str_iprefix(line, "SIP/2.0 ")) {
        if (line.len < 11 || sk_str_to_u32(sk_str_make(p + 8, 3), 699, &st) || st < 100)
            return false;
        sm->status = (int) st;
        sm->reason = span(p + 11, le);
        return true;
    }
    sm->is_request = true;
    sm->method = sk_str_make(p, (size_t) (sp - p));
    sm->method_id = sip_method_lookup(sm->method);
    return true;
}

static void via(struct sip_msg *sm, struct sk_str v)
{
    const char *q = v.p, *ve = v.p + v.len, *hs;

    while (q < ve && *q != ' ' && *q != '\t') /* SIP/2.0/UDP */
        q++;
    while (q < ve && (*q == ' ' || *q == '\t'))
        q++;
    hs = q;
    while (q < ve && !strchr(";, \t", *q))
        q++;
    sm->via.raw = v;
    host_port(sk_str_make(hs, (size_t) (q - hs)), &sm->via.host, &sm->via.port,
              &sm->via.has_port);
    sm->via.branch = param_of(v, "branch");
    sm->has_via = sm->via.host.len > 0;
}

static void cseq(struct sip_msg *sm, struct sk_str v)
{
    size_t i = 0;
    uint32_t num;

    while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
        i++;
    if (!i || sk_str_to_u32(sk_str_make(v.p, i), 0x7fffffff, &num)) return;
    sm->cseq.num = num;
    sm->cseq.method = span(v.p + i, v.p + v.len);
    sm->has_cseq = sm->cseq.method.len > 0;
}

bool flow_sip_lenient(struct sip_msg *sm, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len, *eol;
    bool first = true;

    sip_msg_release(sm);
    sip_msg_init(sm);
    memset(sm->first, 0xff, sizeof(sm->first)); /* no header indexed */
    sm->max_forwards = -1;
    sm->content_length = -1;
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    sm->buf = p;
    sm->len = (size_t) (end - p);
    for (; p < end; p = eol + 1) {
        const char *le, *colon;
        struct sk_str name, v;
        enum sip_hdr_id id;

        eol = memchr(p, '\n', (size_t) (end - p));
        if (!eol) eol = end;
        le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (le == p) { /* the blank line: the body follows */
            if (eol < end) sm->body = sk_str_make(eol + 1, (size_t) (end - eol - 1));
            break;
        }
        if (first) {
            first = false;
            if (!start_line(sm, p, le)) return false;
            continue;
        }
        colon = memchr(p, ':', (size_t) (le - p));
        if (!colon) continue;
        name = span(p, colon);
        v = span(colon + 1, le);
        id = sip_hdr_lookup(name.p, name.len);
        if (id == SIP_HDR_CALL_ID) {
            sm->call_id = v;
            sm->has_call_id = v.len > 0;
        } else if (id == SIP_HDR_CSEQ) {
            cseq(sm, v);
        } else if (id == SIP_HDR_VIA && !sm->has_via) {
            via(sm, v);
        } else if (id == SIP_HDR_FROM) {
            lenient_addr(&sm->from, v);
            sm->has_from = true;
        } else if (id == SIP_HDR_TO) {
            lenient_addr(&sm->to, v);
            sm->has_to = true;
        }
        if (id != SIP_HDR_OTHER && sm->count[id] < UINT16_MAX) sm->count[id]++;
    }
    if (first || (!sm->is_request && !sm->status)) return false;
    return sm->has_call_id && sm->has_cseq && sm->has_via && sm->has_from && sm->has_to;
}
