/* The client side of HTTP Digest: choose a challenge from a 401/407 and compute the Authorization header. */
#include "sip/auth_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"

static int copy_field(char *dst, struct sk_str s)
{
    if (s.len >= SIP_DIGEST_FIELD_MAX)
        return E2BIG;
    if (s.len)
        memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
    return 0;
}

/* qop is a quoted list ("auth,auth-int"): is "auth" one of its tokens? */
static bool qop_has_auth(struct sk_str qop)
{
    size_t i = 0;
    while (i < qop.len) {
        size_t j = i;
        while (j < qop.len && qop.p[j] != ',')
            j++;
        struct sk_str tok = sk_str_trim(sk_str_make(qop.p + i, j - i));
        if (sk_str_ieq_cstr(tok, "auth"))
            return true;
        i = j + 1;
    }
    return false;
}

int sip_digest_client_pick(struct sip_msg *resp, struct sip_digest_client *dc)
{
    enum sip_hdr_id id = resp->status == 407 ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;
    const struct sip_auth *a = NULL, *best = NULL;
    enum sip_digest_alg best_alg = SIP_DIGEST_MD5;
    struct sip_error perr;
    size_t n = 0;
    int err;

    if ((err = sip_msg_auths(resp, id, &a, &n, &perr)))
        return err == ENOENT ? ENOENT : err;
    for (size_t i = 0; i < n; i++) {
        enum sip_digest_alg alg;
        if (!a[i].digest || !sk_str_isset(a[i].nonce) || !sk_str_isset(a[i].realm))
            continue;
        if (sip_digest_alg_parse(a[i].algorithm, &alg) != 0)
            continue; /* SHA-512-256, *-sess: not offered by the servers we know */
        if (sk_str_isset(a[i].qop) && !qop_has_auth(a[i].qop))
            continue; /* auth-int only */
        if (!best || (alg == SIP_DIGEST_SHA256 && best_alg != SIP_DIGEST_SHA256)) {
            best = &a[i];
            best_alg = alg;
        }
    }
    if (!best)
        return ENOENT;
    memset(dc, 0, sizeof(*dc));
    dc->proxy = id == SIP_HDR_PROXY_AUTHENTICATE;
    dc->alg = best_alg;
    dc->qop_auth = sk_str_isset(best->qop);
    dc->stale = sk_str_ieq_cstr(best->stale, "true");
    if ((err = copy_field(dc->realm, best->realm)) || (err = copy_field(dc->nonce, best->nonce)) ||
        (err = copy_field(dc->opaque, best->opaque)))
        return err;
    return 0;
}

int sip_digest_client_authorize(struct sk_buf *b, struct sip_digest_client *dc,
                                const char *username, const char *password,
                                struct sk_str method, struct sk_str uri, const char *cnonce)
{
    char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX], nc[9], cn[17];
    struct sip_auth c;
    int err;

    if (!cnonce) {
        sk_hex(cn, sk_rand64(), 16);
        cn[16] = '\0';
        cnonce = cn;
    }
    dc->nc++;
    sk_hex(nc, dc->nc, 8);
    nc[8] = '\0';
    memset(&c, 0, sizeof(c));
    c.nonce = sk_str_cstr(dc->nonce);
    c.uri = uri;
    if (dc->qop_auth) {
        c.qop = sk_str_cstr("auth");
        c.nc = sk_str_make(nc, 8);
        c.cnonce = sk_str_cstr(cnonce);
    }
    if ((err = sip_digest_ha1(dc->alg, sk_str_cstr(username), sk_str_cstr(dc->realm),
                              sk_str_cstr(password), ha1)) ||
        (err = sip_digest_response(dc->alg, ha1, &c, method, resp)))
        return err;
    /* RFC 7616 §3.4: the quoted values are written as the server sent them (a
     * quote or backslash in them would need escaping; realms and nonces we meet
     * are tokens, and one with a quote is refused rather than mangled). */
    if (strpbrk(username, "\"\\\r\n") || strpbrk(dc->realm, "\"\\") ||
        strpbrk(dc->nonce, "\"\\") || strpbrk(dc->opaque, "\"\\") ||
        memchr(uri.p, '"', uri.len))
        return EINVAL;
    sk_buf_puts(b, dc->proxy ? "Proxy-Authorization: Digest username=\"" : "Authorization: Digest username=\"");
    sk_buf_puts(b, username);
    sk_buf_puts(b, "\", realm=\"");
    sk_buf_puts(b, dc->realm);
    sk_buf_puts(b, "\", nonce=\"");
    sk_buf_puts(b, dc->nonce);
    sk_buf_puts(b, "\", uri=\"");
    sk_buf_put_str(b, uri);
    sk_buf_puts(b, "\", response=\"");
    sk_buf_puts(b, resp);
    sk_buf_puts(b, "\", algorithm=");
    sk_buf_puts(b, sip_digest_alg_name(dc->alg));
    if (dc->qop_auth) {
        sk_buf_puts(b, ", cnonce=\"");
        sk_buf_puts(b, cnonce);
        sk_buf_puts(b, "\", qop=auth, nc=");
        sk_buf_puts(b, nc);
    }
    if (dc->opaque[0]) {
        sk_buf_puts(b, ", opaque=\"");
        sk_buf_puts(b, dc->opaque);
        sk_buf_putc(b, '"');
    }
    sk_buf_puts(b, "\r\n");
    return b->failed ? ENOMEM : 0;
}
