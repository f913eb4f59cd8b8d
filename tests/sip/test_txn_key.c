/* Tests of the transaction keys (RFC 3261 §17.1.3, §17.2.3, the RFC 2543 fallback, §9.2
 * CANCEL). */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip/txn_key.h"

/* One message's varying parts; NULL fields take the defaults of an INVITE. */
struct m_spec {
    const char *method; /* request method; NULL with code set: a response */
    int code;
    const char *ruri;
    const char *via; /* the whole top Via value */
    const char *from_tag, *to_tag, *call_id;
    unsigned cseq;
    const char *cseq_method; /* defaults to the method (INVITE for responses) */
};

#define VIA_3261 "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"
#define VIA_2543 "SIP/2.0/UDP pc33.atlanta.com:5060"

/* Parsed messages live here, one slot per message a test holds at once. */
struct m_slot {
    char text[1024];
    struct sip_msg m;
};

static struct sip_msg *mk(struct m_slot *s, struct m_spec sp)
{
    const char *method = sp.method ? sp.method : "INVITE";
    const char *cm = sp.cseq_method ? sp.cseq_method : method;
    char line[256], to[128];
    struct sip_error e;
    size_t used;
    int n;

    if (sp.code)
        snprintf(line, sizeof(line), "SIP/2.0 %d Whatever", sp.code);
    else
        snprintf(line, sizeof(line), "%s %s SIP/2.0", method,
                 sp.ruri ? sp.ruri : "sip:bob@biloxi.com");
    if (sp.to_tag)
        snprintf(to, sizeof(to), "<sip:bob@biloxi.com>;tag=%s", sp.to_tag);
    else
        snprintf(to, sizeof(to), "<sip:bob@biloxi.com>");
    n = snprintf(s->text, sizeof(s->text),
                 "%s\r\nVia: %s\r\nMax-Forwards: 70\r\nTo: %s\r\n"
                 "From: Alice <sip:alice@atlanta.com>%s%s\r\nCall-ID: %s\r\n"
                 "CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
                 line, sp.via ? sp.via : VIA_3261, to, sp.from_tag ? ";tag=" : "",
                 sp.from_tag ? sp.from_tag : "",
                 sp.call_id ? sp.call_id : "a84b4c76e66710", sp.cseq ? sp.cseq : 314159,
                 cm);
    assert_true(n > 0 && (size_t) n < sizeof(s->text));
    sip_msg_init(&s->m);
    assert_int_equal(
        sip_msg_parse(&s->m, s->text, (size_t) n, SIP_PARSE_DATAGRAM, NULL, &used, &e),
        0);
    return &s->m;
}

static void done(struct m_slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sip_msg_release(&s[i].m);
}

/* Equal keys agree in all three views; unequal ones differ in equality and print. */
static void same(const struct sip_txn_key *a, const struct sip_txn_key *b)
{
    struct sk_buf pa, pb;

    assert_true(sip_txn_key_equal(a, b));
    assert_true(sip_txn_key_equal(b, a));
    assert_true(sip_txn_key_hash(a) == sip_txn_key_hash(b));
    sk_buf_init(&pa);
    sk_buf_init(&pb);
    assert_int_equal(sip_txn_key_print(a, &pa), 0);
    assert_int_equal(sip_txn_key_print(b, &pb), 0);
    assert_string_equal(pa.p, pb.p);
    sk_buf_free(&pa);
    sk_buf_free(&pb);
}

static void differ(const struct sip_txn_key *a, const struct sip_txn_key *b)
{
    struct sk_buf pa, pb;

    assert_false(sip_txn_key_equal(a, b));
    assert_false(sip_txn_key_equal(b, a));
    sk_buf_init(&pa);
    sk_buf_init(&pb);
    assert_int_equal(sip_txn_key_print(a, &pa), 0);
    assert_int_equal(sip_txn_key_print(b, &pb), 0);
    assert_string_not_equal(pa.p, pb.p);
    sk_buf_free(&pa);
    sk_buf_free(&pb);
}

static void printed(const struct sip_txn_key *k, const char *want)
{
    struct sk_buf b;

    sk_buf_init(&b);
    assert_int_equal(sip_txn_key_print(k, &b), 0);
    assert_string_equal(b.p, want);
    sk_buf_free(&b);
}

static void test_magic_cookie(void **state)
{
    (void) state;
    assert_true(sip_branch_is_rfc3261(SK_STR_LIT("z9hG4bK776asdhds")));
    assert_true(sip_branch_is_rfc3261(SK_STR_LIT("z9hG4bKx")));
    /* only the cookie: no uniqueness (RFC 4475 badbranch) */
    assert_false(sip_branch_is_rfc3261(SK_STR_LIT("z9hG4bK")));
    /* the cookie is case-sensitive */
    assert_false(sip_branch_is_rfc3261(SK_STR_LIT("Z9HG4BK776asdhds")));
    assert_false(sip_branch_is_rfc3261(SK_STR_LIT("z9hg4bk776asdhds")));
    assert_false(sip_branch_is_rfc3261(SK_STR_LIT("776asdhds")));
    assert_false(sip_branch_is_rfc3261(SK_STR_NULL));
}

static void test_server_kinds(void **state)
{
    struct m_slot s[4];
    struct sip_txn_key k;
    (void) state;

    assert_int_equal(sip_txn_key_server(mk(&s[0], (struct m_spec){0}), &k), 0);
    assert_int_equal(k.kind, SIP_TXN_KEY_SERVER);
    printed(&k, "S|z9hG4bK776asdhds|pc33.atlanta.com:0|INVITE");

    assert_int_equal(
        sip_txn_key_server(
            mk(&s[1], (struct m_spec){.via = VIA_2543, .from_tag = "1928301774"}), &k),
        0);
    assert_int_equal(k.kind, SIP_TXN_KEY_SERVER_2543);
    printed(
        &k,
        "O|sip:bob@biloxi.com|1928301774|a84b4c76e66710|314159||pc33.atlanta.com:5060|"
        "INVITE");

    /* a branch without the cookie is a 2543 key too, and is part of it */
    assert_int_equal(
        sip_txn_key_server(mk(&s[2], (struct m_spec){.via = VIA_2543 ";branch=abc"}), &k),
        0);
    assert_int_equal(k.kind, SIP_TXN_KEY_SERVER_2543);
    printed(
        &k,
        "O|sip:bob@biloxi.com||a84b4c76e66710|314159|abc|pc33.atlanta.com:5060|INVITE");

    /* cookie only (RFC 4475 badbranch): 2543 rules */
    assert_int_equal(
        sip_txn_key_server(mk(&s[3], (struct m_spec){.via = VIA_2543 ";branch=z9hG4bK"}),
                           &k),
        0);
    assert_int_equal(k.kind, SIP_TXN_KEY_SERVER_2543);
    done(s, 4);
}

static void test_retransmission_and_methods(void **state)
{
    struct m_slot s[4];
    struct sip_txn_key inv, again, bye, other;
    (void) state;

    assert_int_equal(sip_txn_key_server(mk(&s[0], (struct m_spec){0}), &inv), 0);
    assert_int_equal(sip_txn_key_server(mk(&s[1], (struct m_spec){0}), &again), 0);
    same(&inv, &again);
    /* the same branch and sent-by with another method is another transaction */
    assert_int_equal(
        sip_txn_key_server(mk(&s[2], (struct m_spec){.method = "BYE"}), &bye), 0);
    differ(&inv, &bye);
    /* another branch */
    assert_int_equal(
        sip_txn_key_server(
            mk(&s[3],
               (struct m_spec){
                   .via = "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhdt"}),
            &other),
        0);
    differ(&inv, &other);
    done(s, 4);
}

static void test_ack_non2xx_matches_invite(void **state)
{
    struct m_slot s[3];
    struct sip_txn_key inv, ack, ack2xx;
    (void) state;

    assert_int_equal(
        sip_txn_key_server(mk(&s[0], (struct m_spec){.from_tag = "f1"}), &inv), 0);
    /* §17.1.1.3: the ACK of a non-2xx has the INVITE's branch, its CSeq number, the
     * response's To tag */
    assert_int_equal(sip_txn_key_server(mk(&s[1], (struct m_spec){.method = "ACK",
                                                                  .from_tag = "f1",
                                                                  .to_tag = "t-486"}),
                                        &ack),
                     0);
    assert_true(sk_str_eq_cstr(ack.method, "INVITE"));
    same(&inv, &ack);
    assert_true(
        sip_txn_key_to_tag_ok(&ack, SK_STR_LIT("anything"))); /* 3261: no tag rule */
    /* the ACK of a 2xx is a new request with a branch of its own (§13.2.2.4) */
    assert_int_equal(sip_txn_key_server(
                         mk(&s[2], (struct m_spec){.method = "ACK",
                                                   .via = "SIP/2.0/UDP pc33.atlanta.com;"
                                                          "branch=z9hG4bKnew2xxack",
                                                   .from_tag = "f1",
                                                   .to_tag = "t-200"}),
                         &ack2xx),
                     0);
    differ(&inv, &ack2xx);
    done(s, 3);
}

static void test_cancel(void **state)
{
    struct m_slot s[4];
    struct sip_txn_key inv, cancel, target, k;
    (void) state;

    assert_int_equal(sip_txn_key_server(mk(&s[0], (struct m_spec){0}), &inv), 0);
    assert_int_equal(
        sip_txn_key_server(mk(&s[1], (struct m_spec){.method = "CANCEL"}), &cancel), 0);
    /* the CANCEL is a transaction of its own (§9.2) ... */
    differ(&inv, &cancel);
    printed(&cancel, "S|z9hG4bK776asdhds|pc33.atlanta.com:0|CANCEL");
    /* ... and names the INVITE it cancels by the same key with method INVITE */
    assert_int_equal(sip_txn_key_cancel_target(&s[1].m, &target), 0);
    same(&inv, &target);
    /* only a CANCEL has a target */
    assert_int_equal(sip_txn_key_cancel_target(&s[0].m, &k), EINVAL);
    /* a CANCEL from another branch cancels nothing here */
    mk(&s[2], (struct m_spec){.method = "CANCEL",
                              .via = "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKother"});
    assert_int_equal(sip_txn_key_cancel_target(&s[2].m, &target), 0);
    differ(&inv, &target);
    /* RFC 2543: Request-URI, From tag, Call-ID, CSeq number and Via equal (§9.1) */
    mk(&s[3], (struct m_spec){.method = "CANCEL", .via = VIA_2543, .from_tag = "f1"});
    assert_int_equal(sip_txn_key_cancel_target(&s[3].m, &target), 0);
    mk(&s[0], (struct m_spec){.via = VIA_2543, .from_tag = "f1"});
    assert_int_equal(sip_txn_key_server(&s[0].m, &inv), 0);
    same(&inv, &target);
    done(s, 4);
}

static void test_sent_by(void **state)
{
    struct m_slot s[5];
    struct sip_txn_key bare, p5060, p5060b, p5070, upper;
    (void) state;

#define VB "branch=z9hG4bK776asdhds"
    sip_txn_key_server(
        mk(&s[0], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com;" VB}), &bare);
    sip_txn_key_server(
        mk(&s[1], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com:5060;" VB}),
        &p5060);
    sip_txn_key_server(
        mk(&s[2], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com:5060 ;" VB}),
        &p5060b);
    sip_txn_key_server(
        mk(&s[3], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com:5070;" VB}),
        &p5070);
    /* sent-by values compare: no port is not 5060 */
    differ(&bare, &p5060);
    same(&p5060, &p5060b);
    differ(&p5060, &p5070);
    printed(&p5060, "S|z9hG4bK776asdhds|pc33.atlanta.com:5060|INVITE");
    /* the host is case-insensitive, the branch is not */
    sip_txn_key_server(
        mk(&s[4], (struct m_spec){.via = "SIP/2.0/UDP PC33.Atlanta.COM:5060;" VB}),
        &upper);
    same(&p5060, &upper);
    sip_txn_key_server(
        mk(&s[4], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com:5060;"
                                         "branch=z9hG4bK776ASDHDS"}),
        &upper);
    differ(&p5060, &upper);
    /* the transport is not part of the key (§17.2.3 names branch, sent-by, method) */
    sip_txn_key_server(
        mk(&s[4], (struct m_spec){.via = "SIP/2.0/TCP pc33.atlanta.com:5060;" VB}),
        &upper);
    same(&p5060, &upper);
    /* IPv6 sent-by, with and without the brackets' case */
    sip_txn_key_server(
        mk(&s[0], (struct m_spec){.via = "SIP/2.0/UDP [2001:DB8::1]:5060;" VB}), &bare);
    sip_txn_key_server(
        mk(&s[1], (struct m_spec){.via = "SIP/2.0/UDP [2001:db8::1]:5060;" VB}), &p5060);
    same(&bare, &p5060);
#undef VB
    done(s, 5);
}

static void test_method_case(void **state)
{
    struct m_slot s[2];
    struct sip_txn_key a, b;
    (void) state;

    /* methods are case-sensitive (§7.1): "invite" is an extension method */
    sip_txn_key_server(mk(&s[0], (struct m_spec){0}), &a);
    sip_txn_key_server(mk(&s[1], (struct m_spec){.method = "invite"}), &b);
    differ(&a, &b);
    done(s, 2);
}

static void test_rfc2543_fallback(void **state)
{
    struct m_slot s[3];
    struct sip_txn_key inv, k;
    (void) state;

#define BASE .via = VIA_2543, .from_tag = "1928301774"
    assert_int_equal(sip_txn_key_server(mk(&s[0], (struct m_spec){BASE}), &inv), 0);
    /* a retransmission */
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE}), &k);
    same(&inv, &k);
    assert_true(sip_txn_key_to_tag_ok(&k, inv.to_tag)); /* both without a To tag */
    /* each field changed alone: another transaction */
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE, .ruri = "sip:bob@biloxi.com;x=1"}),
                       &k);
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){.via = VIA_2543, .from_tag = "other"}),
                       &k);
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){.via = VIA_2543}), &k); /* no From tag */
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE, .call_id = "other@host"}), &k);
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE, .cseq = 314160}), &k);
    differ(&inv, &k);
    sip_txn_key_server(
        mk(&s[1], (struct m_spec){.via = "SIP/2.0/UDP pc34.atlanta.com:5060",
                                  .from_tag = "1928301774"}),
        &k);
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){.via = "SIP/2.0/UDP pc33.atlanta.com",
                                                 .from_tag = "1928301774"}),
                       &k);
    differ(&inv, &k);
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE, .method = "BYE"}), &k);
    differ(&inv, &k);
    /* the host keeps its case rule */
    sip_txn_key_server(
        mk(&s[1], (struct m_spec){.via = "SIP/2.0/UDP PC33.atlanta.com:5060",
                                  .from_tag = "1928301774"}),
        &k);
    same(&inv, &k);

    /* the ACK: same key (CSeq number, not method), and the To tag of our response */
    sip_txn_key_server(
        mk(&s[2], (struct m_spec){BASE, .method = "ACK", .to_tag = "resp-tag"}), &k);
    same(&inv, &k);
    assert_true(sip_txn_key_to_tag_ok(&k, SK_STR_LIT("resp-tag")));
    assert_false(sip_txn_key_to_tag_ok(&k, SK_STR_LIT("resp-tag2")));
    assert_false(sip_txn_key_to_tag_ok(&k, SK_STR_NULL));
    /* an INVITE retransmission with a To tag the original lacked is not it */
    sip_txn_key_server(mk(&s[1], (struct m_spec){BASE, .to_tag = "x"}), &k);
    same(&inv, &k);
    assert_false(sip_txn_key_to_tag_ok(&k, inv.to_tag));
#undef BASE
    done(s, 3);
}

static void test_client_keys(void **state)
{
    struct m_slot s[5];
    struct sip_txn_key req, resp, made, k;
    (void) state;

    assert_int_equal(sip_txn_key_client(mk(&s[0], (struct m_spec){0}), &req), 0);
    assert_int_equal(req.kind, SIP_TXN_KEY_CLIENT);
    printed(&req, "C|z9hG4bK776asdhds|INVITE");
    /* §17.1.3: branch and CSeq method */
    assert_int_equal(
        sip_txn_key_client(mk(&s[1], (struct m_spec){.code = 180, .to_tag = "t"}), &resp),
        0);
    same(&req, &resp);
    sip_txn_key_client_make(SK_STR_LIT("z9hG4bK776asdhds"), SK_STR_LIT("INVITE"), &made);
    same(&req, &made);
    /* the 200 of a CANCEL with the same branch is not the INVITE's */
    sip_txn_key_client(mk(&s[2], (struct m_spec){.code = 200, .cseq_method = "CANCEL"}),
                       &k);
    differ(&req, &k);
    /* the sent-by does not take part: a response is matched by its branch */
    sip_txn_key_client(
        mk(&s[3],
           (struct m_spec){.code = 486,
                           .via = "SIP/2.0/UDP 192.0.2.9:5099;branch=z9hG4bK776asdhds;"
                                  "received=198.51.100.1"}),
        &k);
    same(&req, &k);
    /* the ACK we send for a non-2xx belongs to the INVITE client transaction */
    sip_txn_key_client(mk(&s[4], (struct m_spec){.method = "ACK"}), &k);
    same(&req, &k);
    /* a client key never equals a server key */
    sip_txn_key_server(&s[0].m, &k);
    assert_false(sip_txn_key_equal(&req, &k));
    done(s, 5);
}

static void test_server_of_response(void **state)
{
    struct m_slot s[4];
    struct sip_txn_key req, resp;
    (void) state;

    /* the UAS copies the top Via, From, Call-ID, CSeq into the response (§8.2.6.2) */
    sip_txn_key_server(mk(&s[0], (struct m_spec){.from_tag = "f"}), &req);
    assert_int_equal(
        sip_txn_key_server_of_response(
            mk(&s[1], (struct m_spec){.code = 404,
                                      .from_tag = "f",
                                      .to_tag = "t",
                                      .via = VIA_3261 ";received=192.0.2.4"}),
            &resp),
        0);
    same(&req, &resp);
    /* RFC 2543: no Request-URI in a response; received added by the server is no part */
    sip_txn_key_server(mk(&s[2], (struct m_spec){.via = VIA_2543, .from_tag = "f"}),
                       &req);
    assert_int_equal(sip_txn_key_server_of_response(
                         mk(&s[3], (struct m_spec){.code = 200,
                                                   .via = VIA_2543 ";received=192.0.2.4",
                                                   .from_tag = "f",
                                                   .to_tag = "t"}),
                         &resp),
                     0);
    assert_false(sk_str_isset(resp.ruri));
    assert_true(sip_txn_key_equal(&req, &resp));
    assert_true(sip_txn_key_hash(&req) == sip_txn_key_hash(&resp));
    /* another CSeq number: another transaction */
    mk(&s[3], (struct m_spec){.code = 200, .via = VIA_2543, .from_tag = "f", .cseq = 7});
    sip_txn_key_server_of_response(&s[3].m, &resp);
    assert_false(sip_txn_key_equal(&req, &resp));
    done(s, 4);
}

static void test_wrong_input(void **state)
{
    struct m_slot s[1];
    struct sip_txn_key k;
    struct sip_msg m;
    (void) state;

    mk(&s[0], (struct m_spec){.code = 200});
    assert_int_equal(sip_txn_key_server(&s[0].m, &k), EINVAL);
    assert_int_equal(sip_txn_key_cancel_target(&s[0].m, &k), EINVAL);
    mk(&s[0], (struct m_spec){0});
    assert_int_equal(sip_txn_key_server_of_response(&s[0].m, &k), EINVAL);
    /* no Via, no CSeq: nothing to key on */
    sip_msg_init(&m);
    m.is_request = true;
    assert_int_equal(sip_txn_key_server(&m, &k), EBADMSG);
    assert_int_equal(sip_txn_key_client(&m, &k), EBADMSG);
    /* a 2543 request needs From, Call-ID and CSeq */
    m.has_via = true;
    m.via.host = SK_STR_LIT("a.example");
    assert_int_equal(sip_txn_key_server(&m, &k), EBADMSG);
    sip_msg_release(&m);
    done(s, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic_cookie),
        cmocka_unit_test(test_server_kinds),
        cmocka_unit_test(test_retransmission_and_methods),
        cmocka_unit_test(test_ack_non2xx_matches_invite),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_sent_by),
        cmocka_unit_test(test_method_case),
        cmocka_unit_test(test_rfc2543_fallback),
        cmocka_unit_test(test_client_keys),
        cmocka_unit_test(test_server_of_response),
        cmocka_unit_test(test_wrong_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
