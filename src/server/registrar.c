/* Registrar: REGISTER processing per RFC 3261 §10.3, Path (RFC 3327), outbound (RFC 5626), digest. */
#include "server/registrar.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/log.h"
#include "sip/limits.h"
#include "sip/print.h"

const struct sk_registrar_config sk_registrar_config_default = {
    .auth = true,
    .default_expires = SIP_DEFAULT_EXPIRES,
    .min_expires = SIP_DEFAULT_MIN_EXPIRES,
    .max_expires = SIP_DEFAULT_MAX_EXPIRES,
    .nonce_lifetime = 300,
    .fail_limit = 10,
    .fail_window = 60,
    .block_time = 300,
    .algs = {SIP_DIGEST_SHA256, SIP_DIGEST_MD5},
    .nalgs = 2,
};

#define FAIL_BUCKETS 1024

/* Wrong-credential counters per source address. */
struct fail_entry {
    struct fail_entry *next;
    struct sk_sa ip; /* port zeroed */
    int64_t window_start, blocked_until;
    uint32_t count;
};

struct sk_registrar {
    struct sk_registrar_config cfg;
    const struct sk_loc_self *self;
    struct sk_loc *loc;
    struct sk_store *store;
    struct sip_nonces *nonces;
    pthread_mutex_t fail_lock;
    struct fail_entry *fails[FAIL_BUCKETS];
};

int sk_registrar_new(struct sk_registrar **rp, const struct sk_registrar_config *cfg,
                     const struct sk_loc_self *self, struct sk_loc *loc, struct sk_store *store)
{
    struct sk_registrar *r = calloc(1, sizeof(*r));
    int err;

    if (!r)
        return ENOMEM;
    r->cfg = cfg ? *cfg : sk_registrar_config_default;
    r->self = self;
    r->loc = loc;
    r->store = store;
    if ((err = sip_nonces_new(&r->nonces, r->cfg.nonce_lifetime))) {
        free(r);
        return err;
    }
    pthread_mutex_init(&r->fail_lock, NULL);
    *rp = r;
    return 0;
}

void sk_registrar_free(struct sk_registrar *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < FAIL_BUCKETS; i++) {
        struct fail_entry *e = r->fails[i], *n;
        for (; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&r->fail_lock);
    sip_nonces_free(r->nonces);
    free(r);
}

/* ---- Blocking sources that keep failing ---- */

static unsigned ip_hash(const struct sk_sa *a)
{
    const unsigned char *p = (const unsigned char *) &a->u;
    unsigned h = 0;
    for (size_t i = 0; i < a->len && i < sizeof(a->u); i++)
        h = h * 31 + p[i];
    return h % FAIL_BUCKETS;
}

static struct fail_entry *fail_find(struct sk_registrar *r, const struct sk_sa *ip, bool create)
{
    unsigned h = ip_hash(ip);
    struct fail_entry *e;

    for (e = r->fails[h]; e; e = e->next) {
        if (sk_sa_equal(&e->ip, ip))
            return e;
    }
    if (!create || !(e = calloc(1, sizeof(*e))))
        return NULL;
    e->ip = *ip;
    e->next = r->fails[h];
    r->fails[h] = e;
    return e;
}

static bool is_blocked(struct sk_registrar *r, const struct sk_sa *src, int64_t now)
{
    struct sk_sa ip = *src;
    struct fail_entry *e;
    bool blocked;

    sk_sa_set_port(&ip, 0);
    pthread_mutex_lock(&r->fail_lock);
    e = fail_find(r, &ip, false);
    blocked = e && e->blocked_until > now;
    pthread_mutex_unlock(&r->fail_lock);
    return blocked;
}

static void record_failure(struct sk_registrar *r, const struct sk_sa *src, struct sk_str user,
                           int64_t now)
{
    struct sk_sa ip = *src;
    struct fail_entry *e;
    char addr[64];

    sk_sa_set_port(&ip, 0);
    pthread_mutex_lock(&r->fail_lock);
    e = fail_find(r, &ip, true);
    if (e) {
        if (now - e->window_start > (int64_t) r->cfg.fail_window) {
            e->window_start = now;
            e->count = 0;
        }
        if (++e->count >= r->cfg.fail_limit && e->blocked_until <= now) {
            e->blocked_until = now + r->cfg.block_time;
            SK_WARN("blocking %s for %u s after %u failed authentications (last user '%.*s')",
                    sk_sa_ip(src, addr, sizeof(addr)), r->cfg.block_time, e->count,
                    SK_STR_FMT(user));
        }
    }
    pthread_mutex_unlock(&r->fail_lock);
}

/* ---- Digest ---- */

static void challenge(struct sk_registrar *r, enum sip_hdr_id hdr, struct sk_str realm,
                      bool stale, struct sk_reg_result *res, int64_t now)
{
    const char *name = hdr == SIP_HDR_PROXY_AUTHORIZATION ? "Proxy-Authenticate"
                                                           : "WWW-Authenticate";
    res->status = hdr == SIP_HDR_PROXY_AUTHORIZATION ? 407 : 401;
    /* RFC 8760 §2.4: one challenge per algorithm, the preferred one first */
    sip_digest_challenges(&res->headers, name, r->nonces, realm, r->cfg.algs, r->cfg.nalgs,
                          stale, (time_t) now);
}

static bool alg_offered(const struct sk_registrar *r, enum sip_digest_alg alg)
{
    for (unsigned i = 0; i < r->cfg.nalgs; i++) {
        if (r->cfg.algs[i] == alg)
            return true;
    }
    return false;
}

static bool user_matches(struct sk_str username, struct sk_str aor_user)
{
    struct sk_buf u;
    char mem[128];
    bool same;

    sk_buf_init_ext(&u, mem, sizeof(mem));
    sip_unescape(&u, aor_user);
    same = !u.failed && sk_str_eq(username, sk_buf_str(&u));
    sk_buf_free(&u);
    return same;
}

int sk_registrar_authenticate(struct sk_registrar *r, const struct sip_rx *rx,
                              enum sip_hdr_id hdr, struct sk_str user, struct sk_str realm,
                              struct sk_reg_result *res, int64_t now, bool *replayed)
{
    struct sip_msg *m = rx->msg;
    const struct sip_auth *creds;
    const struct sip_auth *mine = NULL;
    struct sip_error e;
    struct sk_user_rec u;
    char uname[128], dname[256];
    enum sip_auth_result ar;
    enum sip_digest_alg alg;
    size_t n;

    if (is_blocked(r, &rx->src, now)) {
        res->status = 403;
        res->reason = "Too Many Failed Authentications";
        return EACCES;
    }
    if (sip_msg_auths(m, hdr, &creds, &n, &e) != 0)
        n = 0;
    /* §22.4: the credentials for our realm (others, e.g. an unknown scheme, are ignored) */
    for (size_t i = 0; i < n; i++) {
        if (creds[i].digest && sk_str_eq(creds[i].realm, realm)) {
            mine = &creds[i];
            break;
        }
    }
    if (!mine) {
        challenge(r, hdr, realm, false, res, now);
        return EACCES;
    }
    if (mine->username.len >= sizeof(uname) || realm.len >= sizeof(dname) ||
        sip_digest_alg_parse(mine->algorithm, &alg) || !alg_offered(r, alg)) {
        challenge(r, hdr, realm, false, res, now);
        return EACCES;
    }
    sk_str_copy(uname, sizeof(uname), mine->username);
    sk_str_copy(dname, sizeof(dname), realm);
    /* §10.3 step 3/4: the user may only act for its own address (the AOR's user
     * compared unescaped, §19.1.4) */
    if (user.p && !user_matches(mine->username, user)) {
        record_failure(r, &rx->src, mine->username, now);
        res->status = 403;
        res->reason = "Credentials Do Not Match the AOR";
        return EACCES;
    }
    if (!r->store || sk_store_user_get(r->store, uname, dname, &u) != 0) {
        record_failure(r, &rx->src, mine->username, now);
        challenge(r, hdr, realm, false, res, now);
        return EACCES;
    }
    ar = sip_digest_verify(r->nonces, mine, realm, m->method, m->ruri_raw,
                           alg == SIP_DIGEST_SHA256 ? u.ha1_sha256 : u.ha1_md5, (time_t) now);
    if (replayed)
        *replayed = false;
    if (ar == SIP_AUTH_REPLAY && replayed) {
        /* the right password with a nonce-count already seen: a retransmission of
         * a request answered statelessly, or a replay; the caller lets it change
         * nothing, and it is no failed login */
        *replayed = true;
        return 0;
    }
    switch (ar) {
    case SIP_AUTH_OK:
        return 0;
    case SIP_AUTH_STALE:
        challenge(r, hdr, realm, true, res, now);
        return EACCES;
    case SIP_AUTH_REPLAY:
    case SIP_AUTH_BAD:
    case SIP_AUTH_UNSUPPORTED:
        record_failure(r, &rx->src, mine->username, now);
        SK_INFO("authentication of '%s@%s' from %s failed: %s", uname, dname,
                sk_sa_ip(&rx->src, (char[64]){0}, 64), sip_auth_result_name(ar));
        challenge(r, hdr, realm, false, res, now);
        return EACCES;
    }
    return EACCES;
}

/* ---- REGISTER ---- */

/* Header params of a contact without expires (the 200 states the remaining time). */
static void params_without_expires(struct sk_str params, struct sk_buf *out)
{
    struct sk_str rest = params, n, v;
    bool first = true;

    while (sip_param_next(&rest, &n, &v)) {
        if (sk_str_ieq_cstr(n, "expires"))
            continue;
        if (!first)
            sk_buf_putc(out, ';');
        first = false;
        sk_buf_put_str(out, n);
        if (sk_str_isset(v)) {
            bool quoted = v.p > params.p && v.p[-1] == '"';
            sk_buf_putc(out, '=');
            if (quoted)
                sk_buf_putc(out, '"');
            sk_buf_put_str(out, v);
            if (quoted)
                sk_buf_putc(out, '"');
        }
    }
}

static bool supports(struct sip_msg *m, const char *option)
{
    const struct sk_str *t;
    size_t n;
    struct sip_error e;

    if (sip_msg_tokens(m, SIP_HDR_SUPPORTED, &t, &n, &e) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (sk_str_ieq_cstr(t[i], option))
            return true;
    }
    return false;
}

struct ok_ctx {
    struct sk_buf *h;
    int64_t now;
};

/* §10.3 step 8: the 200 lists every binding with its remaining expiry. */
static void list_contact(void *arg, const struct sk_loc_binding *b)
{
    struct ok_ctx *c = arg;
    int64_t left = b->expires_at - c->now;
    sk_buf_puts(c->h, "Contact: <");
    sk_buf_puts(c->h, b->uri);
    sk_buf_putc(c->h, '>');
    if (*b->params) {
        sk_buf_putc(c->h, ';');
        sk_buf_puts(c->h, b->params);
    }
    sk_buf_puts(c->h, ";expires=");
    sk_buf_put_u64(c->h, left > 0 ? (uint64_t) left : 0);
    sk_buf_puts(c->h, "\r\n");
}

/* The Date line changes once a second: each thread formats it once per second. */
static void date_header(struct sk_buf *h, int64_t now)
{
    static _Thread_local int64_t cached_at = -1;
    static _Thread_local char line[80];
    static _Thread_local size_t len;

    if (now != cached_at) {
        time_t t = (time_t) now;
        struct tm tm;
        gmtime_r(&t, &tm);
        len = strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        cached_at = now;
    }
    sk_buf_append(h, line, len);
}

/* The request's transaction for retransmission matching (see sk_loc_reg.req_id):
 * a hash of the top Via's branch, sent-by host and port. */
static uint32_t request_id(const struct sip_msg *m)
{
    uint64_t h = sk_hash_init();
    uint32_t id;

    h = sk_hash_bytes(h, m->via.branch.p, m->via.branch.p ? m->via.branch.len : 0);
    h = sk_hash_bytes(h, m->via.host.p, m->via.host.p ? m->via.host.len : 0);
    id = (uint32_t) sk_hash_final(sk_hash_u64(h, m->via.port));
    return id ? id : 1; /* 0 means unknown */
}

static void fail(struct sk_reg_result *res, int status, const char *reason)
{
    res->status = status;
    res->reason = reason;
}

void sk_registrar_handle(struct sk_registrar *r, const struct sip_rx *rx,
                         struct sk_reg_result *res, int64_t now)
{
    struct sip_msg *m = rx->msg;
    const struct sip_addr *contacts = NULL;
    struct sk_loc_contact lc_stack[4], *lc = NULL;
    size_t poff_stack[4], *poff = NULL;
    struct sk_loc_reg reg;
    struct sk_loc_aor_info ai;
    struct sk_buf aor, params_buf, path_buf, realm;
    char aor_mem[256], params_mem[256], realm_mem[128];
    struct sip_error e;
    struct ok_ctx okc;
    size_t ncontacts = 0;
    uint32_t hdr_expires = r->cfg.default_expires;
    bool has_expires_hdr = false, star = false, outbound = false;
    bool ua_outbound = supports(m, "outbound"), replayed = false;
    int rc;

    res->status = 0;
    res->reason = NULL;
    /* on the stack while they fit (they do for nearly every REGISTER) */
    sk_buf_init_ext(&aor, aor_mem, sizeof(aor_mem));
    sk_buf_init_ext(&params_buf, params_mem, sizeof(params_mem));
    sk_buf_init(&path_buf);
    sk_buf_init_ext(&realm, realm_mem, sizeof(realm_mem));
    /* §10.3 step 5: the To URI names the AOR; it must be sip/sips and ours: the
     * domain of the Request-URI, with no port or one we listen on (the AOR has
     * none then, so a REGISTER To sip:uas@127.0.0.1:5070 and an INVITE to
     * sip:uas@127.0.0.1 meet) */
    if (sk_loc_aor(&m->to.uri, r->self, &aor, &ai)) {
        fail(res, 404, "Address-of-Record Is Not a SIP URI");
        goto out;
    }
    if (!sk_str_ieq(m->to.uri.host, m->ruri.host) || (r->self && !ai.self)) {
        fail(res, 404, "Address-of-Record Not in This Domain");
        goto out;
    }
    if (!sk_str_isset(m->to.uri.user) || m->to.uri.user.len == 0) {
        fail(res, 404, "Address-of-Record Has No User Part");
        goto out;
    }
    /* §10.3 steps 3-4: authenticate, and the user may only change its own bindings;
     * the realm is the AOR's domain (lower case, an address of ours in its one
     * spelling), the key of the users table as of the location service */
    sk_buf_append(&realm, aor.p + ai.domain_off, ai.domain_len);
    if (r->cfg.auth && sk_registrar_authenticate(r, rx, SIP_HDR_AUTHORIZATION, m->to.uri.user,
                                                 sk_buf_str(&realm), res, now, &replayed) != 0)
        goto out;
    {
        uint32_t v;
        rc = sip_msg_uint(m, SIP_HDR_EXPIRES, &v, &e);
        if (rc == 0) {
            hdr_expires = v;
            has_expires_hdr = true;
        } else if (rc == EBADMSG) {
            fail(res, 400, "Bad Expires");
            goto out;
        }
    }
    rc = sip_msg_addrs(m, SIP_HDR_CONTACT, &contacts, &ncontacts, &e);
    if (rc == EBADMSG) {
        fail(res, 400, "Bad Contact");
        goto out;
    }
    if (rc == ENOENT)
        ncontacts = 0;
    if (ncontacts == 1 && contacts[0].star) {
        /* §10.3 step 6: "*" only with Expires: 0 */
        if (!has_expires_hdr || hdr_expires != 0) {
            fail(res, 400, "Contact * Requires Expires: 0");
            goto out;
        }
        star = true;
    }
    if (ncontacts > sizeof(lc_stack) / sizeof(lc_stack[0])) {
        lc = calloc(ncontacts, sizeof(*lc));
        poff = calloc(ncontacts, sizeof(*poff));
        if (!lc || !poff) {
            fail(res, 500, NULL);
            goto out;
        }
    } else if (ncontacts) {
        /* the usual REGISTER has one contact: no allocation */
        memset(lc_stack, 0, ncontacts * sizeof(lc_stack[0]));
        lc = lc_stack;
        poff = poff_stack;
    }
    for (size_t i = 0; i < ncontacts && !star; i++) {
        const struct sip_addr *c = &contacts[i];
        uint32_t exp = c->expires >= 0 ? (uint32_t) c->expires : hdr_expires;
        struct sk_str inst, regid;
        if (exp != 0 && exp < r->cfg.min_expires) {
            /* §10.3 step 7: too brief: 423 with our minimum */
            sk_buf_printf(&res->headers, "Min-Expires: %u\r\n", r->cfg.min_expires);
            fail(res, 423, NULL);
            goto out;
        }
        if (exp > r->cfg.max_expires)
            exp = r->cfg.max_expires;
        lc[i].uri = c->uri.raw;
        lc[i].parsed = &c->uri;
        lc[i].q = c->q;
        lc[i].expires = exp;
        /* keep every parameter but expires exactly (RFC 4475 cparam01); the
         * slices are taken once params_buf stops growing */
        poff[i] = params_buf.len;
        params_without_expires(c->params, &params_buf);
        lc[i].params.len = params_buf.len - poff[i];
        if (sip_param_get(c->params, "+sip.instance", &inst) && sk_str_isset(inst))
            lc[i].instance = inst;
        if (sip_param_get(c->params, "reg-id", &regid) && sk_str_isset(regid)) {
            uint32_t id;
            if (sk_str_to_u32(regid, UINT32_MAX, &id) || id == 0) {
                fail(res, 400, "Bad reg-id");
                goto out;
            }
            /* RFC 5626 §6: reg-id only counts when the UA supports outbound */
            lc[i].reg_id = id;
            lc[i].has_reg_id = ua_outbound && sk_str_isset(lc[i].instance);
            outbound = outbound || lc[i].has_reg_id;
        }
    }
    if (params_buf.failed) {
        fail(res, 500, NULL);
        goto out;
    }
    for (size_t i = 0; i < ncontacts && !star; i++)
        lc[i].params.p = (params_buf.p ? params_buf.p : "") + poff[i];
    /* RFC 3327: Path values kept with the bindings */
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_PATH); h; h = sip_msg_hdr_next(m, h)) {
        if (path_buf.len)
            sk_buf_puts(&path_buf, ", ");
        sk_buf_put_str(&path_buf, h->value);
    }
    memset(&reg, 0, sizeof(reg));
    reg.aor = aor.p;
    reg.call_id = m->call_id;
    reg.cseq = m->cseq.num;
    reg.path = path_buf.len ? sk_buf_str(&path_buf) : SK_STR_NULL;
    sip_msg_text(m, SIP_HDR_USER_AGENT, &reg.user_agent);
    reg.proto = rx->proto;
    reg.src = rx->src;
    reg.req_id = request_id(m);
    reg.replay_only = replayed;
    okc.h = &res->headers;
    okc.now = now;
    rc = sk_loc_register(r->loc, &reg, lc, star ? 0 : ncontacts, star, now, list_contact, &okc);
    if (rc == EALREADY) {
        sk_buf_reset(&res->headers);
        fail(res, 500, "Out-of-Order REGISTER (CSeq)");
        goto out;
    }
    if (rc == EACCES) {
        /* replayed credentials on a request that is not a retransmission */
        sk_buf_reset(&res->headers);
        challenge(r, SIP_HDR_AUTHORIZATION, sk_buf_str(&realm), false, res, now);
        goto out;
    }
    if (rc == ENOSPC) {
        sk_buf_reset(&res->headers);
        fail(res, 503, "Too Many Bindings for This AOR");
        goto out;
    }
    if (rc) {
        sk_buf_reset(&res->headers);
        fail(res, 500, NULL);
        goto out;
    }
    date_header(&res->headers, now);
    if (path_buf.len && supports(m, "path"))
        sk_buf_printf(&res->headers, "Path: %s\r\n", path_buf.p);
    if (outbound)
        sk_buf_puts(&res->headers, "Require: outbound\r\n");
    res->status = 200;
out:
    if (lc != lc_stack) {
        free(lc);
        free(poff);
    }
    sk_buf_free(&aor);
    sk_buf_free(&params_buf);
    sk_buf_free(&path_buf);
    sk_buf_free(&realm);
}
