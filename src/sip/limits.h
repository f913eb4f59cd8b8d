/* Every parser and server limit, with its named default, in one place. */
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

/* The parser limits above as an initializer, for the const configs that embed
 * a struct sip_limits (sip_limits_default, the transport's defaults). */
#define SIP_LIMITS_DEFAULT_INIT                                                          \
    {                                                                                    \
        .max_msg_size = SIP_DEFAULT_MAX_MSG_SIZE, .max_headers = SIP_DEFAULT_MAX_HEADERS, \
        .max_line_len = SIP_DEFAULT_MAX_LINE_LEN, .max_uri_len = SIP_DEFAULT_MAX_URI_LEN, \
        .max_body_size = SIP_DEFAULT_MAX_BODY_SIZE,                                      \
        .max_list_items = SIP_DEFAULT_MAX_LIST_ITEMS,                                    \
    }

/* Server limits with their defaults, read by the config defaults (registrar,
 * transport, location service) and by sipkit serve's help. */
#define SIP_DEFAULT_EXPIRES 3600u              /* registration expiry when none is asked */
#define SIP_DEFAULT_MIN_EXPIRES 60u            /* shorter: 423 Interval Too Brief (§10.3 step 7) */
#define SIP_DEFAULT_MAX_EXPIRES 86400u         /* longer ones are shortened to this */
#define SIP_DEFAULT_MAX_BINDINGS_PER_AOR 32    /* contacts of one address-of-record */
#define SIP_DEFAULT_TCP_MAX_CONNS 4096u        /* TCP connections in all */
#define SIP_DEFAULT_TCP_MAX_CONNS_PER_IP 256u  /* TCP connections from one address */
#define SIP_DEFAULT_TCP_IDLE_S 300u            /* an idle TCP connection is closed after */
#define SIP_UDP_BATCH_MAX 16u                  /* datagrams per recvmmsg/sendmmsg, and the default */

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
