/* TLS for SIP (RFC 3261 §26.2, RFC 5630, RFC 5922): contexts, a zero-config certificate,
 * a non-blocking byte-filter connection engine and the RFC 5922 §7 certificate name
 * check. */
#ifndef SK_NET_TLS_H
#define SK_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* OpenSSL's certificate type, for the pure name check; the rest of the API hides OpenSSL.
 */
typedef struct x509_st X509;

struct sk_tls_ctx;
struct sk_tls_conn;

enum sk_tls_role { SK_TLS_SERVER, SK_TLS_CLIENT };

/* How the peer's certificate is checked.
 * off:      not asked for (server) / not checked (client).
 * optional: asked for and checked (chain, dates, and for a client the RFC 5922 name), the
 *           result only reported by sk_tls_conn_peer_verified(); never refused.
 * on:       checked and the handshake refused if it fails (a server also refuses a client
 *           that sends no certificate). */
enum sk_tls_verify { SK_TLS_VERIFY_OFF, SK_TLS_VERIFY_OPTIONAL, SK_TLS_VERIFY_ON };

struct sk_tls_config {
    enum sk_tls_role role;
    const char
        *cert_file; /* PEM chain: our certificate first (NULL: none / zero-config) */
    const char *key_file; /* PEM private key (NULL: in cert_file) */
    const char *ca_file;  /* PEM trust anchors; with ca_dir both NULL: the system's */
    const char *ca_dir;   /* hashed directory (c_rehash) */
    enum sk_tls_verify verify;
    /* Server without cert_file: a self-signed certificate kept in data_dir (see
     * sk_tls_selfsigned_ensure) for domain and the listen addresses, unless
     * require_cert, which refuses to start without a real certificate instead. */
    bool require_cert;
    const char *data_dir;
    const char *domain;
    const char *const
        *listen_ips; /* numeric IPv4/IPv6 strings; unspecified ones skipped */
    size_t n_listen_ips;
};

/* "AB:CD:..." SHA-256 of the DER certificate, as `openssl x509 -fingerprint -sha256`. */
#define SK_TLS_FINGERPRINT_LEN 96

/* Build a context (TLS 1.2 and 1.3 only, ECDHE + AEAD suites for 1.2, no compression, no
 * renegotiation, session tickets). 0, or an errno value with a one-line reason in err:
 * EINVAL (bad config, or no certificate while require_cert), EIO (OpenSSL refused a file
 * or setting), ENOMEM. Thread-safe to use from several event-loop threads at once. */
int sk_tls_ctx_new(struct sk_tls_ctx **ctxp, const struct sk_tls_config *cfg, char *err,
                   size_t errlen);
/* Free every connection made from the context first. */
void sk_tls_ctx_free(struct sk_tls_ctx *ctx);
/* The fingerprint of our certificate ("" when there is none, e.g. a client without one).
 */
const char *sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx);
/* True when the context uses the zero-config self-signed certificate. */
bool sk_tls_ctx_self_signed(const struct sk_tls_ctx *ctx);

/* Zero-config certificate: <dir>/tls-selfsigned.{crt,key} (dir made 0700 if missing). An
 * existing pair is reused when its key fits, it is valid for at least another day and it
 * names domain and every (specified) listen address; otherwise a new one is made: EC
 * P-256, SANs URI sip:<domain>, DNS <domain> and IP <addr>..., valid one year, the key
 * written 0600, each file written to a temporary name and renamed. 0 or an errno value
 * (err). */
struct sk_tls_selfsigned {
    char cert_path[512];
    char key_path[512];
    char fingerprint[SK_TLS_FINGERPRINT_LEN];
    bool created; /* made now (not reused) */
};
int sk_tls_selfsigned_ensure(struct sk_tls_selfsigned *out, const char *dir,
                             const char *domain, const char *const *ips, size_t nips,
                             char *err, size_t errlen);

/* ---- RFC 5922 §7 names ---- */

/* Does cert identify target? Pure: looks only at cert and target.
 * A domain (RFC 5922 §7.1, §7.2): the identities are the host parts of subjectAltName
 * URIs with scheme sip and no user part; only if there are none, the dNSName entries;
 * only if the certificate has no subjectAltName extension at all, the (most specific)
 * subject CN. Compared whole and case-insensitively (one trailing dot ignored): no suffix
 * match, and no wildcard: "*.example.com" matches only the literal "*.example.com". An IP
 * literal target (IPv4, IPv6, "[v6]"): only the iPAddress entries, byte for byte. Names
 * holding a NUL byte never match. */
bool sk_tls_name_match(const X509 *cert, const char *target);

/* ---- Connection engine ----
 * A byte filter for one TCP connection, driven from an event loop: the caller moves
 * ciphertext between the socket and the engine (in: sk_tls_conn_feed or
 * in_space/in_commit; out: out_peek/out_consume), and plaintext through read/write.
 * Nothing blocks, nothing touches a socket. Both directions have bounded buffers
 * (SK_TLS_BUF bytes). After every call, write out whatever sk_tls_conn_out_peek shows.
 * One TLS record fits in a buffer, but smaller pieces work too (only more turns); they
 * are allocated at first use and kept, so they are most of an idle connection's memory.
 */
#define SK_TLS_BUF (17 * 1024)

enum sk_tls_status {
    SK_TLS_OK = 0,
    SK_TLS_WANT_READ,  /* needs more ciphertext from the peer */
    SK_TLS_WANT_WRITE, /* the output buffer is full: write it out, then call again */
    SK_TLS_CLOSED,     /* the peer sent close_notify (clean end) */
    SK_TLS_ERROR,      /* fatal: sk_tls_conn_error says why; close the connection */
};

enum sk_tls_state {
    SK_TLS_HANDSHAKE, /* the caller's handshake deadline applies */
    SK_TLS_OPEN,
    SK_TLS_CLOSING, /* we sent close_notify */
    SK_TLS_PEER_CLOSED,
    SK_TLS_FAILED,
};

/* peer_name: for a client, the target the certificate must name (the domain of the SIP
 * URI, RFC 5922 §7.3, or an IP literal), also sent as SNI when it is a domain; required
 * unless the context's verify is off. session_key (client, may be NULL) tells apart
 * sessions kept for the same name (e.g. "host:port"): a session from an earlier verified
 * connection with the same name and key is offered for resumption. A server passes NULL
 * for both. 0, EINVAL, ENOMEM. */
int sk_tls_conn_new(struct sk_tls_conn **cp, struct sk_tls_ctx *ctx,
                    const char *peer_name, const char *session_key);
/* Free the engine (not the socket). Call sk_tls_conn_close first on a connection that
 * should leave a resumable session: OpenSSL discards the session of one freed without our
 * close_notify, as it may have been cut off by an attacker. */
void sk_tls_conn_free(struct sk_tls_conn *c);

/* Ciphertext from the network: returns how much was taken (less than len when the input
 * buffer is full: process with handshake/read first). */
size_t sk_tls_conn_feed(struct sk_tls_conn *c, const void *p, size_t len);
/* Zero-copy input: space to recv() into (0 when full), then commit what was received. */
size_t sk_tls_conn_in_space(struct sk_tls_conn *c, void **p);
void sk_tls_conn_in_commit(struct sk_tls_conn *c, size_t n);
/* The TCP peer closed (recv returned 0): read reports CLOSED after a close_notify, ERROR
 * (truncation) otherwise. */
void sk_tls_conn_eof(struct sk_tls_conn *c);

/* Ciphertext to send: a contiguous piece of what is pending (len 0: nothing), and how
 * much of it was sent. */
const void *sk_tls_conn_out_peek(struct sk_tls_conn *c, size_t *len);
void sk_tls_conn_out_consume(struct sk_tls_conn *c, size_t n);
size_t sk_tls_conn_out_pending(struct sk_tls_conn *c);

/* Run the handshake: OK when done, WANT_READ / WANT_WRITE, ERROR. (read and write also
 * finish it.) */
enum sk_tls_status sk_tls_conn_handshake(struct sk_tls_conn *c);
/* Plaintext out: OK with *got > 0, or WANT_READ, WANT_WRITE, CLOSED, ERROR (*got 0). */
enum sk_tls_status sk_tls_conn_read(struct sk_tls_conn *c, void *buf, size_t cap,
                                    size_t *got);
/* Plaintext in: *done bytes taken; OK when all of it, WANT_WRITE (or WANT_READ during the
 * handshake) when part, then call again with the rest; ERROR. */
enum sk_tls_status sk_tls_conn_write(struct sk_tls_conn *c, const void *p, size_t len,
                                     size_t *done);
/* Queue our close_notify (then write out what is pending and close the socket). OK, or
 * WANT_WRITE when the output buffer is full, or ERROR. */
enum sk_tls_status sk_tls_conn_close(struct sk_tls_conn *c);

enum sk_tls_state sk_tls_conn_state(const struct sk_tls_conn *c);
const char *sk_tls_state_name(enum sk_tls_state s);
/* One line on the last failure ("" if none); OpenSSL's error queue is always left empty.
 */
const char *sk_tls_conn_error(const struct sk_tls_conn *c);
/* The peer's certificate passed every check (chain, dates, and the name for a client). */
bool sk_tls_conn_peer_verified(const struct sk_tls_conn *c);
/* The handshake resumed an earlier session. */
bool sk_tls_conn_resumed(const struct sk_tls_conn *c);
/* "TLSv1.3", "TLSv1.2" ... and the cipher suite's name (after the handshake). */
const char *sk_tls_conn_version(const struct sk_tls_conn *c);
const char *sk_tls_conn_cipher(const struct sk_tls_conn *c);
/* Whether the peer's certificate names domain (RFC 5922 §7.2), e.g. a server checking the
 * domain a mutually authenticated client claims (§7.4). False without a verified one. */
bool sk_tls_conn_peer_matches(const struct sk_tls_conn *c, const char *domain);

#endif
