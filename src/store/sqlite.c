/* SQLite backend of the store: one database file in the data directory, WAL journal. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    "  PRIMARY KEY (aor, key));";

struct sk_store {
    sqlite3 *db;
    pthread_mutex_t lock; /* one connection, used by the store thread and the CLI */
    sqlite3_stmt *st[ST__COUNT];
};

static int db_err(struct sk_store *s, const char *what)
{
    SK_ERROR("store: %s: %s", what, sqlite3_errmsg(s->db));
    return EIO;
}

int sk_store_open(struct sk_store **sp, const char *dir)
{
    struct sk_store *s = calloc(1, sizeof(*s));
    char path[4096];
    char *msg = NULL;

    if (!s)
        return ENOMEM;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        free(s);
        return err;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, SK_STORE_DB_NAME);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        SK_ERROR("store: cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "?");
        sqlite3_close(s->db);
        free(s);
        return EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        SK_ERROR("store: schema: %s", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(s->db);
        free(s);
        return EIO;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            db_err(s, sql_text[i]);
            sk_store_close(s);
            return EIO;
        }
    }
    pthread_mutex_init(&s->lock, NULL);
    *sp = s;
    return 0;
}

void sk_store_close(struct sk_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", t ? (const char *) t : "");
}

/* Run a statement that returns no rows. */
static int run(struct sk_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, what);
}

int sk_store_user_put(struct sk_store *s, const struct sk_user_rec *u)
{
    sqlite3_stmt *st = s->st[ST_USER_PUT];
    int rc;

    pthread_mutex_lock(&s->lock);
    bind_text(st, 1, u->user);
    bind_text(st, 2, u->domain);
    bind_text(st, 3, u->ha1_md5);
    bind_text(st, 4, u->ha1_sha256);
    rc = run(s, st, "user put");
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

int sk_store_user_get(struct sk_store *s, const char *user, const char *domain,
                      struct sk_user_rec *u)
{
    sqlite3_stmt *st = s->st[ST_USER_GET];
    int rc;

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
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sk_store_user_del(struct sk_store *s, const char *user, const char *domain)
{
    sqlite3_stmt *st = s->st[ST_USER_DEL];
    int rc;

    pthread_mutex_lock(&s->lock);
    bind_text(st, 1, user);
    bind_text(st, 2, domain);
    rc = run(s, st, "user del");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = ENOENT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sk_store_user_list(struct sk_store *s, sk_user_fn fn, void *arg)
{
    sqlite3_stmt *st = s->st[ST_USER_LIST];
    struct sk_user_rec u;
    int rc;

    pthread_mutex_lock(&s->lock);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_user(st, &u);
        fn(arg, &u);
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return rc == SQLITE_DONE ? 0 : db_err(s, "user list");
}

int sk_store_begin(struct sk_store *s)
{
    pthread_mutex_lock(&s->lock);
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&s->lock);
        return db_err(s, "begin");
    }
    return 0;
}

int sk_store_commit(struct sk_store *s)
{
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                            : db_err(s, "commit");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Between begin and commit (the caller holds the lock). */
int sk_store_binding_put(struct sk_store *s, const struct sk_binding_rec *b)
{
    sqlite3_stmt *st = s->st[ST_BIND_PUT];

    bind_text(st, 1, b->aor);
    bind_text(st, 2, b->key);
    bind_text(st, 3, b->uri);
    bind_text(st, 4, b->params);
    bind_text(st, 5, b->call_id);
    sqlite3_bind_int64(st, 6, b->cseq);
    sqlite3_bind_int(st, 7, b->q);
    sqlite3_bind_int64(st, 8, b->expires_at);
    bind_text(st, 9, b->instance);
    sqlite3_bind_int64(st, 10, b->reg_id);
    bind_text(st, 11, b->path);
    bind_text(st, 12, b->user_agent);
    bind_text(st, 13, b->received);
    return run(s, st, "binding put");
}

int sk_store_binding_del(struct sk_store *s, const char *aor, const char *key)
{
    sqlite3_stmt *st = s->st[ST_BIND_DEL];
    bind_text(st, 1, aor);
    bind_text(st, 2, key);
    return run(s, st, "binding del");
}

int sk_store_bindings_load(struct sk_store *s, int64_t now, sk_binding_fn fn, void *arg)
{
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
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->lock);
    return rc == SQLITE_DONE ? 0 : db_err(s, "bindings load");
}
