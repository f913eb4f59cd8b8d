/* Text outputs of `sipkit flow`: the call table, terminal ladders, Mermaid sequence
 * diagrams, the JSON document and the RTP stream table. */
#include "flow_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define LADDER_COL_W 24   /* characters per participant column */
#define LADDER_MAX_COLS 8 /* participants drawn; more are listed as text */
#define LADDER_LINE_MAX (LADDER_MAX_COLS * LADDER_COL_W + 1)

#define FLOW_OUT_JSON_FLUSH (64u * 1024) /* JSON bytes buffered before writing */

static double rel_s(uint64_t ns, uint64_t t0)
{
    return ns >= t0 ? (double) (ns - t0) / 1e9 : -(double) (t0 - ns) / 1e9;
}

static double ms_between(uint64_t a, uint64_t b)
{
    return (double) (b - a) / 1e6;
}

/* ---- filters ---- */

bool flow_filter_active(const struct flow_filter *f)
{
    return f->from || f->to || f->call_id || f->status || f->status_class ||
           f->has_since || f->has_until;
}

bool flow_filter_match(const struct flow_filter *f, const struct flow_item *it,
                       uint64_t t0)
{
    double start = rel_s(it->start_ns, t0);

    if (f->from && !strstr(it->from, f->from)) return false;
    if (f->to && !strstr(it->to, f->to)) return false;
    if (f->call_id && !strstr(it->call_id, f->call_id)) return false;
    if (f->status && it->final_status != f->status) return false;
    if (f->status_class && it->final_status / 100 != f->status_class) return false;
    if (f->has_since && start < f->since) return false;
    if (f->has_until && start > f->until) return false;
    return true;
}

/* ---- verdict ---- */

/* The verdict from the item's findings (fd, nf: flow_diagnose's) */
static void verdict_of(const struct flow_model *m, size_t index,
                       const struct flow_finding *fd, size_t nf, char *buf, size_t size)
{
    size_t n;
    const struct flow_item *it = &flow_model_items(m, &n)[index];

    if (nf) {
        snprintf(buf, size, "%s", fd[0].summary);
    } else if (it->final_status >= 200 && it->final_status < 300) {
        if (it->kind == FLOW_ITEM_CALL && it->ended == FLOW_END_NONE)
            snprintf(buf, size, "ok (no BYE in the capture)");
        else if (it->kind == FLOW_ITEM_REGISTRATION && it->expires == 0)
            snprintf(buf, size, "ok (unregistered)");
        else if (it->kind == FLOW_ITEM_REGISTRATION && it->expires > 0)
            snprintf(buf, size, "ok (expires %" PRId64 " s)", it->expires);
        else
            snprintf(buf, size, "ok");
    } else if (it->kind == FLOW_ITEM_CALL && it->ended != FLOW_END_NONE) {
        snprintf(buf, size, "ended (%s)", flow_end_name(it->ended));
    } else if (it->final_status == 0 && it->kind == FLOW_ITEM_OTHER &&
               strcmp(it->method_name, "ACK") == 0) {
        snprintf(buf, size, "ACK only");
    } else {
        snprintf(buf, size, "no final response");
    }
}

void flow_verdict(const struct flow_model *m, size_t index, char *buf, size_t size)
{
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    size_t nf = flow_diagnose(m, index, fd, FLOW_MAX_FINDINGS);

    verdict_of(m, index, fd, nf, buf, size);
}

/* ---- the table ---- */

static void fit(char *dst, size_t w, const char *s)
{
    size_t n = strlen(s);

    if (n <= w) {
        memcpy(dst, s, n + 1);
        return;
    }
    memcpy(dst, s, w - 1);
    dst[w - 1] = '~'; /* cut */
    dst[w] = '\0';
}

void flow_out_table(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                    uint64_t t0)
{
    size_t n, shown = 0;
    const struct flow_item *items = flow_model_items(m, &n);

    fprintf(o, "%4s %-9s %-20s %-24s %-24s %9s %9s %9s %6s %3s  %s\n", "#", "type",
            "Call-ID", "from", "to", "start", "setup", "duration", "status", "rtp",
            "verdict");
    for (size_t i = 0; i < n; i++) {
        const struct flow_item *it = &items[i];
        char cid[21], from[25], to[25], setup[16] = "-", dur[16] = "-", st[8] = "-";
        char verdict[128];

        if (!flow_filter_match(f, it, t0)) continue;
        shown++;
        fit(cid, 20, it->call_id);
        fit(from, 24, it->from);
        fit(to, 24, it->to);
        if (it->kind == FLOW_ITEM_CALL && it->answer_ns)
            snprintf(setup, sizeof(setup), "%.3fs",
                     ms_between(it->start_ns, it->answer_ns) / 1e3);
        if (it->kind == FLOW_ITEM_CALL && it->answer_ns) {
            uint64_t end = it->end_ns                        ? it->end_ns
                           : it->media_last_ns > it->last_ns ? it->media_last_ns
                                                             : it->last_ns;
            snprintf(dur, sizeof(dur), "%s%.1fs", it->end_ns ? "" : ">",
                     end > it->answer_ns ? ms_between(it->answer_ns, end) / 1e3 : 0.0);
        }
        if (it->final_status) snprintf(st, sizeof(st), "%d", it->final_status);
        flow_verdict(m, i, verdict, sizeof(verdict));
        fprintf(o, "%4zu %-9.9s %-20s %-24s %-24s %9.3f %9s %9s %6s %3u  %s\n", i + 1,
                it->kind == FLOW_ITEM_CALL           ? "call"
                : it->kind == FLOW_ITEM_REGISTRATION ? "reg"
                                                     : it->method_name,
                cid, from, to, rel_s(it->start_ns, t0), setup, dur, st, it->streams,
                verdict);
    }
    if (!shown)
        fprintf(o, "(no calls, registrations or requests%s)\n",
                flow_filter_active(f) ? " match the filters" : "");
    if (flow_model_counts(m)->sip_lenient)
        fprintf(o,
                "(%" PRIu64 " SIP messages are not valid SIP and were read leniently; "
                "sipkit lint says what is wrong)\n",
                flow_model_counts(m)->sip_lenient);
    if (flow_model_counts(m)->sip_bad)
        fprintf(o,
                "(%" PRIu64 " SIP messages did not parse and are left out; sipkit lint "
                "says why)\n",
                flow_model_counts(m)->sip_bad);
}

/* ---- participants of an item ---- */

struct parts {
    struct sk_sa a[LADDER_MAX_COLS * 4];
    size_t n;
};

static int part_index(struct parts *p, const struct sk_sa *a)
{
    for (size_t i = 0; i < p->n; i++)
        if (sk_sa_equal(&p->a[i], a)) return (int) i;
    if (p->n == sizeof(p->a) / sizeof(p->a[0])) return -1;
    p->a[p->n] = *a;
    return (int) p->n++;
}

static void parts_of(const struct flow_model *m, size_t index, struct parts *p)
{
    size_t n;
    const struct flow_msg *msgs = flow_model_msgs(m, &n);

    p->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].item != (int32_t) index) continue;
        part_index(p, &msgs[i].src);
        part_index(p, &msgs[i].dst);
    }
}

static void msg_label(const struct flow_msg *g, char *buf, size_t size)
{
    if (g->request)
        snprintf(buf, size, "%s%s", g->method_name, g->has_sdp ? " (SDP)" : "");
    else
        snprintf(buf, size, "%d %s%s", g->status, g->reason, g->has_sdp ? " (SDP)" : "");
}

static void sdp_text(const struct flow_sdp *s, char *buf, size_t size)
{
    if (s->bad)
        snprintf(buf, size, "SDP (unparsable)");
    else
        snprintf(buf, size, "SDP %s %s %s:%u %s [%s]", s->offer ? "offer" : "answer",
                 s->codec[0] ? s->codec : "-", s->addr, s->port, sdp_dir_name(s->dir),
                 s->pts);
}

static void stream_line(FILE *o, const struct flow_stream *s, uint64_t t0)
{
    struct flow_stream_figures f;
    char src[64], dst[64];

    flow_stream_figures(s, &f);
    fprintf(o,
            "  RTP %s -> %s SSRC 0x%08X %s: %" PRIu64 " packets, lost %" PRId64
            " (%.1f%%), max delta %.3f ms, jitter max %.3f mean %.3f ms",
            sk_sa_str(&s->src, src, sizeof(src)), sk_sa_str(&s->dst, dst, sizeof(dst)),
            s->ssrc, s->payloads, f.packets, f.lost, f.loss_pct, f.max_delta_ms,
            f.max_jitter_ms, f.mean_jitter_ms);
    if (f.has_mos) fprintf(o, ", MOS %.2f", f.mos);
    fprintf(o, ", from %.3f to %.3f s", rel_s(s->first_ns, t0), rel_s(s->last_ns, t0));
    if (f.duplicates || f.out_of_order)
        fprintf(o, ", %" PRIu64 " duplicates, %" PRIu64 " out of order", f.duplicates,
                f.out_of_order);
    if (s->digits[0]) fprintf(o, ", DTMF \"%s\"", s->digits);
    if (s->rtcp_sr)
        fprintf(o, ", RTCP SR %" PRIu64 " (sent %u)", s->rtcp_sr, s->sr_packets);
    if (s->has_rr)
        fprintf(o, ", RTCP RR: lost %d, jitter %.3f ms", s->rr_cum_lost, s->rr_jitter_ms);
    if (s->has_rtt) fprintf(o, ", RTT %.1f ms", s->rtt_ms);
    fputc('\n', o);
}

static void item_header(FILE *o, const struct flow_model *m, size_t index, uint64_t t0)
{
    size_t n;
    const struct flow_item *it = &flow_model_items(m, &n)[index];
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    size_t nf = flow_diagnose(m, index, fd, FLOW_MAX_FINDINGS);
    char verdict[128];

    flow_verdict(m, index, verdict, sizeof(verdict));
    fprintf(o, "%s %zu: Call-ID %s\n  %s -> %s, %s at %.3f s",
            flow_item_kind_name(it->kind), index + 1, it->call_id, it->from, it->to,
            it->method_name, rel_s(it->start_ns, t0));
    if (it->kind == FLOW_ITEM_CALL) {
        if (it->ringing_ns)
            fprintf(o, ", ringing after %.0f ms",
                    ms_between(it->start_ns, it->ringing_ns));
        if (it->answer_ns)
            fprintf(o, ", answered after %.0f ms",
                    ms_between(it->start_ns, it->answer_ns));
        if (it->ended == FLOW_END_CALLER_BYE || it->ended == FLOW_END_CALLEE_BYE)
            fprintf(o, ", ended by %s at %.3f s", flow_end_name(it->ended),
                    rel_s(it->end_ns, t0));
        else if (it->ended != FLOW_END_NONE)
            fprintf(o, ", %s at %.3f s",
                    it->ended == FLOW_END_CANCEL ? "cancelled" : "rejected",
                    rel_s(it->end_ns, t0));
        if (it->answer_ns && it->end_ns)
            fprintf(o, " (%.1f s)", ms_between(it->answer_ns, it->end_ns) / 1e3);
        if (it->hops > 1) fprintf(o, ", %u hops", it->hops);
        if (it->forks) fprintf(o, ", %u forks answered", it->forks);
        if (it->reinvites) fprintf(o, ", %u re-INVITEs", it->reinvites);
    }
    if (it->challenges) fprintf(o, ", %u challenges", it->challenges);
    if (it->retrans) fprintf(o, ", %u retransmissions", it->retrans);
    fprintf(o, "\n  verdict: %s\n", verdict);
    for (size_t i = 0; i < nf; i++) {
        fprintf(o, "  - %s: %s\n    fix: %s\n    frames:", fd[i].code, fd[i].detail,
                fd[i].fix);
        for (unsigned k = 0; k < fd[i].nframes; k++)
            fprintf(o, " %" PRIu64, fd[i].frames[k]);
        fputc('\n', o);
    }
}

/* ---- the ladder ---- */

#define COL_RESET "\033[0m"

static const char *msg_colour(const struct flow_msg *g)
{
    if (g->retrans) return "\033[35m";      /* magenta */
    if (g->request) return "\033[36m";      /* cyan */
    if (g->status < 200) return "\033[33m"; /* yellow */
    if (g->status < 300) return "\033[32m"; /* green */
    return "\033[31m";                      /* red */
}

void flow_out_ladder(FILE *o, const struct flow_model *m, size_t index, uint64_t t0,
                     bool colour)
{
    size_t n, ns;
    const struct flow_msg *msgs = flow_model_msgs(m, &n);
    const struct flow_stream *streams = flow_model_streams(m, &ns);
    struct parts p;
    size_t cols, width;
    char line[LADDER_LINE_MAX];
    uint64_t first = 0;

    item_header(o, m, index, t0);
    parts_of(m, index, &p);
    cols = p.n < LADDER_MAX_COLS ? p.n : LADDER_MAX_COLS;
    width = cols * LADDER_COL_W;
    fprintf(o, "\n%10s %7s ", "time", "frame");
    for (size_t c = 0; c < cols; c++) {
        char name[64];
        sk_sa_str(&p.a[c], name, sizeof(name));
        fprintf(o, "%-*.*s", LADDER_COL_W, LADDER_COL_W - 1, name);
    }
    fputc('\n', o);
    for (size_t i = 0; i < n; i++) {
        const struct flow_msg *g = &msgs[i];
        int a, b;
        size_t ca, cb, lo, hi;
        char label[96];
        const struct flow_sdp *sd;

        if (g->item != (int32_t) index) continue;
        if (!first) first = g->ts_ns;
        a = part_index(&p, &g->src);
        b = part_index(&p, &g->dst);
        memset(line, ' ', width);
        line[width] = '\0';
        for (size_t c = 0; c < cols; c++)
            line[c * LADDER_COL_W + LADDER_COL_W / 2] = '|';
        msg_label(g, label, sizeof(label));
        if (a < 0 || b < 0 || (size_t) a >= cols || (size_t) b >= cols || a == b) {
            /* beyond the drawn columns: say it in words */
            char src[64], dst[64];
            fprintf(o, "%10.6f %7" PRIu64 " %s -> %s %s%s\n", rel_s(g->ts_ns, t0),
                    g->frame, sk_sa_str(&g->src, src, sizeof(src)),
                    sk_sa_str(&g->dst, dst, sizeof(dst)), label,
                    g->retrans ? " (retransmission)" : "");
            continue;
        }
        ca = (size_t) a * LADDER_COL_W + LADDER_COL_W / 2;
        cb = (size_t) b * LADDER_COL_W + LADDER_COL_W / 2;
        lo = ca < cb ? ca : cb;
        hi = ca < cb ? cb : ca;
        for (size_t k = lo + 1; k < hi; k++)
            line[k] = '-';
        line[ca < cb ? hi - 1 : lo + 1] = ca < cb ? '>' : '<';
        {
            /* the label between the arrow's ends, a dash clear of each */
            size_t room = hi - lo - 5, len = strlen(label);
            if (len > room) len = room;
            memcpy(line + lo + 3 + (room - len) / 2, label, len);
        }
        fprintf(o, "%10.6f %7" PRIu64 " ", rel_s(g->ts_ns, t0), g->frame);
        if (colour) {
            fwrite(line, 1, lo + 1, o);
            fputs(msg_colour(g), o);
            fwrite(line + lo + 1, 1, hi - lo - 1, o);
            fputs(COL_RESET, o);
            fputs(line + hi, o);
        } else {
            fputs(line, o);
        }
        /* trailing notes */
        if (g->retrans)
            fputs(colour ? " \033[35m(retransmission)" COL_RESET : " (retransmission)",
                  o);
        sd = flow_model_sdp(m, g->sdp);
        if (sd) {
            char t[160];
            sdp_text(sd, t, sizeof(t));
            fprintf(o, " %s", t);
        }
        fputc('\n', o);
    }
    if (p.n > cols) fprintf(o, "(%zu more participants listed in words)\n", p.n - cols);
    for (size_t i = 0, k = 0; i < ns; i++)
        if (streams[i].item == (int32_t) index) {
            if (!k++) fputs("\nmedia:\n", o);
            stream_line(o, &streams[i], t0);
        }
}

/* ---- Mermaid ---- */

/* Mermaid sequence text. ';' ends a statement, '#' starts an entity code, "%%" a
 * comment, and quotes, '<' '>' '&' are markup; Mermaid's own entity codes (#quot;,
 * #59;...) keep each of them as text, so a reason phrase reads as it was sent (the
 * tests render it with the Mermaid CLI). Controls and non-ASCII bytes become spaces. */
static void mermaid_text(FILE *o, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"')
            fputs("#quot;", o);
        else if (c == '<')
            fputs("#lt;", o);
        else if (c == '>')
            fputs("#gt;", o);
        else if (c == '&')
            fputs("#amp;", o);
        else if (strchr(";#%'`{}|\\", c))
            fprintf(o, "#%d;", c);
        else if (c < 0x20 || c >= 0x7f)
            fputc(' ', o);
        else
            fputc(c, o);
    }
}

void flow_out_mermaid(FILE *o, const struct flow_model *m, size_t index, uint64_t t0)
{
    size_t n, ns, ni;
    const struct flow_msg *msgs = flow_model_msgs(m, &n);
    const struct flow_stream *streams = flow_model_streams(m, &ns);
    const struct flow_item *it = &flow_model_items(m, &ni)[index];
    struct parts p;
    char verdict[128];

    parts_of(m, index, &p);
    flow_verdict(m, index, verdict, sizeof(verdict));
    /* a fenced block: pasted as it is, GitHub and GitLab markdown draw it */
    fputs("```mermaid\nsequenceDiagram\n", o);
    for (size_t c = 0; c < p.n; c++) {
        char name[64];
        fprintf(o, "    participant P%zu as ", c + 1);
        mermaid_text(o, sk_sa_str(&p.a[c], name, sizeof(name)));
        fputc('\n', o);
    }
    for (size_t i = 0; i < n; i++) {
        const struct flow_msg *g = &msgs[i];
        int a, b;
        char label[160];
        const struct flow_sdp *sd;

        if (g->item != (int32_t) index) continue;
        a = part_index(&p, &g->src);
        b = part_index(&p, &g->dst);
        if (a < 0 || b < 0) continue;
        msg_label(g, label, sizeof(label));
        fprintf(o, "    P%d->>P%d: ", a + 1, b + 1);
        fprintf(o, "%.3f ", rel_s(g->ts_ns, t0));
        mermaid_text(o, label);
        if (g->retrans) fputs(" (retransmission)", o);
        fputc('\n', o);
        sd = flow_model_sdp(m, g->sdp);
        if (sd) {
            sdp_text(sd, label, sizeof(label));
            if (a == b)
                fprintf(o, "    Note over P%d: ", a + 1);
            else
                fprintf(o, "    Note over P%d,P%d: ", a + 1, b + 1);
            mermaid_text(o, label);
            fputc('\n', o);
        }
    }
    for (size_t i = 0; i < ns; i++) {
        const struct flow_stream *s = &streams[i];
        struct flow_stream_figures f;
        char src[64], dst[64], text[256];

        if (s->item != (int32_t) index || !p.n) continue;
        flow_stream_figures(s, &f);
        snprintf(text, sizeof(text),
                 "RTP %s to %s %s, %" PRIu64 " packets, lost %" PRId64
                 " (%.1f%%), max jitter %.2f ms",
                 sk_sa_str(&s->src, src, sizeof(src)),
                 sk_sa_str(&s->dst, dst, sizeof(dst)), s->payloads, f.packets, f.lost,
                 f.loss_pct, f.max_jitter_ms);
        if (p.n > 1)
            fprintf(o, "    Note over P1,P%zu: ", p.n);
        else
            fputs("    Note over P1: ", o);
        mermaid_text(o, text);
        fputc('\n', o);
    }
    if (p.n) {
        fprintf(o, "    Note over P1%s: ", p.n > 1 ? ",P2" : "");
        mermaid_text(o, "verdict: ");
        mermaid_text(o, verdict);
        fputc('\n', o);
    }
    fputs("```\n", o);
    (void) it;
}

/* ---- JSON ---- */

static void json_sa(struct sk_json *j, const char *key, const struct sk_sa *a)
{
    char buf[64];
    sk_json_kcstr(j, key, sk_sa_str(a, buf, sizeof(buf)));
}

static void json_time(struct sk_json *j, const char *key, uint64_t ns, uint64_t t0)
{
    if (ns)
        sk_json_kdouble(j, key, rel_s(ns, t0), 6);
    else {
        sk_json_key(j, key);
        sk_json_null(j);
    }
}

static void json_findings(struct sk_json *j, const struct flow_finding *fd, size_t nf,
                          long item)
{
    static const char *const SEV[] = {"info", "warning", "error"};

    for (size_t i = 0; i < nf; i++) {
        sk_json_obj_begin(j);
        if (item >= 0) sk_json_kint(j, "item", item);
        sk_json_kcstr(j, "severity", SEV[fd[i].severity]);
        sk_json_kcstr(j, "code", fd[i].code);
        sk_json_kcstr(j, "summary", fd[i].summary);
        sk_json_kcstr(j, "detail", fd[i].detail);
        sk_json_kcstr(j, "fix", fd[i].fix);
        sk_json_key(j, "frames");
        sk_json_arr_begin(j);
        for (unsigned k = 0; k < fd[i].nframes; k++)
            sk_json_int(j, (int64_t) fd[i].frames[k]);
        sk_json_arr_end(j);
        sk_json_obj_end(j);
    }
}

static void json_item(struct sk_json *j, const struct flow_model *m, size_t index,
                      uint64_t t0, const struct flow_finding *fd, size_t nf)
{
    size_t n, ns;
    const struct flow_item *it = &flow_model_items(m, &n)[index];
    const struct flow_stream *streams = flow_model_streams(m, &ns);
    char verdict[128];

    verdict_of(m, index, fd, nf, verdict, sizeof(verdict));
    sk_json_obj_begin(j);
    sk_json_kint(j, "number", (int64_t) index + 1);
    sk_json_kcstr(j, "kind", flow_item_kind_name(it->kind));
    sk_json_kcstr(j, "call_id", it->call_id);
    sk_json_kcstr(j, "method", it->method_name);
    sk_json_kcstr(j, "from", it->from);
    sk_json_kcstr(j, "to", it->to);
    sk_json_kcstr(j, "from_tag", it->from_tag);
    json_sa(j, "caller", &it->caller);
    sk_json_kint(j, "first_frame", (int64_t) it->first_frame);
    json_time(j, "start", it->start_ns, t0);
    json_time(j, "last", it->last_ns, t0);
    sk_json_kint(j, "messages", it->messages);
    if (it->kind == FLOW_ITEM_CALL) {
        json_time(j, "ringing", it->ringing_ns, t0);
        json_time(j, "answered", it->answer_ns, t0);
        json_time(j, "ended", it->end_ns, t0);
        if (it->ringing_ns)
            sk_json_kdouble(j, "ringing_after_ms",
                            ms_between(it->start_ns, it->ringing_ns), 3);
        if (it->answer_ns)
            sk_json_kdouble(j, "setup_ms", ms_between(it->start_ns, it->answer_ns), 3);
        if (it->answer_ns && it->end_ns && it->end_ns >= it->answer_ns)
            sk_json_kdouble(j, "duration_s", ms_between(it->answer_ns, it->end_ns) / 1e3,
                            3);
        sk_json_kcstr(j, "ended_by", flow_end_name(it->ended));
        sk_json_kint(j, "end_frame", (int64_t) it->end_frame);
        sk_json_kbool(j, "cancelled", it->cancelled);
        sk_json_kint(j, "reinvites", it->reinvites);
        sk_json_kint(j, "hops", it->hops);
        /* the initial INVITE hop by hop (through proxies: one transaction each) */
        sk_json_key(j, "legs");
        sk_json_arr_begin(j);
        {
            size_t nt;
            const struct flow_txn *t = flow_model_txns(m, &nt);
            (void) nt;
            for (int32_t i = it->first_txn; i >= 0; i = t[i].next_in_item) {
                if (t[i].item != (int32_t) index || t[i].method != SIP_METHOD_INVITE ||
                    t[i].cseq != it->invite_cseq)
                    continue;
                sk_json_obj_begin(j);
                json_sa(j, "from", &t[i].client);
                json_sa(j, "to", &t[i].server);
                sk_json_kint(j, "first_frame", (int64_t) t[i].first_frame);
                if (t[i].final_status)
                    sk_json_kint(j, "final_status", t[i].final_status);
                else {
                    sk_json_key(j, "final_status");
                    sk_json_null(j);
                }
                sk_json_obj_end(j);
            }
        }
        sk_json_arr_end(j);
        sk_json_kint(j, "forks", it->forks);
        sk_json_key(j, "dialogs");
        sk_json_arr_begin(j);
        for (unsigned d = 0; d < it->ndialogs; d++) {
            sk_json_obj_begin(j);
            sk_json_kcstr(j, "from_tag", it->from_tag);
            sk_json_kcstr(j, "to_tag", it->dialog[d].to_tag);
            sk_json_kint(j, "status", it->dialog[d].status);
            sk_json_kcstr(j, "state",
                          it->dialog[d].status >= 200 && it->dialog[d].status < 300
                              ? "confirmed"
                          : it->dialog[d].status < 200 ? "early"
                                                       : "terminated");
            sk_json_kint(j, "frame", (int64_t) it->dialog[d].frame);
            sk_json_obj_end(j);
        }
        sk_json_arr_end(j);
    }
    if (it->kind == FLOW_ITEM_REGISTRATION) sk_json_kint(j, "expires", it->expires);
    if (it->final_status) {
        sk_json_kint(j, "final_status", it->final_status);
        sk_json_kcstr(j, "final_reason", it->final_reason);
        sk_json_kint(j, "final_frame", (int64_t) it->final_frame);
    } else {
        sk_json_key(j, "final_status");
        sk_json_null(j);
    }
    sk_json_kint(j, "challenges", it->challenges);
    sk_json_kint(j, "retransmissions", it->retrans);
    sk_json_key(j, "streams");
    sk_json_arr_begin(j);
    (void) ns;
    for (int32_t i = it->first_stream; i >= 0; i = streams[i].next_in_item)
        sk_json_int(j, (int64_t) i + 1);
    sk_json_arr_end(j);
    sk_json_kcstr(j, "verdict", verdict);
    sk_json_key(j, "findings");
    sk_json_arr_begin(j);
    json_findings(j, fd, nf, -1);
    sk_json_arr_end(j);
    sk_json_obj_end(j);
}

static void json_stream(struct sk_json *j, const struct flow_stream *s, size_t index,
                        uint64_t t0)
{
    struct flow_stream_figures f;

    flow_stream_figures(s, &f);
    sk_json_obj_begin(j);
    sk_json_kint(j, "number", (int64_t) index + 1);
    if (s->item >= 0)
        sk_json_kint(j, "item", s->item + 1);
    else {
        sk_json_key(j, "item");
        sk_json_null(j);
    }
    sk_json_kbool(j, "from_sdp", s->from_sdp);
    json_sa(j, "src", &s->src);
    json_sa(j, "dst", &s->dst);
    {
        char ssrc[16];
        snprintf(ssrc, sizeof(ssrc), "0x%08X", s->ssrc);
        sk_json_kcstr(j, "ssrc", ssrc);
    }
    sk_json_kint(j, "segment", s->segment);
    sk_json_kint(j, "pt", s->pt);
    sk_json_kcstr(j, "codec", s->codec);
    sk_json_kint(j, "clock_rate", s->clock);
    sk_json_kcstr(j, "payloads", s->payloads);
    sk_json_kint(j, "first_frame", (int64_t) s->first_frame);
    json_time(j, "start", s->first_ns, t0);
    json_time(j, "end", s->last_ns, t0);
    sk_json_kint(j, "packets", (int64_t) f.packets);
    sk_json_kint(j, "expected", f.expected);
    sk_json_kint(j, "lost", f.lost);
    sk_json_kint(j, "lost_rfc3550", f.lost_raw);
    sk_json_kdouble(j, "loss_pct", f.loss_pct, 2);
    sk_json_kint(j, "duplicates", (int64_t) f.duplicates);
    sk_json_kint(j, "out_of_order", (int64_t) f.out_of_order);
    sk_json_kdouble(j, "max_delta_ms", f.max_delta_ms, 3);
    sk_json_kdouble(j, "jitter_ms", f.jitter_ms, 3);
    sk_json_kdouble(j, "max_jitter_ms", f.max_jitter_ms, 3);
    sk_json_kdouble(j, "mean_jitter_ms", f.mean_jitter_ms, 3);
    sk_json_kint(j, "telephone_events", (int64_t) s->events);
    sk_json_kcstr(j, "dtmf", s->digits);
    if (f.has_mos) {
        sk_json_key(j, "mos");
        sk_json_obj_begin(j);
        sk_json_kdouble(j, "mos", f.mos, 2);
        sk_json_kdouble(j, "r", f.r, 1);
        sk_json_kcstr(j, "model", "G.107 E-model, G.711 with PLC (Bpl 25.1), BurstR 1");
        sk_json_kdouble(j, "delay_ms", f.delay_ms, 1);
        sk_json_kcstr(j, "delay_from", s->has_rtt ? "RTCP RTT/2" : "none (0)");
        sk_json_obj_end(j);
    }
    if (s->rtcp_sr || s->has_rr) {
        sk_json_key(j, "rtcp");
        sk_json_obj_begin(j);
        sk_json_kint(j, "sr", (int64_t) s->rtcp_sr);
        if (s->rtcp_sr) {
            sk_json_kint(j, "sr_packets", s->sr_packets);
            sk_json_kint(j, "sr_octets", s->sr_octets);
        }
        sk_json_kint(j, "rr", (int64_t) s->rtcp_rr);
        if (s->has_rr) {
            sk_json_kdouble(j, "rr_fraction_lost", s->rr_fraction / 256.0, 3);
            sk_json_kint(j, "rr_cumulative_lost", s->rr_cum_lost);
            sk_json_kdouble(j, "rr_jitter_ms", s->rr_jitter_ms, 3);
        }
        if (s->has_rtt) sk_json_kdouble(j, "rtt_ms", s->rtt_ms, 3);
        sk_json_obj_end(j);
    }
    sk_json_obj_end(j);
}

/* ICMP destination unreachable errors and DNS lookups (whole capture, unfiltered:
 * they belong to no call by themselves). */
static void json_net(struct sk_json *j, const struct flow_model *m, uint64_t t0)
{
    size_t nu, nq;
    const struct flow_unreach *u = flow_model_unreach(m, &nu);
    const struct flow_dns *q = flow_model_dns(m, &nq);
    char qt[64];

    sk_json_key(j, "icmp_unreachable");
    sk_json_arr_begin(j);
    for (size_t i = 0; i < nu; i++) {
        sk_json_obj_begin(j);
        sk_json_kint(j, "frame", (int64_t) u[i].frame);
        json_time(j, "time", u[i].ts_ns, t0);
        sk_json_kcstr(j, "reporter", sk_sa_ip(&u[i].reporter, qt, sizeof(qt)) ? qt : "");
        json_sa(j, "src", &u[i].src);
        json_sa(j, "dst", &u[i].dst);
        sk_json_kint(j, "protocol", u[i].proto);
        sk_json_kbool(j, "port_unreachable", u[i].port);
        sk_json_kint(j, "count", u[i].count);
        sk_json_obj_end(j);
    }
    sk_json_arr_end(j);
    sk_json_key(j, "dns");
    sk_json_arr_begin(j);
    for (size_t i = 0; i < nq; i++) {
        sk_json_obj_begin(j);
        sk_json_kint(j, "frame", (int64_t) q[i].frame);
        json_time(j, "time", q[i].ts_ns, t0);
        json_sa(j, "client", &q[i].client);
        json_sa(j, "server", &q[i].server);
        sk_json_kcstr(j, "name", q[i].name);
        sk_json_kcstr(j, "type", flow_dns_qtype_name(q[i].qtype, qt, sizeof(qt)));
        sk_json_kcstr(j, "rcode", flow_dns_rcode_name(q[i].rcode));
        sk_json_kint(j, "answers", q[i].answers);
        sk_json_kint(j, "retries", q[i].retries);
        if (q[i].reply_frame) {
            sk_json_kint(j, "reply_frame", (int64_t) q[i].reply_frame);
            sk_json_kdouble(j, "took_s", (double) (q[i].reply_ns - q[i].ts_ns) / 1e9, 6);
        }
        sk_json_obj_end(j);
    }
    sk_json_arr_end(j);
}

static void json_txn(struct sk_json *j, const struct flow_txn *t, uint64_t t0)
{
    sk_json_obj_begin(j);
    sk_json_kcstr(j, "method", t->method_name);
    sk_json_kint(j, "cseq", t->cseq);
    if (t->item >= 0)
        sk_json_kint(j, "item", t->item + 1);
    else {
        sk_json_key(j, "item");
        sk_json_null(j);
    }
    json_sa(j, "client", &t->client);
    json_sa(j, "server", &t->server);
    sk_json_kint(j, "first_frame", (int64_t) t->first_frame);
    json_time(j, "start", t->first_ns, t0);
    if (t->final_status) {
        sk_json_kint(j, "final_status", t->final_status);
        sk_json_kint(j, "final_frame", (int64_t) t->final_frame);
        sk_json_kdouble(j, "response_ms", ms_between(t->first_ns, t->final_ns), 3);
    } else {
        sk_json_key(j, "final_status");
        sk_json_null(j);
    }
    sk_json_kint(j, "requests", t->requests);
    sk_json_kint(j, "responses", t->responses);
    sk_json_key(j, "retransmissions");
    sk_json_obj_begin(j);
    sk_json_kint(j, "client", t->req_retrans);
    sk_json_kint(j, "server", t->resp_retrans);
    sk_json_obj_end(j);
    sk_json_kbool(j, "rfc2543", t->rfc2543);
    if (t->method == SIP_METHOD_INVITE) sk_json_kbool(j, "acked", t->acked);
    sk_json_kbool(j, "credentials", t->has_auth);
    sk_json_obj_end(j);
}

static bool item_shown(const struct flow_model *m, const struct flow_filter *f,
                       int32_t item, uint64_t t0)
{
    size_t n;
    const struct flow_item *items = flow_model_items(m, &n);

    if (item < 0) return !flow_filter_active(f);
    return flow_filter_match(f, &items[item], t0);
}

/* The findings of every item shown, computed once: the item's verdict and findings,
 * and the list at the end, all use them. */
struct json_found {
    struct flow_finding *f;
    size_t n, cap;
    size_t *off; /* item i's findings are f[off[i]] .. f[off[i + 1]] */
};

static int found_fill(struct json_found *fo, const struct flow_model *m,
                      const struct flow_filter *flt, uint64_t t0)
{
    size_t n;
    const struct flow_item *items = flow_model_items(m, &n);

    fo->off = malloc((n + 1) * sizeof(*fo->off));
    if (!fo->off) return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct flow_finding fd[FLOW_MAX_FINDINGS];
        size_t nf = flow_filter_match(flt, &items[i], t0)
                        ? flow_diagnose(m, i, fd, FLOW_MAX_FINDINGS)
                        : 0;

        fo->off[i] = fo->n;
        if (fo->n + nf > fo->cap) {
            size_t nc = fo->cap ? fo->cap * 2 : 64;
            struct flow_finding *x;
            while (nc < fo->n + nf)
                nc *= 2;
            x = realloc(fo->f, nc * sizeof(*x));
            if (!x) return ENOMEM;
            fo->f = x;
            fo->cap = nc;
        }
        if (nf) memcpy(fo->f + fo->n, fd, nf * sizeof(*fd));
        fo->n += nf;
    }
    fo->off[n] = fo->n;
    return 0;
}

/* Item i's findings (NULL when none) and their count */
static const struct flow_finding *found_of(const struct json_found *fo, size_t i,
                                           size_t *nf)
{
    *nf = fo->off[i + 1] - fo->off[i];
    return *nf ? fo->f + fo->off[i] : NULL;
}

/* Write out what is buffered once it is large: a big capture's JSON is not held whole */
static void json_flush(struct sk_buf *b, FILE *o, bool all)
{
    if (b->failed || (!all && b->len < FLOW_OUT_JSON_FLUSH)) return;
    fwrite(b->p, 1, b->len, o);
    b->len = 0;
}

int flow_out_json(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  uint64_t t0)
{
    struct sk_buf b;
    struct sk_json j;
    size_t n, nt, ns, nf;
    const struct flow_item *items = flow_model_items(m, &n);
    const struct flow_txn *txns = flow_model_txns(m, &nt);
    const struct flow_stream *streams = flow_model_streams(m, &ns);
    const struct flow_model_counts *c = flow_model_counts(m);
    static const enum flow_item_kind KINDS[] = {FLOW_ITEM_CALL, FLOW_ITEM_REGISTRATION,
                                                FLOW_ITEM_OTHER};
    static const char *const KEYS[] = {"calls", "registrations", "requests"};
    struct json_found fo = {0};
    int rc = found_fill(&fo, m, f, t0);

    if (rc) {
        free(fo.f);
        free(fo.off);
        return rc;
    }
    sk_buf_init(&b);
    sk_json_init(&j, &b);
    sk_json_obj_begin(&j);
    sk_json_key(&j, "counts");
    sk_json_obj_begin(&j);
    sk_json_kint(&j, "sip", (int64_t) c->sip);
    sk_json_kint(&j, "sip_unparsable", (int64_t) c->sip_bad);
    sk_json_kint(&j, "sip_read_leniently", (int64_t) c->sip_lenient);
    sk_json_kint(&j, "udp_other", (int64_t) c->udp_other);
    sk_json_kint(&j, "rtp", (int64_t) c->rtp);
    sk_json_kint(&j, "rtcp", (int64_t) c->rtcp);
    sk_json_kint(&j, "dropped_messages", (int64_t) c->dropped_messages);
    sk_json_kint(&j, "dropped_transactions", (int64_t) c->dropped_txns);
    sk_json_kint(&j, "dropped_items", (int64_t) c->dropped_items);
    sk_json_kint(&j, "dropped_streams", (int64_t) c->dropped_streams);
    sk_json_kint(&j, "dropped_media_addresses", (int64_t) c->dropped_media);
    sk_json_kint(&j, "dropped_sdp_summaries", (int64_t) c->dropped_sdp);
    sk_json_kint(&j, "dropped_copies", (int64_t) c->dropped_text);
    sk_json_kint(&j, "icmp_unreachable", (int64_t) c->icmp_unreach);
    sk_json_kint(&j, "dns_queries", (int64_t) c->dns);
    sk_json_kint(&j, "dropped_icmp_dns", (int64_t) c->dropped_net);
    sk_json_obj_end(&j);
    for (size_t k = 0; k < 3; k++) {
        sk_json_key(&j, KEYS[k]);
        sk_json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            if (items[i].kind != KINDS[k] || !flow_filter_match(f, &items[i], t0))
                continue;
            const struct flow_finding *fd = found_of(&fo, i, &nf);

            json_item(&j, m, i, t0, fd, nf);
            json_flush(&b, o, false);
        }
        sk_json_arr_end(&j);
    }
    sk_json_key(&j, "transactions");
    sk_json_arr_begin(&j);
    for (size_t i = 0; i < nt; i++) {
        if (item_shown(m, f, txns[i].item, t0)) json_txn(&j, &txns[i], t0);
        json_flush(&b, o, false);
    }
    sk_json_arr_end(&j);
    sk_json_key(&j, "streams");
    sk_json_arr_begin(&j);
    for (size_t i = 0; i < ns; i++) {
        if (item_shown(m, f, streams[i].item, t0)) json_stream(&j, &streams[i], i, t0);
        json_flush(&b, o, false);
    }
    sk_json_arr_end(&j);
    json_net(&j, m, t0);
    sk_json_key(&j, "findings");
    sk_json_arr_begin(&j);
    for (size_t i = 0; i < n; i++) {
        const struct flow_finding *fd;

        if (!flow_filter_match(f, &items[i], t0)) continue;
        fd = found_of(&fo, i, &nf);
        json_findings(&j, fd, nf, (long) i + 1);
        json_flush(&b, o, false);
    }
    sk_json_arr_end(&j);
    sk_json_obj_end(&j);
    if (b.failed) {
        rc = ENOMEM;
    } else {
        json_flush(&b, o, true);
        fputc('\n', o);
    }
    sk_buf_free(&b);
    free(fo.f);
    free(fo.off);
    return rc;
}

/* ---- the RTP table, laid out like `tshark -q -z rtp,streams` ---- */

void flow_out_rtp(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  uint64_t t0)
{
    size_t ns;
    const struct flow_stream *streams = flow_model_streams(m, &ns);

    fputs("========================= RTP Streams ========================\n", o);
    fprintf(o, "%13s %13s %15s %5s %15s %5s %10s %16s %6s %14s %15s %15s %16s %5s %5s\n",
            "Start time", "End time", "Src IP addr", "Port", "Dest IP addr", "Port",
            "SSRC", "Payload", "Pkts", "Lost", "Max Delta(ms)", "Max Jitter(ms)",
            "Mean Jitter(ms)", "MOS", "Call");
    for (size_t i = 0; i < ns; i++) {
        const struct flow_stream *s = &streams[i];
        struct flow_stream_figures fg;
        char sip[48], dip[48], lost[32], mos[8] = "-", call[12] = "-";

        if (!item_shown(m, f, s->item, t0)) continue;
        flow_stream_figures(s, &fg);
        snprintf(lost, sizeof(lost), "%" PRId64 " (%.1f%%)", fg.lost, fg.loss_pct);
        if (fg.has_mos) snprintf(mos, sizeof(mos), "%.2f", fg.mos);
        if (s->item >= 0) snprintf(call, sizeof(call), "%d", s->item + 1);
        fprintf(o,
                "%13.6f %13.6f %15s %5u %15s %5u 0x%08X %16s %6" PRIu64
                " %14s %15.3f %15.3f %16.3f %5s %5s\n",
                rel_s(s->first_ns, t0), rel_s(s->last_ns, t0),
                sk_sa_ip(&s->src, sip, sizeof(sip)), sk_sa_port(&s->src),
                sk_sa_ip(&s->dst, dip, sizeof(dip)), sk_sa_port(&s->dst), s->ssrc,
                s->payloads, fg.packets, lost, fg.max_delta_ms, fg.max_jitter_ms,
                fg.mean_jitter_ms, mos, call);
    }
    fputs("==============================================================\n", o);
}
