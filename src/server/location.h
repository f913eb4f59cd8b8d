/* The location service: bindings per address-of-record in memory, written behind to the store. */
#ifndef SK_LOCATION_H
#define SK_LOCATION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/tp.h"
#include "sip/uri.h"
#include "store/store.h"

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

/* store may be NULL (memory only). flush_ms: longest time a change waits before
 * it is written (the store thread also expires bindings then). */
int sk_loc_new(struct sk_loc **lp, struct sk_store *store, uint32_t flush_ms);
/* The store thread gives free heap back to the system every 10 s; it leaves
 * this many bytes at the top of the heap (sipkit serve --prefault). */
void sk_loc_set_trim_keep(struct sk_loc *l, size_t bytes);
/* Writes what is pending, stops the store thread, frees everything. */
void sk_loc_free(struct sk_loc *l);
/* Load the bindings the store kept (expired ones are dropped). */
int sk_loc_load(struct sk_loc *l, int64_t now);

/* RFC 3261 §10.3 step 5: "sip:user@host[:port]" with parameters removed, escapes
 * decoded and the host in lower case. EINVAL for URIs that are not sip/sips. */
int sk_loc_aor(const struct sip_uri *to, struct sk_buf *out);

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
/* Write what is queued now (tests; shutdown). */
void sk_loc_flush(struct sk_loc *l);

#define SK_LOC_MAX_PER_AOR 32

#endif
