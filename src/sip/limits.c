/* Default parser limits and the error phrase helper. */
#include "sip/limits.h"

#include <stdio.h>

#include "sip/error.h"

const struct sip_limits sip_limits_default = SIP_LIMITS_DEFAULT_INIT;

const char *sip_error_phrase(const struct sip_error *err, char *buf, size_t size)
{
    const char *reason = err->reason ? err->reason : "Malformed message";
    if (err->where)
        snprintf(buf, size, "Bad %s: %s", err->where, reason);
    else
        snprintf(buf, size, "%s", reason);
    return buf;
}
