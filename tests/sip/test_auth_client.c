/* Tests of the digest client: which challenge it answers, and that the server side accepts what it computes. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sip/auth.h"
#include "sip/auth_client.h"
#include "sip/msg.h"

#define REALM "localhost"
#define RURI "sip:localhost"

/* A 401/407 with the given challenge lines, parsed into m (buf keeps the bytes). */
static void parse_resp(struct sip_msg *m, char *buf, size_t size, int status, const char *chal)
{
    struct sip_error e;
    size_t used;
    int n = snprintf(buf, size,
                     "SIP/2.0 %d Unauthorized\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n"
                     "From: <sip:alice@localhost>;tag=a\r\nTo: <sip:alice@localhost>;tag=b\r\n"
                     "Call-ID: c1\r\nCSeq: 1 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
                     status, chal);
    sip_msg_init(m);
    assert_int_equal(sip_msg_parse(m, buf, (size_t) n, SIP_PARSE_DATAGRAM, NULL, &used, &e), 0);
}

/* The Authorization line the client printed, parsed as the server would. */
static void parse_authz(const char *line, struct sip_auth *a)
{
    struct sip_error e;
    const char *colon = strchr(line, ':');
    size_t len = strlen(colon + 2) - 2; /* without CRLF */
    assert_int_equal(sip_parse_auth(sk_str_make(colon + 2, len), a, &e), 0);
}

static void test_prefers_sha256_and_verifies(void **state)
{
    struct sip_nonces *n;
    char chal[1024], buf[2048], ha1[SIP_DIGEST_HEX_MAX];
    struct sk_buf cb, ab;
    struct sip_msg m;
    struct sip_digest_client dc;
    struct sip_auth a;
    enum sip_digest_alg algs[2] = {SIP_DIGEST_MD5, SIP_DIGEST_SHA256};
    time_t now = time(NULL);
    (void) state;

    assert_int_equal(sip_nonces_new(&n, 300), 0);
    sk_buf_init(&cb);
    /* MD5 first, SHA-256 second: the client still takes SHA-256 (RFC 8760 §2.4) */
    assert_int_equal(sip_digest_challenges(&cb, "WWW-Authenticate", n, SK_STR_LIT(REALM), algs,
                                           2, false, now),
                     0);
    snprintf(chal, sizeof(chal), "%s", cb.p);
    parse_resp(&m, buf, sizeof(buf), 401, chal);
    assert_int_equal(sip_digest_client_pick(&m, &dc), 0);
    assert_int_equal(dc.alg, SIP_DIGEST_SHA256);
    assert_false(dc.proxy);
    assert_true(dc.qop_auth);
    assert_string_equal(dc.realm, REALM);

    sk_buf_init(&ab);
    assert_int_equal(sip_digest_client_authorize(&ab, &dc, "alice", "secret",
                                                 SK_STR_LIT("REGISTER"), SK_STR_LIT(RURI), NULL),
                     0);
    assert_true(strncmp(ab.p, "Authorization: Digest ", 22) == 0);
    parse_authz(ab.p, &a);
    assert_true(sk_str_eq_cstr(a.nc, "00000001"));
    sip_digest_ha1(SIP_DIGEST_SHA256, SK_STR_LIT("alice"), SK_STR_LIT(REALM), SK_STR_LIT("secret"),
                   ha1);
    assert_int_equal(sip_digest_verify(n, &a, SK_STR_LIT(REALM), SK_STR_LIT("REGISTER"),
                                       SK_STR_LIT(RURI), ha1, now),
                     SIP_AUTH_OK);
    /* the next request with the same nonce counts on: nc 2, accepted too */
    sk_buf_reset(&ab);
    assert_int_equal(sip_digest_client_authorize(&ab, &dc, "alice", "secret",
                                                 SK_STR_LIT("REGISTER"), SK_STR_LIT(RURI), NULL),
                     0);
    parse_authz(ab.p, &a);
    assert_true(sk_str_eq_cstr(a.nc, "00000002"));
    assert_int_equal(sip_digest_verify(n, &a, SK_STR_LIT(REALM), SK_STR_LIT("REGISTER"),
                                       SK_STR_LIT(RURI), ha1, now),
                     SIP_AUTH_OK);
    /* a wrong password is refused by the server */
    sk_buf_reset(&ab);
    sip_digest_client_authorize(&ab, &dc, "alice", "wrong", SK_STR_LIT("REGISTER"),
                                SK_STR_LIT(RURI), NULL);
    parse_authz(ab.p, &a);
    assert_int_equal(sip_digest_verify(n, &a, SK_STR_LIT(REALM), SK_STR_LIT("REGISTER"),
                                       SK_STR_LIT(RURI), ha1, now),
                     SIP_AUTH_BAD);
    sk_buf_free(&ab);
    sk_buf_free(&cb);
    sip_msg_release(&m);
    sip_nonces_free(n);
}

static void test_md5_proxy_opaque_and_rfc2069(void **state)
{
    char buf[2048], ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];
    struct sip_msg m;
    struct sip_digest_client dc;
    struct sk_buf ab;
    struct sip_auth a;
    (void) state;

    /* 407 with MD5, no algorithm parameter (MD5, RFC 7616 §3.3), no qop (RFC 2069) */
    parse_resp(&m, buf, sizeof(buf), 407,
               "Proxy-Authenticate: Digest realm=\"r\", nonce=\"abc\", opaque=\"xyz\"\r\n");
    assert_int_equal(sip_digest_client_pick(&m, &dc), 0);
    assert_true(dc.proxy);
    assert_int_equal(dc.alg, SIP_DIGEST_MD5);
    assert_false(dc.qop_auth);
    assert_string_equal(dc.opaque, "xyz");
    sk_buf_init(&ab);
    assert_int_equal(sip_digest_client_authorize(&ab, &dc, "bob", "pw", SK_STR_LIT("INVITE"),
                                                 SK_STR_LIT("sip:bob@r"), "cn"),
                     0);
    assert_true(strncmp(ab.p, "Proxy-Authorization: Digest ", 28) == 0);
    assert_null(strstr(ab.p, "qop="));
    assert_non_null(strstr(ab.p, "opaque=\"xyz\""));
    parse_authz(ab.p, &a);
    sip_digest_ha1(SIP_DIGEST_MD5, SK_STR_LIT("bob"), SK_STR_LIT("r"), SK_STR_LIT("pw"), ha1);
    sip_digest_response(SIP_DIGEST_MD5, ha1, &a, SK_STR_LIT("INVITE"), resp);
    assert_true(sk_str_eq_cstr(a.response, resp));
    sk_buf_free(&ab);
    sip_msg_release(&m);
}

static void test_refusals(void **state)
{
    char buf[2048];
    struct sip_msg m;
    struct sip_digest_client dc;
    (void) state;

    /* no challenge at all */
    parse_resp(&m, buf, sizeof(buf), 401, "");
    assert_int_equal(sip_digest_client_pick(&m, &dc), ENOENT);
    sip_msg_release(&m);
    /* only auth-int, an unknown algorithm, a non-Digest scheme: nothing to answer */
    parse_resp(&m, buf, sizeof(buf), 401,
               "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"\r\n"
               "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256\r\n"
               "WWW-Authenticate: Basic realm=\"r\"\r\n");
    assert_int_equal(sip_digest_client_pick(&m, &dc), ENOENT);
    sip_msg_release(&m);
    /* stale=true is seen (the UA may then answer once more) */
    parse_resp(&m, buf, sizeof(buf), 401,
               "WWW-Authenticate: Digest realm=\"r\", nonce=\"n2\", qop=\"auth,auth-int\", "
               "stale=true\r\n");
    assert_int_equal(sip_digest_client_pick(&m, &dc), 0);
    assert_true(dc.stale);
    assert_true(dc.qop_auth);
    sip_msg_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefers_sha256_and_verifies),
        cmocka_unit_test(test_md5_proxy_opaque_and_rfc2069),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
