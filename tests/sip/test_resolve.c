/* The resolve step (sip/resolve.h): IP literals, default ports and transports, what
 * cannot be resolved yet, immediate and deferred callbacks, cancel. */
#define TU_CHECKS
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "net/loop.h"
#include "sip/resolve.h"

static const char *g_ctx = "";

static void parse_uri(struct sip_uri *u, const char *text)
{
    struct sip_error e;
    if (sip_uri_parse(u, text, strlen(text), &e) != 0) fail_msg("not a URI: %s", text);
}

static int resolve_now(const struct sip_resolve_config *cfg, const char *uri,
                       struct sip_resolve_result *res)
{
    struct sip_uri u;
    g_ctx = uri;
    parse_uri(&u, uri);
    return sip_resolve_now(cfg, &u, res);
}

static void chk_dest(const struct sip_dest *d, int family, const char *ip, uint16_t port,
                     enum sip_proto proto)
{
    char buf[64];
    CHK_INT(d->addr.u.sa.sa_family, family);
    CHK(strcmp(sk_sa_ip(&d->addr, buf, sizeof(buf)), ip) == 0);
    CHK_INT(sk_sa_port(&d->addr), port);
    CHK_INT(d->proto, proto);
    CHK(d->conn == NULL);
}

static void test_literals(void **state)
{
    struct sip_resolve_result res;
    (void) state;

    CHK_INT(resolve_now(&sip_resolve_config_default, "sip:bob@192.0.2.10", &res), 0);
    CHK_INT(res.n, 1);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5060, SIP_PROTO_UDP);

    CHK_INT(resolve_now(&sip_resolve_config_default,
                        "sip:bob@192.0.2.10:5070;transport=tcp", &res),
            0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5070, SIP_PROTO_TCP);

    CHK_INT(resolve_now(&sip_resolve_config_default, "sip:[2001:db8::1]", &res), 0);
    chk_dest(&res.dest[0], AF_INET6, "2001:db8::1", 5060, SIP_PROTO_UDP);

    CHK_INT(
        resolve_now(&sip_resolve_config_default, "sip:[::1]:5080;transport=TCP", &res),
        0);
    chk_dest(&res.dest[0], AF_INET6, "::1", 5080, SIP_PROTO_TCP);

    /* maddr overrides the host (§19.1.1) */
    CHK_INT(resolve_now(&sip_resolve_config_default,
                        "sip:bob@example.net;maddr=198.51.100.3", &res),
            0);
    chk_dest(&res.dest[0], AF_INET, "198.51.100.3", 5060, SIP_PROTO_UDP);
}

/* Without transport= the caller's default applies (a UA on TCP sends over TCP). */
static void test_default_proto(void **state)
{
    struct sip_resolve_config cfg = sip_resolve_config_default;
    struct sip_resolve_result res;
    (void) state;

    cfg.default_proto = SIP_PROTO_TCP;
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10", &res), 0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5060, SIP_PROTO_TCP);
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=udp", &res), 0);
    CHK_INT(res.dest[0].proto, SIP_PROTO_UDP);
}

static void test_not_yet(void **state)
{
    struct sip_resolve_config cfg = sip_resolve_config_default;
    struct sip_resolve_result res;
    (void) state;

    /* sips needs TLS, which does not exist yet; nor do SCTP and WS */
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10", &res), EPROTONOSUPPORT);
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=tls", &res), EPROTONOSUPPORT);
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=ws", &res), EPROTONOSUPPORT);
    CHK_INT(resolve_now(&cfg, "tel:+15551234567", &res), EPROTONOSUPPORT);
    /* the proxy has no DNS yet: a name is unreachable (404 upstream) */
    CHK_INT(resolve_now(&cfg, "sip:bob@example.net", &res), EHOSTUNREACH);
    CHK_INT(res.n, 0);
    /* the UA looks names up (here one that needs no DNS server) */
    cfg.names = SIP_RESOLVE_NAMES_BLOCKING;
    cfg.family = AF_INET;
    CHK_INT(resolve_now(&cfg, "sip:bob@localhost:5099", &res), 0);
    CHK(res.n >= 1);
    chk_dest(&res.dest[0], AF_INET, "127.0.0.1", 5099, SIP_PROTO_UDP);
}

struct got {
    int calls, err;
    size_t n;
    struct sip_dest first;
};

static void on_done(void *arg, int err, const struct sip_resolve_result *res)
{
    struct got *g = arg;
    g->calls++;
    g->err = err;
    g->n = res ? res->n : 0;
    if (res && res->n) g->first = res->dest[0];
    CHK(err ? res == NULL : res != NULL);
}

static void test_start_immediate(void **state)
{
    struct sip_resolver *r;
    struct sip_resolve *q = (void *) 1;
    struct sip_uri u;
    struct got g = {0};
    (void) state;

    g_ctx = "immediate";
    CHK_INT(sip_resolver_new(&r, NULL, NULL), 0);
    parse_uri(&u, "sip:bob@192.0.2.10:5070");
    CHK_INT(sip_resolve_start(r, &u, on_done, &g, &q), 0);
    CHK(q == NULL); /* answered during the call: nothing to cancel */
    CHK_INT(g.calls, 1);
    CHK_INT(g.err, 0);
    CHK_INT(g.n, 1);
    chk_dest(&g.first, AF_INET, "192.0.2.10", 5070, SIP_PROTO_UDP);

    g = (struct got){0};
    parse_uri(&u, "sip:bob@example.net");
    CHK_INT(sip_resolve_start(r, &u, on_done, &g, &q), 0);
    CHK_INT(g.calls, 1);
    CHK_INT(g.err, EHOSTUNREACH);
    CHK_INT(sip_resolver_pending(r), 0);
    sip_resolver_free(r);

    /* deferring needs a loop to deliver on */
    struct sip_resolve_config cfg = sip_resolve_config_default;
    cfg.defer = true;
    CHK_INT(sip_resolver_new(&r, &cfg, NULL), EINVAL);
}

/* The path DNS will take: the callback comes later, from the loop. */
static void test_start_deferred_and_cancel(void **state)
{
    struct sip_resolve_config cfg = sip_resolve_config_default;
    struct sip_resolver *r;
    struct sip_resolve *q1, *q2, *q3;
    struct sk_loop *loop;
    struct got g1 = {0}, g2 = {0}, g3 = {0};
    struct sip_uri u;
    (void) state;

    g_ctx = "deferred";
    cfg.defer = true;
    CHK_INT(sk_loop_new(&loop, SK_LOOP_FAKE_CLOCK), 0);
    CHK_INT(sip_resolver_new(&r, &cfg, loop), 0);
    {
        char text[] = "sip:bob@[2001:db8::5]:5090;transport=tcp";
        parse_uri(&u, text);
        CHK_INT(sip_resolve_start(r, &u, on_done, &g1, &q1), 0);
        memset(text, 'x', sizeof(text) - 1); /* the URI need not outlive the call */
    }
    parse_uri(&u, "sips:bob@192.0.2.10");
    CHK_INT(sip_resolve_start(r, &u, on_done, &g2, &q2), 0);
    parse_uri(&u, "sip:bob@192.0.2.11");
    CHK_INT(sip_resolve_start(r, &u, on_done, &g3, &q3), 0);
    CHK(q1 && q2 && q3);
    CHK_INT(g1.calls + g2.calls + g3.calls, 0); /* nothing during the call */
    CHK_INT(sip_resolver_pending(r), 3);

    sip_resolve_cancel(q3);
    CHK_INT(sip_resolver_pending(r), 2);
    sk_loop_advance(loop, 1);
    CHK_INT(g1.calls, 1);
    CHK_INT(g1.err, 0);
    chk_dest(&g1.first, AF_INET6, "2001:db8::5", 5090, SIP_PROTO_TCP);
    CHK_INT(g2.calls, 1);
    CHK_INT(g2.err, EPROTONOSUPPORT);
    CHK_INT(g3.calls, 0); /* cancelled */
    CHK_INT(sip_resolver_pending(r), 0);

    /* freeing the resolver cancels what still waits */
    parse_uri(&u, "sip:bob@192.0.2.12");
    CHK_INT(sip_resolve_start(r, &u, on_done, &g3, &q3), 0);
    sip_resolver_free(r);
    sk_loop_advance(loop, 10);
    CHK_INT(g3.calls, 0);
    sk_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_default_proto),
        cmocka_unit_test(test_not_yet),
        cmocka_unit_test(test_start_immediate),
        cmocka_unit_test(test_start_deferred_and_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
