/* Re-INVITE rules of the user agent (RFC 3261 §14, RFC 3264 §8.4): pure functions that
 * call.c's hold, resume and glare handling uses, kept apart so they can be unit tested.
 */
#include "ua/reinvite.h"

uint32_t ua_glare_retry_ms(bool owns_call_id, uint64_t rnd)
{
    /* §14.1: "a randomly chosen value between 2.1 and 4 seconds in units of
     * 10 ms" for the owner, "between 0 and 2 seconds" for the other UAC */
    uint32_t lo = owns_call_id ? UA_GLARE_OWNER_MIN_MS : 0;
    uint32_t hi = owns_call_id ? UA_GLARE_OWNER_MAX_MS : UA_GLARE_OTHER_MAX_MS;
    uint32_t steps = (hi - lo) / 10u + 1u;
    return lo + (uint32_t) (rnd % steps) * 10u;
}

enum sdp_dir ua_offer_dir(bool local_hold, bool remote_hold)
{
    if (!local_hold) return SDP_DIR_SENDRECV;
    return remote_hold ? SDP_DIR_INACTIVE : SDP_DIR_SENDONLY;
}

enum sdp_dir ua_answer_dir(bool local_hold)
{
    return local_hold ? SDP_DIR_SENDONLY : SDP_DIR_SENDRECV;
}

bool ua_offer_holds(const struct sdp_neg *answered)
{
    return answered->active && answered->remote_hold;
}

enum ua_hold_change ua_hold_change(bool was_local, bool now_local, bool was_remote,
                                   bool now_remote)
{
    if (!was_local && now_local) return UA_HOLD_HELD;
    if (was_local && !now_local) return UA_HOLD_RESUMED;
    if (!was_remote && now_remote) return UA_HOLD_REMOTE_HOLD;
    if (was_remote && !now_remote) return UA_HOLD_REMOTE_RESUME;
    return UA_HOLD_NONE;
}
