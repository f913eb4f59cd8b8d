/* Flood, scanner and brute-force defence: CIDR lists, token buckets, scanner marks, the
 * block list and per-user slowing, in fixed-size tables (a flood of random addresses
 * reuses entries, it never grows memory). No I/O; every time is a millisecond count the
 * caller passes. */
#include "server/protect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"

/* ---- CIDR ---- */

/* An address as the tables key it: IPv4 in 4 bytes (also when it came as
 * ::ffff:a.b.c.d), IPv6 in 16. */
struct ipkey {
    uint8_t family;
    uint8_t b[16];
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void key_of(const struct sk_sa *a, struct ipkey *k)
{
    memset(k, 0, sizeof(*k));
    if (a->u.sa.sa_family == AF_INET) {
        k->family = AF_INET;
        memcpy(k->b, &a->u.in.sin_addr, 4);
    } else if (a->u.sa.sa_family == AF_INET6) {
        const uint8_t *p = (const uint8_t *) &a->u.in6.sin6_addr;
        if (memcmp(p, v4mapped, sizeof(v4mapped)) == 0) {
            k->family = AF_INET;
            memcpy(k->b, p + 12, 4);
        } else {
            k->family = AF_INET6;
            memcpy(k->b, p, 16);
        }
    }
}

static void sa_of_key(const struct ipkey *k, struct sk_sa *a)
{
    memset(a, 0, sizeof(*a));
    if (k->family == AF_INET) {
        a->u.in.sin_family = AF_INET;
        memcpy(&a->u.in.sin_addr, k->b, 4);
        a->len = sizeof(a->u.in);
    } else {
        a->u.in6.sin6_family = AF_INET6;
        memcpy(&a->u.in6.sin6_addr, k->b, 16);
        a->len = sizeof(a->u.in6);
    }
}

/* The aggregate a source belongs to: its /24 (IPv4) or /64 (IPv6). */
static void key_prefix(const struct ipkey *k, struct ipkey *out)
{
    *out = *k;
    if (k->family == AF_INET)
        out->b[3] = 0;
    else
        memset(out->b + 8, 0, 8);
}

static bool key_eq(const struct ipkey *a, const struct ipkey *b)
{
    return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

static uint64_t key_hash(const struct ipkey *k)
{
    return sk_hash_final(sk_hash_bytes(sk_hash_u64(sk_hash_init(), k->family), k->b, 16));
}

static void clear_host_bits(uint8_t *b, unsigned bits, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        unsigned keep = bits > i * 8 ? bits - i * 8 : 0;
        if (keep < 8) b[i] &= (uint8_t) (0xff00u >> keep);
    }
}

int sk_cidr_parse(const char *s, struct sk_cidr *out)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t) (slash - s) : strlen(s);
    unsigned long bits;
    unsigned max;

    if (n == 0 || n >= sizeof(ip)) return EINVAL;
    memcpy(ip, s, n);
    ip[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, ip, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
        /* an IPv4-mapped prefix is the IPv4 prefix it names */
        if (memcmp(out->addr, v4mapped, sizeof(v4mapped)) == 0) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->family = AF_INET;
            max = 32;
            if (slash) {
                char *end;
                bits = strtoul(slash + 1, &end, 10);
                if (*end || slash[1] < '0' || slash[1] > '9' || bits < 96 || bits > 128)
                    return EINVAL;
                out->bits = (uint8_t) (bits - 96);
                clear_host_bits(out->addr, out->bits, 4);
                return 0;
            }
        }
    } else {
        return EINVAL;
    }
    bits = max;
    if (slash) {
        char *end;
        if (slash[1] < '0' || slash[1] > '9') return EINVAL;
        bits = strtoul(slash + 1, &end, 10);
        if (*end || bits > max) return EINVAL;
    }
    out->bits = (uint8_t) bits;
    clear_host_bits(out->addr, out->bits, out->family == AF_INET ? 4 : 16);
    return 0;
}

int sk_cidr_list_parse(struct sk_cidr_list *l, const char *csv)
{
    char buf[2048], *tok, *save = NULL;

    if (strlen(csv) >= sizeof(buf)) return EINVAL;
    if (strcmp(csv, "none") == 0) {
        l->n = 0;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", csv);
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct sk_cidr c;
        if (sk_cidr_parse(tok, &c)) return EINVAL;
        if (l->n == SK_CIDR_LIST_MAX) return ENOSPC;
        l->v[l->n++] = c;
    }
    return 0;
}

static bool cidr_match_key(const struct sk_cidr *c, const struct ipkey *k)
{
    unsigned full = c->bits / 8, rest = c->bits % 8;

    if (c->family != k->family) return false;
    if (memcmp(c->addr, k->b, full) != 0) return false;
    return rest == 0 || ((c->addr[full] ^ k->b[full]) & (uint8_t) (0xff00u >> rest)) == 0;
}

static bool list_match_key(const struct sk_cidr_list *l, const struct ipkey *k)
{
    for (unsigned i = 0; i < l->n; i++) {
        if (cidr_match_key(&l->v[i], k)) return true;
    }
    return false;
}

bool sk_cidr_match(const struct sk_cidr *c, const struct sk_sa *a)
{
    struct ipkey k;
    key_of(a, &k);
    return cidr_match_key(c, &k);
}

bool sk_cidr_list_match(const struct sk_cidr_list *l, const struct sk_sa *a)
{
    struct ipkey k;
    key_of(a, &k);
    return list_match_key(l, &k);
}

/* ---- Configuration ---- */

void sk_protect_config_defaults(struct sk_protect_config *c)
{
    memset(c, 0, sizeof(*c));
    c->enabled = true;
    /* the kernel never accepts a packet from outside with a loopback source
     * (martian), so only local processes can be 127.0.0.0/8 or ::1 */
    sk_cidr_list_parse(&c->trust, "127.0.0.0/8,::1");
    c->rate[SK_PROT_REGISTER] = 20;
    c->burst[SK_PROT_REGISTER] = 100;
    c->rate[SK_PROT_INVITE] = 10;
    c->burst[SK_PROT_INVITE] = 50;
    c->rate[SK_PROT_OTHER] = 50;
    c->burst[SK_PROT_OTHER] = 200;
    c->rate[SK_PROT_4XX] = 20;
    c->burst[SK_PROT_4XX] = 100;
    c->prefix_factor = 4;
    c->block_time = 600;
    c->flood_drops = 500;
    c->flood_window = 10;
    c->sweep_users = 40;
    c->sweep_window = 60;
    c->ratio_min = 30;
    c->ratio_pct = 80;
    c->ratio_window = 60;
    c->user_fail_limit = 20;
    c->user_fail_window = 60;
    c->user_slow_time = 300;
    c->user_slot_ms = 2000;
    c->overload_txns = 200000;
    c->retry_after = 5;
    c->sources = 16384;
    c->prefixes = 4096;
    c->users = 4096;
}

static const char *const rule_names[SK_RULE_COUNT] = {
    [SK_RULE_NONE] = "none",
    [SK_RULE_DENY] = "deny",
    [SK_RULE_NOT_ALLOWED] = "not-allowed",
    [SK_RULE_BLOCKED] = "blocked",
    [SK_RULE_RATE_REGISTER] = "rate-register",
    [SK_RULE_RATE_INVITE] = "rate-invite",
    [SK_RULE_RATE_OTHER] = "rate-other",
    [SK_RULE_RATE_4XX] = "rate-4xx",
    [SK_RULE_RATE_PREFIX] = "rate-prefix",
    [SK_RULE_FLOOD] = "flood",
    [SK_RULE_SCANNER_UA] = "scanner-ua",
    [SK_RULE_SWEEP] = "sweep",
    [SK_RULE_RATIO] = "4xx-ratio",
    [SK_RULE_AUTH_FAIL] = "auth-fail",
    [SK_RULE_MANUAL] = "manual",
    [SK_RULE_USER_SLOWED] = "user-slowed",
    [SK_RULE_OVERLOAD] = "overload",
};

int64_t sk_protect_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sk_protect_rule_name(enum sk_protect_rule r)
{
    return (unsigned) r < SK_RULE_COUNT ? rule_names[r] : "?";
}

/* ---- Tables ---- */

/* Each table is set-associative: a key hashes to one set of WAYS entries; a
 * full set reuses its least recently seen entry (an entry that still blocks
 * is reused only when the whole set blocks, then the one ending first). */
#define WAYS 8
#define NLOCKS 64

struct bucket {
    int64_t milli; /* thousandths of a token */
    int64_t last_ms;
};

struct src_entry {
    struct ipkey key;
    bool used;
    uint8_t rule;
    int64_t seen_ms, blocked_until;
    struct bucket b[SK_PROT_NCLASS];
    int64_t flood_start;
    uint32_t flood_n;
    int64_t sweep_start;
    uint64_t sweep_bits[4]; /* user names seen, one bit per hash: a distinct count */
    int64_t ratio_start;
    uint32_t ratio_n, ratio_bad;
};

struct pfx_entry {
    struct ipkey key;
    bool used;
    int64_t seen_ms;
    struct bucket b[SK_PROT_NCLASS];
};

#define USER_GOOD 4

struct user_entry {
    uint64_t h;
    bool used;
    int64_t seen_ms;
    int64_t win_start, slow_until, next_slot;
    uint32_t fails;
    uint64_t good[USER_GOOD]; /* sources that logged in as this user */
    unsigned ngood;
};

struct sk_protect {
    struct sk_protect_config cfg;
    uint32_t src_sets, pfx_sets, user_sets;
    struct src_entry *src;
    struct pfx_entry *pfx;
    struct user_entry *user;
    pthread_mutex_t src_lock[NLOCKS], pfx_lock[NLOCKS], user_lock[NLOCKS];
    struct {
        atomic_uint_fast64_t checked, evicted, users_slowed;
        atomic_uint_fast64_t dropped[SK_RULE_COUNT], blocks[SK_RULE_COUNT];
    } st;
};

static uint32_t sets_for(uint32_t n)
{
    uint32_t s = (n + WAYS - 1) / WAYS;
    return s ? s : 1;
}

int sk_protect_new(struct sk_protect **pp, const struct sk_protect_config *cfg)
{
    struct sk_protect *p = calloc(1, sizeof(*p));

    if (!p) return ENOMEM;
    p->cfg = *cfg;
    p->src_sets = sets_for(cfg->sources);
    p->pfx_sets = sets_for(cfg->prefixes);
    p->user_sets = sets_for(cfg->users);
    p->src = calloc((size_t) p->src_sets * WAYS, sizeof(*p->src));
    p->pfx = calloc((size_t) p->pfx_sets * WAYS, sizeof(*p->pfx));
    p->user = calloc((size_t) p->user_sets * WAYS, sizeof(*p->user));
    if (!p->src || !p->pfx || !p->user) {
        free(p->src);
        free(p->pfx);
        free(p->user);
        free(p);
        return ENOMEM;
    }
    for (unsigned i = 0; i < NLOCKS; i++) {
        pthread_mutex_init(&p->src_lock[i], NULL);
        pthread_mutex_init(&p->pfx_lock[i], NULL);
        pthread_mutex_init(&p->user_lock[i], NULL);
    }
    *pp = p;
    return 0;
}

void sk_protect_free(struct sk_protect *p)
{
    if (!p) return;
    for (unsigned i = 0; i < NLOCKS; i++) {
        pthread_mutex_destroy(&p->src_lock[i]);
        pthread_mutex_destroy(&p->pfx_lock[i]);
        pthread_mutex_destroy(&p->user_lock[i]);
    }
    free(p->src);
    free(p->pfx);
    free(p->user);
    free(p);
}

const struct sk_protect_config *sk_protect_config_of(const struct sk_protect *p)
{
    return &p->cfg;
}

static void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void bucket_fill(struct bucket *b, uint32_t burst, int64_t now)
{
    b->milli = (int64_t) burst * 1000;
    b->last_ms = now;
}

/* One token, refilled at rate per second up to burst; rate 0 is no limit. */
static bool bucket_take(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now)
{
    int64_t cap = (int64_t) burst * 1000;

    if (rate == 0) return true;
    if (now > b->last_ms) {
        b->milli += (now - b->last_ms) * (int64_t) rate;
        if (b->milli > cap) b->milli = cap;
        b->last_ms = now;
    }
    if (b->milli < 1000) return false;
    b->milli -= 1000;
    return true;
}

/* The source entry of k in its set (the set's lock held); created when asked. */
static struct src_entry *src_find(struct sk_protect *p, const struct ipkey *k, uint64_t h,
                                  bool create, int64_t now)
{
    struct src_entry *set = &p->src[(h % p->src_sets) * WAYS], *victim = NULL;

    for (unsigned i = 0; i < WAYS; i++) {
        if (set[i].used && key_eq(&set[i].key, k)) return &set[i];
    }
    if (!create) return NULL;
    for (unsigned i = 0; i < WAYS; i++) {
        struct src_entry *e = &set[i];
        bool eb, vb;
        if (!e->used) {
            victim = e;
            break;
        }
        if (!victim) {
            victim = e;
            continue;
        }
        eb = e->blocked_until > now;
        vb = victim->blocked_until > now;
        if (eb != vb ? !eb
                     : (eb ? e->blocked_until < victim->blocked_until
                           : e->seen_ms < victim->seen_ms))
            victim = e;
    }
    if (victim->used) count(&p->st.evicted);
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->key = *k;
    victim->seen_ms = now;
    for (unsigned c = 0; c < SK_PROT_NCLASS; c++)
        bucket_fill(&victim->b[c], p->cfg.burst[c], now);
    return victim;
}

static struct pfx_entry *pfx_find(struct sk_protect *p, const struct ipkey *k, uint64_t h,
                                  int64_t now)
{
    struct pfx_entry *set = &p->pfx[(h % p->pfx_sets) * WAYS], *victim = NULL;

    for (unsigned i = 0; i < WAYS; i++) {
        if (set[i].used && key_eq(&set[i].key, k)) return &set[i];
    }
    for (unsigned i = 0; i < WAYS; i++) {
        if (!set[i].used) {
            victim = &set[i];
            break;
        }
        if (!victim || set[i].seen_ms < victim->seen_ms) victim = &set[i];
    }
    if (victim->used) count(&p->st.evicted);
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->key = *k;
    for (unsigned c = 0; c < SK_PROT_NCLASS; c++)
        bucket_fill(&victim->b[c], p->cfg.burst[c] * p->cfg.prefix_factor, now);
    return victim;
}

static pthread_mutex_t *src_lock(struct sk_protect *p, uint64_t h)
{
    return &p->src_lock[(h % p->src_sets) % NLOCKS];
}

static void block_entry(struct sk_protect *p, struct src_entry *e,
                        enum sk_protect_rule rule, int64_t now)
{
    if (e->blocked_until <= now) count(&p->st.blocks[rule]);
    e->blocked_until = now + (int64_t) p->cfg.block_time * 1000;
    e->rule = (uint8_t) rule;
}

/* Trust and ACLs: SK_PROT_PASS to go on to the tables. */
static enum sk_protect_verdict acl(struct sk_protect *p, const struct ipkey *k,
                                   enum sk_protect_rule *rule)
{
    /* not counted: a shared counter per datagram would cost the trusted bulk */
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, k)) return SK_PROT_TRUSTED;
    if (list_match_key(&p->cfg.deny, k)) {
        *rule = SK_RULE_DENY;
        return SK_PROT_DROP;
    }
    if (p->cfg.allow.n && !list_match_key(&p->cfg.allow, k)) {
        *rule = SK_RULE_NOT_ALLOWED;
        return SK_PROT_DROP;
    }
    return SK_PROT_PASS;
}

bool sk_protect_trusted(const struct sk_protect *p, const struct sk_sa *src)
{
    struct ipkey k;

    if (!p || !p->cfg.enabled) return true;
    key_of(src, &k);
    return list_match_key(&p->cfg.trust, &k);
}

bool sk_protect_classify(const char *buf, size_t len, enum sk_protect_class *cls)
{
    if (len >= 8 && memcmp(buf, "SIP/2.0 ", 8) == 0) return false;
    if (len >= 9 && memcmp(buf, "REGISTER ", 9) == 0)
        *cls = SK_PROT_REGISTER;
    else if (len >= 7 && memcmp(buf, "INVITE ", 7) == 0)
        *cls = SK_PROT_INVITE;
    else
        *cls = SK_PROT_OTHER;
    return true;
}

static const enum sk_protect_rule rate_rule[SK_PROT_NCLASS] = {
    SK_RULE_RATE_REGISTER, SK_RULE_RATE_INVITE, SK_RULE_RATE_OTHER, SK_RULE_RATE_4XX};

/* Over budget once more: a source that stays over it is blocked. */
static enum sk_protect_verdict over_budget(struct sk_protect *p, struct src_entry *e,
                                           enum sk_protect_rule r, int64_t now,
                                           enum sk_protect_rule *rule)
{
    if (now - e->flood_start > (int64_t) p->cfg.flood_window * 1000) {
        e->flood_start = now;
        e->flood_n = 0;
    }
    if (p->cfg.flood_drops && ++e->flood_n >= p->cfg.flood_drops) {
        block_entry(p, e, SK_RULE_FLOOD, now);
        *rule = SK_RULE_FLOOD;
        return SK_PROT_DROP;
    }
    *rule = r;
    return SK_PROT_OVER;
}

enum sk_protect_verdict sk_protect_source(struct sk_protect *p, const struct sk_sa *src,
                                          enum sk_protect_class cls, int64_t now_ms,
                                          enum sk_protect_rule *rule)
{
    struct ipkey k, pk;
    enum sk_protect_verdict v;
    enum sk_protect_rule r = SK_RULE_NONE;
    struct src_entry *e;
    uint64_t h;
    bool request = (unsigned) cls < SK_PROT_NCLASS;

    key_of(src, &k);
    if ((v = acl(p, &k, &r)) != SK_PROT_PASS) goto out;
    count(&p->st.checked);
    h = key_hash(&k);
    pthread_mutex_lock(src_lock(p, h));
    e = src_find(p, &k, h, request, now_ms);
    if (e && e->blocked_until > now_ms) {
        r = SK_RULE_BLOCKED;
        v = SK_PROT_DROP;
    } else if (e && request) {
        e->seen_ms = now_ms;
        if (!bucket_take(&e->b[cls], p->cfg.rate[cls], p->cfg.burst[cls], now_ms))
            v = over_budget(p, e, rate_rule[cls], now_ms, &r);
    }
    pthread_mutex_unlock(src_lock(p, h));
    if (v != SK_PROT_PASS || !request || p->cfg.prefix_factor == 0) goto out;
    /* the prefix's budget, only for what the address's own budget let through */
    key_prefix(&k, &pk);
    h = key_hash(&pk);
    pthread_mutex_lock(&p->pfx_lock[(h % p->pfx_sets) % NLOCKS]);
    {
        struct pfx_entry *pe = pfx_find(p, &pk, h, now_ms);
        pe->seen_ms = now_ms;
        if (!bucket_take(&pe->b[cls], p->cfg.rate[cls] * p->cfg.prefix_factor,
                         p->cfg.burst[cls] * p->cfg.prefix_factor, now_ms)) {
            r = SK_RULE_RATE_PREFIX;
            v = SK_PROT_OVER;
        }
    }
    pthread_mutex_unlock(&p->pfx_lock[(h % p->pfx_sets) % NLOCKS]);
out:
    if (v == SK_PROT_OVER || v == SK_PROT_DROP) count(&p->st.dropped[r]);
    if (rule) *rule = r;
    return v;
}

/* ---- Scanners ---- */

/* User-Agent substrings of SIP scanners and war-dialers (compared case-insensitively). */
static const char *const scanner_uas[] = {
    "friendly-scanner", "sipvicious",   "sipcli",    "vaxsipuseragent", "sip-scan",
    "sipscan",          "iwar",         "sundayddr", "sivus",           "smap",
    "pplsip",           "voip-scanner",
};

static bool ci_contains(struct sk_str hay, const char *needle)
{
    size_t n = strlen(needle);

    if (!hay.p || hay.len < n) return false;
    for (size_t i = 0; i + n <= hay.len; i++) {
        size_t j = 0;
        while (j < n) {
            char c = hay.p[i + j];
            if (c >= 'A' && c <= 'Z') c = (char) (c - 'A' + 'a');
            if (c != needle[j]) break;
            j++;
        }
        if (j == n) return true;
    }
    return false;
}

static bool scanner_ua(struct sk_str ua)
{
    for (size_t i = 0; i < sizeof(scanner_uas) / sizeof(scanner_uas[0]); i++) {
        if (ci_contains(ua, scanner_uas[i])) return true;
    }
    return false;
}

static unsigned popcount256(const uint64_t *b)
{
    return (unsigned) (__builtin_popcountll(b[0]) + __builtin_popcountll(b[1]) +
                       __builtin_popcountll(b[2]) + __builtin_popcountll(b[3]));
}

/* Distinct user names from one source within the window, counted as bits of
 * a 256-bit set (two names may share a bit: the count never overstates). */
static bool sweep_seen(struct sk_protect *p, struct src_entry *e, struct sk_str user,
                       int64_t now)
{
    uint64_t h;

    if (!sk_str_isset(user) || p->cfg.sweep_users == 0) return false;
    if (now - e->sweep_start > (int64_t) p->cfg.sweep_window * 1000) {
        e->sweep_start = now;
        memset(e->sweep_bits, 0, sizeof(e->sweep_bits));
    }
    h = sk_hash(user.p, user.len) & 255u;
    e->sweep_bits[h >> 6] |= 1ull << (h & 63);
    return popcount256(e->sweep_bits) >= p->cfg.sweep_users;
}

enum sk_protect_verdict sk_protect_inspect(struct sk_protect *p, const struct sk_sa *src,
                                           struct sk_str user_agent, struct sk_str user,
                                           int64_t now_ms, enum sk_protect_rule *rule)
{
    struct ipkey k;
    struct src_entry *e;
    enum sk_protect_rule r = SK_RULE_NONE;
    enum sk_protect_verdict v;
    uint64_t h;

    key_of(src, &k);
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, &k)) {
        v = SK_PROT_TRUSTED;
        goto out;
    }
    v = SK_PROT_PASS;
    h = key_hash(&k);
    pthread_mutex_lock(src_lock(p, h));
    e = src_find(p, &k, h, true, now_ms);
    if (e->blocked_until > now_ms) {
        r = SK_RULE_BLOCKED;
        v = SK_PROT_DROP;
    } else if (scanner_ua(user_agent)) {
        r = SK_RULE_SCANNER_UA;
    } else if (sweep_seen(p, e, user, now_ms)) {
        r = SK_RULE_SWEEP;
    }
    if (v == SK_PROT_PASS && r != SK_RULE_NONE) {
        block_entry(p, e, r, now_ms);
        v = SK_PROT_DROP;
    }
    pthread_mutex_unlock(src_lock(p, h));
    if (v == SK_PROT_DROP) count(&p->st.dropped[r]);
out:
    if (rule) *rule = r;
    return v;
}

bool sk_protect_response(struct sk_protect *p, const struct sk_sa *src, int status,
                         int64_t now_ms)
{
    struct ipkey k;
    struct src_entry *e;
    uint64_t h;
    bool send = true;
    enum sk_protect_rule r = SK_RULE_NONE;

    if (status < 200) return true;
    key_of(src, &k);
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, &k)) return true;
    h = key_hash(&k);
    pthread_mutex_lock(src_lock(p, h));
    e = src_find(p, &k, h, true, now_ms);
    if (e->blocked_until > now_ms) {
        send = false;
        r = SK_RULE_BLOCKED;
        goto unlock;
    }
    if (now_ms - e->ratio_start > (int64_t) p->cfg.ratio_window * 1000) {
        e->ratio_start = now_ms;
        e->ratio_n = e->ratio_bad = 0;
    }
    e->ratio_n++;
    if (status == 403 || status == 404) e->ratio_bad++;
    if (p->cfg.ratio_min && e->ratio_n >= p->cfg.ratio_min &&
        (uint64_t) e->ratio_bad * 100 >= (uint64_t) p->cfg.ratio_pct * e->ratio_n) {
        block_entry(p, e, SK_RULE_RATIO, now_ms);
        send = false;
        r = SK_RULE_RATIO;
    } else if (status >= 400 && status < 500 &&
               !bucket_take(&e->b[SK_PROT_4XX], p->cfg.rate[SK_PROT_4XX],
                            p->cfg.burst[SK_PROT_4XX], now_ms)) {
        send = false;
        r = SK_RULE_RATE_4XX;
    }
unlock:
    pthread_mutex_unlock(src_lock(p, h));
    if (!send) count(&p->st.dropped[r]);
    return send;
}

bool sk_protect_overloaded(struct sk_protect *p, size_t txns)
{
    if (!p || !p->cfg.enabled || p->cfg.overload_txns == 0 || txns < p->cfg.overload_txns)
        return false;
    count(&p->st.dropped[SK_RULE_OVERLOAD]);
    return true;
}

/* ---- The block list ---- */

void sk_protect_block(struct sk_protect *p, const struct sk_sa *src,
                      enum sk_protect_rule rule, int64_t now_ms)
{
    struct ipkey k;
    uint64_t h;

    key_of(src, &k);
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, &k)) return;
    h = key_hash(&k);
    pthread_mutex_lock(src_lock(p, h));
    block_entry(p, src_find(p, &k, h, true, now_ms), rule, now_ms);
    pthread_mutex_unlock(src_lock(p, h));
}

int sk_protect_unblock(struct sk_protect *p, const struct sk_sa *src)
{
    struct ipkey k;
    struct src_entry *e;
    uint64_t h;
    int rc = ENOENT;

    key_of(src, &k);
    h = key_hash(&k);
    pthread_mutex_lock(src_lock(p, h));
    e = src_find(p, &k, h, false, 0);
    if (e && e->blocked_until > 0) {
        /* a fresh start: the counts that led to the block go too */
        e->used = false;
        rc = 0;
    }
    pthread_mutex_unlock(src_lock(p, h));
    return rc;
}

size_t sk_protect_blocked_list(struct sk_protect *p, int64_t now_ms,
                               struct sk_protect_blocked *out, size_t max)
{
    size_t n = 0;

    for (uint32_t s = 0; s < p->src_sets; s++) {
        pthread_mutex_t *l = &p->src_lock[s % NLOCKS];
        pthread_mutex_lock(l);
        for (unsigned i = 0; i < WAYS; i++) {
            struct src_entry *e = &p->src[(size_t) s * WAYS + i];
            if (!e->used || e->blocked_until <= now_ms) continue;
            if (n < max) {
                sa_of_key(&e->key, &out[n].addr);
                out[n].rule = (enum sk_protect_rule) e->rule;
                out[n].ms_left = e->blocked_until - now_ms;
            }
            n++;
        }
        pthread_mutex_unlock(l);
    }
    return n;
}

/* ---- Brute force per user ---- */

static struct user_entry *user_find(struct sk_protect *p, uint64_t h, bool create,
                                    int64_t now)
{
    struct user_entry *set = &p->user[(h % p->user_sets) * WAYS], *victim = NULL;

    for (unsigned i = 0; i < WAYS; i++) {
        if (set[i].used && set[i].h == h) return &set[i];
    }
    if (!create) return NULL;
    for (unsigned i = 0; i < WAYS; i++) {
        struct user_entry *e = &set[i];
        bool es, vs;
        if (!e->used) {
            victim = e;
            break;
        }
        if (!victim) {
            victim = e;
            continue;
        }
        /* a user being slowed keeps its entry while others can go */
        es = e->slow_until > now;
        vs = victim->slow_until > now;
        if (es != vs ? !es : e->seen_ms < victim->seen_ms) victim = e;
    }
    if (victim->used) count(&p->st.evicted);
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->h = h;
    victim->seen_ms = now;
    return victim;
}

static uint64_t user_hash(struct sk_str user)
{
    return sk_hash(user.p ? user.p : "", user.p ? user.len : 0);
}

bool sk_protect_user_attempt(struct sk_protect *p, struct sk_str user,
                             const struct sk_sa *src, int64_t now_ms)
{
    struct ipkey k;
    uint64_t h = user_hash(user), sh;
    struct user_entry *e;
    bool ok = true;

    key_of(src, &k);
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, &k)) return true;
    sh = key_hash(&k);
    pthread_mutex_lock(&p->user_lock[(h % p->user_sets) % NLOCKS]);
    e = user_find(p, h, false, now_ms);
    if (e && e->slow_until > now_ms) {
        bool good = false;
        for (unsigned i = 0; i < e->ngood && !good; i++)
            good = e->good[i] == sh;
        if (!good) {
            if (now_ms >= e->next_slot)
                e->next_slot = now_ms + p->cfg.user_slot_ms;
            else
                ok = false;
        }
    }
    pthread_mutex_unlock(&p->user_lock[(h % p->user_sets) % NLOCKS]);
    if (!ok) count(&p->st.dropped[SK_RULE_USER_SLOWED]);
    return ok;
}

void sk_protect_user_result(struct sk_protect *p, struct sk_str user,
                            const struct sk_sa *src, bool ok, int64_t now_ms)
{
    struct ipkey k;
    uint64_t h = user_hash(user), sh;
    struct user_entry *e;

    key_of(src, &k);
    if (!p->cfg.enabled || list_match_key(&p->cfg.trust, &k)) return;
    sh = key_hash(&k);
    pthread_mutex_lock(&p->user_lock[(h % p->user_sets) % NLOCKS]);
    e = user_find(p, h, true, now_ms);
    e->seen_ms = now_ms;
    if (ok) {
        bool known = false;
        for (unsigned i = 0; i < e->ngood && !known; i++)
            known = e->good[i] == sh;
        if (!known) {
            if (e->ngood < USER_GOOD)
                e->good[e->ngood++] = sh;
            else
                e->good[(sh >> 7) % USER_GOOD] = sh; /* a device moved: replace one */
        }
    } else {
        if (now_ms - e->win_start > (int64_t) p->cfg.user_fail_window * 1000) {
            e->win_start = now_ms;
            e->fails = 0;
        }
        if (p->cfg.user_fail_limit && ++e->fails >= p->cfg.user_fail_limit) {
            if (e->slow_until <= now_ms) count(&p->st.users_slowed);
            /* ends user_slow_time after the last failure: never for good */
            e->slow_until = now_ms + (int64_t) p->cfg.user_slow_time * 1000;
        }
    }
    pthread_mutex_unlock(&p->user_lock[(h % p->user_sets) % NLOCKS]);
}

void sk_protect_stats(struct sk_protect *p, struct sk_protect_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->checked = atomic_load(&p->st.checked);
    o->evicted = atomic_load(&p->st.evicted);
    o->users_slowed = atomic_load(&p->st.users_slowed);
    for (unsigned i = 0; i < SK_RULE_COUNT; i++) {
        o->dropped[i] = atomic_load(&p->st.dropped[i]);
        o->blocks[i] = atomic_load(&p->st.blocks[i]);
    }
}
