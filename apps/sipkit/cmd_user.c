/* sipkit user: add, list, delete users and set passwords; only HA1 hashes are stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "sip/auth.h"
#include "store/store.h"

static void user_usage(FILE *f)
{
    fprintf(f, "usage: sipkit user add|passwd USER@DOMAIN [--password P] [--data DIR]\n"
               "       sipkit user del USER@DOMAIN [--data DIR]\n"
               "       sipkit user list [--data DIR]\n"
               "       sipkit user import [FILE] [--update] [--data DIR]\n"
               "  The password comes from --password, else a prompt (on a terminal), else\n"
               "  the first line of standard input. DIR defaults to ./data, as for serve;\n"
               "  --store URL names another store, as for serve (sqlite:PATH).\n"
               "  import reads 'USER@DOMAIN PASSWORD' lines from FILE (or standard input;\n"
               "  blank lines and '#' comments skipped) and adds them all in one transaction,\n"
               "  or none when a line is bad or names an existing user (--update: set its\n"
               "  password instead).\n");
}

/* Split "alice@example.com" (an optional "sip:" is accepted). */
static int split_user(const char *arg, struct sk_user_rec *u)
{
    const char *at;

    if (strncmp(arg, "sip:", 4) == 0)
        arg += 4;
    at = strchr(arg, '@');
    if (!at || at == arg || at[1] == '\0' || (size_t) (at - arg) >= sizeof(u->user) ||
        strlen(at + 1) >= sizeof(u->domain))
        return EINVAL;
    memset(u, 0, sizeof(*u));
    memcpy(u->user, arg, (size_t) (at - arg));
    /* the domain is the realm, compared case-insensitively: keep it in lower case */
    for (size_t i = 0; at[1 + i]; i++)
        u->domain[i] = sk_lower(at[1 + i]);
    return 0;
}

static int read_password(char *buf, size_t size)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    size_t n;

    if (tty) {
        fprintf(stderr, "Password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    if (!fgets(buf, (int) size, stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return n ? 0 : EINVAL;
}

static void print_user(void *arg, const struct sk_user_rec *u)
{
    (void) arg;
    printf("%s@%s\n", u->user, u->domain);
}

/* Both HA1 values of u for password pass (realm = the user's domain). */
static int hash_user(struct sk_user_rec *u, struct sk_str pass)
{
    int rc = sip_digest_ha1(SIP_DIGEST_MD5, sk_str_cstr(u->user), sk_str_cstr(u->domain), pass,
                            u->ha1_md5);
    if (rc == 0)
        rc = sip_digest_ha1(SIP_DIGEST_SHA256, sk_str_cstr(u->user), sk_str_cstr(u->domain),
                            pass, u->ha1_sha256);
    if (rc)
        fprintf(stderr, "sipkit user: cannot hash the password: %s\n", strerror(rc));
    return rc;
}

struct import_set {
    struct sk_user_rec *u;
    size_t *line; /* input line of each user, for the messages */
    size_t n, cap;
};

static int import_add(struct import_set *set, const struct sk_user_rec *u, size_t line)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        struct sk_user_rec *nu = realloc(set->u, cap * sizeof(*nu));
        if (!nu)
            return ENOMEM;
        set->u = nu;
        size_t *nl = realloc(set->line, cap * sizeof(*nl));
        if (!nl)
            return ENOMEM;
        set->line = nl;
        set->cap = cap;
    }
    set->u[set->n] = *u;
    set->line[set->n++] = line;
    return 0;
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Read 'USER@DOMAIN PASSWORD' lines; the first fault is reported with its line
 * number and nothing is kept (users given twice are found by user_import). */
static int import_read(FILE *in, const char *name, struct import_set *set)
{
    char line[4096];
    size_t lineno = 0;

    while (fgets(line, sizeof(line), in)) {
        size_t len = strlen(line);
        char *p = line, *who, *pass, *end;
        struct sk_user_rec u;

        lineno++;
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(in)) {
            fprintf(stderr, "sipkit user import: %s:%zu: line longer than %zu bytes\n", name,
                    lineno, sizeof(line) - 2);
            return EINVAL;
        }
        while (len && is_blank(line[len - 1]))
            line[--len] = '\0';
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        who = p;
        while (*p && !is_blank(*p))
            p++;
        end = p;
        while (is_blank(*p))
            p++;
        pass = p;
        *end = '\0';
        if (split_user(who, &u)) {
            fprintf(stderr, "sipkit user import: %s:%zu: expected USER@DOMAIN, got '%s'\n", name,
                    lineno, who);
            return EINVAL;
        }
        if (*pass == '\0') {
            fprintf(stderr, "sipkit user import: %s:%zu: no password for %s@%s\n", name, lineno,
                    u.user, u.domain);
            return EINVAL;
        }
        int rc = hash_user(&u, sk_str_cstr(pass));
        memset(line, 0, sizeof(line));
        if (rc == 0)
            rc = import_add(set, &u, lineno);
        if (rc)
            return rc;
    }
    if (ferror(in)) {
        fprintf(stderr, "sipkit user import: cannot read %s: %s\n", name, strerror(errno));
        return EIO;
    }
    return 0;
}

static int cmp_user(const void *a, const void *b)
{
    const struct sk_user_rec *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->user, y->user);
}

static int user_import(struct sk_store *st, const char *file, bool update)
{
    const char *name = file && strcmp(file, "-") ? file : "stdin";
    FILE *in = file && strcmp(file, "-") ? fopen(file, "r") : stdin;
    struct import_set set = {0};
    size_t conflict = 0;
    int rc;

    if (!in) {
        fprintf(stderr, "sipkit user import: cannot open %s: %s\n", file, strerror(errno));
        return ENOENT;
    }
    rc = import_read(in, name, &set);
    if (in != stdin)
        fclose(in);
    if (rc == 0 && set.n > 1) {
        /* a user given twice: a fault, found on a sorted copy (the order is kept for the store) */
        struct sk_user_rec *sorted = malloc(set.n * sizeof(*sorted));
        if (!sorted) {
            rc = ENOMEM;
        } else {
            memcpy(sorted, set.u, set.n * sizeof(*sorted));
            qsort(sorted, set.n, sizeof(*sorted), cmp_user);
            for (size_t i = 1; i < set.n && rc == 0; i++) {
                if (cmp_user(&sorted[i - 1], &sorted[i]) == 0) {
                    fprintf(stderr, "sipkit user import: %s: %s@%s is given twice\n", name,
                            sorted[i].user, sorted[i].domain);
                    rc = EINVAL;
                }
            }
            free(sorted);
        }
    }
    if (rc == 0) {
        rc = sk_store_user_put_many(st, set.u, set.n, update, &conflict);
        if (rc == EEXIST)
            fprintf(stderr,
                    "sipkit user import: %s:%zu: %s@%s exists (--update sets its password); "
                    "nothing imported\n",
                    name, set.line[conflict], set.u[conflict].user, set.u[conflict].domain);
        else if (rc == 0)
            printf("imported %zu users\n", set.n);
    } else {
        fprintf(stderr, "sipkit user import: nothing imported\n");
    }
    if (set.u)
        memset(set.u, 0, set.cap * sizeof(*set.u));
    free(set.u);
    free(set.line);
    return rc;
}

int cmd_user(int argc, char **argv)
{
    const char *dir = "data", *url = NULL, *password = NULL, *who = NULL, *verb;
    bool update = false;
    char pw[512];
    struct sk_user_rec u, existing;
    struct sk_store *st;
    int rc = 0;

    if (argc < 2) {
        user_usage(stderr);
        return 2;
    }
    verb = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            password = argv[++i];
        else if (strcmp(argv[i], "--update") == 0 && strcmp(verb, "import") == 0)
            update = true;
        else if (strcmp(argv[i], "-") == 0 && strcmp(verb, "import") == 0 && !who)
            who = argv[i];
        else if (argv[i][0] != '-' && !who)
            who = argv[i];
        else {
            user_usage(stderr);
            return 2;
        }
    }
    if (strcmp(verb, "list") != 0 && strcmp(verb, "import") != 0 &&
        (!who || split_user(who, &u))) {
        fprintf(stderr, "sipkit user: expected USER@DOMAIN\n");
        return 2;
    }
    if (strcmp(verb, "add") && strcmp(verb, "passwd") && strcmp(verb, "del") &&
        strcmp(verb, "list") && strcmp(verb, "import")) {
        user_usage(stderr);
        return 2;
    }
    if ((rc = sk_store_open_url(&st, url, dir))) {
        fprintf(stderr, "sipkit user: cannot open %s: %s\n", url ? url : dir, strerror(rc));
        return 1;
    }
    if (strcmp(verb, "list") == 0) {
        rc = sk_store_user_list(st, print_user, NULL);
    } else if (strcmp(verb, "import") == 0) {
        rc = user_import(st, who, update);
    } else if (strcmp(verb, "del") == 0) {
        rc = sk_store_user_del(st, u.user, u.domain);
        if (rc == ENOENT)
            fprintf(stderr, "sipkit user: no user %s@%s\n", u.user, u.domain);
    } else {
        bool exists = sk_store_user_get(st, u.user, u.domain, &existing) == 0;
        if (strcmp(verb, "add") == 0 && exists) {
            fprintf(stderr, "sipkit user: %s@%s exists (use passwd)\n", u.user, u.domain);
            rc = EEXIST;
        } else if (strcmp(verb, "passwd") == 0 && !exists) {
            fprintf(stderr, "sipkit user: no user %s@%s\n", u.user, u.domain);
            rc = ENOENT;
        } else if (!password && read_password(pw, sizeof(pw))) {
            fprintf(stderr, "sipkit user: empty password\n");
            rc = EINVAL;
        } else {
            /* realm = the user's domain; only HA1 = H(user:realm:password) is kept */
            if ((rc = hash_user(&u, sk_str_cstr(password ? password : pw))) == 0)
                rc = sk_store_user_put(st, &u);
            memset(pw, 0, sizeof(pw));
        }
    }
    sk_store_close(st);
    return rc ? 1 : 0;
}
