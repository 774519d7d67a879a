/* Graceful degradation from C: a policy with a degradation manager and a response cache. A
 * good answer is cached under the call's key; when the dependency fails, the pipeline's
 * fallback step names the strategy that serves (the cached response, stale if need be, else a
 * static answer) and the caller produces the value. Then the whole state as Prometheus text.
 * A manual clock stands in for time, so every run prints the same. Build and run: `make run`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakwater.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static int dependency_up = 1;

/* One guarded call for `key`: what the caller ends up with, printed. */
static void guarded_call(const bw_policy *policy, bw_cache *cache, const char *key) {
  bw_call_options opts;
  memset(&opts, 0, sizeof opts);
  opts.cache_key.ptr = key;
  opts.cache_key.len = strlen(key);
  bw_policy_call *call = NULL;
  bw_step step;
  bw_policy_start_with(policy, &opts, &call, &step);
  while (step.kind == BW_STEP_ATTEMPT) {
    if (dependency_up) {
      const char *answer = "{\"price\": 42}";
      bw_cache_put(cache, key, strlen(key), (const uint8_t *)answer, strlen(answer), NULL);
      printf("%s: live answer %s\n", key, answer);
      bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &step);
    } else {
      bw_failure f;
      memset(&f, 0, sizeof f);
      f.category = BW_CATEGORY_SERVER;
      bw_policy_record(call, BW_ATTEMPT_FAILURE, &f, &step);
    }
  }
  if (step.kind == BW_STEP_FALLBACK) {
    const bw_fallback_choice *c = &step.fallback;
    if (c->has_strategy && c->kind == BW_STRATEGY_CACHED_RESPONSE) {
      bw_cache_lookup hit;
      bw_bytes *value = NULL;
      bw_cache_on_error(cache, key, strlen(key), &hit, &value);
      const uint8_t *data = NULL;
      size_t len = 0;
      bw_bytes_data(value, &data, &len);
      printf("%s: from %s (%s, trigger %s): %.*s\n", key, c->strategy, bw_cache_lookup_name(hit),
             bw_trigger_name(c->trigger), (int)len, (const char *)data);
      bw_bytes_free(value);
    } else if (c->has_strategy) {
      printf("%s: from %s (%s): \"try again later\"\n", key, c->strategy,
             bw_strategy_kind_name(c->kind));
    } else {
      printf("%s: error (%s)\n", key, bw_result_code_str(step.verdict.code));
    }
  }
  bw_policy_call_free(call);
}

static void on_event(void *userdata, const bw_event *e) {
  (void)userdata;
  printf("  event %s: %.*s reason=%s severity=%s%s%s\n", bw_event_kind_name(e->kind),
         (int)e->component_len, e->component, e->reason ? e->reason : "-",
         e->severity ? e->severity : "-", e->strategy ? " strategy=" : "",
         e->strategy ? e->strategy : "");
}

int main(void) {
  bw_manual_clock *clock = bw_manual_clock_new();

  /* Rules as the seed writes them: an open circuit goes to the static answer. */
  static const char SETTINGS[] =
      "{\"degradationRules\": [{\"name\": \"open-offline\", \"conditions\": {\"reasons\": "
      "[\"circuit_breaker_open\"]}, \"strategy\": \"offline\", \"priority\": 1}]}";
  bw_degradation *manager = NULL;
  if (bw_degradation_from_json(SETTINGS, strlen(SETTINGS), clock, &manager) != BW_OK) {
    fprintf(stderr, "%s\n", bw_last_error_message());
    return 1;
  }
  bw_strategy_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.name.ptr = "cache";
  spec.name.len = 5;
  spec.kind = BW_STRATEGY_CACHED_RESPONSE;
  spec.priority = 1;
  bw_degradation_register(manager, &spec, NULL);
  spec.name.ptr = "offline";
  spec.name.len = 7;
  spec.kind = BW_STRATEGY_OFFLINE_RESPONSE;
  spec.priority = 9;
  bw_degradation_register(manager, &spec, NULL);
  bw_degradation_on(manager, BW_EVENT_KIND_ALL, on_event, NULL, NULL);

  bw_cache_options copts;
  memset(&copts, 0, sizeof copts);
  copts.has_ttl = true;
  copts.ttl_ms = 60000;
  bw_cache *cache = NULL;
  bw_cache_new(&copts, clock, &cache);

  bw_breaker_config *bcfg = bw_breaker_config_new();
  bw_breaker_config_set_failure_threshold(bcfg, 2);
  bw_breaker *breaker = NULL;
  bw_breaker_new(S("pricing"), bcfg, clock, &breaker);
  bw_breaker_config_free(bcfg);

  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.breaker = breaker;
  parts.degradation = manager;
  parts.cache = cache;
  bw_policy *policy = NULL;
  if (bw_policy_new(S("pricing"), &parts, &policy) != BW_OK) {
    fprintf(stderr, "%s\n", bw_last_error_message());
    return 1;
  }

  guarded_call(policy, cache, "GET /price/7");
  dependency_up = 0;
  bw_manual_clock_advance_ms(clock, 61000); /* the cached answer is stale now */
  guarded_call(policy, cache, "GET /price/7"); /* served from the cache, stale */
  guarded_call(policy, cache, "GET /price/8"); /* nothing cached: the breaker opens */
  guarded_call(policy, cache, "GET /price/7"); /* open: the rule names the static answer */

  /* Everything as Prometheus text, into a buffer of the size it asks for. */
  const bw_breaker *breakers[] = {breaker};
  const bw_policy *policies[] = {policy};
  bw_metrics_sources src;
  memset(&src, 0, sizeof src);
  src.breakers = breakers;
  src.breakers_len = 1;
  src.policies = policies;
  src.policies_len = 1;
  src.degradation = manager;
  size_t needed = 0;
  char *text = NULL;
  bw_result rc = bw_prometheus(&src, NULL, 0, &needed);
  while (rc == BW_RESULT_BUFFER_TOO_SMALL) {
    free(text);
    text = malloc(needed);
    if (!text) return 1;
    rc = bw_prometheus(&src, text, needed, &needed);
  }
  printf("\n# %s\n", bw_prometheus_content_type());
  /* Only the degradation families, to keep the demo short. */
  for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
    if (strstr(line, "degradation")) printf("%s\n", line);
  free(text);

  bw_policy_free(policy);
  bw_breaker_free(breaker);
  bw_cache_free(cache);
  bw_degradation_free(manager);
  bw_manual_clock_free(clock);
  return 0;
}
