/* URI parsing in place (RFC 3261 §19.1, §25.1; RFC 3966) and comparison (§19.1.4). */
#include "sip/uri.h"

#include <arpa/inet.h>

#include "sip/param.h"
#include "sip/scan.h"

/* sc_host reports the host kind in the lexer's own terms (scan.h), value for value. */
_Static_assert((int) SIP_HOST_NAME == SC_HT_NAME && (int) SIP_HOST_IPV4 == SC_HT_IPV4 &&
                   (int) SIP_HOST_IPV6 == SC_HT_IPV6,
               "enum sc_host_type and enum sip_host_type differ");

static int uri_fail(struct sip_error *err, const char *reason, const char *start, const char *at)
{
    sip_fail(err, 400, reason, (size_t) (at - start));
    if (err)
        err->where = "URI";
    return EBADMSG;
}

/* Scan characters of class cls or valid %HH escapes. */
static const char *scan_escaped(const char *p, const char *end, unsigned cls, bool *bad_escape)
{
    while (p < end) {
        if (sc_is(*p, cls)) {
            p++;
        } else if (*p == '%') {
            if (end - p < 3 || sc_hexval(p[1]) < 0 || sc_hexval(p[2]) < 0) {
                *bad_escape = true;
                return p;
            }
            p += 3;
        } else {
            break;
        }
    }
    return p;
}

static void extract_params(struct sip_uri *u)
{
    struct sk_str rest = u->params, name, value;

    while (sip_param_next(&rest, &name, &value)) {
        if (sk_str_ieq_cstr(name, "transport"))
            u->transport = value;
        else if (sk_str_ieq_cstr(name, "user"))
            u->user_param = value;
        else if (sk_str_ieq_cstr(name, "maddr"))
            u->maddr = value;
        else if (sk_str_ieq_cstr(name, "method"))
            u->method = value;
        else if (sk_str_ieq_cstr(name, "ttl"))
            u->ttl = value;
        else if (sk_str_ieq_cstr(name, "lr"))
            u->lr = true;
    }
}

/* uri-parameters = *( ";" uri-parameter ), values of paramchars. */
static int parse_uri_params(struct sip_uri *u, const char **pp, const char *end,
                            const char *start, struct sip_error *err)
{
    const char *p = *pp;
    const unsigned pc = SC_UNRES | SC_PARAM;
    bool bad = false;

    if (p >= end || *p != ';')
        return 0;
    u->params.p = ++p;
    for (;;) {
        const char *name = p;
        p = scan_escaped(p, end, pc, &bad);
        if (bad)
            return uri_fail(err, "invalid escape in URI parameter", start, p);
        if (p == name)
            return uri_fail(err, "empty URI parameter", start, p);
        if (p < end && *p == '=') {
            const char *val = ++p;
            p = scan_escaped(p, end, pc, &bad);
            if (bad)
                return uri_fail(err, "invalid escape in URI parameter", start, p);
            if (p == val)
                return uri_fail(err, "empty URI parameter value", start, p);
        }
        if (p < end && *p == ';') {
            p++;
            continue;
        }
        break;
    }
    u->params.len = (size_t) (p - u->params.p);
    *pp = p;
    return 0;
}

/* headers = "?" header *( "&" header ), hname "=" hvalue */
static int parse_uri_headers(struct sip_uri *u, const char **pp, const char *end,
                             const char *start, struct sip_error *err)
{
    const char *p = *pp;
    const unsigned hc = SC_UNRES | SC_HNV;
    bool bad = false;

    if (p >= end || *p != '?')
        return 0;
    u->headers.p = ++p;
    for (;;) {
        const char *name = p;
        p = scan_escaped(p, end, hc, &bad);
        if (bad)
            return uri_fail(err, "invalid escape in URI header", start, p);
        if (p == name)
            return uri_fail(err, "empty URI header name", start, p);
        if (p >= end || *p != '=')
            return uri_fail(err, "URI header without '='", start, p);
        p = scan_escaped(p + 1, end, hc, &bad);
        if (bad)
            return uri_fail(err, "invalid escape in URI header", start, p);
        if (p < end && *p == '&') {
            p++;
            continue;
        }
        break;
    }
    u->headers.len = (size_t) (p - u->headers.p);
    *pp = p;
    return 0;
}

static int parse_sip(struct sip_uri *u, const char *p, const char *end, const char *start,
                     struct sip_error *err)
{
    const char *at = NULL;
    bool bad = false;
    int type;

    /* The first '@' ends the userinfo: no other part of a SIP URI may hold one unescaped. */
    for (const char *q = p; q < end; q++) {
        if (*q == '@') {
            at = q;
            break;
        }
    }
    if (at) {
        const char *q = scan_escaped(p, at, SC_UNRES | SC_USER, &bad);
        if (bad)
            return uri_fail(err, "invalid escape in URI user", start, q);
        if (q == p)
            return uri_fail(err, "empty user part before '@'", start, q);
        u->user = sk_str_make(p, (size_t) (q - p));
        if (q < at && *q == ':') {
            const char *pw = ++q;
            q = scan_escaped(q, at, SC_UNRES | SC_PASS, &bad);
            if (bad)
                return uri_fail(err, "invalid escape in URI password", start, q);
            u->password = sk_str_make(pw, (size_t) (q - pw));
        }
        if (q != at)
            return uri_fail(err, "invalid character in URI user part", start, q);
        p = at + 1;
    }
    if (!sc_host(&p, end, &u->host, &type, &u->ip4))
        return uri_fail(err, "invalid host in URI", start, p);
    u->host_type = (enum sip_host_type) type;
    if (p < end && *p == ':') {
        const char *d = ++p;
        uint32_t port;
        p = sc_skip_class(p, end, SC_DIGIT);
        if (sk_str_to_u32(sk_str_make(d, (size_t) (p - d)), 65535, &port))
            return uri_fail(err, "invalid port in URI", start, d);
        u->port = (uint16_t) port;
        u->has_port = true;
    }
    if (parse_uri_params(u, &p, end, start, err) || parse_uri_headers(u, &p, end, start, err))
        return EBADMSG;
    if (p != end)
        return uri_fail(err, "invalid character in URI", start, p);
    extract_params(u);
    return 0;
}

/* RFC 3966: telephone-subscriber = global-number / local-number, then ;params. */
static int parse_tel(struct sip_uri *u, const char *p, const char *end, const char *start,
                     struct sip_error *err)
{
    const char *num = p;
    bool global = p < end && *p == '+';
    bool bad = false;

    if (global)
        p++;
    while (p < end) {
        char c = *p;
        if (sc_is(c, SC_DIGIT) || c == '-' || c == '.' || c == '(' || c == ')' ||
            (!global && (sc_is(c, SC_HEX) || c == '*' || c == '#')))
            p++;
        else
            break;
    }
    {
        bool digit = false;
        for (const char *d = num; d < p; d++)
            digit = digit || sc_is(*d, SC_DIGIT) || (!global && sc_is(*d, SC_HEX));
        /* RFC 3966 §3: a number holds at least one digit. A local number should carry
         * a phone-context; one without is accepted, as phones send them. */
        if (!digit)
            return uri_fail(err, "telephone number without digits", start, p);
    }
    u->user = sk_str_make(num, (size_t) (p - num));
    while (p < end && *p == ';') {
        const char *name = ++p;
        if (!u->params.p)
            u->params.p = name;
        /* pname = 1*( alphanum / "-" ) [ "=" pvalue ]: a parameter is never empty */
        p = scan_escaped(p, end, SC_UNRES | SC_PARAM | SC_PASS, &bad);
        if (bad)
            return uri_fail(err, "invalid escape in tel URI parameter", start, p);
        if (p == name || *name == '=')
            return uri_fail(err, "empty tel URI parameter", start, p);
        u->params.len = (size_t) (p - u->params.p);
    }
    if (p != end)
        return uri_fail(err, "invalid character in tel URI", start, p);
    return 0;
}

int sip_uri_parse(struct sip_uri *u, const char *p, size_t len, struct sip_error *err)
{
    const char *start = p, *end = p + len, *q;

    memset(u, 0, sizeof(*u));
    u->raw = sk_str_make(p, len);
    if (len == 0)
        return uri_fail(err, "empty URI", start, p);
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!sc_is(*p, SC_ALPHA))
        return uri_fail(err, "URI scheme must start with a letter", start, p);
    q = p + 1;
    while (q < end && (sc_is(*q, SC_ALPHA | SC_DIGIT) || *q == '+' || *q == '-' || *q == '.'))
        q++;
    if (q >= end || *q != ':')
        return uri_fail(err, "URI has no scheme", start, q);
    u->scheme_str = sk_str_make(p, (size_t) (q - p));
    p = q + 1;
    if (sk_str_ieq_cstr(u->scheme_str, "sip"))
        u->scheme = SIP_URI_SIP;
    else if (sk_str_ieq_cstr(u->scheme_str, "sips"))
        u->scheme = SIP_URI_SIPS;
    else if (sk_str_ieq_cstr(u->scheme_str, "tel"))
        u->scheme = SIP_URI_TEL;
    else
        u->scheme = SIP_URI_OTHER;

    switch (u->scheme) {
    case SIP_URI_SIP:
    case SIP_URI_SIPS:
        return parse_sip(u, p, end, start, err);
    case SIP_URI_TEL:
        return parse_tel(u, p, end, start, err);
    case SIP_URI_OTHER:
        break;
    }
    /* Any other absolute URI: kept opaque, but it must be a single printable word. */
    if (p == end)
        return uri_fail(err, "empty URI after scheme", start, p);
    for (q = p; q < end; q++) {
        unsigned char c = (unsigned char) *q;
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
            return uri_fail(err, "invalid character in URI", start, q);
    }
    u->opaque = sk_str_make(p, (size_t) (end - p));
    return 0;
}

bool sip_uri_param(const struct sip_uri *u, const char *name, struct sk_str *value)
{
    return sip_param_get(u->params, name, value);
}

uint16_t sip_uri_default_port(const struct sip_uri *u)
{
    if (u->has_port)
        return u->port;
    return u->scheme == SIP_URI_SIPS ? 5061 : 5060;
}

int sip_unescape(struct sk_buf *out, struct sk_str s)
{
    if (!s.len || !memchr(s.p, '%', s.len))
        return sk_buf_put_str(out, s); /* the usual case: nothing escaped */
    for (size_t i = 0; i < s.len; i++) {
        int hi, lo;
        if (s.p[i] == '%' && i + 2 < s.len &&
            (hi = sc_hexval(s.p[i + 1])) >= 0 && (lo = sc_hexval(s.p[i + 2])) >= 0) {
            if (sk_buf_putc(out, (char) (hi * 16 + lo)))
                return ENOMEM;
            i += 2;
        } else if (sk_buf_putc(out, s.p[i])) {
            return ENOMEM;
        }
    }
    return 0;
}

/* ---- Comparison (RFC 3261 §19.1.4) ---- */

/* Next character of s, decoding %HH; *escaped tells whether it was encoded. */
static bool next_char(struct sk_str *s, char *c, bool *escaped)
{
    int hi, lo;

    if (s->len == 0)
        return false;
    if (s->p[0] == '%' && s->len >= 3 && (hi = sc_hexval(s->p[1])) >= 0 &&
        (lo = sc_hexval(s->p[2])) >= 0) {
        *c = (char) (hi * 16 + lo);
        *escaped = true;
        s->p += 3;
        s->len -= 3;
        return true;
    }
    *c = s->p[0];
    *escaped = false;
    s->p++;
    s->len--;
    return true;
}

/* Characters other than "reserved" ones equal their %HH encoding; an escaped
 * reserved character differs from the literal one. */
static bool esc_equal(struct sk_str a, struct sk_str b, bool icase)
{
    char ca, cb;
    bool ea, eb;

    for (;;) {
        bool ha = next_char(&a, &ca, &ea);
        bool hb = next_char(&b, &cb, &eb);
        if (!ha || !hb)
            return ha == hb;
        if (icase) {
            ca = sk_lower(ca);
            cb = sk_lower(cb);
        }
        if (ca != cb)
            return false;
        if (ea != eb && sc_is(ca, SC_RESERVED))
            return false;
    }
}

static bool host_equal(const struct sip_uri *a, const struct sip_uri *b)
{
    if (a->host_type == SIP_HOST_IPV6 && b->host_type == SIP_HOST_IPV6) {
        char sa[64], sb[64];
        unsigned char na[16], nb[16];
        if (a->host.len < sizeof(sa) && b->host.len < sizeof(sb)) {
            sk_str_copy(sa, sizeof(sa), a->host);
            sk_str_copy(sb, sizeof(sb), b->host);
            if (inet_pton(AF_INET6, sa, na) == 1 && inet_pton(AF_INET6, sb, nb) == 1)
                return memcmp(na, nb, 16) == 0;
        }
    }
    return esc_equal(a->host, b->host, true);
}

/* The k-th (0-based) parameter with this (escape-aware, case-insensitive) name.
 * Repeated names are compared occurrence by occurrence, which keeps equality
 * reflexive and symmetric for such URIs. */
static bool param_find_nth(struct sk_str params, struct sk_str name, size_t k,
                           struct sk_str *value)
{
    struct sk_str rest = params, n, v;
    while (sip_param_next(&rest, &n, &v)) {
        if (esc_equal(n, name, true) && k-- == 0) {
            *value = v;
            return true;
        }
    }
    return false;
}

/* How many parameters before `upto` in params share this name. */
static size_t occurrence(struct sk_str params, struct sk_str name, const char *upto)
{
    struct sk_str rest = params, n, v;
    size_t k = 0;
    while (sip_param_next(&rest, &n, &v) && n.p < upto) {
        if (esc_equal(n, name, true))
            k++;
    }
    return k;
}

static bool value_equal(struct sk_str a, struct sk_str b)
{
    if (!sk_str_isset(a) || !sk_str_isset(b))
        return sk_str_isset(a) == sk_str_isset(b);
    return esc_equal(a, b, true);
}

static bool is_must_match_param(struct sk_str name)
{
    static const char *const names[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sk_str_ieq_cstr(name, names[i]))
            return true;
    }
    return false;
}

/* Parameters in both must match; user/ttl/method/maddr/transport must be in both. */
static bool params_equal_sip(struct sk_str pa, struct sk_str pb)
{
    struct sk_str rest = pa, n, v, other;

    while (sip_param_next(&rest, &n, &v)) {
        if (param_find_nth(pb, n, occurrence(pa, n, n.p), &other)) {
            if (!value_equal(v, other))
                return false;
        } else if (is_must_match_param(n)) {
            return false;
        }
    }
    rest = pb;
    while (sip_param_next(&rest, &n, &v)) {
        if (is_must_match_param(n) && !param_find_nth(pa, n, occurrence(pb, n, n.p), &other))
            return false;
    }
    return true;
}

static bool tel_number_equal(struct sk_str a, struct sk_str b);

/* RFC 3966 §4: a phone-context of digits compares digit by digit, without separators. */
static bool tel_param_equal(struct sk_str name, struct sk_str a, struct sk_str b)
{
    if (sk_str_ieq_cstr(name, "phone-context") && sk_str_isset(a) && sk_str_isset(b) &&
        a.len && b.len && a.p[0] == '+' && b.p[0] == '+')
        return tel_number_equal(a, b);
    return value_equal(a, b);
}

/* Every parameter of one must be in the other with an equal value (RFC 3966 §4). */
static bool params_equal_all(struct sk_str pa, struct sk_str pb)
{
    struct sk_str rest = pa, n, v, other;
    size_t na = 0, nb = 0;

    while (sip_param_next(&rest, &n, &v)) {
        na++;
        if (!param_find_nth(pb, n, occurrence(pa, n, n.p), &other) ||
            !tel_param_equal(n, v, other))
            return false;
    }
    rest = pb;
    while (sip_param_next(&rest, &n, &v))
        nb++;
    return na == nb;
}

static bool next_header(struct sk_str *rest, struct sk_str *name, struct sk_str *value)
{
    const char *amp, *eq;
    struct sk_str h;

    if (rest->len == 0 || !rest->p)
        return false;
    amp = sk_str_chr(*rest, '&');
    h = sk_str_make(rest->p, amp ? (size_t) (amp - rest->p) : rest->len);
    rest->p += h.len + (amp ? 1 : 0);
    rest->len -= h.len + (amp ? 1 : 0);
    eq = sk_str_chr(h, '=');
    *name = sk_str_make(h.p, eq ? (size_t) (eq - h.p) : h.len);
    *value = eq ? sk_str_make(eq + 1, h.len - name->len - 1) : sk_str_make(h.p + h.len, 0);
    return true;
}

/* How many headers of the list equal name=value. */
static size_t header_count(struct sk_str headers, struct sk_str name, struct sk_str value)
{
    struct sk_str rest = headers, n, v;
    size_t c = 0;
    while (next_header(&rest, &n, &v))
        c += esc_equal(n, name, true) && esc_equal(v, value, false);
    return c;
}

/* URI header components are never ignored: both lists must hold the same
 * headers, the same number of times each (a multiset comparison). */
static bool headers_equal(struct sk_str ha, struct sk_str hb)
{
    struct sk_str rest = ha, n, v;
    size_t na = 0, nb = 0;

    while (next_header(&rest, &n, &v)) {
        na++;
        if (header_count(ha, n, v) != header_count(hb, n, v))
            return false;
    }
    rest = hb;
    while (next_header(&rest, &n, &v))
        nb++;
    return na == nb;
}

static bool sip_equal(const struct sip_uri *a, const struct sip_uri *b)
{
    if (sk_str_isset(a->user) != sk_str_isset(b->user) || !esc_equal(a->user, b->user, false))
        return false;
    if (sk_str_isset(a->password) != sk_str_isset(b->password) ||
        !esc_equal(a->password, b->password, false))
        return false;
    if (a->host_type != b->host_type && (a->host_type == SIP_HOST_NAME ||
                                         b->host_type == SIP_HOST_NAME))
        return false; /* a name never equals an address, even if it resolves to it */
    if (!host_equal(a, b))
        return false;
    if (a->has_port != b->has_port || a->port != b->port)
        return false;
    return params_equal_sip(a->params, b->params) && headers_equal(a->headers, b->headers);
}

/* tel numbers compare with visual separators removed, case-insensitively. */
static bool tel_number_equal(struct sk_str a, struct sk_str b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.len && (a.p[i] == '-' || a.p[i] == '.' || a.p[i] == '(' || a.p[i] == ')'))
            i++;
        while (j < b.len && (b.p[j] == '-' || b.p[j] == '.' || b.p[j] == '(' || b.p[j] == ')'))
            j++;
        if (i == a.len || j == b.len)
            return i == a.len && j == b.len;
        if (sk_lower(a.p[i]) != sk_lower(b.p[j]))
            return false;
        i++;
        j++;
    }
}

bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
    if (a->scheme != b->scheme)
        return false;
    switch (a->scheme) {
    case SIP_URI_SIP:
    case SIP_URI_SIPS:
        return sip_equal(a, b);
    case SIP_URI_TEL: {
        bool ga = a->user.len && a->user.p[0] == '+';
        bool gb = b->user.len && b->user.p[0] == '+';
        return ga == gb && tel_number_equal(a->user, b->user) &&
               params_equal_all(a->params, b->params);
    }
    case SIP_URI_OTHER:
        break;
    }
    return sk_str_ieq(a->scheme_str, b->scheme_str) && sk_str_eq(a->opaque, b->opaque);
}
