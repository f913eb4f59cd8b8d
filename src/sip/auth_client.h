/* The client side of HTTP Digest (RFC 3261 §22.2, RFC 7616 §3.4, RFC 8760): answer a 401/407 challenge. */
#ifndef SIP_AUTH_CLIENT_H
#define SIP_AUTH_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "sip/auth.h"
#include "sip/msg.h"

#define SIP_DIGEST_FIELD_MAX 256

/* One challenge we answer, copied out of the response that carried it (the
 * message is gone when the next request is built). nc counts the requests sent
 * with this nonce (RFC 7616 §3.4: nonce-count). */
struct sip_digest_client {
    bool proxy;                      /* Proxy-Authenticate (407) rather than WWW- (401) */
    enum sip_digest_alg alg;
    bool qop_auth;                   /* the server offered qop="auth" */
    bool stale;                      /* stale=true: the old nonce expired, not the password */
    char realm[SIP_DIGEST_FIELD_MAX];
    char nonce[SIP_DIGEST_FIELD_MAX];
    char opaque[SIP_DIGEST_FIELD_MAX]; /* "" when absent */
    uint32_t nc;
};

/* Pick the challenge to answer from a 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate): Digest only, SHA-256 before MD5 (RFC 8760 §2.4: the
 * strongest the client supports), qop "auth" or none (auth-int is not offered
 * by us). ENOENT when the response has no challenge we can answer, EBADMSG when
 * its challenge header does not parse, E2BIG when a field is longer than we keep. */
int sip_digest_client_pick(struct sip_msg *resp, struct sip_digest_client *dc);

/* "Authorization: Digest username=..., realm=..., nonce=..., uri=..., response=...,
 * algorithm=..., [cnonce=..., qop=auth, nc=...,] [opaque=...]\r\n" (or
 * Proxy-Authorization) for a request with this method and Request-URI. Each call
 * increments dc->nc. cnonce: NULL for a random one (tests give theirs). */
int sip_digest_client_authorize(struct sk_buf *b, struct sip_digest_client *dc,
                                const char *username, const char *password,
                                struct sk_str method, struct sk_str uri, const char *cnonce);

#endif
