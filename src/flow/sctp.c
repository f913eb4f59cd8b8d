/* SCTP (RFC 9260 §3, RFC 4168 for SIP): DATA chunks, and messages in several chunks put
 * together by TSN. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

static void free_msg(struct flow_sctp_msg *m)
{
    free(m->data);
    free(m);
}

static struct flow_sctp_msg **find(struct flow_capture *c, const struct sk_sa *src,
                                   const struct sk_sa *dst, uint16_t sid, uint16_t ssn)
{
    struct flow_sctp_msg **pp = &c->sctp.head;

    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->sid == sid && (*pp)->ssn == ssn && sk_sa_equal(&(*pp)->src, src) &&
            sk_sa_equal(&(*pp)->dst, dst))
            return pp;
    return pp;
}

static void unlink_msg(struct flow_capture *c, struct flow_sctp_msg **pp)
{
    struct flow_sctp_msg *m = *pp;

    *pp = m->next;
    c->sctp.n--;
    free_msg(m);
}

static void emit(struct flow_capture *c, const struct flow_packet *base, const uint8_t *p,
                 size_t len, uint64_t first)
{
    struct flow_packet pk = *base;

    pk.data = p;
    pk.len = len;
    pk.first_frame = first;
    pk.is_sip = flow_is_sip(p, len);
    flow_emit(c, &pk);
}

/* One chunk of a message in pieces: B starts it, E ends it, the TSNs in between
 * follow one another (RFC 9260 §6.9). */
static void piece(struct flow_capture *c, const struct flow_packet *base, uint8_t flags,
                  uint32_t tsn, uint16_t sid, uint16_t ssn, const uint8_t *p, size_t len)
{
    struct flow_sctp_msg **pp = find(c, &base->src, &base->dst, sid, ssn), *m = *pp;
    uint8_t *d;

    if (flags & 0x02) { /* B */
        if (m) unlink_msg(c, pp);
        if (c->sctp.n >= FLOW_SCTP_MAX_PENDING) {
            flow_warn(c, c->frame, FLOW_PROB_SCTP, "too many SCTP messages in pieces");
            return;
        }
        m = calloc(1, sizeof(*m));
        if (!m) return;
        m->src = base->src;
        m->dst = base->dst;
        m->sid = sid;
        m->ssn = ssn;
        m->first_frame = c->frame;
        m->next = c->sctp.head;
        c->sctp.head = m;
        c->sctp.n++;
        pp = &c->sctp.head;
    } else if (!m || tsn != m->next_tsn) {
        flow_warn(c, c->frame, FLOW_PROB_SCTP,
                  "SCTP DATA chunk (TSN %u) of a message whose start was not seen or "
                  "which lost a piece",
                  tsn);
        if (m) unlink_msg(c, pp);
        return;
    }
    if (m->len + len > c->lim.stream_max_buffer) {
        flow_warn(c, c->frame, FLOW_PROB_SCTP, "SCTP message over %zu bytes dropped",
                  c->lim.stream_max_buffer);
        unlink_msg(c, pp);
        return;
    }
    d = realloc(m->data, m->len + len + 1);
    if (!d) {
        unlink_msg(c, pp);
        return;
    }
    m->data = d;
    if (len) memcpy(m->data + m->len, p, len);
    m->len += len;
    m->next_tsn = tsn + 1;
    if (flags & 0x01) { /* E */
        emit(c, base, m->data, m->len, m->first_frame);
        unlink_msg(c, pp);
    }
}

void flow_sctp_packet(struct flow_capture *c, const struct flow_ip *ip)
{
    struct flow_packet pk;
    size_t off = 12;

    c->st.sctp++;
    if (ip->len < 12) {
        flow_warn(c, c->frame, ip->wire > ip->len ? FLOW_PROB_SNAPLEN : FLOW_PROB_SCTP,
                  "SCTP common header cut short");
        return;
    }
    memset(&pk, 0, sizeof(pk));
    pk.frame = pk.first_frame = c->frame;
    pk.ts_ns = c->now_ns;
    pk.src = ip->src;
    pk.dst = ip->dst;
    sk_sa_set_port(&pk.src, (uint16_t) flow_be16(ip->p));
    sk_sa_set_port(&pk.dst, (uint16_t) flow_be16(ip->p + 2));
    pk.transport = FLOW_SCTP;
    pk.ip_proto = 132;
    while (off + 4 <= ip->len) {
        uint8_t type = ip->p[off], flags = ip->p[off + 1];
        size_t clen = flow_be16(ip->p + off + 2);

        if (clen < 4 || clen > ip->len - off) {
            if (clen >= 4 && ip->wire > ip->len)
                flow_warn(c, c->frame, FLOW_PROB_SNAPLEN,
                          "SCTP chunk cut by the snaplen");
            else
                flow_warn(c, c->frame, FLOW_PROB_SCTP, "SCTP chunk length %zu wrong",
                          clen);
            return;
        }
        /* DATA: type, flags (U B E), length, TSN, stream id, stream sequence, PPID */
        if (type == 0 && clen >= 16) {
            const uint8_t *d = ip->p + off + 16;
            uint32_t tsn = flow_be32(ip->p + off + 4);
            uint16_t sid = (uint16_t) flow_be16(ip->p + off + 8),
                     ssn = (uint16_t) flow_be16(ip->p + off + 10);

            if ((flags & 0x03) == 0x03)
                emit(c, &pk, d, clen - 16, c->frame);
            else
                piece(c, &pk, flags, tsn, sid, ssn, d, clen - 16);
        }
        off += (clen + 3) & ~(size_t) 3;
    }
}

void flow_sctp_flush(struct flow_capture *c)
{
    while (c->sctp.head) {
        flow_warn(c, c->sctp.head->first_frame, FLOW_PROB_SCTP,
                  "SCTP message in pieces never completed");
        unlink_msg(c, &c->sctp.head);
    }
}

void flow_sctp_clear(struct flow_capture *c)
{
    while (c->sctp.head)
        unlink_msg(c, &c->sctp.head);
}
