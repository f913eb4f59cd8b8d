/* Minimal streaming JSON writer into an sk_buf (pretty-printed, valid UTF-8 out). */
#ifndef SK_BASE_JSON_H
#define SK_BASE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

#define SK_JSON_MAX_DEPTH 32

struct sk_json {
    struct sk_buf *out;
    int depth;
    bool first[SK_JSON_MAX_DEPTH];
    bool after_key;
    bool compact; /* one line, no indentation (JSON Lines) */
};

void sk_json_init(struct sk_json *j, struct sk_buf *out);
void sk_json_init_compact(struct sk_json *j, struct sk_buf *out);
void sk_json_obj_begin(struct sk_json *j);
void sk_json_obj_end(struct sk_json *j);
void sk_json_arr_begin(struct sk_json *j);
void sk_json_arr_end(struct sk_json *j);
void sk_json_key(struct sk_json *j, const char *key);
/* Strings are escaped; bytes that are not valid UTF-8 become U+FFFD. */
void sk_json_str(struct sk_json *j, struct sk_str s);
void sk_json_cstr(struct sk_json *j, const char *s);
void sk_json_int(struct sk_json *j, int64_t v);
void sk_json_bool(struct sk_json *j, bool v);
void sk_json_null(struct sk_json *j);
/* Shorthands: key + value. A string member whose slice is unset prints null. */
void sk_json_kstr(struct sk_json *j, const char *key, struct sk_str s);
void sk_json_kint(struct sk_json *j, const char *key, int64_t v);
void sk_json_kbool(struct sk_json *j, const char *key, bool v);
void sk_json_kcstr(struct sk_json *j, const char *key, const char *s); /* NULL prints null */
void sk_json_kdouble(struct sk_json *j, const char *key, double v, int decimals);

#endif
