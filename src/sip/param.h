/* Generic parameter lists (";name=value", RFC 3261 §25.1 generic-param): iteration and
 * lookup. */
#ifndef SIP_PARAM_H
#define SIP_PARAM_H

#include <stdbool.h>

#include "base/str.h"

/* Iterate a raw parameter list (as kept in .params: without the leading ';').
 * Returns false at the end. value is unset (p == NULL) for a flag parameter;
 * quoted values are returned without the quotes (escapes kept). */
bool sip_param_next(struct sk_str *rest, struct sk_str *name, struct sk_str *value);
/* Find a parameter by case-insensitive name. */
bool sip_param_get(struct sk_str params, const char *name, struct sk_str *value);

#endif
