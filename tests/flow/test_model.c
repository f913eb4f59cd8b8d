/* Tests of the flow analysis model: calls, retransmissions, CANCEL, registrations and RTP
 * streams built from packets made here, as the capture reader would hand them up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "flow/model.h"
#include "flow_feed.h"

/* ---- feeding packets: flow_feed.h ---- */

/* A SIP message from a template with '\n' line ends (made CRLF here); Content-Length
 * is filled in for the body after the blank line. */
static uint64_t sip(struct feeder *f, double t_ms, const struct sk_sa *src,
                    const struct sk_sa *dst, const char *tmpl)
{
    char out[4096], body[2048] = "";
    size_t n = 0, bn = 0;
    const char *sep = strstr(tmpl, "\n\n");
    size_t hlen = sep ? (size_t) (sep - tmpl) + 1 : strlen(tmpl);

    if (sep)
        for (const char *q = sep + 2; *q; q++) {
            if (*q == '\n') body[bn++] = '\r';
            body[bn++] = *q;
        }
    for (size_t i = 0; i < hlen; i++) {
        if (tmpl[i] == '\n') out[n++] = '\r';
        out[n++] = tmpl[i];
    }
    n += (size_t) snprintf(out + n, sizeof(out) - n, "Content-Length: %zu\r\n\r\n", bn);
    memcpy(out + n, body, bn);
    n += bn;
    return feed(f, t_ms, src, dst, out, n, true);
}

static uint64_t rtp(struct feeder *f, double t_ms, const struct sk_sa *src,
                    const struct sk_sa *dst, uint32_t ssrc, uint16_t seq, uint32_t ts,
                    uint8_t pt)
{
    uint8_t b[12 + 160];

    memset(b, 0xd5, sizeof(b));
    b[0] = 0x80;
    b[1] = pt;
    b[2] = (uint8_t) (seq >> 8);
    b[3] = (uint8_t) seq;
    b[4] = (uint8_t) (ts >> 24);
    b[5] = (uint8_t) (ts >> 16);
    b[6] = (uint8_t) (ts >> 8);
    b[7] = (uint8_t) ts;
    b[8] = (uint8_t) (ssrc >> 24);
    b[9] = (uint8_t) (ssrc >> 16);
    b[10] = (uint8_t) (ssrc >> 8);
    b[11] = (uint8_t) ssrc;
    return feed(f, t_ms, src, dst, b, sizeof(b), false);
}

static void feeder_open(struct feeder *f, const struct flow_model_limits *lim)
{
    f->frame = 0;
    assert_int_equal(flow_model_new(&f->m, lim), 0);
}

static const struct flow_item *item(struct feeder *f, size_t i)
{
    size_t n;
    const struct flow_item *it = flow_model_items(f->m, &n);
    assert_true(i < n);
    return &it[i];
}

static bool has_finding(struct feeder *f, size_t i, const char *code,
                        struct flow_finding *got)
{
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    size_t n = flow_diagnose(f->m, i, fd, FLOW_MAX_FINDINGS);

    for (size_t k = 0; k < n; k++)
        if (strcmp(fd[k].code, code) == 0) {
            if (got) *got = fd[k];
            return true;
        }
    return false;
}

static bool has_frame(const struct flow_finding *fd, uint64_t frame)
{
    for (unsigned k = 0; k < fd->nframes; k++)
        if (fd->frames[k] == frame) return true;
    return false;
}

/* ---- messages ---- */

#define HDRS(branch, method, cseq, totag)                                                \
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" branch "\n"                                 \
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\n"                                   \
    "To: <sip:bob@example.com>" totag "\n"                                               \
    "Call-ID: call-1@10.0.0.1\n"                                                         \
    "CSeq: " cseq " " method "\n"

#define SDP_A                                                                            \
    "\nv=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"                    \
    "m=audio 4000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n"
#define SDP_B                                                                            \
    "\nv=0\no=- 2 1 IN IP4 10.0.0.2\ns=-\nc=IN IP4 10.0.0.2\nt=0 0\n"                    \
    "m=audio 5000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n"

#define CT "Content-Type: application/sdp\n"

static void answered_call(struct feeder *f, struct sk_sa *a, struct sk_sa *b,
                          uint64_t *bye_frame)
{
    *a = addr("10.0.0.1", 5060);
    *b = addr("10.0.0.2", 5060);
    sip(f, 0, a, b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS(
            "z9hG4bKinv1", "INVITE", "1", "") "Contact: <sip:alice@10.0.0.1>\n" CT SDP_A);
    sip(f, 10, b, a, "SIP/2.0 100 Trying\n" HDRS("z9hG4bKinv1", "INVITE", "1", ""));
    sip(f, 100, b, a,
        "SIP/2.0 180 Ringing\n" HDRS("z9hG4bKinv1", "INVITE", "1", ";tag=b1"));
    sip(f, 2100, b, a,
        "SIP/2.0 200 OK\n" HDRS("z9hG4bKinv1", "INVITE", "1",
                                ";tag=b1") "Contact: <sip:bob@10.0.0.2>\n" CT SDP_B);
    sip(f, 2110, a, b,
        "ACK sip:bob@10.0.0.2 SIP/2.0\n" HDRS("z9hG4bKack1", "ACK", "1", ";tag=b1"));
    (void) bye_frame;
}

/* A call with 100/180/200/ACK, RTP both ways (one packet lost A->B), BYE from the
 * callee. */
static void test_call(void **state)
{
    struct feeder f;
    struct sk_sa a, b, ra = addr("10.0.0.1", 4000), rb = addr("10.0.0.2", 5000);
    uint64_t bye;
    size_t n;
    const struct flow_stream *s;
    struct flow_stream_figures fg;

    (void) state;
    feeder_open(&f, NULL);
    answered_call(&f, &a, &b, &bye);
    for (uint16_t i = 0; i < 50; i++) {
        if (i != 25)
            rtp(&f, 2200 + 20.0 * i, &ra, &rb, 0x1111, (uint16_t) (100 + i), 160u * i, 0);
        rtp(&f, 2205 + 20.0 * i, &rb, &ra, 0x2222, (uint16_t) (65530 + i),
            1000 + 160u * i, 0);
    }
    bye = sip(&f, 5000, &b, &a,
              "BYE sip:alice@10.0.0.1 SIP/2.0\n"
              "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKbye1\n"
              "From: <sip:bob@example.com>;tag=b1\n"
              "To: \"Alice\" <sip:alice@example.com>;tag=a1\n"
              "Call-ID: call-1@10.0.0.1\nCSeq: 1 BYE\n");
    sip(&f, 5010, &a, &b,
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKbye1\n"
        "From: <sip:bob@example.com>;tag=b1\nTo: \"Alice\" "
        "<sip:alice@example.com>;tag=a1\n"
        "Call-ID: call-1@10.0.0.1\nCSeq: 1 BYE\n");
    flow_model_finish(f.m);

    flow_model_items(f.m, &n);
    assert_int_equal(n, 1);
    const struct flow_item *it = item(&f, 0);
    assert_int_equal(it->kind, FLOW_ITEM_CALL);
    assert_string_equal(it->call_id, "call-1@10.0.0.1");
    assert_string_equal(it->from, "alice@example.com");
    assert_string_equal(it->to, "bob@example.com");
    assert_int_equal(it->final_status, 200);
    assert_int_equal(it->ringing_ns - it->start_ns, 100000000);
    assert_int_equal(it->answer_ns - it->start_ns, 2100000000);
    assert_int_equal(it->ended, FLOW_END_CALLEE_BYE);
    assert_int_equal(it->end_frame, bye);
    assert_int_equal(it->end_ns - it->answer_ns, 2900000000ull);
    assert_int_equal(it->retrans, 0);
    assert_int_equal(it->ndialogs, 1);
    assert_string_equal(it->dialog[0].to_tag, "b1");
    assert_int_equal(it->dialog[0].status, 200);
    assert_int_equal(it->streams, 2);
    assert_int_equal(flow_diagnose(f.m, 0, NULL, 0), 0);
    {
        struct flow_finding fd[FLOW_MAX_FINDINGS];
        assert_int_equal(flow_diagnose(f.m, 0, fd, FLOW_MAX_FINDINGS), 0);
    }
    /* INVITE, ACK (of the 2xx: its own transaction), BYE */
    flow_model_txns(f.m, &n);
    assert_int_equal(n, 3);

    s = flow_model_streams(f.m, &n);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].ssrc, 0x1111);
    assert_int_equal(s[0].item, 0);
    assert_true(s[0].from_sdp);
    assert_string_equal(s[0].codec, "PCMU");
    assert_string_equal(s[0].payloads, "g711U");
    flow_stream_figures(&s[0], &fg);
    assert_int_equal(fg.packets, 49);
    assert_int_equal(fg.lost, 1);
    assert_true(fg.max_delta_ms > 39.9 && fg.max_delta_ms < 40.1);
    assert_true(fg.max_jitter_ms < 0.01); /* sent and received at the same pace */
    assert_true(fg.has_mos && fg.mos > 4.0 && fg.mos < 4.41);
    flow_stream_figures(&s[1], &fg); /* across the sequence number wrap */
    assert_int_equal(fg.packets, 50);
    assert_int_equal(fg.lost, 0);
    assert_int_equal(s[1].item, 0);
    assert_true(fg.mos > 4.40);
    flow_model_free(f.m);
}

/* An INVITE sent twice (the same branch), a 486 sent twice, the ACK sent twice. */
static void test_retransmitted_invite(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    uint64_t busy;
    size_t n;
    const struct flow_txn *t;
    struct flow_finding fd = {.nframes = 0};

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKr1", "INVITE", "1", ""));
    sip(&f, 500, &a, &b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKr1", "INVITE", "1", ""));
    sip(&f, 510, &b, &a, "SIP/2.0 100 Trying\n" HDRS("z9hG4bKr1", "INVITE", "1", ""));
    busy = sip(&f, 800, &b, &a,
               "SIP/2.0 486 Busy Here\n" HDRS("z9hG4bKr1", "INVITE", "1", ";tag=b9"));
    sip(&f, 1300, &b, &a,
        "SIP/2.0 486 Busy Here\n" HDRS("z9hG4bKr1", "INVITE", "1", ";tag=b9"));
    sip(&f, 1310, &a, &b,
        "ACK sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKr1", "ACK", "1", ";tag=b9"));
    sip(&f, 1320, &a, &b,
        "ACK sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKr1", "ACK", "1", ";tag=b9"));

    t = flow_model_txns(f.m, &n);
    assert_int_equal(n, 1); /* the ACK of a non-2xx final is part of the INVITE's */
    assert_int_equal(t[0].method, SIP_METHOD_INVITE);
    assert_int_equal(t[0].req_retrans, 2);  /* the INVITE and the ACK, by the client */
    assert_int_equal(t[0].resp_retrans, 1); /* the 486, by the server */
    assert_true(t[0].acked);
    assert_int_equal(t[0].final_status, 486);
    assert_int_equal(item(&f, 0)->retrans, 3);
    assert_int_equal(item(&f, 0)->final_status, 486);
    assert_int_equal(item(&f, 0)->ended, FLOW_END_REJECTED);
    assert_true(has_finding(&f, 0, "status-486", &fd));
    assert_string_equal(fd.summary, "failed: 486 Busy Here");
    assert_int_equal(fd.severity, FLOW_SEV_ERROR);
    assert_true(has_frame(&fd, busy));
    {
        size_t nm;
        const struct flow_msg *msg = flow_model_msgs(f.m, &nm);
        assert_int_equal(nm, 7);
        assert_false(msg[0].retrans);
        assert_true(msg[1].retrans);
        assert_true(msg[4].retrans);
        assert_true(msg[6].retrans);
    }
    flow_model_free(f.m);
}

/* INVITE, 180, CANCEL, 200 (CANCEL), 487, ACK */
static void test_cancelled(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    uint64_t cancel, final;
    size_t n;
    const struct flow_txn *t;
    struct flow_finding fd = {.nframes = 0};

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKc1", "INVITE", "1", ""));
    sip(&f, 100, &b, &a,
        "SIP/2.0 180 Ringing\n" HDRS("z9hG4bKc1", "INVITE", "1", ";tag=b2"));
    cancel =
        sip(&f, 4000, &a, &b,
            "CANCEL sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKc1", "CANCEL", "1", ""));
    sip(&f, 4010, &b, &a, "SIP/2.0 200 OK\n" HDRS("z9hG4bKc1", "CANCEL", "1", ";tag=b2"));
    final = sip(
        &f, 4020, &b, &a,
        "SIP/2.0 487 Request Terminated\n" HDRS("z9hG4bKc1", "INVITE", "1", ";tag=b2"));
    sip(&f, 4030, &a, &b,
        "ACK sip:bob@example.com SIP/2.0\n" HDRS("z9hG4bKc1", "ACK", "1", ";tag=b2"));

    t = flow_model_txns(f.m, &n);
    assert_int_equal(n, 2);
    assert_int_equal(t[1].method, SIP_METHOD_CANCEL);
    assert_int_equal(t[1].invite_txn, 0);
    assert_int_equal(t[1].final_status, 200);
    assert_int_equal(t[0].final_status, 487);
    assert_true(t[0].acked);
    assert_true(item(&f, 0)->cancelled);
    assert_int_equal(item(&f, 0)->ended, FLOW_END_CANCEL);
    assert_int_equal(item(&f, 0)->answer_ns, 0);
    assert_true(has_finding(&f, 0, "status-487", &fd));
    assert_string_equal(fd.summary, "no answer (487 after CANCEL)");
    assert_int_equal(fd.severity, FLOW_SEV_INFO);
    assert_true(has_frame(&fd, cancel) && has_frame(&fd, final));
    flow_model_free(f.m);
}

/* RFC 2543 peers (no branch, §17.2.3 fallback): the responses carry the Via with
 * the received the server added, the ACK the To tag of the final: one INVITE
 * transaction; the CANCEL finds it by the same key. */
#define HDRS_2543(via_extra, method, totag)                                              \
    "Via: SIP/2.0/UDP 10.0.0.1:5060" via_extra "\n"                                      \
    "From: <sip:alice@example.com>;tag=a1\n"                                             \
    "To: <sip:bob@example.com>" totag "\n"                                               \
    "Call-ID: old-1@10.0.0.1\n"                                                          \
    "CSeq: 7 " method "\n"

static void test_rfc2543_txn(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    size_t n;
    const struct flow_txn *t;

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS_2543("", "INVITE", ""));
    sip(&f, 500, &a, &b,
        "INVITE sip:bob@example.com SIP/2.0\n" HDRS_2543("", "INVITE", ""));
    sip(&f, 510, &b, &a,
        "SIP/2.0 180 Ringing\n" HDRS_2543(";received=10.0.0.1", "INVITE", ";tag=b7"));
    sip(&f, 3000, &a, &b,
        "CANCEL sip:bob@example.com SIP/2.0\n" HDRS_2543("", "CANCEL", ""));
    sip(&f, 3010, &b, &a,
        "SIP/2.0 200 OK\n" HDRS_2543(";received=10.0.0.1", "CANCEL", ";tag=b7"));
    sip(&f, 3020, &b, &a,
        "SIP/2.0 487 Request Terminated\n" HDRS_2543(";received=10.0.0.1", "INVITE",
                                                     ";tag=b7"));
    sip(&f, 3030, &a, &b,
        "ACK sip:bob@example.com SIP/2.0\n" HDRS_2543("", "ACK", ";tag=b7"));

    t = flow_model_txns(f.m, &n);
    assert_int_equal(n, 2);
    assert_true(t[0].rfc2543);
    assert_int_equal(t[0].method, SIP_METHOD_INVITE);
    assert_int_equal(t[0].requests, 3); /* the INVITE twice, the ACK */
    assert_int_equal(t[0].req_retrans, 1);
    assert_int_equal(t[0].responses, 2);
    assert_int_equal(t[0].final_status, 487);
    assert_true(t[0].acked);
    assert_int_equal(t[1].method, SIP_METHOD_CANCEL);
    assert_int_equal(t[1].invite_txn, 0);
    assert_int_equal(t[1].final_status, 200);
    assert_true(item(&f, 0)->cancelled);
    flow_model_free(f.m);
}

#define REG(branch, cseq, extra)                                                         \
    "REGISTER sip:example.com SIP/2.0\n"                                                 \
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" branch "\n"                                 \
    "From: <sip:alice@example.com>;tag=r1\nTo: <sip:alice@example.com>\n"                \
    "Call-ID: reg-1\nCSeq: " cseq " REGISTER\nContact: <sip:alice@10.0.0.1>\n" extra
#define REG_RESP(status, branch, cseq, extra)                                            \
    "SIP/2.0 " status "\n"                                                               \
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" branch "\n"                                 \
    "From: <sip:alice@example.com>;tag=r1\nTo: <sip:alice@example.com>;tag=s1\n"         \
    "Call-ID: reg-1\nCSeq: " cseq " REGISTER\n" extra
#define AUTH_HDR                                                                         \
    "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"n1\", "    \
    "uri=\"sip:example.com\", response=\"00000000000000000000000000000000\"\n"
#define CHALLENGE "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\"\n"

/* REGISTER, 401, REGISTER with credentials, 200 */
static void test_registration(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), r = addr("10.0.0.9", 5060);
    size_t n;

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &r, REG("z9hG4bKg1", "1", ""));
    sip(&f, 5, &r, &a, REG_RESP("401 Unauthorized", "z9hG4bKg1", "1", CHALLENGE));
    sip(&f, 10, &a, &r, REG("z9hG4bKg2", "2", AUTH_HDR));
    sip(&f, 15, &r, &a,
        REG_RESP("200 OK", "z9hG4bKg2", "2",
                 "Contact: <sip:alice@10.0.0.1>;expires=3600\n"));
    flow_model_items(f.m, &n);
    assert_int_equal(n, 1);
    assert_int_equal(item(&f, 0)->kind, FLOW_ITEM_REGISTRATION);
    assert_int_equal(item(&f, 0)->challenges, 1);
    assert_int_equal(item(&f, 0)->final_status, 200);
    assert_int_equal(item(&f, 0)->expires, 3600);
    assert_false(has_finding(&f, 0, "auth-rejected", NULL));
    assert_false(has_finding(&f, 0, "status-401", NULL));
    flow_model_txns(f.m, &n);
    assert_int_equal(n, 2);
    flow_model_free(f.m);
}

/* Credentials challenged again: the auth rule fires with the frames. */
static void test_registration_rejected(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), r = addr("10.0.0.9", 5060);
    struct flow_finding fd = {.nframes = 0};
    uint64_t again;

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &r, REG("z9hG4bKh1", "1", ""));
    sip(&f, 5, &r, &a, REG_RESP("401 Unauthorized", "z9hG4bKh1", "1", CHALLENGE));
    sip(&f, 10, &a, &r, REG("z9hG4bKh2", "2", AUTH_HDR));
    again =
        sip(&f, 15, &r, &a, REG_RESP("401 Unauthorized", "z9hG4bKh2", "2", CHALLENGE));
    assert_int_equal(item(&f, 0)->challenges, 2);
    assert_true(has_finding(&f, 0, "auth-rejected", &fd));
    assert_true(has_frame(&fd, again));
    assert_false(has_finding(&f, 0, "status-401", NULL)); /* said by auth-rejected */
    flow_model_free(f.m);
}

/* An answered call with RTP from the caller only. */
static void test_one_way_audio(void **state)
{
    struct feeder f;
    struct sk_sa a, b, ra = addr("10.0.0.1", 4000), rb = addr("10.0.0.2", 5000);
    uint64_t bye, first = 0;
    struct flow_finding fd = {.nframes = 0};

    (void) state;
    feeder_open(&f, NULL);
    answered_call(&f, &a, &b, &bye);
    for (uint16_t i = 0; i < 20; i++) {
        uint64_t fr = rtp(&f, 2200 + 20.0 * i, &ra, &rb, 0x3333, i, 160u * i, 0);
        if (!first) first = fr;
    }
    assert_true(has_finding(&f, 0, "one-way-audio", &fd));
    assert_true(has_frame(&fd, first));
    assert_string_equal(fd.summary, "one-way audio?");
    flow_model_free(f.m);
}

/* RTP no SDP announced: a stream once two packets of a flow agree; DTMF digits. */
static void test_unassociated_rtp_dtmf(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("192.0.2.1", 7000), b = addr("192.0.2.2", 7002);
    size_t n;
    const struct flow_stream *s;
    uint8_t junk[40];

    (void) state;
    feeder_open(&f, NULL);
    memset(junk, 0x80, sizeof(junk)); /* version 2, one packet: not a stream */
    feed(&f, 0, &b, &a, junk, sizeof(junk), false);
    for (uint16_t i = 0; i < 10; i++)
        rtp(&f, 20.0 * i, &a, &b, 0xabcd, (uint16_t) (7 + i), 160u * i, 8);
    s = flow_model_streams(f.m, &n);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].item, -1);
    assert_false(s[0].from_sdp);
    assert_int_equal(s[0].seq.packets, 10);
    assert_string_equal(s[0].codec, "PCMA");
    flow_model_free(f.m);

    /* DTMF '5' on an SDP-announced stream: events out of jitter, the digit found */
    {
        struct sk_sa sa, sb, ra = addr("10.0.0.1", 4000), rb = addr("10.0.0.2", 5000);
        uint64_t bye;
        uint8_t ev[16];

        feeder_open(&f, NULL);
        answered_call(&f, &sa, &sb, &bye);
        for (uint16_t i = 0; i < 10; i++)
            rtp(&f, 2200 + 20.0 * i, &ra, &rb, 0x4444, i, 160u * i, 0);
        for (uint16_t i = 0; i < 4; i++) {
            memset(ev, 0, sizeof(ev));
            ev[0] = 0x80;
            ev[1] = (uint8_t) (101 | (i == 0 ? 0x80 : 0));
            ev[3] = (uint8_t) (10 + i);
            ev[7] = 0x40, ev[6] = 0x06;
            ev[11] = 0x44, ev[10] = 0x44;
            ev[12] = 5;
            ev[13] = (uint8_t) (i == 3 ? 0x80 | 10 : 10);
            ev[15] = (uint8_t) (160 * (i + 1));
            ev[14] = (uint8_t) ((160 * (i + 1)) >> 8);
            feed(&f, 2400 + 20.0 * i, &ra, &rb, ev, 16, false);
        }
        flow_model_finish(f.m);
        s = flow_model_streams(f.m, &n);
        assert_int_equal(n, 1);
        assert_int_equal(s[0].events, 4);
        assert_string_equal(s[0].digits, "5");
        assert_string_equal(s[0].payloads, "g711U, telephone-event");
        assert_int_equal(s[0].jit.packets, 10);
        assert_int_equal(s[0].seq.packets, 14);
        flow_model_free(f.m);
    }
}

/* Limits: items past the limit are counted, not kept; copies stop at the text limit. */
static void test_limits(void **state)
{
    struct feeder f;
    struct flow_model_limits lim = flow_model_limits_default;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    size_t n, len;
    const struct flow_msg *msg;

    (void) state;
    lim.max_items = 1;
    lim.max_text_bytes = 300;
    lim.max_msg_copy = 200;
    feeder_open(&f, &lim);
    sip(&f, 0, &a, &b, REG("z9hG4bKl1", "1", ""));
    sip(&f, 1, &a, &b,
        "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKo\n"
        "From: <sip:a@x>;tag=1\nTo: <sip:x>\nCall-ID: other\nCSeq: 1 OPTIONS\n");
    sip(&f, 2, &a, &b, REG("z9hG4bKl2", "2", ""));
    flow_model_items(f.m, &n);
    assert_int_equal(n, 1);
    assert_int_equal(flow_model_counts(f.m)->dropped_items, 1);
    msg = flow_model_msgs(f.m, &n);
    assert_int_equal(n, 3);
    assert_non_null(flow_model_msg_text(f.m, &msg[0], &len));
    assert_int_equal(len, 200);
    assert_int_equal(memcmp(flow_model_msg_text(f.m, &msg[0], &len), "REGISTER ", 9), 0);
    assert_null(flow_model_msg_text(f.m, &msg[1], &len)); /* 400 > 300 bytes */
    assert_int_equal(msg[1].item, -1);
    assert_int_equal(flow_model_counts(f.m)->dropped_text, 2);
    flow_model_free(f.m);
}

/* The copies come back byte for byte: lines shared between messages are stored once,
 * a last line without LF and a copy cut inside a line included. */
static void test_copies(void **state)
{
    static const char *const MSGS[] = {
        "INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc1\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: copies\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n",
        "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc1\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: copies\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc1\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: copies\r\n"
        "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\n"
        "v=0\r\ns=-", /* the body's last line without LF */
    };
    struct feeder f;
    struct flow_model_limits lim = flow_model_limits_default;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    size_t n, len, cut;
    const struct flow_msg *msg;
    const char *text;

    (void) state;
    lim.max_msg_copy = 150; /* the 200 OK is cut inside its Content-Type line */
    feeder_open(&f, &lim);
    for (size_t i = 0; i < 3; i++)
        feed(&f, (double) i, i ? &b : &a, i ? &a : &b, MSGS[i], strlen(MSGS[i]), true);
    msg = flow_model_msgs(f.m, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        cut = strlen(MSGS[i]) < 150 ? strlen(MSGS[i]) : 150;
        text = flow_model_msg_text(f.m, &msg[i], &len);
        assert_non_null(text);
        assert_int_equal(len, cut);
        assert_memory_equal(text, MSGS[i], cut);
    }
    assert_int_equal(flow_model_counts(f.m)->dropped_text, 0);
    flow_model_free(f.m);
}

/* Garbage as SIP and as UDP never crashes; broken SIP is counted. */
static void test_garbage(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    uint8_t buf[300];
    uint32_t x = 12345;

    (void) state;
    feeder_open(&f, NULL);
    for (int k = 0; k < 2000; k++) {
        size_t len = (size_t) (k % 300);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t) (x >> 16);
        }
        if (len) buf[0] = (uint8_t) (0x80 | (buf[0] & 0x3f));
        feed(&f, k, &a, &b, buf, len, k % 3 == 0);
    }
    sip(&f, 3000, &a, &b, "INVITE sip:x SIP/2.0\nVia: nonsense\n");
    assert_true(flow_model_counts(f.m)->sip_bad >= 1);
    flow_model_finish(f.m);
    flow_model_free(f.m);
}

/* A phone writing IPv6 addresses without brackets: refused by the parser, read
 * leniently, still a call. */
static void test_lenient(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("fe80::1", 5060), b = addr("fec0::2", 5060);

    (void) state;
    feeder_open(&f, NULL);
    sip(&f, 0, &a, &b,
        "INVITE sip:4321@fec0:0:0:0:0:0:0:2:5060 SIP/2.0\n"
        "Via: SIP/2.0/UDP [fe80::1]:5060;branch=z9hG4bKv6\n"
        "From: <sip:9876@fe80:0:0:0:0:0:0:1:5060>;tag=x1\n"
        "To: <sip:4321@fec0:0:0:0:0:0:0:2:5060>\n"
        "Call-ID: v6@fe80:0:0:0:0:0:0:1\nCSeq: 1 INVITE\n");
    sip(&f, 10, &b, &a,
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP [fe80::1]:5060;branch=z9hG4bKv6\n"
        "From: <sip:9876@fe80:0:0:0:0:0:0:1:5060>;tag=x1\n"
        "To: <sip:4321@fec0:0:0:0:0:0:0:2:5060>;tag=y2\n"
        "Call-ID: v6@fe80:0:0:0:0:0:0:1\nCSeq: 1 INVITE\n");
    sip(&f, 20, &a, &b, "no SIP at all\n");
    assert_int_equal(flow_model_counts(f.m)->sip_lenient, 2);
    assert_int_equal(flow_model_counts(f.m)->sip_bad, 1);
    assert_int_equal(item(&f, 0)->kind, FLOW_ITEM_CALL);
    assert_string_equal(item(&f, 0)->from, "9876@fe80:0:0:0:0:0:0:1:5060");
    assert_string_equal(item(&f, 0)->from_tag, "x1");
    assert_int_equal(item(&f, 0)->final_status, 200);
    assert_string_equal(item(&f, 0)->dialog[0].to_tag, "y2");
    {
        size_t n;
        const struct flow_txn *t = flow_model_txns(f.m, &n);
        assert_int_equal(n, 1);
        assert_int_equal(t[0].final_status, 200);
    }
    flow_model_free(f.m);
}

/* A re-INVITE to PCMA on the same address and SSRC: a new segment, and the sequence
 * jump between the two is not loss. */
static void test_reinvite_segment(void **state)
{
    struct feeder f;
    struct sk_sa a, b, ra = addr("10.0.0.1", 4000), rb = addr("10.0.0.2", 5000);
    uint64_t bye;
    size_t n;
    const struct flow_stream *s;
    struct flow_stream_figures fg;

    (void) state;
    feeder_open(&f, NULL);
    answered_call(&f, &a, &b, &bye);
    for (uint16_t i = 0; i < 20; i++)
        rtp(&f, 2200 + 20.0 * i, &ra, &rb, 0x5555, i, 160u * i, 0);
    sip(&f, 3000, &a, &b,
        "INVITE sip:bob@10.0.0.2 SIP/2.0\n" HDRS("z9hG4bKre", "INVITE", "2", ";tag=b1") CT
        "\nv=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
        "m=audio 4000 RTP/AVP 8\n");
    sip(&f, 3010, &b, &a,
        "SIP/2.0 200 OK\n" HDRS("z9hG4bKre", "INVITE", "2", ";tag=b1") CT
        "\nv=0\no=- 2 2 IN IP4 10.0.0.2\ns=-\nc=IN IP4 10.0.0.2\nt=0 0\n"
        "m=audio 5000 RTP/AVP 8\n");
    for (uint16_t i = 0; i < 20; i++)
        rtp(&f, 3100 + 20.0 * i, &ra, &rb, 0x5555, (uint16_t) (5000 + i),
            90000 + 160u * i, 8);
    assert_int_equal(item(&f, 0)->reinvites, 1);
    assert_int_equal(item(&f, 0)->final_status, 200);
    s = flow_model_streams(f.m, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].codec, "PCMU");
    assert_string_equal(s[1].codec, "PCMA");
    assert_int_equal(s[1].segment, 2);
    for (size_t i = 0; i < 2; i++) {
        flow_stream_figures(&s[i], &fg);
        assert_int_equal(fg.packets, 20);
        assert_int_equal(fg.lost, 0);
    }
    flow_model_free(f.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_retransmitted_invite),
        cmocka_unit_test(test_cancelled),
        cmocka_unit_test(test_rfc2543_txn),
        cmocka_unit_test(test_registration),
        cmocka_unit_test(test_registration_rejected),
        cmocka_unit_test(test_one_way_audio),
        cmocka_unit_test(test_unassociated_rtp_dtmf),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_copies),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_reinvite_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
