/* Socket helpers shared by net/udp.c and net/tcp.c: per-worker SO_REUSEPORT sockets. */
#include "net/sock.h"

#include <errno.h>
#include <unistd.h>

static int bind_socket(const struct sk_sa *addr, int type)
{
    int fd, one = 1;

    fd = socket(addr->u.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (addr->u.sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, &addr->u.sa, addr->len) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int sk_sock_bind_all(struct sk_sa *addr, int type, unsigned n, int *fds)
{
    for (unsigned i = 0; i < n; i++)
        fds[i] = -1;
    for (unsigned i = 0; i < n; i++) {
        int fd = bind_socket(addr, type);
        if (fd < 0) {
            for (unsigned j = 0; j < i; j++)
                close(fds[j]);
            for (unsigned j = 0; j < n; j++)
                fds[j] = -1;
            return -fd;
        }
        fds[i] = fd;
        if (i == 0 && sk_sa_port(addr) == 0) {
            /* port 0: every worker binds the port the kernel picked for the first */
            struct sk_sa bound;
            bound.len = sizeof(bound.u);
            getsockname(fd, &bound.u.sa, &bound.len);
            sk_sa_set_port(addr, sk_sa_port(&bound));
        }
    }
    return 0;
}
