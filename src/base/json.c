/* Minimal streaming JSON writer. */
#include "base/json.h"

void sk_json_init(struct sk_json *j, struct sk_buf *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
    j->compact = false;
}

void sk_json_init_compact(struct sk_json *j, struct sk_buf *out)
{
    sk_json_init(j, out);
    j->compact = true;
}

static void indent(struct sk_json *j)
{
    if (j->compact)
        return;
    sk_buf_putc(j->out, '\n');
    for (int i = 0; i < j->depth; i++)
        sk_buf_puts(j->out, "  ");
}

/* Separator and indentation before a value or a key. */
static void before(struct sk_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            sk_buf_putc(j->out, ',');
        indent(j);
    }
    j->first[j->depth] = false;
}

static void json_open(struct sk_json *j, char c)
{
    before(j);
    sk_buf_putc(j->out, c);
    if (j->depth < SK_JSON_MAX_DEPTH - 1)
        j->depth++;
    j->first[j->depth] = true;
}

static void json_close(struct sk_json *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    sk_buf_putc(j->out, c);
}

void sk_json_obj_begin(struct sk_json *j) { json_open(j, '{'); }
void sk_json_obj_end(struct sk_json *j) { json_close(j, '}'); }
void sk_json_arr_begin(struct sk_json *j) { json_open(j, '['); }
void sk_json_arr_end(struct sk_json *j) { json_close(j, ']'); }

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_escaped(struct sk_buf *b, struct sk_str s)
{
    const unsigned char *p = (const unsigned char *) s.p;

    sk_buf_putc(b, '"');
    for (size_t i = 0; i < s.len;) {
        unsigned char c = p[i];
        size_t n;
        if (c == '"' || c == '\\') {
            sk_buf_putc(b, '\\');
            sk_buf_putc(b, (char) c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': sk_buf_puts(b, "\\n"); break;
            case '\r': sk_buf_puts(b, "\\r"); break;
            case '\t': sk_buf_puts(b, "\\t"); break;
            default: sk_buf_printf(b, "\\u%04x", c); break;
            }
            i++;
        } else if ((n = utf8_len(p + i, s.len - i)) > 0) {
            sk_buf_append(b, p + i, n);
            i += n;
        } else {
            sk_buf_puts(b, "\\ufffd");
            i++;
        }
    }
    sk_buf_putc(b, '"');
}

void sk_json_key(struct sk_json *j, const char *key)
{
    before(j);
    put_escaped(j->out, sk_str_cstr(key));
    sk_buf_puts(j->out, ": ");
    j->after_key = true;
}

void sk_json_str(struct sk_json *j, struct sk_str s)
{
    before(j);
    if (!s.p)
        sk_buf_puts(j->out, "null");
    else
        put_escaped(j->out, s);
}

void sk_json_cstr(struct sk_json *j, const char *s)
{
    sk_json_str(j, s ? sk_str_cstr(s) : SK_STR_NULL);
}

void sk_json_int(struct sk_json *j, int64_t v)
{
    before(j);
    sk_buf_printf(j->out, "%lld", (long long) v);
}

void sk_json_bool(struct sk_json *j, bool v)
{
    before(j);
    sk_buf_puts(j->out, v ? "true" : "false");
}

void sk_json_null(struct sk_json *j)
{
    before(j);
    sk_buf_puts(j->out, "null");
}

void sk_json_kstr(struct sk_json *j, const char *key, struct sk_str s)
{
    sk_json_key(j, key);
    sk_json_str(j, s);
}

void sk_json_kint(struct sk_json *j, const char *key, int64_t v)
{
    sk_json_key(j, key);
    sk_json_int(j, v);
}

void sk_json_kbool(struct sk_json *j, const char *key, bool v)
{
    sk_json_key(j, key);
    sk_json_bool(j, v);
}

void sk_json_kcstr(struct sk_json *j, const char *key, const char *s)
{
    sk_json_key(j, key);
    if (s)
        sk_json_cstr(j, s);
    else
        sk_json_null(j);
}

void sk_json_kdouble(struct sk_json *j, const char *key, double v, int decimals)
{
    sk_json_key(j, key);
    before(j);
    /* JSON has no NaN or infinity */
    if (v != v || v > 1e300 || v < -1e300)
        sk_buf_puts(j->out, "null");
    else
        sk_buf_printf(j->out, "%.*f", decimals, v);
}
