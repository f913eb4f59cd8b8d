/* libFuzzer target: URI parsing, equality (reflexive, symmetric), params, unescaping. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/error.h"
#include "sip/hdr.h"
#include "sip/uri.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);





/* A URI parsed from its own exact copy of [p, p+n). */
struct parsed {
    char *text;
    size_t len;
    struct sip_uri uri;
    bool ok;
};

static void slice(const struct parsed *pu, struct sk_str s)
{
    uintptr_t a, lo = (uintptr_t) pu->text;

    if (s.len == 0)
        return;
    CHECK(s.p != NULL, "slice with a length but no pointer");
    a = (uintptr_t) s.p;
    CHECK(a >= lo && a - lo <= pu->len && s.len <= pu->len - (a - lo),
          "slice outside the parsed text");
    touch(s.p, s.len);
}

static void check_unescape(struct sk_str s)
{
    struct sk_buf b;

    sk_buf_init(&b);
    if (sip_unescape(&b, s) == 0) {
        CHECK(b.len <= s.len, "sip_unescape output longer than its input");
        touch(b.p, b.len);
    }
    sk_buf_free(&b);
}

static void check_params(const struct parsed *pu, struct sk_str params)
{
    struct sk_str rest = params, name, value;

    for (;;) {
        size_t before = rest.len;

        if (!sip_param_next(&rest, &name, &value))
            break;
        CHECK(rest.len < before, "sip_param_next returned a parameter without progress");
        slice(pu, name);
        slice(pu, value);
    }
}

static void parse(struct parsed *pu, const uint8_t *p, size_t n)
{
    struct sip_error err = {0};
    int rc;

    pu->text = dup_exact(p, n);
    pu->len = n;
    memset(&pu->uri, 0, sizeof(pu->uri));
    rc = sip_uri_parse(&pu->uri, pu->text, n, &err);
    CHECK(rc == 0 || rc == EBADMSG, "sip_uri_parse returned neither 0 nor EBADMSG");
    pu->ok = rc == 0;
    if (!pu->ok) {
        CHECK(err.reason != NULL, "error without a reason");
        touch(err.reason, strlen(err.reason));
        CHECK(err.status >= 400 && err.status <= 599, "error status is not 4xx/5xx");
        CHECK(err.pos <= n, "error position past the end of the input");
    }
}


static void check_one(const struct parsed *pu)
{
    static const char *const names[] = {"transport", "user", "method", "ttl", "maddr",
                                        "lr", "comp", "gr", "ob", "sigcomp-id",
                                        "phone-context", "isub", "ext", "tag", "x", ""};
    const struct sip_uri *u = &pu->uri;
    struct sk_str v;

    slice(pu, u->raw);
    slice(pu, u->scheme_str);
    slice(pu, u->user);
    slice(pu, u->password);
    slice(pu, u->host);
    slice(pu, u->params);
    slice(pu, u->headers);
    slice(pu, u->opaque);
    slice(pu, u->transport);
    slice(pu, u->user_param);
    slice(pu, u->maddr);
    slice(pu, u->method);
    slice(pu, u->ttl);
    CHECK(sip_uri_equal(u, u), "sip_uri_equal(u, u) is false");

    for (size_t i = 0; i < NELEM(names); i++)
        if (sip_uri_param(u, names[i], &v))
            slice(pu, v);
    /* A parameter the parser extracted is one that the lookup finds. */
    if (sk_str_isset(u->transport))
        CHECK(sip_uri_param(u, "transport", &v), "transport extracted but not found");
    if (sk_str_isset(u->user_param))
        CHECK(sip_uri_param(u, "user", &v), "user param extracted but not found");
    if (sk_str_isset(u->maddr))
        CHECK(sip_uri_param(u, "maddr", &v), "maddr extracted but not found");
    if (sk_str_isset(u->method))
        CHECK(sip_uri_param(u, "method", &v), "method extracted but not found");
    if (sk_str_isset(u->ttl))
        CHECK(sip_uri_param(u, "ttl", &v), "ttl extracted but not found");
    if (u->lr)
        CHECK(sip_uri_param(u, "lr", &v), "lr set but not found");
    if (u->scheme != SIP_URI_OTHER)
        check_params(pu, u->params);
    sink += sip_uri_default_port(u) + u->port + u->host_type + u->scheme;

    check_unescape(u->raw);
    check_unescape(u->user);
    check_unescape(u->password);
    check_unescape(u->host);
    check_unescape(u->params);
    check_unescape(u->headers);
}

static void release(struct parsed *pu)
{
    free(pu->text);
    pu->text = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct parsed whole, twin, part[4];
    size_t nparts = 0, start = 0;
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;

    parse(&whole, data, size);
    if (whole.ok) {
        check_one(&whole);
        /* The same text parsed again elsewhere: equal, both ways. */
        parse(&twin, data, size);
        CHECK(twin.ok, "the same text parses once but not twice");
        CHECK(sip_uri_equal(&whole.uri, &twin.uri) && sip_uri_equal(&twin.uri, &whole.uri),
              "a URI is not equal to a second parse of the same text");
        release(&twin);
    }

    /* Pieces: split at each NUL (up to 4 pieces), or at the midpoint when there is none. */
    if (nul) {
        while (nparts < NELEM(part) - 1) {
            const uint8_t *z = memchr(data + start, 0, size - start);

            if (!z)
                break;
            parse(&part[nparts++], data + start, (size_t) (z - (data + start)));
            start = (size_t) (z - data) + 1;
        }
        parse(&part[nparts++], data + start, size - start);
    } else {
        parse(&part[nparts++], data, size / 2);
        parse(&part[nparts++], data + size / 2, size - size / 2);
    }
    for (size_t i = 0; i < nparts; i++) {
        if (!part[i].ok)
            continue;
        check_one(&part[i]);
        if (whole.ok)
            CHECK(sip_uri_equal(&whole.uri, &part[i].uri) ==
                      sip_uri_equal(&part[i].uri, &whole.uri),
                  "sip_uri_equal is not symmetric");
        for (size_t j = i + 1; j < nparts; j++)
            if (part[j].ok)
                CHECK(sip_uri_equal(&part[i].uri, &part[j].uri) ==
                          sip_uri_equal(&part[j].uri, &part[i].uri),
                      "sip_uri_equal is not symmetric");
    }
    for (size_t i = 0; i < nparts; i++)
        release(&part[i]);
    release(&whole);
    return 0;
}
