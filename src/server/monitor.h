/* sipkit serve's monitoring endpoints over the embedded HTTP server: /metrics
 * (Prometheus), /health, /health/live, /health/ready, /api/stats, /api/registrations,
 * /api/calls. */
#ifndef SK_SERVER_MONITOR_H
#define SK_SERVER_MONITOR_H

#include "base/buf.h"
#include "server/http.h"
#include "server/server.h"

struct sk_monitor;

/* Serves the endpoints of s on cfg->addr (its port written back) until sk_monitor_stop,
 * which must come before sk_server_free. */
int sk_monitor_start(struct sk_monitor **mp, struct sk_server *s,
                     struct sk_http_config *cfg);
void sk_monitor_stop(struct sk_monitor *m);

/* The Prometheus text exposition of s (what /metrics answers). */
void sk_monitor_metrics(struct sk_server *s, struct sk_buf *out);

#endif
