/* base/hash.h: deterministic, every byte and field boundary matters, and the low
 * bits (table indexes) spread keys evenly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"

static void test_hash_bytes(void **state)
{
    (void) state;
    const char *s = "sip:alice@example.com;transport=tcp";
    size_t n = strlen(s);

    assert_true(sk_hash(s, n) == sk_hash(s, n));
    /* each length from 0 to n differs (the tail word and the length count) */
    for (size_t i = 0; i < n; i++)
        assert_true(sk_hash(s, i) != sk_hash(s, i + 1));
    /* every byte position, in full words and in the tail */
    for (size_t i = 0; i < n; i++) {
        char c[64];
        memcpy(c, s, n);
        c[i] ^= 0x20;
        assert_true(sk_hash(c, n) != sk_hash(s, n));
    }
    /* zero bytes in the tail are not the same as no bytes */
    assert_true(sk_hash("a\0", 2) != sk_hash("a", 1));
    /* fields: "ab"+"c" differs from "a"+"bc", and the order matters */
    uint64_t h1 = sk_hash_bytes(sk_hash_bytes(sk_hash_init(), "ab", 2), "c", 1);
    uint64_t h2 = sk_hash_bytes(sk_hash_bytes(sk_hash_init(), "a", 1), "bc", 2);
    uint64_t h3 = sk_hash_bytes(sk_hash_bytes(sk_hash_init(), "c", 1), "ab", 2);
    assert_true(sk_hash_final(h1) != sk_hash_final(h2));
    assert_true(sk_hash_final(h1) != sk_hash_final(h3));
    assert_true(sk_hash_final(sk_hash_u64(sk_hash_init(), 5060)) !=
                sk_hash_final(sk_hash_u64(sk_hash_init(), 5061)));
}

/* 20,000 keys that differ in a few characters, into 256 buckets by the low
 * bits: each bucket within 50% of the mean (78); FNV without mixing fails this
 * for some key shapes. */
static void test_hash_spread(void **state)
{
    (void) state;
    static unsigned count[256];
    char key[64];
    unsigned lo = UINT32_MAX, hi = 0;

    memset(count, 0, sizeof(count));
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(key, sizeof(key), "user%05d@bench.test", i);
        count[sk_hash(key, (size_t) n) & 255]++;
    }
    for (int i = 0; i < 256; i++) {
        lo = count[i] < lo ? count[i] : lo;
        hi = count[i] > hi ? count[i] : hi;
    }
    assert_true(lo > 39);
    assert_true(hi < 118);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_bytes),
        cmocka_unit_test(test_hash_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
