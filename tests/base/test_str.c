/* Tests of the slice helpers in base/str.h: compare, prefix, numbers, trim, copy. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

#include "base/str.h"

/* A slice whose last byte is followed by an unreadable page. */
static struct sk_str guarded(struct tu_guard *g, const char *s)
{
    size_t n = strlen(s);
    const char *p = tu_guard_copy(g, s, n);
    assert_non_null(p);
    return sk_str_make(p, n);
}

static void test_str_basics(void **state)
{
    (void) state;
    struct sk_str s = SK_STR_LIT("abc");

    assert_int_equal(s.len, 3);
    assert_memory_equal(s.p, "abc", 3);
    assert_false(sk_str_isset(SK_STR_NULL));
    assert_int_equal(SK_STR_NULL.len, 0);
    assert_true(sk_str_isset(SK_STR_LIT("")));
    assert_int_equal(sk_str_cstr(NULL).len, 0);
    assert_null(sk_str_cstr(NULL).p);
    assert_int_equal(sk_str_cstr("hello").len, 5);

    assert_true(sk_str_eq(SK_STR_LIT("abc"), sk_str_make("abcdef", 3)));
    assert_false(sk_str_eq(SK_STR_LIT("abc"), SK_STR_LIT("ABC")));
    assert_true(sk_str_eq(SK_STR_NULL, SK_STR_LIT("")));

    assert_ptr_equal(sk_str_chr(s, 'b'), s.p + 1);
    assert_null(sk_str_chr(s, 'z'));
    assert_null(sk_str_chr(sk_str_make("abcz", 3), 'z'));
    assert_null(sk_str_chr(SK_STR_NULL, 'a'));

    assert_int_equal(sk_lower('A'), 'a');
    assert_int_equal(sk_lower('Z'), 'z');
    assert_int_equal(sk_lower('a'), 'a');
    assert_int_equal(sk_lower('@'), '@');
    assert_int_equal(sk_lower('['), '[');
}

static void test_str_ieq(void **state)
{
    (void) state;

    assert_true(sk_str_ieq(SK_STR_LIT("Hello"), SK_STR_LIT("hELLO")));
    assert_true(sk_str_ieq(SK_STR_LIT("Content-Length"), SK_STR_LIT("content-length")));
    assert_true(sk_str_ieq(SK_STR_LIT("abc"), SK_STR_LIT("abc")));
    assert_true(sk_str_ieq(SK_STR_LIT(""), SK_STR_LIT("")));
    assert_true(sk_str_ieq(SK_STR_NULL, SK_STR_LIT("")));
    assert_true(sk_str_ieq(SK_STR_NULL, SK_STR_NULL));
    assert_false(sk_str_ieq(SK_STR_LIT("abc"), SK_STR_LIT("abd")));
    assert_false(sk_str_ieq(SK_STR_LIT("abc"), SK_STR_LIT("ab")));
    assert_false(sk_str_ieq(SK_STR_LIT("ab"), SK_STR_LIT("abc")));
    assert_false(sk_str_ieq(SK_STR_LIT("a"), SK_STR_LIT("")));
    /* only ASCII letters fold: '@' (0x40) vs '`' (0x60), '[' vs '{', ']' vs '}' */
    assert_false(sk_str_ieq(SK_STR_LIT("@"), SK_STR_LIT("`")));
    assert_false(sk_str_ieq(SK_STR_LIT("["), SK_STR_LIT("{")));
    assert_false(sk_str_ieq(SK_STR_LIT("]"), SK_STR_LIT("}")));
    assert_false(sk_str_ieq(SK_STR_LIT("^"), SK_STR_LIT("~")));
    assert_false(sk_str_ieq(SK_STR_LIT("\xC4"), SK_STR_LIT("\xE4")));
    assert_false(sk_str_ieq(SK_STR_LIT("1"), SK_STR_LIT("\x11")));
    /* longer than a word: exact words are skipped, a word that differs is
     * folded byte by byte, and a difference in any word or the tail is found */
    assert_true(sk_str_ieq(SK_STR_LIT("z9hG4bK-abcdefgh-0123"), SK_STR_LIT("z9hG4bK-abcdefgh-0123")));
    assert_true(sk_str_ieq(SK_STR_LIT("Z9HG4BK-ABCDEFGH-0123"), SK_STR_LIT("z9hG4bK-abcdefgh-0123")));
    assert_true(sk_str_ieq(SK_STR_LIT("z9hG4bK-abCDefgh-0123"), SK_STR_LIT("z9hG4bK-abcdefgh-0123")));
    for (size_t i = 0; i < 21; i++) {
        char a[] = "z9hG4bK-abcdefgh-0123", b[] = "z9hG4bK-abcdefgh-0123";
        b[i] = b[i] == '-' ? '\r' : (char) (b[i] ^ 0x01);
        assert_false(sk_str_ieq(sk_str_make(a, 21), sk_str_make(b, 21)));
        b[i] = a[i] == '-' ? '\r' : (char) (a[i] ^ 0x20); /* a letter's other case, else no letter */
        assert_int_equal(sk_str_ieq(sk_str_make(a, 21), sk_str_make(b, 21)),
                         (a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z'));
    }
    /* lengths matter, not NUL terminators */
    assert_true(sk_str_ieq(sk_str_make("ABCxyz", 3), sk_str_make("abcXYZ", 3)));
    assert_false(sk_str_ieq(sk_str_make("a\0b", 3), sk_str_make("a\0c", 3)));
    assert_true(sk_str_ieq(sk_str_make("a\0B", 3), sk_str_make("A\0b", 3)));

    assert_true(sk_str_ieq_cstr(SK_STR_LIT("INVITE"), "invite"));
    assert_false(sk_str_ieq_cstr(SK_STR_LIT("INVITE"), "invites"));
    assert_true(sk_str_eq_cstr(SK_STR_LIT("INVITE"), "INVITE"));
    assert_false(sk_str_eq_cstr(SK_STR_LIT("INVITE"), "invite"));
    assert_false(sk_str_eq_cstr(SK_STR_LIT("INVITE"), "INVIT"));
}

static void test_str_iprefix(void **state)
{
    (void) state;
    struct tu_guard g = {0};

    assert_true(sk_str_iprefix(SK_STR_LIT("Content-Type: x"), "content-type"));
    assert_true(sk_str_iprefix(SK_STR_LIT("SIP/2.0"), "sip/"));
    assert_true(sk_str_iprefix(SK_STR_LIT("abc"), "ABC"));
    assert_true(sk_str_iprefix(SK_STR_LIT("abc"), ""));
    assert_true(sk_str_iprefix(SK_STR_LIT(""), ""));
    assert_true(sk_str_iprefix(SK_STR_NULL, ""));
    assert_false(sk_str_iprefix(SK_STR_LIT("abc"), "abcd"));
    assert_false(sk_str_iprefix(SK_STR_LIT(""), "a"));
    assert_false(sk_str_iprefix(SK_STR_NULL, "a"));
    assert_false(sk_str_iprefix(SK_STR_LIT("xabc"), "abc"));
    assert_false(sk_str_iprefix(SK_STR_LIT("@bc"), "`bc"));
    /* the slice length bounds the test, not the bytes after it */
    assert_false(sk_str_iprefix(sk_str_make("sips", 3), "sips"));
    assert_true(sk_str_iprefix(sk_str_make("sips", 3), "SIP"));

    /* a short slice at the end of readable memory: no read past it */
    struct sk_str s = guarded(&g, "si");
    assert_false(sk_str_iprefix(s, "sip:"));
    assert_true(sk_str_iprefix(s, "SI"));
    tu_guard_free(&g);
}

static void test_str_to_u32(void **state)
{
    (void) state;
    uint32_t v;

    v = 77;
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("0"), UINT32_MAX, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("5060"), UINT32_MAX, &v), 0);
    assert_int_equal(v, 5060);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("4294967295"), UINT32_MAX, &v), 0);
    assert_int_equal(v, 4294967295u);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("007"), UINT32_MAX, &v), 0);
    assert_int_equal(v, 7);
    /* many leading zeros are not an overflow */
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("000000000000000000000000001"), 1, &v), 0);
    assert_int_equal(v, 1);

    /* ERANGE: greater than max, including values that would wrap */
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("4294967296"), UINT32_MAX, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("4294967300"), UINT32_MAX, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("10000000000"), UINT32_MAX, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("18446744073709551616"), UINT32_MAX, &v),
                     ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("99999999999999999999999"), UINT32_MAX, &v),
                     ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("65535"), 65535, &v), 0);
    assert_int_equal(v, 65535);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("65536"), 65535, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("70"), 69, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("69"), 69, &v), 0);
    assert_int_equal(v, 69);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("0"), 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("1"), 0, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("10"), 9, &v), ERANGE);
    /* a single digit above max */
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("7"), 5, &v), ERANGE);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("0009"), 5, &v), ERANGE);

    /* EINVAL: empty or any non-digit */
    assert_int_equal(sk_str_to_u32(SK_STR_LIT(""), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_NULL, UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("12a"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("a12"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("-1"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("+1"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT(" 1"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("1 "), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("1.0"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("0x10"), UINT32_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("1/"), UINT32_MAX, &v), EINVAL); /* '0'-1 */
    assert_int_equal(sk_str_to_u32(SK_STR_LIT("1:"), UINT32_MAX, &v), EINVAL); /* '9'+1 */
    assert_int_equal(sk_str_to_u32(sk_str_make("1\0", 2), UINT32_MAX, &v), EINVAL);

    /* only the slice is read */
    assert_int_equal(sk_str_to_u32(sk_str_make("123456", 3), UINT32_MAX, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(sk_str_to_u32(sk_str_make("12x", 2), UINT32_MAX, &v), 0);
    assert_int_equal(v, 12);

    struct tu_guard g = {0};
    assert_int_equal(sk_str_to_u32(guarded(&g, "4294967295"), UINT32_MAX, &v), 0);
    assert_int_equal(v, 4294967295u);
    tu_guard_free(&g);
}

static void test_str_to_u64(void **state)
{
    (void) state;
    uint64_t v;

    assert_int_equal(sk_str_to_u64(SK_STR_LIT("0"), UINT64_MAX, &v), 0);
    assert_true(v == 0);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("4294967296"), UINT64_MAX, &v), 0);
    assert_true(v == 4294967296ull);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("18446744073709551615"), UINT64_MAX, &v),
                     0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("18446744073709551614"), UINT64_MAX, &v),
                     0);
    assert_true(v == UINT64_MAX - 1);

    assert_int_equal(sk_str_to_u64(SK_STR_LIT("18446744073709551616"), UINT64_MAX, &v),
                     ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("18446744073709551620"), UINT64_MAX, &v),
                     ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("99999999999999999999"), UINT64_MAX, &v),
                     ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("36893488147419103232"), UINT64_MAX, &v),
                     ERANGE); /* 2^65: wraps to 0 */
    assert_int_equal(
        sk_str_to_u64(SK_STR_LIT("100000000000000000000000000"), UINT64_MAX, &v), ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("4294967296"), UINT32_MAX, &v), ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("4294967295"), UINT32_MAX, &v), 0);
    assert_true(v == 4294967295ull);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("1000"), 999, &v), ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("999"), 999, &v), 0);
    assert_true(v == 999);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("1"), 0, &v), ERANGE);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("9"), 8, &v), ERANGE);

    assert_int_equal(sk_str_to_u64(SK_STR_LIT(""), UINT64_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u64(SK_STR_NULL, UINT64_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("1e3"), UINT64_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("-0"), UINT64_MAX, &v), EINVAL);
    assert_int_equal(sk_str_to_u64(SK_STR_LIT("\t5"), UINT64_MAX, &v), EINVAL);

    assert_int_equal(sk_str_to_u64(sk_str_make("987654321", 4), UINT64_MAX, &v), 0);
    assert_true(v == 9876);
}

static void test_str_trim(void **state)
{
    (void) state;
    static const char text[] = "  \t\r\nabc \r\n\t ";
    struct sk_str in = SK_STR_LIT(text);
    struct sk_str t = sk_str_trim(in);

    assert_ptr_equal(t.p, text + 5);
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.p, "abc", 3);

    /* inner whitespace is kept */
    t = sk_str_trim(SK_STR_LIT(" a b\tc "));
    assert_int_equal(t.len, 5);
    assert_memory_equal(t.p, "a b\tc", 5);

    /* nothing to trim: the same slice */
    in = SK_STR_LIT("abc");
    t = sk_str_trim(in);
    assert_ptr_equal(t.p, in.p);
    assert_int_equal(t.len, 3);

    /* only whitespace, or empty: empty result */
    t = sk_str_trim(SK_STR_LIT(" \t\r\n "));
    assert_int_equal(t.len, 0);
    t = sk_str_trim(SK_STR_LIT(""));
    assert_int_equal(t.len, 0);
    t = sk_str_trim(SK_STR_NULL);
    assert_int_equal(t.len, 0);

    /* only SP, HTAB, CR and LF are trimmed */
    t = sk_str_trim(SK_STR_LIT("\vabc\f"));
    assert_int_equal(t.len, 5);
    t = sk_str_trim(SK_STR_LIT("\0abc\0"));
    assert_int_equal(t.len, 5);
    t = sk_str_trim(SK_STR_LIT("\xA0x\xA0"));
    assert_int_equal(t.len, 3);

    /* one side only */
    t = sk_str_trim(SK_STR_LIT("  x"));
    assert_int_equal(t.len, 1);
    assert_int_equal(t.p[0], 'x');
    t = sk_str_trim(SK_STR_LIT("x\r\n"));
    assert_int_equal(t.len, 1);
    assert_int_equal(t.p[0], 'x');

    /* the slice bounds the trim: the space after it is not part of it */
    t = sk_str_trim(sk_str_make(" ab cd", 4));
    assert_int_equal(t.len, 2);
    assert_memory_equal(t.p, "ab", 2);

    struct tu_guard g = {0};
    t = sk_str_trim(guarded(&g, "   "));
    assert_int_equal(t.len, 0);
    tu_guard_free(&g);
}

static void test_str_copy(void **state)
{
    (void) state;
    char buf[16];

    /* fits */
    memset(buf, 'X', sizeof(buf));
    assert_ptr_equal(sk_str_copy(buf, sizeof(buf), SK_STR_LIT("abcdef")), buf);
    assert_string_equal(buf, "abcdef");
    assert_int_equal(buf[7], 'X');

    /* exactly cap - 1 */
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, 7, SK_STR_LIT("abcdef"));
    assert_string_equal(buf, "abcdef");
    assert_int_equal(buf[7], 'X');

    /* truncated to cap - 1, nothing written past cap */
    memset(buf, 'X', sizeof(buf));
    assert_ptr_equal(sk_str_copy(buf, 4, SK_STR_LIT("abcdef")), buf);
    assert_string_equal(buf, "abc");
    assert_int_equal(buf[4], 'X');

    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, 6, SK_STR_LIT("abcdef"));
    assert_string_equal(buf, "abcde");
    assert_int_equal(buf[6], 'X');

    /* cap 1: empty string */
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, 1, SK_STR_LIT("abcdef"));
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');

    /* cap 0: nothing written at all */
    memset(buf, 'X', sizeof(buf));
    assert_ptr_equal(sk_str_copy(buf, 0, SK_STR_LIT("abcdef")), buf);
    assert_int_equal(buf[0], 'X');

    /* empty and unset slices give "" */
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, sizeof(buf), SK_STR_LIT(""));
    assert_string_equal(buf, "");
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, sizeof(buf), SK_STR_NULL);
    assert_string_equal(buf, "");

    /* only the slice is copied, not up to a NUL */
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, sizeof(buf), sk_str_make("hello world", 5));
    assert_string_equal(buf, "hello");

    struct tu_guard g = {0};
    memset(buf, 'X', sizeof(buf));
    sk_str_copy(buf, sizeof(buf), guarded(&g, "edge"));
    assert_string_equal(buf, "edge");
    tu_guard_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_basics),  cmocka_unit_test(test_str_ieq),
        cmocka_unit_test(test_str_iprefix), cmocka_unit_test(test_str_to_u32),
        cmocka_unit_test(test_str_to_u64),  cmocka_unit_test(test_str_trim),
        cmocka_unit_test(test_str_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
