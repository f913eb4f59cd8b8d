/* Event loop: epoll for file descriptors, a timer heap in milliseconds, and work posted from other threads. */
#ifndef SK_NET_LOOP_H
#define SK_NET_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_loop;
struct sk_timer;

typedef void (*sk_io_fn)(struct sk_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*sk_timer_fn)(struct sk_loop *loop, struct sk_timer *t, void *arg);
typedef void (*sk_work_fn)(struct sk_loop *loop, void *arg);
/* A direct wait (sk_loop_add_wait_fd): one blocking receive on fd, ended by its
 * SO_RCVTIMEO or a signal, then handle what came. */
typedef void (*sk_wait_fn)(struct sk_loop *loop, int fd, void *arg);

/* Embedded in the object that owns it; the loop never allocates timers. */
struct sk_timer {
    uint64_t when;    /* absolute loop time in ms */
    uint64_t seq;     /* tie-break: timers due at the same ms fire in start order */
    size_t slot;      /* heap position or lane (loop.c), SIZE_MAX when not running */
    struct sk_timer *prev, *next; /* neighbours in a lane */
    sk_timer_fn fn;
    void *arg;
};

/* A loop on the real clock waits for timers on a grid of this many ms: a
 * timer fires up to this late, and timers due within one step share a wakeup
 * (measured: a proxy at 500 calls/s woke ~2000 times a second for linger
 * timers alone). A fake-clock loop fires every timer at its exact time. */
#define SK_LOOP_TIMER_SLACK_MS 10
/* The grid of timers started with sk_timer_start_lazy (real clock only). */
#define SK_LOOP_LAZY_MS 250

/* A loop whose clock only moves when the test says so (sk_loop_advance). */
#define SK_LOOP_FAKE_CLOCK 1u

int sk_loop_new(struct sk_loop **lp, unsigned flags);
void sk_loop_free(struct sk_loop *l);

/* events: EPOLLIN / EPOLLOUT ... from <sys/epoll.h> */
int sk_loop_add_fd(struct sk_loop *l, int fd, uint32_t events, sk_io_fn fn, void *arg);
int sk_loop_mod_fd(struct sk_loop *l, int fd, uint32_t events, sk_io_fn fn, void *arg);
void sk_loop_del_fd(struct sk_loop *l, int fd);
/* Add a datagram socket for EPOLLIN like sk_loop_add_fd, and let the loop wait
 * on it directly: while it is the loop's only descriptor, sk_loop_run blocks in
 * wait(), which must receive with one blocking call (recvmmsg MSG_WAITFORONE),
 * instead of in epoll_wait; one system call less per datagram, measured in
 * bench/. The socket is switched to blocking mode, so every other call on it
 * must pass MSG_DONTWAIT; the loop owns its SO_RCVTIMEO. Work posted to the loop
 * interrupts the wait with SK_LOOP_WAKE_SIGNAL (installed by sk_loop_run). */
int sk_loop_add_wait_fd(struct sk_loop *l, int fd, sk_io_fn fn, sk_wait_fn wait, void *arg);
#define SK_LOOP_WAKE_SIGNAL (SIGRTMIN + 4)

void sk_timer_init(struct sk_timer *t, sk_timer_fn fn, void *arg);
/* (Re)start: fires once, ms from now. Returns ENOMEM if the heap cannot grow. */
int sk_timer_start(struct sk_loop *l, struct sk_timer *t, uint64_t ms);
/* The same for a timer that only ends a wait (a transaction's Timer J, K, L...:
 * freeing state): on the real clock it may fire up to SK_LOOP_LAZY_MS late, so
 * that an idle loop wakes a few times a second for them, not a hundred. On a
 * fake clock it fires at its exact time like any other. */
int sk_timer_start_lazy(struct sk_loop *l, struct sk_timer *t, uint64_t ms);
void sk_timer_stop(struct sk_loop *l, struct sk_timer *t);
/* Tests, fake-clock loops only (ignored otherwise): the nth sk_timer_start or
 * sk_timer_start_lazy from now on (1: the next one) fails with ENOMEM, as when
 * the heap cannot grow, leaving that timer stopped; 0 disarms. */
void sk_loop_fail_timer_start(struct sk_loop *l, unsigned nth);
static inline bool sk_timer_active(const struct sk_timer *t)
{
    return t->slot != SIZE_MAX;
}
size_t sk_loop_timer_count(const struct sk_loop *l);

/* Milliseconds on the loop's clock (monotonic; cached per loop turn). */
uint64_t sk_loop_now(const struct sk_loop *l);
/* A direct wait (sk_loop_add_wait_fd) that returns with input calls this before
 * handling it, so the handlers' sk_loop_now is the time of its arrival, not of
 * the moment the wait began (which may be a long idle spell ago). */
void sk_loop_clock_update(struct sk_loop *l);

/* Thread-safe: run fn(arg) on the loop's thread soon. ENOMEM on failure. */
int sk_loop_post(struct sk_loop *l, sk_work_fn fn, void *arg);

/* Run until sk_loop_stop (thread-safe). */
int sk_loop_run(struct sk_loop *l);
void sk_loop_stop(struct sk_loop *l);
/* One turn: wait up to timeout_ms (-1 = until the next timer) for I/O, then run
 * due timers and posted work. */
int sk_loop_run_once(struct sk_loop *l, int timeout_ms);

/* Fake clock only: move time forward by ms, firing every timer due on the way
 * in order, each with the clock set to its due time. */
void sk_loop_advance(struct sk_loop *l, uint64_t ms);

#endif
