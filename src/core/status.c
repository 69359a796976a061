/* status.c — status names and descriptions, and the qv_error helpers. */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

const char *qv_status_name(qv_status s) {
  switch (s) {
#define QV__NAME(name, num, desc) \
  case num:                       \
    return #name;
    QV_STATUS_LIST(QV__NAME)
#undef QV__NAME
  default:
    return "QV_UNKNOWN";
  }
}

const char *qv_status_str(qv_status s) {
  switch (s) {
#define QV__DESC(name, num, desc) \
  case num:                       \
    return desc;
    QV_STATUS_LIST(QV__DESC)
#undef QV__DESC
  default:
    return "unknown status";
  }
}

void qv_error_init(qv_error *err) {
  if (!err) return;
  err->code = QV_OK;
  err->offset = -1;
  err->message[0] = '\0';
}

qv_status qv_error_setv(qv_error *err, qv_status code, const char *fmt, va_list ap) {
  if (!err) return code;
  err->code = code;
  err->offset = -1;
  int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
  if (n < 0) err->message[0] = '\0';
  return code;
}

qv_status qv_error_set(qv_error *err, qv_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qv_error_setv(err, code, fmt, ap);
  va_end(ap);
  return code;
}

qv_status qv_error_set_at(qv_error *err, qv_status code, int64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qv_error_setv(err, code, fmt, ap);
  va_end(ap);
  if (err) err->offset = offset;
  return code;
}

void qv_error_prefix(qv_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[QV_ERROR_MESSAGE_MAX];
  char old[QV_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  memcpy(old, err->message, sizeof old);
  size_t plen = (size_t)n < sizeof prefix - 1 ? (size_t)n : sizeof prefix - 1;
  size_t olen = strnlen(old, sizeof old - 1);
  if (plen + olen > sizeof err->message - 1) olen = sizeof err->message - 1 - plen;
  memcpy(err->message, prefix, plen);
  memcpy(err->message + plen, old, olen);
  err->message[plen + olen] = '\0';
}

qv_status qv__nomem(qv_error *err, const char *what, size_t bytes) {
  return qv_error_set(err, QV_E_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
}

const char *qv_version(void) { return "0.1.0"; }
