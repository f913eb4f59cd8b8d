/* WebSocket frame headers for `sipkit flow`: net/ws's decoder, for a passive reader. */
#include <string.h>

#include "flow/flow_int.h"
#include "net/ws.h"

/* The header rules (RSV bits, opcodes, lengths, control frames) are net/ws's;
 * what the endpoint adds on top (masking by direction, message order, closing
 * the connection) a capture of both directions must not enforce: stream.c
 * warns and goes on instead. */
int flow_ws_frame_parse(const uint8_t *p, size_t len, struct flow_ws_frame *f,
                        const char **why)
{
    struct sk_ws_frame w;
    int rc = sk_ws_frame_parse(p, len, &w, why);

    if (rc) return rc;
    f->fin = w.fin;
    f->masked = w.masked;
    f->opcode = w.opcode;
    if (w.masked) memcpy(f->mask, w.mask, sizeof(f->mask));
    f->hdr_len = w.hdr_len;
    f->payload_len = w.payload_len;
    return 0;
}
