/* Tests of RFC 3264 offer/answer: our offer, answers (order, rejection, codec pick,
 * direction, hold), applying an answer, sess-version. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

struct ctx {
    struct sdp_session offer, answer, tmp;
    struct sdp_local l;
    struct sdp_neg neg;
    struct sdp_oa_fail fail;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    if (!c || sdp_local_init(&c->l, "192.0.2.10", 40000)) return -1;
    c->l.sess_id = 1000;
    c->l.sess_version = 1000;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void parse_into(struct sdp_session *s, const char *text)
{
    struct sdp_error err;
    if (sdp_parse(s, text, strlen(text), &err))
        fail_msg("parse: %s\n%s", err.reason, text);
}

/* print, then parse back: what the peer sees; must equal the struct */
static void print_parse(const struct sdp_session *s, struct sdp_session *out,
                        struct sk_buf *b)
{
    struct sdp_error err;

    sk_buf_reset(b);
    assert_int_equal(sdp_print(s, b), 0);
    if (sdp_parse(out, b->p, b->len, &err))
        fail_msg("printed SDP does not parse: %s\n%s", err.reason, b->p);
    assert_true(sdp_session_equal(s, out));
}

#define OFFER_HEAD                                                                       \
    "v=0\r\no=bob 2890844730 2890844731 IN IP4 198.51.100.7\r\ns=-\r\n"                  \
    "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"

static void answer_ok(struct ctx *c, const char *offer_text)
{
    parse_into(&c->offer, offer_text);
    int rc = sdp_answer_new(&c->offer, &c->l, &c->answer, &c->neg, &c->fail);
    if (rc) fail_msg("answer failed (%d): %d %s", rc, c->fail.warn_code, c->fail.text);
}

static void test_offer_text(void **state)
{
    struct ctx *c = *state;
    struct sk_buf b;

    sk_buf_init(&b);
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_int_equal(sdp_print(&c->offer, &b), 0);
    assert_string_equal(b.p, "v=0\r\n"
                             "o=- 1000 1000 IN IP4 192.0.2.10\r\n"
                             "s=-\r\n"
                             "c=IN IP4 192.0.2.10\r\n"
                             "t=0 0\r\n"
                             "m=audio 40000 RTP/AVP 0 8 101\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\n"
                             "a=rtpmap:101 telephone-event/8000\r\n"
                             "a=fmtp:101 0-16\r\n"
                             "a=ptime:20\r\n"
                             "a=sendrecv\r\n");
    print_parse(&c->offer, &c->tmp, &b);
    /* no telephone-event, one codec, IPv6 */
    assert_int_equal(sdp_local_init(&c->l, "2001:db8::5", 5004), 0);
    c->l.sess_id = c->l.sess_version = 7;
    c->l.te_pt = 0;
    c->l.ncodec = 1;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    sk_buf_reset(&b);
    assert_int_equal(sdp_print(&c->offer, &b), 0);
    assert_string_equal(
        b.p, "v=0\r\no=- 7 7 IN IP6 2001:db8::5\r\ns=-\r\nc=IN IP6 2001:db8::5\r\n"
             "t=0 0\r\nm=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
             "a=ptime:20\r\na=sendrecv\r\n");
    /* bad local configurations */
    assert_int_equal(sdp_local_init(&c->l, "not-an-ip", 5004), EINVAL);
    assert_int_equal(sdp_local_init(&c->l, "192.0.2.1", 5004), 0);
    c->l.codec[1].pt = 0;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), EINVAL);
    c->l.codec[1].pt = 101; /* the telephone-event type */
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), EINVAL);
    c->l.codec[1].pt = 8;
    c->l.ncodec = 0;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), EINVAL);
    c->l.ncodec = 2;
    strcpy(c->l.codec[0].name, "PC MU");
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), EINVAL);
    sk_buf_free(&b);
}

/* RFC 3264 §8: the version moves by one when, and only when, the description changes. */
static void test_version_bump(void **state)
{
    struct ctx *c = *state;

    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1000);
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1000); /* same: kept */
    c->l.dir = SDP_DIR_SENDONLY;                       /* hold */
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1001);
    assert_int_equal(c->offer.media[0].dir, SDP_DIR_SENDONLY);
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1001);
    c->l.dir = SDP_DIR_SENDRECV; /* resume */
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1002);
    c->l.port = 40002;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1003);
    strcpy(c->l.addr, "192.0.2.11");
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1004);
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    assert_true(c->offer.origin.sess_version == 1004);
    assert_true(c->offer.origin.sess_id == 1000);
    /* an answer is a description of the same session: the same rule */
    answer_ok(c, OFFER_HEAD "m=audio 3456 RTP/AVP 0\r\n");
    assert_true(c->answer.origin.sess_version == 1005);
    answer_ok(c, OFFER_HEAD "m=audio 3456 RTP/AVP 0\r\n");
    assert_true(c->answer.origin.sess_version == 1005); /* re-INVITE with the same SDP */
    answer_ok(c, OFFER_HEAD "m=audio 3456 RTP/AVP 0\r\na=sendonly\r\n");
    assert_true(c->answer.origin.sess_version == 1006); /* held: recvonly now */
    assert_int_equal(c->answer.media[0].dir, SDP_DIR_RECVONLY);
}

/* §6: the answer keeps the offer's m= lines in order and count; what we
 * cannot take has port 0 and a valid format list. */
static void test_answer_order_and_reject(void **state)
{
    struct ctx *c = *state;
    struct sk_buf b;

    sk_buf_init(&b);
    answer_ok(c,
              OFFER_HEAD "m=video 5000 RTP/AVP 31 96\r\na=rtpmap:96 H264/90000\r\n"
                         "m=audio 0 RTP/AVP 0\r\n"
                         "m=audio 5002 RTP/SAVP 0\r\n"
                         "m=audio 5004 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\n"
                         "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
                         "m=audio 5006 RTP/AVP 0\r\n"
                         "m=image 5008 udptl t38\r\n");
    assert_int_equal(c->answer.nmedia, 6);
    static const char *const types[] = {"video", "audio", "audio",
                                        "audio", "audio", "image"};
    static const char *const protos[] = {"RTP/AVP", "RTP/AVP", "RTP/SAVP",
                                         "RTP/AVP", "RTP/AVP", "udptl"};
    for (unsigned i = 0; i < 6; i++) {
        assert_string_equal(c->answer.media[i].type, types[i]);
        assert_string_equal(c->answer.media[i].proto, protos[i]);
        assert_true(c->answer.media[i].nfmt >= 1);
        assert_int_equal(c->answer.media[i].port, i == 3 ? 40000 : 0);
    }
    assert_string_equal(c->answer.media[0].fmt[0].id, "31");
    assert_string_equal(c->answer.media[5].fmt[0].id, "t38");
    /* the accepted line: PCMU (first of the offerer's we have) and its events */
    assert_int_equal(c->answer.media[3].nfmt, 2);
    assert_int_equal(c->answer.media[3].fmt[0].pt, 0);
    assert_int_equal(c->answer.media[3].fmt[1].pt, 101);
    assert_true(c->neg.active);
    assert_int_equal(c->neg.media_index, 3);
    assert_int_equal(c->neg.codec.pt, 0);
    assert_string_equal(c->neg.codec.name, "PCMU");
    assert_int_equal(c->neg.codec.clock, 8000);
    assert_int_equal(c->neg.te_pt, 101);
    print_parse(&c->answer, &c->tmp, &b);
    assert_non_null(strstr(b.p,
                           "m=video 0 RTP/AVP 31\r\nm=audio 0 RTP/AVP 0\r\n"
                           "m=audio 0 RTP/SAVP 0\r\nm=audio 40000 RTP/AVP 0 101\r\n"));
    assert_non_null(strstr(b.p, "m=audio 0 RTP/AVP 0\r\nm=image 0 udptl t38\r\n"));
    sk_buf_free(&b);
}

/* §6.1: among the codecs both have, the offerer's order decides. */
static void test_codec_pick_offerer_order(void **state)
{
    struct ctx *c = *state;

    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 18 8 0\r\n");
    assert_int_equal(c->neg.codec.pt, 8);
    assert_string_equal(c->neg.codec.name, "PCMA");
    assert_int_equal(c->answer.media[0].nfmt, 1); /* no events offered: none answered */
    assert_int_equal(c->neg.te_pt, 0);
    /* our preference for PCMA does not change it */
    c->l.codec[0] = (struct sdp_codec){.pt = 8, .name = "PCMA", .clock = 8000};
    c->l.codec[1] = (struct sdp_codec){.pt = 0, .name = "PCMU", .clock = 8000};
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0 8\r\n");
    assert_int_equal(c->neg.codec.pt, 0);
    /* a dynamic type by name and rate, case-insensitive; the offerer's type numbers */
    c->l.codec[2] = (struct sdp_codec){.pt = 9, .name = "G722", .clock = 8000};
    c->l.ncodec = 3;
    answer_ok(c, OFFER_HEAD
              "m=audio 5004 RTP/AVP 96 97 98 100\r\na=rtpmap:96 opus/48000/2\r\n"
              "a=rtpmap:97 g722/8000\r\na=rtpmap:98 PCMU/16000\r\n"
              "a=rtpmap:100 telephone-event/8000\r\n");
    assert_int_equal(c->neg.codec.pt, 97);
    assert_string_equal(c->neg.codec.name, "g722");
    assert_int_equal(c->neg.te_pt, 100);
    assert_string_equal(c->answer.media[0].fmt[0].id, "97");
    assert_string_equal(c->answer.media[0].fmt[1].id, "100");
    /* telephone-event at another clock rate than the codec is not taken */
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0 101\r\n"
                            "a=rtpmap:101 telephone-event/48000\r\n");
    assert_int_equal(c->neg.te_pt, 0);
    /* we have no telephone-event: not answered even when offered */
    c->l.te_pt = 0;
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0 101\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\n");
    assert_int_equal(c->neg.te_pt, 0);
    assert_int_equal(c->answer.media[0].nfmt, 1);
}

/* §6.1 direction table, against each of our directions. */
static void test_direction_table(void **state)
{
    struct ctx *c = *state;
    static const struct {
        const char *attr;
        enum sdp_dir ours, want;
        bool send, recv, hold;
    } rows[] = {
        {"", SDP_DIR_SENDRECV, SDP_DIR_SENDRECV, true, true, false},
        {"a=sendrecv\r\n", SDP_DIR_SENDRECV, SDP_DIR_SENDRECV, true, true, false},
        {"a=sendonly\r\n", SDP_DIR_SENDRECV, SDP_DIR_RECVONLY, false, true, true},
        {"a=recvonly\r\n", SDP_DIR_SENDRECV, SDP_DIR_SENDONLY, true, false, false},
        {"a=inactive\r\n", SDP_DIR_SENDRECV, SDP_DIR_INACTIVE, false, false, true},
        {"", SDP_DIR_SENDONLY, SDP_DIR_SENDONLY, true, false, false},
        {"a=sendonly\r\n", SDP_DIR_SENDONLY, SDP_DIR_INACTIVE, false, false, true},
        {"a=recvonly\r\n", SDP_DIR_SENDONLY, SDP_DIR_SENDONLY, true, false, false},
        {"", SDP_DIR_INACTIVE, SDP_DIR_INACTIVE, false, false, false},
        {"a=recvonly\r\n", SDP_DIR_RECVONLY, SDP_DIR_INACTIVE, false, false, false},
        {"a=sendonly\r\n", SDP_DIR_RECVONLY, SDP_DIR_RECVONLY, false, true, true},
    };
    char text[512];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        c->l.dir = rows[i].ours;
        snprintf(text, sizeof(text), "%sm=audio 5004 RTP/AVP 0\r\n%s", OFFER_HEAD,
                 rows[i].attr);
        answer_ok(c, text);
        if (c->answer.media[0].dir != rows[i].want || c->neg.send != rows[i].send ||
            c->neg.recv != rows[i].recv || c->neg.remote_hold != rows[i].hold)
            fail_msg("row %zu: dir %d send %d recv %d hold %d", i, c->answer.media[0].dir,
                     c->neg.send, c->neg.recv, c->neg.remote_hold);
        assert_int_equal(c->neg.local_dir, rows[i].want);
    }
    /* a session-level direction applies; the media's overrides it */
    c->l.dir = SDP_DIR_SENDRECV;
    answer_ok(c, "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n"
                 "t=0 0\r\na=sendonly\r\nm=audio 5004 RTP/AVP 0\r\n");
    assert_int_equal(c->answer.media[0].dir, SDP_DIR_RECVONLY);
    assert_int_equal(c->neg.remote_dir, SDP_DIR_SENDONLY);
    answer_ok(c, "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n"
                 "t=0 0\r\na=sendonly\r\nm=audio 5004 RTP/AVP 0\r\na=sendrecv\r\n");
    assert_int_equal(c->answer.media[0].dir, SDP_DIR_SENDRECV);
}

/* RFC 3264 §8.4 / RFC 2543 hold: c=0.0.0.0 */
static void test_old_style_hold(void **state)
{
    struct ctx *c = *state;
    char ip[64];

    answer_ok(c,
              "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
              "m=audio 5004 RTP/AVP 0\r\n");
    assert_true(c->neg.active);
    assert_true(c->neg.remote_hold);
    assert_false(c->neg.send);
    assert_true(c->neg.recv);
    assert_int_equal(c->answer.media[0].dir, SDP_DIR_RECVONLY);
    assert_string_equal(sk_sa_ip(&c->neg.rtp, ip, sizeof(ip)), "0.0.0.0");
    /* media-level 0.0.0.0 under a real session address */
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n");
    assert_true(c->neg.remote_hold);
    assert_false(c->neg.send);
}

static void test_addresses_and_ptime(void **state)
{
    struct ctx *c = *state;
    char a[64];

    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\na=ptime:30\r\n");
    assert_string_equal(sk_sa_str(&c->neg.rtp, a, sizeof(a)), "198.51.100.7:5004");
    assert_string_equal(sk_sa_str(&c->neg.rtcp, a, sizeof(a)), "198.51.100.7:5005");
    assert_int_equal(c->neg.ptime, 30);
    assert_int_equal(c->answer.media[0].ptime, 30); /* echoed */
    assert_int_equal(c->answer.media[0].port, 40000);
    assert_string_equal(c->answer.conn.addr, "192.0.2.10");
    assert_int_equal(c->answer.ntime, 1);
    answer_ok(c, "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n"
                 "t=3034423619 3042462419\r\nm=audio 5004 RTP/AVP 0\r\n");
    assert_true(c->answer.ntime == 1 && c->answer.time[0].start == 3034423619u &&
                c->answer.time[0].stop == 3042462419u);
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 198.51.100.8\r\n"
                            "a=rtcp:6000 IN IP4 198.51.100.9\r\n");
    assert_string_equal(sk_sa_str(&c->neg.rtp, a, sizeof(a)), "198.51.100.8:5004");
    assert_string_equal(sk_sa_str(&c->neg.rtcp, a, sizeof(a)), "198.51.100.9:6000");
    assert_int_equal(c->neg.ptime, 20); /* not given: ours */
    assert_int_equal(c->answer.media[0].ptime, 20);
    /* a packet time we cannot packetise is answered with ours (RFC 3264 §6.1) */
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\na=ptime:100\r\n");
    assert_int_equal(c->neg.ptime, 20);
    assert_int_equal(c->answer.media[0].ptime, 20);
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\na=ptime:5\r\n");
    assert_int_equal(c->neg.ptime, 20);
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\na=ptime:60\r\n");
    assert_int_equal(c->neg.ptime, 60);
    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\na=rtcp:6001\r\n");
    assert_string_equal(sk_sa_str(&c->neg.rtcp, a, sizeof(a)), "198.51.100.7:6001");
    /* IPv6 on both sides */
    assert_int_equal(sdp_local_init(&c->l, "2001:db8::5", 5004), 0);
    answer_ok(
        c, "v=0\r\no=- 1 2 IN IP6 2001:db8::7\r\ns=-\r\nc=IN IP6 2001:db8::7\r\nt=0 0\r\n"
           "m=audio 7078 RTP/AVP 8\r\n");
    assert_string_equal(sk_sa_str(&c->neg.rtp, a, sizeof(a)), "[2001:db8::7]:7078");
    assert_int_equal(c->answer.conn.type, SDP_ADDR_IP6);
}

static void answer_fails(struct ctx *c, const char *text, int warn)
{
    parse_into(&c->offer, text);
    assert_int_equal(sdp_answer_new(&c->offer, &c->l, &c->answer, &c->neg, &c->fail),
                     EPROTO);
    assert_int_equal(c->fail.status, 488);
    if (c->fail.warn_code != warn)
        fail_msg("warn %d (%s), expected %d", c->fail.warn_code, c->fail.text, warn);
    assert_true(c->fail.text[0] != '\0');
    assert_null(strchr(c->fail.text, '"'));
    assert_false(c->neg.active);
}

static void test_answer_failures(void **state)
{
    struct ctx *c = *state;

    /* no common codec: 305 */
    answer_fails(
        c, OFFER_HEAD "m=audio 5004 RTP/AVP 18 3 96\r\na=rtpmap:96 opus/48000/2\r\n",
        305);
    /* a dynamic type without rtpmap is no codec we know */
    answer_fails(c, OFFER_HEAD "m=audio 5004 RTP/AVP 97\r\n", 305);
    /* video only: 304 */
    answer_fails(c, OFFER_HEAD "m=video 5006 RTP/AVP 31\r\n", 304);
    /* audio only on a profile we do not have, or rejected by the offerer */
    answer_fails(c, OFFER_HEAD "m=audio 5004 RTP/SAVP 0\r\nm=audio 0 RTP/AVP 0\r\n", 304);
    /* no media at all */
    answer_fails(c, OFFER_HEAD, 304);
    /* an address we cannot reach: 301 */
    answer_fails(c,
                 "v=0\r\no=- 1 2 IN IP6 2001:db8::7\r\ns=-\r\nc=IN IP6 2001:db8::7\r\n"
                 "t=0 0\r\nm=audio 7078 RTP/AVP 0\r\n",
                 301);
    answer_fails(c, OFFER_HEAD "m=audio 7078 RTP/AVP 0\r\nc=IN IP4 media.example.com\r\n",
                 301);
    /* a format mismatch is the more telling reason next to a video line */
    answer_fails(c, OFFER_HEAD "m=video 5006 RTP/AVP 31\r\nm=audio 5004 RTP/AVP 18\r\n",
                 305);
}

/* Only one audio stream is taken: a second is answered with port 0. */
static void test_two_audio_streams(void **state)
{
    struct ctx *c = *state;

    answer_ok(c, OFFER_HEAD "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n"
                            "m=audio 5006 RTP/AVP 8\r\nm=audio 5008 RTP/AVP 0\r\n");
    assert_int_equal(c->answer.media[0].port, 0);
    assert_int_equal(c->answer.media[1].port, 40000);
    assert_int_equal(c->answer.media[2].port, 0);
    assert_int_equal(c->neg.media_index, 1);
    assert_int_equal(c->neg.codec.pt, 8);
}

/* The offerer's side: our offer, their answer. */
static void test_answer_apply(void **state)
{
    struct ctx *c = *state;
    char a[64];

    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    parse_into(&c->answer,
               OFFER_HEAD "m=audio 17540 RTP/AVP 8 101\r\n"
                          "a=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(c->neg.active);
    assert_int_equal(c->neg.codec.pt, 8);
    assert_string_equal(c->neg.codec.name, "PCMA");
    assert_int_equal(c->neg.te_pt, 101);
    assert_int_equal(c->neg.ptime, 30);
    assert_true(c->neg.send && c->neg.recv && !c->neg.remote_hold);
    assert_string_equal(sk_sa_str(&c->neg.rtp, a, sizeof(a)), "198.51.100.7:17540");
    assert_string_equal(sk_sa_str(&c->neg.rtcp, a, sizeof(a)), "198.51.100.7:17541");

    /* the answerer holds us (sendonly to our sendrecv) */
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 0\r\na=sendonly\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(!c->neg.send && c->neg.recv && c->neg.remote_hold);
    /* recvonly: it takes our media and sends none, no hold */
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 0\r\na=recvonly\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(c->neg.send && !c->neg.recv && !c->neg.remote_hold);
    assert_int_equal(c->neg.te_pt, 0);
    assert_int_equal(c->neg.ptime, 20);

    /* we hold: offer sendonly, answer recvonly: not a hold by them */
    c->l.dir = SDP_DIR_SENDONLY;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 0\r\na=recvonly\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(c->neg.send && !c->neg.recv && !c->neg.remote_hold);
    /* an answer wider than the offer is narrowed by ours */
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 0\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(c->neg.send && !c->neg.recv);
    c->l.dir = SDP_DIR_SENDRECV;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);

    /* old-style hold in an answer */
    parse_into(&c->answer,
               "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
               "t=0 0\r\nm=audio 17540 RTP/AVP 0\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), 0);
    assert_true(!c->neg.send && c->neg.recv && c->neg.remote_hold);

    /* refusals */
    parse_into(&c->answer,
               OFFER_HEAD "m=audio 17540 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), EPROTO);
    assert_int_equal(c->fail.status, 488);
    assert_string_equal(c->fail.text, "answer has 2 m= lines for 1 offered");
    parse_into(&c->answer, OFFER_HEAD "m=video 17540 RTP/AVP 31\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), EPROTO);
    assert_int_equal(c->fail.warn_code, 304);
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 18\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), EPROTO);
    assert_int_equal(c->fail.warn_code, 305);
    parse_into(&c->answer, OFFER_HEAD "m=audio 17540 RTP/AVP 101\r\n"
                                      "a=rtpmap:101 telephone-event/8000\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), EPROTO);
    assert_int_equal(c->fail.warn_code, 305);
    parse_into(&c->answer, OFFER_HEAD "m=audio 0 RTP/AVP 0\r\n");
    assert_int_equal(sdp_answer_apply(&c->offer, &c->answer, &c->neg, &c->fail), EPROTO);
    assert_int_equal(c->fail.warn_code, 304);
    assert_false(c->neg.active);
}

/* Both sides through text: A offers, B answers, A applies; each knows where the other is.
 */
static void test_end_to_end(void **state)
{
    struct ctx *c = *state;
    struct sdp_local b;
    struct sdp_neg nb;
    struct sk_buf buf;
    char a[64];

    sk_buf_init(&buf);
    assert_int_equal(sdp_local_init(&b, "198.51.100.7", 30000), 0);
    b.codec[0] = (struct sdp_codec){.pt = 8, .name = "PCMA", .clock = 8000};
    b.ncodec = 1;
    b.te_pt = 96; /* another number for the same event type */
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    print_parse(&c->offer, &c->tmp, &buf);
    assert_int_equal(sdp_answer_new(&c->tmp, &b, &c->answer, &nb, &c->fail), 0);
    print_parse(&c->answer, &c->tmp, &buf);
    assert_non_null(strstr(buf.p, "m=audio 30000 RTP/AVP 8 101\r\n"));
    assert_int_equal(sdp_answer_apply(&c->offer, &c->tmp, &c->neg, &c->fail), 0);
    assert_string_equal(sk_sa_str(&nb.rtp, a, sizeof(a)), "192.0.2.10:40000");
    assert_string_equal(sk_sa_str(&c->neg.rtp, a, sizeof(a)), "198.51.100.7:30000");
    assert_int_equal(nb.codec.pt, 8);
    assert_int_equal(c->neg.codec.pt, 8);
    assert_int_equal(nb.te_pt, 101);
    assert_int_equal(c->neg.te_pt, 101);
    assert_true(nb.send && nb.recv && c->neg.send && c->neg.recv);
    /* A holds: B sees a hold and answers recvonly; A applies */
    c->l.dir = SDP_DIR_SENDONLY;
    assert_int_equal(sdp_offer_new(&c->l, &c->offer), 0);
    print_parse(&c->offer, &c->tmp, &buf);
    assert_true(sdp_is_change(&c->answer, &c->tmp)); /* another origin altogether */
    assert_int_equal(sdp_answer_new(&c->tmp, &b, &c->answer, &nb, &c->fail), 0);
    assert_true(nb.remote_hold && !nb.send && nb.recv);
    print_parse(&c->answer, &c->tmp, &buf);
    assert_int_equal(sdp_answer_apply(&c->offer, &c->tmp, &c->neg, &c->fail), 0);
    assert_true(c->neg.send && !c->neg.recv && !c->neg.remote_hold);
    sk_buf_free(&buf);
}

/* A re-INVITE's SDP: the same version is no change, another one is. */
static void test_is_change(void **state)
{
    struct ctx *c = *state;

    parse_into(&c->offer, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\n");
    parse_into(&c->tmp, OFFER_HEAD "m=audio 5004 RTP/AVP 0\r\n");
    assert_false(sdp_is_change(&c->offer, &c->tmp));
    parse_into(&c->tmp,
               "v=0\r\no=bob 2890844730 2890844732 IN IP4 198.51.100.7\r\ns=-\r\n"
               "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"
               "a=sendonly\r\n");
    assert_true(sdp_is_change(&c->offer, &c->tmp));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offer_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_bump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_order_and_reject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_pick_offerer_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direction_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_style_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addresses_and_ptime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_audio_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
