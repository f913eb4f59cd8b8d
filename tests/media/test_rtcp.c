/* Tests of RTCP compound packets (RFC 3550 §6, §A.2), NTP timestamps and the §6.4.1 RTT.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "media/rtcp.h"

static int parse_guarded(struct rtcp_info *info, const uint8_t *p, size_t len,
                         struct media_error *err)
{
    struct tu_guard g;
    int rc =
        rtcp_parse_compound(info, (const uint8_t *) tu_guard_copy(&g, p, len), len, err);

    tu_guard_free(&g);
    return rc;
}

static void test_roundtrip_sr(void **state)
{
    struct rtcp_report_block rb[2] = {
        {.ssrc = 0x01020304,
         .fraction_lost = 25,
         .cum_lost = 1234,
         .ext_high_seq = 0x1FFFF,
         .jitter = 77,
         .lsr = 0xB7052000,
         .dlsr = 0x00054000},
        {.ssrc = 0x0A0B0C0D, .fraction_lost = 0, .cum_lost = -3, .ext_high_seq = 10},
    };
    struct rtcp_build b = {.ssrc = 0xCAFEBABE,
                           .sr = true,
                           .si = {.ntp = 0xE1234567890ABCDEull,
                                  .rtp_ts = 16000,
                                  .packet_count = 50,
                                  .octet_count = 8000},
                           .blocks = rb,
                           .nblocks = 2,
                           .cname = "alice@192.0.2.1",
                           .bye = true,
                           .bye_reason = "done"};
    uint8_t out[512];
    size_t n;
    struct rtcp_info info;
    struct media_error err = {0};
    (void) state;

    assert_int_equal(rtcp_build_compound(&b, out, sizeof(out), &n), 0);
    /* SR 28 + 2*24, SDES 8 + pad4(2+15+1)=20, BYE 8 + pad4(1+4)=8 */
    assert_int_equal(n, 76 + 28 + 16);
    assert_int_equal(out[0], 0x82);
    assert_int_equal(out[1], 200);
    assert_int_equal(out[3], 76 / 4 - 1);
    /* block 2's cumulative lost -3 is 0xFFFFFD in 24 bits */
    assert_memory_equal(out + 52 + 4, "\x00\xFF\xFF\xFD", 4);
    assert_int_equal(parse_guarded(&info, out, n, &err), 0);
    assert_true(info.sr);
    assert_int_equal(info.ssrc, 0xCAFEBABE);
    assert_true(info.si.ntp == 0xE1234567890ABCDEull);
    assert_int_equal(info.si.rtp_ts, 16000);
    assert_int_equal(info.si.packet_count, 50);
    assert_int_equal(info.si.octet_count, 8000);
    assert_int_equal(info.nblocks, 2);
    assert_memory_equal(&info.blocks[0], &rb[0], sizeof(rb[0]));
    assert_int_equal(info.blocks[1].cum_lost, -3);
    assert_true(info.has_cname);
    assert_string_equal(info.cname, "alice@192.0.2.1");
    assert_int_equal(info.cname_ssrc, 0xCAFEBABE);
    assert_true(info.bye);
    assert_int_equal(info.nbye, 1);
    assert_int_equal(info.bye_ssrc[0], 0xCAFEBABE);
    assert_string_equal(info.bye_reason, "done");
    assert_int_equal(info.npackets, 3);
    assert_ptr_equal(rtcp_info_block(&info, 0x0A0B0C0D), &info.blocks[1]);
    assert_null(rtcp_info_block(&info, 1));

    /* every prefix is refused (lengths no longer add up), never over-read */
    for (size_t len = 0; len < n; len++) {
        if (len == 76 || len == 104) continue; /* SR alone, SR + SDES: valid compounds */
        assert_int_equal(parse_guarded(&info, out, len, &err), EBADMSG);
        assert_non_null(err.reason);
    }
    assert_int_equal(rtcp_build_compound(&b, out, n - 1, &n), ENOSPC);
}

static void test_roundtrip_rr(void **state)
{
    struct rtcp_report_block rb = {.ssrc = 7, .cum_lost = 0x7FFFFFFF};
    struct rtcp_build b = {.ssrc = 9, .blocks = &rb, .nblocks = 1, .cname = "x"};
    uint8_t out[128];
    size_t n;
    struct rtcp_info info;
    (void) state;

    assert_int_equal(rtcp_build_compound(&b, out, sizeof(out), &n), 0);
    assert_int_equal(n, 32 + 12);
    assert_int_equal(out[1], 201);
    assert_int_equal(rtcp_parse_compound(&info, out, n, NULL), 0);
    assert_false(info.sr);
    assert_int_equal(info.blocks[0].cum_lost, 0x7FFFFF); /* clamped to 24 bits */
    assert_string_equal(info.cname, "x");
    assert_false(info.bye);
    /* an empty RR with no blocks */
    b.nblocks = 0;
    assert_int_equal(rtcp_build_compound(&b, out, sizeof(out), &n), 0);
    assert_int_equal(rtcp_parse_compound(&info, out, n, NULL), 0);
    assert_int_equal(info.nblocks, 0);
    b.cname = "";
    assert_int_equal(rtcp_build_compound(&b, out, sizeof(out), &n), EINVAL);
    b.cname = "x";
    b.nblocks = 32;
    assert_int_equal(rtcp_build_compound(&b, out, sizeof(out), &n), EINVAL);
}

static void expect_bad(const uint8_t *p, size_t len, const char *reason)
{
    struct rtcp_info info;
    struct media_error err = {0};

    assert_int_equal(parse_guarded(&info, p, len, &err), EBADMSG);
    assert_string_equal(err.reason, reason);
}

static void test_refusals(void **state)
{
    /* RR (no blocks) + SDES (one chunk, CNAME "ab") */
    static const uint8_t good[] = {0x80, 201, 0, 1, 0, 0, 0,   9,   0x81, 202, 0, 3,
                                   0,    0,   0, 9, 1, 2, 'a', 'b', 0,    0,   0, 0};
    uint8_t p[64];
    struct rtcp_info info;
    (void) state;

    assert_int_equal(rtcp_parse_compound(&info, good, sizeof(good), NULL), 0);
    assert_string_equal(info.cname, "ab");
    expect_bad(good, 4, "shorter than an RTCP receiver report");
    memcpy(p, good, sizeof(good));
    p[0] = 0x40;
    expect_bad(p, sizeof(good), "RTCP version is not 2");
    memcpy(p, good, sizeof(good));
    p[1] = 202;
    expect_bad(p, sizeof(good), "first RTCP packet is neither SR nor RR");
    memcpy(p, good, sizeof(good));
    p[0] = 0xA0;
    expect_bad(p, sizeof(good), "padding on the first RTCP packet");
    memcpy(p, good, sizeof(good));
    p[8] = 0x41;
    expect_bad(p, sizeof(good), "RTCP version is not 2");
    memcpy(p, good, sizeof(good));
    p[11] = 4; /* SDES claims 20 bytes, 16 left */
    expect_bad(p, sizeof(good), "RTCP length runs past the compound packet");
    memcpy(p, good, sizeof(good));
    expect_bad(p, sizeof(good) + 0 - 2, "RTCP length runs past the compound packet");
    memcpy(p, good, sizeof(good));
    p[0] = 0x81; /* RR claims one block */
    expect_bad(p, sizeof(good), "RR shorter than its report count");
    memcpy(p, good, sizeof(good));
    p[17] = 9; /* CNAME longer than the chunk */
    expect_bad(p, sizeof(good), "SDES item runs past the packet");
    memcpy(p, good, sizeof(good));
    p[20] = 5, p[21] = 0; /* second item (type 5, empty) then no null octet left */
    p[22] = 6, p[23] = 0;
    expect_bad(p, sizeof(good), "SDES chunk without its null item");
    /* padding on the last packet is fine; on an earlier one it is not */
    memcpy(p, good, sizeof(good));
    p[8] = 0xA1;
    p[17] = 1, p[19] = 0; /* CNAME "a", null item, then one word of padding */
    p[23] = 4;
    assert_int_equal(rtcp_parse_compound(&info, p, sizeof(good), NULL), 0);
    p[23] = 0;
    expect_bad(p, sizeof(good), "RTCP padding count invalid");
    memcpy(p, good, sizeof(good));
    memcpy(p + sizeof(good), good, 8); /* an RR after the SDES */
    p[8] = 0xA1;
    p[17] = 1, p[19] = 0;
    p[23] = 4;
    expect_bad(p, sizeof(good) + 8, "padding on an RTCP packet that is not the last");
    /* trailing bytes that are not a packet */
    memcpy(p, good, sizeof(good));
    p[24] = 0x80;
    expect_bad(p, sizeof(good) + 2, "RTCP header truncated");
    /* BYE with a reason longer than its packet */
    static const uint8_t bye[] = {0x80, 201, 0, 1, 0, 0, 0, 9,   0x81, 203,
                                  0,    2,   0, 0, 0, 9, 7, 'x', 'y',  'z'};
    expect_bad(bye, sizeof(bye), "BYE reason runs past the packet");
    /* unknown packet types are skipped */
    static const uint8_t app[] = {0x80, 201, 0, 1, 0, 0, 0,   9,   0x80, 204,
                                  0,    2,   0, 0, 0, 9, 'n', 'a', 'm',  'e'};
    assert_int_equal(rtcp_parse_compound(&info, app, sizeof(app), NULL), 0);
    assert_int_equal(info.other, 1);
}

static void test_ntp(void **state)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 500000000};
    uint64_t ntp;
    (void) state;

    ntp = rtcp_ntp_from_timespec(&ts);
    assert_true(ntp == ((uint64_t) RTCP_NTP_UNIX_OFFSET << 32 | 0x80000000u));
    ts.tv_sec = 1700000000;
    ts.tv_nsec = 250000000;
    ntp = rtcp_ntp_from_timespec(&ts);
    assert_true((ntp >> 32) == 1700000000ull + RTCP_NTP_UNIX_OFFSET);
    assert_true((uint32_t) ntp == 0x40000000u);
    /* middle 32 bits: low 16 of the seconds, high 16 of the fraction */
    assert_int_equal(rtcp_ntp_mid32(0x1234567889ABCDEFull), 0x567889AB);
    assert_true(rtcp_ntp_now() >
                ((uint64_t) (RTCP_NTP_UNIX_OFFSET + 1700000000ull) << 32));
    assert_int_equal(rtcp_dlsr_from_us(5250000), 0x00054000); /* 5.25 s */
    assert_int_equal(rtcp_dlsr_from_us(0), 0);
}

/* RFC 3550 §6.4.1 Figure 2's worked example:
 *   A    = 0xb710:8000 = 46864.500 s (report arrives)
 *   LSR  = 0xb705:2000 = 46853.125 s (our SR left)
 *   DLSR = 0x0005:4000 =     5.250 s (the peer held it)
 *   RTT  = A - LSR - DLSR = 0x0006:2000 = 6.125 s = 6125 ms */
static void test_rtt(void **state)
{
    uint32_t units;
    double ms;
    (void) state;

    assert_int_equal(rtcp_rtt(0xB7108000, 0xB7052000, 0x00054000, &units, &ms), 0);
    assert_int_equal(units, 0x00062000);
    assert_true(ms > 6124.999 && ms < 6125.001);
    /* 20 ms round trip across the 16.16 wrap: A = 0x0000:0520 after LSR = 0xFFFF:FF00 */
    assert_int_equal(
        rtcp_rtt(0x00000520, 0xFFFFFF00, 0x0000013A + 0x100 - 0x100, &units, &ms), 0);
    assert_int_equal(units, 0x520 + 0x100 - 0x13A);
    assert_int_equal(rtcp_rtt(0x1000, 0, 0, &units, &ms), EAGAIN);
    assert_int_equal(rtcp_rtt(0x1000, 0x1000, 0x10, &units, &ms), ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sr), cmocka_unit_test(test_roundtrip_rr),
        cmocka_unit_test(test_refusals),     cmocka_unit_test(test_ntp),
        cmocka_unit_test(test_rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
