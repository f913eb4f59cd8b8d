/* The embedded HTTP server of sipkit serve (libmicrohttpd on its own thread): GET only,
 * bounded. */
#ifndef SK_SERVER_HTTP_H
#define SK_SERVER_HTTP_H

#include <stdint.h>

#include "base/buf.h"
#include "net/addr.h"

struct sk_http_config {
    struct sk_sa addr;         /* where to listen (port 0: any free one, written back) */
    unsigned max_conns;        /* connections at once, 64 */
    unsigned max_conns_per_ip; /* from one address, 16 */
    unsigned timeout_s;        /* an idle or slow connection is closed after this, 10 */
    size_t max_request;        /* bytes of request line and headers, 8192 */
};

extern const struct sk_http_config sk_http_config_default;

/* What a handler answers: a status, a content type and the body in out. */
struct sk_http_reply {
    int status;
    const char *content_type;
    struct sk_buf body;
};

/* Called on the HTTP thread for each GET with its path (no query string). */
typedef void (*sk_http_fn)(void *arg, const char *path, struct sk_http_reply *r);

struct sk_http;

/* "ADDR:PORT" or "[V6]:PORT" into addr. EINVAL when it is neither. */
int sk_http_parse_addr(const char *s, struct sk_sa *addr);
/* Listens and serves on a thread of its own until sk_http_stop. cfg->addr gets the
 * bound port. */
int sk_http_start(struct sk_http **hp, struct sk_http_config *cfg, sk_http_fn fn,
                  void *arg);
void sk_http_stop(struct sk_http *h);

#endif
