/* Storage behind one interface (a function table per backend): users (HA1 hashes only) and location bindings. */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SK_STORE_DB_NAME "sipkit.db"

struct sk_user_rec {
    char user[128];
    char domain[256];
    char ha1_md5[33];
    char ha1_sha256[65];
};

/* A binding as stored: every string NUL-terminated, empty when absent. */
struct sk_binding_rec {
    const char *aor;        /* "sip:alice@example.com" (normalised, §10.3 step 5) */
    const char *key;        /* identity within the AOR: "+sip.instance/reg-id" or the URI */
    const char *uri;        /* the Contact URI exactly as received */
    const char *params;     /* its header parameters as received (without expires) */
    const char *call_id;
    uint32_t cseq;
    int q;                  /* thousandths, -1 = none */
    int64_t expires_at;     /* unix seconds */
    const char *instance;   /* RFC 5626 +sip.instance */
    uint32_t reg_id;
    const char *path;       /* RFC 3327 Path values, in order, comma-separated */
    const char *user_agent;
    const char *received;   /* "udp:192.0.2.1:5060" flow the REGISTER came on */
};

typedef void (*sk_user_fn)(void *arg, const struct sk_user_rec *u);
typedef void (*sk_binding_fn)(void *arg, const struct sk_binding_rec *b);

struct sk_user_cache_stats {
    uint64_t hits;    /* lookups answered from the cache */
    uint64_t misses;  /* lookups that went to the database */
    uint64_t clears;  /* emptied: another process changed the database, or full */
    uint64_t entries; /* cached users now */
};

struct sk_store;

/* A storage backend: one function table (SQLite is the first; Redis or PostgreSQL
 * would be others). The sk_store_* functions below call only through it, so the
 * location service, the registrar, the proxy and `sipkit user` never know which
 * backend they run on. Every entry is required except those marked optional.
 * A backend's handle starts with struct sk_store (its ops); the functions may be
 * called from several threads at once (workers' user lookups, the store thread's
 * batches), so a backend serialises what its connection cannot share. */
struct sk_store_ops {
    const char *name; /* the scheme of a store URL: "sqlite" in "sqlite:PATH" */
    /* where: the backend's part of the URL (a file, a server address); the
     * handle in *sp only on success. */
    int (*open)(struct sk_store **sp, const char *where);
    void (*close)(struct sk_store *s);

    int (*user_put)(struct sk_store *s, const struct sk_user_rec *u);
    int (*user_put_many)(struct sk_store *s, const struct sk_user_rec *u, size_t n, bool replace,
                         size_t *conflict);
    int (*user_get)(struct sk_store *s, const char *user, const char *domain,
                    struct sk_user_rec *u);
    int (*user_del)(struct sk_store *s, const char *user, const char *domain);
    int (*user_list)(struct sk_store *s, sk_user_fn fn, void *arg);
    /* optional (a backend without a user cache): loaded 0, stats all 0 */
    int (*user_cache_warm)(struct sk_store *s, size_t *loaded);
    void (*user_cache_stats)(struct sk_store *s, struct sk_user_cache_stats *st);

    /* The write-behind batch: begin, any number of put/del, commit; one thread
     * at a time holds a batch (the backend may lock from begin to commit). */
    int (*batch_begin)(struct sk_store *s);
    int (*batch_commit)(struct sk_store *s);
    int (*binding_put)(struct sk_store *s, const struct sk_binding_rec *b);
    int (*binding_del)(struct sk_store *s, const char *aor, const char *key);
    /* Every binding not expired at now, to fn; expired ones are deleted. */
    int (*binding_load_all)(struct sk_store *s, int64_t now, sk_binding_fn fn, void *arg);
};

/* What every backend's handle begins with. */
struct sk_store {
    const struct sk_store_ops *ops;
};

extern const struct sk_store_ops sk_store_sqlite_ops;
/* SQLite only: how long a cached user may miss a change by another process
 * (default 100 ms; 0 checks at every lookup). Tests use it to know which record
 * a lookup sees. EINVAL for a store of another backend. */
int sk_store_sqlite_set_check_ms(struct sk_store *s, uint32_t ms);

/* The default store: SQLite at dir/sipkit.db; dir is created if missing. */
int sk_store_open(struct sk_store **sp, const char *dir);
/* A store named by a URL: "" or NULL or "sqlite" is the default in data_dir (as
 * sk_store_open), "sqlite:PATH" the SQLite database file PATH. EINVAL for an
 * unknown backend or a URL without a place (no PATH and no data_dir). */
int sk_store_open_url(struct sk_store **sp, const char *url, const char *data_dir);
/* A store on the given backend (tests inject theirs here). */
int sk_store_open_with(struct sk_store **sp, const struct sk_store_ops *ops, const char *where);
void sk_store_close(struct sk_store *s);

int sk_store_user_put(struct sk_store *s, const struct sk_user_rec *u);
/* Many users in one transaction (all or none). replace = false: an existing user
 * is a conflict, EEXIST with its index in *conflict and nothing written. */
int sk_store_user_put_many(struct sk_store *s, const struct sk_user_rec *u, size_t n,
                           bool replace, size_t *conflict);
/* ENOENT if absent. Found users are cached in memory: a user added by another
 * process is seen at once, a change or deletion by another process within about
 * 100 ms, one through this handle (put/del) at once. */
int sk_store_user_get(struct sk_store *s, const char *user, const char *domain,
                      struct sk_user_rec *u);
int sk_store_user_del(struct sk_store *s, const char *user, const char *domain);

void sk_store_user_cache_stats(struct sk_store *s, struct sk_user_cache_stats *st);
int sk_store_user_list(struct sk_store *s, sk_user_fn fn, void *arg);
/* Load every user into the cache (the server does at start); how many in *loaded. */
int sk_store_user_cache_warm(struct sk_store *s, size_t *loaded);

/* Bindings are written in batches: begin, any number of put/del, commit. */
int sk_store_begin(struct sk_store *s);
int sk_store_commit(struct sk_store *s);
int sk_store_binding_put(struct sk_store *s, const struct sk_binding_rec *b);
int sk_store_binding_del(struct sk_store *s, const char *aor, const char *key);
/* Every stored binding that has not expired at now; expired ones are deleted. */
int sk_store_bindings_load(struct sk_store *s, int64_t now, sk_binding_fn fn, void *arg);

#endif
