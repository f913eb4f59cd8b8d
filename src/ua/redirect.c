/* Following 3xx answers to our INVITE (RFC 3261 §8.1.3.4): the Contacts in q order, no URI twice, a bounded number of redirects. */
#include <stdio.h>
#include <string.h>

#include "ua/ua_int.h"

void ua_redirect_init(struct ua_redirect *r, const char *first_uri)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->tried[0], sizeof(r->tried[0]), "%s", first_uri);
    r->ntried = 1;
}

/* The same URI for the loop guard: as written, but scheme and host without case
 * (RFC 3261 §19.1.4 compares more finely; a loop of equal spellings is what
 * redirect chains produce). */
static bool same_uri(const char *a, const char *b)
{
    const char *at_a = strchr(a, '@'), *at_b = strchr(b, '@');
    size_t ua = at_a ? (size_t) (at_a - a) : 0, ub = at_b ? (size_t) (at_b - b) : 0;
    if (ua != ub || strncmp(a, b, ua) != 0)
        return strcasecmp(a, b) == 0;
    return strcasecmp(a + ua, b + ub) == 0;
}

static bool seen(const struct ua_redirect *r, const char *uri)
{
    for (size_t i = 0; i < r->ntried; i++)
        if (same_uri(r->tried[i], uri))
            return true;
    for (size_t i = 0; i < r->ncand; i++)
        if (same_uri(r->cand[i].uri, uri))
            return true;
    return false;
}

size_t ua_redirect_add(struct ua_redirect *r, const struct sip_addr *contacts, size_t n,
                       uint32_t max_redirects)
{
    size_t added = 0;

    if (r->redirects >= max_redirects)
        return 0;
    r->redirects++;
    /* §8.1.3.4: the new targets replace what was left of the last 3xx (a
     * redirect is an answer for the URI just tried) */
    r->ncand = 0;
    for (size_t i = 0; i < n && r->ncand < UA_REDIRECT_MAX_URIS; i++) {
        const struct sip_addr *a = &contacts[i];
        char uri[UA_STR_MAX];
        size_t k;
        int q;

        if (a->star || a->uri.scheme != SIP_URI_SIP || a->uri.raw.len >= sizeof(uri))
            continue; /* we place calls to sip: URIs only */
        sk_str_copy(uri, sizeof(uri), a->uri.raw);
        if (seen(r, uri))
            continue; /* §8.1.3.4 loop guard: a URI is tried once */
        q = a->q < 0 ? 1000 : a->q; /* §20.10: no q is 1.0 */
        /* insertion by q, stable for equal q (the order the 3xx gave) */
        for (k = r->ncand; k > 0 && r->cand[k - 1].q < q; k--)
            r->cand[k] = r->cand[k - 1];
        snprintf(r->cand[k].uri, sizeof(r->cand[k].uri), "%s", uri);
        r->cand[k].q = q;
        r->ncand++;
        added++;
    }
    return added;
}

bool ua_redirect_next(struct ua_redirect *r, char *out, size_t size)
{
    if (r->ncand == 0 || r->ntried >= UA_REDIRECT_MAX_URIS)
        return false;
    snprintf(out, size, "%s", r->cand[0].uri);
    snprintf(r->tried[r->ntried], sizeof(r->tried[0]), "%s", r->cand[0].uri);
    r->ntried++;
    memmove(&r->cand[0], &r->cand[1], (r->ncand - 1) * sizeof(r->cand[0]));
    r->ncand--;
    return true;
}

/* ---- Forwarding our incoming calls (--forward) ---- */

bool ua_forward_wanted(struct ua *u, bool busy)
{
    if (!u->cfg.forward[0])
        return false;
    return u->cfg.forward_mode == UA_FWD_ALWAYS || (busy && u->cfg.forward_mode == UA_FWD_BUSY);
}

/* "Contact: <sip:carol@localhost>\r\n" for the 302, and the event saying so. */
void ua_forward_contact(struct ua *u, const char *from, const char *why, char *line, size_t size)
{
    char uri[UA_STR_MAX];
    struct ua_event ev = {.type = UA_EV_FORWARDED, .peer = from, .reason = why, .text = uri};

    ua_normalise_target(u, u->cfg.forward, uri, sizeof(uri));
    snprintf(line, size, "Contact: <%s>\r\n", uri);
    ua_emit(u, &ev);
}
