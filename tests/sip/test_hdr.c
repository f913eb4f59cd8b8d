/* Unit tests for header names and every typed header, valid and invalid input. */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/hdr.h"
#include "sip/msg.h"

/* ------------------------------------------------------------------------ */
/* Assertion helpers                                                         */

#define ASSERT_STR(slice, want)                                                          \
    do {                                                                                 \
        struct sk_str s_ = (slice);                                                      \
        const char *w_ = (want);                                                         \
        if (!s_.p) fail_msg("%s: slice unset, want \"%s\"", #slice, w_);                 \
        if (s_.len != strlen(w_) || memcmp(s_.p, w_, s_.len) != 0)                       \
            fail_msg("%s: got \"%.*s\", want \"%s\"", #slice, (int) s_.len, s_.p, w_);   \
    } while (0)

#define ASSERT_UNSET(slice)                                                              \
    do {                                                                                 \
        struct sk_str s_ = (slice);                                                      \
        if (s_.p) fail_msg("%s: want unset, got \"%.*s\"", #slice, (int) s_.len, s_.p);  \
    } while (0)

/* The slice is set and, with one pair of surrounding parentheses removed if
 * present, equals want (a comment may be kept with or without them). */
#define ASSERT_COMMENT(slice, want)                                                      \
    do {                                                                                 \
        struct sk_str c_ = (slice);                                                      \
        assert_non_null(c_.p);                                                           \
        if (c_.len >= 2 && c_.p[0] == '(' && c_.p[c_.len - 1] == ')') {                  \
            c_.p++;                                                                      \
            c_.len -= 2;                                                                 \
        }                                                                                \
        ASSERT_STR(c_, want);                                                            \
    } while (0)

/* In a loop over cases: report a wrong case and go on, so that one run lists
 * every wrong case; the test fails at its end (CASES_DONE). */
#define CASE_WRONG(...)                                                                  \
    do {                                                                                 \
        print_error(__VA_ARGS__);                                                        \
        print_error("\n");                                                               \
        wrong++;                                                                         \
    } while (0)
#define CASES_DONE()                                                                     \
    do {                                                                                 \
        if (wrong) fail_msg("%zu wrong case(s), listed above", wrong);                   \
    } while (0)

/* Parser errors carry a status and a reason. */
#define ASSERT_BAD(rc, e)                                                                \
    do {                                                                                 \
        assert_int_equal((rc), EBADMSG);                                                 \
        assert_int_equal((e).status, 400);                                               \
        assert_non_null((e).reason);                                                     \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Message fixture: struct sip_msg is large, so it lives on the heap; the
 * message text is copied into a buffer that ends at an unreadable page. */

struct fx {
    struct sip_msg *m;
    struct sip_error err;
    struct tu_guard guard;
    const char *buf; /* the parsed copy */
    size_t len;
    char text[32768]; /* NUL-terminated copy, for finding offsets */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    f->m = calloc(1, sizeof(*f->m));
    if (!f->m) {
        free(f);
        return -1;
    }
    sip_msg_init(f->m);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    sip_msg_release(f->m);
    free(f->m);
    tu_guard_free(&f->guard);
    free(f);
    return 0;
}

/* Parse text as one datagram into a freshly initialised message. */
static int parse_text_consumed(struct fx *f, const char *text, size_t *consumed)
{
    size_t len = strlen(text);
    char *copy;

    assert_true(len < sizeof(f->text));
    if (text != f->text) memcpy(f->text, text, len + 1);
    sip_msg_release(f->m);
    sip_msg_init(f->m);
    tu_guard_free(&f->guard);
    copy = tu_guard_copy(&f->guard, f->text, len);
    assert_non_null(copy);
    f->buf = copy;
    f->len = len;
    memset(&f->err, 0, sizeof(f->err));
    *consumed = 0;
    return sip_msg_parse(f->m, copy, len, SIP_PARSE_DATAGRAM, NULL, consumed, &f->err);
}

static int parse_text(struct fx *f, const char *text)
{
    size_t consumed;
    int rc = parse_text_consumed(f, text, &consumed);
    if (rc == 0) assert_int_equal(consumed, f->len);
    return rc;
}

static const char *const core_name[] = {"Via",  "Max-Forwards", "To",
                                        "From", "Call-ID",      "CSeq"};
static const char *const core_value[] = {
    "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
    "70",
    "Bob <sip:bob@biloxi.example.com>",
    "Alice <sip:alice@atlanta.example.com>;tag=1928301774",
    "a84b4c76e66710@pc33.atlanta.example.com",
    "314159 INVITE",
};

/* A message with start line `start`, the core headers (the one called `name`
 * replaced by `value`, or left out when value is NULL), the complete header
 * lines in `extra`, and Content-Length: 0. */
static int build(struct fx *f, const char *start, const char *name, const char *value,
                 const char *extra)
{
    size_t off = 0, i;
    int n;

    n = snprintf(f->text, sizeof(f->text), "%s\r\n", start);
    assert_true(n > 0);
    off = (size_t) n;
    for (i = 0; i < sizeof(core_name) / sizeof(core_name[0]); i++) {
        const char *v = core_value[i];
        if (name && strcmp(name, core_name[i]) == 0) v = value;
        if (!v) continue;
        n = snprintf(f->text + off, sizeof(f->text) - off, "%s: %s\r\n", core_name[i], v);
        assert_true(n > 0 && (size_t) n < sizeof(f->text) - off);
        off += (size_t) n;
    }
    n = snprintf(f->text + off, sizeof(f->text) - off, "%sContent-Length: 0\r\n\r\n",
                 extra ? extra : "");
    assert_true(n > 0 && (size_t) n < sizeof(f->text) - off);
    return parse_text(f, f->text);
}

#define INVITE_LINE "INVITE sip:bob@biloxi.example.com SIP/2.0"
#define RESP_LINE "SIP/2.0 401 Unauthorized"

static int req(struct fx *f, const char *extra)
{
    return build(f, INVITE_LINE, NULL, NULL, extra);
}

static int req_sub(struct fx *f, const char *name, const char *value)
{
    return build(f, INVITE_LINE, name, value, NULL);
}

/* err.pos lies within the header field (with its continuation lines and its
 * closing CRLF) that starts with `field` in the message text. */
static bool pos_in_field(const struct fx *f, const char *field)
{
    const char *t = strstr(f->text, field), *e;
    size_t a, b;

    if (!t) {
        print_error("field \"%s\" not found in the message\n", field);
        return false;
    }
    e = t;
    while (*e && !(e[0] == '\r' && e[1] == '\n' && e[2] != ' ' && e[2] != '\t'))
        e++;
    a = (size_t) (t - f->text);
    b = (size_t) (e - f->text) + (*e ? 1 : 0); /* up to the LF */
    if (f->err.pos < a || f->err.pos > b) {
        print_error("err.pos %zu is not within \"%s\" at [%zu, %zu] (reason: %s)\n",
                    f->err.pos, field, a, b, f->err.reason ? f->err.reason : "?");
        return false;
    }
    return true;
}

#define ASSERT_MSG_BAD(f, field)                                                         \
    do {                                                                                 \
        assert_int_equal((f)->err.status, 400);                                          \
        assert_non_null((f)->err.reason);                                                \
        assert_true(pos_in_field((f), (field)));                                         \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Header names                                                              */

struct name_case {
    const char *name;
    enum sip_hdr_id id;
    char compact;
    unsigned flags;
};

#define NAME_CASE(id, name, compact, flags) {name, SIP_HDR_##id, compact, flags},
static const struct name_case name_cases[] = {SIP_HDR_TABLE(NAME_CASE)};
#undef NAME_CASE
#define N_NAME_CASES (sizeof(name_cases) / sizeof(name_cases[0]))

/* Look a name up from a buffer of exactly its length (over-reads fault). */
static enum sip_hdr_id lookup_guarded(const char *name, size_t len)
{
    struct tu_guard g = {0};
    const char *p = tu_guard_copy(&g, name, len);
    enum sip_hdr_id id;

    assert_non_null(p);
    id = sip_hdr_lookup(p, len);
    tu_guard_free(&g);
    return id;
}

static void test_lookup_canonical_names(void **state)
{
    size_t wrong = 0;
    size_t i, k;

    (void) state;
    assert_int_equal(N_NAME_CASES, SIP_HDR__COUNT - 1);
    for (i = 0; i < N_NAME_CASES; i++) {
        const struct name_case *c = &name_cases[i];
        size_t len = strlen(c->name);
        char up[64], low[64], mixed[64], longer[80];

        assert_true(len < sizeof(up));
        for (k = 0; k <= len; k++) {
            up[k] = (char) (c->name[k] >= 'a' && c->name[k] <= 'z' ? c->name[k] - 32
                                                                   : c->name[k]);
            low[k] = sk_lower(c->name[k]);
            mixed[k] = (k % 2) ? up[k] : low[k];
        }
        if (lookup_guarded(c->name, len) != c->id) {
            CASE_WRONG("lookup(\"%s\") != its id", c->name);
            continue;
        }
        if (lookup_guarded(up, len) != c->id) {
            CASE_WRONG("lookup(\"%s\") != its id", up);
            continue;
        }
        if (lookup_guarded(low, len) != c->id) {
            CASE_WRONG("lookup(\"%s\") != its id", low);
            continue;
        }
        if (lookup_guarded(mixed, len) != c->id) {
            CASE_WRONG("lookup(\"%s\") != its id", mixed);
            continue;
        }
        /* Only len bytes count. */
        snprintf(longer, sizeof(longer), "%sXyz", c->name);
        if (sip_hdr_lookup(longer, len) != c->id) {
            CASE_WRONG("lookup of the first %zu bytes of \"%s\" != its id", len, longer);
            continue;
        }
        if (sip_hdr_lookup(longer, len + 3) != SIP_HDR_OTHER) {
            CASE_WRONG("lookup(\"%s\") should be OTHER", longer);
            continue;
        }
        /* A strict prefix is another (unknown) name. */
        if (len > 2 && sip_hdr_lookup(c->name, len - 1) == c->id) {
            CASE_WRONG("lookup of a prefix of \"%s\" matched it", c->name);
            continue;
        }
        /* Round trip. */
        assert_non_null(sip_hdr_name(c->id));
        assert_string_equal(sip_hdr_name(c->id), c->name);
        assert_int_equal(sip_hdr_lookup(sip_hdr_name(c->id), len), c->id);
        assert_int_equal(sip_hdr_flags(c->id), c->flags);
    }
    assert_null(sip_hdr_name(SIP_HDR_OTHER));
    CASES_DONE();
}

static void test_lookup_compact_forms(void **state)
{
    size_t wrong = 0;
    static const char letters[] = "abcdefijklmorstuvxy";
    static const struct {
        char c;
        enum sip_hdr_id id;
    } want[] = {
        {'a', SIP_HDR_ACCEPT_CONTACT},
        {'b', SIP_HDR_REFERRED_BY},
        {'c', SIP_HDR_CONTENT_TYPE},
        {'d', SIP_HDR_REQUEST_DISPOSITION},
        {'e', SIP_HDR_CONTENT_ENCODING},
        {'f', SIP_HDR_FROM},
        {'i', SIP_HDR_CALL_ID},
        {'j', SIP_HDR_REJECT_CONTACT},
        {'k', SIP_HDR_SUPPORTED},
        {'l', SIP_HDR_CONTENT_LENGTH},
        {'m', SIP_HDR_CONTACT},
        {'o', SIP_HDR_EVENT},
        {'r', SIP_HDR_REFER_TO},
        {'s', SIP_HDR_SUBJECT},
        {'t', SIP_HDR_TO},
        {'u', SIP_HDR_ALLOW_EVENTS},
        {'v', SIP_HDR_VIA},
        {'x', SIP_HDR_SESSION_EXPIRES},
        {'y', SIP_HDR_IDENTITY},
    };
    size_t i, ncompact = 0;

    (void) state;
    assert_int_equal(sizeof(want) / sizeof(want[0]), strlen(letters));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char lo = want[i].c, up = (char) (want[i].c - 32);
        if (lookup_guarded(&lo, 1) != want[i].id) {
            CASE_WRONG("compact form '%c' not resolved", lo);
            continue;
        }
        if (lookup_guarded(&up, 1) != want[i].id) {
            CASE_WRONG("compact form '%c' not resolved", up);
            continue;
        }
    }
    /* The table agrees with RFC 3261 §7.3.3 and the extensions' compact forms. */
    for (i = 0; i < N_NAME_CASES; i++) {
        if (!name_cases[i].compact) continue;
        ncompact++;
        assert_non_null(strchr(letters, name_cases[i].compact));
    }
    assert_int_equal(ncompact, strlen(letters));
    /* Letters that are no compact form. */
    for (i = 0; i < 26; i++) {
        char lo = (char) ('a' + i), up = (char) ('A' + i);
        if (strchr(letters, lo)) continue;
        if (lookup_guarded(&lo, 1) != SIP_HDR_OTHER) {
            CASE_WRONG("'%c' is no compact form", lo);
            continue;
        }
        if (lookup_guarded(&up, 1) != SIP_HDR_OTHER) {
            CASE_WRONG("'%c' is no compact form", up);
            continue;
        }
    }
    CASES_DONE();
}

static void test_lookup_unknown_and_call_id(void **state)
{
    size_t wrong = 0;
    static const char *const unknown[] = {
        "X-Custom", "Vias",      "Vi",        "Fro",      "Fromm",   "CallID",
        "Call_ID",  "Call-I",    "Contacts",  "Content-", "Content", "-",
        "P-Foo",    "ViaVia",    "WWW",       "ab",       "ff",      "Max-Forward",
        "CSeq2",    "Identity-", "Accept-Fo", "1",        "*",
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (lookup_guarded(unknown[i], strlen(unknown[i])) != SIP_HDR_OTHER) {
            CASE_WRONG("\"%s\" should be unknown", unknown[i]);
            continue;
        }
    }
    assert_int_equal(sip_hdr_lookup("", 0), SIP_HDR_OTHER);
    assert_int_equal(sip_hdr_lookup("Via", 0), SIP_HDR_OTHER);

    assert_int_equal(lookup_guarded("Call-Id", 7), SIP_HDR_CALL_ID);
    assert_int_equal(lookup_guarded("call-id", 7), SIP_HDR_CALL_ID);
    assert_int_equal(lookup_guarded("CALL-ID", 7), SIP_HDR_CALL_ID);
    assert_int_equal(lookup_guarded("i", 1), SIP_HDR_CALL_ID);
    assert_int_equal(lookup_guarded("I", 1), SIP_HDR_CALL_ID);
    assert_int_equal(lookup_guarded("cseq", 4), SIP_HDR_CSEQ);
    assert_int_equal(lookup_guarded("www-authenticate", 16), SIP_HDR_WWW_AUTHENTICATE);
    assert_int_equal(lookup_guarded("RACK", 4), SIP_HDR_RACK);
    assert_int_equal(lookup_guarded("rseq", 4), SIP_HDR_RSEQ);
    assert_int_equal(sip_hdr_flags(SIP_HDR_VIA) & SIP_HF_LIST, SIP_HF_LIST);
    assert_int_equal(sip_hdr_flags(SIP_HDR_CSEQ) & SIP_HF_SINGLE, SIP_HF_SINGLE);
    CASES_DONE();
}

static void test_msg_compact_names(void **state)
{
    struct fx *f = *state;
    const struct sip_hdr *h;
    static const char text[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                               "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
                               "max-forwards: 10\r\n"
                               "t: <sip:bob@biloxi.example.com>\r\n"
                               "F: <sip:alice@atlanta.example.com>;tag=x1\r\n"
                               "i: abc@def\r\n"
                               "cseq: 5 INVITE\r\n"
                               "m: <sip:alice@192.0.2.1>\r\n"
                               "k: 100rel\r\n"
                               "s: hello\r\n"
                               "o: presence\r\n"
                               "x: 90\r\n"
                               "u: dialog\r\n"
                               "X-Custom: anything at all\r\n"
                               "l: 0\r\n"
                               "\r\n";

    assert_int_equal(parse_text(f, text), 0);
    assert_true(f->m->has_via);
    assert_true(f->m->has_from);
    assert_true(f->m->has_to);
    assert_true(f->m->has_call_id);
    ASSERT_STR(f->m->call_id, "abc@def");
    assert_true(f->m->has_cseq);
    assert_int_equal(f->m->cseq.num, 5);
    assert_int_equal(f->m->max_forwards, 10);
    assert_int_equal(f->m->content_length, 0);
    ASSERT_STR(f->m->from.tag, "x1");

    h = sip_msg_hdr(f->m, SIP_HDR_VIA);
    assert_non_null(h);
    ASSERT_STR(h->name, "v");
    assert_int_equal(h->id, SIP_HDR_VIA);
    h = sip_msg_hdr(f->m, SIP_HDR_CALL_ID);
    assert_non_null(h);
    ASSERT_STR(h->name, "i");
    ASSERT_STR(h->value, "abc@def");
    assert_ptr_equal(sip_msg_hdr_by_name(f->m, "Call-ID"), h);
    assert_ptr_equal(sip_msg_hdr_by_name(f->m, "call-id"), h);
    assert_ptr_equal(sip_msg_hdr_by_name(f->m, "I"), h);
    h = sip_msg_hdr_by_name(f->m, "x-custom");
    assert_non_null(h);
    assert_int_equal(h->id, SIP_HDR_OTHER);
    ASSERT_STR(h->value, "anything at all");
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_CONTACT));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_SUPPORTED));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_SUBJECT));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_EVENT));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_SESSION_EXPIRES));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_ALLOW_EVENTS));
    assert_non_null(sip_msg_hdr(f->m, SIP_HDR_CONTENT_LENGTH));
    assert_null(sip_msg_hdr(f->m, SIP_HDR_ROUTE));
    assert_null(sip_msg_hdr_by_name(f->m, "Route"));
}

/* ------------------------------------------------------------------------ */
/* Via                                                                       */

static int via1(const char *s, struct sip_via *v, struct sip_error *e)
{
    const char *p = s;
    memset(v, 0, sizeof(*v));
    memset(e, 0, sizeof(*e));
    return sip_parse_via(&p, s + strlen(s), v, e);
}

static void test_via_basic(void **state)
{
    static const char s[] =
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds";
    struct sip_via v;
    struct sip_error e;
    const char *p = s;

    (void) state;
    memset(&v, 0, sizeof(v));
    assert_int_equal(sip_parse_via(&p, s + strlen(s), &v, &e), 0);
    assert_ptr_equal(p, s + strlen(s));
    ASSERT_STR(v.raw, s);
    ASSERT_STR(v.protocol, "SIP");
    ASSERT_STR(v.version, "2.0");
    ASSERT_STR(v.transport, "UDP");
    ASSERT_STR(v.host, "pc33.atlanta.example.com");
    assert_int_equal(v.host_type, SIP_HOST_NAME);
    assert_false(v.has_port);
    ASSERT_STR(v.params, "branch=z9hG4bK776asdhds");
    ASSERT_STR(v.branch, "z9hG4bK776asdhds");
    ASSERT_UNSET(v.received);
    ASSERT_UNSET(v.maddr);
    ASSERT_UNSET(v.ttl);
    assert_false(v.has_rport);
    assert_false(v.rport_has_value);
}

static void test_via_lws_around_slash(void **state)
{
    struct sip_via v;
    struct sip_error e;

    (void) state;
    /* sent-protocol uses SLASH = SWS "/" SWS (RFC 3261 §25.1). */
    assert_int_equal(
        via1("SIP / 2.0 / TCP client.example.com:5061;branch=z9hG4bK1", &v, &e), 0);
    ASSERT_STR(v.protocol, "SIP");
    ASSERT_STR(v.version, "2.0");
    ASSERT_STR(v.transport, "TCP");
    ASSERT_STR(v.host, "client.example.com");
    assert_true(v.has_port);
    assert_int_equal(v.port, 5061);
    ASSERT_STR(v.branch, "z9hG4bK1");

    assert_int_equal(via1("SIP/2.0/ TLS client.example.com;branch=z9hG4bK2", &v, &e), 0);
    ASSERT_STR(v.transport, "TLS");
    assert_int_equal(via1("SIP /2.0/SCTP client.example.com;branch=z9hG4bK3", &v, &e), 0);
    ASSERT_STR(v.version, "2.0");
    ASSERT_STR(v.transport, "SCTP");
    /* An unknown transport is a token (RFC 4475 §3.1.1.10). */
    assert_int_equal(via1("SIP/2.0/FOO-BAR.baz client.example.com", &v, &e), 0);
    ASSERT_STR(v.transport, "FOO-BAR.baz");
    ASSERT_STR(v.host, "client.example.com");
    assert_false(v.has_port);
    ASSERT_UNSET(v.branch);
}

static void test_via_sws_in_sent_by_and_params(void **state)
{
    struct sip_via v;
    struct sip_error e;

    (void) state;
    /* COLON, SEMI and EQUAL all allow SWS around them (RFC 3261 §25.1). */
    assert_int_equal(
        via1("SIP/2.0/UDP h.example.com : 5060 ; branch = z9hG4bK7 ; rport", &v, &e), 0);
    ASSERT_STR(v.host, "h.example.com");
    assert_true(v.has_port);
    assert_int_equal(v.port, 5060);
    ASSERT_STR(v.branch, "z9hG4bK7");
    assert_true(v.has_rport);
    assert_false(v.rport_has_value);
}

static void test_via_hosts(void **state)
{
    struct sip_via v;
    struct sip_error e;

    (void) state;
    assert_int_equal(via1("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK2", &v, &e), 0);
    ASSERT_STR(v.host, "192.0.2.1");
    assert_int_equal(v.host_type, SIP_HOST_IPV4);
    assert_true(v.has_port);
    assert_int_equal(v.port, 5060);

    assert_int_equal(via1("SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK3", &v, &e), 0);
    ASSERT_STR(v.host, "2001:db8::1");
    assert_int_equal(v.host_type, SIP_HOST_IPV6);
    assert_true(v.has_port);
    assert_int_equal(v.port, 5070);
    ASSERT_STR(v.branch, "z9hG4bK3");

    /* Whatever else it is, an octet above 255 is no IPv4 address. */
    if (via1("SIP/2.0/UDP 192.0.2.256", &v, &e) == 0)
        assert_int_not_equal(v.host_type, SIP_HOST_IPV4);

    assert_int_equal(via1("SIP/2.0/TCP [::1]", &v, &e), 0);
    ASSERT_STR(v.host, "::1");
    assert_int_equal(v.host_type, SIP_HOST_IPV6);
    assert_false(v.has_port);

    assert_int_equal(via1("SIP/2.0/UDP host-1.example.com:65535", &v, &e), 0);
    ASSERT_STR(v.host, "host-1.example.com");
    assert_int_equal(v.host_type, SIP_HOST_NAME);
    assert_int_equal(v.port, 65535);
}

static void test_via_params(void **state)
{
    struct sip_via v;
    struct sip_error e;
    struct sk_str val;

    (void) state;
    assert_int_equal(
        via1("SIP/2.0/UDP 192.0.2.1:5060;received=192.0.2.207;branch=z9hG4bK2", &v, &e),
        0);
    ASSERT_STR(v.received, "192.0.2.207");
    ASSERT_STR(v.branch, "z9hG4bK2");
    ASSERT_STR(v.params, "received=192.0.2.207;branch=z9hG4bK2");

    /* via-received = "received" EQUAL (IPv4address / IPv6address) */
    assert_int_equal(via1("SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK3;"
                          "received=2001:db8::9:255",
                          &v, &e),
                     0);
    ASSERT_STR(v.received, "2001:db8::9:255");
    ASSERT_STR(v.branch, "z9hG4bK3");

    /* RFC 3581: rport without a value in requests ... */
    assert_int_equal(via1("SIP/2.0/UDP h.example.com;rport;branch=z9hG4bK4", &v, &e), 0);
    assert_true(v.has_rport);
    assert_false(v.rport_has_value);
    ASSERT_STR(v.branch, "z9hG4bK4");
    /* ... and with one in responses. */
    assert_int_equal(
        via1("SIP/2.0/UDP h.example.com;rport=5062;received=192.0.2.9;branch=z9hG4bK5",
             &v, &e),
        0);
    assert_true(v.has_rport);
    assert_true(v.rport_has_value);
    assert_int_equal(v.rport, 5062);
    ASSERT_STR(v.received, "192.0.2.9");

    assert_int_equal(via1("SIP/2.0/UDP h.example.com;maddr=224.2.0.1;ttl=16;"
                          "branch=z9hG4bK6;x-unknown=foo;flag",
                          &v, &e),
                     0);
    ASSERT_STR(v.maddr, "224.2.0.1");
    ASSERT_STR(v.ttl, "16");
    ASSERT_STR(v.branch, "z9hG4bK6");
    assert_false(v.has_rport);
    assert_true(sip_param_get(v.params, "x-unknown", &val));
    ASSERT_STR(val, "foo");
    assert_true(sip_param_get(v.params, "FLAG", &val));
    ASSERT_UNSET(val);
    assert_false(sip_param_get(v.params, "nope", &val));

    assert_int_equal(via1("SIP/2.0/UDP h.example.com;ttl=0", &v, &e), 0);
    ASSERT_STR(v.ttl, "0");
    assert_int_equal(via1("SIP/2.0/UDP h.example.com;ttl=255", &v, &e), 0);
    ASSERT_STR(v.ttl, "255");

    /* Parameter names are case-insensitive. */
    assert_int_equal(
        via1("SIP/2.0/UDP h.example.com;BRANCH=z9hG4bKcase;Received=192.0.2.3", &v, &e),
        0);
    ASSERT_STR(v.branch, "z9hG4bKcase");
    ASSERT_STR(v.received, "192.0.2.3");
}

static void test_via_list_direct(void **state)
{
    static const char s[] =
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , "
        "SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2,SIP/2.0/TLS c";
    const char *p = s, *end = s + strlen(s);
    struct sip_via v;
    struct sip_error e;

    (void) state;
    assert_int_equal(sip_parse_via(&p, end, &v, &e), 0);
    ASSERT_STR(v.host, "a.example.com");
    ASSERT_STR(v.branch, "z9hG4bK1");
    ASSERT_STR(v.raw, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1");
    assert_true(p > s && p < end);
    assert_int_equal(sip_parse_via(&p, end, &v, &e), 0);
    ASSERT_STR(v.host, "b.example.com");
    ASSERT_STR(v.transport, "TCP");
    assert_int_equal(v.port, 5061);
    ASSERT_STR(v.branch, "z9hG4bK2");
    assert_int_equal(sip_parse_via(&p, end, &v, &e), 0);
    ASSERT_STR(v.host, "c");
    ASSERT_STR(v.transport, "TLS");
    assert_ptr_equal(p, end);
}

static void test_via_invalid_direct(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "SIP/2.0 pc33.atlanta.example.com;branch=z9hG4bK1",  /* missing transport */
        "SIP/2.0/ pc33.atlanta.example.com;branch=z9hG4bK1", /* empty transport */
        "SIP/2.0/UDP pc33.atlanta.example.com:70000;branch=z9hG4bK1", /* port > 65535 */
        "SIP/2.0/UDP pc33.atlanta.example.com:65536",                 /* port > 65535 */
        "SIP/2.0/UDP pc33.atlanta.example.com:;branch=z9hG4bK1",      /* empty port */
        "SIP/2.0/UDP :5060;branch=z9hG4bK1",                          /* empty host */
        "SIP/2.0/UDP ;branch=z9hG4bK1",                               /* empty host */
        "SIP/2.0/UDP",                                                /* no sent-by */
        "SIP/2.0/UDP ",                                               /* no sent-by */
        "SIP/2.0/UDP pc33.atlanta.example.com;;branch=z9hG4bK1",      /* empty param */
        "SIP/2.0/UDP pc33.atlanta.example.com garbage;branch=z9hG4bK1",
        "SIP/2.0/UDP pc33.atlanta.example.com;ttl=256", /* ttl 0..255 */
        "SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1",     /* unclosed [ */
        "SIP/2.0/UDP [1:2:3]:5060",                     /* not IPv6 */
        "SIP/2.0/UDP [1:2:3:4:5:6:7:8:9]",
        "SIP/2.0/UDP [2001:db8::g]",
        "/2.0/UDP pc33.atlanta.example.com",                     /* no protocol */
        "SIP//UDP pc33.atlanta.example.com",                     /* no version */
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1,", /* empty element */
        "SIP/2.0/UDP pc33.atlanta.example.com;rport=70000",      /* RFC 3581 port */
        /* hostname = *( domainlabel "." ) toplabel [ "." ]; toplabel starts with ALPHA
         * and a domainlabel ends with alphanum (RFC 3261 §25.1): not an IPv4 address
         * and not a host name either. */
        "SIP/2.0/UDP 192.0.2.256;branch=z9hG4bK1",
        "SIP/2.0/UDP bad-.example.com;branch=z9hG4bK1",
        "",
    };
    size_t i;
    struct sip_via v;
    struct sip_error e;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = via1(bad[i], &v, &e);
        if (rc != EBADMSG) {
            CASE_WRONG("Via \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
        assert_non_null(e.reason);
        if (e.pos > strlen(bad[i])) {
            CASE_WRONG("Via \"%s\": err.pos %zu past the input", bad[i], e.pos);
            continue;
        }
    }
    CASES_DONE();
}

static void test_via_message(void **state)
{
    struct fx *f = *state;
    const struct sip_via *v;
    size_t n = 0;

    /* Several via-parms on one (folded) line and on another line (compact form). */
    assert_int_equal(
        req_sub(f, "Via",
                "SIP/2.0/UDP a.example.com;branch=z9hG4bK1,\r\n"
                " SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2\r\n"
                "v: SIP / 2.0 / TLS [2001:db8::1]:5070;branch=z9hG4bK3;rport"),
        0);
    assert_true(f->m->has_via);
    ASSERT_STR(f->m->via.host, "a.example.com");
    ASSERT_STR(f->m->via.branch, "z9hG4bK1");
    assert_int_equal(sip_msg_vias(f->m, &v, &n, &f->err), 0);
    assert_int_equal(n, 3);
    ASSERT_STR(v[0].host, "a.example.com");
    ASSERT_STR(v[0].transport, "UDP");
    ASSERT_STR(v[1].host, "b.example.com");
    ASSERT_STR(v[1].transport, "TCP");
    assert_int_equal(v[1].port, 5061);
    ASSERT_STR(v[1].branch, "z9hG4bK2");
    ASSERT_STR(v[2].host, "2001:db8::1");
    assert_int_equal(v[2].host_type, SIP_HOST_IPV6);
    ASSERT_STR(v[2].transport, "TLS");
    assert_int_equal(v[2].port, 5070);
    assert_true(v[2].has_rport);
    assert_false(v[2].rport_has_value);

    /* Folding before a via-param (SEMI = SWS ";" SWS). */
    assert_int_equal(
        req_sub(f, "Via", "SIP/2.0/UDP a.example.com\r\n ;branch=z9hG4bKsemi"), 0);
    ASSERT_STR(f->m->via.host, "a.example.com");
    ASSERT_STR(f->m->via.branch, "z9hG4bKsemi");

    /* Folding between sent-protocol and sent-by. */
    assert_int_equal(
        req_sub(f, "Via", "SIP/2.0/UDP\r\n   folded.example.com;branch=z9hG4bKf"), 0);
    ASSERT_STR(f->m->via.host, "folded.example.com");
    ASSERT_STR(f->m->via.branch, "z9hG4bKf");
}

static void test_via_message_invalid(void **state)
{
    size_t wrong = 0;
    static const char *const bad_top[] = {
        "SIP/2.0 pc33.atlanta.example.com;branch=z9hG4bK1",
        "SIP/2.0/UDP pc33.atlanta.example.com:70000;branch=z9hG4bK1",
        "SIP/2.0/UDP ;branch=z9hG4bK1",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP pc33.atlanta.example.com;;branch=z9hG4bK1",
        "SIP/2.0/UDP pc33.atlanta.example.com garbage;branch=z9hG4bK1",
        "SIP/2.0/UDP pc33.atlanta.example.com;ttl=256;branch=z9hG4bK1",
    };
    struct fx *f = *state;
    const struct sip_via *v;
    size_t i, n;
    int rc;

    /* The top Via is validated eagerly: the parse itself fails. */
    for (i = 0; i < sizeof(bad_top) / sizeof(bad_top[0]); i++) {
        rc = req_sub(f, "Via", bad_top[i]);
        if (rc != EBADMSG) {
            CASE_WRONG("top Via \"%s\": parse rc %d, want EBADMSG", bad_top[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "Via: ");
    }

    /* A bad via-parm after a good one: the parse or sip_msg_vias fails. */
    rc = req_sub(f, "Via",
                 "SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
                 "Via: SIP/2.0/UDP b.example.com:99999;branch=z9hG4bK2");
    if (rc == 0) {
        rc = sip_msg_vias(f->m, &v, &n, &f->err);
        assert_int_equal(rc, EBADMSG);
    } else {
        assert_int_equal(rc, EBADMSG);
    }
    ASSERT_MSG_BAD(f, "Via: SIP/2.0/UDP b.example.com");

    rc = req_sub(f, "Via", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP");
    if (rc == 0) {
        rc = sip_msg_vias(f->m, &v, &n, &f->err);
        assert_int_equal(rc, EBADMSG);
    } else {
        assert_int_equal(rc, EBADMSG);
    }
    ASSERT_MSG_BAD(f, "Via: ");
    assert_true(pos_in_field(f, "SIP/2.0/UDP\r\n"));

    /* No Via at all: the parse succeeds (RFC 4475 §3.3.1), the accessor says ENOENT. */
    assert_int_equal(req_sub(f, "Via", NULL), 0);
    assert_false(f->m->has_via);
    assert_int_equal(sip_msg_vias(f->m, &v, &n, &f->err), ENOENT);
    CASES_DONE();
}

/* ------------------------------------------------------------------------ */
/* Addresses: From, To, Contact, Route, ...                                  */

static int addr1(const char *s, bool list, bool star, struct sip_addr *a,
                 struct sip_error *e, const char **rest)
{
    const char *p = s;
    int rc;
    memset(a, 0, sizeof(*a));
    memset(e, 0, sizeof(*e));
    rc = sip_parse_addr(&p, s + strlen(s), list, star, a, e);
    if (rest) *rest = p;
    return rc;
}

static void test_addr_name_addr_forms(void **state)
{
    struct sip_addr a;
    struct sip_error e;
    struct sk_buf b;
    const char *rest;
    static const char quoted[] =
        "\"Bob \\\"the builder\\\", Jr.\" <sip:bob@biloxi.example.com>;tag=a6c85cf";

    (void) state;
    /* Quoted display name with escaped quotes and a comma. */
    assert_int_equal(addr1(quoted, false, false, &a, &e, &rest), 0);
    assert_ptr_equal(rest, quoted + strlen(quoted));
    ASSERT_STR(a.raw, quoted);
    ASSERT_STR(a.display, "Bob \\\"the builder\\\", Jr.");
    assert_true(a.display_quoted);
    assert_false(a.star);
    assert_int_equal(a.uri.scheme, SIP_URI_SIP);
    ASSERT_STR(a.uri.raw, "sip:bob@biloxi.example.com");
    ASSERT_STR(a.uri.user, "bob");
    ASSERT_STR(a.uri.host, "biloxi.example.com");
    ASSERT_STR(a.params, "tag=a6c85cf");
    ASSERT_STR(a.tag, "a6c85cf");
    assert_int_equal(a.expires, -1);
    assert_int_equal(a.q, -1);
    sk_buf_init(&b);
    assert_int_equal(sip_unquote(&b, a.display), 0);
    ASSERT_STR(sk_buf_str(&b), "Bob \"the builder\", Jr.");
    sk_buf_free(&b);

    /* Unquoted display name of several tokens. */
    assert_int_equal(
        addr1("Bob Smith <sip:bob@biloxi.example.com>", false, false, &a, &e, NULL), 0);
    ASSERT_STR(a.display, "Bob Smith");
    assert_false(a.display_quoted);
    ASSERT_STR(a.uri.host, "biloxi.example.com");
    ASSERT_UNSET(a.tag);

    /* No LWS between display name and '<' (RFC 4475 §3.1.1.6). */
    assert_int_equal(
        addr1("\"caller\"<sip:caller@example.com>;tag=323", false, false, &a, &e, NULL),
        0);
    ASSERT_STR(a.display, "caller");
    assert_true(a.display_quoted);
    ASSERT_STR(a.tag, "323");

    /* An escaped backslash just before the closing quote. */
    assert_int_equal(addr1("\"abc\\\\\" <sip:x@example.com>", false, false, &a, &e, NULL),
                     0);
    ASSERT_STR(a.display, "abc\\\\");
    ASSERT_STR(a.uri.user, "x");

    /* Empty quoted display name. */
    assert_int_equal(addr1("\"\" <sip:x@example.com>", false, false, &a, &e, NULL), 0);
    assert_true(a.display_quoted);
    assert_non_null(a.display.p);
    assert_int_equal(a.display.len, 0);

    /* No display name. */
    assert_int_equal(addr1("<sip:bob@biloxi.example.com;transport=tcp>;tag=1", false,
                           false, &a, &e, NULL),
                     0);
    ASSERT_UNSET(a.display);
    ASSERT_STR(a.uri.raw, "sip:bob@biloxi.example.com;transport=tcp");
    ASSERT_STR(a.uri.transport, "tcp");
    ASSERT_STR(a.tag, "1");

    /* A tag inside <> is a URI parameter, not the header's tag. */
    assert_int_equal(
        addr1("<sip:bob@biloxi.example.com;tag=inuri>", false, false, &a, &e, NULL), 0);
    ASSERT_UNSET(a.tag);
    assert_true(a.uri.params.len > 0);

    /* Header parameter names are case-insensitive. */
    assert_int_equal(
        addr1("<sip:bob@biloxi.example.com>;TAG=Up", false, false, &a, &e, NULL), 0);
    ASSERT_STR(a.tag, "Up");

    /* Other schemes. */
    assert_int_equal(addr1("<tel:+14085551234>;tag=t", false, false, &a, &e, NULL), 0);
    assert_int_equal(a.uri.scheme, SIP_URI_TEL);
    ASSERT_STR(a.tag, "t");
    assert_int_equal(
        addr1("Secure <sips:alice@atlanta.example.com:5061>", false, false, &a, &e, NULL),
        0);
    assert_int_equal(a.uri.scheme, SIP_URI_SIPS);
    assert_int_equal(a.uri.port, 5061);
}

static void test_addr_spec_form(void **state)
{
    struct sip_addr a;
    struct sip_error e;
    struct sk_str val;

    (void) state;
    /* RFC 3261 §20.10: without <>, ';' parameters are header parameters. */
    assert_int_equal(
        addr1("sip:bob@biloxi.example.com;tag=xyz;foo=bar", false, false, &a, &e, NULL),
        0);
    ASSERT_UNSET(a.display);
    ASSERT_STR(a.uri.raw, "sip:bob@biloxi.example.com");
    assert_int_equal(a.uri.params.len, 0);
    ASSERT_STR(a.uri.host, "biloxi.example.com");
    ASSERT_STR(a.params, "tag=xyz;foo=bar");
    ASSERT_STR(a.tag, "xyz");
    assert_true(sip_param_get(a.params, "foo", &val));
    ASSERT_STR(val, "bar");

    /* Contact addr-spec: q and expires are header parameters too. */
    assert_int_equal(
        addr1("sip:alice@192.0.2.4;q=0.5;expires=60", true, true, &a, &e, NULL), 0);
    ASSERT_STR(a.uri.raw, "sip:alice@192.0.2.4");
    assert_int_equal(a.uri.host_type, SIP_HOST_IPV4);
    assert_int_equal(a.q, 500);
    assert_int_equal(a.expires, 60);

    /* The same parameters inside <> belong to the URI. */
    assert_int_equal(
        addr1("<sip:alice@192.0.2.4;q=0.5;expires=60>", true, true, &a, &e, NULL), 0);
    assert_int_equal(a.q, -1);
    assert_int_equal(a.expires, -1);
}

static void test_addr_contact_star(void **state)
{
    struct sip_addr a;
    struct sip_error e;

    (void) state;
    assert_int_equal(addr1("*", true, true, &a, &e, NULL), 0);
    assert_true(a.star);
    assert_int_equal(addr1("  *  ", true, true, &a, &e, NULL), 0);
    assert_true(a.star);
    ASSERT_BAD(addr1("*", true, false, &a, &e, NULL), e);
    ASSERT_BAD(addr1("*", false, false, &a, &e, NULL), e);
    /* Contact = ( "Contact" / "m" ) HCOLON ( STAR / (contact-param *(COMMA
     * contact-param))) (RFC 3261 §25.1): STAR takes no parameters. */
    ASSERT_BAD(addr1("*;expires=0", true, true, &a, &e, NULL), e);
    /* A normal address never has star set. */
    assert_int_equal(addr1("<sip:a@example.com>", true, true, &a, &e, NULL), 0);
    assert_false(a.star);
}

static void test_addr_contact_q(void **state)
{
    size_t wrong = 0;
    static const struct {
        const char *q;
        int want;
    } good[] = {
        {"0.5", 500}, {"1", 1000},     {"0", 0},     {"1.0", 1000}, {"0.333", 333},
        {"0.001", 1}, {"1.000", 1000}, {"0.05", 50}, {"0.", 0},     {"1.", 1000},
    };
    /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
    static const char *const bad[] = {"1.5", "2",    ".5",   "0.1234", "1.001", "",
                                      "abc", "-0.5", "0.5x", "01",     "0 5"};
    char text[128];
    struct sip_addr a;
    struct sip_error e;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "<sip:a@example.com>;q=%s", good[i].q);
        if (addr1(text, true, true, &a, &e, NULL) != 0) {
            CASE_WRONG("q=%s rejected", good[i].q);
            continue;
        }
        if (a.q != good[i].want) {
            CASE_WRONG("q=%s: got %d, want %d", good[i].q, a.q, good[i].want);
            continue;
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        snprintf(text, sizeof(text), "<sip:a@example.com>;q=%s", bad[i]);
        rc = addr1(text, true, true, &a, &e, NULL);
        if (rc != EBADMSG) {
            CASE_WRONG("q=%s: rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
    }
    assert_int_equal(addr1("<sip:a@example.com>;Q=0.7", true, true, &a, &e, NULL), 0);
    assert_int_equal(a.q, 700);
    assert_int_equal(addr1("<sip:a@example.com>", true, true, &a, &e, NULL), 0);
    assert_int_equal(a.q, -1);
    CASES_DONE();
}

static void test_addr_contact_expires(void **state)
{
    size_t wrong = 0;
    static const struct {
        const char *v;
        int64_t want;
    } good[] = {
        {"0", 0},
        {"3600", 3600},
        {"4294967295", 4294967295LL},
        {"4294967296", 4294967295LL},
        {"99999999999", 4294967295LL},
        {"99999999999999999999999999", 4294967295LL}, /* beyond 64 bits */
    };
    char text[128];
    struct sip_addr a;
    struct sip_error e;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "<sip:a@example.com>;expires=%s;q=1", good[i].v);
        if (addr1(text, true, true, &a, &e, NULL) != 0) {
            CASE_WRONG("expires=%s rejected", good[i].v);
            continue;
        }
        if (a.expires != good[i].want) {
            CASE_WRONG("expires=%s: got %lld, want %lld", good[i].v,
                       (long long) a.expires, (long long) good[i].want);
            continue;
        }
        assert_int_equal(a.q, 1000);
    }
    assert_int_equal(addr1("<sip:a@example.com>;EXPIRES=60", true, true, &a, &e, NULL),
                     0);
    assert_int_equal(a.expires, 60);
    assert_int_equal(addr1("<sip:a@example.com>;q=0.1", true, true, &a, &e, NULL), 0);
    assert_int_equal(a.expires, -1);
    CASES_DONE();
}

static void test_addr_list_direct(void **state)
{
    static const char s[] =
        "\"Doe, John\" <sip:john,doe@example.com>;q=0.5 , "
        "<sip:b@example.org;lr>;expires=60,sip:c@example.net;x=\"a,b\"";
    const char *p = s, *end = s + strlen(s);
    struct sip_addr a;
    struct sip_error e;
    struct sk_str val;

    (void) state;
    assert_int_equal(sip_parse_addr(&p, end, true, true, &a, &e), 0);
    ASSERT_STR(a.raw, "\"Doe, John\" <sip:john,doe@example.com>;q=0.5");
    ASSERT_STR(a.display, "Doe, John");
    ASSERT_STR(a.uri.user, "john,doe");
    assert_int_equal(a.q, 500);
    assert_true(p > s && p < end);
    assert_int_equal(sip_parse_addr(&p, end, true, true, &a, &e), 0);
    ASSERT_UNSET(a.display);
    ASSERT_STR(a.uri.host, "example.org");
    assert_true(a.uri.lr);
    assert_int_equal(a.expires, 60);
    assert_int_equal(sip_parse_addr(&p, end, true, true, &a, &e), 0);
    ASSERT_STR(a.uri.raw, "sip:c@example.net");
    assert_true(sip_param_get(a.params, "x", &val));
    ASSERT_STR(val, "a,b");
    assert_ptr_equal(p, end);
}

static void test_addr_invalid_direct(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "\"Bob <sip:bob@biloxi.example.com>",     /* unterminated quote */
        "\"Bob\\\" <sip:bob@biloxi.example.com>", /* the only closing quote is escaped */
        "<sip:bob@biloxi.example.com",            /* missing '>' */
        "Bob <sip:bob@biloxi.example.com;tag=1",  /* missing '>' */
        "<>",                                     /* '<' without a URI */
        "Bob <>",
        "", /* empty value */
        "   ",
        "<bob@biloxi.example.com>",             /* not a URI: no scheme */
        "<sip:bob@biloxi.example.com> garbage", /* junk after name-addr */
        "<sip:bob@biloxi.example.com>;",        /* empty parameter */
        "<sip:bob@biloxi.example.com>;;tag=1",
        "\"Bob\" sip:bob@biloxi.example.com", /* quoted name needs <> */
    };
    size_t i;
    struct sip_addr a;
    struct sip_error e;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = addr1(bad[i], false, false, &a, &e, NULL);
        if (rc != EBADMSG) {
            CASE_WRONG("addr \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
        assert_non_null(e.reason);
        if (e.pos > strlen(bad[i])) {
            CASE_WRONG("addr \"%s\": err.pos %zu past the input", bad[i], e.pos);
            continue;
        }
    }
    CASES_DONE();
}

static void test_addr_from_to_message(void **state)
{
    struct fx *f = *state;
    const struct sip_addr *a;
    size_t n = 0;

    assert_int_equal(build(f, INVITE_LINE, "From",
                           "\"Bob \\\"the builder\\\", Jr.\" <sip:bob@biloxi.example.com>"
                           ";tag=a6c85cf",
                           NULL),
                     0);
    assert_true(f->m->has_from);
    ASSERT_STR(f->m->from.display, "Bob \\\"the builder\\\", Jr.");
    assert_true(f->m->from.display_quoted);
    ASSERT_STR(f->m->from.tag, "a6c85cf");
    assert_true(f->m->has_to);
    ASSERT_STR(f->m->to.display, "Bob");
    ASSERT_UNSET(f->m->to.tag);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_FROM, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].tag, "a6c85cf");
    ASSERT_STR(a[0].uri.user, "bob");
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_TO, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].uri.host, "biloxi.example.com");

    /* addr-spec To with a tag (header parameter). */
    assert_int_equal(req_sub(f, "To", "sip:bob@biloxi.example.com;tag=xyz"), 0);
    ASSERT_STR(f->m->to.tag, "xyz");
    ASSERT_STR(f->m->to.uri.raw, "sip:bob@biloxi.example.com");
    ASSERT_UNSET(f->m->to.display);

    /* Unquoted multi-token display name, compact form. */
    assert_int_equal(build(f, INVITE_LINE, "To", NULL,
                           "t: Bob Smith <sip:bob@biloxi.example.com>;tag=2\r\n"),
                     0);
    ASSERT_STR(f->m->to.display, "Bob Smith");
    assert_false(f->m->to.display_quoted);
    ASSERT_STR(f->m->to.tag, "2");

    /* Missing From: the parse succeeds, the accessor says ENOENT. */
    assert_int_equal(req_sub(f, "From", NULL), 0);
    assert_false(f->m->has_from);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_FROM, &a, &n, &f->err), ENOENT);
}

static void test_addr_from_to_message_invalid(void **state)
{
    size_t wrong = 0;
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"From", "\"Alice <sip:alice@atlanta.example.com>;tag=1"}, /* RFC 4475 §3.1.2.6 */
        {"From", "<sip:alice@atlanta.example.com;tag=1"},
        {"From", "<>;tag=1"},
        {"From", ""},
        {"From", "*"},
        {"To", "*"},
        {"To", "Bob <sip:bob@biloxi.example.com> junk"},
        {"To", "\"Bob <sip:bob@biloxi.example.com>"},
    };
    struct fx *f = *state;
    size_t i;
    char field[32];

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = req_sub(f, bad[i].name, bad[i].value);
        if (rc != EBADMSG) {
            CASE_WRONG("%s: \"%s\": parse rc %d, want EBADMSG", bad[i].name, bad[i].value,
                       rc);
            continue;
        }
        snprintf(field, sizeof(field), "%s:", bad[i].name);
        ASSERT_MSG_BAD(f, field);
    }
    CASES_DONE();
}

static void test_addr_contact_message(void **state)
{
    struct fx *f = *state;
    const struct sip_addr *a;
    size_t n = 0;

    assert_int_equal(
        req(f, "Contact: \"Doe, John\" <sip:john,doe@example.com>;q=0.5, "
               "<sip:b@example.org>;expires=60\r\n"
               "m: sip:c@example.net;expires=4294967296, Carol C <sip:c2@x.org>\r\n"),
        0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), 0);
    assert_int_equal(n, 4);
    ASSERT_STR(a[0].display, "Doe, John");
    ASSERT_STR(a[0].uri.user, "john,doe");
    assert_int_equal(a[0].q, 500);
    assert_int_equal(a[0].expires, -1);
    ASSERT_STR(a[1].uri.raw, "sip:b@example.org");
    assert_int_equal(a[1].expires, 60);
    assert_int_equal(a[1].q, -1);
    ASSERT_STR(a[2].uri.raw, "sip:c@example.net");
    assert_int_equal(a[2].expires, 4294967295LL);
    ASSERT_STR(a[3].display, "Carol C");
    ASSERT_STR(a[3].uri.user, "c2");
    for (size_t i = 0; i < n; i++)
        assert_false(a[i].star);

    assert_int_equal(req(f, "Contact: *\r\nExpires: 0\r\n"), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    assert_true(a[0].star);

    /* STAR is the whole Contact value or nothing (RFC 3261 §25.1, §10.3 step 6). */
    assert_int_equal(req(f, "Contact: *, <sip:alice@192.0.2.1>\r\nExpires: 0\r\n"), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Contact:");
}

static void test_addr_contact_message_invalid(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "Contact: \"Bob <sip:bob@192.0.2.4>\r\n",
        "Contact: <sip:bob@192.0.2.4\r\n",
        "Contact: <>\r\n",
        "Contact: \r\n",
        "Contact: <sip:bob@192.0.2.4>;q=1.5\r\n",
        "Contact: <sip:bob@192.0.2.4>;q=2\r\n",
        "Contact: <sip:bob@192.0.2.4>;q=.5\r\n",
        "Contact: <sip:bob@192.0.2.4>;q=0.1234\r\n",
        "Contact: <sip:a@192.0.2.4>, <sip:bob@192.0.2.4\r\n",
    };
    struct fx *f = *state;
    const struct sip_addr *a;
    size_t i, n;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = req(f, bad[i]);
        if (rc != 0) {
            CASE_WRONG("\"%s\": a bad Contact must not fail the parse (rc %d)", bad[i],
                       rc);
            continue;
        }
        rc = sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err);
        if (rc != EBADMSG) {
            CASE_WRONG("\"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "Contact:");
    }
    /* The error points into the bad (second) element, not at the first one. */
    assert_int_equal(req(f, "Contact: <sip:a@192.0.2.4>, <sip:bob@192.0.2.4\r\n"), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), EBADMSG);
    assert_true(pos_in_field(f, "<sip:bob@192.0.2.4"));
    CASES_DONE();
}

static void test_addr_other_headers_message(void **state)
{
    struct fx *f = *state;
    const struct sip_addr *a;
    size_t n = 0;

    assert_int_equal(
        req(f, "Route: <sip:p1.example.com;lr>,\r\n\t<sip:p2.example.com;lr>\r\n"
               "Route: <sip:p3.example.com:5080;lr;transport=tcp>\r\n"
               "Record-Route: <sip:rr1.example.com;lr>, <sip:rr2.example.com;lr>\r\n"
               "Path: <sip:edge.example.com;lr>\r\n"
               "Reply-To: Bob <sip:bob@biloxi.example.com>\r\n"
               "Refer-To: <sip:carol@cleveland.example.com?Replaces=abc%40def>\r\n"
               "Referred-By: "
               "<sip:alice@atlanta.example.com>;cid=\"20398823.2UWQFN309shb3@x\"\r\n"
               "P-Asserted-Identity: \"Cullen Jennings\" <sip:fluffy@cisco.example.com>, "
               "<tel:+14085264000>\r\n"),
        0);

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_ROUTE, &a, &n, &f->err), 0);
    assert_int_equal(n, 3);
    ASSERT_STR(a[0].uri.host, "p1.example.com");
    assert_true(a[0].uri.lr);
    ASSERT_STR(a[1].uri.host, "p2.example.com");
    ASSERT_STR(a[2].uri.host, "p3.example.com");
    assert_int_equal(a[2].uri.port, 5080);
    ASSERT_STR(a[2].uri.transport, "tcp");

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_RECORD_ROUTE, &a, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(a[0].uri.host, "rr1.example.com");
    ASSERT_STR(a[1].uri.host, "rr2.example.com");

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_PATH, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].uri.host, "edge.example.com");
    assert_true(a[0].uri.lr);

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_REPLY_TO, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].display, "Bob");
    ASSERT_STR(a[0].uri.user, "bob");

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_REFER_TO, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].uri.user, "carol");
    ASSERT_STR(a[0].uri.headers, "Replaces=abc%40def");

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_REFERRED_BY, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].uri.user, "alice");
    ASSERT_STR(a[0].params, "cid=\"20398823.2UWQFN309shb3@x\"");

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_P_ASSERTED_IDENTITY, &a, &n, &f->err),
                     0);
    assert_int_equal(n, 2);
    ASSERT_STR(a[0].display, "Cullen Jennings");
    assert_int_equal(a[0].uri.scheme, SIP_URI_SIP);
    assert_int_equal(a[1].uri.scheme, SIP_URI_TEL);
    ASSERT_UNSET(a[1].display);
}

static void test_addr_other_headers_invalid(void **state)
{
    size_t wrong = 0;
    static const struct {
        enum sip_hdr_id id;
        const char *line, *field;
    } bad[] = {
        {SIP_HDR_ROUTE, "Route: *\r\n", "Route:"},
        {SIP_HDR_ROUTE, "Route: <sip:p1.example.com;lr>, <sip:p2\r\n", "Route:"},
        {SIP_HDR_RECORD_ROUTE, "Record-Route: \"rr <sip:rr1.example.com;lr>\r\n",
         "Record-Route:"},
        {SIP_HDR_PATH, "Path: <>\r\n", "Path:"},
        {SIP_HDR_REPLY_TO, "Reply-To: \r\n", "Reply-To:"},
        {SIP_HDR_REFER_TO, "Refer-To: *\r\n", "Refer-To:"},
        {SIP_HDR_REFERRED_BY, "Referred-By: <sip:alice@atlanta.example.com\r\n",
         "Referred-By:"},
        {SIP_HDR_P_ASSERTED_IDENTITY, "P-Asserted-Identity: <tel:+1408>, \"x\r\n",
         "P-Asserted-Identity:"},
    };
    struct fx *f = *state;
    const struct sip_addr *a;
    size_t i, n;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        assert_int_equal(req(f, bad[i].line), 0);
        rc = sip_msg_addrs(f->m, bad[i].id, &a, &n, &f->err);
        if (rc != EBADMSG) {
            CASE_WRONG("\"%s\": rc %d, want EBADMSG", bad[i].line, rc);
            continue;
        }
        ASSERT_MSG_BAD(f, bad[i].field);
    }
    CASES_DONE();
}

/* ------------------------------------------------------------------------ */
/* CSeq, Max-Forwards, Content-Length, delta values, Call-ID                 */

static void test_cseq_direct(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "1",
        "INVITE",
        "abc INVITE",
        "-1 INVITE",
        "1INVITE",
        "2147483648 INVITE",
        "4294967296 INVITE",
        "99999999999999999999 INVITE",
        "1 INVITE x",
        "1 INV@ITE",
        "",
        "1.5 INVITE",
        "+1 INVITE",
    };
    struct sip_cseq c;
    struct sip_error e;
    size_t i;

    (void) state;
    assert_int_equal(sip_parse_cseq(SK_STR_LIT("1 INVITE"), &c, &e), 0);
    assert_int_equal(c.num, 1);
    ASSERT_STR(c.method, "INVITE");
    assert_int_equal(sip_parse_cseq(SK_STR_LIT("0009\r\n  INVITE"), &c, &e), 0);
    assert_int_equal(c.num, 9);
    ASSERT_STR(c.method, "INVITE");
    assert_int_equal(sip_parse_cseq(SK_STR_LIT("2147483647 REGISTER"), &c, &e), 0);
    assert_int_equal(c.num, 2147483647u);
    ASSERT_STR(c.method, "REGISTER");
    assert_int_equal(sip_parse_cseq(SK_STR_LIT("0 NEWMETHOD"), &c, &e), 0);
    assert_int_equal(c.num, 0);
    ASSERT_STR(c.method, "NEWMETHOD");
    assert_int_equal(sip_parse_cseq(SK_STR_LIT("7 \t ACK"), &c, &e), 0);
    assert_int_equal(c.num, 7);
    ASSERT_STR(c.method, "ACK");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        memset(&e, 0, sizeof(e));
        rc = sip_parse_cseq(sk_str_cstr(bad[i]), &c, &e);
        if (rc != EBADMSG) {
            CASE_WRONG("CSeq \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
        assert_non_null(e.reason);
    }
    CASES_DONE();
}

static void test_cseq_message(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"2147483648 INVITE", "1", "abc INVITE", "-1 INVITE",
                                      ""};
    struct fx *f = *state;
    size_t i;

    assert_int_equal(req_sub(f, "CSeq", "1 INVITE"), 0);
    assert_true(f->m->has_cseq);
    assert_int_equal(f->m->cseq.num, 1);
    ASSERT_STR(f->m->cseq.method, "INVITE");

    /* RFC 4475 §3.1.1.1: "CSeq: 0009\r\n  INVITE" */
    assert_int_equal(req_sub(f, "CSeq", "0009\r\n  INVITE"), 0);
    assert_int_equal(f->m->cseq.num, 9);
    ASSERT_STR(f->m->cseq.method, "INVITE");

    assert_int_equal(req_sub(f, "CSeq", "2147483647 INVITE"), 0);
    assert_int_equal(f->m->cseq.num, 2147483647u);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = req_sub(f, "CSeq", bad[i]);
        if (rc != EBADMSG) {
            CASE_WRONG("CSeq \"%s\": parse rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "CSeq:");
    }
    CASES_DONE();
}

static void test_max_forwards(void **state)
{
    size_t wrong = 0;
    static const char *const good[] = {"0", "1", "70", "255", "007"};
    static const int want[] = {0, 1, 70, 255, 7};
    static const char *const bad[] = {"256", "1000", "abc",        "-1",
                                      "",    "7 0",  "99999999999"};
    struct fx *f = *state;
    uint32_t u = 0;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(req_sub(f, "Max-Forwards", good[i]), 0);
        assert_int_equal(f->m->max_forwards, want[i]);
        assert_int_equal(sip_msg_uint(f->m, SIP_HDR_MAX_FORWARDS, &u, &f->err), 0);
        assert_int_equal(u, (uint32_t) want[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = req_sub(f, "Max-Forwards", bad[i]);
        if (rc != EBADMSG) {
            CASE_WRONG("Max-Forwards \"%s\": parse rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "Max-Forwards:");
    }
    assert_int_equal(req_sub(f, "Max-Forwards", NULL), 0);
    assert_int_equal(f->m->max_forwards, -1);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_MAX_FORWARDS, &u, &f->err), ENOENT);
    CASES_DONE();
}

static void test_content_length(void **state)
{
    size_t wrong = 0;
    static const char head[] = "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
                               "Max-Forwards: 70\r\n"
                               "To: <sip:bob@biloxi.example.com>\r\n"
                               "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
                               "Call-ID: cl@test\r\n"
                               "CSeq: 1 MESSAGE\r\n";
    static const char *const bad[] = {"abc", "-1", "10", "4294967296", "", "5 5"};
    struct fx *f = *state;
    char text[1024];
    uint32_t u = 0;
    size_t i, consumed = 0;
    int rc;

    snprintf(text, sizeof(text),
             "%sContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", head);
    assert_int_equal(parse_text(f, text), 0);
    assert_int_equal(f->m->content_length, 5);
    ASSERT_STR(f->m->body, "hello");
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_CONTENT_LENGTH, &u, &f->err), 0);
    assert_int_equal(u, 5);

    snprintf(text, sizeof(text), "%sContent-Length: 003\r\n\r\nabc", head);
    assert_int_equal(parse_text(f, text), 0);
    assert_int_equal(f->m->content_length, 3);
    ASSERT_STR(f->m->body, "abc");

    snprintf(text, sizeof(text), "%sl:   0  \r\n\r\n", head);
    assert_int_equal(parse_text(f, text), 0);
    assert_int_equal(f->m->content_length, 0);
    assert_int_equal(f->m->body.len, 0);

    /* Datagram: bytes after Content-Length are not part of the message. */
    snprintf(text, sizeof(text), "%sContent-Length: 5\r\n\r\nhelloEXTRA", head);
    assert_int_equal(parse_text_consumed(f, text, &consumed), 0);
    assert_int_equal(consumed, strlen(text) - 5);
    assert_int_equal(f->m->len, strlen(text) - 5);
    ASSERT_STR(f->m->body, "hello");
    assert_int_equal(f->m->content_length, 5);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "%sContent-Length: %s\r\n\r\nhello", head, bad[i]);
        rc = parse_text(f, text);
        if (rc != EBADMSG) {
            CASE_WRONG("Content-Length \"%s\": parse rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "Content-Length:");
    }

    snprintf(text, sizeof(text), "%s\r\n", head);
    assert_int_equal(parse_text(f, text), 0);
    assert_int_equal(f->m->content_length, -1);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_CONTENT_LENGTH, &u, &f->err), ENOENT);
    CASES_DONE();
}

static void test_uint_headers(void **state)
{
    size_t wrong = 0;
    static const struct {
        enum sip_hdr_id id;
        const char *name;
    } hdrs[] = {
        {SIP_HDR_EXPIRES, "Expires"},
        {SIP_HDR_MIN_EXPIRES, "Min-Expires"},
        {SIP_HDR_MIN_SE, "Min-SE"},
    };
    static const struct {
        const char *v;
        uint32_t want;
    } good[] = {{"0", 0}, {"3600", 3600}, {"4294967295", 4294967295u}, {"007", 7}};
    static const char *const bad[] = {
        "4294967296", "abc", "-1", "", "36 00", "1e3", "99999999999999999999"};
    struct fx *f = *state;
    char line[128];
    uint32_t u;
    size_t h, i;

    for (h = 0; h < sizeof(hdrs) / sizeof(hdrs[0]); h++) {
        for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
            snprintf(line, sizeof(line), "%s: %s\r\n", hdrs[h].name, good[i].v);
            assert_int_equal(req(f, line), 0);
            u = 12345;
            if (sip_msg_uint(f->m, hdrs[h].id, &u, &f->err) != 0) {
                CASE_WRONG("%s: %s rejected", hdrs[h].name, good[i].v);
                continue;
            }
            assert_int_equal(u, good[i].want);
        }
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            int rc;
            snprintf(line, sizeof(line), "%s: %s\r\n", hdrs[h].name, bad[i]);
            assert_int_equal(req(f, line), 0);
            rc = sip_msg_uint(f->m, hdrs[h].id, &u, &f->err);
            if (rc != EBADMSG) {
                CASE_WRONG("%s: \"%s\": rc %d, want EBADMSG", hdrs[h].name, bad[i], rc);
                continue;
            }
            snprintf(line, sizeof(line), "%s:", hdrs[h].name);
            ASSERT_MSG_BAD(f, line);
        }
        assert_int_equal(req(f, NULL), 0);
        assert_int_equal(sip_msg_uint(f->m, hdrs[h].id, &u, &f->err), ENOENT);
    }

    /* RSeq (RFC 3262 §7.1: response-num = 1*DIGIT). */
    assert_int_equal(req(f, "RSeq: 988789\r\n"), 0);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_RSEQ, &u, &f->err), 0);
    assert_int_equal(u, 988789);
    assert_int_equal(req(f, "RSeq: 2147483647\r\n"), 0);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_RSEQ, &u, &f->err), 0);
    assert_int_equal(u, 2147483647u);
    assert_int_equal(req(f, "RSeq: 4294967296\r\n"), 0);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_RSEQ, &u, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "RSeq:");
    assert_int_equal(req(f, "RSeq: abc\r\n"), 0);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_RSEQ, &u, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "RSeq:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_RSEQ, &u, &f->err), ENOENT);
    CASES_DONE();
}

static void test_parse_uint_direct(void **state)
{
    struct sip_error e;
    uint32_t u = 0;

    (void) state;
    assert_int_equal(sip_parse_uint(SK_STR_LIT("3600"), UINT32_MAX, &u, &e, "Expires"),
                     0);
    assert_int_equal(u, 3600);
    assert_int_equal(sip_parse_uint(SK_STR_LIT("4294967295"), UINT32_MAX, &u, &e, "x"),
                     0);
    assert_int_equal(u, 4294967295u);
    assert_int_equal(sip_parse_uint(SK_STR_LIT("255"), 255, &u, &e, "x"), 0);
    assert_int_equal(u, 255);
    ASSERT_BAD(sip_parse_uint(SK_STR_LIT("256"), 255, &u, &e, "x"), e);
    ASSERT_BAD(sip_parse_uint(SK_STR_LIT("4294967296"), UINT32_MAX, &u, &e, "x"), e);
    ASSERT_BAD(sip_parse_uint(SK_STR_LIT(""), UINT32_MAX, &u, &e, "x"), e);
    ASSERT_BAD(sip_parse_uint(SK_STR_LIT("12a"), UINT32_MAX, &u, &e, "x"), e);
    ASSERT_BAD(sip_parse_uint(SK_STR_LIT("-1"), UINT32_MAX, &u, &e, "x"), e);
}

static void test_call_id(void **state)
{
    size_t wrong = 0;
    static const char *const good[] = {
        "a84b4c76e66710@pc33.atlanta.example.com",
        "word",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
        "0ha0isndaksdj@10.0.0.1",
        "1@[2001:db8::10]",
        "-.!%*_+`'~()<>:\\\"/[]?{}@-.!%*_+`'~()<>:\\\"/[]?{}",
    };
    static const char *const bad[] = {"a b", "",    "a@b@c", "@b",
                                      "a@",  "a;b", "a,b",   "\xc3\xa9"};
    struct fx *f = *state;
    struct sip_error e;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (sip_parse_callid(sk_str_cstr(good[i]), &e) != 0) {
            CASE_WRONG("Call-ID \"%s\" rejected", good[i]);
            continue;
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        memset(&e, 0, sizeof(e));
        rc = sip_parse_callid(sk_str_cstr(bad[i]), &e);
        if (rc != EBADMSG) {
            CASE_WRONG("Call-ID \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(req_sub(f, "Call-ID", "word@word"), 0);
    assert_true(f->m->has_call_id);
    ASSERT_STR(f->m->call_id, "word@word");
    assert_int_equal(req_sub(f, "Call-ID", "a b"), EBADMSG);
    ASSERT_MSG_BAD(f, "Call-ID:");
    assert_int_equal(req_sub(f, "Call-ID", ""), EBADMSG);
    ASSERT_MSG_BAD(f, "Call-ID:");
    assert_int_equal(req_sub(f, "Call-ID", NULL), 0);
    assert_false(f->m->has_call_id);
    CASES_DONE();
}

/* ------------------------------------------------------------------------ */
/* Content-Type and Accept                                                   */

static void test_ctype_direct(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"application",
                                      "application/",
                                      "/sdp",
                                      "",
                                      "application/sdp;",
                                      "application/sdp garbage",
                                      "appli cation/sdp",
                                      "application/sdp;charset=\"utf-8"};
    struct sip_ctype c;
    struct sip_error e;
    struct sk_str val;
    const char *p, *s;
    size_t i;

    (void) state;
    s = "application/sdp";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), false, &c, &e), 0);
    ASSERT_STR(c.type, "application");
    ASSERT_STR(c.subtype, "sdp");
    assert_int_equal(c.params.len, 0);
    assert_ptr_equal(p, s + strlen(s));

    s = "application/sdp;charset=utf-8";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), false, &c, &e), 0);
    ASSERT_STR(c.type, "application");
    ASSERT_STR(c.subtype, "sdp");
    ASSERT_STR(c.params, "charset=utf-8");
    assert_true(sip_param_get(c.params, "Charset", &val));
    ASSERT_STR(val, "utf-8");

    /* A quoted parameter with ';' and ',' inside, in a single-valued header. */
    s = "multipart/mixed;boundary=\"uniq;ue,boundary\"";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), false, &c, &e), 0);
    ASSERT_STR(c.type, "multipart");
    ASSERT_STR(c.subtype, "mixed");
    assert_true(sip_param_get(c.params, "boundary", &val));
    ASSERT_STR(val, "uniq;ue,boundary");

    /* SEMI and EQUAL allow SWS. */
    s = "text/plain ; charset = utf-8";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), false, &c, &e), 0);
    ASSERT_STR(c.subtype, "plain");
    assert_true(sip_param_get(c.params, "charset", &val));
    ASSERT_STR(val, "utf-8");

    /* SLASH = SWS "/" SWS */
    s = "text / plain";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), false, &c, &e), 0);
    ASSERT_STR(c.type, "text");
    ASSERT_STR(c.subtype, "plain");

    /* Accept list: wildcards, params. */
    s = "*/*, text/*;q=0.5 ,application/pidf+xml";
    p = s;
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), true, &c, &e), 0);
    ASSERT_STR(c.type, "*");
    ASSERT_STR(c.subtype, "*");
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), true, &c, &e), 0);
    ASSERT_STR(c.type, "text");
    ASSERT_STR(c.subtype, "*");
    assert_true(sip_param_get(c.params, "q", &val));
    ASSERT_STR(val, "0.5");
    assert_int_equal(sip_parse_ctype(&p, s + strlen(s), true, &c, &e), 0);
    ASSERT_STR(c.type, "application");
    ASSERT_STR(c.subtype, "pidf+xml");
    assert_ptr_equal(p, s + strlen(s));

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        p = bad[i];
        memset(&e, 0, sizeof(e));
        rc = sip_parse_ctype(&p, bad[i] + strlen(bad[i]), false, &c, &e);
        if (rc != EBADMSG) {
            CASE_WRONG("media type \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
    }
    CASES_DONE();
}

static void test_ctype_message(void **state)
{
    struct fx *f = *state;
    const struct sip_ctype *c;
    size_t n = 0;

    assert_int_equal(req(f, "c: application/sdp;charset=utf-8\r\n"
                            "Accept: application/sdp, text/plain;x=\"a,b\",\r\n"
                            " multipart/mixed\r\n"
                            "Accept: */*\r\n"),
                     0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_CONTENT_TYPE, &c, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(c[0].type, "application");
    ASSERT_STR(c[0].subtype, "sdp");
    ASSERT_STR(c[0].params, "charset=utf-8");

    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c, &n, &f->err), 0);
    assert_int_equal(n, 4);
    ASSERT_STR(c[0].subtype, "sdp");
    ASSERT_STR(c[1].type, "text");
    ASSERT_STR(c[1].subtype, "plain");
    ASSERT_STR(c[1].params, "x=\"a,b\"");
    ASSERT_STR(c[2].type, "multipart");
    ASSERT_STR(c[3].type, "*");
    ASSERT_STR(c[3].subtype, "*");

    /* Accept = "Accept" HCOLON [ accept-range *(COMMA accept-range) ]: may be empty. */
    assert_int_equal(req(f, "Accept: \r\n"), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c, &n, &f->err), 0);
    assert_int_equal(n, 0);

    assert_int_equal(req(f, "Content-Type: application\r\n"), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_CONTENT_TYPE, &c, &n, &f->err),
                     EBADMSG);
    ASSERT_MSG_BAD(f, "Content-Type:");
    /* Content-Type has one media-type: a list is malformed. */
    assert_int_equal(req(f, "Content-Type: application/sdp, text/plain\r\n"), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_CONTENT_TYPE, &c, &n, &f->err),
                     EBADMSG);
    ASSERT_MSG_BAD(f, "Content-Type:");
    assert_int_equal(req(f, "Content-Type: \r\n"), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_CONTENT_TYPE, &c, &n, &f->err),
                     EBADMSG);
    ASSERT_MSG_BAD(f, "Content-Type:");
    assert_int_equal(req(f, "Accept: application/sdp, text\r\n"), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c, &n, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Accept:");

    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_CONTENT_TYPE, &c, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c, &n, &f->err), ENOENT);
}

/* ------------------------------------------------------------------------ */
/* Option tags and other token lists                                         */

static void test_tokens_direct(void **state)
{
    static const char s[] = "100rel , timer,replaces";
    const char *p = s, *end = s + strlen(s);
    struct sk_str t;
    struct sip_error e;
    const char *b;

    (void) state;
    assert_int_equal(sip_parse_token_elem(&p, end, false, &t, &e), 0);
    ASSERT_STR(t, "100rel");
    assert_int_equal(sip_parse_token_elem(&p, end, false, &t, &e), 0);
    ASSERT_STR(t, "timer");
    assert_int_equal(sip_parse_token_elem(&p, end, false, &t, &e), 0);
    ASSERT_STR(t, "replaces");
    assert_ptr_equal(p, end);

    b = "ti@mer";
    p = b;
    ASSERT_BAD(sip_parse_token_elem(&p, b + strlen(b), false, &t, &e), e);
    b = "a b";
    p = b;
    ASSERT_BAD(sip_parse_token_elem(&p, b + strlen(b), false, &t, &e), e);
    b = "\"quoted\"";
    p = b;
    ASSERT_BAD(sip_parse_token_elem(&p, b + strlen(b), false, &t, &e), e);
}

static void test_tokens_message(void **state)
{
    struct fx *f = *state;
    const struct sk_str *t;
    size_t n = 0;

    assert_int_equal(req(f, "Require: 100rel, timer\r\n"
                            "Supported: path,\r\n gruu\r\n"
                            "Proxy-Require: foo\r\n"
                            "Require: replaces\r\n"
                            "Unsupported: bar, baz\r\n"
                            "Allow: INVITE, ACK, OPTIONS, CANCEL, BYE\r\n"
                            "u: presence, dialog.winfo\r\n"
                            "k: outbound\r\n"),
                     0);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_REQUIRE, &t, &n, &f->err), 0);
    assert_int_equal(n, 3);
    ASSERT_STR(t[0], "100rel");
    ASSERT_STR(t[1], "timer");
    ASSERT_STR(t[2], "replaces");
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_SUPPORTED, &t, &n, &f->err), 0);
    assert_int_equal(n, 3);
    ASSERT_STR(t[0], "path");
    ASSERT_STR(t[1], "gruu");
    ASSERT_STR(t[2], "outbound");
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_PROXY_REQUIRE, &t, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(t[0], "foo");
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_UNSUPPORTED, &t, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(t[1], "baz");
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_ALLOW, &t, &n, &f->err), 0);
    assert_int_equal(n, 5);
    ASSERT_STR(t[0], "INVITE");
    ASSERT_STR(t[4], "BYE");
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_ALLOW_EVENTS, &t, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(t[1], "dialog.winfo");

    /* Supported = ( "Supported" / "k" ) HCOLON [option-tag *(COMMA option-tag)] */
    assert_int_equal(req(f, "Supported: \r\n"), 0);
    n = 99;
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_SUPPORTED, &t, &n, &f->err), 0);
    assert_int_equal(n, 0);
    /* Allow = "Allow" HCOLON [Method *(COMMA Method)] */
    assert_int_equal(req(f, "Allow:\r\n"), 0);
    n = 99;
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_ALLOW, &t, &n, &f->err), 0);
    assert_int_equal(n, 0);

    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_REQUIRE, &t, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_SUPPORTED, &t, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_PROXY_REQUIRE, &t, &n, &f->err),
                     ENOENT);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_UNSUPPORTED, &t, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_ALLOW, &t, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_ALLOW_EVENTS, &t, &n, &f->err), ENOENT);
}

static void test_tokens_message_invalid(void **state)
{
    size_t wrong = 0;
    static const struct {
        enum sip_hdr_id id;
        const char *line, *field;
    } bad[] = {
        {SIP_HDR_REQUIRE, "Require: 100rel, ti@mer\r\n", "Require:"},
        {SIP_HDR_REQUIRE, "Require: a,,b\r\n", "Require:"},
        {SIP_HDR_REQUIRE, "Require: a,\r\n", "Require:"},
        /* RFC 3261 §25.1: Require, Proxy-Require and Unsupported list 1 option-tag at
         * least (only Supported and Allow may be empty); RFC 6665 §8.4: Allow-Events
         * lists 1 event-type at least. */
        {SIP_HDR_REQUIRE, "Require: \r\n", "Require:"},
        {SIP_HDR_PROXY_REQUIRE, "Proxy-Require: \r\n", "Proxy-Require:"},
        {SIP_HDR_UNSUPPORTED, "Unsupported: \r\n", "Unsupported:"},
        {SIP_HDR_ALLOW_EVENTS, "Allow-Events: \r\n", "Allow-Events:"},
        {SIP_HDR_SUPPORTED, "Supported: path gruu\r\n", "Supported:"},
        {SIP_HDR_SUPPORTED, "Supported: \"path\"\r\n", "Supported:"},
        {SIP_HDR_PROXY_REQUIRE, "Proxy-Require: foo;bar\r\n", "Proxy-Require:"},
        {SIP_HDR_UNSUPPORTED, "Unsupported: a/b\r\n", "Unsupported:"},
        {SIP_HDR_ALLOW, "Allow: INVITE, <ACK>\r\n", "Allow:"},
        {SIP_HDR_ALLOW_EVENTS, "Allow-Events: presence, dia log\r\n", "Allow-Events:"},
    };
    struct fx *f = *state;
    const struct sk_str *t;
    size_t i, n;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        assert_int_equal(req(f, bad[i].line), 0);
        rc = sip_msg_tokens(f->m, bad[i].id, &t, &n, &f->err);
        if (rc != EBADMSG) {
            CASE_WRONG("\"%.*s\": rc %d, want EBADMSG", (int) strlen(bad[i].line) - 2,
                       bad[i].line, rc);
            continue;
        }
        ASSERT_MSG_BAD(f, bad[i].field);
    }
    CASES_DONE();
}

/* ------------------------------------------------------------------------ */
/* Authentication                                                            */

static void test_auth_credentials(void **state)
{
    static const char s[] =
        "Digest username=\"bob\", realm=\"biloxi.example.com\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
        "uri=\"sip:bob@biloxi.example.com\", "
        "response=\"245f23415f11432b3434341c022e24d0\", algorithm=MD5, "
        "cnonce=\"0a4f113b\", "
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, nc=00000001";
    struct sip_auth a;
    struct sip_error e;

    (void) state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(sip_parse_auth(SK_STR_LIT(s), &a, &e), 0);
    ASSERT_STR(a.scheme, "Digest");
    assert_true(a.digest);
    assert_true(a.params.len > 0);
    ASSERT_STR(a.username, "bob");
    ASSERT_STR(a.realm, "biloxi.example.com");
    ASSERT_STR(a.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
    ASSERT_STR(a.uri, "sip:bob@biloxi.example.com");
    ASSERT_STR(a.response, "245f23415f11432b3434341c022e24d0");
    ASSERT_STR(a.algorithm, "MD5");
    ASSERT_STR(a.cnonce, "0a4f113b");
    ASSERT_STR(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
    ASSERT_STR(a.qop, "auth");
    ASSERT_STR(a.nc, "00000001");
    ASSERT_UNSET(a.stale);
    ASSERT_UNSET(a.domain);
    ASSERT_UNSET(a.userhash);

    /* RFC 8760 / RFC 7616: SHA-256 and userhash; the scheme is case-insensitive. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        sip_parse_auth(SK_STR_LIT("digest username=\"5c8e1ab7\",realm=\"r\","
                                  "uri=\"sip:r\",algorithm=SHA-256,"
                                  "userhash=true,nonce=\"n\",response=\"ab\""),
                       &a, &e),
        0);
    assert_true(a.digest);
    ASSERT_STR(a.username, "5c8e1ab7");
    ASSERT_STR(a.algorithm, "SHA-256");
    ASSERT_STR(a.userhash, "true");
    ASSERT_STR(a.response, "ab");
    ASSERT_UNSET(a.qop);
    ASSERT_UNSET(a.nc);

    /* Parameter names are case-insensitive. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(sip_parse_auth(SK_STR_LIT("Digest USERNAME=\"bob\", Realm=\"r\", "
                                               "NC=00000002, QOP=auth"),
                                    &a, &e),
                     0);
    ASSERT_STR(a.username, "bob");
    ASSERT_STR(a.realm, "r");
    ASSERT_STR(a.nc, "00000002");
    ASSERT_STR(a.qop, "auth");

    /* SWS around EQUAL and COMMA. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        sip_parse_auth(SK_STR_LIT("Digest   username = \"bob\" ,realm=\"r\"\r\n"
                                  " , nonce=\"n\""),
                       &a, &e),
        0);
    ASSERT_STR(a.username, "bob");
    ASSERT_STR(a.realm, "r");
    ASSERT_STR(a.nonce, "n");
}

static void test_auth_challenge(void **state)
{
    static const char s[] =
        "Digest realm=\"atlanta.example.com\", "
        "domain=\"sip:ss1.example.com sip:ss2.example.com\", "
        "qop=\"auth,auth-int\", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", "
        "opaque=\"\", stale=FALSE, algorithm=MD5, userhash=true";
    struct sip_auth a;
    struct sip_error e;

    (void) state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(sip_parse_auth(SK_STR_LIT(s), &a, &e), 0);
    assert_true(a.digest);
    ASSERT_STR(a.realm, "atlanta.example.com");
    ASSERT_STR(a.domain, "sip:ss1.example.com sip:ss2.example.com");
    ASSERT_STR(a.qop, "auth,auth-int");
    ASSERT_STR(a.nonce, "f84f1cec41e6cbe5aea9c8e88d359");
    ASSERT_STR(a.opaque, "");
    ASSERT_STR(a.stale, "FALSE");
    ASSERT_STR(a.algorithm, "MD5");
    ASSERT_STR(a.userhash, "true");
    ASSERT_UNSET(a.username);
    ASSERT_UNSET(a.response);

    /* Quoted values with escaped quotes, commas, '=' and ';' inside. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        sip_parse_auth(SK_STR_LIT("Digest realm=\"a \\\"quoted\\\", realm\", "
                                  "nonce=\"n,o=n;ce\", username=\"x\\\\y\""),
                       &a, &e),
        0);
    ASSERT_STR(a.realm, "a \\\"quoted\\\", realm");
    ASSERT_STR(a.nonce, "n,o=n;ce");
    ASSERT_STR(a.username, "x\\\\y");

    /* an escaped quote right before the closing one, and a backslash pair
     * right before it: the closing quote is found after each escape */
    memset(&a, 0, sizeof(a));
    assert_int_equal(sip_parse_auth(SK_STR_LIT("Digest realm=\"a\\\"\", nonce=\"b\\\\\", "
                                               "username=\"\\\"\\\"\""),
                                    &a, &e),
                     0);
    ASSERT_STR(a.realm, "a\\\"");
    ASSERT_STR(a.nonce, "b\\\\");
    ASSERT_STR(a.username, "\\\"\\\"");
}

static void test_auth_other_scheme(void **state)
{
    struct sip_auth a;
    struct sip_error e;

    (void) state;
    /* RFC 4475 §3.3.7 */
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        sip_parse_auth(SK_STR_LIT("NoOneKnowsThisScheme opaque-data=here"), &a, &e), 0);
    ASSERT_STR(a.scheme, "NoOneKnowsThisScheme");
    assert_false(a.digest);
    ASSERT_STR(a.params, "opaque-data=here");
    ASSERT_UNSET(a.username);
    ASSERT_UNSET(a.realm);
    ASSERT_UNSET(a.opaque);
}

static void test_auth_invalid(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "Digest realm=\"abc",                 /* unterminated quote */
        "Digest username=\"bob\", realm=\"x", /* unterminated quote */
        "Digest ,,=",
        "Digest", /* digest-cln *(COMMA digest-cln) */
        "Digest   ",
        "Digest realm",                   /* auth-param needs EQUAL */
        "Digest realm=\"a\" nonce=\"b\"", /* missing COMMA */
        "Digest =\"x\"",                  /* no parameter name */
        "Digest realm=\"abc\\\"",           /* the last quote escaped: unterminated */
        "Digest realm=\"a\\\"b\\\"",       /* every quote after the first escaped */
        "Digest realm=\"ab\\",              /* backslash at the end */
        "Digest realm=\"ab\\\r\n c\"",        /* CR/LF may not be escaped */
        "",
    };
    struct sip_auth a;
    struct sip_error e;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        memset(&e, 0, sizeof(e));
        rc = sip_parse_auth(sk_str_cstr(bad[i]), &a, &e);
        if (rc != EBADMSG) {
            CASE_WRONG("auth \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        assert_int_equal(e.status, 400);
        assert_non_null(e.reason);
    }
    CASES_DONE();
}

static void test_auth_message(void **state)
{
    struct fx *f = *state;
    const struct sip_auth *a;
    size_t n = 0;

    assert_int_equal(build(f, RESP_LINE, NULL, NULL,
                           "WWW-Authenticate: Digest realm=\"atlanta.example.com\", "
                           "nonce=\"n1\", algorithm=SHA-256, qop=\"auth\"\r\n"
                           "WWW-Authenticate: Digest realm=\"atlanta.example.com\", "
                           "nonce=\"n2\", algorithm=MD5, qop=\"auth\", stale=true\r\n"
                           "Proxy-Authenticate: Digest realm=\"proxy.example.com\", "
                           "nonce=\"p1\"\r\n"),
                     0);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_WWW_AUTHENTICATE, &a, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(a[0].nonce, "n1");
    ASSERT_STR(a[0].algorithm, "SHA-256");
    ASSERT_STR(a[0].qop, "auth");
    ASSERT_STR(a[1].nonce, "n2");
    ASSERT_STR(a[1].algorithm, "MD5");
    ASSERT_STR(a[1].stale, "true");
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_PROXY_AUTHENTICATE, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(a[0].realm, "proxy.example.com");
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_AUTHORIZATION, &a, &n, &f->err), ENOENT);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_PROXY_AUTHORIZATION, &a, &n, &f->err),
                     ENOENT);

    assert_int_equal(req(f, "Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"
                            "Proxy-Authorization: Digest username=\"alice\", "
                            "realm=\"proxy.example.com\", nonce=\"p1\", "
                            "uri=\"sip:bob@biloxi.example.com\", "
                            "response=\"0123456789abcdef0123456789abcdef\"\r\n"),
                     0);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_AUTHORIZATION, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    assert_false(a[0].digest);
    ASSERT_STR(a[0].scheme, "NoOneKnowsThisScheme");
    ASSERT_STR(a[0].params, "opaque-data=here");
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_PROXY_AUTHORIZATION, &a, &n, &f->err),
                     0);
    assert_int_equal(n, 1);
    assert_true(a[0].digest);
    ASSERT_STR(a[0].username, "alice");
    ASSERT_STR(a[0].uri, "sip:bob@biloxi.example.com");
    ASSERT_STR(a[0].response, "0123456789abcdef0123456789abcdef");
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_WWW_AUTHENTICATE, &a, &n, &f->err),
                     ENOENT);

    assert_int_equal(req(f, "Authorization: Digest username=\"bob\", realm=\"x\r\n"), 0);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_AUTHORIZATION, &a, &n, &f->err),
                     EBADMSG);
    ASSERT_MSG_BAD(f, "Authorization:");
    assert_int_equal(build(f, RESP_LINE, NULL, NULL,
                           "WWW-Authenticate: Digest realm=\"ok\", nonce=\"1\"\r\n"
                           "WWW-Authenticate: Digest ,,=\r\n"),
                     0);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_WWW_AUTHENTICATE, &a, &n, &f->err),
                     EBADMSG);
    ASSERT_MSG_BAD(f, "WWW-Authenticate: Digest ,,=");
}

/* ------------------------------------------------------------------------ */
/* RAck, Event, Subscription-State, Replaces, Session-Expires, Retry-After,  */
/* Timestamp, Date, free text                                                */

static void test_rack(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"776656 INVITE", "abc 1 INVITE", "1 2", "",
                                      "776656 1", "1 x INVITE", "-1 1 INVITE",
                                      "4294967296 1 INVITE",
                                      /* RAck = "RAck" HCOLON response-num LWS CSeq-num
                                       * LWS Method (RFC 3262 §7.2) */
                                      "776656 1INVITE"};
    struct fx *f = *state;
    const struct sip_rack *r;
    struct sip_rack rr;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_rack(SK_STR_LIT("776656 1 INVITE"), &rr, &e), 0);
    assert_int_equal(rr.rseq, 776656);
    assert_int_equal(rr.cseq, 1);
    ASSERT_STR(rr.method, "INVITE");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_rack(sk_str_cstr(bad[i]), &rr, &e) != EBADMSG) {
            CASE_WRONG("RAck \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(build(f, "PRACK sip:bob@biloxi.example.com SIP/2.0", "CSeq",
                           "314160 PRACK", "RAck: 776656  314159\r\n  INVITE\r\n"),
                     0);
    assert_int_equal(sip_msg_rack(f->m, &r, &f->err), 0);
    assert_int_equal(r->rseq, 776656);
    assert_int_equal(r->cseq, 314159);
    ASSERT_STR(r->method, "INVITE");
    assert_int_equal(req(f, "RAck: 776656 INVITE\r\n"), 0);
    assert_int_equal(sip_msg_rack(f->m, &r, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "RAck:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_rack(f->m, &r, &f->err), ENOENT);
    CASES_DONE();
}

static void test_event(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"",          ";id=1",          "pres ence",
                                      "presence;", "presence;;id=1", "pres@nce"};
    struct fx *f = *state;
    const struct sip_event *ev;
    struct sip_event e1;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_event(SK_STR_LIT("presence;id=123"), &e1, &e), 0);
    ASSERT_STR(e1.package, "presence");
    ASSERT_STR(e1.id, "123");
    ASSERT_STR(e1.params, "id=123");
    assert_int_equal(sip_parse_event(SK_STR_LIT("dialog.winfo"), &e1, &e), 0);
    ASSERT_STR(e1.package, "dialog.winfo");
    ASSERT_UNSET(e1.id);
    assert_int_equal(sip_parse_event(SK_STR_LIT("refer;ID=93809824;x=y"), &e1, &e), 0);
    ASSERT_STR(e1.package, "refer");
    ASSERT_STR(e1.id, "93809824");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_event(sk_str_cstr(bad[i]), &e1, &e) != EBADMSG) {
            CASE_WRONG("Event \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(req(f, "Event: presence;id=123\r\n"), 0);
    assert_int_equal(sip_msg_event(f->m, &ev, &f->err), 0);
    ASSERT_STR(ev->package, "presence");
    ASSERT_STR(ev->id, "123");
    assert_int_equal(req(f, "o: dialog.winfo\r\n"), 0);
    assert_int_equal(sip_msg_event(f->m, &ev, &f->err), 0);
    ASSERT_STR(ev->package, "dialog.winfo");
    ASSERT_UNSET(ev->id);
    assert_int_equal(req(f, "Event: pres ence\r\n"), 0);
    assert_int_equal(sip_msg_event(f->m, &ev, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Event:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_event(f->m, &ev, &f->err), ENOENT);
    CASES_DONE();
}

static void test_substate(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"", ";expires=10", "act ive", "active;",
                                      "active;;a=b"};
    struct fx *f = *state;
    const struct sip_substate *ss;
    struct sip_substate s1;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_substate(SK_STR_LIT("active;expires=3600"), &s1, &e), 0);
    ASSERT_STR(s1.state, "active");
    assert_int_equal(s1.expires, 3600);
    assert_int_equal(s1.retry_after, -1);
    ASSERT_UNSET(s1.reason);
    assert_int_equal(sip_parse_substate(
                         SK_STR_LIT("terminated;reason=timeout;retry-after=30"), &s1, &e),
                     0);
    ASSERT_STR(s1.state, "terminated");
    ASSERT_STR(s1.reason, "timeout");
    assert_int_equal(s1.retry_after, 30);
    assert_int_equal(s1.expires, -1);
    assert_int_equal(sip_parse_substate(SK_STR_LIT("pending"), &s1, &e), 0);
    ASSERT_STR(s1.state, "pending");
    assert_int_equal(s1.expires, -1);
    assert_int_equal(s1.retry_after, -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_substate(sk_str_cstr(bad[i]), &s1, &e) != EBADMSG) {
            CASE_WRONG("Subscription-State \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(
        req(f, "Subscription-State: terminated;reason=timeout;retry-after=30\r\n"), 0);
    assert_int_equal(sip_msg_substate(f->m, &ss, &f->err), 0);
    ASSERT_STR(ss->state, "terminated");
    ASSERT_STR(ss->reason, "timeout");
    assert_int_equal(ss->retry_after, 30);
    assert_int_equal(req(f, "Subscription-State: active;expires=3600\r\n"), 0);
    assert_int_equal(sip_msg_substate(f->m, &ss, &f->err), 0);
    assert_int_equal(ss->expires, 3600);
    assert_int_equal(req(f, "Subscription-State: \r\n"), 0);
    assert_int_equal(sip_msg_substate(f->m, &ss, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Subscription-State:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_substate(f->m, &ss, &f->err), ENOENT);
    CASES_DONE();
}

static void test_replaces(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "", ";to-tag=a;from-tag=b", "a b;to-tag=a;from-tag=b", "call@id;;to-tag=a",
        /* RFC 3891 §6.1: exactly one to-tag and one from-tag */
        "call@id;from-tag=b", "call@id;to-tag=a"};
    struct fx *f = *state;
    const struct sip_replaces *r;
    struct sip_replaces r1;
    struct sip_error e;
    size_t i;

    assert_int_equal(
        sip_parse_replaces(SK_STR_LIT("call@id;to-tag=a;from-tag=b;early-only"), &r1, &e),
        0);
    ASSERT_STR(r1.call_id, "call@id");
    ASSERT_STR(r1.to_tag, "a");
    ASSERT_STR(r1.from_tag, "b");
    assert_true(r1.early_only);
    assert_int_equal(
        sip_parse_replaces(SK_STR_LIT("98732@sip.example.com;from-tag=r33th4x0r;"
                                      "to-tag=ff87ff"),
                           &r1, &e),
        0);
    ASSERT_STR(r1.call_id, "98732@sip.example.com");
    ASSERT_STR(r1.to_tag, "ff87ff");
    ASSERT_STR(r1.from_tag, "r33th4x0r");
    assert_false(r1.early_only);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_replaces(sk_str_cstr(bad[i]), &r1, &e) != EBADMSG) {
            CASE_WRONG("Replaces \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(req(f, "Replaces: call@id;to-tag=a;from-tag=b;early-only\r\n"), 0);
    assert_int_equal(sip_msg_replaces(f->m, &r, &f->err), 0);
    ASSERT_STR(r->call_id, "call@id");
    ASSERT_STR(r->to_tag, "a");
    ASSERT_STR(r->from_tag, "b");
    assert_true(r->early_only);
    assert_int_equal(req(f, "Replaces: ;to-tag=a;from-tag=b\r\n"), 0);
    assert_int_equal(sip_msg_replaces(f->m, &r, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Replaces:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_replaces(f->m, &r, &f->err), ENOENT);
    CASES_DONE();
}

static void test_session_expires(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"",      "abc",   "-1",
                                      "1800;", "18 00", "1800;;refresher=uac"};
    struct fx *f = *state;
    const struct sip_session_expires *se;
    struct sip_session_expires s1;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_session_expires(SK_STR_LIT("1800;refresher=uac"), &s1, &e),
                     0);
    assert_int_equal(s1.delta, 1800);
    ASSERT_STR(s1.refresher, "uac");
    assert_int_equal(sip_parse_session_expires(SK_STR_LIT("90"), &s1, &e), 0);
    assert_int_equal(s1.delta, 90);
    ASSERT_UNSET(s1.refresher);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_session_expires(sk_str_cstr(bad[i]), &s1, &e) != EBADMSG) {
            CASE_WRONG("Session-Expires \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(req(f, "x: 1800;refresher=uas\r\n"), 0);
    assert_int_equal(sip_msg_session_expires(f->m, &se, &f->err), 0);
    assert_int_equal(se->delta, 1800);
    ASSERT_STR(se->refresher, "uas");
    assert_int_equal(req(f, "Session-Expires: soon\r\n"), 0);
    assert_int_equal(sip_msg_session_expires(f->m, &se, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Session-Expires:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_session_expires(f->m, &se, &f->err), ENOENT);
    CASES_DONE();
}

static void test_retry_after(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {
        "", "abc", "120 (unterminated", "120 garbage", "-5", "(comment) 120"};
    struct fx *f = *state;
    const struct sip_retry_after *ra;
    struct sip_retry_after r1;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_retry_after(
                         SK_STR_LIT("120 (I'm in a meeting);duration=3600"), &r1, &e),
                     0);
    assert_int_equal(r1.delta, 120);
    ASSERT_COMMENT(r1.comment, "I'm in a meeting");
    assert_int_equal(r1.duration, 3600);
    assert_int_equal(sip_parse_retry_after(SK_STR_LIT("18000;duration=3600"), &r1, &e),
                     0);
    assert_int_equal(r1.delta, 18000);
    ASSERT_UNSET(r1.comment);
    assert_int_equal(r1.duration, 3600);
    assert_int_equal(sip_parse_retry_after(SK_STR_LIT("5"), &r1, &e), 0);
    assert_int_equal(r1.delta, 5);
    assert_int_equal(r1.duration, -1);
    /* comment = LPAREN *(ctext / quoted-pair / comment) RPAREN: nesting allowed. */
    assert_int_equal(sip_parse_retry_after(SK_STR_LIT("5 (a (nested) one)"), &r1, &e), 0);
    assert_int_equal(r1.delta, 5);
    ASSERT_COMMENT(r1.comment, "a (nested) one");
    /* A quoted-pair does not close the comment. */
    assert_int_equal(sip_parse_retry_after(SK_STR_LIT("5 (a \\) b);duration=9"), &r1, &e),
                     0);
    ASSERT_COMMENT(r1.comment, "a \\) b");
    assert_int_equal(r1.duration, 9);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_retry_after(sk_str_cstr(bad[i]), &r1, &e) != EBADMSG) {
            CASE_WRONG("Retry-After \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(build(f, "SIP/2.0 503 Service Unavailable", NULL, NULL,
                           "Retry-After: 120 (I'm in a meeting);duration=3600\r\n"),
                     0);
    assert_int_equal(sip_msg_retry_after(f->m, &ra, &f->err), 0);
    assert_int_equal(ra->delta, 120);
    ASSERT_COMMENT(ra->comment, "I'm in a meeting");
    assert_int_equal(ra->duration, 3600);
    assert_int_equal(req(f, "Retry-After: later\r\n"), 0);
    assert_int_equal(sip_msg_retry_after(f->m, &ra, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Retry-After:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_retry_after(f->m, &ra, &f->err), ENOENT);
    CASES_DONE();
}

static void test_timestamp(void **state)
{
    size_t wrong = 0;
    static const char *const bad[] = {"", "abc", "54.0 x", ".5", "54.0 1.5 7"};
    struct fx *f = *state;
    const struct sip_timestamp *ts;
    struct sip_timestamp t1;
    struct sip_error e;
    size_t i;

    assert_int_equal(sip_parse_timestamp(SK_STR_LIT("54.0 1.5"), &t1, &e), 0);
    ASSERT_STR(t1.value, "54.0");
    ASSERT_STR(t1.delay, "1.5");
    assert_int_equal(sip_parse_timestamp(SK_STR_LIT("54"), &t1, &e), 0);
    ASSERT_STR(t1.value, "54");
    ASSERT_UNSET(t1.delay);
    assert_int_equal(sip_parse_timestamp(SK_STR_LIT("54. 3"), &t1, &e), 0);
    ASSERT_STR(t1.value, "54.");
    ASSERT_STR(t1.delay, "3");
    /* delay = *(DIGIT) [ "." *(DIGIT) ] (RFC 3261 §25.1): ".5" is a delay. */
    assert_int_equal(sip_parse_timestamp(SK_STR_LIT("54.0 .5"), &t1, &e), 0);
    ASSERT_STR(t1.value, "54.0");
    ASSERT_STR(t1.delay, ".5");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (sip_parse_timestamp(sk_str_cstr(bad[i]), &t1, &e) != EBADMSG) {
            CASE_WRONG("Timestamp \"%s\" accepted", bad[i]);
            continue;
        }
        assert_int_equal(e.status, 400);
    }

    assert_int_equal(req(f, "Timestamp: 54.0 1.5\r\n"), 0);
    assert_int_equal(sip_msg_timestamp(f->m, &ts, &f->err), 0);
    ASSERT_STR(ts->value, "54.0");
    ASSERT_STR(ts->delay, "1.5");
    assert_int_equal(req(f, "Timestamp: soon\r\n"), 0);
    assert_int_equal(sip_msg_timestamp(f->m, &ts, &f->err), EBADMSG);
    ASSERT_MSG_BAD(f, "Timestamp:");
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_timestamp(f->m, &ts, &f->err), ENOENT);
    CASES_DONE();
}

static void test_date(void **state)
{
    size_t wrong = 0;
    static const struct {
        const char *v;
        long long want;
    } good[] = {
        {"Sat, 13 Nov 2010 23:29:00 GMT", 1289690940LL},
        {"Thu, 21 Feb 2002 13:02:03 GMT", 1014296523LL}, /* RFC 3261 §20.17 */
        {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600LL},
        {"Tue, 01 Jan 2041 00:00:00 GMT", 2240611200LL}, /* past 2038 */
    };
    static const char *const bad[] = {
        "Sat, 13 Nov 2010 23:29:00 EST", /* RFC 4475 §3.1.2.12 */
        "Sat, 13 Nov 2010 23:29:00",     "Sat, 13 Foo 2010 23:29:00 GMT",
        "Sat, 32 Nov 2010 23:29:00 GMT", "Sat, 13 Nov 2010 25:29:00 GMT",
        "Sat, 13 Nov 2010 23:61:00 GMT", "Sat, 00 Nov 2010 23:29:00 GMT",
        "Wed, 31 Feb 2010 12:00:00 GMT", /* no such day: not 3 March */
        "Sat, 13 nov 2010 23:29:00 GMT", /* "An RFC 1123 date is case-sensitive" (§20.17)
                                          */
        "13 Nov 2010 23:29:00 GMT",      "yesterday",
    };
    struct fx *f = *state;
    char line[128];
    time_t t;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(line, sizeof(line), "Date: %s\r\n", good[i].v);
        assert_int_equal(req(f, line), 0);
        t = 0;
        if (sip_msg_date(f->m, &t, &f->err) != 0) {
            CASE_WRONG("Date \"%s\" rejected", good[i].v);
            continue;
        }
        if ((long long) t != good[i].want) {
            CASE_WRONG("Date \"%s\": got %lld, want %lld", good[i].v, (long long) t,
                       good[i].want);
            continue;
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        snprintf(line, sizeof(line), "Date: %s\r\n", bad[i]);
        /* Date is not needed to process a request: the parse succeeds. */
        assert_int_equal(req(f, line), 0);
        rc = sip_msg_date(f->m, &t, &f->err);
        if (rc != EBADMSG) {
            CASE_WRONG("Date \"%s\": rc %d, want EBADMSG", bad[i], rc);
            continue;
        }
        ASSERT_MSG_BAD(f, "Date:");
    }
    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_date(f->m, &t, &f->err), ENOENT);
    CASES_DONE();
}

static void test_text_headers(void **state)
{
    struct fx *f = *state;
    struct sk_str v;

    assert_int_equal(req(f, "User-Agent: Softphone Beta1.5 (sipkit; test)\r\n"
                            "Server: sipkit/0.1\r\n"
                            "s: Need more boxes\r\n"
                            "Organization: Boxes by Bob\r\n"),
                     0);
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_USER_AGENT, &v), 0);
    ASSERT_STR(v, "Softphone Beta1.5 (sipkit; test)");
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_SERVER, &v), 0);
    ASSERT_STR(v, "sipkit/0.1");
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_SUBJECT, &v), 0);
    ASSERT_STR(v, "Need more boxes");
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_ORGANIZATION, &v), 0);
    ASSERT_STR(v, "Boxes by Bob");

    assert_int_equal(req(f, NULL), 0);
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_USER_AGENT, &v), ENOENT);
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_SERVER, &v), ENOENT);
    assert_int_equal(sip_msg_text(f->m, SIP_HDR_SUBJECT, &v), ENOENT);
}

static void test_absent_headers_enoent(void **state)
{
    struct fx *f = *state;
    static const enum sip_hdr_id addr_ids[] = {
        SIP_HDR_CONTACT,      SIP_HDR_ROUTE,
        SIP_HDR_RECORD_ROUTE, SIP_HDR_PATH,
        SIP_HDR_REPLY_TO,     SIP_HDR_REFER_TO,
        SIP_HDR_REFERRED_BY,  SIP_HDR_P_ASSERTED_IDENTITY,
    };
    static const enum sip_hdr_id auth_ids[] = {
        SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION, SIP_HDR_WWW_AUTHENTICATE,
        SIP_HDR_PROXY_AUTHENTICATE};
    static const enum sip_hdr_id uint_ids[] = {SIP_HDR_EXPIRES, SIP_HDR_MIN_EXPIRES,
                                               SIP_HDR_MIN_SE, SIP_HDR_RSEQ};
    const struct sip_addr *a;
    const struct sip_auth *au;
    const struct sip_rack *rk;
    const struct sip_event *ev;
    const struct sip_substate *ss;
    const struct sip_replaces *rp;
    const struct sip_session_expires *se;
    const struct sip_retry_after *ra;
    const struct sip_timestamp *ts;
    uint32_t u;
    time_t t;
    size_t i, n;

    assert_int_equal(req(f, NULL), 0);
    for (i = 0; i < sizeof(addr_ids) / sizeof(addr_ids[0]); i++)
        assert_int_equal(sip_msg_addrs(f->m, addr_ids[i], &a, &n, &f->err), ENOENT);
    for (i = 0; i < sizeof(auth_ids) / sizeof(auth_ids[0]); i++)
        assert_int_equal(sip_msg_auths(f->m, auth_ids[i], &au, &n, &f->err), ENOENT);
    for (i = 0; i < sizeof(uint_ids) / sizeof(uint_ids[0]); i++)
        assert_int_equal(sip_msg_uint(f->m, uint_ids[i], &u, &f->err), ENOENT);
    assert_int_equal(sip_msg_rack(f->m, &rk, &f->err), ENOENT);
    assert_int_equal(sip_msg_event(f->m, &ev, &f->err), ENOENT);
    assert_int_equal(sip_msg_substate(f->m, &ss, &f->err), ENOENT);
    assert_int_equal(sip_msg_replaces(f->m, &rp, &f->err), ENOENT);
    assert_int_equal(sip_msg_session_expires(f->m, &se, &f->err), ENOENT);
    assert_int_equal(sip_msg_retry_after(f->m, &ra, &f->err), ENOENT);
    assert_int_equal(sip_msg_timestamp(f->m, &ts, &f->err), ENOENT);
    assert_int_equal(sip_msg_date(f->m, &t, &f->err), ENOENT);
    /* The present ones still work. */
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_FROM, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sip_msg_uint(f->m, SIP_HDR_MAX_FORWARDS, &u, &f->err), 0);
    assert_int_equal(u, 70);
}

/* ------------------------------------------------------------------------ */
/* Generic parameters and unquoting                                          */

static void test_param_next(void **state)
{
    struct sk_str rest = SK_STR_LIT("a=1;b;c=\"q;v\"");
    struct sk_str name, value;

    (void) state;
    assert_true(sip_param_next(&rest, &name, &value));
    ASSERT_STR(name, "a");
    ASSERT_STR(value, "1");
    assert_true(sip_param_next(&rest, &name, &value));
    ASSERT_STR(name, "b");
    ASSERT_UNSET(value);
    assert_true(sip_param_next(&rest, &name, &value));
    ASSERT_STR(name, "c");
    ASSERT_STR(value, "q;v");
    assert_false(sip_param_next(&rest, &name, &value));

    /* Escapes are kept inside quoted values; SWS around '=' and ';' is skipped. */
    rest = SK_STR_LIT("x=\"a\\\"b;c\" ; y = 2");
    assert_true(sip_param_next(&rest, &name, &value));
    ASSERT_STR(name, "x");
    ASSERT_STR(value, "a\\\"b;c");
    assert_true(sip_param_next(&rest, &name, &value));
    ASSERT_STR(name, "y");
    ASSERT_STR(value, "2");
    assert_false(sip_param_next(&rest, &name, &value));

    rest = SK_STR_LIT("");
    assert_false(sip_param_next(&rest, &name, &value));
}

static void test_param_get(void **state)
{
    struct sk_str params = SK_STR_LIT("a=1;Bee;c=\"q;v\";lr");
    struct sk_str v;

    (void) state;
    assert_true(sip_param_get(params, "A", &v));
    ASSERT_STR(v, "1");
    assert_true(sip_param_get(params, "bee", &v));
    ASSERT_UNSET(v);
    assert_true(sip_param_get(params, "C", &v));
    ASSERT_STR(v, "q;v");
    assert_true(sip_param_get(params, "LR", &v));
    ASSERT_UNSET(v);
    assert_false(sip_param_get(params, "d", &v));
    assert_false(sip_param_get(params, "v", &v)); /* inside a quoted value */
    assert_false(sip_param_get(params, "b", &v)); /* prefix of a name */
    assert_false(sip_param_get(SK_STR_LIT(""), "a", &v));
}

static void test_unquote(void **state)
{
    struct sk_buf b;

    (void) state;
    sk_buf_init(&b);
    assert_int_equal(sip_unquote(&b, SK_STR_LIT("a\\\"b")), 0);
    ASSERT_STR(sk_buf_str(&b), "a\"b");
    sk_buf_reset(&b);
    assert_int_equal(sip_unquote(&b, SK_STR_LIT("back\\\\slash, x\\y")), 0);
    ASSERT_STR(sk_buf_str(&b), "back\\slash, xy");
    sk_buf_reset(&b);
    assert_int_equal(sip_unquote(&b, SK_STR_LIT("")), 0);
    assert_int_equal(sk_buf_str(&b).len, 0);
    sk_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Accessor caching                                                          */

static void test_accessor_cache(void **state)
{
    struct fx *f = *state;
    const struct sip_via *v1, *v2;
    const struct sip_addr *a1, *a2;
    const struct sk_str *t1, *t2;
    const struct sip_auth *au1, *au2;
    const struct sip_event *e1, *e2;
    const struct sip_ctype *c1, *c2;
    size_t n1 = 0, n2 = 0;
    size_t pos;

    assert_int_equal(req_sub(f, "Via",
                             "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, "
                             "SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n"
                             "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
                             "Contact: <sip:alice@192.0.2.1>\r\n"
                             "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                             "Supported: 100rel, timer, path\r\n"
                             "Proxy-Authorization: Digest username=\"a\", realm=\"r\"\r\n"
                             "Event: presence\r\n"
                             "Accept: application/sdp"),
                     0);
    assert_int_equal(sip_msg_vias(f->m, &v1, &n1, &f->err), 0);
    assert_int_equal(sip_msg_vias(f->m, &v2, &n2, &f->err), 0);
    assert_ptr_equal(v1, v2);
    assert_int_equal(n1, 3);
    assert_int_equal(n2, 3);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a1, &n1, &f->err), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a2, &n2, &f->err), 0);
    assert_ptr_equal(a1, a2);
    assert_int_equal(n2, 1);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_ROUTE, &a1, &n1, &f->err), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_ROUTE, &a2, &n2, &f->err), 0);
    assert_ptr_equal(a1, a2);
    assert_int_equal(n2, 2);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_SUPPORTED, &t1, &n1, &f->err), 0);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_SUPPORTED, &t2, &n2, &f->err), 0);
    assert_ptr_equal(t1, t2);
    assert_int_equal(n2, 3);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_PROXY_AUTHORIZATION, &au1, &n1, &f->err),
                     0);
    assert_int_equal(sip_msg_auths(f->m, SIP_HDR_PROXY_AUTHORIZATION, &au2, &n2, &f->err),
                     0);
    assert_ptr_equal(au1, au2);
    assert_int_equal(sip_msg_event(f->m, &e1, &f->err), 0);
    assert_int_equal(sip_msg_event(f->m, &e2, &f->err), 0);
    assert_ptr_equal(e1, e2);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c1, &n1, &f->err), 0);
    assert_int_equal(sip_msg_ctypes(f->m, SIP_HDR_ACCEPT, &c2, &n2, &f->err), 0);
    assert_ptr_equal(c1, c2);
    /* A typical message needs no heap memory for its accessors. */
    assert_int_equal(f->m->arena.heap_allocs, 0);

    /* Errors are cached too: same code, same position. */
    assert_int_equal(req(f, "Contact: <sip:alice@192.0.2.1>;q=9\r\n"), 0);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a1, &n1, &f->err), EBADMSG);
    pos = f->err.pos;
    memset(&f->err, 0, sizeof(f->err));
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a1, &n1, &f->err), EBADMSG);
    assert_int_equal(f->err.pos, pos);
    assert_int_equal(f->err.status, 400);
    assert_non_null(f->err.reason);
}

/* The cache is per parse: parsing another message into the same struct (no
 * sip_msg_init in between) must not return the previous message's values. */
static void test_cache_reset_on_reparse(void **state)
{
    static const char msg1[] = "OPTIONS sip:a@example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP one.example.com;branch=z9hG4bK1\r\n"
                               "Require: first\r\n"
                               "Contact: <sip:one@example.com>\r\n"
                               "Content-Length: 0\r\n\r\n";
    static const char msg2[] = "OPTIONS sip:a@example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP two.example.com;branch=z9hG4bK2, "
                               "SIP/2.0/UDP three.example.com;branch=z9hG4bK3\r\n"
                               "Require: second, third\r\n"
                               "Content-Length: 0\r\n\r\n";
    struct fx *f = *state;
    const struct sk_str *t;
    const struct sip_via *v;
    const struct sip_addr *a;
    size_t n = 0, consumed = 0;

    assert_int_equal(sip_msg_parse(f->m, msg1, strlen(msg1), SIP_PARSE_DATAGRAM, NULL,
                                   &consumed, &f->err),
                     0);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_REQUIRE, &t, &n, &f->err), 0);
    assert_int_equal(n, 1);
    ASSERT_STR(t[0], "first");
    assert_int_equal(sip_msg_vias(f->m, &v, &n, &f->err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), 0);
    assert_int_equal(n, 1);

    assert_int_equal(sip_msg_parse(f->m, msg2, strlen(msg2), SIP_PARSE_DATAGRAM, NULL,
                                   &consumed, &f->err),
                     0);
    assert_int_equal(sip_msg_tokens(f->m, SIP_HDR_REQUIRE, &t, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(t[0], "second");
    ASSERT_STR(t[1], "third");
    assert_int_equal(sip_msg_vias(f->m, &v, &n, &f->err), 0);
    assert_int_equal(n, 2);
    ASSERT_STR(v[0].host, "two.example.com");
    ASSERT_STR(v[1].host, "three.example.com");
    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), ENOENT);
}

/* Many list elements: the accessor outgrows the inline arena block; release
 * frees what it took (ASan checks for leaks). */
static void test_large_lists(void **state)
{
    struct fx *f = *state;
    const struct sip_addr *a;
    const struct sip_via *v;
    char *extra;
    size_t off = 0, i, n = 0, cap = 16384;

    extra = malloc(cap);
    assert_non_null(extra);
    for (i = 0; i < 60; i++) {
        int k =
            snprintf(extra + off, cap - off,
                     "%s<sip:user%zu@host%zu.example.com;transport=tcp>;expires=%zu%s",
                     i % 6 == 0 ? "Contact: " : "", i, i, i, i % 6 == 5 ? "\r\n" : ", ");
        assert_true(k > 0 && (size_t) k < cap - off);
        off += (size_t) k;
    }
    for (i = 0; i < 40; i++) {
        int k = snprintf(
            extra + off, cap - off,
            "Via: SIP/2.0/UDP proxy%zu.example.com:50%02zu;branch=z9hG4bK%zu\r\n", i, i,
            i);
        assert_true(k > 0 && (size_t) k < cap - off);
        off += (size_t) k;
    }
    assert_int_equal(req(f, extra), 0);
    free(extra);

    assert_int_equal(sip_msg_addrs(f->m, SIP_HDR_CONTACT, &a, &n, &f->err), 0);
    assert_int_equal(n, 60);
    for (i = 0; i < n; i++) {
        char user[32];
        snprintf(user, sizeof(user), "user%zu", i);
        ASSERT_STR(a[i].uri.user, user);
        assert_int_equal(a[i].expires, (int64_t) i);
    }
    assert_int_equal(sip_msg_vias(f->m, &v, &n, &f->err), 0);
    assert_int_equal(n, 41);
    ASSERT_STR(v[0].host, "pc33.atlanta.example.com");
    ASSERT_STR(v[40].host, "proxy39.example.com");
    assert_int_equal(v[40].port, 5039);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_lookup_canonical_names),
        T(test_lookup_compact_forms),
        T(test_lookup_unknown_and_call_id),
        T(test_msg_compact_names),
        T(test_via_basic),
        T(test_via_lws_around_slash),
        T(test_via_sws_in_sent_by_and_params),
        T(test_via_hosts),
        T(test_via_params),
        T(test_via_list_direct),
        T(test_via_invalid_direct),
        T(test_via_message),
        T(test_via_message_invalid),
        T(test_addr_name_addr_forms),
        T(test_addr_spec_form),
        T(test_addr_contact_star),
        T(test_addr_contact_q),
        T(test_addr_contact_expires),
        T(test_addr_list_direct),
        T(test_addr_invalid_direct),
        T(test_addr_from_to_message),
        T(test_addr_from_to_message_invalid),
        T(test_addr_contact_message),
        T(test_addr_contact_message_invalid),
        T(test_addr_other_headers_message),
        T(test_addr_other_headers_invalid),
        T(test_cseq_direct),
        T(test_cseq_message),
        T(test_max_forwards),
        T(test_content_length),
        T(test_uint_headers),
        T(test_parse_uint_direct),
        T(test_call_id),
        T(test_ctype_direct),
        T(test_ctype_message),
        T(test_tokens_direct),
        T(test_tokens_message),
        T(test_tokens_message_invalid),
        T(test_auth_credentials),
        T(test_auth_challenge),
        T(test_auth_other_scheme),
        T(test_auth_invalid),
        T(test_auth_message),
        T(test_rack),
        T(test_event),
        T(test_substate),
        T(test_replaces),
        T(test_session_expires),
        T(test_retry_after),
        T(test_timestamp),
        T(test_date),
        T(test_text_headers),
        T(test_absent_headers_enoent),
        T(test_param_next),
        T(test_param_get),
        T(test_unquote),
        T(test_accessor_cache),
        T(test_cache_reset_on_reparse),
        T(test_large_lists),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
