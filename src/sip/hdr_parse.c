/* Typed header parsers (RFC 3261 §20, §25 and the extensions named in hdr.h), all in place. */
#include "sip/hdr.h"

#include "sip/scan.h"

static int hfail(struct sip_error *err, const char *reason, const char *base, const char *at)
{
    return sip_fail(err, 400, reason, (size_t) (at - base));
}

/* ---- Generic parameters ---- */

/* gen-value = token / host / quoted-string; an IPv6 address may appear with or
 * without brackets (received, maddr). */
static bool value_char(char c)
{
    return sc_is(c, SC_TOKEN) || c == ':' || c == '[' || c == ']';
}

/* *( SEMI generic-param ): stops before anything that is not ';'. */
/* Each parameter as it is read, for the parsers that pick some out (one pass
 * over the text, not a second with sip_param_next); value is unset for a flag
 * and the body of a quoted value. Nonzero stops the parse (err is set). */
typedef int (*param_fn)(void *ctx, struct sk_str name, struct sk_str value, const char *base,
                        struct sip_error *err);

static int parse_params_with(const char **pp, const char *end, struct sk_str *params,
                             const char *base, struct sip_error *err, param_fn fn, void *ctx)
{
    const char *p = *pp;

    *params = SK_STR_NULL;
    for (;;) {
        const char *q = sc_skip_ws(p, end), *name;
        struct sk_str value = SK_STR_NULL;
        if (q >= end || *q != ';')
            break;
        q = sc_skip_ws(q + 1, end);
        if (!params->p)
            params->p = q;
        name = q;
        q = sc_skip_class(q, end, SC_TOKEN);
        if (q == name)
            return hfail(err, "empty parameter", base, q);
        const char *r = sc_skip_ws(q, end), *name_end = q;
        if (r < end && *r == '=') {
            r = sc_skip_ws(r + 1, end);
            if (r < end && *r == '"') {
                if (!sc_quoted(&r, end, &value))
                    return hfail(err, "unterminated quoted string in parameter", base, r);
                q = r;
            } else {
                const char *v = r;
                while (r < end && value_char(*r))
                    r++;
                if (r == v)
                    return hfail(err, "empty parameter value", base, r);
                value = sk_str_make(v, (size_t) (r - v));
                q = r;
            }
        }
        if (fn && fn(ctx, sk_str_make(name, (size_t) (name_end - name)), value, base, err))
            return EBADMSG;
        p = q;
        params->len = (size_t) (p - params->p);
    }
    *pp = p;
    return 0;
}

static int parse_gen_params(const char **pp, const char *end, struct sk_str *params,
                            const char *base, struct sip_error *err)
{
    return parse_params_with(pp, end, params, base, err, NULL, NULL);
}

/* After an element: end of input, or a ',' when the header is a list. */
static int finish_elem(const char **pp, const char *p, const char *end, bool list,
                       const char *base, struct sip_error *err)
{
    p = sc_skip_ws(p, end);
    if (p < end) {
        if (!list || *p != ',')
            return hfail(err, "unexpected characters after the value", base, p);
        p = sc_skip_ws(p + 1, end);
        if (p >= end || *p == ',')
            return hfail(err, "empty element in list", base, p);
    }
    *pp = p;
    return 0;
}

static int parse_delta(struct sk_str s, uint32_t max, uint32_t *out, const char *base,
                       struct sip_error *err)
{
    int rc = sk_str_to_u32(s, max, out);
    if (rc == ERANGE)
        return hfail(err, "number too large", base, s.p);
    if (rc)
        return hfail(err, "not a number", base, s.p);
    return 0;
}

/* delta-seconds that saturate at 2^32-1 (RFC 3261 §20.19 style), for expires. */
static int parse_delta_sat(struct sk_str s, int64_t *out, const char *base,
                           struct sip_error *err)
{
    uint64_t v;
    int rc = sk_str_to_u64(s, UINT64_MAX, &v);
    if (rc == ERANGE) {
        *out = UINT32_MAX;
        return 0;
    }
    if (rc)
        return hfail(err, "not a number", base, s.p);
    *out = v > UINT32_MAX ? (int64_t) UINT32_MAX : (int64_t) v;
    return 0;
}

/* ---- Via (RFC 3261 §20.42) ---- */

static int via_param(void *ctx, struct sk_str n, struct sk_str val, const char *base,
                     struct sip_error *err)
{
    struct sip_via *v = ctx;

    if (sk_str_ieq_cstr(n, "branch")) {
        if (!sk_str_isset(val))
            return hfail(err, "branch without value", base, n.p);
        v->branch = val;
    } else if (sk_str_ieq_cstr(n, "received")) {
        if (!sk_str_isset(val))
            return hfail(err, "received without value", base, n.p);
        v->received = val;
    } else if (sk_str_ieq_cstr(n, "rport")) {
        uint32_t port;
        v->has_rport = true;
        if (sk_str_isset(val)) {
            if (val.len == 0 || parse_delta(val, 65535, &port, base, err))
                return hfail(err, "invalid rport", base, n.p);
            v->rport = (uint16_t) port;
            v->rport_has_value = true;
        } else {
            v->rport_end = n.p + n.len; /* where a response writes "=port" */
        }
    } else if (sk_str_ieq_cstr(n, "maddr")) {
        const char *h = val.p;
        struct sk_str host;
        int type;
        if (!sk_str_isset(val) || !sc_host(&h, val.p + val.len, &host, &type, NULL) ||
            h != val.p + val.len)
            return hfail(err, "invalid maddr", base, n.p);
        v->maddr = val;
    } else if (sk_str_ieq_cstr(n, "ttl")) {
        uint32_t ttl;
        if (!sk_str_isset(val) || parse_delta(val, 255, &ttl, base, err))
            return hfail(err, "invalid ttl", base, n.p);
        v->ttl = val;
    }
    return 0;
}

int sip_parse_via(const char **pp, const char *end, struct sip_via *v, struct sip_error *err)
{
    const char *base = *pp, *p = sc_skip_ws(*pp, end), *q;
    struct sk_str *parts[3];
    int type;

    memset(v, 0, sizeof(*v));
    v->raw.p = p;
    parts[0] = &v->protocol;
    parts[1] = &v->version;
    parts[2] = &v->transport;
    /* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            p = sc_skip_ws(p, end);
            if (p >= end || *p != '/')
                return hfail(err, "malformed sent-protocol", base, p);
            p = sc_skip_ws(p + 1, end);
        }
        q = sc_skip_class(p, end, SC_TOKEN);
        if (q == p)
            return hfail(err, "malformed sent-protocol", base, p);
        *parts[i] = sk_str_make(p, (size_t) (q - p));
        p = q;
    }
    q = sc_skip_ws(p, end);
    if (q == p)
        return hfail(err, "missing space before sent-by", base, p);
    p = q;
    if (!sc_host(&p, end, &v->host, &type, &v->ip4) || v->host.len == 0)
        return hfail(err, "invalid sent-by host", base, p);
    v->host_type = (enum sip_host_type) type;
    q = sc_skip_ws(p, end);
    if (q < end && *q == ':') {
        uint32_t port;
        const char *d = sc_skip_ws(q + 1, end);
        p = sc_skip_class(d, end, SC_DIGIT);
        if (p == d || sk_str_to_u32(sk_str_make(d, (size_t) (p - d)), 65535, &port))
            return hfail(err, "invalid sent-by port", base, d);
        v->port = (uint16_t) port;
        v->has_port = true;
    }
    if (parse_params_with(&p, end, &v->params, base, err, via_param, v))
        return EBADMSG;
    v->raw.len = (size_t) (p - v->raw.p);
    return finish_elem(pp, p, end, true, base, err);
}

/* ---- name-addr / addr-spec (From, To, Contact, Route, ...) ---- */

static int q_value(struct sk_str s, int *q, const char *base, struct sip_error *err)
{
    /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
    int v = 0, scale = 100;

    if (s.len == 0 || (s.p[0] != '0' && s.p[0] != '1'))
        return hfail(err, "invalid q value", base, s.p);
    if (s.len > 1 && (s.p[1] != '.' || s.len > 5))
        return hfail(err, "invalid q value", base, s.p);
    for (size_t i = 2; i < s.len; i++) {
        if (!sc_is(s.p[i], SC_DIGIT))
            return hfail(err, "invalid q value", base, s.p);
        v += (s.p[i] - '0') * scale;
        scale /= 10;
    }
    if (s.p[0] == '1') {
        if (v != 0)
            return hfail(err, "q value above 1", base, s.p);
        v = 1000;
    }
    *q = v;
    return 0;
}

static int addr_param(void *ctx, struct sk_str n, struct sk_str val, const char *base,
                      struct sip_error *err)
{
    struct sip_addr *a = ctx;

    if (sk_str_ieq_cstr(n, "tag")) {
        if (!sk_str_isset(val))
            return hfail(err, "tag without value", base, n.p);
        a->tag = val;
    } else if (sk_str_ieq_cstr(n, "expires")) {
        if (!sk_str_isset(val) || parse_delta_sat(val, &a->expires, base, err))
            return hfail(err, "invalid expires parameter", base, n.p);
    } else if (sk_str_ieq_cstr(n, "q")) {
        if (!sk_str_isset(val) || q_value(val, &a->q, base, err))
            return hfail(err, "invalid q value", base, n.p);
    }
    return 0;
}

static int addr_uri(struct sip_addr *a, const char *p, const char *q, const char *base,
                    struct sip_error *err)
{
    struct sip_error uerr;

    if (sip_uri_parse(&a->uri, p, (size_t) (q - p), &uerr))
        return hfail(err, uerr.reason, base, p + uerr.pos);
    return 0;
}

int sip_parse_addr(const char **pp, const char *end, bool list, bool allow_star,
                   struct sip_addr *a, struct sip_error *err)
{
    const char *base = *pp, *p = sc_skip_ws(*pp, end), *q;

    memset(a, 0, sizeof(*a));
    a->expires = -1;
    a->q = -1;
    a->raw.p = p;
    if (p >= end)
        return hfail(err, "empty value", base, p);
    if (*p == '*' && allow_star) {
        q = sc_skip_ws(p + 1, end);
        if (q == end || (list && *q == ',')) {
            a->star = true;
            a->raw.len = 1;
            return finish_elem(pp, p + 1, end, list, base, err);
        }
    }
    if (*p == '"') {
        if (!sc_quoted(&p, end, &a->display))
            return hfail(err, "unterminated quoted display name", base, p);
        a->display_quoted = true;
        p = sc_skip_ws(p, end);
        if (p >= end || *p != '<')
            return hfail(err, "expected '<' after display name", base, p);
    } else if (*p != '<') {
        /* display-name = *(token LWS): lenient, anything up to '<' (RFC 4475 baddn) */
        for (q = p; q < end && *q != '<' && *q != '"' && !(list && *q == ','); q++)
            ;
        if (q < end && *q == '<') {
            a->display = sk_str_trim(sk_str_make(p, (size_t) (q - p)));
            p = q;
        }
    }
    if (*p == '<') {
        const char *gt = memchr(p, '>', (size_t) (end - p));
        struct sk_str u;
        if (!gt)
            return hfail(err, "missing '>'", base, p);
        /* spaces inside <> are tolerated (RFC 4475 badaspec) */
        u = sk_str_trim(sk_str_make(p + 1, (size_t) (gt - p - 1)));
        if (u.len == 0)
            return hfail(err, "empty URI in <>", base, p);
        if (addr_uri(a, u.p, u.p + u.len, base, err))
            return EBADMSG;
        p = gt + 1;
    } else {
        /* addr-spec: ';' starts header parameters, so the URI has none (§20.10) */
        q = p;
        while (q < end && *q != ';' && !sc_is(*q, SC_WS) && !(list && *q == ','))
            q++;
        if (memchr(p, '?', (size_t) (q - p)))
            return hfail(err, "a URI with '?' must be enclosed in <>", base, p);
        if (addr_uri(a, p, q, base, err))
            return EBADMSG;
        p = q;
    }
    if (parse_params_with(&p, end, &a->params, base, err, addr_param, a))
        return EBADMSG;
    a->raw.len = (size_t) (p - a->raw.p);
    return finish_elem(pp, p, end, list, base, err);
}

/* ---- Simple values ---- */

int sip_parse_uint(struct sk_str value, uint32_t max, uint32_t *out, struct sip_error *err,
                   const char *what)
{
    struct sk_str s = sk_str_trim(value);
    int rc = sk_str_to_u32(s, max, out);

    if (rc == 0)
        return 0;
    sip_fail(err, 400, rc == ERANGE ? "value too large" : "not a number",
             (size_t) (s.p - value.p));
    if (err)
        err->where = what;
    return EBADMSG;
}

int sip_parse_cseq(struct sk_str value, struct sip_cseq *c, struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_DIGIT);
    if (q == p)
        return hfail(err, "sequence number missing", base, p);
    /* RFC 3261 §8.1.1.5: a 32-bit number less than 2^31 */
    if (sk_str_to_u32(sk_str_make(p, (size_t) (q - p)), 0x7fffffffu, &c->num))
        return hfail(err, "sequence number too large", base, p);
    p = sc_skip_ws(q, end);
    if (p == q)
        return hfail(err, "method missing", base, p);
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "method missing", base, p);
    c->method = sk_str_make(p, (size_t) (q - p));
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the method", base, q);
    return 0;
}

int sip_parse_token_elem(const char **pp, const char *end, bool params_allowed,
                         struct sk_str *token, struct sip_error *err)
{
    const char *base = *pp, *p = sc_skip_ws(*pp, end), *q;
    struct sk_str params;

    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "expected a token", base, p);
    *token = sk_str_make(p, (size_t) (q - p));
    if (params_allowed && parse_gen_params(&q, end, &params, base, err))
        return EBADMSG;
    return finish_elem(pp, q, end, true, base, err);
}

int sip_parse_ctype(const char **pp, const char *end, bool list, struct sip_ctype *c,
                    struct sip_error *err)
{
    const char *base = *pp, *p = sc_skip_ws(*pp, end), *q;

    memset(c, 0, sizeof(*c));
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "media type missing", base, p);
    c->type = sk_str_make(p, (size_t) (q - p));
    p = sc_skip_ws(q, end);
    if (p >= end || *p != '/')
        return hfail(err, "expected '/' in media type", base, p);
    p = sc_skip_ws(p + 1, end);
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "media subtype missing", base, p);
    c->subtype = sk_str_make(p, (size_t) (q - p));
    if (parse_gen_params(&q, end, &c->params, base, err))
        return EBADMSG;
    return finish_elem(pp, q, end, list, base, err);
}

/* ---- Authorization / challenges (RFC 3261 §22, RFC 7616, RFC 8760) ---- */

static void auth_param(struct sip_auth *a, struct sk_str n, struct sk_str v)
{
#define AUTH_PARAM(name, field) {name, sizeof(name) - 1, offsetof(struct sip_auth, field)}
    static const struct {
        const char *name;
        size_t len, off;
    } known[] = {
        AUTH_PARAM("username", username), AUTH_PARAM("realm", realm),
        AUTH_PARAM("nonce", nonce),       AUTH_PARAM("uri", uri),
        AUTH_PARAM("response", response), AUTH_PARAM("algorithm", algorithm),
        AUTH_PARAM("cnonce", cnonce),     AUTH_PARAM("opaque", opaque),
        AUTH_PARAM("qop", qop),           AUTH_PARAM("nc", nc),
        AUTH_PARAM("stale", stale),       AUTH_PARAM("domain", domain),
        AUTH_PARAM("userhash", userhash),
    };
#undef AUTH_PARAM
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        /* the length first: most names are refused without comparing a byte */
        if (n.len == known[i].len && sk_str_ieq(n, sk_str_make(known[i].name, known[i].len))) {
            *(struct sk_str *) ((char *) a + known[i].off) = v;
            return;
        }
    }
}

int sip_parse_auth(struct sk_str value, struct sip_auth *a, struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    memset(a, 0, sizeof(*a));
    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "authentication scheme missing", base, p);
    a->scheme = sk_str_make(p, (size_t) (q - p));
    a->digest = sk_str_ieq_cstr(a->scheme, "Digest");
    p = sc_skip_ws(q, end);
    a->params = sk_str_make(p, (size_t) (end - p));
    if (!a->digest)
        return 0; /* other schemes stay opaque (RFC 4475 regaut01) */
    if (p == end)
        return hfail(err, "Digest without parameters", base, p);
    /* auth-param *(COMMA auth-param); auth-param = token EQUAL ( token / quoted-string ) */
    for (;;) {
        struct sk_str n, v;
        q = sc_skip_class(p, end, SC_TOKEN);
        if (q == p)
            return hfail(err, "expected a Digest parameter name", base, p);
        n = sk_str_make(p, (size_t) (q - p));
        p = sc_skip_ws(q, end);
        if (p >= end || *p != '=')
            return hfail(err, "expected '=' after Digest parameter", base, p);
        p = sc_skip_ws(p + 1, end);
        if (p < end && *p == '"') {
            if (!sc_quoted(&p, end, &v))
                return hfail(err, "unterminated quoted string", base, p);
        } else {
            q = sc_skip_class(p, end, SC_TOKEN);
            if (q == p)
                return hfail(err, "empty Digest parameter value", base, p);
            v = sk_str_make(p, (size_t) (q - p));
            p = q;
        }
        auth_param(a, n, v);
        p = sc_skip_ws(p, end);
        if (p == end)
            return 0;
        if (*p != ',')
            return hfail(err, "expected ',' between Digest parameters", base, p);
        p = sc_skip_ws(p + 1, end);
    }
}

/* ---- Extensions ---- */

static int token_then_params(struct sk_str value, struct sk_str *token, struct sk_str *params,
                             struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "expected a token", base, p);
    *token = sk_str_make(p, (size_t) (q - p));
    if (parse_gen_params(&q, end, params, base, err))
        return EBADMSG;
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the value", base, q);
    return 0;
}

static int digits_then_params(struct sk_str value, uint32_t *num, struct sk_str *params,
                              struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_DIGIT);
    if (parse_delta(sk_str_make(p, (size_t) (q - p)), UINT32_MAX, num, base, err))
        return EBADMSG;
    if (parse_gen_params(&q, end, params, base, err))
        return EBADMSG;
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the value", base, q);
    return 0;
}

int sip_parse_rack(struct sk_str value, struct sip_rack *r, struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_DIGIT);
    if (parse_delta(sk_str_make(p, (size_t) (q - p)), UINT32_MAX, &r->rseq, base, err))
        return EBADMSG;
    p = sc_skip_ws(q, end);
    if (p == q)
        return hfail(err, "expected a space after the RSeq number", base, p);
    q = sc_skip_class(p, end, SC_DIGIT);
    if (parse_delta(sk_str_make(p, (size_t) (q - p)), 0x7fffffffu, &r->cseq, base, err))
        return EBADMSG;
    p = sc_skip_ws(q, end);
    if (p == q)
        return hfail(err, "expected a space before the method", base, p);
    q = sc_skip_class(p, end, SC_TOKEN);
    if (q == p)
        return hfail(err, "method missing", base, p);
    r->method = sk_str_make(p, (size_t) (q - p));
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the method", base, q);
    return 0;
}

int sip_parse_event(struct sk_str value, struct sip_event *e, struct sip_error *err)
{
    memset(e, 0, sizeof(*e));
    if (token_then_params(value, &e->package, &e->params, err))
        return EBADMSG;
    sip_param_get(e->params, "id", &e->id);
    return 0;
}

int sip_parse_substate(struct sk_str value, struct sip_substate *s, struct sip_error *err)
{
    struct sk_str v;

    memset(s, 0, sizeof(*s));
    s->expires = s->retry_after = -1;
    if (token_then_params(value, &s->state, &s->params, err))
        return EBADMSG;
    sip_param_get(s->params, "reason", &s->reason);
    if (sip_param_get(s->params, "expires", &v) &&
        (!sk_str_isset(v) || parse_delta_sat(v, &s->expires, value.p, err)))
        return hfail(err, "invalid expires parameter", value.p, value.p);
    if (sip_param_get(s->params, "retry-after", &v) &&
        (!sk_str_isset(v) || parse_delta_sat(v, &s->retry_after, value.p, err)))
        return hfail(err, "invalid retry-after parameter", value.p, value.p);
    return 0;
}

int sip_parse_callid(struct sk_str value, struct sip_error *err)
{
    const char *p = value.p, *end = value.p + value.len, *q;

    /* callid = word [ "@" word ] */
    q = sc_skip_class(p, end, SC_WORD);
    if (q == p)
        return hfail(err, "empty Call-ID", value.p, p);
    if (q < end && *q == '@') {
        p = q + 1;
        q = sc_skip_class(p, end, SC_WORD);
        if (q == p)
            return hfail(err, "empty word after '@'", value.p, p);
    }
    if (q != end)
        return hfail(err, "invalid character in Call-ID", value.p, q);
    return 0;
}

int sip_parse_replaces(struct sk_str value, struct sip_replaces *r, struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    memset(r, 0, sizeof(*r));
    p = sc_skip_ws(value.p, end);
    q = p;
    while (q < end && (sc_is(*q, SC_WORD) || *q == '@'))
        q++;
    r->call_id = sk_str_make(p, (size_t) (q - p));
    if (sip_parse_callid(r->call_id, err))
        return hfail(err, "invalid Call-ID", base, p);
    if (parse_gen_params(&q, end, &r->params, base, err))
        return EBADMSG;
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the value", base, q);
    sip_param_get(r->params, "to-tag", &r->to_tag);
    sip_param_get(r->params, "from-tag", &r->from_tag);
    r->early_only = sip_param_get(r->params, "early-only", NULL);
    if (!sk_str_isset(r->to_tag) || !sk_str_isset(r->from_tag))
        return hfail(err, "to-tag and from-tag are required", base, p);
    return 0;
}

int sip_parse_session_expires(struct sk_str value, struct sip_session_expires *s,
                              struct sip_error *err)
{
    memset(s, 0, sizeof(*s));
    if (digits_then_params(value, &s->delta, &s->params, err))
        return EBADMSG;
    sip_param_get(s->params, "refresher", &s->refresher);
    return 0;
}

int sip_parse_retry_after(struct sk_str value, struct sip_retry_after *r,
                          struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;
    struct sk_str v;

    memset(r, 0, sizeof(*r));
    r->duration = -1;
    p = sc_skip_ws(value.p, end);
    q = sc_skip_class(p, end, SC_DIGIT);
    if (parse_delta(sk_str_make(p, (size_t) (q - p)), UINT32_MAX, &r->delta, base, err))
        return EBADMSG;
    p = sc_skip_ws(q, end);
    if (p < end && *p == '(') {
        /* comment = "(" *(ctext / quoted-pair / comment) ")" */
        int depth = 0;
        const char *c = p;
        for (; p < end; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0)
                break;
        }
        if (p >= end)
            return hfail(err, "unterminated comment", base, c);
        r->comment = sk_str_make(c + 1, (size_t) (p - c - 1));
        q = p + 1;
    }
    if (parse_gen_params(&q, end, &r->params, base, err))
        return EBADMSG;
    if (sc_skip_ws(q, end) != end)
        return hfail(err, "unexpected characters after the value", base, q);
    if (sip_param_get(r->params, "duration", &v) &&
        (!sk_str_isset(v) || parse_delta_sat(v, &r->duration, base, err)))
        return hfail(err, "invalid duration", base, base);
    return 0;
}

static const char *decimal(const char *p, const char *end)
{
    p = sc_skip_class(p, end, SC_DIGIT);
    if (p < end && *p == '.')
        p = sc_skip_class(p + 1, end, SC_DIGIT);
    return p;
}

int sip_parse_timestamp(struct sk_str value, struct sip_timestamp *t, struct sip_error *err)
{
    const char *base = value.p, *end = value.p + value.len, *p, *q;

    memset(t, 0, sizeof(*t));
    p = sc_skip_ws(value.p, end);
    q = decimal(p, end);
    if (q == p || !sc_is(*p, SC_DIGIT))
        return hfail(err, "expected a number", base, p);
    t->value = sk_str_make(p, (size_t) (q - p));
    p = sc_skip_ws(q, end);
    if (p < end) {
        if (p == q)
            return hfail(err, "expected a space before the delay", base, p);
        q = decimal(p, end);
        /* delay = *(DIGIT) [ "." *(DIGIT) ]: ".5" is a delay, "." alone is not */
        if (q == p || (q - p == 1 && *p == '.'))
            return hfail(err, "invalid delay", base, p);
        t->delay = sk_str_make(p, (size_t) (q - p));
        if (sc_skip_ws(q, end) != end)
            return hfail(err, "unexpected characters after the delay", base, q);
    }
    return 0;
}

int sip_unquote(struct sk_buf *out, struct sk_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '\\' && i + 1 < s.len)
            i++;
        if (sk_buf_putc(out, s.p[i]))
            return ENOMEM;
    }
    return 0;
}
