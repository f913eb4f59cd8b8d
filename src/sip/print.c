/* Printing SIP messages: builder functions and re-serialisation of a parsed message. */
#include "sip/print.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/scan.h"

const char *sip_reason_phrase(int code)
{
    switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 412: return "Conditional Request Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 422: return "Session Interval Too Small";
    case 423: return "Interval Too Brief";
    case 439: return "First Hop Lacks Outbound Support";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "Unknown";
    }
}

int sip_print_request_line(struct sk_buf *b, struct sk_str method, struct sk_str uri)
{
    sk_buf_put_str(b, method);
    sk_buf_putc(b, ' ');
    sk_buf_put_str(b, uri);
    return sk_buf_puts(b, " SIP/2.0\r\n");
}

int sip_print_status_line(struct sk_buf *b, int code, const char *reason)
{
    char line[16] = "SIP/2.0 000 ";

    if (code < 100 || code > 699)
        code = 500;
    line[8] = (char) ('0' + code / 100);
    line[9] = (char) ('0' + code / 10 % 10);
    line[10] = (char) ('0' + code % 10);
    sk_buf_append(b, line, 12);
    sk_buf_puts(b, reason ? reason : sip_reason_phrase(code));
    return sk_buf_append(b, "\r\n", 2);
}

/* Does v hold a CR or LF? Eight bytes at a time: a word with no byte below 0x0e
 * has neither (the has-less-than test is exact about whether any byte is). */
static inline bool has_line_break(struct sk_str v)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    uint64_t w;

    for (; i + 8 <= v.len; i += 8) {
        memcpy(&w, v.p + i, 8);
        if ((w - ones * 0x0e) & ~w & highs)
            break;
    }
    for (; i < v.len; i++) {
        if (v.p[i] == '\r' || v.p[i] == '\n')
            return true;
    }
    return false;
}

/* Header values are printed on one line: folded line breaks become one space, and
 * stray CR/LF (never valid outside folding) are dropped so no header can be injected. */
static int put_value(struct sk_buf *b, struct sk_str v)
{
    size_t i = 0;

    if (!has_line_break(v))
        return sk_buf_append(b, v.p, v.len); /* the usual case: one line */
    while (i < v.len) {
        /* copy the run up to the next line break in one go */
        size_t j = i;
        while (j < v.len && v.p[j] != '\r' && v.p[j] != '\n')
            j++;
        sk_buf_append(b, v.p + i, j - i);
        i = j;
        if (i < v.len) {
            while (i < v.len && (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == ' ' ||
                                 v.p[i] == '\t'))
                i++;
            if (i < v.len)
                sk_buf_putc(b, ' ');
        }
    }
    return b->failed ? ENOMEM : 0;
}

int sip_print_hdr_named(struct sk_buf *b, struct sk_str name, struct sk_str value)
{
    char *o;

    if (has_line_break(value)) {
        sk_buf_put_str(b, name);
        sk_buf_append(b, ": ", 2);
        put_value(b, value);
        return sk_buf_append(b, "\r\n", 2);
    }
    /* the usual one-line value: one reservation, straight copies */
    if (!(o = sk_buf_extend(b, name.len + value.len + 4)))
        return ENOMEM;
    if (name.len)
        memcpy(o, name.p, name.len);
    o += name.len;
    *o++ = ':';
    *o++ = ' ';
    if (value.len)
        memcpy(o, value.p, value.len);
    o += value.len;
    *o++ = '\r';
    *o = '\n';
    return 0;
}

int sip_print_hdr(struct sk_buf *b, enum sip_hdr_id id, struct sk_str value)
{
    return sip_print_hdr_named(b, sip_hdr_name_str(id), value);
}

int sip_print_hdrf(struct sk_buf *b, const char *name, const char *fmt, ...)
{
    va_list ap;
    char small[512], *text = small;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->failed = true, ENOMEM;
    if ((size_t) n >= sizeof(small)) {
        text = malloc((size_t) n + 1);
        if (!text)
            return b->failed = true, ENOMEM;
        va_start(ap, fmt);
        vsnprintf(text, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }
    rc = sip_print_hdr_named(b, sk_str_cstr(name), sk_str_make(text, (size_t) n));
    if (text != small)
        free(text);
    return rc;
}

int sip_print_content_length(struct sk_buf *b, size_t len)
{
    sk_buf_puts(b, "Content-Length: ");
    sk_buf_put_u64(b, len);
    return sk_buf_puts(b, "\r\n");
}

int sip_print_body(struct sk_buf *b, struct sk_str ctype, struct sk_str body)
{
    if (body.len && ctype.len)
        sip_print_hdr(b, SIP_HDR_CONTENT_TYPE, ctype);
    sk_buf_append(b, "Content-Length: ", 16);
    sk_buf_put_u64(b, body.len);
    sk_buf_append(b, "\r\n\r\n", 4);
    return sk_buf_append(b, body.p, body.len);
}

int sip_msg_print(const struct sip_msg *m, struct sk_buf *out)
{
    bool cl_done = false;

    if (m->is_request) {
        sk_buf_put_str(out, m->method);
        sk_buf_putc(out, ' ');
        sk_buf_put_str(out, m->ruri_raw);
        sk_buf_putc(out, ' ');
        sk_buf_put_str(out, m->version);
        sk_buf_puts(out, "\r\n");
    } else {
        sk_buf_put_str(out, m->version);
        sk_buf_putc(out, ' ');
        if (m->status >= 0 && m->status < 100)
            sk_buf_puts(out, m->status < 10 ? "00" : "0");
        sk_buf_put_u64(out, (uint64_t) (m->status < 0 ? 0 : m->status));
        sk_buf_putc(out, ' ');
        sk_buf_put_str(out, m->reason);
        sk_buf_puts(out, "\r\n");
    }
    for (size_t i = 0; i < m->nhdr; i++) {
        const struct sip_hdr *h = &m->hdr[i];
        struct sk_str name = h->id == SIP_HDR_OTHER ? h->name : sk_str_cstr(sip_hdr_name(h->id));
        if (h->id == SIP_HDR_CONTENT_LENGTH) {
            /* Content-Length always states the body we print. */
            sip_print_content_length(out, m->body.len);
            cl_done = true;
            continue;
        }
        sip_print_hdr_named(out, name, h->value);
    }
    if (!cl_done)
        sip_print_content_length(out, m->body.len);
    sk_buf_puts(out, "\r\n");
    return sk_buf_append(out, m->body.p, m->body.len);
}

int sip_print_via(struct sk_buf *b, const struct sip_via *v, const struct sk_sa *received)
{
    struct sk_str rest = v->params, n, val;
    char ip[64];
    bool add_received = false;

    sk_buf_put_str(b, v->protocol);
    sk_buf_putc(b, '/');
    sk_buf_put_str(b, v->version);
    sk_buf_putc(b, '/');
    sk_buf_put_str(b, v->transport);
    sk_buf_putc(b, ' ');
    if (v->host_type == SIP_HOST_IPV6) {
        sk_buf_putc(b, '[');
        sk_buf_put_str(b, v->host);
        sk_buf_putc(b, ']');
    } else {
        sk_buf_put_str(b, v->host);
    }
    if (v->has_port) {
        sk_buf_putc(b, ':');
        sk_buf_put_u64(b, v->port);
    }
    if (received) {
        struct sk_sa host, src = *received;
        sk_sa_ip(received, ip, sizeof(ip));
        /* §18.2.1: received when sent-by is a name or another address;
         * RFC 3581 §4: always when rport was asked for */
        if (v->has_rport || v->host_type == SIP_HOST_NAME || sk_sa_from_ip(&host, v->host, 0)) {
            add_received = true;
        } else {
            sk_sa_set_port(&src, 0);
            add_received = !sk_sa_equal(&host, &src);
        }
    }
    while (sip_param_next(&rest, &n, &val)) {
        if (received && (sk_str_ieq_cstr(n, "received") ||
                         (sk_str_ieq_cstr(n, "rport") && v->has_rport)))
            continue; /* replaced below */
        sk_buf_putc(b, ';');
        sk_buf_put_str(b, n);
        if (sk_str_isset(val)) {
            bool quoted = val.p > v->params.p && val.p[-1] == '"';
            sk_buf_putc(b, '=');
            if (quoted)
                sk_buf_putc(b, '"');
            sk_buf_put_str(b, val);
            if (quoted)
                sk_buf_putc(b, '"');
        }
    }
    if (received) {
        if (add_received) {
            sk_buf_append(b, ";received=", 10);
            sk_buf_puts(b, ip);
        }
        if (v->has_rport) {
            sk_buf_append(b, ";rport=", 7);
            sk_buf_put_u64(b, sk_sa_port(received));
        }
    }
    return b->failed ? ENOMEM : 0;
}

/* The top Via of a response. When there is no received to replace and rport, if
 * asked for, has no value yet, the via-parm goes out as it came: "=port" written
 * after the ;rport name, ;received appended if rport was asked for or the source
 * differs from sent-by. Otherwise sip_print_via rebuilds it. */
static void print_top_via(struct sk_buf *b, const struct sip_via *v, const struct sk_sa *received)
{
    const char *raw_end = v->raw.p + v->raw.len;
    char ip[64];
    struct sk_sa host, src;
    bool add;

    if (!received || sk_str_isset(v->received) || v->raw.len == 0 ||
        (v->has_rport && (v->rport_has_value || !v->rport_end || v->rport_end < v->raw.p ||
                          v->rport_end > raw_end))) {
        sip_print_via(b, v, received);
        return;
    }
    if (v->has_rport) {
        /* RFC 3581 §4: the source port in rport, and received even when it
         * equals sent-by */
        size_t k = (size_t) (v->rport_end - v->raw.p);
        put_value(b, sk_str_make(v->raw.p, k));
        sk_buf_putc(b, '=');
        sk_buf_put_u64(b, sk_sa_port(received));
        put_value(b, sk_str_make(v->rport_end, v->raw.len - k));
        sk_buf_append(b, ";received=", 10);
        sk_buf_puts(b, sk_sa_ip(received, ip, sizeof(ip)));
        return;
    }
    if (v->host_type == SIP_HOST_IPV4 && received->u.sa.sa_family == AF_INET) {
        /* the usual case, compared without text: the parser has sent-by's address */
        add = received->u.in.sin_addr.s_addr != htonl(v->ip4);
    } else if (v->host_type == SIP_HOST_NAME) {
        add = true;
    } else if (sk_sa_from_ip(&host, v->host, 0)) {
        add = true;
    } else {
        src = *received;
        sk_sa_set_port(&src, 0);
        add = !sk_sa_equal(&host, &src);
    }
    put_value(b, v->raw);
    if (add) {
        sk_buf_append(b, ";received=", 10);
        sk_buf_puts(b, sk_sa_ip(received, ip, sizeof(ip)));
    }
}

int sip_print_response_head(struct sk_buf *b, const struct sip_msg *req, int code,
                            const char *reason, struct sk_str to_tag)
{
    return sip_print_response_head_rx(b, req, NULL, NULL, code, reason, to_tag);
}

int sip_print_response_head_rx(struct sk_buf *b, const struct sip_msg *req,
                               const struct sip_via *top_via, const struct sk_sa *received,
                               int code, const char *reason, struct sk_str to_tag)
{
    const struct sip_hdr *h;

    sip_print_status_line(b, code, reason);
    for (h = sip_msg_hdr(req, SIP_HDR_VIA); h; h = sip_msg_hdr_next(req, h)) {
        if (h == sip_msg_hdr(req, SIP_HDR_VIA) && top_via) {
            /* the top via-parm with received/rport (RFC 3261 §18.2.1, RFC 3581) */
            const char *p = h->value.p, *end = h->value.p + h->value.len;
            struct sip_via v;
            sk_buf_append(b, "Via: ", 5);
            print_top_via(b, top_via, received);
            sk_buf_append(b, "\r\n", 2);
            if (top_via->raw.p >= p && top_via->raw.p + top_via->raw.len <= end) {
                /* the via-parms after it: no need to parse the top one again */
                p = sc_skip_ws(top_via->raw.p + top_via->raw.len, end);
                if (p < end && *p == ',')
                    p = sc_skip_ws(p + 1, end);
            } else if (sip_parse_via(&p, end, &v, NULL) != 0) {
                p = end;
            }
            if (p < end)
                sip_print_hdr(b, SIP_HDR_VIA, sk_str_make(p, (size_t) (end - p)));
            continue;
        }
        sip_print_hdr(b, SIP_HDR_VIA, h->value);
    }
    if ((h = sip_msg_hdr(req, SIP_HDR_FROM)))
        sip_print_hdr(b, SIP_HDR_FROM, h->value);
    if ((h = sip_msg_hdr(req, SIP_HDR_TO))) {
        sk_buf_puts(b, "To: ");
        put_value(b, h->value);
        /* RFC 3261 §8.2.6.2: add a tag unless the request already had one (or for 100) */
        if (to_tag.len && !(req->has_to && sk_str_isset(req->to.tag)) && code > 100) {
            sk_buf_puts(b, ";tag=");
            sk_buf_put_str(b, to_tag);
        }
        sk_buf_puts(b, "\r\n");
    }
    if ((h = sip_msg_hdr(req, SIP_HDR_CALL_ID)))
        sip_print_hdr(b, SIP_HDR_CALL_ID, h->value);
    if ((h = sip_msg_hdr(req, SIP_HDR_CSEQ)))
        sip_print_hdr(b, SIP_HDR_CSEQ, h->value);
    /* RFC 3261 §8.2.6.1: a 100 Trying echoes Timestamp */
    if (code == 100 && (h = sip_msg_hdr(req, SIP_HDR_TIMESTAMP)))
        sip_print_hdr(b, SIP_HDR_TIMESTAMP, h->value);
    return b->failed ? ENOMEM : 0;
}
