/* Tests of the loop (net/loop.c): timers in the heap and lanes on a fake clock (order, stop,
 * restart, many timers), a lazy timer on the real clock, and the direct wait on a UDP socket
 * (datagrams, posted work and timers while blocked, falling back to epoll). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "net/loop.h"

#define N 5000

struct rec {
    struct sk_timer t;
    uint64_t due;
    unsigned id;
    int fired;
};

static uint64_t last_when;
static unsigned last_id, nfired;
static int order_ok = 1;

static void on_fire(struct sk_loop *l, struct sk_timer *t, void *arg)
{
    struct rec *r = arg;
    (void) t;
    r->fired++;
    nfired++;
    /* the clock follows each timer, and timers fire in (due, start order) */
    if (sk_loop_now(l) != r->due || r->due < last_when ||
        (r->due == last_when && r->id < last_id && nfired > 1))
        order_ok = 0;
    last_when = r->due;
    last_id = r->id;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Thousands of timers with random (often equal) due times, some stopped, some
 * restarted: every live one fires once, at its time, in order. */
static void test_heap_random(void **state)
{
    struct sk_loop *l;
    struct rec *r = calloc(N, sizeof(*r));
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned expect = 0;
    (void) state;

    assert_non_null(r);
    assert_int_equal(sk_loop_new(&l, SK_LOOP_FAKE_CLOCK), 0);
    last_when = 0;
    last_id = 0;
    nfired = 0;
    order_ok = 1;
    for (unsigned i = 0; i < N; i++) {
        r[i].id = i;
        r[i].due = rnd(&seed) % 3000;
        sk_timer_init(&r[i].t, on_fire, &r[i]);
        assert_int_equal(sk_timer_start(l, &r[i].t, r[i].due), 0);
    }
    assert_int_equal(sk_loop_timer_count(l), N);
    /* stop every third; restart every seventh later (it then fires after the
     * ones started before it with the same due time: ids below keep order) */
    for (unsigned i = 0; i < N; i += 3) {
        sk_timer_stop(l, &r[i].t);
        assert_false(sk_timer_active(&r[i].t));
        sk_timer_stop(l, &r[i].t); /* stopping twice is harmless */
    }
    for (unsigned i = 0; i < N; i++)
        expect += i % 3 != 0;
    assert_int_equal(sk_loop_timer_count(l), expect);
    sk_loop_advance(l, 3000);
    assert_int_equal(nfired, expect);
    assert_true(order_ok);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(r[i].fired, i % 3 != 0);
    assert_int_equal(sk_loop_timer_count(l), 0);
    sk_loop_free(l);
    free(r);
}

/* A restarted timer moves: it fires once, at its new time. */
static void test_heap_restart(void **state)
{
    struct sk_loop *l;
    struct rec a = {0}, b = {0}, c = {0};
    (void) state;

    assert_int_equal(sk_loop_new(&l, SK_LOOP_FAKE_CLOCK), 0);
    last_when = 0;
    nfired = 0;
    order_ok = 1;
    a.id = 0, b.id = 1, c.id = 2;
    sk_timer_init(&a.t, on_fire, &a);
    sk_timer_init(&b.t, on_fire, &b);
    sk_timer_init(&c.t, on_fire, &c);
    sk_timer_start(l, &a.t, 100);
    sk_timer_start(l, &b.t, 200);
    sk_timer_start(l, &c.t, 300);
    a.due = 400;
    sk_timer_start(l, &a.t, 400); /* a moves behind b and c */
    b.due = 200;
    c.due = 300;
    sk_loop_advance(l, 250);
    assert_int_equal(a.fired, 0);
    assert_int_equal(b.fired, 1);
    sk_loop_advance(l, 200);
    assert_int_equal(c.fired, 1);
    assert_int_equal(a.fired, 1);
    assert_int_equal(nfired, 3);
    sk_loop_free(l);
}

/* Lanes: timers of a few fixed durations (each duration a FIFO lane), started as
 * the clock moves, mixed with more distinct durations than there are lanes (the
 * rest go to the heap), some lazy; heads, tails and middles stopped; timers that
 * restart themselves from their callback. All fire once, in (due, start) order,
 * each with the clock at its due time. */
#define LN 3000
static struct rec lr[LN];
static unsigned next_id;
static int rearm[LN];
static struct sk_loop *lane_loop;

static void on_fire_rearm(struct sk_loop *l, struct sk_timer *t, void *arg)
{
    struct rec *r = arg;
    unsigned k = (unsigned) (r - lr);
    on_fire(l, t, arg);
    if (rearm[k] > 0) {
        /* restart with a lane duration, from inside the firing loop */
        rearm[k]--;
        r->id = next_id++;
        r->due = sk_loop_now(l) + 500;
        assert_int_equal(sk_timer_start_lazy(lane_loop, t, 500), 0);
    }
}

static void test_lanes_mixed(void **state)
{
    static const uint64_t durs[] = {500, 1000, 2000, 4000, 32000, 5000, 200};
    struct sk_loop *l;
    uint64_t seed = 0x243f6a8885a308d3ull;
    unsigned expect = 0, fired_before;
    (void) state;

    assert_int_equal(sk_loop_new(&l, SK_LOOP_FAKE_CLOCK), 0);
    lane_loop = l;
    last_when = 0;
    last_id = 0;
    nfired = 0;
    order_ok = 1;
    next_id = 0;
    memset(lr, 0, sizeof(lr));
    memset(rearm, 0, sizeof(rearm));
    for (unsigned i = 0; i < LN; i++) {
        uint64_t d;
        unsigned kind = (unsigned) (rnd(&seed) % 4);
        if (i % 10 == 0)
            sk_loop_advance(l, rnd(&seed) % 7); /* the clock moves between starts */
        d = kind == 0 ? 1 + rnd(&seed) % 40000 : durs[rnd(&seed) % 7];
        sk_timer_init(&lr[i].t, i % 5 == 0 ? on_fire_rearm : on_fire, &lr[i]);
        lr[i].id = next_id++;
        lr[i].due = sk_loop_now(l) + d;
        if (i % 5 == 0)
            rearm[i] = 2;
        if (kind == 1)
            assert_int_equal(sk_timer_start_lazy(l, &lr[i].t, d), 0);
        else
            assert_int_equal(sk_timer_start(l, &lr[i].t, d), 0);
    }
    /* short ones fired while the clock moved; the count is of those still running */
    for (unsigned i = 0; i < LN; i++)
        expect += sk_timer_active(&lr[i].t);
    assert_int_equal(sk_loop_timer_count(l), expect);
    assert_true(expect > LN / 2);
    expect = 0;
    fired_before = nfired;
    /* stop some: every 13th (heads, tails and middles of lanes alike) */
    for (unsigned i = 0; i < LN; i += 13) {
        if (sk_timer_active(&lr[i].t)) {
            sk_timer_stop(l, &lr[i].t);
            rearm[i] = 0;
        }
        assert_false(sk_timer_active(&lr[i].t));
    }
    for (unsigned i = 0; i < LN; i++) {
        if (sk_timer_active(&lr[i].t))
            expect += 1u + (unsigned) rearm[i];
    }
    sk_loop_advance(l, 50000);
    assert_true(order_ok);
    assert_int_equal(nfired - fired_before, expect);
    assert_int_equal(sk_loop_timer_count(l), 0);
    for (unsigned i = 0; i < LN; i++)
        assert_false(sk_timer_active(&lr[i].t));
    sk_loop_free(l);
}

static void on_fire_flag(struct sk_loop *l, struct sk_timer *t, void *arg)
{
    (void) l, (void) t;
    *(int *) arg = 1;
}

/* A lazy timer on the real clock fires, no earlier than asked. */
static void test_lazy_real_clock(void **state)
{
    struct sk_loop *l;
    struct sk_timer t;
    int fired = 0;
    uint64_t start;
    (void) state;

    assert_int_equal(sk_loop_new(&l, 0), 0);
    sk_timer_init(&t, on_fire_flag, &fired);
    start = sk_loop_now(l);
    assert_int_equal(sk_timer_start_lazy(l, &t, 20), 0);
    for (int i = 0; i < 100 && !fired; i++)
        assert_int_equal(sk_loop_run_once(l, 1000), 0);
    assert_true(fired);
    assert_true(sk_loop_now(l) >= start + 20);
    assert_int_equal(sk_loop_timer_count(l), 0);
    sk_loop_free(l);
}


/* ---- Direct wait ---- */

struct direct {
    struct sk_loop *l;
    int fd;
    atomic_int got, waits, readables, work_runs, timer_fired, pipe_reads;
    struct sk_timer t;
    int pipefd[2];
};

static void direct_take(struct direct *d, int flags)
{
    char buf[256];
    while (recv(d->fd, buf, sizeof(buf), flags) > 0) {
        atomic_fetch_add(&d->got, 1);
        flags |= MSG_DONTWAIT; /* one blocking call, then what is queued */
    }
}

static void direct_wait(struct sk_loop *l, int fd, void *arg)
{
    struct direct *d = arg;
    (void) l, (void) fd;
    atomic_fetch_add(&d->waits, 1);
    direct_take(d, 0);
}

static void direct_readable(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct direct *d = arg;
    (void) l, (void) fd, (void) events;
    atomic_fetch_add(&d->readables, 1);
    direct_take(d, MSG_DONTWAIT);
}

static void *direct_thread(void *arg)
{
    struct direct *d = arg;
    sk_loop_run(d->l);
    return NULL;
}

/* Poll (bounded: 10 s) until *v reaches want. */
static bool reaches(atomic_int *v, int want)
{
    struct timespec ts = {0, 2000000};
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(v) >= want)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

static void send_n(int s, const struct sockaddr_in *to, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(sendto(s, "ping", 4, 0, (const void *) to, sizeof(*to)), 4);
}

static void work_count(struct sk_loop *l, void *arg)
{
    struct direct *d = arg;
    (void) l;
    atomic_fetch_add(&d->work_runs, 1);
}

static void timer_flag(struct sk_loop *l, struct sk_timer *t, void *arg)
{
    struct direct *d = arg;
    (void) l, (void) t;
    atomic_store(&d->timer_fired, 1);
}

static void work_start_timer(struct sk_loop *l, void *arg)
{
    struct direct *d = arg;
    sk_timer_init(&d->t, timer_flag, d);
    sk_timer_start(l, &d->t, 30);
}

static void pipe_readable(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    struct direct *d = arg;
    char c;
    (void) l, (void) events;
    if (read(fd, &c, 1) == 1)
        atomic_fetch_add(&d->pipe_reads, 1);
}

static void work_add_pipe(struct sk_loop *l, void *arg)
{
    struct direct *d = arg;
    sk_loop_add_fd(l, d->pipefd[0], EPOLLIN, pipe_readable, d);
}

/* A loop whose only descriptor is a UDP socket added for a direct wait blocks in
 * that socket's receive call: datagrams come through the wait function, never
 * epoll; work posted while it is blocked runs, and a timer started meanwhile
 * fires, long before the socket's 60 s idle timeout would end the wait; once a
 * second descriptor is added the loop goes back to epoll, and both are served. */
static void test_direct_wait(void **state)
{
    struct direct d;
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    pthread_t th;
    int s;
    (void) state;

    memset(&d, 0, sizeof(d));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(d.fd >= 0 && s >= 0);
    assert_int_equal(bind(d.fd, (void *) &a, sizeof(a)), 0);
    assert_int_equal(getsockname(d.fd, (void *) &a, &alen), 0);
    assert_int_equal(pipe(d.pipefd), 0);
    assert_int_equal(sk_loop_new(&d.l, 0), 0);
    assert_int_equal(sk_loop_add_wait_fd(d.l, d.fd, direct_readable, direct_wait, &d), 0);
    assert_int_equal(fcntl(d.fd, F_GETFL) & O_NONBLOCK, 0); /* the wait blocks */
    assert_int_equal(pthread_create(&th, NULL, direct_thread, &d), 0);

    send_n(s, &a, 100);
    assert_true(reaches(&d.got, 100));
    assert_true(atomic_load(&d.waits) > 0);
    assert_int_equal(atomic_load(&d.readables), 0);

    /* the loop is idle in recv now: posted work interrupts it */
    for (int i = 0; i < 20; i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        assert_int_equal(sk_loop_post(d.l, work_count, &d), 0);
        assert_true(reaches(&d.work_runs, i + 1));
    }
    /* a timer started on the loop while it waits shortens the wait */
    assert_int_equal(sk_loop_post(d.l, work_start_timer, &d), 0);
    assert_true(reaches(&d.timer_fired, 1));

    /* a second descriptor: back to epoll for both */
    assert_int_equal(sk_loop_post(d.l, work_add_pipe, &d), 0);
    assert_int_equal(sk_loop_post(d.l, work_count, &d), 0);
    assert_true(reaches(&d.work_runs, 21));
    assert_int_equal(write(d.pipefd[1], "x", 1), 1);
    assert_true(reaches(&d.pipe_reads, 1));
    send_n(s, &a, 10);
    assert_true(reaches(&d.got, 110));
    assert_true(atomic_load(&d.readables) > 0);

    sk_loop_stop(d.l);
    assert_int_equal(pthread_join(th, NULL), 0);
    sk_loop_free(d.l);
    close(d.fd);
    close(s);
    close(d.pipefd[0]);
    close(d.pipefd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_random),
        cmocka_unit_test(test_heap_restart),
        cmocka_unit_test(test_lanes_mixed),
        cmocka_unit_test(test_lazy_real_clock),
        cmocka_unit_test(test_direct_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
