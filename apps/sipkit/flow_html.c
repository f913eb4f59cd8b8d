/* `sipkit flow --html`: one self-contained HTML page (no network fetches) with the call
 * table, each call's ladder as inline SVG with its messages, findings and RTP plots. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "flow_out.h"

/* Captures are large and hostile: the page is bounded whatever the capture holds. */
#define HTML_MAX_LADDERS 200                    /* items drawn (unless --call) */
#define HTML_MAX_ROWS 1000                      /* messages drawn in one ladder */
#define HTML_MAX_TEXT_BYTES (32u * 1024 * 1024) /* message copies in the page */
#define HTML_MAX_PLOTS 400                      /* RTP plots in the page */
#define HTML_MAX_COLS 10                        /* participants drawn as columns */
#define HTML_PARTS_MAX 64                       /* participants told apart */

/* Ladder geometry (px) */
#define LAD_LEFT 130 /* time and frame columns */
#define LAD_COL_W 250
#define LAD_TOP 56 /* below the participant boxes */
#define LAD_ROW_H 30
#define LAD_SDP_H 14
#define LAD_CHAR_W 6.6 /* average width of a label character */

/* Plot geometry (px) */
#define PLOT_W 640
#define PLOT_LEFT 56
#define PLOT_PANEL_H 90

struct html {
    FILE *o;
    const struct flow_model *m;
    uint64_t t0;
    const int32_t *off, *idx; /* messages of item i: idx[off[i] .. off[i + 1]) */
    size_t text_bytes;
    bool text_cut;
    size_t plots;
    bool plots_cut;
};

struct parts {
    struct sk_sa a[HTML_PARTS_MAX];
    size_t n;
};

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (RFC 3629 §4: no overlongs, no surrogates,
 * nothing above U+10FFFF), 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    size_t n;
    uint32_t c;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (n == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    return n;
}

/* The one escape of the page, for element text (HTML and SVG) and for attribute
 * values in double quotes: & < > " ' become references, controls other than tab and
 * newline and bytes that are not UTF-8 become U+FFFD, CR is dropped. */
static void html_esc(FILE *o, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;

    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n;

        switch (c) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        case '\t':
        case '\n': fputc(c, o); break;
        case '\r': break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fputs("\xef\xbf\xbd", o);
                break;
            }
            n = utf8_seq(p + i, len - i);
            if (!n) {
                fputs("\xef\xbf\xbd", o);
                break;
            }
            fwrite(p + i, 1, n, o);
            i += n;
            continue;
        }
        i++;
    }
}

static void esc(FILE *o, const char *s)
{
    html_esc(o, s, strlen(s));
}

/* At most max characters of s, cut at a character boundary with an ellipsis. */
static void esc_cut(FILE *o, const char *s, size_t max)
{
    size_t len = strlen(s), chars = 0, i = 0;

    while (i < len && chars < max) {
        size_t n = utf8_seq((const unsigned char *) s + i, len - i);
        i += n ? n : 1;
        chars++;
    }
    html_esc(o, s, i);
    if (i < len) fputs("\xe2\x80\xa6", o); /* … */
}

/* ---- shared bits ---- */

static double rel_s(uint64_t ns, uint64_t t0)
{
    return ns >= t0 ? (double) (ns - t0) / 1e9 : -(double) (t0 - ns) / 1e9;
}

static int part_index(struct parts *p, const struct sk_sa *a)
{
    for (size_t i = 0; i < p->n; i++)
        if (sk_sa_equal(&p->a[i], a)) return (int) i;
    if (p->n == HTML_PARTS_MAX) return -1;
    p->a[p->n] = *a;
    return (int) p->n++;
}

static void msg_label(const struct flow_msg *g, char *buf, size_t size)
{
    if (g->request)
        snprintf(buf, size, "%s", g->method_name);
    else
        snprintf(buf, size, "%d %s", g->status, g->reason);
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

static const char *msg_class(const struct flow_msg *g)
{
    if (g->request) return "req";
    if (g->status < 200) return "prov";
    if (g->status < 300) return "ok";
    return "err";
}

/* ---- the page frame ---- */

static const char PAGE_STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-top:1px solid #ccc;"
    "padding-top:.8em}\n"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".note{background:#fff6d5;border:1px solid #e6c84f;padding:.4em .8em}\n"
    ".cid{font-family:monospace;overflow-wrap:anywhere}td.cid{max-width:24em}"
    ".meta{color:#555}\n"
    ".sev-error{color:#b00020}.sev-warning{color:#9a5b00}.sev-info{color:#245}\n"
    "ul.findings li{margin-bottom:.5em}ul.findings .fix{color:#222}\n"
    "svg{display:block;margin:.6em 0;background:#fcfcfc;border:1px solid #eee}\n"
    "svg text{font:11px monospace;fill:#222}svg .pname{font-weight:bold}\n"
    "svg .life{stroke:#999;stroke-dasharray:3 3}svg .box{fill:#eef3fa;stroke:#6a8cbf}\n"
    "svg .t{fill:#666}svg .sdp{fill:#2e6b2e;font-size:10px}\n"
    "svg .msg{cursor:pointer}svg .msg line,svg .msg path{stroke-width:1.5;fill:none}\n"
    "svg .msg .hit{fill:transparent;stroke:none;pointer-events:all}\n"
    "svg .req line,svg .req path{stroke:#1f5fa8}svg .req polygon{fill:#1f5fa8}\n"
    "svg .prov line,svg .prov path{stroke:#a07000}svg .prov polygon{fill:#a07000}\n"
    "svg .ok line,svg .ok path{stroke:#19802f}svg .ok polygon{fill:#19802f}\n"
    "svg .err line,svg .err path{stroke:#c0182b}svg .err polygon{fill:#c0182b}\n"
    "svg .rt line,svg .rt path{stroke:#a0309a;stroke-dasharray:5 3}svg .rt "
    "polygon{fill:#a0309a}\n"
    "svg .msg:hover .hit,svg .msg.sel .hit{fill:#ffe9a8}\n"
    "svg .grid{stroke:#ddd}svg .axis{stroke:#888}svg .jit{stroke:#1f5fa8;fill:none;"
    "stroke-width:1.5}svg .loss{fill:#c0182b}\n"
    "details.m{margin:.15em 0}details.m summary{cursor:pointer;font-family:monospace}\n"
    "details.m pre{background:#f6f6f6;border:1px solid #ddd;padding:.5em;overflow:auto;"
    "white-space:pre-wrap;word-break:break-all;margin:.3em 0 .6em}\n"
    "details.m[open] summary{background:#ffe9a8}\n";

/* Click (or Enter) on an arrow opens its message; a #cNmK link does the same. The
 * ids are the writer's own ("c3m5"), never text from the capture. */
static const char PAGE_SCRIPT[] =
    "(function () {\n"
    "  function show(id) {\n"
    "    var d = document.getElementById(id);\n"
    "    if (!d || d.tagName !== 'DETAILS') return;\n"
    "    d.open = true;\n"
    "    var old = document.querySelectorAll('.msg.sel');\n"
    "    for (var i = 0; i < old.length; i++) old[i].classList.remove('sel');\n"
    "    var g = document.querySelector('[data-msg=\"' + id + '\"]');\n"
    "    if (g) g.classList.add('sel');\n"
    "    d.scrollIntoView({block: 'nearest'});\n"
    "  }\n"
    "  function arrow(e) {\n"
    "    return e.target && e.target.closest ? e.target.closest('[data-msg]') : null;\n"
    "  }\n"
    "  document.addEventListener('click', function (e) {\n"
    "    var g = arrow(e);\n"
    "    if (g) show(g.getAttribute('data-msg'));\n"
    "  });\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    var g = arrow(e);\n"
    "    if (g && (e.key === 'Enter' || e.key === ' ')) {\n"
    "      e.preventDefault();\n"
    "      show(g.getAttribute('data-msg'));\n"
    "    }\n"
    "  });\n"
    "  function fromHash() {\n"
    "    if (location.hash.length > 1) show(location.hash.slice(1));\n"
    "  }\n"
    "  window.addEventListener('hashchange', fromHash);\n"
    "  fromHash();\n"
    "})();\n";

static void page_head(struct html *h, const char *title)
{
    FILE *o = h->o;
    uint64_t r1 = sk_rand64(), r2 = sk_rand64();

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", o);
    /* No fetches at all, and only our own script runs: a nonce the capture cannot
     * know, in case text from it ever reached the markup unescaped. */
    fprintf(o,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'nonce-%016" PRIx64 "%016" PRIx64
            "'; img-src data:\">\n",
            r1, r2);
    fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>sipkit flow: ",
          o);
    esc(o, title);
    fputs("</title>\n<style>\n", o);
    fputs(PAGE_STYLE, o);
    fputs("</style>\n", o);
    fprintf(o, "<script nonce=\"%016" PRIx64 "%016" PRIx64 "\">\n", r1, r2);
    fputs(PAGE_SCRIPT, o);
    fputs("</script>\n</head>\n<body>\n<h1>sipkit flow: ", o);
    esc(o, title);
    fputs("</h1>\n", o);
}

/* ---- the calls table ---- */

static void table_row(struct html *h, size_t i, bool drawn)
{
    FILE *o = h->o;
    size_t n;
    const struct flow_item *it = &flow_model_items(h->m, &n)[i];
    char verdict[128];

    flow_verdict(h->m, i, verdict, sizeof(verdict));
    fprintf(o, "<tr><td class=\"n\">");
    if (drawn)
        fprintf(o, "<a href=\"#item%zu\">%zu</a>", i + 1, i + 1);
    else
        fprintf(o, "%zu", i + 1);
    fprintf(o, "</td><td>");
    esc(o, it->kind == FLOW_ITEM_CALL           ? "call"
           : it->kind == FLOW_ITEM_REGISTRATION ? "reg"
                                                : it->method_name);
    fputs("</td><td class=\"cid\">", o);
    esc(o, it->call_id);
    fputs("</td><td>", o);
    esc(o, it->from);
    fputs("</td><td>", o);
    esc(o, it->to);
    fprintf(o, "</td><td class=\"n\">%.3f</td><td class=\"n\">",
            rel_s(it->start_ns, h->t0));
    if (it->kind == FLOW_ITEM_CALL && it->answer_ns) {
        uint64_t end = it->end_ns                        ? it->end_ns
                       : it->media_last_ns > it->last_ns ? it->media_last_ns
                                                         : it->last_ns;
        fprintf(o, "%.3fs</td><td class=\"n\">%s%.1fs",
                (double) (it->answer_ns - it->start_ns) / 1e9, it->end_ns ? "" : "&gt;",
                end > it->answer_ns ? (double) (end - it->answer_ns) / 1e9 : 0.0);
    } else {
        fputs("-</td><td class=\"n\">-", o);
    }
    fputs("</td><td class=\"n\">", o);
    if (it->final_status)
        fprintf(o, "%d", it->final_status);
    else
        fputc('-', o);
    fprintf(o, "</td><td class=\"n\">%u</td><td>", it->streams);
    esc(o, verdict);
    fputs("</td></tr>\n", o);
}

/* ---- one item ---- */

static void item_summary(struct html *h, size_t index)
{
    FILE *o = h->o;
    size_t n;
    const struct flow_item *it = &flow_model_items(h->m, &n)[index];
    char verdict[128];

    flow_verdict(h->m, index, verdict, sizeof(verdict));
    fprintf(o, "<h2 id=\"item%zu\">%zu. %s <span class=\"cid\">", index + 1, index + 1,
            flow_item_kind_name(it->kind));
    esc(o, it->call_id);
    fputs("</span></h2>\n<p class=\"meta\">", o);
    esc(o, it->from);
    fputs(" &rarr; ", o);
    esc(o, it->to);
    fputs(", ", o);
    esc(o, it->method_name);
    fprintf(o, " at %.3f s", rel_s(it->start_ns, h->t0));
    if (it->kind == FLOW_ITEM_CALL) {
        if (it->ringing_ns)
            fprintf(o, ", ringing after %.0f ms",
                    (double) (it->ringing_ns - it->start_ns) / 1e6);
        if (it->answer_ns)
            fprintf(o, ", answered after %.0f ms",
                    (double) (it->answer_ns - it->start_ns) / 1e6);
        if (it->ended != FLOW_END_NONE)
            fprintf(o, ", %s at %.3f s", flow_end_name(it->ended),
                    rel_s(it->end_ns, h->t0));
        if (it->answer_ns && it->end_ns > it->answer_ns)
            fprintf(o, " (%.1f s)", (double) (it->end_ns - it->answer_ns) / 1e9);
        if (it->hops > 1) fprintf(o, ", %u hops", it->hops);
        if (it->forks) fprintf(o, ", %u forks answered", it->forks);
        if (it->reinvites) fprintf(o, ", %u re-INVITEs", it->reinvites);
    }
    if (it->challenges) fprintf(o, ", %u challenges", it->challenges);
    if (it->retrans) fprintf(o, ", %u retransmissions", it->retrans);
    fputs("</p>\n<p><b>Verdict:</b> ", o);
    esc(o, verdict);
    fputs("</p>\n", o);
}

/* The message of item `index` in frame `frame`, as its position k, or -1. */
static long msg_of_frame(const struct html *h, size_t index, uint64_t frame)
{
    size_t n;
    const struct flow_msg *msgs = flow_model_msgs(h->m, &n);

    for (int32_t k = h->off[index]; k < h->off[index + 1]; k++)
        if (msgs[h->idx[k]].frame == frame) return (long) (k - h->off[index]);
    return -1;
}

static void item_findings(struct html *h, size_t index)
{
    static const char *const SEV[] = {"info", "warning", "error"};
    FILE *o = h->o;
    struct flow_finding fd[FLOW_MAX_FINDINGS];
    size_t nf = flow_diagnose(h->m, index, fd, FLOW_MAX_FINDINGS);

    if (!nf) return;
    fputs("<h3>Findings</h3>\n<ul class=\"findings\">\n", o);
    for (size_t i = 0; i < nf; i++) {
        fprintf(o, "<li><b class=\"sev-%s\">%s</b> <code>", SEV[fd[i].severity],
                SEV[fd[i].severity]);
        esc(o, fd[i].code);
        fputs("</code>: ", o);
        esc(o, fd[i].summary);
        fputs("<br><span class=\"fix\">", o);
        esc(o, fd[i].detail);
        fputs("<br><b>Fix:</b> ", o);
        esc(o, fd[i].fix);
        fputs("</span>", o);
        if (fd[i].nframes) fputs("<br>Evidence: frames", o);
        for (unsigned k = 0; k < fd[i].nframes; k++) {
            long pos = msg_of_frame(h, index, fd[i].frames[k]);
            if (pos >= 0 && pos < HTML_MAX_ROWS)
                fprintf(o, " <a href=\"#c%zum%ld\">%" PRIu64 "</a>", index + 1, pos + 1,
                        fd[i].frames[k]);
            else
                fprintf(o, " %" PRIu64, fd[i].frames[k]);
        }
        fputs("</li>\n", o);
    }
    fputs("</ul>\n", o);
}

static void svg_text_at(FILE *o, double x, double y, const char *cls, const char *anchor,
                        const char *s, size_t max)
{
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
    if (cls) fprintf(o, " class=\"%s\"", cls);
    if (anchor) fprintf(o, " text-anchor=\"%s\"", anchor);
    fputc('>', o);
    esc_cut(o, s, max);
    fputs("</text>", o);
}

static double col_x(size_t c)
{
    return LAD_LEFT + (double) c * LAD_COL_W + LAD_COL_W / 2.0;
}

/* One message: its arrow (or a line of words when an end is not drawn). */
static void ladder_row(struct html *h, struct parts *p, size_t cols, size_t index,
                       size_t k, const struct flow_msg *g, double y)
{
    FILE *o = h->o;
    int a = part_index(p, &g->src), b = part_index(p, &g->dst);
    char label[96], t[256], src[64], dst[64];
    const struct flow_sdp *sd = flow_model_sdp(h->m, g->sdp);
    double xa, xb, lo, hi;

    msg_label(g, label, sizeof(label));
    fprintf(o, "<g class=\"msg %s%s\" data-msg=\"c%zum%zu\" tabindex=\"0\"><title>",
            msg_class(g), g->retrans ? " rt" : "", index + 1, k + 1);
    fprintf(o, "frame %" PRIu64 ", %.6f s: ", g->frame, rel_s(g->ts_ns, h->t0));
    esc(o, sk_sa_str(&g->src, src, sizeof(src)));
    fputs(" \xe2\x86\x92 ", o);
    esc(o, sk_sa_str(&g->dst, dst, sizeof(dst)));
    fputc(' ', o);
    esc(o, label);
    if (g->retrans) fputs(" (retransmission)", o);
    fputs("</title>", o);
    snprintf(t, sizeof(t), "%.3f", rel_s(g->ts_ns, h->t0));
    svg_text_at(o, 6, y + 4, "t", NULL, t, 16);
    snprintf(t, sizeof(t), "#%" PRIu64, g->frame);
    svg_text_at(o, 70, y + 4, "t", NULL, t, 10);
    if (a < 0 || b < 0 || (size_t) a >= cols || (size_t) b >= cols) {
        /* an end beyond the drawn columns: say it in words */
        snprintf(t, sizeof(t), "%s \xe2\x86\x92 %s %s%s", src, dst, label,
                 g->retrans ? " (retransmission)" : "");
        fprintf(o,
                "<rect class=\"hit\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"22\"/>",
                LAD_LEFT, y - 14, (double) cols * LAD_COL_W);
        svg_text_at(o, LAD_LEFT + 4, y + 4, NULL, NULL, t, 90);
        fputs("</g>\n", o);
        return;
    }
    xa = col_x((size_t) a);
    xb = col_x((size_t) b);
    if (a == b) {
        /* to itself: a loop to the right */
        fprintf(o,
                "<rect class=\"hit\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"26\"/>"
                "<path d=\"M%.1f %.1f h30 v10 h-26\"/>"
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>",
                xa, y - 14, LAD_COL_W / 2, xa, y - 4, xa + 4, y + 6, xa + 10, y + 2,
                xa + 10, y + 10);
        snprintf(t, sizeof(t), "%s%s", label, g->retrans ? " (retrans.)" : "");
        svg_text_at(o, xa + 36, y + 4, NULL, NULL, t, 24);
    } else {
        double dir = xb > xa ? 1 : -1;

        lo = xa < xb ? xa : xb;
        hi = xa < xb ? xb : xa;
        fprintf(o,
                "<rect class=\"hit\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"22\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>",
                lo, y - 16, hi - lo, xa, y, xb - dir * 8, y, xb, y, xb - dir * 9, y - 4,
                xb - dir * 9, y + 4);
        snprintf(t, sizeof(t), "%s%s", label, g->retrans ? " (retransmission)" : "");
        svg_text_at(o, (lo + hi) / 2, y - 5, NULL, "middle", t,
                    (size_t) ((hi - lo) / LAD_CHAR_W) - 2);
        if (sd) {
            sdp_text(sd, t, sizeof(t));
            /* smaller, and wider than the arrow: half a column either side is free */
            svg_text_at(o, (lo + hi) / 2, y + 12, "sdp", "middle", t,
                        (size_t) ((hi - lo + LAD_COL_W / 2.0) / (LAD_CHAR_W * 10 / 11)));
        }
    }
    fputs("</g>\n", o);
}

static void item_ladder(struct html *h, size_t index)
{
    FILE *o = h->o;
    size_t n, count = (size_t) (h->off[index + 1] - h->off[index]), rows, cols;
    const struct flow_msg *msgs = flow_model_msgs(h->m, &n);
    struct parts p = {.n = 0};
    double height = LAD_TOP, y = LAD_TOP - 20, width;

    rows = count < HTML_MAX_ROWS ? count : HTML_MAX_ROWS;
    for (size_t k = 0; k < rows; k++) {
        const struct flow_msg *g = &msgs[h->idx[h->off[index] + (int32_t) k]];
        part_index(&p, &g->src);
        part_index(&p, &g->dst);
        height += LAD_ROW_H + (g->sdp >= 0 ? LAD_SDP_H : 0);
    }
    cols = p.n < HTML_MAX_COLS ? p.n : HTML_MAX_COLS;
    if (!cols) cols = 1;
    width = LAD_LEFT + (double) cols * LAD_COL_W + 10;
    fprintf(
        o,
        "<svg class=\"ladder\" width=\"%.0f\" "
        "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"ladder of "
        "item %zu\">\n",
        width, height, width, height, index + 1);
    svg_text_at(o, 6, 30, "t", NULL, "time (s)", 10);
    svg_text_at(o, 70, 30, "t", NULL, "frame", 10);
    for (size_t c = 0; c < cols && c < p.n; c++) {
        char name[64];
        double x = col_x(c);

        sk_sa_str(&p.a[c], name, sizeof(name));
        fprintf(o,
                "<rect class=\"box\" x=\"%.1f\" y=\"10\" width=\"%d\" height=\"28\" "
                "rx=\"4\"/><line class=\"life\" x1=\"%.1f\" y1=\"38\" x2=\"%.1f\" "
                "y2=\"%.0f\"/>",
                x - LAD_COL_W / 2.0 + 8, LAD_COL_W - 16, x, x, height - 6);
        svg_text_at(o, x, 28, "pname", "middle", name, 26);
        fputc('\n', o);
    }
    for (size_t k = 0; k < rows; k++) {
        const struct flow_msg *g = &msgs[h->idx[h->off[index] + (int32_t) k]];

        y += LAD_ROW_H;
        ladder_row(h, &p, cols, index, k, g, y);
        if (g->sdp >= 0) y += LAD_SDP_H;
    }
    fputs("</svg>\n", o);
    if (p.n > cols)
        fprintf(o,
                "<p class=\"note\">%zu%s more participants than columns: their messages "
                "are written in words.</p>\n",
                p.n - cols, p.n == HTML_PARTS_MAX ? " or" : "");
    if (count > rows)
        fprintf(o,
                "<p class=\"note\">The first %d of %zu messages are drawn (a page "
                "limit); <code>sipkit flow FILE --call %zu</code> lists them all.</p>\n",
                HTML_MAX_ROWS, count, index + 1);
}

static void item_messages(struct html *h, size_t index)
{
    FILE *o = h->o;
    size_t n, count = (size_t) (h->off[index + 1] - h->off[index]);
    const struct flow_msg *msgs = flow_model_msgs(h->m, &n);

    if (count > HTML_MAX_ROWS) count = HTML_MAX_ROWS;
    if (!count) return;
    fputs("<h3>Messages</h3>\n<div class=\"msgs\">\n", o);
    for (size_t k = 0; k < count; k++) {
        const struct flow_msg *g = &msgs[h->idx[h->off[index] + (int32_t) k]];
        char label[96], src[64], dst[64];
        size_t len;
        const char *text = flow_model_msg_text(h->m, g, &len);

        msg_label(g, label, sizeof(label));
        fprintf(o, "<details class=\"m\" id=\"c%zum%zu\"><summary>%.6f #%" PRIu64 " ",
                index + 1, k + 1, rel_s(g->ts_ns, h->t0), g->frame);
        esc(o, sk_sa_str(&g->src, src, sizeof(src)));
        fputs(" &rarr; ", o);
        esc(o, sk_sa_str(&g->dst, dst, sizeof(dst)));
        fprintf(o, " %s ", flow_transport_name(g->transport));
        esc(o, label);
        if (g->retrans) fputs(" (retransmission)", o);
        fputs("</summary><pre>", o);
        if (!text) {
            fputs("(the text of this message was not kept: the model's limit on copies)",
                  o);
        } else if (h->text_bytes + len > HTML_MAX_TEXT_BYTES) {
            h->text_cut = true;
            fputs("(left out: the page's limit on message text; sipkit flow FILE "
                  "--messages or Wireshark shows it)",
                  o);
        } else {
            h->text_bytes += len;
            html_esc(o, text, len);
        }
        fputs("</pre></details>\n", o);
    }
    fputs("</div>\n", o);
}

/* ---- RTP ---- */

static void stream_row(struct html *h, const struct flow_stream *s, size_t si)
{
    FILE *o = h->o;
    struct flow_stream_figures f;
    char src[64], dst[64];

    flow_stream_figures(s, &f);
    fprintf(o, "<tr><td class=\"n\">%zu</td><td>", si + 1);
    esc(o, sk_sa_str(&s->src, src, sizeof(src)));
    fputs(" &rarr; ", o);
    esc(o, sk_sa_str(&s->dst, dst, sizeof(dst)));
    fprintf(o, "</td><td class=\"cid\">0x%08X</td><td>", s->ssrc);
    esc(o, s->payloads);
    fprintf(o,
            "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRId64
            " (%.1f%%)</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
            "<td class=\"n\">%.3f</td><td class=\"n\">",
            f.packets, f.lost, f.loss_pct, f.max_delta_ms, f.max_jitter_ms,
            f.mean_jitter_ms);
    if (f.has_mos)
        fprintf(o, "%.2f", f.mos);
    else
        fputc('-', o);
    fprintf(o, "</td><td class=\"n\">%.3f&ndash;%.3f</td><td>", rel_s(s->first_ns, h->t0),
            rel_s(s->last_ns, h->t0));
    esc(o, s->digits);
    fputs("</td></tr>\n", o);
}

/* A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least min. */
static double axis_max(double v, double min)
{
    double step = 1e-3;

    if (v < min) v = min;
    while (step * 10 < v)
        step *= 10;
    if (v <= step) return step;
    if (v <= 2 * step) return 2 * step;
    if (v <= 5 * step) return 5 * step;
    return 10 * step;
}

/* Jitter (line, ms) above and loss (bars, % of the expected packets) below, one point
 * per series interval. */
static void stream_plot(struct html *h, const struct flow_stream *s, size_t si)
{
    FILE *o = h->o;
    const struct flow_series *se = &s->series;
    double jmax = 0, lmax = 0, w = PLOT_W - PLOT_LEFT - 10, dx;
    double top1 = 22, top2 = top1 + PLOT_PANEL_H + 34;
    double height = top2 + PLOT_PANEL_H + 30;
    double start = rel_s(se->start_ns, h->t0);
    char t[96];

    if (!se->n) return;
    if (h->plots >= HTML_MAX_PLOTS) {
        h->plots_cut = true;
        return;
    }
    h->plots++;
    for (uint32_t i = 0; i < se->n; i++) {
        double l = se->pt[i].expected
                       ? 100.0 * flow_series_lost(&se->pt[i]) / se->pt[i].expected
                       : 0;
        if (se->pt[i].jitter_ms > jmax) jmax = se->pt[i].jitter_ms;
        if (l > lmax) lmax = l;
    }
    jmax = axis_max(jmax, 1);
    lmax = axis_max(lmax, 1);
    dx = w / se->n;
    fprintf(o,
            "<svg class=\"plot\" width=\"%d\" "
            "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"jitter "
            "and loss of stream %zu\">\n",
            PLOT_W, height, PLOT_W, height, si + 1);
    snprintf(t, sizeof(t), "stream %zu: jitter (ms), one point per %.0f s", si + 1,
             (double) se->step_ns / 1e9);
    svg_text_at(o, PLOT_LEFT, 14, NULL, NULL, t, 80);
    snprintf(t, sizeof(t), "loss (%% of expected packets)");
    svg_text_at(o, PLOT_LEFT, top2 - 8, NULL, NULL, t, 80);
    for (int panel = 0; panel < 2; panel++) {
        double top = panel ? top2 : top1, max = panel ? lmax : jmax;

        fprintf(o,
                "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                PLOT_LEFT, top, PLOT_LEFT, top + PLOT_PANEL_H, PLOT_LEFT,
                top + PLOT_PANEL_H, PLOT_LEFT + w, top + PLOT_PANEL_H, PLOT_LEFT, top,
                PLOT_LEFT + w, top);
        snprintf(t, sizeof(t), "%g", max);
        svg_text_at(o, PLOT_LEFT - 4, top + 8, "t", "end", t, 10);
        svg_text_at(o, PLOT_LEFT - 4, top + PLOT_PANEL_H, "t", "end", "0", 4);
        snprintf(t, sizeof(t), "%.1f s", start);
        svg_text_at(o, PLOT_LEFT, top + PLOT_PANEL_H + 14, "t", NULL, t, 16);
        snprintf(t, sizeof(t), "%.1f s", start + (double) se->n * se->step_ns / 1e9);
        svg_text_at(o, PLOT_LEFT + w, top + PLOT_PANEL_H + 14, "t", "end", t, 16);
    }
    fputs("<polyline class=\"jit\" points=\"", o);
    for (uint32_t i = 0; i < se->n; i++)
        fprintf(o, "%s%.1f,%.1f", i ? " " : "", PLOT_LEFT + dx * (i + 0.5),
                top1 + PLOT_PANEL_H - PLOT_PANEL_H * se->pt[i].jitter_ms / jmax);
    fputs("\"/>\n", o);
    for (uint32_t i = 0; i < se->n; i++) {
        uint32_t lost = flow_series_lost(&se->pt[i]);
        double pct, bh;

        if (!lost || !se->pt[i].expected) continue;
        pct = 100.0 * lost / se->pt[i].expected;
        bh = PLOT_PANEL_H * pct / lmax;
        fprintf(o,
                "<rect class=\"loss\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\"><title>%.1f-%.1f s: %" PRIu32 " lost of %" PRIu32
                " (%.1f%%)</title></rect>\n",
                PLOT_LEFT + dx * i + 1, top2 + PLOT_PANEL_H - bh, dx > 3 ? dx - 2 : 1, bh,
                start + (double) i * se->step_ns / 1e9,
                start + (double) (i + 1) * se->step_ns / 1e9, lost, se->pt[i].expected,
                pct);
    }
    fputs("</svg>\n", o);
}

static const char STREAM_HEAD[] =
    "<table class=\"rtp\"><tr><th>#</th><th>source &rarr; destination</th><th>SSRC</th>"
    "<th>payloads</th><th>packets</th><th>lost</th><th>max delta (ms)</th><th>max "
    "jitter (ms)</th><th>mean jitter (ms)</th><th>MOS</th><th>time (s)</th>"
    "<th>DTMF</th></tr>\n";

/* The streams of item `item` (-1: those no SDP announced). */
static void streams_of(struct html *h, int32_t item)
{
    FILE *o = h->o;
    size_t ns, k = 0;
    const struct flow_stream *streams = flow_model_streams(h->m, &ns);

    for (size_t i = 0; i < ns; i++) {
        if (streams[i].item != item) continue;
        if (!k++) {
            fputs("<h3>RTP streams</h3>\n", o);
            fputs(STREAM_HEAD, o);
        }
        stream_row(h, &streams[i], i);
    }
    if (!k) return;
    fputs("</table>\n", o);
    for (size_t i = 0; i < ns; i++)
        if (streams[i].item == item) stream_plot(h, &streams[i], i);
}

/* ---- the page ---- */

/* messages by item, in capture order: off[i]..off[i + 1] into idx */
static int index_messages(const struct flow_model *m, int32_t **offp, int32_t **idxp)
{
    size_t ni, n;
    const struct flow_msg *msgs = flow_model_msgs(m, &n);
    int32_t *off, *idx, *fill;

    flow_model_items(m, &ni);
    off = calloc(ni + 2, sizeof(*off));
    idx = malloc((n ? n : 1) * sizeof(*idx));
    fill = calloc(ni + 1, sizeof(*fill));
    if (!off || !idx || !fill) {
        free(off);
        free(idx);
        free(fill);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (msgs[i].item >= 0 && (size_t) msgs[i].item < ni) off[msgs[i].item + 1]++;
    for (size_t i = 0; i < ni; i++)
        off[i + 1] += off[i];
    for (size_t i = 0; i < n; i++) {
        int32_t it = msgs[i].item;
        if (it >= 0 && (size_t) it < ni) idx[off[it] + fill[it]++] = (int32_t) i;
    }
    free(fill);
    *offp = off;
    *idxp = idx;
    return 0;
}

static bool shown(const struct flow_model *m, const struct flow_filter *f, long only,
                  size_t i, uint64_t t0)
{
    size_t n;
    const struct flow_item *items = flow_model_items(m, &n);

    if (only >= 0) return (size_t) only == i;
    return flow_filter_match(f, &items[i], t0);
}

int flow_out_html(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  long only, uint64_t t0, const char *title, struct flow_html_info *info)
{
    struct html h = {.o = o, .m = m, .t0 = t0};
    int32_t *off, *idx;
    size_t n, total = 0, drawn = 0;
    const struct flow_model_counts *c = flow_model_counts(m);
    int rc;

    flow_model_items(m, &n);
    rc = index_messages(m, &off, &idx);
    if (rc) return rc;
    h.off = off;
    h.idx = idx;
    page_head(&h, title);
    for (size_t i = 0; i < n; i++)
        if (shown(m, f, only, i, t0)) total++;
    fprintf(o,
            "<p class=\"meta\">%" PRIu64 " SIP messages, %" PRIu64 " RTP packets, %zu "
            "calls, registrations and requests",
            c->sip, c->rtp, n);
    if (only >= 0)
        fprintf(o, "; this page shows item %ld", only + 1);
    else if (flow_filter_active(f))
        fprintf(o, "; %zu match the filters", total);
    fputs(". Click an arrow to read its message.</p>\n", o);
    if (total > HTML_MAX_LADDERS)
        fprintf(o,
                "<p class=\"note\" id=\"capped\">%zu items: the ladders of the first %d "
                "are drawn, to keep the page small. The table lists them all; "
                "<code>--call N</code> draws any one of them, the filters "
                "(<code>--from</code>, <code>--status</code>, <code>--since</code>...) "
                "choose others.</p>\n",
                total, HTML_MAX_LADDERS);
    if (c->dropped_messages || c->dropped_text)
        fprintf(o,
                "<p class=\"note\">The capture is beyond the model's limits: %" PRIu64
                " messages are not in the ladders, %" PRIu64
                " messages have no text.</p>\n",
                c->dropped_messages, c->dropped_text);
    fputs("<h2 id=\"calls\">Calls, registrations and requests</h2>\n<table "
          "class=\"calls\"><tr><th>#</th><th>type</th><th>Call-ID</th><th>from</th>"
          "<th>to</th><th>start (s)</th><th>setup</th><th>duration</th><th>status</th>"
          "<th>RTP</th><th>verdict</th></tr>\n",
          o);
    {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (shown(m, f, only, i, t0)) table_row(&h, i, k++ < HTML_MAX_LADDERS);
    }
    fputs("</table>\n", o);
    if (!total)
        fprintf(o, "<p>(no calls, registrations or requests%s)</p>\n",
                only < 0 && flow_filter_active(f) ? " match the filters" : "");
    for (size_t i = 0; i < n && drawn < HTML_MAX_LADDERS; i++) {
        if (!shown(m, f, only, i, t0)) continue;
        drawn++;
        item_summary(&h, i);
        item_findings(&h, i);
        item_ladder(&h, i);
        item_messages(&h, i);
        streams_of(&h, (int32_t) i);
    }
    if (only < 0 && !flow_filter_active(f)) {
        size_t ns;
        const struct flow_stream *streams = flow_model_streams(m, &ns);
        bool any = false;

        for (size_t i = 0; i < ns && !any; i++)
            any = streams[i].item < 0;
        if (any) {
            fputs("<h2 id=\"other-rtp\">RTP no SDP announced</h2>\n", o);
            streams_of(&h, -1);
        }
    }
    if (h.text_cut)
        fprintf(o,
                "<p class=\"note\">Message text beyond %u MB is left out of the "
                "page.</p>\n",
                HTML_MAX_TEXT_BYTES / (1024 * 1024));
    if (h.plots_cut)
        fprintf(o, "<p class=\"note\">Only the first %d RTP plots are drawn.</p>\n",
                HTML_MAX_PLOTS);
    fputs("<p class=\"meta\">Made by sipkit flow. Times are seconds from the capture's "
          "first frame.</p>\n</body>\n</html>\n",
          o);
    free(off);
    free(idx);
    if (info) {
        info->items = total;
        info->ladders = drawn;
        info->capped = total > drawn;
    }
    return ferror(o) ? EIO : 0;
}
