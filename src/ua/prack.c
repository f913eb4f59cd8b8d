/* RFC 3262 reliable provisional responses: the rules of the UAS and the UAC as pure
 * functions over their state (call.c sends, times and parses). */
#include "ua/prack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool ua_opt_has(const struct sk_str *tags, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++)
        if (sk_str_ieq_cstr(tags[i], tag)) return true;
    return false;
}

enum ua_prack_mode ua_prack_decide(enum ua_rel100 cfg, bool inv_requires,
                                   bool inv_supports)
{
    if (inv_requires)
        return cfg == UA_REL100_OFF ? UA_PRACK_REJECT_420 : UA_PRACK_RELIABLE;
    if (cfg != UA_REL100_REQUIRED) return UA_PRACK_UNRELIABLE;
    /* §3 / RFC 3261 §21.4.15: we insist, the UAC cannot: 421 Extension Required */
    return inv_supports ? UA_PRACK_RELIABLE : UA_PRACK_REJECT_421;
}

/* ---- UAS ---- */

uint32_t ua_prack_rseq_initial(uint64_t rnd)
{
    /* §3: "between 1 and 2**31 - 1"; leave room below 2^32 for the +1 steps */
    return (uint32_t) (rnd % UA_RSEQ_MAX) + 1u;
}

void ua_prack_uas_init(struct ua_prack_uas *s, uint32_t t1_ms, uint64_t rnd)
{
    memset(s, 0, sizeof(*s));
    s->t1_ms = t1_ms ? t1_ms : 500;
    s->next_rseq = ua_prack_rseq_initial(rnd);
}

int ua_prack_uas_queue(struct ua_prack_uas *s, int status, bool offer)
{
    if (status <= 100 || status >= 200) return EINVAL;
    if (s->final_sent) return EALREADY;
    if (s->nqueued == UA_PRACK_QUEUE) return ENOSPC;
    s->queue[s->nqueued].status = status;
    s->queue[s->nqueued].offer = offer;
    s->nqueued++;
    return 0;
}

bool ua_prack_uas_next(struct ua_prack_uas *s, int *status, bool *offer, uint32_t *rseq,
                       uint32_t *wait_ms)
{
    /* §3: "the UAS MUST NOT send a second reliable provisional response until the
     * first is acknowledged" */
    if (s->inflight || s->nqueued == 0 || s->final_sent) return false;
    s->status = s->queue[0].status;
    s->offer = s->queue[0].offer;
    memmove(&s->queue[0], &s->queue[1], (s->nqueued - 1) * sizeof(s->queue[0]));
    s->nqueued--;
    s->inflight = true;
    /* §3: each reliable provisional gets the last RSeq + 1 */
    s->rseq = s->next_rseq++;
    s->interval_ms = s->t1_ms;
    s->waited_ms = 0;
    if (s->offer) s->offer_unacked = true;
    *status = s->status;
    *offer = s->offer;
    *rseq = s->rseq;
    *wait_ms = s->interval_ms;
    return true;
}

enum ua_prack_tick ua_prack_uas_tick(struct ua_prack_uas *s, uint32_t *wait_ms)
{
    if (!s->inflight || s->final_sent) return UA_PRACK_TICK_IDLE;
    s->waited_ms += s->interval_ms;
    /* §3: "retransmitted for 64*T1 seconds without reception of a corresponding
     * PRACK, the UAS SHOULD reject the original request with a 5xx response" */
    if (s->waited_ms >= 64u * s->t1_ms) return UA_PRACK_TICK_GIVE_UP;
    /* §3: "an interval that starts at T1 seconds and doubles for each
     * retransmission" (no T2 cap, unlike the 2xx of RFC 3261 §13.3.1.4) */
    s->interval_ms *= 2;
    *wait_ms = s->interval_ms;
    return UA_PRACK_TICK_RETRANSMIT;
}

int ua_prack_uas_rx(struct ua_prack_uas *s, uint32_t rack_rseq, uint32_t rack_cseq,
                    struct sk_str rack_method, uint32_t invite_cseq, bool *offer)
{
    /* §3: RAck matches when RSeq, CSeq number and method all equal the response's */
    if (!s->inflight || rack_rseq != s->rseq || rack_cseq != invite_cseq ||
        !sk_str_eq(rack_method, sk_str_cstr("INVITE")))
        return ENOENT;
    *offer = s->offer;
    s->inflight = false;
    if (s->offer) s->offer_unacked = false;
    return 0;
}

bool ua_prack_uas_may_answer(const struct ua_prack_uas *s)
{
    return !s->offer_unacked;
}

void ua_prack_uas_final(struct ua_prack_uas *s)
{
    s->final_sent = true;
    s->inflight = false;
    s->nqueued = 0;
}

/* ---- UAC ---- */

void ua_prack_uac_init(struct ua_prack_uac *s)
{
    memset(s, 0, sizeof(*s));
}

enum ua_prack_verdict ua_prack_uac_rx(struct ua_prack_uac *s, struct sk_str tag,
                                      bool reliable, bool has_rseq, uint32_t rseq)
{
    if (!reliable) return UA_PRACK_NONE;
    if (!has_rseq) return UA_PRACK_BAD;
    if (tag.len >= sizeof(s->tag) ||
        !sk_str_eq(tag, sk_str_make(s->tag, strnlen(s->tag, sizeof(s->tag))))) {
        /* §4: the RSeq space is per early dialog: a new one starts afresh */
        ua_prack_uac_init(s);
        if (tag.len < sizeof(s->tag)) memcpy(s->tag, tag.p, tag.len);
    }
    if (!s->have_rseq) {
        s->have_rseq = true;
        s->last_rseq = rseq;
        return UA_PRACK_SEND;
    }
    /* §4: a retransmission (<= last) or out of order (> last + 1): "MUST NOT" be
     * PRACKed / processed now; the UAS retransmits the missing one */
    if (rseq != s->last_rseq + 1u) return UA_PRACK_IGNORE;
    s->last_rseq = rseq;
    return UA_PRACK_SEND;
}

int ua_prack_rack_line(char *buf, size_t size, uint32_t rseq, uint32_t cseq,
                       const char *method)
{
    int n = snprintf(buf, size, "RAck: %u %u %s\r\n", rseq, cseq, method);
    return n < 0 || (size_t) n >= size ? ENOSPC : 0;
}
