/* A size-class pool for long-lived small objects, kept apart from the malloc heap. */
#ifndef SK_POOL_H
#define SK_POOL_H

#include <pthread.h>
#include <stddef.h>

/* Why: objects that live for hours (location bindings) allocated from the same
 * heap as objects that live for seconds (transactions, 32 s in Timer J) pin
 * the pages of the short-lived ones: after a burst of registrations the heap
 * keeps its peak even though most of it is free. Objects from a pool sit in
 * chunks of their own, so the heap can give its free pages back, and the pool
 * holds just what is live (plus its free lists, reused by the next objects).
 *
 * Sizes up to SK_POOL_MAX_OBJ are rounded up to a multiple of SK_POOL_GRAIN and
 * carved from mmap'd chunks of SK_POOL_CHUNK bytes; larger ones go to malloc.
 * Thread-safe (one mutex). Chunks are released by sk_pool_destroy only. */

#define SK_POOL_GRAIN 16
#define SK_POOL_MAX_OBJ 2048
#define SK_POOL_CHUNK (256u << 10)
#define SK_POOL_CLASSES (SK_POOL_MAX_OBJ / SK_POOL_GRAIN)

struct sk_pool_chunk;

struct sk_pool {
    pthread_mutex_t lock;
    void *free_list[SK_POOL_CLASSES];
    struct sk_pool_chunk *chunks;
    char *cur; /* unused tail of the newest chunk */
    size_t cur_left;
    size_t live, chunk_bytes; /* objects handed out; bytes mapped */
};

void sk_pool_init(struct sk_pool *p);
void sk_pool_destroy(struct sk_pool *p);
/* NULL when out of memory. The memory is not zeroed. */
void *sk_pool_alloc(struct sk_pool *p, size_t n);
void sk_pool_free(struct sk_pool *p, void *ptr);

#endif
