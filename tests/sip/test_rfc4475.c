/* RFC 4475 torture messages: parse/validate verdict for all 49, field-level checks for
 * the valid ones. */
#define TU_CHECKS
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/uri.h"

/* ---- assertion helpers (print the message under test on failure) ---- */

static const char *g_ctx = "";

static bool str_has(struct sk_str s, const char *needle)
{
    size_t n = strlen(needle);
    return s.p && s.len >= n && memmem(s.p, s.len, needle, n) != NULL;
}

/* malloc'd pre + n*unit + post */
static char *repeat(const char *pre, const char *unit, int n, const char *post)
{
    size_t len = strlen(pre) + (size_t) n * strlen(unit) + strlen(post) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    strcpy(s, pre);
    for (int i = 0; i < n; i++)
        strcat(s, unit);
    strcat(s, post);
    return s;
}

/* ---- loading ---- */

struct fx {
    const char *name;
    char *buf;
    size_t len;
    size_t consumed;
    int rc;
    struct sip_error err;
    struct sip_msg *m;
};

static void fx_parse(struct fx *f, const char *name)
{
    memset(f, 0, sizeof(*f));
    f->name = name;
    g_ctx = name;
    f->buf = tu_read_rfc4475(name, &f->len);
    if (!f->buf) fail_at(__FILE__, __LINE__, "cannot read %s.dat", name);
    f->m = calloc(1, sizeof(*f->m));
    assert_non_null(f->m);
    sip_msg_init(f->m);
    f->err.status = -1;
    f->rc = sip_msg_parse(f->m, f->buf, f->len, SIP_PARSE_DATAGRAM, NULL, &f->consumed,
                          &f->err);
}

/* Parse in datagram mode and require success. */
static struct sip_msg *fx_ok(struct fx *f, const char *name)
{
    fx_parse(f, name);
    if (f->rc != 0)
        fail_at(__FILE__, __LINE__, "parse returned %d (status %d, reason %s, pos %zu)",
                f->rc, f->err.status, f->err.reason ? f->err.reason : "(null)",
                f->err.pos);
    return f->m;
}

static void fx_done(struct fx *f)
{
    sip_msg_release(f->m);
    free(f->m);
    free(f->buf);
    g_ctx = "";
}

/* Byte range [start, end) of the line of buf that starts with `prefix` (after a CRLF,
 * or at the very start). end includes the CRLF. */
static void line_range(const struct fx *f, const char *prefix, size_t *start, size_t *end)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i + n <= f->len; i++) {
        if ((i == 0 || f->buf[i - 1] == '\n') && memcmp(f->buf + i, prefix, n) == 0) {
            const char *e = memchr(f->buf + i, '\n', f->len - i);
            *start = i;
            *end = e ? (size_t) (e - f->buf) + 1 : f->len;
            return;
        }
    }
    fail_at(__FILE__, __LINE__, "line starting with \"%s\" not found", prefix);
}

static bool pos_in_line(const struct fx *f, size_t pos, const char *prefix)
{
    size_t s = 0, e = 0;
    line_range(f, prefix, &s, &e);
    return pos >= s && pos < e;
}

static bool reason_ok(const struct sip_error *err)
{
    return err->reason != NULL && err->reason[0] != '\0';
}

static void chk_hdr_ids(const struct sip_msg *m, const enum sip_hdr_id *ids, size_t n)
{
    CHK_INT(m->nhdr, n);
    for (size_t i = 0; i < n && i < m->nhdr; i++)
        if (m->hdr[i].id != ids[i])
            fail_at(__FILE__, __LINE__, "header %zu (%.*s): id %u, expected %u", i,
                    SK_STR_FMT(m->hdr[i].name), m->hdr[i].id, (unsigned) ids[i]);
}

/* ---- the verdict for every message ---- */

struct verdict {
    const char *name;
    int parse;    /* 0 or EBADMSG */
    int validate; /* 0, 400 or 505 (when parse == 0) */
};

static const struct verdict verdicts[] = {
    {"wsinv", 0, 0},         {"intmeth", 0, 0},        {"esc01", 0, 0},
    {"escnull", 0, 0},       {"esc02", 0, 0},          {"lwsdisp", 0, 0},
    {"longreq", 0, 0},       {"dblreq", 0, 0},         {"semiuri", 0, 0},
    {"transports", 0, 0},    {"mpart01", 0, 0},        {"unreason", 0, 0},
    {"noreason", 0, 0},      {"badinv01", EBADMSG, 0}, {"clerr", EBADMSG, 0},
    {"ncl", EBADMSG, 0},     {"scalar02", EBADMSG, 0}, {"scalarlg", EBADMSG, 0},
    {"quotbal", EBADMSG, 0}, {"ltgtruri", EBADMSG, 0}, {"lwsruri", EBADMSG, 0},
    {"lwsstart", 0, 0},      {"trws", 0, 0},           {"escruri", 0, 0},
    {"baddate", 0, 0},       {"regbadct", 0, 0},       {"badaspec", 0, 0},
    {"baddn", 0, 0},         {"badvers", 0, 505},      {"mismatch01", 0, 400},
    {"mismatch02", 0, 400},  {"bigcode", EBADMSG, 0},  {"badbranch", 0, 0},
    {"insuf", 0, 400},       {"unkscm", 0, 0},         {"novelsc", 0, 0},
    {"unksm2", 0, 0},        {"bext01", 0, 0},         {"invut", 0, 0},
    {"regaut01", 0, 0},      {"multi01", 0, 400},      {"mcl01", 0, 400},
    {"bcast", 0, 0},         {"zeromf", 0, 0},         {"cparam01", 0, 0},
    {"cparam02", 0, 0},      {"regescrt", 0, 0},       {"sdp01", 0, 0},
    {"inv2543", 0, 0},
};

static void test_all_verdicts(void **state)
{
    (void) state;
    CHK_INT(sizeof(verdicts) / sizeof(verdicts[0]), 49);
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        const struct verdict *v = &verdicts[i];
        struct fx f;
        fx_parse(&f, v->name);
        if (f.rc != v->parse)
            fail_at(__FILE__, __LINE__, "parse returned %d, expected %d (status %d, %s)",
                    f.rc, v->parse, f.err.status, f.err.reason ? f.err.reason : "(null)");
        if (v->parse == EBADMSG) {
            CHK_INT(f.err.status, 400);
            CHK(reason_ok(&f.err));
            CHK(f.err.pos <= f.len);
        } else {
            struct sip_error err = {.status = -1};
            int rc = sip_msg_validate(f.m, &err);
            CHK(f.consumed > 0 && f.consumed <= f.len);
            CHK(f.m->buf == f.buf);
            CHK_INT(f.m->len, f.consumed);
            if (v->validate == 0) {
                if (rc != 0)
                    fail_at(__FILE__, __LINE__, "validate returned %d (status %d, %s)",
                            rc, err.status, err.reason ? err.reason : "(null)");
            } else {
                CHK_INT(rc, EBADMSG);
                CHK_INT(err.status, v->validate);
                CHK(reason_ok(&err));
                CHK(err.pos <= f.len);
            }
        }
        fx_done(&f);
    }
}

/* Where the parser says the fault is, for the rejects whose fault sits in one line. */
static void test_reject_positions(void **state)
{
    struct fx f;
    (void) state;

    fx_parse(&f, "badinv01");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "Via:"));
    fx_done(&f);

    fx_parse(&f, "ncl");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "Content-Length:"));
    fx_done(&f);

    fx_parse(&f, "scalar02");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "CSeq:") ||
        pos_in_line(&f, f.err.pos, "Max-Forwards:"));
    fx_done(&f);

    fx_parse(&f, "scalarlg");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "CSeq:"));
    fx_done(&f);

    fx_parse(&f, "quotbal");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "To:"));
    fx_done(&f);

    fx_parse(&f, "ltgtruri");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "INVITE "));
    fx_done(&f);

    fx_parse(&f, "lwsruri");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "INVITE "));
    fx_done(&f);

    fx_parse(&f, "bigcode");
    CHK_INT(f.rc, EBADMSG);
    CHK(pos_in_line(&f, f.err.pos, "SIP/2.0 "));
    fx_done(&f);

    fx_parse(&f, "clerr");
    CHK_INT(f.rc, EBADMSG);
    CHK(f.err.pos <= f.len);
    fx_done(&f);
}

/* Validation failures point at the offending header. */
static void test_validate_positions(void **state)
{
    struct fx f;
    struct sip_error err;
    (void) state;

    fx_ok(&f, "mismatch01");
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 400);
    CHK(pos_in_line(&f, err.pos, "CSeq:"));
    fx_done(&f);

    fx_ok(&f, "mismatch02");
    CHK_STR(f.m->method, "NEWMETHOD");
    CHK_INT(f.m->method_id, SIP_METHOD_OTHER);
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 400);
    CHK(pos_in_line(&f, err.pos, "CSeq:"));
    fx_done(&f);

    fx_ok(&f, "mcl01");
    CHK_INT(f.m->count[SIP_HDR_CONTENT_LENGTH], 2);
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 400);
    CHK(pos_in_line(&f, err.pos, "Content-Length:") ||
        pos_in_line(&f, err.pos, "Content-Length: 5"));
    fx_done(&f);

    fx_ok(&f, "multi01");
    CHK_INT(f.m->count[SIP_HDR_CSEQ], 2);
    CHK_INT(f.m->count[SIP_HDR_CALL_ID], 2);
    CHK_INT(f.m->count[SIP_HDR_TO], 2);
    CHK_INT(f.m->count[SIP_HDR_FROM], 2);
    CHK_INT(f.m->count[SIP_HDR_MAX_FORWARDS], 2);
    CHK_INT(f.m->count[SIP_HDR_CONTACT], 2);
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 400);
    CHK(err.pos > 0 && err.pos < f.len);
    fx_done(&f);

    fx_ok(&f, "insuf");
    CHK(!f.m->has_call_id);
    CHK(!f.m->has_from);
    CHK(!f.m->has_to);
    CHK(f.m->has_cseq);
    CHK(f.m->has_via);
    CHK_INT(f.m->max_forwards, -1);
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 400);
    fx_done(&f);

    fx_ok(&f, "badvers");
    CHK_STR(f.m->version, "SIP/7.0");
    CHK_INT(f.m->version_major, 7);
    CHK_INT(f.m->version_minor, 0);
    CHK_INT(sip_msg_validate(f.m, &err), EBADMSG);
    CHK_INT(err.status, 505);
    fx_done(&f);
}

/* ---- per-message field checks ---- */

static void test_wsinv(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_via *v;
    const struct sip_addr *a;
    const struct sip_ctype *ct;
    const struct sip_hdr *h;
    struct sk_str pv;
    size_t n;
    uint32_t u;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "wsinv");
    CHK_INT(f.consumed, 1001);
    CHK(m->is_request);
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    CHK_STR(m->method, "INVITE");
    CHK_STR(m->ruri_raw, "sip:vivekg@chair-dnrc.example.com;unknownparam");
    CHK_INT(m->ruri.scheme, SIP_URI_SIP);
    CHK_STR(m->ruri.user, "vivekg");
    CHK_STR(m->ruri.host, "chair-dnrc.example.com");
    CHK_INT(m->ruri.host_type, SIP_HOST_NAME);
    CHK(!m->ruri.has_port);
    CHK_STR(m->ruri.params, "unknownparam");
    CHK(sip_uri_param(&m->ruri, "unknownparam", &pv));
    CHK_UNSET(pv);
    CHK_STR(m->version, "SIP/2.0");
    CHK_INT(m->version_major, 2);
    CHK_INT(m->version_minor, 0);

    static const enum sip_hdr_id ids[] = {
        SIP_HDR_TO,      SIP_HDR_FROM,           SIP_HDR_MAX_FORWARDS,
        SIP_HDR_CALL_ID, SIP_HDR_CONTENT_LENGTH, SIP_HDR_CSEQ,
        SIP_HDR_VIA,     SIP_HDR_SUBJECT,        SIP_HDR_OTHER,
        SIP_HDR_OTHER,   SIP_HDR_CONTENT_TYPE,   SIP_HDR_ROUTE,
        SIP_HDR_VIA,     SIP_HDR_CONTACT,
    };
    chk_hdr_ids(m, ids, sizeof(ids) / sizeof(ids[0]));
    CHK_STR(m->hdr[0].name, "TO");
    CHK_STR(m->hdr[2].name, "MaX-fOrWaRdS");
    CHK_STR(m->hdr[4].name, "Content-Length");
    CHK_STR(m->hdr[7].name, "s");
    CHK_STR(m->hdr[12].name, "v");
    CHK_STR(m->hdr[13].name, "m");
    CHK_INT(m->count[SIP_HDR_VIA], 2);
    CHK_INT(m->first[SIP_HDR_VIA], 6);
    CHK_INT(m->first[SIP_HDR_WARNING], SIP_HDR_NONE);
    h = sip_msg_hdr(m, SIP_HDR_VIA);
    CHK(h == &m->hdr[6]);
    h = sip_msg_hdr_next(m, h);
    CHK(h == &m->hdr[12]);
    CHK(sip_msg_hdr_next(m, h) == NULL);

    /* Vias: one on a folded "Via  :" line, two on the compact "v:" line */
    CHK(m->has_via);
    CHK_STR(m->via.branch, "390skdjuw");
    CHK_STR(m->via.host, "192.0.2.2");
    CHK_INT(sip_msg_vias(m, &v, &n, &err), 0);
    CHK_INT(n, 3);
    CHK_STR(v[0].protocol, "SIP");
    CHK_STR(v[0].version, "2.0");
    CHK_STR(v[0].transport, "UDP");
    CHK_STR(v[0].host, "192.0.2.2");
    CHK_INT(v[0].host_type, SIP_HOST_IPV4);
    CHK(!v[0].has_port);
    CHK_STR(v[0].branch, "390skdjuw");
    CHK_STR(v[1].protocol, "SIP");
    CHK_STR(v[1].version, "2.0");
    CHK_STR(v[1].transport, "TCP");
    CHK_STR(v[1].host, "spindle.example.com");
    CHK_STR(v[1].branch, "z9hG4bK9ikj8");
    CHK_STR(v[2].transport, "UDP");
    CHK_STR(v[2].host, "192.168.255.111");
    CHK_STR(v[2].branch, "z9hG4bK30239");
    CHK_UNSET(v[2].received);
    CHK(!v[2].has_rport);

    /* To without <>: the tag is a header parameter */
    CHK(m->has_to);
    CHK_STR(m->to.tag, "1918181833n");
    CHK_STR(m->to.uri.raw, "sip:vivekg@chair-dnrc.example.com");
    CHK_STR(m->to.uri.user, "vivekg");
    CHK_EMPTY(m->to.uri.params);
    CHK_UNSET(m->to.display);

    CHK(m->has_from);
    CHK_STR(m->from.tag, "98asjd8");
    CHK(m->from.display_quoted);
    CHK_STR(m->from.display, "J Rosenberg \\\\\\\"");
    CHK_STR(m->from.uri.raw, "sip:jdrosen@example.com");
    CHK_STR(m->from.uri.host, "example.com");

    CHK_INT(m->max_forwards, 68);
    CHK_INT(sip_msg_uint(m, SIP_HDR_MAX_FORWARDS, &u, &err), 0);
    CHK_INT(u, 68);
    CHK(m->has_cseq);
    CHK_INT(m->cseq.num, 9);
    CHK_STR(m->cseq.method, "INVITE");
    CHK(m->has_call_id);
    CHK_STR(m->call_id, "wsinv.ndaksdj@192.0.2.1");
    CHK_INT(m->content_length, 150);
    CHK_INT(m->body.len, 150);
    CHK(m->body.p == f.buf + 851);
    CHK(memcmp(m->body.p, "v=0\r\n", 5) == 0);
    CHK(memcmp(m->body.p + 133, "a=rtpmap:31 LPC\r\n", 17) == 0);

    h = sip_msg_hdr_by_name(m, "NewFangledHeader");
    CHK(h != NULL);
    CHK_INT(h->id, SIP_HDR_OTHER);
    CHK_STR(h->name, "NewFangledHeader");
    CHK(h->value.len > 16 && memcmp(h->value.p, "newfangled value", 16) == 0);
    CHK(str_has(h->value, "newfangled value"));
    CHK(str_has(h->value, "continued newfangled value"));
    CHK(h->value.p[h->value.len - 1] == 'e');
    CHK(sip_msg_hdr_by_name(m, "newfangledheader") == h);
    CHK(sip_msg_hdr_by_name(m, "NewFangledHeaderX") == NULL);

    h = sip_msg_hdr_by_name(m, "UnknownHeaderWithUnusualValue");
    CHK(h != NULL);
    CHK_INT(h->id, SIP_HDR_OTHER);
    CHK_STR(h->value, ";;,,;;,;");

    h = sip_msg_hdr(m, SIP_HDR_SUBJECT);
    CHK(h != NULL);
    CHK_INT(h->value.len, 0);
    CHK(sip_msg_hdr_by_name(m, "Subject") == h);
    CHK(sip_msg_hdr_by_name(m, "s") == h);

    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].type, "application");
    CHK_STR(ct[0].subtype, "sdp");

    CHK_INT(sip_msg_addrs(m, SIP_HDR_ROUTE, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.host, "services.example.com");
    CHK(a[0].uri.lr);
    CHK(sip_uri_param(&a[0].uri, "unknownwith", &pv));
    CHK_STR(pv, "value");
    CHK(sip_uri_param(&a[0].uri, "unknown-no-value", &pv));
    CHK_UNSET(pv);
    CHK(!sip_uri_param(&a[0].uri, "unknown", &pv));

    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK(a[0].display_quoted);
    CHK_STR(a[0].display, "Quoted string \\\"\\\"");
    CHK_STR(a[0].uri.raw, "sip:jdrosen@example.com");
    CHK_INT(a[0].q, 330);
    CHK_INT(a[0].expires, -1);
    CHK(!a[0].star);
    CHK(sip_param_get(a[0].params, "newparam", &pv));
    CHK_STR(pv, "newvalue");
    CHK(sip_param_get(a[0].params, "secondparam", &pv));
    CHK_UNSET(pv);
    CHK(sip_param_get(a[0].params, "Q", &pv));
    CHK_STR(pv, "0.33");

    fx_done(&f);
}

static void test_intmeth(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_hdr *h;
    struct sk_str pv;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "intmeth");
    CHK(m->is_request);
    CHK_STR(m->method, "!interesting-Method0123456789_*+`.%indeed'~");
    CHK_INT(m->method_id, SIP_METHOD_OTHER);
    CHK_INT(m->ruri.scheme, SIP_URI_SIP);
    CHK_STR(m->ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHK_STR(m->ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    CHK_STR(m->ruri.host, "example.com");
    CHK_STR(m->via.transport, "TCP");
    CHK_STR(m->via.host, "host1.example.com");
    CHK_STR(m->via.branch, "z9hG4bK-.!%66*_+`'~");

    CHK(m->to.display_quoted);
    CHK_STR(m->to.display, "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f");
    CHK_STR(m->to.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHK_STR(m->to.uri.host, "example.com");
    CHK_UNSET(m->to.tag);

    CHK(!m->from.display_quoted);
    CHK_STR(m->from.display, "token1~` token2'+_ token3*%!.-");
    CHK_STR(m->from.uri.raw, "sip:mundane@example.com");
    CHK_STR(m->from.tag, "_token~1'+`*%!-.");
    CHK(sip_param_get(m->from.params, "fromParam''~+*_!.-%", &pv));
    CHK_STR(pv, "\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8"
                "\xd0\xb9");

    CHK_STR(m->call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    CHK_INT(m->cseq.num, 139122385);
    CHK_STR(m->cseq.method, "!interesting-Method0123456789_*+`.%indeed'~");
    CHK_INT(m->max_forwards, 255);
    h = sip_msg_hdr_by_name(m, "extensionHeader-!.%*+_`'~");
    CHK(h != NULL);
    CHK_INT(h->id, SIP_HDR_OTHER);
    CHK_STR(h->value, "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
    CHK_INT(m->content_length, 0);
    CHK_INT(m->body.len, 0);
    CHK_INT(sip_msg_validate(m, &err), 0);
    fx_done(&f);
}

static void test_esc01(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    const struct sip_ctype *ct;
    struct sip_uri u;
    struct sk_buf b;
    size_t n;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "esc01");
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    CHK_STR(m->ruri.user, "sips%3Auser%40example.com");
    CHK_STR(m->ruri.host, "example.net");
    CHK_STR(m->to.uri.user, "%75se%72");
    CHK_STR(m->to.uri.host, "example.com");
    /* escaped and unescaped forms compare equal (RFC 3261 §19.1.4) */
    CHK_INT(sip_uri_parse(&u, "sip:user@example.com", 20, &err), 0);
    CHK(sip_uri_equal(&m->to.uri, &u));
    CHK_INT(sip_uri_parse(&u, "sip:usEr@example.com", 20, &err), 0);
    CHK(!sip_uri_equal(&m->to.uri, &u));
    sk_buf_init(&b);
    CHK_INT(sip_unescape(&b, m->to.uri.user), 0);
    CHK_STR(sk_buf_str(&b), "user");
    sk_buf_free(&b);
    CHK_STR(m->from.uri.user, "I%20have%20spaces");
    CHK_STR(m->from.tag, "938");
    CHK_STR(m->hdr[m->first[SIP_HDR_CALL_ID]].name, "i");
    CHK_STR(m->call_id, "esc01.239409asdfakjkn23onasd0-3234");
    CHK_INT(m->count[SIP_HDR_CONTENT_TYPE], 1);
    CHK_STR(m->hdr[m->first[SIP_HDR_CONTENT_TYPE]].name, "C");
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].type, "application");
    CHK_STR(ct[0].subtype, "sdp");
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.user, "cal%6Cer");
    CHK_STR(a[0].uri.host, "host5.example.net");
    CHK_STR(a[0].uri.params, "%6C%72;n%61me=v%61lue%25%34%31");
    CHK_INT(m->content_length, 150);
    CHK_INT(m->body.len, 150);
    fx_done(&f);
}

static void test_escnull(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    struct sk_buf b;
    size_t n;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "escnull");
    CHK_INT(m->method_id, SIP_METHOD_REGISTER);
    CHK_STR(m->to.uri.user, "null-%00-null");
    CHK_STR(m->from.uri.user, "null-%00-null");
    CHK_STR(m->from.tag, "839923423");
    CHK_INT(m->count[SIP_HDR_CONTACT], 2);
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 2);
    CHK_STR(a[0].uri.user, "%00");
    CHK_STR(a[1].uri.user, "%00%00");
    CHK_STR(a[1].uri.host, "host5.example.com");
    sk_buf_init(&b);
    CHK_INT(sip_unescape(&b, a[1].uri.user), 0);
    CHK_STR(sk_buf_str(&b), "\0\0");
    sk_buf_free(&b);
    CHK_STR(m->hdr[m->first[SIP_HDR_CONTENT_LENGTH]].name, "L");
    CHK_INT(m->content_length, 0);
    fx_done(&f);
}

static void test_esc02(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    const struct sip_hdr *h;
    size_t n;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "esc02");
    CHK_STR(m->method, "RE%47IST%45R");
    CHK_INT(m->method_id, SIP_METHOD_OTHER);
    CHK_STR(m->cseq.method, "RE%47IST%45R");
    CHK_INT(m->cseq.num, 29344);
    CHK(m->to.display_quoted);
    CHK_STR(m->to.display, "%Z%45");
    CHK_STR(m->from.tag, "f232jadfj23");
    CHK_STR(m->via.branch, "z9hG4bK209%fzsnel234");
    h = sip_msg_hdr_by_name(m, "C%6Fntact");
    CHK(h != NULL);
    CHK_INT(h->id, SIP_HDR_OTHER);
    CHK_STR(h->value, "<sip:alias2@host2.example.com>");
    CHK_INT(m->count[SIP_HDR_CONTACT], 2);
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 2);
    CHK_STR(a[0].uri.host, "host1.example.com");
    CHK_STR(a[1].uri.host, "host3.example.com");
    fx_done(&f);
}

static void test_lwsdisp(void **state)
{
    struct fx f;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "lwsdisp");
    CHK_INT(m->method_id, SIP_METHOD_OPTIONS);
    CHK(!m->from.display_quoted);
    CHK_STR(m->from.display, "caller");
    CHK_STR(m->from.uri.raw, "sip:caller@example.com");
    CHK_STR(m->from.tag, "323");
    CHK_STR(m->to.uri.raw, "sip:user@example.com");
    fx_done(&f);
}

static void test_longreq(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_via *v;
    const struct sip_addr *a;
    const struct sip_hdr *h;
    struct sk_str pv;
    size_t n;
    char *s;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "longreq");
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    CHK(m->to.display_quoted);
    s = repeat("I have a user name of ", "extreme", 10, " proportion");
    CHK_STRC(m->to.display, s);
    free(s);
    CHK_STR(m->to.uri.host, "example.com");
    CHK(m->to.uri.has_port);
    CHK_INT(m->to.uri.port, 6000);
    CHK(sip_uri_param(&m->to.uri, "unknownparam1", &pv));
    s = repeat("very", "long", 20, "value");
    CHK_STRC(pv, s);
    free(s);
    s = repeat("longparam", "name", 25, "");
    CHK(sip_uri_param(&m->to.uri, s, &pv));
    CHK_STR(pv, "shortvalue");
    free(s);
    s = repeat("very", "long", 25, "ParameterNameWithNoValue");
    CHK(sip_uri_param(&m->to.uri, s, &pv));
    CHK_UNSET(pv);
    free(s);

    s = repeat("", "amazinglylongcallername", 5, "");
    CHK_STRC(m->from.uri.user, s);
    free(s);
    s = repeat("1", "298", 50, "2424");
    CHK_STRC(m->from.tag, s);
    free(s);
    s = repeat("unknownheaderparam", "name", 20, "");
    CHK(sip_param_get(m->from.params, s, &pv));
    free(s);
    s = repeat("unknowheaderparam", "value", 15, "");
    CHK_STRC(pv, s);
    free(s);
    s = repeat("unknownValueless", "paramname", 10, "");
    CHK(sip_param_get(m->from.params, s, &pv));
    CHK_UNSET(pv);
    free(s);

    s = repeat("longreq.one", "really", 20, "longcallid");
    CHK_STRC(m->call_id, s);
    free(s);
    CHK_INT(m->cseq.num, 3882340);

    s = repeat("Unknown-", "Long", 20, "-Name");
    h = sip_msg_hdr_by_name(m, s);
    CHK(h != NULL);
    CHK_INT(h->id, SIP_HDR_OTHER);
    CHK_STRC(h->name, s);
    free(s);
    CHK_INT(h->value.len, 306);
    CHK(str_has(h->value, "-parameter-name = unknown-"));

    CHK_INT(m->count[SIP_HDR_VIA], 34);
    CHK_INT(sip_msg_vias(m, &v, &n, &err), 0);
    CHK_INT(n, 34);
    for (size_t i = 0; i < 33; i++) {
        char host[32];
        snprintf(host, sizeof(host), "sip%zu.example.com", 33 - i);
        CHK_STRC(v[i].host, host);
        CHK_STR(v[i].transport, "TCP");
        CHK_UNSET(v[i].branch);
    }
    CHK_STR(v[33].host, "host.example.com");
    CHK_STR(v[33].received, "192.0.2.5");
    s = repeat("very", "long", 50, "branchvalue");
    CHK_STRC(v[33].branch, s);
    free(s);
    CHK_STR(m->via.host, "sip33.example.com");

    CHK_INT(m->max_forwards, 70);
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    s = repeat("", "amazinglylongcallername", 5, "");
    CHK_STRC(a[0].uri.user, s);
    free(s);
    CHK_INT(m->content_length, 150);
    CHK_INT(m->body.len, 150);
    fx_done(&f);
}

static void test_dblreq(void **state)
{
    struct fx f;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "dblreq");
    CHK_INT(f.consumed, 300); /* up to the empty line of the first message */
    CHK_INT(m->len, 300);
    CHK_INT(m->method_id, SIP_METHOD_REGISTER);
    CHK_STR(m->call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
    CHK_INT(m->content_length, 0);
    CHK_INT(m->body.len, 0);
    CHK_INT(m->cseq.num, 8);
    CHK_STR(m->via.branch, "z9hG4bKkdjuw23492");
    CHK(sip_msg_hdr_by_name(m, "Content-Type") == NULL);
    fx_done(&f);
}

static void test_semiuri(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_ctype *ct;
    size_t n;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "semiuri");
    CHK_INT(m->method_id, SIP_METHOD_OPTIONS);
    CHK_STR(m->ruri.user, "user;par=u%40example.net");
    CHK_STR(m->ruri.host, "example.com");
    CHK_EMPTY(m->ruri.params);
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_ACCEPT, &ct, &n, &err), 0);
    CHK_INT(n, 6);
    CHK_STR(ct[0].type, "application");
    CHK_STR(ct[0].subtype, "sdp");
    CHK_STR(ct[1].subtype, "pkcs7-mime");
    CHK_STR(ct[2].type, "multipart");
    CHK_STR(ct[2].subtype, "mixed");
    CHK_STR(ct[3].subtype, "signed");
    CHK_STR(ct[4].type, "message");
    CHK_STR(ct[4].subtype, "sip");
    CHK_STR(ct[5].type, "message");
    CHK_STR(ct[5].subtype, "sipfrag");
    fx_done(&f);
}

static void test_transports(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_via *v;
    size_t n;
    static const char *const tr[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
    static const char *const br[] = {"z9hG4bKkdjuw", "z9hG4bKklasjdhf",
                                     "z9hG4bK2980unddj", "z9hG4bKasd0f3en",
                                     "z9hG4bK0a9idfnee"};
    (void) state;
    struct sip_msg *m = fx_ok(&f, "transports");
    CHK_STR(m->call_id, "transports.kijh4akdnaqjkwendsasfdj");
    CHK_INT(m->count[SIP_HDR_VIA], 5);
    CHK_INT(sip_msg_vias(m, &v, &n, &err), 0);
    CHK_INT(n, 5);
    for (size_t i = 0; i < 5; i++) {
        char host[32];
        snprintf(host, sizeof(host), "t%zu.example.com", i + 1);
        CHK_STRC(v[i].transport, tr[i]);
        CHK_STRC(v[i].host, host);
        CHK_STRC(v[i].branch, br[i]);
    }
    fx_done(&f);
}

static void test_mpart01(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_ctype *ct;
    struct sk_str pv;
    size_t n;
    time_t t;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "mpart01");
    CHK_INT(m->method_id, SIP_METHOD_MESSAGE);
    CHK_STR(m->method, "MESSAGE");
    CHK_STR(m->via.host, "127.0.0.1");
    CHK(m->via.has_port);
    CHK_INT(m->via.port, 5070);
    CHK(m->via.has_rport);
    CHK(!m->via.rport_has_value);
    CHK_STR(m->via.branch, "z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-");
    CHK_INT(m->count[SIP_HDR_IDENTITY], 1);
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].type, "multipart");
    CHK_STR(ct[0].subtype, "mixed");
    CHK(sip_param_get(ct[0].params, "boundary", &pv));
    CHK_STR(pv, "7a9cbec02ceef655");
    CHK_INT(m->content_length, 553);
    CHK_INT(m->body.len, 553);
    CHK(m->body.len > 20 && memcmp(m->body.p, "--7a9cbec02ceef655\r\n", 20) == 0);
    CHK_INT(sip_msg_date(m, &t, &err), 0);
    CHK_INT(t, 1129351496); /* Sat, 15 Oct 2005 04:44:56 GMT */
    struct sk_str ua;
    CHK_INT(sip_msg_text(m, SIP_HDR_USER_AGENT, &ua), 0);
    CHK_STR(ua, "SIPimp.org/0.2.5 (curses)");
    CHK(sip_msg_hdr_by_name(m, "Content-Transfer-Encoding") != NULL);
    CHK_INT(sip_msg_hdr_by_name(m, "Content-Transfer-Encoding")->id, SIP_HDR_OTHER);
    fx_done(&f);
}

static void test_unreason_noreason(void **state)
{
    struct fx f;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "unreason");
    CHK(!m->is_request);
    CHK_INT(m->status, 200);
    CHK_STR(m->reason,
            "= 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe "
            "\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe "
            "\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - "
            "\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5");
    CHK_STR(m->version, "SIP/2.0");
    CHK_INT(m->cseq.num, 35);
    CHK_STR(m->cseq.method, "INVITE");
    CHK_STR(m->to.tag, "2229");
    CHK_INT(m->content_length, 154);
    CHK_INT(m->body.len, 154);
    fx_done(&f);

    m = fx_ok(&f, "noreason");
    CHK(!m->is_request);
    CHK_INT(m->status, 100);
    CHK_INT(m->reason.len, 0);
    CHK_STR(m->to.tag, "902jndnke3");
    CHK_STR(m->via.branch, "z9hG4bK2398ndaoe");
    fx_done(&f);
}

static void test_lenient_startline(void **state)
{
    struct fx f;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "lwsstart");
    CHK_INT(m->method_id, SIP_METHOD_INVITE);
    CHK_STR(m->ruri_raw, "sip:user@example.com");
    CHK_STR(m->version, "SIP/2.0");
    CHK_INT(m->cseq.num, 1893884);
    fx_done(&f);

    m = fx_ok(&f, "trws");
    CHK_INT(m->method_id, SIP_METHOD_OPTIONS);
    CHK_STR(m->ruri_raw, "sip:remote-target@example.com");
    CHK_STR(m->version, "SIP/2.0");
    CHK_INT(m->version_major, 2);
    fx_done(&f);

    m = fx_ok(&f, "escruri");
    CHK_STR(m->ruri_raw, "sip:user@example.com?Route=%3Csip:example.com%3E");
    CHK_STR(m->ruri.user, "user");
    CHK_STR(m->ruri.host, "example.com");
    CHK_STR(m->ruri.headers, "Route=%3Csip:example.com%3E");
    fx_done(&f);
}

static void test_lenient_headers(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    const struct sip_hdr *h;
    size_t n;
    time_t t;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "baddate");
    h = sip_msg_hdr(m, SIP_HDR_DATE);
    CHK(h != NULL);
    CHK_STR(h->value, "Fri, 01 Jan 2010 16:00:00 EST");
    err.reason = NULL;
    CHK_INT(sip_msg_date(m, &t, &err), EBADMSG);
    CHK(reason_ok(&err));
    CHK(pos_in_line(&f, err.pos, "Date:"));
    fx_done(&f);

    m = fx_ok(&f, "regbadct");
    err.reason = NULL;
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), EBADMSG);
    CHK(reason_ok(&err));
    CHK(pos_in_line(&f, err.pos, "Contact:"));
    /* the error is cached: same answer again */
    err.reason = NULL;
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), EBADMSG);
    CHK(reason_ok(&err));
    fx_done(&f);

    m = fx_ok(&f, "badaspec");
    CHK(m->to.display_quoted);
    CHK_STR(m->to.display, "Watson, Thomas");
    CHK_INT(m->to.uri.scheme, SIP_URI_SIP);
    CHK_STR(m->to.uri.user, "t.watson");
    CHK_STR(m->to.uri.host, "example.org");
    CHK(m->from.display_quoted);
    CHK_STR(m->from.display, "Bell, Alexander");
    CHK_STR(m->from.tag, "433423");
    fx_done(&f);

    m = fx_ok(&f, "baddn");
    CHK(!m->from.display_quoted);
    CHK_STR(m->from.display, "Bell, Alexander");
    CHK_STR(m->from.uri.user, "a.g.bell");
    CHK_STR(m->from.tag, "43");
    CHK(!m->to.display_quoted);
    CHK_STR(m->to.display, "Watson, Thomas");
    CHK_STR(m->to.uri.user, "t.watson");
    CHK_INT(m->max_forwards, 70);
    CHK_INT(m->cseq.num, 3923239);
    fx_done(&f);
}

static void test_badbranch(void **state)
{
    struct fx f;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "badbranch");
    CHK_STR(m->via.branch, "z9hG4bK");
    CHK_STR(m->via.host, "192.0.2.1");
    fx_done(&f);
}

static void test_schemes(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    size_t n;
    (void) state;

    struct sip_msg *m = fx_ok(&f, "unkscm");
    CHK_INT(m->ruri.scheme, SIP_URI_OTHER);
    CHK_STR(m->ruri.scheme_str, "nobodyKnowsThisScheme");
    CHK_STR(m->ruri.opaque, "totallyopaquecontent");
    CHK_STR(m->ruri_raw, "nobodyKnowsThisScheme:totallyopaquecontent");
    fx_done(&f);

    m = fx_ok(&f, "novelsc");
    CHK_INT(m->ruri.scheme, SIP_URI_OTHER);
    CHK_STR(m->ruri.scheme_str, "soap.beep");
    CHK_STR(m->ruri.opaque, "//192.0.2.103:3002");
    fx_done(&f);

    m = fx_ok(&f, "unksm2");
    CHK_INT(m->to.uri.scheme, SIP_URI_OTHER);
    CHK_STR(m->to.uri.scheme_str, "isbn");
    CHK_STR(m->to.uri.opaque, "2983792873");
    CHK_UNSET(m->to.tag);
    CHK_INT(m->from.uri.scheme, SIP_URI_OTHER);
    CHK_STR(m->from.uri.scheme_str, "http");
    CHK_STR(m->from.uri.opaque, "//www.example.com");
    CHK_STR(m->from.tag, "3234233");
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_INT(a[0].uri.scheme, SIP_URI_OTHER);
    CHK_STR(a[0].uri.scheme_str, "name");
    CHK_STR(a[0].uri.opaque, "John_Smith");
    fx_done(&f);
}

static void test_bext01(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sk_str *t;
    size_t n;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "bext01");
    CHK_INT(sip_msg_tokens(m, SIP_HDR_REQUIRE, &t, &n, &err), 0);
    CHK_INT(n, 2);
    CHK_STR(t[0], "nothingSupportsThis");
    CHK_STR(t[1], "nothingSupportsThisEither");
    CHK_INT(sip_msg_tokens(m, SIP_HDR_PROXY_REQUIRE, &t, &n, &err), 0);
    CHK_INT(n, 2);
    CHK_STR(t[0], "noProxiesSupportThis");
    CHK_STR(t[1], "norDoAnyProxiesSupportThis");
    CHK_INT(sip_msg_tokens(m, SIP_HDR_SUPPORTED, &t, &n, &err), ENOENT);
    CHK_STR(m->via.transport, "TLS");
    fx_done(&f);
}

static void test_invut_sdp01(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_ctype *ct;
    size_t n;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "invut");
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].type, "application");
    CHK_STR(ct[0].subtype, "unknownformat");
    CHK_INT(m->body.len, 40);
    CHK(memcmp(m->body.p, "<audio>\r\n", 9) == 0);
    fx_done(&f);

    m = fx_ok(&f, "sdp01");
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_ACCEPT, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].type, "text");
    CHK_STR(ct[0].subtype, "nobodyKnowsThis");
    CHK_INT(sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(ct[0].subtype, "sdp");
    fx_done(&f);
}

static void test_regaut01(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_auth *au;
    size_t n;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "regaut01");
    CHK_INT(sip_msg_auths(m, SIP_HDR_AUTHORIZATION, &au, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(au[0].scheme, "NoOneKnowsThisScheme");
    CHK(!au[0].digest);
    CHK_STR(au[0].params, "opaque-data=here");
    CHK_UNSET(au[0].username);
    CHK_INT(m->content_length, 0);
    CHK_INT(sip_msg_auths(m, SIP_HDR_PROXY_AUTHORIZATION, &au, &n, &err), ENOENT);
    fx_done(&f);
}

static void test_bcast_zeromf(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_via *v;
    size_t n;
    uint32_t u = 99;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "bcast");
    CHK(!m->is_request);
    CHK_INT(m->status, 200);
    CHK_STR(m->reason, "OK");
    CHK_INT(sip_msg_vias(m, &v, &n, &err), 0);
    CHK_INT(n, 2);
    CHK_STR(v[0].host, "192.0.2.198");
    CHK_STR(v[1].host, "255.255.255.255");
    CHK_INT(v[1].host_type, SIP_HOST_IPV4);
    CHK_STR(v[1].branch, "z9hG4bK1saber23");
    fx_done(&f);

    m = fx_ok(&f, "zeromf");
    CHK_INT(m->max_forwards, 0);
    CHK_INT(sip_msg_uint(m, SIP_HDR_MAX_FORWARDS, &u, &err), 0);
    CHK_INT(u, 0);
    fx_done(&f);
}

static void test_contact_params(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    struct sk_str pv;
    size_t n;
    (void) state;

    /* §3.3.12: no <>, so ";unknownparam" is a Contact header parameter */
    struct sip_msg *m = fx_ok(&f, "cparam01");
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.raw, "sip:+19725552222@gw1.example.net");
    CHK_STR(a[0].uri.user, "+19725552222");
    CHK_STR(a[0].uri.host, "gw1.example.net");
    CHK_EMPTY(a[0].uri.params);
    CHK(!sip_uri_param(&a[0].uri, "unknownparam", &pv));
    CHK_STR(a[0].params, "unknownparam");
    CHK(sip_param_get(a[0].params, "unknownparam", &pv));
    CHK_UNSET(pv);
    fx_done(&f);

    /* §3.3.13: inside <>, a URI parameter */
    m = fx_ok(&f, "cparam02");
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.raw, "sip:+19725552222@gw1.example.net;unknownparam");
    CHK_STR(a[0].uri.params, "unknownparam");
    CHK(sip_uri_param(&a[0].uri, "unknownparam", &pv));
    CHK_EMPTY(a[0].params);
    fx_done(&f);

    /* §3.3.14: escaped header in the Contact URI, compact "M:" */
    m = fx_ok(&f, "regescrt");
    CHK_INT(m->count[SIP_HDR_CONTACT], 1);
    CHK_STR(m->hdr[m->first[SIP_HDR_CONTACT]].name, "M");
    CHK_INT(sip_msg_addrs(m, SIP_HDR_CONTACT, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.user, "user");
    CHK_STR(a[0].uri.host, "example.com");
    CHK_STR(a[0].uri.headers, "Route=%3Csip:sip.example.com%3E");
    CHK_INT(m->content_length, 0);
    fx_done(&f);
}

static void test_inv2543(void **state)
{
    struct fx f;
    struct sip_error err;
    const struct sip_addr *a;
    struct sk_str pv;
    size_t n;
    (void) state;
    struct sip_msg *m = fx_ok(&f, "inv2543");
    CHK_INT(f.consumed, 445);
    CHK(m->has_via);
    CHK_STR(m->via.host, "iftgw.example.com");
    CHK_STR(m->via.transport, "UDP");
    CHK_UNSET(m->via.branch);
    CHK_UNSET(m->from.tag);
    CHK_UNSET(m->to.tag);
    CHK_STR(m->from.uri.user_param, "phone");
    /* To without <>: ";user=phone" is a header parameter */
    CHK_STR(m->to.uri.raw, "sip:+16505552222@ss1.example.net");
    CHK_EMPTY(m->to.uri.params);
    CHK(sip_param_get(m->to.params, "user", &pv));
    CHK_STR(pv, "phone");
    CHK_INT(m->max_forwards, -1);
    CHK_INT(m->content_length, -1);
    CHK_INT(m->body.len, 105);
    CHK(memcmp(m->body.p, "v=0\r\n", 5) == 0);
    CHK_INT(sip_msg_addrs(m, SIP_HDR_RECORD_ROUTE, &a, &n, &err), 0);
    CHK_INT(n, 1);
    CHK_STR(a[0].uri.maddr, "ss1.example.com");
    CHK_STR(a[0].uri.user, "UserB");
    fx_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_verdicts),
        cmocka_unit_test(test_reject_positions),
        cmocka_unit_test(test_validate_positions),
        cmocka_unit_test(test_wsinv),
        cmocka_unit_test(test_intmeth),
        cmocka_unit_test(test_esc01),
        cmocka_unit_test(test_escnull),
        cmocka_unit_test(test_esc02),
        cmocka_unit_test(test_lwsdisp),
        cmocka_unit_test(test_longreq),
        cmocka_unit_test(test_dblreq),
        cmocka_unit_test(test_semiuri),
        cmocka_unit_test(test_transports),
        cmocka_unit_test(test_mpart01),
        cmocka_unit_test(test_unreason_noreason),
        cmocka_unit_test(test_lenient_startline),
        cmocka_unit_test(test_lenient_headers),
        cmocka_unit_test(test_badbranch),
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_bext01),
        cmocka_unit_test(test_invut_sdp01),
        cmocka_unit_test(test_regaut01),
        cmocka_unit_test(test_bcast_zeromf),
        cmocka_unit_test(test_contact_params),
        cmocka_unit_test(test_inv2543),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
