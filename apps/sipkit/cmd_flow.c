/* sipkit flow: read a capture (file or live) and list the SIP messages in it. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "flow/capture.h"

#define FLOW_CMD_WARNINGS_PER_KIND 20 /* shown per kind of problem; all are counted */
#define FLOW_CMD_START_LINE_MAX 160

struct flow_cmd {
    bool messages;
    const struct flow_capture *cap;
    uint64_t shown[FLOW_PROB__COUNT];
    uint64_t sip;
};

static struct flow_capture *volatile g_running; /* for the SIGINT handler only */

static void on_signal(int sig)
{
    (void) sig;
    if (g_running) flow_capture_stop(g_running);
}

static void print_start_line(const uint8_t *p, size_t len)
{
    char line[FLOW_CMD_START_LINE_MAX + 1];
    size_t i = 0, n = 0;

    while (i < len && (p[i] == '\r' || p[i] == '\n'))
        i++;
    for (; i < len && p[i] != '\r' && p[i] != '\n' && n < FLOW_CMD_START_LINE_MAX; i++)
        line[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char) p[i] : '.';
    line[n] = '\0';
    fputs(line, stdout);
}

static void on_packet(void *arg, const struct flow_packet *p)
{
    struct flow_cmd *fc = arg;
    const struct flow_stats *st = flow_capture_stats(fc->cap);
    char src[64], dst[64], frames[48];
    int64_t rel;

    if (!p->is_sip) return;
    fc->sip++;
    if (!fc->messages) return;
    rel = (int64_t) (p->ts_ns - st->first_ns);
    if (p->first_frame != p->frame)
        snprintf(frames, sizeof(frames), "%" PRIu64 "(%" PRIu64 ")", p->frame,
                 p->first_frame);
    else
        snprintf(frames, sizeof(frames), "%" PRIu64, p->frame);
    printf("%8s %s%" PRId64 ".%06" PRId64 " %s -> %s %s%s ", frames, rel < 0 ? "-" : "",
           (rel < 0 ? -rel : rel) / 1000000000,
           ((rel < 0 ? -rel : rel) % 1000000000) / 1000,
           sk_sa_str(&p->src, src, sizeof(src)), sk_sa_str(&p->dst, dst, sizeof(dst)),
           flow_transport_name(p->transport), p->truncated ? " (cut)" : "");
    print_start_line(p->data, p->len);
    putchar('\n');
}

static void on_warning(void *arg, uint64_t frame, enum flow_problem kind,
                       const char *text)
{
    struct flow_cmd *fc = arg;

    if (fc->shown[kind]++ >= FLOW_CMD_WARNINGS_PER_KIND) return;
    fflush(stdout);
    if (frame)
        fprintf(stderr, "sipkit flow: frame %" PRIu64 ": %s\n", frame, text);
    else
        fprintf(stderr, "sipkit flow: %s\n", text);
    if (fc->shown[kind] == FLOW_CMD_WARNINGS_PER_KIND)
        fprintf(stderr, "sipkit flow: (further '%s' warnings only counted)\n",
                flow_problem_name(kind));
}

static void print_summary(const struct flow_cmd *fc, const struct flow_stats *st)
{
    uint64_t warnings = 0;

    for (int k = 0; k < FLOW_PROB__COUNT; k++)
        warnings += st->problems[k];
    printf("%" PRIu64 " SIP messages (%" PRIu64 " UDP, %" PRIu64 " TCP, %" PRIu64
           " WebSocket, %" PRIu64 " HEP, %" PRIu64 " SCTP) in %" PRIu64
           " frames; %" PRIu64 " non-SIP UDP datagrams; %" PRIu64 " warnings",
           fc->sip, st->sip_udp, st->sip_tcp, st->sip_ws, st->sip_hep, st->sip_sctp,
           st->frames, st->other_udp, warnings);
    if (warnings) {
        const char *sep = " (";

        for (int k = 0; k < FLOW_PROB__COUNT; k++) {
            if (!st->problems[k]) continue;
            printf("%s%s %" PRIu64, sep, flow_problem_name((enum flow_problem) k),
                   st->problems[k]);
            sep = ", ";
        }
        putchar(')');
    }
    putchar('\n');
}

static void flow_usage(FILE *f)
{
    fprintf(
        f, "usage: sipkit flow FILE [--messages]\n"
           "       sipkit flow --live IFACE [--filter BPF] [--count N] [--seconds S] "
           "[--messages]\n"
           "  Reads a pcap or pcapng capture ('-' = stdin), or captures live, and finds\n"
           "  SIP in it: UDP (IP fragments reassembled), TCP (streams reassembled),\n"
           "  WebSocket, HEP v3, on any port.\n"
           "  --messages   list every SIP message: frame (first frame), time from the\n"
           "               first frame, source -> destination, transport, start line\n"
           "  --live IFACE capture on IFACE ('any' for all); needs root or CAP_NET_RAW\n"
           "  --filter BPF a capture filter, e.g. 'port 5060'\n"
           "  --count N    stop after N frames;  --seconds S  stop after S seconds\n"
           "  Warnings go to stderr with their frame number. Exit 1 when the capture\n"
           "  cannot be opened.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || end == s || *end || s[0] == '-' ? EINVAL : 0;
}

int cmd_flow(int argc, char **argv)
{
    struct flow_cmd fc = {0};
    struct flow_run_opts ro = {0};
    struct flow_sink sink = {.packet = on_packet, .warning = on_warning, .arg = &fc};
    struct flow_capture *cap = NULL;
    const char *file = NULL, *iface = NULL, *filter = NULL;
    char err[512] = "";
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            flow_usage(stdout);
            return 0;
        } else if (strcmp(a, "--messages") == 0) {
            fc.messages = true;
        } else if ((strcmp(a, "--live") == 0 || strcmp(a, "--filter") == 0 ||
                    strcmp(a, "--count") == 0 || strcmp(a, "--seconds") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];

            if (strcmp(a, "--live") == 0) {
                iface = v;
            } else if (strcmp(a, "--filter") == 0) {
                filter = v;
            } else if (parse_u64(v, strcmp(a, "--count") == 0 ? &ro.max_frames
                                                              : &ro.max_seconds)) {
                fprintf(stderr, "sipkit flow: %s wants a whole number, not '%s'\n", a, v);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sipkit flow: unknown option %s\n", a);
            flow_usage(stderr);
            return 2;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "sipkit flow: one capture at a time\n");
            return 2;
        }
    }
    if ((file != NULL) == (iface != NULL)) {
        flow_usage(stderr);
        return 2;
    }
    if (iface)
        rc = flow_capture_open_live(&cap, iface, filter, NULL, err, sizeof(err));
    else
        rc = flow_capture_open_file(&cap, file, NULL, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "sipkit flow: %s: %s\n", iface ? iface : file, err);
        return 1;
    }
    fc.cap = cap;
    if (iface) {
        struct sigaction sa;

        setvbuf(stdout, NULL, _IOLBF, 0);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        g_running = cap;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    rc = flow_capture_run(cap, &sink, &ro);
    g_running = NULL;
    print_summary(&fc, flow_capture_stats(cap));
    flow_capture_close(cap);
    if (rc) {
        fprintf(stderr, "sipkit flow: capture failed: %s\n", strerror(rc));
        return 1;
    }
    return 0;
}
