/* Private lexical helpers for the SIP grammar (RFC 3261 §25): character classes and skipping. */
#ifndef SIP_SCAN_H
#define SIP_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

enum {
    SC_TOKEN = 1u << 0,    /* token chars: alphanum - . ! % * _ + ` ' ~ */
    SC_WS = 1u << 1,       /* SP HT CR LF: LWS inside an (unfolded) header value */
    SC_UNRES = 1u << 2,    /* URI unreserved: alphanum - _ . ! ~ * ' ( ) */
    SC_USER = 1u << 3,     /* user-unreserved: & = + $ , ; ? / */
    SC_PASS = 1u << 4,     /* password extra: & = + $ , */
    SC_PARAM = 1u << 5,    /* param-unreserved: [ ] / : & + $ */
    SC_HNV = 1u << 6,      /* hnv-unreserved: [ ] / ? : + $ */
    SC_HOST = 1u << 7,     /* hostname and IPv4 chars: alphanum - . */
    SC_DIGIT = 1u << 8,
    SC_HEX = 1u << 9,
    SC_ALPHA = 1u << 10,
    SC_WORD = 1u << 11,    /* Call-ID word: token chars plus ( ) < > : \ " / [ ] ? { } */
    SC_RESERVED = 1u << 12 /* ; / ? : @ & = + $ , */
};

extern const unsigned short sip_char_class[256];

static inline bool sc_is(char c, unsigned cls)
{
    return (sip_char_class[(unsigned char) c] & cls) != 0;
}

static inline const char *sc_skip_ws(const char *p, const char *end)
{
    while (p < end && sc_is(*p, SC_WS))
        p++;
    return p;
}

static inline const char *sc_skip_class(const char *p, const char *end, unsigned cls)
{
    while (p < end && sc_is(*p, cls))
        p++;
    return p;
}

static inline int sc_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = sk_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Quoted string starting at *p == '"': moves p past the closing quote and
 * returns the body (between the quotes, escapes kept). False if unterminated. */
bool sc_quoted(const char **p, const char *end, struct sk_str *body);

/* What sc_host found. The values are those of enum sip_host_type (uri.h), which
 * uri.c checks at compile time: the lexer sits below the URI module and does not
 * include it. */
enum sc_host_type { SC_HT_NAME = 1, SC_HT_IPV4 = 2, SC_HT_IPV6 = 3 };

/* Parse a host (IPv6 reference in brackets, IPv4 or a name) at *p; *type gets an
 * enum sc_host_type. For an IPv4 address, *ip4 (when not NULL) gets its value in
 * host byte order. */
bool sc_host(const char **p, const char *end, struct sk_str *host, int *type, uint32_t *ip4);

#endif
