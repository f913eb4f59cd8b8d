/* Property checks shared by the fuzz targets: a violated property aborts with a line libFuzzer records. */
#ifndef SIPKIT_FUZZ_CHECK_H
#define SIPKIT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every byte a parser points us at is read into this, so ASan checks the slice. */
static volatile unsigned sink;

_Noreturn static inline void property_failed(const char *file, const char *what,
                                             const char *func, int line)
{
    fprintf(stderr, "%s: property violated in %s (%s:%d): %s\n", file, func, file, line, what);
    fflush(stderr);
    abort();
}

#define CHECK(cond, what)                                                \
    do {                                                                 \
        if (!(cond))                                                     \
            property_failed(__FILE__, (what), __func__, __LINE__);       \
    } while (0)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Read n bytes into the sink: ASan reports a slice that points outside its input. */
static inline void touch(const void *p, size_t n)
{
    const unsigned char *c = p;
    unsigned h = 0;

    for (size_t i = 0; i < n; i++)
        h = h * 31u + c[i];
    sink += h;
}

/* An exactly sized heap copy, so that any read past the end is an ASan report. */
static inline void *dup_exact(const void *p, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);

    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

#endif
