/* TLS as a stream filter: records from the socket become plaintext for the framer,
 * plaintext from above becomes records; writes made during the handshake wait for it. */
#include "net/tls_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct tls_state {
    struct sk_tls_conn *tls;
    struct sk_conn *conn;
    struct sk_buf pending; /* plaintext written before the handshake finished */
    bool server;
    bool open_logged;
};

/* Move every pending ciphertext byte to wire. */
static int drain(struct tls_state *s, struct sk_buf *wire)
{
    const void *p;
    size_t n;

    while ((p = sk_tls_conn_out_peek(s->tls, &n)) && n) {
        if (sk_buf_append(wire, p, n)) return ENOMEM;
        sk_tls_conn_out_consume(s->tls, n);
    }
    return 0;
}

static int failed(struct tls_state *s, const char *what)
{
    char peer[80];

    /* a connection we opened failing (a certificate refused) is worth a warning;
     * clients failing theirs (scanners, stale clients) are information */
    sk_log(s->server ? SK_LOG_INFO : SK_LOG_WARN, "tls %s %s: %s: %s",
           s->server ? "from" : "to", sk_sa_str(&s->conn->peer, peer, sizeof(peer)), what,
           sk_tls_conn_error(s->tls));
    return EPROTO;
}

/* Plaintext to records, as far as the engine takes it now. *done: bytes taken. */
static int put_plain(struct tls_state *s, const char *p, size_t len, size_t *done,
                     struct sk_buf *wire)
{
    *done = 0;
    while (*done < len) {
        size_t n = 0;
        enum sk_tls_status st = sk_tls_conn_write(s->tls, p + *done, len - *done, &n);
        *done += n;
        if (drain(s, wire)) return ENOMEM;
        if (st == SK_TLS_OK || st == SK_TLS_WANT_WRITE) continue;
        if (st == SK_TLS_WANT_READ) return 0; /* the handshake goes on: keep the rest */
        return failed(s, "write");
    }
    return 0;
}

static void log_open(struct tls_state *s)
{
    char peer[80];

    if (s->open_logged || sk_tls_conn_state(s->tls) != SK_TLS_OPEN) return;
    s->open_logged = true;
    SK_DEBUG("tls %s %s: %s %s%s%s", s->server ? "from" : "to",
             sk_sa_str(&s->conn->peer, peer, sizeof(peer)), sk_tls_conn_version(s->tls),
             sk_tls_conn_cipher(s->tls), sk_tls_conn_resumed(s->tls) ? ", resumed" : "",
             sk_tls_conn_peer_verified(s->tls) ? ", peer verified" : "");
}

/* Once the handshake is done, what waited for it goes out. */
static int flush_pending(struct tls_state *s, struct sk_buf *wire)
{
    size_t done;
    int err;

    if (!s->pending.len || sk_tls_conn_state(s->tls) != SK_TLS_OPEN) return 0;
    if ((err = put_plain(s, s->pending.p, s->pending.len, &done, wire))) return err;
    memmove(s->pending.p, s->pending.p + done, s->pending.len - done);
    s->pending.len -= done;
    return 0;
}

static int tf_open(void **state, void *arg, struct sk_conn *c, bool server,
                   const char *peer_name, struct sk_buf *wire)
{
    const struct sk_tls_filter_arg *a = arg;
    struct sk_tls_ctx *ctx = server ? a->server : a->client;
    char ip[64], key[160];
    struct tls_state *s;
    int err;

    if (!ctx) return EPROTONOSUPPORT;
    if (!(s = calloc(1, sizeof(*s)))) return ENOMEM;
    s->conn = c;
    s->server = server;
    sk_buf_init(&s->pending);
    if (!server) {
        /* RFC 5922 §7.3: the target's domain; without one the IP we connect to
         * (matched against iPAddress entries only) */
        sk_sa_ip(&c->peer, ip, sizeof(ip));
        if (!peer_name || !peer_name[0]) peer_name = ip;
        snprintf(key, sizeof(key), "%s|%u", peer_name, sk_sa_port(&c->peer));
    }
    err = sk_tls_conn_new(&s->tls, ctx, server ? NULL : peer_name, server ? NULL : key);
    if (err) {
        free(s);
        return err;
    }
    if (!server) {
        /* the ClientHello goes first */
        if (sk_tls_conn_handshake(s->tls) == SK_TLS_ERROR) {
            err = failed(s, "handshake");
        } else {
            err = drain(s, wire);
        }
        if (err) {
            sk_tls_conn_free(s->tls);
            free(s);
            return err;
        }
    }
    *state = s;
    return 0;
}

static int tf_input(void *state, const char *in, size_t len, struct sk_buf *plain,
                    struct sk_buf *wire)
{
    struct tls_state *s = state;
    char buf[16384];
    int err;

    for (;;) {
        size_t fed = sk_tls_conn_feed(s->tls, in, len);
        in += fed;
        len -= fed;
        for (;;) {
            size_t got = 0;
            enum sk_tls_status st = sk_tls_conn_read(s->tls, buf, sizeof(buf), &got);
            if ((err = drain(s, wire))) return err;
            if (st == SK_TLS_OK) {
                if (sk_buf_append(plain, buf, got)) return ENOMEM;
                continue;
            }
            if (st == SK_TLS_WANT_READ || st == SK_TLS_WANT_WRITE) break;
            if (st == SK_TLS_CLOSED) return EPIPE; /* close_notify: the peer is done */
            return failed(s, sk_tls_conn_state(s->tls) == SK_TLS_FAILED && !s->open_logged
                                 ? "handshake"
                                 : "read");
        }
        log_open(s);
        if ((err = flush_pending(s, wire))) return err;
        if (len == 0) return 0;
        if (fed == 0)
            return failed(s, "input stalled"); /* cannot happen: the engine read */
    }
}

static int tf_output(void *state, const char *in, size_t len, struct sk_buf *wire)
{
    struct tls_state *s = state;
    size_t done = 0;
    int err;

    if (sk_tls_conn_state(s->tls) == SK_TLS_OPEN && !s->pending.len) {
        if ((err = put_plain(s, in, len, &done, wire))) return err;
        in += done;
        len -= done;
    }
    if (!len) return 0;
    /* the handshake is not done: the rest waits for it, bounded */
    if (s->pending.len + len > SK_TLS_FILTER_PENDING_MAX) return ENOBUFS;
    return sk_buf_append(&s->pending, in, len) ? ENOMEM : 0;
}

static void tf_close(void *state)
{
    struct tls_state *s = state;

    /* a close_notify keeps the session resumable (sk_tls_conn_free) */
    if (sk_tls_conn_state(s->tls) == SK_TLS_OPEN) sk_tls_conn_close(s->tls);
    sk_tls_conn_free(s->tls);
    sk_buf_free(&s->pending);
    free(s);
}

static bool tf_ready(void *state)
{
    const struct tls_state *s = state;
    return sk_tls_conn_state(s->tls) != SK_TLS_HANDSHAKE;
}

const struct sk_stream_filter sk_tls_filter = {
    .name = "tls",
    .open = tf_open,
    .input = tf_input,
    .output = tf_output,
    .close = tf_close,
    .ready = tf_ready,
};
