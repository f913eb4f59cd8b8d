/* The phone's media path end to end without sockets: tone -> G.711 -> RTP -> stats/jbuf
 * -> WAV -> analysis. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/g711.h"
#include "media/jbuf.h"
#include "media/rtp.h"
#include "media/rtpstats.h"
#include "media/tone.h"
#include "media/wav.h"

#define FRAMES 150 /* 3 s of 20 ms */
#define N 160

static void test_pipeline(void **state)
{
    static uint8_t pkt[FRAMES][N + RTP_HEADER_MIN];
    static int16_t sent[FRAMES * N];
    size_t plen[FRAMES], order[FRAMES + 1], norder = 0;
    struct tone_gen g;
    struct rtp_stats st;
    struct jbuf *jb;
    struct jbuf_config cfg;
    struct wav_writer *w;
    struct wav_audio got;
    char path[64], msg[WAV_MSG_MAX];
    double hz, amp;
    long lag;
    double coef;
    (void) state;

    /* sender: 1 kHz at -12 dBFS, 20 ms PCMU packets */
    tone_init(&g, 1000, 8000, 8000);
    for (size_t k = 0; k < FRAMES; k++) {
        uint8_t ulaw[N];
        struct rtp_hdr h = {.marker = k == 0,
                            .pt = G711_PT_PCMU,
                            .seq = (uint16_t) (65500 + k),
                            .ts = 0xFFFF0000u + 160u * (uint32_t) k,
                            .ssrc = 42};

        tone_fill(&g, sent + k * N, N);
        g711_ulaw_encode_block(sent + k * N, ulaw, N);
        assert_int_equal(rtp_write(&h, ulaw, N, pkt[k], sizeof(pkt[k]), &plen[k]), 0);
    }
    /* network: every 10th pair swapped, packet 77 duplicated */
    for (size_t k = 0; k < FRAMES; k++) {
        if (k % 10 == 4 && k + 1 < FRAMES) {
            order[norder++] = k + 1;
            order[norder++] = k;
            k++;
        } else {
            order[norder++] = k;
        }
        if (k == 77) order[norder++] = k;
    }
    /* receiver: one packet per 20 ms (reordered ones arrive together), one tick each */
    rtp_stats_init(&st, 8000);
    jbuf_config_default(&cfg);
    cfg.adaptive = false;
    assert_int_equal(jbuf_new(&jb, &cfg), 0);
    snprintf(path, sizeof(path), "/tmp/sipkit-pipe-%d.wav", (int) getpid());
    assert_int_equal(wav_writer_open(&w, path, WAV_FORMAT_PCM), 0);
    for (size_t i = 0; i < norder + 10; i++) {
        struct jbuf_frame f;
        int16_t pcm[N];

        if (i < norder) {
            struct rtp_hdr h;

            assert_int_equal(rtp_parse(&h, pkt[order[i]], plen[order[i]], NULL), 0);
            rtp_stats_update(&st, h.ssrc, h.seq, h.ts, 20000 * (int64_t) i,
                             h.payload_len);
            jbuf_put(jb, h.ssrc, h.seq, h.ts, h.marker, h.payload, h.payload_len,
                     20000 * (int64_t) i);
        }
        if (jbuf_get(jb, &f) == JBUF_FRAME)
            g711_ulaw_decode_block(f.payload, pcm, f.len);
        else
            tone_silence(pcm, N);
        assert_int_equal(wav_writer_append(w, pcm, N), 0);
    }
    assert_int_equal(wav_writer_close(w), 0);

    assert_int_equal(st.packets, FRAMES + 1);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.out_of_order, 15);     /* k = 4, 14 ... 144 */
    assert_int_equal(rtp_stats_lost(&st), -1); /* the duplicate */
    assert_int_equal(st.cycles, 65536);
    assert_int_equal(jbuf_get_stats(jb)->played, FRAMES);
    assert_int_equal(jbuf_get_stats(jb)->duplicates, 1);
    assert_int_equal(jbuf_get_stats(jb)->late, 0);
    jbuf_free(jb);

    /* what was recorded is the tone, delayed by the buffer's 40 ms */
    assert_int_equal(wav_read_file(path, &got, msg, sizeof(msg)), 0);
    unlink(path);
    assert_int_equal(tone_dominant(got.samples + 800, got.n - 800, 8000, &hz, &amp), 0);
    assert_true(hz > 999 && hz < 1001);
    assert_true(amp > 7800 && amp < 8200);
    assert_int_equal(tone_xcorr(sent, FRAMES * N, got.samples, got.n, 800, &lag, &coef),
                     0);
    assert_true(coef > 0.99);
    assert_int_equal(lag % 8, 0); /* a 1 kHz tone repeats every 8 samples */
    wav_audio_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
