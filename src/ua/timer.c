/* RFC 4028 session timers: reading the headers, the UAS's and the UAC's choice of
 * interval and refresher, 422 handling and the two deadlines (pure functions). */
#include "ua/timer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ua/prack.h"

static bool tokens_have(struct sip_msg *m, enum sip_hdr_id id, const char *tag)
{
    const struct sk_str *t;
    size_t n;
    struct sip_error e;
    if (m->count[id] == 0 || sip_msg_tokens(m, id, &t, &n, &e) != 0) return false;
    return ua_opt_has(t, n, tag);
}

int ua_se_read(struct sip_msg *m, struct ua_se_hdrs *h)
{
    const struct sip_session_expires *se;
    struct sip_error e;
    int rc;

    memset(h, 0, sizeof(*h));
    h->supported = tokens_have(m, SIP_HDR_SUPPORTED, "timer");
    h->required = tokens_have(m, SIP_HDR_REQUIRE, "timer");
    rc = sip_msg_session_expires(m, &se, &e);
    if (rc == 0) {
        /* §4: delta-seconds, 0 is meaningless as an interval */
        if (se->delta == 0) return EBADMSG;
        h->has_se = true;
        h->se = se->delta;
        if (sk_str_ieq_cstr(se->refresher, "uac"))
            h->refresher = UA_REFRESHER_UAC;
        else if (sk_str_ieq_cstr(se->refresher, "uas"))
            h->refresher = UA_REFRESHER_UAS;
        else if (sk_str_isset(se->refresher))
            return EBADMSG;
    } else if (rc != ENOENT) {
        return EBADMSG;
    }
    rc = sip_msg_uint(m, SIP_HDR_MIN_SE, &h->min_se, &e);
    if (rc == 0)
        h->has_min_se = true;
    else if (rc != ENOENT)
        return EBADMSG;
    return 0;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

void ua_se_uas(const struct ua_se_config *cfg, const struct ua_se_hdrs *h,
               struct ua_se_result *r)
{
    uint32_t our_min = max_u32(cfg->min_se, UA_SE_ABS_MIN);
    /* §5: the request's Min-SE is a floor too (proxies raised it) */
    uint32_t floor = max_u32(our_min, h->has_min_se ? h->min_se : 0);

    memset(r, 0, sizeof(*r));
    if (h->has_se) {
        if (h->se < our_min) {
            if (h->supported) {
                /* §9: too small, and the UAC can retry: 422 with our minimum */
                r->status = 422;
                r->min_se = floor;
                return;
            }
            /* the UAC does not know 422 (a proxy put the header in): take our minimum */
            r->interval = floor;
        } else {
            r->interval = h->se;
            /* §9: the UAS may lower it, but not below Min-SE */
            if (cfg->session_expires && cfg->session_expires < r->interval)
                r->interval = max_u32(cfg->session_expires, floor);
        }
    } else if (cfg->session_expires) {
        /* §9: no Session-Expires asked for, but we want one */
        r->interval = max_u32(cfg->session_expires, floor);
    } else {
        return; /* no session timer */
    }
    r->active = true;
    /* §9: a refresher the request chose stays; else, when the UAC supports timers,
     * the UAS picks (we let the UAC refresh, it sent the request); when it does not,
     * only we can refresh */
    if (h->refresher != UA_REFRESHER_NONE && h->supported)
        r->refresher = h->refresher;
    else if (h->supported)
        r->refresher = UA_REFRESHER_UAC;
    else
        r->refresher = UA_REFRESHER_UAS;
    /* §9: Require: timer in the 2xx when the UAC supports it */
    r->require = h->supported;
}

void ua_se_uac_2xx(const struct ua_se_hdrs *resp, struct ua_se_result *r)
{
    memset(r, 0, sizeof(*r));
    /* §7.2: "If the 2xx response did not contain a Session-Expires header field,
     * there is no session expiration" */
    if (!resp->has_se) return;
    r->active = true;
    r->interval = resp->se;
    /* §7.2: a Session-Expires without refresher (the UAS does not support timers and a
     * proxy added it): the UAC refreshes */
    r->refresher =
        resp->refresher == UA_REFRESHER_UAS ? UA_REFRESHER_UAS : UA_REFRESHER_UAC;
}

uint32_t ua_se_after_422(const struct ua_se_hdrs *resp, uint32_t asked)
{
    if (!resp->has_min_se || resp->min_se < UA_SE_ABS_MIN) return 0;
    /* §7.3: the retry's Session-Expires is the 422's Min-SE (never lower than asked) */
    uint32_t next = max_u32(resp->min_se, asked);
    return next > asked ? next : 0;
}

bool ua_se_we_refresh(const struct ua_se_result *r, bool we_uac)
{
    if (!r->active) return false;
    return (r->refresher == UA_REFRESHER_UAC) == we_uac;
}

uint64_t ua_se_refresh_ms(uint32_t interval)
{
    /* §10: "the refresher SHOULD send a refresh at half the session interval" */
    return (uint64_t) interval * 500u;
}

uint64_t ua_se_expiry_ms(uint32_t interval)
{
    /* §10: BYE "before the session expiration ... the minimum of 32 seconds and one
     * third of the session interval" */
    uint32_t early = interval / 3u < 32u ? interval / 3u : 32u;
    return (uint64_t) (interval - early) * 1000u;
}

int ua_se_line(char *buf, size_t size, uint32_t interval, enum ua_refresher refresher)
{
    int n = snprintf(buf, size, "Session-Expires: %u%s\r\n", interval,
                     refresher == UA_REFRESHER_UAC   ? ";refresher=uac"
                     : refresher == UA_REFRESHER_UAS ? ";refresher=uas"
                                                     : "");
    return n < 0 || (size_t) n >= size ? ENOSPC : 0;
}
