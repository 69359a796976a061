/* main.c — entry point of the quiver command: dispatches to a subcommand. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static void print_help(FILE *out) {
  fprintf(out,
          "quiver %s — move Apache Arrow columnar data fast and safely\n\n"
          "usage: quiver COMMAND [ARGS...]\n"
          "       quiver COMMAND --help   (details of one command)\n\ncommands:\n",
          qv_version());
  for (size_t i = 0; qv_cli_commands[i]; i++)
    fprintf(out, "  %-10s %s\n", qv_cli_commands[i]->name, qv_cli_commands[i]->summary);
}

int qv_cli_wants_help(const qv_cli_command *cmd, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(cmd->help, stdout);
      return 1;
    }
  }
  return 0;
}

int qv_cli_fail(const char *cmd, const qv_error *err, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "quiver %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (err && err->code != QV_OK) {
    fprintf(stderr, ": %s", err->message[0] ? err->message : qv_status_str(err->code));
    if (err->offset >= 0) fprintf(stderr, " (at byte %lld)", (long long)err->offset);
    fprintf(stderr, " [%s]", qv_status_name(err->code));
  }
  fputc('\n', stderr);
  return QV_CLI_FAIL;
}

int qv_cli_usage(const qv_cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "quiver %s: ", cmd->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'quiver %s --help')\n", cmd->name);
  return QV_CLI_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "help") == 0) {
    print_help(argc < 2 ? stderr : stdout);
    return argc < 2 ? QV_CLI_USAGE : QV_CLI_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("quiver %s\n", qv_version());
    return QV_CLI_OK;
  }
  for (size_t i = 0; qv_cli_commands[i]; i++)
    if (strcmp(argv[1], qv_cli_commands[i]->name) == 0) {
      const qv_cli_command *c = qv_cli_commands[i];
      if (qv_cli_wants_help(c, argc - 1, argv + 1)) return QV_CLI_OK;
      return c->run(argc - 1, argv + 1);
    }
  fprintf(stderr, "quiver: unknown command '%s'\n\n", argv[1]);
  print_help(stderr);
  return QV_CLI_USAGE;
}
