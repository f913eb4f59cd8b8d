/* Benchmark corpus: loads every *.sip file of a directory into memory, sorted by name. */
#ifndef SIPKIT_BENCH_CORPUS_H
#define SIPKIT_BENCH_CORPUS_H

#include <stddef.h>

struct corpus_msg {
    char name[128]; /* file name, e.g. "01_invite_sdp.sip" */
    char *data;     /* file bytes, exactly as stored (plus a NUL not counted in len) */
    size_t len;
};

struct corpus {
    struct corpus_msg *msgs;
    size_t n;
    size_t total_bytes; /* sum of len */
};

/* Returns 0, or -1 after printing the reason to stderr (missing dir, no files, I/O
 * error). */
int corpus_load(struct corpus *c, const char *dir);
void corpus_free(struct corpus *c);

#endif
