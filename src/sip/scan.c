/* Character class table and shared lexing routines for the SIP grammar. */
#include "sip/scan.h"

#include <string.h>

#define A (SC_TOKEN | SC_UNRES | SC_HOST | SC_ALPHA | SC_WORD)
#define AH (A | SC_HEX)
#define D (SC_TOKEN | SC_UNRES | SC_HOST | SC_DIGIT | SC_HEX | SC_WORD)

const unsigned short sip_char_class[256] = {
    ['\t'] = SC_WS, ['\r'] = SC_WS, ['\n'] = SC_WS, [' '] = SC_WS,
    ['!'] = SC_TOKEN | SC_UNRES | SC_WORD,
    ['"'] = SC_WORD,
    ['$'] = SC_USER | SC_PASS | SC_PARAM | SC_HNV | SC_RESERVED,
    ['%'] = SC_TOKEN | SC_WORD,
    ['&'] = SC_USER | SC_PASS | SC_PARAM | SC_RESERVED,
    ['\''] = SC_TOKEN | SC_UNRES | SC_WORD,
    ['('] = SC_UNRES | SC_WORD,
    [')'] = SC_UNRES | SC_WORD,
    ['*'] = SC_TOKEN | SC_UNRES | SC_WORD,
    ['+'] = SC_TOKEN | SC_USER | SC_PASS | SC_PARAM | SC_HNV | SC_WORD | SC_RESERVED,
    [','] = SC_USER | SC_PASS | SC_RESERVED,
    ['-'] = SC_TOKEN | SC_UNRES | SC_HOST | SC_WORD,
    ['.'] = SC_TOKEN | SC_UNRES | SC_HOST | SC_WORD,
    ['/'] = SC_USER | SC_PARAM | SC_HNV | SC_WORD | SC_RESERVED,
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D,
    ['5'] = D, ['6'] = D, ['7'] = D, ['8'] = D, ['9'] = D,
    [':'] = SC_PARAM | SC_HNV | SC_WORD | SC_RESERVED,
    [';'] = SC_USER | SC_RESERVED,
    ['<'] = SC_WORD,
    ['='] = SC_USER | SC_PASS | SC_RESERVED,
    ['>'] = SC_WORD,
    ['?'] = SC_USER | SC_HNV | SC_WORD | SC_RESERVED,
    ['@'] = SC_RESERVED,
    ['A'] = AH, ['B'] = AH, ['C'] = AH, ['D'] = AH, ['E'] = AH, ['F'] = AH,
    ['G'] = A, ['H'] = A, ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A,
    ['N'] = A, ['O'] = A, ['P'] = A, ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A,
    ['U'] = A, ['V'] = A, ['W'] = A, ['X'] = A, ['Y'] = A, ['Z'] = A,
    ['['] = SC_PARAM | SC_HNV | SC_WORD,
    ['\\'] = SC_WORD,
    [']'] = SC_PARAM | SC_HNV | SC_WORD,
    ['_'] = SC_TOKEN | SC_UNRES | SC_WORD,
    ['`'] = SC_TOKEN | SC_WORD,
    ['a'] = AH, ['b'] = AH, ['c'] = AH, ['d'] = AH, ['e'] = AH, ['f'] = AH,
    ['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A,
    ['n'] = A, ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A,
    ['u'] = A, ['v'] = A, ['w'] = A, ['x'] = A, ['y'] = A, ['z'] = A,
    ['{'] = SC_WORD,
    ['}'] = SC_WORD,
    ['~'] = SC_TOKEN | SC_UNRES | SC_WORD,
};

bool sc_quoted(const char **pp, const char *end, struct sk_str *body)
{
    const char *p = *pp + 1;
    const char *start = p;

    /* by memchr, not byte by byte: Digest nonces, responses and cnonces are
     * quoted strings of 32 to 64 characters, several per request */
    while (p < end) {
        const char *q = memchr(p, '"', (size_t) (end - p));
        const char *bs;
        if (!q)
            return false;
        bs = memchr(p, '\\', (size_t) (q - p));
        if (!bs) {
            *body = sk_str_make(start, (size_t) (q - start));
            *pp = q + 1;
            return true;
        }
        /* quoted-pair: any char but CR/LF may follow (an escaped '"' too) */
        if (bs + 1 >= end || bs[1] == '\r' || bs[1] == '\n')
            return false;
        p = bs + 2;
    }
    return false;
}

static bool is_ipv4(struct sk_str s)
{
    unsigned parts = 0, val = 0, digits = 0;

    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (digits == 0)
                return false;
            parts++;
            val = digits = 0;
        } else if (c >= '0' && c <= '9') {
            val = val * 10 + (unsigned) (c - '0');
            if (++digits > 3 || val > 255)
                return false;
        } else {
            return false;
        }
    }
    return parts == 3 && digits > 0;
}

/* RFC 3261 §25.1 hostname: labels of alphanum and '-' that start and end with an
 * alphanum, the last one (toplabel) starting with a letter; an optional final dot. */
static bool is_hostname(struct sk_str s)
{
    size_t label = 0, top = 0;

    if (s.len && s.p[s.len - 1] == '.')
        s.len--;
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (label == 0 || s.p[i - 1] == '-')
                return false;
            label = 0;
            top = i + 1;
        } else if (sc_is(c, SC_HOST)) {
            if (c == '-' && label == 0)
                return false;
            label++;
        } else {
            return false;
        }
    }
    return s.p[s.len - 1] != '-' && sc_is(s.p[top], SC_ALPHA);
}

static bool is_ipv6(struct sk_str s)
{
    unsigned colons = 0, groups = 0, hex = 0;
    bool dbl = false;

    if (s.len < 2)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == ':') {
            if (i + 1 < s.len && s.p[i + 1] == ':') {
                if (dbl)
                    return false;
                dbl = true;
            }
            colons++;
            hex = 0;
        } else if (sc_is(c, SC_HEX)) {
            if (hex == 0)
                groups++;
            if (++hex > 4)
                return false;
        } else if (c == '.') {
            /* embedded IPv4 in the last 32 bits */
            size_t j = i;
            while (j > 0 && s.p[j - 1] != ':')
                j--;
            return is_ipv4(sk_str_make(s.p + j, s.len - j)) && colons >= 2;
        } else {
            return false;
        }
    }
    return colons >= 2 && colons <= 7 && (dbl || groups == 8);
}

bool sc_host(const char **pp, const char *end, struct sk_str *host, int *type, uint32_t *ip4)
{
    const char *p = *pp;
    uint32_t addr = 0;

    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t) (end - p));
        if (!close)
            return false;
        *host = sk_str_make(p + 1, (size_t) (close - p - 1));
        if (!is_ipv6(*host))
            return false;
        *type = SC_HT_IPV6;
        *pp = close + 1;
        return true;
    }
    /* a dotted quad first, digit by digit: every request has a few of these
     * (Request-URI, From, To, Via) and the common case should cost no more
     * than reading it */
    for (unsigned part = 0;; part++) {
        unsigned val, d;
        if (p >= end || (val = (unsigned) (*p - '0')) > 9)
            break;
        p++;
        if (p < end && (d = (unsigned) (*p - '0')) <= 9) {
            val = val * 10 + d;
            p++;
            if (p < end && (d = (unsigned) (*p - '0')) <= 9) {
                val = val * 10 + d;
                p++;
                if (val > 255)
                    break;
            }
        }
        addr = addr << 8 | val;
        if (part == 3) {
            if (p < end && sc_is(*p, SC_HOST))
                break; /* more host characters: a name, or nothing valid */
            *host = sk_str_make(*pp, (size_t) (p - *pp));
            *type = SC_HT_IPV4;
            if (ip4)
                *ip4 = addr;
            *pp = p;
            return true;
        }
        if (p >= end || *p != '.')
            break;
        p++;
    }
    p = sc_skip_class(*pp, end, SC_HOST);
    *host = sk_str_make(*pp, (size_t) (p - *pp));
    if (!is_hostname(*host))
        return false;
    *type = SC_HT_NAME;
    *pp = p;
    return true;
}
