/* Diagnosis rules about media: one-way audio (and its NAT cause), no RTP, silence
 * instead of ringback after a 183 with SDP. */
#include <stdio.h>
#include <string.h>

#include "flow/diag_int.h"
#include "media/emodel.h"

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    if (a->u.sa.sa_family == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
}

/* b flows back towards a's source (the other direction of the call) */
static bool opposite(const struct flow_stream *a, const struct flow_stream *b)
{
    return same_ip(&b->src, &a->dst) || same_ip(&b->dst, &a->src);
}

static bool stream_of(const struct diag *d, const struct flow_stream *s)
{
    return s->item == (int32_t) d->index && s->seq.packets >= 2;
}

/* Rule: an answered call whose RTP flows one way only, or not at all. */
static void rule_one_way(struct diag *d)
{
    const struct flow_item *it = d->it;
    const struct flow_stream *s = d->streams, *a = NULL, *b = NULL;
    struct flow_finding *f;

    if (it->kind != FLOW_ITEM_CALL || !it->answer_ns) return;
    if (diag_has(d, "nat-one-way-audio")) return; /* said, with its cause */
    for (size_t i = 0; i < d->nstreams; i++) {
        if (!stream_of(d, &s[i])) continue;
        if (!a)
            a = &s[i];
        else if (!b && opposite(a, &s[i]))
            b = &s[i];
    }
    if (a && b) return;
    f = diag_add(d, FLOW_SEV_WARNING, a ? "one-way-audio" : "no-rtp");
    if (!f) return;
    if (a) {
        char src[64], dst[64];
        diag_printf(f->summary, sizeof(f->summary), "one-way audio?");
        diag_printf(f->detail, sizeof(f->detail), "RTP only from %s to %s, none back",
                    sk_sa_str(&a->src, src, sizeof(src)),
                    sk_sa_str(&a->dst, dst, sizeof(dst)));
        diag_printf(
            f->fix, sizeof(f->fix),
            "check NAT and firewalls on the silent side: the address in its SDP (c=, "
            "m= port) must be reachable; consider symmetric RTP or a media relay");
        diag_frame(f, a->first_frame);
    } else {
        diag_printf(f->summary, sizeof(f->summary), "no RTP seen");
        diag_printf(f->detail, sizeof(f->detail),
                    "the call was answered but the capture holds no RTP for it");
        diag_printf(
            f->fix, sizeof(f->fix),
            "capture where the media flows too (not only port 5060); else check the "
            "SDP addresses and firewalls");
    }
    diag_frame(f, it->final_frame);
}

/* The audio (or first) media address of the SDP in d->sdp. */
static bool sdp_media_addr(const struct sdp_session *s, struct sk_sa *out)
{
    const struct sdp_media *md = NULL;
    const struct sdp_conn *c;

    for (unsigned i = 0; i < s->nmedia && !md; i++)
        if (s->media[i].kind == SDP_MEDIA_AUDIO) md = &s->media[i];
    if (!md && s->nmedia) md = &s->media[0];
    if (!md || !md->port) return false;
    c = sdp_media_conn(s, md);
    if (!c || c->type == SDP_ADDR_NONE) return false;
    return sk_sa_from_ip(out, sk_str_cstr(c->addr), md->port) == 0;
}

/* What a message behind NAT gave away: a private address in its SDP or Contact while
 * the packet came from a public one. */
struct nat_clue {
    const struct flow_msg *msg;
    struct sk_sa media; /* the private SDP address, family 0: none */
    bool contact;       /* the Contact was private too */
};

static void find_nat_clue(struct diag *d, struct nat_clue *sdp_clue,
                          struct nat_clue *contact_clue)
{
    const struct flow_msg *fm;

    memset(sdp_clue, 0, sizeof(*sdp_clue));
    memset(contact_clue, 0, sizeof(*contact_clue));
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        const struct sip_addr *c;
        size_t n;
        struct sip_error err;
        struct sk_sa a;

        if (fm->retrans || flow_addr_scope(&fm->src) != FLOW_ADDR_PUBLIC) continue;
        if (sdp_clue->msg && contact_clue->msg) return;
        if (!diag_parse(d, fm)) continue;
        if (!sdp_clue->msg && fm->has_sdp && diag_parse_sdp(d) &&
            sdp_media_addr(d->sdp, &a) && flow_addr_scope(&a) == FLOW_ADDR_PRIVATE &&
            !same_ip(&a, &fm->src)) {
            sdp_clue->msg = fm;
            sdp_clue->media = a;
        }
        if (!contact_clue->msg &&
            sip_msg_addrs(d->sm, SIP_HDR_CONTACT, &c, &n, &err) == 0 && n &&
            sk_sa_from_ip(&a, c[0].uri.host, 5060) == 0 &&
            flow_addr_scope(&a) == FLOW_ADDR_PRIVATE && !same_ip(&a, &fm->src)) {
            contact_clue->msg = fm;
            contact_clue->contact = true;
        }
    }
}

/* Rule: one-way audio behind NAT. The phone put its private address in the SDP (or
 * Contact) of a message that reached the far side from a public one (the NAT); the far
 * end sends RTP to the private address, which nobody sends from, so it never
 * arrives. */
static void rule_nat(struct diag *d)
{
    struct nat_clue sc, cc;
    const struct flow_stream *dead = NULL, *via_nat = NULL;
    const struct flow_stream *s = d->streams;
    struct flow_finding *f;
    char priv[64], pub[64];

    if (d->it->kind != FLOW_ITEM_CALL) return;
    find_nat_clue(d, &sc, &cc);
    if (!sc.msg && !cc.msg) return;
    if (sc.msg) {
        for (size_t i = 0; i < d->nstreams && !dead; i++) {
            bool back = false;
            if (s[i].item != (int32_t) d->index || !sk_sa_equal(&s[i].dst, &sc.media))
                continue;
            for (size_t k = 0; k < d->nall_streams && !back; k++)
                back = sk_sa_equal(&d->all_streams[k].src, &sc.media);
            if (!back) dead = &s[i];
        }
        for (size_t i = 0; i < d->nstreams && !via_nat; i++)
            if (stream_of(d, &s[i]) && same_ip(&s[i].src, &sc.msg->src)) via_nat = &s[i];
        /* symmetric RTP (RFC 4961, "comedia"): the far end sent its first packets to
         * the private address, then to where the RTP came from, the NAT: not dead */
        for (size_t k = 0; dead && k < d->nstreams; k++)
            if (s[k].item == (int32_t) d->index && sk_sa_equal(&s[k].src, &dead->src) &&
                same_ip(&s[k].dst, &sc.msg->src) && s[k].seq.packets > dead->seq.packets)
                dead = NULL;
    }
    sk_sa_ip(&(sc.msg ? sc.msg : cc.msg)->src, pub, sizeof(pub));
    if (dead) {
        f = diag_add(d, FLOW_SEV_ERROR, "nat-one-way-audio");
        if (!f) return;
        diag_printf(f->summary, sizeof(f->summary),
                    "one-way audio: private address behind NAT");
        diag_printf(f->detail, sizeof(f->detail),
                    "%s %s (private) but came from %s: RTP sent there gets "
                    "nothing back%s",
                    cc.msg ? "the SDP and Contact give" : "the SDP gives",
                    sk_sa_str(&sc.media, priv, sizeof(priv)), pub,
                    via_nat ? ", while that side's RTP arrives from the NAT" : "");
    } else if (d->it->answer_ns && sc.msg && via_nat) {
        /* only when media did cross the NAT: phones on one LAN behind a hosted PBX
         * send each other RTP on their private addresses, rightly */
        f = diag_add(d, FLOW_SEV_WARNING, "nat-private-sdp");
        if (!f) return;
        diag_printf(f->summary, sizeof(f->summary), "private SDP address behind NAT");
        diag_printf(
            f->detail, sizeof(f->detail),
            "the SDP offers %s (private) but came from %s: media reaches it only if "
            "the far end answers to where the RTP comes from",
            sk_sa_ip(&sc.media, priv, sizeof(priv)), pub);
    } else if (d->it->answer_ns && cc.msg) {
        /* the SDP clue alone, with no media across the NAT, says nothing more */
        f = diag_add(d, FLOW_SEV_WARNING, "nat-private-contact");
        if (!f) return;
        diag_printf(f->summary, sizeof(f->summary), "private Contact behind NAT");
        diag_printf(f->detail, sizeof(f->detail),
                    "the Contact holds a private address but the message came from %s: "
                    "requests in the dialog (BYE, re-INVITE) sent there will not arrive",
                    pub);
        diag_printf(
            f->fix, sizeof(f->fix),
            "let the proxy use the source address (rport, RFC 3581; outbound, RFC "
            "5626) or enable STUN on the phone");
        diag_frame(f, cc.msg->frame);
        return;
    } else {
        return;
    }
    diag_printf(
        f->fix, sizeof(f->fix),
        "the phone advertises its private address; enable symmetric RTP/comedia on "
        "the far end, STUN/ICE on the phone, or a media relay (RTP proxy)");
    diag_frame(f, sc.msg->frame);
    if (dead) diag_frame(f, dead->first_frame);
    if (via_nat) diag_frame(f, via_nat->first_frame);
    if (cc.msg) diag_frame(f, cc.msg->frame);
}

/* Rule: a 183 with SDP (the caller stops its local ringback and plays the callee's
 * media, RFC 3960 §3) followed by no RTP from the callee until the answer. */
static void rule_ringback(struct diag *d)
{
    const struct flow_item *it = d->it;
    const struct flow_msg *fm, *early = NULL, *answer = NULL;
    const struct flow_sdp *sd;
    const struct flow_stream *s = d->streams, *later = NULL;
    struct sk_sa callee_media;
    uint64_t until;
    struct flow_finding *f;

    if (it->kind != FLOW_ITEM_CALL) return;
    for (size_t i = d->msg_first; (fm = diag_next_msg(d, &i)) != NULL; i++) {
        if (fm->request || fm->method != SIP_METHOD_INVITE || fm->retrans ||
            fm->cseq != it->invite_cseq)
            continue;
        if (!early && fm->status >= 180 && fm->status < 190 && fm->has_sdp) early = fm;
        if (!answer && fm->status >= 200 && fm->status < 300) answer = fm;
    }
    if (!early || (answer && answer->ts_ns < early->ts_ns)) return;
    sd = flow_model_sdp(d->m, early->sdp);
    if (!sd || sd->bad || !sd->port ||
        sk_sa_from_ip(&callee_media, sk_str_cstr(sd->addr), sd->port))
        return;
    until = answer ? answer->ts_ns : (it->end_ns ? it->end_ns : it->last_ns);
    if (until < early->ts_ns + DIAG_RINGBACK_GAP_NS) return;
    for (size_t i = 0; i < d->nstreams; i++) {
        /* from the callee: every stream of the call not sent to the callee's address */
        if (s[i].item != (int32_t) d->index || sk_sa_equal(&s[i].dst, &callee_media))
            continue;
        if (s[i].first_ns < until && s[i].last_ns + DIAG_NS_PER_S / 2 > early->ts_ns)
            return; /* early media */
        if (!later || s[i].first_ns < later->first_ns) later = &s[i];
    }
    f = diag_add(d, FLOW_SEV_WARNING, "no-ringback");
    if (!f) return;
    diag_printf(f->summary, sizeof(f->summary), "silence instead of ringback (%.1f s)",
                diag_secs(until - early->ts_ns));
    diag_printf(f->detail, sizeof(f->detail),
                "%d %s came with SDP, so the caller waits for the callee's early media "
                "instead of playing ringback, but no RTP came from the callee for %.1f s "
                "(until the %s)",
                early->status, early->reason, diag_secs(until - early->ts_ns),
                answer ? "answer" : "end of the call");
    diag_printf(
        f->fix, sizeof(f->fix),
        "the callee (or its gateway) should send 180 without SDP, or play ringback "
        "as early media after its 183; or have the caller play local ringback on a "
        "silent 183");
    diag_frame(f, early->frame);
    if (answer) diag_frame(f, answer->frame);
    if (later) diag_frame(f, later->first_frame);
}

/* Streams shorter than this say too little about loss and jitter. */
#define DIAG_QUALITY_MIN_PACKETS 50

/* Rule: packet loss or jitter on a stream of the call past the "good" thresholds of
 * the call report (QUALITY.md: loss < 1 %, jitter < 20 ms); poor (> 3 %, > 50 ms) is an
 * error. One finding per figure, for the worst stream. */
static void rule_quality(struct diag *d)
{
    const struct flow_stream *s = d->streams, *wl = NULL, *wj = NULL;
    struct flow_stream_figures fl = {0}, fj = {0}, f;
    char src[64], dst[64];
    struct flow_finding *out;

    if (d->it->kind != FLOW_ITEM_CALL) return;
    for (size_t i = 0; i < d->nstreams; i++) {
        if (s[i].item != (int32_t) d->index ||
            s[i].seq.packets < DIAG_QUALITY_MIN_PACKETS)
            continue;
        flow_stream_figures(&s[i], &f);
        if (emodel_quality_loss(f.loss_pct) != MEDIA_QUALITY_GOOD &&
            (!wl || f.loss_pct > fl.loss_pct)) {
            wl = &s[i];
            fl = f;
        }
        if (emodel_quality_jitter(f.mean_jitter_ms) != MEDIA_QUALITY_GOOD &&
            (!wj || f.mean_jitter_ms > fj.mean_jitter_ms)) {
            wj = &s[i];
            fj = f;
        }
    }
    if (wl) {
        bool poor = emodel_quality_loss(fl.loss_pct) == MEDIA_QUALITY_POOR;
        out = diag_add(d, poor ? FLOW_SEV_ERROR : FLOW_SEV_WARNING, "rtp-loss");
        if (out) {
            diag_printf(out->summary, sizeof(out->summary), "%.1f%% RTP packet loss",
                        fl.loss_pct);
            diag_printf(out->detail, sizeof(out->detail),
                        "%lld of %lld packets from %s to %s never arrived (%s%s%.2f); "
                        "listeners hear gaps or robotic voice",
                        (long long) fl.lost, (long long) fl.expected,
                        sk_sa_str(&wl->src, src, sizeof(src)),
                        sk_sa_str(&wl->dst, dst, sizeof(dst)),
                        poor ? "poor" : "acceptable", fl.has_mos ? ", MOS " : "",
                        fl.has_mos ? fl.mos : 0.0);
            if (!fl.has_mos) /* drop the trailing ", MOS" figure when there is none */
                diag_printf(out->detail, sizeof(out->detail),
                            "%lld of %lld packets from %s to %s never arrived (%s); "
                            "listeners hear gaps or robotic voice",
                            (long long) fl.lost, (long long) fl.expected, src, dst,
                            poor ? "poor" : "acceptable");
            diag_printf(out->fix, sizeof(out->fix),
                        "find the lossy link on the path from %s (capture on both sides "
                        "to see where packets vanish): congested uplink, Wi-Fi, a "
                        "shaping firewall; give RTP priority (DSCP EF)",
                        src);
            diag_frame(out, wl->first_frame);
        }
    }
    if (wj) {
        bool poor = emodel_quality_jitter(fj.mean_jitter_ms) == MEDIA_QUALITY_POOR;
        out = diag_add(d, poor ? FLOW_SEV_ERROR : FLOW_SEV_WARNING, "rtp-jitter");
        if (out) {
            diag_printf(out->summary, sizeof(out->summary), "RTP jitter %.0f ms",
                        fj.mean_jitter_ms);
            diag_printf(out->detail, sizeof(out->detail),
                        "packets from %s to %s arrive unevenly: mean jitter %.1f ms, "
                        "max %.1f ms (%s); a jitter buffer adds delay or drops late "
                        "packets",
                        sk_sa_str(&wj->src, src, sizeof(src)),
                        sk_sa_str(&wj->dst, dst, sizeof(dst)), fj.mean_jitter_ms,
                        fj.max_jitter_ms, poor ? "poor" : "acceptable");
            diag_printf(out->fix, sizeof(out->fix),
                        "find the congested or bursty link on the path from %s; give RTP "
                        "priority (DSCP EF) and keep bulk traffic off the voice path",
                        src);
            diag_frame(out, wj->first_frame);
        }
    }
}

void diag_rules_media(struct diag *d)
{
    rule_nat(d);
    rule_one_way(d);
    rule_ringback(d);
    rule_quality(d);
}
