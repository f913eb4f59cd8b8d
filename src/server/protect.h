/* Flood, scanner and brute-force defence of sipkit serve: CIDR lists, token buckets per
 * source and per prefix, scanner marks, a block list, per-user slowing. No I/O; the clock
 * is passed in. */
#ifndef SK_PROTECT_H
#define SK_PROTECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "net/addr.h"

/* ---- CIDR lists ---- */

/* An IPv4 or IPv6 prefix. IPv4 is kept in 4 bytes; an IPv4-mapped IPv6 source
 * (::ffff:a.b.c.d, a dual-stack socket) is matched as the IPv4 address it is. */
struct sk_cidr {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bits;   /* prefix length: 0..32 or 0..128 */
    uint8_t addr[16];
};

#define SK_CIDR_LIST_MAX 32

struct sk_cidr_list {
    struct sk_cidr v[SK_CIDR_LIST_MAX];
    unsigned n;
};

/* "10.0.0.0/8", "192.0.2.1" (a /32), "2001:db8::/32", "::1". The host bits
 * after the prefix are cleared. 0 or EINVAL. */
int sk_cidr_parse(const char *s, struct sk_cidr *out);
/* Appends a comma-separated list ("none" empties the list). 0, EINVAL or ENOSPC. */
int sk_cidr_list_parse(struct sk_cidr_list *l, const char *csv);
bool sk_cidr_match(const struct sk_cidr *c, const struct sk_sa *a);
bool sk_cidr_list_match(const struct sk_cidr_list *l, const struct sk_sa *a);

/* ---- Configuration ---- */

/* What a request is counted as: each has its own budget per source. */
enum sk_protect_class {
    SK_PROT_REGISTER,
    SK_PROT_INVITE,
    SK_PROT_OTHER,
    SK_PROT_4XX, /* 4xx responses we produce to a source */
    SK_PROT_NCLASS,
};

/* The rule that dropped or blocked a source, for the stats, the log and `ctl blocked`. */
enum sk_protect_rule {
    SK_RULE_NONE,
    SK_RULE_DENY,          /* in --deny */
    SK_RULE_NOT_ALLOWED,   /* --allow given and not in it */
    SK_RULE_BLOCKED,       /* already on the block list */
    SK_RULE_RATE_REGISTER, /* over its budget: dropped (or 503) */
    SK_RULE_RATE_INVITE,
    SK_RULE_RATE_OTHER,
    SK_RULE_RATE_4XX,
    SK_RULE_RATE_PREFIX, /* its /24 or /64 over budget */
    SK_RULE_FLOOD,       /* kept over budget: blocked */
    SK_RULE_SCANNER_UA,  /* a known scanner's User-Agent */
    SK_RULE_SWEEP,       /* many user names from one source */
    SK_RULE_RATIO,       /* mostly 403/404 answers */
    SK_RULE_AUTH_FAIL,   /* failed logins (registrar's limit) */
    SK_RULE_MANUAL,      /* sk_protect_block from outside */
    SK_RULE_USER_SLOWED, /* an auth attempt for a user under attack, delayed */
    SK_RULE_OVERLOAD,    /* new INVITE refused: too many transactions */
    SK_RULE_COUNT,
};

const char *sk_protect_rule_name(enum sk_protect_rule r);

/* The clock the server passes in: CLOCK_MONOTONIC_COARSE in ms. */
int64_t sk_protect_clock_ms(void);

struct sk_protect_config {
    bool enabled;
    struct sk_cidr_list trust;      /* exempt from everything but overload */
    struct sk_cidr_list allow;      /* when not empty: only these (besides trust) */
    struct sk_cidr_list deny;       /* never served */
    uint32_t rate[SK_PROT_NCLASS];  /* per second per source address */
    uint32_t burst[SK_PROT_NCLASS]; /* bucket size */
    uint32_t prefix_factor;         /* a /24 or /64 gets factor x the address's budget */
    uint32_t block_time;            /* s */
    uint32_t flood_drops;           /* over-budget drops within flood_window s: block */
    uint32_t flood_window;
    uint32_t sweep_users; /* distinct user names within sweep_window s: block */
    uint32_t sweep_window;
    uint32_t ratio_min; /* at least this many 4xx/2xx... answers in ratio_window s, */
    uint32_t ratio_pct; /* of which this share 403/404: block */
    uint32_t ratio_window;
    uint32_t user_fail_limit;  /* failed logins for one user within user_fail_window s */
    uint32_t user_fail_window; /* (from any sources) slow it down */
    uint32_t user_slow_time;   /* for this long after the last failure, */
    uint32_t user_slot_ms;     /* one attempt per slot from unknown sources */
    uint32_t overload_txns;    /* transactions alive: new INVITEs get 503 (0 = off) */
    uint32_t retry_after;      /* s, in our 503s */
    bool flood_503;            /* over budget: 503 + Retry-After, not a silent drop */
    uint32_t sources;          /* table sizes (rounded up to a multiple of 8) */
    uint32_t prefixes;
    uint32_t users;
};

/* On, loopback (127.0.0.0/8, ::1) trusted, the limits of the README. */
void sk_protect_config_defaults(struct sk_protect_config *cfg);

/* ---- The guard ---- */

enum sk_protect_verdict {
    SK_PROT_PASS,    /* serve it */
    SK_PROT_TRUSTED, /* a trusted source: serve it, no further checks */
    SK_PROT_OVER,    /* over budget: drop, or 503 with flood_503 */
    SK_PROT_DROP,    /* blocked or denied: nothing goes back */
};

struct sk_protect;

int sk_protect_new(struct sk_protect **pp, const struct sk_protect_config *cfg);
void sk_protect_free(struct sk_protect *p);
const struct sk_protect_config *sk_protect_config_of(const struct sk_protect *p);

/* The class of a request by its start line's first bytes (method up to the
 * space); returns false for a response ("SIP/2.0 ..."). Needs no parse. */
bool sk_protect_classify(const char *buf, size_t len, enum sk_protect_class *cls);

/* The first check, before any parse: ACLs, trust, the block list, then the
 * buckets of the address and of its prefix (when cls is a request class;
 * SK_PROT_NCLASS for a response: ACLs and blocks only). All from any thread. */
enum sk_protect_verdict sk_protect_source(struct sk_protect *p, const struct sk_sa *src,
                                          enum sk_protect_class cls, int64_t now_ms,
                                          enum sk_protect_rule *rule);
/* After the parse, for an untrusted source's request: its User-Agent and the
 * user name it is aimed at (To user of a REGISTER, Request-URI user of an
 * initial request; unset: none). SK_PROT_DROP when it marked the source. */
enum sk_protect_verdict sk_protect_inspect(struct sk_protect *p, const struct sk_sa *src,
                                           struct sk_str user_agent, struct sk_str user,
                                           int64_t now_ms, enum sk_protect_rule *rule);
/* A response we are about to send to an untrusted source: false when it must
 * not go (the source's 4xx budget is spent, or it just got blocked). */
bool sk_protect_response(struct sk_protect *p, const struct sk_sa *src, int status,
                         int64_t now_ms);
/* New INVITE while txns transactions are alive: true when it must get 503. */
bool sk_protect_overloaded(struct sk_protect *p, size_t txns);

/* Is the address trusted (or protection off)? */
bool sk_protect_trusted(const struct sk_protect *p, const struct sk_sa *src);

/* The block list: the port of src is ignored. */
void sk_protect_block(struct sk_protect *p, const struct sk_sa *src,
                      enum sk_protect_rule rule, int64_t now_ms);
/* 0, or ENOENT when it was not blocked. */
int sk_protect_unblock(struct sk_protect *p, const struct sk_sa *src);
struct sk_protect_blocked {
    struct sk_sa addr; /* port 0 */
    enum sk_protect_rule rule;
    int64_t ms_left;
};
/* Up to max blocked sources; returns how many there are in all. */
size_t sk_protect_blocked_list(struct sk_protect *p, int64_t now_ms,
                               struct sk_protect_blocked *out, size_t max);

/* ---- Brute force per user (many sources guessing one user's password) ---- */

/* Before an authentication attempt for user (credentials' username, or the AOR
 * user to be challenged): false = delay it (no answer now; a UDP client
 * retransmits). A user past user_fail_limit gets one attempt per user_slot_ms
 * from sources that never logged in as it; sources that did are never held. */
bool sk_protect_user_attempt(struct sk_protect *p, struct sk_str user,
                             const struct sk_sa *src, int64_t now_ms);
/* The outcome of a verified attempt (ok: right password). */
void sk_protect_user_result(struct sk_protect *p, struct sk_str user,
                            const struct sk_sa *src, bool ok, int64_t now_ms);

/* ---- Counters ---- */

struct sk_protect_stats {
    uint64_t checked;                /* messages of untrusted sources checked */
    uint64_t dropped[SK_RULE_COUNT]; /* requests dropped (or 503) by rule */
    uint64_t blocks[SK_RULE_COUNT];  /* sources put on the block list by rule */
    uint64_t evicted;                /* table entries reused for another key */
    uint64_t users_slowed;           /* users that went into slow mode */
};

void sk_protect_stats(struct sk_protect *p, struct sk_protect_stats *out);

#endif
