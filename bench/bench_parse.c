/* Parser benchmark: sipkit vs libosip2 on bench/corpus, one core, alternating rounds,
 * medians. */
#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <osipparser2/osip_list.h>
#include <osipparser2/osip_parser.h>

#include "corpus.h"
#include "sip/msg.h"
#include "sipkit_work.h"

#ifndef SIPKIT_BENCH_CORPUS
#error "SIPKIT_BENCH_CORPUS (the corpus directory) must be defined by the build"
#endif
#ifndef SIPKIT_BENCH_OSIP_VERSION
#define SIPKIT_BENCH_OSIP_VERSION "?"
#endif

#define DEFAULT_SECONDS 1.5
#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS 101
#define WARMUP_SECONDS 0.3

extern char **environ;

/* Results flow here so the compiler cannot drop the parsing work. */
static volatile uint64_t g_sink;

enum parser { P_SIPKIT, P_OSIP, P__COUNT };
static const char *const parser_name[P__COUNT] = {"sipkit", "libosip2"};

struct depth {
    size_t nvias, ncontacts;
};

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int pin_to_cpu0(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* libosip2: check that osip_message_parse really decoded the headers we compare on. */
static const char *osip_check_depth(const osip_message_t *sip, struct depth *d)
{
    int nv = osip_list_size(&sip->vias);
    if (nv <= 0) return "no Via decoded";
    for (int i = 0; i < nv; i++) {
        const osip_via_t *v = osip_list_get(&sip->vias, i);
        if (!v || !v->protocol || !v->version || !v->host) return "Via not decoded";
    }
    if (!sip->from || !sip->from->url || !sip->from->url->host) return "From not decoded";
    if (!sip->to || !sip->to->url || !sip->to->url->host) return "To not decoded";
    if (!sip->cseq || !sip->cseq->number || !sip->cseq->method) return "CSeq not decoded";
    if (!sip->call_id || !sip->call_id->number) return "Call-ID not decoded";
    int nc = osip_list_size(&sip->contacts);
    for (int i = 0; i < nc; i++) {
        const osip_contact_t *c = osip_list_get(&sip->contacts, i);
        if (!c || !c->url || !c->url->host) return "Contact not decoded";
    }
    d->nvias = (size_t) nv;
    d->ncontacts = nc > 0 ? (size_t) nc : 0;
    return NULL;
}

/* Untimed pass: both parsers must accept every message, decode the same headers and
 * agree on the number of Vias and Contacts. Prints every problem; returns how many. */
static int verify(const struct corpus *c, struct sip_msg *m)
{
    int failures = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct corpus_msg *cm = &c->msgs[i];
        struct sipkit_result sr = {0, 0};
        struct sip_error err;
        memset(&err, 0, sizeof err);
        const char *stage = "";
        size_t heap_before = m->arena.heap_allocs;
        int rc = sipkit_work(m, cm->data, cm->len, &sr, &err, &stage);
        int sipkit_ok = rc == 0;
        if (!sipkit_ok) {
            failures++;
            size_t pos = err.pos < cm->len ? err.pos : cm->len;
            size_t ctx = cm->len - pos < 40 ? cm->len - pos : 40;
            char phrase[256] = "(no reason)";
            if (err.reason) sip_error_phrase(&err, phrase, sizeof phrase);
            fprintf(stderr, "FAIL sipkit %s: %s returned %s: %d %s at byte %zu (near \"",
                    cm->name, stage, rc == EBADMSG ? "EBADMSG" : strerror(rc), err.status,
                    phrase, err.pos);
            for (size_t k = pos; k < pos + ctx; k++) {
                unsigned char ch = (unsigned char) cm->data[k];
                if (ch == '\r')
                    fputs("\\r", stderr);
                else if (ch == '\n')
                    fputs("\\n", stderr);
                else if (ch < 0x20 || ch >= 0x7f)
                    fprintf(stderr, "\\x%02x", ch);
                else
                    fputc(ch, stderr);
            }
            fputs("\")\n", stderr);
        } else {
            const char *missing = !m->has_via       ? "Via"
                                  : !m->has_from    ? "From"
                                  : !m->has_to      ? "To"
                                  : !m->has_cseq    ? "CSeq"
                                  : !m->has_call_id ? "Call-ID"
                                                    : NULL;
            if (missing) {
                failures++;
                sipkit_ok = 0;
                fprintf(stderr, "FAIL sipkit %s: parsed but %s was not decoded\n",
                        cm->name, missing);
            }
            if (m->arena.heap_allocs != heap_before)
                fprintf(stderr, "note: sipkit %s: arena took %zu heap block(s)\n",
                        cm->name, m->arena.heap_allocs - heap_before);
        }

        osip_message_t *sip = NULL;
        if (osip_message_init(&sip) != 0) {
            fprintf(stderr, "FAIL libosip2: osip_message_init failed (out of memory?)\n");
            return failures + 1;
        }
        rc = osip_message_parse(sip, cm->data, cm->len);
        struct depth od = {0, 0};
        const char *why =
            rc != 0 ? "osip_message_parse failed" : osip_check_depth(sip, &od);
        osip_message_free(sip);
        if (why) {
            failures++;
            fprintf(stderr, "FAIL libosip2 %s: %s (rc %d)\n", cm->name, why, rc);
            continue;
        }
        if (sipkit_ok && (sr.nvias != od.nvias || sr.ncontacts != od.ncontacts)) {
            failures++;
            fprintf(stderr,
                    "FAIL %s: parsers disagree: sipkit %zu Via / %zu Contact, "
                    "libosip2 %zu Via / %zu Contact\n",
                    cm->name, sr.nvias, sr.ncontacts, od.nvias, od.ncontacts);
        }
    }
    return failures;
}

/* Parse the whole corpus again and again for `budget` seconds; returns messages parsed.
 */
static uint64_t run_sipkit(const struct corpus *c, struct sip_msg *m, double budget,
                           double *elapsed)
{
    uint64_t passes = 0, acc = 0;
    double t0 = now_sec(), t;
    do {
        for (size_t i = 0; i < c->n; i++) {
            struct sipkit_result sr;
            struct sip_error err;
            const char *stage;
            if (sipkit_work(m, c->msgs[i].data, c->msgs[i].len, &sr, &err, &stage) != 0) {
                fprintf(stderr, "bench_parse: sipkit failed on %s while timing\n",
                        c->msgs[i].name);
                exit(1);
            }
            acc += sr.nvias + sr.ncontacts + m->cseq.num + m->nhdr;
        }
        passes++;
    } while ((t = now_sec() - t0) < budget);
    g_sink += acc;
    *elapsed = t;
    return passes * c->n;
}

static uint64_t run_osip(const struct corpus *c, double budget, double *elapsed)
{
    uint64_t passes = 0, acc = 0;
    double t0 = now_sec(), t;
    do {
        for (size_t i = 0; i < c->n; i++) {
            osip_message_t *sip;
            if (osip_message_init(&sip) != 0 ||
                osip_message_parse(sip, c->msgs[i].data, c->msgs[i].len) != 0) {
                fprintf(stderr, "bench_parse: libosip2 failed on %s while timing\n",
                        c->msgs[i].name);
                exit(1);
            }
            acc += (uint64_t) osip_list_size(&sip->vias) +
                   (uint64_t) osip_list_size(&sip->contacts) +
                   (uint64_t) (unsigned char) sip->cseq->number[0];
            osip_message_free(sip);
        }
        passes++;
    } while ((t = now_sec() - t0) < budget);
    g_sink += acc;
    *elapsed = t;
    return passes * c->n;
}

static double run(enum parser p, const struct corpus *c, struct sip_msg *m, double budget,
                  double *mbps)
{
    double elapsed;
    uint64_t msgs = p == P_SIPKIT ? run_sipkit(c, m, budget, &elapsed)
                                  : run_osip(c, budget, &elapsed);
    double passes = (double) msgs / (double) c->n;
    *mbps = passes * (double) c->total_bytes / elapsed / 1e6;
    return (double) msgs / elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t) n * sizeof *v);
    qsort(s, (size_t) n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The allocation count comes from bench_allocs, a separate untimed helper linked with
 * -Wl,--wrap=malloc,... so that this timed binary is not instrumented. */
static void run_allocs_helper(const char *corpus_dir)
{
#ifdef SIPKIT_BENCH_ALLOCS
    char *argv[] = {(char *) SIPKIT_BENCH_ALLOCS, (char *) corpus_dir, NULL};
    pid_t pid;
    fflush(stdout);
    int rc = posix_spawn(&pid, SIPKIT_BENCH_ALLOCS, NULL, NULL, argv, environ);
    if (rc != 0) {
        printf("sipkit heap allocations per message: unknown (cannot run %s: %s)\n",
               SIPKIT_BENCH_ALLOCS, strerror(rc));
        return;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("sipkit heap allocations per message: unknown (bench_allocs failed)\n");
#else
    (void) corpus_dir;
    printf("sipkit heap allocations per message: unknown (built without bench_allocs)\n");
#endif
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-t seconds_per_run] [-r rounds] [corpus_dir]\n"
            "  defaults: -t %.1f -r %d, corpus %s\n",
            argv0, DEFAULT_SECONDS, DEFAULT_ROUNDS, SIPKIT_BENCH_CORPUS);
}

int main(int argc, char **argv)
{
    double budget = DEFAULT_SECONDS;
    int rounds = DEFAULT_ROUNDS;
    int opt;
    while ((opt = getopt(argc, argv, "t:r:h")) != -1) {
        char *end;
        if (opt == 't') {
            budget = strtod(optarg, &end);
            if (*end || !(budget > 0 && budget <= 600)) {
                usage(argv[0]);
                return 2;
            }
        } else if (opt == 'r') {
            long r = strtol(optarg, &end, 10);
            if (*end || r < 1 || r > MAX_ROUNDS) {
                usage(argv[0]);
                return 2;
            }
            rounds = (int) r;
        } else {
            usage(argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (argc - optind > 1) {
        usage(argv[0]);
        return 2;
    }
    const char *dir = optind < argc ? argv[optind] : SIPKIT_BENCH_CORPUS;

    struct corpus c;
    if (corpus_load(&c, dir) != 0) return 1;

    int pinned = pin_to_cpu0() == 0;
    int pin_errno = errno;

    static struct sip_msg msg; /* large: keep it off the stack */
    sip_msg_init(&msg);
    if (parser_init() != 0) {
        fprintf(stderr, "bench_parse: libosip2 parser_init failed\n");
        return 1;
    }

    printf("bench_parse: sipkit vs libosip2 %s, %zu messages, %zu bytes, corpus %s\n",
           SIPKIT_BENCH_OSIP_VERSION, c.n, c.total_bytes, dir);
    if (pinned)
        printf("pinned to CPU 0 (sched_setaffinity), single thread\n");
    else
        printf("NOT pinned: sched_setaffinity(CPU 0) failed: %s; single thread\n",
               strerror(pin_errno));
    printf("depth: all headers located; Via (all), From, To, CSeq, Call-ID, Contact "
           "decoded\n");

    int failures = verify(&c, &msg);
    if (failures) {
        fprintf(stderr, "bench_parse: %d corpus check(s) failed, not timing\n", failures);
        sip_msg_release(&msg);
        corpus_free(&c);
        return 1;
    }
    printf("verified: both parsers accept all %zu messages and agree on Via/Contact "
           "counts\n",
           c.n);

    double mbps;
    run(P_SIPKIT, &c, &msg, WARMUP_SECONDS, &mbps);
    run(P_OSIP, &c, &msg, WARMUP_SECONDS, &mbps);

    printf("%d rounds x %.1f s per parser, order alternating each round\n", rounds,
           budget);
    double rate[P__COUNT][MAX_ROUNDS], bw[P__COUNT][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < P__COUNT; k++) {
            enum parser p = (enum parser)((r + k) % P__COUNT);
            rate[p][r] = run(p, &c, &msg, budget, &bw[p][r]);
        }
        printf("  round %d: sipkit %11.0f msg/s   libosip2 %11.0f msg/s   ratio %.2fx\n",
               r + 1, rate[P_SIPKIT][r], rate[P_OSIP][r],
               rate[P_SIPKIT][r] / rate[P_OSIP][r]);
    }

    double med_rate[P__COUNT], med_bw[P__COUNT];
    printf("\n%-10s %16s %14s\n", "parser", "msgs/s (median)", "MB/s (median)");
    for (int p = 0; p < P__COUNT; p++) {
        med_rate[p] = median(rate[p], rounds);
        med_bw[p] = median(bw[p], rounds);
        printf("%-10s %16.0f %14.1f\n", parser_name[p], med_rate[p], med_bw[p]);
    }
    printf("(MB = 10^6 bytes of SIP message text)\n\n");

    run_allocs_helper(dir);
    printf("ratio sipkit/libosip2: %.1fx (goal >= 3x), 1 core, median of %d rounds\n",
           med_rate[P_SIPKIT] / med_rate[P_OSIP], rounds);

    sip_msg_release(&msg);
    corpus_free(&c);
    return 0;
}
