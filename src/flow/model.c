/* Call analysis for `sipkit flow`: transactions, dialogs, calls, registrations and RTP
 * streams built packet by packet, in bounded memory. */
#include "flow/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "media/emodel.h"
#include "media/rtcp.h"
#include "sip/txn_key.h"
#include "flow/model_int.h"

const struct flow_model_limits flow_model_limits_default = {
    .max_messages = FLOW_MODEL_MAX_MESSAGES,
    .max_sdp = FLOW_MODEL_MAX_SDP,
    .max_text_bytes = FLOW_MODEL_MAX_TEXT_BYTES,
    .max_msg_copy = FLOW_MODEL_MAX_MSG_COPY,
    .max_txns = FLOW_MODEL_MAX_TXNS,
    .max_items = FLOW_MODEL_MAX_ITEMS,
    .max_streams = FLOW_MODEL_MAX_STREAMS,
    .max_media = FLOW_MODEL_MAX_MEDIA,
};

/* ---- a hash index over table rows (the rows keep their own keys) ---- */

struct hent {
    uint64_t hash;
    int32_t row, next;
};

struct htab {
    int32_t *head; /* cap entries, -1 empty */
    size_t cap;    /* power of two */
    struct hent *ent;
    size_t n, ent_cap;
};

static int htab_rehash(struct htab *h, size_t cap)
{
    int32_t *head = malloc(cap * sizeof(*head));

    if (!head) return ENOMEM;
    for (size_t i = 0; i < cap; i++)
        head[i] = -1;
    for (size_t i = 0; i < h->n; i++) {
        size_t b = h->ent[i].hash & (cap - 1);
        h->ent[i].next = head[b];
        head[b] = (int32_t) i;
    }
    free(h->head);
    h->head = head;
    h->cap = cap;
    return 0;
}

static int htab_add(struct htab *h, uint64_t hash, int32_t row)
{
    size_t b;

    if (h->n == h->ent_cap) {
        size_t nc = h->ent_cap ? h->ent_cap * 2 : 64;
        struct hent *e = realloc(h->ent, nc * sizeof(*e));

        if (!e) return ENOMEM;
        h->ent = e;
        h->ent_cap = nc;
    }
    if (h->n >= h->cap) {
        int rc = htab_rehash(h, h->cap ? h->cap * 2 : 64);
        if (rc) return rc;
    }
    b = hash & (h->cap - 1);
    h->ent[h->n] = (struct hent){.hash = hash, .row = row, .next = h->head[b]};
    h->head[b] = (int32_t) h->n++;
    return 0;
}

/* Rows with this hash, newest first: `for (int32_t e = htab_first(); e >= 0; e =
 * htab_next())`, at most FLOW_MODEL_MAX_CHAIN entries compared. */
static int32_t htab_first(const struct htab *h, uint64_t hash)
{
    return h->cap ? h->head[hash & (h->cap - 1)] : -1;
}

static int32_t htab_next(const struct htab *h, int32_t e)
{
    return h->ent[e].next;
}

static void htab_free(struct htab *h)
{
    free(h->head);
    free(h->ent);
}

/* ---- the model ---- */

struct media_pt {
    uint8_t pt;
    char enc[20];
    uint32_t clock;
};

#define MEDIA_MAX_PTS 12

/* An address an SDP said it receives RTP (or RTCP) on. */
struct media_ep {
    struct sk_sa addr;
    uint64_t hash;
    int32_t item;
    bool rtcp;
    uint8_t npt;
    struct media_pt pt[MEDIA_MAX_PTS];
};

/* A UDP flow's last datagram that looked like RTP but fit no stream yet. */
struct pending {
    bool used;
    struct sk_sa src, dst;
    uint32_t ssrc, ts;
    uint16_t seq;
    uint8_t pt;
    uint64_t frame, ts_ns;
    size_t payload_len;
};

struct flow_model {
    struct flow_model_limits lim;
    struct flow_msg *msgs;
    size_t nmsgs, cap_msgs;
    struct flow_txn *txns;
    size_t ntxns, cap_txns;
    struct flow_item *items;
    size_t nitems, cap_items;
    struct flow_stream *streams;
    size_t nstreams, cap_streams;
    struct flow_sdp *sdps;
    size_t nsdps, cap_sdps;
    struct media_ep *media;
    size_t nmedia, cap_media;
    /* message copies: each distinct line once (a 4-byte length, then its bytes, its
     * LF included) in text, indexed by line_h; a message is a run in refs (a count,
     * then the offsets of its lines). A call's messages repeat most of their lines
     * (Via, From, To, Call-ID, CSeq, SDP), and so do the legs of a proxied call. */
    char *text;
    size_t ntext, cap_text;
    uint32_t *refs;
    size_t nrefs, cap_refs;
    char *scratch; /* flow_model_msg_text puts a copy together here */
    struct htab txn_h, item_h, stream_h, ssrc_h, media_h, line_h;
    struct pending pend[FLOW_MODEL_RTP_PENDING];
    struct sip_msg sm;          /* parse scratch */
    struct sdp_session sdp_tmp; /* parse scratch */
    struct flow_model_counts counts;
    struct flow_net net; /* ICMP errors, DNS (model_net.c) */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc;
    void *q;

    if (need <= *cap) return 0;
    nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    q = realloc(*p, nc * elem);
    if (!q) return ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

int flow_model_new(struct flow_model **mp, const struct flow_model_limits *limits)
{
    struct flow_model *m = calloc(1, sizeof(*m));

    *mp = NULL;
    if (!m) return ENOMEM;
    m->lim = limits ? *limits : flow_model_limits_default;
    sip_msg_init(&m->sm);
    m->scratch = malloc(m->lim.max_msg_copy ? m->lim.max_msg_copy : 1);
    if (!m->scratch) {
        flow_model_free(m);
        return ENOMEM;
    }
    *mp = m;
    return 0;
}

void flow_model_free(struct flow_model *m)
{
    if (!m) return;
    sip_msg_release(&m->sm);
    flow_net_free(&m->net);
    free(m->msgs);
    free(m->txns);
    free(m->items);
    free(m->streams);
    free(m->sdps);
    free(m->media);
    free(m->text);
    free(m->refs);
    free(m->scratch);
    htab_free(&m->line_h);
    htab_free(&m->txn_h);
    htab_free(&m->item_h);
    htab_free(&m->stream_h);
    htab_free(&m->ssrc_h);
    htab_free(&m->media_h);
    free(m);
}

const char *flow_item_kind_name(enum flow_item_kind k)
{
    switch (k) {
    case FLOW_ITEM_CALL: return "call";
    case FLOW_ITEM_REGISTRATION: return "registration";
    default: return "other";
    }
}

const char *flow_end_name(enum flow_end e)
{
    switch (e) {
    case FLOW_END_CALLER_BYE: return "caller BYE";
    case FLOW_END_CALLEE_BYE: return "callee BYE";
    case FLOW_END_CANCEL: return "CANCEL";
    case FLOW_END_REJECTED: return "rejected";
    default: return "none";
    }
}

/* ---- small helpers ---- */

static uint64_t hash_sa(uint64_t h, const struct sk_sa *a)
{
    if (a->u.sa.sa_family == AF_INET6) {
        h = sk_hash_bytes(h, &a->u.in6.sin6_addr, 16);
        return sk_hash_u64(h, a->u.in6.sin6_port);
    }
    h = sk_hash_u64(h, a->u.in.sin_addr.s_addr);
    return sk_hash_u64(h, a->u.in.sin_port);
}

static bool same_ip(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    if (a->u.sa.sa_family == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
}

/* Copy a slice as text, non-printable bytes as '.'. */
static void copy_text(char *dst, size_t cap, struct sk_str s)
{
    size_t n = s.p && s.len < cap ? s.len : (s.p ? cap - 1 : 0);

    for (size_t i = 0; i < n; i++)
        dst[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '.';
    dst[n] = '\0';
}

static void uri_name(char *dst, size_t cap, const struct sip_addr *a)
{
    const struct sip_uri *u = &a->uri;

    if (sk_str_isset(u->user) && sk_str_isset(u->host))
        snprintf(dst, cap, "%.*s@%.*s", (int) (u->user.len < 40 ? u->user.len : 40),
                 u->user.p, (int) (u->host.len < 38 ? u->host.len : 38), u->host.p);
    else if (sk_str_isset(u->host))
        copy_text(dst, cap, u->host);
    else
        copy_text(dst, cap, u->raw);
    for (char *c = dst; *c; c++)
        if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f) *c = '.';
}

static bool str_eq_c(struct sk_str s, const char *c)
{
    size_t n = strlen(c);
    return s.p ? s.len == n && memcmp(s.p, c, n) == 0 : n == 0;
}

/* ---- items (one per Call-ID) ---- */

static int32_t item_find(const struct flow_model *m, struct sk_str cid, uint64_t h)
{
    unsigned steps = 0;

    for (int32_t e = htab_first(&m->item_h, h); e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
         e = htab_next(&m->item_h, e), steps++) {
        const struct flow_item *it = &m->items[m->item_h.ent[e].row];
        if (m->item_h.ent[e].hash == h && str_eq_c(cid, it->call_id))
            return m->item_h.ent[e].row;
    }
    return -1;
}

int32_t flow_model_find_call_id(const struct flow_model *m, const char *call_id)
{
    struct sk_str s = sk_str_cstr(call_id);
    uint64_t h = sk_hash_final(sk_hash_bytes(sk_hash_init(), s.p, s.len));

    if (s.len >= FLOW_MODEL_CALLID_MAX) {
        s.len = FLOW_MODEL_CALLID_MAX - 1;
        h = sk_hash_final(sk_hash_bytes(sk_hash_init(), s.p, s.len));
    }
    return item_find(m, s, h);
}

static enum flow_item_kind kind_of(enum sip_method me)
{
    if (me == SIP_METHOD_INVITE) return FLOW_ITEM_CALL;
    if (me == SIP_METHOD_REGISTER) return FLOW_ITEM_REGISTRATION;
    return FLOW_ITEM_OTHER;
}

static int32_t item_get(struct flow_model *m, const struct sip_msg *sm,
                        const struct flow_packet *p, enum sip_method me)
{
    char key[FLOW_MODEL_CALLID_MAX];
    struct sk_str cid;
    uint64_t h;
    int32_t i;
    struct flow_item *it;

    /* keyed by the Call-ID as kept and printed (cut, non-printable bytes as '.'), so
     * that flow_model_find_call_id finds what the tables show */
    copy_text(key, sizeof(key), sm->call_id);
    cid = sk_str_cstr(key);
    h = sk_hash_final(sk_hash_bytes(sk_hash_init(), cid.p, cid.len));
    i = item_find(m, cid, h);
    if (i >= 0) return i;
    if (m->nitems >= m->lim.max_items ||
        grow((void **) &m->items, &m->cap_items, m->nitems + 1, sizeof(*m->items)) ||
        htab_add(&m->item_h, h, (int32_t) m->nitems)) {
        m->counts.dropped_items++;
        return -1;
    }
    it = &m->items[m->nitems];
    memset(it, 0, sizeof(*it));
    copy_text(it->call_id, sizeof(it->call_id), cid);
    it->cid_hash = h;
    it->kind = kind_of(me);
    snprintf(it->method_name, sizeof(it->method_name), "%s", sip_method_name(me));
    if (sm->is_request) copy_text(it->method_name, sizeof(it->method_name), sm->method);
    if (sm->has_from) {
        uri_name(it->from, sizeof(it->from), &sm->from);
        copy_text(it->from_tag, sizeof(it->from_tag), sm->from.tag);
    }
    if (sm->has_to) uri_name(it->to, sizeof(it->to), &sm->to);
    it->caller = sm->is_request ? p->src : p->dst;
    it->first_frame = p->frame;
    it->start_ns = p->ts_ns;
    it->invite_cseq = sm->cseq.num;
    it->expires = -1;
    it->first_txn = it->last_txn = it->first_stream = it->last_stream = -1;
    it->first_msg = it->last_msg = -1;
    return (int32_t) m->nitems++;
}

/* ---- transactions ---- */

/* The table's hash is the §17.2.3 key of sip/txn_key.h: a request by its own key
 * (as_invite: the INVITE's, for an ACK of a non-2xx final and a CANCEL's target,
 * §9.2), a response by the key of the request it answers. An ACK of a 2xx is no
 * transaction (§17.1.1.3) but is listed as one under its own method. A 2543 key
 * from a response has no Request-URI, so its hash leaves it out for both. */
static uint64_t txn_key(const struct sip_msg *sm, bool as_invite, bool *rfc2543)
{
    struct sip_txn_key k;

    if (sm->is_request)
        sip_txn_key_server(sm, &k);
    else
        sip_txn_key_server_of_response(sm, &k);
    if (as_invite)
        k.method = SK_STR_LIT("INVITE");
    else if (sm->is_request)
        k.method = sm->method;
    *rfc2543 = k.kind == SIP_TXN_KEY_SERVER_2543;
    return sip_txn_key_hash(&k);
}

static int32_t txn_find(const struct flow_model *m, uint64_t key)
{
    unsigned steps = 0;

    for (int32_t e = htab_first(&m->txn_h, key); e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
         e = htab_next(&m->txn_h, e), steps++)
        if (m->txn_h.ent[e].hash == key) return m->txn_h.ent[e].row;
    return -1;
}

static int32_t txn_new(struct flow_model *m, uint64_t key, bool rfc2543,
                       const struct sip_msg *sm, const struct flow_packet *p,
                       int32_t item)
{
    struct flow_txn *t;

    if (m->ntxns >= m->lim.max_txns ||
        grow((void **) &m->txns, &m->cap_txns, m->ntxns + 1, sizeof(*m->txns)) ||
        htab_add(&m->txn_h, key, (int32_t) m->ntxns)) {
        m->counts.dropped_txns++;
        return -1;
    }
    t = &m->txns[m->ntxns];
    memset(t, 0, sizeof(*t));
    t->key = key;
    t->method = sm->is_request ? sm->method_id : sip_method_lookup(sm->cseq.method);
    copy_text(t->method_name, sizeof(t->method_name),
              sm->is_request ? sm->method : sm->cseq.method);
    t->cseq = sm->cseq.num;
    t->rfc2543 = rfc2543;
    t->item = item;
    t->client = sm->is_request ? p->src : p->dst;
    t->server = sm->is_request ? p->dst : p->src;
    t->first_frame = p->frame;
    t->first_ns = p->ts_ns;
    t->invite_txn = -1;
    t->has_auth =
        sm->count[SIP_HDR_AUTHORIZATION] || sm->count[SIP_HDR_PROXY_AUTHORIZATION];
    t->next_in_item = -1;
    if (item >= 0) {
        struct flow_item *it = &m->items[item];
        if (it->last_txn >= 0)
            m->txns[it->last_txn].next_in_item = (int32_t) m->ntxns;
        else
            it->first_txn = (int32_t) m->ntxns;
        it->last_txn = (int32_t) m->ntxns;
    }
    return (int32_t) m->ntxns++;
}

/* A request: its transaction (new, or the one it retransmits). */
static int32_t txn_request(struct flow_model *m, const struct sip_msg *sm,
                           const struct flow_packet *p, int32_t item, bool *retrans)
{
    enum sip_method me = sm->method_id;
    bool rfc2543;
    uint64_t key;
    int32_t t;

    *retrans = false;
    if (me == SIP_METHOD_ACK) {
        /* §17.1.1.3: the ACK of a non-2xx final belongs to the INVITE transaction */
        int32_t inv = txn_find(m, txn_key(sm, true, &rfc2543));
        if (inv >= 0 && m->txns[inv].final_status >= 300) {
            struct flow_txn *x = &m->txns[inv];
            *retrans = x->acked && sk_sa_equal(&p->src, &x->client);
            x->acked = true;
            x->requests++;
            if (*retrans) x->req_retrans++;
            return inv;
        }
    }
    key = txn_key(sm, false, &rfc2543);
    t = txn_find(m, key);
    /* a client that reuses its branch for a new request (another CSeq) breaks §8.1.1.7
     * but starts a new transaction all the same: a retransmission keeps the CSeq */
    if (t >= 0 && m->txns[t].cseq != sm->cseq.num && me != SIP_METHOD_ACK) t = -1;
    if (t >= 0) {
        struct flow_txn *x = &m->txns[t];
        x->requests++;
        /* the same request again on the same hop: the client retransmitted */
        if (sk_sa_equal(&p->src, &x->client) && sk_sa_equal(&p->dst, &x->server)) {
            x->req_retrans++;
            *retrans = true;
        }
        return t;
    }
    t = txn_new(m, key, rfc2543, sm, p, item);
    if (t < 0) return t;
    m->txns[t].requests = 1;
    if (me == SIP_METHOD_CANCEL) /* §9.2: CANCEL matches the INVITE by the same key */
        m->txns[t].invite_txn = txn_find(m, txn_key(sm, true, &rfc2543));
    return t;
}

static int32_t txn_response(struct flow_model *m, const struct sip_msg *sm,
                            const struct flow_packet *p, int32_t item, bool *retrans)
{
    bool rfc2543;
    uint64_t key = txn_key(sm, false, &rfc2543), fp;
    int32_t t = txn_find(m, key);
    struct flow_txn *x;
    unsigned i;

    *retrans = false;
    if (t < 0) { /* the request was not captured */
        t = txn_new(m, key, rfc2543, sm, p, item);
        if (t < 0) return t;
    }
    x = &m->txns[t];
    x->responses++;
    fp = sk_hash_u64(sk_hash_init(), (uint64_t) sm->status);
    fp = sk_hash_bytes(fp, sm->to.tag.p, sm->to.tag.len);
    fp = sk_hash_final(hash_sa(hash_sa(fp, &p->src), &p->dst));
    for (i = 0; i < 8 && x->seen_resp[i]; i++)
        if (x->seen_resp[i] == fp) {
            *retrans = true;
            x->resp_retrans++;
            break;
        }
    if (!*retrans && i < 8) x->seen_resp[i] = fp;
    if (sm->status < 200) {
        if (!x->provisional_ns && sm->status > 100) x->provisional_ns = p->ts_ns;
    } else if (!x->final_status || (x->final_status >= 300 && sm->status < 300)) {
        x->final_status = sm->status;
        x->final_frame = p->frame;
        x->final_ns = p->ts_ns;
    }
    return t;
}

/* ---- SDP ---- */

static uint64_t media_hash(const struct sk_sa *a)
{
    return sk_hash_final(hash_sa(sk_hash_init(), a));
}

static struct media_ep *media_find(struct flow_model *m, const struct sk_sa *a)
{
    uint64_t h = media_hash(a);
    unsigned steps = 0;

    for (int32_t e = htab_first(&m->media_h, h); e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
         e = htab_next(&m->media_h, e), steps++) {
        struct media_ep *ep = &m->media[m->media_h.ent[e].row];
        if (m->media_h.ent[e].hash == h && sk_sa_equal(&ep->addr, a)) return ep;
    }
    return NULL;
}

/* Remember that item receives RTP (or RTCP) at a; a later SDP for the same address
 * (a re-INVITE, another call reusing the port) replaces what an earlier one said. */
static void media_announce(struct flow_model *m, const struct sk_sa *a, int32_t item,
                           bool rtcp, const struct sdp_media *md)
{
    struct media_ep *ep = media_find(m, a);

    if (!ep) {
        uint64_t h = media_hash(a);
        if (m->nmedia >= m->lim.max_media ||
            grow((void **) &m->media, &m->cap_media, m->nmedia + 1, sizeof(*m->media)) ||
            htab_add(&m->media_h, h, (int32_t) m->nmedia)) {
            m->counts.dropped_media++;
            return;
        }
        ep = &m->media[m->nmedia++];
        memset(ep, 0, sizeof(*ep));
        ep->addr = *a;
        ep->hash = h;
    }
    ep->item = item;
    ep->rtcp = rtcp;
    ep->npt = 0;
    for (unsigned i = 0; i < md->nfmt && ep->npt < MEDIA_MAX_PTS; i++) {
        const struct sdp_fmt *f = &md->fmt[i];
        struct media_pt *mp;
        if (f->pt < 0) continue;
        mp = &ep->pt[ep->npt++];
        mp->pt = (uint8_t) f->pt;
        snprintf(mp->enc, sizeof(mp->enc), "%.19s", f->enc);
        mp->clock = f->clock;
    }
}

static void sdp_summary(struct flow_sdp *out, const struct sdp_session *s,
                        const struct sdp_media *md)
{
    const struct sdp_conn *c = sdp_media_conn(s, md);
    size_t n = 0;

    snprintf(out->media, sizeof(out->media), "%.11s", md->type);
    out->port = md->port;
    out->dir = sdp_media_dir(s, md);
    snprintf(out->addr, sizeof(out->addr), "%s", c ? c->addr : "");
    if (md->nfmt) {
        const struct sdp_fmt *f = &md->fmt[0];
        if (f->enc[0])
            snprintf(out->codec, sizeof(out->codec), "%.15s/%u", f->enc, f->clock);
        else
            snprintf(out->codec, sizeof(out->codec), "%.15s", f->id);
    }
    for (unsigned i = 0; i < md->nfmt && n + 5 < sizeof(out->pts); i++)
        n += (size_t) snprintf(out->pts + n, sizeof(out->pts) - n, "%s%s", i ? " " : "",
                               md->fmt[i].id);
}

static bool body_is_sdp(const struct sip_msg *sm)
{
    const struct sip_hdr *h = sip_msg_hdr(sm, SIP_HDR_CONTENT_TYPE);

    if (!sm->body.p || sm->body.len < 3) return false;
    if (h) return sk_str_iprefix(h->value, "application/sdp");
    return memcmp(sm->body.p, "v=0", 3) == 0;
}

/* Parse an SDP body, announce its media addresses for the item; returns the
 * summary's index or -1. */
static int32_t handle_sdp(struct flow_model *m, const struct sip_msg *sm, int32_t item)
{
    struct sdp_session *s = &m->sdp_tmp;
    struct flow_sdp *out;
    const struct sdp_media *first = NULL;

    if (!body_is_sdp(sm)) return -1;
    if (m->nsdps >= m->lim.max_sdp ||
        grow((void **) &m->sdps, &m->cap_sdps, m->nsdps + 1, sizeof(*m->sdps))) {
        m->counts.dropped_sdp++;
        out = NULL; /* the media addresses are still announced below */
    } else {
        out = &m->sdps[m->nsdps];
        memset(out, 0, sizeof(*out));
        out->offer = sm->is_request;
    }
    if (sdp_parse(s, sm->body.p, sm->body.len, NULL)) {
        if (!out) return -1;
        out->bad = true;
        return (int32_t) m->nsdps++;
    }
    for (unsigned i = 0; i < s->nmedia; i++) {
        const struct sdp_media *md = &s->media[i];
        const struct sdp_conn *c = sdp_media_conn(s, md);
        struct sk_sa a;

        if (!first && md->kind == SDP_MEDIA_AUDIO) first = md;
        if (!md->rtp || !md->port || !c || c->type == SDP_ADDR_NONE) continue;
        if (sk_sa_from_ip(&a, sk_str_cstr(c->addr), md->port)) continue;
        if (item >= 0) {
            struct sk_sa r = a;
            media_announce(m, &a, item, false, md);
            if (!md->rtcp_mux) { /* RFC 3550 §11: RTCP on the next port; RFC 3605 a=rtcp
                                  */
                sk_sa_set_port(&r,
                               md->has_rtcp ? md->rtcp_port : (uint16_t) (md->port + 1));
                if (md->has_rtcp && md->rtcp_conn.type != SDP_ADDR_NONE)
                    sk_sa_from_ip(&r, sk_str_cstr(md->rtcp_conn.addr), md->rtcp_port);
                media_announce(m, &r, item, true, md);
            }
        }
    }
    if (!out) return -1;
    if (!first && s->nmedia) first = &s->media[0];
    if (first) sdp_summary(out, s, first);
    return (int32_t) m->nsdps++;
}

/* ---- what a message means for its call ---- */

static void dialog_note(struct flow_item *it, const struct sip_msg *sm, uint64_t frame)
{
    struct sk_str tag = sm->to.tag;
    unsigned i;

    if (!tag.p || !tag.len) return;
    for (i = 0; i < it->ndialogs; i++)
        if (str_eq_c(tag, it->dialog[i].to_tag) ||
            (tag.len >= FLOW_MODEL_TAG_MAX &&
             memcmp(tag.p, it->dialog[i].to_tag, FLOW_MODEL_TAG_MAX - 1) == 0))
            break;
    if (i == it->ndialogs) {
        if (i == FLOW_MODEL_MAX_DIALOGS) return;
        it->ndialogs++;
        copy_text(it->dialog[i].to_tag, sizeof(it->dialog[i].to_tag), tag);
        it->dialog[i].frame = frame;
    }
    if (sm->status >= 200 && sm->status < 300 && it->dialog[i].status < 200) {
        /* another dialog answered before: a fork (§13.2.2.4) */
        for (unsigned k = 0; k < it->ndialogs; k++)
            if (k != i && it->dialog[k].status >= 200 && it->dialog[k].status < 300) {
                it->forks++;
                break;
            }
    }
    if (sm->status > it->dialog[i].status && it->dialog[i].status < 200)
        it->dialog[i].status = sm->status;
}

static void set_final(struct flow_item *it, const struct sip_msg *sm, uint64_t frame)
{
    it->final_status = sm->status;
    copy_text(it->final_reason, sizeof(it->final_reason), sm->reason);
    it->final_frame = frame;
}

static void call_request(struct flow_item *it, const struct sip_msg *sm,
                         const struct flow_packet *p, const struct flow_txn *t,
                         bool retrans)
{
    bool in_dialog = sm->to.tag.p && sm->to.tag.len;

    if (retrans) return;
    switch (sm->method_id) {
    case SIP_METHOD_INVITE:
        if (in_dialog) {
            it->reinvites++;
        } else if (sm->cseq.num != it->invite_cseq) {
            it->invite_cseq = sm->cseq.num; /* a new attempt, e.g. with credentials */
            it->hops = 1;
        } else if (t && t->requests == 1) {
            it->hops++; /* the same INVITE forwarded by a proxy (a new branch) */
        }
        if (!it->hops) it->hops = 1;
        break;
    case SIP_METHOD_CANCEL:
        if (!it->cancelled) {
            it->cancelled = true;
            it->cancel_frame = p->frame;
        }
        break;
    case SIP_METHOD_BYE:
        if (it->ended == FLOW_END_NONE || it->ended == FLOW_END_REJECTED) {
            bool caller = str_eq_c(sm->from.tag, it->from_tag);
            it->ended = caller ? FLOW_END_CALLER_BYE : FLOW_END_CALLEE_BYE;
            it->end_ns = p->ts_ns;
            it->end_frame = p->frame;
        }
        break;
    default: break;
    }
}

static void call_response(struct flow_item *it, const struct sip_msg *sm,
                          const struct flow_packet *p, bool retrans)
{
    enum sip_method me = sip_method_lookup(sm->cseq.method);

    if (me != SIP_METHOD_INVITE || retrans) return;
    /* responses to the caller's INVITEs: the To tag names the callee's side of a
     * dialog (a response to the callee's re-INVITE carries the caller's tag there) */
    if (!str_eq_c(sm->from.tag, it->from_tag)) return;
    dialog_note(it, sm, p->frame);
    if (sm->cseq.num != it->invite_cseq) return; /* a re-INVITE's response */
    if (sm->status >= 180 && sm->status < 190 && !it->ringing_ns)
        it->ringing_ns = p->ts_ns;
    if (sm->status >= 200 && sm->status < 300) {
        if (!it->answer_ns) it->answer_ns = p->ts_ns;
        if (it->final_status < 200 || it->final_status >= 300) {
            set_final(it, sm, p->frame);
            if (it->ended == FLOW_END_REJECTED || it->ended == FLOW_END_CANCEL) {
                it->ended = FLOW_END_NONE;
                it->end_ns = 0;
            }
        }
    } else if (sm->status >= 300 && !it->answer_ns) {
        if (sm->status == 401 || sm->status == 407) it->challenges++;
        set_final(it, sm, p->frame);
        it->ended =
            it->cancelled && sm->status == 487 ? FLOW_END_CANCEL : FLOW_END_REJECTED;
        it->end_ns = p->ts_ns;
        it->end_frame = p->frame;
    }
}

static void other_response(struct flow_item *it, struct sip_msg *sm,
                           const struct flow_packet *p, bool retrans)
{
    if (retrans || sm->status < 200) return;
    if (sm->status == 401 || sm->status == 407) it->challenges++;
    set_final(it, sm, p->frame);
    if (it->kind == FLOW_ITEM_REGISTRATION && sm->status < 300) {
        const struct sip_addr *c;
        size_t n;
        uint32_t e;
        struct sip_error err;

        if (sip_msg_addrs(sm, SIP_HDR_CONTACT, &c, &n, &err) == 0 && n &&
            c[0].expires >= 0)
            it->expires = c[0].expires;
        else if (sip_msg_uint(sm, SIP_HDR_EXPIRES, &e, &err) == 0)
            it->expires = e;
    }
}

/* The offset in text of a line equal to p[0, len), stored now if it is new; -1 when
 * the copies' limit (max_text_bytes, lines and references together) is reached. */
static int64_t text_line(struct flow_model *m, const char *p, size_t len)
{
    uint64_t h = sk_hash_final(sk_hash_bytes(sk_hash_init(), p, len));
    unsigned steps = 0;
    uint32_t l32 = (uint32_t) len;
    size_t off;

    for (int32_t e = htab_first(&m->line_h, h); e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
         e = htab_next(&m->line_h, e), steps++) {
        uint32_t have;
        size_t at = (size_t) (uint32_t) m->line_h.ent[e].row;

        if (m->line_h.ent[e].hash != h) continue;
        memcpy(&have, m->text + at, sizeof(have));
        if (have == l32 && memcmp(m->text + at + sizeof(have), p, len) == 0)
            return (int64_t) at;
    }
    off = m->ntext;
    if (off + sizeof(l32) + len + m->nrefs * sizeof(*m->refs) > m->lim.max_text_bytes ||
        off + sizeof(l32) + len > INT32_MAX ||
        grow((void **) &m->text, &m->cap_text, off + sizeof(l32) + len, 1) ||
        htab_add(&m->line_h, h, (int32_t) off))
        return -1;
    memcpy(m->text + off, &l32, sizeof(l32));
    memcpy(m->text + off + sizeof(l32), p, len);
    m->ntext += sizeof(l32) + len;
    return (int64_t) off;
}

/* Keep the copy of buf[0, n), line by line; *ref: where its run of references starts. */
static int text_keep(struct flow_model *m, const char *buf, size_t n, uint32_t *ref)
{
    size_t start = m->nrefs, lines = 0;

    if (m->nrefs >= UINT32_MAX - n ||
        grow((void **) &m->refs, &m->cap_refs, m->nrefs + 1, sizeof(*m->refs)))
        return ENOMEM;
    m->nrefs++; /* the count, filled in below */
    for (size_t i = 0; i < n;) {
        const char *lf = memchr(buf + i, '\n', n - i);
        size_t l = lf ? (size_t) (lf - (buf + i)) + 1 : n - i;
        int64_t off = text_line(m, buf + i, l);

        if (off < 0 ||
            grow((void **) &m->refs, &m->cap_refs, m->nrefs + 1, sizeof(*m->refs))) {
            m->nrefs = start; /* lines stored so far stay, for later messages */
            return ENOSPC;
        }
        m->refs[m->nrefs++] = (uint32_t) off;
        lines++;
        i += l;
    }
    m->refs[start] = (uint32_t) lines;
    *ref = (uint32_t) start;
    return 0;
}

static int32_t keep_msg(struct flow_model *m, const struct sip_msg *sm,
                        const struct flow_packet *p)
{
    struct flow_msg *r;

    if (m->nmsgs >= m->lim.max_messages ||
        grow((void **) &m->msgs, &m->cap_msgs, m->nmsgs + 1, sizeof(*m->msgs))) {
        m->counts.dropped_messages++;
        return -1;
    }
    r = &m->msgs[m->nmsgs];
    memset(r, 0, sizeof(*r));
    r->frame = p->frame;
    r->first_frame = p->first_frame;
    r->ordinal = m->counts.sip;
    r->ts_ns = p->ts_ns;
    r->src = p->src;
    r->dst = p->dst;
    r->transport = p->transport;
    r->request = sm->is_request;
    r->item = r->txn = r->sdp = r->next_in_item = -1;
    if (sm->is_request) {
        r->method = sm->method_id;
        copy_text(r->method_name, sizeof(r->method_name), sm->method);
    } else {
        r->method = sip_method_lookup(sm->cseq.method);
        copy_text(r->method_name, sizeof(r->method_name), sm->cseq.method);
        r->status = sm->status;
        copy_text(r->reason, sizeof(r->reason), sm->reason);
    }
    r->cseq = sm->cseq.num;
    {
        size_t n = sm->len < m->lim.max_msg_copy ? sm->len : m->lim.max_msg_copy;
        if (n && text_keep(m, sm->buf, n, &r->text_off) == 0)
            r->text_len = (uint32_t) n;
        else if (n)
            m->counts.dropped_text++;
    }
    return (int32_t) m->nmsgs++;
}

static void on_sip(struct flow_model *m, const struct flow_packet *p)
{
    struct sip_msg *sm = &m->sm;
    struct sip_error err;
    size_t used;
    int32_t item = -1, txn = -1, ri, sdp;
    bool retrans = false;
    enum sip_method me;

    m->counts.sip++;
    if (sip_msg_parse(sm, (const char *) p->data, p->len, SIP_PARSE_DATAGRAM, NULL, &used,
                      &err) ||
        !sm->has_call_id || !sm->has_cseq || !sm->has_via || !sm->has_from ||
        !sm->has_to) {
        /* show what a broken phone sent rather than drop it: read it leniently */
        if (!flow_sip_lenient(sm, (const char *) p->data, p->len)) {
            m->counts.sip_bad++;
            return;
        }
        m->counts.sip_lenient++;
    }
    me = sm->is_request ? sm->method_id : sip_method_lookup(sm->cseq.method);
    ri = keep_msg(m, sm, p);
    item = item_get(m, sm, p, me);
    if (item >= 0) {
        struct flow_item *it = &m->items[item];
        /* an INVITE outside a dialog makes a call of what began as something else */
        if (me == SIP_METHOD_INVITE && sm->is_request && it->kind != FLOW_ITEM_CALL &&
            !(sm->to.tag.p && sm->to.tag.len)) {
            it->kind = FLOW_ITEM_CALL;
            snprintf(it->method_name, sizeof(it->method_name), "INVITE");
            it->invite_cseq = sm->cseq.num;
            it->final_status = 0;
            it->challenges = 0;
            it->expires = -1;
            /* the call's parties are the INVITE's */
            uri_name(it->from, sizeof(it->from), &sm->from);
            copy_text(it->from_tag, sizeof(it->from_tag), sm->from.tag);
            uri_name(it->to, sizeof(it->to), &sm->to);
            it->caller = p->src;
            it->start_ns = p->ts_ns;
        }
    }
    txn = sm->is_request ? txn_request(m, sm, p, item, &retrans)
                         : txn_response(m, sm, p, item, &retrans);
    if (item >= 0) {
        struct flow_item *it = &m->items[item];
        it->messages++;
        it->last_ns = p->ts_ns;
        if (retrans) it->retrans++;
        if (it->kind == FLOW_ITEM_CALL) {
            if (sm->is_request)
                call_request(it, sm, p, txn >= 0 ? &m->txns[txn] : NULL, retrans);
            else
                call_response(it, sm, p, retrans);
        } else if (!sm->is_request) {
            other_response(it, sm, p, retrans);
        }
    }
    sdp = retrans ? -1 : handle_sdp(m, sm, item);
    if (ri >= 0) {
        m->msgs[ri].item = item;
        if (item >= 0) {
            struct flow_item *it = &m->items[item];
            if (it->last_msg >= 0)
                m->msgs[it->last_msg].next_in_item = ri;
            else
                it->first_msg = ri;
            it->last_msg = ri;
        }
        m->msgs[ri].txn = txn;
        m->msgs[ri].retrans = retrans;
        m->msgs[ri].sdp = sdp;
        m->msgs[ri].has_sdp = body_is_sdp(sm);
    }
}

/* ---- RTP and RTCP ---- */

static uint64_t stream_hash(const struct sk_sa *src, const struct sk_sa *dst,
                            uint32_t ssrc)
{
    return sk_hash_final(sk_hash_u64(hash_sa(hash_sa(sk_hash_init(), src), dst), ssrc));
}

static uint64_t ssrc_hash(uint32_t ssrc)
{
    return sk_hash_final(sk_hash_u64(sk_hash_init(), ssrc));
}

static int32_t stream_find(const struct flow_model *m, const struct sk_sa *src,
                           const struct sk_sa *dst, uint32_t ssrc)
{
    uint64_t h = stream_hash(src, dst, ssrc);
    unsigned steps = 0;

    for (int32_t e = htab_first(&m->stream_h, h); e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
         e = htab_next(&m->stream_h, e), steps++) {
        const struct flow_stream *s = &m->streams[m->stream_h.ent[e].row];
        if (m->stream_h.ent[e].hash == h && s->ssrc == ssrc &&
            sk_sa_equal(&s->src, src) && sk_sa_equal(&s->dst, dst))
            return m->stream_h.ent[e].row;
    }
    return -1;
}

/* Payload type names as tshark prints them (RFC 3551 names otherwise). */
static const char *pt_display(const char *enc, int pt)
{
    if (pt == 0 || strcmp(enc, "PCMU") == 0) return "g711U";
    if (pt == 8 || strcmp(enc, "PCMA") == 0) return "g711A";
    if (pt == 9 || strcmp(enc, "G722") == 0) return "g722";
    if (pt == 18 || strcmp(enc, "G729") == 0) return "g729";
    if (pt == 13) return "CN";
    return enc[0] ? enc : NULL;
}

static void stream_add_payload(struct flow_stream *s, const char *enc, int pt)
{
    char buf[24];
    const char *name = pt_display(enc, pt);
    size_t n = strlen(s->payloads);

    if (!name) {
        snprintf(buf, sizeof(buf), "pt%d", pt);
        name = buf;
    }
    /* already listed? (names are compared between the ", " separators) */
    for (const char *q = s->payloads; *q;) {
        size_t l = strcspn(q, ",");
        if (l == strlen(name) && memcmp(q, name, l) == 0) return;
        q += l;
        while (*q == ',' || *q == ' ')
            q++;
    }
    if (n + strlen(name) + 3 < sizeof(s->payloads))
        snprintf(s->payloads + n, sizeof(s->payloads) - n, "%s%s", n ? ", " : "", name);
}

static void pt_lookup(const struct media_ep *ep, int pt, const char **enc,
                      uint32_t *clock)
{
    uint8_t ch;

    *enc = "";
    *clock = 0;
    for (unsigned i = 0; ep && i < ep->npt; i++)
        if (ep->pt[i].pt == pt) {
            *enc = ep->pt[i].enc;
            *clock = ep->pt[i].clock;
            if (*enc[0]) return;
        }
    if (!sdp_static_pt(pt, enc, clock, &ch)) {
        *enc = "";
        *clock = 0;
    }
}

static int32_t stream_new(struct flow_model *m, const struct flow_packet *p,
                          const struct rtp_hdr *h, const struct media_ep *ep)
{
    struct flow_stream *s;
    const char *enc;
    uint32_t clock;
    int32_t idx = (int32_t) m->nstreams;

    if (m->nstreams >= m->lim.max_streams ||
        grow((void **) &m->streams, &m->cap_streams, m->nstreams + 1,
             sizeof(*m->streams)) ||
        htab_add(&m->stream_h, stream_hash(&p->src, &p->dst, h->ssrc), idx) ||
        htab_add(&m->ssrc_h, ssrc_hash(h->ssrc), idx)) {
        m->counts.dropped_streams++;
        return -1;
    }
    s = &m->streams[m->nstreams++];
    memset(s, 0, sizeof(*s));
    s->src = p->src;
    s->dst = p->dst;
    s->ssrc = h->ssrc;
    s->item = ep ? ep->item : -1;
    s->from_sdp = ep != NULL;
    s->pt = h->pt;
    s->event_pt = -1;
    for (unsigned i = 0; ep && i < ep->npt; i++)
        if (strcmp(ep->pt[i].enc, "telephone-event") == 0) s->event_pt = ep->pt[i].pt;
    /* no SDP: a dynamic type carrying 4-byte payloads is taken for RFC 4733 events */
    if (!ep && h->pt >= 96 && h->payload_len == RTP_EVENT_LEN) s->event_pt = h->pt;
    pt_lookup(ep, h->pt, &enc, &clock);
    if (s->event_pt == h->pt && !enc[0]) enc = "telephone-event";
    snprintf(s->codec, sizeof(s->codec), "%s", enc);
    s->clock = clock ? clock : 8000;
    rtp_stats_init(&s->seq, s->clock);
    rtp_stats_init(&s->jit, s->clock);
    rtp_dtmf_rx_init(&s->dtmf);
    s->first_frame = p->frame;
    s->first_ns = p->ts_ns;
    s->segment = 1;
    s->next_in_item = -1;
    if (s->item >= 0) {
        struct flow_item *it = &m->items[s->item];
        it->streams++;
        if (it->last_stream >= 0)
            m->streams[it->last_stream].next_in_item = idx;
        else
            it->first_stream = idx;
        it->last_stream = idx;
    }
    s->last_audio_ns = 0;
    return idx;
}

static void stream_digits(struct flow_stream *s, const struct rtp_dtmf_digit *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(s->digits);
        if (l < FLOW_MODEL_DIGITS_MAX) {
            s->digits[l] = d[i].c ? d[i].c : '?';
            s->digits[l + 1] = '\0';
        }
    }
}

static void stream_packet(struct flow_model *m, struct flow_stream *s, uint32_t ssrc,
                          uint16_t seq, uint32_t ts, uint8_t pt, bool marker,
                          uint64_t ts_ns, const uint8_t *payload, size_t payload_len)
{
    int64_t us = (int64_t) (ts_ns / 1000);

    m->counts.rtp++;
    s->last_ns = ts_ns;
    if (s->item >= 0 && ts_ns > m->items[s->item].media_last_ns)
        m->items[s->item].media_last_ns = ts_ns;
    rtp_stats_update(&s->seq, ssrc, seq, ts, us, payload_len);
    if ((int) pt == s->event_pt) {
        /* QUALITY.md: events count for loss, not for jitter or delta */
        struct rtp_event ev;
        struct media_error err;
        struct rtp_dtmf_digit d[2];
        size_t n = 0;

        s->events++;
        flow_series_add(&s->series, ts_ns, rtp_stats_expected(&s->seq), -1);
        stream_add_payload(s, "telephone-event", pt);
        if (payload && rtp_event_parse(&ev, payload, payload_len, &err) == 0) {
            rtp_dtmf_rx_packet(&s->dtmf, ts, &ev, d, &n);
            stream_digits(s, d, n);
        }
        return;
    }
    rtp_stats_update(&s->jit, ssrc, seq, ts, us, payload_len);
    flow_series_add(&s->series, ts_ns, rtp_stats_expected(&s->seq),
                    rtp_stats_jitter_ms(&s->jit));
    if (pt != s->pt && pt != 13) s->pt_change = true;
    /* QUALITY.md: a gap before a talkspurt (marker bit, RFC 3551 §4.1) or around
     * comfort noise (PT 13) is silence, not delay: left out of the delta, as tshark */
    if (s->last_audio_ns && !marker && pt != 13 && ts_ns >= s->last_audio_ns &&
        ts_ns - s->last_audio_ns > s->max_delta_ns)
        s->max_delta_ns = ts_ns - s->last_audio_ns;
    s->last_audio_ns = ts_ns;
}

static void stream_first_payload(struct flow_stream *s, const struct media_ep *ep, int pt)
{
    const char *enc;
    uint32_t clock;

    if (pt == s->event_pt) return; /* named when its packets are counted */
    pt_lookup(ep, pt, &enc, &clock);
    stream_add_payload(s, enc, pt);
}

static bool rtp_pt_sane(uint8_t pt)
{
    /* RFC 3551 static types, or dynamic ones; 72-76 would collide with RTCP (RFC 5761) */
    return pt <= 34 || (pt >= 96 && pt <= 127);
}

static void on_rtcp(struct flow_model *m, const struct flow_packet *p)
{
    struct rtcp_info info;
    struct media_error err;
    unsigned steps = 0;

    if (rtcp_parse_compound(&info, p->data, p->len, &err)) return;
    m->counts.rtcp++;
    if (info.sr) {
        uint64_t h = ssrc_hash(info.ssrc);
        for (int32_t e = htab_first(&m->ssrc_h, h);
             e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
             e = htab_next(&m->ssrc_h, e), steps++) {
            struct flow_stream *s = &m->streams[m->ssrc_h.ent[e].row];
            if (s->ssrc != info.ssrc || !same_ip(&s->src, &p->src)) continue;
            s->rtcp_sr++;
            s->sr_packets = info.si.packet_count;
            s->sr_octets = info.si.octet_count;
            s->last_sr_mid = rtcp_ntp_mid32(info.si.ntp);
            s->last_sr_ns = p->ts_ns;
            break;
        }
    }
    for (size_t b = 0; b < info.nblocks; b++) {
        const struct rtcp_report_block *rb = &info.blocks[b];
        uint64_t h = ssrc_hash(rb->ssrc);
        steps = 0;
        for (int32_t e = htab_first(&m->ssrc_h, h);
             e >= 0 && steps < FLOW_MODEL_MAX_CHAIN;
             e = htab_next(&m->ssrc_h, e), steps++) {
            struct flow_stream *s = &m->streams[m->ssrc_h.ent[e].row];
            /* the reporter receives the stream: it is the stream's destination */
            if (s->ssrc != rb->ssrc || !same_ip(&s->dst, &p->src)) continue;
            s->rtcp_rr++;
            s->has_rr = true;
            s->rr_fraction = rb->fraction_lost;
            s->rr_cum_lost = rb->cum_lost;
            s->rr_jitter_ms = (double) rb->jitter * 1000.0 / s->clock;
            /* §6.4.1 RTT, measured where the capture was taken: the time from the SR
             * to this report, less the reporter's delay DLSR */
            if (rb->lsr && rb->lsr == s->last_sr_mid && s->last_sr_ns &&
                p->ts_ns > s->last_sr_ns) {
                double rtt = (double) (p->ts_ns - s->last_sr_ns) / 1e6 -
                             (double) rb->dlsr * 1000.0 / 65536.0;
                if (rtt >= 0) {
                    s->has_rtt = true;
                    s->rtt_ms = rtt;
                }
            }
            break;
        }
    }
}

static void on_udp(struct flow_model *m, const struct flow_packet *p)
{
    struct rtp_hdr h;
    struct media_error err;
    int32_t si;
    struct media_ep *ep;

    m->counts.udp_other++;
    if (p->len < RTP_HEADER_MIN || (p->data[0] >> 6) != 2) return;
    if (p->data[1] >= RTCP_PT_SR && p->data[1] <= RTCP_PT_APP) {
        on_rtcp(m, p);
        return;
    }
    if (rtp_parse(&h, p->data, p->len, &err)) return;
    si = stream_find(m, &p->src, &p->dst, h.ssrc);
    if (si < 0) {
        ep = media_find(m, &p->dst);
        if (!ep || ep->rtcp) ep = media_find(m, &p->src); /* symmetric RTP */
        if (ep && !ep->rtcp) {
            si = stream_new(m, p, &h, ep);
            if (si < 0) return;
            stream_first_payload(&m->streams[si], ep, h.pt);
        } else {
            /* No SDP: RTP only when two packets of one flow agree (same SSRC and
             * payload type, sequence numbers close). */
            uint64_t fh = hash_sa(hash_sa(sk_hash_init(), &p->src), &p->dst);
            struct pending *pd = &m->pend[sk_hash_final(fh) % FLOW_MODEL_RTP_PENDING];
            uint16_t gap = (uint16_t) (h.seq - pd->seq);

            if (!rtp_pt_sane(h.pt)) return;
            if (!pd->used || pd->ssrc != h.ssrc || pd->pt != h.pt || gap == 0 ||
                gap > 16 || !sk_sa_equal(&pd->src, &p->src) ||
                !sk_sa_equal(&pd->dst, &p->dst)) {
                *pd = (struct pending){.used = true,
                                       .src = p->src,
                                       .dst = p->dst,
                                       .ssrc = h.ssrc,
                                       .ts = h.ts,
                                       .seq = h.seq,
                                       .pt = h.pt,
                                       .frame = p->frame,
                                       .ts_ns = p->ts_ns,
                                       .payload_len = h.payload_len};
                return;
            }
            {
                struct flow_packet first = *p;
                first.frame = pd->frame;
                first.ts_ns = pd->ts_ns;
                si = stream_new(m, &first, &h, NULL);
                pd->used = false;
                if (si < 0) return;
                stream_first_payload(&m->streams[si], NULL, h.pt);
                stream_packet(m, &m->streams[si], pd->ssrc, pd->seq, pd->ts, pd->pt,
                              false, pd->ts_ns, NULL, pd->payload_len);
            }
        }
    }
    {
        struct flow_stream *s = &m->streams[si];
        if (h.pt != s->pt && (int) h.pt != s->event_pt && h.pt != 13 && s->pt != 13 &&
            s->from_sdp) {
            /* QUALITY.md: a codec change an SDP announced (a re-INVITE) starts a new
             * segment, so that the sequence jump between them is not loss */
            const struct media_ep *e2 = media_find(m, &s->dst);
            const char *enc;
            uint32_t clock;

            if (!e2 || e2->rtcp) e2 = media_find(m, &s->src);
            pt_lookup(e2 && !e2->rtcp ? e2 : NULL, h.pt, &enc, &clock);
            if (e2 && !e2->rtcp && enc[0] && strcmp(enc, s->codec) != 0) {
                unsigned seg = s->segment;
                int32_t ni = stream_new(m, p, &h, e2);
                if (ni >= 0) {
                    si = ni;
                    s = &m->streams[si];
                    s->segment = seg + 1;
                    stream_first_payload(s, e2, h.pt);
                }
            }
        }
        if (h.pt != s->pt && (int) h.pt != s->event_pt) {
            const struct media_ep *e2 = s->from_sdp ? media_find(m, &s->dst) : NULL;
            stream_first_payload(s, e2 && !e2->rtcp ? e2 : NULL, h.pt);
        }
        stream_packet(m, s, h.ssrc, h.seq, h.ts, h.pt, h.marker, p->ts_ns, h.payload,
                      h.payload_len);
    }
}

void flow_model_feed(struct flow_model *m, const struct flow_packet *p)
{
    if (!m->counts.first_ns || p->ts_ns < m->counts.first_ns)
        m->counts.first_ns = p->ts_ns;
    if (p->ts_ns > m->counts.last_ns) m->counts.last_ns = p->ts_ns;
    if (p->is_sip)
        on_sip(m, p);
    else if (p->transport == FLOW_ICMP)
        flow_net_icmp(&m->net, &m->counts, p);
    else if ((p->ip_proto == 17 || p->transport == FLOW_UDP) &&
             !flow_net_dns(&m->net, &m->counts, p))
        on_udp(m, p);
}

void flow_model_finish(struct flow_model *m)
{
    for (size_t i = 0; i < m->nstreams; i++) {
        struct flow_stream *s = &m->streams[i];
        struct rtp_dtmf_digit d;
        if (rtp_dtmf_rx_flush(&s->dtmf, &d) == 0) stream_digits(s, &d, 1);
    }
}

/* ---- figures and access ---- */

void flow_stream_figures(const struct flow_stream *s, struct flow_stream_figures *f)
{
    memset(f, 0, sizeof(*f));
    f->packets = s->seq.packets;
    f->expected = rtp_stats_expected(&s->seq);
    f->lost_raw = rtp_stats_lost(&s->seq);
    /* QUALITY.md: duplicates never make lost negative (expected - distinct received) */
    f->lost = f->lost_raw + (int64_t) s->seq.duplicates;
    if (f->lost < 0) f->lost = 0;
    f->loss_pct = f->expected > 0 ? 100.0 * (double) f->lost / (double) f->expected : 0;
    f->duplicates = s->seq.duplicates;
    f->out_of_order = s->seq.out_of_order;
    f->max_delta_ms = (double) s->max_delta_ns / 1e6;
    f->jitter_ms = rtp_stats_jitter_ms(&s->jit);
    f->max_jitter_ms = rtp_stats_max_jitter_ms(&s->jit);
    f->mean_jitter_ms = rtp_stats_mean_jitter_ms(&s->jit);
    if (s->pt == 0 || s->pt == 8 || strcmp(s->codec, "PCMU") == 0 ||
        strcmp(s->codec, "PCMA") == 0) {
        struct emodel_in in = {
            .codec = emodel_g711, .loss_pct = f->loss_pct, .burst_r = 1};
        f->delay_ms = s->has_rtt ? s->rtt_ms / 2 : 0;
        in.delay_ms = f->delay_ms;
        f->has_mos = true;
        f->r = emodel_r(&in);
        f->mos = emodel_mos(f->r);
    }
}

const struct flow_model_counts *flow_model_counts(const struct flow_model *m)
{
    return &m->counts;
}

const struct flow_item *flow_model_items(const struct flow_model *m, size_t *n)
{
    *n = m->nitems;
    return m->items;
}

const struct flow_txn *flow_model_txns(const struct flow_model *m, size_t *n)
{
    *n = m->ntxns;
    return m->txns;
}

const struct flow_msg *flow_model_msgs(const struct flow_model *m, size_t *n)
{
    *n = m->nmsgs;
    return m->msgs;
}

const struct flow_stream *flow_model_streams(const struct flow_model *m, size_t *n)
{
    *n = m->nstreams;
    return m->streams;
}

const struct flow_unreach *flow_model_unreach(const struct flow_model *m, size_t *n)
{
    *n = m->net.nunreach;
    return m->net.unreach;
}

const struct flow_dns *flow_model_dns(const struct flow_model *m, size_t *n)
{
    *n = m->net.ndns;
    return m->net.dns;
}

const struct flow_sdp *flow_model_sdp(const struct flow_model *m, int32_t index)
{
    return index >= 0 && (size_t) index < m->nsdps ? &m->sdps[index] : NULL;
}

const char *flow_model_msg_text(const struct flow_model *m, const struct flow_msg *msg,
                                size_t *len)
{
    char *out = m->scratch;
    size_t n = 0, lines;

    *len = 0;
    if (!msg->text_len || !out || msg->text_off >= m->nrefs) return NULL;
    lines = m->refs[msg->text_off];
    for (size_t i = 1; i <= lines && msg->text_off + i < m->nrefs; i++) {
        uint32_t l;
        const char *at = m->text + m->refs[msg->text_off + i];

        memcpy(&l, at, sizeof(l));
        if (n + l > m->lim.max_msg_copy) break; /* cannot be: the copy was cut so */
        memcpy(out + n, at + sizeof(l), l);
        n += l;
    }
    *len = n;
    return out;
}
