/* libFuzzer target: SIP message parsing (both modes), accessors, print/re-parse round trip. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/error.h"
#include "sip/hdr.h"
#include "sip/limits.h"
#include "sip/msg.h"
#include "sip/print.h"
#include "sip/tp.h"
#include "sip/txn_key.h"
#include "sip/uri.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* Printed messages are re-parsed with these: canonical header names can make a
 * line or the message a little longer than the original, which is not a fault. */
static const struct sip_limits relaxed_limits = {
    .max_msg_size = 4 * SIP_DEFAULT_MAX_MSG_SIZE,
    .max_headers = SIP_MSG_HDR_CAP,
    .max_line_len = 4 * SIP_DEFAULT_MAX_LINE_LEN,
    .max_uri_len = 4 * SIP_DEFAULT_MAX_URI_LEN,
    .max_body_size = 4 * SIP_DEFAULT_MAX_BODY_SIZE,
    .max_list_items = 4 * SIP_DEFAULT_MAX_LIST_ITEMS,
};


static void touch_cstr(const char *s)
{
    if (s)
        touch(s, strlen(s));
}


/* The text a message was parsed from: every slice must lie inside it. */
struct span {
    uintptr_t lo, hi;
};

static struct span span_of(const char *p, size_t n)
{
    struct span s = {(uintptr_t) p, (uintptr_t) p + n};
    return s;
}

static void slice(struct span sp, struct sk_str s)
{
    uintptr_t a;

    if (s.len == 0)
        return;
    CHECK(s.p != NULL, "slice with a length but no pointer");
    a = (uintptr_t) s.p;
    CHECK(a >= sp.lo && a <= sp.hi && s.len <= sp.hi - a, "slice outside the message text");
    touch(s.p, s.len);
}

static void check_err(const struct sip_error *e, size_t maxpos)
{
    CHECK(e->reason != NULL, "error without a reason");
    touch_cstr(e->reason);
    CHECK(e->status >= 400 && e->status <= 599, "error status is not 4xx/5xx");
    CHECK(e->pos <= maxpos, "error position past the end of the input");
}

static bool has_nul(struct sk_str s)
{
    return s.len && memchr(s.p, '\0', s.len) != NULL;
}

/* Walk a ";name=value" list; every name found must be found again by name. */
static void check_params(struct span sp, struct sk_str params)
{
    struct sk_str rest = params, name, value, again;
    char cname[128];

    slice(sp, params);
    for (;;) {
        size_t before = rest.len;

        if (!sip_param_next(&rest, &name, &value))
            break;
        CHECK(rest.len < before, "sip_param_next returned a parameter without progress");
        slice(sp, name);
        slice(sp, value);
        if (name.len > 0 && name.len < sizeof(cname) && !has_nul(name)) {
            sk_str_copy(cname, sizeof(cname), name);
            CHECK(sip_param_get(params, cname, &again),
                  "sip_param_get misses a parameter that sip_param_next returned");
            slice(sp, again);
        }
    }
}

static void check_unescape(struct sk_str s)
{
    struct sk_buf b;

    if (!s.len)
        return;
    sk_buf_init(&b);
    if (sip_unescape(&b, s) == 0) {
        CHECK(b.len <= s.len, "sip_unescape output longer than its input");
        touch(b.p, b.len);
    }
    sk_buf_free(&b);
}


static void check_uri(struct span sp, const struct sip_uri *u)
{
    static const char *const names[] = {"transport", "user", "method", "ttl", "maddr", "lr",
                                        "comp", "gr", "ob", "phone-context", "isub", "ext",
                                        "tag", "x"};
    struct sk_str v;

    slice(sp, u->raw);
    slice(sp, u->scheme_str);
    slice(sp, u->user);
    slice(sp, u->password);
    slice(sp, u->host);
    slice(sp, u->params);
    slice(sp, u->headers);
    slice(sp, u->opaque);
    slice(sp, u->transport);
    slice(sp, u->user_param);
    slice(sp, u->maddr);
    slice(sp, u->method);
    slice(sp, u->ttl);
    CHECK(sip_uri_equal(u, u), "sip_uri_equal(u, u) is false");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (sip_uri_param(u, names[i], &v))
            slice(sp, v);
    if (u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS)
        check_params(sp, u->params);
    sink += sip_uri_default_port(u);
    check_unescape(u->user);
    check_unescape(u->password);
    check_unescape(u->host);
    check_unescape(u->headers);
}

/* URIs met in one message, compared pairwise (symmetry). */
#define MAX_URIS 24
struct uri_set {
    const struct sip_uri *u[MAX_URIS];
    size_t n;
};

static void uri_add(struct uri_set *s, const struct sip_uri *u)
{
    if (s->n < MAX_URIS)
        s->u[s->n++] = u;
}

static void check_via(struct span sp, const struct sip_via *v)
{
    struct sk_buf b;
    struct sk_sa src;

    slice(sp, v->raw);
    slice(sp, v->protocol);
    slice(sp, v->version);
    slice(sp, v->transport);
    slice(sp, v->host);
    slice(sp, v->branch);
    slice(sp, v->received);
    slice(sp, v->maddr);
    slice(sp, v->ttl);
    check_params(sp, v->params);
    sink += v->port + v->rport + v->host_type;

    sk_buf_init(&b);
    CHECK(sip_print_via(&b, v, NULL) == 0 || b.failed, "sip_print_via failed");
    touch(b.p, b.len);
    sk_buf_reset(&b);
    if (sk_sa_from_ip(&src, SK_STR_LIT("198.51.100.9"), 5062) == 0) {
        CHECK(sip_print_via(&b, v, &src) == 0 || b.failed, "sip_print_via failed");
        touch(b.p, b.len);
    }
    sk_buf_free(&b);
}

static void check_addr(struct span sp, const struct sip_addr *a, struct uri_set *us)
{
    slice(sp, a->raw);
    slice(sp, a->display);
    slice(sp, a->tag);
    check_params(sp, a->params);
    CHECK(a->q >= -1 && a->q <= 1000, "Contact q outside -1..1000");
    CHECK(a->expires >= -1 && a->expires <= (int64_t) UINT32_MAX,
          "Contact expires outside -1..2^32-1");
    if (a->display_quoted && a->display.len) {
        struct sk_buf b;

        sk_buf_init(&b);
        if (sip_unquote(&b, a->display) == 0) {
            CHECK(b.len <= a->display.len, "sip_unquote output longer than its input");
            touch(b.p, b.len);
        }
        sk_buf_free(&b);
    }
    if (!a->star) {
        check_uri(sp, &a->uri);
        uri_add(us, &a->uri);
    }
}

static void check_ctype(struct span sp, const struct sip_ctype *c)
{
    slice(sp, c->type);
    slice(sp, c->subtype);
    check_params(sp, c->params);
}

static void check_auth(struct span sp, const struct sip_auth *a)
{
    const struct sk_str f[] = {a->scheme, a->params, a->username, a->realm, a->nonce,
                               a->uri, a->response, a->algorithm, a->cnonce, a->opaque,
                               a->qop, a->nc, a->stale, a->domain, a->userhash};

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        slice(sp, f[i]);
}

/* The return code of an accessor, called twice (the second answer comes from the cache). */
static void check_rc(const struct sip_msg *m, enum sip_hdr_id id, int rc, int rc2,
                     const struct sip_error *e, const struct sip_error *e2)
{
    bool ok = (rc == 0 || rc == ENOENT || rc == EBADMSG || rc == ENOMEM) && rc == rc2 &&
              (m->count[id] != 0 || rc == ENOENT);

    if (!ok)
        fprintf(stderr, "fuzz_msg: accessor for %s returned %d then %d (%s)\n",
                id == SIP_HDR_OTHER ? "?" : sip_hdr_name(id), rc, rc2, strerror(rc));
    CHECK(rc == 0 || rc == ENOENT || rc == EBADMSG || rc == ENOMEM,
          "accessor returned a code outside 0/ENOENT/EBADMSG/ENOMEM");
    CHECK(rc == rc2, "accessor gives a different answer the second time");
    if (m->count[id] == 0)
        CHECK(rc == ENOENT, "accessor did not return ENOENT for an absent header");
    if (rc == EBADMSG) {
        check_err(e, m->len);
        CHECK(e2->status == e->status && e2->pos == e->pos,
              "accessor gives a different error the second time");
    }
}

/* One accessor call pair; T is the element type, CALL the call with (&items, &n, &err). */
#define LIST_ACCESSOR(T, CALL1, CALL2, ID, EACH)                                 \
    do {                                                                         \
        const T *it1 = NULL, *it2 = NULL;                                        \
        size_t n1 = 0, n2 = 0;                                                   \
        struct sip_error e1 = {0}, e2 = {0};                                     \
        int rc1 = CALL1, rc2_ = CALL2;                                           \
        check_rc(m, (ID), rc1, rc2_, &e1, &e2);                                  \
        if (rc1 == 0) {                                                          \
            CHECK(n1 == n2 && it1 == it2, "cached list differs from the first"); \
            CHECK(n1 == 0 || it1 != NULL, "list with elements but no pointer");  \
            for (size_t i_ = 0; i_ < n1; i_++) {                                 \
                const T *x = &it1[i_];                                           \
                EACH;                                                            \
            }                                                                    \
        }                                                                        \
    } while (0)

#define ONE_ACCESSOR(T, FN, EACH)                                                \
    do {                                                                         \
        const T *x1 = NULL, *x2 = NULL;                                          \
        struct sip_error e1 = {0}, e2 = {0};                                     \
        int rc1 = FN(m, &x1, &e1), rc2_ = FN(m, &x2, &e2);                       \
        (void) rc2_;                                                             \
        check_rc(m, id_, rc1, rc2_, &e1, &e2);                                   \
        if (rc1 == 0) {                                                          \
            const T *x = x1;                                                     \
            CHECK(x1 != NULL && x1 == x2, "cached value differs from the first"); \
            EACH;                                                                \
        }                                                                        \
    } while (0)

static const enum sip_hdr_id addr_ids[] = {
    SIP_HDR_CONTACT, SIP_HDR_ROUTE,    SIP_HDR_RECORD_ROUTE, SIP_HDR_PATH,
    SIP_HDR_P_ASSERTED_IDENTITY, SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_REPLY_TO,
    SIP_HDR_REFER_TO, SIP_HDR_REFERRED_BY,
};
static const enum sip_hdr_id token_ids[] = {
    SIP_HDR_REQUIRE,          SIP_HDR_SUPPORTED,       SIP_HDR_PROXY_REQUIRE,
    SIP_HDR_UNSUPPORTED,      SIP_HDR_ALLOW,           SIP_HDR_ALLOW_EVENTS,
    SIP_HDR_CONTENT_ENCODING, SIP_HDR_CONTENT_LANGUAGE, SIP_HDR_ACCEPT_ENCODING,
    SIP_HDR_ACCEPT_LANGUAGE,  SIP_HDR_PRIVACY,
};
static const enum sip_hdr_id ctype_ids[] = {SIP_HDR_ACCEPT, SIP_HDR_CONTENT_TYPE};
static const enum sip_hdr_id auth_ids[] = {SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION,
                                           SIP_HDR_WWW_AUTHENTICATE,
                                           SIP_HDR_PROXY_AUTHENTICATE};
static const enum sip_hdr_id uint_ids[] = {SIP_HDR_EXPIRES, SIP_HDR_MIN_EXPIRES,
                                           SIP_HDR_MIN_SE,  SIP_HDR_RSEQ,
                                           SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH};


static void check_accessors(struct sip_msg *m, struct span sp, struct uri_set *us)
{
    enum sip_hdr_id id_;

    id_ = SIP_HDR_VIA;
    LIST_ACCESSOR(struct sip_via, sip_msg_vias(m, &it1, &n1, &e1),
                  sip_msg_vias(m, &it2, &n2, &e2), SIP_HDR_VIA, check_via(sp, x));

    for (size_t k = 0; k < NELEM(addr_ids); k++) {
        id_ = addr_ids[k];
        LIST_ACCESSOR(struct sip_addr, sip_msg_addrs(m, id_, &it1, &n1, &e1),
                      sip_msg_addrs(m, id_, &it2, &n2, &e2), id_, check_addr(sp, x, us));
    }
    for (size_t k = 0; k < NELEM(token_ids); k++) {
        id_ = token_ids[k];
        LIST_ACCESSOR(struct sk_str, sip_msg_tokens(m, id_, &it1, &n1, &e1),
                      sip_msg_tokens(m, id_, &it2, &n2, &e2), id_, slice(sp, *x));
    }
    for (size_t k = 0; k < NELEM(ctype_ids); k++) {
        id_ = ctype_ids[k];
        LIST_ACCESSOR(struct sip_ctype, sip_msg_ctypes(m, id_, &it1, &n1, &e1),
                      sip_msg_ctypes(m, id_, &it2, &n2, &e2), id_, check_ctype(sp, x));
    }
    for (size_t k = 0; k < NELEM(auth_ids); k++) {
        id_ = auth_ids[k];
        LIST_ACCESSOR(struct sip_auth, sip_msg_auths(m, id_, &it1, &n1, &e1),
                      sip_msg_auths(m, id_, &it2, &n2, &e2), id_, check_auth(sp, x));
    }
    for (size_t k = 0; k < NELEM(uint_ids); k++) {
        uint32_t v1 = 0, v2 = 0;
        struct sip_error e1 = {0}, e2 = {0};
        int rc1, rc2;

        id_ = uint_ids[k];
        rc1 = sip_msg_uint(m, id_, &v1, &e1);
        rc2 = sip_msg_uint(m, id_, &v2, &e2);
        check_rc(m, id_, rc1, rc2, &e1, &e2);
        if (rc1 == 0) {
            CHECK(v1 == v2, "cached number differs from the first");
            if (id_ == SIP_HDR_CONTENT_LENGTH && m->content_length >= 0)
                CHECK((int64_t) v1 == m->content_length,
                      "sip_msg_uint(Content-Length) differs from m->content_length");
            if (id_ == SIP_HDR_MAX_FORWARDS && m->max_forwards >= 0)
                CHECK((int64_t) v1 == m->max_forwards,
                      "sip_msg_uint(Max-Forwards) differs from m->max_forwards");
        }
    }

    id_ = SIP_HDR_RACK;
    ONE_ACCESSOR(struct sip_rack, sip_msg_rack, slice(sp, x->method));
    id_ = SIP_HDR_EVENT;
    ONE_ACCESSOR(struct sip_event, sip_msg_event, {
        slice(sp, x->package);
        slice(sp, x->id);
        check_params(sp, x->params);
    });
    id_ = SIP_HDR_SUBSCRIPTION_STATE;
    ONE_ACCESSOR(struct sip_substate, sip_msg_substate, {
        slice(sp, x->state);
        slice(sp, x->reason);
        check_params(sp, x->params);
        CHECK(x->expires >= -1 && x->retry_after >= -1,
              "Subscription-State expires/retry-after below -1");
    });
    id_ = SIP_HDR_REPLACES;
    ONE_ACCESSOR(struct sip_replaces, sip_msg_replaces, {
        slice(sp, x->call_id);
        slice(sp, x->to_tag);
        slice(sp, x->from_tag);
        check_params(sp, x->params);
    });
    id_ = SIP_HDR_SESSION_EXPIRES;
    ONE_ACCESSOR(struct sip_session_expires, sip_msg_session_expires, {
        slice(sp, x->refresher);
        check_params(sp, x->params);
    });
    id_ = SIP_HDR_RETRY_AFTER;
    ONE_ACCESSOR(struct sip_retry_after, sip_msg_retry_after, {
        slice(sp, x->comment);
        check_params(sp, x->params);
        CHECK(x->duration >= -1, "Retry-After duration below -1");
    });
    id_ = SIP_HDR_TIMESTAMP;
    ONE_ACCESSOR(struct sip_timestamp, sip_msg_timestamp, {
        slice(sp, x->value);
        slice(sp, x->delay);
    });

    {
        time_t t1 = 0, t2 = 0;
        struct sip_error e1 = {0}, e2 = {0};
        int rc1 = sip_msg_date(m, &t1, &e1), rc2 = sip_msg_date(m, &t2, &e2);

        check_rc(m, SIP_HDR_DATE, rc1, rc2, &e1, &e2);
        if (rc1 == 0)
            CHECK(t1 == t2, "cached Date differs from the first");
    }

    for (int id = 0; id < SIP_HDR__COUNT; id++) {
        struct sk_str v = SK_STR_NULL;
        int rc = sip_msg_text(m, (enum sip_hdr_id) id, &v);

        CHECK(rc == 0 || rc == ENOENT, "sip_msg_text returned neither 0 nor ENOENT");
        if (id != SIP_HDR_OTHER && m->count[id] == 0)
            CHECK(rc == ENOENT, "sip_msg_text found an absent header");
        if (rc == 0)
            slice(sp, v);
    }
}

/* The header index: names, ids, per-id chains, lookups by name. */
static void check_index(const struct sip_msg *m, struct span sp)
{
    size_t known = 0, chained = 0;
    char cname[128];

    CHECK(m->nhdr <= SIP_MSG_HDR_CAP, "nhdr above SIP_MSG_HDR_CAP");
    for (size_t i = 0; i < m->nhdr; i++) {
        const struct sip_hdr *h = &m->hdr[i];

        CHECK(h->id < SIP_HDR__COUNT, "header id out of range");
        slice(sp, h->name);
        slice(sp, h->value);
        CHECK(h->name.len > 0, "header with an empty name");
        CHECK(sip_hdr_lookup(h->name.p, h->name.len) == (enum sip_hdr_id) h->id,
              "header id differs from sip_hdr_lookup(name)");
        touch_cstr(sip_hdr_name((enum sip_hdr_id) h->id));
        sink += sip_hdr_flags((enum sip_hdr_id) h->id);
        if (h->id != SIP_HDR_OTHER)
            known++;
        if (h->name.len < sizeof(cname) && !has_nul(h->name)) {
            const struct sip_hdr *f;

            sk_str_copy(cname, sizeof(cname), h->name);
            f = sip_msg_hdr_by_name(m, cname);
            CHECK(f != NULL, "sip_msg_hdr_by_name misses a header that is there");
            CHECK(f->id == h->id, "sip_msg_hdr_by_name found a header with another id");
        }
    }
    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        const struct sip_hdr *h = sip_msg_hdr(m, (enum sip_hdr_id) id);
        size_t n = 0;
        long last = -1;

        CHECK((h == NULL) == (m->count[id] == 0), "sip_msg_hdr disagrees with count[]");
        for (; h; h = sip_msg_hdr_next(m, h)) {
            long idx = (long) (h - m->hdr);

            CHECK(idx > last && idx < (long) m->nhdr, "header chain out of order or range");
            CHECK(h->id == id, "header chain holds another id");
            last = idx;
            n++;
            CHECK(n <= m->nhdr, "header chain longer than the index");
        }
        CHECK(n == m->count[id], "header chain length differs from count[]");
        chained += n;
    }
    CHECK(chained == known, "chains do not cover every known header");
}

/* Eager fields and the start line. */
static void check_eager(const struct sip_msg *m, struct span sp, struct uri_set *us)
{
    slice(sp, m->version);
    slice(sp, m->body);
    if (m->is_request) {
        slice(sp, m->method);
        slice(sp, m->ruri_raw);
        CHECK(sip_method_lookup(m->method) == m->method_id,
              "method_id differs from sip_method_lookup(method)");
        touch_cstr(sip_method_name(m->method_id));
        check_uri(sp, &m->ruri);
        uri_add(us, &m->ruri);
    } else {
        slice(sp, m->reason);
        touch_cstr(sip_reason_phrase(m->status));
    }
    if (m->has_via)
        check_via(sp, &m->via);
    if (m->has_from)
        check_addr(sp, &m->from, us);
    if (m->has_to)
        check_addr(sp, &m->to, us);
    if (m->has_call_id)
        slice(sp, m->call_id);
    if (m->has_cseq) {
        slice(sp, m->cseq.method);
        CHECK(m->cseq.num < 0x80000000u, "CSeq number not below 2^31");
    }
    CHECK(m->max_forwards >= -1, "max_forwards below -1");
    CHECK(m->content_length >= -1, "content_length below -1");
    if (m->content_length >= 0)
        CHECK(m->body.len == (uint64_t) m->content_length,
              "body length differs from Content-Length");
}

static void check_uri_pairs(const struct uri_set *us)
{
    for (size_t i = 0; i < us->n; i++)
        for (size_t j = i + 1; j < us->n; j++)
            CHECK(sip_uri_equal(us->u[i], us->u[j]) == sip_uri_equal(us->u[j], us->u[i]),
                  "sip_uri_equal is not symmetric");
}

static bool str_same(struct sk_str a, struct sk_str b)
{
    return sk_str_isset(a) == sk_str_isset(b) && sk_str_eq(a, b);
}

/* m2 was parsed from sip_msg_print(m): "parsing the output gives the same structure". */
static void compare_reparsed(const struct sip_msg *m, const struct sip_msg *m2)
{
    size_t i = 0, j = 0;

    CHECK(m2->is_request == m->is_request, "re-parsed message changed kind");
    if (m->is_request) {
        CHECK(sk_str_eq(m2->method, m->method), "re-parsed method differs");
        CHECK(m2->method_id == m->method_id, "re-parsed method id differs");
        CHECK(sk_str_eq(m2->ruri_raw, m->ruri_raw), "re-parsed Request-URI differs");
        CHECK(sip_uri_equal(&m->ruri, &m2->ruri) && sip_uri_equal(&m2->ruri, &m->ruri),
              "re-parsed Request-URI does not compare equal");
    } else {
        CHECK(m2->status == m->status, "re-parsed status differs");
    }
    CHECK(m2->version_major == m->version_major && m2->version_minor == m->version_minor,
          "re-parsed version differs");
    CHECK(sk_str_eq(m2->body, m->body), "re-parsed body differs");
    CHECK(m2->has_via == m->has_via && m2->has_from == m->has_from &&
              m2->has_to == m->has_to && m2->has_call_id == m->has_call_id &&
              m2->has_cseq == m->has_cseq,
          "re-parsed message gained or lost a mandatory header");
    if (m->has_call_id)
        CHECK(sk_str_eq(m2->call_id, m->call_id), "re-parsed Call-ID differs");
    if (m->has_cseq)
        CHECK(m2->cseq.num == m->cseq.num && sk_str_eq(m2->cseq.method, m->cseq.method),
              "re-parsed CSeq differs");
    if (m->has_from)
        CHECK(str_same(m2->from.tag, m->from.tag), "re-parsed From tag differs");
    if (m->has_to)
        CHECK(str_same(m2->to.tag, m->to.tag), "re-parsed To tag differs");
    if (m->has_via)
        CHECK(str_same(m2->via.branch, m->via.branch), "re-parsed top Via branch differs");
    CHECK(m2->max_forwards == m->max_forwards, "re-parsed Max-Forwards differs");
    /* Same headers in the same order, apart from Content-Length which print sets. */
    for (;;) {
        while (i < m->nhdr && m->hdr[i].id == SIP_HDR_CONTENT_LENGTH)
            i++;
        while (j < m2->nhdr && m2->hdr[j].id == SIP_HDR_CONTENT_LENGTH)
            j++;
        if (i == m->nhdr || j == m2->nhdr)
            break;
        CHECK(m->hdr[i].id == m2->hdr[j].id, "re-parsed header order or ids differ");
        if (m->hdr[i].id == SIP_HDR_OTHER)
            CHECK(sk_str_ieq(m->hdr[i].name, m2->hdr[j].name),
                  "re-parsed unknown header name differs");
        i++;
        j++;
    }
    CHECK(i == m->nhdr && j == m2->nhdr, "re-parsed header count differs");
    CHECK(m2->count[SIP_HDR_CONTENT_LENGTH] == 1, "printed message without one Content-Length");
}

/* Parse an exact copy of text in datagram mode; the caller releases m. */
static int parse_copy(struct sip_msg *m, const char *text, size_t len, char **copy,
                      size_t *consumed, struct sip_error *err)
{
    *copy = dup_exact(text, len);
    sip_msg_init(m);
    return sip_msg_parse(m, *copy, len, SIP_PARSE_DATAGRAM, &relaxed_limits, consumed, err);
}

static void check_print(struct sip_msg *m, bool valid)
{
    struct sk_buf out, again;
    struct sip_msg *m2;
    struct sip_error err = {0};
    size_t consumed = 0;
    char *copy = NULL;
    int rc;

    sk_buf_init(&out);
    rc = sip_msg_print(m, &out);
    CHECK(rc == 0 || rc == ENOMEM, "sip_msg_print returned neither 0 nor ENOMEM");
    if (rc != 0 || out.failed) {
        sk_buf_free(&out);
        return;
    }
    touch(out.p, out.len);

    /* The same output into a buffer that just fits, and one byte short of it. */
    sk_buf_init(&again);
    again.max = out.len;
    rc = sip_msg_print(m, &again);
    CHECK(rc == 0 && !again.failed && again.len == out.len &&
              memcmp(again.p, out.p, out.len) == 0,
          "sip_msg_print differs when the buffer just fits");
    sk_buf_free(&again);
    if (out.len > 1) {
        sk_buf_init(&again);
        again.max = out.len - 1;
        rc = sip_msg_print(m, &again);
        CHECK(rc != 0 && again.failed, "sip_msg_print did not fail on a buffer too small");
        sk_buf_free(&again);
    }

    m2 = malloc(sizeof(*m2));
    if (!m2)
        abort();
    rc = parse_copy(m2, out.p, out.len, &copy, &consumed, &err);
    if (valid) {
        if (rc != 0)
            fprintf(stderr, "fuzz_msg: re-parse failed: %d %s at %zu\n", err.status,
                    err.reason ? err.reason : "?", err.pos);
        CHECK(rc == 0, "a valid message, printed, does not parse");
        CHECK(consumed == out.len, "printed message not consumed whole");
        CHECK(sip_msg_validate(m2, &err) == 0, "a valid message, printed, does not validate");
        compare_reparsed(m, m2);
        /* Printing is canonical: a second round gives the same bytes. */
        sk_buf_init(&again);
        rc = sip_msg_print(m2, &again);
        CHECK(rc == 0 && again.len == out.len && memcmp(again.p, out.p, out.len) == 0,
              "printing the re-parsed message gives different bytes");
        sk_buf_free(&again);
    } else if (rc == 0) {
        struct uri_set us = {0};

        check_index(m2, span_of(m2->buf, m2->len));
        check_eager(m2, span_of(m2->buf, m2->len), &us);
    }
    sip_msg_release(m2);
    free(m2);
    free(copy);
    sk_buf_free(&out);
}

/* A response to request m (RFC 3261 §8.2.6.2), then re-parsed. With received set,
 * it is built by sip_print_response_head_rx from the top Via and that source. */
static void check_response(struct sip_msg *m, bool valid, int code, struct sk_str to_tag,
                           const struct sk_sa *received)
{
    struct sk_buf out;
    struct sip_msg *r;
    struct sip_error err = {0};
    size_t consumed = 0;
    char *copy = NULL;
    const char *reason = sip_reason_phrase(code);
    int rc;

    CHECK(reason != NULL, "sip_reason_phrase returned NULL");
    sk_buf_init(&out);
    if (received && m->has_via)
        rc = sip_print_response_head_rx(&out, m, &m->via, received, code, reason, to_tag);
    else
        rc = sip_print_response_head(&out, m, code, reason, to_tag);
    if (rc == 0)
        rc = sip_print_body(&out, m->body.len ? SK_STR_LIT("application/sdp") : SK_STR_NULL,
                            m->body);
    CHECK(rc == 0 || rc == ENOMEM || !valid,
          "printing a response to a valid request failed");
    if (rc != 0 || out.failed) {
        sk_buf_free(&out);
        return;
    }
    touch(out.p, out.len);
    r = malloc(sizeof(*r));
    if (!r)
        abort();
    rc = parse_copy(r, out.p, out.len, &copy, &consumed, &err);
    if (valid) {
        if (rc != 0)
            fprintf(stderr, "fuzz_msg: response parse failed: %d %s at %zu\n", err.status,
                    err.reason ? err.reason : "?", err.pos);
        CHECK(rc == 0, "a response to a valid request does not parse");
        CHECK(consumed == out.len, "response not consumed whole");
        CHECK(!r->is_request && r->status == code, "response has another status");
        CHECK(sip_msg_validate(r, &err) == 0, "a response to a valid request does not validate");
        CHECK(sk_str_eq(r->body, m->body), "response body differs from the one printed");
        CHECK(sk_str_eq(r->call_id, m->call_id), "response Call-ID differs");
        CHECK(r->cseq.num == m->cseq.num && sk_str_eq(r->cseq.method, m->cseq.method),
              "response CSeq differs");
        CHECK(r->has_via && r->has_from && r->has_to, "response lost Via, From or To");
        if (sk_str_isset(m->to.tag))
            CHECK(sk_str_eq(r->to.tag, m->to.tag), "response changed the To tag");
        else if (sk_str_isset(to_tag) && code > 100) /* 100 Trying: MAY carry one */
            CHECK(sk_str_eq(r->to.tag, to_tag), "response To lacks the tag asked for");
        CHECK(str_same(r->via.branch, m->via.branch), "response top Via has another branch");
        if (m->method_id != SIP_METHOD_ACK) { /* an ACK is answered by nobody */
            struct sip_txn_key kq, kr, cq, cr;
            /* §17.2.3 / §17.1.3: the response finds the request's transactions */
            if (sip_txn_key_server(m, &kq) == 0) {
                CHECK(sip_txn_key_server_of_response(r, &kr) == 0 && sip_txn_key_equal(&kq, &kr) &&
                          sip_txn_key_hash(&kq) == sip_txn_key_hash(&kr),
                      "a response's server key is not its request's");
            }
            CHECK(sip_txn_key_client(m, &cq) == 0 && sip_txn_key_client(r, &cr) == 0 &&
                      sip_txn_key_equal(&cq, &cr),
                  "a response's client key is not its request's");
        }
        if (received && m->via.has_rport)
            CHECK(r->via.has_rport && r->via.rport_has_value &&
                      r->via.rport == sk_sa_port(received),
                  "response to a Via with rport lacks rport=<source port>");
        {
            const struct sip_via *v1 = NULL, *v2 = NULL;
            size_t n1 = 0, n2 = 0;
            struct sip_error e1, e2;

            if (sip_msg_vias(m, &v1, &n1, &e1) == 0 && sip_msg_vias(r, &v2, &n2, &e2) == 0)
                CHECK(n1 == n2, "response holds another number of Vias");
        }
    }
    sip_msg_release(r);
    free(r);
    free(copy);
    sk_buf_free(&out);
}

/* The transaction keys of any message: slices into it, equal to themselves and
 * printable; the same key twice hashes the same. */
static void check_key(struct span sp, int rc, const struct sip_txn_key *k,
                      const struct sip_txn_key *again)
{
    struct sk_buf b;

    if (rc != 0)
        return;
    slice(sp, k->branch);
    slice(sp, k->host);
    slice(sp, k->ruri);
    slice(sp, k->from_tag);
    slice(sp, k->call_id);
    slice(sp, k->to_tag);
    CHECK(sip_txn_key_equal(k, k) && sip_txn_key_equal(k, again), "a key differs from itself");
    CHECK(sip_txn_key_hash(k) == sip_txn_key_hash(again), "a key hashes two ways");
    CHECK(sip_txn_key_to_tag_ok(k, k->to_tag), "a key's To tag is not its own");
    sk_buf_init(&b);
    CHECK(sip_txn_key_print(k, &b) == 0 || b.failed, "printing a key failed");
    touch(b.p, b.len);
    sk_buf_free(&b);
}

static void check_txn_keys(const struct sip_msg *m, struct span sp)
{
    struct sip_txn_key k, k2;
    int rc;

    if (m->is_request) {
        rc = sip_txn_key_server(m, &k);
        CHECK(sip_txn_key_server(m, &k2) == rc, "sip_txn_key_server is not a function");
        check_key(sp, rc, &k, &k2);
        rc = sip_txn_key_cancel_target(m, &k);
        CHECK((rc == EINVAL) == (m->method_id != SIP_METHOD_CANCEL),
              "a CANCEL target for a request that is no CANCEL");
        if (sip_txn_key_cancel_target(m, &k2) == 0)
            check_key(sp, rc, &k, &k2);
    } else {
        rc = sip_txn_key_server_of_response(m, &k);
        if (sip_txn_key_server_of_response(m, &k2) == 0)
            check_key(sp, rc, &k, &k2);
    }
    rc = sip_txn_key_client(m, &k);
    if (sip_txn_key_client(m, &k2) == 0)
        check_key(sp, rc, &k, &k2);
}

/* Everything on one parsed message; m->buf..m->buf+len is its text. */
static void check_message(struct sip_msg *m)
{
    struct span sp = span_of(m->buf, m->len);
    struct uri_set us = {0};
    struct sip_error err = {0};
    bool valid;

    check_index(m, sp);
    check_eager(m, sp, &us);
    check_txn_keys(m, sp);
    valid = sip_msg_validate(m, &err) == 0;
    if (!valid)
        check_err(&err, m->len);
    else
        CHECK(m->version_major == 2 && m->version_minor == 0,
              "a message that validates is not SIP/2.0");
    check_accessors(m, sp, &us);
    check_uri_pairs(&us);
    {
        struct sip_error errs[4];
        size_t found = sip_msg_check_headers(m, errs, NELEM(errs));

        CHECK(sip_msg_check_headers(m, NULL, 0) == found,
              "sip_msg_check_headers counts differently without room for errors");
        for (size_t i = 0; i < found && i < NELEM(errs); i++)
            check_err(&errs[i], m->len);
    }
    check_print(m, valid);
    if (m->is_request) {
        static const int codes[] = {100, 180, 200, 302, 401, 486, 503, 606};

        struct sk_sa src4, src6;

        if (sk_sa_from_ip(&src4, SK_STR_LIT("192.0.2.1"), 5070) != 0 ||
            sk_sa_from_ip(&src6, SK_STR_LIT("2001:db8::1"), 6060) != 0)
            abort();
        check_response(m, valid, codes[m->len % NELEM(codes)], SK_STR_LIT("fz8tag"), NULL);
        check_response(m, valid, 404, SK_STR_NULL, NULL);
        check_response(m, valid, 200, SK_STR_LIT("fz8tag"), (m->len & 1) ? &src6 : &src4);
    }
}

static void check_parse_result(int rc, const struct sip_msg *m, const char *buf, size_t len,
                               size_t consumed, const struct sip_error *err)
{
    if (rc == 0) {
        uintptr_t b = (uintptr_t) m->buf, lo = (uintptr_t) buf;

        CHECK(consumed > 0 && consumed <= len, "consumed outside 1..len");
        CHECK(m->buf != NULL && b >= lo && m->len <= len && b - lo <= len - m->len,
              "message outside its buffer");
        CHECK(m->len > 0, "empty message");
    } else if (rc == EBADMSG) {
        check_err(err, len);
    }
}

/* Stream mode: every strict prefix of a complete message is "not yet" (EAGAIN),
 * and the message alone parses the same as with the rest of the stream behind it. */
static void check_prefixes(const char *msg, size_t c, size_t mlen)
{
    struct sip_msg *m = malloc(sizeof(*m));
    size_t cuts[3], consumed = 0;
    struct sip_error err = {0};
    char *copy;
    int rc;

    if (!m)
        abort();
    copy = dup_exact(msg, c);
    sip_msg_init(m);
    rc = sip_msg_parse(m, copy, c, SIP_PARSE_STREAM, NULL, &consumed, &err);
    CHECK(rc == 0 && consumed == c && m->len == mlen,
          "stream message does not parse the same on its own");
    sip_msg_release(m);
    free(copy);

    cuts[0] = c - 1;
    cuts[1] = c / 2;
    cuts[2] = (c * 7) / 8;
    for (size_t k = 0; k < NELEM(cuts); k++) {
        size_t n = cuts[k];

        if (n >= c)
            continue;
        copy = dup_exact(msg, n);
        sip_msg_init(m);
        rc = sip_msg_parse(m, copy, n, SIP_PARSE_STREAM, NULL, &consumed, &err);
        if (rc != EAGAIN)
            fprintf(stderr, "fuzz_msg: prefix of %zu/%zu bytes gave %d (%d %s at %zu)\n", n, c,
                    rc, rc == EBADMSG ? err.status : 0,
                    rc == EBADMSG && err.reason ? err.reason : "", err.pos);
        CHECK(rc == EAGAIN, "a strict prefix of a stream message is not EAGAIN");
        sip_msg_release(m);
        free(copy);
    }
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = dup_exact(data, size);
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error err = {0};
    size_t consumed = 0, off = 0, dg_len = 0;
    int rc, dg_rc;

    if (!m)
        abort();

    /* One datagram. */
    sip_msg_init(m);
    dg_rc = sip_msg_parse(m, buf, size, SIP_PARSE_DATAGRAM, NULL, &consumed, &err);
    CHECK(dg_rc == 0 || dg_rc == EBADMSG || dg_rc == ENOMEM,
          "datagram parse returned neither 0, EBADMSG nor ENOMEM");
    check_parse_result(dg_rc, m, buf, size, consumed, &err);
    if (dg_rc == 0) {
        dg_len = m->len;
        check_message(m);
    }
    sip_msg_release(m);

    /* A stream: messages one after the other, the struct reused between them. */
    sip_msg_init(m);
    for (;;) {
        const char *at = buf + off;
        size_t left = size - off;

        consumed = 0;
        memset(&err, 0, sizeof(err));
        rc = sip_msg_parse(m, at, left, SIP_PARSE_STREAM, NULL, &consumed, &err);
        CHECK(rc == 0 || rc == EAGAIN || rc == EBADMSG || rc == ENOMEM,
              "stream parse returned neither 0, EAGAIN, EBADMSG nor ENOMEM");
        check_parse_result(rc, m, at, left, consumed, &err);
        if (rc != 0 || consumed == 0)
            break;
        CHECK(consumed == (size_t) (m->buf - at) + m->len,
              "stream consumed differs from leading CRLFs + message length");
        if (off == 0 && size <= SIP_DEFAULT_MAX_MSG_SIZE)
            CHECK(dg_rc == 0 && dg_len == m->len,
                  "parses as a stream message but not the same as a datagram");
        check_message(m);
        check_prefixes(at, consumed, m->len);
        off += consumed;
    }
    sip_msg_release(m);

    free(m);
    free(buf);
    return 0;
}
