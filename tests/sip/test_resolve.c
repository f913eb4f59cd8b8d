/* The resolve step (sip/resolve.h): IP literals, default ports and transports, what
 * cannot be resolved yet, immediate and deferred callbacks, cancel. */
#define TU_CHECKS
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
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

    /* sips needs TLS, refused without a TLS transport (never downgraded); SCTP and
     * WS do not exist yet */
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10", &res), EPROTONOSUPPORT);
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=tls", &res), EPROTONOSUPPORT);
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10;transport=udp", &res), EPROTONOSUPPORT);
    cfg.tls = true;
    /* with TLS: sips (and sips;transport=tcp, and the old transport=tls) at 5061 by
     * default, the name to check the certificate against kept (RFC 5922 §7.3) */
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10", &res), 0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5061, SIP_PROTO_TLS);
    CHK(strcmp(res.dest[0].name, "192.0.2.10") == 0);
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10:5071;transport=tcp", &res), 0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5071, SIP_PROTO_TLS);
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=tls", &res), 0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 5061, SIP_PROTO_TLS);
    CHK_INT(resolve_now(&cfg, "sips:bob@192.0.2.10;transport=udp", &res), EPROTONOSUPPORT);
    cfg.tls = false;
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10;transport=sctp", &res), EPROTONOSUPPORT);
    /* WebSocket: an address (reached over a connection the client opened) */
    CHK_INT(resolve_now(&cfg, "sip:bob@192.0.2.10:8088;transport=ws", &res), 0);
    chk_dest(&res.dest[0], AF_INET, "192.0.2.10", 8088, SIP_PROTO_WS);
    CHK_INT(resolve_now(&cfg, "tel:+15551234567", &res), EPROTONOSUPPORT);
    /* without DNS, a name cannot be answered now (DNS is on the waiting path) */
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

/* RFC 2782 with a scripted random source: each call returns the next value. */
struct script {
    const uint32_t *v;
    size_t i;
    uint32_t last_bound[8];
};

static uint32_t scripted(void *arg, uint32_t bound)
{
    struct script *s = arg;
    if (s->i < 8) s->last_bound[s->i] = bound;
    uint32_t x = s->v[s->i++];
    return x > bound ? bound : x;
}

static struct sk_dns_srv srv_rec(uint16_t prio, uint16_t weight, const char *target)
{
    struct sk_dns_srv r = {.priority = prio, .weight = weight, .port = 5060};
    snprintf(r.target, sizeof(r.target), "%s", target);
    return r;
}

static void test_srv_order(void **state)
{
    (void) state;
    g_ctx = "srv order";

    /* priority first, whatever the weights */
    struct sk_dns_srv a[] = {srv_rec(20, 100, "c"), srv_rec(10, 0, "a"), srv_rec(30, 5, "d"),
                             srv_rec(10, 0, "b")};
    const uint32_t zeros[] = {0, 0, 0, 0};
    struct script s = {.v = zeros};
    sip_srv_order(a, 4, scripted, &s);
    CHK_INT(a[0].priority, 10);
    CHK_INT(a[1].priority, 10);
    CHK(strcmp(a[2].target, "c") == 0);
    CHK(strcmp(a[3].target, "d") == 0);

    /* within a priority: weight 0 first in the running sum; a pick of 0 takes it, a
     * pick of the whole sum takes the last */
    struct sk_dns_srv b[] = {srv_rec(1, 60, "w60"), srv_rec(1, 0, "w0"), srv_rec(1, 40, "w40")};
    const uint32_t picks[] = {100, 1};
    s = (struct script){.v = picks};
    sip_srv_order(b, 3, scripted, &s);
    CHK_INT(s.last_bound[0], 100); /* the sum of the weights */
    /* running sums: w0 0, then w60 60 / w40 100 (order of qsort among non-zero
     * weights is unspecified): pick 100 takes the last of them */
    CHK(b[0].weight != 0);
    CHK_INT(s.last_bound[1], 100 - b[0].weight);
    /* pick 1 of the remaining two (w0 and the other): w0's running sum is 0, the
     * other's reaches 1 */
    CHK(b[1].weight != 0);
    CHK_INT(b[2].weight, 0);

    /* a pick of 0 takes the first record with running sum >= 0: the weight-0 one */
    struct sk_dns_srv c[] = {srv_rec(1, 10, "x"), srv_rec(1, 0, "z")};
    s = (struct script){.v = zeros};
    sip_srv_order(c, 2, scripted, &s);
    CHK(strcmp(c[0].target, "z") == 0);

    /* over many seeds, a weight 3:1 split gives the heavy one first more often */
    unsigned heavy = 0;
    for (uint32_t seed = 0; seed < 400; seed++) {
        struct sk_dns_srv d[] = {srv_rec(5, 1, "light"), srv_rec(5, 3, "heavy")};
        const uint32_t v[] = {seed % 5};
        s = (struct script){.v = v};
        sip_srv_order(d, 2, scripted, &s);
        heavy += strcmp(d[0].target, "heavy") == 0;
    }
    CHK(heavy > 200);
}

static struct sk_dns_naptr naptr_rec(uint16_t order, uint16_t pref, const char *flags,
                                     const char *service, const char *repl)
{
    struct sk_dns_naptr r = {.order = order, .preference = pref};
    snprintf(r.flags, sizeof(r.flags), "%s", flags);
    snprintf(r.service, sizeof(r.service), "%s", service);
    snprintf(r.replacement, sizeof(r.replacement), "%s", repl);
    return r;
}

static void test_naptr_select(void **state)
{
    struct sip_naptr_choice c[8];
    (void) state;
    g_ctx = "naptr";

    struct sk_dns_naptr rr[] = {
        naptr_rec(50, 50, "s", "SIPS+D2T", "_sips._tcp.b.test"),
        naptr_rec(90, 50, "s", "SIP+D2T", "_sip._tcp.b.test"),
        naptr_rec(90, 10, "S", "SIP+D2U", "_sip._udp.b.test"),
        naptr_rec(10, 10, "u", "E2U+sip", "!^.*$!sip:x@b.test!"),
        naptr_rec(20, 10, "s", "SIP+D2S", "_sip._sctp.b.test"),
    };
    /* without a TLS transport, SCTP never, an ENUM record is not for us; order
     * then preference */
    CHK_INT(sip_naptr_select(rr, 5, false, false, c, 8), 2);
    CHK(strcmp(c[0].srv_name, "_sip._udp.b.test") == 0);
    CHK_INT(c[0].proto, SIP_PROTO_UDP);
    CHK(strcmp(c[1].srv_name, "_sip._tcp.b.test") == 0);
    CHK_INT(c[1].proto, SIP_PROTO_TCP);
    CHK_INT(sip_naptr_select(rr, 5, false, false, c, 1), 1); /* bounded */
    /* sips: only SIPS+D2T, which needs TLS: nothing, never a downgrade */
    CHK_INT(sip_naptr_select(rr, 5, true, false, c, 8), 0);
    /* with TLS: SIPS+D2T first by order, as TLS; sips: that one only */
    CHK_INT(sip_naptr_select(rr, 5, false, true, c, 8), 3);
    CHK(strcmp(c[0].srv_name, "_sips._tcp.b.test") == 0);
    CHK_INT(c[0].proto, SIP_PROTO_TLS);
    CHK(c[0].tls);
    CHK_INT(sip_naptr_select(rr, 5, true, true, c, 8), 1);
    CHK_INT(c[0].proto, SIP_PROTO_TLS);
}

static void test_srv_name(void **state)
{
    char buf[64];
    (void) state;
    g_ctx = "srv name";
    CHK_INT(sip_srv_name(buf, sizeof(buf), sk_str_cstr("b.test"), SIP_PROTO_UDP, false), 0);
    CHK(strcmp(buf, "_sip._udp.b.test") == 0);
    CHK_INT(sip_srv_name(buf, sizeof(buf), sk_str_cstr("b.test"), SIP_PROTO_TCP, false), 0);
    CHK(strcmp(buf, "_sip._tcp.b.test") == 0);
    CHK_INT(sip_srv_name(buf, sizeof(buf), sk_str_cstr("b.test"), SIP_PROTO_TCP, true), 0);
    CHK(strcmp(buf, "_sips._tcp.b.test") == 0);
    CHK_INT(sip_srv_name(buf, sizeof(buf), sk_str_cstr("b.test"), SIP_PROTO_TLS, false), 0);
    CHK(strcmp(buf, "_sips._tcp.b.test") == 0);
    CHK_INT(sip_srv_name(buf, 8, sk_str_cstr("b.test"), SIP_PROTO_UDP, false), ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_default_proto),
        cmocka_unit_test(test_not_yet),
        cmocka_unit_test(test_start_immediate),
        cmocka_unit_test(test_start_deferred_and_cancel),
        cmocka_unit_test(test_srv_order),
        cmocka_unit_test(test_naptr_select),
        cmocka_unit_test(test_srv_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
