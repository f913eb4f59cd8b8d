/* sipkit: one program, one subcommand per file (serve, user, ctl, lint, phone/call, flow). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sipkit <command> [options]\n\n"
               "commands:\n"
               "  serve [options]         run the SIP server (see sipkit serve --help)\n"
               "  user add|passwd|del|list manage users (HA1 hashes only)\n"
               "  ctl registrations       ask the running server (see sipkit ctl --help)\n"
               "  phone --user URI [...]  a phone: registers, calls, answers (sipkit phone --help)\n"
               "  call URI [...]          one call from the command line, with its quality\n"
               "  lint [--json] FILE...   validate SIP messages ('-' reads stdin)\n"
               "  flow FILE --messages    list the SIP messages in a capture (see --help)\n"
               "  version                 print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    if (strcmp(argv[1], "ctl") == 0)
        return cmd_ctl(argc - 1, argv + 1);
    if (strcmp(argv[1], "phone") == 0)
        return cmd_phone(argc - 1, argv + 1);
    if (strcmp(argv[1], "call") == 0)
        return cmd_call(argc - 1, argv + 1);
    if (strcmp(argv[1], "lint") == 0)
        return cmd_lint(argc - 1, argv + 1);
    if (strcmp(argv[1], "flow") == 0)
        return cmd_flow(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("sipkit %s\n", SIPKIT_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "sipkit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
