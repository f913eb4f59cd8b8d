/* RTP receiver statistics: RFC 3550 §A.1 sequence validation, §A.3 loss, §A.8 jitter,
 * counters. */
#ifndef MEDIA_RTPSTATS_H
#define MEDIA_RTPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/rtcp.h"

#define RTP_STATS_MAX_DROPOUT 3000 /* §A.1 */
#define RTP_STATS_MAX_MISORDER 100
#define RTP_STATS_MIN_SEQUENTIAL 2
#define RTP_STATS_SEQ_MOD (1u << 16)
/* duplicates are recognised this far behind the highest sequence number */
#define RTP_STATS_DUP_WINDOW 1024

/* Statistics of one source, fed one packet at a time in arrival order. Pure: the
 * arrival time comes from the caller (a socket's clock or a pcap timestamp).
 *
 * Sequence numbers, expected and lost follow §A.1/§A.3 exactly: a new source is on
 * probation until RTP_STATS_MIN_SEQUENTIAL packets arrive in sequence, and the first
 * of them is not part of `received` or `expected` (so a clean 50-packet stream shows
 * 49 expected, 49 received, 0 lost; `packets` counts all 50). Duplicates count as
 * received, so lost can go negative (§A.3).
 *
 * Jitter is §A.8: for each packet after the first, D = (R_j - R_i) - (S_j - S_i) with
 * R the arrival time converted to timestamp units (arrival_us * clock_rate / 10^6, in
 * double precision) and S the RTP timestamp (32-bit wrap handled), then
 * J += (|D| - J) / 16. Every packet counts, in arrival order, reordered, duplicate and
 * probation packets included, the first packet only sets the reference (J stays 0).
 * That is what Wireshark's RTP stream analysis computes (its "Max Jitter"/"Mean Jitter"
 * are in ms: jitter_ms = J * 1000 / clock_rate); Wireshark divides the clock rate by
 * 1000 in integers, so the two agree for the 8000/16000/48000 Hz rates telephony uses.
 * A change of SSRC starts everything again (ssrc_changes counts them). */
struct rtp_stats {
    uint32_t clock_rate;
    bool have_source;
    uint32_t ssrc;
    /* §A.1 */
    uint16_t max_seq;
    uint32_t cycles; /* shifted count of wraps: a multiple of 65536 */
    uint32_t base_seq;
    uint32_t bad_seq;
    uint32_t probation;
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    /* §A.8 */
    bool have_last;
    uint32_t last_ts;
    int64_t last_arrival_us;
    double jitter;     /* timestamp units */
    double max_jitter; /* timestamp units */
    double jitter_sum; /* of J after each packet but the first, for the mean */
    uint64_t jitter_count;
    /* counters */
    uint64_t packets; /* every packet fed in, whatever its sequence number */
    uint64_t bytes;   /* payload bytes of those */
    uint64_t duplicates;
    uint64_t out_of_order; /* arrived with a sequence number below the highest so far */
    uint64_t bad_seq_packets; /* jumps §A.1 refused (returned EAGAIN) */
    uint64_t seq_restarts;    /* §A.1 resyncs after a confirmed jump */
    uint64_t ssrc_changes;
    int64_t max_delta_us; /* largest gap between consecutive arrivals */
    /* which of the last RTP_STATS_DUP_WINDOW sequence numbers arrived */
    uint64_t seen[RTP_STATS_DUP_WINDOW / 64];
};

/* clock_rate: the payload's RTP clock (8000 for G.711, telephone-event). */
void rtp_stats_init(struct rtp_stats *s, uint32_t clock_rate);
/* One packet. 0 when §A.1 accepts it as valid (counted in received), EAGAIN when it is
 * on probation or after a jump still to be confirmed; everything else (packets,
 * bytes, jitter, delta, duplicates) counts either way. */
int rtp_stats_update(struct rtp_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                     int64_t arrival_us, size_t payload_bytes);

/* §A.3 figures (0 before the source is valid). */
uint32_t rtp_stats_ext_max(const struct rtp_stats *s); /* cycles + highest seq */
int64_t rtp_stats_expected(const struct rtp_stats *s);
int64_t rtp_stats_lost(const struct rtp_stats *s);        /* may be negative */
double rtp_stats_loss_percent(const struct rtp_stats *s); /* lost / expected, >= 0 */
double rtp_stats_jitter_ms(const struct rtp_stats *s);
double rtp_stats_max_jitter_ms(const struct rtp_stats *s);
/* Mean of J over every packet but the first, as Wireshark's "Mean Jitter". */
double rtp_stats_mean_jitter_ms(const struct rtp_stats *s);
double rtp_stats_max_delta_ms(const struct rtp_stats *s);

/* Fill a report block about this source (LSR and DLSR are left 0 for the caller) and
 * start a new interval for the fraction lost (§A.3). */
void rtp_stats_report(struct rtp_stats *s, struct rtcp_report_block *rb);

#endif
