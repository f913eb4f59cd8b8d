/* The audit log of sipkit serve: one JSON object per line (registrations, failed logins,
 * blocks), appended to a file that is rotated by size. */
#ifndef SK_AUDIT_H
#define SK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "net/addr.h"

#define SK_AUDIT_MAX_BYTES (10u << 20) /* then audit.log becomes audit.log.1 */
#define SK_AUDIT_KEEP 3                /* audit.log.1 .. audit.log.3 are kept */

struct sk_audit;

/* Opens (appends to) path; max_bytes 0 = never rotate. */
int sk_audit_open(struct sk_audit **ap, const char *path, size_t max_bytes,
                  unsigned keep);
void sk_audit_close(struct sk_audit *a);

/* Each call writes one whole line; any thread. a NULL: nothing. Strings are
 * JSON-escaped (a CR, LF or quote from a header stays inside its string). */
void sk_audit_register(struct sk_audit *a, struct sk_str aor, const struct sk_sa *src,
                       struct sk_str user_agent, unsigned contacts, bool removed);
void sk_audit_auth_failed(struct sk_audit *a, struct sk_str user, struct sk_str realm,
                          const struct sk_sa *src, const char *method,
                          const char *reason);
void sk_audit_block(struct sk_audit *a, const struct sk_sa *src, const char *rule,
                    uint32_t seconds);
void sk_audit_unblock(struct sk_audit *a, const struct sk_sa *src, const char *by);

#endif
