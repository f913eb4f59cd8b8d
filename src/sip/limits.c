/* Default parser limits and the error phrase helper. */
#include "sip/limits.h"

#include <stdio.h>

#include "sip/error.h"

const struct sip_limits sip_limits_default = {
    .max_msg_size = SIP_DEFAULT_MAX_MSG_SIZE,
    .max_headers = SIP_DEFAULT_MAX_HEADERS,
    .max_line_len = SIP_DEFAULT_MAX_LINE_LEN,
    .max_uri_len = SIP_DEFAULT_MAX_URI_LEN,
    .max_body_size = SIP_DEFAULT_MAX_BODY_SIZE,
    .max_list_items = SIP_DEFAULT_MAX_LIST_ITEMS,
};

const char *sip_error_phrase(const struct sip_error *err, char *buf, size_t size)
{
    const char *reason = err->reason ? err->reason : "Malformed message";
    if (err->where)
        snprintf(buf, size, "Bad %s: %s", err->where, reason);
    else
        snprintf(buf, size, "%s", reason);
    return buf;
}
