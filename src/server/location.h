/* The location service: bindings per address-of-record in memory, written behind to the store. */
#ifndef SK_LOCATION_H
#define SK_LOCATION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/limits.h"
#include "sip/tp.h"
#include "sip/uri.h"
#include "store/store.h"

/* What names this server in a URI (RFC 3261 §16.4, §16.5 "a domain this proxy
 * is responsible for"): the addresses it listens on (IP and port, as bound) and
 * the domains it serves. The domain strings must outlive the struct. */
#define SK_LOC_SELF_MAX_ADDRS 64 /* 16 listeners, or a wildcard one: every local address */
#define SK_LOC_SELF_MAX_DOMAINS 32
struct sk_loc_self {
    struct sk_sa addr[SK_LOC_SELF_MAX_ADDRS];
    unsigned naddr;
    struct sk_str domain[SK_LOC_SELF_MAX_DOMAINS];
    unsigned ndomain;
};

void sk_loc_self_init(struct sk_loc_self *self);
/* A listen address (a second transport on the same address and port adds nothing). ENOSPC when full. */
int sk_loc_self_add_addr(struct sk_loc_self *self, const struct sk_sa *addr);
/* A served domain (a host name, compared case-insensitively). ENOSPC when full. */
int sk_loc_self_add_domain(struct sk_loc_self *self, const char *domain);

/* One Contact of a REGISTER, as the registrar decided it (§10.3 steps 6-8). */
struct sk_loc_contact {
    struct sk_str uri;       /* exactly as received */
    const struct sip_uri *parsed; /* uri parsed, when the caller has it (else NULL) */
    struct sk_str params;    /* header params as received, without expires */
    int q;                   /* -1 = none */
    uint32_t expires;        /* seconds; 0 removes the binding */
    struct sk_str instance;  /* RFC 5626 +sip.instance value (unset if none) */
    uint32_t reg_id;
    bool has_reg_id;
};

/* What the REGISTER says about all its contacts. */
struct sk_loc_reg {
    const char *aor;         /* normalised (sk_loc_aor) */
    struct sk_str call_id;
    uint32_t cseq;
    struct sk_str path;      /* RFC 3327 Path values joined by ", " (unset if none) */
    struct sk_str user_agent;
    enum sip_proto proto;    /* the flow it came on (RFC 5626) */
    struct sk_sa src;
    /* The registrar answers REGISTER statelessly (RFC 3261 §8.2.7), so it sees
     * every retransmission. req_id names the request's transaction (a hash of the
     * top Via's branch and sent-by): a request with the Call-ID, CSeq and req_id
     * that set a binding is that request again, answered with the bindings as
     * they are and changing nothing (where §10.3 step 7 would refuse it).
     * 0: unknown, never a retransmission (bindings loaded from the store). */
    uint32_t req_id;
    /* Credentials whose nonce-count was used before (a retransmission repeats
     * them): only a retransmission as above is answered; anything else, a query
     * or "Contact: *" included, is EACCES. */
    bool replay_only;
};

/* A binding as the location service hands it out (valid during the callback). */
struct sk_loc_binding {
    const char *aor;
    const char *uri;
    const char *params;
    const char *instance;
    const char *call_id;
    const char *path;
    const char *user_agent;
    uint32_t reg_id, cseq;
    int q;
    int64_t expires_at;      /* unix seconds */
    enum sip_proto proto;
    struct sk_sa src;
};

typedef void (*sk_loc_fn)(void *arg, const struct sk_loc_binding *b);

struct sk_loc;

/* How the store thread is started: pthread_create without attributes. Tests pass
 * one that fails, to see sk_loc_new_with fail cleanly. */
typedef int (*sk_loc_thread_start_fn)(pthread_t *t, void *(*run)(void *), void *arg);

struct sk_loc_config {
    struct sk_store *store;              /* NULL: memory only */
    uint32_t flush_ms;                   /* 0: SK_LOC_DEFAULT_FLUSH_MS */
    sk_loc_thread_start_fn thread_start; /* NULL: pthread_create */
};

/* The store thread writes the changes behind and expires bindings; without it
 * nothing would ever expire or reach the store, so the constructor fails (the
 * thread start's error, e.g. EAGAIN) when it cannot start, leaving *lp alone. */
int sk_loc_new_with(struct sk_loc **lp, const struct sk_loc_config *cfg);
/* store may be NULL (memory only). flush_ms: longest time a change waits before
 * it is written (the store thread also expires bindings then). */
int sk_loc_new(struct sk_loc **lp, struct sk_store *store, uint32_t flush_ms);
/* The store thread gives free heap back to the system every 10 s; it leaves
 * this many bytes at the top of the heap (sipkit serve --prefault). */
void sk_loc_set_trim_keep(struct sk_loc *l, size_t bytes);
/* Writes what is pending, stops the store thread, frees everything. */
void sk_loc_free(struct sk_loc *l);
/* Load the bindings the store kept (expired ones are dropped). Each stored AOR is
 * derived again with self (sk_loc_aor): a binding stored under an older spelling
 * (before ports of ours were dropped: "sip:uas@127.0.0.1:5070") moves to the AOR
 * it has now, in memory and in the store. self may be NULL (AORs kept as stored). */
int sk_loc_load(struct sk_loc *l, const struct sk_loc_self *self, int64_t now);

/* Does a sip/sips URI name this server? Its host is a served domain or one of the
 * listen IP addresses, and it has no port or a port we listen on (an IP host: that
 * address's own port; a domain: any listen port). A host of ours with a port we
 * do not listen on names another server there: not us. */
bool sk_loc_is_self(const struct sk_loc_self *self, const struct sip_uri *u);

/* Where the parts of an AOR lie in the text sk_loc_aor wrote (offsets from the
 * start of the buffer). */
struct sk_loc_aor_info {
    bool self;                     /* the URI names this server (sk_loc_is_self) */
    size_t user_off, user_len;     /* the user, %-decoded (length 0: none) */
    size_t domain_off, domain_len; /* the host, lower case, IPv6 without brackets */
};

/* The address-of-record of a URI, the one rule that the registrar (To), the proxy
 * and the redirect server (Request-URI) share, so that the users table and the
 * location service agree: "sip:user@host[:port]" (RFC 3261 §10.3 step 5) with
 * parameters and headers removed, escapes decoded, the host in lower case. When
 * the URI names this server (self, see sk_loc_is_self) the port is dropped and
 * an IP host is written in its canonical form: sip:uas@127.0.0.1:5070,
 * sip:uas@127.0.0.1 and sip:uas@127.000.000.001 are the AOR sip:uas@127.0.0.1
 * (§16.5: the canonical AOR of a request for a domain we serve). The scheme is
 * kept: a sips AOR is "sips:user@domain", distinct from the sip one (§19.1.4),
 * so a sips request never reaches a contact registered for plain sip. self may
 * be NULL (nothing is ours: the port is kept). info may be NULL. EINVAL for URIs
 * that are not sip/sips. */
int sk_loc_aor(const struct sip_uri *u, const struct sk_loc_self *self, struct sk_buf *out,
               struct sk_loc_aor_info *info);

/* Apply a REGISTER atomically: all contacts or none. remove_all: "Contact: *".
 * EALREADY when a binding has the same Call-ID and a CSeq not lower than the
 * request's (§10.3 step 7), unless the request is a retransmission of the one
 * that set it (see req_id: then 0 and nothing changes); ENOSPC when the AOR
 * would exceed max bindings; EACCES for a replay_only request that is not such
 * a retransmission. On 0 fn is called for each binding the AOR has (for the 200). */
int sk_loc_register(struct sk_loc *l, const struct sk_loc_reg *r, const struct sk_loc_contact *c,
                    size_t n, bool remove_all, int64_t now, sk_loc_fn fn, void *arg);
/* Current bindings of an AOR (none expired), highest q first. Returns how many. */
size_t sk_loc_lookup(struct sk_loc *l, const char *aor, int64_t now, sk_loc_fn fn, void *arg);
/* Every binding of every AOR (for sipkit ctl registrations). */
void sk_loc_walk(struct sk_loc *l, int64_t now, sk_loc_fn fn, void *arg);
/* Remove bindings whose time has come; returns how many. */
size_t sk_loc_expire(struct sk_loc *l, int64_t now);
size_t sk_loc_count(struct sk_loc *l);
/* REGISTERs recognised as retransmissions (answered again, nothing changed). */
uint64_t sk_loc_retransmissions(struct sk_loc *l);
/* What happened to bindings since the start: a new contact, one registered again,
 * one removed by its user (expires 0 or "*"), one whose time ran out; and the
 * write-behind: changes waiting now, changes written, batches written and the
 * time they took in all and at most (microseconds). */
struct sk_loc_counters {
    uint64_t created, refreshed, removed, expired;
    uint64_t queued, written, flushes, flush_us, flush_us_max;
};
void sk_loc_counters(struct sk_loc *l, struct sk_loc_counters *out);
/* Write what is queued now (tests; shutdown). */
void sk_loc_flush(struct sk_loc *l);

#define SK_LOC_MAX_PER_AOR SIP_DEFAULT_MAX_BINDINGS_PER_AOR
#define SK_LOC_DEFAULT_FLUSH_MS 200 /* sk_loc_new with flush_ms 0 (sipkit serve: 1000) */

#endif
