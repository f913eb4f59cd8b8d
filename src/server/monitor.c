/* The monitoring endpoints: Prometheus metrics, health, and JSON views of the server's
 * state. */
#include "server/monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "server/server_int.h"

struct sk_monitor {
    struct sk_server *s;
    struct sk_http *http;
};

/* ---- /metrics ---- */

static void counter(struct sk_buf *b, const char *name, const char *help, uint64_t v)
{
    sk_prom_family(b, name, "counter", help);
    sk_prom_sample(b, name, "", v);
}

static void gauge(struct sk_buf *b, const char *name, const char *help, uint64_t v)
{
    sk_prom_family(b, name, "gauge", help);
    sk_prom_sample(b, name, "", v);
}

/* The methods every scrape lists even at zero (so that rate() has a start); the
 * others once they were seen. */
static bool method_listed(unsigned m)
{
    return m == SIP_METHOD_INVITE || m == SIP_METHOD_ACK || m == SIP_METHOD_BYE ||
           m == SIP_METHOD_CANCEL || m == SIP_METHOD_REGISTER || m == SIP_METHOD_OPTIONS;
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return (uint64_t) atomic_load_explicit(v, memory_order_relaxed);
}

static void write_requests(struct sk_buf *b, struct sk_metrics *m)
{
    char labels[96];

    sk_prom_family(
        b, "sipkit_requests_total", "counter",
        "New requests handled, by method and transport (retransmissions absorbed "
        "by the transaction layer and ACKs of non-2xx finals not counted)");
    for (unsigned k = 0; k < SK_MET_METHODS; k++) {
        for (unsigned p = 0; p < SK_MET_PROTOS; p++) {
            uint64_t v = load(&m->requests[k][p]);
            if (!v && !method_listed(k)) continue;
            snprintf(labels, sizeof(labels), "method=\"%s\",transport=\"%s\"",
                     sk_met_method_name(k), sk_met_proto_name(p));
            sk_prom_sample(b, "sipkit_requests_total", labels, v);
        }
    }
}

static void write_responses(struct sk_buf *b, const char *name, const char *help,
                            atomic_uint_fast64_t (*r)[SK_MET_CLASSES])
{
    char labels[96];

    sk_prom_family(b, name, "counter", help);
    for (unsigned k = 0; k < SK_MET_METHODS; k++) {
        for (unsigned c = 0; c < SK_MET_CLASSES; c++) {
            uint64_t v = load(&r[k][c]);
            if (!v && !method_listed(k)) continue;
            snprintf(labels, sizeof(labels), "method=\"%s\",class=\"%uxx\"",
                     sk_met_method_name(k), c + 1);
            sk_prom_sample(b, name, labels, v);
        }
    }
}

static void write_calls(struct sk_buf *b, struct sk_metrics *m)
{
    char labels[48];

    gauge(b, "sipkit_calls_active",
          "Proxied calls in progress or established (INVITE seen, no "
          "BYE or failure yet)",
          sk_met_calls_active(m));
    counter(b, "sipkit_calls_started_total",
            "INVITEs without To tag forwarded by the proxy", load(&m->calls_started));
    counter(b, "sipkit_calls_answered_total", "Proxied calls answered with a 2xx",
            load(&m->calls_answered));
    counter(b, "sipkit_calls_ended_total",
            "Answered calls ended by a BYE through the proxy", load(&m->calls_ended));
    sk_prom_family(b, "sipkit_calls_failed_total", "counter",
                   "Proxied calls whose final response was not 2xx, by status code");
    for (unsigned i = 0; i < SK_MET_FAIL_CODES; i++) {
        uint64_t v = load(&m->calls_failed[i]);
        if (!v) continue;
        snprintf(labels, sizeof(labels), "code=\"%u\",class=\"%uxx\"", 300 + i,
                 (300 + i) / 100);
        sk_prom_sample(b, "sipkit_calls_failed_total", labels, v);
    }
    sk_prom_family(
        b, "sipkit_call_setup_seconds", "histogram",
        "Time from a call's INVITE to its first 18x (until=\"ringing\") and to its "
        "2xx (until=\"answer\")");
    sk_prom_hist(b, "sipkit_call_setup_seconds", "until=\"ringing\"", &m->setup_ringing);
    sk_prom_hist(b, "sipkit_call_setup_seconds", "until=\"answer\"", &m->setup_answered);
    sk_prom_family(b, "sipkit_call_duration_seconds", "histogram",
                   "Answered calls from their 2xx to their BYE");
    sk_prom_hist(b, "sipkit_call_duration_seconds", "", &m->duration);
}

static void write_lag(struct sk_buf *b, struct sk_metrics *m)
{
    char labels[32];

    sk_prom_family(
        b, "sipkit_event_loop_lag_seconds", "histogram",
        "How late each worker's periodic probe timer fired (includes the loop's "
        "10 ms timer slack)");
    for (unsigned i = 0; i < m->nlag; i++) {
        snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
        sk_prom_hist(b, "sipkit_event_loop_lag_seconds", labels, &m->lag[i].hist);
    }
    sk_prom_family(b, "sipkit_event_loop_lag_max_seconds", "gauge",
                   "The largest lag each worker's probe measured since the start");
    for (unsigned i = 0; i < m->nlag; i++) {
        snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
        sk_prom_sample_f(b, "sipkit_event_loop_lag_max_seconds", labels,
                         (double) load(&m->lag[i].max_us) / 1e6);
    }
}

static void write_sip(struct sk_buf *b, struct sk_server *s,
                      const struct sk_server_stats *st)
{
    sk_prom_family(
        b, "sipkit_messages_received_total", "counter",
        "SIP messages received, over UDP and over streams (TCP, TLS, WebSocket)");
    sk_prom_sample(b, "sipkit_messages_received_total", "transport=\"udp\"",
                   st->tp.udp_rx);
    sk_prom_sample(b, "sipkit_messages_received_total", "transport=\"stream\"",
                   st->tp.tcp_rx);
    write_requests(b, s->metrics);
    write_responses(
        b, "sipkit_responses_sent_total",
        "Responses this server made itself, by request method and status class",
        s->metrics->responses);
    write_responses(
        b, "sipkit_responses_relayed_total",
        "Responses of downstream servers the proxy sent upstream, by method and "
        "status class",
        s->metrics->forwarded);
    sk_prom_family(
        b, "sipkit_parse_errors_total", "counter",
        "Malformed messages: requests answered 4xx statelessly, responses dropped");
    sk_prom_sample(b, "sipkit_parse_errors_total", "kind=\"request\"",
                   st->malformed_requests);
    sk_prom_sample(b, "sipkit_parse_errors_total", "kind=\"response\"",
                   st->malformed_responses_dropped);
    counter(b, "sipkit_stray_responses_total",
            "Responses matching no transaction, dropped", st->stray_responses_dropped);
    sk_prom_family(b, "sipkit_transactions_created_total", "counter",
                   "Transactions created, by role");
    sk_prom_sample(b, "sipkit_transactions_created_total", "role=\"server\"",
                   st->txn.server_created);
    sk_prom_sample(b, "sipkit_transactions_created_total", "role=\"client\"",
                   st->txn.client_created);
    gauge(b, "sipkit_transactions_active", "Transactions alive now", st->txns_live);
    counter(b, "sipkit_transaction_timeouts_total",
            "Client transactions ended by Timer B or F (no final response)",
            st->txn.timeouts);
    counter(b, "sipkit_transaction_transport_errors_total",
            "Transactions ended by a transport error", st->txn.transport_errors);
    counter(b, "sipkit_retransmissions_sent_total",
            "Requests and responses sent again by their transaction's timers",
            st->txn.retransmits_sent);
    counter(b, "sipkit_retransmissions_absorbed_total",
            "Retransmitted requests the transaction layer answered or dropped itself",
            st->txn.retransmissions_absorbed);
    counter(b, "sipkit_proxied_total", "Requests forwarded statefully", st->proxied);
    counter(b, "sipkit_stateless_forwarded_total",
            "ACKs and responses forwarded statelessly", st->stateless_forwarded);
    counter(b, "sipkit_loops_detected_total", "Requests refused with 482 (loop)",
            st->loops_detected);
    gauge(b, "sipkit_timers_active", "Timers armed on the workers' loops",
          st->timers_live);
}

static void write_protect(struct sk_buf *b, struct sk_server *s);

static void write_registrar(struct sk_buf *b, struct sk_server *s)
{
    struct sk_registrar_counters rc;
    struct sk_loc_counters lc;

    sk_registrar_counters(s->reg, &rc);
    sk_loc_counters(s->loc, &lc);
    gauge(b, "sipkit_registrations_active", "Bindings (registered contacts) now",
          sk_loc_count(s->loc));
    counter(b, "sipkit_registrations_created_total", "New bindings", lc.created);
    counter(b, "sipkit_registrations_refreshed_total", "Bindings registered again",
            lc.refreshed);
    counter(b, "sipkit_registrations_removed_total",
            "Bindings removed by their user (expires 0, Contact *)", lc.removed);
    counter(b, "sipkit_registrations_expired_total", "Bindings whose time ran out",
            lc.expired);
    counter(b, "sipkit_registrations_failed_total",
            "REGISTERs answered with an error (any but 200 and the 401 asking for "
            "credentials)",
            rc.reg_failed);
    gauge(b, "sipkit_store_queue_depth",
          "Binding changes waiting to be written to the store", lc.queued);
    counter(b, "sipkit_store_writes_total", "Binding changes written to the store",
            lc.written);
    counter(b, "sipkit_store_flushes_total",
            "Write-behind batches written (one transaction each)", lc.flushes);
    sk_prom_family(
        b, "sipkit_store_flush_seconds_total", "counter",
        "Time spent writing the batches (divide its rate by the flushes' rate for "
        "the mean flush latency)");
    sk_prom_sample_f(b, "sipkit_store_flush_seconds_total", "",
                     (double) lc.flush_us / 1e6);
    sk_prom_family(b, "sipkit_store_flush_max_seconds", "gauge",
                   "The longest write-behind batch since the start");
    sk_prom_sample_f(b, "sipkit_store_flush_max_seconds", "",
                     (double) lc.flush_us_max / 1e6);
    counter(b, "sipkit_register_retransmissions_total",
            "REGISTERs recognised as retransmissions, answered again",
            sk_loc_retransmissions(s->loc));
    counter(b, "sipkit_auth_challenges_total", "Digest challenges sent (401 and 407)",
            rc.challenges);
    counter(b, "sipkit_auth_successes_total", "Requests with right credentials",
            rc.auth_ok);
    counter(
        b, "sipkit_auth_failures_total",
        "Requests with wrong credentials (password, unknown user, user not of the AOR)",
        rc.auth_failed);
    sk_prom_family(b, "sipkit_dropped_total", "counter",
                   "Requests refused or dropped by a protection rule, by rule");
    sk_prom_sample(b, "sipkit_dropped_total", "rule=\"auth_blocked\"", rc.blocked);
    for (unsigned i = 0, n = atomic_load(&s->metrics->nrules); i < n; i++) {
        char labels[SK_MET_RULE_NAME_MAX + 16];
        if (strcmp(s->metrics->rule_name[i], "auth_blocked") == 0)
            continue; /* the registrar's, above */
        snprintf(labels, sizeof(labels), "rule=\"%s\"", s->metrics->rule_name[i]);
        sk_prom_sample(b, "sipkit_dropped_total", labels,
                       load(&s->metrics->rule_hits[i]));
    }
    write_protect(b, s);
}

/* The protection's counters by rule (server/protect.h), read at scrape time: what
 * it dropped (in sipkit_dropped_total, with the rule names of `sipkit ctl blocked`)
 * and the sources it blocked. */
static void write_protect_rules(struct sk_buf *b, const char *name, const uint64_t *v)
{
    for (int r = SK_RULE_NONE + 1; r < SK_RULE_COUNT; r++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "rule=\"%s\"",
                 sk_protect_rule_name((enum sk_protect_rule) r));
        sk_prom_sample(b, name, labels, v[r]);
    }
}

static void write_protect(struct sk_buf *b, struct sk_server *s)
{
    struct sk_protect_stats ps;

    if (!s->protect)
        return;
    sk_protect_stats(s->protect, &ps);
    write_protect_rules(b, "sipkit_dropped_total", ps.dropped);
    sk_prom_family(b, "sipkit_protect_blocks_total", "counter",
                   "Sources put on the block list, by the rule that fired");
    write_protect_rules(b, "sipkit_protect_blocks_total", ps.blocks);
    counter(b, "sipkit_protect_checked_total",
            "Messages of untrusted sources checked by the protection", ps.checked);
    counter(b, "sipkit_protect_users_slowed_total",
            "Users whose logins were slowed after a brute-force attack", ps.users_slowed);
}

static void write_transport(struct sk_buf *b, struct sk_server *s,
                            const struct sk_server_stats *st)
{
    const struct sk_tp_count {
        const char *labels;
        uint64_t v;
    } acc[] = {{"transport=\"tcp\"", st->tp.tcp_accepted},
               {"transport=\"tls\"", st->tp.tls_accepted}},
      ref[] = {{"transport=\"tcp\"", st->tp.tcp_refused},
               {"transport=\"tls\"", st->tp.tls_refused}},
      closed[] = {
          {"transport=\"tcp\",reason=\"idle\"", st->tp.tcp_closed_idle},
          {"transport=\"tcp\",reason=\"overflow\"", st->tp.tcp_closed_overflow},
          {"transport=\"tcp\",reason=\"garbage\"", st->tp.tcp_closed_garbage},
          {"transport=\"tls\",reason=\"idle\"", st->tp.tls_closed_idle},
          {"transport=\"tls\",reason=\"handshake\"", st->tp.tls_closed_handshake}};

    gauge(b, "sipkit_connections_open", "TCP and TLS connections open now",
          sip_tpm_conn_count(s->tpm));
    sk_prom_family(b, "sipkit_connections_accepted_total", "counter",
                   "Stream connections accepted, by transport");
    for (size_t i = 0; i < sizeof(acc) / sizeof(acc[0]); i++)
        sk_prom_sample(b, "sipkit_connections_accepted_total", acc[i].labels, acc[i].v);
    sk_prom_family(b, "sipkit_connections_refused_total", "counter",
                   "Stream connections refused by the connection limits, by transport");
    for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++)
        sk_prom_sample(b, "sipkit_connections_refused_total", ref[i].labels, ref[i].v);
    sk_prom_family(b, "sipkit_connections_closed_total", "counter",
                   "Stream connections the server closed, by transport and reason");
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++)
        sk_prom_sample(b, "sipkit_connections_closed_total", closed[i].labels,
                       closed[i].v);
    counter(b, "sipkit_keepalive_pongs_total", "CRLF keep-alive pings answered",
            st->tp.keepalive_pongs);
    counter(b, "sipkit_send_errors_total",
            "Sends that failed after the fact (batched datagrams)", st->tp.send_errors);
}

void sk_monitor_metrics(struct sk_server *s, struct sk_buf *out)
{
    struct sk_server_stats st;

    sk_server_stats(s, &st);
    gauge(out, "sipkit_ready", "1 once the workers run and the store is open",
          atomic_load(&s->ready) ? 1 : 0);
    gauge(out, "sipkit_workers", "Worker threads", s->nw);
    write_sip(out, s, &st);
    write_registrar(out, s);
    write_calls(out, s->metrics);
    write_transport(out, s, &st);
    write_lag(out, s->metrics);
}

/* ---- JSON ---- */

static void api_stats(struct sk_server *s, struct sk_buf *out)
{
    struct sk_server_stats st;
    struct sk_server_stat list[SK_SERVER_STATS_MAX];
    struct sk_registrar_counters rc;
    struct sk_loc_counters lc;
    struct sk_json j;
    size_t n;

    sk_server_stats(s, &st);
    n = sk_server_stats_list(s, &st, list, SK_SERVER_STATS_MAX);
    sk_registrar_counters(s->reg, &rc);
    sk_loc_counters(s->loc, &lc);
    sk_json_init(&j, out);
    sk_json_obj_begin(&j);
    for (size_t i = 0; i < n; i++)
        sk_json_kint(&j, list[i].name, (int64_t) list[i].value);
    sk_json_kint(&j, "registrations_created", (int64_t) lc.created);
    sk_json_kint(&j, "registrations_refreshed", (int64_t) lc.refreshed);
    sk_json_kint(&j, "registrations_removed", (int64_t) lc.removed);
    sk_json_kint(&j, "registrations_expired", (int64_t) lc.expired);
    sk_json_kint(&j, "registrations_failed", (int64_t) rc.reg_failed);
    sk_json_kint(&j, "auth_challenges", (int64_t) rc.challenges);
    sk_json_kint(&j, "auth_successes", (int64_t) rc.auth_ok);
    sk_json_kint(&j, "auth_failures", (int64_t) rc.auth_failed);
    sk_json_kint(&j, "auth_blocked", (int64_t) rc.blocked);
    sk_json_kint(&j, "calls_active", (int64_t) sk_met_calls_active(s->metrics));
    sk_json_kint(&j, "calls_started", (int64_t) load(&s->metrics->calls_started));
    sk_json_kint(&j, "calls_answered", (int64_t) load(&s->metrics->calls_answered));
    sk_json_kint(&j, "tcp_connections", (int64_t) sip_tpm_conn_count(s->tpm));
    sk_json_kint(&j, "workers", s->nw);
    sk_json_obj_end(&j);
    sk_buf_putc(out, '\n');
}

struct reg_walk {
    struct sk_json *j;
    int64_t now;
};

static void reg_one(void *arg, const struct sk_loc_binding *bd)
{
    struct reg_walk *w = arg;
    char src[80];

    sk_json_obj_begin(w->j);
    sk_json_kcstr(w->j, "aor", bd->aor);
    sk_json_kcstr(w->j, "contact", bd->uri);
    sk_json_kint(w->j, "expires", bd->expires_at - w->now);
    sk_json_kcstr(w->j, "transport", sip_proto_name(bd->proto));
    sk_json_kcstr(w->j, "source", sk_sa_str(&bd->src, src, sizeof(src)));
    sk_json_kcstr(w->j, "user_agent",
                  bd->user_agent && *bd->user_agent ? bd->user_agent : NULL);
    sk_json_obj_end(w->j);
}

static void api_registrations(struct sk_server *s, struct sk_buf *out)
{
    struct sk_json j;
    struct reg_walk w = {&j, (int64_t) time(NULL)};

    sk_json_init(&j, out);
    sk_json_arr_begin(&j);
    sk_loc_walk(s->loc, w.now, reg_one, &w);
    sk_json_arr_end(&j);
    sk_buf_putc(out, '\n');
}

static void call_one(void *arg, const struct sk_call_info *c)
{
    struct sk_json *j = arg;

    sk_json_obj_begin(j);
    sk_json_kcstr(j, "call_id", c->call_id);
    sk_json_kcstr(j, "from", c->from);
    sk_json_kcstr(j, "to", c->to);
    sk_json_kcstr(j, "state", sk_call_state_name(c->state));
    sk_json_kdouble(j, "age", (double) c->age_ms / 1000.0, 3);
    sk_json_obj_end(j);
}

static void api_calls(struct sk_server *s, struct sk_buf *out)
{
    struct sk_json j;

    sk_json_init(&j, out);
    sk_json_arr_begin(&j);
    sk_met_calls_walk(s->metrics, call_one, &j);
    sk_json_arr_end(&j);
    sk_buf_putc(out, '\n');
}

/* ---- Routes ---- */

/* Ready: the workers run, and the store (when there is one) was opened at start. */
static bool is_ready(struct sk_server *s)
{
    return atomic_load(&s->ready) && s->loc &&
           (s->store || (!s->cfg.data_dir[0] && !s->cfg.store[0]));
}

static void route(void *arg, const char *path, struct sk_http_reply *r)
{
    struct sk_monitor *mon = arg;
    struct sk_server *s = mon->s;

    r->status = 200;
    if (strcmp(path, "/metrics") == 0) {
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        sk_monitor_metrics(s, &r->body);
    } else if (strcmp(path, "/health/live") == 0) {
        sk_buf_puts(&r->body, "live\n");
    } else if (strcmp(path, "/health/ready") == 0) {
        bool ready = is_ready(s);
        r->status = ready ? 200 : 503;
        sk_buf_puts(&r->body, ready ? "ready\n" : "not ready\n");
    } else if (strcmp(path, "/health") == 0) {
        struct sk_json j;
        bool ready = is_ready(s);
        r->status = ready ? 200 : 503;
        r->content_type = "application/json";
        sk_json_init(&j, &r->body);
        sk_json_obj_begin(&j);
        sk_json_kbool(&j, "live", true);
        sk_json_kbool(&j, "ready", ready);
        sk_json_kint(&j, "workers", s->nw);
        sk_json_kbool(&j, "store", s->store != NULL);
        sk_json_obj_end(&j);
        sk_buf_putc(&r->body, '\n');
    } else if (strcmp(path, "/api/stats") == 0) {
        r->content_type = "application/json";
        api_stats(s, &r->body);
    } else if (strcmp(path, "/api/registrations") == 0) {
        r->content_type = "application/json";
        api_registrations(s, &r->body);
    } else if (strcmp(path, "/api/calls") == 0) {
        r->content_type = "application/json";
        api_calls(s, &r->body);
    } else {
        r->status = 404;
        sk_buf_puts(&r->body, "not found\n");
    }
}

int sk_monitor_start(struct sk_monitor **mp, struct sk_server *s,
                     struct sk_http_config *cfg)
{
    struct sk_monitor *m = calloc(1, sizeof(*m));
    int err;

    if (!m) return ENOMEM;
    m->s = s;
    if ((err = sk_http_start(&m->http, cfg, route, m))) {
        free(m);
        return err;
    }
    *mp = m;
    return 0;
}

void sk_monitor_stop(struct sk_monitor *m)
{
    if (!m) return;
    sk_http_stop(m->http);
    free(m);
}
