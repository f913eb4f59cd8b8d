/* Tests of RTP headers (RFC 3550 §5.1) and RFC 4733 telephone events: layout, sender,
 * receiver. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "media/rtp.h"

static int parse_guarded(struct rtp_hdr *h, const uint8_t *p, size_t len,
                         struct media_error *err)
{
    struct tu_guard g;
    const uint8_t *copy = (const uint8_t *) tu_guard_copy(&g, p, len);
    int rc = rtp_parse(h, copy, len, err);

    /* slices point into the copy: rebase them onto p before the copy goes */
    if (rc == 0) {
        if (h->payload) h->payload = p + (h->payload - copy);
        if (h->ext) h->ext = p + (h->ext - copy);
    }
    tu_guard_free(&g);
    return rc;
}

static void test_parse_full(void **state)
{
    /* V=2 P=1 X=1 CC=2, M=1 PT=0, seq 0xABCD, ts 0x01020304, ssrc 0x11223344,
     * 2 CSRCs, extension profile 0xBEDE with 1 word, payload "hi", 2 padding bytes. */
    static const uint8_t pkt[] = {
        0xB2, 0x80, 0xAB, 0xCD, 1,    2,    3, 4, 0x11, 0x22, 0x33, 0x44, 0,   0,   0, 5,
        0,    0,    0,    6,    0xBE, 0xDE, 0, 1, 9,    9,    9,    9,    'h', 'i', 0, 2};
    struct rtp_hdr h;
    struct media_error err = {0};
    (void) state;

    assert_int_equal(parse_guarded(&h, pkt, sizeof(pkt), &err), 0);
    assert_int_equal(h.version, 2);
    assert_true(h.padding && h.extension && h.marker);
    assert_int_equal(h.cc, 2);
    assert_int_equal(h.pt, 0);
    assert_int_equal(h.seq, 0xABCD);
    assert_int_equal(h.ts, 0x01020304);
    assert_int_equal(h.ssrc, 0x11223344);
    assert_int_equal(h.csrc[0], 5);
    assert_int_equal(h.csrc[1], 6);
    assert_int_equal(h.ext_profile, 0xBEDE);
    assert_int_equal(h.ext_len, 4);
    assert_int_equal(h.payload_len, 2);
    assert_memory_equal(h.payload, "hi", 2);
    assert_int_equal(h.pad_len, 2);

    /* written back, byte for byte */
    uint8_t out[64];
    size_t n;
    assert_int_equal(rtp_write(&h, h.payload, h.payload_len, out, sizeof(out), &n), 0);
    assert_int_equal(n, sizeof(pkt));
    assert_memory_equal(out, pkt, sizeof(pkt));
    assert_int_equal(rtp_write(&h, h.payload, h.payload_len, out, sizeof(pkt) - 1, &n),
                     ENOSPC);

    /* every shorter prefix either fails cleanly or parses (never over-reads) */
    for (size_t len = 0; len < sizeof(pkt); len++) {
        int rc = parse_guarded(&h, pkt, len, &err);

        assert_true(rc == 0 || (rc == EBADMSG && err.reason && err.pos <= len));
    }
}

static void expect_bad(const uint8_t *p, size_t len, const char *reason)
{
    struct rtp_hdr h;
    struct media_error err = {0};

    assert_int_equal(parse_guarded(&h, p, len, &err), EBADMSG);
    assert_non_null(err.reason);
    assert_string_equal(err.reason, reason);
}

static void test_parse_refusals(void **state)
{
    uint8_t p[32] = {0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    struct rtp_hdr h;
    (void) state;

    expect_bad(p, 11, "shorter than the 12-byte RTP header");
    p[0] = 0x40;
    expect_bad(p, 12, "RTP version is not 2");
    p[0] = 0x00;
    expect_bad(p, 12, "RTP version is not 2");
    p[0] = 0x83; /* CC=3 needs 24 bytes */
    expect_bad(p, 20, "CSRC list longer than the packet");
    p[0] = 0xA0; /* padding, count 0 */
    p[15] = 0;
    expect_bad(p, 16, "padding count is 0");
    p[15] = 5; /* 5 > the 4 bytes after the header */
    expect_bad(p, 16, "padding longer than the payload");
    p[15] = 4; /* padding takes the whole payload: empty, fine */
    assert_int_equal(rtp_parse(&h, p, 16, NULL), 0);
    assert_int_equal(h.payload_len, 0);
    p[0] = 0x90; /* extension header cut short */
    expect_bad(p, 14, "header extension truncated");
    p[12] = 0xBE, p[13] = 0xDE, p[14] = 0, p[15] = 2; /* 2 words, only 1 present */
    expect_bad(p, 20, "header extension longer than the packet");
    assert_int_equal(rtp_parse(&h, p, 24, NULL), 0);
    assert_int_equal(h.ext_len, 8);
    assert_int_equal(h.payload_len, 0);
    p[0] = 0x80; /* plain header with no payload */
    assert_int_equal(rtp_parse(&h, p, 12, NULL), 0);
    assert_int_equal(h.payload_len, 0);
}

static void test_event_payload(void **state)
{
    struct rtp_event ev = {.event = 11, .end = true, .volume = 63, .duration = 0x1234},
                     back;
    uint8_t b[4];
    (void) state;

    assert_int_equal(rtp_event_build(&ev, b), 0);
    assert_memory_equal(b, "\x0B\xBF\x12\x34", 4);
    assert_int_equal(rtp_event_parse(&back, b, 4, NULL), 0);
    assert_int_equal(back.event, 11);
    assert_true(back.end);
    assert_int_equal(back.volume, 63);
    assert_int_equal(back.duration, 0x1234);
    b[1] |= 0x40; /* R bit is ignored */
    assert_int_equal(rtp_event_parse(&back, b, 4, NULL), 0);
    assert_int_equal(back.volume, 63);
    assert_int_equal(rtp_event_parse(&back, b, 3, NULL), EBADMSG);
    ev.volume = 64;
    assert_int_equal(rtp_event_build(&ev, b), EINVAL);

    static const char chars[] = "0123456789*#ABCD";
    for (uint8_t i = 0; i < 16; i++) {
        uint8_t code;

        assert_int_equal(rtp_event_char(i), chars[i]);
        assert_int_equal(rtp_event_code(chars[i], &code), 0);
        assert_int_equal(code, i);
    }
    uint8_t code;
    assert_int_equal(rtp_event_code('d', &code), 0);
    assert_int_equal(code, 15);
    assert_int_equal(rtp_event_code('E', &code), EINVAL);
    assert_int_equal(rtp_event_char(16), 0);
}

/* Collect every packet of one event as RTP bytes (seq from 1000, pt 101). */
struct sent {
    uint8_t pkt[40][16];
    struct rtp_dtmf_pkt dp[40];
    size_t n;
    size_t ticks;
};

static void send_all(struct rtp_dtmf_tx *tx, struct sent *s, size_t max)
{
    struct rtp_dtmf_pkt pk[RTP_DTMF_TX_MAX_PKTS];
    size_t n;

    s->n = 0;
    s->ticks = 0;
    while (rtp_dtmf_tx_active(tx) && s->ticks < 100000) {
        rtp_dtmf_tx_tick(tx, pk, &n);
        s->ticks++;
        for (size_t i = 0; i < n; i++) {
            if (s->n < max) {
                struct rtp_hdr h = {.marker = pk[i].marker,
                                    .pt = 101,
                                    .seq = (uint16_t) (1000 + s->n),
                                    .ts = pk[i].ts,
                                    .ssrc = 0xDEADBEEF};
                size_t len;

                assert_int_equal(
                    rtp_write(&h, pk[i].payload, RTP_EVENT_LEN, s->pkt[s->n], 16, &len),
                    0);
                assert_int_equal(len, 16);
                s->dp[s->n] = pk[i];
            }
            s->n++;
        }
    }
}

static void test_sender_layout(void **state)
{
    struct rtp_dtmf_tx tx;
    struct sent s;
    (void) state;

    assert_int_equal(rtp_dtmf_tx_init(&tx, 8000, 20), 0);
    /* '5', 100 ms = 800 units at 8 kHz, volume 10, event timestamp 0x12345678 */
    assert_int_equal(rtp_dtmf_tx_start(&tx, '5', 100, 10, 0x12345678), 0);
    assert_int_equal(rtp_dtmf_tx_start(&tx, '6', 100, 10, 0), EBUSY);
    send_all(&tx, &s, 40);
    assert_int_equal(s.n, 7); /* 160, 320, 480, 640, then 800 with E three times */
    assert_int_equal(s.ticks, 7);
    /* start: marker + PT 101, seq 1000, ts, ssrc | event 5, E=0 vol 10, duration 160 */
    assert_memory_equal(
        s.pkt[0], "\x80\xE5\x03\xE8\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x0A\x00\xA0", 16);
    /* continuation: no marker, same timestamp, duration 320 */
    assert_memory_equal(
        s.pkt[1], "\x80\x65\x03\xE9\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x0A\x01\x40", 16);
    assert_memory_equal(
        s.pkt[3], "\x80\x65\x03\xEB\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x0A\x02\x80", 16);
    /* end: E bit, duration 800, three times with new sequence numbers */
    assert_memory_equal(
        s.pkt[4], "\x80\x65\x03\xEC\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x8A\x03\x20", 16);
    assert_memory_equal(
        s.pkt[5], "\x80\x65\x03\xED\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x8A\x03\x20", 16);
    assert_memory_equal(
        s.pkt[6], "\x80\x65\x03\xEE\x12\x34\x56\x78\xDE\xAD\xBE\xEF\x05\x8A\x03\x20", 16);
    assert_false(rtp_dtmf_tx_active(&tx));

    /* a digit shorter than ptime: a single E packet, three times, marker on the first */
    assert_int_equal(rtp_dtmf_tx_start(&tx, '#', 10, 10, 5), 0);
    send_all(&tx, &s, 40);
    assert_int_equal(s.n, 3);
    assert_true(s.dp[0].marker && s.dp[0].ev.end && s.dp[0].ev.duration == 80);
    assert_true(!s.dp[1].marker && s.dp[2].ev.end);
    /* a 10 s digit ended after the second packet: E with 480 on the third tick */
    assert_int_equal(rtp_dtmf_tx_start(&tx, '7', 10000, 10, 9), 0);
    {
        struct rtp_dtmf_pkt pk[RTP_DTMF_TX_MAX_PKTS];
        size_t n;

        rtp_dtmf_tx_tick(&tx, pk, &n);
        rtp_dtmf_tx_tick(&tx, pk, &n);
        rtp_dtmf_tx_end(&tx);
        send_all(&tx, &s, 40);
        assert_int_equal(s.n, 3);
        assert_true(s.dp[0].ev.end && s.dp[0].ev.duration == 480 && !s.dp[0].marker);
        assert_true(s.dp[2].ev.end && s.dp[2].ev.duration == 480);
    }
    assert_int_equal(rtp_dtmf_tx_start(&tx, 'x', 100, 10, 0), EINVAL);
    assert_int_equal(rtp_dtmf_tx_init(&tx, 8000, 0), EINVAL);
}

static void feed(struct rtp_dtmf_rx *rx, const struct rtp_dtmf_pkt *p,
                 struct rtp_dtmf_digit *got, size_t *ngot)
{
    struct rtp_dtmf_digit d[2];
    size_t n;

    rtp_dtmf_rx_packet(rx, p->ts, &p->ev, d, &n);
    for (size_t i = 0; i < n; i++)
        got[(*ngot)++] = d[i];
}

static void test_long_event(void **state)
{
    struct rtp_dtmf_tx tx;
    struct rtp_dtmf_rx rx;
    struct rtp_dtmf_pkt pk[RTP_DTMF_TX_MAX_PKTS];
    struct rtp_dtmf_digit got[4];
    size_t n, ngot = 0, total = 0, seg_ends = 0, ends = 0, markers = 0;
    (void) state;

    /* 10 s = 80000 units: segment 1 [ts, 0xFFFF], segment 2 at ts + 0xFFFF with 14465 */
    rtp_dtmf_tx_init(&tx, 8000, 20);
    rtp_dtmf_rx_init(&rx);
    assert_int_equal(rtp_dtmf_tx_start(&tx, '1', 10000, 10, 0xFFFF0000u), 0);
    while (rtp_dtmf_tx_active(&tx) && total < 1000) {
        rtp_dtmf_tx_tick(&tx, pk, &n);
        for (size_t i = 0; i < n; i++, total++) {
            markers += pk[i].marker;
            if (pk[i].ts == 0xFFFF0000u) {
                assert_false(pk[i].ev.end);
                seg_ends += pk[i].ev.duration == 0xFFFF;
            } else {
                assert_int_equal(pk[i].ts, 0xFFFF0000u + 0xFFFFu); /* wraps to 0xFFFE */
                assert_false(pk[i].marker);
                if (pk[i].ev.end) {
                    ends++;
                    assert_int_equal(pk[i].ev.duration, 80000 - 65535);
                }
            }
            feed(&rx, &pk[i], got, &ngot);
        }
    }
    assert_int_equal(markers, 1);
    assert_int_equal(seg_ends, 3);
    assert_int_equal(ends, 3);
    assert_int_equal(ngot, 1);
    assert_int_equal(got[0].c, '1');
    assert_int_equal(got[0].duration, 80000);
    assert_int_equal(got[0].ts, 0xFFFF0000u);
    assert_true(got[0].ended);
}

static void make(struct rtp_dtmf_pkt *p, uint32_t ts, uint8_t event, uint16_t dur,
                 bool end)
{
    memset(p, 0, sizeof(*p));
    p->ts = ts;
    p->ev.event = event;
    p->ev.duration = dur;
    p->ev.end = end;
    p->ev.volume = 10;
}

static void test_receiver(void **state)
{
    struct rtp_dtmf_rx rx;
    struct rtp_dtmf_pkt p;
    struct rtp_dtmf_digit got[8];
    size_t ngot = 0;
    (void) state;

    rtp_dtmf_rx_init(&rx);
    /* '1': start lost; continuation, end three times, a late continuation */
    make(&p, 1000, 1, 320, false), feed(&rx, &p, got, &ngot);
    make(&p, 1000, 1, 480, true), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 1);
    feed(&rx, &p, got, &ngot);
    feed(&rx, &p, got, &ngot);
    make(&p, 1000, 1, 160, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 1);
    assert_int_equal(got[0].c, '1');
    assert_int_equal(got[0].duration, 480);
    assert_true(got[0].ended);

    /* '5' then '5' again: two digits (new timestamp); every end of the first lost */
    make(&p, 3000, 5, 160, false), feed(&rx, &p, got, &ngot);
    make(&p, 3000, 5, 320, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 1);
    make(&p, 5000, 5, 160, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 2);
    assert_int_equal(got[1].c, '5');
    assert_int_equal(got[1].duration, 320);
    assert_false(got[1].ended);
    /* an end arriving before a reordered continuation */
    make(&p, 5000, 5, 800, true), feed(&rx, &p, got, &ngot);
    make(&p, 5000, 5, 640, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 3);
    assert_int_equal(got[2].duration, 800);
    /* a stray packet of the earlier digit is not a new one */
    make(&p, 3000, 5, 480, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 3);

    /* an event in progress, its ends lost, then an event that is one E packet */
    make(&p, 9000, 10, 160, false), feed(&rx, &p, got, &ngot);
    make(&p, 11000, 11, 400, true), feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 5);
    assert_int_equal(got[3].c, '*');
    assert_int_equal(got[4].c, '#');
    assert_int_equal(got[4].duration, 400);

    /* flush reports what is left, once */
    make(&p, 13000, 12, 160, false), feed(&rx, &p, got, &ngot);
    assert_int_equal(rtp_dtmf_rx_flush(&rx, &got[5]), 0);
    assert_int_equal(got[5].c, 'A');
    assert_int_equal(rtp_dtmf_rx_flush(&rx, &got[5]), ENOENT);
    feed(&rx, &p, got, &ngot);
    assert_int_equal(ngot, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),    cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_event_payload), cmocka_unit_test(test_sender_layout),
        cmocka_unit_test(test_long_event),    cmocka_unit_test(test_receiver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
