/* HTTP Digest for SIP: MD5 and SHA-256 (RFC 7616, RFC 8760), HMAC nonces, nonce-count replay checks. */
#include "sip/auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NC_BUCKETS 4096

struct nc_entry {
    struct nc_entry *next;
    time_t expires;
    uint32_t max_nc;
    char nonce[SIP_NONCE_LEN + 1];
};

struct nc_bucket {
    pthread_mutex_t lock;
    struct nc_entry *head;
};

struct sip_nonces {
    unsigned char secret[32];
    char opaque[33];
    uint32_t lifetime;
    struct nc_bucket b[NC_BUCKETS];
};

const char *sip_digest_alg_name(enum sip_digest_alg alg)
{
    return alg == SIP_DIGEST_SHA256 ? "SHA-256" : "MD5";
}

int sip_digest_alg_parse(struct sk_str s, enum sip_digest_alg *alg)
{
    if (!sk_str_isset(s) || sk_str_ieq_cstr(s, "MD5"))
        *alg = SIP_DIGEST_MD5;
    else if (sk_str_ieq_cstr(s, "SHA-256"))
        *alg = SIP_DIGEST_SHA256;
    else
        return EINVAL;
    return 0;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Hash of the concatenated parts, each followed by ':' except the last. */
static void hash_parts(enum sip_digest_alg alg, const struct sk_str *parts, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || !EVP_DigestInit_ex(ctx, alg == SIP_DIGEST_SHA256 ? EVP_sha256() : EVP_md5(),
                                   NULL)) {
        out[0] = '\0';
        EVP_MD_CTX_free(ctx);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
        if (i + 1 < n)
            EVP_DigestUpdate(ctx, ":", 1);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    to_hex(md, mdlen, out);
}

void sip_digest_hex(enum sip_digest_alg alg, const void *data, size_t len, char *out)
{
    struct sk_str s = sk_str_make(data, len);
    hash_parts(alg, &s, 1, out);
}

void sip_digest_ha1(enum sip_digest_alg alg, struct sk_str user, struct sk_str realm,
                    struct sk_str password, char *out)
{
    struct sk_str parts[3] = {user, realm, password};
    hash_parts(alg, parts, 3, out);
}

void sip_digest_response(enum sip_digest_alg alg, const char *ha1, const struct sip_auth *c,
                         struct sk_str method, char *out)
{
    char ha2[SIP_DIGEST_HEX_MAX];
    struct sk_str a2[2] = {method, c->uri};

    /* RFC 7616 §3.4.3: A2 = Method ":" request-uri for qop=auth (and no qop) */
    hash_parts(alg, a2, 2, ha2);
    if (sk_str_isset(c->qop)) {
        struct sk_str kd[6] = {sk_str_cstr(ha1), c->nonce, c->nc, c->cnonce, c->qop,
                               sk_str_cstr(ha2)};
        hash_parts(alg, kd, 6, out);
    } else {
        /* RFC 2069 compatibility (RFC 3261 §22.4 allows it) */
        struct sk_str kd[3] = {sk_str_cstr(ha1), c->nonce, sk_str_cstr(ha2)};
        hash_parts(alg, kd, 3, out);
    }
}

int sip_nonces_new(struct sip_nonces **np, uint32_t lifetime_s)
{
    struct sip_nonces *n = calloc(1, sizeof(*n));
    unsigned char op[16];

    if (!n)
        return ENOMEM;
    if (RAND_bytes(n->secret, sizeof(n->secret)) != 1 || RAND_bytes(op, sizeof(op)) != 1) {
        free(n);
        return EIO;
    }
    to_hex(op, sizeof(op), n->opaque);
    n->lifetime = lifetime_s;
    for (size_t i = 0; i < NC_BUCKETS; i++)
        pthread_mutex_init(&n->b[i].lock, NULL);
    *np = n;
    return 0;
}

void sip_nonces_free(struct sip_nonces *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < NC_BUCKETS; i++) {
        struct nc_entry *e = n->b[i].head, *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
        pthread_mutex_destroy(&n->b[i].lock);
    }
    free(n);
}

const char *sip_nonces_opaque(const struct sip_nonces *n)
{
    return n->opaque;
}

static void nonce_mac(const struct sip_nonces *n, const unsigned char *head, struct sk_str realm,
                      unsigned char mac[32])
{
    unsigned char msg[16 + 256];
    size_t rl = realm.len < 256 ? realm.len : 256;
    unsigned int maclen = 32;

    memcpy(msg, head, 16);
    if (rl)
        memcpy(msg + 16, realm.p, rl);
    HMAC(EVP_sha256(), n->secret, sizeof(n->secret), msg, 16 + rl, mac, &maclen);
}

void sip_nonce_make(struct sip_nonces *n, struct sk_str realm, time_t now, char *out)
{
    unsigned char head[16], mac[32];
    uint64_t t = (uint64_t) now;

    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char) (t >> (56 - 8 * i));
    if (RAND_bytes(head + 8, 8) != 1)
        memset(head + 8, 0, 8);
    nonce_mac(n, head, realm, mac);
    to_hex(head, 16, out);
    to_hex(mac, 16, out + 32);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 0 = ours and fresh, ETIMEDOUT = ours but expired, EINVAL = not ours. */
static int nonce_check(const struct sip_nonces *n, struct sk_str nonce, struct sk_str realm,
                       time_t now)
{
    unsigned char raw[32], mac[32];
    uint64_t t = 0;

    if (nonce.len != SIP_NONCE_LEN)
        return EINVAL;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(nonce.p[2 * i]), lo = hexval(nonce.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return EINVAL;
        raw[i] = (unsigned char) (hi * 16 + lo);
    }
    nonce_mac(n, raw, realm, mac);
    if (CRYPTO_memcmp(mac, raw + 16, 16) != 0)
        return EINVAL;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | raw[i];
    if ((uint64_t) now > t + n->lifetime || t > (uint64_t) now + 60)
        return ETIMEDOUT;
    return 0;
}

/* Record nc for nonce; EALREADY if it is not above every nc seen with it. */
static int nc_use(struct sip_nonces *n, struct sk_str nonce, uint32_t nc, time_t now)
{
    uint32_t h = 2166136261u;
    struct nc_bucket *b;
    struct nc_entry **pp, *e;
    int rc = 0;

    for (size_t i = 0; i < nonce.len; i++)
        h = (h ^ (unsigned char) nonce.p[i]) * 16777619u;
    b = &n->b[h % NC_BUCKETS];
    pthread_mutex_lock(&b->lock);
    for (pp = &b->head; (e = *pp);) {
        if (e->expires < now) { /* forget nonces that can no longer be used */
            *pp = e->next;
            free(e);
            continue;
        }
        if (strlen(e->nonce) == nonce.len && memcmp(e->nonce, nonce.p, nonce.len) == 0)
            break;
        pp = &e->next;
    }
    if (e) {
        if (nc <= e->max_nc)
            rc = EALREADY;
        else
            e->max_nc = nc;
    } else if ((e = calloc(1, sizeof(*e)))) {
        sk_str_copy(e->nonce, sizeof(e->nonce), nonce);
        e->max_nc = nc;
        e->expires = now + (time_t) n->lifetime + 60;
        e->next = b->head;
        b->head = e;
    } else {
        rc = ENOMEM;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

const char *sip_auth_result_name(enum sip_auth_result r)
{
    static const char *const names[] = {"ok", "bad credentials", "stale nonce",
                                        "nonce-count replayed", "unsupported algorithm or qop"};
    return (unsigned) r < 5 ? names[r] : "?";
}

enum sip_auth_result sip_digest_verify(struct sip_nonces *n, const struct sip_auth *c,
                                       struct sk_str realm, struct sk_str method,
                                       struct sk_str request_uri, const char *ha1, time_t now)
{
    enum sip_digest_alg alg;
    char expect[SIP_DIGEST_HEX_MAX];
    uint32_t nc = 0;
    int fresh;

    if (!c->digest || !sk_str_isset(c->response) || !sk_str_isset(c->nonce))
        return SIP_AUTH_BAD;
    if (sip_digest_alg_parse(c->algorithm, &alg))
        return SIP_AUTH_UNSUPPORTED;
    if (!sk_str_eq(c->realm, realm))
        return SIP_AUTH_BAD;
    /* §22.4 / RFC 7616 §3.4: the digest-uri is the Request-URI */
    if (!sk_str_isset(c->uri) || !sk_str_eq(c->uri, request_uri))
        return SIP_AUTH_BAD;
    if (sk_str_isset(c->opaque) && !sk_str_eq_cstr(c->opaque, n->opaque))
        return SIP_AUTH_BAD;
    /* our challenges always offer qop="auth", and RFC 7616 §3.4 makes the client
     * use it: an answer without qop/nc/cnonce could be replayed for the nonce's life */
    if (!sk_str_isset(c->qop))
        return SIP_AUTH_BAD;
    {
        if (!sk_str_eq_cstr(c->qop, "auth"))
            return SIP_AUTH_UNSUPPORTED;
        /* nc is 8 hex digits */
        if (c->nc.len != 8 || !sk_str_isset(c->cnonce) || c->cnonce.len == 0)
            return SIP_AUTH_BAD;
        for (size_t i = 0; i < 8; i++) {
            int v = hexval(sk_lower(c->nc.p[i]));
            if (v < 0)
                return SIP_AUTH_BAD;
            nc = nc * 16 + (uint32_t) v;
        }
    }
    fresh = nonce_check(n, c->nonce, realm, now);
    if (fresh == EINVAL)
        return SIP_AUTH_BAD;
    sip_digest_response(alg, ha1, c, method, expect);
    if (c->response.len != strlen(expect) ||
        CRYPTO_memcmp(c->response.p, expect, c->response.len) != 0) {
        /* hex is case-insensitive */
        for (size_t i = 0; i < c->response.len && i < strlen(expect); i++) {
            if (sk_lower(c->response.p[i]) != expect[i])
                return SIP_AUTH_BAD;
        }
        if (c->response.len != strlen(expect))
            return SIP_AUTH_BAD;
    }
    if (fresh == ETIMEDOUT)
        return SIP_AUTH_STALE; /* RFC 7616 §3.3: right credentials, old nonce */
    if (nc_use(n, c->nonce, nc, now))
        return SIP_AUTH_REPLAY;
    return SIP_AUTH_OK;
}

static void print_challenge(struct sk_buf *b, const char *hdr, const struct sip_nonces *n,
                            struct sk_str realm, enum sip_digest_alg alg, bool stale,
                            const char *nonce)
{
    sk_buf_printf(b, "%s: Digest realm=\"%.*s\", nonce=\"%s\", opaque=\"%s\", algorithm=%s, "
                     "qop=\"auth\"%s\r\n",
                  hdr, SK_STR_FMT(realm), nonce, n->opaque, sip_digest_alg_name(alg),
                  stale ? ", stale=true" : "");
}

int sip_digest_challenge(struct sk_buf *b, const char *hdr, struct sip_nonces *n,
                         struct sk_str realm, enum sip_digest_alg alg, bool stale, time_t now)
{
    return sip_digest_challenges(b, hdr, n, realm, &alg, 1, stale, now);
}

int sip_digest_challenges(struct sk_buf *b, const char *hdr, struct sip_nonces *n,
                          struct sk_str realm, const enum sip_digest_alg *algs, unsigned nalgs,
                          bool stale, time_t now)
{
    char nonce[SIP_NONCE_LEN + 1];

    /* the nonce does not depend on the algorithm: one HMAC serves every header */
    sip_nonce_make(n, realm, now, nonce);
    for (unsigned i = 0; i < nalgs; i++)
        print_challenge(b, hdr, n, realm, algs[i], stale, nonce);
    return b->failed ? ENOMEM : 0;
}
