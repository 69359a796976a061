/* hello.c — the smallest quiver program: make a buffer, slice it, check the bytes. */
#include <quiver/quiver.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  qv_error err;
  qv_buffer buf, tail;
  if (qv_buffer_copy("hello, arrow", 12, NULL, &buf, &err) != QV_OK) {
    fprintf(stderr, "copy failed: %s\n", err.message);
    return 1;
  }
  if (qv_buffer_slice(&buf, 7, 5, &tail, &err) != QV_OK) {
    fprintf(stderr, "slice failed: %s\n", err.message);
    return 1;
  }
  int ok = tail.len == 5 && memcmp(tail.data, "arrow", 5) == 0;
  printf("quiver %s: slice \"%.*s\" shares the buffer (refcount %zu)\n", qv_version(),
         (int)tail.len, (const char *)tail.data, qv_buffer_refcount(&buf));
  qv_buffer_unref(&tail);
  qv_buffer_unref(&buf);
  return ok ? 0 : 1;
}
