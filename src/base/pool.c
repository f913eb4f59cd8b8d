/* Size-class pool over mmap'd chunks: see pool.h for why long-lived objects use it. */
#include "base/pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Every object is preceded by one header word: its size class, or BIG for malloc. */
#define HDR 16 /* keeps the object 16-byte aligned, like malloc */
#define BIG UINT32_MAX

struct sk_pool_chunk {
    struct sk_pool_chunk *next;
};

void sk_pool_init(struct sk_pool *p)
{
    *p = (struct sk_pool){0};
    pthread_mutex_init(&p->lock, NULL);
}

void sk_pool_destroy(struct sk_pool *p)
{
    struct sk_pool_chunk *c = p->chunks, *n;

    for (; c; c = n) {
        n = c->next;
        munmap(c, SK_POOL_CHUNK);
    }
    pthread_mutex_destroy(&p->lock);
    *p = (struct sk_pool){0};
}

static uint32_t *hdr_of(void *ptr)
{
    return (uint32_t *) ((char *) ptr - HDR);
}

void *sk_pool_alloc(struct sk_pool *p, size_t n)
{
    size_t cls, sz;
    char *o;

    if (n == 0) n = 1;
    if (n > SK_POOL_MAX_OBJ) {
        o = malloc(HDR + n);
        if (!o) return NULL;
        *(uint32_t *) o = BIG;
        return o + HDR;
    }
    cls = (n + SK_POOL_GRAIN - 1) / SK_POOL_GRAIN - 1;
    sz = HDR + (cls + 1) * SK_POOL_GRAIN;
    pthread_mutex_lock(&p->lock);
    if (p->free_list[cls]) {
        o = p->free_list[cls];
        p->free_list[cls] = *(void **) o;
    } else {
        if (p->cur_left < sz) {
            /* the tail of the old chunk is too small for this class: give it to
             * the classes it fits, so nothing is wasted */
            while (p->cur_left >= HDR + SK_POOL_GRAIN) {
                size_t c = (p->cur_left - HDR) / SK_POOL_GRAIN - 1;
                if (c >= SK_POOL_CLASSES) c = SK_POOL_CLASSES - 1;
                size_t csz = HDR + (c + 1) * SK_POOL_GRAIN;
                *(uint32_t *) p->cur = (uint32_t) c;
                *(void **) (p->cur + HDR) = p->free_list[c];
                p->free_list[c] = p->cur + HDR;
                p->cur += csz;
                p->cur_left -= csz;
            }
            struct sk_pool_chunk *c = mmap(NULL, SK_POOL_CHUNK, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (c == MAP_FAILED) {
                pthread_mutex_unlock(&p->lock);
                return NULL;
            }
            c->next = p->chunks;
            p->chunks = c;
            p->chunk_bytes += SK_POOL_CHUNK;
            p->cur = (char *) c + HDR; /* the chunk header takes the first slot */
            p->cur_left = SK_POOL_CHUNK - HDR;
        }
        *(uint32_t *) p->cur = (uint32_t) cls;
        o = p->cur + HDR;
        p->cur += sz;
        p->cur_left -= sz;
    }
    p->live++;
    pthread_mutex_unlock(&p->lock);
    return o;
}

void sk_pool_free(struct sk_pool *p, void *ptr)
{
    uint32_t cls;

    if (!ptr) return;
    cls = *hdr_of(ptr);
    if (cls == BIG) {
        free(hdr_of(ptr));
        return;
    }
    pthread_mutex_lock(&p->lock);
    *(void **) ptr = p->free_list[cls];
    p->free_list[cls] = ptr;
    p->live--;
    pthread_mutex_unlock(&p->lock);
}
