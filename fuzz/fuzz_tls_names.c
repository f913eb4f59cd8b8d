/* libFuzzer target: the RFC 5922 certificate name check over arbitrary DER certificates.
 */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/tls.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each pair must give the same answer: case (RFC 4343), the absolute form, the IPv6
 * reference form and an equal IPv6 spelling. */
static const char *const same[][2] = {
    {"sip.a.test", "SIP.A.TEST"},
    {"sip.a.test", "sip.a.test."},
    {"a.test", "A.Test."},
    {"::1", "[::1]"},
    {"::1", "0:0::1"},
    {"127.0.0.1", "127.0.0.1"},
    {"*.a.test", "*.A.TEST"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = dup_exact(data, size);
    const unsigned char *p = copy;
    X509 *x = d2i_X509(NULL, &p, (long) size);

    ERR_clear_error();
    if (x) {
        for (size_t i = 0; i < NELEM(same); i++) {
            bool a = sk_tls_name_match(x, same[i][0]);
            bool b = sk_tls_name_match(x, same[i][1]);
            CHECK(a == b, "equal names matched differently");
        }
        CHECK(!sk_tls_name_match(x, ""), "empty target matched");
        CHECK(!sk_tls_name_match(x, NULL), "NULL target matched");
        CHECK(ERR_peek_error() == 0, "OpenSSL error queue left non-empty");
        X509_free(x);
    }
    CHECK(!sk_tls_name_match(NULL, "sip.a.test"), "no certificate matched");
    ERR_clear_error();
    free(copy);
    return 0;
}
