/* RTP receiver statistics after RFC 3550 §A.1 (sequence), §A.3 (loss) and §A.8 (jitter).
 */
#include "media/rtpstats.h"

#include <errno.h>
#include <string.h>

void rtp_stats_init(struct rtp_stats *s, uint32_t clock_rate)
{
    memset(s, 0, sizeof(*s));
    s->clock_rate = clock_rate;
}

/* ---- duplicate window: bit (ext % WINDOW) says ext arrived, for ext within WINDOW
 * below the highest extended sequence number ---- */

static void seen_clear(struct rtp_stats *s)
{
    memset(s->seen, 0, sizeof(s->seen));
}

static bool seen_test(const struct rtp_stats *s, uint32_t ext)
{
    uint32_t i = ext % RTP_STATS_DUP_WINDOW;

    return (s->seen[i / 64] >> (i % 64)) & 1;
}

static void seen_set(struct rtp_stats *s, uint32_t ext)
{
    uint32_t i = ext % RTP_STATS_DUP_WINDOW;

    s->seen[i / 64] |= (uint64_t) 1 << (i % 64);
}

/* The highest moved from old to new: forget what the reused bits said. */
static void seen_advance(struct rtp_stats *s, uint32_t old, uint32_t new_max)
{
    if (new_max - old >= RTP_STATS_DUP_WINDOW) {
        seen_clear(s);
        return;
    }
    for (uint32_t e = old + 1; e != new_max + 1; e++) {
        uint32_t i = e % RTP_STATS_DUP_WINDOW;

        s->seen[i / 64] &= ~((uint64_t) 1 << (i % 64));
    }
}

/* §A.1 init_seq */
static void init_seq(struct rtp_stats *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = RTP_STATS_SEQ_MOD + 1; /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
    seen_clear(s);
    seen_set(s, seq);
}

static void new_source(struct rtp_stats *s, uint32_t ssrc, uint16_t seq)
{
    uint32_t rate = s->clock_rate;
    uint64_t changes = s->ssrc_changes + (s->have_source ? 1 : 0);

    rtp_stats_init(s, rate);
    s->ssrc_changes = changes;
    s->have_source = true;
    s->ssrc = ssrc;
    init_seq(s, seq);
    s->max_seq = (uint16_t) (seq - 1);
    s->probation = RTP_STATS_MIN_SEQUENTIAL;
}

/* §A.1 update_seq, with duplicate and reorder counting added: 0 valid, EAGAIN not. */
static int update_seq(struct rtp_stats *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t) (seq - s->max_seq);

    if (s->probation) {
        /* packets must be in sequence to leave probation */
        if (seq == (uint16_t) (s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                init_seq(s, seq);
                s->received++;
                return 0;
            }
        } else {
            s->probation = RTP_STATS_MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }
        return EAGAIN;
    }
    if (udelta < RTP_STATS_MAX_DROPOUT) {
        uint32_t old = s->cycles + s->max_seq;

        if (udelta == 0) {
            s->duplicates++; /* the highest again */
        } else {
            /* in order, with permissible gap */
            if (seq < s->max_seq) s->cycles += RTP_STATS_SEQ_MOD; /* wrapped */
            s->max_seq = seq;
            seen_advance(s, old, s->cycles + s->max_seq);
            seen_set(s, s->cycles + s->max_seq);
        }
    } else if (udelta <= RTP_STATS_SEQ_MOD - RTP_STATS_MAX_MISORDER) {
        /* the sequence number made a very large jump */
        if (seq == s->bad_seq) {
            /* two sequential packets: the other side restarted without telling us */
            init_seq(s, seq);
            s->seq_restarts++;
        } else {
            s->bad_seq = (uint32_t) (seq + 1) & (RTP_STATS_SEQ_MOD - 1);
            s->bad_seq_packets++;
            return EAGAIN;
        }
    } else {
        /* duplicate or reordered packet, behind the highest */
        uint32_t max_ext = s->cycles + s->max_seq;
        uint32_t ext = max_ext - (uint16_t) (s->max_seq - seq);

        if (max_ext - ext < RTP_STATS_DUP_WINDOW && seen_test(s, ext)) {
            s->duplicates++;
        } else {
            s->out_of_order++;
            if (max_ext - ext < RTP_STATS_DUP_WINDOW) seen_set(s, ext);
        }
    }
    s->received++;
    return 0;
}

/* §A.8, in double precision in timestamp units. */
static void update_jitter(struct rtp_stats *s, uint32_t ts, int64_t arrival_us)
{
    if (s->have_last) {
        double r = (double) (arrival_us - s->last_arrival_us) * s->clock_rate / 1e6;
        double d = r - (double) (int32_t) (ts - s->last_ts);
        int64_t gap = arrival_us - s->last_arrival_us;

        if (d < 0) d = -d;
        s->jitter += (d - s->jitter) / 16.0;
        s->jitter_sum += s->jitter;
        s->jitter_count++;
        if (s->jitter > s->max_jitter) s->max_jitter = s->jitter;
        if (gap > s->max_delta_us) s->max_delta_us = gap;
    }
    s->have_last = true;
    s->last_ts = ts;
    s->last_arrival_us = arrival_us;
}

int rtp_stats_update(struct rtp_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                     int64_t arrival_us, size_t payload_bytes)
{
    int rc;

    if (!s->have_source || ssrc != s->ssrc) new_source(s, ssrc, seq);
    s->packets++;
    s->bytes += payload_bytes;
    update_jitter(s, ts, arrival_us);
    rc = update_seq(s, seq);
    return rc;
}

uint32_t rtp_stats_ext_max(const struct rtp_stats *s)
{
    return s->cycles + s->max_seq;
}

static bool valid(const struct rtp_stats *s)
{
    return s->have_source && s->probation == 0;
}

int64_t rtp_stats_expected(const struct rtp_stats *s)
{
    if (!valid(s)) return 0;
    return (int64_t) rtp_stats_ext_max(s) - (int64_t) s->base_seq + 1;
}

int64_t rtp_stats_lost(const struct rtp_stats *s)
{
    if (!valid(s)) return 0;
    return rtp_stats_expected(s) - (int64_t) s->received;
}

double rtp_stats_loss_percent(const struct rtp_stats *s)
{
    int64_t expected = rtp_stats_expected(s), lost = rtp_stats_lost(s);

    if (expected <= 0 || lost <= 0) return 0;
    return 100.0 * (double) lost / (double) expected;
}

double rtp_stats_jitter_ms(const struct rtp_stats *s)
{
    return s->clock_rate ? s->jitter * 1000.0 / s->clock_rate : 0;
}

double rtp_stats_max_jitter_ms(const struct rtp_stats *s)
{
    return s->clock_rate ? s->max_jitter * 1000.0 / s->clock_rate : 0;
}

double rtp_stats_mean_jitter_ms(const struct rtp_stats *s)
{
    if (!s->clock_rate || !s->jitter_count) return 0;
    return s->jitter_sum / (double) s->jitter_count * 1000.0 / s->clock_rate;
}

double rtp_stats_max_delta_ms(const struct rtp_stats *s)
{
    return (double) s->max_delta_us / 1000.0;
}

void rtp_stats_report(struct rtp_stats *s, struct rtcp_report_block *rb)
{
    int64_t expected = rtp_stats_expected(s), lost = rtp_stats_lost(s);
    int64_t expected_interval, received_interval, lost_interval;

    memset(rb, 0, sizeof(*rb));
    rb->ssrc = s->ssrc;
    if (lost > 0x7FFFFF) lost = 0x7FFFFF;
    if (lost < -0x800000) lost = -0x800000;
    rb->cum_lost = (int32_t) lost;
    rb->ext_high_seq = valid(s) ? rtp_stats_ext_max(s) : 0;
    rb->jitter = (uint32_t) s->jitter;
    if (!valid(s)) return;
    /* §A.3: fraction lost over the interval since the previous report */
    expected_interval = expected - (int64_t) s->expected_prior;
    s->expected_prior = (uint32_t) expected;
    received_interval = (int64_t) s->received - (int64_t) s->received_prior;
    s->received_prior = s->received;
    lost_interval = expected_interval - received_interval;
    if (expected_interval > 0 && lost_interval > 0)
        rb->fraction_lost = (uint8_t) ((lost_interval << 8) / expected_interval);
}
