/* Header field names (ids, compact forms) and the typed forms of the headers sipkit understands. */
#ifndef SIP_HDR_H
#define SIP_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "sip/error.h"
#include "sip/param.h"
#include "sip/uri.h"

/* Flags of a header: LIST = comma-separated elements may share one line (RFC 3261 §7.3.1);
 * SINGLE = at most one instance in a message. */
#define SIP_HF_LIST 1u
#define SIP_HF_SINGLE 2u

/* id, canonical name, compact form (0 = none), flags */
#define SIP_HDR_TABLE(X)                                                      \
    X(ACCEPT, "Accept", 0, SIP_HF_LIST)                                        \
    X(ACCEPT_CONTACT, "Accept-Contact", 'a', SIP_HF_LIST)                      \
    X(ACCEPT_ENCODING, "Accept-Encoding", 0, SIP_HF_LIST)                      \
    X(ACCEPT_LANGUAGE, "Accept-Language", 0, SIP_HF_LIST)                      \
    X(ALERT_INFO, "Alert-Info", 0, SIP_HF_LIST)                                \
    X(ALLOW, "Allow", 0, SIP_HF_LIST)                                          \
    X(ALLOW_EVENTS, "Allow-Events", 'u', SIP_HF_LIST)                          \
    X(AUTHENTICATION_INFO, "Authentication-Info", 0, SIP_HF_SINGLE)            \
    X(AUTHORIZATION, "Authorization", 0, 0)                                    \
    X(CALL_ID, "Call-ID", 'i', SIP_HF_SINGLE)                                  \
    X(CALL_INFO, "Call-Info", 0, SIP_HF_LIST)                                  \
    X(CONTACT, "Contact", 'm', SIP_HF_LIST)                                    \
    X(CONTENT_DISPOSITION, "Content-Disposition", 0, SIP_HF_SINGLE)            \
    X(CONTENT_ENCODING, "Content-Encoding", 'e', SIP_HF_LIST)                  \
    X(CONTENT_LANGUAGE, "Content-Language", 0, SIP_HF_LIST)                    \
    X(CONTENT_LENGTH, "Content-Length", 'l', SIP_HF_SINGLE)                    \
    X(CONTENT_TYPE, "Content-Type", 'c', SIP_HF_SINGLE)                        \
    X(CSEQ, "CSeq", 0, SIP_HF_SINGLE)                                          \
    X(DATE, "Date", 0, SIP_HF_SINGLE)                                          \
    X(ERROR_INFO, "Error-Info", 0, SIP_HF_LIST)                                \
    X(EVENT, "Event", 'o', SIP_HF_SINGLE)                                      \
    X(EXPIRES, "Expires", 0, SIP_HF_SINGLE)                                    \
    X(FROM, "From", 'f', SIP_HF_SINGLE)                                        \
    X(IDENTITY, "Identity", 'y', 0)                                            \
    X(IN_REPLY_TO, "In-Reply-To", 0, SIP_HF_LIST)                              \
    X(MAX_FORWARDS, "Max-Forwards", 0, SIP_HF_SINGLE)                          \
    X(MIME_VERSION, "MIME-Version", 0, SIP_HF_SINGLE)                          \
    X(MIN_EXPIRES, "Min-Expires", 0, SIP_HF_SINGLE)                            \
    X(MIN_SE, "Min-SE", 0, SIP_HF_SINGLE)                                      \
    X(ORGANIZATION, "Organization", 0, SIP_HF_SINGLE)                          \
    X(P_ASSERTED_IDENTITY, "P-Asserted-Identity", 0, SIP_HF_LIST)              \
    X(PATH, "Path", 0, SIP_HF_LIST)                                            \
    X(PRIORITY, "Priority", 0, SIP_HF_SINGLE)                                  \
    X(PRIVACY, "Privacy", 0, 0)                                                \
    X(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0, 0)                          \
    X(PROXY_AUTHORIZATION, "Proxy-Authorization", 0, 0)                       \
    X(PROXY_REQUIRE, "Proxy-Require", 0, SIP_HF_LIST)                          \
    X(RACK, "RAck", 0, SIP_HF_SINGLE)                                          \
    X(REASON, "Reason", 0, SIP_HF_LIST)                                        \
    X(RECORD_ROUTE, "Record-Route", 0, SIP_HF_LIST)                            \
    X(REFER_TO, "Refer-To", 'r', SIP_HF_SINGLE)                                \
    X(REFERRED_BY, "Referred-By", 'b', SIP_HF_SINGLE)                          \
    X(REJECT_CONTACT, "Reject-Contact", 'j', SIP_HF_LIST)                      \
    X(REPLACES, "Replaces", 0, SIP_HF_SINGLE)                                  \
    X(REPLY_TO, "Reply-To", 0, SIP_HF_SINGLE)                                  \
    X(REQUEST_DISPOSITION, "Request-Disposition", 'd', SIP_HF_LIST)            \
    X(REQUIRE, "Require", 0, SIP_HF_LIST)                                      \
    X(RETRY_AFTER, "Retry-After", 0, SIP_HF_SINGLE)                            \
    X(ROUTE, "Route", 0, SIP_HF_LIST)                                          \
    X(RSEQ, "RSeq", 0, SIP_HF_SINGLE)                                          \
    X(SERVER, "Server", 0, SIP_HF_SINGLE)                                      \
    X(SESSION_EXPIRES, "Session-Expires", 'x', SIP_HF_SINGLE)                  \
    X(SUBJECT, "Subject", 's', SIP_HF_SINGLE)                                  \
    X(SUBSCRIPTION_STATE, "Subscription-State", 0, SIP_HF_SINGLE)              \
    X(SUPPORTED, "Supported", 'k', SIP_HF_LIST)                                \
    X(TIMESTAMP, "Timestamp", 0, SIP_HF_SINGLE)                                \
    X(TO, "To", 't', SIP_HF_SINGLE)                                            \
    X(UNSUPPORTED, "Unsupported", 0, SIP_HF_LIST)                              \
    X(USER_AGENT, "User-Agent", 0, SIP_HF_SINGLE)                              \
    X(VIA, "Via", 'v', SIP_HF_LIST)                                            \
    X(WARNING, "Warning", 0, SIP_HF_LIST)                                      \
    X(WWW_AUTHENTICATE, "WWW-Authenticate", 0, 0)

enum sip_hdr_id {
    SIP_HDR_OTHER = 0, /* a header sipkit has no typed form for; kept as name + value */
#define SIP_HDR_ENUM(id, name, compact, flags) SIP_HDR_##id,
    SIP_HDR_TABLE(SIP_HDR_ENUM)
#undef SIP_HDR_ENUM
        SIP_HDR__COUNT
};

/* Header id from a name as written (case-insensitive, compact forms too). */
enum sip_hdr_id sip_hdr_lookup(const char *name, size_t len);
const char *sip_hdr_name(enum sip_hdr_id id); /* canonical name; NULL for OTHER */
struct sk_str sip_hdr_name_str(enum sip_hdr_id id); /* the same as a slice (unset for OTHER) */
unsigned sip_hdr_flags(enum sip_hdr_id id);

/* ---- Typed header values --------------------------------------------------
 * Every struct holds slices into the message; nothing is copied. Each
 * sip_parse_X parses one element starting at *p (leading LWS allowed) and
 * stops after it: at the end of input or, for list headers, after the comma
 * that separates it from the next element (*p is moved there). */

struct sip_via {
    struct sk_str raw;                /* the whole via-parm */
    struct sk_str protocol, version, transport; /* "SIP", "2.0", "UDP" */
    struct sk_str host;               /* sent-by host (IPv6 without brackets) */
    enum sip_host_type host_type;
    uint32_t ip4;                     /* SIP_HOST_IPV4: the address, host byte order */
    uint16_t port;
    bool has_port;
    struct sk_str params;             /* raw via-params after the first ';' */
    struct sk_str branch, received, maddr, ttl; /* unset when absent */
    bool has_rport;                   /* ";rport" present, with or without value */
    bool rport_has_value;
    uint16_t rport;
    const char *rport_end;            /* just after the name of a valueless ;rport, else NULL */
};

struct sip_addr {                     /* name-addr / addr-spec with params */
    struct sk_str raw;
    struct sk_str display;            /* without quotes, escapes as written; unset if none */
    bool display_quoted;
    bool star;                        /* Contact: * */
    struct sip_uri uri;
    struct sk_str params;             /* header params after the URI, without the first ';' */
    struct sk_str tag;                /* From/To tag (unset when absent) */
    int64_t expires;                  /* Contact ;expires, -1 when absent (saturates at 2^32-1) */
    int q;                            /* Contact ;q in thousandths (0..1000), -1 when absent */
};

struct sip_cseq {
    uint32_t num;                     /* < 2^31 (RFC 3261 §8.1.1.5) */
    struct sk_str method;
};

struct sip_ctype {                    /* Content-Type and Accept media-range */
    struct sk_str type, subtype;      /* "*" allowed in Accept */
    struct sk_str params;
};

enum sip_auth_kind { SIP_AUTH_CREDENTIALS, SIP_AUTH_CHALLENGE };

struct sip_auth {                     /* Authorization / WWW-Authenticate and proxy forms */
    struct sk_str scheme;             /* "Digest" or any other, kept opaque */
    bool digest;
    struct sk_str params;             /* the raw auth-param list */
    /* Digest parameters, quotes removed (unset when absent) */
    struct sk_str username, realm, nonce, uri, response, algorithm, cnonce, opaque,
        qop, nc, stale, domain, userhash;
};

struct sip_rack {
    uint32_t rseq, cseq;
    struct sk_str method;
};

struct sip_event {                    /* Event: package[.template];id=...;params */
    struct sk_str package;
    struct sk_str id;
    struct sk_str params;
};

struct sip_substate {                 /* Subscription-State */
    struct sk_str state;
    struct sk_str reason;
    int64_t expires, retry_after;     /* -1 when absent */
    struct sk_str params;
};

struct sip_replaces {                 /* RFC 3891 */
    struct sk_str call_id, to_tag, from_tag;
    bool early_only;
    struct sk_str params;
};

struct sip_session_expires {          /* RFC 4028 */
    uint32_t delta;
    struct sk_str refresher;
    struct sk_str params;
};

struct sip_retry_after {
    uint32_t delta;
    struct sk_str comment;
    int64_t duration;                 /* -1 when absent */
    struct sk_str params;
};

struct sip_timestamp {
    struct sk_str value, delay;       /* decimal strings; delay unset when absent */
};

/* Parsers; each returns 0 or EBADMSG with err (err->pos is relative to the start of
 * the input the caller passed, callers add their own offset). */
int sip_parse_via(const char **p, const char *end, struct sip_via *v, struct sip_error *err);
/* name-addr or addr-spec. allow_star: accept "*" (Contact). */
int sip_parse_addr(const char **p, const char *end, bool list, bool allow_star,
                   struct sip_addr *a, struct sip_error *err);
int sip_parse_cseq(struct sk_str value, struct sip_cseq *c, struct sip_error *err);
int sip_parse_uint(struct sk_str value, uint32_t max, uint32_t *out, struct sip_error *err,
                   const char *what);
/* One token of a list; params_allowed: ";q=0.8"-style parameters may follow
 * (Accept-Encoding, Accept-Language), else only the token (option-tags). */
int sip_parse_token_elem(const char **p, const char *end, bool params_allowed,
                         struct sk_str *token, struct sip_error *err);
int sip_parse_ctype(const char **p, const char *end, bool list, struct sip_ctype *c,
                    struct sip_error *err);
int sip_parse_auth(struct sk_str value, struct sip_auth *a, struct sip_error *err);
int sip_parse_rack(struct sk_str value, struct sip_rack *r, struct sip_error *err);
int sip_parse_event(struct sk_str value, struct sip_event *e, struct sip_error *err);
int sip_parse_substate(struct sk_str value, struct sip_substate *s, struct sip_error *err);
int sip_parse_replaces(struct sk_str value, struct sip_replaces *r, struct sip_error *err);
int sip_parse_session_expires(struct sk_str value, struct sip_session_expires *s,
                              struct sip_error *err);
int sip_parse_retry_after(struct sk_str value, struct sip_retry_after *r,
                          struct sip_error *err);
int sip_parse_timestamp(struct sk_str value, struct sip_timestamp *t, struct sip_error *err);
/* Call-ID: word [ "@" word ] (RFC 3261 §25.1) */
int sip_parse_callid(struct sk_str value, struct sip_error *err);

/* Remove quotes and backslash escapes from a quoted-string body into out. */
int sip_unquote(struct sk_buf *out, struct sk_str quoted_body);

#endif
