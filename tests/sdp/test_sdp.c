/* Tests of the SDP parser and printer: real-world descriptions, every error with its line
 * and reason, round trips, every prefix. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

/* baresip 3.x offering opus, G.722, G.711 and RFC 4733 events. */
static const char baresip_sdp[] =
    "v=0\r\n"
    "o=- 3127412431 3932734463 IN IP4 10.0.0.2\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.2\r\n"
    "t=0 0\r\n"
    "m=audio 19226 RTP/AVP 96 9 0 8 101\r\n"
    "b=AS:96\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:1897534223 cname:ce3b5e9a-0a07-4bb0-9d8c-2f9e8ab8a3d2\r\n"
    "a=rtcp-rsize\r\n"
    "a=ptime:20\r\n";

/* baresip 1.0.0 as captured from its INVITE (dialing a UDP socket on loopback). */
static const char baresip_capture_sdp[] =
    "v=0\r\n"
    "o=- 1310792983 467362744 IN IP4 192.0.2.2\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.2\r\n"
    "t=0 0\r\n"
    "a=tool:baresip 1.0.0\r\n"
    "m=audio 29610 RTP/AVP 0 8 9 96 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=rtcp-rsize\r\n"
    "a=ssrc:4173186335 cname:sip:alice@127.0.0.1\r\n"
    "a=minptime:20\r\n"
    "a=ptime:20\r\n";

/* SIPp's default uac scenario, as written in its XML: LF line ends, no rtpmap-less pt. */
static const char sipp_sdp[] = "v=0\n"
                               "o=user1 53655765 2353687637 IN IP4 127.0.0.1\n"
                               "s=-\n"
                               "c=IN IP4 127.0.0.1\n"
                               "t=0 0\n"
                               "m=audio 6000 RTP/AVP 0\n"
                               "a=rtpmap:0 PCMU/8000\n";

/* Asterisk-like: static types with and without rtpmap, maxptime, session name. */
static const char asterisk_sdp[] = "v=0\r\n"
                                   "o=- 1234567890 1234567891 IN IP4 203.0.113.5\r\n"
                                   "s=Asterisk\r\n"
                                   "c=IN IP4 203.0.113.5\r\n"
                                   "t=0 0\r\n"
                                   "m=audio 17540 RTP/AVP 0 8 3 18 101\r\n"
                                   "a=rtpmap:0 PCMU/8000\r\n"
                                   "a=rtpmap:8 PCMA/8000\r\n"
                                   "a=rtpmap:101 telephone-event/8000\r\n"
                                   "a=fmtp:101 0-16\r\n"
                                   "a=fmtp:18 annexb=no\r\n"
                                   "a=ptime:20\r\n"
                                   "a=maxptime:150\r\n"
                                   "a=sendrecv\r\n";

/* Linphone-like: IPv6, session attributes, three m= lines, media-level c=,
 * rtcp with an address, rtcp-mux, a rejected text stream, TIAS. */
static const char linphone_sdp[] =
    "v=0\r\n"
    "o=alice 2745 1893 IN IP6 2001:db8::10\r\n"
    "s=Talk\r\n"
    "i=a call\r\n"
    "c=IN IP6 2001:db8::10\r\n"
    "b=AS:380\r\n"
    "t=0 0\r\n"
    "a=ice-ufrag:8a1b\r\n"
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL\r\n"
    "a=sendrecv\r\n"
    "m=audio 7078 RTP/AVP 96 97 0 8 101 100\r\n"
    "c=IN IP6 2001:db8::11\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 useinbandfec=1\r\n"
    "a=rtpmap:97 speex/16000\r\n"
    "a=fmtp:97 vbr=on\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=rtpmap:100 telephone-event/8000\r\n"
    "a=rtcp:7079 IN IP6 2001:db8::12\r\n"
    "a=rtcp-fb:* trr-int 1000\r\n"
    "a=recvonly\r\n"
    "m=video 9078 RTP/AVP 96 97\r\n"
    "b=TIAS:512000\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:97 H264/90000\r\n"
    "a=fmtp:97 profile-level-id=42801F\r\n"
    "a=rtcp-fb:* nack\r\n"
    "a=rtcp-mux\r\n"
    "m=text 0 RTP/AVP 98\r\n"
    "a=rtpmap:98 t140/1000\r\n";

/* Every line type, multicast c= with TTL and count, r= and z=, b= of each kind,
 * an unknown line type, a non-RTP m= line and a second media c=. */
static const char full_sdp[] = "v=0\r\n"
                               "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
                               "s=SDP Seminar\r\n"
                               "i=A Seminar on the session description protocol\r\n"
                               "u=http://www.example.com/seminars/sdp.pdf\r\n"
                               "e=j.doe@example.com (Jane Doe)\r\n"
                               "p=+1 617 555-6011\r\n"
                               "c=IN IP4 224.2.17.12/127\r\n"
                               "b=CT:1000\r\n"
                               "b=RR:800\r\n"
                               "b=RS:400\r\n"
                               "t=2873397496 2873404696\r\n"
                               "r=7d 1h 0 25h\r\n"
                               "t=0 0\r\n"
                               "z=2882844526 -1h 2898848070 0\r\n"
                               "k=prompt\r\n"
                               "y=an unknown line\r\n"
                               "a=recvonly\r\n"
                               "m=audio 49170/2 RTP/AVP 0\r\n"
                               "i=voice\r\n"
                               "c=IN IP4 224.2.1.1/127/3\r\n"
                               "c=IN IP4 224.2.2.1/127\r\n"
                               "k=clear:abc\r\n"
                               "m=application 32416 udp wb\r\n"
                               "a=fmtp:wb x=1\r\n"
                               "a=orient:portrait\r\n"
                               "m=image 5004 udptl t38\r\n"
                               "a=T38FaxVersion:0\r\n";

#define SDP_OF(lit) (lit), sizeof(lit) - 1

static struct sdp_session *sess_new(void)
{
    struct sdp_session *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    return s;
}

static void must_parse(struct sdp_session *s, const char *text, size_t len)
{
    struct sdp_error err;
    int rc = sdp_parse(s, text, len, &err);

    if (rc) fail_msg("parse failed: %s", err.reason);
}

static void chk_text(const struct sdp_session *s, struct sdp_text t, const char *want)
{
    struct sk_str v = sdp_str(s, t);
    if (v.len != strlen(want) || memcmp(v.p, want, v.len) != 0)
        fail_msg("text \"%.*s\", expected \"%s\"", (int) v.len, v.p, want);
}

/* print, parse again: the same description, and printing that gives the same text. */
static void chk_round_trip(const struct sdp_session *s)
{
    struct sdp_session *t = sess_new();
    struct sk_buf a, b;
    struct sdp_error err;

    sk_buf_init(&a);
    sk_buf_init(&b);
    assert_int_equal(sdp_print(s, &a), 0);
    if (sdp_parse(t, a.p, a.len, &err))
        fail_msg("printed text does not parse: %s\n%s", err.reason, a.p);
    assert_true(sdp_session_equal(s, t));
    assert_true(sdp_session_equal(t, s));
    assert_int_equal(sdp_print(t, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    /* CRLF everywhere, no bare LF */
    for (size_t i = 0; i < a.len; i++)
        if (a.p[i] == '\n') assert_true(i > 0 && a.p[i - 1] == '\r');
    sk_buf_free(&a);
    sk_buf_free(&b);
    free(t);
}

static void test_baresip(void **state)
{
    struct sdp_session *s = sess_new();
    const struct sdp_media *m;
    uint64_t v;
    (void) state;

    must_parse(s, SDP_OF(baresip_sdp));
    assert_string_equal(s->origin.user, "-");
    assert_true(s->origin.sess_id == 3127412431u);
    assert_true(s->origin.sess_version == 3932734463u);
    assert_int_equal(s->origin.type, SDP_ADDR_IP4);
    assert_string_equal(s->origin.addr, "10.0.0.2");
    chk_text(s, s->name, "-");
    assert_int_equal(s->conn.type, SDP_ADDR_IP4);
    assert_string_equal(s->conn.addr, "10.0.0.2");
    assert_int_equal(s->ntime, 1);
    assert_int_equal(s->nmedia, 1);
    m = &s->media[0];
    assert_string_equal(m->type, "audio");
    assert_int_equal(m->kind, SDP_MEDIA_AUDIO);
    assert_int_equal(m->port, 19226);
    assert_string_equal(m->proto, "RTP/AVP");
    assert_true(m->rtp);
    assert_int_equal(m->nfmt, 5);
    assert_int_equal(m->fmt[0].pt, 96);
    assert_string_equal(m->fmt[0].enc, "opus");
    assert_int_equal(m->fmt[0].clock, 48000);
    assert_int_equal(m->fmt[0].channels, 2);
    assert_true(m->fmt[0].has_fmtp);
    chk_text(s, m->fmt[0].fmtp, "stereo=1;sprop-stereo=1");
    assert_string_equal(m->fmt[1].enc, "G722");
    assert_int_equal(m->fmt[4].pt, 101);
    assert_string_equal(m->fmt[4].enc, "telephone-event");
    chk_text(s, m->fmt[4].fmtp, "0-15");
    assert_true(sdp_bw_get(m->bw, m->nbw, "AS", &v));
    assert_int_equal(v, 96);
    assert_false(sdp_bw_get(m->bw, m->nbw, "TIAS", &v));
    assert_int_equal(m->dir, SDP_DIR_SENDRECV);
    assert_int_equal(m->ptime, 20);
    /* label, ssrc, rtcp-rsize kept in order */
    assert_int_equal(s->nattr, 3);
    chk_text(s, s->attr[0].name, "label");
    chk_text(s, s->attr[0].value, "1");
    chk_text(s, s->attr[1].name, "ssrc");
    chk_text(s, s->attr[1].value,
             "1897534223 cname:ce3b5e9a-0a07-4bb0-9d8c-2f9e8ab8a3d2");
    chk_text(s, s->attr[2].name, "rtcp-rsize");
    assert_false(s->attr[2].has_value);
    assert_int_equal(s->attr[2].level, 1);
    chk_round_trip(s);
    free(s);
}

static void test_baresip_capture(void **state)
{
    struct sdp_session *s = sess_new();
    const struct sdp_media *m;
    (void) state;

    must_parse(s, SDP_OF(baresip_capture_sdp));
    m = &s->media[0];
    assert_int_equal(m->nfmt, 5);
    assert_string_equal(m->fmt[2].enc, "G722");
    assert_string_equal(m->fmt[3].enc, "opus");
    assert_int_equal(m->fmt[3].channels, 2);
    assert_int_equal(m->ptime, 20);
    assert_int_equal(m->dir, SDP_DIR_SENDRECV);
    /* tool (session), label, rtcp-rsize, ssrc, minptime (media) */
    assert_int_equal(s->nattr, 5);
    chk_text(s, s->attr[0].name, "tool");
    assert_int_equal(s->attr[0].level, 0);
    chk_text(s, s->attr[4].name, "minptime");
    chk_round_trip(s);
    free(s);
}

static void test_sipp_lf(void **state)
{
    struct sdp_session *s = sess_new();
    (void) state;

    must_parse(s, SDP_OF(sipp_sdp));
    assert_string_equal(s->origin.user, "user1");
    assert_int_equal(s->media[0].port, 6000);
    assert_int_equal(s->media[0].nfmt, 1);
    assert_string_equal(s->media[0].fmt[0].enc, "PCMU");
    assert_true(s->media[0].fmt[0].rtpmap);
    assert_int_equal(sdp_media_dir(s, &s->media[0]), SDP_DIR_SENDRECV);
    assert_int_equal(s->media[0].dir, SDP_DIR_UNSET);
    chk_round_trip(s);
    free(s);
}

static void test_asterisk_static_types(void **state)
{
    struct sdp_session *s = sess_new();
    const struct sdp_media *m;
    const struct sdp_fmt *f;
    (void) state;

    must_parse(s, SDP_OF(asterisk_sdp));
    m = &s->media[0];
    chk_text(s, s->name, "Asterisk");
    /* 3 and 18 have no rtpmap: known from RFC 3551 */
    f = sdp_media_fmt(m, 3);
    assert_non_null(f);
    assert_false(f->rtpmap);
    assert_string_equal(f->enc, "GSM");
    assert_int_equal(f->clock, 8000);
    f = sdp_media_fmt(m, 18);
    assert_string_equal(f->enc, "G729");
    assert_true(f->has_fmtp);
    chk_text(s, f->fmtp, "annexb=no");
    assert_null(sdp_media_fmt(m, 9));
    assert_int_equal(m->maxptime, 150);
    assert_int_equal(m->ptime, 20);
    assert_int_equal(s->nattr, 0);
    chk_round_trip(s);
    free(s);
}

static void test_linphone_ipv6_multi(void **state)
{
    struct sdp_session *s = sess_new();
    const struct sdp_media *a, *v, *t;
    uint64_t bw;
    (void) state;

    must_parse(s, SDP_OF(linphone_sdp));
    assert_int_equal(s->origin.type, SDP_ADDR_IP6);
    assert_string_equal(s->origin.addr, "2001:db8::10");
    assert_int_equal(s->conn.type, SDP_ADDR_IP6);
    assert_true(sdp_bw_get(s->bw, s->nbw, "AS", &bw));
    assert_int_equal(bw, 380);
    assert_int_equal(s->dir, SDP_DIR_SENDRECV);
    assert_int_equal(s->nmedia, 3);
    a = &s->media[0];
    v = &s->media[1];
    t = &s->media[2];
    /* media-level c= overrides the session's */
    assert_string_equal(sdp_media_conn(s, a)->addr, "2001:db8::11");
    assert_string_equal(sdp_media_conn(s, v)->addr, "2001:db8::10");
    assert_true(a->has_rtcp);
    assert_int_equal(a->rtcp_port, 7079);
    assert_int_equal(a->rtcp_conn.type, SDP_ADDR_IP6);
    assert_string_equal(a->rtcp_conn.addr, "2001:db8::12");
    assert_false(a->rtcp_mux);
    /* media-level direction overrides the session's; the video inherits it */
    assert_int_equal(sdp_media_dir(s, a), SDP_DIR_RECVONLY);
    assert_int_equal(sdp_media_dir(s, v), SDP_DIR_SENDRECV);
    assert_int_equal(v->kind, SDP_MEDIA_VIDEO);
    assert_true(v->rtcp_mux);
    assert_false(v->has_rtcp);
    assert_true(sdp_bw_get(v->bw, v->nbw, "TIAS", &bw));
    assert_int_equal(bw, 512000);
    assert_string_equal(v->fmt[1].enc, "H264");
    assert_int_equal(v->fmt[1].clock, 90000);
    assert_int_equal(t->kind, SDP_MEDIA_TEXT);
    assert_int_equal(t->port, 0);
    assert_string_equal(t->fmt[0].enc, "t140");
    /* session: ice-ufrag, rtcp-xr; audio: rtcp-fb; video: rtcp-fb */
    assert_int_equal(s->nattr, 4);
    assert_int_equal(s->attr[0].level, 0);
    assert_int_equal(s->attr[2].level, 1);
    assert_int_equal(s->attr[3].level, 2);
    assert_int_equal(s->nline, 1);
    assert_int_equal(s->line[0].type, 'i');
    chk_round_trip(s);
    free(s);
}

static void test_every_line_type(void **state)
{
    struct sdp_session *s = sess_new();
    const struct sdp_media *m;
    uint64_t v;
    (void) state;

    must_parse(s, SDP_OF(full_sdp));
    assert_string_equal(s->conn.addr, "224.2.17.12");
    assert_string_equal(s->conn.suffix, "/127");
    assert_true(sdp_bw_get(s->bw, s->nbw, "CT", &v) && v == 1000);
    assert_true(sdp_bw_get(s->bw, s->nbw, "RR", &v) && v == 800);
    assert_true(sdp_bw_get(s->bw, s->nbw, "RS", &v) && v == 400);
    assert_int_equal(s->ntime, 2);
    assert_true(s->time[0].start == 2873397496u && s->time[0].stop == 2873404696u);
    assert_int_equal(s->dir, SDP_DIR_RECVONLY);
    assert_int_equal(s->nmedia, 3);
    m = &s->media[0];
    assert_int_equal(m->port, 49170);
    assert_int_equal(m->nports, 2);
    assert_string_equal(m->conn.addr, "224.2.1.1");
    assert_string_equal(m->conn.suffix, "/127/3");
    m = &s->media[1];
    assert_false(m->rtp);
    assert_string_equal(m->proto, "udp");
    assert_int_equal(m->fmt[0].pt, -1);
    assert_string_equal(m->fmt[0].id, "wb");
    assert_true(m->fmt[0].has_fmtp);
    chk_text(s, m->fmt[0].fmtp, "x=1");
    assert_int_equal(s->media[2].kind, SDP_MEDIA_IMAGE);
    /* i u e p r z k y at session level, i c k in the first media */
    assert_int_equal(s->nline, 11);
    assert_int_equal(s->line[4].type, 'r');
    assert_int_equal(s->line[4].t_index, 0);
    chk_text(s, s->line[7].text, "an unknown line");
    assert_int_equal(s->line[9].type, 'c');
    assert_int_equal(s->line[9].level, 1);
    chk_round_trip(s);

    /* printed back line for line, in place */
    struct sk_buf b;
    sk_buf_init(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_string_equal(b.p, full_sdp);
    sk_buf_free(&b);
    free(s);
}

/* The exact text: the typed lines in RFC 4566 order, attributes known first. */
static void test_print_exact(void **state)
{
    struct sdp_session *s = sess_new();
    struct sk_buf b;
    (void) state;

    must_parse(s, SDP_OF(asterisk_sdp));
    sk_buf_init(&b);
    /* every attribute back in its place */
    assert_int_equal(sdp_print(s, &b), 0);
    assert_string_equal(b.p, asterisk_sdp);
    /* a changed value prints where the attribute was */
    s->media[0].dir = SDP_DIR_INACTIVE;
    s->media[0].ptime = 30;
    sk_buf_reset(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_non_null(strstr(b.p, "a=fmtp:18 annexb=no\r\na=ptime:30\r\na=maxptime:150\r\n"
                                "a=inactive\r\n"));
    s->media[0].dir = SDP_DIR_SENDRECV;
    s->media[0].ptime = 20;
    /* without the recorded places (as built by code): the fixed order */
    s->napos = 0;
    sk_buf_reset(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_string_equal(b.p, "v=0\r\n"
                             "o=- 1234567890 1234567891 IN IP4 203.0.113.5\r\n"
                             "s=Asterisk\r\n"
                             "c=IN IP4 203.0.113.5\r\n"
                             "t=0 0\r\n"
                             "m=audio 17540 RTP/AVP 0 8 3 18 101\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\n"
                             "a=fmtp:18 annexb=no\r\n"
                             "a=rtpmap:101 telephone-event/8000\r\n"
                             "a=fmtp:101 0-16\r\n"
                             "a=ptime:20\r\n"
                             "a=maxptime:150\r\n"
                             "a=sendrecv\r\n");
    /* appends to what the buffer holds; refuses a field with a line break */
    s->origin.user[0] = '\n';
    assert_int_equal(sdp_print(s, &b), EINVAL);
    assert_true(b.len > 0 && b.p[b.len - 1] == '\n' && b.p[0] == 'v');
    sk_buf_free(&b);
    free(s);
}

/* Tolerated: LF only, a missing final line end, trailing blank lines, unknown
 * attributes and odd forms of known ones kept as text, rtpmap for unlisted types. */
static void test_lenient(void **state)
{
    struct sdp_session *s = sess_new();
    static const char t1[] =
        "v=0\r\no=- 1 1 IN IP4 host.example.com\r\ns=\r\nc=IN IP4 "
        "192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 97\r\n"
        "a=rtpmap:97 iLBC/8000\r\na=rtpmap:98 AMR/8000\r\n"
        "a=rtpmap:97 iLBC/16000\r\na=ptime:20.5\r\na=fmtp:99 x\r\n"
        "a=inactive\r\na=sendonly\r\na=x-custom:  spaced  \r\n\r\n\r\n";
    static const char t2[] =
        "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0";
    (void) state;

    must_parse(s, SDP_OF(t1));
    assert_string_equal(s->origin.addr, "host.example.com");
    chk_text(s, s->name, "");
    assert_int_equal(s->media[0].fmt[1].clock, 8000);
    /* later direction wins */
    assert_int_equal(s->media[0].dir, SDP_DIR_SENDONLY);
    assert_int_equal(s->media[0].ptime, 0);
    assert_int_equal(s->nattr, 5);
    chk_text(s, s->attr[0].value, "98 AMR/8000");
    chk_text(s, s->attr[1].value, "97 iLBC/16000");
    chk_text(s, s->attr[2].name, "ptime");
    chk_text(s, s->attr[3].name, "fmtp");
    chk_text(s, s->attr[4].value, "  spaced  ");
    chk_round_trip(s);

    /* no final line end; a rejected stream needs no c= */
    must_parse(s, SDP_OF(t2));
    assert_int_equal(s->media[0].port, 0);
    chk_round_trip(s);
    free(s);
}

/* ---- errors: every one with its line and its reason ---- */

struct bad {
    const char *text;
    unsigned line;
    const char *reason;
};

#define HEAD "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
#define HEAD_T HEAD "c=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define AUDIO "m=audio 4000 RTP/AVP 0\r\n"

static const struct bad bads[] = {
    {"", 0, "empty description"},
    {"v=1\r\n", 1, "line 1 (v=): version \"1\" unsupported"},
    {"o=- 1 2 IN IP4 192.0.2.1\r\n", 1, "line 1 (o=): the first line must be v=0"},
    {"v=0\r\ns=-\r\nt=0 0\r\n", 2, "line 2 (s=): o= line expected as the second line"},
    {"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\nt=0 0\r\n", 3,
     "line 3 (t=): s= line expected as the third line"},
    {"v=0\r\n", 0, "no o= line"},
    {"v=0\r\n\r\n\n", 0, "no o= line"},
    {HEAD "c=IN IP6 192.0.2.1\r\n", 4, "line 4 (c=): IPv6 address \"192.0.2.1\" invalid"},
    {"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\n", 0, "no s= line"},
    {HEAD, 0, "no t= line"},
    {HEAD "c=IN IP4 192.0.2.1\r\n" AUDIO, 5, "line 5 (m=): no t= line before the media"},
    {HEAD "t=0 0\r\n" AUDIO, 5,
     "line 5 (m=): no c= line for this media and none at session level"},
    {HEAD "t=0 0\r\nm=video 0 RTP/AVP 31\r\n" AUDIO "a=ptime:20\r\n", 6,
     "line 6 (m=): no c= line for this media and none at session level"},
    {HEAD "c=IN IP5 192.0.2.1\r\n", 4, "line 4 (c=): address type \"IP5\" unknown"},
    {HEAD "c=ATM NSAP 47.0091\r\n", 4, "line 4 (c=): network type \"ATM\" unknown"},
    {HEAD "c=IN IP4\r\n", 4, "line 4 (c=): \"<nettype> <addrtype> <address>\" expected"},
    {HEAD "c=IN IP4 1.2.3\r\n", 4, "line 4 (c=): IPv4 address \"1.2.3\" invalid"},
    {HEAD "c=IN IP6 2001:db8::g\r\n", 4,
     "line 4 (c=): IPv6 address \"2001:db8::g\" invalid"},
    {HEAD "c=IN IP4 192.0.2.1 x\r\n", 4, "line 4 (c=): text after the address: \"x\""},
    {HEAD "c=IN IP4 224.2.1.1/\r\n", 4, "line 4 (c=): multicast suffix \"/\" invalid"},
    {HEAD "c=IN IP4 host_name\r\n", 4, "line 4 (c=): address \"host_name\" invalid"},
    {HEAD "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n", 5,
     "line 5 (c=): more than one c= line"},
    {"v=0\r\no=- 1 x IN IP4 192.0.2.1\r\n", 2,
     "line 2 (o=): sess-version \"x\" not a number"},
    {"v=0\r\no=- -1 2 IN IP4 192.0.2.1\r\n", 2,
     "line 2 (o=): sess-id \"-1\" not a number"},
    {"v=0\r\no=- 1 2 IN IP4\r\n", 2,
     "line 2 (o=): 6 fields expected: <username> <sess-id> <sess-version> <nettype> "
     "<addrtype> <address>"},
    {"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\ns=-\r\n", 4,
     "line 4 (s=): more than one s= line"},
    {HEAD "o=- 1 2 IN IP4 192.0.2.1\r\n", 4, "line 4 (o=): more than one o= line"},
    {HEAD "b=AS\r\n", 4, "line 4 (b=): \"<bwtype>:<bandwidth>\" expected"},
    {HEAD "b=AS:x\r\n", 4, "line 4 (b=): bandwidth \"x\" not a number"},
    {HEAD "b=:5\r\n", 4, "line 4 (b=): bandwidth type \"\" invalid"},
    {HEAD "t=0\r\n", 4, "line 4 (t=): \"<start-time> <stop-time>\" expected"},
    {HEAD "t=now 0\r\n", 4, "line 4 (t=): start time \"now\" not a number"},
    {HEAD "r=7d 1h 0\r\n", 4, "line 4 (r=): r= line before any t= line"},
    {HEAD_T "m=audio x RTP/AVP 0\r\n", 6, "line 6 (m=): port \"x\" invalid"},
    {HEAD_T "m=audio 70000 RTP/AVP 0\r\n", 6, "line 6 (m=): port \"70000\" invalid"},
    {HEAD_T "m=audio 4000/0 RTP/AVP 0\r\n", 6,
     "line 6 (m=): number of ports \"0\" invalid"},
    {HEAD_T "m=audio 4000 RTP//AVP 0\r\n", 6,
     "line 6 (m=): protocol \"RTP//AVP\" invalid"},
    {HEAD_T "m=audio 4000 RTP/AVP\r\n", 6, "line 6 (m=): no formats"},
    {HEAD_T "m=audio 4000 RTP/AVP \r\n", 6, "line 6 (m=): no formats"},
    {HEAD_T "m=audio 4000\r\n", 6,
     "line 6 (m=): \"<media> <port> <proto> <fmt> ...\" expected"},
    {HEAD_T "m=audio 4000 RTP/AVP 0 PCMU\r\n", 6,
     "line 6 (m=): payload type \"PCMU\" not a number"},
    {HEAD_T "m=audio 4000 RTP/AVP 128\r\n", 6,
     "line 6 (m=): payload type \"128\" out of range (0-127)"},
    {HEAD_T "m=audio 4000 RTP/AVP 0 8 0\r\n", 6,
     "line 6 (m=): payload type 0 listed twice"},
    {HEAD_T AUDIO "a=rtpmap:0 PCMU\r\n", 7,
     "line 7 (a=rtpmap): \"<encoding>/<clock rate>\" expected"},
    {HEAD_T AUDIO "a=rtpmap:x PCMU/8000\r\n", 7,
     "line 7 (a=rtpmap): payload type \"x\" not a number"},
    {HEAD_T AUDIO "a=rtpmap:0 PCMU/0\r\n", 7,
     "line 7 (a=rtpmap): clock rate \"0\" invalid"},
    {HEAD_T AUDIO "a=rtpmap:0 PCMU/8k\r\n", 7,
     "line 7 (a=rtpmap): clock rate \"8k\" invalid"},
    {HEAD_T AUDIO "a=rtpmap:0 /8000\r\n", 7,
     "line 7 (a=rtpmap): encoding name \"\" invalid"},
    {HEAD_T AUDIO "a=rtpmap:0 PCMU/8000/0\r\n", 7,
     "line 7 (a=rtpmap): channels \"0\" invalid"},
    {HEAD_T AUDIO "a=rtpmap:\r\n", 7, "line 7 (a=rtpmap): payload type missing"},
    {HEAD_T AUDIO "a=fmtp:\r\n", 7, "line 7 (a=fmtp): format missing"},
    {HEAD_T AUDIO "a=rtcp:x\r\n", 7, "line 7 (a=rtcp): port \"x\" invalid"},
    {HEAD_T AUDIO "a=rtcp:4001 IN IP7 192.0.2.1\r\n", 7,
     "line 7 (a=rtcp): address type \"IP7\" unknown"},
    {HEAD_T AUDIO "a=:x\r\n", 7, "line 7 (a=): attribute name \"\" invalid"},
    {HEAD_T AUDIO "t=0 0\r\n", 7, "line 7 (t=): not allowed after an m= line"},
    {HEAD "foo\r\n", 4, "line 4: \"foo\" is not a <type>=<value> line"},
    {HEAD "A=b\r\n", 4, "line 4: \"A=b\" is not a <type>=<value> line"},
    {HEAD "a\r\n", 4, "line 4: \"a\" is not a <type>=<value> line"},
    {HEAD "a =b\r\n", 4, "line 4: \"a =b\" is not a <type>=<value> line"},
    {HEAD "\r\nt=0 0\r\n", 4, "line 4: empty line"},
    {HEAD "a=x\ry\r\n", 4, "line 4 (a=): CR without LF in the line"},
    {HEAD "x\"\x01yz\r\n", 4, "line 4: \"x??yz\" is not a <type>=<value> line"},
};

static void test_errors(void **state)
{
    struct sdp_session *s = sess_new();
    (void) state;

    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        struct sdp_error err;
        int rc = sdp_parse(s, bads[i].text, strlen(bads[i].text), &err);
        if (rc != EBADMSG) fail_msg("case %zu parsed (rc %d): %s", i, rc, bads[i].text);
        if (err.line != bads[i].line || strcmp(err.reason, bads[i].reason) != 0)
            fail_msg("case %zu: line %u \"%s\", expected line %u \"%s\"", i, err.line,
                     err.reason, bads[i].line, bads[i].reason);
    }
    free(s);
}

static void test_error_nul_and_limits(void **state)
{
    struct sdp_session *s = sess_new();
    struct sdp_error err;
    char *big = malloc(SDP_MAX_LEN + 1024);
    size_t n;
    (void) state;

    assert_non_null(big);
    /* NUL */
    static const char nul[] = HEAD "a=x\0y\r\n";
    assert_int_equal(sdp_parse(s, nul, sizeof(nul) - 1, &err), EBADMSG);
    assert_string_equal(err.reason, "line 4 (a=): NUL byte in the line");
    /* a line over 4 KiB */
    n = (size_t) snprintf(big, 64, "%s", HEAD "a=x:");
    memset(big + n, 'y', SDP_MAX_LINE);
    n += SDP_MAX_LINE;
    assert_int_equal(sdp_parse(s, big, n, &err), EBADMSG);
    assert_int_equal(err.line, 4);
    assert_string_equal(err.reason, "line 4: longer than 4096 bytes");
    /* the whole over 16 KiB */
    memset(big, 'a', SDP_MAX_LEN + 1);
    assert_int_equal(sdp_parse(s, big, SDP_MAX_LEN + 1, &err), EBADMSG);
    assert_string_equal(err.reason, "description larger than 16384 bytes");
    /* nine m= lines */
    n = (size_t) snprintf(big, SDP_MAX_LEN, "%s", HEAD_T);
    for (int i = 0; i < 9; i++)
        n += (size_t) snprintf(big + n, SDP_MAX_LEN - n, "m=audio %d RTP/AVP 0\r\n",
                               4000 + i);
    assert_int_equal(sdp_parse(s, big, n, &err), EBADMSG);
    assert_string_equal(err.reason, "line 14 (m=): more than 8 m= lines");
    /* 33 formats */
    n = (size_t) snprintf(big, SDP_MAX_LEN, "%s", HEAD_T "m=audio 4000 RTP/AVP");
    for (int i = 0; i < 33; i++)
        n += (size_t) snprintf(big + n, SDP_MAX_LEN - n, " %d", 90 + i);
    n += (size_t) snprintf(big + n, SDP_MAX_LEN - n, "\r\n");
    assert_int_equal(sdp_parse(s, big, n, &err), EBADMSG);
    assert_string_equal(err.reason, "line 6 (m=): more than 32 formats");
    /* 65 unknown attributes */
    n = (size_t) snprintf(big, SDP_MAX_LEN, "%s", HEAD_T);
    for (int i = 0; i < 65; i++)
        n += (size_t) snprintf(big + n, SDP_MAX_LEN - n, "a=x%d\r\n", i);
    assert_int_equal(sdp_parse(s, big, n, &err), EBADMSG);
    assert_string_equal(err.reason, "line 70 (a=): more than 64 unknown attributes");
    /* 5 b= lines at one level */
    n = (size_t) snprintf(big, SDP_MAX_LEN, "%s", HEAD);
    for (int i = 0; i < 5; i++)
        n += (size_t) snprintf(big + n, SDP_MAX_LEN - n, "b=AS:%d\r\n", i);
    assert_int_equal(sdp_parse(s, big, n, &err), EBADMSG);
    assert_string_equal(err.reason, "line 8 (b=): more than 4 b= lines");
    /* a NULL error pointer is allowed */
    assert_int_equal(sdp_parse(s, "v=1", 3, NULL), EBADMSG);
    free(big);
    free(s);
}

/* Every prefix of every valid description, each right before an unreadable
 * page: parses or fails with a reason, never reads past the end; what parses
 * prints and parses back equal. */
static void test_every_prefix(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } texts[] = {
        {SDP_OF(baresip_sdp)},  {SDP_OF(sipp_sdp)}, {SDP_OF(asterisk_sdp)},
        {SDP_OF(linphone_sdp)}, {SDP_OF(full_sdp)}, {SDP_OF(baresip_capture_sdp)},
    };
    struct sdp_session *s = sess_new();
    (void) state;

    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        unsigned ok = 0;
        for (size_t n = 0; n <= texts[t].len; n++) {
            struct tu_guard g = {0};
            struct sdp_error err;
            char *p = tu_guard_copy(&g, texts[t].text, n);
            int rc;

            assert_non_null(p);
            rc = sdp_parse(s, p, n, &err);
            if (rc == 0) {
                ok++;
                chk_round_trip(s);
            } else {
                assert_int_equal(rc, EBADMSG);
                assert_true(err.reason[0] != '\0');
                for (const char *c = err.reason; *c; c++)
                    assert_true(*c >= 0x20 && *c < 0x7f);
            }
            tu_guard_free(&g);
        }
        assert_true(ok > 0);
    }
    free(s);
}

/* Well-formed CRLF descriptions print back byte for byte. */
static void test_print_in_place(void **state)
{
    static const char *const texts[] = {baresip_sdp, baresip_capture_sdp, asterisk_sdp,
                                        linphone_sdp, full_sdp};
    struct sdp_session *s = sess_new();
    struct sk_buf b;
    (void) state;

    sk_buf_init(&b);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        must_parse(s, texts[i], strlen(texts[i]));
        sk_buf_reset(&b);
        assert_int_equal(sdp_print(s, &b), 0);
        assert_string_equal(b.p, texts[i]);
    }
    /* a repeated direction keeps the place of the first, with the last's value */
    must_parse(s, SDP_OF(HEAD_T AUDIO "a=sendonly\r\na=x\r\na=inactive\r\n"));
    sk_buf_reset(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_string_equal(b.p, HEAD_T AUDIO "a=inactive\r\na=x\r\n");
    sk_buf_free(&b);
    free(s);
}

/* A description built by code, with kept lines added in any order, prints in
 * RFC 4566 order and compares equal to its parse. */
static void test_built(void **state)
{
    struct sdp_session *s = sess_new(), *t = sess_new();
    struct sk_buf b;
    (void) state;

    sdp_session_init(s);
    strcpy(s->origin.user, "-");
    s->origin.sess_id = 7;
    s->origin.sess_version = 8;
    s->origin.type = SDP_ADDR_IP4;
    strcpy(s->origin.addr, "192.0.2.9");
    assert_int_equal(sdp_text_set(s, &s->name, SK_STR_LIT("x")), 0);
    s->conn = s->media[0].conn;
    s->conn.type = SDP_ADDR_IP4;
    strcpy(s->conn.addr, "192.0.2.9");
    s->ntime = 1;
    s->line[0].type = 'k';
    assert_int_equal(sdp_text_set(s, &s->line[0].text, SK_STR_LIT("prompt")), 0);
    s->line[1].type = 'i';
    assert_int_equal(sdp_text_set(s, &s->line[1].text, SK_STR_LIT("info")), 0);
    s->nline = 2;
    s->nmedia = 1;
    strcpy(s->media[0].type, "audio");
    strcpy(s->media[0].proto, "RTP/AVP");
    s->media[0].rtp = true;
    s->media[0].port = 5000;
    s->media[0].nfmt = 1;
    strcpy(s->media[0].fmt[0].id, "0");
    strcpy(s->media[0].fmt[0].enc, "PCMU");
    s->media[0].fmt[0].clock = 8000;
    s->media[0].fmt[0].channels = 1;
    sk_buf_init(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_string_equal(b.p, "v=0\r\no=- 7 8 IN IP4 192.0.2.9\r\ns=x\r\ni=info\r\n"
                             "c=IN IP4 192.0.2.9\r\nt=0 0\r\nk=prompt\r\n"
                             "m=audio 5000 RTP/AVP 0\r\n");
    must_parse(t, b.p, b.len);
    assert_string_equal(t->media[0].fmt[0].enc, "PCMU");
    assert_int_equal(t->line[0].type, 'i');
    assert_true(sdp_session_equal(s, t));
    /* no t= at all prints t=0 0 (required, §5.9) */
    s->ntime = 0;
    sk_buf_reset(&b);
    assert_int_equal(sdp_print(s, &b), 0);
    assert_non_null(strstr(b.p, "\r\nt=0 0\r\n"));
    /* pool full */
    s->pool_len = SDP_POOL_MAX - 2;
    assert_int_equal(sdp_text_set(s, &s->name, SK_STR_LIT("abc")), ENOSPC);
    sk_buf_free(&b);
    free(s);
    free(t);
}

static void test_helpers(void **state)
{
    struct sdp_session *a = sess_new(), *b = sess_new();
    const char *enc;
    uint32_t clock;
    uint8_t ch;
    (void) state;

    assert_true(sdp_static_pt(9, &enc, &clock, &ch));
    assert_string_equal(enc, "G722");
    assert_int_equal(clock, 8000);
    assert_true(sdp_static_pt(13, &enc, &clock, &ch));
    assert_string_equal(enc, "CN");
    assert_true(sdp_static_pt(4, &enc, &clock, &ch));
    assert_string_equal(enc, "G723");
    assert_false(sdp_static_pt(96, &enc, &clock, &ch));
    assert_false(sdp_static_pt(-1, &enc, &clock, &ch));

    must_parse(a, SDP_OF(asterisk_sdp));
    must_parse(b, SDP_OF(asterisk_sdp));
    assert_false(sdp_is_change(a, b));
    assert_true(sdp_session_equal(a, b));
    b->origin.sess_version++;
    assert_true(sdp_is_change(a, b));
    assert_false(sdp_session_equal(a, b));
    must_parse(b, SDP_OF(baresip_sdp));
    assert_true(sdp_is_change(a, b));
    assert_string_equal(sdp_dir_name(SDP_DIR_INACTIVE), "inactive");
    assert_string_equal(sdp_dir_name(SDP_DIR_UNSET), "");
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baresip),
        cmocka_unit_test(test_baresip_capture),
        cmocka_unit_test(test_sipp_lf),
        cmocka_unit_test(test_asterisk_static_types),
        cmocka_unit_test(test_linphone_ipv6_multi),
        cmocka_unit_test(test_every_line_type),
        cmocka_unit_test(test_print_exact),
        cmocka_unit_test(test_print_in_place),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_nul_and_limits),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_built),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
