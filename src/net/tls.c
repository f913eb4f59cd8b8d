/* TLS for SIP over OpenSSL: contexts, the zero-config certificate, the RFC 5922 name
 * check and a non-blocking connection engine over a BIO pair (the caller owns the
 * socket). */
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* TLS 1.2: forward secrecy (ECDHE) and AEAD only; TLS 1.3 keeps OpenSSL's default suites,
 * which are all AEAD. */
#define TLS12_CIPHERS                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                         \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                         \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

#define SESS_MAX 64
#define SELF_CERT "tls-selfsigned.crt"
#define SELF_KEY "tls-selfsigned.key"

struct sess_entry {
    char *key; /* "name\nsession_key"; NULL: free slot */
    SSL_SESSION *sess;
    uint64_t used;
};

struct sk_tls_ctx {
    SSL_CTX *ssl;
    enum sk_tls_role role;
    enum sk_tls_verify verify;
    bool self_signed;
    char fingerprint[SK_TLS_FINGERPRINT_LEN];
    /* client sessions kept for resumption, by peer; several loop threads share them */
    pthread_mutex_t lock;
    uint64_t tick;
    struct sess_entry sess[SESS_MAX];
};

struct sk_tls_conn {
    struct sk_tls_ctx *ctx;
    SSL *ssl;
    BIO *net; /* our end of the pair; the SSL owns the other */
    enum sk_tls_state state;
    bool verify_failed;
    char *peer_name;
    char *cache_key;
    char verify_msg[192];
    char err[320];
};

/* ---- errors: OpenSSL's queue turned into one line, and emptied ---- */

static void append(char *buf, size_t cap, const char *sep, const char *s)
{
    size_t n = strlen(buf);

    if (n + 1 >= cap) return;
    snprintf(buf + n, cap - n, "%s%s", n ? sep : "", s);
}

/* buf = what[: reason (detail)]...; the queue is left empty. */
static void err_line(char *buf, size_t cap, const char *what)
{
    unsigned long e;
    const char *data;
    int flags;
    unsigned long last = 0;

    if (!cap) return;
    buf[0] = '\0';
    append(buf, cap, "", what ? what : "");
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char tmp[200];
        const char *r = ERR_reason_error_string(e);

        if (e == last) continue;
        last = e;
        if (!r) {
            ERR_error_string_n(e, tmp, sizeof(tmp));
            r = tmp;
        }
        append(buf, cap, ": ", r);
        if ((flags & ERR_TXT_STRING) && data && *data) {
            append(buf, cap, " (", data);
            append(buf, cap, "", ")");
        }
    }
}

static void conn_fail(struct sk_tls_conn *c, const char *what)
{
    err_line(c->err, sizeof(c->err), what);
    if (c->verify_msg[0] && c->state == SK_TLS_HANDSHAKE)
        append(c->err, sizeof(c->err), ": ", c->verify_msg);
    c->state = SK_TLS_FAILED;
}

/* ---- RFC 5922 §7 names ---- */

static unsigned char lower(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char) (ch + 32) : ch;
}

/* RFC 5922 §7.2: the whole DNS name, case-insensitively (RFC 4343); a single trailing dot
 * (the absolute form) ignored on either side; nothing else, no wildcards. */
static bool dns_equal(const unsigned char *a, size_t alen, const char *b, size_t blen)
{
    if (memchr(a, '\0', alen)) return false;
    if (alen && a[alen - 1] == '.') alen--;
    if (blen && b[blen - 1] == '.') blen--;
    if (alen == 0 || alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower((unsigned char) b[i])) return false;
    return true;
}

/* RFC 5922 §7.1 step 1, URI: "sip:" (scheme case-insensitive), no userinfo ('@'); the
 * identity is the host part (no port, parameters or headers). */
static bool sip_uri_host(const unsigned char *u, size_t len, const unsigned char **host,
                         size_t *hlen)
{
    static const char scheme[] = "sip:";
    size_t i, n = sizeof(scheme) - 1;

    if (len <= n || memchr(u, '\0', len)) return false;
    for (i = 0; i < n; i++)
        if (lower(u[i]) != (unsigned char) scheme[i]) return false;
    if (memchr(u + n, '@', len - n)) return false;
    if (u[n] == '[') { /* IPv6reference: up to and with the ']' */
        const unsigned char *end = memchr(u + n, ']', len - n);
        if (!end) return false;
        i = (size_t) (end - u) + 1;
    } else {
        for (i = n; i < len && u[i] != ':' && u[i] != ';' && u[i] != '?'; i++)
            ;
    }
    if (i == n) return false;
    *host = u + n;
    *hlen = i - n;
    return true;
}

/* A DNS name in letters, digits and hyphens, labels of 1..63, at most 253 (RFC 1035). */
static bool valid_dns_name(const unsigned char *s, size_t len)
{
    size_t label = 0;

    if (len && s[len - 1] == '.') len--;
    if (len == 0 || len > 253) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = s[i];
        if (ch == '.') {
            if (label == 0) return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-') {
            if (++label > 63) return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* RFC 5922 §7.1 step 2: only without a subjectAltName extension, the most specific
 * (last) CN of the subject, when it is a valid DNS name. */
static bool cn_matches(const X509 *cert, const char *target, size_t tlen)
{
    const X509_NAME *subj = X509_get_subject_name(cert);
    int i, last = -1;
    unsigned char *utf8 = NULL;
    int n;
    bool ok;

    if (!subj) return false;
    for (i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;)
        last = i;
    if (last < 0) return false;
    n = ASN1_STRING_to_UTF8(&utf8,
                            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last)));
    if (n < 0) {
        ERR_clear_error();
        return false;
    }
    ok = valid_dns_name(utf8, (size_t) n) && dns_equal(utf8, (size_t) n, target, tlen);
    OPENSSL_free(utf8);
    return ok;
}

/* An IP literal target ("[v6]" allowed) as bytes; 0 when it is not one. */
static size_t parse_ip(const char *target, unsigned char ip[16])
{
    char tmp[64];
    size_t len = strlen(target);

    if (len >= 2 && target[0] == '[' && target[len - 1] == ']') {
        if (len - 2 >= sizeof(tmp)) return 0;
        memcpy(tmp, target + 1, len - 2);
        tmp[len - 2] = '\0';
        return inet_pton(AF_INET6, tmp, ip) == 1 ? 16 : 0;
    }
    if (inet_pton(AF_INET, target, ip) == 1) return 4;
    if (inet_pton(AF_INET6, target, ip) == 1) return 16;
    return 0;
}

static bool ip_matches(const GENERAL_NAMES *gens, const unsigned char *ip, size_t iplen)
{
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_IPADD &&
            (size_t) ASN1_STRING_length(g->d.iPAddress) == iplen &&
            memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip, iplen) == 0)
            return true;
    }
    return false;
}

/* §7.1 step 1: sip URIs first; dNSName entries only if no URI gave an identity. */
static bool san_matches(const GENERAL_NAMES *gens, const char *target, size_t tlen)
{
    bool any_uri = false;
    int i, n = sk_GENERAL_NAME_num(gens);

    for (i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const unsigned char *host;
        size_t hlen;

        if (g->type != GEN_URI ||
            !sip_uri_host(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                          (size_t) ASN1_STRING_length(g->d.uniformResourceIdentifier),
                          &host, &hlen))
            continue;
        any_uri = true;
        if (dns_equal(host, hlen, target, tlen)) return true;
    }
    if (any_uri) return false;
    for (i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS &&
            dns_equal(ASN1_STRING_get0_data(g->d.dNSName),
                      (size_t) ASN1_STRING_length(g->d.dNSName), target, tlen))
            return true;
    }
    return false;
}

bool sk_tls_name_match(const X509 *cert, const char *target)
{
    GENERAL_NAMES *gens;
    unsigned char ip[16];
    size_t iplen, tlen;
    int crit = -1;
    bool ok;

    if (!cert || !target || !*target) return false;
    tlen = strlen(target);
    iplen = parse_ip(target, ip);
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (iplen)
        ok = ip_matches(gens, ip, iplen);
    else if (gens)
        ok = san_matches(gens, target, tlen);
    else if (crit == -1) /* no subjectAltName at all (not one that failed to decode) */
        ok = cn_matches(cert, target, tlen);
    else
        ok = false;
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return ok;
}

/* ---- zero-config certificate ---- */

static void fingerprint_of(X509 *x, char out[SK_TLS_FINGERPRINT_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (!x || !X509_digest(x, EVP_sha256(), md, &n) || n != 32) {
        ERR_clear_error();
        return;
    }
    /* "AB" then ":CD" for each further byte: 32 * 3 - 1 characters */
    for (unsigned i = 0; i < n; i++)
        snprintf(out + (i ? 3 * i - 1 : 0), SK_TLS_FINGERPRINT_LEN - (i ? 3 * i - 1 : 0),
                 i ? ":%02X" : "%02X", md[i]);
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext) return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int add_gen(GENERAL_NAMES *gens, int type, const void *p, size_t len)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

    if (!g || !s || !ASN1_STRING_set(s, p, (int) len)) goto fail;
    GENERAL_NAME_set0_value(g, type, s);
    s = NULL;
    if (!sk_GENERAL_NAME_push(gens, g)) goto fail;
    return 1;
fail:
    ASN1_STRING_free(s);
    GENERAL_NAME_free(g);
    return 0;
}

/* The SANs are built as values, never through a config string a name could inject into.
 */
static int add_sans(X509 *x, const char *domain, const char *const *ips, size_t nips)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    char uri[300];
    int ok = 0;

    if (!gens) return 0;
    snprintf(uri, sizeof(uri), "sip:%s", domain);
    if (!add_gen(gens, GEN_URI, uri, strlen(uri)) ||
        !add_gen(gens, GEN_DNS, domain, strlen(domain)))
        goto out;
    for (size_t i = 0; i < nips; i++) {
        unsigned char ip[16];
        size_t n = ips[i] ? parse_ip(ips[i], ip) : 0;
        static const unsigned char zero[16];
        if (n == 0 || memcmp(ip, zero, n) == 0) /* not an address, or unspecified */
            continue;
        if (!add_gen(gens, GEN_IPADD, ip, n)) goto out;
    }
    ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
out:
    GENERAL_NAMES_free(gens);
    return ok;
}

static X509 *make_selfsigned(EVP_PKEY *key, const char *domain, const char *const *ips,
                             size_t nips)
{
    X509 *x = X509_new();
    X509_NAME *name;
    BIGNUM *bn = NULL;
    unsigned char serial[16];

    if (!x || !X509_set_version(x, 2) || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive (RFC 5280 §4.1.2.2) */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) goto fail;
    /* an hour back for clocks a little behind ours, a year on */
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL))
        goto fail;
    name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *) "sipkit self-signed", -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *) domain, -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
        goto fail;
    if (!add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
        !add_ext(x, NID_subject_key_identifier, "hash") ||
        !add_sans(x, domain, ips, nips))
        goto fail;
    if (!X509_sign(x, key, EVP_sha256())) goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

/* Write through a temporary file in the same directory, fsync, rename over path. */
static int write_atomic(const char *path, mode_t mode, X509 *x, EVP_PKEY *key, char *err,
                        size_t errlen)
{
    char tmp[600];
    int fd, ok;
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return errno ? errno : EIO;
    }
    if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        close(fd);
        unlink(tmp);
        return e ? e : EIO;
    }
    ok = x ? PEM_write_X509(f, x)
           : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        err_line(err, errlen, path);
        append(err, errlen, ": ", e ? strerror(e) : "write failed");
        unlink(tmp);
        return e ? e : EIO;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void) fsync(fd);
        close(fd);
    }
}

/* The pair on disk is still good for this domain and these addresses. */
static bool reusable(const char *cert_path, const char *key_path, const char *domain,
                     const char *const *ips, size_t nips, X509 **xp)
{
    FILE *f;
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    time_t soon = time(NULL) + 86400;
    bool ok = false;

    if ((f = fopen(cert_path, "r"))) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if ((f = fopen(key_path, "r"))) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!x || !key || X509_check_private_key(x, key) != 1 ||
        X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(x)) >= 0 ||
        !sk_tls_name_match(x, domain))
        goto out;
    for (size_t i = 0; i < nips; i++) {
        unsigned char ip[16];
        static const unsigned char zero[16];
        size_t n = ips[i] ? parse_ip(ips[i], ip) : 0;
        if (n && memcmp(ip, zero, n) != 0 && !sk_tls_name_match(x, ips[i])) goto out;
    }
    ok = true;
out:
    EVP_PKEY_free(key);
    if (ok)
        *xp = x;
    else
        X509_free(x);
    ERR_clear_error();
    return ok;
}

int sk_tls_selfsigned_ensure(struct sk_tls_selfsigned *out, const char *dir,
                             const char *domain, const char *const *ips, size_t nips,
                             char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!dir || !*dir || !domain ||
        !valid_dns_name((const unsigned char *) domain, strlen(domain))) {
        snprintf(err, errlen,
                 "self-signed certificate: needs a data directory and a domain "
                 "name (got '%s')",
                 domain ? domain : "");
        return EINVAL;
    }
    if ((size_t) snprintf(out->cert_path, sizeof(out->cert_path), "%s/%s", dir,
                          SELF_CERT) >= sizeof(out->cert_path) ||
        (size_t) snprintf(out->key_path, sizeof(out->key_path), "%s/%s", dir, SELF_KEY) >=
            sizeof(out->key_path)) {
        snprintf(err, errlen, "self-signed certificate: data directory path too long");
        return ENAMETOOLONG;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return errno;
    }
    if (reusable(out->cert_path, out->key_path, domain, ips, nips, &x)) {
        (void) chmod(out->key_path, 0600);
        goto done;
    }
    key = EVP_EC_gen("P-256");
    x = key ? make_selfsigned(key, domain, ips, nips) : NULL;
    if (!x) {
        err_line(err, errlen, "self-signed certificate");
        EVP_PKEY_free(key);
        return EIO;
    }
    /* key first: a crash between the renames leaves a pair that does not fit, which the
     * next start replaces */
    rc = write_atomic(out->key_path, 0600, NULL, key, err, errlen);
    if (rc == 0) rc = write_atomic(out->cert_path, 0644, x, NULL, err, errlen);
    EVP_PKEY_free(key);
    if (rc != 0) {
        X509_free(x);
        return rc;
    }
    sync_dir(dir);
    out->created = true;
done:
    fingerprint_of(x, out->fingerprint);
    X509_free(x);
    ERR_clear_error();
    return 0;
}

/* ---- context ---- */

static void sess_free_all(struct sk_tls_ctx *ctx)
{
    for (int i = 0; i < SESS_MAX; i++) {
        free(ctx->sess[i].key);
        SSL_SESSION_free(ctx->sess[i].sess);
        ctx->sess[i].key = NULL;
        ctx->sess[i].sess = NULL;
    }
}

/* Keep sess for key (takes the reference): replaces the peer's old one, else a free slot,
 * else the least recently used. */
static void sess_put(struct sk_tls_ctx *ctx, const char *key, SSL_SESSION *sess)
{
    int slot = -1;
    char *k = NULL;

    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < SESS_MAX; i++) {
        if (ctx->sess[i].key && strcmp(ctx->sess[i].key, key) == 0) {
            slot = i;
            break;
        }
        if (slot < 0 || !ctx->sess[i].key ||
            (ctx->sess[slot].key && ctx->sess[i].used < ctx->sess[slot].used))
            slot = i;
    }
    if (ctx->sess[slot].key && strcmp(ctx->sess[slot].key, key) == 0) {
        k = ctx->sess[slot].key;
    } else {
        k = strdup(key);
        if (!k) {
            pthread_mutex_unlock(&ctx->lock);
            SSL_SESSION_free(sess);
            return;
        }
        free(ctx->sess[slot].key);
    }
    SSL_SESSION_free(ctx->sess[slot].sess);
    ctx->sess[slot].key = k;
    ctx->sess[slot].sess = sess;
    ctx->sess[slot].used = ++ctx->tick;
    pthread_mutex_unlock(&ctx->lock);
}

/* A session for key, with a reference for the caller. A TLS 1.3 ticket is used once
 * (RFC 8446 §C.4), so it leaves the cache; a TLS 1.2 session stays. */
static SSL_SESSION *sess_get(struct sk_tls_ctx *ctx, const char *key)
{
    SSL_SESSION *s = NULL;

    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < SESS_MAX; i++) {
        struct sess_entry *e = &ctx->sess[i];
        if (!e->key || strcmp(e->key, key) != 0) continue;
        if (!SSL_SESSION_is_resumable(e->sess) ||
            (time_t) (SSL_SESSION_get_time(e->sess) + SSL_SESSION_get_timeout(e->sess)) <
                time(NULL)) {
            SSL_SESSION_free(e->sess);
        } else if (SSL_SESSION_get_protocol_version(e->sess) == TLS1_3_VERSION) {
            s = e->sess;
        } else {
            s = e->sess;
            SSL_SESSION_up_ref(s);
            e->used = ++ctx->tick;
            break;
        }
        free(e->key);
        e->key = NULL;
        e->sess = NULL;
        break;
    }
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

static bool conn_verified(const struct sk_tls_conn *c)
{
    X509 *peer = SSL_get0_peer_certificate(c->ssl);

    return peer && !c->verify_failed && SSL_get_verify_result(c->ssl) == X509_V_OK;
}

/* OpenSSL hands us each new session (TLS 1.2: at the end of the handshake; 1.3: each
 * ticket after it). Only sessions whose peer passed the checks are kept. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct sk_tls_conn *c = SSL_get_app_data(ssl);

    if (!c || !c->cache_key) return 0;
    if (c->ctx->verify != SK_TLS_VERIFY_OFF && !conn_verified(c)) return 0;
    sess_put(c->ctx, c->cache_key, sess);
    return 1;
}

/* Chain checks are OpenSSL's (trust, dates, self-signed); at the leaf a client adds the
 * RFC 5922 name check. The first failure is remembered for the error line. */
static int on_verify(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct sk_tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    int depth = X509_STORE_CTX_get_error_depth(xs);

    if (!c) return ok;
    if (!ok) {
        if (!c->verify_failed)
            snprintf(c->verify_msg, sizeof(c->verify_msg), "certificate at depth %d: %s",
                     depth, X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
        c->verify_failed = true;
    } else if (depth == 0 && c->ctx->role == SK_TLS_CLIENT && c->peer_name &&
               !sk_tls_name_match(X509_STORE_CTX_get_current_cert(xs), c->peer_name)) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
        if (!c->verify_failed)
            snprintf(c->verify_msg, sizeof(c->verify_msg),
                     "certificate does not name %s (RFC 5922)", c->peer_name);
        c->verify_failed = true;
        ok = 0;
    }
    return c->ctx->verify == SK_TLS_VERIFY_ON ? ok : 1;
}

static int load_cert(struct sk_tls_ctx *ctx, const char *cert, const char *key, char *err,
                     size_t errlen)
{
    char what[600];

    snprintf(what, sizeof(what), "certificate chain %s", cert);
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert) != 1) goto fail;
    snprintf(what, sizeof(what), "private key %s", key ? key : cert);
    if (SSL_CTX_use_PrivateKey_file(ctx->ssl, key ? key : cert, SSL_FILETYPE_PEM) != 1)
        goto fail;
    snprintf(what, sizeof(what), "private key %s does not fit certificate %s",
             key ? key : cert, cert);
    if (SSL_CTX_check_private_key(ctx->ssl) != 1) goto fail;
    return 0;
fail:
    err_line(err, errlen, what);
    return EIO;
}

static int ctx_setup(struct sk_tls_ctx *ctx, const struct sk_tls_config *cfg, char *err,
                     size_t errlen)
{
    SSL_CTX *s = ctx->ssl;
    int mode;

    /* RFC 3261 §26.2 wants TLS; RFC 8996 retired 1.0 and 1.1 */
    if (!SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(s, 0) ||
        !SSL_CTX_set_cipher_list(s, TLS12_CIPHERS) ||
        !SSL_CTX_set1_groups_list(s, TLS_GROUPS)) {
        err_line(err, errlen, "TLS settings");
        return EIO;
    }
    SSL_CTX_set_options(
        s, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
               (cfg->role == SK_TLS_SERVER ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    SSL_CTX_clear_options(s, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);

    if (cfg->ca_file || cfg->ca_dir) {
        if (SSL_CTX_load_verify_locations(s, cfg->ca_file, cfg->ca_dir) != 1) {
            char what[600];
            snprintf(what, sizeof(what), "CA %s",
                     cfg->ca_file ? cfg->ca_file : cfg->ca_dir);
            err_line(err, errlen, what);
            return EIO;
        }
        if (cfg->role == SK_TLS_SERVER && cfg->ca_file &&
            cfg->verify != SK_TLS_VERIFY_OFF) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_file);
            if (names) SSL_CTX_set_client_CA_list(s, names);
        }
    } else if (SSL_CTX_set_default_verify_paths(s) != 1) {
        err_line(err, errlen, "system CA store");
        return EIO;
    }

    mode = SSL_VERIFY_NONE;
    if (cfg->verify != SK_TLS_VERIFY_OFF) mode = SSL_VERIFY_PEER;
    if (cfg->verify == SK_TLS_VERIFY_ON && cfg->role == SK_TLS_SERVER)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(s, mode, on_verify);

    if (cfg->role == SK_TLS_SERVER) {
        /* needed to resume sessions of verified clients; one ticket per handshake */
        SSL_CTX_set_session_id_context(s, (const unsigned char *) "sipkit", 6);
        SSL_CTX_set_num_tickets(s, 1);
    } else {
        SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_CLIENT |
                                              SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(s, on_new_session);
    }
    return 0;
}

static int ctx_cert(struct sk_tls_ctx *ctx, const struct sk_tls_config *cfg, char *err,
                    size_t errlen)
{
    struct sk_tls_selfsigned ss;
    int rc;

    if (cfg->cert_file) return load_cert(ctx, cfg->cert_file, cfg->key_file, err, errlen);
    if (cfg->role == SK_TLS_CLIENT) return 0; /* no client certificate */
    if (cfg->require_cert) {
        snprintf(err, errlen,
                 "TLS: no certificate configured, and a self-signed one is "
                 "refused (require a real certificate)");
        return EINVAL;
    }
    rc = sk_tls_selfsigned_ensure(&ss, cfg->data_dir, cfg->domain, cfg->listen_ips,
                                  cfg->n_listen_ips, err, errlen);
    if (rc != 0) return rc;
    ctx->self_signed = true;
    return load_cert(ctx, ss.cert_path, ss.key_path, err, errlen);
}

int sk_tls_ctx_new(struct sk_tls_ctx **ctxp, const struct sk_tls_config *cfg, char *err,
                   size_t errlen)
{
    struct sk_tls_ctx *ctx;
    int rc;

    *ctxp = NULL;
    if (errlen) err[0] = '\0';
    ERR_clear_error();
    if (!cfg || (cfg->role != SK_TLS_SERVER && cfg->role != SK_TLS_CLIENT) ||
        cfg->verify < SK_TLS_VERIFY_OFF || cfg->verify > SK_TLS_VERIFY_ON) {
        snprintf(err, errlen, "TLS: bad configuration");
        return EINVAL;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        snprintf(err, errlen, "TLS: out of memory");
        return ENOMEM;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->role = cfg->role;
    ctx->verify = cfg->verify;
    ctx->ssl = SSL_CTX_new(cfg->role == SK_TLS_SERVER ? TLS_server_method()
                                                      : TLS_client_method());
    if (!ctx->ssl) {
        err_line(err, errlen, "TLS context");
        rc = ENOMEM;
        goto fail;
    }
    rc = ctx_setup(ctx, cfg, err, errlen);
    if (rc == 0) rc = ctx_cert(ctx, cfg, err, errlen);
    if (rc != 0) goto fail;
    fingerprint_of(SSL_CTX_get0_certificate(ctx->ssl), ctx->fingerprint);
    ERR_clear_error();
    *ctxp = ctx;
    return 0;
fail:
    ERR_clear_error();
    sk_tls_ctx_free(ctx);
    return rc;
}

void sk_tls_ctx_free(struct sk_tls_ctx *ctx)
{
    if (!ctx) return;
    sess_free_all(ctx);
    SSL_CTX_free(ctx->ssl);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

const char *sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx)
{
    return ctx->fingerprint;
}

bool sk_tls_ctx_self_signed(const struct sk_tls_ctx *ctx)
{
    return ctx->self_signed;
}

/* ---- connections ---- */

int sk_tls_conn_new(struct sk_tls_conn **cp, struct sk_tls_ctx *ctx,
                    const char *peer_name, const char *session_key)
{
    struct sk_tls_conn *c;
    BIO *inner = NULL;
    unsigned char ip[16];

    *cp = NULL;
    if (ctx->role == SK_TLS_CLIENT && ctx->verify != SK_TLS_VERIFY_OFF &&
        (!peer_name || !*peer_name))
        return EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c) return ENOMEM;
    c->ctx = ctx;
    c->state = SK_TLS_HANDSHAKE;
    ERR_clear_error();
    c->ssl = SSL_new(ctx->ssl);
    if (!c->ssl || !BIO_new_bio_pair(&inner, SK_TLS_BUF, &c->net, SK_TLS_BUF)) goto fail;
    SSL_set_bio(c->ssl, inner, inner);
    SSL_set_app_data(c->ssl, c);
    if (ctx->role == SK_TLS_SERVER) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (peer_name && *peer_name) {
            size_t kl = strlen(peer_name) + 2 + (session_key ? strlen(session_key) : 0);
            c->peer_name = strdup(peer_name);
            c->cache_key = malloc(kl);
            if (!c->peer_name || !c->cache_key) goto fail;
            snprintf(c->cache_key, kl, "%s\n%s", peer_name,
                     session_key ? session_key : "");
            /* RFC 6066 §3: SNI carries DNS names only */
            if (!parse_ip(peer_name, ip) && !SSL_set_tlsext_host_name(c->ssl, peer_name))
                goto fail;
            SSL_SESSION *s = sess_get(ctx, c->cache_key);
            if (s) {
                SSL_set_session(c->ssl, s);
                SSL_SESSION_free(s);
            }
        }
    }
    ERR_clear_error();
    *cp = c;
    return 0;
fail:
    ERR_clear_error();
    if (!c->ssl || !SSL_get_rbio(c->ssl)) BIO_free(inner);
    sk_tls_conn_free(c);
    return ENOMEM;
}

void sk_tls_conn_free(struct sk_tls_conn *c)
{
    if (!c) return;
    if (c->ssl) SSL_set_app_data(c->ssl, NULL);
    SSL_free(c->ssl);
    BIO_free(c->net);
    free(c->peer_name);
    free(c->cache_key);
    free(c);
    ERR_clear_error();
}

size_t sk_tls_conn_feed(struct sk_tls_conn *c, const void *p, size_t len)
{
    int n;

    if (len > INT_MAX) len = INT_MAX;
    if (len == 0) return 0;
    n = BIO_write(c->net, p, (int) len);
    ERR_clear_error();
    return n > 0 ? (size_t) n : 0;
}

size_t sk_tls_conn_in_space(struct sk_tls_conn *c, void **p)
{
    char *buf = NULL;
    ossl_ssize_t n = BIO_nwrite0(c->net, &buf);

    ERR_clear_error();
    *p = buf;
    return n > 0 ? (size_t) n : 0;
}

void sk_tls_conn_in_commit(struct sk_tls_conn *c, size_t n)
{
    char *buf;

    if (n) (void) BIO_nwrite(c->net, &buf, (int) n);
    ERR_clear_error();
}

void sk_tls_conn_eof(struct sk_tls_conn *c)
{
    (void) BIO_shutdown_wr(c->net);
}

const void *sk_tls_conn_out_peek(struct sk_tls_conn *c, size_t *len)
{
    char *buf = NULL;
    ossl_ssize_t n = BIO_nread0(c->net, &buf);

    ERR_clear_error();
    *len = n > 0 ? (size_t) n : 0;
    return *len ? buf : NULL;
}

void sk_tls_conn_out_consume(struct sk_tls_conn *c, size_t n)
{
    char *buf;

    if (n) (void) BIO_nread(c->net, &buf, (int) n);
    ERR_clear_error();
}

size_t sk_tls_conn_out_pending(struct sk_tls_conn *c)
{
    return BIO_ctrl_pending(c->net);
}

static void note_open(struct sk_tls_conn *c)
{
    if (c->state == SK_TLS_HANDSHAKE && SSL_is_init_finished(c->ssl))
        c->state = SK_TLS_OPEN;
}

/* After an OpenSSL call that returned ret <= 0. A read that finished the handshake
 * and then wants more (the usual case: no application data yet) leaves it open. */
static enum sk_tls_status status_of(struct sk_tls_conn *c, int ret, const char *what)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ: ERR_clear_error(); note_open(c); return SK_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: ERR_clear_error(); note_open(c); return SK_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        c->state = SK_TLS_PEER_CLOSED;
        return SK_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            conn_fail(c, what);
            append(c->err, sizeof(c->err), ": ",
                   "connection closed without close_notify");
            return SK_TLS_ERROR;
        }
        /* fall through */
    default: conn_fail(c, what); return SK_TLS_ERROR;
    }
}

static enum sk_tls_status dead(const struct sk_tls_conn *c)
{
    return c->state == SK_TLS_PEER_CLOSED ? SK_TLS_CLOSED : SK_TLS_ERROR;
}

enum sk_tls_status sk_tls_conn_handshake(struct sk_tls_conn *c)
{
    int r;

    if (c->state == SK_TLS_FAILED) return SK_TLS_ERROR;
    if (c->state != SK_TLS_HANDSHAKE) return SK_TLS_OK;
    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        note_open(c);
        return SK_TLS_OK;
    }
    return status_of(c, r, "TLS handshake");
}

enum sk_tls_status sk_tls_conn_read(struct sk_tls_conn *c, void *buf, size_t cap,
                                    size_t *got)
{
    int r;

    *got = 0;
    if (c->state == SK_TLS_FAILED || c->state == SK_TLS_PEER_CLOSED) return dead(c);
    ERR_clear_error();
    r = SSL_read_ex(c->ssl, buf, cap, got);
    if (r == 1) {
        note_open(c);
        return SK_TLS_OK;
    }
    *got = 0;
    return status_of(c, r, c->state == SK_TLS_HANDSHAKE ? "TLS handshake" : "TLS read");
}

enum sk_tls_status sk_tls_conn_write(struct sk_tls_conn *c, const void *p, size_t len,
                                     size_t *done)
{
    const unsigned char *b = p;

    *done = 0;
    if (c->state == SK_TLS_FAILED || c->state == SK_TLS_PEER_CLOSED) return SK_TLS_ERROR;
    if (c->state == SK_TLS_CLOSING) {
        snprintf(c->err, sizeof(c->err), "TLS write after close");
        return SK_TLS_ERROR;
    }
    while (*done < len) {
        size_t n = 0;
        int r;

        ERR_clear_error();
        r = SSL_write_ex(c->ssl, b + *done, len - *done, &n);
        if (r != 1)
            return status_of(
                c, r, c->state == SK_TLS_HANDSHAKE ? "TLS handshake" : "TLS write");
        note_open(c);
        *done += n;
    }
    return SK_TLS_OK;
}

enum sk_tls_status sk_tls_conn_close(struct sk_tls_conn *c)
{
    int r;

    if (c->state == SK_TLS_FAILED) return SK_TLS_ERROR;
    if (c->state == SK_TLS_CLOSING) return SK_TLS_OK;
    if (!SSL_is_init_finished(c->ssl)) { /* nothing to close cleanly yet */
        c->state = SK_TLS_CLOSING;
        return SK_TLS_OK;
    }
    ERR_clear_error();
    r = SSL_shutdown(c->ssl);
    if (r >= 0) {
        ERR_clear_error();
        if (c->state != SK_TLS_PEER_CLOSED) c->state = SK_TLS_CLOSING;
        return SK_TLS_OK;
    }
    return status_of(c, r, "TLS close");
}

enum sk_tls_state sk_tls_conn_state(const struct sk_tls_conn *c)
{
    return c->state;
}

const char *sk_tls_state_name(enum sk_tls_state s)
{
    switch (s) {
    case SK_TLS_HANDSHAKE: return "handshake";
    case SK_TLS_OPEN: return "open";
    case SK_TLS_CLOSING: return "closing";
    case SK_TLS_PEER_CLOSED: return "peer-closed";
    case SK_TLS_FAILED: return "failed";
    }
    return "?";
}

const char *sk_tls_conn_error(const struct sk_tls_conn *c)
{
    return c->err;
}

bool sk_tls_conn_peer_verified(const struct sk_tls_conn *c)
{
    return SSL_is_init_finished(c->ssl) && conn_verified(c);
}

bool sk_tls_conn_resumed(const struct sk_tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}

const char *sk_tls_conn_version(const struct sk_tls_conn *c)
{
    return SSL_get_version(c->ssl);
}

const char *sk_tls_conn_cipher(const struct sk_tls_conn *c)
{
    const char *n = SSL_get_cipher_name(c->ssl);
    return n ? n : "";
}

bool sk_tls_conn_peer_matches(const struct sk_tls_conn *c, const char *domain)
{
    return sk_tls_conn_peer_verified(c) &&
           sk_tls_name_match(SSL_get0_peer_certificate(c->ssl), domain);
}
