/* ICMP and ICMPv6 destination unreachable for `sipkit flow`: which datagram a host
 * refused (RFC 792, RFC 4443 §3.1), so a diagnosis can say "nobody listens there". */
#include <string.h>

#include "flow/flow_int.h"

/* What an ICMP error quotes: the refused datagram's IP header and at least the first
 * 8 bytes of its payload (RFC 792; RFC 4443 quotes as much as fits), enough for the
 * ports of UDP, TCP and SCTP. */
static bool quoted_v4(const uint8_t *q, size_t len, struct flow_packet *pk)
{
    size_t ihl;

    if (len < 20 || (q[0] >> 4) != 4) return false;
    ihl = (size_t) (q[0] & 0x0f) * 4;
    if (ihl < 20 || len < ihl + 4) return false;
    if ((flow_be16(q + 6) & 0x1fff) != 0) return false; /* not the first fragment */
    pk->icmp.proto = q[9];
    memset(&pk->icmp.src, 0, sizeof(pk->icmp.src));
    memset(&pk->icmp.dst, 0, sizeof(pk->icmp.dst));
    pk->icmp.src.u.in.sin_family = AF_INET;
    pk->icmp.dst.u.in.sin_family = AF_INET;
    memcpy(&pk->icmp.src.u.in.sin_addr, q + 12, 4);
    memcpy(&pk->icmp.dst.u.in.sin_addr, q + 16, 4);
    pk->icmp.src.len = pk->icmp.dst.len = sizeof(struct sockaddr_in);
    sk_sa_set_port(&pk->icmp.src, (uint16_t) flow_be16(q + ihl));
    sk_sa_set_port(&pk->icmp.dst, (uint16_t) flow_be16(q + ihl + 2));
    return true;
}

/* Only a quoted header whose transport follows the fixed header directly: a refused
 * datagram with extension headers is rare and left out. */
static bool quoted_v6(const uint8_t *q, size_t len, struct flow_packet *pk)
{
    if (len < 44 || (q[0] >> 4) != 6) return false;
    pk->icmp.proto = q[6];
    memset(&pk->icmp.src, 0, sizeof(pk->icmp.src));
    memset(&pk->icmp.dst, 0, sizeof(pk->icmp.dst));
    pk->icmp.src.u.in6.sin6_family = AF_INET6;
    pk->icmp.dst.u.in6.sin6_family = AF_INET6;
    memcpy(&pk->icmp.src.u.in6.sin6_addr, q + 8, 16);
    memcpy(&pk->icmp.dst.u.in6.sin6_addr, q + 24, 16);
    pk->icmp.src.len = pk->icmp.dst.len = sizeof(struct sockaddr_in6);
    sk_sa_set_port(&pk->icmp.src, (uint16_t) flow_be16(q + 40));
    sk_sa_set_port(&pk->icmp.dst, (uint16_t) flow_be16(q + 42));
    return true;
}

void flow_icmp_packet(struct flow_capture *c, const struct flow_ip *ip)
{
    struct flow_packet pk;
    bool v6 = ip->proto == 58, ok;

    memset(&pk, 0, sizeof(pk));
    /* RFC 792: type 3 destination unreachable; RFC 4443: type 1 */
    if (ip->len < 8 || ip->p[0] != (v6 ? 1 : 3)) {
        c->st.other_ip++;
        return;
    }
    ok = v6 ? quoted_v6(ip->p + 8, ip->len - 8, &pk)
            : quoted_v4(ip->p + 8, ip->len - 8, &pk);
    if (!ok || (pk.icmp.proto != 17 && pk.icmp.proto != 6 && pk.icmp.proto != 132)) {
        c->st.other_ip++;
        return;
    }
    pk.icmp.type = ip->p[0];
    pk.icmp.code = ip->p[1];
    pk.icmp.port_unreachable = v6 ? pk.icmp.code == 4 : pk.icmp.code == 3;
    pk.frame = c->frame;
    pk.first_frame = ip->first_frame ? ip->first_frame : c->frame;
    pk.ts_ns = c->now_ns;
    pk.src = ip->src;
    pk.dst = ip->dst;
    pk.transport = FLOW_ICMP;
    pk.ip_proto = ip->proto;
    pk.data = ip->p + 8;
    pk.len = ip->len - 8;
    pk.truncated = ip->len < ip->wire;
    c->st.icmp_unreach++;
    flow_emit(c, &pk);
}
