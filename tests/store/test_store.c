/* Tests of the store's user cache: hits, writes through the handle, and changes by another connection. */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A record whose hashes name the password (the store does not check them). */
static struct sk_user_rec user_rec(const char *user, const char *domain, char pw)
{
    struct sk_user_rec u;
    memset(&u, 0, sizeof(u));
    snprintf(u.user, sizeof(u.user), "%s", user);
    snprintf(u.domain, sizeof(u.domain), "%s", domain);
    memset(u.ha1_md5, pw, 32);
    memset(u.ha1_sha256, pw, 64);
    return u;
}

static void assert_rec_equal(const struct sk_user_rec *a, const struct sk_user_rec *b)
{
    assert_string_equal(a->user, b->user);
    assert_string_equal(a->domain, b->domain);
    assert_string_equal(a->ha1_md5, b->ha1_md5);
    assert_string_equal(a->ha1_sha256, b->ha1_sha256);
}

static struct sk_user_cache_stats stats(struct sk_store *s)
{
    struct sk_user_cache_stats st;
    sk_store_user_cache_stats(s, &st);
    return st;
}

static void test_cached_hit(void **state)
{
    struct tu_datadir t;
    struct sk_store *s;
    struct sk_user_rec alice = user_rec("alice", "example.com", 'a'), got, got2;
    struct sk_user_cache_stats st0, st1;
    (void) state;

    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&s, t.path), 0);
    assert_int_equal(sk_store_user_put(s, &alice), 0);
    /* the put cached it: the first lookup is already a hit */
    st0 = stats(s);
    assert_int_equal(st0.entries, 1);
    memset(&got, 0x55, sizeof(got));
    assert_int_equal(sk_store_user_get(s, "alice", "example.com", &got), 0);
    assert_rec_equal(&got, &alice);
    st1 = stats(s);
    assert_int_equal(st1.hits, st0.hits + 1);
    assert_int_equal(st1.misses, st0.misses);

    /* a record read from SQLite is cached too, and the hit gives the same bytes */
    sk_store_close(s);
    assert_int_equal(sk_store_open(&s, t.path), 0);
    assert_int_equal(stats(s).entries, 0);
    memset(&got, 0x55, sizeof(got));
    memset(&got2, 0x55, sizeof(got2));
    assert_int_equal(sk_store_user_get(s, "alice", "example.com", &got), 0);
    st0 = stats(s);
    assert_int_equal(st0.misses, 1);
    assert_int_equal(st0.entries, 1);
    assert_int_equal(sk_store_user_get(s, "alice", "example.com", &got2), 0);
    st1 = stats(s);
    assert_int_equal(st1.hits, st0.hits + 1);
    assert_memory_equal(&got, &got2, sizeof(got)); /* untouched bytes stay untouched as well */
    assert_rec_equal(&got2, &alice);

    /* the key is user and domain, exactly */
    assert_int_equal(sk_store_user_get(s, "alice", "example.org", &got), ENOENT);
    assert_int_equal(sk_store_user_get(s, "Alice", "example.com", &got), ENOENT);
    assert_int_equal(sk_store_user_get(s, "alic", "eexample.com", &got), ENOENT);
    /* absent users are not cached */
    assert_int_equal(stats(s).entries, 1);
    {
        /* longer than sk_user_rec can hold: no cache, still answered */
        char big[300];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(sk_store_user_get(s, big, "example.com", &got), ENOENT);
        assert_int_equal(sk_store_user_get(s, "alice", big, &got), ENOENT);
    }
    sk_store_close(s);
    tu_datadir_remove(&t);
}

/* Warming loads every user: after a restart the first lookups are hits, and a
 * change by another connection still empties the cache. */
static void test_cache_warm(void **state)
{
    struct tu_datadir t;
    struct sk_store *s, *cli;
    struct sk_user_rec u, got;
    struct sk_user_cache_stats st0, st1;
    size_t loaded = 0;
    char name[32];
    (void) state;

    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&s, t.path), 0);
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "user%03d", i);
        u = user_rec(name, "example.com", (char) ('a' + i % 26));
        assert_int_equal(sk_store_user_put(s, &u), 0);
    }
    sk_store_close(s);

    assert_int_equal(sk_store_open(&s, t.path), 0);
    assert_int_equal(stats(s).entries, 0);
    assert_int_equal(sk_store_user_cache_warm(s, &loaded), 0);
    assert_int_equal(loaded, 500);
    st0 = stats(s);
    assert_int_equal(st0.entries, 500);
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "user%03d", i);
        u = user_rec(name, "example.com", (char) ('a' + i % 26));
        assert_int_equal(sk_store_user_get(s, name, "example.com", &got), 0);
        assert_rec_equal(&got, &u);
    }
    st1 = stats(s);
    assert_int_equal(st1.hits, st0.hits + 500);
    assert_int_equal(st1.misses, st0.misses);

    /* another process changes a password: seen once the check is due */
    assert_int_equal(sk_store_open(&cli, t.path), 0);
    u = user_rec("user007", "example.com", 'Z');
    assert_int_equal(sk_store_user_put(cli, &u), 0);
    sk_store_close(cli);
    sleep_ms(150);
    assert_int_equal(sk_store_user_get(s, "user007", "example.com", &got), 0);
    assert_rec_equal(&got, &u);
    sk_store_close(s);

    /* an empty database warms to nothing */
    tu_datadir_remove(&t);
    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&s, t.path), 0);
    assert_int_equal(sk_store_user_cache_warm(s, &loaded), 0);
    assert_int_equal(loaded, 0);
    sk_store_close(s);
    tu_datadir_remove(&t);
}

static void test_same_handle_writes(void **state)
{
    struct tu_datadir t;
    struct sk_store *s;
    struct sk_user_rec a1 = user_rec("bob", "example.com", '1'), a2 = a1, got;
    (void) state;

    memset(a2.ha1_md5, '2', 32);
    memset(a2.ha1_sha256, '2', 64);
    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&s, t.path), 0);
    assert_int_equal(sk_store_user_put(s, &a1), 0);
    assert_int_equal(sk_store_user_get(s, "bob", "example.com", &got), 0);
    assert_rec_equal(&got, &a1);
    /* a new password through the same handle: seen at once */
    assert_int_equal(sk_store_user_put(s, &a2), 0);
    assert_int_equal(sk_store_user_get(s, "bob", "example.com", &got), 0);
    assert_rec_equal(&got, &a2);
    assert_int_equal(stats(s).entries, 1);
    /* deleted through the same handle: gone at once */
    assert_int_equal(sk_store_user_del(s, "bob", "example.com"), 0);
    assert_int_equal(stats(s).entries, 0);
    assert_int_equal(sk_store_user_get(s, "bob", "example.com", &got), ENOENT);
    assert_int_equal(sk_store_user_del(s, "bob", "example.com"), ENOENT);
    /* and back */
    assert_int_equal(sk_store_user_put(s, &a1), 0);
    assert_int_equal(sk_store_user_get(s, "bob", "example.com", &got), 0);
    assert_rec_equal(&got, &a1);
    sk_store_close(s);
    tu_datadir_remove(&t);
}

/* A second handle is a second SQLite connection, as the `sipkit user` CLI is. */
static void test_other_connection(void **state)
{
    struct tu_datadir t;
    struct sk_store *srv, *cli;
    struct sk_user_rec carol = user_rec("carol", "example.com", 'c'), carol2 = carol;
    struct sk_user_rec dave = user_rec("dave", "example.com", 'd'), got;
    struct sk_binding_rec b = {.aor = "sip:carol@example.com", .key = "k", .uri = "sip:c@h",
                               .q = -1, .expires_at = 4000000000};
    uint64_t clears;
    (void) state;

    memset(carol2.ha1_md5, 'C', 32);
    memset(carol2.ha1_sha256, 'C', 64);
    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&srv, t.path), 0);
    assert_int_equal(sk_store_open(&cli, t.path), 0);
    assert_int_equal(sk_store_user_put(cli, &carol), 0);
    /* added elsewhere: the server sees it at once (a miss always asks SQLite) */
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_rec_equal(&got, &carol);
    assert_int_equal(stats(srv).entries, 1);
    assert_int_equal(sk_store_user_get(srv, "dave", "example.com", &got), ENOENT);
    assert_int_equal(sk_store_user_put(cli, &dave), 0);
    assert_int_equal(sk_store_user_get(srv, "dave", "example.com", &got), 0);
    assert_rec_equal(&got, &dave);

    /* our own commits on the server's connection (a binding batch) keep the cache */
    sleep_ms(150);
    /* this lookup checks data_version (moved by cli's puts: the cache is emptied) */
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_int_equal(sk_store_user_get(srv, "dave", "example.com", &got), 0);
    assert_int_equal(stats(srv).entries, 2);
    clears = stats(srv).clears;
    assert_int_equal(sk_store_begin(srv), 0);
    assert_int_equal(sk_store_binding_put(srv, &b), 0);
    assert_int_equal(sk_store_commit(srv), 0);
    sleep_ms(150);
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_int_equal(stats(srv).clears, clears);
    assert_int_equal(stats(srv).entries, 2);

    /* a new password elsewhere: before the next check the cached record (the
     * check is an hour away), once a check is due the new one */
    assert_int_equal(sk_store_sqlite_set_check_ms(srv, 3600 * 1000), 0);
    assert_int_equal(sk_store_user_put(cli, &carol2), 0);
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_rec_equal(&got, &carol);
    assert_int_equal(stats(srv).clears, clears);
    assert_int_equal(sk_store_sqlite_set_check_ms(srv, 100), 0);
    sleep_ms(150);
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_rec_equal(&got, &carol2);
    assert_true(stats(srv).clears > clears);

    /* deleted elsewhere: gone after the interval */
    assert_int_equal(sk_store_user_get(srv, "dave", "example.com", &got), 0);
    assert_int_equal(sk_store_user_del(cli, "dave", "example.com"), 0);
    sleep_ms(150);
    assert_int_equal(sk_store_user_get(srv, "dave", "example.com", &got), ENOENT);
    assert_int_equal(sk_store_user_get(srv, "carol", "example.com", &got), 0);
    assert_rec_equal(&got, &carol2);

    sk_store_close(cli);
    sk_store_close(srv);
    tu_datadir_remove(&t);
}

/* Lookups on several threads while the same handle changes the users. */
struct reader {
    struct sk_store *s;
    int bad;
};

static void *reader_thread(void *arg)
{
    struct reader *r = arg;
    struct sk_user_rec got;
    char name[16];

    for (int i = 0; i < 4000; i++) {
        snprintf(name, sizeof(name), "u%d", i % 40);
        int rc = sk_store_user_get(r->s, name, "example.com", &got);
        if (rc == 0 && (strcmp(got.user, name) != 0 || strlen(got.ha1_md5) != 32 ||
                        got.ha1_md5[0] != got.ha1_sha256[63]))
            r->bad++;
        else if (rc != 0 && rc != ENOENT)
            r->bad++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct tu_datadir t;
    struct sk_store *s;
    pthread_t th[2];
    struct reader r[2];
    char name[16];
    (void) state;

    tu_datadir_make(&t, "sipkit-store");
    assert_int_equal(sk_store_open(&s, t.path), 0);
    for (int i = 0; i < 40; i += 2) {
        snprintf(name, sizeof(name), "u%d", i);
        struct sk_user_rec u = user_rec(name, "example.com", 'a');
        assert_int_equal(sk_store_user_put(s, &u), 0);
    }
    for (int i = 0; i < 2; i++) {
        r[i] = (struct reader){s, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &r[i]), 0);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "u%d", i % 40);
        struct sk_user_rec u = user_rec(name, "example.com", (char) ('a' + i % 26));
        if (i % 3 == 0)
            sk_store_user_del(s, name, "example.com");
        else
            assert_int_equal(sk_store_user_put(s, &u), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].bad, 0);
    }
    sk_store_close(s);
    tu_datadir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_hit),
        cmocka_unit_test(test_cache_warm),
        cmocka_unit_test(test_same_handle_writes),
        cmocka_unit_test(test_other_connection),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
