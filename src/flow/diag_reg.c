/* Diagnosis rules about registrations: 423 Interval Too Brief, bindings that expire
 * without a refresh, refreshes from a new source address (NAT rebinding). */
#include <stdio.h>
#include <string.h>

#include "flow/diag_int.h"

/* The expiry a REGISTER asked for or a 2xx granted (first Contact's expires, else the
 * Expires header), -1 when neither says. d->sm holds the message. */
static int64_t reg_expires(struct diag *d)
{
    const struct sip_addr *c;
    size_t n;
    uint32_t e;
    struct sip_error err;

    if (sip_msg_addrs(d->sm, SIP_HDR_CONTACT, &c, &n, &err) == 0 && n &&
        c[0].expires >= 0)
        return c[0].expires;
    if (sip_msg_uint(d->sm, SIP_HDR_EXPIRES, &e, &err) == 0) return e;
    return -1;
}

/* Rule: 423 with Min-Expires (RFC 3261 §10.2.8): the interval asked is too short. */
static void rule_423(struct diag *d)
{
    const struct flow_msg *fm, *resp = NULL, *req = NULL;
    int64_t asked = -1;
    uint32_t min = 0;
    bool has_min = false, later_ok = false;
    struct sip_error err;
    struct flow_finding *f;

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (!resp && !fm->request && fm->status == 423)
            resp = fm;
        else if (resp && !fm->request && fm->method == SIP_METHOD_REGISTER &&
                 fm->status >= 200 && fm->status < 300)
            later_ok = true;
    }
    if (!resp) return;
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++)
        if (fm->request && fm->txn == resp->txn) {
            req = fm;
            break;
        }
    if (req && diag_parse(d, req)) asked = reg_expires(d);
    if (diag_parse(d, resp) && sip_msg_uint(d->sm, SIP_HDR_MIN_EXPIRES, &min, &err) == 0)
        has_min = true;
    f = diag_add(d, later_ok ? FLOW_SEV_INFO : FLOW_SEV_ERROR, "reg-interval-too-brief");
    if (!f) return;
    if (d->it->final_frame >= resp->frame && d->it->final_status >= 300)
        d->status_done = true;
    diag_printf(f->summary, sizeof(f->summary), "registration interval too brief (423)");
    diag_printf(f->detail, sizeof(f->detail),
                "the REGISTER asked for %lld s but the registrar wants at least %s%u s "
                "(Min-Expires)%s",
                (long long) asked, has_min ? "" : "?", min,
                later_ok ? "; a later REGISTER succeeded" : ": not registered");
    if (has_min)
        diag_printf(f->fix, sizeof(f->fix),
                    "raise the client's registration interval (Expires) to at least %u s",
                    min);
    else
        diag_printf(
            f->fix, sizeof(f->fix),
            "raise the client's registration interval to the registrar's minimum");
    if (req) diag_frame(f, req->frame);
    diag_frame(f, resp->frame);
}

/* Rule: a binding granted for E seconds passes E within the capture with no refresh. */
static void rule_expired(struct diag *d)
{
    const struct flow_msg *fm, *granted = NULL;
    uint64_t deadline = 0, end = flow_model_counts(d->m)->last_ns;
    int64_t e = -1;
    struct flow_finding *f;

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (fm->retrans || fm->method != SIP_METHOD_REGISTER) continue;
        if (fm->request) {
            if (granted && fm->ts_ns > deadline) break; /* refreshed too late */
            granted = NULL;                             /* refreshed in time */
            continue;
        }
        if (fm->status < 200 || fm->status >= 300 || !diag_parse(d, fm)) continue;
        e = reg_expires(d);
        if (e <= 0) continue; /* a removal, or nothing said */
        granted = fm;
        deadline = fm->ts_ns + (uint64_t) e * DIAG_NS_PER_S;
    }
    if (!granted || end <= deadline) return;
    f = diag_add(d, FLOW_SEV_WARNING, "binding-expired");
    if (!f) return;
    diag_printf(f->summary, sizeof(f->summary), "registration expired without refresh");
    diag_printf(f->detail, sizeof(f->detail),
                "the binding of %s was granted for %lld s, but no REGISTER refreshed it "
                "before it expired: calls to it fail (404/480) from then on",
                d->it->to, (long long) e);
    diag_printf(
        f->fix, sizeof(f->fix),
        "the client must re-register before the expiry (at about half of it); check "
        "that it still runs and reaches the registrar");
    diag_frame(f, granted->frame);
    if (fm) diag_frame(f, fm->frame);
}

/* Rule: refreshes of one registration (one Call-ID) to the same registrar from a new
 * source address: a NAT forgot and re-created its mapping (RFC 5626 §3.5). */
static void rule_rebind(struct diag *d)
{
    const struct flow_msg *fm, *prev = NULL;
    struct flow_finding *f;
    char a[64], b[64];

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (!fm->request || fm->retrans || fm->method != SIP_METHOD_REGISTER ||
            fm->transport != FLOW_UDP) /* TCP: a new connection is a new flow anyway */
            continue;
        if (prev && sk_sa_equal(&prev->dst, &fm->dst) &&
            !sk_sa_equal(&prev->src, &fm->src))
            break;
        if (!prev || sk_sa_equal(&prev->dst, &fm->dst)) prev = fm;
    }
    if (!fm || !prev) return;
    f = diag_add(d, FLOW_SEV_WARNING, "reg-nat-rebind");
    if (!f) return;
    diag_printf(f->summary, sizeof(f->summary),
                "registration moved to a new source (NAT?)");
    diag_printf(
        f->detail, sizeof(f->detail),
        "the registration of %s was refreshed from %s after %s %.1f s before: a NAT "
        "rebinding; requests sent to the old flow or Contact may not reach it",
        d->it->to, sk_sa_str(&fm->src, a, sizeof(a)), sk_sa_str(&prev->src, b, sizeof(b)),
        diag_secs(fm->ts_ns - prev->ts_ns));
    diag_printf(f->fix, sizeof(f->fix),
                "NAT rebinding: send keep-alives (CRLF/OPTIONS, RFC 5626) or use a "
                "registration interval shorter than the NAT's UDP timeout");
    diag_frame(f, prev->frame);
    diag_frame(f, fm->frame);
}

void diag_rules_reg(struct diag *d)
{
    if (d->it->kind != FLOW_ITEM_REGISTRATION) return;
    rule_423(d);
    rule_expired(d);
    rule_rebind(d);
}
