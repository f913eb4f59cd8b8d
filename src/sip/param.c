/* Generic parameter lists: the lenient iterator over an already parsed list, and lookup.
 */
#include "sip/param.h"

#include "sip/scan.h"

bool sip_param_next(struct sk_str *rest, struct sk_str *name, struct sk_str *value)
{
    const char *p = rest->p, *end, *q;

    if (!p) return false;
    end = p + rest->len;
    while (p < end && (sc_is(*p, SC_WS) || *p == ';'))
        p++;
    if (p >= end) {
        rest->p += rest->len;
        rest->len = 0;
        return false;
    }
    q = p;
    while (q < end && *q != '=' && *q != ';' && !sc_is(*q, SC_WS))
        q++;
    *name = sk_str_make(p, (size_t) (q - p));
    p = sc_skip_ws(q, end);
    *value = SK_STR_NULL;
    if (p < end && *p == '=') {
        p = sc_skip_ws(p + 1, end);
        if (p < end && *p == '"') {
            struct sk_str body;
            const char *r = p;
            if (sc_quoted(&r, end, &body)) {
                *value = body;
                p = r;
            } else {
                *value = sk_str_make(p + 1, (size_t) (end - p - 1));
                p = end;
            }
        } else {
            q = p;
            while (q < end && *q != ';' && !sc_is(*q, SC_WS))
                q++;
            *value = sk_str_make(p, (size_t) (q - p));
            p = q;
        }
    } else {
        p = q;
    }
    rest->len = (size_t) (end - p);
    rest->p = p;
    return true;
}

bool sip_param_get(struct sk_str params, const char *name, struct sk_str *value)
{
    struct sk_str n, v;
    while (sip_param_next(&params, &n, &v)) {
        if (sk_str_ieq_cstr(n, name)) {
            if (value) *value = v;
            return true;
        }
    }
    return false;
}
