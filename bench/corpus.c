/* Benchmark corpus: loads every *.sip file of a directory into memory, sorted by name. */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_sip_suffix(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".sip") == 0;
}

static int cmp_msg(const void *a, const void *b)
{
    return strcmp(((const struct corpus_msg *) a)->name,
                  ((const struct corpus_msg *) b)->name);
}

static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    int bad = !p || ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        return -1;
    }
    p[n] = '\0';
    *data = p;
    *len = n;
    return 0;
}

int corpus_load(struct corpus *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "corpus: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_sip_suffix(e->d_name)) continue;
        if (strlen(e->d_name) >= sizeof c->msgs[0].name) {
            fprintf(stderr, "corpus: file name too long: %s\n", e->d_name);
            goto fail;
        }
        if (c->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct corpus_msg *m = realloc(c->msgs, cap * sizeof *m);
            if (!m) {
                fprintf(stderr, "corpus: out of memory\n");
                goto fail;
            }
            c->msgs = m;
        }
        struct corpus_msg *m = &c->msgs[c->n];
        memset(m, 0, sizeof *m);
        memcpy(m->name, e->d_name, strlen(e->d_name) + 1);
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, m->name) >= (int) sizeof path ||
            read_file(path, &m->data, &m->len) != 0) {
            fprintf(stderr, "corpus: cannot read %s/%s\n", dir, m->name);
            goto fail;
        }
        if (m->len == 0) {
            fprintf(stderr, "corpus: empty file %s/%s\n", dir, m->name);
            free(m->data);
            goto fail;
        }
        c->total_bytes += m->len;
        c->n++;
    }
    closedir(d);
    if (c->n == 0) {
        fprintf(stderr, "corpus: no *.sip files in %s\n", dir);
        corpus_free(c);
        return -1;
    }
    qsort(c->msgs, c->n, sizeof c->msgs[0], cmp_msg);
    return 0;
fail:
    closedir(d);
    corpus_free(c);
    return -1;
}

void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->msgs[i].data);
    free(c->msgs);
    memset(c, 0, sizeof *c);
}
