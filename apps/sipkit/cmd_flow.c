/* sipkit flow: read a capture (file or live), list its SIP messages, or analyse its
 * calls, registrations and RTP streams. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "flow/capture.h"
#include "flow/export.h"
#include "flow/model.h"
#include "flow_out.h"

#define FLOW_CMD_WARNINGS_PER_KIND 20 /* shown per kind of problem; all are counted */
#define FLOW_CMD_START_LINE_MAX 160

struct flow_cmd {
    bool messages;
    struct flow_model *model; /* NULL with --messages alone */
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

    if (fc->model) flow_model_feed(fc->model, p);
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
        f,
        "usage: sipkit flow FILE [--messages | --call N|CALL-ID [--mermaid] | --json | "
        "--rtp]\n"
        "                   [--call N|CALL-ID --pcap OUT.pcap]\n"
        "                   [--from S] [--to S] [--call-id S] [--status 4xx|486]\n"
        "                   [--since SEC] [--until SEC]\n"
        "       sipkit flow --live IFACE [--filter BPF] [--count N] [--seconds S] [...]\n"
        "  Reads a pcap or pcapng capture ('-' = stdin), or captures live, and finds\n"
        "  SIP in it: UDP (IP fragments reassembled), TCP (streams reassembled),\n"
        "  WebSocket, HEP v3, on any port; and the RTP/RTCP of its calls.\n"
        "  (default)    a table of the calls, registrations and other requests: number,\n"
        "               Call-ID, from, to, start, setup time, duration, status, RTP\n"
        "               streams and a verdict\n"
        "  --call N|ID  one call (number from the table, or a Call-ID): its ladder,\n"
        "               findings and RTP streams; colour when stdout is a terminal\n"
        "  --mermaid    with --call: a Mermaid sequenceDiagram (for GitHub markdown)\n"
        "  --pcap OUT   with --call: write the call's frames (its SIP messages with\n"
        "               every fragment and TCP segment, its RTP and RTCP) to a new\n"
        "               pcap file, as captured; not with --live or stdin\n"
        "  --json       calls, registrations, transactions, streams, findings as JSON\n"
        "  --rtp        the RTP streams, laid out like tshark -q -z rtp,streams\n"
        "  --html OUT   one self-contained HTML page: the table, each ladder (the\n"
        "               first 200, or --call's) as SVG, click an arrow for its\n"
        "               message, findings, RTP jitter/loss plots\n"
        "  --messages   list every SIP message: frame (first frame), time from the\n"
        "               first frame, source -> destination, transport, start line\n"
        "  --from S, --to S, --call-id S   items whose From/To user@host or Call-ID\n"
        "               contains S;  --status 486 or 4xx: by final status\n"
        "  --since SEC, --until SEC        items starting in this window (seconds\n"
        "               from the first frame)\n"
        "  --live IFACE capture on IFACE ('any' for all); needs root or CAP_NET_RAW\n"
        "  --filter BPF a capture filter, e.g. 'port 5060'\n"
        "  --count N    stop after N frames;  --seconds S  stop after S seconds\n"
        "  Warnings go to stderr with their frame number. Exit 1 when the capture\n"
        "  cannot be opened or --call names no call, 2 on bad usage.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || end == s || *end || s[0] == '-' ? EINVAL : 0;
}

static int parse_seconds(const char *s, double *v)
{
    char *end;

    errno = 0;
    *v = strtod(s, &end);
    return errno || end == s || *end || *v < 0 ? EINVAL : 0;
}

/* "486" or "4xx" */
static int parse_status(const char *s, struct flow_filter *f)
{
    uint64_t v;

    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '6' && (s[1] == 'x' || s[1] == 'X') &&
        (s[2] == 'x' || s[2] == 'X')) {
        f->status_class = s[0] - '0';
        return 0;
    }
    if (parse_u64(s, &v) || v < 100 || v > 699) return EINVAL;
    f->status = (int) v;
    return 0;
}

/* --call N (a table number) or a Call-ID (exact, else the only one containing it) */
static int find_call(const struct flow_model *m, const char *arg, size_t *index)
{
    size_t n, hits = 0;
    const struct flow_item *items = flow_model_items(m, &n);
    uint64_t v;
    int32_t i;

    if (parse_u64(arg, &v) == 0 && v >= 1 && v <= n) {
        *index = (size_t) v - 1;
        return 0;
    }
    i = flow_model_find_call_id(m, arg);
    if (i >= 0) {
        *index = (size_t) i;
        return 0;
    }
    for (size_t k = 0; k < n; k++)
        if (strstr(items[k].call_id, arg)) {
            *index = k;
            hits++;
        }
    return hits == 1 ? 0 : ENOENT;
}

/* --pcap: write the call's frames; 0 or 1 (the message on stderr) */
static int flow_cmd_export(const struct flow_model *m, size_t index, const char *in,
                           const char *out)
{
    struct flow_export_counts n;
    char err[512] = "";

    if (flow_export_pcap(m, index, in, out, &n, err, sizeof(err))) {
        fprintf(stderr, "sipkit flow: --pcap: %s\n", err);
        return 1;
    }
    printf("wrote %" PRIu64 " frames of call %zu to %s: %" PRIu64
           " SIP messages, %" PRIu64 " RTP and %" PRIu64 " RTCP packets\n",
           n.frames, index + 1, out, n.sip, n.rtp, n.rtcp);
    return 0;
}

enum flow_view { VIEW_TABLE, VIEW_MESSAGES, VIEW_CALL, VIEW_JSON, VIEW_RTP, VIEW_HTML };

static const char *const VALUE_OPTS[] = {
    "--live",    "--filter", "--count", "--seconds", "--call", "--from", "--to",
    "--call-id", "--status", "--since", "--until",   "--pcap", NULL};

static bool takes_value(const char *a)
{
    for (size_t i = 0; VALUE_OPTS[i]; i++)
        if (strcmp(a, VALUE_OPTS[i]) == 0) return true;
    return false;
}

/* --html OUT [--call N]: the page, and one line saying what it holds */
static int write_html(const struct flow_model *m, const struct flow_filter *flt,
                      const char *call, uint64_t t0, const char *out, const char *title)
{
    struct flow_html_info info;
    size_t index = 0;
    FILE *o;
    int rc;

    if (call && find_call(m, call, &index)) {
        fprintf(stderr,
                "sipkit flow: no call '%s' (a number from the table, or a Call-ID)\n",
                call);
        return 1;
    }
    o = fopen(out, "w");
    if (!o) {
        fprintf(stderr, "sipkit flow: %s: %s\n", out, strerror(errno));
        return 1;
    }
    rc = flow_out_html(o, m, flt, call ? (long) index : -1, t0, title, &info);
    if (fclose(o) && !rc) rc = EIO;
    if (rc) {
        fprintf(stderr, "sipkit flow: %s: %s\n", out, strerror(rc));
        return 1;
    }
    printf("wrote %s: %zu items, %zu ladders\n", out, info.items, info.ladders);
    if (info.capped)
        fprintf(stderr,
                "sipkit flow: %s: only the first %zu ladders are drawn (a page limit); "
                "--call N or the filters choose others\n",
                out, info.ladders);
    return 0;
}

int cmd_flow(int argc, char **argv)
{
    struct flow_cmd fc = {0};
    struct flow_run_opts ro = {0};
    struct flow_sink sink = {.packet = on_packet, .warning = on_warning, .arg = &fc};
    struct flow_capture *cap = NULL;
    struct flow_filter flt = {0};
    const char *file = NULL, *iface = NULL, *filter = NULL, *call = NULL, *html = NULL;
    const char *pcap_out = NULL;
    bool mermaid = false, json = false, rtp = false;
    enum flow_view view = VIEW_TABLE;
    char err[512] = "";
    int rc, status = 0;
    uint64_t t0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            flow_usage(stdout);
            return 0;
        } else if (strcmp(a, "--messages") == 0) {
            fc.messages = true;
        } else if (strcmp(a, "--mermaid") == 0) {
            mermaid = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--rtp") == 0) {
            rtp = true;
        } else if (strcmp(a, "--html") == 0 && i + 1 < argc) {
            html = argv[++i];
        } else if (takes_value(a) && i + 1 < argc) {
            const char *v = argv[++i];
            int bad = 0;

            if (strcmp(a, "--live") == 0)
                iface = v;
            else if (strcmp(a, "--filter") == 0)
                filter = v;
            else if (strcmp(a, "--call") == 0)
                call = v;
            else if (strcmp(a, "--pcap") == 0)
                pcap_out = v;
            else if (strcmp(a, "--from") == 0)
                flt.from = v;
            else if (strcmp(a, "--to") == 0)
                flt.to = v;
            else if (strcmp(a, "--call-id") == 0)
                flt.call_id = v;
            else if (strcmp(a, "--status") == 0)
                bad = parse_status(v, &flt);
            else if (strcmp(a, "--since") == 0)
                bad = parse_seconds(v, &flt.since), flt.has_since = true;
            else if (strcmp(a, "--until") == 0)
                bad = parse_seconds(v, &flt.until), flt.has_until = true;
            else
                bad = parse_u64(v, strcmp(a, "--count") == 0 ? &ro.max_frames
                                                             : &ro.max_seconds);
            if (bad) {
                fprintf(stderr, "sipkit flow: bad value for %s: '%s'\n", a, v);
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
    if ((int) fc.messages + (call != NULL) + json + rtp > 1 || (mermaid && !call)) {
        fprintf(stderr, "sipkit flow: choose one of --messages, --call (with or without "
                        "--mermaid), --json, --rtp\n");
        return 2;
    }
    if (pcap_out && (!call || mermaid || html || iface || strcmp(file, "-") == 0)) {
        fprintf(stderr, "sipkit flow: --pcap needs --call N|CALL-ID and a capture file "
                        "(not --live, not stdin, not with --mermaid or --html)\n");
        return 2;
    }
    if (html && (fc.messages || json || rtp || mermaid)) {
        fprintf(stderr, "sipkit flow: --html goes with --call and the filters only\n");
        return 2;
    }
    view = fc.messages ? VIEW_MESSAGES
           : call      ? VIEW_CALL
           : json      ? VIEW_JSON
           : rtp       ? VIEW_RTP
                       : VIEW_TABLE;
    if (html) view = VIEW_HTML;
    if (view != VIEW_MESSAGES && flow_model_new(&fc.model, NULL)) {
        fprintf(stderr, "sipkit flow: out of memory\n");
        return 1;
    }
    if (iface)
        rc = flow_capture_open_live(&cap, iface, filter, NULL, err, sizeof(err));
    else
        rc = flow_capture_open_file(&cap, file, NULL, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "sipkit flow: %s: %s\n", iface ? iface : file, err);
        flow_model_free(fc.model);
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
    t0 = flow_capture_stats(cap)->first_ns;
    if (fc.model) flow_model_finish(fc.model);
    switch (view) {
    case VIEW_MESSAGES: print_summary(&fc, flow_capture_stats(cap)); break;
    case VIEW_TABLE:
        flow_out_table(stdout, fc.model, &flt, t0);
        print_summary(&fc, flow_capture_stats(cap));
        break;
    case VIEW_JSON:
        if (flow_out_json(stdout, fc.model, &flt, t0)) {
            fprintf(stderr, "sipkit flow: out of memory\n");
            status = 1;
        }
        break;
    case VIEW_RTP: flow_out_rtp(stdout, fc.model, &flt, t0); break;
    case VIEW_HTML:
        status = write_html(fc.model, &flt, call, t0, html, file ? file : iface);
        break;
    case VIEW_CALL: {
        size_t index;
        if (find_call(fc.model, call, &index)) {
            fprintf(stderr,
                    "sipkit flow: no call '%s' (a number from the table, or a "
                    "Call-ID)\n",
                    call);
            status = 1;
        } else if (pcap_out) {
            status = flow_cmd_export(fc.model, index, file, pcap_out);
        } else if (mermaid) {
            flow_out_mermaid(stdout, fc.model, index, t0);
        } else {
            flow_out_ladder(stdout, fc.model, index, t0, isatty(STDOUT_FILENO) == 1);
        }
        break;
    }
    }
    flow_capture_close(cap);
    flow_model_free(fc.model);
    if (rc) {
        fprintf(stderr, "sipkit flow: capture failed: %s\n", strerror(rc));
        return 1;
    }
    return status;
}
