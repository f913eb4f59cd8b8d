/* Tests of the registrar's steps (RFC 3261 §10.3): AOR checks, digest, Expires and
 * Contact checks, add/refresh/remove/wildcard, 423, CSeq order and retransmissions,
 * without a network. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "server/location.h"
#include "server/registrar.h"
#include "sip/auth_client.h"
#include "store/store.h"

#define NOW 1800000000LL
#define DOMAIN "example.com"

struct fx {
    struct sk_loc_self self;
    struct sk_loc *loc;
    struct sk_store *store; /* only for the digest test */
    struct tu_datadir dir;
    struct sk_registrar *reg;
    struct sip_msg msg;
    char buf[4096];
    struct sip_rx rx;
    struct sk_reg_result res;
    unsigned branch; /* a new transaction per request unless a test repeats one */
};

static struct fx *fx_new(bool auth)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sk_registrar_config cfg = sk_registrar_config_default;

    assert_non_null(f);
    sk_loc_self_init(&f->self);
    assert_int_equal(sk_loc_self_add_domain(&f->self, DOMAIN), 0);
    if (auth) {
        struct sk_user_rec u;
        memset(&u, 0, sizeof(u));
        tu_datadir_make(&f->dir, "test_registrar");
        assert_int_equal(sk_store_open(&f->store, f->dir.path), 0);
        snprintf(u.user, sizeof(u.user), "alice");
        snprintf(u.domain, sizeof(u.domain), DOMAIN);
        assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, SK_STR_LIT("alice"),
                                        SK_STR_LIT(DOMAIN), SK_STR_LIT("secret"),
                                        u.ha1_md5),
                         0);
        assert_int_equal(sip_digest_ha1(SIP_DIGEST_SHA256, SK_STR_LIT("alice"),
                                        SK_STR_LIT(DOMAIN), SK_STR_LIT("secret"),
                                        u.ha1_sha256),
                         0);
        assert_int_equal(sk_store_user_put(f->store, &u), 0);
    }
    cfg.auth = auth;
    assert_int_equal(sk_loc_new(&f->loc, f->store, 50), 0);
    assert_int_equal(sk_registrar_new(&f->reg, &cfg, &f->self, f->loc, f->store), 0);
    sip_msg_init(&f->msg);
    sk_buf_init(&f->res.headers);
    return f;
}

static void fx_free(struct fx *f)
{
    sk_buf_free(&f->res.headers);
    sip_msg_release(&f->msg);
    sk_registrar_free(f->reg);
    sk_loc_free(f->loc);
    if (f->store) {
        sk_store_close(f->store);
        tu_datadir_remove(&f->dir);
    }
    free(f);
}

/* A REGISTER from alice (To = to, sip:alice@example.com when NULL) with CSeq cseq and
 * these header lines; handled at time now. Returns the status. */
static int reg_to(struct fx *f, const char *to, unsigned cseq, const char *hdrs,
                  int64_t now)
{
    struct sip_error e;
    size_t used;
    int n = snprintf(f->buf, sizeof(f->buf),
                     "REGISTER sip:" DOMAIN " SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-t%u\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@" DOMAIN ">;tag=ft1\r\n"
                     "To: %s\r\n"
                     "Call-ID: reg-test-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "%s"
                     "Content-Length: 0\r\n\r\n",
                     f->branch, to ? to : "<sip:alice@" DOMAIN ">", cseq, hdrs);

    assert_true(n > 0 && (size_t) n < sizeof(f->buf));
    assert_int_equal(
        sip_msg_parse(&f->msg, f->buf, (size_t) n, SIP_PARSE_DATAGRAM, NULL, &used, &e),
        0);
    assert_int_equal(sip_msg_validate(&f->msg, &e), 0);
    memset(&f->rx, 0, sizeof(f->rx));
    f->rx.msg = &f->msg;
    f->rx.proto = SIP_PROTO_UDP;
    assert_int_equal(sk_sa_from_ip(&f->rx.src, SK_STR_LIT("192.0.2.10"), 5060), 0);
    sk_buf_reset(&f->res.headers);
    sk_registrar_handle(f->reg, &f->rx, &f->res, now);
    return f->res.status;
}

static int reg(struct fx *f, unsigned cseq, const char *hdrs)
{
    f->branch++;
    return reg_to(f, NULL, cseq, hdrs, NOW);
}

static const char *headers(struct fx *f)
{
    return f->res.headers.p ? f->res.headers.p : "";
}

static void count_binding(void *arg, const struct sk_loc_binding *b)
{
    (void) b;
    (*(size_t *) arg)++;
}

static size_t bindings(struct fx *f)
{
    size_t n = 0;
    sk_loc_lookup(f->loc, "sip:alice@" DOMAIN, NOW, count_binding, &n);
    return n;
}

#define HAS(f, text)                                                                     \
    do {                                                                                 \
        if (!strstr(headers(f), (text)))                                                 \
            fail_msg("no '%s' in:\n%s", (text), headers(f));                             \
    } while (0)

/* Add, refresh, a second contact, remove one, query, then "*" with Expires: 0. */
static void test_bindings_lifecycle(void **state)
{
    struct fx *f = fx_new(false);
    (void) state;

    assert_int_equal(
        reg(f, 1, "Contact: <sip:alice@192.0.2.10:5060>\r\nExpires: 3600\r\n"), 200);
    HAS(f, "Contact: <sip:alice@192.0.2.10:5060>;expires=3600\r\n");
    HAS(f, "Date: ");
    assert_int_equal(bindings(f), 1);
    /* refresh: the contact's own expires wins over the header */
    assert_int_equal(reg(f, 2, "Contact: <sip:alice@192.0.2.10:5060>;expires=1800\r\n"),
                     200);
    HAS(f, "Contact: <sip:alice@192.0.2.10:5060>;expires=1800\r\n");
    assert_int_equal(bindings(f), 1);
    /* a second device; parameters other than expires are kept as they came */
    assert_int_equal(reg(f, 3, "Contact: <sip:alice@192.0.2.11:5062>;q=0.5;x=\"y\"\r\n"),
                     200);
    HAS(f, "Contact: <sip:alice@192.0.2.11:5062>;q=0.5;x=\"y\";expires=3600\r\n");
    assert_int_equal(bindings(f), 2);
    /* above our maximum: clamped to 86400 */
    assert_int_equal(
        reg(f, 4, "Contact: <sip:alice@192.0.2.11:5062>\r\nExpires: 999999\r\n"), 200);
    HAS(f, "Contact: <sip:alice@192.0.2.11:5062>;expires=86400\r\n");
    /* remove one: expires=0 */
    assert_int_equal(reg(f, 5, "Contact: <sip:alice@192.0.2.10:5060>;expires=0\r\n"),
                     200);
    assert_int_equal(bindings(f), 1);
    assert_null(strstr(headers(f), "192.0.2.10"));
    /* a query (no Contact) lists what is there and changes nothing */
    assert_int_equal(reg(f, 6, ""), 200);
    HAS(f, "Contact: <sip:alice@192.0.2.11:5062>");
    assert_int_equal(bindings(f), 1);
    /* §10.3 step 6: "*" needs Expires: 0 exactly */
    assert_int_equal(reg(f, 7, "Contact: *\r\n"), 400);
    assert_string_equal(f->res.reason, "Contact * Requires Expires: 0");
    assert_int_equal(reg(f, 8, "Contact: *\r\nExpires: 1\r\n"), 400);
    assert_string_equal(f->res.reason, "Contact * Requires Expires: 0");
    assert_int_equal(bindings(f), 1);
    assert_int_equal(reg(f, 9, "Contact: *\r\nExpires: 0\r\n"), 200);
    assert_int_equal(bindings(f), 0);
    assert_null(strstr(headers(f), "Contact:"));
    fx_free(f);
}

/* §10.3 step 7: 423 with Min-Expires below our minimum; 0 is a removal, not too brief. */
static void test_interval_too_brief(void **state)
{
    struct fx *f = fx_new(false);
    (void) state;

    assert_int_equal(reg(f, 1, "Contact: <sip:alice@192.0.2.10>\r\nExpires: 30\r\n"),
                     423);
    assert_null(f->res.reason);
    HAS(f, "Min-Expires: 60\r\n");
    assert_int_equal(reg(f, 2, "Contact: <sip:alice@192.0.2.10>;expires=59\r\n"), 423);
    assert_int_equal(bindings(f), 0);
    assert_int_equal(reg(f, 3, "Contact: <sip:alice@192.0.2.10>;expires=60\r\n"), 200);
    assert_int_equal(bindings(f), 1);
    fx_free(f);
}

/* The 400s of the validation steps, and the 404s of the AOR step; none changes a binding.
 */
static void test_bad_requests(void **state)
{
    static const struct {
        const char *to, *hdrs;
        int status;
        const char *reason;
    } cases[] = {
        {NULL, "Contact: <sip:alice@192.0.2.10>\r\nExpires: soon\r\n", 400,
         "Bad Expires"},
        {NULL, "Contact: <sip:alice@192.0.2.10\r\n", 400, "Bad Contact"},
        {NULL, "Contact: sip:alice@192.0.2.10, ,\r\n", 400, "Bad Contact"},
        {NULL,
         "Supported: outbound\r\nContact: <sip:alice@192.0.2.10>;reg-id=0;"
         "+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"\r\n",
         400, "Bad reg-id"},
        {"<sip:alice@other.example>", "Contact: <sip:alice@192.0.2.10>\r\n", 404,
         "Address-of-Record Not in This Domain"},
        {"<tel:+15550100>", "Contact: <sip:alice@192.0.2.10>\r\n", 404,
         "Address-of-Record Is Not a SIP URI"},
        {"<sip:" DOMAIN ">", "Contact: <sip:alice@192.0.2.10>\r\n", 404,
         "Address-of-Record Has No User Part"},
    };
    struct fx *f = fx_new(false);
    (void) state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->branch++;
        int st = reg_to(f, cases[i].to, (unsigned) i + 1, cases[i].hdrs, NOW);
        if (st != cases[i].status || !f->res.reason ||
            strcmp(f->res.reason, cases[i].reason) != 0)
            fail_msg("case %zu: %d %s, want %d %s", i, st,
                     f->res.reason ? f->res.reason : "(null)", cases[i].status,
                     cases[i].reason);
    }
    assert_int_equal(bindings(f), 0);
    fx_free(f);
}

/* A retransmission (same Via branch, Call-ID, CSeq) is answered with the bindings as
 * they are; a new request with an older CSeq is refused (§10.3 step 7). */
static void test_cseq_order_and_retransmission(void **state)
{
    struct fx *f = fx_new(false);
    (void) state;

    assert_int_equal(reg(f, 5, "Contact: <sip:alice@192.0.2.10>\r\n"), 200);
    /* the same request again: same branch (reg_to does not move it) */
    assert_int_equal(reg_to(f, NULL, 5, "Contact: <sip:alice@192.0.2.10>\r\n", NOW), 200);
    HAS(f, "Contact: <sip:alice@192.0.2.10>;expires=3600\r\n");
    assert_int_equal(reg(f, 4, "Contact: <sip:alice@192.0.2.10>;expires=0\r\n"), 500);
    assert_string_equal(f->res.reason, "Out-of-Order REGISTER (CSeq)");
    assert_int_equal(bindings(f), 1);
    fx_free(f);
}

/* Answer the challenge in f->res: the Authorization line for the next REGISTER. */
static void authorize(struct fx *f, const char *password, char *line, size_t size)
{
    char resp[2048];
    struct sip_msg *m = calloc(1, sizeof(*m));
    struct sip_digest_client dc;
    struct sip_error e;
    struct sk_buf b;
    size_t used;
    int n;

    assert_non_null(m);
    n = snprintf(resp, sizeof(resp),
                 "SIP/2.0 401 Unauthorized\r\n"
                 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-x\r\n"
                 "From: <sip:alice@" DOMAIN ">;tag=ft1\r\nTo: <sip:alice@" DOMAIN
                 ">;tag=x\r\n"
                 "Call-ID: reg-test-1\r\nCSeq: 1 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
                 headers(f));
    assert_true(n > 0 && (size_t) n < sizeof(resp));
    sip_msg_init(m);
    assert_int_equal(
        sip_msg_parse(m, resp, (size_t) n, SIP_PARSE_DATAGRAM, NULL, &used, &e), 0);
    assert_int_equal(sip_digest_client_pick(m, &dc), 0);
    assert_int_equal(dc.alg, SIP_DIGEST_SHA256); /* RFC 8760: the preferred one first */
    sk_buf_init(&b);
    assert_int_equal(sip_digest_client_authorize(&b, &dc, "alice", password,
                                                 SK_STR_LIT("REGISTER"),
                                                 SK_STR_LIT("sip:" DOMAIN), "c0ffee"),
                     0);
    assert_false(b.failed);
    snprintf(line, size, "%s", b.p);
    sk_buf_free(&b);
    sip_msg_release(m);
    free(m);
}

/* §10.3 steps 3-4 (§22): no credentials: 401 with a challenge per algorithm; a wrong
 * password: a new 401; the right one: 200; another user's credentials: 403. */
static void test_digest(void **state)
{
    struct fx *f = fx_new(true);
    char auth[1024], hdrs[1400];
    (void) state;

    assert_int_equal(reg(f, 1, "Contact: <sip:alice@192.0.2.10>\r\n"), 401);
    HAS(f, "WWW-Authenticate: Digest ");
    HAS(f, "algorithm=SHA-256");
    HAS(f, "algorithm=MD5");
    assert_int_equal(bindings(f), 0);

    authorize(f, "wrong", auth, sizeof(auth));
    snprintf(hdrs, sizeof(hdrs), "Contact: <sip:alice@192.0.2.10>\r\n%s", auth);
    assert_int_equal(reg(f, 2, hdrs), 401);
    assert_int_equal(bindings(f), 0);

    authorize(f, "secret", auth, sizeof(auth));
    snprintf(hdrs, sizeof(hdrs), "Contact: <sip:alice@192.0.2.10>\r\n%s", auth);
    assert_int_equal(reg(f, 3, hdrs), 200);
    HAS(f, "Contact: <sip:alice@192.0.2.10>;expires=3600\r\n");
    assert_int_equal(bindings(f), 1);

    /* alice's credentials for bob's AOR */
    f->branch++;
    assert_int_equal(reg_to(f, "<sip:bob@" DOMAIN ">", 4, hdrs, NOW), 403);
    assert_string_equal(f->res.reason, "Credentials Do Not Match the AOR");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bindings_lifecycle),
        cmocka_unit_test(test_interval_too_brief),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_cseq_order_and_retransmission),
        cmocka_unit_test(test_digest),
    };
    sk_log_set_level(SK_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
