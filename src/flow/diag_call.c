/* Diagnosis rules about call setup and transactions: codec mismatch (488/415/606),
 * slow setup, INVITE timeouts, a proxy without 100 Trying, Timer C, a 2xx never
 * ACKed, CANCEL after the answer, 481, loops (482/483) and 503. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "flow/diag_int.h"

/* The kept request that opened transaction txn (its first copy), or NULL. */
static const struct flow_msg *txn_request_msg(const struct diag *d, int32_t txn)
{
    const struct flow_msg *fm;

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++)
        if (fm->request && fm->txn == txn && fm->method != SIP_METHOD_ACK) return fm;
    return NULL;
}

/* The first response to transaction txn, or NULL. */
static const struct flow_msg *txn_first_response(const struct diag *d, int32_t txn,
                                                 int min_status)
{
    const struct flow_msg *fm;

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++)
        if (!fm->request && fm->txn == txn && fm->status >= min_status) return fm;
    return NULL;
}

/* The first (not retransmitted) response with this status in the item, or NULL. */
static const struct flow_msg *first_status(const struct diag *d, int lo, int hi)
{
    const struct flow_msg *fm;

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++)
        if (!fm->request && !fm->retrans && fm->status >= lo && fm->status <= hi)
            return fm;
    return NULL;
}

/* The item's final came after (or is) this response: a rule that explains the
 * response explains the final too. */
static void explains_final(struct diag *d, const struct flow_msg *resp)
{
    if (d->it->final_frame >= resp->frame && d->it->final_status >= 300)
        d->status_done = true;
}

static bool codec_in(const char *list, const char *name)
{
    size_t l = strlen(name);

    for (const char *q = list; *q;) {
        size_t w = strcspn(q, ",");
        if (w == l && strncasecmp(q, name, l) == 0) return true;
        q += w;
        while (*q == ',' || *q == ' ')
            q++;
    }
    return false;
}

/* Rule: 488 / 606 (no acceptable media) or 415 (body type): what was offered and, when
 * the answerer's capabilities show (Warning, its SDP, Accept), what it wanted. */
static void rule_codec(struct diag *d)
{
    const struct flow_msg *resp = first_status(d, 415, 415), *req;
    char offered[96] = "", wanted[96] = "", warn[80] = "", accept[64] = "";
    struct flow_finding *f;
    struct sk_str v;

    if (!resp) resp = first_status(d, 488, 488);
    if (!resp) resp = first_status(d, 606, 606);
    if (!resp) return;
    req = txn_request_msg(d, resp->txn);
    if (req && req->has_sdp && diag_parse(d, req) && diag_parse_sdp(d))
        diag_sdp_codecs(d->sdp, offered, sizeof(offered));
    if (diag_parse(d, resp)) {
        const struct sip_hdr *h = sip_msg_hdr(d->sm, SIP_HDR_WARNING);
        if (h) {
            diag_printf(warn, sizeof(warn), "%.*s",
                        (int) (h->value.len < 79 ? h->value.len : 79), h->value.p);
            flow_codecs_in_text(h->value.p, h->value.len, wanted, sizeof(wanted));
        }
        if (sip_msg_text(d->sm, SIP_HDR_ACCEPT, &v) == 0 && v.p)
            diag_printf(accept, sizeof(accept), "%.*s", (int) (v.len < 63 ? v.len : 63),
                        v.p);
        if (d->sm->body.p && diag_parse_sdp(d))
            diag_sdp_codecs(d->sdp, wanted, sizeof(wanted));
    }
    f = diag_add(d, FLOW_SEV_ERROR,
                 resp->status == 415 ? "unsupported-body" : "codec-mismatch");
    if (!f) return;
    explains_final(d, resp);
    if (resp->status == 415) {
        diag_printf(f->summary, sizeof(f->summary), "body type refused (415)");
        diag_printf(f->detail, sizeof(f->detail), "%s refused the body of the %s%s%s",
                    sk_sa_str(&resp->src, warn, sizeof(warn)), resp->method_name,
                    accept[0] ? "; it accepts only " : "", accept);
        diag_printf(f->fix, sizeof(f->fix),
                    "send a body the far end accepts (application/sdp for a call)%s",
                    accept[0] ? ", see its Accept header" : "");
    } else {
        bool common = false;
        char lack[96] = "";
        size_t n = 0;

        for (const char *q = wanted; *q && !common;) {
            size_t w = strcspn(q, ",");
            char name[32];
            diag_printf(name, sizeof(name), "%.*s", (int) (w < 31 ? w : 31), q);
            common = codec_in(offered, name);
            if (n + w + 3 < sizeof(lack))
                n += (size_t) diag_printf(lack + n, sizeof(lack) - n, "%s%s",
                                          n ? ", " : "", name);
            q += w;
            while (*q == ',' || *q == ' ')
                q++;
        }
        diag_printf(f->summary, sizeof(f->summary), "no common codec (%d %s)",
                    resp->status, resp->reason);
        if (wanted[0] && !common)
            diag_printf(f->detail, sizeof(f->detail),
                        "the offer had %s; the answerer supports %s: the caller's offer "
                        "lacked %s",
                        offered[0] ? offered : "no SDP", wanted, lack);
        else
            diag_printf(f->detail, sizeof(f->detail),
                        "the offer had %s; the answerer accepted none of them%s%s",
                        offered[0] ? offered : "no SDP (late offer)",
                        warn[0] ? "; Warning: " : "", warn);
        if (wanted[0] && !common)
            diag_printf(
                f->fix, sizeof(f->fix),
                "enable %s on the caller, or one of the offered codecs on the callee",
                lack);
        else
            diag_printf(
                f->fix, sizeof(f->fix),
                "offer a codec both sides support (PCMU/PCMA are the common ground); "
                "check the callee's codec list");
    }
    if (req) diag_frame(f, req->frame);
    diag_frame(f, resp->frame);
    if (d->status_done) diag_frame(f, d->it->final_frame);
}

/* Rule: INVITE hops that were slow, retransmitted, or never answered (Timer A/B),
 * and proxies that did not send 100 Trying. */
static void rule_setup(struct diag *d)
{
    const struct flow_item *it = d->it;
    const struct flow_txn *t = d->txns;
    struct flow_finding *f;
    char who[64];

    if (it->kind != FLOW_ITEM_CALL) return;
    for (size_t i = d->txn_first; diag_txn_in_range(d, &i); i++) {
        const struct flow_txn *x = &t[i];
        const struct flow_msg *first, *last = NULL, *fm;
        bool proxy = false;

        if (x->item != (int32_t) d->index || x->method != SIP_METHOD_INVITE ||
            x->cseq != it->invite_cseq || !x->requests)
            continue;
        first = txn_first_response(d, (int32_t) i, 100);
        for (size_t k = d->msg_first; (fm = diag_next_msg(d, &k)) != NULL; k++)
            if (fm->request && fm->txn == (int32_t) i) last = fm;
        sk_sa_str(&x->server, who, sizeof(who));
        /* the server of this hop forwarded the INVITE: a proxy (RFC 3261 §16) */
        for (size_t k = i + 1; diag_txn_in_range(d, &k) && !proxy; k++)
            proxy = k != i && t[k].item == x->item && t[k].method == SIP_METHOD_INVITE &&
                    t[k].cseq == x->cseq && sk_sa_equal(&t[k].client, &x->server) &&
                    t[k].first_ns >= x->first_ns;
        if (!first && x->req_retrans >= 2 && !diag_has(d, "invite-timeout")) {
            /* RFC 3261 §17.1.1.2: Timer A doubles from T1; Timer B ends it at 64*T1 */
            f = diag_add(d, FLOW_SEV_ERROR, "invite-timeout");
            if (!f) return;
            diag_printf(f->summary, sizeof(f->summary),
                        "INVITE timed out (no answer from %s)", who);
            diag_printf(
                f->detail, sizeof(f->detail),
                "the INVITE to %s was sent %u times over %.1f s (Timer A) and never "
                "answered (Timer B)%s",
                who, x->requests, last ? diag_secs(last->ts_ns - x->first_ns) : 0.0,
                it->final_status == 408 ? ": the caller got 408" : "");
            diag_printf(
                f->fix, sizeof(f->fix),
                "%s does not answer: check that the callee is up, that its registered "
                "Contact (address, port, transport) is right and no firewall drops it",
                who);
            diag_frame(f, x->first_frame);
            if (last) diag_frame(f, last->frame);
            if (it->final_status == 408) {
                diag_frame(f, it->final_frame);
                d->status_done = true;
            }
        } else if (first && x->req_retrans >= 2 && !diag_has(d, "invite-retransmitted")) {
            /* one retransmission is a lost packet; a series is a problem */
            f = diag_add(d, FLOW_SEV_WARNING, "invite-retransmitted");
            if (!f) return;
            diag_printf(f->summary, sizeof(f->summary), "INVITE retransmitted %u time%s",
                        x->req_retrans, x->req_retrans > 1 ? "s" : "");
            diag_printf(f->detail, sizeof(f->detail),
                        "the INVITE to %s was retransmitted (Timer A) before its first "
                        "response, %.1f s later: packets lost on the way or a slow hop",
                        who, diag_secs(first->ts_ns - x->first_ns));
            diag_printf(
                f->fix, sizeof(f->fix),
                "check for loss between the hops and that %s answers at once (100 "
                "Trying)",
                who);
            diag_frame(f, x->first_frame);
            diag_frame(f, first->frame);
        }
        if (proxy && (!first || first->status != 100) &&
            (x->req_retrans ||
             (first && first->ts_ns > x->first_ns + DIAG_NO_TRYING_NS)) &&
            !diag_has(d, "no-100-trying")) {
            /* RFC 3261 §16.2: a stateful proxy sends 100 Trying for an INVITE */
            f = diag_add(d, FLOW_SEV_WARNING, "no-100-trying");
            if (!f) return;
            diag_printf(f->summary, sizeof(f->summary), "no 100 Trying from proxy %s",
                        who);
            diag_printf(
                f->detail, sizeof(f->detail),
                "the proxy %s forwarded the INVITE but sent no 100 Trying back, so "
                "the previous hop went on retransmitting it",
                who);
            diag_printf(f->fix, sizeof(f->fix),
                        "have the proxy answer every INVITE with 100 Trying at once (RFC "
                        "3261 §16.2)");
            diag_frame(f, x->first_frame);
            if (first) diag_frame(f, first->frame);
        }
        if (x->client.u.sa.sa_family && sk_sa_equal(&x->client, &it->caller)) {
            /* post-dial delay, as the caller hears it: 100 Trying plays nothing */
            const struct flow_msg *heard = txn_first_response(d, (int32_t) i, 101);
            uint64_t at = heard ? heard->ts_ns : 0;
            if (at > x->first_ns + DIAG_SLOW_SETUP_NS && !diag_has(d, "slow-setup")) {
                f = diag_add(d, FLOW_SEV_WARNING, "slow-setup");
                if (!f) return;
                diag_printf(f->summary, sizeof(f->summary), "slow setup (%.1f s to %d)",
                            diag_secs(at - x->first_ns), heard->status);
                diag_printf(
                    f->detail, sizeof(f->detail),
                    "the caller heard nothing for %.1f s after its INVITE: the first "
                    "response past 100 Trying was %d %s",
                    diag_secs(at - x->first_ns), heard->status, heard->reason);
                diag_printf(f->fix, sizeof(f->fix),
                            "see which hop is slow: DNS lookups, a callee that does not "
                            "answer, or retransmissions on the way");
                diag_frame(f, x->first_frame);
                diag_frame(f, heard->frame);
            }
        }
    }
}

/* Rule: the proxy's Timer C (RFC 3261 §16.8) cancelled the ringing branch: a CANCEL
 * the caller never sent. */
static void rule_timer_c(struct diag *d)
{
    const struct flow_item *it = d->it;
    const struct flow_msg *fm, *proxy_cancel = NULL;
    bool caller_cancel = false;
    struct flow_finding *f;
    char who[64];

    if (it->kind != FLOW_ITEM_CALL || !it->cancelled) return;
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (!fm->request || fm->method != SIP_METHOD_CANCEL || fm->retrans) continue;
        if (sk_sa_equal(&fm->src, &it->caller))
            caller_cancel = true;
        else if (!proxy_cancel)
            proxy_cancel = fm;
    }
    if (caller_cancel || !proxy_cancel || it->answer_ns) return;
    f = diag_add(d, FLOW_SEV_WARNING, "no-answer-timer-c");
    if (!f) return;
    sk_sa_str(&proxy_cancel->src, who, sizeof(who));
    diag_printf(f->summary, sizeof(f->summary), "no answer: proxy's Timer C cancelled");
    diag_printf(
        f->detail, sizeof(f->detail),
        "nobody answered; the proxy %s cancelled the branch after %.1f s of ringing "
        "(its Timer C, RFC 3261 §16.8): the caller did not hang up%s",
        who,
        it->ringing_ns && proxy_cancel->ts_ns > it->ringing_ns
            ? diag_secs(proxy_cancel->ts_ns - it->ringing_ns)
            : diag_secs(proxy_cancel->ts_ns - it->start_ns),
        it->final_status ? "; it got the final response" : "");
    diag_printf(f->fix, sizeof(f->fix),
                "normal when nobody answers; to ring longer raise the proxy's Timer C / "
                "no-answer timeout, or forward unanswered calls (voicemail)");
    diag_frame(f, proxy_cancel->frame);
    if (it->final_status >= 300) {
        diag_frame(f, it->final_frame);
        d->status_done = true;
    }
}

/* Rule: a 2xx to an INVITE retransmitted (RFC 3261 §13.3.1.4) with no ACK reaching the
 * callee that sent it. */
static void rule_no_ack(struct diag *d)
{
    const struct flow_msg *fm, *again = NULL, *orig = NULL, *lastr = NULL;
    unsigned count = 0;
    bool acked = false;
    struct flow_finding *f;
    char who[64];

    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++)
        if (!fm->request && fm->method == SIP_METHOD_INVITE && fm->retrans &&
            fm->status >= 200 && fm->status < 300 && !again)
            again = fm;
    if (!again) return;
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (fm->request && fm->method == SIP_METHOD_ACK && fm->cseq == again->cseq &&
            sk_sa_equal(&fm->dst, &again->src))
            acked = true;
        if (!fm->request && fm->method == SIP_METHOD_INVITE && fm->cseq == again->cseq &&
            fm->status == again->status && sk_sa_equal(&fm->src, &again->src)) {
            if (!orig) orig = fm;
            if (fm->retrans) {
                count++;
                lastr = fm;
            }
        }
    }
    if (acked) return;
    f = diag_add(d, FLOW_SEV_ERROR, "ack-missing");
    if (!f) return;
    sk_sa_str(&again->src, who, sizeof(who));
    diag_printf(f->summary, sizeof(f->summary), "%d never ACKed (%u retransmissions)",
                again->status, count);
    diag_printf(
        f->detail, sizeof(f->detail),
        "%s retransmitted its %d %s %u times over %.1f s and no ACK reached it: the "
        "caller did not get the 2xx, or its ACK went elsewhere; the callee ends the "
        "call after 64*T1",
        who, again->status, again->reason, count,
        orig && lastr ? diag_secs(lastr->ts_ns - orig->ts_ns) : 0.0);
    diag_printf(
        f->fix, sizeof(f->fix),
        "ACK not reaching the callee: check Record-Route/Contact reachability (the "
        "2xx's Contact and Record-Route must be addresses the caller can reach)");
    if (orig) diag_frame(f, orig->frame);
    diag_frame(f, again->frame);
    if (lastr) diag_frame(f, lastr->frame);
}

/* Rule: CANCEL sent after the 200 (they crossed): the call is up anyway (§9.1). */
static void rule_cancel_late(struct diag *d)
{
    const struct flow_item *it = d->it;
    const struct flow_msg *fm;
    struct flow_finding *f;

    if (it->kind != FLOW_ITEM_CALL || !it->answer_ns) return;
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (!fm->request || fm->method != SIP_METHOD_CANCEL || fm->retrans ||
            fm->ts_ns < it->answer_ns || fm->cseq != it->invite_cseq)
            continue;
        f = diag_add(d, FLOW_SEV_WARNING, "cancel-after-answer");
        if (!f) return;
        diag_printf(f->summary, sizeof(f->summary), "CANCEL crossed the 200");
        diag_printf(
            f->detail, sizeof(f->detail),
            "the CANCEL came %.3f s after the call was answered: it has no effect "
            "(RFC 3261 §9.1); the call is up%s",
            diag_secs(fm->ts_ns - it->answer_ns),
            it->ended == FLOW_END_NONE ? " and no BYE followed" : "");
        diag_printf(f->fix, sizeof(f->fix),
                    "the caller must ACK the 200 and send BYE to hang up; normal if rare "
                    "(hang-up at the moment of answer)");
        diag_frame(f, it->final_frame);
        diag_frame(f, fm->frame);
        return;
    }
}

/* Rules: 481 to a request in a dialog, 482/483 loops, 503 (with Retry-After). */
static void rule_responses(struct diag *d)
{
    const struct flow_msg *fm, *req;
    struct flow_finding *f;
    char who[64];

    fm = first_status(d, 481, 481);
    if (fm) {
        req = txn_request_msg(d, fm->txn);
        f = diag_add(d, FLOW_SEV_ERROR, "no-such-dialog");
        if (!f) return;
        explains_final(d, fm);
        sk_sa_str(&fm->src, who, sizeof(who));
        diag_printf(f->summary, sizeof(f->summary), "481 to %s", fm->method_name);
        diag_printf(
            f->detail, sizeof(f->detail),
            "%s knows no dialog or transaction for the %s (481): it had already "
            "ended the call, or the request's Call-ID, tags or route do not match",
            who, fm->method_name);
        diag_printf(
            f->fix, sizeof(f->fix),
            "check that both sides agree the call is up (session timers, a missed "
            "BYE) and that proxies keep Call-ID, tags and Record-Route intact");
        if (req) diag_frame(f, req->frame);
        diag_frame(f, fm->frame);
    }
    fm = first_status(d, 482, 483);
    if (fm) {
        req = txn_request_msg(d, fm->txn);
        f = diag_add(d, FLOW_SEV_ERROR, "routing-loop");
        if (!f) return;
        explains_final(d, fm);
        sk_sa_str(&fm->src, who, sizeof(who));
        diag_printf(f->summary, sizeof(f->summary), "routing loop (%d)", fm->status);
        diag_printf(f->detail, sizeof(f->detail), "%s answered %d %s: %s", who,
                    fm->status, fm->reason,
                    fm->status == 482 ? "the request came back to a proxy it had passed"
                                      : "Max-Forwards reached 0, the request went round "
                                        "too many hops");
        diag_printf(
            f->fix, sizeof(f->fix),
            "check the routing: a proxy forwards the request to itself or to a peer "
            "that sends it back (default routes, DNS/SRV, trunks both ways)");
        if (req) diag_frame(f, req->frame);
        diag_frame(f, fm->frame);
    }
    fm = first_status(d, 503, 503);
    if (fm) {
        const struct sip_retry_after *ra = NULL;
        struct sip_error err;
        char after[40] = "";

        if (diag_parse(d, fm) && sip_msg_retry_after(d->sm, &ra, &err) == 0 && ra)
            diag_printf(after, sizeof(after), ", Retry-After %u s", ra->delta);
        f = diag_add(d, FLOW_SEV_ERROR, "server-unavailable");
        if (!f) return;
        explains_final(d, fm);
        sk_sa_str(&fm->src, who, sizeof(who));
        diag_printf(f->summary, sizeof(f->summary), "%s unavailable (503%s)", who, after);
        diag_printf(f->detail, sizeof(f->detail),
                    "%s answered 503 %s%s: overloaded, in maintenance or without a route",
                    who, fm->reason, after);
        if (d->it->final_status && d->it->final_status != 503)
            diag_printf(f->detail + strlen(f->detail),
                        sizeof(f->detail) - strlen(f->detail), "; the caller got %d %s",
                        d->it->final_status, d->it->final_reason);
        diag_printf(
            f->fix, sizeof(f->fix),
            "check the server at %s (load, trunks, maintenance); wait Retry-After "
            "before trying it again; a proxy should try another destination",
            who);
        req = txn_request_msg(d, fm->txn);
        if (req) diag_frame(f, req->frame);
        diag_frame(f, fm->frame);
        if (d->it->final_frame > fm->frame) diag_frame(f, d->it->final_frame);
    }
}

void diag_rules_call(struct diag *d)
{
    rule_codec(d);
    rule_setup(d);
    rule_timer_c(d);
    rule_no_ack(d);
    rule_cancel_late(d);
    rule_responses(d);
}
