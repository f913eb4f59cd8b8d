/* Event loop: epoll + timers (FIFO lanes per duration, a 4-ary min-heap for the rest) + an
 * eventfd-woken queue of posted work. */
#include "net/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct fd_entry {
    sk_io_fn fn;
    sk_wait_fn wait; /* set: the loop may block in it instead of epoll_wait */
    void *arg;
};

struct work {
    struct work *next;
    sk_work_fn fn;
    void *arg;
};

/* A heap entry carries its timer's key, so ordering the heap reads only this
 * array and never the (often cold) objects the timers are embedded in. */
struct hent {
    uint64_t when, seq;
    struct sk_timer *t;
};

/* A lane: a FIFO of running timers all started with the same duration. Their due
 * times then come in start order, so the queue is sorted by (when, seq) as it
 * grows: start, stop and fire are O(1) and touch at most two neighbours, where
 * the heap moves ~log4(n) entries and writes each moved timer's slot, in objects
 * long gone cold (measured: 15% of a proxy's CPU while 20,000 linger timers
 * expired went to heap removal). */
#define LOOP_LANES 16
#define SLOT_LANE0 (SIZE_MAX - 1 - LOOP_LANES) /* slot of a timer in lane i: SLOT_LANE0 + i */

struct lane {
    uint64_t ms; /* the duration of every timer in it */
    bool lazy;   /* timers started with sk_timer_start_lazy */
    struct sk_timer *head, *tail;
};

struct sk_loop {
    int epfd;
    int wakefd;
    bool fake_clock;
    volatile bool stop;
    unsigned fail_timer_in; /* tests (fake clock): the nth timer start from now fails */
    uint64_t now;
    uint64_t seq;
    struct hent *heap; /* 4-ary min-heap; the keys are kept here, next to each other */
    size_t nheap, capheap;
    struct lane lanes[LOOP_LANES];
    int nlanes;
    size_t ntimers; /* running timers, heap and lanes */
    struct fd_entry *fds; /* indexed by fd */
    size_t nfds;
    size_t nuser;         /* descriptors added, the wake eventfd aside */
    int sole;             /* when nuser == 1: that descriptor */
    /* Direct wait (sk_loop_add_wait_fd): the thread running the loop, whether it
     * is blocked (or about to block) in a wait function, and the SO_RCVTIMEO set
     * on the socket in ms (0: unknown, or cut short by a wake signal). */
    pthread_t thread;
    atomic_bool sleeping;
    volatile sig_atomic_t rcvtimeo_ms;
    pthread_mutex_t work_lock;
    struct work *work_head, *work_tail;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void wake_cb(struct sk_loop *l, int fd, uint32_t events, void *arg)
{
    uint64_t v;
    (void) l, (void) events, (void) arg;
    while (read(fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
        ;
}

int sk_loop_new(struct sk_loop **lp, unsigned flags)
{
    struct sk_loop *l = calloc(1, sizeof(*l));
    int err;

    if (!l)
        return ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0) {
        err = errno;
        goto fail;
    }
    pthread_mutex_init(&l->work_lock, NULL);
    l->fake_clock = (flags & SK_LOOP_FAKE_CLOCK) != 0;
    l->now = l->fake_clock ? 0 : mono_ms();
    if ((err = sk_loop_add_fd(l, l->wakefd, EPOLLIN, wake_cb, NULL)))
        goto fail_mutex;
    *lp = l;
    return 0;
fail_mutex:
    pthread_mutex_destroy(&l->work_lock);
fail:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    free(l->fds);
    free(l);
    return err;
}

void sk_loop_free(struct sk_loop *l)
{
    struct work *w, *next;

    if (!l)
        return;
    for (w = l->work_head; w; w = next) {
        next = w->next;
        free(w);
    }
    close(l->epfd);
    close(l->wakefd);
    pthread_mutex_destroy(&l->work_lock);
    free(l->heap);
    free(l->fds);
    free(l);
}

static int fds_reserve(struct sk_loop *l, int fd)
{
    size_t n;
    struct fd_entry *nf;

    if ((size_t) fd < l->nfds)
        return 0;
    n = l->nfds ? l->nfds : 64;
    while (n <= (size_t) fd)
        n *= 2;
    nf = realloc(l->fds, n * sizeof(*nf));
    if (!nf)
        return ENOMEM;
    memset(nf + l->nfds, 0, (n - l->nfds) * sizeof(*nf));
    l->fds = nf;
    l->nfds = n;
    return 0;
}

/* Which descriptor is the only one, when one is (the direct wait needs it). */
static void find_sole(struct sk_loop *l)
{
    l->sole = -1;
    if (l->nuser != 1)
        return;
    for (size_t i = 0; i < l->nfds; i++) {
        if (l->fds[i].fn && (int) i != l->wakefd) {
            l->sole = (int) i;
            return;
        }
    }
}

static int ctl(struct sk_loop *l, int op, int fd, uint32_t events, sk_io_fn fn, void *arg)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    if (fd < 0)
        return EBADF;
    if (fds_reserve(l, fd))
        return ENOMEM;
    if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
        return errno;
    if (op == EPOLL_CTL_ADD) {
        l->fds[fd].wait = NULL;
        if (fd != l->wakefd)
            l->nuser++;
    }
    l->fds[fd].fn = fn;
    l->fds[fd].arg = arg;
    find_sole(l);
    return 0;
}

int sk_loop_add_fd(struct sk_loop *l, int fd, uint32_t events, sk_io_fn fn, void *arg)
{
    return ctl(l, EPOLL_CTL_ADD, fd, events, fn, arg);
}

int sk_loop_add_wait_fd(struct sk_loop *l, int fd, sk_io_fn fn, sk_wait_fn wait, void *arg)
{
    int err, fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return errno;
    if ((err = ctl(l, EPOLL_CTL_ADD, fd, EPOLLIN, fn, arg)))
        return err;
    /* the wait blocks in the socket's receive call; every other call on it
     * passes MSG_DONTWAIT */
    if ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        err = errno;
        sk_loop_del_fd(l, fd);
        return err;
    }
    l->fds[fd].wait = wait;
    l->rcvtimeo_ms = 0;
    return 0;
}

int sk_loop_mod_fd(struct sk_loop *l, int fd, uint32_t events, sk_io_fn fn, void *arg)
{
    return ctl(l, EPOLL_CTL_MOD, fd, events, fn, arg);
}

void sk_loop_del_fd(struct sk_loop *l, int fd)
{
    if (fd < 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    if ((size_t) fd < l->nfds && l->fds[fd].fn) {
        l->fds[fd].fn = NULL;
        l->fds[fd].wait = NULL;
        if (fd != l->wakefd)
            l->nuser--;
        find_sole(l);
    }
}

/* ---- Timers: 4-ary min-heap ordered by (when, seq) ----
 * Four children per node halve the depth of a binary heap; a busy proxy keeps
 * tens of thousands of timers, and every level moved writes one timer's slot. */

#define HEAP_D 4

static bool earlier(const struct hent *a, const struct hent *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(struct sk_loop *l, size_t i, struct hent e)
{
    l->heap[i] = e;
    e.t->slot = i;
}

static void sift_up(struct sk_loop *l, size_t i)
{
    struct hent e = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_D;
        if (!earlier(&e, &l->heap[parent]))
            break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, e);
}

static void sift_down(struct sk_loop *l, size_t i)
{
    struct hent e = l->heap[i];
    for (;;) {
        size_t first = HEAP_D * i + 1, best, end;
        if (first >= l->nheap)
            break;
        end = first + HEAP_D < l->nheap ? first + HEAP_D : l->nheap;
        best = first;
        for (size_t c = first + 1; c < end; c++) {
            if (earlier(&l->heap[c], &l->heap[best]))
                best = c;
        }
        if (!earlier(&l->heap[best], &e))
            break;
        heap_set(l, i, l->heap[best]);
        i = best;
    }
    heap_set(l, i, e);
}

void sk_timer_init(struct sk_timer *t, sk_timer_fn fn, void *arg)
{
    t->when = 0;
    t->seq = 0;
    t->slot = SIZE_MAX;
    t->prev = t->next = NULL;
    t->fn = fn;
    t->arg = arg;
}

static void count_add(struct sk_loop *l, long d)
{
    __atomic_store_n(&l->ntimers, l->ntimers + (size_t) d, __ATOMIC_RELAXED);
}

static void heap_remove(struct sk_loop *l, struct sk_timer *t)
{
    size_t i = t->slot;
    struct hent last;

    t->slot = SIZE_MAX;
    last = l->heap[--l->nheap];
    if (i == l->nheap)
        return;
    heap_set(l, i, last);
    sift_up(l, i);
    sift_down(l, last.t->slot);
}

static void lane_remove(struct sk_loop *l, struct sk_timer *t)
{
    struct lane *q = &l->lanes[t->slot - SLOT_LANE0];

    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->prev = t->next = NULL;
    t->slot = SIZE_MAX;
}

void sk_timer_stop(struct sk_loop *l, struct sk_timer *t)
{
    if (t->slot == SIZE_MAX)
        return;
    if (t->slot >= SLOT_LANE0)
        lane_remove(l, t);
    else
        heap_remove(l, t);
    count_add(l, -1);
}

/* The lane for timers of this duration: the one it already has, else a new one,
 * else an empty one taken over; -1 when every lane is busy with other durations. */
static int lane_for(struct sk_loop *l, uint64_t ms, bool lazy)
{
    int spare = -1;

    for (int i = 0; i < l->nlanes; i++) {
        const struct lane *q = &l->lanes[i];
        if (q->ms == ms && q->lazy == lazy)
            return i;
        if (spare < 0 && !q->head)
            spare = i;
    }
    if (l->nlanes < LOOP_LANES)
        spare = l->nlanes++;
    if (spare >= 0) {
        l->lanes[spare].ms = ms;
        l->lanes[spare].lazy = lazy;
    }
    return spare;
}

static int timer_start(struct sk_loop *l, struct sk_timer *t, uint64_t ms, bool lazy)
{
    int lane;

    sk_timer_stop(l, t);
    if (l->fail_timer_in && --l->fail_timer_in == 0)
        return ENOMEM; /* injected (sk_loop_fail_timer_start) */
    t->when = l->now + ms;
    t->seq = l->seq++;
    if ((lane = lane_for(l, ms, lazy)) >= 0) {
        /* l->now never goes back, so the new timer is due no earlier than the tail */
        struct lane *q = &l->lanes[lane];
        t->slot = SLOT_LANE0 + (size_t) lane;
        t->next = NULL;
        t->prev = q->tail;
        if (q->tail)
            q->tail->next = t;
        else
            q->head = t;
        q->tail = t;
        count_add(l, 1);
        return 0;
    }
    if (l->nheap == l->capheap) {
        size_t n = l->capheap ? l->capheap * 2 : 256;
        struct hent *nh = realloc(l->heap, n * sizeof(*nh));
        if (!nh)
            return ENOMEM;
        l->heap = nh;
        l->capheap = n;
    }
    heap_set(l, l->nheap++, (struct hent){t->when, t->seq, t});
    sift_up(l, t->slot);
    count_add(l, 1);
    return 0;
}

void sk_loop_fail_timer_start(struct sk_loop *l, unsigned nth)
{
    if (l->fake_clock)
        l->fail_timer_in = nth;
}

int sk_timer_start(struct sk_loop *l, struct sk_timer *t, uint64_t ms)
{
    return timer_start(l, t, ms, false);
}

int sk_timer_start_lazy(struct sk_loop *l, struct sk_timer *t, uint64_t ms)
{
    return timer_start(l, t, ms, true);
}

size_t sk_loop_timer_count(const struct sk_loop *l)
{
    return __atomic_load_n(&l->ntimers, __ATOMIC_RELAXED); /* stats read it from other threads */
}

uint64_t sk_loop_now(const struct sk_loop *l)
{
    return l->now;
}

void sk_loop_clock_update(struct sk_loop *l)
{
    if (!l->fake_clock)
        l->now = mono_ms();
}

/* The running timer first in (when, seq) order: the heap's top or a lane's head. */
static struct sk_timer *first_timer(const struct sk_loop *l)
{
    struct sk_timer *best = l->nheap ? l->heap[0].t : NULL;

    for (int i = 0; i < l->nlanes; i++) {
        struct sk_timer *h = l->lanes[i].head;
        if (h && (!best || h->when < best->when || (h->when == best->when && h->seq < best->seq)))
            best = h;
    }
    return best;
}

/* Fire every timer due at or before `until`; the clock follows each timer. */
static void run_timers(struct sk_loop *l, uint64_t until)
{
    struct sk_timer *t;

    while ((t = first_timer(l)) && t->when <= until) {
        sk_timer_stop(l, t);
        if (l->fake_clock && t->when > l->now)
            l->now = t->when;
        t->fn(l, t, t->arg);
    }
}

/* ---- Posted work ---- */

int sk_loop_post(struct sk_loop *l, sk_work_fn fn, void *arg)
{
    struct work *w = malloc(sizeof(*w));
    uint64_t one = 1;

    if (!w)
        return ENOMEM;
    w->next = NULL;
    w->fn = fn;
    w->arg = arg;
    pthread_mutex_lock(&l->work_lock);
    if (l->work_tail)
        l->work_tail->next = w;
    else
        l->work_head = w;
    l->work_tail = w;
    pthread_mutex_unlock(&l->work_lock);
    if (write(l->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return errno;
    /* a loop blocked in a direct wait does not see the eventfd: interrupt it
     * (seq_cst: either it sees the work queued above, or we see it asleep) */
    if (atomic_load(&l->sleeping))
        pthread_kill(l->thread, SK_LOOP_WAKE_SIGNAL);
    return 0;
}

static void run_work(struct sk_loop *l)
{
    struct work *w, *next;

    pthread_mutex_lock(&l->work_lock);
    w = l->work_head;
    l->work_head = l->work_tail = NULL;
    pthread_mutex_unlock(&l->work_lock);
    for (; w; w = next) {
        next = w->next;
        w->fn(l, w->arg);
        free(w);
    }
}

#define LOOP_MAX_EVENTS 64

static uint64_t grid(uint64_t when, uint64_t step)
{
    return (when + step - 1) / step * step;
}

/* When to wake for timers: on the slack grid at or after the first due timer,
 * so that timers due close together (thousands a second on a busy proxy) share
 * one wakeup; lazy lanes on their coarser grid. */
static uint64_t wake_at(const struct sk_loop *l)
{
    uint64_t due = l->nheap ? grid(l->heap[0].when, SK_LOOP_TIMER_SLACK_MS) : UINT64_MAX;

    for (int i = 0; i < l->nlanes; i++) {
        const struct lane *q = &l->lanes[i];
        if (q->head) {
            uint64_t d = grid(q->head->when, q->lazy ? SK_LOOP_LAZY_MS : SK_LOOP_TIMER_SLACK_MS);
            if (d < due)
                due = d;
        }
    }
    return due;
}

int sk_loop_run_once(struct sk_loop *l, int timeout_ms)
{
    struct epoll_event ev[LOOP_MAX_EVENTS];
    int n;

    if (!l->fake_clock && l->ntimers) {
        uint64_t now = mono_ms(), due = wake_at(l);
        int until = due <= now ? 0 : (int) (due - now > 60000 ? 60000 : due - now);
        if (timeout_ms < 0 || until < timeout_ms)
            timeout_ms = until;
    }
    n = epoll_wait(l->epfd, ev, LOOP_MAX_EVENTS, timeout_ms);
    if (n < 0 && errno != EINTR)
        return errno;
    if (!l->fake_clock)
        l->now = mono_ms();
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        if ((size_t) fd < l->nfds && l->fds[fd].fn)
            l->fds[fd].fn(l, fd, ev[i].events, l->fds[fd].arg);
    }
    run_work(l);
    if (!l->fake_clock)
        run_timers(l, l->now);
    return 0;
}

/* ---- Direct wait ----
 * A loop whose only descriptor is a socket added with sk_loop_add_wait_fd blocks
 * in that socket's receive call, bounded by SO_RCVTIMEO, instead of in
 * epoll_wait: one system call less per datagram. Posted work interrupts the
 * receive with SK_LOOP_WAKE_SIGNAL (installed with SA_RESTART: since the socket
 * always has a receive timeout, the receive fails with EINTR while every other
 * call the thread may be in restarts, signal(7)). A signal that lands between
 * the last look at the work queue and the receive call itself sets a minimal
 * timeout on the socket, so that wait ends within a clock tick. */

static _Thread_local struct sk_loop *running; /* the loop this thread runs */

static int set_rcvtimeo(int fd, long us)
{
    struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void wake_signal(int sig)
{
    struct sk_loop *l = running;
    int saved = errno;
    (void) sig;

    if (l && l->sole >= 0 && atomic_load(&l->sleeping)) {
        set_rcvtimeo(l->sole, 1);
        l->rcvtimeo_ms = 0;
    }
    errno = saved;
}

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static bool wake_ok;

static void wake_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wake_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    wake_ok = sigaction(SK_LOOP_WAKE_SIGNAL, &sa, NULL) == 0;
}

static bool direct_ok(const struct sk_loop *l)
{
    return wake_ok && !l->fake_clock && l->sole >= 0 && l->fds[l->sole].wait;
}

static bool work_queued(struct sk_loop *l)
{
    bool any;

    pthread_mutex_lock(&l->work_lock);
    any = l->work_head != NULL;
    pthread_mutex_unlock(&l->work_lock);
    return any;
}

static int run_direct(struct sk_loop *l)
{
    int fd = l->sole;
    uint64_t now = mono_ms();
    int want = 60000;

    if (l->ntimers) {
        uint64_t due = wake_at(l);
        want = due <= now ? 0 : (int) (due - now > 60000 ? 60000 : due - now);
    }
    if (want > 0) {
        /* the socket's timeout moves only when it would end the wait more than
         * a slack step late, or less than half way: not once per datagram */
        int cur = l->rcvtimeo_ms;
        if (cur == 0 || cur > want + SK_LOOP_TIMER_SLACK_MS || cur * 2 < want) {
            if (set_rcvtimeo(fd, (long) want * 1000) < 0)
                return errno;
            l->rcvtimeo_ms = want;
        }
        atomic_store(&l->sleeping, true);
        if (!work_queued(l))
            l->fds[fd].wait(l, fd, l->fds[fd].arg);
        atomic_store(&l->sleeping, false);
        l->now = mono_ms();
    } else {
        l->now = now;
    }
    run_work(l);
    run_timers(l, l->now);
    return 0;
}

int sk_loop_run(struct sk_loop *l)
{
    sigset_t wake;
    int err = 0;

    pthread_once(&wake_once, wake_install);
    sigemptyset(&wake);
    sigaddset(&wake, SK_LOOP_WAKE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
    l->thread = pthread_self();
    running = l;
    l->stop = false;
    while (!l->stop && !err)
        err = direct_ok(l) ? run_direct(l) : sk_loop_run_once(l, -1);
    running = NULL;
    return err;
}

static void stop_cb(struct sk_loop *l, void *arg)
{
    (void) arg;
    l->stop = true;
}

void sk_loop_stop(struct sk_loop *l)
{
    if (sk_loop_post(l, stop_cb, NULL))
        l->stop = true;
}

void sk_loop_advance(struct sk_loop *l, uint64_t ms)
{
    uint64_t until = l->now + ms;

    run_work(l);
    run_timers(l, until);
    l->now = until;
}
