/* Header names: canonical names, compact forms (RFC 3261 §7.3.3, IANA) and fast lookup. */
#include "sip/hdr.h"

struct hdr_def {
    const char *name;
    unsigned char len;
    unsigned char flags;
};

static const struct hdr_def hdr_defs[SIP_HDR__COUNT] = {
    [SIP_HDR_OTHER] = {NULL, 0, 0},
#define HDR_DEF(id, name, compact, flags) [SIP_HDR_##id] = {name, sizeof(name) - 1, flags},
    SIP_HDR_TABLE(HDR_DEF)
#undef HDR_DEF
};

/* Compact forms, indexed by lower-case letter. */
static const unsigned char compact_ids[26] = {
    ['a' - 'a'] = SIP_HDR_ACCEPT_CONTACT,
    ['b' - 'a'] = SIP_HDR_REFERRED_BY,
    ['c' - 'a'] = SIP_HDR_CONTENT_TYPE,
    ['d' - 'a'] = SIP_HDR_REQUEST_DISPOSITION,
    ['e' - 'a'] = SIP_HDR_CONTENT_ENCODING,
    ['f' - 'a'] = SIP_HDR_FROM,
    ['i' - 'a'] = SIP_HDR_CALL_ID,
    ['j' - 'a'] = SIP_HDR_REJECT_CONTACT,
    ['k' - 'a'] = SIP_HDR_SUPPORTED,
    ['l' - 'a'] = SIP_HDR_CONTENT_LENGTH,
    ['m' - 'a'] = SIP_HDR_CONTACT,
    ['o' - 'a'] = SIP_HDR_EVENT,
    ['r' - 'a'] = SIP_HDR_REFER_TO,
    ['s' - 'a'] = SIP_HDR_SUBJECT,
    ['t' - 'a'] = SIP_HDR_TO,
    ['u' - 'a'] = SIP_HDR_ALLOW_EVENTS,
    ['v' - 'a'] = SIP_HDR_VIA,
    ['x' - 'a'] = SIP_HDR_SESSION_EXPIRES,
    ['y' - 'a'] = SIP_HDR_IDENTITY,
};

/* Ids [first, last) whose canonical name starts with each letter (the table is sorted). */
static const unsigned char bucket[26][2] = {
    ['a' - 'a'] = {1, 10},
    ['c' - 'a'] = {10, 19},
    ['d' - 'a'] = {19, 20},
    ['e' - 'a'] = {20, 23},
    ['f' - 'a'] = {23, 24},
    ['i' - 'a'] = {24, 26},
    ['m' - 'a'] = {26, 30},
    ['o' - 'a'] = {30, 31},
    ['p' - 'a'] = {31, 38},
    ['r' - 'a'] = {38, 51},
    ['s' - 'a'] = {51, 56},
    ['t' - 'a'] = {56, 58},
    ['u' - 'a'] = {58, 60},
    ['v' - 'a'] = {60, 61},
    ['w' - 'a'] = {61, 63},
};

static bool name_ieq(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (sk_lower(a[i]) != sk_lower(b[i]))
            return false;
    }
    return true;
}

enum sip_hdr_id sip_hdr_lookup(const char *name, size_t len)
{
    unsigned c;

    if (len == 0)
        return SIP_HDR_OTHER;
    c = (unsigned char) sk_lower(name[0]) - 'a';
    if (c >= 26)
        return SIP_HDR_OTHER;
    if (len == 1)
        return (enum sip_hdr_id) compact_ids[c];
    for (unsigned id = bucket[c][0]; id < bucket[c][1]; id++) {
        if (hdr_defs[id].len == len && name_ieq(hdr_defs[id].name, name, len))
            return (enum sip_hdr_id) id;
    }
    return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
    return (unsigned) id < SIP_HDR__COUNT ? hdr_defs[id].name : NULL;
}

struct sk_str sip_hdr_name_str(enum sip_hdr_id id)
{
    if ((unsigned) id >= SIP_HDR__COUNT || !hdr_defs[id].name)
        return SK_STR_NULL;
    return sk_str_make(hdr_defs[id].name, hdr_defs[id].len);
}

unsigned sip_hdr_flags(enum sip_hdr_id id)
{
    return (unsigned) id < SIP_HDR__COUNT ? hdr_defs[id].flags : 0;
}
