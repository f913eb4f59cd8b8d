/* Socket helpers shared by net/udp.c and net/tcp.c (internal to src/net). */
#ifndef SK_NET_SOCK_H
#define SK_NET_SOCK_H

#include "net/addr.h"

/* n sockets of type (SOCK_DGRAM, SOCK_STREAM) bound to addr with SO_REUSEPORT,
 * non-blocking, listening when a stream. Port 0: the port the kernel picked for
 * the first, for all, written back to addr. 0, or an errno with nothing left open. */
int sk_sock_bind_all(struct sk_sa *addr, int type, unsigned n, int *fds);

#endif
