/* libFuzzer target: RTP, RTCP, RFC 4733 and WAV parsers, receiver statistics and the
 * jitter buffer. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/jbuf.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtpstats.h"
#include "media/wav.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);



static void inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
    if (n == 0) return;
    CHECK(p >= buf && (size_t) (p - buf) <= len && n <= len - (size_t) (p - buf),
          "slice outside the parsed buffer");
    touch(p, n);
}

static void check_rtp(const uint8_t *buf, size_t len)
{
    struct rtp_hdr h, h2;
    struct media_error err = {0};
    uint8_t out[16384 + 64];
    size_t n;
    int rc = rtp_parse(&h, buf, len, &err);

    CHECK(rc == 0 || rc == EBADMSG, "rtp_parse returned neither 0 nor EBADMSG");
    if (rc) {
        CHECK(err.reason && err.pos <= len, "RTP error without reason or past the end");
        return;
    }
    inside(buf, len, h.payload, h.payload_len);
    inside(buf, len, h.ext, h.ext_len);
    CHECK(RTP_HEADER_MIN + 4u * h.cc + (h.extension ? 4 + h.ext_len : 0) + h.payload_len +
                  h.pad_len ==
              len,
          "RTP parts do not add up to the packet");
    /* written back and parsed again: the same header and payload */
    rc = rtp_write(&h, h.payload, h.payload_len, out, sizeof(out), &n);
    CHECK(rc == 0, "rtp_write refused a parsed header");
    CHECK(n == len, "rtp_write length differs from the parsed packet");
    CHECK(rtp_parse(&h2, out, n, NULL) == 0, "written RTP packet does not parse");
    CHECK(h2.seq == h.seq && h2.ts == h.ts && h2.ssrc == h.ssrc && h2.pt == h.pt &&
              h2.marker == h.marker && h2.cc == h.cc && h2.payload_len == h.payload_len,
          "RTP round trip changed the header");
    CHECK(h.payload_len == 0 || memcmp(h2.payload, h.payload, h.payload_len) == 0,
          "RTP round trip changed the payload");
    CHECK(rtp_write(&h, h.payload, h.payload_len, out, n - 1, &n) == ENOSPC,
          "rtp_write wrote into a buffer one byte short");
}

static void check_rtcp(const uint8_t *buf, size_t len)
{
    struct rtcp_info info, again;
    struct media_error err = {0};
    static uint8_t out[2048];
    size_t n;
    int rc = rtcp_parse_compound(&info, buf, len, &err);

    CHECK(rc == 0 || rc == EBADMSG, "rtcp_parse_compound returned neither 0 nor EBADMSG");
    if (rc) {
        CHECK(err.reason && err.pos <= len, "RTCP error without reason or past the end");
        return;
    }
    CHECK(info.nblocks <= RTCP_MAX_BLOCKS && info.nbye <= RTCP_MAX_BLOCKS,
          "too many entries");
    CHECK(strlen(info.cname) <= RTCP_CNAME_MAX &&
              strlen(info.bye_reason) <= RTCP_REASON_MAX,
          "unterminated text");
    touch(info.cname, strlen(info.cname));
    if (info.cname[0]) {
        struct rtcp_build b = {.ssrc = info.ssrc,
                               .sr = info.sr,
                               .si = info.si,
                               .blocks = info.blocks,
                               .nblocks = info.nblocks,
                               .cname = info.cname,
                               .bye = info.bye,
                               .bye_reason = info.bye_reason[0] ? info.bye_reason : NULL};

        CHECK(rtcp_build_compound(&b, out, sizeof(out), &n) == 0, "rebuild failed");
        CHECK(rtcp_parse_compound(&again, out, n, NULL) == 0,
              "rebuilt RTCP does not parse");
        CHECK(again.nblocks == info.nblocks && again.sr == info.sr &&
                  again.si.ntp == info.si.ntp && strcmp(again.cname, info.cname) == 0,
              "RTCP round trip changed the packet");
        for (size_t i = 0; i < info.nblocks; i++)
            CHECK(memcmp(&again.blocks[i], &info.blocks[i], sizeof(info.blocks[i])) == 0,
                  "RTCP round trip changed a report block");
    }
}

/* The input as records of seq (2), ts (4), arrival step (2, in 0.1 ms), flags (1). */
static void check_streams(const uint8_t *buf, size_t len)
{
    struct rtp_stats s;
    struct jbuf *jb;
    struct jbuf_config cfg;
    struct jbuf_frame f;
    int64_t t = 0;
    uint64_t packets = 0;

    rtp_stats_init(&s, 8000);
    jbuf_config_default(&cfg);
    cfg.adaptive = buf[0] & 1;
    if (jbuf_new(&jb, &cfg) != 0) abort();
    for (size_t off = 1; off + 9 <= len; off += 9) {
        const uint8_t *r = buf + off;
        uint16_t seq = (uint16_t) (r[0] << 8 | r[1]);
        uint32_t ts =
            (uint32_t) r[2] << 24 | (uint32_t) r[3] << 16 | (uint32_t) r[4] << 8 | r[5];
        uint32_t ssrc = (r[8] & 0x80) ? 2 : 1;

        t += (r[6] << 8 | r[7]) * 100;
        /* a new SSRC starts the counts again */
        packets = (s.have_source && ssrc == s.ssrc) ? packets + 1 : 1;
        rtp_stats_update(&s, ssrc, seq, ts, t, r[8] & 0x7F);
        jbuf_put(jb, ssrc, seq, ts, r[8] & 1, r, 9, t);
        if (r[8] & 2) {
            enum jbuf_result res = jbuf_get(jb, &f);

            if (res == JBUF_FRAME) {
                CHECK(f.len == 9, "jitter buffer frame of the wrong length");
                touch(f.payload, f.len);
            }
        }
        CHECK(s.jitter >= 0 && s.max_jitter >= s.jitter,
              "jitter negative or above its max");
        CHECK(rtp_stats_expected(&s) >= 0, "negative expected count");
        CHECK(jbuf_target_ms(jb) >= cfg.min_ms && jbuf_target_ms(jb) <= cfg.max_ms,
              "jitter buffer target out of bounds");
    }
    CHECK(s.packets == packets, "stats lost count of packets");
    {
        struct rtcp_report_block rb;

        rtp_stats_report(&s, &rb);
        sink += rb.fraction_lost + (unsigned) rb.cum_lost;
    }
    jbuf_free(jb);
}

/* Sender -> receiver: whatever digit and duration, the receiver reports it once. */
static void check_dtmf(const uint8_t *buf, size_t len)
{
    struct rtp_dtmf_tx tx;
    struct rtp_dtmf_rx rx;
    struct rtp_dtmf_pkt pk[RTP_DTMF_TX_MAX_PKTS];
    struct rtp_dtmf_digit d[2];
    size_t n, nd, reported = 0;
    unsigned ms = 1 + (unsigned) ((buf[0] << 8 | buf[1]) % 12000);
    char c = "0123456789*#ABCD"[buf[2] % 16];
    uint32_t ts = len >= 7 ? (uint32_t) buf[3] << 24 | (uint32_t) buf[4] << 16 |
                                 (uint32_t) buf[5] << 8 | buf[6]
                           : 0;

    rtp_dtmf_tx_init(&tx, 8000, 10 + 10 * (buf[2] >> 6));
    rtp_dtmf_rx_init(&rx);
    CHECK(rtp_dtmf_tx_start(&tx, c, ms, 10, ts) == 0, "dtmf start refused");
    for (int i = 0; rtp_dtmf_tx_active(&tx) && i < 20000; i++) {
        rtp_dtmf_tx_tick(&tx, pk, &n);
        for (size_t k = 0; k < n; k++) {
            struct rtp_event ev;

            CHECK(rtp_event_parse(&ev, pk[k].payload, RTP_EVENT_LEN, NULL) == 0,
                  "built event does not parse");
            rtp_dtmf_rx_packet(&rx, pk[k].ts, &ev, d, &nd);
            for (size_t j = 0; j < nd; j++) {
                CHECK(d[j].c == c && d[j].ended, "wrong digit reported");
                CHECK(d[j].duration == (uint32_t) ((uint64_t) ms * 8), "wrong duration");
                reported++;
            }
        }
    }
    CHECK(!rtp_dtmf_tx_active(&tx), "dtmf sender never finished");
    CHECK(reported == 1, "digit not reported exactly once");
}

static void check_events(const uint8_t *buf, size_t len)
{
    struct rtp_dtmf_rx rx;
    struct rtp_dtmf_digit d[2];
    size_t nd;

    rtp_dtmf_rx_init(&rx);
    for (size_t off = 0; off + 8 <= len; off += 8) {
        struct rtp_event ev;
        uint32_t ts = (uint32_t) buf[off] << 24 | (uint32_t) buf[off + 1] << 16 |
                      (uint32_t) buf[off + 2] << 8 | buf[off + 3];

        if (rtp_event_parse(&ev, buf + off + 4, 4, NULL) != 0) continue;
        rtp_dtmf_rx_packet(&rx, ts, &ev, d, &nd);
        CHECK(nd <= 2, "more than two digits from one packet");
    }
    if (rtp_dtmf_rx_flush(&rx, d) == 0) sink += d[0].duration;
}

static void check_wav(const uint8_t *buf, size_t len)
{
    struct wav_audio a;
    struct wav_info info;
    char msg[WAV_MSG_MAX];
    int rc = wav_read_buf(buf, len, &a, msg, sizeof(msg)), rc2;

    CHECK(rc == 0 || rc == EBADMSG || rc == ENOTSUP || rc == EFBIG,
          "wav_read_buf returned an unexpected code");
    if (rc == 0) {
        CHECK(a.n == a.info.nsamples, "sample count differs from the header's");
        touch(a.samples, a.n * sizeof(a.samples[0]));
    } else {
        CHECK(a.samples == NULL, "samples left after a failure");
        CHECK(strlen(msg) > 0, "failure without a message");
    }
    rc2 = wav_probe_buf(buf, len, &info, msg, sizeof(msg));
    CHECK(rc2 == rc, "probe and read disagree");
    wav_audio_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_exact(data, size);

    check_rtp(p, size);
    check_rtcp(p, size);
    check_events(p, size);
    check_wav(p, size);
    if (size >= 3) {
        check_streams(p, size);
        check_dtmf(p, size);
    }
    free(p);
    return 0;
}
