/* cmd_schema.c — `quiver schema FILE`: prints the schema of an Arrow IPC stream or file (fields,
 * types, nullability, dictionary encodings, custom metadata). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"

extern const qv_cli_command qv_cli_cmd_schema;

static void print_md(const qv_metadata *md, int indent) {
  for (int32_t i = 0; i < md->n; i++)
    printf("%*s-- %s: %s\n", indent, "", md->entries[i].key, md->entries[i].value);
}

static void print_field(const qv_field *f, int indent) {
  char buf[1024];
  const qv_type *t = f->type;
  qv_type_to_string(t, buf, sizeof buf);
  printf("%*s%s: %s%s", indent, "", f->name, buf, f->nullable ? "" : " not null");
  if (t->id == QV_TYPE_DICTIONARY) printf("  (dictionary id %lld)", (long long)f->dictionary_id);
  const char *ext = qv_field_extension_name(f);
  if (ext) printf("  (extension %s)", ext);
  putchar('\n');
  print_md(&f->metadata, indent + 2);
  if (t->id == QV_TYPE_DICTIONARY) t = t->value_type;
  /* children of nested types, one level per indent, when any of them carries more than the
   * one-line rendering shows (dictionary ids, metadata) */
  for (int32_t i = 0; i < t->n_children; i++) {
    const qv_field *c = t->children[i];
    if (c->metadata.n || c->type->id == QV_TYPE_DICTIONARY || c->type->n_children) {
      for (int32_t k = 0; k < t->n_children; k++) print_field(t->children[k], indent + 4);
      break;
    }
  }
}

static int run_schema(int argc, char **argv) {
  const char *path = NULL;
  int json = 0, forced = QV_CLI_FORMAT_UNKNOWN;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--format")) {
      const char *f = i + 1 < argc ? argv[++i] : "";
      if (!strcmp(f, "json")) json = 1;
      else if (!strcmp(f, "text")) json = 0;
      else return qv_cli_usage(&qv_cli_cmd_schema, "--format needs text or json");
    } else {
      int r = qv_cli_input_arg(&qv_cli_cmd_schema, argc, argv, &i, &path, &forced);
      if (r) return r;
    }
  }
  if (!path) return qv_cli_usage(&qv_cli_cmd_schema, "missing input file");
  qv_error err;
  qv_error_init(&err);
  qv_cli_input in;
  if (qv_cli_input_open(&in, path, forced, &err) < 0)
    return qv_cli_fail("schema", &err, "cannot read %s", path);
  if (json) {
    qv_cli_json_schema(stdout, in.schema);
  } else {
    for (int32_t i = 0; i < in.schema->n_fields; i++) print_field(in.schema->fields[i], 0);
    print_md(&in.schema->metadata, 0);
  }
  qv_cli_input_close(&in);
  if (fflush(stdout) != 0) return qv_cli_fail("schema", NULL, "cannot write to stdout");
  return QV_CLI_OK;
}

const qv_cli_command qv_cli_cmd_schema = {
    "schema",
    "print the schema of an Arrow IPC file or stream",
    "usage: quiver schema [--json] [--from stream|file] FILE\n\n"
    "Prints one field per line (\"name: type\", \"not null\" when not nullable), with\n"
    "dictionary ids, extension names and custom metadata (\"-- key: value\" lines); nested\n"
    "fields are expanded when they carry more than their type. '-' reads stdin.\n\n"
    "options:\n"
    "  --json, --format json   the schema line of `quiver cat --format json`\n"
    "  --format text           one field per line (default)\n"
    "  --from stream|file      force the input format\n\n"
    "examples:\n"
    "  quiver schema data.arrow\n"
    "  quiver schema --json events.arrows\n",
    run_schema,
};
