/* What the user agent's files share: the UA context, the registration client and the call list. */
#ifndef UA_UA_INT_H
#define UA_UA_INT_H

#include "base/buf.h"
#include "sip/auth_client.h"
#include "sip/msg.h"
#include "sip/resolve.h"
#include "sip/transport.h"
#include "sip/txn.h"
#include "ua/ua.h"

/* The registration client (RFC 3261 §10.2). */
struct ua_reg {
    enum { REG_IDLE, REG_SENDING, REG_UP, REG_FAILED, REG_UNREGISTERING, REG_DONE } state;
    char call_id[64];
    char from_tag[24];
    uint32_t cseq;
    uint32_t expires;        /* what we ask for (a 423 raises it) */
    uint32_t granted;        /* what the registrar gave */
    struct sip_digest_client dc;
    bool have_dc;
    unsigned auth_tries;     /* challenges answered in a row for this request */
    char old_contact[UA_STR_MAX * 2]; /* to remove when the contact changed (rport learned) */
    struct sip_txn *txn;
    struct sk_timer t_refresh;
    struct sk_timer t_keepalive;
};

struct ua_call;
struct ua_msg;
struct ua_info_job;

struct ua {
    struct sk_loop *loop;
    struct sip_tpm *tpm;
    struct sk_tls_ctx *tls_client, *tls_server; /* --listen tls: (tls_setup) */
    struct sip_txl *txl;
    struct ua_config cfg;
    ua_event_fn ev;
    void *ev_arg;

    struct sip_listen local;       /* bound address */
    char user[UA_STR_MAX];         /* the AOR's user part */
    char domain[UA_STR_MAX + 8];   /* the AOR's host[:port] */
    char auth_user[UA_STR_MAX];
    char contact_host[80];         /* "127.0.0.1:5062" as we advertise it (rport/received learned) */
    char contact[UA_STR_MAX * 2];  /* "<sip:alice@127.0.0.1:5062;transport=udp>" */
    char tag_prefix[12];
    char caps[256];                /* Allow, Accept, Supported as our config makes them */

    bool have_proxy;               /* outbound proxy: every request goes to proxy_dst */
    struct sip_dest proxy_dst;
    char route[UA_STR_MAX + 8];    /* "<sip:...;lr>" for the Route header, "" = none */
    bool do_register;
    char registrar_uri[UA_STR_MAX + 16]; /* Request-URI of REGISTER */
    struct sip_dest registrar_dst;
    /* RFC 3263 §4.3: every target the registrar's name gave, in order; a REGISTER
     * that times out or fails at the transport (or gets 503) goes to the next */
    struct sip_resolve_result registrar_targets;
    size_t registrar_next;

    struct ua_reg reg;
    struct ua_call *calls;
    struct ua_msg *msgs;           /* MESSAGEs we sent, until their transaction ends (message.c) */
    struct ua_info_job *info_jobs; /* DTMF digits going out as INFO, one call each (info.c) */
    unsigned next_call;
    uint16_t next_rtp_port;
    bool recording;                /* a call's stream holds the --record file */

    bool shutting_down;
    bool freeing;                  /* ua_free runs: post no more work */
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    struct sk_timer t_shutdown;
    uint64_t shutdown_deadline;
};

void ua_emit(struct ua *u, const struct ua_event *ev);
/* A fresh tag / Call-ID (random, hex). */
void ua_new_tag(struct ua *u, char *buf, size_t size);
void ua_new_call_id(struct ua *u, char *buf, size_t size);
/* Where a request for this URI goes: the outbound proxy if there is one, else
 * the URI's host (an IP literal, or a name looked up now: the phone resolves
 * its few targets with getaddrinfo; the server's proxy never blocks on DNS). */
int ua_dest_for_uri(struct ua *u, const struct sip_uri *uri, struct sip_dest *d);
/* The same without the outbound proxy: where the URI itself points (in-dialog next hops). */
int ua_dest_direct(struct ua *u, const struct sip_uri *uri, struct sip_dest *d);
/* Resolve "host[:port]" or a SIP URI string. */
int ua_dest_for_str(struct ua *u, const char *s, struct sip_dest *d, char *uri_out, size_t uri_size);
/* The start of an out-of-dialog request (§8.1.1): request line, our Via (branch
 * written to branch), Max-Forwards, Route (outbound proxy), From with from_tag,
 * To, Call-ID, CSeq, Contact, User-Agent. The caller adds headers and the body. */
int ua_print_request_head(struct ua *u, struct sk_buf *b, const char *method, const char *ruri,
                          const char *from_tag, const char *to, const char *to_tag,
                          const char *call_id, uint32_t cseq, char *branch, size_t branch_size);
/* Send a request through a new client transaction. */
int ua_send_request(struct ua *u, struct sk_buf *b, const struct sip_dest *d,
                    const struct sip_txn_user *user, void *arg, struct sip_txn **tp);
/* A response to rx's request, through st when there is one, else stateless. */
int ua_respond(struct ua *u, struct sip_txn *st, struct sip_rx *rx, int code, const char *reason,
               const char *to_tag, const char *extra, const char *ctype, struct sk_str body);
/* The Allow / Supported / Accept lines without our config's option tags; u->caps
 * (100rel, timer, PRACK added) is what answers to OPTIONS and INVITE carry. */
extern const char ua_capabilities[];

/* "bob" -> sip:bob@our-domain; "bob@host" -> sip:bob@host; URIs as they are. */
void ua_normalise_target(struct ua *u, const char *in, char *out, size_t size);

/* Advertise this host:port in Contact from now on (what the registrar saw). */
void ua_set_contact_host(struct ua *u, const char *hostport);

/* reg.c */
int ua_reg_start(struct ua *u);
void ua_reg_stop(struct ua *u);   /* unregister */
void ua_reg_free(struct ua *u);
bool ua_reg_busy(const struct ua *u);
void ua_reg_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg);

/* call.c */
void ua_call_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx);
void ua_call_stray_response(struct ua *u, struct sip_rx *rx);
void ua_calls_hangup_all(struct ua *u);
void ua_calls_free(struct ua *u);
/* Before the transaction layer goes: drop the calls' server transaction references. */
void ua_calls_detach(struct ua *u);
void ua_calls_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg);
/* Hooks for info.c: is call id up (a confirmed dialog), and a request in its dialog. */
bool ua_call_confirmed(struct ua *u, unsigned id);
int ua_call_send_in_dialog(struct ua *u, unsigned id, const char *method, struct sk_str ctype,
                           struct sk_str body, const struct sip_txn_user *user, void *arg,
                           struct sip_txn **tp);
/* A dialog of ours that this in-dialog request belongs to. */
bool ua_dialog_exists(struct ua *u, const struct sip_msg *m);

/* message.c: RFC 3428 */
void ua_message_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx);
void ua_messages_free(struct ua *u);
#define UA_MESSAGE_MAX_BODY 4096 /* larger MESSAGEs get 413 (RFC 3428 §7) */

/* info.c: DTMF in SIP INFO (application/dtmf-relay, application/dtmf) */
/* INFO in the dialog of call id (peer: its URI for the event). */
void ua_info_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx, unsigned id,
                     const char *peer);
int ua_info_send_dtmf(struct ua *u, unsigned id, const char *digits);
void ua_info_jobs_free(struct ua *u);
/* The body parsers (pure): 0 and the digit (0-9 * # A-D) and its duration in ms
 * (0 when not given), or EINVAL with why set to a short reason. */
int ua_dtmf_relay_parse(const char *p, size_t len, char *digit, uint32_t *duration_ms,
                        const char **why);
int ua_dtmf_plain_parse(const char *p, size_t len, char *digit, const char **why);

/* redirect.c: following 3xx (RFC 3261 §8.1.3.4) */
#define UA_REDIRECT_MAX_URIS 16
struct ua_redirect {
    char tried[UA_REDIRECT_MAX_URIS][UA_STR_MAX]; /* every Request-URI used, the first too */
    size_t ntried;
    struct { char uri[UA_STR_MAX]; int q; } cand[UA_REDIRECT_MAX_URIS];
    size_t ncand;                 /* Contacts still to try, best first */
    unsigned redirects;           /* 3xx taken so far */
};
void ua_redirect_init(struct ua_redirect *r, const char *first_uri);
/* Take the Contacts of a 3xx: sip: URIs not tried yet, kept in q order (absent
 * q = 1.0, equal q in the order given). Returns how many were added; 0 when
 * max_redirects 3xx were already taken. */
size_t ua_redirect_add(struct ua_redirect *r, const struct sip_addr *contacts, size_t n,
                       uint32_t max_redirects);
/* The next URI to try (copied into out and recorded as tried), or false. */
bool ua_redirect_next(struct ua_redirect *r, char *out, size_t size);
/* --forward: is an incoming INVITE answered 302 now (busy: we are in a call)? */
bool ua_forward_wanted(struct ua *u, bool busy);
/* The Contact line of the 302 into line; emits UA_EV_FORWARDED (why: the mode). */
void ua_forward_contact(struct ua *u, const char *from, const char *why, char *line, size_t size);

#endif
