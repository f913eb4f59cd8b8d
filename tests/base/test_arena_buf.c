/* Unit tests for the bump arena (base/arena.h) and output buffer (base/buf.h). */
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"

/* ---- helpers ---- */

static int is_aligned8(const void *p)
{
    return ((uintptr_t) p & 7u) == 0;
}

static int inside(const void *p, size_t size, const char *blk, size_t blk_size)
{
    const char *c = p;
    return c >= blk && c + size <= blk + blk_size;
}

#define ASSERT_BUF(b, want)                                                              \
    do {                                                                                 \
        struct sk_str s_ = sk_buf_str(b);                                                \
        assert_int_equal(s_.len, strlen(want));                                          \
        assert_non_null(s_.p);                                                           \
        assert_memory_equal(s_.p, (want), strlen(want));                                 \
    } while (0)

/* ---- arena ---- */

static void test_arena_inline_block_first(void **state)
{
    _Alignas(16) char blk[512];
    struct sk_arena a;
    void *p1, *p2, *p3, *p4;

    (void) state;
    sk_arena_init(&a, blk, sizeof(blk));
    assert_int_equal(a.heap_allocs, 0);

    p1 = sk_arena_alloc(&a, 1);
    p2 = sk_arena_alloc(&a, 3);
    p3 = sk_arena_alloc(&a, 8);
    p4 = sk_arena_alloc(&a, 13);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_non_null(p4);
    /* The first allocation comes from the start of the (aligned) inline block. */
    assert_ptr_equal(p1, blk);
    assert_true(inside(p1, 1, blk, sizeof(blk)));
    assert_true(inside(p2, 3, blk, sizeof(blk)));
    assert_true(inside(p3, 8, blk, sizeof(blk)));
    assert_true(inside(p4, 13, blk, sizeof(blk)));
    /* 8-byte alignment: 1 byte then 3 bytes do not share a word. */
    assert_true(is_aligned8(p1));
    assert_true(is_aligned8(p2));
    assert_true(is_aligned8(p3));
    assert_true(is_aligned8(p4));
    assert_ptr_equal((char *) p2, (char *) p1 + 8);
    assert_ptr_equal((char *) p3, (char *) p2 + 8);
    assert_ptr_equal((char *) p4, (char *) p3 + 8);
    assert_int_equal(a.heap_allocs, 0);
    assert_null(a.heap);
    sk_arena_free(&a);
}

static void test_arena_misaligned_first_block(void **state)
{
    _Alignas(16) char blk[256];
    struct sk_arena a;
    char *p;
    int i;

    (void) state;
    /* A caller block that starts at an odd address: results are still aligned. */
    sk_arena_init(&a, blk + 1, sizeof(blk) - 1);
    for (i = 0; i < 5; i++) {
        p = sk_arena_alloc(&a, (size_t) (i * 3 + 1));
        assert_non_null(p);
        assert_true(is_aligned8(p));
        assert_true(inside(p, (size_t) (i * 3 + 1), blk + 1, sizeof(blk) - 1));
    }
    assert_int_equal(a.heap_allocs, 0);
    sk_arena_free(&a);
}

static void test_arena_overflow_to_heap(void **state)
{
    _Alignas(16) char blk[64];
    struct sk_arena a;
    char *p[8], *h, *h2;
    int i;

    (void) state;
    sk_arena_init(&a, blk, sizeof(blk));
    /* Exactly fills the 64-byte block. */
    for (i = 0; i < 8; i++) {
        p[i] = sk_arena_alloc(&a, 8);
        assert_non_null(p[i]);
        assert_true(inside(p[i], 8, blk, sizeof(blk)));
        memset(p[i], 'a' + i, 8);
    }
    assert_int_equal(a.heap_allocs, 0);

    /* The next one cannot fit: a heap block. */
    h = sk_arena_alloc(&a, 24);
    assert_non_null(h);
    assert_false(inside(h, 1, blk, sizeof(blk)));
    assert_true(is_aligned8(h));
    assert_int_equal(a.heap_allocs, 1);
    assert_non_null(a.heap);
    memset(h, 'z', 24);

    /* Further small allocations use the rest of that heap block. */
    h2 = sk_arena_alloc(&a, 5);
    assert_non_null(h2);
    assert_true(is_aligned8(h2));
    assert_int_equal(a.heap_allocs, 1);
    assert_true(h2 >= h + 24 || h2 + 5 <= h);
    memset(h2, 'y', 5);

    /* Earlier memory untouched. */
    for (i = 0; i < 8; i++) {
        char want[8];
        memset(want, 'a' + i, 8);
        assert_memory_equal(p[i], want, 8);
    }
    sk_arena_free(&a);
}

static void test_arena_huge_allocation(void **state)
{
    _Alignas(16) char blk[128];
    struct sk_arena a;
    const size_t huge = (size_t) 4 << 20; /* 4 MiB: far more than any block */
    char *big, *small;
    size_t before;

    (void) state;
    sk_arena_init(&a, blk, sizeof(blk));
    assert_non_null(sk_arena_alloc(&a, 16));
    big = sk_arena_alloc(&a, huge);
    assert_non_null(big);
    assert_true(is_aligned8(big));
    assert_false(inside(big, 1, blk, sizeof(blk)));
    memset(big, 0x5a, huge); /* ASan: the whole size must be usable */
    assert_int_equal((unsigned char) big[huge - 1], 0x5a);
    assert_true(a.heap_allocs >= 1);

    before = a.heap_allocs;
    small = sk_arena_alloc(&a, 32);
    assert_non_null(small);
    assert_true(is_aligned8(small));
    assert_false(small >= big && small < big + huge);
    memset(small, 1, 32);
    assert_true(a.heap_allocs >= before);

    /* A size that cannot be represented together with a block header. */
    assert_null(sk_arena_alloc(&a, SIZE_MAX));
    sk_arena_free(&a);
}

static void test_arena_reset_reuses_first_block(void **state)
{
    _Alignas(16) char blk[64];
    struct sk_arena a;
    char *first, *again;
    size_t taken;
    int i;

    (void) state;
    sk_arena_init(&a, blk, sizeof(blk));
    first = sk_arena_alloc(&a, 8);
    assert_ptr_equal(first, blk);
    /* Several heap blocks (each freed by reset; ASan reports a leak otherwise). */
    for (i = 0; i < 5; i++)
        assert_non_null(sk_arena_alloc(&a, 5000));
    taken = a.heap_allocs;
    assert_true(taken >= 5);

    sk_arena_reset(&a);
    assert_null(a.heap);
    again = sk_arena_alloc(&a, 8);
    assert_ptr_equal(again, blk);
    /* The first block is used again: no new heap block for small allocations. */
    for (i = 1; i < 8; i++) {
        char *p = sk_arena_alloc(&a, 8);
        assert_true(inside(p, 8, blk, sizeof(blk)));
    }
    assert_int_equal(a.heap_allocs, taken);

    /* Overflow again after the reset works and is freed by sk_arena_free. */
    assert_non_null(sk_arena_alloc(&a, 100));
    assert_int_equal(a.heap_allocs, taken + 1);
    sk_arena_free(&a);
}

static void test_arena_without_first_block(void **state)
{
    struct sk_arena a;
    char *p, *q;

    (void) state;
    sk_arena_init(&a, NULL, 0);
    assert_int_equal(a.heap_allocs, 0);
    p = sk_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_true(is_aligned8(p));
    assert_int_equal(a.heap_allocs, 1);
    q = sk_arena_alloc(&a, 10);
    assert_non_null(q);
    assert_true(is_aligned8(q));
    assert_int_equal(a.heap_allocs, 1); /* same heap block */
    assert_true(q >= p + 10);
    sk_arena_reset(&a);
    assert_null(a.heap);
    p = sk_arena_alloc(&a, 10);
    assert_non_null(p);
    memset(p, 0, 10);
    assert_int_equal(a.heap_allocs, 2);
    sk_arena_free(&a);
}

static void test_arena_no_overlap(void **state)
{
    _Alignas(16) char blk[1000];
    struct sk_arena a;
    unsigned char *p[300];
    size_t sz[300];
    int i;

    (void) state;
    sk_arena_init(&a, blk, sizeof(blk));
    for (i = 0; i < 300; i++) {
        sz[i] = (size_t) (i * 37 % 211) + 1;
        p[i] = sk_arena_alloc(&a, sz[i]);
        assert_non_null(p[i]);
        assert_true(is_aligned8(p[i]));
        memset(p[i], i & 0xff, sz[i]);
    }
    for (i = 0; i < 300; i++) {
        size_t k;
        for (k = 0; k < sz[i]; k++)
            assert_int_equal(p[i][k], i & 0xff);
    }
    assert_true(a.heap_allocs > 0);
    sk_arena_free(&a);
}

/* ---- buf ---- */

static void test_buf_append_and_growth(void **state)
{
    struct sk_buf b;
    char *want;
    int i;

    (void) state;
    sk_buf_init(&b);
    assert_int_equal(b.len, 0);
    assert_false(b.failed);
    ASSERT_BUF(&b, "");

    assert_int_equal(sk_buf_append(&b, "hello", 5), 0);
    assert_int_equal(sk_buf_puts(&b, ", "), 0);
    assert_int_equal(sk_buf_put_str(&b, SK_STR_LIT("world")), 0);
    assert_int_equal(sk_buf_putc(&b, '!'), 0);
    assert_int_equal(sk_buf_append(&b, "ignored", 0), 0);
    ASSERT_BUF(&b, "hello, world!");
    assert_int_equal(b.len, 13);
    assert_true(b.cap >= b.len);

    /* Grow one byte at a time well past any initial capacity. */
    want = malloc(20001);
    assert_non_null(want);
    memcpy(want, "hello, world!", 13);
    for (i = 13; i < 20000; i++) {
        char c = (char) ('a' + i % 26);
        assert_int_equal(sk_buf_putc(&b, c), 0);
        want[i] = c;
    }
    want[20000] = '\0';
    assert_int_equal(b.len, 20000);
    assert_true(b.cap >= 20000);
    ASSERT_BUF(&b, want);
    assert_false(b.failed);
    free(want);
    sk_buf_free(&b);
}

/* A buffer that starts in the caller's storage moves to the heap when it outgrows
 * it, keeps its content, and frees only what it allocated. */
/* Hex digits without printf: the same text as %0*llx, for every width. */
static void test_buf_hex(void **state)
{
    const uint64_t vals[] = {0, 1, 0xabcdef, 0x0123456789abcdefull, UINT64_MAX};
    struct sk_buf b;
    char want[40], out[17];
    (void) state;

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        for (unsigned d = 1; d <= 16; d++) {
            uint64_t low = d == 16 ? vals[i] : vals[i] & ((1ull << (4 * d)) - 1);
            snprintf(want, sizeof(want), "%0*llx", (int) d, (unsigned long long) low);
            memset(out, 0, sizeof(out));
            sk_hex(out, vals[i], d);
            assert_string_equal(out, want);
            sk_buf_init(&b);
            assert_int_equal(sk_buf_put_hex(&b, vals[i], d), 0);
            assert_int_equal(b.len, d);
            assert_memory_equal(b.p, want, d);
            sk_buf_free(&b);
        }
    }
    sk_buf_init(&b);
    sk_buf_put_hex(&b, UINT64_MAX, 99); /* clamped to 16 */
    assert_int_equal(b.len, 16);
    sk_buf_free(&b);
}

static void test_buf_put_lower(void **state)
{
    struct sk_buf b;
    (void) state;

    sk_buf_init(&b);
    assert_int_equal(sk_buf_put_lower(&b, sk_str_cstr("Example.COM")), 0);
    assert_string_equal(b.p, "example.com");
    /* only ASCII letters change; digits, punctuation and bytes >= 0x80 do not */
    assert_int_equal(sk_buf_put_lower(&b, sk_str_cstr(":[::1]_AZ@z\xc3\x89")), 0);
    assert_string_equal(b.p, "example.com:[::1]_az@z\xc3\x89");
    assert_int_equal(sk_buf_put_lower(&b, SK_STR_NULL), 0);
    assert_int_equal(b.len, strlen("example.com:[::1]_az@z\xc3\x89"));
    sk_buf_free(&b);
    /* a limited buffer refuses what does not fit and says so */
    sk_buf_init(&b);
    b.max = 4;
    assert_int_equal(sk_buf_put_lower(&b, sk_str_cstr("ABCDEFGH")), ENOMEM);
    assert_true(b.failed);
    sk_buf_free(&b);
}

static void test_buf_extend(void **state)
{
    struct sk_buf b;
    char mem[8], *o;
    (void) state;

    /* starts in the caller's storage, moves to the heap when it grows past it */
    sk_buf_init_ext(&b, mem, sizeof(mem));
    o = sk_buf_extend(&b, 3);
    assert_non_null(o);
    memcpy(o, "abc", 3);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.p, "abc");
    o = sk_buf_extend(&b, 20);
    assert_non_null(o);
    memset(o, 'x', 20);
    assert_int_equal(b.len, 23);
    assert_int_equal(strlen(b.p), 23); /* NUL-terminated after what was added */
    assert_memory_equal(b.p, "abcxxx", 6);
    assert_non_null(sk_buf_extend(&b, 0));
    assert_int_equal(b.len, 23);
    sk_buf_free(&b);
    /* past the limit: NULL, the buffer failed, nothing counted */
    sk_buf_init(&b);
    b.max = 10;
    assert_non_null(sk_buf_extend(&b, 10));
    assert_null(sk_buf_extend(&b, 1));
    assert_true(b.failed);
    assert_int_equal(b.len, 10);
    sk_buf_free(&b);
}

static void test_buf_ext_storage(void **state)
{
    char mem[16];
    struct sk_buf b;
    (void) state;

    sk_buf_init_ext(&b, mem, sizeof(mem));
    assert_ptr_equal(b.p, mem);
    assert_int_equal(sk_buf_puts(&b, "0123456789"), 0);
    assert_ptr_equal(b.p, mem);
    ASSERT_BUF(&b, "0123456789");
    assert_int_equal(sk_buf_puts(&b, "abcde"), 0); /* 15 + NUL: still fits */
    assert_ptr_equal(b.p, mem);
    assert_int_equal(sk_buf_putc(&b, 'X'), 0);     /* now it does not */
    assert_ptr_not_equal(b.p, mem);
    assert_false(b.ext);
    ASSERT_BUF(&b, "0123456789abcdeX");
    memset(mem, '#', sizeof(mem)); /* the heap copy does not depend on mem any more */
    ASSERT_BUF(&b, "0123456789abcdeX");
    sk_buf_free(&b);

    /* set_exact in caller storage, then past it */
    sk_buf_init_ext(&b, mem, sizeof(mem));
    assert_int_equal(sk_buf_set_exact(&b, "abcdefghij", 10), 0);
    ASSERT_BUF(&b, "abcdefghij");
    assert_int_equal(sk_buf_set_exact(&b, "a longer text than sixteen", 26), 0);
    assert_false(b.ext);
    ASSERT_BUF(&b, "a longer text than sixteen");
    sk_buf_free(&b);

    /* no storage given: an ordinary buffer */
    sk_buf_init_ext(&b, NULL, 0);
    assert_false(b.ext);
    assert_int_equal(sk_buf_puts(&b, "x"), 0);
    ASSERT_BUF(&b, "x");
    sk_buf_free(&b);
}

static void test_buf_printf(void **state)
{
    struct sk_buf b;
    char big[6001];

    (void) state;
    sk_buf_init(&b);
    assert_int_equal(sk_buf_printf(&b, "%d-%s-%c", 42, "abc", 'x'), 0);
    ASSERT_BUF(&b, "42-abc-x");
    assert_int_equal(sk_buf_printf(&b, "%s", ""), 0);
    ASSERT_BUF(&b, "42-abc-x");
    assert_int_equal(sk_buf_printf(&b, "|%.*s|", 3, "abcdef"), 0);
    ASSERT_BUF(&b, "42-abc-x|abc|");

    /* A formatted piece larger than the current capacity. */
    memset(big, 'Q', 6000);
    big[6000] = '\0';
    sk_buf_reset(&b);
    assert_int_equal(sk_buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 6002);
    assert_int_equal(b.p[0], '<');
    assert_int_equal(b.p[1], 'Q');
    assert_int_equal(b.p[6000], 'Q');
    assert_int_equal(b.p[6001], '>');
    sk_buf_free(&b);
}

static void test_buf_max_limit(void **state)
{
    struct sk_buf b;

    (void) state;
    sk_buf_init(&b);
    b.max = 10;
    assert_int_equal(sk_buf_append(&b, "12345", 5), 0);
    assert_int_equal(sk_buf_puts(&b, "67890"), 0); /* exactly at the limit is fine */
    assert_false(b.failed);
    ASSERT_BUF(&b, "1234567890");

    assert_int_equal(sk_buf_putc(&b, 'x'), ENOMEM);
    assert_true(b.failed);
    ASSERT_BUF(&b, "1234567890");

    /* Once failed, every later append fails, even one that would fit. */
    assert_int_equal(sk_buf_append(&b, "", 0), ENOMEM);
    assert_int_equal(sk_buf_puts(&b, ""), ENOMEM);
    assert_int_equal(sk_buf_printf(&b, "%s", ""), ENOMEM);
    assert_int_equal(sk_buf_put_str(&b, SK_STR_LIT("")), ENOMEM);
    assert_true(b.failed);
    ASSERT_BUF(&b, "1234567890");

    /* Reset clears the content and the failure; the limit still applies. */
    sk_buf_reset(&b);
    assert_false(b.failed);
    assert_int_equal(b.len, 0);
    ASSERT_BUF(&b, "");
    assert_int_equal(sk_buf_puts(&b, "abc"), 0);
    ASSERT_BUF(&b, "abc");
    assert_int_equal(sk_buf_printf(&b, "%s", "12345678"), ENOMEM); /* 11 > 10 */
    assert_true(b.failed);
    ASSERT_BUF(&b, "abc");
    sk_buf_free(&b);
}

static void test_buf_single_oversized_append(void **state)
{
    struct sk_buf b;

    (void) state;
    sk_buf_init(&b);
    b.max = 4;
    assert_int_equal(sk_buf_append(&b, "hello", 5), ENOMEM);
    assert_true(b.failed);
    assert_int_equal(b.len, 0);
    assert_int_equal(sk_buf_putc(&b, 'a'), ENOMEM);
    sk_buf_reset(&b);
    assert_int_equal(sk_buf_append(&b, "hell", 4), 0);
    ASSERT_BUF(&b, "hell");
    sk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_inline_block_first),
        cmocka_unit_test(test_arena_misaligned_first_block),
        cmocka_unit_test(test_arena_overflow_to_heap),
        cmocka_unit_test(test_arena_huge_allocation),
        cmocka_unit_test(test_arena_reset_reuses_first_block),
        cmocka_unit_test(test_arena_without_first_block),
        cmocka_unit_test(test_arena_no_overlap),
        cmocka_unit_test(test_buf_append_and_growth),
        cmocka_unit_test(test_buf_hex),
        cmocka_unit_test(test_buf_put_lower),
        cmocka_unit_test(test_buf_extend),
        cmocka_unit_test(test_buf_ext_storage),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_buf_max_limit),
        cmocka_unit_test(test_buf_single_oversized_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
