/* The per-message sipkit work shared by bench_parse and bench_allocs, so both measure the
 * same thing. */
#ifndef SIPKIT_BENCH_SIPKIT_WORK_H
#define SIPKIT_BENCH_SIPKIT_WORK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/msg.h"

struct sipkit_result {
    size_t nvias;     /* Via elements decoded */
    size_t ncontacts; /* Contact elements decoded (0 when there is no Contact) */
};

/* Parse one datagram to the benchmark depth: every header located, From, To, CSeq,
 * Call-ID and top Via decoded eagerly by sip_msg_parse, then all Vias and all
 * Contacts through the typed accessors. Returns 0, or the failing return code with
 * *err set and *stage naming the call that failed. */
static inline int sipkit_work(struct sip_msg *m, const char *buf, size_t len,
                              struct sipkit_result *res, struct sip_error *err,
                              const char **stage)
{
    size_t consumed = 0;
    int rc = sip_msg_parse(m, buf, len, SIP_PARSE_DATAGRAM, NULL, &consumed, err);
    if (rc != 0) {
        *stage = "sip_msg_parse";
        return rc;
    }
    const struct sip_via *vias;
    rc = sip_msg_vias(m, &vias, &res->nvias, err);
    if (rc != 0) {
        *stage = "sip_msg_vias";
        return rc;
    }
    const struct sip_addr *contacts;
    rc = sip_msg_addrs(m, SIP_HDR_CONTACT, &contacts, &res->ncontacts, err);
    if (rc == ENOENT) {
        res->ncontacts = 0;
    } else if (rc != 0) {
        *stage = "sip_msg_addrs(Contact)";
        return rc;
    }
    return 0;
}

#endif
