/* WAV files for the phone: 8 kHz mono 16-bit PCM, µ-law and A-law; reader and streaming
 * writer. */
#ifndef MEDIA_WAV_H
#define MEDIA_WAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAV_RATE 8000
#define WAV_MAX_SECONDS 3600 /* longest file read: 1 hour, 57.6 MB of samples */
#define WAV_MAX_SAMPLES ((size_t) WAV_RATE * WAV_MAX_SECONDS)
#define WAV_SYNC_SAMPLES WAV_RATE /* the writer fixes the header sizes every second */
#define WAV_MSG_MAX 256           /* enough for any message the reader writes */

/* WAVE format codes we read and write */
enum wav_format {
    WAV_FORMAT_PCM = 1,  /* 16-bit linear */
    WAV_FORMAT_ALAW = 6, /* 8-bit G.711 A-law */
    WAV_FORMAT_ULAW = 7, /* 8-bit G.711 µ-law */
};

/* What the fmt chunk said (filled even when the format is refused). */
struct wav_info {
    uint16_t format; /* WAVE format code (for 0xFFFE: the sub-format's) */
    uint16_t channels;
    uint32_t rate;
    uint16_t bits;
    size_t nsamples; /* samples of the data chunk (after truncation) */
    bool truncated;  /* the data chunk claims more bytes than the file has */
};

struct wav_audio {
    int16_t *samples; /* malloc'd, 16-bit linear */
    size_t n;
    struct wav_info info;
};

/* Parse and decode a whole WAV file held in memory. 0; EBADMSG (not a WAV file, no
 * fmt or data chunk, truncated header); ENOTSUP for a format other than 8 kHz mono
 * 16-bit PCM, µ-law or A-law; EFBIG beyond WAV_MAX_SAMPLES; ENOMEM. Except for 0 and
 * ENOMEM, msg (msgsize bytes, WAV_MSG_MAX is enough) gets one line naming what was
 * found and what is needed, e.g. "sample rate 44100 Hz: need 8000 Hz (try: sox in.wav
 * -r 8000 -c 1 -b 16 out.wav)". Odd chunks (LIST, fact, cue...) and their odd-size
 * padding are skipped; a data chunk longer than the file gives what there is
 * (info.truncated), and so does the header of a writer that died before it first
 * fixed its sizes (RIFF and data sizes ending at an empty data chunk, samples after). */
int wav_read_buf(const uint8_t *buf, size_t len, struct wav_audio *out, char *msg,
                 size_t msgsize);
/* The same from a file (the sox hint names it); errno codes for I/O errors. */
int wav_read_file(const char *path, struct wav_audio *out, char *msg, size_t msgsize);
/* Header only: fills info and returns what wav_read_buf would (without decoding). */
int wav_probe_buf(const uint8_t *buf, size_t len, struct wav_info *info, char *msg,
                  size_t msgsize);
void wav_audio_free(struct wav_audio *a);

/* Streaming writer, 8 kHz mono in the given format. The header goes out first with the
 * sizes of what is written so far and is rewritten every WAV_SYNC_SAMPLES and on
 * close, so a crash leaves a file that plays up to the last second. */
struct wav_writer;

int wav_writer_open(struct wav_writer **wp, const char *path, enum wav_format format);
/* Append 16-bit samples (encoded for µ-law/A-law). EFBIG past 4 GB. */
int wav_writer_append(struct wav_writer *w, const int16_t *samples, size_t n);
/* Flush and rewrite the header sizes now. */
int wav_writer_sync(struct wav_writer *w);
size_t wav_writer_samples(const struct wav_writer *w);
/* Final sizes, close, free; the first error of the writer's life, or 0. NULL is fine. */
int wav_writer_close(struct wav_writer *w);
/* Whole file in one call. */
int wav_write_file(const char *path, enum wav_format format, const int16_t *samples,
                   size_t n);

#endif
