/* Message-level checks the transaction layer relies on (RFC 3261 §8.1.1, §8.2.2, §18.3). */
#include "sip/msg.h"

static int vfail(const struct sip_msg *m, struct sip_error *err, int status, const char *where,
                 const char *reason, const char *at)
{
    sip_fail(err, status, reason, at ? sip_msg_offset(m, at) : 0);
    if (err)
        err->where = where;
    return EBADMSG;
}

/* Headers that must appear exactly once (Via at least once) in every message. */
static const enum sip_hdr_id required[] = {SIP_HDR_VIA, SIP_HDR_FROM, SIP_HDR_TO,
                                           SIP_HDR_CALL_ID, SIP_HDR_CSEQ};
/* Headers that may appear at most once: a second one makes the message ambiguous. */
static const enum sip_hdr_id at_most_once[] = {
    SIP_HDR_FROM,           SIP_HDR_TO,           SIP_HDR_CALL_ID,
    SIP_HDR_CSEQ,           SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
    SIP_HDR_CONTENT_TYPE,   SIP_HDR_EXPIRES,      SIP_HDR_MIN_EXPIRES,
};

int sip_msg_validate(const struct sip_msg *m, struct sip_error *err)
{
    const struct sip_hdr *h;

    if (m->version_major != 2 || m->version_minor != 0)
        return vfail(m, err, 505, "SIP-Version", "only SIP/2.0 is supported", m->version.p);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (m->count[required[i]] == 0) {
            static const char *const missing[] = {"missing Via header", "missing From header",
                                                  "missing To header", "missing Call-ID header",
                                                  "missing CSeq header"};
            return vfail(m, err, 400, NULL, missing[i], NULL);
        }
    }
    /* Report the first duplicate in message order. */
    {
        const struct sip_hdr *dup = NULL;
        enum sip_hdr_id dup_id = SIP_HDR_OTHER;
        for (size_t i = 0; i < sizeof(at_most_once) / sizeof(at_most_once[0]); i++) {
            enum sip_hdr_id id = at_most_once[i];
            if (m->count[id] > 1) {
                h = sip_msg_hdr_next(m, sip_msg_hdr(m, id));
                if (!dup || h < dup) {
                    dup = h;
                    dup_id = id;
                }
            }
        }
        if (dup)
            return vfail(m, err, 400, sip_hdr_name(dup_id), "header appears more than once",
                         dup->name.p);
    }
    if (m->is_request && !sk_str_eq(m->cseq.method, m->method))
        return vfail(m, err, 400, "CSeq", "method does not match the request method",
                     m->cseq.method.p);
    /* The top Via must be for SIP/2.0 too (RFC 3261 §8.1.1.7). */
    if (!sk_str_ieq_cstr(m->via.protocol, "SIP") || !sk_str_eq_cstr(m->via.version, "2.0"))
        return vfail(m, err, m->is_request ? 505 : 400, "Via",
                     "sent-protocol must be SIP/2.0", m->via.raw.p);
    return 0;
}
