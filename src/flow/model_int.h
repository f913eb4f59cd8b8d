/* Internals of the flow analysis model shared between its files. */
#ifndef FLOW_MODEL_INT_H
#define FLOW_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "flow/capture.h"
#include "flow/model.h"
#include "sip/msg.h"

/* Fill sm with what the analysis needs from a message the strict parser refused (an
 * unbracketed IPv6 address, a stray byte): start line, Call-ID, CSeq, the top Via
 * (sent-by, branch), From and To (URI user and host, tag), a count of each header
 * and the body after the blank line. No validation; slices point into buf. false
 * when the start line or one of those headers is missing. */
bool flow_sip_lenient(struct sip_msg *sm, const char *buf, size_t len);

/* ICMP errors and DNS queries of the capture (model_net.c). */
#define FLOW_NET_MAX_UNREACH 4096
#define FLOW_NET_MAX_DNS 4096
struct flow_net {
    struct flow_unreach *unreach;
    size_t nunreach, cap_unreach;
    struct flow_dns *dns;
    size_t ndns, cap_dns;
    uint64_t dropped;
};
void flow_net_free(struct flow_net *n);
/* A FLOW_ICMP packet. */
void flow_net_icmp(struct flow_net *n, struct flow_model_counts *c,
                   const struct flow_packet *p);
/* A UDP datagram from or to port 53: true when it was a DNS query or reply (kept or
 * counted), false to treat it as anything else. */
bool flow_net_dns(struct flow_net *n, struct flow_model_counts *c,
                  const struct flow_packet *p);

#endif
