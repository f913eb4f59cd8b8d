/* TCP reassembly per direction (RFC 9293 §3.4 sequence numbers): in-order delivery,
 * retransmissions, overlaps, bounded out-of-order buffering, holes skipped. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

/* Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4). */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b);
}

static uint32_t hash_sa(uint32_t h, const struct sk_sa *a)
{
    const uint8_t *p;
    size_t n;

    if (a->u.sa.sa_family == AF_INET6) {
        p = (const uint8_t *) &a->u.in6.sin6_addr;
        n = 16;
    } else {
        p = (const uint8_t *) &a->u.in.sin_addr;
        n = 4;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ (sk_sa_port(a) & 0xff)) * 16777619u;
    return (h ^ (sk_sa_port(a) >> 8)) * 16777619u;
}

static size_t bucket(const struct sk_sa *src, const struct sk_sa *dst)
{
    return hash_sa(hash_sa(2166136261u, src), dst) % FLOW_TCP_HASH;
}

static void lru_unlink(struct flow_tcp_table *t, struct flow_half *h)
{
    if (h->older)
        h->older->newer = h->newer;
    else
        t->oldest = h->newer;
    if (h->newer)
        h->newer->older = h->older;
    else
        t->newest = h->older;
    h->older = h->newer = NULL;
}

static void lru_push(struct flow_tcp_table *t, struct flow_half *h)
{
    h->older = t->newest;
    h->newer = NULL;
    if (t->newest)
        t->newest->newer = h;
    else
        t->oldest = h;
    t->newest = h;
}

static void free_segs(struct flow_capture *c, struct flow_half *h)
{
    struct flow_seg *s = h->ooo, *next;

    for (; s; s = next) {
        next = s->next;
        free(s);
    }
    h->ooo = NULL;
    c->tcp.bytes -= h->ooo_bytes;
    h->ooo_bytes = 0;
    h->ooo_n = 0;
}

static void remove_half(struct flow_capture *c, struct flow_half *h)
{
    struct flow_tcp_table *t = &c->tcp;
    struct flow_half **pp = &t->hash[bucket(&h->src, &h->dst)];

    while (*pp && *pp != h)
        pp = &(*pp)->hnext;
    if (*pp) *pp = h->hnext;
    lru_unlink(t, h);
    t->n--;
    flow_app_close(c, h);
    free_segs(c, h);
    free(h);
}

static struct flow_half *find_half(struct flow_capture *c, const struct sk_sa *src,
                                   const struct sk_sa *dst)
{
    struct flow_half *h = c->tcp.hash[bucket(src, dst)];

    for (; h; h = h->hnext)
        if (sk_sa_equal(&h->src, src) && sk_sa_equal(&h->dst, dst)) return h;
    return NULL;
}

static void skip_hole(struct flow_capture *c, struct flow_half *h, bool flushing);

/* Deliver the buffered segments that now continue the stream. */
static void drain(struct flow_capture *c, struct flow_half *h, bool flushing)
{
    struct flow_seg *s;

    while ((s = h->ooo) != NULL && seq_diff(s->seq, h->next_seq) <= 0) {
        uint32_t old = h->next_seq - s->seq;

        h->ooo = s->next;
        h->ooo_n--;
        h->ooo_bytes -= s->len;
        c->tcp.bytes -= s->len;
        if (old < s->len) {
            flow_app_data(c, h, s->data + old, s->len - old, s->frame,
                          flushing ? s->frame : c->frame);
            h->next_seq += s->len - old;
        }
        free(s);
    }
}

/* The bytes between next_seq and the first buffered segment were never captured. */
static void skip_hole(struct flow_capture *c, struct flow_half *h, bool flushing)
{
    char pair[128];
    uint32_t n;

    if (!h->ooo) return;
    n = h->ooo->seq - h->next_seq;
    flow_warn(c, h->ooo->frame, FLOW_PROB_TCP_GAP,
              "TCP %s: %u bytes never captured, skipped",
              flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)), n);
    flow_app_gap(c, h, n);
    h->next_seq = h->ooo->seq;
    drain(c, h, flushing);
}

static int insert_piece(struct flow_capture *c, struct flow_half *h, struct flow_seg **at,
                        uint32_t seq, const uint8_t *p, uint32_t len, uint64_t frame,
                        uint64_t ns)
{
    struct flow_seg *s = malloc(sizeof(*s) + len);

    if (!s) return ENOMEM;
    s->seq = seq;
    s->len = len;
    s->frame = frame;
    s->ns = ns;
    memcpy(s->data, p, len);
    s->next = *at;
    *at = s;
    h->ooo_n++;
    h->ooo_bytes += len;
    c->tcp.bytes += len;
    return 0;
}

/* Buffer [seq, seq+len) minus what is buffered already (the first copy wins).
 * Offsets are relative to next_seq, where every buffered byte lies ahead. */
static int insert(struct flow_capture *c, struct flow_half *h, uint32_t seq,
                  const uint8_t *p, uint32_t len, bool *differs)
{
    struct flow_seg **at = &h->ooo;
    uint64_t cur = (uint32_t) (seq - h->next_seq), end = cur + len;

    while (cur < end) {
        struct flow_seg *s = *at;
        uint64_t a, b;

        if (!s)
            return insert_piece(c, h, at, h->next_seq + (uint32_t) cur,
                                p + (cur - (end - len)), (uint32_t) (end - cur), c->frame,
                                c->now_ns);
        a = (uint32_t) (s->seq - h->next_seq);
        b = a + s->len;
        if (b <= cur) {
            at = &s->next;
            continue;
        }
        if (a > cur) {
            uint64_t stop = a < end ? a : end;
            int rc = insert_piece(c, h, at, h->next_seq + (uint32_t) cur,
                                  p + (cur - (end - len)), (uint32_t) (stop - cur),
                                  c->frame, c->now_ns);
            if (rc) return rc;
            at = &(*at)->next;
            cur = stop;
            continue;
        }
        /* [cur, min(b, end)) is buffered already: compare. */
        {
            uint64_t stop = b < end ? b : end;

            if (memcmp(s->data + (cur - a), p + (cur - (end - len)), stop - cur) != 0)
                *differs = true;
            cur = stop;
            at = &s->next;
        }
    }
    return 0;
}

static struct flow_half *get_half(struct flow_capture *c, const struct flow_tcp_seg *sg)
{
    struct flow_tcp_table *t = &c->tcp;
    struct flow_half *h = find_half(c, &sg->src, &sg->dst);
    size_t b;

    if (h) {
        lru_unlink(t, h);
        lru_push(t, h);
        return h;
    }
    if (t->n >= c->lim.tcp_max_streams && t->oldest) {
        char pair[128];

        if (!t->oldest->closed)
            flow_warn(
                c, c->frame, FLOW_PROB_TCP_LIMIT,
                "too many TCP streams: the least recently seen (%s) is given up",
                flow_pair_str(&t->oldest->src, &t->oldest->dst, pair, sizeof(pair)));
        remove_half(c, t->oldest);
    }
    h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    h->src = sg->src;
    h->dst = sg->dst;
    b = bucket(&h->src, &h->dst);
    h->hnext = t->hash[b];
    t->hash[b] = h;
    lru_push(t, h);
    t->n++;
    c->st.tcp_streams++;
    return h;
}

static void flush_half(struct flow_capture *c, struct flow_half *h, bool flushing)
{
    while (h->ooo)
        skip_hole(c, h, flushing);
}

static void add_data(struct flow_capture *c, struct flow_half *h, uint32_t seq,
                     const uint8_t *p, uint32_t len)
{
    int32_t rel = seq_diff(seq, h->next_seq);
    bool differs = false;
    char pair[128];
    int rc;

    if (rel <= 0) {
        uint32_t old = h->next_seq - seq;

        if (old >= len) {
            c->st.tcp_retransmissions++;
            return;
        }
        p += old;
        len -= old;
        seq = h->next_seq;
        if (!h->ooo) {
            flow_app_data(c, h, p, len, c->frame, c->frame);
            h->next_seq += len;
            return;
        }
    }
    if (h->ooo_n >= c->lim.tcp_max_ooo_segments ||
        h->ooo_bytes + len > c->lim.tcp_max_ooo_bytes) {
        flow_warn(c, c->frame, FLOW_PROB_TCP_LIMIT,
                  "TCP %s: out-of-order buffer full, holes skipped",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
        flush_half(c, h, false);
        add_data(c, h, seq, p, len);
        return;
    }
    rc = insert(c, h, seq, p, len, &differs);
    if (differs)
        flow_warn(
            c, c->frame, FLOW_PROB_TCP_GAP,
            "TCP %s: segment overlaps earlier data with other bytes; the first copy "
            "is kept",
            flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
    if (rc)
        flow_warn(c, c->frame, FLOW_PROB_TCP_LIMIT, "TCP %s: out of memory, segment lost",
                  flow_pair_str(&h->src, &h->dst, pair, sizeof(pair)));
    drain(c, h, false);
}

void flow_tcp_segment(struct flow_capture *c, const struct flow_tcp_seg *sg)
{
    struct flow_half *h;
    uint32_t seq = sg->seq, len = (uint32_t) sg->len;

    /* A bare ACK (or FIN, RST) of a direction not tracked carries nothing to read:
     * no state for it, so the ACKs after a close do not open the stream again. */
    if (!sg->syn && len == 0 && !find_half(c, &sg->src, &sg->dst)) {
        if (sg->rst) {
            struct flow_half *r = find_half(c, &sg->dst, &sg->src);

            if (r) {
                flush_half(c, r, false);
                remove_half(c, r);
            }
        }
        return;
    }
    h = get_half(c, sg);
    if (!h) {
        flow_warn(c, c->frame, FLOW_PROB_TCP_LIMIT, "out of memory for a TCP stream");
        return;
    }
    h->last_ns = c->now_ns;
    if (sg->syn) {
        /* The SYN takes one sequence number (RFC 9293 §3.4). A SYN again (a
         * retransmitted SYN, or the 4-tuple reused) restarts the direction when
         * it names another initial sequence number. */
        if (h->have_seq && seq + 1 != h->next_seq && !h->ooo && h->app.len == 0)
            h->have_seq = false;
        if (!h->have_seq) {
            h->next_seq = seq + 1;
            h->have_seq = true;
            h->fin = h->closed = false;
        }
        seq++;
    } else if (!h->have_seq) {
        /* The capture began in the middle of the stream. */
        h->next_seq = seq;
        h->have_seq = true;
    }
    if (len) add_data(c, h, seq, sg->data, len);
    if (sg->missing) {
        /* The snaplen cut the segment: its tail can never be read. */
        uint32_t after = seq + len;

        if (seq_diff(after, h->next_seq) == 0 && !h->ooo) {
            flow_app_gap(c, h, sg->missing);
            h->next_seq += (uint32_t) sg->missing;
        }
    }
    /* A hole older than the bound will not be filled any more. */
    while (h->ooo && c->now_ns - h->ooo->ns > c->lim.tcp_gap_timeout_ns &&
           c->now_ns > h->ooo->ns)
        skip_hole(c, h, false);
    /* All streams together stay within their budget: the least recently seen go. */
    while (c->tcp.bytes > c->lim.tcp_max_bytes && c->tcp.oldest && c->tcp.oldest != h) {
        char pair[128];

        flow_warn(
            c, c->frame, FLOW_PROB_TCP_LIMIT,
            "TCP streams buffer over %zu bytes: %s given up", c->lim.tcp_max_bytes,
            flow_pair_str(&c->tcp.oldest->src, &c->tcp.oldest->dst, pair, sizeof(pair)));
        flush_half(c, c->tcp.oldest, false);
        remove_half(c, c->tcp.oldest);
    }
    if (sg->fin) {
        h->fin = true;
        h->fin_seq = seq + len + (uint32_t) sg->missing;
    }
    if (sg->rst) {
        struct flow_half *r = find_half(c, &sg->dst, &sg->src);

        flush_half(c, h, false);
        remove_half(c, h);
        if (r && r != h) { /* r == h when both ends have one address and port */
            flush_half(c, r, false);
            remove_half(c, r);
        }
        return;
    }
    if (h->fin && !h->closed && !h->ooo && seq_diff(h->next_seq, h->fin_seq) >= 0) {
        /* The direction is over; its sequence numbers stay, so that a late
         * retransmission is not read as a new stream. */
        flow_app_close(c, h);
        h->closed = true;
    }
}

void flow_tcp_flush(struct flow_capture *c)
{
    while (c->tcp.oldest) {
        struct flow_half *h = c->tcp.oldest;

        flush_half(c, h, true);
        remove_half(c, h);
    }
}

void flow_tcp_clear(struct flow_capture *c)
{
    while (c->tcp.oldest) {
        struct flow_half *h = c->tcp.oldest;

        free_segs(c, h);
        remove_half(c, h);
    }
}
