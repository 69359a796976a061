/* cmd_demo_memory.c — `quiver demo` steps for the memory layer: validity bitmaps with bit
 * offsets (building, unaligned slices, null counts, equality, runs, and/or, all-valid elision). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int check(FILE *out, int ok, const char *what) {
  fprintf(out, "  [%s] %s\n", ok ? "ok" : "FAILED", what);
  return ok ? 0 : 1;
}

/* Prints up to 64 bits as 0/1, bit 0 first. */
static void print_bits(FILE *out, const char *label, const qv_bitmap *b) {
  fprintf(out, "  %-22s ", label);
  for (size_t i = 0; i < b->len && i < 64; i++)
    fputc(!qv_bitmap_present(b) || qv_bitmap_get(b, i) ? '1' : '0', out);
  fprintf(out, "%s  (%zu bits, bit offset %zu, %zu unset)\n", b->len > 64 ? "..." : "", b->len,
          b->offset, b->unset);
}

int qv_cli_demo_bitmaps(FILE *out, const char *workdir) {
  (void)workdir;
  qv_error err;
  qv_mbitmap mb;
  qv_bitmap valid = {0}, slice = {0}, copy = {0}, other = {0}, all = {0};
  int bad = 0;
  qv_status s;

  /* A validity bitmap for 40 values where every 7th is null. */
  qv_mbitmap_init(&mb, NULL);
  for (size_t i = 0; i < 40; i++)
    if ((s = qv_mbitmap_push(&mb, i % 7 != 3, &err)) != QV_OK) goto fail;
  if ((s = qv_mbitmap_finish(&mb, true, &valid, &err)) != QV_OK) goto fail;
  print_bits(out, "validity of 40 values", &valid);
  bad |= check(out, valid.unset == 6, "null count (unset bits) is cached: 6 nulls");

  /* An O(1) slice at an unaligned bit offset: shares the bytes, recounts the nulls. */
  if ((s = qv_bitmap_slice(&valid, 3, 30, &slice, &err)) != QV_OK) goto fail;
  print_bits(out, "slice [3, 33)", &slice);
  bad |= check(out, slice.buf.data == valid.buf.data && slice.offset == 3 && slice.unset == 5,
               "slice at bit offset 3 shares memory and has 5 nulls");

  /* The same bits copied to offset 0 are equal by value. */
  if ((s = qv_bitmap_copy_bits(slice.buf.data, slice.offset, slice.len, NULL, &copy, &err)) !=
      QV_OK)
    goto fail;
  print_bits(out, "copy at offset 0", &copy);
  bad |= check(out, qv_bitmap_equal(&slice, &copy), "equal by value whatever the bit offsets");

  /* Runs of valid values, found word by word. */
  qv_bitmap_runs it;
  size_t start, n, runs = 0;
  fprintf(out, "  runs of valid values in the slice:");
  qv_bitmap_runs_init(&it, &slice);
  while (qv_bitmap_runs_next(&it, &start, &n)) {
    fprintf(out, " [%zu,%zu)", start, start + n);
    runs++;
  }
  fprintf(out, "\n");
  bad |= check(out, runs == 5, "5 runs of set bits, one per gap between nulls");

  /* AND with a bitmap at another bit offset (5): nulls combine. */
  uint8_t raw[8];
  memset(raw, 0xff, sizeof raw);
  raw[1] = 0x0f; /* bits 12..15 unset, i.e. bits 7..10 of a bitmap at offset 5 */
  qv_buffer rawbuf;
  if ((s = qv_buffer_wrap(raw, sizeof raw, NULL, NULL, NULL, &rawbuf, &err)) != QV_OK) goto fail;
  s = qv_bitmap_from_buffer(&rawbuf, 5, 30, &other, &err);
  qv_buffer_unref(&rawbuf); /* the bitmap holds its own reference */
  if (s != QV_OK) goto fail;
  if ((s = qv_mbitmap_extend(&mb, &slice, &err)) != QV_OK) goto fail;
  if ((s = qv_mbitmap_and(&mb, &other, &err)) != QV_OK) goto fail;
  size_t nulls = qv_mbitmap_unset_count(&mb);
  print_bits(out, "other at offset 5", &other);
  fprintf(out, "  slice AND other         -> %zu nulls\n", nulls);
  bad |= check(out, nulls == 8, "and() with a different bit offset: 5 + 4 nulls, one shared");
  qv_mbitmap_reset(&mb);

  /* All valid: the bitmap is elided and its memory freed. */
  if ((s = qv_mbitmap_extend_const(&mb, true, 1000, &err)) != QV_OK) goto fail;
  if ((s = qv_mbitmap_finish(&mb, true, &all, &err)) != QV_OK) goto fail;
  fprintf(out, "  1000 valid values -> bitmap %s\n",
          qv_bitmap_present(&all) ? "kept" : "elided (no validity buffer)");
  bad |= check(out, !qv_bitmap_present(&all) && all.len == 1000, "all-valid bitmap is elided");

  /* Bounds are checked, overflow-safe. */
  s = qv_bitmap_from_buffer(&valid.buf, 60, 10, &(qv_bitmap){0}, &err);
  fprintf(out, "  bitmap past the buffer -> %s: %s\n", qv_status_name(s), err.message);
  bad |= check(out, s == QV_E_RANGE, "a bitmap longer than its buffer is refused");

  qv_bitmap_unref(&valid);
  qv_bitmap_unref(&slice);
  qv_bitmap_unref(&copy);
  qv_bitmap_unref(&other);
  qv_bitmap_unref(&all);
  return bad;
fail:
  fprintf(out, "  %s: %s\n", qv_status_name(s), err.message);
  qv_mbitmap_reset(&mb);
  qv_bitmap_unref(&valid);
  qv_bitmap_unref(&slice);
  qv_bitmap_unref(&copy);
  qv_bitmap_unref(&other);
  return check(out, 0, "bitmap demo");
}
