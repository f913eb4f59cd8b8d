/* Socket addresses of either family (IPv4, IPv6): parse, print, compare. */
#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *sk_sa_ip(const struct sk_sa *a, char *buf, size_t size)
{
    if (a->u.sa.sa_family == AF_INET && size >= 16) {
        /* dotted quad by hand: this runs for every response we send */
        const unsigned char *b = (const unsigned char *) &a->u.in.sin_addr;
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = b[i];
            if (v >= 100)
                *p++ = (char) ('0' + v / 100);
            if (v >= 10)
                *p++ = (char) ('0' + v / 10 % 10);
            *p++ = (char) ('0' + v % 10);
            *p++ = i < 3 ? '.' : '\0';
        }
        return buf;
    }
    const void *src = a->u.sa.sa_family == AF_INET6 ? (const void *) &a->u.in6.sin6_addr
                                                    : (const void *) &a->u.in.sin_addr;
    if (!inet_ntop(a->u.sa.sa_family, src, buf, (socklen_t) size))
        snprintf(buf, size, "?");
    return buf;
}

uint16_t sk_sa_port(const struct sk_sa *a)
{
    return ntohs(a->u.sa.sa_family == AF_INET6 ? a->u.in6.sin6_port : a->u.in.sin_port);
}

void sk_sa_set_port(struct sk_sa *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons(port);
    else
        a->u.in.sin_port = htons(port);
}

/* A dotted quad as inet_pton(AF_INET) reads it (four decimal parts of 0..255, no
 * leading zeros), without the copy and the call: every request and response runs
 * this. Anything else is left to inet_pton. */
static bool quad(struct sk_str ip, struct in_addr *out)
{
    unsigned char b[4];
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;
        if (part > 0) {
            if (i >= ip.len || ip.p[i] != '.')
                return false;
            start = ++i;
        }
        while (i < ip.len && ip.p[i] >= '0' && ip.p[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned) (ip.p[i++] - '0');
        if (i == start || v > 255 || (ip.p[start] == '0' && i - start > 1))
            return false;
        b[part] = (unsigned char) v;
    }
    if (i != ip.len)
        return false;
    memcpy(out, b, 4);
    return true;
}

int sk_sa_from_ip(struct sk_sa *a, struct sk_str ip, uint16_t port)
{
    char buf[64];

    memset(a, 0, sizeof(*a));
    if (quad(ip, &a->u.in.sin_addr)) {
        a->u.in.sin_family = AF_INET;
        a->u.in.sin_port = htons(port);
        a->len = sizeof(a->u.in);
        return 0;
    }
    if (ip.len >= 2 && ip.p[0] == '[' && ip.p[ip.len - 1] == ']')
        ip = sk_str_make(ip.p + 1, ip.len - 2);
    if (ip.len == 0 || ip.len >= sizeof(buf))
        return EINVAL;
    sk_str_copy(buf, sizeof(buf), ip);
    if (inet_pton(AF_INET, buf, &a->u.in.sin_addr) == 1) {
        a->u.in.sin_family = AF_INET;
        a->u.in.sin_port = htons(port);
        a->len = sizeof(a->u.in);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, &a->u.in6.sin6_addr) == 1) {
        a->u.in6.sin6_family = AF_INET6;
        a->u.in6.sin6_port = htons(port);
        a->len = sizeof(a->u.in6);
        return 0;
    }
    return EINVAL;
}

bool sk_sa_equal(const struct sk_sa *a, const struct sk_sa *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return false;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in.sin_port == b->u.in.sin_port &&
               a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
    if (a->u.sa.sa_family == AF_INET6)
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return false;
}

const char *sk_sa_str(const struct sk_sa *a, char *buf, size_t size)
{
    char ip[64];
    char port[6], *q = port + sizeof(port);
    unsigned v = sk_sa_port(a);
    bool v6 = a->u.sa.sa_family == AF_INET6;
    size_t il, pl, need;

    sk_sa_ip(a, ip, sizeof(ip));
    /* "[ip]:port" or "ip:port" without printf: the registrar records one per binding */
    do {
        *--q = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    il = strlen(ip);
    pl = (size_t) (port + sizeof(port) - q);
    need = il + pl + (v6 ? 2 : 0) + 2;
    if (size < need) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    char *o = buf;
    if (v6)
        *o++ = '[';
    memcpy(o, ip, il);
    o += il;
    if (v6)
        *o++ = ']';
    *o++ = ':';
    memcpy(o, q, pl);
    o[pl] = '\0';
    return buf;
}

