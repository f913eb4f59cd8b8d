/* The stateful forking proxy (RFC 3261 §16, RFC 5393 loop check, RFC 5658 double Record-Route) and the redirect server (§8.3). */
#include "server/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/rand.h"
#include "server/proxy_failover.h"
#include "server/proxy_timer_c.h"
#include "sip/print.h"
#include "sip/scan.h"

const struct sk_proxy_config sk_proxy_config_default = {
    .mode = SK_MODE_PROXY,
    .timer_c_ms = 185000,
    .auth = true,
    .accept_foreign = true,
    .record_route = true,
};

/* ---- Pieces of messages ---- */

/* The elements of a list header line after the first one (unset if none). */
static struct sk_str after_first_elem(const struct sip_hdr *h, struct sk_str first)
{
    const char *p = first.p + first.len, *end = h->value.p + h->value.len;

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end || *p != ',')
        return SK_STR_NULL;
    p++;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p < end ? sk_str_make(p, (size_t) (end - p)) : SK_STR_NULL;
}

/* A header line as it was, with CRLF. */
static void copy_line(struct sk_buf *b, const struct sip_hdr *h)
{
    sk_buf_append(b, h->name.p, (size_t) (h->value.p + h->value.len - h->name.p));
    sk_buf_puts(b, "\r\n");
}

static void put_body(struct sk_buf *b, const struct sip_msg *m)
{
    if (m->content_length < 0)
        sip_print_content_length(b, m->body.len);
    sk_buf_puts(b, "\r\n");
    if (m->body.len)
        sk_buf_append(b, m->body.p, m->body.len);
}

/* §16.7 step 3: a response without our Via, for the server transaction. With
 * drop_auth the WWW-/Proxy-Authenticate lines are left out (the proxy merges
 * the challenges of all branches, step 7); *hdr_end is where headers can be added. */
static void copy_response(const struct sip_msg *m, bool drop_auth, struct sk_buf *b,
                          size_t *hdr_end)
{
    const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);

    sk_buf_reset(b);
    /* the status line as received */
    sk_buf_append(b, m->buf, (size_t) ((m->nhdr ? m->hdr[0].name.p : m->buf + m->len) - m->buf));
    for (uint16_t i = 0; i < m->nhdr; i++) {
        const struct sip_hdr *h = &m->hdr[i];
        if (h == top) {
            struct sk_str rest = after_first_elem(h, m->via.raw);
            if (rest.p) {
                sk_buf_puts(b, "Via: ");
                sk_buf_put_str(b, rest);
                sk_buf_puts(b, "\r\n");
            }
            continue;
        }
        if (drop_auth && (h->id == SIP_HDR_WWW_AUTHENTICATE || h->id == SIP_HDR_PROXY_AUTHENTICATE))
            continue;
        copy_line(b, h);
    }
    *hdr_end = b->len;
    put_body(b, m);
}

/* ---- Addresses ---- */

static bool ip_private(const struct sk_sa *a)
{
    if (a->u.sa.sa_family == AF_INET) {
        uint32_t ip = ntohl(a->u.in.sin_addr.s_addr);
        return (ip >> 24) == 10 || (ip >> 20) == (172u << 4 | 1) || (ip >> 16) == (192u << 8 | 168) ||
               (ip >> 22) == (100u << 2 | 1); /* 100.64/10, RFC 6598 */
    }
    if (a->u.sa.sa_family == AF_INET6)
        return (a->u.in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc;
    return false;
}

/* Our address for a transport and family: the listen address, or the address
 * the request came to when we listen on a wildcard. */
static int our_addr(const struct sk_proxy_env *env, enum sip_proto proto, int family,
                    const struct sk_sa *hint, struct sk_sa *out)
{
    const struct sip_listen *l = env->ops->local(env->arg, proto, family);

    if (!l)
        return ENOENT;
    *out = l->addr;
    if (family == AF_INET && out->u.in.sin_addr.s_addr == 0 && hint &&
        hint->u.sa.sa_family == AF_INET)
        out->u.in.sin_addr = hint->u.in.sin_addr;
    if (family == AF_INET6 && hint && hint->u.sa.sa_family == AF_INET6 &&
        memcmp(&out->u.in6.sin6_addr, &in6addr_any, 16) == 0)
        out->u.in6.sin6_addr = hint->u.in6.sin6_addr;
    return 0;
}

static void put_hostport(struct sk_buf *b, const struct sk_sa *a)
{
    char tmp[80];
    sk_buf_puts(b, sk_sa_str(a, tmp, sizeof(tmp)));
}

/* RFC 5626 §5.3 in spirit, for WebSocket clients (RFC 7118 §5): their Contact is a
 * *.invalid name nobody can reach, so the Record-Route facing one names its
 * connection in the user part: "ws" and the peer's address in hex (v4: 8+4 digits,
 * v6: 32+4). A request in the dialog that comes back along it goes to that flow. */
#define FLOW_TOKEN_MAX 40

static void flow_token(char *out, size_t size, const struct sk_sa *peer, bool secure)
{
    const uint8_t *ip;
    size_t n;

    if (peer->u.sa.sa_family == AF_INET) {
        ip = (const uint8_t *) &peer->u.in.sin_addr;
        n = 4;
    } else {
        ip = (const uint8_t *) &peer->u.in6.sin6_addr;
        n = 16;
    }
    if (size < 3 + 2 * n + 4 + 1) { /* "wss", the address, the port, NUL */
        out[0] = '\0';
        return;
    }
    memcpy(out, secure ? "wss" : "ws", secure ? 3 : 2);
    out += secure ? 3 : 2;
    for (size_t i = 0; i < n; i++)
        sk_hex(out + 2 * i, ip[i], 2);
    sk_hex(out + 2 * n, sk_sa_port(peer), 4);
    out[2 * n + 4] = '\0';
}

/* The flow a flow token names: 0 with d filled, or EINVAL. */
static int flow_token_parse(struct sk_str user, struct sip_dest *d)
{
    uint8_t ip[16];
    size_t n;
    unsigned port = 0;

    bool secure = user.len > 3 && memcmp(user.p, "wss", 3) == 0;

    if (user.len < 2 || user.p[0] != 'w' || user.p[1] != 's')
        return EINVAL;
    user.p += secure ? 3 : 2;
    user.len -= secure ? 3 : 2;
    if (user.len != 8 + 4 && user.len != 32 + 4)
        return EINVAL;
    n = (user.len - 4) / 2;
    for (size_t i = 0; i < n + 2; i++) {
        int hi = sc_hexval(user.p[2 * i]), lo = sc_hexval(user.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return EINVAL;
        if (i < n)
            ip[i] = (uint8_t) (hi * 16 + lo);
        else
            port = port * 256 + (unsigned) (hi * 16 + lo);
    }
    memset(d, 0, sizeof(*d));
    d->proto = secure ? SIP_PROTO_WSS : SIP_PROTO_WS;
    if (n == 4) {
        d->addr.u.in.sin_family = AF_INET;
        memcpy(&d->addr.u.in.sin_addr, ip, 4);
        d->addr.len = sizeof(d->addr.u.in);
    } else {
        d->addr.u.in6.sin6_family = AF_INET6;
        memcpy(&d->addr.u.in6.sin6_addr, ip, 16);
        d->addr.len = sizeof(d->addr.u.in6);
    }
    sk_sa_set_port(&d->addr, (uint16_t) port);
    return 0;
}

/* A request in a dialog whose last Route of ours carried a flow token, and with no
 * Route left: it goes to that flow. */
static bool route_flow(const struct sip_route_prep *pr, struct sip_dest *d)
{
    struct sk_str v;

    if (pr->first < pr->last || pr->first == 0 || !pr->routes ||
        !sip_uri_param(&pr->routes[pr->first - 1].uri, "ob", &v))
        return false;
    return flow_token_parse(pr->routes[pr->first - 1].uri.user, d) == 0;
}

static void put_rr(struct sk_buf *b, enum sip_proto proto, const struct sk_sa *a,
                   const struct sk_sa *peer)
{
    char ft[FLOW_TOKEN_MAX];

    sk_buf_puts(b, "Record-Route: <sip:");
    if (sip_proto_is_ws(proto) && peer) {
        flow_token(ft, sizeof(ft), peer, proto == SIP_PROTO_WSS);
        if (ft[0]) {
            sk_buf_puts(b, ft);
            sk_buf_putc(b, '@');
        }
    }
    put_hostport(b, a);
    /* RFC 5630 §3.1.3: a sip URI with transport=tls (as deployed peers expect; a
     * sips Record-Route would make the whole dialog sips) */
    if (proto == SIP_PROTO_TCP)
        sk_buf_puts(b, ";transport=tcp");
    else if (proto == SIP_PROTO_TLS)
        sk_buf_puts(b, ";transport=tls");
    else if (sip_proto_is_ws(proto))
        sk_buf_puts(b, ";transport=ws"); /* RFC 7118 §5: WS and WSS alike */
    if (sip_proto_is_ws(proto) && peer)
        sk_buf_puts(b, ";ob"); /* a flow URI: sip_route_prep takes it for ours */
    sk_buf_puts(b, ";lr>\r\n");
}

/* ---- §16.4 Route processing ---- */

static bool env_is_local(void *arg, const struct sip_uri *u)
{
    const struct sk_proxy_env *env = arg;
    return sk_loc_is_self(env->self, u);
}

int sk_proxy_prep(const struct sk_proxy_env *env, struct sip_msg *m, struct sip_route_prep *pr,
                  int *status, char *reason, size_t reason_size)
{
    struct sip_error e;

    *status = 0;
    if (sip_route_prep(m, env_is_local, (void *) env, pr, &e) != 0) {
        sip_error_phrase(&e, reason, reason_size);
        *status = 400;
        return EBADMSG;
    }
    return 0;
}

/* ---- §16.3 step 4: loops (RFC 5393 §4.2) ---- */

static uint64_t fnv(uint64_t h, struct sk_str v)
{
    for (size_t i = 0; i < v.len; i++) {
        h ^= (unsigned char) v.p[i];
        h *= 1099511628211ull;
    }
    h ^= 0xff; /* field separator */
    h *= 1099511628211ull;
    return h;
}

/* The fields that, unchanged, make a returning request a loop rather than a spiral. */
static uint64_t loop_hash(const struct sip_msg *m)
{
    static const enum sip_hdr_id ids[] = {SIP_HDR_ROUTE, SIP_HDR_PROXY_REQUIRE,
                                          SIP_HDR_PROXY_AUTHORIZATION};
    uint64_t h = 1469598103934665603ull;
    char num[8];

    h = fnv(h, m->ruri_raw);
    h = fnv(h, m->from.tag);
    h = fnv(h, m->to.tag);
    h = fnv(h, m->call_id);
    sk_hex(num, m->cseq.num, 8);
    h = fnv(h, sk_str_make(num, 8));
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (const struct sip_hdr *x = sip_msg_hdr(m, ids[i]); x; x = sip_msg_hdr_next(m, x))
            h = fnv(h, x->value);
    }
    return h;
}

#define OUR_BRANCH "z9hG4bKsk"

bool sk_proxy_detect_loop(const struct sk_proxy_env *env, struct sip_msg *m)
{
    const struct sip_via *v;
    struct sip_error e;
    size_t n;
    char want[16];

    if (sip_msg_vias(m, &v, &n, &e) != 0)
        return false;
    sk_hex(want, loop_hash(m), 16);
    for (size_t i = 0; i < n; i++) {
        if (v[i].branch.len < sizeof(OUR_BRANCH) - 1 + 16 ||
            memcmp(v[i].branch.p, OUR_BRANCH, sizeof(OUR_BRANCH) - 1) != 0)
            continue;
        if (!env->ops->addr_is_ours(env->arg, v[i].host, v[i].has_port ? v[i].port : 0))
            continue;
        if (memcmp(v[i].branch.p + sizeof(OUR_BRANCH) - 1, want, 16) == 0) {
            env->ops->count(env->arg, SK_PROXY_COUNT_LOOPS);
            return true;
        }
    }
    return false;
}

/* §16.6 step 8: the loop hash, then 64 random bits for uniqueness. */
static void make_branch(const struct sip_msg *m, char *out, size_t size)
{
    sip_branch_print(out, size, OUR_BRANCH, loop_hash(m), sk_rand64(), 16);
}

/* ---- Targets (§16.5) ---- */

struct px_target {
    char *uri;              /* Request-URI of the branch; NULL = the request's own */
    char *path;             /* RFC 3327 Path of the binding: Route values to add */
    int q;
    bool use_flow;          /* send to the address the REGISTER came from */
    struct sip_dest flow;
};


/* ---- One forwarded request (§16.6) ---- */

/* Why a branch was not sent: the status it counts as, and our reason phrase. */
struct px_fail {
    int status;
    const char *reason;
};

static int px_failed(struct px_fail *f, int err, int status, const char *reason)
{
    f->status = status;
    f->reason = reason;
    return err;
}

/* What a request for one target is built from. */
struct px_build {
    const struct sip_msg *m;
    const struct sip_route_prep *pr;
    const struct sk_sa *src;      /* where it came from: received/rport on its Via */
    enum sip_proto in_proto;      /* and over what: a second Record-Route on a change */
    const struct sk_sa *in_local; /* the address it came to */
    const struct px_target *tg;   /* the branch's target (NULL or tg->uri NULL: the Request-URI) */
    bool stateless;               /* §16.11: the same branch for every retransmission */
};

/* §16.6 steps 6-7 for one target: its URI, the binding's Path, the next hop.
 * The hop points into the plan or the message: a plan is not copied. */
struct px_plan {
    struct sip_uri target; /* the branch's Request-URI, parsed */
    struct sip_uri path;   /* the first Path value (RFC 3327), when has_path */
    bool has_path;
    struct sip_route_next next;
};

struct fwd {
    struct sk_buf buf;
    struct sip_dest dst;
    char branch[48];
};

static bool tg_has_path(const struct px_target *tg)
{
    return tg && tg->path && tg->path[0];
}

static int plan_branch(const struct px_build *in, struct px_plan *pl, struct px_fail *fail)
{
    struct sk_str ruri = in->tg && in->tg->uri ? sk_str_cstr(in->tg->uri) : in->pr->ruri->raw;
    struct sip_error e;

    if (sip_uri_parse(&pl->target, ruri.p, ruri.len, &e) != 0)
        return px_failed(fail, EBADMSG, 500, "Bad Target URI");
    pl->has_path = tg_has_path(in->tg);
    if (pl->has_path) {
        const char *p = in->tg->path, *end = p + strlen(p);
        struct sip_addr a;
        if (sip_parse_addr(&p, end, true, false, &a, &e) != 0)
            return px_failed(fail, EBADMSG, 500, "Bad Path");
        pl->path = a.uri;
    }
    sip_route_next(in->pr, &pl->target, pl->has_path ? &pl->path : NULL, &pl->next);
    return 0;
}

/* A registered contact reached where its REGISTER came from (RFC 5626 flow, or
 * an address we cannot reach directly), when no Route or Path leads elsewhere. */
static bool use_flow(const struct px_build *in)
{
    return in->tg && in->tg->use_flow && !tg_has_path(in->tg) && in->pr->first >= in->pr->last;
}

/* §16.6 steps 4, 5 and 8: Request-Line, our Via, Record-Route, Route, Max-Forwards. */
static void put_head(const struct sk_proxy_env *env, const struct px_build *in,
                     const struct px_plan *pl, struct fwd *f, const struct sk_sa *me)
{
    const struct sip_msg *m = in->m;
    const struct sip_route_prep *pr = in->pr;
    struct sk_buf *b = &f->buf;
    bool rr = !in->stateless && env->cfg->record_route && !sk_str_isset(m->to.tag) &&
              (m->method_id == SIP_METHOD_INVITE || m->method_id == SIP_METHOD_SUBSCRIBE ||
               m->method_id == SIP_METHOD_REFER || m->method_id == SIP_METHOD_NOTIFY);
    bool first_route = true;

    sip_print_request_line(b, m->method, pl->next.ruri);
    /* §16.6 step 8: our Via on top */
    if (in->stateless) {
        /* §16.11: a stateless forward's branch is the same for every retransmission */
        sip_branch_print(f->branch, sizeof(f->branch), OUR_BRANCH, loop_hash(m),
                         fnv(1469598103934665603ull, m->via.branch), 16);
    } else {
        make_branch(m, f->branch, sizeof(f->branch));
    }
    sk_buf_puts(b, "Via: SIP/2.0/");
    sk_buf_puts(b, sip_proto_name(f->dst.proto));
    sk_buf_putc(b, ' ');
    put_hostport(b, me);
    sk_buf_puts(b, ";branch=");
    sk_buf_puts(b, f->branch);
    sk_buf_puts(b, "\r\n");
    /* §16.6 step 4 and RFC 5658: Record-Route, twice when the transport changes */
    if (rr) {
        struct sk_sa in_me;
        put_rr(b, f->dst.proto, me, &f->dst.addr);
        /* a WebSocket side always gets its own, with its flow token */
        if ((f->dst.proto != in->in_proto || sip_proto_is_ws(in->in_proto) ||
             me->u.sa.sa_family != in->in_local->u.sa.sa_family) &&
            our_addr(env, in->in_proto, in->in_local->u.sa.sa_family, in->in_local, &in_me) == 0)
            put_rr(b, in->in_proto, &in_me, in->src);
    }
    /* §16.6 step 5 (Path as Route), then what remains of the received Route set */
    if (pl->has_path || pl->next.first < pr->last || pl->next.strict_tail.p) {
        sk_buf_puts(b, "Route: ");
        if (pl->has_path) {
            sk_buf_puts(b, in->tg->path);
            first_route = false;
        }
        for (size_t i = pl->next.first; i < pr->last; i++) {
            if (!first_route)
                sk_buf_puts(b, ", ");
            sk_buf_put_str(b, pr->routes[i].raw);
            first_route = false;
        }
        if (pl->next.strict_tail.p) {
            sk_buf_puts(b, first_route ? "<" : ", <");
            sk_buf_put_str(b, pl->next.strict_tail);
            sk_buf_putc(b, '>');
        }
        sk_buf_puts(b, "\r\n");
    }
    /* §16.6 step 3 */
    sk_buf_puts(b, "Max-Forwards: ");
    sk_buf_put_u64(b, m->max_forwards < 0 ? 70u : (uint64_t) (m->max_forwards - 1));
    sk_buf_puts(b, "\r\n");
}

/* §22.3: Proxy-Authorization for one of our realms was for us: consumed here. */
static bool auth_is_ours(const struct sk_proxy_env *env, const struct sip_msg *m,
                         const struct sip_auth *pa)
{
    bool ours = false;

    if (!pa->digest)
        return false;
    for (unsigned d = 0; d < env->ndomains; d++)
        ours |= sk_str_eq_cstr(pa->realm, env->domains[d]);
    return ours | sk_str_ieq(pa->realm, m->from.uri.host);
}

/* The received header lines, less Route and Max-Forwards (written by put_head)
 * and our own credentials, with received/rport on the top Via. */
static void put_rest(const struct sk_proxy_env *env, const struct px_build *in, struct sk_buf *b)
{
    const struct sip_msg *m = in->m;
    const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);
    const struct sip_auth *pa = NULL;
    size_t npa = 0, ipa = 0;
    struct sip_msg *mm = (struct sip_msg *) m; /* accessors cache; the message is not changed */
    struct sip_error e;

    if (m->count[SIP_HDR_PROXY_AUTHORIZATION] &&
        sip_msg_auths(mm, SIP_HDR_PROXY_AUTHORIZATION, &pa, &npa, &e) != 0)
        npa = 0;
    for (uint16_t i = 0; i < m->nhdr; i++) {
        const struct sip_hdr *h = &m->hdr[i];
        if (h->id == SIP_HDR_ROUTE || h->id == SIP_HDR_MAX_FORWARDS)
            continue;
        if (h->id == SIP_HDR_PROXY_AUTHORIZATION) {
            bool ours = ipa < npa && auth_is_ours(env, m, &pa[ipa]);
            ipa++;
            if (ours)
                continue;
        } else if (h == top) {
            /* §18.2.1 / RFC 3581: received and rport on the Via we got */
            struct sk_str rest = after_first_elem(h, m->via.raw);
            sk_buf_puts(b, "Via: ");
            sip_print_via(b, &m->via, in->src);
            if (rest.p) {
                sk_buf_puts(b, ", ");
                sk_buf_put_str(b, rest);
            }
            sk_buf_puts(b, "\r\n");
            continue;
        }
        copy_line(b, h);
    }
    put_body(b, m);
}

/* The request for one target to dst (f->dst on return). 0, or an error with
 * fail set: the status the branch counts as. */
static int build_request(const struct sk_proxy_env *env, const struct px_build *in,
                         const struct px_plan *pl, const struct sip_dest *dst, struct fwd *f,
                         struct px_fail *fail)
{
    struct sk_sa me;
    bool force_tcp = false;

    f->dst = *dst;
    for (;;) {
        if (force_tcp)
            f->dst.proto = SIP_PROTO_TCP;
        if (our_addr(env, f->dst.proto, f->dst.addr.u.sa.sa_family, in->in_local, &me) != 0)
            return px_failed(fail, ENETUNREACH, 503, "No Transport to Next Hop");
        sk_buf_reset(&f->buf);
        put_head(env, in, pl, f, &me);
        put_rest(env, in, &f->buf);
        if (f->buf.failed)
            return px_failed(fail, ENOMEM, 500, NULL);
        /* §18.1.1: a request within 200 bytes of the path MTU goes over a
         * congestion-controlled transport. Not toward a registered contact: it
         * registered over UDP, and may sit behind NAT or listen on UDP only. */
        if (force_tcp || f->dst.proto != SIP_PROTO_UDP || (in->tg && in->tg->uri) ||
            sip_tp_select(SIP_PROTO_UDP, f->buf.len) != SIP_PROTO_TCP ||
            !env->ops->local(env->arg, SIP_PROTO_TCP, f->dst.addr.u.sa.sa_family))
            return 0;
        force_tcp = true;
    }
}

/* What a failed resolution makes of a branch. */
static int resolve_failed(struct px_fail *fail, int err)
{
    /* §21.4.5: 404 also says "a domain this server does not handle" */
    if (err == EHOSTUNREACH)
        return px_failed(fail, err, 404, "Domain Not Found");
    return px_failed(fail, err, 503, "Unsupported Transport");
}

/* ---- The response context of one proxied request (§16.7) ---- */

struct px_ctx;

struct px_branch {
    struct px_ctx *ctx;
    struct sip_txn *ct;
    int status;             /* final status, 0 while pending */
    bool provisional;       /* a 101-199 (or 100) came: CANCEL may be sent */
    bool done;
    struct sk_proxy_timer_c timer_c; /* INVITE branches (§16.6 step 11) */
    size_t tg;              /* its target: c->tg[tg] */
    /* resolving its next hop: the pending resolution (NULL once answered or when
     * the answer came at once), and while sip_resolve_start runs, the request */
    struct sip_resolve *rq;
    bool resolving;
    struct px_now *now;
    /* RFC 3263 §4.3: the resolved next hops (alt[ialt]: the one tried now) */
    struct sip_dest *alt;
    size_t nalt, ialt;
    bool sending;   /* inside sip_txn_client_new_keyed */
    bool retry_now; /* ... which failed at once: the next target after it returns */
};

struct px_ctx {
    const struct sk_proxy_env *env;
    struct sip_txn *st;
    struct sk_loop *loop;
    int refs;               /* the request side + one per live client transaction or resolution */
    char *req;              /* the request as received, for later groups and our own answers */
    size_t req_len;
    enum sip_proto proto;
    struct sk_sa src, local;
    bool invite;
    bool final_sent, cancelled, got_6xx;
    enum sip_method method;
    bool call;             /* an INVITE without To tag: a call for the metrics */
    struct sk_str call_id; /* in req */
    /* targets, highest q first, and the groups of equal q tried in turn */
    struct px_target *tg;
    size_t ntg, next_tg;
    struct px_branch *br;
    size_t nbr, cap_br;
    size_t pending;
    /* the best final response so far (§16.7 step 6) */
    int best;
    int best_score;
    const char *best_reason;  /* for one of our own */
    struct sk_buf best_msg;   /* a received one, without our Via (and without challenges) */
    size_t best_hdr_end;
    struct sk_buf challenges; /* every WWW-/Proxy-Authenticate of the 401/407s (step 7) */
};

static void report(const struct px_ctx *c, enum sk_proxy_event_kind kind, int status)
{
    struct sk_proxy_event ev = {.kind = kind, .method = c->method, .status = status,
                                .call_id = c->call_id};

    if (c->env->ops->event)
        c->env->ops->event(c->env->arg, &ev);
}

static void ctx_unref(struct px_ctx *c)
{
    if (--c->refs > 0)
        return;
    if (c->st) {
        sip_txn_set_data(c->st, NULL);
        sip_txn_unref(c->st);
    }
    for (size_t i = 0; i < c->ntg; i++) {
        free(c->tg[i].uri);
        free(c->tg[i].path);
    }
    free(c->tg);
    for (size_t i = 0; i < c->nbr; i++)
        free(c->br[i].alt);
    free(c->br);
    free(c->req);
    sk_buf_free(&c->best_msg);
    sk_buf_free(&c->challenges);
    free(c);
}

/* Our own final response to the request (parsed again from the copy we keep). */
static void ctx_respond_own(struct px_ctx *c, int code, const char *reason, const char *extra)
{
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;
    struct sip_rx rx;

    if (!m)
        return;
    sip_msg_init(m);
    if (sip_msg_parse(m, c->req, c->req_len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) == 0) {
        memset(&rx, 0, sizeof(rx));
        rx.msg = m;
        rx.loop = c->loop;
        rx.proto = c->proto;
        rx.src = c->src;
        rx.local = c->local;
        c->env->ops->respond(c->env->arg, c->st, &rx, code, reason, extra);
    }
    sip_msg_release(m);
    free(m);
}

/* Lower is better: 6xx, then the lowest class; a challenge before other 4xx;
 * a response we received before one we made up (§16.7 step 6). */
static int score(int status, bool ours)
{
    int cls = status / 100 * 10;

    if (status >= 600)
        return 0;
    if (status == 401 || status == 407)
        return cls;
    return cls + (ours ? 2 : 1);
}

static void record_final(struct px_ctx *c, struct sip_rx *rx, int status, const char *reason)
{
    int sc = score(status, rx == NULL);

    if (rx && (status == 401 || status == 407)) {
        const struct sip_msg *m = rx->msg;
        for (uint16_t i = 0; i < m->nhdr; i++) {
            if (m->hdr[i].id == SIP_HDR_WWW_AUTHENTICATE ||
                m->hdr[i].id == SIP_HDR_PROXY_AUTHENTICATE)
                copy_line(&c->challenges, &m->hdr[i]);
        }
    }
    if (status >= 600)
        c->got_6xx = true;
    if (c->best && sc >= c->best_score)
        return;
    c->best = status;
    c->best_score = sc;
    c->best_reason = reason;
    if (rx)
        copy_response(rx->msg, status == 401 || status == 407, &c->best_msg, &c->best_hdr_end);
    else
        sk_buf_reset(&c->best_msg);
}

static void start_group(struct px_ctx *c);

static void send_best(struct px_ctx *c)
{
    c->final_sent = true;
    if (c->call)
        report(c, SK_PROXY_EV_CALL_FAILED,
               c->best == 0 ? 408 : c->best == 503 ? 500 : c->best);
    if (c->best && c->best != 503 && c->best_msg.len)
        report(c, SK_PROXY_EV_RESPONSE, c->best);
    if (c->best == 0) {
        ctx_respond_own(c, 408, NULL, NULL); /* no branch answered at all */
    } else if (c->best == 503) {
        /* §16.7 step 6: a 503 from downstream becomes 500 here */
        ctx_respond_own(c, 500, "Next Hop Unavailable", NULL);
    } else if (c->best_msg.len == 0) {
        ctx_respond_own(c, c->best, c->best_reason, NULL);
    } else {
        struct sk_buf *b = &c->best_msg;
        if (c->challenges.len) {
            /* step 7: the challenges of every branch, in the chosen response */
            struct sk_buf out;
            sk_buf_init(&out);
            sk_buf_append(&out, b->p, c->best_hdr_end);
            sk_buf_append(&out, c->challenges.p, c->challenges.len);
            sk_buf_append(&out, b->p + c->best_hdr_end, b->len - c->best_hdr_end);
            if (!out.failed)
                sip_txn_respond(c->st, c->best, out.p, out.len);
            sk_buf_free(&out);
        } else {
            sip_txn_respond(c->st, c->best, b->p, b->len);
        }
    }
    c->env->ops->count(c->env->arg, SK_PROXY_COUNT_RESPONSES);
    ctx_unref(c); /* the request side is over */
}

/* A branch ended: another group, or the best response (§16.7 steps 4-6). */
static void branch_done(struct px_ctx *c)
{
    if (c->pending > 0 || c->final_sent)
        return;
    if (!c->cancelled && !c->got_6xx && c->next_tg < c->ntg) {
        start_group(c); /* §16.6: sequential search through lower q */
        if (c->pending > 0 || c->final_sent)
            return;
    }
    send_best(c);
}

/* Branches still resolving their next hop are never sent: they count as 487. */
static void cancel_resolving(struct px_ctx *c)
{
    size_t unrefs = 0;

    for (size_t i = 0; i < c->nbr; i++) {
        struct px_branch *b = &c->br[i];
        if (b->done || !b->resolving || !b->rq)
            continue;
        sip_resolve_cancel(b->rq);
        b->rq = NULL;
        b->resolving = false;
        b->done = true;
        b->status = 487;
        c->pending--;
        record_final(c, NULL, 487, NULL);
        unrefs++;
    }
    while (unrefs--)
        ctx_unref(c); /* the caller holds a reference: c stays */
}

static void cancel_pending(struct px_ctx *c, const char *reason)
{
    cancel_resolving(c);
    for (size_t i = 0; i < c->nbr; i++) {
        struct px_branch *b = &c->br[i];
        if (b->done || !b->ct)
            continue;
        sip_txn_cancel(b->ct, reason);
        if (!b->provisional && c->cancelled) {
            /* nothing came back yet: the CANCEL leaves with the first provisional,
             * and this branch counts as 487 now rather than after Timer B */
            b->done = true;
            b->status = 487;
            c->pending--;
            record_final(c, NULL, 487, NULL);
        }
    }
}

/* A branch's response upstream as it came, without our Via (§16.7 steps 3, 5). */
static void forward_up(struct px_ctx *c, struct sip_rx *rx, int status)
{
    struct sk_buf out;
    size_t he;

    sk_buf_init(&out);
    copy_response(rx->msg, false, &out, &he);
    if (!out.failed)
        sip_txn_respond(c->st, status, out.p, out.len);
    sk_buf_free(&out);
    report(c, SK_PROXY_EV_RESPONSE, status);
    if (c->call && status >= 180 && status <= 189)
        report(c, SK_PROXY_EV_CALL_RINGING, status);
}

static bool try_next_target(struct px_ctx *c, struct px_branch *b, struct sip_txn *t,
                            struct sip_rx *rx, int status);

static void on_branch_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct px_branch *b = arg;
    struct px_ctx *c = b->ctx;
    const struct sip_via *vias;
    struct sip_error e;
    size_t nv;

    sk_proxy_timer_c_response(&b->timer_c, status); /* §16.7 step 2 */
    /* §16.7 step 3: a response with no Via left once ours is gone was meant for
     * us, and is not forwarded: a final one counts as its status, answered by us */
    if (rx && (sip_msg_vias(rx->msg, &vias, &nv, &e) != 0 || nv < 2)) {
        if (status < 300 || b->done)
            return;
        rx = NULL;
    }
    if (status < 200) {
        b->provisional = true;
        /* §16.7 step 5: provisionals other than 100 go upstream at once */
        if (status > 100 && rx && !c->final_sent)
            forward_up(c, rx, status);
        return;
    }
    if (status < 300 && rx) {
        /* step 5: every 2xx goes upstream at once (retransmissions too, RFC 6026) */
        bool first = !b->done;
        forward_up(c, rx, status);
        if (!first)
            return;
        b->done = true;
        b->status = status;
        c->pending--;
        if (c->call)
            report(c, SK_PROXY_EV_CALL_ANSWERED, status);
        if (!c->final_sent) {
            c->final_sent = true;
            c->env->ops->count(c->env->arg, SK_PROXY_COUNT_RESPONSES);
            /* step 10: the other branches of an INVITE are no longer wanted */
            if (c->invite)
                cancel_pending(c, "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n");
            ctx_unref(c);
        }
        return;
    }
    if (b->done)
        return; /* e.g. the 487 of a branch already counted at CANCEL time */
    if (try_next_target(c, b, t, rx, status)) return;
    b->done = true;
    b->status = status;
    c->pending--;
    if (!c->final_sent) {
        record_final(c, rx, status, NULL);
        /* step 10: a 6xx ends the search; the other branches are cancelled */
        if (status >= 600 && c->invite)
            cancel_pending(c, NULL);
    }
    branch_done(c);
}

static void on_branch_terminated(struct sip_txn *t, void *arg)
{
    struct px_branch *b = arg;
    struct px_ctx *c = b->ctx;

    /* after a failover the branch's Timer C belongs to its newer transaction */
    if (b->ct == t || !b->ct) sk_proxy_timer_c_stop(&b->timer_c);
    if (b->ct == t) {
        sip_txn_unref(b->ct);
        b->ct = NULL;
    }
    ctx_unref(c);
}

static const struct sip_txn_user branch_user = {on_branch_response, on_branch_terminated};

/* ---- Starting branches (§16.6) ---- */

/* The branch's request and plan, while sip_resolve_start runs. */
struct px_now {
    const struct px_build *in;
    const struct px_plan *pl;
};

static void branch_fail(struct px_ctx *c, struct px_branch *b, const struct px_fail *fail)
{
    SK_DEBUG("branch to %s not sent: %d %s", c->tg[b->tg].uri ? c->tg[b->tg].uri : "(request URI)",
             fail->status, fail->reason ? fail->reason : "");
    b->done = true;
    b->status = fail->status;
    record_final(c, NULL, fail->status, fail->reason);
}

static void build_in(const struct px_ctx *c, const struct px_branch *b, const struct sip_msg *m,
                     const struct sip_route_prep *pr, struct px_build *in)
{
    *in = (struct px_build){m, pr, &c->src, c->proto, &c->local, &c->tg[b->tg], false};
}

static void failover_step(struct px_ctx *c, struct px_branch *b);

/* Build the branch's request for dst and start its client transaction. */
static void branch_send(struct px_ctx *c, struct px_branch *b, const struct px_build *in,
                        const struct px_plan *pl, const struct sip_dest *dst)
{
    struct px_fail fail;
    struct fwd f;
    bool sent = false;

    sk_buf_init(&f.buf);
    if (build_request(c->env, in, pl, dst, &f, &fail) == 0) {
        int rc;
        c->refs++;
        c->pending++;
        b->sending = true;
        rc = sip_txn_client_new_keyed(c->env->txl, c->loop, f.buf.p, f.buf.len,
                                      sk_str_cstr(f.branch), in->m->method, &f.dst,
                                      &branch_user, b, &b->ct);
        b->sending = false;
        if (rc != 0) {
            c->refs--;
            c->pending--;
            px_failed(&fail, ENOMEM, 500, "Cannot Create Transaction");
        } else if (b->retry_now) {
            /* a transport error during the call: the next target, now that the
             * transaction layer is out of the way */
            sent = true;
            b->retry_now = false;
            failover_step(c, b);
        } else {
            sent = true;
            if (c->invite && b->ct && !b->done)
                sk_proxy_timer_c_start(&b->timer_c, b->ct, c->env->cfg->timer_c_ms);
        }
    }
    if (!sent)
        branch_fail(c, b, &fail);
    sk_buf_free(&f.buf);
}

static void branch_send_targets(struct px_ctx *c, struct px_branch *b, const struct px_build *in,
                                const struct px_plan *pl, const struct sip_resolve_result *res);

/* The branch's next hop resolved later: plan it again on the request parsed
 * again, and send it to the first target (the others kept for RFC 3263 §4.3). */
static void branch_resolved_msg(struct px_ctx *c, struct px_branch *b, const struct sip_msg *m,
                                const struct sip_route_prep *pr, int err,
                                const struct sip_resolve_result *res)
{
    struct px_build in;
    struct px_plan pl;
    struct px_fail fail;

    build_in(c, b, m, pr, &in);
    if (plan_branch(&in, &pl, &fail) != 0 || (err && resolve_failed(&fail, err)))
        branch_fail(c, b, &fail);
    else
        branch_send_targets(c, b, &in, &pl, res);
}

static int with_request(struct px_ctx *c,
                        void (*fn)(struct px_ctx *c, const struct sip_msg *m,
                                   const struct sip_route_prep *pr, void *arg),
                        void *arg);

/* Next hops found dead lately, per worker thread (RFC 3263 §4.3: skipped a while),
 * on the monotonic clock read now (a loop in direct-wait mode handles a datagram
 * with sk_loop_now still at the time before its blocking receive). */
static _Thread_local struct sk_px_dead px_dead;

static uint64_t dead_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The resolved targets, live ones first: send to the first, keep the others for
 * failover. */
static void branch_send_targets(struct px_ctx *c, struct px_branch *b, const struct px_build *in,
                                const struct px_plan *pl, const struct sip_resolve_result *res)
{
    struct sip_dest d[SIP_RESOLVE_MAX_TARGETS];
    size_t n = 0;

    /* only targets we have a transport and address family for (an AAAA record
     * while we listen on IPv4 only); if none is left, the first tells why */
    for (size_t i = 0; i < res->n; i++)
        if (c->env->ops->local(c->env->arg, res->dest[i].proto,
                               res->dest[i].addr.u.sa.sa_family))
            d[n++] = res->dest[i];
    if (n == 0) {
        n = 1;
        d[0] = res->dest[0];
    }
    sk_px_order_targets(&px_dead, d, n, dead_now());
    free(b->alt);
    b->alt = NULL;
    b->nalt = b->ialt = 0;
    if (n > 1 && (b->alt = malloc(n * sizeof(*d)))) {
        memcpy(b->alt, d, n * sizeof(*d));
        b->nalt = n;
    }
    branch_send(c, b, in, pl, &d[0]);
}

static void resend_next(struct px_ctx *c, const struct sip_msg *m,
                        const struct sip_route_prep *pr, void *arg)
{
    struct px_branch *b = arg;
    struct px_build in;
    struct px_plan pl;
    struct px_fail fail;

    build_in(c, b, m, pr, &in);
    if (plan_branch(&in, &pl, &fail) != 0)
        branch_fail(c, b, &fail);
    else
        branch_send(c, b, &in, &pl, &b->alt[b->ialt]);
}

/* RFC 3263 §4.3: a 503, a transport error or a timeout from target N: the request
 * goes to target N+1 with a new branch (a new client transaction); the response
 * kept for the caller is the best of the attempts. true: the branch goes on. */
static bool try_next_target(struct px_ctx *c, struct px_branch *b, struct sip_txn *t,
                            struct sip_rx *rx, int status)
{
    if (!sk_px_failover_wanted(status, rx != NULL, b->provisional) || !b->alt ||
        b->ialt >= b->nalt)
        return false;
    if (!rx || status == 503) sk_px_dead_add(&px_dead, &b->alt[b->ialt], dead_now());
    if (b->ialt + 1 >= b->nalt || c->final_sent || c->cancelled) return false;
    SK_DEBUG("branch failover after %d: target %zu of %zu", status, b->ialt + 2, b->nalt);
    record_final(c, rx, status, NULL);
    c->pending--; /* branch_send counts the new attempt */
    (void) t;
    if (b->sending)
        b->retry_now = true; /* not from inside the transaction layer: branch_send goes on */
    else
        failover_step(c, b);
    return true;
}

static void failover_step(struct px_ctx *c, struct px_branch *b)
{
    if (b->ct) {
        /* the old transaction ends on its own; its end no longer names the branch's */
        sip_txn_unref(b->ct);
        b->ct = NULL;
    }
    b->ialt++;
    b->provisional = false;
    if (with_request(c, resend_next, b) != 0)
        branch_fail(c, b, &(struct px_fail){500, "Server Internal Error"});
    if (b->done) branch_done(c);
}

struct px_later {
    struct px_branch *b;
    int err;
    const struct sip_resolve_result *res;
};

static void resolved_later(struct px_ctx *c, const struct sip_msg *m,
                           const struct sip_route_prep *pr, void *arg)
{
    struct px_later *l = arg;
    branch_resolved_msg(c, l->b, m, pr, l->err, l->res);
}

static void on_branch_resolved(void *arg, int err, const struct sip_resolve_result *res)
{
    struct px_branch *b = arg;
    struct px_ctx *c = b->ctx;

    b->rq = NULL;
    b->resolving = false;
    c->pending--;
    if (b->now) {
        /* at once, inside sip_resolve_start: the request and its plan are at hand */
        struct px_fail fail;
        if (err && resolve_failed(&fail, err))
            branch_fail(c, b, &fail);
        else
            branch_send_targets(c, b, b->now->in, b->now->pl, res);
        ctx_unref(c);
        return;
    }
    /* later, from the loop: the request is parsed again from the copy we keep */
    if (c->final_sent) {
        b->done = true;
        b->status = 487;
    } else {
        struct px_later l = {b, err, res};
        if (with_request(c, resolved_later, &l) != 0) {
            struct px_fail fail = {500, "Server Internal Error"};
            branch_fail(c, b, &fail);
        }
        branch_done(c);
    }
    ctx_unref(c);
}

/* One branch: its hop planned, then resolved (a registered flow needs no
 * resolution), then sent. */
static void branch_start(struct px_ctx *c, struct px_branch *b, const struct sip_msg *m,
                         const struct sip_route_prep *pr)
{
    struct px_build in;
    struct px_plan pl;
    struct px_now now = {&in, &pl};
    struct px_fail fail;
    struct sip_dest flow;
    int err;

    build_in(c, b, m, pr, &in);
    if (plan_branch(&in, &pl, &fail) != 0) {
        branch_fail(c, b, &fail);
        return;
    }
    if (use_flow(&in)) {
        branch_send(c, b, &in, &pl, &in.tg->flow);
        return;
    }
    if ((!in.tg || !in.tg->uri) && route_flow(pr, &flow)) {
        branch_send(c, b, &in, &pl, &flow);
        return;
    }
    c->refs++; /* the resolution's, until its callback */
    c->pending++;
    b->resolving = true;
    b->now = &now;
    err = sip_resolve_start_on(c->env->resolver, c->loop, pl.next.hop, on_branch_resolved, b,
                               &b->rq);
    b->now = NULL;
    if (err) {
        b->resolving = false;
        c->pending--;
        c->refs--;
        branch_fail(c, b, &(struct px_fail){500, "Cannot Resolve Next Hop"});
    }
}

/* Start every target of the next q group in parallel (§16.6), from the request
 * as parsed (m) with its Route processing done (pr). */
static void start_group_msg(struct px_ctx *c, const struct sip_msg *m,
                            const struct sip_route_prep *pr)
{
    size_t end;

    for (end = c->next_tg + 1; end < c->ntg && c->tg[end].q == c->tg[c->next_tg].q; end++)
        ;
    /* the array has room for every target: branches never move, as their
     * client transactions and resolutions point at them */
    if (!c->br || c->nbr + (end - c->next_tg) > c->cap_br) {
        c->next_tg = c->ntg;
        return;
    }
    for (; c->next_tg < end; c->next_tg++) {
        struct px_branch *b = &c->br[c->nbr++];
        memset(b, 0, sizeof(*b));
        b->ctx = c;
        b->tg = c->next_tg;
        branch_start(c, b, m, pr);
    }
}

/* Parse the kept copy of the request and run fn on it with §16.4 done. */
static int with_request(struct px_ctx *c,
                        void (*fn)(struct px_ctx *c, const struct sip_msg *m,
                                   const struct sip_route_prep *pr, void *arg),
                        void *arg)
{
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_route_prep pr;
    struct sip_error e;
    int status, err;
    char why[160];

    if (!m)
        return ENOMEM;
    sip_msg_init(m);
    if ((err = sip_msg_parse(m, c->req, c->req_len, SIP_PARSE_DATAGRAM, NULL, NULL, &e)) == 0 &&
        (err = sk_proxy_prep(c->env, m, &pr, &status, why, sizeof(why))) == 0)
        fn(c, m, &pr, arg);
    sip_msg_release(m);
    free(m);
    return err;
}

static void group_msg(struct px_ctx *c, const struct sip_msg *m, const struct sip_route_prep *pr,
                      void *arg)
{
    (void) arg;
    start_group_msg(c, m, pr);
}

/* The same for a later group (§16.6 sequential search). */
static void start_group(struct px_ctx *c)
{
    if (with_request(c, group_msg, NULL) != 0)
        c->next_tg = c->ntg;
}

/* ---- Location lookup ---- */

struct lookup {
    struct px_target *tg;
    size_t n, cap;
    bool oom;
    struct sk_buf *contacts; /* redirect: the Contact lines of the 302 */
    int64_t now;
};

static void lookup_cb(void *arg, const struct sk_loc_binding *bd)
{
    struct lookup *lk = arg;
    struct px_target *t;
    struct sip_uri u;
    struct sip_error e;

    if (lk->contacts) {
        /* §8.3 / §10.3: the 302 lists each binding with its q and remaining time */
        sk_buf_puts(lk->contacts, "Contact: <");
        sk_buf_puts(lk->contacts, bd->uri);
        sk_buf_putc(lk->contacts, '>');
        if (bd->q >= 0)
            sk_buf_printf(lk->contacts, ";q=%d.%03d", bd->q / 1000, bd->q % 1000);
        sk_buf_printf(lk->contacts, ";expires=%lld\r\n",
                      (long long) (bd->expires_at > lk->now ? bd->expires_at - lk->now : 0));
        lk->n++;
        return;
    }
    if (lk->n == lk->cap) {
        size_t cap = lk->cap ? lk->cap * 2 : 4;
        struct px_target *nt = realloc(lk->tg, cap * sizeof(*nt));
        if (!nt) {
            lk->oom = true;
            return;
        }
        lk->tg = nt;
        lk->cap = cap;
    }
    t = &lk->tg[lk->n];
    memset(t, 0, sizeof(*t));
    t->uri = strdup(bd->uri);
    t->path = bd->path && bd->path[0] ? strdup(bd->path) : NULL;
    t->q = bd->q < 0 ? 1000 : bd->q;
    if (!t->uri || (bd->path && bd->path[0] && !t->path)) {
        free(t->uri);
        free(t->path);
        lk->oom = true;
        return;
    }
    /* RFC 5626 flows and contacts we cannot reach directly (a private address we
     * did not hear from, or a name) are reached where the REGISTER came from */
    if (sip_uri_parse(&u, t->uri, strlen(t->uri), &e) == 0) {
        struct sk_sa ca;
        bool literal = sk_sa_from_ip(&ca, u.host, sip_uri_default_port(&u)) == 0;
        bool same_ip = literal && ca.u.sa.sa_family == bd->src.u.sa.sa_family &&
                       (ca.u.sa.sa_family == AF_INET
                            ? ca.u.in.sin_addr.s_addr == bd->src.u.in.sin_addr.s_addr
                            : memcmp(&ca.u.in6.sin6_addr, &bd->src.u.in6.sin6_addr, 16) == 0);
        t->use_flow = (bd->instance && bd->instance[0] && bd->reg_id) || !literal ||
                      (ip_private(&ca) && !same_ip) ||
                      (sip_proto_reliable(bd->proto) && same_ip);
    } else {
        t->use_flow = true;
    }
    t->flow.proto = bd->proto;
    t->flow.addr = bd->src;
    t->flow.conn = NULL;
    lk->n++;
}

static int cmp_q(const void *a, const void *b)
{
    const struct px_target *x = a, *y = b;
    return y->q - x->q;
}

/* 404 for a user we do not know, 480 for one with no binding now (§16.5): the
 * user and domain of the AOR (sk_loc_aor), the keys the registrar uses too. */
static bool user_known(const struct sk_proxy_env *env, const struct sk_buf *aor,
                       const struct sk_loc_aor_info *ai)
{
    char user[256], domain[256];

    if (aor->failed || !aor->p || ai->user_len >= sizeof(user) || ai->domain_len >= sizeof(domain))
        return false;
    memcpy(user, aor->p + ai->user_off, ai->user_len);
    user[ai->user_len] = '\0';
    memcpy(domain, aor->p + ai->domain_off, ai->domain_len);
    domain[ai->domain_len] = '\0';
    return env->ops->user_exists(env->arg, user, domain);
}

/* user_known, or true when rx's source may not tell known users from unknown
 * ones (svwar and the like enumerate extensions by the 404/480 difference). */
static bool user_known_to(const struct sk_proxy_env *env, const struct sip_rx *rx,
                          const struct sk_buf *aor, const struct sk_loc_aor_info *ai)
{
    if (env->ops->hide_users && env->ops->hide_users(env->arg, rx)) return true;
    return user_known(env, aor, ai);
}

/* ---- Entry points ---- */

static bool from_is_ours(const struct sk_proxy_env *env, const struct sip_msg *m)
{
    return m->has_from && sk_str_isset(m->from.uri.user) &&
           (m->from.uri.scheme == SIP_URI_SIP || m->from.uri.scheme == SIP_URI_SIPS) &&
           sk_loc_is_self(env->self, &m->from.uri);
}

static void free_targets(struct px_target *tg, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(tg[i].uri);
        free(tg[i].path);
    }
    free(tg);
}

/* §8.3: redirect mode answers with where the user is. */
static void redirect(const struct sk_proxy_env *env, struct sip_txn *st, struct sip_rx *rx,
                     const struct sip_route_prep *pr, int64_t now)
{
    struct lookup lk = {0};
    struct sk_buf contacts, aor;
    struct sk_loc_aor_info ai;
    bool have_aor;

    if (!pr->ruri_local) {
        env->ops->respond(env->arg, st, rx, 404, "Domain Not Served Here", NULL);
        return;
    }
    sk_buf_init(&contacts);
    sk_buf_init(&aor);
    lk.contacts = &contacts;
    lk.now = now;
    /* the AOR as the registrar derives it from the To of a REGISTER */
    have_aor = sk_loc_aor(pr->ruri, env->self, &aor, &ai) == 0 && !aor.failed;
    if (have_aor)
        env->ops->lookup(env->arg, aor.p, now, lookup_cb, &lk);
    if (lk.n > 0 && !contacts.failed)
        env->ops->respond(env->arg, st, rx, 302, NULL, contacts.p);
    else
        env->ops->respond(env->arg, st, rx, have_aor && user_known_to(env, rx, &aor, &ai) ? 480 : 404,
                          NULL, NULL);
    sk_buf_free(&contacts);
    sk_buf_free(&aor);
}

/* §22.3 / §26.3.2: initial requests from our users, and any request we would
 * relay to another domain, prove who sent them (407). True when the request may
 * go on; else it has been answered. */
static bool admit(const struct sk_proxy_env *env, struct sip_txn *st, struct sip_rx *rx,
                  const struct sip_route_prep *pr, int64_t now)
{
    const struct sip_msg *m = rx->msg;
    bool ours = from_is_ours(env, m);
    struct sk_reg_result res;
    struct sk_str realm;
    struct sk_loc_aor_info fai;
    struct sk_buf from_aor;
    char from_mem[256];
    int rc;

    if (!env->cfg->auth || (!ours && pr->ruri_local)) {
        if (!ours && pr->ruri_local && !env->cfg->accept_foreign) {
            env->ops->respond(env->arg, st, rx, 403, "Requests From Other Domains Refused", NULL);
            return false;
        }
        return true;
    }
    /* our user's realm is the domain of its AOR, as the registrar's: the users
     * table's key (lower case, an address of ours in one spelling) */
    realm = sk_str_cstr(env->domains ? env->domains[0] : "");
    sk_buf_init_ext(&from_aor, from_mem, sizeof(from_mem));
    if (ours && sk_loc_aor(&m->from.uri, env->self, &from_aor, &fai) == 0)
        realm = sk_str_make(from_aor.p + fai.domain_off, fai.domain_len);
    else if (ours)
        realm = m->from.uri.host;
    sk_buf_init(&res.headers);
    res.reason = NULL;
    rc = env->ops->authenticate(env->arg, rx, ours ? m->from.uri.user : SK_STR_NULL, realm, &res,
                                now);
    sk_buf_free(&from_aor);
    if (rc != 0)
        env->ops->respond(env->arg, st, rx, res.status, res.reason,
                          res.headers.failed || res.headers.len == 0 ? NULL : res.headers.p);
    sk_buf_free(&res.headers);
    return rc == 0;
}

/* §16.5: the target set: the bindings of an AOR of ours, highest q first, or
 * the Request-URI itself. True with lk filled; else the request was answered. */
static bool target_set(const struct sk_proxy_env *env, struct sip_txn *st, struct sip_rx *rx,
                       const struct sip_route_prep *pr, int64_t now, struct lookup *lk)
{
    struct sk_buf aor;
    struct sk_loc_aor_info ai;
    char aor_mem[256];
    bool have_aor, known;

    if (!pr->ruri_local) {
        if (!(lk->tg = calloc(1, sizeof(*lk->tg)))) {
            env->ops->respond(env->arg, st, rx, 500, "Out of Memory", NULL);
            return false;
        }
        lk->n = 1; /* the Request-URI itself (uri NULL) */
        lk->tg[0].q = 1000;
        return true;
    }
    if (!sk_str_isset(pr->ruri->user)) {
        env->ops->respond(env->arg, st, rx, 404, NULL, NULL);
        return false;
    }
    /* the AOR as the registrar derives it from the To of a REGISTER: one rule
     * for the location service and the users table (sip:uas@127.0.0.1:5070
     * is sip:uas@127.0.0.1 when 5070 is ours) */
    sk_buf_init_ext(&aor, aor_mem, sizeof(aor_mem));
    have_aor = sk_loc_aor(pr->ruri, env->self, &aor, &ai) == 0 && !aor.failed;
    if (have_aor)
        env->ops->lookup(env->arg, aor.p, now, lookup_cb, lk);
    known = lk->n == 0 && !lk->oom && have_aor && user_known_to(env, rx, &aor, &ai);
    sk_buf_free(&aor);
    if (lk->oom || lk->n == 0) {
        env->ops->respond(env->arg, st, rx, lk->oom ? 500 : known ? 480 : 404,
                          lk->oom ? "Out of Memory" : NULL, NULL);
        free_targets(lk->tg, lk->n);
        return false;
    }
    /* the location service hands them out highest q first; keep it stable */
    qsort(lk->tg, lk->n, sizeof(*lk->tg), cmp_q);
    return true;
}

/* The response context of a request about to be forwarded; takes lk's targets. */
static struct px_ctx *ctx_new(const struct sk_proxy_env *env, struct sip_txn *st,
                              const struct sip_rx *rx, struct lookup *lk)
{
    const struct sip_msg *m = rx->msg;
    struct px_ctx *c = calloc(1, sizeof(*c));

    if (!c || !(c->req = malloc(m->len))) {
        free(c);
        return NULL;
    }
    memcpy(c->req, m->buf, m->len);
    c->req_len = m->len;
    c->env = env;
    c->st = st;
    sip_txn_ref(st);
    sip_txn_set_data(st, c);
    c->loop = rx->loop;
    c->refs = 1;
    c->proto = rx->proto;
    c->src = rx->src;
    c->local = rx->local;
    c->invite = m->method_id == SIP_METHOD_INVITE;
    c->method = m->method_id;
    c->call = c->invite && !sk_str_isset(m->to.tag);
    if (c->call)
        c->call_id = (struct sk_str){c->req + (m->call_id.p - m->buf), m->call_id.len};
    c->tg = lk->tg;
    c->ntg = lk->n;
    sk_buf_init(&c->best_msg);
    sk_buf_init(&c->challenges);
    /* every branch is known now, so they can live in one array */
    c->br = calloc(c->ntg, sizeof(*c->br));
    c->cap_br = c->br ? c->ntg : 0;
    return c;
}

void sk_proxy_forward(const struct sk_proxy_env *env, struct sip_txn *st, struct sip_rx *rx,
                      const struct sip_route_prep *pr)
{
    struct sip_msg *m = rx->msg;
    struct lookup lk = {0};
    struct px_ctx *c;
    int64_t now = (int64_t) time(NULL);

    if (env->cfg->mode == SK_MODE_REDIRECT) {
        redirect(env, st, rx, pr, now);
        return;
    }
    if (!sk_str_isset(m->to.tag) && m->method_id != SIP_METHOD_ACK &&
        m->method_id != SIP_METHOD_CANCEL && !admit(env, st, rx, pr, now))
        return;
    if (!target_set(env, st, rx, pr, now, &lk))
        return;
    if (!(c = ctx_new(env, st, rx, &lk))) {
        free_targets(lk.tg, lk.n);
        env->ops->respond(env->arg, st, rx, 500, "Out of Memory", NULL);
        return;
    }
    env->ops->count(env->arg, SK_PROXY_COUNT_PROXIED);
    if (env->ops->event && (c->call || m->method_id == SIP_METHOD_BYE)) {
        struct sk_proxy_event ev = {.method = m->method_id, .call_id = m->call_id,
                                    .from = m->from.uri.raw, .to = m->to.uri.raw};
        ev.kind = c->call ? SK_PROXY_EV_CALL_START : SK_PROXY_EV_BYE;
        env->ops->event(env->arg, &ev);
    }
    c->refs++; /* held while starting, so a branch failing at once cannot free c */
    start_group_msg(c, m, pr); /* the first group: the request as parsed on arrival */
    /* 100 Trying: the INVITE server transaction sends it if no other response
     * went upstream within 200 ms (§17.2.1). Proxying is quick, so in most
     * calls the callee's 180 is first and the 100 is never needed. */
    branch_done(c);
    ctx_unref(c);
}

void sk_proxy_txn_gone(const struct sk_proxy_env *env, struct sip_txn *st)
{
    struct px_ctx *c = sip_txn_data(st);
    (void) env;

    /* the server transaction failed (transport error) or the server stops: no
     * final response will be sent; the branches sent finish on their own, the
     * ones still resolving are not sent */
    if (!c || c->final_sent)
        return;
    c->refs++;
    c->final_sent = true;
    cancel_resolving(c);
    ctx_unref(c); /* the request side */
    ctx_unref(c);
}

bool sk_proxy_cancel_branches(const struct sk_proxy_env *env, struct sip_txn *inv)
{
    struct px_ctx *c = sip_txn_data(inv);
    (void) env;

    if (!c)
        return false;
    if (c->final_sent || c->cancelled)
        return true;
    c->cancelled = true;
    c->refs++;
    cancel_pending(c, NULL);
    branch_done(c);
    ctx_unref(c);
    return true;
}

/* ---- Stateless forwarding (§16.11) ---- */

/* An ACK whose next hop is being resolved. */
struct px_ack {
    const struct sk_proxy_env *env;
    const struct px_build *in; /* while sip_resolve_start runs */
    const struct px_plan *pl;
};

static void ack_send(const struct sk_proxy_env *env, const struct px_build *in,
                     const struct px_plan *pl, const struct sip_dest *dst)
{
    struct px_fail fail;
    struct fwd f;

    sk_buf_init(&f.buf);
    if (build_request(env, in, pl, dst, &f, &fail) == 0 &&
        env->ops->send(env->arg, &f.dst, f.buf.p, f.buf.len) == 0)
        env->ops->count(env->arg, SK_PROXY_COUNT_STATELESS_FORWARDED);
    sk_buf_free(&f.buf);
}

static void on_ack_resolved(void *arg, int err, const struct sip_resolve_result *res)
{
    struct px_ack *a = arg;

    if (!err && a->in)
        ack_send(a->env, a->in, a->pl, &res->dest[0]);
}

void sk_proxy_forward_ack(const struct sk_proxy_env *env, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    struct sip_route_prep pr;
    struct px_target tg = {0};
    struct px_build in;
    struct px_plan pl;
    struct px_fail fail;
    struct px_ack a = {env, &in, &pl};
    struct sip_dest flow;
    struct sip_resolve *q;
    int status;
    char reason[160];

    if (sk_proxy_prep(env, m, &pr, &status, reason, sizeof(reason)) != 0)
        return;
    /* an ACK for us, or one we cannot place: absorbed */
    if (pr.ruri_local || m->max_forwards == 0)
        return;
    tg.q = 1000;
    in = (struct px_build){m, &pr, &rx->src, rx->proto, &rx->local, &tg, true};
    if (plan_branch(&in, &pl, &fail) != 0)
        return;
    if (route_flow(&pr, &flow)) {
        ack_send(env, &in, &pl, &flow);
        return;
    }
    if (sip_resolve_start_on(env->resolver, rx->loop, pl.next.hop, on_ack_resolved, &a, &q) ==
            0 &&
        q) {
        /* An ACK is not held across a wait for DNS: the UAC sends it again for
         * every 2xx retransmission (§13.2.2.4), and by then the answer is cached. */
        sip_resolve_cancel(q);
    }
}

void sk_proxy_forward_response(const struct sk_proxy_env *env, struct sip_rx *rx)
{
    struct sip_msg *m = rx->msg;
    const struct sip_via *v;
    struct sip_error e;
    struct sip_dest d;
    struct sk_buf out;
    size_t n, he;
    char from[64];

    /* §18.1.2: not ours on top (e.g. RFC 4475 bcast): dropped and counted */
    if (!m->has_via ||
        !env->ops->addr_is_ours(env->arg, m->via.host, m->via.has_port ? m->via.port : 0) ||
        sip_msg_vias(m, &v, &n, &e) != 0 || n < 2) {
        env->ops->count(env->arg, SK_PROXY_COUNT_STRAY);
        SK_DEBUG("dropped stray %d response from %s", m->status,
                 sk_sa_str(&rx->src, from, sizeof(from)));
        return;
    }
    /* §18.2.2 on the next Via: received, rport, sent-by (its transport); one we do
     * not speak (TLS...) cannot carry it back: dropped and counted, not sent by UDP */
    memset(&d, 0, sizeof(d));
    if (sip_proto_from_str(v[1].transport, &d.proto) ||
        sk_sa_from_ip(&d.addr, sk_str_isset(v[1].received) ? v[1].received : v[1].host,
                      v[1].rport_has_value ? v[1].rport
                      : v[1].has_port      ? v[1].port
                                           : sip_proto_default_port(d.proto)) != 0) {
        env->ops->count(env->arg, SK_PROXY_COUNT_STRAY);
        return;
    }
    sk_buf_init(&out);
    copy_response(m, false, &out, &he);
    if (!out.failed && env->ops->send(env->arg, &d, out.p, out.len) == 0)
        env->ops->count(env->arg, SK_PROXY_COUNT_STATELESS_FORWARDED);
    sk_buf_free(&out);
}
