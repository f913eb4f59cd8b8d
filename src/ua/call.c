/* Calls (RFC 3261 §13-15, RFC 3264): INVITE client and server sessions, CANCEL, forked 2xx, BYE, media start and stop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/rand.h"
#include "media/stream.h"
#include "sdp/sdp.h"
#include "sip/dialog.h"
#include "sip/print.h"
#include "ua/prack.h"
#include "ua/reinvite.h"
#include "ua/timer.h"
#include "ua/ua_int.h"

enum call_state {
    CALL_OUT_TRYING,   /* INVITE sent, nothing but 100 yet */
    CALL_OUT_EARLY,    /* a 101-199 came */
    CALL_IN_RINGING,   /* INVITE received, 180 sent */
    CALL_IN_ANSWERED,  /* 200 sent, waiting for the ACK */
    CALL_ACTIVE,       /* confirmed dialog */
    CALL_ENDING,       /* BYE or CANCEL sent */
    CALL_ENDED,
};

static const char *const state_names[] = {"calling", "early", "ringing", "answered",
                                          "active", "ending", "ended"};

struct ua_call {
    struct ua_call *next;
    struct ua *u;
    unsigned id;
    enum call_state state;
    bool outgoing;
    char peer[UA_STR_MAX];
    struct sip_dlg *dlg;          /* the dialog we keep (UAC: the first with a 2xx, or
                                     the first early one until then) */
    /* UAC */
    struct sip_txn *ict;          /* our INVITE's client transaction */
    struct sip_txn *bye;          /* our BYE's client transaction, until it terminates */
    struct sk_buf invite;         /* the last INVITE we sent (for the dialog and auth) */
    char target[UA_STR_MAX];      /* Request-URI */
    char call_id[96], from_tag[24];
    uint32_t cseq;
    struct sip_dest dst;
    struct sip_digest_client dc;
    unsigned auth_tries;
    bool cancel_asked;
    struct sk_buf ack;            /* the ACK for the 2xx, resent for its retransmissions */
    struct sip_dest ack_dst;
    struct ua_redirect *redir;    /* 3xx followed (redirect.c), NULL until one came */
    char ruri[UA_STR_MAX];        /* the Request-URI after a redirect, "" = target */
    /* UAS */
    struct sip_txn *ist;          /* the INVITE's server transaction (referenced) */
    char *inv_buf;                /* copy of the INVITE, parsed into inv */
    struct sip_msg *inv;
    struct sk_sa inv_src;
    char local_tag[24];
    struct sk_buf resp_2xx;       /* our 200, retransmitted until the ACK (§13.3.1.4) */
    uint32_t retx_ms, retx_total;
    bool late_offer;              /* the INVITE had no SDP: our offer went in the 200 */
    /* SDP and media */
    struct sdp_local sdp_local;
    struct sdp_session *offer_sent; /* our last offer (UAC, or UAS with a late offer) */
    struct sdp_session *remote;     /* the peer's last description */
    struct sdp_neg neg;
    bool media_started;
    bool records;                 /* this call's stream writes --record */
    struct media_stream *media;
    /* Timers */
    struct sk_timer t_answer, t_no_answer, t_2xx;
    uint64_t answered_at;
    /* Re-INVITEs: hold, resume, glare (the section "Re-INVITE" below) */
    bool local_hold, remote_hold;  /* we hold the peer / the peer holds us (agreed) */
    bool hold_wanted;              /* what the user asked for last */
    bool reinv_hold;               /* what our pending re-INVITE asks for */
    bool reinv_pending;            /* our re-INVITE has no final response yet */
    struct sip_txn *reinv;         /* the last one's client transaction */
    unsigned reinv_live;           /* our re-INVITE transactions not yet terminated */
    uint32_t reinv_cseq;
    struct sdp_session *reinv_offer; /* the offer it carries */
    struct sk_buf reinv_ack;       /* the ACK for its 2xx, resent for retransmissions */
    struct sip_dest reinv_ack_dst;
    struct sk_timer t_glare;       /* §14.1: the retry after a 491 */
    struct sip_txn *re_st;         /* a re-INVITE we answered 2xx, until its ACK */
    uint32_t re_cseq;
    struct sk_buf re_2xx;          /* that 2xx, retransmitted (§13.3.1.4) */
    uint32_t re_retx_ms, re_retx_total;
    struct sk_timer t_re2xx;
    /* RFC 3262 (prack.h; the section "100rel and session timers" below) */
    bool reliable;                 /* UAS: our 18x to this INVITE are reliable */
    struct ua_prack_uas prack;
    struct sk_buf rel_resp;        /* the reliable 18x in flight, retransmitted */
    struct sk_timer t_rel;
    bool answer_waits;             /* ua_answer came while a reliable 18x was unPRACKed */
    struct ua_prack_uac prack_uac;
    unsigned prack_live;           /* our PRACK transactions not yet terminated */
    /* RFC 4028 (timer.h) */
    struct ua_se_result se;        /* the session timer agreed (se.active) */
    bool se_we_uac;                /* we sent the request that set it */
    bool se_failed;                /* our refresh failed: the BYE comes at the expiry */
    uint32_t se_ask;               /* the Session-Expires our INVITE asks for (422 raises it) */
    uint32_t se_min;               /* the Min-SE of a 422, put in the retry */
    unsigned se_tries;             /* 422s answered */
    bool peer_update;              /* the peer Allows UPDATE: refresh with it */
    bool reinv_refresh;            /* our pending re-INVITE is a session refresh */
    unsigned se_live;              /* our UPDATE refreshes not yet terminated */
    struct sk_timer t_se;
    /* How it ended */
    int end_status;
    char end_reason[128];
    const char *end_by;           /* "local", "remote", "rtp-timeout" */
};

static void call_end(struct ua_call *c, int status, const char *reason, const char *by);
static void reinvite_free(struct ua_call *c);
static void reinvite_stop(struct ua_call *c);
static void reinvite_init(struct ua_call *c);
static const char *hold_status(const struct ua_call *c);
static void ext_init(struct ua_call *c);
static void ext_stop(struct ua_call *c);
static bool reinvite_busy(const struct ua_call *c);
static int reinvite_send(struct ua_call *c);
static void call_provisional(struct ua_call *c, int code);
static bool invite_extensions_ok(struct ua *u, struct sip_txn *st, struct sip_rx *rx,
                                 const char *tag, enum ua_prack_mode *pm,
                                 struct ua_se_result *se);
static bool prack_uac_drop(struct ua_call *c, struct sip_msg *m);
static bool se_retry_422(struct ua_call *c, struct sip_msg *m);
static void se_uac_done(struct ua_call *c, struct sip_msg *m, bool initial);
static void se_arm(struct ua_call *c);
static void se_request_lines(struct ua_call *c, char *buf, size_t size);
static bool allows_update(struct sip_msg *m);

/* ---- Helpers ---- */

static struct ua_call *call_find(struct ua *u, unsigned id)
{
    struct ua_call *c = u->calls, *only = NULL;
    size_t n = 0;
    for (; c; c = c->next) {
        if (c->state == CALL_ENDED)
            continue;
        if (id && c->id == id)
            return c;
        n++;
        only = c;
    }
    return id == 0 && n == 1 ? only : NULL;
}

static struct ua_call *call_by_dialog(struct ua *u, const struct sip_msg *m)
{
    for (struct ua_call *c = u->calls; c; c = c->next)
        if (c->dlg && c->state != CALL_ENDED && sip_dlg_match(c->dlg, m))
            return c;
    return NULL;
}

static void call_free(struct ua_call *c)
{
    struct ua *u = c->u;
    sk_timer_stop(u->loop, &c->t_answer);
    sk_timer_stop(u->loop, &c->t_no_answer);
    sk_timer_stop(u->loop, &c->t_2xx);
    ext_stop(c);
    sk_buf_free(&c->rel_resp);
    reinvite_free(c);
    if (c->media)
        media_stream_free(c->media);
    if (c->records)
        u->recording = false;
    if (c->dlg)
        sip_dlg_free(c->dlg);
    if (c->ist)
        sip_txn_unref(c->ist);
    if (c->inv) {
        sip_msg_release(c->inv);
        free(c->inv);
    }
    free(c->inv_buf);
    free(c->offer_sent);
    free(c->remote);
    free(c->redir);
    sk_buf_free(&c->invite);
    sk_buf_free(&c->ack);
    sk_buf_free(&c->resp_2xx);
    free(c);
}

/* Remove ended calls whose transactions no longer need them. */
static void calls_reap(struct ua *u)
{
    struct ua_call **pp = &u->calls;
    while (*pp) {
        struct ua_call *c = *pp;
        if (c->state == CALL_ENDED && !c->ict && !c->bye && !c->reinv_live && !c->prack_live &&
            !c->se_live) {
            *pp = c->next;
            call_free(c);
        } else {
            pp = &c->next;
        }
    }
}

static void on_reap(struct sk_loop *loop, void *arg)
{
    (void) loop;
    calls_reap(arg);
}

static void reap_soon(struct ua *u)
{
    if (!u->freeing)
        sk_loop_post(u->loop, on_reap, u);
}

static void media_dtmf(void *arg, char digit, uint32_t duration_ms)
{
    struct ua_call *c = arg;
    struct ua_event ev = {.type = UA_EV_DTMF, .call = c->id, .digit = digit,
                          .duration_ms = duration_ms, .peer = c->peer};
    ua_emit(c->u, &ev);
}

static void media_timeout(void *arg)
{
    struct ua_call *c = arg;
    SK_INFO("call %u: no RTP for %u s, ending it", c->id, c->u->cfg.rtp_timeout_s);
    snprintf(c->end_reason, sizeof(c->end_reason), "no RTP from the peer for %u s",
             c->u->cfg.rtp_timeout_s);
    c->end_status = 408;
    c->end_by = "rtp-timeout";
    ua_hangup(c->u, c->id);
    /* §15.1.1: the session is over once the BYE is sent; a peer that went
     * silent will not answer it (a proxy's 408 comes only after Timer F) */
    call_end(c, 408, c->end_reason, "rtp-timeout");
}

static int call_media_new(struct ua_call *c)
{
    struct ua *u = c->u;
    struct media_stream_events ev = {media_dtmf, media_timeout, c};
    char ip[64];
    int err;

    if ((err = media_stream_new(&c->media, u->loop, &u->local.addr, u->cfg.rtp_port_min,
                                u->cfg.rtp_port_max, &u->next_rtp_port, u->cfg.play,
                                u->cfg.record[0] && !u->recording ? u->cfg.record : NULL,
                                u->cfg.rtp_timeout_s,
                                &ev)))
        return err;
    /* one recording file: the first call with media writes it */
    if (u->cfg.record[0] && !u->recording) {
        u->recording = true;
        c->records = true;
    }
    sk_sa_ip(&u->local.addr, ip, sizeof(ip));
    if ((err = sdp_local_init(&c->sdp_local, ip, media_stream_port(c->media))))
        return err;
    c->sdp_local.ptime = u->cfg.ptime_ms;
    /* --codecs: our preference order among the G.711 pair */
    c->sdp_local.ncodec = 0;
    for (const char *p = u->cfg.codecs; *p && c->sdp_local.ncodec < SDP_MAX_CODECS;) {
        size_t n = strcspn(p, ",");
        struct sdp_codec *k = &c->sdp_local.codec[c->sdp_local.ncodec];
        memset(k, 0, sizeof(*k));
        k->clock = 8000;
        if (n == 4 && strncasecmp(p, "PCMU", 4) == 0) {
            k->pt = 0;
            snprintf(k->name, sizeof(k->name), "PCMU");
            c->sdp_local.ncodec++;
        } else if (n == 4 && strncasecmp(p, "PCMA", 4) == 0) {
            k->pt = 8;
            snprintf(k->name, sizeof(k->name), "PCMA");
            c->sdp_local.ncodec++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (c->sdp_local.ncodec == 0)
        return EINVAL;
    return 0;
}

/* Start or change the media after an offer/answer exchange completed. */
static void call_media_apply(struct ua_call *c)
{
    struct media_stream_params p;

    if (!c->media || !c->neg.active)
        return;
    memset(&p, 0, sizeof(p));
    p.remote_rtp = c->neg.rtp;
    p.remote_rtcp = c->neg.rtcp;
    p.pt = c->neg.codec.pt;
    snprintf(p.codec, sizeof(p.codec), "%s", c->neg.codec.name);
    p.clock_rate = c->neg.codec.clock ? c->neg.codec.clock : 8000;
    p.dtmf_pt = c->neg.te_pt;
    p.ptime_ms = c->neg.ptime ? c->neg.ptime : 20;
    p.send = c->neg.send;
    p.recv = c->neg.recv;
    int err = media_stream_start(c->media, &p);
    if (err == 0)
        c->media_started = true;
    else /* not silent: the call goes on, but without audio */
        SK_WARN("call %u: media not started (%s, ptime %u ms): %s", c->id, p.codec, p.ptime_ms,
                strerror(err));
}

static int sdp_body(const struct sdp_session *s, struct sk_buf *out)
{
    return sdp_print(s, out);
}

static const char sdp_ctype[] = "application/sdp";

static bool has_sdp(struct sip_msg *m)
{
    const struct sip_ctype *ct;
    size_t n;
    struct sip_error e;
    if (m->body.len == 0)
        return false;
    if (sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &e) != 0 || n == 0)
        return false;
    return sk_str_ieq_cstr(ct[0].type, "application") && sk_str_ieq_cstr(ct[0].subtype, "sdp");
}

/* A request in the dialog printed into b, and where it goes (§12.2.1.1: to the
 * first route, else the remote target; with no route set, i.e. no proxy recorded
 * itself, an outbound proxy still carries the request). */
static int dlg_build(struct ua_call *c, const char *method, const char *extra, struct sk_str ctype,
                     struct sk_str body, struct sk_buf *b, struct sip_dest *d)
{
    struct ua *u = c->u;
    struct sip_dlg_req r;
    struct sip_req_out out;
    int err;

    memset(&r, 0, sizeof(r));
    r.method = sk_str_cstr(method);
    r.c.proto = u->local.proto;
    r.c.sent_by = &u->local.addr;
    r.c.user_agent = sk_str_cstr("sipkit/0.1.0");
    char ex[512];
    ex[0] = '\0';
    if (strcmp(method, "INVITE") == 0 || strcmp(method, "UPDATE") == 0) {
        bool rel = u->cfg.rel100 != UA_REL100_OFF;
        r.c.allow = sk_str_cstr(rel ? "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK"
                                    : "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE");
        r.c.supported = sk_str_cstr(rel ? "replaces, 100rel, timer" : "replaces, timer");
        /* RFC 4028 §7.4: every re-INVITE/UPDATE refreshes the session timer */
        se_request_lines(c, ex, sizeof(ex));
    }
    if (extra || ex[0]) {
        size_t n = strlen(ex);
        snprintf(ex + n, sizeof(ex) - n, "%s", extra ? extra : "");
        r.c.extra = sk_str_cstr(ex);
    }
    r.c.ctype = ctype;
    r.c.body = body;
    if ((err = sip_dlg_request(c->dlg, &r, b, &out)))
        return err;
    if (u->have_proxy && c->dlg->nroutes == 0) {
        *d = u->proxy_dst;
        return 0;
    }
    return ua_dest_direct(u, &out.next_hop, d);
}

/* Send a request in the dialog through a new client transaction. */
static int dlg_send(struct ua_call *c, const char *method, const char *extra, struct sk_str ctype,
                    struct sk_str body, const struct sip_txn_user *user, struct sip_txn **tp,
                    struct sk_buf *keep, struct sip_dest *dst_out)
{
    struct ua *u = c->u;
    struct sip_dest d;
    struct sk_buf b;
    int err;

    sk_buf_init(&b);
    if ((err = dlg_build(c, method, extra, ctype, body, &b, &d)))
        goto out;
    if (dst_out)
        *dst_out = d;
    if (user) {
        err = sip_txn_client_new(u->txl, u->loop, b.p, b.len, &d, user, c, tp);
    } else {
        /* ACK for a 2xx: no transaction (§17.1.1.3); the TU resends it */
        err = sip_tpm_send(u->tpm, &d, b.p, b.len);
    }
    if (!err && keep)
        err = sk_buf_set_exact(keep, b.p, b.len);
out:
    sk_buf_free(&b);
    return err;
}

/* ---- The end of a call ---- */

static void call_end(struct ua_call *c, int status, const char *reason, const char *by)
{
    struct ua *u = c->u;
    struct media_report rep;
    struct ua_event ev = {.type = UA_EV_HUNGUP, .call = c->id, .peer = c->peer};

    if (c->state == CALL_ENDED)
        return;
    c->state = CALL_ENDED;
    sk_timer_stop(u->loop, &c->t_answer);
    sk_timer_stop(u->loop, &c->t_no_answer);
    sk_timer_stop(u->loop, &c->t_2xx);
    reinvite_stop(c);
    ext_stop(c);
    ev.status = c->end_status ? c->end_status : status;
    ev.reason = c->end_reason[0] ? c->end_reason : reason;
    ev.text = c->end_by ? c->end_by : by;
    if (c->answered_at)
        ev.duration_ms = sk_loop_now(u->loop) - c->answered_at;
    if (c->media) {
        media_stream_stop(c->media);
        if (c->media_started) {
            media_stream_report(c->media, &rep);
            ev.report = &rep;
        }
    }
    ua_emit(u, &ev);
    /* free it after this turn: the caller may still be inside one of its callbacks */
    reap_soon(u);
}

/* ---- UAC: our INVITE ---- */

static void send_invite(struct ua_call *c);

/* The BYE to a second fork needs no answer: the dialog is gone either way. */
static void fork_bye_terminated(struct sip_txn *t, void *arg)
{
    (void) arg;
    sip_txn_unref(t);
}

static void fork_bye_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    (void) t;
    (void) arg;
    (void) rx;
    (void) status;
}

static const struct sip_txn_user fork_bye_user = {fork_bye_response, fork_bye_terminated};

static void ack_and_bye_fork(struct ua_call *c, struct sip_msg *resp, struct sip_msg *req)
{
    /* §13.2.2.4: a 2xx from a second fork: ACK it, then BYE that dialog */
    struct sip_dlg *keep = c->dlg, *d = NULL;
    struct sip_txn *t = NULL;

    if (sip_dlg_new_uac(&d, req, resp, false) != 0)
        return;
    c->dlg = d;
    dlg_send(c, "ACK", NULL, SK_STR_NULL, SK_STR_NULL, NULL, NULL, NULL, NULL);
    dlg_send(c, "BYE", "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n", SK_STR_NULL,
             SK_STR_NULL, &fork_bye_user, &t, NULL, NULL);
    c->dlg = keep;
    sip_dlg_free(d);
    SK_INFO("call %u: second 2xx (another fork) acknowledged and hung up", c->id);
}


/* The SDP of a 18x or 2xx: an answer to our offer, or (late offer) the offer. */
static int take_remote_sdp(struct ua_call *c, struct sip_msg *m)
{
    struct sdp_error se;
    struct sdp_oa_fail fail;
    struct sdp_session *s;

    if (!has_sdp(m))
        return ENOENT;
    if (!c->remote && !(c->remote = malloc(sizeof(*c->remote))))
        return ENOMEM;
    s = c->remote;
    if (sdp_parse(s, m->body.p, m->body.len, &se) != 0) {
        SK_WARN("call %u: bad SDP in %d: %s", c->id, m->status, se.reason);
        return EBADMSG;
    }
    if (sdp_answer_apply(c->offer_sent, s, &c->neg, &fail) != 0) {
        SK_WARN("call %u: unusable SDP answer: %s", c->id, fail.text);
        return EPROTO;
    }
    call_media_apply(c);
    return 0;
}

/* §8.1.3.4: a 3xx: its Contacts are tried in q order, each by a new INVITE
 * (same Call-ID, From and To, CSeq + 1, new branch); a failure of a redirected
 * INVITE moves on to the next Contact. False: nothing (more) to try. */
static bool call_redirect(struct ua_call *c, struct sip_msg *m, int status)
{
    struct ua *u = c->u;
    const struct sip_addr *ct;
    size_t n = 0;
    struct sip_error e;
    char next[UA_STR_MAX];

    if (status >= 300 && status < 400 && m && u->cfg.max_redirects) {
        if (!c->redir && (c->redir = malloc(sizeof(*c->redir))))
            ua_redirect_init(c->redir, c->target);
        if (c->redir && sip_msg_addrs(m, SIP_HDR_CONTACT, &ct, &n, &e) == 0)
            ua_redirect_add(c->redir, ct, n, u->cfg.max_redirects);
    }
    while (c->redir && ua_redirect_next(c->redir, next, sizeof(next))) {
        struct sip_uri uri;
        struct ua_event ev = {.type = UA_EV_REDIRECTED, .call = c->id, .status = status,
                              .peer = c->peer, .text = next};
        if (sip_uri_parse(&uri, next, strlen(next), &e) || ua_dest_for_uri(u, &uri, &c->dst))
            continue;
        snprintf(c->ruri, sizeof(c->ruri), "%s", next);
        ua_emit(u, &ev);
        c->auth_tries = 0;
        if (c->dlg) {
            sip_dlg_free(c->dlg);
            c->dlg = NULL;
        }
        send_invite(c);
        return true;
    }
    return false;
}

static void on_invite_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_call *c = arg;
    struct ua *u = c->u;
    struct sip_msg *m = rx ? rx->msg : NULL;
    struct sip_msg req;
    char reason[256];
    size_t used;
    struct sip_error pe;

    (void) t;
    if (m)
        sk_str_copy(reason, sizeof(reason), m->reason);
    else
        snprintf(reason, sizeof(reason), "%s",
                 status == 408 ? "no answer (Timer B)" : "transport error: unreachable");
    if (status >= 200 && status < 300 &&
        (c->state == CALL_ACTIVE || c->state == CALL_ENDING)) {
        /* ENDING too: a 2xx retransmission after our BYE must not answer the call again */
        /* a retransmission of the 2xx: our ACK was lost (§13.2.2.4) */
        if (m && c->dlg && sip_dlg_match(c->dlg, m)) {
            if (c->ack.len)
                sip_tpm_send(u->tpm, &c->ack_dst, c->ack.p, c->ack.len);
        } else if (m) {
            sip_msg_init(&req);
            if (sip_msg_parse(&req, c->invite.p, c->invite.len, SIP_PARSE_DATAGRAM, NULL, &used,
                              &pe) == 0)
                ack_and_bye_fork(c, m, &req);
            sip_msg_release(&req);
        }
        return;
    }
    if (c->state == CALL_ENDED) {
        /* a 2xx after we gave up (CANCEL lost the race, §9.1): ACK and BYE it */
        if (m && status >= 200 && status < 300) {
            sip_msg_init(&req);
            if (sip_msg_parse(&req, c->invite.p, c->invite.len, SIP_PARSE_DATAGRAM, NULL, &used,
                              &pe) == 0)
                ack_and_bye_fork(c, m, &req);
            sip_msg_release(&req);
        }
        return;
    }
    if (status == 100)
        return;
    if (status < 200 || (status < 300)) {
        /* a response that makes or confirms a dialog (§12.1.2, §13.2.2.4) */
        if (m && sip_dlg_response_creates(m)) {
            sip_msg_init(&req);
            if (sip_msg_parse(&req, c->invite.p, c->invite.len, SIP_PARSE_DATAGRAM, NULL, &used,
                              &pe) == 0) {
                if (!c->dlg) {
                    if (sip_dlg_new_uac(&c->dlg, &req, m, false) != 0)
                        c->dlg = NULL;
                } else if (sip_dlg_match(c->dlg, m)) {
                    sip_dlg_uac_response(c->dlg, m);
                } else if (status >= 200) {
                    /* the 2xx came from another fork than the early dialog we
                     * kept: that one is now the call */
                    struct sip_dlg *d = NULL;
                    if (sip_dlg_new_uac(&d, &req, m, false) == 0) {
                        sip_dlg_free(c->dlg);
                        c->dlg = d;
                    }
                }
            }
            sip_msg_release(&req);
        }
    }
    if (status < 200) {
        /* RFC 3262 §4: a reliable one out of order or again is not processed */
        if (m && prack_uac_drop(c, m))
            return;
        int sdp = m ? take_remote_sdp(c, m) : ENOENT;
        struct ua_event ev = {.call = c->id, .status = status, .reason = reason, .peer = c->peer};
        c->state = CALL_OUT_EARLY;
        if (sdp == 0) {
            ev.type = UA_EV_EARLY_MEDIA;
            ua_emit(u, &ev);
        } else if (status == 180) {
            ev.type = UA_EV_RINGING;
            ua_emit(u, &ev);
        }
        return;
    }
    if (status < 300) {
        int sdp;
        sk_timer_stop(u->loop, &c->t_no_answer);
        if (!c->dlg) {
            /* a 2xx without a To tag: an RFC 2543 peer; nothing to ACK into */
            call_end(c, 502, "2xx without a dialog", "remote");
            return;
        }
        if (dlg_send(c, "ACK", NULL, SK_STR_NULL, SK_STR_NULL, NULL, NULL, &c->ack,
                     &c->ack_dst) != 0)
            SK_WARN("call %u: could not send the ACK", c->id);
        sdp = take_remote_sdp(c, m);
        if (sdp != 0 && !c->media_started) {
            /* RFC 3264 §5: the offer needs an answer; without a usable one the
             * session cannot go on */
            c->state = CALL_ACTIVE;
            c->end_status = 488;
            snprintf(c->end_reason, sizeof(c->end_reason), "%s",
                     sdp == ENOENT ? "the 2xx carried no SDP answer" : "unusable SDP answer");
            c->end_by = "local";
            ua_hangup(u, c->id);
            return;
        }
        if (c->cancel_asked) {
            /* we hung up while it was being answered: end it properly */
            c->state = CALL_ACTIVE;
            ua_hangup(u, c->id);
            return;
        }
        c->state = CALL_ACTIVE;
        c->answered_at = sk_loop_now(u->loop);
        c->peer_update = allows_update(m);
        struct ua_event ev = {.type = UA_EV_ANSWERED, .call = c->id, .status = status,
                              .reason = reason, .peer = c->peer};
        ua_emit(u, &ev);
        /* RFC 4028 §7.2: the session timer the 2xx sets (none without Session-Expires) */
        if ((c = call_find(u, ev.call)) && c->state == CALL_ACTIVE)
            se_uac_done(c, m, true);
        return;
    }
    /* a final failure: the early dialogs end too (§12.3) */
    if (status == 422 && m && !c->cancel_asked && se_retry_422(c, m))
        return; /* RFC 4028 §7.3: again with the Min-SE asked for */
    if ((status == 401 || status == 407) && m && !c->cancel_asked) {
        struct sip_digest_client dc;
        if (!u->cfg.password[0]) {
            call_end(c, status, "authentication required and no password given", "remote");
            return;
        }
        if (sip_digest_client_pick(m, &dc) != 0) {
            call_end(c, status, "no digest challenge we can answer", "remote");
            return;
        }
        /* one answer per challenge; a second challenge for the same credentials
         * means they are wrong (no auth loop), unless the nonce merely went stale */
        if ((c->auth_tries >= 1 && !dc.stale) || c->auth_tries >= 3) {
            call_end(c, status, "authentication failed (wrong user name or password?)",
                     "remote");
            return;
        }
        c->auth_tries++;
        c->dc = dc;
        if (c->dlg) {
            sip_dlg_free(c->dlg);
            c->dlg = NULL;
        }
        send_invite(c);
        return;
    }
    if (!c->cancel_asked && call_redirect(c, m, status))
        return;
    /* RFC 3261 §20.43: a Warning says why (RFC 3264 §6: 305 incompatible media) */
    const struct sip_hdr *w = m ? sip_msg_hdr_by_name(m, "Warning") : NULL;
    if (w) {
        size_t n = strlen(reason);
        snprintf(reason + n, sizeof(reason) - n, " (Warning: %.*s)", (int) w->value.len,
                 w->value.p);
        for (char *q = reason + n; *q; q++)
            if ((unsigned char) *q < 0x20 || *q == 0x7f)
                *q = ' '; /* a folded header: events are one line each */
    }
    call_end(c, status, reason, c->cancel_asked ? "local" : "remote");
}

static void on_invite_terminated(struct sip_txn *t, void *arg)
{
    struct ua_call *c = arg;
    if (c->ict == t)
        c->ict = NULL;
    sip_txn_unref(t);
    if (c->state == CALL_ENDED)
        reap_soon(c->u);
}

static const struct sip_txn_user invite_user = {on_invite_response, on_invite_terminated};

static void send_invite(struct ua_call *c)
{
    struct ua *u = c->u;
    struct sk_buf b, body;
    char branch[48];
    struct sip_txn *t = NULL;
    int err;

    sk_buf_init(&b);
    sk_buf_init(&body);
    /* §8.1.1.5: the retry after a challenge is a new request with CSeq + 1 */
    c->cseq++;
    /* §8.1.3.4: after a redirect the Request-URI is the Contact; To stays */
    ua_print_request_head(u, &b, "INVITE", c->ruri[0] ? c->ruri : c->target, c->from_tag,
                          c->target, NULL, c->call_id, c->cseq, branch, sizeof(branch));
    sk_buf_puts(&b, u->caps);
    if (u->cfg.rel100 == UA_REL100_REQUIRED)
        sk_buf_puts(&b, "Require: 100rel\r\n");
    if (c->se_ask) {
        /* RFC 4028 §7.1; after a 422 its Min-SE goes in the retry */
        sip_print_hdrf(&b, "Session-Expires", "%u", c->se_ask);
        sip_print_hdrf(&b, "Min-SE", "%u", c->se_min ? c->se_min : u->cfg.min_se);
    }
    if (c->auth_tries)
        sip_digest_client_authorize(&b, &c->dc, u->auth_user, u->cfg.password,
                                    sk_str_cstr("INVITE"),
                                    sk_str_cstr(c->ruri[0] ? c->ruri : c->target), NULL);
    sdp_body(c->offer_sent, &body);
    sip_print_body(&b, sk_str_cstr(sdp_ctype), sk_buf_str(&body));
    sk_buf_free(&body);
    if (b.failed || sk_buf_set_exact(&c->invite, b.p, b.len)) {
        sk_buf_free(&b);
        call_end(c, 500, "out of memory", "local");
        return;
    }
    c->state = CALL_OUT_TRYING;
    err = ua_send_request(u, &b, &c->dst, &invite_user, c, &t);
    sk_buf_free(&b);
    if (err) {
        call_end(c, 503, strerror(err), "local");
        return;
    }
    c->ict = t;
}

static void on_no_answer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    (void) loop;
    (void) t;
    c->end_status = 408;
    snprintf(c->end_reason, sizeof(c->end_reason), "no answer within %u s",
             c->u->cfg.no_answer_s);
    c->end_by = "local";
    ua_hangup(c->u, c->id);
}

static struct ua_call *call_alloc(struct ua *u)
{
    struct ua_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->u = u;
    c->id = u->next_call++;
    sk_buf_init(&c->invite);
    sk_buf_init(&c->ack);
    sk_buf_init(&c->resp_2xx);
    sk_timer_init(&c->t_answer, NULL, c);
    sk_timer_init(&c->t_no_answer, on_no_answer, c);
    sk_timer_init(&c->t_2xx, NULL, c);
    reinvite_init(c);
    ext_init(c);
    c->next = u->calls;
    u->calls = c;
    return c;
}

static void call_unlink_free(struct ua *u, struct ua_call *c)
{
    for (struct ua_call **pp = &u->calls; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    call_free(c);
}

int ua_call(struct ua *u, const char *target, unsigned *id)
{
    struct ua_call *c;
    struct sip_uri uri;
    struct sip_error e;
    int err;

    if (u->shutting_down)
        return ESHUTDOWN;
    if (!(c = call_alloc(u)))
        return ENOMEM;
    c->outgoing = true;
    ua_normalise_target(u, target, c->target, sizeof(c->target));
    snprintf(c->peer, sizeof(c->peer), "%s", c->target);
    if ((err = sip_uri_parse(&uri, c->target, strlen(c->target), &e)) ||
        (err = ua_dest_for_uri(u, &uri, &c->dst))) {
        SK_ERROR("cannot call %s: %s", c->target, err == EBADMSG ? "not a URI" : strerror(err));
        call_unlink_free(u, c);
        return err;
    }
    if ((err = call_media_new(c)) || !(c->offer_sent = malloc(sizeof(*c->offer_sent))) ||
        (err = sdp_offer_new(&c->sdp_local, c->offer_sent))) {
        SK_ERROR("cannot set up media for the call: %s", strerror(err ? err : ENOMEM));
        call_unlink_free(u, c);
        return err ? err : ENOMEM;
    }
    ua_new_call_id(u, c->call_id, sizeof(c->call_id));
    ua_new_tag(u, c->from_tag, sizeof(c->from_tag));
    c->cseq = (uint32_t) (sip_cseq_initial() & 0x3fffffff);
    if (u->cfg.session_expires) /* RFC 4028 §7.1: never below our own Min-SE */
        c->se_ask = u->cfg.session_expires > u->cfg.min_se ? u->cfg.session_expires
                                                           : u->cfg.min_se;
    /* without its no-answer timer a call that keeps ringing would never end */
    if ((err = sk_timer_start(u->loop, &c->t_no_answer, (uint64_t) u->cfg.no_answer_s * 1000u))) {
        SK_ERROR("cannot time the call: %s", strerror(err));
        call_unlink_free(u, c);
        return err;
    }
    *id = c->id;
    {
        struct ua_event ev = {.type = UA_EV_CALLING, .call = c->id, .peer = c->peer};
        ua_emit(u, &ev);
    }
    send_invite(c);
    return 0;
}

/* ---- UAS: an INVITE for us ---- */

static int respond_invite(struct ua_call *c, int code, const char *reason, const char *extra,
                          const struct sdp_session *sdp)
{
    struct ua *u = c->u;
    struct sk_buf b, body;
    char mem[2048];
    int err;

    sk_buf_init_ext(&b, mem, sizeof(mem));
    sk_buf_init(&body);
    sip_print_response_head_rx(&b, c->inv, &c->inv->via, &c->inv_src, code,
                               reason ? reason : sip_reason_phrase(code),
                               sk_str_cstr(c->local_tag));
    sk_buf_puts(&b, "Server: sipkit/0.1.0\r\n");
    if (code > 100 && code < 300) {
        /* §12.1.1: the Record-Route of the request, copied into responses that make a dialog */
        for (const struct sip_hdr *h = sip_msg_hdr(c->inv, SIP_HDR_RECORD_ROUTE); h;
             h = sip_msg_hdr_next(c->inv, h))
            sip_print_hdr(&b, SIP_HDR_RECORD_ROUTE, h->value);
        sip_print_hdrf(&b, "Contact", "%s", u->contact);
        sk_buf_puts(&b, u->caps);
    }
    if (code > 100 && code < 200 && c->reliable) {
        /* RFC 3262 §3: a reliable provisional */
        sk_buf_puts(&b, "Require: 100rel\r\n");
        sip_print_hdrf(&b, "RSeq", "%u", c->prack.rseq);
    }
    if (code >= 200 && code < 300 && c->se.active) {
        /* RFC 4028 §9: the interval and refresher we settled on */
        char se[80];
        ua_se_line(se, sizeof(se), c->se.interval, c->se.refresher);
        sk_buf_puts(&b, se);
        if (c->se.require)
            sk_buf_puts(&b, "Require: timer\r\n");
    }
    if (extra)
        sk_buf_puts(&b, extra);
    if (sdp)
        sdp_body(sdp, &body);
    sip_print_body(&b, sdp ? sk_str_cstr(sdp_ctype) : SK_STR_NULL, sk_buf_str(&body));
    sk_buf_free(&body);
    if (b.failed) {
        sk_buf_free(&b);
        return ENOMEM;
    }
    if (code >= 200) {
        /* RFC 3262 §3: no reliable provisional after the final response */
        ua_prack_uas_final(&c->prack);
        sk_timer_stop(u->loop, &c->t_rel);
    }
    err = sip_txn_respond(c->ist, code, b.p, b.len);
    if (!err && code >= 200 && code < 300)
        err = sk_buf_set_exact(&c->resp_2xx, b.p, b.len);
    if (!err && code > 100 && code < 200 && c->reliable)
        err = sk_buf_set_exact(&c->rel_resp, b.p, b.len);
    sk_buf_free(&b);
    return err;
}

/* §13.3.1.4: the 2xx is retransmitted by the UAS core, T1 doubling up to T2,
 * until the ACK comes; none after 64*T1: the session ends with a BYE. */
/* §13.3.1.4: an answered call whose ACK did not come within 64*T1 (or whose
 * wait for it cannot be timed) is ended with a BYE. */
static void call_drop_unacked(struct ua_call *c, int status, const char *why)
{
    c->end_status = status;
    snprintf(c->end_reason, sizeof(c->end_reason), "%s", why);
    c->end_by = "local";
    c->state = CALL_ACTIVE;
    ua_hangup(c->u, c->id);
}

static void on_2xx_retx(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    struct ua *u = c->u;
    (void) t;
    if (c->state != CALL_IN_ANSWERED)
        return;
    c->retx_total += c->retx_ms;
    if (c->retx_total >= 64u * u->cfg.txn.t1_ms) {
        call_drop_unacked(c, 408, "no ACK for our 200 OK");
        return;
    }
    if (c->ist)
        sip_txn_respond(c->ist, 200, c->resp_2xx.p, c->resp_2xx.len);
    c->retx_ms = c->retx_ms * 2 > u->cfg.txn.t2_ms ? u->cfg.txn.t2_ms : c->retx_ms * 2;
    if (sk_timer_start(loop, &c->t_2xx, c->retx_ms))
        call_drop_unacked(c, 500, "cannot time the wait for the ACK");
}

static void on_auto_answer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    (void) loop;
    (void) t;
    ua_answer(c->u, c->id);
}

static void on_forward_no_answer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    char line[UA_STR_MAX + 16];
    (void) loop;
    (void) t;
    if (c->state != CALL_IN_RINGING)
        return;
    /* --forward-mode no-answer: 302 rather than ringing on */
    ua_forward_contact(c->u, c->peer, "no-answer", line, sizeof(line));
    respond_invite(c, 302, NULL, line, NULL);
    call_end(c, 302, "forwarded (no answer)", "local");
}

int ua_answer(struct ua *u, unsigned id)
{
    struct ua_call *c = call_find(u, id);
    const struct sdp_session *sdp;
    int err;

    if (!c)
        return ENOENT;
    if (c->outgoing || c->state != CALL_IN_RINGING)
        return EBUSY;
    sk_timer_stop(u->loop, &c->t_answer);
    if (c->reliable && (c->prack.inflight || c->prack.nqueued || !ua_prack_uas_may_answer(&c->prack))) {
        /* RFC 3262 §3 lets the 2xx wait for the PRACK (it must, after an offer): it
         * goes when the PRACK comes */
        c->answer_waits = true;
        return 0;
    }
    /* offer_sent holds what the 200 carries: our answer, or our offer when the
     * INVITE had none */
    sdp = c->offer_sent;
    if ((err = respond_invite(c, 200, NULL, NULL, sdp)))
        return err;
    c->state = CALL_IN_ANSWERED;
    sip_dlg_confirm(c->dlg); /* §12.1.1: our 2xx makes the dialog confirmed */
    c->answered_at = sk_loop_now(u->loop);
    se_arm(c);
    if (!c->late_offer)
        call_media_apply(c);
    c->retx_ms = u->cfg.txn.t1_ms;
    c->retx_total = 0;
    sk_timer_init(&c->t_2xx, on_2xx_retx, c);
    if (c->inv && !sip_proto_reliable(sip_txn_dest(c->ist)->proto))
        err = sk_timer_start(u->loop, &c->t_2xx, c->retx_ms);
    else
        err = sk_timer_start(u->loop, &c->t_2xx, 64u * u->cfg.txn.t1_ms);
    {
        struct ua_event ev = {.type = UA_EV_ANSWERED, .call = c->id, .status = 200,
                              .reason = "OK", .peer = c->peer};
        ua_emit(u, &ev);
    }
    if (err && (c = call_find(u, id)) && c->state == CALL_IN_ANSWERED)
        call_drop_unacked(c, 500, "cannot time the wait for the ACK");
    return 0;
}

int ua_reject(struct ua *u, unsigned id, int status)
{
    struct ua_call *c = call_find(u, id);
    if (!c)
        return ENOENT;
    if (c->outgoing || c->state != CALL_IN_RINGING)
        return EBUSY;
    respond_invite(c, status, NULL, NULL, NULL);
    call_end(c, status, sip_reason_phrase(status), "local");
    return 0;
}

static int copy_invite(struct ua_call *c, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct sip_error e;
    size_t used;

    if (!(c->inv_buf = malloc(m->len + 1)) || !(c->inv = malloc(sizeof(*c->inv))))
        return ENOMEM;
    memcpy(c->inv_buf, m->buf, m->len);
    c->inv_buf[m->len] = '\0';
    sip_msg_init(c->inv);
    c->inv_src = rx->src;
    return sip_msg_parse(c->inv, c->inv_buf, m->len, SIP_PARSE_DATAGRAM, NULL, &used, &e);
}

static void new_invite(struct ua *u, struct sip_txn *st, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct ua_call *c;
    char tag[24], warn[256];
    struct sdp_error se;
    struct sdp_oa_fail fail;
    int err;

    ua_new_tag(u, tag, sizeof(tag));
    if (u->shutting_down) {
        ua_respond(u, st, rx, 503, "Shutting down", tag, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (m->ruri.scheme != SIP_URI_SIP) {
        ua_respond(u, st, rx, 416, NULL, tag, NULL, NULL, SK_STR_NULL);
        return;
    }
    /* one call at a time by default, as a desk phone without call waiting
     * (--max-calls raises it: a test peer, a load generator's far end) */
    {
        bool busy = ua_call_count(u) >= (u->cfg.max_calls ? u->cfg.max_calls : 1);
        if (ua_forward_wanted(u, busy)) {
            /* --forward: RFC 3261 §21.3.3 302, the caller tries the Contact */
            char from[UA_STR_MAX], line[UA_STR_MAX + 16];
            sk_str_copy(from, sizeof(from), m->from.uri.raw);
            ua_forward_contact(u, from, busy ? "busy" : "always", line, sizeof(line));
            ua_respond(u, st, rx, 302, NULL, tag, line, NULL, SK_STR_NULL);
            return;
        }
        if (busy) {
            ua_respond(u, st, rx, 486, NULL, tag, NULL, NULL, SK_STR_NULL);
            return;
        }
    }
    if (m->body.len && !has_sdp(m)) {
        ua_respond(u, st, rx, 415, NULL, tag, "Accept: application/sdp\r\n", NULL, SK_STR_NULL);
        return;
    }
    enum ua_prack_mode pm;
    struct ua_se_result timer;
    if (!invite_extensions_ok(u, st, rx, tag, &pm, &timer))
        return; /* 420, 421, 422 or 400 sent */
    if (!(c = call_alloc(u))) {
        ua_respond(u, st, rx, 500, "Out of memory", tag, NULL, NULL, SK_STR_NULL);
        return;
    }
    snprintf(c->local_tag, sizeof(c->local_tag), "%s", tag);
    c->reliable = pm == UA_PRACK_RELIABLE;
    c->se = timer;
    c->peer_update = allows_update(m);
    sip_txn_ref(st);
    c->ist = st;
    sk_str_copy(c->peer, sizeof(c->peer), m->from.uri.raw);
    if ((err = copy_invite(c, rx)) || (err = call_media_new(c)) ||
        !(c->offer_sent = malloc(sizeof(*c->offer_sent))) ||
        !(c->remote = malloc(sizeof(*c->remote)))) {
        ua_respond(u, st, rx, 500, "Cannot set up the call", tag, NULL, NULL, SK_STR_NULL);
        call_unlink_free(u, c);
        return;
    }
    if (m->body.len) {
        if (sdp_parse(c->remote, m->body.p, m->body.len, &se) != 0) {
            char reason[200];
            snprintf(reason, sizeof(reason), "Bad SDP: %s", se.reason);
            ua_respond(u, st, rx, 400, reason, tag, NULL, NULL, SK_STR_NULL);
            call_unlink_free(u, c);
            return;
        }
        /* offer_sent holds our answer here: what the 200 will carry */
        if (sdp_answer_new(c->remote, &c->sdp_local, c->offer_sent, &c->neg, &fail) != 0) {
            char hp[80];
            /* RFC 3261 §20.43 / RFC 3264 §6: 488 with a Warning naming the problem */
            snprintf(warn, sizeof(warn), "Warning: %d %s \"%s\"\r\n", fail.warn_code,
                     sk_sa_str(&u->local.addr, hp, sizeof(hp)), fail.text);
            ua_respond(u, st, rx, fail.status ? fail.status : 488, NULL, tag, warn, NULL,
                       SK_STR_NULL);
            call_unlink_free(u, c);
            return;
        }
    } else {
        /* RFC 3264 §4, RFC 3261 §13.2.1: no offer in the INVITE: ours goes in the
         * 200 and the answer comes in the ACK */
        c->late_offer = true;
        if (sdp_offer_new(&c->sdp_local, c->offer_sent) != 0) {
            ua_respond(u, st, rx, 500, "Cannot build an offer", tag, NULL, NULL, SK_STR_NULL);
            call_unlink_free(u, c);
            return;
        }
    }
    if (sip_dlg_new_uas(&c->dlg, c->inv, sk_str_cstr(c->local_tag), sk_str_cstr(u->contact),
                        false, true) != 0) {
        ua_respond(u, st, rx, 400, "Bad Contact or Record-Route", tag, NULL, NULL, SK_STR_NULL);
        call_unlink_free(u, c);
        return;
    }
    c->state = CALL_IN_RINGING;
    call_provisional(c, 180);
    {
        struct ua_event ev = {.type = UA_EV_INCOMING, .call = c->id, .peer = c->peer};
        ua_emit(u, &ev);
    }
    if (u->cfg.forward[0] && u->cfg.forward_mode == UA_FWD_NO_ANSWER) {
        /* an incoming call does not use the no-answer timer of outgoing ones */
        sk_timer_init(&c->t_no_answer, on_forward_no_answer, c);
        if (sk_timer_start(u->loop, &c->t_no_answer, (uint64_t) u->cfg.forward_after_s * 1000u))
            SK_WARN("call %u: cannot time the forwarding: it rings on", c->id);
    }
    if (u->cfg.auto_answer_ms >= 0) {
        sk_timer_init(&c->t_answer, on_auto_answer, c);
        /* no timer for the delay: answer now rather than ring for ever */
        if (sk_timer_start(u->loop, &c->t_answer, (uint64_t) u->cfg.auto_answer_ms))
            ua_answer(u, c->id);
    }
}

/* PRACK: the section "100rel and session timers" at the end of this file. */
static void prack_rx(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx);

/* In-dialog INVITE and UPDATE: the section "Re-INVITE" at the end of this file. */
static void reinvite_rx(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx);
static void reinvite_ack(struct ua_call *c, const struct sip_msg *ack);
static void reinvite_follow_up(struct ua_call *c);

/* ---- Requests for calls ---- */

static void on_ack(struct ua *u, struct sip_rx *rx)
{
    struct ua_call *c = call_by_dialog(u, rx->msg);
    if (!c)
        return; /* an ACK nobody waits for is dropped (§17.2.3) */
    reinvite_ack(c, rx->msg);
    sk_timer_stop(u->loop, &c->t_2xx);
    if (c->late_offer && has_sdp(rx->msg)) {
        struct sdp_error se;
        struct sdp_oa_fail fail;
        if (sdp_parse(c->remote, rx->msg->body.p, rx->msg->body.len, &se) == 0 &&
            sdp_answer_apply(c->offer_sent, c->remote, &c->neg, &fail) == 0) {
            c->late_offer = false;
            call_media_apply(c);
        } else {
            /* RFC 3264 §5: an unusable answer in the ACK: the call cannot go on */
            c->late_offer = false;
            c->state = CALL_ACTIVE;
            c->end_status = 488;
            snprintf(c->end_reason, sizeof(c->end_reason), "unusable SDP answer in the ACK");
            c->end_by = "local";
            ua_hangup(u, c->id);
            return;
        }
    }
    if (c->state == CALL_IN_ANSWERED)
        c->state = CALL_ACTIVE;
    reinvite_follow_up(c);
}

static void on_cancel(struct ua *u, struct sip_txn *st, struct sip_rx *rx)
{
    struct sip_txn *inv = sip_txl_find_invite(u->txl, rx->msg);
    struct ua_call *c = NULL;

    for (struct ua_call *k = u->calls; inv && k; k = k->next)
        if (k->ist == inv && k->state != CALL_ENDED)
            c = k;
    if (inv)
        sip_txn_unref(inv);
    if (!c) {
        /* §9.2: a CANCEL for no transaction of ours */
        ua_respond(u, st, rx, 481, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    ua_respond(u, st, rx, 200, NULL, c->local_tag, NULL, NULL, SK_STR_NULL);
    if (c->state == CALL_IN_RINGING) {
        /* §9.2: the INVITE gets 487 */
        respond_invite(c, 487, NULL, NULL, NULL);
        call_end(c, 487, "cancelled by the caller", "remote");
    }
}

void ua_call_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct ua_call *c;
    struct sip_dlg_verdict v;

    if (m->method_id == SIP_METHOD_ACK) {
        on_ack(u, rx);
        return;
    }
    if (!st)
        return;
    if (m->method_id == SIP_METHOD_CANCEL) {
        on_cancel(u, st, rx);
        return;
    }
    if (!sip_dlg_is_in_dialog(m)) {
        if (m->method_id == SIP_METHOD_INVITE) {
            new_invite(u, st, rx);
        } else {
            char tag[24];
            ua_new_tag(u, tag, sizeof(tag));
            /* BYE/INFO/UPDATE outside a dialog: §15.1.2, 481 */
            ua_respond(u, st, rx, 481, NULL, tag, NULL, NULL, SK_STR_NULL);
        }
        return;
    }
    c = call_by_dialog(u, m);
    if (!c) {
        ua_respond(u, st, rx, 481, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (sip_dlg_rx_request(c->dlg, m, &v) != 0) {
        ua_respond(u, st, rx, 400, "Bad CSeq", NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (v.status) {
        char extra[48];
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", v.retry_after);
        ua_respond(u, st, rx, v.status, NULL, NULL, v.status == 500 ? extra : NULL, NULL,
                   SK_STR_NULL);
        return;
    }
    switch (m->method_id) {
    case SIP_METHOD_BYE:
        /* §15.1.2: 200, the session ends */
        ua_respond(u, st, rx, 200, NULL, NULL, NULL, NULL, SK_STR_NULL);
        call_end(c, 200, "the other side hung up", "remote");
        return;
    case SIP_METHOD_INVITE:
    case SIP_METHOD_UPDATE:
        reinvite_rx(c, st, rx);
        return;
    case SIP_METHOD_INFO:
        /* DTMF bodies (info.c); a bare INFO is fine */
        ua_info_request(u, st, rx, c->id, c->peer);
        return;
    case SIP_METHOD_PRACK:
        prack_rx(c, st, rx);
        return;
    default:
        ua_respond(u, st, rx, 405, NULL, NULL, u->caps, NULL, SK_STR_NULL);
        return;
    }
}

void ua_call_stray_response(struct ua *u, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct ua_call *c;

    /* §13.2.2.4: a 2xx retransmission after the INVITE transaction ended: the ACK again */
    if (!m->has_cseq || !sk_str_eq_cstr(m->cseq.method, "INVITE") || m->status < 200 ||
        m->status >= 300)
        return;
    c = call_by_dialog(u, m);
    if (c && c->reinv_ack.len && m->cseq.num == c->reinv_cseq)
        sip_tpm_send(u->tpm, &c->reinv_ack_dst, c->reinv_ack.p, c->reinv_ack.len);
    else if (c && c->ack.len)
        sip_tpm_send(u->tpm, &c->ack_dst, c->ack.p, c->ack.len);
}

/* ---- BYE and CANCEL ---- */

static void on_bye_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_call *c = arg;
    (void) t;
    (void) rx;
    if (status < 200)
        return;
    /* §15.1.1: whatever the answer (even 481 or a timeout), the session is over */
    call_end(c, c->end_status ? c->end_status : 200, "hung up", "local");
}

static void on_bye_terminated(struct sip_txn *t, void *arg)
{
    struct ua_call *c = arg;
    sip_txn_unref(t);
    /* the call stays until here: the transaction outlives the BYE's final
     * response (Timer K, §17.1.2.2) and calls us with the call as arg */
    if (c->bye == t)
        c->bye = NULL;
    reap_soon(c->u);
}

static const struct sip_txn_user bye_user = {on_bye_response, on_bye_terminated};

int ua_hangup(struct ua *u, unsigned id)
{
    struct ua_call *c = call_find(u, id);
    struct sip_txn *t = NULL;

    if (!c)
        return ENOENT;
    switch (c->state) {
    case CALL_OUT_TRYING:
    case CALL_OUT_EARLY:
        /* §9.1: CANCEL; the transaction sends it once a provisional came */
        c->cancel_asked = true;
        if (c->ict)
            sip_txn_cancel(c->ict, "Reason: SIP;cause=487;text=\"Caller hung up\"\r\n");
        else
            call_end(c, 487, "cancelled", "local");
        return 0;
    case CALL_IN_RINGING:
        return ua_reject(u, c->id, 603);
    case CALL_IN_ANSWERED:
    case CALL_ACTIVE:
        c->state = CALL_ENDING;
        sk_timer_stop(u->loop, &c->t_2xx);
        if (c->media)
            media_stream_stop(c->media);
        if (dlg_send(c, "BYE", NULL, SK_STR_NULL, SK_STR_NULL, &bye_user, &t, NULL, NULL) != 0) {
            call_end(c, c->end_status ? c->end_status : 200, "hung up (BYE not sent)", "local");
            return 0;
        }
        c->bye = t;
        return 0;
    case CALL_ENDING:
    case CALL_ENDED:
        return EBUSY;
    }
    return EBUSY;
}

int ua_dtmf(struct ua *u, unsigned id, const char *digits)
{
    struct ua_call *c = call_find(u, id);
    if (!c)
        return ENOENT;
    if (u->cfg.dtmf_info)
        return ua_info_send_dtmf(u, c->id, digits);
    if (!c->media || !c->media_started)
        return EBUSY;
    return media_stream_send_dtmf(c->media, digits);
}

void ua_calls_hangup_all(struct ua *u)
{
    for (struct ua_call *c = u->calls; c; c = c->next)
        if (c->state != CALL_ENDED && c->state != CALL_ENDING)
            ua_hangup(u, c->id);
}

void ua_calls_detach(struct ua *u)
{
    for (struct ua_call *c = u->calls; c; c = c->next) {
        if (c->ist) {
            sip_txn_unref(c->ist);
            c->ist = NULL;
        }
        if (c->re_st) {
            sip_txn_unref(c->re_st);
            c->re_st = NULL;
        }
    }
}

void ua_calls_free(struct ua *u)
{
    while (u->calls) {
        struct ua_call *c = u->calls;
        u->calls = c->next;
        call_free(c);
    }
}

size_t ua_call_count(const struct ua *u)
{
    size_t n = 0;
    for (const struct ua_call *c = u->calls; c; c = c->next)
        if (c->state != CALL_ENDED)
            n++;
    return n;
}

void ua_calls_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg)
{
    char line[UA_STR_MAX * 2];
    size_t n = 0;
    for (struct ua_call *c = u->calls; c; c = c->next) {
        if (c->state == CALL_ENDED)
            continue;
        n++;
        snprintf(line, sizeof(line), "call %u %s %s %s%s%s%s", c->id,
                 c->outgoing ? "to" : "from", c->peer, state_names[c->state],
                 c->media_started ? ", media " : "", c->media_started ? c->neg.codec.name : "",
                 hold_status(c));
        fn(arg, line);
    }
    if (n == 0)
        fn(arg, "no calls");
}

/* ---- Re-INVITE: hold, resume, offers from the peer, glare (RFC 3261 §14, RFC 3264 §8) ---- */

static void on_glare_timer(struct sk_loop *loop, struct sk_timer *t, void *arg);
static void on_re2xx_timer(struct sk_loop *loop, struct sk_timer *t, void *arg);

static void reinvite_init(struct ua_call *c)
{
    sk_buf_init(&c->reinv_ack);
    sk_buf_init(&c->re_2xx);
    sk_timer_init(&c->t_glare, on_glare_timer, c);
    sk_timer_init(&c->t_re2xx, on_re2xx_timer, c);
}

/* The call is over: no retry, no more 2xx retransmissions. */
static void reinvite_stop(struct ua_call *c)
{
    sk_timer_stop(c->u->loop, &c->t_glare);
    sk_timer_stop(c->u->loop, &c->t_re2xx);
    if (c->re_st) {
        sip_txn_unref(c->re_st);
        c->re_st = NULL;
    }
}

static void reinvite_free(struct ua_call *c)
{
    reinvite_stop(c);
    free(c->reinv_offer);
    sk_buf_free(&c->reinv_ack);
    sk_buf_free(&c->re_2xx);
}

static void emit_hold_change(struct ua_call *c, enum ua_hold_change ch)
{
    static const enum ua_event_type types[] = {
        [UA_HOLD_HELD] = UA_EV_HELD,
        [UA_HOLD_RESUMED] = UA_EV_RESUMED,
        [UA_HOLD_REMOTE_HOLD] = UA_EV_REMOTE_HOLD,
        [UA_HOLD_REMOTE_RESUME] = UA_EV_REMOTE_RESUME,
    };
    if (ch == UA_HOLD_NONE)
        return;
    struct ua_event ev = {.type = types[ch], .call = c->id, .peer = c->peer};
    ua_emit(c->u, &ev);
}

static void emit_info(struct ua_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit_info(struct ua_call *c, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    int n = snprintf(text, sizeof(text), "call %u: ", c->id);
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap);
    va_end(ap);
    struct ua_event ev = {.type = UA_EV_INFO, .call = c->id, .text = text};
    ua_emit(c->u, &ev);
}

/* ---- The peer's re-INVITE or UPDATE ---- */

/* §14.2: a 500 with Retry-After 0..10 s for an INVITE that overlaps another. */
static void respond_overlap(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx)
{
    char extra[48];
    snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
             (unsigned) (sk_rand64() % (SIP_DLG_RETRY_AFTER_MAX + 1)));
    ua_respond(c->u, st, rx, 500, "Overlapping INVITE", NULL, extra, NULL, SK_STR_NULL);
}

/* A 200 to a re-INVITE, kept and retransmitted until its ACK (§13.3.1.4). */
static int respond_reinvite_2xx(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx,
                                const char *extra, struct sk_str sdp)
{
    struct ua *u = c->u;
    struct sip_msg *m = rx->msg;
    struct sk_buf b;
    int err;

    sk_buf_init(&b);
    sip_print_response_head_rx(&b, m, m->has_via ? &m->via : NULL, &rx->src, 200, "OK",
                               SK_STR_NULL);
    sk_buf_puts(&b, "Server: sipkit/0.1.0\r\n");
    sk_buf_puts(&b, extra);
    sip_print_body(&b, sdp.len ? sk_str_cstr(sdp_ctype) : SK_STR_NULL, sdp);
    if (b.failed) {
        sk_buf_free(&b);
        return ENOMEM;
    }
    err = sip_txn_respond(st, 200, b.p, b.len);
    if (!err && m->method_id == SIP_METHOD_INVITE && !sk_buf_set_exact(&c->re_2xx, b.p, b.len)) {
        if (c->re_st)
            sip_txn_unref(c->re_st);
        sip_txn_ref(st);
        c->re_st = st;
        c->re_cseq = m->cseq.num;
        c->re_retx_total = 0;
        c->re_retx_ms = sip_proto_reliable(sip_txn_dest(st)->proto) ? 64u * u->cfg.txn.t1_ms
                                                                     : u->cfg.txn.t1_ms;
        if (sk_timer_start(u->loop, &c->t_re2xx, c->re_retx_ms))
            SK_WARN("call %u: no timer for the re-INVITE's 2xx retransmissions", c->id);
    }
    sk_buf_free(&b);
    return err;
}

static void on_re2xx_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    struct ua *u = c->u;

    if (!c->re_st || c->state == CALL_ENDED || c->state == CALL_ENDING)
        return;
    c->re_retx_total += c->re_retx_ms;
    if (c->re_retx_total >= 64u * u->cfg.txn.t1_ms) {
        /* §13.3.1.4: no ACK for 64*T1: the session ends with a BYE */
        sip_txn_unref(c->re_st);
        c->re_st = NULL;
        c->end_status = 408;
        snprintf(c->end_reason, sizeof(c->end_reason), "no ACK for our 200 to a re-INVITE");
        c->end_by = "local";
        ua_hangup(u, c->id);
        return;
    }
    sip_txn_respond(c->re_st, 200, c->re_2xx.p, c->re_2xx.len);
    c->re_retx_ms = c->re_retx_ms * 2 > u->cfg.txn.t2_ms ? u->cfg.txn.t2_ms : c->re_retx_ms * 2;
    if (sk_timer_start(loop, t, c->re_retx_ms))
        SK_WARN("call %u: no timer for the re-INVITE's 2xx retransmissions", c->id);
}

static void reinvite_ack(struct ua_call *c, const struct sip_msg *ack)
{
    if (c->re_st && ack->has_cseq && ack->cseq.num == c->re_cseq) {
        sk_timer_stop(c->u->loop, &c->t_re2xx);
        sip_txn_unref(c->re_st);
        c->re_st = NULL;
    }
}

/* No offer in a re-INVITE: ours goes in the 200, the answer comes in the ACK
 * (RFC 3264 §4, RFC 3261 §14.2), which on_ack applies. */
static bool reinvite_rx_no_offer(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx,
                                 const char *extra)
{
    struct sk_buf body;
    bool ok = false;

    sk_buf_init(&body);
    c->sdp_local.dir = ua_offer_dir(c->local_hold, c->remote_hold);
    if (sdp_offer_new(&c->sdp_local, c->offer_sent) != 0 || sdp_print(c->offer_sent, &body) ||
        respond_reinvite_2xx(c, st, rx, extra, sk_buf_str(&body)) != 0)
        ua_respond(c->u, st, rx, 500, "Cannot build an offer", NULL, NULL, NULL, SK_STR_NULL);
    else {
        c->late_offer = true;
        sip_dlg_target_refresh(c->dlg, rx->msg);
        ok = true;
    }
    sk_buf_free(&body);
    return ok;
}

/* An offer in a re-INVITE or UPDATE: answer it (RFC 3264 §6.1 directions: our
 * hold narrows what we answer), or 488 with the old session kept (§14.2). */
static bool reinvite_rx_offer(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx,
                              const char *extra)
{
    bool ok = false;
    struct ua *u = c->u;
    struct sip_msg *m = rx->msg;
    struct sdp_session *offer = malloc(sizeof(*offer)), *answer = malloc(sizeof(*answer));
    struct sdp_error se;
    struct sdp_oa_fail fail;
    struct sdp_neg neg;
    struct sk_buf body;
    int err;

    sk_buf_init(&body);
    if (!offer || !answer) {
        ua_respond(u, st, rx, 500, NULL, NULL, NULL, NULL, SK_STR_NULL);
        goto out;
    }
    if (sdp_parse(offer, m->body.p, m->body.len, &se) != 0) {
        char reason[200];
        snprintf(reason, sizeof(reason), "Bad SDP: %s", se.reason);
        ua_respond(u, st, rx, 400, reason, NULL, NULL, NULL, SK_STR_NULL);
        goto out;
    }
    c->sdp_local.dir = ua_answer_dir(c->local_hold);
    if (sdp_answer_new(offer, &c->sdp_local, answer, &neg, &fail) != 0) {
        char warn[256], hp[80];
        snprintf(warn, sizeof(warn), "Warning: %d %s \"%s\"\r\n", fail.warn_code,
                 sk_sa_str(&u->local.addr, hp, sizeof(hp)), fail.text);
        ua_respond(u, st, rx, 488, NULL, NULL, warn, NULL, SK_STR_NULL);
        emit_info(c, "re-%s offer refused (488 %s), the session is unchanged",
                  m->method_id == SIP_METHOD_INVITE ? "INVITE" : "UPDATE", fail.text);
        goto out;
    }
    sdp_print(answer, &body);
    if (m->method_id == SIP_METHOD_INVITE)
        err = respond_reinvite_2xx(c, st, rx, extra, sk_buf_str(&body));
    else
        err = ua_respond(u, st, rx, 200, NULL, NULL, extra, sdp_ctype, sk_buf_str(&body));
    if (err)
        goto out;
    ok = true;
    sip_dlg_target_refresh(c->dlg, m);
    bool was_remote = c->remote_hold;
    memcpy(c->remote, offer, sizeof(*offer));
    c->neg = neg;
    c->remote_hold = ua_offer_holds(&neg);
    call_media_apply(c);
    emit_hold_change(c, ua_hold_change(c->local_hold, c->local_hold, was_remote,
                                       c->remote_hold));
out:
    free(offer);
    free(answer);
    sk_buf_free(&body);
    return ok;
}

static void reinvite_rx(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx)
{
    struct ua *u = c->u;
    struct sip_msg *m = rx->msg;
    bool invite = m->method_id == SIP_METHOD_INVITE;
    struct sk_buf extra;

    if (invite && (c->state == CALL_IN_RINGING || c->re_st || c->late_offer)) {
        /* §14.2: a second INVITE before the first one is done with (unanswered,
         * or our 2xx to it, or the offer in that 2xx, not acknowledged yet) */
        respond_overlap(c, st, rx);
        return;
    }
    if (c->reinv_pending || (c->state != CALL_ACTIVE && c->state != CALL_IN_ANSWERED)) {
        /* §14.2: an INVITE (RFC 3311 §5.2: an UPDATE) while ours is pending: 491 */
        ua_respond(u, st, rx, 491, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (m->body.len && !has_sdp(m)) {
        ua_respond(u, st, rx, 415, NULL, NULL, "Accept: application/sdp\r\n", NULL, SK_STR_NULL);
        return;
    }
    /* RFC 4028 §9: a session refresh request; the interval goes in our 2xx */
    struct ua_se_hdrs seh;
    struct ua_se_result se;
    struct ua_se_config sec = {u->cfg.session_expires, u->cfg.min_se};
    bool ok = false;
    if (ua_se_read(m, &seh) != 0) {
        ua_respond(u, st, rx, 400, "Bad Session-Expires or Min-SE", NULL, NULL, NULL,
                   SK_STR_NULL);
        return;
    }
    ua_se_uas(&sec, &seh, &se);
    if (se.status == 422) {
        char line[48];
        snprintf(line, sizeof(line), "Min-SE: %u\r\n", se.min_se);
        ua_respond(u, st, rx, 422, NULL, NULL, line, NULL, SK_STR_NULL);
        return;
    }
    sk_buf_init(&extra);
    sip_print_hdrf(&extra, "Contact", "%s", u->contact);
    sk_buf_puts(&extra, u->caps);
    if (se.active) {
        char line[80];
        ua_se_line(line, sizeof(line), se.interval, se.refresher);
        sk_buf_puts(&extra, line);
        if (se.require)
            sk_buf_puts(&extra, "Require: timer\r\n");
    }
    /* §12.2.2: an accepted target refresh request replaces the remote target */
    if (!extra.failed && has_sdp(m))
        ok = reinvite_rx_offer(c, st, rx, extra.p);
    else if (!extra.failed && invite)
        ok = reinvite_rx_no_offer(c, st, rx, extra.p);
    else if (!extra.failed) { /* an UPDATE without an offer: a target refresh only */
        if (ua_respond(u, st, rx, 200, NULL, NULL, extra.p, NULL, SK_STR_NULL) == 0) {
            sip_dlg_target_refresh(c->dlg, m);
            ok = true;
        }
    }
    else
        ua_respond(u, st, rx, 500, NULL, NULL, NULL, NULL, SK_STR_NULL);
    sk_buf_free(&extra);
    if (ok && (se.active || c->se.active)) {
        struct ua_event ev = {.type = UA_EV_SESSION_REFRESHED, .call = c->id, .peer = c->peer,
                              .expires = se.interval, .text = "remote",
                              .reason = se.refresher == UA_REFRESHER_UAC ? "uac" : "uas"};
        c->se = se;
        c->se_we_uac = false;
        c->se_failed = false;
        se_arm(c);
        ua_emit(u, &ev);
    }
}

/* ---- Our re-INVITE: hold and resume ---- */

static int reinvite_send(struct ua_call *c);

static void se_refresh_failed(struct ua_call *c, int status, const char *reason);

static void reinvite_failed(struct ua_call *c, int status, const char *reason)
{
    if (c->reinv_refresh) {
        c->reinv_refresh = false;
        se_refresh_failed(c, status, reason);
        return;
    }
    struct ua_event ev = {.type = UA_EV_HOLD_FAILED, .call = c->id, .status = status,
                          .reason = reason, .peer = c->peer,
                          .text = c->reinv_hold ? "hold" : "resume"};
    /* §14.1: a non-2xx final response leaves the session as it was */
    c->hold_wanted = c->local_hold;
    ua_emit(c->u, &ev);
}

/* The answer in the 2xx to our re-INVITE: the new session (§14.1), or, when
 * it is unusable, the end of the call (RFC 3264 §5: no session to go on with). */
static void reinvite_answered(struct ua_call *c, struct sip_msg *m)
{
    struct sdp_session *ans = malloc(sizeof(*ans));
    struct sdp_error se;
    struct sdp_oa_fail fail;
    struct sdp_neg neg;
    const char *why = NULL;

    if (!ans)
        why = "out of memory";
    else if (!has_sdp(m))
        why = "the 2xx to our re-INVITE carried no SDP answer";
    else if (sdp_parse(ans, m->body.p, m->body.len, &se) != 0)
        why = "bad SDP answer to our re-INVITE";
    else if (sdp_answer_apply(c->reinv_offer, ans, &neg, &fail) != 0)
        why = "unusable SDP answer to our re-INVITE";
    if (why) {
        free(ans);
        c->end_status = 488;
        snprintf(c->end_reason, sizeof(c->end_reason), "%s", why);
        c->end_by = "local";
        ua_hangup(c->u, c->id);
        return;
    }
    bool was_local = c->local_hold;
    free(c->remote);
    c->remote = ans;
    free(c->offer_sent);
    c->offer_sent = c->reinv_offer;
    c->reinv_offer = NULL;
    c->neg = neg;
    c->local_hold = c->reinv_hold;
    call_media_apply(c);
    emit_hold_change(c, ua_hold_change(was_local, c->local_hold, c->remote_hold,
                                       c->remote_hold));
    reinvite_follow_up(c);
}

static void on_reinvite_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_call *c = arg;
    struct ua *u = c->u;
    struct sip_msg *m = rx ? rx->msg : NULL;
    char reason[128];

    if (status < 200 || t != c->reinv)
        return; /* a provisional, or an older re-INVITE's late response */
    if (status < 300 && !c->reinv_pending) {
        /* a retransmission of the 2xx: our ACK was lost (§13.2.2.4) */
        if (c->reinv_ack.len && c->state != CALL_ENDED)
            sip_tpm_send(u->tpm, &c->reinv_ack_dst, c->reinv_ack.p, c->reinv_ack.len);
        return;
    }
    if (!c->reinv_pending || c->state == CALL_ENDED)
        return;
    c->reinv_pending = false;
    if (m)
        sk_str_copy(reason, sizeof(reason), m->reason);
    else
        snprintf(reason, sizeof(reason), "%s", status == 408 ? "no answer" : "transport error");
    /* §13.2.2.4: ACK every 2xx, even when we hung up meanwhile */
    if (status < 300 && c->dlg &&
        dlg_send(c, "ACK", NULL, SK_STR_NULL, SK_STR_NULL, NULL, NULL, &c->reinv_ack,
                 &c->reinv_ack_dst) != 0)
        SK_WARN("call %u: could not send the ACK for the re-INVITE", c->id);
    if (c->state != CALL_ACTIVE)
        return; /* hung up meanwhile: the BYE ends it */
    if (status < 300) {
        /* §12.2.1.2: its Contact is the new target */
        sip_dlg_target_refresh(c->dlg, m);
        unsigned id = c->id;
        bool refresh = c->reinv_refresh || c->se.active;
        c->reinv_refresh = false;
        reinvite_answered(c, m);
        /* RFC 4028 §7.4: a 2xx to any re-INVITE of ours refreshes the session */
        if (refresh && (c = call_find(u, id)) && c->state == CALL_ACTIVE)
            se_uac_done(c, m, false);
        return;
    }
    free(c->reinv_offer);
    c->reinv_offer = NULL;
    if (status == 491) {
        /* §14.1: glare; the retry waits a time that depends on who owns the Call-ID */
        uint32_t ms = ua_glare_retry_ms(c->outgoing, sk_rand64());
        if (c->reinv_refresh) {
            /* a session refresh: the session timer sends it again after the wait */
            c->reinv_refresh = false;
            if (sk_timer_start(u->loop, &c->t_se, ms))
                se_refresh_failed(c, status, reason);
            return;
        }
        emit_info(c, "491 Request Pending (glare): %s again in %u ms",
                  c->hold_wanted ? "hold" : "resume", ms);
        if (sk_timer_start(u->loop, &c->t_glare, ms))
            reinvite_failed(c, status, reason);
        return;
    }
    if (status == 481 || status == 408 || sip_dlg_rx_response(c->dlg, status)) {
        /* §14.1: 481, 408 or no answer: the dialog is over */
        reinvite_failed(c, status, reason);
        c->end_status = status;
        snprintf(c->end_reason, sizeof(c->end_reason), "re-INVITE: %d %s", status, reason);
        c->end_by = "remote";
        ua_hangup(u, c->id);
        return;
    }
    reinvite_failed(c, status, reason);
}

static void on_reinvite_terminated(struct sip_txn *t, void *arg)
{
    struct ua_call *c = arg;
    bool last = c->reinv == t;
    if (last)
        c->reinv = NULL;
    c->reinv_live--;
    sip_txn_unref(t);
    if (last && c->reinv_pending) {
        /* ended without a final response reaching us */
        c->reinv_pending = false;
        if (c->state == CALL_ACTIVE)
            reinvite_failed(c, 408, "no answer");
    }
    if (c->state == CALL_ENDED)
        reap_soon(c->u);
}

static const struct sip_txn_user reinvite_user = {on_reinvite_response, on_reinvite_terminated};

/* §14.1: a re-INVITE with a new offer of the same session (sess-version + 1). */
static int reinvite_send(struct ua_call *c)
{
    struct sk_buf body;
    struct sip_txn *t = NULL;
    int err;

    if (!c->reinv_offer && !(c->reinv_offer = malloc(sizeof(*c->reinv_offer))))
        return ENOMEM;
    c->sdp_local.dir = ua_offer_dir(c->hold_wanted, c->remote_hold);
    if ((err = sdp_offer_new(&c->sdp_local, c->reinv_offer)))
        return err;
    sk_buf_init(&body);
    c->reinv_live++; /* before the transaction exists: its terminated() takes it back */
    if ((err = sdp_print(c->reinv_offer, &body)) == 0)
        err = dlg_send(c, "INVITE", NULL, sk_str_cstr(sdp_ctype), sk_buf_str(&body),
                       &reinvite_user, &t, NULL, NULL);
    sk_buf_free(&body);
    if (err) {
        c->reinv_live--;
        return err;
    }
    /* the last one's transaction may linger (Timer M): it keeps the call
     * alive (reinv_live) until it terminates, but answers no more */
    c->reinv = t;
    c->reinv_pending = true;
    c->reinv_hold = c->hold_wanted;
    c->reinv_cseq = c->dlg->invite_cseq;
    sk_buf_free(&c->reinv_ack);
    sk_buf_init(&c->reinv_ack);
    return 0;
}

/* An offer/answer exchange is under way: a hold or resume waits for its end. */
static bool reinvite_busy(const struct ua_call *c)
{
    return c->reinv_pending || c->late_offer || c->re_st || sk_timer_active(&c->t_glare);
}

/* An exchange ended: send the hold or resume the user asked for meanwhile. */
static void reinvite_follow_up(struct ua_call *c)
{
    if (c->state != CALL_ACTIVE || reinvite_busy(c) || c->hold_wanted == c->local_hold)
        return;
    if (reinvite_send(c) != 0)
        reinvite_failed(c, 500, "re-INVITE not sent");
}

static void on_glare_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    (void) loop;
    (void) t;
    /* unless the call ended, or an exchange with the peer is under way (it
     * follows up at its end), or the peer's offer already did what we wanted */
    reinvite_follow_up(c);
}

int ua_hold(struct ua *u, unsigned id, bool hold)
{
    struct ua_call *c = call_find(u, id);
    int err;

    if (!c)
        return ENOENT;
    if (c->state != CALL_ACTIVE || !c->dlg || !c->media_started)
        return EBUSY;
    if (reinvite_busy(c)) {
        /* an offer/answer exchange is under way (or a glare retry waits):
         * what is wanted goes out when it is over */
        c->hold_wanted = hold;
        return 0;
    }
    if (hold == c->local_hold)
        return EALREADY;
    c->hold_wanted = hold;
    if ((err = reinvite_send(c))) {
        c->hold_wanted = c->local_hold;
        return err;
    }
    return 0;
}

int ua_media_report(struct ua *u, unsigned id, struct media_report *r)
{
    struct ua_call *c = call_find(u, id);
    if (!c)
        return ENOENT;
    if (!c->media || !c->media_started)
        return EBUSY;
    media_stream_report(c->media, r);
    return 0;
}

static const char *hold_status(const struct ua_call *c)
{
    if (c->local_hold && c->remote_hold)
        return ", on hold both ways";
    if (c->local_hold)
        return ", on hold (by us)";
    return c->remote_hold ? ", on hold (by the peer)" : "";
}

/* ---- Hooks for info.c and message.c ---- */

bool ua_call_confirmed(struct ua *u, unsigned id)
{
    struct ua_call *c = call_find(u, id);
    return c && id && c->state == CALL_ACTIVE && c->dlg;
}

bool ua_dialog_exists(struct ua *u, const struct sip_msg *m)
{
    return call_by_dialog(u, m) != NULL;
}

/* dlg_send with a transaction user of another file (its arg is not the call,
 * so the call may go while the request is out) */
int ua_call_send_in_dialog(struct ua *u, unsigned id, const char *method, struct sk_str ctype,
                           struct sk_str body, const struct sip_txn_user *user, void *arg,
                           struct sip_txn **tp)
{
    struct ua_call *c = call_find(u, id);
    struct sip_dest d;
    struct sk_buf b;
    int err;

    if (!c || !id || c->state != CALL_ACTIVE || !c->dlg)
        return ENOENT;
    sk_buf_init(&b);
    if (!(err = dlg_build(c, method, NULL, ctype, body, &b, &d)))
        err = sip_txn_client_new(u->txl, u->loop, b.p, b.len, &d, user, arg, tp);
    sk_buf_free(&b);
    return err;
}

/* ---- 100rel and session timers (RFC 3262, RFC 4028; the rules in prack.c, timer.c) ---- */

static void on_rel_timer(struct sk_loop *loop, struct sk_timer *t, void *arg);
static void on_se_timer(struct sk_loop *loop, struct sk_timer *t, void *arg);

static void ext_init(struct ua_call *c)
{
    sk_buf_init(&c->rel_resp);
    sk_timer_init(&c->t_rel, on_rel_timer, c);
    sk_timer_init(&c->t_se, on_se_timer, c);
    ua_prack_uas_init(&c->prack, c->u->cfg.txn.t1_ms, sk_rand64());
    ua_prack_uac_init(&c->prack_uac);
}

static void ext_stop(struct ua_call *c)
{
    sk_timer_stop(c->u->loop, &c->t_rel);
    sk_timer_stop(c->u->loop, &c->t_se);
}

static bool msg_has_tag(struct sip_msg *m, enum sip_hdr_id id, const char *tag)
{
    const struct sk_str *t;
    size_t n;
    struct sip_error e;
    return m->count[id] && sip_msg_tokens(m, id, &t, &n, &e) == 0 && ua_opt_has(t, n, tag);
}

static bool allows_update(struct sip_msg *m)
{
    return m && msg_has_tag(m, SIP_HDR_ALLOW, "UPDATE");
}

/* RFC 3261 §8.2.2.3 (420), RFC 3262 (421), RFC 4028 §9 (422) for a new INVITE. */
static bool invite_extensions_ok(struct ua *u, struct sip_txn *st, struct sip_rx *rx,
                                 const char *tag, enum ua_prack_mode *pm,
                                 struct ua_se_result *se)
{
    struct sip_msg *m = rx->msg;
    const struct sk_str *req = NULL;
    size_t n = 0;
    struct sip_error e;
    struct ua_se_hdrs h;
    struct ua_se_config sec = {u->cfg.session_expires, u->cfg.min_se};
    char line[160];
    size_t len = 0;

    if (m->count[SIP_HDR_REQUIRE] && sip_msg_tokens(m, SIP_HDR_REQUIRE, &req, &n, &e) != 0) {
        ua_respond(u, st, rx, 400, "Bad Require", tag, NULL, NULL, SK_STR_NULL);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((sk_str_ieq_cstr(req[i], "100rel") && u->cfg.rel100 != UA_REL100_OFF) ||
            sk_str_ieq_cstr(req[i], "timer") || sk_str_ieq_cstr(req[i], "replaces"))
            continue;
        len += (size_t) snprintf(line + len, sizeof(line) - len, "%s%.*s",
                                 len ? ", " : "Unsupported: ", SK_STR_FMT(req[i]));
        if (len >= sizeof(line) - 4)
            break;
    }
    if (len) {
        snprintf(line + (len < sizeof(line) - 3 ? len : sizeof(line) - 3),
                 sizeof(line) - (len < sizeof(line) - 3 ? len : sizeof(line) - 3), "\r\n");
        ua_respond(u, st, rx, 420, NULL, tag, line, NULL, SK_STR_NULL);
        return false;
    }
    *pm = ua_prack_decide(u->cfg.rel100, ua_opt_has(req, n, "100rel"),
                          msg_has_tag(m, SIP_HDR_SUPPORTED, "100rel"));
    if (*pm == UA_PRACK_REJECT_421 || *pm == UA_PRACK_REJECT_420) {
        ua_respond(u, st, rx, *pm == UA_PRACK_REJECT_421 ? 421 : 420, NULL, tag,
                   *pm == UA_PRACK_REJECT_421 ? "Require: 100rel\r\n"
                                              : "Unsupported: 100rel\r\n",
                   NULL, SK_STR_NULL);
        return false;
    }
    if (ua_se_read(m, &h) != 0) {
        ua_respond(u, st, rx, 400, "Bad Session-Expires or Min-SE", tag, NULL, NULL,
                   SK_STR_NULL);
        return false;
    }
    ua_se_uas(&sec, &h, se);
    if (se->status == 422) {
        snprintf(line, sizeof(line), "Min-SE: %u\r\n", se->min_se);
        ua_respond(u, st, rx, 422, NULL, tag, line, NULL, SK_STR_NULL);
        return false;
    }
    return true;
}

/* ---- UAS: reliable provisionals ---- */

static void rel_send_next(struct ua_call *c)
{
    struct ua *u = c->u;
    int status;
    bool offer;
    uint32_t rseq, wait;

    if (!ua_prack_uas_next(&c->prack, &status, &offer, &rseq, &wait))
        return;
    if (respond_invite(c, status, NULL, NULL, NULL) != 0)
        SK_WARN("call %u: reliable %d not sent", c->id, status);
    /* over TCP the transport is reliable: only the 64*T1 wait for the PRACK */
    if (c->ist && sip_proto_reliable(sip_txn_dest(c->ist)->proto))
        wait = 64u * u->cfg.txn.t1_ms;
    if (sk_timer_start(u->loop, &c->t_rel, wait))
        SK_WARN("call %u: no timer for the reliable %d", c->id, status);
}

static void call_provisional(struct ua_call *c, int code)
{
    if (!c->reliable) {
        respond_invite(c, code, NULL, NULL, NULL);
        return;
    }
    if (ua_prack_uas_queue(&c->prack, code, false) != 0)
        SK_WARN("call %u: reliable %d dropped (queue full)", c->id, code);
    rel_send_next(c);
}

static void on_rel_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    uint32_t wait = 0;

    if (c->state != CALL_IN_RINGING)
        return;
    bool reliable_tp = c->ist && sip_proto_reliable(sip_txn_dest(c->ist)->proto);
    enum ua_prack_tick k = reliable_tp ? UA_PRACK_TICK_GIVE_UP : ua_prack_uas_tick(&c->prack, &wait);
    if (k == UA_PRACK_TICK_RETRANSMIT) {
        if (c->ist)
            sip_txn_respond(c->ist, c->prack.status, c->rel_resp.p, c->rel_resp.len);
        if (sk_timer_start(loop, t, wait))
            SK_WARN("call %u: no timer for the reliable %d", c->id, c->prack.status);
    } else if (k == UA_PRACK_TICK_GIVE_UP) {
        /* RFC 3262 §3: no PRACK in 64*T1: reject the INVITE with a 5xx */
        respond_invite(c, 504, "No PRACK for the reliable provisional response", NULL, NULL);
        call_end(c, 504, "no PRACK for our reliable provisional response", "local");
    }
}

static void prack_rx(struct ua_call *c, struct sip_txn *st, struct sip_rx *rx)
{
    struct ua *u = c->u;
    struct sip_msg *m = rx->msg;
    const struct sip_rack *rack;
    struct sip_error e;
    bool offer;
    int status = c->prack.status;

    if (sip_msg_rack(m, &rack, &e) != 0) {
        ua_respond(u, st, rx, 400, "Bad or missing RAck", NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (c->outgoing || !c->inv ||
        ua_prack_uas_rx(&c->prack, rack->rseq, rack->cseq, rack->method, c->inv->cseq.num,
                        &offer) != 0) {
        /* RFC 3262 §3: a PRACK for no unacknowledged reliable provisional */
        ua_respond(u, st, rx, 481, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    sk_timer_stop(u->loop, &c->t_rel);
    /* our provisionals carry no SDP: a PRACK has no answer to give (RFC 3262 §5) */
    ua_respond(u, st, rx, 200, NULL, NULL, NULL, NULL, SK_STR_NULL);
    {
        struct ua_event ev = {.type = UA_EV_PRACK, .call = c->id, .status = status,
                              .peer = c->peer, .text = "received", .expires = rack->rseq};
        ua_emit(u, &ev);
    }
    if (c->state != CALL_IN_RINGING)
        return;
    rel_send_next(c);
    if (c->answer_waits && !c->prack.inflight && !c->prack.nqueued) {
        c->answer_waits = false;
        ua_answer(u, c->id);
    }
}

/* ---- UAC: PRACK our peer's reliable provisionals ---- */

static void on_prack_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_call *c = arg;
    (void) t;
    (void) rx;
    if (status >= 300)
        SK_INFO("call %u: our PRACK got %d", c->id, status);
}

static void on_prack_terminated(struct sip_txn *t, void *arg)
{
    struct ua_call *c = arg;
    c->prack_live--;
    sip_txn_unref(t);
    if (c->state == CALL_ENDED)
        reap_soon(c->u);
}

static const struct sip_txn_user prack_user = {on_prack_response, on_prack_terminated};

static bool prack_uac_drop(struct ua_call *c, struct sip_msg *m)
{
    struct ua *u = c->u;
    struct sip_error e;
    struct sip_txn *t = NULL;
    uint32_t rseq = 0;
    char rack[80];

    if (m->status <= 100 || u->cfg.rel100 == UA_REL100_OFF ||
        !msg_has_tag(m, SIP_HDR_REQUIRE, "100rel"))
        return false;
    if (!c->dlg || !sip_dlg_match(c->dlg, m))
        return false; /* another fork's early dialog: not the one we keep */
    bool has_rseq = sip_msg_uint(m, SIP_HDR_RSEQ, &rseq, &e) == 0;
    switch (ua_prack_uac_rx(&c->prack_uac, m->to.tag, true, has_rseq, rseq)) {
    case UA_PRACK_NONE: return false;
    case UA_PRACK_IGNORE: return true;
    case UA_PRACK_BAD:
        SK_INFO("call %u: reliable %d without a usable RSeq dropped", c->id, m->status);
        return true;
    case UA_PRACK_SEND: break;
    }
    /* RFC 3262 §7.2: PRACK in the early dialog, RAck = RSeq, CSeq number, method */
    ua_prack_rack_line(rack, sizeof(rack), rseq, m->cseq.num, "INVITE");
    c->prack_live++;
    if (dlg_send(c, "PRACK", rack, SK_STR_NULL, SK_STR_NULL, &prack_user, &t, NULL, NULL)) {
        c->prack_live--;
        SK_WARN("call %u: PRACK not sent", c->id);
        return false;
    }
    struct ua_event ev = {.type = UA_EV_PRACK, .call = c->id, .status = m->status,
                          .peer = c->peer, .text = "sent", .expires = rseq};
    ua_emit(u, &ev);
    return false;
}

/* ---- Session timers ---- */

/* Session-Expires and Min-SE for a re-INVITE or UPDATE we send (RFC 4028 §7.4). */
static void se_request_lines(struct ua_call *c, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!c->se.active)
        return;
    /* refresher=uac: we (the UAC of this request) go on refreshing */
    ua_se_line(buf, size, c->se.interval,
               ua_se_we_refresh(&c->se, c->se_we_uac) ? UA_REFRESHER_UAC : UA_REFRESHER_UAS);
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "Min-SE: %u\r\n",
             c->se_min > c->u->cfg.min_se ? c->se_min : c->u->cfg.min_se);
}

static void se_arm(struct ua_call *c)
{
    struct ua *u = c->u;
    uint64_t ms;

    sk_timer_stop(u->loop, &c->t_se);
    if (!c->se.active || c->state == CALL_ENDED || c->state == CALL_ENDING)
        return;
    if (ua_se_we_refresh(&c->se, c->se_we_uac) && !c->se_failed)
        ms = ua_se_refresh_ms(c->se.interval);
    else
        ms = ua_se_expiry_ms(c->se.interval);
    if (c->se_failed) /* we refreshed at half the interval; the rest up to the expiry */
        ms -= ua_se_refresh_ms(c->se.interval);
    if (sk_timer_start(u->loop, &c->t_se, ms))
        SK_WARN("call %u: the session timer cannot be set", c->id);
}

/* The 2xx to our INVITE, re-INVITE or UPDATE: the timer it sets (§7.2). */
static void se_uac_done(struct ua_call *c, struct sip_msg *m, bool initial)
{
    struct ua_se_hdrs h;
    struct ua_se_result r;
    bool was = c->se.active;

    if (ua_se_read(m, &h) != 0)
        memset(&h, 0, sizeof(h)); /* a malformed one: as if none */
    ua_se_uac_2xx(&h, &r);
    c->se = r;
    c->se_we_uac = true;
    c->se_failed = false;
    se_arm(c);
    if (initial && r.active)
        emit_info(c, "session timer %u s, %s refreshes", r.interval,
                  ua_se_we_refresh(&r, true) ? "we" : "the peer");
    if (!initial && (was || r.active)) {
        struct ua_event ev = {.type = UA_EV_SESSION_REFRESHED, .call = c->id, .peer = c->peer,
                              .expires = r.interval, .text = "local",
                              .reason = r.refresher == UA_REFRESHER_UAC ? "uac" : "uas"};
        ua_emit(c->u, &ev);
    }
}

static bool se_retry_422(struct ua_call *c, struct sip_msg *m)
{
    struct ua_se_hdrs h;
    uint32_t next;

    if (ua_se_read(m, &h) != 0 || c->se_tries >= 2 || !(next = ua_se_after_422(&h, c->se_ask)))
        return false;
    c->se_tries++;
    c->se_ask = next;
    c->se_min = h.min_se;
    emit_info(c, "422 Session Interval Too Small: again with Session-Expires %u", next);
    if (c->dlg) {
        sip_dlg_free(c->dlg);
        c->dlg = NULL;
    }
    ua_prack_uac_init(&c->prack_uac);
    send_invite(c);
    return true;
}

static void se_refresh_send(struct ua_call *c);

/* Our refresh was refused (not 481/408: those end the call): the session lasts
 * until its expiry, then the BYE (§10). */
static void se_refresh_failed(struct ua_call *c, int status, const char *reason)
{
    emit_info(c, "session refresh refused (%d %s): the call ends at the session expiry",
              status, reason ? reason : "");
    c->se_failed = true;
    se_arm(c);
}

static void on_se_update_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_call *c = arg;
    struct sip_msg *m = rx ? rx->msg : NULL;
    char reason[128];
    (void) t;

    if (status < 200 || c->state != CALL_ACTIVE)
        return;
    if (status < 300) {
        sip_dlg_target_refresh(c->dlg, m);
        se_uac_done(c, m, false);
        return;
    }
    if (m)
        sk_str_copy(reason, sizeof(reason), m->reason);
    else
        snprintf(reason, sizeof(reason), "%s", status == 408 ? "no answer" : "transport error");
    if (status == 481 || status == 408 || !m || sip_dlg_rx_response(c->dlg, status)) {
        /* RFC 4028 §10 / RFC 3261 §12.2.1.2: the peer is gone: end the call */
        c->end_status = status;
        snprintf(c->end_reason, sizeof(c->end_reason), "session refresh: %d %s", status,
                 reason);
        c->end_by = "local";
        ua_hangup(c->u, c->id);
        return;
    }
    if (status == 422) {
        struct ua_se_hdrs h;
        uint32_t next;
        if (ua_se_read(m, &h) == 0 && c->se_tries < 2 &&
            (next = ua_se_after_422(&h, c->se.interval))) {
            c->se_tries++;
            c->se.interval = next;
            c->se_min = h.min_se;
            se_refresh_send(c);
            return;
        }
    }
    if (status == 405 || status == 501) {
        /* no UPDATE after all: the re-INVITE, now */
        c->peer_update = false;
        se_refresh_send(c);
        return;
    }
    se_refresh_failed(c, status, reason);
}

static void on_se_update_terminated(struct sip_txn *t, void *arg)
{
    struct ua_call *c = arg;
    c->se_live--;
    sip_txn_unref(t);
    if (c->state == CALL_ENDED)
        reap_soon(c->u);
}

static const struct sip_txn_user se_update_user = {on_se_update_response,
                                                   on_se_update_terminated};

/* §10: the refresher's refresh, an UPDATE when the peer allows it (no offer needed),
 * else a re-INVITE with our session as it is. */
static void se_refresh_send(struct ua_call *c)
{
    struct sip_txn *t = NULL;
    int err;

    if (c->state != CALL_ACTIVE || reinvite_busy(c)) {
        /* an exchange is under way (its 2xx refreshes too): look again in a second */
        if (sk_timer_start(c->u->loop, &c->t_se, 1000))
            SK_WARN("call %u: the session timer cannot be set", c->id);
        return;
    }
    if (c->peer_update) {
        c->se_live++;
        err = dlg_send(c, "UPDATE", NULL, SK_STR_NULL, SK_STR_NULL, &se_update_user, &t, NULL,
                       NULL);
        if (err)
            c->se_live--;
    } else {
        c->reinv_refresh = true;
        if ((err = reinvite_send(c)))
            c->reinv_refresh = false;
    }
    if (err)
        se_refresh_failed(c, 500, "refresh not sent");
}

static void on_se_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct ua_call *c = arg;
    (void) loop;
    (void) t;

    if (c->state != CALL_ACTIVE && c->state != CALL_IN_ANSWERED)
        return;
    if (!c->se_failed && ua_se_we_refresh(&c->se, c->se_we_uac)) {
        se_refresh_send(c);
        return;
    }
    /* RFC 4028 §10: no refresh came in time: the session is over */
    c->end_status = 408;
    snprintf(c->end_reason, sizeof(c->end_reason), "session expired (no refresh within %u s)",
             c->se.interval);
    c->end_by = "local";
    ua_hangup(c->u, c->id);
}
