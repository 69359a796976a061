/* cmd_demo.c — `quiver demo`: a guided tour that exercises each landed feature end to end and
 * prints what happened. Each feature adds one step to `steps` below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int check(FILE *out, int ok, const char *what) {
  fprintf(out, "  [%s] %s\n", ok ? "ok" : "FAILED", what);
  return ok ? 0 : 1;
}

/* Buffers: allocation, O(1) slices sharing memory, copy-on-write. */
static int demo_buffers(FILE *out, const char *workdir) {
  (void)workdir;
  qv_error err;
  qv_buffer buf, slice;
  int bad = 0;
  char text[200];
  for (int i = 0; i < 200; i++) text[i] = (char)('a' + i % 26);
  if (qv_buffer_copy(text, sizeof text, NULL, &buf, &err) != QV_OK)
    return check(out, 0, err.message);
  fprintf(out, "  buffer of %zu bytes at %p (64-byte aligned: %s)\n", buf.len, (const void *)buf.data,
          ((uintptr_t)buf.data % 64) == 0 ? "yes" : "no");
  bad |= check(out, ((uintptr_t)buf.data % 64) == 0, "data is 64-byte aligned");
  qv_buffer_slice(&buf, 26, 26, &slice, &err);
  fprintf(out, "  slice [26, 52) = \"%.*s\", shares memory: %s, refcount %zu\n", (int)slice.len,
          (const char *)slice.data, slice.data == buf.data + 26 ? "yes" : "no",
          qv_buffer_refcount(&buf));
  bad |= check(out, slice.data == buf.data + 26 && qv_buffer_refcount(&buf) == 2,
               "slicing is O(1) and shares the allocation");
  qv_status s = qv_buffer_slice(&buf, 190, 20, &(qv_buffer){0}, &err);
  fprintf(out, "  out-of-range slice -> %s: %s\n", qv_status_name(s), err.message);
  bad |= check(out, s == QV_E_RANGE, "out-of-range slice is refused");

  qv_mbuffer m;
  const uint8_t *before = slice.data;
  qv_buffer_into_mut(&slice, &m, &err); /* shared and partial: must copy the window */
  bad |= check(out, m.data != before && m.len == 26 && memcmp(m.data, text + 26, 26) == 0,
               "copy-on-write of a shared slice copies exactly the visible window");
  qv_mbuffer_reset(&m);
  before = buf.data;
  qv_buffer_into_mut(&buf, &m, &err); /* unique and whole: no copy */
  bad |= check(out, m.data == before, "copy-on-write of a unique whole buffer reuses the memory");
  qv_mbuffer_reset(&m);
  return bad;
}

typedef struct demo_step {
  const char *title;
  qv_cli_demo_fn fn;
} demo_step;

static const demo_step steps[] = {
    {"memory: shared buffers, slicing, copy-on-write", demo_buffers},
    {"memory: validity bitmaps with bit offsets", qv_cli_demo_bitmaps},
    {"IPC: write a file, map it, read one batch by index with a projection", qv_cli_demo_ipc},
    {"ndfile: chunked n-d arrays in layers, conflicts, compaction, checksums", qv_cli_demo_ndfile},
};

static int run_demo(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char workdir[] = "/tmp/quiver-demo-XXXXXX";
  if (!mkdtemp(workdir)) return qv_cli_fail("demo", NULL, "cannot create a work directory");
  int failed = 0;
  printf("quiver %s demo (work files in %s)\n", qv_version(), workdir);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    printf("\n== %s\n", steps[i].title);
    fflush(stdout);
    if (steps[i].fn(stdout, workdir) != 0) failed++;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
  if (system(cmd) != 0) fprintf(stderr, "quiver demo: could not remove %s\n", workdir);
  printf("\n%s\n", failed ? "demo: SOME STEPS FAILED" : "demo: all steps ok");
  return failed ? QV_CLI_FAIL : QV_CLI_OK;
}

const qv_cli_command qv_cli_cmd_demo = {
    "demo",
    "a guided tour of what quiver does, checking each step",
    "usage: quiver demo\n\n"
    "Runs every landed feature end to end in a temporary directory and prints what happened:\n"
    "buffers and bitmaps today; IPC files, conversions and transports as they land.\n"
    "Exits 1 if any step does not behave as documented.\n",
    run_demo,
};
