/* Tests of sip_proto_from_str: the one mapping from a transport name to the transports
 * sipkit speaks. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "sip/tp.h"
#include "sip/transport.h"

static void test_known(void **state)
{
    static const struct {
        const char *name;
        enum sip_proto p;
    } ok[] = {
        {"udp", SIP_PROTO_UDP}, {"UDP", SIP_PROTO_UDP}, {"Udp", SIP_PROTO_UDP},
        {"tcp", SIP_PROTO_TCP}, {"TCP", SIP_PROTO_TCP}, {"tCp", SIP_PROTO_TCP},
        {"tls", SIP_PROTO_TLS}, {"TLS", SIP_PROTO_TLS}, {"ws", SIP_PROTO_WS}, {"WS", SIP_PROTO_WS},
        {"wss", SIP_PROTO_WSS},
    };
    enum sip_proto p;

    (void) state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        p = (enum sip_proto) 99;
        assert_int_equal(sip_proto_from_str(sk_str_cstr(ok[i].name), &p), 0);
        assert_int_equal(p, ok[i].p);
    }
    /* both ways with sip_proto_name */
    assert_int_equal(sip_proto_from_str(sk_str_cstr(sip_proto_name(SIP_PROTO_UDP)), &p),
                     0);
    assert_int_equal(p, SIP_PROTO_UDP);
    assert_int_equal(sip_proto_from_str(sk_str_cstr(sip_proto_name(SIP_PROTO_TCP)), &p),
                     0);
    assert_int_equal(p, SIP_PROTO_TCP);
    assert_int_equal(sip_proto_from_str(sk_str_cstr(sip_proto_name(SIP_PROTO_TLS)), &p),
                     0);
    assert_int_equal(p, SIP_PROTO_TLS);
    assert_int_equal(sip_proto_default_port(SIP_PROTO_TLS), 5061);
    assert_int_equal(sip_proto_default_port(SIP_PROTO_TCP), 5060);
}

/* Transports we do not speak are refused, never taken for UDP. */
static void test_unknown(void **state)
{
    static const char *const bad[] = {"sctp", "wsx",  "wssx", "dtls", "",   "tlsx",
                                      "ud",   "udpx", "tcp ", " udp", "u",  "t"};
    enum sip_proto p = SIP_PROTO_TCP;

    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sip_proto_from_str(sk_str_cstr(bad[i]), &p), EPROTONOSUPPORT);
    assert_int_equal(sip_proto_from_str(SK_STR_NULL, &p), EPROTONOSUPPORT);
    assert_int_equal(sip_proto_from_str(sk_str_make("udp", 2), &p), EPROTONOSUPPORT);
    assert_int_equal(p, SIP_PROTO_TCP); /* untouched on failure */
}

/* --listen specs name their transport through the same mapping: one we do not
 * speak is refused, not read as a host called "tls". */
static void test_listen_spec(void **state)
{
    struct sip_listen l;
    char buf[64];

    (void) state;
    assert_int_equal(sip_listen_parse("udp:127.0.0.1:5070", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_UDP);
    assert_string_equal(sk_sa_str(&l.addr, buf, sizeof(buf)), "127.0.0.1:5070");
    assert_int_equal(sip_listen_parse("TCP:[::1]:5071", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_TCP);
    assert_string_equal(sk_sa_str(&l.addr, buf, sizeof(buf)), "[::1]:5071");
    assert_int_equal(sip_listen_parse("127.0.0.1", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_UDP);
    assert_int_equal(sk_sa_port(&l.addr), 5060);
    assert_int_equal(sip_listen_parse("tls:127.0.0.1:5071", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_TLS);
    assert_int_equal(sk_sa_port(&l.addr), 5071);
    assert_int_equal(sip_listen_parse("tls:127.0.0.1", &l), 0); /* TLS: 5061 */
    assert_int_equal(sk_sa_port(&l.addr), 5061);
    assert_int_equal(sip_listen_parse("ws:127.0.0.1:8080", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_WS);
    assert_int_equal(sip_listen_parse("wss:[::1]", &l), 0);
    assert_int_equal(l.proto, SIP_PROTO_WSS);
    assert_int_equal(sk_sa_port(&l.addr), 443);
    assert_int_not_equal(sip_listen_parse("udp:", &l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_listen_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
