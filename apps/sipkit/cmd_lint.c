/* sipkit lint: validate SIP messages, report FILE:LINE:COL: reason, or print them as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "cmd.h"
#include "sip/msg_json.h"

#define LINT_MAX_ERRORS 16
#define LINT_MAX_FILE (16u * 1024u * 1024u)

static int read_all(FILE *f, struct sk_buf *b)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b->len + n > LINT_MAX_FILE)
            return EFBIG;
        if (sk_buf_append(b, chunk, n))
            return ENOMEM;
    }
    return ferror(f) ? EIO : 0;
}

/* 1-based line and column of a byte offset. */
static void line_col(const char *buf, size_t len, size_t pos, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    if (pos > len)
        pos = len;
    for (size_t i = 0; i < pos; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

struct lint_result {
    size_t nerr;
    struct sip_error errs[LINT_MAX_ERRORS];
    size_t base; /* offset of the message in the file (leading empty lines) */
    int parse_rc;
};

static void lint_message(struct sip_msg *m, struct sk_str data, struct lint_result *r)
{
    size_t consumed = 0;
    struct sip_error e;

    memset(r, 0, sizeof(*r));
    r->parse_rc = sip_msg_parse(m, data.p, data.len, SIP_PARSE_DATAGRAM, NULL, &consumed, &e);
    r->base = m->buf ? (size_t) (m->buf - data.p) : 0;
    if (r->parse_rc) {
        r->errs[r->nerr++] = e;
        return;
    }
    if (sip_msg_validate(m, &e))
        r->errs[r->nerr++] = e;
    r->nerr += sip_msg_check_headers(m, r->errs + r->nerr, LINT_MAX_ERRORS - r->nerr);
    if (r->nerr > LINT_MAX_ERRORS)
        r->nerr = LINT_MAX_ERRORS;
}

static void print_errors(const char *name, struct sk_str data, const struct lint_result *r)
{
    char phrase[256];

    for (size_t i = 0; i < r->nerr; i++) {
        size_t line, col;
        line_col(data.p, data.len, r->base + r->errs[i].pos, &line, &col);
        printf("%s:%zu:%zu: %s (%d)\n", name, line, col,
               sip_error_phrase(&r->errs[i], phrase, sizeof(phrase)), r->errs[i].status);
    }
}

static void print_json(const char *name, struct sk_str data, struct sip_msg *m,
                       const struct lint_result *r)
{
    struct sk_buf out;
    struct sk_json j;
    char phrase[256];

    sk_buf_init(&out);
    sk_json_init(&j, &out);
    sk_json_obj_begin(&j);
    sk_json_kstr(&j, "file", sk_str_cstr(name));
    sk_json_kbool(&j, "valid", r->nerr == 0);
    sk_json_key(&j, "errors");
    sk_json_arr_begin(&j);
    for (size_t i = 0; i < r->nerr; i++) {
        size_t line, col;
        line_col(data.p, data.len, r->base + r->errs[i].pos, &line, &col);
        sk_json_obj_begin(&j);
        sk_json_kint(&j, "line", (int64_t) line);
        sk_json_kint(&j, "column", (int64_t) col);
        sk_json_kint(&j, "offset", (int64_t) (r->base + r->errs[i].pos));
        sk_json_kint(&j, "status", r->errs[i].status);
        sk_json_kstr(&j, "reason",
                     sk_str_cstr(sip_error_phrase(&r->errs[i], phrase, sizeof(phrase))));
        sk_json_obj_end(&j);
    }
    sk_json_arr_end(&j);
    if (r->parse_rc == 0) {
        sk_json_key(&j, "message");
        sk_json_obj_begin(&j);
        sip_msg_to_json(m, &j);
        sk_json_obj_end(&j);
        if (m->len + r->base < data.len)
            sk_json_kint(&j, "trailing_bytes", (int64_t) (data.len - m->len - r->base));
    }
    sk_json_obj_end(&j);
    sk_buf_putc(&out, '\n');
    fwrite(out.p, 1, out.len, stdout);
    sk_buf_free(&out);
}

static int lint_file(const char *name, bool json, struct sip_msg *m)
{
    struct sk_buf data;
    struct lint_result r;
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    int rc;

    if (!f) {
        fprintf(stderr, "sipkit lint: %s: %s\n", name, strerror(errno));
        return 1;
    }
    sk_buf_init(&data);
    rc = read_all(f, &data);
    if (f != stdin)
        fclose(f);
    if (rc) {
        fprintf(stderr, "sipkit lint: %s: %s\n", name,
                rc == EFBIG ? "file too large" : strerror(rc));
        sk_buf_free(&data);
        return 1;
    }
    lint_message(m, sk_buf_str(&data), &r);
    if (json) {
        print_json(name, sk_buf_str(&data), m, &r);
    } else if (r.nerr) {
        print_errors(name, sk_buf_str(&data), &r);
    } else {
        printf("%s: ok: %s%.*s%s, %u headers, %zu-byte body\n", name,
               m->is_request ? "" : "response ", SK_STR_FMT(m->is_request ? m->method
                                                                          : m->version),
               m->is_request ? " request" : "", m->nhdr, m->body.len);
    }
    sip_msg_release(m);
    sk_buf_free(&data);
    return r.nerr ? 1 : 0;
}

static void lint_usage(FILE *f)
{
    fprintf(f, "usage: sipkit lint [--json] FILE...\n"
               "  Checks one SIP message per file ('-' = stdin). Exit 0 when all are valid.\n"
               "  Errors print as FILE:LINE:COL: reason (status a server would answer).\n"
               "  --json  print each parsed message as a JSON object (one per file)\n");
}

int cmd_lint(int argc, char **argv)
{
    bool json = false;
    int status = 0, files = 0;
    struct sip_msg *m;

    m = malloc(sizeof(*m));
    if (!m) {
        fprintf(stderr, "sipkit lint: out of memory\n");
        return 2;
    }
    sip_msg_init(m);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            lint_usage(stdout);
            free(m);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "sipkit lint: unknown option %s\n", argv[i]);
            lint_usage(stderr);
            free(m);
            return 2;
        }
        files++;
        if (lint_file(argv[i], json, m))
            status = 1;
    }
    free(m);
    if (files == 0) {
        lint_usage(stderr);
        return 2;
    }
    return status;
}
