/* The protection module (server/protect.h): CIDR lists, buckets per source and prefix,
 * scanner marks, the block list with expiry, bounded tables, per-user brute-force
 * slowing. */
#define TU_CHECKS
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/protect.h"

static const char *g_ctx = "";

static struct sk_sa ip(const char *s)
{
    struct sk_sa a;
    if (sk_sa_from_ip(&a, sk_str_cstr(s), 5060) != 0) fail_msg("bad ip %s", s);
    return a;
}

static struct sk_protect *guard(struct sk_protect_config *c)
{
    struct sk_protect *p;
    if (sk_protect_new(&p, c) != 0) fail_msg("sk_protect_new");
    return p;
}

/* No trust, every budget out of the way unless a test sets it. */
static void quiet_config(struct sk_protect_config *c)
{
    sk_protect_config_defaults(c);
    c->trust.n = 0;
    for (unsigned i = 0; i < SK_PROT_NCLASS; i++) {
        c->rate[i] = 0;
        c->burst[i] = 0;
    }
    c->prefix_factor = 0;
    c->sweep_users = 0;
    c->ratio_min = 0;
}

static bool matches(const char *cidr, const char *addr)
{
    struct sk_cidr c;
    struct sk_sa a = ip(addr);
    if (sk_cidr_parse(cidr, &c) != 0) fail_msg("cannot parse %s", cidr);
    return sk_cidr_match(&c, &a);
}

static void test_cidr(void **state)
{
    struct sk_cidr c;
    struct sk_cidr_list l = {.n = 0};
    (void) state;
    g_ctx = "cidr";

    CHK(matches("10.0.0.0/8", "10.255.1.2"));
    CHK(!matches("10.0.0.0/8", "11.0.0.1"));
    CHK(matches("192.0.2.77/24", "192.0.2.1")); /* host bits cleared */
    CHK(matches("192.0.2.1", "192.0.2.1"));     /* a /32 */
    CHK(!matches("192.0.2.1", "192.0.2.2"));
    CHK(matches("0.0.0.0/0", "203.0.113.9"));
    CHK(!matches("0.0.0.0/0", "2001:db8::1")); /* families differ */
    CHK(matches("10.1.2.3/31", "10.1.2.2"));
    CHK(!matches("10.1.2.3/31", "10.1.2.4"));
    CHK(matches("172.16.0.0/12", "172.31.255.255"));
    CHK(!matches("172.16.0.0/12", "172.32.0.0"));
    CHK(matches("2001:db8::/32", "2001:db8:ffff::1"));
    CHK(!matches("2001:db8::/32", "2001:db9::1"));
    CHK(matches("::1", "::1"));
    CHK(!matches("::1", "::2"));
    CHK(matches("::/0", "fe80::1"));
    CHK(matches("2001:db8::/63", "2001:db8:0:1::5"));
    CHK(!matches("2001:db8::/63", "2001:db8:0:2::5"));
    /* an IPv4-mapped source is its IPv4 address, both ways round */
    CHK(matches("127.0.0.0/8", "::ffff:127.0.0.5"));
    CHK(matches("::ffff:10.0.0.0/104", "10.9.9.9"));
    CHK(!matches("::ffff:10.0.0.0/104", "11.0.0.1"));

    CHK_INT(sk_cidr_parse("10.0.0.0/33", &c), EINVAL);
    CHK_INT(sk_cidr_parse("10.0.0.0/", &c), EINVAL);
    CHK_INT(sk_cidr_parse("10.0.0.0/-1", &c), EINVAL);
    CHK_INT(sk_cidr_parse("10.0.0/8", &c), EINVAL);
    CHK_INT(sk_cidr_parse("::1/129", &c), EINVAL);
    CHK_INT(sk_cidr_parse("host.example", &c), EINVAL);
    CHK_INT(sk_cidr_parse("", &c), EINVAL);
    CHK_INT(sk_cidr_parse("10.0.0.0/8x", &c), EINVAL);

    CHK_INT(sk_cidr_list_parse(&l, "10.0.0.0/8, 2001:db8::/32"), 0);
    CHK_INT(l.n, 2);
    struct sk_sa a = ip("2001:db8::7"), b = ip("192.0.2.1");
    CHK(sk_cidr_list_match(&l, &a));
    CHK(!sk_cidr_list_match(&l, &b));
    CHK_INT(sk_cidr_list_parse(&l, "none"), 0);
    CHK_INT(l.n, 0);
    CHK(!sk_cidr_list_match(&l, &a));
    CHK_INT(sk_cidr_list_parse(&l, "10.0.0.0/8,bogus"), EINVAL);
    l.n = 0;
    for (unsigned i = 0; i < SK_CIDR_LIST_MAX; i++)
        CHK_INT(sk_cidr_list_parse(&l, "10.0.0.1"), 0);
    CHK_INT(sk_cidr_list_parse(&l, "10.0.0.1"), ENOSPC);
}

static void test_classify(void **state)
{
    enum sk_protect_class c;
    (void) state;
    g_ctx = "classify";
    CHK(sk_protect_classify("REGISTER sip:x SIP/2.0\r\n", 24, &c) &&
        c == SK_PROT_REGISTER);
    CHK(sk_protect_classify("INVITE sip:x SIP/2.0\r\n", 22, &c) && c == SK_PROT_INVITE);
    CHK(sk_protect_classify("OPTIONS sip:x SIP/2.0\r\n", 23, &c) && c == SK_PROT_OTHER);
    CHK(sk_protect_classify("INVITEX sip:x", 13, &c) && c == SK_PROT_OTHER);
    CHK(sk_protect_classify("INV", 3, &c) && c == SK_PROT_OTHER);
    CHK(!sk_protect_classify("SIP/2.0 200 OK\r\n", 16, &c));
}

static void test_trust_acl(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa lo = ip("127.0.0.9"), lo6 = ip("::1"), a = ip("192.0.2.1"),
                 d = ip("198.51.100.7"), out = ip("203.0.113.1");
    enum sk_protect_rule r;
    (void) state;
    g_ctx = "trust";

    sk_protect_config_defaults(&c);
    CHK_INT(sk_cidr_list_parse(&c.deny, "198.51.100.0/24"), 0);
    p = guard(&c);
    CHK_INT(sk_protect_source(p, &lo, SK_PROT_INVITE, 0, &r), SK_PROT_TRUSTED);
    CHK_INT(sk_protect_source(p, &lo6, SK_PROT_INVITE, 0, &r), SK_PROT_TRUSTED);
    CHK(sk_protect_trusted(p, &lo));
    CHK(!sk_protect_trusted(p, &a));
    CHK_INT(sk_protect_source(p, &a, SK_PROT_INVITE, 0, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_source(p, &d, SK_PROT_INVITE, 0, &r), SK_PROT_DROP);
    CHK_INT(r, SK_RULE_DENY);
    /* a trusted source is never blocked */
    sk_protect_block(p, &lo, SK_RULE_MANUAL, 0);
    CHK_INT(sk_protect_source(p, &lo, SK_PROT_INVITE, 1, &r), SK_PROT_TRUSTED);
    sk_protect_free(p);

    /* --allow: only those (trusted ones still pass) */
    sk_protect_config_defaults(&c);
    CHK_INT(sk_cidr_list_parse(&c.allow, "192.0.2.0/24"), 0);
    p = guard(&c);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 0, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_source(p, &out, SK_PROT_OTHER, 0, &r), SK_PROT_DROP);
    CHK_INT(r, SK_RULE_NOT_ALLOWED);
    CHK_INT(sk_protect_source(p, &lo, SK_PROT_OTHER, 0, &r), SK_PROT_TRUSTED);
    sk_protect_free(p);

    /* off: everything is served */
    sk_protect_config_defaults(&c);
    c.enabled = false;
    CHK_INT(sk_cidr_list_parse(&c.deny, "0.0.0.0/0"), 0);
    p = guard(&c);
    CHK_INT(sk_protect_source(p, &d, SK_PROT_INVITE, 0, &r), SK_PROT_TRUSTED);
    sk_protect_free(p);
}

/* Budgets per class: the burst, then the rate; each class its own; refill. */
static void test_buckets(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa a = ip("192.0.2.1"), b = ip("192.0.2.99");
    enum sk_protect_rule r;
    unsigned ok = 0;
    (void) state;
    g_ctx = "buckets";

    quiet_config(&c);
    c.rate[SK_PROT_REGISTER] = 10;
    c.burst[SK_PROT_REGISTER] = 5;
    c.rate[SK_PROT_INVITE] = 2;
    c.burst[SK_PROT_INVITE] = 2;
    c.flood_drops = 0;
    p = guard(&c);
    for (unsigned i = 0; i < 20; i++)
        ok += sk_protect_source(p, &a, SK_PROT_REGISTER, 1000, &r) == SK_PROT_PASS;
    CHK_INT(ok, 5); /* the burst */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 1000, &r), SK_PROT_OVER);
    CHK_INT(r, SK_RULE_RATE_REGISTER);
    /* another class has its own budget; another address too */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_INVITE, 1000, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_source(p, &b, SK_PROT_REGISTER, 1000, &r), SK_PROT_PASS);
    /* no limit on a class with rate 0 */
    for (unsigned i = 0; i < 1000; i++)
        CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 1000, &r), SK_PROT_PASS);
    /* 10/s: 100 ms gives one token, 99 ms none */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 1099, &r), SK_PROT_OVER);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 1100, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 1100, &r), SK_PROT_OVER);
    /* a long pause refills up to the burst, no further */
    ok = 0;
    for (unsigned i = 0; i < 20; i++)
        ok += sk_protect_source(p, &a, SK_PROT_REGISTER, 60000, &r) == SK_PROT_PASS;
    CHK_INT(ok, 5);
    /* a clock that goes back takes nothing and gives nothing */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 50000, &r), SK_PROT_OVER);

    struct sk_protect_stats st;
    sk_protect_stats(p, &st);
    CHK(st.dropped[SK_RULE_RATE_REGISTER] >= 17);
    CHK_INT(st.dropped[SK_RULE_RATE_INVITE], 0);
    sk_protect_free(p);
}

/* The /24 (and /64) shares factor x one address's budget; the address's own
 * limit is taken first, so one noisy address cannot spend its neighbours'. */
static void test_prefix(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    enum sk_protect_rule r;
    unsigned ok = 0;
    char s[64];
    (void) state;
    g_ctx = "prefix";

    quiet_config(&c);
    c.rate[SK_PROT_INVITE] = 1;
    c.burst[SK_PROT_INVITE] = 3;
    c.prefix_factor = 4; /* 12 for the /24 */
    c.flood_drops = 0;
    p = guard(&c);
    for (unsigned i = 1; i <= 10; i++) {
        snprintf(s, sizeof(s), "198.51.100.%u", i);
        struct sk_sa a = ip(s);
        for (unsigned k = 0; k < 3; k++)
            ok += sk_protect_source(p, &a, SK_PROT_INVITE, 0, &r) == SK_PROT_PASS;
    }
    CHK_INT(ok, 12);
    CHK_INT(r, SK_RULE_RATE_PREFIX);
    struct sk_sa other = ip("198.51.101.1");
    CHK_INT(sk_protect_source(p, &other, SK_PROT_INVITE, 0, &r), SK_PROT_PASS);

    /* one address over its own budget leaves the prefix's to the others */
    struct sk_sa noisy = ip("203.0.113.1"), quiet = ip("203.0.113.2");
    for (unsigned i = 0; i < 100; i++)
        sk_protect_source(p, &noisy, SK_PROT_INVITE, 0, &r);
    CHK_INT(sk_protect_source(p, &quiet, SK_PROT_INVITE, 0, &r), SK_PROT_PASS);

    /* IPv6: a /64 */
    ok = 0;
    for (unsigned i = 1; i <= 10; i++) {
        snprintf(s, sizeof(s), "2001:db8:0:7::%x", i);
        struct sk_sa a = ip(s);
        for (unsigned k = 0; k < 3; k++)
            ok += sk_protect_source(p, &a, SK_PROT_INVITE, 0, &r) == SK_PROT_PASS;
    }
    CHK_INT(ok, 12);
    struct sk_sa next64 = ip("2001:db8:0:8::1");
    CHK_INT(sk_protect_source(p, &next64, SK_PROT_INVITE, 0, &r), SK_PROT_PASS);
    sk_protect_free(p);
}

/* A source that keeps going over its budget is blocked; then it gets nothing,
 * until the block expires. */
static void test_flood_block_expiry(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa a = ip("192.0.2.5");
    enum sk_protect_rule r;
    struct sk_protect_blocked bl[4];
    unsigned over = 0;
    (void) state;
    g_ctx = "flood";

    quiet_config(&c);
    c.rate[SK_PROT_REGISTER] = 1;
    c.burst[SK_PROT_REGISTER] = 1;
    c.flood_drops = 10;
    c.flood_window = 10;
    c.block_time = 60;
    p = guard(&c);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 0, &r), SK_PROT_PASS);
    for (unsigned i = 0; i < 9; i++)
        over += sk_protect_source(p, &a, SK_PROT_REGISTER, 0, &r) == SK_PROT_OVER;
    CHK_INT(over, 9);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 0, &r), SK_PROT_DROP);
    CHK_INT(r, SK_RULE_FLOOD);
    /* blocked: every class, responses too, even with tokens again */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 5000, &r), SK_PROT_DROP);
    CHK_INT(r, SK_RULE_BLOCKED);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_NCLASS, 5000, &r), SK_PROT_DROP);
    CHK(!sk_protect_response(p, &a, 401, 5000));
    CHK_INT(sk_protect_blocked_list(p, 20000, bl, 4), 1);
    CHK_INT(bl[0].rule, SK_RULE_FLOOD);
    CHK_INT(bl[0].ms_left, 40000);
    CHK_INT(sk_sa_port(&bl[0].addr), 0);
    /* expired: served again, gone from the list */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 59999, &r), SK_PROT_DROP);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_REGISTER, 60000, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_blocked_list(p, 60000, bl, 4), 0);

    /* manual block and unblock */
    sk_protect_block(p, &a, SK_RULE_MANUAL, 70000);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 70001, &r), SK_PROT_DROP);
    struct sk_sa other_port = a;
    sk_sa_set_port(&other_port, 1234);
    CHK_INT(sk_protect_unblock(p, &other_port), 0);
    CHK_INT(sk_protect_unblock(p, &a), ENOENT);
    CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 70002, &r), SK_PROT_PASS);

    struct sk_protect_stats st;
    sk_protect_stats(p, &st);
    CHK_INT(st.blocks[SK_RULE_FLOOD], 1);
    CHK_INT(st.blocks[SK_RULE_MANUAL], 1);
    sk_protect_free(p);
}

static void test_scanner_ua(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    enum sk_protect_rule r;
    struct sk_protect_blocked bl[2];
    static const char *const uas[] = {
        "friendly-scanner",    "SIPVicious 0.3", "sipcli/v1.8",
        "VaxSIPUserAgent/3.1", "sip-scan",       "iWar",
        "sundayddr",           "SIVuS Scanner",  "smap 0.6"};
    (void) state;
    g_ctx = "scanner";

    quiet_config(&c);
    p = guard(&c);
    for (unsigned i = 0; i < sizeof(uas) / sizeof(uas[0]); i++) {
        char s[32];
        snprintf(s, sizeof(s), "192.0.2.%u", 10 + i);
        struct sk_sa a = ip(s);
        g_ctx = uas[i];
        CHK_INT(sk_protect_inspect(p, &a, sk_str_cstr(uas[i]), SK_STR_NULL, 0, &r),
                SK_PROT_DROP);
        CHK_INT(r, SK_RULE_SCANNER_UA);
        CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 1, &r), SK_PROT_DROP);
    }
    g_ctx = "scanner";
    struct sk_sa phone = ip("192.0.2.200");
    CHK_INT(sk_protect_inspect(p, &phone, sk_str_cstr("Linphone/5.2 (belle-sip)"),
                               SK_STR_NULL, 0, &r),
            SK_PROT_PASS);
    CHK_INT(sk_protect_inspect(p, &phone, SK_STR_NULL, SK_STR_NULL, 0, &r), SK_PROT_PASS);
    CHK_INT(sk_protect_blocked_list(p, 1, bl, 2), 9);
    /* a trusted source with a scanner's name is still served */
    struct sk_protect_config t;
    sk_protect_config_defaults(&t);
    struct sk_protect *q = guard(&t);
    struct sk_sa lo = ip("127.0.0.1");
    CHK_INT(
        sk_protect_inspect(q, &lo, sk_str_cstr("friendly-scanner"), SK_STR_NULL, 0, &r),
        SK_PROT_TRUSTED);
    sk_protect_free(q);
    sk_protect_free(p);
}

/* Many user names from one source within the window: a sweep. */
static void test_sweep(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa a = ip("192.0.2.7"), b = ip("192.0.2.8");
    enum sk_protect_rule r = SK_RULE_NONE;
    enum sk_protect_verdict v = SK_PROT_PASS;
    unsigned n = 0;
    char u[16];
    (void) state;
    g_ctx = "sweep";

    quiet_config(&c);
    c.sweep_users = 20;
    c.sweep_window = 60;
    p = guard(&c);
    /* one user again and again is no sweep */
    for (unsigned i = 0; i < 500; i++)
        CHK_INT(sk_protect_inspect(p, &b, SK_STR_NULL, sk_str_cstr("alice"), i, &r),
                SK_PROT_PASS);
    /* a sweep over extensions 100..: blocked after at least 20 distinct names,
     * at most a few more (two names may share a bit of the count) */
    while (v == SK_PROT_PASS && n < 100) {
        snprintf(u, sizeof(u), "%u", 100 + n++);
        v = sk_protect_inspect(p, &a, SK_STR_NULL, sk_str_cstr(u), 1000, &r);
    }
    CHK_INT(v, SK_PROT_DROP);
    CHK_INT(r, SK_RULE_SWEEP);
    CHK(n >= 20 && n <= 30);
    /* slowly, each window starts afresh: 15 names a minute is no sweep */
    struct sk_sa slow = ip("192.0.2.9");
    for (unsigned w = 0; w < 5; w++) {
        for (unsigned i = 0; i < 15; i++) {
            snprintf(u, sizeof(u), "%u", 500 + w * 15 + i);
            CHK_INT(sk_protect_inspect(p, &slow, SK_STR_NULL, sk_str_cstr(u),
                                       (int64_t) w * 61000 + i, &r),
                    SK_PROT_PASS);
        }
    }
    sk_protect_free(p);
}

/* Mostly 403/404 over the window: blocked; 401 challenges are normal. */
static void test_ratio(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa a = ip("192.0.2.20"), b = ip("192.0.2.21");
    enum sk_protect_rule r;
    unsigned sent = 0;
    (void) state;
    g_ctx = "ratio";

    quiet_config(&c);
    c.ratio_min = 10;
    c.ratio_pct = 80;
    c.ratio_window = 60;
    p = guard(&c);
    /* a phone: 401 then 200, over and over */
    for (unsigned i = 0; i < 100; i++)
        CHK(sk_protect_response(p, &b, i % 2 ? 200 : 401, i));
    /* provisional responses are not counted */
    for (unsigned i = 0; i < 100; i++)
        CHK(sk_protect_response(p, &a, 100, 0));
    for (unsigned i = 0; i < 20; i++)
        sent += sk_protect_response(p, &a, i % 2 ? 404 : 403, 0);
    CHK_INT(sent, 9); /* the 10th answer makes the ratio */
    CHK_INT(sk_protect_source(p, &a, SK_PROT_OTHER, 1, &r), SK_PROT_DROP);
    /* 20 in 30 is below 80% */
    struct sk_sa m = ip("192.0.2.22");
    for (unsigned i = 0; i < 30; i++)
        CHK(sk_protect_response(p, &m, i < 10 ? 200 : 404, 0));
    CHK_INT(sk_protect_source(p, &m, SK_PROT_OTHER, 1, &r), SK_PROT_PASS);
    sk_protect_free(p);
}

/* The budget of 4xx we send to one source. */
static void test_4xx_budget(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa a = ip("192.0.2.30");
    unsigned sent = 0;
    (void) state;
    g_ctx = "4xx";

    quiet_config(&c);
    c.rate[SK_PROT_4XX] = 1;
    c.burst[SK_PROT_4XX] = 4;
    p = guard(&c);
    for (unsigned i = 0; i < 10; i++)
        sent += sk_protect_response(p, &a, 401, 0);
    CHK_INT(sent, 4);
    CHK(sk_protect_response(p, &a, 200, 0)); /* only 4xx are limited */
    CHK(sk_protect_response(p, &a, 503, 0));
    CHK(sk_protect_response(p, &a, 401, 1000));
    sk_protect_free(p);
}

/* A flood of random addresses reuses the table: its size stays, and blocked
 * sources outlive the churn. */
static void test_eviction_bound(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_sa bad = ip("192.0.2.66");
    struct sk_protect_blocked bl[2];
    struct sk_protect_stats st;
    enum sk_protect_rule r;
    char s[64];
    (void) state;
    g_ctx = "eviction";

    quiet_config(&c);
    c.sources = 64;
    c.prefixes = 64;
    c.prefix_factor = 4;
    c.rate[SK_PROT_OTHER] = 1;
    c.burst[SK_PROT_OTHER] = 1;
    p = guard(&c);
    sk_protect_block(p, &bad, SK_RULE_MANUAL, 0);
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(s, sizeof(s), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        struct sk_sa a = ip(s);
        sk_protect_source(p, &a, SK_PROT_OTHER, i, &r);
    }
    sk_protect_stats(p, &st);
    CHK(st.evicted >= 100000 - 64 - 64);
    CHK_INT(sk_protect_source(p, &bad, SK_PROT_OTHER, 100000, &r), SK_PROT_DROP);
    CHK_INT(sk_protect_blocked_list(p, 100000, bl, 2), 1);
    sk_protect_free(p);
}

/* Many sources guessing one user's password: that user's attempts from
 * unknown sources are slowed to one per slot; its own devices are not held;
 * it ends user_slow_time after the last failure. */
static void test_user_bruteforce(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    struct sk_str alice = sk_str_cstr("alice"), bob = sk_str_cstr("bob");
    struct sk_sa phone = ip("192.0.2.100"), newdev = ip("192.0.2.101");
    unsigned allowed = 0;
    char s[64];
    (void) state;
    g_ctx = "bruteforce";

    quiet_config(&c);
    c.user_fail_limit = 10;
    c.user_fail_window = 60;
    c.user_slow_time = 300;
    c.user_slot_ms = 2000;
    p = guard(&c);
    /* alice's phone logs in once */
    CHK(sk_protect_user_attempt(p, alice, &phone, 0));
    sk_protect_user_result(p, alice, &phone, true, 0);
    /* 10 failures from 10 sources: slowed */
    for (unsigned i = 0; i < 10; i++) {
        snprintf(s, sizeof(s), "203.0.113.%u", i + 1);
        struct sk_sa a = ip(s);
        CHK(sk_protect_user_attempt(p, alice, &a, 1000 + i));
        sk_protect_user_result(p, alice, &a, false, 1000 + i);
    }
    struct sk_protect_stats st;
    sk_protect_stats(p, &st);
    CHK_INT(st.users_slowed, 1);
    /* an attacker's source: one attempt per 2 s slot, whatever it sends */
    struct sk_sa att = ip("203.0.113.50");
    for (int64_t t = 2000; t < 12000; t += 10)
        allowed += sk_protect_user_attempt(p, alice, &att, t);
    CHK_INT(allowed, 5);
    /* alice's own phone always gets through */
    for (int64_t t = 2000; t < 12000; t += 100)
        CHK(sk_protect_user_attempt(p, alice, &phone, t));
    /* a new device of hers gets the next free slot */
    CHK(!sk_protect_user_attempt(p, alice, &newdev, 11995));
    CHK(sk_protect_user_attempt(p, alice, &newdev, 12000));
    /* another user is not affected */
    CHK(sk_protect_user_attempt(p, bob, &att, 12002));
    /* the slowing ends user_slow_time after the last failure (1009 ms) */
    CHK(sk_protect_user_attempt(p, alice, &att,
                                1009 + 300000 - 100)); /* takes the slot */
    CHK(!sk_protect_user_attempt(p, alice, &att, 1009 + 300000 - 1));
    CHK(sk_protect_user_attempt(p, alice, &att, 1009 + 300000));
    CHK(sk_protect_user_attempt(p, alice, &att, 1009 + 300001));
    sk_protect_stats(p, &st);
    CHK(st.dropped[SK_RULE_USER_SLOWED] > 0);
    sk_protect_free(p);
}

static void test_overload(void **state)
{
    struct sk_protect_config c;
    struct sk_protect *p;
    (void) state;
    g_ctx = "overload";

    sk_protect_config_defaults(&c);
    c.overload_txns = 100;
    p = guard(&c);
    CHK(!sk_protect_overloaded(p, 99));
    CHK(sk_protect_overloaded(p, 100));
    sk_protect_free(p);
    c.overload_txns = 0;
    p = guard(&c);
    CHK(!sk_protect_overloaded(p, 1000000));
    sk_protect_free(p);
    CHK(!sk_protect_overloaded(NULL, 1000000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr),           cmocka_unit_test(test_classify),
        cmocka_unit_test(test_trust_acl),      cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_prefix),         cmocka_unit_test(test_flood_block_expiry),
        cmocka_unit_test(test_scanner_ua),     cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_ratio),          cmocka_unit_test(test_4xx_budget),
        cmocka_unit_test(test_eviction_bound), cmocka_unit_test(test_user_bruteforce),
        cmocka_unit_test(test_overload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
