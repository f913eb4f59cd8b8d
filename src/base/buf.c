/* Growable output buffer. */
#include "base/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sk_buf_init(struct sk_buf *b)
{
    b->p = NULL;
    b->len = b->cap = b->max = 0;
    b->failed = false;
    b->ext = false;
}

void sk_buf_init_ext(struct sk_buf *b, char *mem, size_t cap)
{
    sk_buf_init(b);
    if (mem && cap) {
        b->p = mem;
        b->cap = cap;
        b->ext = true;
        mem[0] = '\0';
    }
}

void sk_buf_free(struct sk_buf *b)
{
    if (!b->ext)
        free(b->p);
    sk_buf_init(b);
}

/* Give the buffer storage of its own of ncap bytes, keeping the content. */
static char *own(struct sk_buf *b, size_t ncap)
{
    char *np;

    if (!b->ext)
        return realloc(b->p, ncap);
    np = malloc(ncap);
    if (np && b->p)
        memcpy(np, b->p, b->len + 1 < ncap ? b->len + 1 : ncap);
    if (np)
        b->ext = false;
    return np;
}

void sk_buf_reset(struct sk_buf *b)
{
    b->len = 0;
    b->failed = false;
}

static int reserve(struct sk_buf *b, size_t extra)
{
    size_t need, ncap;
    char *np;

    if (b->failed)
        return ENOMEM;
    if (extra > SIZE_MAX - b->len - 1)
        goto fail;
    need = b->len + extra + 1; /* keep room for a NUL */
    if (b->max && need > b->max + 1)
        goto fail;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 1024; /* a typical SIP message fits at once */
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    np = own(b, ncap);
    if (!np)
        goto fail;
    b->p = np;
    b->cap = ncap;
    return 0;
fail:
    b->failed = true;
    return ENOMEM;
}

int sk_buf_append_grow(struct sk_buf *b, const void *p, size_t len)
{
    if (reserve(b, len))
        return ENOMEM;
    if (len)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

char *sk_buf_extend(struct sk_buf *b, size_t n)
{
    char *o;

    if (reserve(b, n))
        return NULL;
    o = b->p + b->len;
    b->len += n;
    b->p[b->len] = '\0';
    return o;
}

int sk_buf_put_lower(struct sk_buf *b, struct sk_str s)
{
    char *o;

    if (reserve(b, s.len))
        return ENOMEM;
    o = b->p + b->len;
    for (size_t i = 0; i < s.len; i++)
        o[i] = sk_lower(s.p[i]);
    b->len += s.len;
    b->p[b->len] = '\0';
    return 0;
}

int sk_buf_putc(struct sk_buf *b, char c)
{
    return sk_buf_append(b, &c, 1);
}

int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t) n))
        return b->failed = true, ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
    return 0;
}

struct sk_str sk_buf_str(const struct sk_buf *b)
{
    return sk_str_make(b->p ? b->p : "", b->len);
}

int sk_buf_put_u64(struct sk_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - ++n] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    return sk_buf_append(b, tmp + sizeof(tmp) - n, n);
}

void sk_hex(char *out, uint64_t v, unsigned digits)
{
    static const char hx[] = "0123456789abcdef";
    /* "00".."ff": a byte per step (To tags and branches print 16 digits) */
    static const char pairs[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    unsigned i = digits < 16 ? digits : 16;

    for (; i >= 2; i -= 2) {
        memcpy(out + i - 2, pairs + 2 * (v & 255), 2);
        v >>= 8;
    }
    if (i)
        out[0] = hx[v & 15];
}

int sk_buf_put_hex(struct sk_buf *b, uint64_t v, unsigned digits)
{
    char tmp[16];

    if (digits > 16)
        digits = 16;
    sk_hex(tmp, v, digits);
    return sk_buf_append(b, tmp, digits);
}

int sk_buf_set_exact(struct sk_buf *b, const void *p, size_t len)
{
    b->failed = false;
    b->len = 0;
    if (b->cap < len + 1 || b->cap > 2 * (len + 1)) {
        char *np = own(b, len + 1);
        if (!np)
            return b->failed = true, ENOMEM;
        b->p = np;
        b->cap = len + 1;
    }
    return sk_buf_append(b, p, len);
}
