/* libFuzzer target: the input as a pcap file, read from memory through the whole capture
 * reader and reassembly. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/capture.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits, so that a short input reaches the eviction and overflow paths. */
static const struct flow_limits small_limits = {
    .frag_max_pending = 4,
    .frag_max_bytes = 16384,
    .frag_timeout_ns = 1000000000,
    .tcp_max_streams = 4,
    .tcp_max_ooo_bytes = 4096,
    .tcp_max_ooo_segments = 8,
    .tcp_gap_timeout_ns = 1000000000,
    .stream_max_buffer = 8192,
    .ws_max_message = 4096,
    .tcp_max_bytes = 65536,
};

static void on_packet(void *arg, const struct flow_packet *p)
{
    unsigned h = 0;

    (void) arg;
    CHECK(p->frame >= 1 && p->first_frame >= 1 && p->first_frame <= p->frame,
          "frame numbers out of order");
    CHECK(p->len == 0 || p->data != NULL, "packet with a length but no data");
    for (size_t i = 0; i < p->len; i++)
        h = h * 31u + p->data[i];
    if (p->is_sip)
        CHECK(flow_is_sip(p->data, p->len) || p->transport == FLOW_TCP,
              "is_sip set on a payload that does not start with a SIP line");
    sink += h;
}

static void on_warning(void *arg, uint64_t frame, enum flow_problem kind,
                       const char *text)
{
    (void) arg;
    (void) frame;
    CHECK((unsigned) kind < FLOW_PROB__COUNT, "warning of an unknown kind");
    CHECK(text != NULL && text[0] != '\0', "warning without text");
    sink += (unsigned) strlen(text);
}

static void run(const uint8_t *data, size_t size, const struct flow_limits *lim)
{
    struct flow_sink s = {.packet = on_packet, .warning = on_warning, .arg = NULL};
    struct flow_capture *c;
    char err[256];
    FILE *fp;

    fp = fmemopen((void *) data, size, "rb");
    if (!fp) return;
    if (flow_capture_open_fp(&c, fp, lim, err, sizeof(err)) != 0) return;
    CHECK(flow_capture_run(c, &s, NULL) == 0, "a file read ended with an error code");
    flow_capture_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    if (size == 0) return 0;
    /* An exact copy, so any read past the end is an ASan report. */
    copy = malloc(size);
    if (!copy) abort();
    memcpy(copy, data, size);
    run(copy, size, NULL);
    run(copy, size, &small_limits);
    free(copy);
    return 0;
}
