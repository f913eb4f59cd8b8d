/* Transaction keys (RFC 3261 §17.1.3, §17.2.3 and its RFC 2543 fallback) as pure
 * functions over a parsed message. */
#ifndef SIP_TXN_KEY_H
#define SIP_TXN_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/msg.h"

/* RFC 3261 §8.1.1.7: a branch starting with it was made by an RFC 3261 element. */
#define SIP_BRANCH_MAGIC "z9hG4bK"

/* The cookie (case-sensitive) followed by at least one character: a branch that is
 * only the cookie carries no uniqueness (RFC 4475 badbranch), so it gets the
 * RFC 2543 rules. */
bool sip_branch_is_rfc3261(struct sk_str branch);

enum sip_txn_key_kind {
    SIP_TXN_KEY_SERVER,      /* §17.2.3: branch, sent-by, method */
    SIP_TXN_KEY_SERVER_2543, /* §17.2.3 fallback: Request-URI, From tag, Call-ID, CSeq
                                number, top Via (branch, sent-by), method */
    SIP_TXN_KEY_CLIENT,      /* §17.1.3: branch, CSeq method */
};

/* Slices into the message the key was made from: valid while it is. Comparison
 * rules: the branch, method, Request-URI, tags and Call-ID byte for byte; the
 * sent-by host case-insensitively (§19.1.4, hosts); a sent-by without a port
 * differs from one with a port, even 5060 (§17.2.3 compares sent-by values). */
struct sip_txn_key {
    enum sip_txn_key_kind kind;
    struct sk_str branch; /* top Via branch; may be unset in a 2543 key */
    struct sk_str host;   /* server keys: top Via sent-by host (IPv6 without brackets) */
    uint16_t port;        /* server keys: sent-by port, 0 when it has none */
    struct sk_str method; /* the transaction's method: INVITE for the ACK of a
                             non-2xx (§17.1.1.3, §17.2.1) and for a CANCEL's target */
    /* SIP_TXN_KEY_SERVER_2543 only */
    struct sk_str ruri; /* as written; unset in a key made from a response, which
                           has none: equality then ignores it, the hash never has it */
    struct sk_str from_tag, call_id;
    uint32_t cseq;
    struct sk_str to_tag; /* not in equality or hash: see sip_txn_key_to_tag_ok */
};

/* The server transaction a request belongs to (§17.2.3). An ACK gets method INVITE:
 * with an RFC 3261 branch it matches the INVITE whose non-2xx it acknowledges (the
 * ACK of a 2xx has a branch of its own and so matches nothing). A CANCEL keys its
 * own transaction (method CANCEL); see sip_txn_key_cancel_target.
 * EINVAL for a response, EBADMSG without the headers the key needs (Via; for the
 * 2543 rules also From, Call-ID, CSeq). */
int sip_txn_key_server(const struct sip_msg *req, struct sip_txn_key *k);

/* §9.2: the key of the INVITE server transaction a CANCEL cancels: the CANCEL's
 * own key with method INVITE (its Request-URI, Call-ID, From, CSeq number and top
 * Via equal the INVITE's, §9.1). EINVAL unless req is a CANCEL. */
int sip_txn_key_cancel_target(const struct sip_msg *cancel, struct sip_txn_key *k);

/* The server key of the request a response answers, from the top Via, From,
 * Call-ID and CSeq the UAS copied into it (§8.2.6.2): what a capture analyser that
 * sees both sides needs. A 2543 key made so has no Request-URI. EINVAL for a request. */
int sip_txn_key_server_of_response(const struct sip_msg *resp, struct sip_txn_key *k);

/* The client transaction a response belongs to (§17.1.3): the top Via branch and the
 * CSeq method, so the 200 of a CANCEL does not match the INVITE with the same branch.
 * For a request (as its client sends it): its branch and method, ACK as INVITE.
 * EBADMSG without a top Via or CSeq. */
int sip_txn_key_client(const struct sip_msg *m, struct sip_txn_key *k);
/* The same from a branch and method, for a request not parsed (one we just built). */
void sip_txn_key_client_make(struct sk_str branch, struct sk_str method,
                             struct sip_txn_key *k);

bool sip_txn_key_equal(const struct sip_txn_key *a, const struct sip_txn_key *b);
/* Equal keys hash equally (the host lower-cased, no Request-URI). */
uint64_t sip_txn_key_hash(const struct sip_txn_key *k);

/* RFC 2543 fallback (§17.2.3): a request with an equal key belongs to the
 * transaction only if its To tag is the expected one: for an ACK, the To tag of
 * the final response the transaction sent; for any other request, the To tag of
 * the request that created it. An unset tag equals only an unset (or empty) one.
 * Always true for the other kinds. */
bool sip_txn_key_to_tag_ok(const struct sip_txn_key *k, struct sk_str expected);

/* The key as one string, for tables keyed by text (the transaction layer's):
 * "S|branch|host:port|method", "O|ruri|from-tag|call-id|cseq|branch|host:port|method",
 * "C|branch|method", the host lower-cased. Equal keys print equally, provided 2543
 * keys both have or both lack a Request-URI. out is reset first; ENOMEM when it
 * failed. */
int sip_txn_key_print(const struct sip_txn_key *k, struct sk_buf *out);

#endif
