/* Tests of the store interface: the location service on an in-memory backend, backend
 * choice by URL, and constructors that fail cleanly. */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/loc_test.h"
#include "server/location.h"
#include "store/store.h"

/* ---- A backend that keeps everything in memory ----
 * Only the interface, nothing of SQLite: the location service and the user
 * calls running on it prove that the function table is all they need. */

#define MEM_MAX 64

struct mem_binding {
    bool used;
    char aor[128], key[256], uri[256], params[128], call_id[128], instance[128],
        path[256], user_agent[128], received[96];
    uint32_t cseq, reg_id;
    int q;
    int64_t expires_at;
};

struct mem_store {
    struct sk_store base;
    pthread_mutex_t lock; /* held from batch_begin to batch_commit, as SQLite's is */
    struct sk_user_rec users[MEM_MAX];
    bool user_used[MEM_MAX];
    struct mem_binding b[MEM_MAX];
    unsigned batches, puts, dels;
};

static struct mem_store *mem_of(struct sk_store *s)
{
    return (struct mem_store *) s;
}

static int mem_open(struct sk_store **sp, const char *where)
{
    struct mem_store *m = calloc(1, sizeof(*m));

    (void) where;
    if (!m) return ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    *sp = &m->base;
    return 0;
}

static void mem_close(struct sk_store *s)
{
    struct mem_store *m = mem_of(s);

    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int mem_user_find(struct mem_store *m, const char *user, const char *domain)
{
    for (int i = 0; i < MEM_MAX; i++) {
        if (m->user_used[i] && strcmp(m->users[i].user, user) == 0 &&
            strcmp(m->users[i].domain, domain) == 0)
            return i;
    }
    return -1;
}

static int mem_user_put_locked(struct mem_store *m, const struct sk_user_rec *u)
{
    int i = mem_user_find(m, u->user, u->domain);

    for (int j = 0; i < 0 && j < MEM_MAX; j++) {
        if (!m->user_used[j]) i = j;
    }
    if (i < 0) return ENOSPC;
    m->users[i] = *u;
    m->user_used[i] = true;
    return 0;
}

static int mem_user_put(struct sk_store *s, const struct sk_user_rec *u)
{
    struct mem_store *m = mem_of(s);
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = mem_user_put_locked(m, u);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_user_put_many(struct sk_store *s, const struct sk_user_rec *u, size_t n,
                             bool replace, size_t *conflict)
{
    struct mem_store *m = mem_of(s);
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n && !replace; i++) {
        if (mem_user_find(m, u[i].user, u[i].domain) >= 0) {
            *conflict = i;
            rc = EEXIST;
            break;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mem_user_put_locked(m, &u[i]);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_user_get(struct sk_store *s, const char *user, const char *domain,
                        struct sk_user_rec *u)
{
    struct mem_store *m = mem_of(s);
    int i;

    pthread_mutex_lock(&m->lock);
    if ((i = mem_user_find(m, user, domain)) >= 0) *u = m->users[i];
    pthread_mutex_unlock(&m->lock);
    return i >= 0 ? 0 : ENOENT;
}

static int mem_user_del(struct sk_store *s, const char *user, const char *domain)
{
    struct mem_store *m = mem_of(s);
    int i;

    pthread_mutex_lock(&m->lock);
    if ((i = mem_user_find(m, user, domain)) >= 0) m->user_used[i] = false;
    pthread_mutex_unlock(&m->lock);
    return i >= 0 ? 0 : ENOENT;
}

static int mem_user_list(struct sk_store *s, sk_user_fn fn, void *arg)
{
    struct mem_store *m = mem_of(s);

    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < MEM_MAX; i++) {
        if (m->user_used[i]) fn(arg, &m->users[i]);
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_batch_begin(struct sk_store *s)
{
    pthread_mutex_lock(&mem_of(s)->lock);
    mem_of(s)->batches++;
    return 0;
}

static int mem_batch_commit(struct sk_store *s)
{
    pthread_mutex_unlock(&mem_of(s)->lock);
    return 0;
}

static struct mem_binding *mem_binding_find(struct mem_store *m, const char *aor,
                                            const char *key)
{
    for (int i = 0; i < MEM_MAX; i++) {
        if (m->b[i].used && strcmp(m->b[i].aor, aor) == 0 &&
            strcmp(m->b[i].key, key) == 0)
            return &m->b[i];
    }
    return NULL;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Between begin and commit. */
static int mem_binding_put(struct sk_store *s, const struct sk_binding_rec *r)
{
    struct mem_store *m = mem_of(s);
    struct mem_binding *b = mem_binding_find(m, r->aor, r->key);

    for (int i = 0; !b && i < MEM_MAX; i++) {
        if (!m->b[i].used) b = &m->b[i];
    }
    if (!b) return ENOSPC;
    memset(b, 0, sizeof(*b));
    b->used = true;
    COPY(b->aor, r->aor);
    COPY(b->key, r->key);
    COPY(b->uri, r->uri);
    COPY(b->params, r->params);
    COPY(b->call_id, r->call_id);
    COPY(b->instance, r->instance);
    COPY(b->path, r->path);
    COPY(b->user_agent, r->user_agent);
    COPY(b->received, r->received);
    b->cseq = r->cseq;
    b->reg_id = r->reg_id;
    b->q = r->q;
    b->expires_at = r->expires_at;
    m->puts++;
    return 0;
}

static int mem_binding_del(struct sk_store *s, const char *aor, const char *key)
{
    struct mem_binding *b = mem_binding_find(mem_of(s), aor, key);

    if (b) b->used = false;
    mem_of(s)->dels++;
    return 0;
}

static int mem_binding_load_all(struct sk_store *s, int64_t now, sk_binding_fn fn,
                                void *arg)
{
    struct mem_store *m = mem_of(s);

    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < MEM_MAX; i++) {
        struct mem_binding *b = &m->b[i];
        if (b->used && b->expires_at <= now) b->used = false;
        if (!b->used) continue;
        struct sk_binding_rec r = {
            .aor = b->aor,
            .key = b->key,
            .uri = b->uri,
            .params = b->params,
            .call_id = b->call_id,
            .cseq = b->cseq,
            .q = b->q,
            .expires_at = b->expires_at,
            .instance = b->instance,
            .reg_id = b->reg_id,
            .path = b->path,
            .user_agent = b->user_agent,
            .received = b->received,
        };
        fn(arg, &r);
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* No user cache: user_cache_warm and user_cache_stats left out (optional). */
static const struct sk_store_ops mem_ops = {
    .name = "mem",
    .open = mem_open,
    .close = mem_close,
    .user_put = mem_user_put,
    .user_put_many = mem_user_put_many,
    .user_get = mem_user_get,
    .user_del = mem_user_del,
    .user_list = mem_user_list,
    .batch_begin = mem_batch_begin,
    .batch_commit = mem_batch_commit,
    .binding_put = mem_binding_put,
    .binding_del = mem_binding_del,
    .binding_load_all = mem_binding_load_all,
};

static unsigned mem_count(struct sk_store *s)
{
    struct mem_store *m = mem_of(s);
    unsigned n = 0;

    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < MEM_MAX; i++)
        n += m->b[i].used;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* ---- helpers ---- */

struct seen {
    size_t n;
    char uri[4][128], call_id[4][64], ua[4][64], src[4][64];
    uint32_t cseq[4];
    int64_t expires_at[4];
    enum sip_proto proto[4];
};

static void collect(void *arg, const struct sk_loc_binding *b)
{
    struct seen *s = arg;

    if (s->n >= 4) return;
    snprintf(s->uri[s->n], sizeof(s->uri[0]), "%s", b->uri);
    snprintf(s->call_id[s->n], sizeof(s->call_id[0]), "%s", b->call_id);
    snprintf(s->ua[s->n], sizeof(s->ua[0]), "%s", b->user_agent);
    sk_sa_str(&b->src, s->src[s->n], sizeof(s->src[0]));
    s->cseq[s->n] = b->cseq;
    s->expires_at[s->n] = b->expires_at;
    s->proto[s->n] = b->proto;
    s->n++;
}

/* ---- The location service on the in-memory backend ---- */

static void test_location_on_mem_backend(void **state)
{
    struct sk_store *st = NULL;
    struct sk_loc *l;
    struct seen s;
    int64_t now = (int64_t) time(NULL);
    struct sk_loc_reg r = reg("sip:amy@example.com", "mem-cid", 1);
    struct sk_loc_contact c[2];
    (void) state;

    r.proto = SIP_PROTO_TCP;
    assert_int_equal(sk_sa_from_ip(&r.src, SK_STR_LIT("192.0.2.7"), 5070), 0);

    assert_int_equal(sk_store_open_with(&st, &mem_ops, "unused"), 0);
    assert_ptr_equal(st->ops, &mem_ops);
    assert_int_equal(sk_loc_new(&l, st, 50), 0);
    r.user_agent = SK_STR_LIT("memphone/1");
    c[0] = contact("sip:amy@192.0.2.7:5070;transport=tcp", 600);
    c[1] = contact("sip:amy@198.51.100.1", 300);
    assert_int_equal(sk_loc_register(l, &r, c, 2, false, now, NULL, NULL), 0);
    sk_loc_flush(l);
    assert_int_equal(mem_count(st), 2);
    assert_true(mem_of(st)->batches >= 1);

    /* a removal reaches the backend as a del */
    c[0] = contact("sip:amy@198.51.100.1", 0);
    r.cseq = 2;
    assert_int_equal(sk_loc_register(l, &r, c, 1, false, now, NULL, NULL), 0);
    sk_loc_flush(l);
    assert_int_equal(mem_count(st), 1);
    assert_true(mem_of(st)->dels >= 1);
    sk_loc_free(l);

    /* a restart: what the backend kept comes back, field by field */
    assert_int_equal(sk_loc_new(&l, st, 50), 0);
    assert_int_equal(sk_loc_load(l, NULL, now), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(sk_loc_lookup(l, "sip:amy@example.com", now, collect, &s), 1);
    assert_string_equal(s.uri[0], "sip:amy@192.0.2.7:5070;transport=tcp");
    assert_string_equal(s.call_id[0], "mem-cid");
    assert_string_equal(s.ua[0], "memphone/1");
    assert_string_equal(s.src[0], "192.0.2.7:5070");
    assert_int_equal(s.proto[0], SIP_PROTO_TCP);
    assert_int_equal(s.cseq[0], 1);
    assert_int_equal(s.expires_at[0], now + 600);

    /* loaded after the binding's time: the backend drops it, nothing is loaded */
    sk_loc_free(l);
    assert_int_equal(sk_loc_new(&l, st, 50), 0);
    assert_int_equal(sk_loc_load(l, NULL, now + 601), 0);
    assert_int_equal(sk_loc_count(l), 0);
    assert_int_equal(mem_count(st), 0);
    sk_loc_free(l);
    sk_store_close(st);
}

static void count_user(void *arg, const struct sk_user_rec *u)
{
    (void) u;
    (*(unsigned *) arg)++;
}

/* The user calls dispatch to the backend; the optional cache entries default. */
static void test_users_on_mem_backend(void **state)
{
    struct sk_store *st;
    struct sk_user_rec u = {.user = "bo", .domain = "example.com", .ha1_md5 = "m"}, got,
                       two[2];
    struct sk_user_cache_stats cs;
    size_t loaded = 99, conflict = 99;
    unsigned n = 0;
    (void) state;

    assert_int_equal(sk_store_open_with(&st, &mem_ops, NULL), 0);
    assert_int_equal(sk_store_user_put(st, &u), 0);
    assert_int_equal(sk_store_user_get(st, "bo", "example.com", &got), 0);
    assert_string_equal(got.ha1_md5, "m");
    two[0] = u;
    two[1] = (struct sk_user_rec){.user = "cy", .domain = "example.com"};
    assert_int_equal(sk_store_user_put_many(st, two, 2, false, &conflict), EEXIST);
    assert_int_equal(conflict, 0);
    assert_int_equal(sk_store_user_get(st, "cy", "example.com", &got), ENOENT);
    assert_int_equal(sk_store_user_put_many(st, two, 2, true, &conflict), 0);
    assert_int_equal(sk_store_user_list(st, count_user, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sk_store_user_del(st, "bo", "example.com"), 0);
    assert_int_equal(sk_store_user_del(st, "bo", "example.com"), ENOENT);
    assert_int_equal(sk_store_user_cache_warm(st, &loaded), 0);
    assert_int_equal(loaded, 0);
    memset(&cs, 0xff, sizeof(cs));
    sk_store_user_cache_stats(st, &cs);
    assert_int_equal(cs.hits + cs.misses + cs.clears + cs.entries, 0);
    /* a SQLite-only knob refuses another backend's handle */
    assert_int_equal(sk_store_sqlite_set_check_ms(st, 0), EINVAL);
    sk_store_close(st);
}

/* ---- Choosing the backend ---- */

static int fail_open(struct sk_store **sp, const char *where)
{
    (void) sp;
    (void) where;
    return EIO;
}

static void test_open_fails(void **state)
{
    struct sk_store *st = (struct sk_store *) &st; /* must stay as it is */
    struct sk_store *const before = st;
    struct sk_store_ops failing = mem_ops;
    (void) state;

    failing.open = fail_open;
    assert_int_equal(sk_store_open_with(&st, &failing, "x"), EIO);
    assert_ptr_equal(st, before);
    assert_int_equal(sk_store_open_with(&st, NULL, "x"), EINVAL);
    assert_int_equal(sk_store_open_url(&st, "redis:127.0.0.1:6379", "data"), EINVAL);
    assert_int_equal(sk_store_open_url(&st, "sqlite:", "data"), EINVAL);
    assert_int_equal(sk_store_open_url(&st, "sqlite", ""), EINVAL);
    assert_int_equal(sk_store_open_url(&st, NULL, NULL), EINVAL);
    /* SQLite cannot create a file in a directory that does not exist */
    assert_int_equal(
        sk_store_open_url(&st, "sqlite:/nonexistent-sipkit-dir/x/s.db", NULL), EIO);
    assert_ptr_equal(st, before);
}

static void test_open_url_sqlite(void **state)
{
    struct tu_datadir t;
    struct sk_store *st;
    struct sk_user_rec u = {.user = "di", .domain = "example.com", .ha1_md5 = "h"}, got;
    char url[128];
    (void) state;

    tu_datadir_make(&t, "sipkit-backend");
    /* the default store in the data directory, then the same file by its URL */
    assert_int_equal(sk_store_open_url(&st, NULL, t.path), 0);
    assert_ptr_equal(st->ops, &sk_store_sqlite_ops);
    assert_int_equal(sk_store_user_put(st, &u), 0);
    sk_store_close(st);
    snprintf(url, sizeof(url), "sqlite:%s/%s", t.path, SK_STORE_DB_NAME);
    assert_int_equal(sk_store_open_url(&st, url, NULL), 0);
    assert_int_equal(sk_store_user_get(st, "di", "example.com", &got), 0);
    assert_string_equal(got.ha1_md5, "h");
    sk_store_close(st);
    assert_int_equal(sk_store_open_url(&st, "sqlite", t.path), 0);
    assert_int_equal(sk_store_user_get(st, "di", "example.com", &got), 0);
    sk_store_close(st);
    tu_datadir_remove(&t);
}

/* ---- sk_loc_new fails when its store thread cannot start ---- */

static unsigned thread_start_calls;

static int thread_start_fails(pthread_t *t, void *(*run)(void *), void *arg)
{
    (void) t;
    (void) run;
    (void) arg;
    thread_start_calls++;
    return EAGAIN;
}

static void test_loc_thread_start_fails(void **state)
{
    struct sk_loc *l = (struct sk_loc *) &l, *const before = l;
    struct sk_store *st;
    struct sk_loc_config cfg = {.flush_ms = 50, .thread_start = thread_start_fails};
    (void) state;

    /* memory only, and with a store: EAGAIN, *lp untouched, nothing leaked
     * (LeakSanitizer checks the half-built object was freed), the store intact */
    assert_int_equal(sk_loc_new_with(&l, &cfg), EAGAIN);
    assert_ptr_equal(l, before);
    assert_int_equal(sk_store_open_with(&st, &mem_ops, NULL), 0);
    cfg.store = st;
    assert_int_equal(sk_loc_new_with(&l, &cfg), EAGAIN);
    assert_ptr_equal(l, before);
    assert_int_equal(thread_start_calls, 2);
    assert_int_equal(mem_count(st), 0);
    /* the same store still serves a location service that starts */
    cfg.thread_start = NULL;
    assert_int_equal(sk_loc_new_with(&l, &cfg), 0);
    assert_ptr_not_equal(l, before);
    sk_loc_free(l);
    sk_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location_on_mem_backend),
        cmocka_unit_test(test_users_on_mem_backend),
        cmocka_unit_test(test_open_fails),
        cmocka_unit_test(test_open_url_sqlite),
        cmocka_unit_test(test_loc_thread_start_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
