/* A circuit breaker guarding a flaky dependency, through breakwater's C API.
 *
 * The "dependency" fails for a while and then recovers; a manual clock stands in for time so
 * the demo runs instantly and prints the same thing every run. Build and run: `make run`. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "breakwater.h"

/* Prints every state change, from the breaker's event callback. */
static void on_state_change(void *userdata, const bw_event *e) {
  const bw_manual_clock *clock = userdata;
  uint64_t now = 0;
  bw_manual_clock_now_ms(clock, &now);
  printf("  [t=%5llu ms] %.*s: %s -> %s (%s)\n", (unsigned long long)now, (int)e->component_len,
         e->component, bw_state_name(e->from), bw_state_name(e->to), e->reason);
}

/* The dependency: down from t=1000 ms to t=6000 ms. */
static int call_dependency(const bw_manual_clock *clock) {
  uint64_t now = 0;
  bw_manual_clock_now_ms(clock, &now);
  return now >= 1000 && now < 6000 ? -1 : 0;
}

static int fail(const char *what, bw_result rc) {
  fprintf(stderr, "%s: %s: %s\n", what, bw_result_code_str(rc), bw_last_error_message());
  return 1;
}

int main(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker_config_set_failure_threshold(cfg, 3);
  bw_breaker_config_set_recovery_timeout_ms(cfg, 2000);
  bw_breaker_config_set_half_open_max_calls(cfg, 1);
  bw_breaker_config_set_success_threshold(cfg, 2);

  /* A config error names the key, as the setter spells it. */
  bw_breaker_config_set_count_window(cfg, 0);
  bw_breaker *breaker = NULL;
  bw_result rc = bw_breaker_new("payments", strlen("payments"), cfg, clock, &breaker);
  printf("count window of 0: %s, key %s (%s)\n", bw_result_code_str(rc), bw_last_error_key(),
         bw_last_error_message());
  bw_breaker_config_set_count_window(cfg, 20);

  rc = bw_breaker_new("payments", strlen("payments"), cfg, clock, &breaker);
  bw_breaker_config_free(cfg); /* the breaker keeps its own copy */
  if (rc != BW_OK) return fail("bw_breaker_new", rc);
  rc = bw_breaker_on(breaker, BW_EVENT_KIND_STATE_CHANGE, on_state_change, clock, NULL);
  if (rc != BW_OK) return fail("bw_breaker_on", rc);

  int ok = 0, failed = 0, rejected = 0;
  for (int i = 0; i < 40; i++) {
    bw_permit permit;
    bw_rejection rejection;
    rc = bw_breaker_try_acquire(breaker, &permit, &rejection);
    if (rc == BW_RESULT_CIRCUIT_OPEN) {
      rejected++; /* fail fast: the dependency is not even called */
    } else if (rc != BW_OK) {
      return fail("bw_breaker_try_acquire", rc);
    } else if (call_dependency(clock) == 0) {
      ok++;
      bw_breaker_record(breaker, permit, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN);
    } else {
      failed++;
      bw_breaker_record(breaker, permit, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER);
    }
    bw_manual_clock_advance_ms(clock, 250);
  }

  bw_snapshot s;
  bw_breaker_snapshot(breaker, &s);
  printf("calls: %d ok, %d failed, %d rejected without calling the dependency\n", ok, failed,
         rejected);
  printf("snapshot: state %s, times_opened %llu, rejected_total %llu, failures_total %llu\n",
         bw_state_name(s.state), (unsigned long long)s.times_opened,
         (unsigned long long)s.rejected_total, (unsigned long long)s.failures_total);

  bw_breaker_free(breaker);
  bw_manual_clock_free(clock);
  return 0;
}
