/* RFC 3261 §12 dialogs: creation as UAS and UAC, matching, in-dialog requests, CSeq and
 * target refresh. */
#ifndef SIP_DIALOG_H
#define SIP_DIALOG_H

/* A dialog owns copies of everything it keeps (Call-ID, tags, URIs, route set,
 * Contact): the messages it was made from may be freed or reused right after
 * the call that read them. Its slices and parsed URIs point into its own
 * strings. A dialog is not locked: it belongs to one thread (the UA's loop).
 *
 * What the UA does with it (§12, §13):
 *   UAS: a dialog-creating request (INVITE) arrives -> sip_dlg_new_uas() with
 *        the To tag it puts in its responses.
 *   UAC: for every 101-299 response with a To tag to the INVITE it sent, look
 *        the response up by sip_dlg_id_of_rx() + sip_dlg_key(); none ->
 *        sip_dlg_new_uac() (forking gives one dialog per To tag, §13.2.2.4);
 *        found -> sip_dlg_uac_response() (2xx confirms an early dialog).
 *   Requests in the dialog: sip_dlg_request() builds them (BYE, re-INVITE,
 *        UPDATE, INFO, REFER, NOTIFY, ACK for a 2xx); CANCEL is not a dialog
 *        request: sip_txn_cancel() (sip/txn.h) builds it from the INVITE (§9.1).
 *   Received in-dialog requests: sip_dlg_rx_request() says whether to go on or
 *        answer (500 for an out-of-order CSeq); after accepting a re-INVITE or
 *        UPDATE, sip_dlg_target_refresh() with the request.
 *   A request with a To tag that matches no dialog: 481 (sip_dlg_is_in_dialog()).
 *   Final responses to requests in the dialog: sip_dlg_rx_response() ends the
 *        dialog on 481 and 408 (§12.2.1.2); a 2xx to a target refresh request
 *        -> sip_dlg_target_refresh() with the response. */

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/msg.h"
#include "sip/uac_req.h"

#define SIP_DLG_MAX_ROUTES SIP_UAC_MAX_ROUTES /* a longer Record-Route set is refused */
#define SIP_DLG_RETRY_AFTER_MAX 10            /* §14.2: Retry-After 0..10 s with a 500 */

enum sip_dlg_state {
    SIP_DLG_EARLY,      /* made by a 101-199 response (§12.1) */
    SIP_DLG_CONFIRMED,  /* made or confirmed by a 2xx */
    SIP_DLG_TERMINATED, /* BYE, 481/408 to a request in it, or a non-2xx final to an early
                           one */
};

const char *sip_dlg_state_name(enum sip_dlg_state s);

/* Dialog ID (§12): Call-ID, local tag, remote tag; compared byte for byte. */
struct sip_dlg_id {
    struct sk_str call_id, local_tag, remote_tag;
};

/* One entry of the route set: its text as printed in Route, and parsed. */
struct sip_dlg_route {
    char *text;           /* name-addr, e.g. "<sip:p1.example.com;lr>" */
    struct sip_addr addr; /* slices into text */
};

/* Fields are for reading; change them only through the functions below. */
struct sip_dlg {
    enum sip_dlg_state state;
    bool uac;               /* we sent the request that made it */
    bool secure;            /* §12.1.1/§12.1.2: sips Request-URI and TLS */
    enum sip_method method; /* the method that made it (INVITE, SUBSCRIBE...) */
    char *call_id, *local_tag, *remote_tag; /* tags may be "" (RFC 2543 peers) */
    char *key; /* sip_dlg_key() of the ID, for a hash table */
    char *local_uri,
        *remote_uri;       /* name-addrs without tag: From and To of our requests */
    char *remote_target;   /* the peer's Contact URI, where requests go */
    struct sip_uri target; /* remote_target parsed */
    char *local_contact;   /* our Contact header value; NULL when none */
    struct sip_dlg_route *routes; /* route set, in the order requests carry it */
    size_t nroutes;
    uint32_t local_cseq;  /* last CSeq number we used (the next request gets +1) */
    uint32_t remote_cseq; /* last CSeq number received, valid when has_remote_cseq */
    bool has_remote_cseq;
    uint32_t invite_cseq; /* CSeq of our last INVITE (its ACK for 2xx reuses it) */
};

/* §12.1.1: as UAS, from a dialog-creating request (INVITE, SUBSCRIBE...) and
 * the To tag of our response (local_tag, not empty). Route set = Record-Route
 * in order, remote target = Contact URI, remote CSeq = the request's, local
 * CSeq fresh, remote URI = From, local URI = To, secure = sips Request-URI and
 * tls (the request came over TLS). local_contact: our Contact value (may be
 * unset, then set later with sip_dlg_set_local_contact). The dialog starts
 * CONFIRMED, or EARLY when early (we will send a 101-199 with the tag first).
 * Returns 0, EINVAL (not a request, no From/To/Call-ID/CSeq, empty tag),
 * EBADMSG (no usable Contact, bad Record-Route), E2BIG (too many routes), ENOMEM. */
int sip_dlg_new_uas(struct sip_dlg **dp, struct sip_msg *req, struct sk_str local_tag,
                    struct sk_str local_contact, bool tls, bool early);

/* §12.1.2: as UAC, from the request we sent and a 101-299 response with a To
 * tag: 101-199 make an EARLY dialog, 2xx a CONFIRMED one. Route set =
 * Record-Route of the response in reverse order, remote target = its Contact
 * (the request's Request-URI when a response has none), local CSeq = the
 * request's, remote CSeq empty, local URI = From, remote URI = To, local
 * Contact = the request's Contact. Returns 0, EINVAL (status, missing tags or
 * Call-ID mismatch), EBADMSG, E2BIG, ENOMEM. */
int sip_dlg_new_uac(struct sip_dlg **dp, struct sip_msg *req, struct sip_msg *resp,
                    bool tls);

/* A later response to the request that made the dialog, matching it (same
 * Call-ID and tags). 2xx in EARLY: confirmed, with the route set recomputed
 * from the 2xx's Record-Route and the remote target from its Contact
 * (§13.2.2.4); 300-699 in EARLY: TERMINATED (§12.3); otherwise unchanged.
 * Returns 0, EINVAL (does not match), EBADMSG, E2BIG, ENOMEM (then unchanged). */
int sip_dlg_uac_response(struct sip_dlg *d, struct sip_msg *resp);

/* UAS: we sent a 2xx for the request that made an EARLY dialog: CONFIRMED. */
void sip_dlg_confirm(struct sip_dlg *d);
/* The dialog is over (a BYE sent or received and answered, §15). */
void sip_dlg_terminate(struct sip_dlg *d);

void sip_dlg_free(struct sip_dlg *d);

/* ---- Matching ---- */

/* The dialog ID a received message belongs to (§12.2.2, §12.2.1.2): for a
 * request local = To tag, remote = From tag; for a response local = From tag,
 * remote = To tag. Slices into m. EINVAL without Call-ID, From or To. */
int sip_dlg_id_of_rx(const struct sip_msg *m, struct sip_dlg_id *id);
struct sip_dlg_id sip_dlg_id_of(const struct sip_dlg *d);
bool sip_dlg_id_equal(const struct sip_dlg_id *a, const struct sip_dlg_id *b);
/* A stable string for the ID, appended to b: each part as <length>:<bytes>,
 * joined by ';' ("6:abc@ho;4:tag1;4:tag2"); equal IDs give equal keys. */
int sip_dlg_key(struct sk_buf *b, const struct sip_dlg_id *id);
/* Does the received message belong to d? */
bool sip_dlg_match(const struct sip_dlg *d, const struct sip_msg *m);
/* §12.2.2: a request with a To tag is meant for a dialog; when none matches, the
 * UA answers 481. */
bool sip_dlg_is_in_dialog(const struct sip_msg *req);
/* §12.1: may this response to a dialog-creating request make a dialog (101-299
 * with a To tag)? */
bool sip_dlg_response_creates(const struct sip_msg *resp);

/* ---- Requests we send in the dialog (§12.2.1.1) ---- */

struct sip_dlg_req {
    struct sk_str
        method; /* "BYE", "INVITE", "UPDATE", "INFO", "REFER", "NOTIFY", "ACK"... */
    uint32_t ack_cseq; /* ACK: the CSeq number of the INVITE answered; 0 = invite_cseq */
    struct sip_req_common c;
};

/* Print the request into b: Request-URI and Route from the route set (loose or
 * strict, see sip_req_print), From = local URI + local tag, To = remote URI +
 * remote tag, Call-ID, CSeq = ++local_cseq (ACK: the INVITE's number, no
 * increment, §13.2.2.4), our Contact on target refresh requests (INVITE, UPDATE,
 * SUBSCRIBE, NOTIFY) and REFER, a new Via branch (also for ACK). out->next_hop
 * points into d. CANCEL is refused (EINVAL): use sip_txn_cancel. Returns 0,
 * EINVAL, ERANGE (CSeq would reach 2^31), ENOMEM (CSeq unchanged). */
int sip_dlg_request(struct sip_dlg *d, const struct sip_dlg_req *r, struct sk_buf *b,
                    struct sip_req_out *out);

/* ---- Requests we receive in the dialog (§12.2.2) ---- */

struct sip_dlg_verdict {
    int status;           /* 0: go on; else answer with this final status */
    uint32_t retry_after; /* with 500: seconds for Retry-After (0..10, §14.2) */
};

/* Check a received request that matched d (sip_dlg_match). A CSeq lower than
 * the remote CSeq: 500 with Retry-After; an empty remote CSeq is set; a higher
 * one is recorded. ACK and CANCEL are not checked (they reuse a number). Returns
 * 0 with *v filled, or EINVAL (no CSeq). */
int sip_dlg_rx_request(struct sip_dlg *d, const struct sip_msg *req,
                       struct sip_dlg_verdict *v);

/* Is the method a target refresh request (§12.2 INVITE, RFC 3311 UPDATE,
 * RFC 6665 SUBSCRIBE/NOTIFY)? */
bool sip_dlg_method_refreshes(struct sk_str method);

/* §12.2.2 / §12.2.1.2: replace the remote target with the Contact URI of m:
 * a target refresh request the UA accepted (call it only then), or a 2xx
 * response to one we sent. Returns 0, ENOENT (no Contact: unchanged),
 * EBADMSG, ENOMEM (unchanged). */
int sip_dlg_target_refresh(struct sip_dlg *d, struct sip_msg *m);

/* Replace our Contact (a value such as "<sip:alice@192.0.2.1:5060>"). */
int sip_dlg_set_local_contact(struct sip_dlg *d, struct sk_str contact);

/* ---- Responses we send in the dialog ---- */

/* The head of our response to req, a request in d or the one that made it:
 * status line, Via, From, To with our local tag (added when req has none),
 * Call-ID, CSeq (sip_print_response_head), then for 101-299: the request's
 * Record-Route lines in order when req makes the dialog (no To tag, §12.1.1),
 * and our Contact when req is a target refresh request or REFER (§12.1.1,
 * §12.2.2). The headers are left open: add more, end with sip_print_body(). */
int sip_dlg_print_response_head(struct sk_buf *b, const struct sip_dlg *d,
                                const struct sip_msg *req, int code, const char *reason);

/* §12.2.1.2: a final response to a request we sent in d; 481 and 408 end the
 * dialog (state TERMINATED). Returns true when the dialog ended. */
bool sip_dlg_rx_response(struct sip_dlg *d, int status);

#endif
