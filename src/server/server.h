/* sipkit serve: the server context (workers, transports, transactions) and its request handling. */
#ifndef SK_SERVER_H
#define SK_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/tls.h"
#include "server/protect.h"
#include "server/registrar.h"
#include "sip/transport.h"
#include "sip/tu.h"
#include "sip/txn.h"

#define SK_SERVER_MAX_LISTEN 16
#define SK_SERVER_MAX_DOMAINS 32

enum sk_mode {
    SK_MODE_PROXY,    /* stateful forking proxy (§16), the default */
    SK_MODE_REDIRECT, /* redirect server (§8.3): 302 with the bindings */
};

struct sk_proxy_config {
    enum sk_mode mode;
    uint32_t timer_c_ms;   /* Timer C, > 3 min (§16.6 step 11): 185000 */
    bool auth;             /* 407 for requests from our users and to other domains (on) */
    bool accept_foreign;   /* requests from other domains to our users (on) */
    bool record_route;     /* stay in the path of dialogs (on) */
    char dns[256];         /* DNS servers "ADDR[:PORT],...", "" = /etc/resolv.conf */
};

extern const struct sk_proxy_config sk_proxy_config_default;

/* TLS (RFC 3261 §26.2, RFC 5922): the certificate of tls: listeners, and how peers'
 * certificates are checked. */
struct sk_server_tls {
    char cert[1024]; /* PEM chain; "" = the zero-config self-signed one in data_dir */
    char key[1024];  /* PEM key; "" = in cert */
    char ca[1024];   /* trust anchors (PEM file); "" = the system's */
    enum sk_tls_verify verify_client; /* certificates of clients: off (default) */
    bool verify_server; /* next hops' certificates against their domain (on) */
    bool require_cert;  /* refuse to start without a real certificate (off) */
};

struct sk_server_config {
    struct sip_listen listen[SK_SERVER_MAX_LISTEN];
    unsigned nlisten;
    unsigned workers;                     /* 0 = one per core */
    char domains[SK_SERVER_MAX_DOMAINS][256]; /* served domains (besides our addresses) */
    unsigned ndomains;
    struct sip_txn_config txn;
    struct sip_tpm_config tp;
    struct sk_server_tls tls;
    /* --ws-origin: Origin values a WebSocket client may send (RFC 6455 §10.2);
     * none = any. tp.ws_origins points into these. */
    char ws_origins[8][256];
    const char *ws_origin_list[9];
    unsigned nws_origins;
    struct sk_registrar_config reg;
    struct sk_proxy_config proxy;
    char data_dir[1024];                  /* users and bindings; "" = memory only */
    char store[1024];                     /* store URL (sk_store_open_url); "" = SQLite in data_dir */
    uint32_t flush_ms;                    /* write-behind interval, 1000 */
    size_t heap_keep;                     /* bytes of free heap periodic trims leave (prefault) */
    bool sched_batch;                     /* workers run SCHED_BATCH (see server.c), on */
    struct sk_protect_config protect;     /* flood, scanner, brute-force defence (protect.h) */
    char audit_log[1024];                 /* JSON lines; "" = data_dir/audit.log, "off" */
};

/* Defaults: UDP and TCP on 127.0.0.1:5060, domain "localhost" and the host name. */
void sk_server_config_defaults(struct sk_server_config *cfg);

struct sk_server_stats {
    struct sip_txl_stats txn;
    struct sip_tpm_stats tp;
    uint64_t requests, responses_sent, malformed_requests, malformed_responses_dropped,
        stray_responses_dropped, proxied, stateless_forwarded, loops_detected,
        stateless_challenges; /* 401s to REGISTERs (the registrar keeps no transaction) */
    uint64_t txns_live, timers_live; /* transactions and timers alive now */
    uint64_t protect_dropped, protect_blocks, protect_overload, protect_users_slowed;
};

struct sk_server;

int sk_server_new(struct sk_server **sp, const struct sk_server_config *cfg);
/* Starts the workers and returns; the bound addresses are in the config copy. */
int sk_server_start(struct sk_server *s);
/* Stops and joins the workers (thread-safe, not async-signal-safe). */
void sk_server_stop(struct sk_server *s);
void sk_server_free(struct sk_server *s);
void sk_server_stats(struct sk_server *s, struct sk_server_stats *out);
/* The counters as one list of (name, value), in the order `sipkit ctl stats` prints
 * them, so the control socket and the log name them alike: every counter of st
 * plus the location service's bindings and REGISTER retransmissions. Returns how
 * many were written (at most max). */
struct sk_server_stat {
    const char *name;
    uint64_t value;
};
#define SK_SERVER_STATS_MAX 32
size_t sk_server_stats_list(struct sk_server *s, const struct sk_server_stats *st,
                            struct sk_server_stat *out, size_t max);
struct sk_loc *sk_server_location(struct sk_server *s);
/* The protection guard (block list, counters), or NULL when protection is off. */
struct sk_protect *sk_server_protect(struct sk_server *s);
/* The audit log (audit.h), or NULL. */
struct sk_audit *sk_server_audit(struct sk_server *s);
/* The chain every request, stray ACK and response goes down (sip/tu.h): sanity,
 * cancel, options, registrar, proxy, default (see server.c). */
const struct sip_tu *sk_server_handlers(const struct sk_server *s);
/* Add a handler before the one named before (NULL: at the end, after default,
 * where it only sees what default does not take: ACKs, responses). Only before
 * sk_server_start (EBUSY after). */
int sk_server_handler_add(struct sk_server *s, const struct sip_tu_handler *h,
                          const char *before);
const struct sk_server_config *sk_server_config(const struct sk_server *s);

#endif
