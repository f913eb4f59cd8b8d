/* The store interface: choosing a backend by URL, and each call dispatched through its
 * function table. */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"

/* The backends a store URL may name. */
static const struct sk_store_ops *const backends[] = {
    &sk_store_sqlite_ops,
};

int sk_store_open_with(struct sk_store **sp, const struct sk_store_ops *ops,
                       const char *where)
{
    struct sk_store *s = NULL;
    int err;

    if (!ops || !ops->open) return EINVAL;
    if ((err = ops->open(&s, where))) return err;
    s->ops = ops;
    *sp = s;
    return 0;
}

int sk_store_open(struct sk_store **sp, const char *dir)
{
    char path[4096];

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return errno;
    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, SK_STORE_DB_NAME) >=
        sizeof(path))
        return ENAMETOOLONG;
    return sk_store_open_with(sp, &sk_store_sqlite_ops, path);
}

int sk_store_open_url(struct sk_store **sp, const char *url, const char *data_dir)
{
    const char *colon;
    size_t nlen;

    if (!url || !*url || strcmp(url, "sqlite") == 0) {
        if (!data_dir || !*data_dir) {
            SK_ERROR("store: %s names no database and there is no data directory",
                     url && *url ? url : "the default store");
            return EINVAL;
        }
        return sk_store_open(sp, data_dir);
    }
    colon = strchr(url, ':');
    nlen = colon ? (size_t) (colon - url) : strlen(url);
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        const struct sk_store_ops *ops = backends[i];
        if (strlen(ops->name) != nlen || strncmp(ops->name, url, nlen) != 0) continue;
        if (!colon || !colon[1]) {
            SK_ERROR("store: %s: no place after the backend's name", url);
            return EINVAL;
        }
        return sk_store_open_with(sp, ops, colon + 1);
    }
    SK_ERROR("store: %s: unknown backend (known: sqlite)", url);
    return EINVAL;
}

void sk_store_close(struct sk_store *s)
{
    if (s) s->ops->close(s);
}

int sk_store_user_put(struct sk_store *s, const struct sk_user_rec *u)
{
    return s->ops->user_put(s, u);
}

int sk_store_user_put_many(struct sk_store *s, const struct sk_user_rec *u, size_t n,
                           bool replace, size_t *conflict)
{
    return s->ops->user_put_many(s, u, n, replace, conflict);
}

int sk_store_user_get(struct sk_store *s, const char *user, const char *domain,
                      struct sk_user_rec *u)
{
    return s->ops->user_get(s, user, domain, u);
}

int sk_store_user_del(struct sk_store *s, const char *user, const char *domain)
{
    return s->ops->user_del(s, user, domain);
}

void sk_store_user_cache_stats(struct sk_store *s, struct sk_user_cache_stats *st)
{
    if (s->ops->user_cache_stats)
        s->ops->user_cache_stats(s, st);
    else
        memset(st, 0, sizeof(*st));
}

int sk_store_user_list(struct sk_store *s, sk_user_fn fn, void *arg)
{
    return s->ops->user_list(s, fn, arg);
}

int sk_store_user_cache_warm(struct sk_store *s, size_t *loaded)
{
    if (s->ops->user_cache_warm) return s->ops->user_cache_warm(s, loaded);
    if (loaded) *loaded = 0;
    return 0;
}

int sk_store_begin(struct sk_store *s)
{
    return s->ops->batch_begin(s);
}

int sk_store_commit(struct sk_store *s)
{
    return s->ops->batch_commit(s);
}

int sk_store_binding_put(struct sk_store *s, const struct sk_binding_rec *b)
{
    return s->ops->binding_put(s, b);
}

int sk_store_binding_del(struct sk_store *s, const char *aor, const char *key)
{
    return s->ops->binding_del(s, aor, key);
}

int sk_store_bindings_load(struct sk_store *s, int64_t now, sk_binding_fn fn, void *arg)
{
    return s->ops->binding_load_all(s, now, fn, arg);
}
