/* Entry points of the sipkit subcommands. */
#ifndef SIPKIT_CMD_H
#define SIPKIT_CMD_H

#define SIPKIT_VERSION "0.1.0"

int cmd_lint(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_phone(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_flow(int argc, char **argv);

#endif
