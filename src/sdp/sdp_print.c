/* SDP printer (RFC 4566 §5 line order, CRLF) and field-by-field comparison of two
 * descriptions. */
#include <errno.h>
#include <string.h>

#include "sdp/sdp.h"
#include "sdp/sdp_int.h"

/* Lines and attributes kept as text are sorted here, never in the struct, so a
 * description built by code in any order prints the way a parsed one does. */
unsigned sdp_lines_ordered(const struct sdp_session *s, uint8_t idx[SDP_MAX_LINES])
{
    unsigned n = s->nline < SDP_MAX_LINES ? s->nline : SDP_MAX_LINES;

    for (unsigned i = 0; i < n; i++)
        idx[i] = (uint8_t) i;
    /* Stable insertion sort by (level, slot, t= index): at most 32 entries. */
    for (unsigned i = 1; i < n; i++) {
        uint8_t cur = idx[i];
        const struct sdp_line *c = &s->line[cur];
        unsigned long kc = (unsigned long) c->level << 16 |
                           (unsigned long) sdp_line_slot(c->type, c->level) << 8 |
                           (c->type == 'r' ? c->t_index : 0);
        unsigned j = i;
        while (j > 0) {
            const struct sdp_line *o = &s->line[idx[j - 1]];
            unsigned long ko = (unsigned long) o->level << 16 |
                               (unsigned long) sdp_line_slot(o->type, o->level) << 8 |
                               (o->type == 'r' ? o->t_index : 0);
            if (ko <= kc) break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = cur;
    }
    return n;
}

/* Text that is safe on one SDP line. */
static bool clean(struct sk_str v)
{
    for (size_t i = 0; i < v.len; i++)
        if (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == '\0') return false;
    return true;
}

static bool clean_c(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n < cap && clean(sk_str_make(s, n));
}

struct printer {
    const struct sdp_session *s;
    struct sk_buf *out;
    uint8_t lines[SDP_MAX_LINES];
    unsigned nlines;
    bool bad;
};

static void put_text(struct printer *pr, struct sdp_text t)
{
    struct sk_str v = sdp_str(pr->s, t);

    if (!clean(v)) pr->bad = true;
    sk_buf_put_str(pr->out, v);
}

static void put_cstr(struct printer *pr, const char *s, size_t cap)
{
    if (!clean_c(s, cap)) {
        pr->bad = true;
        return;
    }
    sk_buf_puts(pr->out, s);
}

#define PUT_FIELD(pr, field) put_cstr((pr), (field), sizeof(field))

static void put_addrtype(struct printer *pr, enum sdp_addrtype t)
{
    if (t == SDP_ADDR_IP4)
        sk_buf_puts(pr->out, "IN IP4 ");
    else if (t == SDP_ADDR_IP6)
        sk_buf_puts(pr->out, "IN IP6 ");
    else
        pr->bad = true;
}

static void put_conn_value(struct printer *pr, const struct sdp_conn *c)
{
    put_addrtype(pr, c->type);
    PUT_FIELD(pr, c->addr);
    PUT_FIELD(pr, c->suffix);
}

static void put_conn(struct printer *pr, const struct sdp_conn *c)
{
    if (c->type == SDP_ADDR_NONE) return;
    sk_buf_puts(pr->out, "c=");
    put_conn_value(pr, c);
    sk_buf_puts(pr->out, "\r\n");
}

static void put_bw(struct printer *pr, const struct sdp_bw *bw, unsigned n)
{
    if (n > SDP_MAX_BW) {
        pr->bad = true;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        sk_buf_puts(pr->out, "b=");
        PUT_FIELD(pr, bw[i].type);
        sk_buf_putc(pr->out, ':');
        sk_buf_put_u64(pr->out, bw[i].value);
        sk_buf_puts(pr->out, "\r\n");
    }
}

/* The kept lines of one level and slot (and, for r=, one t=), in order. */
static void put_lines(struct printer *pr, unsigned level, enum sdp_slot slot, unsigned t)
{
    for (unsigned i = 0; i < pr->nlines; i++) {
        const struct sdp_line *l = &pr->s->line[pr->lines[i]];
        if (l->level != level || sdp_line_slot(l->type, level) != slot ||
            (slot == SDP_SLOT_AFTER_T && l->t_index != t))
            continue;
        if (l->type < 'a' || l->type > 'z') pr->bad = true;
        sk_buf_putc(pr->out, l->type);
        sk_buf_putc(pr->out, '=');
        put_text(pr, l->text);
        sk_buf_puts(pr->out, "\r\n");
    }
}

static void put_kept(struct printer *pr, const struct sdp_attr *a)
{
    sk_buf_puts(pr->out, "a=");
    put_text(pr, a->name);
    if (a->has_value) {
        sk_buf_putc(pr->out, ':');
        put_text(pr, a->value);
    }
    sk_buf_puts(pr->out, "\r\n");
}

static void put_dir(struct printer *pr, enum sdp_dir d)
{
    if (d == SDP_DIR_UNSET) return;
    if (d > SDP_DIR_INACTIVE) {
        pr->bad = true;
        return;
    }
    sk_buf_puts(pr->out, "a=");
    sk_buf_puts(pr->out, sdp_dir_name(d));
    sk_buf_puts(pr->out, "\r\n");
}

static void put_rtpmap(struct printer *pr, const struct sdp_fmt *fm)
{
    if (!fm->rtpmap) return;
    sk_buf_puts(pr->out, "a=rtpmap:");
    PUT_FIELD(pr, fm->id);
    sk_buf_putc(pr->out, ' ');
    PUT_FIELD(pr, fm->enc);
    sk_buf_putc(pr->out, '/');
    sk_buf_put_u64(pr->out, fm->clock);
    if (fm->channels) {
        sk_buf_putc(pr->out, '/');
        sk_buf_put_u64(pr->out, fm->channels);
    }
    sk_buf_puts(pr->out, "\r\n");
}

static void put_fmtp(struct printer *pr, const struct sdp_fmt *fm)
{
    if (!fm->has_fmtp) return;
    sk_buf_puts(pr->out, "a=fmtp:");
    PUT_FIELD(pr, fm->id);
    if (fm->fmtp.len) {
        sk_buf_putc(pr->out, ' ');
        put_text(pr, fm->fmtp);
    }
    sk_buf_puts(pr->out, "\r\n");
}

static void put_number_attr(struct printer *pr, const char *name, uint64_t v)
{
    if (!v) return;
    sk_buf_puts(pr->out, name);
    sk_buf_put_u64(pr->out, v);
    sk_buf_puts(pr->out, "\r\n");
}

static void put_rtcp(struct printer *pr, const struct sdp_media *m)
{
    if (!m->has_rtcp) return;
    sk_buf_puts(pr->out, "a=rtcp:");
    sk_buf_put_u64(pr->out, m->rtcp_port);
    if (m->rtcp_conn.type != SDP_ADDR_NONE) {
        sk_buf_putc(pr->out, ' ');
        put_conn_value(pr, &m->rtcp_conn);
    }
    sk_buf_puts(pr->out, "\r\n");
}

/* One known attribute of a media line (or the session's direction). */
static void put_known(struct printer *pr, const struct sdp_media *m, enum sdp_dir dir,
                      unsigned kind, unsigned index)
{
    switch (kind) {
    case SDP_APOS_DIR: put_dir(pr, dir); break;
    case SDP_APOS_RTPMAP: put_rtpmap(pr, &m->fmt[index]); break;
    case SDP_APOS_FMTP: put_fmtp(pr, &m->fmt[index]); break;
    case SDP_APOS_PTIME: put_number_attr(pr, "a=ptime:", m->ptime); break;
    case SDP_APOS_MAXPTIME: put_number_attr(pr, "a=maxptime:", m->maxptime); break;
    case SDP_APOS_RTCP: put_rtcp(pr, m); break;
    case SDP_APOS_RTCP_MUX:
        if (m->rtcp_mux) sk_buf_puts(pr->out, "a=rtcp-mux\r\n");
        break;
    default: break;
    }
}

/* The a= lines of one level: first in the places they were parsed in, then
 * whatever has no recorded place in the fixed order. m is NULL for the session. */
static void put_attrs(struct printer *pr, unsigned level, const struct sdp_media *m)
{
    const struct sdp_session *s = pr->s;
    enum sdp_dir dir = m ? m->dir : s->dir;
    bool kept_done[SDP_MAX_ATTRS] = {false};
    bool map_done[SDP_MAX_FORMATS] = {false}, fmtp_done[SDP_MAX_FORMATS] = {false};
    unsigned scalar_done = 0; /* bit per kind */
    unsigned nfmt = m ? m->nfmt : 0;

    for (unsigned i = 0; i < s->napos && i < SDP_MAX_APOS; i++) {
        const struct sdp_apos *p = &s->apos[i];
        if (p->level != level) continue;
        if (p->kind == SDP_APOS_KEPT) {
            if (p->index < s->nattr && s->attr[p->index].level == level &&
                !kept_done[p->index]) {
                kept_done[p->index] = true;
                put_kept(pr, &s->attr[p->index]);
            }
        } else if (p->kind == SDP_APOS_RTPMAP || p->kind == SDP_APOS_FMTP) {
            bool *done = p->kind == SDP_APOS_RTPMAP ? map_done : fmtp_done;
            if (m && p->index < nfmt && !done[p->index]) {
                done[p->index] = true;
                put_known(pr, m, dir, p->kind, p->index);
            }
        } else if (p->kind <= SDP_APOS_DIR && (m || p->kind == SDP_APOS_DIR) &&
                   !(scalar_done & 1u << p->kind)) {
            scalar_done |= 1u << p->kind;
            put_known(pr, m, dir, p->kind, 0);
        }
    }
    for (unsigned f = 0; f < nfmt; f++) {
        if (!map_done[f]) put_rtpmap(pr, &m->fmt[f]);
        if (!fmtp_done[f]) put_fmtp(pr, &m->fmt[f]);
    }
    for (unsigned k = SDP_APOS_PTIME; k <= SDP_APOS_DIR; k++)
        if (!(scalar_done & 1u << k) && (m || k == SDP_APOS_DIR))
            put_known(pr, m, dir, k, 0);
    for (unsigned i = 0; i < s->nattr && i < SDP_MAX_ATTRS; i++)
        if (s->attr[i].level == level && !kept_done[i]) put_kept(pr, &s->attr[i]);
}

static void put_media(struct printer *pr, unsigned i)
{
    const struct sdp_media *m = &pr->s->media[i];
    unsigned level = i + 1;

    if (m->nfmt == 0 || m->nfmt > SDP_MAX_FORMATS) {
        pr->bad = true;
        return;
    }
    sk_buf_puts(pr->out, "m=");
    PUT_FIELD(pr, m->type);
    sk_buf_putc(pr->out, ' ');
    sk_buf_put_u64(pr->out, m->port);
    if (m->nports) {
        sk_buf_putc(pr->out, '/');
        sk_buf_put_u64(pr->out, m->nports);
    }
    sk_buf_putc(pr->out, ' ');
    PUT_FIELD(pr, m->proto);
    for (unsigned f = 0; f < m->nfmt; f++) {
        sk_buf_putc(pr->out, ' ');
        PUT_FIELD(pr, m->fmt[f].id);
    }
    sk_buf_puts(pr->out, "\r\n");
    put_lines(pr, level, SDP_SLOT_AFTER_S, 0);
    put_conn(pr, &m->conn);
    put_lines(pr, level, SDP_SLOT_AFTER_C, 0);
    put_bw(pr, m->bw, m->nbw);
    put_lines(pr, level, SDP_SLOT_AFTER_B, 0);
    put_lines(pr, level, SDP_SLOT_UNKNOWN, 0);
    put_attrs(pr, level, m);
}

int sdp_print(const struct sdp_session *s, struct sk_buf *out)
{
    struct printer pr = {.s = s, .out = out};
    const struct sdp_origin *o = &s->origin;
    size_t start = out->len;

    if (s->nmedia > SDP_MAX_MEDIA || s->ntime > SDP_MAX_TIMES ||
        s->nattr > SDP_MAX_ATTRS || s->nline > SDP_MAX_LINES)
        return EINVAL;
    pr.nlines = sdp_lines_ordered(s, pr.lines);
    sk_buf_puts(out, "v=0\r\no=");
    PUT_FIELD(&pr, o->user);
    sk_buf_putc(out, ' ');
    sk_buf_put_u64(out, o->sess_id);
    sk_buf_putc(out, ' ');
    sk_buf_put_u64(out, o->sess_version);
    sk_buf_putc(out, ' ');
    put_addrtype(&pr, o->type);
    PUT_FIELD(&pr, o->addr);
    sk_buf_puts(out, "\r\ns=");
    put_text(&pr, s->name);
    sk_buf_puts(out, "\r\n");
    put_lines(&pr, 0, SDP_SLOT_AFTER_S, 0);
    put_conn(&pr, &s->conn);
    put_bw(&pr, s->bw, s->nbw);
    if (s->ntime == 0)
        sk_buf_puts(out,
                    "t=0 0\r\n"); /* §5.9: required; a built description may omit it */
    for (unsigned t = 0; t < s->ntime; t++) {
        sk_buf_puts(out, "t=");
        sk_buf_put_u64(out, s->time[t].start);
        sk_buf_putc(out, ' ');
        sk_buf_put_u64(out, s->time[t].stop);
        sk_buf_puts(out, "\r\n");
        put_lines(&pr, 0, SDP_SLOT_AFTER_T, t);
    }
    put_lines(&pr, 0, SDP_SLOT_AFTER_B, 0);
    put_lines(&pr, 0, SDP_SLOT_UNKNOWN, 0);
    put_attrs(&pr, 0, NULL);
    for (unsigned i = 0; i < s->nmedia; i++)
        put_media(&pr, i);
    if (out->failed) return ENOMEM;
    if (pr.bad) {
        out->len = start; /* leave no half description behind */
        if (out->p) out->p[start] = '\0';
        return EINVAL;
    }
    return 0;
}

/* ---- comparison ---- */

static bool text_eq(const struct sdp_session *a, struct sdp_text ta,
                    const struct sdp_session *b, struct sdp_text tb)
{
    return sk_str_eq(sdp_str(a, ta), sdp_str(b, tb));
}

static bool conn_eq(const struct sdp_conn *a, const struct sdp_conn *b)
{
    if (a->type != b->type) return false;
    return a->type == SDP_ADDR_NONE ||
           (strcmp(a->addr, b->addr) == 0 && strcmp(a->suffix, b->suffix) == 0);
}

static bool bw_eq(const struct sdp_bw *a, unsigned na, const struct sdp_bw *b,
                  unsigned nb)
{
    if (na != nb || na > SDP_MAX_BW) return false;
    for (unsigned i = 0; i < na; i++)
        if (strcmp(a[i].type, b[i].type) != 0 || a[i].value != b[i].value) return false;
    return true;
}

static bool fmt_eq(const struct sdp_session *a, const struct sdp_fmt *x,
                   const struct sdp_session *b, const struct sdp_fmt *y)
{
    return strcmp(x->id, y->id) == 0 && x->pt == y->pt && x->rtpmap == y->rtpmap &&
           strcmp(x->enc, y->enc) == 0 && x->clock == y->clock &&
           x->channels == y->channels && x->has_fmtp == y->has_fmtp &&
           (!x->has_fmtp || text_eq(a, x->fmtp, b, y->fmtp));
}

static bool media_eq(const struct sdp_session *a, const struct sdp_media *x,
                     const struct sdp_session *b, const struct sdp_media *y)
{
    if (strcmp(x->type, y->type) != 0 || x->kind != y->kind || x->port != y->port ||
        x->nports != y->nports || strcmp(x->proto, y->proto) != 0 || x->rtp != y->rtp ||
        x->nfmt != y->nfmt || x->nfmt > SDP_MAX_FORMATS || !conn_eq(&x->conn, &y->conn) ||
        !bw_eq(x->bw, x->nbw, y->bw, y->nbw) || x->dir != y->dir ||
        x->ptime != y->ptime || x->maxptime != y->maxptime ||
        x->has_rtcp != y->has_rtcp || x->rtcp_mux != y->rtcp_mux)
        return false;
    if (x->has_rtcp &&
        (x->rtcp_port != y->rtcp_port || !conn_eq(&x->rtcp_conn, &y->rtcp_conn)))
        return false;
    for (unsigned i = 0; i < x->nfmt; i++)
        if (!fmt_eq(a, &x->fmt[i], b, &y->fmt[i])) return false;
    return true;
}

/* Attributes of one level, in order. */
static bool attrs_eq(const struct sdp_session *a, const struct sdp_session *b,
                     unsigned level)
{
    unsigned i = 0, j = 0;

    for (;;) {
        while (i < a->nattr && a->attr[i].level != level)
            i++;
        while (j < b->nattr && b->attr[j].level != level)
            j++;
        if (i >= a->nattr || j >= b->nattr) return i >= a->nattr && j >= b->nattr;
        const struct sdp_attr *x = &a->attr[i++], *y = &b->attr[j++];
        if (x->has_value != y->has_value || !text_eq(a, x->name, b, y->name) ||
            (x->has_value && !text_eq(a, x->value, b, y->value)))
            return false;
    }
}

bool sdp_session_equal(const struct sdp_session *a, const struct sdp_session *b)
{
    const struct sdp_origin *oa = &a->origin, *ob = &b->origin;
    uint8_t ia[SDP_MAX_LINES], ib[SDP_MAX_LINES];
    unsigned na, nb;

    if (a->nmedia > SDP_MAX_MEDIA || a->ntime > SDP_MAX_TIMES ||
        a->nattr > SDP_MAX_ATTRS || b->nattr > SDP_MAX_ATTRS)
        return false;
    if (strcmp(oa->user, ob->user) != 0 || oa->sess_id != ob->sess_id ||
        oa->sess_version != ob->sess_version || oa->type != ob->type ||
        strcmp(oa->addr, ob->addr) != 0 || !text_eq(a, a->name, b, b->name) ||
        !conn_eq(&a->conn, &b->conn) || !bw_eq(a->bw, a->nbw, b->bw, b->nbw) ||
        a->ntime != b->ntime || a->dir != b->dir || a->nmedia != b->nmedia)
        return false;
    for (unsigned t = 0; t < a->ntime; t++)
        if (a->time[t].start != b->time[t].start || a->time[t].stop != b->time[t].stop)
            return false;
    for (unsigned i = 0; i < a->nmedia; i++)
        if (!media_eq(a, &a->media[i], b, &b->media[i])) return false;
    for (unsigned l = 0; l <= a->nmedia; l++)
        if (!attrs_eq(a, b, l)) return false;
    na = sdp_lines_ordered(a, ia);
    nb = sdp_lines_ordered(b, ib);
    if (na != nb) return false;
    for (unsigned i = 0; i < na; i++) {
        const struct sdp_line *x = &a->line[ia[i]], *y = &b->line[ib[i]];
        if (x->type != y->type || x->level != y->level ||
            (x->type == 'r' && x->t_index != y->t_index) ||
            !text_eq(a, x->text, b, y->text))
            return false;
    }
    return true;
}
