/* Tests of net/tls: the RFC 5922 §7 name check over certificates built here, the
 * zero-config certificate, and client and server engines run against each other in memory
 * (handshake, data, refusals, resumption, broken records, close_notify). */
#include <dirent.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "net/tls.h"

/* ---- certificates ---- */

/* A SAN list as "U:sip:x", "D:name", "I:1.2.3.4", "E:mail"; NULL-terminated. */
static void add_sans(X509 *x, const char *const *sans)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

    assert_non_null(gens);
    for (; *sans; sans++) {
        const char *v = *sans + 2;
        GENERAL_NAME *g;
        if ((*sans)[0] == 'I') {
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v);
            assert_non_null(ip);
            g = GENERAL_NAME_new();
            GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        } else {
            int type = (*sans)[0] == 'U'   ? GEN_URI
                       : (*sans)[0] == 'D' ? GEN_DNS
                                           : GEN_EMAIL;
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            assert_true(ASN1_STRING_set(s, v, (int) strlen(v)));
            g = GENERAL_NAME_new();
            GENERAL_NAME_set0_value(g, type, s);
        }
        assert_true(sk_GENERAL_NAME_push(gens, g));
    }
    assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT));
    GENERAL_NAMES_free(gens);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *e;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    assert_true(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

/* A certificate for key, signed by issuer (NULL: self-signed), valid from `from` to `to`
 * days from now, with CN cn (NULL: none) and the SANs (NULL: no extension). */
static X509 *mk_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *cn,
                     const char *const *sans, long from, long to, int ca)
{
    X509 *x = X509_new();
    static long serial = 1;

    assert_non_null(x);
    assert_true(X509_set_version(x, 2));
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), (int) from, 0, NULL));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int) to, 0, NULL));
    if (cn)
        assert_true(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                               MBSTRING_ASC, (const unsigned char *) cn,
                                               -1, -1, 0));
    else
        assert_true(
            X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
                                       (const unsigned char *) "no cn", -1, -1, 0));
    assert_true(X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)));
    assert_true(X509_set_pubkey(x, key));
    add_ext(x, issuer ? issuer : x, NID_basic_constraints,
            ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (sans) add_sans(x, sans);
    assert_true(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()));
    return x;
}

static EVP_PKEY *mk_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

/* ---- files ---- */

static char dir[64];

static const char *path(const char *name)
{
    static char p[8][160];
    static int i;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static void write_pem(const char *name, X509 *x, X509 *chain, EVP_PKEY *key)
{
    FILE *f = fopen(path(name), "w");

    assert_non_null(f);
    if (x) assert_true(PEM_write_X509(f, x));
    if (chain) assert_true(PEM_write_X509(f, chain));
    if (key) assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
    assert_int_equal(fclose(f), 0);
}

static void rm_dir(const char *d)
{
    DIR *dd = opendir(d);
    struct dirent *e;
    char p[256];

    if (!dd) return;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.' &&
            (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (unlink(p) != 0) rm_dir(p);
    }
    closedir(dd);
    rmdir(d);
}

static const char *const SRV_SANS[] = {"U:sip:sip.a.test", "D:sip.a.test", "I:127.0.0.1",
                                       NULL};

/* A test CA, certificates signed by it (right name, wrong name, expired, a client's), one
 * self-signed and a second CA nobody trusts. */
static int setup(void **state)
{
    EVP_PKEY *cak = mk_key(), *k = mk_key(), *ok = mk_key();
    X509 *ca = mk_cert(cak, NULL, NULL, "sipkit test CA", NULL, -1, 30, 1);
    X509 *other = mk_cert(ok, NULL, NULL, "other CA", NULL, -1, 30, 1);
    static const char *const wrong[] = {"U:sip:sip.b.test", "D:sip.b.test", NULL};
    static const char *const cli[] = {"U:sip:client.a.test", "D:client.a.test", NULL};
    X509 *x;

    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/sk-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_pem("ca.crt", ca, NULL, NULL);
    write_pem("other-ca.crt", other, NULL, NULL);
    write_pem("key.pem", NULL, NULL, k);

    x = mk_cert(k, ca, cak, "sip.a.test", SRV_SANS, -1, 30, 0);
    write_pem("server.crt", x, ca, NULL);
    X509_free(x);
    x = mk_cert(k, ca, cak, "sip.b.test", wrong, -1, 30, 0);
    write_pem("wrong.crt", x, ca, NULL);
    X509_free(x);
    x = mk_cert(k, ca, cak, "sip.a.test", SRV_SANS, -30, -1, 0);
    write_pem("expired.crt", x, ca, NULL);
    X509_free(x);
    x = mk_cert(k, ca, cak, "sip.a.test", SRV_SANS, 2, 30, 0);
    write_pem("future.crt", x, ca, NULL);
    X509_free(x);
    x = mk_cert(k, other, ok, "sip.a.test", SRV_SANS, -1, 30, 0);
    write_pem("untrusted.crt", x, NULL, NULL);
    write_pem("untrusted-chain.crt", x, other, NULL);
    X509_free(x);
    x = mk_cert(k, ca, cak, "client.a.test", cli, -1, 30, 0);
    write_pem("client.crt", x, ca, NULL);
    X509_free(x);
    x = mk_cert(k, NULL, NULL, "sip.a.test", SRV_SANS, -1, 30, 0);
    write_pem("selfsigned.crt", x, NULL, NULL);
    X509_free(x);

    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ok);
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    rm_dir(dir);
    return 0;
}

/* ---- contexts and the in-memory wire ---- */

static struct sk_tls_ctx *server_ctx(const char *cert, enum sk_tls_verify v)
{
    struct sk_tls_config cfg = {.role = SK_TLS_SERVER,
                                .cert_file = path(cert),
                                .key_file = path("key.pem"),
                                .ca_file = path("ca.crt"),
                                .verify = v};
    struct sk_tls_ctx *ctx;
    char err[256];

    TU_ASSERT_MSG(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)) == 0, "server ctx: %s",
                  err);
    return ctx;
}

static struct sk_tls_ctx *client_ctx(const char *ca, const char *cert,
                                     enum sk_tls_verify v)
{
    struct sk_tls_config cfg = {.role = SK_TLS_CLIENT, .ca_file = path(ca), .verify = v};
    struct sk_tls_ctx *ctx;
    char err[256];

    if (cert) {
        cfg.cert_file = path(cert);
        cfg.key_file = path("key.pem");
    }
    TU_ASSERT_MSG(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)) == 0, "client ctx: %s",
                  err);
    return ctx;
}

/* Move what a has to send into b, as far as b takes it; returns bytes moved. */
static size_t move(struct sk_tls_conn *a, struct sk_tls_conn *b)
{
    size_t total = 0, len, n;
    const void *p;

    while ((p = sk_tls_conn_out_peek(a, &len)) && len) {
        n = sk_tls_conn_feed(b, p, len);
        sk_tls_conn_out_consume(a, n);
        total += n;
        if (n < len) break;
    }
    return total;
}

static size_t pump(struct sk_tls_conn *c, struct sk_tls_conn *s)
{
    return move(c, s) + move(s, c);
}

/* Both handshakes until they are done or one fails (bounded). */
static void handshake(struct sk_tls_conn *c, struct sk_tls_conn *s,
                      enum sk_tls_status *cr, enum sk_tls_status *sr)
{
    for (int i = 0; i < 50; i++) {
        *cr = sk_tls_conn_handshake(c);
        *sr = sk_tls_conn_handshake(s);
        if (*cr == SK_TLS_ERROR || *sr == SK_TLS_ERROR) break;
        if (pump(c, s) == 0 && *cr == SK_TLS_OK && *sr == SK_TLS_OK) return;
    }
    /* let the failing side's alert reach the other */
    pump(c, s);
    if (*cr != SK_TLS_ERROR) *cr = sk_tls_conn_handshake(c);
    if (*sr != SK_TLS_ERROR) *sr = sk_tls_conn_handshake(s);
}

/* Read into buf until want bytes came (pumping in between). */
static void read_all(struct sk_tls_conn *from, struct sk_tls_conn *to, char *buf,
                     size_t want)
{
    size_t have = 0, got;

    for (int i = 0; i < 10000 && have < want; i++) {
        enum sk_tls_status st = sk_tls_conn_read(to, buf + have, want - have, &got);
        TU_ASSERT_MSG(st == SK_TLS_OK || st == SK_TLS_WANT_READ, "read: %d %s", st,
                      sk_tls_conn_error(to));
        have += got;
        pump(from, to);
    }
    assert_int_equal(have, want);
}

struct pair {
    struct sk_tls_ctx *cctx, *sctx;
    struct sk_tls_conn *c, *s;
    enum sk_tls_status cr, sr;
};

static void pair_run(struct pair *p, const char *name)
{
    assert_int_equal(sk_tls_conn_new(&p->s, p->sctx, NULL, NULL), 0);
    assert_int_equal(sk_tls_conn_new(&p->c, p->cctx, name, "5061"), 0);
    handshake(p->c, p->s, &p->cr, &p->sr);
    assert_int_equal(ERR_peek_error(), 0);
}

static void pair_conns_free(struct pair *p)
{
    sk_tls_conn_free(p->c);
    sk_tls_conn_free(p->s);
    p->c = p->s = NULL;
}

static void pair_free(struct pair *p)
{
    pair_conns_free(p);
    sk_tls_ctx_free(p->cctx);
    sk_tls_ctx_free(p->sctx);
}

/* The client refuses the server's certificate, saying why; the server sees the alert. */
static void expect_refused(const char *cert, const char *ca, const char *name,
                           const char *why)
{
    struct pair p = {.sctx = server_ctx(cert, SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx(ca, NULL, SK_TLS_VERIFY_ON)};

    pair_run(&p, name);
    assert_int_equal(p.cr, SK_TLS_ERROR);
    assert_int_equal(sk_tls_conn_state(p.c), SK_TLS_FAILED);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(p.c), why),
                  "%s for %s: error '%s', wanted '%s'", cert, name,
                  sk_tls_conn_error(p.c), why);
    assert_int_equal(p.sr, SK_TLS_ERROR);
    assert_false(sk_tls_conn_peer_verified(p.c));
    pair_free(&p);
}

/* ---- name checks (RFC 5922 §7) ---- */

static bool match(const char *cn, const char *const *sans, const char *target)
{
    EVP_PKEY *k = mk_key();
    X509 *x = mk_cert(k, NULL, NULL, cn, sans, -1, 1, 0);
    bool m = sk_tls_name_match(x, target);

    X509_free(x);
    EVP_PKEY_free(k);
    assert_int_equal(ERR_peek_error(), 0);
    return m;
}

static void test_names_uri(void **state)
{
    static const char *const uri[] = {"U:sip:sip.a.test", NULL};
    static const char *const uri_params[] = {"U:sip:sip.a.test:5061;transport=tls", NULL};
    static const char *const uri_wins[] = {"U:sip:sip.a.test", "D:other.a.test", NULL};
    static const char *const sips[] = {"U:sips:other.a.test", "D:other.a.test", NULL};
    static const char *const user[] = {"U:sip:alice@sip.a.test", "D:other.a.test", NULL};
    static const char *const http[] = {"U:https://sip.a.test/", NULL};
    (void) state;

    assert_true(match(NULL, uri, "sip.a.test"));
    assert_true(match(NULL, uri, "SIP.A.Test"));  /* §7.2: case-insensitive */
    assert_true(match(NULL, uri, "sip.a.test.")); /* the absolute form */
    assert_false(match(NULL, uri, "a.test"));     /* §7.2: no suffix match */
    assert_false(match(NULL, uri, "x.sip.a.test"));
    assert_false(match(NULL, uri, "sip.a.tes"));
    assert_true(match(NULL, uri_params, "sip.a.test")); /* no port or parameters */
    /* §7.1: a sip URI identity means the dNSName entries are not looked at */
    assert_true(match(NULL, uri_wins, "sip.a.test"));
    assert_false(match(NULL, uri_wins, "other.a.test"));
    /* sips, a user part or another scheme give no identity: the dNSName entries count */
    assert_true(match(NULL, sips, "other.a.test"));
    assert_true(match(NULL, user, "other.a.test"));
    assert_false(match(NULL, user, "sip.a.test"));
    assert_false(match(NULL, http, "sip.a.test"));
}

static void test_names_dns_cn(void **state)
{
    static const char *const dns[] = {"D:sip.a.test", "D:alt.a.test", NULL};
    static const char *const wild[] = {"D:*.a.test", "D:.b.test", NULL};
    static const char *const mail[] = {"E:sip.a.test", NULL};
    static const char *const uri_wild[] = {"U:sip:*.a.test", NULL};
    (void) state;

    assert_true(match(NULL, dns, "sip.a.test"));
    assert_true(match(NULL, dns, "ALT.a.test"));
    assert_false(match(NULL, dns, "b.test"));
    /* §7.2: no wildcards: "*.a.test" names only "*.a.test" */
    assert_false(match(NULL, wild, "sip.a.test"));
    assert_false(match(NULL, wild, "x.b.test"));
    assert_true(match(NULL, wild, "*.a.test"));
    assert_false(match(NULL, uri_wild, "sip.a.test"));
    /* §7.1 step 2: the CN only without any subjectAltName */
    assert_true(match("sip.a.test", NULL, "sip.a.test"));
    assert_false(match("sip.a.test", NULL, "a.test"));
    assert_false(match("sip.a.test", mail, "sip.a.test"));
    assert_false(match("sip.a.test", dns, "other.a.test"));
    assert_false(match("*.a.test", NULL, "sip.a.test"));
    assert_false(match("not a name", NULL, "not a name"));
    assert_false(match(NULL, NULL, "sip.a.test"));
    assert_false(match("sip.a.test", NULL, ""));
    assert_false(match("sip.a.test", NULL, NULL));
    assert_false(sk_tls_name_match(NULL, "sip.a.test"));
}

static void test_names_ip(void **state)
{
    static const char *const ips[] = {"I:127.0.0.1", "I:::1", "D:10.0.0.1", NULL};
    (void) state;

    assert_true(match(NULL, ips, "127.0.0.1"));
    assert_true(match(NULL, ips, "::1"));
    assert_true(match(NULL, ips, "[::1]"));
    assert_true(match(NULL, ips, "[0:0::1]"));
    assert_false(match(NULL, ips, "127.0.0.2"));
    assert_false(match(NULL, ips, "::2"));
    /* an IP only against iPAddress entries: not a dNSName, not the CN */
    assert_false(match(NULL, ips, "10.0.0.1"));
    assert_false(match("127.0.0.1", NULL, "127.0.0.1"));
}

/* A NUL inside a dNSName (the "sip.a.test\0.evil" trick) never matches. */
static void test_names_nul(void **state)
{
    EVP_PKEY *k = mk_key();
    X509 *x = mk_cert(k, NULL, NULL, NULL, NULL, -1, 1, 0);
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    (void) state;

    assert_true(ASN1_STRING_set(s, "sip.a.test\0.evil", 16));
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    sk_GENERAL_NAME_push(gens, g);
    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
    GENERAL_NAMES_free(gens);
    assert_false(sk_tls_name_match(x, "sip.a.test"));
    assert_false(sk_tls_name_match(x, "sip.a.test.evil"));
    X509_free(x);
    EVP_PKEY_free(k);
}

/* ---- handshakes ---- */

static void test_handshake_data(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    static const char req[] = "OPTIONS sip:sip.a.test SIP/2.0\r\n\r\n";
    static const char resp[] = "SIP/2.0 200 OK\r\n\r\n";
    char buf[128];
    size_t done;
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_int_equal(p.sr, SK_TLS_OK);
    assert_int_equal(sk_tls_conn_state(p.c), SK_TLS_OPEN);
    assert_int_equal(sk_tls_conn_state(p.s), SK_TLS_OPEN);
    assert_string_equal(sk_tls_conn_version(p.c), "TLSv1.3");
    assert_true(sk_tls_conn_peer_verified(p.c));
    assert_true(sk_tls_conn_peer_matches(p.c, "sip.a.test"));
    assert_false(sk_tls_conn_peer_matches(p.c, "sip.b.test"));
    assert_false(sk_tls_conn_peer_verified(p.s)); /* no client certificate asked for */
    assert_false(sk_tls_conn_resumed(p.c));

    assert_int_equal(sk_tls_conn_write(p.c, req, strlen(req), &done), SK_TLS_OK);
    assert_int_equal(done, strlen(req));
    pump(p.c, p.s);
    read_all(p.c, p.s, buf, strlen(req));
    assert_memory_equal(buf, req, strlen(req));
    assert_int_equal(sk_tls_conn_write(p.s, resp, strlen(resp), &done), SK_TLS_OK);
    pump(p.c, p.s);
    read_all(p.s, p.c, buf, strlen(resp));
    assert_memory_equal(buf, resp, strlen(resp));
    /* nothing more to read */
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &done), SK_TLS_WANT_READ);
    assert_int_equal(done, 0);
    assert_int_equal(ERR_peek_error(), 0);
    pair_free(&p);
}

/* An IP literal target is checked against the iPAddress entries. */
static void test_handshake_ip(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    (void) state;

    pair_run(&p, "127.0.0.1");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_true(sk_tls_conn_peer_verified(p.c));
    pair_free(&p);
    expect_refused("server.crt", "ca.crt", "127.0.0.2", "does not name 127.0.0.2");
}

/* 64 KB written while the engine's buffers are smaller: partial writes, WANT_WRITE, the
 * rest after the output is drained; the other side gets every byte in order. */
static void test_big_write(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    enum { BIG = 64 * 1024 };
    char *out = malloc(BIG), *in = malloc(BIG);
    size_t sent = 0, have = 0, done, got;
    int partial = 0;
    (void) state;

    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < BIG; i++)
        out[i] = (char) (i * 7 + i / 251);
    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    for (int i = 0; i < 1000 && have < BIG; i++) {
        if (sent < BIG) {
            enum sk_tls_status st = sk_tls_conn_write(p.c, out + sent, BIG - sent, &done);
            assert_true(st == SK_TLS_OK || st == SK_TLS_WANT_WRITE);
            if (st == SK_TLS_WANT_WRITE) partial++;
            sent += done;
        }
        move(p.c, p.s);
        while (sk_tls_conn_read(p.s, in + have, BIG - have, &got) == SK_TLS_OK)
            have += got;
        move(p.c, p.s);
    }
    assert_int_equal(sent, BIG);
    assert_int_equal(have, BIG);
    assert_true(partial > 0); /* the output buffer did fill up */
    assert_memory_equal(in, out, BIG);
    free(out);
    free(in);
    pair_free(&p);
}

static void test_refusals(void **state)
{
    (void) state;
    expect_refused("wrong.crt", "ca.crt", "sip.a.test", "does not name sip.a.test");
    expect_refused("expired.crt", "ca.crt", "sip.a.test", "certificate has expired");
    expect_refused("future.crt", "ca.crt", "sip.a.test", "certificate is not yet valid");
    expect_refused("untrusted.crt", "ca.crt", "sip.a.test", "unable to get local issuer");
    expect_refused("untrusted-chain.crt", "ca.crt", "sip.a.test",
                   "self-signed certificate in certificate chain");
    expect_refused("selfsigned.crt", "ca.crt", "sip.a.test", "self-signed certificate");
}

/* A self-signed certificate is fine once the client trusts it (its CA list holds it). */
static void test_selfsigned_trusted(void **state)
{
    struct pair p = {.sctx = server_ctx("selfsigned.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("selfsigned.crt", NULL, SK_TLS_VERIFY_ON)};
    (void) state;

    pair_run(&p, "sip.a.test");
    TU_ASSERT_MSG(p.cr == SK_TLS_OK, "client: %s", sk_tls_conn_error(p.c));
    assert_true(sk_tls_conn_peer_verified(p.c));
    pair_free(&p);
}

/* verify optional: the handshake goes on, the failure is only reported. */
static void test_verify_optional(void **state)
{
    struct pair p = {.sctx = server_ctx("wrong.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_OPTIONAL)};
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_int_equal(p.sr, SK_TLS_OK);
    assert_false(sk_tls_conn_peer_verified(p.c));
    pair_free(&p);
}

/* verify off: no refusal, and nothing claimed either. */
static void test_verify_off(void **state)
{
    struct pair p = {.sctx = server_ctx("wrong.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_OFF)};
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_false(sk_tls_conn_peer_verified(p.c));
    assert_false(sk_tls_conn_peer_matches(p.c, "sip.b.test"));
    pair_conns_free(&p);
    assert_int_equal(sk_tls_conn_new(&p.c, p.cctx, NULL, NULL), 0); /* no name needed */
    pair_free(&p);
}

/* Client certificates: required, optional, missing. */
static void test_mutual(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_ON),
                     .cctx = client_ctx("ca.crt", "client.crt", SK_TLS_VERIFY_ON)};
    char buf[8];
    size_t got;
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_int_equal(p.sr, SK_TLS_OK);
    assert_true(sk_tls_conn_peer_verified(p.s));
    assert_true(sk_tls_conn_peer_matches(p.s, "client.a.test")); /* RFC 5922 §7.4 */
    assert_false(sk_tls_conn_peer_matches(p.s, "sip.a.test"));
    pair_free(&p);

    /* no client certificate, server requires one: TLS 1.3 tells the client after its
     * handshake, on the first read */
    p = (struct pair){.sctx = server_ctx("server.crt", SK_TLS_VERIFY_ON),
                      .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    pair_run(&p, "sip.a.test");
    assert_int_equal(p.sr, SK_TLS_ERROR);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(p.s), "certificate"), "%s",
                  sk_tls_conn_error(p.s));
    pump(p.c, p.s);
    assert_int_equal(sk_tls_conn_read(p.c, buf, sizeof(buf), &got), SK_TLS_ERROR);
    assert_int_equal(ERR_peek_error(), 0);
    pair_free(&p);

    p = (struct pair){.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OPTIONAL),
                      .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    pair_run(&p, "sip.a.test");
    assert_int_equal(p.sr, SK_TLS_OK);
    assert_false(sk_tls_conn_peer_verified(p.s));
    pair_free(&p);
}

/* The second connection to the same peer resumes the first one's session (TLS 1.3
 * ticket, which arrives after the handshake and is taken in by a read). */
static void test_resumption(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    char buf[8];
    size_t got;
    (void) state;

    for (int round = 0; round < 3; round++) {
        pair_run(&p, "sip.a.test");
        assert_int_equal(p.cr, SK_TLS_OK);
        assert_int_equal(p.sr, SK_TLS_OK);
        assert_int_equal(sk_tls_conn_read(p.c, buf, sizeof(buf), &got), SK_TLS_WANT_READ);
        assert_int_equal(sk_tls_conn_resumed(p.c), round > 0);
        assert_int_equal(sk_tls_conn_resumed(p.s), round > 0);
        assert_true(sk_tls_conn_peer_verified(p.c)); /* kept from the first check */
        /* OpenSSL drops the session of a connection freed without our close_notify */
        assert_int_equal(sk_tls_conn_close(p.c), SK_TLS_OK);
        pair_conns_free(&p);
    }
    /* another name (or another session key) gets no session */
    pair_run(&p, "127.0.0.1");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_false(sk_tls_conn_resumed(p.c));
    pair_conns_free(&p);
    assert_int_equal(sk_tls_conn_new(&p.s, p.sctx, NULL, NULL), 0);
    assert_int_equal(sk_tls_conn_new(&p.c, p.cctx, "sip.a.test", "5062"), 0);
    handshake(p.c, p.s, &p.cr, &p.sr);
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_false(sk_tls_conn_resumed(p.c));
    pair_free(&p);
}

/* A raw OpenSSL client with the given version range and ciphers against our server. */
static void raw_client(int minv, int maxv, const char *ciphers, enum sk_tls_status *sr,
                       struct sk_tls_conn **sp, struct sk_tls_ctx *sctx)
{
    SSL_CTX *rc = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    BIO *in, *net;
    char buf[SK_TLS_BUF];

    assert_non_null(rc);
    SSL_CTX_set_min_proto_version(rc, minv);
    SSL_CTX_set_max_proto_version(rc, maxv);
    if (ciphers) assert_true(SSL_CTX_set_cipher_list(rc, ciphers));
    ssl = SSL_new(rc);
    assert_true(BIO_new_bio_pair(&in, 0, &net, 0));
    SSL_set_bio(ssl, in, in);
    SSL_set_connect_state(ssl);
    assert_int_equal(sk_tls_conn_new(sp, sctx, NULL, NULL), 0);
    for (int i = 0; i < 20; i++) {
        int n;
        const void *p;
        size_t len;

        (void) SSL_do_handshake(ssl);
        while ((n = BIO_read(net, buf, sizeof(buf))) > 0)
            assert_int_equal(sk_tls_conn_feed(*sp, buf, (size_t) n), n);
        *sr = sk_tls_conn_handshake(*sp);
        while ((p = sk_tls_conn_out_peek(*sp, &len)) && len) {
            assert_int_equal(BIO_write(net, p, (int) len), len);
            sk_tls_conn_out_consume(*sp, len);
        }
        if (*sr != SK_TLS_WANT_READ) break;
    }
    SSL_free(ssl);
    BIO_free(net);
    SSL_CTX_free(rc);
    ERR_clear_error();
}

static void test_versions_ciphers(void **state)
{
    struct sk_tls_ctx *s = server_ctx("server.crt", SK_TLS_VERIFY_OFF);
    struct sk_tls_conn *c;
    enum sk_tls_status st;
    (void) state;

    /* TLS 1.1 (and 1.0) offered, with every old suite allowed: refused */
    raw_client(TLS1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0", &st, &c, s);
    assert_int_equal(st, SK_TLS_ERROR);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(c), "unsupported protocol"), "%s",
                  sk_tls_conn_error(c));
    assert_int_equal(ERR_peek_error(), 0);
    sk_tls_conn_free(c);
    /* TLS 1.2 with only non-ECDHE or non-AEAD suites: no shared cipher */
    raw_client(TLS1_2_VERSION, TLS1_2_VERSION,
               "AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:"
               "ECDHE-ECDSA-AES128-SHA256",
               &st, &c, s);
    assert_int_equal(st, SK_TLS_ERROR);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(c), "no shared cipher"), "%s",
                  sk_tls_conn_error(c));
    sk_tls_conn_free(c);
    /* TLS 1.2 with a modern client: an ECDHE AEAD suite */
    raw_client(TLS1_2_VERSION, TLS1_2_VERSION, NULL, &st, &c, s);
    assert_int_equal(st, SK_TLS_OK);
    assert_string_equal(sk_tls_conn_version(c), "TLSv1.2");
    TU_ASSERT_MSG(strncmp(sk_tls_conn_cipher(c), "ECDHE-", 6) == 0 &&
                      (strstr(sk_tls_conn_cipher(c), "GCM") ||
                       strstr(sk_tls_conn_cipher(c), "CHACHA20")),
                  "%s", sk_tls_conn_cipher(c));
    sk_tls_conn_free(c);
    sk_tls_ctx_free(s);
}

/* Our client against a raw OpenSSL server limited to TLS 1.2: the session (a ticket) is
 * kept and resumed, more than once. */
static void test_resumption_tls12(void **state)
{
    struct sk_tls_ctx *cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON);
    SSL_CTX *rs = SSL_CTX_new(TLS_server_method());
    char buf[SK_TLS_BUF];
    (void) state;

    assert_non_null(rs);
    SSL_CTX_set_max_proto_version(rs, TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(rs, path("server.crt")), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(rs, path("key.pem"), SSL_FILETYPE_PEM),
                     1);
    for (int round = 0; round < 3; round++) {
        SSL *ssl = SSL_new(rs);
        BIO *in, *net;
        struct sk_tls_conn *c;
        enum sk_tls_status st = SK_TLS_WANT_READ;

        assert_true(BIO_new_bio_pair(&in, 0, &net, 0));
        SSL_set_bio(ssl, in, in);
        SSL_set_accept_state(ssl);
        assert_int_equal(sk_tls_conn_new(&c, cctx, "sip.a.test", NULL), 0);
        for (int i = 0; i < 20 && (st != SK_TLS_OK || !SSL_is_init_finished(ssl)); i++) {
            const void *p;
            size_t len;
            int n;
            st = sk_tls_conn_handshake(c);
            assert_int_not_equal(st, SK_TLS_ERROR);
            while ((p = sk_tls_conn_out_peek(c, &len)) && len) {
                assert_int_equal(BIO_write(net, p, (int) len), len);
                sk_tls_conn_out_consume(c, len);
            }
            (void) SSL_do_handshake(ssl);
            while ((n = BIO_read(net, buf, sizeof(buf))) > 0)
                assert_int_equal(sk_tls_conn_feed(c, buf, (size_t) n), n);
        }
        assert_int_equal(st, SK_TLS_OK);
        assert_string_equal(sk_tls_conn_version(c), "TLSv1.2");
        assert_true(sk_tls_conn_peer_verified(c));
        assert_int_equal(sk_tls_conn_resumed(c), round > 0);
        assert_int_equal(SSL_session_reused(ssl), round > 0);
        assert_int_equal(sk_tls_conn_close(c), SK_TLS_OK);
        sk_tls_conn_free(c);
        SSL_free(ssl);
        BIO_free(net);
    }
    SSL_CTX_free(rs);
    sk_tls_ctx_free(cctx);
    ERR_clear_error();
}

/* ---- broken input, ends ---- */

static void test_garbage(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned char junk[4096];
    char buf[64];
    size_t got;
    struct sk_tls_conn *s;
    (void) state;

    /* plain text where a ClientHello should be */
    assert_int_equal(sk_tls_conn_new(&s, p.sctx, NULL, NULL), 0);
    sk_tls_conn_feed(s, http, strlen(http));
    assert_int_equal(sk_tls_conn_handshake(s), SK_TLS_ERROR);
    assert_true(strlen(sk_tls_conn_error(s)) > 0);
    assert_int_equal(sk_tls_conn_handshake(s), SK_TLS_ERROR); /* stays failed */
    assert_int_equal(ERR_peek_error(), 0);
    sk_tls_conn_free(s);

    /* random bytes, in several sizes, into a fresh server: an error or waiting, never
     * more */
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t) round * 200;
        enum sk_tls_status st;
        assert_int_equal(RAND_bytes(junk, sizeof(junk)), 1);
        if (round % 2)
            junk[0] = 0x16, junk[1] = 3, junk[2] = 1; /* looks like a handshake record */
        assert_int_equal(sk_tls_conn_new(&s, p.sctx, NULL, NULL), 0);
        sk_tls_conn_feed(s, junk, n);
        st = sk_tls_conn_handshake(s);
        assert_true(st == SK_TLS_ERROR || st == SK_TLS_WANT_READ);
        assert_int_equal(ERR_peek_error(), 0);
        sk_tls_conn_free(s);
    }

    /* after the handshake: a record with a bad MAC and then bytes that are no record */
    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    assert_int_equal(sk_tls_conn_write(p.s, "hello", 5, &got), SK_TLS_OK);
    {
        size_t len;
        unsigned char *q = (unsigned char *) sk_tls_conn_out_peek(p.s, &len);
        assert_true(len > 20);
        q[len - 3] ^= 0x40; /* flip a bit of the tag */
    }
    pump(p.c, p.s);
    assert_int_equal(sk_tls_conn_read(p.c, buf, sizeof(buf), &got), SK_TLS_ERROR);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(p.c), "bad record mac") ||
                      strstr(sk_tls_conn_error(p.c), "decrypt"),
                  "%s", sk_tls_conn_error(p.c));
    assert_int_equal(sk_tls_conn_state(p.c), SK_TLS_FAILED);
    assert_int_equal(ERR_peek_error(), 0);
    pair_conns_free(&p);

    pair_run(&p, "sip.a.test");
    assert_int_equal(p.cr, SK_TLS_OK);
    sk_tls_conn_feed(p.c, http, strlen(http));
    assert_int_equal(sk_tls_conn_read(p.c, buf, sizeof(buf), &got), SK_TLS_ERROR);
    assert_int_equal(ERR_peek_error(), 0);
    pair_free(&p);
}

/* The TCP connection ends in the middle of a record, or between records without a
 * close_notify: an error (truncation), not a clean close. */
static void test_truncated(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    char buf[64];
    size_t got, len;
    const void *q;
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(sk_tls_conn_write(p.c, "INVITE sip:x SIP/2.0", 20, &got), SK_TLS_OK);
    q = sk_tls_conn_out_peek(p.c, &len);
    assert_true(len > 10);
    sk_tls_conn_feed(p.s, q, len / 2);
    sk_tls_conn_eof(p.s);
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &got), SK_TLS_ERROR);
    TU_ASSERT_MSG(strstr(sk_tls_conn_error(p.s), "eof"), "%s", sk_tls_conn_error(p.s));
    assert_int_equal(ERR_peek_error(), 0);
    pair_conns_free(&p);

    pair_run(&p, "sip.a.test");
    assert_int_equal(sk_tls_conn_write(p.c, "INVITE", 6, &got), SK_TLS_OK);
    pump(p.c, p.s);
    read_all(p.c, p.s, buf, 6);
    sk_tls_conn_eof(p.s);
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &got), SK_TLS_ERROR);
    assert_int_equal(ERR_peek_error(), 0);
    pair_free(&p);
}

static void test_close_notify(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    char buf[64];
    size_t got;
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(sk_tls_conn_write(p.c, "BYE", 3, &got), SK_TLS_OK);
    assert_int_equal(sk_tls_conn_close(p.c), SK_TLS_OK);
    assert_int_equal(sk_tls_conn_state(p.c), SK_TLS_CLOSING);
    assert_true(sk_tls_conn_out_pending(p.c) > 0);
    assert_int_equal(sk_tls_conn_write(p.c, "X", 1, &got), SK_TLS_ERROR);
    pump(p.c, p.s);
    /* data before the close_notify still arrives, then the clean end, also after EOF */
    read_all(p.c, p.s, buf, 3);
    assert_memory_equal(buf, "BYE", 3);
    sk_tls_conn_eof(p.s);
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &got), SK_TLS_CLOSED);
    assert_int_equal(sk_tls_conn_state(p.s), SK_TLS_PEER_CLOSED);
    assert_string_equal(sk_tls_state_name(sk_tls_conn_state(p.s)), "peer-closed");
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &got), SK_TLS_CLOSED);
    /* the server answers with its own close_notify */
    assert_int_equal(sk_tls_conn_close(p.s), SK_TLS_OK);
    pump(p.c, p.s);
    assert_int_equal(sk_tls_conn_read(p.c, buf, sizeof(buf), &got), SK_TLS_CLOSED);
    assert_int_equal(ERR_peek_error(), 0);
    pair_conns_free(&p);

    /* closing before the handshake finished sends nothing and is not an error */
    assert_int_equal(sk_tls_conn_new(&p.c, p.cctx, "sip.a.test", NULL), 0);
    assert_int_equal(sk_tls_conn_close(p.c), SK_TLS_OK);
    assert_int_equal(sk_tls_conn_state(p.c), SK_TLS_CLOSING);
    pair_free(&p);
}

/* Zero-copy input: recv() straight into the engine's buffer. */
static void test_in_space(void **state)
{
    struct pair p = {.sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF),
                     .cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON)};
    char buf[16];
    size_t got, len, space;
    const void *q;
    void *dst;
    (void) state;

    pair_run(&p, "sip.a.test");
    assert_int_equal(sk_tls_conn_write(p.c, "ACK", 3, &got), SK_TLS_OK);
    q = sk_tls_conn_out_peek(p.c, &len);
    space = sk_tls_conn_in_space(p.s, &dst);
    assert_true(space >= len);
    memcpy(dst, q, len);
    sk_tls_conn_in_commit(p.s, len);
    sk_tls_conn_out_consume(p.c, len);
    assert_int_equal(sk_tls_conn_out_pending(p.c), 0);
    assert_int_equal(sk_tls_conn_read(p.s, buf, sizeof(buf), &got), SK_TLS_OK);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "ACK", 3);
    pair_free(&p);
}

/* The way the transport will drive it: non-blocking stream sockets with small kernel
 * buffers, recv() into the engine's input, send() from its output with partial sends and
 * EAGAIN; 64 KB each way at once, then close_notify both ways. */
struct end {
    int fd;
    struct sk_tls_conn *c;
    char *out, *in;
    size_t sent, have;
    bool eof, closed;
};

static void sock_io(struct end *e)
{
    size_t len, space;
    const void *p;
    void *dst;
    ssize_t n;

    while ((p = sk_tls_conn_out_peek(e->c, &len)) && len) {
        n = send(e->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        sk_tls_conn_out_consume(e->c, (size_t) n);
    }
    while (!e->eof && (space = sk_tls_conn_in_space(e->c, &dst)) > 0) {
        n = recv(e->fd, dst, space, 0);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        if (n == 0) {
            e->eof = true;
            sk_tls_conn_eof(e->c);
            break;
        }
        sk_tls_conn_in_commit(e->c, (size_t) n);
    }
}

static void sock_turn(struct end *e, size_t big)
{
    enum sk_tls_status st;
    size_t done, got;

    sock_io(e);
    if (e->sent < big) {
        st = sk_tls_conn_write(e->c, e->out + e->sent, big - e->sent, &done);
        TU_ASSERT_MSG(st != SK_TLS_ERROR, "write: %s", sk_tls_conn_error(e->c));
        e->sent += done;
    }
    for (int i = 0; i < 100 && !e->closed; i++) {
        st = sk_tls_conn_read(e->c, e->in + e->have, big - e->have + 1, &got);
        TU_ASSERT_MSG(st != SK_TLS_ERROR, "read: %s", sk_tls_conn_error(e->c));
        e->have += got;
        if (st == SK_TLS_CLOSED) e->closed = true;
        if (st != SK_TLS_OK) break;
    }
    sock_io(e);
}

static void test_socketpair(void **state)
{
    struct sk_tls_ctx *sctx = server_ctx("server.crt", SK_TLS_VERIFY_OFF);
    struct sk_tls_ctx *cctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON);
    enum { BIG = 64 * 1024 };
    struct end e[2];
    int fds[2], small = 4096;
    (void) state;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    for (int i = 0; i < 2; i++) {
        e[i] = (struct end){.fd = fds[i], .out = malloc(BIG), .in = malloc(BIG + 1)};
        assert_non_null(e[i].out);
        assert_non_null(e[i].in);
        for (size_t j = 0; j < BIG; j++)
            e[i].out[j] = (char) (j * (i + 3) + i);
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    }
    assert_int_equal(sk_tls_conn_new(&e[0].c, cctx, "sip.a.test", NULL), 0);
    assert_int_equal(sk_tls_conn_new(&e[1].c, sctx, NULL, NULL), 0);
    for (int i = 0; i < 5000 && (e[0].have < BIG || e[1].have < BIG); i++) {
        sock_turn(&e[0], BIG);
        sock_turn(&e[1], BIG);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(e[i].sent, BIG);
        assert_int_equal(e[1 - i].have, BIG);
        assert_memory_equal(e[1 - i].in, e[i].out, BIG);
    }
    /* the client ends: close_notify, the server answers with its own, both see CLOSED */
    assert_int_equal(sk_tls_conn_close(e[0].c), SK_TLS_OK);
    for (int i = 0, answered = 0; i < 100 && !(e[0].closed && e[1].closed); i++) {
        sock_turn(&e[0], BIG);
        sock_turn(&e[1], BIG);
        if (e[1].closed && !answered++)
            assert_int_equal(sk_tls_conn_close(e[1].c), SK_TLS_OK);
    }
    assert_true(e[0].closed);
    assert_true(e[1].closed);
    assert_int_equal(ERR_peek_error(), 0);
    for (int i = 0; i < 2; i++) {
        sk_tls_conn_free(e[i].c);
        close(e[i].fd);
        free(e[i].out);
        free(e[i].in);
    }
    sk_tls_ctx_free(sctx);
    sk_tls_ctx_free(cctx);
}

/* ---- configuration and the zero-config certificate ---- */

static void test_config_errors(void **state)
{
    struct sk_tls_config cfg = {.role = SK_TLS_SERVER, .cert_file = path("missing.crt")};
    struct sk_tls_ctx *ctx = (struct sk_tls_ctx *) 1;
    char err[256];
    (void) state;

    assert_int_equal(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)), EIO);
    assert_null(ctx);
    TU_ASSERT_MSG(strstr(err, "missing.crt"), "%s", err);
    assert_int_equal(ERR_peek_error(), 0);
    /* a key that does not fit */
    {
        EVP_PKEY *k = mk_key();
        write_pem("otherkey.pem", NULL, NULL, k);
        EVP_PKEY_free(k);
    }
    cfg.cert_file = path("server.crt");
    cfg.key_file = path("otherkey.pem");
    assert_int_equal(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)), EIO);
    TU_ASSERT_MSG(strstr(err, "otherkey.pem") && strstr(err, "mismatch"), "%s", err);
    /* no certificate and a real one required */
    cfg = (struct sk_tls_config){.role = SK_TLS_SERVER,
                                 .require_cert = true,
                                 .data_dir = dir,
                                 .domain = "sip.a.test"};
    assert_int_equal(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)), EINVAL);
    TU_ASSERT_MSG(strstr(err, "no certificate"), "%s", err);
    /* no certificate and nowhere to keep a self-signed one */
    cfg.require_cert = false;
    cfg.data_dir = NULL;
    assert_int_equal(sk_tls_ctx_new(&ctx, &cfg, err, sizeof(err)), EINVAL);
    /* a client needs the name to check */
    ctx = client_ctx("ca.crt", NULL, SK_TLS_VERIFY_ON);
    {
        struct sk_tls_conn *c;
        assert_int_equal(sk_tls_conn_new(&c, ctx, NULL, NULL), EINVAL);
    }
    sk_tls_ctx_free(ctx);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_selfsigned(void **state)
{
    static const char *const ips[] = {"127.0.0.1", "0.0.0.0", "::1"};
    char data[200], err[256], fp[SK_TLS_FINGERPRINT_LEN];
    struct sk_tls_config cfg = {.role = SK_TLS_SERVER,
                                .data_dir = data,
                                .domain = "sip.a.test",
                                .listen_ips = ips,
                                .n_listen_ips = 3};
    struct sk_tls_selfsigned ss;
    struct sk_tls_ctx *sctx;
    struct stat st;
    FILE *f;
    X509 *x;
    DIR *dd;
    struct dirent *e;
    int files = 0;
    (void) state;

    snprintf(data, sizeof(data), "%s/data", dir);
    TU_ASSERT_MSG(sk_tls_ctx_new(&sctx, &cfg, err, sizeof(err)) == 0, "%s", err);
    assert_true(sk_tls_ctx_self_signed(sctx));
    assert_int_equal(strlen(sk_tls_ctx_fingerprint(sctx)), 95);
    assert_int_equal(sk_tls_ctx_fingerprint(sctx)[2], ':');
    snprintf(fp, sizeof(fp), "%s", sk_tls_ctx_fingerprint(sctx));

    /* the files: key 0600, both renamed into place (no temporary left), the names */
    assert_int_equal(stat(path("data/tls-selfsigned.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dd = opendir(data);
    assert_non_null(dd);
    while ((e = readdir(dd)))
        if (e->d_name[0] != '.') files++;
    closedir(dd);
    assert_int_equal(files, 2);
    f = fopen(path("data/tls-selfsigned.crt"), "r");
    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_true(sk_tls_name_match(x, "sip.a.test"));
    assert_true(sk_tls_name_match(x, "127.0.0.1"));
    assert_true(sk_tls_name_match(x, "::1"));
    assert_false(sk_tls_name_match(x, "0.0.0.0"));
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
    /* the fingerprint is the certificate's SHA-256, as `openssl x509 -fingerprint` prints
     */
    {
        unsigned char md[32];
        unsigned n = 0;
        char hex[SK_TLS_FINGERPRINT_LEN] = "";
        assert_true(X509_digest(x, EVP_sha256(), md, &n));
        assert_int_equal(n, 32);
        for (unsigned i = 0; i < n; i++)
            sprintf(hex + strlen(hex), "%s%02X", i ? ":" : "", md[i]);
        assert_string_equal(hex, fp);
    }
    /* about a year */
    {
        int days, secs;
        assert_true(
            ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
        assert_true(days >= 364 && days <= 366);
    }
    X509_free(x);

    /* a client that trusts it connects, by name and by address */
    {
        struct pair p = {.sctx = sctx};
        struct sk_tls_config cc = {.role = SK_TLS_CLIENT,
                                   .ca_file = path("data/tls-selfsigned.crt"),
                                   .verify = SK_TLS_VERIFY_ON};
        assert_int_equal(sk_tls_ctx_new(&p.cctx, &cc, err, sizeof(err)), 0);
        pair_run(&p, "sip.a.test");
        TU_ASSERT_MSG(p.cr == SK_TLS_OK, "%s", sk_tls_conn_error(p.c));
        pair_conns_free(&p);
        pair_run(&p, "127.0.0.1");
        assert_int_equal(p.cr, SK_TLS_OK);
        pair_free(&p);
    }

    /* the next start reuses it */
    assert_int_equal(
        sk_tls_selfsigned_ensure(&ss, data, "sip.a.test", ips, 3, err, sizeof(err)), 0);
    assert_false(ss.created);
    assert_string_equal(ss.fingerprint, fp);
    assert_int_equal(sk_tls_ctx_new(&sctx, &cfg, err, sizeof(err)), 0);
    assert_string_equal(sk_tls_ctx_fingerprint(sctx), fp);
    sk_tls_ctx_free(sctx);
    /* another domain, or a new listen address: a new certificate */
    assert_int_equal(
        sk_tls_selfsigned_ensure(&ss, data, "sip.b.test", ips, 3, err, sizeof(err)), 0);
    assert_true(ss.created);
    assert_string_not_equal(ss.fingerprint, fp);
    snprintf(fp, sizeof(fp), "%s", ss.fingerprint);
    {
        static const char *const more[] = {"127.0.0.1", "127.0.0.2"};
        assert_int_equal(
            sk_tls_selfsigned_ensure(&ss, data, "sip.b.test", more, 2, err, sizeof(err)),
            0);
        assert_true(ss.created);
        assert_string_not_equal(ss.fingerprint, fp);
    }
    /* a damaged file is replaced */
    f = fopen(path("data/tls-selfsigned.crt"), "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64\n", f);
    fclose(f);
    assert_int_equal(
        sk_tls_selfsigned_ensure(&ss, data, "sip.b.test", NULL, 0, err, sizeof(err)), 0);
    assert_true(ss.created);
    /* a domain that is not a DNS name is refused */
    assert_int_equal(
        sk_tls_selfsigned_ensure(&ss, data, "a,b=c", NULL, 0, err, sizeof(err)), EINVAL);
    assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_uri),
        cmocka_unit_test(test_names_dns_cn),
        cmocka_unit_test(test_names_ip),
        cmocka_unit_test(test_names_nul),
        cmocka_unit_test(test_handshake_data),
        cmocka_unit_test(test_handshake_ip),
        cmocka_unit_test(test_big_write),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_selfsigned_trusted),
        cmocka_unit_test(test_verify_optional),
        cmocka_unit_test(test_verify_off),
        cmocka_unit_test(test_mutual),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_resumption_tls12),
        cmocka_unit_test(test_versions_ciphers),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_close_notify),
        cmocka_unit_test(test_in_space),
        cmocka_unit_test(test_socketpair),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_selfsigned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
