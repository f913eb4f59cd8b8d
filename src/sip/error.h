/* Parse and validation errors: the SIP status to answer with, a reason phrase and a position. */
#ifndef SIP_ERROR_H
#define SIP_ERROR_H

#include <errno.h>
#include <stddef.h>

struct sip_error {
    int status;         /* response a server should send: 400, 505, 416, 413, 420 ... */
    const char *reason; /* static text fit for a reason phrase, names the fault */
    size_t pos;         /* byte offset into the message (or the parsed input) */
    const char *where;  /* what was being parsed: "Request-Line", "Via", "CSeq"... or NULL */
};

/* "Bad Via: <reason>" (or just the reason when where is unset), fit for a
 * reason phrase; returns buf. */
const char *sip_error_phrase(const struct sip_error *err, char *buf, size_t size);

/* Record an error; returns EBADMSG so parsers can `return sip_fail(...)`. */
static inline int sip_fail(struct sip_error *err, int status, const char *reason, size_t pos)
{
    if (err) {
        err->status = status;
        err->reason = reason;
        err->pos = pos;
        err->where = NULL;
    }
    return EBADMSG;
}

#endif
