/* Registrar: REGISTER processing per RFC 3261 §10.3, Path (RFC 3327), outbound (RFC 5626), digest. */
#include "server/registrar.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/log.h"
#include "server/audit.h"
#include "server/protect.h"
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
/* At most this many sources are counted: a flood of wrong credentials from
 * random addresses first reuses entries whose window is over, then counts no
 * new source (protection's fixed tables still count them per user). */
#define FAIL_MAX 65536

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
    struct sk_protect *protect; /* NULL: counting per source only */
    struct sk_audit *audit;     /* NULL: no audit log */
    pthread_mutex_t fail_lock;
    struct fail_entry *fails[FAIL_BUCKETS];
    /* sk_registrar_counters */
    _Atomic uint64_t challenges, auth_ok, auth_failed, blocked, reg_failed;
    size_t nfails;
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
    if ((err = sip_nonces_new(&r->nonces, r->cfg.nonce_lifetime))) goto out;
    if ((err = pthread_mutex_init(&r->fail_lock, NULL))) {
        sip_nonces_free(r->nonces);
        goto out;
    }
    *rp = r;
    return 0;
out:
    free(r);
    return err;
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

void sk_registrar_counters(struct sk_registrar *r, struct sk_registrar_counters *out)
{
    out->challenges = atomic_load(&r->challenges);
    out->auth_ok = atomic_load(&r->auth_ok);
    out->auth_failed = atomic_load(&r->auth_failed);
    out->blocked = atomic_load(&r->blocked);
    out->reg_failed = atomic_load(&r->reg_failed);
}

void sk_registrar_set_protect(struct sk_registrar *r, struct sk_protect *p)
{
    r->protect = p;
}

void sk_registrar_set_audit(struct sk_registrar *r, struct sk_audit *a)
{
    r->audit = a;
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

/* Entries of bucket h whose window and block are over. */
static void fail_prune(struct sk_registrar *r, unsigned h, int64_t now)
{
    struct fail_entry **pp = &r->fails[h], *e;

    while ((e = *pp)) {
        if (now - e->window_start > (int64_t) r->cfg.fail_window && e->blocked_until <= now) {
            *pp = e->next;
            free(e);
            r->nfails--;
        } else {
            pp = &e->next;
        }
    }
}

static struct fail_entry *fail_find(struct sk_registrar *r, const struct sk_sa *ip, bool create,
                                    int64_t now)
{
    unsigned h = ip_hash(ip);
    struct fail_entry *e;

    for (e = r->fails[h]; e; e = e->next) {
        if (sk_sa_equal(&e->ip, ip))
            return e;
    }
    if (!create)
        return NULL;
    if (r->nfails >= FAIL_MAX)
        fail_prune(r, h, now);
    if (r->nfails >= FAIL_MAX || !(e = calloc(1, sizeof(*e))))
        return NULL;
    r->nfails++;
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
    e = fail_find(r, &ip, false, now);
    blocked = e && e->blocked_until > now;
    pthread_mutex_unlock(&r->fail_lock);
    return blocked;
}

static void record_failure(struct sk_registrar *r, const struct sip_rx *rx, struct sk_str user,
                           struct sk_str realm, const char *reason, int64_t now)
{
    const struct sk_sa *src = &rx->src;
    char method[32];
    struct sk_sa ip = *src;
    struct fail_entry *e;
    char addr[64];

    sk_sa_set_port(&ip, 0);
    atomic_fetch_add(&r->auth_failed, 1);
    sk_str_copy(method, sizeof(method), rx->msg->method);
    sk_audit_auth_failed(r->audit, user, realm, src, method, reason);
    pthread_mutex_lock(&r->fail_lock);
    e = fail_find(r, &ip, true, now);
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
            sk_audit_block(r->audit, src, "auth-fail", r->cfg.block_time);
            /* an untrusted source then gets nothing back at all */
            if (r->protect) sk_protect_block(r->protect, src, SK_RULE_AUTH_FAIL, sk_protect_clock_ms());
        }
    }
    pthread_mutex_unlock(&r->fail_lock);
    if (r->protect) sk_protect_user_result(r->protect, user, src, false, sk_protect_clock_ms());
}

/* ---- Digest ---- */

static void challenge(struct sk_registrar *r, enum sip_hdr_id hdr, struct sk_str realm,
                      bool stale, struct sk_reg_result *res, int64_t now)
{
    const char *name = hdr == SIP_HDR_PROXY_AUTHORIZATION ? "Proxy-Authenticate"
                                                           : "WWW-Authenticate";
    res->status = hdr == SIP_HDR_PROXY_AUTHORIZATION ? 407 : 401;
    atomic_fetch_add(&r->challenges, 1);
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

#define AUTH_USER_MAX 128  /* longest username looked up, with its NUL */
#define AUTH_REALM_MAX 256 /* longest realm, with its NUL */

/* §22.4: the credentials for our realm (others, e.g. an unknown scheme, are
 * ignored), with an algorithm we offer and fields that fit; NULL when there are
 * none (then the request is challenged). */
static const struct sip_auth *our_credentials(const struct sk_registrar *r,
                                              struct sip_msg *m, enum sip_hdr_id hdr,
                                              struct sk_str realm,
                                              enum sip_digest_alg *alg)
{
    const struct sip_auth *creds, *mine = NULL;
    struct sip_error e;
    size_t n;

    if (sip_msg_auths(m, hdr, &creds, &n, &e) != 0) n = 0;
    for (size_t i = 0; i < n; i++) {
        if (creds[i].digest && sk_str_eq(creds[i].realm, realm)) {
            mine = &creds[i];
            break;
        }
    }
    if (!mine || mine->username.len >= AUTH_USER_MAX || realm.len >= AUTH_REALM_MAX ||
        sip_digest_alg_parse(mine->algorithm, alg) || !alg_offered(r, *alg))
        return NULL;
    return mine;
}

int sk_registrar_authenticate(struct sk_registrar *r, const struct sip_rx *rx,
                              enum sip_hdr_id hdr, struct sk_str user,
                              struct sk_str realm, struct sk_reg_result *res, int64_t now,
                              bool *replayed)
{
    struct sip_msg *m = rx->msg;
    const struct sip_auth *mine;
    struct sk_user_rec u;
    char uname[AUTH_USER_MAX], dname[AUTH_REALM_MAX];
    enum sip_auth_result ar;
    enum sip_digest_alg alg;

    res->auth_failed = false;
    if (is_blocked(r, &rx->src, now)) {
        atomic_fetch_add(&r->blocked, 1);
        res->status = 403;
        res->reason = "Too Many Failed Authentications";
        return EACCES;
    }
    mine = our_credentials(r, m, hdr, realm, &alg);
    if (r->protect && !sk_protect_user_attempt(r->protect, mine ? mine->username : user,
                                               &rx->src, sk_protect_clock_ms())) {
        /* many failed logins for this user from elsewhere: one attempt per slot
         * from sources that never logged in as it (the same for unknown users) */
        res->status = 503;
        res->reason = "Too Many Failed Logins For This User";
        sk_buf_puts(&res->headers, "Retry-After: 2\r\n");
        return EACCES;
    }
    if (!mine) {
        challenge(r, hdr, realm, false, res, now);
        return EACCES;
    }
    sk_str_copy(uname, sizeof(uname), mine->username);
    sk_str_copy(dname, sizeof(dname), realm);
    /* §10.3 step 3/4: the user may only act for its own address (the AOR's user
     * compared unescaped, §19.1.4) */
    if (user.p && !user_matches(mine->username, user)) {
        record_failure(r, rx, mine->username, realm, "credentials do not match the AOR", now);
        res->auth_failed = true;
        res->status = 403;
        res->reason = "Credentials Do Not Match the AOR";
        return EACCES;
    }
    if (!r->store || sk_store_user_get(r->store, uname, dname, &u) != 0) {
        record_failure(r, rx, mine->username, realm, "unknown user", now);
        res->auth_failed = true;
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
        atomic_fetch_add(&r->auth_ok, 1);
        if (r->protect)
            sk_protect_user_result(r->protect, mine->username, &rx->src, true,
                                   sk_protect_clock_ms());
        return 0;
    case SIP_AUTH_STALE:
        challenge(r, hdr, realm, true, res, now);
        return EACCES;
    case SIP_AUTH_REPLAY:
    case SIP_AUTH_BAD:
    case SIP_AUTH_UNSUPPORTED:
        record_failure(r, rx, mine->username, realm, sip_auth_result_name(ar), now);
        res->auth_failed = true;
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

/* Contacts of a REGISTER that fit without an allocation: the usual one has one. */
#define REG_CONTACTS_STACK 4

/* One REGISTER while it is processed: what each step of sk_registrar_handle
 * finds, for the steps after it. */
struct reg_req {
    const struct sip_rx *rx;
    struct sip_msg *m;
    struct sk_reg_result *res;
    int64_t now;
    struct sk_buf aor, realm, params, path; /* on the stack while they fit */
    char aor_mem[256], realm_mem[128], params_mem[256];
    struct sk_loc_aor_info ai;
    bool replayed;        /* right credentials, reused nonce-count */
    uint32_t hdr_expires; /* Expires header, else the default */
    bool has_expires_hdr;
    const struct sip_addr *contacts;
    size_t ncontacts;
    bool star;     /* Contact: * (remove all) */
    bool outbound; /* a contact with reg-id and +sip.instance (RFC 5626) */
    struct sk_loc_contact lc_stack[REG_CONTACTS_STACK], *lc;
    size_t poff_stack[REG_CONTACTS_STACK], *poff; /* each contact's params in params */
};

/* Each step returns true to go on, or false with q->res holding the answer. */

/* §10.3 step 5: the To URI names the AOR; it must be sip/sips and ours: the
 * domain of the Request-URI, with no port or one we listen on (the AOR has none
 * then, so a REGISTER To sip:uas@127.0.0.1:5070 and an INVITE to sip:uas@127.0.0.1
 * meet). The realm is the AOR's domain (lower case, an address of ours in its one
 * spelling), the key of the users table as of the location service. */
static bool reg_validate(struct sk_registrar *r, struct reg_req *q)
{
    struct sip_msg *m = q->m;

    if (sk_loc_aor(&m->to.uri, r->self, &q->aor, &q->ai)) {
        fail(q->res, 404, "Address-of-Record Is Not a SIP URI");
        return false;
    }
    if (!sk_str_ieq(m->to.uri.host, m->ruri.host) || (r->self && !q->ai.self)) {
        fail(q->res, 404, "Address-of-Record Not in This Domain");
        return false;
    }
    if (!sk_str_isset(m->to.uri.user) || m->to.uri.user.len == 0) {
        fail(q->res, 404, "Address-of-Record Has No User Part");
        return false;
    }
    sk_buf_append(&q->realm, q->aor.p + q->ai.domain_off, q->ai.domain_len);
    return true;
}

/* §10.3 steps 3-4: authenticate, and the user may only change its own bindings. */
static bool reg_authenticate(struct sk_registrar *r, struct reg_req *q)
{
    if (!r->cfg.auth) return true;
    return sk_registrar_authenticate(r, q->rx, SIP_HDR_AUTHORIZATION, q->m->to.uri.user,
                                     sk_buf_str(&q->realm), q->res, q->now,
                                     &q->replayed) == 0;
}

/* The Expires header and the Contact list; "*" only with Expires: 0 (§10.3 step 6). */
static bool reg_read_headers(struct sk_registrar *r, struct reg_req *q)
{
    struct sip_error e;
    uint32_t v;
    int rc;

    q->hdr_expires = r->cfg.default_expires;
    rc = sip_msg_uint(q->m, SIP_HDR_EXPIRES, &v, &e);
    if (rc == 0) {
        q->hdr_expires = v;
        q->has_expires_hdr = true;
    } else if (rc == EBADMSG) {
        fail(q->res, 400, "Bad Expires");
        return false;
    }
    rc = sip_msg_addrs(q->m, SIP_HDR_CONTACT, &q->contacts, &q->ncontacts, &e);
    if (rc == EBADMSG) {
        fail(q->res, 400, "Bad Contact");
        return false;
    }
    if (rc == ENOENT) q->ncontacts = 0;
    if (q->ncontacts == 1 && q->contacts[0].star) {
        if (!q->has_expires_hdr || q->hdr_expires != 0) {
            fail(q->res, 400, "Contact * Requires Expires: 0");
            return false;
        }
        q->star = true;
    }
    return true;
}

/* One contact as the location service takes it: expiry (423 below our minimum,
 * clamped above our maximum), parameters, RFC 5626 instance and reg-id. */
static bool reg_contact(struct sk_registrar *r, struct reg_req *q, size_t i,
                        bool ua_outbound)
{
    const struct sip_addr *c = &q->contacts[i];
    struct sk_loc_contact *lc = &q->lc[i];
    uint32_t exp = c->expires >= 0 ? (uint32_t) c->expires : q->hdr_expires;
    struct sk_str inst, regid;

    if (exp != 0 && exp < r->cfg.min_expires) {
        /* §10.3 step 7: too brief: 423 with our minimum */
        sk_buf_printf(&q->res->headers, "Min-Expires: %u\r\n", r->cfg.min_expires);
        fail(q->res, 423, NULL);
        return false;
    }
    if (exp > r->cfg.max_expires) exp = r->cfg.max_expires;
    lc->uri = c->uri.raw;
    lc->parsed = &c->uri;
    lc->q = c->q;
    lc->expires = exp;
    /* keep every parameter but expires exactly (RFC 4475 cparam01); the slices
     * are taken once params stops growing (reg_parse_contacts) */
    q->poff[i] = q->params.len;
    params_without_expires(c->params, &q->params);
    lc->params.len = q->params.len - q->poff[i];
    if (sip_param_get(c->params, "+sip.instance", &inst) && sk_str_isset(inst))
        lc->instance = inst;
    if (sip_param_get(c->params, "reg-id", &regid) && sk_str_isset(regid)) {
        uint32_t id;
        if (sk_str_to_u32(regid, UINT32_MAX, &id) || id == 0) {
            fail(q->res, 400, "Bad reg-id");
            return false;
        }
        /* RFC 5626 §6: reg-id only counts when the UA supports outbound */
        lc->reg_id = id;
        lc->has_reg_id = ua_outbound && sk_str_isset(lc->instance);
        q->outbound = q->outbound || lc->has_reg_id;
    }
    return true;
}

/* Every contact of the request (none for a query or "*"). */
static bool reg_parse_contacts(struct sk_registrar *r, struct reg_req *q)
{
    size_t n = q->star ? 0 : q->ncontacts;
    bool ua_outbound;

    if (n > REG_CONTACTS_STACK) {
        q->lc = calloc(n, sizeof(*q->lc));
        q->poff = calloc(n, sizeof(*q->poff));
        if (!q->lc || !q->poff) {
            fail(q->res, 500, NULL);
            return false;
        }
    } else if (n) {
        /* the usual REGISTER has one contact: no allocation */
        memset(q->lc_stack, 0, n * sizeof(q->lc_stack[0]));
    }
    ua_outbound = n && supports(q->m, "outbound");
    for (size_t i = 0; i < n; i++) {
        if (!reg_contact(r, q, i, ua_outbound)) return false;
    }
    if (q->params.failed) {
        fail(q->res, 500, NULL);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        q->lc[i].params.p = (q->params.p ? q->params.p : "") + q->poff[i];
    return true;
}

/* §10.3 steps 7-8: the bindings changed atomically under the AOR's lock, the
 * 200's Contact lines written from the bindings as they are then. */
static bool reg_apply(struct sk_registrar *r, struct reg_req *q)
{
    struct sip_msg *m = q->m;
    struct sk_loc_reg reg;
    struct ok_ctx okc;
    int rc;

    /* RFC 3327: Path values kept with the bindings */
    for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_PATH); h; h = sip_msg_hdr_next(m, h)) {
        if (q->path.len) sk_buf_puts(&q->path, ", ");
        sk_buf_put_str(&q->path, h->value);
    }
    memset(&reg, 0, sizeof(reg));
    reg.aor = q->aor.p;
    reg.call_id = m->call_id;
    reg.cseq = m->cseq.num;
    reg.path = q->path.len ? sk_buf_str(&q->path) : SK_STR_NULL;
    sip_msg_text(m, SIP_HDR_USER_AGENT, &reg.user_agent);
    reg.proto = q->rx->proto;
    reg.src = q->rx->src;
    reg.req_id = request_id(m);
    reg.replay_only = q->replayed;
    okc.h = &q->res->headers;
    okc.now = q->now;
    rc = sk_loc_register(r->loc, &reg, q->lc, q->star ? 0 : q->ncontacts, q->star, q->now,
                         list_contact, &okc);
    if (rc == 0) {
        bool removed = q->star || q->ncontacts > 0;
        for (size_t i = 0; !q->star && i < q->ncontacts; i++)
            removed = removed && q->lc[i].expires == 0;
        /* a query (no Contact) changes nothing: not audited */
        if (q->star || q->ncontacts)
            sk_audit_register(r->audit, sk_buf_str(&q->aor), &q->rx->src, reg.user_agent,
                              (unsigned) (q->star ? 0 : q->ncontacts), removed);
        return true;
    }
    sk_buf_reset(&q->res->headers);
    if (rc == EALREADY)
        fail(q->res, 500, "Out-of-Order REGISTER (CSeq)");
    else if (rc ==
             EACCES) /* replayed credentials on a request that is not a retransmission */
        challenge(r, SIP_HDR_AUTHORIZATION, sk_buf_str(&q->realm), false, q->res, q->now);
    else if (rc == ENOSPC)
        fail(q->res, 503, "Too Many Bindings for This AOR");
    else
        fail(q->res, 500, NULL);
    return false;
}

/* The rest of the 200 (the Contact lines are there already). */
static void reg_respond(struct reg_req *q)
{
    struct sk_buf *h = &q->res->headers;

    date_header(h, q->now);
    if (q->path.len && supports(q->m, "path"))
        sk_buf_printf(h, "Path: %s\r\n", q->path.p);
    if (q->outbound) sk_buf_puts(h, "Require: outbound\r\n");
    q->res->status = 200;
}

void sk_registrar_handle(struct sk_registrar *r, const struct sip_rx *rx,
                         struct sk_reg_result *res, int64_t now)
{
    struct reg_req q;

    res->status = 0;
    res->reason = NULL;
    res->auth_failed = false;
    q.rx = rx;
    q.m = rx->msg;
    q.res = res;
    q.now = now;
    sk_buf_init_ext(&q.aor, q.aor_mem, sizeof(q.aor_mem));
    sk_buf_init_ext(&q.realm, q.realm_mem, sizeof(q.realm_mem));
    sk_buf_init_ext(&q.params, q.params_mem, sizeof(q.params_mem));
    sk_buf_init(&q.path);
    q.replayed = q.has_expires_hdr = q.star = q.outbound = false;
    q.contacts = NULL;
    q.ncontacts = 0;
    q.lc = q.lc_stack;
    q.poff = q.poff_stack;
    if (reg_validate(r, &q) && reg_authenticate(r, &q) && reg_read_headers(r, &q) &&
        reg_parse_contacts(r, &q) && reg_apply(r, &q))
        reg_respond(&q);
    /* a challenge to a REGISTER without (valid-looking) credentials is the usual
     * first step, no failure; a wrong password or any other error is */
    if (res->status >= 300 && (res->status != 401 || res->auth_failed))
        atomic_fetch_add(&r->reg_failed, 1);
    if (q.lc != q.lc_stack) {
        free(q.lc);
        free(q.poff);
    }
    sk_buf_free(&q.aor);
    sk_buf_free(&q.params);
    sk_buf_free(&q.path);
    sk_buf_free(&q.realm);
}
