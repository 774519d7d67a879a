/* Unit tests of the C ABI's phase-2 components: text buffers and lists, Prometheus text,
 * config read-back, the response cache, degradation (and the pipeline's fallback step), health,
 * SLOs, alerts and the event log, documents, and the registry's read-back functions. Every
 * function with its NULLs, bad UTF-8, enums out of range, buffers too small and config errors
 * naming their keys. Run under valgrind by bindings-c/test.sh. */
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

/* ---------------------------------------------------------------- events */

typedef struct {
  int n;
  bw_event_kind kinds[32];
  char reasons[32][32];
  char strategies[32][32];
  char severities[32][32];
  char components[32][32];
  uint32_t attempts[32];
} seen_events;

static void remember(void *userdata, const bw_event *e) {
  seen_events *s = userdata;
  if (s->n >= 32) return;
  s->kinds[s->n] = e->kind;
  snprintf(s->reasons[s->n], 32, "%s", e->reason ? e->reason : "");
  snprintf(s->strategies[s->n], 32, "%s", e->strategy ? e->strategy : "");
  snprintf(s->severities[s->n], 32, "%s", e->severity ? e->severity : "");
  snprintf(s->components[s->n], 32, "%.*s", (int)e->component_len, e->component);
  s->attempts[s->n] = e->has_attempt ? e->attempt : 0;
  s->n++;
}

/* A breaker with the default config. */
static bw_breaker *new_breaker(const char *name, const bw_manual_clock *clock) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(name, strlen(name), cfg, clock, &b));
  bw_breaker_config_free(cfg);
  return b;
}

/* ---------------------------------------------------------------- results and lists */

static void test_results_and_errors(void) {
  CHECK_STR(bw_result_code_str(BW_RESULT_BUFFER_TOO_SMALL), "BUFFER_TOO_SMALL");
  CHECK(BW_RESULT_BUFFER_TOO_SMALL == 402);
  /* Every config problem, in order. */
  bw_breaker_config *cfg = NULL;
  CHECK_RC(bw_breaker_config_from_json(S("{\"failure_threshold\": -1, \"minimum_calls\": 0}"), &cfg),
           BW_RESULT_CONFIG_INVALID);
  CHECK(bw_last_error_count() == 2);
  CHECK_STR(bw_last_error_key_at(0), "failure_threshold");
  CHECK_STR(bw_last_error_key_at(1), "minimum_calls");
  CHECK_STR(bw_last_error_value_at(1), "0");
  CHECK(bw_last_error_allowed_at(1) != NULL);
  CHECK(bw_last_error_key_at(2) == NULL);
  CHECK(bw_last_error_value_at(2) == NULL);
  CHECK(bw_last_error_allowed_at(99) == NULL);
  CHECK_STR(bw_last_error_key(), bw_last_error_key_at(0));
  /* Outside a document a problem's path is its key. */
  CHECK_STR(bw_last_error_path(), "failure_threshold");
  CHECK_STR(bw_last_error_path_at(1), "minimum_calls");
  CHECK(bw_last_error_path_at(2) == NULL);
  /* Another failure: no config problems. */
  CHECK_RC(bw_string_list_len(NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(bw_last_error_count() == 0);
  CHECK(bw_last_error_key_at(0) == NULL);
  CHECK(bw_last_error_path() == NULL);
  CHECK(bw_last_error_path_at(0) == NULL);
  CHECK(cfg == NULL);
  /* A panic inside the library; everything keeps working (a cache, here). */
  CHECK_RC(bw_test_panic(), BW_RESULT_PANIC);
  CHECK(bw_last_error_count() == 0);
  bw_cache *c = NULL;
  CHECK_OK(bw_cache_new(NULL, NULL, &c));
  CHECK_OK(bw_cache_put(c, S("k"), (const uint8_t *)"v", 1, NULL));
  bw_cache_free(c);
}

static void test_string_lists(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_cache *c = NULL;
  CHECK_OK(bw_cache_new(NULL, clock, &c));
  CHECK_OK(bw_cache_put(c, S("b"), NULL, 0, NULL));
  CHECK_OK(bw_cache_put(c, S("a"), NULL, 0, NULL));
  bw_string_list *l = NULL;
  CHECK_OK(bw_cache_keys(c, &l));
  size_t n = 0;
  CHECK_OK(bw_string_list_len(l, &n));
  CHECK(n == 2);
  const char *s = NULL;
  size_t len = 0;
  CHECK_OK(bw_string_list_get(l, 0, &s, &len));
  CHECK_STR(s, "b");
  CHECK(len == 1);
  CHECK_OK(bw_string_list_get(l, 1, &s, NULL));
  CHECK_STR(s, "a");
  CHECK_RC(bw_string_list_get(l, 2, &s, &len), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("out of range");
  CHECK_RC(bw_string_list_get(l, 0, NULL, &len), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_string_list_get(NULL, 0, &s, &len), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_string_list_len(l, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_string_list_free(l);
  bw_string_list_free(NULL);
  /* bw_bytes */
  const uint8_t *data = NULL;
  CHECK_RC(bw_bytes_data(NULL, &data, &len), BW_RESULT_NULL_ARGUMENT);
  bw_bytes_free(NULL);
  bw_cache_free(c);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- config read-back */

static void test_config_read_back(void) {
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker_config_values v;
  CHECK_OK(bw_breaker_config_get(cfg, &v));
  CHECK(v.failure_threshold == 5 && v.minimum_calls == 10 && v.failure_rate_threshold == 0.5);
  CHECK(!v.count_window && v.window_duration_ms == 60000 && v.window_buckets == 10);
  CHECK(!v.has_slow_call_duration && v.recovery_timeout_ms == 60000 && !v.has_recovery_backoff);
  CHECK(v.half_open_max_calls == 3 && v.success_threshold == 2 && !v.has_max_half_open);
  CHECK(v.ignored_categories == (BW_CATEGORY_BIT(BW_CATEGORY_CLIENT) | BW_CATEGORY_BIT(BW_CATEGORY_CANCELLED)));
  /* Every setter reads back. */
  bw_breaker_config_set_failure_threshold(cfg, 7);
  bw_breaker_config_set_failure_rate_threshold(cfg, 0.25);
  bw_breaker_config_set_minimum_calls(cfg, 4);
  bw_breaker_config_set_count_window(cfg, 20);
  bw_breaker_config_set_slow_call_duration_ms(cfg, 300);
  bw_breaker_config_set_slow_call_rate_threshold(cfg, 0.75);
  bw_breaker_config_set_recovery_timeout_ms(cfg, 1000);
  bw_breaker_config_set_recovery_backoff(cfg, 2.0, 8000);
  bw_breaker_config_set_half_open_max_calls(cfg, 2);
  bw_breaker_config_set_success_threshold(cfg, 1);
  bw_breaker_config_set_max_half_open_ms(cfg, 5000);
  bw_category ignored[] = {BW_CATEGORY_AUTH};
  bw_breaker_config_set_ignored_categories(cfg, ignored, 1);
  CHECK_OK(bw_breaker_config_get(cfg, &v));
  CHECK(v.failure_threshold == 7 && v.failure_rate_threshold == 0.25 && v.minimum_calls == 4);
  CHECK(v.count_window && v.window_size == 20);
  CHECK(v.has_slow_call_duration && v.slow_call_duration_ms == 300 && v.slow_call_rate_threshold == 0.75);
  CHECK(v.recovery_timeout_ms == 1000 && v.has_recovery_backoff);
  CHECK(v.recovery_backoff_multiplier == 2.0 && v.recovery_backoff_max_ms == 8000);
  CHECK(v.half_open_max_calls == 2 && v.success_threshold == 1);
  CHECK(v.has_max_half_open && v.max_half_open_ms == 5000);
  CHECK(v.ignored_categories == BW_CATEGORY_BIT(BW_CATEGORY_AUTH));
  CHECK_RC(bw_breaker_config_get(NULL, &v), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_get(cfg, NULL), BW_RESULT_NULL_ARGUMENT);

  /* JSON in canonical spelling, with the buffer contract; it reads back. */
  size_t needed = 0;
  CHECK_RC(bw_breaker_config_to_json(cfg, NULL, 0, &needed), BW_RESULT_BUFFER_TOO_SMALL);
  CHECK(needed > 10);
  char *buf = malloc(needed);
  memset(buf, 'x', needed);
  size_t again = 0;
  CHECK_RC(bw_breaker_config_to_json(cfg, buf, needed - 1, &again), BW_RESULT_BUFFER_TOO_SMALL);
  CHECK(again == needed);
  CHECK(buf[0] == 'x'); /* nothing written */
  CHECK_OK(bw_breaker_config_to_json(cfg, buf, needed, &again));
  CHECK(strlen(buf) + 1 == needed);
  CHECK(strstr(buf, "\"recovery_timeout_ms\":1000") != NULL);
  CHECK(strstr(buf, "\"window\":{\"size\":20,\"type\":\"count\"}") != NULL ||
        strstr(buf, "\"window\":{\"type\":\"count\",\"size\":20}") != NULL);
  CHECK_OK(bw_breaker_config_to_json(cfg, buf, needed, NULL)); /* out_needed may be NULL */
  bw_breaker_config *back = NULL;
  CHECK_OK(bw_breaker_config_from_json(buf, strlen(buf), &back));
  bw_breaker_config_values v2;
  CHECK_OK(bw_breaker_config_get(back, &v2));
  CHECK(v2.failure_threshold == 7 && v2.window_size == 20 && v2.max_half_open_ms == 5000);
  CHECK_RC(bw_breaker_config_to_json(cfg, NULL, 5, &needed), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_breaker_config_to_json(NULL, buf, needed, &needed), BW_RESULT_NULL_ARGUMENT);
  free(buf);
  bw_breaker_config_free(back);
  bw_breaker_config_free(cfg);

  /* Retry. */
  bw_retry_config *rc = bw_retry_config_new();
  bw_retry_config_set_max_attempts(rc, 4);
  bw_retry_config_set_jitter(rc, BW_JITTER_EQUAL);
  bw_retry_config_set_seed(rc, 42);
  bw_retry_config_set_max_elapsed_ms(rc, 9000);
  bw_retry_config_values rv;
  CHECK_OK(bw_retry_config_get(rc, &rv));
  CHECK(rv.max_attempts == 4 && rv.jitter == BW_JITTER_EQUAL && rv.has_seed && rv.seed == 42);
  CHECK(rv.has_max_elapsed && rv.max_elapsed_ms == 9000 && rv.base_delay_ms == 200);
  CHECK(rv.retry_on & BW_CATEGORY_BIT(BW_CATEGORY_SERVER));
  CHECK(!(rv.retry_on & BW_CATEGORY_BIT(BW_CATEGORY_UNKNOWN)));
  CHECK(!rv.has_budget && rv.idempotent);
  char small[8];
  CHECK_RC(bw_retry_config_to_json(rc, small, sizeof small, &needed), BW_RESULT_BUFFER_TOO_SMALL);
  buf = malloc(needed);
  CHECK_OK(bw_retry_config_to_json(rc, buf, needed, NULL));
  CHECK(strstr(buf, "\"max_attempts\":4") && strstr(buf, "\"jitter\":\"equal\""));
  free(buf);
  bw_retry *retry = NULL;
  CHECK_OK(bw_retry_new(rc, NULL, &retry));
  bw_retry_config *rc2 = NULL;
  CHECK_OK(bw_retry_get_config(retry, &rc2));
  CHECK_OK(bw_retry_config_get(rc2, &rv));
  CHECK(rv.max_attempts == 4);
  CHECK_RC(bw_retry_get_config(retry, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_retry_get_config(NULL, &rc2), BW_RESULT_NULL_ARGUMENT);
  bool same = false;
  CHECK_OK(bw_retry_same(retry, retry, &same));
  CHECK(same);
  bw_retry_config_free(rc2);
  bw_retry_config_free(rc);
  bw_retry_free(retry);

  /* Rate limiter and bulkhead. */
  bw_rate_limiter_config *lc = bw_rate_limiter_config_new();
  bw_rate_limiter_config_values lv;
  CHECK_OK(bw_rate_limiter_config_get(lc, &lv));
  CHECK(lv.max_requests == 100 && lv.time_window_ms == 1000 && !lv.has_burst_limit);
  bw_rate_limiter_config_set_burst_limit(lc, 5);
  CHECK_OK(bw_rate_limiter_config_get(lc, &lv));
  CHECK(lv.has_burst_limit && lv.burst_limit == 5);
  char text[256];
  CHECK_OK(bw_rate_limiter_config_to_json(lc, text, sizeof text, NULL));
  CHECK(strstr(text, "\"burst_limit\":5") != NULL);
  bw_rate_limiter *lim = NULL, *lim2 = NULL;
  CHECK_OK(bw_rate_limiter_new(lc, NULL, &lim));
  CHECK_OK(bw_rate_limiter_new(lc, NULL, &lim2));
  CHECK_OK(bw_rate_limiter_same(lim, lim2, &same));
  CHECK(!same);
  bw_rate_limiter_config *lc2 = NULL;
  CHECK_OK(bw_rate_limiter_get_config(lim, &lc2));
  CHECK_OK(bw_rate_limiter_config_get(lc2, &lv));
  CHECK(lv.burst_limit == 5);
  CHECK_RC(bw_rate_limiter_same(lim, NULL, &same), BW_RESULT_NULL_ARGUMENT);
  bw_rate_limiter_config_free(lc2);
  bw_rate_limiter_config_free(lc);
  bw_rate_limiter_free(lim);
  bw_rate_limiter_free(lim2);

  bw_bulkhead_config *bc = bw_bulkhead_config_new();
  bw_bulkhead_config_set_max_queue(bc, 4);
  bw_bulkhead_config_values bv;
  CHECK_OK(bw_bulkhead_config_get(bc, &bv));
  CHECK(bv.max_concurrent == 25 && bv.max_queue == 4 && bv.max_wait_ms == 0);
  CHECK_OK(bw_bulkhead_config_to_json(bc, text, sizeof text, NULL));
  CHECK(strstr(text, "\"max_queue\":4") != NULL);
  bw_bulkhead *bh = NULL;
  CHECK_OK(bw_bulkhead_new(bc, &bh));
  bw_bulkhead_config *bc2 = NULL;
  CHECK_OK(bw_bulkhead_get_config(bh, &bc2));
  CHECK_OK(bw_bulkhead_config_get(bc2, &bv));
  CHECK(bv.max_queue == 4);
  CHECK_OK(bw_bulkhead_same(bh, bh, &same));
  CHECK(same);
  CHECK_RC(bw_bulkhead_same(bh, bh, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_bulkhead_config_get(NULL, &bv), BW_RESULT_NULL_ARGUMENT);
  bw_bulkhead_config_free(bc2);
  bw_bulkhead_config_free(bc);
  bw_bulkhead_free(bh);

  bw_breaker *b1 = new_breaker("x", NULL), *b2 = new_breaker("x", NULL);
  CHECK_OK(bw_breaker_same(b1, b2, &same));
  CHECK(!same);
  CHECK_OK(bw_breaker_same(b1, b1, &same));
  CHECK(same);
  bw_breaker_free(b1);
  bw_breaker_free(b2);
}

/* ---------------------------------------------------------------- cache */

static void test_cache(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_cache *c = NULL;
  bw_cache_options o;
  memset(&o, 0, sizeof o);
  o.has_ttl = true;
  o.ttl_ms = 0;
  CHECK_RC(bw_cache_new(&o, clock, &c), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "ttl_ms");
  o.ttl_ms = 1000;
  o.has_max_entries = true;
  o.max_entries = 0;
  CHECK_RC(bw_cache_new(&o, clock, &c), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_entries");
  CHECK_RC(bw_cache_from_json(S("{\"maxEntries\": 0}"), clock, &c), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "maxEntries");
  CHECK_RC(bw_cache_from_json(BAD_UTF8, sizeof BAD_UTF8, clock, &c), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_cache_from_json(S("{}"), clock, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(c == NULL);
  o.max_entries = 2;
  CHECK_OK(bw_cache_new(&o, clock, &c));
  bw_cache_config cfg;
  CHECK_OK(bw_cache_get_config(c, &cfg));
  CHECK(cfg.ttl_ms == 1000 && cfg.max_entries == 2 && cfg.stale_if_error);

  /* Bytes in, the same bytes out (NUL bytes included); the value outlives the entry. */
  const uint8_t value[] = {1, 0, 2, 0};
  bw_cache_put_info info;
  CHECK_OK(bw_cache_put(c, S("a"), value, sizeof value, &info));
  CHECK(info.replaced == NULL && info.evicted_key == NULL && info.evicted_value == NULL);
  bw_bytes *got = NULL;
  CHECK_OK(bw_cache_get(c, S("a"), &got));
  CHECK(got != NULL);
  const uint8_t *data = NULL;
  size_t len = 0;
  CHECK_OK(bw_bytes_data(got, &data, &len));
  CHECK(len == sizeof value && memcmp(data, value, len) == 0);
  CHECK_RC(bw_bytes_data(got, NULL, &len), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_bytes_data(got, &data, NULL), BW_RESULT_NULL_ARGUMENT);

  /* Replacing, then LRU eviction when full. */
  CHECK_OK(bw_cache_put(c, S("a"), (const uint8_t *)"A2", 2, &info));
  CHECK(info.replaced != NULL && info.evicted_key == NULL);
  CHECK_OK(bw_bytes_data(info.replaced, &data, &len));
  CHECK(len == sizeof value);
  bw_bytes_free(info.replaced);
  CHECK_OK(bw_cache_put(c, S("b"), (const uint8_t *)"B", 1, NULL));
  CHECK_OK(bw_cache_put(c, S("c"), (const uint8_t *)"C", 1, &info));
  CHECK(info.evicted_key != NULL && info.evicted_value != NULL);
  CHECK_OK(bw_bytes_data(info.evicted_key, &data, &len));
  CHECK(len == 1 && data[0] == 'a');
  bw_bytes_free(info.evicted_key);
  bw_bytes_free(info.evicted_value);
  /* The handle taken before is still valid. */
  CHECK_OK(bw_bytes_data(got, &data, &len));
  CHECK(len == sizeof value && data[1] == 0);
  bw_bytes_free(got);

  /* TTL, stale-if-error, and status being pure. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 1000));
  CHECK_OK(bw_cache_get(c, S("b"), &got));
  CHECK(got == NULL);
  bw_cache_stats before, after;
  CHECK_OK(bw_cache_get_stats(c, &before));
  bw_cache_lookup l = BW_CACHE_MISS;
  CHECK_OK(bw_cache_status(c, S("b"), &l));
  CHECK(l == BW_CACHE_STALE);
  CHECK_OK(bw_cache_get_stats(c, &after));
  CHECK(memcmp(&before, &after, sizeof before) == 0);
  CHECK_OK(bw_cache_on_error(c, S("b"), &l, &got));
  CHECK(l == BW_CACHE_STALE && got != NULL);
  bw_bytes_free(got);
  CHECK_OK(bw_cache_on_error(c, S("zz"), &l, NULL));
  CHECK(l == BW_CACHE_MISS);
  CHECK_STR(bw_cache_lookup_name(BW_CACHE_STALE), "stale");
  CHECK(bw_cache_lookup_name((bw_cache_lookup)3) == NULL);
  CHECK_OK(bw_cache_get_stats(c, &after));
  CHECK(after.stale_hits == 1 && after.entries == 2 && after.evictions == 1);
  /* Its own TTL. */
  CHECK_OK(bw_cache_put_ttl(c, S("d"), (const uint8_t *)"D", 1, 5000, NULL));
  CHECK_OK(bw_manual_clock_advance_ms(clock, 4999));
  CHECK_OK(bw_cache_status(c, S("d"), &l));
  CHECK(l == BW_CACHE_FRESH);

  /* Purge, remove, clear, keys, len. */
  bw_string_list *removed = NULL;
  CHECK_OK(bw_cache_purge_expired(c, &removed));
  size_t n = 0;
  CHECK_OK(bw_string_list_len(removed, &n));
  CHECK(n == 1); /* c expired; b was evicted by d */
  bw_string_list_free(removed);
  CHECK_OK(bw_cache_len(c, &len));
  CHECK(len == 1);
  CHECK_OK(bw_cache_remove(c, S("d"), &got));
  CHECK(got != NULL);
  bw_bytes_free(got);
  CHECK_OK(bw_cache_remove(c, S("d"), &got));
  CHECK(got == NULL);
  CHECK_OK(bw_cache_remove(c, S("d"), NULL));
  CHECK_OK(bw_cache_put(c, S("x"), NULL, 0, NULL)); /* the empty value */
  CHECK_OK(bw_cache_clear(c, NULL));
  CHECK_OK(bw_cache_len(c, &len));
  CHECK(len == 0);

  /* configure: a smaller max_entries evicts now. */
  CHECK_OK(bw_cache_put(c, S("p"), NULL, 0, NULL));
  CHECK_OK(bw_cache_put(c, S("q"), NULL, 0, NULL));
  bw_cache_options shrink;
  memset(&shrink, 0, sizeof shrink);
  shrink.has_max_entries = true;
  shrink.max_entries = 1;
  CHECK_OK(bw_cache_configure(c, &shrink, &removed));
  const char *k = NULL;
  CHECK_OK(bw_string_list_get(removed, 0, &k, NULL));
  CHECK_STR(k, "p");
  bw_string_list_free(removed);
  shrink.max_entries = 0;
  CHECK_RC(bw_cache_configure(c, &shrink, NULL), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_entries");
  CHECK_RC(bw_cache_configure_json(c, S("{\"stale_if_error\": 1}"), NULL), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "stale_if_error");
  CHECK_OK(bw_cache_configure_json(c, S("{\"staleIfError\": false}"), NULL));
  CHECK_OK(bw_cache_get_config(c, &cfg));
  CHECK(!cfg.stale_if_error && cfg.max_entries == 1 && cfg.ttl_ms == 1000);

  /* Bad arguments. */
  CHECK_RC(bw_cache_put(NULL, S("k"), NULL, 0, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_put(c, NULL, 0, NULL, 0, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_put(c, S("k"), NULL, 3, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_put(c, BAD_UTF8, sizeof BAD_UTF8, NULL, 0, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_cache_put(c, "a\0b", 3, NULL, 0, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_cache_get(c, S("k"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_get(c, BAD_UTF8, sizeof BAD_UTF8, &got), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_cache_on_error(c, S("k"), NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_status(c, S("k"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_status(c, NULL, 1, &l), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_keys(c, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_len(NULL, &len), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_get_stats(c, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_get_config(c, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_configure(c, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_configure_json(c, NULL, 0, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_clear(NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_purge_expired(NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_remove(NULL, S("k"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_cache_put_ttl(c, S("k"), NULL, 0, 1, NULL), BW_RESULT_OK);
  CHECK_RC(bw_cache_new(NULL, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_cache_free(c);
  bw_cache_free(NULL);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- degradation */

static int available_flag = 0;
static bool is_available(void *userdata) { return *(int *)userdata != 0; }

static int can_handle_calls = 0;
static bool only_partial(void *userdata, const bw_fallback_context *ctx) {
  (void)userdata;
  can_handle_calls++;
  /* The context as the core sees it, valid during the call. */
  if (ctx->component.len != 3 || memcmp(ctx->component.ptr, "svc", 3) != 0) return false;
  return ctx->has_severity && ctx->severity == BW_LEVEL_PARTIAL;
}

static void test_degradation_names(void) {
  CHECK_STR(bw_trigger_name(BW_TRIGGER_CIRCUIT_BREAKER_OPEN), "circuit_breaker_open");
  CHECK_STR(bw_trigger_name(BW_TRIGGER_MANUAL), "manual");
  CHECK(bw_trigger_name((bw_trigger)6) == NULL);
  CHECK_STR(bw_level_name(BW_LEVEL_SEVERE), "severe");
  CHECK(bw_level_name((bw_level)5) == NULL);
  CHECK_STR(bw_strategy_kind_name(BW_STRATEGY_FALLBACK_TARGET), "fallback_target");
  CHECK(bw_strategy_kind_name((bw_strategy_kind)5) == NULL);
  CHECK_STR(bw_recovery_name(BW_RECOVERY_FORCED), "forced");
  CHECK(bw_recovery_name((bw_recovery)2) == NULL);
  bw_trigger t;
  CHECK_OK(bw_trigger_from_name(S("error_rate"), &t));
  CHECK(t == BW_TRIGGER_ERROR_RATE);
  CHECK_RC(bw_trigger_from_name(S("slow"), &t), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_trigger_from_name(BAD_UTF8, sizeof BAD_UTF8, &t), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_trigger_from_name(S("timeout"), NULL), BW_RESULT_NULL_ARGUMENT);
  bw_level l;
  CHECK_OK(bw_level_from_name(S("critical"), &l));
  CHECK(l == BW_LEVEL_CRITICAL);
  CHECK_RC(bw_level_from_name(NULL, 0, &l), BW_RESULT_NULL_ARGUMENT);
  bw_strategy_kind k;
  CHECK_OK(bw_strategy_kind_from_name(S("custom"), &k));
  CHECK(k == BW_STRATEGY_CUSTOM);
  CHECK_RC(bw_strategy_kind_from_name(S("cache"), &k), BW_RESULT_INVALID_ARGUMENT);
  CHECK_OK(bw_trigger_default_level(BW_TRIGGER_CIRCUIT_BREAKER_OPEN, &l));
  CHECK(l == BW_LEVEL_SIGNIFICANT);
  CHECK_OK(bw_trigger_default_level(BW_TRIGGER_TIMEOUT, &l));
  CHECK(l == BW_LEVEL_PARTIAL);
  CHECK_RC(bw_trigger_default_level(BW_TRIGGER_MANUAL, &l), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_trigger_default_level((bw_trigger)9, &l), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_trigger_default_level(BW_TRIGGER_TIMEOUT, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_level_from_health_status(BW_HEALTH_CRITICAL, &l));
  CHECK(l == BW_LEVEL_SEVERE);
  CHECK_OK(bw_level_from_health_status(BW_HEALTH_HEALTHY, &l));
  CHECK(l == BW_LEVEL_NONE);
  CHECK_RC(bw_level_from_health_status(BW_HEALTH_UNKNOWN, &l), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_level_from_health_status((bw_health_status)8, &l), BW_RESULT_INVALID_ARGUMENT);
}

static bw_strategy_spec spec_of(const char *name, bw_strategy_kind kind, uint32_t priority) {
  bw_strategy_spec s;
  memset(&s, 0, sizeof s);
  s.name.ptr = name;
  s.name.len = strlen(name);
  s.kind = kind;
  s.priority = priority;
  return s;
}

static void test_degradation_manager(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_degradation *m = NULL;
  CHECK_RC(bw_degradation_from_json(S("{\"degradationRules\": [{\"conditions\": {\"reasons\": "
                                      "[\"timeout\"]}, \"severityThreshold\": \"high\", "
                                      "\"strategy\": \"x\"}]}"),
                                    clock, &m),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "degradationRules[0].severityThreshold");
  CHECK_RC(bw_degradation_from_json(S("{\"maxHistroy\": 1}"), clock, &m), BW_RESULT_CONFIG_INVALID);
  CHECK(strstr(bw_last_error_allowed(), "maxHistory") != NULL);
  CHECK_RC(bw_degradation_from_json(BAD_UTF8, sizeof BAD_UTF8, clock, &m), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_new(clock, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(m == NULL);
  CHECK_OK(bw_degradation_from_json(
      S("{\"max_history\": 10, \"degradationRules\": [{\"name\": \"open-offline\", \"conditions\": "
        "{\"reasons\": [\"circuit_breaker_open\"], \"component\": \"svc\"}, \"severityThreshold\": "
        "\"significant\", \"strategy\": \"offline\", \"priority\": 1}]}"),
      clock, &m));
  bw_degradation_settings st;
  CHECK_OK(bw_degradation_get_settings(m, &st));
  CHECK(st.enabled && st.max_history == 10 && st.auto_recovery && st.rules == 1);
  seen_events ev;
  memset(&ev, 0, sizeof ev);
  uint64_t id = 0;
  CHECK_OK(bw_degradation_on(m, BW_EVENT_KIND_ALL, remember, &ev, &id));
  CHECK_RC(bw_degradation_on(m, (bw_event_kind)77, remember, &ev, &id), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_on(m, BW_EVENT_KIND_ALL, NULL, &ev, &id), BW_RESULT_NULL_ARGUMENT);

  /* Strategies. */
  bw_strategy_spec s = spec_of("cache", BW_STRATEGY_CACHED_RESPONSE, 1);
  bool replaced = true;
  CHECK_OK(bw_degradation_register(m, &s, &replaced));
  CHECK(!replaced);
  s = spec_of("offline", BW_STRATEGY_OFFLINE_RESPONSE, 9);
  s.description.ptr = "static page";
  s.description.len = 11;
  CHECK_OK(bw_degradation_register(m, &s, NULL));
  s = spec_of("agent-b", BW_STRATEGY_FALLBACK_TARGET, 2);
  s.triggers = BW_TRIGGER_BIT(BW_TRIGGER_TIMEOUT) | BW_TRIGGER_BIT(BW_TRIGGER_CIRCUIT_BREAKER_OPEN);
  s.is_available = is_available;
  s.userdata = &available_flag;
  CHECK_OK(bw_degradation_register(m, &s, NULL));
  s = spec_of("partial-only", BW_STRATEGY_CUSTOM, 3);
  s.can_handle = only_partial;
  CHECK_OK(bw_degradation_register(m, &s, NULL));
  s = spec_of("", BW_STRATEGY_CUSTOM, 3);
  CHECK_RC(bw_degradation_register(m, &s, NULL), BW_RESULT_INVALID_ARGUMENT);
  s = spec_of("k", (bw_strategy_kind)42, 3);
  CHECK_RC(bw_degradation_register(m, &s, NULL), BW_RESULT_INVALID_ARGUMENT);
  s = spec_of("k", BW_STRATEGY_CUSTOM, 3);
  s.triggers = 1u << 10;
  CHECK_RC(bw_degradation_register(m, &s, NULL), BW_RESULT_INVALID_ARGUMENT);
  s.triggers = 0;
  s.name.ptr = BAD_UTF8;
  s.name.len = sizeof BAD_UTF8;
  CHECK_RC(bw_degradation_register(m, &s, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_register(m, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_string_list *names = NULL;
  CHECK_OK(bw_degradation_strategy_names(m, &names));
  size_t n = 0;
  bw_string_list_len(names, &n);
  CHECK(n == 4);
  bw_string_list_free(names);
  bw_strategy_info info;
  bool found = false;
  CHECK_OK(bw_degradation_strategy(m, S("offline"), &info, &found));
  CHECK(found && info.kind == BW_STRATEGY_OFFLINE_RESPONSE && info.priority == 9 && info.available);
  CHECK_STR(info.name, "offline");
  CHECK_STR(info.description, "static page");
  CHECK(info.triggers == 0);
  CHECK_OK(bw_degradation_strategy(m, S("agent-b"), &info, &found));
  CHECK(info.triggers == (BW_TRIGGER_BIT(BW_TRIGGER_TIMEOUT) | BW_TRIGGER_BIT(BW_TRIGGER_CIRCUIT_BREAKER_OPEN)));
  CHECK_OK(bw_degradation_strategy(m, S("nope"), &info, &found));
  CHECK(!found);
  CHECK_RC(bw_degradation_strategy(m, S("nope"), NULL, &found), BW_RESULT_NULL_ARGUMENT);

  /* Choosing: the rule first; below its threshold, priority order among those that serve. */
  bw_fallback_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.component.ptr = "svc";
  ctx.component.len = 3;
  ctx.trigger = BW_TRIGGER_CIRCUIT_BREAKER_OPEN;
  bw_fallback_choice c;
  CHECK_OK(bw_degradation_choose(m, &ctx, &c));
  CHECK(c.has_strategy && c.kind == BW_STRATEGY_OFFLINE_RESPONSE && !c.stale);
  CHECK_STR(c.strategy, "offline");
  CHECK_STR(c.rule, "open-offline");
  CHECK(c.trigger == BW_TRIGGER_CIRCUIT_BREAKER_OPEN && c.severity == BW_LEVEL_SIGNIFICANT);
  ctx.has_severity = true;
  ctx.severity = BW_LEVEL_PARTIAL;
  can_handle_calls = 0;
  CHECK_OK(bw_degradation_choose(m, &ctx, &c));
  CHECK_STR(c.strategy, "partial-only"); /* cache: nothing cached; agent-b unavailable */
  CHECK(c.rule == NULL && can_handle_calls == 1);
  available_flag = 1;
  CHECK_OK(bw_degradation_choose(m, &ctx, &c));
  CHECK_STR(c.strategy, "agent-b");
  ctx.cached = BW_CACHE_STALE;
  CHECK_OK(bw_degradation_choose(m, &ctx, &c));
  CHECK_STR(c.strategy, "cache");
  CHECK(c.stale);
  ctx.cached = BW_CACHE_MISS;
  ctx.trigger = BW_TRIGGER_ERROR_RATE; /* agent-b does not handle it */
  CHECK_OK(bw_degradation_set_available(m, S("partial-only"), false, &found));
  CHECK(found);
  CHECK_OK(bw_degradation_choose(m, &ctx, &c));
  CHECK_STR(c.strategy, "offline");
  CHECK_OK(bw_degradation_set_available(m, S("nope"), false, &found));
  CHECK(!found);
  CHECK(ev.n == 0); /* choose records nothing */
  /* Bad contexts. */
  ctx.trigger = (bw_trigger)17;
  CHECK_RC(bw_degradation_choose(m, &ctx, &c), BW_RESULT_INVALID_ARGUMENT);
  ctx.trigger = BW_TRIGGER_TIMEOUT;
  ctx.severity = (bw_level)9;
  CHECK_RC(bw_degradation_choose(m, &ctx, &c), BW_RESULT_INVALID_ARGUMENT);
  ctx.severity = BW_LEVEL_PARTIAL;
  ctx.cached = (bw_cache_lookup)5;
  CHECK_RC(bw_degradation_choose(m, &ctx, &c), BW_RESULT_INVALID_ARGUMENT);
  ctx.cached = BW_CACHE_MISS;
  ctx.component.ptr = BAD_UTF8;
  ctx.component.len = sizeof BAD_UTF8;
  CHECK_RC(bw_degradation_select(m, &ctx, &c), BW_RESULT_INVALID_ARGUMENT);
  ctx.component.ptr = NULL;
  CHECK_RC(bw_degradation_select(m, &ctx, &c), BW_RESULT_NULL_ARGUMENT);
  ctx.component.ptr = "svc";
  ctx.component.len = 3;
  CHECK_RC(bw_degradation_select(m, NULL, &c), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_select(m, &ctx, NULL), BW_RESULT_NULL_ARGUMENT);

  /* Select records: degradation_triggered then fallback, with their strings. */
  CHECK_OK(bw_degradation_select(m, &ctx, &c));
  CHECK_STR(c.strategy, "agent-b");
  CHECK(ev.n == 2);
  CHECK(ev.kinds[0] == BW_EVENT_KIND_DEGRADATION_TRIGGERED && ev.kinds[1] == BW_EVENT_KIND_FALLBACK);
  CHECK_STR(ev.reasons[0], "timeout");
  CHECK_STR(ev.severities[0], "partial");
  CHECK_STR(ev.strategies[1], "agent-b");
  CHECK_STR(ev.components[1], "svc");
  bw_level l = BW_LEVEL_NONE;
  CHECK_OK(bw_degradation_level(m, S("svc"), &l));
  CHECK(l == BW_LEVEL_PARTIAL);

  /* Triggering and recovery. */
  bool changed = false;
  bw_level crit = BW_LEVEL_CRITICAL;
  CHECK_OK(bw_degradation_trigger(m, S("db"), BW_TRIGGER_MANUAL, &crit, &changed));
  CHECK(changed);
  CHECK_RC(bw_degradation_trigger(m, S("db"), BW_TRIGGER_MANUAL, NULL, &changed), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("needs a level");
  bw_level bad = (bw_level)11;
  CHECK_RC(bw_degradation_trigger(m, S("db"), BW_TRIGGER_MANUAL, &bad, &changed), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_trigger(m, S("db"), (bw_trigger)6, NULL, &changed), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_trigger(m, NULL, 0, BW_TRIGGER_TIMEOUT, NULL, &changed), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_degradation_trigger(m, S("api"), BW_TRIGGER_TIMEOUT, NULL, NULL));
  CHECK_OK(bw_degradation_overall_level(m, &l));
  CHECK(l == BW_LEVEL_CRITICAL);
  bool recovered = true;
  CHECK_OK(bw_degradation_clear(m, S("db"), BW_TRIGGER_MANUAL, &recovered));
  CHECK(!recovered); /* manual only recovers when forced */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 2500));
  CHECK_OK(bw_degradation_report_success(m, S("api"), &recovered));
  CHECK(recovered);
  CHECK_OK(bw_degradation_on_breaker_state(m, S("cb"), BW_STATE_OPEN, &changed));
  CHECK(changed);
  CHECK_RC(bw_degradation_on_breaker_state(m, S("cb"), (bw_state)9, &changed), BW_RESULT_INVALID_ARGUMENT);
  CHECK_OK(bw_degradation_on_breaker_state(m, S("cb"), BW_STATE_CLOSED, &changed));
  CHECK(changed);
  CHECK_OK(bw_degradation_on_health_status(m, S("hc"), BW_HEALTH_UNHEALTHY, &changed));
  CHECK(changed);
  CHECK_OK(bw_degradation_level(m, S("hc"), &l));
  CHECK(l == BW_LEVEL_SIGNIFICANT);
  CHECK_OK(bw_degradation_on_health_status(m, S("hc"), BW_HEALTH_UNKNOWN, &changed));
  CHECK(!changed);
  CHECK_RC(bw_degradation_on_health_status(m, S("hc"), (bw_health_status)5, &changed), BW_RESULT_INVALID_ARGUMENT);

  /* Reading: active, history, statistics. */
  bw_degradation_list *list = NULL;
  CHECK_OK(bw_degradation_active_list(m, &list));
  CHECK_OK(bw_degradation_list_len(list, &n));
  CHECK(n == 3); /* db, hc, svc (by name) */
  bw_degradation_entry e;
  CHECK_OK(bw_degradation_list_get(list, 0, &e));
  CHECK(e.component_len == 2 && !memcmp(e.component, "db", 2));
  CHECK(e.trigger == BW_TRIGGER_MANUAL && e.level == BW_LEVEL_CRITICAL && !e.has_duration && !e.has_recovery);
  CHECK(e.started_at_ms == 1767225600000ULL && e.since_ms == 0);
  CHECK_OK(bw_degradation_list_get(list, 2, &e));
  CHECK_STR(e.strategy, "agent-b");
  CHECK(e.calls_served == 1);
  CHECK_RC(bw_degradation_list_get(list, 3, &e), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_list_get(list, 0, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_degradation_list_free(list);
  CHECK_OK(bw_degradation_history(m, &list));
  CHECK_OK(bw_degradation_list_len(list, &n));
  CHECK(n == 5);
  CHECK_OK(bw_degradation_list_get(list, 2, &e)); /* api: recovered after 2500 ms */
  CHECK(e.has_duration && e.duration_ms == 2500 && e.has_recovery && e.recovery == BW_RECOVERY_AUTO);
  bw_degradation_list_free(list);
  bw_degradation_list_free(NULL);
  uint64_t count = 0;
  CHECK_OK(bw_degradation_force_recovery(m, S("db"), &recovered));
  CHECK(recovered);
  CHECK_OK(bw_degradation_force_recovery_all(m, &count));
  CHECK(count == 2);
  bw_degradation_stats stats;
  CHECK_OK(bw_degradation_statistics(m, &stats));
  CHECK(stats.active == 0 && stats.total_triggered == 5 && stats.total_recovered == 5);
  CHECK(stats.calls_served == 1 && stats.has_most_frequent_reason);
  CHECK(stats.by_reason[BW_TRIGGER_TIMEOUT] == 2 && stats.by_reason[BW_TRIGGER_MANUAL] == 1);
  CHECK(stats.most_frequent_reason == BW_TRIGGER_TIMEOUT);
  CHECK(stats.has_max_duration && stats.max_duration_ms == 2500 && stats.has_mean_duration);
  CHECK_RC(bw_degradation_statistics(m, NULL), BW_RESULT_NULL_ARGUMENT);

  /* Settings. */
  CHECK_OK(bw_degradation_set_auto_recovery(m, false));
  CHECK_OK(bw_degradation_configure_json(m, S("{\"maxHistory\": 3}")));
  CHECK_OK(bw_degradation_get_settings(m, &st));
  CHECK(!st.auto_recovery && st.max_history == 3 && st.rules == 1);
  CHECK_RC(bw_degradation_configure_json(m, S("{\"max_history\": -1}")), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "max_history");
  CHECK_RC(bw_degradation_set_rules_json(m, S("{}")), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "rules");
  CHECK_RC(bw_degradation_set_rules_json(m, S("[{\"conditions\": {\"reasons\": []}, \"strategy\": \"x\"}]")),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "rules[0].conditions.reasons");
  CHECK_OK(bw_degradation_set_rules_json(m, S("[]")));
  CHECK_OK(bw_degradation_get_settings(m, &st));
  CHECK(st.rules == 0);
  bool removed = false;
  CHECK_OK(bw_degradation_unregister(m, S("cache"), &removed));
  CHECK(removed);
  CHECK_OK(bw_degradation_unregister(m, S("cache"), &removed));
  CHECK(!removed);
  CHECK_RC(bw_degradation_unregister(m, BAD_UTF8, sizeof BAD_UTF8, &removed), BW_RESULT_INVALID_ARGUMENT);

  CHECK_OK(bw_degradation_off(m, id));
  CHECK_RC(bw_degradation_off(m, id), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_degradation_level(NULL, S("x"), &l), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_level(m, S("x"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_overall_level(m, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_active_list(m, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_history(NULL, &list), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_get_settings(m, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_degradation_strategy_names(m, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_degradation_free(m);
  bw_degradation_free(NULL);
  bw_manual_clock_free(clock);
}

/* The pipeline's fallback step with a degradation manager and a response cache. */
static void test_policy_fallback_step(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_degradation *m = NULL;
  CHECK_OK(bw_degradation_new(clock, &m));
  bw_strategy_spec s = spec_of("cache", BW_STRATEGY_CACHED_RESPONSE, 1);
  CHECK_OK(bw_degradation_register(m, &s, NULL));
  s = spec_of("offline", BW_STRATEGY_OFFLINE_RESPONSE, 5);
  CHECK_OK(bw_degradation_register(m, &s, NULL));
  bw_cache_options co;
  memset(&co, 0, sizeof co);
  co.has_ttl = true;
  co.ttl_ms = 1000;
  bw_cache *cache = NULL;
  CHECK_OK(bw_cache_new(&co, clock, &cache));
  CHECK_OK(bw_cache_put(cache, S("GET /a"), (const uint8_t *)"cached-a", 8, NULL));

  bw_breaker_config *bc = bw_breaker_config_new();
  bw_breaker_config_set_failure_threshold(bc, 1);
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("svc"), bc, clock, &b));
  bw_breaker_config_free(bc);
  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.breaker = b;
  parts.degradation = m;
  parts.cache = cache;
  bw_policy *p = NULL;
  CHECK_OK(bw_policy_new(S("svc"), &parts, &p));

  /* A failure: the fallback step names the cache (the key has a fresh entry). */
  bw_call_options opts;
  memset(&opts, 0, sizeof opts);
  opts.cache_key.ptr = "GET /a";
  opts.cache_key.len = 6;
  bw_policy_call *call = NULL;
  bw_step step;
  CHECK_OK(bw_policy_start_with(p, &opts, &call, &step));
  CHECK(step.kind == BW_STEP_ATTEMPT && !step.fallback.has_strategy);
  bw_call_info info;
  CHECK_RC(bw_policy_call_info(call, &info), BW_RESULT_INVALID_ARGUMENT);
  bw_failure f = {BW_CATEGORY_SERVER, false, false, 0};
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_FAILURE, &f, &step));
  CHECK(step.kind == BW_STEP_FALLBACK && step.verdict.kind == BW_VERDICT_USER_ERROR);
  CHECK(step.fallback.has_strategy && step.fallback.kind == BW_STRATEGY_CACHED_RESPONSE);
  CHECK_STR(step.fallback.strategy, "cache");
  CHECK(step.fallback.trigger == BW_TRIGGER_ERROR_RATE && !step.fallback.stale);
  /* The caller serves the cached value. */
  bw_cache_lookup l;
  bw_bytes *v = NULL;
  CHECK_OK(bw_cache_on_error(cache, S("GET /a"), &l, &v));
  CHECK(l == BW_CACHE_FRESH && v != NULL);
  bw_bytes_free(v);
  CHECK_OK(bw_policy_call_info(call, &info));
  CHECK(info.from_fallback && info.has_kind && info.kind == BW_STRATEGY_CACHED_RESPONSE);
  CHECK_STR(info.strategy, "cache");
  CHECK(info.has_reason && info.reason == BW_TRIGGER_ERROR_RATE && !info.stale && info.attempts == 1);
  CHECK_RC(bw_policy_call_info(call, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_policy_call_info(NULL, &info), BW_RESULT_NULL_ARGUMENT);
  bw_policy_call_free(call);
  bw_level lvl;
  CHECK_OK(bw_degradation_level(m, S("svc"), &lvl));
  CHECK(lvl == BW_LEVEL_PARTIAL);

  /* The breaker is open now: a rejection, the key's entry expired (stale-if-error). */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 1000));
  CHECK_OK(bw_policy_start_with(p, &opts, &call, &step));
  CHECK(step.kind == BW_STEP_FALLBACK && step.verdict.kind == BW_VERDICT_REJECTED);
  CHECK(step.fallback.has_strategy && step.fallback.stale);
  CHECK(step.fallback.trigger == BW_TRIGGER_CIRCUIT_BREAKER_OPEN && step.fallback.severity == BW_LEVEL_SIGNIFICANT);
  CHECK_OK(bw_policy_call_info(call, &info));
  CHECK(info.stale && info.attempts == 0);
  bw_policy_call_free(call);

  /* No key: the cache cannot serve; offline does. The caller's own answer wins over the cache. */
  CHECK_OK(bw_policy_start(p, &call, &step));
  CHECK_STR(step.fallback.strategy, "offline");
  CHECK(step.fallback.kind == BW_STRATEGY_OFFLINE_RESPONSE);
  bw_policy_call_free(call);
  opts.has_cached = true;
  opts.cached = BW_CACHE_MISS;
  CHECK_OK(bw_policy_start_with(p, &opts, &call, &step));
  CHECK_STR(step.fallback.strategy, "offline");
  bw_policy_call_free(call);
  opts.cached = (bw_cache_lookup)7;
  call = NULL;
  CHECK_RC(bw_policy_start_with(p, &opts, &call, &step), BW_RESULT_INVALID_ARGUMENT);
  CHECK(call == NULL);
  opts.has_cached = false;
  opts.cache_key.ptr = BAD_UTF8;
  opts.cache_key.len = sizeof BAD_UTF8;
  CHECK_RC(bw_policy_start_with(p, &opts, &call, &step), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_policy_start_with(NULL, &opts, &call, &step), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_policy_start_with(p, NULL, &call, &step)); /* NULL options: none */
  bw_policy_call_free(call);

  /* A success once the breaker closes reports recovery. */
  CHECK_OK(bw_breaker_force_close(b));
  CHECK_OK(bw_policy_start(p, &call, &step));
  CHECK_OK(bw_policy_record(call, BW_ATTEMPT_SUCCESS, NULL, &step));
  CHECK(step.kind == BW_STEP_DONE && !step.fallback.has_strategy);
  CHECK_OK(bw_policy_call_info(call, &info));
  CHECK(!info.from_fallback && info.strategy == NULL && !info.has_kind && info.attempts == 1);
  bw_policy_call_free(call);
  CHECK_OK(bw_degradation_level(m, S("svc"), &lvl));
  CHECK(lvl == BW_LEVEL_NONE);
  bw_policy_free(p);

  /* The manager must share the policy's clock. */
  bw_manual_clock *other = bw_manual_clock_new();
  bw_degradation *m2 = NULL;
  CHECK_OK(bw_degradation_new(other, &m2));
  parts.degradation = m2;
  CHECK_RC(bw_policy_new(S("svc"), &parts, &p), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "clock");
  bw_degradation_free(m2);
  bw_manual_clock_free(other);

  bw_breaker_free(b);
  bw_cache_free(cache);
  bw_degradation_free(m);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- health */

static bool degraded_db(void *userdata, const char *name, size_t len) {
  (void)userdata;
  return len == 2 && !memcmp(name, "db", 2);
}

static void test_health(void) {
  CHECK_STR(bw_health_status_name(BW_HEALTH_DEGRADED), "degraded");
  CHECK(bw_health_status_name((bw_health_status)5) == NULL);
  CHECK_STR(bw_check_kind_name(BW_CHECK_STARTUP), "startup");
  CHECK(bw_check_kind_name((bw_check_kind)3) == NULL);
  bw_health_status hs;
  CHECK_OK(bw_health_status_from_name(S("critical"), &hs));
  CHECK(hs == BW_HEALTH_CRITICAL);
  CHECK_RC(bw_health_status_from_name(S("ok"), &hs), BW_RESULT_INVALID_ARGUMENT);
  bw_check_kind kind;
  CHECK_OK(bw_check_kind_from_name(S("liveness"), &kind));
  CHECK(kind == BW_CHECK_LIVENESS);
  CHECK_RC(bw_check_kind_from_name(S("liveness"), NULL), BW_RESULT_NULL_ARGUMENT);

  bw_health_check_config cfg;
  CHECK_OK(bw_health_check_config_default(&cfg));
  CHECK(cfg.kind == BW_CHECK_READINESS && cfg.interval_ms == 30000 && cfg.timeout_ms == 5000);
  CHECK(cfg.failure_threshold == 3 && cfg.critical);
  CHECK_RC(bw_health_check_config_default(NULL), BW_RESULT_NULL_ARGUMENT);

  bw_manual_clock *clock = bw_manual_clock_new();
  bw_health *h = NULL;
  CHECK_RC(bw_health_from_json(S("{\"interval\": 0}"), clock, &h), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "interval");
  CHECK_RC(bw_health_from_json(S("{\"agentSpecific\": {\"db\": {\"kind\": \"later\"}}}"), clock, &h),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "agentSpecific.db.kind");
  CHECK(h == NULL);
  CHECK_OK(bw_health_from_json(S("{\"failureThreshold\": 2, \"agentSpecific\": {\"boot\": {\"kind\": "
                                 "\"startup\"}}}"),
                               clock, &h));
  bw_health_check_config dc;
  CHECK_OK(bw_health_default_config(h, S("boot"), &dc));
  CHECK(dc.kind == BW_CHECK_STARTUP && dc.failure_threshold == 2);
  CHECK_OK(bw_health_default_config(h, S("other"), &dc));
  CHECK(dc.kind == BW_CHECK_READINESS);
  seen_events ev;
  memset(&ev, 0, sizeof ev);
  uint64_t id = 0;
  CHECK_OK(bw_health_on(h, BW_EVENT_KIND_HEALTH_CHANGED, remember, &ev, &id));

  /* Registering: config errors name the field. */
  cfg.interval_ms = 0;
  CHECK_RC(bw_health_register(h, S("db"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "interval_ms");
  cfg.interval_ms = 1000;
  cfg.timeout_ms = 86400001;
  CHECK_RC(bw_health_register(h, S("db"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "timeout_ms");
  cfg.timeout_ms = 100;
  cfg.failure_threshold = 0;
  CHECK_RC(bw_health_register(h, S("db"), &cfg), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "failure_threshold");
  cfg.failure_threshold = 2;
  cfg.kind = (bw_check_kind)7;
  CHECK_RC(bw_health_register(h, S("db"), &cfg), BW_RESULT_INVALID_ARGUMENT);
  cfg.kind = BW_CHECK_READINESS;
  CHECK_OK(bw_health_register(h, S("db"), &cfg));
  CHECK_OK(bw_health_register(h, S("boot"), NULL)); /* the settings' config: startup */
  CHECK_RC(bw_health_register_json(h, S("live"), S("{\"kind\": \"liveness\", \"intervall\": 5}")),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "intervall");
  CHECK_OK(bw_health_register_json(h, S("live"), S("{\"kind\": \"liveness\", \"critical\": false}")));
  CHECK_RC(bw_health_register(h, BAD_UTF8, sizeof BAD_UTF8, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_health_register(NULL, S("x"), NULL), BW_RESULT_NULL_ARGUMENT);
  bw_string_list *names = NULL;
  CHECK_OK(bw_health_check_names(h, &names));
  size_t n = 0;
  bw_string_list_len(names, &n);
  CHECK(n == 3);
  bw_string_list_free(names);

  /* Reporting. */
  bw_check_result res;
  memset(&res, 0, sizeof res);
  res.status = BW_HEALTH_HEALTHY;
  bw_check_view view;
  CHECK_OK(bw_health_report(h, S("db"), &res, &view));
  CHECK(view.status == BW_HEALTH_HEALTHY && view.is_check && view.reports_total == 1);
  CHECK(view.name_len == 2 && !memcmp(view.name, "db", 2));
  CHECK(view.has_last && view.last_status == BW_HEALTH_HEALTHY && view.last_at_ms == 1767225600000ULL);
  CHECK_OK(bw_health_report(h, S("boot"), &res, NULL));
  CHECK_OK(bw_health_report(h, S("live"), &res, NULL));
  res.status = BW_HEALTH_UNHEALTHY;
  res.message.ptr = "connection refused";
  res.message.len = 18;
  CHECK_OK(bw_health_report(h, S("db"), &res, &view));
  CHECK(!view.failing && view.consecutive_failures == 1 && view.last_failed);
  res.status = BW_HEALTH_HEALTHY;
  res.latency_ms = 101; /* above the timeout: a failed report */
  CHECK_OK(bw_health_report(h, S("db"), &res, &view));
  CHECK(view.failing && view.status == BW_HEALTH_UNHEALTHY && view.last_timed_out);
  bw_health_summary sum;
  bw_health_overview *ov = NULL;
  CHECK_OK(bw_health_snapshot(h, &sum, &ov));
  CHECK(sum.status == BW_HEALTH_UNHEALTHY && !sum.ready && sum.live && sum.started && sum.checks == 3);
  CHECK(sum.readiness == BW_HEALTH_UNHEALTHY && sum.liveness == BW_HEALTH_HEALTHY);
  bw_check_view v2;
  bool found = false;
  CHECK_OK(bw_health_overview_find(ov, S("db"), &v2, &found));
  CHECK(found && v2.failing && v2.failures_total == 2);
  CHECK_STR(v2.name, "db");
  CHECK_OK(bw_health_overview_find(ov, S("nope"), &v2, &found));
  CHECK(!found);
  CHECK_OK(bw_health_overview_check(ov, 2, &v2));
  CHECK_STR(v2.name, "live");
  CHECK(v2.kind == BW_CHECK_LIVENESS && !v2.critical);
  CHECK_RC(bw_health_overview_check(ov, 3, &v2), BW_RESULT_INVALID_ARGUMENT);
  bw_health_summary sum2;
  CHECK_OK(bw_health_overview_summary(ov, &sum2));
  CHECK(sum2.status == sum.status && sum2.at_ms == sum.at_ms);
  CHECK_RC(bw_health_overview_summary(NULL, &sum2), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_health_overview_find(ov, S("db"), NULL, &found), BW_RESULT_NULL_ARGUMENT);
  bw_health_overview_free(ov);
  bw_health_overview_free(NULL);
  /* Reports announce changes. */
  CHECK(ev.n >= 2);
  CHECK(ev.kinds[0] == BW_EVENT_KIND_HEALTH_CHANGED);
  int saw_db_unhealthy = 0;
  for (int i = 0; i < ev.n; i++)
    if (!strcmp(ev.components[i], "db") && !strcmp(ev.reasons[i], "unhealthy") && ev.attempts[i] == 2)
      saw_db_unhealthy = 1;
  CHECK(saw_db_unhealthy);
  /* Bad reports. */
  CHECK_RC(bw_health_report(h, S("nope"), &res, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("nope");
  res.status = (bw_health_status)9;
  CHECK_RC(bw_health_report(h, S("db"), &res, NULL), BW_RESULT_INVALID_ARGUMENT);
  res.status = BW_HEALTH_HEALTHY;
  res.message.ptr = BAD_UTF8;
  res.message.len = sizeof BAD_UTF8;
  CHECK_RC(bw_health_report(h, S("db"), &res, NULL), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_health_report(h, S("db"), NULL, NULL), BW_RESULT_NULL_ARGUMENT);

  /* History, newest first, at most cap. */
  bw_health_result hist[2];
  CHECK_OK(bw_health_history(h, S("db"), hist, 2, &n));
  CHECK(n == 2 && hist[0].timed_out && hist[1].status == BW_HEALTH_UNHEALTHY);
  CHECK_OK(bw_health_history(h, S("db"), NULL, 0, &n));
  CHECK(n == 0);
  CHECK_RC(bw_health_history(h, S("db"), NULL, 2, &n), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_health_history(h, S("db"), hist, 2, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_health_history(h, S("nope"), hist, 2, &n));
  CHECK(n == 0);

  /* Dependencies: a breaker, and a component the probe says is degraded. */
  bool ready = true, live = false;
  CHECK_OK(bw_health_unregister(h, S("db"), &found));
  CHECK(found);
  CHECK_OK(bw_health_is_ready(h, &ready));
  CHECK(ready);
  bw_breaker *b = new_breaker("payments", clock);
  CHECK_OK(bw_health_add_breaker_dependency(h, b, true));
  CHECK_OK(bw_breaker_force_open(b));
  CHECK_OK(bw_health_is_ready(h, &ready));
  CHECK(!ready);
  CHECK_OK(bw_health_is_live(h, &live));
  CHECK(live);
  CHECK_OK(bw_health_evaluate(h, &sum, NULL));
  CHECK(sum.checks == 3 && !sum.ready);
  CHECK_OK(bw_health_remove_dependency(h, S("payments"), &found));
  CHECK(found);
  CHECK_OK(bw_health_add_dependency(h, S("db"), false));
  CHECK_OK(bw_health_set_degraded_callback(h, degraded_db, NULL));
  CHECK_OK(bw_health_snapshot(h, &sum, &ov));
  CHECK(sum.status == BW_HEALTH_DEGRADED && sum.ready); /* a non-critical dependency */
  CHECK_OK(bw_health_overview_find(ov, S("db"), &v2, &found));
  CHECK(found && !v2.is_check && v2.has_dependency && v2.degraded && !v2.has_breaker_state);
  bw_health_overview_free(ov);
  /* The degradation manager as the probe. */
  bw_degradation *m = NULL;
  CHECK_OK(bw_degradation_new(clock, &m));
  CHECK_OK(bw_health_use_degradation(h, m));
  CHECK_OK(bw_health_snapshot(h, &sum, NULL));
  CHECK(sum.status == BW_HEALTH_HEALTHY);
  bw_level sev = BW_LEVEL_SEVERE;
  CHECK_OK(bw_degradation_trigger(m, S("db"), BW_TRIGGER_MANUAL, &sev, NULL));
  bw_degradation_free(m); /* the registry keeps it */
  CHECK_OK(bw_health_snapshot(h, &sum, NULL));
  CHECK(sum.status == BW_HEALTH_DEGRADED);
  CHECK_OK(bw_health_use_degradation(h, NULL));
  CHECK_OK(bw_health_set_degraded_callback(h, NULL, NULL));
  CHECK_RC(bw_health_add_breaker_dependency(h, NULL, true), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_health_add_dependency(h, NULL, 0, true), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_health_is_ready(h, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_health_evaluate(NULL, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_health_off(h, id));
  CHECK_RC(bw_health_off(h, id), BW_RESULT_INVALID_ARGUMENT);
  bw_breaker_free(b);
  bw_health_free(h);
  bw_health_free(NULL);
  CHECK_OK(bw_health_new(NULL, &h));
  bw_health_free(h);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- slo */

static void test_slo(void) {
  CHECK_STR(bw_recommendation_name(BW_RECOMMENDATION_EXHAUSTED), "exhausted");
  CHECK(bw_recommendation_name((bw_recommendation)4) == NULL);
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_slo_options o;
  memset(&o, 0, sizeof o);
  o.has_target = true;
  o.target = 1.0;
  bw_slo *slo = NULL;
  CHECK_RC(bw_slo_new(S("api"), &o, clock, &slo), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "target");
  o.target = 0.9;
  o.has_window = true;
  o.window_ms = 0;
  CHECK_RC(bw_slo_new(S("api"), &o, clock, &slo), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "window_ms");
  o.window_ms = 10000;
  o.has_buckets = true;
  o.buckets = 3;
  CHECK_RC(bw_slo_new(S("api"), &o, clock, &slo), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "buckets");
  o.buckets = 10;
  o.has_burn_rate_window = true;
  o.burn_rate_window_ms = 0;
  CHECK_RC(bw_slo_new(S("api"), &o, clock, &slo), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "burn_rate_window_ms");
  CHECK_RC(bw_slo_from_json(S("api"), S("{\"targett\": 0.5}"), clock, &slo), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "targett");
  CHECK_RC(bw_slo_new(BAD_UTF8, sizeof BAD_UTF8, NULL, clock, &slo), BW_RESULT_INVALID_ARGUMENT);
  CHECK(slo == NULL);
  o.burn_rate_window_ms = 1000;
  CHECK_OK(bw_slo_new(S("api"), &o, clock, &slo));
  bw_slo_status st;
  CHECK_OK(bw_slo_get_status(slo, &st));
  CHECK(st.total == 0 && st.availability == 1.0 && st.target == 0.9 && st.window_ms == 10000);
  CHECK(st.recommendation == BW_RECOMMENDATION_HEALTHY);
  CHECK_OK(bw_slo_record_counts(slo, 90, 5));
  CHECK_OK(bw_slo_record(slo, false));
  CHECK_OK(bw_slo_record(slo, true));
  bw_event e;
  memset(&e, 0, sizeof e);
  e.kind = BW_EVENT_KIND_FAILURE;
  e.component = "api";
  e.component_len = 3;
  bool counted = false;
  CHECK_OK(bw_slo_observe(slo, &e, &counted));
  CHECK(counted);
  e.kind = BW_EVENT_KIND_STATE_CHANGE;
  CHECK_OK(bw_slo_observe(slo, &e, &counted));
  CHECK(!counted);
  CHECK_OK(bw_slo_get_status(slo, &st));
  CHECK(st.total == 98 && st.good == 91 && st.bad == 7);
  CHECK(st.error_budget_consumed > 0.7 && st.error_budget_consumed < 0.72);
  CHECK(st.recommendation == BW_RECOMMENDATION_MODERATE);
  /* Events are read defensively. */
  e.kind = (bw_event_kind)99;
  CHECK_RC(bw_slo_observe(slo, &e, &counted), BW_RESULT_INVALID_ARGUMENT);
  e.kind = BW_EVENT_KIND_SUCCESS;
  e.reason = "not_a_reason";
  CHECK_RC(bw_slo_observe(slo, &e, &counted), BW_RESULT_INVALID_ARGUMENT);
  CHECK_MSG_HAS("not_a_reason");
  e.reason = NULL;
  e.component = BAD_UTF8;
  e.component_len = sizeof BAD_UTF8;
  CHECK_RC(bw_slo_observe(slo, &e, &counted), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_slo_observe(slo, NULL, &counted), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_slo_get_status(slo, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_slo_record(NULL, true), BW_RESULT_NULL_ARGUMENT);
  /* The window rolls over. */
  CHECK_OK(bw_manual_clock_advance_ms(clock, 10000));
  CHECK_OK(bw_slo_get_status(slo, &st));
  CHECK(st.total == 0);
  bw_slo_free(slo);
  bw_slo_free(NULL);
  CHECK_OK(bw_slo_from_json(S("api"), S("{\"target\": 0.99, \"window_ms\": 60000, \"buckets\": 6}"), NULL, &slo));
  bw_slo_free(slo);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- alerts and the event log */

static void test_event_log(void) {
  bw_event_log *log = NULL;
  CHECK_RC(bw_event_log_new(0, &log), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "capacity");
  CHECK_RC(bw_event_log_new(1000001, &log), BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_event_log_new(3, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_event_log_new(3, &log));
  bw_event e;
  memset(&e, 0, sizeof e);
  e.kind = BW_EVENT_KIND_STATE_CHANGE;
  e.component = "db";
  e.component_len = 2;
  e.at_ms = 5;
  e.has_from = true;
  e.from = BW_STATE_CLOSED;
  e.has_to = true;
  e.to = BW_STATE_OPEN;
  e.reason = "consecutive_failures";
  CHECK_OK(bw_event_log_record(log, &e));
  e.kind = BW_EVENT_KIND_FAILURE;
  e.has_from = e.has_to = false;
  e.reason = NULL;
  e.has_category = true;
  e.category = BW_CATEGORY_TIMEOUT;
  e.has_duration = true;
  e.duration_ms = 12;
  CHECK_OK(bw_event_log_record(log, &e));
  e.component = "api";
  e.component_len = 3;
  e.kind = BW_EVENT_KIND_DEGRADATION_TRIGGERED;
  e.has_category = false;
  e.reason = "timeout";
  e.severity = "partial";
  e.strategy = "cache";
  CHECK_OK(bw_event_log_record(log, &e));
  e.kind = BW_EVENT_KIND_ALERT;
  e.severity = "warning";
  e.reason = "breaker_opened";
  e.strategy = NULL;
  CHECK_OK(bw_event_log_record(log, &e)); /* drops the oldest */
  size_t len = 0;
  uint64_t last = 0;
  CHECK_OK(bw_event_log_len(log, &len, &last));
  CHECK(len == 3 && last == 4);
  /* Bad events change nothing. */
  e.severity = "loud";
  CHECK_RC(bw_event_log_record(log, &e), BW_RESULT_INVALID_ARGUMENT);
  e.severity = NULL;
  e.has_from = true;
  e.from = (bw_state)17;
  CHECK_RC(bw_event_log_record(log, &e), BW_RESULT_INVALID_ARGUMENT);
  e.has_from = false;
  e.has_category = true;
  e.category = (bw_category)10;
  CHECK_RC(bw_event_log_record(log, &e), BW_RESULT_INVALID_ARGUMENT);
  e.has_category = false;
  e.component = NULL;
  CHECK_RC(bw_event_log_record(log, &e), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_event_log_record(log, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_event_log_len(log, &len, &last));
  CHECK(len == 3 && last == 4);

  /* Queries, newest first. */
  bw_event_list *list = NULL;
  CHECK_OK(bw_event_log_query(log, NULL, &list));
  CHECK_OK(bw_event_list_len(list, &len));
  CHECK(len == 3);
  bw_event got;
  uint64_t seq = 0;
  CHECK_OK(bw_event_list_get(list, 0, &got, &seq));
  CHECK(seq == 4 && got.kind == BW_EVENT_KIND_ALERT);
  CHECK_STR(got.severity, "warning");
  CHECK_OK(bw_event_list_get(list, 1, &got, NULL));
  CHECK_STR(got.strategy, "cache");
  CHECK_OK(bw_event_list_get(list, 2, &got, &seq));
  CHECK(seq == 2 && got.has_category && got.category == BW_CATEGORY_TIMEOUT && got.duration_ms == 12);
  CHECK(got.component_len == 2 && !strcmp(got.component, "db"));
  CHECK_RC(bw_event_list_get(list, 3, &got, &seq), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_event_list_get(list, 0, NULL, &seq), BW_RESULT_NULL_ARGUMENT);
  bw_event_list_free(list);
  bw_event_query q;
  memset(&q, 0, sizeof q);
  q.component.ptr = "api";
  q.component.len = 3;
  CHECK_OK(bw_event_log_query(log, &q, &list));
  CHECK_OK(bw_event_list_len(list, &len));
  CHECK(len == 2);
  bw_event_list_free(list);
  bw_event_kind kinds[] = {BW_EVENT_KIND_FAILURE, BW_EVENT_KIND_ALERT};
  memset(&q, 0, sizeof q);
  q.kinds = kinds;
  q.kinds_len = 2;
  q.has_limit = true;
  q.limit = 1;
  CHECK_OK(bw_event_log_query(log, &q, &list));
  CHECK_OK(bw_event_list_len(list, &len));
  CHECK(len == 1);
  bw_event_list_free(list);
  memset(&q, 0, sizeof q);
  q.has_after_seq = true;
  q.after_seq = 3;
  CHECK_OK(bw_event_log_query(log, &q, &list));
  CHECK_OK(bw_event_list_len(list, &len));
  CHECK(len == 1);
  bw_event_list_free(list);
  bw_event_kind bad_kinds[] = {(bw_event_kind)255};
  q.kinds = bad_kinds;
  q.kinds_len = 1;
  CHECK_RC(bw_event_log_query(log, &q, &list), BW_RESULT_INVALID_ARGUMENT);
  q.kinds = NULL;
  CHECK_RC(bw_event_log_query(log, &q, &list), BW_RESULT_NULL_ARGUMENT);
  q.kinds_len = 0;
  q.component.ptr = BAD_UTF8;
  q.component.len = sizeof BAD_UTF8;
  CHECK_RC(bw_event_log_query(log, &q, &list), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_event_log_query(log, NULL, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_event_log_clear(log));
  CHECK_OK(bw_event_log_len(log, &len, NULL));
  CHECK(len == 0);
  CHECK_RC(bw_event_log_clear(NULL), BW_RESULT_NULL_ARGUMENT);
  bw_event_list_free(NULL);
  bw_event_log_free(log);
  bw_event_log_free(NULL);
}

/* Forwards a breaker's events to an alert manager (C has no bus). */
static void to_alerts(void *userdata, const bw_event *e) { bw_alerts_observe(userdata, e); }

static void test_alerts(void) {
  CHECK_STR(bw_alert_severity_name(BW_ALERT_CRITICAL), "critical");
  CHECK(bw_alert_severity_name((bw_alert_severity)3) == NULL);
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_alerts *a = NULL;
  CHECK_RC(bw_alerts_from_json(S("{\"rules\": [{\"condition\": \"breaker_exploded\"}]}"), clock, &a),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "rules[0].condition");
  CHECK_RC(bw_alerts_from_json(S("{\"rules\": {}}"), clock, &a), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "rules");
  CHECK_RC(bw_alerts_from_json(BAD_UTF8, sizeof BAD_UTF8, clock, &a), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_alerts_new(clock, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(a == NULL);
  CHECK_OK(bw_alerts_new(clock, &a));
  seen_events ev;
  memset(&ev, 0, sizeof ev);
  uint64_t id = 0;
  CHECK_OK(bw_alerts_on(a, BW_EVENT_KIND_ALERT, remember, &ev, &id));

  /* A breaker opening, forwarded from its callback: one alert per outage. */
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker_config_set_failure_threshold(cfg, 1);
  bw_breaker *b = NULL;
  CHECK_OK(bw_breaker_new(S("db"), cfg, clock, &b));
  bw_breaker_config_free(cfg);
  CHECK_OK(bw_breaker_on(b, BW_EVENT_KIND_STATE_CHANGE, to_alerts, a, NULL));
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(b, &p, NULL));
  CHECK_OK(bw_breaker_record(b, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
  CHECK(ev.n == 1 && ev.kinds[0] == BW_EVENT_KIND_ALERT);
  CHECK_STR(ev.reasons[0], "breaker_opened");
  CHECK_STR(ev.severities[0], "warning");
  CHECK_STR(ev.components[0], "db");
  CHECK_OK(bw_breaker_force_open(b)); /* forced_open: not another outage */
  CHECK(ev.n == 1);
  bw_alert_list *list = NULL;
  CHECK_OK(bw_alerts_active(a, &list));
  size_t n = 0;
  CHECK_OK(bw_alert_list_len(list, &n));
  CHECK(n == 1);
  bw_alert al;
  CHECK_OK(bw_alert_list_get(list, 0, &al));
  CHECK(al.id == 1 && al.active && !al.has_resolved && al.severity == BW_ALERT_WARNING);
  CHECK_STR(al.rule, "breaker_opened");
  CHECK_STR(al.condition, "breaker_opened");
  CHECK(al.component_len == 2 && !strcmp(al.component, "db"));
  CHECK(al.raised_at_ms == 1767225600000ULL);
  CHECK_RC(bw_alert_list_get(list, 1, &al), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_alert_list_get(list, 0, NULL), BW_RESULT_NULL_ARGUMENT);
  bw_alert_list_free(list);
  CHECK_OK(bw_breaker_reset(b)); /* closed: re-armed, the alert resolved */
  CHECK_OK(bw_alerts_history(a, 10, &list));
  CHECK_OK(bw_alert_list_get(list, 0, &al));
  CHECK(!al.active && al.has_resolved);
  bw_alert_list_free(list);
  bw_alert_list_free(NULL);

  /* Health reports through the health registry, SLO budgets directly. */
  bw_health *h = NULL;
  CHECK_OK(bw_health_from_json(S("{\"failureThreshold\": 1}"), clock, &h));
  CHECK_OK(bw_health_set_alerts(h, a));
  CHECK_OK(bw_health_register(h, S("disk"), NULL));
  bw_check_result r;
  memset(&r, 0, sizeof r);
  r.status = BW_HEALTH_CRITICAL;
  for (int i = 0; i < 3; i++) CHECK_OK(bw_health_report(h, S("disk"), &r, NULL));
  CHECK(ev.n == 2);
  CHECK_STR(ev.reasons[1], "health_check_failing");
  CHECK_STR(ev.severities[1], "critical");
  CHECK(ev.attempts[1] == 3);
  CHECK_OK(bw_health_set_alerts(h, NULL));
  bw_slo *slo = NULL;
  CHECK_OK(bw_slo_new(S("api"), NULL, clock, &slo));
  CHECK_OK(bw_slo_record_counts(slo, 1000, 1));
  CHECK_OK(bw_alerts_observe_slo(a, slo));
  CHECK(ev.n == 3);
  CHECK_STR(ev.reasons[2], "error_budget");
  bw_alert_stats stats;
  CHECK_OK(bw_alerts_stats(a, &stats));
  CHECK(stats.raised_total == 3 && stats.raised_by_severity[BW_ALERT_WARNING] == 2);
  CHECK(stats.active_by_severity[BW_ALERT_CRITICAL] == 1);
  CHECK_RC(bw_alerts_observe_slo(a, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_alerts_observe(a, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_alerts_stats(NULL, &stats), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_alerts_active(a, NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_OK(bw_alerts_off(a, id));
  CHECK_RC(bw_alerts_off(a, id), BW_RESULT_INVALID_ARGUMENT);
  /* No rules: no alerts. */
  bw_alerts *none = NULL;
  CHECK_OK(bw_alerts_from_json(S("{\"rules\": []}"), clock, &none));
  CHECK_OK(bw_alerts_observe_slo(none, slo));
  CHECK_OK(bw_alerts_stats(none, &stats));
  CHECK(stats.raised_total == 0);
  bw_alerts_free(none);
  bw_slo_free(slo);
  bw_health_free(h);
  bw_breaker_free(b); /* the breaker's callback held `a`: free the breaker first */
  bw_alerts_free(a);
  bw_alerts_free(NULL);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- documents */

static void test_documents(void) {
  bw_document *d = NULL;
  CHECK_RC(bw_document_from_json(S("{\"circuitBreakers\": {\"defaults\": {\"failureTreshold\": 3}}}"), &d),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "failureTreshold");
  CHECK_STR(bw_last_error_path(), "circuitBreakers.defaults.failureTreshold");
  CHECK_STR(bw_last_error_path_at(0), "circuitBreakers.defaults.failureTreshold");
  CHECK(strstr(bw_last_error_allowed(), "failureThreshold") != NULL);
  CHECK_RC(bw_document_from_json(S("{\"circuitBreakers\": {\"agentSpecific\": {\"architect\": "
                                   "{\"window\": {\"size\": 0}}}}}"),
                                 &d),
           BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "window.size");
  CHECK_STR(bw_last_error_path(), "circuitBreakers.agentSpecific.architect.window.size");
  CHECK_RC(bw_document_from_json(S("[1]"), &d), BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_document_from_json(S("{"), &d), BW_RESULT_CONFIG_INVALID);
  CHECK_RC(bw_document_from_json(BAD_UTF8, sizeof BAD_UTF8, &d), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_document_from_json(S("{}"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK(d == NULL);
  static const char DOC[] =
      "{\"circuitBreakers\": {\"defaults\": {\"failureThreshold\": 4},"
      "  \"agentSpecific\": {\"architect\": {\"failureThreshold\": 2}, \"coder\": {}}},"
      " \"rate_limiters\": {\"defaults\": {\"max_requests\": 7}},"
      " \"bulkheads\": {\"enabled\": false},"
      " \"degradationRules\": [{\"conditions\": {\"reasons\": [\"timeout\"]}, \"strategy\": \"cache\"}],"
      " \"monitoring\": {\"port\": 9000}}";
  CHECK_OK(bw_document_from_json(DOC, strlen(DOC), &d));
  char buf[1024];
  size_t needed = 0;
  CHECK_OK(bw_document_config_json(d, BW_COMPONENT_BREAKER, S("architect"), buf, sizeof buf, &needed));
  CHECK(strstr(buf, "\"failure_threshold\":2") != NULL && strlen(buf) + 1 == needed);
  CHECK_OK(bw_document_defaults_json(d, BW_COMPONENT_BREAKER, buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"failure_threshold\":4") != NULL);
  CHECK_OK(bw_document_config_json(d, BW_COMPONENT_RATE_LIMITER, S("x"), buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"max_requests\":7") != NULL);
  CHECK_OK(bw_document_defaults_json(d, BW_COMPONENT_RETRY, buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"max_attempts\":3") != NULL);
  CHECK_RC(bw_document_config_json(d, BW_COMPONENT_BREAKER, S("architect"), buf, 4, &needed),
           BW_RESULT_BUFFER_TOO_SMALL);
  CHECK(needed > 4);
  CHECK_RC(bw_document_config_json(d, (bw_component_kind)4, S("x"), buf, sizeof buf, NULL),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_document_config_json(d, BW_COMPONENT_BREAKER, BAD_UTF8, sizeof BAD_UTF8, buf, sizeof buf, NULL),
           BW_RESULT_INVALID_ARGUMENT);
  CHECK_STR(bw_component_kind_name(BW_COMPONENT_RATE_LIMITER), "rate_limiter");
  CHECK(bw_component_kind_name((bw_component_kind)4) == NULL);
  bool enabled = true;
  CHECK_OK(bw_document_section_enabled(d, BW_COMPONENT_BULKHEAD, &enabled));
  CHECK(!enabled);
  CHECK_OK(bw_document_section_enabled(d, BW_COMPONENT_BREAKER, &enabled));
  CHECK(enabled);
  bw_string_list *names = NULL;
  CHECK_OK(bw_document_overrides(d, BW_COMPONENT_BREAKER, &names));
  const char *s = NULL;
  CHECK_OK(bw_string_list_get(names, 1, &s, NULL));
  CHECK_STR(s, "coder");
  bw_string_list_free(names);
  CHECK_OK(bw_document_monitoring_json(d, buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"port\":9000") != NULL);
  CHECK_OK(bw_document_section_json(d, S("degradation_rules"), buf, sizeof buf, NULL));
  CHECK(buf[0] == '[' && strstr(buf, "\"strategy\":\"cache\""));
  CHECK_OK(bw_document_section_json(d, S("slo"), buf, sizeof buf, NULL));
  CHECK_STR(buf, "null");
  CHECK_RC(bw_document_section_json(d, S("breakers"), buf, sizeof buf, NULL), BW_RESULT_INVALID_ARGUMENT);
  /* Typed configs. */
  bw_breaker_config *bc = NULL;
  CHECK_OK(bw_document_breaker_config(d, S("architect"), &bc));
  bw_breaker_config_values bv;
  CHECK_OK(bw_breaker_config_get(bc, &bv));
  CHECK(bv.failure_threshold == 2);
  bw_breaker_config_free(bc);
  bw_retry_config *rc = NULL;
  CHECK_OK(bw_document_retry_config(d, S("architect"), &rc));
  bw_retry_config_free(rc);
  bw_rate_limiter_config *lc = NULL;
  CHECK_OK(bw_document_rate_limiter_config(d, S("architect"), &lc));
  bw_rate_limiter_config_values lv;
  CHECK_OK(bw_rate_limiter_config_get(lc, &lv));
  CHECK(lv.max_requests == 7);
  bw_rate_limiter_config_free(lc);
  bw_bulkhead_config *hc = NULL;
  CHECK_OK(bw_document_bulkhead_config(d, S("architect"), &hc));
  bw_bulkhead_config_free(hc);
  CHECK_RC(bw_document_breaker_config(d, S("a"), NULL), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_document_breaker_config(NULL, S("a"), &bc), BW_RESULT_NULL_ARGUMENT);

  /* Environment variables, given explicitly, applied in name order. */
  bw_env_var vars[2];
  vars[0].name.ptr = "RETRY_MAX_ATTEMPTS";
  vars[0].name.len = strlen(vars[0].name.ptr);
  vars[0].value.ptr = "2.5";
  vars[0].value.len = 3;
  vars[1].name.ptr = "MONITORING_PORT";
  vars[1].name.len = strlen(vars[1].name.ptr);
  vars[1].value.ptr = "x";
  vars[1].value.len = 1;
  bw_document *d2 = NULL;
  CHECK_RC(bw_document_with_env(d, vars, 2, &d2), BW_RESULT_CONFIG_INVALID);
  CHECK(bw_last_error_count() == 2);
  CHECK_STR(bw_last_error_key_at(0), "MONITORING_PORT");
  CHECK_STR(bw_last_error_key_at(1), "RETRY_MAX_ATTEMPTS");
  CHECK_STR(bw_last_error_path_at(1), "RETRY_MAX_ATTEMPTS");
  vars[0].value.ptr = "5";
  vars[0].value.len = 1;
  CHECK_OK(bw_document_with_env(d, vars, 1, &d2));
  CHECK_OK(bw_document_defaults_json(d2, BW_COMPONENT_RETRY, buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"max_attempts\":5") != NULL);
  bw_document_free(d2);
  CHECK_OK(bw_document_with_env(d, NULL, 0, &d2)); /* no variables: the same document */
  bw_document_free(d2);
  CHECK_RC(bw_document_with_env(d, NULL, 1, &d2), BW_RESULT_NULL_ARGUMENT);
  vars[0].name.ptr = BAD_UTF8;
  vars[0].name.len = sizeof BAD_UTF8;
  CHECK_RC(bw_document_with_env(d, vars, 1, &d2), BW_RESULT_INVALID_ARGUMENT);
  bw_document_free(d);

  /* Files: TOML when the path ends in .toml. */
  char path[64];
  snprintf(path, sizeof path, "/tmp/bw_doc_%ld.toml", (long)getpid());
  FILE *fp = fopen(path, "w");
  CHECK(fp != NULL);
  if (!fp) return;
  fputs("[circuit_breakers.defaults]\nfailure_threshold = 9\n", fp);
  fclose(fp);
  CHECK_OK(bw_document_from_file(path, strlen(path), &d));
  CHECK_OK(bw_document_defaults_json(d, BW_COMPONENT_BREAKER, buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"failure_threshold\":9") != NULL);
  bw_document_free(d);
  unlink(path);
  CHECK_RC(bw_document_from_file(S("/nonexistent/bw.json"), &d), BW_RESULT_INVALID_ARGUMENT);
  bw_document_free(NULL);
}

/* ---------------------------------------------------------------- registry read-back */

static void test_registry_read_back(void) {
  bw_manual_clock *clock = bw_manual_clock_new();
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.clock = clock;
  static const char DOC[] =
      "{\"circuitBreakers\": {\"defaults\": {\"failureThreshold\": 1}, \"agentSpecific\": "
      "{\"b\": {\"failureThreshold\": 3}}},"
      " \"rate_limiters\": {\"defaults\": {\"max_requests\": 2}},"
      " \"bulkheads\": {\"defaults\": {\"max_concurrent\": 1}},"
      " \"degradation\": {\"autoRecovery\": false},"
      " \"degradationRules\": [{\"conditions\": {\"reasons\": [\"timeout\"]}, \"strategy\": \"cache\"}],"
      " \"healthChecks\": {\"failureThreshold\": 1, \"interval\": 1000}}";
  bw_registry *reg = NULL;
  CHECK_OK(bw_registry_from_json(DOC, strlen(DOC), &opts, &reg));
  bw_breaker *a = NULL, *b = NULL, *a2 = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("b"), &b));
  CHECK_OK(bw_registry_breaker(reg, S("a"), &a));
  CHECK_OK(bw_registry_breaker(reg, S("a"), &a2));
  bool same = false;
  CHECK_OK(bw_breaker_same(a, a2, &same));
  CHECK(same);
  bw_rate_limiter *l = NULL;
  CHECK_OK(bw_registry_rate_limiter(reg, S("a"), &l));
  bw_rejection rej;
  CHECK_OK(bw_rate_limiter_try_acquire(l, &rej));
  CHECK_OK(bw_rate_limiter_try_acquire(l, &rej));
  CHECK_RC(bw_rate_limiter_try_acquire(l, &rej), BW_RESULT_RATE_LIMITED);
  bw_bulkhead *bh = NULL;
  CHECK_OK(bw_registry_bulkhead(reg, S("a"), &bh));
  bw_retry *r = NULL;
  CHECK_OK(bw_registry_retry(reg, S("a"), &r));

  /* Names by kind, sorted. */
  bw_string_list *names = NULL;
  CHECK_OK(bw_registry_names(reg, BW_COMPONENT_BREAKER, &names));
  size_t n = 0;
  const char *s = NULL;
  bw_string_list_len(names, &n);
  CHECK(n == 2);
  bw_string_list_get(names, 0, &s, NULL);
  CHECK_STR(s, "a");
  bw_string_list_free(names);
  for (int k = BW_COMPONENT_RETRY; k <= BW_COMPONENT_BULKHEAD; k++) {
    CHECK_OK(bw_registry_names(reg, (bw_component_kind)k, &names));
    bw_string_list_len(names, &n);
    CHECK(n == 1);
    bw_string_list_free(names);
  }
  CHECK_RC(bw_registry_names(reg, (bw_component_kind)9, &names), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_registry_names(reg, BW_COMPONENT_BREAKER, NULL), BW_RESULT_NULL_ARGUMENT);

  /* Snapshot by name; find without making. */
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(a, &p, NULL));
  CHECK_OK(bw_breaker_record(a, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER));
  bw_snapshot snap;
  bool found = false;
  CHECK_OK(bw_registry_breaker_snapshot(reg, S("a"), &snap, &found));
  CHECK(found && snap.state == BW_STATE_OPEN && snap.failures_total == 1);
  CHECK_OK(bw_registry_breaker_snapshot(reg, S("zzz"), &snap, &found));
  CHECK(!found);
  CHECK_RC(bw_registry_breaker_snapshot(reg, S("a"), NULL, &found), BW_RESULT_NULL_ARGUMENT);
  bw_breaker *f = NULL;
  CHECK_OK(bw_registry_find_breaker(reg, S("zzz"), &f));
  CHECK(f == NULL);
  CHECK_OK(bw_registry_find_breaker(reg, S("b"), &f));
  CHECK(f != NULL);
  CHECK_OK(bw_breaker_same(f, b, &same));
  CHECK(same);
  bw_breaker_free(f);
  CHECK_OK(bw_registry_names(reg, BW_COMPONENT_BREAKER, &names));
  bw_string_list_len(names, &n);
  CHECK(n == 2); /* nothing was made */
  bw_string_list_free(names);

  /* Config read-back for a name. */
  bw_breaker_config *bc = NULL;
  CHECK_OK(bw_registry_breaker_config(reg, S("b"), &bc));
  bw_breaker_config_values v;
  CHECK_OK(bw_breaker_config_get(bc, &v));
  CHECK(v.failure_threshold == 3);
  bw_breaker_config_free(bc);
  bw_retry_config *rc = NULL;
  CHECK_OK(bw_registry_retry_config(reg, S("b"), &rc));
  bw_retry_config_free(rc);
  CHECK_RC(bw_registry_breaker_config(reg, BAD_UTF8, sizeof BAD_UTF8, &bc), BW_RESULT_INVALID_ARGUMENT);
  CHECK_RC(bw_registry_retry_config(reg, S("b"), NULL), BW_RESULT_NULL_ARGUMENT);
  bw_document *d = NULL;
  CHECK_OK(bw_registry_document(reg, &d));
  char buf[512];
  CHECK_OK(bw_document_config_json(d, BW_COMPONENT_BULKHEAD, S("a"), buf, sizeof buf, NULL));
  CHECK(strstr(buf, "\"max_concurrent\":1") != NULL);
  bw_document_free(d);
  CHECK_RC(bw_registry_document(NULL, &d), BW_RESULT_NULL_ARGUMENT);

  /* A degradation manager and a health registry from the document's sections. */
  bw_degradation *m = NULL;
  CHECK_OK(bw_registry_degradation(reg, &m));
  bw_degradation_settings st;
  CHECK_OK(bw_degradation_get_settings(m, &st));
  CHECK(!st.auto_recovery && st.rules == 1);
  bw_degradation_free(m);
  bw_health *h = NULL;
  CHECK_OK(bw_registry_health(reg, &h));
  CHECK_OK(bw_health_register(h, S("db"), NULL));
  bw_check_result res;
  memset(&res, 0, sizeof res);
  res.status = BW_HEALTH_UNHEALTHY;
  bw_check_view view;
  CHECK_OK(bw_health_report(h, S("db"), &res, &view));
  CHECK(view.failing); /* failureThreshold 1 from the document */
  bw_health_free(h);
  CHECK_OK(bw_registry_reload_json(reg, S("{\"degradationRules\": {}}")));
  CHECK_RC(bw_registry_degradation(reg, &m), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "degradationRules");
  CHECK_OK(bw_registry_reload_json(reg, S("{\"health_checks\": {\"interval\": 0}}")));
  CHECK_RC(bw_registry_health(reg, &h), BW_RESULT_CONFIG_INVALID);
  CHECK_STR(bw_last_error_key(), "interval");
  CHECK_STR(bw_last_error_path(), "health_checks.interval");
  CHECK_RC(bw_registry_health(reg, NULL), BW_RESULT_NULL_ARGUMENT);

  bw_retry_free(r);
  bw_bulkhead_free(bh);
  bw_rate_limiter_free(l);
  bw_breaker_free(a);
  bw_breaker_free(a2);
  bw_breaker_free(b);
  bw_registry_free(reg);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- Prometheus text */

static char *render(const bw_metrics_sources *src) {
  size_t needed = 0;
  bw_result rc = bw_prometheus(src, NULL, 0, &needed);
  if (rc != BW_RESULT_BUFFER_TOO_SMALL) {
    CHECK_OK(rc);
    return NULL;
  }
  char *buf = malloc(needed);
  CHECK_OK(bw_prometheus(src, buf, needed, &needed));
  CHECK(strlen(buf) + 1 == needed);
  return buf;
}

static void test_prometheus(void) {
  CHECK_STR(bw_prometheus_content_type(), "text/plain; version=0.0.4; charset=utf-8");
  bw_metrics_sources src;
  memset(&src, 0, sizeof src);
  /* Nothing to show: the empty text, which needs 1 byte (the NUL). */
  size_t needed = 0;
  CHECK_RC(bw_prometheus(&src, NULL, 0, &needed), BW_RESULT_BUFFER_TOO_SMALL);
  CHECK(needed == 1);
  char one[1] = {'x'};
  CHECK_OK(bw_prometheus(&src, one, 1, &needed));
  CHECK(one[0] == '\0');
  CHECK_RC(bw_prometheus(NULL, one, 1, &needed), BW_RESULT_NULL_ARGUMENT);
  CHECK_RC(bw_prometheus(&src, NULL, 10, &needed), BW_RESULT_NULL_ARGUMENT);

  bw_manual_clock *clock = bw_manual_clock_new();
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.clock = clock;
  bw_registry *reg = NULL;
  CHECK_OK(bw_registry_from_json(S("{\"rate_limiters\": {\"defaults\": {\"max_requests\": 5}},"
                                   " \"bulkheads\": {\"defaults\": {\"max_concurrent\": 2}}}"),
                                 &opts, &reg));
  bw_breaker *rb = NULL;
  CHECK_OK(bw_registry_breaker(reg, S("payments"), &rb));
  bw_rate_limiter *rl = NULL;
  CHECK_OK(bw_registry_rate_limiter(reg, S("payments"), &rl));
  bw_bulkhead *bh = NULL;
  CHECK_OK(bw_registry_bulkhead(reg, S("payments"), &bh));
  bw_breaker *extra = new_breaker("search", clock);
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(extra, &p, NULL));
  CHECK_OK(bw_manual_clock_advance_ms(clock, 3));
  CHECK_OK(bw_breaker_record(extra, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN));
  bw_policy_parts parts;
  memset(&parts, 0, sizeof parts);
  parts.breaker = extra;
  bw_policy *policy = NULL;
  CHECK_OK(bw_policy_new(S("search"), &parts, &policy));
  bw_degradation *m = NULL;
  CHECK_OK(bw_degradation_new(clock, &m));
  CHECK_OK(bw_degradation_trigger(m, S("payments"), BW_TRIGGER_TIMEOUT, NULL, NULL));
  bw_health *h = NULL;
  CHECK_OK(bw_health_new(clock, &h));
  CHECK_OK(bw_health_register(h, S("db"), NULL));
  bw_slo *slo = NULL;
  CHECK_OK(bw_slo_new(S("search"), NULL, clock, &slo));
  CHECK_OK(bw_slo_record_counts(slo, 9, 1));
  bw_alerts *alerts = NULL;
  CHECK_OK(bw_alerts_new(clock, &alerts));

  const bw_breaker *breakers[] = {extra, rb}; /* payments twice: shown once */
  const bw_policy *policies[] = {policy};
  const bw_slo *slos[] = {slo};
  src.registry = reg;
  src.breakers = breakers;
  src.breakers_len = 2;
  src.policies = policies;
  src.policies_len = 1;
  src.degradation = m;
  src.health = h;
  src.slos = slos;
  src.slos_len = 1;
  src.alerts = alerts;
  char *text = render(&src);
  CHECK(text != NULL);
  if (text) {
    CHECK(strstr(text, "breakwater_circuit_breaker_state{component=\"payments\",state=\"closed\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_circuit_breaker_calls_total{component=\"search\",outcome=\"success\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_circuit_breaker_call_duration_seconds_bucket{component=\"search\",le=\"0.005\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_rate_limiter_max_requests{component=\"payments\"} 5\n") != NULL);
    CHECK(strstr(text, "breakwater_rate_limiter_tokens_available{component=\"payments\"} 5\n") != NULL);
    CHECK(strstr(text, "breakwater_bulkhead_max_concurrent{component=\"payments\"} 2\n") != NULL);
    CHECK(strstr(text, "breakwater_policy_attempts_total{component=\"search\"} 0\n") != NULL);
    CHECK(strstr(text, "breakwater_degradation_active{component=\"payments\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_degradation_level{component=\"payments\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_degradation_triggered_total{component=\"payments\"} 1\n") != NULL);
    CHECK(strstr(text, "breakwater_health_") != NULL);
    CHECK(strstr(text, "breakwater_slo_") != NULL);
    CHECK(strstr(text, "breakwater_alerts_") != NULL);
    /* payments' state gauge appears once although the breaker was listed twice */
    const char *first = strstr(text, "breakwater_circuit_breaker_state{component=\"payments\",state=\"open\"}");
    CHECK(first != NULL && strstr(first + 1, "breakwater_circuit_breaker_state{component=\"payments\",state=\"open\"}") == NULL);
    /* Too small by one: nothing written, the size needed. */
    size_t len = strlen(text);
    char *small = malloc(len);
    memset(small, 'y', len);
    CHECK_RC(bw_prometheus(&src, small, len, &needed), BW_RESULT_BUFFER_TOO_SMALL);
    CHECK(needed == len + 1 && small[0] == 'y');
    CHECK_MSG_HAS("needs");
    free(small);
    /* out_needed may be NULL. */
    char *big = malloc(len + 64);
    CHECK_OK(bw_prometheus(&src, big, len + 64, NULL));
    CHECK(strcmp(big, text) == 0);
    free(big);
    free(text);
  }
  /* A NULL handle in an array. */
  const bw_breaker *holes[] = {extra, NULL};
  src.breakers = holes;
  CHECK_RC(bw_prometheus(&src, NULL, 0, &needed), BW_RESULT_NULL_ARGUMENT);
  CHECK_MSG_HAS("sources.breakers[1]");
  src.breakers = NULL;
  CHECK_RC(bw_prometheus(&src, NULL, 0, &needed), BW_RESULT_NULL_ARGUMENT); /* NULL with a count */

  bw_alerts_free(alerts);
  bw_slo_free(slo);
  bw_health_free(h);
  bw_degradation_free(m);
  bw_policy_free(policy);
  bw_breaker_free(extra);
  bw_bulkhead_free(bh);
  bw_rate_limiter_free(rl);
  bw_breaker_free(rb);
  bw_registry_free(reg);
  bw_manual_clock_free(clock);
}

int main(void) {
  test_results_and_errors();
  test_string_lists();
  test_config_read_back();
  test_cache();
  test_degradation_names();
  test_degradation_manager();
  test_policy_fallback_step();
  test_health();
  test_slo();
  test_event_log();
  test_alerts();
  test_documents();
  test_registry_read_back();
  test_prometheus();
  CHECK_DONE("test_components");
}
