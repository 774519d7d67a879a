/* try_acquire + record through the C ABI, next to the same loop run by the core itself
 * (bw_bench_core_acquire_record: Rust calling the core directly) in the same process, on the
 * same breaker: a count window of 100 on the system clock, like the core's criterion bench
 * closed_acquire_record/count_100. Rounds alternate between the two; the best round of each
 * is reported (the VM is noisy). The target: the C ABI within 1.5x of the core's figure.
 *
 * usage: bench_breaker [iterations per round] [rounds]   (defaults 2000000, 9) */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "breakwater.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double c_abi_round(const bw_breaker *b, uint64_t n) {
  double t0 = now_ns();
  for (uint64_t i = 0; i < n; i++) {
    bw_permit p;
    if (bw_breaker_try_acquire(b, &p, NULL) == BW_OK)
      bw_breaker_record(b, p, BW_OUTCOME_SUCCESS, BW_CATEGORY_UNKNOWN);
  }
  return (now_ns() - t0) / (double)n;
}

static double core_round(const bw_breaker *b, uint64_t n) {
  double t0 = now_ns();
  if (bw_bench_core_acquire_record(b, n) != BW_OK) abort();
  return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 9;
  bw_breaker_config *cfg = bw_breaker_config_new();
  bw_breaker_config_set_count_window(cfg, 100);
  bw_breaker *b = NULL;
  if (bw_breaker_new("bench", 5, cfg, NULL, &b) != BW_OK) {
    fprintf(stderr, "bw_breaker_new: %s\n", bw_last_error_message());
    return 1;
  }
  bw_breaker_config_free(cfg);
  c_abi_round(b, n / 4); /* warm-up */
  core_round(b, n / 4);
  double best_c = 1e18, best_core = 1e18;
  for (int r = 0; r < rounds; r++) {
    double c = c_abi_round(b, n);
    double k = core_round(b, n);
    if (c < best_c) best_c = c;
    if (k < best_core) best_core = k;
  }
  bw_snapshot s;
  bw_breaker_snapshot(b, &s);
  bw_breaker_free(b);
  double ratio = best_c / best_core;
  printf("try_acquire + record, count window 100, system clock; best of %d rounds of %llu\n",
         rounds, (unsigned long long)n);
  printf("  core (Rust, no boundary) : %6.1f ns\n", best_core);
  printf("  C ABI (bw_breaker_*)     : %6.1f ns\n", best_c);
  printf("  ratio                    : %6.2fx (target <= 1.5x)\n", ratio);
  if (s.successes_total == 0) return 1;
  return ratio <= 1.5 ? 0 : 2;
}
