/* Growable output buffer for printing messages; remembers an allocation failure. */
#ifndef SK_BASE_BUF_H
#define SK_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/str.h"

struct sk_buf {
    char *p;
    size_t len, cap;
    size_t max;  /* 0 = unlimited; past it the buffer fails like ENOMEM */
    bool failed; /* an append failed: the content is incomplete */
    bool ext;    /* p is the caller's storage (sk_buf_init_ext): never freed here */
};

void sk_buf_init(struct sk_buf *b);
/* Start in the caller's storage (a stack array, say); growing past it moves the
 * content to the heap. sk_buf_free frees only what the buffer allocated. */
void sk_buf_init_ext(struct sk_buf *b, char *mem, size_t cap);
void sk_buf_free(struct sk_buf *b);
void sk_buf_reset(struct sk_buf *b);
/* Appends return 0 or ENOMEM; after a failure every later append fails too. */
int sk_buf_append_grow(struct sk_buf *b, const void *p, size_t len);
/* Inline: an append that fits (nearly all of them, a response is printed into
 * a buffer sized for it) is a compare and a copy. */
static inline int sk_buf_append(struct sk_buf *b, const void *p, size_t len)
{
    if (b->failed || len >= b->cap - b->len || (b->max && b->len + len > b->max))
        return sk_buf_append_grow(b, p, len);
    if (len)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}
static inline int sk_buf_put_str(struct sk_buf *b, struct sk_str s)
{
    return sk_buf_append(b, s.p, s.len);
}
int sk_buf_putc(struct sk_buf *b, char c);
/* Inline so that the length of a literal is known at compile time. */
static inline int sk_buf_puts(struct sk_buf *b, const char *s)
{
    return sk_buf_append(b, s, strlen(s));
}
/* Room for n more bytes at the end, counted in len (and NUL-terminated after
 * them): the caller writes all n. NULL (and the buffer failed) when it cannot grow. */
char *sk_buf_extend(struct sk_buf *b, size_t n);
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Slice of the current content (valid until the next append). */
struct sk_str sk_buf_str(const struct sk_buf *b);
/* Replace the content with exactly len bytes, allocating no more than needed
 * (for buffers that are kept, like a transaction's last response). */
int sk_buf_set_exact(struct sk_buf *b, const void *p, size_t len);
/* s in ASCII lower case (host names, realms, hash keys). */
int sk_buf_put_lower(struct sk_buf *b, struct sk_str s);
/* Decimal number without printf. */
int sk_buf_put_u64(struct sk_buf *b, uint64_t v);
/* The low `digits` hex digits of v (lowercase, zero-padded, at most 16), without
 * printf: sk_hex writes them to out with no NUL, sk_buf_put_hex appends them. */
void sk_hex(char *out, uint64_t v, unsigned digits);
int sk_buf_put_hex(struct sk_buf *b, uint64_t v, unsigned digits);

#endif
