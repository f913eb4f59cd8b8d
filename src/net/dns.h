/* DNS queries (NAPTR, SRV, A, AAAA) through c-ares, driven by our event loop, with a
 * TTL-respecting cache: one sk_dns per loop, used on that loop's thread only. */
#ifndef SK_NET_DNS_H
#define SK_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

/* RFC 1035 §3.2.2, RFC 2782, RFC 3596, RFC 3403 */
enum sk_dns_type {
    SK_DNS_A = 1,
    SK_DNS_AAAA = 28,
    SK_DNS_SRV = 33,
    SK_DNS_NAPTR = 35,
};

#define SK_DNS_NAME_MAX 256

struct sk_dns_srv {
    uint16_t priority, weight, port;
    char target[SK_DNS_NAME_MAX];
};

struct sk_dns_naptr {
    uint16_t order, preference;
    char flags[16];
    char service[32];
    char replacement[SK_DNS_NAME_MAX];
};

struct sk_dns_rr {
    uint16_t type;
    uint32_t ttl; /* seconds, as the answer gave it */
    union {
        uint8_t addr[16]; /* A: 4 bytes, AAAA: 16 */
        struct sk_dns_srv srv;
        struct sk_dns_naptr naptr;
    } u;
};

/* What one query gives: err 0 with n >= 1 records, ENOENT (no such name, or no record
 * of the type: a negative answer, cached too), ETIMEDOUT (no server answered),
 * EIO (SERVFAIL, a refused or malformed answer), ECANCELED (the channel went away). */
struct sk_dns_answer {
    int err;
    size_t n;
    const struct sk_dns_rr *rr;
};

typedef void (*sk_dns_fn)(void *arg, const struct sk_dns_answer *a);

struct sk_dns_config {
    /* "ADDR[:PORT][,ADDR[:PORT]...]" (IPv6 as [ADDR]:PORT); NULL or "": resolv.conf */
    const char *servers;
    unsigned timeout_ms; /* per try; 0: 2000 */
    unsigned tries;      /* 0: 2 */
    size_t cache_max;    /* cached answers; 0: 512 */
    uint32_t max_ttl;    /* seconds an answer is kept at most; 0: 3600 */
    uint32_t neg_ttl;    /* a negative answer without an SOA; 0: 30 */
};

struct sk_dns;
struct sk_dns_query;

/* 0, EINVAL (a bad server list), or ENOMEM / EIO (c-ares would not start). */
int sk_dns_new(struct sk_dns **dp, const struct sk_dns_config *cfg, struct sk_loop *loop);
/* Pending queries end without their callbacks. */
void sk_dns_free(struct sk_dns *d);

/* Ask for (name, type) and call cb exactly once unless cancelled: from the cache during
 * this call (*qp = NULL), else later from the loop (*qp valid until cb runs or
 * sk_dns_cancel). 0, or EINVAL / ENOMEM and then cb is not called. */
int sk_dns_query(struct sk_dns *d, const char *name, enum sk_dns_type type, sk_dns_fn cb,
                 void *arg, struct sk_dns_query **qp);
void sk_dns_cancel(struct sk_dns_query *q);

struct sk_dns_stats {
    uint64_t sent;     /* queries c-ares was asked for */
    uint64_t hits;     /* answered from the cache (positive or negative) */
    size_t cached;     /* entries now */
    size_t pending;    /* queries waiting */
};
void sk_dns_get_stats(const struct sk_dns *d, struct sk_dns_stats *st);

/* ---- Pure pieces (tests) ---- */

/* Parse a DNS response message: the records of type in the answer section, at most
 * max into rr (names case as sent). *neg_ttl: for a negative answer, the SOA's
 * minimum (RFC 2308 §5), else UINT32_MAX. Returns records parsed, or -1 if malformed. */
int sk_dns_parse(const uint8_t *msg, size_t len, enum sk_dns_type type, struct sk_dns_rr *rr,
                 size_t max, uint32_t *neg_ttl);

#endif
