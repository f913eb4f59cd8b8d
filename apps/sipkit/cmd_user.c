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
               "  The password comes from --password, else a prompt (on a terminal), else\n"
               "  the first line of standard input. DIR defaults to ./data, as for serve.\n");
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

int cmd_user(int argc, char **argv)
{
    const char *dir = "data", *password = NULL, *who = NULL, *verb;
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
        else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            password = argv[++i];
        else if (argv[i][0] != '-' && !who)
            who = argv[i];
        else {
            user_usage(stderr);
            return 2;
        }
    }
    if (strcmp(verb, "list") != 0 && (!who || split_user(who, &u))) {
        fprintf(stderr, "sipkit user: expected USER@DOMAIN\n");
        return 2;
    }
    if (strcmp(verb, "add") && strcmp(verb, "passwd") && strcmp(verb, "del") &&
        strcmp(verb, "list")) {
        user_usage(stderr);
        return 2;
    }
    if ((rc = sk_store_open(&st, dir))) {
        fprintf(stderr, "sipkit user: cannot open %s: %s\n", dir, strerror(rc));
        return 1;
    }
    if (strcmp(verb, "list") == 0) {
        rc = sk_store_user_list(st, print_user, NULL);
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
            struct sk_str pass = sk_str_cstr(password ? password : pw);
            /* realm = the user's domain; only HA1 = H(user:realm:password) is kept */
            if ((rc = sip_digest_ha1(SIP_DIGEST_MD5, sk_str_cstr(u.user), sk_str_cstr(u.domain),
                                     pass, u.ha1_md5)) ||
                (rc = sip_digest_ha1(SIP_DIGEST_SHA256, sk_str_cstr(u.user),
                                     sk_str_cstr(u.domain), pass, u.ha1_sha256)))
                fprintf(stderr, "sipkit user: cannot hash the password: %s\n", strerror(rc));
            else
                rc = sk_store_user_put(st, &u);
            memset(pw, 0, sizeof(pw));
        }
    }
    sk_store_close(st);
    return rc ? 1 : 0;
}
