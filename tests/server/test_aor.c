/* Tests of the AOR rule shared by the registrar, the proxy and the redirect server: which
 * URIs name this server (sk_loc_is_self) and the canonical AOR they reach (sk_loc_aor,
 * RFC 3261 §10.3 step 5, §16.5), that a REGISTER and an INVITE spelled differently meet
 * in the location service, and that bindings stored under the AOR spelling of before move
 * to the new one on load. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "server/location.h"
#include "store/store.h"

/* The server of these tests: UDP and TCP on 127.0.0.1:5070, UDP on [::1]:5070 and on
 * 127.0.0.1:5062, the domains localhost and Example.COM (compared case-insensitively). */
static void self_make(struct sk_loc_self *self)
{
    struct sk_sa a;

    sk_loc_self_init(self);
    assert_int_equal(sk_sa_from_ip(&a, SK_STR_LIT("127.0.0.1"), 5070), 0);
    assert_int_equal(sk_loc_self_add_addr(self, &a), 0);
    assert_int_equal(sk_loc_self_add_addr(self, &a),
                     0); /* TCP on the same address: no new entry */
    assert_int_equal(self->naddr, 1);
    assert_int_equal(sk_sa_from_ip(&a, SK_STR_LIT("::1"), 5070), 0);
    assert_int_equal(sk_loc_self_add_addr(self, &a), 0);
    assert_int_equal(sk_sa_from_ip(&a, SK_STR_LIT("127.0.0.1"), 5062), 0);
    assert_int_equal(sk_loc_self_add_addr(self, &a), 0);
    assert_int_equal(sk_loc_self_add_domain(self, "localhost"), 0);
    assert_int_equal(sk_loc_self_add_domain(self, "Example.COM"), 0);
}

struct aor_case {
    const char *uri;
    const char *aor;    /* expected AOR */
    bool self;          /* names this server */
    const char *user;   /* expected user slice ("" = none) */
    const char *domain; /* expected domain slice */
};

static void check_case(const struct sk_loc_self *self, const struct aor_case *c)
{
    struct sip_uri u;
    struct sk_buf b;
    struct sk_loc_aor_info ai;

    if (sip_uri_parse(&u, c->uri, strlen(c->uri), NULL) != 0)
        fail_msg("%s does not parse", c->uri);
    sk_buf_init(&b);
    assert_int_equal(sk_loc_aor(&u, self, &b, &ai), 0);
    if (strcmp(b.p, c->aor) != 0 || ai.self != c->self)
        fail_msg("sk_loc_aor(%s) = %s (self %d), want %s (self %d)", c->uri, b.p, ai.self,
                 c->aor, c->self);
    if (sk_loc_is_self(self, &u) != c->self)
        fail_msg("sk_loc_is_self(%s) = %d, want %d", c->uri, !c->self, c->self);
    if (ai.user_len != strlen(c->user) ||
        memcmp(b.p + ai.user_off, c->user, ai.user_len) != 0)
        fail_msg("%s: user '%.*s', want '%s'", c->uri, (int) ai.user_len,
                 b.p + ai.user_off, c->user);
    if (ai.domain_len != strlen(c->domain) ||
        memcmp(b.p + ai.domain_off, c->domain, ai.domain_len) != 0)
        fail_msg("%s: domain '%.*s', want '%s'", c->uri, (int) ai.domain_len,
                 b.p + ai.domain_off, c->domain);
    sk_buf_free(&b);
}

/* Every spelling of a Request-URI or To that names us reaches the AOR without a port. */
static void test_aor_forms_ours(void **state)
{
    static const struct aor_case cases[] = {
        /* ADDR:PORT, the SIPp way (sip:[service]@[remote_ip]:[remote_port]) */
        {"sip:uas@127.0.0.1:5070", "sip:uas@127.0.0.1", true, "uas", "127.0.0.1"},
        /* ADDR without a port: an address of ours, whichever port */
        {"sip:uas@127.0.0.1", "sip:uas@127.0.0.1", true, "uas", "127.0.0.1"},
        /* the other port this address listens on */
        {"sip:uas@127.0.0.1:5062", "sip:uas@127.0.0.1", true, "uas", "127.0.0.1"},
        /* the parameters, headers and escapes of §10.3 step 5 */
        {"sip:%75as@127.0.0.1:5070;transport=tcp?subject=x", "sip:uas@127.0.0.1", true,
         "uas", "127.0.0.1"},
        /* an address of ours in another spelling: its one canonical form */
        {"sip:uas@127.000.000.001:5070", "sip:uas@127.0.0.1", true, "uas", "127.0.0.1"},
        {"sip:uas@[::1]:5070", "sip:uas@[::1]", true, "uas", "::1"},
        {"sip:uas@[0:0:0:0:0:0:0:1]", "sip:uas@[::1]", true, "uas", "::1"},
        /* DOMAIN and DOMAIN:PORT, any case */
        {"sip:alice@localhost", "sip:alice@localhost", true, "alice", "localhost"},
        {"sip:alice@LocalHost:5070", "sip:alice@localhost", true, "alice", "localhost"},
        {"sip:alice@example.com:5062", "sip:alice@example.com", true, "alice",
         "example.com"},
        /* sips: the same rule, the scheme kept (§19.1.4: never the sip AOR) */
        {"sips:alice@localhost:5070", "sips:alice@localhost", true, "alice", "localhost"},
        {"sips:uas@127.0.0.1:5070", "sips:uas@127.0.0.1", true, "uas", "127.0.0.1"},
        /* the domain itself (no user) */
        {"sip:localhost:5070", "sip:localhost", true, "", "localhost"},
        {"sip:127.0.0.1:5070", "sip:127.0.0.1", true, "", "127.0.0.1"},
    };
    struct sk_loc_self self;
    (void) state;

    self_make(&self);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&self, &cases[i]);
}

/* What does not name us keeps its port: another server's address and port. */
static void test_aor_forms_foreign(void **state)
{
    static const struct aor_case cases[] = {
        /* a host that is not ours, with a port we listen on elsewhere */
        {"sip:far@127.0.0.2:5070", "sip:far@127.0.0.2:5070", false, "far", "127.0.0.2"},
        {"sip:far@127.0.0.2", "sip:far@127.0.0.2", false, "far", "127.0.0.2"},
        /* an address of ours with a port it does not listen on: another server there */
        {"sip:far@127.0.0.1:5999", "sip:far@127.0.0.1:5999", false, "far", "127.0.0.1"},
        {"sip:far@[::1]:5062", "sip:far@[::1]:5062", false, "far", "::1"},
        /* the default port, which this server does not listen on */
        {"sip:far@127.0.0.1:5060", "sip:far@127.0.0.1:5060", false, "far", "127.0.0.1"},
        /* a domain of ours with a port we do not listen on */
        {"sip:far@localhost:5999", "sip:far@localhost:5999", false, "far", "localhost"},
        /* a domain that is not ours, and a name that only starts like ours */
        {"sip:bob@Other.Example:5070", "sip:bob@other.example:5070", false, "bob",
         "other.example"},
        {"sip:bob@localhost.example", "sip:bob@localhost.example", false, "bob",
         "localhost.example"},
    };
    struct sk_loc_self self;
    (void) state;

    self_make(&self);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&self, &cases[i]);
}

/* The default port written or not, when we listen on it; and no self at all. */
static void test_aor_default_port(void **state)
{
    static const struct aor_case on_5060[] = {
        {"sip:uas@192.0.2.1:5060", "sip:uas@192.0.2.1", true, "uas", "192.0.2.1"},
        {"sip:uas@192.0.2.1", "sip:uas@192.0.2.1", true, "uas", "192.0.2.1"},
        {"sip:uas@192.000.2.01", "sip:uas@192.0.2.1", true, "uas", "192.0.2.1"},
        {"sip:uas@sip.example.net:5060", "sip:uas@sip.example.net", true, "uas",
         "sip.example.net"},
        {"sip:uas@192.0.2.1:5070", "sip:uas@192.0.2.1:5070", false, "uas", "192.0.2.1"},
    };
    static const struct aor_case no_self[] = {
        /* nothing is ours: the AOR of before, port kept */
        {"sip:uas@127.0.0.1:5070", "sip:uas@127.0.0.1:5070", false, "uas", "127.0.0.1"},
        {"sip:Uas@LOCALHOST", "sip:Uas@localhost", false, "Uas", "localhost"},
    };
    struct sk_loc_self self;
    struct sk_sa a;
    (void) state;

    sk_loc_self_init(&self);
    assert_int_equal(sk_sa_from_ip(&a, SK_STR_LIT("192.0.2.1"), 5060), 0);
    assert_int_equal(sk_loc_self_add_addr(&self, &a), 0);
    assert_int_equal(sk_loc_self_add_domain(&self, "sip.example.net"), 0);
    for (size_t i = 0; i < sizeof(on_5060) / sizeof(on_5060[0]); i++)
        check_case(&self, &on_5060[i]);
    for (size_t i = 0; i < sizeof(no_self) / sizeof(no_self[0]); i++)
        check_case(NULL, &no_self[i]);
}

static void test_self_limits(void **state)
{
    struct sk_loc_self self;
    struct sk_sa a;
    struct sip_uri u;
    (void) state;

    sk_loc_self_init(&self);
    for (unsigned i = 0; i < SK_LOC_SELF_MAX_ADDRS; i++) {
        assert_int_equal(
            sk_sa_from_ip(&a, SK_STR_LIT("127.0.0.1"), (uint16_t) (6000 + i)), 0);
        assert_int_equal(sk_loc_self_add_addr(&self, &a), 0);
    }
    sk_sa_set_port(&a, 7000);
    assert_int_equal(sk_loc_self_add_addr(&self, &a), ENOSPC);
    for (unsigned i = 0; i < SK_LOC_SELF_MAX_DOMAINS; i++)
        assert_int_equal(sk_loc_self_add_domain(&self, "d.example"), 0);
    assert_int_equal(sk_loc_self_add_domain(&self, "e.example"), ENOSPC);
    /* tel: and other schemes never name us, and have no AOR */
    assert_int_equal(sip_uri_parse(&u, "tel:+15550100", 13, NULL), 0);
    assert_false(sk_loc_is_self(&self, &u));
    {
        struct sk_buf b;
        sk_buf_init(&b);
        assert_int_equal(sk_loc_aor(&u, &self, &b, NULL), EINVAL);
        sk_buf_free(&b);
    }
}

/* ---- the location service: REGISTER and INVITE spelled differently meet ---- */

static char *aor_text(const struct sk_loc_self *self, const char *uri)
{
    struct sip_uri u;
    struct sk_buf b;
    char *out;

    assert_int_equal(sip_uri_parse(&u, uri, strlen(uri), NULL), 0);
    sk_buf_init(&b);
    assert_int_equal(sk_loc_aor(&u, self, &b, NULL), 0);
    out = strdup(b.p);
    sk_buf_free(&b);
    assert_non_null(out);
    return out;
}

static size_t count_of(struct sk_loc *l, const struct sk_loc_self *self, const char *uri,
                       int64_t now)
{
    char *a = aor_text(self, uri);
    size_t n = sk_loc_lookup(l, a, now, NULL, NULL);
    free(a);
    return n;
}

static void register_one(struct sk_loc *l, const struct sk_loc_self *self, const char *to,
                         const char *contact, const char *call_id, int64_t now)
{
    struct sk_loc_reg r;
    struct sk_loc_contact c;
    char *a = aor_text(self, to);

    memset(&r, 0, sizeof(r));
    r.aor = a;
    r.call_id = sk_str_cstr(call_id);
    r.cseq = 1;
    r.proto = SIP_PROTO_UDP;
    assert_int_equal(sk_sa_from_ip(&r.src, SK_STR_LIT("127.0.0.1"), 5090), 0);
    memset(&c, 0, sizeof(c));
    c.uri = sk_str_cstr(contact);
    c.params = SK_STR_LIT("");
    c.q = -1;
    c.expires = 600;
    assert_int_equal(sk_loc_register(l, &r, &c, 1, false, now, NULL, NULL), 0);
    free(a);
}

static void test_register_and_call_meet(void **state)
{
    struct sk_loc_self self;
    struct sk_loc *l;
    int64_t now = (int64_t) time(NULL);
    (void) state;

    self_make(&self);
    assert_int_equal(sk_loc_new(&l, NULL, 50), 0);
    /* SIPp's usual registration: To sip:uas@127.0.0.1 */
    register_one(l, &self, "sip:uas@127.0.0.1", "sip:uas@127.0.0.1:5091", "c1", now);
    /* a REGISTER To with our port */
    register_one(l, &self, "sip:uasp@127.0.0.1:5070", "sip:uasp@127.0.0.1:5092", "c2",
                 now);
    register_one(l, &self, "sip:dom@localhost:5070", "sip:dom@127.0.0.1:5093", "c3", now);
    assert_int_equal(count_of(l, &self, "sip:uas@127.0.0.1:5070", now), 1);
    assert_int_equal(count_of(l, &self, "sip:uas@127.0.0.1", now), 1);
    assert_int_equal(count_of(l, &self, "sip:uas@127.0.0.1:5062", now), 1);
    assert_int_equal(count_of(l, &self, "sip:uasp@127.0.0.1", now), 1);
    assert_int_equal(count_of(l, &self, "sip:uasp@127.0.0.1:5070", now), 1);
    assert_int_equal(count_of(l, &self, "sip:dom@localhost", now), 1);
    assert_int_equal(count_of(l, &self, "sip:dom@LOCALHOST:5062", now), 1);
    /* another server's port, another scheme: other AORs */
    assert_int_equal(count_of(l, &self, "sip:uas@127.0.0.1:5999", now), 0);
    assert_int_equal(count_of(l, &self, "sips:uas@127.0.0.1:5070", now), 0);
    assert_int_equal(count_of(l, &self, "sip:dom@127.0.0.1", now), 0);
    assert_int_equal(sk_loc_count(l), 3);
    sk_loc_free(l);
}

/* ---- stored data of before: bindings under "sip:uas@127.0.0.1:5070" move ---- */

struct rows {
    size_t n;
    char aor[8][128], key[8][128];
    int64_t expires_at[8];
};

static void row_cb(void *arg, const struct sk_binding_rec *b)
{
    struct rows *r = arg;
    if (r->n >= 8) return;
    snprintf(r->aor[r->n], sizeof(r->aor[0]), "%s", b->aor);
    snprintf(r->key[r->n], sizeof(r->key[0]), "%s", b->key);
    r->expires_at[r->n] = b->expires_at;
    r->n++;
}

static void put_row(struct sk_store *st, const char *aor, const char *uri,
                    int64_t expires_at)
{
    struct sk_binding_rec b = {
        .aor = aor,
        .key = uri,
        .uri = uri,
        .params = "",
        .call_id = "old-cid",
        .cseq = 3,
        .q = -1,
        .expires_at = expires_at,
        .instance = "",
        .reg_id = 0,
        .path = "",
        .user_agent = "old-ua",
        .received = "UDP:127.0.0.1:5091",
    };
    assert_int_equal(sk_store_binding_put(st, &b), 0);
}

static bool has_row(const struct rows *r, const char *aor, const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->aor[i], aor) == 0 && strcmp(r->key[i], key) == 0) return true;
    }
    return false;
}

static void test_stored_aor_moves(void **state)
{
    struct sk_loc_self self;
    struct tu_datadir t;
    struct sk_store *st;
    struct sk_loc *l;
    struct rows rows;
    int64_t now = (int64_t) time(NULL);
    (void) state;

    self_make(&self);
    tu_datadir_make(&t, "sipkit-aor");
    assert_int_equal(sk_store_open(&st, t.path), 0);
    assert_int_equal(sk_store_begin(st), 0);
    /* written by the rule of before, which kept our port */
    put_row(st, "sip:uas@127.0.0.1:5070", "sip:uas@127.0.0.1:5091", now + 600);
    /* the same contact under both spellings: the later expiry stays */
    put_row(st, "sip:dup@localhost:5070", "sip:dup@127.0.0.1:5094", now + 900);
    put_row(st, "sip:dup@localhost", "sip:dup@127.0.0.1:5094", now + 300);
    /* already canonical, and a foreign port: both stay as they are */
    put_row(st, "sip:alice@localhost", "sip:alice@127.0.0.1:5095", now + 600);
    put_row(st, "sip:far@127.0.0.1:5999", "sip:far@127.0.0.1:5096", now + 600);
    assert_int_equal(sk_store_commit(st), 0);

    assert_int_equal(sk_loc_new(&l, st, 50), 0);
    assert_int_equal(sk_loc_load(l, &self, now), 0);
    assert_int_equal(sk_loc_count(l), 4);
    assert_int_equal(sk_loc_lookup(l, "sip:uas@127.0.0.1", now, NULL, NULL), 1);
    assert_int_equal(sk_loc_lookup(l, "sip:uas@127.0.0.1:5070", now, NULL, NULL), 0);
    assert_int_equal(sk_loc_lookup(l, "sip:dup@localhost", now, NULL, NULL), 1);
    assert_int_equal(sk_loc_lookup(l, "sip:alice@localhost", now, NULL, NULL), 1);
    assert_int_equal(sk_loc_lookup(l, "sip:far@127.0.0.1:5999", now, NULL, NULL), 1);
    sk_loc_flush(l);

    /* the store holds the new spelling only */
    memset(&rows, 0, sizeof(rows));
    assert_int_equal(sk_store_bindings_load(st, now, row_cb, &rows), 0);
    assert_int_equal(rows.n, 4);
    assert_true(has_row(&rows, "sip:uas@127.0.0.1", "sip:uas@127.0.0.1:5091"));
    assert_true(has_row(&rows, "sip:dup@localhost", "sip:dup@127.0.0.1:5094"));
    assert_true(has_row(&rows, "sip:alice@localhost", "sip:alice@127.0.0.1:5095"));
    assert_true(has_row(&rows, "sip:far@127.0.0.1:5999", "sip:far@127.0.0.1:5096"));
    for (size_t i = 0; i < rows.n; i++) {
        if (strcmp(rows.aor[i], "sip:dup@localhost") == 0)
            assert_true(rows.expires_at[i] == now + 900);
    }
    sk_loc_free(l);

    /* a second start moves nothing more and finds the same */
    assert_int_equal(sk_loc_new(&l, st, 50), 0);
    assert_int_equal(sk_loc_load(l, &self, now), 0);
    assert_int_equal(sk_loc_count(l), 4);
    assert_int_equal(sk_loc_lookup(l, "sip:uas@127.0.0.1", now, NULL, NULL), 1);
    sk_loc_free(l);
    sk_store_close(st);
    tu_datadir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aor_forms_ours),
        cmocka_unit_test(test_aor_forms_foreign),
        cmocka_unit_test(test_aor_default_port),
        cmocka_unit_test(test_self_limits),
        cmocka_unit_test(test_register_and_call_meet),
        cmocka_unit_test(test_stored_aor_moves),
    };
    sk_log_set_level(SK_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
