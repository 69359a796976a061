/* commands.c — the list of quiver subcommands, in the order `quiver --help` shows them. */
#include "cli.h"

extern const qv_cli_command qv_cli_cmd_demo;

const qv_cli_command *const qv_cli_commands[] = {
    &qv_cli_cmd_demo,
    NULL,
};
