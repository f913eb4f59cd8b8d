/* libFuzzer target: DNS response parsing (sk_dns_parse) for every record type we ask
 * for: never reads out of bounds, never more records than room, names terminated. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/dns.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum sk_dns_type types[] = {SK_DNS_A, SK_DNS_AAAA, SK_DNS_SRV, SK_DNS_NAPTR};
    struct sk_dns_rr rr[4];

    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        uint32_t neg;
        int n = sk_dns_parse(data, size, types[t], rr, 4, &neg);
        CHECK(n >= -1 && n <= 4, "more records than room");
        for (int i = 0; i < n; i++) {
            CHECK(rr[i].type == types[t], "a record of another type");
            if (types[t] == SK_DNS_SRV)
                CHECK(memchr(rr[i].u.srv.target, 0, sizeof(rr[i].u.srv.target)) != NULL,
                      "SRV target not terminated");
            if (types[t] == SK_DNS_NAPTR)
                CHECK(memchr(rr[i].u.naptr.replacement, 0, SK_DNS_NAME_MAX) &&
                          memchr(rr[i].u.naptr.flags, 0, sizeof(rr[i].u.naptr.flags)) &&
                          memchr(rr[i].u.naptr.service, 0, sizeof(rr[i].u.naptr.service)),
                      "NAPTR string not terminated");
        }
    }
    return 0;
}
