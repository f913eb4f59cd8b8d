/* Untimed helper for bench_parse: counts sipkit's heap allocations per message via
 * -Wl,--wrap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "sip/msg.h"
#include "sipkit_work.h"

#ifndef SIPKIT_BENCH_CORPUS
#error "SIPKIT_BENCH_CORPUS (the corpus directory) must be defined by the build"
#endif

#define PASSES 1000

/* Linked with -Wl,--wrap=<fn> for each of these: every call from this program and from
 * the static libsipkit lands in __wrap_<fn>, which counts it while counting is on. */
static int g_counting;
static uint64_t g_allocs;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t size)
{
    g_allocs += g_counting;
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    g_allocs += g_counting;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    g_allocs += g_counting;
    return __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    g_allocs += g_counting;
    return __real_aligned_alloc(align, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    g_allocs += g_counting;
    return __real_posix_memalign(p, align, size);
}

char *__wrap_strdup(const char *s)
{
    g_allocs += g_counting;
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    g_allocs += g_counting;
    return __real_strndup(s, n);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : SIPKIT_BENCH_CORPUS;
    struct corpus c;
    if (corpus_load(&c, dir) != 0) return 1;

    static struct sip_msg msg;
    uint64_t total = 0;
    int failed = 0;
    sip_msg_init(&msg);
    for (size_t i = 0; i < c.n; i++) {
        g_allocs = 0;
        g_counting = 1;
        for (int k = 0; k < PASSES; k++) {
            struct sipkit_result sr;
            struct sip_error err;
            const char *stage;
            if (sipkit_work(&msg, c.msgs[i].data, c.msgs[i].len, &sr, &err, &stage) !=
                0) {
                failed = 1;
                break;
            }
        }
        g_counting = 0;
        if (failed) {
            fprintf(stderr, "bench_allocs: sipkit failed on %s\n", c.msgs[i].name);
            break;
        }
        if (g_allocs)
            printf("  %s: %.2f heap allocations per parse\n", c.msgs[i].name,
                   (double) g_allocs / PASSES);
        total += g_allocs;
    }
    sip_msg_release(&msg);
    if (!failed) {
        double per = (double) total / ((double) PASSES * (double) c.n);
        if (total % ((uint64_t) PASSES * c.n) == 0)
            printf("sipkit heap allocations per message: %.0f\n", per);
        else
            printf("sipkit heap allocations per message: %.2f\n", per);
    }
    corpus_free(&c);
    return failed;
}
