/* xoshiro256** (Blackman and Vigna), one state per thread, seeded by getrandom(). */
#include "base/rand.h"

#include <stdbool.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local uint64_t st[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void seed(void)
{
    if (getrandom(st, sizeof(st), 0) != (ssize_t) sizeof(st)) {
        /* never expected on Linux >= 3.17: a weaker but still varying seed */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t z = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 32) ^ (uint64_t) (uintptr_t) &ts;
        for (int i = 0; i < 4; i++) {
            z += 0x9e3779b97f4a7c15ull; /* splitmix64 */
            uint64_t x = z;
            x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
            x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
            st[i] = x ^ (x >> 31);
        }
    }
    if ((st[0] | st[1] | st[2] | st[3]) == 0)
        st[0] = 1; /* the one state xoshiro cannot leave */
    seeded = true;
}

uint64_t sk_rand64(void)
{
    uint64_t r, t;

    if (!seeded)
        seed();
    r = rotl(st[1] * 5, 7) * 9;
    t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}
