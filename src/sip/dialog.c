/* RFC 3261 §12 dialogs: state built from messages into owned copies, matching, in-dialog
 * requests. */
#include "sip/dialog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "sip/print.h"

const char *sip_dlg_state_name(enum sip_dlg_state s)
{
    switch (s) {
    case SIP_DLG_EARLY: return "early";
    case SIP_DLG_CONFIRMED: return "confirmed";
    case SIP_DLG_TERMINATED: return "terminated";
    }
    return "?";
}

/* ---- Owned copies ---- */

static char *dup_str(struct sk_str s)
{
    char *p = malloc(s.len + 1);

    if (!p) return NULL;
    if (s.len) memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

/* The text printed into b, as a malloc'd string (NULL when out of memory). */
static char *dup_buf(struct sk_buf *b)
{
    char *p = b->failed ? NULL : dup_str(sk_buf_str(b));

    sk_buf_free(b);
    return p;
}

static char *addr_text(const struct sip_addr *a, bool drop_tag)
{
    struct sk_buf b;

    sk_buf_init(&b);
    sip_print_name_addr(&b, a, drop_tag);
    return dup_buf(&b);
}

static void free_routes(struct sip_dlg_route *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].text);
    free(r);
}

/* The accessors' errors as ours: out of memory stays so, anything else is a bad message.
 */
static int msg_err(int rc)
{
    return rc == ENOMEM ? ENOMEM : EBADMSG;
}

/* The route set from m's Record-Route: in order (UAS, §12.1.1) or reversed
 * (UAC, §12.1.2). No Record-Route: an empty set. */
static int build_routes(struct sip_msg *m, bool reverse, struct sip_dlg_route **rp,
                        size_t *np)
{
    const struct sip_addr *rr;
    struct sip_dlg_route *routes;
    struct sip_error e;
    size_t n;
    int rc = sip_msg_addrs(m, SIP_HDR_RECORD_ROUTE, &rr, &n, &e);

    *rp = NULL;
    *np = 0;
    if (rc == ENOENT || (rc == 0 && n == 0)) return 0;
    if (rc) return msg_err(rc);
    if (n > SIP_DLG_MAX_ROUTES) return E2BIG;
    if (!(routes = calloc(n, sizeof(*routes)))) return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct sip_addr *src = &rr[reverse ? n - 1 - i : i];
        const char *p, *end;

        if (src->star) {
            free_routes(routes, i);
            return EBADMSG;
        }
        if (!(routes[i].text = addr_text(src, false))) {
            free_routes(routes, i);
            return ENOMEM;
        }
        /* parse our copy, so the kept slices point into it */
        p = routes[i].text;
        end = p + strlen(p);
        if (sip_parse_addr(&p, end, false, false, &routes[i].addr, &e) != 0) {
            free_routes(routes, i + 1);
            return EBADMSG;
        }
    }
    *rp = routes;
    *np = n;
    return 0;
}

/* A remote target: a copy of the URI and its parse over the copy. */
static int copy_target(struct sk_str uri, char **textp, struct sip_uri *parsed)
{
    struct sip_error e;
    char *t = dup_str(uri);

    if (!t) return ENOMEM;
    if (sip_uri_parse(parsed, t, uri.len, &e) != 0) {
        free(t);
        return EBADMSG;
    }
    *textp = t;
    return 0;
}

/* The first Contact of m: ENOENT when there is none. */
static int first_contact(struct sip_msg *m, const struct sip_addr **c)
{
    const struct sip_addr *a;
    struct sip_error e;
    size_t n;
    int rc = sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &e);

    if (rc == ENOENT || (rc == 0 && n == 0)) return ENOENT;
    if (rc) return msg_err(rc);
    if (a[0].star) return EBADMSG;
    *c = &a[0];
    return 0;
}

static int contact_target(struct sip_msg *m, char **textp, struct sip_uri *parsed)
{
    const struct sip_addr *c;
    int rc = first_contact(m, &c);

    return rc ? rc : copy_target(c->uri.raw, textp, parsed);
}

static char *make_key(const struct sip_dlg *d)
{
    struct sip_dlg_id id = sip_dlg_id_of(d);
    struct sk_buf b;

    sk_buf_init(&b);
    sip_dlg_key(&b, &id);
    return dup_buf(&b);
}

void sip_dlg_free(struct sip_dlg *d)
{
    if (!d) return;
    free(d->call_id);
    free(d->local_tag);
    free(d->remote_tag);
    free(d->key);
    free(d->local_uri);
    free(d->remote_uri);
    free(d->remote_target);
    free(d->local_contact);
    free_routes(d->routes, d->nroutes);
    free(d);
}

/* The tag of a From/To as a string ("" when absent, RFC 2543 peers). */
static char *dup_tag(const struct sip_addr *a)
{
    return dup_str(sk_str_isset(a->tag) ? a->tag : SK_STR_LIT(""));
}

/* ---- Creation ---- */

int sip_dlg_new_uas(struct sip_dlg **dp, struct sip_msg *req, struct sk_str local_tag,
                    struct sk_str local_contact, bool tls, bool early)
{
    struct sip_dlg *d;
    int rc = ENOMEM;

    if (!req->is_request || !req->has_from || !req->has_to || !req->has_call_id ||
        !req->has_cseq || !local_tag.len)
        return EINVAL;
    if (!(d = calloc(1, sizeof(*d)))) return ENOMEM;
    d->state = early ? SIP_DLG_EARLY : SIP_DLG_CONFIRMED;
    d->method = req->method_id;
    /* §12.1.1: secure when the request came over TLS to a sips Request-URI */
    d->secure = tls && req->ruri.scheme == SIP_URI_SIPS;
    if (!(d->call_id = dup_str(req->call_id)) || !(d->local_tag = dup_str(local_tag)) ||
        !(d->remote_tag = dup_tag(&req->from)) ||
        !(d->remote_uri = addr_text(&req->from, true)) ||
        !(d->local_uri = addr_text(&req->to, true)))
        goto out;
    if (local_contact.len && !(d->local_contact = dup_str(local_contact))) goto out;
    /* §12.1.1: remote target = the Contact URI; a dialog-creating request must have one
     */
    if ((rc = contact_target(req, &d->remote_target, &d->target)) != 0) {
        if (rc == ENOENT) rc = EBADMSG;
        goto out;
    }
    if ((rc = build_routes(req, false, &d->routes, &d->nroutes)) != 0) goto out;
    d->remote_cseq = req->cseq.num;
    d->has_remote_cseq = true;
    /* the local CSeq is "empty" until our first request, which gets a fresh one */
    d->local_cseq = sip_cseq_initial() - 1;
    rc = ENOMEM;
    if (!(d->key = make_key(d))) goto out;
    *dp = d;
    return 0;
out:
    sip_dlg_free(d);
    return rc;
}

bool sip_dlg_response_creates(const struct sip_msg *resp)
{
    return !resp->is_request && resp->status > 100 && resp->status < 300 &&
           resp->has_to && resp->to.tag.len > 0;
}

int sip_dlg_new_uac(struct sip_dlg **dp, struct sip_msg *req, struct sip_msg *resp,
                    bool tls)
{
    const struct sip_addr *c;
    struct sip_dlg *d;
    int rc = ENOMEM;

    if (!req->is_request || !req->has_from || !req->has_to || !req->has_call_id ||
        !req->has_cseq || req->from.tag.len == 0 || !sip_dlg_response_creates(resp) ||
        !resp->has_call_id || !sk_str_eq(req->call_id, resp->call_id) ||
        !resp->has_from || !sk_str_eq(req->from.tag, resp->from.tag))
        return EINVAL;
    if (!(d = calloc(1, sizeof(*d)))) return ENOMEM;
    d->uac = true;
    d->state = resp->status < 200 ? SIP_DLG_EARLY : SIP_DLG_CONFIRMED;
    d->method = req->method_id;
    /* §12.1.2: secure when the request went over TLS to a sips Request-URI */
    d->secure = tls && req->ruri.scheme == SIP_URI_SIPS;
    if (!(d->call_id = dup_str(req->call_id)) ||
        !(d->local_tag = dup_str(req->from.tag)) ||
        !(d->remote_tag = dup_str(resp->to.tag)) ||
        !(d->local_uri = addr_text(&req->from, true)) ||
        !(d->remote_uri = addr_text(&req->to, true)))
        goto out;
    rc = first_contact(req, &c);
    if (rc == 0 && !(d->local_contact = addr_text(c, false))) rc = ENOMEM;
    if (rc && rc != ENOENT) goto out;
    /* §12.1.2: remote target = the response's Contact; a provisional response may
     * carry none, and then requests go where the INVITE went */
    rc = contact_target(resp, &d->remote_target, &d->target);
    if (rc == ENOENT) rc = copy_target(req->ruri_raw, &d->remote_target, &d->target);
    if (rc) goto out;
    if ((rc = build_routes(resp, true, &d->routes, &d->nroutes)) != 0) goto out;
    d->local_cseq = req->cseq.num;
    if (req->method_id == SIP_METHOD_INVITE) d->invite_cseq = req->cseq.num;
    rc = ENOMEM;
    if (!(d->key = make_key(d))) goto out;
    *dp = d;
    return 0;
out:
    sip_dlg_free(d);
    return rc;
}

int sip_dlg_uac_response(struct sip_dlg *d, struct sip_msg *resp)
{
    struct sip_dlg_route *routes;
    struct sip_uri target;
    char *text = NULL;
    size_t n;
    int rc;

    if (resp->is_request || !sip_dlg_match(d, resp)) return EINVAL;
    if (d->state != SIP_DLG_EARLY) return 0;
    if (resp->status >= 300) {
        d->state = SIP_DLG_TERMINATED; /* §12.3: a non-2xx final ends the early dialogs */
        return 0;
    }
    if (resp->status < 200) return 0;
    /* §13.2.2.4: the 2xx sets the dialog state: route set and remote target anew */
    rc = contact_target(resp, &text, &target);
    if (rc && rc != ENOENT) return rc;
    if ((rc = build_routes(resp, true, &routes, &n)) != 0) {
        free(text);
        return rc;
    }
    if (text) {
        free(d->remote_target);
        d->remote_target = text;
        d->target = target;
    }
    free_routes(d->routes, d->nroutes);
    d->routes = routes;
    d->nroutes = n;
    d->state = SIP_DLG_CONFIRMED;
    return 0;
}

void sip_dlg_confirm(struct sip_dlg *d)
{
    if (d->state == SIP_DLG_EARLY) d->state = SIP_DLG_CONFIRMED;
}

void sip_dlg_terminate(struct sip_dlg *d)
{
    d->state = SIP_DLG_TERMINATED;
}

/* ---- Matching ---- */

int sip_dlg_id_of_rx(const struct sip_msg *m, struct sip_dlg_id *id)
{
    struct sk_str from_tag, to_tag;

    if (!m->has_call_id || !m->has_from || !m->has_to) return EINVAL;
    from_tag = sk_str_isset(m->from.tag) ? m->from.tag : SK_STR_LIT("");
    to_tag = sk_str_isset(m->to.tag) ? m->to.tag : SK_STR_LIT("");
    id->call_id = m->call_id;
    id->local_tag = m->is_request ? to_tag : from_tag;
    id->remote_tag = m->is_request ? from_tag : to_tag;
    return 0;
}

struct sip_dlg_id sip_dlg_id_of(const struct sip_dlg *d)
{
    struct sip_dlg_id id = {sk_str_cstr(d->call_id), sk_str_cstr(d->local_tag),
                            sk_str_cstr(d->remote_tag)};
    return id;
}

bool sip_dlg_id_equal(const struct sip_dlg_id *a, const struct sip_dlg_id *b)
{
    /* §8.1.1.4: Call-IDs are compared byte by byte; tags likewise */
    return sk_str_eq(a->call_id, b->call_id) && sk_str_eq(a->local_tag, b->local_tag) &&
           sk_str_eq(a->remote_tag, b->remote_tag);
}

int sip_dlg_key(struct sk_buf *b, const struct sip_dlg_id *id)
{
    const struct sk_str parts[3] = {id->call_id, id->local_tag, id->remote_tag};

    /* length-prefixed, so no byte inside a part can make two IDs collide */
    for (int i = 0; i < 3; i++) {
        if (i) sk_buf_putc(b, ';');
        sk_buf_put_u64(b, parts[i].len);
        sk_buf_putc(b, ':');
        sk_buf_put_str(b, parts[i]);
    }
    return b->failed ? ENOMEM : 0;
}

bool sip_dlg_match(const struct sip_dlg *d, const struct sip_msg *m)
{
    struct sip_dlg_id a, b;

    if (sip_dlg_id_of_rx(m, &a) != 0) return false;
    b = sip_dlg_id_of(d);
    return sip_dlg_id_equal(&a, &b);
}

bool sip_dlg_is_in_dialog(const struct sip_msg *req)
{
    return req->is_request && req->has_to && sk_str_isset(req->to.tag);
}

/* ---- Requests we send ---- */

bool sip_dlg_method_refreshes(struct sk_str method)
{
    switch (sip_method_lookup(method)) {
    case SIP_METHOD_INVITE:
    case SIP_METHOD_UPDATE:
    case SIP_METHOD_SUBSCRIBE:
    case SIP_METHOD_NOTIFY: return true;
    default: return false;
    }
}

int sip_dlg_request(struct sip_dlg *d, const struct sip_dlg_req *r, struct sk_buf *b,
                    struct sip_req_out *out)
{
    struct sip_addr routes[SIP_DLG_MAX_ROUTES];
    enum sip_method m = sip_method_lookup(r->method);
    struct sip_req_parts p;
    uint32_t cseq;
    int rc;

    memset(out, 0, sizeof(*out));
    if (m == SIP_METHOD_CANCEL || d->nroutes > SIP_DLG_MAX_ROUTES)
        return EINVAL; /* §9.1: a CANCEL copies the INVITE, see sip_txn_cancel */
    if (m == SIP_METHOD_ACK) {
        /* §13.2.2.4: the ACK for a 2xx carries the INVITE's CSeq number */
        cseq = r->ack_cseq ? r->ack_cseq : d->invite_cseq;
        if (!cseq) return EINVAL;
    } else {
        /* §12.2.1.1: one more than the last, which must stay below 2^31 */
        if (d->local_cseq >= SIP_CSEQ_MAX) return ERANGE;
        cseq = d->local_cseq + 1;
    }
    for (size_t i = 0; i < d->nroutes; i++)
        routes[i] = d->routes[i].addr;
    memset(&p, 0, sizeof(p));
    p.method = r->method;
    p.target = &d->target;
    p.routes = routes;
    p.nroutes = d->nroutes;
    p.from = sk_str_cstr(d->local_uri);
    p.from_tag = sk_str_cstr(d->local_tag);
    p.to = sk_str_cstr(d->remote_uri);
    p.to_tag = sk_str_cstr(d->remote_tag);
    p.call_id = sk_str_cstr(d->call_id);
    p.cseq = cseq;
    /* §12.2.1.1: a Contact on target refresh requests, and on REFER, which starts a
     * subscription whose NOTIFYs come to us (RFC 3515) */
    if (d->local_contact &&
        (sip_dlg_method_refreshes(r->method) || m == SIP_METHOD_REFER))
        p.contact = sk_str_cstr(d->local_contact);
    p.c = &r->c;
    if ((rc = sip_req_print(b, &p, out->branch, sizeof(out->branch), &out->next_hop)) !=
        0)
        return rc;
    out->cseq = cseq;
    if (m != SIP_METHOD_ACK) d->local_cseq = cseq;
    if (m == SIP_METHOD_INVITE) d->invite_cseq = cseq;
    return 0;
}

/* ---- Requests we receive ---- */

int sip_dlg_rx_request(struct sip_dlg *d, const struct sip_msg *req,
                       struct sip_dlg_verdict *v)
{
    v->status = 0;
    v->retry_after = 0;
    if (!req->is_request || !req->has_cseq) return EINVAL;
    if (d->state == SIP_DLG_TERMINATED) {
        v->status = 481; /* §12.2.2: no dialog to go on with */
        return 0;
    }
    /* an ACK repeats its INVITE's number and a CANCEL the request it cancels */
    if (req->method_id == SIP_METHOD_ACK || req->method_id == SIP_METHOD_CANCEL) return 0;
    if (d->has_remote_cseq && req->cseq.num < d->remote_cseq) {
        /* §12.2.2: out of order -> 500; §14.2's Retry-After of 0..10 s lets the
         * peer try again */
        v->status = 500;
        v->retry_after = (uint32_t) (sk_rand64() % (SIP_DLG_RETRY_AFTER_MAX + 1));
        return 0;
    }
    d->remote_cseq = req->cseq.num;
    d->has_remote_cseq = true;
    return 0;
}

int sip_dlg_target_refresh(struct sip_dlg *d, struct sip_msg *m)
{
    struct sip_uri target;
    char *text;
    int rc = contact_target(m, &text, &target);

    if (rc) return rc;
    free(d->remote_target);
    d->remote_target = text;
    d->target = target;
    return 0;
}

int sip_dlg_set_local_contact(struct sip_dlg *d, struct sk_str contact)
{
    char *c = NULL;

    if (contact.len && !(c = dup_str(contact))) return ENOMEM;
    free(d->local_contact);
    d->local_contact = c;
    return 0;
}

int sip_dlg_print_response_head(struct sk_buf *b, const struct sip_dlg *d,
                                const struct sip_msg *req, int code, const char *reason)
{
    const struct sip_hdr *h;
    bool creates = !sk_str_isset(req->to.tag);

    if (!req->is_request) return EINVAL;
    sip_print_response_head(b, req, code, reason, sk_str_cstr(d->local_tag));
    if (code > 100 && code < 300) {
        /* §12.1.1: Record-Route copied as it came, in order, parameters and all */
        for (h = sip_msg_hdr(req, SIP_HDR_RECORD_ROUTE); creates && h;
             h = sip_msg_hdr_next(req, h))
            sip_print_hdr(b, SIP_HDR_RECORD_ROUTE, h->value);
        if (d->local_contact &&
            (sip_dlg_method_refreshes(req->method) || req->method_id == SIP_METHOD_REFER))
            sip_print_hdr(b, SIP_HDR_CONTACT, sk_str_cstr(d->local_contact));
    }
    return b->failed ? ENOMEM : 0;
}

bool sip_dlg_rx_response(struct sip_dlg *d, int status)
{
    /* §12.2.1.2: 481 (the peer knows no such dialog) or 408 (no answer) */
    if (status == 481 || status == 408) {
        d->state = SIP_DLG_TERMINATED;
        return true;
    }
    return false;
}
