/* WebSocket frame headers (RFC 6455 §5.2): a pure function over (buf, len). */
#include <errno.h>

#include "flow/flow_int.h"

int flow_ws_frame_parse(const uint8_t *p, size_t len, struct flow_ws_frame *f,
                        const char **why)
{
    size_t need = 2;
    uint64_t plen;

    if (len < 2) return EAGAIN;
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->masked = (p[1] & 0x80) != 0;
    plen = p[1] & 0x7f;
    if (p[0] & 0x70) {
        /* RSV bits are only set by negotiated extensions (permessage-deflate). */
        *why = "reserved bits set (a compression extension?)";
        return EBADMSG;
    }
    if (plen == 126)
        need += 2;
    else if (plen == 127)
        need += 8;
    if (f->masked) need += 4;
    if (len < need) return EAGAIN;
    if (plen == 126) {
        plen = (uint64_t) p[2] << 8 | p[3];
    } else if (plen == 127) {
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        /* §5.2: the most significant bit MUST be 0. */
        if (plen >> 63) {
            *why = "64-bit payload length with the top bit set";
            return EBADMSG;
        }
    }
    if (f->masked)
        for (int i = 0; i < 4; i++)
            f->mask[i] = p[need - 4 + (size_t) i];
    if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode >= 11) {
        *why = "reserved opcode";
        return EBADMSG;
    }
    /* §5.5: control frames are short and never fragmented. */
    if (f->opcode >= 8 && (plen > 125 || !f->fin)) {
        *why = "control frame longer than 125 bytes or fragmented";
        return EBADMSG;
    }
    f->hdr_len = need;
    f->payload_len = plen;
    return 0;
}
