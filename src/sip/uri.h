/* SIP, SIPS (RFC 3261 §19.1), tel (RFC 3966) and other absolute URIs: parsing in place and comparison. */
#ifndef SIP_URI_H
#define SIP_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/error.h"

enum sip_uri_scheme {
    SIP_URI_SIP,
    SIP_URI_SIPS,
    SIP_URI_TEL,
    SIP_URI_OTHER, /* any other absolute URI, kept opaque */
};

enum sip_host_type {
    SIP_HOST_NONE,
    SIP_HOST_NAME,
    SIP_HOST_IPV4,
    SIP_HOST_IPV6, /* host holds the address without the brackets */
};

/* All fields are slices into the parsed text; escapes are left as written. */
struct sip_uri {
    struct sk_str raw;    /* the whole URI */
    enum sip_uri_scheme scheme;
    struct sk_str scheme_str;
    struct sk_str user;     /* sip/sips: userinfo user; tel: the number */
    struct sk_str password; /* set only when a ':' follows the user */
    struct sk_str host;     /* IPv6 without brackets */
    enum sip_host_type host_type;
    uint32_t ip4;           /* SIP_HOST_IPV4: the address, host byte order */
    uint16_t port;
    bool has_port;
    struct sk_str params;  /* after the first ';' (without it), up to '?' */
    struct sk_str headers; /* after '?' (without it) */
    struct sk_str opaque;  /* SIP_URI_OTHER: everything after "scheme:" */
    /* Frequently used parameters, extracted (unset when absent). */
    struct sk_str transport, user_param, maddr, method, ttl;
    bool lr;
};

/* Parse the whole of [p, p+len) as a URI. Errors: EBADMSG with err set. */
int sip_uri_parse(struct sip_uri *uri, const char *p, size_t len, struct sip_error *err);

/* RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4 (tel); other schemes: case-insensitive
 * scheme and exact remainder. */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);

/* Look up a URI parameter by name (case-insensitive). *value is unset for a flag
 * parameter such as ";lr". Returns false if absent. */
bool sip_uri_param(const struct sip_uri *uri, const char *name, struct sk_str *value);

/* Append the %-decoded form of s (for display/JSON); invalid escapes are copied as is. */
int sip_unescape(struct sk_buf *out, struct sk_str s);

/* The port to send to: the explicit one, else the default (5060, or 5061 for sips). */
uint16_t sip_uri_default_port(const struct sip_uri *uri);

#endif
