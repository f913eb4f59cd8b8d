/* libFuzzer target: dialogs made from any message (as UAS and UAC), the in-dialog
 * requests they build, parsed back. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/dialog.h"
#include "sip/msg.h"
#include "sip/uac_req.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built requests are re-parsed with these: what we print may be a little longer
 * than what came in (canonical names, <> around URIs). */
static const struct sip_limits relaxed_limits = {
    .max_msg_size = 4 * SIP_DEFAULT_MAX_MSG_SIZE,
    .max_headers = SIP_MSG_HDR_CAP,
    .max_line_len = 4 * SIP_DEFAULT_MAX_LINE_LEN,
    .max_uri_len = 4 * SIP_DEFAULT_MAX_URI_LEN,
    .max_body_size = 4 * SIP_DEFAULT_MAX_BODY_SIZE,
    .max_list_items = 4 * SIP_DEFAULT_MAX_LIST_ITEMS,
};

static struct sip_msg g_rx, g_req, g_built;

static bool tag_is(struct sk_str tag, const char *want)
{
    if (!*want) return !sk_str_isset(tag) || tag.len == 0;
    return sk_str_eq_cstr(tag, want);
}

/* Build one request in d and check what comes out parses back to d's state. */
static void check_request(struct sip_dlg *d, const char *method)
{
    struct sk_sa me;
    struct sip_dlg_req r;
    struct sip_req_out out;
    struct sip_error e;
    struct sip_dlg_id id, want;
    struct sk_buf b, kb, kw;
    uint32_t before = d->local_cseq;
    const struct sip_addr *routes;
    size_t n;
    int rc;

    memset(&me, 0, sizeof(me));
    if (sk_sa_from_ip(&me, SK_STR_LIT("192.0.2.1"), 5060) != 0) abort();
    memset(&r, 0, sizeof(r));
    r.method = sk_str_cstr(method);
    r.ack_cseq = 1;
    r.c.proto = SIP_PROTO_UDP;
    r.c.sent_by = &me;
    r.c.ctype = SK_STR_LIT("text/plain");
    r.c.body = SK_STR_LIT("x");
    sk_buf_init(&b);
    rc = sip_dlg_request(d, &r, &b, &out);
    if (rc == ERANGE) {
        sk_buf_free(&b);
        return;
    }
    CHECK(rc == 0, "a dialog could not build a request");
    CHECK(strcmp(method, "ACK") == 0 ? d->local_cseq == before
                                     : d->local_cseq == before + 1,
          "CSeq not advanced by one");
    sip_msg_init(&g_built);
    rc = sip_msg_parse(&g_built, b.p, b.len, SIP_PARSE_DATAGRAM, &relaxed_limits, NULL,
                       &e);
    CHECK(rc == 0, "a built request does not parse");
    CHECK(sip_msg_validate(&g_built, &e) == 0, "a built request does not validate");
    CHECK(sk_str_eq_cstr(g_built.method, method), "method");
    CHECK(sk_str_eq_cstr(g_built.call_id, d->call_id), "Call-ID");
    CHECK(tag_is(g_built.from.tag, d->local_tag), "From tag");
    CHECK(tag_is(g_built.to.tag, d->remote_tag), "To tag");
    CHECK(g_built.cseq.num == out.cseq, "CSeq");
    CHECK(sk_str_eq_cstr(g_built.via.branch, out.branch), "branch");
    CHECK(sk_str_eq(g_built.body, SK_STR_LIT("x")), "body");
    rc = sip_msg_addrs(&g_built, SIP_HDR_ROUTE, &routes, &n, &e);
    CHECK(rc == 0 || rc == ENOENT, "Route does not parse");
    if (rc == ENOENT) n = 0;
    CHECK(n == d->nroutes, "Route count differs from the route set");
    /* the peer sees our request under the same dialog ID, tags swapped */
    if (sip_dlg_id_of_rx(&g_built, &id) == 0) {
        want = sip_dlg_id_of(d);
        CHECK(sk_str_eq(id.call_id, want.call_id) &&
                  sk_str_eq(id.local_tag, want.remote_tag) &&
                  sk_str_eq(id.remote_tag, want.local_tag),
              "dialog ID of a built request");
        struct sip_dlg_id swapped = {want.call_id, want.remote_tag, want.local_tag};
        sk_buf_init(&kb);
        sk_buf_init(&kw);
        sip_dlg_key(&kb, &id);
        sip_dlg_key(&kw, &swapped);
        CHECK(kb.len == kw.len && memcmp(kb.p, kw.p, kb.len) == 0, "keys differ");
        sk_buf_free(&kb);
        sk_buf_free(&kw);
    }
    sip_msg_release(&g_built);
    sk_buf_free(&b);
}

static void exercise(struct sip_dlg *d, struct sip_msg *m)
{
    struct sip_dlg_verdict v;
    struct sip_dlg_id id;

    CHECK(d->key && d->call_id && d->local_tag && d->remote_tag && d->local_uri &&
              d->remote_uri && d->remote_target,
          "a dialog without its strings");
    check_request(d, "BYE");
    check_request(d, "INVITE");
    check_request(d, "ACK");
    check_request(d, "REFER");
    if (m->is_request) {
        (void) sip_dlg_rx_request(d, m, &v);
        CHECK(v.status == 0 || v.status == 500 || v.status == 481, "verdict");
        (void) sip_dlg_target_refresh(d, m);
        check_request(d, "UPDATE");
    }
    (void) sip_dlg_id_of_rx(m, &id);
    (void) sip_dlg_rx_response(d, 408);
}

/* A request we could have sent that m answers: its Call-ID and From tag. */
static int request_for(const struct sip_msg *resp, struct sk_buf *b)
{
    sk_buf_puts(b, "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfz\r\n"
                   "From: <sip:alice@atlanta.com>;tag=");
    sk_buf_put_str(b, resp->from.tag);
    sk_buf_puts(b, "\r\nTo: <sip:bob@biloxi.com>\r\nCall-ID: ");
    sk_buf_put_str(b, resp->call_id);
    sk_buf_puts(b, "\r\nCSeq: 1 INVITE\r\n"
                   "Contact: <sip:alice@192.0.2.1:5060>\r\n"
                   "Content-Length: 0\r\n\r\n");
    return b->failed ? ENOMEM : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    struct sip_error e;
    struct sip_dlg *d = NULL;
    struct sk_buf b;

    if (!copy) abort();
    if (size) memcpy(copy, data, size);
    sip_msg_init(&g_rx);
    if (sip_msg_parse(&g_rx, copy, size, SIP_PARSE_DATAGRAM, NULL, NULL, &e) != 0 ||
        sip_msg_validate(&g_rx, &e) != 0)
        goto out;
    if (g_rx.is_request) {
        if (sip_dlg_new_uas(&d, &g_rx, SK_STR_LIT("fz"),
                            SK_STR_LIT("<sip:bob@192.0.2.4>"), false, false) == 0) {
            exercise(d, &g_rx);
            sip_dlg_free(d);
        }
        goto out;
    }
    if (!sip_dlg_response_creates(&g_rx) || !g_rx.has_from || g_rx.from.tag.len == 0)
        goto out;
    sk_buf_init(&b);
    if (request_for(&g_rx, &b) == 0) {
        sip_msg_init(&g_req);
        if (sip_msg_parse(&g_req, b.p, b.len, SIP_PARSE_DATAGRAM, NULL, NULL, &e) == 0 &&
            sip_dlg_new_uac(&d, &g_req, &g_rx, false) == 0) {
            CHECK(sip_dlg_match(d, &g_rx), "a dialog does not match its own response");
            (void) sip_dlg_uac_response(d, &g_rx);
            exercise(d, &g_rx);
            sip_dlg_free(d);
        }
        sip_msg_release(&g_req);
    }
    sk_buf_free(&b);
out:
    sip_msg_release(&g_rx);
    free(copy);
    return 0;
}
