/* RTCP (RFC 3550 §6): compound SR/RR + SDES CNAME (+ BYE) build and parse, NTP time, RTT.
 */
#ifndef MEDIA_RTCP_H
#define MEDIA_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "media/media_error.h"

#define RTCP_PT_SR 200
#define RTCP_PT_RR 201
#define RTCP_PT_SDES 202
#define RTCP_PT_BYE 203
#define RTCP_PT_APP 204
#define RTCP_MAX_BLOCKS 31 /* 5-bit report count */
#define RTCP_CNAME_MAX 255
#define RTCP_REASON_MAX 255
#define RTCP_SDES_CNAME 1

/* RFC 3550 §6.4.1 report block */
struct rtcp_report_block {
    uint32_t ssrc;         /* source this block reports on */
    uint8_t fraction_lost; /* since the previous report, in 1/256 */
    int32_t cum_lost;      /* signed 24-bit on the wire; clamped when built */
    uint32_t ext_high_seq; /* cycles << 16 | highest sequence number */
    uint32_t jitter;       /* interarrival jitter, timestamp units */
    uint32_t lsr;          /* middle 32 bits of the last SR's NTP time, 0 if none */
    uint32_t dlsr;         /* delay since that SR, 1/65536 s */
};

/* RFC 3550 §6.4.1 sender info */
struct rtcp_sender_info {
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
};

/* What to put in a compound packet: SR (when sr) or RR, SDES with CNAME, BYE (when bye).
 */
struct rtcp_build {
    uint32_t ssrc;
    bool sr;
    struct rtcp_sender_info si;
    const struct rtcp_report_block *blocks;
    size_t nblocks;    /* 0..RTCP_MAX_BLOCKS */
    const char *cname; /* required, 1..255 bytes */
    bool bye;
    const char *bye_reason; /* optional, up to 255 bytes */
};

/* EINVAL for a missing/overlong CNAME or reason, too many blocks; ENOSPC when
 * out[0..size) is too small; *outlen gets the length. */
int rtcp_build_compound(const struct rtcp_build *b, uint8_t *out, size_t size,
                        size_t *outlen);

/* A parsed compound packet. Report blocks of every SR/RR in it, in order (up to
 * RTCP_MAX_BLOCKS kept, blocks_dropped counts the rest). APP, XR, feedback and other
 * packet types are counted in `other` and skipped. */
struct rtcp_info {
    uint32_t ssrc; /* sender of the first SR/RR */
    bool sr;
    struct rtcp_sender_info si;
    struct rtcp_report_block blocks[RTCP_MAX_BLOCKS];
    size_t nblocks;
    size_t blocks_dropped;
    bool has_cname; /* first CNAME item found */
    uint32_t cname_ssrc;
    char cname[RTCP_CNAME_MAX + 1]; /* NUL-terminated copy (a NUL inside cuts it short) */
    bool bye;
    size_t nbye;
    uint32_t bye_ssrc[RTCP_MAX_BLOCKS];
    char bye_reason[RTCP_REASON_MAX + 1];
    size_t npackets;
    size_t other;
};

/* RFC 3550 §A.2 validity checks: version 2 everywhere, the first packet SR or RR
 * without padding, padding only on the last packet, packet lengths adding up to len;
 * and each SR/RR/SDES/BYE fits its length. EBADMSG with err set otherwise. */
int rtcp_parse_compound(struct rtcp_info *info, const uint8_t *buf, size_t len,
                        struct media_error *err);
/* The block about ssrc in info, or NULL. */
const struct rtcp_report_block *rtcp_info_block(const struct rtcp_info *info,
                                                uint32_t ssrc);

/* ---- NTP time (RFC 3550 §4) ---- */

#define RTCP_NTP_UNIX_OFFSET 2208988800u /* seconds from 1900 to 1970 */

uint64_t rtcp_ntp_from_timespec(const struct timespec *ts);
/* CLOCK_REALTIME as NTP time. */
uint64_t rtcp_ntp_now(void);
/* The middle 32 bits (16.16 seconds) used by LSR and the RTT arithmetic. */
uint32_t rtcp_ntp_mid32(uint64_t ntp);
/* A delay in microseconds as 1/65536 s units (DLSR). */
uint32_t rtcp_dlsr_from_us(uint64_t us);

/* §6.4.1 round-trip time: A - LSR - DLSR, all in 1/65536 s, with A the middle 32 bits
 * of the arrival time of the report. EAGAIN when lsr is 0 (the peer has had no SR
 * from us), ERANGE when the result is negative (clocks or a bogus block); else 0 with
 * *units (1/65536 s) and *ms. */
int rtcp_rtt(uint32_t arrival_mid32, uint32_t lsr, uint32_t dlsr, uint32_t *units,
             double *ms);

#endif
