/* A call's RTP/RTCP stream on the event loop: a paced G.711 sender, a receiver with statistics and a recorder, RFC 4733 DTMF, RTCP reports. */
#include "media/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rand.h"
#include "media/emodel.h"
#include "media/g711.h"
#include "media/jbuf.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtpstats.h"
#include "media/tone.h"
#include "media/wav.h"

#define RTP_MAX_PACKET 1500
#define RTP_RECV_BATCH 8           /* datagrams read per recvmmsg */
#define FRAME_MAX_SAMPLES 1600        /* 200 ms at 8 kHz: the longest ptime we take */
#define RTCP_INTERVAL_MS 5000u        /* RFC 3550 §6.2: 5 s minimum, randomised below */
#define DTMF_DIGIT_MS 100u
#define DTMF_GAP_MS 50u
#define TONE_CYCLE_MAX 1600u          /* longest tone period kept pre-encoded, in samples */

struct media_stream {
    struct sk_loop *loop;
    int rtp_fd, rtcp_fd;
    struct media_clock *clock; /* the send clock we tick on, once started */
    size_t clock_idx;          /* our place in clock->v */
    uint16_t port;
    struct sk_sa local;
    struct media_stream_params p;
    bool alaw;                 /* we send A-law (PCMA), else µ-law */
    bool started, stopped;
    struct media_stream_events ev;
    uint32_t rtp_timeout_s;

    /* sending */
    uint32_t ssrc;
    uint16_t seq, seq0;
    uint32_t ts;
    uint32_t samples_per_frame;
    uint64_t sent_packets, sent_octets;
    struct tone_gen tone;
    /* A tone whose period is a whole number of samples (at most TONE_CYCLE_MAX) is
     * kept as one period of samples and of their G.711 codes: a frame is then a
     * copy, not a sine and an encoding per sample (a fifth of a phone's CPU). */
    int16_t *cycle_pcm;
    uint8_t *cycle_enc;
    size_t cycle_n, cycle_pos;
    enum { SRC_SILENCE, SRC_TONE, SRC_WAV } src;
    struct wav_audio wav;
    size_t wav_pos;
    struct rtp_dtmf_tx dtmf_tx;
    char dtmf_queue[64];
    size_t dtmf_head;
    uint32_t dtmf_gap_ticks;
    char dtmf_sent[64];
    bool latched_rtp, latched_rtcp;

    /* receiving */
    struct rtp_stats stats;
    /* sources before the current one: rtp_stats starts again at a new SSRC */
    uint64_t prior_packets, prior_duplicates, prior_out_of_order;
    int64_t prior_lost, prior_expected;
    bool have_rx;
    uint64_t last_rx_ms;
    uint64_t started_ms;
    uint64_t recv_since_ms;    /* when receiving was last allowed (a resume after a hold) */
    uint64_t bad_packets;
    struct rtp_dtmf_rx dtmf_rx;
    char dtmf_received[64];

    /* playout and recording */
    struct jbuf *jb;
    bool rx_alaw;              /* the last received frame was A-law */
    struct wav_writer *rec;

    /* RTCP */
    struct sk_timer t_rtcp, t_watch;
    uint64_t rtcp_sent, rtcp_received;
    uint32_t last_sr_mid;     /* LSR: middle 32 bits of the peer's last SR */
    uint64_t last_sr_arrival_us;
    bool peer_report;         /* the peer reported on our stream */
    struct rtcp_report_block peer_rb;
    double rtt_ms;
    char cname[64];
};

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000u + (uint64_t) t.tv_nsec / 1000u;
}

/* ---- Playout ----
 * What a phone's speaker would play: one frame per packet time from the jitter
 * buffer, silence where a frame is missing or the buffer is still filling. The
 * recording is that output, so its length is the call's and its gaps are what
 * a listener heard. */

static void playout_tick(struct media_stream *s)
{
    int16_t pcm[FRAME_MAX_SAMPLES];
    struct jbuf_frame f;
    size_t n = s->samples_per_frame;

    if (!s->jb)
        return;
    if (jbuf_get(s->jb, &f) == JBUF_FRAME && f.len <= FRAME_MAX_SAMPLES) {
        if (s->rx_alaw)
            g711_alaw_decode_block(f.payload, pcm, f.len);
        else
            g711_ulaw_decode_block(f.payload, pcm, f.len);
        for (size_t i = f.len; i < n; i++)
            pcm[i] = 0;
        if (f.len > n)
            n = f.len;
    } else {
        tone_silence(pcm, n);
    }
    if (s->rec)
        wav_writer_append(s->rec, pcm, n);
}

/* ---- Sending ---- */

static void send_rtp(struct media_stream *s, unsigned pt, bool marker, uint32_t ts,
                     const uint8_t *payload, size_t len)
{
    struct rtp_hdr h;
    uint8_t pkt[RTP_MAX_PACKET];
    size_t n;

    memset(&h, 0, sizeof(h));
    h.version = 2;
    h.marker = marker;
    h.pt = (uint8_t) pt;
    h.seq = s->seq++;
    h.ts = ts;
    h.ssrc = s->ssrc;
    if (rtp_write(&h, payload, len, pkt, sizeof(pkt), &n) != 0)
        return;
    if (sendto(s->rtp_fd, pkt, n, MSG_DONTWAIT, &s->p.remote_rtp.u.sa, s->p.remote_rtp.len) ==
        (ssize_t) n) {
        s->sent_packets++;
        s->sent_octets += len;
    }
}

/* n elements of `size` bytes from a period of cycle_n, starting at cycle_pos. */
static void cycle_copy(const struct media_stream *s, const void *cycle, size_t size, void *out,
                       size_t n)
{
    const uint8_t *c = cycle;
    uint8_t *o = out;
    size_t pos = s->cycle_pos;

    while (n) {
        size_t k = s->cycle_n - pos < n ? s->cycle_n - pos : n;
        memcpy(o, c + pos * size, k * size);
        o += k * size;
        n -= k;
        pos = pos + k == s->cycle_n ? 0 : pos + k;
    }
}

static void cycle_advance(struct media_stream *s, size_t n)
{
    s->cycle_pos = (s->cycle_pos + n) % s->cycle_n;
}

static void next_samples(struct media_stream *s, int16_t *pcm, size_t n)
{
    switch (s->src) {
    case SRC_TONE:
        if (s->cycle_n) {
            cycle_copy(s, s->cycle_pcm, sizeof(*pcm), pcm, n);
            cycle_advance(s, n);
            return;
        }
        tone_fill(&s->tone, pcm, n);
        return;
    case SRC_WAV:
        for (size_t i = 0; i < n; i++) {
            pcm[i] = s->wav.samples[s->wav_pos++];
            if (s->wav_pos >= s->wav.n)
                s->wav_pos = 0; /* loop the file */
        }
        return;
    default:
        tone_silence(pcm, n);
        return;
    }
}

static void dtmf_next(struct media_stream *s)
{
    if (rtp_dtmf_tx_active(&s->dtmf_tx) || !s->p.dtmf_pt)
        return;
    if (s->dtmf_gap_ticks) {
        s->dtmf_gap_ticks--;
        return;
    }
    while (s->dtmf_queue[s->dtmf_head]) {
        char d = s->dtmf_queue[s->dtmf_head++];
        if (rtp_dtmf_tx_start(&s->dtmf_tx, d, DTMF_DIGIT_MS, RTP_EVENT_DEFAULT_VOLUME, s->ts) == 0) {
            size_t k = strlen(s->dtmf_sent);
            if (k + 1 < sizeof(s->dtmf_sent)) {
                s->dtmf_sent[k] = d;
                s->dtmf_sent[k + 1] = '\0';
            }
            s->dtmf_gap_ticks = (DTMF_GAP_MS + s->p.ptime_ms - 1) / s->p.ptime_ms;
            return;
        }
    }
}

/* One packet time: an audio frame, or the telephone-event packets instead of it
 * (RFC 4733 §2.5.1.2: the event replaces the audio while it lasts). */
static void send_frame(struct media_stream *s)
{
    int16_t pcm[FRAME_MAX_SAMPLES];
    uint8_t enc[FRAME_MAX_SAMPLES];
    size_t n = s->samples_per_frame;

    dtmf_next(s);
    if (rtp_dtmf_tx_active(&s->dtmf_tx)) {
        struct rtp_dtmf_pkt pk[RTP_DTMF_TX_MAX_PKTS];
        size_t np = 0;
        next_samples(s, pcm, n); /* the source keeps time under the event */
        rtp_dtmf_tx_tick(&s->dtmf_tx, pk, &np);
        for (size_t i = 0; i < np; i++)
            send_rtp(s, s->p.dtmf_pt, pk[i].marker, pk[i].ts, pk[i].payload, RTP_EVENT_LEN);
    } else if (!s->p.send) {
        next_samples(s, pcm, n);
    } else if (s->src == SRC_TONE && s->cycle_n) {
        cycle_copy(s, s->cycle_enc, 1, enc, n);
        cycle_advance(s, n);
        send_rtp(s, s->p.pt, false, s->ts, enc, n);
    } else {
        next_samples(s, pcm, n);
        if (s->alaw)
            g711_alaw_encode_block(pcm, enc, n);
        else
            g711_ulaw_encode_block(pcm, enc, n);
        send_rtp(s, s->p.pt, false, s->ts, enc, n);
    }
    s->ts += (uint32_t) n;
}

/* ---- The send clocks ----
 * One timerfd per loop and packet time, shared by every stream on them: a
 * phone with N calls wakes once per packet time for all of them, not N times
 * (each wakeup, timer read and timer interrupt cost about as much as sending
 * the packet). The streams of a clock send in the order they joined, so each
 * keeps its place in the burst and its packets stay evenly spaced. */
struct media_clock {
    struct media_clock *next;
    struct sk_loop *loop;
    uint32_t ptime_ms;
    int fd;
    struct media_stream **v;
    size_t n, cap;
};
static struct media_clock *media_clocks; /* every clock, of every loop */
static pthread_mutex_t media_clocks_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_clock(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct media_clock *c = arg;
    uint64_t expirations = 0;
    (void) loop;
    (void) events;
    if (read(fd, &expirations, sizeof(expirations)) != (ssize_t) sizeof(expirations))
        return;
    /* a late wakeup sends what was due, so the streams keep their clock (capped:
     * after a long stall, e.g. SIGSTOP, the backlog is dropped) */
    if (expirations > 10)
        expirations = 1;
    /* sending and playout call nothing outside the stream: no stream joins or
     * leaves the clock while it ticks */
    while (expirations--) {
        for (size_t i = 0; i < c->n; i++) {
            struct media_stream *s = c->v[i];
            if (s->stopped || !s->started)
                continue;
            send_frame(s);
            playout_tick(s);
        }
    }
}

static void clock_free(struct media_clock *c)
{
    if (c->fd >= 0) {
        sk_loop_del_fd(c->loop, c->fd);
        close(c->fd);
    }
    free(c->v);
    free(c);
}

static int clock_new(struct media_clock **cp, struct sk_loop *loop, uint32_t ptime_ms)
{
    struct media_clock *c = calloc(1, sizeof(*c));
    struct itimerspec its;
    int err;

    if (!c)
        return ENOMEM;
    c->loop = loop;
    c->ptime_ms = ptime_ms;
    c->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (c->fd < 0) {
        err = errno;
        free(c);
        return err;
    }
    if ((err = sk_loop_add_fd(loop, c->fd, EPOLLIN, on_clock, c))) {
        close(c->fd);
        free(c);
        return err;
    }
    /* a timerfd, not the loop's timer grid, so packets leave every ptime to the
     * microsecond and our own jitter stays out of the figures */
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t) (ptime_ms / 1000u);
    its.it_value.tv_nsec = (long) (ptime_ms % 1000u) * 1000000L;
    its.it_interval = its.it_value;
    if (timerfd_settime(c->fd, 0, &its, NULL) != 0) {
        err = errno;
        clock_free(c);
        return err;
    }
    *cp = c;
    return 0;
}

static void clock_leave(struct media_stream *s)
{
    struct media_clock *c = s->clock, **pp;

    if (!c)
        return;
    pthread_mutex_lock(&media_clocks_lock);
    /* keep the others' order (their place in the burst) */
    memmove(&c->v[s->clock_idx], &c->v[s->clock_idx + 1],
            (c->n - s->clock_idx - 1) * sizeof(*c->v));
    c->n--;
    for (size_t i = s->clock_idx; i < c->n; i++)
        c->v[i]->clock_idx = i;
    s->clock = NULL;
    if (c->n == 0) {
        for (pp = &media_clocks; *pp != c; pp = &(*pp)->next)
            ;
        *pp = c->next;
        clock_free(c);
    }
    pthread_mutex_unlock(&media_clocks_lock);
}

static int clock_join(struct media_stream *s, uint32_t ptime_ms)
{
    struct media_clock *c;
    int err = 0;

    if (s->clock && s->clock->ptime_ms == ptime_ms)
        return 0;
    clock_leave(s);
    pthread_mutex_lock(&media_clocks_lock);
    for (c = media_clocks; c; c = c->next)
        if (c->loop == s->loop && c->ptime_ms == ptime_ms)
            break;
    if (!c) {
        if ((err = clock_new(&c, s->loop, ptime_ms)))
            goto out;
        c->next = media_clocks;
        media_clocks = c;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct media_stream **v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            err = ENOMEM;
            if (c->n == 0) {
                media_clocks = c->next; /* just made, at the head */
                clock_free(c);
            }
            goto out;
        }
        c->v = v;
        c->cap = cap;
    }
    s->clock_idx = c->n;
    c->v[c->n++] = s;
    s->clock = c;
out:
    pthread_mutex_unlock(&media_clocks_lock);
    return err;
}

/* ---- Receiving ---- */

/* A new SSRC (a peer that switches streams, as SIPp does between two pcap
 * files, or a re-INVITE) restarts rtp_stats: keep what the finished source
 * counted, so the call's report covers the whole call, not its last source. */
static void stats_source_check(struct media_stream *s, uint32_t ssrc)
{
    if (!s->stats.have_source || s->stats.ssrc == ssrc)
        return;
    int64_t lost = rtp_stats_lost(&s->stats);
    s->prior_packets += s->stats.packets;
    s->prior_duplicates += s->stats.duplicates;
    s->prior_out_of_order += s->stats.out_of_order;
    s->prior_lost += lost > 0 ? lost : 0;
    s->prior_expected += rtp_stats_expected(&s->stats);
}

/* QUALITY.md: telephone-event packets count for loss (they take sequence
 * numbers) but not for jitter (their timestamp stays at the event's start). */
static void stats_update_no_jitter(struct media_stream *s, const struct rtp_hdr *h,
                                   int64_t now_us)
{
    struct rtp_stats *st = &s->stats;
    stats_source_check(s, h->ssrc);
    struct rtp_stats keep = *st;
    rtp_stats_update(st, h->ssrc, h->seq, h->ts, now_us, 0);
    if (keep.have_source && keep.ssrc == h->ssrc) {
        st->have_last = keep.have_last;
        st->last_ts = keep.last_ts;
        st->last_arrival_us = keep.last_arrival_us;
        st->jitter = keep.jitter;
        st->max_jitter = keep.max_jitter;
        st->jitter_sum = keep.jitter_sum;
        st->jitter_count = keep.jitter_count;
        st->max_delta_us = keep.max_delta_us;
    }
}

/* One datagram that reached the RTP socket from `from`. */
static void rtp_packet(struct media_stream *s, struct sk_loop *loop, const uint8_t *pkt, size_t n,
                       const struct sk_sa *from)
{
    struct rtp_hdr h;
    struct media_error err;

    if (!s->started || n > RTP_MAX_PACKET || rtp_parse(&h, pkt, n, &err) != 0) {
        s->bad_packets++;
        return;
    }
    uint64_t now_us = mono_us();
    s->last_rx_ms = sk_loop_now(loop);
    if (s->p.dtmf_pt && h.pt == s->p.dtmf_pt) {
        struct rtp_event e;
        struct rtp_dtmf_digit dg[2];
        size_t nd = 0;
        if (rtp_event_parse(&e, h.payload, h.payload_len, &err) != 0) {
            s->bad_packets++;
            return;
        }
        rtp_dtmf_rx_packet(&s->dtmf_rx, h.ts, &e, dg, &nd);
        for (size_t i = 0; i < nd; i++) {
            size_t k = strlen(s->dtmf_received);
            if (!dg[i].c)
                continue;
            if (k + 1 < sizeof(s->dtmf_received)) {
                s->dtmf_received[k] = dg[i].c;
                s->dtmf_received[k + 1] = '\0';
            }
            if (s->ev.dtmf)
                s->ev.dtmf(s->ev.arg, dg[i].c, dg[i].duration / (s->p.clock_rate / 1000u));
        }
        /* QUALITY.md: events are left out of jitter; their sequence numbers
         * still count for loss */
        stats_update_no_jitter(s, &h, (int64_t) now_us);
        return;
    }
    /* the negotiated payload type (static or dynamic), or the static G.711 ones */
    if (h.pt != s->p.pt && h.pt != G711_PT_PCMU && h.pt != G711_PT_PCMA) {
        s->bad_packets++; /* a payload type we did not negotiate */
        return;
    }
    /* symmetric RTP (RFC 4961): answer where the peer's packets come from,
     * which is what gets through a NAT whatever its SDP says */
    if (!s->latched_rtp && !sk_sa_equal(from, &s->p.remote_rtp)) {
        char a[64], b[64];
        SK_INFO("RTP from %s, not %s as the SDP said: sending there (symmetric RTP)",
                sk_sa_str(from, a, sizeof(a)), sk_sa_str(&s->p.remote_rtp, b, sizeof(b)));
        s->p.remote_rtp = *from;
    }
    s->latched_rtp = true;
    s->have_rx = true;
    stats_source_check(s, h.ssrc);
    rtp_stats_update(&s->stats, h.ssrc, h.seq, h.ts, (int64_t) now_us, h.payload_len);
    s->rx_alaw = h.pt == s->p.pt ? s->alaw : h.pt == G711_PT_PCMA;
    if (s->jb)
        jbuf_put(s->jb, h.ssrc, h.seq, h.ts, h.marker, h.payload, h.payload_len,
                 (int64_t) now_us);
}

/* Up to RTP_RECV_BATCH datagrams a system call: recvmmsg returns what is queued
 * without a second call that ends in EAGAIN, which a recvfrom loop makes on every
 * wakeup (one packet per stream and packet time is the usual case). What a full
 * batch leaves queued, the level-triggered loop reports again. */
static void on_rtp(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct media_stream *s = arg;
    uint8_t bufs[RTP_RECV_BATCH][RTP_MAX_PACKET + 1];
    struct mmsghdr mm[RTP_RECV_BATCH];
    struct iovec iov[RTP_RECV_BATCH];
    struct sk_sa from[RTP_RECV_BATCH];
    int got;

    (void) events;
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < RTP_RECV_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof(bufs[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &from[i].u;
        mm[i].msg_hdr.msg_namelen = sizeof(from[i].u);
    }
    got = recvmmsg(fd, mm, RTP_RECV_BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < got; i++) {
        from[i].len = mm[i].msg_hdr.msg_namelen;
        rtp_packet(s, loop, bufs[i], mm[i].msg_len, &from[i]);
    }
}

static void on_rtcp(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct media_stream *s = arg;
    uint8_t pkt[RTP_MAX_PACKET];
    struct sk_sa from;
    struct rtcp_info info;
    struct media_error err;
    ssize_t n;

    (void) loop;
    (void) events;
    for (int burst = 0; burst < 16; burst++) {
        from.len = sizeof(from.u);
        n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, &from.u.sa, &from.len);
        if (n < 0)
            return;
        if (!s->started || rtcp_parse_compound(&info, pkt, (size_t) n, &err) != 0) {
            s->bad_packets++;
            continue;
        }
        s->rtcp_received++;
        if (!s->latched_rtcp) {
            s->p.remote_rtcp = from;
            s->latched_rtcp = true;
        }
        uint64_t ntp_now = rtcp_ntp_now();
        if (info.sr) {
            s->last_sr_mid = rtcp_ntp_mid32(info.si.ntp);
            s->last_sr_arrival_us = mono_us();
        }
        const struct rtcp_report_block *rb = rtcp_info_block(&info, s->ssrc);
        if (rb) {
            uint32_t units;
            double ms;
            s->peer_rb = *rb;
            s->peer_report = true;
            /* §6.4.1: RTT = A - LSR - DLSR */
            if (rb->lsr && rtcp_rtt(rtcp_ntp_mid32(ntp_now), rb->lsr, rb->dlsr, &units, &ms) == 0)
                s->rtt_ms = ms;
        }
    }
}

/* ---- RTCP reports ---- */

static void send_rtcp(struct media_stream *s, bool bye)
{
    struct rtcp_build b;
    struct rtcp_report_block rb;
    uint8_t pkt[RTP_MAX_PACKET];
    size_t n;

    memset(&b, 0, sizeof(b));
    b.ssrc = s->ssrc;
    b.cname = s->cname;
    /* §6.4: SR when we sent RTP since the last report, else RR */
    if (s->sent_packets) {
        b.sr = true;
        b.si.ntp = rtcp_ntp_now();
        b.si.rtp_ts = s->ts;
        b.si.packet_count = (uint32_t) s->sent_packets;
        b.si.octet_count = (uint32_t) s->sent_octets;
    }
    if (s->have_rx) {
        rtp_stats_report(&s->stats, &rb);
        if (s->last_sr_mid) {
            rb.lsr = s->last_sr_mid;
            rb.dlsr = rtcp_dlsr_from_us(mono_us() - s->last_sr_arrival_us);
        }
        b.blocks = &rb;
        b.nblocks = 1;
    }
    b.bye = bye;
    if (rtcp_build_compound(&b, pkt, sizeof(pkt), &n) != 0)
        return;
    if (sendto(s->rtcp_fd, pkt, n, MSG_DONTWAIT, &s->p.remote_rtcp.u.sa, s->p.remote_rtcp.len) ==
        (ssize_t) n)
        s->rtcp_sent++;
}

static uint64_t rtcp_interval(void)
{
    /* §6.3.1: randomised over [0.5, 1.5] times the interval, so that
     * participants do not report in step */
    return RTCP_INTERVAL_MS / 2 + sk_rand64() % RTCP_INTERVAL_MS;
}

static void on_rtcp_timer(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct media_stream *s = arg;
    if (s->stopped)
        return;
    send_rtcp(s, false);
    if (sk_timer_start(loop, t, rtcp_interval()))
        SK_WARN("no timer for RTCP: this stream sends no more reports");
}

static void on_watch(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct media_stream *s = arg;
    uint64_t now = sk_loop_now(loop);
    uint64_t since = s->have_rx ? s->last_rx_ms : s->started_ms;

    /* a hold lifted: the peer's silence while held is no timeout */
    if (s->recv_since_ms > since)
        since = s->recv_since_ms;

    if (s->stopped)
        return;
    if (s->rtp_timeout_s && s->p.recv && now - since >= (uint64_t) s->rtp_timeout_s * 1000u) {
        if (s->ev.timeout)
            s->ev.timeout(s->ev.arg);
        return;
    }
    if (s->rec)
        wav_writer_sync(s->rec);
    if (sk_timer_start(loop, t, 1000))
        SK_WARN("no timer for the stream watch: no RTP timeout, the WAV header is not kept current");
}

/* ---- Life cycle ---- */

static int bind_udp(const struct sk_sa *ip, uint16_t port, int *fdp)
{
    struct sk_sa a = *ip;
    int fd = socket(a.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    sk_sa_set_port(&a, port);
    if (bind(fd, &a.u.sa, a.len) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    *fdp = fd;
    return 0;
}

static int open_source(struct media_stream *s, const char *play)
{
    char msg[WAV_MSG_MAX];
    int err;

    if (!play || !*play || strcmp(play, "silence") == 0) {
        s->src = SRC_SILENCE;
        return 0;
    }
    if (strncmp(play, "tone:", 5) == 0) {
        double hz = atof(play + 5);
        if (hz < 20 || hz > 3900) {
            SK_ERROR("--play %s: the tone must be between 20 and 3900 Hz", play);
            return EINVAL;
        }
        s->src = SRC_TONE;
        if ((err = tone_init(&s->tone, hz, 8000.0, 8000)))
            return err;
        /* a whole number of Hz repeats every 8000 / gcd(hz, 8000) samples */
        if (hz == (double) (unsigned) hz) {
            unsigned a = (unsigned) hz, b = 8000, t;
            while (b) {
                t = a % b;
                a = b;
                b = t;
            }
            if (8000u / a <= TONE_CYCLE_MAX) {
                s->cycle_pcm = malloc(8000u / a * sizeof(*s->cycle_pcm));
                s->cycle_enc = malloc(8000u / a);
                if (!s->cycle_pcm || !s->cycle_enc)
                    return ENOMEM;
                s->cycle_n = 8000u / a;
                tone_fill(&s->tone, s->cycle_pcm, s->cycle_n);
            }
        }
        return 0;
    }
    if ((err = wav_read_file(play, &s->wav, msg, sizeof(msg)))) {
        SK_ERROR("--play %s: %s", play, msg);
        return err;
    }
    if (s->wav.n == 0) {
        SK_ERROR("--play %s: the file has no samples", play);
        wav_audio_free(&s->wav);
        return EINVAL;
    }
    s->src = SRC_WAV;
    return 0;
}

int media_stream_new(struct media_stream **sp, struct sk_loop *loop, const struct sk_sa *local_ip,
                     uint16_t port_min, uint16_t port_max, uint16_t *next_port,
                     const char *play, const char *record, uint32_t rtp_timeout_s,
                     const struct media_stream_events *ev)
{
    struct media_stream *s = calloc(1, sizeof(*s));
    unsigned span, tries;
    int err = EADDRINUSE;

    if (!s)
        return ENOMEM;
    s->loop = loop;
    s->rtp_fd = s->rtcp_fd = -1;
    s->ev = *ev;
    s->rtp_timeout_s = rtp_timeout_s;
    s->local = *local_ip;
    s->ssrc = (uint32_t) sk_rand64();
    s->seq = s->seq0 = (uint16_t) sk_rand64();
    s->ts = (uint32_t) sk_rand64();
    s->rtt_ms = -1;
    snprintf(s->cname, sizeof(s->cname), "sipkit-%08x", (unsigned) sk_rand64());
    sk_timer_init(&s->t_rtcp, on_rtcp_timer, s);
    sk_timer_init(&s->t_watch, on_watch, s);
    rtp_dtmf_rx_init(&s->dtmf_rx);
    /* an even RTP port and the odd one above it for RTCP (RFC 3550 §11) */
    port_min = (uint16_t) ((port_min + 1u) & ~1u);
    span = port_max > port_min ? ((unsigned) (port_max - port_min) + 1u) / 2u : 1u; /* pairs */
    for (tries = 0; tries < span && tries < 512; tries++) {
        uint16_t port = *next_port;
        if (port < port_min || port + 1u > port_max)
            port = port_min;
        port &= (uint16_t) ~1u;
        *next_port = (uint16_t) (port + 2u);
        if (bind_udp(local_ip, port, &s->rtp_fd) != 0)
            continue;
        if (bind_udp(local_ip, (uint16_t) (port + 1u), &s->rtcp_fd) != 0) {
            close(s->rtp_fd);
            s->rtp_fd = -1;
            continue;
        }
        s->port = port;
        err = 0;
        break;
    }
    if (err) {
        SK_ERROR("no free RTP port pair in %u-%u", port_min, port_max);
        goto fail;
    }
    if ((err = open_source(s, play)))
        goto fail;
    if (record) {
        if ((err = wav_writer_open(&s->rec, record, WAV_FORMAT_PCM))) {
            SK_ERROR("--record %s: %s", record, strerror(err));
            goto fail;
        }
    }
    if ((err = sk_loop_add_fd(loop, s->rtp_fd, EPOLLIN, on_rtp, s)) ||
        (err = sk_loop_add_fd(loop, s->rtcp_fd, EPOLLIN, on_rtcp, s)))
        goto fail;
    *sp = s;
    return 0;
fail:
    media_stream_free(s);
    return err;
}

uint16_t media_stream_port(const struct media_stream *s)
{
    return s->port;
}

int media_stream_start(struct media_stream *s, const struct media_stream_params *p)
{
    bool first = !s->started;
    int err;

    /* G.711 by its name: PCMU may come on a dynamic payload type too */
    bool alaw = strcasecmp(p->codec, "PCMA") == 0;
    if (p->clock_rate != 8000 || (!alaw && strcasecmp(p->codec, "PCMU") != 0) || p->pt > 127 ||
        p->ptime_ms < 10 || p->ptime_ms * 8u > FRAME_MAX_SAMPLES)
        return EINVAL;
    /* RFC 3264 §8.4: a direction change (hold, resume) only gates the RTP we
     * send (RTCP goes on); expecting RTP again starts the timeout afresh */
    if (p->recv && (first || !s->p.recv))
        s->recv_since_ms = sk_loop_now(s->loop);
    s->p = *p;
    s->alaw = alaw;
    s->latched_rtp = s->latched_rtcp = false;
    s->samples_per_frame = p->ptime_ms * (p->clock_rate / 1000u);
    if (s->cycle_n) {
        if (s->alaw)
            g711_alaw_encode_block(s->cycle_pcm, s->cycle_enc, s->cycle_n);
        else
            g711_ulaw_encode_block(s->cycle_pcm, s->cycle_enc, s->cycle_n);
    }
    if (first) {
        rtp_stats_init(&s->stats, p->clock_rate);
        rtp_dtmf_tx_init(&s->dtmf_tx, p->clock_rate, p->ptime_ms);
        struct jbuf_config jc;
        jbuf_config_default(&jc);
        jc.clock_rate = p->clock_rate;
        jc.ptime_ms = p->ptime_ms;
        if ((err = jbuf_new(&s->jb, &jc)))
            return err;
        s->started_ms = sk_loop_now(s->loop);
        /* §6.3.6 / §6.2: the first report after half the interval, so a short
         * call still learns its round-trip time */
        if ((err = sk_timer_start(s->loop, &s->t_rtcp, rtcp_interval() / 2)) ||
            (err = sk_timer_start(s->loop, &s->t_watch, 1000))) {
            /* not started: undo, so that a later start begins afresh */
            sk_timer_stop(s->loop, &s->t_rtcp);
            jbuf_free(s->jb);
            s->jb = NULL;
            return err;
        }
    }
    /* the sender's clock, shared with the loop's other streams of this ptime */
    if ((err = clock_join(s, p->ptime_ms)))
        return err;
    s->started = true;
    return 0;
}

int media_stream_send_dtmf(struct media_stream *s, const char *digits)
{
    size_t have = strlen(s->dtmf_queue + s->dtmf_head), add = strlen(digits);
    uint8_t code;

    if (!s->p.dtmf_pt)
        return ENOTSUP; /* the peer did not offer telephone-event */
    if (!s->p.send)
        return EPERM; /* on hold (sendonly/inactive the other way): we may not send */
    for (size_t i = 0; i < add; i++)
        if (rtp_event_code(digits[i], &code) != 0)
            return EINVAL;
    if (have + add + 1 > sizeof(s->dtmf_queue))
        return ENOSPC;
    memmove(s->dtmf_queue, s->dtmf_queue + s->dtmf_head, have + 1);
    s->dtmf_head = 0;
    memcpy(s->dtmf_queue + have, digits, add + 1);
    return 0;
}

void media_stream_stop(struct media_stream *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->started)
        send_rtcp(s, true); /* §6.6: BYE as we leave */
    clock_leave(s);
    sk_timer_stop(s->loop, &s->t_rtcp);
    sk_timer_stop(s->loop, &s->t_watch);
    if (s->rec)
        wav_writer_sync(s->rec);
}

/* The E-model's one-way delay (QUALITY.md): half the RTT (the network), the
 * packetisation, and the jitter buffer's delay (ours for what we receive; for
 * what we send, the peer's is unknown: twice the jitter it reports, at least
 * our starting target). */
static double one_way_ms(const struct media_stream *s, double jitter_ms, bool ours)
{
    double jb = 2 * jitter_ms > JBUF_TARGET_MS ? 2 * jitter_ms : JBUF_TARGET_MS;
    if (ours && s->jb)
        jb = jbuf_target_ms(s->jb);
    return (s->rtt_ms > 0 ? s->rtt_ms / 2 : 0) + s->p.ptime_ms + jb;
}

static double mos_of(double loss_pct, double delay_ms)
{
    /* G.711 with packet-loss concealment (Bpl 25.1), random loss (BurstR 1) */
    struct emodel_in in = {.codec = emodel_g711, .loss_pct = loss_pct, .burst_r = 1,
                           .delay_ms = delay_ms, .a = 0};
    return emodel_mos(emodel_r(&in));
}

void media_stream_report(struct media_stream *s, struct media_report *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->codec, sizeof(r->codec), "%s/%u", s->p.codec, s->p.clock_rate);
    r->pt = s->p.pt;
    r->ptime_ms = s->p.ptime_ms;
    r->rtt_ms = s->rtt_ms;
    {
        struct sk_sa l = s->local;
        sk_sa_set_port(&l, s->port);
        sk_sa_str(&l, r->local, sizeof(r->local));
    }
    sk_sa_str(&s->p.remote_rtp, r->remote, sizeof(r->remote));
    r->rx.known = s->have_rx;
    if (s->have_rx) {
        int64_t lost = rtp_stats_lost(&s->stats);
        int64_t expected = s->prior_expected + rtp_stats_expected(&s->stats);
        r->rx.packets = s->prior_packets + s->stats.packets;
        r->rx.lost = s->prior_lost + (lost > 0 ? lost : 0);
        r->rx.loss_pct = expected > 0 ? 100.0 * (double) r->rx.lost / (double) expected : 0;
        if (r->rx.loss_pct > 100)
            r->rx.loss_pct = 100;
        r->rx.jitter_ms = rtp_stats_jitter_ms(&s->stats);
        r->rx.max_jitter_ms = rtp_stats_max_jitter_ms(&s->stats);
        r->rx.duplicates = s->prior_duplicates + s->stats.duplicates;
        r->rx.out_of_order = s->prior_out_of_order + s->stats.out_of_order;
        r->rx.late = s->jb ? jbuf_get_stats(s->jb)->late : 0;
    }
    r->one_way_ms = one_way_ms(s, r->rx.jitter_ms, true);
    r->rx.mos = s->have_rx ? mos_of(r->rx.loss_pct, r->one_way_ms) : 0;
    r->tx.packets = s->sent_packets;
    r->tx.known = s->peer_report;
    if (s->peer_report) {
        /* what the peer said about our stream in its last receiver report */
        /* §A.3 as the peer counts: expected = its extended highest - our first + 1 */
        uint32_t expected = s->peer_rb.ext_high_seq - s->seq0 + 1u;
        r->tx.lost = s->peer_rb.cum_lost < 0 ? 0 : s->peer_rb.cum_lost;
        r->tx.loss_pct = expected ? 100.0 * (double) r->tx.lost / (double) expected : 0;
        if (r->tx.loss_pct > 100)
            r->tx.loss_pct = 100;
        r->tx.jitter_ms = (double) s->peer_rb.jitter / (s->p.clock_rate / 1000.0);
        r->tx.mos = mos_of(r->tx.loss_pct, one_way_ms(s, r->tx.jitter_ms, false));
    }
    r->rtcp_sent = s->rtcp_sent;
    r->rtcp_received = s->rtcp_received;
    r->bad_packets = s->bad_packets;
    snprintf(r->dtmf_sent, sizeof(r->dtmf_sent), "%s", s->dtmf_sent);
    snprintf(r->dtmf_received, sizeof(r->dtmf_received), "%s", s->dtmf_received);
}

void media_stream_free(struct media_stream *s)
{
    if (!s)
        return;
    media_stream_stop(s);
    clock_leave(s); /* also when started again after a stop */
    if (s->rtp_fd >= 0) {
        sk_loop_del_fd(s->loop, s->rtp_fd);
        close(s->rtp_fd);
    }
    if (s->rtcp_fd >= 0) {
        sk_loop_del_fd(s->loop, s->rtcp_fd);
        close(s->rtcp_fd);
    }
    if (s->rec)
        wav_writer_close(s->rec);
    jbuf_free(s->jb);
    free(s->cycle_pcm);
    free(s->cycle_enc);
    wav_audio_free(&s->wav);
    free(s);
}
