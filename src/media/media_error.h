/* Parse errors of the media packet and file readers: a static reason and a position. */
#ifndef MEDIA_ERROR_H
#define MEDIA_ERROR_H

#include <errno.h>
#include <stddef.h>

struct media_error {
    const char *reason; /* static text naming the fault */
    size_t pos;         /* byte offset into the parsed input */
};

/* Record an error; returns EBADMSG so parsers can `return media_fail(...)`. */
static inline int media_fail(struct media_error *err, const char *reason, size_t pos)
{
    if (err) {
        err->reason = reason;
        err->pos = pos;
    }
    return EBADMSG;
}

#endif
