/* Text outputs of `sipkit flow`: the call table, ladders, Mermaid, JSON, the RTP table.
 */
#ifndef SIPKIT_FLOW_OUT_H
#define SIPKIT_FLOW_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flow/model.h"

/* Which items to show; unset fields match everything. */
struct flow_filter {
    const char *from, *to, *call_id; /* substrings of From/To user@host, Call-ID */
    int status;                      /* exact final status, 0: any */
    int status_class;                /* 4 for "4xx", 0: any */
    bool has_since, has_until;
    double since, until; /* seconds from the capture start, against the item's start */
};

bool flow_filter_active(const struct flow_filter *f);
bool flow_filter_match(const struct flow_filter *f, const struct flow_item *it,
                       uint64_t t0);

/* The verdict column: the first finding's summary, or "ok", "no final response"... */
void flow_verdict(const struct flow_model *m, size_t index, char *buf, size_t size);

/* t0: the capture's first frame time (ns), times print relative to it. */
void flow_out_table(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                    uint64_t t0);
void flow_out_ladder(FILE *o, const struct flow_model *m, size_t index, uint64_t t0,
                     bool colour);
void flow_out_mermaid(FILE *o, const struct flow_model *m, size_t index, uint64_t t0);
/* Returns 0 or ENOMEM. */
int flow_out_json(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  uint64_t t0);
void flow_out_rtp(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  uint64_t t0);

#endif
