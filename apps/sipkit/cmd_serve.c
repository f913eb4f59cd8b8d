/* sipkit serve: flags and config file, start the server, stop cleanly on SIGINT/SIGTERM. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "base/log.h"
#include "cmd.h"
#include "server/ctl.h"
#include "sip/auth.h"
#include "server/server.h"

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: sipkit serve [options]\n"
            "  --listen PROTO:ADDR:PORT  listen address, repeatable (udp:127.0.0.1:5060,\n"
            "                            tcp:[::1]:5060); default udp and tcp on 127.0.0.1:5060\n"
            "  --domain NAME             a domain this server is responsible for, repeatable\n"
            "                            (default: localhost and the host name)\n"
            "  --workers N               worker threads (default: one per core)\n"
            "  --t1 MS --t2 MS --t4 MS   RFC 3261 timers (default 500, 4000, 5000)\n"
            "  --udp-batch N             datagrams read per recvmmsg call, 1..16 (16)\n"
            "  --udp-send-batch on|off   send the responses to a batch with one sendmmsg (on)\n"
            "  --udp-wait direct|epoll   a worker with only a UDP socket blocks in its receive call,\n"
            "                            not in epoll_wait (direct)\n"
            "  --sched batch|normal      workers' scheduling policy: SCHED_BATCH does not preempt\n"
            "                            the task on the worker's core at each datagram (batch)\n"
            "  --tcp-idle S              close TCP connections idle S seconds (300)\n"
            "  --tcp-max-conns N         TCP connections in all (4096)\n"
            "  --tcp-max-conns-per-ip N  TCP connections from one address (256)\n"
            "  --data DIR                users, bindings and the control socket (./data)\n"
            "  --auth on|off             require digest authentication to register (on)\n"
            "  --default-expires S       registration expiry when none is asked (3600)\n"
            "  --min-expires S           shorter ones get 423 Interval Too Brief (60)\n"
            "  --max-expires S           longer ones are shortened to this (86400)\n"
            "  --digest ALGS             challenges offered, in order: sha-256,md5 (default),\n"
            "                            md5,sha-256, md5 or sha-256\n"
            "  --nonce-lifetime S        a nonce older than this is stale (300)\n"
            "  --auth-fail-limit N       wrong credentials from one address before it is\n"
            "  --auth-fail-window S      blocked (10 within 60 s), for\n"
            "  --auth-block-time S       this long (300 s): 403 without a challenge\n"
            "  --mode proxy|redirect     forward requests for our users to their bindings\n"
            "                            (stateful forking proxy, default) or answer 302\n"
            "  --proxy-auth on|off       407 for calls from our users and to other domains\n"
            "                            (default: as --auth)\n"
            "  --accept-foreign on|off   calls from other domains to our users (on)\n"
            "  --record-route on|off     stay in the path of dialogs (on)\n"
            "  --timer-c MS              cancel a branch still ringing after MS; RFC 3261\n"
            "                            wants > 180000 (185000)\n"
            "  --flush-ms MS             write registrations to disk within MS (1000)\n"
            "  --prefault MIB            touch MIB of heap at start and keep it, so that\n"
            "                            the first load pays no page faults (0)\n"
            "  --log-level LEVEL         error, warn, info (default) or debug\n"
            "  --config FILE             read 'key = value' lines first (same keys as the\n"
            "                            flags without '--'); flags given later override\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v > max)
        return EINVAL;
    *out = v;
    return 0;
}

/* --prefault: make the heap's first `bytes` resident now. The pieces are below
 * malloc's mmap threshold, so they come from the heap's top; freed in reverse
 * they merge back into it, and the top pad (>= bytes) keeps them when malloc
 * trims. Page faults then happen here, not under the first load (each costs
 * microseconds on a VM, ~1.5 per proxied call while the transactions grow). */
static void prefault_heap(size_t bytes)
{
    enum { PIECE = 64 << 10 };
    size_t n = bytes / PIECE;
    void **v;

    if (n == 0 || !(v = malloc(n * sizeof(*v))))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = malloc(PIECE))) {
            n = i;
            break;
        }
        memset(v[i], 0, PIECE);
    }
    while (n)
        free(v[--n]);
    free(v);
}

struct serve_opts {
    struct sk_server_config cfg;
    unsigned long prefault_mib;
    bool listen_given, domain_given, proxy_auth_given;
};

static int parse_onoff(const char *val, bool *out)
{
    if (strcmp(val, "on") == 0 || strcmp(val, "yes") == 0)
        *out = true;
    else if (strcmp(val, "off") == 0 || strcmp(val, "no") == 0)
        *out = false;
    else
        return EINVAL;
    return 0;
}

/* One of two words: yes (true) or no (false). */
static int parse_either(const char *val, const char *yes, const char *no, bool *out)
{
    if (strcmp(val, yes) == 0)
        *out = true;
    else if (strcmp(val, no) == 0)
        *out = false;
    else
        return EINVAL;
    return 0;
}

/* Apply one option by name (a flag without "--", or a config file key). */
static int apply(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_config *c = &o->cfg;
    unsigned long v;

    if (strcmp(key, "listen") == 0) {
        if (!o->listen_given) {
            c->nlisten = 0;
            o->listen_given = true;
        }
        if (c->nlisten == SK_SERVER_MAX_LISTEN || sip_listen_parse(val, &c->listen[c->nlisten]))
            return EINVAL;
        c->nlisten++;
    } else if (strcmp(key, "domain") == 0) {
        if (!o->domain_given) {
            c->ndomains = 0;
            o->domain_given = true;
        }
        if (c->ndomains == SK_SERVER_MAX_DOMAINS || strlen(val) >= sizeof(c->domains[0]))
            return EINVAL;
        snprintf(c->domains[c->ndomains++], sizeof(c->domains[0]), "%s", val);
    } else if (strcmp(key, "workers") == 0) {
        if (parse_uint(val, 256, &v) || v == 0)
            return EINVAL;
        c->workers = (unsigned) v;
    } else if (strcmp(key, "t1") == 0 || strcmp(key, "t2") == 0 || strcmp(key, "t4") == 0) {
        if (parse_uint(val, 600000, &v) || v == 0)
            return EINVAL;
        if (key[1] == '1')
            c->txn.t1_ms = (uint32_t) v;
        else if (key[1] == '2')
            c->txn.t2_ms = (uint32_t) v;
        else
            c->txn.t4_ms = (uint32_t) v;
    } else if (strcmp(key, "udp-batch") == 0) {
        if (parse_uint(val, 16, &v) || v == 0)
            return EINVAL;
        c->tp.udp_batch = (unsigned) v;
    } else if (strcmp(key, "udp-send-batch") == 0) {
        if (parse_either(val, "on", "off", &c->tp.udp_send_batch))
            return EINVAL;
    } else if (strcmp(key, "udp-wait") == 0) {
        if (parse_either(val, "direct", "epoll", &c->tp.udp_direct))
            return EINVAL;
    } else if (strcmp(key, "sched") == 0) {
        if (parse_either(val, "batch", "normal", &c->sched_batch))
            return EINVAL;
    } else if (strcmp(key, "tcp-idle") == 0) {
        if (parse_uint(val, 86400, &v) || v == 0)
            return EINVAL;
        c->tp.tcp_idle_ms = (uint32_t) v * 1000u;
    } else if (strcmp(key, "tcp-max-conns") == 0) {
        if (parse_uint(val, 1000000, &v) || v == 0)
            return EINVAL;
        c->tp.tcp_max_conns = v;
    } else if (strcmp(key, "tcp-max-conns-per-ip") == 0) {
        if (parse_uint(val, 1000000, &v) || v == 0)
            return EINVAL;
        c->tp.tcp_max_conns_per_ip = v;
    } else if (strcmp(key, "data") == 0) {
        if (strlen(val) >= sizeof(c->data_dir))
            return EINVAL;
        snprintf(c->data_dir, sizeof(c->data_dir), "%s", val);
    } else if (strcmp(key, "auth") == 0) {
        if (parse_onoff(val, &c->reg.auth))
            return EINVAL;
    } else if (strcmp(key, "default-expires") == 0 || strcmp(key, "min-expires") == 0 ||
               strcmp(key, "max-expires") == 0) {
        if (parse_uint(val, UINT32_MAX, &v))
            return EINVAL;
        if (key[1] == 'e')
            c->reg.default_expires = (uint32_t) v;
        else if (key[1] == 'i')
            c->reg.min_expires = (uint32_t) v;
        else
            c->reg.max_expires = (uint32_t) v;
    } else if (strcmp(key, "digest") == 0) {
        /* "sha-256,md5" (default), "md5,sha-256", "md5" or "sha-256" */
        char list[64], *save = NULL, *tok;
        unsigned n = 0;
        if (strlen(val) >= sizeof(list))
            return EINVAL;
        snprintf(list, sizeof(list), "%s", val);
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            enum sip_digest_alg alg;
            if (n == 2 || sip_digest_alg_parse(sk_str_cstr(tok), &alg))
                return EINVAL;
            for (unsigned i = 0; i < n; i++) {
                if (c->reg.algs[i] == alg)
                    return EINVAL;
            }
            c->reg.algs[n++] = alg;
        }
        if (n == 0)
            return EINVAL;
        c->reg.nalgs = n;
    } else if (strcmp(key, "nonce-lifetime") == 0) {
        if (parse_uint(val, 86400, &v) || v == 0)
            return EINVAL;
        c->reg.nonce_lifetime = (uint32_t) v;
    } else if (strcmp(key, "auth-fail-limit") == 0 || strcmp(key, "auth-fail-window") == 0 ||
               strcmp(key, "auth-block-time") == 0) {
        if (parse_uint(val, 86400, &v) || v == 0)
            return EINVAL;
        if (strcmp(key, "auth-fail-limit") == 0)
            c->reg.fail_limit = (uint32_t) v;
        else if (strcmp(key, "auth-fail-window") == 0)
            c->reg.fail_window = (uint32_t) v;
        else
            c->reg.block_time = (uint32_t) v;
    } else if (strcmp(key, "mode") == 0) {
        if (strcmp(val, "proxy") == 0)
            c->proxy.mode = SK_MODE_PROXY;
        else if (strcmp(val, "redirect") == 0)
            c->proxy.mode = SK_MODE_REDIRECT;
        else
            return EINVAL;
    } else if (strcmp(key, "timer-c") == 0) {
        /* RFC 3261 §16.6 step 11 wants more than 3 minutes; shorter is allowed
         * (tests, impatient deployments) with a warning */
        if (parse_uint(val, 3600000, &v) || v < 1000)
            return EINVAL;
        if (v <= 180000)
            SK_WARN("timer-c %lu ms is not above 3 minutes (RFC 3261 §16.6 step 11)", v);
        c->proxy.timer_c_ms = (uint32_t) v;
    } else if (strcmp(key, "proxy-auth") == 0) {
        if (parse_onoff(val, &c->proxy.auth))
            return EINVAL;
        o->proxy_auth_given = true;
    } else if (strcmp(key, "accept-foreign") == 0) {
        if (parse_onoff(val, &c->proxy.accept_foreign))
            return EINVAL;
    } else if (strcmp(key, "record-route") == 0) {
        if (parse_onoff(val, &c->proxy.record_route))
            return EINVAL;
    } else if (strcmp(key, "flush-ms") == 0) {
        if (parse_uint(val, 60000, &v) || v == 0)
            return EINVAL;
        c->flush_ms = (uint32_t) v;
    } else if (strcmp(key, "prefault") == 0) {
        if (parse_uint(val, 16384, &v))
            return EINVAL;
        o->prefault_mib = v;
    } else if (strcmp(key, "log-level") == 0) {
        int l = sk_log_parse_level(val);
        if (l < 0)
            return EINVAL;
        sk_log_set_level((enum sk_log_level) l);
    } else {
        return ENOENT;
    }
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int read_config(struct serve_opts *o, const char *path)
{
    char line[1024];
    unsigned n = 0;
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "sipkit serve: %s: %s\n", path, strerror(errno));
        return 1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *l = trim(line), *eq;
        n++;
        if (*l == '\0' || *l == '#')
            continue;
        eq = strchr(l, '=');
        if (!eq) {
            fprintf(stderr, "sipkit serve: %s:%u: expected 'key = value'\n", path, n);
            fclose(f);
            return 1;
        }
        *eq = '\0';
        if (apply(o, trim(l), trim(eq + 1))) {
            fprintf(stderr, "sipkit serve: %s:%u: bad setting '%s'\n", path, n, trim(l));
            fclose(f);
            return 1;
        }
    }
    fclose(f);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_opts o;
    struct sk_server *s;
    struct sk_ctl *ctl = NULL;
    struct sk_server_stats st;
    sigset_t sigs;
    int sig, err;

    memset(&o, 0, sizeof(o));
    sk_server_config_defaults(&o.cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            serve_usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "sipkit serve: bad argument '%s'\n", a);
            serve_usage(stderr);
            return 2;
        }
        if (strcmp(a, "--config") == 0) {
            if (read_config(&o, argv[++i]))
                return 2;
            continue;
        }
        err = apply(&o, a + 2, argv[i + 1]);
        if (err) {
            fprintf(stderr, "sipkit serve: %s '%s'\n",
                    err == ENOENT ? "unknown option" : "bad value for", a);
            serve_usage(stderr);
            return 2;
        }
        i++;
    }

    if (!o.proxy_auth_given)
        o.cfg.proxy.auth = o.cfg.reg.auth;

    /* One malloc arena that grows in large steps: per-thread arenas grow a page at
     * a time with an mprotect each, which perf showed as the top cost of busy
     * workers. The workers' allocations are short and light on contention. */
    mallopt(M_ARENA_MAX, 1);
    {
        size_t keep = (size_t) o.prefault_mib << 20;
        size_t pad = keep > ((size_t) 16 << 20) ? keep : (size_t) 16 << 20;
        mallopt(M_TOP_PAD, (int) (pad < INT_MAX ? pad : INT_MAX));
        size_t trim = 2 * pad > ((size_t) 64 << 20) ? 2 * pad : (size_t) 64 << 20;
        mallopt(M_TRIM_THRESHOLD, (int) (trim < INT_MAX ? trim : INT_MAX));
        prefault_heap(keep);
        o.cfg.heap_keep = keep;
    }

    /* Signals are taken synchronously by this thread; the workers never see them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((err = sk_server_new(&s, &o.cfg))) {
        SK_ERROR("sipkit serve: cannot start: %s", strerror(err));
        return 1;
    }
    if ((err = sk_server_start(s))) {
        SK_ERROR("sipkit serve: cannot start workers: %s", strerror(err));
        sk_server_free(s);
        return 1;
    }
    if (o.cfg.data_dir[0]) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", o.cfg.data_dir, SK_CTL_SOCKET);
        if ((err = sk_ctl_start(&ctl, s, path)))
            SK_WARN("no control socket at %s: %s", path, strerror(err));
    }
    for (unsigned i = 0; i < sk_server_config(s)->nlisten; i++) {
        char addr[80];
        const struct sip_listen *l = &sk_server_config(s)->listen[i];
        SK_INFO("listening on %s %s", sip_proto_name(l->proto),
                sk_sa_str(&l->addr, addr, sizeof(addr)));
    }
    SK_INFO("sipkit serve ready (%u workers)",
            o.cfg.workers ? o.cfg.workers : (unsigned) sysconf(_SC_NPROCESSORS_ONLN));
    sigwait(&sigs, &sig);
    SK_INFO("signal %d: shutting down", sig);
    sk_ctl_stop(ctl);
    sk_server_stop(s);
    sk_server_stats(s, &st);
    SK_INFO("requests %llu, responses sent %llu, malformed requests %llu, "
            "malformed responses dropped %llu, stray responses dropped %llu, "
            "retransmissions absorbed %llu, proxied %llu, forwarded statelessly %llu, "
            "loops %llu",
            (unsigned long long) st.requests, (unsigned long long) st.responses_sent,
            (unsigned long long) st.malformed_requests,
            (unsigned long long) st.malformed_responses_dropped,
            (unsigned long long) st.stray_responses_dropped,
            (unsigned long long) st.txn.retransmissions_absorbed,
            (unsigned long long) st.proxied, (unsigned long long) st.stateless_forwarded,
            (unsigned long long) st.loops_detected);
    sk_server_free(s);
    return 0;
}
