/* Tests of the transports (sip/transport.h) through their public API on loopback: UDP, TCP framing, 400 for a stream message without Content-Length, connection reuse, keep-alive pongs, idle close. */
#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "sip/msg.h"
#include "sip/print.h"
#include "sip/tp.h"
#include "sip/transport.h"

/* Every wait is bounded: at most this many loop turns of at most 10 ms. */
#define MAX_TURNS 500

#define MAXMSG 16

static struct {
    struct sk_loop *loop;
    struct sip_tpm *tpm;
    struct sip_listen udp, tcp;
    /* what the handler saw */
    size_t nmsg;
    char call_id[MAXMSG][64];
    enum sip_proto proto[MAXMSG];
    struct sk_sa src[MAXMSG];
    bool had_conn[MAXMSG];
    size_t nbad;
    int bad_status[MAXMSG];
    bool answer; /* answer every request with 200 (and every malformed one with its status) */
    uint64_t rx_now[MAXMSG]; /* sk_loop_now in the handler */
} G;

static void on_message(void *arg, struct sip_rx *rx)
{
    size_t i = G.nmsg;
    (void) arg;

    assert_true(i < MAXMSG);
    sk_str_copy(G.call_id[i], sizeof(G.call_id[i]), rx->msg->call_id);
    G.proto[i] = rx->proto;
    G.src[i] = rx->src;
    G.had_conn[i] = rx->conn != NULL;
    G.rx_now[i] = sk_loop_now(rx->loop);
    __atomic_store_n(&G.nmsg, i + 1, __ATOMIC_RELEASE);
    if (G.answer && rx->msg->is_request) {
        struct sk_buf b;
        sk_buf_init(&b);
        sip_print_response_head(&b, rx->msg, 200, NULL, SK_STR_NULL);
        sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
        assert_false(b.failed);
        assert_int_equal(sip_tpm_send_response(G.tpm, rx, b.p, b.len), 0);
        sk_buf_free(&b);
    }
}

static void on_malformed(void *arg, struct sip_rx *rx, const struct sip_error *err)
{
    (void) arg;
    assert_true(G.nbad < MAXMSG);
    G.bad_status[G.nbad++] = err->status;
    if (G.answer && rx->msg->is_request && err->status) {
        /* what the server does: the parser's status, statelessly */
        struct sk_buf b;
        sk_buf_init(&b);
        sip_print_status_line(&b, err->status, NULL);
        sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
        sip_tpm_send_response(G.tpm, rx, b.p, b.len);
        sk_buf_free(&b);
    }
}

static const struct sip_tpm_handler handler = {on_message, on_malformed, NULL, NULL};

static int start(uint32_t idle_ms)
{
    struct sip_tpm_config cfg = sip_tpm_config_default;

    memset(&G, 0, sizeof(G));
    G.answer = true;
    cfg.tcp_idle_ms = idle_ms;
    if (sk_loop_new(&G.loop, 0) || sip_tpm_new(&G.tpm, &cfg, &G.loop, 1, &handler))
        return -1;
    if (sip_listen_parse("udp:127.0.0.1:0", &G.udp) || sip_tpm_listen(G.tpm, &G.udp))
        return -1;
    if (sip_listen_parse("tcp:127.0.0.1:0", &G.tcp) || sip_tpm_listen(G.tpm, &G.tcp))
        return -1;
    return sk_sa_port(&G.udp.addr) && sk_sa_port(&G.tcp.addr) ? 0 : -1;
}

static int setup(void **state)
{
    (void) state;
    return start(sip_tpm_config_default.tcp_idle_ms);
}

static int setup_short_idle(void **state)
{
    (void) state;
    return start(50);
}

static int teardown(void **state)
{
    (void) state;
    sip_tpm_free(G.tpm);
    sk_loop_free(G.loop);
    return 0;
}

/* Run the loop until *n reaches want (or the bound); returns whether it did. */
static bool pump_until(const size_t *n, size_t want)
{
    for (int i = 0; i < MAX_TURNS && *n < want; i++)
        sk_loop_run_once(G.loop, 10);
    return *n >= want;
}

static void pump_turns(int turns)
{
    for (int i = 0; i < turns; i++)
        sk_loop_run_once(G.loop, 10);
}

static bool pump_until_conns(size_t want)
{
    for (int i = 0; i < MAX_TURNS && sip_tpm_conn_count(G.tpm) != want; i++)
        sk_loop_run_once(G.loop, 10);
    return sip_tpm_conn_count(G.tpm) == want;
}

/* ---- the peer: plain sockets with a receive timeout ---- */

static int peer_socket(int type)
{
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, type, 0), one = 1;

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    if (type == SOCK_STREAM)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void peer_bind_any(int fd, struct sk_sa *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET};

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
    bound->len = sizeof(bound->u);
    assert_int_equal(getsockname(fd, &bound->u.sa, &bound->len), 0);
}

static int peer_connect(const struct sk_sa *to)
{
    int fd = peer_socket(SOCK_STREAM);

    assert_int_equal(connect(fd, &to->u.sa, to->len), 0);
    return fd;
}

static void peer_write(int fd, const char *p, size_t len)
{
    assert_int_equal(write(fd, p, len), (ssize_t) len);
}

/* Read from a stream peer, running the loop between tries, until buf holds
 * a line starting with want (or EOF or the bound). */
static bool peer_read_until(int fd, char *buf, size_t size, const char *want, size_t *got)
{
    *got = 0;
    for (int i = 0; i < MAX_TURNS; i++) {
        ssize_t n;
        sk_loop_run_once(G.loop, 10);
        n = recv(fd, buf + *got, size - 1 - *got, MSG_DONTWAIT);
        if (n > 0)
            *got += (size_t) n;
        buf[*got] = '\0';
        if (strstr(buf, want))
            return true;
        if (n == 0)
            return false;
    }
    return false;
}

/* The peer's stream is closed by the server: recv returns 0. */
static bool peer_sees_eof(int fd)
{
    char b[512];
    for (int i = 0; i < MAX_TURNS; i++) {
        ssize_t n;
        sk_loop_run_once(G.loop, 10);
        n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (n == 0)
            return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return true; /* reset counts as closed */
    }
    return false;
}

static char *request(const char *method, const char *call_id, bool with_length, const char *proto)
{
    char *r = malloc(1024);
    assert_non_null(r);
    snprintf(r, 1024,
             "%s sip:svc@127.0.0.1 SIP/2.0\r\n"
             "Via: SIP/2.0/%s 127.0.0.1:5999;branch=z9hG4bK-%s;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:a@127.0.0.1>;tag=f-%s\r\n"
             "To: <sip:svc@127.0.0.1>\r\n"
             "Call-ID: %s\r\n"
             "CSeq: 1 %s\r\n"
             "%s"
             "\r\n",
             method, proto, call_id, call_id, call_id, method,
             with_length ? "Content-Length: 0\r\n" : "");
    return r;
}

/* ---- UDP ---- */

/* A datagram in, handed up with its source; the answer goes back to the
 * source port (rport); a request sent with sip_tpm_send reaches the peer. */
static void test_udp_send_receive(void **state)
{
    (void) state;
    int fd = peer_socket(SOCK_DGRAM);
    struct sk_sa me;
    char *req = request("OPTIONS", "udp-1", true, "UDP");
    char buf[2048];
    ssize_t n;

    peer_bind_any(fd, &me);
    assert_int_equal(sendto(fd, req, strlen(req), 0, &G.udp.addr.u.sa, G.udp.addr.len),
                     (ssize_t) strlen(req));
    assert_true(pump_until(&G.nmsg, 1));
    assert_string_equal(G.call_id[0], "udp-1");
    assert_int_equal(G.proto[0], SIP_PROTO_UDP);
    assert_false(G.had_conn[0]);
    assert_true(sk_sa_equal(&G.src[0], &me));
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_memory_equal(buf, "SIP/2.0 200 ", 12);
    assert_non_null(strstr(buf, "Call-ID: udp-1\r\n"));

    /* a request of ours to the peer */
    {
        struct sip_dest d = {.proto = SIP_PROTO_UDP, .addr = me};
        char *out = request("MESSAGE", "udp-2", true, "UDP");
        assert_int_equal(sip_tpm_send(G.tpm, &d, out, strlen(out)), 0);
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        assert_int_equal(n, (ssize_t) strlen(out));
        assert_memory_equal(buf, out, strlen(out));
        free(out);
    }
    {
        struct sip_tpm_stats st;
        sip_tpm_stats(G.tpm, &st);
        assert_int_equal(st.udp_rx, 1);
        assert_int_equal(st.malformed, 0);
    }
    assert_int_equal(sip_tpm_conn_count(G.tpm), 0);
    close(fd);
    free(req);
}

/* ---- TCP framing ---- */

/* Two messages in one segment are two messages, in order. */
static void test_tcp_two_in_one_write(void **state)
{
    (void) state;
    int fd = peer_connect(&G.tcp.addr);
    char *a = request("OPTIONS", "two-a", true, "TCP");
    char *b = request("OPTIONS", "two-b", true, "TCP");
    char both[2048];
    char resp[4096];
    size_t got;

    G.answer = false;
    snprintf(both, sizeof(both), "%s%s", a, b);
    peer_write(fd, both, strlen(both));
    assert_true(pump_until(&G.nmsg, 2));
    pump_turns(5);
    assert_int_equal(G.nmsg, 2);
    assert_string_equal(G.call_id[0], "two-a");
    assert_string_equal(G.call_id[1], "two-b");
    assert_int_equal(G.proto[0], SIP_PROTO_TCP);
    assert_true(G.had_conn[0] && G.had_conn[1]);
    assert_int_equal(G.nbad, 0);
    assert_int_equal(sip_tpm_conn_count(G.tpm), 1);
    /* a CRLFCRLF ping between messages gets a CRLF pong (RFC 5626 §4.4.1) */
    peer_write(fd, "\r\n\r\n", 4);
    assert_true(peer_read_until(fd, resp, sizeof(resp), "\r\n", &got));
    assert_int_equal(got, 2);
    assert_memory_equal(resp, "\r\n", 2);
    {
        struct sip_tpm_stats st;
        sip_tpm_stats(G.tpm, &st);
        assert_int_equal(st.tcp_rx, 2);
        assert_int_equal(st.tcp_accepted, 1);
        assert_int_equal(st.keepalive_pongs, 1);
    }
    close(fd);
    assert_true(pump_until_conns(0));
    free(a);
    free(b);
}

/* One message written a few bytes at a time is one message, handed up only
 * when its last byte has come. */
static void test_tcp_one_over_many_writes(void **state)
{
    (void) state;
    int fd = peer_connect(&G.tcp.addr);
    char *req = request("OPTIONS", "slow-1", true, "TCP");
    size_t len = strlen(req), step = 7;
    char resp[4096];
    size_t got;

    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        peer_write(fd, req + off, n);
        pump_turns(2);
        if (off + n < len)
            assert_int_equal(G.nmsg, 0);
    }
    assert_true(pump_until(&G.nmsg, 1));
    assert_string_equal(G.call_id[0], "slow-1");
    assert_int_equal(G.nbad, 0);
    /* the answer comes back on the same connection */
    assert_true(peer_read_until(fd, resp, sizeof(resp), "\r\n\r\n", &got));
    assert_memory_equal(resp, "SIP/2.0 200 ", 12);
    assert_int_equal(sip_tpm_conn_count(G.tpm), 1);
    close(fd);
    free(req);
}

/* §18.3: a stream message needs Content-Length. Without it the handler hears
 * a malformed message with status 400, the answer goes back, and the
 * connection (whose framing is lost) is closed. */
static void test_tcp_no_content_length_400(void **state)
{
    (void) state;
    int fd = peer_connect(&G.tcp.addr);
    char *req = request("OPTIONS", "nolen-1", false, "TCP");
    char resp[4096];
    size_t got;

    /* the next line starts: the end of the header is known */
    peer_write(fd, req, strlen(req));
    peer_write(fd, "OPTIONS", 7);
    assert_true(pump_until(&G.nbad, 1));
    assert_int_equal(G.bad_status[0], 400);
    assert_int_equal(G.nmsg, 0);
    assert_true(peer_read_until(fd, resp, sizeof(resp), "\r\n\r\n", &got));
    assert_memory_equal(resp, "SIP/2.0 400 ", 12);
    assert_true(peer_sees_eof(fd));
    assert_true(pump_until_conns(0));
    {
        struct sip_tpm_stats st;
        sip_tpm_stats(G.tpm, &st);
        assert_int_equal(st.tcp_closed_garbage, 1);
        assert_int_equal(st.malformed, 1);
    }
    close(fd);
    free(req);
}

/* ---- Connection reuse ---- */

/* A request to a peer that has a connection open to us goes on that connection
 * (no new one); a request to a peer we connect to reuses our connection. */
static void test_tcp_connection_reuse(void **state)
{
    (void) state;
    int fd = peer_connect(&G.tcp.addr);
    char *req = request("OPTIONS", "reuse-1", true, "TCP");
    char *out = request("MESSAGE", "reuse-2", true, "TCP");
    struct sk_sa peer_addr;
    char buf[4096];
    size_t got;

    G.answer = false;
    peer_write(fd, req, strlen(req));
    assert_true(pump_until(&G.nmsg, 1));
    peer_addr = G.src[0];
    {
        /* no connection given: the open one to that address is found */
        struct sip_dest d = {.proto = SIP_PROTO_TCP, .addr = peer_addr};
        assert_int_equal(sip_tpm_send(G.tpm, &d, out, strlen(out)), 0);
    }
    assert_true(peer_read_until(fd, buf, sizeof(buf), "Call-ID: reuse-2", &got));
    assert_int_equal(sip_tpm_conn_count(G.tpm), 1);
    close(fd);
    assert_true(pump_until_conns(0));

    /* outgoing: a listener of the peer's; two requests, one connection */
    {
        int lfd = peer_socket(SOCK_STREAM), cfd;
        struct sk_sa la;
        struct sip_dest d = {.proto = SIP_PROTO_TCP};
        peer_bind_any(lfd, &la);
        assert_int_equal(listen(lfd, 4), 0);
        d.addr = la;
        assert_int_equal(sip_tpm_send(G.tpm, &d, req, strlen(req)), 0);
        assert_int_equal(sip_tpm_send(G.tpm, &d, out, strlen(out)), 0);
        assert_int_equal(sip_tpm_conn_count(G.tpm), 1);
        cfd = accept(lfd, NULL, NULL);
        assert_true(cfd >= 0);
        assert_true(peer_read_until(cfd, buf, sizeof(buf), "Call-ID: reuse-2", &got));
        assert_non_null(strstr(buf, "Call-ID: reuse-1"));
        assert_true(strstr(buf, "Call-ID: reuse-1") < strstr(buf, "Call-ID: reuse-2"));
        assert_int_equal(sip_tpm_conn_count(G.tpm), 1);
        {
            /* nobody else connected to the listener */
            int extra;
            struct timeval tv = {0, 1000};
            setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            extra = accept(lfd, NULL, NULL);
            assert_true(extra < 0);
        }
        close(cfd);
        close(lfd);
        assert_true(pump_until_conns(0));
    }
    free(req);
    free(out);
}

/* ---- Idle close ---- */

/* A connection idle for tcp_idle_ms is closed and counted. */
static void test_tcp_idle_close(void **state)
{
    (void) state;
    int fd = peer_connect(&G.tcp.addr);

    assert_true(pump_until_conns(1));
    assert_true(peer_sees_eof(fd));
    assert_true(pump_until_conns(0));
    {
        struct sip_tpm_stats st;
        sip_tpm_stats(G.tpm, &st);
        assert_int_equal(st.tcp_closed_idle, 1);
    }
    close(fd);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void *run_loop(void *arg)
{
    sk_loop_run(arg);
    return NULL;
}

/* A worker whose only descriptor is its UDP socket blocks in recvmmsg (the
 * direct wait). A datagram that ends a long idle wait is handled with the
 * loop's clock at its arrival, not at the start of the wait: timers the
 * handler starts (and caches it fills) would otherwise be late by the idle. */
static void test_udp_direct_wait_clock(void **state)
{
    struct sip_tpm_config cfg = sip_tpm_config_default;
    int fd = peer_socket(SOCK_DGRAM);
    char *req = request("OPTIONS", "udp-idle", true, "UDP");
    pthread_t th;
    uint64_t sent;
    int turns;
    (void) state;

    memset(&G, 0, sizeof(G));
    cfg.udp_direct = true;
    assert_int_equal(sk_loop_new(&G.loop, 0), 0);
    assert_int_equal(sip_tpm_new(&G.tpm, &cfg, &G.loop, 1, &handler), 0);
    assert_int_equal(sip_listen_parse("udp:127.0.0.1:0", &G.udp), 0);
    assert_int_equal(sip_tpm_listen(G.tpm, &G.udp), 0);
    assert_int_equal(pthread_create(&th, NULL, run_loop, G.loop), 0);
    usleep(300 * 1000); /* the worker waits in recvmmsg meanwhile */
    sent = mono_ms();
    assert_int_equal(sendto(fd, req, strlen(req), 0, &G.udp.addr.u.sa, G.udp.addr.len),
                     (ssize_t) strlen(req));
    for (turns = 0; turns < MAX_TURNS && __atomic_load_n(&G.nmsg, __ATOMIC_ACQUIRE) < 1; turns++)
        usleep(10 * 1000);
    sk_loop_stop(G.loop);
    pthread_join(th, NULL);
    assert_int_equal(G.nmsg, 1);
    /* causal, not a timing bound: the handler ran after the send */
    if (G.rx_now[0] < sent)
        fail_msg("the handler saw the loop clock at %llu ms, the datagram was sent at %llu",
                 (unsigned long long) G.rx_now[0], (unsigned long long) sent);
    sip_tpm_free(G.tpm);
    sk_loop_free(G.loop);
    close(fd);
    free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udp_send_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_two_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_one_over_many_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_no_content_length_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_connection_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_idle_close, setup_short_idle, teardown),
        cmocka_unit_test(test_udp_direct_wait_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
