/* Building UA requests: fresh tags and Call-IDs, the loose/strict Route rules, one
 * printer for all. */
#include "sip/uac_req.h"

#include <errno.h>
#include <string.h>

#include "base/rand.h"
#include "sip/print.h"
#include "sip/transport.h"

void sip_tag_new(char *buf, size_t size)
{
    if (size < SIP_TAG_SIZE) {
        if (size) buf[0] = '\0';
        return;
    }
    sk_hex(buf, sk_rand64(), 16);
    buf[16] = '\0';
}

void sip_callid_new(char *buf, size_t size)
{
    if (size < SIP_CALLID_SIZE) {
        if (size) buf[0] = '\0';
        return;
    }
    sk_hex(buf, sk_rand64(), 16);
    sk_hex(buf + 16, sk_rand64(), 16);
    buf[32] = '\0';
}

uint32_t sip_cseq_initial(void)
{
    return 1u + (uint32_t) (sk_rand64() & 0x3fffffffu);
}

/* RFC 3261 §25.1 token characters (a method is a token). */
static bool is_token(struct sk_str s)
{
    if (!s.len) return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (!strchr("-.!%*_+`'~", c) || c == '\0') return false;
    }
    return true;
}

/* A value that goes on one header line: no CR or LF may be in it. */
static bool one_line(struct sk_str s)
{
    return !s.len || (!memchr(s.p, '\r', s.len) && !memchr(s.p, '\n', s.len));
}

/* A display name fit to be kept: the parser lets an unquoted one be anything up
 * to '<', but a control character (a NUL, say) has no place in a name we store
 * as a C string and print again. */
static bool display_ok(struct sk_str d)
{
    for (size_t i = 0; i < d.len; i++) {
        unsigned char c = (unsigned char) d.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

int sip_print_name_addr(struct sk_buf *b, const struct sip_addr *a, bool drop_tag)
{
    struct sk_str rest = a->params, n, v;

    if (!display_ok(a->display)) {
        /* left out */
    } else if (a->display_quoted) {
        sk_buf_putc(b, '"');
        sk_buf_put_str(b, a->display);
        sk_buf_puts(b, "\" ");
    } else if (a->display.len) {
        sk_buf_put_str(b, a->display);
        sk_buf_putc(b, ' ');
    }
    sk_buf_putc(b, '<');
    sk_buf_put_str(b, a->uri.raw);
    sk_buf_putc(b, '>');
    while (sip_param_next(&rest, &n, &v)) {
        if (drop_tag && sk_str_ieq_cstr(n, "tag")) continue;
        sk_buf_putc(b, ';');
        sk_buf_put_str(b, n);
        if (sk_str_isset(v)) {
            bool quoted = v.p > a->params.p && v.p[-1] == '"';
            sk_buf_putc(b, '=');
            if (quoted) sk_buf_putc(b, '"');
            sk_buf_put_str(b, v);
            if (quoted) sk_buf_putc(b, '"');
        }
    }
    return b->failed ? ENOMEM : 0;
}

/* §12.2.1.1 strict routing: the first route's URI as Request-URI, "stripping any
 * parameters that are not allowed in a Request-URI": per §19.1.1 those are the
 * method parameter and the headers component. */
static void put_ruri_from_route(struct sk_buf *b, const struct sip_uri *u)
{
    const char *stop = u->raw.p + u->raw.len;
    struct sk_str rest = u->params, n, v;

    if (sk_str_isset(u->params) && u->params.p > u->raw.p)
        stop = u->params.p - 1; /* the ';' */
    else if (sk_str_isset(u->headers) && u->headers.p > u->raw.p)
        stop = u->headers.p - 1; /* the '?' */
    sk_buf_append(b, u->raw.p, (size_t) (stop - u->raw.p));
    if (!sk_str_isset(u->params) || u->params.p <= u->raw.p) return;
    while (sip_param_next(&rest, &n, &v)) {
        if (sk_str_ieq_cstr(n, "method")) continue;
        sk_buf_putc(b, ';');
        sk_buf_put_str(b, n);
        if (sk_str_isset(v)) {
            sk_buf_putc(b, '=');
            sk_buf_put_str(b, v);
        }
    }
}

static void put_addr_line(struct sk_buf *b, const char *name, struct sk_str value,
                          struct sk_str tag)
{
    sk_buf_puts(b, name);
    sk_buf_put_str(b, value);
    if (tag.len) {
        sk_buf_puts(b, ";tag=");
        sk_buf_put_str(b, tag);
    }
    sk_buf_puts(b, "\r\n");
}

static bool common_ok(const struct sip_req_common *c)
{
    if (!c || !c->sent_by) return false;
    if (!one_line(c->user_agent) || !one_line(c->allow) || !one_line(c->supported) ||
        !one_line(c->ctype))
        return false;
    /* extra header lines must be complete lines */
    if (c->extra.len && (c->extra.len < 2 || c->extra.p[c->extra.len - 2] != '\r' ||
                         c->extra.p[c->extra.len - 1] != '\n'))
        return false;
    return true;
}

int sip_req_print(struct sk_buf *b, const struct sip_req_parts *p, char *branch,
                  size_t branch_size, struct sip_uri *next_hop)
{
    const struct sip_req_common *c = p->c;
    size_t start = b->len;
    bool strict;

    if (!is_token(p->method) || !p->target || !p->target->raw.len || !common_ok(c) ||
        !p->from.len || !p->to.len || !p->call_id.len || p->cseq > SIP_CSEQ_MAX ||
        branch_size < 32 || !one_line(p->from) || !one_line(p->to) ||
        !one_line(p->from_tag) || !one_line(p->to_tag) || !one_line(p->call_id) ||
        !one_line(p->contact) || (p->nroutes && !p->routes))
        return EINVAL;
    if (b->failed) return ENOMEM;
    strict = p->nroutes > 0 && !p->routes[0].uri.lr;

    /* Request-Line (§12.2.1.1) */
    sk_buf_put_str(b, p->method);
    sk_buf_putc(b, ' ');
    if (strict)
        put_ruri_from_route(b, &p->routes[0].uri);
    else
        sk_buf_put_str(b, p->target->raw);
    sk_buf_puts(b, " SIP/2.0\r\n");

    sip_print_our_via(b, c->proto, c->sent_by, branch, branch_size);
    sk_buf_puts(b, "Max-Forwards: ");
    sk_buf_put_u64(b, p->max_forwards > 0 ? (uint64_t) p->max_forwards
                                          : SIP_UAC_MAX_FORWARDS);
    sk_buf_puts(b, "\r\n");

    for (size_t i = strict ? 1 : 0; i < p->nroutes; i++) {
        sk_buf_puts(b, "Route: ");
        sip_print_name_addr(b, &p->routes[i], false);
        sk_buf_puts(b, "\r\n");
    }
    if (strict) {
        /* the remote target goes last, so the last strict router can restore it */
        sk_buf_puts(b, "Route: <");
        sk_buf_put_str(b, p->target->raw);
        sk_buf_puts(b, ">\r\n");
    }

    put_addr_line(b, "From: ", p->from, p->from_tag);
    put_addr_line(b, "To: ", p->to, p->to_tag);
    sip_print_hdr(b, SIP_HDR_CALL_ID, p->call_id);
    sk_buf_puts(b, "CSeq: ");
    sk_buf_put_u64(b, p->cseq);
    sk_buf_putc(b, ' ');
    sk_buf_put_str(b, p->method);
    sk_buf_puts(b, "\r\n");
    if (p->contact.len) sip_print_hdr(b, SIP_HDR_CONTACT, p->contact);
    if (c->user_agent.len) sip_print_hdr(b, SIP_HDR_USER_AGENT, c->user_agent);
    if (c->allow.len) sip_print_hdr(b, SIP_HDR_ALLOW, c->allow);
    if (c->supported.len) sip_print_hdr(b, SIP_HDR_SUPPORTED, c->supported);
    sk_buf_put_str(b, c->extra);
    sip_print_body(b, c->ctype, c->body);
    if (b->failed) {
        /* leave nothing half-printed behind what the caller had */
        if (b->p && b->len >= start) {
            b->len = start;
            b->p[start] = '\0';
        }
        return ENOMEM;
    }
    if (next_hop) *next_hop = p->nroutes ? p->routes[0].uri : *p->target;
    return 0;
}

/* One Route value given as text: a name-addr, nothing after it. */
static int parse_route(struct sk_str s, struct sip_addr *a)
{
    const char *p = s.p, *end = s.p + s.len;
    struct sip_error e;

    if (!s.len || sip_parse_addr(&p, end, false, false, a, &e) != 0) return EINVAL;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p == end && !a->star ? 0 : EINVAL;
}

int sip_uac_print_request(struct sk_buf *b, const struct sip_uac_req *r,
                          struct sip_req_out *out)
{
    struct sip_addr routes[SIP_UAC_MAX_ROUTES];
    struct sip_uri target;
    struct sip_error e;
    struct sip_req_parts p;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!r->ruri.len || sip_uri_parse(&target, r->ruri.p, r->ruri.len, &e) != 0)
        return EINVAL;
    if (r->nroutes > SIP_UAC_MAX_ROUTES) return E2BIG;
    if (r->nroutes && !r->routes) return EINVAL;
    for (size_t i = 0; i < r->nroutes; i++) {
        if ((rc = parse_route(r->routes[i], &routes[i])) != 0) return rc;
    }
    memset(&p, 0, sizeof(p));
    p.method = r->method;
    p.target = &target;
    p.routes = routes;
    p.nroutes = r->nroutes;
    p.from = r->from;
    p.from_tag = r->from_tag;
    if (!sk_str_isset(p.from_tag)) {
        sip_tag_new(out->from_tag, sizeof(out->from_tag));
        p.from_tag = sk_str_cstr(out->from_tag);
    }
    p.to = r->to;
    p.call_id = r->call_id;
    if (!p.call_id.len) {
        sip_callid_new(out->call_id, sizeof(out->call_id));
        p.call_id = sk_str_cstr(out->call_id);
    }
    p.cseq = r->cseq ? r->cseq : sip_cseq_initial();
    p.contact = r->contact;
    p.max_forwards = r->max_forwards;
    p.c = &r->c;
    rc = sip_req_print(b, &p, out->branch, sizeof(out->branch), &out->next_hop);
    if (rc == 0) out->cseq = p.cseq;
    return rc;
}
