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
#include "server/monitor.h"
#include "sip/auth.h"
#include "sip/limits.h"
#include "server/server.h"
#include "store/store.h"

/* The help; every default it names is read from the defaults the server starts
 * with (sk_server_config_defaults), so the two cannot disagree. */
static void serve_usage(FILE *f)
{
    struct sk_server_config d;

    sk_server_config_defaults(&d);
    fprintf(f,
            "usage: sipkit serve [options]\n"
            "  --listen PROTO:ADDR:PORT  listen address, repeatable (udp:127.0.0.1:5060,\n"
            "                            tcp:[::1]:5060, tls:127.0.0.1:5061, ws:127.0.0.1:8088,\n"
            "                            wss:127.0.0.1:8089);\n"
            "                            default udp and tcp on 127.0.0.1:5060\n"
            "  --ws-origin ORIGIN        an Origin WebSocket clients may come from, repeatable\n"
            "                            (https://phone.example.com); default: any\n"
            "  --domain NAME             a domain this server is responsible for, repeatable\n"
            "                            (default: localhost and the host name)\n"
            "  --workers N               worker threads (default: one per core)\n"
            "  --t1 MS --t2 MS --t4 MS   RFC 3261 timers (default %lu, %lu, %lu)\n"
            "  --udp-batch N             datagrams read per recvmmsg call, 1..%u (%lu)\n"
            "  --udp-send-batch on|off   send the responses to a batch with one sendmmsg (%s)\n"
            "  --udp-wait direct|epoll   a worker with only a UDP socket blocks in its receive call,\n"
            "                            not in epoll_wait (%s)\n"
            "  --sched batch|normal      workers' scheduling policy: SCHED_BATCH does not preempt\n"
            "                            the task on the worker's core at each datagram (%s)\n"
            "  --tcp-idle S              close TCP connections idle S seconds (%lu)\n"
            "  --tcp-max-conns N         TCP connections in all (%lu)\n"
            "  --tcp-max-conns-per-ip N  TCP connections from one address (%lu)\n",
            (unsigned long) d.txn.t1_ms, (unsigned long) d.txn.t2_ms, (unsigned long) d.txn.t4_ms,
            SIP_UDP_BATCH_MAX, (unsigned long) d.tp.udp_batch, d.tp.udp_send_batch ? "on" : "off",
            d.tp.udp_direct ? "direct" : "epoll", d.sched_batch ? "batch" : "normal",
            (unsigned long) (d.tp.tcp_idle_ms / 1000u), (unsigned long) d.tp.tcp_max_conns,
            (unsigned long) d.tp.tcp_max_conns_per_ip);
    fprintf(f,
            "  --data DIR                users, bindings and the control socket (./%s)\n"
            "  --store URL               where users and bindings are kept: sqlite:PATH, the\n"
            "                            SQLite database PATH (default: DIR/" SK_STORE_DB_NAME ")\n"
            "  --auth on|off             require digest authentication to register (%s)\n"
            "  --default-expires S       registration expiry when none is asked (%lu)\n"
            "  --min-expires S           shorter ones get 423 Interval Too Brief (%lu)\n"
            "  --max-expires S           longer ones are shortened to this (%lu)\n"
            "  --digest ALGS             challenges offered, in order: sha-256,md5 (default),\n"
            "                            md5,sha-256, md5 or sha-256\n"
            "  --nonce-lifetime S        a nonce older than this is stale (%lu)\n"
            "  --auth-fail-limit N       wrong credentials from one address before it is\n"
            "  --auth-fail-window S      blocked (%lu within %lu s), for\n"
            "  --auth-block-time S       this long (%lu s): 403 without a challenge\n",
            d.data_dir, d.reg.auth ? "on" : "off", (unsigned long) d.reg.default_expires,
            (unsigned long) d.reg.min_expires, (unsigned long) d.reg.max_expires,
            (unsigned long) d.reg.nonce_lifetime, (unsigned long) d.reg.fail_limit,
            (unsigned long) d.reg.fail_window, (unsigned long) d.reg.block_time);
    fprintf(f,
            "  --mode proxy|redirect     forward requests for our users to their bindings\n"
            "                            (stateful forking proxy, default) or answer 302\n"
            "  --proxy-auth on|off       407 for calls from our users and to other domains\n"
            "                            (default: as --auth)\n"
            "  --accept-foreign on|off   calls from other domains to our users (%s)\n"
            "  --record-route on|off     stay in the path of dialogs (%s)\n"
            "  --timer-c MS              cancel a branch still ringing after MS; RFC 3261\n"
            "                            wants > 180000 (%lu)\n"
            "  --dns SERVER[:PORT]       DNS server(s) for other domains (RFC 3263 NAPTR,\n"
            "                            SRV, A/AAAA), comma-separated (/etc/resolv.conf)\n"
            "  --tls-cert FILE           PEM certificate chain of tls: listeners (default: a\n"
            "                            self-signed one made in DIR, fingerprint in the log)\n"
            "  --tls-key FILE            its PEM private key (default: in --tls-cert)\n"
            "  --tls-ca FILE             PEM trust anchors for peers' certificates (system's)\n"
            "  --tls-verify-client M     off, optional or on: ask clients for certificates (off)\n"
            "  --tls-verify-server on|off  check next hops' certificates against their\n"
            "                            domain, RFC 5922 (on)\n"
            "  --tls-require-cert on|off refuse to start without --tls-cert (off)\n"
            "  --tls-handshake-timeout S close a TLS connection not through its handshake\n"
            "                            in S seconds (%lu)\n"
            "  --flush-ms MS             write registrations to disk within MS (%lu)\n"
            "  --prefault MIB            touch MIB of heap at start and keep it, so that\n"
            "                            the first load pays no page faults (0)\n"
            "  --http ADDR:PORT          serve /metrics (Prometheus), /health and /api/* over\n"
            "                            HTTP there, e.g. 127.0.0.1:8080 (off unless given)\n"
            "  --log-level LEVEL         error, warn, info (default) or debug\n"
            "  --config FILE             read 'key = value' lines first (same keys as the\n"
            "                            flags without '--'); flags given later override\n",
            d.proxy.accept_foreign ? "on" : "off", d.proxy.record_route ? "on" : "off",
            (unsigned long) d.proxy.timer_c_ms,
            (unsigned long) (d.tp.tls_handshake_ms / 1000u), (unsigned long) d.flush_ms);
    fprintf(f,
            "Protection (README \"Protection\"):\n"
            "  --protect on|off          rate limits, scanner and brute-force defence (%s)\n"
            "  --trust CIDR[,CIDR]       exempt sources, e.g. trunks and peers; the first\n"
            "                            --trust replaces the default 127.0.0.0/8,::1 (loopback\n"
            "                            cannot come from outside); 'none': nobody\n"
            "  --allow CIDR[,CIDR]       serve only these (and trusted) sources\n"
            "  --deny CIDR[,CIDR]        never serve these\n"
            "  --rate-register N[:B]     REGISTERs per second per source, burst B (%lu:%lu)\n"
            "  --rate-invite N[:B]       INVITEs (%lu:%lu)\n"
            "  --rate-other N[:B]        other requests (%lu:%lu)\n"
            "  --rate-4xx N[:B]          4xx answers we send one source (%lu:%lu); 0: no limit\n"
            "  --block-time S            a scanner, flooder or failed-login source gets\n"
            "                            nothing back for S seconds (%lu)\n"
            "  --flood-action drop|503   past a budget: drop silently, or 503 + Retry-After\n"
            "                            (%s)\n"
            "  --overload-txns N         new INVITEs get 503 while N transactions are alive\n"
            "                            (%lu; 0: off)\n"
            "  --audit-log FILE|off      JSON lines: registrations, failed logins, blocks\n"
            "                            (DIR/audit.log, rotated at 10 MiB, 3 kept)\n",
            d.protect.enabled ? "on" : "off", (unsigned long) d.protect.rate[SK_PROT_REGISTER],
            (unsigned long) d.protect.burst[SK_PROT_REGISTER],
            (unsigned long) d.protect.rate[SK_PROT_INVITE],
            (unsigned long) d.protect.burst[SK_PROT_INVITE],
            (unsigned long) d.protect.rate[SK_PROT_OTHER],
            (unsigned long) d.protect.burst[SK_PROT_OTHER],
            (unsigned long) d.protect.rate[SK_PROT_4XX], (unsigned long) d.protect.burst[SK_PROT_4XX],
            (unsigned long) d.protect.block_time, d.protect.flood_503 ? "503" : "drop",
            (unsigned long) d.protect.overload_txns);
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
    bool listen_given, domain_given, proxy_auth_given, trust_given;
    bool http; /* --http given: the monitoring endpoints (server/monitor.h) */
    struct sk_http_config http_cfg;
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

/* A whole number in min..max. */
static int parse_range(const char *val, unsigned long min, unsigned long max, unsigned long *v)
{
    return parse_uint(val, max, v) || *v < min ? EINVAL : 0;
}

/* ---- One function per option (or family of options), by name in serve_options ---- */

static int opt_listen(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_config *c = &o->cfg;

    (void) key;
    if (!o->listen_given) { /* the first --listen replaces the default ones */
        c->nlisten = 0;
        o->listen_given = true;
    }
    if (c->nlisten == SK_SERVER_MAX_LISTEN || sip_listen_parse(val, &c->listen[c->nlisten]))
        return EINVAL;
    c->nlisten++;
    return 0;
}

static int opt_domain(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_config *c = &o->cfg;

    (void) key;
    if (!o->domain_given) {
        c->ndomains = 0;
        o->domain_given = true;
    }
    if (c->ndomains == SK_SERVER_MAX_DOMAINS || strlen(val) >= sizeof(c->domains[0]))
        return EINVAL;
    snprintf(c->domains[c->ndomains++], sizeof(c->domains[0]), "%s", val);
    return 0;
}

static int opt_workers(struct serve_opts *o, const char *key, const char *val)
{
    unsigned long v;

    (void) key;
    if (parse_range(val, 1, 256, &v))
        return EINVAL;
    o->cfg.workers = (unsigned) v;
    return 0;
}

/* t1, t2, t4 */
static int opt_timer(struct serve_opts *o, const char *key, const char *val)
{
    struct sip_txn_config *t = &o->cfg.txn;
    unsigned long v;

    if (parse_range(val, 1, 600000, &v))
        return EINVAL;
    *(key[1] == '1' ? &t->t1_ms : key[1] == '2' ? &t->t2_ms : &t->t4_ms) = (uint32_t) v;
    return 0;
}

static int opt_udp_batch(struct serve_opts *o, const char *key, const char *val)
{
    unsigned long v;

    (void) key;
    if (parse_range(val, 1, SIP_UDP_BATCH_MAX, &v))
        return EINVAL;
    o->cfg.tp.udp_batch = (unsigned) v;
    return 0;
}

/* The on/off and either/or switches: the word for true and for false, and where. */
static int opt_switch(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_config *c = &o->cfg;

    if (strcmp(key, "udp-send-batch") == 0)
        return parse_either(val, "on", "off", &c->tp.udp_send_batch);
    if (strcmp(key, "udp-wait") == 0)
        return parse_either(val, "direct", "epoll", &c->tp.udp_direct);
    if (strcmp(key, "sched") == 0)
        return parse_either(val, "batch", "normal", &c->sched_batch);
    if (strcmp(key, "auth") == 0)
        return parse_onoff(val, &c->reg.auth);
    if (strcmp(key, "proxy-auth") == 0) {
        if (parse_onoff(val, &c->proxy.auth))
            return EINVAL;
        o->proxy_auth_given = true; /* else it follows --auth */
        return 0;
    }
    if (strcmp(key, "accept-foreign") == 0)
        return parse_onoff(val, &c->proxy.accept_foreign);
    return parse_onoff(val, &c->proxy.record_route); /* record-route */
}

/* tcp-idle, tcp-max-conns, tcp-max-conns-per-ip */
static int opt_tcp(struct serve_opts *o, const char *key, const char *val)
{
    struct sip_tpm_config *tp = &o->cfg.tp;
    bool idle = strcmp(key, "tcp-idle") == 0;
    unsigned long v;

    if (parse_range(val, 1, idle ? 86400 : 1000000, &v))
        return EINVAL;
    if (idle)
        tp->tcp_idle_ms = (uint32_t) v * 1000u;
    else if (strcmp(key, "tcp-max-conns") == 0)
        tp->tcp_max_conns = v;
    else
        tp->tcp_max_conns_per_ip = v;
    return 0;
}

/* data, store: a path or URL that must fit its buffer */
static int opt_path(struct serve_opts *o, const char *key, const char *val)
{
    char *dst = strcmp(key, "data") == 0    ? o->cfg.data_dir
                : strcmp(key, "store") == 0 ? o->cfg.store
                                            : o->cfg.audit_log;

    /* data_dir, store and audit_log are the same size */
    if (strlen(val) >= sizeof(o->cfg.data_dir))
        return EINVAL;
    snprintf(dst, sizeof(o->cfg.data_dir), "%s", val);
    return 0;
}

/* default-expires, min-expires, max-expires */
static int opt_expires(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_registrar_config *r = &o->cfg.reg;
    unsigned long v;

    if (parse_uint(val, UINT32_MAX, &v))
        return EINVAL;
    *(key[1] == 'e' ? &r->default_expires : key[1] == 'i' ? &r->min_expires : &r->max_expires) =
        (uint32_t) v;
    return 0;
}

/* "sha-256,md5" (default), "md5,sha-256", "md5" or "sha-256" */
static int opt_digest(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_registrar_config *r = &o->cfg.reg;
    char list[64], *save = NULL, *tok;
    unsigned n = 0;

    (void) key;
    if (strlen(val) >= sizeof(list))
        return EINVAL;
    snprintf(list, sizeof(list), "%s", val);
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum sip_digest_alg alg;
        if (n == 2 || sip_digest_alg_parse(sk_str_cstr(tok), &alg))
            return EINVAL;
        for (unsigned i = 0; i < n; i++) {
            if (r->algs[i] == alg)
                return EINVAL;
        }
        r->algs[n++] = alg;
    }
    if (n == 0)
        return EINVAL;
    r->nalgs = n;
    return 0;
}

/* nonce-lifetime, auth-fail-limit, auth-fail-window, auth-block-time */
static int opt_auth_limit(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_registrar_config *r = &o->cfg.reg;
    unsigned long v;

    if (parse_range(val, 1, 86400, &v))
        return EINVAL;
    if (strcmp(key, "nonce-lifetime") == 0)
        r->nonce_lifetime = (uint32_t) v;
    else if (strcmp(key, "auth-fail-limit") == 0)
        r->fail_limit = (uint32_t) v;
    else if (strcmp(key, "auth-fail-window") == 0)
        r->fail_window = (uint32_t) v;
    else
        r->block_time = (uint32_t) v;
    return 0;
}

/* protect, trust, allow, deny, rate-register, rate-invite, rate-other, rate-4xx,
 * block-time, flood-action, overload-txns (server/protect.h) */
static int opt_protect(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_protect_config *p = &o->cfg.protect;
    static const char *const rates[] = {"rate-register", "rate-invite", "rate-other",
                                        "rate-4xx"};
    unsigned long v;

    if (strcmp(key, "protect") == 0) return parse_onoff(val, &p->enabled);
    if (strcmp(key, "flood-action") == 0) return parse_either(val, "503", "drop", &p->flood_503);
    if (strcmp(key, "trust") == 0) {
        /* the first --trust replaces the default (loopback), later ones add */
        if (!o->trust_given) p->trust.n = 0;
        o->trust_given = true;
        return sk_cidr_list_parse(&p->trust, val);
    }
    if (strcmp(key, "allow") == 0) return sk_cidr_list_parse(&p->allow, val);
    if (strcmp(key, "deny") == 0) return sk_cidr_list_parse(&p->deny, val);
    if (strcmp(key, "block-time") == 0) {
        if (parse_range(val, 1, 30 * 86400, &v)) return EINVAL;
        p->block_time = (uint32_t) v;
        return 0;
    }
    if (strcmp(key, "overload-txns") == 0) {
        if (parse_uint(val, 100000000, &v)) return EINVAL;
        p->overload_txns = (uint32_t) v;
        return 0;
    }
    for (unsigned i = 0; i < SK_PROT_NCLASS; i++) {
        char num[32], *colon;
        unsigned long burst;
        if (strcmp(key, rates[i]) != 0) continue;
        /* N or N:BURST per second per source; the burst defaults to 5 s of N */
        if (strlen(val) >= sizeof(num)) return EINVAL;
        snprintf(num, sizeof(num), "%s", val);
        colon = strchr(num, ':');
        if (colon) *colon = '\0';
        if (parse_uint(num, 1000000, &v)) return EINVAL;
        burst = v * 5;
        if (colon && parse_range(colon + 1, 1, 5000000, &burst)) return EINVAL;
        p->rate[i] = (uint32_t) v;
        p->burst[i] = (uint32_t) (burst ? burst : 1);
        return 0;
    }
    return EINVAL;
}

static int opt_mode(struct serve_opts *o, const char *key, const char *val)
{
    (void) key;
    if (strcmp(val, "proxy") == 0)
        o->cfg.proxy.mode = SK_MODE_PROXY;
    else if (strcmp(val, "redirect") == 0)
        o->cfg.proxy.mode = SK_MODE_REDIRECT;
    else
        return EINVAL;
    return 0;
}

static int opt_timer_c(struct serve_opts *o, const char *key, const char *val)
{
    unsigned long v;

    (void) key;
    /* RFC 3261 §16.6 step 11 wants more than 3 minutes; shorter is allowed
     * (tests, impatient deployments) with a warning */
    if (parse_range(val, 1000, 3600000, &v))
        return EINVAL;
    if (v <= 180000)
        SK_WARN("timer-c %lu ms is not above 3 minutes (RFC 3261 §16.6 step 11)", v);
    o->cfg.proxy.timer_c_ms = (uint32_t) v;
    return 0;
}

static int opt_flush_ms(struct serve_opts *o, const char *key, const char *val)
{
    unsigned long v;

    (void) key;
    if (parse_range(val, 1, 60000, &v))
        return EINVAL;
    o->cfg.flush_ms = (uint32_t) v;
    return 0;
}

static int opt_prefault(struct serve_opts *o, const char *key, const char *val)
{
    (void) key;
    return parse_uint(val, 16384, &o->prefault_mib);
}

static int opt_log_level(struct serve_opts *o, const char *key, const char *val)
{
    int l = sk_log_parse_level(val);

    (void) o;
    (void) key;
    if (l < 0)
        return EINVAL;
    sk_log_set_level((enum sk_log_level) l);
    return 0;
}

static int opt_http(struct serve_opts *o, const char *key, const char *val)
{
    (void) key;
    o->http_cfg = sk_http_config_default;
    if (sk_http_parse_addr(val, &o->http_cfg.addr))
        return EINVAL;
    o->http = true;
    return 0;
}

static int opt_dns(struct serve_opts *o, const char *key, const char *val)
{
    (void) key;
    if (!*val || strlen(val) >= sizeof(o->cfg.proxy.dns)) return EINVAL;
    snprintf(o->cfg.proxy.dns, sizeof(o->cfg.proxy.dns), "%s", val);
    return 0;
}

/* tls-cert, tls-key, tls-ca: files; tls-verify-client, tls-verify-server,
 * tls-require-cert, tls-handshake-timeout */
static int opt_tls(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_tls *t = &o->cfg.tls;
    unsigned long v;
    char *dst = NULL;

    if (strcmp(key, "tls-cert") == 0)
        dst = t->cert;
    else if (strcmp(key, "tls-key") == 0)
        dst = t->key;
    else if (strcmp(key, "tls-ca") == 0)
        dst = t->ca;
    if (dst) {
        if (!*val || strlen(val) >= sizeof(t->cert))
            return EINVAL;
        snprintf(dst, sizeof(t->cert), "%s", val);
        return 0;
    }
    if (strcmp(key, "tls-verify-client") == 0) {
        if (strcmp(val, "off") == 0)
            t->verify_client = SK_TLS_VERIFY_OFF;
        else if (strcmp(val, "optional") == 0)
            t->verify_client = SK_TLS_VERIFY_OPTIONAL;
        else if (strcmp(val, "on") == 0)
            t->verify_client = SK_TLS_VERIFY_ON;
        else
            return EINVAL;
        return 0;
    }
    if (strcmp(key, "tls-verify-server") == 0)
        return parse_onoff(val, &t->verify_server);
    if (strcmp(key, "tls-require-cert") == 0)
        return parse_onoff(val, &t->require_cert);
    if (parse_range(val, 1, 3600, &v))
        return EINVAL;
    o->cfg.tp.tls_handshake_ms = (uint32_t) v * 1000u;
    return 0;
}

static int opt_ws_origin(struct serve_opts *o, const char *key, const char *val)
{
    struct sk_server_config *c = &o->cfg;

    (void) key;
    if (!*val || c->nws_origins == 8 || strlen(val) >= sizeof(c->ws_origins[0]))
        return EINVAL;
    snprintf(c->ws_origins[c->nws_origins++], sizeof(c->ws_origins[0]), "%s", val);
    return 0;
}

static const struct serve_option {
    const char *key;
    int (*apply)(struct serve_opts *o, const char *key, const char *val);
} serve_options[] = {
    {"listen", opt_listen},
    {"domain", opt_domain},
    {"workers", opt_workers},
    {"t1", opt_timer},
    {"t2", opt_timer},
    {"t4", opt_timer},
    {"udp-batch", opt_udp_batch},
    {"udp-send-batch", opt_switch},
    {"udp-wait", opt_switch},
    {"sched", opt_switch},
    {"tcp-idle", opt_tcp},
    {"tcp-max-conns", opt_tcp},
    {"tcp-max-conns-per-ip", opt_tcp},
    {"data", opt_path},
    {"store", opt_path},
    {"auth", opt_switch},
    {"default-expires", opt_expires},
    {"min-expires", opt_expires},
    {"max-expires", opt_expires},
    {"digest", opt_digest},
    {"nonce-lifetime", opt_auth_limit},
    {"auth-fail-limit", opt_auth_limit},
    {"auth-fail-window", opt_auth_limit},
    {"auth-block-time", opt_auth_limit},
    {"protect", opt_protect},
    {"trust", opt_protect},
    {"allow", opt_protect},
    {"deny", opt_protect},
    {"rate-register", opt_protect},
    {"rate-invite", opt_protect},
    {"rate-other", opt_protect},
    {"rate-4xx", opt_protect},
    {"block-time", opt_protect},
    {"flood-action", opt_protect},
    {"overload-txns", opt_protect},
    {"audit-log", opt_path},
    {"mode", opt_mode},
    {"timer-c", opt_timer_c},
    {"proxy-auth", opt_switch},
    {"accept-foreign", opt_switch},
    {"record-route", opt_switch},
    {"dns", opt_dns},
    {"ws-origin", opt_ws_origin},
    {"tls-cert", opt_tls},
    {"tls-key", opt_tls},
    {"tls-ca", opt_tls},
    {"tls-verify-client", opt_tls},
    {"tls-verify-server", opt_tls},
    {"tls-require-cert", opt_tls},
    {"tls-handshake-timeout", opt_tls},
    {"flush-ms", opt_flush_ms},
    {"prefault", opt_prefault},
    {"log-level", opt_log_level},
    {"http", opt_http},
};

/* Apply one option by name (a flag without "--", or a config file key): EINVAL
 * for a bad value, ENOENT for an unknown name. */
static int apply(struct serve_opts *o, const char *key, const char *val)
{
    for (size_t i = 0; i < sizeof(serve_options) / sizeof(serve_options[0]); i++) {
        if (strcmp(key, serve_options[i].key) == 0)
            return serve_options[i].apply(o, key, val) ? EINVAL : 0;
    }
    return ENOENT;
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

/* The flags and config files, in order: -1 to go on, else the exit status. */
static int parse_args(struct serve_opts *o, int argc, char **argv)
{
    int err;

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
            if (read_config(o, argv[++i]))
                return 2;
            continue;
        }
        err = apply(o, a + 2, argv[i + 1]);
        if (err) {
            fprintf(stderr, "sipkit serve: %s '%s'\n",
                    err == ENOENT ? "unknown option" : "bad value for", a);
            serve_usage(stderr);
            return 2;
        }
        i++;
    }
    if (!o->proxy_auth_given)
        o->cfg.proxy.auth = o->cfg.reg.auth;
    return -1;
}

/* One malloc arena that grows in large steps: per-thread arenas grow a page at
 * a time with an mprotect each, which perf showed as the top cost of busy
 * workers. The workers' allocations are short and light on contention. */
static void setup_heap(struct serve_opts *o)
{
    size_t keep = (size_t) o->prefault_mib << 20;
    size_t pad = keep > ((size_t) 16 << 20) ? keep : (size_t) 16 << 20;
    size_t trim = 2 * pad > ((size_t) 64 << 20) ? 2 * pad : (size_t) 64 << 20;

    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, (int) (pad < INT_MAX ? pad : INT_MAX));
    mallopt(M_TRIM_THRESHOLD, (int) (trim < INT_MAX ? trim : INT_MAX));
    prefault_heap(keep);
    o->cfg.heap_keep = keep;
}

static void log_ready(struct sk_server *s, const struct serve_opts *o)
{
    for (unsigned i = 0; i < sk_server_config(s)->nlisten; i++) {
        char addr[80];
        const struct sip_listen *l = &sk_server_config(s)->listen[i];
        SK_INFO("listening on %s %s", sip_proto_name(l->proto),
                sk_sa_str(&l->addr, addr, sizeof(addr)));
    }
    if (o->cfg.protect.enabled)
        SK_INFO("protection on: %u trusted prefixes, block time %u s, flood action %s",
                o->cfg.protect.trust.n, o->cfg.protect.block_time,
                o->cfg.protect.flood_503 ? "503" : "drop");
    else
        SK_INFO("protection off");
    SK_INFO("sipkit serve ready (%u workers)",
            o->cfg.workers ? o->cfg.workers : (unsigned) sysconf(_SC_NPROCESSORS_ONLN));
}

/* The same counters, by the same names, as `sipkit ctl stats`. */
static void log_stats(struct sk_server *s)
{
    struct sk_server_stats st;
    struct sk_server_stat list[SK_SERVER_STATS_MAX];
    char line[1024];
    size_t n, off = 0;

    sk_server_stats(s, &st);
    n = sk_server_stats_list(s, &st, list, SK_SERVER_STATS_MAX);
    line[0] = '\0';
    for (size_t k = 0; k < n && off < sizeof(line); k++) {
        int w = snprintf(line + off, sizeof(line) - off, "%s%s %llu", k ? ", " : "",
                         list[k].name, (unsigned long long) list[k].value);
        if (w < 0) break;
        off += (size_t) w;
    }
    SK_INFO("%s", line);
}

int cmd_serve(int argc, char **argv)
{
    struct serve_opts o;
    struct sk_server *s;
    struct sk_ctl *ctl = NULL;
    struct sk_monitor *mon = NULL;
    sigset_t sigs;
    int sig, err;

    memset(&o, 0, sizeof(o));
    sk_server_config_defaults(&o.cfg);
    if ((err = parse_args(&o, argc, argv)) >= 0)
        return err;
    setup_heap(&o);

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
    if (o.http) {
        char addr[80];
        if ((err = sk_monitor_start(&mon, s, &o.http_cfg))) {
            SK_ERROR("sipkit serve: cannot serve HTTP on %s: %s",
                     sk_sa_str(&o.http_cfg.addr, addr, sizeof(addr)), strerror(err));
            sk_ctl_stop(ctl);
            sk_server_free(s);
            return 1;
        }
        SK_INFO("monitoring on http://%s/metrics",
                sk_sa_str(&o.http_cfg.addr, addr, sizeof(addr)));
    }
    log_ready(s, &o);
    sigwait(&sigs, &sig);
    SK_INFO("signal %d: shutting down", sig);
    sk_monitor_stop(mon);
    sk_ctl_stop(ctl);
    sk_server_stop(s);
    log_stats(s);
    sk_server_free(s);
    return 0;
}
