/* Unit tests of the registry through the C ABI: documents in JSON and TOML (files too),
 * per-name layering, environment variables, bounds, reload, and the handles it hands out. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breakwater.h"
#include "check.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static const char BAD_UTF8[] = {'a', (char)0xff, 'b'};

static const char DOC[] =
    "{\"circuitBreakers\": {"
    "  \"defaults\": {\"failureThreshold\": 2, \"timeout\": 1000},"
    "  \"agentSpecific\": {\"architect\": {\"failureThreshold\": 1}}},"
    " \"retry\": {\"defaults\": {\"max_attempts\": 2, \"base_delay_ms\": 50, \"jitter\": \"none\"}}}";

static void fail_once(bw_breaker *b) {
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
}

static bw_state state_of(const bw_breaker *b) {
  bw_state s = BW_STATE_DISABLED;
  CHECK_OK(bw_breaker_state(b, &s));
  return s;
}

static void test_layering_and_sharing(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.clock = clock;
  bw_registry *reg = NULL;
  CHECK_OK(bw_registry_from_json(DOC, strlen(DOC), &opts, &reg));

  bw_breaker *a1 = NULL, *a2 = NULL, *other = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("architect"), &a1));
  CHECK_OK(bw_registry_breaker(reg, S("other"), &other));
  fail_once(a1); /* per-name override: 1 failure opens it */
  fail_once(other); /* the defaults: 2 failures */
  CHECK(state_of(a1) == BW_STATE_OPEN);
  CHECK(state_of(other) == BW_STATE_CLOSED);
  /* The same name is the same breaker. */
  CHECK_OK(bw_registry_breaker(reg, S("architect"), &a2));
  CHECK(state_of(a2) == BW_STATE_OPEN);
  const char *name = NULL;
  CHECK_OK(bw_breaker_name(a2, &name, NULL));
  CHECK_STR(name, "architect");
  bw_snapshot s;
  CHECK_OK(bw_breaker_snapshot(a2, &s));
  CHECK(s.retry_after_ms == 1000); /* the seed's `timeout` is the recovery timeout */

  /* Retry policy and policy for a name. */
  bw_retry *retry = NULL;
  CHECK_OK(bw_registry_retry(reg, S("architect"), &retry));
  bw_retry_call *call = NULL;
  CHECK_OK(bw_retry_begin(retry, &call));
  bw_failure f = {BW_CATEGORY_SERVER, false, false, 0};
  bw_retry_decision d;
  CHECK_OK(bw_retry_decide(call, &f, &d));
  CHECK(d.retry && d.delay_ms == 50);
  CHECK_OK(bw_retry_decide(call, &f, &d));
  CHECK(!d.retry && d.reason == BW_GIVE_UP_MAX_ATTEMPTS);
  bw_retry_call_free(call);
  bw_retry_free(retry);

  bw_policy *policy = NULL;
  CHECK_OK(bw_registry_policy(reg, S("payments"), &policy));
  bw_policy_call *pc = NULL;
  bw_step step;
  CHECK_OK(bw_policy_start(policy, &pc, &step));
  CHECK(step.kind == BW_STEP_ATTEMPT);
  CHECK_OK(bw_policy_record(pc, BW_ATTEMPT_SUCCESS, NULL, &step));
  CHECK(step.kind == BW_STEP_DONE && step.verdict.kind == BW_VERDICT_VALUE);
  bw_policy_call_free(pc);
  bw_policy_free(policy);

  /* Reload keeps breaker state and applies the new config. */
  CHECK_OK(bw_registry_reload_json(
      reg, S("{\"circuit_breakers\": {\"defaults\": {\"failure_threshold\": 3}}}")));
  CHECK(state_of(a1) == BW_STATE_OPEN);
  fail_once(other);
  CHECK(state_of(other) == BW_STATE_CLOSED); /* 2 failures, the threshold is 3 now */
  CHECK_RC(bw_registry_reload_json(reg, S("{\"circuit_breakers\": {\"defaults\": "
                                          "{\"failure_threshold\": -1}}}")),
           BW_RESULT_CONFIG_INVALID);
  CHECK(bw_last_error_key() != NULL && strstr(bw_last_error_key(), "failure_threshold"));

  /* Remove: handles keep working; the next lookup makes a new breaker. */
  bool removed = false;
  CHECK_OK(bw_registry_remove_breaker(reg, S("architect"), &removed));
  CHECK(removed);
  CHECK_OK(bw_registry_remove_breaker(reg, S("architect"), &removed));
  CHECK(!removed);
  CHECK(state_of(a1) == BW_STATE_OPEN);
  bw_breaker *fresh = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("architect"), &fresh));
  CHECK(state_of(fresh) == BW_STATE_CLOSED);

  /* Bad arguments. */
  bw_breaker *untouched = NULL;
  CHECK_RC(bw_registry_breaker(NULL, S("x"), &untouched), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_breaker(reg, NULL, 0, &untouched), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_breaker(reg, S("x"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_breaker(reg, BAD_UTF8, sizeof BAD_UTF8, &untouched),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_registry_breaker(reg, "a\0b", 3, &untouched), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_registry_retry(reg, S("x"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_policy(NULL, S("x"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_reload_json(reg, NULL, 0), BW_RESULT_NULL_ARGUMENT);
  CHECK(untouched == NULL);

  /* Freeing the registry leaves the handles working. */
  bw_registry_free(reg);
  bw_registry_free(NULL);
  fail_once(fresh);
  CHECK_OK(bw_breaker_snapshot(fresh, &s));
  CHECK(s.failures_total == 1);
  bw_breaker_free(a1);
  bw_breaker_free(a2);
  bw_breaker_free(other);
  bw_breaker_free(fresh);
  bw_manual_clock_free(clock);
}

static void test_documents_and_options(void) {
  bw_registry *reg = NULL;
  /* NULL options: system clock, defaults. */
  CHECK_OK(bw_registry_from_json(S("{}"), NULL, &reg));
  bw_breaker *b = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("svc"), &b));
  bw_breaker_free(b);
  bw_registry_free(reg);

  bw_registry *sentinel = (bw_registry *)&reg;
  reg = sentinel;
  CHECK_RC(bw_registry_from_json(S("{\"circuitBreakers\": {\"defaults\": {\"failureThreshold\": "
                                   "-1}}}"),
                                 NULL, &reg),
           BW_RESULT_CONFIG_INVALID);
  CHECK(bw_last_error_key() != NULL && strstr(bw_last_error_key(), "failureThreshold"));
  CHECK_RC(bw_registry_from_json(S("{\"circuitBrakers\": {}}"), NULL, &reg),
           BW_RESULT_CONFIG_INVALID);
  CHECK_MSG_HAS("circuitBrakers");
  CHECK_RC(bw_registry_from_json(S("{"), NULL, &reg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "(document)");
  CHECK_RC(bw_registry_from_json(BAD_UTF8, sizeof BAD_UTF8, NULL, &reg),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_registry_from_json(NULL, 0, NULL, &reg), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_registry_from_json(S("{}"), NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.has_max_size = true;
  opts.max_size = 0;
  CHECK_RC(bw_registry_from_json(S("{}"), &opts, &reg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_size");
  opts.has_max_size = false;
  opts.has_idle_ttl = true;
  opts.idle_ttl_ms = 0;
  CHECK_RC(bw_registry_from_json(S("{}"), &opts, &reg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "idle_ttl_ms");
  CHECK(reg == sentinel);

  /* Bounded: at most one breaker; the closed one goes, an open one stays. */
  bw_manual_clock *clock = bw_manual_clock_new();
  memset(&opts, 0, sizeof opts);
  opts.clock = clock;
  opts.has_max_size = true;
  opts.max_size = 1;
  CHECK_OK(bw_registry_from_json(
      S("{\"circuit_breakers\": {\"defaults\": {\"failure_threshold\": 1}}}"), &opts, &reg));
  bw_breaker *x = NULL, *y = NULL, *x2 = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("x"), &x));
  fail_once(x);
  CHECK_OK(bw_registry_breaker(reg, S("y"), &y));
  CHECK_OK(bw_registry_breaker(reg, S("x"), &x2));
  CHECK(state_of(x2) == BW_STATE_OPEN); /* kept: it is open */
  bw_breaker_free(x);
  bw_breaker_free(y);
  bw_breaker_free(x2);
  bw_registry_free(reg);
  bw_manual_clock_free(clock);
}

static void test_files_and_env(void) {
  char json_path[64], toml_path[64];
  snprintf(json_path, sizeof json_path, "/tmp/bw-test-%ld.json", (long)getpid());
  snprintf(toml_path, sizeof toml_path, "/tmp/bw-test-%ld.toml", (long)getpid());
  FILE *f = fopen(json_path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("{\"circuit_breakers\": {\"defaults\": {\"failure_threshold\": 1}}}", f);
  fclose(f);
  f = fopen(toml_path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("[circuit_breakers.defaults]\nfailure_threshold = 1\nrecovery_timeout_ms = 500\n", f);
  fclose(f);

  bw_manual_clock *clock = bw_manual_clock_new();
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.clock = clock;
  const char *paths[] = {json_path, toml_path};
  for (int i = 0; i < 2; i++) {
    bw_registry *reg = NULL;
    CHECK_OK(bw_registry_from_file(paths[i], strlen(paths[i]), &opts, &reg));
    bw_breaker *b = NULL;
    CHECK_OK(bw_registry_breaker(reg, S("svc"), &b));
    fail_once(b);
    CHECK(state_of(b) == BW_STATE_OPEN);
    CHECK_OK(bw_registry_reload_file(reg, paths[i], strlen(paths[i])));
    bw_breaker_free(b);
    bw_registry_free(reg);
  }
  bw_registry *reg = NULL;
  CHECK_RC(bw_registry_from_file(S("/nonexistent/breakwater.json"), &opts, &reg),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("cannot read");
  CHECK_RC(bw_registry_from_file(NULL, 0, &opts, &reg), BW_RESULT_NULL_ARGUMENT);
  CHECK(reg == NULL);

  /* Environment variables on top, only when asked. */
  setenv("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "3", 1);
  opts.env = true;
  CHECK_OK(bw_registry_from_file(json_path, strlen(json_path), &opts, &reg));
  bw_breaker *b = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("svc"), &b));
  fail_once(b);
  fail_once(b);
  CHECK(state_of(b) == BW_STATE_CLOSED); /* 3 from the environment, not 1 */
  bw_breaker_free(b);
  bw_registry_free(reg);
  setenv("CIRCUIT_BREAKER_FAILURE_TRESHOLD", "3", 1);
  CHECK_RC(bw_registry_from_json(S("{}"), &opts, &reg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "CIRCUIT_BREAKER_FAILURE_TRESHOLD");
  CHECK_MSG_HAS("did you mean");
  opts.env = false;
  CHECK_OK(bw_registry_from_json(S("{}"), &opts, &reg));
  bw_registry_free(reg);
  unsetenv("CIRCUIT_BREAKER_FAILURE_TRESHOLD");
  unsetenv("CIRCUIT_BREAKER_FAILURE_THRESHOLD");
  unlink(json_path);
  unlink(toml_path);
  bw_manual_clock_free(clock);
}

int main(void) {
  test_layering_and_sharing();
  test_documents_and_options();
  test_files_and_env();
  CHECK_DONE("test_registry");
}
