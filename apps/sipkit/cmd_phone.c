/* sipkit phone / sipkit call: the user agent as a program: flags, commands on stdin, one event per line out. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "cmd.h"
#include "media/emodel.h"
#include "media/stream.h"
#include "ua/ua.h"

/* Exit status of `sipkit call`, one per failure class (README: "Exit codes"). */
enum call_exit {
    EXIT_OK = 0,
    EXIT_ERROR = 1,       /* could not start: bad flags, no socket */
    EXIT_USAGE = 2,
    EXIT_BUSY = 3,        /* 486, 600 */
    EXIT_NOT_FOUND = 4,   /* 404, 604, 484, 410 */
    EXIT_NO_ANSWER = 5,   /* 408, 480, 487 after our CANCEL, no final answer in time */
    EXIT_AUTH = 6,        /* 401/407 with credentials refused, 403 */
    EXIT_NOT_ACCEPTABLE = 7, /* 488, 606, 415 */
    EXIT_DECLINED = 8,    /* 603 */
    EXIT_FAILED = 9,      /* any other 4xx-6xx */
    EXIT_UNREACHABLE = 10, /* transport error, 503 */
    EXIT_MEDIA = 11,      /* answered, then no RTP came (the peer vanished) */
};

struct phone {
    struct sk_loop *loop;
    struct ua *ua;
    struct ua_config cfg;
    bool json, call_mode, read_stdin, quitting;
    int exit_code;
    /* stdin line assembly */
    char line[1024];
    size_t line_len;
    int sig_fd;
    /* sipkit call */
    char target[UA_STR_MAX];
    uint32_t duration_s;
    char dtmf[64];
    unsigned call_id;
    bool answered;
    struct sk_timer t_duration, t_dtmf;
    /* sipkit call --load N: N calls at once, and what they measured together */
    uint32_t load;
    uint32_t load_rate;          /* calls started per second */
    uint32_t started, ended, answered_n, failed_n;
    struct sk_timer t_next_call;
    struct load_call { unsigned id; bool answered; struct sk_timer t_end; struct phone *p; } *lc;
    uint64_t rx_packets, tx_packets, late, bad;
    int64_t rx_lost;
    double jitter_sum, mos_min, rtt_sum;
    uint32_t with_media, with_rtt;
    int last_fail;
};

static void out_line(struct phone *p, const char *s)
{
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    (void) p;
}

/* ---- Events ---- */

static void json_dir(struct sk_json *j, const char *key, const struct media_dir_report *d)
{
    sk_json_key(j, key);
    sk_json_obj_begin(j);
    sk_json_kint(j, "packets", (int64_t) d->packets);
    /* sent: the rest is what the peer's RTCP said; without a report it is unknown */
    sk_json_kbool(j, "known", d->known);
    if (!d->known) {
        sk_json_obj_end(j);
        return;
    }
    sk_json_kint(j, "lost", d->lost);
    sk_json_kdouble(j, "loss_pct", d->loss_pct, 2);
    sk_json_kdouble(j, "jitter_ms", d->jitter_ms, 2);
    sk_json_kdouble(j, "max_jitter_ms", d->max_jitter_ms, 2);
    sk_json_kint(j, "duplicates", (int64_t) d->duplicates);
    sk_json_kint(j, "out_of_order", (int64_t) d->out_of_order);
    sk_json_kint(j, "late", (int64_t) d->late);
    sk_json_kdouble(j, "mos", d->mos, 2);
    sk_json_kcstr(j, "mos_quality", media_quality_name(emodel_quality_mos(d->mos)));
    sk_json_kcstr(j, "loss_quality", media_quality_name(emodel_quality_loss(d->loss_pct)));
    sk_json_kcstr(j, "jitter_quality", media_quality_name(emodel_quality_jitter(d->jitter_ms)));
    sk_json_obj_end(j);
}

static void json_report(struct sk_json *j, const struct media_report *r)
{
    sk_json_key(j, "quality");
    sk_json_obj_begin(j);
    sk_json_kcstr(j, "codec", r->codec);
    sk_json_kint(j, "ptime_ms", r->ptime_ms);
    sk_json_kcstr(j, "local", r->local);
    sk_json_kcstr(j, "remote", r->remote);
    json_dir(j, "received", &r->rx);
    json_dir(j, "sent", &r->tx);
    if (r->rtt_ms >= 0)
        sk_json_kdouble(j, "rtt_ms", r->rtt_ms, 2);
    else
        sk_json_kcstr(j, "rtt_ms", NULL);
    sk_json_kdouble(j, "one_way_delay_ms", r->one_way_ms, 1);
    sk_json_kcstr(j, "latency_quality", media_quality_name(emodel_quality_latency(r->one_way_ms)));
    sk_json_kint(j, "rtcp_sent", (int64_t) r->rtcp_sent);
    sk_json_kint(j, "rtcp_received", (int64_t) r->rtcp_received);
    sk_json_kint(j, "bad_packets", (int64_t) r->bad_packets);
    sk_json_kcstr(j, "dtmf_sent", r->dtmf_sent);
    sk_json_kcstr(j, "dtmf_received", r->dtmf_received);
    sk_json_obj_end(j);
}

static void print_json_event(struct phone *p, const struct ua_event *ev)
{
    struct sk_buf b;
    struct sk_json j;
    char d[2] = {ev->digit, 0};

    sk_buf_init(&b);
    sk_json_init_compact(&j, &b);
    sk_json_obj_begin(&j);
    sk_json_kcstr(&j, "event", ua_event_name(ev->type));
    if (ev->call)
        sk_json_kint(&j, "call", ev->call);
    if (ev->status)
        sk_json_kint(&j, "status", ev->status);
    if (ev->reason)
        sk_json_kcstr(&j, ev->type == UA_EV_SESSION_REFRESHED ? "refresher" : "reason",
                      ev->reason);
    if (ev->type == UA_EV_PRACK)
        sk_json_kint(&j, "rseq", ev->expires);
    else if (ev->type == UA_EV_SESSION_REFRESHED)
        sk_json_kint(&j, "interval", ev->expires);
    if (ev->peer)
        sk_json_kcstr(&j, "peer", ev->peer);
    if (ev->type == UA_EV_DTMF) {
        sk_json_kcstr(&j, "digit", d);
        sk_json_kint(&j, "duration_ms", ev->duration_ms);
    }
    if (ev->ctype)
        sk_json_kcstr(&j, "content_type", ev->ctype);
    if (ev->type == UA_EV_REGISTERED) {
        sk_json_kint(&j, "expires", ev->expires);
        sk_json_kcstr(&j, "contact", ev->text);
    } else if (ev->text) {
        sk_json_kcstr(&j, ev->type == UA_EV_HUNGUP ? "by" : "text", ev->text);
    }
    if (ev->type == UA_EV_HUNGUP) {
        sk_json_kint(&j, "duration_ms", (int64_t) ev->duration_ms);
        if (ev->report)
            json_report(&j, ev->report);
    }
    sk_json_obj_end(&j);
    if (!b.failed)
        out_line(p, b.p);
    sk_buf_free(&b);
}

static void fmt_dir(char *buf, size_t size, const char *what, const struct media_report *r,
                    const struct media_dir_report *d)
{
    if (!d->known) {
        snprintf(buf, size, "  %-9s %-10s (no figures%s)", what, r->codec,
                 d == &r->tx ? ": the peer sent no RTCP report" : "");
        return;
    }
    snprintf(buf, size,
             "  %-9s %-10s packets %-7llu lost %lld (%.1f%%, %s)  jitter %.1f ms (%s)  MOS %.2f (%s)",
             what, r->codec, (unsigned long long) d->packets, (long long) d->lost, d->loss_pct,
             media_quality_name(emodel_quality_loss(d->loss_pct)), d->jitter_ms,
             media_quality_name(emodel_quality_jitter(d->jitter_ms)), d->mos,
             media_quality_name(emodel_quality_mos(d->mos)));
}

static void print_text_event(struct phone *p, const struct ua_event *ev)
{
    char line[1024];
    const char *name = ua_event_name(ev->type);

    switch (ev->type) {
    case UA_EV_REGISTERED:
        snprintf(line, sizeof(line), "registered %s expires=%u contact=%s", p->cfg.aor,
                 ev->expires, ev->text ? ev->text : "");
        break;
    case UA_EV_REG_FAILED:
        snprintf(line, sizeof(line), "registration-failed %d %s", ev->status,
                 ev->reason ? ev->reason : "");
        break;
    case UA_EV_UNREGISTERED:
        snprintf(line, sizeof(line), "unregistered %s", p->cfg.aor);
        break;
    case UA_EV_INCOMING:
        snprintf(line, sizeof(line), "incoming call %u from %s", ev->call,
                 ev->peer ? ev->peer : "?");
        break;
    case UA_EV_CALLING:
        snprintf(line, sizeof(line), "calling call %u to %s", ev->call, ev->peer ? ev->peer : "?");
        break;
    case UA_EV_DTMF:
        snprintf(line, sizeof(line), "dtmf-received call %u digit %c duration=%llums", ev->call,
                 ev->digit, (unsigned long long) ev->duration_ms);
        break;
    case UA_EV_HUNGUP:
        snprintf(line, sizeof(line), "hungup call %u status=%d reason=\"%s\" by=%s duration=%.1fs",
                 ev->call, ev->status, ev->reason ? ev->reason : "", ev->text ? ev->text : "?",
                 (double) ev->duration_ms / 1000.0);
        break;
    case UA_EV_INFO:
        snprintf(line, sizeof(line), "info %s", ev->text ? ev->text : "");
        break;
    case UA_EV_MESSAGE:
        snprintf(line, sizeof(line), "message-received from %s (%s): %s", ev->peer ? ev->peer : "?",
                 ev->ctype ? ev->ctype : "?", ev->text ? ev->text : "");
        /* one line per event: a message's own line ends become spaces */
        for (char *q = line; *q; q++)
            if ((unsigned char) *q < 0x20 || *q == 0x7f)
                *q = ' ';
        break;
    case UA_EV_MESSAGE_SENT:
        snprintf(line, sizeof(line), "message-sent to %s %d %s", ev->peer ? ev->peer : "?",
                 ev->status, ev->reason ? ev->reason : "");
        break;
    case UA_EV_REDIRECTED:
        snprintf(line, sizeof(line), "redirected call %u %d to %s", ev->call, ev->status,
                 ev->text ? ev->text : "?");
        break;
    case UA_EV_FORWARDED:
        snprintf(line, sizeof(line), "forwarded call from %s to %s (%s)", ev->peer ? ev->peer : "?",
                 ev->text ? ev->text : "?", ev->reason ? ev->reason : "");
        break;
    case UA_EV_PRACK:
        snprintf(line, sizeof(line), "prack call %u %s for %d rseq=%u", ev->call,
                 ev->text ? ev->text : "?", ev->status, ev->expires);
        break;
    case UA_EV_SESSION_REFRESHED:
        snprintf(line, sizeof(line), "session-refreshed call %u interval=%us refresher=%s by=%s",
                 ev->call, ev->expires, ev->reason ? ev->reason : "?", ev->text ? ev->text : "?");
        break;
    default:
        if (ev->status)
            snprintf(line, sizeof(line), "%s call %u %d %s", name, ev->call, ev->status,
                     ev->reason ? ev->reason : "");
        else
            snprintf(line, sizeof(line), "%s call %u", name, ev->call);
        break;
    }
    out_line(p, line);
    if (ev->type == UA_EV_HUNGUP && ev->report) {
        const struct media_report *r = ev->report;
        snprintf(line, sizeof(line), "quality call %u: %s -> %s, RTT %s", ev->call, r->local,
                 r->remote, r->rtt_ms >= 0 ? "" : "unknown (no RTCP reply)");
        if (r->rtt_ms >= 0) {
            size_t n = strlen(line);
            snprintf(line + n, sizeof(line) - n, "%.1f ms, one-way delay %.0f ms (%s)", r->rtt_ms,
                     r->one_way_ms, media_quality_name(emodel_quality_latency(r->one_way_ms)));
        }
        out_line(p, line);
        fmt_dir(line, sizeof(line), "received", r, &r->rx);
        out_line(p, line);
        fmt_dir(line, sizeof(line), "sent", r, &r->tx);
        out_line(p, line);
    }
}

static int exit_for_status(int status)
{
    switch (status) {
    case 486: case 600: return EXIT_BUSY;
    case 404: case 604: case 484: case 410: return EXIT_NOT_FOUND;
    case 408: case 480: case 487: return EXIT_NO_ANSWER;
    case 401: case 407: case 403: return EXIT_AUTH;
    case 488: case 606: case 415: return EXIT_NOT_ACCEPTABLE;
    case 603: return EXIT_DECLINED;
    case 503: return EXIT_UNREACHABLE;
    default: return status >= 300 ? EXIT_FAILED : EXIT_OK;
    }
}

static void quit(struct phone *p);

static void on_duration(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct phone *p = arg;
    (void) loop;
    (void) t;
    ua_hangup(p->ua, p->call_id);
}

static void on_dtmf_time(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct phone *p = arg;
    (void) loop;
    (void) t;
    ua_dtmf(p->ua, p->call_id, p->dtmf);
}

static struct load_call *load_find(struct phone *p, unsigned id)
{
    for (uint32_t i = 0; i < p->started; i++)
        if (p->lc[i].id == id)
            return &p->lc[i];
    return NULL;
}

static void on_load_end(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct load_call *lc = arg;
    (void) loop;
    (void) t;
    ua_hangup(lc->p->ua, lc->id);
}

static void load_summary(struct phone *p)
{
    struct rusage ru;
    double cpu_s, per_pkt;
    uint64_t pkts = p->rx_packets + p->tx_packets;
    struct sk_buf b;
    struct sk_json j;

    getrusage(RUSAGE_SELF, &ru);
    cpu_s = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
            (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
    per_pkt = pkts ? cpu_s * 1e6 / (double) pkts : 0;
    sk_buf_init(&b);
    sk_json_init_compact(&j, &b);
    sk_json_obj_begin(&j);
    sk_json_kcstr(&j, "event", "load-summary");
    sk_json_kint(&j, "calls", p->started);
    sk_json_kint(&j, "answered", p->answered_n);
    sk_json_kint(&j, "failed", p->failed_n);
    sk_json_kint(&j, "rx_packets", (int64_t) p->rx_packets);
    sk_json_kint(&j, "tx_packets", (int64_t) p->tx_packets);
    sk_json_kint(&j, "rx_lost", p->rx_lost);
    sk_json_kint(&j, "rx_late", (int64_t) p->late);
    sk_json_kdouble(&j, "rx_lost_or_late_pct",
                    p->rx_packets ? 100.0 * (double) ((uint64_t) p->rx_lost + p->late) /
                                        (double) (p->rx_packets + (uint64_t) p->rx_lost)
                                  : 0,
                    3);
    sk_json_kdouble(&j, "mean_jitter_ms", p->with_media ? p->jitter_sum / p->with_media : 0, 2);
    sk_json_kdouble(&j, "mean_rtt_ms", p->with_rtt ? p->rtt_sum / p->with_rtt : -1, 2);
    sk_json_kdouble(&j, "min_mos", p->with_media ? p->mos_min : 0, 2);
    sk_json_kdouble(&j, "cpu_s", cpu_s, 3);
    sk_json_kdouble(&j, "cpu_us_per_packet", per_pkt, 3);
    sk_json_obj_end(&j);
    if (!b.failed)
        out_line(p, b.p);
    sk_buf_free(&b);
}

static void load_event(struct phone *p, const struct ua_event *ev)
{
    struct load_call *lc = load_find(p, ev->call);

    if (!lc)
        return;
    if (ev->type == UA_EV_ANSWERED) {
        if (lc->answered)
            return;
        lc->answered = true;
        p->answered_n++;
        sk_timer_start(p->loop, &lc->t_end, (uint64_t) p->duration_s * 1000u);
        if (p->dtmf[0])
            ua_dtmf(p->ua, lc->id, p->dtmf);
        return;
    }
    if (ev->type != UA_EV_HUNGUP)
        return;
    sk_timer_stop(p->loop, &lc->t_end);
    if (!lc->answered) {
        p->failed_n++;
        p->last_fail = ev->status;
    }
    if (ev->report) {
        const struct media_report *r = ev->report;
        p->rx_packets += r->rx.packets;
        p->tx_packets += r->tx.packets;
        p->rx_lost += r->rx.lost;
        p->late += r->rx.late;
        p->bad += r->bad_packets;
        if (r->rx.known) {
            p->jitter_sum += r->rx.jitter_ms;
            if (p->with_media == 0 || r->rx.mos < p->mos_min)
                p->mos_min = r->rx.mos;
            p->with_media++;
        }
        if (r->rtt_ms >= 0) {
            p->rtt_sum += r->rtt_ms;
            p->with_rtt++;
        }
    }
    if (++p->ended == p->load) {
        load_summary(p);
        p->exit_code = p->failed_n ? exit_for_status(p->last_fail ? p->last_fail : 503) : EXIT_OK;
        quit(p);
    }
}

static void on_next_call(struct sk_loop *loop, struct sk_timer *t, void *arg)
{
    struct phone *p = arg;
    struct load_call *lc = &p->lc[p->started];

    lc->p = p;
    sk_timer_init(&lc->t_end, on_load_end, lc);
    if (ua_call(p->ua, p->target, &lc->id) != 0) {
        lc->id = 0;
        p->failed_n++;
        p->ended++;
    }
    p->started++;
    if (p->ended == p->load) {
        load_summary(p);
        p->exit_code = EXIT_UNREACHABLE;
        quit(p);
        return;
    }
    if (p->started < p->load)
        sk_timer_start(loop, t, 1000u / p->load_rate ? 1000u / p->load_rate : 1);
}

static void on_event(void *arg, const struct ua_event *ev)
{
    struct phone *p = arg;
    /* under --load only the failures and the summary are worth a line */
    bool quiet = p->load && !(ev->type == UA_EV_HUNGUP && ev->duration_ms == 0) &&
                 ev->type != UA_EV_REG_FAILED;

    if (quiet)
        ;
    else if (p->json)
        print_json_event(p, ev);
    else
        print_text_event(p, ev);
    if (!p->call_mode)
        return;
    if (p->load) {
        load_event(p, ev);
        return;
    }
    if (ev->type == UA_EV_ANSWERED && ev->call == p->call_id) {
        p->answered = true;
        sk_timer_start(p->loop, &p->t_duration, (uint64_t) p->duration_s * 1000u);
        if (p->dtmf[0])
            sk_timer_start(p->loop, &p->t_dtmf, 1000);
    } else if (ev->type == UA_EV_HUNGUP && ev->call == p->call_id) {
        if (!p->answered)
            p->exit_code = exit_for_status(ev->status ? ev->status : 503);
        else if (ev->status == 408 && ev->text && strcmp(ev->text, "rtp-timeout") == 0)
            p->exit_code = EXIT_MEDIA;
        else
            p->exit_code = EXIT_OK;
        if (!p->answered)
            fprintf(stderr, "sipkit call: call failed: %d %s\n", ev->status,
                    ev->reason ? ev->reason : "");
        quit(p);
    } else if (ev->type == UA_EV_REG_FAILED && !p->answered && p->cfg.registrar[0] &&
               strcmp(p->cfg.registrar, "none") != 0) {
        p->exit_code = exit_for_status(ev->status);
        quit(p);
    }
}

/* ---- Commands ---- */

static void status_line(void *arg, const char *line)
{
    struct phone *p = arg;
    if (p->json) {
        struct sk_buf b;
        struct sk_json j;
        sk_buf_init(&b);
        sk_json_init_compact(&j, &b);
        sk_json_obj_begin(&j);
        sk_json_kcstr(&j, "event", "status");
        sk_json_kcstr(&j, "text", line);
        sk_json_obj_end(&j);
        if (!b.failed)
            out_line(p, b.p);
        sk_buf_free(&b);
    } else {
        out_line(p, line);
    }
}

static void say(struct phone *p, const char *what, const char *arg)
{
    char text[512];
    struct ua_event ev = {.type = UA_EV_INFO, .text = text};
    snprintf(text, sizeof(text), "%s: %s", arg, what);
    on_event(p, &ev);
}

static unsigned call_arg(const char *s)
{
    return s && *s ? (unsigned) strtoul(s, NULL, 10) : 0;
}

/* `stats [N]`: the packets of a call so far, each way (what hold stops and resume restarts). */
static int print_stats(struct phone *p, unsigned id)
{
    struct media_report r;
    char line[256];
    int err = ua_media_report(p->ua, id, &r);

    if (err)
        return err;
    if (p->json) {
        struct sk_buf b;
        struct sk_json j;
        sk_buf_init(&b);
        sk_json_init_compact(&j, &b);
        sk_json_obj_begin(&j);
        sk_json_kcstr(&j, "event", "stats");
        sk_json_kint(&j, "rx_packets", (int64_t) r.rx.packets);
        sk_json_kint(&j, "tx_packets", (int64_t) r.tx.packets);
        sk_json_kint(&j, "rtcp_sent", (int64_t) r.rtcp_sent);
        sk_json_kint(&j, "rtcp_received", (int64_t) r.rtcp_received);
        sk_json_obj_end(&j);
        if (!b.failed)
            out_line(p, b.p);
        sk_buf_free(&b);
    } else {
        snprintf(line, sizeof(line), "stats rx_packets=%llu tx_packets=%llu rtcp_sent=%llu "
                 "rtcp_received=%llu", (unsigned long long) r.rx.packets,
                 (unsigned long long) r.tx.packets, (unsigned long long) r.rtcp_sent,
                 (unsigned long long) r.rtcp_received);
        out_line(p, line);
    }
    return 0;
}

/* "msg URI text...": the text is the rest of the line, as typed. */
static void msg_command(struct phone *p, char *args)
{
    char *uri, *text;
    int err;

    args += strspn(args, " \t");
    uri = args;
    args += strcspn(args, " \t");
    if (*args)
        *args++ = '\0';
    text = args + strspn(args, " \t");
    text[strcspn(text, "\r")] = '\0';
    if (!*uri || !*text) {
        say(p, "usage: msg URI TEXT", "msg");
        return;
    }
    if ((err = ua_message(p->ua, uri, text)) == EMSGSIZE)
        say(p, "text too long", "msg");
    else if (err)
        say(p, strerror(err), "msg");
}

static void run_command(struct phone *p, char *line)
{
    char *cmd;

    if (strncmp(line, "msg", 3) == 0 && (line[3] == ' ' || line[3] == '\t' || line[3] == '\0')) {
        msg_command(p, line + 3);
        return;
    }
    cmd = strtok(line, " \t\r");
    char *a1 = strtok(NULL, " \t\r");
    char *a2 = strtok(NULL, " \t\r");
    int err = 0;

    if (!cmd)
        return;
    if (strcmp(cmd, "call") == 0 && a1) {
        unsigned id;
        err = ua_call(p->ua, a1, &id);
    } else if (strcmp(cmd, "answer") == 0) {
        err = ua_answer(p->ua, call_arg(a1));
    } else if (strcmp(cmd, "reject") == 0 || strcmp(cmd, "decline") == 0) {
        err = ua_reject(p->ua, call_arg(a1), strcmp(cmd, "decline") == 0 ? 603 : 486);
    } else if (strcmp(cmd, "hangup") == 0) {
        err = ua_hangup(p->ua, call_arg(a1));
    } else if (strcmp(cmd, "dtmf") == 0 && a1) {
        err = ua_dtmf(p->ua, call_arg(a2), a1);
    } else if (strcmp(cmd, "hold") == 0 || strcmp(cmd, "resume") == 0) {
        err = ua_hold(p->ua, call_arg(a1), strcmp(cmd, "hold") == 0);
    } else if (strcmp(cmd, "stats") == 0) {
        err = print_stats(p, call_arg(a1));
    } else if (strcmp(cmd, "status") == 0) {
        ua_status(p->ua, status_line, p);
    } else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        quit(p);
    } else if (strcmp(cmd, "help") == 0) {
        status_line(p, "commands: call URI | answer [N] | reject [N] | decline [N] | hangup [N] | "
                       "dtmf DIGITS [N] | hold [N] | resume [N] | stats [N] | msg URI TEXT | status | quit");
    } else {
        say(p, "unknown command (try help)", cmd);
        return;
    }
    if (err == ENOENT)
        say(p, "no such call", cmd);
    else if (err == EBUSY)
        say(p, "not possible in this call's state", cmd);
    else if (err == EALREADY)
        say(p, "already so", cmd);
    else if (err)
        say(p, "failed", cmd);
}

static void on_stdin(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct phone *p = arg;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof(buf));

    (void) events;
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        /* end of input: like a shell, quit */
        sk_loop_del_fd(loop, fd);
        p->read_stdin = false;
        if (!p->call_mode)
            quit(p);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            p->line[p->line_len] = '\0';
            p->line_len = 0;
            run_command(p, p->line);
            if (p->quitting)
                return;
        } else if (p->line_len < sizeof(p->line) - 1) {
            p->line[p->line_len++] = buf[i];
        }
    }
}

static void on_done(void *arg)
{
    struct phone *p = arg;
    sk_loop_stop(p->loop);
}

static void quit(struct phone *p)
{
    if (p->quitting)
        return;
    p->quitting = true;
    ua_shutdown(p->ua, on_done, p);
}

static void on_signal(struct sk_loop *loop, int fd, uint32_t events, void *arg)
{
    struct phone *p = arg;
    struct signalfd_siginfo si;
    (void) events;
    if (read(fd, &si, sizeof(si)) != (ssize_t) sizeof(si))
        return;
    if (p->quitting)
        sk_loop_stop(loop); /* a second signal: now */
    else
        quit(p);
}

/* ---- Flags ---- */

static void usage(FILE *f, bool call_mode)
{
    if (call_mode)
        fprintf(f,
                "usage: sipkit call URI [options]\n"
                "  Places one call, plays audio, hangs up after --duration, prints the quality.\n"
                "  --duration S        talk this long after the answer (10)\n"
                "  --dtmf DIGITS       send these digits (RFC 4733) 1 s after the answer\n"
                "  --timeout S         give up when nobody answers in time (60)\n"
                "  --load N            N calls at once (started --load-rate per second, 50),\n"
                "                      then one JSON summary line with CPU per packet\n");
    else
        fprintf(f, "usage: sipkit phone --user sip:USER@DOMAIN [options]\n"
                   "  Registers, waits for calls, takes commands on stdin (help lists them).\n"
                   "  --auto-answer [S]   answer incoming calls after S seconds (0)\n"
                   "  --no-stdin          ignore stdin (run until SIGINT/SIGTERM)\n"
                   "  --max-calls N       calls at once before 486 Busy Here (1)\n"
                   "  --forward URI       answer incoming calls 302 Moved Temporarily to URI\n"
                   "  --forward-mode M    always | busy (in a call already) | no-answer[:S]\n"
                   "                      (after S s of ringing, 20); always\n");
    fprintf(f,
            "common options:\n"
            "  --user URI          our address of record, sip:alice@localhost\n"
            "  --password P        digest password (--password-env VAR reads it from $VAR)\n"
            "  --auth-user U       digest user name if not the AOR's user\n"
            "  --registrar HOST    register there (default: the AOR's domain for phone,\n"
            "                      none for call); 'none' does not register\n"
            "  --outbound-proxy U  send every request through this proxy (sip:host:port)\n"
            "  --listen P:A:PORT   SIP socket, udp:127.0.0.1:0 (0: any free port); tcp:,\n"
            "                      tls: (registrar and proxy reached over TLS)\n"
            "  --tls-ca FILE       PEM trust anchors for the server's certificate (system's)\n"
            "  --tls-verify on|off check the server's certificate and name, RFC 5922 (on)\n"
            "  --tls-cert FILE     our certificate (and --tls-key FILE), for mutual TLS and\n"
            "                      for connections made to us (default: none)\n"
            "  --expires S         registration lifetime asked for (3600)\n"
            "  --play SRC          tone:HZ, silence, or an 8 kHz mono WAV file (tone:440)\n"
            "  --record FILE.wav   record what we hear (8 kHz 16-bit mono)\n"
            "  --codecs LIST       PCMU,PCMA in our order of preference\n"
            "  --ptime MS          packet time, 10..60 (20)\n"
            "  --rtp-ports A-B     RTP port range (10000-20000)\n"
            "  --rtp-timeout S     end an answered call after S s without RTP (30, 0 off)\n"
            "  --dtmf-mode M       rfc4733 (RTP events) or info (SIP INFO, dtmf-relay); rfc4733\n"
            "  --max-redirects N   3xx answers followed per call (5, 0 = none)\n"
            "  --100rel M          off | supported (PRACK reliable 18x; send them when the\n"
            "                      INVITE requires it) | required (always; 421 otherwise);\n"
            "                      supported\n"
            "  --session-expires S ask for RFC 4028 session timers of S s (>= --min-se;\n"
            "                      0: do not ask, a peer's are honoured), 0\n"
            "  --min-se S          the shortest session interval accepted (>= 90), 90\n"
            "  --json              events as JSON lines\n"
            "  --dns SERVERS       DNS servers for RFC 3263 (NAPTR, SRV, A/AAAA) look-ups of\n"
            "                      registrar, proxy and targets (default /etc/resolv.conf's);\n"
            "                      'off': A/AAAA by the system resolver only\n"
            "  --t1 MS             RFC 3261 T1 (500): Timer B/F, the failover wait, are 64*T1\n"
            "  --log-level L       error|warn|info|debug (warn)\n");
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max)
        return EINVAL;
    *out = (uint32_t) v;
    return 0;
}

static int parse_flags(struct phone *p, int argc, char **argv)
{
    struct ua_config *c = &p->cfg;
    uint32_t v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VAL()                                                                         \
    do {                                                                                   \
        if (!val) {                                                                        \
            fprintf(stderr, "sipkit: %s needs a value\n", a);                              \
            return EXIT_USAGE;                                                             \
        }                                                                                  \
        i++;                                                                               \
    } while (0)
#define COPY(field)                                                                        \
    do {                                                                                   \
        NEED_VAL();                                                                        \
        if (strlen(val) >= sizeof(field)) {                                                \
            fprintf(stderr, "sipkit: %s: value too long\n", a);                            \
            return EXIT_USAGE;                                                             \
        }                                                                                  \
        snprintf(field, sizeof(field), "%s", val);                                         \
    } while (0)
        if (strcmp(a, "--user") == 0) {
            COPY(c->aor);
            if (strncmp(c->aor, "sip:", 4) != 0) {
                char tmp[UA_STR_MAX];
                snprintf(tmp, sizeof(tmp), "sip:%.250s", c->aor);
                snprintf(c->aor, sizeof(c->aor), "%s", tmp);
            }
        } else if (strcmp(a, "--password") == 0) {
            COPY(c->password);
        } else if (strcmp(a, "--password-env") == 0) {
            NEED_VAL();
            const char *e = getenv(val);
            snprintf(c->password, sizeof(c->password), "%s", e ? e : "");
        } else if (strcmp(a, "--auth-user") == 0) {
            COPY(c->auth_user);
        } else if (strcmp(a, "--registrar") == 0) {
            COPY(c->registrar);
        } else if (strcmp(a, "--outbound-proxy") == 0) {
            COPY(c->outbound_proxy);
        } else if (strcmp(a, "--display-name") == 0) {
            COPY(c->display_name);
        } else if (strcmp(a, "--listen") == 0) {
            NEED_VAL();
            if (sip_listen_parse(val, &c->listen) || sip_proto_is_ws(c->listen.proto)) {
                fprintf(stderr, "sipkit: --listen %s: want udp:, tcp: or tls:ADDR:PORT\n", val);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--expires") == 0) {
            NEED_VAL();
            if (parse_u32(val, 86400 * 7, &c->expires))
                goto bad;
        } else if (strcmp(a, "--auto-answer") == 0) {
            c->auto_answer_ms = 0;
            if (val && parse_u32(val, 3600, &v) == 0) {
                c->auto_answer_ms = (int) v * 1000;
                i++;
            }
        } else if (strcmp(a, "--play") == 0) {
            COPY(c->play);
        } else if (strcmp(a, "--record") == 0) {
            COPY(c->record);
        } else if (strcmp(a, "--codecs") == 0) {
            COPY(c->codecs);
        } else if (strcmp(a, "--ptime") == 0) {
            NEED_VAL();
            /* the jitter buffer takes frames of 10..60 ms (jbuf_new) */
            if (parse_u32(val, 60, &c->ptime_ms) || c->ptime_ms < 10 || c->ptime_ms % 10)
                goto bad;
        } else if (strcmp(a, "--rtp-ports") == 0) {
            unsigned lo, hi;
            NEED_VAL();
            if (sscanf(val, "%u-%u", &lo, &hi) != 2 || lo < 1024 || hi > 65534 || lo + 1 >= hi)
                goto bad;
            c->rtp_port_min = (uint16_t) lo;
            c->rtp_port_max = (uint16_t) hi;
        } else if (strcmp(a, "--rtp-timeout") == 0) {
            NEED_VAL();
            if (parse_u32(val, 3600, &c->rtp_timeout_s))
                goto bad;
        } else if (strcmp(a, "--json") == 0) {
            p->json = true;
        } else if (strcmp(a, "--no-stdin") == 0) {
            p->read_stdin = false;
        } else if (strcmp(a, "--log-level") == 0) {
            NEED_VAL();
            int l = sk_log_parse_level(val);
            if (l < 0)
                goto bad;
            sk_log_set_level((enum sk_log_level) l);
        } else if (p->call_mode && strcmp(a, "--duration") == 0) {
            NEED_VAL();
            if (parse_u32(val, 86400, &p->duration_s))
                goto bad;
        } else if (p->call_mode && strcmp(a, "--load") == 0) {
            NEED_VAL();
            if (parse_u32(val, 10000, &p->load) || p->load == 0)
                goto bad;
        } else if (p->call_mode && strcmp(a, "--load-rate") == 0) {
            NEED_VAL();
            if (parse_u32(val, 1000, &p->load_rate) || p->load_rate == 0)
                goto bad;
        } else if (strcmp(a, "--dtmf-mode") == 0) {
            NEED_VAL();
            if (strcmp(val, "info") == 0)
                c->dtmf_info = true;
            else if (strcmp(val, "rfc4733") == 0)
                c->dtmf_info = false;
            else
                goto bad;
        } else if (strcmp(a, "--dns") == 0) {
            COPY(c->dns);
        } else if (strcmp(a, "--tls-ca") == 0) {
            COPY(c->tls_ca);
        } else if (strcmp(a, "--tls-cert") == 0) {
            COPY(c->tls_cert);
        } else if (strcmp(a, "--tls-key") == 0) {
            COPY(c->tls_key);
        } else if (strcmp(a, "--tls-verify") == 0) {
            NEED_VAL();
            if (strcmp(val, "on") == 0)
                c->tls_verify = true;
            else if (strcmp(val, "off") == 0)
                c->tls_verify = false;
            else
                goto bad;
        } else if (strcmp(a, "--t1") == 0) {
            NEED_VAL();
            if (parse_u32(val, 10000, &c->txn.t1_ms) || c->txn.t1_ms < 10)
                goto bad;
        } else if (strcmp(a, "--100rel") == 0) {
            NEED_VAL();
            if (strcmp(val, "off") == 0)
                c->rel100 = UA_REL100_OFF;
            else if (strcmp(val, "supported") == 0)
                c->rel100 = UA_REL100_SUPPORTED;
            else if (strcmp(val, "required") == 0)
                c->rel100 = UA_REL100_REQUIRED;
            else
                goto bad;
        } else if (strcmp(a, "--session-expires") == 0) {
            NEED_VAL();
            if (parse_u32(val, 86400, &c->session_expires) ||
                (c->session_expires && c->session_expires < 90))
                goto bad;
        } else if (strcmp(a, "--min-se") == 0) {
            NEED_VAL();
            /* RFC 4028 §4: never below 90 s */
            if (parse_u32(val, 86400, &c->min_se) || c->min_se < 90)
                goto bad;
        } else if (strcmp(a, "--max-redirects") == 0) {
            NEED_VAL();
            if (parse_u32(val, 16, &c->max_redirects))
                goto bad;
        } else if (!p->call_mode && strcmp(a, "--forward") == 0) {
            COPY(c->forward);
        } else if (!p->call_mode && strcmp(a, "--forward-mode") == 0) {
            NEED_VAL();
            if (strcmp(val, "always") == 0)
                c->forward_mode = UA_FWD_ALWAYS;
            else if (strcmp(val, "busy") == 0)
                c->forward_mode = UA_FWD_BUSY;
            else if (strncmp(val, "no-answer", 9) == 0) {
                c->forward_mode = UA_FWD_NO_ANSWER;
                if (val[9] == ':' && (parse_u32(val + 10, 3600, &c->forward_after_s) ||
                                      c->forward_after_s == 0))
                    goto bad;
                else if (val[9] && val[9] != ':')
                    goto bad;
            } else
                goto bad;
        } else if (strcmp(a, "--max-calls") == 0) {
            NEED_VAL();
            if (parse_u32(val, 10000, &c->max_calls) || c->max_calls == 0)
                goto bad;
        } else if (p->call_mode && strcmp(a, "--dtmf") == 0) {
            COPY(p->dtmf);
        } else if (p->call_mode && strcmp(a, "--timeout") == 0) {
            NEED_VAL();
            if (parse_u32(val, 3600, &c->no_answer_s) || c->no_answer_s == 0)
                goto bad;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, p->call_mode);
            exit(0);
        } else if (p->call_mode && a[0] != '-' && !p->target[0]) {
            snprintf(p->target, sizeof(p->target), "%s", a);
        } else {
            fprintf(stderr, "sipkit: unknown option '%s'\n", a);
            usage(stderr, p->call_mode);
            return EXIT_USAGE;
        }
        continue;
    bad:
        fprintf(stderr, "sipkit: bad value for %s: '%s'\n", a, val ? val : "");
        return EXIT_USAGE;
#undef COPY
#undef NEED_VAL
    }
    return 0;
}

static int setup_signals(struct phone *p)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return errno;
    p->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (p->sig_fd < 0)
        return errno;
    signal(SIGPIPE, SIG_IGN);
    return sk_loop_add_fd(p->loop, p->sig_fd, EPOLLIN, on_signal, p);
}

static int run(int argc, char **argv, bool call_mode)
{
    struct phone *p = calloc(1, sizeof(*p));
    int rc, err;

    if (!p)
        return EXIT_ERROR;
    p->call_mode = call_mode;
    p->read_stdin = !call_mode;
    p->duration_s = 10;
    p->sig_fd = -1;
    p->exit_code = EXIT_OK;
    ua_config_defaults(&p->cfg);
    if (call_mode)
        snprintf(p->cfg.registrar, sizeof(p->cfg.registrar), "none");
    sk_log_set_level(SK_LOG_WARN);
    if ((rc = parse_flags(p, argc, argv)))
        goto out;
    if (call_mode && !p->target[0]) {
        fprintf(stderr, "sipkit call: which URI? (sipkit call sip:bob@localhost)\n");
        rc = EXIT_USAGE;
        goto out;
    }
    if (!p->cfg.aor[0]) {
        if (!call_mode) {
            fprintf(stderr, "sipkit phone: --user sip:USER@DOMAIN is needed\n");
            rc = EXIT_USAGE;
            goto out;
        }
        snprintf(p->cfg.aor, sizeof(p->cfg.aor), "sip:sipkit@localhost");
    }
    rc = EXIT_ERROR;
    if ((err = sk_loop_new(&p->loop, 0)))
        goto out;
    sk_timer_init(&p->t_duration, on_duration, p);
    sk_timer_init(&p->t_next_call, on_next_call, p);
    sk_timer_init(&p->t_dtmf, on_dtmf_time, p);
    if ((err = setup_signals(p)))
        goto out;
    if ((err = ua_new(&p->ua, p->loop, &p->cfg, on_event, p)))
        goto out;
    if (p->read_stdin) {
        int fl = fcntl(0, F_GETFL);
        if (fl >= 0)
            fcntl(0, F_SETFL, fl | O_NONBLOCK);
        if (sk_loop_add_fd(p->loop, 0, EPOLLIN, on_stdin, p) != 0)
            p->read_stdin = false; /* /dev/null or a regular file: epoll refuses it */
    }
    if (p->read_stdin && isatty(0) && !p->json)
        status_line(p, "sipkit phone: type a command and Enter (help lists them; quit or Ctrl-D ends)");
    if ((err = ua_start(p->ua)))
        goto out;
    if (call_mode && p->load) {
        if (!(p->lc = calloc(p->load, sizeof(*p->lc))))
            goto out;
        if (!p->load_rate)
            p->load_rate = 50;
        sk_timer_start(p->loop, &p->t_next_call, 0);
    } else if (call_mode) {
        if ((err = ua_call(p->ua, p->target, &p->call_id))) {
            fprintf(stderr, "sipkit call: cannot call %s: %s\n", p->target, strerror(err));
            goto out;
        }
    }
    sk_loop_run(p->loop);
    rc = p->exit_code;
out:
    if (p->ua)
        ua_free(p->ua);
    if (p->loop) {
        sk_timer_stop(p->loop, &p->t_duration);
        sk_timer_stop(p->loop, &p->t_dtmf);
        sk_timer_stop(p->loop, &p->t_next_call);
        for (uint32_t i = 0; p->lc && i < p->started; i++)
            sk_timer_stop(p->loop, &p->lc[i].t_end);
        if (p->sig_fd >= 0)
            sk_loop_del_fd(p->loop, p->sig_fd);
        if (p->read_stdin)
            sk_loop_del_fd(p->loop, 0);
        sk_loop_free(p->loop);
    }
    if (p->sig_fd >= 0)
        close(p->sig_fd);
    free(p->lc);
    free(p);
    return rc;
}

int cmd_phone(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_call(int argc, char **argv)
{
    return run(argc, argv, true);
}
