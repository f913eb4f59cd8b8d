/* DNS through c-ares on our loop (net/dns.h) and RFC 3263 resolution over it
 * (sip/resolve.h), against a small DNS server on 127.0.0.1 run by this test. */
#define TU_CHECKS
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/loop.h"
#include "sip/resolve.h"

static const char *g_ctx = "";

/* ---- The test server: a table of records, answered on the same loop ---- */

struct rec {
    const char *name;
    uint16_t type;
    uint32_t ttl;
    const char *data; /* A/AAAA: address; SRV: "prio weight port target";
                       * NAPTR: "order pref flags service replacement" */
};

#define MAX_RECS 32
static struct {
    int fd;
    uint16_t port;
    struct rec recs[MAX_RECS];
    size_t nrecs;
    unsigned queries;
    bool silent; /* drop every query (a dead server) */
} S;

static size_t put_name(uint8_t *p, const char *name)
{
    size_t o = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t) (dot - name) : strlen(name);
        p[o++] = (uint8_t) n;
        memcpy(p + o, name, n);
        o += n;
        name += n + (dot ? 1 : 0);
    }
    p[o++] = 0;
    return o;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static size_t put_rdata(uint8_t *p, const struct rec *r)
{
    unsigned a, b, c;
    char s1[64], s2[64], s3[256];

    switch (r->type) {
    case SK_DNS_A: inet_pton(AF_INET, r->data, p); return 4;
    case SK_DNS_AAAA: inet_pton(AF_INET6, r->data, p); return 16;
    case SK_DNS_SRV:
        sscanf(r->data, "%u %u %u %255s", &a, &b, &c, s3);
        put16(p, a);
        put16(p + 2, b);
        put16(p + 4, c);
        return 6 + put_name(p + 6, strcmp(s3, ".") == 0 ? "" : s3);
    case SK_DNS_NAPTR: {
        size_t o = 4;
        sscanf(r->data, "%u %u %63s %63s %255s", &a, &b, s1, s2, s3);
        put16(p, a);
        put16(p + 2, b);
        p[o++] = (uint8_t) strlen(s1);
        memcpy(p + o, s1, strlen(s1));
        o += strlen(s1);
        p[o++] = (uint8_t) strlen(s2);
        memcpy(p + o, s2, strlen(s2));
        o += strlen(s2);
        p[o++] = 0; /* no regexp */
        return o + put_name(p + o, s3);
    }
    }
    return 0;
}

static void on_query(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    uint8_t in[512], out[1500];
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    char name[256];
    size_t o = 0, pos = 12, qend;
    unsigned an = 0;
    bool known = false;
    (void) loop;
    (void) events;
    (void) arg;

    ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *) &peer, &plen);
    if (n < 17) return;
    S.queries++;
    if (S.silent) return;
    while (in[pos] && pos < (size_t) n) {
        if (o) name[o++] = '.';
        memcpy(name + o, in + pos + 1, in[pos]);
        o += in[pos];
        pos += 1 + in[pos];
    }
    name[o] = '\0';
    qend = pos + 5;
    uint16_t qtype = (uint16_t) (in[pos + 1] << 8 | in[pos + 2]);
    memcpy(out, in, qend);
    o = qend;
    for (size_t i = 0; i < S.nrecs; i++) {
        const struct rec *r = &S.recs[i];
        if (strcasecmp(r->name, name) != 0) continue;
        known = true;
        if (r->type != qtype) continue;
        put16(out + o, 0xC00C); /* the question's name */
        put16(out + o + 2, r->type);
        put16(out + o + 4, 1);
        out[o + 6] = (uint8_t) (r->ttl >> 24);
        out[o + 7] = (uint8_t) (r->ttl >> 16);
        put16(out + o + 8, r->ttl & 0xFFFF);
        size_t rd = put_rdata(out + o + 12, r);
        put16(out + o + 10, (unsigned) rd);
        o += 12 + rd;
        an++;
    }
    if (!an) {
        /* RFC 2308: the SOA in the authority section says how long "no" holds */
        put16(out + o, 0xC00C);
        put16(out + o + 2, 6);
        put16(out + o + 4, 1);
        memset(out + o + 6, 0, 4);
        out[o + 9] = 5; /* TTL 5 */
        size_t p = o + 12;
        p += put_name(out + p, "ns.test");
        p += put_name(out + p, "hostmaster.test");
        memset(out + p, 0, 20);
        out[p + 19] = 2; /* minimum 2 s: the negative TTL */
        p += 20;
        put16(out + o + 10, (unsigned) (p - o - 12));
        o = p;
    }
    put16(out + 2, 0x8580 | (known ? 0 : 3));
    put16(out + 6, an);
    put16(out + 8, an ? 0 : 1);
    put16(out + 10, 0);
    sendto(fd, out, o, 0, (struct sockaddr *) &peer, plen);
}

static void add(const char *name, uint16_t type, uint32_t ttl, const char *data)
{
    S.recs[S.nrecs++] = (struct rec){name, type, ttl, data};
}

static void server_start(struct sk_loop *loop)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);

    S.nrecs = 0;
    S.queries = 0;
    S.silent = false;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    S.fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHK(S.fd >= 0);
    CHK_INT(bind(S.fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    getsockname(S.fd, (struct sockaddr *) &sin, &len);
    S.port = ntohs(sin.sin_port);
    CHK_INT(sk_loop_add_fd(loop, S.fd, EPOLLIN, on_query, NULL), 0);
}

static void server_stop(struct sk_loop *loop)
{
    sk_loop_del_fd(loop, S.fd);
    close(S.fd);
}

static void servers(char *buf, size_t size)
{
    snprintf(buf, size, "127.0.0.1:%u", S.port);
}

/* Run the loop until *done, bounded (every wait ends within a second). */
static void run_until(struct sk_loop *loop, const int *done)
{
    for (int i = 0; i < 200 && !*done; i++)
        sk_loop_run_once(loop, 50);
    CHK(*done);
}

/* ---- sk_dns ---- */

struct got {
    int calls, err;
    size_t n;
    struct sk_dns_rr rr[8];
};

static void on_answer(void *arg, const struct sk_dns_answer *a)
{
    struct got *g = arg;
    g->calls++;
    g->err = a->err;
    g->n = a->n;
    for (size_t i = 0; i < a->n && i < 8; i++)
        g->rr[i] = a->rr[i];
}

static void ask(struct sk_loop *loop, struct sk_dns *d, const char *name,
                enum sk_dns_type type, struct got *g)
{
    struct sk_dns_query *q;
    *g = (struct got){0};
    CHK_INT(sk_dns_query(d, name, type, on_answer, g, &q), 0);
    run_until(loop, &g->calls);
    CHK_INT(g->calls, 1);
}

static void test_query_types(void **state)
{
    struct sk_dns_config cfg = {0};
    struct sk_loop *loop;
    struct sk_dns *d;
    struct got g;
    char srv[64];
    (void) state;

    g_ctx = "types";
    CHK_INT(sk_loop_new(&loop, 0), 0);
    server_start(loop);
    add("b.test", SK_DNS_A, 60, "127.0.0.2");
    add("b.test", SK_DNS_AAAA, 60, "::1");
    add("_sip._udp.b.test", SK_DNS_SRV, 60, "10 5 5070 s1.b.test");
    add("b.test", SK_DNS_NAPTR, 60, "10 20 s SIP+D2U _sip._udp.b.test");
    servers(srv, sizeof(srv));
    cfg.servers = srv;
    CHK_INT(sk_dns_new(&d, &cfg, loop), 0);

    ask(loop, d, "b.test", SK_DNS_A, &g);
    CHK_INT(g.err, 0);
    CHK_INT(g.n, 1);
    CHK_INT(g.rr[0].ttl, 60);
    CHK(memcmp(g.rr[0].u.addr, "\x7f\0\0\x02", 4) == 0);
    ask(loop, d, "b.test", SK_DNS_AAAA, &g);
    CHK_INT(g.n, 1);
    CHK_INT(g.rr[0].u.addr[15], 1);
    ask(loop, d, "_sip._udp.b.test", SK_DNS_SRV, &g);
    CHK_INT(g.n, 1);
    CHK_INT(g.rr[0].u.srv.priority, 10);
    CHK_INT(g.rr[0].u.srv.weight, 5);
    CHK_INT(g.rr[0].u.srv.port, 5070);
    CHK(strcmp(g.rr[0].u.srv.target, "s1.b.test") == 0);
    ask(loop, d, "b.test", SK_DNS_NAPTR, &g);
    CHK_INT(g.n, 1);
    CHK_INT(g.rr[0].u.naptr.order, 10);
    CHK_INT(g.rr[0].u.naptr.preference, 20);
    CHK(strcmp(g.rr[0].u.naptr.flags, "s") == 0);
    CHK(strcmp(g.rr[0].u.naptr.service, "SIP+D2U") == 0);
    CHK(strcmp(g.rr[0].u.naptr.replacement, "_sip._udp.b.test") == 0);
    /* no such name, and a name without records of the type: both negative */
    ask(loop, d, "nope.test", SK_DNS_A, &g);
    CHK_INT(g.err, ENOENT);
    ask(loop, d, "_sip._tcp.b.test", SK_DNS_SRV, &g);
    CHK_INT(g.err, ENOENT);

    sk_dns_free(d);
    server_stop(loop);
    sk_loop_free(loop);
}

static void test_cache_ttl(void **state)
{
    struct sk_dns_config cfg = {0};
    struct sk_dns_stats st;
    struct sk_loop *loop;
    struct sk_dns *d;
    struct sk_dns_query *q;
    struct got g;
    char srv[64];
    (void) state;

    g_ctx = "cache";
    CHK_INT(sk_loop_new(&loop, 0), 0);
    server_start(loop);
    add("short.test", SK_DNS_A, 1, "127.0.0.3");
    add("long.test", SK_DNS_A, 300, "127.0.0.4");
    servers(srv, sizeof(srv));
    cfg.servers = srv;
    cfg.cache_max = 2;
    CHK_INT(sk_dns_new(&d, &cfg, loop), 0);

    ask(loop, d, "long.test", SK_DNS_A, &g);
    ask(loop, d, "short.test", SK_DNS_A, &g);
    CHK_INT(S.queries, 2);
    /* both cached: answered during the call, no query sent */
    g = (struct got){0};
    CHK_INT(sk_dns_query(d, "LONG.test", SK_DNS_A, on_answer, &g, &q), 0);
    CHK(q == NULL);
    CHK_INT(g.calls, 1);
    CHK_INT(g.n, 1);
    CHK_INT(S.queries, 2);
    /* a negative answer is cached for the SOA minimum (2 s) */
    ask(loop, d, "none.test", SK_DNS_A, &g);
    CHK_INT(g.err, ENOENT);
    CHK_INT(S.queries, 3);
    sk_dns_get_stats(d, &st);
    CHK_INT(st.cached, 2); /* bounded: the one expiring first (short.test) went */
    g = (struct got){0};
    CHK_INT(sk_dns_query(d, "none.test", SK_DNS_A, on_answer, &g, &q), 0);
    CHK(q == NULL);
    CHK_INT(g.err, ENOENT);

    /* the TTL over: asked again (1 s for short.test, 2 s for the negative) */
    usleep(2100 * 1000);
    ask(loop, d, "none.test", SK_DNS_A, &g);
    CHK_INT(S.queries, 4);
    ask(loop, d, "long.test", SK_DNS_A, &g);
    CHK_INT(S.queries, 4); /* still cached */

    sk_dns_free(d);
    server_stop(loop);
    sk_loop_free(loop);
}

static void test_timeout_and_cancel(void **state)
{
    struct sk_dns_config cfg = {.timeout_ms = 100, .tries = 2};
    struct sk_loop *loop;
    struct sk_dns *d;
    struct sk_dns_query *q;
    struct got g = {0}, g2 = {0};
    char srv[64];
    (void) state;

    g_ctx = "timeout";
    CHK_INT(sk_loop_new(&loop, 0), 0);
    server_start(loop);
    S.silent = true;
    servers(srv, sizeof(srv));
    cfg.servers = srv;
    CHK_INT(sk_dns_new(&d, &cfg, loop), 0);
    ask(loop, d, "dead.test", SK_DNS_A, &g);
    CHK_INT(g.err, ETIMEDOUT);
    CHK(S.queries >= 2); /* retried */

    /* a cancelled query never calls back; one left pending at free neither */
    CHK_INT(sk_dns_query(d, "dead.test", SK_DNS_A, on_answer, &g2, &q), 0);
    CHK(q != NULL);
    sk_dns_cancel(q);
    for (int i = 0; i < 10; i++)
        sk_loop_run_once(loop, 50);
    CHK_INT(g2.calls, 0);
    g.calls = 0;
    CHK_INT(sk_dns_query(d, "dead2.test", SK_DNS_A, on_answer, &g, &q), 0);
    CHK(q != NULL);
    sk_dns_free(d);
    CHK_INT(g.calls, 0);

    CHK_INT(sk_dns_new(&d, &(struct sk_dns_config){.servers = "not an address"}, loop),
            EINVAL);
    server_stop(loop);
    sk_loop_free(loop);
}

/* ---- RFC 3263 over it ---- */

struct rgot {
    int calls, err;
    struct sip_resolve_result res;
};

static void on_resolved(void *arg, int err, const struct sip_resolve_result *res)
{
    struct rgot *g = arg;
    g->calls++;
    g->err = err;
    if (res) g->res = *res;
}

static void resolve(struct sk_loop *loop, struct sip_resolver *r, const char *uri,
                    struct rgot *g)
{
    struct sip_resolve *q;
    struct sip_uri u;
    struct sip_error e;

    g_ctx = uri;
    *g = (struct rgot){0};
    if (sip_uri_parse(&u, uri, strlen(uri), &e) != 0) fail_msg("not a URI: %s", uri);
    CHK_INT(sip_resolve_start_on(r, loop, &u, on_resolved, g, &q), 0);
    run_until(loop, &g->calls);
}

static void chk_target(const struct rgot *g, size_t i, const char *ip, uint16_t port,
                       enum sip_proto proto)
{
    char buf[64];
    CHK(i < g->res.n);
    CHK(strcmp(sk_sa_ip(&g->res.dest[i].addr, buf, sizeof(buf)), ip) == 0);
    CHK_INT(sk_sa_port(&g->res.dest[i].addr), port);
    CHK_INT(g->res.dest[i].proto, proto);
}

static void test_rfc3263(void **state)
{
    struct sip_resolve_config rc = sip_resolve_config_default;
    struct sk_dns_config cfg = {0};
    struct sip_resolver *r;
    struct sk_loop *loop;
    struct rgot g;
    char srv[64];
    (void) state;

    CHK_INT(sk_loop_new(&loop, 0), 0);
    server_start(loop);
    /* b.test: NAPTR to TCP first, then UDP; two SRV priorities */
    add("b.test", SK_DNS_NAPTR, 60, "10 10 s SIP+D2T _sip._tcp.b.test");
    add("b.test", SK_DNS_NAPTR, 60, "20 10 s SIP+D2U _sip._udp.b.test");
    add("b.test", SK_DNS_NAPTR, 60, "5 10 s SIPS+D2T _sips._tcp.b.test");
    add("_sip._tcp.b.test", SK_DNS_SRV, 60, "20 0 5080 s2.b.test");
    add("_sip._tcp.b.test", SK_DNS_SRV, 60, "10 0 5070 s1.b.test");
    add("_sip._udp.b.test", SK_DNS_SRV, 60, "10 0 5090 s1.b.test");
    add("s1.b.test", SK_DNS_A, 60, "127.0.0.11");
    add("s2.b.test", SK_DNS_A, 60, "127.0.0.12");
    add("b.test", SK_DNS_A, 60, "127.0.0.10");
    /* c.test: no NAPTR, SRV for UDP only */
    add("_sip._udp.c.test", SK_DNS_SRV, 60, "0 0 5062 c.test");
    add("c.test", SK_DNS_A, 60, "127.0.0.20");
    add("c.test", SK_DNS_AAAA, 60, "::1");
    /* d.test: only an address; e.test: SRV says "no SIP here" */
    add("d.test", SK_DNS_A, 60, "127.0.0.30");
    add("_sip._udp.e.test", SK_DNS_SRV, 60, "0 0 0 .");
    servers(srv, sizeof(srv));
    cfg.servers = srv;
    CHK_INT(sip_resolver_new_dns(&r, &rc, &loop, 1, &cfg), 0);

    /* §4.1 NAPTR (SIPS+D2T skipped: no TLS), SRV by priority, then A */
    resolve(loop, r, "sip:bob@b.test", &g);
    CHK_INT(g.err, 0);
    CHK_INT(g.res.n, 3);
    chk_target(&g, 0, "127.0.0.11", 5070, SIP_PROTO_TCP);
    chk_target(&g, 1, "127.0.0.12", 5080, SIP_PROTO_TCP);
    chk_target(&g, 2, "127.0.0.11", 5090, SIP_PROTO_UDP);
    /* a transport given: its SRV only */
    resolve(loop, r, "sip:bob@b.test;transport=udp", &g);
    CHK_INT(g.res.n, 1);
    chk_target(&g, 0, "127.0.0.11", 5090, SIP_PROTO_UDP);
    /* a port given: A/AAAA only */
    resolve(loop, r, "sip:bob@b.test:5099", &g);
    CHK_INT(g.res.n, 1);
    chk_target(&g, 0, "127.0.0.10", 5099, SIP_PROTO_UDP);
    /* no NAPTR: SRV per transport we speak; A then AAAA of the target */
    resolve(loop, r, "sip:c.test", &g);
    CHK_INT(g.res.n, 2);
    chk_target(&g, 0, "127.0.0.20", 5062, SIP_PROTO_UDP);
    chk_target(&g, 1, "::1", 5062, SIP_PROTO_UDP);
    /* no SRV: A/AAAA at 5060 */
    resolve(loop, r, "sip:d.test", &g);
    CHK_INT(g.res.n, 1);
    chk_target(&g, 0, "127.0.0.30", 5060, SIP_PROTO_UDP);
    resolve(loop, r, "sip:d.test;transport=tcp", &g);
    chk_target(&g, 0, "127.0.0.30", 5060, SIP_PROTO_TCP);
    /* nothing at all, and "." */
    resolve(loop, r, "sip:nowhere.test", &g);
    CHK_INT(g.err, EHOSTUNREACH);
    resolve(loop, r, "sip:e.test;transport=udp", &g);
    CHK_INT(g.err, EHOSTUNREACH);
    /* sips: TLS only, which we have not: an error, never a downgrade */
    resolve(loop, r, "sips:bob@b.test", &g);
    CHK_INT(g.err, EPROTONOSUPPORT);
    /* literals still need no DNS */
    unsigned before = S.queries;
    resolve(loop, r, "sip:127.0.0.9:5077", &g);
    chk_target(&g, 0, "127.0.0.9", 5077, SIP_PROTO_UDP);
    CHK_INT(S.queries, before);
    /* everything for b.test cached now: answered during the call */
    {
        struct sip_resolve *q = (void *) 1;
        struct sip_uri u;
        struct sip_error e;
        const char *uri = "sip:bob@b.test";
        g = (struct rgot){0};
        CHK_INT(sip_uri_parse(&u, uri, strlen(uri), &e), 0);
        CHK_INT(sip_resolve_start_on(r, loop, &u, on_resolved, &g, &q), 0);
        CHK(q == NULL);
        CHK_INT(g.calls, 1);
        CHK_INT(g.res.n, 3);
        CHK_INT(S.queries, before);
    }
    /* cancelled while waiting: no callback; a loop not of the resolver: EINVAL */
    {
        struct sip_resolve *q;
        struct sip_uri u;
        struct sip_error e;
        const char *uri = "sip:x@other.test";
        g = (struct rgot){0};
        CHK_INT(sip_uri_parse(&u, uri, strlen(uri), &e), 0);
        CHK_INT(sip_resolve_start_on(r, loop, &u, on_resolved, &g, &q), 0);
        CHK(q != NULL);
        CHK_INT(sip_resolver_pending(r), 1);
        sip_resolve_cancel(q);
        CHK_INT(sip_resolver_pending(r), 0);
        for (int i = 0; i < 5; i++)
            sk_loop_run_once(loop, 20);
        CHK_INT(g.calls, 0);
        CHK_INT(sip_resolve_start_on(r, NULL, &u, on_resolved, &g, &q), EINVAL);
        /* pending at free: cancelled */
        CHK_INT(sip_resolve_start_on(r, loop, &u, on_resolved, &g, &q), 0);
    }
    sip_resolver_free(r);
    CHK_INT(g.calls, 0);
    server_stop(loop);
    sk_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_types),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_timeout_and_cancel),
        cmocka_unit_test(test_rfc3263),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
