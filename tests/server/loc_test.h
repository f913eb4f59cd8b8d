/* Test helpers shared by the location service's tests: a Contact and a REGISTER as the registrar hands them over. */
#ifndef SIPKIT_TESTS_LOC_TEST_H
#define SIPKIT_TESTS_LOC_TEST_H

#include <string.h>

#include "server/location.h"
#include "testutil.h"

/* A plain contact: no q, no header parameters, no outbound flow. */
static inline struct sk_loc_contact contact(const char *uri, uint32_t expires)
{
    struct sk_loc_contact c;

    memset(&c, 0, sizeof(c));
    c.uri = sk_str_cstr(uri);
    c.params = SK_STR_LIT("");
    c.q = -1;
    c.expires = expires;
    return c;
}

/* A REGISTER over UDP from 127.0.0.1:5060 (tests change proto and src as they need). */
static inline struct sk_loc_reg reg(const char *aor, const char *call_id, uint32_t cseq)
{
    struct sk_loc_reg r;

    memset(&r, 0, sizeof(r));
    r.aor = aor;
    r.call_id = sk_str_cstr(call_id);
    r.cseq = cseq;
    r.proto = SIP_PROTO_UDP;
    assert_int_equal(sk_sa_from_ip(&r.src, SK_STR_LIT("127.0.0.1"), 5060), 0);
    return r;
}

#endif
