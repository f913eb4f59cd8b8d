/* HEP v3 (the Homer Encapsulation Protocol, version 3): chunks decoded into addresses,
 * time and payload. */
#include <errno.h>
#include <string.h>

#include "flow/flow_int.h"

/* Vendor 0 (generic) chunk types of HEP v3. */
enum {
    HEP_FAMILY = 0x0001,
    HEP_IP_PROTO = 0x0002,
    HEP_SRC4 = 0x0003,
    HEP_DST4 = 0x0004,
    HEP_SRC6 = 0x0005,
    HEP_DST6 = 0x0006,
    HEP_SPORT = 0x0007,
    HEP_DPORT = 0x0008,
    HEP_TS_SEC = 0x0009,
    HEP_TS_USEC = 0x000a,
    HEP_PROTO_TYPE = 0x000b,
    HEP_PAYLOAD = 0x000f,
    HEP_PAYLOAD_ZIP = 0x0010,
};

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t) p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

int flow_hep_parse(const uint8_t *p, size_t len, struct flow_hep *h, const char **why)
{
    size_t total, off = 6;
    bool has4s = false, has4d = false, has6s = false, has6d = false, zip = false;
    uint32_t sec = 0, usec = 0, sport = 0, dport = 0;
    bool has_sec = false;
    uint8_t s4[4] = {0}, d4[4] = {0}, s6[16] = {0}, d6[16] = {0};

    memset(h, 0, sizeof(*h));
    if (len < 6 || memcmp(p, "HEP3", 4) != 0) {
        *why = "not a HEP v3 packet";
        return EBADMSG;
    }
    total = be16(p + 4);
    if (total < 6 || total > len) {
        *why = "total length outside the packet";
        return EBADMSG;
    }
    while (off < total) {
        uint32_t vendor, type, clen;
        const uint8_t *v;
        size_t vlen;

        if (total - off < 6) {
            *why = "chunk header cut short";
            return EBADMSG;
        }
        vendor = be16(p + off);
        type = be16(p + off + 2);
        clen = be16(p + off + 4);
        if (clen < 6 || clen > total - off) {
            *why = "chunk length outside the packet";
            return EBADMSG;
        }
        v = p + off + 6;
        vlen = clen - 6;
        off += clen;
        if (vendor != 0) continue;
#define WANT(n)                                                                          \
    do {                                                                                 \
        if (vlen != (n)) {                                                               \
            *why = "chunk of the wrong length";                                          \
            return EBADMSG;                                                              \
        }                                                                                \
    } while (0)
        switch (type) {
        case HEP_FAMILY:
            WANT(1);
            h->family = v[0];
            break;
        case HEP_IP_PROTO:
            WANT(1);
            h->ip_proto = v[0];
            break;
        case HEP_SRC4:
            WANT(4);
            memcpy(s4, v, 4);
            has4s = true;
            break;
        case HEP_DST4:
            WANT(4);
            memcpy(d4, v, 4);
            has4d = true;
            break;
        case HEP_SRC6:
            WANT(16);
            memcpy(s6, v, 16);
            has6s = true;
            break;
        case HEP_DST6:
            WANT(16);
            memcpy(d6, v, 16);
            has6d = true;
            break;
        case HEP_SPORT:
            WANT(2);
            sport = be16(v);
            break;
        case HEP_DPORT:
            WANT(2);
            dport = be16(v);
            break;
        case HEP_TS_SEC:
            WANT(4);
            sec = be32(v);
            has_sec = true;
            break;
        case HEP_TS_USEC:
            WANT(4);
            usec = be32(v);
            break;
        case HEP_PROTO_TYPE:
            WANT(1);
            h->proto_type = v[0];
            break;
        case HEP_PAYLOAD:
            h->payload = v;
            h->plen = vlen;
            break;
        case HEP_PAYLOAD_ZIP: zip = true; break;
        default: break;
        }
#undef WANT
    }
    if (!h->payload) {
        *why = zip ? "compressed payload (not supported)" : "no payload chunk";
        return EBADMSG;
    }
    if (h->family == 10 && has6s && has6d) {
        h->src.u.in6.sin6_family = AF_INET6;
        memcpy(&h->src.u.in6.sin6_addr, s6, 16);
        h->src.len = sizeof(h->src.u.in6);
        h->dst.u.in6.sin6_family = AF_INET6;
        memcpy(&h->dst.u.in6.sin6_addr, d6, 16);
        h->dst.len = sizeof(h->dst.u.in6);
    } else if (has4s && has4d) {
        h->src.u.in.sin_family = AF_INET;
        memcpy(&h->src.u.in.sin_addr, s4, 4);
        h->src.len = sizeof(h->src.u.in);
        h->dst.u.in.sin_family = AF_INET;
        memcpy(&h->dst.u.in.sin_addr, d4, 4);
        h->dst.len = sizeof(h->dst.u.in);
    } else {
        *why = "no source and destination address";
        return EBADMSG;
    }
    sk_sa_set_port(&h->src, (uint16_t) sport);
    sk_sa_set_port(&h->dst, (uint16_t) dport);
    if (has_sec) {
        h->has_ts = true;
        h->ts_ns = (uint64_t) sec * 1000000000u + (uint64_t) (usec % 1000000u) * 1000u;
    }
    return 0;
}
