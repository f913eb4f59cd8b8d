/* Tests of the generated header-name tables: every name and compact form of SIP_HDR_TABLE
 * maps both ways, in any case. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "sip/hdr.h"
/* the const tables themselves, to check their consistency beyond lookups */
#include "sip/hdr_names_table.h"

struct row {
    enum sip_hdr_id id;
    const char *name;
    char compact;
};

#define ROW(id, name, compact, flags) {SIP_HDR_##id, name, compact},
static const struct row rows[] = {SIP_HDR_TABLE(ROW)};
#undef ROW
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char) (c - 32) : c;
}

/* Look a name up from a buffer of exactly its length (an over-read faults). */
static enum sip_hdr_id lookup_guarded(const char *name, size_t len)
{
    struct tu_guard g = {0};
    const char *p = tu_guard_copy(&g, name, len);
    enum sip_hdr_id id;

    assert_non_null(p);
    id = sip_hdr_lookup(p, len);
    tu_guard_free(&g);
    return id;
}

/* Every spelling of every name: canonical, lower, upper, alternating both ways. */
static void test_names_both_ways(void **state)
{
    (void) state;
    assert_int_equal(NROWS + 1, SIP_HDR__COUNT);
    assert_int_equal(HDR_GEN_COUNT, SIP_HDR__COUNT);
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t len = strlen(r->name);
        char v[4][LNAME_MAX];
        struct sk_str s;

        assert_true(len >= 2 && len < LNAME_MAX);
        for (size_t k = 0; k < len; k++) {
            v[0][k] = sk_lower(r->name[k]);
            v[1][k] = upper(r->name[k]);
            v[2][k] = k % 2 ? v[1][k] : v[0][k];
            v[3][k] = k % 2 ? v[0][k] : v[1][k];
        }
        if (lookup_guarded(r->name, len) != r->id)
            fail_msg("lookup(\"%s\") is not its id", r->name);
        for (int j = 0; j < 4; j++)
            if (lookup_guarded(v[j], len) != r->id)
                fail_msg("lookup(\"%.*s\") is not the id of %s", (int) len, v[j],
                         r->name);
        /* id -> name, and back */
        assert_string_equal(sip_hdr_name(r->id), r->name);
        s = sip_hdr_name_str(r->id);
        assert_int_equal(s.len, len);
        assert_memory_equal(s.p, r->name, len);
        assert_int_equal(sip_hdr_lookup(s.p, s.len), r->id);
    }
    assert_null(sip_hdr_name(SIP_HDR_OTHER));
    assert_false(sk_str_isset(sip_hdr_name_str(SIP_HDR_OTHER)));
    assert_null(sip_hdr_name(SIP_HDR__COUNT));
}

/* Compact forms from the table's own column: both cases map to the id; every other
 * letter, digit or sign is no header. */
static void test_compact_forms(void **state)
{
    enum sip_hdr_id want[256] = {0};
    size_t n = 0;

    (void) state;
    for (size_t i = 0; i < NROWS; i++) {
        unsigned char c = (unsigned char) rows[i].compact;
        if (!c) continue;
        assert_true(c >= 'a' && c <= 'z');
        assert_int_equal(want[c], SIP_HDR_OTHER); /* each letter once */
        want[c] = rows[i].id;
        want[(unsigned char) upper((char) c)] = rows[i].id;
        n++;
    }
    assert_int_equal(n, 19); /* RFC 3261 §7.3.3 and the extensions hdr.h lists */
    for (unsigned c = 0; c < 256; c++) {
        char ch = (char) c;
        if (lookup_guarded(&ch, 1) != want[c])
            fail_msg("lookup('\\x%02x') is %d, want %d", c, (int) sip_hdr_lookup(&ch, 1),
                     (int) want[c]);
        /* and the compact form's id names the full header */
        if (want[c]) assert_non_null(sip_hdr_name(want[c]));
    }
}

/* The const tables as the generator wrote them: each id in exactly one slot, its
 * lower-case name and fold mask right. */
static void test_tables_consistent(void **state)
{
    unsigned seen[SIP_HDR__COUNT] = {0};

    (void) state;
    for (unsigned h = 0; h < SLOTS; h++) {
        assert_true(slot_id[h] < SIP_HDR__COUNT);
        seen[slot_id[h]]++;
    }
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t len = strlen(r->name);

        assert_int_equal(seen[r->id], 1);
        assert_int_equal(strlen(lname[r->id]), len);
        for (size_t k = 0; k < LNAME_MAX; k++) {
            char c = k < len ? r->name[k] : 0;
            bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            assert_int_equal(lname[r->id][k], sk_lower(c));
            assert_int_equal(lfold[r->id][k], letter ? 0x20 : 0);
        }
    }
    for (unsigned c = 0; c < 26; c++) {
        enum sip_hdr_id id = compact_ids[c];
        if (id == SIP_HDR_OTHER) continue;
        for (size_t i = 0; i < NROWS; i++)
            if (rows[i].id == id) assert_int_equal(rows[i].compact, 'a' + (int) c);
    }
}

/* Near misses: one byte changed (a '-' to CR, which differs from it only in the
 * case bit: the fold applies to letters alone), a byte more or less, names too
 * long to be known. */
static void test_near_misses(void **state)
{
    char buf[LNAME_MAX + 8];

    (void) state;
    for (size_t i = 0; i < NROWS; i++) {
        const char *name = rows[i].name;
        size_t len = strlen(name);

        memcpy(buf, name, len);
        for (size_t k = 0; k < len; k++) {
            char keep = buf[k];
            buf[k] = keep == '-'                  ? '\r'
                     : keep == 'z' || keep == 'Z' ? 'q'
                                                  : (char) (keep + 1);
            if (lookup_guarded(buf, len) == rows[i].id)
                fail_msg("\"%.*s\" matched %s", (int) len, buf, name);
            buf[k] = keep;
        }
        if (len > 2 && lookup_guarded(name, len - 1) == rows[i].id)
            fail_msg("a prefix of %s matched it", name);
        buf[len] = 's';
        if (lookup_guarded(buf, len + 1) == rows[i].id)
            fail_msg("%ss matched %s", name, name);
    }
    memset(buf, 'a', sizeof(buf));
    assert_int_equal(lookup_guarded(buf, LNAME_MAX), SIP_HDR_OTHER);
    assert_int_equal(lookup_guarded("X-Custom", 8), SIP_HDR_OTHER);
    assert_int_equal(sip_hdr_lookup("Via", 0), SIP_HDR_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_both_ways),
        cmocka_unit_test(test_compact_forms),
        cmocka_unit_test(test_tables_consistent),
        cmocka_unit_test(test_near_misses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
