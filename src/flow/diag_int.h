/* Internals of the diagnosis rules of `sipkit flow`, shared between their files. */
#ifndef FLOW_DIAG_INT_H
#define FLOW_DIAG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/model.h"
#include "sdp/sdp.h"
#include "sip/msg.h"

#define DIAG_NS_PER_S 1000000000ull
/* A first response later than this after an INVITE is a slow setup (post-dial delay). */
#define DIAG_SLOW_SETUP_NS (2 * DIAG_NS_PER_S)
/* Silence after a 183 with SDP shorter than this goes unnoticed. */
#define DIAG_RINGBACK_GAP_NS (1 * DIAG_NS_PER_S)
/* RFC 3261 §16.2: a proxy that does not answer within 200 ms should send 100 Trying;
 * past this, without one, the previous hop retransmits. */
#define DIAG_NO_TRYING_NS (500ull * 1000 * 1000)

/* What the rules work with for one item. */
struct diag {
    const struct flow_model *m;
    size_t index;
    const struct flow_item *it;
    const struct flow_msg *msgs;
    size_t nmsgs, msg_first; /* msg_first: the first message that may be the item's */
    const struct flow_txn *txns;
    size_t ntxns, txn_first; /* txn_first: the first transaction that may be the item's */
    const struct flow_stream *streams; /* the item's (copies, in table order) */
    size_t nstreams;
    const struct flow_stream *all_streams; /* every stream of the capture */
    size_t nall_streams;
    struct flow_finding *out;
    size_t max, n;
    struct sip_msg *sm;      /* parse scratch; NULL when it could not be allocated */
    struct sdp_session *sdp; /* parse scratch; NULL likewise */
    bool status_done;        /* a rule explained the final status: no status-NNN */
};

/* The next message of the item at or after *i (start with *i = d->msg_first); NULL at
 * the end. Advance with (*i)++ after use. */
const struct flow_msg *diag_next_msg(const struct diag *d, size_t *i);
/* Transaction *i may still be the item's (loop from d->txn_first while true): they are
 * kept in order of first appearance. Past one of the item's, *i jumps to its next. */
bool diag_txn_in_range(const struct diag *d, size_t *i);
/* Parse the kept copy of a message into d->sm; false when there is none or it does
 * not parse. */
bool diag_parse(struct diag *d, const struct flow_msg *fm);
/* Parse the body of the message in d->sm as SDP into d->sdp. */
bool diag_parse_sdp(struct diag *d);
/* A new finding (NULL when the table is full), its evidence frames (0 is left out,
 * duplicates too). */
struct flow_finding *diag_add(struct diag *d, enum flow_severity sev, const char *code);
void diag_frame(struct flow_finding *f, uint64_t frame);
bool diag_has(const struct diag *d, const char *code);
/* The audio (or first) codecs of the SDP in d->sdp, "PCMU, PCMA, telephone-event". */
void diag_sdp_codecs(const struct sdp_session *s, char *out, size_t cap);
double diag_secs(uint64_t ns);
/* snprintf into a finding's text fields: cutting a long text is intended there. */
int diag_printf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void diag_rules_auth(struct diag *d);
void diag_rules_call(struct diag *d);  /* codecs, setup, timers, transactions */
void diag_rules_media(struct diag *d); /* NAT, one-way audio, ringback */
void diag_rules_reg(struct diag *d);   /* 423, expiry, NAT rebinding */
void diag_rules_net(struct diag *d);   /* ICMP unreachable hops and media ports, DNS */

#endif
