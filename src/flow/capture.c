/* Capture reader: libpcap files and live capture, link layers, IPv4/IPv6, UDP and TCP
 * demultiplexing, SIP detection, HEP v3. */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow_int.h"

#define FLOW_MAX_NESTING 4  /* IP in IP, GRE, ERSPAN: encapsulations followed */
#define FLOW_MAX_IPV6_EXT 8 /* IPv6 extension headers followed */
#define FLOW_LIVE_SNAPLEN 262144
#define FLOW_LIVE_TIMEOUT_MS 100
#define FLOW_START_LINE_MAX_URI 8192

const struct flow_limits flow_limits_default = {
    .frag_max_pending = FLOW_FRAG_MAX_PENDING,
    .frag_max_bytes = FLOW_FRAG_MAX_BYTES,
    .frag_timeout_ns = FLOW_FRAG_TIMEOUT_NS,
    .tcp_max_streams = FLOW_TCP_MAX_STREAMS,
    .tcp_max_ooo_bytes = FLOW_TCP_MAX_OOO_BYTES,
    .tcp_max_ooo_segments = FLOW_TCP_MAX_OOO_SEGMENTS,
    .tcp_gap_timeout_ns = FLOW_TCP_GAP_TIMEOUT_NS,
    .stream_max_buffer = FLOW_STREAM_MAX_BUFFER,
    .ws_max_message = FLOW_WS_MAX_MESSAGE,
    .tcp_max_bytes = FLOW_TCP_MAX_BYTES,
};

const char *flow_transport_name(enum flow_transport t)
{
    switch (t) {
    case FLOW_UDP: return "UDP";
    case FLOW_TCP: return "TCP";
    case FLOW_WS: return "WS";
    case FLOW_HEP: return "HEP";
    case FLOW_SCTP: return "SCTP";
    case FLOW_ICMP: return "ICMP";
    }
    return "?";
}

const char *flow_problem_name(enum flow_problem p)
{
    static const char *const names[FLOW_PROB__COUNT] = {
        [FLOW_PROB_FILE] = "file",
        [FLOW_PROB_SNAPLEN] = "snaplen",
        [FLOW_PROB_LINK] = "link",
        [FLOW_PROB_IP] = "ip",
        [FLOW_PROB_FRAG] = "fragment",
        [FLOW_PROB_UDP] = "udp",
        [FLOW_PROB_TCP] = "tcp",
        [FLOW_PROB_TCP_GAP] = "tcp-gap",
        [FLOW_PROB_TCP_LIMIT] = "tcp-limit",
        [FLOW_PROB_SIP] = "sip-framing",
        [FLOW_PROB_TLS] = "tls",
        [FLOW_PROB_WS] = "websocket",
        [FLOW_PROB_HEP] = "hep",
        [FLOW_PROB_SCTP] = "sctp",
    };
    return (unsigned) p < FLOW_PROB__COUNT ? names[p] : "?";
}

/* ---- SIP by content ---- */

static bool token_char(uint8_t ch)
{
    /* RFC 3261 §25.1 token */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || (ch && strchr("-.!%*_+`'~", ch) != NULL);
}

/* Compare p with s case-insensitively as far as p goes: 1 all of s matched, -1 p
 * ended first while matching, 0 differs. */
static int match_ci(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        if (i >= len) return -1;
        if (sk_lower((char) p[i]) != sk_lower(s[i])) return 0;
    }
    return 1;
}

/* 1: p starts with a SIP start line (RFC 3261 §7.1, §7.2); 0: it does not; -1:
 * it could, more bytes will tell. */
int flow_sip_start(const uint8_t *p, size_t len);
int flow_sip_start(const uint8_t *p, size_t len)
{
    size_t i = 0, n, uri_start;
    bool colon = false;
    int r;

    while (i < len && (p[i] == '\r' || p[i] == '\n') && i < 8)
        i++;
    if (i >= len) return -1;
    r = match_ci(p + i, len - i, "SIP/2.0 ");
    if (r < 0) return -1;
    if (r > 0) {
        i += 8;
        for (n = 0; n < 3; n++, i++) {
            if (i >= len) return -1;
            if (p[i] < '0' || p[i] > '9') return 0;
        }
        if (i >= len) return -1;
        return p[i] == ' ' || p[i] == '\r' || p[i] == '\n';
    }
    for (n = 0; i < len && token_char(p[i]); i++, n++)
        if (n > 32) return 0;
    if (i >= len) return n <= 32 ? -1 : 0;
    if (n == 0 || p[i] != ' ') return 0;
    uri_start = ++i;
    for (; i < len && p[i] > ' ' && p[i] < 0x7f; i++) {
        if (p[i] == ':') colon = true;
        if (i - uri_start > FLOW_START_LINE_MAX_URI) return 0;
    }
    if (i >= len) return -1;
    if (i == uri_start || !colon || p[i] != ' ') return 0;
    i++;
    r = match_ci(p + i, len - i, "SIP/2.0");
    if (r <= 0) return r;
    i += 7;
    if (i >= len) return -1;
    return p[i] == '\r' || p[i] == '\n';
}

bool flow_is_sip(const uint8_t *buf, size_t len)
{
    return flow_sip_start(buf, len) == 1;
}

/* ---- reporting ---- */

void flow_warn(struct flow_capture *c, uint64_t frame, enum flow_problem kind,
               const char *fmt, ...)
{
    char text[512];
    va_list ap;

    if ((unsigned) kind < FLOW_PROB__COUNT) c->st.problems[kind]++;
    if (!c->sink || !c->sink->warning) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    c->sink->warning(c->sink->arg, frame, kind, text);
}

void flow_emit(struct flow_capture *c, const struct flow_packet *p)
{
    if (p->is_sip) {
        switch (p->transport) {
        case FLOW_UDP: c->st.sip_udp++; break;
        case FLOW_TCP: c->st.sip_tcp++; break;
        case FLOW_WS: c->st.sip_ws++; break;
        case FLOW_HEP: c->st.sip_hep++; break;
        case FLOW_SCTP: c->st.sip_sctp++; break;
        case FLOW_ICMP: break;
        }
    } else if (p->transport == FLOW_UDP) {
        c->st.other_udp++;
    }
    if (c->sink && c->sink->packet) c->sink->packet(c->sink->arg, p);
}

const char *flow_pair_str(const struct sk_sa *a, const struct sk_sa *b, char *buf,
                          size_t size)
{
    char x[64], y[64];

    snprintf(buf, size, "%s -> %s", sk_sa_str(a, x, sizeof(x)),
             sk_sa_str(b, y, sizeof(y)));
    return buf;
}

/* ---- decoding ---- */

static void decode_ip(struct flow_capture *c, const uint8_t *p, size_t len, size_t wire,
                      int depth);
static void decode_ether(struct flow_capture *c, const uint8_t *p, size_t len,
                         size_t wire, int depth);

static void sa4(struct sk_sa *a, const uint8_t *ip)
{
    memset(a, 0, sizeof(*a));
    a->u.in.sin_family = AF_INET;
    memcpy(&a->u.in.sin_addr, ip, 4);
    a->len = sizeof(a->u.in);
}

static void sa6(struct sk_sa *a, const uint8_t *ip)
{
    memset(a, 0, sizeof(*a));
    a->u.in6.sin6_family = AF_INET6;
    memcpy(&a->u.in6.sin6_addr, ip, 16);
    a->len = sizeof(a->u.in6);
}

void flow_hep_deliver(struct flow_capture *c, const struct flow_packet *outer)
{
    struct flow_hep h;
    struct flow_packet pk;
    const char *why = "?";
    char pair[128];

    if (flow_hep_parse(outer->data, outer->len, &h, &why) != 0) {
        flow_warn(c, c->frame, FLOW_PROB_HEP, "HEP3 packet %s: %s",
                  flow_pair_str(&outer->src, &outer->dst, pair, sizeof(pair)), why);
        return;
    }
    pk = *outer;
    pk.src = h.src;
    pk.dst = h.dst;
    pk.transport = FLOW_HEP;
    pk.ip_proto = h.ip_proto;
    if (h.has_ts) pk.ts_ns = h.ts_ns;
    pk.data = h.payload;
    pk.len = h.plen;
    /* Capture protocol type 1 is SIP; the content decides for the rest. */
    pk.is_sip =
        flow_is_sip(h.payload, h.plen) && (h.proto_type == 1 || h.proto_type == 0);
    pk.truncated = false;
    flow_emit(c, &pk);
}

static void decode_udp(struct flow_capture *c, const struct flow_ip *ip)
{
    struct flow_packet pk;
    size_t ulen, have;

    c->st.udp++;
    if (ip->len < 8) {
        if (ip->wire >= 8)
            flow_warn(c, c->frame, FLOW_PROB_SNAPLEN, "UDP header cut by the snaplen");
        else
            flow_warn(c, c->frame, FLOW_PROB_UDP, "UDP header shorter than 8 bytes");
        return;
    }
    ulen = flow_be16(ip->p + 4);
    if (ulen < 8 || ulen > ip->wire) {
        flow_warn(c, c->frame, FLOW_PROB_UDP,
                  "UDP length %zu outside the IP payload of %zu bytes", ulen, ip->wire);
        if (ulen < 8) return;
        ulen = ip->wire;
    }
    have = ulen < ip->len ? ulen : ip->len;
    memset(&pk, 0, sizeof(pk));
    pk.frame = c->frame;
    pk.first_frame = ip->first_frame ? ip->first_frame : c->frame;
    pk.frames = ip->frames;
    pk.nframes = ip->nframes;
    pk.ts_ns = c->now_ns;
    pk.src = ip->src;
    pk.dst = ip->dst;
    sk_sa_set_port(&pk.src, (uint16_t) flow_be16(ip->p));
    sk_sa_set_port(&pk.dst, (uint16_t) flow_be16(ip->p + 2));
    pk.transport = FLOW_UDP;
    pk.ip_proto = 17;
    pk.data = ip->p + 8;
    pk.len = have - 8;
    pk.truncated = have < ulen;
    if (pk.len >= 4 && memcmp(pk.data, "HEP3", 4) == 0 && !pk.truncated) {
        flow_hep_deliver(c, &pk);
        return;
    }
    pk.is_sip = flow_is_sip(pk.data, pk.len);
    flow_emit(c, &pk);
}

static void decode_tcp(struct flow_capture *c, const struct flow_ip *ip)
{
    struct flow_tcp_seg s;
    size_t off;
    uint8_t flags;

    c->st.tcp++;
    if (ip->len < 20) {
        if (ip->wire >= 20)
            flow_warn(c, c->frame, FLOW_PROB_SNAPLEN, "TCP header cut by the snaplen");
        else
            flow_warn(c, c->frame, FLOW_PROB_TCP, "TCP header shorter than 20 bytes");
        return;
    }
    off = (size_t) (ip->p[12] >> 4) * 4;
    if (off < 20 || off > ip->wire) {
        flow_warn(c, c->frame, FLOW_PROB_TCP, "TCP data offset %zu outside the segment",
                  off);
        return;
    }
    if (off > ip->len) {
        flow_warn(c, c->frame, FLOW_PROB_SNAPLEN, "TCP options cut by the snaplen");
        return;
    }
    flags = ip->p[13];
    memset(&s, 0, sizeof(s));
    s.src = ip->src;
    s.dst = ip->dst;
    sk_sa_set_port(&s.src, (uint16_t) flow_be16(ip->p));
    sk_sa_set_port(&s.dst, (uint16_t) flow_be16(ip->p + 2));
    s.seq = flow_be32(ip->p + 4);
    s.fin = flags & 0x01;
    s.syn = flags & 0x02;
    s.rst = flags & 0x04;
    s.data = ip->p + off;
    s.len = ip->len - off;
    s.missing = ip->wire - ip->len;
    flow_tcp_segment(c, &s);
}

/* GRE (RFC 2784, RFC 2890) with IP, transparent Ethernet bridging or ERSPAN inside. */
static void decode_gre(struct flow_capture *c, const struct flow_ip *ip, int depth)
{
    const uint8_t *p = ip->p;
    size_t len = ip->len, hl = 4;
    uint32_t flags, type;
    bool seq;

    if (len < 4) return;
    flags = flow_be16(p);
    type = flow_be16(p + 2);
    seq = flags & 0x1000;
    hl += (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (seq ? 4 : 0);
    if ((flags & 0x0007) != 0 || hl > len) {
        c->st.other_ip++;
        return;
    }
    p += hl;
    len -= hl;
    switch (type) {
    case 0x0800:
    case 0x86dd: decode_ip(c, p, len, len + (ip->wire - ip->len), depth + 1); return;
    case 0x6558: decode_ether(c, p, len, len + (ip->wire - ip->len), depth + 1); return;
    case 0x88be: /* ERSPAN type II has an 8-byte header when the S bit is set; type I none
                  */
        if (seq) {
            if (len < 8) return;
            p += 8;
            len -= 8;
        }
        decode_ether(c, p, len, len + (ip->wire - ip->len), depth + 1);
        return;
    case 0x22eb: { /* ERSPAN type III: 12 bytes, 8 more with the O bit */
        size_t eh = 12;

        if (len < 12) return;
        if (p[11] & 0x01) eh += 8;
        if (len < eh) return;
        decode_ether(c, p + eh, len - eh, len - eh + (ip->wire - ip->len), depth + 1);
        return;
    }
    default: c->st.other_ip++; return;
    }
}

static void decode_l4(struct flow_capture *c, const struct flow_ip *ip, int depth)
{
    switch (ip->proto) {
    case 17: decode_udp(c, ip); break;
    case 6: decode_tcp(c, ip); break;
    case 132: flow_sctp_packet(c, ip); break;
    case 4:
    case 41: decode_ip(c, ip->p, ip->len, ip->wire, depth + 1); break;
    case 47: decode_gre(c, ip, depth); break;
    case 1:
    case 58: flow_icmp_packet(c, ip); break;
    default: c->st.other_ip++; break;
    }
}

static void frag_result(struct flow_capture *c, struct flow_ip *ip, int rc,
                        struct flow_frag_done *done, const char *why, int depth, bool v6)
{
    if (rc == EBADMSG) {
        flow_warn(c, c->frame, FLOW_PROB_FRAG, "IPv%c fragment dropped: %s",
                  v6 ? '6' : '4', why);
        return;
    }
    if (rc == ENOMEM) {
        flow_warn(c, c->frame, FLOW_PROB_FRAG, "IP fragment dropped: out of memory");
        return;
    }
    if (rc) return;
    ip->p = done->data;
    ip->len = ip->wire = done->len;
    ip->first_frame = done->first_frame;
    ip->frames = done->frames;
    ip->nframes = done->nframes;
    if (v6) ip->proto = done->next_header;
    decode_l4(c, ip, depth);
    free(done->data);
}

static void decode_ipv4(struct flow_capture *c, const uint8_t *p, size_t len, size_t wire,
                        int depth)
{
    struct flow_ip ip;
    size_t hl, total;
    uint32_t fo;

    c->st.ipv4++;
    if (len < 20) {
        flow_warn(c, c->frame, wire > len ? FLOW_PROB_SNAPLEN : FLOW_PROB_IP,
                  "IPv4 header cut short (%zu bytes)", len);
        return;
    }
    hl = (size_t) (p[0] & 0x0f) * 4;
    total = flow_be16(p + 2);
    if (hl < 20 || total < hl || hl > len) {
        flow_warn(c, c->frame, FLOW_PROB_IP,
                  "IPv4 header length %zu or total length %zu wrong", hl, total);
        return;
    }
    if (total > wire) {
        flow_warn(c, c->frame, FLOW_PROB_IP,
                  "IPv4 total length %zu past the end of the frame (%zu bytes)", total,
                  wire);
        total = wire;
    }
    if (wire > total) wire = total; /* Ethernet padding */
    if (len > total) len = total;
    memset(&ip, 0, sizeof(ip));
    sa4(&ip.src, p + 12);
    sa4(&ip.dst, p + 16);
    ip.proto = p[9];
    ip.p = p + hl;
    ip.len = len - hl;
    ip.wire = wire - hl;
    fo = flow_be16(p + 6);
    if (fo & 0x3fff) {
        struct flow_frag_key k;
        struct flow_frag_done done;
        const char *why = NULL;
        int rc;

        if (ip.len < ip.wire) {
            flow_warn(c, c->frame, FLOW_PROB_FRAG,
                      "IPv4 fragment cut by the snaplen: cannot be reassembled");
            return;
        }
        memset(&k, 0, sizeof(k));
        k.family = 4;
        k.proto = ip.proto;
        memcpy(k.src, p + 12, 4);
        memcpy(k.dst, p + 16, 4);
        k.id = flow_be16(p + 4);
        rc = flow_frag_add(c, &k, (size_t) (fo & 0x1fff) * 8, ip.p, ip.len, fo & 0x2000,
                           0, &done, &why);
        frag_result(c, &ip, rc, &done, why, depth, false);
        return;
    }
    decode_l4(c, &ip, depth);
}

static void decode_ipv6(struct flow_capture *c, const uint8_t *p, size_t len, size_t wire,
                        int depth)
{
    struct flow_ip ip;
    size_t plen, off = 40;
    uint8_t nh;

    c->st.ipv6++;
    if (len < 40) {
        flow_warn(c, c->frame, wire > len ? FLOW_PROB_SNAPLEN : FLOW_PROB_IP,
                  "IPv6 header cut short (%zu bytes)", len);
        return;
    }
    plen = flow_be16(p + 4);
    if (plen == 0) {
        flow_warn(c, c->frame, FLOW_PROB_IP, "IPv6 jumbogram or empty payload, skipped");
        return;
    }
    if (40 + plen > wire) {
        flow_warn(c, c->frame, FLOW_PROB_IP,
                  "IPv6 payload length %zu past the end of the frame", plen);
        plen = wire - 40;
    }
    wire = 40 + plen;
    if (len > wire) len = wire;
    memset(&ip, 0, sizeof(ip));
    sa6(&ip.src, p + 8);
    sa6(&ip.dst, p + 24);
    nh = p[6];
    /* RFC 8200 §4: follow the extension headers to the upper layer. */
    for (int i = 0; i < FLOW_MAX_IPV6_EXT; i++) {
        size_t el;

        if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
            if (off + 2 > len) goto cut;
            el = nh == 51 ? ((size_t) p[off + 1] + 2) * 4 : ((size_t) p[off + 1] + 1) * 8;
            if (off + el > len) goto cut;
            nh = p[off];
            off += el;
            continue;
        }
        if (nh == 44) {
            struct flow_frag_key k;
            struct flow_frag_done done;
            const char *why = NULL;
            uint32_t fo;
            int rc;

            if (off + 8 > len) goto cut;
            if (len < wire) {
                flow_warn(c, c->frame, FLOW_PROB_FRAG,
                          "IPv6 fragment cut by the snaplen: cannot be reassembled");
                return;
            }
            fo = flow_be16(p + off + 2);
            memset(&k, 0, sizeof(k));
            k.family = 6;
            memcpy(k.src, p + 8, 16);
            memcpy(k.dst, p + 24, 16);
            k.id = flow_be32(p + off + 4);
            ip.p = p + off + 8;
            ip.len = ip.wire = len - off - 8;
            if ((fo & 0xfff8) == 0 && !(fo & 1)) {
                /* An atomic fragment (RFC 6946): no reassembly needed. */
                nh = p[off];
                off += 8;
                continue;
            }
            rc = flow_frag_add(c, &k, fo & 0xfff8, ip.p, ip.len, fo & 1, p[off], &done,
                               &why);
            frag_result(c, &ip, rc, &done, why, depth, true);
            return;
        }
        break;
    }
    ip.proto = nh;
    ip.p = p + off;
    ip.len = len - off;
    ip.wire = wire - off;
    decode_l4(c, &ip, depth);
    return;
cut:
    flow_warn(c, c->frame, wire > len ? FLOW_PROB_SNAPLEN : FLOW_PROB_IP,
              "IPv6 extension header cut short");
}

static void decode_ip(struct flow_capture *c, const uint8_t *p, size_t len, size_t wire,
                      int depth)
{
    if (depth > FLOW_MAX_NESTING) {
        c->st.other_ip++;
        return;
    }
    if (len < 1) {
        flow_warn(c, c->frame, wire ? FLOW_PROB_SNAPLEN : FLOW_PROB_IP,
                  "empty IP packet");
        return;
    }
    switch (p[0] >> 4) {
    case 4: decode_ipv4(c, p, len, wire, depth); break;
    case 6: decode_ipv6(c, p, len, wire, depth); break;
    default:
        flow_warn(c, c->frame, FLOW_PROB_IP, "IP version %u, not 4 or 6", p[0] >> 4);
        break;
    }
}

/* An Ethernet type: IPv4, IPv6, or something not followed. */
static void decode_ethertype(struct flow_capture *c, uint32_t type, const uint8_t *p,
                             size_t len, size_t wire, int depth)
{
    if (type == 0x0800 || type == 0x86dd) {
        decode_ip(c, p, len, wire, depth);
    } else if (type == 0x8864 && len >= 8) {
        /* PPPoE session (RFC 2516 §4): 6 header bytes, then the PPP protocol. */
        uint32_t ppp = flow_be16(p + 6);

        if (ppp == 0x0021 || ppp == 0x0057)
            decode_ip(c, p + 8, len - 8, wire - 8, depth);
        else
            c->st.other_ip++;
    } else {
        c->st.other_ip++;
    }
}

static void decode_ether(struct flow_capture *c, const uint8_t *p, size_t len,
                         size_t wire, int depth)
{
    size_t off = 12;
    uint32_t type;

    if (depth > FLOW_MAX_NESTING) return;
    for (int tags = 0;; tags++) {
        if (off + 2 > len) {
            flow_warn(c, c->frame, wire > len ? FLOW_PROB_SNAPLEN : FLOW_PROB_LINK,
                      "Ethernet header cut short");
            return;
        }
        type = flow_be16(p + off);
        off += 2;
        /* 802.1Q, 802.1ad (QinQ) and the old 0x9100: 4-byte tags before the type. */
        if ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 4) {
            off += 2;
            continue;
        }
        break;
    }
    decode_ethertype(c, type, p + off, len - off, wire - off, depth);
}

static void decode_frame(struct flow_capture *c, const uint8_t *p, size_t len,
                         size_t wire)
{
    size_t hl;

    switch (c->linktype) {
    case DLT_EN10MB: decode_ether(c, p, len, wire, 0); return;
    case DLT_LINUX_SLL:
        /* type, ARPHRD, address length, 8 address bytes, protocol */
        hl = 16;
        if (len < hl) break;
        decode_ethertype(c, flow_be16(p + 14), p + hl, len - hl, wire - hl, 0);
        return;
    case DLT_LINUX_SLL2:
        /* protocol, reserved, interface index, ARPHRD, packet type, address length,
         * address */
        hl = 20;
        if (len < hl) break;
        decode_ethertype(c, flow_be16(p), p + hl, len - hl, wire - hl, 0);
        return;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6: decode_ip(c, p, len, wire, 0); return;
    case DLT_NULL:
    case DLT_LOOP:
        /* A 4-byte address family in the writer's byte order (NULL) or network
         * order (LOOP); its values differ between systems, so the IP version
         * nibble decides. */
        hl = 4;
        if (len < hl) break;
        decode_ip(c, p + hl, len - hl, wire - hl, 0);
        return;
    default:
        flow_warn(c, c->frame, FLOW_PROB_LINK, "link type %d not supported", c->linktype);
        return;
    }
    flow_warn(c, c->frame, wire > len ? FLOW_PROB_SNAPLEN : FLOW_PROB_LINK,
              "link-layer header cut short (%zu bytes)", len);
}

void flow_capture_feed(struct flow_capture *c, const struct flow_sink *sink,
                       uint64_t ts_ns, const uint8_t *data, size_t caplen, size_t len)
{
    c->sink = sink;
    c->frame++;
    c->now_ns = ts_ns;
    if (c->st.frames++ == 0) c->st.first_ns = ts_ns;
    c->st.last_ns = ts_ns;
    c->st.bytes += caplen;
    if (len < caplen) len = caplen;
    if (caplen < len)
        flow_warn(c, c->frame, FLOW_PROB_SNAPLEN,
                  "frame cut by the snaplen: %zu of %zu bytes captured", caplen, len);
    decode_frame(c, data, caplen, len);
}

void flow_capture_flush(struct flow_capture *c, const struct flow_sink *sink)
{
    c->sink = sink;
    flow_tcp_flush(c);
    flow_sctp_flush(c);
    flow_frag_expire(c, true);
}

/* ---- construction ---- */

int flow_capture_new(struct flow_capture **cp, int linktype,
                     const struct flow_limits *limits)
{
    struct flow_capture *c = calloc(1, sizeof(*c));

    if (!c) return ENOMEM;
    c->msg = malloc(sizeof(*c->msg));
    if (!c->msg) {
        free(c);
        return ENOMEM;
    }
    sip_msg_init(c->msg);
    c->lim = limits ? *limits : flow_limits_default;
    c->linktype = linktype;
    *cp = c;
    return 0;
}

void flow_capture_close(struct flow_capture *c)
{
    if (!c) return;
    c->sink = NULL;
    flow_tcp_clear(c);
    flow_sctp_clear(c);
    flow_frag_clear(&c->frags);
    if (c->pcap) pcap_close(c->pcap);
    sip_msg_release(c->msg);
    free(c->msg);
    free(c);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

static int adopt(struct flow_capture **cp, pcap_t *p, bool live,
                 const struct flow_limits *l, char *err, size_t errlen)
{
    struct flow_capture *c;
    int rc = flow_capture_new(&c, pcap_datalink(p), l);

    if (rc) {
        pcap_close(p);
        set_err(err, errlen, "out of memory");
        return rc;
    }
    c->pcap = p;
    c->live = live;
    *cp = c;
    return 0;
}

int flow_capture_open_file(struct flow_capture **cp, const char *path,
                           const struct flow_limits *limits, char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p;
    FILE *fp;

    fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp) {
        int e = errno;

        set_err(err, errlen, strerror(e));
        return e == ENOENT ? ENOENT : EIO;
    }
    p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (!p) {
        if (fp != stdin) fclose(fp);
        set_err(err, errlen, eb[0] ? eb : "not a capture file");
        return EINVAL;
    }
    return adopt(cp, p, false, limits, err, errlen);
}

int flow_capture_open_fp(struct flow_capture **cp, FILE *fp,
                         const struct flow_limits *limits, char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p =
        pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, eb);

    if (!p) {
        fclose(fp);
        set_err(err, errlen, eb[0] ? eb : "not a capture file");
        return EINVAL;
    }
    return adopt(cp, p, false, limits, err, errlen);
}

int flow_capture_open_live(struct flow_capture **cp, const char *iface,
                           const char *filter, const struct flow_limits *limits,
                           char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    pcap_t *p = pcap_create(iface, eb);
    int rc;

    if (!p) {
        set_err(err, errlen, eb);
        return EINVAL;
    }
    pcap_set_snaplen(p, FLOW_LIVE_SNAPLEN);
    pcap_set_promisc(p, 0);
    pcap_set_timeout(p, FLOW_LIVE_TIMEOUT_MS);
    pcap_set_immediate_mode(p, 1);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    rc = pcap_activate(p);
    if (rc < 0) {
        set_err(err, errlen, rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc));
        pcap_close(p);
        return rc == PCAP_ERROR_PERM_DENIED ? EPERM : EINVAL;
    }
    if (filter && *filter) {
        if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            set_err(err, errlen, pcap_geterr(p));
            pcap_close(p);
            return EINVAL;
        }
        rc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            set_err(err, errlen, pcap_geterr(p));
            pcap_close(p);
            return EINVAL;
        }
    }
    /* Non-blocking reads and a poll with a timeout: in immediate mode a blocking
     * read on Linux waits for a packet however long, past every bound. */
    if (pcap_setnonblock(p, 1, eb) != 0 || pcap_get_selectable_fd(p) < 0) {
        set_err(err, errlen, eb[0] ? eb : "cannot poll this interface");
        pcap_close(p);
        return EINVAL;
    }
    return adopt(cp, p, true, limits, err, errlen);
}

void flow_capture_stop(struct flow_capture *c)
{
    c->stop = 1;
    if (c->pcap) pcap_breakloop(c->pcap);
}

static uint64_t mono_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

int flow_capture_run(struct flow_capture *c, const struct flow_sink *sink,
                     const struct flow_run_opts *opts)
{
    uint64_t max_frames = opts ? opts->max_frames : 0;
    uint64_t deadline =
        opts && opts->max_seconds ? mono_ns() + opts->max_seconds * 1000000000u : 0;
    int ret = 0;

    c->sink = sink;
    if (!c->pcap) return EINVAL;
    while (!c->stop) {
        struct pcap_pkthdr *hdr;
        const u_char *data;
        int rc;

        if (max_frames && c->st.frames >= max_frames) break;
        if (deadline && mono_ns() >= deadline) break;
        rc = pcap_next_ex(c->pcap, &hdr, &data);
        if (rc == 1) {
            uint64_t ts =
                (uint64_t) hdr->ts.tv_sec * 1000000000u + (uint64_t) hdr->ts.tv_usec;

            flow_capture_feed(c, sink, ts, data, hdr->caplen, hdr->len);
            continue;
        }
        if (rc == 0) {
            /* live: nothing yet; wait a little for more */
            struct pollfd pfd = {.fd = pcap_get_selectable_fd(c->pcap), .events = POLLIN};

            if (poll(&pfd, 1, FLOW_LIVE_TIMEOUT_MS) < 0 && errno != EINTR) {
                ret = EIO;
                break;
            }
            continue;
        }
        if (rc == PCAP_ERROR_BREAK) break; /* end of the file, or flow_capture_stop */
        /* A damaged or truncated file: libpcap cannot read past it. */
        flow_warn(c, c->frame + 1, FLOW_PROB_FILE, "%s", pcap_geterr(c->pcap));
        if (c->live) ret = EIO;
        break;
    }
    flow_capture_flush(c, sink);
    return ret;
}

const struct flow_stats *flow_capture_stats(const struct flow_capture *c)
{
    return &c->st;
}

int flow_capture_linktype(const struct flow_capture *c)
{
    return c->linktype;
}
