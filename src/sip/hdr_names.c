/* Header names: canonical names, compact forms (RFC 3261 §7.3.3, IANA) and fast lookup. */
#include "sip/hdr.h"

#include <stdint.h>
#include <string.h>

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

/* The lookup tables, generated as const data by scripts/gen_hdr_names.py from
 * SIP_HDR_TABLE (nothing is built at load time): the compact forms by letter, and
 * for full names an open-addressing table keyed by the length and the first,
 * middle and last letters, holding each id's name in lower case and which of its
 * bytes are letters; a lookup costs a hash, usually one slot, and a compare eight
 * bytes at a time. Every request runs this for each of its header lines. */
#include "sip/hdr_names_table.h"

_Static_assert(HDR_GEN_COUNT == SIP_HDR__COUNT,
               "SIP_HDR_TABLE changed: run scripts/gen_hdr_names.py");

/* The generator computes the same function (scripts/gen_hdr_names.py). */
static inline unsigned name_hash(const char *name, size_t len)
{
    unsigned a = (unsigned char) name[0] | 0x20, b = (unsigned char) name[len - 1] | 0x20,
             c = (unsigned char) name[len / 2] | 0x20;
    return (unsigned) (len * 29 + a * 7 + b * 3 + c * 11) & (SLOTS - 1);
}

/* a against the lower-case name l of the same length: each byte equal, or at a
 * letter (fold bit 0x20) equal but for the case bit. Exact: CR is not '-'. */
static inline bool word_eq(const char *a, const char *l, const unsigned char *f, size_t n)
{
    uint64_t x = 0, y = 0, m = 0;

    memcpy(&x, a, n);
    memcpy(&y, l, n);
    memcpy(&m, f, n);
    return ((x ^ y) & ~m) == 0;
}

static inline bool lname_eq(const char *a, unsigned id, size_t len)
{
    const char *l = lname[id];
    const unsigned char *f = lfold[id];
    size_t i = 0;

    if (len < 4)
        return word_eq(a, l, f, 2) && (len == 2 || word_eq(a + 2, l + 2, f + 2, 1));
    if (len < 8)
        return word_eq(a, l, f, 4) && word_eq(a + len - 4, l + len - 4, f + len - 4, 4);
    for (; i + 8 <= len; i += 8) {
        if (!word_eq(a + i, l + i, f + i, 8))
            return false;
    }
    return i == len || word_eq(a + len - 8, l + len - 8, f + len - 8, 8);
}

enum sip_hdr_id sip_hdr_lookup(const char *name, size_t len)
{
    unsigned c, h, id;

    if (len == 0)
        return SIP_HDR_OTHER;
    if (len == 1) {
        c = (unsigned char) sk_lower(name[0]) - 'a';
        return c < 26 ? (enum sip_hdr_id) compact_ids[c] : SIP_HDR_OTHER;
    }
    if (len >= LNAME_MAX)
        return SIP_HDR_OTHER;
    for (h = name_hash(name, len); (id = slot_id[h]) != 0; h = (h + 1) & (SLOTS - 1)) {
        if (hdr_defs[id].len == len && lname_eq(name, id, len))
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
