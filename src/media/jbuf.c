/* Jitter buffer: frames slotted by timestamp, played at a target delay that can adapt to
 * jitter. */
#include "media/jbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Adaptive target: about four times the mean jitter covers the delay spread of most
 * networks; a late packet adds one frame at once; shrinking waits until there has
 * been no late packet for a while and goes one frame at a time. */
#define JBUF_JITTER_FACTOR 4
#define JBUF_SHRINK_QUIET_TICKS 500 /* 10 s of 20 ms ticks without a late packet */
#define JBUF_CHANGE_TICKS 250       /* at most one target decrease per 5 s */
#define JBUF_LOW_PERSIST 5   /* a delay short of target this many ticks: hold a tick */
#define JBUF_HIGH_PERSIST 25 /* too long this many ticks (0.5 s): drop a frame */

enum jb_state { JB_EMPTY, JB_BUFFERING, JB_PLAYING };

struct jb_slot {
    bool used;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    size_t len;
    uint8_t data[JBUF_PAYLOAD_MAX];
};

struct jbuf {
    struct jbuf_config cfg;
    uint32_t frame; /* timestamp units per frame */
    enum jb_state state;
    bool have_ssrc;
    uint32_t ssrc;
    uint32_t play_ts;  /* timestamp of the next frame to play */
    unsigned play_idx; /* its slot; frame k ahead of it sits k slots on */
    uint32_t newest_ts;
    unsigned waited; /* ticks spent buffering */
    unsigned idle;   /* consecutive missing ticks */
    size_t held;     /* slots in use */
    unsigned target_ms;
    uint64_t tick;
    uint64_t last_late_tick, last_change_tick;
    unsigned low_ticks, high_ticks;
    /* §A.8 jitter of arrivals, in timestamp units */
    bool have_transit;
    int64_t last_arrival_us;
    uint32_t last_ts;
    double jitter;
    struct jbuf_stats st;
    struct jb_slot slot[JBUF_SLOTS];
    uint8_t out[JBUF_PAYLOAD_MAX]; /* the frame handed out last */
};

void jbuf_config_default(struct jbuf_config *cfg)
{
    cfg->clock_rate = 8000;
    cfg->ptime_ms = 20;
    cfg->adaptive = true;
    cfg->target_ms = JBUF_TARGET_MS;
    cfg->min_ms = JBUF_MIN_MS;
    cfg->max_ms = JBUF_MAX_MS;
}

int jbuf_new(struct jbuf **jp, const struct jbuf_config *cfg)
{
    struct jbuf *jb;

    *jp = NULL;
    if (cfg->clock_rate < 1000 || cfg->clock_rate > 192000 || cfg->ptime_ms < 10 ||
        cfg->ptime_ms > 60 || cfg->min_ms > cfg->max_ms || cfg->target_ms < cfg->min_ms ||
        cfg->target_ms > cfg->max_ms || cfg->max_ms / cfg->ptime_ms + 2 > JBUF_SLOTS / 2)
        return EINVAL;
    jb = calloc(1, sizeof(*jb));
    if (!jb) return ENOMEM;
    jb->cfg = *cfg;
    jb->frame = (uint32_t) ((uint64_t) cfg->clock_rate * cfg->ptime_ms / 1000);
    jb->target_ms = cfg->target_ms;
    *jp = jb;
    return 0;
}

void jbuf_free(struct jbuf *jb)
{
    free(jb);
}

static void clear_slots(struct jbuf *jb)
{
    for (size_t i = 0; i < JBUF_SLOTS; i++)
        jb->slot[i].used = false;
    jb->held = 0;
}

/* Start over from a packet with timestamp ts. */
static void restart(struct jbuf *jb, uint32_t ts)
{
    clear_slots(jb);
    jb->state = JB_BUFFERING;
    jb->play_ts = ts;
    jb->play_idx = 0;
    jb->newest_ts = ts;
    jb->waited = 0;
    jb->idle = 0;
    jb->low_ticks = jb->high_ticks = 0;
}

/* Slots are relative to the play position, so timestamp wrap does not matter; a
 * timestamp between two frame times goes with the earlier one. */
static struct jb_slot *slot_of(struct jbuf *jb, uint32_t ts)
{
    uint32_t k = (uint32_t) (ts - jb->play_ts) / jb->frame;

    return &jb->slot[(jb->play_idx + k) % JBUF_SLOTS];
}

static void advance(struct jbuf *jb)
{
    jb->play_ts += jb->frame;
    jb->play_idx = (jb->play_idx + 1) % JBUF_SLOTS;
}

static unsigned ceil_ptime(const struct jbuf *jb, double ms)
{
    unsigned p = jb->cfg.ptime_ms;
    double frames = ms / p;
    unsigned n = (unsigned) frames;

    if ((double) n < frames) n++;
    return n * p;
}

static void set_target(struct jbuf *jb, unsigned ms)
{
    if (ms < jb->cfg.min_ms) ms = jb->cfg.min_ms;
    if (ms > jb->cfg.max_ms) ms = jb->cfg.max_ms;
    jb->target_ms = ms;
}

static void update_jitter(struct jbuf *jb, uint32_t ts, int64_t arrival_us)
{
    if (jb->have_transit) {
        double r = (double) (arrival_us - jb->last_arrival_us) * jb->cfg.clock_rate / 1e6;
        double d = r - (double) (int32_t) (ts - jb->last_ts);

        if (d < 0) d = -d;
        jb->jitter += (d - jb->jitter) / 16.0;
    }
    jb->have_transit = true;
    jb->last_arrival_us = arrival_us;
    jb->last_ts = ts;
}

int jbuf_put(struct jbuf *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, bool marker,
             const uint8_t *payload, size_t len, int64_t arrival_us)
{
    int64_t ahead; /* 64 bits, so that -ahead cannot overflow */
    int64_t window = (int64_t) jb->frame * (JBUF_SLOTS / 2);
    struct jb_slot *sl;

    if (len > JBUF_PAYLOAD_MAX) {
        jb->st.too_big++;
        return EMSGSIZE;
    }
    if (!jb->have_ssrc || ssrc != jb->ssrc) {
        if (jb->have_ssrc) jb->st.resets++;
        jb->have_ssrc = true;
        jb->ssrc = ssrc;
        jb->have_transit = false;
        jb->jitter = 0;
        restart(jb, ts);
    } else if (jb->state == JB_EMPTY) {
        restart(jb, ts);
    }
    update_jitter(jb, ts, arrival_us);
    ahead = (int32_t) (ts - jb->play_ts);
    if (ahead < 0 && jb->state == JB_BUFFERING && -ahead < window) {
        /* an earlier packet while we wait: start that many frames earlier */
        uint32_t back = ((uint32_t) -ahead + jb->frame - 1) / jb->frame;

        jb->play_ts -= back * jb->frame;
        jb->play_idx = (jb->play_idx + JBUF_SLOTS - back % JBUF_SLOTS) % JBUF_SLOTS;
        ahead = (int32_t) (ts - jb->play_ts);
    }
    if (ahead < 0 && -ahead < window) {
        jb->st.late++;
        if (jb->cfg.adaptive) {
            set_target(jb, jb->target_ms + jb->cfg.ptime_ms);
            jb->last_late_tick = jb->tick;
        }
        return ETIMEDOUT;
    }
    if (ahead < 0 || ahead >= window) {
        /* a timestamp jump either way: the sender restarted or skipped */
        jb->st.resets++;
        restart(jb, ts);
    }
    sl = slot_of(jb, ts);
    if (sl->used && sl->ts == ts) {
        jb->st.duplicates++;
        return EEXIST;
    }
    if (!sl->used) jb->held++;
    sl->used = true;
    sl->marker = marker;
    sl->seq = seq;
    sl->ts = ts;
    sl->len = len;
    if (len) memcpy(sl->data, payload, len);
    if ((int32_t) (ts - jb->newest_ts) > 0) jb->newest_ts = ts;
    jb->st.stored++;
    return 0;
}

/* Adaptive target from the jitter estimate (never below what late packets asked). */
static void adapt(struct jbuf *jb)
{
    double jitter_ms = jb->jitter * 1000.0 / jb->cfg.clock_rate;
    unsigned want = ceil_ptime(jb, JBUF_JITTER_FACTOR * jitter_ms);

    if (want < jb->cfg.min_ms) want = jb->cfg.min_ms;
    if (want > jb->target_ms) {
        set_target(jb, want);
        jb->last_change_tick = jb->tick;
    } else if (want < jb->target_ms &&
               jb->tick - jb->last_late_tick > JBUF_SHRINK_QUIET_TICKS &&
               jb->tick - jb->last_change_tick > JBUF_CHANGE_TICKS) {
        set_target(jb, jb->target_ms - jb->cfg.ptime_ms);
        jb->last_change_tick = jb->tick;
    }
}

/* Delay now held, in ms: from the frame due to the end of the newest one. */
static unsigned depth_ms(const struct jbuf *jb)
{
    int32_t d = (int32_t) (jb->newest_ts + jb->frame - jb->play_ts);

    if (d <= 0) return 0;
    return (unsigned) ((uint64_t) d * 1000 / jb->cfg.clock_rate);
}

/* Dropping audio hurts more than a little extra delay: only well above target. */
static unsigned high_margin(const struct jbuf *jb)
{
    unsigned four = 4 * jb->cfg.ptime_ms;

    return jb->target_ms > four ? jb->target_ms : four;
}

static bool take(struct jbuf *jb, uint32_t ts, struct jbuf_frame *f)
{
    struct jb_slot *sl = slot_of(jb, ts);

    if (!sl->used || sl->ts != ts) return false;
    memcpy(jb->out, sl->data, sl->len);
    f->seq = sl->seq;
    f->ts = sl->ts;
    f->marker = sl->marker;
    f->payload = jb->out;
    f->len = sl->len;
    sl->used = false;
    jb->held--;
    return true;
}

enum jbuf_result jbuf_get(struct jbuf *jb, struct jbuf_frame *f)
{
    unsigned depth, p = jb->cfg.ptime_ms;

    memset(f, 0, sizeof(*f));
    jb->tick++;
    if (jb->cfg.adaptive) adapt(jb);
    if (jb->state == JB_EMPTY) return JBUF_WAITING;
    if (jb->state == JB_BUFFERING) {
        /* the first frame plays target_ms after it arrived */
        if (++jb->waited <= jb->target_ms / p) return JBUF_WAITING;
        jb->state = JB_PLAYING;
    }
    /* Keep the held delay near the target: hold a tick back when it stays short,
     * drop the due frame when it stays long (clock drift, a shrinking target). */
    depth = depth_ms(jb);
    jb->low_ticks = depth + p < jb->target_ms ? jb->low_ticks + 1 : 0;
    jb->high_ticks = depth > jb->target_ms + high_margin(jb) ? jb->high_ticks + 1 : 0;
    if (jb->low_ticks >= JBUF_LOW_PERSIST && jb->held > 0) {
        jb->low_ticks = 0;
        jb->st.stretched++;
        jb->st.missing++;
        return JBUF_MISSING;
    }
    if (jb->high_ticks >= JBUF_HIGH_PERSIST) {
        struct jbuf_frame drop;

        jb->high_ticks = 0;
        if (take(jb, jb->play_ts, &drop)) jb->st.skipped++;
        advance(jb);
    }
    if (take(jb, jb->play_ts, f)) {
        advance(jb);
        jb->idle = 0;
        jb->st.played++;
        return JBUF_FRAME;
    }
    advance(jb);
    if (jb->held == 0 && ++jb->idle >= JBUF_UNDERRUN_TICKS) {
        /* the stream stopped (silence suppression, hold, end): buffer again when it
         * comes back, so the next talkspurt gets the target delay */
        jb->state = JB_EMPTY;
        jb->st.resets++;
        return JBUF_WAITING;
    }
    jb->st.missing++;
    return JBUF_MISSING;
}

unsigned jbuf_target_ms(const struct jbuf *jb)
{
    return jb->target_ms;
}

double jbuf_jitter_ms(const struct jbuf *jb)
{
    return jb->jitter * 1000.0 / jb->cfg.clock_rate;
}

const struct jbuf_stats *jbuf_get_stats(const struct jbuf *jb)
{
    return &jb->st;
}
