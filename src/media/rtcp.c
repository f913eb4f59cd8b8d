/* RTCP compound packets (RFC 3550 §6, §A.2 checks), NTP timestamps and round-trip time.
 */
#include "base/bytes.h"
#include "media/rtcp.h"

#include <errno.h>
#include <string.h>

/* Common header: V=2, P=0, count, type, length in 32-bit words minus one. */
static void put_header(uint8_t *p, unsigned count, unsigned pt, size_t bytes)
{
    p[0] = (uint8_t) (0x80 | count);
    p[1] = (uint8_t) pt;
    sk_put16(p + 2, (uint16_t) (bytes / 4 - 1));
}

static void put_block(uint8_t *p, const struct rtcp_report_block *rb)
{
    int32_t lost = rb->cum_lost;

    /* RFC 3550 §A.3: clamp to what 24 signed bits hold. */
    if (lost > 0x7FFFFF) lost = 0x7FFFFF;
    if (lost < -0x800000) lost = -0x800000;
    sk_put32(p, rb->ssrc);
    sk_put32(p + 4, ((uint32_t) rb->fraction_lost << 24) | ((uint32_t) lost & 0xFFFFFF));
    sk_put32(p + 8, rb->ext_high_seq);
    sk_put32(p + 12, rb->jitter);
    sk_put32(p + 16, rb->lsr);
    sk_put32(p + 20, rb->dlsr);
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t) 3;
}

int rtcp_build_compound(const struct rtcp_build *b, uint8_t *out, size_t size,
                        size_t *outlen)
{
    size_t cname_len, reason_len = 0, first, sdes, bye = 0, off;

    if (!b->cname || b->nblocks > RTCP_MAX_BLOCKS || (b->nblocks && !b->blocks))
        return EINVAL;
    cname_len = strlen(b->cname);
    if (cname_len == 0 || cname_len > RTCP_CNAME_MAX) return EINVAL;
    if (b->bye && b->bye_reason) {
        reason_len = strlen(b->bye_reason);
        if (reason_len > RTCP_REASON_MAX) return EINVAL;
    }
    first = (b->sr ? 28 : 8) + b->nblocks * 24;
    /* SDES: header, SSRC, CNAME item, then at least one null octet up to a word end */
    sdes = 8 + pad4(2 + cname_len + 1);
    if (b->bye) bye = 8 + (reason_len ? pad4(1 + reason_len) : 0);
    if (first + sdes + bye > size) return ENOSPC;

    memset(out, 0, first + sdes + bye);
    put_header(out, (unsigned) b->nblocks, b->sr ? RTCP_PT_SR : RTCP_PT_RR, first);
    sk_put32(out + 4, b->ssrc);
    off = 8;
    if (b->sr) {
        sk_put32(out + 8, (uint32_t) (b->si.ntp >> 32));
        sk_put32(out + 12, (uint32_t) b->si.ntp);
        sk_put32(out + 16, b->si.rtp_ts);
        sk_put32(out + 20, b->si.packet_count);
        sk_put32(out + 24, b->si.octet_count);
        off = 28;
    }
    for (size_t i = 0; i < b->nblocks; i++, off += 24)
        put_block(out + off, &b->blocks[i]);

    put_header(out + off, 1, RTCP_PT_SDES, sdes);
    sk_put32(out + off + 4, b->ssrc);
    out[off + 8] = RTCP_SDES_CNAME;
    out[off + 9] = (uint8_t) cname_len;
    memcpy(out + off + 10, b->cname, cname_len);
    off += sdes;

    if (b->bye) {
        put_header(out + off, 1, RTCP_PT_BYE, bye);
        sk_put32(out + off + 4, b->ssrc);
        if (reason_len) {
            out[off + 8] = (uint8_t) reason_len;
            memcpy(out + off + 9, b->bye_reason, reason_len);
        }
        off += bye;
    }
    *outlen = off;
    return 0;
}

static void get_block(const uint8_t *p, struct rtcp_report_block *rb)
{
    uint32_t w = sk_get32(p + 4);
    uint32_t lost = w & 0xFFFFFF;

    rb->ssrc = sk_get32(p);
    rb->fraction_lost = (uint8_t) (w >> 24);
    /* sign-extend the 24-bit count */
    rb->cum_lost = (lost & 0x800000) ? (int32_t) lost - 0x1000000 : (int32_t) lost;
    rb->ext_high_seq = sk_get32(p + 8);
    rb->jitter = sk_get32(p + 12);
    rb->lsr = sk_get32(p + 16);
    rb->dlsr = sk_get32(p + 20);
}

static int parse_report(struct rtcp_info *info, const uint8_t *p, size_t len, size_t base,
                        struct media_error *err)
{
    unsigned rc = p[0] & 0x1F;
    bool sr = p[1] == RTCP_PT_SR;
    size_t need = (sr ? 28 : 8) + (size_t) rc * 24, off;

    if (len < need)
        return media_fail(err,
                          sr ? "SR shorter than its report count"
                             : "RR shorter than its report count",
                          base);
    if (info->npackets == 0) {
        info->ssrc = sk_get32(p + 4);
        if (sr) {
            info->sr = true;
            info->si.ntp = ((uint64_t) sk_get32(p + 8) << 32) | sk_get32(p + 12);
            info->si.rtp_ts = sk_get32(p + 16);
            info->si.packet_count = sk_get32(p + 20);
            info->si.octet_count = sk_get32(p + 24);
        }
    }
    off = sr ? 28 : 8;
    for (unsigned i = 0; i < rc; i++, off += 24) {
        if (info->nblocks < RTCP_MAX_BLOCKS)
            get_block(p + off, &info->blocks[info->nblocks++]);
        else
            info->blocks_dropped++;
    }
    return 0;
}

/* RFC 3550 §6.5: chunks of SSRC + items, each chunk ended by null octets to a word. */
static int parse_sdes(struct rtcp_info *info, const uint8_t *p, size_t len, size_t base,
                      struct media_error *err)
{
    unsigned sc = p[0] & 0x1F;
    size_t off = 4;

    for (unsigned c = 0; c < sc; c++) {
        uint32_t ssrc;

        if (len - off < 4)
            return media_fail(err, "SDES chunk runs past the packet", base + off);
        ssrc = sk_get32(p + off);
        off += 4;
        for (;;) {
            uint8_t type, ilen;

            if (off >= len)
                return media_fail(err, "SDES chunk without its null item", base + off);
            type = p[off];
            if (type == 0) {
                off = pad4(off + 1);
                if (off > len)
                    return media_fail(err, "SDES chunk padding runs past the packet",
                                      base + len);
                break;
            }
            if (len - off < 2 || len - off - 2 < p[off + 1])
                return media_fail(err, "SDES item runs past the packet", base + off);
            ilen = p[off + 1];
            if (type == RTCP_SDES_CNAME && !info->has_cname) {
                info->has_cname = true;
                info->cname_ssrc = ssrc;
                memcpy(info->cname, p + off + 2, ilen);
                info->cname[ilen] = '\0';
            }
            off += 2 + (size_t) ilen;
        }
    }
    return 0;
}

static int parse_bye(struct rtcp_info *info, const uint8_t *p, size_t len, size_t base,
                     struct media_error *err)
{
    unsigned sc = p[0] & 0x1F;
    size_t off = 4 + (size_t) sc * 4;

    if (len < off) return media_fail(err, "BYE shorter than its source count", base);
    info->bye = true;
    for (unsigned i = 0; i < sc; i++)
        if (info->nbye < RTCP_MAX_BLOCKS)
            info->bye_ssrc[info->nbye++] = sk_get32(p + 4 + 4 * i);
    if (off < len) {
        uint8_t rlen = p[off];

        if (len - off - 1 < rlen)
            return media_fail(err, "BYE reason runs past the packet", base + off);
        memcpy(info->bye_reason, p + off + 1, rlen);
        info->bye_reason[rlen] = '\0';
    }
    return 0;
}

int rtcp_parse_compound(struct rtcp_info *info, const uint8_t *buf, size_t len,
                        struct media_error *err)
{
    size_t off = 0;

    memset(info, 0, sizeof(*info));
    if (len < 8) return media_fail(err, "shorter than an RTCP receiver report", len);
    /* §A.2: the first packet is SR or RR, version 2, no padding. */
    if ((buf[0] >> 6) != 2) return media_fail(err, "RTCP version is not 2", 0);
    if (buf[0] & 0x20) return media_fail(err, "padding on the first RTCP packet", 0);
    if (buf[1] != RTCP_PT_SR && buf[1] != RTCP_PT_RR)
        return media_fail(err, "first RTCP packet is neither SR nor RR", 1);
    while (off < len) {
        const uint8_t *p = buf + off;
        size_t plen, body;
        int rc = 0;

        if (len - off < 4) return media_fail(err, "RTCP header truncated", off);
        if ((p[0] >> 6) != 2) return media_fail(err, "RTCP version is not 2", off);
        plen = ((size_t) sk_get16(p + 2) + 1) * 4;
        if (plen > len - off)
            return media_fail(err, "RTCP length runs past the compound packet", off + 2);
        body = plen;
        if (p[0] & 0x20) {
            /* §A.2: padding only on the last packet of the compound. */
            if (off + plen != len)
                return media_fail(err, "padding on an RTCP packet that is not the last",
                                  off);
            if (p[plen - 1] == 0 || p[plen - 1] > plen - 4)
                return media_fail(err, "RTCP padding count invalid", off + plen - 1);
            body = plen - p[plen - 1];
        }
        switch (p[1]) {
        case RTCP_PT_SR:
        case RTCP_PT_RR: rc = parse_report(info, p, body, off, err); break;
        case RTCP_PT_SDES: rc = parse_sdes(info, p, body, off, err); break;
        case RTCP_PT_BYE: rc = parse_bye(info, p, body, off, err); break;
        default: info->other++; break;
        }
        if (rc) return rc;
        info->npackets++;
        off += plen;
    }
    return 0;
}

const struct rtcp_report_block *rtcp_info_block(const struct rtcp_info *info,
                                                uint32_t ssrc)
{
    for (size_t i = 0; i < info->nblocks; i++)
        if (info->blocks[i].ssrc == ssrc) return &info->blocks[i];
    return NULL;
}

uint64_t rtcp_ntp_from_timespec(const struct timespec *ts)
{
    uint64_t sec = (uint64_t) ts->tv_sec + RTCP_NTP_UNIX_OFFSET;
    /* fraction = nsec * 2^32 / 10^9, rounded */
    uint64_t frac = (((uint64_t) ts->tv_nsec << 32) + 500000000u) / 1000000000u;

    return (sec << 32) + frac;
}

uint64_t rtcp_ntp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return rtcp_ntp_from_timespec(&ts);
}

uint32_t rtcp_ntp_mid32(uint64_t ntp)
{
    return (uint32_t) (ntp >> 16);
}

uint32_t rtcp_dlsr_from_us(uint64_t us)
{
    return (uint32_t) ((us * 65536u + 500000u) / 1000000u);
}

int rtcp_rtt(uint32_t arrival_mid32, uint32_t lsr, uint32_t dlsr, uint32_t *units,
             double *ms)
{
    uint32_t rtt;

    if (lsr == 0) return EAGAIN;
    /* 32-bit modular arithmetic: the 16.16 seconds wrap every 18 hours. */
    rtt = arrival_mid32 - lsr - dlsr;
    if ((int32_t) rtt < 0) return ERANGE;
    *units = rtt;
    *ms = (double) rtt * 1000.0 / 65536.0;
    return 0;
}
