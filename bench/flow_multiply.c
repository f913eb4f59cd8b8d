/* bench_flow's capture maker: multiplies a real seed capture (SIP calls with RTP) into a
 * large one of many distinct calls, each copy with its own Call-IDs, tags, branches and
 * SSRCs (rewritten in place, same lengths) and later timestamps. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MULTIPLY_GAP_NS 1000000000ull /* between the end of a copy and the next one */
#define MULTIPLY_MAX_COPIES 100000
#define MULTIPLY_TOKEN_DIGITS 4 /* leading alphanumerics of a token that count copies */

struct frame {
    struct pcap_pkthdr
        hdr; /* ts.tv_usec holds nanoseconds (PCAP_TSTAMP_PRECISION_NANO) */
    uint8_t *data;
};

struct seed {
    struct frame *f;
    size_t n, cap;
    uint64_t bytes; /* of the records, headers included, as written */
    uint64_t first_ns, last_ns;
    int linktype, snaplen;
};

static const char B62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int b62_val(uint8_t c)
{
    const char *p = c ? strchr(B62, c) : NULL;
    return p ? (int) (p - B62) : -1;
}

/* Add k to the number its first alphanumerics spell in base 62 (wrapping): the same
 * token becomes the same new token in every message of copy k, distinct tokens stay
 * distinct, and the length does not change. */
static void token_shift(uint8_t *p, size_t len, uint64_t k)
{
    size_t pos[MULTIPLY_TOKEN_DIGITS];
    size_t n = 0;
    uint64_t carry = k;

    for (size_t i = 0; i < len && n < MULTIPLY_TOKEN_DIGITS; i++)
        if (b62_val(p[i]) >= 0) pos[n++] = i;
    /* the last of those digits is the least significant */
    for (size_t d = n; d-- > 0 && carry;) {
        uint64_t v = (uint64_t) b62_val(p[pos[d]]) + carry;
        p[pos[d]] = (uint8_t) B62[v % 62];
        carry = v / 62;
    }
}

static bool is_token_end(uint8_t c)
{
    return c == ';' || c == '>' || c == ',' || c == ' ' || c == '\t' || c == '\r' ||
           c == '\n';
}

/* Rewrite the values after every "key" (case-sensitive, as SIP stacks write tag= and
 * branch=) in line [p, end); skip: bytes of the value left as they are (the magic
 * cookie). */
static void rewrite_param(uint8_t *p, uint8_t *end, const char *key, size_t skip,
                          uint64_t k)
{
    size_t kl = strlen(key);

    for (uint8_t *q = p; q + kl <= end; q++) {
        uint8_t *v, *e;

        if (memcmp(q, key, kl) != 0) continue;
        v = q + kl;
        for (e = v; e < end && !is_token_end(*e); e++)
            ;
        if ((size_t) (e - v) > skip) token_shift(v + skip, (size_t) (e - v) - skip, k);
        q = e - 1;
    }
}

static bool line_is(const uint8_t *p, const uint8_t *end, const char *name)
{
    size_t n = strlen(name);

    if ((size_t) (end - p) <= n || strncasecmp((const char *) p, name, n) != 0)
        return false;
    p += n;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p < end && *p == ':';
}

/* A SIP message: Call-ID (and its compact form i), every tag= and branch= of the
 * header section. */
static void rewrite_sip(uint8_t *p, size_t len, uint64_t k)
{
    uint8_t *end = p + len, *line = p;

    while (line < end) {
        uint8_t *eol = memchr(line, '\n', (size_t) (end - line));

        if (!eol) eol = end;
        if (eol - line <= 1) break; /* the blank line: the body follows */
        if (line_is(line, eol, "Call-ID") || line_is(line, eol, "i")) {
            uint8_t *v = (uint8_t *) memchr(line, ':', (size_t) (eol - line)) + 1, *e;

            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            for (e = v; e < eol && *e != '\r' && *e != ' '; e++)
                ;
            token_shift(v, (size_t) (e - v), k);
        }
        rewrite_param(line, eol, "tag=", 0, k);
        rewrite_param(line, eol, "branch=z9hG4bK", 0, k);
        line = eol + 1;
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

static uint32_t ssrc_mix(uint64_t k)
{
    return (uint32_t) (k * 0x9E3779B1u);
}

/* RTP: the SSRC; RTCP (RFC 3550 §6.4): the sender's SSRC and every report block's,
 * each packet of the compound. */
static void rewrite_rtp(uint8_t *p, size_t len, uint64_t k)
{
    uint32_t x = ssrc_mix(k);

    if (len < 12 || (p[0] >> 6) != 2) return;
    if (p[1] < 200 || p[1] > 204) {
        wr32(p + 8, rd32(p + 8) ^ x);
        return;
    }
    while (len >= 8 && (p[0] >> 6) == 2) {
        size_t plen = ((size_t) (p[2] << 8 | p[3]) + 1) * 4, blocks = p[0] & 0x1f;
        size_t off = p[1] == 200 ? 28 : 8;

        if (plen > len) break;
        wr32(p + 4, rd32(p + 4) ^ x);
        if (p[1] == 200 || p[1] == 201)
            for (size_t b = 0; b < blocks && off + 24 <= plen; b++, off += 24)
                wr32(p + off, rd32(p + off) ^ x);
        p += plen;
        len -= plen;
    }
}

static bool looks_sip(const uint8_t *p, size_t len)
{
    const uint8_t *eol;

    if (len >= 8 && memcmp(p, "SIP/2.0 ", 8) == 0) return true;
    eol = memchr(p, '\r', len < 512 ? len : 512);
    return eol && eol - p > 8 && memcmp(eol - 8, " SIP/2.0", 8) == 0;
}

/* The IPv4 UDP payload of a frame, or NULL (then it is copied unchanged). */
static uint8_t *udp_payload(uint8_t *d, size_t caplen, int linktype, size_t *plen)
{
    size_t off, hl;
    uint32_t type;

    switch (linktype) {
    case DLT_EN10MB:
        off = 12;
        if (caplen < 14) return NULL;
        type = (uint32_t) d[12] << 8 | d[13];
        while ((type == 0x8100 || type == 0x88a8) && caplen >= off + 6) {
            off += 4;
            type = (uint32_t) d[off] << 8 | d[off + 1];
        }
        off += 2;
        if (type != 0x0800) return NULL;
        break;
    case DLT_LINUX_SLL: off = 16; break;
    case DLT_LINUX_SLL2: off = 20; break;
    case DLT_NULL:
    case DLT_LOOP: off = 4; break;
    case DLT_RAW: off = 0; break;
    default: return NULL;
    }
    if (caplen < off + 28 || (d[off] >> 4) != 4 || d[off + 9] != 17) return NULL;
    if ((((uint32_t) d[off + 6] << 8 | d[off + 7]) & 0x3fff) != 0) return NULL; /* frag */
    hl = (size_t) (d[off] & 0x0f) * 4;
    if (caplen < off + hl + 8) return NULL;
    d[off + hl + 6] = d[off + hl + 7] = 0; /* UDP checksum: none (RFC 768) */
    *plen = caplen - off - hl - 8;
    return d + off + hl + 8;
}

static int seed_read(struct seed *s, const char *path)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p =
        pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, eb);
    struct pcap_pkthdr *h;
    const u_char *data;

    if (!p) {
        fprintf(stderr, "flow_multiply: %s: %s\n", path, eb);
        return EINVAL;
    }
    s->linktype = pcap_datalink(p);
    s->snaplen = pcap_snapshot(p);
    while (pcap_next_ex(p, &h, &data) == 1) {
        struct frame *f;
        uint64_t ns = (uint64_t) h->ts.tv_sec * 1000000000u + (uint64_t) h->ts.tv_usec;

        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 4096;
            struct frame *x = realloc(s->f, nc * sizeof(*x));
            if (!x) goto oom;
            s->f = x;
            s->cap = nc;
        }
        f = &s->f[s->n];
        f->hdr = *h;
        f->data = malloc(h->caplen ? h->caplen : 1);
        if (!f->data) goto oom;
        memcpy(f->data, data, h->caplen);
        if (!s->n) s->first_ns = ns;
        if (ns > s->last_ns) s->last_ns = ns;
        s->bytes += 16 + h->caplen;
        s->n++;
    }
    pcap_close(p);
    return s->n ? 0 : EINVAL;
oom:
    pcap_close(p);
    fprintf(stderr, "flow_multiply: out of memory\n");
    return ENOMEM;
}

int main(int argc, char **argv)
{
    struct seed s = {0};
    uint64_t target, copies, period, written = 24;
    pcap_t *dead;
    pcap_dumper_t *d;
    uint8_t *buf;
    char *end;
    int rc = 0;

    if (argc != 4) {
        fprintf(stderr,
                "usage: flow_multiply SEED.pcap OUT.pcap MEGABYTES\n"
                "  copies SEED (calls with RTP) until OUT holds at least MEGABYTES;\n"
                "  copy k: Call-IDs, tags and branches + k (base 62, same length),\n"
                "  SSRCs xor k*0x9E3779B1, times after the copy before\n");
        return 2;
    }
    target = strtoull(argv[3], &end, 10) * 1000000u;
    if (*end || !target) {
        fprintf(stderr, "flow_multiply: bad size '%s'\n", argv[3]);
        return 2;
    }
    if (seed_read(&s, argv[1])) return 1;
    copies = (target + s.bytes - 1) / s.bytes;
    if (copies > MULTIPLY_MAX_COPIES) {
        fprintf(stderr, "flow_multiply: the seed is too small for %s MB\n", argv[3]);
        return 1;
    }
    period = s.last_ns - s.first_ns + MULTIPLY_GAP_NS;
    dead = pcap_open_dead_with_tstamp_precision(s.linktype, s.snaplen,
                                                PCAP_TSTAMP_PRECISION_NANO);
    buf = malloc((size_t) s.snaplen + 65536);
    d = dead && buf ? pcap_dump_open(dead, argv[2]) : NULL;
    if (!d) {
        fprintf(stderr, "flow_multiply: %s: %s\n", argv[2],
                dead ? pcap_geterr(dead) : "out of memory");
        return 1;
    }
    for (uint64_t k = 0; k < copies; k++) {
        for (size_t i = 0; i < s.n; i++) {
            const struct frame *f = &s.f[i];
            struct pcap_pkthdr h = f->hdr;
            uint64_t ns = (uint64_t) h.ts.tv_sec * 1000000000u + (uint64_t) h.ts.tv_usec +
                          k * period;
            size_t plen;
            uint8_t *pl;

            memcpy(buf, f->data, h.caplen);
            pl = k ? udp_payload(buf, h.caplen, s.linktype, &plen) : NULL;
            if (pl && looks_sip(pl, plen))
                rewrite_sip(pl, plen, k);
            else if (pl)
                rewrite_rtp(pl, plen, k);
            h.ts.tv_sec = (time_t) (ns / 1000000000u);
            h.ts.tv_usec = (suseconds_t) (ns % 1000000000u);
            pcap_dump((u_char *) d, &h, buf);
            written += 16 + h.caplen;
        }
    }
    if (pcap_dump_flush(d) != 0) {
        fprintf(stderr, "flow_multiply: %s: write failed\n", argv[2]);
        rc = 1;
    }
    pcap_dump_close(d);
    pcap_close(dead);
    printf("flow_multiply: %zu frames x %" PRIu64 " copies = %" PRIu64 " frames, %" PRIu64
           " bytes, %.1f s of traffic\n",
           s.n, copies, (uint64_t) s.n * copies, written,
           (double) (copies * period) / 1e9);
    for (size_t i = 0; i < s.n; i++)
        free(s.f[i].data);
    free(s.f);
    free(buf);
    return rc;
}
