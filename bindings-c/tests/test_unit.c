/* Unit tests of the C ABI: result codes and names, NULL pointers, zero and huge values,
 * invalid UTF-8, the panic boundary, the clock, the config builder, the breaker's permit
 * protocol, manual control, snapshots and events. Each bad argument gives its own code. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "breakwater.h"
#include "check.h"

#define S(lit) (lit), (sizeof(lit) - 1) /* a string literal as pointer + length */

static const char BAD_UTF8[] = {'a', (char)0xff, 'b'};
static const uint64_t EPOCH_MS = 1767225600000ULL;

/* A breaker named "t" on `clock`, from `cfg` (which stays ours). */
static bw_breaker *make(const bw_breaker_config *cfg, const bw_manual_clock *clock) {
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("t"), cfg, clock, &b));
  CHECK(b != NULL);
  return b;
}

static void test_result_codes(void) {
  CHECK_STR(bw_result_code_str(BW_OK), "OK");
  CHECK_STR(bw_result_code_str(BW_RESULT_OK), "OK");
  CHECK_STR(bw_result_code_str(BW_RESULT_CIRCUIT_OPEN), "CIRCUIT_OPEN");
  CHECK_STR(bw_result_code_str(BW_RESULT_RATE_LIMITED), "RATE_LIMITED");
  CHECK_STR(bw_result_code_str(BW_RESULT_BULKHEAD_FULL), "BULKHEAD_FULL");
  CHECK_STR(bw_result_code_str(BW_RESULT_TIMEOUT), "TIMEOUT");
  CHECK_STR(bw_result_code_str(BW_RESULT_RETRY_EXHAUSTED), "RETRY_EXHAUSTED");
  CHECK_STR(bw_result_code_str(BW_RESULT_CONFIG_INVALID), "CONFIG_INVALID");
  CHECK_STR(bw_result_code_str(BW_RESULT_NULL_ARGUMENT), "NULL_ARGUMENT");
  CHECK_STR(bw_result_code_str(BW_RESULT_INVALID_ARGUMENT), "INVALID_ARGUMENT");
  CHECK_STR(bw_result_code_str(BW_RESULT_PANIC), "PANIC");
  CHECK(BW_OK == 0);
  /* Not a bw_result: NULL, never a crash. */
  CHECK(bw_result_code_str((bw_result)12345) == NULL);
  CHECK(bw_result_code_str((bw_result)1) == NULL);
  CHECK(strlen(bw_version()) > 0);
}

static void test_names(void) {
  CHECK_STR(bw_state_name(BW_STATE_CLOSED), "closed");
  CHECK_STR(bw_state_name(BW_STATE_OPEN), "open");
  CHECK_STR(bw_state_name(BW_STATE_HALF_OPEN), "half_open");
  CHECK_STR(bw_state_name(BW_STATE_FORCED_OPEN), "forced_open");
  CHECK_STR(bw_state_name(BW_STATE_DISABLED), "disabled");
  CHECK_STR(bw_state_name(BW_STATE_METRICS_ONLY), "metrics_only");
  CHECK(bw_state_name((bw_state)6) == NULL);
  CHECK(bw_state_name((bw_state)0x7fffffff) == NULL);

  CHECK_STR(bw_category_name(BW_CATEGORY_NETWORK), "network");
  CHECK_STR(bw_category_name(BW_CATEGORY_RATE_LIMITED), "rate_limited");
  CHECK_STR(bw_category_name(BW_CATEGORY_EXTERNAL_API), "external_api");
  CHECK_STR(bw_category_name(BW_CATEGORY_UNKNOWN), "unknown");
  CHECK(bw_category_name((bw_category)10) == NULL);

  CHECK_STR(bw_event_kind_name(BW_EVENT_KIND_STATE_CHANGE), "state_change");
  CHECK_STR(bw_event_kind_name(BW_EVENT_KIND_CALL_REJECTED), "call_rejected");
  CHECK_STR(bw_event_kind_name(BW_EVENT_KIND_SLOW_CALL), "slow_call");
  CHECK_STR(bw_event_kind_name(BW_EVENT_KIND_ALERT), "alert");
  CHECK(bw_event_kind_name(BW_EVENT_KIND_ALL) == NULL);
  CHECK(bw_event_kind_name((bw_event_kind)13) == NULL);

  /* Every name parses back. */
  for (int i = 0; i <= 5; i++) {
    const char *n = bw_state_name((bw_state)i);
    bw_state s = BW_STATE_METRICS_ONLY;
    CHECK_OK(bw_state_from_name(n, strlen(n), &s));
    CHECK((int)s == i);
  }
  for (int i = 0; i <= 9; i++) {
    const char *n = bw_category_name((bw_category)i);
    bw_category c = BW_CATEGORY_UNKNOWN;
    CHECK_OK(bw_category_from_name(n, strlen(n), &c));
    CHECK((int)c == i);
  }
  for (int i = 0; i <= 12; i++) {
    const char *n = bw_event_kind_name((bw_event_kind)i);
    bw_event_kind k = BW_EVENT_KIND_ALL;
    CHECK_OK(bw_event_kind_from_name(n, strlen(n), &k));
    CHECK((int)k == i);
  }
  /* Unknown names, bad UTF-8, NULLs; the output stays unwritten. */
  bw_state s = BW_STATE_DISABLED;
  CHECK_RC(bw_state_from_name(S("shut"), &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("shut");
  CHECK_RC(bw_state_from_name(S("Closed"), &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_state_from_name(BAD_UTF8, sizeof BAD_UTF8, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("UTF-8");
  CHECK_RC(bw_state_from_name(NULL, 0, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_state_from_name(S("open"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(s == BW_STATE_DISABLED);
  bw_category c = BW_CATEGORY_AUTH;
  CHECK_RC(bw_category_from_name(S("server "), &c), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_category_from_name(NULL, 3, &c), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_category_from_name(S("server"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(c == BW_CATEGORY_AUTH);
  bw_event_kind k = BW_EVENT_KIND_ALERT;
  CHECK_RC(bw_event_kind_from_name(S("stateChange"), &k), BW_RESULT_INVALID_ARGUMENT);
  CHECK(k == BW_EVENT_KIND_ALERT);
  /* A length beyond PTRDIFF_MAX is refused before anything is read. */
  CHECK_RC(bw_category_from_name("x", SIZE_MAX, &c), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("PTRDIFF_MAX");
}

static void test_panic_is_caught(void) {
  CHECK_RC(bw_test_panic(), BW_RESULT_PANIC);
  CHECK_MSG_HAS("panic");
  CHECK_MSG_HAS("bw_test_panic");
  /* The library still works afterwards. */
  bw_manual_clock *clock = bw_manual_clock_new();
  CHECK(clock != NULL);
  CHECK_OK(bw_manual_clock_advance_ms(clock, 1));
  bw_manual_clock_free(clock);
  CHECK_RC(bw_test_panic(), BW_RESULT_PANIC);
}

static void test_last_error_message(void) {
  CHECK_RC(bw_manual_clock_advance_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("bw_manual_clock_advance_ms");
  CHECK_MSG_HAS("clock");
  /* Success leaves the message alone, like errno. */
  bw_manual_clock *clock = bw_manual_clock_new();
  CHECK_OK(bw_manual_clock_advance_ms(clock, 1));
  CHECK_MSG_HAS("bw_manual_clock_advance_ms");
  /* Not a config error: no key. */
  CHECK(bw_last_error_key() == NULL);
  CHECK(bw_last_error_value() == NULL);
  CHECK(bw_last_error_allowed() == NULL);
  bw_manual_clock_free(clock);
}

static void test_clock(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  uint64_t now = 99, wall = 0;
  CHECK_OK(bw_manual_clock_now_ms(clock, &now));
  CHECK(now == 0);
  CHECK_OK(bw_manual_clock_wall_ms(clock, &wall));
  CHECK(wall == EPOCH_MS);
  CHECK_OK(bw_manual_clock_advance_ms(clock, 1500));
  CHECK_OK(bw_manual_clock_now_ms(clock, &now));
  CHECK(now == 1500);
  CHECK_OK(bw_manual_clock_wall_ms(clock, &wall));
  CHECK(wall == EPOCH_MS + 1500);
  /* Zero is fine; time never goes backwards. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 0));
  CHECK_OK(bw_manual_clock_set_ms(clock, 1500));
  CHECK_RC(bw_manual_clock_set_ms(clock, 10), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("backwards");
  CHECK_OK(bw_manual_clock_now_ms(clock, &now));
  CHECK(now == 1500);
  CHECK_OK(bw_manual_clock_set_ms(clock, 2000));
  CHECK_OK(bw_manual_clock_now_ms(clock, &now));
  CHECK(now == 2000);
  /* Huge values saturate instead of wrapping. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, UINT64_MAX));
  CHECK_OK(bw_manual_clock_advance_ms(clock, UINT64_MAX));
  CHECK_OK(bw_manual_clock_now_ms(clock, &now));
  CHECK(now == UINT64_MAX / 1000000);
  /* NULLs. */
  CHECK_RC(bw_manual_clock_now_ms(NULL, &now), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_manual_clock_now_ms(clock, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("out_ms");
  CHECK_RC(bw_manual_clock_wall_ms(NULL, &wall), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_manual_clock_wall_ms(clock, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_manual_clock_set_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_manual_clock_advance_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  bw_manual_clock_free(clock);
  bw_manual_clock_free(NULL);

  bw_manual_clock *c2 = bw_manual_clock_new_with_epoch_ms(1000);
  CHECK_OK(bw_manual_clock_advance_ms(c2, 5));
  CHECK_OK(bw_manual_clock_wall_ms(c2, &wall));
  CHECK(wall == 1005);
  bw_manual_clock_free(c2);
}

/* bw_breaker_new on `cfg` fails with CONFIG_INVALID naming `key`; returns nothing. */
static void expect_config_error(bw_breaker_config *cfg, const char *key, const char *value) {
  bw_breaker *b = (bw_breaker *)&b; /* a sentinel: must stay untouched */
  bw_breaker *const sentinel = b;
  CHECK_RC(bw_breaker_new(S("t"), cfg, NULL, &b), BW_RESULT_CONFIG_INVALID);
  CHECK(b == sentinel);
  CHECK_STR(bw_last_error_key(), key);
  if (value) CHECK_STR(bw_last_error_value(), value);
  CHECK(bw_last_error_allowed() != NULL && strlen(bw_last_error_allowed()) > 0);
  CHECK_MSG_HAS(key);
  CHECK_RC(bw_breaker_config_validate(cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), key);
}

static void test_config_setters(void) {
  /* Defaults are valid. */
  bw_breaker_config *cfg = bw_breaker_config_new();
  CHECK(cfg != NULL);
  CHECK_OK(bw_breaker_config_validate(cfg));
  bw_breaker *b = make(cfg, NULL);
  bw_breaker_config *got = NULL;
  CHECK_OK(bw_breaker_get_config(b, &got));
  CHECK_OK(bw_breaker_config_validate(got));
  bw_breaker_config_free(got);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);

  /* Every setter refuses a NULL builder. */
  CHECK_RC(bw_breaker_config_set_failure_threshold(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("config");
  CHECK_RC(bw_breaker_config_set_failure_rate_threshold(NULL, 0.5), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_minimum_calls(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_count_window(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_time_window(NULL, 1000, 10), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_slow_call_duration_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_slow_call_rate_threshold(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_recovery_timeout_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_recovery_backoff(NULL, 2, 10), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_half_open_max_calls(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_success_threshold(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_max_half_open_ms(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_set_ignored_categories(NULL, NULL, 0), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_validate(NULL), BW_RESULT_NULL_ARGUMENT);
  bw_breaker_config_free(NULL);

  /* Zero and huge values: each names its key (as the setter spells it) at bw_breaker_new. */
  struct {
    int which;
    uint64_t v;
    const char *key;
    const char *value;
  } cases[] = {
      {0, 1000001, "failure_threshold", "1000001"},
      {0, UINT32_MAX, "failure_threshold", "4294967295"},
      {1, 0, "minimum_calls", "0"},
      {1, UINT32_MAX, "minimum_calls", "4294967295"},
      {2, 0, "window.size", "0"},
      {2, 100001, "window.size", "100001"},
      {3, 0, "recovery_timeout_ms", "0"},
      {3, 86400001, "recovery_timeout_ms", "86400001"},
      {3, UINT64_MAX, "recovery_timeout_ms", "18446744073709551615"},
      {4, 0, "half_open_max_calls", "0"},
      {4, 1001, "half_open_max_calls", "1001"},
      {5, 0, "success_threshold", "0"},
      {5, UINT32_MAX, "success_threshold", "4294967295"},
      {6, 0, "slow_call_duration_ms", "0"},
      {7, 0, "max_half_open_ms", "0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg = bw_breaker_config_new();
    uint64_t v = cases[i].v;
    switch (cases[i].which) {
      case 0: CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, (uint32_t)v)); break;
      case 1: CHECK_OK(bw_breaker_config_set_minimum_calls(cfg, (uint32_t)v)); break;
      case 2: CHECK_OK(bw_breaker_config_set_count_window(cfg, (uint32_t)v)); break;
      case 3: CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(cfg, v)); break;
      case 4: CHECK_OK(bw_breaker_config_set_half_open_max_calls(cfg, (uint32_t)v)); break;
      case 5: CHECK_OK(bw_breaker_config_set_success_threshold(cfg, (uint32_t)v)); break;
      case 6: CHECK_OK(bw_breaker_config_set_slow_call_duration_ms(cfg, v)); break;
      case 7: CHECK_OK(bw_breaker_config_set_max_half_open_ms(cfg, v)); break;
    }
    expect_config_error(cfg, cases[i].key, cases[i].value);
    bw_breaker_config_free(cfg);
  }

  /* Rates: zero, above one, NaN, infinity. */
  double bad_rates[] = {0.0, -0.1, 1.5, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
    cfg = bw_breaker_config_new();
    CHECK_OK(bw_breaker_config_set_failure_rate_threshold(cfg, bad_rates[i]));
    expect_config_error(cfg, "failure_rate_threshold", NULL);
    bw_breaker_config_free(cfg);
    cfg = bw_breaker_config_new();
    CHECK_OK(bw_breaker_config_set_slow_call_rate_threshold(cfg, bad_rates[i]));
    expect_config_error(cfg, "slow_call_rate_threshold", NULL);
    bw_breaker_config_free(cfg);
  }

  /* Windows: zero buckets, duration below / not a multiple of buckets, too many buckets. */
  cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_time_window(cfg, 0, 0));
  expect_config_error(cfg, "window.buckets", "0");
  CHECK_OK(bw_breaker_config_set_time_window(cfg, 5, 10));
  expect_config_error(cfg, "window.duration_ms", "5");
  CHECK_OK(bw_breaker_config_set_time_window(cfg, 1001, 10));
  expect_config_error(cfg, "window.duration_ms", "1001");
  CHECK_OK(bw_breaker_config_set_time_window(cfg, 1001000, 1001));
  expect_config_error(cfg, "window.buckets", "1001");
  CHECK_OK(bw_breaker_config_set_time_window(cfg, UINT64_MAX, 10));
  expect_config_error(cfg, "window.duration_ms", NULL);
  bw_breaker_config_free(cfg);

  /* Backoff: multiplier below one or not finite, max below the recovery timeout. */
  cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_recovery_backoff(cfg, 0.5, 600000));
  expect_config_error(cfg, "recovery_backoff.multiplier", "0.5");
  CHECK_OK(bw_breaker_config_set_recovery_backoff(cfg, INFINITY, 600000));
  expect_config_error(cfg, "recovery_backoff.multiplier", NULL);
  CHECK_OK(bw_breaker_config_set_recovery_backoff(cfg, 2.0, 1000));
  expect_config_error(cfg, "recovery_backoff.max_ms", "1000");
  bw_breaker_config_free(cfg);

  /* Several problems: the first is the key, the message lists all. */
  cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, 2000000));
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(cfg, 0));
  expect_config_error(cfg, "failure_threshold", "2000000");
  CHECK_MSG_HAS("recovery_timeout_ms");
  bw_breaker_config_free(cfg);

  /* Boundary and huge values that are valid. */
  cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, 0));
  CHECK_OK(bw_breaker_config_set_failure_rate_threshold(cfg, 1.0));
  CHECK_OK(bw_breaker_config_set_minimum_calls(cfg, 1000000));
  CHECK_OK(bw_breaker_config_set_count_window(cfg, 100000));
  CHECK_OK(bw_breaker_config_set_slow_call_duration_ms(cfg, UINT64_MAX));
  CHECK_OK(bw_breaker_config_set_slow_call_rate_threshold(cfg, 1e-300));
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(cfg, 86400000));
  CHECK_OK(bw_breaker_config_set_recovery_backoff(cfg, 1e308, UINT64_MAX));
  CHECK_OK(bw_breaker_config_set_half_open_max_calls(cfg, 1000));
  CHECK_OK(bw_breaker_config_set_success_threshold(cfg, 1000));
  CHECK_OK(bw_breaker_config_set_max_half_open_ms(cfg, UINT64_MAX));
  CHECK_OK(bw_breaker_config_validate(cfg));
  b = make(cfg, NULL);
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
  bw_breaker_free(b);
  CHECK_OK(bw_breaker_config_set_time_window(cfg, UINT64_MAX - (UINT64_MAX % 1000), 1000));
  CHECK_OK(bw_breaker_config_set_time_window(cfg, 1, 1));
  b = make(cfg, NULL);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);

  /* Ignored categories: replaced set, empty set, NULL with a count, out-of-range value. */
  cfg = bw_breaker_config_new();
  bw_category ignored[] = {BW_CATEGORY_AUTH};
  CHECK_OK(bw_breaker_config_set_ignored_categories(cfg, ignored, 1));
  CHECK_OK(bw_breaker_config_set_ignored_categories(cfg, NULL, 0));
  CHECK_RC(bw_breaker_config_set_ignored_categories(cfg, NULL, 2), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("categories");
  bw_category bad[] = {BW_CATEGORY_SERVER, (bw_category)42};
  CHECK_RC(bw_breaker_config_set_ignored_categories(cfg, bad, 2), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("42");
  CHECK_RC(bw_breaker_config_set_ignored_categories(cfg, ignored, SIZE_MAX),
           BW_RESULT_INVALID_ARGUMENT);
  bw_breaker_config_free(cfg);
}

static void test_ignored_categories_apply(void) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_category ignored[] = {BW_CATEGORY_AUTH};
  CHECK_OK(bw_breaker_config_set_ignored_categories(cfg, ignored, 1));
  bw_breaker *b = make(cfg, NULL);
  bw_permit p;
  bw_snapshot s;
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_AUTH));
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_CLIENT));
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.ignored_total == 1);
  CHECK(s.failures_total == 1);
  CHECK(s.has_last_failure_category && s.last_failure_category == BW_CATEGORY_CLIENT);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
}

static void test_config_json(void) {
  bw_breaker_config *cfg = NULL;
  const char *json =
      "{\"failure_threshold\": 3, \"recovery_timeout_ms\": 1000,"
      " \"window\": {\"type\": \"count\", \"size\": 20}}";
  CHECK_OK(bw_breaker_config_from_json(json, strlen(json), &cfg));
  CHECK(cfg != NULL);
  /* Setters still apply on top, and are named by their key when wrong. */
  CHECK_OK(bw_breaker_config_set_success_threshold(cfg, 0));
  expect_config_error(cfg, "success_threshold", "0");
  CHECK_OK(bw_breaker_config_set_success_threshold(cfg, 1));
  bw_breaker *b = make(cfg, NULL);
  bw_breaker_config_free(cfg);
  bw_breaker_free(b);

  /* Seed camelCase keys. */
  cfg = NULL;
  CHECK_OK(bw_breaker_config_from_json(S("{\"failureThreshold\": 2, \"timeout\": 30000}"), &cfg));
  bw_breaker_config_free(cfg);

  /* Invalid documents: the key as written. */
  bw_breaker_config *sentinel = (bw_breaker_config *)&cfg;
  cfg = sentinel;
  CHECK_RC(bw_breaker_config_from_json(S("{\"recovery_timeout_ms\": 0}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "recovery_timeout_ms");
  CHECK_STR(bw_last_error_value(), "0");
  CHECK(cfg == sentinel);
  CHECK_RC(bw_breaker_config_from_json(S("{\"failureTreshold\": 3}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "failureTreshold");
  CHECK_MSG_HAS("did you mean");
  CHECK_RC(bw_breaker_config_from_json(S("{\"window\": {\"type\": \"count\", \"size\": 0}}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "window.size");
  CHECK_RC(bw_breaker_config_from_json(S("{\"failure_threshold\": \"3\"}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_breaker_config_from_json(S("[1, 2]"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_breaker_config_from_json(S("{\"failure_threshold\": "), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_MSG_HAS("not valid JSON");
  CHECK_RC(bw_breaker_config_from_json(S(""), &cfg), BW_RESULT_CONFIG_INVALID);
  /* A string with a NUL inside: shown as \0 in messages, never cut. */
  CHECK_RC(bw_breaker_config_from_json(S("{\"a\\u0000b\": 1}"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "a\\0b");
  CHECK(cfg == sentinel);
  /* Bad arguments. */
  CHECK_RC(bw_breaker_config_from_json(BAD_UTF8, sizeof BAD_UTF8, &cfg),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK(bw_last_error_key() == NULL);
  CHECK_RC(bw_breaker_config_from_json(NULL, 0, &cfg), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_from_json(S("{}"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_from_json("{}", SIZE_MAX, &cfg), BW_RESULT_INVALID_ARGUMENT);
  CHECK(cfg == sentinel);
}

static void test_breaker_new_arguments(void) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker *sentinel = (bw_breaker *)&cfg;
  bw_breaker *b = sentinel;
  CHECK_RC(bw_breaker_new(NULL, 0, cfg, NULL, &b), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("name");
  CHECK_RC(bw_breaker_new(S("t"), NULL, NULL, &b), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("config");
  CHECK_RC(bw_breaker_new(S("t"), cfg, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_new(BAD_UTF8, sizeof BAD_UTF8, cfg, NULL, &b), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("UTF-8");
  CHECK_RC(bw_breaker_new("a\0b", 3, cfg, NULL, &b), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("NUL");
  CHECK_RC(bw_breaker_new("t", SIZE_MAX, cfg, NULL, &b), BW_RESULT_INVALID_ARGUMENT);
  CHECK(b == sentinel);

  /* The name is given by length, not NUL: "payments" out of a longer buffer. */
  CHECK_OK(bw_breaker_new("payments-service", 8, cfg, NULL, &b));
  const char *name = NULL;
  size_t len = 0;
  CHECK_OK(bw_breaker_name(b, &name, &len));
  CHECK_STR(name, "payments");
  CHECK(len == 8);
  CHECK_OK(bw_breaker_name(b, &name, NULL));
  CHECK_RC(bw_breaker_name(b, NULL, &len), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_name(NULL, &name, &len), BW_RESULT_NULL_ARGUMENT);
  bw_breaker_free(b);
  /* An empty name is allowed (a pointer is still required). */
  CHECK_OK(bw_breaker_new("", 0, cfg, NULL, &b));
  bw_breaker_free(b);
  bw_breaker_free(NULL);
  bw_breaker_config_free(cfg);
}

static void test_breaker_null_arguments(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker *b = make(cfg, clock);
  bw_permit p = {0, 0, 0};
  bw_rejection r;
  bw_state st;
  bw_snapshot s;
  uint64_t id;
  CHECK_RC(bw_breaker_try_acquire(NULL, &p, &r), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("breaker");
  CHECK_RC(bw_breaker_try_acquire(b, NULL, &r), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("out_permit");
  CHECK_RC(bw_breaker_record(NULL, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN),
           BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_release(NULL, p), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_force_open(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_force_close(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_disable(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_metrics_only(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_reset(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_state(NULL, &st), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_state(b, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_snapshot(NULL, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_snapshot(b, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_configure(NULL, cfg), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_configure(b, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_configure_json(NULL, S("{}")), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_configure_json(b, NULL, 0), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_get_config(NULL, &cfg), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_get_config(b, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_on(NULL, BW_EVENT_KIND_ALL, NULL, NULL, &id), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_on(b, BW_EVENT_KIND_ALL, NULL, NULL, &id), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("callback");
  CHECK_RC(bw_breaker_off(NULL, 0), BW_RESULT_NULL_ARGUMENT);
  /* None of that counted anything. */
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.calls_total == 0 && s.rejected_total == 0 && s.state == BW_STATE_CLOSED);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
  bw_manual_clock_free(clock);
}

static void test_record_bad_enums(void) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker *b = make(cfg, NULL);
  bw_permit p;
  bw_snapshot s;
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_RC(bw_breaker_record(b, p, (bw_outcome)3, BW_CATEGORY_SERVER), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("outcome");
  CHECK_RC(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, (bw_category)10),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("category");
  CHECK_RC(bw_breaker_record(b, p, BW_OUTCOME_SUCCESS, (bw_category)-1),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.calls_total == 0 && s.ignored_total == 0);
  /* The permit is still good. */
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.calls_total == 1 && s.successes_total == 1);
  uint64_t id = 0;
  CHECK_RC(bw_breaker_on(b, (bw_event_kind)13, NULL, NULL, &id), BW_RESULT_NULL_ARGUMENT);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
}

static void test_permit_protocol(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, 3));
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(cfg, 1000));
  CHECK_OK(bw_breaker_config_set_half_open_max_calls(cfg, 1));
  CHECK_OK(bw_breaker_config_set_success_threshold(cfg, 2));
  bw_breaker *b = make(cfg, clock);
  bw_breaker_config_free(cfg); /* the breaker keeps its own copy */

  bw_permit p;
  bw_rejection r;
  bw_state st;
  bw_snapshot s;
  for (int i = 0; i < 3; i++) {
    CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
    CHECK_OK(bw_manual_clock_advance_ms(clock, 10));
    CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
  }
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_OPEN);

  /* Rejected: the rejection is written, the permit is not. */
  p.generation = 7;
  p.start_ns = 7;
  p.probe = 7;
  CHECK_OK(bw_manual_clock_advance_ms(clock, 400));
  CHECK_RC(bw_breaker_try_acquire(b, &p, &r), BW_RESULT_CIRCUIT_OPEN);
  CHECK(p.generation == 7 && p.start_ns == 7 && p.probe == 7);
  CHECK(r.code == BW_RESULT_CIRCUIT_OPEN);
  CHECK(r.state == BW_STATE_OPEN);
  CHECK(r.has_retry_after && r.retry_after_ms == 600);
  CHECK_MSG_HAS("circuit open");
  /* The rejection out-parameter may be NULL. */
  CHECK_RC(bw_breaker_try_acquire(b, &p, NULL), BW_RESULT_CIRCUIT_OPEN);

  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.state == BW_STATE_OPEN);
  CHECK(s.state_since_ms == 400);
  CHECK(s.calls == 3 && s.failures == 3 && s.failure_rate == 1.0);
  CHECK(s.consecutive_failures == 3);
  CHECK(s.failures_total == 3 && s.calls_total == 3 && s.rejected_total == 2);
  CHECK(s.times_opened == 1);
  CHECK(s.has_last_failure_category && s.last_failure_category == BW_CATEGORY_SERVER);
  CHECK(s.has_retry_after && s.retry_after_ms == 600);

  /* After the open period: a state read says half_open (pure); one probe slot. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 600));
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_HALF_OPEN);
  bw_permit probe;
  CHECK_OK(bw_breaker_try_acquire(b, &probe, &r));
  CHECK(probe.probe != 0);
  /* A NULL out_permit must not take the slot. */
  CHECK_RC(bw_breaker_try_acquire(b, NULL, &r), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_try_acquire(b, &p, &r), BW_RESULT_CIRCUIT_OPEN);
  CHECK(r.state == BW_STATE_HALF_OPEN && r.has_retry_after && r.retry_after_ms == 0);
  /* Releasing frees it. */
  CHECK_OK(bw_breaker_release(b, probe));
  CHECK_OK(bw_breaker_try_acquire(b, &probe, &r));
  CHECK_OK(bw_breaker_record(b, probe, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  CHECK_OK(bw_breaker_try_acquire(b, &probe, &r));
  CHECK_OK(bw_breaker_record(b, probe, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_CLOSED);

  /* Manual control. */
  CHECK_OK(bw_breaker_force_open(b));
  CHECK_RC(bw_breaker_try_acquire(b, &p, &r), BW_RESULT_CIRCUIT_OPEN);
  CHECK(r.state == BW_STATE_FORCED_OPEN && !r.has_retry_after);
  CHECK_OK(bw_breaker_force_open(b)); /* a no-op */
  CHECK_OK(bw_breaker_disable(b));
  CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
  CHECK_OK(bw_breaker_metrics_only(b));
  for (int i = 0; i < 10; i++) {
    CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
    CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_TIMEOUT));
  }
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_METRICS_ONLY);
  CHECK_OK(bw_breaker_force_close(b));
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.state == BW_STATE_CLOSED && s.calls == 0 && s.failures_total == 13);
  CHECK_OK(bw_breaker_reset(b));
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.calls_total == 0 && s.times_opened == 0 && s.rejected_total == 0);
  CHECK(!s.has_last_failure_category && !s.has_retry_after);
  CHECK(s.failure_rate == 0.0 && s.slow_call_rate == 0.0);

  /* Configure: builder and JSON layered over the current config. */
  bw_breaker_config *c2 = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(c2, 0));
  CHECK_RC(bw_breaker_configure(b, c2), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "recovery_timeout_ms");
  bw_breaker_config_free(c2);
  CHECK_RC(bw_breaker_configure_json(b, S("{\"recovery_timeout_ms\": 0}")),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "recovery_timeout_ms");
  CHECK_RC(bw_breaker_configure_json(b, BAD_UTF8, sizeof BAD_UTF8), BW_RESULT_INVALID_ARGUMENT);
  CHECK_OK(bw_breaker_configure_json(b, S("{\"failure_threshold\": 1}")));
  CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_NETWORK));
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_OPEN);
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.retry_after_ms == 1000); /* recovery_timeout_ms kept from the first config */

  bw_breaker_free(b);
  bw_manual_clock_free(clock); /* freeing the clock after the breaker... */

  /* ...or before it: the breaker keeps its own reference. */
  clock = bw_manual_clock_new();
  cfg = bw_breaker_config_new();
  b = make(cfg, clock);
  bw_manual_clock_free(clock);
  CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
}

/* ---- events ---- */

typedef struct {
  int count;
  bw_event_kind kinds[16];
  char reasons[16][32];
  char component[32];
  uint64_t at_ms[16];
  uint64_t duration_ms[16];
  int has_category[16];
  bw_category category[16];
  const bw_breaker *breaker; /* to call back into breakwater from the callback */
  int reentrant_ok;
} recorder;

static void record_event(void *userdata, const bw_event *e) {
  recorder *r = userdata;
  if (r->count >= 16) return;
  int i = r->count++;
  r->kinds[i] = e->kind;
  snprintf(r->reasons[i], sizeof r->reasons[i], "%s", e->reason ? e->reason : "");
  snprintf(r->component, sizeof r->component, "%.*s", (int)e->component_len, e->component);
  r->at_ms[i] = e->at_ms;
  r->duration_ms[i] = e->has_duration ? e->duration_ms : UINT64_MAX;
  r->has_category[i] = e->has_category;
  r->category[i] = e->category;
  if (r->breaker) {
    bw_snapshot s;
    if (bw_breaker_snapshot(r->breaker, &s) == BW_OK) r->reentrant_ok++;
  }
}

static void test_events(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, 1));
  CHECK_OK(bw_breaker_config_set_slow_call_duration_ms(cfg, 100));
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("payments"), cfg, clock, &b));
  recorder all, only;
  memset(&all, 0, sizeof all);
  memset(&only, 0, sizeof only);
  all.breaker = b;
  uint64_t id_all = 99, id_only = 99;
  CHECK_OK(bw_breaker_on(b, BW_EVENT_KIND_ALL, record_event, &all, &id_all));
  CHECK_OK(bw_breaker_on(b, BW_EVENT_KIND_STATE_CHANGE, record_event, &only, &id_only));
  CHECK(id_all != id_only);
  uint64_t unused;
  CHECK_RC(bw_breaker_on(b, (bw_event_kind)13, record_event, NULL, &unused),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_breaker_on(b, (bw_event_kind)-1, record_event, NULL, &unused),
           BW_RESULT_INVALID_ARGUMENT);

  bw_permit p;
  bw_rejection r;
  CHECK_OK(bw_breaker_try_acquire(b, &p, &r));
  CHECK_OK(bw_manual_clock_advance_ms(clock, 150));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_DATABASE));
  CHECK_RC(bw_breaker_try_acquire(b, &p, &r), BW_RESULT_CIRCUIT_OPEN);

  CHECK(all.count == 4);
  CHECK(all.kinds[0] == BW_EVENT_KIND_FAILURE);
  CHECK(all.has_category[0] && all.category[0] == BW_CATEGORY_DATABASE);
  CHECK(all.duration_ms[0] == 150);
  CHECK(all.kinds[1] == BW_EVENT_KIND_SLOW_CALL);
  CHECK(all.duration_ms[1] == 150);
  CHECK(all.kinds[2] == BW_EVENT_KIND_STATE_CHANGE);
  CHECK_STR(all.reasons[2], "consecutive_failures");
  CHECK(all.kinds[3] == BW_EVENT_KIND_CALL_REJECTED);
  CHECK(all.at_ms[3] == EPOCH_MS + 150);
  CHECK_STR(all.component, "payments");
  CHECK(all.reentrant_ok == 4);
  CHECK(only.count == 1 && only.kinds[0] == BW_EVENT_KIND_STATE_CHANGE);

  /* Unsubscribe: no more events; a second off is refused. */
  CHECK_OK(bw_breaker_off(b, id_all));
  CHECK_RC(bw_breaker_off(b, id_all), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_breaker_off(b, 123456), BW_RESULT_INVALID_ARGUMENT);
  CHECK_OK(bw_breaker_force_close(b));
  CHECK(all.count == 4);
  CHECK(only.count == 2);
  /* out_id may be NULL; the breaker's free drops remaining subscriptions. */
  CHECK_OK(bw_breaker_on(b, BW_EVENT_KIND_SUCCESS, record_event, &only, NULL));
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
  bw_manual_clock_free(clock);
}

static void test_system_clock(void) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker *b = make(cfg, NULL);
  bw_permit p;
  bw_snapshot s;
  for (int i = 0; i < 1000; i++) {
    CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
    CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  }
  CHECK_OK(bw_breaker_snapshot(b, &s));
  CHECK(s.successes_total == 1000 && s.calls == 1000 && s.state == BW_STATE_CLOSED);
  bw_breaker_free(b);
  bw_breaker_config_free(cfg);
}

int main(void) {
  /* Before any failure the message is empty (never NULL). */
  CHECK_STR(bw_last_error_message(), "");
  test_result_codes();
  test_names();
  test_panic_is_caught();
  test_last_error_message();
  test_clock();
  test_config_setters();
  test_ignored_categories_apply();
  test_config_json();
  test_breaker_new_arguments();
  test_breaker_null_arguments();
  test_record_bad_enums();
  test_permit_protocol();
  test_events();
  test_system_clock();
  CHECK_DONE("test_unit");
}
