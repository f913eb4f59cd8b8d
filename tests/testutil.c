/* Test helpers: file reading and buffers placed just before an unreadable page. */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/store.h"

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t) n;
    }
    return buf;
}

char *tu_read_rfc4475(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.dat", SIPKIT_RFC4475_DIR, name);
    return tu_read_file(path, len);
}

char *tu_guard_copy(struct tu_guard *g, const void *src, size_t len)
{
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;

    g->map_len = pages * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        return NULL;
    if (mprotect(g->map + (pages - 1) * page, page, PROT_NONE) != 0)
        return NULL;
    g->data = g->map + (pages - 1) * page - len;
    if (len)
        memcpy(g->data, src, len);
    return g->data;
}

void tu_guard_free(struct tu_guard *g)
{
    if (g->map && g->map != MAP_FAILED)
        munmap(g->map, g->map_len);
    g->map = NULL;
}

void tu_fail_at(const char *file, int line, const char *ctx, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s:%d: [%s] %s\n", file, line, ctx, msg);
    _fail(file, line);
}

void tu_chk_str(struct sk_str s, const char *exp, size_t elen, const char *what, const char *ctx,
                const char *file, int line)
{
    if (!s.p || s.len != elen || (elen && memcmp(s.p, exp, elen) != 0))
        tu_fail_at(file, line, ctx,
                   "%s: expected \"%.*s\" (%zu bytes), got %s\"%.*s\" (%zu bytes)", what,
                   (int) elen, exp, elen, s.p ? "" : "(unset) ", (int) s.len, s.p ? s.p : "",
                   s.len);
}

void tu_datadir_make(struct tu_datadir *d, const char *prefix)
{
    snprintf(d->path, sizeof(d->path), "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(d->path));
}

void tu_datadir_remove(struct tu_datadir *d)
{
    char p[128];
    const char *files[] = {SK_STORE_DB_NAME, SK_STORE_DB_NAME "-wal", SK_STORE_DB_NAME "-shm"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", d->path, files[i]);
        unlink(p);
    }
    rmdir(d->path);
}
