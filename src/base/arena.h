/* Bump allocator: a caller-provided first block, then heap blocks only when it overflows. */
#ifndef SK_BASE_ARENA_H
#define SK_BASE_ARENA_H

#include <stddef.h>

struct sk_arena_block;

struct sk_arena {
    char *first;      /* caller's block (may be NULL) */
    size_t first_size;
    char *cur, *end;  /* free space of the current block */
    struct sk_arena_block *heap; /* heap blocks, newest first */
    size_t heap_allocs; /* number of heap blocks ever taken (tests check "no heap") */
};

void sk_arena_init(struct sk_arena *a, void *first, size_t first_size);
/* 8-byte aligned; NULL when out of memory. */
void *sk_arena_alloc(struct sk_arena *a, size_t size);
/* Forget everything; frees heap blocks, keeps the first block. */
void sk_arena_reset(struct sk_arena *a);
void sk_arena_free(struct sk_arena *a);

#endif
