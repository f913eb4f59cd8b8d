/* Tests of net/tcp.c through the transport function table, with a line framer of our own:
 * framing upcalls, replies on the connection, closing after a framing error, and the
 * stream filter hook (a byte filter between socket and framer, as TLS and WebSocket will
 * be) on both ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#include "net/loop.h"
#include "net/transport.h"

/* Every wait is bounded: at most this many loop turns of at most 10 ms. */
#define MAX_TURNS 500
#define MAXLINE 8

static struct {
    struct sk_loop *loop;
    struct sk_tp *tp;
    struct sk_sa addr;
    size_t nline;
    char line[MAXLINE][64];
    unsigned opened, closed; /* filter states made and freed */
} G;

/* The framer: one message per '\n'; "bad" loses the framing; every line is echoed back as
 * "ok <line>\n". */
static size_t on_stream(void *arg, unsigned worker, struct sk_loop *loop,
                        struct sk_conn *c, const char *buf, size_t len, bool *close)
{
    size_t off = 0;
    (void) arg, (void) worker, (void) loop;

    for (;;) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n;
        char reply[80];

        if (!nl) return off;
        n = (size_t) (nl - (buf + off));
        assert_true(G.nline < MAXLINE && n < sizeof(G.line[0]));
        memcpy(G.line[G.nline], buf + off, n);
        G.line[G.nline][n] = '\0';
        if (strcmp(G.line[G.nline++], "bad") == 0) {
            *close = true;
            return len;
        }
        snprintf(reply, sizeof(reply), "ok %.*s\n", (int) n, buf + off);
        assert_int_equal(c->ops->send(c->tp, c, &c->peer, NULL, reply, strlen(reply), 0), 0);
        off += n + 1;
    }
}

static const struct sk_tp_upcall upcall = {NULL, on_stream, NULL};

/* The filter under test: every byte XOR 0x20 on the wire, and a greeting "HI\n"
 * (wire form) sent first, by both ends. Input "!" (wire) is refused; "R" (wire)
 * is the handshake, after which ready() says so. */
static int xf_open(void **state, void *arg, struct sk_conn *c, bool server,
                   const char *peer_name, struct sk_buf *wire)
{
    (void) c, (void) server, (void) peer_name;
    assert_ptr_equal(arg, &G.addr);   /* the transport's filter_arg */
    *state = calloc(1, sizeof(bool)); /* the handshake is done: it read a 'R' */
    assert_non_null(*state);
    G.opened++;
    return sk_buf_append(wire, "HI\n", 3) ? ENOMEM : 0;
}

static int xf_input(void *state, const char *in, size_t len, struct sk_buf *plain,
                    struct sk_buf *wire)
{
    (void) wire;
    for (size_t i = 0; i < len; i++) {
        char ch = (char) (in[i] ^ 0x20);
        if (in[i] == '!') return EPROTO;
        if (in[i] == 'R') { /* the handshake, not for the framer */
            *(bool *) state = true;
            continue;
        }
        if (sk_buf_append(plain, &ch, 1)) return ENOMEM;
    }
    return 0;
}

static int xf_output(void *state, const char *in, size_t len, struct sk_buf *wire)
{
    (void) state;
    for (size_t i = 0; i < len; i++) {
        char ch = (char) (in[i] ^ 0x20);
        if (sk_buf_append(wire, &ch, 1)) return ENOMEM;
    }
    return 0;
}

static void xf_close(void *state)
{
    free(state);
    G.closed++;
}

static bool xf_ready(void *state)
{
    return *(bool *) state;
}

static const struct sk_stream_filter xor_filter = {"xor",     xf_open,  xf_input,
                                                   xf_output, xf_close, xf_ready};

/* The handshake deadline: 300 ms, under the 60 s idle timeout. */
#define HANDSHAKE_MS 300

static int start(const struct sk_stream_filter *f)
{
    struct sk_tcp_config cfg = {16, 16, 1u << 16, 60000, f, &G.addr, HANDSHAKE_MS};

    memset(&G, 0, sizeof(G));
    if (sk_loop_new(&G.loop, 0) || sk_tcp_new(&G.tp, &cfg, &G.loop, 1, &upcall))
        return -1;
    if (sk_sa_from_ip(&G.addr, sk_str_cstr("127.0.0.1"), 0) ||
        G.tp->ops->listen(G.tp, &G.addr))
        return -1;
    return sk_sa_port(&G.addr) ? 0 : -1;
}

static int setup_plain(void **state)
{
    (void) state;
    return start(NULL);
}

static int setup_filter(void **state)
{
    (void) state;
    return start(&xor_filter);
}

static int teardown(void **state)
{
    (void) state;
    G.tp->ops->close(G.tp);
    sk_loop_free(G.loop);
    assert_int_equal(G.opened, G.closed); /* the filter's states were all freed */
    return 0;
}

/* ---- the peer: a plain socket ---- */

static int peer_connect(const struct sk_sa *to)
{
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(connect(fd, &to->u.sa, to->len), 0);
    return fd;
}

static void peer_write(int fd, const char *p, size_t len)
{
    assert_int_equal(write(fd, p, len), (ssize_t) len);
}

/* Read, running the loop between tries, until want bytes came (or EOF or the bound). */
static size_t peer_read(int fd, char *buf, size_t want, bool *eof)
{
    size_t got = 0;

    *eof = false;
    for (int i = 0; i < MAX_TURNS && got < want && !*eof; i++) {
        ssize_t n;
        sk_loop_run_once(G.loop, 10);
        n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (n > 0) got += (size_t) n;
        *eof = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    return got;
}

static bool pump_until_conns(size_t want)
{
    for (int i = 0; i < MAX_TURNS && G.tp->ops->conn_count(G.tp) != want; i++)
        sk_loop_run_once(G.loop, 10);
    return G.tp->ops->conn_count(G.tp) == want;
}

static void xor_str(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        s[i] ^= 0x20;
}

/* ---- tests ---- */

/* Without a filter the framer sees the bytes as sent, a line split over two
 * writes is framed once whole, and the replies come back on the connection. */
static void test_plain_framing(void **state)
{
    char buf[64];
    bool eof;
    int fd = peer_connect(&G.addr);
    (void) state;

    peer_write(fd, "one\ntw", 6);
    assert_int_equal(peer_read(fd, buf, 7, &eof), 7);
    assert_memory_equal(buf, "ok one\n", 7);
    peer_write(fd, "o\n", 2);
    assert_int_equal(peer_read(fd, buf, 7, &eof), 7);
    assert_memory_equal(buf, "ok two\n", 7);
    assert_int_equal(G.nline, 2);
    assert_string_equal(G.line[1], "two");
    assert_int_equal(G.tp->ops->conn_count(G.tp), 1);
    close(fd);
    assert_true(pump_until_conns(0));
}

/* A framer that loses the framing has the connection closed once its reply left. */
static void test_framing_lost_closes(void **state)
{
    char buf[64];
    bool eof;
    int fd = peer_connect(&G.addr);
    (void) state;

    peer_write(fd, "a\nbad\nnever\n", 12);
    assert_int_equal(peer_read(fd, buf, 5, &eof), 5);
    assert_memory_equal(buf, "ok a\n", 5);
    peer_read(fd, buf, sizeof(buf), &eof);
    assert_true(eof);
    assert_int_equal(G.nline, 2); /* "never" was not framed */
    assert_true(pump_until_conns(0));
    close(fd);
}

/* Through the filter: the greeting comes first, the framer sees plain lines,
 * and what it sends leaves in the filter's wire form. */
static void test_filter_accepted(void **state)
{
    char buf[64], msg[] = "hello\n";
    bool eof;
    int fd = peer_connect(&G.addr);
    (void) state;

    assert_int_equal(peer_read(fd, buf, 3, &eof), 3);
    assert_memory_equal(buf, "HI\n", 3);
    peer_write(fd, "R", 1); /* the handshake is done */
    xor_str(msg, 6);
    peer_write(fd, msg, 6);
    assert_int_equal(peer_read(fd, buf, 9, &eof), 9);
    xor_str(buf, 9);
    assert_memory_equal(buf, "ok hello\n", 9);
    assert_int_equal(G.nline, 1);
    assert_string_equal(G.line[0], "hello");
    assert_int_equal(G.opened, 1);
    close(fd);
    assert_true(pump_until_conns(0));
    assert_int_equal(G.closed, 1);
}

/* An error from the filter's input closes the connection. */
static void test_filter_error_closes(void **state)
{
    char buf[64];
    bool eof;
    int fd = peer_connect(&G.addr);
    (void) state;

    assert_int_equal(peer_read(fd, buf, 3, &eof), 3);
    peer_write(fd, "!", 1);
    peer_read(fd, buf, sizeof(buf), &eof);
    assert_true(eof);
    assert_true(pump_until_conns(0));
    assert_int_equal(G.nline, 0);
    close(fd);
}

/* A connection we open gets the filter too: the peer reads the greeting,
 * then our bytes in wire form. */
static void test_filter_connected(void **state)
{
    struct sk_sa to;
    char buf[64];
    bool eof;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
    struct timeval tv = {5, 0};
    (void) state;

    assert_true(lfd >= 0);
    assert_int_equal(sk_sa_from_ip(&to, sk_str_cstr("127.0.0.1"), 0), 0);
    assert_int_equal(bind(lfd, &to.u.sa, to.len), 0);
    to.len = sizeof(to.u);
    assert_int_equal(getsockname(lfd, &to.u.sa, &to.len), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(G.tp->ops->send(G.tp, NULL, &to, NULL, "req\n", 4, 0), 0);
    fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    peer_write(fd, "R", 1); /* the handshake: done */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(peer_read(fd, buf, 7, &eof), 7);
    assert_memory_equal(buf, "HI\n", 3);
    xor_str(buf + 3, 4);
    assert_memory_equal(buf + 3, "req\n", 4);
    assert_int_equal(G.tp->ops->conn_count(G.tp), 1);
    close(fd);
    close(lfd);
    assert_true(pump_until_conns(0));
}

/* A peer that never finishes the handshake is closed at the deadline, though
 * it keeps sending bytes (slow-loris); one that finishes it stays open past it. */
static void test_filter_handshake_deadline(void **state)
{
    struct sk_tp_stats st;
    struct timeval t0, t1;
    char buf[64];
    bool eof;
    int slow = peer_connect(&G.addr), done = peer_connect(&G.addr);
    long ms;
    (void) state;

    gettimeofday(&t0, NULL);
    assert_int_equal(peer_read(slow, buf, 3, &eof), 3);
    assert_int_equal(peer_read(done, buf, 3, &eof), 3);
    peer_write(done, "R", 1);
    for (int i = 0; i < 8 && !eof; i++) {
        char x = 'x' ^ 0x20;
        peer_write(slow, &x, 1);
        peer_read(slow, buf, sizeof(buf),
                  &eof); /* ~5 turns of 10 ms with nothing to read */
    }
    peer_read(slow, buf, sizeof(buf), &eof);
    assert_true(eof);
    gettimeofday(&t1, NULL);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    assert_true(ms >=
                HANDSHAKE_MS - 20); /* not before the deadline (the loop's timer grid) */
    assert_true(pump_until_conns(1)); /* the one that finished is still open */
    G.tp->ops->stats(G.tp, &st);
    assert_int_equal(st.closed_handshake, 1);
    assert_int_equal(st.closed_idle, 0);
    close(slow);
    close(done);
    assert_true(pump_until_conns(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_framing, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_framing_lost_closes, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_filter_accepted, setup_filter, teardown),
        cmocka_unit_test_setup_teardown(test_filter_error_closes, setup_filter, teardown),
        cmocka_unit_test_setup_teardown(test_filter_connected, setup_filter, teardown),
        cmocka_unit_test_setup_teardown(test_filter_handshake_deadline, setup_filter,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
