/* Tests of the size-class pool in base/pool.h: classes, reuse, alignment, big objects, threads. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

#include "base/pool.h"

static void test_pool_sizes_and_reuse(void **state)
{
    (void) state;
    struct sk_pool p;
    void *obj[SK_POOL_MAX_OBJ + 1];

    sk_pool_init(&p);
    /* every size from 0 to the largest class: aligned, writable, disjoint */
    for (size_t n = 0; n <= SK_POOL_MAX_OBJ; n++) {
        obj[n] = sk_pool_alloc(&p, n);
        assert_non_null(obj[n]);
        assert_int_equal((uintptr_t) obj[n] % 16, 0);
        memset(obj[n], (int) (n & 0xff), n);
    }
    assert_int_equal(p.live, SK_POOL_MAX_OBJ + 1);
    for (size_t n = 1; n <= SK_POOL_MAX_OBJ; n++) {
        const unsigned char *c = obj[n];
        assert_int_equal(c[0], n & 0xff);
        assert_int_equal(c[n - 1], n & 0xff);
    }
    size_t mapped = p.chunk_bytes;
    /* freed objects are handed out again before any new chunk is mapped */
    for (size_t n = 0; n <= SK_POOL_MAX_OBJ; n++)
        sk_pool_free(&p, obj[n]);
    assert_int_equal(p.live, 0);
    for (size_t n = 0; n <= SK_POOL_MAX_OBJ; n++)
        assert_non_null(obj[n] = sk_pool_alloc(&p, n));
    assert_int_equal(p.chunk_bytes, mapped);
    /* the same size gets the slot just freed */
    void *a = obj[100];
    sk_pool_free(&p, a);
    assert_ptr_equal(sk_pool_alloc(&p, 100), a);
    sk_pool_free(&p, NULL);
    sk_pool_destroy(&p);
}

static void test_pool_big(void **state)
{
    (void) state;
    struct sk_pool p;

    sk_pool_init(&p);
    char *b = sk_pool_alloc(&p, SK_POOL_MAX_OBJ + 1);
    assert_non_null(b);
    assert_int_equal((uintptr_t) b % 16, 0);
    memset(b, 'x', SK_POOL_MAX_OBJ + 1);
    assert_int_equal(p.chunk_bytes, 0); /* from malloc, not from a chunk */
    sk_pool_free(&p, b);
    sk_pool_destroy(&p);
}

/* Many objects of one size fill chunks densely: the overhead is the 16-byte header. */
static void test_pool_density(void **state)
{
    (void) state;
    struct sk_pool p;
    enum { N = 100000, SZ = 240 };

    sk_pool_init(&p);
    for (int i = 0; i < N; i++)
        assert_non_null(sk_pool_alloc(&p, SZ));
    assert_true(p.chunk_bytes <= (size_t) N * (SZ + 16) + 2 * SK_POOL_CHUNK);
    sk_pool_destroy(&p); /* gives every chunk back, live objects included */
}

struct thr {
    struct sk_pool *p;
    unsigned seed;
};

static void *churn(void *arg)
{
    struct thr *t = arg;
    void *held[64] = {0};

    for (int i = 0; i < 20000; i++) {
        unsigned k = (t->seed = t->seed * 1103515245u + 12345u) >> 16;
        unsigned slot = k % 64;
        sk_pool_free(t->p, held[slot]);
        held[slot] = sk_pool_alloc(t->p, k % 700);
        if (held[slot])
            memset(held[slot], (int) slot, k % 700);
    }
    for (int i = 0; i < 64; i++)
        sk_pool_free(t->p, held[i]);
    return NULL;
}

static void test_pool_threads(void **state)
{
    (void) state;
    struct sk_pool p;
    pthread_t th[4];
    struct thr t[4];

    sk_pool_init(&p);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){&p, (unsigned) i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, churn, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(p.live, 0);
    sk_pool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_sizes_and_reuse),
        cmocka_unit_test(test_pool_big),
        cmocka_unit_test(test_pool_density),
        cmocka_unit_test(test_pool_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
