/* Unit tests of the C ABI beyond the breaker: classification, retry decisions, the rate
 * limiter, the bulkhead and the policy pipeline's steps, with their NULL, zero, huge and
 * out-of-range arguments and the order of steps. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "breakwater.h"
#include "check.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static const char BAD_UTF8[] = {'a', (char)0xff, 'b'};

static void test_names(void) {
  const char *reasons[] = {"max_attempts", "not_retryable", "circuit_open",
                           "rate_limited", "bulkhead_full", "max_elapsed",
                           "retry_after_exceeds_max", "budget_exhausted", "cancelled"};
  for (int i = 0; i < 9; i++) CHECK_STR(bw_give_up_reason_name((bw_give_up_reason)i), reasons[i]);
  CHECK(bw_give_up_reason_name((bw_give_up_reason)9) == NULL);
  CHECK_STR(bw_jitter_name(BW_JITTER_NONE), "none");
  CHECK_STR(bw_jitter_name(BW_JITTER_DECORRELATED), "decorrelated");
  CHECK_STR(bw_jitter_name(BW_JITTER_PROPORTIONAL), "proportional");
  CHECK(bw_jitter_name((bw_jitter)5) == NULL);
}

static void test_classify(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_error_facts f;
  bw_failure out;
  memset(&f, 0, sizeof f);
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.category == BW_CATEGORY_UNKNOWN && !out.not_sent && !out.has_retry_after);

  f.has_http_status = true;
  f.http_status = 503;
  CHECK_OK(bw_classify(&f, NULL, &out));
  CHECK(out.category == BW_CATEGORY_SERVER);
  f.http_status = 429;
  f.retry_after.ptr = "120";
  f.retry_after.len = 3;
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.category == BW_CATEGORY_RATE_LIMITED);
  CHECK(out.has_retry_after && out.retry_after_ms == 120000);
  /* An HTTP-date read against the manual clock's wall time (2026-01-01T00:00:00Z). */
  f.retry_after.ptr = "Thu, 01 Jan 2026 00:00:30 GMT";
  f.retry_after.len = strlen(f.retry_after.ptr);
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.has_retry_after && out.retry_after_ms == 30000);
  /* retry-after-ms wins. */
  f.retry_after_ms.ptr = "1500";
  f.retry_after_ms.len = 4;
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.retry_after_ms == 1500);
  /* Unparsable: no wait. */
  f.retry_after_ms.ptr = NULL;
  f.retry_after.ptr = "soon";
  f.retry_after.len = 4;
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(!out.has_retry_after);

  memset(&f, 0, sizeof f);
  bw_str codes[] = {{S("SomethingElse")}, {S("ECONNREFUSED")}};
  f.codes = codes;
  f.codes_len = 2;
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.category == BW_CATEGORY_NETWORK && out.not_sent);
  f.has_user_category = true;
  f.user_category = BW_CATEGORY_EXTERNAL_API;
  CHECK_OK(bw_classify(&f, clock, &out));
  CHECK(out.category == BW_CATEGORY_EXTERNAL_API && !out.not_sent);

  /* Bad arguments. */
  bw_failure untouched = out;
  f.user_category = (bw_category)77;
  CHECK_RC(bw_classify(&f, clock, &out), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("user_category");
  f.has_user_category = false;
  bw_str bad[] = {{BAD_UTF8, sizeof BAD_UTF8}};
  f.codes = bad;
  f.codes_len = 1;
  CHECK_RC(bw_classify(&f, clock, &out), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("UTF-8");
  bw_str null_code[] = {{NULL, 0}};
  f.codes = null_code;
  CHECK_RC(bw_classify(&f, clock, &out), BW_RESULT_NULL_ARGUMENT);
  f.codes = NULL;
  f.codes_len = 3;
  CHECK_RC(bw_classify(&f, clock, &out), BW_RESULT_NULL_ARGUMENT);
  f.codes_len = 0;
  f.retry_after.ptr = "1";
  f.retry_after.len = SIZE_MAX;
  CHECK_RC(bw_classify(&f, clock, &out), BW_RESULT_INVALID_ARGUMENT);
  CHECK(out.category == untouched.category && out.not_sent == untouched.not_sent);
  CHECK_RC(bw_classify(NULL, clock, &out), BW_RESULT_NULL_ARGUMENT);
  memset(&f, 0, sizeof f);
  CHECK_RC(bw_classify(&f, clock, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_manual_clock_free(clock);
}

static void expect_retry_config_error(bw_retry_config *cfg, const char *key) {
  bw_retry *r = NULL;
  CHECK_RC(bw_retry_new(cfg, NULL, &r), BW_RESULT_CONFIG_INVALID);
  CHECK(r == NULL);
  CHECK_STR(bw_last_error_key(), key);
  CHECK_RC(bw_retry_config_validate(cfg), BW_RESULT_CONFIG_INVALID);
}

static void test_retry_config(void) {
  bw_retry_config *cfg = bw_retry_config_new();
  CHECK_OK(bw_retry_config_validate(cfg));
  CHECK_RC(bw_retry_config_set_max_attempts(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_config_set_jitter(NULL, BW_JITTER_NONE), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_config_set_seed(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_config_validate(NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_config_set_jitter(cfg, (bw_jitter)5), BW_RESULT_INVALID_ARGUMENT);
  bw_category bad[] = {(bw_category)10};
  CHECK_RC(bw_retry_config_set_retry_on(cfg, bad, 1), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_retry_config_set_retry_on(cfg, NULL, 1), BW_RESULT_NULL_ARGUMENT);
  bw_retry_config_free(cfg);

  struct {
    int which;
    const char *key;
  } cases[] = {{0, "max_attempts"}, {1, "max_attempts"}, {2, "max_delay_ms"},
               {3, "multiplier"},   {4, "jitter_factor"}, {5, "max_elapsed_ms"},
               {6, "budget.ttl_ms"}, {7, "budget.ratio"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg = bw_retry_config_new();
    switch (cases[i].which) {
      case 0: bw_retry_config_set_max_attempts(cfg, 0); break;
      case 1: bw_retry_config_set_max_attempts(cfg, UINT32_MAX); break;
      case 2:
        bw_retry_config_set_base_delay_ms(cfg, 1000);
        bw_retry_config_set_max_delay_ms(cfg, 999);
        break;
      case 3: bw_retry_config_set_multiplier(cfg, 0.5); break;
      case 4: bw_retry_config_set_jitter_factor(cfg, 1.5); break;
      case 5: bw_retry_config_set_max_elapsed_ms(cfg, 0); break;
      case 6: bw_retry_config_set_budget(cfg, 0.2, 10, 1); break;
      case 7: bw_retry_config_set_budget(cfg, -1, 10, 10000); break;
    }
    expect_retry_config_error(cfg, cases[i].key);
    bw_retry_config_free(cfg);
  }

  /* Huge but valid. */
  cfg = bw_retry_config_new();
  CHECK_OK(bw_retry_config_set_max_attempts(cfg, 100));
  CHECK_OK(bw_retry_config_set_base_delay_ms(cfg, UINT64_MAX / 4));
  CHECK_OK(bw_retry_config_set_max_delay_ms(cfg, UINT64_MAX));
  CHECK_OK(bw_retry_config_set_multiplier(cfg, 1e300));
  CHECK_OK(bw_retry_config_set_max_retry_after_ms(cfg, UINT64_MAX));
  CHECK_OK(bw_retry_config_set_max_elapsed_ms(cfg, UINT64_MAX));
  CHECK_OK(bw_retry_config_set_seed(cfg, UINT64_MAX));
  bw_retry *r = NULL;
  CHECK_OK(bw_retry_new(cfg, NULL, &r));
  bw_retry_call *call = NULL;
  CHECK_OK(bw_retry_begin(r, &call));
  bw_failure f = {BW_CATEGORY_SERVER, false, false, 0};
  bw_retry_decision d;
  for (int i = 0; i < 5; i++) CHECK_OK(bw_retry_decide(call, &f, &d));
  bw_retry_call_free(call);
  bw_retry_free(r);
  bw_retry_config_free(cfg);

  /* JSON. */
  cfg = NULL;
  CHECK_OK(bw_retry_config_from_json(S("{\"max_attempts\": 5, \"jitter\": \"none\"}"), &cfg));
  bw_retry_config_free(cfg);
  CHECK_RC(bw_retry_config_from_json(S("{\"jitter\": \"fast\"}"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "jitter");
  CHECK_RC(bw_retry_config_from_json(S("{\"maxAttempts\": 0}"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "maxAttempts");
  CHECK_RC(bw_retry_config_from_json(BAD_UTF8, sizeof BAD_UTF8, &cfg), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_retry_config_from_json(NULL, 0, &cfg), BW_RESULT_NULL_ARGUMENT);
}

static void test_retry_decisions(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_retry_config *cfg = bw_retry_config_new();
  CHECK_OK(bw_retry_config_set_jitter(cfg, BW_JITTER_NONE));
  CHECK_OK(bw_retry_config_set_base_delay_ms(cfg, 100));
  CHECK_OK(bw_retry_config_set_max_attempts(cfg, 3));
  bw_retry *r = NULL;
  CHECK_OK(bw_retry_new(cfg, clock, &r));
  bw_retry_config_free(cfg);

  bw_retry_call *call = NULL;
  CHECK_OK(bw_retry_begin(r, &call));
  uint32_t attempts = 0;
  CHECK_OK(bw_retry_call_attempts(call, &attempts));
  CHECK(attempts == 1);
  bw_failure server = {BW_CATEGORY_SERVER, false, false, 0};
  bw_retry_decision d;
  CHECK_OK(bw_retry_decide(call, &server, &d));
  CHECK(d.retry && d.delay_ms == 100 && d.attempt == 2);
  CHECK_OK(bw_retry_decide(call, &server, &d));
  CHECK(d.retry && d.delay_ms == 200 && d.attempt == 3);
  CHECK_OK(bw_retry_decide(call, &server, &d));
  CHECK(!d.retry && d.reason == BW_GIVE_UP_MAX_ATTEMPTS);
  bw_retry_call_free(call);

  /* Not retryable; Retry-After beyond the maximum. */
  CHECK_OK(bw_retry_begin(r, &call));
  bw_failure client = {BW_CATEGORY_CLIENT, false, false, 0};
  CHECK_OK(bw_retry_decide(call, &client, &d));
  CHECK(!d.retry && d.reason == BW_GIVE_UP_NOT_RETRYABLE);
  bw_failure slow_down = {BW_CATEGORY_RATE_LIMITED, false, true, 61000};
  CHECK_OK(bw_retry_decide(call, &slow_down, &d));
  CHECK(!d.retry && d.reason == BW_GIVE_UP_RETRY_AFTER_EXCEEDS_MAX);
  slow_down.retry_after_ms = 5000;
  CHECK_OK(bw_retry_decide(call, &slow_down, &d));
  CHECK(d.retry && d.delay_ms == 5000);

  /* Bad arguments change nothing. */
  bw_failure bad = {(bw_category)12, false, false, 0};
  CHECK_RC(bw_retry_decide(call, &bad, &d), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_retry_decide(call, NULL, &d), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_decide(call, &server, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_decide(NULL, &server, &d), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_retry_call_attempts(call, &attempts));
  CHECK(attempts == 2);
  CHECK_RC(bw_retry_begin(NULL, &call), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_begin(r, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_new(NULL, NULL, &r), BW_RESULT_NULL_ARGUMENT);
  bw_retry_call_free(call);
  bw_retry_call_free(NULL);
  bw_retry_free(r);
  bw_retry_free(NULL);

  /* Seeded full jitter: reproducible across policies, different between calls. */
  uint64_t first[2][3];
  for (int p = 0; p < 2; p++) {
    cfg = bw_retry_config_new();
    CHECK_OK(bw_retry_config_set_seed(cfg, 42));
    CHECK_OK(bw_retry_config_set_max_attempts(cfg, 4));
    CHECK_OK(bw_retry_new(cfg, clock, &r));
    bw_retry_config_free(cfg);
    for (int c = 0; c < 2; c++) {
      CHECK_OK(bw_retry_begin(r, &call));
      for (int i = 0; i < 3; i++) {
        CHECK_OK(bw_retry_decide(call, &server, &d));
        if (c == 0) first[p][i] = d.delay_ms;
      }
      bw_retry_call_free(call);
    }
    bw_retry_free(r);
  }
  CHECK(memcmp(first[0], first[1], sizeof first[0]) == 0);
  bw_manual_clock_free(clock);
}

static void test_rate_limiter(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_rate_limiter_config *cfg = bw_rate_limiter_config_new();
  CHECK_OK(bw_rate_limiter_config_set_max_requests(cfg, 2));
  CHECK_OK(bw_rate_limiter_config_set_time_window_ms(cfg, 1000));
  bw_rate_limiter *l = NULL;
  CHECK_OK(bw_rate_limiter_new(cfg, clock, &l));
  bw_rejection rej;
  CHECK_OK(bw_rate_limiter_try_acquire(l, &rej));
  CHECK_OK(bw_rate_limiter_try_acquire(l, NULL));
  CHECK_RC(bw_rate_limiter_try_acquire(l, &rej), BW_RESULT_RATE_LIMITED);
  CHECK(rej.code == BW_RESULT_RATE_LIMITED && !rej.has_state);
  CHECK(rej.has_retry_after && rej.retry_after_ms == 500);
  CHECK_OK(bw_manual_clock_advance_ms(clock, 500));
  CHECK_OK(bw_rate_limiter_try_acquire(l, &rej));
  CHECK_RC(bw_rate_limiter_try_acquire(NULL, &rej), BW_RESULT_NULL_ARGUMENT);
  bw_rate_limiter_free(l);

  CHECK_OK(bw_rate_limiter_config_set_max_requests(cfg, 0));
  CHECK_RC(bw_rate_limiter_new(cfg, clock, &l), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_requests");
  CHECK_OK(bw_rate_limiter_config_set_max_requests(cfg, 1));
  CHECK_OK(bw_rate_limiter_config_set_time_window_ms(cfg, 0));
  CHECK_RC(bw_rate_limiter_new(cfg, clock, &l), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "time_window_ms");
  CHECK_OK(bw_rate_limiter_config_set_time_window_ms(cfg, UINT64_MAX));
  CHECK_RC(bw_rate_limiter_new(cfg, clock, &l), BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_rate_limiter_config_set_burst_limit(NULL, 1), BW_RESULT_NULL_ARGUMENT);
  bw_rate_limiter_config_free(cfg);
  cfg = NULL;
  CHECK_RC(bw_rate_limiter_config_from_json(S("{\"max_requests\": 0}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_requests");
  CHECK_RC(bw_rate_limiter_config_from_json(S("{\"maxRequests\": 1, \"tick\": 1}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "tick");
  CHECK(cfg == NULL);
  bw_manual_clock_free(clock);
}

static void test_bulkhead(void) {
  bw_bulkhead_config *cfg = bw_bulkhead_config_new();
  CHECK_OK(bw_bulkhead_config_set_max_concurrent(cfg, 1));
  CHECK_OK(bw_bulkhead_config_set_max_queue(cfg, 1));
  CHECK_OK(bw_bulkhead_config_set_max_wait_ms(cfg, 100));
  bw_bulkhead *b = NULL;
  CHECK_OK(bw_bulkhead_new(cfg, &b));
  bw_admission a;
  bw_rejection rej;
  CHECK_OK(bw_bulkhead_try_enter(b, &a, &rej));
  CHECK(!a.queued);
  CHECK_OK(bw_bulkhead_try_enter(b, &a, &rej));
  CHECK(a.queued && a.max_wait_ms == 100);
  uint64_t ticket = a.ticket;
  CHECK_RC(bw_bulkhead_try_enter(b, &a, &rej), BW_RESULT_BULKHEAD_FULL);
  CHECK(rej.code == BW_RESULT_BULKHEAD_FULL && !rej.has_retry_after);
  CHECK_RC(bw_bulkhead_try_enter(b, NULL, &rej), BW_RESULT_NULL_ARGUMENT);
  bool wake = false;
  uint64_t woken = 99;
  CHECK_OK(bw_bulkhead_leave(b, &wake, &woken));
  CHECK(wake && woken == ticket);
  bool removed = true;
  CHECK_OK(bw_bulkhead_abandon(b, ticket, &removed));
  CHECK(!removed); /* it had been handed the slot */
  CHECK_OK(bw_bulkhead_leave(b, &wake, NULL));
  CHECK(!wake);
  CHECK_RC(bw_bulkhead_leave(NULL, &wake, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_bulkhead_free(b);

  CHECK_OK(bw_bulkhead_config_set_max_concurrent(cfg, 0));
  CHECK_RC(bw_bulkhead_new(cfg, &b), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_concurrent");
  CHECK_OK(bw_bulkhead_config_set_max_concurrent(cfg, 1));
  CHECK_OK(bw_bulkhead_config_set_max_queue(cfg, UINT32_MAX));
  CHECK_RC(bw_bulkhead_new(cfg, &b), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_queue");
  bw_bulkhead_config_free(cfg);
  bw_bulkhead_config_free(NULL);
}

/* ---- policy ---- */

static int retry_events, give_up_events, fallback_events;
static char fallback_strategy[32], fallback_reason[32];
static void count_policy_event(void *userdata, const bw_event *e) {
  (void)userdata;
  if (e->kind == BW_EVENT_KIND_RETRY) retry_events++;
  if (e->kind == BW_EVENT_KIND_GIVE_UP) give_up_events++;
  if (e->kind == BW_EVENT_KIND_FALLBACK) {
    fallback_events++;
    snprintf(fallback_strategy, sizeof fallback_strategy, "%s", e->strategy ? e->strategy : "(none)");
    snprintf(fallback_reason, sizeof fallback_reason, "%s", e->reason ? e->reason : "(none)");
  }
}

static void test_policy_arguments(void) {
  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  bw_policy *p = NULL;
  CHECK_RC(bw_policy_new(S("p"), NULL, &p), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_new(NULL, 0, &parts, &p), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_new(BAD_UTF8, sizeof BAD_UTF8, &parts, &p), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_new(S("p"), &parts, NULL), BW_RESULT_NULL_ARGUMENT);
  parts.has_timeout = true;
  parts.timeout_ms = 0;
  CHECK_RC(bw_policy_new(S("p"), &parts, &p), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "timeout_ms");
  CHECK(p == NULL);

  /* Parts on different clocks. */
  bw_manual_clock *c1 = bw_manual_clock_new(), *c2 = bw_manual_clock_new();
  bw_breaker_config *bcfg = bw_breaker_config_new();
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("b"), bcfg, c1, &b));
  bw_retry_config *rcfg = bw_retry_config_new();
  bw_retry *r = NULL;
  CHECK_OK(bw_retry_new(rcfg, c2, &r));
  memset(&parts, 0, sizeof parts);
  parts.breaker = b;
  parts.retry = r;
  CHECK_RC(bw_policy_new(S("p"), &parts, &p), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "clock");
  parts.retry = NULL;
  parts.clock = c2;
  CHECK_RC(bw_policy_new(S("p"), &parts, &p), BW_RESULT_CONFIG_INVALID);
  parts.clock = c1;
  CHECK_OK(bw_policy_new(S("p"), &parts, &p));
  bw_policy_free(p);
  bw_retry_free(r);
  bw_retry_config_free(rcfg);
  bw_breaker_free(b);
  bw_breaker_config_free(bcfg);
  bw_manual_clock_free(c1);
  bw_manual_clock_free(c2);

  /* Empty policy: a pass-through; steps out of order are refused. */
  memset(&parts, 0, sizeof parts);
  CHECK_OK(bw_policy_new(S("p"), &parts, &p));
  bw_policy_call *call = NULL;
  bw_step s;
  CHECK_RC(bw_policy_start(NULL, &call, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_start(p, NULL, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_start(p, &call, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(call == NULL);
  CHECK_OK(bw_policy_start(p, &call, &s));
  CHECK(s.kind == BW_STEP_ATTEMPT && s.attempt == 1 && !s.has_timeout);
  CHECK(s.verdict.kind == BW_VERDICT_NONE);
  CHECK_RC(bw_policy_next(call, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("BW_STEP_SLEEP");
  CHECK_RC(bw_policy_after_wait(call, true, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_record(call, (bw_attempt_outcome)3, NULL, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_record(call, BW_ATTEMPT_FAILURE, NULL, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("failure");
  bw_failure bad = {(bw_category)10, false, false, 0};
  CHECK_RC(bw_policy_record(call, BW_ATTEMPT_FAILURE, &bad, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_record(NULL, BW_ATTEMPT_SUCCESS, NULL, &s), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &s));
  CHECK(s.kind == BW_STEP_DONE && s.verdict.kind == BW_VERDICT_VALUE && s.verdict.code == BW_OK);
  CHECK_RC(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("over");
  CHECK_RC(bw_policy_cancel(call, &s), BW_RESULT_INVALID_ARGUMENT);
  uint32_t attempts = 0;
  CHECK_OK(bw_policy_call_attempts(call, &attempts));
  CHECK(attempts == 1);
  bool has_wake = true;
  CHECK_OK(bw_policy_call_take_wake(call, &has_wake, NULL));
  CHECK(!has_wake);
  bw_policy_call_free(call);

  /* A user error without retry is the user's own error. */
  CHECK_OK(bw_policy_start(p, &call, &s));
  bw_failure server = {BW_CATEGORY_SERVER, false, false, 0};
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_FAILURE, &server, &s));
  CHECK(s.kind == BW_STEP_DONE && s.verdict.kind == BW_VERDICT_USER_ERROR);
  bw_policy_call_free(call);
  /* Cancelled. */
  CHECK_OK(bw_policy_start(p, &call, &s));
  CHECK_OK(bw_policy_cancel(call, &s));
  CHECK(s.kind == BW_STEP_DONE && s.verdict.kind == BW_VERDICT_CANCELLED);
  bw_policy_call_free(call);
  bw_policy_call_free(NULL);
  bw_policy_free(p);
  bw_policy_free(NULL);
}

static void test_policy_pipeline(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *bcfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(bcfg, 2));
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(bcfg, 10000));
  CHECK_OK(bw_breaker_config_set_half_open_max_calls(bcfg, 1));
  CHECK_OK(bw_breaker_config_set_success_threshold(bcfg, 1));
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("svc"), bcfg, clock, &b));
  bw_breaker_config_free(bcfg);
  bw_retry_config *rcfg = bw_retry_config_new();
  CHECK_OK(bw_retry_config_set_jitter(rcfg, BW_JITTER_NONE));
  CHECK_OK(bw_retry_config_set_base_delay_ms(rcfg, 100));
  CHECK_OK(bw_retry_config_set_max_attempts(rcfg, 3));
  bw_retry *r = NULL;
  CHECK_OK(bw_retry_new(rcfg, clock, &r));
  bw_retry_config_free(rcfg);

  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.breaker = b;
  parts.retry = r;
  parts.has_timeout = true;
  parts.timeout_ms = 2500;
  parts.fallback = true;
  bw_policy *p = NULL;
  CHECK_OK(bw_policy_new(S("svc"), &parts, &p));
  bw_retry_free(r); /* the policy keeps its parts alive */
  uint64_t id = 0;
  CHECK_OK(bw_policy_on(p, BW_EVENT_KIND_ALL, count_policy_event, NULL, &id));

  bw_policy_call *call = NULL;
  bw_step s;
  bw_failure server = {BW_CATEGORY_SERVER, false, false, 0};
  CHECK_OK(bw_policy_start(p, &call, &s));
  CHECK(s.kind == BW_STEP_ATTEMPT && s.has_timeout && s.timeout_ms == 2500);
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_FAILURE, &server, &s));
  CHECK(s.kind == BW_STEP_SLEEP && s.delay_ms == 100);
  CHECK_RC(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &s), BW_RESULT_INVALID_ARGUMENT);
  CHECK(s.kind == BW_STEP_SLEEP); /* not written on error */
  CHECK_OK(bw_manual_clock_advance_ms(clock, s.delay_ms));
  CHECK_OK(bw_policy_next(call, &s));
  CHECK(s.kind == BW_STEP_ATTEMPT && s.attempt == 2);
  /* The second failure opens the breaker: the retry is refused by it. */
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_FAILURE, &server, &s));
  CHECK(s.kind == BW_STEP_SLEEP && s.delay_ms == 200);
  CHECK_OK(bw_policy_next(call, &s));
  CHECK(s.kind == BW_STEP_FALLBACK);
  CHECK(s.verdict.kind == BW_VERDICT_REJECTED && s.verdict.code == BW_RESULT_CIRCUIT_OPEN);
  CHECK(s.verdict.attempts == 2 && s.verdict.has_state && s.verdict.state == BW_STATE_OPEN);
  CHECK(s.verdict.has_retry_after && s.verdict.retry_after_ms == 10000);
  /* The host's fallback served: it says so, and the policy emits its `fallback` event. */
  CHECK(fallback_events == 0);
  CHECK_OK(bw_policy_fallback_served(p, call, NULL, 0));
  CHECK(fallback_events == 1);
  CHECK_STR(fallback_strategy, "(none)");
  CHECK_STR(fallback_reason, "circuit_breaker_open");
  CHECK_OK(bw_policy_fallback_served(p, call, S("cached")));
  CHECK(fallback_events == 2);
  CHECK_STR(fallback_strategy, "cached");
  CHECK_RC(bw_policy_fallback_served(NULL, call, NULL, 0), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_fallback_served(p, NULL, NULL, 0), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_fallback_served(p, call, BAD_UTF8, sizeof BAD_UTF8), BW_RESULT_INVALID_ARGUMENT);
  CHECK(fallback_events == 2);
  bw_policy_call_free(call);
  CHECK(retry_events == 2 && give_up_events == 1);

  /* Half-open with one probe slot: freeing an unfinished call releases its permit. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 10000));
  CHECK_OK(bw_policy_start(p, &call, &s));
  CHECK(s.kind == BW_STEP_ATTEMPT);
  bw_policy_call *other = NULL;
  CHECK_OK(bw_policy_start(p, &other, &s));
  CHECK(s.kind == BW_STEP_FALLBACK && s.verdict.state == BW_STATE_HALF_OPEN);
  bw_policy_call_free(other);
  bw_policy_call_free(call); /* unfinished: cancelled, the probe slot freed */
  CHECK_OK(bw_policy_start(p, &call, &s));
  CHECK(s.kind == BW_STEP_ATTEMPT);
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &s));
  CHECK(s.kind == BW_STEP_DONE && s.verdict.kind == BW_VERDICT_VALUE);
  /* Only after a fallback step. */
  CHECK_RC(bw_policy_fallback_served(p, call, NULL, 0), BW_RESULT_INVALID_ARGUMENT);
  CHECK(fallback_events == 2);
  bw_policy_call_free(call);
  bw_state st;
  CHECK_OK(bw_breaker_state(b, &st));
  CHECK(st == BW_STATE_CLOSED);

  /* Retries exhausted. */
  CHECK_OK(bw_breaker_force_close(b));
  CHECK_OK(bw_breaker_configure_json(b, S("{\"failure_threshold\": 0}")));
  CHECK_OK(bw_policy_start(p, &call, &s));
  while (s.kind == BW_STEP_ATTEMPT || s.kind == BW_STEP_SLEEP) {
    if (s.kind == BW_STEP_ATTEMPT)
      CHECK_OK(bw_policy_record(call, BW_ATTEMPT_FAILURE, &server, &s));
    else
      CHECK_OK(bw_policy_next(call, &s));
  }
  CHECK(s.kind == BW_STEP_FALLBACK && s.verdict.kind == BW_VERDICT_RETRY_EXHAUSTED);
  CHECK(s.verdict.code == BW_RESULT_RETRY_EXHAUSTED && s.verdict.attempts == 3);
  CHECK(s.verdict.has_reason && s.verdict.reason == BW_GIVE_UP_MAX_ATTEMPTS);
  bw_policy_call_free(call);

  CHECK_OK(bw_policy_off(p, id));
  CHECK_RC(bw_policy_off(p, id), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_on(p, BW_EVENT_KIND_ALL, NULL, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_on(NULL, BW_EVENT_KIND_ALL, count_policy_event, NULL, NULL),
           BW_RESULT_NULL_ARGUMENT);
  bw_policy_free(p);
  bw_breaker_free(b);
  bw_manual_clock_free(clock);
}

static void test_policy_bulkhead(void) {
  bw_bulkhead_config *cfg = bw_bulkhead_config_new();
  CHECK_OK(bw_bulkhead_config_set_max_concurrent(cfg, 1));
  CHECK_OK(bw_bulkhead_config_set_max_queue(cfg, 1));
  CHECK_OK(bw_bulkhead_config_set_max_wait_ms(cfg, 50));
  bw_bulkhead *bh = NULL;
  CHECK_OK(bw_bulkhead_new(cfg, &bh));
  bw_bulkhead_config_free(cfg);
  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.bulkhead = bh;
  bw_policy *p = NULL;
  CHECK_OK(bw_policy_new(S("bh"), &parts, &p));
  bw_bulkhead_free(bh);

  bw_policy_call *a = NULL, *b = NULL, *c = NULL;
  bw_step sa, sb, sc;
  CHECK_OK(bw_policy_start(p, &a, &sa));
  CHECK(sa.kind == BW_STEP_ATTEMPT);
  CHECK_OK(bw_policy_start(p, &b, &sb));
  CHECK(sb.kind == BW_STEP_WAIT && sb.max_wait_ms == 50);
  CHECK_OK(bw_policy_start(p, &c, &sc));
  CHECK(sc.kind == BW_STEP_DONE && sc.verdict.code == BW_RESULT_BULKHEAD_FULL);
  /* a finishes: its slot passes to b, which the host must wake. */
  CHECK_OK(bw_policy_record(a, BW_ATTEMPT_SUCCESS, NULL, &sa));
  bool has_wake = false;
  uint64_t ticket = 99;
  CHECK_OK(bw_policy_call_take_wake(a, &has_wake, &ticket));
  CHECK(has_wake && ticket == sb.ticket);
  CHECK_OK(bw_policy_after_wait(b, true, &sb));
  CHECK(sb.kind == BW_STEP_ATTEMPT);
  CHECK_OK(bw_policy_record(b, BW_ATTEMPT_SUCCESS, NULL, &sb));
  bw_policy_call_free(a);
  bw_policy_call_free(b);
  bw_policy_call_free(c);
  /* A waiting call freed unfinished gives up its place. */
  CHECK_OK(bw_policy_start(p, &a, &sa));
  CHECK_OK(bw_policy_start(p, &b, &sb));
  CHECK(sb.kind == BW_STEP_WAIT);
  bw_policy_call_free(b);
  CHECK_OK(bw_policy_start(p, &b, &sb));
  CHECK(sb.kind == BW_STEP_WAIT);
  CHECK_OK(bw_policy_after_wait(b, false, &sb));
  CHECK(sb.kind == BW_STEP_DONE && sb.verdict.code == BW_RESULT_BULKHEAD_FULL);
  bw_policy_call_free(a);
  bw_policy_call_free(b);
  bw_policy_free(p);
}

int main(void) {
  test_names();
  test_classify();
  test_retry_config();
  test_retry_decisions();
  test_rate_limiter();
  test_bulkhead();
  test_policy_arguments();
  test_policy_pipeline();
  test_policy_bulkhead();
  CHECK_DONE("test_policy");
}
