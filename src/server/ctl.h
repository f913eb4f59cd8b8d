/* The control socket of a running server (a Unix socket in the data directory). */
#ifndef SK_CTL_H
#define SK_CTL_H

#include "server/server.h"

#define SK_CTL_SOCKET "ctl.sock"

struct sk_ctl;

/* Listen on path; commands are answered on a thread of their own. */
int sk_ctl_start(struct sk_ctl **cp, struct sk_server *s, const char *path);
void sk_ctl_stop(struct sk_ctl *c);

#endif
