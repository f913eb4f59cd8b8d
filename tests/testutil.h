/* Shared helpers for the cmocka tests: reading test files, guard-page buffers. */
#ifndef SIPKIT_TESTUTIL_H
#define SIPKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Read a whole file; returns a malloc'd buffer (NUL-terminated) and its length. */
char *tu_read_file(const char *path, size_t *len);
/* Read ../rfc4475/<name>.dat */
char *tu_read_rfc4475(const char *name, size_t *len);

/* A buffer of len bytes that ends exactly at an unreadable page, so reading one
 * byte past the end faults at once. Copy the data in with tu_guard_copy. */
struct tu_guard {
    char *map;
    size_t map_len;
    char *data;
};
char *tu_guard_copy(struct tu_guard *g, const void *src, size_t len);
void tu_guard_free(struct tu_guard *g);

#endif
