/* Bump allocator with an inline first block, so typical messages never touch the heap. */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>

struct sk_arena_block {
    struct sk_arena_block *next;
    size_t size;
    _Alignas(16) char data[];
};

#define ARENA_MIN_BLOCK 4096

void sk_arena_init(struct sk_arena *a, void *first, size_t first_size)
{
    a->first = first;
    a->first_size = first ? first_size : 0;
    a->cur = first;
    a->end = first ? (char *) first + first_size : NULL;
    a->heap = NULL;
    a->heap_allocs = 0;
}

void *sk_arena_alloc(struct sk_arena *a, size_t size)
{
    uintptr_t cur = (uintptr_t) a->cur;
    uintptr_t aligned = (cur + 7u) & ~(uintptr_t) 7u;
    struct sk_arena_block *b;
    size_t bsize;

    if (size == 0)
        size = 1;
    if (a->cur && aligned <= (uintptr_t) a->end && size <= (uintptr_t) a->end - aligned) {
        a->cur = (char *) (aligned + size);
        return (void *) aligned;
    }
    bsize = size > ARENA_MIN_BLOCK ? size : ARENA_MIN_BLOCK;
    if (bsize > SIZE_MAX - sizeof(*b))
        return NULL;
    b = malloc(sizeof(*b) + bsize);
    if (!b)
        return NULL;
    b->next = a->heap;
    b->size = bsize;
    a->heap = b;
    a->heap_allocs++;
    a->cur = b->data + size;
    a->end = b->data + bsize;
    return b->data;
}

static void free_blocks(struct sk_arena *a)
{
    struct sk_arena_block *b = a->heap, *next;
    while (b) {
        next = b->next;
        free(b);
        b = next;
    }
    a->heap = NULL;
}

void sk_arena_reset(struct sk_arena *a)
{
    free_blocks(a);
    a->cur = a->first;
    a->end = a->first ? a->first + a->first_size : NULL;
}

void sk_arena_free(struct sk_arena *a)
{
    free_blocks(a);
    a->cur = a->end = NULL;
}
