/* Shared by the flow model tests: packets handed to a flow_model as the capture reader would. */
#ifndef SIPKIT_TESTS_FLOW_FEED_H
#define SIPKIT_TESTS_FLOW_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"

#include "flow/model.h"

#define T0_NS 1700000000000000000ull

struct feeder {
    struct flow_model *m;
    uint64_t frame;
};

static inline struct sk_sa addr(const char *ip, uint16_t port)
{
    struct sk_sa a;
    assert_int_equal(sk_sa_from_ip(&a, sk_str_cstr(ip), port), 0);
    return a;
}

/* One UDP datagram at t_ms after T0, numbered as the next frame. */
static inline uint64_t feed(struct feeder *f, double t_ms, const struct sk_sa *src,
                            const struct sk_sa *dst, const void *data, size_t len, bool is_sip)
{
    struct flow_packet p = {0};

    p.frame = p.first_frame = ++f->frame;
    p.ts_ns = T0_NS + (uint64_t) (t_ms * 1e6);
    p.src = *src;
    p.dst = *dst;
    p.transport = FLOW_UDP;
    p.ip_proto = 17;
    p.data = data;
    p.len = len;
    p.is_sip = is_sip;
    flow_model_feed(f->m, &p);
    return p.frame;
}

#endif
