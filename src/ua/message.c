/* Instant messages (RFC 3428): MESSAGE out of any dialog, sent with digest auth, and received ones answered and reported. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sip/print.h"
#include "sip/uac_req.h"
#include "ua/ua_int.h"

/* One MESSAGE we sent, kept until its transaction ends (a challenge is answered
 * by a new request from here: §8.1.3.5, §22.2). */
struct ua_msg {
    struct ua_msg *next;
    struct ua *u;
    char target[UA_STR_MAX];
    char call_id[96], from_tag[24];
    uint32_t cseq;
    char *text;
    struct sip_dest dst;
    struct sip_digest_client dc;
    unsigned auth_tries;
    struct sip_txn *txn;
    bool done;                    /* the final status was reported */
};

static int msg_send(struct ua_msg *mm);

static void msg_unlink_free(struct ua_msg *mm)
{
    struct ua *u = mm->u;
    for (struct ua_msg **pp = &u->msgs; *pp; pp = &(*pp)->next) {
        if (*pp == mm) {
            *pp = mm->next;
            break;
        }
    }
    free(mm->text);
    free(mm);
}

static void msg_report(struct ua_msg *mm, int status, const char *reason)
{
    struct ua_event ev = {.type = UA_EV_MESSAGE_SENT, .status = status, .reason = reason,
                          .peer = mm->target};
    if (mm->done)
        return;
    mm->done = true;
    if (!mm->u->freeing)
        ua_emit(mm->u, &ev);
}

static void on_msg_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_msg *mm = arg;
    struct ua *u = mm->u;
    struct sip_msg *m = rx ? rx->msg : NULL;
    char reason[256];

    (void) t;
    if (status < 200 || mm->done)
        return;
    if (m)
        sk_str_copy(reason, sizeof(reason), m->reason);
    else
        snprintf(reason, sizeof(reason), "%s",
                 status == 408 ? "no answer (Timer F)" : "transport error: unreachable");
    if ((status == 401 || status == 407) && m && u->cfg.password[0] && !u->shutting_down) {
        struct sip_digest_client dc;
        /* as for INVITE: one answer per challenge unless the nonce went stale */
        if (sip_digest_client_pick(m, &dc) == 0 &&
            !((mm->auth_tries >= 1 && !dc.stale) || mm->auth_tries >= 3)) {
            mm->auth_tries++;
            mm->dc = dc;
            if (msg_send(mm) == 0)
                return;
            snprintf(reason, sizeof(reason), "could not send the authenticated MESSAGE");
        } else {
            snprintf(reason, sizeof(reason), "authentication failed");
        }
    }
    msg_report(mm, status, reason);
}

static void on_msg_terminated(struct sip_txn *t, void *arg)
{
    struct ua_msg *mm = arg;
    bool current = mm->txn == t;

    sip_txn_unref(t);
    if (!current)
        return; /* a challenged one: its retry carries on */
    mm->txn = NULL;
    msg_report(mm, 408, "no final answer");
    msg_unlink_free(mm);
}

static const struct sip_txn_user msg_user = {on_msg_response, on_msg_terminated};

static int msg_send(struct ua_msg *mm)
{
    struct ua *u = mm->u;
    struct sk_buf b;
    char branch[48];
    struct sip_txn *t = NULL;
    int err;

    sk_buf_init(&b);
    /* §8.1.3.5: the retry after a challenge is a new request with CSeq + 1 */
    mm->cseq++;
    ua_print_request_head(u, &b, "MESSAGE", mm->target, mm->from_tag, mm->target, NULL,
                          mm->call_id, mm->cseq, branch, sizeof(branch));
    if (mm->auth_tries)
        sip_digest_client_authorize(&b, &mm->dc, u->auth_user, u->cfg.password,
                                    sk_str_cstr("MESSAGE"), sk_str_cstr(mm->target), NULL);
    sip_print_body(&b, sk_str_cstr("text/plain;charset=UTF-8"), sk_str_cstr(mm->text));
    err = ua_send_request(u, &b, &mm->dst, &msg_user, mm, &t);
    sk_buf_free(&b);
    if (err)
        return err;
    mm->txn = t;
    return 0;
}

int ua_message(struct ua *u, const char *target, const char *text)
{
    struct ua_msg *mm;
    struct sip_uri uri;
    struct sip_error e;
    int err;

    if (u->shutting_down)
        return ESHUTDOWN;
    if (!text || !text[0])
        return EINVAL; /* RFC 3428 §4: a MESSAGE carries a body */
    if (strlen(text) > UA_MESSAGE_MAX_BODY)
        return EMSGSIZE;
    if (!(mm = calloc(1, sizeof(*mm))) || !(mm->text = strdup(text))) {
        free(mm);
        return ENOMEM;
    }
    mm->u = u;
    ua_normalise_target(u, target, mm->target, sizeof(mm->target));
    if ((err = sip_uri_parse(&uri, mm->target, strlen(mm->target), &e)) ||
        (err = ua_dest_for_uri(u, &uri, &mm->dst))) {
        free(mm->text);
        free(mm);
        return err;
    }
    /* RFC 3428 §4: out of a dialog, each MESSAGE is a request of its own */
    ua_new_call_id(u, mm->call_id, sizeof(mm->call_id));
    ua_new_tag(u, mm->from_tag, sizeof(mm->from_tag));
    mm->cseq = (uint32_t) (sip_cseq_initial() & 0x3fffffff);
    mm->next = u->msgs;
    u->msgs = mm;
    if ((err = msg_send(mm))) {
        msg_unlink_free(mm);
        return err;
    }
    return 0;
}

void ua_messages_free(struct ua *u)
{
    while (u->msgs)
        msg_unlink_free(u->msgs);
}

/* ---- Receiving ---- */

static bool is_text(const struct sip_ctype *ct)
{
    return sk_str_ieq_cstr(ct->type, "text");
}

static bool has_nul(struct sk_str s)
{
    return memchr(s.p, '\0', s.len) != NULL;
}

void ua_message_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    const struct sip_ctype *ct = NULL;
    size_t nct = 0;
    struct sip_error e;
    char tag[24], ctype[128], from[UA_STR_MAX], summary[96];
    char *text = NULL;
    struct ua_event ev = {.type = UA_EV_MESSAGE};
    bool in_dialog = sk_str_isset(m->to.tag);

    if (!st)
        return;
    ua_new_tag(u, tag, sizeof(tag));
    if (in_dialog && !ua_dialog_exists(u, m)) {
        ua_respond(u, st, rx, 481, NULL, NULL, NULL, NULL, SK_STR_NULL); /* §12.2.2 */
        return;
    }
    if (m->body.len == 0) {
        /* RFC 3428 §4: a MESSAGE carries its content in the body */
        ua_respond(u, st, rx, 400, "MESSAGE Without a Body", in_dialog ? NULL : tag, NULL, NULL,
                   SK_STR_NULL);
        return;
    }
    if (m->body.len > UA_MESSAGE_MAX_BODY) {
        /* RFC 3428 §7: too large for us: 413 */
        ua_respond(u, st, rx, 413, NULL, in_dialog ? NULL : tag, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &nct, &e) != 0 || nct == 0) {
        ua_respond(u, st, rx, 400, "MESSAGE Without a Content-Type", in_dialog ? NULL : tag, NULL,
                   NULL, SK_STR_NULL);
        return;
    }
    snprintf(ctype, sizeof(ctype), "%.*s/%.*s", SK_STR_FMT(ct[0].type), SK_STR_FMT(ct[0].subtype));
    sk_str_copy(from, sizeof(from), m->from.uri.raw);
    if (is_text(&ct[0]) && !has_nul(m->body) && (text = malloc(m->body.len + 1))) {
        memcpy(text, m->body.p, m->body.len);
        text[m->body.len] = '\0';
        ev.text = text;
    } else {
        /* any other content is taken (§7 lets us), and said in one line */
        snprintf(summary, sizeof(summary), "[%zu bytes of %s]", m->body.len, ctype);
        ev.text = summary;
    }
    ua_respond(u, st, rx, 200, NULL, in_dialog ? NULL : tag, NULL, NULL, SK_STR_NULL);
    ev.peer = from;
    ev.ctype = ctype;
    ua_emit(u, &ev);
    free(text);
}
