/* IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5): holes, overlaps (first copy
 * wins), bounded and timed out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

static bool key_eq(const struct flow_frag_key *a, const struct flow_frag_key *b)
{
    return a->family == b->family && a->proto == b->proto && a->id == b->id &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

static bool block_get(const struct flow_frag *f, size_t b)
{
    return (f->covered[b / 8] >> (b % 8)) & 1u;
}

static void block_set(struct flow_frag *f, size_t b)
{
    f->covered[b / 8] |= (uint8_t) (1u << (b % 8));
}

static void unlink_frag(struct flow_frag_table *t, struct flow_frag *f)
{
    struct flow_frag **pp = &t->head;

    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp) *pp = f->next;
    t->pending--;
    t->bytes -= f->cap;
}

static void free_frag(struct flow_frag *f)
{
    free(f->data);
    free(f);
}

static void drop_frag(struct flow_capture *c, struct flow_frag *f, const char *why)
{
    flow_warn(c, f->first_frame, FLOW_PROB_FRAG,
              "IPv%u fragmented datagram (id 0x%x) %s, dropped", f->key.family, f->key.id,
              why);
    unlink_frag(&c->frags, f);
    free_frag(f);
}

void flow_frag_expire(struct flow_capture *c, bool all)
{
    struct flow_frag *f = c->frags.head, *next;

    for (; f; f = next) {
        next = f->next;
        if (all)
            drop_frag(c, f, "never completed");
        else if (c->now_ns - f->first_ns > c->lim.frag_timeout_ns &&
                 c->now_ns > f->first_ns)
            drop_frag(c, f, "not completed before the timeout");
    }
}

void flow_frag_clear(struct flow_frag_table *t)
{
    struct flow_frag *f = t->head, *next;

    for (; f; f = next) {
        next = f->next;
        free_frag(f);
    }
    t->head = NULL;
    t->pending = 0;
    t->bytes = 0;
}

static bool complete(const struct flow_frag *f)
{
    if (!f->have_last || !f->have_first) return false;
    for (size_t b = 0; b < (f->total + 7) / 8; b++)
        if (!block_get(f, b)) return false;
    return true;
}

static int find_or_make(struct flow_capture *c, const struct flow_frag_key *k,
                        struct flow_frag **fp)
{
    struct flow_frag_table *t = &c->frags;
    struct flow_frag *f, **tail = &t->head;

    for (f = t->head; f; f = f->next) {
        if (key_eq(&f->key, k)) {
            *fp = f;
            return 0;
        }
        tail = &f->next;
    }
    if (t->pending >= c->lim.frag_max_pending && t->head) {
        /* Make room by giving up the oldest: a flood of lone fragments must not
         * keep every later datagram from being reassembled. */
        drop_frag(c, t->head, "evicted (too many datagrams pending)");
        for (tail = &t->head; *tail; tail = &(*tail)->next)
            ;
    }
    f = calloc(1, sizeof(*f));
    if (!f) return ENOMEM;
    f->key = *k;
    f->first_frame = c->frame;
    f->first_ns = c->now_ns;
    *tail = f;
    t->pending++;
    *fp = f;
    return 0;
}

static int grow(struct flow_capture *c, struct flow_frag *f, size_t end)
{
    size_t cap;
    uint8_t *d;

    if (end <= f->cap) return 0;
    cap = f->cap ? f->cap : 2048;
    while (cap < end)
        cap *= 2;
    if (cap > FLOW_FRAG_MAX_DATAGRAM) cap = FLOW_FRAG_MAX_DATAGRAM;
    if (c->frags.bytes - f->cap + cap > c->lim.frag_max_bytes) return ENOSPC;
    d = realloc(f->data, cap);
    if (!d) return ENOMEM;
    c->frags.bytes += cap - f->cap;
    f->data = d;
    f->cap = cap;
    return 0;
}

int flow_frag_add(struct flow_capture *c, const struct flow_frag_key *k, size_t off,
                  const uint8_t *p, size_t len, bool more, uint8_t next_header,
                  struct flow_frag_done *done, const char **why)
{
    struct flow_frag *f;
    size_t end = off + len;
    bool differs = false;
    int rc;

    c->st.fragments++;
    flow_frag_expire(c, false);
    if (end > FLOW_FRAG_MAX_DATAGRAM) {
        *why = "fragment ends past 65535 bytes";
        return EBADMSG;
    }
    /* Every fragment but the last carries a multiple of 8 bytes (RFC 791). */
    if (more && (len == 0 || len % 8 != 0)) {
        *why = "non-final fragment not a multiple of 8 bytes";
        return EBADMSG;
    }
    rc = find_or_make(c, k, &f);
    if (rc) return rc;
    if (!more) {
        if (f->have_last && f->total != end) {
            drop_frag(c, f, "has two different ends");
            *why = NULL;
            return ENOSPC;
        }
        f->have_last = true;
        f->total = end;
    }
    if (f->have_last && end > f->total) {
        drop_frag(c, f, "has a fragment past its end");
        *why = NULL;
        return ENOSPC;
    }
    if (off == 0) {
        f->have_first = true;
        f->next_header = next_header;
    }
    if (c->frame < f->first_frame) f->first_frame = c->frame;
    if (f->nframes < FLOW_PACKET_MAX_FRAMES &&
        (!f->nframes || f->frames[f->nframes - 1] != c->frame))
        f->frames[f->nframes++] = c->frame;
    rc = grow(c, f, end);
    if (rc) {
        drop_frag(c, f,
                  rc == ENOSPC ? "over the reassembly memory limit" : "out of memory");
        *why = NULL;
        return ENOSPC;
    }
    /* Copy only the blocks nobody filled yet: the first copy wins. */
    for (size_t b = off / 8; b * 8 < end; b++) {
        size_t lo = b * 8, hi = lo + 8 < end ? lo + 8 : end;

        if (block_get(f, b)) {
            if (memcmp(f->data + lo, p + (lo - off), hi - lo) != 0) differs = true;
            continue;
        }
        memcpy(f->data + lo, p + (lo - off), hi - lo);
        block_set(f, b);
    }
    if (differs)
        flow_warn(c, c->frame, FLOW_PROB_FRAG,
                  "IPv%u fragment (id 0x%x) overlaps earlier data with other bytes; "
                  "the first copy is kept",
                  k->family, k->id);
    if (!complete(f)) return EAGAIN;
    unlink_frag(&c->frags, f);
    done->data = f->data;
    done->len = f->total;
    done->next_header = f->next_header;
    done->first_frame = f->first_frame;
    memcpy(done->frames, f->frames, f->nframes * sizeof(f->frames[0]));
    done->nframes = f->nframes;
    free(f);
    c->st.reassembled++;
    return 0;
}
