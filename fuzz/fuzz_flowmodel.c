/* libFuzzer target: the flow analysis model fed SIP messages and UDP datagrams between a
 * few addresses, then every table, figure and diagnosis read back. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/model.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: records of [flags][len hi][len lo][len bytes]. flags bit 0: SIP; bits 1-2: the
 * source, bits 3-4: the destination, among 10.0.0.1:5060, 10.0.0.2:5060,
 * 10.0.0.1:4000, 10.0.0.2:5000 (the seeds' SDP addresses). */
static void addr_of(unsigned k, struct sk_sa *a)
{
    static const char *const IP[] = {"10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"};
    static const uint16_t PORT[] = {5060, 5060, 4000, 5000};

    sk_sa_from_ip(a, sk_str_cstr(IP[k & 3]), PORT[k & 3]);
}

static void read_back(struct flow_model *m)
{
    size_t n, nm, nt, ns;
    const struct flow_item *it = flow_model_items(m, &n);
    const struct flow_msg *msg = flow_model_msgs(m, &nm);
    const struct flow_stream *s = flow_model_streams(m, &ns);
    const struct flow_txn *t = flow_model_txns(m, &nt);

    for (size_t i = 0; i < n; i++) {
        struct flow_finding fd[FLOW_MAX_FINDINGS];
        size_t nf = flow_diagnose(m, i, fd, FLOW_MAX_FINDINGS);
        CHECK(nf <= FLOW_MAX_FINDINGS, "findings within the array");
        for (size_t k = 0; k < nf; k++)
            CHECK(strlen(fd[k].summary) < sizeof(fd[k].summary), "summary terminated");
        CHECK(it[i].ndialogs <= FLOW_MODEL_MAX_DIALOGS, "dialogs bounded");
        CHECK(strlen(it[i].call_id) < FLOW_MODEL_CALLID_MAX, "Call-ID terminated");
        CHECK(flow_model_find_call_id(m, it[i].call_id) >= 0, "a Call-ID finds its item");
    }
    for (size_t i = 0; i < nm; i++) {
        size_t len;
        const char *p = flow_model_msg_text(m, &msg[i], &len);
        for (size_t k = 0; p && k < len; k++)
            sink += (unsigned char) p[k];
        CHECK(msg[i].item < (int32_t) n, "message item in range");
        CHECK(msg[i].txn < (int32_t) nt, "message transaction in range");
        if (msg[i].sdp >= 0)
            CHECK(flow_model_sdp(m, msg[i].sdp) != NULL, "SDP summary kept");
    }
    for (size_t i = 0; i < nt; i++)
        CHECK(t[i].item < (int32_t) n, "transaction item in range");
    for (size_t i = 0; i < ns; i++) {
        struct flow_stream_figures f;
        flow_stream_figures(&s[i], &f);
        CHECK(f.lost >= 0, "lost never negative");
        CHECK(f.packets == s[i].seq.packets, "packets counted");
        CHECK(s[i].item < (int32_t) n, "stream item in range");
        CHECK(strlen(s[i].digits) <= FLOW_MODEL_DIGITS_MAX, "digits bounded");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flow_model *m;
    struct flow_model_limits lim = flow_model_limits_default;
    uint64_t frame = 0, ts = 1700000000000000000ull;

    lim.max_items = 16; /* reach the limits too */
    lim.max_streams = 8;
    lim.max_text_bytes = 8192;
    if (flow_model_new(&m, &lim)) return 0;
    while (size >= 3) {
        size_t len = (size_t) data[1] << 8 | data[2];
        struct flow_packet p = {0};
        uint8_t *copy;

        if (len > size - 3) len = size - 3;
        copy = malloc(len ? len : 1); /* exactly sized: over-reads are ASan reports */
        if (!copy) abort();
        if (len) memcpy(copy, data + 3, len);
        p.frame = p.first_frame = ++frame;
        ts += 20000000;
        p.ts_ns = ts;
        addr_of(data[0] >> 1, &p.src);
        addr_of(data[0] >> 3, &p.dst);
        p.transport = FLOW_UDP;
        p.ip_proto = 17;
        p.data = copy;
        p.len = len;
        p.is_sip = data[0] & 1;
        flow_model_feed(m, &p);
        free(copy);
        data += 3 + len;
        size -= 3 + len;
    }
    flow_model_finish(m);
    read_back(m);
    flow_model_free(m);
    return 0;
}
