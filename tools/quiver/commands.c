/* commands.c — the list of quiver subcommands, in the order `quiver --help` shows them. */
#include "cli.h"

extern const qv_cli_command qv_cli_cmd_demo;
extern const qv_cli_command qv_cli_cmd_nd;
extern const qv_cli_command qv_cli_cmd_cat, qv_cli_cmd_schema, qv_cli_cmd_info, qv_cli_cmd_convert;

const qv_cli_command *const qv_cli_commands[] = {
    &qv_cli_cmd_demo,
    &qv_cli_cmd_cat,
    &qv_cli_cmd_schema,
    &qv_cli_cmd_info,
    &qv_cli_cmd_convert,
    &qv_cli_cmd_nd,
    NULL,
};
