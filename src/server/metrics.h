/* Metrics of sipkit serve: counters and histograms the workers move lock-free, the active
 * calls, the event-loop lag probes, and a Prometheus text exposition writer. */
#ifndef SK_SERVER_METRICS_H
#define SK_SERVER_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "net/loop.h"
#include "sip/msg.h"
#include "sip/tp.h"

/* ---- Histograms: fixed upper bounds in seconds, one atomic per bucket ---- */

#define SK_HIST_MAX_BUCKETS 16

struct sk_hist {
    const double
        *bounds; /* ascending upper bounds (seconds), nb of them; +Inf is implicit */
    size_t nb;
    atomic_uint_fast64_t bucket[SK_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative */
    atomic_uint_fast64_t sum_us, count;
};

void sk_hist_init(struct sk_hist *h, const double *bounds, size_t nb);
void sk_hist_observe_us(struct sk_hist *h, uint64_t us);

/* ---- The Prometheus text format (version 0.0.4) ---- */

/* "# HELP name help" and "# TYPE name type". */
void sk_prom_family(struct sk_buf *b, const char *name, const char *type,
                    const char *help);
/* name{labels} value; labels is "" or 'method="INVITE",class="2xx"' (already escaped). */
void sk_prom_sample(struct sk_buf *b, const char *name, const char *labels,
                    uint64_t value);
void sk_prom_sample_f(struct sk_buf *b, const char *name, const char *labels,
                      double value);
/* name_bucket{labels,le=...} (cumulative), name_sum, name_count. */
void sk_prom_hist(struct sk_buf *b, const char *name, const char *labels,
                  const struct sk_hist *h);

/* ---- What the workers count ---- */

#define SK_MET_METHODS (SIP_METHOD_PUBLISH + 1) /* enum sip_method; 0 = other */
#define SK_MET_PROTOS SIP_NPROTO                /* enum sip_proto */
#define SK_MET_CLASSES 6                        /* 1xx .. 6xx */
#define SK_MET_FAIL_CODES 400                   /* final failures 300..699 by code */

/* The method label of a request (lower case "other" for the rest). */
const char *sk_met_method_name(unsigned m);
/* The transport label: "udp", "tcp", "tls", "ws". */
const char *sk_met_proto_name(unsigned p);
/* 0..5 for 1xx..6xx, -1 for a status outside 100..699. */
int sk_met_class(int status);

/* One worker's event-loop lag probe: a periodic timer that measures how late it fires. */
struct sk_met_lag {
    struct sk_loop *loop;
    struct sk_timer timer;
    uint64_t due_us; /* monotonic time it should fire at */
    atomic_uint_fast64_t last_us, max_us;
    struct sk_hist hist;
};

#define SK_MET_LAG_INTERVAL_MS 250

/* An active proxied call, as /api/calls lists it. */
enum sk_call_state { SK_CALL_TRYING, SK_CALL_RINGING, SK_CALL_ANSWERED };

struct sk_call_info {
    const char *call_id, *from, *to;
    enum sk_call_state state;
    uint64_t age_ms; /* since the INVITE */
};

typedef void (*sk_call_fn)(void *arg, const struct sk_call_info *c);

/* Protection rules that drop or refuse requests: sipkit_dropped_total{rule="NAME"}. */
#define SK_MET_RULES_MAX 32
#define SK_MET_RULE_NAME_MAX 32

struct sk_met_call; /* metrics.c */

#define SK_MET_CALLS_MAX 65536 /* calls tracked at most; the oldest makes room */
#define SK_MET_CALL_BUCKETS 4096
#define SK_MET_CALL_MAX_AGE_S                                                            \
    (12 * 3600) /* a call never ended by BYE is dropped after this */

struct sk_metrics {
    atomic_uint_fast64_t requests[SK_MET_METHODS][SK_MET_PROTOS];
    atomic_uint_fast64_t responses[SK_MET_METHODS][SK_MET_CLASSES]; /* our own */
    atomic_uint_fast64_t forwarded[SK_MET_METHODS][SK_MET_CLASSES]; /* relayed upstream */
    atomic_uint_fast64_t calls_started, calls_answered, calls_ended;
    atomic_uint_fast64_t calls_failed[SK_MET_FAIL_CODES];
    struct sk_hist setup_ringing, setup_answered, duration;
    char rule_name[SK_MET_RULES_MAX][SK_MET_RULE_NAME_MAX];
    atomic_uint_fast64_t rule_hits[SK_MET_RULES_MAX];
    atomic_uint nrules;
    struct sk_met_lag *lag; /* one per worker */
    unsigned nlag;
    /* the active calls, by Call-ID (under calls_lock: only INVITE and BYE take it) */
    pthread_mutex_t calls_lock;
    struct sk_met_call **buckets;        /* SK_MET_CALL_BUCKETS chains */
    struct sk_met_call *oldest, *newest; /* in order of their INVITE */
    size_t ncalls;
};

int sk_metrics_new(struct sk_metrics **mp, struct sk_loop **loops, unsigned nloops);
/* Start the lag probes (each on its own loop, posted: call once the loops run or before).
 */
int sk_metrics_start(struct sk_metrics *m);
/* After the loops stopped. */
void sk_metrics_free(struct sk_metrics *m);

static inline void sk_met_request(struct sk_metrics *m, enum sip_method method,
                                  enum sip_proto proto)
{
    if (m && (unsigned) method < SK_MET_METHODS && (unsigned) proto < SK_MET_PROTOS)
        atomic_fetch_add_explicit(&m->requests[method][proto], 1, memory_order_relaxed);
}

static inline void sk_met_response(struct sk_metrics *m, enum sip_method method,
                                   int status, bool forwarded)
{
    int c = (status >= 100 && status < 700) ? status / 100 - 1 : -1;

    if (!m || c < 0 || (unsigned) method >= SK_MET_METHODS) return;
    atomic_fetch_add_explicit(forwarded ? &m->forwarded[method][c]
                                        : &m->responses[method][c],
                              1, memory_order_relaxed);
}

/* A rule's counter: its index (the same name twice gives the same index), or -1
 * when the table is full or the name is no [a-z0-9_]+ of at most 31 characters.
 * Register rules before the workers start; sk_met_drop from any thread. */
int sk_met_rule(struct sk_metrics *m, const char *name);
static inline void sk_met_drop(struct sk_metrics *m, int rule)
{
    if (m && rule >= 0 && rule < SK_MET_RULES_MAX)
        atomic_fetch_add_explicit(&m->rule_hits[rule], 1, memory_order_relaxed);
}

/* The life of a proxied call (an INVITE without a To tag), by Call-ID. */
void sk_met_call_start(struct sk_metrics *m, struct sk_str call_id, struct sk_str from,
                       struct sk_str to);
void sk_met_call_ringing(struct sk_metrics *m,
                         struct sk_str call_id); /* a 18x upstream */
void sk_met_call_answered(struct sk_metrics *m,
                          struct sk_str call_id); /* a 2xx upstream */
void sk_met_call_failed(struct sk_metrics *m, struct sk_str call_id, int status);
void sk_met_call_bye(struct sk_metrics *m, struct sk_str call_id); /* a BYE proxied */
size_t sk_met_calls_active(struct sk_metrics *m);
/* Every active call to fn, oldest first, under the calls lock (fn must not call back). */
void sk_met_calls_walk(struct sk_metrics *m, sk_call_fn fn, void *arg);
const char *sk_call_state_name(enum sk_call_state s);

#endif
