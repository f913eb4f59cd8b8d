/* Whole-message checks and the JSON form of a parsed message (used by `sipkit lint --json`). */
#include "sip/msg_json.h"

#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"

/* Which accessor understands a header id. */
enum kind { K_NONE, K_VIA, K_ADDR, K_TOKENS, K_CTYPES, K_AUTH, K_UINT, K_RACK, K_EVENT,
            K_SUBSTATE, K_REPLACES, K_SESSEXP, K_RETRY, K_TIMESTAMP, K_DATE, K_CALLID,
            K_CSEQ };

static enum kind kind_of(enum sip_hdr_id id)
{
    switch (id) {
    case SIP_HDR_VIA: return K_VIA;
    case SIP_HDR_FROM:
    case SIP_HDR_TO:
    case SIP_HDR_CONTACT:
    case SIP_HDR_ROUTE:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_PATH:
    case SIP_HDR_P_ASSERTED_IDENTITY:
    case SIP_HDR_REPLY_TO:
    case SIP_HDR_REFER_TO:
    case SIP_HDR_REFERRED_BY: return K_ADDR;
    case SIP_HDR_REQUIRE:
    case SIP_HDR_SUPPORTED:
    case SIP_HDR_PROXY_REQUIRE:
    case SIP_HDR_UNSUPPORTED:
    case SIP_HDR_ALLOW:
    case SIP_HDR_ALLOW_EVENTS:
    case SIP_HDR_CONTENT_ENCODING:
    case SIP_HDR_CONTENT_LANGUAGE:
    case SIP_HDR_ACCEPT_ENCODING:
    case SIP_HDR_ACCEPT_LANGUAGE:
    case SIP_HDR_PRIVACY: return K_TOKENS;
    case SIP_HDR_ACCEPT:
    case SIP_HDR_CONTENT_TYPE: return K_CTYPES;
    case SIP_HDR_AUTHORIZATION:
    case SIP_HDR_PROXY_AUTHORIZATION:
    case SIP_HDR_WWW_AUTHENTICATE:
    case SIP_HDR_PROXY_AUTHENTICATE: return K_AUTH;
    case SIP_HDR_EXPIRES:
    case SIP_HDR_MIN_EXPIRES:
    case SIP_HDR_MIN_SE:
    case SIP_HDR_RSEQ:
    case SIP_HDR_MAX_FORWARDS:
    case SIP_HDR_CONTENT_LENGTH: return K_UINT;
    case SIP_HDR_RACK: return K_RACK;
    case SIP_HDR_EVENT: return K_EVENT;
    case SIP_HDR_SUBSCRIPTION_STATE: return K_SUBSTATE;
    case SIP_HDR_REPLACES: return K_REPLACES;
    case SIP_HDR_SESSION_EXPIRES: return K_SESSEXP;
    case SIP_HDR_RETRY_AFTER: return K_RETRY;
    case SIP_HDR_TIMESTAMP: return K_TIMESTAMP;
    case SIP_HDR_DATE: return K_DATE;
    case SIP_HDR_CALL_ID: return K_CALLID;
    case SIP_HDR_CSEQ: return K_CSEQ;
    default: return K_NONE;
    }
}

static int check_one(struct sip_msg *m, enum sip_hdr_id id, struct sip_error *err)
{
    const void *p;
    size_t n;
    uint32_t u;
    time_t t;

    switch (kind_of(id)) {
    case K_VIA: return sip_msg_vias(m, (const struct sip_via **) &p, &n, err);
    case K_ADDR: return sip_msg_addrs(m, id, (const struct sip_addr **) &p, &n, err);
    case K_TOKENS: return sip_msg_tokens(m, id, (const struct sk_str **) &p, &n, err);
    case K_CTYPES: return sip_msg_ctypes(m, id, (const struct sip_ctype **) &p, &n, err);
    case K_AUTH: return sip_msg_auths(m, id, (const struct sip_auth **) &p, &n, err);
    case K_UINT: return sip_msg_uint(m, id, &u, err);
    case K_RACK: return sip_msg_rack(m, (const struct sip_rack **) &p, err);
    case K_EVENT: return sip_msg_event(m, (const struct sip_event **) &p, err);
    case K_SUBSTATE: return sip_msg_substate(m, (const struct sip_substate **) &p, err);
    case K_REPLACES: return sip_msg_replaces(m, (const struct sip_replaces **) &p, err);
    case K_SESSEXP:
        return sip_msg_session_expires(m, (const struct sip_session_expires **) &p, err);
    case K_RETRY: return sip_msg_retry_after(m, (const struct sip_retry_after **) &p, err);
    case K_TIMESTAMP: return sip_msg_timestamp(m, (const struct sip_timestamp **) &p, err);
    case K_DATE: return sip_msg_date(m, &t, err);
    case K_CALLID:
    case K_CSEQ:
    case K_NONE: return 0; /* parsed eagerly, or free text */
    }
    return 0;
}

size_t sip_msg_check_headers(struct sip_msg *m, struct sip_error *errs, size_t max)
{
    size_t found = 0;

    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        struct sip_error e;
        int rc;
        if (m->first[id] == SIP_HDR_NONE)
            continue;
        rc = check_one(m, (enum sip_hdr_id) id, &e);
        if (rc == ENOMEM) {
            sip_fail(&e, 500, "out of memory", 0);
            rc = EBADMSG;
        }
        if (rc == EBADMSG) {
            if (found < max)
                errs[found] = e;
            found++;
        }
    }
    return found;
}

/* ---- JSON ---- */

static void json_unescaped(struct sk_json *j, const char *key, struct sk_str s, bool quoted)
{
    struct sk_buf b;

    if (!sk_str_isset(s)) {
        sk_json_kstr(j, key, s);
        return;
    }
    sk_buf_init(&b);
    if (quoted)
        sip_unquote(&b, s);
    else
        sk_buf_put_str(&b, s);
    sk_json_kstr(j, key, sk_buf_str(&b));
    sk_buf_free(&b);
}

static void json_params(struct sk_json *j, struct sk_str params)
{
    struct sk_str rest = params, n, v;

    sk_json_key(j, "params");
    sk_json_obj_begin(j);
    while (sip_param_next(&rest, &n, &v)) {
        char name[128];
        sk_str_copy(name, sizeof(name), n);
        if (sk_str_isset(v))
            sk_json_kstr(j, name, v);
        else
            sk_json_kbool(j, name, true);
    }
    sk_json_obj_end(j);
}

static const char *host_type_name(enum sip_host_type t)
{
    switch (t) {
    case SIP_HOST_NAME: return "name";
    case SIP_HOST_IPV4: return "ipv4";
    case SIP_HOST_IPV6: return "ipv6";
    default: return NULL;
    }
}

void sip_uri_to_json(const struct sip_uri *u, struct sk_json *j)
{
    static const char *const schemes[] = {"sip", "sips", "tel", "other"};

    sk_json_obj_begin(j);
    sk_json_kstr(j, "raw", u->raw);
    sk_json_key(j, "scheme");
    if (u->scheme == SIP_URI_OTHER)
        sk_json_str(j, u->scheme_str);
    else
        sk_json_cstr(j, schemes[u->scheme]);
    if (u->scheme == SIP_URI_OTHER) {
        sk_json_kstr(j, "opaque", u->opaque);
    } else {
        sk_json_kstr(j, u->scheme == SIP_URI_TEL ? "number" : "user", u->user);
        if (u->scheme != SIP_URI_TEL) {
            if (sk_str_isset(u->password))
                sk_json_kstr(j, "password", u->password);
            sk_json_kstr(j, "host", u->host);
            sk_json_key(j, "host_type");
            sk_json_cstr(j, host_type_name(u->host_type));
            sk_json_key(j, "port");
            if (u->has_port)
                sk_json_int(j, u->port);
            else
                sk_json_null(j);
        }
        json_params(j, u->params);
        if (sk_str_isset(u->headers))
            sk_json_kstr(j, "headers", u->headers);
    }
    sk_json_obj_end(j);
}

static void json_via(struct sk_json *j, const struct sip_via *v)
{
    sk_json_obj_begin(j);
    sk_json_kstr(j, "protocol", v->protocol);
    sk_json_kstr(j, "version", v->version);
    sk_json_kstr(j, "transport", v->transport);
    sk_json_kstr(j, "host", v->host);
    sk_json_key(j, "port");
    if (v->has_port)
        sk_json_int(j, v->port);
    else
        sk_json_null(j);
    sk_json_kstr(j, "branch", v->branch);
    sk_json_kstr(j, "received", v->received);
    sk_json_key(j, "rport");
    if (!v->has_rport)
        sk_json_null(j);
    else if (v->rport_has_value)
        sk_json_int(j, v->rport);
    else
        sk_json_bool(j, true);
    sk_json_kstr(j, "maddr", v->maddr);
    sk_json_kstr(j, "ttl", v->ttl);
    json_params(j, v->params);
    sk_json_obj_end(j);
}

static void json_addr(struct sk_json *j, const struct sip_addr *a)
{
    sk_json_obj_begin(j);
    if (a->star) {
        sk_json_kbool(j, "star", true);
        sk_json_obj_end(j);
        return;
    }
    json_unescaped(j, "display", a->display, a->display_quoted);
    sk_json_key(j, "uri");
    sip_uri_to_json(&a->uri, j);
    sk_json_kstr(j, "tag", a->tag);
    if (a->expires >= 0)
        sk_json_kint(j, "expires", a->expires);
    if (a->q >= 0) {
        char q[16];
        snprintf(q, sizeof(q), "%d.%03d", a->q / 1000, a->q % 1000);
        sk_json_kstr(j, "q", sk_str_cstr(q));
    }
    json_params(j, a->params);
    sk_json_obj_end(j);
}

static void json_auth(struct sk_json *j, const struct sip_auth *a)
{
    sk_json_obj_begin(j);
    sk_json_kstr(j, "scheme", a->scheme);
    if (!a->digest) {
        sk_json_kstr(j, "params", a->params);
    } else {
        static const struct {
            const char *name;
            size_t off;
        } f[] = {
            {"username", offsetof(struct sip_auth, username)},
            {"realm", offsetof(struct sip_auth, realm)},
            {"nonce", offsetof(struct sip_auth, nonce)},
            {"uri", offsetof(struct sip_auth, uri)},
            {"response", offsetof(struct sip_auth, response)},
            {"algorithm", offsetof(struct sip_auth, algorithm)},
            {"cnonce", offsetof(struct sip_auth, cnonce)},
            {"opaque", offsetof(struct sip_auth, opaque)},
            {"qop", offsetof(struct sip_auth, qop)},
            {"nc", offsetof(struct sip_auth, nc)},
            {"stale", offsetof(struct sip_auth, stale)},
            {"domain", offsetof(struct sip_auth, domain)},
            {"userhash", offsetof(struct sip_auth, userhash)},
        };
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
            struct sk_str v = *(const struct sk_str *) ((const char *) a + f[i].off);
            if (sk_str_isset(v))
                json_unescaped(j, f[i].name, v, true);
        }
    }
    sk_json_obj_end(j);
}

static void json_ctype(struct sk_json *j, const struct sip_ctype *c)
{
    sk_json_obj_begin(j);
    sk_json_kstr(j, "type", c->type);
    sk_json_kstr(j, "subtype", c->subtype);
    json_params(j, c->params);
    sk_json_obj_end(j);
}

static bool typed_via(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const void *p;
    size_t n;

    (void) id;
    if (sip_msg_vias(m, (const struct sip_via **) &p, &n, NULL))
        return false;
    sk_json_arr_begin(j);
    for (size_t i = 0; i < n; i++)
        json_via(j, (const struct sip_via *) p + i);
    sk_json_arr_end(j);
    return true;
}

static bool typed_addr(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const void *p;
    size_t n;

    if (sip_msg_addrs(m, id, (const struct sip_addr **) &p, &n, NULL))
        return false;
    if (sip_hdr_flags(id) & SIP_HF_LIST) {
        sk_json_arr_begin(j);
        for (size_t i = 0; i < n; i++)
            json_addr(j, (const struct sip_addr *) p + i);
        sk_json_arr_end(j);
    } else {
        json_addr(j, p);
    }
    return true;
}

static bool typed_tokens(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const void *p;
    size_t n;

    if (sip_msg_tokens(m, id, (const struct sk_str **) &p, &n, NULL))
        return false;
    sk_json_arr_begin(j);
    for (size_t i = 0; i < n; i++)
        sk_json_str(j, ((const struct sk_str *) p)[i]);
    sk_json_arr_end(j);
    return true;
}

static bool typed_ctypes(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const void *p;
    size_t n;

    if (sip_msg_ctypes(m, id, (const struct sip_ctype **) &p, &n, NULL))
        return false;
    if (id == SIP_HDR_ACCEPT) {
        sk_json_arr_begin(j);
        for (size_t i = 0; i < n; i++)
            json_ctype(j, (const struct sip_ctype *) p + i);
        sk_json_arr_end(j);
    } else {
        json_ctype(j, p);
    }
    return true;
}

static bool typed_auth(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const void *p;
    size_t n;

    if (sip_msg_auths(m, id, (const struct sip_auth **) &p, &n, NULL))
        return false;
    sk_json_arr_begin(j);
    for (size_t i = 0; i < n; i++)
        json_auth(j, (const struct sip_auth *) p + i);
    sk_json_arr_end(j);
    return true;
}

static bool typed_uint(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    uint32_t u;

    if (sip_msg_uint(m, id, &u, NULL))
        return false;
    sk_json_int(j, u);
    return true;
}

static bool typed_cseq(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    (void) id;
    if (!m->has_cseq)
        return false;
    sk_json_obj_begin(j);
    sk_json_kint(j, "number", m->cseq.num);
    sk_json_kstr(j, "method", m->cseq.method);
    sk_json_obj_end(j);
    return true;
}

static bool typed_callid(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    (void) id;
    if (!m->has_call_id)
        return false;
    sk_json_str(j, m->call_id);
    return true;
}

static bool typed_rack(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_rack *r;

    (void) id;
    if (sip_msg_rack(m, &r, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kint(j, "rseq", r->rseq);
    sk_json_kint(j, "cseq", r->cseq);
    sk_json_kstr(j, "method", r->method);
    sk_json_obj_end(j);
    return true;
}

static bool typed_event(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_event *e;

    (void) id;
    if (sip_msg_event(m, &e, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kstr(j, "package", e->package);
    sk_json_kstr(j, "id", e->id);
    json_params(j, e->params);
    sk_json_obj_end(j);
    return true;
}

static bool typed_substate(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_substate *s;

    (void) id;
    if (sip_msg_substate(m, &s, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kstr(j, "state", s->state);
    sk_json_kstr(j, "reason", s->reason);
    if (s->expires >= 0)
        sk_json_kint(j, "expires", s->expires);
    if (s->retry_after >= 0)
        sk_json_kint(j, "retry_after", s->retry_after);
    sk_json_obj_end(j);
    return true;
}

static bool typed_replaces(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_replaces *r;

    (void) id;
    if (sip_msg_replaces(m, &r, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kstr(j, "call_id", r->call_id);
    sk_json_kstr(j, "to_tag", r->to_tag);
    sk_json_kstr(j, "from_tag", r->from_tag);
    sk_json_kbool(j, "early_only", r->early_only);
    sk_json_obj_end(j);
    return true;
}

static bool typed_sessexp(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_session_expires *s;

    (void) id;
    if (sip_msg_session_expires(m, &s, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kint(j, "delta", s->delta);
    sk_json_kstr(j, "refresher", s->refresher);
    sk_json_obj_end(j);
    return true;
}

static bool typed_retry(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_retry_after *r;

    (void) id;
    if (sip_msg_retry_after(m, &r, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kint(j, "delta", r->delta);
    sk_json_kstr(j, "comment", r->comment);
    if (r->duration >= 0)
        sk_json_kint(j, "duration", r->duration);
    sk_json_obj_end(j);
    return true;
}

static bool typed_timestamp(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    const struct sip_timestamp *t2;

    (void) id;
    if (sip_msg_timestamp(m, &t2, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kstr(j, "value", t2->value);
    sk_json_kstr(j, "delay", t2->delay);
    sk_json_obj_end(j);
    return true;
}

static bool typed_date(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    time_t t;

    if (sip_msg_date(m, &t, NULL))
        return false;
    sk_json_obj_begin(j);
    sk_json_kstr(j, "text", sip_msg_hdr(m, id)->value);
    sk_json_kint(j, "unix_time", (int64_t) t);
    sk_json_obj_end(j);
    return true;
}

/* Each kind's writer: the typed value of a known header (all its instances), or
 * false if it has none that parses. */
typedef bool (*typed_fn)(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j);
static const typed_fn typed_writer[] = {
    [K_VIA] = typed_via,
    [K_ADDR] = typed_addr,
    [K_TOKENS] = typed_tokens,
    [K_CTYPES] = typed_ctypes,
    [K_AUTH] = typed_auth,
    [K_UINT] = typed_uint,
    [K_CSEQ] = typed_cseq,
    [K_CALLID] = typed_callid,
    [K_RACK] = typed_rack,
    [K_EVENT] = typed_event,
    [K_SUBSTATE] = typed_substate,
    [K_REPLACES] = typed_replaces,
    [K_SESSEXP] = typed_sessexp,
    [K_RETRY] = typed_retry,
    [K_TIMESTAMP] = typed_timestamp,
    [K_DATE] = typed_date,
};

/* The typed value of one known header (all its instances), or false if none. */
static bool json_typed(struct sip_msg *m, enum sip_hdr_id id, struct sk_json *j)
{
    enum kind k = kind_of(id);

    if ((size_t) k >= sizeof(typed_writer) / sizeof(typed_writer[0]) || !typed_writer[k])
        return false; /* K_NONE */
    return typed_writer[k](m, id, j);
}

void sip_msg_to_json(struct sip_msg *m, struct sk_json *j)
{
    const struct sip_ctype *ct;
    size_t n;

    sk_json_key(j, "type");
    sk_json_cstr(j, m->is_request ? "request" : "response");
    if (m->is_request) {
        sk_json_kstr(j, "method", m->method);
        sk_json_key(j, "request_uri");
        sip_uri_to_json(&m->ruri, j);
    } else {
        sk_json_kint(j, "status", m->status);
        sk_json_kstr(j, "reason", m->reason);
    }
    sk_json_kstr(j, "version", m->version);

    /* Every header line in order, as written. */
    sk_json_key(j, "headers");
    sk_json_arr_begin(j);
    for (size_t i = 0; i < m->nhdr; i++) {
        const struct sip_hdr *h = &m->hdr[i];
        sk_json_obj_begin(j);
        sk_json_key(j, "name");
        if (h->id != SIP_HDR_OTHER)
            sk_json_cstr(j, sip_hdr_name(h->id));
        else
            sk_json_str(j, h->name);
        if (h->id != SIP_HDR_OTHER && !sk_str_eq_cstr(h->name, sip_hdr_name(h->id)))
            sk_json_kstr(j, "written_as", h->name);
        sk_json_kstr(j, "value", h->value);
        sk_json_obj_end(j);
    }
    sk_json_arr_end(j);

    /* Typed fields of each known header, by canonical name. */
    sk_json_key(j, "fields");
    sk_json_obj_begin(j);
    for (int id = 1; id < SIP_HDR__COUNT; id++) {
        size_t mark;
        if (m->first[id] == SIP_HDR_NONE || kind_of((enum sip_hdr_id) id) == K_NONE)
            continue;
        sk_json_key(j, sip_hdr_name((enum sip_hdr_id) id));
        mark = j->out->len;
        if (!json_typed(m, (enum sip_hdr_id) id, j) && j->out->len == mark)
            sk_json_null(j);
    }
    sk_json_obj_end(j);

    sk_json_key(j, "body");
    sk_json_obj_begin(j);
    sk_json_kint(j, "length", (int64_t) m->body.len);
    sk_json_key(j, "content_type");
    if (sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, NULL) == 0) {
        struct sk_buf b;
        sk_buf_init(&b);
        sk_buf_put_str(&b, ct->type);
        sk_buf_putc(&b, '/');
        sk_buf_put_str(&b, ct->subtype);
        sk_json_str(j, sk_buf_str(&b));
        sk_buf_free(&b);
    } else {
        sk_json_null(j);
    }
    sk_json_obj_end(j);
}
