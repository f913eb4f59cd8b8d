/* Control socket: one text command per connection ("registrations", "stats", "blocked",
 * "unblock IP"), answered in text. */
#include "server/ctl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "server/audit.h"
#include "server/location.h"
#include "server/protect.h"

struct sk_ctl {
    struct sk_server *s;
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    char path[108];
};

struct walk_ctx {
    struct sk_buf *out;
    const char *last_aor;
    int64_t now;
    size_t bindings;
};

static void print_binding(void *arg, const struct sk_loc_binding *b)
{
    struct walk_ctx *w = arg;
    char src[80];

    if (!w->last_aor || strcmp(w->last_aor, b->aor) != 0)
        sk_buf_printf(w->out, "%s\n", b->aor);
    w->last_aor = b->aor; /* the walk holds the AOR's bucket lock: the pointer is stable */
    sk_buf_printf(w->out, "  <%s>%s%s expires=%lld", b->uri, *b->params ? ";" : "", b->params,
                  (long long) (b->expires_at - w->now));
    if (b->q >= 0)
        sk_buf_printf(w->out, " q=%d.%03d", b->q / 1000, b->q % 1000);
    sk_buf_printf(w->out, " via %s:%s", sip_proto_name(b->proto),
                  sk_sa_str(&b->src, src, sizeof(src)));
    if (*b->instance)
        sk_buf_printf(w->out, " instance=%s reg-id=%u", b->instance, b->reg_id);
    if (*b->path)
        sk_buf_printf(w->out, " path=%s", b->path);
    if (*b->user_agent)
        sk_buf_printf(w->out, " ua=\"%s\"", b->user_agent);
    sk_buf_putc(w->out, '\n');
    w->bindings++;
}

/* Blocked sources: address, the rule that fired, seconds left. */
static void print_blocked(struct sk_ctl *c, struct sk_buf *out)
{
    struct sk_protect *p = sk_server_protect(c->s);
    struct sk_protect_blocked bl[256];
    size_t n, shown;

    if (!p) {
        sk_buf_puts(out, "protection is off\n");
        return;
    }
    n = sk_protect_blocked_list(p, sk_protect_clock_ms(), bl, sizeof(bl) / sizeof(bl[0]));
    shown = n < sizeof(bl) / sizeof(bl[0]) ? n : sizeof(bl) / sizeof(bl[0]);
    for (size_t i = 0; i < shown; i++) {
        char ip[64];
        sk_buf_printf(out, "%s %s %lld\n", sk_sa_ip(&bl[i].addr, ip, sizeof(ip)),
                      sk_protect_rule_name(bl[i].rule), (long long) ((bl[i].ms_left + 999) / 1000));
    }
    sk_buf_printf(out, "%zu blocked\n", n);
}

static void unblock(struct sk_ctl *c, const char *ip, struct sk_buf *out)
{
    struct sk_protect *p = sk_server_protect(c->s);
    struct sk_sa a;

    if (!p) {
        sk_buf_puts(out, "error: protection is off\n");
    } else if (sk_sa_from_ip(&a, sk_str_cstr(ip), 0) != 0) {
        sk_buf_printf(out, "error: not an IP address: '%s'\n", ip);
    } else if (sk_protect_unblock(p, &a) != 0) {
        sk_buf_printf(out, "error: %s is not blocked\n", ip);
    } else {
        SK_WARN("protect: %s unblocked (ctl)", ip);
        sk_audit_unblock(sk_server_audit(c->s), &a, "ctl");
        sk_buf_printf(out, "unblocked %s\n", ip);
    }
}

static void answer(struct sk_ctl *c, const char *cmd, struct sk_buf *out)
{
    if (strcmp(cmd, "registrations") == 0) {
        struct walk_ctx w = {out, NULL, (int64_t) time(NULL), 0};
        sk_loc_walk(sk_server_location(c->s), w.now, print_binding, &w);
        sk_buf_printf(out, "%zu bindings\n", w.bindings);
    } else if (strcmp(cmd, "stats") == 0) {
        struct sk_server_stats st;
        struct sk_server_stat list[SK_SERVER_STATS_MAX];
        size_t n;
        sk_server_stats(c->s, &st);
        n = sk_server_stats_list(c->s, &st, list, SK_SERVER_STATS_MAX);
        for (size_t k = 0; k < n; k++)
            sk_buf_printf(out, "%s %llu\n", list[k].name, (unsigned long long) list[k].value);
    } else if (strcmp(cmd, "blocked") == 0) {
        print_blocked(c, out);
    } else if (strncmp(cmd, "unblock ", 8) == 0) {
        unblock(c, cmd + 8, out);
    } else {
        sk_buf_printf(out, "error: unknown command '%s' (registrations, stats, blocked, unblock IP)\n",
                      cmd);
    }
}

static void serve_client(struct sk_ctl *c, int fd)
{
    char cmd[256];
    size_t n = 0;
    struct sk_buf out;
    struct pollfd p = {fd, POLLIN, 0};

    /* one line, read with a deadline so a silent client cannot hold the thread */
    while (n < sizeof(cmd) - 1 && poll(&p, 1, 2000) == 1) {
        ssize_t r = read(fd, cmd + n, sizeof(cmd) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t) r;
        if (memchr(cmd, '\n', n))
            break;
    }
    cmd[n] = '\0';
    cmd[strcspn(cmd, "\r\n")] = '\0';
    sk_buf_init(&out);
    answer(c, cmd, &out);
    for (size_t off = 0; off < out.len;) {
        ssize_t w = write(fd, out.p + off, out.len - off);
        if (w <= 0)
            break;
        off += (size_t) w;
    }
    sk_buf_free(&out);
}

static void *ctl_thread(void *arg)
{
    struct sk_ctl *c = arg;
    struct pollfd p[2] = {{c->fd, POLLIN, 0}, {c->stop_pipe[0], POLLIN, 0}};

    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                serve_client(c, fd);
                close(fd);
            }
        }
    }
    return NULL;
}

int sk_ctl_start(struct sk_ctl **cp, struct sk_server *s, const char *path)
{
    struct sk_ctl *c = calloc(1, sizeof(*c));
    struct sockaddr_un sa;
    int err;

    if (!c)
        return ENOMEM;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        free(c);
        return ENAMETOOLONG;
    }
    c->s = s;
    snprintf(c->path, sizeof(c->path), "%s", path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path); /* a socket left by a server that was killed */
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
        listen(c->fd, 16) < 0 || pipe(c->stop_pipe) < 0) {
        err = errno;
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return err;
    }
    if ((err = pthread_create(&c->thread, NULL, ctl_thread, c))) {
        close(c->fd);
        close(c->stop_pipe[0]);
        close(c->stop_pipe[1]);
        unlink(path);
        free(c);
        return err;
    }
    *cp = c;
    return 0;
}

void sk_ctl_stop(struct sk_ctl *c)
{
    if (!c)
        return;
    if (write(c->stop_pipe[1], "x", 1) < 0)
        SK_WARN("ctl: cannot signal the control thread");
    pthread_join(c->thread, NULL);
    close(c->fd);
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    unlink(c->path);
    free(c);
}
