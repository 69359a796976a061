/* cli.h — the quiver command's subcommand table and shared helpers. Each subcommand lives in
 * its own cmd_<name>.c and is listed once in commands.c. No format logic lives in the CLI. */
#ifndef QV_CLI_H
#define QV_CLI_H

#include <stdio.h>

#include "quiver/quiver.h"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
enum { QV_CLI_OK = 0, QV_CLI_FAIL = 1, QV_CLI_USAGE = 2 };

typedef struct qv_cli_command {
  const char *name;
  const char *summary; /* one line for `quiver --help` */
  const char *help;    /* full text for `quiver NAME --help` (usage, options, examples) */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} qv_cli_command;

/* NULL-terminated, in the order `quiver --help` lists them (commands.c). */
extern const qv_cli_command *const qv_cli_commands[];

/* True when argv holds -h or --help; prints cmd->help to stdout then. */
int qv_cli_wants_help(const qv_cli_command *cmd, int argc, char **argv);
/* Prints "quiver NAME: message" (and the error's message if err is set) to stderr;
 * returns QV_CLI_FAIL. */
int qv_cli_fail(const char *cmd, const qv_error *err, const char *fmt, ...) QV_PRINTF(3, 4);
/* Prints a usage error and the command's usage line; returns QV_CLI_USAGE. */
int qv_cli_usage(const qv_cli_command *cmd, const char *fmt, ...) QV_PRINTF(2, 3);

/* A step of `quiver demo`: prints what it shows to `out`, returns 0 on success. Each feature
 * adds its step to the list in cmd_demo.c. */
typedef int (*qv_cli_demo_fn)(FILE *out, const char *workdir);
/* ndfile: layers, fall-through reads, conflicts, compaction, corruption detection (cmd_nd.c). */
int qv_cli_demo_ndfile(FILE *out, const char *workdir);
int qv_cli_demo_bitmaps(FILE *out, const char *workdir);
int qv_cli_demo_ipc(FILE *out, const char *workdir);

#endif
