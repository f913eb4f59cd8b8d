/* Shared helpers for the cmocka tests: reading test files, guard-page buffers. */
#ifndef SIPKIT_TESTUTIL_H
#define SIPKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/str.h"

/* Read a whole file; returns a malloc'd buffer (NUL-terminated) and its length. */
char *tu_read_file(const char *path, size_t *len);

/* A fresh data directory under /tmp for a store (prefix names the test), and
 * its removal with the database files SQLite leaves there. */
struct tu_datadir {
    char path[64];
};
void tu_datadir_make(struct tu_datadir *d, const char *prefix);
void tu_datadir_remove(struct tu_datadir *d);
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

/* assert_true(cond) that says why when it fails (printf-style message). */
#define TU_ASSERT_MSG(cond, ...)                                                         \
    do {                                                                                 \
        if (!(cond)) fail_msg(__VA_ARGS__);                                              \
    } while (0)

/* Failing checks that report a context (which message, which case) besides the
 * file and line. */
void tu_fail_at(const char *file, int line, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A slice equal to exp[0..elen) (an unset slice never is). */
void tu_chk_str(struct sk_str s, const char *exp, size_t elen, const char *what, const char *ctx,
                const char *file, int line);

/* A test file that defines TU_CHECKS before including this header, and a
 * `g_ctx` string naming the case at hand, gets these. */
#ifdef TU_CHECKS
#define fail_at(file, line, ...) tu_fail_at((file), (line), g_ctx, __VA_ARGS__)
#define chk_str(s, exp, elen, what, file, line) tu_chk_str((s), (exp), (elen), (what), g_ctx, (file), (line))
#define CHK(cond)                                                                        \
    do {                                                                                 \
        if (!(cond)) fail_at(__FILE__, __LINE__, "check failed: %s", #cond);             \
    } while (0)
#define CHK_INT(a, b)                                                                    \
    do {                                                                                 \
        long long a_ = (long long) (a), b_ = (long long) (b);                            \
        if (a_ != b_)                                                                    \
            fail_at(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b,   \
                    b_);                                                                 \
    } while (0)
/* Compare a slice with a string literal (embedded NULs allowed). */
#define CHK_STR(s, lit) chk_str((s), (lit), sizeof(lit) - 1, #s, __FILE__, __LINE__)
/* Compare a slice with a NUL-terminated C string. */
#define CHK_STRC(s, cstr) chk_str((s), (cstr), strlen(cstr), #s, __FILE__, __LINE__)
/* A slice that is unset (never seen) / unset or empty (e.g. no parameters). */
#define CHK_UNSET(s)                                                                     \
    do {                                                                                 \
        if (sk_str_isset(s))                                                             \
            fail_at(__FILE__, __LINE__, "%s: expected unset, got \"%.*s\"", #s,          \
                    SK_STR_FMT(s));                                                      \
    } while (0)
#define CHK_EMPTY(s)                                                                     \
    do {                                                                                 \
        if ((s).len != 0)                                                                \
            fail_at(__FILE__, __LINE__, "%s: expected empty, got \"%.*s\"", #s,          \
                    SK_STR_FMT(s));                                                      \
    } while (0)
#endif

#endif
