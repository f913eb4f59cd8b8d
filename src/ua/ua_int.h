/* What the user agent's files share: the UA context, the registration client and the call list. */
#ifndef UA_UA_INT_H
#define UA_UA_INT_H

#include "base/buf.h"
#include "sip/auth_client.h"
#include "sip/msg.h"
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

struct ua {
    struct sk_loop *loop;
    struct sip_tpm *tpm;
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

    bool have_proxy;               /* outbound proxy: every request goes to proxy_dst */
    struct sip_dest proxy_dst;
    char route[UA_STR_MAX + 8];    /* "<sip:...;lr>" for the Route header, "" = none */
    bool do_register;
    char registrar_uri[UA_STR_MAX + 16]; /* Request-URI of REGISTER */
    struct sip_dest registrar_dst;

    struct ua_reg reg;
    struct ua_call *calls;
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
/* The Allow / Supported / Accept lines every answer to OPTIONS and INVITE carries. */
extern const char ua_capabilities[];

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

#endif
