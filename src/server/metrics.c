/* Metrics of sipkit serve: lock-free counters and histograms, active calls, loop lag,
 * Prometheus text. */
#include "server/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"

/* ---- Histograms ---- */

void sk_hist_init(struct sk_hist *h, const double *bounds, size_t nb)
{
    h->bounds = bounds;
    h->nb = nb < SK_HIST_MAX_BUCKETS ? nb : SK_HIST_MAX_BUCKETS;
    for (size_t i = 0; i <= SK_HIST_MAX_BUCKETS; i++)
        atomic_init(&h->bucket[i], 0);
    atomic_init(&h->sum_us, 0);
    atomic_init(&h->count, 0);
}

void sk_hist_observe_us(struct sk_hist *h, uint64_t us)
{
    double s = (double) us / 1e6;
    size_t i = 0;

    while (i < h->nb && s > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

/* ---- The text format ---- */

void sk_prom_family(struct sk_buf *b, const char *name, const char *type,
                    const char *help)
{
    sk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sk_prom_sample(struct sk_buf *b, const char *name, const char *labels,
                    uint64_t value)
{
    if (labels && *labels)
        sk_buf_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long) value);
    else
        sk_buf_printf(b, "%s %llu\n", name, (unsigned long long) value);
}

void sk_prom_sample_f(struct sk_buf *b, const char *name, const char *labels,
                      double value)
{
    if (labels && *labels)
        sk_buf_printf(b, "%s{%s} %.6f\n", name, labels, value);
    else
        sk_buf_printf(b, "%s %.6f\n", name, value);
}

void sk_prom_hist(struct sk_buf *b, const char *name, const char *labels,
                  const struct sk_hist *h)
{
    const char *sep = labels && *labels ? "," : "";
    uint64_t cum = 0, count;

    /* the count first: a bucket read after it may have grown, never the other way
     * round, so that no cumulative bucket ends above +Inf */
    count = atomic_load_explicit(&h->count, memory_order_relaxed);
    for (size_t i = 0; i < h->nb; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (cum > count) cum = count;
        sk_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels ? labels : "",
                      sep, h->bounds[i], (unsigned long long) cum);
    }
    sk_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels ? labels : "", sep,
                  (unsigned long long) count);
    if (labels && *labels) {
        sk_buf_printf(b, "%s_sum{%s} %.6f\n", name, labels,
                      (double) atomic_load_explicit(&h->sum_us, memory_order_relaxed) /
                          1e6);
        sk_buf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long) count);
    } else {
        sk_buf_printf(b, "%s_sum %.6f\n", name,
                      (double) atomic_load_explicit(&h->sum_us, memory_order_relaxed) /
                          1e6);
        sk_buf_printf(b, "%s_count %llu\n", name, (unsigned long long) count);
    }
}

/* ---- Labels ---- */

const char *sk_met_method_name(unsigned m)
{
    const char *n = m && m < SK_MET_METHODS ? sip_method_name((enum sip_method) m) : NULL;
    return n ? n : "other";
}

const char *sk_met_proto_name(unsigned p)
{
    switch (p) {
    case SIP_PROTO_UDP: return "udp";
    case SIP_PROTO_TCP: return "tcp";
    case SIP_PROTO_TLS: return "tls";
    case SIP_PROTO_WS: return "ws";
    }
    return "other";
}

int sk_met_class(int status)
{
    return status >= 100 && status < 700 ? status / 100 - 1 : -1;
}

/* ---- Protection rules ---- */

int sk_met_rule(struct sk_metrics *m, const char *name)
{
    size_t len = strlen(name);
    unsigned n = atomic_load(&m->nrules);

    if (len == 0 || len >= SK_MET_RULE_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(m->rule_name[i], name) == 0) return (int) i;
    }
    if (n == SK_MET_RULES_MAX) return -1;
    memcpy(m->rule_name[n], name, len + 1);
    atomic_store(&m->nrules, n + 1); /* the name is written before it is counted */
    return (int) n;
}

/* ---- Event-loop lag ---- */

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* A loop busy with other work fires its timers late: the lateness is the time a
 * datagram waits before the worker gets to it. Includes the loop's timer slack
 * (SK_LOOP_TIMER_SLACK_MS), the grid timers wait on. */
static void lag_fire(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct sk_met_lag *g = arg;
    uint64_t now = mono_us(), late = now > g->due_us ? now - g->due_us : 0;

    (void) t;
    atomic_store_explicit(&g->last_us, late, memory_order_relaxed);
    if (late > atomic_load_explicit(&g->max_us, memory_order_relaxed))
        atomic_store_explicit(&g->max_us, late, memory_order_relaxed);
    sk_hist_observe_us(&g->hist, late);
    g->due_us = now + SK_MET_LAG_INTERVAL_MS * 1000u;
    sk_timer_start(loop, &g->timer, SK_MET_LAG_INTERVAL_MS);
}

static void lag_start(struct sk_loop *loop, void *arg)
{
    struct sk_met_lag *g = arg;

    g->due_us = mono_us() + SK_MET_LAG_INTERVAL_MS * 1000u;
    sk_timer_start(loop, &g->timer, SK_MET_LAG_INTERVAL_MS);
}

static const double lag_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1};
static const double setup_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60};
static const double duration_bounds[] = {1,   5,   10,   30,   60,  120,
                                         300, 600, 1800, 3600, 7200};

int sk_metrics_new(struct sk_metrics **mp, struct sk_loop **loops, unsigned nloops)
{
    struct sk_metrics *m = calloc(1, sizeof(*m));

    if (!m) return ENOMEM;
    m->lag = calloc(nloops ? nloops : 1, sizeof(*m->lag));
    m->buckets = calloc(SK_MET_CALL_BUCKETS, sizeof(*m->buckets));
    if (!m->lag || !m->buckets || pthread_mutex_init(&m->calls_lock, NULL)) {
        free(m->lag);
        free(m->buckets);
        free(m);
        return ENOMEM;
    }
    m->nlag = nloops;
    for (unsigned i = 0; i < nloops; i++) {
        m->lag[i].loop = loops[i];
        sk_timer_init(&m->lag[i].timer, lag_fire, &m->lag[i]);
        sk_hist_init(&m->lag[i].hist, lag_bounds,
                     sizeof(lag_bounds) / sizeof(lag_bounds[0]));
    }
    sk_hist_init(&m->setup_ringing, setup_bounds,
                 sizeof(setup_bounds) / sizeof(setup_bounds[0]));
    sk_hist_init(&m->setup_answered, setup_bounds,
                 sizeof(setup_bounds) / sizeof(setup_bounds[0]));
    sk_hist_init(&m->duration, duration_bounds,
                 sizeof(duration_bounds) / sizeof(duration_bounds[0]));
    *mp = m;
    return 0;
}

int sk_metrics_start(struct sk_metrics *m)
{
    int err;

    for (unsigned i = 0; i < m->nlag; i++) {
        if ((err = sk_loop_post(m->lag[i].loop, lag_start, &m->lag[i]))) return err;
    }
    return 0;
}

/* ---- Active calls ---- */

struct sk_met_call {
    struct sk_met_call *hnext, *prev, *next;
    uint32_t h;
    enum sk_call_state state;
    uint64_t start_us, answer_us;
    char *from, *to;
    char call_id[];
};

static uint32_t call_hash(struct sk_str id)
{
    return (uint32_t) sk_hash_final(sk_hash_bytes(sk_hash_init(), id.p, id.len));
}

static struct sk_met_call **call_slot(struct sk_metrics *m, struct sk_str id, uint32_t h)
{
    struct sk_met_call **pp = &m->buckets[h % SK_MET_CALL_BUCKETS];

    for (; *pp; pp = &(*pp)->hnext) {
        if ((*pp)->h == h && sk_str_eq_cstr(id, (*pp)->call_id)) return pp;
    }
    return pp;
}

static void call_unlink(struct sk_metrics *m, struct sk_met_call *c)
{
    struct sk_met_call **pp = &m->buckets[c->h % SK_MET_CALL_BUCKETS];

    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        m->newest = c->prev;
    m->ncalls--;
    free(c->from);
    free(c->to);
    free(c);
}

static char *dup_str(struct sk_str s)
{
    char *p = malloc(s.len + 1);

    if (p) {
        if (s.len) memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Calls never ended (a BYE that went another way) leave after the maximum age. */
static void calls_prune(struct sk_metrics *m, uint64_t now)
{
    while (m->oldest &&
           (m->ncalls >= SK_MET_CALLS_MAX ||
            now - m->oldest->start_us > (uint64_t) SK_MET_CALL_MAX_AGE_S * 1000000u))
        call_unlink(m, m->oldest);
}

void sk_met_call_start(struct sk_metrics *m, struct sk_str call_id, struct sk_str from,
                       struct sk_str to)
{
    uint32_t h = call_hash(call_id);
    uint64_t now = mono_us();
    struct sk_met_call **pp, *c;

    if (!m || !sk_str_isset(call_id)) return;
    pthread_mutex_lock(&m->calls_lock);
    calls_prune(m, now);
    pp = call_slot(m, call_id, h);
    if (*pp) { /* the same call again (a fork coming back to us): counted once */
        pthread_mutex_unlock(&m->calls_lock);
        return;
    }
    c = calloc(1, sizeof(*c) + call_id.len + 1);
    if (c && (!(c->from = dup_str(from)) || !(c->to = dup_str(to)))) {
        free(c->from);
        free(c);
        c = NULL;
    }
    if (c) {
        memcpy(c->call_id, call_id.p, call_id.len);
        c->h = h;
        c->start_us = now;
        *pp = c;
        c->prev = m->newest;
        if (m->newest)
            m->newest->next = c;
        else
            m->oldest = c;
        m->newest = c;
        m->ncalls++;
    }
    pthread_mutex_unlock(&m->calls_lock);
    atomic_fetch_add_explicit(&m->calls_started, 1, memory_order_relaxed);
}

void sk_met_call_ringing(struct sk_metrics *m, struct sk_str call_id)
{
    struct sk_met_call *c;

    if (!m) return;
    pthread_mutex_lock(&m->calls_lock);
    c = *call_slot(m, call_id, call_hash(call_id));
    if (c && c->state == SK_CALL_TRYING) {
        c->state = SK_CALL_RINGING;
        sk_hist_observe_us(&m->setup_ringing, mono_us() - c->start_us);
    }
    pthread_mutex_unlock(&m->calls_lock);
}

void sk_met_call_answered(struct sk_metrics *m, struct sk_str call_id)
{
    struct sk_met_call *c;
    bool first = false;

    if (!m) return;
    pthread_mutex_lock(&m->calls_lock);
    c = *call_slot(m, call_id, call_hash(call_id));
    if (c && c->state != SK_CALL_ANSWERED) {
        first = true;
        c->state = SK_CALL_ANSWERED;
        c->answer_us = mono_us();
        sk_hist_observe_us(&m->setup_answered, c->answer_us - c->start_us);
    }
    pthread_mutex_unlock(&m->calls_lock);
    if (first) atomic_fetch_add_explicit(&m->calls_answered, 1, memory_order_relaxed);
}

void sk_met_call_failed(struct sk_metrics *m, struct sk_str call_id, int status)
{
    struct sk_met_call **pp;
    bool was = false;

    if (!m) return;
    pthread_mutex_lock(&m->calls_lock);
    pp = call_slot(m, call_id, call_hash(call_id));
    if (*pp && (*pp)->state != SK_CALL_ANSWERED) {
        call_unlink(m, *pp);
        was = true;
    }
    pthread_mutex_unlock(&m->calls_lock);
    if (was && status >= 300 && status < 300 + SK_MET_FAIL_CODES)
        atomic_fetch_add_explicit(&m->calls_failed[status - 300], 1,
                                  memory_order_relaxed);
}

void sk_met_call_bye(struct sk_metrics *m, struct sk_str call_id)
{
    struct sk_met_call **pp;
    bool ended = false;

    if (!m) return;
    pthread_mutex_lock(&m->calls_lock);
    pp = call_slot(m, call_id, call_hash(call_id));
    if (*pp && (*pp)->state == SK_CALL_ANSWERED) {
        sk_hist_observe_us(&m->duration, mono_us() - (*pp)->answer_us);
        call_unlink(m, *pp);
        ended = true;
    }
    pthread_mutex_unlock(&m->calls_lock);
    if (ended) atomic_fetch_add_explicit(&m->calls_ended, 1, memory_order_relaxed);
}

size_t sk_met_calls_active(struct sk_metrics *m)
{
    size_t n;

    pthread_mutex_lock(&m->calls_lock);
    calls_prune(m, mono_us());
    n = m->ncalls;
    pthread_mutex_unlock(&m->calls_lock);
    return n;
}

void sk_met_calls_walk(struct sk_metrics *m, sk_call_fn fn, void *arg)
{
    uint64_t now = mono_us();

    pthread_mutex_lock(&m->calls_lock);
    calls_prune(m, now);
    for (struct sk_met_call *c = m->oldest; c; c = c->next) {
        struct sk_call_info ci = {c->call_id, c->from, c->to, c->state,
                                  (now - c->start_us) / 1000u};
        fn(arg, &ci);
    }
    pthread_mutex_unlock(&m->calls_lock);
}

const char *sk_call_state_name(enum sk_call_state s)
{
    switch (s) {
    case SK_CALL_TRYING: return "trying";
    case SK_CALL_RINGING: return "ringing";
    case SK_CALL_ANSWERED: return "answered";
    }
    return "unknown";
}

void sk_metrics_free(struct sk_metrics *m)
{
    if (!m) return;
    while (m->oldest)
        call_unlink(m, m->oldest);
    pthread_mutex_destroy(&m->calls_lock);
    free(m->buckets);
    free(m->lag);
    free(m);
}
