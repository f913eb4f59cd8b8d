/* Re-INVITE rules of the user agent as pure functions: the direction we offer for hold
 * and resume, what a completed exchange means for the user, and the glare retry timer. */
#ifndef UA_REINVITE_H
#define UA_REINVITE_H

#include <stdbool.h>
#include <stdint.h>

#include "sdp/sdp.h"

/* RFC 3261 §14.1: after a 491 the UAC that owns the Call-ID (it sent the
 * initial INVITE) waits 2.1..4 s, the other 0..2 s, in 10 ms steps. */
#define UA_GLARE_OWNER_MIN_MS 2100u
#define UA_GLARE_OWNER_MAX_MS 4000u
#define UA_GLARE_OTHER_MAX_MS 2000u

/* The wait before retrying a re-INVITE that got 491; rnd is any random number
 * (the choice is uniform over the 10 ms steps of the range for a uniform rnd). */
uint32_t ua_glare_retry_ms(bool owns_call_id, uint64_t rnd);

/* The direction of our offer (RFC 3264 §8.4, RFC 6337 §5.3): sendrecv when we
 * do not hold; sendonly to hold; inactive to hold while the peer holds us. */
enum sdp_dir ua_offer_dir(bool local_hold, bool remote_hold);

/* The direction we answer with: our own wish, narrowed by sdp_answer_new to what the
 * offer allows (§6.1: sendonly -> recvonly, inactive -> inactive). */
enum sdp_dir ua_answer_dir(bool local_hold);

/* Does a direction offered by the peer hold us (it does not want our media:
 * sendonly, inactive, or the RFC 2543 c=0.0.0.0, which sdp_neg.remote_hold
 * already folds in)? */
bool ua_offer_holds(const struct sdp_neg *answered);

/* What a completed exchange changed, for the user's events. */
enum ua_hold_change {
    UA_HOLD_NONE = 0,
    UA_HOLD_HELD,          /* our hold was accepted */
    UA_HOLD_RESUMED,       /* our resume was accepted */
    UA_HOLD_REMOTE_HOLD,   /* the peer put us on hold */
    UA_HOLD_REMOTE_RESUME, /* the peer took us off hold */
};

/* From the hold flags before (was_*) and after (now_*) an exchange. A local
 * and a remote change at once cannot happen: one side offers each time. */
enum ua_hold_change ua_hold_change(bool was_local, bool now_local, bool was_remote,
                                   bool now_remote);

#endif
