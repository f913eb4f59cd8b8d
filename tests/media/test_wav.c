/* Tests of the WAV reader and writer: round trips, crash safety, odd chunks, truncation,
 * refusals. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/g711.h"
#include "media/wav.h"

static char g_dir[64];

static int setup(void **state)
{
    (void) state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/sipkit-wav-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", g_dir, name);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xFFFF);
    put16(p + 2, v >> 16);
}

/* A WAV image: RIFF header, optional LIST chunk of odd size before fmt, fmt, optional
 * fact chunk, data of data_len bytes (claimed size data_claim). */
struct img {
    uint8_t b[2048];
    size_t len;
};

static void make(struct img *m, unsigned format, unsigned channels, uint32_t rate,
                 unsigned bits, bool odd_list, size_t data_len, uint32_t data_claim)
{
    size_t off = 12;

    memset(m, 0, sizeof(*m));
    memcpy(m->b, "RIFF", 4);
    memcpy(m->b + 8, "WAVE", 4);
    if (odd_list) {
        memcpy(m->b + off, "LIST", 4);
        put32(m->b + off + 4, 5);
        memcpy(m->b + off + 8, "INFOx", 5);
        off += 8 + 5 + 1; /* pad byte */
    }
    memcpy(m->b + off, "fmt ", 4);
    put32(m->b + off + 4, 16);
    put16(m->b + off + 8, format);
    put16(m->b + off + 10, channels);
    put32(m->b + off + 12, rate);
    put32(m->b + off + 16, rate * channels * bits / 8);
    put16(m->b + off + 20, channels * bits / 8);
    put16(m->b + off + 22, bits);
    off += 24;
    if (odd_list) {
        memcpy(m->b + off, "fact", 4);
        put32(m->b + off + 4, 4);
        off += 12;
    }
    memcpy(m->b + off, "data", 4);
    put32(m->b + off + 4, data_claim);
    off += 8;
    for (size_t i = 0; i < data_len; i++)
        m->b[off + i] = (uint8_t) (i * 7);
    m->len = off + data_len;
    put32(m->b + 4, (uint32_t) (m->len - 8));
}

static int read_guarded(const struct img *m, size_t len, struct wav_audio *a, char *msg)
{
    struct tu_guard g;
    int rc = wav_read_buf((const uint8_t *) tu_guard_copy(&g, m->b, len), len, a, msg,
                          WAV_MSG_MAX);

    tu_guard_free(&g);
    return rc;
}

static void test_roundtrip(void **state)
{
    char p[128];
    int16_t s[20000];
    struct wav_audio a;
    char msg[WAV_MSG_MAX];
    (void) state;

    for (size_t i = 0; i < 20000; i++)
        s[i] = (int16_t) ((i * 2654435761u) >> 16);
    path_of(p, sizeof(p), "pcm.wav");
    assert_int_equal(wav_write_file(p, WAV_FORMAT_PCM, s, 20000), 0);
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_int_equal(a.n, 20000);
    assert_int_equal(a.info.format, 1);
    assert_false(a.info.truncated);
    assert_memory_equal(a.samples, s, sizeof(s));
    wav_audio_free(&a);

    /* G.711 files: samples that are exact code values come back as they were */
    for (size_t i = 0; i < 20000; i++)
        s[i] = g711_ulaw_decode((uint8_t) i);
    path_of(p, sizeof(p), "ulaw.wav");
    assert_int_equal(wav_write_file(p, WAV_FORMAT_ULAW, s, 19999), 0); /* odd: pad byte */
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_int_equal(a.info.format, 7);
    assert_int_equal(a.info.bits, 8);
    assert_int_equal(a.n, 19999);
    assert_memory_equal(a.samples, s, 19999 * sizeof(s[0]));
    wav_audio_free(&a);
    for (size_t i = 0; i < 20000; i++)
        s[i] = g711_alaw_decode((uint8_t) i);
    path_of(p, sizeof(p), "alaw.wav");
    assert_int_equal(wav_write_file(p, WAV_FORMAT_ALAW, s, 20000), 0);
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_int_equal(a.info.format, 6);
    assert_memory_equal(a.samples, s, sizeof(s));
    wav_audio_free(&a);
    /* an empty file is a valid WAV with no samples */
    path_of(p, sizeof(p), "empty.wav");
    assert_int_equal(wav_write_file(p, WAV_FORMAT_PCM, s, 0), 0);
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_int_equal(a.n, 0);
    wav_audio_free(&a);
}

static void test_header_bytes(void **state)
{
    char p[128];
    int16_t s[3] = {1, -2, 3};
    size_t len;
    char *f;
    (void) state;

    path_of(p, sizeof(p), "h.wav");
    assert_int_equal(wav_write_file(p, WAV_FORMAT_PCM, s, 3), 0);
    f = tu_read_file(p, &len);
    assert_int_equal(len, 44 + 6);
    assert_memory_equal(
        f,
        "RIFF\x2a\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0"
        "\x02\0\x10\0data\x06\0\0\0\x01\0\xfe\xff\x03\0",
        50);
    free(f);
}

/* The writer rewrites the header every second: a file never closed still plays. */
static void test_crash_leaves_playable_file(void **state)
{
    char p[128];
    int16_t s[12000] = {0};
    struct wav_writer *w;
    struct wav_audio a;
    char msg[WAV_MSG_MAX];
    (void) state;

    path_of(p, sizeof(p), "crash.wav");
    assert_int_equal(wav_writer_open(&w, p, WAV_FORMAT_PCM), 0);
    assert_int_equal(wav_writer_append(w, s, 12000), 0);
    assert_int_equal(wav_writer_samples(w), 12000);
    /* as if the process died now: the header already says 8000 samples */
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_true(a.n >= 8000 && a.n <= 12000);
    wav_audio_free(&a);
    assert_int_equal(wav_writer_close(w), 0);
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_int_equal(a.n, 12000);
    wav_audio_free(&a);
    /* died in its first second, before any header update: what reached the file */
    path_of(p, sizeof(p), "crash2.wav");
    assert_int_equal(wav_writer_open(&w, p, WAV_FORMAT_PCM), 0);
    assert_int_equal(wav_writer_append(w, s, 4000), 0);
    assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), 0);
    assert_true(a.n >= 2048 && a.n <= 4000);
    wav_audio_free(&a);
    assert_int_equal(wav_writer_close(w), 0);
    assert_int_equal(wav_writer_close(NULL), 0);
    assert_int_equal(wav_writer_open(&w, "/nonexistent-dir/x.wav", WAV_FORMAT_PCM),
                     ENOENT);
    assert_int_equal(wav_writer_open(&w, p, (enum wav_format) 3), EINVAL);
}

static void test_odd_chunks_and_truncation(void **state)
{
    struct img m;
    struct wav_audio a;
    char msg[WAV_MSG_MAX];
    (void) state;

    /* LIST of odd size (with its pad byte) before fmt, fact before data */
    make(&m, 1, 1, 8000, 16, true, 100, 100);
    assert_int_equal(read_guarded(&m, m.len, &a, msg), 0);
    assert_int_equal(a.n, 50);
    assert_int_equal(a.samples[1], (int16_t) (14 | (21 << 8)));
    wav_audio_free(&a);
    /* data chunk larger than the file: what there is, flagged */
    make(&m, 1, 1, 8000, 16, false, 501, 100000);
    assert_int_equal(read_guarded(&m, m.len, &a, msg), 0);
    assert_int_equal(a.n, 250);
    assert_true(a.info.truncated);
    wav_audio_free(&a);
    /* RIFF and data sizes of a writer that never finished (0xFFFFFFFF) */
    make(&m, 7, 1, 8000, 8, false, 160, 0xFFFFFFFFu);
    put32(m.b + 4, 0xFFFFFFFFu);
    assert_int_equal(read_guarded(&m, m.len, &a, msg), 0);
    assert_int_equal(a.n, 160);
    wav_audio_free(&a);
    /* a writer that died within its first second: sizes 36 and 0, samples after */
    make(&m, 1, 1, 8000, 16, false, 320, 0);
    put32(m.b + 4, 36);
    assert_int_equal(read_guarded(&m, m.len, &a, msg), 0);
    assert_int_equal(a.n, 160);
    assert_true(a.info.truncated);
    wav_audio_free(&a);
    /* WAVE_FORMAT_EXTENSIBLE with a PCM sub-format */
    make(&m, 1, 1, 8000, 16, false, 0, 0);
    {
        struct img x = m;
        size_t fmt = 12;

        put32(x.b + fmt + 4, 40);
        put16(x.b + fmt + 8, 0xFFFE);
        memset(x.b + fmt + 24, 0, 24);
        put16(x.b + fmt + 24, 22);
        put16(x.b + fmt + 32, 1); /* sub-format GUID starts 0x0001 */
        memcpy(x.b + fmt + 48, "data", 4);
        put32(x.b + fmt + 52, 4);
        x.len = fmt + 56 + 4;
        put32(x.b + 4, (uint32_t) (x.len - 8));
        assert_int_equal(read_guarded(&x, x.len, &a, msg), 0);
        assert_int_equal(a.n, 2);
        wav_audio_free(&a);
    }
    /* every prefix: a clean answer, never a read past the end */
    make(&m, 1, 1, 8000, 16, true, 64, 64);
    for (size_t len = 0; len <= m.len; len++) {
        int rc = read_guarded(&m, len, &a, msg);

        assert_true(rc == 0 || rc == EBADMSG);
        wav_audio_free(&a);
    }
}

static void expect(const struct img *m, int want, const char *text)
{
    struct wav_audio a;
    char msg[WAV_MSG_MAX] = "";

    assert_int_equal(read_guarded(m, m->len, &a, msg), want);
    assert_null(a.samples);
    assert_string_equal(msg, text);
}

static void test_refusals(void **state)
{
    struct img m;
    struct wav_audio a;
    char msg[WAV_MSG_MAX];
    (void) state;

    make(&m, 1, 1, 44100, 16, false, 4, 4);
    expect(&m, ENOTSUP,
           "sample rate 44100 Hz: need 8000 Hz (try: sox in.wav -r 8000 -c 1 -b 16 "
           "out.wav)");
    make(&m, 1, 2, 8000, 16, false, 4, 4);
    expect(&m, ENOTSUP,
           "2 channels: need mono (try: sox in.wav -r 8000 -c 1 -b 16 out.wav)");
    make(&m, 1, 2, 44100, 24, false, 6, 6);
    expect(&m, ENOTSUP,
           "24-bit PCM, 2 channels, sample rate 44100 Hz: need 16-bit, mono, 8000 Hz "
           "(try: sox in.wav -r 8000 -c 1 -b 16 out.wav)");
    make(&m, 1, 1, 8000, 8, false, 4, 4);
    expect(&m, ENOTSUP,
           "8-bit PCM: need 16-bit (try: sox in.wav -r 8000 -c 1 -b 16 out.wav)");
    make(&m, 3, 1, 8000, 32, false, 4, 4);
    expect(
        &m, ENOTSUP,
        "32-bit float samples: need 16-bit PCM, mu-law or A-law (try: sox in.wav -r 8000 "
        "-c 1 -b 16 out.wav)");
    make(&m, 0x55, 1, 8000, 0, false, 4, 4);
    expect(
        &m, ENOTSUP,
        "format 0x0055 (MP3): need 16-bit PCM, mu-law or A-law (try: sox in.wav -r 8000 "
        "-c 1 -b 16 out.wav)");
    make(&m, 7, 1, 8000, 16, false, 4, 4);
    expect(
        &m, ENOTSUP,
        "mu-law with 16 bits per sample: need 8 bits (try: sox in.wav -r 8000 -c 1 -b 16 "
        "out.wav)");

    /* not WAV at all, or broken structure */
    memset(&m, 0, sizeof(m));
    memcpy(m.b, "OggS", 4);
    m.len = 40;
    expect(&m, EBADMSG, "not a WAV file: no RIFF/WAVE header");
    make(&m, 1, 1, 8000, 16, false, 4, 4);
    m.len = 12 + 24; /* fmt, then nothing */
    expect(&m, EBADMSG, "not a usable WAV file: no data chunk");
    m.len = 12 + 10;
    expect(&m, EBADMSG, "truncated WAV file: fmt chunk cut short");
    make(&m, 1, 1, 8000, 16, false, 4, 4);
    memcpy(m.b + 12, "junk", 4);
    expect(&m, EBADMSG, "not a usable WAV file: data chunk before the fmt chunk");
    make(&m, 1, 1, 8000, 16, false, 4, 4);
    put32(m.b + 16, 12);
    memcpy(m.b + 12 + 20, "data", 4); /* fmt of 12 bytes */
    put32(m.b + 12 + 24, 0);
    m.len = 12 + 28;
    expect(&m, EBADMSG, "not a usable WAV file: fmt chunk of 12 bytes, need at least 16");
    memcpy(m.b, "RF64", 4);
    expect(&m, ENOTSUP,
           "RF64 WAV file: need RIFF (try: sox in.wav -r 8000 -c 1 -b 16 out.wav)");

    /* the file reader names the file in its hint, and reports I/O errors */
    {
        char p[128], want[256];
        FILE *f;

        make(&m, 1, 1, 16000, 16, false, 4, 4);
        path_of(p, sizeof(p), "wide.wav");
        f = fopen(p, "wb");
        assert_non_null(f);
        fwrite(m.b, 1, m.len, f);
        fclose(f);
        snprintf(
            want, sizeof(want),
            "sample rate 16000 Hz: need 8000 Hz (try: sox %s -r 8000 -c 1 -b 16 out.wav)",
            p);
        assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), ENOTSUP);
        assert_string_equal(msg, want);
        path_of(p, sizeof(p), "missing.wav");
        assert_int_equal(wav_read_file(p, &a, msg, sizeof(msg)), ENOENT);
        assert_non_null(strstr(msg, "missing.wav"));
    }
    /* probe fills in what the header says even when refusing */
    {
        struct wav_info info;

        make(&m, 1, 2, 44100, 16, false, 4, 4);
        assert_int_equal(wav_probe_buf(m.b, m.len, &info, msg, sizeof(msg)), ENOTSUP);
        assert_int_equal(info.rate, 44100);
        assert_int_equal(info.channels, 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_crash_leaves_playable_file),
        cmocka_unit_test(test_odd_chunks_and_truncation),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
