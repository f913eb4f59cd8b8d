/* Tests of HTTP Digest for SIP: RFC 7616 vectors, nonces, staleness, replay and every refusal. */
#include "testutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sip/auth.h"

/* RFC 7616 §3.9.1 example (qop=auth, GET /dir/index.html) */
#define V_USER "Mufasa"
#define V_REALM "http-auth@example.org"
#define V_PASS "Circle of Life"
#define V_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define V_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define V_URI "/dir/index.html"

static struct sip_auth vector_creds(void)
{
    struct sip_auth c;
    memset(&c, 0, sizeof(c));
    c.digest = true;
    c.username = SK_STR_LIT(V_USER);
    c.realm = SK_STR_LIT(V_REALM);
    c.nonce = SK_STR_LIT(V_NONCE);
    c.uri = SK_STR_LIT(V_URI);
    c.cnonce = SK_STR_LIT(V_CNONCE);
    c.nc = SK_STR_LIT("00000001");
    c.qop = SK_STR_LIT("auth");
    return c;
}

static void test_rfc7616_vectors(void **state)
{
    char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];
    struct sip_auth c = vector_creds();
    (void) state;

    sip_digest_ha1(SIP_DIGEST_MD5, c.username, c.realm, SK_STR_LIT(V_PASS), ha1);
    sip_digest_response(SIP_DIGEST_MD5, ha1, &c, SK_STR_LIT("GET"), resp);
    assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
    sip_digest_ha1(SIP_DIGEST_SHA256, c.username, c.realm, SK_STR_LIT(V_PASS), ha1);
    sip_digest_response(SIP_DIGEST_SHA256, ha1, &c, SK_STR_LIT("GET"), resp);
    assert_string_equal(resp, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void test_rfc2617_no_qop(void **state)
{
    /* RFC 2617 §3.5 style, no qop: response = H(HA1:nonce:HA2) */
    char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX];
    char ha2[SIP_DIGEST_HEX_MAX], buf[256];
    struct sip_auth c = vector_creds();
    (void) state;

    c.qop = SK_STR_NULL;
    sip_digest_ha1(SIP_DIGEST_MD5, c.username, c.realm, SK_STR_LIT(V_PASS), ha1);
    sip_digest_response(SIP_DIGEST_MD5, ha1, &c, SK_STR_LIT("REGISTER"), resp);
    sip_digest_hex(SIP_DIGEST_MD5, "REGISTER:" V_URI, strlen("REGISTER:" V_URI), ha2);
    snprintf(buf, sizeof(buf), "%s:%s:%s", ha1, V_NONCE, ha2);
    sip_digest_hex(SIP_DIGEST_MD5, buf, strlen(buf), want);
    assert_string_equal(resp, want);
}

static void test_alg_parse(void **state)
{
    enum sip_digest_alg a;
    (void) state;
    assert_int_equal(sip_digest_alg_parse(SK_STR_NULL, &a), 0);
    assert_int_equal(a, SIP_DIGEST_MD5);
    assert_int_equal(sip_digest_alg_parse(SK_STR_LIT("md5"), &a), 0);
    assert_int_equal(a, SIP_DIGEST_MD5);
    assert_int_equal(sip_digest_alg_parse(SK_STR_LIT("SHA-256"), &a), 0);
    assert_int_equal(a, SIP_DIGEST_SHA256);
    assert_int_equal(sip_digest_alg_parse(SK_STR_LIT("SHA-512-256"), &a), EINVAL);
    assert_string_equal(sip_digest_alg_name(SIP_DIGEST_SHA256), "SHA-256");
}

/* A client's answer to one of our challenges. */
struct client {
    char nonce[SIP_NONCE_LEN + 1];
    char nc[9];
    char resp[SIP_DIGEST_HEX_MAX];
    char ha1[SIP_DIGEST_HEX_MAX];
    struct sip_auth c;
};

static void client_answer(struct client *cl, struct sip_nonces *n, enum sip_digest_alg alg,
                          const char *password, unsigned nc, time_t when, const char *uri)
{
    memset(&cl->c, 0, sizeof(cl->c));
    sip_nonce_make(n, SK_STR_LIT("example.com"), when, cl->nonce);
    snprintf(cl->nc, sizeof(cl->nc), "%08x", nc);
    cl->c.digest = true;
    cl->c.username = SK_STR_LIT("alice");
    cl->c.realm = SK_STR_LIT("example.com");
    cl->c.nonce = sk_str_cstr(cl->nonce);
    cl->c.uri = sk_str_cstr(uri);
    cl->c.cnonce = SK_STR_LIT("0a4f113b");
    cl->c.nc = sk_str_cstr(cl->nc);
    cl->c.qop = SK_STR_LIT("auth");
    cl->c.opaque = sk_str_cstr(sip_nonces_opaque(n));
    cl->c.algorithm = sk_str_cstr(sip_digest_alg_name(alg));
    sip_digest_ha1(alg, SK_STR_LIT("alice"), SK_STR_LIT("example.com"), sk_str_cstr(password),
                   cl->ha1);
    sip_digest_response(alg, cl->ha1, &cl->c, SK_STR_LIT("REGISTER"), cl->resp);
    cl->c.response = sk_str_cstr(cl->resp);
}

static void test_verify(void **state)
{
    struct sip_nonces *n;
    struct client cl;
    char good_ha1[SIP_DIGEST_HEX_MAX];
    const time_t t0 = 1700000000;
    const struct sk_str realm = SK_STR_LIT("example.com"), uri = SK_STR_LIT("sip:example.com");
    (void) state;

    assert_int_equal(sip_nonces_new(&n, 300), 0);
    for (int a = SIP_DIGEST_MD5; a <= SIP_DIGEST_SHA256; a++) {
        /* right password */
        client_answer(&cl, n, (enum sip_digest_alg) a, "secret", 1, t0, "sip:example.com");
        strcpy(good_ha1, cl.ha1);
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 10),
                         SIP_AUTH_OK);
        /* the same nonce-count again: replay */
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 11),
                         SIP_AUTH_REPLAY);
        /* the next nonce-count with the same nonce is fine */
        {
            struct client c2 = cl;
            snprintf(c2.nc, sizeof(c2.nc), "%08x", 2);
            c2.c.nc = sk_str_cstr(c2.nc);
            c2.c.nonce = sk_str_cstr(cl.nonce);
            sip_digest_response((enum sip_digest_alg) a, good_ha1, &c2.c, SK_STR_LIT("REGISTER"),
                                c2.resp);
            c2.c.response = sk_str_cstr(c2.resp);
            assert_int_equal(sip_digest_verify(n, &c2.c, realm, SK_STR_LIT("REGISTER"), uri,
                                               good_ha1, t0 + 12),
                             SIP_AUTH_OK);
        }
        /* wrong password */
        client_answer(&cl, n, (enum sip_digest_alg) a, "wrong", 1, t0, "sip:example.com");
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 10),
                         SIP_AUTH_BAD);
        /* expired nonce with the right password: stale */
        client_answer(&cl, n, (enum sip_digest_alg) a, "secret", 1, t0, "sip:example.com");
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 301),
                         SIP_AUTH_STALE);
        /* expired nonce with a wrong password is just bad */
        client_answer(&cl, n, (enum sip_digest_alg) a, "wrong", 1, t0, "sip:example.com");
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 301),
                         SIP_AUTH_BAD);
        /* digest-uri must be the Request-URI */
        client_answer(&cl, n, (enum sip_digest_alg) a, "secret", 1, t0, "sip:other.com");
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri,
                                           good_ha1, t0 + 10),
                         SIP_AUTH_BAD);
        /* wrong method (the response covers it) */
        client_answer(&cl, n, (enum sip_digest_alg) a, "secret", 1, t0, "sip:example.com");
        assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("INVITE"), uri, good_ha1,
                                           t0 + 10),
                         SIP_AUTH_BAD);
    }
    sip_nonces_free(n);
}

static void test_verify_refusals(void **state)
{
    struct sip_nonces *n, *other;
    struct client cl;
    const time_t t0 = 1700000000;
    const struct sk_str realm = SK_STR_LIT("example.com"), uri = SK_STR_LIT("sip:example.com");
    char forged[SIP_NONCE_LEN + 1];
    (void) state;

    assert_int_equal(sip_nonces_new(&n, 300), 0);
    assert_int_equal(sip_nonces_new(&other, 300), 0);
    /* a nonce made by another server (other secret) */
    client_answer(&cl, other, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.opaque = sk_str_cstr(sip_nonces_opaque(n));
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    /* a nonce of ours with one character changed */
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    strcpy(forged, cl.nonce);
    forged[3] = forged[3] == 'a' ? 'b' : 'a';
    cl.c.nonce = sk_str_cstr(forged);
    sip_digest_response(SIP_DIGEST_MD5, cl.ha1, &cl.c, SK_STR_LIT("REGISTER"), cl.resp);
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    /* a nonce made for another realm */
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    assert_int_equal(sip_digest_verify(n, &cl.c, SK_STR_LIT("example.org"), SK_STR_LIT("REGISTER"),
                                       uri, cl.ha1, t0 + 1),
                     SIP_AUTH_BAD);
    /* wrong opaque */
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.opaque = SK_STR_LIT("00");
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    /* unsupported algorithm and qop */
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.algorithm = SK_STR_LIT("SHA-512-256");
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_UNSUPPORTED);
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.qop = SK_STR_LIT("auth-int");
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_UNSUPPORTED);
    /* malformed nc, missing response, a non-Digest scheme */
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.nc = SK_STR_LIT("0000001g");
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    client_answer(&cl, n, SIP_DIGEST_MD5, "secret", 1, t0, "sip:example.com");
    cl.c.response = SK_STR_NULL;
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    cl.c.digest = false;
    assert_int_equal(sip_digest_verify(n, &cl.c, realm, SK_STR_LIT("REGISTER"), uri, cl.ha1,
                                       t0 + 1),
                     SIP_AUTH_BAD);
    sip_nonces_free(other);
    sip_nonces_free(n);
}

static int unhex(const char *h, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char) v;
    }
    return 0;
}

/* The nonce's MAC (precomputed ipad/opad contexts, copied per MAC) equals OpenSSL's
 * one-shot HMAC() over time|random|realm, for keys shorter than, equal to and longer
 * than SHA-256's 64-byte block, and realms up to the 256-byte cut. */
/* Hashes of parts joined by ':' match OpenSSL's one-shot digest of the joined
 * text, for totals below, at and beyond the joining buffer (768 bytes). */
static void test_hash_parts_lengths(void **state)
{
    static const size_t pw_lens[] = {0, 1, 700, 762, 763, 764, 765, 766, 767, 800, 3000};
    static char pw[3000], joined[3100];
    (void) state;

    for (size_t i = 0; i < sizeof(pw); i++)
        pw[i] = (char) ('!' + i % 90);
    for (size_t k = 0; k < sizeof(pw_lens) / sizeof(pw_lens[0]); k++) {
        for (int a = 0; a < 2; a++) {
            enum sip_digest_alg alg = a ? SIP_DIGEST_SHA256 : SIP_DIGEST_MD5;
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int mdlen = 0;
            char got[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX];
            int n = snprintf(joined, sizeof(joined), "alice:example.com:%.*s", (int) pw_lens[k], pw);

            assert_int_equal(sip_digest_ha1(alg, SK_STR_LIT("alice"), SK_STR_LIT("example.com"),
                                            sk_str_make(pw, pw_lens[k]), got),
                             0);
            assert_true(EVP_Digest(joined, (size_t) n, md, &mdlen, a ? EVP_sha256() : EVP_md5(),
                                   NULL));
            for (unsigned i = 0; i < mdlen; i++)
                snprintf(want + 2 * i, 3, "%02x", md[i]);
            if (strcmp(got, want) != 0)
                fail_msg("%s, password of %zu bytes: %s, EVP_Digest gives %s", a ? "SHA-256" : "MD5",
                         pw_lens[k], got, want);
        }
    }
}

static void test_nonce_hmac_matches_openssl(void **state)
{
    static const size_t key_lens[] = {0, 1, 32, 63, 64, 65, 100};
    static const size_t realm_lens[] = {0, 1, 11, 255, 256, 300};
    unsigned char key[100], msg[16 + 300], head[16], want[EVP_MAX_MD_SIZE];
    char realm[300], nonce[SIP_NONCE_LEN + 1], want_hex[33];
    (void) state;

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char) (i * 37 + 11);
    for (size_t i = 0; i < sizeof(realm); i++)
        realm[i] = (char) ('a' + i % 26);
    for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
        struct sip_nonces *n;
        assert_int_equal(sip_nonces_new_keyed(&n, 300, key, key_lens[k]), 0);
        for (size_t r = 0; r < sizeof(realm_lens) / sizeof(realm_lens[0]); r++) {
            struct sk_str rs = sk_str_make(realm, realm_lens[r]);
            size_t used = realm_lens[r] < 256 ? realm_lens[r] : 256;
            unsigned int wlen = 0;

            assert_int_equal(sip_nonce_make(n, rs, 1700000000 + (time_t) r, nonce), 0);
            assert_int_equal(strlen(nonce), SIP_NONCE_LEN);
            assert_int_equal(unhex(nonce, head, 16), 0);
            memcpy(msg, head, 16);
            memcpy(msg + 16, realm, used);
            assert_non_null(HMAC(EVP_sha256(), key, (int) key_lens[k], msg, 16 + used, want,
                                 &wlen));
            assert_int_equal(wlen, 32);
            for (size_t i = 0; i < 16; i++)
                snprintf(want_hex + 2 * i, 3, "%02x", want[i]);
            if (strcmp(nonce + 32, want_hex) != 0)
                fail_msg("key %zu bytes, realm %zu bytes: %s, HMAC() gives %s", key_lens[k],
                         realm_lens[r], nonce + 32, want_hex);
        }
        sip_nonces_free(n);
    }
}

/* Nonces made on one thread verify on others (each thread has its own contexts). */
struct verify_job {
    struct sip_nonces *n;
    int ok;
};

static void *verify_thread(void *arg)
{
    struct verify_job *j = arg;
    struct client cl;

    j->ok = 0;
    for (unsigned i = 1; i <= 50; i++) {
        client_answer(&cl, j->n, i % 2 ? SIP_DIGEST_SHA256 : SIP_DIGEST_MD5, "pw", i,
                      1700000000, "sip:example.com");
        if (sip_digest_verify(j->n, &cl.c, SK_STR_LIT("example.com"), SK_STR_LIT("REGISTER"),
                              SK_STR_LIT("sip:example.com"), cl.ha1, 1700000001) != SIP_AUTH_OK)
            return NULL;
    }
    j->ok = 1;
    return NULL;
}

static void test_threads(void **state)
{
    struct sip_nonces *n;
    pthread_t th[4];
    struct verify_job j[4];
    (void) state;

    assert_int_equal(sip_nonces_new(&n, 300), 0);
    for (int i = 0; i < 4; i++) {
        j[i].n = n;
        assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(j[i].ok, 1);
    }
    sip_nonces_free(n);
}

static void test_challenge_header(void **state)
{
    struct sip_nonces *n;
    struct sk_buf b;
    (void) state;

    assert_int_equal(sip_nonces_new(&n, 300), 0);
    sk_buf_init(&b);
    assert_int_equal(sip_digest_challenge(&b, "WWW-Authenticate", n, SK_STR_LIT("example.com"),
                                          SIP_DIGEST_SHA256, true, 1700000000),
                     0);
    assert_non_null(strstr(b.p, "WWW-Authenticate: Digest realm=\"example.com\", nonce=\""));
    assert_non_null(strstr(b.p, "algorithm=SHA-256, qop=\"auth\", stale=true\r\n"));
    assert_non_null(strstr(b.p, sip_nonces_opaque(n)));
    sk_buf_free(&b);
    sip_nonces_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7616_vectors),  cmocka_unit_test(test_rfc2617_no_qop),
        cmocka_unit_test(test_alg_parse),        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_verify_refusals), cmocka_unit_test(test_challenge_header),
        cmocka_unit_test(test_hash_parts_lengths),
        cmocka_unit_test(test_nonce_hmac_matches_openssl), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
