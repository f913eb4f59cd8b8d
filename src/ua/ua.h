/* The user agent (RFC 3261 §8, §10.2, §13-15): registration client, calls, events for the program that drives it. */
#ifndef UA_UA_H
#define UA_UA_H

#include <stdbool.h>
#include <stdint.h>

#include "net/loop.h"
#include "sip/transport.h"
#include "sip/txn.h"
#include "ua/prack.h"

struct media_report;

#define UA_STR_MAX 256

struct ua_config {
    char aor[UA_STR_MAX];           /* "sip:alice@localhost" */
    char auth_user[UA_STR_MAX];     /* "" = the AOR's user part */
    char password[UA_STR_MAX];      /* "" = no credentials: a challenge fails the request */
    char registrar[UA_STR_MAX];     /* "host[:port]" or a URI; "" = the AOR's domain; "none" = do not register */
    char outbound_proxy[UA_STR_MAX]; /* URI every request goes through (Route ;lr), "" = none */
    char display_name[64];
    struct sip_listen listen;       /* where we listen (port 0: any free port) */
    uint32_t expires;               /* asked for in REGISTER, 3600 */
    uint32_t keepalive_s;           /* RFC 5626 §4.4.1 CRLF pings on TCP flows, 0 = off; 30 */
    int auto_answer_ms;             /* answer incoming calls after this long; -1 = never */
    uint32_t max_calls;             /* calls at once; a new INVITE beyond it gets 486; 1 */
    uint32_t no_answer_s;           /* outgoing: CANCEL after this long without a final answer, 60 */
    uint32_t rtp_timeout_s;         /* end an answered call after this long without RTP, 30; 0 = off */
    struct sip_txn_config txn;
    /* Media */
    uint16_t rtp_port_min, rtp_port_max; /* 10000..20000 */
    char play[UA_STR_MAX];          /* "tone:440", "silence", or a WAV file */
    char record[UA_STR_MAX];        /* WAV file to record what we hear, "" = none */
    char codecs[64];                /* "PCMU,PCMA" (our preference order) */
    uint32_t ptime_ms;              /* 20 */
    /* Issue 18: DTMF, redirects, forwarding */
    bool dtmf_info;                 /* send DTMF as SIP INFO (application/dtmf-relay), not RFC 4733 */
    uint32_t max_redirects;         /* 3xx followed per call (RFC 3261 §8.1.3.4), 5; 0 = none */
    char forward[UA_STR_MAX];       /* answer incoming INVITEs 302 to this URI, "" = never */
    enum ua_forward_mode { UA_FWD_ALWAYS, UA_FWD_BUSY, UA_FWD_NO_ANSWER } forward_mode;
    uint32_t forward_after_s;       /* UA_FWD_NO_ANSWER: ring this long first, 20 */
    /* names of registrars, proxies and targets by RFC 3263 (NAPTR, SRV, A/AAAA);
     * "" = the servers of /etc/resolv.conf, "off" = A/AAAA by getaddrinfo only */
    char dns[128];
    /* TLS (--listen tls:...): trust anchors for the registrar's and proxy's
     * certificate ("" = the system's), whether it is checked against their
     * domain (RFC 5922; on), and our own certificate for connections made to us
     * ("" = none: the proxy reaches us over our registration's connection) */
    char tls_ca[UA_STR_MAX];
    bool tls_verify;
    char tls_cert[UA_STR_MAX];
    char tls_key[UA_STR_MAX];
    /* RFC 3262 100rel (default supported: Supported: 100rel, PRACKs answered, reliable
     * 18x when the INVITE Requires it) and RFC 4028 session timers */
    enum ua_rel100 rel100;
    uint32_t session_expires;       /* asked for in our INVITEs, 0 = not asked (a peer's
                                       Session-Expires is honoured all the same) */
    uint32_t min_se;                /* the smallest session interval we accept, 90 */
};

void ua_config_defaults(struct ua_config *c);

enum ua_event_type {
    UA_EV_REGISTERED,     /* status 200, expires, text = our contact */
    UA_EV_REG_FAILED,     /* status/reason */
    UA_EV_UNREGISTERED,
    UA_EV_INCOMING,       /* peer = From */
    UA_EV_CALLING,        /* peer = the target */
    UA_EV_RINGING,        /* 180 */
    UA_EV_EARLY_MEDIA,    /* 183 with SDP */
    UA_EV_ANSWERED,       /* 2xx: media is up */
    UA_EV_DTMF,           /* digit received */
    UA_EV_HUNGUP,         /* status/reason: why; text = "local"/"remote"; report */
    UA_EV_INFO,           /* text: something worth a line (an OPTIONS answered, a warning) */
    UA_EV_HELD,           /* our hold (re-INVITE, a=sendonly/inactive) was accepted */
    UA_EV_RESUMED,        /* our resume (a=sendrecv) was accepted */
    UA_EV_REMOTE_HOLD,    /* the peer put us on hold */
    UA_EV_REMOTE_RESUME,  /* the peer took us off hold */
    UA_EV_HOLD_FAILED,    /* our hold/resume was refused: status/reason; text "hold"/"resume" */
    UA_EV_MESSAGE,        /* RFC 3428 MESSAGE received: peer = From, ctype, text (or a summary) */
    UA_EV_MESSAGE_SENT,   /* our MESSAGE's final status/reason, peer = the target */
    UA_EV_REDIRECTED,     /* a 3xx to our INVITE: status, text = the Contact tried next */
    UA_EV_FORWARDED,      /* an incoming INVITE answered 302: peer = From, text = where to */
    UA_EV_PRACK,          /* RFC 3262: status = the 18x, text "sent"/"received", expires = RSeq */
    UA_EV_SESSION_REFRESHED, /* RFC 4028: expires = interval, text "local"/"remote" (who sent
                                the refresh), reason = the refresher ("uac"/"uas") */
};

const char *ua_event_name(enum ua_event_type t);

struct ua_event {
    enum ua_event_type type;
    unsigned call;                    /* 0 for registration events */
    int status;                       /* SIP status where one applies, else 0 */
    const char *reason;               /* reason phrase or a text reason, or NULL */
    const char *peer;                 /* the other party's URI, or NULL */
    const char *text;
    char digit;
    uint32_t expires;
    uint64_t duration_ms;             /* HUNGUP: since answer (0 if never answered) */
    const struct media_report *report; /* HUNGUP: media figures per direction, or NULL */
    const char *ctype;                /* MESSAGE: the body's Content-Type */
};

typedef void (*ua_event_fn)(void *arg, const struct ua_event *ev);

struct ua;

int ua_new(struct ua **up, struct sk_loop *loop, const struct ua_config *cfg, ua_event_fn fn,
           void *arg);
/* Frees everything at once; sends nothing (use ua_shutdown first). */
void ua_free(struct ua *u);
/* Registers (unless the registrar is "none"). */
int ua_start(struct ua *u);
/* Ends every call (BYE/CANCEL), unregisters, then calls done (after at most a
 * few seconds even if nobody answers). */
void ua_shutdown(struct ua *u, void (*done)(void *arg), void *arg);

/* Place a call: "sip:bob@localhost", "bob" (our domain), "bob@host". */
int ua_call(struct ua *u, const char *target, unsigned *id);
/* id 0: the only call that fits. */
int ua_answer(struct ua *u, unsigned id);
int ua_reject(struct ua *u, unsigned id, int status);
int ua_hangup(struct ua *u, unsigned id);
int ua_dtmf(struct ua *u, unsigned id, const char *digits);
/* Hold (true) or resume (false) an answered call with a re-INVITE (RFC 3264
 * §8.4); the outcome comes as an event. EBUSY while another offer/answer is
 * under way or the call is not answered, EALREADY when it is so already. */
int ua_hold(struct ua *u, unsigned id, bool hold);
/* The media figures of a call so far (packets each way...): 0, ENOENT, EBUSY (no media). */
int ua_media_report(struct ua *u, unsigned id, struct media_report *r);
/* RFC 3428: a text/plain MESSAGE outside any dialog; the final status comes as
 * UA_EV_MESSAGE_SENT. target as for ua_call. */
int ua_message(struct ua *u, const char *target, const char *text);
/* A line per registration and call, through fn(arg, line). */
void ua_status(struct ua *u, void (*fn)(void *arg, const char *line), void *arg);
/* The address we listen on (bound port filled in). */
const struct sip_listen *ua_listen_addr(const struct ua *u);
size_t ua_call_count(const struct ua *u);

#endif
