/* String slices: a pointer and a length into someone else's buffer, never owned. */
#ifndef SK_BASE_STR_H
#define SK_BASE_STR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sk_str {
    const char *p;
    size_t len;
};

#define SK_STR_LIT(lit) ((struct sk_str){(lit), sizeof(lit) - 1})
#define SK_STR_NULL ((struct sk_str){NULL, 0})
/* printf("%.*s", SK_STR_FMT(s)) */
#define SK_STR_FMT(s) (int) (s).len, (s).p

static inline struct sk_str sk_str_make(const char *p, size_t len)
{
    struct sk_str s = {p, len};
    return s;
}

static inline struct sk_str sk_str_cstr(const char *s)
{
    return sk_str_make(s, s ? strlen(s) : 0);
}

/* A slice is "set" when it points somewhere, even if empty (e.g. "branch="). */
static inline bool sk_str_isset(struct sk_str s)
{
    return s.p != NULL;
}

static inline bool sk_str_eq(struct sk_str a, struct sk_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline char sk_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c + 32) : c;
}

bool sk_str_ieq(struct sk_str a, struct sk_str b);

/* Inline so that a literal's length is known at compile time and a slice of
 * another length is refused without a call (parsers compare names all day). */
static inline bool sk_str_ieq_cstr(struct sk_str a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return a.len == n && sk_str_ieq(a, sk_str_make(s, n));
}

static inline bool sk_str_eq_cstr(struct sk_str a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}
/* Case-insensitive prefix test. */
bool sk_str_iprefix(struct sk_str s, const char *prefix);

/* Parse an unsigned decimal number made only of digits (no sign, no space).
 * Returns 0, EINVAL (empty or non-digit) or ERANGE (greater than max). */
int sk_str_to_u64(struct sk_str s, uint64_t max, uint64_t *out);
int sk_str_to_u32_any(struct sk_str s, uint32_t max, uint32_t *out);
/* The value of 1 to 19 digits (which cannot overflow 64 bits, so no range test
 * per digit); EINVAL at a non-digit. The fast path of the two parsers. */
static inline int sk_str_digits19(struct sk_str s, uint64_t *out)
{
    uint64_t v = 0;

    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char) s.p[i] - '0';
        if (d > 9)
            return EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Inline for up to 9 digits (ports, CSeq numbers, lengths: several per request). */
static inline int sk_str_to_u32(struct sk_str s, uint32_t max, uint32_t *out)
{
    uint64_t v;

    if (s.len == 0 || s.len > 9)
        return sk_str_to_u32_any(s, max, out);
    if (sk_str_digits19(s, &v))
        return EINVAL;
    if (v > max)
        return ERANGE;
    *out = (uint32_t) v;
    return 0;
}

/* Slice with SP, HTAB, CR and LF removed from both ends. */
struct sk_str sk_str_trim(struct sk_str s);

/* Copy into a NUL-terminated C string; truncates to cap-1. Returns dst. */
char *sk_str_copy(char *dst, size_t cap, struct sk_str s);

/* Find a byte; NULL if absent. */
static inline const char *sk_str_chr(struct sk_str s, char c)
{
    return s.len ? (const char *) memchr(s.p, c, s.len) : NULL;
}

#endif
