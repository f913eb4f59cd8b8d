/* Every parser limit, with its named default, in one place. */
#ifndef SIP_LIMITS_H
#define SIP_LIMITS_H

#include <stddef.h>

/* Hard capacity of the header index inside struct sip_msg. */
#define SIP_MSG_HDR_CAP 256

#define SIP_DEFAULT_MAX_MSG_SIZE 65535u /* whole message, headers + body (UDP datagram max) */
#define SIP_DEFAULT_MAX_HEADERS 200u    /* header fields (lines) per message, <= SIP_MSG_HDR_CAP */
#define SIP_DEFAULT_MAX_LINE_LEN 8192u  /* one header field including folded continuation lines */
#define SIP_DEFAULT_MAX_URI_LEN 2048u   /* one URI, in the start line or a header */
#define SIP_DEFAULT_MAX_BODY_SIZE 61440u /* message body (Content-Length) */
#define SIP_DEFAULT_MAX_LIST_ITEMS 64u  /* elements of one list (Vias, Contacts, Routes...) */

struct sip_limits {
    size_t max_msg_size;
    size_t max_headers;
    size_t max_line_len;
    size_t max_uri_len;
    size_t max_body_size;
    size_t max_list_items;
};

extern const struct sip_limits sip_limits_default;

#endif
