/* A fast non-cryptographic hash for in-memory tables and request fingerprints:
 * eight bytes per multiply, a final avalanche so that the low bits (a table
 * index) depend on every input byte. Not for anything an attacker must not
 * steer: tables keyed by peer input bound their chains, nonces use HMAC.
 *
 *   uint64_t h = sk_hash_init();
 *   h = sk_hash_bytes(h, s.p, s.len);   // each field; the length is mixed in,
 *   h = sk_hash_u64(h, port);           // so "ab"+"c" differs from "a"+"bc"
 *   return sk_hash_final(h);
 */
#ifndef SK_BASE_HASH_H
#define SK_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SK_HASH_K 0x9e3779b97f4a7c15ull

static inline uint64_t sk_hash_init(void)
{
    return 0x243f6a8885a308d3ull;
}

static inline uint64_t sk_hash_u64(uint64_t h, uint64_t v)
{
    h = (h ^ v) * SK_HASH_K;
    return h ^ (h >> 32);
}

static inline uint64_t sk_hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t w;

    h = sk_hash_u64(h, n);
    if (n >= 8) {
        const unsigned char *last = p + n - 8;
        for (; p < last; p += 8) {
            memcpy(&w, p, 8);
            h = sk_hash_u64(h, w);
        }
        memcpy(&w, last, 8); /* the last word, overlapping the one before */
        return sk_hash_u64(h, w);
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return sk_hash_u64(h, (uint64_t) a << 32 | b);
    }
    if (n)
        h = sk_hash_u64(h, (uint64_t) p[0] << 16 | (uint64_t) p[n / 2] << 8 | p[n - 1]);
    return h;
}

static inline uint64_t sk_hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

/* One string, finished. */
static inline uint64_t sk_hash(const void *data, size_t n)
{
    return sk_hash_final(sk_hash_bytes(sk_hash_init(), data, n));
}

#endif
