/* Typed header accessors: parsed on first use, cached in the message's arena until the next parse. */
#include "sip/msg.h"

#include "sip/scan.h"

enum { CACHE_NONE = 0, CACHE_OK = 1, CACHE_ERR = 2 };

typedef int (*elem_fn)(const char **p, const char *end, void *out, struct sip_error *err);
typedef int (*value_fn)(struct sk_str value, void *out, struct sip_error *err);

static int cache_hit(struct sip_msg *m, enum sip_hdr_id id, const void **items, size_t *n,
                     struct sip_error *err)
{
    if (m->cache_state[id] == CACHE_OK) {
        *items = m->cache[id].items;
        *n = m->cache[id].n;
        return 0;
    }
    if (err)
        *err = m->cache[id].err;
    return EBADMSG;
}

static int cache_fail(struct sip_msg *m, enum sip_hdr_id id, const struct sip_hdr *h,
                      struct sip_error *e, struct sip_error *err)
{
    e->pos += sip_msg_offset(m, h->value.p);
    e->where = sip_hdr_name(id);
    m->cache[id].err = *e;
    m->cache_state[id] = CACHE_ERR;
    if (err)
        *err = *e;
    return EBADMSG;
}

static void cache_store(struct sip_msg *m, enum sip_hdr_id id, void *items, size_t n)
{
    m->cache[id].items = items;
    m->cache[id].n = (uint32_t) n;
    m->cache_state[id] = CACHE_OK;
}

/* Upper bound of the elements in a list header value: commas outside quotes and <>. */
static size_t count_elems(struct sk_str v)
{
    size_t n = 1;
    bool quoted = false, angle = false;

    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (quoted) {
            if (c == '\\')
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            angle = true;
        } else if (c == '>') {
            angle = false;
        } else if (c == ',' && !angle) {
            n++;
        }
    }
    return n;
}

/* Parse every element of every instance of a list header into one array. */
static int list_get(struct sip_msg *m, enum sip_hdr_id id, size_t size, elem_fn fn,
                    bool allow_empty, const void **items, size_t *n, struct sip_error *err)
{
    const struct sip_hdr *h;
    size_t cap = 0, count = 0, max = m->limits->max_list_items;
    char *arr;
    struct sip_error e;

    if (m->cache_state[id])
        return cache_hit(m, id, items, n, err);
    if (!(h = sip_msg_hdr(m, id)))
        return ENOENT;
    for (; h; h = sip_msg_hdr_next(m, h)) {
        cap += count_elems(h->value);
        if (id == SIP_HDR_PRIVACY) /* RFC 3323: priv-values are separated by ';' */
            for (size_t i = 0; i < h->value.len; i++)
                cap += h->value.p[i] == ';';
    }
    if (cap > max)
        cap = max;
    arr = sk_arena_alloc(&m->arena, cap * size);
    if (!arr)
        return ENOMEM;
    for (h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
        const char *p = h->value.p, *end = p + h->value.len;
        if (p == end && !allow_empty) {
            sip_fail(&e, 400, "empty value", 0);
            return cache_fail(m, id, h, &e, err);
        }
        while (p < end) {
            const char *at = p;
            if (count == cap) {
                sip_fail(&e, count == max ? 513 : 400,
                         count == max ? "too many list elements" : "malformed list",
                         (size_t) (at - h->value.p));
                return cache_fail(m, id, h, &e, err);
            }
            if (fn(&p, end, arr + count * size, &e)) {
                e.pos += (size_t) (at - h->value.p);
                return cache_fail(m, id, h, &e, err);
            }
            count++;
        }
    }
    cache_store(m, id, arr, count);
    *items = arr;
    *n = count;
    return 0;
}

/* One typed value from the first instance of a single-valued header. */
static int single_get(struct sip_msg *m, enum sip_hdr_id id, size_t size, value_fn fn,
                      const void **item, struct sip_error *err)
{
    const struct sip_hdr *h;
    size_t n;
    void *out;
    struct sip_error e;

    if (m->cache_state[id])
        return cache_hit(m, id, item, &n, err);
    if (!(h = sip_msg_hdr(m, id)))
        return ENOENT;
    out = sk_arena_alloc(&m->arena, size);
    if (!out)
        return ENOMEM;
    if (fn(h->value, out, &e))
        return cache_fail(m, id, h, &e, err);
    cache_store(m, id, out, 1);
    *item = out;
    return 0;
}

/* ---- Element parsers with the common signature ---- */

static int via_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_via(p, end, out, err);
}

static int addr_list_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_addr(p, end, true, false, out, err);
}

static int contact_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_addr(p, end, true, true, out, err);
}

static int addr_single(struct sk_str v, void *out, struct sip_error *err)
{
    const char *p = v.p;
    return sip_parse_addr(&p, v.p + v.len, false, false, out, err);
}

static int token_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_token_elem(p, end, false, out, err);
}

/* RFC 3323 §4.2: Privacy = priv-value *(";" priv-value) */
static int privacy_elem(const char **pp, const char *end, void *out, struct sip_error *err)
{
    const char *base = *pp, *p = *pp;
    struct sk_str *t = out;

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    *pp = p;
    while (p < end && *p != ';' && *p != ',' && *p != ' ' && *p != '\t' && *p != '\r' &&
           *p != '\n')
        p++;
    *t = sk_str_make(*pp, (size_t) (p - *pp));
    if (t->len == 0 || sip_parse_token_elem(pp, p, false, t, err))
        return sip_fail(err, 400, "expected a priv-value", (size_t) (p - base));
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p < end) {
        if (*p != ';' && *p != ',')
            return sip_fail(err, 400, "expected ';' between priv-values", (size_t) (p - base));
        p++;
        if (p == end)
            return sip_fail(err, 400, "empty priv-value", (size_t) (p - base));
    }
    *pp = p;
    return 0;
}

static int token_param_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_token_elem(p, end, true, out, err);
}

static int accept_elem(const char **p, const char *end, void *out, struct sip_error *err)
{
    return sip_parse_ctype(p, end, true, out, err);
}

static int ctype_single(struct sk_str v, void *out, struct sip_error *err)
{
    const char *p = v.p;
    return sip_parse_ctype(&p, v.p + v.len, false, out, err);
}

int sip_msg_vias(struct sip_msg *m, const struct sip_via **v, size_t *n, struct sip_error *err)
{
    return list_get(m, SIP_HDR_VIA, sizeof(**v), via_elem, false, (const void **) v, n, err);
}

static int addrs_get(struct sip_msg *m, enum sip_hdr_id id, const struct sip_addr **a,
                     size_t *n, struct sip_error *err);

/* Every URI of an address header obeys max_uri_len, like the Request-URI. */
int sip_msg_addrs(struct sip_msg *m, enum sip_hdr_id id, const struct sip_addr **a, size_t *n,
                  struct sip_error *err)
{
    int rc = addrs_get(m, id, a, n, err);

    if (rc == 0 && id != SIP_HDR_FROM && id != SIP_HDR_TO) {
        for (size_t i = 0; i < *n; i++) {
            if ((*a)[i].uri.raw.len > m->limits->max_uri_len) {
                struct sip_error e;
                const struct sip_hdr *h = sip_msg_hdr(m, id);
                sip_fail(&e, 400, "URI too long",
                         (size_t) ((*a)[i].uri.raw.p - h->value.p) < h->value.len
                             ? (size_t) ((*a)[i].uri.raw.p - h->value.p)
                             : 0);
                return cache_fail(m, id, h, &e, err);
            }
        }
    }
    return rc;
}

static int addrs_get(struct sip_msg *m, enum sip_hdr_id id, const struct sip_addr **a,
                     size_t *n, struct sip_error *err)
{
    const void *item;
    int rc;

    switch (id) {
    case SIP_HDR_FROM:
    case SIP_HDR_TO: {
        const struct sip_addr *eager = id == SIP_HDR_FROM ? &m->from : &m->to;
        bool has = id == SIP_HDR_FROM ? m->has_from : m->has_to;
        if (!has)
            return ENOENT; /* a malformed one fails sip_msg_parse already */
        *a = eager;
        *n = 1;
        return 0;
    }
    case SIP_HDR_CONTACT:
        rc = list_get(m, id, sizeof(**a), contact_elem, false, (const void **) a, n, err);
        if (rc == 0 && *n > 1) {
            /* RFC 3261 §20.10: "*" stands alone, never beside addresses */
            for (size_t i = 0; i < *n; i++) {
                if ((*a)[i].star) {
                    struct sip_error e;
                    const struct sip_hdr *h = sip_msg_hdr(m, id);
                    sip_fail(&e, 400, "'*' must be the only Contact", 0);
                    return cache_fail(m, id, h, &e, err);
                }
            }
        }
        return rc;
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_PATH:
    case SIP_HDR_P_ASSERTED_IDENTITY:
        return list_get(m, id, sizeof(**a), addr_list_elem, false, (const void **) a, n, err);
    case SIP_HDR_REPLY_TO:
    case SIP_HDR_REFER_TO:
    case SIP_HDR_REFERRED_BY:
        rc = single_get(m, id, sizeof(**a), addr_single, &item, err);
        if (rc == 0) {
            *a = item;
            *n = 1;
        }
        return rc;
    default:
        return EINVAL;
    }
}

int sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id, const struct sk_str **t, size_t *n,
                   struct sip_error *err)
{
    switch (id) {
    case SIP_HDR_SUPPORTED:
    case SIP_HDR_ALLOW:
        /* RFC 3261 §25.1: Supported and Allow may be empty (they list nothing) */
        return list_get(m, id, sizeof(**t), token_elem, true, (const void **) t, n, err);
    case SIP_HDR_REQUIRE:
    case SIP_HDR_PROXY_REQUIRE:
    case SIP_HDR_UNSUPPORTED:
    case SIP_HDR_ALLOW_EVENTS:
    case SIP_HDR_CONTENT_ENCODING:
    case SIP_HDR_CONTENT_LANGUAGE:
        return list_get(m, id, sizeof(**t), token_elem, false, (const void **) t, n, err);
    case SIP_HDR_ACCEPT_ENCODING:
    case SIP_HDR_ACCEPT_LANGUAGE:
        return list_get(m, id, sizeof(**t), token_param_elem, true, (const void **) t, n, err);
    case SIP_HDR_PRIVACY:
        return list_get(m, id, sizeof(**t), privacy_elem, false, (const void **) t, n, err);
    default:
        return EINVAL;
    }
}

int sip_msg_ctypes(struct sip_msg *m, enum sip_hdr_id id, const struct sip_ctype **c,
                   size_t *n, struct sip_error *err)
{
    const void *item;
    int rc;

    if (id == SIP_HDR_ACCEPT)
        return list_get(m, id, sizeof(**c), accept_elem, true, (const void **) c, n, err);
    if (id != SIP_HDR_CONTENT_TYPE)
        return EINVAL;
    rc = single_get(m, id, sizeof(**c), ctype_single, &item, err);
    if (rc == 0) {
        *c = item;
        *n = 1;
    }
    return rc;
}

int sip_msg_auths(struct sip_msg *m, enum sip_hdr_id id, const struct sip_auth **a, size_t *n,
                  struct sip_error *err)
{
    const struct sip_hdr *h;
    struct sip_auth *arr;
    size_t count = 0;
    struct sip_error e;

    if (id != SIP_HDR_AUTHORIZATION && id != SIP_HDR_PROXY_AUTHORIZATION &&
        id != SIP_HDR_WWW_AUTHENTICATE && id != SIP_HDR_PROXY_AUTHENTICATE)
        return EINVAL;
    if (m->cache_state[id])
        return cache_hit(m, id, (const void **) a, n, err);
    if (!(h = sip_msg_hdr(m, id)))
        return ENOENT;
    if (m->count[id] > m->limits->max_list_items) {
        sip_fail(&e, 513, "too many headers", 0);
        return cache_fail(m, id, h, &e, err);
    }
    arr = sk_arena_alloc(&m->arena, m->count[id] * sizeof(*arr));
    if (!arr)
        return ENOMEM;
    for (; h; h = sip_msg_hdr_next(m, h)) {
        if (sip_parse_auth(h->value, &arr[count], &e))
            return cache_fail(m, id, h, &e, err);
        count++;
    }
    cache_store(m, id, arr, count);
    *a = arr;
    *n = count;
    return 0;
}

static int uint_value(struct sk_str v, void *out, struct sip_error *err)
{
    return sip_parse_uint(v, UINT32_MAX, out, err, NULL);
}

static int min_se_value(struct sk_str v, void *out, struct sip_error *err)
{
    struct sip_session_expires se; /* Min-SE = delta-seconds *(SEMI generic-param) */
    if (sip_parse_session_expires(v, &se, err))
        return EBADMSG;
    *(uint32_t *) out = se.delta;
    return 0;
}

int sip_msg_uint(struct sip_msg *m, enum sip_hdr_id id, uint32_t *v, struct sip_error *err)
{
    const void *item;
    int rc;

    switch (id) {
    case SIP_HDR_MAX_FORWARDS:
        if (m->max_forwards < 0)
            return ENOENT;
        *v = (uint32_t) m->max_forwards;
        return 0;
    case SIP_HDR_CONTENT_LENGTH:
        if (m->content_length < 0)
            return ENOENT;
        *v = (uint32_t) m->content_length;
        return 0;
    case SIP_HDR_EXPIRES:
    case SIP_HDR_MIN_EXPIRES:
    case SIP_HDR_RSEQ:
        rc = single_get(m, id, sizeof(*v), uint_value, &item, err);
        break;
    case SIP_HDR_MIN_SE:
        rc = single_get(m, id, sizeof(*v), min_se_value, &item, err);
        break;
    default:
        return EINVAL;
    }
    if (rc == 0)
        *v = *(const uint32_t *) item;
    return rc;
}

#define SINGLE_ACCESSOR(fname, type, id, parser)                                           \
    static int fname##_value(struct sk_str v, void *out, struct sip_error *err)            \
    {                                                                                       \
        return parser(v, out, err);                                                         \
    }                                                                                       \
    int fname(struct sip_msg *m, const type **out, struct sip_error *err)                   \
    {                                                                                       \
        return single_get(m, id, sizeof(**out), fname##_value, (const void **) out, err);   \
    }

SINGLE_ACCESSOR(sip_msg_rack, struct sip_rack, SIP_HDR_RACK, sip_parse_rack)
SINGLE_ACCESSOR(sip_msg_event, struct sip_event, SIP_HDR_EVENT, sip_parse_event)
SINGLE_ACCESSOR(sip_msg_substate, struct sip_substate, SIP_HDR_SUBSCRIPTION_STATE,
                sip_parse_substate)
SINGLE_ACCESSOR(sip_msg_replaces, struct sip_replaces, SIP_HDR_REPLACES, sip_parse_replaces)
SINGLE_ACCESSOR(sip_msg_session_expires, struct sip_session_expires, SIP_HDR_SESSION_EXPIRES,
                sip_parse_session_expires)
SINGLE_ACCESSOR(sip_msg_retry_after, struct sip_retry_after, SIP_HDR_RETRY_AFTER,
                sip_parse_retry_after)
SINGLE_ACCESSOR(sip_msg_timestamp, struct sip_timestamp, SIP_HDR_TIMESTAMP,
                sip_parse_timestamp)

/* ---- Date: rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17) ---- */

static int month_index(const char *p)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++) {
        if (memcmp(months + 3 * i, p, 3) == 0)
            return i;
    }
    return -1;
}

static bool two_digits(const char *p, int *v)
{
    if (!sc_is(p[0], SC_DIGIT) || !sc_is(p[1], SC_DIGIT))
        return false;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return true;
}

static int date_value(struct sk_str v, void *out, struct sip_error *err)
{
    static const char wkdays[] = "MonTueWedThuFriSatSun";
    /* "Sat, 13 Nov 2010 23:29:00 GMT" is exactly 29 characters */
    const char *p = v.p;
    struct tm tm;
    int day, hh, mm, ss, cc, yy, mon;
    bool wk = false;

    if (v.len != 29)
        return sip_fail(err, 400, "not an RFC 1123 date", 0);
    for (int i = 0; i < 7; i++)
        wk = wk || memcmp(wkdays + 3 * i, p, 3) == 0;
    if (!wk || memcmp(p + 3, ", ", 2) != 0 || !two_digits(p + 5, &day) || p[7] != ' ' ||
        (mon = month_index(p + 8)) < 0 || p[11] != ' ' || !two_digits(p + 12, &cc) ||
        !two_digits(p + 14, &yy) || p[16] != ' ' || !two_digits(p + 17, &hh) ||
        p[19] != ':' || !two_digits(p + 20, &mm) || p[22] != ':' ||
        !two_digits(p + 23, &ss) || p[25] != ' ')
        return sip_fail(err, 400, "not an RFC 1123 date", 0);
    if (memcmp(p + 26, "GMT", 3) != 0)
        return sip_fail(err, 400, "time zone must be GMT", 26);
    {
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int year = cc * 100 + yy;
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap) || hh > 23 ||
            mm > 59 || ss > 60)
            return sip_fail(err, 400, "date out of range", 5);
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = cc * 100 + yy - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    *(time_t *) out = timegm(&tm);
    return 0;
}

int sip_msg_date(struct sip_msg *m, time_t *t, struct sip_error *err)
{
    const void *item;
    int rc = single_get(m, SIP_HDR_DATE, sizeof(*t), date_value, &item, err);
    if (rc == 0)
        *t = *(const time_t *) item;
    return rc;
}

int sip_msg_text(const struct sip_msg *m, enum sip_hdr_id id, struct sk_str *v)
{
    const struct sip_hdr *h = sip_msg_hdr(m, id);
    if (!h)
        return ENOENT;
    *v = h->value;
    return 0;
}
