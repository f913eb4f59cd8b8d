/* Tests of the dialog layer (RFC 3261 §12) and the UA request builder: every rule, built
 * requests parsed back, allocation failures. */
#define TU_CHECKS
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/dialog.h"
#include "sip/print.h"
#include "sip/uac_req.h"

static const char *g_ctx = "";

/* ---- Allocation failure injection: the test links with --wrap=malloc,calloc,realloc
 * (tests/CMakeLists.txt), so the library's allocations come through here. ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t s);
void *__wrap_realloc(void *p, size_t n);

/* volatile: the compiler takes a call to malloc for the builtin, which touches
 * no globals, and would otherwise drop the stores around it (seen with LTO) */
static volatile long g_fail_at =
    -1; /* the allocation (counted from 0) that fails; -1: none */
static volatile long g_allocs;

static bool inject(void)
{
    return g_fail_at >= 0 && g_allocs++ == g_fail_at;
}
void *__wrap_malloc(size_t n)
{
    return inject() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t s)
{
    return inject() ? NULL : __real_calloc(n, s);
}
void *__wrap_realloc(void *p, size_t n)
{
    return inject() ? NULL : __real_realloc(p, n);
}

static void fail_from(long k)
{
    g_allocs = 0;
    g_fail_at = k;
}
static void fail_none(void)
{
    g_fail_at = -1;
}

/* ---- Messages ---- */

struct pmsg {
    struct sip_msg m;
    char *text;
};

static struct sip_msg *parse_n(const char *text, size_t len)
{
    struct pmsg *pm = malloc(sizeof(*pm));
    struct sip_error e;
    size_t used;
    int rc;

    assert_non_null(pm);
    pm->text = malloc(len + 1);
    assert_non_null(pm->text);
    memcpy(pm->text, text, len);
    pm->text[len] = '\0';
    sip_msg_init(&pm->m);
    rc = sip_msg_parse(&pm->m, pm->text, len, SIP_PARSE_DATAGRAM, NULL, &used, &e);
    if (rc != 0)
        fail_at(__FILE__, __LINE__, "parse failed: %s at %zu in:\n%s", e.reason, e.pos,
                text);
    if (sip_msg_validate(&pm->m, &e) != 0)
        fail_at(__FILE__, __LINE__, "invalid: %s in:\n%s", e.reason, text);
    return &pm->m;
}

static struct sip_msg *parse(const char *text)
{
    return parse_n(text, strlen(text));
}

static void msg_free(struct sip_msg *m)
{
    struct pmsg *pm = (struct pmsg *) m;
    if (!m) return;
    sip_msg_release(m);
    free(pm->text);
    free(pm);
}

/* Bob receives Alice's INVITE through p1 then p2 (RFC 3261 §24.2 style). */
#define INVITE_RX                                                                        \
    "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"                                               \
    "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2xx\r\n"                             \
    "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1xx\r\n"                             \
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"                        \
    "Max-Forwards: 68\r\n"                                                               \
    "Record-Route: <sip:p2.example.com;lr>\r\n"                                          \
    "Record-Route: <sip:p1.example.com;lr>;x=1\r\n"                                      \
    "To: Bob <sip:bob@biloxi.com>\r\n"                                                   \
    "From: \"Alice A.\" <sip:alice@atlanta.com>;tag=1928301774\r\n"                      \
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"                                       \
    "CSeq: 314159 INVITE\r\n"                                                            \
    "Contact: <sip:alice@pc33.atlanta.com;transport=udp>\r\n"                            \
    "Content-Length: 0\r\n\r\n"

/* The INVITE Alice sent (UAC side), as she printed it. */
#define INVITE_TX                                                                        \
    "INVITE sip:bob@biloxi.com SIP/2.0\r\n"                                              \
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinvite1;rport\r\n"                    \
    "Max-Forwards: 70\r\n"                                                               \
    "Route: <sip:p1.example.com;lr>\r\n"                                                 \
    "From: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n"                                \
    "To: Bob <sip:bob@biloxi.com>\r\n"                                                   \
    "Call-ID: 987asjd97y7atg\r\n"                                                        \
    "CSeq: 101 INVITE\r\n"                                                               \
    "Contact: <sip:alice@192.0.2.1:5060>\r\n"                                            \
    "Content-Length: 0\r\n\r\n"

/* A response to INVITE_TX: status line, To tag, then extra header lines. */
static struct sip_msg *resp_for_tx(const char *status_line, const char *to_tag,
                                   const char *extra)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "%s\r\n"
             "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinvite1;rport=5060\r\n"
             "From: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n"
             "To: Bob <sip:bob@biloxi.com>%s%s\r\n"
             "Call-ID: 987asjd97y7atg\r\n"
             "CSeq: 101 INVITE\r\n"
             "%s"
             "Content-Length: 0\r\n\r\n",
             status_line, to_tag ? ";tag=" : "", to_tag ? to_tag : "",
             extra ? extra : "");
    return parse(buf);
}

static struct sk_sa our_addr(void)
{
    struct sk_sa a;
    assert_int_equal(sk_sa_from_ip(&a, SK_STR_LIT("192.0.2.1"), 5060), 0);
    return a;
}

static struct sk_sa g_me;

static struct sip_req_common common(void)
{
    struct sip_req_common c;
    memset(&c, 0, sizeof(c));
    c.proto = SIP_PROTO_UDP;
    c.sent_by = &g_me;
    return c;
}

/* A request from Alice in the dialog of INVITE_RX (To tag a6c85cf). */
static struct sip_msg *rx_in_dialog(const char *method, unsigned cseq,
                                    const char *contact);

/* Build an in-dialog request and parse it back (the caller frees the message). */
static struct sip_msg *dlg_build(struct sip_dlg *d, const char *method,
                                 const struct sip_req_common *c, struct sip_req_out *out)
{
    struct sip_dlg_req r;
    struct sk_buf b;
    struct sip_msg *m;

    memset(&r, 0, sizeof(r));
    r.method = sk_str_cstr(method);
    r.c = c ? *c : common();
    sk_buf_init(&b);
    CHK_INT(sip_dlg_request(d, &r, &b, out), 0);
    m = parse_n(b.p, b.len);
    sk_buf_free(&b);
    return m;
}

static void chk_routes(struct sip_msg *m, const char *const *want, size_t n)
{
    const struct sip_addr *a;
    struct sip_error e;
    size_t got;
    int rc = sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &got, &e);

    if (n == 0) {
        CHK_INT(rc, ENOENT);
        return;
    }
    CHK_INT(rc, 0);
    CHK_INT(got, n);
    for (size_t i = 0; i < n && i < got; i++)
        CHK_STRC(a[i].uri.raw, want[i]);
}

static void chk_via(struct sip_msg *m, const struct sip_req_out *out)
{
    CHK(m->has_via);
    CHK_STR(m->via.transport, "UDP");
    CHK_STR(m->via.host, "192.0.2.1");
    CHK_INT(m->via.port, 5060);
    CHK(m->via.has_rport);
    CHK_STRC(m->via.branch, out->branch);
    CHK(sk_str_iprefix(m->via.branch, "z9hG4bK"));
}

/* ---- UAS (§12.1.1) ---- */

static void test_uas_create(void **state)
{
    struct sip_msg *inv = parse(INVITE_RX);
    struct sip_dlg *d = NULL;
    (void) state;
    g_ctx = "uas create";

    CHK_INT(sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"),
                            SK_STR_LIT("<sip:bob@192.0.2.4>"), false, false),
            0);
    msg_free(inv); /* the dialog keeps copies */
    CHK_INT(d->state, SIP_DLG_CONFIRMED);
    CHK(!d->uac);
    CHK(!d->secure);
    CHK_INT(d->method, SIP_METHOD_INVITE);
    CHK_STRC(sk_str_cstr(d->call_id), "a84b4c76e66710@pc33.atlanta.com");
    CHK_STRC(sk_str_cstr(d->local_tag), "a6c85cf");
    CHK_STRC(sk_str_cstr(d->remote_tag), "1928301774");
    CHK_STRC(sk_str_cstr(d->remote_uri), "\"Alice A.\" <sip:alice@atlanta.com>");
    CHK_STRC(sk_str_cstr(d->local_uri), "Bob <sip:bob@biloxi.com>");
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:alice@pc33.atlanta.com;transport=udp");
    CHK_STR(d->target.host, "pc33.atlanta.com");
    CHK_STRC(sk_str_cstr(d->local_contact), "<sip:bob@192.0.2.4>");
    /* route set = Record-Route in order, parameters kept */
    CHK_INT(d->nroutes, 2);
    CHK_STRC(sk_str_cstr(d->routes[0].text), "<sip:p2.example.com;lr>");
    CHK_STRC(sk_str_cstr(d->routes[1].text), "<sip:p1.example.com;lr>;x=1");
    CHK(d->routes[0].addr.uri.lr);
    CHK(d->has_remote_cseq);
    CHK_INT(d->remote_cseq, 314159);
    CHK(d->local_cseq < (1u << 30));
    CHK(!d->invite_cseq);
    CHK_STRC(sk_str_cstr(d->key),
             "31:a84b4c76e66710@pc33.atlanta.com;7:a6c85cf;10:1928301774");
    sip_dlg_free(d);

    /* early: we will send a 1xx with the tag first */
    inv = parse(INVITE_RX);
    CHK_INT(sip_dlg_new_uas(&d, inv, SK_STR_LIT("t"), SK_STR_NULL, false, true), 0);
    CHK_INT(d->state, SIP_DLG_EARLY);
    CHK(d->local_contact == NULL);
    sip_dlg_confirm(d); /* we sent the 2xx */
    CHK_INT(d->state, SIP_DLG_CONFIRMED);
    sip_dlg_terminate(d);
    sip_dlg_confirm(d); /* no way back */
    CHK_INT(d->state, SIP_DLG_TERMINATED);
    sip_dlg_free(d);
    msg_free(inv);
}

static void test_uas_secure_and_errors(void **state)
{
    static const char sips[] =
        "INVITE sips:bob@biloxi.com SIP/2.0\r\n"
        "Via: SIP/2.0/TLS pc33.atlanta.com;branch=z9hG4bKx\r\n"
        "To: <sips:bob@biloxi.com>\r\n"
        "From: <sips:alice@atlanta.com>\r\n" /* no tag: RFC 2543 peer */
        "Call-ID: c1\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sips:alice@pc33.atlanta.com>\r\n"
        "Content-Length: 0\r\n\r\n";
    static const char nocontact[] = "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
                                    "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                                    "To: <sip:bob@biloxi.com>\r\n"
                                    "From: <sip:alice@atlanta.com>;tag=1\r\n"
                                    "Call-ID: c2\r\n"
                                    "CSeq: 1 INVITE\r\n"
                                    "Content-Length: 0\r\n\r\n";
    static const char star[] = "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                               "To: <sip:bob@biloxi.com>\r\n"
                               "From: <sip:alice@atlanta.com>;tag=1\r\n"
                               "Call-ID: c2\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Contact: *\r\n"
                               "Content-Length: 0\r\n\r\n";
    static const char badrr[] = "INVITE sip:bob@biloxi.com SIP/2.0\r\n"
                                "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                                "Record-Route: <sip:p1;lr\r\n"
                                "To: <sip:bob@biloxi.com>\r\n"
                                "From: <sip:alice@atlanta.com>;tag=1\r\n"
                                "Call-ID: c2\r\n"
                                "CSeq: 1 INVITE\r\n"
                                "Contact: <sip:a@h>\r\n"
                                "Content-Length: 0\r\n\r\n";
    struct sip_msg *m = parse(sips);
    struct sip_dlg *d = NULL;
    char big[4096];
    size_t n;
    (void) state;
    g_ctx = "uas secure";

    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, true, false), 0);
    CHK(d->secure);
    CHK_STRC(sk_str_cstr(d->remote_tag), "");
    CHK_INT(d->nroutes, 0);
    sip_dlg_free(d);
    /* sips without TLS is not secure */
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), 0);
    CHK(!d->secure);
    sip_dlg_free(d);
    d = NULL;
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_NULL, SK_STR_NULL, true, false), EINVAL);
    CHK(d == NULL);
    msg_free(m);

    g_ctx = "uas errors";
    m = parse(nocontact);
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), EBADMSG);
    msg_free(m);
    m = parse(star);
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), EBADMSG);
    msg_free(m);
    m = parse(badrr);
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), EBADMSG);
    msg_free(m);
    m = resp_for_tx("SIP/2.0 200 OK", "t", "Contact: <sip:b@h>\r\n");
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), EINVAL);
    msg_free(m);

    /* more Record-Route entries than SIP_DLG_MAX_ROUTES */
    n = (size_t) snprintf(big, sizeof(big),
                          "INVITE sip:bob@h SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n");
    for (int i = 0; i <= SIP_DLG_MAX_ROUTES; i++)
        n += (size_t) snprintf(big + n, sizeof(big) - n, "Record-Route: <sip:p%d;lr>\r\n",
                               i);
    snprintf(
        big + n, sizeof(big) - n,
        "To: <sip:bob@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
        "Contact: <sip:a@h>\r\nContent-Length: 0\r\n\r\n");
    m = parse(big);
    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("x"), SK_STR_NULL, false, false), E2BIG);
    msg_free(m);
    CHK(d == NULL);
}

/* BYE from the UAS: loose routing, the route set in Record-Route order. */
static void test_uas_bye_loose(void **state)
{
    static const char *const want[] = {"sip:p2.example.com;lr", "sip:p1.example.com;lr"};
    struct sip_msg *inv = parse(INVITE_RX), *bye;
    struct sip_dlg *d;
    struct sip_req_out out;
    struct sip_req_common c = common();
    const struct sip_addr *rt;
    struct sip_error e;
    struct sk_str v;
    size_t n;
    uint32_t first;
    (void) state;
    g_ctx = "uas bye";

    assert_int_equal(sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"),
                                     SK_STR_LIT("<sip:bob@192.0.2.4>"), false, false),
                     0);
    msg_free(inv);
    first = d->local_cseq + 1;
    c.user_agent = SK_STR_LIT("sipkit/0.1");
    c.extra = SK_STR_LIT("Reason: SIP;cause=200\r\n");
    bye = dlg_build(d, "BYE", &c, &out);
    CHK(bye->is_request);
    CHK_STR(bye->method, "BYE");
    CHK_STR(bye->ruri_raw, "sip:alice@pc33.atlanta.com;transport=udp");
    chk_via(bye, &out);
    CHK_INT(bye->max_forwards, 70);
    chk_routes(bye, want, 2);
    CHK_INT(sip_msg_addrs(bye, SIP_HDR_ROUTE, &rt, &n, &e), 0);
    CHK_STR(rt[1].params, "x=1"); /* "including all parameters" */
    CHK_STR(bye->from.uri.raw, "sip:bob@biloxi.com");
    CHK_STR(bye->from.display, "Bob");
    CHK_STR(bye->from.tag, "a6c85cf");
    CHK_STR(bye->to.uri.raw, "sip:alice@atlanta.com");
    CHK_STR(bye->to.display, "Alice A.");
    CHK_STR(bye->to.tag, "1928301774");
    CHK_STR(bye->call_id, "a84b4c76e66710@pc33.atlanta.com");
    CHK_INT(bye->cseq.num, first);
    CHK_STR(bye->cseq.method, "BYE");
    CHK_INT(out.cseq, first);
    CHK(sip_msg_hdr(bye, SIP_HDR_CONTACT) == NULL); /* BYE refreshes nothing */
    CHK_INT(sip_msg_text(bye, SIP_HDR_USER_AGENT, &v), 0);
    CHK_STR(v, "sipkit/0.1");
    CHK(sip_msg_hdr_by_name(bye, "Reason") != NULL);
    CHK_INT(bye->content_length, 0);
    /* next hop: the first route */
    CHK_STR(out.next_hop.raw, "sip:p2.example.com;lr");
    CHK_STR(out.next_hop.host, "p2.example.com");
    msg_free(bye);

    /* a second request: CSeq one more, a new branch; INFO with a body */
    {
        char branch1[SIP_BRANCH_SIZE];
        struct sip_msg *info;
        memcpy(branch1, out.branch, sizeof(branch1));
        c = common();
        c.ctype = SK_STR_LIT("application/dtmf-relay");
        c.body = SK_STR_LIT("Signal=5\r\nDuration=160\r\n");
        info = dlg_build(d, "INFO", &c, &out);
        CHK_INT(info->cseq.num, first + 1);
        CHK(strcmp(branch1, out.branch) != 0);
        CHK_STR(info->body, "Signal=5\r\nDuration=160\r\n");
        CHK(sip_msg_hdr(info, SIP_HDR_CONTENT_TYPE) != NULL);
        CHK_STR(sip_msg_hdr(info, SIP_HDR_CONTENT_TYPE)->value, "application/dtmf-relay");
        msg_free(info);
    }
    /* a re-INVITE carries our Contact (a target refresh request) */
    {
        struct sip_msg *re = dlg_build(d, "INVITE", NULL, &out);
        CHK(sip_msg_hdr(re, SIP_HDR_CONTACT) != NULL);
        CHK_STR(sip_msg_hdr(re, SIP_HDR_CONTACT)->value, "<sip:bob@192.0.2.4>");
        CHK_INT(d->invite_cseq, first + 2);
        msg_free(re);
    }
    sip_dlg_free(d);
}

/* Our responses: Record-Route copied for the dialog-creating request, Contact on
 * target refreshes; the caller's dialog made from it sees the route set reversed. */
static void test_uas_response_head(void **state)
{
    struct sip_msg *inv = parse(INVITE_RX), *resp, *bye;
    struct sip_dlg *d, *peer;
    const struct sip_addr *a;
    struct sip_error e;
    struct sk_buf b;
    size_t n;
    (void) state;
    g_ctx = "uas response head";

    assert_int_equal(sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"),
                                     SK_STR_LIT("<sip:bob@192.0.2.4>"), false, true),
                     0);
    sk_buf_init(&b);
    CHK_INT(sip_dlg_print_response_head(&b, d, inv, 180, NULL), 0);
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    resp = parse_n(b.p, b.len);
    CHK_INT(resp->status, 180);
    CHK_STR(resp->reason, "Ringing");
    CHK_STR(resp->to.tag, "a6c85cf");
    CHK_INT(sip_msg_addrs(resp, SIP_HDR_RECORD_ROUTE, &a, &n, &e), 0);
    CHK_INT(n, 2);
    CHK_STR(a[0].uri.raw, "sip:p2.example.com;lr");
    CHK_STR(a[1].raw, "<sip:p1.example.com;lr>;x=1");
    CHK_STR(sip_msg_hdr(resp, SIP_HDR_CONTACT)->value, "<sip:bob@192.0.2.4>");
    CHK_INT(resp->cseq.num, 314159);
    /* Alice's view of the same dialog: the route set reversed */
    CHK_INT(sip_dlg_new_uac(&peer, inv, resp, false), 0);
    CHK_INT(peer->nroutes, 2);
    CHK_STRC(sk_str_cstr(peer->routes[0].text), "<sip:p1.example.com;lr>;x=1");
    CHK_STRC(sk_str_cstr(peer->routes[1].text), "<sip:p2.example.com;lr>");
    CHK_STRC(sk_str_cstr(peer->remote_target), "sip:bob@192.0.2.4");
    CHK_STRC(sk_str_cstr(peer->local_tag), d->remote_tag);
    CHK_STRC(sk_str_cstr(peer->remote_tag), d->local_tag);
    msg_free(resp);

    /* a 200 to a BYE in the dialog: no Record-Route, no Contact */
    bye = rx_in_dialog("BYE", 314160, NULL);
    sk_buf_reset(&b);
    CHK_INT(sip_dlg_print_response_head(&b, d, bye, 200, NULL), 0);
    sip_print_body(&b, SK_STR_NULL, SK_STR_NULL);
    resp = parse_n(b.p, b.len);
    CHK_STR(resp->to.tag, "a6c85cf");
    CHK(sip_msg_hdr(resp, SIP_HDR_RECORD_ROUTE) == NULL);
    CHK(sip_msg_hdr(resp, SIP_HDR_CONTACT) == NULL);
    CHK_INT(sip_dlg_print_response_head(&b, d, resp, 200, NULL), EINVAL);
    msg_free(resp);
    msg_free(bye);
    /* a 486 to the INVITE: neither either */
    sk_buf_reset(&b);
    CHK_INT(sip_dlg_print_response_head(&b, d, inv, 486, NULL), 0);
    CHK(strstr(b.p, "Record-Route") == NULL && strstr(b.p, "Contact") == NULL);
    sk_buf_free(&b);
    sip_dlg_free(peer);
    sip_dlg_free(d);
    msg_free(inv);
}

/* A display name with a control character is left out of the kept name-addr. */
static void test_display_control_chars(void **state)
{
    static const char text[] = "INVITE sip:bob@h SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                               "To: Bo\x01"
                               "b <sip:bob@h>\r\n"
                               "From: Al\0ce <sip:a@h>;tag=1\r\n"
                               "Call-ID: c\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Contact: <sip:a@h>\r\n"
                               "Content-Length: 0\r\n\r\n";
    struct sip_msg *m = parse_n(text, sizeof(text) - 1);
    struct sip_dlg *d;
    (void) state;
    g_ctx = "display control chars";

    CHK_INT(sip_dlg_new_uas(&d, m, SK_STR_LIT("t"), SK_STR_NULL, false, false), 0);
    CHK_STRC(sk_str_cstr(d->local_uri), "<sip:bob@h>");
    CHK_STRC(sk_str_cstr(d->remote_uri), "<sip:a@h>");
    sip_dlg_free(d);
    msg_free(m);
}

/* ---- UAC (§12.1.2) ---- */

static void test_uac_create_reverse_routes(void **state)
{
    static const char *const want[] = {"sip:p1.example.com;lr", "sip:p2.example.com;lr"};
    struct sip_msg *inv = parse(INVITE_TX);
    struct sip_msg *ok = resp_for_tx("SIP/2.0 200 OK", "8321234356",
                                     "Record-Route: <sip:p2.example.com;lr>, "
                                     "<sip:p1.example.com;lr>\r\n"
                                     "Contact: <sip:bob@192.0.2.4>\r\n");
    struct sip_msg *bye;
    struct sip_dlg *d;
    struct sip_req_out out;
    (void) state;
    g_ctx = "uac create";

    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    msg_free(inv);
    msg_free(ok);
    CHK(d->uac);
    CHK_INT(d->state, SIP_DLG_CONFIRMED);
    CHK_STRC(sk_str_cstr(d->local_tag), "88sja8x");
    CHK_STRC(sk_str_cstr(d->remote_tag), "8321234356");
    CHK_STRC(sk_str_cstr(d->local_uri), "Alice <sip:alice@atlanta.com>");
    CHK_STRC(sk_str_cstr(d->remote_uri), "Bob <sip:bob@biloxi.com>");
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@192.0.2.4");
    CHK_STRC(sk_str_cstr(d->local_contact), "<sip:alice@192.0.2.1:5060>");
    CHK_INT(d->local_cseq, 101);
    CHK_INT(d->invite_cseq, 101);
    CHK(!d->has_remote_cseq);
    /* route set = Record-Route reversed */
    CHK_INT(d->nroutes, 2);
    CHK_STRC(sk_str_cstr(d->routes[0].text), "<sip:p1.example.com;lr>");
    CHK_STRC(sk_str_cstr(d->routes[1].text), "<sip:p2.example.com;lr>");

    bye = dlg_build(d, "BYE", NULL, &out);
    CHK_STR(bye->ruri_raw, "sip:bob@192.0.2.4");
    chk_routes(bye, want, 2);
    CHK_STR(bye->from.tag, "88sja8x");
    CHK_STR(bye->to.tag, "8321234356");
    CHK_STR(bye->call_id, "987asjd97y7atg");
    CHK_INT(bye->cseq.num, 102);
    CHK_STR(out.next_hop.host, "p1.example.com");
    msg_free(bye);
    sip_dlg_free(d);
}

static void test_uac_errors(void **state)
{
    struct sip_msg *inv = parse(INVITE_TX), *r;
    struct sip_dlg *d = NULL;
    (void) state;
    g_ctx = "uac errors";

    r = resp_for_tx("SIP/2.0 200 OK", NULL, "Contact: <sip:b@h>\r\n"); /* no To tag */
    CHK_INT(sip_dlg_new_uac(&d, inv, r, false), EINVAL);
    msg_free(r);
    r = resp_for_tx("SIP/2.0 100 Trying", "t", NULL);
    CHK_INT(sip_dlg_new_uac(&d, inv, r, false), EINVAL);
    msg_free(r);
    r = resp_for_tx("SIP/2.0 486 Busy Here", "t", NULL);
    CHK_INT(sip_dlg_new_uac(&d, inv, r, false), EINVAL);
    msg_free(r);
    r = parse("SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinvite1\r\n"
              "From: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n"
              "To: Bob <sip:bob@biloxi.com>;tag=t\r\n"
              "Call-ID: other\r\n"
              "CSeq: 101 INVITE\r\n"
              "Content-Length: 0\r\n\r\n");
    CHK_INT(sip_dlg_new_uac(&d, inv, r, false), EINVAL); /* another Call-ID */
    CHK_INT(sip_dlg_new_uac(&d, r, r, false), EINVAL);   /* not a request */
    msg_free(r);
    r = resp_for_tx("SIP/2.0 200 OK", "t", "Contact: *\r\n");
    CHK_INT(sip_dlg_new_uac(&d, inv, r, false), EBADMSG);
    msg_free(r);
    CHK(d == NULL);
    /* a 2xx without Contact: requests go where the INVITE went */
    r = resp_for_tx("SIP/2.0 200 OK", "t", NULL);
    CHK_INT(sip_dlg_new_uac(&d, inv, r, true), 0);
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@biloxi.com");
    CHK(!d->secure); /* sip: Request-URI, even over TLS */
    sip_dlg_free(d);
    msg_free(r);
    msg_free(inv);
}

/* Early dialog from a 180, confirmed by the 2xx: route set and target anew (§13.2.2.4).
 */
static void test_early_to_confirmed(void **state)
{
    struct sip_msg *inv = parse(INVITE_TX);
    struct sip_msg *ringing = resp_for_tx("SIP/2.0 180 Ringing", "bobtag",
                                          "Record-Route: <sip:p2.example.com;lr>\r\n"
                                          "Record-Route: <sip:p1.example.com;lr>\r\n"
                                          "Contact: <sip:bob@10.0.0.1>\r\n");
    struct sip_msg *ok = resp_for_tx("SIP/2.0 200 OK", "bobtag",
                                     "Record-Route: <sip:p1.example.com;lr;ftag=1>\r\n"
                                     "Contact: <sip:bob@192.0.2.4:5080>\r\n");
    struct sip_msg *other = resp_for_tx("SIP/2.0 200 OK", "othertag", NULL);
    struct sip_dlg *d;
    (void) state;
    g_ctx = "early to confirmed";

    CHK(sip_dlg_response_creates(ringing));
    CHK_INT(sip_dlg_new_uac(&d, inv, ringing, false), 0);
    CHK_INT(d->state, SIP_DLG_EARLY);
    CHK_INT(d->nroutes, 2);
    CHK_STRC(sk_str_cstr(d->routes[0].text), "<sip:p1.example.com;lr>");
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@10.0.0.1");
    /* another 1xx changes nothing; a response of another dialog is refused */
    CHK_INT(sip_dlg_uac_response(d, ringing), 0);
    CHK_INT(d->state, SIP_DLG_EARLY);
    CHK_INT(sip_dlg_uac_response(d, other), EINVAL);
    CHK_INT(sip_dlg_uac_response(d, inv), EINVAL);
    /* the 2xx confirms it */
    CHK_INT(sip_dlg_uac_response(d, ok), 0);
    CHK_INT(d->state, SIP_DLG_CONFIRMED);
    CHK_INT(d->nroutes, 1);
    CHK_STRC(sk_str_cstr(d->routes[0].text), "<sip:p1.example.com;lr;ftag=1>");
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@192.0.2.4:5080");
    CHK_INT(d->target.port, 5080);
    /* a retransmitted 2xx changes nothing */
    CHK_INT(sip_dlg_uac_response(d, ok), 0);
    CHK_INT(d->nroutes, 1);
    sip_dlg_free(d);
    msg_free(ok);

    /* an early dialog ended by a non-2xx final (§12.3) */
    ok = resp_for_tx("SIP/2.0 486 Busy Here", "bobtag", NULL);
    CHK_INT(sip_dlg_new_uac(&d, inv, ringing, false), 0);
    CHK_INT(sip_dlg_uac_response(d, ok), 0);
    CHK_INT(d->state, SIP_DLG_TERMINATED);
    sip_dlg_free(d);
    msg_free(ok);

    /* a 180 without Contact, a 2xx without Contact keeps the target */
    ok = resp_for_tx("SIP/2.0 200 OK", "bobtag", NULL);
    msg_free(ringing);
    ringing = resp_for_tx("SIP/2.0 183 Session Progress", "bobtag", NULL);
    CHK_INT(sip_dlg_new_uac(&d, inv, ringing, false), 0);
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@biloxi.com");
    CHK_INT(sip_dlg_uac_response(d, ok), 0);
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:bob@biloxi.com");
    CHK_INT(d->nroutes, 0);
    sip_dlg_free(d);

    msg_free(ok);
    msg_free(other);
    msg_free(ringing);
    msg_free(inv);
}

/* Forking (§13.2.2.4): two To tags, two dialogs, each response finds its own. */
static void test_forked_dialogs(void **state)
{
    struct sip_msg *inv = parse(INVITE_TX);
    struct sip_msg *r1 =
        resp_for_tx("SIP/2.0 180 Ringing", "fork1", "Contact: <sip:bob@10.0.0.1>\r\n");
    struct sip_msg *r2 =
        resp_for_tx("SIP/2.0 180 Ringing", "fork2", "Contact: <sip:bob@10.0.0.2>\r\n");
    struct sip_msg *ok2 =
        resp_for_tx("SIP/2.0 200 OK", "fork2", "Contact: <sip:bob@10.0.0.2>\r\n");
    struct sip_dlg *d1, *d2;
    struct sip_dlg_id id;
    struct sk_buf k;
    (void) state;
    g_ctx = "forking";

    CHK_INT(sip_dlg_new_uac(&d1, inv, r1, false), 0);
    CHK(!sip_dlg_match(d1, r2)); /* a new To tag: a new dialog */
    CHK_INT(sip_dlg_new_uac(&d2, inv, r2, false), 0);
    CHK(strcmp(d1->key, d2->key) != 0);
    /* the 2xx's key is d2's */
    CHK_INT(sip_dlg_id_of_rx(ok2, &id), 0);
    sk_buf_init(&k);
    CHK_INT(sip_dlg_key(&k, &id), 0);
    CHK_STRC(sk_buf_str(&k), d2->key);
    sk_buf_free(&k);
    CHK(sip_dlg_match(d2, ok2));
    CHK(!sip_dlg_match(d1, ok2));
    CHK_INT(sip_dlg_uac_response(d2, ok2), 0);
    CHK_INT(d2->state, SIP_DLG_CONFIRMED);
    CHK_INT(d1->state, SIP_DLG_EARLY);
    CHK_STR(d1->target.host, "10.0.0.1");
    CHK_STR(d2->target.host, "10.0.0.2");
    sip_dlg_free(d1);
    sip_dlg_free(d2);
    msg_free(inv);
    msg_free(r1);
    msg_free(r2);
    msg_free(ok2);
}

/* ---- Strict routing (§12.2.1.1) ---- */

static void test_strict_routing(void **state)
{
    static const char *const want[] = {"sip:p2.example.com;lr", "sip:bob@192.0.2.4"};
    struct sip_msg *inv = parse(INVITE_TX);
    /* the UAC reverses: p1 (strict, with a method parameter and headers) comes first */
    struct sip_msg *ok = resp_for_tx(
        "SIP/2.0 200 OK", "t",
        "Record-Route: <sip:p2.example.com;lr>\r\n"
        "Record-Route: <sip:p1.example.com;method=INVITE;transport=tcp?X-A=b>\r\n"
        "Contact: <sip:bob@192.0.2.4>\r\n");
    struct sip_msg *bye;
    struct sip_dlg *d;
    struct sip_req_out out;
    (void) state;
    g_ctx = "strict routing";

    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    CHK(!d->routes[0].addr.uri.lr);
    bye = dlg_build(d, "BYE", NULL, &out);
    /* Request-URI = the strict router, less method and headers */
    CHK_STR(bye->ruri_raw, "sip:p1.example.com;transport=tcp");
    CHK_STR(bye->ruri.transport, "tcp");
    /* Route = the rest, then the remote target */
    chk_routes(bye, want, 2);
    /* the next hop is the strict router */
    CHK_STR(out.next_hop.host, "p1.example.com");
    CHK_STR(out.next_hop.transport, "tcp");
    msg_free(bye);
    sip_dlg_free(d);
    msg_free(ok);

    /* a single strict route: Route holds only the remote target */
    ok = resp_for_tx(
        "SIP/2.0 200 OK", "t",
        "Record-Route: <sip:p1.example.com>\r\nContact: <sip:bob@192.0.2.4>\r\n");
    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    bye = dlg_build(d, "BYE", NULL, &out);
    CHK_STR(bye->ruri_raw, "sip:p1.example.com");
    chk_routes(bye, want + 1, 1);
    msg_free(bye);
    sip_dlg_free(d);
    msg_free(ok);

    /* no route set: straight to the remote target */
    ok = resp_for_tx("SIP/2.0 200 OK", "t", "Contact: <sip:bob@192.0.2.4:5070>\r\n");
    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    bye = dlg_build(d, "BYE", NULL, &out);
    CHK_STR(bye->ruri_raw, "sip:bob@192.0.2.4:5070");
    chk_routes(bye, NULL, 0);
    CHK_STR(out.next_hop.raw, "sip:bob@192.0.2.4:5070");
    CHK_INT(out.next_hop.port, 5070);
    msg_free(bye);
    sip_dlg_free(d);
    msg_free(ok);
    msg_free(inv);
}

/* ---- ACK for 2xx (§13.2.2.4), CSeq rules of our requests ---- */

static void test_ack_and_cseq(void **state)
{
    static const char *const want[] = {"sip:p1.example.com;lr"};
    struct sip_msg *inv = parse(INVITE_TX);
    struct sip_msg *ok = resp_for_tx("SIP/2.0 200 OK", "t",
                                     "Record-Route: <sip:p1.example.com;lr>\r\n"
                                     "Contact: <sip:bob@192.0.2.4>\r\n");
    struct sip_msg *m;
    struct sip_dlg *d;
    struct sip_req_out out;
    struct sip_dlg_req r;
    struct sk_buf b;
    (void) state;
    g_ctx = "ack";

    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    m = dlg_build(d, "ACK", NULL, &out);
    CHK_STR(m->method, "ACK");
    CHK_INT(m->cseq.num, 101);
    CHK_STR(m->cseq.method, "ACK");
    CHK(!sk_str_eq(m->via.branch, inv->via.branch)); /* a new transaction's branch */
    chk_via(m, &out);
    chk_routes(m, want, 1);
    CHK_STR(m->ruri_raw, "sip:bob@192.0.2.4");
    CHK(sip_msg_hdr(m, SIP_HDR_CONTACT) == NULL);
    CHK_INT(d->local_cseq, 101); /* no increment */
    msg_free(m);
    /* the ACK of a retransmitted 2xx is the same again */
    m = dlg_build(d, "ACK", NULL, &out);
    CHK_INT(m->cseq.num, 101);
    msg_free(m);

    /* a re-INVITE: 102; its ACK: 102; then BYE: 103 */
    m = dlg_build(d, "INVITE", NULL, &out);
    CHK_INT(m->cseq.num, 102);
    CHK_STR(sip_msg_hdr(m, SIP_HDR_CONTACT)->value, "<sip:alice@192.0.2.1:5060>");
    msg_free(m);
    m = dlg_build(d, "ACK", NULL, &out);
    CHK_INT(m->cseq.num, 102);
    msg_free(m);
    m = dlg_build(d, "BYE", NULL, &out);
    CHK_INT(m->cseq.num, 103);
    msg_free(m);

    /* ack_cseq picks another INVITE's number */
    memset(&r, 0, sizeof(r));
    r.method = SK_STR_LIT("ACK");
    r.ack_cseq = 77;
    r.c = common();
    sk_buf_init(&b);
    CHK_INT(sip_dlg_request(d, &r, &b, &out), 0);
    CHK_INT(out.cseq, 77);
    /* CANCEL is the transaction layer's (sip_txn_cancel) */
    sk_buf_reset(&b);
    r.method = SK_STR_LIT("CANCEL");
    CHK_INT(sip_dlg_request(d, &r, &b, &out), EINVAL);
    r.method = SK_STR_LIT("BAD METHOD");
    CHK_INT(sip_dlg_request(d, &r, &b, &out), EINVAL);
    CHK_INT(d->local_cseq, 103);
    /* NOTIFY and UPDATE carry Contact, REFER too, MESSAGE not */
    r.method = SK_STR_LIT("REFER");
    r.c.extra = SK_STR_LIT("Refer-To: <sip:carol@example.com>\r\n");
    CHK_INT(sip_dlg_request(d, &r, &b, &out), 0);
    CHK(strstr(b.p, "\r\nContact: <sip:alice@192.0.2.1:5060>\r\n") != NULL);
    sk_buf_reset(&b);
    r.method = SK_STR_LIT("MESSAGE");
    r.c.extra = SK_STR_NULL;
    CHK_INT(sip_dlg_request(d, &r, &b, &out), 0);
    CHK(strstr(b.p, "\r\nContact:") == NULL);
    /* bad extra lines: EINVAL, CSeq unchanged */
    sk_buf_reset(&b);
    r.c.extra = SK_STR_LIT("X-No-CRLF: 1");
    uint32_t before = d->local_cseq;
    CHK_INT(sip_dlg_request(d, &r, &b, &out), EINVAL);
    CHK_INT(d->local_cseq, before);
    /* CSeq must stay below 2^31 */
    r.c.extra = SK_STR_NULL;
    d->local_cseq = SIP_CSEQ_MAX;
    CHK_INT(sip_dlg_request(d, &r, &b, &out), ERANGE);
    d->local_cseq = SIP_CSEQ_MAX - 1;
    CHK_INT(sip_dlg_request(d, &r, &b, &out), 0);
    CHK_INT(out.cseq, SIP_CSEQ_MAX);
    sk_buf_free(&b);
    sip_dlg_free(d);

    /* an ACK from a dialog with no INVITE (SUBSCRIBE-made) needs ack_cseq */
    msg_free(ok);
    msg_free(inv);
    inv = parse("SUBSCRIBE sip:bob@biloxi.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsub\r\n"
                "From: <sip:alice@atlanta.com>;tag=s1\r\n"
                "To: <sip:bob@biloxi.com>\r\n"
                "Call-ID: sub1\r\n"
                "CSeq: 5 SUBSCRIBE\r\n"
                "Event: presence\r\n"
                "Contact: <sip:alice@192.0.2.1>\r\n"
                "Content-Length: 0\r\n\r\n");
    ok = parse("SIP/2.0 202 Accepted\r\n"
               "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsub\r\n"
               "From: <sip:alice@atlanta.com>;tag=s1\r\n"
               "To: <sip:bob@biloxi.com>;tag=s2\r\n"
               "Call-ID: sub1\r\n"
               "CSeq: 5 SUBSCRIBE\r\n"
               "Contact: <sip:bob@192.0.2.4>\r\n"
               "Content-Length: 0\r\n\r\n");
    CHK_INT(sip_dlg_new_uac(&d, inv, ok, false), 0);
    CHK_INT(d->method, SIP_METHOD_SUBSCRIBE);
    memset(&r, 0, sizeof(r));
    r.method = SK_STR_LIT("ACK");
    r.c = common();
    sk_buf_init(&b);
    CHK_INT(sip_dlg_request(d, &r, &b, &out), EINVAL);
    sk_buf_free(&b);
    sip_dlg_free(d);
    msg_free(ok);
    msg_free(inv);
}

/* ---- Received requests (§12.2.2) ---- */

static struct sip_msg *rx_in_dialog(const char *method, unsigned cseq,
                                    const char *contact)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "%s sip:bob@192.0.2.4 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK%s%u\r\n"
             "From: \"Alice A.\" <sip:alice@atlanta.com>;tag=1928301774\r\n"
             "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
             "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
             "CSeq: %u %s\r\n"
             "%s%s%s"
             "Content-Length: 0\r\n\r\n",
             method, method, cseq, cseq, method, contact ? "Contact: " : "",
             contact ? contact : "", contact ? "\r\n" : "");
    return parse(buf);
}

static void test_rx_cseq(void **state)
{
    struct sip_msg *inv = parse(INVITE_RX), *m;
    struct sip_dlg *d;
    struct sip_dlg_verdict v;
    (void) state;
    g_ctx = "rx cseq";

    assert_int_equal(
        sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"), SK_STR_NULL, false, false), 0);
    msg_free(inv);
    /* the ACK of the INVITE: same number, fine */
    m = rx_in_dialog("ACK", 314159, NULL);
    CHK(sip_dlg_match(d, m));
    CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
    CHK_INT(v.status, 0);
    msg_free(m);
    /* lower: 500 with Retry-After, remote CSeq unchanged */
    m = rx_in_dialog("INFO", 314158, NULL);
    CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
    CHK_INT(v.status, 500);
    CHK(v.retry_after <= SIP_DLG_RETRY_AFTER_MAX);
    CHK_INT(d->remote_cseq, 314159);
    msg_free(m);
    /* higher: in order, recorded */
    m = rx_in_dialog("BYE", 314170, NULL);
    CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
    CHK_INT(v.status, 0);
    CHK_INT(d->remote_cseq, 314170);
    msg_free(m);
    /* a lower ACK or CANCEL is not checked */
    m = rx_in_dialog("CANCEL", 2, NULL);
    CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
    CHK_INT(v.status, 0);
    CHK_INT(d->remote_cseq, 314170);
    msg_free(m);
    /* a terminated dialog answers 481 */
    CHK(sip_dlg_rx_response(d, 481));
    m = rx_in_dialog("INFO", 314171, NULL);
    CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
    CHK_INT(v.status, 481);
    msg_free(m);
    sip_dlg_free(d);

    /* UAC: the remote CSeq starts empty and is set by the first request */
    {
        struct sip_msg *tx = parse(INVITE_TX);
        struct sip_msg *ok = resp_for_tx("SIP/2.0 200 OK", "t", "Contact: <sip:b@h>\r\n");
        CHK_INT(sip_dlg_new_uac(&d, tx, ok, false), 0);
        msg_free(tx);
        msg_free(ok);
        CHK(!d->has_remote_cseq);
        m = parse("BYE sip:alice@192.0.2.1:5060 SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP h;branch=z9hG4bKb1\r\n"
                  "From: Bob <sip:bob@biloxi.com>;tag=t\r\n"
                  "To: Alice <sip:alice@atlanta.com>;tag=88sja8x\r\n"
                  "Call-ID: 987asjd97y7atg\r\n"
                  "CSeq: 5 BYE\r\n"
                  "Content-Length: 0\r\n\r\n");
        CHK(sip_dlg_match(d, m));
        CHK_INT(sip_dlg_rx_request(d, m, &v), 0);
        CHK_INT(v.status, 0);
        CHK(d->has_remote_cseq);
        CHK_INT(d->remote_cseq, 5);
        msg_free(m);
        sip_dlg_free(d);
    }
}

static void test_target_refresh(void **state)
{
    struct sip_msg *inv = parse(INVITE_RX), *re, *bye;
    struct sip_dlg *d;
    struct sip_dlg_verdict v;
    struct sip_req_out out;
    (void) state;
    g_ctx = "target refresh";

    assert_int_equal(
        sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"), SK_STR_NULL, false, false), 0);
    msg_free(inv);
    CHK(sip_dlg_method_refreshes(SK_STR_LIT("INVITE")));
    CHK(sip_dlg_method_refreshes(SK_STR_LIT("UPDATE")));
    CHK(!sip_dlg_method_refreshes(SK_STR_LIT("BYE")));
    CHK(!sip_dlg_method_refreshes(SK_STR_LIT("INFO")));

    re = rx_in_dialog("INVITE", 314160, "<sip:alice@198.51.100.7:5062>");
    CHK_INT(sip_dlg_rx_request(d, re, &v), 0);
    CHK_INT(v.status, 0);
    /* not yet: only once the UA accepts it */
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:alice@pc33.atlanta.com;transport=udp");
    CHK_INT(sip_dlg_target_refresh(d, re), 0);
    msg_free(re);
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:alice@198.51.100.7:5062");
    bye = dlg_build(d, "BYE", NULL, &out);
    CHK_STR(bye->ruri_raw, "sip:alice@198.51.100.7:5062");
    msg_free(bye);
    /* an UPDATE without Contact leaves the target */
    re = rx_in_dialog("UPDATE", 314161, NULL);
    CHK_INT(sip_dlg_target_refresh(d, re), ENOENT);
    CHK_STRC(sk_str_cstr(d->remote_target), "sip:alice@198.51.100.7:5062");
    msg_free(re);
    /* our own Contact changes */
    CHK_INT(sip_dlg_set_local_contact(d, SK_STR_LIT("<sip:bob@203.0.113.9>")), 0);
    CHK_STRC(sk_str_cstr(d->local_contact), "<sip:bob@203.0.113.9>");
    CHK_INT(sip_dlg_set_local_contact(d, SK_STR_NULL), 0);
    CHK(d->local_contact == NULL);
    sip_dlg_free(d);
}

/* ---- Matching ---- */

static void test_matching(void **state)
{
    struct sip_msg *inv = parse(INVITE_RX), *m;
    struct sip_dlg *d;
    struct sip_dlg_id a, b;
    struct sk_buf k;
    (void) state;
    g_ctx = "matching";

    assert_int_equal(
        sip_dlg_new_uas(&d, inv, SK_STR_LIT("a6c85cf"), SK_STR_NULL, false, false), 0);
    CHK(!sip_dlg_is_in_dialog(inv)); /* no To tag: a new request */
    CHK(!sip_dlg_match(d, inv));
    msg_free(inv);
    m = rx_in_dialog("BYE", 314160, NULL);
    CHK(sip_dlg_is_in_dialog(m));
    CHK(sip_dlg_match(d, m));
    CHK_INT(sip_dlg_id_of_rx(m, &a), 0);
    CHK_STR(a.local_tag, "a6c85cf");
    CHK_STR(a.remote_tag, "1928301774");
    b = sip_dlg_id_of(d);
    CHK(sip_dlg_id_equal(&a, &b));
    sk_buf_init(&k);
    CHK_INT(sip_dlg_key(&k, &a), 0);
    CHK_STRC(sk_buf_str(&k), d->key);
    sk_buf_free(&k);
    msg_free(m);
    /* the tags are case-sensitive, and swapped tags are another dialog */
    m = parse("BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
              "From: <sip:alice@atlanta.com>;tag=a6c85cf\r\n"
              "To: <sip:bob@biloxi.com>;tag=1928301774\r\n"
              "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
              "CSeq: 9 BYE\r\n"
              "Content-Length: 0\r\n\r\n");
    CHK(sip_dlg_is_in_dialog(m)); /* meant for a dialog, but none matches: 481 */
    CHK(!sip_dlg_match(d, m));
    msg_free(m);
    m = parse("BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
              "From: <sip:alice@atlanta.com>;tag=1928301774\r\n"
              "To: <sip:bob@biloxi.com>;tag=A6C85CF\r\n"
              "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
              "CSeq: 9 BYE\r\n"
              "Content-Length: 0\r\n\r\n");
    CHK(!sip_dlg_match(d, m));
    msg_free(m);
    /* keys do not collide when bytes move between parts */
    {
        struct sip_dlg_id x = {SK_STR_LIT("ab"), SK_STR_LIT("c"), SK_STR_LIT("")};
        struct sip_dlg_id y = {SK_STR_LIT("a"), SK_STR_LIT("bc"), SK_STR_LIT("")};
        struct sk_buf kx, ky;
        sk_buf_init(&kx);
        sk_buf_init(&ky);
        sip_dlg_key(&kx, &x);
        sip_dlg_key(&ky, &y);
        CHK(strcmp(kx.p, ky.p) != 0);
        CHK(!sip_dlg_id_equal(&x, &y));
        sk_buf_free(&kx);
        sk_buf_free(&ky);
    }
    /* responses to in-dialog requests: 481 and 408 end it */
    CHK(!sip_dlg_rx_response(d, 200));
    CHK(!sip_dlg_rx_response(d, 486));
    CHK_INT(d->state, SIP_DLG_CONFIRMED);
    CHK(sip_dlg_rx_response(d, 408));
    CHK_INT(d->state, SIP_DLG_TERMINATED);
    CHK_STRC(sk_str_cstr(sip_dlg_state_name(d->state)), "terminated");
    sip_dlg_free(d);
    sip_dlg_free(NULL);
}

/* ---- Requests outside a dialog (§8.1.1) ---- */

static void test_uac_request(void **state)
{
    static const char *const want[] = {"sip:proxy.example.com;lr"};
    const struct sk_str routes[] = {SK_STR_LIT("<sip:proxy.example.com;lr>")};
    struct sip_uac_req r;
    struct sip_req_out out;
    struct sk_buf b;
    struct sip_msg *m;
    struct sk_str v;
    (void) state;
    g_ctx = "uac request";

    memset(&r, 0, sizeof(r));
    r.method = SK_STR_LIT("INVITE");
    r.ruri = SK_STR_LIT("sip:bob@biloxi.com");
    r.from = SK_STR_LIT("\"Alice\" <sip:alice@atlanta.com>");
    r.to = SK_STR_LIT("<sip:bob@biloxi.com>");
    r.contact = SK_STR_LIT("<sip:alice@192.0.2.1:5060>");
    r.routes = routes;
    r.nroutes = 1;
    r.c = common();
    r.c.user_agent = SK_STR_LIT("sipkit/0.1");
    r.c.allow = SK_STR_LIT("INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
    r.c.supported = SK_STR_LIT("replaces, timer");
    r.c.extra = SK_STR_LIT("Subject: lunch\r\nX-Test: 1\r\n");
    r.c.ctype = SK_STR_LIT("application/sdp");
    r.c.body = SK_STR_LIT("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
    sk_buf_init(&b);
    CHK_INT(sip_uac_print_request(&b, &r, &out), 0);
    m = parse_n(b.p, b.len);
    CHK_STR(m->method, "INVITE");
    CHK_STR(m->ruri_raw, "sip:bob@biloxi.com");
    chk_via(m, &out);
    CHK_INT(m->max_forwards, 70);
    chk_routes(m, want, 1);
    CHK_STR(m->from.uri.raw, "sip:alice@atlanta.com");
    CHK_STR(m->from.display, "Alice");
    CHK_INT(strlen(out.from_tag), 16);
    CHK_STRC(m->from.tag, out.from_tag);
    CHK(!sk_str_isset(m->to.tag));
    CHK_INT(strlen(out.call_id), 32);
    CHK_STRC(m->call_id, out.call_id);
    CHK_INT(m->cseq.num, out.cseq);
    CHK(out.cseq >= 1 && out.cseq <= (1u << 30));
    CHK_STR(m->cseq.method, "INVITE");
    CHK_STR(sip_msg_hdr(m, SIP_HDR_CONTACT)->value, "<sip:alice@192.0.2.1:5060>");
    CHK_INT(sip_msg_text(m, SIP_HDR_USER_AGENT, &v), 0);
    CHK_STR(v, "sipkit/0.1");
    CHK_STR(sip_msg_hdr(m, SIP_HDR_ALLOW)->value,
            "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
    CHK_STR(sip_msg_hdr(m, SIP_HDR_SUPPORTED)->value, "replaces, timer");
    CHK_STR(sip_msg_hdr(m, SIP_HDR_SUBJECT)->value, "lunch");
    CHK_STR(sip_msg_hdr_by_name(m, "X-Test")->value, "1");
    CHK_STR(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");
    CHK_INT(m->content_length, r.c.body.len);
    CHK_STR(m->body, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
    CHK_STR(out.next_hop.host, "proxy.example.com");

    /* the dialog from our own INVITE and Bob's 200 (built with the response printer) */
    {
        struct sk_buf rb;
        struct sip_msg *ok;
        struct sip_dlg *d;
        sk_buf_init(&rb);
        sip_print_response_head(&rb, m, 200, NULL, SK_STR_LIT("bob-tag"));
        sk_buf_puts(&rb, "Record-Route: <sip:proxy.example.com;lr>\r\n"
                         "Contact: <sip:bob@192.0.2.4>\r\n");
        sip_print_body(&rb, SK_STR_NULL, SK_STR_NULL);
        ok = parse_n(rb.p, rb.len);
        sk_buf_free(&rb);
        CHK_INT(sip_dlg_new_uac(&d, m, ok, false), 0);
        CHK_STRC(sk_str_cstr(d->local_tag), out.from_tag);
        CHK_STRC(sk_str_cstr(d->call_id), out.call_id);
        CHK_INT(d->invite_cseq, out.cseq);
        CHK_STRC(sk_str_cstr(d->local_uri), "\"Alice\" <sip:alice@atlanta.com>");
        sip_dlg_free(d);
        msg_free(ok);
    }
    msg_free(m);

    /* given tag, Call-ID, CSeq, Max-Forwards; no routes: next hop = Request-URI */
    sk_buf_reset(&b);
    memset(&r, 0, sizeof(r));
    r.method = SK_STR_LIT("OPTIONS");
    r.ruri = SK_STR_LIT("sip:192.0.2.9:5070;transport=tcp");
    r.from = SK_STR_LIT("<sip:alice@atlanta.com>");
    r.from_tag = SK_STR_LIT("mytag");
    r.to = SK_STR_LIT("<sip:192.0.2.9>");
    r.call_id = SK_STR_LIT("cid@host");
    r.cseq = 7;
    r.max_forwards = 0;
    r.c = common();
    r.c.proto = SIP_PROTO_TCP;
    CHK_INT(sip_uac_print_request(&b, &r, &out), 0);
    m = parse_n(b.p, b.len);
    CHK_STR(m->via.transport, "TCP");
    CHK_STR(m->from.tag, "mytag");
    CHK_STR(m->call_id, "cid@host");
    CHK_INT(m->cseq.num, 7);
    CHK_STRC(sk_str_cstr(out.from_tag), "");
    CHK_STRC(sk_str_cstr(out.call_id), "");
    CHK(sip_msg_hdr(m, SIP_HDR_ROUTE) == NULL);
    CHK(sip_msg_hdr(m, SIP_HDR_CONTACT) == NULL);
    CHK(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE) == NULL);
    CHK_INT(m->content_length, 0);
    CHK_INT(out.next_hop.port, 5070);
    CHK_STR(out.next_hop.transport, "tcp");
    msg_free(m);
    sk_buf_free(&b);
}

static void test_uac_request_errors(void **state)
{
    struct sk_str routes[SIP_UAC_MAX_ROUTES + 1];
    struct sip_uac_req r, ok;
    struct sip_req_out out;
    struct sk_buf b;
    (void) state;
    g_ctx = "uac request errors";

    memset(&ok, 0, sizeof(ok));
    ok.method = SK_STR_LIT("MESSAGE");
    ok.ruri = SK_STR_LIT("sip:bob@biloxi.com");
    ok.from = SK_STR_LIT("<sip:alice@atlanta.com>");
    ok.to = SK_STR_LIT("<sip:bob@biloxi.com>");
    ok.c = common();
    sk_buf_init(&b);
#define BAD(field, value, rc)                                                            \
    do {                                                                                 \
        r = ok;                                                                          \
        r.field = value;                                                                 \
        sk_buf_reset(&b);                                                                \
        CHK_INT(sip_uac_print_request(&b, &r, &out), rc);                                \
        if (rc) CHK_INT(b.len, 0);                                                       \
    } while (0)
    BAD(method, SK_STR_NULL, EINVAL);
    BAD(method, SK_STR_LIT("MES SAGE"), EINVAL);
    BAD(ruri, SK_STR_NULL, EINVAL);
    BAD(ruri, SK_STR_LIT("not a uri"), EINVAL);
    BAD(from, SK_STR_NULL, EINVAL);
    BAD(from, SK_STR_LIT("<sip:a@b>\r\nX-Injected: 1"), EINVAL);
    BAD(to, SK_STR_NULL, EINVAL);
    BAD(call_id, SK_STR_LIT("a\nb"), EINVAL);
    BAD(cseq, SIP_CSEQ_MAX + 1u, EINVAL);
    BAD(c.sent_by, NULL, EINVAL);
    BAD(c.extra, SK_STR_LIT("X-A: 1\r\nX-B: 2"), EINVAL);
    BAD(c.user_agent, SK_STR_LIT("a\r\nb"), EINVAL);
    BAD(nroutes, 1, EINVAL); /* routes NULL */
    routes[0] = SK_STR_LIT("garbage<");
    ok.routes = routes;
    BAD(nroutes, 1, EINVAL);
    routes[0] = SK_STR_LIT("<sip:p;lr>, <sip:q;lr>"); /* one value per entry */
    BAD(nroutes, 1, EINVAL);
    for (int i = 0; i <= SIP_UAC_MAX_ROUTES; i++)
        routes[i] = SK_STR_LIT("<sip:p;lr>");
    BAD(nroutes, SIP_UAC_MAX_ROUTES + 1, E2BIG);
    BAD(nroutes, SIP_UAC_MAX_ROUTES, 0);
#undef BAD
    /* the lower-level printer refuses a route count without routes */
    {
        struct sip_uri t;
        struct sip_error e;
        struct sip_req_parts p;
        char branch[SIP_BRANCH_SIZE];
        assert_int_equal(sip_uri_parse(&t, "sip:b@h", 7, &e), 0);
        memset(&p, 0, sizeof(p));
        p.method = SK_STR_LIT("BYE");
        p.target = &t;
        p.nroutes = 2;
        p.from = SK_STR_LIT("<sip:a@h>");
        p.to = SK_STR_LIT("<sip:b@h>");
        p.call_id = SK_STR_LIT("c");
        p.cseq = 1;
        p.c = &ok.c;
        sk_buf_reset(&b);
        CHK_INT(sip_req_print(&b, &p, branch, sizeof(branch), NULL), EINVAL);
        p.nroutes = 0;
        CHK_INT(sip_req_print(&b, &p, branch, 8, NULL), EINVAL); /* branch too small */
        CHK_INT(sip_req_print(&b, &p, branch, sizeof(branch), NULL), 0);
        CHK(strstr(b.p, "BYE sip:b@h SIP/2.0\r\n") == b.p);
    }
    sk_buf_free(&b);
    /* helpers: too small buffers give empty strings */
    {
        char t[4] = "xyz";
        sip_tag_new(t, sizeof(t));
        CHK_INT(t[0], 0);
        sip_callid_new(t, sizeof(t));
        CHK_INT(t[0], 0);
    }
}

/* ---- Allocation failures: every one is reported as ENOMEM and leaves the state
 * as it was; the test links with --wrap (see the top of the file). ---- */

static bool wrapping_works(void)
{
    struct sk_buf b;
    bool failed;

    sk_buf_init(&b);
    fail_from(0);
    sk_buf_puts(&b, "x");
    failed = b.failed;
    fail_none();
    sk_buf_free(&b);
    return failed;
}

static void test_alloc_failures(void **state)
{
    struct sip_msg *inv_rx, *inv_tx, *ringing, *ok, *re;
    struct sip_dlg *d, *early;
    int rc;
    long k;
    (void) state;
    g_ctx = "alloc failures";

    if (!wrapping_works()) {
        print_message("allocation failure injection unavailable (no --wrap): skipped\n");
        skip();
    }
    inv_rx = parse(INVITE_RX);
    inv_tx = parse(INVITE_TX);
    ringing = resp_for_tx(
        "SIP/2.0 180 Ringing", "t",
        "Record-Route: <sip:p2.example.com;lr>\r\n"
        "Record-Route: <sip:p1.example.com;lr>\r\nContact: <sip:b@10.0.0.1>\r\n");
    ok = resp_for_tx("SIP/2.0 200 OK", "t",
                     "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>, "
                     "<sip:p1.example.com;lr>\r\nContact: <sip:b@10.0.0.2>\r\n");
    re = rx_in_dialog("INVITE", 314160, "<sip:alice@198.51.100.7>");
    /* the accessors cache their result: fill the caches before failing anything */
    assert_int_equal(sip_dlg_new_uas(&d, inv_rx, SK_STR_LIT("x"), SK_STR_LIT("<sip:b@h>"),
                                     false, false),
                     0);
    sip_dlg_free(d);
    assert_int_equal(sip_dlg_new_uac(&d, inv_tx, ok, false), 0);
    sip_dlg_free(d);
    assert_int_equal(sip_dlg_new_uac(&d, inv_tx, ringing, false), 0);
    sip_dlg_free(d);
    {
        const struct sip_addr *a;
        struct sip_error e;
        size_t n;
        assert_int_equal(sip_msg_addrs(re, SIP_HDR_CONTACT, &a, &n, &e), 0);
    }

    g_ctx = "new_uas";
    for (k = 0;; k++) {
        d = NULL;
        fail_from(k);
        rc = sip_dlg_new_uas(&d, inv_rx, SK_STR_LIT("x"), SK_STR_LIT("<sip:b@h>"), false,
                             false);
        fail_none();
        if (rc == 0) {
            CHK(g_allocs <= k); /* no failed allocation was swallowed */
            break;
        }
        CHK_INT(rc, ENOMEM);
        CHK(d == NULL);
    }
    CHK(k > 5);
    sip_dlg_free(d);

    g_ctx = "new_uac";
    for (k = 0;; k++) {
        d = NULL;
        fail_from(k);
        rc = sip_dlg_new_uac(&d, inv_tx, ringing, false);
        fail_none();
        if (rc == 0) {
            CHK(g_allocs <= k); /* no failed allocation was swallowed */
            break;
        }
        CHK_INT(rc, ENOMEM);
        CHK(d == NULL);
    }
    CHK(k > 5);
    early = d;

    g_ctx = "uac_response";
    for (k = 0;; k++) {
        fail_from(k);
        rc = sip_dlg_uac_response(early, ok);
        fail_none();
        if (rc == 0) {
            CHK(g_allocs <= k); /* no failed allocation was swallowed */
            break;
        }
        CHK_INT(rc, ENOMEM);
        CHK_INT(early->state, SIP_DLG_EARLY);
        CHK_INT(early->nroutes, 2);
        CHK_STRC(sk_str_cstr(early->remote_target), "sip:b@10.0.0.1");
    }
    CHK(k > 1);
    CHK_INT(early->nroutes, 3);
    CHK_INT(early->state, SIP_DLG_CONFIRMED);

    g_ctx = "target_refresh";
    for (k = 0;; k++) {
        fail_from(k);
        rc = sip_dlg_target_refresh(early, re);
        fail_none();
        if (rc == 0) {
            CHK(g_allocs <= k); /* no failed allocation was swallowed */
            break;
        }
        CHK_INT(rc, ENOMEM);
        CHK_STRC(sk_str_cstr(early->remote_target), "sip:b@10.0.0.2");
    }
    CHK_STRC(sk_str_cstr(early->remote_target), "sip:alice@198.51.100.7");

    g_ctx = "set_local_contact";
    fail_from(0);
    rc = sip_dlg_set_local_contact(early, SK_STR_LIT("<sip:new@h>"));
    fail_none();
    CHK_INT(rc, ENOMEM);
    CHK_STRC(sk_str_cstr(early->local_contact), "<sip:alice@192.0.2.1:5060>");

    g_ctx = "request";
    for (k = 0;; k++) {
        struct sip_dlg_req r;
        struct sip_req_out out;
        struct sk_buf b;
        uint32_t before = early->local_cseq;
        memset(&r, 0, sizeof(r));
        r.method = SK_STR_LIT("BYE");
        r.c = common();
        sk_buf_init(&b);
        fail_from(k);
        rc = sip_dlg_request(early, &r, &b, &out);
        fail_none();
        sk_buf_free(&b);
        if (rc == 0) {
            CHK(g_allocs <= k);
            CHK_INT(early->local_cseq, before + 1);
            break;
        }
        CHK_INT(rc, ENOMEM);
        CHK_INT(early->local_cseq, before);
    }
    sip_dlg_free(early);

    g_ctx = "uac_print_request";
    for (k = 0;; k++) {
        struct sip_uac_req r;
        struct sip_req_out out;
        struct sk_buf b;
        memset(&r, 0, sizeof(r));
        r.method = SK_STR_LIT("OPTIONS");
        r.ruri = SK_STR_LIT("sip:bob@biloxi.com");
        r.from = SK_STR_LIT("<sip:alice@atlanta.com>");
        r.to = SK_STR_LIT("<sip:bob@biloxi.com>");
        r.c = common();
        r.c.body = SK_STR_LIT("hello");
        r.c.ctype = SK_STR_LIT("text/plain");
        sk_buf_init(&b);
        fail_from(k);
        rc = sip_uac_print_request(&b, &r, &out);
        fail_none();
        sk_buf_free(&b);
        if (rc == 0) {
            CHK(g_allocs <= k); /* no failed allocation was swallowed */
            break;
        }
        CHK_INT(rc, ENOMEM);
    }
    msg_free(inv_rx);
    msg_free(inv_tx);
    msg_free(ringing);
    msg_free(ok);
    msg_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uas_create),
        cmocka_unit_test(test_uas_secure_and_errors),
        cmocka_unit_test(test_uas_bye_loose),
        cmocka_unit_test(test_uas_response_head),
        cmocka_unit_test(test_display_control_chars),
        cmocka_unit_test(test_uac_create_reverse_routes),
        cmocka_unit_test(test_uac_errors),
        cmocka_unit_test(test_early_to_confirmed),
        cmocka_unit_test(test_forked_dialogs),
        cmocka_unit_test(test_strict_routing),
        cmocka_unit_test(test_ack_and_cseq),
        cmocka_unit_test(test_rx_cseq),
        cmocka_unit_test(test_target_refresh),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_uac_request),
        cmocka_unit_test(test_uac_request_errors),
        cmocka_unit_test(test_alloc_failures),
    };
    g_me = our_addr();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
