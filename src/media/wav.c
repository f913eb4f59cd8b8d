/* WAV (RIFF WAVE) reader and streaming writer for 8 kHz mono PCM16, µ-law and A-law. */
#include "media/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/g711.h"

#define WAV_FORMAT_FLOAT 3
#define WAV_FORMAT_EXTENSIBLE 0xFFFE
#define WAV_MAX_DATA_BYTES 0xFFFFFF00u /* 32-bit RIFF sizes, with room for the header */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
           ((uint32_t) p[3] << 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}

static int say(char *msg, size_t size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *msg, size_t size, int rc, const char *fmt, ...)
{
    va_list ap;

    if (msg && size) {
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Where the samples are, and how they are coded. */
struct wav_layout {
    size_t data_off;
    size_t data_len;
};

static const char *format_name(uint16_t format)
{
    switch (format) {
    case WAV_FORMAT_PCM: return "PCM";
    case WAV_FORMAT_FLOAT: return "IEEE float";
    case WAV_FORMAT_ALAW: return "A-law";
    case WAV_FORMAT_ULAW: return "mu-law";
    case 2: return "MS ADPCM";
    case 0x11: return "IMA ADPCM";
    case 0x31: return "GSM 6.10";
    case 0x55: return "MP3";
    default: return "compressed";
    }
}

/* Refuse what the phone cannot play, naming everything that is off at once. */
static int check_format(const struct wav_info *info, const char *name, char *msg,
                        size_t size)
{
    char found[160] = "", need[96] = "";
    size_t fl = 0, nl = 0;
    bool law = info->format == WAV_FORMAT_ALAW || info->format == WAV_FORMAT_ULAW;

#define ADD(buf, len, ...)                                                               \
    do {                                                                                 \
        int k_ = snprintf(buf + len, sizeof(buf) - len, "%s", len ? ", " : "");          \
        if (k_ > 0 && (size_t) k_ < sizeof(buf) - len) len += (size_t) k_;               \
        k_ = snprintf(buf + len, sizeof(buf) - len, __VA_ARGS__);                        \
        if (k_ > 0 && (size_t) k_ < sizeof(buf) - len) len += (size_t) k_;               \
    } while (0)

    if (info->format == WAV_FORMAT_PCM) {
        if (info->bits != 16) {
            ADD(found, fl, "%u-bit PCM", info->bits);
            ADD(need, nl, "16-bit");
        }
    } else if (law) {
        if (info->bits != 8) {
            ADD(found, fl, "%s with %u bits per sample", format_name(info->format),
                info->bits);
            ADD(need, nl, "8 bits");
        }
    } else if (info->format == WAV_FORMAT_FLOAT) {
        ADD(found, fl, "%u-bit float samples", info->bits);
        ADD(need, nl, "16-bit PCM, mu-law or A-law");
    } else {
        ADD(found, fl, "format 0x%04x (%s)", info->format, format_name(info->format));
        ADD(need, nl, "16-bit PCM, mu-law or A-law");
    }
    if (info->channels != 1) {
        ADD(found, fl, "%u channels", info->channels);
        ADD(need, nl, "mono");
    }
    if (info->rate != WAV_RATE) {
        ADD(found, fl, "sample rate %u Hz", info->rate);
        ADD(need, nl, "%u Hz", WAV_RATE);
    }
#undef ADD
    if (fl == 0) return 0;
    return say(msg, size, ENOTSUP, "%s: need %s (try: sox %s -r %u -c 1 -b 16 out.wav)",
               found, need, name, WAV_RATE);
}

static int parse_fmt(const uint8_t *p, size_t size, struct wav_info *info, char *msg,
                     size_t msgsize)
{
    if (size < 16)
        return say(msg, msgsize, EBADMSG,
                   "not a usable WAV file: fmt chunk of %zu bytes, "
                   "need at least 16",
                   size);
    info->format = le16(p);
    info->channels = le16(p + 2);
    info->rate = le32(p + 4);
    info->bits = le16(p + 14);
    /* WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the GUID */
    if (info->format == WAV_FORMAT_EXTENSIBLE && size >= 40) info->format = le16(p + 24);
    return 0;
}

static int parse(const uint8_t *buf, size_t len, const char *name, struct wav_info *info,
                 struct wav_layout *lay, char *msg, size_t msgsize)
{
    size_t off = 12, end = len;
    bool have_fmt = false;
    uint32_t riff;
    int rc;

    memset(info, 0, sizeof(*info));
    memset(lay, 0, sizeof(*lay));
    if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
        if (len >= 4 && (memcmp(buf, "RF64", 4) == 0 || memcmp(buf, "RIFX", 4) == 0))
            return say(
                msg, msgsize, ENOTSUP,
                "%.4s WAV file: need RIFF (try: sox %s -r 8000 -c 1 -b 16 out.wav)",
                (const char *) buf, name);
        return say(msg, msgsize, EBADMSG, "not a WAV file: no RIFF/WAVE header");
    }
    /* A RIFF size that fits is believed (bytes after it are not ours); 0, 0xFFFFFFFF
     * or one past the end come from writers that never finished. */
    riff = le32(buf + 4);
    if (riff >= 4 && riff <= len - 8) end = (size_t) riff + 8;
    while (end - off >= 8) {
        const uint8_t *id = buf + off;
        size_t size = le32(buf + off + 4), body = off + 8, avail = end - body;

        if (memcmp(id, "fmt ", 4) == 0) {
            if (size > avail)
                return say(msg, msgsize, EBADMSG,
                           "truncated WAV file: fmt chunk cut short");
            rc = parse_fmt(buf + body, size, info, msg, msgsize);
            if (rc) return rc;
            have_fmt = true;
        } else if (memcmp(id, "data", 4) == 0) {
            if (!have_fmt)
                return say(msg, msgsize, EBADMSG,
                           "not a usable WAV file: data chunk before the fmt chunk");
            lay->data_off = body;
            lay->data_len = size;
            if (size > avail) {
                lay->data_len = avail;
                info->truncated = true;
            }
            /* A header whose sizes end at an empty data chunk, with bytes after it: a
             * writer that died before it first fixed its sizes. Take the bytes. */
            if (size == 0 && body == end && len > end) {
                lay->data_len = len - body;
                info->truncated = true;
            }
            return 0;
        }
        /* LIST, fact, cue, bext...: skipped with their pad byte */
        if (size > avail) break;
        off = body + size + (size & 1);
        if (off > end) break;
    }
    if (!have_fmt)
        return say(msg, msgsize, EBADMSG, "not a usable WAV file: no fmt chunk");
    return say(msg, msgsize, EBADMSG, "not a usable WAV file: no data chunk");
}

static int probe(const uint8_t *buf, size_t len, const char *name, struct wav_info *info,
                 struct wav_layout *lay, char *msg, size_t msgsize)
{
    size_t width;
    int rc = parse(buf, len, name, info, lay, msg, msgsize);

    if (rc) return rc;
    rc = check_format(info, name, msg, msgsize);
    if (rc) return rc;
    width = info->format == WAV_FORMAT_PCM ? 2 : 1;
    if (lay->data_len % width) info->truncated = true; /* half a sample at the end */
    info->nsamples = lay->data_len / width;
    if (info->nsamples > WAV_MAX_SAMPLES)
        return say(msg, msgsize, EFBIG,
                   "%zu samples (%zu s): longer than the %u s we read", info->nsamples,
                   info->nsamples / WAV_RATE, WAV_MAX_SECONDS);
    return 0;
}

int wav_probe_buf(const uint8_t *buf, size_t len, struct wav_info *info, char *msg,
                  size_t msgsize)
{
    struct wav_layout lay;

    return probe(buf, len, "in.wav", info, &lay, msg, msgsize);
}

static int decode(const uint8_t *buf, size_t len, const char *name, struct wav_audio *out,
                  char *msg, size_t msgsize)
{
    struct wav_layout lay;
    const uint8_t *p;
    int16_t *s;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = probe(buf, len, name, &out->info, &lay, msg, msgsize);
    if (rc) return rc;
    s = malloc(out->info.nsamples ? out->info.nsamples * sizeof(*s) : 1);
    if (!s) return ENOMEM;
    p = buf + lay.data_off;
    switch (out->info.format) {
    case WAV_FORMAT_PCM:
        for (size_t i = 0; i < out->info.nsamples; i++)
            s[i] = (int16_t) le16(p + 2 * i);
        break;
    case WAV_FORMAT_ALAW: g711_alaw_decode_block(p, s, out->info.nsamples); break;
    default: g711_ulaw_decode_block(p, s, out->info.nsamples); break;
    }
    out->samples = s;
    out->n = out->info.nsamples;
    return 0;
}

int wav_read_buf(const uint8_t *buf, size_t len, struct wav_audio *out, char *msg,
                 size_t msgsize)
{
    return decode(buf, len, "in.wav", out, msg, msgsize);
}

int wav_read_file(const char *path, struct wav_audio *out, char *msg, size_t msgsize)
{
    /* the samples, plus room for any reasonable metadata chunks */
    const size_t max_file = WAV_MAX_SAMPLES * 2 + (1u << 20);
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return say(msg, msgsize, errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = say(msg, msgsize, errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = say(msg, msgsize, EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t) st.st_size > max_file) {
        rc = say(msg, msgsize, EFBIG, "%s: %lld bytes, longer than the %u s we read",
                 path, (long long) st.st_size, WAV_MAX_SECONDS);
        goto out;
    }
    buf = malloc(st.st_size ? (size_t) st.st_size : 1);
    if (!buf) {
        rc = ENOMEM;
        goto out;
    }
    while (len < (size_t) st.st_size) {
        ssize_t k = read(fd, buf + len, (size_t) st.st_size - len);

        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            rc = say(msg, msgsize, errno, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0) break; /* shrank while we read: parse what we have */
        len += (size_t) k;
    }
    rc = decode(buf, len, path, out, msg, msgsize);
out:
    free(buf);
    close(fd);
    return rc;
}

void wav_audio_free(struct wav_audio *a)
{
    if (!a) return;
    free(a->samples);
    a->samples = NULL;
    a->n = 0;
}

/* ---- writer ---- */

#define WAV_WBUF 4096

struct wav_writer {
    int fd;
    enum wav_format format;
    size_t header_len;
    uint64_t data_bytes; /* written to the file or the buffer */
    size_t since_sync;   /* samples since the header was last fixed */
    int err;             /* first error; the writer stops writing after it */
    size_t buf_len;
    uint8_t buf[WAV_WBUF];
};

/* RIFF header: PCM has a 16-byte fmt chunk; the G.711 formats an 18-byte one
 * (cbSize 0) and a fact chunk with the sample count, as the WAVE spec asks. */
static size_t build_header(const struct wav_writer *w, uint8_t *h)
{
    bool law = w->format != WAV_FORMAT_PCM;
    uint16_t width = law ? 1 : 2;
    uint32_t data = (uint32_t) w->data_bytes;
    size_t len = law ? 58 : 44, off = 12;

    memcpy(h, "RIFF", 4);
    put_le32(h + 4, (uint32_t) (len - 8 + data + (data & 1)));
    memcpy(h + 8, "WAVE", 4);
    memcpy(h + off, "fmt ", 4);
    put_le32(h + off + 4, law ? 18 : 16);
    put_le16(h + off + 8, (uint16_t) w->format);
    put_le16(h + off + 10, 1);
    put_le32(h + off + 12, WAV_RATE);
    put_le32(h + off + 16, WAV_RATE * width);
    put_le16(h + off + 20, width);
    put_le16(h + off + 22, (uint16_t) (8 * width));
    off += 24;
    if (law) {
        put_le16(h + off, 0); /* cbSize */
        off += 2;
        memcpy(h + off, "fact", 4);
        put_le32(h + off + 4, 4);
        put_le32(h + off + 8, data);
        off += 12;
    }
    memcpy(h + off, "data", 4);
    put_le32(h + off + 4, data);
    return off + 8;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t at, bool positioned)
{
    while (n > 0) {
        ssize_t k = positioned ? pwrite(fd, p, n, at) : write(fd, p, n);

        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        p += k;
        n -= (size_t) k;
        at += k;
    }
    return 0;
}

static int flush_buf(struct wav_writer *w)
{
    int rc;

    if (w->err) return w->err;
    rc = write_all(w->fd, w->buf, w->buf_len, 0, false);
    w->buf_len = 0;
    if (rc) w->err = rc;
    return rc;
}

int wav_writer_sync(struct wav_writer *w)
{
    uint8_t h[64];
    size_t hl;
    int rc = flush_buf(w);

    if (rc) return rc;
    hl = build_header(w, h);
    rc = write_all(w->fd, h, hl, 0, true);
    if (rc) w->err = rc;
    w->since_sync = 0;
    return rc;
}

int wav_writer_open(struct wav_writer **wp, const char *path, enum wav_format format)
{
    struct wav_writer *w;
    uint8_t h[64];
    int rc;

    *wp = NULL;
    if (format != WAV_FORMAT_PCM && format != WAV_FORMAT_ALAW &&
        format != WAV_FORMAT_ULAW)
        return EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w) return ENOMEM;
    w->format = format;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = errno;
        goto out;
    }
    w->header_len = build_header(w, h);
    rc = write_all(w->fd, h, w->header_len, 0, false);
    if (rc) {
        close(w->fd);
        unlink(path);
        goto out;
    }
    *wp = w;
    return 0;
out:
    free(w);
    return rc;
}

int wav_writer_append(struct wav_writer *w, const int16_t *samples, size_t n)
{
    size_t width = w->format == WAV_FORMAT_PCM ? 2 : 1;

    if (w->err) return w->err;
    if (n > (WAV_MAX_DATA_BYTES - w->data_bytes) / width) return EFBIG;
    for (size_t i = 0; i < n; i++) {
        if (w->buf_len + 2 > sizeof(w->buf) && flush_buf(w)) return w->err;
        switch (w->format) {
        case WAV_FORMAT_PCM: put_le16(w->buf + w->buf_len, (uint16_t) samples[i]); break;
        case WAV_FORMAT_ALAW: w->buf[w->buf_len] = g711_alaw_encode(samples[i]); break;
        case WAV_FORMAT_ULAW: w->buf[w->buf_len] = g711_ulaw_encode(samples[i]); break;
        }
        w->buf_len += width;
        w->data_bytes += width;
        if (++w->since_sync >= WAV_SYNC_SAMPLES && wav_writer_sync(w)) return w->err;
    }
    return 0;
}

size_t wav_writer_samples(const struct wav_writer *w)
{
    return (size_t) (w->data_bytes / (w->format == WAV_FORMAT_PCM ? 2 : 1));
}

int wav_writer_close(struct wav_writer *w)
{
    int rc;

    if (!w) return 0;
    /* RIFF chunks are word aligned: an odd data chunk gets its pad byte */
    if (!w->err && (w->data_bytes & 1)) {
        if (w->buf_len + 1 > sizeof(w->buf)) flush_buf(w);
        if (!w->err) w->buf[w->buf_len++] = 0;
    }
    wav_writer_sync(w);
    rc = w->err;
    if (close(w->fd) != 0 && !rc) rc = errno;
    free(w);
    return rc;
}

int wav_write_file(const char *path, enum wav_format format, const int16_t *samples,
                   size_t n)
{
    struct wav_writer *w;
    int rc = wav_writer_open(&w, path, format), rc2;

    if (rc) return rc;
    rc = wav_writer_append(w, samples, n);
    rc2 = wav_writer_close(w);
    return rc ? rc : rc2;
}
