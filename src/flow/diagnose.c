/* Diagnosis rules of `sipkit flow`: findings about a call or registration, each with
 * the frames that show it and what to do about it. This file: the entry point, the
 * shared helpers, the final-status and the authentication rules. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/diag_int.h"

struct status_text {
    int status;
    const char *meaning, *fix;
};

/* RFC 3261 §21 and common practice, in plain words. */
static const struct status_text STATUS_TEXT[] = {
    {400, "the far end could not parse the request",
     "check the request against RFC 3261 (sipkit lint)"},
    {401, "the server wants credentials (a challenge)",
     "configure the user name and password for this realm"},
    {403,
     "the server refused: wrong credentials, a barred user, or a forbidden destination",
     "check the account, its password and what it may call"},
    {404, "the called user or number does not exist there",
     "check the number dialled and the domain it went to"},
    {405, "the method is not allowed there", "see the Allow header of the response"},
    {407, "a proxy wants credentials (a challenge)", "configure the proxy credentials"},
    {408, "no response in time: the far end or the next hop did not answer",
     "check that the next hop is reachable and its address and port are right"},
    {410, "the user was there but is gone", "update the number or address"},
    {415, "the body type is not supported", "check the Content-Type (application/sdp)"},
    {420, "an extension in Require is not supported",
     "remove the option tag from Require"},
    {422, "the session timer is too short for the far end",
     "raise Session-Expires to the Min-SE the response gives"},
    {423, "the registration interval is too short",
     "raise Expires to the Min-Expires the response gives"},
    {480, "the callee is not reachable now (not registered, or do-not-disturb)",
     "check that the callee's phone is registered"},
    {481, "the far end knows no such call or transaction",
     "a message was sent in a dialog the far end had already ended"},
    {482, "a loop was detected",
     "check the routing: the request came back to a proxy it passed"},
    {483, "too many hops (Max-Forwards reached 0)", "check the routing for loops"},
    {484, "the number dialled is incomplete", "dial the whole number"},
    {486, "the callee is busy", "call again later"},
    {487, "the request was cancelled before an answer",
     "the caller hung up while it rang, or a fork was answered elsewhere"},
    {488, "the far end accepts none of the offered codecs or media",
     "offer a codec both sides support (e.g. PCMU/PCMA)"},
    {489, "the event package is not supported there",
     "subscribe only to the events the server lists in Allow-Events"},
    {491, "a re-INVITE crossed another one (glare)",
     "normal if rare: the side that retries later wins"},
    {500, "the server failed internally", "see the server's log"},
    {501, "the method is not implemented there", "use a method the far end supports"},
    {502, "a gateway got a bad response from the next hop",
     "check the next hop behind the gateway"},
    {503, "the service is unavailable (overloaded, or no route)",
     "check the server's state and trunks; see Retry-After"},
    {504, "a gateway timed out waiting for the next hop",
     "check the next hop behind the gateway"},
    {600, "the callee is busy everywhere", "call again later"},
    {603, "the callee declined the call", "the callee rejected it"},
    {604, "the user does not exist anywhere", "check the number or address"},
    {606, "the callee does not accept the call's session", "offer other media or codecs"},
};

const char *flow_status_meaning(int status, const char **fix)
{
    for (size_t i = 0; i < sizeof(STATUS_TEXT) / sizeof(STATUS_TEXT[0]); i++)
        if (STATUS_TEXT[i].status == status) {
            if (fix) *fix = STATUS_TEXT[i].fix;
            return STATUS_TEXT[i].meaning;
        }
    if (fix) *fix = NULL;
    return NULL;
}

/* ---- helpers shared by the rules ---- */

int diag_printf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    return n;
}

double diag_secs(uint64_t ns)
{
    return (double) ns / 1e9;
}

struct flow_finding *diag_add(struct diag *d, enum flow_severity sev, const char *code)
{
    struct flow_finding *f;

    if (d->n >= d->max) return NULL;
    f = &d->out[d->n++];
    memset(f, 0, sizeof(*f));
    f->severity = sev;
    snprintf(f->code, sizeof(f->code), "%s", code);
    return f;
}

void diag_frame(struct flow_finding *f, uint64_t fr)
{
    if (!f || !fr || f->nframes >= FLOW_FINDING_MAX_FRAMES) return;
    for (unsigned i = 0; i < f->nframes; i++)
        if (f->frames[i] == fr) return;
    f->frames[f->nframes++] = fr;
}

bool diag_has(const struct diag *d, const char *code)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->out[i].code, code) == 0) return true;
    return false;
}

const struct flow_msg *diag_next_msg(const struct diag *d, size_t *i)
{
    /* messages are in capture order: past the item's last one (and a second of slack
     * for reordered timestamps) nothing more is the item's */
    /* right after one of the item's: straight to its next (the others between are
     * not the item's) */
    if (*i > 0 && *i < d->nmsgs && d->msgs[*i].item != (int32_t) d->index &&
        d->msgs[*i - 1].item == (int32_t) d->index) {
        int32_t nx = d->msgs[*i - 1].next_in_item;
        *i = nx < 0 ? d->nmsgs : (size_t) nx;
    }
    for (; *i < d->nmsgs; (*i)++) {
        const struct flow_msg *fm = &d->msgs[*i];
        if (fm->ts_ns > d->it->last_ns + DIAG_NS_PER_S) return NULL;
        if (fm->item == (int32_t) d->index) return fm;
    }
    return NULL;
}

bool diag_txn_in_range(const struct diag *d, size_t *i)
{
    if (*i > 0 && *i < d->ntxns && d->txns[*i].item != (int32_t) d->index &&
        d->txns[*i - 1].item == (int32_t) d->index) {
        int32_t nx = d->txns[*i - 1].next_in_item;
        *i = nx < 0 ? d->ntxns : (size_t) nx;
    }
    return *i < d->ntxns && d->txns[*i].first_ns <= d->it->last_ns + DIAG_NS_PER_S;
}

bool diag_parse(struct diag *d, const struct flow_msg *fm)
{
    size_t len, used;
    const char *text;
    struct sip_error err;

    if (!d->sm) return false;
    text = flow_model_msg_text(d->m, fm, &len);
    if (!text) return false;
    return sip_msg_parse(d->sm, text, len, SIP_PARSE_DATAGRAM, NULL, &used, &err) == 0;
}

bool diag_parse_sdp(struct diag *d)
{
    const struct sk_str b = d->sm->body;

    if (!d->sdp || !b.p || b.len < 3) return false;
    return sdp_parse(d->sdp, b.p, b.len, NULL) == 0;
}

void diag_sdp_codecs(const struct sdp_session *s, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (unsigned k = 0; k < s->nmedia; k++) {
        const struct sdp_media *md = &s->media[k];
        if (md->kind != SDP_MEDIA_AUDIO && k + 1 < s->nmedia) continue;
        for (unsigned i = 0; i < md->nfmt && n + 2 < cap; i++) {
            const char *name = md->fmt[i].enc[0] ? md->fmt[i].enc : md->fmt[i].id;
            int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", name);
            if (w < 0 || (size_t) w >= cap - n) {
                out[n] = '\0';
                return;
            }
            n += (size_t) w;
        }
        return;
    }
}

enum flow_addr_scope flow_addr_scope(const struct sk_sa *a)
{
    if (a->u.sa.sa_family == AF_INET) {
        const uint8_t *b = (const uint8_t *) &a->u.in.sin_addr.s_addr;
        if (b[0] == 127 || b[0] == 0 || (b[0] == 169 && b[1] == 254))
            return FLOW_ADDR_LOCAL;
        if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
            (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64))
            return FLOW_ADDR_PRIVATE;
        return FLOW_ADDR_PUBLIC;
    }
    if (a->u.sa.sa_family == AF_INET6) {
        const uint8_t *b = a->u.in6.sin6_addr.s6_addr;
        static const uint8_t zero[15] = {0};
        if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
            return FLOW_ADDR_LOCAL; /* :: and ::1 */
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return FLOW_ADDR_LOCAL;
        if ((b[0] & 0xfe) == 0xfc) return FLOW_ADDR_PRIVATE;
        return FLOW_ADDR_PUBLIC;
    }
    return FLOW_ADDR_LOCAL;
}

/* Codec names as phones and servers write them in Warning texts. */
static const char *const CODEC_NAMES[] = {
    "PCMU", "PCMA", "G722",  "G723", "G726",   "G728", "G729", "GSM",
    "iLBC", "opus", "speex", "AMR",  "AMR-WB", "L16",  "G711",
};

static bool word_at(const char *text, size_t len, size_t i, const char *w)
{
    size_t wl = strlen(w);

    if (i + wl > len || strncasecmp(text + i, w, wl) != 0) return false;
    if (i && (isalnum((unsigned char) text[i - 1]) || text[i - 1] == '-')) return false;
    /* "G729a", "G729ab" still name G.729; "AMR" must not match the "AMR" of "AMR-WB" */
    if (i + wl < len && (text[i + wl] == '-' || isdigit((unsigned char) text[i + wl])))
        return false;
    return true;
}

size_t flow_codecs_in_text(const char *text, size_t len, char *out, size_t cap)
{
    size_t found = 0, n = 0;

    if (cap) out[0] = '\0';
    for (size_t c = 0; c < sizeof(CODEC_NAMES) / sizeof(CODEC_NAMES[0]); c++) {
        bool hit = false;
        for (size_t i = 0; i < len && !hit; i++)
            hit = word_at(text, len, i, CODEC_NAMES[c]);
        if (!hit) continue;
        found++;
        if (cap && n + strlen(CODEC_NAMES[c]) + 3 < cap)
            n += (size_t) snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
                                   CODEC_NAMES[c]);
    }
    return found;
}

/* ---- rule: a final 3xx-6xx ended the call or the registration ---- */

static void rule_status(struct diag *d)
{
    const struct flow_item *it = d->it;
    const char *fix, *meaning;
    struct flow_finding *f;
    char code[24];
    int st = it->final_status;

    if (d->status_done || st < 300 || (it->kind == FLOW_ITEM_CALL && it->answer_ns))
        return;
    meaning = flow_status_meaning(st, &fix);
    diag_printf(code, sizeof(code), "status-%d", st);
    f = diag_add(d, st == 487 && it->cancelled ? FLOW_SEV_INFO : FLOW_SEV_ERROR, code);
    if (!f) return;
    if (st == 487 && it->cancelled)
        diag_printf(f->summary, sizeof(f->summary), "no answer (487 after CANCEL)");
    else
        diag_printf(f->summary, sizeof(f->summary), "failed: %d %s", st,
                    it->final_reason);
    diag_printf(f->detail, sizeof(f->detail), "%d %s: %s", st, it->final_reason,
                meaning    ? meaning
                : st < 400 ? "redirected elsewhere"
                           : "the request failed");
    diag_printf(f->fix, sizeof(f->fix), "%s",
                fix        ? fix
                : st < 400 ? "follow the Contact of the response"
                           : "see the response's Reason/Warning headers");
    diag_frame(f, it->cancel_frame);
    diag_frame(f, it->final_frame);
}

/* ---- rule: credentials challenged again, or refused with 403 after challenges ---- */

#define AUTH_FIX                                                                         \
    "wrong password or realm; check the user's credentials (user name, auth user, "      \
    "password, realm); a 403 after challenges means the server refused them"

void diag_rules_auth(struct diag *d)
{
    const struct flow_txn *t = d->txns, *first = NULL, *last = NULL, *refused = NULL;
    bool failed = d->it->final_status < 200 || d->it->final_status >= 300;
    unsigned count = 0, challenges = 0;
    struct flow_finding *f;

    for (size_t i = d->txn_first; diag_txn_in_range(d, &i); i++) {
        if (t[i].item != (int32_t) d->index) continue;
        if (t[i].final_status == 401 || t[i].final_status == 407) {
            challenges++;
            if (!t[i].has_auth) continue;
            /* credentials sent and challenged again */
            count++;
            if (!first) first = &t[i];
            last = &t[i];
        } else if (t[i].final_status == 403 && challenges && !refused) {
            refused = &t[i];
        }
    }
    /* a stale nonce (one more challenge, then success) is normal */
    if (count && (failed || count >= 2)) {
        f = diag_add(d, FLOW_SEV_ERROR, "auth-rejected");
        if (!f) return;
        diag_printf(f->summary, sizeof(f->summary),
                    "credentials rejected (%d again, %u time%s)", last->final_status,
                    count, count > 1 ? "s" : "");
        diag_printf(
            f->detail, sizeof(f->detail),
            "%s for %s sent credentials %u time%s and was challenged again with %d "
            "each time: the server does not accept the user name, password or realm",
            first->method_name, d->it->from, count, count > 1 ? "s" : "",
            last->final_status);
        diag_printf(f->fix, sizeof(f->fix), "%s", AUTH_FIX);
        diag_frame(f, first->first_frame);
        diag_frame(f, first->final_frame);
        diag_frame(f, last->final_frame);
        if (refused) diag_frame(f, refused->final_frame);
        /* the final 401/407 is this finding's, said better than status-401 */
        if (d->it->final_frame == last->final_frame) d->status_done = true;
    }
    if (refused) {
        f = diag_add(d, FLOW_SEV_ERROR, "auth-refused");
        if (!f) return;
        /* "failed: 403 ..." as the status verdict would say, with the challenges */
        diag_printf(f->summary, sizeof(f->summary), "failed: 403 %s after %u challenge%s",
                    refused->final_frame == d->it->final_frame ? d->it->final_reason
                                                               : "Forbidden",
                    challenges, challenges > 1 ? "s" : "");
        diag_printf(f->detail, sizeof(f->detail),
                    "%s was challenged, then refused with 403 Forbidden: the server no "
                    "longer accepts these credentials (or the user may not do this)",
                    refused->method_name);
        diag_printf(f->fix, sizeof(f->fix), "%s", AUTH_FIX);
        diag_frame(f, refused->first_frame);
        diag_frame(f, refused->final_frame);
        if (refused->final_frame == d->it->final_frame) d->status_done = true;
    }
}

/* Most important first: errors, warnings, then information, each in rule order. */
static void sort_by_severity(struct flow_finding *out, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct flow_finding tmp = out[i];
        size_t k = i;
        for (; k > 0 && out[k - 1].severity < tmp.severity; k--)
            out[k] = out[k - 1];
        out[k] = tmp;
    }
}

size_t flow_diagnose(const struct flow_model *m, size_t index, struct flow_finding *out,
                     size_t max)
{
    size_t nitems, lo, hi;
    struct flow_stream *mine = NULL;
    const struct flow_item *items = flow_model_items(m, &nitems);
    struct diag d = {.m = m, .index = index, .out = out, .max = max};

    if (index >= nitems) return 0;
    d.it = &items[index];
    d.msgs = flow_model_msgs(m, &d.nmsgs);
    d.txns = flow_model_txns(m, &d.ntxns);
    d.all_streams = flow_model_streams(m, &d.nall_streams);
    /* the item's streams side by side: the rules look at those, not at the whole
     * table (a large capture has tens of thousands) */
    if (d.it->streams) mine = malloc(d.it->streams * sizeof(*mine));
    if (mine)
        for (int32_t s = d.it->first_stream; s >= 0 && d.nstreams < d.it->streams;
             s = d.all_streams[s].next_in_item)
            mine[d.nstreams++] = d.all_streams[s];
    d.streams = mine;
    /* the item's first message: messages are kept in frame order */
    lo = 0;
    hi = d.nmsgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d.msgs[mid].frame < d.it->first_frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    d.msg_first = lo;
    lo = 0;
    hi = d.ntxns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d.txns[mid].first_frame < d.it->first_frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    d.txn_first = lo;
    /* scratch for re-reading kept messages; the rules that need it skip without */
    d.sm = malloc(sizeof(*d.sm));
    d.sdp = malloc(sizeof(*d.sdp));
    if (d.sm) sip_msg_init(d.sm);

    diag_rules_auth(&d);
    diag_rules_call(&d);
    diag_rules_reg(&d);
    diag_rules_net(&d);
    rule_status(&d);
    diag_rules_media(&d);
    sort_by_severity(out, d.n);

    if (d.sm) {
        sip_msg_release(d.sm);
        free(d.sm);
    }
    free(d.sdp);
    free(mine);
    return d.n;
}
