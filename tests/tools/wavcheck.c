/* wavcheck: prints what a WAV file holds (dominant frequency, level, lag against another)
 * for the end-to-end tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/tone.h"
#include "media/wav.h"

#define DEFAULT_MAX_LAG_MS 2000

static void usage(void)
{
    fprintf(stderr,
            "usage: wavcheck freq FILE [--skip-ms N]\n"
            "       wavcheck xcorr A.wav B.wav [--max-lag-ms N]\n"
            "       wavcheck info FILE\n"
            "Files: 8 kHz mono WAV, 16-bit PCM, mu-law or A-law.\n"
            "Output: one line of key=value; exit 0, 1 for usage, 2 for a file or\n"
            "analysis error.\n");
}

static int load(const char *path, struct wav_audio *a)
{
    char msg[WAV_MSG_MAX];
    int rc = wav_read_file(path, a, msg, sizeof(msg));

    if (rc == ENOMEM)
        fprintf(stderr, "wavcheck: %s: out of memory\n", path);
    else if (rc)
        fprintf(stderr, "wavcheck: %s\n", msg);
    return rc;
}

/* "--name N" with N a whole number of ms; false if absent, exits on a bad value. */
static bool opt_ms(int argc, char **argv, int from, const char *name, unsigned long *out)
{
    for (int i = from; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            char *end;

            if (i + 1 >= argc) {
                usage();
                exit(1);
            }
            errno = 0;
            *out = strtoul(argv[i + 1], &end, 10);
            if (errno || *end || end == argv[i + 1] || *out > 3600000) {
                fprintf(stderr, "wavcheck: %s: not a number of ms: %s\n", name,
                        argv[i + 1]);
                exit(1);
            }
            return true;
        }
        fprintf(stderr, "wavcheck: unknown option %s\n", argv[i]);
        usage();
        exit(1);
    }
    return false;
}

static int cmd_freq(int argc, char **argv)
{
    struct wav_audio a;
    unsigned long skip_ms = 0;
    size_t skip;
    double hz, amp, rms;
    int rc;

    if (argc < 3) {
        usage();
        return 1;
    }
    opt_ms(argc, argv, 3, "--skip-ms", &skip_ms);
    if (load(argv[2], &a)) return 2;
    skip = (size_t) (skip_ms * WAV_RATE / 1000);
    if (skip > a.n) skip = a.n;
    rc = tone_dominant(a.samples + skip, a.n - skip, WAV_RATE, &hz, &amp);
    if (rc) {
        fprintf(stderr, "wavcheck: %s: %s\n", argv[2],
                rc == ENODATA ? "fewer than 20 ms of samples after the skip"
                              : strerror(rc));
        wav_audio_free(&a);
        return 2;
    }
    {
        size_t n = a.n - skip;

        /* the level over the span tone_dominant analysed */
        if (n > (size_t) WAV_RATE * TONE_ANALYSE_MAX_S)
            n = (size_t) WAV_RATE * TONE_ANALYSE_MAX_S;
        rms = tone_rms(a.samples + skip, n);
    }
    printf("freq_hz=%.0f amplitude=%.0f rms=%.1f dbfs=%.1f\n", hz, amp, rms,
           tone_dbfs(rms));
    wav_audio_free(&a);
    return 0;
}

static int cmd_xcorr(int argc, char **argv)
{
    struct wav_audio a, b;
    unsigned long max_ms = DEFAULT_MAX_LAG_MS;
    long lag;
    double coef;
    int rc;

    if (argc < 4) {
        usage();
        return 1;
    }
    opt_ms(argc, argv, 4, "--max-lag-ms", &max_ms);
    if (load(argv[2], &a)) return 2;
    if (load(argv[3], &b)) {
        wav_audio_free(&a);
        return 2;
    }
    rc = tone_xcorr(a.samples, a.n, b.samples, b.n, (size_t) (max_ms * WAV_RATE / 1000),
                    &lag, &coef);
    if (rc)
        fprintf(stderr, "wavcheck: %s\n",
                rc == ENODATA
                    ? "nothing to correlate (silence, or files too short for the "
                      "lag range)"
                    : strerror(rc));
    else
        printf("lag_ms=%.3f coef=%.4f lag_samples=%ld\n", lag * 1000.0 / WAV_RATE, coef,
               lag);
    wav_audio_free(&a);
    wav_audio_free(&b);
    return rc ? 2 : 0;
}

static const char *format_word(unsigned format)
{
    switch (format) {
    case WAV_FORMAT_PCM: return "pcm";
    case WAV_FORMAT_ALAW: return "alaw";
    case WAV_FORMAT_ULAW: return "ulaw";
    default: return "other";
    }
}

static int cmd_info(int argc, char **argv)
{
    struct wav_audio a;
    char msg[WAV_MSG_MAX];
    double rms;
    int rc;

    if (argc != 3) {
        usage();
        return 1;
    }
    rc = wav_read_file(argv[2], &a, msg, sizeof(msg));
    if (rc) {
        fprintf(stderr, "wavcheck: %s\n", rc == ENOMEM ? "out of memory" : msg);
        if (rc == ENOTSUP)
            printf("format=%s format_code=%u rate=%u channels=%u bits=%u supported=no\n",
                   format_word(a.info.format), a.info.format, a.info.rate,
                   a.info.channels, a.info.bits);
        return 2;
    }
    rms = tone_rms(a.samples, a.n);
    printf("format=%s format_code=%u rate=%u channels=%u bits=%u samples=%zu "
           "duration_s=%.3f "
           "truncated=%s rms=%.1f dbfs=%.1f supported=yes\n",
           format_word(a.info.format), a.info.format, a.info.rate, a.info.channels,
           a.info.bits, a.n, (double) a.n / WAV_RATE, a.info.truncated ? "yes" : "no",
           rms, tone_dbfs(rms));
    wav_audio_free(&a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 1;
    }
    if (strcmp(argv[1], "freq") == 0) return cmd_freq(argc, argv);
    if (strcmp(argv[1], "xcorr") == 0) return cmd_xcorr(argc, argv);
    if (strcmp(argv[1], "info") == 0) return cmd_info(argc, argv);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage();
        return 0;
    }
    usage();
    return 1;
}
