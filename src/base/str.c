/* String slice helpers: comparison, trimming and strict number conversion. */
#include "base/str.h"

#include <errno.h>

bool sk_str_ieq(struct sk_str a, struct sk_str b)
{
    size_t i = 0;

    if (a.len != b.len)
        return false;
    /* eight bytes at a time while they match exactly (the usual case: "sip",
     * "UDP", "branch" written as the peer wrote them); a word that differs is
     * compared byte by byte, case folded */
    for (; i + 8 <= a.len; i += 8) {
        uint64_t x, y;
        memcpy(&x, a.p + i, 8);
        memcpy(&y, b.p + i, 8);
        if (x == y)
            continue;
        for (size_t k = i; k < i + 8; k++) {
            if (sk_lower(a.p[k]) != sk_lower(b.p[k]))
                return false;
        }
    }
    for (; i < a.len; i++) {
        if (a.p[i] != b.p[i] && sk_lower(a.p[i]) != sk_lower(b.p[i]))
            return false;
    }
    return true;
}

bool sk_str_iprefix(struct sk_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && sk_str_ieq(sk_str_make(s.p, n), sk_str_make(prefix, n));
}

int sk_str_to_u64(struct sk_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return EINVAL;
    if (s.len <= 19) {
        if (sk_str_digits19(s, &v))
            return EINVAL;
        if (v > max)
            return ERANGE;
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char) s.p[i] - '0';
        if (d > 9)
            return EINVAL;
        if (v > max / 10 || (v == max / 10 && d > max % 10))
            return ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int sk_str_to_u32_any(struct sk_str s, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int err = sk_str_to_u64(s, max, &v);
    if (err == 0)
        *out = (uint32_t) v;
    return err;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct sk_str sk_str_trim(struct sk_str s)
{
    while (s.len && is_ws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_ws(s.p[s.len - 1]))
        s.len--;
    return s;
}

char *sk_str_copy(char *dst, size_t cap, struct sk_str s)
{
    size_t n;

    if (cap == 0)
        return dst;
    n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
    return dst;
}
