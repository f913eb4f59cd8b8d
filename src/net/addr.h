/* Socket addresses of either family (IPv4, IPv6): the one address type of the transports and above. */
#ifndef SK_NET_ADDR_H
#define SK_NET_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/str.h"

/* A socket address of either family: IPv4 or IPv6 only, so no sockaddr_storage
 * (128 bytes): transactions, connections and received messages each hold one.
 * Pass sizeof(x.u) as the capacity to accept/recvmsg/getsockname. */
struct sk_sa {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

/* "127.0.0.1" / "::1" into buf; returns buf. */
const char *sk_sa_ip(const struct sk_sa *a, char *buf, size_t size);
uint16_t sk_sa_port(const struct sk_sa *a);
void sk_sa_set_port(struct sk_sa *a, uint16_t port);
/* Parse a literal IPv4/IPv6 address (IPv6 without brackets) and a port. */
int sk_sa_from_ip(struct sk_sa *a, struct sk_str ip, uint16_t port);
bool sk_sa_equal(const struct sk_sa *a, const struct sk_sa *b);
/* "1.2.3.4:5060" or "[::1]:5060" */
const char *sk_sa_str(const struct sk_sa *a, char *buf, size_t size);

#endif
