/* A guarded call through breakwater's policy pipeline from C: retry (with the core deciding
 * the backoff) around a circuit breaker. The caller runs each attempt and sleeps on its own
 * timer; breakwater says what to do next. A manual clock stands in for time, so the demo runs
 * instantly and prints the same thing every run. Build and run: `make run`. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "breakwater.h"

/* The dependency: the connection is refused twice, then it answers. */
static int attempts_made = 0;
static const char *call_dependency(void) {
  return ++attempts_made <= 2 ? "ECONNREFUSED" : NULL;
}

static void on_event(void *userdata, const bw_event *e) {
  (void)userdata;
  if (e->kind == BW_EVENT_KIND_RETRY)
    printf("  event retry: attempt %u after %llu ms (%s)\n", e->attempt,
           (unsigned long long)e->delay_ms, bw_category_name(e->category));
}

int main(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *bcfg = bw_breaker_config_new();
  bw_breaker_config_set_failure_threshold(bcfg, 5);
  bw_breaker *breaker = NULL;
  bw_breaker_new("inventory", 9, bcfg, clock, &breaker);
  bw_breaker_config_free(bcfg);

  bw_retry_config *rcfg = bw_retry_config_new();
  bw_retry_config_set_max_attempts(rcfg, 4);
  bw_retry_config_set_base_delay_ms(rcfg, 100);
  bw_retry_config_set_jitter(rcfg, BW_JITTER_NONE);
  bw_retry *retry = NULL;
  bw_retry_new(rcfg, clock, &retry);
  bw_retry_config_free(rcfg);

  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.breaker = breaker;
  parts.retry = retry;
  parts.has_timeout = true;
  parts.timeout_ms = 2000;
  bw_policy *policy = NULL;
  bw_result rc = bw_policy_new("inventory", 9, &parts, &policy);
  if (rc != BW_OK) {
    fprintf(stderr, "bw_policy_new: %s\n", bw_last_error_message());
    return 1;
  }
  bw_policy_on(policy, BW_EVENT_KIND_RETRY, on_event, NULL, NULL);

  bw_policy_call *call = NULL;
  bw_step step;
  bw_policy_start(policy, &call, &step);
  while (step.kind == BW_STEP_ATTEMPT || step.kind == BW_STEP_SLEEP) {
    if (step.kind == BW_STEP_SLEEP) {
      printf("sleep %llu ms\n", (unsigned long long)step.delay_ms);
      bw_manual_clock_advance_ms(clock, step.delay_ms); /* a real caller sleeps here */
      bw_policy_next(call, &step);
      continue;
    }
    printf("attempt %u (timeout %llu ms)\n", step.attempt, (unsigned long long)step.timeout_ms);
    const char *error = call_dependency();
    if (!error) {
      bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &step);
      continue;
    }
    /* Extract facts from the error; the core classifies them like every language does. */
    bw_error_facts facts;
    memset(&facts, 0, sizeof facts);
    bw_str code = {error, strlen(error)};
    facts.codes = &code;
    facts.codes_len = 1;
    bw_failure failure;
    bw_classify(&facts, clock, &failure);
    printf("  failed: %s -> %s%s\n", error, bw_category_name(failure.category),
           failure.not_sent ? " (never sent)" : "");
    bw_policy_record(call, BW_ATTEMPT_FAILURE, &failure, &step);
  }
  const char *verdicts[] = {"none", "value", "user error", "retry exhausted", "rejected",
                            "cancelled"};
  printf("result: %s after %u attempts\n", verdicts[step.verdict.kind], (unsigned)attempts_made);

  bw_policy_call_free(call);
  bw_policy_free(policy);
  bw_retry_free(retry);
  bw_breaker_free(breaker);
  bw_manual_clock_free(clock);
  return step.verdict.kind == BW_VERDICT_VALUE ? 0 : 1;
}
