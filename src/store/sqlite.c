/* SQLite backend of the store: one database file in the data directory, WAL journal. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/log.h"

enum {
    ST_USER_PUT,
    ST_USER_GET,
    ST_USER_DEL,
    ST_USER_LIST,
    ST_BIND_PUT,
    ST_BIND_DEL,
    ST_BIND_LOAD,
    ST_BIND_EXPIRE,
    ST_DATA_VERSION,
    ST__COUNT
};

static const char *const sql_text[ST__COUNT] = {
    [ST_USER_PUT] = "INSERT INTO users(user, domain, ha1_md5, ha1_sha256) VALUES(?,?,?,?) "
                    "ON CONFLICT(user, domain) DO UPDATE SET ha1_md5 = excluded.ha1_md5, "
                    "ha1_sha256 = excluded.ha1_sha256",
    [ST_USER_GET] = "SELECT user, domain, ha1_md5, ha1_sha256 FROM users "
                    "WHERE user = ? AND domain = ?",
    [ST_USER_DEL] = "DELETE FROM users WHERE user = ? AND domain = ?",
    [ST_USER_LIST] = "SELECT user, domain, ha1_md5, ha1_sha256 FROM users ORDER BY domain, user",
    [ST_BIND_PUT] = "INSERT OR REPLACE INTO bindings(aor, key, uri, params, call_id, cseq, q, "
                    "expires_at, instance, reg_id, path, user_agent, received) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_BIND_DEL] = "DELETE FROM bindings WHERE aor = ? AND key = ?",
    [ST_BIND_LOAD] = "SELECT aor, key, uri, params, call_id, cseq, q, expires_at, instance, "
                     "reg_id, path, user_agent, received FROM bindings WHERE expires_at > ?",
    [ST_BIND_EXPIRE] = "DELETE FROM bindings WHERE expires_at <= ?",
    [ST_DATA_VERSION] = "PRAGMA data_version",
};

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS users ("
    "  user TEXT NOT NULL, domain TEXT NOT NULL,"
    "  ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL,"
    "  PRIMARY KEY (user, domain));"
    "CREATE TABLE IF NOT EXISTS bindings ("
    "  aor TEXT NOT NULL, key TEXT NOT NULL, uri TEXT NOT NULL, params TEXT NOT NULL,"
    "  call_id TEXT NOT NULL, cseq INTEGER NOT NULL, q INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, instance TEXT NOT NULL, reg_id INTEGER NOT NULL,"
    "  path TEXT NOT NULL, user_agent TEXT NOT NULL, received TEXT NOT NULL,"
    "  PRIMARY KEY (aor, key)) WITHOUT ROWID;"; /* one b-tree per write, not table + index */

/* ---- User cache ----
 * Positive results of sk_store_user_get are kept in memory, so that the user
 * lookup of every authenticated request neither runs a SELECT nor waits for the
 * store mutex, which the store thread holds during its write-behind batches.
 * - A hash table keyed by user and domain, under its own rwlock; an entry is one
 *   allocation holding its four strings at their exact sizes. At most
 *   UC_MAX_ENTRIES: when full it is emptied and filled again by the misses.
 * - A miss always runs the SELECT, and a user that does not exist is not cached:
 *   a user added by another process (`sipkit user add`) is seen at once.
 * - Changes made by other processes (`sipkit user passwd/del`) are noticed with
 *   PRAGMA data_version, which changes only for commits by other connections (our
 *   own binding batches on this connection leave it alone). At most every
 *   UC_CHECK_NS (CLOCK_MONOTONIC) a lookup reads it and empties the cache when it
 *   moved. It takes the store mutex for that with trylock: when the store thread
 *   holds it the check is left to the next lookup rather than blocking a worker,
 *   so a change can stay unseen longer than 100 ms by about one batch.
 * - Writes through this handle (user put/del) update or remove the entry.
 * - A miss caches its row while still holding the store mutex, and put/del and
 *   the data_version check run under it too, so none of them can fall between
 *   reading a row and caching it (a stale row cannot outlive an invalidation).
 * - Lock order: the store mutex, then the cache lock.
 * - Users and domains too long for struct sk_user_rec bypass the cache. */

#define UC_MAX_ENTRIES 200000
#define UC_MIN_BUCKETS 1024u
#define UC_MAX_BUCKETS 262144u /* a power of two above UC_MAX_ENTRIES */
#define UC_CHECK_NS (100 * 1000000LL)

struct uc_entry {
    struct uc_entry *next;
    uint32_t hash;
    uint8_t ulen, dlen, mlen, slen; /* each below its field's size in sk_user_rec */
    char s[];                       /* user NUL domain NUL ha1_md5 NUL ha1_sha256 NUL */
};

struct user_cache {
    pthread_rwlock_t lock;
    struct uc_entry **b;
    size_t nb; /* a power of two, or 0 before the first insert */
    size_t n;
    _Atomic uint64_t hits, misses, clears;
    _Atomic int64_t next_check; /* monotonic ns: data_version is due */
    _Atomic int64_t check_ns;   /* between two checks: UC_CHECK_NS */
};

struct sq_store {
    struct sk_store base; /* first: the interface's handle */
    sqlite3 *db;
    pthread_mutex_t lock; /* one connection, used by the store thread and the CLI */
    sqlite3_stmt *st[ST__COUNT];
    int64_t data_version; /* last PRAGMA data_version seen (under lock) */
    struct user_cache uc;
};

static int db_err(struct sq_store *s, const char *what)
{
    SK_ERROR("store: %s: %s", what, sqlite3_errmsg(s->db));
    return EIO;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* PRAGMA data_version into *v (the caller holds the lock). */
static int read_data_version(struct sq_store *s, int64_t *v)
{
    sqlite3_stmt *st = s->st[ST_DATA_VERSION];
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_err(s, "data_version");
}

static void uc_free_all(struct user_cache *c)
{
    for (size_t i = 0; i < c->nb; i++) {
        struct uc_entry *e = c->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
        c->b[i] = NULL;
    }
    c->n = 0;
}

static void uc_clear(struct user_cache *c)
{
    pthread_rwlock_wrlock(&c->lock);
    uc_free_all(c);
    pthread_rwlock_unlock(&c->lock);
    atomic_fetch_add_explicit(&c->clears, 1, memory_order_relaxed);
}

static void sq_close(struct sk_store *base)
{
    struct sq_store *s = (struct sq_store *) base;

    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    uc_free_all(&s->uc);
    free(s->uc.b);
    pthread_rwlock_destroy(&s->uc.lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Opens (creating) the database file at path; its directory must exist. */
static int sq_open(struct sk_store **sp, const char *path)
{
    struct sq_store *s = calloc(1, sizeof(*s));
    char *msg = NULL;
    int err = EIO;

    if (!s)
        return ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_rwlock_init(&s->uc.lock, NULL);
    /* NOMUTEX: every use of the connection is under s->lock already, so SQLite's
     * own per-call mutexes (FULLMUTEX) only added cost: 13 binds, a step and a
     * reset per stored binding each took and released one */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        SK_ERROR("store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "?");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        SK_ERROR("store: schema: %s", msg ? msg : "?");
        sqlite3_free(msg);
        goto out;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            db_err(s, sql_text[i]);
            goto out;
        }
    }
    if (read_data_version(s, &s->data_version))
        goto out;
    atomic_init(&s->uc.check_ns, UC_CHECK_NS);
    atomic_init(&s->uc.next_check, mono_ns() + UC_CHECK_NS);
    *sp = &s->base;
    s = NULL;
    err = 0;
out:
    if (s)
        sq_close(&s->base);
    return err;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* For strings that outlive the statement's step (the write-behind queue's). */
static void bind_static(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", t ? (const char *) t : "");
}

/* Run a statement that returns no rows. */
static int run(struct sq_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, what);
}

static uint32_t uc_hash(const char *user, size_t ul, const char *domain, size_t dl)
{
    return (uint32_t) sk_hash_final(sk_hash_bytes(sk_hash_bytes(sk_hash_init(), user, ul), domain, dl));
}

/* Whether user/domain fit sk_user_rec (else the cache is bypassed); their lengths. */
static bool uc_key(const char *user, const char *domain, size_t *ul, size_t *dl)
{
    *ul = strnlen(user, sizeof(((struct sk_user_rec *) 0)->user));
    *dl = strnlen(domain, sizeof(((struct sk_user_rec *) 0)->domain));
    return *ul < sizeof(((struct sk_user_rec *) 0)->user) &&
           *dl < sizeof(((struct sk_user_rec *) 0)->domain);
}

/* The link pointing at the entry for user/domain, or at the chain's NULL (write lock held,
 * or read lock for a lookup). */
static struct uc_entry **uc_find(struct user_cache *c, uint32_t h, const char *user, size_t ul,
                                 const char *domain, size_t dl)
{
    struct uc_entry **pp = &c->b[h & (c->nb - 1)], *e;

    for (; (e = *pp); pp = &e->next) {
        if (e->hash == h && e->ulen == ul && e->dlen == dl && memcmp(e->s, user, ul) == 0 &&
            memcmp(e->s + ul + 1, domain, dl) == 0)
            break;
    }
    return pp;
}

static int uc_get(struct user_cache *c, const char *user, size_t ul, const char *domain,
                  size_t dl, struct sk_user_rec *u)
{
    uint32_t h = uc_hash(user, ul, domain, dl);
    struct uc_entry *e = NULL;

    pthread_rwlock_rdlock(&c->lock);
    if (c->nb && (e = *uc_find(c, h, user, ul, domain, dl))) {
        const char *p = e->s;
        memcpy(u->user, p, (size_t) e->ulen + 1);
        p += e->ulen + 1;
        memcpy(u->domain, p, (size_t) e->dlen + 1);
        p += e->dlen + 1;
        memcpy(u->ha1_md5, p, (size_t) e->mlen + 1);
        p += e->mlen + 1;
        memcpy(u->ha1_sha256, p, (size_t) e->slen + 1);
    }
    pthread_rwlock_unlock(&c->lock);
    atomic_fetch_add_explicit(e ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return e ? 0 : ENOENT;
}

/* Double the buckets (write lock held); on ENOMEM the chains just grow longer. */
static void uc_grow(struct user_cache *c)
{
    size_t nb = c->nb ? c->nb * 2 : UC_MIN_BUCKETS;
    struct uc_entry **b = calloc(nb, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < c->nb; i++) {
        struct uc_entry *e = c->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(c->b);
    c->b = b;
    c->nb = nb;
}

static void uc_unlink(struct user_cache *c, struct uc_entry **pp)
{
    struct uc_entry *e = *pp;

    *pp = e->next;
    free(e);
    c->n--;
}

/* Cache (or replace) the record u; the caller holds the store mutex. Without memory
 * the old entry is dropped and nothing is cached. */
static void uc_put(struct user_cache *c, const struct sk_user_rec *u)
{
    size_t ul, dl, ml = strnlen(u->ha1_md5, sizeof(u->ha1_md5)),
                   sl = strnlen(u->ha1_sha256, sizeof(u->ha1_sha256));
    struct uc_entry *e = NULL, **pp;
    uint32_t h;

    if (!uc_key(u->user, u->domain, &ul, &dl) || ml >= sizeof(u->ha1_md5) ||
        sl >= sizeof(u->ha1_sha256))
        return;
    h = uc_hash(u->user, ul, u->domain, dl);
    if ((e = malloc(offsetof(struct uc_entry, s) + ul + dl + ml + sl + 4))) {
        char *p = e->s;
        e->hash = h;
        e->ulen = (uint8_t) ul;
        e->dlen = (uint8_t) dl;
        e->mlen = (uint8_t) ml;
        e->slen = (uint8_t) sl;
        memcpy(p, u->user, ul);
        p[ul] = '\0';
        p += ul + 1;
        memcpy(p, u->domain, dl);
        p[dl] = '\0';
        p += dl + 1;
        memcpy(p, u->ha1_md5, ml);
        p[ml] = '\0';
        p += ml + 1;
        memcpy(p, u->ha1_sha256, sl);
        p[sl] = '\0';
    }
    pthread_rwlock_wrlock(&c->lock);
    if (c->nb && *(pp = uc_find(c, h, u->user, ul, u->domain, dl)))
        uc_unlink(c, pp);
    if (e) {
        if (c->n >= UC_MAX_ENTRIES) { /* full: start over */
            uc_free_all(c);
            atomic_fetch_add_explicit(&c->clears, 1, memory_order_relaxed);
        }
        if (c->n >= c->nb && c->nb < UC_MAX_BUCKETS)
            uc_grow(c);
        if (c->nb) {
            pp = &c->b[h & (c->nb - 1)];
            e->next = *pp;
            *pp = e;
            c->n++;
            e = NULL;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    free(e); /* no bucket array to hold it */
}

static void uc_del(struct user_cache *c, const char *user, const char *domain)
{
    size_t ul, dl;
    struct uc_entry **pp;

    if (!uc_key(user, domain, &ul, &dl))
        return;
    pthread_rwlock_wrlock(&c->lock);
    if (c->nb && *(pp = uc_find(c, uc_hash(user, ul, domain, dl), user, ul, domain, dl)))
        uc_unlink(c, pp);
    pthread_rwlock_unlock(&c->lock);
}

/* Every UC_CHECK_NS: empty the cache if another connection committed since the
 * last check. Never waits for the store mutex. */
static void uc_check(struct sq_store *s)
{
    int64_t now = mono_ns(), v;

    if (now < atomic_load_explicit(&s->uc.next_check, memory_order_relaxed))
        return;
    if (pthread_mutex_trylock(&s->lock) != 0)
        return; /* the store thread is writing a batch: the next lookup tries */
    if (now >= atomic_load_explicit(&s->uc.next_check, memory_order_relaxed)) {
        atomic_store_explicit(&s->uc.next_check,
                              now + atomic_load_explicit(&s->uc.check_ns, memory_order_relaxed),
                              memory_order_relaxed);
        if (read_data_version(s, &v) != 0) {
            uc_clear(&s->uc); /* cannot tell: trust SQLite only */
        } else if (v != s->data_version) {
            s->data_version = v;
            uc_clear(&s->uc);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static int sq_user_put(struct sk_store *base, const struct sk_user_rec *u)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_USER_PUT];
    int rc;

    pthread_mutex_lock(&s->lock);
    bind_text(st, 1, u->user);
    bind_text(st, 2, u->domain);
    bind_text(st, 3, u->ha1_md5);
    bind_text(st, 4, u->ha1_sha256);
    rc = run(s, st, "user put");
    if (rc == 0)
        uc_put(&s->uc, u);
    else
        uc_del(&s->uc, u->user, u->domain); /* the row is in doubt */
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* All of u[0..n) in one transaction, or none of them. Without replace an existing
 * user is a conflict: nothing is written, *conflict = its index, EEXIST. */
static int sq_user_put_many(struct sk_store *base, const struct sk_user_rec *u, size_t n,
                            bool replace, size_t *conflict)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *get = s->st[ST_USER_GET], *put = s->st[ST_USER_PUT];
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    /* IMMEDIATE: the write lock first, so that no other writer slips in between
     * the existence checks and the inserts */
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, "user import: begin");
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!replace) {
            bind_text(get, 1, u[i].user);
            bind_text(get, 2, u[i].domain);
            int step = sqlite3_step(get);
            sqlite3_reset(get);
            sqlite3_clear_bindings(get);
            if (step == SQLITE_ROW) {
                if (conflict)
                    *conflict = i;
                rc = EEXIST;
                break;
            }
            if (step != SQLITE_DONE) {
                rc = db_err(s, "user import: get");
                break;
            }
        }
        bind_text(put, 1, u[i].user);
        bind_text(put, 2, u[i].domain);
        bind_text(put, 3, u[i].ha1_md5);
        bind_text(put, 4, u[i].ha1_sha256);
        rc = run(s, put, "user import: put");
    }
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(s, "user import: commit");
    if (rc != 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* harmless when none is open */
    /* whatever was cached for these users may be in doubt or replaced: refill on misses */
    if (n)
        uc_clear(&s->uc);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void read_user(sqlite3_stmt *st, struct sk_user_rec *u)
{
    col_copy(st, 0, u->user, sizeof(u->user));
    col_copy(st, 1, u->domain, sizeof(u->domain));
    col_copy(st, 2, u->ha1_md5, sizeof(u->ha1_md5));
    col_copy(st, 3, u->ha1_sha256, sizeof(u->ha1_sha256));
}

static int sq_user_get(struct sk_store *base, const char *user, const char *domain,
                       struct sk_user_rec *u)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_USER_GET];
    size_t ul, dl;
    bool cacheable = uc_key(user, domain, &ul, &dl);
    int rc;

    if (cacheable) {
        uc_check(s);
        if (uc_get(&s->uc, user, ul, domain, dl, u) == 0)
            return 0;
    }
    pthread_mutex_lock(&s->lock);
    bind_text(st, 1, user);
    bind_text(st, 2, domain);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_user(st, u);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? ENOENT : db_err(s, "user get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == 0 && cacheable)
        uc_put(&s->uc, u); /* still under the lock: see the comment on the cache */
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sq_user_del(struct sk_store *base, const char *user, const char *domain)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_USER_DEL];
    int rc;

    pthread_mutex_lock(&s->lock);
    bind_text(st, 1, user);
    bind_text(st, 2, domain);
    rc = run(s, st, "user del");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = ENOENT;
    uc_del(&s->uc, user, domain);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void sq_user_cache_stats(struct sk_store *base, struct sk_user_cache_stats *st)
{
    struct sq_store *s = (struct sq_store *) base;

    st->hits = atomic_load_explicit(&s->uc.hits, memory_order_relaxed);
    st->misses = atomic_load_explicit(&s->uc.misses, memory_order_relaxed);
    st->clears = atomic_load_explicit(&s->uc.clears, memory_order_relaxed);
    pthread_rwlock_rdlock(&s->uc.lock);
    st->entries = s->uc.n;
    pthread_rwlock_unlock(&s->uc.lock);
}

static int sq_user_list(struct sk_store *base, sk_user_fn fn, void *arg)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_USER_LIST];
    struct sk_user_rec u;
    int rc;

    pthread_mutex_lock(&s->lock);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_user(st, &u);
        fn(arg, &u);
    }
    rc = rc == SQLITE_DONE ? 0 : db_err(s, "user list");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Fill the user cache with every user (up to UC_MAX_ENTRIES), so that the first
 * REGISTER or INVITE of each user after a start does not wait for a SELECT. */
static int sq_user_cache_warm(struct sk_store *base, size_t *loaded)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_USER_LIST];
    struct sk_user_rec u;
    size_t n = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    /* what is cached from here on is what this data_version holds */
    if (read_data_version(s, &s->data_version) != 0) {
        pthread_mutex_unlock(&s->lock);
        return EIO; /* read_data_version said why */
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pthread_rwlock_rdlock(&s->uc.lock);
        bool full = s->uc.n + 1 >= UC_MAX_ENTRIES;
        pthread_rwlock_unlock(&s->uc.lock);
        if (full)
            break; /* a full cache empties itself: leave the rest to the misses */
        read_user(st, &u);
        uc_put(&s->uc, &u);
        n++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        rc = db_err(s, "user cache warm");
    else
        rc = 0;
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    if (loaded)
        *loaded = n;
    return rc;
}

static int sq_batch_begin(struct sk_store *base)
{
    struct sq_store *s = (struct sq_store *) base;
    int rc;

    pthread_mutex_lock(&s->lock);
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, "begin"); /* the message is read under the lock */
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    return 0;
}

static int sq_batch_commit(struct sk_store *base)
{
    struct sq_store *s = (struct sq_store *) base;
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                            : db_err(s, "commit");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Between begin and commit (the caller holds the lock). */
static int sq_binding_put(struct sk_store *base, const struct sk_binding_rec *b)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_BIND_PUT];

    bind_static(st, 1, b->aor);
    bind_static(st, 2, b->key);
    bind_static(st, 3, b->uri);
    bind_static(st, 4, b->params);
    bind_static(st, 5, b->call_id);
    sqlite3_bind_int64(st, 6, b->cseq);
    sqlite3_bind_int(st, 7, b->q);
    sqlite3_bind_int64(st, 8, b->expires_at);
    bind_static(st, 9, b->instance);
    sqlite3_bind_int64(st, 10, b->reg_id);
    bind_static(st, 11, b->path);
    bind_static(st, 12, b->user_agent);
    bind_static(st, 13, b->received);
    return run(s, st, "binding put");
}

static int sq_binding_del(struct sk_store *base, const char *aor, const char *key)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_BIND_DEL];
    bind_text(st, 1, aor);
    bind_text(st, 2, key);
    return run(s, st, "binding del");
}

static int sq_binding_load_all(struct sk_store *base, int64_t now, sk_binding_fn fn, void *arg)
{
    struct sq_store *s = (struct sq_store *) base;
    sqlite3_stmt *st = s->st[ST_BIND_LOAD];
    int rc;

    pthread_mutex_lock(&s->lock);
    sqlite3_bind_int64(s->st[ST_BIND_EXPIRE], 1, now);
    run(s, s->st[ST_BIND_EXPIRE], "expire");
    sqlite3_bind_int64(st, 1, now);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sk_binding_rec b;
#define TXT(i) ((const char *) sqlite3_column_text(st, i))
        b.aor = TXT(0);
        b.key = TXT(1);
        b.uri = TXT(2);
        b.params = TXT(3);
        b.call_id = TXT(4);
        b.cseq = (uint32_t) sqlite3_column_int64(st, 5);
        b.q = sqlite3_column_int(st, 6);
        b.expires_at = sqlite3_column_int64(st, 7);
        b.instance = TXT(8);
        b.reg_id = (uint32_t) sqlite3_column_int64(st, 9);
        b.path = TXT(10);
        b.user_agent = TXT(11);
        b.received = TXT(12);
#undef TXT
        fn(arg, &b);
    }
    rc = rc == SQLITE_DONE ? 0 : db_err(s, "bindings load");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sk_store_sqlite_set_check_ms(struct sk_store *base, uint32_t ms)
{
    struct sq_store *s = (struct sq_store *) base;
    int64_t ns = (int64_t) ms * 1000000LL;

    if (base->ops != &sk_store_sqlite_ops)
        return EINVAL;
    atomic_store_explicit(&s->uc.check_ns, ns, memory_order_relaxed);
    atomic_store_explicit(&s->uc.next_check, mono_ns() + ns, memory_order_relaxed);
    return 0;
}

const struct sk_store_ops sk_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .user_put = sq_user_put,
    .user_put_many = sq_user_put_many,
    .user_get = sq_user_get,
    .user_del = sq_user_del,
    .user_list = sq_user_list,
    .user_cache_warm = sq_user_cache_warm,
    .user_cache_stats = sq_user_cache_stats,
    .batch_begin = sq_batch_begin,
    .batch_commit = sq_batch_commit,
    .binding_put = sq_binding_put,
    .binding_del = sq_binding_del,
    .binding_load_all = sq_binding_load_all,
};
