/* quiver/status.h — the one status type, the error struct, and error-propagation macros.
 *
 * Every fallible quiver function returns a qv_status: 0 is success, negative values are errors,
 * and a few positive values report progress (need more input, would block, end of stream).
 * Numbers are pinned: they never change and are never reused.
 */
#ifndef QUIVER_STATUS_H
#define QUIVER_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a symbol as part of the public ABI; everything else is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define QV_API __attribute__((visibility("default")))
#define QV_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define QV_API
#define QV_PRINTF(fmt_idx, arg_idx)
#endif

/* X(name, number, description). Append only; never renumber. */
#define QV_STATUS_LIST(X)                                                                   \
  X(QV_OK, 0, "ok")                                                                        \
  X(QV_NEED_MORE, 1, "more input is needed")                                               \
  X(QV_AGAIN, 2, "operation would block; try again")                                       \
  X(QV_EOF, 3, "end of stream")                                                            \
  X(QV_E_INVALID, -1, "invalid argument")                                                  \
  X(QV_E_NOMEM, -2, "out of memory")                                                       \
  X(QV_E_IO, -3, "I/O error")                                                              \
  X(QV_E_CORRUPT, -4, "corrupt or malformed data")                                         \
  X(QV_E_LIMIT, -5, "a configured limit was exceeded")                                     \
  X(QV_E_UNSUPPORTED, -6, "unsupported feature")                                           \
  X(QV_E_PROTOCOL, -7, "protocol violation")                                               \
  X(QV_E_CLOSED, -8, "closed")                                                             \
  X(QV_E_RANGE, -9, "index or range out of bounds")                                        \
  X(QV_E_NOTFOUND, -10, "not found")                                                       \
  X(QV_E_EXISTS, -11, "already exists")                                                    \
  X(QV_E_STATE, -12, "object is in a state that does not allow this call")                 \
  X(QV_E_TIMEOUT, -13, "timed out")                                                        \
  X(QV_E_TYPE, -14, "type mismatch")                                                       \
  X(QV_E_CONFLICT, -15, "conflicting concurrent change")                                   \
  X(QV_E_OVERFLOW, -16, "arithmetic overflow in a size or offset")

typedef enum qv_status_code {
#define QV__STATUS_ENUM(name, num, desc) name = (num),
  QV_STATUS_LIST(QV__STATUS_ENUM)
#undef QV__STATUS_ENUM
} qv_status_code;

/* A status: one of qv_status_code. Kept as int so that it is ABI-stable. */
typedef int qv_status;

/* The name of a status ("QV_E_CORRUPT"); "QV_UNKNOWN" for a number not in the list. */
QV_API const char *qv_status_name(qv_status s);
/* A one-line human description of a status. */
QV_API const char *qv_status_str(qv_status s);

#define QV_ERROR_MESSAGE_MAX 512

/* Details of a failure. Optional everywhere: pass NULL when you only want the status.
 * `offset` is the byte offset in the input for format errors, -1 when it does not apply. */
typedef struct qv_error {
  qv_status code;
  int64_t offset;
  char message[QV_ERROR_MESSAGE_MAX];
} qv_error;

/* Clears an error (code QV_OK, offset -1, empty message). Accepts NULL. */
QV_API void qv_error_init(qv_error *err);

/* Records `code` and a printf-style message in err (if not NULL); returns `code`, so that
 * `return qv_error_set(err, QV_E_RANGE, "...")` reads naturally. */
QV_API qv_status qv_error_set(qv_error *err, qv_status code, const char *fmt, ...)
    QV_PRINTF(3, 4);
/* Like qv_error_set, also recording the byte offset in the input where the problem is. */
QV_API qv_status qv_error_set_at(qv_error *err, qv_status code, int64_t offset, const char *fmt,
                                 ...) QV_PRINTF(4, 5);
QV_API qv_status qv_error_setv(qv_error *err, qv_status code, const char *fmt, va_list ap);

/* Adds context in front of the existing message: "record batch 3: " + message. Accepts NULL. */
QV_API void qv_error_prefix(qv_error *err, const char *fmt, ...) QV_PRINTF(2, 3);

/* Propagate a failure (negative status) to the caller. Progress codes (> 0) pass through. */
#define QV_TRY(expr)                                                                        \
  do {                                                                                     \
    qv_status qv__try_s = (expr);                                                          \
    if (qv__try_s < 0) return qv__try_s;                                                   \
  } while (0)

/* Propagate a failure, jumping to a cleanup label with the status stored in `var`. */
#define QV_TRY_GOTO(var, expr, label)                                                       \
  do {                                                                                     \
    (var) = (expr);                                                                        \
    if ((var) < 0) goto label;                                                             \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
