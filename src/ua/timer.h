/* RFC 4028 session timers as pure functions: Session-Expires/Min-SE read from a message,
 * the interval and refresher the UAS and the UAC settle on, 422, and when to refresh or
 * give up. */
#ifndef UA_TIMER_H
#define UA_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/msg.h"

#define UA_SE_ABS_MIN 90u /* RFC 4028 §4: Min-SE is never below 90 s */

enum ua_refresher {
    UA_REFRESHER_NONE = 0, /* not given */
    UA_REFRESHER_UAC,
    UA_REFRESHER_UAS,
};

/* What a request or response says about session timers. */
struct ua_se_hdrs {
    bool has_se;
    uint32_t se;                 /* Session-Expires delta-seconds */
    enum ua_refresher refresher; /* its refresher parameter */
    bool has_min_se;
    uint32_t min_se;
    bool supported; /* Supported: timer */
    bool required;  /* Require: timer */
};

/* Read them from m. EBADMSG for a malformed Session-Expires or Min-SE (400). */
int ua_se_read(struct sip_msg *m, struct ua_se_hdrs *h);

struct ua_se_config {
    uint32_t session_expires; /* what we ask for / insert; 0 = we do not ask */
    uint32_t min_se;          /* the smallest we accept (>= 90) */
};

/* The outcome of a negotiation: is there a session timer, of what length, who refreshes.
 */
struct ua_se_result {
    int status;                  /* UAS: 0 = go on, 422 = reject (Min-SE: min_se) */
    uint32_t min_se;             /* with 422: what to put in Min-SE */
    bool active;                 /* a session timer runs */
    uint32_t interval;           /* seconds */
    enum ua_refresher refresher; /* uac or uas (the roles of the request) */
    bool require; /* UAS: put Require: timer in the 2xx (the UAC supports it) */
};

/* RFC 4028 §9: we are the UAS of a session refresh request (the initial INVITE, a
 * re-INVITE or an UPDATE) with headers h. */
void ua_se_uas(const struct ua_se_config *cfg, const struct ua_se_hdrs *h,
               struct ua_se_result *r);

/* RFC 4028 §7.2: we sent a session refresh request (asked: our Session-Expires, 0 =
 * none) and got this 2xx. */
void ua_se_uac_2xx(const struct ua_se_hdrs *resp, struct ua_se_result *r);

/* RFC 4028 §7.3: a 422 to our request: the Session-Expires to retry with (the larger of
 * its Min-SE and what we asked), or 0 when no retry makes sense (no or a bad Min-SE,
 * or not larger than what was asked already). */
uint32_t ua_se_after_422(const struct ua_se_hdrs *resp, uint32_t asked);

/* Is it us who refreshes? we_uac: we sent the request that set the timer. */
bool ua_se_we_refresh(const struct ua_se_result *r, bool we_uac);

/* §10: the refresher refreshes at half the interval; the other side sends a BYE at
 * interval - min(32, interval / 3) without a refresh. In milliseconds. */
uint64_t ua_se_refresh_ms(uint32_t interval);
uint64_t ua_se_expiry_ms(uint32_t interval);

/* "Session-Expires: N;refresher=X\r\n" (refresher omitted for NONE). */
int ua_se_line(char *buf, size_t size, uint32_t interval, enum ua_refresher refresher);

#endif
