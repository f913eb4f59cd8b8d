/* Transaction keys of RFC 3261 §17.1.3 and §17.2.3 (with the RFC 2543 fallback), over a
 * parsed message. */
#include "sip/txn_key.h"

#include <errno.h>
#include <string.h>

#include "base/hash.h"

bool sip_branch_is_rfc3261(struct sk_str branch)
{
    return branch.p && branch.len > 7 && memcmp(branch.p, SIP_BRANCH_MAGIC, 7) == 0;
}

/* The fields every request and its responses carry alike (§8.2.6.2 copies them). */
static int server_common(const struct sip_msg *m, struct sk_str method,
                         struct sip_txn_key *k)
{
    const struct sip_via *v = &m->via;

    memset(k, 0, sizeof(*k));
    if (!m->has_via) return EBADMSG;
    k->branch = v->branch;
    k->host = v->host;
    k->port = v->has_port ? v->port : 0;
    k->method = method;
    if (sip_branch_is_rfc3261(v->branch)) {
        k->kind = SIP_TXN_KEY_SERVER;
        return 0;
    }
    /* §17.2.3: without the cookie, the Request-URI, To tag, From tag, Call-ID, CSeq
     * and top Via identify the transaction (the To tag checked on its own) */
    if (!m->has_from || !m->has_call_id || !m->has_cseq) return EBADMSG;
    k->kind = SIP_TXN_KEY_SERVER_2543;
    k->from_tag = m->from.tag;
    k->call_id = m->call_id;
    k->cseq = m->cseq.num;
    k->to_tag = m->has_to ? m->to.tag : SK_STR_NULL;
    return 0;
}

int sip_txn_key_server(const struct sip_msg *req, struct sip_txn_key *k)
{
    int rc;

    if (!req->is_request) {
        memset(k, 0, sizeof(*k));
        return EINVAL;
    }
    rc = server_common(
        req, req->method_id == SIP_METHOD_ACK ? SK_STR_LIT("INVITE") : req->method, k);
    if (rc == 0 && k->kind == SIP_TXN_KEY_SERVER_2543) k->ruri = req->ruri_raw;
    return rc;
}

int sip_txn_key_cancel_target(const struct sip_msg *cancel, struct sip_txn_key *k)
{
    int rc;

    if (!cancel->is_request || cancel->method_id != SIP_METHOD_CANCEL) {
        memset(k, 0, sizeof(*k));
        return EINVAL;
    }
    if ((rc = sip_txn_key_server(cancel, k)) == 0) k->method = SK_STR_LIT("INVITE");
    return rc;
}

int sip_txn_key_server_of_response(const struct sip_msg *resp, struct sip_txn_key *k)
{
    if (resp->is_request || !resp->has_cseq) {
        memset(k, 0, sizeof(*k));
        return resp->is_request ? EINVAL : EBADMSG;
    }
    return server_common(resp, resp->cseq.method, k);
}

void sip_txn_key_client_make(struct sk_str branch, struct sk_str method,
                             struct sip_txn_key *k)
{
    memset(k, 0, sizeof(*k));
    k->kind = SIP_TXN_KEY_CLIENT;
    k->branch = branch;
    k->method = method;
}

int sip_txn_key_client(const struct sip_msg *m, struct sip_txn_key *k)
{
    struct sk_str method;

    if (!m->has_via || !m->has_cseq) {
        memset(k, 0, sizeof(*k));
        return EBADMSG;
    }
    if (!m->is_request)
        method = m->cseq.method;
    else /* §17.1.1.3: the ACK of a non-2xx is part of the INVITE client transaction */
        method = m->method_id == SIP_METHOD_ACK ? SK_STR_LIT("INVITE") : m->method;
    sip_txn_key_client_make(m->via.branch, method, k);
    return 0;
}

static bool host_eq(const struct sip_txn_key *a, const struct sip_txn_key *b)
{
    return a->port == b->port && sk_str_ieq(a->host, b->host);
}

bool sip_txn_key_equal(const struct sip_txn_key *a, const struct sip_txn_key *b)
{
    if (a->kind != b->kind || !sk_str_eq(a->branch, b->branch) ||
        !sk_str_eq(a->method, b->method))
        return false;
    switch (a->kind) {
    case SIP_TXN_KEY_CLIENT: return true;
    case SIP_TXN_KEY_SERVER: return host_eq(a, b);
    case SIP_TXN_KEY_SERVER_2543:
        return host_eq(a, b) && a->cseq == b->cseq && sk_str_eq(a->call_id, b->call_id) &&
               sk_str_eq(a->from_tag, b->from_tag) &&
               (!sk_str_isset(a->ruri) || !sk_str_isset(b->ruri) ||
                sk_str_eq(a->ruri, b->ruri));
    }
    return false;
}

/* The host's bytes lower-cased, eight at a time (hosts are short: a name or an address).
 */
static uint64_t hash_lower(uint64_t h, struct sk_str s)
{
    char w[8];

    h = sk_hash_u64(h, s.len);
    for (size_t i = 0; i < s.len; i += 8) {
        size_t n = s.len - i < 8 ? s.len - i : 8;
        uint64_t x = 0;
        for (size_t j = 0; j < n; j++)
            w[j] = sk_lower(s.p[i + j]);
        memcpy(&x, w, n);
        h = sk_hash_u64(h, x);
    }
    return h;
}

uint64_t sip_txn_key_hash(const struct sip_txn_key *k)
{
    uint64_t h = sk_hash_u64(sk_hash_init(), (uint64_t) k->kind);

    h = sk_hash_bytes(h, k->branch.p, k->branch.len);
    h = sk_hash_bytes(h, k->method.p, k->method.len);
    if (k->kind != SIP_TXN_KEY_CLIENT) {
        h = hash_lower(h, k->host);
        h = sk_hash_u64(h, k->port);
    }
    if (k->kind == SIP_TXN_KEY_SERVER_2543) {
        h = sk_hash_u64(h, k->cseq);
        h = sk_hash_bytes(h, k->call_id.p, k->call_id.len);
        h = sk_hash_bytes(h, k->from_tag.p, k->from_tag.len);
    }
    return sk_hash_final(h);
}

bool sip_txn_key_to_tag_ok(const struct sip_txn_key *k, struct sk_str expected)
{
    return k->kind != SIP_TXN_KEY_SERVER_2543 || sk_str_eq(k->to_tag, expected);
}

int sip_txn_key_print(const struct sip_txn_key *k, struct sk_buf *out)
{
    sk_buf_reset(out);
    if (k->kind == SIP_TXN_KEY_CLIENT) {
        sk_buf_puts(out, "C|");
        sk_buf_put_str(out, k->branch);
    } else {
        if (k->kind == SIP_TXN_KEY_SERVER) {
            sk_buf_puts(out, "S|");
        } else {
            sk_buf_puts(out, "O|");
            sk_buf_put_str(out, k->ruri);
            sk_buf_putc(out, '|');
            sk_buf_put_str(out, k->from_tag);
            sk_buf_putc(out, '|');
            sk_buf_put_str(out, k->call_id);
            sk_buf_putc(out, '|');
            sk_buf_put_u64(out, k->cseq);
            sk_buf_putc(out, '|');
        }
        sk_buf_put_str(out, k->branch);
        sk_buf_putc(out, '|');
        sk_buf_put_lower(out, k->host);
        sk_buf_putc(out, ':');
        sk_buf_put_u64(out, k->port);
    }
    sk_buf_putc(out, '|');
    sk_buf_put_str(out, k->method);
    return out->failed ? ENOMEM : 0;
}
