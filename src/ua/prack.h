/* RFC 3262 reliable provisional responses (100rel, PRACK) as pure state: the UAS's RSeq,
 * retransmission and queue, the UAC's RSeq order and RAck; no I/O, no clock. */
#ifndef UA_PRACK_H
#define UA_PRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* What the UA does about 100rel (config `rel100`). */
enum ua_rel100 {
    UA_REL100_OFF,       /* neither Supported nor honoured: Require: 100rel gets 420 */
    UA_REL100_SUPPORTED, /* Supported: 100rel; reliable 18x only when the INVITE Requires
                            it */
    UA_REL100_REQUIRED,  /* reliable 18x always; an INVITE without Supported: 100rel gets
                            421 */
};

/* Is the option tag in a Require/Supported token list (case-insensitive, RFC 3261 §19.2)?
 */
bool ua_opt_has(const struct sk_str *tags, size_t n, const char *tag);

/* How the UAS answers an INVITE's provisional responses. */
enum ua_prack_mode {
    UA_PRACK_UNRELIABLE, /* plain 18x */
    UA_PRACK_RELIABLE,   /* Require: 100rel + RSeq on every 18x but 100 */
    UA_PRACK_REJECT_420, /* the INVITE Requires 100rel and we do not do it (Unsupported:
                            100rel) */
    UA_PRACK_REJECT_421, /* we require 100rel and the INVITE does not support it (Require:
                            100rel) */
};
/* RFC 3262 §3, §4: from our config and the INVITE's Require and Supported. */
enum ua_prack_mode ua_prack_decide(enum ua_rel100 cfg, bool inv_requires,
                                   bool inv_supports);

/* ---- UAS ---- */

#define UA_PRACK_QUEUE 4 /* reliable provisionals waiting behind the one in flight */
#define UA_RSEQ_MAX 2147483647u /* RFC 3262 §3: the first RSeq is 1..2^31-1 */

struct ua_prack_uas {
    uint32_t t1_ms;
    uint32_t next_rseq; /* RSeq of the next reliable provisional */
    /* the one sent and not PRACKed yet (§3: at most one at a time) */
    bool inflight;
    int status;
    uint32_t rseq;
    bool offer;           /* it carried an offer (SDP) */
    uint32_t interval_ms; /* the wait before its next retransmission */
    uint32_t waited_ms;   /* how long it has been retransmitted */
    /* waiting behind it, in order */
    struct {
        int status;
        bool offer;
    } queue[UA_PRACK_QUEUE];
    size_t nqueued;
    bool offer_unacked; /* a reliable provisional with an offer was not PRACKed yet */
    bool final_sent;    /* no more provisionals after the final response */
};

/* The first RSeq from any random number: uniform enough over 1..2^31-1. */
uint32_t ua_prack_rseq_initial(uint64_t rnd);
void ua_prack_uas_init(struct ua_prack_uas *s, uint32_t t1_ms, uint64_t rnd);
/* A reliable provisional to send (status 101-199, offer: it carries SDP). 0; ENOSPC
 * when the queue is full; EALREADY after the final response; EINVAL for a bad status. */
int ua_prack_uas_queue(struct ua_prack_uas *s, int status, bool offer);
/* The provisional to send now, if any: none is in flight and one is queued. It is
 * then in flight with *rseq (print it with `RSeq: *rseq`); the first retransmission
 * is due after *wait_ms (T1). */
bool ua_prack_uas_next(struct ua_prack_uas *s, int *status, bool *offer, uint32_t *rseq,
                       uint32_t *wait_ms);

enum ua_prack_tick {
    UA_PRACK_TICK_IDLE,       /* nothing in flight (PRACKed meanwhile) */
    UA_PRACK_TICK_RETRANSMIT, /* send it again, next wait in *wait_ms */
    UA_PRACK_TICK_GIVE_UP, /* 64*T1 without a PRACK: §3, reject the INVITE with a 5xx */
};
/* The retransmission timer fired: §3, the interval starts at T1 and doubles. */
enum ua_prack_tick ua_prack_uas_tick(struct ua_prack_uas *s, uint32_t *wait_ms);

/* A PRACK came (its RAck parsed, and the CSeq number of our INVITE): 0 when it
 * acknowledges the one in flight (which stops it; *offer: it carried an offer, so the
 * PRACK may carry the answer); ENOENT when it matches nothing unacknowledged: 481
 * (§3, also for an RSeq PRACKed already). */
int ua_prack_uas_rx(struct ua_prack_uas *s, uint32_t rack_rseq, uint32_t rack_cseq,
                    struct sk_str rack_method, uint32_t invite_cseq, bool *offer);
/* May the 2xx to the INVITE go now? §3: not while a reliable provisional with an
 * offer is unacknowledged (other finals may go at any time). */
bool ua_prack_uas_may_answer(const struct ua_prack_uas *s);
/* The final response went: nothing more is retransmitted or sent. */
void ua_prack_uas_final(struct ua_prack_uas *s);

/* ---- UAC ---- */

struct ua_prack_uac {
    char tag[64]; /* the early dialog (To tag) the RSeq space belongs to */
    bool have_rseq;
    uint32_t last_rseq; /* the last RSeq we PRACKed */
};

enum ua_prack_verdict {
    UA_PRACK_NONE,   /* not a reliable provisional: nothing to do */
    UA_PRACK_SEND,   /* in order: PRACK it (and process it) */
    UA_PRACK_IGNORE, /* a retransmission or out of order (§4): drop it, no PRACK */
    UA_PRACK_BAD,    /* Require: 100rel without a usable RSeq: drop it */
};
void ua_prack_uac_init(struct ua_prack_uac *s);
/* §4: a 101-199 to our INVITE from the early dialog whose To tag is tag; reliable:
 * it Requires 100rel; has_rseq/rseq: its RSeq. Each early dialog has its own RSeq
 * space (another tag starts afresh); the first sets the base; then only last + 1 is
 * taken (and becomes last). */
enum ua_prack_verdict ua_prack_uac_rx(struct ua_prack_uac *s, struct sk_str tag,
                                      bool reliable, bool has_rseq, uint32_t rseq);
/* The RAck header line for a PRACK (§7.2: "RAck: RSeq CSeq-number method\r\n"). */
int ua_prack_rack_line(char *buf, size_t size, uint32_t rseq, uint32_t cseq,
                       const char *method);

#endif
