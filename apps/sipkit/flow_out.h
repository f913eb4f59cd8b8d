/* Outputs of `sipkit flow`: the call table, ladders, Mermaid, JSON, the RTP table, the
 * HTML page. */
#ifndef SIPKIT_FLOW_OUT_H
#define SIPKIT_FLOW_OUT_H

#include <stdbool.h>
#include <stddef.h>
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

/* What flow_out_html put in the page. */
struct flow_html_info {
    size_t items;   /* rows of the table */
    size_t ladders; /* items drawn (at most 200, the page's limit) */
    bool capped;    /* items were left undrawn */
};
/* One self-contained HTML page (flow_html.c): the table of the items f matches (only
 * >= 0: that item alone), each one's ladder as SVG with its messages, findings and RTP
 * jitter/loss plots. title: shown in the page (the capture's name). info may be NULL.
 * Returns 0, ENOMEM or EIO (a write failed). */
int flow_out_html(FILE *o, const struct flow_model *m, const struct flow_filter *f,
                  long only, uint64_t t0, const char *title, struct flow_html_info *info);

#endif
