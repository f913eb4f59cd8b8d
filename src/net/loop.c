/* Event loop: epoll + 4-ary min-heap of timers + an eventfd-woken queue of posted work. */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct fd_entry {
    sk_io_fn fn;
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

struct sk_loop {
    int epfd;
    int wakefd;
    bool fake_clock;
    volatile bool stop;
    uint64_t now;
    uint64_t seq;
    struct hent *heap; /* 4-ary min-heap; the keys are kept here, next to each other */
    size_t nheap, capheap;
    struct fd_entry *fds; /* indexed by fd */
    size_t nfds;
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

static int ctl(struct sk_loop *l, int op, int fd, uint32_t events, sk_io_fn fn, void *arg)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    if (fd < 0)
        return EBADF;
    if (fds_reserve(l, fd))
        return ENOMEM;
    if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
        return errno;
    l->fds[fd].fn = fn;
    l->fds[fd].arg = arg;
    return 0;
}

int sk_loop_add_fd(struct sk_loop *l, int fd, uint32_t events, sk_io_fn fn, void *arg)
{
    return ctl(l, EPOLL_CTL_ADD, fd, events, fn, arg);
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
    if ((size_t) fd < l->nfds)
        l->fds[fd].fn = NULL;
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
    t->fn = fn;
    t->arg = arg;
}

void sk_timer_stop(struct sk_loop *l, struct sk_timer *t)
{
    size_t i = t->slot;
    struct hent last;

    if (i == SIZE_MAX)
        return;
    t->slot = SIZE_MAX;
    last = l->heap[--l->nheap];
    if (i == l->nheap)
        return;
    heap_set(l, i, last);
    sift_up(l, i);
    sift_down(l, last.t->slot);
}

int sk_timer_start(struct sk_loop *l, struct sk_timer *t, uint64_t ms)
{
    sk_timer_stop(l, t);
    if (l->nheap == l->capheap) {
        size_t n = l->capheap ? l->capheap * 2 : 256;
        struct hent *nh = realloc(l->heap, n * sizeof(*nh));
        if (!nh)
            return ENOMEM;
        l->heap = nh;
        l->capheap = n;
    }
    t->when = l->now + ms;
    t->seq = l->seq++;
    heap_set(l, l->nheap++, (struct hent){t->when, t->seq, t});
    sift_up(l, t->slot);
    return 0;
}

size_t sk_loop_timer_count(const struct sk_loop *l)
{
    return __atomic_load_n(&l->nheap, __ATOMIC_RELAXED); /* stats read it from other threads */
}

uint64_t sk_loop_now(const struct sk_loop *l)
{
    return l->now;
}

/* Fire every timer due at or before `until`; the clock follows each timer. */
static void run_timers(struct sk_loop *l, uint64_t until)
{
    while (l->nheap && l->heap[0].when <= until) {
        struct sk_timer *t = l->heap[0].t;
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

int sk_loop_run_once(struct sk_loop *l, int timeout_ms)
{
    struct epoll_event ev[LOOP_MAX_EVENTS];
    int n;

    if (!l->fake_clock && l->nheap) {
        uint64_t now = mono_ms();
        /* wake on the slack grid at or after the first due timer, so that
         * timers due close together (thousands a second on a busy proxy: every
         * transaction's linger timer) share one wakeup */
        uint64_t due = (l->heap[0].when + SK_LOOP_TIMER_SLACK_MS - 1) /
                       SK_LOOP_TIMER_SLACK_MS * SK_LOOP_TIMER_SLACK_MS;
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

int sk_loop_run(struct sk_loop *l)
{
    int err = 0;

    l->stop = false;
    while (!l->stop && !err)
        err = sk_loop_run_once(l, -1);
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
