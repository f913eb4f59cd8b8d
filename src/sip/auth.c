/* HTTP Digest for SIP: MD5 and SHA-256 (RFC 7616, RFC 8760), HMAC nonces, nonce-count replay checks. */
#include "sip/auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

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
    /* HMAC-SHA256 (RFC 2104) with the secret: SHA-256 contexts already fed with
     * (key XOR ipad) and (key XOR opad); each MAC copies them (read only, so any
     * thread may) into its thread's scratch context */
    EVP_MD_CTX *mac_inner, *mac_outer;
    char opaque[33];
    uint32_t lifetime;
    uint64_t salt;            /* random, drawn once; XOR seq gives every nonce its own bits */
    _Atomic uint64_t seq;
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

/* ---- OpenSSL objects fetched once, contexts kept per thread ----
 * With OpenSSL 3, EVP_md5()/EVP_sha256() make every EVP_DigestInit_ex fetch the
 * algorithm again (a lock and a hash-table lookup), and a fresh EVP_MD_CTX costs
 * allocations. The EVP_MDs are fetched once; each thread keeps its contexts
 * (freed by a pthread key destructor when the thread exits). OpenSSL 3.0 still
 * allocates the provider's small state once per init and per EVP_MD_CTX_copy_ex. */

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_alg[2]; /* indexed by enum sip_digest_alg; NULL if the fetch failed */
static pthread_key_t tl_key;
static bool tl_key_ok;

struct tl_ctx {
    EVP_MD_CTX *hash[2]; /* hash_parts, one per algorithm: no digest switch on reuse */
    EVP_MD_CTX *mac;     /* nonce HMAC scratch, always SHA-256 */
};

static _Thread_local struct tl_ctx *tl;

static void tl_ctx_free(void *p)
{
    struct tl_ctx *t = p;

    if (!t)
        return;
    EVP_MD_CTX_free(t->hash[0]);
    EVP_MD_CTX_free(t->hash[1]);
    EVP_MD_CTX_free(t->mac);
    free(t);
    if (tl == t)
        tl = NULL;
}

static void md_init(void)
{
    md_alg[SIP_DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
    md_alg[SIP_DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    tl_key_ok = pthread_key_create(&tl_key, tl_ctx_free) == 0;
}

/* The fetched digests; EIO if OpenSSL could not provide them. */
static int md_get(void)
{
    if (pthread_once(&md_once, md_init) != 0 || !md_alg[0] || !md_alg[1])
        return EIO;
    return 0;
}

/* This thread's contexts, made on first use. */
static int thread_ctx(struct tl_ctx **tp)
{
    struct tl_ctx *t = tl;
    int err;

    if (t) {
        *tp = t;
        return 0;
    }
    if ((err = md_get()))
        return err;
    if (!tl_key_ok)
        return EAGAIN;
    if (!(t = calloc(1, sizeof(*t))))
        return ENOMEM;
    t->hash[0] = EVP_MD_CTX_new();
    t->hash[1] = EVP_MD_CTX_new();
    t->mac = EVP_MD_CTX_new();
    if (!t->hash[0] || !t->hash[1] || !t->mac) {
        tl_ctx_free(t);
        return ENOMEM;
    }
    if ((err = pthread_setspecific(tl_key, t))) {
        tl_ctx_free(t);
        return err;
    }
    tl = t;
    *tp = t;
    return 0;
}

static const EVP_MD *md_of(enum sip_digest_alg alg)
{
    return md_alg[alg == SIP_DIGEST_SHA256 ? SIP_DIGEST_SHA256 : SIP_DIGEST_MD5];
}

/* Hash of the concatenated parts, each followed by ':' except the last.
 * On failure out is "" and an errno value is returned. */
static int hash_parts(enum sip_digest_alg alg, const struct sk_str *parts, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct tl_ctx *t;
    EVP_MD_CTX *ctx;
    int err;

    out[0] = '\0';
    if ((err = thread_ctx(&t)))
        return err;
    ctx = t->hash[alg == SIP_DIGEST_SHA256 ? 1 : 0];
    if (!EVP_DigestInit_ex(ctx, md_of(alg), NULL))
        return EIO;
    {
        /* joined on the stack and hashed with one update: each EVP_DigestUpdate
         * costs a provider dispatch, and a response hash has eleven pieces */
        unsigned char joined[768];
        size_t len = 0;
        bool fits = true;
        for (size_t i = 0; i < n && fits; i++) {
            if (parts[i].len + 1 > sizeof(joined) - len) {
                fits = false;
                break;
            }
            if (parts[i].len)
                memcpy(joined + len, parts[i].p, parts[i].len);
            len += parts[i].len;
            if (i + 1 < n)
                joined[len++] = ':';
        }
        if (fits) {
            if (len && !EVP_DigestUpdate(ctx, joined, len))
                return EIO;
        } else {
            for (size_t i = 0; i < n; i++) {
                if (parts[i].len && !EVP_DigestUpdate(ctx, parts[i].p, parts[i].len))
                    return EIO;
                if (i + 1 < n && !EVP_DigestUpdate(ctx, ":", 1))
                    return EIO;
            }
        }
    }
    if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
        return EIO;
    to_hex(md, mdlen, out);
    return 0;
}

int sip_digest_hex(enum sip_digest_alg alg, const void *data, size_t len, char *out)
{
    struct sk_str s = sk_str_make(data, len);
    return hash_parts(alg, &s, 1, out);
}

int sip_digest_ha1(enum sip_digest_alg alg, struct sk_str user, struct sk_str realm,
                   struct sk_str password, char *out)
{
    struct sk_str parts[3] = {user, realm, password};
    return hash_parts(alg, parts, 3, out);
}

int sip_digest_response(enum sip_digest_alg alg, const char *ha1, const struct sip_auth *c,
                        struct sk_str method, char *out)
{
    char ha2[SIP_DIGEST_HEX_MAX];
    struct sk_str a2[2] = {method, c->uri};
    int err;

    /* RFC 7616 §3.4.3: A2 = Method ":" request-uri for qop=auth (and no qop) */
    if ((err = hash_parts(alg, a2, 2, ha2))) {
        out[0] = '\0';
        return err;
    }
    if (sk_str_isset(c->qop)) {
        struct sk_str kd[6] = {sk_str_cstr(ha1), c->nonce, c->nc, c->cnonce, c->qop,
                               sk_str_cstr(ha2)};
        return hash_parts(alg, kd, 6, out);
    } else {
        /* RFC 2069 compatibility (RFC 3261 §22.4 allows it) */
        struct sk_str kd[3] = {sk_str_cstr(ha1), c->nonce, sk_str_cstr(ha2)};
        return hash_parts(alg, kd, 3, out);
    }
}

/* RFC 2104 §2: the inner and outer contexts, fed with the padded key. */
static int mac_key_init(struct sip_nonces *n, const void *key, size_t keylen)
{
    const EVP_MD *md = md_alg[SIP_DIGEST_SHA256];
    unsigned char k[64] = {0}, pad[64];
    int rc = EIO;

    if (keylen > sizeof(k)) { /* longer than SHA-256's block: the key is H(key) */
        if (!EVP_Digest(key, keylen, k, NULL, md, NULL))
            return EIO;
    } else if (keylen) {
        memcpy(k, key, keylen);
    }
    n->mac_inner = EVP_MD_CTX_new();
    n->mac_outer = EVP_MD_CTX_new();
    if (!n->mac_inner || !n->mac_outer) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    if (!EVP_DigestInit_ex(n->mac_inner, md, NULL) ||
        !EVP_DigestUpdate(n->mac_inner, pad, sizeof(pad)))
        goto out;
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(n->mac_outer, md, NULL) ||
        !EVP_DigestUpdate(n->mac_outer, pad, sizeof(pad)))
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    return rc;
}

int sip_nonces_new(struct sip_nonces **np, uint32_t lifetime_s)
{
    unsigned char secret[32];
    int err;

    if (RAND_bytes(secret, sizeof(secret)) != 1)
        return EIO;
    err = sip_nonces_new_keyed(np, lifetime_s, secret, sizeof(secret));
    OPENSSL_cleanse(secret, sizeof(secret));
    return err;
}

int sip_nonces_new_keyed(struct sip_nonces **np, uint32_t lifetime_s, const void *key,
                         size_t keylen)
{
    struct sip_nonces *n;
    unsigned char op[24]; /* 16 for the opaque, 8 for the nonce salt */
    int err;

    if ((err = md_get()))
        return err;
    if (!(n = calloc(1, sizeof(*n))))
        return ENOMEM;
    if (RAND_bytes(op, sizeof(op)) != 1) {
        free(n);
        return EIO;
    }
    if ((err = mac_key_init(n, key, keylen))) {
        EVP_MD_CTX_free(n->mac_inner);
        EVP_MD_CTX_free(n->mac_outer);
        free(n);
        return err;
    }
    to_hex(op, 16, n->opaque);
    for (int i = 0; i < 8; i++)
        n->salt = n->salt << 8 | op[16 + i];
    atomic_init(&n->seq, 0);
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
    EVP_MD_CTX_free(n->mac_inner);
    EVP_MD_CTX_free(n->mac_outer);
    free(n);
}

const char *sip_nonces_opaque(const struct sip_nonces *n)
{
    return n->opaque;
}

/* HMAC-SHA256(secret, head | realm), the realm cut at 256 bytes. */
static int nonce_mac(const struct sip_nonces *n, const unsigned char *head, struct sk_str realm,
                     unsigned char mac[32])
{
    unsigned char inner[32];
    size_t rl = realm.len < 256 ? realm.len : 256;
    unsigned int len = 0;
    struct tl_ctx *t;
    int err;

    if ((err = thread_ctx(&t)))
        return err;
    if (!EVP_MD_CTX_copy_ex(t->mac, n->mac_inner))
        return ENOMEM; /* copying allocates the provider's context */
    if (!EVP_DigestUpdate(t->mac, head, 16) || (rl && !EVP_DigestUpdate(t->mac, realm.p, rl)) ||
        !EVP_DigestFinal_ex(t->mac, inner, &len) || len != sizeof(inner))
        return EIO;
    if (!EVP_MD_CTX_copy_ex(t->mac, n->mac_outer))
        return ENOMEM;
    if (!EVP_DigestUpdate(t->mac, inner, sizeof(inner)) || !EVP_DigestFinal_ex(t->mac, mac, &len) ||
        len != 32)
        return EIO;
    return 0;
}

int sip_nonce_make(struct sip_nonces *n, struct sk_str realm, time_t now, char *out)
{
    unsigned char head[16], mac[32];
    uint64_t t = (uint64_t) now;
    int err;

    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char) (t >> (56 - 8 * i));
    {
        /* unique, not secret: the HMAC is what makes the nonce unforgeable. A
         * counter under a per-process random salt (RAND_bytes once, not per 401) */
        uint64_t u = n->salt ^ atomic_fetch_add_explicit(&n->seq, 1, memory_order_relaxed);
        for (int i = 0; i < 8; i++)
            head[8 + i] = (unsigned char) (u >> (56 - 8 * i));
    }
    if ((err = nonce_mac(n, head, realm, mac))) {
        out[0] = '\0';
        return err;
    }
    to_hex(head, 16, out);
    to_hex(mac, 16, out + 32);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 0 = ours and fresh, ETIMEDOUT = ours but expired, EINVAL = not ours (or not
 * checkable: no MAC could be computed). */
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
    if (nonce_mac(n, raw, realm, mac))
        return EINVAL;
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
    struct nc_bucket *b;
    struct nc_entry **pp, *e;
    int rc = 0;

    b = &n->b[sk_hash(nonce.p, nonce.len) % NC_BUCKETS];
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
    /* fail closed: without an expected value nothing matches (not even "") */
    if (sip_digest_response(alg, ha1, c, method, expect) || !expect[0])
        return SIP_AUTH_BAD;
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
    /* appended piece by piece (sk_buf_puts of a literal folds its strlen):
     * printf cost more than the rest of the 401 */
    sk_buf_puts(b, hdr);
    sk_buf_puts(b, ": Digest realm=\"");
    sk_buf_put_str(b, realm);
    sk_buf_puts(b, "\", nonce=\"");
    sk_buf_puts(b, nonce);
    sk_buf_puts(b, "\", opaque=\"");
    sk_buf_puts(b, n->opaque);
    sk_buf_puts(b, "\", algorithm=");
    sk_buf_puts(b, sip_digest_alg_name(alg));
    sk_buf_puts(b, ", qop=\"auth\"");
    if (stale)
        sk_buf_puts(b, ", stale=true");
    sk_buf_puts(b, "\r\n");
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
    int err;

    /* the nonce does not depend on the algorithm: one HMAC serves every header */
    if ((err = sip_nonce_make(n, realm, now, nonce)))
        return err;
    for (unsigned i = 0; i < nalgs; i++)
        print_challenge(b, hdr, n, realm, algs[i], stale, nonce);
    return b->failed ? ENOMEM : 0;
}
