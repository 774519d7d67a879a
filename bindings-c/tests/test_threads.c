/* Four threads on one breaker, with exact counts: every outcome recorded once, every
 * rejection counted once, every event delivered once, exactly half_open_max_calls probes
 * admitted out of a stampede, and thread-local error messages that do not mix. Then four
 * threads sharing a response cache, a degradation manager and an SLO, with exact counts. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "breakwater.h"
#include "check.h"

#define THREADS 4
#define ITERATIONS 20000

static bw_breaker *breaker;
static bw_manual_clock *clock_;
static pthread_barrier_t barrier;
static atomic_ulong events_success, events_failure, events_ignored, events_rejected;
static atomic_int thread_errors;

static void count_event(void *userdata, const bw_event *e) {
  (void)userdata;
  switch (e->kind) {
    case BW_EVENT_KIND_SUCCESS: atomic_fetch_add(&events_success, 1); break;
    case BW_EVENT_KIND_FAILURE: atomic_fetch_add(&events_failure, 1); break;
    case BW_EVENT_KIND_IGNORED: atomic_fetch_add(&events_ignored, 1); break;
    case BW_EVENT_KIND_CALL_REJECTED: atomic_fetch_add(&events_rejected, 1); break;
    default: break;
  }
}

/* Outcomes by iteration: success, failure(server), ignored(client failure), release. */
static void *record_loop(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < ITERATIONS; i++) {
    bw_permit p;
    if (bw_breaker_try_acquire(breaker, &p, NULL) != BW_OK) {
      atomic_fetch_add(&thread_errors, 1);
      continue;
    }
    bw_result rc;
    switch (i % 4) {
      case 0: rc = bw_breaker_record(breaker, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN); break;
      case 1: rc = bw_breaker_record(breaker, p, BW_OUTCOME_FAILURE, BW_CATEGORY_SERVER); break;
      case 2: rc = bw_breaker_record(breaker, p, BW_OUTCOME_FAILURE, BW_CATEGORY_CLIENT); break;
      default: rc = bw_breaker_release(breaker, p); break;
    }
    if (rc != BW_OK) atomic_fetch_add(&thread_errors, 1);
  }
  return NULL;
}

static void *reject_loop(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < ITERATIONS; i++) {
    bw_permit p;
    bw_rejection r;
    if (bw_breaker_try_acquire(breaker, &p, &r) != BW_RESULT_CIRCUIT_OPEN ||
        r.state != BW_STATE_FORCED_OPEN) {
      atomic_fetch_add(&thread_errors, 1);
    }
  }
  return NULL;
}

static atomic_int probes_admitted;

static void *stampede(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  bw_permit p;
  bw_rejection r;
  for (int i = 0; i < 100; i++) {
    bw_result rc = bw_breaker_try_acquire(breaker, &p, &r);
    if (rc == BW_OK) {
      atomic_fetch_add(&probes_admitted, 1); /* keep the slot: never handed back */
    } else if (rc != BW_RESULT_CIRCUIT_OPEN || r.state != BW_STATE_HALF_OPEN) {
      atomic_fetch_add(&thread_errors, 1);
    }
  }
  return NULL;
}

/* Each thread's last error stays its own. */
static void *own_errors(void *arg) {
  int n = *(int *)arg;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < 1000; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"thread_%d\": 1}", n);
    bw_breaker_config *cfg = NULL;
    if (bw_breaker_config_from_json(json, strlen(json), &cfg) != BW_RESULT_CONFIG_INVALID) {
      atomic_fetch_add(&thread_errors, 1);
    }
    char want[32];
    snprintf(want, sizeof want, "thread_%d", n);
    const char *key = bw_last_error_key();
    if (!key || strcmp(key, want) != 0) atomic_fetch_add(&thread_errors, 1);
  }
  return NULL;
}

/* Shared by the component section. */
#define SHARED_ITERATIONS 2000
static bw_cache *cache;
static bw_degradation *manager;
static bw_slo *slo;
static atomic_ulong fallback_events;

static void count_fallbacks(void *userdata, const bw_event *e) {
  (void)userdata;
  if (e->kind == BW_EVENT_KIND_FALLBACK) atomic_fetch_add(&fallback_events, 1);
}

static void *shared_components(void *arg) {
  long t = (long)(intptr_t)arg;
  char key[32];
  bw_fallback_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.component.ptr = "svc";
  ctx.component.len = 3;
  ctx.trigger = BW_TRIGGER_TIMEOUT;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < SHARED_ITERATIONS; i++) {
    int n = snprintf(key, sizeof key, "t%ld-%d", t, i % 10);
    uint8_t v = (uint8_t)i;
    bw_bytes *got = NULL;
    if (bw_cache_put(cache, key, (size_t)n, &v, 1, NULL) != BW_OK) atomic_fetch_add(&thread_errors, 1);
    if (bw_cache_get(cache, key, (size_t)n, &got) != BW_OK || got == NULL) atomic_fetch_add(&thread_errors, 1);
    const uint8_t *data = NULL;
    size_t len = 0;
    if (got && (bw_bytes_data(got, &data, &len) != BW_OK || len != 1 || data[0] != v))
      atomic_fetch_add(&thread_errors, 1);
    bw_bytes_free(got);
    bw_fallback_choice c;
    if (bw_degradation_select(manager, &ctx, &c) != BW_OK || !c.has_strategy) atomic_fetch_add(&thread_errors, 1);
    if (bw_slo_record(slo, i % 2 == 0) != BW_OK) atomic_fetch_add(&thread_errors, 1);
  }
  return NULL;
}

static void run_indexed(void *(*fn)(void *)) {
  pthread_t th[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
}

static void run(void *(*fn)(void *)) {
  pthread_t t[THREADS];
  int ids[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ids[i] = i;
    CHECK(pthread_create(&t[i], NULL, fn, &ids[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
}

int main(void) {
  CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
  clock_ = bw_manual_clock_new();
  bw_breaker_config *cfg = bw_breaker_config_new();
  CHECK_OK(bw_breaker_config_set_failure_threshold(cfg, 1));
  CHECK_OK(bw_breaker_config_set_recovery_timeout_ms(cfg, 1000));
  CHECK_OK(bw_breaker_config_set_half_open_max_calls(cfg, 3));
  CHECK_OK(bw_breaker_new("shared", 6, cfg, clock_, &breaker));
  bw_breaker_config_free(cfg);
  CHECK_OK(bw_breaker_on(breaker, BW_EVENT_KIND_ALL, count_event, NULL, NULL));

  /* 1. metrics_only records everything and never trips: exact totals. */
  CHECK_OK(bw_breaker_metrics_only(breaker));
  run(record_loop);
  const uint64_t quarter = (uint64_t)THREADS * ITERATIONS / 4;
  bw_snapshot s;
  CHECK_OK(bw_breaker_snapshot(breaker, &s));
  CHECK(s.state == BW_STATE_METRICS_ONLY);
  CHECK(s.successes_total == quarter);
  CHECK(s.failures_total == quarter);
  CHECK(s.ignored_total == quarter);
  CHECK(s.calls_total == 2 * quarter);
  CHECK(s.calls == 2 * quarter && s.failures == quarter);
  CHECK(s.rejected_total == 0);
  CHECK(atomic_load(&events_success) == quarter);
  CHECK(atomic_load(&events_failure) == quarter);
  CHECK(atomic_load(&events_ignored) == quarter);
  printf("metrics_only: %llu successes, %llu failures, %llu ignored over %d threads\n",
         (unsigned long long)s.successes_total, (unsigned long long)s.failures_total,
         (unsigned long long)s.ignored_total, THREADS);

  /* 2. forced open: every acquire rejected and counted once. */
  CHECK_OK(bw_breaker_force_open(breaker));
  run(reject_loop);
  CHECK_OK(bw_breaker_snapshot(breaker, &s));
  CHECK(s.rejected_total == (uint64_t)THREADS * ITERATIONS);
  CHECK(atomic_load(&events_rejected) == (uint64_t)THREADS * ITERATIONS);

  /* 3. half-open stampede: exactly half_open_max_calls probes admitted. */
  CHECK_OK(bw_breaker_force_close(breaker));
  bw_permit p;
  CHECK_OK(bw_breaker_try_acquire(breaker, &p, NULL));
  CHECK_OK(bw_breaker_record(breaker, p, BW_OUTCOME_FAILURE, BW_CATEGORY_TIMEOUT));
  bw_state st;
  CHECK_OK(bw_breaker_state(breaker, &st));
  CHECK(st == BW_STATE_OPEN);
  CHECK_OK(bw_manual_clock_advance_ms(clock_, 1000));
  run(stampede);
  CHECK(atomic_load(&probes_admitted) == 3);
  CHECK_OK(bw_breaker_state(breaker, &st));
  CHECK(st == BW_STATE_HALF_OPEN);

  /* 4. thread-local messages. */
  run(own_errors);

  /* 5. a cache, a degradation manager and an SLO shared by four threads. */
  bw_cache_options co;
  memset(&co, 0, sizeof co);
  co.has_max_entries = true;
  co.max_entries = 100;
  CHECK_OK(bw_cache_new(&co, clock_, &cache));
  CHECK_OK(bw_degradation_new(clock_, &manager));
  bw_strategy_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.name.ptr = "offline";
  spec.name.len = 7;
  spec.kind = BW_STRATEGY_OFFLINE_RESPONSE;
  CHECK_OK(bw_degradation_register(manager, &spec, NULL));
  CHECK_OK(bw_degradation_on(manager, BW_EVENT_KIND_FALLBACK, count_fallbacks, NULL, NULL));
  CHECK_OK(bw_slo_new("svc", 3, NULL, clock_, &slo));
  run_indexed(shared_components);
  bw_cache_stats cs;
  CHECK_OK(bw_cache_get_stats(cache, &cs));
  CHECK(cs.hits == (uint64_t)THREADS * SHARED_ITERATIONS && cs.misses == 0);
  CHECK(cs.entries == (uint64_t)THREADS * 10 && cs.evictions == 0);
  bw_degradation_stats ds;
  CHECK_OK(bw_degradation_statistics(manager, &ds));
  CHECK(ds.calls_served == (uint64_t)THREADS * SHARED_ITERATIONS && ds.total_triggered == 1);
  CHECK(atomic_load(&fallback_events) == (uint64_t)THREADS * SHARED_ITERATIONS);
  bw_slo_status ss;
  CHECK_OK(bw_slo_get_status(slo, &ss));
  CHECK(ss.good == (uint64_t)THREADS * SHARED_ITERATIONS / 2 && ss.bad == ss.good);
  bw_slo_free(slo);
  bw_degradation_free(manager);
  bw_cache_free(cache);

  CHECK(atomic_load(&thread_errors) == 0);
  bw_breaker_free(breaker);
  bw_manual_clock_free(clock_);
  pthread_barrier_destroy(&barrier);
  CHECK_DONE("test_threads");
}
