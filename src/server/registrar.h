/* The registrar (RFC 3261 §10.3, RFC 3327 Path, RFC 5626 outbound) with digest authentication. */
#ifndef SK_REGISTRAR_H
#define SK_REGISTRAR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "server/location.h"
#include "sip/auth.h"
#include "sip/msg.h"
#include "sip/txn.h"
#include "store/store.h"

struct sk_registrar_config {
    bool auth;                 /* require digest authentication (default on) */
    uint32_t default_expires;  /* 3600 */
    uint32_t min_expires;      /* 60: below it 423 */
    uint32_t max_expires;      /* 86400: above it clamped */
    uint32_t nonce_lifetime;   /* 300 s, then stale=true */
    uint32_t fail_limit;       /* wrong credentials from one address before it is blocked, 10 */
    uint32_t fail_window;      /* ... within this many seconds, 60 */
    uint32_t block_time;       /* blocked (403, no challenge) for this long, 300 */
    enum sip_digest_alg algs[2]; /* challenges offered, in order (SHA-256, MD5) */
    unsigned nalgs;
};

extern const struct sk_registrar_config sk_registrar_config_default;

/* What the registrar decided: the status and the extra header lines of the response. */
struct sk_reg_result {
    int status;
    const char *reason; /* NULL = the standard phrase */
    struct sk_buf headers;
    bool auth_failed; /* wrong credentials (counted against the source) */
};

struct sk_registrar;

/* self: what names this server, for the AOR of each REGISTER (sk_loc_aor); it
 * must outlive the registrar. NULL: every port is kept in the AOR. */
int sk_registrar_new(struct sk_registrar **rp, const struct sk_registrar_config *cfg,
                     const struct sk_loc_self *self, struct sk_loc *loc, struct sk_store *store);
void sk_registrar_free(struct sk_registrar *r);
/* Failed logins also count per user and block the source in p (protect.h);
 * attempts for a user under attack may be delayed (503 + Retry-After). */
struct sk_protect;
void sk_registrar_set_protect(struct sk_registrar *r, struct sk_protect *p);
/* Registrations, failed logins and blocks go to a's audit log (audit.h). */
struct sk_audit;
void sk_registrar_set_audit(struct sk_registrar *r, struct sk_audit *a);

/* Since the start: challenges sent (401 and 407), right and wrong credentials,
 * requests refused because their source is blocked, REGISTERs that failed (any
 * final status but 200 and the 401 that asks for credentials). */
struct sk_registrar_counters {
    uint64_t challenges, auth_ok, auth_failed, blocked, reg_failed;
};
void sk_registrar_counters(struct sk_registrar *r, struct sk_registrar_counters *out);

/* Handle a REGISTER whose Request-URI is one of our domains. res->headers must be
 * initialised by the caller and freed after use. */
void sk_registrar_handle(struct sk_registrar *r, const struct sip_rx *rx,
                         struct sk_reg_result *res, int64_t now);

/* Authenticate a request: 0 when credentials for realm in hdr (Authorization /
 * Proxy-Authorization) are right; else fills res with the challenge response
 * (401/407) or 403 when the source is blocked. replayed: NULL makes a reused
 * nonce-count a failure; otherwise right credentials with a reused nonce-count
 * (what a retransmission carries) return 0 with *replayed set, and the caller
 * must let such a request change nothing. */
int sk_registrar_authenticate(struct sk_registrar *r, const struct sip_rx *rx,
                              enum sip_hdr_id hdr, struct sk_str user, struct sk_str realm,
                              struct sk_reg_result *res, int64_t now, bool *replayed);

#endif
