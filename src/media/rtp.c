/* RTP header parse/write (RFC 3550 §5.1) and RFC 4733 telephone events. */
#include "base/bytes.h"
#include "media/rtp.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int rtp_parse(struct rtp_hdr *h, const uint8_t *buf, size_t len, struct media_error *err)
{
    size_t off, end = len;

    memset(h, 0, sizeof(*h));
    if (len < RTP_HEADER_MIN)
        return media_fail(err, "shorter than the 12-byte RTP header", len);
    h->version = buf[0] >> 6;
    if (h->version != 2) return media_fail(err, "RTP version is not 2", 0);
    h->padding = (buf[0] & 0x20) != 0;
    h->extension = (buf[0] & 0x10) != 0;
    h->cc = buf[0] & 0x0F;
    h->marker = (buf[1] & 0x80) != 0;
    h->pt = buf[1] & 0x7F;
    h->seq = sk_get16(buf + 2);
    h->ts = sk_get32(buf + 4);
    h->ssrc = sk_get32(buf + 8);
    off = RTP_HEADER_MIN;
    if (len - off < (size_t) h->cc * 4)
        return media_fail(err, "CSRC list longer than the packet", off);
    for (unsigned i = 0; i < h->cc; i++, off += 4)
        h->csrc[i] = sk_get32(buf + off);
    /* RFC 3550 §5.1: the padding count includes itself, so it is at least 1, and it
     * cannot eat into the header (it may leave an empty payload). */
    if (h->padding) {
        uint8_t pad = buf[len - 1];

        if (pad == 0) return media_fail(err, "padding count is 0", len - 1);
        if (pad > len - off)
            return media_fail(err, "padding longer than the payload", len - 1);
        h->pad_len = pad;
        end = len - pad;
    }
    /* RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words. */
    if (h->extension) {
        size_t words;

        if (end - off < 4) return media_fail(err, "header extension truncated", off);
        h->ext_profile = sk_get16(buf + off);
        words = sk_get16(buf + off + 2);
        off += 4;
        if (end - off < words * 4)
            return media_fail(err, "header extension longer than the packet", off - 2);
        h->ext = buf + off;
        h->ext_len = words * 4;
        off += words * 4;
    }
    h->payload = buf + off;
    h->payload_len = end - off;
    return 0;
}

int rtp_write(const struct rtp_hdr *h, const uint8_t *payload, size_t payload_len,
              uint8_t *out, size_t size, size_t *outlen)
{
    size_t need = RTP_HEADER_MIN, off;

    if (h->cc > RTP_MAX_CSRC || h->pt > 127 || (payload_len && !payload)) return EINVAL;
    if (h->extension &&
        (h->ext_len % 4 != 0 || h->ext_len / 4 > 0xFFFF || (h->ext_len && !h->ext)))
        return EINVAL;
    need += (size_t) h->cc * 4;
    if (h->extension) need += 4 + h->ext_len;
    if (payload_len > SIZE_MAX - need - 255) return ENOSPC;
    need += payload_len + h->pad_len;
    if (need > size) return ENOSPC;
    out[0] =
        (uint8_t) (0x80 | (h->pad_len ? 0x20 : 0) | (h->extension ? 0x10 : 0) | h->cc);
    out[1] = (uint8_t) ((h->marker ? 0x80 : 0) | h->pt);
    sk_put16(out + 2, h->seq);
    sk_put32(out + 4, h->ts);
    sk_put32(out + 8, h->ssrc);
    off = RTP_HEADER_MIN;
    for (unsigned i = 0; i < h->cc; i++, off += 4)
        sk_put32(out + off, h->csrc[i]);
    if (h->extension) {
        sk_put16(out + off, h->ext_profile);
        sk_put16(out + off + 2, (uint16_t) (h->ext_len / 4));
        off += 4;
        if (h->ext_len) memcpy(out + off, h->ext, h->ext_len);
        off += h->ext_len;
    }
    if (payload_len) memcpy(out + off, payload, payload_len);
    off += payload_len;
    if (h->pad_len) {
        memset(out + off, 0, h->pad_len);
        off += h->pad_len;
        out[off - 1] = h->pad_len;
    }
    *outlen = off;
    return 0;
}

/* ---- RFC 4733 §2.3: event (8), E (1), R (1), volume (6), duration (16) ---- */

int rtp_event_parse(struct rtp_event *ev, const uint8_t *p, size_t len,
                    struct media_error *err)
{
    memset(ev, 0, sizeof(*ev));
    if (len < RTP_EVENT_LEN)
        return media_fail(err, "telephone-event payload shorter than 4 bytes", len);
    ev->event = p[0];
    ev->end = (p[1] & 0x80) != 0;
    ev->volume = p[1] & 0x3F;
    ev->duration = sk_get16(p + 2);
    return 0;
}

int rtp_event_build(const struct rtp_event *ev, uint8_t out[RTP_EVENT_LEN])
{
    if (ev->volume > 63) return EINVAL;
    out[0] = ev->event;
    out[1] = (uint8_t) ((ev->end ? 0x80 : 0) | ev->volume);
    sk_put16(out + 2, ev->duration);
    return 0;
}

static const char dtmf_chars[] = "0123456789*#ABCD";

char rtp_event_char(uint8_t event)
{
    return event < 16 ? dtmf_chars[event] : 0;
}

int rtp_event_code(char c, uint8_t *event)
{
    if (c >= 'a' && c <= 'd') c = (char) (c - 'a' + 'A');
    for (uint8_t i = 0; i < 16; i++) {
        if (dtmf_chars[i] == c) {
            *event = i;
            return 0;
        }
    }
    return EINVAL;
}

/* ---- sender ---- */

int rtp_dtmf_tx_init(struct rtp_dtmf_tx *tx, uint32_t clock_rate, unsigned ptime_ms)
{
    memset(tx, 0, sizeof(*tx));
    if (clock_rate < 1000 || clock_rate > 192000 || ptime_ms < 1 || ptime_ms > 200)
        return EINVAL;
    tx->rate = clock_rate;
    tx->step = (uint32_t) ((uint64_t) clock_rate * ptime_ms / 1000);
    return 0;
}

int rtp_dtmf_tx_start(struct rtp_dtmf_tx *tx, char digit, unsigned duration_ms,
                      uint8_t volume, uint32_t ts)
{
    uint8_t code;

    if (tx->active) return EBUSY;
    if (!tx->step || rtp_event_code(digit, &code) != 0 || duration_ms == 0 || volume > 63)
        return EINVAL;
    tx->active = true;
    tx->event = code;
    tx->volume = volume;
    tx->ts = ts;
    tx->total = (uint64_t) duration_ms * tx->rate / 1000;
    if (tx->total == 0) tx->total = 1;
    tx->elapsed = 0;
    tx->seg_start = 0;
    tx->started = false;
    tx->end_left = 0;
    tx->seg_end_left = 0;
    return 0;
}

bool rtp_dtmf_tx_active(const struct rtp_dtmf_tx *tx)
{
    return tx->active;
}

void rtp_dtmf_tx_end(struct rtp_dtmf_tx *tx)
{
    uint64_t at = tx->elapsed + tx->step;

    if (!tx->active || tx->end_left > 0) return;
    /* the next tick adds one step and finds itself at the total */
    if (at < tx->total) tx->total = at;
}

static void tx_emit(struct rtp_dtmf_tx *tx, struct rtp_dtmf_pkt *pkt, uint32_t ts,
                    uint32_t duration, bool end)
{
    memset(pkt, 0, sizeof(*pkt));
    pkt->ts = ts;
    /* RFC 4733 §2.5.1.1: the marker bit on the first packet of an event only. */
    pkt->marker = !tx->started;
    tx->started = true;
    pkt->ev.event = tx->event;
    pkt->ev.end = end;
    pkt->ev.volume = tx->volume;
    pkt->ev.duration = (uint16_t) duration;
    rtp_event_build(&pkt->ev, pkt->payload);
}

void rtp_dtmf_tx_tick(struct rtp_dtmf_tx *tx,
                      struct rtp_dtmf_pkt pkts[RTP_DTMF_TX_MAX_PKTS], size_t *n)
{
    uint64_t seg;

    *n = 0;
    if (!tx->active) return;
    /* §2.5.1.4: the last packet of a finished segment, repeated at the update interval.
     */
    if (tx->seg_end_left > 0) {
        tx_emit(tx, &pkts[(*n)++], tx->seg_end_ts, RTP_EVENT_MAX_DURATION, false);
        tx->seg_end_left--;
    }
    if (tx->end_left > 0) {
        tx_emit(tx, &pkts[(*n)++], tx->ts, (uint32_t) (tx->total - tx->seg_start), true);
        tx->end_left--;
        if (tx->end_left == 0 && tx->seg_end_left == 0) tx->active = false;
        return;
    }
    tx->elapsed += tx->step;
    if (tx->elapsed > tx->total) tx->elapsed = tx->total;
    seg = tx->elapsed - tx->seg_start;
    /* §2.5.1.3: a duration that no longer fits 16 bits ends the segment at 0xFFFF and
     * starts the next one at timestamp + 0xFFFF; the rest goes out on the next tick. */
    if (seg > RTP_EVENT_MAX_DURATION ||
        (seg == RTP_EVENT_MAX_DURATION && tx->elapsed < tx->total)) {
        tx_emit(tx, &pkts[(*n)++], tx->ts, RTP_EVENT_MAX_DURATION, false);
        tx->seg_end_left = RTP_EVENT_END_REPEATS - 1;
        tx->seg_end_ts = tx->ts;
        tx->ts += RTP_EVENT_MAX_DURATION;
        tx->seg_start += RTP_EVENT_MAX_DURATION;
        return;
    }
    if (tx->elapsed == tx->total) {
        tx_emit(tx, &pkts[(*n)++], tx->ts, (uint32_t) seg, true);
        tx->end_left = RTP_EVENT_END_REPEATS - 1;
        return;
    }
    tx_emit(tx, &pkts[(*n)++], tx->ts, (uint32_t) seg, false);
}

/* ---- receiver ---- */

void rtp_dtmf_rx_init(struct rtp_dtmf_rx *rx)
{
    memset(rx, 0, sizeof(*rx));
}

static void rx_report(struct rtp_dtmf_rx *rx, bool ended, struct rtp_dtmf_digit *d)
{
    d->c = rtp_event_char(rx->event);
    d->event = rx->event;
    d->ts = rx->first_ts;
    d->duration = rx->base + rx->duration;
    d->ended = ended;
    rx->active = false;
    rx->have_last = true;
    rx->last_ts = rx->ts;
}

static bool ts_before(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) < 0;
}

void rtp_dtmf_rx_packet(struct rtp_dtmf_rx *rx, uint32_t ts, const struct rtp_event *ev,
                        struct rtp_dtmf_digit out[2], size_t *n)
{
    *n = 0;
    /* Retransmitted ends and stragglers of the event already reported. */
    if (rx->have_last && (ts == rx->last_ts || ts_before(ts, rx->last_ts))) return;
    if (rx->active) {
        if (ts == rx->ts) {
            if (ev->duration > rx->duration) rx->duration = ev->duration;
            if (ev->end) rx_report(rx, true, &out[(*n)++]);
            return;
        }
        if (ts_before(ts, rx->ts)) return; /* reordered packet of an earlier segment */
        /* §2.5.1.3: the next segment of a long event starts 0xFFFF after this one. */
        if (ev->event == rx->event && ts - rx->ts == RTP_EVENT_MAX_DURATION) {
            rx->base += RTP_EVENT_MAX_DURATION;
            rx->ts = ts;
            rx->duration = ev->duration;
            if (ev->end) rx_report(rx, true, &out[(*n)++]);
            return;
        }
        /* A later event: this one is over though its end packets were lost. */
        rx_report(rx, false, &out[(*n)++]);
    }
    /* A new event, whether or not its first (marker) packet arrived. */
    rx->active = true;
    rx->event = ev->event;
    rx->ts = ts;
    rx->first_ts = ts;
    rx->base = 0;
    rx->duration = ev->duration;
    if (ev->end) rx_report(rx, true, &out[(*n)++]);
}

int rtp_dtmf_rx_flush(struct rtp_dtmf_rx *rx, struct rtp_dtmf_digit *out)
{
    if (!rx->active) return ENOENT;
    rx_report(rx, false, out);
    return 0;
}
