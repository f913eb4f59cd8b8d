/* Tests of the diagnosis rules of `sipkit flow` and their helpers (address scopes,
 * codec names in Warning texts), on calls and registrations made of packets built
 * here: each rule on a case that triggers it and on one that must not. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "flow/model.h"
#include "flow_feed.h"

/* ---- feeding packets: flow_feed.h ---- */

/* A SIP message from a printf template with '\n' line ends (made CRLF here);
 * Content-Length is filled in for the body after the blank line. */
static uint64_t sip(struct feeder *f, double t_ms, const struct sk_sa *src,
                    const struct sk_sa *dst, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static uint64_t sip(struct feeder *f, double t_ms, const struct sk_sa *src,
                    const struct sk_sa *dst, const char *fmt, ...)
{
    char tmpl[3072], out[4096], body[2048] = "";
    size_t n = 0, bn = 0, hlen;
    const char *sep;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmpl, sizeof(tmpl), fmt, ap);
    va_end(ap);
    sep = strstr(tmpl, "\n\n");
    hlen = sep ? (size_t) (sep - tmpl) + 1 : strlen(tmpl);
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
                    const struct sk_sa *dst, uint32_t ssrc, uint16_t seq)
{
    uint8_t b[12 + 160];
    uint32_t ts = 160u * seq;

    memset(b, 0xd5, sizeof(b));
    b[0] = 0x80;
    b[1] = 0;
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

/* 20 packets, 20 ms apart; returns the first frame */
static uint64_t rtp_run(struct feeder *f, double t_ms, const struct sk_sa *src,
                        const struct sk_sa *dst, uint32_t ssrc)
{
    uint64_t first = 0;
    for (uint16_t i = 0; i < 20; i++) {
        uint64_t fr = rtp(f, t_ms + 20.0 * i, src, dst, ssrc, i);
        if (!first) first = fr;
    }
    return first;
}

static void feeder_open(struct feeder *f)
{
    f->frame = 0;
    assert_int_equal(flow_model_new(&f->m, NULL), 0);
}

static bool has_finding(struct feeder *f, size_t i, const char *code,
                        struct flow_finding *got)
{
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    size_t n = flow_diagnose(f->m, i, fd, FLOW_MAX_FINDINGS);

    for (size_t k = 0; k < n; k++) {
        assert_true(fd[k].fix[0] && fd[k].detail[0] && fd[k].summary[0]);
        if (strcmp(fd[k].code, code) == 0) {
            if (got) *got = fd[k];
            return true;
        }
    }
    return false;
}

static size_t n_findings(struct feeder *f, size_t i)
{
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    return flow_diagnose(f->m, i, fd, FLOW_MAX_FINDINGS);
}

static bool has_frame(const struct flow_finding *fd, uint64_t frame)
{
    for (unsigned k = 0; k < fd->nframes; k++)
        if (fd->frames[k] == frame) return true;
    return false;
}

/* ---- messages ---- */

#define H(branch, method, cseq, totag)                                                   \
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" branch "\n"                                \
    "From: <sip:alice@example.com>;tag=a1\n"                                             \
    "To: <sip:bob@example.com>" totag "\n"                                               \
    "Call-ID: c1@example.com\n"                                                          \
    "CSeq: " cseq " " method "\n"
#define CT "Content-Type: application/sdp\n"
#define SDP(ip, port, fmts)                                                              \
    "\nv=0\no=- 1 1 IN IP4 " ip "\ns=-\nc=IN IP4 " ip "\nt=0 0\nm=audio " port           \
    " RTP/AVP " fmts "\n"

#define INVITE(ip, port)                                                                 \
    "INVITE sip:bob@example.com SIP/2.0\n" H("z9hG4bKi1", "INVITE", "1",                 \
                                             "") "Contact: <sip:alice@" ip ":5060>\n" CT \
    SDP(ip, port, "0 8")
#define OK200(ip, port)                                                                  \
    "SIP/2.0 200 OK\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1") "Contact: <sip:bob@" ip  \
                                                                ":5060>\n" CT            \
                                                                SDP(ip, port, "0")
#define ACK "ACK sip:bob@example.com SIP/2.0\n" H("z9hG4bKa1", "ACK", "1", ";tag=b1")

/* ---- helpers ---- */

static void test_addr_scope(void **state)
{
    static const struct {
        const char *ip;
        enum flow_addr_scope scope;
    } cases[] = {
        {"10.1.2.3", FLOW_ADDR_PRIVATE},        {"172.16.0.1", FLOW_ADDR_PRIVATE},
        {"172.31.255.255", FLOW_ADDR_PRIVATE},  {"172.15.0.1", FLOW_ADDR_PUBLIC},
        {"172.32.0.1", FLOW_ADDR_PUBLIC},       {"192.168.77.10", FLOW_ADDR_PRIVATE},
        {"192.169.0.1", FLOW_ADDR_PUBLIC},      {"100.64.0.1", FLOW_ADDR_PRIVATE},
        {"100.127.255.254", FLOW_ADDR_PRIVATE}, {"100.128.0.1", FLOW_ADDR_PUBLIC},
        {"100.63.255.255", FLOW_ADDR_PUBLIC},   {"127.0.0.1", FLOW_ADDR_LOCAL},
        {"169.254.3.4", FLOW_ADDR_LOCAL},       {"0.0.0.0", FLOW_ADDR_LOCAL},
        {"198.51.100.1", FLOW_ADDR_PUBLIC},     {"8.8.8.8", FLOW_ADDR_PUBLIC},
        {"fd00::1", FLOW_ADDR_PRIVATE},         {"fc12::1", FLOW_ADDR_PRIVATE},
        {"fe80::1", FLOW_ADDR_LOCAL},           {"::1", FLOW_ADDR_LOCAL},
        {"2001:db8::1", FLOW_ADDR_PUBLIC},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_sa a = addr(cases[i].ip, 5060);
        if (flow_addr_scope(&a) != cases[i].scope) fail_msg("%s", cases[i].ip);
    }
}

static void test_codecs_in_text(void **state)
{
    char out[64];
    const char *w = "305 127.0.0.1 \"Incompatible media format: only G729 offered\"";

    (void) state;
    assert_int_equal(flow_codecs_in_text(w, strlen(w), out, sizeof(out)), 1);
    assert_string_equal(out, "G729");
    w = "only AMR-WB and g722 here";
    assert_int_equal(flow_codecs_in_text(w, strlen(w), out, sizeof(out)), 2);
    assert_string_equal(out, "G722, AMR-WB");
    w = "no common format";
    assert_int_equal(flow_codecs_in_text(w, strlen(w), out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(flow_codecs_in_text("XG7290", 6, out, sizeof(out)), 0);
    assert_int_equal(flow_codecs_in_text("G729", 3, out, sizeof(out)),
                     0); /* no over-read */
}

/* ---- NAT ---- */

/* alice at 192.168.1.10 behind a NAT 203.0.113.1 calls bob at 198.51.100.20; bob's RTP
 * goes to the private address (dead) or, comedia, back to where alice's came from */
static void nat_call(struct feeder *f, bool comedia, uint64_t *invite, uint64_t *dead)
{
    struct sk_sa nat = addr("203.0.113.1", 5060), b = addr("198.51.100.20", 5060);
    struct sk_sa nat_rtp = addr("203.0.113.1", 4000), b_rtp = addr("198.51.100.20", 5000);
    struct sk_sa priv = addr("192.168.1.10", 4000);

    *invite = sip(f, 0, &nat, &b, INVITE("192.168.1.10", "4000"));
    sip(f, 100, &b, &nat,
        "SIP/2.0 180 Ringing\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1"));
    sip(f, 1000, &b, &nat, OK200("198.51.100.20", "5000"));
    sip(f, 1010, &nat, &b, ACK);
    rtp_run(f, 1020, &nat_rtp, &b_rtp, 0x1111);
    *dead = rtp_run(f, 1030, &b_rtp, comedia ? &nat_rtp : &priv, 0x2222);
}

static void test_nat_one_way(void **state)
{
    struct feeder f;
    struct flow_finding fd;
    uint64_t invite, dead;

    (void) state;
    feeder_open(&f);
    nat_call(&f, false, &invite, &dead);
    assert_true(has_finding(&f, 0, "nat-one-way-audio", &fd));
    assert_int_equal(fd.severity, FLOW_SEV_ERROR);
    assert_true(has_frame(&fd, invite) && has_frame(&fd, dead));
    assert_non_null(strstr(fd.detail, "192.168.1.10:4000"));
    assert_non_null(strstr(fd.detail, "203.0.113.1"));
    assert_non_null(strstr(fd.fix, "symmetric RTP/comedia"));
    assert_false(has_finding(&f, 0, "one-way-audio", NULL)); /* said with its cause */
    flow_model_free(f.m);

    /* the far end answers to the source (comedia): audio both ways, only a warning */
    feeder_open(&f);
    nat_call(&f, true, &invite, &dead);
    assert_false(has_finding(&f, 0, "nat-one-way-audio", NULL));
    assert_true(has_finding(&f, 0, "nat-private-sdp", &fd));
    assert_int_equal(fd.severity, FLOW_SEV_WARNING);
    flow_model_free(f.m);
}

/* Private addresses on a LAN without NAT (the source matches the SDP): no NAT rule. */
static void test_lan_no_nat(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct sk_sa ar = addr("10.0.0.1", 4000), br = addr("10.0.0.2", 5000);

    (void) state;
    feeder_open(&f);
    sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
    sip(&f, 5, &b, &a, "SIP/2.0 100 Trying\n" H("z9hG4bKi1", "INVITE", "1", ""));
    sip(&f, 900, &b, &a, OK200("10.0.0.2", "5000"));
    sip(&f, 910, &a, &b, ACK);
    rtp_run(&f, 920, &ar, &br, 0x1);
    rtp_run(&f, 930, &br, &ar, 0x2);
    assert_int_equal(n_findings(&f, 0), 0);
    flow_model_free(f.m);
}

/* ---- auth ---- */

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

static void test_auth_refused(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), r = addr("10.0.0.9", 5060);
    struct flow_finding fd;
    uint64_t refused;

    (void) state;
    feeder_open(&f);
    sip(&f, 0, &a, &r, REG("z9hG4bKg1", "1", ""));
    sip(&f, 5, &r, &a, REG_RESP("401 Unauthorized", "z9hG4bKg1", "1", CHALLENGE));
    sip(&f, 10, &a, &r, REG("z9hG4bKg2", "2", AUTH_HDR));
    refused = sip(&f, 15, &r, &a, REG_RESP("403 Forbidden", "z9hG4bKg2", "2", ""));
    assert_true(has_finding(&f, 0, "auth-refused", &fd));
    assert_true(has_frame(&fd, refused));
    assert_non_null(strstr(fd.fix, "wrong password or realm"));
    assert_false(has_finding(&f, 0, "status-403", NULL));
    assert_false(has_finding(&f, 0, "auth-rejected", NULL)); /* one 401, not repeated */
    flow_model_free(f.m);

    /* a 403 without any challenge is no authentication matter */
    feeder_open(&f);
    sip(&f, 0, &a, &r, REG("z9hG4bKg1", "1", ""));
    sip(&f, 5, &r, &a, REG_RESP("403 Forbidden", "z9hG4bKg1", "1", ""));
    assert_false(has_finding(&f, 0, "auth-refused", NULL));
    assert_true(has_finding(&f, 0, "status-403", NULL));
    flow_model_free(f.m);
}

/* ---- registrations ---- */

static void test_binding_expired(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), r = addr("10.0.0.9", 5060);
    struct flow_finding fd;
    uint64_t granted;

    (void) state;
    feeder_open(&f);
    sip(&f, 0, &a, &r, REG("z9hG4bKe1", "1", "Expires: 60\n"));
    granted = sip(&f, 5, &r, &a,
                  REG_RESP("200 OK", "z9hG4bKe1", "1",
                           "Contact: <sip:alice@10.0.0.1>;expires=60\n"));
    sip(&f, 70000, &a, &r, "OPTIONS sip:x SIP/2.0\n" H("z9hG4bKo1", "OPTIONS", "1", ""));
    assert_true(has_finding(&f, 0, "binding-expired", &fd));
    assert_true(has_frame(&fd, granted));
    flow_model_free(f.m);

    /* refreshed at half the interval: fine */
    feeder_open(&f);
    sip(&f, 0, &a, &r, REG("z9hG4bKe1", "1", "Expires: 60\n"));
    sip(&f, 5, &r, &a,
        REG_RESP("200 OK", "z9hG4bKe1", "1",
                 "Contact: <sip:alice@10.0.0.1>;expires=60\n"));
    sip(&f, 30000, &a, &r, REG("z9hG4bKe2", "2", "Expires: 60\n"));
    sip(&f, 30005, &r, &a,
        REG_RESP("200 OK", "z9hG4bKe2", "2",
                 "Contact: <sip:alice@10.0.0.1>;expires=60\n"));
    sip(&f, 70000, &a, &r, "OPTIONS sip:x SIP/2.0\n" H("z9hG4bKo1", "OPTIONS", "1", ""));
    assert_false(has_finding(&f, 0, "binding-expired", NULL));
    assert_false(has_finding(&f, 0, "reg-nat-rebind", NULL)); /* same source */
    flow_model_free(f.m);
}

/* ---- transactions ---- */

static void answered(struct feeder *f, const struct sk_sa *a, const struct sk_sa *b)
{
    sip(f, 0, a, b, INVITE("10.0.0.1", "4000"));
    sip(f, 5, b, a, "SIP/2.0 100 Trying\n" H("z9hG4bKi1", "INVITE", "1", ""));
    sip(f, 900, b, a, OK200("10.0.0.2", "5000"));
}

static void test_481_and_loops(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct sk_sa ar = addr("10.0.0.1", 4000), br = addr("10.0.0.2", 5000);
    struct flow_finding fd;
    uint64_t bye, resp;

    (void) state;
    feeder_open(&f);
    answered(&f, &a, &b);
    sip(&f, 910, &a, &b, ACK);
    rtp_run(&f, 920, &ar, &br, 0x1);
    rtp_run(&f, 930, &br, &ar, 0x2);
    assert_false(has_finding(&f, 0, "no-such-dialog", NULL));
    bye = sip(&f, 3000, &a, &b,
              "BYE sip:bob@10.0.0.2 SIP/2.0\n" H("z9hG4bKb1", "BYE", "2", ";tag=b1"));
    resp = sip(&f, 3005, &b, &a,
               "SIP/2.0 481 Call/Transaction Does Not Exist\n" H("z9hG4bKb1", "BYE", "2",
                                                                 ";tag=b1"));
    assert_true(has_finding(&f, 0, "no-such-dialog", &fd));
    assert_true(has_frame(&fd, bye) && has_frame(&fd, resp));
    assert_false(has_finding(&f, 0, "routing-loop", NULL));
    flow_model_free(f.m);

    feeder_open(&f);
    sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
    resp = sip(&f, 5, &b, &a,
               "SIP/2.0 483 Too Many Hops\n" H("z9hG4bKi1", "INVITE", "1", ";tag=x"));
    assert_true(has_finding(&f, 0, "routing-loop", &fd));
    assert_true(has_frame(&fd, resp));
    assert_false(has_finding(&f, 0, "status-483", NULL));
    flow_model_free(f.m);
}

static void test_cancel_after_answer(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct flow_finding fd;
    uint64_t cancel;

    (void) state;
    feeder_open(&f);
    answered(&f, &a, &b);
    cancel =
        sip(&f, 901, &a, &b,
            "CANCEL sip:bob@example.com SIP/2.0\n" H("z9hG4bKi1", "CANCEL", "1", ""));
    assert_true(has_finding(&f, 0, "cancel-after-answer", &fd));
    assert_true(has_frame(&fd, cancel));
    flow_model_free(f.m);

    /* an ordinary CANCEL while it rings */
    feeder_open(&f);
    sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
    sip(&f, 100, &b, &a,
        "SIP/2.0 180 Ringing\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1"));
    sip(&f, 2000, &a, &b,
        "CANCEL sip:bob@example.com SIP/2.0\n" H("z9hG4bKi1", "CANCEL", "1", ""));
    sip(&f, 2005, &b, &a,
        "SIP/2.0 487 Request Terminated\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1"));
    assert_false(has_finding(&f, 0, "cancel-after-answer", NULL));
    assert_false(has_finding(&f, 0, "no-answer-timer-c", NULL)); /* the caller's own */
    assert_true(has_finding(&f, 0, "status-487", NULL));
    flow_model_free(f.m);
}

/* alice -> proxy -> bob; the proxy sends 100 Trying or not; alice retransmits */
static void proxied(struct feeder *f, bool trying, uint64_t *first)
{
    struct sk_sa a = addr("10.0.0.1", 5060), p = addr("10.0.0.5", 5060),
                 b = addr("10.0.0.2", 5060);

    *first = sip(f, 0, &a, &p, INVITE("10.0.0.1", "4000"));
    sip(f, 10, &p, &b,
        "INVITE sip:bob@10.0.0.2 SIP/2.0\n" H("z9hG4bKp1", "INVITE", "1", "")
            CT SDP("10.0.0.1", "4000", "0 8"));
    if (trying)
        sip(f, 12, &p, &a, "SIP/2.0 100 Trying\n" H("z9hG4bKi1", "INVITE", "1", ""));
    else {
        sip(f, 500, &a, &p, INVITE("10.0.0.1", "4000"));
        sip(f, 1500, &a, &p, INVITE("10.0.0.1", "4000"));
    }
    sip(f, 1800, &b, &p,
        "SIP/2.0 180 Ringing\n" H("z9hG4bKp1", "INVITE", "1", ";tag=b1"));
    sip(f, 1801, &p, &a,
        "SIP/2.0 180 Ringing\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1"));
}

static void test_no_trying(void **state)
{
    struct feeder f;
    struct flow_finding fd;
    uint64_t first;

    (void) state;
    feeder_open(&f);
    proxied(&f, false, &first);
    assert_true(has_finding(&f, 0, "no-100-trying", &fd));
    assert_true(has_frame(&fd, first));
    assert_true(has_finding(&f, 0, "invite-retransmitted", NULL));
    assert_false(has_finding(&f, 0, "invite-timeout", NULL));
    assert_false(has_finding(&f, 0, "slow-setup", NULL)); /* 1.8 s to the 180 */
    flow_model_free(f.m);

    feeder_open(&f);
    proxied(&f, true, &first);
    assert_int_equal(n_findings(&f, 0), 0);
    flow_model_free(f.m);
}

/* 415 with Accept; 606 with the callee's SDP: which codec the caller lacked */
static void test_415_606(void **state)
{
    struct feeder f;
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct flow_finding fd;

    (void) state;
    feeder_open(&f);
    sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
    sip(&f, 5, &b, &a,
        "SIP/2.0 415 Unsupported Media Type\n" H(
            "z9hG4bKi1", "INVITE", "1", ";tag=b1") "Accept: application/sdp;version=2\n");
    assert_true(has_finding(&f, 0, "unsupported-body", &fd));
    assert_non_null(strstr(fd.detail, "application/sdp;version=2"));
    assert_false(has_finding(&f, 0, "status-415", NULL));
    flow_model_free(f.m);

    feeder_open(&f);
    sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
    sip(&f, 5, &b, &a,
        "SIP/2.0 606 Not Acceptable\n" H("z9hG4bKi1", "INVITE", "1", ";tag=b1")
            CT SDP("10.0.0.2", "5000", "9"));
    assert_true(has_finding(&f, 0, "codec-mismatch", &fd));
    assert_non_null(strstr(fd.detail, "PCMU, PCMA"));
    assert_non_null(strstr(fd.detail, "lacked G722"));
    flow_model_free(f.m);
}

/* ---- DNS and ICMP ---- */

/* A DNS query (reply: a response with rcode) for name, type A. */
static uint64_t dns(struct feeder *f, double t_ms, const struct sk_sa *src,
                    const struct sk_sa *dst, uint16_t id, bool reply, int rcode,
                    const char *name)
{
    uint8_t b[256];
    size_t n = 12;

    memset(b, 0, 12);
    b[0] = (uint8_t) (id >> 8);
    b[1] = (uint8_t) id;
    b[2] = reply ? 0x81 : 0x01;
    b[3] = reply ? (uint8_t) (0x80 | rcode) : 0;
    b[5] = 1;
    for (const char *l = name; *l;) {
        const char *dot = strchr(l, '.');
        size_t len = dot ? (size_t) (dot - l) : strlen(l);
        b[n++] = (uint8_t) len;
        memcpy(b + n, l, len);
        n += len;
        l += len + (dot ? 1 : 0);
    }
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = 1; /* A */
    b[n++] = 0;
    b[n++] = 1; /* IN */
    return feed(f, t_ms, src, dst, b, n, false);
}

/* The caller resolves the callee's domain before its INVITE: slow (2 s, one retry) is
 * dns-slow, no reply before giving up is dns-failure, a quick answer is nothing; a
 * lookup by some other host is not the call's. */
static void test_dns(void **state)
{
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct sk_sa ad = addr("10.0.0.1", 41000), other = addr("10.0.0.9", 41000);
    struct sk_sa ns = addr("10.0.0.53", 53);
    struct flow_finding fd;
    struct feeder f;
    uint64_t q, r;

    (void) state;
    for (int round = 0; round < 4; round++) {
        feeder_open(&f);
        if (round == 0) { /* slow, retried */
            q = dns(&f, 0, &ad, &ns, 7, false, 0, "example.com");
            dns(&f, 1000, &ad, &ns, 8, false, 0, "example.com");
            r = dns(&f, 2000, &ns, &ad, 8, true, 0, "example.com");
        } else if (round == 1) { /* never answered */
            q = dns(&f, 0, &ad, &ns, 7, false, 0, "example.com");
            r = 0;
        } else if (round == 2) { /* quick */
            dns(&f, 0, &ad, &ns, 7, false, 0, "example.com");
            dns(&f, 20, &ns, &ad, 7, true, 0, "example.com");
        } else { /* slow, but another host's */
            dns(&f, 0, &other, &ns, 7, false, 0, "example.com");
            dns(&f, 2000, &ns, &other, 7, true, 0, "example.com");
        }
        sip(&f, 2100, &a, &b, INVITE("10.0.0.1", "4000"));
        sip(&f, 2105, &b, &a, "SIP/2.0 100 Trying\n" H("z9hG4bKi1", "INVITE", "1", ""));
        sip(&f, 2900, &b, &a, OK200("10.0.0.2", "5000"));
        sip(&f, 2910, &a, &b, ACK);
        if (round == 0) {
            assert_true(has_finding(&f, 0, "dns-slow", &fd));
            assert_int_equal(fd.severity, FLOW_SEV_WARNING);
            assert_non_null(strstr(fd.detail, "example.com"));
            assert_non_null(strstr(fd.detail, "1 retry"));
            assert_true(has_frame(&fd, q) && has_frame(&fd, r));
        } else if (round == 1) {
            assert_true(has_finding(&f, 0, "dns-failure", &fd));
            assert_int_equal(fd.severity, FLOW_SEV_ERROR);
            assert_non_null(strstr(fd.summary, "never answered"));
            assert_true(has_frame(&fd, q));
        } else {
            assert_false(has_finding(&f, 0, "dns-slow", NULL));
            assert_false(has_finding(&f, 0, "dns-failure", NULL));
        }
        flow_model_free(f.m);
    }
}

/* RTP loss past 1 % on a stream of an answered call: rtp-loss, an error past 3 %. */
static void test_rtp_loss(void **state)
{
    struct sk_sa a = addr("10.0.0.1", 5060), b = addr("10.0.0.2", 5060);
    struct sk_sa ar = addr("10.0.0.1", 4000), br = addr("10.0.0.2", 5000);
    struct flow_finding fd;
    struct feeder f;

    (void) state;
    static const int LOST[] = {0, 2, 8};
    for (size_t k = 0; k < 3; k++) {
        int lost = LOST[k];
        feeder_open(&f);
        sip(&f, 0, &a, &b, INVITE("10.0.0.1", "4000"));
        sip(&f, 5, &b, &a, "SIP/2.0 100 Trying\n" H("z9hG4bKi1", "INVITE", "1", ""));
        sip(&f, 900, &b, &a, OK200("10.0.0.2", "5000"));
        sip(&f, 910, &a, &b, ACK);
        for (uint16_t i = 0; i < 100; i++) /* every 12th of the first lost*12 */
            if (!(i % 12 == 5 && i / 12 < lost)) rtp(&f, 920 + 20.0 * i, &ar, &br, 1, i);
        for (uint16_t i = 0; i < 100; i++)
            rtp(&f, 930 + 20.0 * i, &br, &ar, 2, i);
        if (lost == 0) {
            assert_int_equal(n_findings(&f, 0), 0);
        } else {
            assert_true(has_finding(&f, 0, "rtp-loss", &fd));
            assert_int_equal(fd.severity, lost > 3 ? FLOW_SEV_ERROR : FLOW_SEV_WARNING);
            assert_non_null(strstr(fd.detail, "10.0.0.1:4000"));
            assert_false(has_finding(&f, 0, "rtp-jitter", NULL));
        }
        flow_model_free(f.m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_scope),    cmocka_unit_test(test_codecs_in_text),
        cmocka_unit_test(test_nat_one_way),   cmocka_unit_test(test_lan_no_nat),
        cmocka_unit_test(test_auth_refused),  cmocka_unit_test(test_binding_expired),
        cmocka_unit_test(test_481_and_loops), cmocka_unit_test(test_cancel_after_answer),
        cmocka_unit_test(test_no_trying),     cmocka_unit_test(test_415_606),
        cmocka_unit_test(test_dns),           cmocka_unit_test(test_rtp_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
