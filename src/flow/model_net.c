/* The network around the SIP of a capture: ICMP destination unreachable errors (who
 * refused what) and DNS queries with their replies (RFC 1035), for the diagnosis of
 * unreachable hops, dead media ports and slow name lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/model_int.h"

/* A reply is matched against this many latest queries; a retry within this time of a
 * query without reply (same client, name and type) counts on that query. */
#define DNS_MATCH_WINDOW 256
#define DNS_RETRY_NS (10ull * 1000000000)
/* An ICMP error for the same refused flow within this time is counted on the first. */
#define UNREACH_MERGE_NS (60ull * 1000000000)

void flow_net_free(struct flow_net *n)
{
    free(n->unreach);
    free(n->dns);
    memset(n, 0, sizeof(*n));
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc;
    void *q;

    if (need <= *cap) return 0;
    nc = *cap ? *cap * 2 : 32;
    while (nc < need)
        nc *= 2;
    q = realloc(*p, nc * elem);
    if (!q) return ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

void flow_net_icmp(struct flow_net *n, struct flow_model_counts *c,
                   const struct flow_packet *p)
{
    struct flow_unreach *u;

    for (size_t i = n->nunreach; i-- > 0 && n->nunreach - i <= 64;) {
        u = &n->unreach[i];
        if (u->proto == p->icmp.proto && sk_sa_equal(&u->src, &p->icmp.src) &&
            sk_sa_equal(&u->dst, &p->icmp.dst) &&
            p->ts_ns - u->ts_ns < UNREACH_MERGE_NS) {
            u->count++;
            return;
        }
    }
    if (n->nunreach >= FLOW_NET_MAX_UNREACH ||
        grow((void **) &n->unreach, &n->cap_unreach, n->nunreach + 1, sizeof(*u))) {
        n->dropped++;
        c->dropped_net++;
        return;
    }
    u = &n->unreach[n->nunreach++];
    memset(u, 0, sizeof(*u));
    u->frame = p->frame;
    u->ts_ns = p->ts_ns;
    u->reporter = p->src;
    u->src = p->icmp.src;
    u->dst = p->icmp.dst;
    u->proto = p->icmp.proto;
    u->port = p->icmp.port_unreachable;
    u->count = 1;
    c->icmp_unreach++;
}

/* RFC 1035 §4.1.2: the question's name as dotted text; false when it is malformed (or
 * compressed, which a question never needs). */
static bool dns_qname(const uint8_t *d, size_t len, size_t *off, char *out, size_t cap)
{
    size_t o = *off, w = 0;

    for (unsigned labels = 0; labels < 128; labels++) {
        size_t l;
        if (o >= len) return false;
        l = d[o++];
        if (l == 0) {
            if (w == 0 && cap > 1) out[w++] = '.';
            out[w < cap ? w : cap - 1] = '\0';
            *off = o;
            return true;
        }
        if (l > 63 || o + l > len) return false;
        if (w && w + 1 < cap) out[w++] = '.';
        for (size_t k = 0; k < l; k++) {
            uint8_t ch = d[o + k];
            if (w + 1 < cap) out[w++] = ch > 32 && ch < 127 ? (char) ch : '?';
        }
        o += l;
    }
    return false;
}

bool flow_net_dns(struct flow_net *n, struct flow_model_counts *c,
                  const struct flow_packet *p)
{
    uint16_t sport = sk_sa_port(&p->src), dport = sk_sa_port(&p->dst);
    const uint8_t *d = p->data;
    uint16_t id, flags, qd, an, qtype;
    size_t off = 12;
    char name[FLOW_MODEL_DNS_NAME_MAX];
    struct flow_dns *q;
    bool reply;

    if ((sport != 53 && dport != 53) || p->len < 12) return false;
    id = (uint16_t) (d[0] << 8 | d[1]);
    flags = (uint16_t) (d[2] << 8 | d[3]);
    qd = (uint16_t) (d[4] << 8 | d[5]);
    an = (uint16_t) (d[6] << 8 | d[7]);
    reply = flags & 0x8000;
    /* a standard query (opcode 0) with one question, in the right direction */
    if (((flags >> 11) & 0xf) != 0 || qd != 1 || (reply ? sport != 53 : dport != 53))
        return false;
    if (!dns_qname(d, p->len, &off, name, sizeof(name)) || off + 4 > p->len) return false;
    qtype = (uint16_t) (d[off] << 8 | d[off + 1]);
    if (reply) {
        for (size_t i = n->ndns; i-- > 0 && n->ndns - i <= DNS_MATCH_WINDOW;) {
            q = &n->dns[i];
            if (q->reply_frame || q->id != id || q->qtype != qtype ||
                !sk_sa_equal(&q->client, &p->dst) || strcmp(q->name, name) != 0)
                continue;
            q->reply_frame = p->frame;
            q->reply_ns = p->ts_ns;
            q->rcode = flags & 0xf;
            q->answers = an;
            return true;
        }
        return true; /* a reply to a query before the capture began */
    }
    for (size_t i = n->ndns; i-- > 0 && n->ndns - i <= DNS_MATCH_WINDOW;) {
        q = &n->dns[i];
        if (q->reply_frame || q->qtype != qtype || !sk_sa_equal(&q->client, &p->src) ||
            strcmp(q->name, name) != 0 || p->ts_ns - q->ts_ns > DNS_RETRY_NS)
            continue;
        q->retries++; /* resolvers retry with the same id or a new one, and may try the
                         next server: the reply answers the latest */
        q->id = id;
        q->server = p->dst;
        return true;
    }
    if (n->ndns >= FLOW_NET_MAX_DNS ||
        grow((void **) &n->dns, &n->cap_dns, n->ndns + 1, sizeof(*q))) {
        n->dropped++;
        c->dropped_net++;
        return true;
    }
    q = &n->dns[n->ndns++];
    memset(q, 0, sizeof(*q));
    q->frame = p->frame;
    q->ts_ns = p->ts_ns;
    q->client = p->src;
    q->server = p->dst;
    q->id = id;
    q->qtype = qtype;
    q->rcode = -1;
    snprintf(q->name, sizeof(q->name), "%s", name);
    c->dns++;
    return true;
}

const char *flow_dns_qtype_name(uint16_t qtype, char *buf, size_t size)
{
    switch (qtype) {
    case 1: return "A";
    case 5: return "CNAME";
    case 12: return "PTR";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 35: return "NAPTR";
    }
    snprintf(buf, size, "TYPE%u", qtype);
    return buf;
}

const char *flow_dns_rcode_name(int rcode)
{
    switch (rcode) {
    case -1: return "no reply";
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    }
    return "error";
}
