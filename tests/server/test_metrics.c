/* Tests of server/metrics: histogram buckets and their Prometheus text, sample lines,
 * labels, and the active-call table (start, 18x, 2xx, BYE, failure, duplicates, unknown
 * calls). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "server/metrics.h"

static bool has_line(const struct sk_buf *b, const char *line)
{
    char want[256];
    size_t n = (size_t) snprintf(want, sizeof(want), "%s\n", line);

    for (size_t i = 0; b->p && i + n <= b->len; i++) {
        if ((i == 0 || b->p[i - 1] == '\n') && memcmp(b->p + i, want, n) == 0)
            return true;
    }
    return false;
}

#define CHK_LINE(b, line)                                                                \
    TU_ASSERT_MSG(has_line((b), (line)), "no line '%s' in:\n%.*s", (line),               \
                  (int) (b)->len, (b)->p ? (b)->p : "")

static void test_hist_buckets(void **state)
{
    static const double bounds[] = {0.1, 1};
    struct sk_hist h;
    struct sk_buf b;

    (void) state;
    sk_hist_init(&h, bounds, 2);
    sk_hist_observe_us(&h, 50000); /* 0.05 s */
    sk_hist_observe_us(&h,
                       100000); /* on the bound: le="0.1" (upper bounds are inclusive) */
    sk_hist_observe_us(&h, 500000);  /* 0.5 s */
    sk_hist_observe_us(&h, 5000000); /* past every bound: +Inf only */
    sk_buf_init(&b);
    sk_prom_hist(&b, "x_seconds", "w=\"0\"", &h);
    CHK_LINE(&b, "x_seconds_bucket{w=\"0\",le=\"0.1\"} 2");
    CHK_LINE(&b, "x_seconds_bucket{w=\"0\",le=\"1\"} 3");
    CHK_LINE(&b, "x_seconds_bucket{w=\"0\",le=\"+Inf\"} 4");
    CHK_LINE(&b, "x_seconds_sum{w=\"0\"} 5.650000");
    CHK_LINE(&b, "x_seconds_count{w=\"0\"} 4");
    sk_buf_reset(&b);
    sk_prom_hist(&b, "y_seconds", "", &h);
    CHK_LINE(&b, "y_seconds_bucket{le=\"1\"} 3");
    CHK_LINE(&b, "y_seconds_count 4");
    sk_buf_free(&b);
}

static void test_prom_lines(void **state)
{
    struct sk_buf b;

    (void) state;
    sk_buf_init(&b);
    sk_prom_family(&b, "sipkit_x_total", "counter", "What x counts");
    sk_prom_sample(&b, "sipkit_x_total", "", 7);
    sk_prom_sample(&b, "sipkit_x_total", "method=\"INVITE\"", 18446744073709551615ull);
    sk_prom_sample_f(&b, "sipkit_lag_seconds", "worker=\"1\"", 0.0125);
    CHK_LINE(&b, "# HELP sipkit_x_total What x counts");
    CHK_LINE(&b, "# TYPE sipkit_x_total counter");
    CHK_LINE(&b, "sipkit_x_total 7");
    CHK_LINE(&b, "sipkit_x_total{method=\"INVITE\"} 18446744073709551615");
    CHK_LINE(&b, "sipkit_lag_seconds{worker=\"1\"} 0.012500");
    sk_buf_free(&b);
    assert_string_equal(sk_met_method_name(SIP_METHOD_INVITE), "INVITE");
    assert_string_equal(sk_met_method_name(SIP_METHOD_OTHER), "other");
    assert_string_equal(sk_met_method_name(999), "other");
    assert_int_equal(sk_met_class(100), 0);
    assert_int_equal(sk_met_class(699), 5);
    assert_int_equal(sk_met_class(99), -1);
    assert_int_equal(sk_met_class(700), -1);
}

static void test_responses_by_class(void **state)
{
    struct sk_metrics *m;

    (void) state;
    assert_int_equal(sk_metrics_new(&m, NULL, 0), 0);
    sk_met_response(m, SIP_METHOD_REGISTER, 401, false);
    sk_met_response(m, SIP_METHOD_REGISTER, 200, false);
    sk_met_response(m, SIP_METHOD_INVITE, 180, true);
    sk_met_response(m, SIP_METHOD_INVITE, 99, true);  /* no class: not counted */
    sk_met_response(m, SIP_METHOD_INVITE, 700, true); /* neither */
    sk_met_request(m, SIP_METHOD_OPTIONS, SIP_PROTO_TCP);
    sk_met_request(m, (enum sip_method) 999, SIP_PROTO_UDP); /* out of range: ignored */
    assert_int_equal(atomic_load(&m->responses[SIP_METHOD_REGISTER][3]), 1);
    assert_int_equal(atomic_load(&m->responses[SIP_METHOD_REGISTER][1]), 1);
    assert_int_equal(atomic_load(&m->forwarded[SIP_METHOD_INVITE][0]), 1);
    for (unsigned c = 1; c < SK_MET_CLASSES; c++)
        assert_int_equal(atomic_load(&m->forwarded[SIP_METHOD_INVITE][c]), 0);
    assert_int_equal(atomic_load(&m->requests[SIP_METHOD_OPTIONS][SIP_PROTO_TCP]), 1);
    sk_met_request(NULL, SIP_METHOD_OPTIONS, SIP_PROTO_TCP); /* no metrics: nothing */
    sk_metrics_free(m);
}

struct seen {
    char ids[4][32];
    enum sk_call_state st[4];
    size_t n;
};

static void collect(void *arg, const struct sk_call_info *c)
{
    struct seen *s = arg;

    if (s->n < 4) {
        snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", c->call_id);
        s->st[s->n++] = c->state;
    }
}

static void test_calls(void **state)
{
    struct sk_metrics *m;
    struct seen s = {0};

    (void) state;
    assert_int_equal(sk_metrics_new(&m, NULL, 0), 0);
    sk_met_call_start(m, SK_STR_LIT("a"), SK_STR_LIT("sip:x@e"), SK_STR_LIT("sip:y@l"));
    sk_met_call_start(m, SK_STR_LIT("a"), SK_STR_LIT("sip:x@e"), SK_STR_LIT("sip:y@l"));
    sk_met_call_start(m, SK_STR_LIT("b"), SK_STR_LIT("sip:x@e"), SK_STR_LIT("sip:z@l"));
    assert_int_equal(atomic_load(&m->calls_started),
                     2); /* a's second INVITE: same call */
    assert_int_equal(sk_met_calls_active(m), 2);
    sk_met_call_ringing(m, SK_STR_LIT("a"));
    sk_met_call_ringing(m, SK_STR_LIT("a")); /* only the first 18x is the setup time */
    sk_met_call_answered(m, SK_STR_LIT("a"));
    sk_met_call_answered(m, SK_STR_LIT("a")); /* a 2xx retransmission or another fork */
    assert_int_equal(atomic_load(&m->setup_ringing.count), 1);
    assert_int_equal(atomic_load(&m->setup_answered.count), 1);
    assert_int_equal(atomic_load(&m->calls_answered), 1);
    sk_met_calls_walk(m, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "a"); /* oldest first */
    assert_int_equal(s.st[0], SK_CALL_ANSWERED);
    assert_string_equal(s.ids[1], "b");
    assert_int_equal(s.st[1], SK_CALL_TRYING);
    /* an answered call does not fail later (a late 487 of another branch) */
    sk_met_call_failed(m, SK_STR_LIT("a"), 487);
    assert_int_equal(atomic_load(&m->calls_failed[187]), 0);
    sk_met_call_bye(m, SK_STR_LIT("a"));
    sk_met_call_bye(m, SK_STR_LIT("a")); /* the BYE's retransmission: ended once */
    assert_int_equal(atomic_load(&m->calls_ended), 1);
    assert_int_equal(atomic_load(&m->duration.count), 1);
    /* a BYE of a call not answered ends nothing; b fails with 486 */
    sk_met_call_bye(m, SK_STR_LIT("b"));
    assert_int_equal(atomic_load(&m->calls_ended), 1);
    sk_met_call_failed(m, SK_STR_LIT("b"), 486);
    assert_int_equal(atomic_load(&m->calls_failed[186]), 1);
    assert_int_equal(sk_met_calls_active(m), 0);
    /* unknown calls move nothing */
    sk_met_call_failed(m, SK_STR_LIT("zz"), 404);
    sk_met_call_answered(m, SK_STR_LIT("zz"));
    assert_int_equal(atomic_load(&m->calls_failed[104]), 0);
    assert_int_equal(atomic_load(&m->calls_answered), 1);
    /* one left active is freed with the metrics */
    sk_met_call_start(m, SK_STR_LIT("c"), SK_STR_LIT(""), SK_STR_LIT(""));
    assert_int_equal(sk_met_calls_active(m), 1);
    sk_metrics_free(m);
}

static void test_rules(void **state)
{
    struct sk_metrics *m;
    int a, b;

    (void) state;
    assert_int_equal(sk_metrics_new(&m, NULL, 0), 0);
    a = sk_met_rule(m, "rate_limit");
    b = sk_met_rule(m, "scanner_ua");
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(sk_met_rule(m, "rate_limit"), a); /* the same rule again */
    assert_int_equal(sk_met_rule(m, "Bad Name"), -1);  /* would break the label */
    assert_int_equal(sk_met_rule(m, "quote\""), -1);
    assert_int_equal(sk_met_rule(m, ""), -1);
    sk_met_drop(m, a);
    sk_met_drop(m, a);
    sk_met_drop(m, -1); /* an unregistered rule: nothing */
    assert_int_equal(atomic_load(&m->rule_hits[a]), 2);
    assert_int_equal(atomic_load(&m->rule_hits[b]), 0);
    for (int i = 0; i < SK_MET_RULES_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", i);
        sk_met_rule(m, name);
    }
    assert_int_equal(atomic_load(&m->nrules), SK_MET_RULES_MAX);
    assert_int_equal(sk_met_rule(m, "one_more"), -1); /* full */
    sk_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_prom_lines),
        cmocka_unit_test(test_responses_by_class),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_rules),
    };
    sk_log_set_level(SK_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
