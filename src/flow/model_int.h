/* Internals of the flow analysis model shared between its files. */
#ifndef FLOW_MODEL_INT_H
#define FLOW_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/msg.h"

/* Fill sm with what the analysis needs from a message the strict parser refused (an
 * unbracketed IPv6 address, a stray byte): start line, Call-ID, CSeq, the top Via
 * (sent-by, branch), From and To (URI user and host, tag), a count of each header
 * and the body after the blank line. No validation; slices point into buf. false
 * when the start line or one of those headers is missing. */
bool flow_sip_lenient(struct sip_msg *sm, const char *buf, size_t len);

#endif
