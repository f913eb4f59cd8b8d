/* Tests of the server's request dispatch: the handler chain's order, a handler added by a
 * user, and each handler's answer (every status and reason phrase), over UDP on a
 * loopback port 0. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "base/log.h"
#include "server/server.h"
#include "server/server_int.h"
#include "sip/tp.h"

#define DOMAIN "example.com"

struct fx {
    struct sk_server *s;
    int fd;
    struct sockaddr_in srv;
    unsigned seq;
    char resp[4096];
    atomic_int spy_seen; /* requests the spy (first handler) saw */
    atomic_int taken;    /* MESSAGEs the test handler consumed */
};

/* First in the chain: sees every request and passes it on. */
static enum sip_tu_result spy_request(void *arg, struct sip_tu_req *req)
{
    struct fx *f = arg;
    (void) req;
    atomic_fetch_add(&f->spy_seen, 1);
    return SIP_TU_PASS;
}

/* Before default: takes MESSAGE to us (as a future UA or presence handler would). */
static enum sip_tu_result message_request(void *arg, struct sip_tu_req *req)
{
    struct fx *f = arg;

    if (req->rx->msg->method_id != SIP_METHOD_MESSAGE) return SIP_TU_PASS;
    atomic_fetch_add(&f->taken, 1);
    sk_server_respond(f->s, req->st, req->rx, 202, "Taken By Test", NULL);
    return SIP_TU_HANDLED;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sk_server_config cfg;
    struct sockaddr_in me = {.sin_family = AF_INET};
    const struct sip_tu_handler spy = {.name = "spy", .request = spy_request, .arg = f};
    const struct sip_tu_handler msg = {
        .name = "message", .request = message_request, .arg = f};

    assert_non_null(f);
    sk_log_set_level(SK_LOG_ERROR);
    sk_server_config_defaults(&cfg);
    assert_int_equal(sip_listen_parse("udp:127.0.0.1:0", &cfg.listen[0]), 0);
    cfg.nlisten = 1;
    cfg.workers = 1;
    snprintf(cfg.domains[0], sizeof(cfg.domains[0]), DOMAIN);
    cfg.ndomains = 1;
    cfg.data_dir[0] = '\0'; /* memory only */
    cfg.reg.auth = false;
    cfg.sched_batch = false;
    assert_int_equal(sk_server_new(&f->s, &cfg), 0);
    assert_int_equal(sk_server_handler_add(f->s, &spy, "sanity"), 0);
    assert_int_equal(sk_server_handler_add(f->s, &msg, "default"), 0);
    assert_int_equal(sk_server_start(f->s), 0);
    assert_int_equal(sk_server_handler_add(f->s, &msg, NULL), EBUSY);
    f->srv.sin_family = AF_INET;
    f->srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->srv.sin_port = htons(sk_sa_port(&sk_server_config(f->s)->listen[0].addr));
    assert_true(ntohs(f->srv.sin_port) != 0);
    f->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(f->fd >= 0);
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->fd, (struct sockaddr *) &me, sizeof(me)), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    sk_server_stop(f->s);
    sk_server_free(f->s);
    close(f->fd);
    free(f);
    return 0;
}

/* Send a request (method, Request-URI, extra header lines) and return the response
 * (its start line and headers), or fail after 5 s. */
static const char *ask(struct fx *f, const char *method, const char *ruri, const char *to,
                       const char *hdrs)
{
    char req[2048];
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    const char *cseq_method = strcmp(method, "ACK") == 0 ? "ACK" : method;
    unsigned seq = ++f->seq;
    int n = snprintf(req, sizeof(req),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-dispatch-%u\r\n"
                     "%s"
                     "From: <sip:carol@other.example>;tag=f%u\r\n"
                     "To: <%s>\r\n"
                     "Call-ID: dispatch-%u\r\n"
                     "CSeq: %u %s\r\n"
                     "%s"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, seq,
                     strstr(hdrs, "Max-Forwards:") ? "" : "Max-Forwards: 70\r\n", seq,
                     to ? to : ruri, seq, seq, cseq_method, hdrs);
    ssize_t r;

    assert_true(n > 0 && (size_t) n < sizeof(req));
    assert_int_equal(
        sendto(f->fd, req, (size_t) n, 0, (struct sockaddr *) &f->srv, sizeof(f->srv)),
        n);
    for (int tries = 0; tries < 50; tries++) {
        if (poll(&p, 1, 100) != 1) continue;
        r = recv(f->fd, f->resp, sizeof(f->resp) - 1, 0);
        assert_true(r > 0);
        f->resp[r] = '\0';
        /* a 100 Trying is not the answer */
        if (strncmp(f->resp, "SIP/2.0 100 ", 12) == 0) continue;
        return f->resp;
    }
    fail_msg("no response to %s %s", method, ruri);
    return NULL;
}

/* The response starts with start_line and carries header (when not NULL). */
static void expect(struct fx *f, const char *method, const char *ruri, const char *to,
                   const char *hdrs, const char *start_line, const char *header, int line)
{
    const char *r = ask(f, method, ruri, to, hdrs);
    size_t n = strlen(start_line);

    if (strncmp(r, start_line, n) != 0 || strncmp(r + n, "\r\n", 2) != 0)
        fail_msg("line %d: %s %s: got\n%s\nwant %s", line, method, ruri, r, start_line);
    if (header && !strstr(r, header))
        fail_msg("line %d: %s %s: no '%s' in\n%s", line, method, ruri, header, r);
}

#define EXPECT_TO(f, method, ruri, to, hdrs, start_line, header)                         \
    expect((f), (method), (ruri), (to), (hdrs), (start_line), (header), __LINE__)
#define EXPECT(f, method, ruri, hdrs, start_line, header)                                \
    EXPECT_TO(f, method, ruri, NULL, hdrs, start_line, header)

/* The chain as the server builds it, with the test's two handlers in their places. */
static void test_chain_order(void **state)
{
    static const char *const want[] = {"spy",       "sanity", "cancel",  "options",
                                       "registrar", "proxy",  "message", "default"};
    struct fx *f = *state;
    const struct sip_tu *tu = sk_server_handlers(f->s);

    assert_int_equal(tu->n, sizeof(want) / sizeof(want[0]));
    for (unsigned i = 0; i < tu->n; i++)
        assert_string_equal(tu->h[i].name, want[i]);
}

/* What the server answers itself, handler by handler. */
static void test_for_us(void **state)
{
    struct fx *f = *state;
    int seen = atomic_load(&f->spy_seen);

    /* options (stateless: no Route) */
    EXPECT(f, "OPTIONS", "sip:" DOMAIN, "", "SIP/2.0 200 OK",
           "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n");
    EXPECT(f, "OPTIONS", "sip:" DOMAIN, "", "SIP/2.0 200 OK",
           "Supported: path, outbound\r\n");
    /* sanity: Require for us, Proxy-Require for anyone */
    EXPECT(f, "OPTIONS", "sip:" DOMAIN, "Require: foo, path\r\n",
           "SIP/2.0 420 Bad Extension", "Unsupported: foo\r\n");
    EXPECT(f, "OPTIONS", "sip:" DOMAIN, "Proxy-Require: bar\r\n",
           "SIP/2.0 420 Bad Extension", "Unsupported: bar\r\n");
    /* registrar (every REGISTER is stateless) */
    EXPECT(f, "REGISTER", "sip:" DOMAIN, "Contact: <sip:carol@127.0.0.1:9>\r\n",
           "SIP/2.0 404 Address-of-Record Has No User Part", NULL);
    /* default: unknown method 501, no dialog 481, no transaction 481, the rest 405 */
    EXPECT(f, "FOO", "sip:" DOMAIN, "", "SIP/2.0 501 Not Implemented",
           "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n");
    EXPECT(f, "FOO", "sip:" DOMAIN, "Require: foo\r\n", "SIP/2.0 501 Not Implemented",
           NULL);
    EXPECT(f, "BYE", "sip:" DOMAIN, "", "SIP/2.0 481 Call/Transaction Does Not Exist",
           NULL);
    EXPECT(f, "CANCEL", "sip:" DOMAIN, "", "SIP/2.0 481 Call/Transaction Does Not Exist",
           NULL);
    EXPECT(f, "INVITE", "sip:" DOMAIN, "", "SIP/2.0 405 Method Not Allowed",
           "Allow: OPTIONS, REGISTER\r\n");
    /* the handler added before default consumes MESSAGE; default still gets the rest */
    EXPECT(f, "MESSAGE", "sip:" DOMAIN, "", "SIP/2.0 202 Taken By Test", NULL);
    assert_int_equal(atomic_load(&f->taken), 1);
    EXPECT(f, "SUBSCRIBE", "sip:" DOMAIN, "", "SIP/2.0 405 Method Not Allowed", NULL);
    /* the spy ahead of sanity saw every one of them */
    assert_int_equal(atomic_load(&f->spy_seen) - seen, 12);
}

/* The registrar's answers through the server: a binding added and listed, a foreign AOR.
 */
static void test_register(void **state)
{
    struct fx *f = *state;

    EXPECT_TO(f, "REGISTER", "sip:" DOMAIN, "sip:carol@" DOMAIN,
              "Contact: <sip:carol@127.0.0.1:9>\r\nExpires: 600\r\n", "SIP/2.0 200 OK",
              "Contact: <sip:carol@127.0.0.1:9>;expires=600\r\n");
    EXPECT_TO(f, "REGISTER", "sip:" DOMAIN, "sip:carol@other.example",
              "Contact: <sip:carol@127.0.0.1:9>\r\n",
              "SIP/2.0 404 Address-of-Record Not in This Domain", NULL);
    EXPECT_TO(f, "REGISTER", "sip:" DOMAIN, "sip:carol@" DOMAIN,
              "Contact: <sip:carol@127.0.0.1:9>\r\nExpires: 5\r\n",
              "SIP/2.0 423 Interval Too Brief", "Min-Expires: 60\r\n");
}

/* A response that matches no transaction and whose Via is not ours: the proxy
 * handler's response hook drops and counts it (§18.1.2). */
static void test_stray_response(void **state)
{
    static const char resp[] = "SIP/2.0 200 OK\r\n"
                               "Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-stray\r\n"
                               "From: <sip:a@other.example>;tag=1\r\n"
                               "To: <sip:b@other.example>;tag=2\r\n"
                               "Call-ID: stray-1\r\n"
                               "CSeq: 1 OPTIONS\r\n"
                               "Content-Length: 0\r\n\r\n";
    struct fx *f = *state;
    struct sk_server_stats st;
    uint64_t before;

    sk_server_stats(f->s, &st);
    before = st.stray_responses_dropped;
    assert_int_equal(sendto(f->fd, resp, sizeof(resp) - 1, 0, (struct sockaddr *) &f->srv,
                            sizeof(f->srv)),
                     (ssize_t) sizeof(resp) - 1);
    /* bounded wait for the worker to count it (no timing assertion: 5 s is only a limit)
     */
    for (int i = 0; i < 500; i++) {
        sk_server_stats(f->s, &st);
        if (st.stray_responses_dropped > before) break;
        usleep(10000);
    }
    assert_int_equal(st.stray_responses_dropped, before + 1);
}

/* Requests that are not for us: sanity's 416/483, and the proxy handler's own answers. */
static void test_not_for_us(void **state)
{
    struct fx *f = *state;

    EXPECT(f, "OPTIONS", "tel:+15550100", "", "SIP/2.0 416 Unsupported URI Scheme", NULL);
    EXPECT(f, "REGISTER", "sip:other.example", "", "SIP/2.0 403 Domain Not Served Here",
           NULL);
    EXPECT(f, "FOO", "sip:bob@other.example", "", "SIP/2.0 501 Not Implemented",
           "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n");
    EXPECT(f, "OPTIONS", "sip:bob@other.example", "Max-Forwards: 0\r\n",
           "SIP/2.0 483 Too Many Hops", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_order),    cmocka_unit_test(test_for_us),
        cmocka_unit_test(test_register),       cmocka_unit_test(test_not_for_us),
        cmocka_unit_test(test_stray_response),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
