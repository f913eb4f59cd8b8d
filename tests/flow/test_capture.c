/* Tests of the capture reader: pcap files written here frame by frame, read back through
 * libpcap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "flow/capture.h"

/* ---- building frames ---- */

struct bytes {
    uint8_t p[70000];
    size_t n;
};

static void put(struct bytes *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->p));
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put8(struct bytes *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put16(struct bytes *b, uint32_t v)
{
    uint8_t x[2] = {(uint8_t) (v >> 8), (uint8_t) v};
    put(b, x, 2);
}

static void put32(struct bytes *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16), (uint8_t) (v >> 8),
                    (uint8_t) v};
    put(b, x, 4);
}

static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

/* An IPv4 header (no checksum: the reader does not need one) and its payload. */
static void ipv4(struct bytes *b, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                 uint16_t id, uint16_t frag, const uint8_t *pl, size_t n)
{
    put8(b, 0x45);
    put8(b, 0);
    put16(b, (uint32_t) (20 + n));
    put16(b, id);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    put(b, src, 4);
    put(b, dst, 4);
    put(b, pl, n);
}

static void udp(struct bytes *b, uint16_t sp, uint16_t dp, const void *pl, size_t n)
{
    put16(b, sp);
    put16(b, dp);
    put16(b, (uint32_t) (8 + n));
    put16(b, 0);
    put(b, pl, n);
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

static void tcp(struct bytes *b, uint16_t sp, uint16_t dp, uint32_t seq, uint8_t flags,
                const void *pl, size_t n)
{
    put16(b, sp);
    put16(b, dp);
    put32(b, seq);
    put32(b, 0);
    put8(b, 5 << 4);
    put8(b, flags);
    put16(b, 65535);
    put32(b, 0);
    put(b, pl, n);
}

static void ether(struct bytes *b, uint16_t type)
{
    static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    put(b, mac, 12);
    put16(b, type);
}

/* Ethernet + IPv4 + UDP from A:sp to B:dp */
static void eth_udp4(struct bytes *f, uint16_t sp, uint16_t dp, const void *pl, size_t n)
{
    struct bytes u = {.n = 0};

    udp(&u, sp, dp, pl, n);
    ether(f, 0x0800);
    ipv4(f, IP_A, IP_B, 17, 1, 0, u.p, u.n);
}

static void eth_tcp4(struct bytes *f, bool a_to_b, uint32_t seq, uint8_t flags,
                     const void *pl, size_t n)
{
    struct bytes t = {.n = 0};

    tcp(&t, a_to_b ? 40000 : 5080, a_to_b ? 5080 : 40000, seq, flags, pl, n);
    ether(f, 0x0800);
    ipv4(f, a_to_b ? IP_A : IP_B, a_to_b ? IP_B : IP_A, 6, 1, 0x4000, t.p, t.n);
}

/* ---- a pcap writer ---- */

struct pcapw {
    FILE *f;
    char path[64];
    uint32_t t;
};

static void pw_open(struct pcapw *w, uint32_t linktype)
{
    int fd;

    snprintf(w->path, sizeof(w->path), "/tmp/sipkit-flow-test.XXXXXX");
    fd = mkstemp(w->path);
    assert_true(fd >= 0);
    w->f = fdopen(fd, "wb");
    assert_non_null(w->f);
    w->t = 0;
    /* pcap global header, microsecond magic, native byte order */
    uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, linktype};
    fwrite(hdr, sizeof(hdr), 1, w->f);
}

static void pw_frame_cut(struct pcapw *w, const struct bytes *b, size_t caplen)
{
    uint32_t rec[4] = {1700000000u + w->t / 1000000u, w->t % 1000000u, (uint32_t) caplen,
                       (uint32_t) b->n};

    w->t += 1000; /* 1 ms apart */
    fwrite(rec, sizeof(rec), 1, w->f);
    fwrite(b->p, 1, caplen, w->f);
}

static void pw_frame(struct pcapw *w, const struct bytes *b)
{
    pw_frame_cut(w, b, b->n);
}

static void pw_close(struct pcapw *w)
{
    fclose(w->f);
}

/* ---- collecting what the reader hands up ---- */

#define MAX_GOT 64

struct got_pkt {
    uint64_t frame, first, ts;
    enum flow_transport tr;
    bool is_sip, truncated;
    char src[64], dst[64];
    char frames[64]; /* the carrier frames, "3,4,6" */
    uint8_t *data;
    size_t len;
    bool port_unreach; /* FLOW_ICMP */
    uint8_t icmp_proto;
    char refused_src[64], refused_dst[64];
};

struct got {
    struct got_pkt p[MAX_GOT];
    size_t n;
    uint64_t warn_frame[MAX_GOT];
    enum flow_problem warn_kind[MAX_GOT];
    size_t nwarn;
};

static void on_pkt(void *arg, const struct flow_packet *p)
{
    struct got *g = arg;
    struct got_pkt *x;

    assert_true(g->n < MAX_GOT);
    x = &g->p[g->n++];
    x->frame = p->frame;
    x->first = p->first_frame;
    x->ts = p->ts_ns;
    x->tr = p->transport;
    x->is_sip = p->is_sip;
    x->truncated = p->truncated;
    x->frames[0] = '\0';
    for (size_t i = 0, n = 0; i < p->nframes && n < sizeof(x->frames); i++)
        n += (size_t) snprintf(x->frames + n, sizeof(x->frames) - n, "%s%llu",
                               i ? "," : "", (unsigned long long) p->frames[i]);
    sk_sa_str(&p->src, x->src, sizeof(x->src));
    sk_sa_str(&p->dst, x->dst, sizeof(x->dst));
    x->port_unreach = p->icmp.port_unreachable;
    x->icmp_proto = p->icmp.proto;
    if (p->transport == FLOW_ICMP) {
        sk_sa_str(&p->icmp.src, x->refused_src, sizeof(x->refused_src));
        sk_sa_str(&p->icmp.dst, x->refused_dst, sizeof(x->refused_dst));
    }
    x->data = malloc(p->len + 1);
    assert_non_null(x->data);
    memcpy(x->data, p->data, p->len);
    x->data[p->len] = 0;
    x->len = p->len;
}

static void on_warn(void *arg, uint64_t frame, enum flow_problem kind, const char *text)
{
    struct got *g = arg;

    if (getenv("FLOW_TEST_VERBOSE"))
        fprintf(stderr, "warning: frame %llu: %s\n", (unsigned long long) frame, text);
    if (g->nwarn < MAX_GOT) {
        g->warn_frame[g->nwarn] = frame;
        g->warn_kind[g->nwarn] = kind;
        g->nwarn++;
    }
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->p[i].data);
    free(g);
}

/* FLOW_TEST_SEED_DIR=dir keeps every capture written here as dir/NN.pcap (the
 * fuzz seeds in fuzz/corpus/pcap were made so). */
static void keep_seed(const char *path)
{
    static int n;
    const char *dir = getenv("FLOW_TEST_SEED_DIR");
    char cmd[512];

    if (!dir) return;
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%02d.pcap'", path, dir, ++n);
    assert_int_equal(system(cmd), 0);
}

/* Read the file back; returns what came out and fills *st. */
static struct got *read_back(struct pcapw *w, struct flow_stats *st)
{
    struct got *g = calloc(1, sizeof(*g));
    struct flow_sink sink = {.packet = on_pkt, .warning = on_warn, .arg = g};
    struct flow_capture *c;
    char err[256];

    assert_non_null(g);
    assert_int_equal(flow_capture_open_file(&c, w->path, NULL, err, sizeof(err)), 0);
    assert_int_equal(flow_capture_run(c, &sink, NULL), 0);
    *st = *flow_capture_stats(c);
    flow_capture_close(c);
    keep_seed(w->path);
    unlink(w->path);
    return g;
}

static size_t warnings_of(const struct got *g, enum flow_problem k)
{
    size_t n = 0;

    for (size_t i = 0; i < g->nwarn; i++)
        n += g->warn_kind[i] == k;
    return n;
}

#define OPTIONS(cseq)                                                                    \
    "OPTIONS sip:b@10.0.0.2 SIP/2.0\r\n"                                                 \
    "Via: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK" cseq "\r\n"                         \
    "From: <sip:a@10.0.0.1>;tag=1\r\nTo: <sip:b@10.0.0.2>\r\nCall-ID: c" cseq "\r\n"     \
    "CSeq: " cseq " OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
#define OK200(cseq)                                                                      \
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK" cseq "\r\n"       \
    "From: <sip:a@10.0.0.1>;tag=1\r\nTo: <sip:b@10.0.0.2>;tag=2\r\nCall-ID: c" cseq      \
    "\r\n"                                                                               \
    "CSeq: " cseq " OPTIONS\r\nContent-Length: 5\r\n\r\nhello"

static void test_is_sip(void **state)
{
    (void) state;
#define IS(s) flow_is_sip((const uint8_t *) (s), sizeof(s) - 1)
    assert_true(IS("OPTIONS sip:a@b SIP/2.0\r\n"));
    assert_true(IS("\r\nINVITE tel:+123 SIP/2.0\r\n"));
    assert_true(IS("SIP/2.0 180 Ringing\r\n"));
    assert_true(IS("sip/2.0 200 OK\r\n"));
    assert_false(IS("SIP/2.0 20 OK\r\n"));
    assert_false(IS("GET / HTTP/1.1\r\n"));
    assert_false(IS("OPTIONS sip:a@b SIP/2.0"));     /* the line does not end */
    assert_false(IS("OPTIONS nocolon SIP/2.0\r\n")); /* not a URI */
    assert_false(IS("\x80\x00\x12\x34"));
    assert_false(IS("\r\n\r\n"));
    assert_false(IS(""));
#undef IS
}

static void test_udp_ethernet(void **state)
{
    static const char sip[] =
        "MESSAGE sip:b@10.0.0.2 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    static const uint8_t rtp[] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1};
    struct bytes *f = calloc(1, sizeof(*f));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    eth_udp4(f, 5070, 7777, sip, sizeof(sip) - 1); /* SIP on an odd port */
    pw_frame(&w, f);
    f->n = 0;
    eth_udp4(f, 20000, 20002, rtp, sizeof(rtp));
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 2);
    assert_true(g->p[0].is_sip);
    assert_int_equal(g->p[0].frame, 1);
    assert_int_equal(g->p[0].first, 1);
    assert_int_equal(g->p[0].tr, FLOW_UDP);
    assert_string_equal(g->p[0].src, "10.0.0.1:5070");
    assert_string_equal(g->p[0].dst, "10.0.0.2:7777");
    assert_int_equal(g->p[0].len, sizeof(sip) - 1);
    assert_memory_equal(g->p[0].data, sip, sizeof(sip) - 1);
    assert_int_equal(g->p[0].ts, 1700000000ull * 1000000000ull);
    assert_false(g->p[1].is_sip);
    assert_int_equal(g->p[1].frame, 2);
    assert_int_equal(g->p[1].ts, 1700000000ull * 1000000000ull + 1000000);
    assert_int_equal(st.sip_udp, 1);
    assert_int_equal(st.other_udp, 1);
    assert_int_equal(g->nwarn, 0);
    got_free(g);
    free(f);
}

/* One SIP datagram from A:5060 to B:5060 wrapped in each link layer. */
static void check_link(uint32_t linktype, const uint8_t *hdr, size_t hlen, bool v6)
{
    static const char sip[] = "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n";
    struct bytes *f = calloc(1, sizeof(*f)), *u = calloc(1, sizeof(*u));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    assert_non_null(f);
    assert_non_null(u);
    pw_open(&w, linktype);
    put(f, hdr, hlen);
    udp(u, 5060, 5060, sip, sizeof(sip) - 1);
    if (v6) {
        static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

        put32(f, 0x60000000);
        put16(f, (uint32_t) (u->n + 8 + 8));
        put8(f, 0); /* hop-by-hop options first */
        put8(f, 64);
        put(f, a6, 16);
        put(f, b6, 16);
        put8(f, 60); /* then destination options */
        put8(f, 0);
        put16(f, 0x0104); /* PadN of 4 */
        put32(f, 0);
        put8(f, 17);
        put8(f, 0);
        put16(f, 0x0104);
        put32(f, 0);
        put(f, u->p, u->n);
    } else {
        ipv4(f, IP_A, IP_B, 17, 7, 0, u->p, u->n);
    }
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->nwarn, 0);
    assert_int_equal(g->n, 1);
    assert_true(g->p[0].is_sip);
    assert_string_equal(g->p[0].src, v6 ? "[2001:db8::1]:5060" : "10.0.0.1:5060");
    assert_string_equal(g->p[0].dst, v6 ? "[2001:db8::2]:5060" : "10.0.0.2:5060");
    got_free(g);
    free(f);
    free(u);
}

static void test_link_types(void **state)
{
    static const uint8_t qinq[] = {2, 0,    0,    0, 0,  1,    2,    0, 0,  0,    0,
                                   2, 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00};
    static const uint8_t vlan6[] = {2, 0, 0, 0,    0,    1, 2,  0,    0,
                                    0, 0, 2, 0x81, 0x00, 0, 30, 0x86, 0xdd};
    static const uint8_t sll[] = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
    static const uint8_t sll2[] = {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1,
                                   0,    6,    2, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t null_le[] = {2, 0, 0, 0}; /* AF_INET, little-endian writer */
    static const uint8_t null_be[] = {0, 0, 0, 2}; /* AF_INET, big-endian writer */
    static const uint8_t loop6[] = {0, 0, 0, 30};  /* AF_INET6 on macOS, network order */

    (void) state;
    check_link(1, qinq, sizeof(qinq), false);
    check_link(1, vlan6, sizeof(vlan6), true);
    check_link(113, sll, sizeof(sll), false);
    check_link(276, sll2, sizeof(sll2), false);
    check_link(0, null_le, sizeof(null_le), false);
    check_link(0, null_be, sizeof(null_be), false);
    check_link(108, loop6, sizeof(loop6), true);
    check_link(101, NULL, 0, true);  /* LINKTYPE_RAW */
    check_link(228, NULL, 0, false); /* LINKTYPE_IPV4 */
}

/* A 3000-byte SIP MESSAGE over UDP in fragments of 1480 bytes. */
static void make_big_sip(char *buf, size_t n)
{
    static const char head[] = "MESSAGE sip:b@10.0.0.2 SIP/2.0\r\nContent-Length: ";
    size_t hl = sizeof(head) - 1 + 4 + 4;

    snprintf(buf, n, "%s%04zu\r\n\r\n", head, n - hl);
    memset(buf + hl, 'x', n - hl);
}

static void frag_frame(struct bytes *f, uint16_t id, const struct bytes *dgram,
                       size_t off, size_t len, bool more)
{
    f->n = 0;
    ether(f, 0x0800);
    ipv4(f, IP_A, IP_B, 17, id, (uint16_t) ((more ? 0x2000 : 0) | off / 8),
         dgram->p + off, len);
}

static void test_ipv4_fragments(void **state)
{
    struct bytes *f = calloc(1, sizeof(*f)), *u = calloc(1, sizeof(*u));
    char sip[3000];
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    assert_non_null(u);
    make_big_sip(sip, sizeof(sip));
    udp(u, 5060, 5060, sip, sizeof(sip));
    pw_open(&w, 1);
    /* Datagram 1 in order: frames 1, 2, 3 */
    frag_frame(f, 0x100, u, 0, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 0x100, u, 1480, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 0x100, u, 2960, u->n - 2960, false);
    pw_frame(&w, f);
    /* Datagram 2 out of order with an overlapping duplicate: frames 4..7 */
    frag_frame(f, 0x200, u, 2960, u->n - 2960, false);
    pw_frame(&w, f);
    frag_frame(f, 0x200, u, 1480, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 0x200, u, 1480, 800, true); /* overlap, same bytes */
    pw_frame(&w, f);
    frag_frame(f, 0x200, u, 0, 1480, true);
    pw_frame(&w, f);
    /* Datagram 3 never completes: frame 8 */
    frag_frame(f, 0x300, u, 0, 1480, true);
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(g->p[i].is_sip);
        assert_int_equal(g->p[i].len, sizeof(sip));
        assert_memory_equal(g->p[i].data, sip, sizeof(sip));
    }
    assert_int_equal(g->p[0].frame, 3);
    assert_int_equal(g->p[0].first, 1);
    assert_int_equal(g->p[1].frame, 7);
    assert_int_equal(g->p[1].first, 4);
    /* every fragment carried it (the overlapping copy too), in arrival order */
    assert_string_equal(g->p[0].frames, "1,2,3");
    assert_string_equal(g->p[1].frames, "4,5,6,7");
    assert_int_equal(st.reassembled, 2);
    assert_int_equal(st.fragments, 8);
    assert_int_equal(warnings_of(g, FLOW_PROB_FRAG), 1); /* datagram 3, at the end */
    assert_int_equal(g->warn_frame[0], 8);
    got_free(g);
    free(f);
    free(u);
}

/* IPv4 options, and an IPv6 datagram in two fragments (RFC 8200 §4.5) out of order. */
static void test_ip_options_ipv6_fragments(void **state)
{
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    struct bytes *f = calloc(1, sizeof(*f)), *u = calloc(1, sizeof(*u));
    char sip[3000];
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    assert_non_null(u);
    make_big_sip(sip, sizeof(sip));
    pw_open(&w, 1);
    /* IPv4 with 4 bytes of options (NOP NOP NOP EOL) */
    udp(u, 5060, 5062, sip, 200);
    ether(f, 0x0800);
    put8(f, 0x46);
    put8(f, 0);
    put16(f, (uint32_t) (24 + u->n));
    put16(f, 1);
    put16(f, 0);
    put8(f, 64);
    put8(f, 17);
    put16(f, 0);
    put(f, IP_A, 4);
    put(f, IP_B, 4);
    put32(f, 0x01010100);
    put(f, u->p, u->n);
    pw_frame(&w, f);
    /* IPv6: the second fragment first, then the first */
    u->n = 0;
    udp(u, 5060, 5060, sip, sizeof(sip));
    for (int k = 1; k >= 0; k--) {
        size_t off = k ? 1448 : 0, n = k ? u->n - 1448 : 1448;

        f->n = 0;
        ether(f, 0x86dd);
        put32(f, 0x60000000);
        put16(f, (uint32_t) (8 + n));
        put8(f, 44);
        put8(f, 64);
        put(f, a6, 16);
        put(f, b6, 16);
        put8(f, 17);
        put8(f, 0);
        put16(f, (uint32_t) (off | (k ? 0 : 1)));
        put32(f, 0xabcdef01);
        put(f, u->p + off, n);
        pw_frame(&w, f);
    }
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->nwarn, 0);
    assert_int_equal(g->n, 2);
    assert_string_equal(g->p[0].dst, "10.0.0.2:5062");
    assert_int_equal(g->p[0].len, 200);
    assert_string_equal(g->p[1].src, "[2001:db8::1]:5060");
    assert_int_equal(g->p[1].len, sizeof(sip));
    assert_memory_equal(g->p[1].data, sip, sizeof(sip));
    assert_int_equal(g->p[1].frame, 3);
    assert_int_equal(g->p[1].first, 2);
    got_free(g);
    free(f);
    free(u);
}

/* A fragment overlapping with different bytes: the first copy is kept, with a warning. */
static void test_fragment_overlap_differs(void **state)
{
    struct bytes *f = calloc(1, sizeof(*f)), *u = calloc(1, sizeof(*u)), *v;
    char sip[3000];
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    assert_non_null(u);
    v = calloc(1, sizeof(*v));
    assert_non_null(v);
    make_big_sip(sip, sizeof(sip));
    udp(u, 5060, 5060, sip, sizeof(sip));
    *v = *u;
    memset(v->p + 1600, 'Y', 100);
    pw_open(&w, 1);
    frag_frame(f, 9, u, 1480, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 9, v, 1480, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 9, u, 0, 1480, true);
    pw_frame(&w, f);
    frag_frame(f, 9, u, 2960, u->n - 2960, false);
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 1);
    assert_memory_equal(g->p[0].data, sip, sizeof(sip));
    assert_int_equal(warnings_of(g, FLOW_PROB_FRAG), 1);
    got_free(g);
    free(f);
    free(u);
    free(v);
}

static void seg(struct pcapw *w, struct bytes *f, bool a_to_b, uint32_t seq,
                uint8_t flags, const char *pl, size_t n)
{
    f->n = 0;
    eth_tcp4(f, a_to_b, seq, flags, pl, n);
    pw_frame(w, f);
}

static void test_tcp_streams(void **state)
{
    static const char m1[] = OPTIONS("1"), m2[] = OPTIONS("2"), m3[] = OPTIONS("3"),
                      m4[] = OPTIONS("4"), r1[] = OK200("1");
    struct bytes *f = calloc(1, sizeof(*f));
    char two[2 * sizeof(m1)];
    size_t l1 = sizeof(m1) - 1, third = l1 / 3, tl;
    uint32_t s = 1000, rs = 7000;
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    seg(&w, f, true, s - 1, SYN, NULL, 0);         /* 1 */
    seg(&w, f, false, rs - 1, SYN | ACK, NULL, 0); /* 2 */
    /* m1 over three segments */
    seg(&w, f, true, s, ACK, m1, third);                            /* 3 */
    seg(&w, f, true, s + (uint32_t) third, ACK, m1 + third, third); /* 4 */
    seg(&w, f, true, s + (uint32_t) third, ACK, m1 + third,
        third); /* 5: retransmission */
    seg(&w, f, true, s + 2 * (uint32_t) third, ACK, m1 + 2 * third,
        l1 - 2 * third); /* 6 */
    s += (uint32_t) l1;
    /* m2 and m3 in one segment */
    tl = (size_t) snprintf(two, sizeof(two), "%s%s", m2, m3);
    seg(&w, f, true, s, PSH | ACK, two, tl); /* 7 */
    /* the same bytes again, overlapping the end of it and starting m4 */
    seg(&w, f, true, s + (uint32_t) tl - 10, ACK, two + tl - 10, 10); /* 8: all old */
    s += (uint32_t) tl;
    /* m4 out of order: second half first */
    seg(&w, f, true, s + 100, ACK, m4 + 100, sizeof(m4) - 1 - 100); /* 9 */
    seg(&w, f, true, s, ACK, m4, 120);                              /* 10: overlaps 20 */
    /* the response, on the other direction, one segment */
    seg(&w, f, false, rs, PSH | ACK, r1, sizeof(r1) - 1);                /* 11 */
    seg(&w, f, true, s + (uint32_t) sizeof(m4) - 1, FIN | ACK, NULL, 0); /* 12 */
    /* after the FIN, m4 once more: a retransmission, not a new stream */
    seg(&w, f, true, s, ACK, m4, sizeof(m4) - 1); /* 13 */
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->nwarn, 0);
    assert_int_equal(g->n, 5);
    assert_int_equal(st.sip_tcp, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_true(g->p[i].is_sip);
        assert_int_equal(g->p[i].tr, FLOW_TCP);
    }
    assert_int_equal(g->p[0].len, l1);
    assert_memory_equal(g->p[0].data, m1, l1);
    assert_int_equal(g->p[0].frame, 6);
    assert_int_equal(g->p[0].first, 3);
    /* the segments that carried its bytes, in stream order (not the retransmission) */
    assert_string_equal(g->p[0].frames, "3,4,6");
    assert_string_equal(g->p[1].frames, "7");
    assert_string_equal(g->p[2].frames, "7");
    assert_string_equal(g->p[3].frames, "10,9");
    assert_string_equal(g->p[4].frames, "11");
    assert_string_equal(g->p[0].src, "10.0.0.1:40000");
    assert_string_equal(g->p[0].dst, "10.0.0.2:5080");
    assert_memory_equal(g->p[1].data, m2, sizeof(m2) - 1);
    assert_memory_equal(g->p[2].data, m3, sizeof(m3) - 1);
    assert_int_equal(g->p[1].frame, 7);
    assert_int_equal(g->p[2].frame, 7);
    assert_int_equal(g->p[3].len, sizeof(m4) - 1);
    assert_memory_equal(g->p[3].data, m4, sizeof(m4) - 1);
    assert_int_equal(g->p[3].frame, 10);
    assert_int_equal(g->p[4].len, sizeof(r1) - 1);
    assert_memory_equal(g->p[4].data, r1, sizeof(r1) - 1);
    assert_string_equal(g->p[4].src, "10.0.0.2:5080");
    assert_int_equal(st.tcp_retransmissions, 3);
    got_free(g);
    free(f);
}

/* A hole never filled is skipped after the timeout; the next message is found again. */
static void test_tcp_gap(void **state)
{
    static const char m1[] = OPTIONS("1"), m2[] = OPTIONS("2"), m3[] = OPTIONS("3");
    struct bytes *f = calloc(1, sizeof(*f));
    uint32_t s = 1;
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    seg(&w, f, true, s, ACK, m1, sizeof(m1) - 1); /* 1 */
    s += sizeof(m1) - 1;
    /* m2's first 50 bytes are never captured */
    seg(&w, f, true, s + 50, ACK, m2 + 50, sizeof(m2) - 1 - 50); /* 2 */
    s += sizeof(m2) - 1;
    w.t += 10 * 1000000;                          /* 10 s later, past the gap timeout */
    seg(&w, f, true, s, ACK, m3, sizeof(m3) - 1); /* 3 */
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 2);
    assert_memory_equal(g->p[0].data, m1, sizeof(m1) - 1);
    assert_memory_equal(g->p[1].data, m3, sizeof(m3) - 1);
    assert_int_equal(g->p[1].frame, 3);
    assert_int_equal(warnings_of(g, FLOW_PROB_TCP_GAP), 1);
    assert_int_equal(g->warn_frame[0], 2);
    got_free(g);
    free(f);
}

static void hep_chunk(struct bytes *b, uint16_t type, const void *v, size_t n)
{
    put16(b, 0);
    put16(b, type);
    put16(b, (uint32_t) (6 + n));
    put(b, v, n);
}

static void test_hep3(void **state)
{
    static const char sip[] = "BYE sip:x@192.0.2.9 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    static const uint8_t fam = 2, proto = 17, type = 1, s4[4] = {192, 0, 2, 8},
                         d4[4] = {192, 0, 2, 9}, sp[2] = {0x13, 0xc4},
                         dp[2] = {0x13, 0xc5}, sec[4] = {0x60, 0, 0, 0},
                         usec[4] = {0, 0, 0, 5}, agent[4] = {0, 0, 0, 1};
    struct bytes *f = calloc(1, sizeof(*f)), *h = calloc(1, sizeof(*h)), *c;
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    c = calloc(1, sizeof(*c));
    assert_non_null(f);
    assert_non_null(h);
    assert_non_null(c);
    hep_chunk(c, 1, &fam, 1);
    hep_chunk(c, 2, &proto, 1);
    hep_chunk(c, 3, s4, 4);
    hep_chunk(c, 4, d4, 4);
    hep_chunk(c, 7, sp, 2);
    hep_chunk(c, 8, dp, 2);
    hep_chunk(c, 9, sec, 4);
    hep_chunk(c, 10, usec, 4);
    hep_chunk(c, 11, &type, 1);
    hep_chunk(c, 12, agent, 4);
    hep_chunk(c, 15, sip, sizeof(sip) - 1);
    put(h, "HEP3", 4);
    put16(h, (uint32_t) (6 + c->n));
    put(h, c->p, c->n);
    pw_open(&w, 1);
    eth_udp4(f, 40000, 9060, h->p, h->n);
    pw_frame(&w, f);
    /* the same two times over TCP, the second split over two segments: frames 2-4 */
    {
        uint8_t two[1024];
        size_t n2 = 2 * h->n;

        assert_true(n2 <= sizeof(two));
        memcpy(two, h->p, h->n);
        memcpy(two + h->n, h->p, h->n);
        seg(&w, f, true, 1, ACK, (char *) two, h->n + 7);
        seg(&w, f, true, 1 + (uint32_t) h->n + 7, ACK, (char *) two + h->n + 7,
            n2 - h->n - 7);
    }
    /* the same, cut short inside a chunk: a warning, nothing handed up */
    f->n = 0;
    h->p[5] = (uint8_t) (h->p[5] + 10);
    eth_udp4(f, 40000, 9060, h->p, h->n);
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 3);
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(g->p[i].tr, FLOW_HEP);
        assert_true(g->p[i].is_sip);
        assert_string_equal(g->p[i].src, "192.0.2.8:5060");
        assert_memory_equal(g->p[i].data, sip, sizeof(sip) - 1);
    }
    assert_int_equal(g->p[1].frame, 2);
    assert_int_equal(g->p[2].frame, 3);
    assert_int_equal(g->p[2].first, 2);
    assert_int_equal(g->p[0].tr, FLOW_HEP);
    assert_true(g->p[0].is_sip);
    assert_string_equal(g->p[0].src, "192.0.2.8:5060");
    assert_string_equal(g->p[0].dst, "192.0.2.9:5061");
    assert_int_equal(g->p[0].ts, 0x60000000ull * 1000000000ull + 5000);
    assert_memory_equal(g->p[0].data, sip, sizeof(sip) - 1);
    assert_int_equal(st.sip_hep, 3);
    assert_int_equal(warnings_of(g, FLOW_PROB_HEP), 1);
    got_free(g);
    free(f);
    free(h);
    free(c);
}

/* A WebSocket frame: masked when mask is not NULL. */
static size_t ws_frame(uint8_t *out, bool fin, uint8_t op, const uint8_t *mask,
                       const char *pl, size_t n)
{
    size_t o = 0;

    out[o++] = (uint8_t) ((fin ? 0x80 : 0) | op);
    if (n < 126) {
        out[o++] = (uint8_t) ((mask ? 0x80 : 0) | n);
    } else {
        out[o++] = (uint8_t) ((mask ? 0x80 : 0) | 126);
        out[o++] = (uint8_t) (n >> 8);
        out[o++] = (uint8_t) n;
    }
    if (mask) {
        memcpy(out + o, mask, 4);
        o += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[o + i] = (uint8_t) (pl[i] ^ (mask ? mask[i % 4] : 0));
    return o + n;
}

static void test_websocket(void **state)
{
    static const char up[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    static const char reg[] =
        "REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid\r\n\r\n";
    static const char resp[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/WSS x.invalid\r\n\r\n";
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    struct bytes *f = calloc(1, sizeof(*f));
    uint8_t buf[1024];
    size_t n, half = 20;
    uint32_t s = 1, rs = 1;
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    seg(&w, f, true, s, ACK, up, sizeof(up) - 1); /* 1 */
    s += sizeof(up) - 1;
    seg(&w, f, false, rs, ACK, ok, sizeof(ok) - 1); /* 2 */
    rs += sizeof(ok) - 1;
    /* a masked client frame, split over two segments */
    n = ws_frame(buf, true, 1, mask, reg, sizeof(reg) - 1);
    seg(&w, f, true, s, ACK, (char *) buf, 10);               /* 3 */
    seg(&w, f, true, s + 10, ACK, (char *) buf + 10, n - 10); /* 4 */
    s += (uint32_t) n;
    /* a ping, then a message fragmented in two frames, in one segment */
    n = ws_frame(buf, true, 9, mask, "hi", 2);
    n += ws_frame(buf + n, false, 1, mask, reg, half);
    n += ws_frame(buf + n, true, 0, mask, reg + half, sizeof(reg) - 1 - half);
    seg(&w, f, true, s, ACK, (char *) buf, n); /* 5 */
    /* an unmasked server frame */
    n = ws_frame(buf, true, 1, NULL, resp, sizeof(resp) - 1);
    seg(&w, f, false, rs, ACK, (char *) buf, n); /* 6 */
    /* a stream whose Upgrade the capture missed: found by its first frame */
    {
        struct bytes t = {.n = 0};

        n = ws_frame(buf, true, 1, mask, reg, sizeof(reg) - 1);
        tcp(&t, 40002, 5080, 99, ACK, buf, n);
        f->n = 0;
        ether(f, 0x0800);
        ipv4(f, IP_A, IP_B, 6, 1, 0, t.p, t.n);
        pw_frame(&w, f); /* 7 */
    }
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->nwarn, 0);
    assert_int_equal(g->n, 4);
    assert_int_equal(st.sip_ws, 4);
    assert_memory_equal(g->p[3].data, reg, sizeof(reg) - 1);
    assert_string_equal(g->p[3].src, "10.0.0.1:40002");
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(g->p[i].tr, FLOW_WS);
        assert_true(g->p[i].is_sip);
        assert_int_equal(g->p[i].len, sizeof(reg) - 1);
        assert_memory_equal(g->p[i].data, reg, sizeof(reg) - 1);
    }
    assert_int_equal(g->p[0].frame, 4);
    assert_int_equal(g->p[0].first, 3);
    assert_int_equal(g->p[1].frame, 5);
    assert_memory_equal(g->p[2].data, resp, sizeof(resp) - 1);
    assert_string_equal(g->p[2].src, "10.0.0.2:5080");
    got_free(g);
    free(f);
}

static void test_tls(void **state)
{
    static const char hello[] =
        "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03 random bytes";
    static const char more[] = "\x17\x03\x03\x00\x10 encrypted data";
    struct bytes *f = calloc(1, sizeof(*f));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    seg(&w, f, true, 1, ACK, hello, sizeof(hello) - 1);
    seg(&w, f, true, sizeof(hello), ACK, more, sizeof(more) - 1);
    seg(&w, f, false, 1, ACK, hello, sizeof(hello) - 1);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 0);
    assert_int_equal(warnings_of(g, FLOW_PROB_TLS), 2); /* once per direction */
    got_free(g);
    free(f);
}

static void test_snaplen_cut(void **state)
{
    static const char sip[] =
        "OPTIONS sip:b@10.0.0.2 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    struct bytes *f = calloc(1, sizeof(*f));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    eth_udp4(f, 5060, 5060, sip, sizeof(sip) - 1);
    pw_frame_cut(&w, f, 14 + 20 + 8 + 36); /* the start line is there */
    pw_frame_cut(&w, f, 20);               /* the IP header is not */
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 1);
    assert_true(g->p[0].is_sip);
    assert_true(g->p[0].truncated);
    assert_int_equal(g->p[0].len, 36);
    assert_int_equal(st.problems[FLOW_PROB_SNAPLEN], 3); /* frame 1; frame 2 twice */
    got_free(g);
    free(f);
}

static void test_truncated_file(void **state)
{
    static const char sip[] =
        "OPTIONS sip:b@10.0.0.2 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    struct bytes *f = calloc(1, sizeof(*f));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;
    long size;

    (void) state;
    assert_non_null(f);
    pw_open(&w, 1);
    eth_udp4(f, 5060, 5060, sip, sizeof(sip) - 1);
    pw_frame(&w, f);
    pw_frame(&w, f);
    fflush(w.f);
    size = ftell(w.f);
    assert_int_equal(ftruncate(fileno(w.f), size - 30), 0);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 1);
    assert_int_equal(warnings_of(g, FLOW_PROB_FILE), 1);
    assert_int_equal(g->warn_frame[0], 2);
    got_free(g);
    free(f);
}

static void test_not_a_capture(void **state)
{
    char path[] = "/tmp/sipkit-flow-test.XXXXXX", err[256] = "";
    struct flow_capture *c = NULL;
    int fd = mkstemp(path);

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "OPTIONS sip:x SIP/2.0\r\n\r\n", 25), 25);
    close(fd);
    assert_int_equal(flow_capture_open_file(&c, path, NULL, err, sizeof(err)), EINVAL);
    assert_null(c);
    assert_true(strlen(err) > 0);
    unlink(path);
    assert_int_equal(flow_capture_open_file(&c, path, NULL, err, sizeof(err)), ENOENT);
}

static void sctp_data(struct bytes *b, uint8_t flags, uint32_t tsn, uint16_t ssn,
                      const char *pl, size_t n)
{
    put8(b, 0);
    put8(b, flags);
    put16(b, (uint32_t) (16 + n));
    put32(b, tsn);
    put16(b, 0);
    put16(b, ssn);
    put32(b, 0);
    put(b, pl, n);
    while (b->n % 4)
        put8(b, 0);
}

/* SIP over SCTP (RFC 4168): a message in one DATA chunk, and one in two. */
static void test_sctp(void **state)
{
    static const char m1[] = OPTIONS("1"), m2[] = OPTIONS("2");
    struct bytes *f = calloc(1, sizeof(*f)), *s = calloc(1, sizeof(*s));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    assert_non_null(s);
    pw_open(&w, 1);
    put16(s, 5060);
    put16(s, 5060);
    put32(s, 1);
    put32(s, 0);
    sctp_data(s, 0x03, 10, 0, m1, sizeof(m1) - 1);
    sctp_data(s, 0x02, 11, 1, m2, 40);
    ether(f, 0x0800);
    ipv4(f, IP_A, IP_B, 132, 1, 0, s->p, s->n);
    pw_frame(&w, f);
    s->n = 0;
    put16(s, 5060);
    put16(s, 5060);
    put32(s, 1);
    put32(s, 0);
    sctp_data(s, 0x01, 12, 1, m2 + 40, sizeof(m2) - 1 - 40);
    f->n = 0;
    ether(f, 0x0800);
    ipv4(f, IP_A, IP_B, 132, 2, 0, s->p, s->n);
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->nwarn, 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->p[0].tr, FLOW_SCTP);
    assert_memory_equal(g->p[0].data, m1, sizeof(m1) - 1);
    assert_int_equal(g->p[1].len, sizeof(m2) - 1);
    assert_memory_equal(g->p[1].data, m2, sizeof(m2) - 1);
    assert_int_equal(g->p[1].frame, 2);
    assert_int_equal(g->p[1].first, 1);
    assert_int_equal(st.sip_sctp, 2);
    got_free(g);
    free(f);
    free(s);
}

/* The named limits hold: fragments pending, streams, out-of-order segments. */
static void test_limits(void **state)
{
    static const char m1[] = OPTIONS("1");
    struct flow_limits lim = flow_limits_default;
    struct got *g = calloc(1, sizeof(*g));
    struct flow_sink sink = {.packet = on_pkt, .warning = on_warn, .arg = g};
    struct bytes *f = calloc(1, sizeof(*f)), *u = calloc(1, sizeof(*u));
    struct flow_capture *c;
    char sip[3000];

    (void) state;
    assert_non_null(g);
    assert_non_null(f);
    assert_non_null(u);
    lim.frag_max_pending = 2;
    lim.tcp_max_streams = 2;
    lim.tcp_max_ooo_segments = 2;
    assert_int_equal(flow_capture_new(&c, 1, &lim), 0);
    make_big_sip(sip, sizeof(sip));
    udp(u, 5060, 5060, sip, sizeof(sip));
    /* three datagrams' first fragments: the oldest is evicted */
    for (uint16_t id = 1; id <= 3; id++) {
        frag_frame(f, id, u, 0, 1480, true);
        flow_capture_feed(c, &sink, 0, f->p, f->n, f->n);
    }
    assert_int_equal(warnings_of(g, FLOW_PROB_FRAG), 1);
    /* three out-of-order segments on one stream: the holes are skipped at the third */
    for (uint32_t i = 0; i < 3; i++) {
        f->n = 0;
        eth_tcp4(f, true, 1000 + 100 * i, ACK, m1, 10);
        if (i == 0) {
            flow_capture_feed(c, &sink, 0, f->p, f->n, f->n);
            f->n = 0;
            eth_tcp4(f, true, 2000, ACK, m1, 10);
        }
        flow_capture_feed(c, &sink, 0, f->p, f->n, f->n);
    }
    assert_true(warnings_of(g, FLOW_PROB_TCP_LIMIT) >= 1);
    /* a third stream: the least recently seen is given up */
    f->n = 0;
    eth_tcp4(f, false, 1, ACK, m1, sizeof(m1) - 1);
    flow_capture_feed(c, &sink, 0, f->p, f->n, f->n);
    f->n = 0;
    {
        struct bytes t = {.n = 0};

        tcp(&t, 1, 2, 1, ACK, m1, sizeof(m1) - 1);
        ether(f, 0x0800);
        ipv4(f, IP_B, IP_B, 6, 1, 0, t.p, t.n);
    }
    flow_capture_feed(c, &sink, 0, f->p, f->n, f->n);
    assert_true(warnings_of(g, FLOW_PROB_TCP_LIMIT) >= 2);
    assert_int_equal(flow_capture_stats(c)->sip_tcp, 2);
    flow_capture_flush(c, &sink);
    flow_capture_close(c);
    got_free(g);
    free(f);
    free(u);
}

/* Random frames of every link type through the feed entry: no crash, no leak. */
static void test_garbage(void **state)
{
    static const int links[] = {1, 113, 276, 12, 0, 108, 228, 229, 147};
    uint8_t buf[1600];
    unsigned x = 12345;

    (void) state;
    for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++) {
        struct flow_capture *c;
        struct flow_sink sink = {0};

        assert_int_equal(flow_capture_new(&c, links[l], NULL), 0);
        for (int i = 0; i < 2000; i++) {
            size_t n = (x = x * 1103515245u + 12345u) % sizeof(buf);

            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t) ((x = x * 1103515245u + 12345u) >> 16);
            /* Make many of them look like IPv4/IPv6 TCP or UDP so the deeper layers run.
             */
            if (n > 60 && (i & 1)) {
                size_t o = links[l] == 1                        ? 14
                           : links[l] == 113                    ? 16
                           : links[l] == 276                    ? 20
                           : (links[l] == 0 || links[l] == 108) ? 4
                                                                : 0;
                buf[o] = (i & 2) ? 0x45 : 0x60;
                if (links[l] == 1) {
                    buf[12] = (i & 2) ? 0x08 : 0x86;
                    buf[13] = (i & 2) ? 0x00 : 0xdd;
                }
                buf[o + 9] = (i & 4) ? 6 : 17;
                buf[o + 6] = (i & 4) ? 6 : 17;
            }
            flow_capture_feed(c, &sink, (uint64_t) i * 1000000, buf, n, n + (i % 3));
        }
        flow_capture_flush(c, &sink);
        assert_int_equal(flow_capture_stats(c)->frames, 2000);
        flow_capture_close(c);
    }
}

/* ICMP destination unreachable (RFC 792 type 3, RFC 4443 type 1) quoting the refused
 * UDP datagram is handed up with what it refused; other ICMP, and errors quoting too
 * little, are only counted. */
static void test_icmp_unreachable(void **state)
{
    static const uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                         b6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    static const uint8_t rtp[12] = {0x80, 0, 0, 1};
    struct bytes *f = calloc(1, sizeof(*f)), *q = calloc(1, sizeof(*q));
    struct bytes *u = calloc(1, sizeof(*u));
    struct flow_stats st;
    struct pcapw w;
    struct got *g;

    (void) state;
    assert_non_null(f);
    assert_non_null(q);
    assert_non_null(u);
    pw_open(&w, 1);
    /* B says A's datagram 10.0.0.1:4000 -> 10.0.0.2:5000 found nobody (code 3) */
    udp(u, 4000, 5000, rtp, sizeof(rtp));
    ipv4(q, IP_A, IP_B, 17, 7, 0, u->p, u->n);
    u->n = 0;
    put8(u, 3);
    put8(u, 3);
    put16(u, 0);
    put32(u, 0);
    put(u, q->p, 28); /* the IP header and 8 bytes, as RFC 792 asks */
    ether(f, 0x0800);
    ipv4(f, IP_B, IP_A, 1, 8, 0, u->p, u->n);
    pw_frame(&w, f);
    /* host unreachable (code 1) for the same: handed up, not a port error */
    u->p[1] = 1;
    f->n = 0;
    ether(f, 0x0800);
    ipv4(f, IP_B, IP_A, 1, 9, 0, u->p, u->n);
    pw_frame(&w, f);
    /* an echo request, and an error quoting only 10 bytes: counted, not handed up */
    u->p[0] = 8;
    f->n = 0;
    ether(f, 0x0800);
    ipv4(f, IP_B, IP_A, 1, 10, 0, u->p, u->n);
    pw_frame(&w, f);
    u->p[0] = 3;
    f->n = 0;
    ether(f, 0x0800);
    ipv4(f, IP_B, IP_A, 1, 11, 0, u->p, 8 + 10);
    pw_frame(&w, f);
    /* ICMPv6 port unreachable (type 1 code 4) quoting [fd00::1]:4000 -> [fd00::2]:5000 */
    q->n = 0;
    put32(q, 0x60000000);
    put16(q, 8 + sizeof(rtp));
    put8(q, 17);
    put8(q, 64);
    put(q, a6, 16);
    put(q, b6, 16);
    put16(q, 4000);
    put16(q, 5000);
    put16(q, 8 + sizeof(rtp));
    put16(q, 0);
    u->n = 0;
    put8(u, 1);
    put8(u, 4);
    put16(u, 0);
    put32(u, 0);
    put(u, q->p, q->n);
    f->n = 0;
    ether(f, 0x86dd);
    put32(f, 0x60000000);
    put16(f, (uint32_t) u->n);
    put8(f, 58);
    put8(f, 64);
    put(f, b6, 16);
    put(f, a6, 16);
    put(f, u->p, u->n);
    pw_frame(&w, f);
    pw_close(&w);
    g = read_back(&w, &st);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->p[0].tr, FLOW_ICMP);
    assert_false(g->p[0].is_sip);
    assert_true(g->p[0].port_unreach);
    assert_int_equal(g->p[0].icmp_proto, 17);
    assert_string_equal(g->p[0].src, "10.0.0.2:0");
    assert_string_equal(g->p[0].refused_src, "10.0.0.1:4000");
    assert_string_equal(g->p[0].refused_dst, "10.0.0.2:5000");
    assert_int_equal(g->p[1].tr, FLOW_ICMP);
    assert_false(g->p[1].port_unreach);
    assert_int_equal(g->p[2].frame, 5);
    assert_true(g->p[2].port_unreach);
    assert_string_equal(g->p[2].refused_src, "[fd00::1]:4000");
    assert_string_equal(g->p[2].refused_dst, "[fd00::2]:5000");
    assert_int_equal(st.icmp_unreach, 3);
    assert_int_equal(st.other_ip, 2);
    assert_int_equal(st.other_udp, 0);
    assert_int_equal(g->nwarn, 0);
    got_free(g);
    free(f);
    free(q);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_sip),
        cmocka_unit_test(test_udp_ethernet),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_fragment_overlap_differs),
        cmocka_unit_test(test_ip_options_ipv6_fragments),
        cmocka_unit_test(test_tcp_streams),
        cmocka_unit_test(test_tcp_gap),
        cmocka_unit_test(test_hep3),
        cmocka_unit_test(test_websocket),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_sctp),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_snaplen_cut),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_icmp_unreachable),
        cmocka_unit_test(test_not_a_capture),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
