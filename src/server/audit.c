/* The audit log: JSON lines (base/json.h escapes whatever a header carried), one write(2)
 * per line under a mutex, the file rotated to .1 .. .keep when it passes max_bytes. */
#include "server/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"

struct sk_audit {
    pthread_mutex_t lock;
    int fd;
    size_t size, max_bytes;
    unsigned keep;
    char path[1024];
};

static int open_log(struct sk_audit *a)
{
    struct stat st;

    a->fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0) return errno;
    a->size = fstat(a->fd, &st) == 0 ? (size_t) st.st_size : 0;
    return 0;
}

int sk_audit_open(struct sk_audit **ap, const char *path, size_t max_bytes, unsigned keep)
{
    struct sk_audit *a;
    int err;

    if (strlen(path) >= sizeof(a->path) - 8) return ENAMETOOLONG;
    if (!(a = calloc(1, sizeof(*a)))) return ENOMEM;
    snprintf(a->path, sizeof(a->path), "%s", path);
    a->max_bytes = max_bytes;
    a->keep = keep ? keep : 1;
    if ((err = open_log(a))) {
        free(a);
        return err;
    }
    pthread_mutex_init(&a->lock, NULL);
    *ap = a;
    return 0;
}

void sk_audit_close(struct sk_audit *a)
{
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* audit.log.(keep-1) -> .keep, ..., audit.log -> .1, and a new audit.log. */
static void rotate(struct sk_audit *a)
{
    char from[1100], to[1100];

    close(a->fd);
    for (unsigned i = a->keep; i > 1; i--) {
        snprintf(from, sizeof(from), "%s.%u", a->path, i - 1);
        snprintf(to, sizeof(to), "%s.%u", a->path, i);
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", a->path);
    rename(a->path, to);
    if (open_log(a)) a->fd = -1; /* the next lines are lost; the server goes on */
}

static void line_begin(struct sk_json *j, struct sk_buf *b, const char *event)
{
    struct timespec ts;
    struct tm tm;
    char when[96];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (int) (ts.tv_nsec / 1000000));
    sk_json_init_compact(j, b);
    sk_json_obj_begin(j);
    sk_json_kcstr(j, "ts", when);
    sk_json_kcstr(j, "event", event);
}

static void put_source(struct sk_json *j, const struct sk_sa *src)
{
    char ip[64];
    sk_json_kcstr(j, "source", sk_sa_ip(src, ip, sizeof(ip)));
    sk_json_kint(j, "port", sk_sa_port(src));
}

static void line_end(struct sk_audit *a, struct sk_json *j, struct sk_buf *b)
{
    sk_json_obj_end(j);
    sk_buf_putc(b, '\n');
    if (b->failed) return;
    pthread_mutex_lock(&a->lock);
    if (a->max_bytes && a->size + b->len > a->max_bytes && a->size > 0) rotate(a);
    if (a->fd >= 0 && write(a->fd, b->p, b->len) == (ssize_t) b->len) a->size += b->len;
    pthread_mutex_unlock(&a->lock);
}

void sk_audit_register(struct sk_audit *a, struct sk_str aor, const struct sk_sa *src,
                       struct sk_str user_agent, unsigned contacts, bool removed)
{
    struct sk_json j;
    struct sk_buf b;
    char mem[512];

    if (!a) return;
    sk_buf_init_ext(&b, mem, sizeof(mem));
    line_begin(&j, &b, removed ? "unregister" : "register");
    sk_json_kstr(&j, "aor", aor);
    put_source(&j, src);
    sk_json_kint(&j, "contacts", contacts);
    sk_json_kstr(&j, "user_agent", user_agent);
    line_end(a, &j, &b);
    sk_buf_free(&b);
}

void sk_audit_auth_failed(struct sk_audit *a, struct sk_str user, struct sk_str realm,
                          const struct sk_sa *src, const char *method, const char *reason)
{
    struct sk_json j;
    struct sk_buf b;
    char mem[512];

    if (!a) return;
    sk_buf_init_ext(&b, mem, sizeof(mem));
    line_begin(&j, &b, "auth_failed");
    sk_json_kstr(&j, "user", user);
    sk_json_kstr(&j, "realm", realm);
    put_source(&j, src);
    sk_json_kcstr(&j, "method", method);
    sk_json_kcstr(&j, "reason", reason);
    line_end(a, &j, &b);
    sk_buf_free(&b);
}

void sk_audit_block(struct sk_audit *a, const struct sk_sa *src, const char *rule,
                    uint32_t seconds)
{
    struct sk_json j;
    struct sk_buf b;
    char mem[256];

    if (!a) return;
    sk_buf_init_ext(&b, mem, sizeof(mem));
    line_begin(&j, &b, "block");
    put_source(&j, src);
    sk_json_kcstr(&j, "rule", rule);
    sk_json_kint(&j, "seconds", seconds);
    line_end(a, &j, &b);
    sk_buf_free(&b);
}

void sk_audit_unblock(struct sk_audit *a, const struct sk_sa *src, const char *by)
{
    struct sk_json j;
    struct sk_buf b;
    char mem[256];

    if (!a) return;
    sk_buf_init_ext(&b, mem, sizeof(mem));
    line_begin(&j, &b, "unblock");
    put_source(&j, src);
    sk_json_kcstr(&j, "by", by);
    line_end(a, &j, &b);
    sk_buf_free(&b);
}
