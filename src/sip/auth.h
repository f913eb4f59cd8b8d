/* HTTP Digest for SIP (RFC 3261 §22, RFC 7616, RFC 8760): hashes, stateless nonces, verification. */
#ifndef SIP_AUTH_H
#define SIP_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/hdr.h"

enum sip_digest_alg {
    SIP_DIGEST_MD5,
    SIP_DIGEST_SHA256,
};

#define SIP_DIGEST_HEX_MAX 65 /* SHA-256 in hex + NUL */
#define SIP_NONCE_LEN 64      /* hex characters */

const char *sip_digest_alg_name(enum sip_digest_alg alg); /* "MD5", "SHA-256" */
/* An absent algorithm parameter means MD5 (RFC 7616 §3.3). EINVAL for others. */
int sip_digest_alg_parse(struct sk_str s, enum sip_digest_alg *alg);

/* These return 0, or ENOMEM/EIO when OpenSSL fails (out is then ""). */
/* H(data) in lower-case hex into out (SIP_DIGEST_HEX_MAX bytes). */
int sip_digest_hex(enum sip_digest_alg alg, const void *data, size_t len, char *out);
/* HA1 = H(username ":" realm ":" password) */
int sip_digest_ha1(enum sip_digest_alg alg, struct sk_str user, struct sk_str realm,
                   struct sk_str password, char *out);
/* The expected response for credentials c (qop "auth" or none) and method. */
int sip_digest_response(enum sip_digest_alg alg, const char *ha1, const struct sip_auth *c,
                        struct sk_str method, char *out);

/* ---- Server side: nonces that verify without being stored ---- */

struct sip_nonces;

/* lifetime_s: how long a nonce is good for (then stale=true). The HMAC secret is
 * 32 random bytes. */
int sip_nonces_new(struct sip_nonces **np, uint32_t lifetime_s);
/* The same with a given secret of any length (tests; servers that must accept
 * each other's nonces). */
int sip_nonces_new_keyed(struct sip_nonces **np, uint32_t lifetime_s, const void *key,
                         size_t keylen);
void sip_nonces_free(struct sip_nonces *n);

/* nonce = hex(time, 8 bytes) hex(random, 8 bytes) hex(HMAC-SHA256(secret, time|random|realm), 16 bytes)
 * (realm: its first 256 bytes). ENOMEM/EIO if OpenSSL fails (out is then ""). */
int sip_nonce_make(struct sip_nonces *n, struct sk_str realm, time_t now, char *out);
/* The opaque value of this server (hex, stable for its lifetime). */
const char *sip_nonces_opaque(const struct sip_nonces *n);

enum sip_auth_result {
    SIP_AUTH_OK,
    SIP_AUTH_BAD,      /* wrong response, malformed or foreign nonce, wrong realm/uri/opaque */
    SIP_AUTH_STALE,    /* a nonce of ours that expired, with an otherwise correct response */
    SIP_AUTH_REPLAY,   /* a nonce-count already used with this nonce */
    SIP_AUTH_UNSUPPORTED, /* algorithm or qop we do not offer */
};

const char *sip_auth_result_name(enum sip_auth_result r);

/* Check credentials c for a request with this method, against the user's HA1 for
 * c's algorithm. request_uri: the Request-URI, which c->uri must equal. The
 * nonce-count is recorded only when everything else is right. */
enum sip_auth_result sip_digest_verify(struct sip_nonces *n, const struct sip_auth *c,
                                       struct sk_str realm, struct sk_str method,
                                       struct sk_str request_uri, const char *ha1, time_t now);

/* "WWW-Authenticate: Digest realm=..., nonce=..., opaque=..., algorithm=..., qop="auth"[, stale=true]\r\n"
 * hdr: "WWW-Authenticate" or "Proxy-Authenticate". */
int sip_digest_challenge(struct sk_buf *b, const char *hdr, struct sip_nonces *n,
                         struct sk_str realm, enum sip_digest_alg alg, bool stale, time_t now);

/* One such header per algorithm in algs (in order), all with the same nonce. */
int sip_digest_challenges(struct sk_buf *b, const char *hdr, struct sip_nonces *n,
                          struct sk_str realm, const enum sip_digest_alg *algs, unsigned nalgs,
                          bool stale, time_t now);

#endif
