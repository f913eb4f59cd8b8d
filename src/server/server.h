/* sipkit serve: the server context (workers, transports, transactions) and its request handling. */
#ifndef SK_SERVER_H
#define SK_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/registrar.h"
#include "sip/transport.h"
#include "sip/txn.h"

#define SK_SERVER_MAX_LISTEN 16
#define SK_SERVER_MAX_DOMAINS 32

struct sk_server_config {
    struct sip_listen listen[SK_SERVER_MAX_LISTEN];
    unsigned nlisten;
    unsigned workers;                     /* 0 = one per core */
    char domains[SK_SERVER_MAX_DOMAINS][256]; /* served domains (besides our addresses) */
    unsigned ndomains;
    struct sip_txn_config txn;
    struct sip_tpm_config tp;
    struct sk_registrar_config reg;
    char data_dir[1024];                  /* users and bindings; "" = memory only */
    uint32_t flush_ms;                    /* write-behind interval, 200 */
};

/* Defaults: UDP and TCP on 127.0.0.1:5060, domain "localhost" and the host name. */
void sk_server_config_defaults(struct sk_server_config *cfg);

struct sk_server_stats {
    struct sip_txl_stats txn;
    struct sip_tpm_stats tp;
    uint64_t requests, responses_sent, malformed_requests, malformed_responses_dropped,
        stray_responses_dropped;
};

struct sk_server;

int sk_server_new(struct sk_server **sp, const struct sk_server_config *cfg);
/* Starts the workers and returns; the bound addresses are in the config copy. */
int sk_server_start(struct sk_server *s);
/* Stops and joins the workers (thread-safe, not async-signal-safe). */
void sk_server_stop(struct sk_server *s);
void sk_server_free(struct sk_server *s);
void sk_server_stats(struct sk_server *s, struct sk_server_stats *out);
struct sk_loc *sk_server_location(struct sk_server *s);
const struct sk_server_config *sk_server_config(const struct sk_server *s);

#endif
