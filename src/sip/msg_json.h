/* JSON form of parsed SIP messages and URIs. */
#ifndef SIP_MSG_JSON_H
#define SIP_MSG_JSON_H

#include "base/json.h"
#include "sip/msg.h"

/* Writes the members of the message (type, start line, headers, fields, body)
 * into the JSON object the caller has opened. */
void sip_msg_to_json(struct sip_msg *m, struct sk_json *j);
void sip_uri_to_json(const struct sip_uri *u, struct sk_json *j);

#endif
