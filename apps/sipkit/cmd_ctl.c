/* sipkit ctl: send one command to a running sipkit serve through its control socket. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "server/ctl.h"

static void ctl_usage(FILE *f)
{
    fprintf(f, "usage: sipkit ctl registrations|stats|blocked|unblock IP [--data DIR | --socket PATH]\n"
               "  registrations  every AOR with its bindings (URI, expires, q, flow, path)\n"
               "  stats          the server's counters\n"
               "  blocked        sources protection blocked: address, rule, seconds left\n"
               "  unblock IP     serve IP again at once\n"
               "  The socket is DIR/" SK_CTL_SOCKET " (DIR defaults to ./data, as for serve).\n");
}

int cmd_ctl(int argc, char **argv)
{
    const char *dir = "data", *path = NULL, *cmd = NULL, *arg = NULL;
    char sock[108], buf[4096];
    struct sockaddr_un sa;
    ssize_t n;
    int fd;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            ctl_usage(stdout);
            return 0;
        } else if (!cmd && argv[i][0] != '-')
            cmd = argv[i];
        else if (cmd && !arg && strcmp(cmd, "unblock") == 0 && argv[i][0] != '-')
            arg = argv[i];
        else {
            ctl_usage(stderr);
            return 2;
        }
    }
    if (!cmd || (strcmp(cmd, "unblock") == 0) != (arg != NULL)) {
        ctl_usage(stderr);
        return 2;
    }
    if (path)
        snprintf(sock, sizeof(sock), "%s", path);
    else
        snprintf(sock, sizeof(sock), "%s/%s", dir, SK_CTL_SOCKET);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        fprintf(stderr, "sipkit ctl: cannot reach the server at %s: %s\n", sock,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if (dprintf(fd, "%s%s%s\n", cmd, arg ? " " : "", arg ? arg : "") < 0) {
        close(fd);
        return 1;
    }
    {
        bool error = false, first = true;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            if (first) error = strncmp(buf, "error:", (size_t) n < 6 ? (size_t) n : 6) == 0;
            first = false;
            fwrite(buf, 1, (size_t) n, stdout);
        }
        close(fd);
        if (strcmp(cmd, "blocked") == 0 || strcmp(cmd, "unblock") == 0) return error ? 1 : 0;
    }
    return strncmp(cmd, "registrations", 13) == 0 || strcmp(cmd, "stats") == 0 ? 0 : 1;
}
