/* Transport protocol names, the response destination rules of RFC 3261 §18.2.2 / RFC 3581, Via branches. */
#include "sip/tp.h"

#include <errno.h>
#include <string.h>

#include "base/buf.h"
#include "base/rand.h"
#include "sip/msg.h"

const char *sip_proto_name(enum sip_proto p)
{
    switch (p) {
    case SIP_PROTO_TCP: return "TCP";
    case SIP_PROTO_TLS: return "TLS";
    case SIP_PROTO_WS: return "WS";
    case SIP_PROTO_WSS: return "WSS";
    default: return "UDP";
    }
}

int sip_proto_from_str(struct sk_str name, enum sip_proto *p)
{
    if (sk_str_ieq_cstr(name, "udp"))
        *p = SIP_PROTO_UDP;
    else if (sk_str_ieq_cstr(name, "tcp"))
        *p = SIP_PROTO_TCP;
    else if (sk_str_ieq_cstr(name, "tls"))
        *p = SIP_PROTO_TLS;
    else if (sk_str_ieq_cstr(name, "ws"))
        *p = SIP_PROTO_WS;
    else if (sk_str_ieq_cstr(name, "wss"))
        *p = SIP_PROTO_WSS; /* a Via's; in URIs RFC 7118 writes sips:...;transport=ws */
    else
        return EPROTONOSUPPORT;
    return 0;
}

/* RFC 3261 §18.2.2 with RFC 3581: where the responses to a request go. */
int sip_response_dest(const struct sip_rx *rx, struct sip_dest *d)
{
    const struct sip_via *v = &rx->msg->via;
    uint16_t port = v->has_port ? v->port : sip_proto_default_port(rx->proto);

    memset(d, 0, sizeof(*d));
    d->proto = rx->proto;
    if (!rx->msg->has_via)
        return EINVAL;
    if (sip_proto_reliable(rx->proto)) {
        /* the connection the request came on; if it is gone, the transport
         * connects to the source address and the sent-by port */
        d->conn = rx->conn;
        d->addr = rx->src;
        if (!v->has_rport)
            sk_sa_set_port(&d->addr, port);
        return 0;
    }
    if (sk_str_isset(v->maddr)) {
        /* maddr: send there, to the sent-by port */
        if (sk_sa_from_ip(&d->addr, v->maddr, port) == 0)
            return 0;
        /* a maddr that is a name would need DNS (RFC 3263): fall back to the source */
    }
    d->addr = rx->src; /* received = the source address */
    if (!v->has_rport)
        sk_sa_set_port(&d->addr, port);
    return 0;
}

void sip_branch_print(char *buf, size_t size, const char *prefix, uint64_t a, uint64_t b,
                      unsigned b_digits)
{
    size_t n = strlen(prefix);

    if (b_digits > 16)
        b_digits = 16;
    if (size < n + 16 + b_digits + 1) {
        if (size)
            buf[0] = '\0';
        return;
    }
    memcpy(buf, prefix, n);
    sk_hex(buf + n, a, 16);
    sk_hex(buf + n + 16, b, b_digits);
    buf[n + 16 + b_digits] = '\0';
}

void sip_branch_new(char *buf, size_t size)
{
    /* 96 random bits after the cookie (§8.1.1.7: unique in space and time) */
    sip_branch_print(buf, size, "z9hG4bK", sk_rand64(), sk_rand64() >> 32, 8);
}
