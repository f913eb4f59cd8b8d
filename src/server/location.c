/* Location service: AOR hash with per-bucket locks, compact bindings, write-behind and expiry thread. */
#include "server/location.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/pool.h"
#include "sip/uri.h"

#define LOC_BUCKETS 65536

/* A binding: fixed fields, then its strings packed in data[] (each NUL-terminated),
 * in the order of enum field. One allocation per binding. */
enum field { F_URI, F_PARAMS, F_INSTANCE, F_CALL_ID, F_PATH, F_UA, F__COUNT };

struct binding {
    struct binding *next;
    int64_t expires_at;
    uint32_t cseq, reg_id;
    uint32_t req_id;     /* the transaction of the REGISTER that set it (memory only) */
    int16_t q;
    uint8_t proto;
    uint8_t src_len;     /* socklen of src */
    uint16_t off[F__COUNT];
    union {              /* the source address, without sockaddr_storage's padding */
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } src;
    char data[];
};

struct aor {
    struct aor *next;
    struct binding *bindings;
    uint32_t hash;
    uint16_t nbindings;
    char name[];
};

struct bucket {
    pthread_mutex_t lock;
    struct aor *head;
    /* Earliest expiry in the bucket (INT64_MAX when empty): the expiry sweep skips
     * the bucket without locking it until then. Written under the lock. */
    _Atomic int64_t next_exp;
};

/* A change waiting for the store thread. */
struct op {
    struct op *next;
    bool del;
    struct sk_binding_rec rec;
    char data[];
};

struct sk_loc {
    struct bucket *b;
    struct sk_store *store;
    uint32_t flush_ms;
    atomic_size_t trim_keep; /* free heap left at the top by the periodic trim */
    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;
    struct op *q_head, *q_tail;
    bool stopping;
    bool thread_started;
    pthread_t thread;
    pthread_mutex_t count_lock;
    size_t count;
    _Atomic int64_t next_exp; /* no binding expires before this: the sweep skips */
    struct sk_pool pool;      /* bindings and AORs: apart from short-lived heap objects */
    _Atomic uint64_t retransmissions; /* REGISTERs answered again, nothing changed */
    _Atomic uint64_t created, refreshed, removed, expired; /* sk_loc_counters */
    _Atomic uint64_t queued, written, flushes, flush_us, flush_us_max; /* write-behind */
};

static const char *bstr(const struct binding *b, enum field f)
{
    return b->data + b->off[f];
}

static uint32_t hash_str(const char *s)
{
    return (uint32_t) sk_hash(s, strlen(s));
}

static struct bucket *bucket_of(struct sk_loc *l, uint32_t h)
{
    return &l->b[h % LOC_BUCKETS];
}

/* ---- What names this server, and AOR normalisation (§10.3 step 5, §16.5) ---- */

void sk_loc_self_init(struct sk_loc_self *self)
{
    memset(self, 0, sizeof(*self));
}

int sk_loc_self_add_addr(struct sk_loc_self *self, const struct sk_sa *addr)
{
    for (unsigned i = 0; i < self->naddr; i++) {
        if (sk_sa_equal(&self->addr[i], addr))
            return 0;
    }
    if (self->naddr == SK_LOC_SELF_MAX_ADDRS)
        return ENOSPC;
    self->addr[self->naddr++] = *addr;
    return 0;
}

int sk_loc_self_add_domain(struct sk_loc_self *self, const char *domain)
{
    if (self->ndomain == SK_LOC_SELF_MAX_DOMAINS)
        return ENOSPC;
    self->domain[self->ndomain++] = sk_str_cstr(domain);
    return 0;
}

/* The listen address whose IP is the URI's host and whose port is the URI's (or
 * any, when the URI has none): its index, or -1. */
static int self_addr(const struct sk_loc_self *self, const struct sip_uri *u)
{
    struct sk_sa h6;

    if (u->host_type == SIP_HOST_IPV4) {
        for (unsigned i = 0; i < self->naddr; i++) {
            const struct sk_sa *a = &self->addr[i];
            /* the parser has the address already: no text conversion per request */
            if (a->u.sa.sa_family == AF_INET && ntohl(a->u.in.sin_addr.s_addr) == u->ip4 &&
                (!u->has_port || ntohs(a->u.in.sin_port) == u->port))
                return (int) i;
        }
        return -1;
    }
    if (u->host_type != SIP_HOST_IPV6 || sk_sa_from_ip(&h6, u->host, 0) != 0)
        return -1;
    for (unsigned i = 0; i < self->naddr; i++) {
        const struct sk_sa *a = &self->addr[i];
        if (a->u.sa.sa_family == AF_INET6 &&
            memcmp(&a->u.in6.sin6_addr, &h6.u.in6.sin6_addr, sizeof(h6.u.in6.sin6_addr)) == 0 &&
            (!u->has_port || ntohs(a->u.in6.sin6_port) == u->port))
            return (int) i;
    }
    return -1;
}

static bool self_domain(const struct sk_loc_self *self, const struct sip_uri *u)
{
    bool named = false;

    for (unsigned i = 0; i < self->ndomain && !named; i++)
        named = sk_str_ieq(u->host, self->domain[i]);
    if (!named || !u->has_port)
        return named;
    /* a domain we serve with a port: one of the ports we listen on */
    for (unsigned i = 0; i < self->naddr; i++) {
        if (sk_sa_port(&self->addr[i]) == u->port)
            return true;
    }
    return false;
}

/* A dotted quad as inet_ntop writes it: no part with a leading zero. */
static bool ip4_canonical(struct sk_str h)
{
    for (size_t i = 0; i + 1 < h.len; i++) {
        if (h.p[i] == '0' && (i == 0 || h.p[i - 1] == '.') && h.p[i + 1] != '.')
            return false;
    }
    return true;
}

bool sk_loc_is_self(const struct sk_loc_self *self, const struct sip_uri *u)
{
    if (!self || (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS))
        return false;
    if (u->host_type == SIP_HOST_NAME)
        return self_domain(self, u);
    return self_addr(self, u) >= 0;
}

int sk_loc_aor(const struct sip_uri *u, const struct sk_loc_self *self, struct sk_buf *out,
               struct sk_loc_aor_info *info)
{
    struct sk_loc_aor_info ai;
    int addr = -1;
    bool v6 = u->host_type == SIP_HOST_IPV6;

    if (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS)
        return EINVAL;
    memset(&ai, 0, sizeof(ai));
    if (self) {
        if (u->host_type == SIP_HOST_NAME)
            ai.self = self_domain(self, u);
        else
            ai.self = (addr = self_addr(self, u)) >= 0;
    }
    sk_buf_puts(out, u->scheme == SIP_URI_SIPS ? "sips:" : "sip:");
    if (sk_str_isset(u->user)) {
        ai.user_off = out->len;
        sip_unescape(out, u->user);
        ai.user_len = out->len - ai.user_off;
        sk_buf_putc(out, '@');
    }
    if (v6)
        sk_buf_putc(out, '[');
    ai.domain_off = out->len;
    if (addr >= 0 && !(u->host_type == SIP_HOST_IPV4 && ip4_canonical(u->host))) {
        /* one of our addresses, in the one spelling it has (127.000.000.001 and
         * [0:0::1] are 127.0.0.1 and [::1]); the usual dotted quad is that already */
        char ip[64];
        sk_buf_puts(out, sk_sa_ip(&self->addr[addr], ip, sizeof(ip)));
    } else {
        sk_buf_put_lower(out, u->host);
    }
    ai.domain_len = out->len - ai.domain_off;
    if (v6)
        sk_buf_putc(out, ']');
    /* §16.5: a URI naming us is the AOR of our domain, whichever of our ports it
     * carries; another server's port stays part of what it names */
    if (u->has_port && !ai.self)
        sk_buf_printf(out, ":%u", u->port);
    if (info)
        *info = ai;
    return out->failed ? ENOMEM : 0;
}

/* ---- Bindings ---- */

static struct binding *binding_new(struct sk_loc *l, const struct sk_str *s,
                                   int64_t expires_at, uint32_t cseq, uint32_t reg_id, int q,
                                   enum sip_proto proto, const struct sk_sa *src, uint32_t req_id)
{
    size_t total = 0;
    struct binding *b;

    for (int f = 0; f < F__COUNT; f++)
        total += s[f].len + 1;
    if (total > UINT16_MAX)
        return NULL;
    b = sk_pool_alloc(&l->pool, sizeof(*b) + total);
    if (!b)
        return NULL;
    b->next = NULL;
    b->expires_at = expires_at;
    b->cseq = cseq;
    b->reg_id = reg_id;
    b->req_id = req_id;
    b->q = (int16_t) q;
    b->proto = (uint8_t) proto;
    memset(&b->src, 0, sizeof(b->src));
    b->src_len = src->len <= sizeof(b->src) ? (uint8_t) src->len : 0;
    memcpy(&b->src, &src->u, b->src_len);
    total = 0;
    for (int f = 0; f < F__COUNT; f++) {
        b->off[f] = (uint16_t) total;
        if (s[f].len)
            memcpy(b->data + total, s[f].p, s[f].len);
        b->data[total + s[f].len] = '\0';
        total += s[f].len + 1;
    }
    return b;
}

static void view(const struct aor *a, const struct binding *b, struct sk_loc_binding *v)
{
    v->aor = a->name;
    v->uri = bstr(b, F_URI);
    v->params = bstr(b, F_PARAMS);
    v->instance = bstr(b, F_INSTANCE);
    v->call_id = bstr(b, F_CALL_ID);
    v->path = bstr(b, F_PATH);
    v->user_agent = bstr(b, F_UA);
    v->reg_id = b->reg_id;
    v->cseq = b->cseq;
    v->q = b->q;
    v->expires_at = b->expires_at;
    v->proto = (enum sip_proto) b->proto;
    memset(&v->src, 0, sizeof(v->src));
    memcpy(&v->src.u, &b->src, b->src_len);
    v->src.len = b->src_len;
}

/* The store's key of a binding: the outbound flow (instance + reg-id) or the URI. */
static void binding_key(const struct binding *b, char *key, size_t size)
{
    if (*bstr(b, F_INSTANCE) && b->reg_id) {
        snprintf(key, size, "%s;reg-id=%u", bstr(b, F_INSTANCE), b->reg_id);
    } else {
        /* the common case, every REGISTER of a plain UA: a copy, cut to size */
        const char *uri = bstr(b, F_URI);
        size_t n = strlen(uri);
        if (n >= size)
            n = size - 1;
        memcpy(key, uri, n);
        key[n] = '\0';
    }
}

/* ---- Write-behind ---- */

/* Append a change for the store thread. */
static void queue_push(struct sk_loc *l, struct op *o)
{
    o->next = NULL;
    pthread_mutex_lock(&l->q_lock);
    if (l->q_tail)
        l->q_tail->next = o;
    else
        l->q_head = o;
    l->q_tail = o;
    atomic_fetch_add(&l->queued, 1);
    pthread_mutex_unlock(&l->q_lock);
}

static void enqueue(struct sk_loc *l, const struct aor *a, const struct binding *b, bool del)
{
    struct sk_loc_binding v;
    char key[1200], recv[96], addr[80];
    const char *strs[9];
    size_t lens[9], total = 0;
    struct op *o;
    char *p;

    if (!l->store)
        return;
    view(a, b, &v);
    binding_key(b, key, sizeof(key));
    {
        /* "udp:192.0.2.1:5060", built without printf (one per stored change) */
        const char *pn = sip_proto_name(v.proto);
        size_t pl = strlen(pn), al;
        sk_sa_str(&v.src, addr, sizeof(addr));
        al = strlen(addr);
        if (pl + 1 + al >= sizeof(recv))
            al = sizeof(recv) - pl - 2; /* cannot happen: 80 + a protocol name fits */
        memcpy(recv, pn, pl);
        recv[pl] = ':';
        memcpy(recv + pl + 1, addr, al);
        recv[pl + 1 + al] = '\0';
    }
    strs[0] = a->name, strs[1] = key, strs[2] = v.uri, strs[3] = v.params;
    strs[4] = v.call_id, strs[5] = v.instance, strs[6] = v.path, strs[7] = v.user_agent;
    strs[8] = recv;
    for (int i = 0; i < 9; i++)
        total += (lens[i] = strlen(strs[i])) + 1;
    o = malloc(sizeof(*o) + total);
    if (!o) {
        SK_ERROR("location: out of memory, a change of %s is not stored", a->name);
        return;
    }
    p = o->data;
    for (int i = 0; i < 9; i++) {
        memcpy(p, strs[i], lens[i] + 1);
        strs[i] = p;
        p += lens[i] + 1;
    }
    o->next = NULL;
    o->del = del;
    o->rec = (struct sk_binding_rec){
        .aor = strs[0], .key = strs[1], .uri = strs[2], .params = strs[3],
        .call_id = strs[4], .cseq = v.cseq, .q = v.q, .expires_at = v.expires_at,
        .instance = strs[5], .reg_id = v.reg_id, .path = strs[6], .user_agent = strs[7],
        .received = strs[8],
    };
    queue_push(l, o);
}

/* The removal of a stored row by its (aor, key) alone: a binding loaded under
 * an AOR spelling of before, moved to the AOR it has now (sk_loc_load). */
static void enqueue_row_del(struct sk_loc *l, const char *aor, const char *key)
{
    size_t la = strlen(aor) + 1, lk = strlen(key) + 1;
    struct op *o;

    if (!l->store)
        return;
    if (!(o = malloc(sizeof(*o) + la + lk + 1))) {
        SK_ERROR("location: out of memory, the old row of %s is not removed", aor);
        return;
    }
    memcpy(o->data, aor, la);
    memcpy(o->data + la, key, lk);
    o->data[la + lk] = '\0';
    o->next = NULL;
    o->del = true;
    o->rec = (struct sk_binding_rec){
        .aor = o->data, .key = o->data + la, .uri = o->data + la + lk,
        .params = o->data + la + lk, .call_id = o->data + la + lk,
        .instance = o->data + la + lk, .path = o->data + la + lk,
        .user_agent = o->data + la + lk, .received = o->data + la + lk,
    };
    queue_push(l, o);
}

static void write_ops(struct sk_loc *l, struct op *o)
{
    struct op *next;

    if (!o)
        return;
    if (sk_store_begin(l->store) == 0) {
        for (struct op *x = o; x; x = x->next) {
            if (x->del)
                sk_store_binding_del(l->store, x->rec.aor, x->rec.key);
            else
                sk_store_binding_put(l->store, &x->rec);
        }
        sk_store_commit(l->store);
    }
    for (; o; o = next) {
        next = o->next;
        free(o);
    }
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void sk_loc_flush(struct sk_loc *l)
{
    struct op *o;
    uint64_t n = 0, t0, us;

    pthread_mutex_lock(&l->q_lock);
    o = l->q_head;
    l->q_head = l->q_tail = NULL;
    pthread_mutex_unlock(&l->q_lock);
    for (struct op *x = o; x; x = x->next)
        n++;
    if (l->store && o) {
        /* how long one batch takes to reach the disk (sk_loc_counters) */
        t0 = mono_us();
        write_ops(l, o);
        us = mono_us() - t0;
        atomic_fetch_add(&l->flushes, 1);
        atomic_fetch_add(&l->flush_us, us);
        if (us > atomic_load(&l->flush_us_max))
            atomic_store(&l->flush_us_max, us);
        atomic_fetch_add(&l->written, n);
    }
    atomic_fetch_sub(&l->queued, n);
}

static void *store_thread(void *arg)
{
    struct sk_loc *l = arg;
    int64_t last_expire = 0, last_trim = 0;

    pthread_mutex_lock(&l->q_lock);
    while (!l->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long) (l->flush_ms % 1000) * 1000000L;
        ts.tv_sec += l->flush_ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&l->q_cond, &l->q_lock, &ts);
        pthread_mutex_unlock(&l->q_lock);
        {
            /* the expiry timer: bindings leave on time (to within a second) */
            int64_t now = (int64_t) time(NULL);
            if (now != last_expire) {
                sk_loc_expire(l, now);
                last_expire = now;
            }
            sk_loc_flush(l);
            /* give back the pages that bursts of short-lived objects (transactions)
             * left free, so memory follows what is really held */
            if (now - last_trim >= 10) {
                malloc_trim(atomic_load(&l->trim_keep));
                last_trim = now;
            }
        }
        pthread_mutex_lock(&l->q_lock);
    }
    pthread_mutex_unlock(&l->q_lock);
    return NULL;
}

/* ---- Lifetime ---- */

void sk_loc_set_trim_keep(struct sk_loc *l, size_t bytes)
{
    atomic_store(&l->trim_keep, bytes);
}

static int thread_start_default(pthread_t *t, void *(*run)(void *), void *arg)
{
    return pthread_create(t, NULL, run, arg);
}

int sk_loc_new_with(struct sk_loc **lp, const struct sk_loc_config *cfg)
{
    sk_loc_thread_start_fn start = cfg->thread_start ? cfg->thread_start : thread_start_default;
    struct sk_loc *l = calloc(1, sizeof(*l));
    int err = ENOMEM;

    if (!l)
        return ENOMEM;
    /* everything sk_loc_free undoes is initialised before the first failure */
    atomic_init(&l->next_exp, INT64_MAX);
    l->store = cfg->store;
    l->flush_ms = cfg->flush_ms ? cfg->flush_ms : SK_LOC_DEFAULT_FLUSH_MS;
    pthread_mutex_init(&l->q_lock, NULL);
    pthread_cond_init(&l->q_cond, NULL);
    pthread_mutex_init(&l->count_lock, NULL);
    sk_pool_init(&l->pool);
    if (!(l->b = calloc(LOC_BUCKETS, sizeof(*l->b))))
        goto out;
    for (size_t i = 0; i < LOC_BUCKETS; i++) {
        pthread_mutex_init(&l->b[i].lock, NULL);
        atomic_init(&l->b[i].next_exp, INT64_MAX);
    }
    if ((err = start(&l->thread, store_thread, l))) {
        SK_ERROR("location: cannot start the store thread: %s", strerror(err));
        goto out;
    }
    l->thread_started = true;
    *lp = l;
    l = NULL;
out:
    sk_loc_free(l);
    return err;
}

int sk_loc_new(struct sk_loc **lp, struct sk_store *store, uint32_t flush_ms)
{
    struct sk_loc_config cfg = {.store = store, .flush_ms = flush_ms};

    return sk_loc_new_with(lp, &cfg);
}

void sk_loc_free(struct sk_loc *l)
{
    if (!l)
        return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->q_lock);
        l->stopping = true;
        pthread_cond_signal(&l->q_cond);
        pthread_mutex_unlock(&l->q_lock);
        pthread_join(l->thread, NULL);
    }
    sk_loc_flush(l);
    for (size_t i = 0; l->b && i < LOC_BUCKETS; i++) {
        struct aor *a = l->b[i].head, *an;
        for (; a; a = an) {
            struct binding *b = a->bindings, *bn;
            an = a->next;
            for (; b; b = bn) {
                bn = b->next;
                sk_pool_free(&l->pool, b);
            }
            sk_pool_free(&l->pool, a);
        }
        pthread_mutex_destroy(&l->b[i].lock);
    }
    pthread_mutex_destroy(&l->q_lock);
    pthread_cond_destroy(&l->q_cond);
    pthread_mutex_destroy(&l->count_lock);
    sk_pool_destroy(&l->pool);
    free(l->b);
    free(l);
}

static void count_add(struct sk_loc *l, long d)
{
    pthread_mutex_lock(&l->count_lock);
    l->count = (size_t) ((long) l->count + d);
    pthread_mutex_unlock(&l->count_lock);
}

uint64_t sk_loc_retransmissions(struct sk_loc *l)
{
    return atomic_load(&l->retransmissions);
}

void sk_loc_counters(struct sk_loc *l, struct sk_loc_counters *out)
{
    out->created = atomic_load(&l->created);
    out->refreshed = atomic_load(&l->refreshed);
    out->removed = atomic_load(&l->removed);
    out->expired = atomic_load(&l->expired);
    out->queued = atomic_load(&l->queued);
    out->written = atomic_load(&l->written);
    out->flushes = atomic_load(&l->flushes);
    out->flush_us = atomic_load(&l->flush_us);
    out->flush_us_max = atomic_load(&l->flush_us_max);
}

size_t sk_loc_count(struct sk_loc *l)
{
    size_t n;
    pthread_mutex_lock(&l->count_lock);
    n = l->count;
    pthread_mutex_unlock(&l->count_lock);
    return n;
}

/* Find an AOR in its (locked) bucket, creating it when asked. */
static struct aor *aor_find(struct sk_loc *l, struct bucket *bk, const char *name, uint32_t h,
                            bool create)
{
    struct aor *a;
    size_t n;

    for (a = bk->head; a; a = a->next) {
        if (a->hash == h && strcmp(a->name, name) == 0)
            return a;
    }
    if (!create)
        return NULL;
    n = strlen(name);
    a = sk_pool_alloc(&l->pool, sizeof(*a) + n + 1);
    if (!a)
        return NULL;
    memcpy(a->name, name, n + 1);
    a->hash = h;
    a->bindings = NULL;
    a->nbindings = 0;
    a->next = bk->head;
    bk->head = a;
    return a;
}

static void aor_drop_if_empty(struct sk_loc *l, struct bucket *bk, struct aor *a)
{
    struct aor **pp;
    if (a->bindings)
        return;
    for (pp = &bk->head; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            sk_pool_free(&l->pool, a);
            return;
        }
    }
}

/* Same binding? Outbound flows by instance + reg-id (RFC 5626 §6), else by
 * URI equality (§10.3 step 7, §19.1.4). */
static bool same_binding(const struct binding *b, const struct sk_loc_contact *c,
                         const struct sip_uri *cu)
{
    struct sip_uri bu;

    if (c->has_reg_id && sk_str_isset(c->instance))
        return b->reg_id == c->reg_id && sk_str_eq_cstr(c->instance, bstr(b, F_INSTANCE));
    if (b->reg_id && *bstr(b, F_INSTANCE))
        return false;
    if (sip_uri_parse(&bu, bstr(b, F_URI), strlen(bstr(b, F_URI)), NULL))
        return sk_str_eq_cstr(c->uri, bstr(b, F_URI));
    return sip_uri_equal(&bu, cu);
}

/* The binding contact c names, or NULL. */
static struct binding *find_binding(const struct aor *a, const struct sk_loc_contact *c,
                                    const struct sip_uri *cu)
{
    struct binding *b;

    for (b = a->bindings; b && !same_binding(b, c, cu); b = b->next)
        ;
    return b;
}

/* The request that set these bindings, again (a stateless registrar sees every
 * copy, RFC 3261 §8.2.7): each contact is bound by a request with this Call-ID,
 * CSeq and transaction, or is absent and was to be removed; at least one is bound.
 * found[i]: the binding of contact i (find_binding). */
static bool is_retransmission(const struct sk_loc_reg *r, const struct sk_loc_contact *c,
                              struct binding *const *found, size_t n)
{
    bool bound = false;

    for (size_t i = 0; i < n; i++) {
        const struct binding *b = found[i];
        if (!b) {
            if (c[i].expires != 0)
                return false;
            continue;
        }
        if (b->req_id == 0 || b->req_id != r->req_id || b->cseq != r->cseq ||
            !sk_str_eq_cstr(r->call_id, bstr(b, F_CALL_ID)))
            return false;
        bound = true;
    }
    return bound;
}

static void unlink_binding(struct sk_loc *l, struct aor *a, struct binding *b, bool store)
{
    struct binding **pp;
    for (pp = &a->bindings; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            a->nbindings--;
            if (store)
                enqueue(l, a, b, true);
            sk_pool_free(&l->pool, b);
            count_add(l, -1);
            return;
        }
    }
}

/* Highest q first (no q counts as 1.0 for ordering, RFC 3261 §16.6 leaves it to policy). */
static int qkey(const struct binding *b)
{
    return b->q < 0 ? 1000 : b->q;
}

static void lower_to(_Atomic int64_t *v, int64_t when)
{
    int64_t cur = atomic_load_explicit(v, memory_order_relaxed);
    while (when < cur &&
           !atomic_compare_exchange_weak_explicit(v, &cur, when, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* Called with bk locked. */
static void note_expiry(struct sk_loc *l, struct bucket *bk, int64_t when)
{
    if (when < atomic_load_explicit(&bk->next_exp, memory_order_relaxed))
        atomic_store_explicit(&bk->next_exp, when, memory_order_relaxed);
    lower_to(&l->next_exp, when);
}

static void insert_sorted(struct aor *a, struct binding *nb)
{
    struct binding **pp = &a->bindings;
    while (*pp && qkey(*pp) >= qkey(nb))
        pp = &(*pp)->next;
    nb->next = *pp;
    *pp = nb;
    a->nbindings++;
}

/* The contacts' URIs for comparison (§19.1.4), and each contact's binding before
 * any change; on the stack for up to eight contacts. */
struct reg_scratch {
    const struct sip_uri *ustack[8], **uris;
    struct binding *fstack[8], **found;
    struct sip_uri *parsed; /* the URIs parsed here (the caller had no parse) */
};

static void scratch_free(struct reg_scratch *sc)
{
    free(sc->parsed);
    if (sc->uris != sc->ustack) {
        free(sc->uris);
        free(sc->found);
    }
}

/* Each contact's URI: the caller's parse where it has one, else parsed here. */
static int scratch_init(struct reg_scratch *sc, const struct sk_loc_contact *c, size_t n)
{
    int rc = 0;

    sc->uris = sc->ustack;
    sc->found = sc->fstack;
    sc->parsed = NULL;
    if (n > sizeof(sc->ustack) / sizeof(sc->ustack[0]) &&
        (!(sc->uris = calloc(n, sizeof(*sc->uris))) ||
         !(sc->found = calloc(n, sizeof(*sc->found))))) {
        free(sc->uris);
        return ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (c[i].parsed) {
            sc->uris[i] = c[i].parsed;
        } else if (!sc->parsed && !(sc->parsed = calloc(n, sizeof(*sc->parsed)))) {
            rc = ENOMEM;
        } else if (sip_uri_parse(&sc->parsed[i], c[i].uri.p, c[i].uri.len, NULL)) {
            rc = EINVAL;
        } else {
            sc->uris[i] = &sc->parsed[i];
        }
    }
    if (rc)
        scratch_free(sc);
    return rc;
}

/* §10.3 step 6: "*" with Expires 0 removes every binding, unless one has the same
 * Call-ID and a CSeq not lower than the request's (step 7). */
static int reg_remove_all(struct sk_loc *l, struct aor *a, const struct sk_loc_reg *r)
{
    for (struct binding *b = a->bindings; b; b = b->next) {
        if (sk_str_eq_cstr(r->call_id, bstr(b, F_CALL_ID)) && r->cseq <= b->cseq)
            return EALREADY;
    }
    while (a->bindings) {
        unlink_binding(l, a, a->bindings, true);
        atomic_fetch_add(&l->removed, 1);
    }
    return 0;
}

/* §10.3 step 7, first pass: is any contact's binding newer than the request? */
static bool reg_stale(const struct sk_loc_reg *r, struct binding *const *found, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct binding *b = found[i];
        if (b && sk_str_eq_cstr(r->call_id, bstr(b, F_CALL_ID)) && r->cseq <= b->cseq)
            return true;
    }
    return false;
}

/* How many bindings the AOR would have after the request. */
static size_t reg_count_after(const struct aor *a, const struct sk_loc_contact *c,
                              struct binding *const *found, size_t n)
{
    size_t after = a->nbindings;

    for (size_t i = 0; i < n; i++) {
        bool exists = found[i] != NULL;
        if (exists && c[i].expires == 0)
            after--;
        else if (!exists && c[i].expires > 0)
            after++;
    }
    return after;
}

/* The binding contact c of request r asks for (NULL without memory). */
static struct binding *reg_binding_new(struct sk_loc *l, const struct sk_loc_reg *r,
                                       const struct sk_loc_contact *c, int64_t now)
{
    struct sk_str s[F__COUNT];

    s[F_URI] = c->uri;
    s[F_PARAMS] = c->params;
    s[F_INSTANCE] = c->instance;
    s[F_CALL_ID] = r->call_id;
    s[F_PATH] = r->path;
    s[F_UA] = r->user_agent;
    for (int f = 0; f < F__COUNT; f++) {
        if (!s[f].p)
            s[f] = SK_STR_LIT("");
    }
    return binding_new(l, s, now + c->expires, r->cseq, c->has_reg_id ? c->reg_id : 0, c->q,
                       r->proto, &r->src, r->req_id);
}

/* Second pass: apply every contact (searching again: an earlier contact of this
 * request may have replaced the binding found before). */
static int reg_apply(struct sk_loc *l, struct bucket *bk, struct aor *a,
                     const struct sk_loc_reg *r, const struct sk_loc_contact *c,
                     const struct sip_uri *const *uris, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct binding *old = find_binding(a, &c[i], uris[i]), *nb;
        /* the stored row goes too: an equal URI may be written differently, and
         * the store's key is the text */
        if (old)
            unlink_binding(l, a, old, true);
        if (c[i].expires == 0) {
            if (old) atomic_fetch_add(&l->removed, 1);
            continue;
        }
        atomic_fetch_add(old ? &l->refreshed : &l->created, 1);
        if (a->nbindings >= SK_LOC_MAX_PER_AOR)
            return ENOSPC;
        if (!(nb = reg_binding_new(l, r, &c[i], now)))
            return ENOMEM;
        insert_sorted(a, nb);
        note_expiry(l, bk, nb->expires_at);
        count_add(l, 1);
        enqueue(l, a, nb, false);
    }
    return 0;
}

/* The REGISTER against its AOR's bindings (bucket bk locked). */
static int reg_locked(struct sk_loc *l, struct bucket *bk, struct aor *a,
                      const struct sk_loc_reg *r, const struct sk_loc_contact *c,
                      struct reg_scratch *sc, size_t n, bool remove_all, int64_t now)
{
    for (size_t i = 0; i < n; i++)
        sc->found[i] = find_binding(a, &c[i], sc->uris[i]);
    if (n > 0 && !remove_all && is_retransmission(r, c, sc->found, n)) {
        /* answered again as it was the first time: the bindings as they are */
        atomic_fetch_add(&l->retransmissions, 1);
        return 0;
    }
    /* replayed credentials answer only a retransmission: a query or a removal of
     * everything cannot be told from a replay, so they are refused too */
    if (r->replay_only)
        return EACCES;
    if (remove_all)
        return reg_remove_all(l, a, r);
    if (reg_stale(r, sc->found, n))
        return EALREADY;
    /* the limit is checked before anything changes: all contacts or none */
    if (reg_count_after(a, c, sc->found, n) > SK_LOC_MAX_PER_AOR)
        return ENOSPC;
    return reg_apply(l, bk, a, r, c, sc->uris, n, now);
}

/* Each binding of a that has not expired at now, to fn. */
static void report_bindings(const struct aor *a, int64_t now, sk_loc_fn fn, void *arg)
{
    for (const struct binding *b = a->bindings; b; b = b->next) {
        struct sk_loc_binding v;
        if (b->expires_at <= now)
            continue;
        view(a, b, &v);
        fn(arg, &v);
    }
}

int sk_loc_register(struct sk_loc *l, const struct sk_loc_reg *r, const struct sk_loc_contact *c,
                    size_t n, bool remove_all, int64_t now, sk_loc_fn fn, void *arg)
{
    uint32_t h = hash_str(r->aor);
    struct bucket *bk = bucket_of(l, h);
    struct reg_scratch sc;
    struct aor *a;
    int rc;

    if ((rc = scratch_init(&sc, c, n)))
        return rc;
    pthread_mutex_lock(&bk->lock);
    a = aor_find(l, bk, r->aor, h, n > 0 && !r->replay_only);
    if (!a)
        rc = r->replay_only ? EACCES : n == 0 ? 0 : ENOMEM;
    else
        rc = reg_locked(l, bk, a, r, c, &sc, n, remove_all, now);
    if (a && rc != EALREADY && rc != EACCES && fn)
        report_bindings(a, now, fn, arg);
    if (a)
        aor_drop_if_empty(l, bk, a);
    pthread_mutex_unlock(&bk->lock);
    scratch_free(&sc);
    return rc;
}

size_t sk_loc_lookup(struct sk_loc *l, const char *aor, int64_t now, sk_loc_fn fn, void *arg)
{
    uint32_t h = hash_str(aor);
    struct bucket *bk = bucket_of(l, h);
    struct aor *a;
    size_t n = 0;

    pthread_mutex_lock(&bk->lock);
    if ((a = aor_find(l, bk, aor, h, false))) {
        for (struct binding *b = a->bindings; b; b = b->next) {
            struct sk_loc_binding v;
            if (b->expires_at <= now)
                continue;
            n++;
            if (fn) {
                view(a, b, &v);
                fn(arg, &v);
            }
        }
    }
    pthread_mutex_unlock(&bk->lock);
    return n;
}

void sk_loc_walk(struct sk_loc *l, int64_t now, sk_loc_fn fn, void *arg)
{
    for (size_t i = 0; i < LOC_BUCKETS; i++) {
        struct bucket *bk = &l->b[i];
        if (!bk->head)
            continue; /* a racy peek is fine: this is a listing, not a transaction */
        pthread_mutex_lock(&bk->lock);
        for (struct aor *a = bk->head; a; a = a->next) {
            for (struct binding *b = a->bindings; b; b = b->next) {
                struct sk_loc_binding v;
                if (b->expires_at <= now)
                    continue;
                view(a, b, &v);
                fn(arg, &v);
            }
        }
        pthread_mutex_unlock(&bk->lock);
    }
}

size_t sk_loc_expire(struct sk_loc *l, int64_t now)
{
    size_t removed = 0;

    if (sk_loc_count(l) == 0)
        return 0; /* nothing to scan (the store thread calls this every tick) */
    /* nothing due yet: no walk over the buckets (this runs every tick) */
    if (atomic_load_explicit(&l->next_exp, memory_order_relaxed) > now)
        return 0;
    /* start the minimum afresh; registrations from now on lower it themselves */
    atomic_store_explicit(&l->next_exp, INT64_MAX, memory_order_relaxed);
    for (size_t i = 0; i < LOC_BUCKETS; i++) {
        struct bucket *bk = &l->b[i];
        struct aor *a, *an;
        int64_t next = INT64_MAX;
        int64_t bnext = atomic_load_explicit(&bk->next_exp, memory_order_relaxed);
        if (bnext > now) {
            lower_to(&l->next_exp, bnext);
            continue;
        }
        pthread_mutex_lock(&bk->lock);
        for (a = bk->head; a; a = an) {
            struct binding *b = a->bindings, *bn;
            an = a->next;
            for (; b; b = bn) {
                bn = b->next;
                if (b->expires_at <= now) {
                    unlink_binding(l, a, b, true);
                    removed++;
                } else if (b->expires_at < next) {
                    next = b->expires_at;
                }
            }
            aor_drop_if_empty(l, bk, a);
        }
        atomic_store_explicit(&bk->next_exp, next, memory_order_relaxed);
        lower_to(&l->next_exp, next);
        pthread_mutex_unlock(&bk->lock);
    }
    atomic_fetch_add(&l->expired, removed);
    return removed;
}

/* ---- Loading from the store ---- */

struct load_ctx {
    struct sk_loc *l;
    const struct sk_loc_self *self;
    int64_t now;
    size_t loaded, moved;
};

/* The AOR a stored one has now (into out), when the rule gives another text. */
static bool aor_now(const struct sk_loc_self *self, const char *stored, struct sk_buf *out)
{
    struct sip_uri u;

    if (!self || sip_uri_parse(&u, stored, strlen(stored), NULL) != 0 ||
        sk_loc_aor(&u, self, out, NULL) != 0 || out->failed)
        return false;
    return strcmp(out->p, stored) != 0;
}

/* A binding with the store key of b in a (the one a moved binding would replace). */
static struct binding *same_key(const struct aor *a, const struct binding *b)
{
    char kb[1200], kx[1200];

    binding_key(b, kb, sizeof(kb));
    for (struct binding *x = a->bindings; x; x = x->next) {
        binding_key(x, kx, sizeof(kx));
        if (strcmp(kb, kx) == 0)
            return x;
    }
    return NULL;
}

static void load_one(void *arg, const struct sk_binding_rec *r)
{
    struct load_ctx *lc = arg;
    struct sk_loc *l = lc->l;
    struct sk_str s[F__COUNT];
    struct sk_sa src;
    enum sip_proto proto = SIP_PROTO_UDP;
    const char *addr = strchr(r->received, ':');
    const char *name = r->aor;
    struct binding *b;
    struct aor *a;
    struct sk_buf canon;
    char canon_mem[256];
    bool moved;
    uint32_t h;
    struct bucket *bk;

    /* "TCP:..." as enqueue wrote it; a transport this build does not speak
     * would send to the contact's flow on the wrong one: the row is not loaded */
    if (addr && sip_proto_from_str(sk_str_make(r->received, (size_t) (addr - r->received)),
                                   &proto)) {
        SK_WARN("location: binding of %s: unknown transport in \"%s\", not loaded", r->aor,
                r->received);
        return;
    }
    sk_buf_init_ext(&canon, canon_mem, sizeof(canon_mem));
    /* a row written under the AOR rule of before (a port of ours kept) */
    if ((moved = aor_now(lc->self, r->aor, &canon)))
        name = canon.p;
    h = hash_str(name);
    bk = bucket_of(l, h);
    memset(&src, 0, sizeof(src));
    if (addr) {
        /* "UDP:1.2.3.4:5060" or "UDP:[::1]:5060" */
        const char *colon = strrchr(addr + 1, ':');
        if (colon)
            sk_sa_from_ip(&src, sk_str_make(addr + 1, (size_t) (colon - addr - 1)),
                          (uint16_t) atoi(colon + 1));
    }
    s[F_URI] = sk_str_cstr(r->uri);
    s[F_PARAMS] = sk_str_cstr(r->params);
    s[F_INSTANCE] = sk_str_cstr(r->instance);
    s[F_CALL_ID] = sk_str_cstr(r->call_id);
    s[F_PATH] = sk_str_cstr(r->path);
    s[F_UA] = sk_str_cstr(r->user_agent);
    b = binding_new(l, s, r->expires_at, r->cseq, r->reg_id, r->q, proto, &src, 0);
    if (!b) {
        sk_buf_free(&canon);
        return;
    }
    pthread_mutex_lock(&bk->lock);
    a = aor_find(l, bk, name, h, true);
    if (a && moved) {
        /* the same contact under both spellings: the later expiry wins */
        struct binding *dup = same_key(a, b);
        if (dup && dup->expires_at >= b->expires_at) {
            sk_pool_free(&l->pool, b);
            b = NULL;
        } else if (dup) {
            unlink_binding(l, a, dup, false); /* its row is overwritten by b's */
        }
        enqueue_row_del(l, r->aor, r->key);
        lc->moved++;
    }
    if (!b) {
        /* kept the binding already there */
    } else if (a && a->nbindings < SK_LOC_MAX_PER_AOR) {
        insert_sorted(a, b);
        note_expiry(l, bk, b->expires_at);
        count_add(l, 1);
        lc->loaded++;
        if (moved)
            enqueue(l, a, b, false);
    } else {
        sk_pool_free(&l->pool, b);
    }
    pthread_mutex_unlock(&bk->lock);
    sk_buf_free(&canon);
}

int sk_loc_load(struct sk_loc *l, const struct sk_loc_self *self, int64_t now)
{
    struct load_ctx lc = {l, self, now, 0, 0};
    int rc;

    if (!l->store)
        return 0;
    rc = sk_store_bindings_load(l->store, now, load_one, &lc);
    if (rc == 0)
        SK_INFO("location: %zu bindings loaded", lc.loaded);
    if (rc == 0 && lc.moved)
        SK_INFO("location: %zu bindings moved to the AOR without our port", lc.moved);
    return rc;
}
