/* Tests of the transaction user's handler chain (sip/tu): order, consume or pass,
 * insertion, limits. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "sip/tu.h"

/* Each handler writes its letter into the trace when it runs, and consumes when
 * its letter is in the "consume" set of the case. */
struct trace {
    char seen[32];
    size_t n;
    const char *consume;
};

struct probe {
    char letter;
    struct trace *t;
};

static enum sip_tu_result probe_run(struct probe *p)
{
    if (p->t->n + 1 < sizeof(p->t->seen)) p->t->seen[p->t->n++] = p->letter;
    return strchr(p->t->consume, p->letter) ? SIP_TU_HANDLED : SIP_TU_PASS;
}

static enum sip_tu_result probe_request(void *arg, struct sip_tu_req *req)
{
    (void) req;
    return probe_run(arg);
}

static enum sip_tu_result probe_msg(void *arg, struct sip_rx *rx)
{
    (void) rx;
    return probe_run(arg);
}

static bool probe_stateless(void *arg, const struct sip_rx *rx)
{
    (void) rx;
    return probe_run(arg) == SIP_TU_HANDLED;
}

static void probe_failed(void *arg, struct sip_txn *st, int err)
{
    (void) st;
    (void) err;
    probe_run(arg);
}

static const char *const names[] = {"a", "b", "c", "d"};

/* Chain a, b, c, d: every hook on each. */
static void chain_make(struct sip_tu *tu, struct probe *p, struct trace *t)
{
    sip_tu_init(tu);
    for (int i = 0; i < 4; i++) {
        p[i] = (struct probe){(char) ('a' + i), t};
        struct sip_tu_handler h = {.name = names[i],
                                   .stateless = probe_stateless,
                                   .request = probe_request,
                                   .ack = probe_msg,
                                   .response = probe_msg,
                                   .server_failed = probe_failed,
                                   .arg = &p[i]};
        assert_int_equal(sip_tu_add(tu, &h, NULL), 0);
    }
}

static void trace_reset(struct trace *t, const char *consume)
{
    memset(t->seen, 0, sizeof(t->seen));
    t->n = 0;
    t->consume = consume;
}

/* Handlers run in the order they were added; the first that consumes ends the
 * walk and is returned; when all pass, NULL (the caller's default). */
static void test_order_and_consume(void **state)
{
    struct sip_tu tu;
    struct probe p[4];
    struct trace t;
    struct sip_tu_req req = {0};
    const struct sip_tu_handler *h;
    (void) state;

    chain_make(&tu, p, &t);
    trace_reset(&t, "c");
    h = sip_tu_request(&tu, &req);
    assert_non_null(h);
    assert_string_equal(h->name, "c");
    assert_string_equal(t.seen, "abc");

    trace_reset(&t, "a");
    h = sip_tu_request(&tu, &req);
    assert_string_equal(h->name, "a");
    assert_string_equal(t.seen, "a");

    /* nobody consumes: every handler ran once, in order */
    trace_reset(&t, "");
    assert_null(sip_tu_request(&tu, &req));
    assert_string_equal(t.seen, "abcd");

    /* the same semantics for stray ACKs, stray responses and the stateless question */
    trace_reset(&t, "bd");
    h = sip_tu_ack(&tu, NULL);
    assert_string_equal(h->name, "b");
    assert_string_equal(t.seen, "ab");
    trace_reset(&t, "d");
    h = sip_tu_response(&tu, NULL);
    assert_string_equal(h->name, "d");
    assert_string_equal(t.seen, "abcd");
    trace_reset(&t, "b");
    assert_true(sip_tu_stateless(&tu, NULL));
    assert_string_equal(t.seen, "ab");
    trace_reset(&t, "");
    assert_false(sip_tu_stateless(&tu, NULL));
    assert_string_equal(t.seen, "abcd");

    /* a failed server transaction is news for everyone, consumed or not */
    trace_reset(&t, "abcd");
    sip_tu_server_failed(&tu, NULL, ETIMEDOUT);
    assert_string_equal(t.seen, "abcd");
}

/* A handler without a hook takes no part in that event. */
static void test_missing_hooks(void **state)
{
    struct sip_tu tu;
    struct trace t;
    struct probe pa = {'a', &t}, pb = {'b', &t};
    struct sip_tu_handler only_ack = {.name = "a", .ack = probe_msg, .arg = &pa};
    struct sip_tu_handler only_req = {.name = "b", .request = probe_request, .arg = &pb};
    struct sip_tu_req req = {0};
    (void) state;

    sip_tu_init(&tu);
    assert_int_equal(sip_tu_add(&tu, &only_ack, NULL), 0);
    assert_int_equal(sip_tu_add(&tu, &only_req, NULL), 0);
    trace_reset(&t, "ab");
    assert_string_equal(sip_tu_request(&tu, &req)->name, "b");
    assert_string_equal(t.seen, "b");
    trace_reset(&t, "ab");
    assert_null(sip_tu_response(&tu, NULL));
    assert_false(sip_tu_stateless(&tu, NULL));
    sip_tu_server_failed(&tu, NULL, 0);
    assert_string_equal(t.seen, "");
    /* an empty chain consumes nothing */
    sip_tu_init(&tu);
    assert_null(sip_tu_request(&tu, &req));
    assert_null(sip_tu_ack(&tu, NULL));
}

/* Insertion before a named handler (a UA or presence handler goes before the
 * default); bad handlers and a full chain are refused and change nothing. */
static void test_insert_and_limits(void **state)
{
    struct sip_tu tu;
    struct probe p[4], x;
    struct trace t;
    struct sip_tu_req req = {0};
    struct sip_tu_handler h = {.name = "x", .request = probe_request, .arg = &x};
    struct sip_tu_handler nohook = {.name = "y"};
    struct sip_tu_handler noname = {.request = probe_request};
    (void) state;

    chain_make(&tu, p, &t);
    x = (struct probe){'x', &t};
    assert_int_equal(sip_tu_add(&tu, &h, "c"), 0);
    trace_reset(&t, "");
    assert_null(sip_tu_request(&tu, &req));
    assert_string_equal(t.seen, "abxcd");
    assert_int_equal(sip_tu_add(&tu, &h, "first"), EINVAL); /* no such handler */
    assert_int_equal(sip_tu_add(&tu, &nohook, NULL), EINVAL);
    assert_int_equal(sip_tu_add(&tu, &noname, NULL), EINVAL);
    assert_int_equal(tu.n, 5);
    assert_non_null(sip_tu_find(&tu, "x"));
    assert_null(sip_tu_find(&tu, "y"));
    while (tu.n < SIP_TU_MAX_HANDLERS)
        assert_int_equal(sip_tu_add(&tu, &h, "a"), 0);
    assert_int_equal(sip_tu_add(&tu, &h, NULL), ENOSPC);
    assert_int_equal(sip_tu_add(&tu, &h, "a"), ENOSPC);
    /* the first handler is now an x, the order of the rest kept */
    assert_string_equal(tu.h[0].name, "x");
    assert_string_equal(tu.h[SIP_TU_MAX_HANDLERS - 1].name, "d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_consume),
        cmocka_unit_test(test_missing_hooks),
        cmocka_unit_test(test_insert_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
