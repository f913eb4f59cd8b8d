/* RFC 3263 §4.3 failover pieces of the proxy (server/proxy_failover.h): when a branch
 * tries its next target, and dead next hops tried last until they expire. */
#define TU_CHECKS
#include "testutil.h"

#include <string.h>

#include "server/proxy_failover.h"

static const char *g_ctx = "";

static struct sip_dest dest(const char *ip, uint16_t port, enum sip_proto proto)
{
    struct sip_dest d = {.proto = proto};
    if (sk_sa_from_ip(&d.addr, sk_str_cstr(ip), port) != 0) fail_msg("bad ip %s", ip);
    return d;
}

static void test_wanted(void **state)
{
    (void) state;
    g_ctx = "wanted";
    CHK(sk_px_failover_wanted(503, true, false));  /* 503 from the target */
    CHK(sk_px_failover_wanted(503, false, false)); /* transport error */
    CHK(sk_px_failover_wanted(408, false, false)); /* Timer B/F */
    CHK(!sk_px_failover_wanted(408, false, true)); /* Timer C on a ringing branch */
    CHK(!sk_px_failover_wanted(408, true, false)); /* a 408 the target sent */
    CHK(!sk_px_failover_wanted(486, true, false));
    CHK(!sk_px_failover_wanted(500, true, false));
    CHK(!sk_px_failover_wanted(404, false, false));
}

static void test_dead_list(void **state)
{
    struct sk_px_dead dead;
    struct sip_dest a = dest("127.0.0.1", 5071, SIP_PROTO_UDP);
    struct sip_dest b = dest("127.0.0.1", 5072, SIP_PROTO_UDP);
    struct sip_dest a_tcp = dest("127.0.0.1", 5071, SIP_PROTO_TCP);
    (void) state;
    g_ctx = "dead";

    memset(&dead, 0, sizeof(dead));
    CHK(!sk_px_dead_has(&dead, &a, 1000));
    sk_px_dead_add(&dead, &a, 1000);
    CHK(sk_px_dead_has(&dead, &a, 1000));
    CHK(!sk_px_dead_has(&dead, &b, 1000));
    CHK(!sk_px_dead_has(&dead, &a_tcp, 1000)); /* per transport */
    CHK(sk_px_dead_has(&dead, &a, 1000 + SK_PX_DEAD_MS - 1));
    CHK(!sk_px_dead_has(&dead, &a, 1000 + SK_PX_DEAD_MS)); /* expired */

    /* bounded: the oldest entry makes room; adding again renews */
    memset(&dead, 0, sizeof(dead));
    for (unsigned i = 0; i < SK_PX_DEAD_MAX + 1; i++) {
        struct sip_dest d = dest("127.0.0.2", (uint16_t) (6000 + i), SIP_PROTO_UDP);
        sk_px_dead_add(&dead, &d, 100 + i);
    }
    struct sip_dest first = dest("127.0.0.2", 6000, SIP_PROTO_UDP);
    struct sip_dest last = dest("127.0.0.2", (uint16_t) (6000 + SK_PX_DEAD_MAX), SIP_PROTO_UDP);
    CHK(!sk_px_dead_has(&dead, &first, 200));
    CHK(sk_px_dead_has(&dead, &last, 200));
    sk_px_dead_add(&dead, &last, 5000);
    CHK(sk_px_dead_has(&dead, &last, 5000 + SK_PX_DEAD_MS - 1));
}

static void test_order(void **state)
{
    struct sk_px_dead dead;
    struct sip_dest t[4] = {dest("127.0.0.1", 5071, SIP_PROTO_UDP),
                            dest("127.0.0.1", 5072, SIP_PROTO_UDP),
                            dest("127.0.0.1", 5073, SIP_PROTO_UDP),
                            dest("127.0.0.1", 5074, SIP_PROTO_UDP)};
    (void) state;
    g_ctx = "order";

    memset(&dead, 0, sizeof(dead));
    sk_px_dead_add(&dead, &t[0], 0);
    sk_px_dead_add(&dead, &t[2], 0);
    CHK_INT(sk_px_order_targets(&dead, t, 4, 10), 2);
    CHK_INT(sk_sa_port(&t[0].addr), 5072);
    CHK_INT(sk_sa_port(&t[1].addr), 5074);
    CHK_INT(sk_sa_port(&t[2].addr), 5071); /* dead ones last, still in order */
    CHK_INT(sk_sa_port(&t[3].addr), 5073);
    /* once they expire, the order is left alone */
    CHK_INT(sk_px_order_targets(&dead, t, 4, SK_PX_DEAD_MS + 1), 4);
    CHK_INT(sk_sa_port(&t[2].addr), 5071);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_dead_list),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
