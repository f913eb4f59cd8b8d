/* Route sets and next hops (sip/route.h): §16.4 preprocessing, §16.6 steps 6-7 and
 * §12.2.1.1 loose/strict routing, and a URI's transport, host and port. */
#define TU_CHECKS
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"
#include "sip/route.h"

static const char *g_ctx = "";

/* "Us": proxy.example.com or 192.0.2.1, with no port or 5060. */
static int g_local_calls;

static bool is_local(void *arg, const struct sip_uri *u)
{
    (void) arg;
    g_local_calls++;
    if (u->has_port && u->port != 5060) return false;
    return sk_str_ieq_cstr(u->host, "proxy.example.com") ||
           sk_str_eq_cstr(u->host, "192.0.2.1");
}

static struct sip_msg *parse(const char *head)
{
    static char text[4096];
    struct sip_msg *m = malloc(sizeof(*m));
    struct sip_error e;

    assert_non_null(m);
    snprintf(text, sizeof(text),
             "%sVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKabc\r\n"
             "From: <sip:alice@example.org>;tag=f1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
             "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
             head);
    sip_msg_init(m);
    if (sip_msg_parse(m, text, strlen(text), SIP_PARSE_DATAGRAM, NULL, NULL, &e) != 0)
        fail_msg("does not parse: %s", head);
    return m;
}

static void drop(struct sip_msg *m)
{
    sip_msg_release(m);
    free(m);
}

static void test_prep_no_route(void **state)
{
    struct sip_msg *m = parse("INVITE sip:bob@proxy.example.com SIP/2.0\r\nTo: "
                              "<sip:bob@proxy.example.com>\r\n");
    struct sip_route_prep pr;
    struct sip_error e;
    (void) state;

    g_ctx = "no Route, our domain";
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 0);
    CHK_INT(pr.last, 0);
    CHK(pr.ruri == &m->ruri);
    CHK(!pr.strict_fix);
    CHK(pr.ruri_local); /* §16.5: an AOR of ours */
    drop(m);

    g_ctx = "no Route, another domain";
    m = parse("INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK(!pr.ruri_local);
    drop(m);
}

/* §16.4: the top Route names us: removed; twice after a transport change (RFC 5658). */
static void test_prep_loose_ours_removed(void **state)
{
    struct sip_msg *m =
        parse("INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
              "Route: <sip:192.0.2.1;lr>, <sip:proxy.example.com;transport=tcp;lr>\r\n"
              "Route: <sip:p2.example.net;lr>\r\n");
    struct sip_route_prep pr;
    struct sip_error e;
    (void) state;

    g_ctx = "two Routes of ours, then another";
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 2);
    CHK_INT(pr.last, 3);
    CHK_STR(pr.routes[pr.first].uri.host, "p2.example.net");
    CHK(!pr.strict_fix);
    CHK(!pr.ruri_local);
    drop(m);

    g_ctx = "our address with another port is not us";
    m = parse("INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
              "Route: <sip:192.0.2.1:5070;lr>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 0);
    CHK_INT(pr.last, 1);
    drop(m);

    g_ctx = "a Route with a user part is a target, not us";
    m = parse("INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
              "Route: <sip:carol@proxy.example.com;lr>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 0);
    drop(m);

    g_ctx = "our flow URI (a token as user part, ;ob) is ours";
    m = parse("BYE sip:bob@x.invalid;transport=ws SIP/2.0\r\nTo: <sip:bob@example.net>;tag=1\r\n"
              "Route: <sip:ws7f00000104d2@proxy.example.com;transport=ws;lr;ob>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 1);
    CHK(!pr.ruri_local);
    drop(m);
}

/* §16.4: a Request-URI that is our Record-Route value came through a strict
 * router: the real Request-URI is the last Route value. */
static void test_prep_strict_fix(void **state)
{
    struct sip_msg *m =
        parse("BYE sip:proxy.example.com;lr SIP/2.0\r\n"
              "To: <sip:bob@example.net>;tag=t2\r\n"
              "Route: <sip:p2.example.net;lr>, <sip:bob@198.51.100.7:5062>\r\n");
    struct sip_route_prep pr;
    struct sip_error e;
    (void) state;

    g_ctx = "strict router upstream";
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK(pr.strict_fix);
    CHK_STR(pr.ruri->raw, "sip:bob@198.51.100.7:5062");
    CHK_INT(pr.first, 0);
    CHK_INT(pr.last, 1);
    CHK(!pr.ruri_local);
    drop(m);

    g_ctx = "our address without lr is a Request-URI, not a Record-Route of ours";
    m = parse("OPTIONS sip:proxy.example.com SIP/2.0\r\nTo: <sip:proxy.example.com>\r\n"
              "Route: <sip:p2.example.net;lr>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK(!pr.strict_fix);
    CHK_INT(pr.last, 1);
    drop(m);
}

/* A request in a dialog along our Record-Route: its Request-URI is the peer's
 * Contact, forwarded even when it looks like us (§12.2). */
static void test_prep_along_our_rr(void **state)
{
    struct sip_msg *m =
        parse("BYE sip:bob@192.0.2.1 SIP/2.0\r\nTo: <sip:bob@example.net>;tag=t2\r\n"
              "Route: <sip:192.0.2.1;lr>\r\n");
    struct sip_route_prep pr;
    struct sip_error e;
    (void) state;

    g_ctx = "in-dialog, our Route removed";
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK_INT(pr.first, 1);
    CHK_INT(pr.last, 1);
    CHK(!pr.ruri_local);
    drop(m);

    g_ctx = "the same without a To tag: an initial request for an AOR of ours";
    m = parse("INVITE sip:bob@192.0.2.1 SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
              "Route: <sip:192.0.2.1;lr>\r\n");
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    CHK(pr.ruri_local);
    drop(m);
}

static void test_prep_bad_route(void **state)
{
    struct sip_msg *m =
        parse("INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
              "Route: <sip:p2.example.net;lr\r\n");
    struct sip_route_prep pr;
    struct sip_error e;
    (void) state;

    g_ctx = "unclosed Route";
    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), EBADMSG);
    drop(m);
}

static void parse_uri(struct sip_uri *u, const char *text)
{
    struct sip_error e;
    if (sip_uri_parse(u, text, strlen(text), &e) != 0) fail_msg("not a URI: %s", text);
}

/* §16.6 steps 6-7 on a received request. */
static void test_next_proxy(void **state)
{
    struct sip_msg *m = parse(
        "INVITE sip:bob@example.net SIP/2.0\r\nTo: <sip:bob@example.net>\r\n"
        "Route: <sip:192.0.2.1;lr>, <sip:p2.example.net;lr>, <sip:p3.example.net>\r\n");
    struct sip_route_prep pr;
    struct sip_route_next nx;
    struct sip_uri target, path;
    struct sip_error e;
    (void) state;

    CHK_INT(sip_route_prep(m, is_local, NULL, &pr, &e), 0);
    g_ctx = "loose next hop";
    sip_route_next(&pr, pr.ruri, NULL, &nx);
    CHK_STR(nx.ruri, "sip:bob@example.net");
    CHK_STR(nx.hop->host, "p2.example.net");
    CHK_INT(nx.first, 1);
    CHK(!sk_str_isset(nx.strict_tail));

    g_ctx = "a Path goes first";
    parse_uri(&path, "sip:edge.example.org;lr");
    parse_uri(&target, "sip:bob@198.51.100.9:5080");
    sip_route_next(&pr, &target, &path, &nx);
    CHK(nx.hop == &path);
    CHK_STR(nx.ruri, "sip:bob@198.51.100.9:5080");
    CHK_INT(nx.first, 1);

    g_ctx = "strict next hop";
    pr.first = 2; /* as if p2 were ours too */
    sip_route_next(&pr, pr.ruri, NULL, &nx);
    CHK_STR(nx.ruri, "sip:p3.example.net");
    CHK_STR(nx.hop->host, "p3.example.net");
    CHK_INT(nx.first, 3);
    CHK_STR(nx.strict_tail, "sip:bob@example.net");

    g_ctx = "no Route left: the target";
    pr.first = pr.last;
    sip_route_next(&pr, &target, NULL, &nx);
    CHK(nx.hop == &target);
    CHK_STR(nx.ruri, "sip:bob@198.51.100.9:5080");
    drop(m);
}

/* §12.2.1.1: a UA's route set, loose first, then strict first. */
static void test_next_ua_route_set(void **state)
{
    struct sip_addr routes[2];
    struct sip_route_prep pr;
    struct sip_route_next nx;
    struct sip_uri target;
    (void) state;

    memset(routes, 0, sizeof(routes));
    parse_uri(&target, "sip:bob@198.51.100.7:5062;transport=tcp");
    parse_uri(&routes[0].uri, "sip:p1.example.com;lr");
    parse_uri(&routes[1].uri, "sip:p2.example.com");
    memset(&pr, 0, sizeof(pr));
    pr.routes = routes;
    pr.last = 2;
    pr.ruri = &target;

    g_ctx = "loose first route";
    sip_route_next(&pr, &target, NULL, &nx);
    CHK_STR(nx.ruri, "sip:bob@198.51.100.7:5062;transport=tcp");
    CHK_STR(nx.hop->host, "p1.example.com");
    CHK_INT(nx.first, 0);

    g_ctx = "strict first route";
    parse_uri(&routes[0].uri, "sip:p1.example.com");
    sip_route_next(&pr, &target, NULL, &nx);
    CHK_STR(nx.ruri, "sip:p1.example.com");
    CHK_INT(nx.first, 1);
    CHK_STR(nx.strict_tail, "sip:bob@198.51.100.7:5062;transport=tcp");

    g_ctx = "no route set";
    pr.last = 0;
    sip_route_next(&pr, &target, NULL, &nx);
    CHK(nx.hop == &target);
}

static void hop_of(const char *uri, struct sip_hop *h, int want_err)
{
    struct sip_uri u;
    g_ctx = uri;
    parse_uri(&u, uri);
    CHK_INT(sip_uri_hop(&u, h), want_err);
}

static void test_uri_hop(void **state)
{
    struct sip_hop h;
    (void) state;

    hop_of("sip:bob@198.51.100.7", &h, 0);
    CHK_STR(h.host, "198.51.100.7");
    CHK_INT(h.port, 5060);
    CHK_INT(h.proto, SIP_PROTO_UDP);
    CHK(!h.proto_given);
    CHK(!h.secure);

    hop_of("sip:bob@example.net:5070;maddr=203.0.113.5;transport=TCP", &h, 0);
    CHK_STR(h.host, "203.0.113.5");
    CHK_INT(h.port, 5070);
    CHK_INT(h.proto, SIP_PROTO_TCP);
    CHK(h.proto_given);

    hop_of("sip:[2001:db8::1]:5080;transport=udp", &h, 0);
    CHK_STR(h.host, "2001:db8::1");
    CHK_INT(h.port, 5080);
    CHK_INT(h.proto, SIP_PROTO_UDP);

    hop_of("sip:bob@example.net;maddr=[2001:db8::2]", &h, 0);
    CHK_STR(h.host, "2001:db8::2");

    hop_of("sips:bob@example.net", &h, 0);
    CHK(h.secure);
    CHK_INT(h.port, 5061);
    CHK_INT(h.proto, SIP_PROTO_TLS);
    CHK(!h.proto_given);

    /* RFC 5630: sips over TCP is TLS; the deprecated transport=tls is TLS at 5061 */
    hop_of("sips:bob@example.net:5081;transport=tcp", &h, 0);
    CHK_INT(h.proto, SIP_PROTO_TLS);
    CHK_INT(h.port, 5081);
    hop_of("sip:bob@example.net;transport=tls", &h, 0);
    CHK_INT(h.proto, SIP_PROTO_TLS);
    CHK_INT(h.port, 5061);
    CHK(!h.secure);
    /* sips is never carried without TLS */
    hop_of("sips:bob@example.net;transport=udp", &h, EPROTONOSUPPORT);
    hop_of("sip:bob@example.net;transport=sctp", &h, EPROTONOSUPPORT);
    hop_of("tel:+15551234567", &h, EPROTONOSUPPORT);
}

/* "Us" is the caller's rule: route.c asks the callback, with the URI. */
static void test_is_us_callback(void **state)
{
    struct sip_uri u;
    (void) state;

    g_ctx = "callback";
    g_local_calls = 0;
    parse_uri(&u, "sip:proxy.example.com;lr");
    CHK(sip_route_uri_is_us(&u, is_local, NULL));
    CHK_INT(g_local_calls, 1);
    parse_uri(&u, "sip:bob@proxy.example.com");
    CHK(!sip_route_uri_is_us(&u, is_local, NULL)); /* a user: a target */
    parse_uri(&u, "tel:+15551234567");
    CHK(!sip_route_uri_is_us(&u, is_local, NULL));
    CHK_INT(g_local_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prep_no_route),
        cmocka_unit_test(test_prep_loose_ours_removed),
        cmocka_unit_test(test_prep_strict_fix),
        cmocka_unit_test(test_prep_along_our_rr),
        cmocka_unit_test(test_prep_bad_route),
        cmocka_unit_test(test_next_proxy),
        cmocka_unit_test(test_next_ua_route_set),
        cmocka_unit_test(test_uri_hop),
        cmocka_unit_test(test_is_us_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
