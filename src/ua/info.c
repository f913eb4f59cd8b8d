/* DTMF in SIP INFO: the application/dtmf-relay and application/dtmf bodies parsed and answered, digits sent one INFO at a time. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ua/ua_int.h"

#define INFO_DURATION_MS 160u   /* what we send: the common tone length */
#define INFO_DURATION_MAX 60000u /* longer is not a key press */

static const char info_accept[] = "Accept: application/dtmf-relay, application/dtmf\r\n";

/* ---- The bodies (pure) ---- */

/* A DTMF key: one of 0-9 * # A-D, or its RFC 4733 §3.2 event code 0..15. */
static int dtmf_key(const char *p, size_t len, char *digit)
{
    static const char events[] = "0123456789*#ABCD";
    if (len == 1) {
        char ch = (char) toupper((unsigned char) p[0]);
        if (ch && strchr(events, ch)) {
            *digit = ch;
            return 0;
        }
        return EINVAL;
    }
    if (len == 2 && p[0] == '1' && p[1] >= '0' && p[1] <= '5') {
        *digit = events[10 + (p[1] - '0')];
        return 0;
    }
    return EINVAL;
}

static void trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t' || (*p)[*len - 1] == '\r'))
        (*len)--;
}

static int parse_ms(const char *p, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    if (len == 0)
        return EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return EINVAL;
        v = v * 10 + (uint32_t) (p[i] - '0');
        if (v > INFO_DURATION_MAX)
            return ERANGE;
    }
    *out = v;
    return 0;
}

/* "Signal=5\r\nDuration=160\r\n": lines of KEY=VALUE, keys without case, others ignored. */
int ua_dtmf_relay_parse(const char *p, size_t len, char *digit, uint32_t *duration_ms,
                        const char **why)
{
    const char *end = p + len;
    bool have_signal = false, have_duration = false;
    char d = 0;
    uint32_t ms = 0;

    *why = NULL;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t) (end - p));
        const char *line = p, *eq;
        size_t n = (size_t) ((eol ? eol : end) - p), klen, vlen;
        const char *val;

        p = eol ? eol + 1 : end;
        trim(&line, &n);
        if (n == 0)
            continue;
        if (!(eq = memchr(line, '=', n))) {
            *why = "a line without '='";
            return EINVAL;
        }
        klen = (size_t) (eq - line);
        val = eq + 1;
        vlen = n - klen - 1;
        trim(&line, &klen);
        trim(&val, &vlen);
        if (klen == 6 && strncasecmp(line, "Signal", 6) == 0) {
            if (have_signal) {
                *why = "Signal given twice";
                return EINVAL;
            }
            if (dtmf_key(val, vlen, &d)) {
                *why = "Signal is not a DTMF key";
                return EINVAL;
            }
            have_signal = true;
        } else if (klen == 8 && strncasecmp(line, "Duration", 8) == 0) {
            if (have_duration) {
                *why = "Duration given twice";
                return EINVAL;
            }
            if (parse_ms(val, vlen, &ms)) {
                *why = "Duration is not a number of ms up to 60000";
                return EINVAL;
            }
            have_duration = true;
        }
    }
    if (!have_signal) {
        *why = "no Signal";
        return EINVAL;
    }
    *digit = d;
    *duration_ms = ms;
    return 0;
}

/* "5" (with white space or a line end around it). */
int ua_dtmf_plain_parse(const char *p, size_t len, char *digit, const char **why)
{
    *why = NULL;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' ||
                   p[len - 1] == '\t'))
        len--;
    trim(&p, &len);
    if (dtmf_key(p, len, digit)) {
        *why = len ? "not a DTMF key" : "empty";
        return EINVAL;
    }
    return 0;
}

/* ---- Receiving ---- */

static bool ctype_is(const struct sip_ctype *ct, const char *type, const char *sub)
{
    return sk_str_ieq_cstr(ct->type, type) && sk_str_ieq_cstr(ct->subtype, sub);
}

void ua_info_request(struct ua *u, struct sip_txn *st, struct sip_rx *rx, unsigned id,
                     const char *peer)
{
    struct sip_msg *m = rx->msg;
    const struct sip_ctype *ct = NULL;
    size_t nct = 0;
    struct sip_error e;
    const char *why = NULL;
    char digit = 0, reason[96];
    uint32_t ms = 0;
    int err;

    if (m->body.len == 0) {
        /* an INFO without a body (a keep-alive some peers send): fine */
        ua_respond(u, st, rx, 200, NULL, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (sip_msg_ctypes(m, SIP_HDR_CONTENT_TYPE, &ct, &nct, &e) != 0 || nct == 0) {
        ua_respond(u, st, rx, 400, "Body Without a Content-Type", NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    if (ctype_is(&ct[0], "application", "dtmf-relay")) {
        err = ua_dtmf_relay_parse(m->body.p, m->body.len, &digit, &ms, &why);
    } else if (ctype_is(&ct[0], "application", "dtmf")) {
        err = ua_dtmf_plain_parse(m->body.p, m->body.len, &digit, &why);
    } else {
        /* RFC 3261 §21.4.13: a body we do not understand: 415 with what we take */
        ua_respond(u, st, rx, 415, NULL, NULL, info_accept, NULL, SK_STR_NULL);
        return;
    }
    if (err) {
        snprintf(reason, sizeof(reason), "Bad DTMF Body: %s", why ? why : "unreadable");
        ua_respond(u, st, rx, 400, reason, NULL, NULL, NULL, SK_STR_NULL);
        return;
    }
    ua_respond(u, st, rx, 200, NULL, NULL, NULL, NULL, SK_STR_NULL);
    {
        struct ua_event ev = {.type = UA_EV_DTMF, .call = id, .digit = digit,
                              .duration_ms = ms ? ms : INFO_DURATION_MS, .peer = peer};
        ua_emit(u, &ev);
    }
}

/* ---- Sending: one INFO per digit, the next once the last has its answer
 * (the peer sees them in CSeq order, none overtaking another) ---- */

struct ua_info_job {
    struct ua_info_job *next;
    struct ua *u;
    unsigned call;
    char digits[64];
    size_t pos, len;
    unsigned txns;                /* our INFO transactions not terminated yet */
    bool waiting;                 /* an INFO awaits its final answer */
};

static void job_free(struct ua_info_job *j)
{
    struct ua *u = j->u;
    for (struct ua_info_job **pp = &u->info_jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    free(j);
}

static void job_next(struct ua_info_job *j);

static void on_info_response(struct sip_txn *t, void *arg, struct sip_rx *rx, int status)
{
    struct ua_info_job *j = arg;
    (void) t;
    (void) rx;
    if (status < 200 || !j->waiting)
        return;
    j->waiting = false;
    if (status >= 300) {
        SK_WARN("call %u: INFO with DTMF answered %d: the digits left are dropped", j->call,
                status);
        j->pos = j->len;
    }
    job_next(j);
}

static void on_info_terminated(struct sip_txn *t, void *arg)
{
    struct ua_info_job *j = arg;
    sip_txn_unref(t);
    j->txns--;
    if (j->waiting) { /* ended without a final answer (shutdown) */
        j->waiting = false;
        j->pos = j->len;
    }
    if (j->txns == 0 && j->pos >= j->len)
        job_free(j);
}

static const struct sip_txn_user info_user = {on_info_response, on_info_terminated};

static void job_next(struct ua_info_job *j)
{
    struct ua *u = j->u;
    struct sip_txn *t = NULL;
    char body[64];

    while (j->pos < j->len && !j->waiting && !u->freeing) {
        int n = snprintf(body, sizeof(body), "Signal=%c\r\nDuration=%u\r\n", j->digits[j->pos++],
                         INFO_DURATION_MS);
        if (ua_call_send_in_dialog(u, j->call, "INFO", sk_str_cstr("application/dtmf-relay"),
                                   sk_str_make(body, (size_t) n), &info_user, j, &t) != 0) {
            j->pos = j->len; /* the call is gone: nothing more to send */
            break;
        }
        j->txns++;
        j->waiting = true;
    }
    if (j->txns == 0 && j->pos >= j->len)
        job_free(j);
}

int ua_info_send_dtmf(struct ua *u, unsigned id, const char *digits)
{
    struct ua_info_job *j;
    size_t n = strlen(digits);
    char d;

    if (!ua_call_confirmed(u, id))
        return EBUSY;
    for (size_t i = 0; i < n; i++)
        if (dtmf_key(&digits[i], 1, &d))
            return EINVAL;
    for (j = u->info_jobs; j; j = j->next)
        if (j->call == id && (j->pos < j->len || j->waiting))
            break;
    if (j) {
        /* digits typed while others are still going out: after them */
        if (j->len - j->pos + n > sizeof(j->digits) - 1)
            return E2BIG;
        memmove(j->digits, j->digits + j->pos, j->len - j->pos);
        j->len -= j->pos;
        j->pos = 0;
    } else {
        if (n > sizeof(((struct ua_info_job *) 0)->digits) - 1)
            return E2BIG;
        if (!(j = calloc(1, sizeof(*j))))
            return ENOMEM;
        j->u = u;
        j->call = id;
        j->next = u->info_jobs;
        u->info_jobs = j;
    }
    for (size_t i = 0; i < n; i++)
        dtmf_key(&digits[i], 1, &j->digits[j->len++]);
    job_next(j);
    return 0;
}

void ua_info_jobs_free(struct ua *u)
{
    while (u->info_jobs)
        job_free(u->info_jobs);
}
