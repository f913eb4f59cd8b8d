/* The embedded HTTP server: libmicrohttpd's internal thread, GET only, limits on
 * connections, request size and time; the handler (monitor.c) writes the answers. */
#include "server/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "base/log.h"

const struct sk_http_config sk_http_config_default = {
    .max_conns = 64,
    .max_conns_per_ip = 16,
    .timeout_s = 10,
    .max_request = 8192,
};

struct sk_http {
    struct MHD_Daemon *d;
    sk_http_fn fn;
    void *arg;
};

int sk_http_parse_addr(const char *s, struct sk_sa *addr)
{
    const char *colon, *host = s;
    size_t hlen;
    unsigned long port;
    char *end;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return EINVAL;
        host = s + 1;
        hlen = (size_t) (rb - host);
        colon = rb + 1;
    } else {
        if (!(colon = strrchr(s, ':'))) return EINVAL;
        hlen = (size_t) (colon - s);
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || colon[1] == '\0' || *end != '\0' || port > 65535) return EINVAL;
    return sk_sa_from_ip(addr, (struct sk_str){host, hlen}, (uint16_t) port) ? EINVAL : 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *type,
                             const char *body, size_t len, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    rc = MHD_queue_response(conn, (unsigned) status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    static int seen; /* the marker of a request whose headers were taken */
    struct sk_http *h = cls;
    struct sk_http_reply r;
    enum MHD_Result rc;

    (void) version;
    (void) upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        /* refused before any body is read; the connection is closed after it */
        static const char msg[] = "method not allowed\n";
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg,
                     sizeof(msg) - 1, "GET");
    }
    if (!*con_cls) {
        *con_cls = &seen; /* the headers: answer once the request is complete */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a GET with a body: the body is ignored */
        return MHD_YES;
    }
    r.status = 404;
    r.content_type = "text/plain";
    sk_buf_init(&r.body);
    h->fn(h->arg, url, &r);
    if (r.body.failed) {
        static const char msg[] = "out of memory\n";
        rc = reply(conn, 500, "text/plain", msg, sizeof(msg) - 1, NULL);
    } else {
        rc = reply(conn, r.status, r.content_type, r.body.p ? r.body.p : "", r.body.len,
                   NULL);
    }
    sk_buf_free(&r.body);
    return rc;
}

/* libmicrohttpd's messages (bad requests, limits reached) at debug level. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *arg, const char *fmt,
                                                          va_list ap)
{
    char line[256];

    (void) arg;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    SK_DEBUG("http: %s", line);
}

int sk_http_start(struct sk_http **hp, struct sk_http_config *cfg, sk_http_fn fn,
                  void *arg)
{
    struct sk_http *h = calloc(1, sizeof(*h));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    if (!h) return ENOMEM;
    h->fn = fn;
    h->arg = arg;
    if (cfg->addr.u.sa.sa_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL;
    else
        flags |= MHD_USE_POLL;
    h->d = MHD_start_daemon(
        flags, sk_sa_port(&cfg->addr), NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        &cfg->addr.u.sa, MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->max_request, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!h->d) {
        int err = errno ? errno : EADDRINUSE;
        free(h);
        return err;
    }
    if ((info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT)) && info->port)
        sk_sa_set_port(&cfg->addr, info->port);
    *hp = h;
    return 0;
}

void sk_http_stop(struct sk_http *h)
{
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}
