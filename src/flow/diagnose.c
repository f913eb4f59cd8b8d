/* Diagnosis rules of `sipkit flow`: findings about a call or registration, each with
 * the frames that show it and what to do about it. */
#include <stdio.h>
#include <string.h>

#include "flow/model.h"

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

static struct flow_finding *add(struct flow_finding *out, size_t max, size_t *n,
                                enum flow_severity sev, const char *code)
{
    struct flow_finding *f;

    if (*n >= max) return NULL;
    f = &out[(*n)++];
    memset(f, 0, sizeof(*f));
    f->severity = sev;
    snprintf(f->code, sizeof(f->code), "%s", code);
    return f;
}

static void frame(struct flow_finding *f, uint64_t fr)
{
    if (fr && f->nframes < FLOW_FINDING_MAX_FRAMES) f->frames[f->nframes++] = fr;
}

/* Rule: a final 3xx-6xx ended the call or the registration. */
static void rule_status(const struct flow_item *it, struct flow_finding *out, size_t max,
                        size_t *n)
{
    const char *fix, *meaning;
    struct flow_finding *f;
    char code[24];
    int st = it->final_status;

    if (st < 300 || (it->kind == FLOW_ITEM_CALL && it->answer_ns)) return;
    meaning = flow_status_meaning(st, &fix);
    snprintf(code, sizeof(code), "status-%d", st);
    f = add(out, max, n, st == 487 && it->cancelled ? FLOW_SEV_INFO : FLOW_SEV_ERROR,
            code);
    if (!f) return;
    if (st == 487 && it->cancelled)
        snprintf(f->summary, sizeof(f->summary), "no answer (487 after CANCEL)");
    else
        snprintf(f->summary, sizeof(f->summary), "failed: %d %s", st, it->final_reason);
    snprintf(f->detail, sizeof(f->detail), "%d %s: %s", st, it->final_reason,
             meaning    ? meaning
             : st < 400 ? "redirected elsewhere"
                        : "the request failed");
    snprintf(f->fix, sizeof(f->fix), "%s",
             fix        ? fix
             : st < 400 ? "follow the Contact of the response"
                        : "see the response's Reason/Warning headers");
    frame(f, it->cancel_frame);
    frame(f, it->final_frame);
}

/* Rule: the same request challenged again after it carried credentials. */
static void rule_auth(const struct flow_model *m, size_t index, struct flow_finding *out,
                      size_t max, size_t *n)
{
    size_t nt;
    const struct flow_txn *t = flow_model_txns(m, &nt);
    struct flow_finding *f = NULL;
    unsigned rejected = 0;

    const struct flow_item *it = &flow_model_items(m, &nt)[index];
    bool failed = it->final_status < 200 || it->final_status >= 300;
    unsigned count = 0;

    /* a stale nonce (one more challenge, then success) is normal */
    nt = 0;
    t = flow_model_txns(m, &nt);
    for (size_t i = 0; i < nt; i++)
        if (t[i].item == (int32_t) index && t[i].has_auth &&
            (t[i].final_status == 401 || t[i].final_status == 407))
            count++;
    if (!count || (!failed && count < 2)) return;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].item != (int32_t) index || !t[i].has_auth) continue;
        if (t[i].final_status != 401 && t[i].final_status != 407) continue;
        if (!rejected++) {
            f = add(out, max, n, FLOW_SEV_ERROR, "auth-rejected");
            if (!f) return;
            snprintf(f->summary, sizeof(f->summary), "credentials rejected (%d again)",
                     t[i].final_status);
            snprintf(f->detail, sizeof(f->detail),
                     "%s with credentials was challenged again with %d: the server did "
                     "not accept the user name, password or realm",
                     t[i].method_name, t[i].final_status);
            snprintf(f->fix, sizeof(f->fix),
                     "check the user name (auth user), password and realm configured");
        }
        if (f) {
            frame(f, t[i].first_frame);
            frame(f, t[i].final_frame);
        }
    }
}

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    if (a->u.sa.sa_family == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
}

/* b flows back towards a's source (the other direction of the call) */
static bool opposite(const struct flow_stream *a, const struct flow_stream *b)
{
    return same_ip(&b->src, &a->dst) || same_ip(&b->dst, &a->src);
}

/* Rule: an answered call whose RTP flows one way only, or not at all. */
static void rule_media(const struct flow_model *m, size_t index,
                       const struct flow_item *it, struct flow_finding *out, size_t max,
                       size_t *n)
{
    size_t ns;
    const struct flow_stream *s = flow_model_streams(m, &ns);
    const struct flow_stream *a = NULL, *b = NULL;
    struct flow_finding *f;

    if (it->kind != FLOW_ITEM_CALL || !it->answer_ns) return;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].item != (int32_t) index || s[i].seq.packets < 2) continue;
        if (!a)
            a = &s[i];
        else if (!b && opposite(a, &s[i]))
            b = &s[i];
    }
    if (a && b) return;
    f = add(out, max, n, FLOW_SEV_WARNING, a ? "one-way-audio" : "no-rtp");
    if (!f) return;
    if (a) {
        char src[64], dst[64];
        snprintf(f->summary, sizeof(f->summary), "one-way audio?");
        snprintf(f->detail, sizeof(f->detail), "RTP only from %s to %s, none back",
                 sk_sa_str(&a->src, src, sizeof(src)),
                 sk_sa_str(&a->dst, dst, sizeof(dst)));
        snprintf(
            f->fix, sizeof(f->fix),
            "check NAT and firewalls on the silent side: the address in its SDP (c=, "
            "m= port) must be reachable; consider symmetric RTP or a media relay");
        frame(f, a->first_frame);
    } else {
        snprintf(f->summary, sizeof(f->summary), "no RTP seen");
        snprintf(f->detail, sizeof(f->detail),
                 "the call was answered but the capture holds no RTP for it");
        snprintf(f->fix, sizeof(f->fix),
                 "capture where the media flows too (not only port 5060); else check the "
                 "SDP addresses and firewalls");
    }
    frame(f, it->final_frame);
}

size_t flow_diagnose(const struct flow_model *m, size_t index, struct flow_finding *out,
                     size_t max)
{
    size_t nitems, n = 0;
    const struct flow_item *items = flow_model_items(m, &nitems);

    if (index >= nitems) return 0;
    rule_auth(m, index, out, max, &n);
    rule_status(&items[index], out, max, &n);
    rule_media(m, index, &items[index], out, max, &n);
    return n;
}
