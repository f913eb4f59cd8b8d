/* UDP relay for bench/bench_register.sh: sits between SIPp and the server on 127.0.0.1 and
 * drops the algorithm=SHA-256 WWW-/Proxy-Authenticate lines from responses, because SIPp 3.6
 * answers only the first challenge of a response and knows only MD5. Everything else passes
 * unchanged. Requests from anyone but the server go to the server; datagrams from the server
 * go to the client port. Needs ;rport in the client's Via so responses come back here.
 * Usage: udp_relay LISTEN_PORT SERVER_PORT CLIENT_PORT MAX_SECONDS
 * Exits on SIGTERM/SIGINT or after MAX_SECONDS, printing its counters to stderr. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void) sig;
    stop = 1;
}

static int starts_with_ci(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t) (end - p) >= n && strncasecmp(p, word, n) == 0;
}

/* Removes the challenge lines with algorithm=SHA-256 from the header part; returns the new length. */
static size_t strip_sha256(char *buf, size_t len, unsigned long *stripped)
{
    char *p = buf, *end = buf + len;

    while (p < end) {
        char *eol = memmem(p, (size_t) (end - p), "\r\n", 2);
        if (!eol || eol == p) /* no more lines, or the empty line before the body */
            break;
        char *next = eol + 2;
        if ((starts_with_ci(p, eol, "WWW-Authenticate:") ||
             starts_with_ci(p, eol, "Proxy-Authenticate:")) &&
            memmem(p, (size_t) (eol - p), "algorithm=SHA-256", 17)) {
            memmove(p, next, (size_t) (end - next));
            end -= next - p;
            ++*stripped;
            continue;
        }
        p = next;
    }
    return (size_t) (end - buf);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s LISTEN_PORT SERVER_PORT CLIENT_PORT MAX_SECONDS\n", argv[0]);
        return 2;
    }
    int listen_port = atoi(argv[1]), server_port = atoi(argv[2]), client_port = atoi(argv[3]);
    long max_s = atol(argv[4]);
    struct sockaddr_in me = {.sin_family = AF_INET}, server, client;
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server = client = me;
    me.sin_port = htons((unsigned short) listen_port);
    server.sin_port = htons((unsigned short) server_port);
    client.sin_port = htons((unsigned short) client_port);

    int fd = socket(AF_INET, SOCK_DGRAM, 0), sz = 4 << 20;
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (bind(fd, (struct sockaddr *) &me, sizeof(me)) != 0) {
        perror("bind");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    static char buf[65536];
    unsigned long to_server = 0, to_client = 0, stripped = 0;
    time_t deadline = time(NULL) + max_s;
    while (!stop && time(NULL) < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 500) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
        if (n <= 0)
            continue;
        if (from.sin_port == server.sin_port && from.sin_addr.s_addr == server.sin_addr.s_addr) {
            size_t len = (size_t) n;
            if (len > 8 && memcmp(buf, "SIP/2.0 ", 8) == 0)
                len = strip_sha256(buf, len, &stripped);
            sendto(fd, buf, len, 0, (struct sockaddr *) &client, sizeof(client));
            to_client++;
        } else {
            sendto(fd, buf, (size_t) n, 0, (struct sockaddr *) &server, sizeof(server));
            to_server++;
        }
    }
    fprintf(stderr, "udp_relay: %lu to server, %lu to client, %lu SHA-256 challenges dropped\n",
            to_server, to_client, stripped);
    return 0;
}
