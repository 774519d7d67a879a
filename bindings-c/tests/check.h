/* A tiny assertion kit shared by breakwater's C tests. Every check counts; a failed check
 * prints where and why and makes the test exit non-zero at the end (see CHECK_DONE). */
#ifndef BW_TEST_CHECK_H
#define BW_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "breakwater.h"

static int check_count = 0;
static int check_failed = 0;

static const char *code_of(bw_result r) {
  const char *s = bw_result_code_str(r);
  return s ? s : "(not a bw_result)";
}

#define CHECK(cond)                                                                  \
  do {                                                                               \
    check_count++;                                                                   \
    if (!(cond)) {                                                                   \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
    }                                                                                \
  } while (0)

/* Checks that `expr` returns `want`; on a mismatch prints both codes and the last message. */
#define CHECK_RC(expr, want)                                                         \
  do {                                                                               \
    bw_result rc_ = (expr);                                                          \
    check_count++;                                                                   \
    if (rc_ != (want)) {                                                             \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",       \
              __FILE__, __LINE__, #expr, code_of(rc_), code_of(want),                \
              bw_last_error_message());                                              \
    }                                                                                \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, BW_OK)

/* Two C strings are equal (NULL equals only NULL). */
#define CHECK_STR(got, want)                                                         \
  do {                                                                               \
    const char *g_ = (got), *w_ = (want);                                            \
    check_count++;                                                                   \
    if (!((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0))) {        \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__,  \
              #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                         \
    }                                                                                \
  } while (0)

/* The last error message on this thread contains `part`. */
#define CHECK_MSG_HAS(part)                                                          \
  do {                                                                               \
    const char *m_ = bw_last_error_message();                                        \
    check_count++;                                                                   \
    if (!m_ || !strstr(m_, (part))) {                                                \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n",          \
              __FILE__, __LINE__, m_ ? m_ : "(null)", (part));                       \
    }                                                                                \
  } while (0)

#define CHECK_DONE(name)                                                             \
  do {                                                                               \
    printf("%s: %d checks, %d failed\n", (name), check_count, check_failed);         \
    return check_failed ? 1 : 0;                                                     \
  } while (0)

#endif
