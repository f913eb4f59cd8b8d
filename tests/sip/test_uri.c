/* Tests of URI parsing and comparison: RFC 3261 §19.1, RFC 3966, RFC 4475/5118 cases. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "base/buf.h"
#include "base/str.h"
#include "sip/uri.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Printable form of a byte string (control and 8-bit bytes as \xHH). */
static const char *show(const char *s, size_t len)
{
    static char bufs[8][600];
    static unsigned k;
    char *o = bufs[k++ % 8];
    size_t j = 0;

    if (!s) {
        strcpy(o, "(null)");
        return o;
    }
    for (size_t i = 0; i < len && j < 580; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            o[j++] = (char) c;
        else
            j += (size_t) snprintf(o + j, 600 - j, "\\x%02x", c);
    }
    o[j] = '\0';
    return o;
}

/* A URI parsed from a copy that ends right at an unreadable page, so any read
 * past the given length faults. */
struct parsed {
    struct tu_guard g;
    struct sip_uri u;
    struct sip_error err;
    const char *data;
    size_t len;
    int rc;
};

static int do_parse(struct parsed *p, const char *s, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->err.status = 0;
    p->err.reason = NULL;
    p->err.pos = (size_t) -1;
    p->data = tu_guard_copy(&p->g, s, len);
    assert_non_null(p->data);
    p->len = len;
    p->rc = sip_uri_parse(&p->u, p->data, len, &p->err);
    return p->rc;
}

static void done(struct parsed *p)
{
    tu_guard_free(&p->g);
}

static const struct sip_uri *parse_ok_(struct parsed *p, const char *s, size_t len,
                                       const char *file, int line)
{
    if (do_parse(p, s, len) != 0) {
        print_error(
            "%s:%d: sip_uri_parse(\"%s\") = %d (reason \"%s\", pos %zu), want 0\n", file,
            line, show(s, len), p->rc, p->err.reason ? p->err.reason : "(null)",
            p->err.pos);
        done(p);
        _fail(file, line);
    }
    return &p->u;
}
#define PARSE_OK(p, s) parse_ok_((p), (s), strlen(s), __FILE__, __LINE__)

/* The slice is set and holds exactly want. */
static void check_str_(struct sk_str got, const char *want, const char *what,
                       const char *file, int line)
{
    size_t n = strlen(want);
    if (got.p == NULL || got.len != n || (n && memcmp(got.p, want, n) != 0)) {
        print_error("%s:%d: %s = \"%s\"%s, want \"%s\"\n", file, line, what,
                    show(got.p, got.len), got.p ? "" : " (unset)", want);
        _fail(file, line);
    }
}
#define CHECK_STR(field, want) check_str_((field), (want), #field, __FILE__, __LINE__)

static void check_unset_(struct sk_str got, const char *what, const char *file, int line)
{
    if (got.p != NULL) {
        print_error("%s:%d: %s = \"%s\", want unset (p == NULL)\n", file, line, what,
                    show(got.p, got.len));
        _fail(file, line);
    }
}
#define CHECK_UNSET(field) check_unset_((field), #field, __FILE__, __LINE__)

static void check_empty_(struct sk_str got, const char *what, const char *file, int line)
{
    if (got.len != 0) {
        print_error("%s:%d: %s = \"%s\", want empty\n", file, line, what,
                    show(got.p, got.len));
        _fail(file, line);
    }
}
#define CHECK_EMPTY(field) check_empty_((field), #field, __FILE__, __LINE__)

/* Parsing must fail with EBADMSG, a reason and a position inside the input. */
static bool rejects(const char *s, size_t len)
{
    struct parsed p;
    bool ok = true;
    int rc = do_parse(&p, s, len);

    if (rc != EBADMSG) {
        print_error("  sip_uri_parse(\"%s\") = %d, want EBADMSG (%d)\n", show(s, len), rc,
                    EBADMSG);
        ok = false;
    } else if (p.err.reason == NULL || p.err.reason[0] == '\0') {
        print_error("  sip_uri_parse(\"%s\"): EBADMSG but err.reason not set\n",
                    show(s, len));
        ok = false;
    } else if (p.err.pos > len) {
        print_error("  sip_uri_parse(\"%s\"): err.pos %zu beyond the input (%zu)\n",
                    show(s, len), p.err.pos, len);
        ok = false;
    } else if (p.err.status < 400 || p.err.status > 499) {
        print_error("  sip_uri_parse(\"%s\"): err.status %d, want a 4xx\n", show(s, len),
                    p.err.status);
        ok = false;
    }
    done(&p);
    return ok;
}

struct bad {
    const char *s;
    size_t len;
};
#define B(lit)                                                                           \
    {                                                                                    \
        (lit), sizeof(lit) - 1                                                           \
    }

static void run_rejects(const struct bad *t, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rejects(t[i].s, t[i].len)) bad++;
    }
    if (bad) print_error("%d of %zu invalid URIs were not rejected properly\n", bad, n);
    assert_int_equal(bad, 0);
}

/* Check sip_uri_equal(a, b) == want in both directions, and that each URI
 * equals an independent parse of the same text. Returns false on a mismatch. */
static bool eq_check(const char *a, const char *b, bool want)
{
    struct parsed pa, pb, pa2, pb2;
    bool ok = true;

    if (do_parse(&pa, a, strlen(a)) != 0) {
        print_error("  parse(\"%s\") failed: %s\n", a,
                    pa.err.reason ? pa.err.reason : "?");
        done(&pa);
        return false;
    }
    if (do_parse(&pb, b, strlen(b)) != 0) {
        print_error("  parse(\"%s\") failed: %s\n", b,
                    pb.err.reason ? pb.err.reason : "?");
        done(&pa);
        done(&pb);
        return false;
    }
    do_parse(&pa2, a, strlen(a));
    do_parse(&pb2, b, strlen(b));

    bool ab = sip_uri_equal(&pa.u, &pb.u);
    bool ba = sip_uri_equal(&pb.u, &pa.u);
    if (ab != want) {
        print_error("  sip_uri_equal(\"%s\", \"%s\") = %s, want %s\n", a, b,
                    ab ? "true" : "false", want ? "true" : "false");
        ok = false;
    }
    if (ba != want) {
        print_error("  sip_uri_equal(\"%s\", \"%s\") = %s, want %s (reversed order)\n", b,
                    a, ba ? "true" : "false", want ? "true" : "false");
        ok = false;
    }
    if (!sip_uri_equal(&pa.u, &pa2.u)) {
        print_error("  sip_uri_equal(\"%s\", itself) = false\n", a);
        ok = false;
    }
    if (!sip_uri_equal(&pb.u, &pb2.u)) {
        print_error("  sip_uri_equal(\"%s\", itself) = false\n", b);
        ok = false;
    }
    done(&pa);
    done(&pb);
    done(&pa2);
    done(&pb2);
    return ok;
}

struct pair {
    const char *a, *b;
};

static int run_pairs(const struct pair *t, size_t n, bool want)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!eq_check(t[i].a, t[i].b, want)) bad++;
    }
    if (bad)
        print_error("%d of %zu pairs expected %s failed\n", bad, n,
                    want ? "EQUAL" : "NOT EQUAL");
    return bad;
}

static void run_eq_ne(const struct pair *eq, size_t neq, const struct pair *ne,
                      size_t nne)
{
    int bad = run_pairs(eq, neq, true);
    bad += run_pairs(ne, nne, false);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------ */
/* Parsing: valid sip / sips                                                */
/* ------------------------------------------------------------------------ */

static void test_parse_sip_basic(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u = PARSE_OK(&p, "sip:alice@atlanta.com");

    assert_int_equal(u->scheme, SIP_URI_SIP);
    CHECK_STR(u->scheme_str, "sip");
    assert_ptr_equal(u->raw.p, p.data);
    assert_int_equal(u->raw.len, p.len);
    CHECK_STR(u->user, "alice");
    CHECK_UNSET(u->password);
    CHECK_STR(u->host, "atlanta.com");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    assert_false(u->has_port);
    CHECK_EMPTY(u->params);
    CHECK_EMPTY(u->headers);
    CHECK_UNSET(u->transport);
    CHECK_UNSET(u->user_param);
    CHECK_UNSET(u->maddr);
    CHECK_UNSET(u->method);
    CHECK_UNSET(u->ttl);
    assert_false(u->lr);
    /* slices point into the parsed text */
    assert_ptr_equal(u->user.p, p.data + 4);
    assert_ptr_equal(u->host.p, p.data + 10);
    done(&p);

    u = PARSE_OK(&p, "sips:1212@gateway.com");
    assert_int_equal(u->scheme, SIP_URI_SIPS);
    CHECK_STR(u->scheme_str, "sips");
    CHECK_STR(u->user, "1212");
    CHECK_STR(u->host, "gateway.com");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    done(&p);

    /* host names: digits, hyphens, trailing dot allowed by RFC 3261 hostname */
    u = PARSE_OK(&p, "sip:bob@host-1.sub2.example.com");
    CHECK_STR(u->host, "host-1.sub2.example.com");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    done(&p);
    u = PARSE_OK(&p, "sip:bob@example.com.");
    CHECK_STR(u->host, "example.com.");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    done(&p);
    u = PARSE_OK(&p, "sip:localhost");
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "localhost");
    done(&p);
}

static void test_parse_scheme_case(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "SIP:alice@atlanta.com");
    assert_int_equal(u->scheme, SIP_URI_SIP);
    CHECK_STR(u->scheme_str, "SIP");
    CHECK_STR(u->user, "alice");
    done(&p);

    u = PARSE_OK(&p, "sIpS:alice@atlanta.com");
    assert_int_equal(u->scheme, SIP_URI_SIPS);
    CHECK_STR(u->scheme_str, "sIpS");
    CHECK_STR(u->host, "atlanta.com");
    done(&p);

    u = PARSE_OK(&p, "TEL:+12015550123");
    assert_int_equal(u->scheme, SIP_URI_TEL);
    CHECK_STR(u->user, "+12015550123");
    done(&p);

    u = PARSE_OK(&p, "Mailto:a@b");
    assert_int_equal(u->scheme, SIP_URI_OTHER);
    CHECK_STR(u->scheme_str, "Mailto");
    CHECK_STR(u->opaque, "a@b");
    done(&p);

    /* a scheme that only starts like sip/sips/tel is another scheme */
    static const char *const others[] = {"sipx:foo", "sip2:foo", "sipsx:foo",
                                         "telx:1",   "si:foo",   "s:foo"};
    for (size_t i = 0; i < N_ELEMS(others); i++) {
        u = PARSE_OK(&p, others[i]);
        if (u->scheme != SIP_URI_OTHER)
            fail_msg("\"%s\": scheme %d, want SIP_URI_OTHER", others[i], (int) u->scheme);
        CHECK_STR(u->opaque, strchr(others[i], ':') + 1);
        done(&p);
    }
}

static void test_parse_password(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    /* RFC 3261 §19.1.3 examples */
    u = PARSE_OK(&p, "sip:alice:secretword@atlanta.com;transport=tcp");
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->password, "secretword");
    CHECK_STR(u->host, "atlanta.com");
    CHECK_STR(u->params, "transport=tcp");
    CHECK_STR(u->transport, "tcp");
    done(&p);

    u = PARSE_OK(&p, "sip:+1-212-555-1212:1234@gateway.com;user=phone");
    CHECK_STR(u->user, "+1-212-555-1212");
    CHECK_STR(u->password, "1234");
    CHECK_STR(u->host, "gateway.com");
    CHECK_STR(u->user_param, "phone");
    done(&p);

    /* empty password: the ':' is there, so the password is set but empty */
    u = PARSE_OK(&p, "sip:alice:@h");
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->password, "");
    CHECK_STR(u->host, "h");
    done(&p);

    /* escapes in the password are left as written */
    u = PARSE_OK(&p, "sip:alice:p%40ss&=+$,@example.com:5070");
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->password, "p%40ss&=+$,");
    CHECK_STR(u->host, "example.com");
    assert_true(u->has_port);
    assert_int_equal(u->port, 5070);
    done(&p);
}

static void test_parse_userinfo_unusual(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    /* RFC 4475 §3.1.1.9 semiuri: ';' belongs to the user part */
    u = PARSE_OK(&p, "sip:user;par=u%40example.net@example.com");
    CHECK_STR(u->user, "user;par=u%40example.net");
    CHECK_UNSET(u->password);
    CHECK_STR(u->host, "example.com");
    CHECK_EMPTY(u->params);
    CHECK_EMPTY(u->headers);
    done(&p);

    /* RFC 3261 §19.1.3 */
    u = PARSE_OK(&p, "sip:alice;day=tuesday@atlanta.com");
    CHECK_STR(u->user, "alice;day=tuesday");
    CHECK_STR(u->host, "atlanta.com");
    CHECK_EMPTY(u->params);
    done(&p);

    /* RFC 4475 §3.1.1.2 intmeth: '?', ';', ':' ... inside userinfo */
    u = PARSE_OK(&p, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,"
                     "weird!*pas$wo~d_too.(doesn't-it)@example.com");
    CHECK_STR(u->user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHECK_STR(u->password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    CHECK_STR(u->host, "example.com");
    CHECK_EMPTY(u->params);
    CHECK_EMPTY(u->headers);
    done(&p);

    /* RFC 4475 §3.1.1.3 esc01 */
    u = PARSE_OK(&p, "sip:sips%3Auser%40example.com@example.net");
    assert_int_equal(u->scheme, SIP_URI_SIP);
    CHECK_STR(u->user, "sips%3Auser%40example.com");
    CHECK_UNSET(u->password);
    CHECK_STR(u->host, "example.net");
    done(&p);
    u = PARSE_OK(&p, "sip:%75se%72@example.com");
    CHECK_STR(u->user, "%75se%72");
    done(&p);
    u = PARSE_OK(&p, "sip:I%20have%20spaces@example.net");
    CHECK_STR(u->user, "I%20have%20spaces");
    done(&p);

    /* RFC 4475 §3.1.1.4 escnull */
    u = PARSE_OK(&p, "sip:null-%00-null@example.com");
    CHECK_STR(u->user, "null-%00-null");
    CHECK_STR(u->host, "example.com");
    done(&p);
    u = PARSE_OK(&p, "sip:%00%00@host5.example.com");
    CHECK_STR(u->user, "%00%00");
    CHECK_STR(u->host, "host5.example.com");
    done(&p);

    /* RFC 4475 cparam01 */
    u = PARSE_OK(&p, "sip:+19725552222@gw1.example.net;unknownparam");
    CHECK_STR(u->user, "+19725552222");
    CHECK_STR(u->host, "gw1.example.net");
    CHECK_STR(u->params, "unknownparam");
    done(&p);
}

static void test_parse_no_user(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
    CHECK_EMPTY(u->user);
    CHECK_UNSET(u->password);
    CHECK_STR(u->host, "atlanta.com");
    CHECK_STR(u->params, "method=REGISTER");
    CHECK_STR(u->method, "REGISTER");
    CHECK_STR(u->headers, "to=alice%40atlanta.com");
    done(&p);

    u = PARSE_OK(&p,
                 "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com");
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "biloxi.com");
    CHECK_STR(u->params, "transport=tcp;method=REGISTER");
    CHECK_STR(u->transport, "tcp");
    CHECK_STR(u->method, "REGISTER");
    CHECK_STR(u->headers, "to=sip:bob%40biloxi.com");
    done(&p);

    /* RFC 4475 wsinv Route */
    u = PARSE_OK(&p, "sip:services.example.com;lr;unknownwith=value;unknown-no-value");
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "services.example.com");
    CHECK_STR(u->params, "lr;unknownwith=value;unknown-no-value");
    assert_true(u->lr);
    done(&p);

    u = PARSE_OK(&p, "sips:example.com:5061");
    assert_int_equal(u->scheme, SIP_URI_SIPS);
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "example.com");
    assert_true(u->has_port);
    assert_int_equal(u->port, 5061);
    done(&p);
}

static void test_parse_ipv4(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "sip:alice@192.0.2.4");
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->host, "192.0.2.4");
    assert_int_equal(u->host_type, SIP_HOST_IPV4);
    assert_false(u->has_port);
    done(&p);

    u = PARSE_OK(&p, "sip:192.0.2.4:5070;transport=udp");
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "192.0.2.4");
    assert_int_equal(u->host_type, SIP_HOST_IPV4);
    assert_true(u->has_port);
    assert_int_equal(u->port, 5070);
    CHECK_STR(u->transport, "udp");
    done(&p);

    u = PARSE_OK(&p, "sip:255.255.255.255");
    CHECK_STR(u->host, "255.255.255.255");
    assert_int_equal(u->host_type, SIP_HOST_IPV4);
    done(&p);

    u = PARSE_OK(&p, "sip:alice@example.com");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    done(&p);

    /* A name that merely contains digits is a host name. */
    u = PARSE_OK(&p, "sip:alice@192.0.2.4.example.com");
    CHECK_STR(u->host, "192.0.2.4.example.com");
    assert_int_equal(u->host_type, SIP_HOST_NAME);
    done(&p);

    /* Not IPv4 addresses: either rejected or not typed IPV4 (and not a valid
     * hostname either, since a toplabel starts with a letter). */
    static const char *const notv4[] = {"sip:alice@256.1.1.1", "sip:alice@1.2.3",
                                        "sip:alice@1.2.3.4.5"};
    for (size_t i = 0; i < N_ELEMS(notv4); i++) {
        if (do_parse(&p, notv4[i], strlen(notv4[i])) == 0 &&
            p.u.host_type == SIP_HOST_IPV4)
            fail_msg("\"%s\" parsed as an IPv4 address", notv4[i]);
        done(&p);
    }
}

static void test_parse_ipv6(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "sip:[2001:db8::1]");
    CHECK_EMPTY(u->user);
    CHECK_STR(u->host, "2001:db8::1");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    assert_false(u->has_port);
    assert_ptr_equal(u->host.p, p.data + 5);
    done(&p);

    u = PARSE_OK(&p, "sip:alice@[2001:db8::1]:5070;transport=tcp");
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->host, "2001:db8::1");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    assert_true(u->has_port);
    assert_int_equal(u->port, 5070);
    CHECK_STR(u->transport, "tcp");
    done(&p);

    u = PARSE_OK(&p, "sips:[::1]");
    CHECK_STR(u->host, "::1");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    done(&p);

    u = PARSE_OK(&p, "sip:[::]");
    CHECK_STR(u->host, "::");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    done(&p);

    /* RFC 5118 §4.3: the last group is part of the address, not a port */
    u = PARSE_OK(&p, "sip:[2001:db8::10:5070]");
    CHECK_STR(u->host, "2001:db8::10:5070");
    assert_false(u->has_port);
    done(&p);

    /* embedded IPv4 (RFC 5118 §4.5) and a full uppercase address */
    u = PARSE_OK(&p, "sip:user@[2001:db8::192.0.2.1]");
    CHECK_STR(u->host, "2001:db8::192.0.2.1");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    done(&p);
    u = PARSE_OK(&p, "sip:[::ffff:192.0.2.1]:5060");
    CHECK_STR(u->host, "::ffff:192.0.2.1");
    assert_int_equal(u->port, 5060);
    done(&p);
    u = PARSE_OK(&p, "sip:[2001:DB8:0:0:8:800:200C:417A]");
    CHECK_STR(u->host, "2001:DB8:0:0:8:800:200C:417A");
    assert_int_equal(u->host_type, SIP_HOST_IPV6);
    done(&p);
}

static void test_parse_port(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;
    static const struct {
        const char *s;
        unsigned port;
    } ok[] = {
        {"sip:h:0", 0},
        {"sip:h:1", 1},
        {"sip:h:5060", 5060},
        {"sip:alice@example.com:65535", 65535},
        {"sip:alice@192.0.2.1:65534;lr", 65534},
        {"sip:[::1]:0", 0},
        {"sip:[::1]:65535?a=b", 65535},
        {"sip:h:05060", 5060},
    };

    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        u = PARSE_OK(&p, ok[i].s);
        if (!u->has_port || u->port != ok[i].port)
            fail_msg("\"%s\": has_port %d port %u, want port %u", ok[i].s, u->has_port,
                     (unsigned) u->port, ok[i].port);
        done(&p);
    }

    u = PARSE_OK(&p, "sip:alice@example.com;transport=tcp");
    assert_false(u->has_port);
    done(&p);
}

static void test_parse_params(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "sip:alice@example.com;transport=TCP;user=phone;maddr=239.255.255.1;"
                     "method=INVITE;ttl=15;lr;foo=bar;baz");
    CHECK_STR(u->host, "example.com");
    CHECK_STR(u->params, "transport=TCP;user=phone;maddr=239.255.255.1;method=INVITE;"
                         "ttl=15;lr;foo=bar;baz");
    CHECK_STR(u->transport, "TCP");
    CHECK_STR(u->user_param, "phone");
    CHECK_STR(u->maddr, "239.255.255.1");
    CHECK_STR(u->method, "INVITE");
    CHECK_STR(u->ttl, "15");
    assert_true(u->lr);
    CHECK_EMPTY(u->headers);
    done(&p);

    /* parameter names are case-insensitive */
    u = PARSE_OK(
        &p, "sip:h;Transport=udp;USER=ip;MAddr=example.net;METHOD=REGISTER;TTL=1;LR");
    CHECK_STR(u->transport, "udp");
    CHECK_STR(u->user_param, "ip");
    CHECK_STR(u->maddr, "example.net");
    CHECK_STR(u->method, "REGISTER");
    CHECK_STR(u->ttl, "1");
    assert_true(u->lr);
    done(&p);

    /* names that only start like a known one are other parameters */
    u = PARSE_OK(&p, "sip:h;lrx;transports=tcp;users=x;lr2=1");
    assert_false(u->lr);
    CHECK_UNSET(u->transport);
    CHECK_UNSET(u->user_param);
    done(&p);

    /* escapes in parameters are left as written */
    u = PARSE_OK(&p, "sip:h;foo=a%20b;%62ar=1;transport=%74cp");
    CHECK_STR(u->params, "foo=a%20b;%62ar=1;transport=%74cp");
    done(&p);

    /* RFC 3261 param-unreserved characters "[" "]" "/" ":" "&" "+" "$" */
    u = PARSE_OK(&p, "sip:h;x=[a]/b:c&d+e$f;lr");
    CHECK_STR(u->params, "x=[a]/b:c&d+e$f;lr");
    assert_true(u->lr);
    done(&p);

    /* IPv6 maddr */
    u = PARSE_OK(&p, "sip:h;maddr=[2001:db8::1]");
    CHECK_STR(u->maddr, "[2001:db8::1]");
    done(&p);

    /* RFC 4475 longreq style unknown parameter after a port */
    u = PARSE_OK(
        &p, "sip:user@example.com:6000;unknownparam1=verylonglonglonglongparamvalue");
    assert_int_equal(u->port, 6000);
    CHECK_STR(u->params, "unknownparam1=verylonglonglonglongparamvalue");
    done(&p);
}

static void test_parse_headers(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;

    u = PARSE_OK(&p, "sips:alice@atlanta.com?subject=project%20x&priority=urgent");
    assert_int_equal(u->scheme, SIP_URI_SIPS);
    CHECK_STR(u->user, "alice");
    CHECK_STR(u->host, "atlanta.com");
    CHECK_EMPTY(u->params);
    CHECK_STR(u->headers, "subject=project%20x&priority=urgent");
    done(&p);

    u = PARSE_OK(&p, "sip:h:5060;transport=tcp;lr?a=b&c=");
    CHECK_STR(u->host, "h");
    assert_int_equal(u->port, 5060);
    CHECK_STR(u->params, "transport=tcp;lr");
    CHECK_STR(u->transport, "tcp");
    assert_true(u->lr);
    CHECK_STR(u->headers, "a=b&c=");
    done(&p);

    /* RFC 4475 §3.3.14 regescrt */
    u = PARSE_OK(&p, "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
    CHECK_STR(u->user, "user");
    CHECK_STR(u->host, "example.com");
    CHECK_STR(u->headers, "Route=%3Csip:sip.example.com%3E");
    done(&p);

    /* hnv-unreserved "[" "]" "/" "?" ":" "+" "$" */
    u = PARSE_OK(&p, "sip:h?x=[a]/b?c:d+e$f");
    CHECK_STR(u->headers, "x=[a]/b?c:d+e$f");
    CHECK_EMPTY(u->params);
    done(&p);
}

static void test_parse_respects_len(void **state)
{
    (void) state;
    struct sip_uri u;
    struct sip_error err;
    static const char text[] = "sip:alice@example.com:50601;transport=tcpXYZ";

    memset(&err, 0, sizeof(err));
    /* only "sip:alice@example.com:5060" */
    assert_int_equal(sip_uri_parse(&u, text, 26, &err), 0);
    CHECK_STR(u.host, "example.com");
    assert_true(u.has_port);
    assert_int_equal(u.port, 5060);
    CHECK_EMPTY(u.params);
    assert_int_equal(u.raw.len, 26);

    /* "sip:alice@example.com:50601;transport=tcp" */
    assert_int_equal(sip_uri_parse(&u, text, sizeof(text) - 4, &err), 0);
    assert_int_equal(u.port, 50601);
    CHECK_STR(u.transport, "tcp");

    /* cut in the middle of an escape: "sip:a%4" */
    static const char esc[] = "sip:a%41@h";
    err.reason = NULL;
    assert_int_equal(sip_uri_parse(&u, esc, 7, &err), EBADMSG);
    assert_non_null(err.reason);
}

/* ------------------------------------------------------------------------ */
/* Parsing: tel and other schemes                                           */
/* ------------------------------------------------------------------------ */

static void test_parse_tel(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;
    struct sk_str v;

    u = PARSE_OK(&p, "tel:+1-201-555-0123");
    assert_int_equal(u->scheme, SIP_URI_TEL);
    CHECK_STR(u->scheme_str, "tel");
    CHECK_STR(u->user, "+1-201-555-0123");
    CHECK_EMPTY(u->host);
    CHECK_EMPTY(u->params);
    assert_false(u->has_port);
    done(&p);

    u = PARSE_OK(&p, "tel:7042;phone-context=example.com");
    assert_int_equal(u->scheme, SIP_URI_TEL);
    CHECK_STR(u->user, "7042");
    CHECK_STR(u->params, "phone-context=example.com");
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "phone-context", &v));
    CHECK_STR(v, "example.com");
    done(&p);

    /* RFC 3966 §6 examples */
    u = PARSE_OK(&p, "tel:863-1234;phone-context=+1-914-555");
    CHECK_STR(u->user, "863-1234");
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "Phone-Context", &v));
    CHECK_STR(v, "+1-914-555");
    done(&p);

    u = PARSE_OK(&p, "tel:+1-201-555-0123;ext=1234;isub=1411");
    CHECK_STR(u->user, "+1-201-555-0123");
    CHECK_STR(u->params, "ext=1234;isub=1411");
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "ext", &v));
    CHECK_STR(v, "1234");
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "isub", &v));
    CHECK_STR(v, "1411");
    assert_false(sip_uri_param(u, "phone-context", &v));
    done(&p);

    /* all visual separators */
    u = PARSE_OK(&p, "tel:+1(201)555.0123");
    CHECK_STR(u->user, "+1(201)555.0123");
    done(&p);

    /* local number with hex digits, '*' and an unknown parameter */
    u = PARSE_OK(&p, "tel:*67-1a;phone-context=example.com;foo=bar");
    CHECK_STR(u->user, "*67-1a");
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "foo", &v));
    CHECK_STR(v, "bar");
    done(&p);
}

static void test_parse_other(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;
    static const struct {
        const char *s, *scheme, *opaque;
    } t[] = {
        {"mailto:a@b", "mailto", "a@b"},
        {"urn:service:sos", "urn", "service:sos"},
        {"http://x/y", "http", "//x/y"},
        {"https://www.example.com/a?b=c;d", "https", "//www.example.com/a?b=c;d"},
        {"soap.beep://192.0.2.103:3002", "soap.beep",
         "//192.0.2.103:3002"}, /* RFC 4475 novelsc */
        {"nobodyKnowsThisScheme:totallyopaquecontent", "nobodyKnowsThisScheme",
         "totallyopaquecontent"},                  /* RFC 4475 unkscm */
        {"isbn:2983792873", "isbn", "2983792873"}, /* unksm2 */
        {"name:John_Smith", "name", "John_Smith"},
        {"im:alice@example.com", "im", "alice@example.com"},
        {"x-y+z.1:foo", "x-y+z.1", "foo"},
    };

    for (size_t i = 0; i < N_ELEMS(t); i++) {
        u = PARSE_OK(&p, t[i].s);
        if (u->scheme != SIP_URI_OTHER)
            fail_msg("\"%s\": scheme %d, want SIP_URI_OTHER", t[i].s, (int) u->scheme);
        CHECK_STR(u->scheme_str, t[i].scheme);
        CHECK_STR(u->opaque, t[i].opaque);
        assert_ptr_equal(u->raw.p, p.data);
        assert_int_equal(u->raw.len, strlen(t[i].s));
        done(&p);
    }
}

/* ------------------------------------------------------------------------ */
/* Parsing: invalid                                                         */
/* ------------------------------------------------------------------------ */

static void test_parse_invalid_structure(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B(""), /* empty */
        B("sip"),
        B("alice@example.com"),      /* no scheme */
        B(":alice@example.com"),     /* empty scheme */
        B("1sip:alice@example.com"), /* scheme starts with a digit */
        B("s_p:alice@example.com"),  /* '_' not allowed in a scheme */
        B("sip:"),                   /* no host */
        B("sips:"),
        B("sip:@example.com"),    /* '@' with empty userinfo */
        B("sip::pw@example.com"), /* empty user before the password */
        B("sip:alice@"),          /* empty host */
        B("sip:alice@:5060"),
        B("sip::5060"),
        B("sip:;transport=tcp"),
        B("sip:?a=b"),
        B("sip:alice@h@x"),          /* two '@' */
        B("sip:alice@exa_mple.com"), /* '_' not in a hostname */
        B("sip:alice@-example.com"), /* label starts with '-' */
        B("sip:alice@example..com"), /* empty label */
        B("mailto:"),                /* empty opaque part */
    };
    run_rejects(t, N_ELEMS(t));
}

static void test_parse_invalid_whitespace_ctl(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("sip:alice @example.com"),
        B("sip:alice@example.com "),
        B(" sip:alice@example.com"),
        B("sip :alice@example.com"),
        B("sip: alice@example.com"),
        B("sip:alice@exa mple.com"),
        B("sip:user@example.com; lr"), /* RFC 4475 §3.1.2.8 lwsruri */
        B("sip:user@example.com ;lr"),
        B("sip:h?a=b c"),
        B("sip:al\tice@h"),
        B("sip:alice@h\r\n"),
        B("sip:ali\x01"
          "ce@h"),
        B("sip:alice@h\x7f"),
        B("sip:alice@h;a=b\x1f"),
        B("sip:alice@h?a=\nb"),
        B("sip:al\0ice@h"),    /* a raw NUL in the user */
        B("sip:alice@h\0"),    /* a raw NUL at the end */
        B("sip:al\xc3\xa9@h"), /* raw 8-bit bytes must be escaped */
        B("mailto:a b"),
        B("http://x/y z"),
        B("tel:+1 201 555 0123"),
    };
    run_rejects(t, N_ELEMS(t));
}

static void test_parse_invalid_angle_brackets(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("<sip:alice@example.com>"), /* RFC 4475 §3.1.2.7 ltgtruri */
        B("sip:<alice@example.com>"),
        B("sip:alice@example.com>"),
        B("sip:al<ice@example.com"),
        B("sip:alice@example.com;a=<b>"),
        B("sip:user@example.com?Route=<sip:example.com>"),
        B("mailto:<a@b>"),
        B("http://x/<y>"),
    };
    run_rejects(t, N_ELEMS(t));
}

static void test_parse_invalid_escapes(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("sip:%G1@example.com"),
        B("sip:%1G@example.com"),
        B("sip:a%4@example.com"),
        B("sip:a%@example.com"),
        B("sip:alice:%zz@example.com"),
        B("sip:alice:pw%@example.com"),
        B("sip:h;foo=%G1"),
        B("sip:h;foo=%4"),
        B("sip:h;foo=%"),
        B("sip:h;%x1=a"),
        B("sip:h?a=%"),
        B("sip:h?a=%4x"),
        B("sip:h?%g0=a"),
    };
    run_rejects(t, N_ELEMS(t));
}

static void test_parse_invalid_port(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("sip:h:65536"),
        B("sip:alice@example.com:65536"),
        B("sip:h:99999"),
        B("sip:h:100000"),
        B("sip:h:4294967296"),           /* wraps to 0 in 32 bits */
        B("sip:h:4294972356"),           /* 2^32 + 5060 */
        B("sip:h:18446744073709551617"), /* wraps to 1 in 64 bits */
        B("sip:h:5o60"),
        B("sip:h:5060x"),
        B("sip:h:"),
        B("sip:h:;lr"),
        B("sip:h:?a=b"),
        B("sip:h:-1"),
        B("sip:h:+5060"),
        B("sip:h:0x10"),
        B("sip:h:5060:5060"),
        B("sip:[::1]:65536"),
        B("sip:[::1]:"),
        B("sip:[::1]x"),
        B("sip:[::1]5060"),
    };
    run_rejects(t, N_ELEMS(t));
}

static void test_parse_invalid_ipv6(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("sip:[::1"),
        B("sip:alice@[::1"),
        B("sip:alice@[2001:db8::1;transport=tcp"),
        B("sip:[zz::1]"),
        B("sip:[2001:db8::g]"),
        B("sip:[]"),
        B("sip:[::1::2]"),
        B("sip:[1:2:3:4:5:6:7:8:9]"),
        B("sip:[1:2:3:4:5:6:7]"),        /* 7 groups without "::" */
        B("sip:[12345::1]"),             /* group longer than 4 digits */
        B("sip:[2001:db8:::192.0.2.1]"), /* RFC 5118 §4.4: excess colons */
        B("sip:[::ffff:192.0.2.256]"),   /* bad embedded IPv4 */
        B("sip:[::ffff:192.0.2]"),
        B("sip:[:1]"),
        B("sip:[1:]"),
        B("sip:[::1]]"),
        B("sip:[192.0.2.1]"), /* IPv4 in brackets */
        B("sip:2001:db8::1"), /* RFC 5118 §4.2: no brackets */
        B("sip:::1"),
        B("sip:alice@[[::1]]"),
    };
    run_rejects(t, N_ELEMS(t));
}

/* err->pos lies inside the faulty component, no later than the bad byte. */
static void test_parse_error_position(void **state)
{
    (void) state;
    static const struct {
        const char *s;
        size_t lo, hi;
    } t[] = {
        {"sip:alice @example.com", 4, 9},
        {"sip:ali\x01"
         "ce@h",
         4, 7},
        {"sip:alice@example.com>", 10, 21},
        {"sip:alice@example.com:65536", 21, 26},
        {"sip:%G1@example.com", 4, 6},
        {"sip:alice@[zz::1]", 10, 12},
        {"sip:alice@example.com;a=b c", 21, 26},
        {"sip:alice@example.com?a=%4x", 21, 26},
    };
    int bad = 0;
    struct parsed p;

    for (size_t i = 0; i < N_ELEMS(t); i++) {
        size_t len = strlen(t[i].s);
        int rc = do_parse(&p, t[i].s, len);
        if (rc != EBADMSG || p.err.pos < t[i].lo || p.err.pos > t[i].hi) {
            print_error("  sip_uri_parse(\"%s\") = %d, pos %zu; want EBADMSG, pos in "
                        "[%zu, %zu]\n",
                        show(t[i].s, len), rc, p.err.pos, t[i].lo, t[i].hi);
            bad++;
        }
        done(&p);
    }
    assert_int_equal(bad, 0);
}

/* RFC 3261 ABNF: other-param = pname [ "=" pvalue ] with pname and pvalue
 * 1*paramchar; header = hname "=" hvalue with hname non-empty. */
static void test_parse_invalid_params_headers(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("sip:h;"),      B("sip:h;;lr"),     B("sip:h;lr;"),        B("sip:h;=x"),
        B("sip:h;foo="),  B("sip:h;foo=;lr"), B("sip:h;transport="), B("sip:h?"),
        B("sip:h?a"),     B("sip:h?=b"),      B("sip:h?a=b&"),       B("sip:h?a=b&&c=d"),
        B("sip:h;a=b=c"),
    };
    run_rejects(t, N_ELEMS(t));
}

/* RFC 3966 §3: global-number-digits = "+" *phonedigit DIGIT *phonedigit;
 * local numbers need a phone-context (§5.1.5). */
static void test_parse_invalid_tel(void **state)
{
    (void) state;
    static const struct bad t[] = {
        B("tel:"),
        B("tel:+"),
        B("tel:+-"),
        B("tel:+()"),
        B("tel:+1-201-555-0123x"),
        B("tel:;phone-context=example.com"),
        B("tel:+1234;"),
        B("tel:+12@example.com"),
    };
    run_rejects(t, N_ELEMS(t));
}

/* RFC 3966 wants a phone-context on local numbers; phones send them without one,
 * so sipkit accepts them (a proxy must not 400 a call over it). */
static void test_parse_tel_local_without_context(void **state)
{
    (void) state;
    struct parsed p;

    PARSE_OK(&p, "tel:7042");
    assert_int_equal(p.u.scheme, SIP_URI_TEL);
    assert_true(sk_str_eq_cstr(p.u.user, "7042"));
    done(&p);
    PARSE_OK(&p, "tel:863-1234;ext=1");
    assert_true(sk_str_eq_cstr(p.u.user, "863-1234"));
    assert_true(sk_str_eq_cstr(p.u.params, "ext=1"));
    done(&p);
}

/* ------------------------------------------------------------------------ */
/* sip_uri_equal: RFC 3261 §19.1.4                                         */
/* ------------------------------------------------------------------------ */

/* The examples of §19.1.4, verbatim. */
static void test_equal_rfc3261_examples(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
        {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
        {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
        {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
        {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
         "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
        {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
         "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
        /* "equality is not transitive" */
        {"sip:carol@chicago.com", "sip:carol@chicago.com;security=off"},
    };
    static const struct pair ne[] = {
        {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
        {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
        {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
        {"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* "A SIP and SIPS URI are never equivalent"; the scheme is case-insensitive. */
static void test_equal_scheme(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"SIP:alice@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
        {"SiPs:alice@atlanta.com", "sips:alice@atlanta.com"},
        {"Sip:bob@biloxi.com:5060", "sIP:bob@biloxi.com:5060"},
    };
    static const struct pair ne[] = {
        {"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
        {"sip:alice@atlanta.com:5061", "sips:alice@atlanta.com:5061"},
        {"sip:alice@atlanta.com;transport=tls", "sips:alice@atlanta.com;transport=tls"},
        {"SIPS:alice@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:+12015550123@gw.example.com;user=phone", "tel:+12015550123"},
        {"sip:a@b", "mailto:a@b"},
        {"sips:a@b", "mailto:a@b"},
        {"tel:+12015550123", "mailto:+12015550123"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* Userinfo is case-sensitive; unreserved characters equal their escapes,
 * reserved ones do not (RFC 2396 reserved: ; / ? : @ & = + $ ,). */
static void test_equal_userinfo(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:%61lice@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:alic%65@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:%61%6C%69%63%65@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:%61%6c%69%63%65@atlanta.com", "sip:%61%6C%69%63%65@atlanta.com"},
        {"sip:%75se%72@example.com", "sip:user@example.com"}, /* RFC 4475 esc01 To */
        {"sip:a%2Db@h", "sip:a-b@h"},                         /* marks are unreserved */
        {"sip:a%5Fb%2E%21%7E%2A%27%28%29@h", "sip:a_b.!~*'()@h"},
        {"sip:%31%32%33@h", "sip:123@h"},
        {"sip:alice:%73ecret@atlanta.com", "sip:alice:secret@atlanta.com"},
        {"sip:alice:secret@atlanta.com", "sip:alice:secret@ATLANTA.COM"},
        /* hex digits of an escape are case-insensitive (RFC 3986 §2.1) */
        {"sip:a%3bb@h", "sip:a%3Bb@h"},
        {"sip:%4a@h", "sip:%4A@h"},
        {"sip:%4a@h", "sip:J@h"},
        /* escaped reserved characters equal each other */
        {"sip:user;par=u%40example.net@example.com",
         "sip:user;par=u%40example.net@example.com"},
        {"sip:null-%00-null@example.com", "sip:null-%00-null@example.com"},
        {"sip:I%20have%20spaces@example.net", "sip:I%20have%20spaces@example.net"},
        {"sip:alice;day=tuesday@atlanta.com", "sip:alice;day=tuesday@atlanta.com"},
    };
    static const struct pair ne[] = {
        {"sip:alice@atlanta.com", "sip:Alice@atlanta.com"},
        {"sip:alice@atlanta.com", "sip:ALICE@atlanta.com"},
        {"sip:%41lice@atlanta.com", "sip:alice@atlanta.com"}, /* %41 is 'A' */
        {"sip:%61lice@atlanta.com", "sip:Alice@atlanta.com"},
        {"sip:alice@atlanta.com", "sip:alicf@atlanta.com"},
        {"sip:alice@atlanta.com", "sip:alic@atlanta.com"},
        {"sip:alice@atlanta.com", "sip:atlanta.com"}, /* user omitted */
        /* escaped reserved characters are not the literal ones */
        {"sip:a%3Bb@h", "sip:a;b@h"},
        {"sip:a%3bb@h", "sip:a;b@h"},
        {"sip:a%3Db@h", "sip:a=b@h"},
        {"sip:a%2Bb@h", "sip:a+b@h"},
        {"sip:a%26b@h", "sip:a&b@h"},
        {"sip:a%3Fb@h", "sip:a?b@h"},
        {"sip:a%2Fb@h", "sip:a/b@h"},
        {"sip:a%24b@h", "sip:a$b@h"},
        {"sip:a%2Cb@h", "sip:a,b@h"},
        {"sip:%2B12015550123@h", "sip:+12015550123@h"},
        {"sip:user;par=u%40example.net@example.com",
         "sip:user%3Bpar=u%40example.net@example.com"},
        {"sip:user;par=u%40example.net@example.com",
         "sip:user;par%3Du%40example.net@example.com"},
        /* a telephone-subscriber user is compared as userinfo, not as a tel URI */
        {"sip:+1-201-555-0123@h;user=phone", "sip:+12015550123@h;user=phone"},
        /* the user/password separator is not an escaped ':' */
        {"sip:a:b@h", "sip:a%3Ab@h"},
        /* password: case-sensitive, present or not */
        {"sip:alice:secret@atlanta.com", "sip:alice:Secret@atlanta.com"},
        {"sip:alice:secret@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:alice:secret@atlanta.com", "sip:alice:secre@atlanta.com"},
        {"sip:alice:@atlanta.com", "sip:alice@atlanta.com"},
        {"sip:alice:p%26q@atlanta.com", "sip:alice:p&q@atlanta.com"},
        {"sip:alice:p%3Dq@atlanta.com", "sip:alice:p=q@atlanta.com"},
        /* escaped NUL is a real byte (RFC 4475 escnull) */
        {"sip:null-%00-null@example.com", "sip:null--null@example.com"},
        {"sip:%00@host5.example.com", "sip:%00%00@host5.example.com"},
        {"sip:%00@host5.example.com", "sip:0@host5.example.com"},
        {"sip:%00@host5.example.com", "sip:host5.example.com"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* RFC 4475 §3.1.1.3: escaped and unescaped forms compare equal. */
static void test_equal_rfc4475_esc01(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:sips%3Auser%40example.com@example.net",
         "sip:sips%3Auser%40example.com@example.net"},
        {"sip:%73ips%3Auser%40example.com@example.net",
         "sip:sips%3Auser%40example.com@example.net"},
        {"sip:%73%69%70%73%3Auser%40example.com@example.net",
         "sip:sips%3Auser%40example.com@example.net"},
        {"sip:sips%3auser%40example.com@example.net",
         "sip:sips%3Auser%40example.com@example.net"},
        {"sip:sips%3Auser%40example.com@EXAMPLE.NET",
         "sip:sips%3Auser%40example.com@example.net"},
    };
    static const struct pair ne[] = {
        {"sip:sips%3Auser%40example.com@example.net",
         "sips:user%40example.com@example.net"},
        {"sip:sips%3Auser%40example.com@example.net",
         "sip:sips:user%40example.com@example.net"},
        {"sip:sips%3Auser%40example.com@example.net",
         "sip:SIPS%3Auser%40example.com@example.net"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* Host: case-insensitive names, binary IPv6 comparison, no DNS. */
static void test_equal_host(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:alice@AtLanTa.CoM", "sip:alice@atlanta.com"},
        {"sip:ATLANTA.COM", "sip:atlanta.com"},
        {"sip:[::1]", "sip:[0:0::1]"},
        {"sip:[::1]", "sip:[0:0:0:0:0:0:0:1]"},
        {"sip:[2001:DB8::1]", "sip:[2001:db8::1]"},
        {"sip:alice@[2001:db8:0:0:0:0:0:1]:5060", "sip:alice@[2001:db8::1]:5060"},
        {"sip:[2001:db8::0001]", "sip:[2001:db8::1]"},
        {"sip:[2001:db8:0::1:0:0:1]", "sip:[2001:0db8::1:0:0:1]"},
        {"sip:[::ffff:192.0.2.1]", "sip:[::ffff:c000:201]"},
        {"sip:[2001:DB8:0:0:8:800:200C:417A]", "sip:[2001:db8::8:800:200c:417a]"},
        {"sip:alice@192.0.2.4", "sip:alice@192.0.2.4"},
    };
    static const struct pair ne[] = {
        {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
        {"sip:alice@atlanta.com", "sip:alice@atlanta.org"},
        {"sip:alice@atlanta.com", "sip:alice@atlanta.co"},
        {"sip:alice@atlanta.com", "sip:alice@www.atlanta.com"},
        {"sip:alice@192.0.2.4", "sip:alice@192.0.2.5"},
        {"sip:[::1]", "sip:[::2]"},
        {"sip:[2001:db8::1]", "sip:[2001:db8::1:0]"},
        {"sip:[2001:db8::10:5070]", "sip:[2001:db8::10]:5070"}, /* RFC 5118 §4.3 */
        {"sip:[::1]", "sip:localhost"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* An omitted port never equals an explicit one, even the default. */
static void test_equal_port(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:bob@biloxi.com:5060", "sip:bob@BILOXI.com:5060"},
        {"sip:bob@biloxi.com:6000;transport=tcp",
         "sip:bob@biloxi.com:6000;transport=TCP"},
        {"sip:[::1]:5070", "sip:[0::1]:5070"},
    };
    static const struct pair ne[] = {
        {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
        {"sips:bob@biloxi.com", "sips:bob@biloxi.com:5061"},
        {"sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5061"},
        {"sip:bob@biloxi.com:0", "sip:bob@biloxi.com"},
        {"sip:bob@biloxi.com:1", "sip:bob@biloxi.com:10"},
        {"sip:[::1]", "sip:[::1]:5060"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* uri-parameter comparison rules. */
static void test_equal_params(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        /* order and case of names/values do not matter */
        {"sip:h;transport=tcp;ttl=15;maddr=239.255.255.1",
         "sip:h;maddr=239.255.255.1;ttl=15;transport=tcp"},
        {"sip:h;TRANSPORT=TCP", "sip:h;transport=tcp"},
        {"sip:h;maddr=Example.COM", "sip:h;maddr=example.com"},
        {"sip:+1@h;user=phone", "sip:+1@h;USER=Phone"},
        {"sip:h;method=INVITE", "sip:h;Method=INVITE"},
        {"sip:h;ttl=15", "sip:h;ttl=15"},
        {"sip:h;foo=BAR", "sip:h;foo=bar"},
        {"sip:h;Foo=bar", "sip:h;fOO=bar"},
        /* escaped unreserved characters in names and values */
        {"sip:h;foo=%62ar", "sip:h;foo=bar"},
        {"sip:h;%66oo=bar", "sip:h;foo=bar"},
        {"sip:h;foo=a%2fb", "sip:h;foo=a%2Fb"},
        /* lr and other parameters present on one side only are ignored */
        {"sip:h;lr", "sip:h"},
        {"sip:h;lr;transport=udp", "sip:h;transport=udp"},
        {"sip:h;unknownparam", "sip:h"},
        {"sip:h;newparam=5;transport=tcp", "sip:h;transport=tcp;security=on"},
        {"sip:alice@h;a=1;b=2", "sip:alice@h;b=2;c=3"},
        {"sip:alice@h;maddr=192.0.2.1;ttl=1;x", "sip:alice@h;ttl=1;maddr=192.0.2.1;y"},
    };
    static const struct pair ne[] = {
        /* transport, user, ttl, method, maddr on one side only never match,
         * even with the default value */
        {"sip:h", "sip:h;transport=udp"},
        {"sip:h;lr", "sip:h;transport=udp;lr"},
        {"sip:h;transport=udp", "sip:h;transport=tcp"},
        {"sip:+1@h", "sip:+1@h;user=phone"},
        {"sip:+1@h", "sip:+1@h;user=ip"},
        {"sip:+1@h;user=ip", "sip:+1@h;user=phone"},
        {"sip:h", "sip:h;ttl=1"},
        {"sip:h;maddr=239.255.255.1", "sip:h;maddr=239.255.255.1;ttl=15"},
        {"sip:h;ttl=15", "sip:h;ttl=16"},
        {"sip:h", "sip:h;method=INVITE"},
        {"sip:h;method=INVITE", "sip:h;method=REGISTER"},
        {"sip:h", "sip:h;maddr=239.255.255.1"},
        {"sip:h;maddr=239.255.255.1", "sip:h;maddr=239.255.255.2"},
        /* parameters present on both sides must match */
        {"sip:h;foo=bar", "sip:h;foo=baz"},
        {"sip:h;foo", "sip:h;foo=bar"},
        {"sip:h;foo=bar;x=1", "sip:h;x=2;foo=bar"},
        {"sip:h;lr;foo=1", "sip:h;foo=2"},
        /* escaped reserved characters are not the literal ones */
        {"sip:h;foo=a%2Fb", "sip:h;foo=a/b"},
        {"sip:h;foo=a%3Ab", "sip:h;foo=a:b"},
        {"sip:h;foo=a%26b", "sip:h;foo=a&b"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* "URI header components are never ignored". */
static void test_equal_headers(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
         "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
        {"sip:h?a=1&b=2&c=3", "sip:h?c=3&a=1&b=2"},
        {"sip:h?subject=%61bc", "sip:h?subject=abc"},
        {"sip:h?%73ubject=abc", "sip:h?subject=abc"},
        /* header field names are case-insensitive (RFC 3261 §7.3.1) */
        {"sip:h?Subject=abc", "sip:h?subject=abc"},
        {"sip:h;lr?a=b", "sip:h?a=b"},
    };
    static const struct pair ne[] = {
        {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
        {"sip:h?a=1&b=2", "sip:h?a=1"},
        {"sip:h?a=1", "sip:h?b=1"},
        {"sip:h?subject=a", "sip:h?subject=b"},
        {"sip:h?subject=a", "sip:h?subject="},
        {"sip:h?to=a%3Ab", "sip:h?to=a:b"},
        {"sip:h?a=1", "sip:h;a=1"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* ------------------------------------------------------------------------ */
/* sip_uri_equal: tel (RFC 3966 §4) and other schemes                      */
/* ------------------------------------------------------------------------ */

static void test_equal_tel(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        /* visual separators are ignored */
        {"tel:+1-201-555-0123", "tel:+12015550123"},
        {"tel:+1.201.555.0123", "tel:+1-201-555-0123"},
        {"tel:+1(201)555-0123", "tel:+12015550123"},
        {"TEL:+12015550123", "tel:+12015550123"},
        {"tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1914555"},
        /* parameter order does not matter */
        {"tel:+12015550123;ext=1234;foo=bar", "tel:+12015550123;foo=bar;ext=1234"},
        {"tel:7042;phone-context=example.com;ext=1",
         "tel:7042;ext=1;phone-context=example.com"},
        /* comparison is case-insensitive */
        {"tel:7042;phone-context=EXAMPLE.com", "tel:7042;phone-context=example.com"},
        {"tel:7a;phone-context=example.com", "tel:7A;phone-context=example.com"},
        {"tel:+12015550123;EXT=1234", "tel:+12015550123;ext=1234"},
        {"tel:+12015550123;foo=BAR", "tel:+12015550123;foo=bar"},
    };
    static const struct pair ne[] = {
        {"tel:+12015550123", "tel:+12015550124"},
        {"tel:+12015550123", "tel:+1201555012"},
        /* global vs local never equal */
        {"tel:+7042;ext=1", "tel:7042;phone-context=example.com;ext=1"},
        {"tel:+12015550123", "tel:12015550123;phone-context=example.com"},
        {"tel:12015550123;phone-context=+1", "tel:+12015550123"},
        /* a parameter on one side only */
        {"tel:+12015550123;ext=1234", "tel:+12015550123"},
        {"tel:+12015550123;foo=bar", "tel:+12015550123"},
        {"tel:+12015550123;ext=1234", "tel:+12015550123;ext=1235"},
        {"tel:7042;phone-context=example.com", "tel:7042;phone-context=example.org"},
        {"tel:7042;phone-context=example.com", "tel:7043;phone-context=example.com"},
        {"tel:863-1234;phone-context=+1-914-555",
         "tel:863-1234;phone-context=+1-914-556"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

static void test_equal_other(void **state)
{
    (void) state;
    static const struct pair eq[] = {
        {"mailto:a@b", "mailto:a@b"},
        {"MAILTO:a@b", "mailto:a@b"},
        {"urn:service:sos", "URN:service:sos"},
        {"http://x/y", "Http://x/y"},
        {"soap.beep://192.0.2.103:3002", "SOAP.BEEP://192.0.2.103:3002"},
    };
    static const struct pair ne[] = {
        {"mailto:a@b", "mailto:A@b"},
        {"mailto:a@b", "mailto:a@B"},
        {"urn:service:sos", "urn:service:SOS"},
        {"urn:service:sos", "urn:service:sos.fire"},
        {"http://x/y", "http://x/y/"},
        {"http://x/%79", "http://x/y"},
        {"mailto:x", "urn:x"},
        {"im:alice@example.com", "pres:alice@example.com"},
    };
    run_eq_ne(eq, N_ELEMS(eq), ne, N_ELEMS(ne));
}

/* ------------------------------------------------------------------------ */
/* sip_uri_param, sip_uri_default_port, sip_unescape                        */
/* ------------------------------------------------------------------------ */

static void test_uri_param(void **state)
{
    (void) state;
    struct parsed p;
    const struct sip_uri *u;
    struct sk_str v;

    u = PARSE_OK(&p, "sip:alice@example.com;transport=tcp;lr;Foo=Bar;x=a%20b?hdr=1");

    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "transport", &v));
    CHECK_STR(v, "tcp");

    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "TRANSPORT", &v));
    CHECK_STR(v, "tcp");

    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "foo", &v));
    CHECK_STR(v, "Bar");

    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "FOO", &v));
    CHECK_STR(v, "Bar");

    /* flag: found, value unset */
    v = SK_STR_LIT("junk");
    assert_true(sip_uri_param(u, "lr", &v));
    CHECK_UNSET(v);
    v = SK_STR_LIT("junk");
    assert_true(sip_uri_param(u, "LR", &v));
    CHECK_UNSET(v);

    /* escapes left as written */
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "x", &v));
    CHECK_STR(v, "a%20b");

    /* not found: unknown, prefixes, extensions, header names, values */
    v = SK_STR_NULL;
    assert_false(sip_uri_param(u, "maddr", &v));
    assert_false(sip_uri_param(u, "trans", &v));
    assert_false(sip_uri_param(u, "transportx", &v));
    assert_false(sip_uri_param(u, "l", &v));
    assert_false(sip_uri_param(u, "hdr", &v));
    assert_false(sip_uri_param(u, "tcp", &v));
    assert_false(sip_uri_param(u, "Bar", &v));
    assert_false(sip_uri_param(u, "", &v));
    done(&p);

    /* the ';' inside the user part does not start parameters */
    u = PARSE_OK(&p, "sip:user;par=u%40example.net@example.com");
    v = SK_STR_NULL;
    assert_false(sip_uri_param(u, "par", &v));
    done(&p);

    /* no parameters at all */
    u = PARSE_OK(&p, "sip:alice@example.com");
    v = SK_STR_NULL;
    assert_false(sip_uri_param(u, "transport", &v));
    assert_false(sip_uri_param(u, "lr", &v));
    done(&p);

    /* a flag as the last parameter and the first */
    u = PARSE_OK(&p, "sip:h;maddr=192.0.2.1;lr");
    v = SK_STR_LIT("junk");
    assert_true(sip_uri_param(u, "lr", &v));
    CHECK_UNSET(v);
    v = SK_STR_NULL;
    assert_true(sip_uri_param(u, "maddr", &v));
    CHECK_STR(v, "192.0.2.1");
    done(&p);
}

static void test_default_port(void **state)
{
    (void) state;
    struct parsed p;

    PARSE_OK(&p, "sip:alice@example.com");
    assert_int_equal(sip_uri_default_port(&p.u), 5060);
    done(&p);
    PARSE_OK(&p, "SIP:alice@example.com");
    assert_int_equal(sip_uri_default_port(&p.u), 5060);
    done(&p);
    PARSE_OK(&p, "sips:alice@example.com");
    assert_int_equal(sip_uri_default_port(&p.u), 5061);
    done(&p);
    PARSE_OK(&p, "SIPS:alice@example.com;transport=tcp");
    assert_int_equal(sip_uri_default_port(&p.u), 5061);
    done(&p);
}

/* uri.h: "Default port for the URI (5060, or 5061 for sips)": it does not
 * depend on an explicit port (RFC 3261 §19.1.2 defaults). */
/* The port to send to: an explicit port wins over the scheme's default. */
static void test_default_port_explicit_port_wins(void **state)
{
    (void) state;
    struct parsed p;

    PARSE_OK(&p, "sip:alice@example.com:5070");
    assert_int_equal(sip_uri_default_port(&p.u), 5070);
    done(&p);
    PARSE_OK(&p, "sips:[2001:db8::1]:5071");
    assert_int_equal(sip_uri_default_port(&p.u), 5071);
    done(&p);
}

static bool unescape_is(const char *in, size_t inlen, const char *want, size_t wantlen)
{
    struct sk_buf b;
    struct tu_guard g = {0};
    const char *src = tu_guard_copy(&g, in, inlen);
    bool ok = true;

    assert_non_null(src);
    sk_buf_init(&b);
    int rc = sip_unescape(&b, sk_str_make(src, inlen));
    struct sk_str got = sk_buf_str(&b);
    if (rc != 0 || got.len != wantlen || (wantlen && memcmp(got.p, want, wantlen) != 0)) {
        print_error("  sip_unescape(\"%s\") = %d, \"%s\"; want 0, \"%s\"\n",
                    show(in, inlen), rc, show(got.p, got.len), show(want, wantlen));
        ok = false;
    }
    sk_buf_free(&b);
    tu_guard_free(&g);
    return ok;
}

static void test_unescape(void **state)
{
    (void) state;
    static const struct {
        const char *in;
        size_t inlen;
        const char *out;
        size_t outlen;
    } t[] = {
#define U(i, o) {i, sizeof(i) - 1, o, sizeof(o) - 1}
        U("%41%42c", "ABc"),
        U("%G1", "%G1"),
        U("%4", "%4"),
        U("a%4", "a%4"),
        U("%", "%"),
        U("100%", "100%"),
        U("%4g", "%4g"),
        U("%zz%41", "%zzA"),
        U("%6a%6A", "jj"),
        U("project%20x", "project x"),
        U("sips%3Auser%40example.com", "sips:user@example.com"),
        U("%00", "\0"),
        U("null-%00-null", "null-\0-null"),
        U("%E2%82%AC", "\xE2\x82\xAC"),
        U("%25", "%"),
        U("%2541", "%41"), /* decoded once only */
        U("plain", "plain"),
        U("", ""),
#undef U
    };
    int bad = 0;

    for (size_t i = 0; i < N_ELEMS(t); i++) {
        if (!unescape_is(t[i].in, t[i].inlen, t[i].out, t[i].outlen)) bad++;
    }
    assert_int_equal(bad, 0);

    /* stops at the slice length: "%4" of "%41" is invalid */
    {
        struct sk_buf b;
        sk_buf_init(&b);
        assert_int_equal(sip_unescape(&b, sk_str_make("%41", 2)), 0);
        struct sk_str got = sk_buf_str(&b);
        assert_int_equal(got.len, 2);
        assert_memory_equal(got.p, "%4", 2);
        sk_buf_free(&b);
    }

    /* appends to what the buffer holds */
    {
        struct sk_buf b;
        sk_buf_init(&b);
        assert_int_equal(sk_buf_puts(&b, "x="), 0);
        assert_int_equal(sip_unescape(&b, SK_STR_LIT("%41b")), 0);
        struct sk_str got = sk_buf_str(&b);
        assert_int_equal(got.len, 4);
        assert_memory_equal(got.p, "x=Ab", 4);
        sk_buf_free(&b);
    }

    /* an append failure is reported */
    {
        struct sk_buf b;
        sk_buf_init(&b);
        b.max = 3;
        assert_int_equal(sip_unescape(&b, SK_STR_LIT("abcdef%41")), ENOMEM);
        assert_true(b.failed);
        sk_buf_free(&b);
    }
}

/* Repeated parameter names and URI headers (found by fuzz_uri): equality stays
 * reflexive and symmetric; the k-th occurrence is compared with the k-th. */
static bool eq_text(const char *a, const char *b)
{
    struct sip_uri ua, ub;
    assert_int_equal(sip_uri_parse(&ua, a, strlen(a), NULL), 0);
    assert_int_equal(sip_uri_parse(&ub, b, strlen(b), NULL), 0);
    assert_int_equal(sip_uri_equal(&ua, &ub), sip_uri_equal(&ub, &ua));
    return sip_uri_equal(&ua, &ub);
}

static void test_equal_repeated_names(void **state)
{
    (void) state;
    assert_true(eq_text("sip:b@h;x=a;x=b", "sip:b@h;x=a;x=b"));
    assert_true(eq_text("sip:h;a%2d=x;a-=y", "sip:h;a%2d=x;a-=y"));
    assert_true(eq_text("tel:+1;x=a;x=b", "tel:+1;x=a;x=b"));
    assert_false(eq_text("sip:h;x=1;x=1", "sip:h;x=1;x=2"));
    assert_false(eq_text("sip:h?x=1&x=1", "sip:h?x=1&x=2"));
    assert_true(eq_text("sip:h?x=1&y=2", "sip:h?y=2&x=1"));
    /* method twice on one side, once on the other: the second has no partner */
    assert_false(eq_text("sips:uer;method=1;method=2", "sips:uer;method=1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sip_basic),
        cmocka_unit_test(test_parse_scheme_case),
        cmocka_unit_test(test_parse_password),
        cmocka_unit_test(test_parse_userinfo_unusual),
        cmocka_unit_test(test_parse_no_user),
        cmocka_unit_test(test_parse_ipv4),
        cmocka_unit_test(test_parse_ipv6),
        cmocka_unit_test(test_parse_port),
        cmocka_unit_test(test_parse_params),
        cmocka_unit_test(test_parse_headers),
        cmocka_unit_test(test_parse_respects_len),
        cmocka_unit_test(test_parse_tel),
        cmocka_unit_test(test_parse_other),
        cmocka_unit_test(test_parse_invalid_structure),
        cmocka_unit_test(test_parse_invalid_whitespace_ctl),
        cmocka_unit_test(test_parse_invalid_angle_brackets),
        cmocka_unit_test(test_parse_invalid_escapes),
        cmocka_unit_test(test_parse_invalid_port),
        cmocka_unit_test(test_parse_invalid_ipv6),
        cmocka_unit_test(test_parse_invalid_params_headers),
        cmocka_unit_test(test_parse_error_position),
        cmocka_unit_test(test_parse_invalid_tel),
        cmocka_unit_test(test_parse_tel_local_without_context),
        cmocka_unit_test(test_equal_rfc3261_examples),
        cmocka_unit_test(test_equal_scheme),
        cmocka_unit_test(test_equal_userinfo),
        cmocka_unit_test(test_equal_rfc4475_esc01),
        cmocka_unit_test(test_equal_host),
        cmocka_unit_test(test_equal_port),
        cmocka_unit_test(test_equal_params),
        cmocka_unit_test(test_equal_headers),
        cmocka_unit_test(test_equal_tel),
        cmocka_unit_test(test_equal_other),
        cmocka_unit_test(test_uri_param),
        cmocka_unit_test(test_default_port),
        cmocka_unit_test(test_default_port_explicit_port_wins),
        cmocka_unit_test(test_equal_repeated_names),
        cmocka_unit_test(test_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
