/* What the SDP parser, printer and offer/answer code share: where kept lines go. */
#ifndef SK_SDP_INT_H
#define SK_SDP_INT_H

#include "sdp/sdp.h"

/* Where a line kept as text is printed within its level (RFC 4566 §5 order:
 * v o s i u e p c b t r z k a at session level, m i c b k a in a media).
 * Unknown types go just before the a= lines. */
enum sdp_slot {
    SDP_SLOT_AFTER_S = 1, /* session i u e p; media i (after m=) */
    SDP_SLOT_AFTER_C,     /* a media's further c= lines */
    SDP_SLOT_AFTER_T,     /* r= after its t= */
    SDP_SLOT_AFTER_B,     /* session z k (after the times); media k */
    SDP_SLOT_UNKNOWN,
};

static inline enum sdp_slot sdp_line_slot(char type, unsigned level)
{
    switch (type) {
    case 'i': return SDP_SLOT_AFTER_S;
    case 'u':
    case 'e':
    case 'p': return level == 0 ? SDP_SLOT_AFTER_S : SDP_SLOT_UNKNOWN;
    case 'c': return SDP_SLOT_AFTER_C;
    case 'r': return SDP_SLOT_AFTER_T;
    case 'z': return level == 0 ? SDP_SLOT_AFTER_B : SDP_SLOT_UNKNOWN;
    case 'k': return SDP_SLOT_AFTER_B;
    default: return SDP_SLOT_UNKNOWN;
    }
}

/* The kept lines' indexes in the order they are printed: by level, slot, the t=
 * an r= follows, then as they came. Returns the count. */
unsigned sdp_lines_ordered(const struct sdp_session *s, uint8_t idx[SDP_MAX_LINES]);

#endif
