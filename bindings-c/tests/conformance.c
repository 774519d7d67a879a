/* The C conformance runner: every scenario in conformance/scenarios (recursively) through the C ABI
 * only (the format is conformance/README.md; core/tests/conformance*.rs are the Rust twins):
 * breaker, classify, retry and policy (run_scenario), and degradation, cache, health, slo,
 * alerts, document and registry (RUNNERS). A scenario of a component the runner does not know
 * is printed and counted as skipped, by component, never dropped silently.
 *
 * usage: conformance <scenarios dir> [--strict]   (--strict: a skipped scenario fails) */
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "breakwater.h"

/* ---------------------------------------------------------------- scenario files */

typedef struct {
  char **items;
  size_t len, cap;
} str_list;

static void str_push(str_list *l, const char *s) {
  if (l->len == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->items = realloc(l->items, l->cap * sizeof *l->items);
    if (!l->items) abort();
  }
  l->items[l->len] = malloc(strlen(s) + 1);
  if (!l->items[l->len]) abort();
  strcpy(l->items[l->len++], s);
}

static void str_free(str_list *l) {
  for (size_t i = 0; i < l->len; i++) free(l->items[i]);
  free(l->items);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, str_list *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(n);
    if (!path) abort();
    snprintf(path, n, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        walk(path, out);
      } else {
        size_t len = strlen(path);
        if (len > 5 && strcmp(path + len - 5, ".json") == 0) str_push(out, path);
      }
    }
    free(path);
  }
  closedir(d);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf) abort();
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  buf[got] = '\0';
  *len = got;
  return buf;
}

/* ---------------------------------------------------------------- failures */

typedef struct {
  const char *file;
  int step;
  int failures;
} ctx_t;

static void fail(ctx_t *ctx, const char *fmt, ...) {
  if (ctx->failures == 0) fprintf(stderr, "FAIL %s\n", ctx->file);
  ctx->failures++;
  fprintf(stderr, "    step %d: ", ctx->step);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static const char *code_of(bw_result r) {
  const char *s = bw_result_code_str(r);
  return s ? s : "(not a bw_result)";
}

/* ---------------------------------------------------------------- events */

typedef struct {
  bw_event_kind kind;
  char component[64];
  uint64_t at_ms;
  int has_from, has_to, has_reason, has_category, has_duration, has_attempt, has_delay;
  bw_state from, to;
  char reason[64];
  bw_category category;
  uint64_t duration_ms, delay_ms;
  uint32_t attempt;
} event_t;

typedef struct {
  event_t *items;
  size_t len, cap;
} event_list;

static void collect(void *userdata, const bw_event *e) {
  event_list *l = userdata;
  if (l->len == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->items = realloc(l->items, l->cap * sizeof *l->items);
    if (!l->items) abort();
  }
  event_t *c = &l->items[l->len++];
  memset(c, 0, sizeof *c);
  c->kind = e->kind;
  snprintf(c->component, sizeof c->component, "%.*s", (int)e->component_len, e->component);
  c->at_ms = e->at_ms;
  c->has_from = e->has_from;
  c->from = e->from;
  c->has_to = e->has_to;
  c->to = e->to;
  c->has_reason = e->reason != NULL;
  if (e->reason) snprintf(c->reason, sizeof c->reason, "%s", e->reason);
  c->has_category = e->has_category;
  c->category = e->category;
  c->has_duration = e->has_duration;
  c->duration_ms = e->duration_ms;
  c->has_attempt = e->has_attempt;
  c->attempt = e->attempt;
  c->has_delay = e->has_delay;
  c->delay_ms = e->delay_ms;
}

/* ---------------------------------------------------------------- values */

/* A value read through the C ABI, compared with an expected JSON value. */
typedef enum { V_NULL, V_NUM, V_STR, V_BOOL, V_UNKNOWN } vtype;
typedef struct {
  vtype type;
  double num;
  const char *str;
} value_t;

static value_t vnum(double x) { value_t v = {V_NUM, x, NULL}; return v; }
static value_t vstr(const char *s) { value_t v = {s ? V_STR : V_NULL, 0, s}; return v; }
static value_t vnull(void) { value_t v = {V_NULL, 0, NULL}; return v; }
static value_t vbool(int b) { value_t v = {V_BOOL, b ? 1 : 0, NULL}; return v; }
static value_t vunknown(void) { value_t v = {V_UNKNOWN, 0, NULL}; return v; }

static int value_matches(value_t got, const cJSON *want) {
  switch (got.type) {
    case V_NULL: return cJSON_IsNull(want);
    case V_NUM: return cJSON_IsNumber(want) && fabs(got.num - want->valuedouble) <= 1e-9;
    case V_STR: return cJSON_IsString(want) && strcmp(got.str, want->valuestring) == 0;
    case V_BOOL: return cJSON_IsBool(want) && (cJSON_IsTrue(want) ? 1 : 0) == (int)got.num;
    default: return 0;
  }
}

static void value_text(value_t v, char *buf, size_t n) {
  switch (v.type) {
    case V_NULL: snprintf(buf, n, "null"); break;
    case V_NUM: snprintf(buf, n, "%.17g", v.num); break;
    case V_STR: snprintf(buf, n, "\"%s\"", v.str); break;
    case V_BOOL: snprintf(buf, n, "%s", v.num != 0 ? "true" : "false"); break;
    default: snprintf(buf, n, "(unknown field)"); break;
  }
}

static void expect_value(ctx_t *ctx, const char *what, const char *key, value_t got,
                         const cJSON *want) {
  if (got.type == V_UNKNOWN) {
    fail(ctx, "unknown %s field %s", what, key);
    return;
  }
  if (!value_matches(got, want)) {
    char g[128];
    value_text(got, g, sizeof g);
    char *w = cJSON_PrintUnformatted(want);
    fail(ctx, "%s.%s = %s, expected %s", what, key, g, w ? w : "?");
    free(w);
  }
}

static value_t snapshot_field(const bw_snapshot *s, const char *k) {
  if (!strcmp(k, "state")) return vstr(bw_state_name(s->state));
  if (!strcmp(k, "state_since_ms")) return vnum((double)s->state_since_ms);
  if (!strcmp(k, "calls")) return vnum((double)s->calls);
  if (!strcmp(k, "failures")) return vnum((double)s->failures);
  if (!strcmp(k, "slow_calls")) return vnum((double)s->slow_calls);
  if (!strcmp(k, "failure_rate")) return vnum(s->failure_rate);
  if (!strcmp(k, "slow_call_rate")) return vnum(s->slow_call_rate);
  if (!strcmp(k, "consecutive_failures")) return vnum((double)s->consecutive_failures);
  if (!strcmp(k, "consecutive_successes")) return vnum((double)s->consecutive_successes);
  if (!strcmp(k, "calls_total")) return vnum((double)s->calls_total);
  if (!strcmp(k, "successes_total")) return vnum((double)s->successes_total);
  if (!strcmp(k, "failures_total")) return vnum((double)s->failures_total);
  if (!strcmp(k, "ignored_total")) return vnum((double)s->ignored_total);
  if (!strcmp(k, "rejected_total")) return vnum((double)s->rejected_total);
  if (!strcmp(k, "times_opened")) return vnum((double)s->times_opened);
  if (!strcmp(k, "last_failure_category"))
    return s->has_last_failure_category ? vstr(bw_category_name(s->last_failure_category))
                                        : vnull();
  if (!strcmp(k, "retry_after_ms"))
    return s->has_retry_after ? vnum((double)s->retry_after_ms) : vnull();
  return vunknown();
}

static value_t event_field(const event_t *e, const char *k) {
  if (!strcmp(k, "kind")) return vstr(bw_event_kind_name(e->kind));
  if (!strcmp(k, "component")) return vstr(e->component);
  if (!strcmp(k, "at")) return vnum((double)e->at_ms);
  if (!strcmp(k, "from")) return e->has_from ? vstr(bw_state_name(e->from)) : vnull();
  if (!strcmp(k, "to")) return e->has_to ? vstr(bw_state_name(e->to)) : vnull();
  if (!strcmp(k, "reason")) return e->has_reason ? vstr(e->reason) : vnull();
  if (!strcmp(k, "category"))
    return e->has_category ? vstr(bw_category_name(e->category)) : vnull();
  if (!strcmp(k, "duration_ms")) return e->has_duration ? vnum((double)e->duration_ms) : vnull();
  if (!strcmp(k, "attempt")) return e->has_attempt ? vnum((double)e->attempt) : vnull();
  if (!strcmp(k, "delay_ms")) return e->has_delay ? vnum((double)e->delay_ms) : vnull();
  return vunknown();
}

/* ---------------------------------------------------------------- keys */

static const char *const TOP_KEYS[] = {"$schema", "name", "description", "rules", "component",
                                       "config", "config_error", "steps", "seed", "random",
                                       NULL};
static const char *const STEP_KEYS[] = {"op",       "at",          "expect",  "permit",
                                        "outcome",  "category",    "duration_ms", "repeat",
                                        "ms",       "config",      "comment", "facts",
                                        "call",     "attempts",    NULL};
static const char *const EXPECT_KEYS[] = {"permitted", "rejected", "state",    "snapshot",
                                          "events",    "error",    "category", "not_sent",
                                          "retry_after_ms", "decision", "delay_ms", "attempt",
                                          "reason",    "trace",    "result",   NULL};
static const char *const OPS[] = {"acquire",      "record", "release",  "call",   "advance",
                                  "force_open",   "force_close", "disable", "metrics_only",
                                  "reset",        "state",  "snapshot", "configure",
                                  "classify",     "start",  "decide",   "run",    NULL};
/* The call-path components run_scenario drives (the others have their runners in RUNNERS
 * below); any other component is printed and counted as skipped. */
static const char *const COMPONENTS[] = {"breaker", "retry", "classify", "policy", NULL};

static int in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(s, *list)) return 1;
  return 0;
}

static int check_keys(ctx_t *ctx, const cJSON *obj, const char *const *allowed,
                      const char *what) {
  int ok = 1;
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    if (!in_list(it->string, allowed)) {
      fail(ctx, "unknown key `%s` in %s", it->string, what);
      ok = 0;
    }
  }
  return ok;
}

static const char *str_of(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num_of(const cJSON *obj, const char *key, uint64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || v->valuedouble < 0) return 0;
  *out = (uint64_t)v->valuedouble;
  return 1;
}

/* ---------------------------------------------------------------- one scenario */

typedef struct {
  char name[64];
  bw_permit permit;
} named_permit;

typedef struct {
  char name[64];
  bw_retry_call *call;
} named_call;

typedef struct {
  ctx_t *ctx;
  bw_manual_clock *clock;
  bw_breaker *breaker;
  bw_retry *retry;
  bw_policy *policy;
  event_list events;
  named_permit permits[64];
  size_t n_permits;
  named_call calls[32];
  size_t n_calls;
} run_t;

static void put_permit(run_t *r, const char *name, bw_permit p) {
  for (size_t i = 0; i < r->n_permits; i++) {
    if (!strcmp(r->permits[i].name, name)) {
      r->permits[i].permit = p;
      return;
    }
  }
  if (r->n_permits == sizeof r->permits / sizeof r->permits[0]) {
    fail(r->ctx, "too many permits");
    return;
  }
  snprintf(r->permits[r->n_permits].name, sizeof r->permits[0].name, "%s", name);
  r->permits[r->n_permits++].permit = p;
}

static int take_permit(run_t *r, const char *name, bw_permit *out) {
  for (size_t i = 0; i < r->n_permits; i++) {
    if (!strcmp(r->permits[i].name, name)) {
      *out = r->permits[i].permit;
      r->permits[i] = r->permits[--r->n_permits];
      return 1;
    }
  }
  return 0;
}

static named_call *find_call(run_t *r, const char *name) {
  for (size_t i = 0; i < r->n_calls; i++)
    if (!strcmp(r->calls[i].name, name)) return &r->calls[i];
  return NULL;
}

/* The step's outcome and category (breaker ops); 0 (after reporting) when not understood. */
static int outcome_of(ctx_t *ctx, const cJSON *step, bw_outcome *o, bw_category *c) {
  const char *outcome = str_of(step, "outcome");
  const char *category = str_of(step, "category");
  if (outcome && !strcmp(outcome, "success")) {
    *o = BW_OUTCOME_SUCCESS;
    *c = BW_CATEGORY_UNKNOWN;
  } else if (outcome && !strcmp(outcome, "failure")) {
    *o = BW_OUTCOME_FAILURE;
    *c = BW_CATEGORY_UNKNOWN;
  } else if (outcome && !strcmp(outcome, "ignored")) {
    *o = BW_OUTCOME_IGNORED;
    *c = BW_CATEGORY_CLIENT;
  } else {
    fail(ctx, "bad outcome %s", outcome ? outcome : "(none)");
    return 0;
  }
  if (category && bw_category_from_name(category, strlen(category), c) != BW_OK) {
    fail(ctx, "unknown category %s", category);
    return 0;
  }
  return 1;
}

/* Classifies `facts` (a JSON object as a host would extract it, or NULL) through bw_classify. */
static int facts_of(run_t *r, const cJSON *facts, bw_failure *out) {
  static const char *const KNOWN[] = {"status", "codes", "timeout", "connection_refused",
                                      "cancelled", "abort_reason_timeout", "user_category",
                                      "retry_after", "retry_after_ms", NULL};
  bw_error_facts f;
  memset(&f, 0, sizeof f);
  bw_str codes[16];
  if (facts) {
    if (!cJSON_IsObject(facts)) {
      fail(r->ctx, "facts must be an object");
      return 0;
    }
    if (!check_keys(r->ctx, facts, KNOWN, "facts")) return 0;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(facts, "status");
    if (cJSON_IsNumber(status)) {
      f.has_http_status = true;
      f.http_status = (uint16_t)status->valuedouble;
    }
    const cJSON *code;
    cJSON_ArrayForEach(code, cJSON_GetObjectItemCaseSensitive(facts, "codes")) {
      if (cJSON_IsString(code) && f.codes_len < 16) {
        codes[f.codes_len].ptr = code->valuestring;
        codes[f.codes_len++].len = strlen(code->valuestring);
      }
    }
    f.codes = codes;
    f.timeout = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "timeout"));
    f.connection_refused =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "connection_refused"));
    f.cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "cancelled"));
    f.abort_reason_timeout =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "abort_reason_timeout"));
    const char *uc = str_of(facts, "user_category");
    if (uc) {
      f.has_user_category = true;
      if (bw_category_from_name(uc, strlen(uc), &f.user_category) != BW_OK) {
        fail(r->ctx, "unknown category %s", uc);
        return 0;
      }
    }
    const char *ra = str_of(facts, "retry_after");
    if (ra) {
      f.retry_after.ptr = ra;
      f.retry_after.len = strlen(ra);
    }
    const char *ra_ms = str_of(facts, "retry_after_ms");
    if (ra_ms) {
      f.retry_after_ms.ptr = ra_ms;
      f.retry_after_ms.len = strlen(ra_ms);
    }
  }
  bw_result rc = bw_classify(&f, r->clock, out);
  if (rc != BW_OK) {
    fail(r->ctx, "bw_classify: %s: %s", code_of(rc), bw_last_error_message());
    return 0;
  }
  return 1;
}

/* A failure given as `category` (+ optional facts for Retry-After) or as raw facts. */
static int failure_of(run_t *r, const cJSON *entry, bw_failure *out) {
  if (!facts_of(r, cJSON_GetObjectItemCaseSensitive(entry, "facts"), out)) return 0;
  const char *cat = str_of(entry, "category");
  if (cat && bw_category_from_name(cat, strlen(cat), &out->category) != BW_OK) {
    fail(r->ctx, "unknown category %s", cat);
    return 0;
  }
  return 1;
}

static void expect_key(ctx_t *ctx, const cJSON *expect, const char *key, value_t got) {
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, key);
  if (want) expect_value(ctx, "expect", key, got, want);
}

/* Compares an acquire's result with `expect.rejected` / `expect.permitted`. */
static void check_rejection(ctx_t *ctx, bw_result rc, const bw_rejection *rej,
                            const cJSON *expect) {
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "rejected");
  if (rc == BW_OK) {
    if (want) {
      char *w = cJSON_PrintUnformatted(want);
      fail(ctx, "expected rejection %s, got a permit", w ? w : "?");
      free(w);
    }
    return;
  }
  if (rc != BW_RESULT_CIRCUIT_OPEN) {
    fail(ctx, "try_acquire returned %s: %s", code_of(rc), bw_last_error_message());
    return;
  }
  if (!want) {
    fail(ctx, "expected a permit, got rejection (state %s)", bw_state_name(rej->state));
    return;
  }
  const char *code = str_of(want, "code");
  if (code && strcmp(code, code_of(rej->code)) != 0)
    fail(ctx, "rejection code %s != %s", code_of(rej->code), code);
  const cJSON *ra = cJSON_GetObjectItemCaseSensitive(want, "retry_after_ms");
  if (ra) {
    value_t got = rej->has_retry_after ? vnum((double)rej->retry_after_ms) : vnull();
    expect_value(ctx, "rejection", "retry_after_ms", got, ra);
  }
}

static void check_expect(run_t *r, const cJSON *expect) {
  ctx_t *ctx = r->ctx;
  const char *state = str_of(expect, "state");
  const cJSON *snap = cJSON_GetObjectItemCaseSensitive(expect, "snapshot");
  if ((state || snap) && !r->breaker) {
    fail(ctx, "expect.state / expect.snapshot need a breaker");
  } else {
    if (state) {
      bw_state st;
      bw_result rc = bw_breaker_state(r->breaker, &st);
      if (rc != BW_OK)
        fail(ctx, "bw_breaker_state: %s", code_of(rc));
      else if (strcmp(bw_state_name(st), state) != 0)
        fail(ctx, "state %s != %s", bw_state_name(st), state);
    }
    if (cJSON_IsObject(snap)) {
      bw_snapshot s;
      bw_result rc = bw_breaker_snapshot(r->breaker, &s);
      if (rc != BW_OK) {
        fail(ctx, "bw_breaker_snapshot: %s", code_of(rc));
      } else {
        const cJSON *it;
        cJSON_ArrayForEach(it, snap) {
          expect_value(ctx, "snapshot", it->string, snapshot_field(&s, it->string), it);
        }
      }
    }
  }
  const cJSON *events = cJSON_GetObjectItemCaseSensitive(expect, "events");
  if (cJSON_IsArray(events)) {
    size_t want_n = (size_t)cJSON_GetArraySize(events);
    if (want_n != r->events.len) {
      char got[512] = "";
      for (size_t i = 0; i < r->events.len; i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%s", i ? ", " : "",
                 bw_event_kind_name(r->events.items[i].kind));
      }
      char *w = cJSON_PrintUnformatted(events);
      fail(ctx, "%zu events [%s], expected %zu: %s", r->events.len, got, want_n, w ? w : "?");
      free(w);
      return;
    }
    size_t i = 0;
    const cJSON *we;
    cJSON_ArrayForEach(we, events) {
      const event_t *e = &r->events.items[i];
      const cJSON *it;
      cJSON_ArrayForEach(it, we) {
        char what[64];
        snprintf(what, sizeof what, "event %zu (%s)", i, bw_event_kind_name(e->kind));
        expect_value(ctx, what, it->string, event_field(e, it->string), it);
      }
      i++;
    }
  }
}

/* ---------------------------------------------------------------- ops */

static void breaker_op(run_t *r, const char *op, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = r->ctx;
  bw_permit p;
  bw_rejection rej;
  if (!strcmp(op, "acquire")) {
    bw_result rc = bw_breaker_try_acquire(r->breaker, &p, &rej);
    const char *name = str_of(step, "permit");
    if (rc == BW_OK && name) put_permit(r, name, p);
    check_rejection(ctx, rc, &rej, expect);
  } else if (!strcmp(op, "record") || !strcmp(op, "release")) {
    const char *name = str_of(step, "permit");
    if (!name || !take_permit(r, name, &p)) {
      fail(ctx, "no permit named \"%s\"", name ? name : "");
    } else if (!strcmp(op, "release")) {
      bw_result rc = bw_breaker_release(r->breaker, p);
      if (rc != BW_OK) fail(ctx, "bw_breaker_release: %s", code_of(rc));
    } else {
      bw_outcome o;
      bw_category c;
      if (outcome_of(ctx, step, &o, &c)) {
        bw_result rc = bw_breaker_record(r->breaker, p, o, c);
        if (rc != BW_OK) fail(ctx, "bw_breaker_record: %s", code_of(rc));
      }
    }
  } else if (!strcmp(op, "call")) {
    uint64_t repeat = 1, duration = 0;
    num_of(step, "repeat", &repeat);
    num_of(step, "duration_ms", &duration);
    bw_outcome o;
    bw_category c;
    if (!outcome_of(ctx, step, &o, &c)) return;
    int rejected = 0;
    for (uint64_t i = 0; i < repeat; i++) {
      bw_result rc = bw_breaker_try_acquire(r->breaker, &p, &rej);
      if (rc != BW_OK) {
        rejected = 1;
        check_rejection(ctx, rc, &rej, expect);
        break;
      }
      bw_manual_clock_advance_ms(r->clock, duration);
      rc = bw_breaker_record(r->breaker, p, o, c);
      if (rc != BW_OK) fail(ctx, "bw_breaker_record: %s", code_of(rc));
    }
    if (cJSON_GetObjectItemCaseSensitive(expect, "rejected") && !rejected)
      fail(ctx, "expected the call to be rejected");
  } else if (!strcmp(op, "force_open")) {
    bw_breaker_force_open(r->breaker);
  } else if (!strcmp(op, "force_close")) {
    bw_breaker_force_close(r->breaker);
  } else if (!strcmp(op, "disable")) {
    bw_breaker_disable(r->breaker);
  } else if (!strcmp(op, "metrics_only")) {
    bw_breaker_metrics_only(r->breaker);
  } else if (!strcmp(op, "reset")) {
    bw_breaker_reset(r->breaker);
  } else if (!strcmp(op, "state") || !strcmp(op, "snapshot")) {
    /* reads happen in check_expect */
  } else if (!strcmp(op, "configure")) {
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(step, "config");
    char *text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    bw_result rc = bw_breaker_configure_json(r->breaker, text ? text : "{}",
                                             text ? strlen(text) : 2);
    free(text);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "error");
    if (rc == BW_OK && want) {
      fail(ctx, "configure accepted, expected an error");
    } else if (rc != BW_OK && !want) {
      fail(ctx, "configure rejected: %s", bw_last_error_message());
    } else if (rc != BW_OK) {
      const char *code = str_of(want, "code");
      const char *key = str_of(want, "key");
      const char *got_key = bw_last_error_key();
      if (code && strcmp(code, code_of(rc)) != 0)
        fail(ctx, "configure code %s != %s", code_of(rc), code);
      if (key && (!got_key || strcmp(key, got_key) != 0))
        fail(ctx, "configure error key %s != %s", got_key ? got_key : "(null)", key);
    }
  } else {
    fail(ctx, "unknown op \"%s\"", op);
  }
}

static void classify_op(run_t *r, const cJSON *step, const cJSON *expect) {
  bw_failure f;
  if (!facts_of(r, cJSON_GetObjectItemCaseSensitive(step, "facts"), &f)) return;
  expect_key(r->ctx, expect, "category", vstr(bw_category_name(f.category)));
  expect_key(r->ctx, expect, "not_sent", vbool(f.not_sent));
  expect_key(r->ctx, expect, "retry_after_ms",
             f.has_retry_after ? vnum((double)f.retry_after_ms) : vnull());
}

static void retry_op(run_t *r, const char *op, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = r->ctx;
  if (!r->retry) {
    fail(ctx, "op %s needs a retry component", op);
    return;
  }
  const char *name = str_of(step, "call");
  if (!name) name = "c";
  named_call *nc = find_call(r, name);
  if (!strcmp(op, "start")) {
    if (!nc) {
      if (r->n_calls == sizeof r->calls / sizeof r->calls[0]) {
        fail(ctx, "too many calls");
        return;
      }
      nc = &r->calls[r->n_calls++];
      snprintf(nc->name, sizeof nc->name, "%s", name);
    } else {
      bw_retry_call_free(nc->call);
    }
    nc->call = NULL;
    bw_result rc = bw_retry_begin(r->retry, &nc->call);
    if (rc != BW_OK) fail(ctx, "bw_retry_begin: %s", code_of(rc));
    return;
  }
  bw_failure f;
  if (!failure_of(r, step, &f)) return;
  if (!nc || !nc->call) {
    fail(ctx, "no call named \"%s\" (start it first)", name);
    return;
  }
  bw_retry_decision d;
  bw_result rc = bw_retry_decide(nc->call, &f, &d);
  if (rc != BW_OK) {
    fail(ctx, "bw_retry_decide: %s: %s", code_of(rc), bw_last_error_message());
    return;
  }
  if (d.retry) {
    expect_key(ctx, expect, "decision", vstr("retry"));
    expect_key(ctx, expect, "delay_ms", vnum((double)d.delay_ms));
    expect_key(ctx, expect, "attempt", vnum((double)d.attempt));
    if (cJSON_GetObjectItemCaseSensitive(expect, "reason"))
      fail(ctx, "expected a give-up, got a retry after %llu ms", (unsigned long long)d.delay_ms);
  } else {
    expect_key(ctx, expect, "decision", vstr("give_up"));
    expect_key(ctx, expect, "reason", vstr(bw_give_up_reason_name(d.reason)));
    if (cJSON_GetObjectItemCaseSensitive(expect, "delay_ms"))
      fail(ctx, "expected a retry, gave up: %s", bw_give_up_reason_name(d.reason));
  }
}

static const char *verdict_kind_name(bw_verdict_kind k) {
  switch (k) {
    case BW_VERDICT_VALUE: return "value";
    case BW_VERDICT_USER_ERROR: return "user_error";
    case BW_VERDICT_RETRY_EXHAUSTED: return "retry_exhausted";
    case BW_VERDICT_REJECTED: return "rejected";
    case BW_VERDICT_CANCELLED: return "cancelled";
    default: return "none";
  }
}

/* A field of the run's result, as the Rust runner's verdict_json has it. */
static value_t result_field(const bw_verdict *v, int fallback, const char *k) {
  int rejected = v->kind == BW_VERDICT_REJECTED;
  int exhausted = v->kind == BW_VERDICT_RETRY_EXHAUSTED;
  if (!strcmp(k, "kind")) return vstr(verdict_kind_name(v->kind));
  if (!strcmp(k, "fallback")) return vbool(fallback);
  if (!strcmp(k, "attempts") && (rejected || exhausted)) return vnum((double)v->attempts);
  if (!strcmp(k, "reason") && exhausted) return vstr(bw_give_up_reason_name(v->reason));
  if (!strcmp(k, "code") && rejected) return vstr(code_of(v->code));
  if (!strcmp(k, "state") && rejected)
    return v->has_state ? vstr(bw_state_name(v->state)) : vnull();
  if (!strcmp(k, "retry_after_ms") && rejected)
    return v->has_retry_after ? vnum((double)v->retry_after_ms) : vnull();
  return vunknown();
}

/* Drives one guarded call through bw_policy_*: `attempts` script each attempt's outcome;
 * sleeps and waits advance the manual clock. */
static void run_op(run_t *r, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = r->ctx;
  if (!r->policy) {
    fail(ctx, "op run needs a policy");
    return;
  }
  const cJSON *script = cJSON_GetObjectItemCaseSensitive(step, "attempts");
  const cJSON *next = cJSON_IsArray(script) ? script->child : NULL;
  cJSON *trace = cJSON_CreateArray();
  bw_policy_call *call = NULL;
  bw_step s;
  bw_result rc = bw_policy_start(r->policy, &call, &s);
  int done = 0, fallback = 0;
  while (rc == BW_OK && !done) {
    char item[64];
    switch (s.kind) {
      case BW_STEP_ATTEMPT: {
        snprintf(item, sizeof item, "attempt:%u", s.attempt);
        cJSON_AddItemToArray(trace, cJSON_CreateString(item));
        if (!cJSON_IsObject(next)) {
          fail(ctx, "the policy asked for attempt %u; the script has no more", s.attempt);
          done = 2;
          break;
        }
        const cJSON *entry = next;
        next = next->next;
        uint64_t d = 0;
        num_of(entry, "duration_ms", &d);
        bw_manual_clock_advance_ms(r->clock, d);
        const char *outcome = str_of(entry, "outcome");
        bw_failure f;
        memset(&f, 0, sizeof f);
        bw_attempt_outcome o;
        if (outcome && !strcmp(outcome, "success")) {
          o = BW_ATTEMPT_SUCCESS;
        } else if (outcome && !strcmp(outcome, "cancelled")) {
          o = BW_ATTEMPT_CANCELLED;
        } else if (outcome && !strcmp(outcome, "failure")) {
          o = BW_ATTEMPT_FAILURE;
          if (!failure_of(r, entry, &f)) {
            done = 2;
            break;
          }
        } else {
          fail(ctx, "bad attempt outcome %s", outcome ? outcome : "(none)");
          done = 2;
          break;
        }
        rc = bw_policy_record(call, o, &f, &s);
        break;
      }
      case BW_STEP_SLEEP:
        snprintf(item, sizeof item, "sleep:%llu", (unsigned long long)s.delay_ms);
        cJSON_AddItemToArray(trace, cJSON_CreateString(item));
        bw_manual_clock_advance_ms(r->clock, s.delay_ms);
        rc = bw_policy_next(call, &s);
        break;
      case BW_STEP_WAIT:
        /* One call at a time: nobody can wake it, so the wait runs out. */
        snprintf(item, sizeof item, "wait:%llu", (unsigned long long)s.max_wait_ms);
        cJSON_AddItemToArray(trace, cJSON_CreateString(item));
        bw_manual_clock_advance_ms(r->clock, s.max_wait_ms);
        rc = bw_policy_after_wait(call, false, &s);
        break;
      case BW_STEP_FALLBACK:
        /* The host's fallback function serves the call: report it (the policy's `fallback`
         * event). */
        fallback = 1;
        done = 1;
        rc = bw_policy_fallback_served(r->policy, call, NULL, 0);
        break;
      case BW_STEP_DONE:
        done = 1;
        break;
    }
  }
  if (rc != BW_OK) fail(ctx, "bw_policy_*: %s: %s", code_of(rc), bw_last_error_message());
  if (cJSON_IsObject(next)) fail(ctx, "the script has attempts the policy never made");
  const cJSON *want_trace = cJSON_GetObjectItemCaseSensitive(expect, "trace");
  if (want_trace && !cJSON_Compare(trace, want_trace, 1)) {
    char *g = cJSON_PrintUnformatted(trace);
    char *w = cJSON_PrintUnformatted(want_trace);
    fail(ctx, "trace %s != %s", g ? g : "?", w ? w : "?");
    free(g);
    free(w);
  }
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "result");
  if (cJSON_IsObject(want) && done == 1) {
    const cJSON *it;
    cJSON_ArrayForEach(it, want) {
      expect_value(ctx, "result", it->string, result_field(&s.verdict, fallback, it->string),
                   it);
    }
  }
  cJSON_Delete(trace);
  bw_policy_call_free(call);
}

/* ---------------------------------------------------------------- set-up */

static char *print_or_empty(const cJSON *v) {
  char *text = v ? cJSON_PrintUnformatted(v) : NULL;
  if (!text) {
    text = malloc(3);
    if (!text) abort();
    strcpy(text, "{}");
  }
  return text;
}

static bw_result make_breaker(run_t *r, const cJSON *config) {
  char *text = print_or_empty(config);
  bw_breaker_config *cfg = NULL;
  bw_result rc = bw_breaker_config_from_json(text, strlen(text), &cfg);
  free(text);
  if (rc == BW_OK) rc = bw_breaker_new("test", 4, cfg, r->clock, &r->breaker);
  bw_breaker_config_free(cfg);
  return rc;
}

static bw_result make_retry(run_t *r, const cJSON *config) {
  char *text = print_or_empty(config);
  bw_retry_config *cfg = NULL;
  bw_result rc = bw_retry_config_from_json(text, strlen(text), &cfg);
  free(text);
  if (rc == BW_OK) rc = bw_retry_new(cfg, r->clock, &r->retry);
  bw_retry_config_free(cfg);
  return rc;
}

/* Builds the policy from {breaker, retry, rate_limiter, bulkhead, timeout_ms, fallback}. */
static bw_result make_policy(run_t *r, const cJSON *config) {
  bw_result rc = BW_OK;
  bw_rate_limiter *limiter = NULL;
  bw_bulkhead *bulkhead = NULL;
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(config, "breaker");
  const cJSON *rt = cJSON_GetObjectItemCaseSensitive(config, "retry");
  const cJSON *rl = cJSON_GetObjectItemCaseSensitive(config, "rate_limiter");
  const cJSON *bh = cJSON_GetObjectItemCaseSensitive(config, "bulkhead");
  if (b) rc = make_breaker(r, b);
  if (rc == BW_OK && rt) rc = make_retry(r, rt);
  if (rc == BW_OK && rl) {
    char *text = print_or_empty(rl);
    bw_rate_limiter_config *cfg = NULL;
    rc = bw_rate_limiter_config_from_json(text, strlen(text), &cfg);
    free(text);
    if (rc == BW_OK) rc = bw_rate_limiter_new(cfg, r->clock, &limiter);
    bw_rate_limiter_config_free(cfg);
  }
  if (rc == BW_OK && bh) {
    char *text = print_or_empty(bh);
    bw_bulkhead_config *cfg = NULL;
    rc = bw_bulkhead_config_from_json(text, strlen(text), &cfg);
    free(text);
    if (rc == BW_OK) rc = bw_bulkhead_new(cfg, &bulkhead);
    bw_bulkhead_config_free(cfg);
  }
  if (rc == BW_OK) {
    bw_policy_parts parts;
    memset(&parts, 0, sizeof parts);
    parts.breaker = r->breaker;
    parts.retry = r->retry;
    parts.rate_limiter = limiter;
    parts.bulkhead = bulkhead;
    uint64_t timeout;
    if (num_of(config, "timeout_ms", &timeout)) {
      parts.has_timeout = true;
      parts.timeout_ms = timeout;
    }
    parts.fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "fallback"));
    parts.clock = r->clock;
    rc = bw_policy_new("test", 4, &parts, &r->policy);
  }
  /* The policy keeps its parts alive. */
  bw_rate_limiter_free(limiter);
  bw_bulkhead_free(bulkhead);
  return rc;
}

static void run_scenario(ctx_t *ctx, const char *component, const cJSON *doc) {
  run_t r;
  memset(&r, 0, sizeof r);
  r.ctx = ctx;
  r.clock = bw_manual_clock_new();
  const cJSON *config = cJSON_GetObjectItemCaseSensitive(doc, "config");
  bw_result rc = BW_OK;
  if (!strcmp(component, "breaker")) rc = make_breaker(&r, config);
  else if (!strcmp(component, "retry")) rc = make_retry(&r, config);
  else if (!strcmp(component, "policy")) rc = make_policy(&r, config);

  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    if (rc == BW_OK) {
      fail(ctx, "config accepted, expected an error");
    } else {
      const char *code = str_of(want_err, "code");
      const char *key = str_of(want_err, "key");
      const char *got_key = bw_last_error_key();
      if (code && strcmp(code, code_of(rc)) != 0) fail(ctx, "code %s != %s", code_of(rc), code);
      if (key && (!got_key || strcmp(key, got_key) != 0))
        fail(ctx, "error key %s != %s (all: %s)", got_key ? got_key : "(null)", key,
             bw_last_error_message());
    }
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    if (r.breaker && bw_breaker_on(r.breaker, BW_EVENT_KIND_ALL, collect, &r.events, NULL))
      fail(ctx, "bw_breaker_on failed");
    if (r.policy && bw_policy_on(r.policy, BW_EVENT_KIND_ALL, collect, &r.events, NULL))
      fail(ctx, "bw_policy_on failed");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps) {
      ctx->step = i++;
      if (!cJSON_IsObject(step)) {
        fail(ctx, "step is not an object");
        continue;
      }
      check_keys(ctx, step, STEP_KEYS, "step");
      const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
      cJSON empty;
      memset(&empty, 0, sizeof empty);
      empty.type = cJSON_Object;
      if (!cJSON_IsObject(expect)) expect = &empty;
      check_keys(ctx, expect, EXPECT_KEYS, "expect");
      uint64_t at;
      if (num_of(step, "at", &at) && bw_manual_clock_set_ms(r.clock, at) != BW_OK)
        fail(ctx, "`at` %llu moves the clock backwards", (unsigned long long)at);
      r.events.len = 0;
      const char *op = str_of(step, "op");
      if (!strcmp(op, "classify")) {
        classify_op(&r, step, expect);
      } else if (!strcmp(op, "start") || !strcmp(op, "decide")) {
        retry_op(&r, op, step, expect);
      } else if (!strcmp(op, "run")) {
        run_op(&r, step, expect);
      } else if (!strcmp(op, "advance")) {
        uint64_t ms = 0;
        num_of(step, "ms", &ms);
        bw_manual_clock_advance_ms(r.clock, ms);
      } else if (!r.breaker) {
        fail(ctx, "op \"%s\" needs a breaker", op);
      } else {
        breaker_op(&r, op, step, expect);
      }
      check_expect(&r, expect);
    }
  }
  for (size_t i = 0; i < r.n_calls; i++) bw_retry_call_free(r.calls[i].call);
  bw_policy_free(r.policy);
  bw_retry_free(r.retry);
  bw_breaker_free(r.breaker);
  bw_manual_clock_free(r.clock);
  free(r.events.items);
}

/* ================================================================ components beyond the call path
 * degradation, cache, health, slo, alerts, document, registry: each reads what the C ABI gives
 * back into a cJSON value and compares it with the scenario's expectation, as the Rust runners
 * (core/tests/conformance_{degradation,health,registry}.rs) do. */

/* ---------------------------------------------------------------- JSON helpers */

/* got matches want: numbers to 1e-9, arrays element by element (same length), objects by the
 * keys `want` lists (a key `got` lacks counts as null). */
static int json_match(const cJSON *got, const cJSON *want) {
  if (cJSON_IsNull(want)) return got == NULL || cJSON_IsNull(got);
  if (!got) return 0;
  if (cJSON_IsNumber(want)) return cJSON_IsNumber(got) && fabs(got->valuedouble - want->valuedouble) <= 1e-9;
  if (cJSON_IsString(want)) return cJSON_IsString(got) && strcmp(got->valuestring, want->valuestring) == 0;
  if (cJSON_IsBool(want)) return cJSON_IsBool(got) && cJSON_IsTrue(got) == cJSON_IsTrue(want);
  if (cJSON_IsArray(want)) {
    if (!cJSON_IsArray(got) || cJSON_GetArraySize(got) != cJSON_GetArraySize(want)) return 0;
    const cJSON *g = got->child, *w = want->child;
    for (; w; w = w->next, g = g->next)
      if (!json_match(g, w)) return 0;
    return 1;
  }
  if (cJSON_IsObject(want)) {
    if (!cJSON_IsObject(got)) return 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, want) {
      if (!json_match(cJSON_GetObjectItemCaseSensitive(got, w->string), w)) return 0;
    }
    return 1;
  }
  return 0;
}

static void expect_json(ctx_t *ctx, const char *what, const cJSON *got, const cJSON *want) {
  if (!want || json_match(got, want)) return;
  char *g = got ? cJSON_PrintUnformatted(got) : NULL;
  char *w = cJSON_PrintUnformatted(want);
  fail(ctx, "%s = %s, expected %s", what, g ? g : "null", w ? w : "?");
  free(g);
  free(w);
}

/* Every key of `want` is one `got` has (so a misspelled expectation fails), then json_match. */
static void expect_fields(ctx_t *ctx, const char *what, const cJSON *got, const cJSON *want) {
  if (!want) return;
  if (!cJSON_IsObject(want)) {
    fail(ctx, "%s: expected an object", what);
    return;
  }
  const cJSON *w;
  cJSON_ArrayForEach(w, want) {
    if (!cJSON_GetObjectItemCaseSensitive(got, w->string)) fail(ctx, "%s: unknown field %s", what, w->string);
  }
  expect_json(ctx, what, got, want);
}

static cJSON *jstr(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }
static cJSON *jstrn(const char *s, size_t n) {
  if (!s) return cJSON_CreateNull();
  char *t = malloc(n + 1);
  if (!t) abort();
  memcpy(t, s, n);
  t[n] = '\0';
  cJSON *v = cJSON_CreateString(t);
  free(t);
  return v;
}
static cJSON *jnum(double x) { return cJSON_CreateNumber(x); }
static cJSON *jopt(int has, double x) { return has ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

/* A string list as a JSON array of strings (frees the list). */
static cJSON *jlist(bw_string_list *l) {
  cJSON *a = cJSON_CreateArray();
  size_t n = 0;
  bw_string_list_len(l, &n);
  for (size_t i = 0; i < n; i++) {
    const char *s = NULL;
    size_t len = 0;
    if (bw_string_list_get(l, i, &s, &len) == BW_OK) cJSON_AddItemToArray(a, jstrn(s, len));
  }
  bw_string_list_free(l);
  return a;
}

static cJSON *json_of_text(ctx_t *ctx, const char *what, bw_result rc, char *text) {
  if (rc != BW_OK) {
    fail(ctx, "%s: %s: %s", what, code_of(rc), bw_last_error_message());
    free(text);
    return NULL;
  }
  cJSON *v = cJSON_Parse(text);
  if (!v) fail(ctx, "%s: not JSON: %s", what, text);
  free(text);
  return v;
}

/* Calls `call` twice: with no buffer to learn the size, then with a buffer of that size. */
#define FILL_TEXT(rc, text, call_with_buf_cap_needed)                      \
  do {                                                                     \
    size_t needed_ = 0;                                                    \
    char *buf = NULL;                                                      \
    size_t cap = 0;                                                        \
    size_t *needed = &needed_;                                             \
    rc = (call_with_buf_cap_needed);                                       \
    if (rc == BW_RESULT_BUFFER_TOO_SMALL) {                                \
      buf = malloc(needed_);                                               \
      if (!buf) abort();                                                   \
      cap = needed_;                                                       \
      rc = (call_with_buf_cap_needed);                                     \
    }                                                                      \
    text = buf;                                                            \
  } while (0)

/* An event as JSON, every field a scenario can compare (null when absent). */
static cJSON *event_json(const bw_event *e, int has_seq, uint64_t seq) {
  cJSON *o = cJSON_CreateObject();
  if (has_seq) cJSON_AddItemToObject(o, "seq", jnum((double)seq));
  cJSON_AddItemToObject(o, "kind", jstr(bw_event_kind_name(e->kind)));
  cJSON_AddItemToObject(o, "component", jstrn(e->component, e->component_len));
  cJSON_AddItemToObject(o, "at", jnum((double)e->at_ms));
  cJSON_AddItemToObject(o, "from", e->has_from ? jstr(bw_state_name(e->from)) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "to", e->has_to ? jstr(bw_state_name(e->to)) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "reason", jstr(e->reason));
  cJSON_AddItemToObject(o, "category",
                        e->has_category ? jstr(bw_category_name(e->category)) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "duration_ms", jopt(e->has_duration, (double)e->duration_ms));
  cJSON_AddItemToObject(o, "attempt", jopt(e->has_attempt, (double)e->attempt));
  cJSON_AddItemToObject(o, "delay_ms", jopt(e->has_delay, (double)e->delay_ms));
  cJSON_AddItemToObject(o, "strategy", jstr(e->strategy));
  cJSON_AddItemToObject(o, "severity", jstr(e->severity));
  return o;
}

/* A bw_event_callback collecting events as JSON into the cJSON array `userdata`. */
static void collect_json(void *userdata, const bw_event *e) {
  cJSON_AddItemToArray((cJSON *)userdata, event_json(e, 0, 0));
}

static void expect_events(ctx_t *ctx, const cJSON *got, const cJSON *want) {
  if (!want) return;
  if (!cJSON_IsArray(want)) {
    fail(ctx, "events: expected a list");
    return;
  }
  expect_json(ctx, "events", got, want);
}

/* Empties a cJSON array in place. */
static void json_clear(cJSON *a) {
  while (a->child) cJSON_DeleteItemFromArray(a, 0);
}

/* Compares a failure with an error expectation: `code`, and for CONFIG_INVALID the first
 * problem's `key` (relative to its component's config), `path` (where it is in the document),
 * `value` (exact), `allowed` (a substring), `hint` (the "did you mean" name; null: none) and
 * `paths` (every problem's path, in order). */
static void check_error(ctx_t *ctx, bw_result rc, const cJSON *want) {
  static const char *const KEYS[] = {"code", "key", "path", "value", "allowed", "hint", "paths", NULL};
  if (!cJSON_IsObject(want)) {
    fail(ctx, "an error expectation must be an object");
    return;
  }
  check_keys(ctx, want, KEYS, "error expectation");
  if (rc == BW_OK) {
    char *w = cJSON_PrintUnformatted(want);
    fail(ctx, "accepted, expected error %s", w ? w : "?");
    free(w);
    return;
  }
  const char *code = str_of(want, "code");
  if (code && strcmp(code, code_of(rc)) != 0)
    fail(ctx, "code %s != %s (%s)", code_of(rc), code, bw_last_error_message());
  const char *key = str_of(want, "key");
  const char *got_key = bw_last_error_key();
  if (key && (!got_key || strcmp(key, got_key) != 0))
    fail(ctx, "error key %s != %s (all: %s)", got_key ? got_key : "(null)", key, bw_last_error_message());
  const char *path = str_of(want, "path");
  const char *got_path = bw_last_error_path();
  if (path && (!got_path || strcmp(path, got_path) != 0))
    fail(ctx, "error path %s != %s (all: %s)", got_path ? got_path : "(null)", path, bw_last_error_message());
  const char *value = str_of(want, "value");
  const char *got_value = bw_last_error_value();
  if (value && (!got_value || strcmp(value, got_value) != 0))
    fail(ctx, "error value %s != %s", got_value ? got_value : "(null)", value);
  const char *allowed = bw_last_error_allowed();
  const char *want_allowed = str_of(want, "allowed");
  if (want_allowed && (!allowed || !strstr(allowed, want_allowed)))
    fail(ctx, "error allows \"%s\", which does not mention \"%s\"", allowed ? allowed : "(null)", want_allowed);
  const cJSON *hint = cJSON_GetObjectItemCaseSensitive(want, "hint");
  int has_hint = allowed && strstr(allowed, "did you mean") != NULL;
  if (cJSON_IsNull(hint) && has_hint) fail(ctx, "unexpected hint in \"%s\"", allowed);
  if (cJSON_IsString(hint) && !(has_hint && strstr(allowed, hint->valuestring)))
    fail(ctx, "no hint \"%s\" in \"%s\"", hint->valuestring, allowed ? allowed : "(null)");
  const cJSON *paths = cJSON_GetObjectItemCaseSensitive(want, "paths");
  if (cJSON_IsArray(paths)) {
    cJSON *got = cJSON_CreateArray();
    for (size_t i = 0; i < bw_last_error_count(); i++)
      cJSON_AddItemToArray(got, jstr(bw_last_error_path_at(i)));
    expect_json(ctx, "error paths", got, paths);
    cJSON_Delete(got);
  }
}

/* `expect.error` after a step: absent means the step must have succeeded. */
static void step_error(ctx_t *ctx, bw_result rc, const char *what, const cJSON *expect) {
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "error");
  if (want) check_error(ctx, rc, want);
  else if (rc != BW_OK) fail(ctx, "%s: %s: %s", what, code_of(rc), bw_last_error_message());
}

/* One op a component runs and the step keys it takes (besides op, at, comment, expect). */
typedef struct {
  const char *op;
  const char *const *args;
} op_spec;

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((const char *const[]){NULL})

/* Checks a step's op, keys and expectation keys, applies `at`; the op's name or NULL. */
static const char *prepare_step(ctx_t *ctx, const cJSON *step, const op_spec *ops,
                                const char *const *expect_keys, bw_manual_clock *clock,
                                const cJSON **expect) {
  static cJSON empty_obj;
  empty_obj.type = cJSON_Object;
  empty_obj.child = NULL;
  if (!cJSON_IsObject(step)) {
    fail(ctx, "a step must be an object");
    return NULL;
  }
  const char *op = str_of(step, "op");
  const op_spec *spec = NULL;
  for (const op_spec *o = ops; op && o->op; o++)
    if (!strcmp(o->op, op)) spec = o;
  if (!spec) {
    fail(ctx, "unknown op \"%s\"", op ? op : "");
    return NULL;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, step) {
    if (!in_list(it->string, spec->args) && strcmp(it->string, "op") && strcmp(it->string, "at") &&
        strcmp(it->string, "comment") && strcmp(it->string, "expect"))
      fail(ctx, "unknown key `%s` in %s step", it->string, op);
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(step, "expect");
  if (e && !cJSON_IsObject(e)) {
    fail(ctx, "`expect` must be an object");
    e = NULL;
  }
  *expect = e ? e : &empty_obj;
  check_keys(ctx, *expect, expect_keys, "expect");
  uint64_t at;
  if (clock && num_of(step, "at", &at) && bw_manual_clock_set_ms(clock, at) != BW_OK)
    fail(ctx, "`at` %llu moves the clock backwards", (unsigned long long)at);
  return op;
}

static const char *target_of(const cJSON *step) {
  const char *t = str_of(step, "target");
  return t ? t : "test";
}

static int bool_of(const cJSON *obj, const char *key, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

#define SL(s) (s), strlen(s)

/* The config a scenario gives, printed (an empty object when absent); the caller frees. */
static char *config_text(const cJSON *doc, const char *key) {
  return print_or_empty(cJSON_GetObjectItemCaseSensitive(doc, key));
}

/* The steps of a scenario (an empty list when absent). */
static const cJSON *steps_of(const cJSON *doc) { return cJSON_GetObjectItemCaseSensitive(doc, "steps"); }

/* ---------------------------------------------------------------- cache */

static const op_spec CACHE_OPS[] = {
    {"put", ARGS("key", "value", "ttl_ms")}, {"get", ARGS("key")},
    {"on_error", ARGS("key")},                {"status", ARGS("key")},
    {"remove", ARGS("key")},                  {"clear", NO_ARGS},
    {"purge_expired", NO_ARGS},               {"configure", ARGS("config")},
    {"advance", ARGS("ms")},                  {"inspect", NO_ARGS},
    {NULL, NULL}};
static const char *const CACHE_EXPECT[] = {"hit", "value", "replaced", "evicted", "removed",
                                           "keys", "size", "stats", "error", NULL};

/* A cached value (JSON text stored as bytes) back as JSON; NULL bytes give null. Frees it. */
static cJSON *json_of_bytes(bw_bytes *b) {
  if (!b) return cJSON_CreateNull();
  const uint8_t *data = NULL;
  size_t len = 0;
  bw_bytes_data(b, &data, &len);
  cJSON *v = cJSON_ParseWithLength((const char *)data, len);
  bw_bytes_free(b);
  return v ? v : cJSON_CreateString("(not JSON)");
}

static cJSON *string_of_bytes(bw_bytes *b) {
  if (!b) return cJSON_CreateNull();
  const uint8_t *data = NULL;
  size_t len = 0;
  bw_bytes_data(b, &data, &len);
  cJSON *v = jstrn((const char *)data, len);
  bw_bytes_free(b);
  return v;
}

static const char *lookup_name(bw_cache_lookup l) { return bw_cache_lookup_name(l); }

static void cache_step(ctx_t *ctx, bw_cache *cache, bw_manual_clock *clock, const char *op,
                       const cJSON *step, const cJSON *expect) {
  const char *key = str_of(step, "key");
  if (!key) key = "";
  bw_result rc = BW_OK;
  if (!strcmp(op, "put")) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(step, "value");
    char *value = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!value) {
      value = malloc(5);
      if (!value) abort();
      strcpy(value, "null");
    }
    bw_cache_put_info info;
    uint64_t ttl;
    if (num_of(step, "ttl_ms", &ttl))
      rc = bw_cache_put_ttl(cache, SL(key), (const uint8_t *)value, strlen(value), ttl, &info);
    else
      rc = bw_cache_put(cache, SL(key), (const uint8_t *)value, strlen(value), &info);
    free(value);
    if (rc != BW_OK) {
      fail(ctx, "bw_cache_put: %s", bw_last_error_message());
      return;
    }
    cJSON *replaced = json_of_bytes(info.replaced);
    cJSON *evicted = string_of_bytes(info.evicted_key);
    bw_bytes_free(info.evicted_value);
    expect_json(ctx, "replaced", replaced, cJSON_GetObjectItemCaseSensitive(expect, "replaced"));
    expect_json(ctx, "evicted", evicted, cJSON_GetObjectItemCaseSensitive(expect, "evicted"));
    cJSON_Delete(replaced);
    cJSON_Delete(evicted);
  } else if (!strcmp(op, "get") || !strcmp(op, "on_error")) {
    bw_bytes *v = NULL;
    bw_cache_lookup hit = BW_CACHE_MISS;
    if (!strcmp(op, "get")) {
      rc = bw_cache_get(cache, SL(key), &v);
      hit = v ? BW_CACHE_FRESH : BW_CACHE_MISS;
    } else {
      rc = bw_cache_on_error(cache, SL(key), &hit, &v);
    }
    if (rc != BW_OK) fail(ctx, "bw_cache_%s: %s", op, bw_last_error_message());
    cJSON *h = jstr(lookup_name(hit));
    cJSON *value = json_of_bytes(v);
    expect_json(ctx, "hit", h, cJSON_GetObjectItemCaseSensitive(expect, "hit"));
    expect_json(ctx, "value", value, cJSON_GetObjectItemCaseSensitive(expect, "value"));
    cJSON_Delete(h);
    cJSON_Delete(value);
  } else if (!strcmp(op, "status")) {
    bw_cache_lookup hit = BW_CACHE_MISS;
    rc = bw_cache_status(cache, SL(key), &hit);
    if (rc != BW_OK) fail(ctx, "bw_cache_status: %s", bw_last_error_message());
    cJSON *h = jstr(lookup_name(hit));
    expect_json(ctx, "hit", h, cJSON_GetObjectItemCaseSensitive(expect, "hit"));
    cJSON_Delete(h);
  } else if (!strcmp(op, "remove")) {
    bw_bytes *v = NULL;
    rc = bw_cache_remove(cache, SL(key), &v);
    if (rc != BW_OK) fail(ctx, "bw_cache_remove: %s", bw_last_error_message());
    cJSON *value = json_of_bytes(v);
    expect_json(ctx, "value", value, cJSON_GetObjectItemCaseSensitive(expect, "value"));
    cJSON_Delete(value);
  } else if (!strcmp(op, "clear") || !strcmp(op, "purge_expired") || !strcmp(op, "configure")) {
    bw_string_list *removed = NULL;
    if (!strcmp(op, "clear")) {
      rc = bw_cache_clear(cache, &removed);
    } else if (!strcmp(op, "purge_expired")) {
      rc = bw_cache_purge_expired(cache, &removed);
    } else {
      char *cfg = config_text(step, "config");
      rc = bw_cache_configure_json(cache, SL(cfg), &removed);
      free(cfg);
      step_error(ctx, rc, "bw_cache_configure_json", expect);
    }
    if (rc == BW_OK) {
      cJSON *keys = jlist(removed);
      expect_json(ctx, "removed", keys, cJSON_GetObjectItemCaseSensitive(expect, "removed"));
      cJSON_Delete(keys);
    } else if (strcmp(op, "configure")) {
      fail(ctx, "bw_cache_%s: %s", op, bw_last_error_message());
    }
  } else if (!strcmp(op, "advance")) {
    uint64_t ms = 0;
    num_of(step, "ms", &ms);
    bw_manual_clock_advance_ms(clock, ms);
  }
  /* Expectations for every step. */
  const cJSON *want_keys = cJSON_GetObjectItemCaseSensitive(expect, "keys");
  if (want_keys) {
    bw_string_list *l = NULL;
    bw_cache_keys(cache, &l);
    cJSON *keys = jlist(l);
    expect_json(ctx, "keys", keys, want_keys);
    cJSON_Delete(keys);
  }
  const cJSON *want_size = cJSON_GetObjectItemCaseSensitive(expect, "size");
  if (want_size) {
    size_t n = 0;
    bw_cache_len(cache, &n);
    cJSON *size = jnum((double)n);
    expect_json(ctx, "size", size, want_size);
    cJSON_Delete(size);
  }
  const cJSON *want_stats = cJSON_GetObjectItemCaseSensitive(expect, "stats");
  if (want_stats) {
    bw_cache_stats s;
    bw_cache_get_stats(cache, &s);
    cJSON *g = cJSON_CreateObject();
    cJSON_AddItemToObject(g, "entries", jnum((double)s.entries));
    cJSON_AddItemToObject(g, "hits", jnum((double)s.hits));
    cJSON_AddItemToObject(g, "stale_hits", jnum((double)s.stale_hits));
    cJSON_AddItemToObject(g, "misses", jnum((double)s.misses));
    cJSON_AddItemToObject(g, "evictions", jnum((double)s.evictions));
    expect_fields(ctx, "stats", g, want_stats);
    cJSON_Delete(g);
  }
}

static void run_cache(ctx_t *ctx, const cJSON *doc) {
  bw_manual_clock *clock = bw_manual_clock_new();
  char *cfg = config_text(doc, "config");
  bw_cache *cache = NULL;
  bw_result rc = bw_cache_from_json(SL(cfg), clock, &cache);
  free(cfg);
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(doc)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, CACHE_OPS, CACHE_EXPECT, clock, &expect);
      if (op) cache_step(ctx, cache, clock, op, step, expect);
    }
  }
  bw_cache_free(cache);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- degradation */

static const op_spec DEGRADATION_OPS[] = {
    {"register", ARGS("strategy", "kind", "priority", "available", "handles")},
    {"unregister", ARGS("strategy")},
    {"set_available", ARGS("strategy", "available")},
    {"trigger", ARGS("target", "trigger", "severity", "status")},
    {"fallback", ARGS("target", "trigger", "severity", "status", "cached")},
    {"choose", ARGS("target", "trigger", "severity", "status", "cached")},
    {"clear", ARGS("target", "trigger")},
    {"success", ARGS("target")},
    {"breaker_state", ARGS("target", "state")},
    {"health_status", ARGS("target", "status")},
    {"force_recovery", ARGS("target")},
    {"force_recovery_all", NO_ARGS},
    {"configure", ARGS("config")},
    {"advance", ARGS("ms")},
    {"inspect", NO_ARGS},
    {"run", ARGS("attempts", "cached")},
    {"force_open", NO_ARGS},
    {"force_close", NO_ARGS},
    {NULL, NULL}};
static const char *const DEGRADATION_EXPECT[] = {
    "changed", "recovered", "strategy", "kind",       "rule",   "stale", "level", "overall_level",
    "active",  "history",   "statistics", "events",   "trace",  "result", "info", "error", NULL};

typedef struct {
  ctx_t *ctx;
  bw_manual_clock *clock;
  bw_degradation *manager;
  bw_policy *policy;
  bw_breaker *breaker;
  int policy_fallback;
  cJSON *events;
  uint32_t handles[64]; /* the trigger masks user strategies' can_handle accept */
  size_t n_handles;
} deg_t;

/* A user strategy's can_handle, answered by the host: `userdata` is its trigger mask. */
static bool can_handle_mask(void *userdata, const bw_fallback_context *context) {
  const uint32_t *mask = userdata;
  return (*mask & BW_TRIGGER_BIT(context->trigger)) != 0;
}

static int trigger_arg(ctx_t *ctx, const cJSON *step, bw_trigger *out) {
  const char *t = str_of(step, "trigger");
  if (!t || bw_trigger_from_name(SL(t), out) != BW_OK) {
    fail(ctx, "unknown trigger %s", t ? t : "(none)");
    return 0;
  }
  return 1;
}

/* The level a step gives (`severity`, or `status` a health status); 0 when it gives none. */
static int level_arg(ctx_t *ctx, const cJSON *step, bw_level *out, int *ok) {
  const char *sev = str_of(step, "severity");
  const char *status = str_of(step, "status");
  *ok = 1;
  if (sev) {
    if (bw_level_from_name(SL(sev), out) != BW_OK) {
      fail(ctx, "unknown level %s", sev);
      *ok = 0;
    }
    return 1;
  }
  if (status) {
    bw_health_status hs;
    if (bw_health_status_from_name(SL(status), &hs) != BW_OK ||
        bw_level_from_health_status(hs, out) != BW_OK) {
      fail(ctx, "unknown health status %s", status);
      *ok = 0;
    }
    return 1;
  }
  return 0;
}

static int cached_arg(ctx_t *ctx, const cJSON *v, bw_cache_lookup *out) {
  *out = BW_CACHE_MISS;
  if (!v || cJSON_IsNull(v)) return 1;
  if (cJSON_IsString(v) && !strcmp(v->valuestring, "fresh")) *out = BW_CACHE_FRESH;
  else if (cJSON_IsString(v) && !strcmp(v->valuestring, "stale")) *out = BW_CACHE_STALE;
  else {
    fail(ctx, "bad cached value");
    return 0;
  }
  return 1;
}

static void check_bool(ctx_t *ctx, const cJSON *expect, const char *key, bool got) {
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, key);
  if (!want) return;
  cJSON *g = cJSON_CreateBool(got);
  expect_json(ctx, key, g, want);
  cJSON_Delete(g);
}

static void check_choice(ctx_t *ctx, const cJSON *expect, const bw_fallback_choice *c) {
  cJSON *g = cJSON_CreateObject();
  cJSON_AddItemToObject(g, "strategy", jstr(c->has_strategy ? c->strategy : NULL));
  cJSON_AddItemToObject(g, "kind", jstr(c->has_strategy ? bw_strategy_kind_name(c->kind) : NULL));
  cJSON_AddItemToObject(g, "rule", jstr(c->has_strategy ? c->rule : NULL));
  cJSON_AddItemToObject(g, "stale", cJSON_CreateBool(c->has_strategy && c->stale));
  static const char *const KEYS[] = {"strategy", "kind", "rule", "stale"};
  for (size_t i = 0; i < 4; i++) {
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, KEYS[i]);
    if (want) expect_json(ctx, KEYS[i], cJSON_GetObjectItemCaseSensitive(g, KEYS[i]), want);
  }
  cJSON_Delete(g);
}

static cJSON *degradation_entry_json(const bw_degradation_entry *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "component", jstrn(e->component, e->component_len));
  cJSON_AddItemToObject(o, "trigger", jstr(bw_trigger_name(e->trigger)));
  cJSON_AddItemToObject(o, "level", jstr(bw_level_name(e->level)));
  cJSON_AddItemToObject(o, "since_ms", jnum((double)e->since_ms));
  cJSON_AddItemToObject(o, "started_at", jnum((double)e->started_at_ms));
  cJSON_AddItemToObject(o, "duration_ms", jopt(e->has_duration, (double)e->duration_ms));
  cJSON_AddItemToObject(o, "strategy", jstr(e->strategy));
  cJSON_AddItemToObject(o, "calls_served", jnum((double)e->calls_served));
  cJSON_AddItemToObject(o, "recovery", e->has_recovery ? jstr(bw_recovery_name(e->recovery)) : cJSON_CreateNull());
  return o;
}

/* A degradation list as a JSON array (frees the list). */
static cJSON *degradation_list_json(bw_degradation_list *l) {
  cJSON *a = cJSON_CreateArray();
  size_t n = 0;
  bw_degradation_list_len(l, &n);
  for (size_t i = 0; i < n; i++) {
    bw_degradation_entry e;
    if (bw_degradation_list_get(l, i, &e) == BW_OK) cJSON_AddItemToArray(a, degradation_entry_json(&e));
  }
  bw_degradation_list_free(l);
  return a;
}

static void degradation_expect(deg_t *d, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = d->ctx;
  const cJSON *want;
  if ((want = cJSON_GetObjectItemCaseSensitive(expect, "level"))) {
    const char *target = target_of(step);
    bw_level l = BW_LEVEL_NONE;
    bw_degradation_level(d->manager, SL(target), &l);
    cJSON *g = jstr(bw_level_name(l));
    expect_json(ctx, "level", g, want);
    cJSON_Delete(g);
  }
  if ((want = cJSON_GetObjectItemCaseSensitive(expect, "overall_level"))) {
    bw_level l = BW_LEVEL_NONE;
    bw_degradation_overall_level(d->manager, &l);
    cJSON *g = jstr(bw_level_name(l));
    expect_json(ctx, "overall_level", g, want);
    cJSON_Delete(g);
  }
  if ((want = cJSON_GetObjectItemCaseSensitive(expect, "active"))) {
    bw_degradation_list *l = NULL;
    bw_degradation_active_list(d->manager, &l);
    cJSON *list = degradation_list_json(l);
    /* Exactly the components the expectation names, each a subset of its fields. */
    cJSON *names = cJSON_CreateArray(), *want_names = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, list) cJSON_AddItemToArray(names, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "component"), 1));
    cJSON_ArrayForEach(it, want) cJSON_AddItemToArray(want_names, cJSON_CreateString(it->string));
    /* Both sorted: the list is by component name; sort the expectation's keys. */
    int n = cJSON_GetArraySize(want_names);
    for (int a = 0; a < n; a++)
      for (int b = a + 1; b < n; b++) {
        cJSON *x = cJSON_GetArrayItem(want_names, a), *y = cJSON_GetArrayItem(want_names, b);
        if (strcmp(x->valuestring, y->valuestring) > 0) {
          char *t = x->valuestring;
          x->valuestring = y->valuestring;
          y->valuestring = t;
        }
      }
    expect_json(ctx, "active components", names, want_names);
    cJSON_ArrayForEach(it, list) {
      const char *c = cJSON_GetObjectItemCaseSensitive(it, "component")->valuestring;
      const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, c);
      char what[128];
      snprintf(what, sizeof what, "active.%s", c);
      if (w) expect_fields(ctx, what, it, w);
    }
    cJSON_Delete(names);
    cJSON_Delete(want_names);
    cJSON_Delete(list);
  }
  if ((want = cJSON_GetObjectItemCaseSensitive(expect, "history"))) {
    bw_degradation_list *l = NULL;
    bw_degradation_history(d->manager, &l);
    cJSON *list = degradation_list_json(l);
    expect_json(ctx, "history", list, want);
    cJSON_Delete(list);
  }
  if ((want = cJSON_GetObjectItemCaseSensitive(expect, "statistics"))) {
    bw_degradation_stats s;
    bw_degradation_statistics(d->manager, &s);
    cJSON *g = cJSON_CreateObject();
    cJSON_AddItemToObject(g, "active", jnum((double)s.active));
    cJSON_AddItemToObject(g, "total_triggered", jnum((double)s.total_triggered));
    cJSON_AddItemToObject(g, "total_recovered", jnum((double)s.total_recovered));
    cJSON_AddItemToObject(g, "calls_served", jnum((double)s.calls_served));
    cJSON_AddItemToObject(g, "most_frequent_reason",
                          s.has_most_frequent_reason ? jstr(bw_trigger_name(s.most_frequent_reason)) : cJSON_CreateNull());
    cJSON_AddItemToObject(g, "mean_duration_ms", jopt(s.has_mean_duration, (double)s.mean_duration_ms));
    cJSON_AddItemToObject(g, "max_duration_ms", jopt(s.has_max_duration, (double)s.max_duration_ms));
    expect_fields(ctx, "statistics", g, want);
    cJSON_Delete(g);
  }
}

/* Drives one call through the policy with the manager attached (the `run` op). */
static void degradation_run(deg_t *d, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = d->ctx;
  if (!d->policy) {
    fail(ctx, "op run needs a `policy` in the config");
    return;
  }
  bw_call_options options;
  memset(&options, 0, sizeof options);
  const cJSON *cached = cJSON_GetObjectItemCaseSensitive(step, "cached");
  bw_cache_lookup lookup;
  if (!cached_arg(ctx, cached, &lookup)) return;
  options.has_cached = true;
  options.cached = lookup;
  const cJSON *script = cJSON_GetObjectItemCaseSensitive(step, "attempts");
  const cJSON *next = cJSON_IsArray(script) ? script->child : NULL;
  cJSON *trace = cJSON_CreateArray();
  bw_policy_call *call = NULL;
  bw_step s;
  bw_result rc = bw_policy_start_with(d->policy, &options, &call, &s);
  int done = 0;
  while (rc == BW_OK && !done) {
    char item[64];
    if (s.kind == BW_STEP_ATTEMPT) {
      snprintf(item, sizeof item, "attempt:%u", s.attempt);
      cJSON_AddItemToArray(trace, cJSON_CreateString(item));
      if (!cJSON_IsObject(next)) {
        fail(ctx, "the policy asked for attempt %u; the script has no more", s.attempt);
        done = 2;
        break;
      }
      const cJSON *entry = next;
      next = next->next;
      uint64_t dur = 0;
      num_of(entry, "duration_ms", &dur);
      bw_manual_clock_advance_ms(d->clock, dur);
      const char *outcome = str_of(entry, "outcome");
      bw_failure f;
      memset(&f, 0, sizeof f);
      f.category = BW_CATEGORY_UNKNOWN;
      bw_attempt_outcome o;
      if (outcome && !strcmp(outcome, "success")) {
        o = BW_ATTEMPT_SUCCESS;
      } else if (outcome && !strcmp(outcome, "cancelled")) {
        o = BW_ATTEMPT_CANCELLED;
      } else if (outcome && !strcmp(outcome, "failure")) {
        o = BW_ATTEMPT_FAILURE;
        const char *cat = str_of(entry, "category");
        if (cat && bw_category_from_name(SL(cat), &f.category) != BW_OK) {
          fail(ctx, "unknown category %s", cat);
          done = 2;
          break;
        }
      } else {
        fail(ctx, "bad attempt outcome %s", outcome ? outcome : "(none)");
        done = 2;
        break;
      }
      rc = bw_policy_record(call, o, &f, &s);
    } else if (s.kind == BW_STEP_SLEEP) {
      snprintf(item, sizeof item, "sleep:%llu", (unsigned long long)s.delay_ms);
      cJSON_AddItemToArray(trace, cJSON_CreateString(item));
      bw_manual_clock_advance_ms(d->clock, s.delay_ms);
      rc = bw_policy_next(call, &s);
    } else if (s.kind == BW_STEP_WAIT) {
      snprintf(item, sizeof item, "wait:%llu", (unsigned long long)s.max_wait_ms);
      cJSON_AddItemToArray(trace, cJSON_CreateString(item));
      bw_manual_clock_advance_ms(d->clock, s.max_wait_ms);
      rc = bw_policy_after_wait(call, false, &s);
    } else {
      done = 1;
    }
  }
  if (rc != BW_OK) fail(ctx, "bw_policy_*: %s: %s", code_of(rc), bw_last_error_message());
  if (done != 2 && cJSON_IsObject(next)) fail(ctx, "the script has attempts the policy never made");
  expect_json(ctx, "trace", trace, cJSON_GetObjectItemCaseSensitive(expect, "trace"));
  cJSON_Delete(trace);
  if (done == 1) {
    int fallback = s.kind == BW_STEP_FALLBACK;
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "result");
    if (cJSON_IsObject(want)) {
      const cJSON *it;
      cJSON_ArrayForEach(it, want) {
        expect_value(ctx, "result", it->string, result_field(&s.verdict, fallback, it->string), it);
      }
    }
    /* info: a value (live or from a fallback that served) or null when the caller gets the
     * error: nothing served and the policy has no fallback function. */
    int serves = fallback ? (s.fallback.has_strategy || d->policy_fallback)
                          : s.verdict.kind == BW_VERDICT_VALUE;
    cJSON *info = NULL;
    if (serves) {
      bw_call_info ci;
      if (bw_policy_call_info(call, &ci) != BW_OK) {
        fail(ctx, "bw_policy_call_info: %s", bw_last_error_message());
      } else {
        info = cJSON_CreateObject();
        cJSON_AddItemToObject(info, "from_fallback", cJSON_CreateBool(ci.from_fallback));
        cJSON_AddItemToObject(info, "strategy", jstr(ci.strategy));
        cJSON_AddItemToObject(info, "kind", ci.has_kind ? jstr(bw_strategy_kind_name(ci.kind)) : cJSON_CreateNull());
        cJSON_AddItemToObject(info, "reason", ci.has_reason ? jstr(bw_trigger_name(ci.reason)) : cJSON_CreateNull());
        cJSON_AddItemToObject(info, "stale", cJSON_CreateBool(ci.stale));
        cJSON_AddItemToObject(info, "attempts", jnum((double)ci.attempts));
      }
    }
    const cJSON *want_info = cJSON_GetObjectItemCaseSensitive(expect, "info");
    if (want_info) {
      if (cJSON_IsNull(want_info)) {
        if (info) fail(ctx, "info, expected null");
      } else if (!info) {
        fail(ctx, "info null, expected an object");
      } else {
        expect_fields(ctx, "info", info, want_info);
      }
    }
    cJSON_Delete(info);
  }
  bw_policy_call_free(call);
}

static void degradation_step(deg_t *d, const char *op, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = d->ctx;
  const char *target = target_of(step);
  bool flag = false;
  bw_result rc = BW_OK;
  if (!strcmp(op, "register")) {
    const char *name = str_of(step, "strategy");
    const char *kind = str_of(step, "kind");
    bw_strategy_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.name.ptr = name ? name : "";
    spec.name.len = name ? strlen(name) : 0;
    bw_strategy_kind k = BW_STRATEGY_CUSTOM;
    if (kind && bw_strategy_kind_from_name(SL(kind), &k) != BW_OK) {
      fail(ctx, "unknown kind %s", kind);
      return;
    }
    spec.kind = k;
    uint64_t priority = 0;
    num_of(step, "priority", &priority);
    spec.priority = (uint32_t)priority;
    spec.unavailable = !bool_of(step, "available", 1);
    const cJSON *handles = cJSON_GetObjectItemCaseSensitive(step, "handles");
    if (cJSON_IsArray(handles)) {
      /* The host's own can_handle: a predicate over the triggers listed. */
      if (d->n_handles == sizeof d->handles / sizeof d->handles[0]) {
        fail(ctx, "too many strategies with `handles`");
        return;
      }
      uint32_t *mask = &d->handles[d->n_handles++];
      *mask = 0;
      const cJSON *t;
      cJSON_ArrayForEach(t, handles) {
        bw_trigger tr;
        if (!cJSON_IsString(t) || bw_trigger_from_name(SL(t->valuestring), &tr) != BW_OK) {
          fail(ctx, "unknown trigger in handles");
          return;
        }
        *mask |= BW_TRIGGER_BIT(tr);
      }
      spec.can_handle = can_handle_mask;
      spec.userdata = mask;
    }
    rc = bw_degradation_register(d->manager, &spec, &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_register: %s", bw_last_error_message());
    check_bool(ctx, expect, "changed", flag);
  } else if (!strcmp(op, "unregister") || !strcmp(op, "set_available")) {
    const char *name = str_of(step, "strategy");
    if (!name) name = "";
    if (!strcmp(op, "unregister"))
      rc = bw_degradation_unregister(d->manager, SL(name), &flag);
    else
      rc = bw_degradation_set_available(d->manager, SL(name), bool_of(step, "available", 1), &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_%s: %s", op, bw_last_error_message());
    check_bool(ctx, expect, "changed", flag);
  } else if (!strcmp(op, "trigger")) {
    bw_trigger t;
    bw_level l;
    int ok;
    if (!trigger_arg(ctx, step, &t)) return;
    int has = level_arg(ctx, step, &l, &ok);
    if (!ok) return;
    rc = bw_degradation_trigger(d->manager, SL(target), t, has ? &l : NULL, &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_trigger: %s", bw_last_error_message());
    check_bool(ctx, expect, "changed", flag);
  } else if (!strcmp(op, "fallback") || !strcmp(op, "choose")) {
    bw_fallback_context c;
    memset(&c, 0, sizeof c);
    c.component.ptr = target;
    c.component.len = strlen(target);
    bw_trigger t;
    bw_level l;
    int ok;
    if (!trigger_arg(ctx, step, &t)) return;
    c.trigger = t;
    if (level_arg(ctx, step, &l, &ok)) {
      c.has_severity = true;
      c.severity = l;
    } else if (bw_trigger_default_level(t, &l) != BW_OK) {
      fail(ctx, "trigger %s needs a severity or a status", bw_trigger_name(t));
      return;
    }
    if (!ok) return;
    bw_cache_lookup lookup;
    if (!cached_arg(ctx, cJSON_GetObjectItemCaseSensitive(step, "cached"), &lookup)) return;
    c.cached = lookup;
    bw_fallback_choice choice;
    rc = !strcmp(op, "fallback") ? bw_degradation_select(d->manager, &c, &choice)
                                 : bw_degradation_choose(d->manager, &c, &choice);
    if (rc != BW_OK) fail(ctx, "bw_degradation_%s: %s", op, bw_last_error_message());
    else check_choice(ctx, expect, &choice);
  } else if (!strcmp(op, "clear")) {
    bw_trigger t;
    if (!trigger_arg(ctx, step, &t)) return;
    rc = bw_degradation_clear(d->manager, SL(target), t, &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_clear: %s", bw_last_error_message());
    check_bool(ctx, expect, "recovered", flag);
  } else if (!strcmp(op, "success")) {
    rc = bw_degradation_report_success(d->manager, SL(target), &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_report_success: %s", bw_last_error_message());
    check_bool(ctx, expect, "recovered", flag);
  } else if (!strcmp(op, "breaker_state")) {
    const char *st = str_of(step, "state");
    bw_state state;
    if (!st || bw_state_from_name(SL(st), &state) != BW_OK) {
      fail(ctx, "unknown breaker state %s", st ? st : "(none)");
      return;
    }
    rc = bw_degradation_on_breaker_state(d->manager, SL(target), state, &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_on_breaker_state: %s", bw_last_error_message());
    check_bool(ctx, expect, "changed", flag);
  } else if (!strcmp(op, "health_status")) {
    const char *st = str_of(step, "status");
    bw_health_status hs;
    if (!st || bw_health_status_from_name(SL(st), &hs) != BW_OK) {
      /* A status breakwater does not know changes nothing. */
      check_bool(ctx, expect, "changed", false);
      return;
    }
    rc = bw_degradation_on_health_status(d->manager, SL(target), hs, &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_on_health_status: %s", bw_last_error_message());
    check_bool(ctx, expect, "changed", flag);
  } else if (!strcmp(op, "force_recovery")) {
    rc = bw_degradation_force_recovery(d->manager, SL(target), &flag);
    if (rc != BW_OK) fail(ctx, "bw_degradation_force_recovery: %s", bw_last_error_message());
    check_bool(ctx, expect, "recovered", flag);
  } else if (!strcmp(op, "force_recovery_all")) {
    uint64_t n = 0;
    rc = bw_degradation_force_recovery_all(d->manager, &n);
    if (rc != BW_OK) fail(ctx, "bw_degradation_force_recovery_all: %s", bw_last_error_message());
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "recovered");
    cJSON *g = jnum((double)n);
    expect_json(ctx, "recovered", g, want);
    cJSON_Delete(g);
  } else if (!strcmp(op, "configure")) {
    char *cfg = config_text(step, "config");
    rc = bw_degradation_configure_json(d->manager, SL(cfg));
    free(cfg);
    step_error(ctx, rc, "bw_degradation_configure_json", expect);
  } else if (!strcmp(op, "advance")) {
    uint64_t ms = 0;
    num_of(step, "ms", &ms);
    bw_manual_clock_advance_ms(d->clock, ms);
  } else if (!strcmp(op, "run")) {
    degradation_run(d, step, expect);
  } else if (!strcmp(op, "force_open") || !strcmp(op, "force_close")) {
    if (!d->breaker) {
      fail(ctx, "op %s needs a policy breaker", op);
      return;
    }
    rc = !strcmp(op, "force_open") ? bw_breaker_force_open(d->breaker) : bw_breaker_force_close(d->breaker);
    if (rc != BW_OK) fail(ctx, "bw_breaker_%s: %s", op, bw_last_error_message());
  }
}

/* Builds the manager (and the policy a `policy` key describes); the first error's code. */
static bw_result build_degradation(deg_t *d, const cJSON *config) {
  cJSON *settings = config ? cJSON_Duplicate(config, 1) : cJSON_CreateObject();
  cJSON *policy = cJSON_DetachItemFromObjectCaseSensitive(settings, "policy");
  char *text = cJSON_PrintUnformatted(settings);
  bw_result rc = bw_degradation_from_json(SL(text), d->clock, &d->manager);
  free(text);
  cJSON_Delete(settings);
  if (rc == BW_OK && policy) {
    run_t r;
    memset(&r, 0, sizeof r);
    r.ctx = d->ctx;
    r.clock = d->clock;
    bw_rate_limiter *limiter = NULL;
    bw_bulkhead *bulkhead = NULL;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(policy, "breaker");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(policy, "retry");
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(policy, "rate_limiter");
    const cJSON *bh = cJSON_GetObjectItemCaseSensitive(policy, "bulkhead");
    if (b) rc = make_breaker(&r, b);
    if (rc == BW_OK && rt) rc = make_retry(&r, rt);
    if (rc == BW_OK && rl) {
      char *t = print_or_empty(rl);
      bw_rate_limiter_config *cfg = NULL;
      rc = bw_rate_limiter_config_from_json(SL(t), &cfg);
      free(t);
      if (rc == BW_OK) rc = bw_rate_limiter_new(cfg, d->clock, &limiter);
      bw_rate_limiter_config_free(cfg);
    }
    if (rc == BW_OK && bh) {
      char *t = print_or_empty(bh);
      bw_bulkhead_config *cfg = NULL;
      rc = bw_bulkhead_config_from_json(SL(t), &cfg);
      free(t);
      if (rc == BW_OK) rc = bw_bulkhead_new(cfg, &bulkhead);
      bw_bulkhead_config_free(cfg);
    }
    if (rc == BW_OK) {
      bw_policy_parts parts;
      memset(&parts, 0, sizeof parts);
      parts.breaker = r.breaker;
      parts.retry = r.retry;
      parts.rate_limiter = limiter;
      parts.bulkhead = bulkhead;
      uint64_t timeout;
      if (num_of(policy, "timeout_ms", &timeout)) {
        parts.has_timeout = true;
        parts.timeout_ms = timeout;
      }
      d->policy_fallback = bool_of(policy, "fallback", 0);
      parts.fallback = d->policy_fallback;
      parts.clock = d->clock;
      parts.degradation = d->manager;
      rc = bw_policy_new("test", 4, &parts, &d->policy);
    }
    bw_rate_limiter_free(limiter);
    bw_bulkhead_free(bulkhead);
    bw_retry_free(r.retry);
    d->breaker = r.breaker;
  }
  cJSON_Delete(policy);
  return rc;
}

static void run_degradation(ctx_t *ctx, const cJSON *doc) {
  deg_t d;
  memset(&d, 0, sizeof d);
  d.ctx = ctx;
  d.clock = bw_manual_clock_new();
  d.events = cJSON_CreateArray();
  bw_result rc = build_degradation(&d, cJSON_GetObjectItemCaseSensitive(doc, "config"));
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    if (bw_degradation_on(d.manager, BW_EVENT_KIND_ALL, collect_json, d.events, NULL) != BW_OK)
      fail(ctx, "bw_degradation_on failed");
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(doc)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, DEGRADATION_OPS, DEGRADATION_EXPECT, d.clock, &expect);
      if (!op) continue;
      json_clear(d.events);
      degradation_step(&d, op, step, expect);
      expect_events(ctx, d.events, cJSON_GetObjectItemCaseSensitive(expect, "events"));
      degradation_expect(&d, step, expect);
    }
  }
  bw_policy_free(d.policy);
  bw_breaker_free(d.breaker);
  bw_degradation_free(d.manager);
  bw_manual_clock_free(d.clock);
  cJSON_Delete(d.events);
}

/* ---------------------------------------------------------------- health */

static const op_spec HEALTH_OPS[] = {
    {"register", ARGS("check", "config")},
    {"unregister", ARGS("check")},
    {"dependency", ARGS("check", "critical", "breaker")},
    {"breaker", ARGS("check", "outcome", "category", "repeat", "action")},
    {"degrade", ARGS("check", "degraded")},
    {"report", ARGS("check", "status", "message", "latency_ms", "repeat")},
    {"advance", ARGS("ms")},
    {"evaluate", NO_ARGS},
    {"snapshot", NO_ARGS},
    {NULL, NULL}};
static const char *const HEALTH_EXPECT[] = {"status", "liveness", "readiness", "startup", "ready", "live",
                                            "started", "checks", "history", "events", "error", NULL};
static const char *const CHECK_FIELDS[] = {"status", "failing", "stale", "consecutive_failures",
                                           "kind", "critical", "breaker_state", "degraded", NULL};

typedef struct {
  char names[32][64];
  size_t n;
} name_set;

/* The degraded probe: whether `name` is in the set (`userdata`). */
static bool in_name_set(void *userdata, const char *name, size_t len) {
  const name_set *s = userdata;
  for (size_t i = 0; i < s->n; i++)
    if (strlen(s->names[i]) == len && !memcmp(s->names[i], name, len)) return true;
  return false;
}

typedef struct {
  char name[64];
  bw_breaker *breaker;
} named_breaker;

typedef struct {
  ctx_t *ctx;
  bw_manual_clock *clock;
  bw_health *health;
  name_set degraded;
  named_breaker breakers[16];
  size_t n_breakers;
  cJSON *events;
} health_t;

static cJSON *check_view_json(const bw_check_view *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "status", jstr(bw_health_status_name(v->status)));
  cJSON_AddItemToObject(o, "failing", cJSON_CreateBool(v->failing));
  cJSON_AddItemToObject(o, "stale", cJSON_CreateBool(v->stale));
  cJSON_AddItemToObject(o, "consecutive_failures", jnum((double)v->consecutive_failures));
  cJSON_AddItemToObject(o, "kind", jstr(bw_check_kind_name(v->kind)));
  cJSON_AddItemToObject(o, "critical", cJSON_CreateBool(v->critical));
  cJSON_AddItemToObject(o, "breaker_state", v->has_breaker_state ? jstr(bw_state_name(v->breaker_state)) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "degraded", cJSON_CreateBool(v->degraded));
  return o;
}

static void health_expect(health_t *h, const cJSON *expect) {
  ctx_t *ctx = h->ctx;
  bw_health_summary sum;
  bw_health_overview *ov = NULL;
  if (bw_health_snapshot(h->health, &sum, &ov) != BW_OK) {
    fail(ctx, "bw_health_snapshot: %s", bw_last_error_message());
    return;
  }
  struct {
    const char *key;
    cJSON *got;
  } scalars[] = {
      {"status", jstr(bw_health_status_name(sum.status))},
      {"liveness", jstr(bw_health_status_name(sum.liveness))},
      {"readiness", jstr(bw_health_status_name(sum.readiness))},
      {"startup", jstr(bw_health_status_name(sum.startup))},
      {"ready", cJSON_CreateBool(sum.ready)},
      {"live", cJSON_CreateBool(sum.live)},
      {"started", cJSON_CreateBool(sum.started)},
  };
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
    expect_json(ctx, scalars[i].key, scalars[i].got, cJSON_GetObjectItemCaseSensitive(expect, scalars[i].key));
    cJSON_Delete(scalars[i].got);
  }
  const cJSON *checks = cJSON_GetObjectItemCaseSensitive(expect, "checks");
  if (checks) {
    const cJSON *w;
    cJSON_ArrayForEach(w, checks) {
      if (cJSON_IsObject(w)) check_keys(ctx, w, CHECK_FIELDS, "check");
      bw_check_view v;
      bool found = false;
      bw_health_overview_find(ov, SL(w->string), &v, &found);
      cJSON *g = found ? check_view_json(&v) : cJSON_CreateNull();
      char what[128];
      snprintf(what, sizeof what, "checks.%s", w->string);
      expect_json(ctx, what, g, w);
      cJSON_Delete(g);
    }
  }
  const cJSON *history = cJSON_GetObjectItemCaseSensitive(expect, "history");
  if (history) {
    const cJSON *w;
    cJSON_ArrayForEach(w, history) {
      size_t cap = 10000, n = 0;
      bw_health_result *res = malloc(cap * sizeof *res);
      if (!res) abort();
      bw_health_history(h->health, SL(w->string), res, cap, &n);
      cJSON *g = cJSON_CreateArray();
      for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(g, jstr(bw_health_status_name(res[i].status)));
      free(res);
      char what[128];
      snprintf(what, sizeof what, "history.%s", w->string);
      expect_json(ctx, what, g, w);
      cJSON_Delete(g);
    }
  }
  expect_events(ctx, h->events, cJSON_GetObjectItemCaseSensitive(expect, "events"));
  bw_health_overview_free(ov);
}

static named_breaker *health_breaker(health_t *h, const char *name) {
  for (size_t i = 0; i < h->n_breakers; i++)
    if (!strcmp(h->breakers[i].name, name)) return &h->breakers[i];
  return NULL;
}

static void health_step(health_t *h, const char *op, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = h->ctx;
  const char *check = str_of(step, "check");
  if (!check) check = "";
  bw_result rc = BW_OK;
  if (!strcmp(op, "register")) {
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(step, "config");
    if (cfg) {
      char *text = print_or_empty(cfg);
      rc = bw_health_register_json(h->health, SL(check), SL(text));
      free(text);
    } else {
      rc = bw_health_register(h->health, SL(check), NULL);
    }
    step_error(ctx, rc, "bw_health_register", expect);
  } else if (!strcmp(op, "unregister")) {
    rc = bw_health_unregister(h->health, SL(check), NULL);
    step_error(ctx, rc, "bw_health_unregister", expect);
  } else if (!strcmp(op, "dependency")) {
    int critical = bool_of(step, "critical", 1);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(step, "breaker");
    if (b) {
      char *text = print_or_empty(b);
      bw_breaker_config *cfg = NULL;
      bw_breaker *breaker = NULL;
      rc = bw_breaker_config_from_json(SL(text), &cfg);
      free(text);
      if (rc == BW_OK) rc = bw_breaker_new(SL(check), cfg, h->clock, &breaker);
      bw_breaker_config_free(cfg);
      if (rc == BW_OK) rc = bw_health_add_breaker_dependency(h->health, breaker, critical);
      if (breaker) {
        named_breaker *nb = health_breaker(h, check);
        if (!nb && h->n_breakers < sizeof h->breakers / sizeof h->breakers[0]) {
          nb = &h->breakers[h->n_breakers++];
          snprintf(nb->name, sizeof nb->name, "%s", check);
          nb->breaker = NULL;
        }
        if (nb) {
          bw_breaker_free(nb->breaker);
          nb->breaker = breaker;
        } else {
          bw_breaker_free(breaker);
        }
      }
    } else {
      rc = bw_health_add_dependency(h->health, SL(check), critical);
    }
    step_error(ctx, rc, "dependency", expect);
  } else if (!strcmp(op, "breaker")) {
    named_breaker *nb = health_breaker(h, check);
    if (!nb) {
      fail(ctx, "no breaker for \"%s\"", check);
      return;
    }
    const char *action = str_of(step, "action");
    if (action) {
      if (!strcmp(action, "force_open")) rc = bw_breaker_force_open(nb->breaker);
      else if (!strcmp(action, "force_close")) rc = bw_breaker_force_close(nb->breaker);
      else if (!strcmp(action, "reset")) rc = bw_breaker_reset(nb->breaker);
      else if (!strcmp(action, "acquire")) {
        bw_permit p;
        bw_breaker_try_acquire(nb->breaker, &p, NULL);
      } else {
        fail(ctx, "unknown breaker action %s", action);
      }
      if (rc != BW_OK) fail(ctx, "bw_breaker_%s: %s", action, bw_last_error_message());
    } else {
      const char *outcome = str_of(step, "outcome");
      const char *cat = str_of(step, "category");
      bw_outcome o;
      bw_category c = BW_CATEGORY_SERVER;
      if (outcome && !strcmp(outcome, "success")) o = BW_OUTCOME_SUCCESS;
      else if (outcome && !strcmp(outcome, "failure")) o = BW_OUTCOME_FAILURE;
      else {
        fail(ctx, "unknown outcome %s", outcome ? outcome : "(none)");
        return;
      }
      if (cat && bw_category_from_name(SL(cat), &c) != BW_OK) {
        fail(ctx, "bad category %s", cat);
        return;
      }
      uint64_t repeat = 1;
      num_of(step, "repeat", &repeat);
      for (uint64_t i = 0; i < repeat; i++) {
        bw_permit p;
        if (bw_breaker_try_acquire(nb->breaker, &p, NULL) == BW_OK) bw_breaker_record(nb->breaker, p, o, c);
      }
    }
  } else if (!strcmp(op, "degrade")) {
    int on = bool_of(step, "degraded", 0);
    name_set *s = &h->degraded;
    size_t i = 0;
    while (i < s->n && strcmp(s->names[i], check)) i++;
    if (on && i == s->n && s->n < sizeof s->names / sizeof s->names[0])
      snprintf(s->names[s->n++], sizeof s->names[0], "%s", check);
    if (!on && i < s->n) memmove(s->names[i], s->names[--s->n], sizeof s->names[0]);
  } else if (!strcmp(op, "report")) {
    const char *status = str_of(step, "status");
    bw_health_status st;
    if (!status || bw_health_status_from_name(SL(status), &st) != BW_OK) {
      fail(ctx, "unknown status %s", status ? status : "(none)");
      return;
    }
    bw_check_result res;
    memset(&res, 0, sizeof res);
    res.status = st;
    num_of(step, "latency_ms", &res.latency_ms);
    const char *msg = str_of(step, "message");
    if (msg) {
      res.message.ptr = msg;
      res.message.len = strlen(msg);
    }
    uint64_t repeat = 1;
    num_of(step, "repeat", &repeat);
    for (uint64_t i = 0; i < repeat && rc == BW_OK; i++) rc = bw_health_report(h->health, SL(check), &res, NULL);
    step_error(ctx, rc, "bw_health_report", expect);
  } else if (!strcmp(op, "advance")) {
    uint64_t ms = 0;
    num_of(step, "ms", &ms);
    bw_manual_clock_advance_ms(h->clock, ms);
  } else if (!strcmp(op, "evaluate")) {
    rc = bw_health_evaluate(h->health, NULL, NULL);
    if (rc != BW_OK) fail(ctx, "bw_health_evaluate: %s", bw_last_error_message());
  }
}

static void run_health(ctx_t *ctx, const cJSON *doc) {
  health_t h;
  memset(&h, 0, sizeof h);
  h.ctx = ctx;
  h.clock = bw_manual_clock_new();
  h.events = cJSON_CreateArray();
  char *cfg = config_text(doc, "config");
  bw_result rc = bw_health_from_json(SL(cfg), h.clock, &h.health);
  free(cfg);
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    bw_health_set_degraded_callback(h.health, in_name_set, &h.degraded);
    bw_health_on(h.health, BW_EVENT_KIND_ALL, collect_json, h.events, NULL);
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(doc)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, HEALTH_OPS, HEALTH_EXPECT, h.clock, &expect);
      if (!op) continue;
      json_clear(h.events);
      health_step(&h, op, step, expect);
      health_expect(&h, expect);
    }
  }
  for (size_t i = 0; i < h.n_breakers; i++) bw_breaker_free(h.breakers[i].breaker);
  bw_health_free(h.health);
  bw_manual_clock_free(h.clock);
  cJSON_Delete(h.events);
}

/* ---------------------------------------------------------------- slo */

static const op_spec SLO_OPS[] = {{"record", ARGS("good", "bad")},
                                  {"event", ARGS("kind")},
                                  {"advance", ARGS("ms")},
                                  {"status", NO_ARGS},
                                  {NULL, NULL}};
static const char *const SLO_EXPECT[] = {"status", "counted", NULL};

static cJSON *slo_json(const bw_slo *slo) {
  bw_slo_status st;
  if (bw_slo_get_status(slo, &st) != BW_OK) return cJSON_CreateNull();
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "total", jnum((double)st.total));
  cJSON_AddItemToObject(o, "good", jnum((double)st.good));
  cJSON_AddItemToObject(o, "bad", jnum((double)st.bad));
  cJSON_AddItemToObject(o, "availability", jnum(st.availability));
  cJSON_AddItemToObject(o, "allowed_failures", jnum(st.allowed_failures));
  cJSON_AddItemToObject(o, "error_budget_consumed", jnum(st.error_budget_consumed));
  cJSON_AddItemToObject(o, "error_budget_remaining", jnum(st.error_budget_remaining));
  cJSON_AddItemToObject(o, "burn_rate", jnum(st.burn_rate));
  cJSON_AddItemToObject(o, "recommendation", jstr(bw_recommendation_name(st.recommendation)));
  return o;
}

static void run_slo(ctx_t *ctx, const cJSON *doc) {
  bw_manual_clock *clock = bw_manual_clock_new();
  char *cfg = config_text(doc, "config");
  bw_slo *slo = NULL;
  bw_result rc = bw_slo_from_json(SL("test"), SL(cfg), clock, &slo);
  free(cfg);
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(doc)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, SLO_OPS, SLO_EXPECT, clock, &expect);
      if (!op) continue;
      cJSON *counted = NULL;
      if (!strcmp(op, "record")) {
        uint64_t good = 0, bad = 0;
        num_of(step, "good", &good);
        num_of(step, "bad", &bad);
        bw_slo_record_counts(slo, good, bad);
      } else if (!strcmp(op, "event")) {
        const char *kind = str_of(step, "kind");
        bw_event e;
        memset(&e, 0, sizeof e);
        if (!kind || bw_event_kind_from_name(SL(kind), &e.kind) != BW_OK) {
          fail(ctx, "unknown event kind");
        } else {
          e.component = "test";
          e.component_len = 4;
          bool c = false;
          if (bw_slo_observe(slo, &e, &c) != BW_OK) fail(ctx, "bw_slo_observe: %s", bw_last_error_message());
          counted = cJSON_CreateBool(c);
        }
      } else if (!strcmp(op, "advance")) {
        uint64_t ms = 0;
        num_of(step, "ms", &ms);
        bw_manual_clock_advance_ms(clock, ms);
      }
      const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "counted");
      if (want) expect_json(ctx, "counted", counted, want);
      cJSON_Delete(counted);
      want = cJSON_GetObjectItemCaseSensitive(expect, "status");
      if (want) {
        cJSON *g = slo_json(slo);
        expect_fields(ctx, "status", g, want);
        cJSON_Delete(g);
      }
    }
  }
  bw_slo_free(slo);
  bw_manual_clock_free(clock);
}

/* ---------------------------------------------------------------- alerts and the event log */

static const op_spec ALERT_OPS[] = {{"event", ARGS("event", "repeat")},
                                    {"register", ARGS("check", "config")},
                                    {"report", ARGS("check", "status", "latency_ms", "repeat")},
                                    {"slo", ARGS("component", "good", "bad")},
                                    {"advance", ARGS("ms")},
                                    {"log", ARGS("component", "kinds", "limit")},
                                    {"snapshot", NO_ARGS},
                                    {NULL, NULL}};
static const char *const ALERT_EXPECT[] = {"events", "active", "history", "stats", "entries", NULL};
static const char *const ALERT_FIELDS[] = {"rule", "condition", "component", "severity", "suppressed", "active", NULL};

typedef struct {
  ctx_t *ctx;
  bw_manual_clock *clock;
  bw_alerts *alerts;
  bw_event_log *log;
  bw_health *health;
  char *slo_config;
  struct {
    char name[64];
    bw_slo *slo;
  } slos[16];
  size_t n_slos;
  cJSON *raised;
} alerts_t;

/* The manager's (and the health registry's) events go to the log; alerts are collected too. */
static void log_event(void *userdata, const bw_event *e) {
  alerts_t *a = userdata;
  if (bw_event_log_record(a->log, e) != BW_OK) fail(a->ctx, "bw_event_log_record: %s", bw_last_error_message());
}

static void raised_event(void *userdata, const bw_event *e) {
  alerts_t *a = userdata;
  cJSON_AddItemToArray(a->raised, event_json(e, 0, 0));
}

static cJSON *alert_list_json(bw_alert_list *l) {
  cJSON *arr = cJSON_CreateArray();
  size_t n = 0;
  bw_alert_list_len(l, &n);
  for (size_t i = 0; i < n; i++) {
    bw_alert a;
    if (bw_alert_list_get(l, i, &a) != BW_OK) continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "rule", jstr(a.rule));
    cJSON_AddItemToObject(o, "condition", jstr(a.condition));
    cJSON_AddItemToObject(o, "component", jstrn(a.component, a.component_len));
    cJSON_AddItemToObject(o, "severity", jstr(bw_alert_severity_name(a.severity)));
    cJSON_AddItemToObject(o, "suppressed", jnum((double)a.suppressed));
    cJSON_AddItemToObject(o, "active", cJSON_CreateBool(a.active));
    cJSON_AddItemToArray(arr, o);
  }
  bw_alert_list_free(l);
  return arr;
}

static void check_alerts(ctx_t *ctx, const char *what, cJSON *got, const cJSON *want) {
  const cJSON *w;
  cJSON_ArrayForEach(w, want) {
    if (cJSON_IsObject(w)) check_keys(ctx, w, ALERT_FIELDS, "alert");
  }
  expect_json(ctx, what, got, want);
  cJSON_Delete(got);
}

static void alerts_step(alerts_t *a, const char *op, const cJSON *step, cJSON **entries) {
  ctx_t *ctx = a->ctx;
  bw_result rc = BW_OK;
  uint64_t repeat = 1;
  num_of(step, "repeat", &repeat);
  if (!strcmp(op, "event")) {
    static const char *const KEYS[] = {"kind", "component", "from", "to", "reason", "severity", NULL};
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(step, "event");
    if (!cJSON_IsObject(ev)) {
      fail(ctx, "`event` must be an object");
      return;
    }
    check_keys(ctx, ev, KEYS, "event");
    bw_event e;
    memset(&e, 0, sizeof e);
    const char *kind = str_of(ev, "kind");
    const char *comp = str_of(ev, "component");
    const char *from = str_of(ev, "from");
    const char *to = str_of(ev, "to");
    if (!kind || bw_event_kind_from_name(SL(kind), &e.kind) != BW_OK || !comp) {
      fail(ctx, "bad event");
      return;
    }
    e.component = comp;
    e.component_len = strlen(comp);
    if (from) {
      e.has_from = bw_state_from_name(SL(from), &e.from) == BW_OK;
      if (!e.has_from) fail(ctx, "bad state in `from`");
    }
    if (to) {
      e.has_to = bw_state_from_name(SL(to), &e.to) == BW_OK;
      if (!e.has_to) fail(ctx, "bad state in `to`");
    }
    e.reason = str_of(ev, "reason");
    e.severity = str_of(ev, "severity");
    for (uint64_t i = 0; i < repeat; i++) {
      bw_manual_clock_wall_ms(a->clock, &e.at_ms);
      /* The bus: the log first, then the alert manager. */
      rc = bw_event_log_record(a->log, &e);
      if (rc == BW_OK) rc = bw_alerts_observe(a->alerts, &e);
      if (rc != BW_OK) {
        fail(ctx, "event: %s: %s", code_of(rc), bw_last_error_message());
        break;
      }
    }
  } else if (!strcmp(op, "register")) {
    const char *check = str_of(step, "check");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(step, "config");
    if (!check) check = "";
    if (cfg) {
      char *text = print_or_empty(cfg);
      rc = bw_health_register_json(a->health, SL(check), SL(text));
      free(text);
    } else {
      rc = bw_health_register(a->health, SL(check), NULL);
    }
    if (rc != BW_OK) fail(ctx, "register: %s", bw_last_error_message());
  } else if (!strcmp(op, "report")) {
    const char *check = str_of(step, "check");
    const char *status = str_of(step, "status");
    bw_check_result res;
    memset(&res, 0, sizeof res);
    bw_health_status st;
    if (!check || !status || bw_health_status_from_name(SL(status), &st) != BW_OK) {
      fail(ctx, "bad report");
      return;
    }
    res.status = st;
    num_of(step, "latency_ms", &res.latency_ms);
    for (uint64_t i = 0; i < repeat && rc == BW_OK; i++) rc = bw_health_report(a->health, SL(check), &res, NULL);
    if (rc != BW_OK) fail(ctx, "report: %s", bw_last_error_message());
  } else if (!strcmp(op, "slo")) {
    const char *comp = str_of(step, "component");
    if (!comp) {
      fail(ctx, "`component` must be a string");
      return;
    }
    size_t i = 0;
    while (i < a->n_slos && strcmp(a->slos[i].name, comp)) i++;
    if (i == a->n_slos) {
      if (a->n_slos == sizeof a->slos / sizeof a->slos[0]) {
        fail(ctx, "too many SLOs");
        return;
      }
      snprintf(a->slos[i].name, sizeof a->slos[i].name, "%s", comp);
      a->slos[i].slo = NULL;
      rc = bw_slo_from_json(SL(comp), SL(a->slo_config), a->clock, &a->slos[i].slo);
      if (rc != BW_OK) {
        fail(ctx, "slo: %s", bw_last_error_message());
        return;
      }
      a->n_slos++;
    }
    uint64_t good = 0, bad = 0;
    num_of(step, "good", &good);
    num_of(step, "bad", &bad);
    bw_slo_record_counts(a->slos[i].slo, good, bad);
    bw_alerts_observe_slo(a->alerts, a->slos[i].slo);
  } else if (!strcmp(op, "advance")) {
    uint64_t ms = 0;
    num_of(step, "ms", &ms);
    bw_manual_clock_advance_ms(a->clock, ms);
  } else if (!strcmp(op, "log")) {
    bw_event_query q;
    memset(&q, 0, sizeof q);
    const char *comp = str_of(step, "component");
    if (comp) {
      q.component.ptr = comp;
      q.component.len = strlen(comp);
    }
    bw_event_kind kinds[16];
    size_t n = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(step, "kinds")) {
      if (n < 16 && cJSON_IsString(k) && bw_event_kind_from_name(SL(k->valuestring), &kinds[n]) == BW_OK) n++;
      else fail(ctx, "unknown kind in `kinds`");
    }
    q.kinds = kinds;
    q.kinds_len = n;
    uint64_t limit;
    if (num_of(step, "limit", &limit)) {
      q.has_limit = true;
      q.limit = limit;
    }
    bw_event_list *list = NULL;
    rc = bw_event_log_query(a->log, &q, &list);
    if (rc != BW_OK) {
      fail(ctx, "bw_event_log_query: %s", bw_last_error_message());
      return;
    }
    *entries = cJSON_CreateArray();
    size_t len = 0;
    bw_event_list_len(list, &len);
    for (size_t i = 0; i < len; i++) {
      bw_event e;
      uint64_t seq = 0;
      if (bw_event_list_get(list, i, &e, &seq) == BW_OK) cJSON_AddItemToArray(*entries, event_json(&e, 1, seq));
    }
    bw_event_list_free(list);
  }
}

static void run_alerts(ctx_t *ctx, const cJSON *doc) {
  alerts_t a;
  memset(&a, 0, sizeof a);
  a.ctx = ctx;
  a.clock = bw_manual_clock_new();
  a.raised = cJSON_CreateArray();
  cJSON *config = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(doc, "config"), 1);
  if (!config) config = cJSON_CreateObject();
  cJSON *log_capacity = cJSON_DetachItemFromObjectCaseSensitive(config, "log_capacity");
  cJSON *health = cJSON_DetachItemFromObjectCaseSensitive(config, "health");
  cJSON *slo = cJSON_DetachItemFromObjectCaseSensitive(config, "slo");
  char *text = cJSON_PrintUnformatted(config);
  bw_result rc = bw_alerts_from_json(SL(text), a.clock, &a.alerts);
  free(text);
  int log_error = 0;
  if (rc == BW_OK) {
    uint64_t cap = 1000;
    if (log_capacity) cap = cJSON_IsNumber(log_capacity) && log_capacity->valuedouble >= 0 ? (uint64_t)log_capacity->valuedouble : 0;
    rc = bw_event_log_new(cap, &a.log);
    log_error = rc != BW_OK;
  }
  if (rc == BW_OK) {
    if (health) {
      char *h = cJSON_PrintUnformatted(health);
      rc = bw_health_from_json(SL(h), a.clock, &a.health);
      free(h);
    } else {
      rc = bw_health_new(a.clock, &a.health);
    }
  }
  a.slo_config = slo ? cJSON_PrintUnformatted(slo) : NULL;
  if (!a.slo_config) {
    a.slo_config = malloc(3);
    if (!a.slo_config) abort();
    strcpy(a.slo_config, "{}");
  }
  if (rc == BW_OK) {
    /* Checked when the first `slo` step makes one; check it up front like the Rust runner. */
    bw_slo *probe = NULL;
    rc = bw_slo_from_json(SL("probe"), SL(a.slo_config), a.clock, &probe);
    bw_slo_free(probe);
  }
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(doc, "config_error");
  if (want_err) {
    /* The log's own key is `capacity`; the scenario's config calls it `log_capacity`. */
    const char *key = str_of(want_err, "key");
    if (log_error && key && !strcmp(key, "log_capacity")) {
      const char *got = bw_last_error_key();
      if (!got || strcmp(got, "capacity")) fail(ctx, "error key %s != capacity", got ? got : "(null)");
      const char *code = str_of(want_err, "code");
      if (code && strcmp(code, code_of(rc))) fail(ctx, "code %s != %s", code_of(rc), code);
    } else {
      check_error(ctx, rc, want_err);
    }
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    bw_alerts_on(a.alerts, BW_EVENT_KIND_ALL, log_event, &a, NULL);
    bw_alerts_on(a.alerts, BW_EVENT_KIND_ALL, raised_event, &a, NULL);
    bw_health_set_alerts(a.health, a.alerts);
    bw_health_on(a.health, BW_EVENT_KIND_ALL, log_event, &a, NULL);
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(doc)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, ALERT_OPS, ALERT_EXPECT, a.clock, &expect);
      if (!op) continue;
      json_clear(a.raised);
      cJSON *entries = NULL;
      alerts_step(&a, op, step, &entries);
      expect_events(ctx, a.raised, cJSON_GetObjectItemCaseSensitive(expect, "events"));
      const cJSON *want;
      if ((want = cJSON_GetObjectItemCaseSensitive(expect, "active"))) {
        bw_alert_list *l = NULL;
        bw_alerts_active(a.alerts, &l);
        check_alerts(ctx, "active", alert_list_json(l), want);
      }
      if ((want = cJSON_GetObjectItemCaseSensitive(expect, "history"))) {
        bw_alert_list *l = NULL;
        bw_alerts_history(a.alerts, UINT64_MAX, &l);
        check_alerts(ctx, "history", alert_list_json(l), want);
      }
      if ((want = cJSON_GetObjectItemCaseSensitive(expect, "stats"))) {
        bw_alert_stats s;
        bw_alerts_stats(a.alerts, &s);
        cJSON *g = cJSON_CreateObject();
        cJSON_AddItemToObject(g, "raised_total", jnum((double)s.raised_total));
        cJSON_AddItemToObject(g, "suppressed_total", jnum((double)s.suppressed_total));
        expect_json(ctx, "stats", g, want);
        cJSON_Delete(g);
      }
      if ((want = cJSON_GetObjectItemCaseSensitive(expect, "entries"))) {
        if (!entries || !cJSON_IsArray(want)) fail(ctx, "`entries` needs a `log` op and a list");
        else expect_json(ctx, "entries", entries, want);
      }
      cJSON_Delete(entries);
    }
    /* Detach before the handles go (the health registry keeps the manager alive anyway). */
    bw_health_set_alerts(a.health, NULL);
  }
  for (size_t i = 0; i < a.n_slos; i++) bw_slo_free(a.slos[i].slo);
  bw_health_free(a.health);
  bw_event_log_free(a.log);
  bw_alerts_free(a.alerts);
  bw_manual_clock_free(a.clock);
  free(a.slo_config);
  cJSON_Delete(a.raised);
  cJSON_Delete(config);
  cJSON_Delete(log_capacity);
  cJSON_Delete(health);
  cJSON_Delete(slo);
}

/* ---------------------------------------------------------------- documents */

static const op_spec DOCUMENT_OPS[] = {{"parse", ARGS("document")},
                                       {"env", ARGS("vars")},
                                       {"breaker_config", ARGS("name")},
                                       {"retry_config", ARGS("name")},
                                       {"rate_limiter_config", ARGS("name")},
                                       {"bulkhead_config", ARGS("name")},
                                       {"monitoring", NO_ARGS},
                                       {"section", ARGS("section")},
                                       {NULL, NULL}};
static const char *const DOCUMENT_EXPECT[] = {"error", "config", "enabled", "overrides", "value", NULL};

static bw_component_kind kind_of_op(const char *op) {
  if (!strcmp(op, "retry_config")) return BW_COMPONENT_RETRY;
  if (!strcmp(op, "rate_limiter_config")) return BW_COMPONENT_RATE_LIMITER;
  if (!strcmp(op, "bulkhead_config")) return BW_COMPONENT_BULKHEAD;
  return BW_COMPONENT_BREAKER;
}

static void document_step(ctx_t *ctx, bw_document **doc, const char *op, const cJSON *step, const cJSON *expect) {
  bw_result rc = BW_OK;
  char *text = NULL;
  if (!strcmp(op, "parse") || !strcmp(op, "env")) {
    bw_document *next = NULL;
    if (!strcmp(op, "parse")) {
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(step, "document");
      char *t = d ? cJSON_PrintUnformatted(d) : NULL;
      rc = bw_document_from_json(t ? t : "null", t ? strlen(t) : 4, &next);
      free(t);
    } else {
      const cJSON *vars = cJSON_GetObjectItemCaseSensitive(step, "vars");
      if (!cJSON_IsObject(vars)) {
        fail(ctx, "`env` needs `vars`, an object of strings");
        return;
      }
      bw_env_var list[64];
      size_t n = 0;
      const cJSON *v;
      cJSON_ArrayForEach(v, vars) {
        if (!cJSON_IsString(v) || n == 64) {
          fail(ctx, "variable %s must be a string", v->string);
          return;
        }
        list[n].name.ptr = v->string;
        list[n].name.len = strlen(v->string);
        list[n].value.ptr = v->valuestring;
        list[n].value.len = strlen(v->valuestring);
        n++;
      }
      rc = bw_document_with_env(*doc, list, n, &next);
    }
    step_error(ctx, rc, op, expect);
    if (rc == BW_OK) {
      bw_document_free(*doc);
      *doc = next;
    }
  } else if (!strcmp(op, "monitoring")) {
    FILL_TEXT(rc, text, bw_document_monitoring_json(*doc, buf, cap, needed));
    cJSON *g = json_of_text(ctx, "monitoring", rc, text);
    if (g) expect_fields(ctx, "monitoring", g, cJSON_GetObjectItemCaseSensitive(expect, "config"));
    cJSON_Delete(g);
  } else if (!strcmp(op, "section")) {
    const char *section = str_of(step, "section");
    if (!section) section = "";
    FILL_TEXT(rc, text, bw_document_section_json(*doc, SL(section), buf, cap, needed));
    cJSON *g = json_of_text(ctx, "section", rc, text);
    if (g) expect_json(ctx, "section value", g, cJSON_GetObjectItemCaseSensitive(expect, "value"));
    cJSON_Delete(g);
  } else {
    bw_component_kind kind = kind_of_op(op);
    const char *name = str_of(step, "name");
    if (name)
      FILL_TEXT(rc, text, bw_document_config_json(*doc, kind, SL(name), buf, cap, needed));
    else
      FILL_TEXT(rc, text, bw_document_defaults_json(*doc, kind, buf, cap, needed));
    cJSON *g = json_of_text(ctx, op, rc, text);
    if (g) expect_fields(ctx, "config", g, cJSON_GetObjectItemCaseSensitive(expect, "config"));
    cJSON_Delete(g);
    bool enabled = false;
    bw_document_section_enabled(*doc, kind, &enabled);
    check_bool(ctx, expect, "enabled", enabled);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "overrides");
    if (want) {
      bw_string_list *l = NULL;
      bw_document_overrides(*doc, kind, &l);
      cJSON *names = jlist(l);
      expect_json(ctx, "overrides", names, want);
      cJSON_Delete(names);
    }
  }
}

static void run_document(ctx_t *ctx, const cJSON *scenario) {
  const cJSON *config = cJSON_GetObjectItemCaseSensitive(scenario, "config");
  char *text = config ? cJSON_PrintUnformatted(config) : NULL;
  bw_document *doc = NULL;
  bw_result rc = bw_document_from_json(text ? text : "null", text ? strlen(text) : 4, &doc);
  free(text);
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(scenario, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    const cJSON *step;
    int i = 0;
    if (cJSON_GetArraySize(steps_of(scenario)) == 0) fail(ctx, "no steps and no config_error");
    cJSON_ArrayForEach(step, steps_of(scenario)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, DOCUMENT_OPS, DOCUMENT_EXPECT, NULL, &expect);
      if (op) document_step(ctx, &doc, op, step, expect);
    }
  }
  bw_document_free(doc);
}

/* ---------------------------------------------------------------- registries */

static const op_spec REGISTRY_OPS[] = {
    {"get", ARGS("name", "kind")},
    {"call", ARGS("name", "outcome", "category", "duration_ms", "repeat")},
    {"force_open", ARGS("name")},
    {"force_close", ARGS("name")},
    {"disable", ARGS("name")},
    {"reset", ARGS("name")},
    {"advance", ARGS("ms")},
    {"names", NO_ARGS},
    {"reload", ARGS("document")},
    {"state", ARGS("name")},
    {NULL, NULL}};
static const char *const REGISTRY_EXPECT[] = {"created", "state", "config", "error", "permitted",
                                              "rejected", "names", NULL};

/* The handle a registry `get` returned last, by kind and name, to tell a new one from the old. */
typedef struct {
  bw_component_kind kind;
  char name[64];
  void *handle;
} seen_t;

typedef struct {
  ctx_t *ctx;
  bw_manual_clock *clock;
  bw_registry *registry;
  seen_t seen[64];
  size_t n_seen;
} reg_t;

static void free_handle_of(bw_component_kind kind, void *h) {
  switch (kind) {
    case BW_COMPONENT_BREAKER: bw_breaker_free(h); break;
    case BW_COMPONENT_RETRY: bw_retry_free(h); break;
    case BW_COMPONENT_RATE_LIMITER: bw_rate_limiter_free(h); break;
    case BW_COMPONENT_BULKHEAD: bw_bulkhead_free(h); break;
  }
}

static int same_handle(bw_component_kind kind, const void *a, const void *b) {
  bool same = false;
  switch (kind) {
    case BW_COMPONENT_BREAKER: bw_breaker_same(a, b, &same); break;
    case BW_COMPONENT_RETRY: bw_retry_same(a, b, &same); break;
    case BW_COMPONENT_RATE_LIMITER: bw_rate_limiter_same(a, b, &same); break;
    case BW_COMPONENT_BULKHEAD: bw_bulkhead_same(a, b, &same); break;
  }
  return same;
}

/* The config of a component a `get` returned, in canonical file spelling. */
static cJSON *component_config(ctx_t *ctx, bw_component_kind kind, const void *h) {
  bw_result rc = BW_OK;
  char *text = NULL;
  switch (kind) {
    case BW_COMPONENT_BREAKER: {
      bw_breaker_config *c = NULL;
      rc = bw_breaker_get_config(h, &c);
      if (rc == BW_OK) FILL_TEXT(rc, text, bw_breaker_config_to_json(c, buf, cap, needed));
      bw_breaker_config_free(c);
      break;
    }
    case BW_COMPONENT_RETRY: {
      bw_retry_config *c = NULL;
      rc = bw_retry_get_config(h, &c);
      if (rc == BW_OK) FILL_TEXT(rc, text, bw_retry_config_to_json(c, buf, cap, needed));
      bw_retry_config_free(c);
      break;
    }
    case BW_COMPONENT_RATE_LIMITER: {
      bw_rate_limiter_config *c = NULL;
      rc = bw_rate_limiter_get_config(h, &c);
      if (rc == BW_OK) FILL_TEXT(rc, text, bw_rate_limiter_config_to_json(c, buf, cap, needed));
      bw_rate_limiter_config_free(c);
      break;
    }
    case BW_COMPONENT_BULKHEAD: {
      bw_bulkhead_config *c = NULL;
      rc = bw_bulkhead_get_config(h, &c);
      if (rc == BW_OK) FILL_TEXT(rc, text, bw_bulkhead_config_to_json(c, buf, cap, needed));
      bw_bulkhead_config_free(c);
      break;
    }
  }
  return json_of_text(ctx, "config", rc, text);
}

/* Gets (or makes) a component; whether it is new goes to *created. */
static bw_result registry_get(reg_t *r, bw_component_kind kind, const char *name, void **out, int *created) {
  void *h = NULL;
  bw_result rc = BW_OK;
  switch (kind) {
    case BW_COMPONENT_BREAKER: {
      bw_breaker *b = NULL;
      rc = bw_registry_breaker(r->registry, SL(name), &b);
      h = b;
      break;
    }
    case BW_COMPONENT_RETRY: {
      bw_retry *t = NULL;
      rc = bw_registry_retry(r->registry, SL(name), &t);
      h = t;
      break;
    }
    case BW_COMPONENT_RATE_LIMITER: {
      bw_rate_limiter *l = NULL;
      rc = bw_registry_rate_limiter(r->registry, SL(name), &l);
      h = l;
      break;
    }
    case BW_COMPONENT_BULKHEAD: {
      bw_bulkhead *b = NULL;
      rc = bw_registry_bulkhead(r->registry, SL(name), &b);
      h = b;
      break;
    }
  }
  if (rc != BW_OK) return rc;
  seen_t *s = NULL;
  for (size_t i = 0; i < r->n_seen; i++)
    if (r->seen[i].kind == kind && !strcmp(r->seen[i].name, name)) s = &r->seen[i];
  *created = !s || !same_handle(kind, s->handle, h);
  if (!s && r->n_seen < sizeof r->seen / sizeof r->seen[0]) {
    s = &r->seen[r->n_seen++];
    s->kind = kind;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->handle = NULL;
  }
  if (s) {
    free_handle_of(kind, s->handle);
    s->handle = h;
  }
  *out = h;
  if (!s) {
    fail(r->ctx, "too many components");
    free_handle_of(kind, h);
    *out = NULL;
  }
  return rc;
}

static void check_state_of(ctx_t *ctx, const bw_breaker *b, const cJSON *expect) {
  const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "state");
  if (!want) return;
  bw_state st;
  cJSON *g = b && bw_breaker_state(b, &st) == BW_OK ? jstr(bw_state_name(st)) : cJSON_CreateNull();
  expect_json(ctx, "state", g, want);
  cJSON_Delete(g);
}

static void registry_step(reg_t *r, const char *op, const cJSON *step, const cJSON *expect) {
  ctx_t *ctx = r->ctx;
  const char *name = str_of(step, "name");
  bw_result rc = BW_OK;
  int created = 0;
  void *h = NULL;
  if (!strcmp(op, "advance")) {
    uint64_t ms = 0;
    num_of(step, "ms", &ms);
    bw_manual_clock_advance_ms(r->clock, ms);
    return;
  }
  if (!strcmp(op, "names")) {
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "names");
    bw_string_list *l = NULL;
    if (bw_registry_names(r->registry, BW_COMPONENT_BREAKER, &l) != BW_OK) {
      fail(ctx, "bw_registry_names: %s", bw_last_error_message());
      return;
    }
    cJSON *names = jlist(l);
    expect_json(ctx, "names", names, want);
    cJSON_Delete(names);
    return;
  }
  if (!strcmp(op, "reload")) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(step, "document");
    char *t = d ? cJSON_PrintUnformatted(d) : NULL;
    rc = bw_registry_reload_json(r->registry, t ? t : "null", t ? strlen(t) : 4);
    free(t);
    step_error(ctx, rc, "bw_registry_reload_json", expect);
    return;
  }
  if (!name) {
    fail(ctx, "`%s` needs a `name`", op);
    return;
  }
  if (!strcmp(op, "get")) {
    const char *kind_s = str_of(step, "kind");
    bw_component_kind kind = BW_COMPONENT_BREAKER;
    if (kind_s && !strcmp(kind_s, "retry")) kind = BW_COMPONENT_RETRY;
    else if (kind_s && !strcmp(kind_s, "rate_limiter")) kind = BW_COMPONENT_RATE_LIMITER;
    else if (kind_s && !strcmp(kind_s, "bulkhead")) kind = BW_COMPONENT_BULKHEAD;
    else if (kind_s && strcmp(kind_s, "breaker")) {
      fail(ctx, "unknown kind %s", kind_s);
      return;
    }
    rc = registry_get(r, kind, name, &h, &created);
    step_error(ctx, rc, "get", expect);
    if (rc != BW_OK || !h) return;
    check_bool(ctx, expect, "created", created);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "config");
    if (want) {
      cJSON *g = component_config(ctx, kind, h);
      if (g) expect_fields(ctx, "config", g, want);
      cJSON_Delete(g);
    }
    if (kind == BW_COMPONENT_BREAKER) check_state_of(ctx, h, expect);
    else if (cJSON_GetObjectItemCaseSensitive(expect, "state")) fail(ctx, "`state` is a breaker's");
    return;
  }
  if (!strcmp(op, "state")) {
    bw_breaker *b = NULL;
    rc = bw_registry_find_breaker(r->registry, SL(name), &b);
    if (rc != BW_OK) fail(ctx, "bw_registry_find_breaker: %s", bw_last_error_message());
    check_state_of(ctx, b, expect);
    bw_breaker_free(b);
    return;
  }
  rc = registry_get(r, BW_COMPONENT_BREAKER, name, &h, &created);
  if (rc != BW_OK || !h) {
    fail(ctx, "breaker %s: %s", name, bw_last_error_message());
    return;
  }
  bw_breaker *b = h;
  if (!strcmp(op, "call")) {
    bw_outcome o;
    bw_category c;
    if (!outcome_of(ctx, step, &o, &c)) return;
    uint64_t repeat = 1, duration = 0;
    num_of(step, "repeat", &repeat);
    num_of(step, "duration_ms", &duration);
    for (uint64_t i = 0; i < repeat; i++) {
      bw_permit p;
      bw_rejection rej;
      rc = bw_breaker_try_acquire(b, &p, &rej);
      if (rc != BW_OK) {
        check_rejection(ctx, rc, &rej, expect);
        break;
      }
      bw_manual_clock_advance_ms(r->clock, duration);
      bw_breaker_record(b, p, o, c);
    }
    if (rc == BW_OK && cJSON_GetObjectItemCaseSensitive(expect, "rejected")) fail(ctx, "expected a rejection, every call ran");
  } else if (!strcmp(op, "force_open")) {
    rc = bw_breaker_force_open(b);
  } else if (!strcmp(op, "force_close")) {
    rc = bw_breaker_force_close(b);
  } else if (!strcmp(op, "disable")) {
    rc = bw_breaker_disable(b);
  } else if (!strcmp(op, "reset")) {
    rc = bw_breaker_reset(b);
  }
  if (strcmp(op, "call") && rc != BW_OK) fail(ctx, "bw_breaker_%s: %s", op, bw_last_error_message());
  check_state_of(ctx, b, expect);
}

static void run_registry(ctx_t *ctx, const cJSON *scenario) {
  static const char *const CONFIG_KEYS[] = {"document", "bounds", NULL};
  static const char *const BOUNDS_KEYS[] = {"max_size", "idle_ttl_ms", NULL};
  reg_t r;
  memset(&r, 0, sizeof r);
  r.ctx = ctx;
  r.clock = bw_manual_clock_new();
  const cJSON *config = cJSON_GetObjectItemCaseSensitive(scenario, "config");
  bw_registry_options opts;
  memset(&opts, 0, sizeof opts);
  opts.clock = r.clock;
  if (config) check_keys(ctx, config, CONFIG_KEYS, "registry config");
  const cJSON *bounds = cJSON_GetObjectItemCaseSensitive(config, "bounds");
  if (bounds) {
    check_keys(ctx, bounds, BOUNDS_KEYS, "bounds");
    opts.has_max_size = num_of(bounds, "max_size", &opts.max_size);
    opts.has_idle_ttl = num_of(bounds, "idle_ttl_ms", &opts.idle_ttl_ms);
  }
  char *text = print_or_empty(cJSON_GetObjectItemCaseSensitive(config, "document"));
  bw_result rc = bw_registry_from_json(SL(text), &opts, &r.registry);
  free(text);
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(scenario, "config_error");
  if (want_err) {
    check_error(ctx, rc, want_err);
  } else if (rc != BW_OK) {
    fail(ctx, "config rejected: %s", bw_last_error_message());
  } else {
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, steps_of(scenario)) {
      ctx->step = i++;
      const cJSON *expect;
      const char *op = prepare_step(ctx, step, REGISTRY_OPS, REGISTRY_EXPECT, r.clock, &expect);
      if (op) registry_step(&r, op, step, expect);
    }
  }
  for (size_t i = 0; i < r.n_seen; i++) free_handle_of(r.seen[i].kind, r.seen[i].handle);
  bw_registry_free(r.registry);
  bw_manual_clock_free(r.clock);
}

/* The runner of each component beyond the call path. */
typedef void (*component_runner)(ctx_t *ctx, const cJSON *doc);
static const struct {
  const char *component;
  component_runner run;
} RUNNERS[] = {{"cache", run_cache},       {"degradation", run_degradation}, {"health", run_health},
               {"slo", run_slo},           {"alerts", run_alerts},           {"document", run_document},
               {"registry", run_registry}, {NULL, NULL}};


/* ---------------------------------------------------------------- main */

static component_runner runner_of(const char *component) {
  for (size_t i = 0; RUNNERS[i].component; i++)
    if (!strcmp(RUNNERS[i].component, component)) return RUNNERS[i].run;
  return NULL;
}

typedef struct {
  char name[32];
  int count;
} skip_count;

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <scenarios dir> [--strict]\n", argv[0]);
    return 2;
  }
  int strict = argc > 2 && !strcmp(argv[2], "--strict");
  str_list files = {0};
  walk(argv[1], &files);
  qsort(files.items, files.len, sizeof *files.items, cmp_str);
  if (files.len == 0) {
    fprintf(stderr, "no scenarios under %s\n", argv[1]);
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  skip_count skips[16];
  size_t n_skips = 0;
  for (size_t f = 0; f < files.len; f++) {
    ctx_t ctx = {files.items[f], -1, 0};
    size_t len;
    char *text = read_file(files.items[f], &len);
    cJSON *doc = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    if (!cJSON_IsObject(doc)) {
      fail(&ctx, "not a JSON object");
    } else if (check_keys(&ctx, doc, TOP_KEYS, "scenario")) {
      const cJSON *rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
      const char *component = str_of(doc, "component");
      if (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) == 0) {
        fail(&ctx, "cites no rule");
      } else if (component && runner_of(component)) {
        runner_of(component)(&ctx, doc);
      } else if (component && in_list(component, COMPONENTS)) {
        const cJSON *step;
        int ops_ok = 1;
        cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(doc, "steps")) {
          const char *op = str_of(step, "op");
          if (!op || !in_list(op, OPS)) {
            fail(&ctx, "unknown op \"%s\"", op ? op : "");
            ops_ok = 0;
            break;
          }
        }
        if (ops_ok) run_scenario(&ctx, component, doc);
      } else {
        const char *c = component ? component : "(none)";
        printf("SKIP %s: component \"%s\" is not driven by the C runner yet\n",
               files.items[f], c);
        skipped++;
        size_t k = 0;
        while (k < n_skips && strcmp(skips[k].name, c) != 0) k++;
        if (k == n_skips && n_skips < 16) {
          snprintf(skips[n_skips].name, sizeof skips[0].name, "%s", c);
          skips[n_skips++].count = 0;
        }
        if (k < n_skips) skips[k].count++;
        cJSON_Delete(doc);
        continue;
      }
    }
    cJSON_Delete(doc);
    if (ctx.failures) failed++;
    else passed++;
  }
  printf("conformance (C ABI): %zu scenarios: %d passed, %d failed, %d skipped", files.len,
         passed, failed, skipped);
  for (size_t k = 0; k < n_skips; k++)
    printf("%s%s x%d", k ? ", " : " (", skips[k].name, skips[k].count);
  printf("%s\n", n_skips ? ")" : "");
  str_free(&files);
  return failed || (strict && skipped) ? 1 : 0;
}
