/* RFC 3264 offer/answer for one audio stream: our offers, answers to offers, and applying
 * an answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/rand.h"
#include "sdp/sdp.h"

#define SDP_TE_NAME "telephone-event"
#define SDP_TE_FMTP "0-16" /* RFC 4733 §7.1.1: the DTMF events */
#define SDP_TE_CLOCK 8000
#define SDP_DEFAULT_PTIME 20

/* The packet time to use: the offer's (or answer's) a=ptime when it is one we
 * can packetise (RFC 3264 §6.1: ptime is a wish, and the answer says its own),
 * else ours. */
static uint32_t usable_ptime(uint32_t theirs, uint32_t ours)
{
    return theirs >= SDP_PTIME_MIN && theirs <= SDP_PTIME_MAX ? theirs : ours;
}
#define SDP_PRINT_STACK 2048

enum { DIR_SEND = 1, DIR_RECV = 2 };

static unsigned dir_bits(enum sdp_dir d)
{
    switch (d) {
    case SDP_DIR_SENDONLY: return DIR_SEND;
    case SDP_DIR_RECVONLY: return DIR_RECV;
    case SDP_DIR_INACTIVE: return 0;
    default: return DIR_SEND | DIR_RECV;
    }
}

static enum sdp_dir dir_from_bits(unsigned b)
{
    static const enum sdp_dir d[] = {SDP_DIR_INACTIVE, SDP_DIR_SENDONLY, SDP_DIR_RECVONLY,
                                     SDP_DIR_SENDRECV};
    return d[b & 3];
}

/* RFC 3264 §8.4: the RFC 2543 way to hold, a connection address of zero. */
static bool conn_is_hold(const struct sdp_conn *c)
{
    return c && ((c->type == SDP_ADDR_IP4 && strcmp(c->addr, "0.0.0.0") == 0) ||
                 (c->type == SDP_ADDR_IP6 && strcmp(c->addr, "::") == 0));
}

static bool token_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == 0 || n >= cap) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f || s[i] == '/')
            return false;
    return true;
}

static int local_check(const struct sdp_local *l)
{
    struct sk_sa sa;

    if (l->ncodec == 0 || l->ncodec > SDP_MAX_CODECS || l->te_pt > 127 ||
        (l->af != SDP_ADDR_IP4 && l->af != SDP_ADDR_IP6) ||
        !token_ok(l->user, sizeof(l->user)) || l->dir < SDP_DIR_SENDRECV ||
        l->dir > SDP_DIR_INACTIVE || l->ptime > 1000)
        return EINVAL;
    if (strnlen(l->addr, sizeof(l->addr)) >= sizeof(l->addr) ||
        sk_sa_from_ip(&sa, sk_str_cstr(l->addr), 0) != 0 ||
        (sa.u.sa.sa_family == AF_INET) != (l->af == SDP_ADDR_IP4))
        return EINVAL;
    for (unsigned i = 0; i < l->ncodec; i++) {
        if (l->codec[i].pt > 127 ||
            !token_ok(l->codec[i].name, sizeof(l->codec[i].name)) ||
            l->codec[i].clock == 0 || (l->te_pt && l->codec[i].pt == l->te_pt))
            return EINVAL;
        for (unsigned j = 0; j < i; j++)
            if (l->codec[j].pt == l->codec[i].pt) return EINVAL;
    }
    return 0;
}

int sdp_local_init(struct sdp_local *l, const char *addr, uint16_t port)
{
    struct sk_sa sa;

    memset(l, 0, sizeof(*l));
    if (!addr || strlen(addr) >= sizeof(l->addr) ||
        sk_sa_from_ip(&sa, sk_str_cstr(addr), 0))
        return EINVAL;
    l->af = sa.u.sa.sa_family == AF_INET ? SDP_ADDR_IP4 : SDP_ADDR_IP6;
    strcpy(l->addr, addr);
    l->port = port;
    l->codec[0] = (struct sdp_codec){.pt = 0, .name = "PCMU", .clock = 8000};
    l->codec[1] = (struct sdp_codec){.pt = 8, .name = "PCMA", .clock = 8000};
    l->ncodec = 2;
    l->te_pt = 101;
    l->ptime = SDP_DEFAULT_PTIME;
    l->dir = SDP_DIR_SENDRECV;
    strcpy(l->user, "-");
    /* RFC 4566 §5.2: any number unique for this user; below 2^31 so that peers
     * that read it as a signed 32-bit number cope. */
    l->sess_id = (sk_rand64() >> 34) + 1;
    l->sess_version = l->sess_id;
    return 0;
}

/* v= o= s= c= t= of our descriptions (sess-version set by finish). */
static void build_head(const struct sdp_local *l, struct sdp_session *s)
{
    sdp_session_init(s);
    strcpy(s->origin.user, l->user);
    s->origin.sess_id = l->sess_id;
    s->origin.type = l->af;
    strcpy(s->origin.addr, l->addr);
    sdp_text_set(s, &s->name, SK_STR_LIT("-"));
    s->conn.type = l->af;
    strcpy(s->conn.addr, l->addr);
    s->ntime = 1;
}

static void fmt_set(struct sdp_fmt *f, uint8_t pt, const char *enc, uint32_t clock,
                    uint8_t channels)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->id, sizeof(f->id), "%u", pt);
    f->pt = pt;
    f->rtpmap = true;
    snprintf(f->enc, sizeof(f->enc), "%s", enc);
    f->clock = clock;
    f->channels = channels > 1 ? channels : 0;
}

static int add_te(struct sdp_session *s, struct sdp_media *m, uint8_t pt)
{
    struct sdp_fmt *f = &m->fmt[m->nfmt++];

    fmt_set(f, pt, SDP_TE_NAME, SDP_TE_CLOCK, 0);
    f->has_fmtp = true;
    return sdp_text_set(s, &f->fmtp, SK_STR_LIT(SDP_TE_FMTP));
}

static void media_audio(struct sdp_media *m, uint16_t port, uint32_t ptime,
                        enum sdp_dir dir)
{
    memset(m, 0, sizeof(*m));
    strcpy(m->type, "audio");
    m->kind = SDP_MEDIA_AUDIO;
    m->port = port;
    strcpy(m->proto, "RTP/AVP");
    m->rtp = true;
    m->ptime = ptime;
    m->dir = dir;
}

/* RFC 3264 §8: sess-version moves by one exactly when the description differs
 * from the last one we built for this session. */
static int finish(struct sdp_local *l, struct sdp_session *s)
{
    char mem[SDP_PRINT_STACK];
    struct sk_buf b;
    uint64_t h;
    int rc;

    s->origin.sess_version = 0;
    sk_buf_init_ext(&b, mem, sizeof(mem));
    rc = sdp_print(s, &b);
    h = sk_hash(b.p, b.len);
    sk_buf_free(&b);
    if (rc) return rc;
    if (l->sent && h != l->sent_hash) l->sess_version++;
    l->sent = true;
    l->sent_hash = h;
    s->origin.sess_version = l->sess_version;
    return 0;
}

int sdp_offer_new(struct sdp_local *l, struct sdp_session *offer)
{
    struct sdp_media *m;
    int rc;

    if ((rc = local_check(l))) return rc;
    build_head(l, offer);
    m = &offer->media[0];
    media_audio(m, l->port, l->ptime, l->dir);
    for (unsigned i = 0; i < l->ncodec; i++)
        fmt_set(&m->fmt[m->nfmt++], l->codec[i].pt, l->codec[i].name, l->codec[i].clock,
                l->codec[i].channels);
    if (l->te_pt && (rc = add_te(offer, m, l->te_pt))) return rc;
    offer->nmedia = 1;
    return finish(l, offer);
}

static unsigned channels_of(unsigned c)
{
    return c ? c : 1;
}

static bool fmt_is(const struct sdp_fmt *f, const char *enc, uint32_t clock, unsigned ch)
{
    return f->pt >= 0 && f->enc[0] && sk_str_ieq_cstr(sk_str_cstr(f->enc), enc) &&
           f->clock == clock && channels_of(f->channels) == channels_of(ch);
}

static bool fmt_is_te(const struct sdp_fmt *f)
{
    return f->pt >= 0 && sk_str_ieq_cstr(sk_str_cstr(f->enc), SDP_TE_NAME);
}

/* The rejected form of an offered line (§6: port 0, formats kept valid). */
static void media_reject(struct sdp_media *am, const struct sdp_media *om)
{
    const char *enc;
    struct sdp_fmt *f = &am->fmt[0];

    memset(am, 0, sizeof(*am));
    memcpy(am->type, om->type, sizeof(am->type));
    am->kind = om->kind;
    memcpy(am->proto, om->proto, sizeof(am->proto));
    am->rtp = om->rtp;
    memcpy(f->id, om->fmt[0].id, sizeof(f->id));
    f->pt = om->fmt[0].pt;
    if (om->nfmt == 0 || f->id[0] == '\0') { /* an offer built without formats */
        strcpy(f->id, "0");
        f->pt = om->rtp ? 0 : -1;
    }
    if (sdp_static_pt(f->pt, &enc, &f->clock, &f->channels))
        snprintf(f->enc, sizeof(f->enc), "%s", enc);
    am->nfmt = 1;
}

static void oa_fail(struct sdp_oa_fail *fail, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void oa_fail(struct sdp_oa_fail *fail, int warn, const char *fmt, ...)
{
    va_list ap;

    if (!fail) return;
    fail->status = 488;
    fail->warn_code = warn;
    va_start(ap, fmt);
    vsnprintf(fail->text, sizeof(fail->text), fmt, ap);
    va_end(ap);
}

/* Where the peer wants RTP and RTCP on line m (RFC 3605: a=rtcp, else port + 1). */
static int remote_addrs(const struct sdp_session *s, const struct sdp_media *m,
                        struct sdp_neg *neg)
{
    const struct sdp_conn *c = sdp_media_conn(s, m);
    const char *rtcp_ip;

    if (!c || sk_sa_from_ip(&neg->rtp, sk_str_cstr(c->addr), m->port)) return EINVAL;
    rtcp_ip =
        (m->has_rtcp && m->rtcp_conn.type != SDP_ADDR_NONE) ? m->rtcp_conn.addr : c->addr;
    if (sk_sa_from_ip(&neg->rtcp, sk_str_cstr(rtcp_ip),
                      m->has_rtcp ? m->rtcp_port : (uint16_t) (m->port + 1)))
        return EINVAL;
    return 0;
}

enum take { TAKE_OK, TAKE_MEDIA = 304, TAKE_FORMAT = 305, TAKE_ADDR = 301 };

/* Can we take offered line i? Fills the answer line and *neg when we can. */
static enum take answer_line(const struct sdp_session *offer, unsigned i,
                             const struct sdp_local *l, struct sdp_session *answer,
                             struct sdp_neg *neg)
{
    const struct sdp_media *om = &offer->media[i];
    struct sdp_media *am = &answer->media[i];
    const struct sdp_conn *c = sdp_media_conn(offer, om);
    const struct sdp_fmt *pick = NULL, *te = NULL;
    unsigned obits, abits;
    bool hold;

    if (om->kind != SDP_MEDIA_AUDIO ||
        !sk_str_ieq_cstr(sk_str_cstr(om->proto), "RTP/AVP"))
        return TAKE_MEDIA;
    if (!c || c->type != l->af || sk_sa_from_ip(&neg->rtp, sk_str_cstr(c->addr), 0))
        return TAKE_ADDR;
    /* RFC 3264 §6.1: the offerer's order decides among the codecs we both have. */
    for (unsigned f = 0; f < om->nfmt && !pick; f++)
        for (unsigned k = 0; k < l->ncodec && !pick; k++)
            if (fmt_is(&om->fmt[f], l->codec[k].name, l->codec[k].clock,
                       l->codec[k].channels))
                pick = &om->fmt[f];
    if (!pick) return TAKE_FORMAT;
    for (unsigned f = 0; f < om->nfmt && l->te_pt && !te; f++)
        if (fmt_is_te(&om->fmt[f]) && om->fmt[f].clock == pick->clock) te = &om->fmt[f];
    if (remote_addrs(offer, om, neg)) return TAKE_ADDR;

    /* §6.1 direction: we send only what the offerer receives, and receive only
     * what it sends; an RFC 2543 hold (c=0.0.0.0) receives nothing. */
    hold = conn_is_hold(c);
    obits = dir_bits(sdp_media_dir(offer, om));
    if (hold) obits &= ~(unsigned) DIR_RECV;
    abits = dir_bits(l->dir);
    abits = ((obits & DIR_RECV) && (abits & DIR_SEND) ? DIR_SEND : 0) |
            ((obits & DIR_SEND) && (abits & DIR_RECV) ? DIR_RECV : 0);

    media_audio(am, l->port, usable_ptime(om->ptime, l->ptime), dir_from_bits(abits));
    fmt_set(&am->fmt[am->nfmt++], (uint8_t) pick->pt, pick->enc, pick->clock,
            pick->channels);
    if (te && add_te(answer, am, (uint8_t) te->pt)) return TAKE_FORMAT;

    neg->active = true;
    neg->media_index = i;
    neg->codec.pt = (uint8_t) pick->pt;
    snprintf(neg->codec.name, sizeof(neg->codec.name), "%s", pick->enc);
    neg->codec.clock = pick->clock;
    neg->codec.channels = pick->channels;
    neg->te_pt = te ? (uint8_t) te->pt : 0;
    neg->ptime = usable_ptime(om->ptime, l->ptime);
    neg->local_dir = dir_from_bits(abits);
    neg->remote_dir = sdp_media_dir(offer, om);
    neg->send = (abits & DIR_SEND) && !hold;
    neg->recv = (abits & DIR_RECV) != 0;
    /* A hold is the peer not wanting our media: sendonly, inactive or c=0.0.0.0. */
    neg->remote_hold = hold || !(dir_bits(neg->remote_dir) & DIR_RECV);
    return TAKE_OK;
}

int sdp_answer_new(const struct sdp_session *offer, struct sdp_local *l,
                   struct sdp_session *answer, struct sdp_neg *neg,
                   struct sdp_oa_fail *fail)
{
    enum take worst = TAKE_MEDIA;
    int rc;

    memset(neg, 0, sizeof(*neg));
    if (fail) memset(fail, 0, sizeof(*fail));
    if ((rc = local_check(l)) || offer->nmedia > SDP_MAX_MEDIA) return EINVAL;
    build_head(l, answer);
    /* RFC 3264 §6: the answer's t= equals the offer's. */
    if (offer->ntime >= 1 && offer->ntime <= SDP_MAX_TIMES) {
        answer->ntime = offer->ntime;
        memcpy(answer->time, offer->time, sizeof(answer->time[0]) * offer->ntime);
    }
    for (unsigned i = 0; i < offer->nmedia; i++) {
        const struct sdp_media *om = &offer->media[i];
        enum take t = TAKE_MEDIA;

        /* §6: a line offered with port 0 is answered with port 0; we take one
         * audio stream (we have one RTP port), the first we can. */
        if (om->port != 0 && !neg->active) {
            struct sdp_neg try = {0};
            t = answer_line(offer, i, l, answer, &try);
            if (t == TAKE_OK) *neg = try;
        }
        if (t != TAKE_OK) media_reject(&answer->media[i], om);
        /* The most telling reason: a format mismatch over an address one over "no audio".
         */
        if (t == TAKE_FORMAT || (t == TAKE_ADDR && worst == TAKE_MEDIA)) worst = t;
    }
    answer->nmedia = offer->nmedia;
    if (!neg->active) {
        if (worst == TAKE_FORMAT)
            oa_fail(fail, 305, "Incompatible media format: no common audio codec");
        else if (worst == TAKE_ADDR)
            oa_fail(fail, 301, "Incompatible network address format");
        else
            oa_fail(fail, 304, "Media type not available: no RTP/AVP audio stream");
        return EPROTO;
    }
    return finish(l, answer);
}

int sdp_answer_apply(const struct sdp_session *offer, const struct sdp_session *answer,
                     struct sdp_neg *neg, struct sdp_oa_fail *fail)
{
    bool codec_missing = false;

    memset(neg, 0, sizeof(*neg));
    if (fail) memset(fail, 0, sizeof(*fail));
    /* RFC 3264 §6: one answer line per offered line, in order. */
    if (answer->nmedia != offer->nmedia || offer->nmedia > SDP_MAX_MEDIA) {
        oa_fail(fail, 304, "answer has %u m= lines for %u offered", answer->nmedia,
                offer->nmedia);
        return EPROTO;
    }
    for (unsigned i = 0; i < offer->nmedia; i++) {
        const struct sdp_media *om = &offer->media[i], *am = &answer->media[i];
        const struct sdp_fmt *pick = NULL, *te = NULL;
        const struct sdp_conn *c;
        unsigned lbits, rbits;
        bool hold;

        if (strcmp(om->type, am->type) != 0 ||
            !sk_str_ieq_cstr(sk_str_cstr(om->proto), am->proto)) {
            oa_fail(fail, 304, "answer line %u is %s %s for an offered %s %s", i + 1,
                    am->type, am->proto, om->type, om->proto);
            return EPROTO;
        }
        if (am->port == 0 || om->port == 0 || neg->active ||
            om->kind != SDP_MEDIA_AUDIO || !om->rtp)
            continue;
        /* §6.1: the answerer's first format that we offered is what it will send. */
        for (unsigned f = 0; f < am->nfmt; f++) {
            const struct sdp_fmt *of =
                am->fmt[f].pt >= 0 ? sdp_media_fmt(om, am->fmt[f].pt) : NULL;
            if (!of) continue;
            if (fmt_is_te(of)) {
                if (!te) te = of;
            } else if (!pick && of->enc[0]) {
                pick = of;
            }
        }
        if (!pick) {
            codec_missing = true;
            continue;
        }
        if (remote_addrs(answer, am, neg)) {
            oa_fail(fail, 301, "answer line %u: address not usable", i + 1);
            return EPROTO;
        }
        c = sdp_media_conn(answer, am);
        hold = conn_is_hold(c);
        lbits = dir_bits(sdp_media_dir(offer, om));
        rbits = dir_bits(sdp_media_dir(answer, am));
        if (hold) rbits &= ~(unsigned) DIR_RECV;
        neg->active = true;
        neg->media_index = i;
        neg->codec.pt = (uint8_t) pick->pt;
        snprintf(neg->codec.name, sizeof(neg->codec.name), "%s", pick->enc);
        neg->codec.clock = pick->clock;
        neg->codec.channels = pick->channels;
        neg->te_pt = te ? (uint8_t) te->pt : 0;
        neg->ptime = usable_ptime(am->ptime, usable_ptime(om->ptime, SDP_DEFAULT_PTIME));
        neg->local_dir = sdp_media_dir(offer, om);
        neg->remote_dir = sdp_media_dir(answer, am);
        neg->send = (lbits & DIR_SEND) && (rbits & DIR_RECV);
        neg->recv = (lbits & DIR_RECV) && (rbits & DIR_SEND);
        /* Their refusing our media is a hold only when we offered to send. */
        neg->remote_hold = hold || ((lbits & DIR_SEND) && !(rbits & DIR_RECV));
    }
    if (!neg->active) {
        if (codec_missing)
            oa_fail(fail, 305, "answer names no codec we offered");
        else
            oa_fail(fail, 304, "answer accepts no audio stream");
        return EPROTO;
    }
    return 0;
}
