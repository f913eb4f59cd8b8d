/* libFuzzer target: the DTMF-in-INFO body parsers (application/dtmf-relay, application/dtmf). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ua/ua_int.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_key(char d)
{
    return d && strchr("0123456789*#ABCD", d) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact copy: ASan catches a read past the body */
    char *p = malloc(size ? size : 1);
    char d = 0;
    uint32_t ms = 0;
    const char *why = NULL;
    int rc;

    if (!p)
        return 0;
    memcpy(p, data, size);
    rc = ua_dtmf_relay_parse(p, size, &d, &ms, &why);
    if (rc == 0) {
        CHECK(is_key(d), "dtmf-relay: a digit that is not a key");
        CHECK(ms <= 60000, "dtmf-relay: a duration over the limit");
        CHECK(why == NULL, "dtmf-relay: a reason with success");
    } else {
        CHECK(rc == EINVAL && why && why[0], "dtmf-relay: a refusal without a reason");
    }
    d = 0;
    rc = ua_dtmf_plain_parse(p, size, &d, &why);
    if (rc == 0)
        CHECK(is_key(d), "dtmf: a digit that is not a key");
    else
        CHECK(rc == EINVAL && why && why[0], "dtmf: a refusal without a reason");
    free(p);
    return 0;
}
