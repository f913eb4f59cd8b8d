/* libFuzzer target: SDP parse, print and re-parse (same description, same bytes), and
 * offer/answer against a fixed local setup. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sdp/sdp.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* About 38 KB each: static, not on the stack. */
static struct sdp_session in, again, answer, reparsed, our_offer;


static void check_error(const struct sdp_error *err, const char *text, size_t n)
{
    unsigned lines = 1;

    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    CHECK(err->reason[0] != '\0', "error without a reason");
    CHECK(strlen(err->reason) < sizeof(err->reason), "reason not terminated");
    for (const char *c = err->reason; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f, "reason with a byte unfit for a reason phrase");
    CHECK(err->line <= lines, "error line past the last line");
}

/* print -> parse gives the same description, and printing it again the same bytes. */
static void check_round_trip(const struct sdp_session *s, const char *what)
{
    struct sk_buf a, b;
    struct sdp_error err;
    int rc;

    sk_buf_init(&a);
    sk_buf_init(&b);
    rc = sdp_print(s, &a);
    CHECK(rc == 0, what);
    for (size_t i = 0; i < a.len; i++)
        CHECK(a.p[i] != '\n' || (i > 0 && a.p[i - 1] == '\r'), "printed a bare LF");
    rc = sdp_parse(&reparsed, a.p, a.len, &err);
    if (rc) fprintf(stderr, "re-parse: %s\n", err.reason);
    CHECK(rc == 0, "printed SDP does not parse again");
    CHECK(sdp_session_equal(s, &reparsed), "parse(print(x)) != x");
    CHECK(sdp_session_equal(&reparsed, s), "sdp_session_equal is not symmetric");
    CHECK(!sdp_is_change(s, &reparsed), "a re-parse counts as a change");
    CHECK(sdp_print(&reparsed, &b) == 0, "re-parsed SDP does not print");
    CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0, "print is not stable");
    sk_buf_free(&a);
    sk_buf_free(&b);
}

static bool warn_known(int w)
{
    return w == 300 || w == 301 || w == 304 || w == 305;
}

static void check_neg(const struct sdp_neg *neg, unsigned nmedia)
{
    CHECK(neg->media_index < nmedia, "negotiated stream outside the m= lines");
    CHECK(neg->codec.name[0] != '\0', "negotiated codec without a name");
    CHECK(neg->codec.pt <= 127 && neg->te_pt <= 127, "payload type out of range");
    CHECK(neg->ptime > 0, "negotiated ptime 0");
}

static void offer_answer(const struct sdp_session *offer)
{
    static struct sdp_local proto;
    static bool ready;
    struct sdp_local l;
    struct sdp_neg neg, neg2;
    struct sdp_oa_fail fail;
    int rc;

    if (!ready) {
        if (sdp_local_init(&proto, "192.0.2.10", 40000)) abort();
        proto.sess_id = proto.sess_version = 1000;
        ready = true;
    }
    l = proto;
    rc = sdp_answer_new(offer, &l, &answer, &neg, &fail);
    CHECK(rc == 0 || rc == EPROTO, "sdp_answer_new: neither 0 nor EPROTO");
    if (rc == EPROTO) {
        CHECK(fail.status == 488 && warn_known(fail.warn_code), "bad failure status");
        CHECK(!neg.active, "failed answer with an active stream");
    } else {
        CHECK(neg.active, "answer without an active stream");
        CHECK(answer.nmedia == offer->nmedia, "answer changes the m= line count");
        for (unsigned i = 0; i < offer->nmedia; i++) {
            CHECK(strcmp(answer.media[i].type, offer->media[i].type) == 0,
                  "answer changes a media type");
            CHECK(answer.media[i].nfmt >= 1, "answer line without formats");
            CHECK(offer->media[i].port != 0 || answer.media[i].port == 0,
                  "a rejected offered stream was accepted");
        }
        check_neg(&neg, offer->nmedia);
        check_round_trip(&answer, "our answer does not print");
        /* the offerer's view of our answer agrees on the codec and the stream */
        rc = sdp_answer_apply(offer, &answer, &neg2, &fail);
        CHECK(rc == 0, "our answer is refused by sdp_answer_apply");
        CHECK(neg2.media_index == neg.media_index && neg2.codec.pt == neg.codec.pt &&
                  neg2.te_pt == neg.te_pt,
              "offerer and answerer disagree");
        /* the same offer again: no change, the same version */
        uint64_t v = answer.origin.sess_version;
        CHECK(sdp_answer_new(offer, &l, &answer, &neg, &fail) == 0,
              "second answer fails");
        CHECK(answer.origin.sess_version == v, "sess-version bumped for the same answer");
    }
    /* the input as an answer to our own offer */
    l = proto;
    CHECK(sdp_offer_new(&l, &our_offer) == 0, "offer fails");
    rc = sdp_answer_apply(&our_offer, offer, &neg, &fail);
    CHECK(rc == 0 || rc == EPROTO, "sdp_answer_apply: neither 0 nor EPROTO");
    if (rc == 0)
        check_neg(&neg, offer->nmedia);
    else
        CHECK(fail.status == 488 && warn_known(fail.warn_code),
              "bad apply failure status");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = dup_exact(data, size);
    struct sdp_error err;
    int rc = sdp_parse(&in, text, size, &err);

    CHECK(rc == 0 || rc == EBADMSG, "sdp_parse returned neither 0 nor EBADMSG");
    if (rc) {
        check_error(&err, text, size);
    } else {
        CHECK(sdp_parse(&again, text, size, NULL) == 0, "parses once but not twice");
        CHECK(sdp_session_equal(&in, &again), "two parses differ");
        check_round_trip(&in, "a parsed SDP does not print");
        offer_answer(&in);
    }
    free(text);
    return 0;
}
