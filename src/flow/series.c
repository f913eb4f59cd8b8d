/* Per-stream quality over time (jitter and loss per interval) in a fixed number of
 * points, for the plots of `sipkit flow --html`. */
#include <string.h>

#include "flow/model.h"

/* Merge neighbouring points in pairs: half as many points, each twice as wide. */
static void series_halve(struct flow_series *se)
{
    uint32_t n = (se->n + 1) / 2;

    for (uint32_t i = 0; i < n; i++) {
        struct flow_series_point a = se->pt[2 * i], b = {0};

        if (2 * i + 1 < se->n) b = se->pt[2 * i + 1];
        se->pt[i].packets = a.packets + b.packets;
        se->pt[i].expected = a.expected + b.expected;
        se->pt[i].jitter_ms = a.jitter_ms > b.jitter_ms ? a.jitter_ms : b.jitter_ms;
    }
    memset(&se->pt[n], 0, (FLOW_SERIES_MAX - n) * sizeof(se->pt[0]));
    se->n = n;
    se->step_ns *= 2;
}

void flow_series_add(struct flow_series *se, uint64_t ts_ns, int64_t expected,
                     double jitter_ms)
{
    struct flow_series_point *p;
    uint64_t k;
    int64_t grew;

    if (!se->step_ns) {
        memset(se, 0, sizeof(*se));
        se->start_ns = ts_ns;
        se->step_ns = FLOW_SERIES_STEP_NS;
    }
    /* a capture's clock may step back: such a packet counts in the first point */
    k = ts_ns > se->start_ns ? (ts_ns - se->start_ns) / se->step_ns : 0;
    while (k >= FLOW_SERIES_MAX) {
        series_halve(se);
        k = (ts_ns - se->start_ns) / se->step_ns;
    }
    if (k + 1 > se->n) se->n = (uint32_t) k + 1;
    p = &se->pt[k];
    if (p->packets < UINT32_MAX) p->packets++;
    /* §A.1 resynchronisation can move the base back: only growth is counted */
    grew = expected - se->last_expected;
    if (grew > 0)
        p->expected += grew > (int64_t) (UINT32_MAX - p->expected)
                           ? UINT32_MAX - p->expected
                           : (uint32_t) grew;
    se->last_expected = expected;
    if (jitter_ms > (double) p->jitter_ms) p->jitter_ms = (float) jitter_ms;
}

uint32_t flow_series_lost(const struct flow_series_point *p)
{
    return p->expected > p->packets ? p->expected - p->packets : 0;
}
