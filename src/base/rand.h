/* Fast per-thread random numbers for identifiers (branches, tags): seeded from the kernel once per thread. */
#ifndef SK_BASE_RAND_H
#define SK_BASE_RAND_H

#include <stdint.h>

/* 64 random bits from a per-thread xoshiro256** generator whose state comes
 * from getrandom() on first use. Not for secrets (nonces, keys): those use
 * OpenSSL or getrandom directly. */
uint64_t sk_rand64(void);

#endif
