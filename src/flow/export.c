/* Writing one call's frames to a new pcap file: find its frames again by decoding the
 * capture a second time, then copy them raw in a third read. */
#include "flow/export.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/capture.h"

#define EXPORT_RTCP_BEFORE_NS (5ull * 1000000000) /* RTCP of a stream: window around */
#define EXPORT_RTCP_AFTER_NS (10ull * 1000000000) /* its RTP (RFC 3550 §6.2: ~5 s) */

struct export_sel {
    const struct flow_model *m;
    int32_t item;
    uint64_t *ordinals; /* the item's SIP messages, ascending */
    size_t nord, cur;
    uint64_t sip_seen; /* SIP messages handed up so far (the model's ordinals) */
    const struct flow_stream **streams;
    size_t nstreams;
    uint64_t *frames; /* selected frame numbers, not sorted */
    size_t nframes, cap;
    bool oom;
    struct flow_export_counts *counts;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void sel_add(struct export_sel *x, uint64_t frame)
{
    if (!frame || x->oom) return;
    if (x->nframes && x->frames[x->nframes - 1] == frame) return;
    if (x->nframes == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 1024;
        uint64_t *f = realloc(x->frames, nc * sizeof(*f));

        if (!f) {
            x->oom = true;
            return;
        }
        x->frames = f;
        x->cap = nc;
    }
    x->frames[x->nframes++] = frame;
}

static void sel_packet_frames(struct export_sel *x, const struct flow_packet *p)
{
    if (p->nframes) {
        for (size_t i = 0; i < p->nframes; i++)
            sel_add(x, p->frames[i]);
    } else if (p->first_frame && p->first_frame != p->frame) {
        sel_add(x, p->first_frame);
    }
    sel_add(x, p->frame);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    if (a->u.sa.sa_family == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
}

/* RTP of a stream: its addresses and SSRC, within its time. RTCP: a compound whose
 * sender SSRC is one of the streams' and that comes from the stream's address, on its
 * port (RFC 5761 mux) or the next one (RFC 3550 §11). */
static void sel_udp(struct export_sel *x, const struct flow_packet *p)
{
    bool rtcp;
    uint32_t ssrc;

    if (p->len < 12 || (p->data[0] >> 6) != 2) return;
    rtcp = p->data[1] >= 200 && p->data[1] <= 204;
    ssrc = be32(p->data + (rtcp ? 4 : 8));
    for (size_t i = 0; i < x->nstreams; i++) {
        const struct flow_stream *s = x->streams[i];

        if (s->ssrc != ssrc) continue;
        if (!rtcp) {
            if (p->ts_ns < s->first_ns || p->ts_ns > s->last_ns ||
                !sk_sa_equal(&p->src, &s->src) || !sk_sa_equal(&p->dst, &s->dst))
                continue;
            x->counts->rtp++;
        } else {
            uint16_t port = sk_sa_port(&s->src), from = sk_sa_port(&p->src);

            if (!same_ip(&p->src, &s->src) || (from != port && from != port + 1) ||
                p->ts_ns + EXPORT_RTCP_BEFORE_NS < s->first_ns ||
                p->ts_ns > s->last_ns + EXPORT_RTCP_AFTER_NS)
                continue;
            x->counts->rtcp++;
        }
        sel_packet_frames(x, p);
        return;
    }
}

static void sel_on_packet(void *arg, const struct flow_packet *p)
{
    struct export_sel *x = arg;

    if (p->is_sip) {
        x->sip_seen++;
        while (x->cur < x->nord && x->ordinals[x->cur] < x->sip_seen)
            x->cur++;
        if (x->cur < x->nord && x->ordinals[x->cur] == x->sip_seen) {
            x->counts->sip++;
            sel_packet_frames(x, p);
        }
        return;
    }
    /* what the model reads as RTP or RTCP (flow_model_feed) */
    if (p->ip_proto == 17 || p->transport == FLOW_UDP) sel_udp(x, p);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* The item's message ordinals and streams. */
static int sel_init(struct export_sel *x, const struct flow_model *m, size_t index)
{
    size_t n, ns;
    const struct flow_msg *msgs = flow_model_msgs(m, &n);
    const struct flow_stream *st = flow_model_streams(m, &ns);

    x->ordinals = malloc((n ? n : 1) * sizeof(*x->ordinals));
    x->streams = malloc((ns ? ns : 1) * sizeof(*x->streams));
    if (!x->ordinals || !x->streams) return ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (msgs[i].item == (int32_t) index) x->ordinals[x->nord++] = msgs[i].ordinal;
    for (size_t i = 0; i < ns; i++)
        if (st[i].item == (int32_t) index) x->streams[x->nstreams++] = &st[i];
    return 0;
}

/* Pass 2: decode the capture again and note the frames of the item. */
static int find_frames(struct export_sel *x, const char *in, char *err, size_t errlen)
{
    struct flow_sink sink = {.packet = sel_on_packet, .warning = NULL, .arg = x};
    struct flow_capture *cap;
    char e[256] = "";
    int rc = flow_capture_open_file(&cap, in, NULL, e, sizeof(e));

    if (rc) {
        set_err(err, errlen, "%s: %s", in, e);
        return rc;
    }
    rc = flow_capture_run(cap, &sink, NULL);
    flow_capture_close(cap);
    if (rc) {
        set_err(err, errlen, "%s: cannot be read again", in);
        return EIO;
    }
    if (x->oom) {
        set_err(err, errlen, "out of memory");
        return ENOMEM;
    }
    qsort(x->frames, x->nframes, sizeof(*x->frames), cmp_u64);
    return 0;
}

/* Pass 3: copy the selected frames, raw. */
static int copy_frames(const struct export_sel *x, const char *in, const char *out,
                       char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p =
        pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, eb);
    pcap_dumper_t *d;
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t frame = 0;
    size_t k = 0;
    int rc = 0, r;

    if (!p) {
        set_err(err, errlen, "%s: %s", in, eb);
        return EIO;
    }
    /* the dump file takes the input's link type, snaplen and ns precision */
    d = pcap_dump_open(p, out);
    if (!d) {
        set_err(err, errlen, "%s", pcap_geterr(p));
        pcap_close(p);
        return EIO;
    }
    while (k < x->nframes && (r = pcap_next_ex(p, &hdr, &data)) == 1) {
        frame++;
        while (k < x->nframes && x->frames[k] < frame)
            k++;
        if (k < x->nframes && x->frames[k] == frame) {
            pcap_dump((u_char *) d, hdr, data);
            x->counts->frames++;
            k++;
        }
    }
    if (pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d))) {
        set_err(err, errlen, "%s: write failed", out);
        rc = EIO;
    }
    pcap_dump_close(d);
    pcap_close(p);
    if (rc) unlink(out);
    return rc;
}

static bool same_file(const char *a, const char *b)
{
    struct stat x, y;

    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

int flow_export_pcap(const struct flow_model *m, size_t index, const char *in,
                     const char *out, struct flow_export_counts *counts, char *err,
                     size_t errlen)
{
    struct export_sel x;
    size_t n;
    int rc;

    memset(counts, 0, sizeof(*counts));
    flow_model_items(m, &n);
    if (index >= n) {
        set_err(err, errlen, "no item %zu", index + 1);
        return EINVAL;
    }
    if (strcmp(in, "-") == 0) {
        set_err(err, errlen, "the capture must be a file (it is read again)");
        return EINVAL;
    }
    if (same_file(in, out)) {
        set_err(err, errlen, "%s: the output would overwrite the capture", out);
        return EINVAL;
    }
    memset(&x, 0, sizeof(x));
    x.m = m;
    x.item = (int32_t) index;
    x.counts = counts;
    rc = sel_init(&x, m, index);
    if (rc)
        set_err(err, errlen, "out of memory");
    else
        rc = find_frames(&x, in, err, errlen);
    if (!rc) rc = copy_frames(&x, in, out, err, errlen);
    free(x.ordinals);
    free(x.streams);
    free(x.frames);
    return rc;
}
