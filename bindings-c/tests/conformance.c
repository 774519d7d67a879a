/* The C conformance runner: every scenario in conformance/scenarios (recursively) through the C ABI
 * only (the format is conformance/README.md; core/tests/conformance.rs is the Rust twin).
 * Scenarios of components the C runner does not drive yet are printed and counted as
 * skipped, never dropped silently.
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
/* The components this runner drives; any other is printed and counted as skipped. */
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
        fallback = 1;
        done = 1;
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

/* ---------------------------------------------------------------- main */

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
